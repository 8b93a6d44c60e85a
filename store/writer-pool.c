/*
 * writer-pool: the snapshot writer's workers and its ring of slots.
 *
 * The calling thread fills a slot with a batch of consecutive chunks
 * (writer_submit) and hands it over; a worker hashes each chunk,
 * decides under the mutex whether it is new (in the index, claimed by
 * another slot, or in a pack not yet indexed), encodes it (lz4 +
 * XChaCha20) and appends it to the current pack.  A pack that fills up
 * is detached and finished by that worker outside the mutex, then its
 * rows are committed.  The calling thread collects finished slots
 * strictly in sequence into their chunk lists (writer-refs.c), so every
 * list is in stream order whatever order the workers finish in.
 *
 * Also here: the writer's sticky error, which the workers set and every
 * other file of the writer reads, and storing a blob on the calling
 * thread (manifest chunks, the snapshot record) through the same dedup.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "blob.h"
#include "index.h"
#include "packer.h"
#include "repo-internal.h"
#include "writer-int.h"

/* ---- errors ------------------------------------------------------ */

/* Records a fatal error (the first one wins); call with mu held. */
int writer_fail_locked(struct repo_writer *w, int rc,
		       const struct buf *why)
{
	if (!w->error) {
		w->error = rc;
		buf_reset(&w->errmsg);
		if (why && why->len)
			buf_add(&w->errmsg, why->data, why->len);
		else
			buf_addf(&w->errmsg, "snapshot writer: %s",
				 strerror(-rc));
	}
	return w->error;
}

int writer_fail(struct repo_writer *w, int rc, const struct buf *why)
{
	pthread_mutex_lock(&w->mu);
	rc = writer_fail_locked(w, rc, why);
	pthread_mutex_unlock(&w->mu);
	return rc;
}

/* The sticky error, or 0. */
static int writer_pool_error(struct repo_writer *w)
{
	int rc;

	pthread_mutex_lock(&w->mu);
	rc = w->error;
	pthread_mutex_unlock(&w->mu);
	return rc;
}

/* A non-fatal refusal (bad argument): "path: why", writer stays usable. */
int writer_refuse(struct repo_writer *w, const char *path,
		  const char *why)
{
	pthread_mutex_lock(&w->mu);
	buf_reset(&w->errmsg);
	if (path)
		buf_addf(&w->errmsg, "%s: ", path);
	buf_addstr(&w->errmsg, why);
	pthread_mutex_unlock(&w->mu);
	return -EINVAL;
}

/* Entries and streams both need a writer that neither failed nor
 * committed. */
int writer_live(struct repo_writer *w)
{
	int rc = writer_pool_error(w);

	if (rc < 0)
		return rc;
	if (w->committed)
		return writer_refuse(w, NULL, "the snapshot is already"
				     " committed");
	return 0;
}

const char *repo_writer_error(struct repo_writer *w)
{
	return (const char *)w->errmsg.data;
}

/* ---- storing one chunk (any thread) ------------------------------ */

/* In the index, claimed by a slot, or in a pack not yet indexed: 1/0/<0.
 * Called with mu held. */
int writer_known(struct repo_writer *w, const uint8_t id[32])
{
	struct index_loc loc;

	for (size_t i = 0; i < w->nslots; i++)
		if (w->slots[i].claimed && !memcmp(w->slots[i].id, id, 32))
			return 1;
	if (w->own.claimed && !memcmp(w->own.id, id, 32))
		return 1;
	if (w->pk && packer_contains(w->pk, id))
		return 1;
	for (size_t i = 0; i < w->nfinishing; i++)
		if (packer_contains(w->finishing[i], id))
			return 1;
	return index_chunk_get(w->r->ix, id, &loc);
}

/* Records the reference and claims the id if new: 1 new, 0 known.  A
 * known chunk of a stream with base candidates tells where the stream
 * stands against the old one (off: its stream offset). */
static int writer_pool_claim(struct repo_writer *w, struct writer_slot *s,
			     size_t len, uint64_t off, struct buf *err)
{
	int known = writer_known(w, s->id), rc;

	if (known < 0)
		return repo_errf(err, known, "index lookup: %s%s",
				 strerror(-known), index_damage_hint(known));
	rc = index_ref_add(w->r->ix, s->id, err);
	if (rc < 0)
		return rc;
	w->tot.chunks++;
	if (known && s->bases)
		writer_delta_seen(s->bases, off, s->id);
	if (known)
		return 0;
	s->claimed = 1;
	w->tot.chunks_new++;
	w->tot.bytes_added += len;
	return 1;
}

/* Appends the encoded slot to the current pack; *full gets the pack if
 * it is now full (detached, to be finished by the caller).  mu held. */
static int writer_pool_append(struct repo_writer *w, struct writer_slot *s,
			      uint8_t type, size_t len, struct packer **full,
			 struct buf *err)
{
	int rc = 0;

	if (!w->pk)
		rc = packer_new(&w->pk, w->r, err);
	if (rc == 0)
		rc = packer_add(w->pk, s->id, type, (uint32_t)len,
				s->stored.data, s->stored.len, err);
	if (rc < 0)
		return rc;
	s->claimed = 0;
	w->tot.bytes_stored += s->stored.len;
	if (packer_full(w->pk)) {
		*full = w->pk;
		w->pk = NULL;
		w->finishing[w->nfinishing++] = *full;
	}
	return 0;
}

/* Finishes a detached pack and commits its rows (mu not held). */
static int writer_pool_publish(struct repo_writer *w, struct packer *p,
			       struct buf *err)
{
	int rc = packer_finish(p, err);

	pthread_mutex_lock(&w->mu);
	if (rc == 0)
		rc = packer_commit(p, w->r->ix, 0, err);
	for (size_t i = 0; i < w->nfinishing; i++) {
		if (w->finishing[i] == p) {
			w->finishing[i] = w->finishing[--w->nfinishing];
			break;
		}
	}
	if (rc < 0)
		writer_fail_locked(w, rc, err);
	pthread_cond_broadcast(&w->done);
	pthread_mutex_unlock(&w->mu);
	packer_free(p);
	return rc;
}

/* Hash, dedup, encode, pack: the work for one chunk p[0..n) at stream
 * offset off; s holds the claim and the encoding buffer, id gets the
 * chunk id.  A new data chunk of a stream with base candidates may be
 * stored as a delta (writer-delta.c). */
static int writer_pool_store(struct repo_writer *w, struct writer_slot *s,
			     uint8_t type, const uint8_t *p, size_t n,
			     uint64_t off, uint8_t id[32])
{
	struct packer *full = NULL;
	struct buf err = BUF_INIT;
	int rc;

	repo_chunk_id(w->r, p, n, id);
	pthread_mutex_lock(&w->mu);
	memcpy(s->id, id, 32);
	rc = w->error ? w->error : writer_pool_claim(w, s, n, off, &err);
	pthread_mutex_unlock(&w->mu);
	if (rc > 0) {
		rc = type == BLOB_DATA && s->bases
			? writer_delta_encode(w, s, off, p, n, id) : 0;
		if (rc == 0) {
			buf_reset(&s->stored);
			rc = blob_encode_level(&s->stored, type, p, n,
					       w->lz4_level,
					       repo_enc_key(w->r), id);
		}
		rc = rc < 0 ? rc : 0;
		pthread_mutex_lock(&w->mu);
		if (rc == 0)
			rc = w->error ? w->error
				: writer_pool_append(w, s, type, n, &full,
						     &err);
		s->claimed = 0;
		pthread_mutex_unlock(&w->mu);
	}
	if (rc >= 0 && full)
		rc = writer_pool_publish(w, full, &err);
	if (rc < 0)
		writer_fail(w, rc, &err);
	buf_release(&err);
	return rc < 0 ? rc : 0;
}

/* A worker's job: every chunk of the slot's batch, in order. */
static int writer_pool_batch(struct repo_writer *w, struct writer_slot *s)
{
	size_t off = 0;
	int rc = 0;

	for (size_t i = 0; rc == 0 && i < s->nsub; i++) {
		rc = writer_pool_store(w, s, BLOB_DATA, s->plain.data + off,
				       s->sub[i].len, s->sub[i].off,
				       s->sub[i].id);
		off += s->sub[i].len;
	}
	return rc;
}

static void *writer_pool_main(void *arg)
{
	struct repo_writer *w = arg;
	struct writer_slot *s;

	pthread_mutex_lock(&w->mu);
	for (;;) {
		while (!w->quit && w->taken == w->submitted)
			pthread_cond_wait(&w->work, &w->mu);
		if (w->quit)
			break;
		s = &w->slots[w->taken++ % w->nslots];
		s->state = WRITER_BUSY;
		pthread_mutex_unlock(&w->mu);
		s->rc = writer_pool_batch(w, s);
		pthread_mutex_lock(&w->mu);
		s->state = WRITER_DONE;
		pthread_cond_broadcast(&w->done);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

/* ---- the ring, seen from the calling thread ---------------------- */

/* Collects finished slots in sequence order (mu held). */
static void writer_pool_drain(struct repo_writer *w)
{
	struct writer_slot *s;
	int rc;

	while (w->drained < w->submitted) {
		s = &w->slots[w->drained % w->nslots];
		if (s->state != WRITER_DONE)
			break;
		for (size_t i = 0; s->rc == 0 && i < s->nsub; i++) {
			rc = writer_refs_add(w, s->dest, s->sub[i].id,
					     s->sub[i].len);
			if (rc < 0) {
				writer_fail_locked(w, rc, NULL);
				break;
			}
		}
		s->state = WRITER_FREE;
		w->drained++;
	}
}

/* Waits until fewer than limit slots are in flight; the sticky error. */
int writer_wait(struct repo_writer *w, uint64_t limit)
{
	int rc;

	pthread_mutex_lock(&w->mu);
	for (;;) {
		writer_pool_drain(w);
		if (w->error || w->submitted - w->drained < limit)
			break;
		pthread_cond_wait(&w->done, &w->mu);
	}
	rc = w->error;
	pthread_mutex_unlock(&w->mu);
	return rc;
}

/* Waits until every slot handed out has been collected, whatever the
 * sticky error: afterwards no slot points at any chunk list. */
void writer_settle(struct repo_writer *w)
{
	pthread_mutex_lock(&w->mu);
	for (;;) {
		writer_pool_drain(w);
		if (w->drained == w->submitted)
			break;
		pthread_cond_wait(&w->done, &w->mu);
	}
	pthread_mutex_unlock(&w->mu);
}

/* Hands the batch being filled to the workers. */
void writer_dispatch(struct repo_writer *w)
{
	struct writer_slot *s = &w->slots[w->submitted % w->nslots];

	if (!w->filling)
		return;
	w->filling = 0;
	s->rc = 0;
	pthread_mutex_lock(&w->mu);
	s->state = WRITER_READY;
	w->submitted++;
	pthread_cond_signal(&w->work);
	pthread_mutex_unlock(&w->mu);
}

/* Adds a chunk of st to the batch being filled, dispatching full
 * batches (and a batch of another stream: a batch feeds one list). */
int writer_submit(struct repo_writer *w, struct repo_stream *st,
		  const uint8_t *p, size_t n)
{
	struct writer_slot *s = &w->slots[w->submitted % w->nslots];
	struct writer_sub *sub;
	int rc;

	if (w->filling && (s->plain.len + n > w->batch ||
			   s->nsub == WRITER_BATCH_CHUNKS ||
			   s->dest != &st->refs)) {
		writer_dispatch(w);
		s = &w->slots[w->submitted % w->nslots];
	}
	if (!w->filling) {
		rc = writer_wait(w, w->nslots);
		if (rc < 0)
			return rc;
		/* a FREE slot belongs to this thread until dispatched */
		buf_reset(&s->plain);
		s->nsub = 0;
		s->dest = &st->refs;
		s->bases = st->bases;
		w->filling = 1;
	}
	if (s->nsub == s->capsub) {
		size_t cap = s->capsub ? 2 * s->capsub : 16;

		sub = realloc(s->sub, cap * sizeof(*sub));
		if (!sub)
			return writer_fail(w, -ENOMEM, NULL);
		s->sub = sub;
		s->capsub = cap;
	}
	rc = buf_add(&s->plain, p, n);
	if (rc < 0)
		return writer_fail(w, rc, NULL);
	s->sub[s->nsub].off = st->cut;
	s->sub[s->nsub++].len = (uint32_t)n;
	st->cut += n;
	if (s->plain.len >= WRITER_BATCH)
		writer_dispatch(w);
	return 0;
}

/* Stores one blob on the calling thread (manifest chunks, the record). */
int writer_store_own(struct repo_writer *w, uint8_t type,
		     const void *p, size_t n, uint8_t id[32])
{
	return writer_pool_store(w, &w->own, type, p, n, 0, id);
}

/* ---- starting, stopping, flushing -------------------------------- */

int writer_pool_ncpu(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	if (n < 1)
		return 1;
	return n > WRITER_MAX_WORKERS ? WRITER_MAX_WORKERS : (int)n;
}

int writer_pool_start(struct repo_writer *w)
{
	int n = writer_pool_ncpu();

	for (int i = 0; i < n; i++) {
		if (pthread_create(&w->th[i], NULL, writer_pool_main, w))
			break;
		w->nth++;
	}
	return w->nth ? 0 : -EAGAIN;
}

void writer_pool_stop(struct repo_writer *w)
{
	pthread_mutex_lock(&w->mu);
	w->quit = 1;
	pthread_cond_broadcast(&w->work);
	pthread_mutex_unlock(&w->mu);
	for (int i = 0; i < w->nth; i++)
		pthread_join(w->th[i], NULL);
	w->nth = 0;
}

/* Finishes the open pack and waits for packs other threads finish. */
int writer_pool_flush(struct repo_writer *w)
{
	struct packer *p;
	struct buf err = BUF_INIT;
	int rc = 0;

	pthread_mutex_lock(&w->mu);
	p = w->pk;
	w->pk = NULL;
	if (p)
		w->finishing[w->nfinishing++] = p;
	pthread_mutex_unlock(&w->mu);
	if (p)
		rc = writer_pool_publish(w, p, &err);
	buf_release(&err);
	pthread_mutex_lock(&w->mu);
	while (w->nfinishing)
		pthread_cond_wait(&w->done, &w->mu);
	rc = w->error ? w->error : rc;
	pthread_mutex_unlock(&w->mu);
	return rc;
}

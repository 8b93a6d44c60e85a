/*
 * writer: repo_writer_*, the snapshot writer (design: doc/design.md).
 *
 * Pipeline: the calling thread reads and chunks (a window buffer holds
 * the current file's bytes from the next chunk boundary on); each chunk
 * is copied into a slot of a small ring.  Worker threads take slots in
 * order, hash the chunk, decide whether it is new (index, or in flight:
 * claimed by another slot or sitting in a pack not yet indexed), and if
 * so lz4+encrypt it and append it to the current pack under the mutex.
 * The calling thread collects finished slots strictly in sequence, so a
 * file's chunk list is in stream order whatever order workers finish in.
 *
 * A pack that fills up is detached and finished (trailer, fsync, rename)
 * by the worker that filled it, outside the mutex; its rows are then
 * committed to the index at once, so even an abandoned snapshot leaves
 * reusable chunks.  The snapshot itself only becomes visible in
 * repo_writer_commit's final transaction.
 *
 * Every chunk reference of the snapshot goes to the index's TEMP table as
 * it is seen, so memory does not grow with the snapshot.
 *
 * Streams: the bytes of a file entry are cut by a stream (a chunking
 * window plus the growing chunk list).  The writer owns one for the
 * entries made by repo_writer_file_begin; repo_stream_begin makes
 * detached ones, which may be filled in any order (several at once) and
 * attached to an entry later, so a source that learns something about
 * early paths only after reading later ones (pg-snap's meta.json) can
 * still emit entries in sorted order.  Each slot records which stream's
 * chunk list its chunks belong to.  Chunk lists live in memory up to
 * WRITER_REFS_SPILL, then in segments of one shared unlinked spill file;
 * an ended stream keeps at most WRITER_STREAM_KEEP bytes in memory, so
 * thousands of parked streams cost little.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "blob.h"
#include "chunker.h"
#include "index.h"
#include "packer.h"
#include "repo-internal.h"
#include "snaprec.h"
#include "writer.h"

#define WRITER_REF_SIZE		36	/* id + le32 length */

enum { WRITER_FREE, WRITER_READY, WRITER_BUSY, WRITER_DONE };

/* One chunk of a slot's batch: its length in, its id out. */
struct writer_sub {
	uint8_t id[32];
	uint32_t len;
};

/*
 * A slot carries a batch of consecutive chunks (one ~1 MiB chunk, or
 * dozens of small row chunks), so thread hand-offs do not dominate when
 * chunks are small.
 */
struct writer_slot {
	int state;
	struct buf plain;	/* the batch's chunks back to back */
	struct writer_sub *sub;
	size_t nsub, capsub;
	struct buf stored;	/* the chunk being encoded */
	uint8_t id[32];		/* its id ... */
	int claimed;		/* ... is new and being stored by this slot */
	int rc;
	struct writer_refs *dest;	/* whose chunk list the batch extends */
};

/* A piece of a chunk list in the shared spill file. */
struct writer_seg {
	uint64_t off, len;
};

/* A stream's chunk list: segments of the spill file, then memory. */
struct writer_refs {
	struct buf mem;
	struct writer_seg *seg;
	size_t nseg, capseg;
	uint64_t spilled;	/* bytes in the segments */
	uint64_t n;
};

/* Bytes being chunked (window from the next cut on) and their chunks. */
struct repo_stream {
	struct repo_writer *w;
	enum repo_chunking how;
	struct buf win;
	size_t woff, wcap;
	struct writer_refs refs;
	uint64_t size;
	int detached, ended;
	struct repo_stream *prev, *next;	/* w->streams (detached) */
};

struct repo_writer {
	struct repo *r;
	struct chunker *ck[2];	/* by enum repo_chunking */

	pthread_mutex_t mu;	/* everything below that workers touch */
	pthread_cond_t work, done;
	pthread_t th[WRITER_MAX_WORKERS];
	int nth, quit;
	struct writer_slot *slots;
	size_t nslots;
	uint64_t submitted, taken, drained;
	int filling;		/* slot[submitted % nslots] is being filled */
	size_t batch;		/* a batch never grows past this */
	struct writer_slot own;	/* the calling thread's (manifest, record) */
	struct packer *pk;
	struct packer *finishing[2 * WRITER_MAX_WORKERS + 2];
	size_t nfinishing;
	int error;		/* first fatal error; sticky */
	struct buf errmsg;
	struct repo_totals tot;

	struct buf last;	/* path of the previous entry */
	int have_last;

	int in_file;
	int fixed;		/* the open entry's content is given: no writes */
	struct manifest_entry fe;
	struct repo_stream file;	/* for repo_writer_file_begin entries */
	struct repo_stream *cur;	/* the open entry's stream */
	struct repo_stream *streams;	/* detached, not yet attached */

	int spill_fd;		/* the shared spill file, or -1 */
	uint64_t spill_end;	/* where the next segment goes */
	uint64_t spill_live;	/* bytes of segments still in use */

	struct buf mout, mwin;	/* manifest encoder output, chunk window */
	size_t moff;
	struct manifest_hash *mh;
	struct buf mchunks;	/* struct snaprec_chunk[] */
	int committed;

	repo_writer_progress_fn progress;	/* optional, see repo.h */
	void *progress_arg;
};

/* ---- errors ------------------------------------------------------ */

/* Records a fatal error (the first one wins); call with mu held. */
static int writer_fail_locked(struct repo_writer *w, int rc,
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

static int writer_fail(struct repo_writer *w, int rc, const struct buf *why)
{
	pthread_mutex_lock(&w->mu);
	rc = writer_fail_locked(w, rc, why);
	pthread_mutex_unlock(&w->mu);
	return rc;
}

static int writer_error(struct repo_writer *w)
{
	int rc;

	pthread_mutex_lock(&w->mu);
	rc = w->error;
	pthread_mutex_unlock(&w->mu);
	return rc;
}

/* A non-fatal refusal (bad argument): "path: why", writer stays usable. */
static int writer_refuse(struct repo_writer *w, const char *path,
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

const char *repo_writer_error(struct repo_writer *w)
{
	return (const char *)w->errmsg.data;
}

/* ---- storing one chunk (any thread) ------------------------------ */

/* In the index, claimed by a slot, or in a pack not yet indexed: 1/0/<0.
 * Called with mu held. */
static int writer_known(struct repo_writer *w, const uint8_t id[32])
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

/* Records the reference and claims the id if new: 1 new, 0 known. */
static int writer_claim(struct repo_writer *w, struct writer_slot *s,
			size_t len, struct buf *err)
{
	int known = writer_known(w, s->id), rc;

	if (known < 0)
		return repo_errf(err, known, "index lookup: %s",
				 strerror(-known));
	rc = index_ref_add(w->r->ix, s->id, err);
	if (rc < 0)
		return rc;
	w->tot.chunks++;
	if (known)
		return 0;
	s->claimed = 1;
	w->tot.chunks_new++;
	w->tot.bytes_added += len;
	return 1;
}

/* Appends the encoded slot to the current pack; *full gets the pack if
 * it is now full (detached, to be finished by the caller).  mu held. */
static int writer_append(struct repo_writer *w, struct writer_slot *s,
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
static int writer_publish(struct repo_writer *w, struct packer *p,
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

/* Hash, dedup, encode, pack: the work for one chunk p[0..n); s holds
 * the claim and the encoding buffer, id gets the chunk id. */
static int writer_store(struct repo_writer *w, struct writer_slot *s,
			uint8_t type, const uint8_t *p, size_t n,
			uint8_t id[32])
{
	struct packer *full = NULL;
	struct buf err = BUF_INIT;
	int rc;

	repo_chunk_id(w->r, p, n, id);
	pthread_mutex_lock(&w->mu);
	memcpy(s->id, id, 32);
	rc = w->error ? w->error : writer_claim(w, s, n, &err);
	pthread_mutex_unlock(&w->mu);
	if (rc > 0) {
		buf_reset(&s->stored);
		rc = blob_encode(&s->stored, type, p, n, repo_enc_key(w->r),
				 id);
		pthread_mutex_lock(&w->mu);
		if (rc == 0)
			rc = w->error ? w->error
				: writer_append(w, s, type, n, &full, &err);
		s->claimed = 0;
		pthread_mutex_unlock(&w->mu);
	}
	if (rc >= 0 && full)
		rc = writer_publish(w, full, &err);
	if (rc < 0)
		writer_fail(w, rc, &err);
	buf_release(&err);
	return rc < 0 ? rc : 0;
}

/* A worker's job: every chunk of the slot's batch, in order. */
static int writer_store_batch(struct repo_writer *w, struct writer_slot *s)
{
	size_t off = 0;
	int rc = 0;

	for (size_t i = 0; rc == 0 && i < s->nsub; i++) {
		rc = writer_store(w, s, BLOB_DATA, s->plain.data + off,
				  s->sub[i].len, s->sub[i].id);
		off += s->sub[i].len;
	}
	return rc;
}

static void *writer_main(void *arg)
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
		s->rc = writer_store_batch(w, s);
		pthread_mutex_lock(&w->mu);
		s->state = WRITER_DONE;
		pthread_cond_broadcast(&w->done);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

/* ---- chunk lists --------------------------------------------------- */

static int writer_refs_tmpfile(struct buf *dir)
{
	int fd;

	if (buf_addstr(dir, "/refs-XXXXXX") < 0) {
		errno = ENOMEM;
		return -1;
	}
	fd = mkostemp((char *)dir->data, O_CLOEXEC);
	if (fd >= 0)
		unlink((char *)dir->data);
	return fd;
}

/* Opens the shared spill file on first use (calling thread). */
static int writer_spill_open(struct repo_writer *w)
{
	struct buf dir = BUF_INIT;
	int rc;

	if (w->spill_fd >= 0)
		return 0;
	rc = repo_join(w->r, "tmp", &dir);
	if (rc == 0) {
		w->spill_fd = open((char *)dir.data, O_TMPFILE | O_RDWR |
				   O_CLOEXEC, 0600);
		if (w->spill_fd < 0)	/* no O_TMPFILE here: name, unlink */
			w->spill_fd = writer_refs_tmpfile(&dir);
		rc = w->spill_fd < 0 ? -errno : 0;
	}
	buf_release(&dir);
	return rc;
}

/* Moves the in-memory part of a chunk list to a new spill segment. */
static int writer_refs_spill(struct repo_writer *w, struct writer_refs *f)
{
	struct writer_seg *seg;
	ssize_t n;
	int rc;

	if (!f->mem.len)
		return 0;
	rc = writer_spill_open(w);
	if (rc < 0)
		return rc;
	n = pwrite(w->spill_fd, f->mem.data, f->mem.len, (off_t)w->spill_end);
	if (n < 0 || (size_t)n != f->mem.len)
		return n < 0 ? -errno : -EIO;
	if (f->nseg && f->seg[f->nseg - 1].off + f->seg[f->nseg - 1].len ==
	    w->spill_end) {
		f->seg[f->nseg - 1].len += f->mem.len;	/* contiguous */
	} else {
		if (f->nseg == f->capseg) {
			size_t cap = f->capseg ? 2 * f->capseg : 4;

			seg = realloc(f->seg, cap * sizeof(*seg));
			if (!seg)
				return -ENOMEM;
			f->seg = seg;
			f->capseg = cap;
		}
		f->seg[f->nseg].off = w->spill_end;
		f->seg[f->nseg].len = f->mem.len;
		f->nseg++;
	}
	w->spill_end += f->mem.len;
	w->spill_live += f->mem.len;
	f->spilled += f->mem.len;
	buf_reset(&f->mem);
	return 0;
}

/* Appends a finished chunk to a chunk list (calling thread, mu held). */
static int writer_refs_add(struct repo_writer *w, struct writer_refs *f,
			   const uint8_t id[32], uint32_t len)
{
	int rc = buf_add(&f->mem, id, 32);

	if (rc == 0)
		rc = buf_put_le32(&f->mem, len);
	if (rc == 0 && f->mem.len >= WRITER_REFS_SPILL)
		rc = writer_refs_spill(w, f);
	if (rc == 0)
		f->n++;
	return rc;
}

/* Empties a chunk list, giving its segments back: space at the end of
 * the spill file is reused at once, the whole file once nothing in it
 * is live. */
static void writer_refs_reset(struct repo_writer *w, struct writer_refs *f)
{
	for (size_t i = f->nseg; i-- > 0;)
		if (f->seg[i].off + f->seg[i].len == w->spill_end)
			w->spill_end = f->seg[i].off;
	w->spill_live -= f->spilled;
	if (!w->spill_live && w->spill_end) {
		w->spill_end = 0;
		if (ftruncate(w->spill_fd, 0) < 0) {
			close(w->spill_fd);	/* a fresh file next time */
			w->spill_fd = -1;
		}
	}
	buf_reset(&f->mem);
	f->nseg = 0;
	f->spilled = 0;
	f->n = 0;
}

static void writer_refs_release(struct writer_refs *f)
{
	buf_release(&f->mem);
	free(f->seg);
	f->seg = NULL;
	f->nseg = f->capseg = 0;
}

/* ---- the ring, seen from the calling thread ---------------------- */

/* Collects finished slots in sequence order (mu held). */
static void writer_drain_locked(struct repo_writer *w)
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
static int writer_wait(struct repo_writer *w, uint64_t limit)
{
	int rc;

	pthread_mutex_lock(&w->mu);
	for (;;) {
		writer_drain_locked(w);
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
static void writer_settle(struct repo_writer *w)
{
	pthread_mutex_lock(&w->mu);
	for (;;) {
		writer_drain_locked(w);
		if (w->drained == w->submitted)
			break;
		pthread_cond_wait(&w->done, &w->mu);
	}
	pthread_mutex_unlock(&w->mu);
}

/* Hands the batch being filled to the workers. */
static void writer_dispatch(struct repo_writer *w)
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
static int writer_submit(struct repo_writer *w, struct repo_stream *st,
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
	s->sub[s->nsub++].len = (uint32_t)n;
	if (s->plain.len >= WRITER_BATCH)
		writer_dispatch(w);
	return 0;
}

/* Stores one blob on the calling thread (manifest chunks, the record). */
static int writer_store_own(struct repo_writer *w, uint8_t type,
			    const void *p, size_t n, uint8_t id[32])
{
	return writer_store(w, &w->own, type, p, n, id);
}

/* ---- manifest stream --------------------------------------------- */

static int writer_manifest_cut(struct repo_writer *w, int eof)
{
	const struct chunker *ck = w->ck[REPO_CHUNK_GENERAL];
	size_t max = chunker_params(ck)->max, avail, n;
	struct snaprec_chunk c;
	int rc;

	while ((avail = w->mwin.len - w->moff) > 0) {
		if (!eof && avail < max)
			break;
		n = chunker_next(ck, w->mwin.data + w->moff, avail, eof);
		if (n == 0)
			break;
		rc = writer_store_own(w, BLOB_MANIFEST, w->mwin.data + w->moff,
				      n, c.id);
		if (rc < 0)
			return rc;
		c.len = (uint32_t)n;
		rc = buf_add(&w->mchunks, &c, sizeof(c));
		if (rc < 0)
			return writer_fail(w, rc, NULL);
		w->moff += n;
	}
	if (w->moff) {
		memmove(w->mwin.data, w->mwin.data + w->moff,
			w->mwin.len - w->moff);
		buf_setlen(&w->mwin, w->mwin.len - w->moff);
		w->moff = 0;
	}
	return 0;
}

/* Hashes and moves the encoder output into the window, cuts chunks. */
static int writer_manifest_drain(struct repo_writer *w, int eof)
{
	int rc;

	manifest_hash_update(w->mh, w->mout.data, w->mout.len);
	rc = buf_add(&w->mwin, w->mout.data, w->mout.len);
	buf_reset(&w->mout);
	if (rc < 0)
		return writer_fail(w, rc, NULL);
	return writer_manifest_cut(w, eof);
}

/* ---- entries ----------------------------------------------------- */

/* The writer can take an entry: not failed, committed or inside a file. */
static int writer_usable(struct repo_writer *w, int want_file)
{
	int rc = writer_error(w);

	if (rc < 0)
		return rc;
	if (w->committed)
		return writer_refuse(w, NULL, "the snapshot is already"
				     " committed");
	if (w->in_file != want_file)
		return writer_refuse(w, want_file ? NULL : (char *)w->fe.path,
				     want_file ? "no file entry is open"
				     : "file entry still open (call"
				     " repo_writer_file_end)");
	return 0;
}

/* Entries must come in strictly increasing manifest_path_cmp order, and
 * fit the manifest's limits. */
static int writer_order(struct repo_writer *w, const char *path)
{
	size_t len = path ? strlen(path) : 0;

	if (!len || len > MANIFEST_MAX_PATH)
		return writer_refuse(w, path, "empty or too long entry path");
	if (w->have_last && manifest_path_cmp((char *)w->last.data,
					      w->last.len, path, len) >= 0) {
		pthread_mutex_lock(&w->mu);
		buf_reset(&w->errmsg);
		buf_addf(&w->errmsg, "%s: entry out of order: entries must be"
			 " strictly sorted (manifest_path_cmp), and it comes"
			 " after %s", path, (char *)w->last.data);
		pthread_mutex_unlock(&w->mu);
		return -EINVAL;
	}
	return 0;
}

/* The entry was accepted: later ones must sort after it. */
static int writer_order_set(struct repo_writer *w, const char *path)
{
	int rc;

	buf_reset(&w->last);
	rc = buf_add(&w->last, path, strlen(path));
	if (rc < 0)
		return writer_fail(w, rc, NULL);
	w->have_last = 1;
	return 0;
}

static int writer_encode(struct repo_writer *w, const struct manifest_entry *e)
{
	size_t mark = w->mout.len;
	int rc = manifest_encode_entry(&w->mout, e);

	if (rc < 0)	/* nothing of a refused entry may stay */
		buf_setlen(&w->mout, mark);
	if (rc == -EINVAL)
		return writer_refuse(w, e->path, "entry exceeds the manifest"
				     " limits (path, target or attributes)");
	if (rc < 0)
		return writer_fail(w, rc, NULL);
	pthread_mutex_lock(&w->mu);
	w->tot.entries++;
	pthread_mutex_unlock(&w->mu);
	return w->mout.len >= WRITER_MANIFEST_DRAIN
		? writer_manifest_drain(w, 0) : 0;
}

static int writer_simple(struct repo_writer *w, const char *path,
			 uint8_t kind, const char *target,
			 const struct repo_entry_meta *m)
{
	struct manifest_entry e;
	int rc = writer_usable(w, 0);

	if (rc == 0)
		rc = writer_order(w, path);
	if (rc < 0)
		return rc;
	memset(&e, 0, sizeof(e));
	e.path = (char *)path;
	e.path_len = strlen(path);
	e.kind = kind;
	e.mode = m ? m->mode & 07777 : 0;
	e.mtime_ns = m ? m->mtime_ns : 0;
	e.target = (char *)target;
	e.target_len = target ? strlen(target) : 0;
	if (e.target_len > MANIFEST_MAX_TARGET)
		return writer_refuse(w, path, "symlink target too long");
	rc = writer_encode(w, &e);
	return rc < 0 ? rc : writer_order_set(w, path);
}

int repo_writer_dir(struct repo_writer *w, const char *path,
		    const struct repo_entry_meta *m)
{
	return writer_simple(w, path, MANIFEST_DIR, NULL, m);
}

int repo_writer_symlink(struct repo_writer *w, const char *path,
			const char *target, const struct repo_entry_meta *m)
{
	if (!target)
		return writer_refuse(w, path, "symlink without a target");
	return writer_simple(w, path, MANIFEST_SYMLINK, target, m);
}

/* Opens the file entry (path, meta) whose content st will hold. */
static int writer_entry_open(struct repo_writer *w, const char *path,
			     const struct repo_entry_meta *m,
			     struct repo_stream *st, int fixed)
{
	int rc = writer_order_set(w, path);

	if (rc < 0)
		return rc;
	memset(&w->fe, 0, sizeof(w->fe));
	w->fe.path = strdup(path);
	if (!w->fe.path)
		return writer_fail(w, -ENOMEM, NULL);
	w->fe.path_len = strlen(path);
	w->fe.kind = MANIFEST_FILE;
	w->fe.mode = m ? m->mode & 07777 : 0;
	w->fe.mtime_ns = m ? m->mtime_ns : 0;
	w->cur = st;
	w->fixed = fixed;
	w->in_file = 1;
	return 0;
}

int repo_writer_file_begin(struct repo_writer *w, const char *path,
			   const struct repo_entry_meta *m,
			   enum repo_chunking how)
{
	int rc = writer_usable(w, 0);

	if (rc == 0 && how != REPO_CHUNK_GENERAL && how != REPO_CHUNK_ROWS)
		rc = writer_refuse(w, path, "unknown chunking");
	if (rc == 0)
		rc = writer_order(w, path);
	if (rc < 0)
		return rc;
	w->file.how = how;
	buf_reset(&w->file.win);
	w->file.woff = 0;
	w->file.size = 0;
	writer_refs_reset(w, &w->file.refs);
	return writer_entry_open(w, path, m, &w->file, 0);
}

/* Submits every chunk the window can decide on (all of it at eof). */
static int writer_cut(struct repo_writer *w, struct repo_stream *st, int eof)
{
	const struct chunker *ck = w->ck[st->how];
	size_t max = chunker_params(ck)->max, avail, n;
	int rc;

	while ((avail = st->win.len - st->woff) > 0) {
		if (!eof && avail < max)
			break;
		n = chunker_next(ck, st->win.data + st->woff, avail, eof);
		if (n == 0)
			break;
		rc = writer_submit(w, st, st->win.data + st->woff, n);
		if (rc < 0)
			return rc;
		st->woff += n;
	}
	return 0;
}

/* Free room at the window's end, compacting when it is full. */
static size_t writer_room(struct repo_stream *st)
{
	if (st->win.len == st->wcap && st->woff) {
		memmove(st->win.data, st->win.data + st->woff,
			st->win.len - st->woff);
		buf_setlen(&st->win, st->win.len - st->woff);
		st->woff = 0;
	}
	return st->wcap - st->win.len;
}

static void writer_count_read(struct repo_writer *w, struct repo_stream *st,
			      size_t n)
{
	pthread_mutex_lock(&w->mu);
	w->tot.bytes_read += n;
	pthread_mutex_unlock(&w->mu);
	st->size += n;
}

/* Copies p[0..n) into st's window, cutting as it fills. */
static int writer_feed(struct repo_writer *w, struct repo_stream *st,
		       const void *p, size_t n)
{
	const uint8_t *q = p;
	size_t take;
	int rc = 0;

	while (rc == 0 && n > 0) {
		take = writer_room(st);
		if (!take)	/* the chunker must cut by max: a bug */
			return writer_fail(w, -EIO, NULL);
		if (take > n)
			take = n;
		memcpy(st->win.data + st->win.len, q, take);
		buf_setlen(&st->win, st->win.len + take);
		writer_count_read(w, st, take);
		q += take;
		n -= take;
		rc = writer_cut(w, st, 0);
	}
	return rc;
}

int repo_writer_file_write(struct repo_writer *w, const void *p, size_t n)
{
	int rc = writer_usable(w, 1);

	if (rc == 0 && w->fixed)
		return writer_refuse(w, w->fe.path, "this entry's content was"
				     " given whole (stream or chunks): no"
				     " writes");
	return rc < 0 ? rc : writer_feed(w, w->cur, p, n);
}

int repo_writer_file_attr(struct repo_writer *w, const char *key,
			  const char *value)
{
	struct manifest_attr *a;
	int rc = writer_usable(w, 1);

	if (rc < 0)
		return rc;
	if (!key || !value || !*key || strlen(key) > MANIFEST_MAX_KEY ||
	    strlen(value) > MANIFEST_MAX_VALUE ||
	    w->fe.nattrs >= MANIFEST_MAX_ATTRS)
		return writer_refuse(w, w->fe.path, "bad attribute (empty or"
				     " too long key or value, or too many)");
	a = realloc(w->fe.attrs, (w->fe.nattrs + 1) * sizeof(*a));
	if (!a)
		return writer_fail(w, -ENOMEM, NULL);
	w->fe.attrs = a;
	a += w->fe.nattrs;
	a->key = strdup(key);
	a->value = strdup(value);
	a->value_len = strlen(value);
	if (!a->key || !a->value) {
		free(a->key);
		free(a->value);
		return writer_fail(w, -ENOMEM, NULL);
	}
	w->fe.nattrs++;
	return 0;
}

/* Encodes n bytes of packed (id, le32 length) records. */
static int writer_encode_ref_block(struct repo_writer *w, const uint8_t *p,
				   size_t n)
{
	struct manifest_chunk c;
	int rc = 0;

	for (size_t i = 0; rc == 0 && i + WRITER_REF_SIZE <= n;
	     i += WRITER_REF_SIZE) {
		memcpy(c.id, p + i, 32);
		memcpy(&c.len, p + i + 32, 4);
		c.len = le32toh(c.len);
		rc = manifest_encode_chunk(&w->mout, &c);
		if (rc == 0 && w->mout.len >= WRITER_MANIFEST_DRAIN)
			rc = writer_manifest_drain(w, 0);
	}
	return rc;
}

/* Encodes a chunk list: its spill segments in order, then memory. */
static int writer_encode_refs(struct repo_writer *w, struct writer_refs *f)
{
	uint8_t rec[WRITER_REF_SIZE * 1024];
	ssize_t got;
	int rc = 0;

	for (size_t i = 0; rc == 0 && i < f->nseg; i++) {
		uint64_t off = f->seg[i].off, end = off + f->seg[i].len;

		while (rc == 0 && off < end) {
			size_t want = end - off < sizeof(rec)
				? (size_t)(end - off) : sizeof(rec);

			got = pread(w->spill_fd, rec, want, (off_t)off);
			if (got <= 0 || got % WRITER_REF_SIZE)
				return writer_fail(w, got < 0 ? -errno : -EIO,
						   NULL);
			rc = writer_encode_ref_block(w, rec, (size_t)got);
			off += (uint64_t)got;
		}
	}
	if (rc == 0)
		rc = writer_encode_ref_block(w, f->mem.data, f->mem.len);
	return rc < 0 ? writer_fail(w, rc, NULL) : 0;
}

static void writer_stream_destroy(struct repo_stream *st);

int repo_writer_file_end(struct repo_writer *w)
{
	struct repo_stream *st = w->cur;
	int rc = writer_usable(w, 1);

	if (rc == 0 && !w->fixed)
		rc = writer_cut(w, st, 1);
	writer_dispatch(w);
	if (rc == 0)
		rc = writer_wait(w, 1);	/* every chunk of this file */
	if (rc < 0)
		return rc;
	w->fe.nchunks = st->refs.n;
	w->fe.size = st->size;
	rc = writer_encode(w, &w->fe);
	if (rc == 0)
		rc = writer_encode_refs(w, &st->refs);
	if (rc == 0 && w->mout.len >= WRITER_MANIFEST_DRAIN)
		rc = writer_manifest_drain(w, 0);
	manifest_entry_release(&w->fe);
	if (st->detached) {
		writer_stream_destroy(st);
	} else {
		writer_refs_reset(w, &st->refs);
		buf_reset(&st->win);
		st->woff = 0;
	}
	w->cur = NULL;
	w->fixed = 0;
	w->in_file = 0;
	if (rc == -EINVAL)	/* a refused entry poisons the manifest */
		rc = writer_fail(w, rc, &w->errmsg);
	return rc;
}

void repo_writer_set_progress(struct repo_writer *w,
			      repo_writer_progress_fn fn, void *arg)
{
	if (!w)
		return;
	w->progress = fn;
	w->progress_arg = arg;
}

int repo_writer_file_fd(struct repo_writer *w, const char *path,
			const struct repo_entry_meta *m,
			enum repo_chunking how, int fd, struct buf *err)
{
	struct repo_stream *st = &w->file;
	size_t room;
	ssize_t n;
	int rc = repo_writer_file_begin(w, path, m, how);

	while (rc == 0) {
		room = writer_room(st);
		if (!room) {	/* the chunker must cut by max: a bug */
			rc = writer_fail(w, -EIO, NULL);
			break;
		}
		n = read(fd, st->win.data + st->win.len, room);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = -errno;
			repo_errf(err, rc, "%s: read: %s", path, strerror(errno));
			/* the entry cannot be completed: abandon it */
			writer_fail(w, rc, err);
			return rc;
		}
		if (n == 0)
			break;
		buf_setlen(&st->win, st->win.len + (size_t)n);
		writer_count_read(w, st, (size_t)n);
		rc = writer_cut(w, st, 0);
		if (rc == 0 && w->progress)
			w->progress(w->progress_arg);
	}
	if (rc == 0)
		rc = repo_writer_file_end(w);
	if (rc < 0)
		repo_errf(err, rc, "%s", repo_writer_error(w));
	return rc;
}

/* ---- detached streams -------------------------------------------- */

/* Stream calls need a live writer; the entry state does not matter. */
static int writer_stream_usable(struct repo_stream *st, int want_open)
{
	struct repo_writer *w = st->w;
	int rc = writer_error(w);

	if (rc < 0)
		return rc;
	if (w->committed)
		return writer_refuse(w, NULL, "the snapshot is already"
				     " committed");
	if (want_open && st->ended)
		return writer_refuse(w, NULL, "the stream has ended");
	return 0;
}

int repo_stream_begin(struct repo_writer *w, enum repo_chunking how,
		      struct repo_stream **out)
{
	struct repo_stream *st;
	int rc = writer_error(w);

	*out = NULL;
	if (rc < 0)
		return rc;
	if (w->committed)
		return writer_refuse(w, NULL, "the snapshot is already"
				     " committed");
	if (how != REPO_CHUNK_GENERAL && how != REPO_CHUNK_ROWS)
		return writer_refuse(w, NULL, "unknown chunking");
	st = calloc(1, sizeof(*st));
	if (!st)
		return writer_fail(w, -ENOMEM, NULL);
	st->w = w;
	st->how = how;
	st->detached = 1;
	buf_init(&st->win, 0);
	buf_init(&st->refs.mem, 0);
	/* this chunking's max is all a window needs (see writer_cut) */
	st->wcap = 2 * (size_t)chunker_params(w->ck[how])->max;
	if (buf_grow(&st->win, st->wcap) < 0) {
		buf_release(&st->win);
		buf_release(&st->refs.mem);
		free(st);
		return writer_fail(w, -ENOMEM, NULL);
	}
	st->next = w->streams;
	if (w->streams)
		w->streams->prev = st;
	w->streams = st;
	*out = st;
	return 0;
}

int repo_stream_write(struct repo_stream *st, const void *p, size_t n)
{
	int rc = writer_stream_usable(st, 1);

	return rc < 0 ? rc : writer_feed(st->w, st, p, n);
}

int repo_stream_end(struct repo_stream *st)
{
	struct repo_writer *w = st->w;
	int rc = writer_stream_usable(st, 1);

	if (rc == 0)
		rc = writer_cut(w, st, 1);
	writer_dispatch(w);
	if (rc == 0)
		rc = writer_wait(w, 1);	/* its chunk list is complete */
	if (rc < 0)
		return rc;
	st->ended = 1;
	buf_release(&st->win);
	st->wcap = 0;
	st->woff = 0;
	/* a parked stream keeps little in memory */
	if (st->refs.mem.len > WRITER_STREAM_KEEP) {
		rc = writer_refs_spill(w, &st->refs);
		if (rc < 0)
			return writer_fail(w, rc, NULL);
	}
	return 0;
}

uint64_t repo_stream_size(const struct repo_stream *st)
{
	return st ? st->size : 0;
}

/* Unlinks and frees a detached stream; its chunks must have drained. */
static void writer_stream_destroy(struct repo_stream *st)
{
	struct repo_writer *w = st->w;

	if (st->prev)
		st->prev->next = st->next;
	else if (w->streams == st)
		w->streams = st->next;
	if (st->next)
		st->next->prev = st->prev;
	writer_refs_reset(w, &st->refs);
	writer_refs_release(&st->refs);
	buf_release(&st->win);
	free(st);
}

void repo_stream_free(struct repo_stream *st)
{
	struct repo_writer *w;

	if (!st)
		return;
	w = st->w;
	if (w->cur == st)	/* attached: the entry owns it */
		return;
	if (!st->ended && w->nth) {
		/* slots in flight may still point at its chunk list */
		writer_dispatch(w);
		writer_settle(w);
	}
	writer_stream_destroy(st);
}

int repo_writer_file_stream(struct repo_writer *w, const char *path,
			    const struct repo_entry_meta *m,
			    struct repo_stream *st)
{
	int rc;

	if (!st || st->w != w)
		return writer_refuse(w, path, "not a stream of this writer");
	rc = writer_usable(w, 0);
	if (rc == 0 && !st->ended)
		rc = writer_refuse(w, path, "the stream has not ended"
				   " (call repo_stream_end first)");
	if (rc == 0)
		rc = writer_order(w, path);
	if (rc == 0)
		rc = writer_entry_open(w, path, m, st, 1);
	if (rc < 0 || w->cur != st)
		repo_stream_free(st);
	return rc;
}

/* ---- entries made of stored chunks ------------------------------- */

/* Every chunk is a data chunk the repository holds (or is storing). */
static int writer_chunks_known(struct repo_writer *w, const char *path,
			       const struct repo_chunkref *c, size_t n)
{
	struct index_loc loc;
	char hex[65];
	int rc = 0;

	pthread_mutex_lock(&w->mu);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		memset(&loc, 0, sizeof(loc));
		rc = index_chunk_get(w->r->ix, c[i].id, &loc);
		if (rc > 0) {	/* indexed: it must be what the caller says */
			rc = loc.type == BLOB_DATA && loc.raw_len == c[i].len
				? 0 : -EINVAL;
		} else if (rc == 0) {	/* in flight? */
			rc = writer_known(w, c[i].id);
			rc = rc > 0 ? 0 : rc < 0 ? rc : -ENOENT;
		}
		if (rc < 0) {
			hex_encode(hex, c[i].id, 32);
			buf_reset(&w->errmsg);
			buf_addf(&w->errmsg, "%s: chunk %zu (%s): %s", path, i,
				 hex, rc == -ENOENT ? "not in the repository"
				 : rc == -EINVAL ? "not a data chunk of that"
				 " length" : strerror(-rc));
		}
	}
	pthread_mutex_unlock(&w->mu);
	return rc;
}

int repo_writer_file_chunks(struct repo_writer *w, const char *path,
			    const struct repo_entry_meta *m,
			    const struct repo_chunkref *c, size_t n)
{
	struct repo_stream *st = &w->file;
	struct buf err = BUF_INIT;
	int rc = writer_usable(w, 0);

	if (rc == 0 && n && !c)
		rc = writer_refuse(w, path, "no chunks given");
	if (rc == 0)
		rc = writer_order(w, path);
	if (rc == 0)
		rc = writer_chunks_known(w, path, c, n);
	if (rc < 0)	/* a refusal: the writer stays usable */
		return rc == -ENOENT || rc == -EINVAL ? rc
			: writer_fail(w, rc, &w->errmsg);
	st->how = REPO_CHUNK_GENERAL;
	buf_reset(&st->win);
	st->woff = 0;
	st->size = 0;
	writer_refs_reset(w, &st->refs);
	/* earlier slots may still be draining into other lists: the
	 * refs below need no slot, but the index is used under mu */
	pthread_mutex_lock(&w->mu);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		rc = index_ref_add(w->r->ix, c[i].id, &err);
		if (rc == 0)
			rc = writer_refs_add(w, &st->refs, c[i].id, c[i].len);
		if (rc == 0) {
			w->tot.chunks++;
			w->tot.bytes_read += c[i].len;
			st->size += c[i].len;
		}
	}
	if (rc < 0)
		writer_fail_locked(w, rc, &err);
	pthread_mutex_unlock(&w->mu);
	buf_release(&err);
	if (rc < 0)
		return rc;
	return writer_entry_open(w, path, m, st, 1);
}

void repo_writer_totals(struct repo_writer *w, struct repo_totals *t)
{
	pthread_mutex_lock(&w->mu);
	*t = w->tot;
	pthread_mutex_unlock(&w->mu);
}

/* ---- lifecycle --------------------------------------------------- */

static int writer_ncpu(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	if (n < 1)
		return 1;
	return n > WRITER_MAX_WORKERS ? WRITER_MAX_WORKERS : (int)n;
}

static int writer_chunkers(struct repo_writer *w, struct buf *err)
{
	const struct config *c = &w->r->cfg;
	struct chunker_params g = { c->general.min, c->general.avg,
				    c->general.max, 0 };
	struct chunker_params rw = { c->rows.min, c->rows.avg, c->rows.max,
				     1 };
	int rc = chunker_new(&w->ck[REPO_CHUNK_GENERAL], &g,
			     w->r->keys.gear_seed);

	if (rc == 0)
		rc = chunker_new(&w->ck[REPO_CHUNK_ROWS], &rw,
				 w->r->keys.gear_seed);
	if (rc < 0)
		return repo_errf(err, rc, "bad chunker parameters in the"
				 " repository config: %s", strerror(-rc));
	return 0;
}

/* Slots and the window, sized from the largest chunk. */
static int writer_buffers(struct repo_writer *w)
{
	size_t max = w->r->cfg.general.max > w->r->cfg.rows.max
		? w->r->cfg.general.max : w->r->cfg.rows.max;
	size_t n;

	/* a batch never outgrows one max chunk (or WRITER_BATCH) */
	w->batch = max > WRITER_BATCH ? max : WRITER_BATCH;
	n = WRITER_SLOT_BUDGET / (w->batch + max);

	if (n > (size_t)w->nth + 2)
		n = (size_t)w->nth + 2;
	if (n < 2)
		n = 2;
	w->nslots = n;
	w->slots = calloc(n, sizeof(*w->slots));
	if (!w->slots)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		buf_init(&w->slots[i].plain, 0);
		buf_init(&w->slots[i].stored, 0);
	}
	w->file.wcap = 2 * max;
	return buf_grow(&w->file.win, w->file.wcap);
}

static void writer_init_bufs(struct repo_writer *w)
{
	buf_init(&w->own.stored, 0);
	buf_init(&w->errmsg, 0);
	buf_init(&w->last, 0);
	buf_init(&w->file.win, 0);
	buf_init(&w->file.refs.mem, 0);
	w->file.w = w;
	buf_init(&w->mout, 0);
	buf_init(&w->mwin, 0);
	buf_init(&w->mchunks, 0);
	w->spill_fd = -1;
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->work, NULL);
	pthread_cond_init(&w->done, NULL);
}

static int writer_start(struct repo_writer *w)
{
	int n = writer_ncpu();

	for (int i = 0; i < n; i++) {
		if (pthread_create(&w->th[i], NULL, writer_main, w))
			break;
		w->nth++;
	}
	return w->nth ? 0 : -EAGAIN;
}

int repo_writer_new(struct repo *r, struct repo_writer **out,
		    struct buf *err)
{
	struct repo_writer *w;
	int rc;

	*out = NULL;
	rc = repo_need_writer(r, "writing a snapshot", err);
	if (rc < 0)
		return rc;
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->r = r;
	writer_init_bufs(w);
	w->nth = writer_ncpu();	/* for sizing; recounted by writer_start */
	rc = writer_chunkers(w, err);
	if (rc == 0)
		rc = writer_buffers(w);
	if (rc == 0)
		rc = index_refs_reset(r->ix, err);
	if (rc == 0) {
		w->mh = manifest_hash_new();
		rc = w->mh ? manifest_encode_header(&w->mout) : -ENOMEM;
	}
	w->nth = 0;
	if (rc == 0)
		rc = writer_start(w);
	if (rc < 0) {
		if (err && !err->len)
			repo_errf(err, rc, "cannot start the snapshot writer:"
				  " %s", strerror(-rc));
		repo_writer_free(w);
		return rc;
	}
	*out = w;
	return 0;
}

static void writer_stop(struct repo_writer *w)
{
	pthread_mutex_lock(&w->mu);
	w->quit = 1;
	pthread_cond_broadcast(&w->work);
	pthread_mutex_unlock(&w->mu);
	for (int i = 0; i < w->nth; i++)
		pthread_join(w->th[i], NULL);
	w->nth = 0;
}

void repo_writer_free(struct repo_writer *w)
{
	if (!w)
		return;
	writer_stop(w);
	/* an unfinished pack is abandoned: its temporary file goes */
	packer_free(w->pk);
	for (size_t i = 0; i < w->nslots; i++) {
		buf_release(&w->slots[i].plain);
		buf_release(&w->slots[i].stored);
		free(w->slots[i].sub);
	}
	free(w->slots);
	chunker_free(w->ck[0]);
	chunker_free(w->ck[1]);
	manifest_entry_release(&w->fe);
	manifest_hash_free(w->mh);
	/* the workers are gone: no slot can still point at a stream */
	while (w->streams)
		writer_stream_destroy(w->streams);
	if (w->spill_fd >= 0)
		close(w->spill_fd);
	writer_refs_release(&w->file.refs);
	buf_release(&w->own.stored);
	buf_release(&w->errmsg);
	buf_release(&w->last);
	buf_release(&w->file.win);
	buf_release(&w->mout);
	buf_release(&w->mwin);
	buf_release(&w->mchunks);
	pthread_cond_destroy(&w->work);
	pthread_cond_destroy(&w->done);
	pthread_mutex_destroy(&w->mu);
	free(w);
}

/* ---- commit ------------------------------------------------------ */

/* Finishes the open pack and waits for packs other threads finish. */
static int writer_flush_packs(struct repo_writer *w)
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
		rc = writer_publish(w, p, &err);
	buf_release(&err);
	pthread_mutex_lock(&w->mu);
	while (w->nfinishing)
		pthread_cond_wait(&w->done, &w->mu);
	rc = w->error ? w->error : rc;
	pthread_mutex_unlock(&w->mu);
	return rc;
}

/* Ends the manifest stream and stores its last chunks. */
static int writer_manifest_end(struct repo_writer *w)
{
	int rc = writer_manifest_drain(w, 0);

	if (rc == 0)
		rc = manifest_encode_end(&w->mout, w->mh, w->tot.entries);
	if (rc < 0)
		return writer_fail(w, rc, NULL);
	return writer_manifest_drain(w, 1);
}

/* o with time and hostname filled in (host is the storage). */
static void writer_resolve_opts(const struct repo_commit_opts *in,
				struct repo_commit_opts *o, char host[256])
{
	*o = *in;
	if (!o->time)
		o->time = (int64_t)time(NULL);
	if (!o->hostname) {
		if (gethostname(host, 256) < 0)
			snprintf(host, 256, "unknown");
		host[255] = '\0';
		o->hostname = host;
	}
}

static int writer_record(struct repo_writer *w,
			 const struct repo_commit_opts *o, struct buf *rec)
{
	struct snaprec s;

	memset(&s, 0, sizeof(s));
	s.time = o->time;
	s.hostname = (char *)o->hostname;
	s.source = (char *)(o->source ? o->source : "");
	s.tags = (char **)o->tags;
	s.ntags = o->ntags;
	s.entries = w->tot.entries;
	s.bytes_read = w->tot.bytes_read;
	s.bytes_added = w->tot.bytes_added;
	s.bytes_stored = w->tot.bytes_stored;
	s.meta_json = (char *)(o->meta_json ? o->meta_json : "{}");
	s.manifest = (struct snaprec_chunk *)w->mchunks.data;
	s.nmanifest = w->mchunks.len / sizeof(struct snaprec_chunk);
	return snaprec_encode(rec, &s);
}

/* The final transaction: snapshot row + every reference. */
static int writer_index_snapshot(struct repo_writer *w,
				 const struct repo_commit_opts *o,
				 const uint8_t id[32], struct buf *err)
{
	struct repo_snapinfo old;
	struct index_snap s;
	int rc;

	rc = index_snap_get(w->r->ix, id, &old);
	repo_snapinfo_release(&old);
	if (rc != 0)	/* the identical snapshot is already there */
		return rc < 0 ? repo_errf(err, rc, "index: %s", strerror(-rc))
			      : 0;
	memset(&s, 0, sizeof(s));
	memcpy(s.id, id, 32);
	s.time = o->time;
	s.hostname = o->hostname;
	s.source = o->source ? o->source : "";
	s.tags = o->tags;
	s.ntags = o->ntags;
	s.entries = w->tot.entries;
	s.bytes_read = w->tot.bytes_read;
	s.bytes_added = w->tot.bytes_added;
	s.bytes_stored = w->tot.bytes_stored;
	s.meta_json = o->meta_json ? o->meta_json : "{}";
	rc = index_begin(w->r->ix, err);
	if (rc == 0)
		rc = index_snap_add(w->r->ix, &s, err);
	if (rc == 0)
		rc = index_commit(w->r->ix, err);
	else
		index_rollback(w->r->ix);
	return rc;
}

int repo_writer_commit(struct repo_writer *w,
		       const struct repo_commit_opts *opts, char id[65],
		       struct repo_totals *t, struct buf *err)
{
	static const struct repo_commit_opts none;
	struct repo_commit_opts ob, *o = &ob;
	struct buf rec = BUF_INIT;
	struct repo_totals saved;
	char host[256];
	uint8_t sid[32];
	int rc;

	writer_resolve_opts(opts ? opts : &none, o, host);
	rc = writer_usable(w, 0);
	if (rc == 0)
		rc = writer_wait(w, 1);
	if (rc == 0)
		rc = writer_manifest_end(w);
	/* the index row must show the totals the record holds */
	saved = w->tot;
	if (rc == 0)
		rc = writer_record(w, o, &rec);
	if (rc == 0)
		rc = writer_store_own(w, BLOB_SNAPSHOT, rec.data, rec.len, sid);
	if (rc == 0)
		rc = writer_flush_packs(w);
	buf_release(&rec);
	if (rc < 0)
		return repo_errf(err, rc, "%s", repo_writer_error(w));
	w->tot = saved;
	rc = writer_index_snapshot(w, o, sid, err);
	if (rc < 0)
		return writer_fail(w, rc, err);
	w->committed = 1;
	hex_encode(id, sid, 32);
	if (t)
		*t = w->tot;
	return 0;
}

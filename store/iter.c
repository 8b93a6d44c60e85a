/*
 * iter: reading a snapshot back, repo_iter_* and repo_view_* (repo.h).
 * The entries come from the snapshot's manifest stream (reader.c); a
 * file's bytes from its chunks, each read and verified by reader_load.
 *
 * repo_iter_read keeps a few chunks of the current file in flight on
 * worker threads (pread + decrypt + decompress + verify) while the
 * calling thread hands finished chunks to the sink in order, so restore
 * speed is not the sum of decode and write time.  The calling thread
 * alone touches the index and the manifest decoder; the workers only
 * touch their slot and the (locked) caches of pack descriptors and of
 * delta bases.  A chunk stored as a delta is resolved into its chain on
 * the calling thread and decoded forward by the worker (chain.c).
 * Memory: a handful of slots, each at most one stored and two plain
 * chunks.
 *
 * Separate from reader.c because it resolves snapshot names and opens
 * index connections (repo.c), which itself needs the reader below.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chain.h"
#include "index.h"
#include "reader.h"
#include "repo-internal.h"

#define ITER_MAX_THREADS	4

/* ---- read-ahead pool --------------------------------------------- */

enum { ITER_FREE, ITER_READY, ITER_BUSY, ITER_DONE };

struct iter_slot {
	int state;
	struct chain_link links[CHAIN_MAX_LINKS];	/* the chunk, its bases */
	size_t nlinks;
	struct buf stored, plain, tmp, err;
	int rc;
};

struct iter_pool {
	struct repo *r;
	struct chain_cache *chains;	/* the iterator's */
	pthread_mutex_t mu;
	pthread_cond_t work, done;
	pthread_t th[ITER_MAX_THREADS];
	int nth, quit;
	struct iter_slot *slots;
	size_t nslots;
	uint64_t submitted, taken, head;	/* sequence numbers */
};

static void *iter_pool_main(void *arg)
{
	struct iter_pool *p = arg;
	struct iter_slot *s;

	pthread_mutex_lock(&p->mu);
	for (;;) {
		while (!p->quit && p->taken == p->submitted)
			pthread_cond_wait(&p->work, &p->mu);
		if (p->quit)
			break;
		s = &p->slots[p->taken++ % p->nslots];
		s->state = ITER_BUSY;
		pthread_mutex_unlock(&p->mu);
		s->rc = chain_load(p->r, p->chains, s->links, s->nlinks, 0,
				   &s->stored, &s->tmp, &s->plain, &s->err);
		pthread_mutex_lock(&p->mu);
		s->state = ITER_DONE;
		pthread_cond_broadcast(&p->done);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

static void iter_pool_free(struct iter_pool *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->mu);
	p->quit = 1;
	pthread_cond_broadcast(&p->work);
	pthread_mutex_unlock(&p->mu);
	for (int i = 0; i < p->nth; i++)
		pthread_join(p->th[i], NULL);
	for (size_t i = 0; i < p->nslots; i++) {
		buf_release(&p->slots[i].stored);
		buf_release(&p->slots[i].plain);
		buf_release(&p->slots[i].tmp);
		buf_release(&p->slots[i].err);
	}
	free(p->slots);
	pthread_cond_destroy(&p->work);
	pthread_cond_destroy(&p->done);
	pthread_mutex_destroy(&p->mu);
	free(p);
}

static int iter_ncpu(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	if (n < 1)
		return 1;
	return n > ITER_MAX_THREADS ? ITER_MAX_THREADS : (int)n;
}

static int iter_pool_new(struct iter_pool **out, struct repo *r,
			 struct chain_cache *chains)
{
	struct iter_pool *p = calloc(1, sizeof(*p));

	*out = NULL;
	if (!p)
		return -ENOMEM;
	p->r = r;
	p->chains = chains;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->work, NULL);
	pthread_cond_init(&p->done, NULL);
	p->nslots = (size_t)iter_ncpu() + 2;
	p->slots = calloc(p->nslots, sizeof(*p->slots));
	if (!p->slots) {
		iter_pool_free(p);
		return -ENOMEM;
	}
	for (size_t i = 0; i < p->nslots; i++) {
		buf_init(&p->slots[i].stored, 0);
		buf_init(&p->slots[i].plain, 0);
		buf_init(&p->slots[i].tmp, 0);
		buf_init(&p->slots[i].err, 0);
	}
	for (int i = 0; i < iter_ncpu(); i++) {
		if (pthread_create(&p->th[i], NULL, iter_pool_main, p))
			break;
		p->nth++;
	}
	if (!p->nth) {
		iter_pool_free(p);
		return -EAGAIN;
	}
	*out = p;
	return 0;
}

static int iter_pool_room(const struct iter_pool *p)
{
	return p->submitted - p->head < p->nslots;
}

/* The slot to fill next: FREE, only this thread touches it until
 * submitted. */
static struct iter_slot *iter_pool_next(struct iter_pool *p)
{
	return &p->slots[p->submitted % p->nslots];
}

static void iter_pool_submit(struct iter_pool *p)
{
	struct iter_slot *s = iter_pool_next(p);

	s->rc = 0;
	buf_reset(&s->err);
	pthread_mutex_lock(&p->mu);
	s->state = ITER_READY;
	p->submitted++;
	pthread_cond_signal(&p->work);
	pthread_mutex_unlock(&p->mu);
}

static struct iter_slot *iter_pool_wait(struct iter_pool *p)
{
	struct iter_slot *s = &p->slots[p->head % p->nslots];

	pthread_mutex_lock(&p->mu);
	while (s->state != ITER_DONE)
		pthread_cond_wait(&p->done, &p->mu);
	pthread_mutex_unlock(&p->mu);
	return s;
}

static void iter_pool_pop(struct iter_pool *p)
{
	p->slots[p->head % p->nslots].state = ITER_FREE;
	p->head++;
}

/* Waits for and discards everything in flight (after an error). */
static void iter_pool_discard(struct iter_pool *p)
{
	while (p->head < p->submitted) {
		iter_pool_wait(p);
		iter_pool_pop(p);
	}
}

/* ---- repo_iter --------------------------------------------------- */

struct repo_iter {
	struct repo *r;
	struct index *ix;	/* r->ix, or a view's */
	int sync;		/* decode on the caller's thread (views) */
	struct reader_manifest *m;
	struct manifest_entry e;
	int at_entry;		/* e is valid */
	int read_done;		/* repo_iter_read was called for e */
	struct buf stored, plain, tmp;
	struct buf chunks;	/* repo_iter_chunks' answer */
	struct iter_pool *pool;
	struct chain_cache *chains;	/* delta bases, made on first use */
	struct chain_link links[CHAIN_MAX_LINKS];	/* iter_sync's */
};

static int iter_open(struct repo *r, struct index *ix,
		     const char *full, struct repo_iter **out,
			    struct buf *err)
{
	struct repo_iter *it;
	uint8_t raw[32];
	int rc;

	*out = NULL;
	if (strlen(full) != 64 || hex_decode(raw, 32, full) < 0)
		return repo_errf(err, -EINVAL, "bad snapshot id %s", full);
	it = calloc(1, sizeof(*it));
	if (!it)
		return -ENOMEM;
	it->r = r;
	it->ix = ix;
	buf_init(&it->stored, 0);
	buf_init(&it->plain, 0);
	buf_init(&it->tmp, 0);
	buf_init(&it->chunks, 0);
	rc = reader_manifest_open(&it->m, r, ix, raw, err);
	if (rc < 0) {
		repo_iter_free(it);
		return rc;
	}
	*out = it;
	return 0;
}

int repo_iter_new(struct repo *r, const char *id, struct repo_iter **out,
		  struct buf *err)
{
	char full[65];
	int rc;

	*out = NULL;
	rc = repo_snapshot_resolve(r, id, full, err);
	return rc < 0 ? rc : iter_open(r, r->ix, full, out, err);
}

struct repo_view {
	struct repo *r;
	struct index *ix;
};

int repo_view_open(struct repo *r, struct repo_view **out, struct buf *err)
{
	struct repo_view *v;
	int rc;

	*out = NULL;
	v = calloc(1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	v->r = r;
	rc = repo_index_open(r, &v->ix, err);
	if (rc < 0) {
		repo_view_free(v);
		return rc;
	}
	*out = v;
	return 0;
}

void repo_view_free(struct repo_view *v)
{
	if (!v)
		return;
	index_free(v->ix);
	free(v);
}

int repo_view_iter(struct repo_view *v, const char *id, struct repo_iter **out,
		   struct buf *err)
{
	int rc = iter_open(v->r, v->ix, id, out, err);

	/* views serve threads that are the parallelism already: a pool
	 * behind each only adds wake-ups (a fifth of the client's CPU on
	 * bench/run-restore with small row chunks) */
	if (rc == 0)
		(*out)->sync = 1;
	return rc;
}

void repo_iter_free(struct repo_iter *it)
{
	if (!it)
		return;
	iter_pool_free(it->pool);
	chain_cache_free(it->chains);
	reader_manifest_free(it->m);
	manifest_entry_release(&it->e);
	buf_release(&it->stored);
	buf_release(&it->plain);
	buf_release(&it->tmp);
	buf_release(&it->chunks);
	free(it);
}

int repo_iter_next(struct repo_iter *it, const struct manifest_entry **e,
		   struct buf *err)
{
	int rc = reader_manifest_next(it->m, &it->e, err);

	it->at_entry = rc == 1;
	it->read_done = 0;
	*e = rc == 1 ? &it->e : NULL;
	return rc;
}

/* Chunk c of the current entry, checked against it, with its chain when
 * it is a delta: links[0..*n). */
static int iter_locate(struct repo_iter *it,
		       const struct manifest_chunk *c,
		       struct chain_link *links, size_t *n, struct buf *err)
{
	struct index_loc *loc = &links[0].loc;
	char hex[65];
	int rc = index_chunk_get(it->ix, c->id, loc);

	*n = 1;
	memcpy(links[0].id, c->id, 32);
	if (rc > 0 && loc->raw_len == c->len && !loc->depth)
		return 0;
	if (rc > 0 && loc->raw_len == c->len) {
		struct buf why = BUF_INIT;

		rc = chain_resolve(it->ix, c->id, loc, links, n, &why);
		if (rc < 0)
			repo_errf(err, rc, "%s: %s", it->e.path,
				  (char *)why.data);
		buf_release(&why);
		return rc < 0 ? rc : 0;
	}
	hex_encode(hex, c->id, 32);
	if (rc < 0)
		return repo_errf(err, rc, "index lookup of %s: %s%s", hex,
				 strerror(-rc), index_damage_hint(rc));
	return repo_errf(err, -EBADMSG, "%s: chunk %s %s", it->e.path, hex,
			 rc == 0 ? "is missing from the repository"
			 : "has the wrong length");
}

/* Small files: one chunk at a time on this thread. */
static int iter_sync(struct repo_iter *it, repo_sink_fn sink,
		     void *ctx, uint64_t *total, struct buf *err)
{
	struct manifest_chunk c;
	size_t n;
	int rc;

	while ((rc = reader_manifest_chunk(it->m, &c, err)) == 1) {
		rc = iter_locate(it, &c, it->links, &n, err);
		if (rc == 0)
			rc = chain_load(it->r, it->chains, it->links, n, 0,
					&it->stored, &it->tmp, &it->plain, err);
		if (rc < 0)
			return rc;
		*total += it->plain.len;
		rc = sink(ctx, it->plain.data, it->plain.len);
		if (rc)
			return rc;
	}
	return rc;
}

/* Keeps the pool full, hands chunks to sink in order. */
static int iter_pooled(struct repo_iter *it, repo_sink_fn sink,
		       void *ctx, uint64_t *total, struct buf *err)
{
	struct iter_pool *p = it->pool;
	struct manifest_chunk c;
	struct iter_slot *s;
	int more = 1, rc = 0;

	while (rc == 0) {
		while (more && iter_pool_room(p)) {
			rc = reader_manifest_chunk(it->m, &c, err);
			s = iter_pool_next(p);
			if (rc == 1)
				rc = iter_locate(it, &c, s->links, &s->nlinks,
						 err);
			else
				more = 0;
			if (rc < 0)
				break;
			if (more)
				iter_pool_submit(p);
		}
		if (rc < 0 || p->head == p->submitted)
			break;
		s = iter_pool_wait(p);
		rc = s->rc;
		if (rc < 0) {
			repo_errf(err, rc, "%s: %s", it->e.path,
				  (char *)s->err.data);
		} else {
			*total += s->plain.len;
			rc = sink(ctx, s->plain.data, s->plain.len);
		}
		iter_pool_pop(p);
	}
	iter_pool_discard(p);
	return rc;
}

int repo_iter_read(struct repo_iter *it, repo_sink_fn sink, void *ctx,
		   struct buf *err)
{
	uint64_t total = 0;
	int rc;

	if (!it->at_entry || it->e.kind != MANIFEST_FILE)
		return repo_errf(err, -EINVAL, "repo_iter_read: the current"
				 " entry is not a file");
	if (it->read_done)
		return repo_errf(err, -EINVAL, "repo_iter_read: %s was"
				 " already read", it->e.path);
	it->read_done = 1;
	if (!it->chains && chain_cache_new(&it->chains) < 0)
		return repo_errf(err, -ENOMEM, "out of memory");
	if (it->e.nchunks > 1 && !it->pool && !it->sync) {
		rc = iter_pool_new(&it->pool, it->r, it->chains);
		if (rc < 0)
			return repo_errf(err, rc, "cannot start readers: %s",
					 strerror(-rc));
	}
	if (it->e.nchunks > 1 && !it->sync)
		rc = iter_pooled(it, sink, ctx, &total, err);
	else
		rc = iter_sync(it, sink, ctx, &total, err);
	if (rc == 0 && total != it->e.size)
		rc = repo_errf(err, -EBADMSG, "%s: %llu bytes in its chunks,"
			       " %llu expected", it->e.path,
			       (unsigned long long)total,
			       (unsigned long long)it->e.size);
	return rc;
}

int repo_iter_chunks(struct repo_iter *it, const struct manifest_chunk **c,
		     size_t *n, struct buf *err)
{
	struct manifest_chunk mc;
	int rc;

	*c = NULL;
	*n = 0;
	if (!it->at_entry)
		return repo_errf(err, -EINVAL, "repo_iter_chunks: no current"
				 " entry");
	if (it->read_done)
		return repo_errf(err, -EINVAL, "repo_iter_chunks: %s was"
				 " already read", it->e.path);
	it->read_done = 1;
	buf_reset(&it->chunks);
	while ((rc = reader_manifest_chunk(it->m, &mc, err)) == 1) {
		rc = buf_add(&it->chunks, &mc, sizeof(mc));
		if (rc < 0)
			return repo_errf(err, rc, "%s: %s", it->e.path,
					 strerror(-rc));
	}
	if (rc < 0)
		return rc;
	*c = (const struct manifest_chunk *)it->chunks.data;
	*n = it->chunks.len / sizeof(mc);
	return 0;
}

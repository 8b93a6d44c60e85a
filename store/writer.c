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
 *
 * The writer's files (writer-int.h lists them bottom up): writer-refs.c
 * (chunk lists), writer-pool.c (workers and slots), writer-manifest.c
 * (the manifest stream), writer-stream.c (windows and detached
 * streams), writer-entry.c (entries).  This file creates and frees the
 * writer and commits the snapshot.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "blob.h"
#include "chain.h"
#include "index.h"
#include "packer.h"
#include "repo-internal.h"
#include "snaprec.h"
#include "writer-int.h"

/* ---- lifecycle --------------------------------------------------- */

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

/* enum repo_compression -> blob_encode_level's lz4 effort. */
static int writer_lz4_level(enum repo_compression c)
{
	return c == REPO_COMPRESSION_MAX ? WRITER_LZ4_HC : BLOB_LZ4_FAST;
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
	w->lz4_level = writer_lz4_level(repo_compression(r));
	writer_init_bufs(w);
	/* for sizing; recounted by writer_pool_start */
	w->nth = writer_pool_ncpu();
	rc = writer_chunkers(w, err);
	if (rc == 0)
		rc = writer_buffers(w);
	if (rc == 0)
		rc = chain_cache_new(&w->chains);
	if (rc == 0)
		rc = index_refs_reset(r->ix, err);
	if (rc == 0) {
		w->mh = manifest_hash_new();
		rc = w->mh ? manifest_encode_header(&w->mout) : -ENOMEM;
	}
	w->nth = 0;
	if (rc == 0)
		rc = writer_pool_start(w);
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

void repo_writer_free(struct repo_writer *w)
{
	if (!w)
		return;
	writer_pool_stop(w);
	/* an unfinished pack is abandoned: its temporary file goes */
	packer_free(w->pk);
	for (size_t i = 0; i < w->nslots; i++) {
		buf_release(&w->slots[i].plain);
		buf_release(&w->slots[i].stored);
		free(w->slots[i].sub);
		writer_dx_free(w->slots[i].dx);
	}
	free(w->slots);
	chain_cache_free(w->chains);
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

struct repo *repo_writer_repo(struct repo_writer *w)
{
	return w->r;
}

void repo_writer_set_compression(struct repo_writer *w,
				 enum repo_compression c)
{
	/* before the first entry: no worker encodes yet */
	if (w)
		w->lz4_level = writer_lz4_level(c);
}

void repo_writer_set_progress(struct repo_writer *w,
			      repo_writer_progress_fn fn, void *arg)
{
	if (!w)
		return;
	w->progress = fn;
	w->progress_arg = arg;
}

void repo_writer_totals(struct repo_writer *w, struct repo_totals *t)
{
	pthread_mutex_lock(&w->mu);
	*t = w->tot;
	pthread_mutex_unlock(&w->mu);
}

/* ---- commit ------------------------------------------------------ */

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

/*
 * A COMMIT that failed in its last writes or its fsync may be on the
 * disk all the same (SQLite finds the commit record in the WAL at the
 * next open), and the snapshot it adds is complete: say so, naming it,
 * rather than let "failed" read as "certainly not there".
 */
static void writer_commit_unsure(struct buf *err, const uint8_t id[32])
{
	char hex[65];

	if (!err)
		return;
	hex_encode(hex, id, 32);
	buf_addf(err, "; snapshot %.8s may be listed all the same, complete,"
		 " if the disk kept the commit", hex);
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
	if (rc < 0) {
		index_rollback(w->r->ix);
		return rc;
	}
	rc = index_commit(w->r->ix, err);
	if (rc < 0)
		writer_commit_unsure(err, id);
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
	rc = writer_entry_usable(w, 0);
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
		rc = writer_pool_flush(w);
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

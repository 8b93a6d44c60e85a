/*
 * writer-stream: chunking windows and detached streams.
 *
 * A stream is the bytes of one file entry being cut into chunks: a
 * window holding them from the next cut on, and the growing chunk list.
 * The writer owns one for the entries of repo_writer_file_begin;
 * repo_stream_begin makes detached ones, which may be filled in any
 * order (several at once) and attached to an entry later
 * (repo_writer_file_stream, writer-entry.c), so a source that learns
 * something about early paths only after reading later ones can still
 * emit entries in sorted order.  An ended stream keeps at most
 * WRITER_STREAM_KEEP bytes of its chunk list in memory, so thousands of
 * parked streams cost little.  A stream may carry base candidates for
 * delta chunks (repo_stream_set_base, writer-delta.c).  A stream may
 * also continue a file of an earlier snapshot (repo_stream_begin_after):
 * its chunks but the last as they are, then the last one's bytes fed
 * again, so what is appended is chunked as a fresh read would chunk it.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "blob.h"
#include "chain.h"
#include "index.h"
#include "repo-internal.h"
#include "writer-int.h"

/* ---- the chunking window ----------------------------------------- */

/* Submits every chunk the window can decide on (all of it at eof). */
int writer_stream_cut(struct repo_writer *w, struct repo_stream *st, int eof)
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
size_t writer_stream_room(struct repo_stream *st)
{
	if (st->win.len == st->wcap && st->woff) {
		memmove(st->win.data, st->win.data + st->woff,
			st->win.len - st->woff);
		buf_setlen(&st->win, st->win.len - st->woff);
		st->woff = 0;
	}
	return st->wcap - st->win.len;
}

void writer_stream_count(struct repo_writer *w, struct repo_stream *st,
			 size_t n)
{
	pthread_mutex_lock(&w->mu);
	w->tot.bytes_read += n;
	pthread_mutex_unlock(&w->mu);
	st->size += n;
}

/* Copies p[0..n) into st's window, cutting as it fills. */
int writer_stream_feed(struct repo_writer *w, struct repo_stream *st,
		       const void *p, size_t n)
{
	const uint8_t *q = p;
	size_t take;
	int rc = 0;

	while (rc == 0 && n > 0) {
		take = writer_stream_room(st);
		if (!take)	/* the chunker must cut by max: a bug */
			return writer_fail(w, -EIO, NULL);
		if (take > n)
			take = n;
		memcpy(st->win.data + st->win.len, q, take);
		buf_setlen(&st->win, st->win.len + take);
		writer_stream_count(w, st, take);
		q += take;
		n -= take;
		rc = writer_stream_cut(w, st, 0);
	}
	return rc;
}

/* ---- detached streams -------------------------------------------- */

/* Stream calls need a live writer; the entry state does not matter. */
static int writer_stream_usable(struct repo_stream *st, int want_open)
{
	int rc = writer_live(st->w);

	if (rc < 0)
		return rc;
	if (want_open && st->ended)
		return writer_refuse(st->w, NULL, "the stream has ended");
	return 0;
}

int repo_stream_begin(struct repo_writer *w, enum repo_chunking how,
		      struct repo_stream **out)
{
	struct repo_stream *st;
	int rc = writer_live(w);

	*out = NULL;
	if (rc < 0)
		return rc;
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
	/* this chunking's max is all a window needs (see writer_stream_cut) */
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

	return rc < 0 ? rc : writer_stream_feed(st->w, st, p, n);
}

int repo_stream_end(struct repo_stream *st)
{
	struct repo_writer *w = st->w;
	int rc = writer_stream_usable(st, 1);

	if (rc == 0)
		rc = writer_stream_cut(w, st, 1);
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

int repo_stream_set_base(struct repo_stream *st, const struct repo_chunkref *c,
			 size_t n)
{
	struct writer_bases *b = NULL;
	int rc = writer_stream_usable(st, 1);

	if (rc == 0 && (st->size || st->cut))
		rc = writer_refuse(st->w, NULL, "base candidates come before"
				   " the stream's first byte");
	if (rc == 0 && n && !c)
		rc = writer_refuse(st->w, NULL, "no base candidates given");
	if (rc == 0 && n)
		rc = writer_bases_new(&b, c, n);
	if (rc == -ENOMEM)
		return writer_fail(st->w, rc, NULL);
	if (rc < 0)
		return rc;
	writer_bases_free(st->bases);
	st->bases = b;
	return 0;
}

/* Every chunk is a data chunk the repository holds (or is storing). */
int writer_stream_chunks_known(struct repo_writer *w, const char *path,
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

/* ---- continuing a stored file ------------------------------------ */

/* The plaintext of stored chunk c into plain, verified: 0, -ENOENT (not
 * in the repository), another -errno (damaged, unreadable). */
static int writer_stream_load(struct repo_writer *w,
			      const struct repo_chunkref *c, struct buf *plain)
{
	struct chain_link links[CHAIN_MAX_LINKS];
	struct buf stored = BUF_INIT, tmp = BUF_INIT;
	size_t nl = 0;
	int rc;

	pthread_mutex_lock(&w->mu);
	rc = chain_resolve(w->r->ix, c->id, NULL, links, &nl, NULL);
	pthread_mutex_unlock(&w->mu);
	if (rc == 0)
		rc = -ENOENT;
	if (rc > 0 && (links[0].loc.type != BLOB_DATA ||
		       links[0].loc.raw_len != c->len))
		rc = -EINVAL;
	if (rc > 0)
		rc = chain_load(w->r, w->chains, links, nl, 1, &stored, &tmp,
				plain, NULL);
	buf_release(&stored);
	buf_release(&tmp);
	return rc;
}

int writer_stream_prefix(struct repo_writer *w, struct repo_stream *st,
			 const struct repo_chunkref *c, size_t n)
{
	struct buf err = BUF_INIT;
	int rc = 0;

	pthread_mutex_lock(&w->mu);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		rc = index_ref_add(w->r->ix, c[i].id, &err);
		if (rc == 0)
			rc = writer_refs_add(w, &st->refs, c[i].id, c[i].len);
		if (rc == 0) {
			w->tot.chunks++;
			w->tot.bytes_read += c[i].len;
			w->tot.bytes_reused += c[i].len;
			st->size += c[i].len;
			st->cut += c[i].len;
		}
	}
	if (rc < 0)
		writer_fail_locked(w, rc, &err);
	pthread_mutex_unlock(&w->mu);
	buf_release(&err);
	return rc;
}

int repo_stream_begin_after(struct repo_writer *w, enum repo_chunking how,
			    const struct repo_chunkref *c, size_t n,
			    const void *drop, size_t ndrop,
			    struct repo_stream **out)
{
	struct repo_stream *st = NULL;
	struct buf plain = BUF_INIT;
	int rc = writer_live(w);

	*out = NULL;
	if (rc == 0 && (!n || !c || (ndrop && !drop)))
		rc = writer_refuse(w, NULL, "no stored chunks to continue");
	if (rc == 0)
		rc = writer_stream_chunks_known(w, "continued stream", c, n);
	if (rc == 0) {
		rc = writer_stream_load(w, &c[n - 1], &plain);
		/* a damaged earlier snapshot must not fail this one */
		if (rc < 0 && rc != -ENOMEM)
			rc = writer_refuse(w, NULL, "the last stored chunk"
					   " cannot be read");
	}
	if (rc == 0 && (plain.len < ndrop ||
			memcmp(plain.data + plain.len - ndrop, drop, ndrop)))
		rc = writer_refuse(w, NULL, "the last stored chunk does not"
				   " end with the bytes to drop");
	if (rc == 0)
		rc = repo_stream_begin(w, how, &st);
	/* the file's chunks are the candidates; offsets line up */
	if (rc == 0)
		rc = repo_stream_set_base(st, c, n);
	if (rc == 0)
		rc = writer_stream_prefix(w, st, c, n - 1);
	if (rc == 0)
		rc = writer_stream_feed(w, st, plain.data, plain.len - ndrop);
	buf_release(&plain);
	if (rc == -ENOMEM && st)
		writer_fail(w, rc, NULL);
	if (rc < 0 && st)
		repo_stream_free(st);
	if (rc == 0)
		*out = st;
	return rc;
}

/* Unlinks and frees a detached stream; its chunks must have drained. */
void writer_stream_destroy(struct repo_stream *st)
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
	writer_bases_free(st->bases);
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

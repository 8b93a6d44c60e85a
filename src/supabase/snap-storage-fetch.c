/*
 * snap-storage-fetch: what snap_storage_emit asks Storage for, once open
 * has built the entry list and matched it with the previous snapshot.
 *
 * First the user metadata, which Storage v1.22's listing does not carry:
 * one /object/info request for every object to download and for every
 * reused one whose last-modified time moved (its bytes are the same, its
 * metadata may not be), all through sb_storage_info_many, so they run
 * --jobs at a time like the downloads.  Objects whose listing carried
 * the user metadata (newer servers) need none.
 *
 * Then the bytes, through sb_storage_download_many: each object streams
 * into a detached stream of the writer (chunked and stored as it comes;
 * an ended stream keeps a few KiB), so nothing is written to storage/
 * until every outcome is known: folders left empty by objects that
 * could not be read are not written, and the drift report, which sorts
 * among the first entries, is complete.
 *
 * An object deleted since the listing is no part of the project
 * (missing -1).  One that keeps failing is left out and reported through
 * left_out (allow_partial), or stops everything: s->failed names it and
 * s->err says why.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "repo.h"
#include "sb-storage.h"
#include "snap-storage-int.h"

static void snap_storage_fetch_progress(struct snap_storage *s, int force)
{
	if (s->o.progress)
		s->o.progress(s->o.ctx, &s->stats, force);
}

/* The reason of an object's failure into s->err: its message, or one
 * naming the object. */
static void snap_storage_fetch_why(struct snap_storage *s,
				   const struct snap_storage_ent *e, int rc,
				   const struct buf *why)
{
	buf_reset(&s->err);
	if (why && why->len) {
		buf_add(&s->err, why->data, why->len);
		return;
	}
	buf_addstr(&s->err, "object '");
	sb_http_quote_name(&s->err, e->bucket, strlen(e->bucket));
	buf_addch(&s->err, '/');
	sb_http_quote_name(&s->err, e->name, e->name_len);
	buf_addf(&s->err, "': %s", strerror(-rc));
}

/*
 * Object k failed with rc (why may say how).  Deleted since the listing:
 * no part of the project.  Otherwise left out (allow_partial) or the
 * end of the snapshot.  0 to go on, or rc.
 */
static int snap_storage_fetch_failed(struct snap_storage *s, size_t k, int rc,
				     const struct buf *why)
{
	struct snap_storage_ent *e = &s->ents[k];

	e->prev = NULL;
	if (rc == -ENOENT) {
		e->missing = -1;
		s->stats.deleted++;
		return 0;
	}
	snap_storage_fetch_why(s, e, rc, why);
	if (!s->o.allow_partial) {
		s->failed = k;
		return rc;
	}
	e->missing = 1;
	s->stats.missing++;
	free(e->why);
	e->why = strdup((const char *)s->err.data);
	if (s->o.left_out)
		s->o.left_out(s->o.ctx, e->bucket, e->name, e->name_len,
			      (const char *)s->err.data);
	buf_reset(&s->err);
	return 0;
}

/* The objects `want` picks, in manifest order, into refs (and their
 * entry indexes into s->idx); how many. */
static size_t snap_storage_fetch_pick(struct snap_storage *s,
				      struct sb_storage_ref *refs,
				      int (*want)(const struct snap_storage_ent *))
{
	size_t n = 0;

	for (size_t k = 0; k < s->nents; k++) {
		const struct snap_storage_ent *e = &s->ents[k];

		if (e->kind != SS_OBJECT || e->missing || !want(e))
			continue;
		refs[n].bucket = e->bucket;
		refs[n].name = e->name;
		s->idx[n++] = k;
	}
	return n;
}

/* ---- the user metadata -------------------------------------------------------- */

/* Not in the listing, and not reused as it was. */
static int snap_storage_fetch_wants_info(const struct snap_storage_ent *e)
{
	return !e->have_md && (!e->prev || e->refresh);
}

static int snap_storage_fetch_info_cb(void *ctx, size_t i, int rc,
				      const struct sb_storage_objinfo *info,
				      const struct buf *err)
{
	struct snap_storage *s = ctx;
	size_t k = s->idx[i];
	struct snap_storage_ent *e = &s->ents[k];

	s->stats.inspected++;
	snap_storage_fetch_progress(s, 0);
	if (rc < 0)
		return snap_storage_fetch_failed(s, k, rc, err);
	free(e->metadata);
	e->metadata = NULL;
	if (info->metadata_json && strcmp(info->metadata_json, "null") &&
	    !(e->metadata = strdup(info->metadata_json)))
		return -ENOMEM;
	e->have_md = 1;
	/* new bytes since the listing: download them after all */
	if (e->prev && (!info->etag || !e->etag || strcmp(info->etag, e->etag) ||
			info->size != e->size)) {
		e->prev = NULL;
		e->refresh = 0;
	}
	return 0;
}

static int snap_storage_fetch_info(struct snap_storage *s,
				   struct sb_storage_ref *refs,
				   struct buf *err)
{
	size_t n = snap_storage_fetch_pick(s, refs, snap_storage_fetch_wants_info);

	s->stats.to_inspect = n;
	snap_storage_fetch_progress(s, 1);
	return sb_storage_info_many(s->st, refs, n, s->o.jobs,
				    snap_storage_fetch_info_cb, s, err);
}

/* ---- the bytes ------------------------------------------------------------------- */

static int snap_storage_fetch_begin(void *ctx, size_t i,
				    const struct sb_http_resp *r)
{
	struct snap_storage *s = ctx;
	int rc;

	(void)i;
	sb_http_resp_release(&s->head);
	memset(&s->head, 0, sizeof(s->head));
	buf_init(&s->head.body, 0);
	s->head.etag = snap_storage_strdup(r->etag);
	s->head.content_type = snap_storage_strdup(r->content_type);
	s->head.cache_control = snap_storage_strdup(r->cache_control);
	if ((r->etag && !s->head.etag) ||
	    (r->content_type && !s->head.content_type) ||
	    (r->cache_control && !s->head.cache_control))
		return -ENOMEM;
	rc = repo_stream_begin(s->w, REPO_CHUNK_GENERAL, &s->stream);
	if (rc < 0) {
		buf_reset(&s->err);
		buf_addstr(&s->err, repo_writer_error(s->w));
	}
	return rc;
}

static int snap_storage_fetch_data(void *ctx, size_t i, const void *p,
				   size_t n)
{
	struct snap_storage *s = ctx;
	int rc;

	(void)i;
	rc = repo_stream_write(s->stream, p, n);
	if (rc < 0) {
		buf_reset(&s->err);
		buf_addstr(&s->err, repo_writer_error(s->w));
	}
	s->stats.bytes += n;
	snap_storage_fetch_progress(s, 0);
	return rc;
}

/* Takes *from over into *to when the download said something. */
static void snap_storage_fetch_take(char **to, char **from)
{
	if (*from) {
		free(*to);
		*to = *from;
		*from = NULL;
	}
}

static int snap_storage_fetch_end(void *ctx, size_t i, int rc,
				  const struct buf *err)
{
	struct snap_storage *s = ctx;
	size_t k = s->idx[i];
	struct snap_storage_ent *e = &s->ents[k];
	struct repo_stream *st = s->stream;
	struct buf why = BUF_INIT;
	int r;

	s->stream = NULL;
	if (rc == 0 && !st)
		rc = -EPROTO;
	if (rc == 0 && repo_stream_size(st) != e->size &&
	    !(s->head.etag && e->etag && strcmp(s->head.etag, e->etag))) {
		/* same version as listed but another size: truncated */
		rc = -EPROTO;
		buf_addstr(&why, "object '");
		sb_http_quote_name(&why, e->bucket, strlen(e->bucket));
		buf_addch(&why, '/');
		sb_http_quote_name(&why, e->name, e->name_len);
		buf_addf(&why, "': %llu bytes downloaded, %llu listed",
			 (unsigned long long)repo_stream_size(st),
			 (unsigned long long)e->size);
		err = &why;
	}
	if (rc == 0) {
		r = repo_stream_end(st);
		if (r < 0) {
			buf_reset(&s->err);
			buf_addstr(&s->err, repo_writer_error(s->w));
			repo_stream_free(st);
			return r;
		}
		/* what was downloaded is what is described */
		e->stream = st;
		e->size = repo_stream_size(st);
		snap_storage_fetch_take(&e->etag, &s->head.etag);
		snap_storage_fetch_take(&e->mimetype, &s->head.content_type);
		snap_storage_fetch_take(&e->cache, &s->head.cache_control);
		s->stats.downloaded++;
		snap_storage_fetch_progress(s, 0);
		return 0;
	}
	repo_stream_free(st);
	r = snap_storage_fetch_failed(s, k, rc, err);
	buf_release(&why);
	return r;
}

/* Not reused. */
static int snap_storage_fetch_wants_bytes(const struct snap_storage_ent *e)
{
	return !e->prev;
}

static int snap_storage_fetch_bytes(struct snap_storage *s,
				    struct sb_storage_ref *refs,
				    struct buf *err)
{
	struct sb_storage_sink sink = {
		snap_storage_fetch_begin, snap_storage_fetch_data,
		snap_storage_fetch_end, s
	};
	size_t n = snap_storage_fetch_pick(s, refs, snap_storage_fetch_wants_bytes);

	s->stats.to_download = n;
	snap_storage_fetch_progress(s, 1);
	return sb_storage_download_many(s->st, refs, n, s->o.jobs, 0, &sink,
					err);
}

int snap_storage_fetch(struct snap_storage *s, struct buf *err)
{
	struct sb_storage_ref *refs;
	int rc;

	free(s->idx);
	s->idx = calloc(s->nents + 1, sizeof(*s->idx));
	refs = calloc(s->nents + 1, sizeof(*refs));
	if (!s->idx || !refs) {
		free(refs);
		return -ENOMEM;
	}
	rc = snap_storage_fetch_info(s, refs, err);
	if (rc == 0)
		rc = snap_storage_fetch_bytes(s, refs, err);
	if (rc < 0 && s->err.len) {
		/* the object's or the writer's reason comes first */
		buf_reset(err);
		buf_add(err, s->err.data, s->err.len);
	}
	repo_stream_free(s->stream);
	s->stream = NULL;
	free(refs);
	return rc;
}

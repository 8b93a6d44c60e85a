/*
 * snap-storage-emit: writing storage/ (see snap-storage.h), once open
 * has built the sorted entry list and matched it with the previous
 * snapshot.
 *
 * First the user metadata of the changed objects (one /object/info
 * request each: the listing does not carry it), then
 * sb_storage_download_many over the changed objects in manifest order.
 * Each download streams into a detached stream; when it ends, every
 * entry up to it (folders, reused objects, bucket configurations) is
 * emitted and then it, so the writer sees strictly increasing paths
 * while transfers overlap.  A failed object either stops everything
 * (nothing committed) or, with allow_partial, is dropped and reported
 * through left_out.  Separate from the listing because this half talks
 * to the repository writer and the download sink.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "repo.h"
#include "sb-storage.h"
#include "snap-storage-int.h"

static void snap_storage_emit_progress(struct snap_storage *s, int force)
{
	if (s->o.progress)
		s->o.progress(s->o.ctx, &s->stats, force);
}

static int snap_storage_emit_attrs(struct snap_storage *s,
				   const struct snap_storage_ent *e)
{
	char size[32];
	int r;

	snprintf(size, sizeof(size), "%llu", (unsigned long long)e->size);
	r = repo_writer_file_attr(s->w, SNAP_STORAGE_ATTR_BUCKET, e->bucket);
	if (r == 0)
		r = repo_writer_file_attr(s->w, SNAP_STORAGE_ATTR_NAME, e->name);
	if (r == 0)
		r = repo_writer_file_attr(s->w, SNAP_STORAGE_ATTR_SIZE, size);
	if (r == 0 && e->mimetype)
		r = repo_writer_file_attr(s->w, SNAP_STORAGE_ATTR_TYPE, e->mimetype);
	if (r == 0 && e->cache)
		r = repo_writer_file_attr(s->w, SNAP_STORAGE_ATTR_CACHE, e->cache);
	if (r == 0 && e->etag)
		r = repo_writer_file_attr(s->w, SNAP_STORAGE_ATTR_ETAG, e->etag);
	if (r == 0 && e->modified)
		r = repo_writer_file_attr(s->w, SNAP_STORAGE_ATTR_MODIFIED,
					  e->modified);
	if (r == 0 && e->metadata)
		r = repo_writer_file_attr(s->w, SNAP_STORAGE_ATTR_METADATA,
					  e->metadata);
	return r;
}

/* Emits entries [s->next, upto) that need no download (downloaded ones
 * in that range have failed: partial). */
static int snap_storage_emit_until(struct snap_storage *s, size_t upto)
{
	struct repo_entry_meta m;
	int r = 0;

	m.mtime_ns = s->mtime_ns;
	for (; s->next < upto && r == 0; s->next++) {
		struct snap_storage_ent *e = &s->ents[s->next];

		switch (e->kind) {
		case SS_DIR:
			m.mode = 0755;
			r = repo_writer_dir(s->w, e->path, &m);
			break;
		case SS_BUCKET_JSON:
			m.mode = 0644;
			r = repo_writer_file_begin(s->w, e->path, &m,
						   REPO_CHUNK_GENERAL);
			if (r == 0)
				r = repo_writer_file_write(s->w, e->json,
							   strlen(e->json));
			if (r == 0)
				r = repo_writer_file_end(s->w);
			break;
		case SS_OBJECT:
			if (!e->prev)
				break;	/* missing (partial) */
			m.mode = 0644;
			if (!e->metadata && e->prev->metadata &&
			    !(e->metadata = strdup(e->prev->metadata)))
				return -ENOMEM;
			r = repo_writer_file_chunks(s->w, e->path, &m,
						    e->prev->chunks,
						    e->prev->nchunks);
			if (r == 0)
				r = snap_storage_emit_attrs(s, e);
			if (r == 0)
				r = repo_writer_file_end(s->w);
			if (r == 0) {
				s->stats.reused++;
				s->stats.reused_bytes += e->size;
			}
			break;
		}
	}
	if (r < 0) {
		buf_reset(&s->err);
		buf_addf(&s->err, "%s", repo_writer_error(s->w));
	}
	return r;
}

static int snap_storage_emit_begin(void *ctx, size_t i,
				   const struct sb_http_resp *r)
{
	struct snap_storage *s = ctx;
	int rc;

	(void)i;
	repo_stream_free(s->stream);
	s->stream = NULL;
	sb_http_resp_release(&s->head);
	memset(&s->head, 0, sizeof(s->head));
	buf_init(&s->head.body, 0);
	s->head.etag = snap_storage_strdup(r->etag);
	s->head.content_type = snap_storage_strdup(r->content_type);
	s->head.cache_control = snap_storage_strdup(r->cache_control);
	s->head.last_modified = snap_storage_strdup(r->last_modified);
	rc = repo_stream_begin(s->w, REPO_CHUNK_GENERAL, &s->stream);
	if (rc < 0) {
		buf_reset(&s->err);
		buf_addstr(&s->err, repo_writer_error(s->w));
	}
	return rc;
}

static int snap_storage_emit_data(void *ctx, size_t i, const void *p,
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
	snap_storage_emit_progress(s, 0);
	return rc;
}

static void snap_storage_emit_left_out(struct snap_storage *s,
				       struct snap_storage_ent *e,
				       const struct buf *err)
{
	e->missing = 1;
	s->stats.missing++;
	if (s->o.left_out)
		s->o.left_out(s->o.ctx, e->bucket, e->name, e->name_len,
			      err && err->len ? (const char *)err->data
			      : NULL);
}

static int snap_storage_emit_end(void *ctx, size_t i, int rc,
				 const struct buf *err)
{
	struct snap_storage *s = ctx;
	struct snap_storage_ent *e = &s->ents[s->dl[i]];
	struct repo_entry_meta m;
	struct repo_stream *st = s->stream;
	int r;

	s->stream = NULL;
	if (rc == 0 && st && repo_stream_size(st) != e->size &&
	    !(s->head.etag && e->etag && strcmp(s->head.etag, e->etag))) {
		/* same version as listed but another size: truncated */
		rc = -EPROTO;
	}
	if (rc < 0) {
		repo_stream_free(st);
		if (!s->o.allow_partial) {
			buf_reset(&s->err);
			if (err && err->len)
				buf_add(&s->err, err->data, err->len);
			else
				buf_addf(&s->err, "%s/%s: %s", e->bucket,
					 e->name, strerror(-rc));
			return rc;
		}
		snap_storage_emit_left_out(s, e, err);
		return 0;
	}
	if (!st)
		return -EPROTO;
	r = repo_stream_end(st);
	if (r == 0)
		r = snap_storage_emit_until(s, s->dl[i]);
	if (r < 0) {
		repo_stream_free(st);
		return r;
	}
	/* what was downloaded is what is described */
	e->size = repo_stream_size(st);
	if (s->head.etag) {
		free(e->etag);
		e->etag = s->head.etag;
		s->head.etag = NULL;
	}
	if (s->head.content_type) {
		free(e->mimetype);
		e->mimetype = s->head.content_type;
		s->head.content_type = NULL;
	}
	if (s->head.cache_control) {
		free(e->cache);
		e->cache = s->head.cache_control;
		s->head.cache_control = NULL;
	}
	m.mode = 0644;
	m.mtime_ns = s->mtime_ns;
	r = repo_writer_file_stream(s->w, e->path, &m, st);
	if (r == 0)
		r = snap_storage_emit_attrs(s, e);
	if (r == 0)
		r = repo_writer_file_end(s->w);
	if (r < 0) {
		buf_reset(&s->err);
		buf_addstr(&s->err, repo_writer_error(s->w));
		return r;
	}
	s->next = s->dl[i] + 1;
	s->stats.downloaded++;
	snap_storage_emit_progress(s, 0);
	return 0;
}

/*
 * The user metadata of every object to download (the listing has none),
 * and the download list: refs and s->dl.  An object deleted since the
 * listing is no part of the project; one whose info keeps failing is
 * left out (allow_partial) or fails everything (err says why; empty
 * after -ENOMEM: out of memory).  err is not reset between objects, so
 * it may still hold an earlier object's reason.
 */
static int snap_storage_emit_plan(struct snap_storage *s,
				  struct sb_storage_ref *refs, struct buf *err)
{
	for (size_t i = 0; i < s->nents; i++) {
		struct snap_storage_ent *e = &s->ents[i];
		struct sb_storage_objinfo info;
		int rc;

		if (e->kind != SS_OBJECT || e->prev)
			continue;
		memset(&info, 0, sizeof(info));
		rc = sb_storage_info(s->st, e->bucket, e->name, &info, err);
		if (rc == -ENOENT) {
			/* deleted since the listing: not part of the project */
			e->missing = -1;
			continue;
		}
		if (rc < 0) {
			if (!s->o.allow_partial) {
				if (!err->len)
					buf_addstr(err, strerror(-rc));
				return rc;
			}
			snap_storage_emit_left_out(s, e, err);
			continue;
		}
		if (info.metadata_json && strcmp(info.metadata_json, "null") &&
		    !(e->metadata = strdup(info.metadata_json)))
			rc = -ENOMEM;
		sb_storage_objinfo_release(&info);
		if (rc < 0) {
			buf_reset(err);
			return rc;
		}
		refs[s->stats.to_download].bucket = e->bucket;
		refs[s->stats.to_download].name = e->name;
		s->dl[s->stats.to_download++] = i;
	}
	return 0;
}

int snap_storage_emit(struct snap_storage *s, struct repo_writer *w,
		      int64_t mtime_ns, struct buf *err)
{
	struct sb_storage_ref *refs = NULL;
	struct sb_storage_sink sink = {
		snap_storage_emit_begin, snap_storage_emit_data,
		snap_storage_emit_end, s
	};
	int rc;

	buf_reset(err);
	s->w = w;
	s->mtime_ns = mtime_ns;
	s->next = 0;
	s->dl = calloc(s->nents + 1, sizeof(*s->dl));
	refs = calloc(s->nents + 1, sizeof(*refs));
	if (!s->dl || !refs) {
		free(refs);
		return -ENOMEM;
	}
	rc = snap_storage_emit_plan(s, refs, err);
	if (rc < 0) {
		free(refs);
		return rc;
	}
	snap_storage_emit_progress(s, 1);
	if (s->stats.to_download)
		rc = sb_storage_download_many(s->st, refs, s->stats.to_download,
					      s->o.jobs, 0, &sink, err);
	if (rc == 0)
		rc = snap_storage_emit_until(s, s->nents);
	if (rc < 0 && s->err.len) {
		/* a sink callback's reason comes first */
		buf_reset(err);
		buf_add(err, s->err.data, s->err.len);
	} else if (rc < 0 && !err->len) {
		buf_addstr(err, strerror(-rc));
	}
	free(refs);
	return rc;
}

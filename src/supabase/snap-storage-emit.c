/*
 * snap-storage-emit: snap_storage_emit (see snap-storage.h), once open
 * has built the sorted entry list and matched it with the previous
 * snapshot: the fetch (snap-storage-fetch.c: user metadata, then the
 * downloads into detached streams), the drift against the database's
 * storage.objects (snap-storage-drift.c), then storage/ written in
 * manifest order, as the writer requires: each downloaded object
 * attaches its stream, each unchanged one reuses the previous chunks,
 * and a folder none of whose objects could be read is not written at
 * all.  Separate from the listing because this half talks to the
 * repository writer.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "repo.h"
#include "snap-storage-int.h"

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
	if (r == 0 && e->drift)
		r = repo_writer_file_attr(s->w, SNAP_STORAGE_ATTR_DRIFT, e->drift);
	return r;
}

/* An object that goes into the snapshot. */
static int snap_storage_emit_present(const struct snap_storage_ent *e)
{
	return !e->missing && (e->stream || e->prev);
}

/* Whether folder k holds anything that is written: its subtree is the
 * entries right after it (manifest order sorts '/' first). */
static int snap_storage_emit_kept(const struct snap_storage *s, size_t k)
{
	const struct snap_storage_ent *d = &s->ents[k];

	for (size_t j = k + 1; j < s->nents; j++) {
		const struct snap_storage_ent *e = &s->ents[j];

		if (e->path_len <= d->path_len ||
		    memcmp(e->path, d->path, d->path_len) ||
		    e->path[d->path_len] != '/')
			return 0;
		if (e->kind == SS_DIR)
			continue;
		if (e->kind != SS_OBJECT || snap_storage_emit_present(e))
			return 1;
	}
	return 0;
}

static int snap_storage_emit_text(struct snap_storage *s,
				  const struct snap_storage_ent *e,
				  const struct repo_entry_meta *m)
{
	int r = repo_writer_file_begin(s->w, e->path, m, REPO_CHUNK_GENERAL);

	if (r == 0)
		r = repo_writer_file_write(s->w, e->json, strlen(e->json));
	if (r == 0)
		r = repo_writer_file_end(s->w);
	return r;
}

static int snap_storage_emit_object(struct snap_storage *s,
				    struct snap_storage_ent *e,
				    const struct repo_entry_meta *m)
{
	struct repo_stream *st = e->stream;
	int r;

	if (st) {
		/* consumed whatever it returns */
		e->stream = NULL;
		r = repo_writer_file_stream(s->w, e->path, m, st);
	} else {
		if (!e->have_md && e->prev->metadata &&
		    !(e->metadata = strdup(e->prev->metadata)))
			return -ENOMEM;
		r = repo_writer_file_chunks(s->w, e->path, m, e->prev->chunks,
					    e->prev->nchunks);
	}
	if (r == 0)
		r = snap_storage_emit_attrs(s, e);
	if (r == 0)
		r = repo_writer_file_end(s->w);
	if (r == 0 && !st) {
		s->stats.reused++;
		s->stats.reused_bytes += e->size;
	}
	return r;
}

/* Every entry in order. */
static int snap_storage_emit_all(struct snap_storage *s)
{
	struct repo_entry_meta m;
	int r = 0;

	m.mtime_ns = s->mtime_ns;
	for (size_t k = 0; k < s->nents && r == 0; k++) {
		struct snap_storage_ent *e = &s->ents[k];

		switch (e->kind) {
		case SS_DIR:
			m.mode = 0755;
			/* storage/ itself even with no bucket */
			if (k == 0 || snap_storage_emit_kept(s, k))
				r = repo_writer_dir(s->w, e->path, &m);
			break;
		case SS_BUCKET_JSON:
		case SS_DRIFT:
			m.mode = 0644;
			r = snap_storage_emit_text(s, e, &m);
			break;
		case SS_OBJECT:
			m.mode = 0644;
			if (snap_storage_emit_present(e))
				r = snap_storage_emit_object(s, e, &m);
			break;
		}
	}
	if (r < 0 && r != -ENOMEM) {
		buf_reset(&s->err);
		buf_addstr(&s->err, repo_writer_error(s->w));
	}
	return r;
}

int snap_storage_emit(struct snap_storage *s, struct repo_writer *w,
		      int64_t mtime_ns, struct buf *err)
{
	int rc;

	buf_reset(err);
	buf_reset(&s->err);
	s->w = w;
	s->mtime_ns = mtime_ns;
	rc = snap_storage_fetch(s, err);
	if (rc == 0)
		rc = snap_storage_drift_judge(s);
	if (rc == 0)
		rc = snap_storage_emit_all(s);
	if (rc < 0 && s->err.len) {
		/* the object's or the writer's reason comes first */
		buf_reset(err);
		buf_add(err, s->err.data, s->err.len);
	} else if (rc < 0 && !err->len && rc != -ENOMEM) {
		buf_addstr(err, strerror(-rc));
	}
	/* streams not attached (a failure) go while the writer lives */
	for (size_t k = 0; k < s->nents; k++) {
		repo_stream_free(s->ents[k].stream);
		s->ents[k].stream = NULL;
	}
	return rc;
}

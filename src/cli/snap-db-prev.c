/*
 * snap-db-prev: base candidates from the previous snapshot of the same
 * database (see snap-db-prev.h).  Found the way the Storage capture
 * finds its previous snapshot (src/supabase/snap-storage-prev.c): the
 * newest record whose meta_json names the same source.  Its manifest is
 * walked forward alongside the capture, which begins its streams in path
 * order, so memory holds one table's chunk list at a time.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "manifest.h"
#include "snap-db-prev.h"

struct snap_db_prev {
	struct repo_view *v;
	struct repo_iter *it;
	char id[65];
	const struct manifest_entry *e;	/* where the walk stands, or NULL */
	int done;			/* the manifest ended */
	struct buf last;		/* the path asked for last */
	struct repo_chunkref *c;
	size_t cap;
};

struct snap_db_prev_find {
	const char *source, *database;
	char id[65];
	int found;
};

static int snap_db_prev_find_cb(const struct repo_snapinfo *si, void *ctx)
{
	struct snap_db_prev_find *f = ctx;
	struct json *j = NULL;
	const struct json *db;
	const char *s, *d;

	if (!si->meta_json ||
	    json_parse(&j, si->meta_json, strlen(si->meta_json), NULL) < 0)
		return 0;
	db = json_get(j, "db");
	s = json_get_str(db, "source");
	d = json_get_str(db, "database");
	if (s && d && !strcmp(s, f->source) && !strcmp(d, f->database)) {
		/* oldest first: the last match is the newest */
		memcpy(f->id, si->id, sizeof(f->id));
		f->found = 1;
	}
	json_free(j);
	return 0;
}

/* (Re)starts the walk at the manifest's first entry. */
static int snap_db_prev_start(struct snap_db_prev *p, struct buf *err)
{
	repo_iter_free(p->it);
	p->it = NULL;
	p->e = NULL;
	p->done = 0;
	return repo_view_iter(p->v, p->id, &p->it, err);
}

int snap_db_prev_open(struct snap_db_prev **out, struct repo *r,
		      const char *source, const char *database,
		      struct buf *err)
{
	struct snap_db_prev_find f = { source, database, "", 0 };
	struct snap_db_prev *p;
	int rc;

	*out = NULL;
	if (!source || !database)
		return 0;
	rc = repo_snapshot_list(r, NULL, snap_db_prev_find_cb, &f, err);
	if (rc < 0 || !f.found)
		return rc < 0 ? rc : 0;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	buf_init(&p->last, 0);
	memcpy(p->id, f.id, sizeof(p->id));
	rc = repo_view_open(r, &p->v, err);
	if (rc == 0)
		rc = snap_db_prev_start(p, err);
	if (rc < 0) {
		snap_db_prev_free(p);
		return rc;
	}
	*out = p;
	return 0;
}

/* Walks to the file entry `path`: 1 there, 0 when the snapshot has no
 * such file, -errno. */
static int snap_db_prev_seek(struct snap_db_prev *p, const char *path,
			     struct buf *err)
{
	size_t len = strlen(path);
	int cmp = 1, rc;

	if (p->last.len && manifest_path_cmp((char *)p->last.data,
					     p->last.len, path, len) >= 0) {
		rc = snap_db_prev_start(p, err);	/* not a later path */
		if (rc < 0)
			return rc;
	}
	buf_reset(&p->last);
	rc = buf_add(&p->last, path, len);
	if (rc < 0)
		return rc;
	while (!p->done) {
		if (p->e) {
			cmp = manifest_path_cmp(p->e->path, p->e->path_len,
						path, len);
			if (cmp >= 0)
				break;
		}
		rc = repo_iter_next(p->it, &p->e, err);
		if (rc < 0)
			return rc;
		p->done = rc == 0;
	}
	return !p->done && cmp == 0 && p->e->kind == MANIFEST_FILE;
}

int snap_db_prev_chunks(struct snap_db_prev *p, const char *path,
			const struct repo_chunkref **c, size_t *n,
			struct buf *err)
{
	const struct manifest_chunk *mc;
	size_t nc;
	int rc;

	*c = NULL;
	*n = 0;
	rc = snap_db_prev_seek(p, path, err);
	if (rc <= 0)
		return rc;
	rc = repo_iter_chunks(p->it, &mc, &nc, err);
	if (rc < 0)
		return rc;
	if (nc > p->cap) {
		struct repo_chunkref *q = realloc(p->c, nc * sizeof(*q));

		if (!q)
			return -ENOMEM;
		p->c = q;
		p->cap = nc;
	}
	for (size_t i = 0; i < nc; i++) {
		memcpy(p->c[i].id, mc[i].id, sizeof(p->c[i].id));
		p->c[i].len = mc[i].len;
	}
	/* this entry's chunks are read: the next path is a later one */
	p->e = NULL;
	*c = p->c;
	*n = nc;
	return 0;
}

static int snap_db_prev_add(void *ctx, const void *q, size_t n)
{
	return buf_add(ctx, q, n);
}

int snap_db_prev_read(struct snap_db_prev *p, const char *path,
		      struct buf *out, struct buf *err)
{
	int rc = snap_db_prev_seek(p, path, err);

	if (rc <= 0)
		return rc;
	rc = repo_iter_read(p->it, snap_db_prev_add, out, err);
	p->e = NULL;	/* read: the next path is a later one */
	return rc < 0 ? rc : 1;
}

const char *snap_db_prev_id(const struct snap_db_prev *p)
{
	return p->id;
}

void snap_db_prev_free(struct snap_db_prev *p)
{
	if (!p)
		return;
	repo_iter_free(p->it);
	repo_view_free(p->v);
	buf_release(&p->last);
	free(p->c);
	free(p);
}

/*
 * storage-safety: the safety snapshot of a Storage restore
 * (storage-safety.h).  It is its own step, between planning and
 * executing, because it is the only part that writes to the repository:
 * the objects the plan overwrites or deletes are downloaded one by one
 * into a snapshot laid out as a capture would (storage/<bucket>/<name>,
 * with its directories and the storage.* attributes of what the server
 * holds now), so a rollback restores it with the same code as any
 * snapshot.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "manifest.h"
#include "repo.h"
#include "sb-env.h"
#include "snap-storage.h"
#include "storage-plan-int.h"
#include "storage-safety.h"

/* One entry of the safety snapshot: an object, or a directory. */
struct storage_safety_ent {
	char *path;
	const char *bucket, *name, *etag;
	int dir;
};

static int storage_safety_ent_cmp(const void *a, const void *b)
{
	const struct storage_safety_ent *x = a, *y = b;

	return manifest_path_cmp(x->path, strlen(x->path), y->path,
				 strlen(y->path));
}

/* A download streamed into the writer as one file. */
struct storage_safety_dl {
	struct repo_writer *w;
	const char *path;
	int64_t mtime_ns;
	int begun;
};

static int storage_safety_dl_begin(void *ctx, size_t i,
				   const struct sb_http_resp *r)
{
	struct storage_safety_dl *d = ctx;
	struct repo_entry_meta em = { 0644, d->mtime_ns };

	if (d->begun)
		return -EIO;	/* a restarted body cannot be taken twice */
	d->begun = 1;
	return repo_writer_file_begin(d->w, d->path, &em, REPO_CHUNK_GENERAL);
}

static int storage_safety_dl_data(void *ctx, size_t i, const void *p, size_t n)
{
	struct storage_safety_dl *d = ctx;

	return repo_writer_file_write(d->w, p, n);
}

/* Adds the entry (and its directories) for one remote object. */
static int storage_safety_add(struct storage_plan_vec *ents,
			      struct storage_plan_vec *dirs,
			      const char *bucket, const char *name,
			      const char *etag)
{
	struct buf p = BUF_INIT;
	struct storage_safety_ent *e;
	int r = buf_addstr(&p, SNAP_STORAGE_ROOT "/");

	if (r == 0)
		r = snap_storage_encode_bucket(&p, bucket);
	if (r == 0)
		r = buf_addch(&p, '/');
	if (r == 0)
		r = snap_storage_encode_name(&p, name, strlen(name));
	if (r < 0)
		goto out;
	/* every '/'-prefix is a directory */
	for (size_t i = 0; i < p.len; i++) {
		struct storage_safety_ent *dd;

		if (((char *)p.data)[i] != '/')
			continue;
		if (!(dd = storage_plan_push(dirs, sizeof(*dd))) ||
		    !(dd->path = strndup((const char *)p.data, i))) {
			r = -ENOMEM;
			goto out;
		}
		dd->dir = 1;
	}
	if (!(e = storage_plan_push(ents, sizeof(*e))) ||
	    !(e->path = buf_detach(&p, NULL))) {
		r = -ENOMEM;
		goto out;
	}
	e->bucket = bucket;
	e->name = name;
	e->etag = etag;
out:
	buf_release(&p);
	return r;
}

/* The entries of every object overwritten or deleted, then the
 * directories above them (sorted, unique; an object that is also a
 * folder gets "%~" as in the capture), all in manifest order. */
static int storage_safety_entries(struct storage_plan *p,
				  struct storage_plan_vec *ents,
				  struct storage_plan_vec *dirs)
{
	struct storage_plan_obj *o = p->obj.v;
	struct storage_plan_remote *m = p->rem.v, *rm;
	struct storage_safety_ent *ev, *dv;
	size_t *d = p->del.v, nd = 0;
	int r = 0;

	for (size_t i = 0; i < p->obj.n && r == 0; i++) {
		if (o[i].act != STORAGE_PLAN_OVERWRITE)
			continue;
		rm = storage_plan_remote_find(p, o[i].bucket, o[i].name);
		r = storage_safety_add(ents, dirs, rm->bucket, rm->name, rm->etag);
	}
	for (size_t i = 0; i < p->del.n && r == 0; i++)
		r = storage_safety_add(ents, dirs, m[d[i]].bucket, m[d[i]].name,
				       m[d[i]].etag);
	if (r < 0 || !ents->n)
		return r;
	dv = dirs->v;
	qsort(dv, dirs->n, sizeof(*dv), storage_safety_ent_cmp);
	for (size_t i = 0; i < dirs->n; i++) {
		if (nd && !strcmp(dv[nd - 1].path, dv[i].path)) {
			free(dv[i].path);
			continue;
		}
		dv[nd++] = dv[i];
	}
	dirs->n = nd;
	ev = ents->v;
	for (size_t i = 0; i < ents->n; i++) {
		struct storage_safety_ent key = { .path = ev[i].path };

		if (nd && bsearch(&key, dv, nd, sizeof(key),
				  storage_safety_ent_cmp)) {
			char *np = malloc(strlen(ev[i].path) + 3);

			if (!np)
				return -ENOMEM;
			snprintf(np, strlen(ev[i].path) + 3, "%s%%~", ev[i].path);
			free(ev[i].path);
			ev[i].path = np;
		}
	}
	for (size_t i = 0; i < dirs->n; i++) {
		struct storage_safety_ent *x = storage_plan_push(ents, sizeof(*x));

		if (!x)
			return -ENOMEM;
		*x = dv[i];
		dv[i].path = NULL;
	}
	dirs->n = 0;
	qsort(ents->v, ents->n, sizeof(*ev), storage_safety_ent_cmp);
	return 0;
}

/* The attributes of the object just written, from inf: what the server
 * holds now (its name and metadata).  0 or the writer's error. */
static int storage_safety_attrs(struct repo_writer *w,
				const struct storage_safety_ent *e,
				const struct sb_storage_objinfo *inf)
{
	char num[24];
	int r;

	snprintf(num, sizeof(num), "%llu", (unsigned long long)inf->size);
	r = repo_writer_file_attr(w, SNAP_STORAGE_ATTR_BUCKET, e->bucket);
	if (r == 0)
		r = repo_writer_file_attr(w, SNAP_STORAGE_ATTR_NAME, e->name);
	if (r == 0)
		r = repo_writer_file_attr(w, SNAP_STORAGE_ATTR_SIZE, num);
	if (r == 0 && inf->content_type)
		r = repo_writer_file_attr(w, SNAP_STORAGE_ATTR_TYPE, inf->content_type);
	if (r == 0 && inf->cache_control)
		r = repo_writer_file_attr(w, SNAP_STORAGE_ATTR_CACHE, inf->cache_control);
	if (r == 0 && (inf->etag || e->etag))
		r = repo_writer_file_attr(w, SNAP_STORAGE_ATTR_ETAG,
					  inf->etag ? inf->etag : e->etag);
	if (r == 0 && inf->metadata_json)
		r = repo_writer_file_attr(w, SNAP_STORAGE_ATTR_METADATA,
					  inf->metadata_json);
	return r;
}

static int storage_safety_commit(struct storage_plan *p, struct repo_writer *w,
				 const char *rid, char id[65], struct buf *err)
{
	const char *tags[2] = { REPO_TAG_SAFETY, NULL };
	struct repo_commit_opts co;
	struct buf tag = BUF_INIT;
	int r;

	if (buf_addf(&tag, "restore:%s", rid) < 0)
		return -ENOMEM;
	tags[1] = (const char *)tag.data;
	memset(&co, 0, sizeof(co));
	co.source = p->env->storage_url;
	co.tags = tags;
	co.ntags = 2;
	co.meta_json = "{\"safety\": \"storage\"}";
	r = repo_writer_commit(w, &co, id, NULL, err);
	buf_release(&tag);
	return r;
}

int storage_safety_take(struct storage_plan *p, const char *rid, char id[65],
			struct buf *err)
{
	struct storage_plan_vec ents = { 0 }, dirs = { 0 };
	struct repo_writer *w = NULL;
	struct storage_safety_ent *ev;
	int64_t now = (int64_t)time(NULL) * 1000000000;
	int r;

	id[0] = 0;
	if (!p->o.safety || p->o.mode != STORAGE_PLAN_MIRROR ||
	    !(p->n_over || p->del.n))
		return 0;
	r = storage_safety_entries(p, &ents, &dirs);
	if (r < 0 || !ents.n)
		goto out;
	ev = ents.v;
	r = repo_writer_new(p->r, &w, err);
	if (r < 0)
		goto out;
	for (size_t i = 0; i < ents.n; i++) {
		struct repo_entry_meta em = { 0755, now };
		struct sb_storage_sink sink = {
			storage_safety_dl_begin, storage_safety_dl_data, NULL, NULL
		};
		struct storage_safety_dl dl = { w, ev[i].path, now, 0 };
		struct sb_storage_objinfo inf;

		if (ev[i].dir) {
			r = repo_writer_dir(w, ev[i].path, &em);
			if (r < 0)
				goto werr;
			continue;
		}
		sink.ctx = &dl;
		r = sb_storage_download(p->st, ev[i].bucket, ev[i].name, &sink, err);
		if (r < 0)
			goto out;
		memset(&inf, 0, sizeof(inf));
		r = sb_storage_info(p->st, ev[i].bucket, ev[i].name, &inf, err);
		if (r < 0)
			goto out;
		r = storage_safety_attrs(w, &ev[i], &inf);
		sb_storage_objinfo_release(&inf);
		if (r == 0)
			r = repo_writer_file_end(w);
		if (r < 0)
			goto werr;
	}
	r = storage_safety_commit(p, w, rid, id, err);
	goto out;
werr:
	buf_reset(err);
	buf_addstr(err, repo_writer_error(w));
out:
	repo_writer_free(w);
	ev = ents.v;
	for (size_t i = 0; i < ents.n; i++)
		free(ev[i].path);
	ev = dirs.v;
	for (size_t i = 0; i < dirs.n; i++)
		free(ev[i].path);
	free(ents.v);
	free(dirs.v);
	return r;
}

/*
 * restore-storage: the Storage restore (and its rollback) described in
 * restore-storage.h.  One run is:
 *   1. read the snapshot's storage/ entries (no data): the buckets'
 *      .bucket.json and every object's storage.* attributes, selected by
 *      --bucket and --path;
 *   2. list the selected buckets on the server and plan: create or
 *      update buckets, upload / skip objects, (mirror) delete extras;
 *   3. --dry-run prints the plan and stops; otherwise, when anything is
 *      deleted or overwritten, those objects are first downloaded into
 *      a safety snapshot (tags "safety", "restore:<id>");
 *   4. buckets, uploads (a second pass over the manifest, each object
 *      spooled through memory or an unlinked temporary file, so memory
 *      stays bounded), bulk deletes;
 *   5. the buckets are listed again and compared with the snapshot, and
 *      the restore log is kept.
 */
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "manifest.h"
#include "repo.h"
#include "restore-functions.h"
#include "restore-storage.h"
#include "restores.h"
#include "sb-env.h"
#include "sb-http.h"
#include "json.h"
#include "sb-storage.h"
#include "snap-storage.h"

/* Objects up to this size are uploaded from memory, bigger ones from an
 * unlinked temporary file. */
#define RST_MEM_MAX (8u << 20)

enum rst_mode { RST_MERGE, RST_MIRROR, RST_EMPTY };
static const char *const rst_mode_names[] = { "merge", "mirror", "empty" };

enum rst_act { RST_SKIP, RST_NEW, RST_OVERWRITE };

struct rst_obj {
	char *bucket, *name, *path;
	uint64_t size;
	char *etag, *ctype, *cache, *meta;
	int act;
	int safety;			/* held by the safety snapshot */
};

struct rst_remote {
	char *bucket, *name, *etag;
	uint64_t size;
	int keep;			/* in the snapshot's selection */
};

struct rst_bucket {
	char *id;
	struct sb_storage_bucket cfg;
	int have_cfg;			/* .bucket.json was read */
	int exists, create, update;
};

struct rst_vec {
	void *v;
	size_t n, cap, size;
};

struct rst_run {
	struct cli *c;
	struct repo *r;
	const char *snap_id;
	enum rst_mode mode;
	int dry_run, yes, safety;
	const char *const *buckets;	/* --bucket */
	size_t nbuckets_sel;
	const char *const *paths;	/* --path */
	size_t npaths;
	const char *rollback_of;
	struct rst_remote *extra_del;	/* rollback: objects the restore added */
	size_t nextra;

	const struct sb_env *env;
	struct sb_http *http;
	struct sb_storage *st;
	struct rst_vec bk, obj, rem;
	struct rst_vec del;		/* indexes into rem */
	size_t n_new, n_over, n_skip, n_create, n_update;
	char safety_id[65];
};

/* ---- small helpers ------------------------------------------------------- */

static void *rst_push(struct rst_vec *v, size_t size)
{
	void *p;

	v->size = size;
	if (v->n == v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 16;

		p = realloc(v->v, cap * size);
		if (!p)
			return NULL;
		v->v = p;
		v->cap = cap;
	}
	p = (char *)v->v + v->n++ * size;
	memset(p, 0, size);
	return p;
}

static char *rst_dup(const char *s)
{
	return s ? strdup(s) : NULL;
}

static int rst_dup_ok(char **dst, const char *s)
{
	*dst = rst_dup(s);
	return s && !*dst ? -ENOMEM : 0;
}

static int rst_name_cmp(const char *ab, const char *an, const char *bb,
			const char *bn)
{
	int d = strcmp(ab, bb);

	return d ? d : strcmp(an, bn);
}

static int rst_remote_cmp(const void *a, const void *b)
{
	const struct rst_remote *x = a, *y = b;

	return rst_name_cmp(x->bucket, x->name, y->bucket, y->name);
}

static struct rst_remote *rst_remote_find(struct rst_run *s, const char *bucket,
					  const char *name)
{
	struct rst_remote key = { .bucket = (char *)bucket, .name = (char *)name };

	if (!s->rem.n)
		return NULL;
	return bsearch(&key, s->rem.v, s->rem.n, sizeof(key), rst_remote_cmp);
}

static struct rst_bucket *rst_bucket_find(struct rst_run *s, const char *id)
{
	struct rst_bucket *b = s->bk.v;

	for (size_t i = 0; i < s->bk.n; i++)
		if (!strcmp(b[i].id, id))
			return &b[i];
	return NULL;
}

static int rst_bucket_selected(const struct rst_run *s, const char *id)
{
	if (!s->nbuckets_sel)
		return 1;
	for (size_t i = 0; i < s->nbuckets_sel; i++)
		if (!strcmp(s->buckets[i], id))
			return 1;
	return 0;
}

static int rst_path_selected(const struct rst_run *s, const char *name)
{
	if (!s->npaths)
		return 1;
	for (size_t i = 0; i < s->npaths; i++)
		if (fnmatch(s->paths[i], name, 0) == 0)
			return 1;
	return 0;
}

static void rst_quote(struct buf *out, const char *bucket, const char *name)
{
	buf_reset(out);
	if (buf_addstr(out, bucket) < 0 || buf_addch(out, '/') < 0 ||
	    sb_http_quote_name(out, name, strlen(name)) < 0)
		buf_reset(out);
}

static void rst_release(struct rst_run *s)
{
	struct rst_bucket *b = s->bk.v;
	struct rst_obj *o = s->obj.v;
	struct rst_remote *m = s->rem.v;

	for (size_t i = 0; i < s->bk.n; i++) {
		free(b[i].id);
		sb_storage_bucket_release(&b[i].cfg);
	}
	for (size_t i = 0; i < s->obj.n; i++) {
		free(o[i].bucket);
		free(o[i].name);
		free(o[i].path);
		free(o[i].etag);
		free(o[i].ctype);
		free(o[i].cache);
		free(o[i].meta);
	}
	for (size_t i = 0; i < s->rem.n; i++) {
		free(m[i].bucket);
		free(m[i].name);
		free(m[i].etag);
	}
	free(s->bk.v);
	free(s->obj.v);
	free(s->rem.v);
	free(s->del.v);
	sb_storage_free(s->st);
	sb_http_free(s->http);
}

/* ---- 1. the snapshot's storage/ ------------------------------------------ */

static const char *rst_attr(const struct manifest_entry *e, const char *key)
{
	for (size_t i = 0; i < e->nattrs; i++)
		if (!strcmp(e->attrs[i].key, key))
			return e->attrs[i].value;
	return NULL;
}

static int rst_sink_buf(void *ctx, const void *p, size_t n)
{
	return buf_add(ctx, p, n);
}

/* .bucket.json into a bucket's configuration. */
static int rst_bucket_cfg(struct rst_bucket *b, const struct buf *doc,
			  struct buf *err)
{
	struct json *j = NULL;
	const struct json *v;
	struct buf m = BUF_INIT;
	int64_t lim;
	int r = json_parse(&j, doc->data, doc->len, err);

	if (r < 0)
		return r;
	r = -ENOMEM;
	b->cfg.is_public = json_bool(json_get(j, "public")) == 1;
	b->cfg.file_size_limit = -1;
	v = json_get(j, "file_size_limit");
	if (v && !json_is_null(v) && json_int(v, &lim) == 0)
		b->cfg.file_size_limit = lim;
	v = json_get(j, "allowed_mime_types");
	if (v && json_type(v) == JSON_ARRAY) {
		if (json_write(&m, v) < 0 ||
		    !(b->cfg.allowed_mime_types = buf_detach(&m, NULL)))
			goto out;
	}
	if (rst_dup_ok(&b->cfg.id, b->id) < 0 ||
	    rst_dup_ok(&b->cfg.name, json_get_str(j, "name") ?
		       json_get_str(j, "name") : b->id) < 0 ||
	    rst_dup_ok(&b->cfg.type, json_get_str(j, "type")) < 0)
		goto out;
	b->have_cfg = 1;
	r = 0;
out:
	buf_release(&m);
	json_free(j);
	return r;
}

static struct rst_bucket *rst_bucket_add(struct rst_run *s, const char *id)
{
	struct rst_bucket *b = rst_bucket_find(s, id);

	if (b)
		return b;
	b = rst_push(&s->bk, sizeof(*b));
	if (b && !(b->id = strdup(id))) {
		s->bk.n--;
		return NULL;
	}
	return b;
}

static int rst_read_snapshot(struct rst_run *s, struct buf *err)
{
	struct repo_iter *it = NULL;
	const struct manifest_entry *e;
	struct buf doc = BUF_INIT;
	int r = repo_iter_new(s->r, s->snap_id, &it, err);

	if (r < 0)
		return r;
	while ((r = repo_iter_next(it, &e, err)) == 1) {
		const char *bucket, *name;
		struct rst_obj *o;
		struct rst_bucket *b;
		size_t pl = e->path_len;

		if (e->kind != MANIFEST_FILE ||
		    strncmp(e->path, SNAP_STORAGE_ROOT "/", 8))
			continue;
		bucket = rst_attr(e, SNAP_STORAGE_ATTR_BUCKET);
		name = rst_attr(e, SNAP_STORAGE_ATTR_NAME);
		if (!bucket || !name) {
			/* storage/<bucket>/.bucket.json */
			const char *slash = strchr(e->path + 8, '/');

			if (!slash || strcmp(slash, "/.bucket.json"))
				continue;
			buf_reset(&doc);
			r = repo_iter_read(it, rst_sink_buf, &doc, err);
			if (r < 0)
				break;
			{
				struct json *j = NULL;
				const char *id;

				r = json_parse(&j, doc.data, doc.len, err);
				id = r == 0 ? json_get_str(j, "id") : NULL;
				if (r == 0 && !id)
					r = -EBADMSG;
				if (r == 0 && rst_bucket_selected(s, id)) {
					b = rst_bucket_add(s, id);
					r = b ? rst_bucket_cfg(b, &doc, err) : -ENOMEM;
				}
				json_free(j);
				if (r < 0) {
					if (!err->len)
						buf_addf(err, "%s: not a bucket configuration", e->path);
					break;
				}
			}
			continue;
		}
		if (!rst_bucket_selected(s, bucket) || !rst_path_selected(s, name))
			continue;
		if (!rst_bucket_add(s, bucket) ||
		    !(o = rst_push(&s->obj, sizeof(*o)))) {
			r = -ENOMEM;
			break;
		}
		o->size = e->size;
		o->path = malloc(pl + 1);
		if (o->path)
			memcpy(o->path, e->path, pl + 1);
		if (!o->path || rst_dup_ok(&o->bucket, bucket) < 0 ||
		    rst_dup_ok(&o->name, name) < 0 ||
		    rst_dup_ok(&o->etag, rst_attr(e, SNAP_STORAGE_ATTR_ETAG)) < 0 ||
		    rst_dup_ok(&o->ctype, rst_attr(e, SNAP_STORAGE_ATTR_TYPE)) < 0 ||
		    rst_dup_ok(&o->cache, rst_attr(e, SNAP_STORAGE_ATTR_CACHE)) < 0 ||
		    rst_dup_ok(&o->meta, rst_attr(e, SNAP_STORAGE_ATTR_METADATA)) < 0) {
			r = -ENOMEM;
			break;
		}
	}
	repo_iter_free(it);
	buf_release(&doc);
	return r < 0 ? r : 0;
}

/* ---- 2. the server's side and the plan ------------------------------------- */

static int rst_list_cb(void *ctx, const char *bucket,
		       const struct sb_storage_object *o)
{
	struct rst_run *s = ctx;
	struct rst_remote *m = rst_push(&s->rem, sizeof(*m));

	if (!m)
		return -ENOMEM;
	m->size = o->size;
	if (rst_dup_ok(&m->bucket, bucket) < 0 ||
	    rst_dup_ok(&m->name, o->name) < 0 ||
	    rst_dup_ok(&m->etag, o->etag) < 0)
		return -ENOMEM;
	return 0;
}

/* Lists every existing selected bucket into s->rem (sorted). */
static int rst_list_remote(struct rst_run *s, struct buf *err)
{
	struct rst_remote *m = s->rem.v;
	struct rst_bucket *b = s->bk.v;

	for (size_t i = 0; i < s->rem.n; i++) {
		free(m[i].bucket);
		free(m[i].name);
		free(m[i].etag);
	}
	s->rem.n = 0;
	for (size_t i = 0; i < s->bk.n; i++) {
		int r;

		if (!b[i].exists)
			continue;
		r = sb_storage_list(s->st, b[i].id, "", rst_list_cb, s, NULL, err);
		if (r < 0)
			return r;
	}
	if (s->rem.n)
		qsort(s->rem.v, s->rem.n, sizeof(struct rst_remote), rst_remote_cmp);
	return 0;
}

static int rst_cfg_differs(const struct sb_storage_bucket *a,
			   const struct sb_storage_bucket *b)
{
	const char *x = a->allowed_mime_types, *y = b->allowed_mime_types;

	if (!!a->is_public != !!b->is_public ||
	    a->file_size_limit != b->file_size_limit)
		return 1;
	if (!x || !y)
		return !x != !y;
	/* both are JSON array texts; compare without blanks */
	while (*x || *y) {
		while (*x == ' ')
			x++;
		while (*y == ' ')
			y++;
		if (*x != *y)
			return 1;
		if (*x) {
			x++;
			y++;
		}
	}
	return 0;
}

static int rst_plan(struct rst_run *s, struct buf *err)
{
	struct rst_bucket *b = s->bk.v;
	struct rst_obj *o = s->obj.v;
	struct rst_remote *m;
	int r;

	for (size_t i = 0; i < s->bk.n; i++) {
		struct sb_storage_bucket cur;

		memset(&cur, 0, sizeof(cur));
		buf_reset(err);
		r = sb_storage_bucket_get(s->st, b[i].id, &cur, err);
		if (r == -ENOENT) {
			b[i].create = 1;
			s->n_create++;
			continue;
		}
		if (r < 0)
			return r;
		b[i].exists = 1;
		if (b[i].have_cfg && s->mode != RST_EMPTY &&
		    rst_cfg_differs(&b[i].cfg, &cur)) {
			b[i].update = 1;
			s->n_update++;
		}
		sb_storage_bucket_release(&cur);
	}
	buf_reset(err);
	r = rst_list_remote(s, err);
	if (r < 0)
		return r;
	for (size_t i = 0; i < s->obj.n; i++) {
		m = rst_remote_find(s, o[i].bucket, o[i].name);
		if (m)
			m->keep = 1;
		if (!m) {
			o[i].act = RST_NEW;
			s->n_new++;
		} else if (m->size == o[i].size && m->etag && o[i].etag &&
			   !strcmp(m->etag, o[i].etag)) {
			o[i].act = RST_SKIP;
			s->n_skip++;
		} else {
			o[i].act = RST_OVERWRITE;
			s->n_over++;
		}
	}
	m = s->rem.v;
	for (size_t i = 0; i < s->rem.n; i++) {
		size_t *d;

		if (m[i].keep || !rst_path_selected(s, m[i].name))
			continue;
		if (s->mode == RST_EMPTY) {
			struct buf q = BUF_INIT;

			rst_quote(&q, m[i].bucket, m[i].name);
			buf_reset(err);
			buf_addf(err, "--mode empty: bucket %s already holds objects (e.g. %s)",
				 m[i].bucket, (const char *)q.data);
			buf_release(&q);
			return -EEXIST;
		}
		if (s->mode != RST_MIRROR)
			continue;
		if (!(d = rst_push(&s->del, sizeof(*d))))
			return -ENOMEM;
		*d = i;
	}
	if (s->mode == RST_EMPTY && s->n_skip + s->n_over) {
		buf_reset(err);
		buf_addf(err, "--mode empty: the selected buckets already hold objects");
		return -EEXIST;
	}
	return 0;
}

static void rst_plan_print(struct rst_run *s)
{
	struct rst_bucket *b = s->bk.v;
	struct rst_obj *o = s->obj.v;
	struct rst_remote *m = s->rem.v;
	size_t *d = s->del.v;
	struct buf q = BUF_INIT;

	printf("storage %s (%s): %zu bucket%s to create, %zu to update; %zu object%s to upload (%zu new, %zu changed), %zu unchanged, %zu to delete\n",
	       s->rollback_of ? "rollback" : "restore", rst_mode_names[s->mode],
	       s->n_create, s->n_create == 1 ? "" : "s", s->n_update,
	       s->n_new + s->n_over, s->n_new + s->n_over == 1 ? "" : "s",
	       s->n_new, s->n_over, s->n_skip, s->del.n + s->nextra);
	for (size_t i = 0; i < s->bk.n; i++)
		if (b[i].create || b[i].update)
			printf("  %s bucket %s\n", b[i].create ? "create" : "update",
			       b[i].id);
	for (size_t i = 0; i < s->obj.n; i++) {
		if (o[i].act == RST_SKIP)
			continue;
		rst_quote(&q, o[i].bucket, o[i].name);
		printf("  upload %s\n", (const char *)q.data);
	}
	for (size_t i = 0; i < s->del.n; i++) {
		rst_quote(&q, m[d[i]].bucket, m[d[i]].name);
		printf("  delete %s\n", (const char *)q.data);
	}
	for (size_t i = 0; i < s->nextra; i++) {
		rst_quote(&q, s->extra_del[i].bucket, s->extra_del[i].name);
		printf("  delete %s\n", (const char *)q.data);
	}
	buf_release(&q);
}

/* ---- 3. the safety snapshot ------------------------------------------------- */

struct rst_entry {
	char *path;
	const char *bucket, *name, *ctype, *cache, *etag;
	int dir;
};

static int rst_entry_cmp(const void *a, const void *b)
{
	const struct rst_entry *x = a, *y = b;

	return manifest_path_cmp(x->path, strlen(x->path), y->path,
				 strlen(y->path));
}

struct rst_dl {
	struct repo_writer *w;
	const char *path;
	int64_t mtime_ns;
	int begun;
};

static int rst_dl_begin(void *ctx, size_t i, const struct sb_http_resp *r)
{
	struct rst_dl *d = ctx;
	struct repo_entry_meta em = { 0644, d->mtime_ns };

	if (d->begun)
		return -EIO;	/* a restarted body cannot be taken twice */
	d->begun = 1;
	return repo_writer_file_begin(d->w, d->path, &em, REPO_CHUNK_GENERAL);
}

static int rst_dl_data(void *ctx, size_t i, const void *p, size_t n)
{
	struct rst_dl *d = ctx;

	return repo_writer_file_write(d->w, p, n);
}

/* Adds the entry (and its directories) for one remote object. */
static int rst_safety_add(struct rst_vec *ents, struct rst_vec *dirs,
			  const char *bucket, const char *name,
			  const char *etag)
{
	struct buf p = BUF_INIT;
	struct rst_entry *e;
	int r = buf_addstr(&p, SNAP_STORAGE_ROOT "/");

	if (r == 0)
		r = snap_storage_encode_segment(&p, bucket, strlen(bucket), 0);
	if (r == 0)
		r = buf_addch(&p, '/');
	if (r == 0)
		r = snap_storage_encode_name(&p, name, strlen(name));
	if (r < 0)
		goto out;
	/* every '/'-prefix is a directory */
	for (size_t i = 0; i < p.len; i++) {
		struct rst_entry *dd;

		if (((char *)p.data)[i] != '/')
			continue;
		if (!(dd = rst_push(dirs, sizeof(*dd))) ||
		    !(dd->path = strndup((const char *)p.data, i))) {
			r = -ENOMEM;
			goto out;
		}
		dd->dir = 1;
	}
	if (!(e = rst_push(ents, sizeof(*e))) ||
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

static int rst_safety(struct rst_run *s, const char *rid, struct buf *err)
{
	struct rst_vec ents = { 0 }, dirs = { 0 };
	struct rst_obj *o = s->obj.v;
	struct rst_remote *m = s->rem.v, *rm;
	size_t *d = s->del.v, nd = 0;
	struct repo_writer *w = NULL;
	struct rst_entry *ev, *dv;
	struct buf tag = BUF_INIT;
	int64_t now = (int64_t)time(NULL) * 1000000000;
	int r = 0;

	for (size_t i = 0; i < s->obj.n && r == 0; i++) {
		if (o[i].act != RST_OVERWRITE)
			continue;
		rm = rst_remote_find(s, o[i].bucket, o[i].name);
		r = rst_safety_add(&ents, &dirs, rm->bucket, rm->name, rm->etag);
	}
	for (size_t i = 0; i < s->del.n && r == 0; i++)
		r = rst_safety_add(&ents, &dirs, m[d[i]].bucket, m[d[i]].name,
				   m[d[i]].etag);
	if (r < 0 || !ents.n)
		goto out;
	/* directories: sorted, unique; an object that is also a folder gets
	 * "%~" as in the capture */
	dv = dirs.v;
	qsort(dv, dirs.n, sizeof(*dv), rst_entry_cmp);
	for (size_t i = 0; i < dirs.n; i++) {
		if (nd && !strcmp(dv[nd - 1].path, dv[i].path)) {
			free(dv[i].path);
			continue;
		}
		dv[nd++] = dv[i];
	}
	dirs.n = nd;
	ev = ents.v;
	for (size_t i = 0; i < ents.n; i++) {
		struct rst_entry key = { .path = ev[i].path };

		if (nd && bsearch(&key, dv, nd, sizeof(key), rst_entry_cmp)) {
			char *np = malloc(strlen(ev[i].path) + 3);

			if (!np) {
				r = -ENOMEM;
				goto out;
			}
			snprintf(np, strlen(ev[i].path) + 3, "%s%%~", ev[i].path);
			free(ev[i].path);
			ev[i].path = np;
		}
	}
	for (size_t i = 0; i < dirs.n; i++) {
		struct rst_entry *x = rst_push(&ents, sizeof(*x));

		if (!x) {
			r = -ENOMEM;
			goto out;
		}
		*x = dv[i];
		dv[i].path = NULL;
	}
	dirs.n = 0;
	ev = ents.v;
	qsort(ev, ents.n, sizeof(*ev), rst_entry_cmp);
	r = repo_writer_new(s->r, &w, err);
	if (r < 0)
		goto out;
	for (size_t i = 0; i < ents.n; i++) {
		struct repo_entry_meta em = { 0755, now };
		struct sb_storage_sink sink = { rst_dl_begin, rst_dl_data, NULL, NULL };
		struct rst_dl dl = { w, ev[i].path, now, 0 };
		char num[24];

		if (ev[i].dir) {
			r = repo_writer_dir(w, ev[i].path, &em);
			if (r < 0)
				goto werr;
			continue;
		}
		sink.ctx = &dl;
		r = sb_storage_download(s->st, ev[i].bucket, ev[i].name, &sink, err);
		if (r < 0)
			goto out;
		/* what the server holds now: its name and metadata */
		{
			struct sb_storage_objinfo inf;

			memset(&inf, 0, sizeof(inf));
			r = sb_storage_info(s->st, ev[i].bucket, ev[i].name, &inf, err);
			if (r < 0)
				goto out;
			snprintf(num, sizeof(num), "%llu", (unsigned long long)inf.size);
			r = repo_writer_file_attr(w, SNAP_STORAGE_ATTR_BUCKET, ev[i].bucket);
			if (r == 0)
				r = repo_writer_file_attr(w, SNAP_STORAGE_ATTR_NAME, ev[i].name);
			if (r == 0)
				r = repo_writer_file_attr(w, SNAP_STORAGE_ATTR_SIZE, num);
			if (r == 0 && inf.content_type)
				r = repo_writer_file_attr(w, SNAP_STORAGE_ATTR_TYPE, inf.content_type);
			if (r == 0 && inf.cache_control)
				r = repo_writer_file_attr(w, SNAP_STORAGE_ATTR_CACHE, inf.cache_control);
			if (r == 0 && (inf.etag || ev[i].etag))
				r = repo_writer_file_attr(w, SNAP_STORAGE_ATTR_ETAG,
							  inf.etag ? inf.etag : ev[i].etag);
			if (r == 0 && inf.metadata_json)
				r = repo_writer_file_attr(w, SNAP_STORAGE_ATTR_METADATA,
							  inf.metadata_json);
			sb_storage_objinfo_release(&inf);
		}
		if (r == 0)
			r = repo_writer_file_end(w);
		if (r < 0)
			goto werr;
	}
	{
		const char *tags[2] = { "safety", NULL };
		struct repo_commit_opts co;

		if (buf_addf(&tag, "restore:%s", rid) < 0) {
			r = -ENOMEM;
			goto out;
		}
		tags[1] = (const char *)tag.data;
		memset(&co, 0, sizeof(co));
		co.source = s->env->storage_url;
		co.tags = tags;
		co.ntags = 2;
		co.meta_json = "{\"safety\": \"storage\"}";
		r = repo_writer_commit(w, &co, s->safety_id, NULL, err);
	}
	goto out;
werr:
	buf_reset(err);
	buf_addstr(err, repo_writer_error(w));
out:
	repo_writer_free(w);
	ev = ents.v;
	for (size_t i = 0; i < ents.n; i++)
		free(ev[i].path);
	dv = dirs.v;
	for (size_t i = 0; i < dirs.n; i++)
		free(dv[i].path);
	free(ents.v);
	free(dirs.v);
	buf_release(&tag);
	return r;
}

/* ---- 4. the changes ------------------------------------------------------- */

struct rst_spool {
	struct buf mem;
	FILE *f;
	uint64_t n;
};

static int rst_spool_sink(void *ctx, const void *p, size_t n)
{
	struct rst_spool *sp = ctx;

	sp->n += n;
	if (sp->f)
		return fwrite(p, 1, n, sp->f) == n ? 0 : -EIO;
	return buf_add(&sp->mem, p, n);
}

static ssize_t rst_spool_read(void *ctx, uint64_t off, void *p, size_t n)
{
	struct rst_spool *sp = ctx;
	ssize_t got = pread(fileno(sp->f), p, n, (off_t)off);

	return got < 0 ? -errno : got;
}

static int rst_upload_all(struct rst_run *s, size_t *done, struct buf *err)
{
	struct repo_iter *it = NULL;
	const struct manifest_entry *e;
	struct rst_obj *o = s->obj.v;
	size_t k = 0;
	int r = repo_iter_new(s->r, s->snap_id, &it, err);

	if (r < 0)
		return r;
	while (k < s->obj.n && (r = repo_iter_next(it, &e, err)) == 1) {
		struct rst_spool sp = { BUF_INIT, NULL, 0 };
		struct sb_storage_upload_req u;

		while (k < s->obj.n && o[k].act == RST_SKIP)
			k++;
		if (k == s->obj.n || strcmp(e->path, o[k].path))
			continue;
		if (o[k].size > RST_MEM_MAX && !(sp.f = tmpfile())) {
			r = -errno;
			buf_addf(err, "cannot make a temporary file: %s", strerror(errno));
			break;
		}
		r = repo_iter_read(it, rst_spool_sink, &sp, err);
		if (r == 0 && sp.f && fflush(sp.f))
			r = -EIO;
		memset(&u, 0, sizeof(u));
		u.content_type = o[k].ctype;
		u.cache_control = o[k].cache;
		u.metadata_json = o[k].meta;
		u.size = sp.n;
		if (sp.f) {
			u.read = rst_spool_read;
			u.read_ctx = &sp;
		} else {
			u.data = sp.mem.data;
		}
		if (r == 0)
			r = sb_storage_upload(s->st, o[k].bucket, o[k].name, &u, err);
		if (sp.f)
			fclose(sp.f);
		buf_release(&sp.mem);
		if (r < 0)
			break;
		(*done)++;
		k++;
	}
	repo_iter_free(it);
	return r < 0 ? r : 0;
}

/* Deletes names[0..n) grouped by bucket (sb_storage_delete cuts 1000). */
static int rst_delete(struct rst_run *s, struct rst_remote **v, size_t n,
		      size_t *deleted, struct buf *err)
{
	const char **names = calloc(n ? n : 1, sizeof(*names));
	int r = 0;

	if (!names)
		return -ENOMEM;
	for (size_t i = 0; i < n && r == 0;) {
		size_t j = i, got = 0;

		while (j < n && !strcmp(v[j]->bucket, v[i]->bucket)) {
			names[j - i] = v[j]->name;
			j++;
		}
		r = sb_storage_delete(s->st, v[i]->bucket, names, j - i, &got, err);
		*deleted += got;
		i = j;
	}
	free(names);
	return r;
}

/* ---- 5. verification ------------------------------------------------------ */

static int rst_verify(struct rst_run *s, struct buf *bad, size_t *nbad,
		      struct buf *err)
{
	struct rst_obj *o = s->obj.v;
	struct rst_bucket *b = s->bk.v;
	struct rst_remote *m;
	struct buf q = BUF_INIT;
	int r;

	for (size_t i = 0; i < s->bk.n; i++)
		b[i].exists = 1;
	r = rst_list_remote(s, err);
	if (r < 0)
		return r;
	for (size_t i = 0; i < s->obj.n; i++) {
		const char *why = NULL;

		m = rst_remote_find(s, o[i].bucket, o[i].name);
		if (!m)
			why = "missing";
		else if (m->size != o[i].size)
			why = "size differs";
		else if (o[i].etag && (!m->etag || strcmp(m->etag, o[i].etag)))
			why = "eTag differs";
		if (m)
			m->keep = 1;
		if (!why)
			continue;
		rst_quote(&q, o[i].bucket, o[i].name);
		if ((*nbad)++ < 20)
			buf_addf(bad, "%s%s: %s", *nbad > 1 ? "; " : "",
				 (const char *)q.data, why);
	}
	m = s->rem.v;
	if (s->mode == RST_MIRROR)
		for (size_t i = 0; i < s->rem.n; i++) {
			if (m[i].keep || !rst_path_selected(s, m[i].name))
				continue;
			rst_quote(&q, m[i].bucket, m[i].name);
			if ((*nbad)++ < 20)
				buf_addf(bad, "%s%s: not in the snapshot",
					 *nbad > 1 ? "; " : "", (const char *)q.data);
		}
	buf_release(&q);
	return 0;
}

/* ---- the run ------------------------------------------------------------------ */

static int rst_json_str(struct buf *out, const char *s)
{
	if (!s)
		return buf_addstr(out, "null");
	return json_quote(out, s, strlen(s));
}

static int rst_connect(struct rst_run *s, struct buf *err)
{
	struct sb_http_opts ho;
	const char *v;
	int ms, r;

	memset(&ho, 0, sizeof(ho));
	if ((v = getenv("VAULT_HTTP_BACKOFF_MS")) && *v &&
	    cli_parse_int(v, 1, 60000, &ms) == 0) {
		ho.backoff_ms = (unsigned)ms;
		ho.backoff_max_ms = (unsigned)ms * 4;
	}
	r = sb_http_new(&s->http, &ho, err);
	if (r == 0)
		r = sb_storage_new(&s->st, s->http, s->env->storage_url,
				   s->env->service_key, err);
	return r;
}

/*
 * The Storage restore proper; logj receives the `"storage": {...}`
 * member; *changed says whether anything on the server was touched.
 */
static int rst_storage(struct rst_run *s, const char *rid, struct buf *logj,
		       int *changed)
{
	struct cli *c = s->c;
	struct buf err = BUF_INIT, bad = BUF_INIT;
	struct rst_bucket *b;
	struct rst_remote **dv = NULL;
	size_t uploaded = 0, deleted = 0, nbad = 0, ndel;
	int r, ret = CLI_EXIT_ERROR;
	const char *stage = "read the snapshot";

	r = rst_read_snapshot(s, &err);
	if (r < 0)
		goto fail;
	for (size_t i = 0; i < s->nbuckets_sel; i++)
		if (!rst_bucket_find(s, s->buckets[i])) {
			ret = cli_usage_error(c, "--bucket %s: snapshot %.8s holds no such bucket",
					      s->buckets[i], s->snap_id);
			goto out;
		}
	stage = "plan";
	r = rst_connect(s, &err);
	if (r == 0)
		r = rst_plan(s, &err);
	if (r == -EEXIST) {
		cli_error(c, "storage restore refused, nothing was changed: %s",
			  (const char *)err.data);
		goto out;
	}
	if (r < 0)
		goto fail;
	rst_plan_print(s);
	if (s->dry_run) {
		ret = CLI_EXIT_OK;
		goto out;
	}
	ndel = s->del.n + s->nextra;
	if ((s->n_over || ndel) && !s->yes) {
		cli_error(c, "this storage %s overwrites or deletes objects in %s: pass --yes to confirm (nothing was changed)",
			  s->rollback_of ? "rollback" : "restore", s->env->storage_url);
		ret = CLI_EXIT_USAGE;
		goto out;
	}
	if (s->safety && s->mode == RST_MIRROR && (s->n_over || s->del.n)) {
		stage = "take the safety snapshot";
		r = rst_safety(s, rid, &err);
		if (r < 0)
			goto fail;
		if (s->safety_id[0])
			printf("safety snapshot %.8s holds the %zu object%s this restore deletes or overwrites\n",
			       s->safety_id, s->n_over + s->del.n,
			       s->n_over + s->del.n == 1 ? "" : "s");
	}
	*changed = 1;
	stage = "update the buckets";
	b = s->bk.v;
	for (size_t i = 0; i < s->bk.n; i++) {
		if (!b[i].create && !b[i].update)
			continue;
		if (!b[i].have_cfg) {
			sb_storage_bucket_release(&b[i].cfg);
			if (!(b[i].cfg.id = strdup(b[i].id))) {
				r = -ENOMEM;
				goto fail;
			}
			b[i].cfg.file_size_limit = -1;
		}
		r = b[i].create ? sb_storage_bucket_create(s->st, &b[i].cfg, &err)
			: sb_storage_bucket_update(s->st, &b[i].cfg, &err);
		if (r < 0)
			goto fail;
	}
	stage = "upload";
	r = rst_upload_all(s, &uploaded, &err);
	if (r < 0)
		goto fail;
	stage = "delete";
	if (!(dv = calloc(ndel ? ndel : 1, sizeof(*dv)))) {
		r = -ENOMEM;
		goto fail;
	}
	for (size_t i = 0; i < s->del.n; i++)
		dv[i] = (struct rst_remote *)s->rem.v + ((size_t *)s->del.v)[i];
	for (size_t i = 0; i < s->nextra; i++)
		dv[s->del.n + i] = &s->extra_del[i];
	r = rst_delete(s, dv, ndel, &deleted, &err);
	if (r < 0)
		goto fail;
	/* the log lists what was added, so a rollback can remove it */
	{
		struct rst_obj *o = s->obj.v;
		int first = 1;

		r = buf_addf(logj, "  \"storage\": {\n    \"added\": [");
		for (size_t i = 0; i < s->obj.n && r == 0; i++) {
			if (o[i].act != RST_NEW)
				continue;
			r = buf_addf(logj, "%s\n      {\"bucket\": ", first ? "" : ",");
			first = 0;
			if (r == 0)
				r = rst_json_str(logj, o[i].bucket);
			if (r == 0)
				r = buf_addstr(logj, ", \"name\": ");
			if (r == 0)
				r = rst_json_str(logj, o[i].name);
			if (r == 0)
				r = buf_addch(logj, '}');
		}
		if (r == 0)
			r = buf_addf(logj, "],\n    \"buckets_created\": %zu,\n    \"buckets_updated\": %zu,\n    \"objects\": %zu,\n    \"uploaded\": %zu,\n    \"skipped\": %zu,\n    \"deleted\": %zu,\n",
				     s->n_create, s->n_update, s->obj.n, uploaded,
				     s->n_skip, deleted);
		if (r < 0)
			goto fail;
	}
	stage = "verify";
	buf_reset(&err);
	r = rst_verify(s, &bad, &nbad, &err);
	if (r < 0)
		goto fail;
	if (buf_addf(logj, "    \"verification\": \"%s\",\n    \"mismatches\": %zu,\n    \"mismatch\": ",
		     nbad ? "failed" : "ok", nbad) < 0 ||
	    rst_json_str(logj, nbad ? (const char *)bad.data : NULL) < 0 ||
	    buf_addstr(logj, "\n  }") < 0) {
		r = -ENOMEM;
		goto fail;
	}
	printf("storage: %zu object%s uploaded, %zu unchanged, %zu deleted, %zu bucket%s created, %zu updated; verification %s\n",
	       uploaded, uploaded == 1 ? "" : "s", s->n_skip, deleted,
	       s->n_create, s->n_create == 1 ? "" : "s", s->n_update,
	       nbad ? "FAILED" : "ok");
	if (nbad) {
		cli_error(c, "storage verification failed (%zu mismatch%s): %s",
			  nbad, nbad == 1 ? "" : "es", (const char *)bad.data);
		goto out;
	}
	ret = CLI_EXIT_OK;
	goto out;
fail:
	cli_fail(c, r, &err, "storage: cannot %s", stage);
	buf_reset(&bad);
	buf_addf(&bad, "cannot %s: %s", stage, err.len ? (const char *)err.data
		 : strerror(-r));
	buf_reset(logj);
	if (buf_addstr(logj, "  \"storage\": {\"error\": ") == 0 &&
	    rst_json_str(logj, (const char *)bad.data) == 0)
		buf_addch(logj, '}');
out:
	free(dv);
	buf_release(&err);
	buf_release(&bad);
	return ret;
}

/* A new restore id (store/restores.c keeps them in creation order);
 * 0, or -1 after saying why. */
static int rst_new_id(struct cli *c, struct repo *r, char *rid)
{
	struct buf err = BUF_INIT;
	int e = repo_restore_new_id(r, (int64_t)time(NULL), rid, &err);

	if (e < 0)
		cli_fail(c, e, &err, "cannot pick a restore id");
	buf_release(&err);
	return e < 0 ? -1 : 0;
}

/* Keeps the restore log (status from ret), printing a failure to. */
static int rst_keep_log(struct rst_run *s, const char *rid, const char *what,
			int ret, const struct buf *sj, const struct buf *fj,
			int64_t t0)
{
	struct buf doc = BUF_INIT, err = BUF_INIT;
	char started[32];
	time_t t = (time_t)t0;
	struct tm tm;
	int r;

	gmtime_r(&t, &tm);
	strftime(started, sizeof(started), "%Y-%m-%dT%H:%M:%SZ", &tm);
	r = buf_addf(&doc, "{\n  \"id\": \"%s\",\n  \"kind\": \"storage\",\n  \"what\": \"%s\",\n  \"started\": \"%s\",\n  \"snapshot\": \"%s\",\n  \"target\": ",
		     rid, what, started, s->snap_id);
	if (r == 0)
		r = rst_json_str(&doc, s->env->storage_url);
	if (r == 0)
		r = buf_addf(&doc, ",\n  \"mode\": \"%s\",\n  \"safety_snapshot\": ",
			     rst_mode_names[s->mode]);
	if (r == 0)
		r = rst_json_str(&doc, s->safety_id[0] ? s->safety_id : NULL);
	if (r == 0)
		r = buf_addstr(&doc, ",\n  \"rollback_of\": ");
	if (r == 0)
		r = rst_json_str(&doc, s->rollback_of);
	if (r == 0 && sj->len)
		r = buf_addf(&doc, ",\n%s", (const char *)sj->data);
	if (r == 0 && fj->len)
		r = buf_addf(&doc, ",\n%s", (const char *)fj->data);
	if (r == 0)
		r = buf_addf(&doc, ",\n  \"status\": \"%s\",\n  \"duration_ms\": %lld\n}\n",
			     ret == CLI_EXIT_OK ? "ok" : "failed",
			     (long long)((int64_t)time(NULL) - t0) * 1000);
	if (r == 0)
		r = repo_restore_put(s->r, rid, doc.data, doc.len, &err);
	if (r < 0)
		cli_fail(s->c, r, &err, "cannot keep the restore log");
	else
		printf("%s %s into %s\n", what, rid, s->env->storage_url);
	buf_release(&doc);
	buf_release(&err);
	return r < 0 ? CLI_EXIT_ERROR : ret;
}

/* ---- the verbs --------------------------------------------------------------- */

int restore_storage_wanted(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		const char *v = NULL;

		if (!strcmp(argv[i], "--"))
			break;
		if (!strcmp(argv[i], "--only") && i + 1 < argc)
			v = argv[i + 1];
		else if (!strncmp(argv[i], "--only=", 7))
			v = argv[i] + 7;
		while (v && *v) {
			size_t n = strcspn(v, ",");

			if ((n == 7 && !strncmp(v, "storage", 7)) ||
			    (n == 9 && !strncmp(v, "functions", 9)))
				return 1;
			v += n + (v[n] == ',');
		}
	}
	return 0;
}

enum {
	RST_OPT_ONLY = CLI_OPT_FIRST_VERB + 0x40,
	RST_OPT_BUCKET,
	RST_OPT_PATH,
	RST_OPT_FUNCTION,
	RST_OPT_MODE,
	RST_OPT_DRY_RUN,
	RST_OPT_YES,
	RST_OPT_ENV_FILE,
	RST_OPT_STORAGE_URL,
	RST_OPT_NO_SAFETY,
	RST_OPT_RESTORE,
};

/* A growing NULL-terminated vector of option arguments. */
static int rst_argv_push(struct rst_vec *v, const char *s)
{
	const char **p = rst_push(v, sizeof(*p));

	if (!p || !rst_push(v, sizeof(*p)))
		return -ENOMEM;
	*p = s;
	v->n--;			/* keep the NULL after the last one */
	return 0;
}

struct rst_args {
	int storage, functions, dry_run, yes, safety;
	enum rst_mode mode;
	struct rst_vec buckets, paths, fns;
	const char *env_file, *storage_url, *restore;
};

static int rst_parse(struct cli *c, int argc, char **argv, struct rst_args *a,
		     int rollback)
{
	static const struct option opts[] = {
		{ "only", required_argument, NULL, RST_OPT_ONLY },
		{ "bucket", required_argument, NULL, RST_OPT_BUCKET },
		{ "path", required_argument, NULL, RST_OPT_PATH },
		{ "function", required_argument, NULL, RST_OPT_FUNCTION },
		{ "mode", required_argument, NULL, RST_OPT_MODE },
		{ "dry-run", no_argument, NULL, RST_OPT_DRY_RUN },
		{ "yes", no_argument, NULL, RST_OPT_YES },
		{ "env-file", required_argument, NULL, RST_OPT_ENV_FILE },
		{ "storage-url", required_argument, NULL, RST_OPT_STORAGE_URL },
		{ "no-safety-snapshot", no_argument, NULL, RST_OPT_NO_SAFETY },
		{ "restore", required_argument, NULL, RST_OPT_RESTORE },
		CLI_GLOBAL_OPTIONS
	};
	int o;

	a->safety = 1;
	while ((o = cli_getopt(c, argc, argv, "", opts)) != CLI_OPT_END) {
		switch (o) {
		case RST_OPT_ONLY: {
			const char *p = optarg;

			while (*p) {
				size_t n = strcspn(p, ",");

				if (n == 7 && !strncmp(p, "storage", 7))
					a->storage = 1;
				else if (n == 9 && !strncmp(p, "functions", 9))
					a->functions = 1;
				else
					return cli_usage_error(c, "--only: '%.*s' cannot be combined with %s (the database restore is a separate run)",
							       (int)n, p, rollback ? "a storage or functions rollback" : "storage or functions");
				p += n + (p[n] == ',');
			}
			break;
		}
		case RST_OPT_BUCKET:
		case RST_OPT_PATH:
		case RST_OPT_FUNCTION:
			if (!*optarg)
				return cli_usage_error(c, "an empty --bucket, --path or --function");
			if (rst_argv_push(o == RST_OPT_BUCKET ? &a->buckets :
					  o == RST_OPT_PATH ? &a->paths : &a->fns,
					  optarg) < 0) {
				cli_error(c, "out of memory");
				return CLI_EXIT_ERROR;
			}
			break;
		case RST_OPT_MODE:
			if (!strcmp(optarg, "merge"))
				a->mode = RST_MERGE;
			else if (!strcmp(optarg, "mirror"))
				a->mode = RST_MIRROR;
			else if (!strcmp(optarg, "empty"))
				a->mode = RST_EMPTY;
			else
				return cli_usage_error(c, "--mode: '%s' is not merge, mirror or empty (storage)", optarg);
			break;
		case RST_OPT_DRY_RUN:
			a->dry_run = 1;
			break;
		case RST_OPT_YES:
			a->yes = 1;
			break;
		case RST_OPT_ENV_FILE:
			a->env_file = optarg;
			break;
		case RST_OPT_STORAGE_URL:
			a->storage_url = optarg;
			break;
		case RST_OPT_NO_SAFETY:
			a->safety = 0;
			break;
		case RST_OPT_RESTORE:
			a->restore = optarg;
			break;
		case CLI_OPT_HELP:
			return -1;
		default:
			return CLI_EXIT_USAGE;
		}
	}
	if (rollback && (a->buckets.n || a->paths.n || a->fns.n))
		return cli_usage_error(c, "a storage rollback takes no --bucket, --path or --function");
	if ((a->buckets.n || a->paths.n) && !a->storage)
		return cli_usage_error(c, "--bucket and --path need --only storage");
	if (a->fns.n && !a->functions)
		return cli_usage_error(c, "--function needs --only functions");
	return 0;
}

static void rst_args_release(struct rst_args *a)
{
	free(a->buckets.v);
	free(a->paths.v);
	free(a->fns.v);
}

static int rst_env(struct cli *c, const struct rst_args *a, struct sb_env *env)
{
	struct sb_env_opts eo = { a->env_file, a->storage_url };
	struct buf err = BUF_INIT;
	int e = sb_env_load(env, &eo, &err);

	if (e < 0) {
		cli_error(c, "%s", err.len ? (const char *)err.data : strerror(-e));
		buf_release(&err);
		return CLI_EXIT_ERROR;
	}
	buf_release(&err);
	if (a->storage && !sb_env_has_storage(env)) {
		sb_env_release(env);
		return cli_usage_error(c, "a storage restore needs SUPABASE_URL (or --storage-url) and SUPABASE_SERVICE_ROLE_KEY (environment, .env or --env-file)");
	}
	if (a->functions && !sb_env_has_functions(env)) {
		sb_env_release(env);
		return cli_usage_error(c, "a functions restore needs SUPABASE_ACCESS_TOKEN and SUPABASE_PROJECT_REF (environment, .env or --env-file)");
	}
	/* the same warning as vault snapshot: the keys write the project */
	if (env->env_file && env->env_file_exposed)
		cli_warn(c, "%s holds Supabase keys but is readable by group or others (chmod 600 %s)",
			 env->env_file, env->env_file);
	return 0;
}

int restore_storage_cmd(struct cli *c, int argc, char **argv)
{
	struct rst_args a;
	struct rst_run s;
	struct sb_env env;
	struct buf sj = BUF_INIT, fj = BUF_INIT;
	char id[65], rid[REPO_RESTORE_ID_SIZE];
	int64_t t0 = (int64_t)time(NULL);
	int ret, changed = 0, have_env = 0;

	memset(&a, 0, sizeof(a));
	memset(&s, 0, sizeof(s));
	ret = rst_parse(c, argc, argv, &a, 0);
	if (ret) {
		ret = ret < 0 ? CLI_EXIT_OK : ret;
		goto out;
	}
	if (argc - optind != 1) {
		ret = cli_usage_error(c, argc - optind < 1 ?
				      "need a snapshot (an id, a prefix or 'latest')" :
				      "too many arguments");
		goto out;
	}
	ret = rst_env(c, &a, &env);
	if (ret)
		goto out;
	have_env = 1;
	ret = CLI_EXIT_ERROR;
	if (cli_open(c, &s.r, a.dry_run ? 0 : CLI_OPEN_WRITE) ||
	    cli_resolve(c, s.r, argv[optind], id))
		goto out;
	if (rst_new_id(c, s.r, rid))
		goto out;
	s.c = c;
	s.snap_id = id;
	s.mode = a.mode;
	s.dry_run = a.dry_run;
	s.yes = a.yes;
	s.safety = a.safety;
	s.buckets = a.buckets.v;
	s.nbuckets_sel = a.buckets.n;
	s.paths = a.paths.v;
	s.npaths = a.paths.n;
	s.env = &env;
	ret = CLI_EXIT_OK;
	if (a.storage)
		ret = rst_storage(&s, rid, &sj, &changed);
	if (ret == CLI_EXIT_OK && a.functions) {
		changed |= !a.dry_run;
		struct restore_functions_opts fo;

		memset(&fo, 0, sizeof(fo));
		fo.slugs = a.fns.v;
		fo.nslugs = a.fns.n;
		fo.dry_run = a.dry_run;
		fo.safety = a.safety;
		fo.rid = rid;
		fo.source = env.api_url;
		ret = restore_functions_run(c, s.r, id, &env, &fo, &fj);
	}
	if (a.dry_run && ret == CLI_EXIT_OK)
		printf("dry run: nothing was changed\n");
	if (!a.dry_run && (changed || sj.len))
		ret = rst_keep_log(&s, rid, "restore", ret, &sj, &fj, t0);
out:
	rst_release(&s);
	repo_free(s.r);
	if (have_env)
		sb_env_release(&env);
	rst_args_release(&a);
	buf_release(&sj);
	buf_release(&fj);
	return ret;
}

/* ---- rollback ------------------------------------------------------------------ */

struct rst_find {
	const char *target, *want;
	int storage, functions;		/* which parts the rollback undoes */
	char id[REPO_RESTORE_ID_SIZE];
	struct buf doc;
	int found;
};

static int rst_find_cb(void *ctx, const char *id, const char *doc, size_t n)
{
	struct rst_find *f = ctx;
	struct json *j = NULL;
	const char *k, *t, *st;
	const struct json *fn;
	int use;

	if (f->want && strcmp(f->want, id))
		return 0;
	if (json_parse(&j, doc, n, NULL) < 0)
		return 0;
	k = json_get_str(j, "kind");
	t = json_get_str(j, "target");
	st = json_get_str(j, "status");
	fn = json_get(j, "functions");
	/* only restores carry "added" / "created": rollbacks are skipped */
	use = k && !strcmp(k, "storage") &&
		(t ? f->target && !strcmp(t, f->target) : !f->target) &&
		((f->storage && json_get(json_get(j, "storage"), "added")) ||
		 (f->functions && json_get(fn, "created"))) &&
		(f->want || (st && strcmp(st, "failed")));
	json_free(j);
	if (!use)
		return 0;
	buf_reset(&f->doc);
	if (buf_add(&f->doc, doc, n) < 0)
		return -ENOMEM;
	snprintf(f->id, sizeof(f->id), "%s", id);
	f->found = 1;
	return 0;
}

int restore_storage_rollback(struct cli *c, int argc, char **argv)
{
	struct rst_args a;
	struct rst_run s;
	struct rst_find f;
	struct sb_env env;
	struct json *j = NULL;
	const struct json *added, *sto, *fn, *fcreated;
	const char **drop = NULL;
	struct buf sj = BUF_INIT, fj = BUF_INIT, err = BUF_INIT;
	char rid[REPO_RESTORE_ID_SIZE];
	const char *safety;
	int64_t t0 = (int64_t)time(NULL);
	int ret, e, changed = 0, have_env = 0, do_fn;

	memset(&a, 0, sizeof(a));
	memset(&s, 0, sizeof(s));
	memset(&f, 0, sizeof(f));
	buf_init(&f.doc, 0);
	ret = rst_parse(c, argc, argv, &a, 1);
	if (ret) {
		ret = ret < 0 ? CLI_EXIT_OK : ret;
		goto out;
	}
	if (argc != optind) {
		ret = cli_usage_error(c, "too many arguments");
		goto out;
	}
	ret = rst_env(c, &a, &env);
	if (ret)
		goto out;
	have_env = 1;
	ret = CLI_EXIT_ERROR;
	if (cli_open(c, &s.r, a.dry_run ? 0 : CLI_OPEN_WRITE))
		goto out;
	f.target = env.storage_url;
	f.want = a.restore;
	f.storage = a.storage;
	f.functions = a.functions;
	e = repo_restore_list(s.r, rst_find_cb, &f, &err);
	if (e < 0) {
		cli_fail(c, e, &err, "cannot read the restore logs");
		goto out;
	}
	if (!f.found) {
		cli_error(c, a.restore ? "restore %s is not a storage or functions restore into %s" :
			  "no storage or functions restore into %s to roll back%s",
			  a.restore ? a.restore : env.storage_url,
			  a.restore ? env.storage_url : "");
		goto out;
	}
	if (json_parse(&j, f.doc.data, f.doc.len, &err) < 0)
		goto out;
	sto = json_get(j, "storage");
	added = json_get(sto, "added");
	safety = added && a.storage ? json_get_str(j, "safety_snapshot") : NULL;
	fn = json_get(j, "functions");
	fcreated = json_get(fn, "created");
	/* a storage rollback also undoes the log's functions part when the
	 * Management API settings are there */
	do_fn = fcreated && (a.functions || sb_env_has_functions(&env));
	if (!a.storage)
		added = NULL;
	/* the objects the restore added go; the safety snapshot's come back */
	s.nextra = json_len(added);
	if (s.nextra && !(s.extra_del = calloc(s.nextra, sizeof(*s.extra_del)))) {
		cli_error(c, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < s.nextra; i++) {
		const struct json *x = json_at(added, i);

		/* borrowed from j, which outlives the run */
		s.extra_del[i].bucket = (char *)json_get_str(x, "bucket");
		s.extra_del[i].name = (char *)json_get_str(x, "name");
		if (!s.extra_del[i].bucket || !s.extra_del[i].name) {
			cli_error(c, "restore log %s is damaged", f.id);
			goto out;
		}
	}
	if (rst_new_id(c, s.r, rid))
		goto out;
	s.c = c;
	s.mode = RST_MERGE;
	s.dry_run = a.dry_run;
	s.yes = a.yes;
	s.env = &env;
	s.rollback_of = f.id;
	s.snap_id = json_get_str(j, "snapshot");
	if (!safety && !s.nextra && (!do_fn || (!json_get_str(fn, "safety_snapshot") &&
						!json_len(fcreated)))) {
		printf("restore %s changed nothing that a rollback could undo\n", f.id);
		ret = CLI_EXIT_OK;
		goto out;
	}
	ret = CLI_EXIT_OK;
	if (!safety && !s.nextra) {
		/* no storage part to undo */
	} else if (safety) {
		s.snap_id = safety;
		ret = rst_storage(&s, rid, &sj, &changed);
	} else {
		/* nothing was overwritten: only the additions go */
		s.snap_id = json_get_str(j, "snapshot");
		s.npaths = 1;
		{
			static const char *const none[] = { "", NULL };

			s.paths = none;	/* matches no object name */
		}
		s.nbuckets_sel = 0;
		ret = rst_storage(&s, rid, &sj, &changed);
	}
	/* functions: the overwritten ones come back, the created ones go */
	if (ret == CLI_EXIT_OK && do_fn) {
		struct restore_functions_opts fo;
		size_t nd = json_len(fcreated);

		if (!(drop = calloc(nd + 1, sizeof(*drop)))) {
			cli_error(c, "out of memory");
			ret = CLI_EXIT_ERROR;
			goto out;
		}
		for (size_t i = 0; i < nd; i++)
			if (!(drop[i] = json_str(json_at(fcreated, i), NULL))) {
				cli_error(c, "restore log %s is damaged", f.id);
				ret = CLI_EXIT_ERROR;
				goto out;
			}
		memset(&fo, 0, sizeof(fo));
		fo.dry_run = a.dry_run;
		fo.rollback = 1;
		fo.drop = drop;
		fo.ndrop = nd;
		changed |= !a.dry_run;
		ret = restore_functions_run(c, s.r, json_get_str(fn, "safety_snapshot"),
					    &env, &fo, &fj);
	}
	if (a.dry_run && ret == CLI_EXIT_OK)
		printf("dry run: nothing was changed\n");
	if (!a.dry_run && (changed || sj.len || fj.len))
		ret = rst_keep_log(&s, rid, "rollback", ret, &sj, &fj, t0);
out:
	free(drop);
	free(s.extra_del);
	s.extra_del = NULL;
	rst_release(&s);
	repo_free(s.r);
	json_free(j);
	if (have_env)
		sb_env_release(&env);
	rst_args_release(&a);
	buf_release(&sj);
	buf_release(&fj);
	buf_release(&err);
	buf_release(&f.doc);
	return ret;
}

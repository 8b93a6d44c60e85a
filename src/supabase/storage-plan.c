/*
 * storage-plan: planning a Storage restore (storage-plan.h).  One plan
 * is:
 *   1. the snapshot's storage/ entries, read without their data: the
 *      buckets' .bucket.json and every object's storage.* attributes,
 *      selected by --bucket and --path;
 *   2. the selected buckets on the server (configuration, then a
 *      listing of the existing ones), and per bucket and object what to
 *      do: create or update buckets, upload or skip objects, (mirror)
 *      delete the extras.
 * Carrying the plan out is storage-exec.c's, with the same structures
 * (storage-plan-int.h), so a plan is read once and used by both.
 */
#include <errno.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "manifest.h"
#include "repo.h"
#include "sb-env.h"
#include "sb-http.h"
#include "snap-storage.h"
#include "storage-plan-int.h"

static const char *const storage_plan_mode_names[] = {
	"merge", "mirror", "empty"
};

const char *storage_plan_mode_name(enum storage_plan_mode m)
{
	return storage_plan_mode_names[m];
}

/* ---- small helpers ------------------------------------------------------- */

void *storage_plan_push(struct storage_plan_vec *v, size_t size)
{
	void *p;

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

/* *dst = a copy of s (NULL stays NULL); -ENOMEM when that failed. */
static int storage_plan_dup(char **dst, const char *s)
{
	*dst = s ? strdup(s) : NULL;
	return s && !*dst ? -ENOMEM : 0;
}

static int storage_plan_remote_cmp(const void *a, const void *b)
{
	const struct storage_plan_remote *x = a, *y = b;
	int d = strcmp(x->bucket, y->bucket);

	return d ? d : strcmp(x->name, y->name);
}

struct storage_plan_remote *storage_plan_remote_find(struct storage_plan *p,
						     const char *bucket,
						     const char *name)
{
	struct storage_plan_remote key = {
		.bucket = (char *)bucket, .name = (char *)name
	};

	if (!p->rem.n)
		return NULL;
	return bsearch(&key, p->rem.v, p->rem.n, sizeof(key),
		       storage_plan_remote_cmp);
}

static struct storage_plan_bucket *storage_plan_bucket_find(
	const struct storage_plan *p, const char *id)
{
	struct storage_plan_bucket *b = p->bk.v;

	for (size_t i = 0; i < p->bk.n; i++)
		if (!strcmp(b[i].id, id))
			return &b[i];
	return NULL;
}

static int storage_plan_bucket_selected(const struct storage_plan *p,
					const char *id)
{
	if (!p->o.nbuckets)
		return 1;
	for (size_t i = 0; i < p->o.nbuckets; i++)
		if (!strcmp(p->o.buckets[i], id))
			return 1;
	return 0;
}

int storage_plan_path_selected(const struct storage_plan *p, const char *name)
{
	if (!p->o.npaths)
		return 1;
	for (size_t i = 0; i < p->o.npaths; i++)
		if (fnmatch(p->o.paths[i], name, 0) == 0)
			return 1;
	return 0;
}

void storage_plan_quote(struct buf *out, const char *bucket, const char *name)
{
	buf_reset(out);
	if (buf_addstr(out, bucket) < 0 || buf_addch(out, '/') < 0 ||
	    sb_http_quote_name(out, name, strlen(name)) < 0)
		buf_reset(out);
}

static void storage_plan_remote_clear(struct storage_plan *p)
{
	struct storage_plan_remote *m = p->rem.v;

	for (size_t i = 0; i < p->rem.n; i++) {
		free(m[i].bucket);
		free(m[i].name);
		free(m[i].etag);
	}
	p->rem.n = 0;
}

int storage_plan_new(struct storage_plan **out, struct repo *r,
		     const struct sb_env *env,
		     const struct storage_plan_opts *o)
{
	struct storage_plan *p = calloc(1, sizeof(*p));

	*out = p;
	if (!p)
		return -ENOMEM;
	p->r = r;
	p->env = env;
	p->o = *o;
	return 0;
}

void storage_plan_free(struct storage_plan *p)
{
	struct storage_plan_bucket *b;
	struct storage_plan_obj *o;

	if (!p)
		return;
	b = p->bk.v;
	o = p->obj.v;
	for (size_t i = 0; i < p->bk.n; i++) {
		free(b[i].id);
		sb_storage_bucket_release(&b[i].cfg);
	}
	for (size_t i = 0; i < p->obj.n; i++) {
		free(o[i].bucket);
		free(o[i].name);
		free(o[i].path);
		free(o[i].etag);
		free(o[i].ctype);
		free(o[i].cache);
		free(o[i].meta);
	}
	storage_plan_remote_clear(p);
	free(p->bk.v);
	free(p->obj.v);
	free(p->rem.v);
	free(p->del.v);
	sb_storage_free(p->st);
	sb_http_free(p->http);
	free(p);
}

/* ---- 1. the snapshot's storage/ ------------------------------------------ */

static const char *storage_plan_attr(const struct manifest_entry *e,
				     const char *key)
{
	for (size_t i = 0; i < e->nattrs; i++)
		if (!strcmp(e->attrs[i].key, key))
			return e->attrs[i].value;
	return NULL;
}

static int storage_plan_sink_buf(void *ctx, const void *p, size_t n)
{
	return buf_add(ctx, p, n);
}

/* .bucket.json into a bucket's configuration. */
static int storage_plan_bucket_cfg(struct storage_plan_bucket *b,
				   const struct buf *doc, struct buf *err)
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
	if (storage_plan_dup(&b->cfg.id, b->id) < 0 ||
	    storage_plan_dup(&b->cfg.name, json_get_str(j, "name") ?
			     json_get_str(j, "name") : b->id) < 0 ||
	    storage_plan_dup(&b->cfg.type, json_get_str(j, "type")) < 0)
		goto out;
	b->have_cfg = 1;
	r = 0;
out:
	buf_release(&m);
	json_free(j);
	return r;
}

static struct storage_plan_bucket *storage_plan_bucket_add(
	struct storage_plan *p, const char *id)
{
	struct storage_plan_bucket *b = storage_plan_bucket_find(p, id);

	if (b)
		return b;
	b = storage_plan_push(&p->bk, sizeof(*b));
	if (b && !(b->id = strdup(id))) {
		p->bk.n--;
		return NULL;
	}
	return b;
}

/* storage/<bucket>/.bucket.json (the entry e, being read by it): the
 * bucket's configuration when the bucket is selected. */
static int storage_plan_read_bucket(struct storage_plan *p,
				    struct repo_iter *it,
				    const struct manifest_entry *e,
				    struct buf *doc, struct buf *err)
{
	struct storage_plan_bucket *b;
	struct json *j = NULL;
	const char *id;
	int r;

	buf_reset(doc);
	r = repo_iter_read(it, storage_plan_sink_buf, doc, err);
	if (r < 0)
		return r;
	r = json_parse(&j, doc->data, doc->len, err);
	id = r == 0 ? json_get_str(j, "id") : NULL;
	if (r == 0 && !id)
		r = -EBADMSG;
	if (r == 0 && storage_plan_bucket_selected(p, id)) {
		b = storage_plan_bucket_add(p, id);
		r = b ? storage_plan_bucket_cfg(b, doc, err) : -ENOMEM;
	}
	json_free(j);
	if (r < 0 && !err->len)
		buf_addf(err, "%s: not a bucket configuration", e->path);
	return r;
}

/* One object entry e of bucket / name into the plan. */
static int storage_plan_read_obj(struct storage_plan *p,
				 const struct manifest_entry *e,
				 const char *bucket, const char *name)
{
	struct storage_plan_obj *o;
	size_t pl = e->path_len;

	if (!storage_plan_bucket_add(p, bucket) ||
	    !(o = storage_plan_push(&p->obj, sizeof(*o))))
		return -ENOMEM;
	o->size = e->size;
	o->path = malloc(pl + 1);
	if (o->path)
		memcpy(o->path, e->path, pl + 1);
	if (!o->path || storage_plan_dup(&o->bucket, bucket) < 0 ||
	    storage_plan_dup(&o->name, name) < 0 ||
	    storage_plan_dup(&o->etag, storage_plan_attr(e, SNAP_STORAGE_ATTR_ETAG)) < 0 ||
	    storage_plan_dup(&o->ctype, storage_plan_attr(e, SNAP_STORAGE_ATTR_TYPE)) < 0 ||
	    storage_plan_dup(&o->cache, storage_plan_attr(e, SNAP_STORAGE_ATTR_CACHE)) < 0 ||
	    storage_plan_dup(&o->meta, storage_plan_attr(e, SNAP_STORAGE_ATTR_METADATA)) < 0)
		return -ENOMEM;
	return 0;
}

int storage_plan_read(struct storage_plan *p, struct buf *err)
{
	struct repo_iter *it = NULL;
	const struct manifest_entry *e;
	struct buf doc = BUF_INIT;
	int r = repo_iter_new(p->r, p->o.snap_id, &it, err);

	if (r < 0)
		return r;
	while ((r = repo_iter_next(it, &e, err)) == 1) {
		const char *bucket, *name;

		if (e->kind != MANIFEST_FILE ||
		    strncmp(e->path, SNAP_STORAGE_ROOT "/", 8))
			continue;
		bucket = storage_plan_attr(e, SNAP_STORAGE_ATTR_BUCKET);
		name = storage_plan_attr(e, SNAP_STORAGE_ATTR_NAME);
		if (!bucket || !name) {
			/* storage/<bucket>/.bucket.json */
			const char *slash = strchr(e->path + 8, '/');

			if (!slash || strcmp(slash, "/.bucket.json"))
				continue;
			r = storage_plan_read_bucket(p, it, e, &doc, err);
			if (r < 0)
				break;
			continue;
		}
		if (!storage_plan_bucket_selected(p, bucket) ||
		    !storage_plan_path_selected(p, name))
			continue;
		r = storage_plan_read_obj(p, e, bucket, name);
		if (r < 0)
			break;
	}
	repo_iter_free(it);
	buf_release(&doc);
	return r < 0 ? r : 0;
}

const char *storage_plan_missing_bucket(const struct storage_plan *p)
{
	for (size_t i = 0; i < p->o.nbuckets; i++)
		if (!storage_plan_bucket_find(p, p->o.buckets[i]))
			return p->o.buckets[i];
	return NULL;
}

/* ---- 2. the server's side and the plan ------------------------------------- */

static int storage_plan_list_cb(void *ctx, const char *bucket,
				const struct sb_storage_object *o)
{
	struct storage_plan *p = ctx;
	struct storage_plan_remote *m = storage_plan_push(&p->rem, sizeof(*m));

	if (!m)
		return -ENOMEM;
	m->size = o->size;
	if (storage_plan_dup(&m->bucket, bucket) < 0 ||
	    storage_plan_dup(&m->name, o->name) < 0 ||
	    storage_plan_dup(&m->etag, o->etag) < 0)
		return -ENOMEM;
	return 0;
}

int storage_plan_list_remote(struct storage_plan *p, struct buf *err)
{
	struct storage_plan_bucket *b = p->bk.v;

	storage_plan_remote_clear(p);
	for (size_t i = 0; i < p->bk.n; i++) {
		int r;

		if (!b[i].exists)
			continue;
		r = sb_storage_list(p->st, b[i].id, "", storage_plan_list_cb, p,
				    NULL, err);
		if (r < 0)
			return r;
	}
	if (p->rem.n)
		qsort(p->rem.v, p->rem.n, sizeof(struct storage_plan_remote),
		      storage_plan_remote_cmp);
	return 0;
}

static int storage_plan_cfg_differs(const struct sb_storage_bucket *a,
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

static int storage_plan_connect(struct storage_plan *p, struct buf *err)
{
	struct sb_http_opts ho;
	int r;

	memset(&ho, 0, sizeof(ho));
	if (p->o.backoff_ms) {
		ho.backoff_ms = p->o.backoff_ms;
		ho.backoff_max_ms = p->o.backoff_ms * 4;
	}
	r = sb_http_new(&p->http, &ho, err);
	if (r == 0)
		r = sb_storage_new(&p->st, p->http, p->env->storage_url,
				   p->env->service_key, err);
	return r;
}

/* Which buckets are to be created or updated. */
static int storage_plan_buckets(struct storage_plan *p, struct buf *err)
{
	struct storage_plan_bucket *b = p->bk.v;

	for (size_t i = 0; i < p->bk.n; i++) {
		struct sb_storage_bucket cur;
		int r;

		memset(&cur, 0, sizeof(cur));
		buf_reset(err);
		r = sb_storage_bucket_get(p->st, b[i].id, &cur, err);
		if (r == -ENOENT) {
			b[i].create = 1;
			p->n_create++;
			continue;
		}
		if (r < 0)
			return r;
		b[i].exists = 1;
		if (b[i].have_cfg && p->o.mode != STORAGE_PLAN_EMPTY &&
		    storage_plan_cfg_differs(&b[i].cfg, &cur)) {
			b[i].update = 1;
			p->n_update++;
		}
		sb_storage_bucket_release(&cur);
	}
	return 0;
}

/* What the remote objects the snapshot does not hold mean for mode. */
static int storage_plan_extras(struct storage_plan *p, struct buf *err)
{
	struct storage_plan_remote *m = p->rem.v;

	for (size_t i = 0; i < p->rem.n; i++) {
		size_t *d;

		if (m[i].keep || !storage_plan_path_selected(p, m[i].name))
			continue;
		if (p->o.mode == STORAGE_PLAN_EMPTY) {
			struct buf q = BUF_INIT;

			storage_plan_quote(&q, m[i].bucket, m[i].name);
			buf_reset(err);
			buf_addf(err, "--mode empty: bucket %s already holds objects (e.g. %s)",
				 m[i].bucket, (const char *)q.data);
			buf_release(&q);
			return -EEXIST;
		}
		if (p->o.mode != STORAGE_PLAN_MIRROR)
			continue;
		if (!(d = storage_plan_push(&p->del, sizeof(*d))))
			return -ENOMEM;
		*d = i;
	}
	return 0;
}

int storage_plan_make(struct storage_plan *p, struct buf *err)
{
	struct storage_plan_obj *o = p->obj.v;
	int r = storage_plan_connect(p, err);

	if (r == 0)
		r = storage_plan_buckets(p, err);
	if (r < 0)
		return r;
	buf_reset(err);
	r = storage_plan_list_remote(p, err);
	if (r < 0)
		return r;
	for (size_t i = 0; i < p->obj.n; i++) {
		struct storage_plan_remote *m =
			storage_plan_remote_find(p, o[i].bucket, o[i].name);

		if (m)
			m->keep = 1;
		if (!m) {
			o[i].act = STORAGE_PLAN_NEW;
			p->n_new++;
		} else if (m->size == o[i].size && m->etag && o[i].etag &&
			   !strcmp(m->etag, o[i].etag)) {
			o[i].act = STORAGE_PLAN_SKIP;
			p->n_skip++;
		} else {
			o[i].act = STORAGE_PLAN_OVERWRITE;
			p->n_over++;
		}
	}
	r = storage_plan_extras(p, err);
	if (r < 0)
		return r;
	if (p->o.mode == STORAGE_PLAN_EMPTY && p->n_skip + p->n_over) {
		buf_reset(err);
		buf_addf(err, "--mode empty: the selected buckets already hold objects");
		return -EEXIST;
	}
	return 0;
}

/* ---- the plan, handed out ----------------------------------------------------- */

void storage_plan_counts(const struct storage_plan *p,
			 struct storage_plan_counts *out)
{
	memset(out, 0, sizeof(*out));
	out->create = p->n_create;
	out->update = p->n_update;
	out->upload_new = p->n_new;
	out->upload_changed = p->n_over;
	out->unchanged = p->n_skip;
	out->del = p->del.n;
	out->extra = p->o.nextra;
	out->objects = p->obj.n;
}

int storage_plan_each(const struct storage_plan *p, storage_plan_fn fn,
		      void *ctx)
{
	const struct storage_plan_bucket *b = p->bk.v;
	const struct storage_plan_obj *o = p->obj.v;
	const struct storage_plan_remote *m = p->rem.v;
	const size_t *d = p->del.v;
	struct storage_plan_item it;
	int r;

	for (size_t i = 0; i < p->bk.n; i++) {
		if (!b[i].create && !b[i].update)
			continue;
		it = (struct storage_plan_item){
			b[i].create ? STORAGE_PLAN_CREATE_BUCKET :
			STORAGE_PLAN_UPDATE_BUCKET, b[i].id, NULL, 0
		};
		if ((r = fn(ctx, &it)))
			return r;
	}
	for (size_t i = 0; i < p->obj.n; i++) {
		if (o[i].act == STORAGE_PLAN_SKIP)
			continue;
		it = (struct storage_plan_item){
			STORAGE_PLAN_UPLOAD, o[i].bucket, o[i].name,
			o[i].act == STORAGE_PLAN_NEW
		};
		if ((r = fn(ctx, &it)))
			return r;
	}
	for (size_t i = 0; i < p->del.n; i++) {
		it = (struct storage_plan_item){
			STORAGE_PLAN_DELETE, m[d[i]].bucket, m[d[i]].name, 0
		};
		if ((r = fn(ctx, &it)))
			return r;
	}
	for (size_t i = 0; i < p->o.nextra; i++) {
		it = (struct storage_plan_item){
			STORAGE_PLAN_DELETE, p->o.extra_del[i].bucket,
			p->o.extra_del[i].name, 0
		};
		if ((r = fn(ctx, &it)))
			return r;
	}
	return 0;
}

/*
 * snap-storage: Supabase Storage into a snapshot (see snap-storage.h):
 * the manifest path of an object name, the object's lifecycle, and
 * open, which builds the entry list.
 *
 * open lists buckets and objects (sb-storage), builds every entry of
 * storage/ with its manifest path, sorts them in manifest order, and
 * has snap-storage-prev.c look each object up in the previous snapshot
 * of the same project.  Asking and downloading what changed, judging
 * the drift and writing the entries are the other parts' (see
 * snap-storage-int.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "extract.h"
#include "json.h"
#include "repo.h"
#include "sb-env.h"
#include "sb-storage.h"
#include "snap-storage-int.h"

#define SNAP_STORAGE_SEG_MAX 200
#define SNAP_STORAGE_SEG_CUT 180

/* ---- names ---------------------------------------------------------------- */

static int snap_storage_has_suffix(const char *s, size_t n, const char *suf)
{
	size_t l = strlen(suf);

	return n >= l && memcmp(s + n - l, suf, l) == 0;
}

int snap_storage_encode_segment(struct buf *out, const char *seg, size_t n,
				int top)
{
	static const char meta_suffix[] = ".vault-meta.json";
	struct buf t = BUF_INIT;
	unsigned char h[8];
	size_t cut;
	int r;

	if (top && n == 12 && memcmp(seg, ".bucket.json", 12) == 0) {
		r = buf_addstr(&t, "%2Ebucket.json");
	} else if (snap_storage_has_suffix(seg, n, meta_suffix)) {
		size_t dot = n - (sizeof(meta_suffix) - 1);

		r = extract_encode_segment(&t, seg, dot);
		/* an empty stem encodes as "%00"; the suffix follows */
		if (r == 0 && dot == 0)
			buf_reset(&t);
		if (r == 0)
			r = buf_addstr(&t, "%2Evault-meta.json");
	} else {
		r = extract_encode_segment(&t, seg, n);
	}
	if (r == 0 && t.len > SNAP_STORAGE_SEG_MAX) {
		/* never cut inside a %XX */
		cut = SNAP_STORAGE_SEG_CUT;
		if (t.data[cut - 1] == '%')
			cut -= 1;
		else if (t.data[cut - 2] == '%')
			cut -= 2;
		crypto_generichash(h, sizeof(h), (const unsigned char *)seg, n,
				   NULL, 0);
		buf_setlen(&t, cut);
		r = buf_addstr(&t, "%~");
		for (size_t i = 0; r == 0 && i < sizeof(h); i++)
			r = buf_addf(&t, "%02x", h[i]);
	}
	if (r == 0)
		r = buf_add(out, t.data, t.len);
	buf_release(&t);
	return r;
}

int snap_storage_encode_bucket(struct buf *out, const char *bucket)
{
	size_t n = strlen(bucket);

	/* the drift report's name is taken in storage/ */
	if (n == sizeof(SNAP_STORAGE_DRIFT_NAME) - 1 &&
	    memcmp(bucket, SNAP_STORAGE_DRIFT_NAME, n) == 0)
		return buf_addf(out, "%%2E%s", SNAP_STORAGE_DRIFT_NAME + 1);
	return snap_storage_encode_segment(out, bucket, n, 0);
}

int snap_storage_encode_name(struct buf *out, const char *name, size_t n)
{
	size_t i = 0, j;
	int r = 0, top = 1;

	for (;;) {
		for (j = i; j < n && name[j] != '/'; j++)
			;
		if (!top)
			r = buf_addch(out, '/');
		if (r == 0)
			r = snap_storage_encode_segment(out, name + i, j - i, top);
		if (r < 0 || j >= n)
			return r;
		i = j + 1;
		top = 0;
	}
}

/* ---- lifecycle ------------------------------------------------------------ */

struct snap_storage *snap_storage_new(const struct sb_env *env,
				      const struct snap_storage_opts *o)
{
	struct snap_storage *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->env = env;
	if (o)
		s->o = *o;
	if (!s->o.jobs)
		s->o.jobs = SNAP_STORAGE_DEFAULT_JOBS;
	s->failed = SIZE_MAX;
	buf_init(&s->err, 0);
	buf_init(&s->head.body, 0);
	return s;
}

/* Not e->stream: streams belong to the writer, and snap_storage_emit
 * never leaves one behind. */
static void snap_storage_ent_release(struct snap_storage_ent *e)
{
	free(e->why);
	free(e->path);
	free(e->bucket);
	free(e->name);
	free(e->etag);
	free(e->mimetype);
	free(e->cache);
	free(e->modified);
	free(e->metadata);
	free(e->json);
}

void snap_storage_free(struct snap_storage *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->nents; i++)
		snap_storage_ent_release(&s->ents[i]);
	free(s->ents);
	snap_storage_prev_free(s);
	snap_storage_rows_free(s);
	free(s->idx);
	sb_storage_free(s->st);
	sb_http_free(s->http);
	buf_release(&s->err);
	sb_http_resp_release(&s->head);
	free(s);
}

void snap_storage_rows_free(struct snap_storage *s)
{
	for (size_t i = 0; i < s->nrows; i++) {
		free(s->rows[i].key);
		free(s->rows[i].etag);
		free(s->rows[i].modified);
	}
	free(s->rows);
	s->rows = NULL;
	s->nrows = s->caprows = 0;
}

const char *snap_storage_source(const struct snap_storage *s)
{
	return s->env->storage_url;
}

const struct snap_storage_stats *
snap_storage_get_stats(const struct snap_storage *s)
{
	return &s->stats;
}

int snap_storage_failed_object(const struct snap_storage *s,
			       const char **bucket, const char **name,
			       size_t *name_len)
{
	const struct snap_storage_ent *e;

	if (s->failed >= s->nents)
		return 0;
	e = &s->ents[s->failed];
	*bucket = e->bucket;
	*name = e->name;
	*name_len = e->name_len;
	return 1;
}

int snap_storage_missing_next(const struct snap_storage *s, size_t *pos,
			      const char **bucket, const char **name,
			      size_t *name_len)
{
	for (; *pos < s->nents; (*pos)++) {
		const struct snap_storage_ent *e = &s->ents[*pos];

		if (e->kind != SS_OBJECT || e->missing != 1)
			continue;
		*bucket = e->bucket;
		*name = e->name;
		*name_len = e->name_len;
		(*pos)++;
		return 1;
	}
	return 0;
}

/* ---- building the entries --------------------------------------------------- */

struct snap_storage_ent *snap_storage_add(struct snap_storage *s)
{
	struct snap_storage_ent *e;

	if ((s->nents & (s->nents - 1)) == 0) {
		size_t cap = s->nents ? s->nents * 2 : 64;
		void *p = realloc(s->ents, cap * sizeof(*s->ents));

		if (!p)
			return NULL;
		s->ents = p;
	}
	e = &s->ents[s->nents++];
	memset(e, 0, sizeof(*e));
	return e;
}

char *snap_storage_strdup(const char *v)
{
	return v ? strdup(v) : NULL;
}

static int snap_storage_set_path(struct snap_storage_ent *e, struct buf *p)
{
	e->path = buf_detach(p, &e->path_len);
	return e->path ? 0 : -ENOMEM;
}

/* "storage/<enc bucket>" into p. */
static int snap_storage_bucket_path(struct buf *p, const char *bucket)
{
	int r = buf_addstr(p, SNAP_STORAGE_ROOT "/");

	return r ? r : snap_storage_encode_bucket(p, bucket);
}

static int snap_storage_list_cb(void *ctx, const char *bucket,
				const struct sb_storage_object *o)
{
	struct snap_storage *s = ctx;
	struct snap_storage_ent *e = snap_storage_add(s);
	struct buf p = BUF_INIT;
	int r;

	if (!e)
		return -ENOMEM;
	e->kind = SS_OBJECT;
	r = snap_storage_bucket_path(&p, bucket);
	if (r == 0)
		r = buf_addch(&p, '/');
	if (r == 0)
		r = snap_storage_encode_name(&p, o->name, strlen(o->name));
	if (r == 0)
		r = snap_storage_set_path(e, &p);
	buf_release(&p);
	e->bucket = strdup(bucket);
	e->name = strdup(o->name);
	e->name_len = strlen(o->name);
	e->size = o->size;
	e->etag = snap_storage_strdup(o->etag);
	e->mimetype = snap_storage_strdup(o->mimetype);
	e->cache = snap_storage_strdup(o->cache_control);
	e->modified = snap_storage_strdup(o->last_modified ? o->last_modified
					  : o->updated_at);
	/* newer servers list the user metadata: no info request needed */
	e->have_md = o->has_user_metadata;
	e->metadata = snap_storage_strdup(o->user_metadata_json);
	if (r < 0 || !e->bucket || !e->name ||
	    (o->etag && !e->etag) || (o->mimetype && !e->mimetype) ||
	    (o->cache_control && !e->cache) || !e->modified ||
	    (o->user_metadata_json && !e->metadata))
		return -ENOMEM;
	s->stats.objects++;
	return 0;
}

static int snap_storage_bucket_json(const struct sb_storage_bucket *b,
				    struct buf *out)
{
	int r = buf_addstr(out, "{\"id\": ");

	if (r == 0)
		r = json_quote(out, b->id, strlen(b->id));
	if (r == 0)
		r = buf_addstr(out, ", \"name\": ");
	if (r == 0)
		r = json_quote(out, b->name ? b->name : b->id,
				  strlen(b->name ? b->name : b->id));
	if (r == 0)
		r = buf_addf(out, ", \"public\": %s, \"file_size_limit\": ",
			     b->is_public ? "true" : "false");
	if (r == 0)
		r = b->file_size_limit < 0 ? buf_addstr(out, "null")
			: buf_addf(out, "%lld", (long long)b->file_size_limit);
	if (r == 0)
		r = buf_addstr(out, ", \"allowed_mime_types\": ");
	if (r == 0)
		r = buf_addstr(out, b->allowed_mime_types ? b->allowed_mime_types
			       : "null");
	if (r == 0)
		r = buf_addstr(out, ", \"type\": ");
	if (r == 0)
		r = b->type ? json_quote(out, b->type, strlen(b->type))
			: buf_addstr(out, "null");
	if (r == 0)
		r = buf_addstr(out, "}\n");
	return r;
}

int snap_storage_ent_cmp(const void *a, const void *b)
{
	const struct snap_storage_ent *x = a, *y = b;

	return manifest_path_cmp(x->path, x->path_len, y->path, y->path_len);
}

/* Folders: a directory entry for every proper prefix of an object path
 * below storage/<bucket>/ (which has its own); duplicates are dropped
 * after sorting (snap_storage_dedup_dirs). */
static int snap_storage_add_dirs(struct snap_storage *s)
{
	size_t n = s->nents;
	struct buf p = BUF_INIT;
	int r = 0;

	for (size_t i = 0; i < n && r == 0; i++) {
		const char *q;
		size_t start, len;

		if (s->ents[i].kind != SS_OBJECT)
			continue;
		/* skip "storage/<bucket>/" */
		q = memchr(s->ents[i].path + 8, '/', s->ents[i].path_len - 8);
		start = (size_t)(q - s->ents[i].path) + 1;
		len = s->ents[i].path_len;
		for (size_t k = start; k < len && r == 0; k++) {
			struct snap_storage_ent *d;

			if (s->ents[i].path[k] != '/')
				continue;
			buf_reset(&p);
			r = buf_add(&p, s->ents[i].path, k);
			if (r == 0 && !(d = snap_storage_add(s)))
				r = -ENOMEM;
			if (r == 0) {
				d->kind = SS_DIR;
				r = snap_storage_set_path(d, &p);
			}
		}
	}
	buf_release(&p);
	return r;
}

static void snap_storage_dedup_dirs(struct snap_storage *s)
{
	size_t o = 0;

	for (size_t i = 0; i < s->nents; i++) {
		struct snap_storage_ent *e = &s->ents[i];

		if (o && e->kind == SS_DIR && s->ents[o - 1].kind == SS_DIR &&
		    snap_storage_ent_cmp(e, &s->ents[o - 1]) == 0) {
			snap_storage_ent_release(e);
			continue;
		}
		s->ents[o++] = *e;
	}
	s->nents = o;
}

/* An object whose path is also a folder of other objects ("a" and
 * "a/b" both exist) gets "%~" appended, which no encoded name ends in. */
static int snap_storage_fix_clashes(struct snap_storage *s)
{
	int again = 0;

	for (size_t i = 0; i + 1 < s->nents; i++) {
		struct snap_storage_ent *e = &s->ents[i], *f = &s->ents[i + 1];
		char *p;

		if (e->kind == SS_DIR && f->kind == SS_OBJECT &&
		    e->path_len == f->path_len &&
		    !memcmp(e->path, f->path, e->path_len))
			e = f;	/* the folder's entry sorted first */
		else if (e->kind != SS_OBJECT || f->path_len < e->path_len ||
			 memcmp(f->path, e->path, e->path_len) ||
			 (f->path_len > e->path_len && f->path[e->path_len] != '/'))
			continue;
		p = realloc(e->path, e->path_len + 3);
		if (!p)
			return -ENOMEM;
		memcpy(p + e->path_len, "%~", 3);
		e->path = p;
		e->path_len += 2;
		again = 1;
	}
	if (again)
		qsort(s->ents, s->nents, sizeof(*s->ents), snap_storage_ent_cmp);
	return 0;
}

/* ---- open ------------------------------------------------------------------- */

/* storage/ and every bucket's directory and configuration. */
static int snap_storage_add_buckets(struct snap_storage *s,
				    const struct sb_storage_bucket *b,
				    size_t nb)
{
	struct snap_storage_ent *e = snap_storage_add(s);
	struct buf p = BUF_INIT;
	int rc = -ENOMEM;

	if (!e)
		goto out;
	e->kind = SS_DIR;
	if (buf_addstr(&p, SNAP_STORAGE_ROOT) < 0 ||
	    snap_storage_set_path(e, &p) < 0)
		goto out;
	for (size_t i = 0; i < nb; i++) {
		struct snap_storage_ent *d = snap_storage_add(s), *j;

		if (!d)
			goto out;
		d->kind = SS_DIR;
		buf_reset(&p);
		if (snap_storage_bucket_path(&p, b[i].id) < 0 ||
		    snap_storage_set_path(d, &p) < 0)
			goto out;
		j = snap_storage_add(s);
		if (!j)
			goto out;
		j->kind = SS_BUCKET_JSON;
		buf_reset(&p);
		if (snap_storage_bucket_path(&p, b[i].id) < 0 ||
		    buf_addstr(&p, "/.bucket.json") < 0 ||
		    snap_storage_set_path(j, &p) < 0)
			goto out;
		buf_reset(&p);
		if (snap_storage_bucket_json(&b[i], &p) < 0 ||
		    !(j->json = buf_detach(&p, NULL)))
			goto out;
	}
	rc = 0;
out:
	buf_release(&p);
	return rc;
}

/* Sorts the entries and adds the folders; -EINVAL (out says why) when
 * two entries would have the same path. */
static int snap_storage_sort(struct snap_storage *s, struct buf *out)
{
	int rc;

	qsort(s->ents, s->nents, sizeof(*s->ents), snap_storage_ent_cmp);
	rc = snap_storage_add_dirs(s);
	if (rc < 0)
		return rc;
	qsort(s->ents, s->nents, sizeof(*s->ents), snap_storage_ent_cmp);
	snap_storage_dedup_dirs(s);
	rc = snap_storage_fix_clashes(s);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i + 1 < s->nents; i++) {
		if (snap_storage_ent_cmp(&s->ents[i], &s->ents[i + 1]) == 0) {
			/* cannot happen short of a hash collision */
			buf_addstr(out, "two objects map to the same path ");
			sb_http_quote_name(out, s->ents[i].path,
					   s->ents[i].path_len);
			return -EINVAL;
		}
	}
	return 0;
}

int snap_storage_open(struct snap_storage *s, struct repo *r,
		      struct buf *out)
{
	struct sb_http_opts ho;
	struct sb_storage_bucket *b = NULL;
	struct buf err = BUF_INIT;
	size_t nb = 0;
	int rc;

	buf_reset(out);
	memset(&ho, 0, sizeof(ho));
	ho.jobs = s->o.jobs;
	if (s->o.backoff_ms) {
		ho.backoff_ms = s->o.backoff_ms;
		ho.backoff_max_ms = s->o.backoff_ms * 4;
	}
	rc = sb_http_new(&s->http, &ho, &err);
	if (rc == 0)
		rc = sb_storage_new(&s->st, s->http, s->env->storage_url,
				    s->env->service_key, &err);
	if (rc == 0)
		rc = sb_storage_buckets(s->st, &b, &nb, &err);
	if (rc < 0) {
		buf_addstr(out, err.len ? (const char *)err.data
			   : strerror(-rc));
		goto out;
	}
	s->stats.buckets = nb;
	rc = snap_storage_add_buckets(s, b, nb);
	if (rc < 0)
		goto out;
	for (size_t i = 0; i < nb; i++) {
		uint64_t req = 0;

		rc = sb_storage_list(s->st, b[i].id, "", snap_storage_list_cb, s,
				     &req, &err);
		s->stats.list_requests += req;
		if (rc < 0) {
			buf_addf(out, "cannot list bucket %s: %s", b[i].id,
				 err.len ? (const char *)err.data
				 : strerror(-rc));
			goto out;
		}
	}
	rc = snap_storage_sort(s, out);
	if (rc < 0)
		goto out;
	rc = snap_storage_prev_load(s, r, &err);
	if (rc < 0) {
		buf_addf(out, "cannot read the previous snapshot: %s",
			 err.len ? (const char *)err.data : strerror(-rc));
		goto out;
	}
	snap_storage_prev_match(s);
out:
	sb_storage_buckets_free(b, nb);
	buf_release(&err);
	return rc;
}

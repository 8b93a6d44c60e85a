/*
 * snap-storage: Supabase Storage into a snapshot (see snap-storage.h).
 *
 * open: lists buckets and objects (sb-storage), builds every entry of
 * storage/ with its manifest path, sorts them in manifest order, and
 * looks each object up in the previous snapshot of the same project
 * (found by the "storage"."project" member of the snapshot records'
 * meta_json).  An object whose eTag, size and last-modified match is
 * reused (repo_writer_file_chunks); the others are downloaded.
 *
 * emit: user metadata of the changed objects (one /object/info request
 * each: the listing does not carry it), then sb_storage_download_many
 * over the changed objects in manifest order.  Each download streams
 * into a detached stream; when it ends, every entry up to it (folders,
 * reused objects, bucket configurations) is emitted and then it, so the
 * writer sees strictly increasing paths while transfers overlap.  A
 * failed object either stops everything (nothing committed) or, with
 * allow_partial, is dropped and reported through left_out.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "extract.h"
#include "json.h"
#include "manifest.h"
#include "repo.h"
#include "sb-env.h"
#include "sb-http.h"
#include "sb-storage.h"
#include "snap-storage.h"

#define SNAP_STORAGE_SEG_MAX 200
#define SNAP_STORAGE_SEG_CUT 180

enum snap_storage_kind { SS_DIR, SS_BUCKET_JSON, SS_OBJECT };

/* One object of the previous snapshot, with its chunk list. */
struct snap_storage_prev {
	char *key;			/* bucket NUL name (keylen bytes) */
	size_t keylen;
	char *etag, *modified, *metadata;
	uint64_t size;
	struct repo_chunkref *chunks;
	size_t nchunks;
};

struct snap_storage_ent {
	int kind;
	char *path;			/* manifest path */
	size_t path_len;
	char *bucket;			/* object: bucket id and exact name */
	char *name;
	size_t name_len;
	uint64_t size;
	char *etag, *mimetype, *cache, *modified, *metadata;
	char *json;			/* bucket: .bucket.json text */
	const struct snap_storage_prev *prev;	/* reusable */
	int missing;			/* 1 left out, -1 deleted meanwhile */
};

struct snap_storage {
	const struct sb_env *env;
	struct snap_storage_opts o;
	struct sb_http *http;
	struct sb_storage *st;
	struct snap_storage_ent *ents;
	size_t nents;
	struct snap_storage_prev *prev;
	size_t nprev;
	char prev_id[65];
	struct snap_storage_stats stats;
	/* emit */
	struct repo_writer *w;
	int64_t mtime_ns;
	size_t next;			/* first entry not yet emitted */
	size_t *dl;			/* entry index of each download */
	struct repo_stream *stream;
	struct sb_http_resp head;	/* the current download's headers */
	struct buf err;			/* why a sink callback failed */
};

static void snap_storage_prev_free(struct snap_storage *s);

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
	buf_init(&s->err, 0);
	buf_init(&s->head.body, 0);
	return s;
}

static void snap_storage_ent_release(struct snap_storage_ent *e)
{
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
	free(s->dl);
	repo_stream_free(s->stream);
	sb_storage_free(s->st);
	sb_http_free(s->http);
	buf_release(&s->err);
	sb_http_resp_release(&s->head);
	free(s);
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

static struct snap_storage_ent *snap_storage_add(struct snap_storage *s)
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

static char *snap_storage_strdup(const char *v)
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

	return r ? r : snap_storage_encode_segment(p, bucket, strlen(bucket), 0);
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
	if (r < 0 || !e->bucket || !e->name ||
	    (o->etag && !e->etag) || (o->mimetype && !e->mimetype) ||
	    (o->cache_control && !e->cache) || !e->modified)
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

static int snap_storage_ent_cmp(const void *a, const void *b)
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

/* ---- the previous snapshot ------------------------------------------------- */

struct snap_storage_prev_find {
	const char *project;
	char id[65];
	int found;
};

static int snap_storage_prev_find_cb(const struct repo_snapinfo *si,
				     void *ctx)
{
	struct snap_storage_prev_find *f = ctx;
	struct json *j = NULL;
	const char *p;

	if (!si->meta_json ||
	    json_parse(&j, si->meta_json, strlen(si->meta_json), NULL) < 0)
		return 0;
	p = json_get_str(json_get(j, "storage"), "project");
	if (p && strcmp(p, f->project) == 0) {
		/* oldest first: the last match is the newest */
		memcpy(f->id, si->id, sizeof(f->id));
		f->found = 1;
	}
	json_free(j);
	return 0;
}

static const char *snap_storage_prev_attr(const struct manifest_entry *e,
					  const char *key, size_t *len)
{
	for (size_t i = 0; i < e->nattrs; i++)
		if (strcmp(e->attrs[i].key, key) == 0) {
			if (len)
				*len = e->attrs[i].value_len;
			return e->attrs[i].value;
		}
	return NULL;
}

static int snap_storage_prev_cmp(const void *a, const void *b)
{
	const struct snap_storage_prev *x = a, *y = b;
	size_t n = x->keylen < y->keylen ? x->keylen : y->keylen;
	int c = memcmp(x->key, y->key, n);

	return c ? c : (x->keylen > y->keylen) - (x->keylen < y->keylen);
}

static int snap_storage_prev_load(struct snap_storage *s, struct repo *r,
				  struct buf *err)
{
	struct snap_storage_prev_find f = { s->env->storage_url, "", 0 };
	struct repo_iter *it = NULL;
	const struct manifest_entry *e;
	size_t cap = 0;
	int rc;

	rc = repo_snapshot_list(r, NULL, snap_storage_prev_find_cb, &f, err);
	if (rc < 0 || !f.found)
		return rc < 0 ? rc : 0;
	memcpy(s->prev_id, f.id, sizeof(f.id));
	rc = repo_iter_new(r, f.id, &it, err);
	while (rc >= 0 && (rc = repo_iter_next(it, &e, err)) == 1) {
		const char *bucket, *name, *etag, *mod, *md, *size;
		const struct manifest_chunk *ch;
		struct snap_storage_prev *p;
		size_t nlen = 0, nch, blen = 0;

		if (e->kind != MANIFEST_FILE ||
		    strncmp(e->path, SNAP_STORAGE_ROOT "/", 8) != 0)
			continue;
		bucket = snap_storage_prev_attr(e, SNAP_STORAGE_ATTR_BUCKET,
						&blen);
		name = snap_storage_prev_attr(e, SNAP_STORAGE_ATTR_NAME, &nlen);
		etag = snap_storage_prev_attr(e, SNAP_STORAGE_ATTR_ETAG, NULL);
		mod = snap_storage_prev_attr(e, SNAP_STORAGE_ATTR_MODIFIED,
					     NULL);
		size = snap_storage_prev_attr(e, SNAP_STORAGE_ATTR_SIZE, NULL);
		md = snap_storage_prev_attr(e, SNAP_STORAGE_ATTR_METADATA,
					    NULL);
		if (!bucket || !name || !etag || !mod || !size)
			continue;
		rc = repo_iter_chunks(it, &ch, &nch, err);
		if (rc < 0)
			break;
		if (s->nprev == cap) {
			void *q;

			cap = cap ? cap * 2 : 256;
			q = realloc(s->prev, cap * sizeof(*s->prev));
			if (!q) {
				rc = -ENOMEM;
				break;
			}
			s->prev = q;
		}
		p = &s->prev[s->nprev];
		memset(p, 0, sizeof(*p));
		p->keylen = blen + 1 + nlen;
		p->key = malloc(p->keylen + 1);
		p->etag = strdup(etag);
		p->modified = strdup(mod);
		p->metadata = md ? strdup(md) : NULL;
		p->chunks = nch ? malloc(nch * sizeof(*p->chunks)) : NULL;
		s->nprev++;
		if (!p->key || !p->etag || !p->modified || (md && !p->metadata) ||
		    (nch && !p->chunks)) {
			rc = -ENOMEM;
			break;
		}
		memcpy(p->key, bucket, blen);
		p->key[blen] = '\0';
		memcpy(p->key + blen + 1, name, nlen);
		p->key[p->keylen] = '\0';
		p->size = e->size;
		for (size_t i = 0; i < nch; i++) {
			memcpy(p->chunks[i].id, ch[i].id, sizeof(p->chunks[i].id));
			p->chunks[i].len = ch[i].len;
		}
		p->nchunks = nch;
	}
	repo_iter_free(it);
	if (rc < 0)
		return rc;
	qsort(s->prev, s->nprev, sizeof(*s->prev), snap_storage_prev_cmp);
	return 0;
}

static void snap_storage_prev_match(struct snap_storage *s)
{
	struct buf k = BUF_INIT;

	for (size_t i = 0; i < s->nents && s->nprev; i++) {
		struct snap_storage_ent *e = &s->ents[i];
		struct snap_storage_prev key, *p;

		if (e->kind != SS_OBJECT || !e->etag)
			continue;
		buf_reset(&k);
		buf_addstr(&k, e->bucket);
		buf_addch(&k, '\0');
		buf_add(&k, e->name, e->name_len);
		key.key = (char *)k.data;
		key.keylen = k.len;
		p = bsearch(&key, s->prev, s->nprev, sizeof(*s->prev),
			    snap_storage_prev_cmp);
		if (p && p->size == e->size && strcmp(p->etag, e->etag) == 0 &&
		    strcmp(p->modified, e->modified) == 0)
			e->prev = p;
	}
	buf_release(&k);
}

static void snap_storage_prev_free(struct snap_storage *s)
{
	for (size_t i = 0; i < s->nprev; i++) {
		free(s->prev[i].key);
		free(s->prev[i].etag);
		free(s->prev[i].modified);
		free(s->prev[i].metadata);
		free(s->prev[i].chunks);
	}
	free(s->prev);
	s->prev = NULL;
	s->nprev = 0;
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

/* ---- emit ------------------------------------------------------------------- */

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

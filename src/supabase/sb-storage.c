/*
 * sb-storage: Supabase Storage buckets and objects: recursive paged
 * listing, streamed and ordered concurrent downloads, uploads with
 * metadata, bulk deletes.  See sb-storage.h.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "json.h"
#include "sb-storage.h"

#define SB_STORAGE_MAX_PREFIX 8192
#define SB_STORAGE_DL_BUFFER (4u << 20)

struct sb_storage {
	struct sb_http *h;
	char *url;
	char *hdr_apikey;
	char *hdr_auth;
	unsigned page;
};

static void sb_storage_wipe(char *s)
{
	if (s) {
		sodium_memzero(s, strlen(s));
		free(s);
	}
}

static void sb_storage_copyerr(struct buf *err, const struct buf *from)
{
	if (!err || !from || err == from)
		return;
	buf_reset(err);
	buf_add(err, from->data, from->len);
}

int sb_storage_new(struct sb_storage **stp, struct sb_http *h, const char *url,
		   const char *service_key, struct buf *err)
{
	struct sb_storage *st;
	size_t n, i;

	*stp = NULL;
	if (!url || !*url || !service_key || !*service_key) {
		buf_seterr(err, "Storage needs a URL and a service role key");
		return -EINVAL;
	}
	for (i = 0; service_key[i]; i++)
		if ((unsigned char)service_key[i] < 0x21 || service_key[i] == 0x7f) {
			buf_seterr(err, "the service role key holds spaces or control characters");
			return -EINVAL;
		}
	st = calloc(1, sizeof(*st));
	if (!st)
		return -ENOMEM;
	st->h = h;
	st->page = SB_STORAGE_PAGE;
	st->url = strdup(url);
	n = strlen(service_key) + 32;
	st->hdr_apikey = malloc(n);
	st->hdr_auth = malloc(n);
	if (!st->url || !st->hdr_apikey || !st->hdr_auth) {
		sb_storage_free(st);
		return -ENOMEM;
	}
	snprintf(st->hdr_apikey, n, "apikey: %s", service_key);
	snprintf(st->hdr_auth, n, "Authorization: Bearer %s", service_key);
	n = strlen(st->url);
	while (n > 0 && st->url[n - 1] == '/')
		st->url[--n] = '\0';
	*stp = st;
	return 0;
}

void sb_storage_free(struct sb_storage *st)
{
	if (!st)
		return;
	free(st->url);
	sb_storage_wipe(st->hdr_apikey);
	sb_storage_wipe(st->hdr_auth);
	free(st);
}

void sb_storage_set_page(struct sb_storage *st, unsigned limit)
{
	st->page = limit ? limit : SB_STORAGE_PAGE;
}

/* "object 'bucket/name'" for messages. */
static int sb_storage_what(struct buf *w, const char *kind, const char *bucket,
			   const char *name)
{
	int r;

	buf_reset(w);
	r = buf_addf(w, "%s '", kind);
	if (r == 0)
		r = sb_http_quote_name(w, bucket, strlen(bucket));
	if (r == 0 && name) {
		r = buf_addch(w, '/');
		if (r == 0)
			r = sb_http_quote_name(w, name, strlen(name));
	}
	if (r == 0)
		r = buf_addch(w, '\'');
	return r;
}

/* url + mid + escaped bucket [+ '/' + escaped name] */
static int sb_storage_url(const struct sb_storage *st, struct buf *u,
			  const char *mid, const char *bucket, const char *name)
{
	int r;

	buf_reset(u);
	r = buf_addf(u, "%s%s", st->url, mid);
	if (r == 0 && bucket)
		r = sb_http_escape(u, bucket, strlen(bucket));
	if (r == 0 && name) {
		r = buf_addch(u, '/');
		if (r == 0)
			r = sb_http_escape_path(u, name, strlen(name));
	}
	return r;
}

/* ---- buckets --------------------------------------------------------------- */

void sb_storage_bucket_release(struct sb_storage_bucket *b)
{
	if (!b)
		return;
	free(b->id);
	free(b->name);
	free(b->allowed_mime_types);
	free(b->type);
	free(b->created_at);
	free(b->updated_at);
	free(b->json);
	memset(b, 0, sizeof(*b));
}

void sb_storage_buckets_free(struct sb_storage_bucket *b, size_t n)
{
	size_t i;

	if (!b)
		return;
	for (i = 0; i < n; i++)
		sb_storage_bucket_release(&b[i]);
	free(b);
}

static int sb_storage_bucket_from_json(struct sb_storage_bucket *b, const struct json *j)
{
	const struct json *v;
	struct buf t = BUF_INIT;
	int bad = 0;

	memset(b, 0, sizeof(*b));
	if (json_type(j) != JSON_OBJECT || !json_get_str(j, "id"))
		return -EBADMSG;
	b->id = json_get_strdup(j, "id", &bad);
	b->name = json_get_strdup(j, "name", &bad);
	if (!b->name && !bad)
		b->name = strdup(b->id);
	b->is_public = json_bool(json_get(j, "public")) == 1;
	b->file_size_limit = -1;
	v = json_get(j, "file_size_limit");
	if (v && !json_is_null(v) &&
	    (json_int(v, &b->file_size_limit) < 0 || b->file_size_limit < 0))
		b->file_size_limit = -1;
	v = json_get(j, "allowed_mime_types");
	if (json_type(v) == JSON_ARRAY) {
		if (json_write(&t, v) < 0 || !(b->allowed_mime_types = buf_detach(&t, NULL)))
			bad = 1;
	}
	b->type = json_get_strdup(j, "type", &bad);
	b->created_at = json_get_strdup(j, "created_at", &bad);
	b->updated_at = json_get_strdup(j, "updated_at", &bad);
	buf_reset(&t);
	if (json_write(&t, j) < 0 || !(b->json = buf_detach(&t, NULL)))
		bad = 1;
	buf_release(&t);
	if (bad || !b->name) {
		sb_storage_bucket_release(b);
		return -ENOMEM;
	}
	return 0;
}

/* A JSON request/answer with the storage headers. */
static int sb_storage_call(struct sb_storage *st, const char *method,
			   const char *url, const struct buf *body,
			   const char *what, struct json **answer,
			   struct buf *err)
{
	const char *hdrs[] = { st->hdr_apikey, st->hdr_auth,
			       "Content-Type: application/json",
			       "Accept: application/json", NULL };
	struct sb_http_req req = { 0 };
	struct sb_http_resp resp;
	struct buf perr = BUF_INIT;
	int r;

	if (answer)
		*answer = NULL;
	req.method = method;
	req.url = url;
	req.headers = hdrs;
	req.body = body ? body->data : NULL;
	req.body_len = body ? body->len : 0;
	req.what = what;
	r = sb_http_do(st->h, &req, &resp, err);
	if (r == 0 && answer) {
		r = json_parse(answer, resp.body.data, resp.body.len, &perr);
		if (r < 0)
			buf_seterr(err, "%s: unexpected answer (%s)", what,
				   (const char *)perr.data);
	}
	sb_http_resp_release(&resp);
	buf_release(&perr);
	return r;
}

int sb_storage_buckets(struct sb_storage *st, struct sb_storage_bucket **out,
		       size_t *n, struct buf *err)
{
	struct buf url = BUF_INIT;
	struct json *j = NULL;
	struct sb_storage_bucket *bs = NULL;
	size_t i, cnt;
	int r;

	*out = NULL;
	*n = 0;
	r = sb_storage_url(st, &url, "/bucket", NULL, NULL);
	if (r == 0)
		r = sb_storage_call(st, "GET", (const char *)url.data, NULL,
				    "bucket list", &j, err);
	if (r < 0)
		goto out;
	if (json_type(j) != JSON_ARRAY) {
		buf_seterr(err, "bucket list: the answer is not an array");
		r = -EBADMSG;
		goto out;
	}
	cnt = json_len(j);
	bs = calloc(cnt ? cnt : 1, sizeof(*bs));
	if (!bs) {
		r = -ENOMEM;
		goto out;
	}
	for (i = 0; i < cnt; i++) {
		r = sb_storage_bucket_from_json(&bs[i], json_at(j, i));
		if (r < 0) {
			buf_seterr(err, "bucket list: entry %zu is malformed", i);
			sb_storage_buckets_free(bs, i);
			bs = NULL;
			goto out;
		}
	}
	*out = bs;
	*n = cnt;
out:
	json_free(j);
	buf_release(&url);
	return r;
}

int sb_storage_bucket_get(struct sb_storage *st, const char *id,
			  struct sb_storage_bucket *out, struct buf *err)
{
	struct buf url = BUF_INIT, what = BUF_INIT;
	struct json *j = NULL;
	int r;

	memset(out, 0, sizeof(*out));
	r = sb_storage_url(st, &url, "/bucket/", id, NULL);
	if (r == 0)
		r = sb_storage_what(&what, "bucket", id, NULL);
	if (r == 0)
		r = sb_storage_call(st, "GET", (const char *)url.data, NULL,
				    (const char *)what.data, &j, err);
	if (r == 0) {
		r = sb_storage_bucket_from_json(out, j);
		if (r == -EBADMSG)
			buf_seterr(err, "%s: malformed answer", (const char *)what.data);
	}
	json_free(j);
	buf_release(&url);
	buf_release(&what);
	return r;
}

/* {"id","name","public","file_size_limit","allowed_mime_types"} */
static int sb_storage_bucket_body(struct buf *b,
				  const struct sb_storage_bucket *bk, int create)
{
	struct json *mimes = NULL;
	int r;

	r = buf_addch(b, '{');
	if (r == 0 && create) {
		r = buf_addstr(b, "\"id\":");
		if (r == 0)
			r = json_quote(b, bk->id, strlen(bk->id));
		if (r == 0)
			r = buf_addstr(b, ",\"name\":");
		if (r == 0)
			r = json_quote(b, bk->name ? bk->name : bk->id,
					  strlen(bk->name ? bk->name : bk->id));
		if (r == 0)
			r = buf_addch(b, ',');
	}
	if (r == 0)
		r = buf_addf(b, "\"public\":%s", bk->is_public ? "true" : "false");
	if (r == 0) {
		if (bk->file_size_limit >= 0)
			r = buf_addf(b, ",\"file_size_limit\":%" PRId64, bk->file_size_limit);
		else
			r = buf_addstr(b, ",\"file_size_limit\":null");
	}
	if (r == 0 && bk->allowed_mime_types) {
		/* only a JSON array of strings goes through */
		r = json_parse(&mimes, bk->allowed_mime_types,
				  strlen(bk->allowed_mime_types), NULL);
		if (r == 0 && json_type(mimes) != JSON_ARRAY)
			r = -EINVAL;
		if (r == 0)
			r = buf_addstr(b, ",\"allowed_mime_types\":");
		if (r == 0)
			r = json_write(b, mimes);
		json_free(mimes);
	} else if (r == 0) {
		r = buf_addstr(b, ",\"allowed_mime_types\":null");
	}
	if (r == 0)
		r = buf_addch(b, '}');
	return r == -EBADMSG ? -EINVAL : r;
}

static int sb_storage_bucket_write(struct sb_storage *st,
				   const struct sb_storage_bucket *b, int create,
				   struct buf *err)
{
	struct buf url = BUF_INIT, what = BUF_INIT, body = BUF_INIT;
	int r;

	if (!b->id || !*b->id) {
		buf_seterr(err, "a bucket needs an id");
		return -EINVAL;
	}
	r = sb_storage_what(&what, "bucket", b->id, NULL);
	if (r == 0)
		r = create ? sb_storage_url(st, &url, "/bucket", NULL, NULL)
			   : sb_storage_url(st, &url, "/bucket/", b->id, NULL);
	if (r == 0) {
		r = sb_storage_bucket_body(&body, b, create);
		if (r == -EINVAL || r == -EILSEQ)
			buf_seterr(err, "%s: invalid configuration (allowed_mime_types "
				   "must be a JSON array, names UTF-8)",
				   (const char *)what.data);
	}
	if (r == 0)
		r = sb_storage_call(st, create ? "POST" : "PUT", (const char *)url.data,
				    &body, (const char *)what.data, NULL, err);
	buf_release(&url);
	buf_release(&what);
	buf_release(&body);
	return r;
}

int sb_storage_bucket_create(struct sb_storage *st, const struct sb_storage_bucket *b,
			     struct buf *err)
{
	return sb_storage_bucket_write(st, b, 1, err);
}

int sb_storage_bucket_update(struct sb_storage *st, const struct sb_storage_bucket *b,
			     struct buf *err)
{
	return sb_storage_bucket_write(st, b, 0, err);
}

/* ---- listing --------------------------------------------------------------- */

struct sb_storage_listing {
	struct sb_storage *st;
	const char *bucket;
	sb_storage_object_fn cb;
	void *ctx;
	int rc;
	struct buf err;
	uint64_t requests;
	struct buf url;
};

struct sb_storage_page {
	struct sb_storage_listing *l;
	char *prefix;
	uint64_t offset;
	struct buf body;
	struct buf what;
};

static void sb_storage_page_free(struct sb_storage_page *pg)
{
	if (!pg)
		return;
	free(pg->prefix);
	buf_release(&pg->body);
	buf_release(&pg->what);
	free(pg);
}

static void sb_storage_list_fail(struct sb_storage_listing *l, int rc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void sb_storage_list_fail(struct sb_storage_listing *l, int rc, const char *fmt, ...)
{
	va_list ap;

	if (l->rc)
		return;
	l->rc = rc;
	buf_reset(&l->err);
	va_start(ap, fmt);
	buf_vaddf(&l->err, fmt, ap);
	va_end(ap);
}

static int sb_storage_list_submit(struct sb_storage_listing *l,
				  const char *prefix, size_t plen,
				  uint64_t offset);

/* One entry of a page: a folder to descend into, or an object. */
static int sb_storage_list_entry(struct sb_storage_page *pg, const struct json *e,
			 struct buf *full)
{
	struct sb_storage_listing *l = pg->l;
	const struct json *md, *id;
	struct buf mdj = BUF_INIT;
	struct sb_storage_object o;
	const char *name;
	size_t nlen;
	int64_t size = 0;
	int r;

	name = json_str(json_get(e, "name"), &nlen);
	if (!name || memchr(name, '/', nlen) || strlen(name) != nlen) {
		sb_storage_list_fail(l, -EBADMSG, "%s: the server returned an entry without a "
			     "usable name", (const char *)pg->what.data);
		return -EBADMSG;
	}
	buf_reset(full);
	r = buf_addstr(full, pg->prefix);
	if (r == 0)
		r = buf_add(full, name, nlen);
	if (r < 0)
		return r;
	id = json_get(e, "id");
	if (!id || json_is_null(id)) {
		/* a folder: list it too */
		if (full->len + 1 > SB_STORAGE_MAX_PREFIX) {
			sb_storage_list_fail(l, -EBADMSG, "%s: folders nested too deeply",
				     (const char *)pg->what.data);
			return -EBADMSG;
		}
		r = buf_addch(full, '/');
		if (r == 0)
			r = sb_storage_list_submit(l, (const char *)full->data, full->len, 0);
		return r;
	}
	md = json_get(e, "metadata");
	memset(&o, 0, sizeof(o));
	o.name = (const char *)full->data;
	o.id = json_str(id, NULL);
	if (json_type(md) == JSON_OBJECT) {
		if (json_int(json_get(md, "size"), &size) < 0 || size < 0)
			size = 0;
		o.etag = json_get_str(md, "eTag");
		o.mimetype = json_get_str(md, "mimetype");
		o.cache_control = json_get_str(md, "cacheControl");
		o.last_modified = json_get_str(md, "lastModified");
		r = json_write(&mdj, md);
		if (r < 0)
			goto out;
		o.metadata_json = (const char *)mdj.data;
	}
	o.size = (uint64_t)size;
	o.created_at = json_get_str(e, "created_at");
	o.updated_at = json_get_str(e, "updated_at");
	r = l->cb(l->ctx, l->bucket, &o);
	if (r) {
		sb_storage_list_fail(l, r < 0 ? r : -ECANCELED, "listing stopped by the caller");
		r = r < 0 ? r : -ECANCELED;
	}
out:
	buf_release(&mdj);
	return r;
}

static void sb_storage_list_done(void *ctx, struct sb_http_xfer *x, int rc,
			 const struct sb_http_resp *resp, const struct buf *err)
{
	struct sb_storage_page *pg = ctx;
	struct sb_storage_listing *l = pg->l;
	struct buf perr = BUF_INIT, full = BUF_INIT;
	struct json *j = NULL;
	size_t i, cnt;
	int r;

	if (l->rc)
		goto out;
	if (rc < 0) {
		sb_storage_list_fail(l, rc, "%s", err && err->len ? (const char *)err->data :
			     "listing failed");
		goto out;
	}
	if (json_parse(&j, resp->body.data, resp->body.len, &perr) < 0 ||
	    json_type(j) != JSON_ARRAY) {
		sb_storage_list_fail(l, -EBADMSG, "%s: unexpected answer (%s)",
			     (const char *)pg->what.data,
			     perr.len ? (const char *)perr.data : "not an array");
		goto out;
	}
	cnt = json_len(j);
	for (i = 0; i < cnt && !l->rc; i++) {
		r = sb_storage_list_entry(pg, json_at(j, i), &full);
		if (r < 0)
			sb_storage_list_fail(l, r, "%s: out of memory", (const char *)pg->what.data);
	}
	/* a full page means there may be more */
	if (!l->rc && cnt >= pg->l->st->page) {
		r = sb_storage_list_submit(l, pg->prefix, strlen(pg->prefix), pg->offset + cnt);
		if (r < 0)
			sb_storage_list_fail(l, r, "%s: cannot request the next page",
				     (const char *)pg->what.data);
	}
out:
	json_free(j);
	buf_release(&perr);
	buf_release(&full);
	sb_storage_page_free(pg);
}

static int sb_storage_list_submit(struct sb_storage_listing *l,
				  const char *prefix, size_t plen,
				  uint64_t offset)
{
	const char *hdrs[] = { l->st->hdr_apikey, l->st->hdr_auth,
			       "Content-Type: application/json",
			       "Accept: application/json", NULL };
	struct sb_http_req req = { 0 };
	struct sb_storage_page *pg;
	int r;

	pg = calloc(1, sizeof(*pg));
	if (!pg)
		return -ENOMEM;
	pg->l = l;
	pg->offset = offset;
	pg->prefix = strndup(prefix, plen);
	if (!pg->prefix) {
		free(pg);
		return -ENOMEM;
	}
	buf_init(&pg->body, 0);
	buf_init(&pg->what, 0);
	r = buf_addstr(&pg->body, "{\"prefix\":");
	if (r == 0)
		r = json_quote(&pg->body, prefix, plen);
	if (r == 0)
		r = buf_addf(&pg->body, ",\"limit\":%u,\"offset\":%" PRIu64
			     ",\"sortBy\":{\"column\":\"name\",\"order\":\"asc\"}}",
			     l->st->page, offset);
	if (r == 0)
		r = sb_storage_what(&pg->what, "listing", l->bucket, pg->prefix);
	if (r == -EILSEQ) {
		sb_storage_list_fail(l, -EINVAL, "listing '%s': the prefix is not UTF-8", l->bucket);
		sb_storage_page_free(pg);
		return -EINVAL;
	}
	if (r < 0) {
		sb_storage_page_free(pg);
		return r;
	}
	req.method = "POST";
	req.url = (const char *)l->url.data;
	req.headers = hdrs;
	req.body = pg->body.data;
	req.body_len = pg->body.len;
	req.what = (const char *)pg->what.data;
	req.max_body = 64u << 20;
	req.on_done = sb_storage_list_done;
	req.ctx = pg;
	r = sb_http_submit(l->st->h, &req, NULL, NULL);
	if (r < 0) {
		sb_storage_page_free(pg);
		return r;
	}
	l->requests++;
	return 0;
}

int sb_storage_list(struct sb_storage *st, const char *bucket,
		    const char *prefix, sb_storage_object_fn cb, void *ctx,
		    uint64_t *requests, struct buf *err)
{
	struct sb_storage_listing l;
	struct buf pfx = BUF_INIT;
	int r;

	memset(&l, 0, sizeof(l));
	l.st = st;
	l.bucket = bucket;
	l.cb = cb;
	l.ctx = ctx;
	buf_init(&l.err, 0);
	buf_init(&l.url, 0);
	r = sb_storage_url(st, &l.url, "/object/list/", bucket, NULL);
	if (r == 0 && prefix)
		r = buf_addstr(&pfx, prefix);
	/* the server treats a prefix as a folder; so do the names we build */
	if (r == 0 && pfx.len && pfx.data[pfx.len - 1] != '/')
		r = buf_addch(&pfx, '/');
	if (r == 0)
		r = sb_storage_list_submit(&l, (const char *)pfx.data, pfx.len, 0);
	if (r == 0)
		r = sb_http_run(st->h, err);
	if (r == 0 && l.rc) {
		r = l.rc;
		sb_storage_copyerr(err, &l.err);
	} else if (r < 0 && l.rc) {
		sb_storage_copyerr(err, &l.err);
	}
	if (requests)
		*requests += l.requests;
	buf_release(&l.err);
	buf_release(&l.url);
	buf_release(&pfx);
	return r;
}

/* ---- object info ------------------------------------------------------------ */

void sb_storage_objinfo_release(struct sb_storage_objinfo *i)
{
	if (!i)
		return;
	free(i->id);
	free(i->etag);
	free(i->content_type);
	free(i->cache_control);
	free(i->last_modified);
	free(i->metadata_json);
	memset(i, 0, sizeof(*i));
}

int sb_storage_info(struct sb_storage *st, const char *bucket,
		    const char *name, struct sb_storage_objinfo *out,
		    struct buf *err)
{
	struct buf url = BUF_INIT, what = BUF_INIT, t = BUF_INIT;
	struct json *j = NULL;
	const struct json *md;
	int64_t size = 0;
	int r, bad = 0;

	memset(out, 0, sizeof(*out));
	r = sb_storage_url(st, &url, "/object/info/authenticated/", bucket, name);
	if (r == 0)
		r = sb_storage_what(&what, "object", bucket, name);
	if (r == 0)
		r = sb_storage_call(st, "GET", (const char *)url.data, NULL,
				    (const char *)what.data, &j, err);
	if (r < 0)
		goto out;
	if (json_type(j) != JSON_OBJECT) {
		buf_seterr(err, "%s: malformed info", (const char *)what.data);
		r = -EBADMSG;
		goto out;
	}
	if (json_int(json_get(j, "size"), &size) < 0 || size < 0)
		size = 0;
	out->size = (uint64_t)size;
	out->id = json_get_strdup(j, "id", &bad);
	out->etag = json_get_strdup(j, "etag", &bad);
	out->content_type = json_get_strdup(j, "content_type", &bad);
	out->cache_control = json_get_strdup(j, "cache_control", &bad);
	out->last_modified = json_get_strdup(j, "last_modified", &bad);
	md = json_get(j, "metadata");
	if (md && !json_is_null(md)) {
		if (json_write(&t, md) < 0 || !(out->metadata_json = buf_detach(&t, NULL)))
			bad = 1;
	}
	if (bad) {
		sb_storage_objinfo_release(out);
		r = -ENOMEM;
	}
out:
	json_free(j);
	buf_release(&url);
	buf_release(&what);
	buf_release(&t);
	return r;
}

/* ---- downloads ------------------------------------------------------------- */

struct sb_storage_dl;

struct sb_storage_dl_slot {
	struct sb_storage_dl *d;
	size_t i;
	struct sb_http_xfer *x;
	struct buf url, what;
	struct buf data;	/* bytes held until this object's turn */
	struct sb_http_resp resp;	/* headers held until its turn */
	int have_resp, begun, paused, done, rc;
	struct buf err;
};

struct sb_storage_dl {
	struct sb_storage *st;
	const struct sb_storage_ref *refs;
	size_t n, next, head;
	unsigned window;
	size_t buffer_max;
	const struct sb_storage_sink *sink;
	struct sb_storage_dl_slot **slots;	/* ring: index i at i % window */
	int rc;
	struct buf err;
};

static void sb_storage_dl_slot_free(struct sb_storage_dl_slot *s)
{
	if (!s)
		return;
	buf_release(&s->url);
	buf_release(&s->what);
	buf_release(&s->data);
	buf_release(&s->err);
	sb_http_resp_release(&s->resp);
	free(s);
}

static void sb_storage_dl_stop(struct sb_storage_dl *d, int rc, const struct buf *msg,
		       const char *fallback)
{
	size_t i;
	struct sb_storage_dl_slot *s;

	if (d->rc)
		return;
	d->rc = rc;
	buf_reset(&d->err);
	if (msg && msg->len)
		buf_add(&d->err, msg->data, msg->len);
	else
		buf_addstr(&d->err, fallback);
	for (i = d->head; i < d->next; i++) {
		s = d->slots[i % d->window];
		if (s && s->x && !s->done)
			sb_http_cancel(s->x);
	}
}

static char *sb_storage_dl_dup(const char *s, int *bad)
{
	char *d;

	if (!s)
		return NULL;
	d = strdup(s);
	if (!d)
		*bad = 1;
	return d;
}

static int sb_storage_dl_on_response(void *ctx, const struct sb_http_resp *r)
{
	struct sb_storage_dl_slot *s = ctx;
	struct sb_storage_dl *d = s->d;
	int rc, bad = 0;

	if (d->rc)
		return -ECANCELED;
	if (s->i == d->head) {
		s->begun = 1;
		rc = d->sink->begin ? d->sink->begin(d->sink->ctx, s->i, r) : 0;
		if (rc < 0)
			sb_storage_dl_stop(d, rc, NULL, "download stopped by the caller");
		return rc < 0 ? rc : 0;
	}
	s->resp.status = r->status;
	s->resp.content_length = r->content_length;
	s->resp.etag = sb_storage_dl_dup(r->etag, &bad);
	s->resp.content_type = sb_storage_dl_dup(r->content_type, &bad);
	s->resp.cache_control = sb_storage_dl_dup(r->cache_control, &bad);
	s->resp.last_modified = sb_storage_dl_dup(r->last_modified, &bad);
	s->resp.content_range = sb_storage_dl_dup(r->content_range, &bad);
	s->have_resp = 1;
	return bad ? -ENOMEM : 0;
}

static int sb_storage_dl_on_data(void *ctx, const void *p, size_t n)
{
	struct sb_storage_dl_slot *s = ctx;
	struct sb_storage_dl *d = s->d;
	int rc;

	if (d->rc)
		return -ECANCELED;
	if (s->i == d->head && s->begun) {
		rc = d->sink->data ? d->sink->data(d->sink->ctx, s->i, p, n) : 0;
		if (rc < 0)
			sb_storage_dl_stop(d, rc, NULL, "download stopped by the caller");
		return rc < 0 ? rc : 0;
	}
	if (s->data.len + n > d->buffer_max) {
		s->paused = 1;
		return SB_HTTP_PAUSE;
	}
	return buf_add(&s->data, p, n);
}

static int sb_storage_dl_submit(struct sb_storage_dl *d, size_t i);

/* Hands over every finished or ready object at the head, in order. */
static void sb_storage_dl_advance(struct sb_storage_dl *d)
{
	struct sb_storage_dl_slot *s;
	int rc;

	while (!d->rc && d->head < d->n) {
		s = d->slots[d->head % d->window];
		if (!s)
			break;
		if (!s->begun && s->have_resp) {
			s->begun = 1;
			rc = d->sink->begin ? d->sink->begin(d->sink->ctx, s->i, &s->resp) : 0;
			if (rc < 0) {
				sb_storage_dl_stop(d, rc, NULL, "download stopped by the caller");
				break;
			}
		}
		if (s->data.len) {
			rc = d->sink->data ? d->sink->data(d->sink->ctx, s->i, s->data.data,
							   s->data.len) : 0;
			buf_release(&s->data);
			if (rc < 0) {
				sb_storage_dl_stop(d, rc, NULL, "download stopped by the caller");
				break;
			}
		}
		if (!s->done) {
			if (s->paused) {
				s->paused = 0;
				sb_http_resume(s->x);
			}
			break;
		}
		rc = d->sink->end ? d->sink->end(d->sink->ctx, s->i, s->rc, &s->err) : s->rc;
		if (rc < 0) {
			sb_storage_dl_stop(d, rc, &s->err, "download failed");
			break;
		}
		d->slots[d->head % d->window] = NULL;
		sb_storage_dl_slot_free(s);
		d->head++;
	}
	while (!d->rc && d->next < d->n && d->next - d->head < d->window) {
		rc = sb_storage_dl_submit(d, d->next);
		if (rc < 0) {
			sb_storage_dl_stop(d, rc, NULL, "cannot start a download");
			break;
		}
		d->next++;
	}
}

static void sb_storage_dl_on_done(void *ctx, struct sb_http_xfer *x, int rc,
			  const struct sb_http_resp *r, const struct buf *err)
{
	struct sb_storage_dl_slot *s = ctx;
	struct sb_storage_dl *d = s->d;

	s->x = NULL;
	s->done = 1;
	s->rc = rc;
	s->paused = 0;
	if (rc && err)
		buf_add(&s->err, err->data, err->len);
	if (!d->rc && s->i == d->head)
		sb_storage_dl_advance(d);
}

static int sb_storage_dl_submit(struct sb_storage_dl *d, size_t i)
{
	const char *hdrs[] = { d->st->hdr_apikey, d->st->hdr_auth, NULL };
	const struct sb_storage_ref *ref = &d->refs[i];
	struct sb_http_req req = { 0 };
	struct sb_storage_dl_slot *s;
	int r;

	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->d = d;
	s->i = i;
	buf_init(&s->url, 0);
	buf_init(&s->what, 0);
	buf_init(&s->data, 0);
	buf_init(&s->err, 0);
	buf_init(&s->resp.body, 0);
	s->resp.content_length = -1;
	r = sb_storage_url(d->st, &s->url, "/object/authenticated/", ref->bucket,
			   ref->name);
	if (r == 0)
		r = sb_storage_what(&s->what, "object", ref->bucket, ref->name);
	if (r < 0) {
		sb_storage_dl_slot_free(s);
		return r;
	}
	req.method = "GET";
	req.url = (const char *)s->url.data;
	req.headers = hdrs;
	req.what = (const char *)s->what.data;
	req.on_response = sb_storage_dl_on_response;
	req.on_data = sb_storage_dl_on_data;
	req.on_done = sb_storage_dl_on_done;
	req.ctx = s;
	d->slots[i % d->window] = s;
	r = sb_http_submit(d->st->h, &req, &s->x, NULL);
	if (r < 0) {
		d->slots[i % d->window] = NULL;
		sb_storage_dl_slot_free(s);
	}
	return r;
}

int sb_storage_download_many(struct sb_storage *st,
			     const struct sb_storage_ref *refs, size_t n,
			     unsigned window, size_t buffer_max,
			     const struct sb_storage_sink *sink,
			     struct buf *err)
{
	struct sb_storage_dl d;
	size_t i;
	int r;

	if (n == 0)
		return 0;
	memset(&d, 0, sizeof(d));
	d.st = st;
	d.refs = refs;
	d.n = n;
	d.window = window ? window : sb_http_jobs(st->h);
	d.buffer_max = buffer_max ? buffer_max : SB_STORAGE_DL_BUFFER;
	d.sink = sink;
	buf_init(&d.err, 0);
	d.slots = calloc(d.window, sizeof(*d.slots));
	if (!d.slots)
		return -ENOMEM;
	sb_storage_dl_advance(&d);
	r = sb_http_run(st->h, err);
	if (r == 0 && d.rc) {
		r = d.rc;
		sb_storage_copyerr(err, &d.err);
	} else if (r == 0 && d.head != d.n) {
		buf_seterr(err, "downloads stopped before the end");
		r = -EIO;
	}
	for (i = 0; i < d.window; i++)
		sb_storage_dl_slot_free(d.slots[i]);
	free(d.slots);
	buf_release(&d.err);
	return r;
}

int sb_storage_download(struct sb_storage *st, const char *bucket,
			const char *name, const struct sb_storage_sink *s,
			struct buf *err)
{
	struct sb_storage_ref ref = { bucket, name };

	return sb_storage_download_many(st, &ref, 1, 1, 0, s, err);
}

/* ---- uploads and deletes ----------------------------------------------------- */

/* Header values come from snapshots: no line breaks or controls. */
static int sb_storage_header_ok(const char *v)
{
	for (; *v; v++)
		if ((unsigned char)*v < 0x20 || *v == 0x7f)
			return 0;
	return 1;
}

int sb_storage_upload(struct sb_storage *st, const char *bucket,
		      const char *name, const struct sb_storage_upload_req *u,
		      struct buf *err)
{
	struct buf url = BUF_INIT, what = BUF_INIT, ct = BUF_INIT, cc = BUF_INIT;
	struct buf md = BUF_INIT, mdc = BUF_INIT;
	struct json *mj = NULL, *ans = NULL;
	const char *hdrs[8];
	struct sb_http_req req = { 0 };
	struct sb_http_resp resp;
	size_t nh = 0, b64len;
	int r;

	r = sb_storage_what(&what, "object", bucket, name);
	if (r < 0)
		return r;
	if ((u->content_type && !sb_storage_header_ok(u->content_type)) ||
	    (u->cache_control && !sb_storage_header_ok(u->cache_control))) {
		buf_seterr(err, "%s: content type or cache-control holds control "
			   "characters", (const char *)what.data);
		r = -EINVAL;
		goto out;
	}
	hdrs[nh++] = st->hdr_apikey;
	hdrs[nh++] = st->hdr_auth;
	r = buf_addf(&ct, "Content-Type: %s", u->content_type && *u->content_type ?
		     u->content_type : "application/octet-stream");
	if (r < 0)
		goto out;
	hdrs[nh++] = (const char *)ct.data;
	if (u->cache_control && *u->cache_control) {
		r = buf_addf(&cc, "Cache-Control: %s", u->cache_control);
		if (r < 0)
			goto out;
		hdrs[nh++] = (const char *)cc.data;
	}
	if (u->metadata_json) {
		/* user metadata travels as base64 JSON in x-metadata */
		if (json_parse(&mj, u->metadata_json, strlen(u->metadata_json), NULL) < 0 ||
		    json_type(mj) != JSON_OBJECT || json_write(&mdc, mj) < 0) {
			buf_seterr(err, "%s: user metadata is not a JSON object",
				   (const char *)what.data);
			r = -EINVAL;
			goto out;
		}
		b64len = sodium_base64_encoded_len(mdc.len, sodium_base64_VARIANT_ORIGINAL);
		r = buf_addstr(&md, "x-metadata: ");
		if (r == 0)
			r = buf_grow(&md, b64len);
		if (r < 0)
			goto out;
		sodium_bin2base64((char *)md.data + md.len, b64len, mdc.data, mdc.len,
				  sodium_base64_VARIANT_ORIGINAL);
		md.len += b64len - 1;
		hdrs[nh++] = (const char *)md.data;
	}
	hdrs[nh++] = u->create_only ? "x-upsert: false" : "x-upsert: true";
	hdrs[nh] = NULL;
	r = sb_storage_url(st, &url, "/object/", bucket, name);
	if (r < 0)
		goto out;
	req.method = u->create_only ? "POST" : "PUT";
	req.url = (const char *)url.data;
	req.headers = hdrs;
	req.what = (const char *)what.data;
	if (u->read) {
		req.read = u->read;
		req.read_len = u->size;
		req.ctx = u->read_ctx;
	} else {
		req.body = u->data ? u->data : "";
		req.body_len = (size_t)u->size;
	}
	r = sb_http_do(st->h, &req, &resp, err);
	if (r == 0 && (json_parse(&ans, resp.body.data, resp.body.len, NULL) < 0 ||
		       !json_get_str(ans, "Key"))) {
		buf_seterr(err, "%s: unexpected answer to the upload",
			   (const char *)what.data);
		r = -EBADMSG;
	}
	sb_http_resp_release(&resp);
out:
	json_free(mj);
	json_free(ans);
	buf_release(&url);
	buf_release(&what);
	buf_release(&ct);
	buf_release(&cc);
	buf_release(&md);
	buf_release(&mdc);
	return r;
}

int sb_storage_delete(struct sb_storage *st, const char *bucket,
		      const char *const *names, size_t n, size_t *deleted,
		      struct buf *err)
{
	struct buf url = BUF_INIT, what = BUF_INIT, body = BUF_INIT;
	struct json *ans = NULL;
	size_t i, k, done = 0;
	int r;

	if (deleted)
		*deleted = 0;
	r = sb_storage_url(st, &url, "/object/", bucket, NULL);
	if (r == 0)
		r = sb_storage_what(&what, "bulk delete in bucket", bucket, NULL);
	for (i = 0; r == 0 && i < n; i += k) {
		buf_reset(&body);
		r = buf_addstr(&body, "{\"prefixes\":[");
		for (k = 0; r == 0 && k < SB_STORAGE_DELETE_MAX && i + k < n; k++) {
			if (k)
				r = buf_addch(&body, ',');
			if (r == 0)
				r = json_quote(&body, names[i + k], strlen(names[i + k]));
		}
		if (r == -EILSEQ) {
			buf_seterr(err, "%s: a name is not valid UTF-8",
				   (const char *)what.data);
			r = -EINVAL;
			break;
		}
		if (r == 0)
			r = buf_addstr(&body, "]}");
		if (r == 0)
			r = sb_storage_call(st, "DELETE", (const char *)url.data, &body,
					    (const char *)what.data, &ans, err);
		if (r == 0) {
			if (json_type(ans) != JSON_ARRAY) {
				buf_seterr(err, "%s: unexpected answer",
					   (const char *)what.data);
				r = -EBADMSG;
			}
			done += json_len(ans);
		}
		json_free(ans);
		ans = NULL;
	}
	if (deleted)
		*deleted = done;
	buf_release(&url);
	buf_release(&what);
	buf_release(&body);
	return r;
}

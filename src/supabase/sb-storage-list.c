/*
 * sb-storage-list: the recursive listing of a bucket's objects.
 *
 * POST /object/list/{bucket} answers one level of one folder, a page at
 * a time, with folders as entries whose id is null; an object's entry
 * carries its metadata (eTag, size, ...) and, from newer servers only,
 * its user metadata.  Every page is a
 * request of its own on the http client: a folder entry submits the
 * listing of that folder, a full page submits the next page, so
 * folders are listed concurrently (up to the client's jobs) while the
 * caller's callback sees each object once.  The first failure stops the
 * listing and is what sb_storage_list() reports.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "sb-storage-int.h"

#define SB_STORAGE_MAX_PREFIX 8192

/* One sb_storage_list() call: its callback, first failure, requests. */
struct sb_storage_list_run {
	struct sb_storage *st;
	const char *bucket;
	sb_storage_object_fn cb;
	void *ctx;
	int rc;
	struct buf err;
	uint64_t requests;
	struct buf url;
};

/* One listing request: a page of one folder. */
struct sb_storage_list_page {
	struct sb_storage_list_run *l;
	char *prefix;
	uint64_t offset;
	struct buf body;
	struct buf what;
};

static void sb_storage_list_page_free(struct sb_storage_list_page *pg)
{
	if (!pg)
		return;
	free(pg->prefix);
	buf_release(&pg->body);
	buf_release(&pg->what);
	free(pg);
}

static void sb_storage_list_fail(struct sb_storage_list_run *l, int rc,
				 const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void sb_storage_list_fail(struct sb_storage_list_run *l, int rc,
				 const char *fmt, ...)
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

static int sb_storage_list_submit(struct sb_storage_list_run *l,
				  const char *prefix, size_t plen,
				  uint64_t offset);

/* One entry of a page: a folder to descend into, or an object. */
static int sb_storage_list_entry(struct sb_storage_list_page *pg,
				 const struct json *e, struct buf *full)
{
	struct sb_storage_list_run *l = pg->l;
	const struct json *md, *id, *umd;
	struct buf mdj = BUF_INIT, umdj = BUF_INIT;
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
	/* newer servers list the user metadata too (v1.22 does not) */
	umd = json_get(e, "user_metadata");
	if (umd) {
		o.has_user_metadata = 1;
		if (!json_is_null(umd)) {
			r = json_write(&umdj, umd);
			if (r < 0)
				goto out;
			o.user_metadata_json = (const char *)umdj.data;
		}
	}
	o.created_at = json_get_str(e, "created_at");
	o.updated_at = json_get_str(e, "updated_at");
	r = l->cb(l->ctx, l->bucket, &o);
	if (r) {
		sb_storage_list_fail(l, r < 0 ? r : -ECANCELED, "listing stopped by the caller");
		r = r < 0 ? r : -ECANCELED;
	}
out:
	buf_release(&mdj);
	buf_release(&umdj);
	return r;
}

static void sb_storage_list_done(void *ctx, struct sb_http_xfer *x, int rc,
				 const struct sb_http_resp *resp,
				 const struct buf *err)
{
	struct sb_storage_list_page *pg = ctx;
	struct sb_storage_list_run *l = pg->l;
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
	sb_storage_list_page_free(pg);
}

static int sb_storage_list_submit(struct sb_storage_list_run *l,
				  const char *prefix, size_t plen,
				  uint64_t offset)
{
	const char *hdrs[] = { l->st->hdr_apikey, l->st->hdr_auth,
			       "Content-Type: application/json",
			       "Accept: application/json", NULL };
	struct sb_http_req req = { 0 };
	struct sb_storage_list_page *pg;
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
		sb_storage_list_page_free(pg);
		return -EINVAL;
	}
	if (r < 0) {
		sb_storage_list_page_free(pg);
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
		sb_storage_list_page_free(pg);
		return r;
	}
	l->requests++;
	return 0;
}

int sb_storage_list(struct sb_storage *st, const char *bucket,
		    const char *prefix, sb_storage_object_fn cb, void *ctx,
		    uint64_t *requests, struct buf *err)
{
	struct sb_storage_list_run l;
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

/*
 * sb-storage-info: the object info (GET /object/info/authenticated/...),
 * the only answer of Storage v1.22 that carries an object's user
 * metadata: one object, or many at once.
 *
 * sb_storage_info_many() keeps up to `window` info requests in flight on
 * the http client (which runs at most its jobs at once), submitting the
 * next as one finishes, and hands each answer to the caller as it
 * arrives.  An answer is small and complete, so there is nothing to
 * hold back for order: the caller keeps what it needs by index.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sb-storage-int.h"

#define SB_STORAGE_INFO_URL "/object/info/authenticated/"

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

/* The answer's body into out.  0, -EBADMSG (err names what) or -ENOMEM. */
static int sb_storage_info_parse(const struct buf *body, const char *what,
				 struct sb_storage_objinfo *out,
				 struct buf *err)
{
	struct buf t = BUF_INIT;
	struct json *j = NULL;
	const struct json *md;
	int64_t size = 0;
	int bad = 0;

	memset(out, 0, sizeof(*out));
	if (json_parse(&j, body->data, body->len, NULL) < 0 ||
	    json_type(j) != JSON_OBJECT) {
		json_free(j);
		buf_seterr(err, "%s: malformed info", what);
		return -EBADMSG;
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
	if (md && !json_is_null(md) &&
	    (json_write(&t, md) < 0 || !(out->metadata_json = buf_detach(&t, NULL))))
		bad = 1;
	json_free(j);
	buf_release(&t);
	if (bad) {
		sb_storage_objinfo_release(out);
		return -ENOMEM;
	}
	return 0;
}

int sb_storage_info(struct sb_storage *st, const char *bucket,
		    const char *name, struct sb_storage_objinfo *out,
		    struct buf *err)
{
	struct buf url = BUF_INIT, what = BUF_INIT;
	struct sb_http_req req = { 0 };
	struct sb_http_resp resp;
	int r;

	memset(out, 0, sizeof(*out));
	r = sb_storage_get_req(st, &req, SB_STORAGE_INFO_URL, bucket, name,
			       &url, &what);
	if (r < 0)
		goto out;
	r = sb_http_do(st->h, &req, &resp, err);
	if (r == 0)
		r = sb_storage_info_parse(&resp.body, (const char *)what.data,
					  out, err);
	sb_http_resp_release(&resp);
out:
	buf_release(&url);
	buf_release(&what);
	return r;
}

/* ---- many at once ---------------------------------------------------------- */

struct sb_storage_info_run;

/* One request in flight. */
struct sb_storage_info_req {
	struct sb_storage_info_run *d;
	size_t i;
	struct buf url, what;
};

/* One sb_storage_info_many() call. */
struct sb_storage_info_run {
	struct sb_storage *st;
	const struct sb_storage_ref *refs;
	size_t n, next, inflight;
	unsigned window;
	sb_storage_info_fn cb;
	void *ctx;
	struct sb_http_xfer **x;	/* by index, while in flight */
	int rc;
	struct buf err;
};

static void sb_storage_info_req_free(struct sb_storage_info_req *q)
{
	if (!q)
		return;
	buf_release(&q->url);
	buf_release(&q->what);
	free(q);
}

/* The first failure stops everything: what is in flight is cancelled
 * (its answers are not handed over) and nothing new starts. */
static void sb_storage_info_stop(struct sb_storage_info_run *d, int rc,
				 const struct buf *msg)
{
	if (d->rc)
		return;
	d->rc = rc;
	buf_reset(&d->err);
	if (msg && msg->len)
		buf_add(&d->err, msg->data, msg->len);
	for (size_t i = 0; i < d->next; i++)
		if (d->x[i])
			sb_http_cancel(d->x[i]);
}

static int sb_storage_info_submit(struct sb_storage_info_run *d);

static void sb_storage_info_done(void *ctx, struct sb_http_xfer *x, int rc,
				 const struct sb_http_resp *r,
				 const struct buf *err)
{
	struct sb_storage_info_req *q = ctx;
	struct sb_storage_info_run *d = q->d;
	struct sb_storage_objinfo info;
	struct buf perr = BUF_INIT;
	int cr;

	(void)x;
	d->x[q->i] = NULL;
	d->inflight--;
	if (!d->rc) {
		memset(&info, 0, sizeof(info));
		if (rc == 0)
			rc = sb_storage_info_parse(&r->body, (const char *)q->what.data,
						   &info, &perr);
		cr = d->cb(d->ctx, q->i, rc, rc == 0 ? &info : NULL,
			   perr.len ? &perr : err);
		sb_storage_objinfo_release(&info);
		if (cr < 0)
			sb_storage_info_stop(d, cr, perr.len ? &perr : err);
	}
	buf_release(&perr);
	sb_storage_info_req_free(q);
	while (!d->rc && d->next < d->n && d->inflight < d->window) {
		cr = sb_storage_info_submit(d);
		if (cr < 0) {
			sb_storage_info_stop(d, cr, NULL);
			break;
		}
	}
}

static int sb_storage_info_submit(struct sb_storage_info_run *d)
{
	const struct sb_storage_ref *ref = &d->refs[d->next];
	struct sb_http_req req = { 0 };
	struct sb_storage_info_req *q = calloc(1, sizeof(*q));
	int r;

	if (!q)
		return -ENOMEM;
	q->d = d;
	q->i = d->next;
	buf_init(&q->url, 0);
	buf_init(&q->what, 0);
	r = sb_storage_get_req(d->st, &req, SB_STORAGE_INFO_URL, ref->bucket,
			       ref->name, &q->url, &q->what);
	if (r < 0) {
		sb_storage_info_req_free(q);
		return r;
	}
	req.on_done = sb_storage_info_done;
	req.ctx = q;
	r = sb_http_submit(d->st->h, &req, &d->x[q->i], NULL);
	if (r < 0) {
		sb_storage_info_req_free(q);
		return r;
	}
	d->next++;
	d->inflight++;
	return 0;
}

int sb_storage_info_many(struct sb_storage *st,
			 const struct sb_storage_ref *refs, size_t n,
			 unsigned window, sb_storage_info_fn cb, void *ctx,
			 struct buf *err)
{
	struct sb_storage_info_run d;
	int r = 0;

	if (n == 0)
		return 0;
	memset(&d, 0, sizeof(d));
	d.st = st;
	d.refs = refs;
	d.n = n;
	d.window = window ? window : sb_http_jobs(st->h);
	d.cb = cb;
	d.ctx = ctx;
	buf_init(&d.err, 0);
	d.x = calloc(n, sizeof(*d.x));
	if (!d.x)
		return -ENOMEM;
	while (r == 0 && d.next < n && d.inflight < d.window)
		r = sb_storage_info_submit(&d);
	if (r < 0)
		sb_storage_info_stop(&d, r, NULL);
	r = sb_http_run(st->h, err);
	if (r == 0 && d.rc) {
		r = d.rc;
		if (d.err.len)
			sb_storage_copyerr(err, &d.err);
		else
			buf_seterr(err, "object info: %s", strerror(-r));
	} else if (r == 0 && d.next != n) {
		buf_seterr(err, "object info stopped before the end");
		r = -EIO;
	}
	free(d.x);
	buf_release(&d.err);
	return r;
}

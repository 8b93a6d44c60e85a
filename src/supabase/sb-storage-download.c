/*
 * sb-storage-download: streamed object downloads, one or many at once.
 *
 * sb_storage_download_many() keeps up to `window` GETs in flight on the
 * http client and hands the objects to the sink strictly in index
 * order.  The object at the head streams straight through; those ahead
 * of it keep their headers and up to buffer_max bytes in memory, then
 * pause their transfer until their turn comes.  A ring of slots (index i
 * at i % window) holds the objects between their request and their
 * hand-over.  sb_storage_download() is the one-object case.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sb-storage-int.h"

#define SB_STORAGE_DOWNLOAD_BUFFER (4u << 20)

struct sb_storage_download_run;

/* One object, from its request until it is handed over. */
struct sb_storage_download_slot {
	struct sb_storage_download_run *d;
	size_t i;
	struct sb_http_xfer *x;
	struct buf url, what;
	struct buf data;	/* bytes held until this object's turn */
	struct sb_http_resp resp;	/* headers held until its turn */
	int have_resp, begun, paused, done, rc;
	struct buf err;
};

/* One sb_storage_download_many() call. */
struct sb_storage_download_run {
	struct sb_storage *st;
	const struct sb_storage_ref *refs;
	size_t n, next, head;
	unsigned window;
	size_t buffer_max;
	const struct sb_storage_sink *sink;
	struct sb_storage_download_slot **slots; /* ring: i at i % window */
	int rc;
	struct buf err;
};

static void sb_storage_download_slot_free(struct sb_storage_download_slot *s)
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

static void sb_storage_download_stop(struct sb_storage_download_run *d, int rc,
				     const struct buf *msg, const char *fallback)
{
	size_t i;
	struct sb_storage_download_slot *s;

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

static char *sb_storage_download_dup(const char *s, int *bad)
{
	char *d;

	if (!s)
		return NULL;
	d = strdup(s);
	if (!d)
		*bad = 1;
	return d;
}

static int sb_storage_download_on_response(void *ctx,
					   const struct sb_http_resp *r)
{
	struct sb_storage_download_slot *s = ctx;
	struct sb_storage_download_run *d = s->d;
	int rc, bad = 0;

	if (d->rc)
		return -ECANCELED;
	if (s->i == d->head) {
		s->begun = 1;
		rc = d->sink->begin ? d->sink->begin(d->sink->ctx, s->i, r) : 0;
		if (rc < 0)
			sb_storage_download_stop(d, rc, NULL,
						 "download stopped by the caller");
		return rc < 0 ? rc : 0;
	}
	s->resp.status = r->status;
	s->resp.content_length = r->content_length;
	s->resp.etag = sb_storage_download_dup(r->etag, &bad);
	s->resp.content_type = sb_storage_download_dup(r->content_type, &bad);
	s->resp.cache_control = sb_storage_download_dup(r->cache_control, &bad);
	s->resp.last_modified = sb_storage_download_dup(r->last_modified, &bad);
	s->resp.content_range = sb_storage_download_dup(r->content_range, &bad);
	s->have_resp = 1;
	return bad ? -ENOMEM : 0;
}

static int sb_storage_download_on_data(void *ctx, const void *p, size_t n)
{
	struct sb_storage_download_slot *s = ctx;
	struct sb_storage_download_run *d = s->d;
	int rc;

	if (d->rc)
		return -ECANCELED;
	if (s->i == d->head && s->begun) {
		rc = d->sink->data ? d->sink->data(d->sink->ctx, s->i, p, n) : 0;
		if (rc < 0)
			sb_storage_download_stop(d, rc, NULL,
						 "download stopped by the caller");
		return rc < 0 ? rc : 0;
	}
	if (s->data.len + n > d->buffer_max) {
		s->paused = 1;
		return SB_HTTP_PAUSE;
	}
	return buf_add(&s->data, p, n);
}

static int sb_storage_download_submit(struct sb_storage_download_run *d,
				      size_t i);

/* Hands over every finished or ready object at the head, in order. */
static void sb_storage_download_advance(struct sb_storage_download_run *d)
{
	struct sb_storage_download_slot *s;
	int rc;

	while (!d->rc && d->head < d->n) {
		s = d->slots[d->head % d->window];
		if (!s)
			break;
		if (!s->begun && s->have_resp) {
			s->begun = 1;
			rc = d->sink->begin ? d->sink->begin(d->sink->ctx, s->i, &s->resp) : 0;
			if (rc < 0) {
				sb_storage_download_stop(d, rc, NULL,
							 "download stopped by the caller");
				break;
			}
		}
		if (s->data.len) {
			rc = d->sink->data ? d->sink->data(d->sink->ctx, s->i, s->data.data,
							   s->data.len) : 0;
			buf_release(&s->data);
			if (rc < 0) {
				sb_storage_download_stop(d, rc, NULL,
							 "download stopped by the caller");
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
			sb_storage_download_stop(d, rc, &s->err, "download failed");
			break;
		}
		d->slots[d->head % d->window] = NULL;
		sb_storage_download_slot_free(s);
		d->head++;
	}
	while (!d->rc && d->next < d->n && d->next - d->head < d->window) {
		rc = sb_storage_download_submit(d, d->next);
		if (rc < 0) {
			sb_storage_download_stop(d, rc, NULL, "cannot start a download");
			break;
		}
		d->next++;
	}
}

static void sb_storage_download_on_done(void *ctx, struct sb_http_xfer *x,
					int rc, const struct sb_http_resp *r,
					const struct buf *err)
{
	struct sb_storage_download_slot *s = ctx;
	struct sb_storage_download_run *d = s->d;

	s->x = NULL;
	s->done = 1;
	s->rc = rc;
	s->paused = 0;
	if (rc && err)
		buf_add(&s->err, err->data, err->len);
	if (!d->rc && s->i == d->head)
		sb_storage_download_advance(d);
}

static int sb_storage_download_submit(struct sb_storage_download_run *d,
				      size_t i)
{
	const struct sb_storage_ref *ref = &d->refs[i];
	struct sb_http_req req = { 0 };
	struct sb_storage_download_slot *s;
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
	r = sb_storage_get_req(d->st, &req, "/object/authenticated/", ref->bucket,
			       ref->name, &s->url, &s->what);
	if (r < 0) {
		sb_storage_download_slot_free(s);
		return r;
	}
	req.on_response = sb_storage_download_on_response;
	req.on_data = sb_storage_download_on_data;
	req.on_done = sb_storage_download_on_done;
	req.ctx = s;
	d->slots[i % d->window] = s;
	r = sb_http_submit(d->st->h, &req, &s->x, NULL);
	if (r < 0) {
		d->slots[i % d->window] = NULL;
		sb_storage_download_slot_free(s);
	}
	return r;
}

int sb_storage_download_many(struct sb_storage *st,
			     const struct sb_storage_ref *refs, size_t n,
			     unsigned window, size_t buffer_max,
			     const struct sb_storage_sink *sink,
			     struct buf *err)
{
	struct sb_storage_download_run d;
	size_t i;
	int r;

	if (n == 0)
		return 0;
	memset(&d, 0, sizeof(d));
	d.st = st;
	d.refs = refs;
	d.n = n;
	d.window = window ? window : sb_http_jobs(st->h);
	d.buffer_max = buffer_max ? buffer_max : SB_STORAGE_DOWNLOAD_BUFFER;
	d.sink = sink;
	buf_init(&d.err, 0);
	d.slots = calloc(d.window, sizeof(*d.slots));
	if (!d.slots)
		return -ENOMEM;
	sb_storage_download_advance(&d);
	r = sb_http_run(st->h, err);
	if (r == 0 && d.rc) {
		r = d.rc;
		sb_storage_copyerr(err, &d.err);
	} else if (r == 0 && d.head != d.n) {
		buf_seterr(err, "downloads stopped before the end");
		r = -EIO;
	}
	for (i = 0; i < d.window; i++)
		sb_storage_download_slot_free(d.slots[i]);
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

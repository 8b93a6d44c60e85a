/*
 * sb-http-run: the engine that runs many transfers on one thread.
 *
 * sb_http_run() turns the libcurl multi handle until no request is left:
 * it starts queued requests and retries that are due while fewer than
 * `jobs` transfers are running unpaused, finishes cancelled ones, lifts
 * pauses the callbacks asked to lift, hands each ended attempt to
 * sb-http-retry.c, and sleeps until curl, a backoff or a free slot needs
 * it.  Callbacks may submit, resume or cancel from inside the loop.
 * sb_http_do() is the one-request synchronous form on top of it.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <curl/curl.h>

#include "sb-http-int.h"

/* Finishes every request marked by sb_http_cancel(); 1 if any was. */
static int sb_http_run_cancel_pending(struct sb_http *h)
{
	struct sb_http_list *lists[3] = { &h->queued, &h->running, &h->waiting };
	struct sb_http_xfer *x, *nx;
	struct buf msg = BUF_INIT;
	int i, any = 0;

	for (i = 0; h->ncancel && i < 3; i++) {
		for (x = lists[i]->head; x; x = nx) {
			nx = x->next;
			if (!x->cancel_wanted)
				continue;
			/* on_done may cancel others, so restart the scan */
			sb_http_drop_easy(x);
			buf_reset(&msg);
			buf_addf(&msg, "%s: cancelled", x->what);
			sb_http_finish(x, -ECANCELED, &msg);
			any = 1;
			i = -1;
			break;
		}
	}
	buf_release(&msg);
	return any;
}

static struct sb_http_xfer *sb_http_run_next_due(struct sb_http *h,
						 uint64_t now)
{
	struct sb_http_xfer *x, *best = NULL;

	for (x = h->waiting.head; x; x = x->next)
		if (x->due_ms <= now && (!best || x->due_ms < best->due_ms))
			best = x;
	return best ? best : h->queued.head;
}

int sb_http_run(struct sb_http *h, struct buf *err)
{
	struct sb_http_xfer *x, *nx;
	struct CURLMsg *m;
	CURLMcode mc;
	uint64_t now, soonest;
	long ctimeout;
	int still, left, timeout, progressed;

	if (h->in_run) {
		buf_seterr(err, "sb_http_run called from a callback");
		return -EBUSY;
	}
	h->in_run = 1;
	for (;;) {
		now = sb_http_now_ms();
		while (h->running.n - h->npaused < h->o.jobs &&
		       (x = sb_http_run_next_due(h, now))) {
			if (sb_http_attempt_start(x) < 0) {
				int rc = x->cb_rc;

				x->cb_rc = 0;
				sb_http_finish(x, rc, &x->cb_err);
			}
		}
		progressed = sb_http_run_cancel_pending(h);
		for (x = h->running.head; x; x = nx) {
			nx = x->next;
			if (!x->resume_wanted)
				continue;
			x->resume_wanted = 0;
			if (x->paused) {
				x->paused = 0;
				h->npaused--;
				progressed = 1;
				x->moved_ms = sb_http_now_ms();
				curl_easy_pause(x->easy, CURLPAUSE_CONT);
			}
		}
		/* resume requests for transfers not running are moot */
		for (x = h->waiting.head; x; x = x->next)
			x->resume_wanted = 0;
		if (!h->running.n && !h->queued.n && !h->waiting.n)
			break;
		if (h->running.n && h->running.n == h->npaused && !h->queued.n &&
		    !h->waiting.n && !progressed) {
			buf_seterr(err, "every transfer is paused and nothing can resume one");
			h->in_run = 0;
			return -EDEADLK;
		}
		mc = curl_multi_perform(h->multi, &still);
		if (mc != CURLM_OK) {
			buf_seterr(err, "curl: %s", curl_multi_strerror(mc));
			h->in_run = 0;
			return -EIO;
		}
		while ((m = curl_multi_info_read(h->multi, &left))) {
			if (m->msg != CURLMSG_DONE)
				continue;
			x = NULL;
			curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&x);
			if (x)
				sb_http_retry_outcome(x, m->data.result);
		}
		/* sleep until curl has work, a retry is due or a slot can start */
		now = sb_http_now_ms();
		timeout = 1000;
		if (h->queued.n && h->running.n - h->npaused < h->o.jobs)
			timeout = 0;
		soonest = UINT64_MAX;
		for (x = h->waiting.head; x; x = x->next)
			if (x->due_ms < soonest)
				soonest = x->due_ms;
		if (soonest != UINT64_MAX)
			timeout = soonest <= now ? 0 : (soonest - now < (uint64_t)timeout ?
						       (int)(soonest - now) : timeout);
		if (curl_multi_timeout(h->multi, &ctimeout) == CURLM_OK &&
		    ctimeout >= 0 && ctimeout < timeout)
			timeout = (int)ctimeout;
		if (h->ncancel)
			timeout = 0;
		for (x = h->running.head; x; x = x->next)
			if (x->resume_wanted)
				timeout = 0;
		if (timeout > 0 && (h->running.n || h->waiting.n))
			curl_multi_poll(h->multi, NULL, 0, timeout, NULL);
	}
	h->in_run = 0;
	return 0;
}

/* ---- the synchronous form ------------------------------------------------------ */

struct sb_http_run_sync {
	const struct sb_http_req *req;
	struct sb_http_resp *resp;
	struct buf *err;
	int done, rc;
};

static int sb_http_run_sync_response(void *ctx, const struct sb_http_resp *r)
{
	struct sb_http_run_sync *s = ctx;

	return s->req->on_response(s->req->ctx, r);
}

static int sb_http_run_sync_data(void *ctx, const void *p, size_t n)
{
	struct sb_http_run_sync *s = ctx;

	return s->req->on_data(s->req->ctx, p, n);
}

static ssize_t sb_http_run_sync_read(void *ctx, uint64_t off, void *p,
				     size_t n)
{
	struct sb_http_run_sync *s = ctx;

	return s->req->read(s->req->ctx, off, p, n);
}

static void sb_http_run_sync_done(void *ctx, struct sb_http_xfer *x, int rc,
				  const struct sb_http_resp *r,
				  const struct buf *e)
{
	struct sb_http_run_sync *s = ctx;

	s->done = 1;
	s->rc = rc;
	/* take the response over: x frees whatever is left in it */
	sb_http_resp_release(s->resp);
	*s->resp = x->resp;
	memset(&x->resp, 0, sizeof(x->resp));
	buf_init(&x->resp.body, 0);
	if (rc && s->err) {
		buf_reset(s->err);
		if (e && e->len)
			buf_add(s->err, e->data, e->len);
		else
			buf_addf(s->err, "%s: %s", x->what, strerror(-rc));
	}
}

int sb_http_do(struct sb_http *h, const struct sb_http_req *req,
	       struct sb_http_resp *resp, struct buf *err)
{
	struct sb_http_run_sync s = { req, resp, err, 0, 0 };
	struct sb_http_req r = *req;
	int rc;

	memset(resp, 0, sizeof(*resp));
	buf_init(&resp->body, 0);
	resp->content_length = -1;
	r.ctx = &s;
	r.on_response = req->on_response ? sb_http_run_sync_response : NULL;
	r.on_data = req->on_data ? sb_http_run_sync_data : NULL;
	r.read = req->read ? sb_http_run_sync_read : NULL;
	r.on_done = sb_http_run_sync_done;
	rc = sb_http_submit(h, &r, NULL, err);
	if (rc < 0)
		return rc;
	rc = sb_http_run(h, err);
	if (rc < 0)
		return rc;
	if (!s.done) {
		buf_seterr(err, "request did not finish");
		return -EIO;
	}
	return s.rc;
}

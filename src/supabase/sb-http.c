/*
 * sb-http: the client and its requests.  See sb-http.h for the contract
 * and sb-http-int.h for how the parts fit together.
 *
 * Here: sb_http_new/free, submitting, marking for resume or cancel, the
 * counters, and the bookkeeping every other part relies on: the queued,
 * running and waiting lists, moving a request between them and
 * finishing it (on_done, then free).  Nothing here talks to the network;
 * attempts are sb-http-attempt.c's, the loop is sb-http-run.c's.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <curl/curl.h>
#include <sodium.h>

#include "sb-http-int.h"

#define SB_HTTP_MAX_BODY	(16u << 20)

/* ---- small helpers ------------------------------------------------------ */

uint64_t sb_http_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void sb_http_list_add(struct sb_http_list *l, struct sb_http_xfer *x)
{
	x->next = NULL;
	x->prev = l->tail;
	if (l->tail)
		l->tail->next = x;
	else
		l->head = x;
	l->tail = x;
	l->n++;
}

static void sb_http_list_del(struct sb_http_list *l, struct sb_http_xfer *x)
{
	if (x->prev)
		x->prev->next = x->next;
	else
		l->head = x->next;
	if (x->next)
		x->next->prev = x->prev;
	else
		l->tail = x->prev;
	x->prev = x->next = NULL;
	l->n--;
}

static struct sb_http_list *sb_http_list_of(struct sb_http *h,
					    enum sb_http_state s)
{
	switch (s) {
	case SB_HTTP_QUEUED: return &h->queued;
	case SB_HTTP_RUNNING: return &h->running;
	default: return &h->waiting;
	}
}

/* Headers hold keys: wipe them before they go back to the allocator. */
void sb_http_slist_wipe(struct curl_slist *l)
{
	struct curl_slist *p;

	for (p = l; p; p = p->next)
		if (p->data)
			sodium_memzero(p->data, strlen(p->data));
	curl_slist_free_all(l);
}

void sb_http_resp_clear(struct sb_http_resp *r)
{
	free(r->etag);
	free(r->content_type);
	free(r->cache_control);
	free(r->last_modified);
	free(r->content_range);
	r->etag = r->content_type = r->cache_control = NULL;
	r->last_modified = r->content_range = NULL;
	r->status = 0;
	r->content_length = -1;
}

void sb_http_resp_release(struct sb_http_resp *r)
{
	if (!r)
		return;
	sb_http_resp_clear(r);
	buf_release(&r->body);
}

static void sb_http_xfer_free(struct sb_http_xfer *x)
{
	if (!x)
		return;
	if (x->easy) {
		curl_multi_remove_handle(x->h->multi, x->easy);
		curl_easy_cleanup(x->easy);
	}
	sb_http_slist_wipe(x->headers);
	sb_http_slist_wipe(x->attempt_headers);
	free(x->method);
	free(x->url);
	free(x->what);
	free(x->first_etag);
	buf_release(&x->cb_err);
	sb_http_resp_release(&x->resp);
	free(x);
}

void sb_http_drop_easy(struct sb_http_xfer *x)
{
	if (x->easy) {
		curl_multi_remove_handle(x->h->multi, x->easy);
		curl_easy_cleanup(x->easy);
		x->easy = NULL;
	}
	if (x->paused) {
		x->paused = 0;
		x->h->npaused--;
	}
}

/* ---- moving and finishing ------------------------------------------------- */

void sb_http_move(struct sb_http_xfer *x, enum sb_http_state to)
{
	sb_http_list_del(sb_http_list_of(x->h, x->state), x);
	x->state = to;
	sb_http_list_add(sb_http_list_of(x->h, to), x);
}

/* Calls on_done and frees x (which is in no list any more). */
void sb_http_finish(struct sb_http_xfer *x, int rc, const struct buf *msg)
{
	struct sb_http *h = x->h;

	sb_http_list_del(sb_http_list_of(h, x->state), x);
	if (x->cancel_wanted)
		h->ncancel--;
	h->st.requests++;
	if (x->on_done)
		x->on_done(x->ctx, x, rc, &x->resp, msg);
	sb_http_xfer_free(x);
}

/* ---- lifecycle ------------------------------------------------------------ */

int sb_http_new(struct sb_http **hp, const struct sb_http_opts *o,
		struct buf *err)
{
	struct sb_http *h;

	*hp = NULL;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		buf_seterr(err, "cannot initialise libcurl");
		return -EIO;
	}
	h = calloc(1, sizeof(*h));
	if (!h) {
		curl_global_cleanup();
		return -ENOMEM;
	}
	if (o)
		h->o = *o;
	if (!h->o.jobs)
		h->o.jobs = 8;
	if (h->o.retries == 0)
		h->o.retries = 5;
	else if (h->o.retries < 0)
		h->o.retries = 0;
	if (!h->o.backoff_ms)
		h->o.backoff_ms = 500;
	if (!h->o.backoff_max_ms)
		h->o.backoff_max_ms = 30000;
	if (!h->o.retry_after_max_s)
		h->o.retry_after_max_s = 300;
	if (!h->o.connect_timeout_ms)
		h->o.connect_timeout_ms = 10000;
	if (!h->o.stall_timeout_s)
		h->o.stall_timeout_s = 30;
	if (!h->o.user_agent)
		h->o.user_agent = "vault";
	h->multi = curl_multi_init();
	if (!h->multi) {
		free(h);
		curl_global_cleanup();
		buf_seterr(err, "cannot create a curl multi handle");
		return -ENOMEM;
	}
	curl_multi_setopt(h->multi, CURLMOPT_MAXCONNECTS, (long)h->o.jobs * 2);
	*hp = h;
	return 0;
}

void sb_http_free(struct sb_http *h)
{
	struct sb_http_list *lists[3];
	struct sb_http_xfer *x;
	int i;

	if (!h)
		return;
	lists[0] = &h->queued;
	lists[1] = &h->running;
	lists[2] = &h->waiting;
	for (i = 0; i < 3; i++)
		while ((x = lists[i]->head)) {
			sb_http_list_del(lists[i], x);
			sb_http_xfer_free(x);
		}
	curl_multi_cleanup(h->multi);
	free(h);
	curl_global_cleanup();
}

int sb_http_submit(struct sb_http *h, const struct sb_http_req *req,
		   struct sb_http_xfer **xp, struct buf *err)
{
	struct sb_http_xfer *x;
	const char *const *hp;
	struct curl_slist *t;

	if (xp)
		*xp = NULL;
	if (!req->method || !req->url) {
		buf_seterr(err, "HTTP request without method or URL");
		return -EINVAL;
	}
	x = calloc(1, sizeof(*x));
	if (!x)
		return -ENOMEM;
	x->h = h;
	buf_init(&x->cb_err, 0);
	buf_init(&x->resp.body, 0);
	x->resp.content_length = -1;
	x->method = strdup(req->method);
	x->url = strdup(req->url);
	x->what = strdup(req->what ? req->what : req->url);
	if (!x->method || !x->url || !x->what)
		goto nomem;
	for (hp = req->headers; hp && *hp; hp++) {
		t = curl_slist_append(x->headers, *hp);
		if (!t)
			goto nomem;
		x->headers = t;
	}
	x->body = req->body;
	x->body_len = req->body_len;
	x->read = req->read;
	x->read_len = req->read_len;
	x->max_body = req->max_body ? req->max_body : SB_HTTP_MAX_BODY;
	x->on_response = req->on_response;
	x->on_data = req->on_data;
	x->on_done = req->on_done;
	x->ctx = req->ctx;
	x->state = SB_HTTP_QUEUED;
	sb_http_list_add(&h->queued, x);
	if (xp)
		*xp = x;
	return 0;
nomem:
	sb_http_xfer_free(x);
	buf_seterr(err, "out of memory");
	return -ENOMEM;
}

void sb_http_resume(struct sb_http_xfer *x)
{
	if (x)
		x->resume_wanted = 1;
}

void sb_http_cancel(struct sb_http_xfer *x)
{
	if (x && !x->cancel_wanted) {
		x->cancel_wanted = 1;
		x->h->ncancel++;
	}
}

unsigned sb_http_jobs(const struct sb_http *h)
{
	return h->o.jobs;
}

unsigned sb_http_xfer_attempts(const struct sb_http_xfer *x)
{
	return x ? x->attempts : 0;
}

void sb_http_stats(const struct sb_http *h, struct sb_http_stats *s)
{
	*s = h->st;
}

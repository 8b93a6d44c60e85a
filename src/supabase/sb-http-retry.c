/*
 * sb-http-retry: what becomes of a request when one of its attempts
 * ends.
 *
 * A 2xx that went through its checks finishes the request.  A failure is
 * put into words (the transport's error, a stall, or the error body) and
 * mapped to an errno; when another attempt may help (429, 408, 5xx, also
 * as Storage's statusCode inside an HTTP 400, timeouts, resets, bodies
 * shorter than their Content-Length) and attempts are left, the request
 * waits for an exponential backoff with jitter, or longer if Retry-After
 * asks, and goes back to the run loop.  A Retry-After over the limit, or
 * the last attempt, finishes it with the error.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <curl/curl.h>
#include <sodium.h>

#include "sb-http-int.h"

/* Maps a transport failure; *retry says whether another attempt may help. */
static int sb_http_retry_curl_errno(CURLcode cc, int *retry)
{
	*retry = 1;
	switch (cc) {
	case CURLE_OPERATION_TIMEDOUT:
		return -ETIMEDOUT;
	case CURLE_COULDNT_CONNECT:
		return -ECONNREFUSED;
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
		return -EHOSTUNREACH;
	case CURLE_PARTIAL_FILE:
		return -EPROTO;
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
	case CURLE_SSL_CONNECT_ERROR:
		return -ECONNRESET;
	default:
		break;
	}
	*retry = 0;
	switch (cc) {
	case CURLE_OUT_OF_MEMORY:
		return -ENOMEM;
	case CURLE_URL_MALFORMAT:
	case CURLE_UNSUPPORTED_PROTOCOL:
		return -EINVAL;
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CERTPROBLEM:
		return -EACCES;
	case CURLE_WEIRD_SERVER_REPLY:
		return -EPROTO;
	default:
		return -EIO;
	}
}

static uint64_t sb_http_retry_backoff(const struct sb_http *h, unsigned attempt)
{
	uint64_t d = h->o.backoff_ms;
	unsigned i;

	for (i = 1; i < attempt && d < h->o.backoff_max_ms; i++)
		d *= 2;
	if (d > h->o.backoff_max_ms)
		d = h->o.backoff_max_ms;
	/* "equal jitter": half fixed, half random, so synchronised clients
	 * spread out but nobody retries immediately */
	return d / 2 + randombytes_uniform((uint32_t)(d / 2 + 1));
}

void sb_http_retry_outcome(struct sb_http_xfer *x, CURLcode cc)
{
	struct sb_http *h = x->h;
	struct buf msg = BUF_INIT;
	curl_off_t ra = -1;
	long status = 0;
	int rc, retry = 0;
	uint64_t delay;

	curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_getinfo(x->easy, CURLINFO_RETRY_AFTER, &ra);
	sb_http_drop_easy(x);
	if (status)
		x->resp.status = status;

	if (x->cb_rc) {
		rc = x->cb_rc;
		x->cb_rc = 0;
		buf_add(&msg, x->cb_err.data, x->cb_err.len);
		sb_http_finish(x, rc, &msg);
		buf_release(&msg);
		return;
	}
	if (cc == CURLE_OK && sb_http_is_2xx(x->resp.status)) {
		if (!x->headers_done) {
			x->headers_done = 1;
			if (sb_http_attempt_headers_done(x) < 0) {
				rc = x->cb_rc;
				x->cb_rc = 0;
				sb_http_finish(x, rc, &x->cb_err);
				return;
			}
		}
		sb_http_finish(x, 0, NULL);
		return;
	}
	if (cc == CURLE_ABORTED_BY_CALLBACK && x->stalled) {
		rc = -ETIMEDOUT;
		retry = 1;
		buf_addf(&msg, "%s: no data for %u s", x->what, h->o.stall_timeout_s);
	} else if (cc != CURLE_OK) {
		rc = sb_http_retry_curl_errno(cc, &retry);
		buf_addf(&msg, "%s: %s", x->what,
			 cc == CURLE_PARTIAL_FILE ? "response body shorter than its Content-Length" :
			 curl_easy_strerror(cc));
		if (x->errbuf[0]) {
			buf_addstr(&msg, " (");
			sb_http_text_add(&msg, x->errbuf, strlen(x->errbuf));
			buf_addch(&msg, ')');
		}
	} else {
		rc = sb_http_text_describe(&msg, x->what, x->resp.status,
					 x->resp.body.data, x->resp.body.len, &retry);
	}
	if (retry && ra > (curl_off_t)h->o.retry_after_max_s) {
		buf_addf(&msg, " (the server asks to retry after %" CURL_FORMAT_CURL_OFF_T
			 " s)", ra);
		retry = 0;
	} else if (retry && x->attempts <= (unsigned)h->o.retries) {
		delay = sb_http_retry_backoff(h, x->attempts);
		if (ra >= 0 && (uint64_t)ra * 1000u > delay)
			delay = (uint64_t)ra * 1000u;
		x->due_ms = sb_http_now_ms() + delay;
		h->st.retries++;
		sb_http_move(x, SB_HTTP_WAITING);
		buf_release(&msg);
		return;
	} else if (retry) {
		buf_addf(&msg, " (gave up after %u attempts)", x->attempts);
	}
	sb_http_finish(x, rc, &msg);
	buf_release(&msg);
}

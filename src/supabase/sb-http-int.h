/*
 * sb-http-int.h: the inside of sb-http, shared only by its parts.
 *
 *   sb-http.c          the client and its requests: lifecycle, the three
 *                      lists, finishing a request
 *   sb-http-text.c     URL encoding, quoting for messages, error bodies
 *                      turned into a message and an errno (no curl)
 *   sb-http-attempt.c  one attempt: its easy handle and curl callbacks
 *   sb-http-retry.c    the end of an attempt: done, retried, or failed
 *   sb-http-run.c      the multi loop, cancellation, the synchronous form
 *
 * Each part uses only the parts listed above it (sb-http-text.c uses
 * none), so the compiled files form no cycle.
 *
 * A request is in exactly one of three lists: queued (not started),
 * running (an attempt in flight, possibly paused) or waiting (backing off
 * before its next attempt).  Every attempt gets a fresh easy handle;
 * connections are reused through the multi handle's cache.
 */
#ifndef VAULT_SB_HTTP_INT_H
#define VAULT_SB_HTTP_INT_H

#include <stddef.h>
#include <stdint.h>
#include <curl/curl.h>

#include "buf.h"
#include "sb-http.h"

enum sb_http_state {
	SB_HTTP_QUEUED,
	SB_HTTP_RUNNING,
	SB_HTTP_WAITING,
};

struct sb_http_list {
	struct sb_http_xfer *head, *tail;
	size_t n;
};

struct sb_http_xfer {
	struct sb_http *h;
	struct sb_http_xfer *prev, *next;
	enum sb_http_state state;

	char *method, *url, *what;
	struct curl_slist *headers;
	const void *body;
	size_t body_len;
	ssize_t (*read)(void *ctx, uint64_t off, void *p, size_t n);
	uint64_t read_len, read_off;
	size_t max_body;
	int (*on_response)(void *ctx, const struct sb_http_resp *r);
	int (*on_data)(void *ctx, const void *p, size_t n);
	void (*on_done)(void *ctx, struct sb_http_xfer *x, int rc,
			const struct sb_http_resp *r, const struct buf *err);
	void *ctx;

	CURL *easy;
	struct curl_slist *attempt_headers;
	unsigned attempts;
	uint64_t delivered;	/* 2xx body bytes handed to on_data */
	uint64_t skip;		/* bytes of this attempt already delivered */
	int headers_done, responded, paused, resume_wanted, cancel_wanted;
	int stalled;
	uint64_t moved_ms;	/* when bytes last moved (stall detection) */
	curl_off_t moved_dl, moved_ul;
	char *first_etag;
	int cb_rc;		/* a callback or a check aborted the attempt */
	struct buf cb_err;
	struct sb_http_resp resp;
	uint64_t due_ms;
	char errbuf[CURL_ERROR_SIZE];
};

struct sb_http {
	CURLM *multi;
	struct sb_http_opts o;
	struct sb_http_list queued, running, waiting;
	size_t npaused;
	size_t ncancel;		/* requests marked by sb_http_cancel */
	int in_run;
	struct sb_http_stats st;
};

static inline int sb_http_is_2xx(long s)
{
	return s >= 200 && s < 300;
}

/* ---- sb-http.c ---------------------------------------------------------- */

/* CLOCK_MONOTONIC in milliseconds. */
uint64_t sb_http_now_ms(void);
/* Frees a header list, wiping each line first (headers hold keys). */
void sb_http_slist_wipe(struct curl_slist *l);
/* Empties the header fields of r (not its body): status 0, length -1. */
void sb_http_resp_clear(struct sb_http_resp *r);
/* Ends the attempt in flight, if any: its easy handle leaves the multi
 * handle and is freed, and a pause no longer counts. */
void sb_http_drop_easy(struct sb_http_xfer *x);
/* Moves x from the list of its state to the list of `to`. */
void sb_http_move(struct sb_http_xfer *x, enum sb_http_state to);
/* Takes x out of its list, calls its on_done (rc, msg may be NULL) and
 * frees it: x is invalid afterwards. */
void sb_http_finish(struct sb_http_xfer *x, int rc, const struct buf *msg);

/* ---- sb-http-text.c ------------------------------------------------------ */

/* Appends a server-supplied text, bounded, on one line, made printable. */
int sb_http_text_add(struct buf *out, const char *s, size_t n);
/* sb_http_describe(), and *retry (may be NULL) says whether the status,
 * or the statusCode inside a Storage error body, is worth retrying. */
int sb_http_text_describe(struct buf *err, const char *what, long status,
			  const void *body, size_t n, int *retry);

/* ---- sb-http-attempt.c ----------------------------------------------------- */

/* Starts the next attempt of x: a fresh easy handle (with Range/If-Range
 * when a GET already delivered bytes) added to the multi handle, x moved
 * to the running list.  On failure returns a negative errno with x->cb_rc
 * and x->cb_err set, x still in its list. */
int sb_http_attempt_start(struct sb_http_xfer *x);
/* All headers of a final response are in: the resume checks (Range,
 * ETag), then on_response the first time.  0, or a negative errno with
 * x->cb_rc and x->cb_err set. */
int sb_http_attempt_headers_done(struct sb_http_xfer *x);

/* ---- sb-http-retry.c -------------------------------------------------------- */

/* The attempt of x ended with cc: removes its easy handle, then finishes
 * x (success or a final error) or moves it to the waiting list for
 * another attempt after a backoff. */
void sb_http_retry_outcome(struct sb_http_xfer *x, CURLcode cc);

#endif

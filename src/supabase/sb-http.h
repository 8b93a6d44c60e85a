/*
 * sb-http: the small HTTP client under vault's Supabase code, a wrapper
 * around the libcurl multi interface.
 *
 *  - Up to `jobs` transfers run at once on one thread; callbacks fire
 *    from sb_http_run() and may submit more requests.
 *  - Response bodies stream to a callback (no temporary files), or are
 *    collected in memory up to a cap for small JSON answers.  A data
 *    callback can pause its transfer (SB_HTTP_PAUSE) until
 *    sb_http_resume(), which is how a caller keeps concurrent downloads
 *    but consumes them in order.
 *  - 429, 5xx (also Storage's "HTTP 400 with statusCode 5xx" form),
 *    timeouts, stalls, resets and truncated bodies (shorter than their
 *    Content-Length) are retried with exponential backoff and jitter,
 *    waiting at least what Retry-After asks.  A GET that already
 *    delivered bytes resumes with Range/If-Range; a server that answers
 *    the whole body again has the delivered prefix skipped, and one whose
 *    ETag changed fails with -ESTALE, so the callback sees every byte
 *    exactly once and from one version of the object.
 *  - Failures are described in err as "<what>: <reason>", where reason
 *    comes from the error body when the service sent one (Storage's
 *    {"statusCode","error","message"}, the Management API's {"message"}).
 *    Request headers (which hold the keys) never appear in messages.
 *
 * Errors: -ENOENT (404), -EACCES (401/403), -EEXIST (409), -EFBIG (413),
 * -EINVAL (other 4xx), -EAGAIN (429 after the retries), -EIO (5xx after
 * the retries), -ETIMEDOUT, -ECONNREFUSED, -ECONNRESET, -EPROTO (a
 * truncated or malformed response), -ESTALE (changed while resuming),
 * -E2BIG (collected body over its cap), -ENOMEM, or whatever a callback
 * returned.  Library code: nothing here prints.
 */
#ifndef VAULT_SB_HTTP_H
#define VAULT_SB_HTTP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "buf.h"

/* Returned by an on_data callback to pause its transfer. */
#define SB_HTTP_PAUSE 1

struct sb_http;
struct sb_http_xfer;

struct sb_http_opts {
	unsigned jobs;			/* concurrent running transfers; 0 = 8 */
	int retries;			/* extra attempts; 0 = 5, <0 = none */
	unsigned backoff_ms;		/* first backoff, doubling; 0 = 500 */
	unsigned backoff_max_ms;	/* cap on one backoff; 0 = 30000 */
	unsigned retry_after_max_s;	/* longer Retry-After fails at once; 0 = 300 */
	unsigned connect_timeout_ms;	/* 0 = 10000 */
	unsigned stall_timeout_s;	/* no byte for this long aborts; 0 = 30 */
	const char *user_agent;		/* NULL = "vault" */
};

/* The response of the current attempt.  Header strings are NULL when
 * absent; body holds the collected body (no on_data) or, for a failed
 * response, its first 64 KiB. */
struct sb_http_resp {
	long status;
	int64_t content_length;		/* -1 if unknown */
	char *etag;
	char *content_type;
	char *cache_control;
	char *last_modified;
	char *content_range;
	struct buf body;
};
void sb_http_resp_release(struct sb_http_resp *r);

struct sb_http_req {
	const char *method;		/* "GET", "POST", ... */
	const char *url;		/* complete and already encoded */
	const char *const *headers;	/* "Name: value", NULL-terminated; copied */
	/* Request body: bytes (must stay valid until on_done), or a reader
	 * asked for bytes at an offset (restarted from 0 on a retry). */
	const void *body;
	size_t body_len;
	ssize_t (*read)(void *ctx, uint64_t off, void *p, size_t n);
	uint64_t read_len;
	const char *what;		/* names the target in messages (copied) */
	size_t max_body;		/* cap for a collected body; 0 = 16 MiB */
	/* Called once, for the first 2xx response, before its data.
	 * Non-zero aborts. */
	int (*on_response)(void *ctx, const struct sb_http_resp *r);
	/* 2xx body bytes; NULL = collect in resp.body.  0, SB_HTTP_PAUSE, or
	 * a negative errno to abort. */
	int (*on_data)(void *ctx, const void *p, size_t n);
	/* Called once when the request is finished: rc 0 or negative errno;
	 * err describes a failure; r is the last response.  The xfer is
	 * freed after it returns. */
	void (*on_done)(void *ctx, struct sb_http_xfer *x, int rc,
			const struct sb_http_resp *r, const struct buf *err);
	void *ctx;
};

int sb_http_new(struct sb_http **h, const struct sb_http_opts *o,
		struct buf *err);
/* Abandons unfinished transfers (without calling on_done).  NULL-safe. */
void sb_http_free(struct sb_http *h);

/* Queues a request; it starts when a slot is free.  *x (may be NULL) is
 * valid until its on_done returns. */
int sb_http_submit(struct sb_http *h, const struct sb_http_req *req,
		   struct sb_http_xfer **x, struct buf *err);
/* Runs until no request is left (including those submitted by
 * callbacks).  Returns 0, or a negative errno for a failure of the client
 * itself; the outcome of each request goes to its on_done. */
int sb_http_run(struct sb_http *h, struct buf *err);
/* Continues a transfer paused by its on_data (takes effect in the run
 * loop, so it is safe to call from any callback). */
void sb_http_resume(struct sb_http_xfer *x);
/* Stops a request: it finishes with -ECANCELED (on_done is still
 * called) at the next turn of the run loop.  Safe from any callback. */
void sb_http_cancel(struct sb_http_xfer *x);
/* The jobs setting (concurrent running transfers). */
unsigned sb_http_jobs(const struct sb_http *h);
/* Attempts made so far (1 for the first). */
unsigned sb_http_xfer_attempts(const struct sb_http_xfer *x);

/*
 * One request, synchronously (runs the loop until it is done, along
 * with anything else queued).  The body is collected into resp (which
 * the caller releases) unless req->on_data is set.  req->on_done is
 * ignored.
 */
int sb_http_do(struct sb_http *h, const struct sb_http_req *req,
	       struct sb_http_resp *resp, struct buf *err);

/* Counters since sb_http_new. */
struct sb_http_stats {
	uint64_t requests;	/* logical requests finished */
	uint64_t attempts;	/* HTTP attempts made */
	uint64_t retries;
	uint64_t bytes_in;	/* body bytes received */
};
void sb_http_stats(const struct sb_http *h, struct sb_http_stats *s);

/* ---- helpers --------------------------------------------------------- */

/* Percent-encodes everything but RFC 3986 unreserved characters. */
int sb_http_escape(struct buf *out, const char *s, size_t n);
/* Encodes a path segment by segment, keeping the '/' separators; "." and
 * ".." segments are written as %2E so nothing on the way normalises them
 * away. */
int sb_http_escape_path(struct buf *out, const char *s, size_t n);
/* Appends s for a message: printable UTF-8 as is, other bytes as \xHH,
 * backslash doubled, so a hostile name cannot forge output. */
int sb_http_quote_name(struct buf *out, const char *s, size_t n);
/*
 * Describes a failed response in err ("<what>: HTTP 400 (404 not_found):
 * Object not found") from its status and error body, and returns the
 * matching negative errno.
 */
int sb_http_describe(struct buf *err, const char *what, long status,
		     const void *body, size_t n);

#endif

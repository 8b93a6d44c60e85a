/*
 * sb-http-attempt: one attempt of a request on its own easy handle.
 *
 * sb_http_attempt_start() builds the handle (headers, Range/If-Range to
 * resume a GET that already delivered bytes, the body or upload reader,
 * timeouts) and adds it to the multi handle.  The curl callbacks then
 * parse the response headers, check a resumed answer (the right range,
 * or the same ETag with the delivered prefix skipped), hand the body to
 * on_data or collect it under its cap, pause on SB_HTTP_PAUSE, feed an
 * upload and watch for stalls.  A callback that must abort records why in
 * x->cb_rc and x->cb_err; what happens next is sb-http-retry.c's.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <curl/curl.h>

#include "sb-http-int.h"

#define SB_HTTP_ERRBODY_MAX	65536

/* ---- callbacks ----------------------------------------------------------- */

static int sb_http_attempt_fail(struct sb_http_xfer *x, int rc,
				const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int sb_http_attempt_fail(struct sb_http_xfer *x, int rc,
				const char *fmt, ...)
{
	va_list ap;

	x->cb_rc = rc;
	buf_reset(&x->cb_err);
	if (x->what && *x->what)
		buf_addf(&x->cb_err, "%s: ", x->what);
	va_start(ap, fmt);
	buf_vaddf(&x->cb_err, fmt, ap);
	va_end(ap);
	return rc;
}

int sb_http_attempt_headers_done(struct sb_http_xfer *x)
{
	unsigned long long start, end;
	int r;

	if (!sb_http_is_2xx(x->resp.status))
		return 0;
	if (x->delivered > 0) {
		if (x->resp.status == 206) {
			if (!x->resp.content_range ||
			    sscanf(x->resp.content_range, "bytes %llu-%llu/", &start,
				   &end) != 2 || start != x->delivered)
				return sb_http_attempt_fail(x, -EPROTO,
					"resumed download answered with a wrong range");
		} else if (x->resp.status == 200) {
			if (x->first_etag && (!x->resp.etag ||
					      strcmp(x->first_etag, x->resp.etag) != 0))
				return sb_http_attempt_fail(x, -ESTALE,
					"changed on the server during the download");
			x->skip = x->delivered;
		} else {
			return sb_http_attempt_fail(x, -EPROTO,
				"resumed download answered HTTP %ld", x->resp.status);
		}
	} else if (x->responded && x->first_etag &&
		   (!x->resp.etag || strcmp(x->first_etag, x->resp.etag) != 0)) {
		/* the caller has the first version's headers already */
		return sb_http_attempt_fail(x, -ESTALE,
			"changed on the server during the download");
	} else if (!x->first_etag && x->resp.etag) {
		x->first_etag = strdup(x->resp.etag);
		if (!x->first_etag)
			return sb_http_attempt_fail(x, -ENOMEM, "out of memory");
	}
	if (!x->responded) {
		x->responded = 1;
		if (x->on_response) {
			r = x->on_response(x->ctx, &x->resp);
			if (r)
				return sb_http_attempt_fail(x, r < 0 ? r : -ECANCELED,
							    "aborted by the caller");
		}
	}
	return 0;
}

static char *sb_http_attempt_hval(const char *p, size_t n)
{
	while (n && (*p == ' ' || *p == '\t')) {
		p++;
		n--;
	}
	while (n && (p[n - 1] == '\r' || p[n - 1] == '\n' || p[n - 1] == ' ' ||
		     p[n - 1] == '\t'))
		n--;
	return strndup(p, n);
}

static size_t sb_http_attempt_header_cb(char *p, size_t sz, size_t nm,
					void *ud)
{
	struct sb_http_xfer *x = ud;
	size_t n = sz * nm, i;
	char **slot = NULL;
	char *v;
	static const struct {
		const char *name;
		size_t off;
	} known[] = {
		{ "etag", offsetof(struct sb_http_resp, etag) },
		{ "content-type", offsetof(struct sb_http_resp, content_type) },
		{ "cache-control", offsetof(struct sb_http_resp, cache_control) },
		{ "last-modified", offsetof(struct sb_http_resp, last_modified) },
		{ "content-range", offsetof(struct sb_http_resp, content_range) },
	};

	if (n >= 5 && memcmp(p, "HTTP/", 5) == 0) {
		/* a new status line: an interim 1xx may have come before */
		const char *sp = memchr(p, ' ', n);

		sb_http_resp_clear(&x->resp);
		buf_reset(&x->resp.body);
		x->headers_done = 0;
		if (sp)
			x->resp.status = strtol(sp + 1, NULL, 10);
		return n;
	}
	if (n <= 2 && (n == 0 || p[0] == '\r' || p[0] == '\n')) {
		if (x->resp.status >= 200 && !x->headers_done) {
			x->headers_done = 1;
			if (sb_http_attempt_headers_done(x) < 0)
				return 0;
		}
		return n;
	}
	for (i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		size_t kl = strlen(known[i].name);

		if (n > kl && p[kl] == ':' && strncasecmp(p, known[i].name, kl) == 0) {
			slot = (char **)((char *)&x->resp + known[i].off);
			p += kl + 1;
			n -= kl + 1;
			break;
		}
	}
	if (!slot) {
		if (n > 15 && strncasecmp(p, "content-length:", 15) == 0) {
			v = sb_http_attempt_hval(p + 15, n - 15);
			if (v) {
				char *end;
				long long cl = strtoll(v, &end, 10);

				x->resp.content_length = (*v && !*end && cl >= 0) ? cl : -1;
				free(v);
			}
		}
		return sz * nm;
	}
	v = sb_http_attempt_hval(p, n);
	if (!v) {
		sb_http_attempt_fail(x, -ENOMEM, "out of memory");
		return 0;
	}
	free(*slot);
	*slot = v;
	return sz * nm;
}

static size_t sb_http_attempt_write_cb(char *p, size_t sz, size_t nm,
				       void *ud)
{
	struct sb_http_xfer *x = ud;
	size_t n = sz * nm, off = 0, cap, room;
	int r;

	if (!x->headers_done) {
		x->headers_done = 1;
		if (sb_http_attempt_headers_done(x) < 0)
			return 0;
	}
	if (!sb_http_is_2xx(x->resp.status) || !x->on_data) {
		int ok = sb_http_is_2xx(x->resp.status);

		cap = ok ? x->max_body : SB_HTTP_ERRBODY_MAX;
		room = cap > x->resp.body.len ? cap - x->resp.body.len : 0;
		if (ok && n > room) {
			sb_http_attempt_fail(x, -E2BIG, "response larger than %zu bytes",
					     cap);
			return 0;
		}
		if (buf_add(&x->resp.body, p, n < room ? n : room) < 0) {
			sb_http_attempt_fail(x, -ENOMEM, "out of memory");
			return 0;
		}
		x->h->st.bytes_in += n;
		return n;
	}
	if (x->skip) {
		off = x->skip < n ? (size_t)x->skip : n;
		x->skip -= off;
		if (off == n) {
			x->h->st.bytes_in += n;
			return n;
		}
	}
	r = x->on_data(x->ctx, p + off, n - off);
	if (r == SB_HTTP_PAUSE) {
		/* curl hands the same bytes again on resume */
		x->skip += off;
		x->paused = 1;
		x->h->npaused++;
		return CURL_WRITEFUNC_PAUSE;
	}
	if (r < 0) {
		sb_http_attempt_fail(x, r, "aborted by the caller");
		return 0;
	}
	x->delivered += n - off;
	x->h->st.bytes_in += n;
	return n;
}

/*
 * Stall detection: no byte up or down for stall_timeout_s aborts the
 * attempt (retried as a timeout).  curl's LOW_SPEED options average over
 * several seconds, so a burst followed by silence would go unnoticed for
 * too long.  Time spent paused by the caller does not count.
 */
static int sb_http_attempt_progress_cb(void *ud, curl_off_t dltotal,
				       curl_off_t dlnow, curl_off_t ultotal,
				       curl_off_t ulnow)
{
	struct sb_http_xfer *x = ud;
	uint64_t now = sb_http_now_ms();

	if (x->paused || dlnow != x->moved_dl || ulnow != x->moved_ul) {
		x->moved_dl = dlnow;
		x->moved_ul = ulnow;
		x->moved_ms = now;
		return 0;
	}
	if (now - x->moved_ms >= (uint64_t)x->h->o.stall_timeout_s * 1000u) {
		x->stalled = 1;
		return 1;
	}
	return 0;
}

static size_t sb_http_attempt_read_cb(char *p, size_t sz, size_t nm,
				      void *ud)
{
	struct sb_http_xfer *x = ud;
	uint64_t left = x->read_len - x->read_off;
	size_t n = sz * nm;
	ssize_t got;

	if (left == 0)
		return 0;
	if (n > left)
		n = (size_t)left;
	got = x->read(x->ctx, x->read_off, p, n);
	if (got < 0) {
		sb_http_attempt_fail(x, (int)got, "reading the upload failed");
		return CURL_READFUNC_ABORT;
	}
	if (got == 0 || (size_t)got > n) {
		sb_http_attempt_fail(x, -EPROTO, "upload source ended early");
		return CURL_READFUNC_ABORT;
	}
	x->read_off += (uint64_t)got;
	return (size_t)got;
}

/* ---- starting ------------------------------------------------------------- */

int sb_http_attempt_start(struct sb_http_xfer *x)
{
	struct sb_http *h = x->h;
	struct curl_slist *l = NULL, *t, *p;
	char line[128];
	CURL *e;
	int isget = strcmp(x->method, "GET") == 0;

	x->attempts++;
	h->st.attempts++;
	sb_http_resp_clear(&x->resp);
	buf_reset(&x->resp.body);
	x->headers_done = 0;
	x->skip = 0;
	x->read_off = 0;
	x->errbuf[0] = '\0';
	sb_http_slist_wipe(x->attempt_headers);
	x->attempt_headers = NULL;
	for (p = x->headers; p; p = p->next) {
		t = curl_slist_append(l, p->data);
		if (!t)
			goto nomem;
		l = t;
	}
	if (isget && x->delivered > 0) {
		snprintf(line, sizeof(line), "Range: bytes=%" PRIu64 "-", x->delivered);
		t = curl_slist_append(l, line);
		if (!t)
			goto nomem;
		l = t;
		if (x->first_etag && strlen(x->first_etag) < sizeof(line) - 12) {
			snprintf(line, sizeof(line), "If-Range: %s", x->first_etag);
			t = curl_slist_append(l, line);
			if (!t)
				goto nomem;
			l = t;
		}
	}
	x->attempt_headers = l;
	e = curl_easy_init();
	if (!e)
		return sb_http_attempt_fail(x, -ENOMEM, "cannot create a curl handle");
	x->easy = e;
	curl_easy_setopt(e, CURLOPT_URL, x->url);
	curl_easy_setopt(e, CURLOPT_PRIVATE, x);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, x->attempt_headers);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, sb_http_attempt_write_cb);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, sb_http_attempt_header_cb);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, x);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->errbuf);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_PATH_AS_IS, 1L);
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)h->o.connect_timeout_ms);
	x->stalled = 0;
	x->moved_ms = sb_http_now_ms();
	x->moved_dl = x->moved_ul = 0;
	curl_easy_setopt(e, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(e, CURLOPT_XFERINFOFUNCTION, sb_http_attempt_progress_cb);
	curl_easy_setopt(e, CURLOPT_XFERINFODATA, x);
	curl_easy_setopt(e, CURLOPT_USERAGENT, h->o.user_agent);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
	if (x->read) {
		curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE, (curl_off_t)x->read_len);
		curl_easy_setopt(e, CURLOPT_READFUNCTION, sb_http_attempt_read_cb);
		curl_easy_setopt(e, CURLOPT_READDATA, x);
		curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, x->method);
	} else if (strcmp(x->method, "HEAD") == 0) {
		curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
	} else if (isget && !x->body) {
		curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
	} else {
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)x->body_len);
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, x->body ? x->body : "");
		curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, x->method);
	}
	if (curl_multi_add_handle(h->multi, e) != CURLM_OK) {
		curl_easy_cleanup(e);
		x->easy = NULL;
		return sb_http_attempt_fail(x, -EIO, "cannot start the transfer");
	}
	sb_http_move(x, SB_HTTP_RUNNING);
	return 0;
nomem:
	sb_http_slist_wipe(l);
	return sb_http_attempt_fail(x, -ENOMEM, "out of memory");
}

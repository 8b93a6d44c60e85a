/*
 * sb-http: libcurl multi-interface client with concurrent transfers,
 * streaming bodies, pause/resume, retries (backoff + jitter, Retry-After,
 * Range resume) and Supabase error-body parsing.  See sb-http.h.
 *
 * Every attempt gets a fresh easy handle; connections are reused through
 * the multi handle's cache.  A request is in exactly one of three lists:
 * queued (not started), running (an attempt in flight, possibly paused)
 * or waiting (backing off before its next attempt).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <curl/curl.h>
#include <sodium.h>

#include "sb-http.h"
#include "json.h"

#define SB_HTTP_ERRBODY_MAX	65536
#define SB_HTTP_MAX_BODY	(16u << 20)

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

/* ---- small helpers ------------------------------------------------------ */

static uint64_t sb_http_now_ms(void)
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
static void sb_http_slist_wipe(struct curl_slist *l)
{
	struct curl_slist *p;

	for (p = l; p; p = p->next)
		if (p->data)
			sodium_memzero(p->data, strlen(p->data));
	curl_slist_free_all(l);
}

static void sb_http_resp_clear(struct sb_http_resp *r)
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

/* ---- public helpers ------------------------------------------------------ */

static int sb_http_unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
	       c == '~';
}

int sb_http_escape(struct buf *out, const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t i;
	int r = 0;

	for (i = 0; r == 0 && i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (sb_http_unreserved(c)) {
			r = buf_addch(out, c);
		} else {
			char e[3] = { '%', hex[c >> 4], hex[c & 15] };

			r = buf_add(out, e, 3);
		}
	}
	return r;
}

int sb_http_escape_path(struct buf *out, const char *s, size_t n)
{
	size_t i = 0, j, k;
	int r = 0;

	while (r == 0) {
		for (j = i; j < n && s[j] != '/'; j++)
			;
		/* "." and ".." would be collapsed by a normalising proxy */
		if ((j - i == 1 && s[i] == '.') ||
		    (j - i == 2 && s[i] == '.' && s[i + 1] == '.')) {
			for (k = i; r == 0 && k < j; k++)
				r = buf_addstr(out, "%2E");
		} else {
			r = sb_http_escape(out, s + i, j - i);
		}
		if (j >= n || r)
			break;
		r = buf_addch(out, '/');
		i = j + 1;
	}
	return r;
}

/* Code points that are invisible or reorder text on a terminal. */
static int sb_http_deceptive(uint32_t cp)
{
	return (cp >= 0x80 && cp <= 0x9f) || cp == 0xad ||
	       (cp >= 0x200b && cp <= 0x200f) || (cp >= 0x2028 && cp <= 0x202e) ||
	       (cp >= 0x2060 && cp <= 0x206f) || cp == 0xfeff ||
	       (cp >= 0xfff9 && cp <= 0xfffb);
}

int sb_http_quote_name(struct buf *out, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, len, k;
	uint32_t cp;
	int r = 0;

	while (r == 0 && i < n) {
		if (p[i] == '\\') {
			r = buf_addstr(out, "\\\\");
			i++;
			continue;
		}
		len = utf8_seq(p + i, n - i, &cp);
		if (len && cp >= 0x20 && cp != 0x7f && !sb_http_deceptive(cp)) {
			r = buf_add(out, p + i, len);
			i += len;
			continue;
		}
		/* escape the whole sequence, or the one bad byte */
		if (!len)
			len = 1;
		for (k = 0; r == 0 && k < len; k++)
			r = buf_addf(out, "\\x%02x", p[i + k]);
		i += len;
	}
	return r;
}

static int sb_http_errno_for(long code)
{
	if (code == 404)
		return -ENOENT;
	if (code == 401 || code == 403)
		return -EACCES;
	if (code == 409)
		return -EEXIST;
	if (code == 413)
		return -EFBIG;
	if (code == 429)
		return -EAGAIN;
	if (code == 408)
		return -ETIMEDOUT;
	if (code >= 500)
		return -EIO;
	if (code >= 400)
		return -EINVAL;
	return -EPROTO;
}

static int sb_http_retryable_status(long code)
{
	return code == 408 || code == 429 || code >= 500;
}

/* Appends a server-supplied text, bounded, on one line, made printable. */
static int sb_http_add_text(struct buf *out, const char *s, size_t n)
{
	char line[300];
	size_t i;

	if (n > sizeof(line))
		n = sizeof(line);
	for (i = 0; i < n; i++)
		line[i] = s[i] == '\n' || s[i] == '\r' || s[i] == '\t' ? ' ' : s[i];
	return sb_http_quote_name(out, line, n);
}

static int sb_http_describe_ex(struct buf *err, const char *what, long status,
			       const void *body, size_t n, int *retry)
{
	struct json *j = NULL;
	const struct json *sc;
	const char *error = NULL, *message = NULL, *code = NULL;
	const unsigned char *b = body;
	int64_t inner = 0;
	size_t i = 0;
	long eff = status;

	while (i < n && (b[i] == ' ' || b[i] == '\n' || b[i] == '\r' || b[i] == '\t'))
		i++;
	if (i < n && b[i] == '{' && json_parse(&j, b, n, NULL) == 0) {
		sc = json_get(j, "statusCode");
		if (json_int(sc, &inner) < 0 || inner < 100 || inner > 999)
			inner = 0;
		error = json_get_str(j, "error");
		code = json_get_str(j, "code");
		message = json_get_str(j, "message");
		if (!message)
			message = json_get_str(j, "msg");
		if (!message)
			message = json_get_str(j, "error_description");
	}
	if (inner)
		eff = (long)inner;
	if (err) {
		buf_reset(err);
		if (what && *what)
			buf_addf(err, "%s: ", what);
		buf_addf(err, "HTTP %ld", status);
		if (inner && inner != status) {
			buf_addf(err, " (%" PRId64, inner);
			if (error) {
				buf_addch(err, ' ');
				sb_http_add_text(err, error, strlen(error));
			}
			buf_addch(err, ')');
		} else if (error && (!message || strcmp(error, message) != 0)) {
			buf_addstr(err, " (");
			sb_http_add_text(err, error, strlen(error));
			buf_addch(err, ')');
		} else if (!error && code && !message) {
			buf_addstr(err, " (");
			sb_http_add_text(err, code, strlen(code));
			buf_addch(err, ')');
		}
		if (message) {
			buf_addstr(err, ": ");
			sb_http_add_text(err, message, strlen(message));
		} else if (!j && n > i) {
			buf_addstr(err, ": ");
			sb_http_add_text(err, (const char *)b + i, n - i);
		}
	}
	if (retry)
		*retry = sb_http_retryable_status(status) ||
			 (inner && sb_http_retryable_status((long)inner));
	json_free(j);
	return sb_http_errno_for(eff);
}

int sb_http_describe(struct buf *err, const char *what, long status,
		     const void *body, size_t n)
{
	return sb_http_describe_ex(err, what, status, body, n, NULL);
}

/* ---- callbacks ----------------------------------------------------------- */

static int sb_http_fail_attempt(struct sb_http_xfer *x, int rc,
				const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int sb_http_fail_attempt(struct sb_http_xfer *x, int rc,
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

static int sb_http_is_2xx(long s)
{
	return s >= 200 && s < 300;
}

/* All headers of a final response are in: resume checks, on_response. */
static int sb_http_headers_done(struct sb_http_xfer *x)
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
				return sb_http_fail_attempt(x, -EPROTO,
					"resumed download answered with a wrong range");
		} else if (x->resp.status == 200) {
			if (x->first_etag && (!x->resp.etag ||
					      strcmp(x->first_etag, x->resp.etag) != 0))
				return sb_http_fail_attempt(x, -ESTALE,
					"changed on the server during the download");
			x->skip = x->delivered;
		} else {
			return sb_http_fail_attempt(x, -EPROTO,
				"resumed download answered HTTP %ld", x->resp.status);
		}
	} else if (x->responded && x->first_etag &&
		   (!x->resp.etag || strcmp(x->first_etag, x->resp.etag) != 0)) {
		/* the caller has the first version's headers already */
		return sb_http_fail_attempt(x, -ESTALE,
			"changed on the server during the download");
	} else if (!x->first_etag && x->resp.etag) {
		x->first_etag = strdup(x->resp.etag);
		if (!x->first_etag)
			return sb_http_fail_attempt(x, -ENOMEM, "out of memory");
	}
	if (!x->responded) {
		x->responded = 1;
		if (x->on_response) {
			r = x->on_response(x->ctx, &x->resp);
			if (r)
				return sb_http_fail_attempt(x, r < 0 ? r : -ECANCELED,
							    "aborted by the caller");
		}
	}
	return 0;
}

static char *sb_http_hval(const char *p, size_t n)
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

static size_t sb_http_header_cb(char *p, size_t sz, size_t nm, void *ud)
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
			if (sb_http_headers_done(x) < 0)
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
			v = sb_http_hval(p + 15, n - 15);
			if (v) {
				char *end;
				long long cl = strtoll(v, &end, 10);

				x->resp.content_length = (*v && !*end && cl >= 0) ? cl : -1;
				free(v);
			}
		}
		return sz * nm;
	}
	v = sb_http_hval(p, n);
	if (!v) {
		sb_http_fail_attempt(x, -ENOMEM, "out of memory");
		return 0;
	}
	free(*slot);
	*slot = v;
	return sz * nm;
}

static size_t sb_http_write_cb(char *p, size_t sz, size_t nm, void *ud)
{
	struct sb_http_xfer *x = ud;
	size_t n = sz * nm, off = 0, cap, room;
	int r;

	if (!x->headers_done) {
		x->headers_done = 1;
		if (sb_http_headers_done(x) < 0)
			return 0;
	}
	if (!sb_http_is_2xx(x->resp.status) || !x->on_data) {
		int ok = sb_http_is_2xx(x->resp.status);

		cap = ok ? x->max_body : SB_HTTP_ERRBODY_MAX;
		room = cap > x->resp.body.len ? cap - x->resp.body.len : 0;
		if (ok && n > room) {
			sb_http_fail_attempt(x, -E2BIG, "response larger than %zu bytes",
					     cap);
			return 0;
		}
		if (buf_add(&x->resp.body, p, n < room ? n : room) < 0) {
			sb_http_fail_attempt(x, -ENOMEM, "out of memory");
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
		sb_http_fail_attempt(x, r, "aborted by the caller");
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
static int sb_http_progress_cb(void *ud, curl_off_t dltotal, curl_off_t dlnow,
			       curl_off_t ultotal, curl_off_t ulnow)
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

static size_t sb_http_read_cb(char *p, size_t sz, size_t nm, void *ud)
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
		sb_http_fail_attempt(x, (int)got, "reading the upload failed");
		return CURL_READFUNC_ABORT;
	}
	if (got == 0 || (size_t)got > n) {
		sb_http_fail_attempt(x, -EPROTO, "upload source ended early");
		return CURL_READFUNC_ABORT;
	}
	x->read_off += (uint64_t)got;
	return (size_t)got;
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

/* ---- attempts --------------------------------------------------------------- */

static void sb_http_move(struct sb_http_xfer *x, enum sb_http_state to)
{
	sb_http_list_del(sb_http_list_of(x->h, x->state), x);
	x->state = to;
	sb_http_list_add(sb_http_list_of(x->h, to), x);
}

/* Calls on_done and frees x (which is in no list any more). */
static void sb_http_finish(struct sb_http_xfer *x, int rc, const struct buf *msg)
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

static int sb_http_start(struct sb_http_xfer *x)
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
		return sb_http_fail_attempt(x, -ENOMEM, "cannot create a curl handle");
	x->easy = e;
	curl_easy_setopt(e, CURLOPT_URL, x->url);
	curl_easy_setopt(e, CURLOPT_PRIVATE, x);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, x->attempt_headers);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, sb_http_write_cb);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, sb_http_header_cb);
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
	curl_easy_setopt(e, CURLOPT_XFERINFOFUNCTION, sb_http_progress_cb);
	curl_easy_setopt(e, CURLOPT_XFERINFODATA, x);
	curl_easy_setopt(e, CURLOPT_USERAGENT, h->o.user_agent);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
	if (x->read) {
		curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE, (curl_off_t)x->read_len);
		curl_easy_setopt(e, CURLOPT_READFUNCTION, sb_http_read_cb);
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
		return sb_http_fail_attempt(x, -EIO, "cannot start the transfer");
	}
	sb_http_move(x, SB_HTTP_RUNNING);
	return 0;
nomem:
	sb_http_slist_wipe(l);
	return sb_http_fail_attempt(x, -ENOMEM, "out of memory");
}

/* Maps a transport failure; *retry says whether another attempt may help. */
static int sb_http_curl_errno(CURLcode cc, int *retry)
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

static uint64_t sb_http_backoff(const struct sb_http *h, unsigned attempt)
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

static void sb_http_attempt_done(struct sb_http_xfer *x, CURLcode cc)
{
	struct sb_http *h = x->h;
	struct buf msg = BUF_INIT;
	curl_off_t ra = -1;
	long status = 0;
	int rc, retry = 0;
	uint64_t delay;

	curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_getinfo(x->easy, CURLINFO_RETRY_AFTER, &ra);
	curl_multi_remove_handle(h->multi, x->easy);
	curl_easy_cleanup(x->easy);
	x->easy = NULL;
	if (x->paused) {
		x->paused = 0;
		h->npaused--;
	}
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
			if (sb_http_headers_done(x) < 0) {
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
		rc = sb_http_curl_errno(cc, &retry);
		buf_addf(&msg, "%s: %s", x->what,
			 cc == CURLE_PARTIAL_FILE ? "response body shorter than its Content-Length" :
			 curl_easy_strerror(cc));
		if (x->errbuf[0]) {
			buf_addstr(&msg, " (");
			sb_http_add_text(&msg, x->errbuf, strlen(x->errbuf));
			buf_addch(&msg, ')');
		}
	} else {
		rc = sb_http_describe_ex(&msg, x->what, x->resp.status,
					 x->resp.body.data, x->resp.body.len, &retry);
	}
	if (retry && ra > (curl_off_t)h->o.retry_after_max_s) {
		buf_addf(&msg, " (the server asks to retry after %" CURL_FORMAT_CURL_OFF_T
			 " s)", ra);
		retry = 0;
	} else if (retry && x->attempts <= (unsigned)h->o.retries) {
		delay = sb_http_backoff(h, x->attempts);
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

/* ---- the loop --------------------------------------------------------------- */

/* Finishes every request marked by sb_http_cancel(); 1 if any was. */
static int sb_http_cancel_pending(struct sb_http *h)
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
			if (x->easy) {
				curl_multi_remove_handle(h->multi, x->easy);
				curl_easy_cleanup(x->easy);
				x->easy = NULL;
			}
			if (x->paused) {
				x->paused = 0;
				h->npaused--;
			}
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

static struct sb_http_xfer *sb_http_next_due(struct sb_http *h, uint64_t now)
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
		       (x = sb_http_next_due(h, now))) {
			if (sb_http_start(x) < 0) {
				int rc = x->cb_rc;

				x->cb_rc = 0;
				sb_http_finish(x, rc, &x->cb_err);
			}
		}
		progressed = sb_http_cancel_pending(h);
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
				sb_http_attempt_done(x, m->data.result);
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

struct sb_http_sync {
	const struct sb_http_req *req;
	struct sb_http_resp *resp;
	struct buf *err;
	int done, rc;
};

static int sb_http_sync_response(void *ctx, const struct sb_http_resp *r)
{
	struct sb_http_sync *s = ctx;

	return s->req->on_response(s->req->ctx, r);
}

static int sb_http_sync_data(void *ctx, const void *p, size_t n)
{
	struct sb_http_sync *s = ctx;

	return s->req->on_data(s->req->ctx, p, n);
}

static ssize_t sb_http_sync_read(void *ctx, uint64_t off, void *p, size_t n)
{
	struct sb_http_sync *s = ctx;

	return s->req->read(s->req->ctx, off, p, n);
}

static void sb_http_sync_done(void *ctx, struct sb_http_xfer *x, int rc,
			      const struct sb_http_resp *r, const struct buf *e)
{
	struct sb_http_sync *s = ctx;

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
	struct sb_http_sync s = { req, resp, err, 0, 0 };
	struct sb_http_req r = *req;
	int rc;

	memset(resp, 0, sizeof(*resp));
	buf_init(&resp->body, 0);
	resp->content_length = -1;
	r.ctx = &s;
	r.on_response = req->on_response ? sb_http_sync_response : NULL;
	r.on_data = req->on_data ? sb_http_sync_data : NULL;
	r.read = req->read ? sb_http_sync_read : NULL;
	r.on_done = sb_http_sync_done;
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

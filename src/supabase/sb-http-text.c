/*
 * sb-http-text: the text side of sb-http, with no curl in it: names
 * URL-encoded for requests and quoted for messages, and a failed
 * response (its status and error body) turned into a message and an
 * errno.
 *
 * Separate from the transfer code because it is pure: every function
 * takes bytes and a buffer, so it is tested without a server, and the
 * Storage and Functions clients use the same encoding and quoting.
 *
 * Supabase answers errors in several shapes: Storage's
 * {"statusCode","error","message"} (often under an HTTP 400 that carries
 * the real status as statusCode), the Management API's {"message"}, the
 * gateway's {"msg"} or {"error_description"}, or a non-JSON page.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "sb-http-int.h"
#include "json.h"

/* ---- names ---------------------------------------------------------------- */

static int sb_http_text_unreserved(unsigned char c)
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

		if (sb_http_text_unreserved(c)) {
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
static int sb_http_text_deceptive(uint32_t cp)
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
		if (len && cp >= 0x20 && cp != 0x7f && !sb_http_text_deceptive(cp)) {
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

/* ---- error responses ------------------------------------------------------ */

/* The errno of an HTTP status (sb-http.h lists them). */
static int sb_http_text_errno(long code)
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

/* Statuses another attempt may cure: timeouts, rate limits, server errors. */
static int sb_http_text_retryable(long code)
{
	return code == 408 || code == 429 || code >= 500;
}

/* Appends a server-supplied text, bounded, on one line, made printable. */
int sb_http_text_add(struct buf *out, const char *s, size_t n)
{
	char line[300];
	size_t i;

	if (n > sizeof(line))
		n = sizeof(line);
	for (i = 0; i < n; i++)
		line[i] = s[i] == '\n' || s[i] == '\r' || s[i] == '\t' ? ' ' : s[i];
	return sb_http_quote_name(out, line, n);
}

int sb_http_text_describe(struct buf *err, const char *what, long status,
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
				sb_http_text_add(err, error, strlen(error));
			}
			buf_addch(err, ')');
		} else if (error && (!message || strcmp(error, message) != 0)) {
			buf_addstr(err, " (");
			sb_http_text_add(err, error, strlen(error));
			buf_addch(err, ')');
		} else if (!error && code && !message) {
			buf_addstr(err, " (");
			sb_http_text_add(err, code, strlen(code));
			buf_addch(err, ')');
		}
		if (message) {
			buf_addstr(err, ": ");
			sb_http_text_add(err, message, strlen(message));
		} else if (!j && n > i) {
			buf_addstr(err, ": ");
			sb_http_text_add(err, (const char *)b + i, n - i);
		}
	}
	if (retry)
		*retry = sb_http_text_retryable(status) ||
			 (inner && sb_http_text_retryable((long)inner));
	json_free(j);
	return sb_http_text_errno(eff);
}

int sb_http_describe(struct buf *err, const char *what, long status,
		     const void *body, size_t n)
{
	return sb_http_text_describe(err, what, status, body, n, NULL);
}

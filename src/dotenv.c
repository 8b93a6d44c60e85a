/*
 * dotenv: one setting out of a `.env` file (see dotenv.h).  A line-based
 * reader: a quoted value ends on its own line.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "dotenv.h"

static int dotenv_bad(struct buf *err, const char *name, unsigned line,
		      const char *why)
{
	if (err) {
		buf_reset(err);
		buf_addf(err, "%s:%u: %s", name, line, why);
	}
	return -EINVAL;
}

static int dotenv_is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

static int dotenv_is_keychar(char c, int first)
{
	return c == '_' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (!first && ((c >= '0' && c <= '9') || c == '.' || c == '-'));
}

/* The value at p[0..n) (after '=' and blanks) into v; "why" on error. */
static const char *dotenv_value(const char *p, size_t n, struct buf *v)
{
	size_t i = 0, end;

	if (n && (p[0] == '\'' || p[0] == '"')) {
		char q = p[0];

		for (i = 1; i < n && p[i] != q; i++) {
			char c = p[i];

			if (q == '"' && c == '\\' && i + 1 < n) {
				c = p[++i];
				c = c == 'n' ? '\n' : c == 't' ? '\t'
				    : c == 'r' ? '\r' : c;
			}
			if (buf_addch(v, c) < 0)
				return "out of memory";
		}
		if (i >= n)
			return "unterminated quoted value";
		for (i++; i < n && dotenv_is_blank(p[i]); i++)
			;
		if (i < n && p[i] != '#')
			return "text after the closing quote";
		return NULL;
	}
	/* unquoted: up to a " #" comment, trailing blanks dropped */
	for (end = 0; end < n; end++)
		if (p[end] == '#' && end && dotenv_is_blank(p[end - 1]))
			break;
	while (end && dotenv_is_blank(p[end - 1]))
		end--;
	return buf_add(v, p, end) < 0 ? "out of memory" : NULL;
}

int dotenv_parse_get(const char *text, size_t n, const char *name,
		     const char *key, struct buf *out, struct buf *err)
{
	struct buf v = BUF_INIT;
	const char *p = text, *end = text + n, *why;
	size_t klen = strlen(key);
	unsigned line = 0;
	int found = 0;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *e = nl ? nl : end, *k;

		line++;
		while (p < e && dotenv_is_blank(*p))
			p++;
		if (p == e || *p == '#')
			goto next;
		if ((size_t)(e - p) > 7 && !memcmp(p, "export", 6) &&
		    dotenv_is_blank(p[6]))
			for (p += 6; p < e && dotenv_is_blank(*p); p++)
				;
		for (k = p; p < e && dotenv_is_keychar(*p, p == k); p++)
			;
		if (p == k) {
			buf_wipe(&v);
			return dotenv_bad(err, name, line, "expected KEY=VALUE");
		}
		if ((size_t)(p - k) != klen || memcmp(k, key, klen)) {
			/* someone else's setting: only its syntax matters
			 * up to the '=' */
			while (p < e && dotenv_is_blank(*p))
				p++;
			if (p == e || *p != '=') {
				buf_wipe(&v);
				return dotenv_bad(err, name, line,
						  "expected '=' after the key");
			}
			goto next;
		}
		while (p < e && dotenv_is_blank(*p))
			p++;
		if (p == e || *p != '=') {
			buf_wipe(&v);
			return dotenv_bad(err, name, line,
					  "expected '=' after the key");
		}
		for (p++; p < e && dotenv_is_blank(*p); p++)
			;
		/* the last assignment wins */
		if (v.len)
			memset(v.data, 0, v.len);
		buf_reset(&v);
		why = dotenv_value(p, (size_t)(e - p), &v);
		if (why) {
			buf_wipe(&v);
			return dotenv_bad(err, name, line, why);
		}
		found = 1;
next:
		p = nl ? nl + 1 : end;
	}
	if (found && buf_add(out, v.data, v.len) < 0) {
		buf_wipe(&v);
		return -ENOMEM;
	}
	buf_wipe(&v);
	return found;
}

int dotenv_file_get(const char *path, const char *key, struct buf *out,
		    int *exposed, struct buf *err)
{
	struct buf text;
	struct stat st;
	ssize_t got;
	int fd, rc;

	if (exposed)
		*exposed = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		rc = -errno;
		if (err) {
			buf_reset(err);
			buf_addf(err, "%s: %s", path, strerror(-rc));
		}
		return rc;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		rc = S_ISREG(st.st_mode) ? -errno : -EINVAL;
		close(fd);
		if (err) {
			buf_reset(err);
			buf_addf(err, "%s: %s", path, rc == -EINVAL
				 ? "not a regular file" : strerror(-rc));
		}
		return rc;
	}
	if (exposed)
		*exposed = (st.st_mode & 044) != 0;
	if (st.st_size > DOTENV_MAX_FILE) {
		close(fd);
		if (err) {
			buf_reset(err);
			buf_addf(err, "%s: larger than %u KiB", path,
				 DOTENV_MAX_FILE >> 10);
		}
		return -E2BIG;
	}
	/* sized once, so no partial copy of a secret is left by a realloc */
	buf_init(&text, DOTENV_MAX_FILE + 1);
	rc = buf_grow(&text, (size_t)st.st_size + 1);
	while (rc == 0) {
		got = read(fd, text.data + text.len, text.cap - text.len - 1);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			rc = -errno;
		if (got <= 0)
			break;
		buf_setlen(&text, text.len + (size_t)got);
		if (text.len + 1 >= text.cap)
			rc = buf_grow(&text, 4096);
	}
	close(fd);
	if (rc == 0)
		rc = dotenv_parse_get((const char *)text.data, text.len, path,
				      key, out, err);
	else if (err) {
		buf_reset(err);
		buf_addf(err, "%s: %s", path, strerror(-rc));
	}
	buf_wipe(&text);
	return rc;
}

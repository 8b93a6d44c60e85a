/*
 * dotenv: the one `.env` parser (see dotenv.h), used by the database
 * capture (dotenv_file_get) and by sb-env (dotenv_parse for every
 * Supabase setting at once).  A small lexer rather than a line reader,
 * because a double-quoted value may span lines.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "dotenv.h"

/* ---- the dotenv parser ------------------------------------------------ */

struct dotenv_lexer {
	const char *p;
	size_t n, off;
	unsigned line;
	const char *name;
	struct buf *err;
};

static int dotenv_syntax(struct dotenv_lexer *lx, const char *what)
{
	if (lx->err) {
		buf_reset(lx->err);
		buf_addf(lx->err, "%s:%u: %s", lx->name, lx->line, what);
	}
	return -EINVAL;
}

static int dotenv_peek(const struct dotenv_lexer *lx)
{
	return lx->off < lx->n ? (unsigned char)lx->p[lx->off] : -1;
}

static void dotenv_blanks(struct dotenv_lexer *lx)
{
	while (dotenv_peek(lx) == ' ' || dotenv_peek(lx) == '\t')
		lx->off++;
}

/* Skips to just past the end of the current line. */
static void dotenv_eol(struct dotenv_lexer *lx)
{
	while (lx->off < lx->n && lx->p[lx->off] != '\n')
		lx->off++;
	if (lx->off < lx->n) {
		lx->off++;
		lx->line++;
	}
}

/* After a quoted value: only blanks and a comment may follow. */
static int dotenv_after_quote(struct dotenv_lexer *lx)
{
	dotenv_blanks(lx);
	if (dotenv_peek(lx) == '\r')
		lx->off++;
	if (dotenv_peek(lx) == '#') {
		dotenv_eol(lx);
		return 0;
	}
	if (dotenv_peek(lx) != '\n' && dotenv_peek(lx) != -1)
		return dotenv_syntax(lx, "unexpected text after a quoted value");
	dotenv_eol(lx);
	return 0;
}

static int dotenv_quoted(struct dotenv_lexer *lx, struct buf *v, int q)
{
	unsigned start = lx->line;
	int c, r;

	lx->off++;
	for (;;) {
		c = dotenv_peek(lx);
		if (c == -1) {
			lx->line = start;
			return dotenv_syntax(lx, "unterminated quoted value");
		}
		lx->off++;
		if (c == q)
			return dotenv_after_quote(lx);
		if (c == '\n')
			lx->line++;
		if (c == '\\' && q == '"' && lx->off < lx->n) {
			c = (unsigned char)lx->p[lx->off++];
			switch (c) {
			case 'n': c = '\n'; break;
			case 'r': c = '\r'; break;
			case 't': c = '\t'; break;
			case '"': case '\\': case '$': break;
			default:
				/* unknown escapes stay as written */
				r = buf_addch(v, '\\');
				if (r < 0)
					return r;
				if (c == '\n')
					lx->line++;
			}
		}
		r = buf_addch(v, c);
		if (r < 0)
			return r;
	}
}

static int dotenv_unquoted(struct dotenv_lexer *lx, struct buf *v)
{
	size_t start = lx->off, end;
	int r;

	while (lx->off < lx->n && lx->p[lx->off] != '\n') {
		/* an inline comment needs whitespace before '#' */
		if (lx->p[lx->off] == '#' && lx->off > start &&
		    (lx->p[lx->off - 1] == ' ' || lx->p[lx->off - 1] == '\t'))
			break;
		lx->off++;
	}
	end = lx->off;
	while (end > start && (lx->p[end - 1] == ' ' || lx->p[end - 1] == '\t' ||
			       lx->p[end - 1] == '\r'))
		end--;
	r = buf_add(v, lx->p + start, end - start);
	dotenv_eol(lx);
	return r;
}

static int dotenv_keychar(int c, int first)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' ||
	       (!first && ((c >= '0' && c <= '9') || c == '.' || c == '-'));
}

static int dotenv_wanted(const char *const *keys, const char *k)
{
	for (; *keys; keys++)
		if (strcmp(*keys, k) == 0)
			return 1;
	return 0;
}

int dotenv_parse(const char *text, size_t n, const char *name,
		 const char *const *keys, dotenv_fn cb, void *ctx,
		 struct buf *err)
{
	size_t vstart;
	unsigned vline;
	struct dotenv_lexer lx = { text, n, 0, 1, name, err };
	struct buf key = BUF_INIT, val = BUF_INIT;
	size_t ks;
	int c, r = 0;

	while (lx.off < lx.n) {
		dotenv_blanks(&lx);
		c = dotenv_peek(&lx);
		if (c == '\n' || c == '\r' || c == '#' || c == -1) {
			if (c == '\r' && lx.off + 1 < lx.n && lx.p[lx.off + 1] != '\n') {
				r = dotenv_syntax(&lx, "stray carriage return");
				break;
			}
			dotenv_eol(&lx);
			continue;
		}
		if (lx.n - lx.off > 7 && memcmp(lx.p + lx.off, "export", 6) == 0 &&
		    (lx.p[lx.off + 6] == ' ' || lx.p[lx.off + 6] == '\t')) {
			lx.off += 6;
			dotenv_blanks(&lx);
		}
		ks = lx.off;
		if (!dotenv_keychar(dotenv_peek(&lx), 1)) {
			r = dotenv_syntax(&lx, "expected KEY=VALUE");
			break;
		}
		while (dotenv_keychar(dotenv_peek(&lx), 0))
			lx.off++;
		buf_reset(&key);
		r = buf_add(&key, lx.p + ks, lx.off - ks);
		if (r < 0)
			break;
		dotenv_blanks(&lx);
		if (dotenv_peek(&lx) != '=') {
			r = dotenv_syntax(&lx, "expected KEY=VALUE");
			break;
		}
		lx.off++;
		dotenv_blanks(&lx);
		buf_wipe(&val);
		c = dotenv_peek(&lx);
		vstart = lx.off;
		vline = lx.line;
		if (c == '"' || c == '\'')
			r = dotenv_quoted(&lx, &val, c);
		else
			r = dotenv_unquoted(&lx, &val);
		if (r == -EINVAL && keys && !dotenv_wanted(keys, (const char *)key.data)) {
			/* someone else's setting: only its syntax up to the
			 * '=' matters to us */
			lx.off = vstart;
			lx.line = vline;
			dotenv_eol(&lx);
			if (lx.err)
				buf_reset(lx.err);
			r = 0;
			continue;
		}
		if (r < 0)
			break;
		if (keys && !dotenv_wanted(keys, (const char *)key.data))
			continue;
		r = cb(ctx, (const char *)key.data, (const char *)val.data, val.len);
		if (r)
			break;
	}
	buf_release(&key);
	buf_wipe(&val);
	return r;
}

/* ---- one key ----------------------------------------------------------- */

struct dotenv_get {
	const char *key;
	struct buf *v;
	int found;
};

static int dotenv_get_cb(void *ctx, const char *key, const char *value,
			 size_t vlen)
{
	struct dotenv_get *g = ctx;

	if (strcmp(key, g->key) != 0)
		return 0;
	/* the last assignment wins */
	buf_wipe(g->v);
	g->found = 1;
	return buf_add(g->v, value, vlen);
}

int dotenv_parse_get(const char *text, size_t n, const char *name,
		     const char *key, struct buf *out, struct buf *err)
{
	struct buf v = BUF_INIT;
	struct dotenv_get g = { key, &v, 0 };
	const char *keys[2] = { key, NULL };
	int r;

	r = dotenv_parse(text, n, name, keys, dotenv_get_cb, &g, err);
	if (r == 0 && g.found)
		r = buf_add(out, v.data, v.len) < 0 ? -ENOMEM : 1;
	buf_wipe(&v);
	return r;
}

/* ---- files ------------------------------------------------------------- */

int dotenv_file_read(const char *path, struct buf *text, int *exposed,
		     struct buf *err)
{
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
	buf_wipe(text);
	buf_init(text, DOTENV_MAX_FILE + 1);
	rc = buf_grow(text, (size_t)st.st_size + 1);
	while (rc == 0) {
		got = read(fd, text->data + text->len, text->cap - text->len - 1);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			rc = -errno;
		if (got <= 0)
			break;
		buf_setlen(text, text->len + (size_t)got);
		if (text->len + 1 >= text->cap)
			rc = buf_grow(text, 4096);
	}
	close(fd);
	if (rc < 0) {
		if (err) {
			buf_reset(err);
			buf_addf(err, "%s: %s", path, strerror(-rc));
		}
		buf_wipe(text);
	}
	return rc;
}

int dotenv_file_get(const char *path, const char *key, struct buf *out,
		    int *exposed, struct buf *err)
{
	struct buf text = BUF_INIT;
	int rc;

	rc = dotenv_file_read(path, &text, exposed, err);
	if (rc == 0)
		rc = dotenv_parse_get((const char *)text.data, text.len, path,
				      key, out, err);
	buf_wipe(&text);
	return rc;
}

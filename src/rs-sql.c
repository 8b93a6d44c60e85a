/*
 * rs-sql: a statement splitter and a tokenizer for PostgreSQL text.
 *
 * Both share one rule for what is not plain code (comments, strings,
 * quoted identifiers, dollar-quoted bodies): that rule is what keeps a
 * ';' inside a function body from ending a statement.
 */
#include <errno.h>
#include <string.h>

#include "rs-sql.h"

static int rs_sql_identch(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '_' || c == '$' || c >= 0x80;
}

static int rs_sql_identstart(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
	       c >= 0x80;
}

static int rs_sql_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
	       c == '\v';
}

/* Length of the "$tag$" opening at p, or 0.  prev is the byte before p:
 * "a$b$" is an identifier, not a quote. */
static size_t rs_sql_dollar(const char *p, const char *end, char prev)
{
	const char *q = p + 1;

	if (prev && rs_sql_identch((unsigned char)prev))
		return 0;
	if (q < end && *q == '$')
		return 2;
	if (q >= end || !rs_sql_identstart((unsigned char)*q))
		return 0;
	while (q < end && rs_sql_identch((unsigned char)*q) && *q != '$')
		q++;
	return q < end && *q == '$' ? (size_t)(q - p + 1) : 0;
}

enum rs_sql_skip { RS_SKIP_NONE, RS_SKIP_COMMENT, RS_SKIP_STRING,
		   RS_SKIP_QIDENT };

/*
 * If *pp starts a comment, string, quoted identifier or dollar quote,
 * moves *pp past it (to end when unterminated) and says which.
 */
static enum rs_sql_skip rs_sql_skip(const char **pp, const char *end,
				    const char *start)
{
	const char *p = *pp;
	char prev = p > start ? p[-1] : 0;
	enum rs_sql_skip what;

	if (p + 1 < end && p[0] == '-' && p[1] == '-') {
		while (p < end && *p != '\n')
			p++;
		what = RS_SKIP_COMMENT;
	} else if (p + 1 < end && p[0] == '/' && p[1] == '*') {
		int depth = 1;

		for (p += 2; p < end && depth; p++) {
			if (p + 1 < end && p[0] == '/' && p[1] == '*')
				depth++, p++;
			else if (p + 1 < end && p[0] == '*' && p[1] == '/')
				depth--, p++;
		}
		what = RS_SKIP_COMMENT;
	} else if (*p == '\'') {
		/* E'...' honours backslash escapes */
		int bs = (prev == 'E' || prev == 'e') &&
			 (p - 1 == start || !rs_sql_identch((unsigned char)p[-2]));

		for (p++; p < end; p++) {
			if (bs && *p == '\\' && p + 1 < end) {
				p++;
			} else if (*p == '\'') {
				if (p + 1 < end && p[1] == '\'')
					p++;
				else
					break;
			}
		}
		if (p < end)
			p++;
		what = RS_SKIP_STRING;
	} else if (*p == '"') {
		for (p++; p < end; p++) {
			if (*p == '"') {
				if (p + 1 < end && p[1] == '"')
					p++;
				else
					break;
			}
		}
		if (p < end)
			p++;
		what = RS_SKIP_QIDENT;
	} else if (*p == '$') {
		size_t t = rs_sql_dollar(p, end, prev);
		const char *q;

		if (!t)
			return RS_SKIP_NONE;
		q = memmem(p + t, (size_t)(end - p - (ptrdiff_t)t), p, t);
		p = q ? q + t : end;
		what = RS_SKIP_STRING;
	} else {
		return RS_SKIP_NONE;
	}
	*pp = p;
	return what;
}

int rs_sql_next(const char *text, size_t len, size_t *pos,
		struct rs_sql_stmt *st)
{
	const char *end = text + len, *p = text + *pos, *s;

	/* leading blanks and comments */
	for (;;) {
		while (p < end && rs_sql_space(*p))
			p++;
		if (p >= end)
			break;
		if (rs_sql_skip(&p, end, text) != RS_SKIP_COMMENT)
			break;
	}
	if (p >= end) {
		*pos = len;
		return 0;
	}
	s = p;
	memset(st, 0, sizeof(*st));
	if (*p == '\\') {
		while (p < end && *p != '\n')
			p++;
		st->meta = 1;
	} else {
		while (p < end && *p != ';') {
			if (rs_sql_skip(&p, end, text) == RS_SKIP_NONE)
				p++;
		}
		if (p < end)
			p++;	/* the ';' */
	}
	st->off = (size_t)(s - text);
	st->len = (size_t)(p - s);
	/* a piece that is only trailing blanks would be empty: trim it */
	while (st->len && rs_sql_space(text[st->off + st->len - 1]))
		st->len--;
	*pos = (size_t)(p - text);
	return st->len > 0;
}

/* ---- tokens ------------------------------------------------------------ */

void rs_sql_lex_init(struct rs_sql_lex *x, const char *p, size_t len)
{
	x->start = x->p = p;
	x->end = p + len;
}

void rs_sql_lex_next(struct rs_sql_lex *x, struct rs_sql_tok *t)
{
	const char *p;
	enum rs_sql_skip k;

	for (;;) {
		while (x->p < x->end && rs_sql_space(*x->p))
			x->p++;
		p = x->p;
		if (p >= x->end) {
			t->kind = RS_SQL_END;
			t->p = p;
			t->len = 0;
			return;
		}
		/* E'...': the prefix is part of the string */
		if ((*p == 'E' || *p == 'e') && p + 1 < x->end && p[1] == '\'' &&
		    (p == x->start || !rs_sql_identch((unsigned char)p[-1]))) {
			x->p = p + 1;
			rs_sql_skip(&x->p, x->end, x->start);
			t->kind = RS_SQL_STRING;
			break;
		}
		k = rs_sql_skip(&x->p, x->end, x->start);
		if (k == RS_SKIP_COMMENT)
			continue;
		if (k == RS_SKIP_STRING) {
			t->kind = RS_SQL_STRING;
		} else if (k == RS_SKIP_QIDENT) {
			t->kind = RS_SQL_QIDENT;
		} else if (rs_sql_identstart((unsigned char)*p)) {
			while (x->p < x->end && rs_sql_identch((unsigned char)*x->p))
				x->p++;
			t->kind = RS_SQL_WORD;
		} else if (*p >= '0' && *p <= '9') {
			while (x->p < x->end &&
			       ((*x->p >= '0' && *x->p <= '9') || *x->p == '.' ||
				*x->p == 'e' || *x->p == 'E' || *x->p == '_'))
				x->p++;
			t->kind = RS_SQL_NUMBER;
		} else {
			x->p++;
			t->kind = RS_SQL_PUNCT;
		}
		break;
	}
	t->p = p;
	t->len = (size_t)(x->p - p);
}

int rs_sql_is(const struct rs_sql_tok *t, const char *kw)
{
	size_t n = strlen(kw);

	if (t->kind != RS_SQL_WORD || t->len != n)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = t->p[i];

		if (c >= 'a' && c <= 'z')
			c = (char)(c - 'a' + 'A');
		if (c != kw[i] && !(kw[i] >= 'a' && kw[i] <= 'z' &&
				    c == (char)(kw[i] - 'a' + 'A')))
			return 0;
	}
	return 1;
}

int rs_sql_punct(const struct rs_sql_tok *t, char c)
{
	return t->kind == RS_SQL_PUNCT && t->len == 1 && t->p[0] == c;
}

int rs_sql_is_ident(const struct rs_sql_tok *t)
{
	return t->kind == RS_SQL_WORD || t->kind == RS_SQL_QIDENT;
}

int rs_sql_ident(const struct rs_sql_tok *t, struct buf *out)
{
	int r = 0;

	if (t->kind == RS_SQL_WORD) {
		for (size_t i = 0; i < t->len && r == 0; i++) {
			char c = t->p[i];

			/* PostgreSQL folds ASCII only */
			r = buf_addch(out, c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
		}
		return r;
	}
	if (t->kind != RS_SQL_QIDENT || t->len < 2)
		return -EINVAL;
	for (size_t i = 1; i + 1 < t->len && r == 0; i++) {
		r = buf_addch(out, t->p[i]);
		if (t->p[i] == '"')
			i++;
	}
	return r;
}

int rs_sql_qname(struct rs_sql_lex *x, struct rs_sql_tok *t,
		 struct buf *schema, struct buf *name)
{
	struct buf first = BUF_INIT;
	int r;

	buf_reset(schema);
	buf_reset(name);
	if (!rs_sql_is_ident(t))
		return -EINVAL;
	r = rs_sql_ident(t, &first);
	rs_sql_lex_next(x, t);
	if (r == 0 && rs_sql_punct(t, '.')) {
		rs_sql_lex_next(x, t);
		if (!rs_sql_is_ident(t)) {
			buf_release(&first);
			return -EINVAL;
		}
		r = buf_add(schema, first.data, first.len);
		if (r == 0)
			r = rs_sql_ident(t, name);
		rs_sql_lex_next(x, t);
	} else if (r == 0) {
		r = buf_add(name, first.data, first.len);
	}
	buf_release(&first);
	return r;
}

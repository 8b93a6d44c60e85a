/*
 * rs-sql: a statement splitter and a tokenizer for PostgreSQL text.
 *
 * Both rest on sql-lex's rule for what is not plain code (comments,
 * strings, quoted identifiers, dollar-quoted bodies): that rule is what
 * keeps a ';' inside a function body from ending a statement.
 */
#include <errno.h>
#include <string.h>

#include "rs-sql.h"
#include "sql-lex.h"

static int rs_sql_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
	       c == '\v';
}

/*
 * Where a statement's ';' may end it, as psql decides (psqlscan.l), with
 * the grammar a little better read:
 *  - never inside parentheses: CREATE RULE ... DO ALSO (a; b);
 *  - in CREATE [OR REPLACE] FUNCTION|PROCEDURE, never inside the
 *    SQL-standard body BEGIN ATOMIC ... END, where CASE ... END (and a
 *    nested BEGIN ATOMIC) nest.
 * psql counts every BEGIN of such a statement; here BEGIN opens a body
 * only before ATOMIC, and a keyword right after '.' or AS is a name
 * (t.begin, "AS end" of a column label), so a function named begin or a
 * column called that does not swallow the statements after it.
 */
struct rs_sql_split {
	int depth;		/* parentheses */
	int body;		/* open BEGIN ATOMIC / CASE inside one */
	int nwords;		/* unquoted words so far */
	char head[4];		/* first letters of the leading words when
				 * they are CREATE, OR, REPLACE, FUNCTION,
				 * PROCEDURE; 0 otherwise */
	int label;		/* the last token was '.' or AS */
};

static int rs_sql_split_routine(const struct rs_sql_split *s)
{
	const char *h = s->head;

	return h[0] == 'c' && (h[1] == 'f' || h[1] == 'p' ||
			       (h[1] == 'o' && h[2] == 'r' && (h[3] == 'f' || h[3] == 'p')));
}

/* 1 when the token after the current one (x positioned after it) is
 * ATOMIC. */
static int rs_sql_split_atomic(const struct rs_sql_lex *x)
{
	struct rs_sql_lex y = *x;
	struct rs_sql_tok t;

	rs_sql_lex_next(&y, &t);
	return rs_sql_is(&t, "ATOMIC");
}

/* One token of a statement; 1 when it is the ';' that ends it. */
static int rs_sql_split_tok(struct rs_sql_split *s, const struct rs_sql_lex *x,
			    const struct rs_sql_tok *t)
{
	int label = s->label;

	s->label = rs_sql_punct(t, '.') || rs_sql_is(t, "AS");
	if (t->kind == RS_SQL_PUNCT) {
		if (t->p[0] == '(')
			s->depth++;
		else if (t->p[0] == ')' && s->depth > 0)
			s->depth--;
		return t->p[0] == ';' && s->depth == 0 && s->body == 0;
	}
	if (t->kind != RS_SQL_WORD)
		return 0;
	if (s->nwords < 4 && (rs_sql_is(t, "CREATE") || rs_sql_is(t, "OR") ||
			      rs_sql_is(t, "REPLACE") || rs_sql_is(t, "FUNCTION") ||
			      rs_sql_is(t, "PROCEDURE")))
		s->head[s->nwords] = (char)(t->p[0] | 0x20);
	s->nwords++;
	if (label || !rs_sql_split_routine(s))
		return 0;
	if (rs_sql_is(t, "BEGIN") && (s->body > 0 || s->depth == 0) &&
	    rs_sql_split_atomic(x))
		s->body++;
	else if (rs_sql_is(t, "CASE") && s->body > 0)
		s->body++;
	else if (rs_sql_is(t, "END") && s->body > 0)
		s->body--;
	return 0;
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
		if (sql_lex_skip(&p, end, text) != SQL_LEX_COMMENT)
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
		struct rs_sql_split sp;
		struct rs_sql_lex x;
		struct rs_sql_tok t;

		memset(&sp, 0, sizeof(sp));
		rs_sql_lex_init(&x, p, (size_t)(end - p));
		do
			rs_sql_lex_next(&x, &t);
		while (t.kind != RS_SQL_END && !rs_sql_split_tok(&sp, &x, &t));
		p = x.p;
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
	enum sql_lex_skip k;

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
		    (p == x->start || !sql_lex_identch((unsigned char)p[-1]))) {
			x->p = p + 1;
			sql_lex_skip(&x->p, x->end, x->start);
			t->kind = RS_SQL_STRING;
			break;
		}
		k = sql_lex_skip(&x->p, x->end, x->start);
		if (k == SQL_LEX_COMMENT)
			continue;
		if (k == SQL_LEX_STRING) {
			t->kind = RS_SQL_STRING;
		} else if (k == SQL_LEX_QIDENT) {
			t->kind = RS_SQL_QIDENT;
		} else if (sql_lex_identstart((unsigned char)*p)) {
			while (x->p < x->end && sql_lex_identch((unsigned char)*x->p))
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

int rs_sql_role_database(const char *sql, size_t len, struct rs_sql_tok *db)
{
	struct rs_sql_lex x;
	struct rs_sql_tok t;

	rs_sql_lex_init(&x, sql, len);
	rs_sql_lex_next(&x, &t);
	if (!rs_sql_is(&t, "ALTER"))
		return 0;
	rs_sql_lex_next(&x, &t);
	if (!rs_sql_is(&t, "ROLE") && !rs_sql_is(&t, "USER"))
		return 0;
	rs_sql_lex_next(&x, &t);
	if (!rs_sql_is_ident(&t))
		return 0;
	rs_sql_lex_next(&x, &t);
	if (!rs_sql_is(&t, "IN"))
		return 0;
	rs_sql_lex_next(&x, &t);
	if (!rs_sql_is(&t, "DATABASE"))
		return 0;
	rs_sql_lex_next(&x, db);
	return rs_sql_is_ident(db);
}

int rs_sql_or_replace(struct buf *sql)
{
	struct rs_sql_lex x;
	struct rs_sql_tok t, u;
	struct buf out = BUF_INIT;
	int r;

	rs_sql_lex_init(&x, (char *)sql->data, sql->len);
	rs_sql_lex_next(&x, &t);
	rs_sql_lex_next(&x, &u);
	if (!rs_sql_is(&t, "CREATE") ||
	    !(rs_sql_is(&u, "FUNCTION") || rs_sql_is(&u, "PROCEDURE")))
		return 0;
	r = buf_add(&out, sql->data, (size_t)(t.p + t.len - (char *)sql->data));
	if (r == 0)
		r = buf_addstr(&out, " OR REPLACE");
	if (r == 0)
		r = buf_addstr(&out, t.p + t.len);
	if (r == 0) {
		buf_release(sql);
		*sql = out;
		return 0;
	}
	buf_release(&out);
	return r;
}

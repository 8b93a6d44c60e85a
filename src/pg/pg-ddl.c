/*
 * pg-ddl: the splitter of pg_dump's schema-only text into sections, and
 * the reader that finds which table each section belongs to.
 *
 * Two small scanners live here.  The splitter walks the whole dump with a
 * lexer that knows PostgreSQL's quoting ('...', E'...', "...", $tag$...$tag$,
 * comments), because a function body may legitimately contain a line that
 * looks like a section header; only headers outside any literal count.
 * The owner reader then tokenizes the first statements of each section.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "pg-ddl.h"
#include "sql-lex.h"

/* A key (schema, name) of an index or sequence mapped to its table. */
struct pg_ddl_link {
	char *schema, *name;
	char *rel_schema, *rel_name;
};

/* A section whose owner is known only through an index or sequence. */
enum pg_ddl_via { PG_DDL_VIA_NONE, PG_DDL_VIA_INDEX, PG_DDL_VIA_SEQ };

struct pg_ddl_sec {
	struct pg_ddl_section pub;
	enum pg_ddl_via via;
	char *via_schema, *via_name;
};

struct pg_ddl {
	char *text;
	size_t len;
	struct pg_ddl_sec *secs;
	size_t n, cap;
	size_t pre_end;		/* the preamble is text[0..pre_end) */
	size_t *order;		/* owned sections by (rel_schema, rel_name, i) */
	size_t norder;
	struct pg_ddl_link *idx, *seq;
	size_t nidx, capidx, nseq, capseq;
};

/* ---- lexical helpers ------------------------------------------------- */

static int pg_ddl_line_is(const char *p, const char *end, const char *s)
{
	size_t n = strlen(s);

	return (size_t)(end - p) >= n && memcmp(p, s, n) == 0 &&
	       (p + n == end || p[n] == '\n');
}

static const char *pg_ddl_eol(const char *p, const char *end)
{
	const char *q = memchr(p, '\n', (size_t)(end - p));

	return q ? q : end;
}

static const char *pg_ddl_next_line(const char *p, const char *end)
{
	const char *q = pg_ddl_eol(p, end);

	return q < end ? q + 1 : end;
}

/* "--\n-- Name: ...\n--\n" (or "-- Data for Name:") at p? */
static int pg_ddl_is_header(const char *p, const char *end)
{
	const char *l2, *l3;

	if (!pg_ddl_line_is(p, end, "--"))
		return 0;
	l2 = pg_ddl_next_line(p, end);
	if (!((size_t)(end - l2) > 9 && memcmp(l2, "-- Name: ", 9) == 0) &&
	    !((size_t)(end - l2) > 18 && memcmp(l2, "-- Data for Name: ", 18) == 0))
		return 0;
	l3 = pg_ddl_next_line(l2, end);
	return pg_ddl_line_is(l3, end, "--");
}

/* ---- section bookkeeping -------------------------------------------- */

static char *pg_ddl_strndup(const char *s, size_t n)
{
	char *p = malloc(n + 1);

	if (p) {
		memcpy(p, s, n);
		p[n] = '\0';
	}
	return p;
}

static int pg_ddl_type_at(const char *p, const char *end, size_t *tlen)
{
	const char *q = p;

	while (q < end && ((*q >= 'A' && *q <= 'Z') || *q == ' '))
		q++;
	if (q == p || (size_t)(end - q) < 10 || memcmp(q, "; Schema: ", 10))
		return 0;
	*tlen = (size_t)(q - p);
	return 1;
}

/*
 * Parses "Name: X; Type: Y; Schema: Z; Owner: W[; Tablespace: T]".  Names
 * may contain "; " themselves; Type is the one field with a fixed
 * alphabet (capitals and spaces), so it anchors the split.
 */
static int pg_ddl_header(struct pg_ddl_sec *s, const char *line,
			 const char *end)
{
	const char *rest = memchr(line, ':', (size_t)(end - line));
	const char *t = NULL, *sch, *own, *ts, *q;
	size_t tlen = 0;

	if (!rest)
		return -EBADMSG;
	rest += 2;
	if (rest > end)
		return -EBADMSG;
	for (q = rest; (q = memmem(q, (size_t)(end - q), "; Type: ", 8));
	     q++) {
		if (pg_ddl_type_at(q + 8, end, &tlen)) {
			t = q;
			break;
		}
	}
	if (!t)
		return -EBADMSG;
	sch = t + 8 + tlen + 10;
	own = memmem(sch, (size_t)(end - sch), "; Owner: ", 9);
	ts = NULL;
	if (own) {
		for (q = own + 9; (q = memmem(q, (size_t)(end - q),
					      "; Tablespace: ", 14)); q++)
			ts = q;
	}
	s->pub.name = pg_ddl_strndup(rest, (size_t)(t - rest));
	s->pub.type = pg_ddl_strndup(t + 8, tlen);
	if (own && own - sch == 1 && *sch == '-')
		s->pub.schema = pg_ddl_strndup("", 0);
	else
		s->pub.schema = pg_ddl_strndup(sch, (size_t)((own ? own : end) - sch));
	if (!own)
		s->pub.owner = pg_ddl_strndup("", 0);
	else if (end - (own + 9) == 1 && own[9] == '-')
		s->pub.owner = pg_ddl_strndup("", 0);
	else
		s->pub.owner = pg_ddl_strndup(own + 9,
					      (size_t)((ts ? ts : end) - own - 9));
	if (!s->pub.name || !s->pub.type || !s->pub.schema || !s->pub.owner)
		return -ENOMEM;
	return 0;
}

static int pg_ddl_add(struct pg_ddl *d, size_t off)
{
	if (d->n == d->cap) {
		size_t ncap = d->cap ? d->cap * 2 : 64;
		struct pg_ddl_sec *p = realloc(d->secs, ncap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		d->secs = p;
		d->cap = ncap;
	}
	memset(&d->secs[d->n], 0, sizeof(d->secs[d->n]));
	d->secs[d->n].pub.off = off;
	d->n++;
	return 0;
}

/* Pulls pg_dump's "SET default_tablespace = ..." style lines written
 * right before a header into the section they prepare. */
static size_t pg_ddl_claim_sets(const struct pg_ddl *d, size_t off,
				size_t floor)
{
	static const char *const sets[] = {
		"SET default_tablespace ", "SET default_table_access_method ",
		"SET default_with_oids ",
	};
	size_t start = off, p = off;

	while (p > floor) {
		size_t ls = p - 1, n;
		int hit = 0;

		/* text[p-1] is the '\n' ending the previous line */
		while (ls > floor && d->text[ls - 1] != '\n')
			ls--;
		n = p - 1 - ls;
		if (n == 0) {
			p = ls;
			continue;
		}
		for (size_t i = 0; i < sizeof(sets) / sizeof(sets[0]); i++)
			if (n > strlen(sets[i]) &&
			    !memcmp(d->text + ls, sets[i], strlen(sets[i])))
				hit = 1;
		if (!hit)
			break;
		start = p = ls;
	}
	return start;
}

static int pg_ddl_split(struct pg_ddl *d, struct buf *err)
{
	const char *start = d->text, *end = d->text + d->len, *p = start;
	size_t lineno = 1;
	int bol = 1, r;

	while (p < end) {
		if (bol && pg_ddl_is_header(p, end)) {
			const char *l2 = pg_ddl_next_line(p, end);
			size_t off = (size_t)(p - start);

			if (d->n)
				off = pg_ddl_claim_sets(d, off, d->secs[d->n - 1].pub.off);
			else
				d->pre_end = off = pg_ddl_claim_sets(d, off, 0);
			r = pg_ddl_add(d, off);
			if (r == 0)
				r = pg_ddl_header(&d->secs[d->n - 1], l2,
						  pg_ddl_eol(l2, end));
			if (r < 0) {
				if (err && r == -EBADMSG)
					buf_addf(err, "pg_dump output line %zu: unreadable section header",
						 lineno + 1);
				return r;
			}
			p = pg_ddl_next_line(pg_ddl_next_line(l2, end), end);
			lineno += 3;
			continue;
		}
		if (d->n && bol &&
		    (size_t)(end - p) >= 36 &&
		    !memcmp(p, "-- PostgreSQL database dump complete", 36)) {
			/* back over the "--" line that opens the trailer */
			const char *t = p;

			if (t - start >= 3 && t[-1] == '\n' && t[-2] == '-' &&
			    t[-3] == '-' && (t - start == 3 || t[-4] == '\n'))
				t -= 3;
			d->secs[d->n - 1].pub.len = (size_t)(t - start) -
						    d->secs[d->n - 1].pub.off;
			return 0;
		}
		if (bol && *p == '\\') {
			/* a psql meta-command line (\restrict, \connect) */
			p = pg_ddl_next_line(p, end);
			lineno++;
			continue;
		}
		{
			const char *q = p;

			if (sql_lex_skip(&q, end, start)) {
				for (const char *c = p; c < q; c++)
					lineno += *c == '\n';
				bol = q > start && q[-1] == '\n';
				p = q;
				continue;
			}
		}
		bol = *p == '\n';
		lineno += *p == '\n';
		p++;
	}
	if (!d->n)
		d->pre_end = d->len;
	return 0;
}

static void pg_ddl_set_lengths(struct pg_ddl *d)
{
	for (size_t i = 0; i + 1 < d->n; i++)
		d->secs[i].pub.len = d->secs[i + 1].pub.off - d->secs[i].pub.off;
	if (d->n && !d->secs[d->n - 1].pub.len)
		d->secs[d->n - 1].pub.len = d->len - d->secs[d->n - 1].pub.off;
}

/* ---- tokens ------------------------------------------------------------ */

enum pg_ddl_tok_kind { TK_EOF, TK_WORD, TK_QUOTED, TK_PUNCT, TK_OTHER };

struct pg_ddl_lex {
	const char *start, *p, *end;
};

struct pg_ddl_tok {
	enum pg_ddl_tok_kind kind;
	const char *s;
	size_t len;
};

static int pg_ddl_closed_quote(const char *s, size_t len)
{
	for (size_t i = 1; i < len; i++) {
		if (s[i] != '"')
			continue;
		if (i + 1 < len && s[i + 1] == '"')
			i++;
		else
			return i == len - 1;
	}
	return 0;
}

static void pg_ddl_tok_next(struct pg_ddl_lex *x, struct pg_ddl_tok *t)
{
	for (;;) {
		while (x->p < x->end && (*x->p == ' ' || *x->p == '\t' ||
					 *x->p == '\n' || *x->p == '\r'))
			x->p++;
		if (x->p >= x->end) {
			t->kind = TK_EOF;
			t->s = x->p;
			t->len = 0;
			return;
		}
		/* comments vanish; strings and dollar bodies are one token */
		if ((x->p[0] == '-' && x->p + 1 < x->end && x->p[1] == '-') ||
		    (x->p[0] == '/' && x->p + 1 < x->end && x->p[1] == '*')) {
			sql_lex_skip(&x->p, x->end, x->start);
			continue;
		}
		break;
	}
	t->s = x->p;
	if (*x->p == '"') {
		sql_lex_skip(&x->p, x->end, x->start);
		/* an unterminated "... (truncated input) is no identifier */
		t->kind = pg_ddl_closed_quote(t->s, (size_t)(x->p - t->s)) ?
			  TK_QUOTED : TK_OTHER;
	} else if (*x->p == '\'' || (*x->p == '$' &&
		   sql_lex_skip(&x->p, x->end, x->start))) {
		if (*t->s == '\'')
			sql_lex_skip(&x->p, x->end, x->start);
		t->kind = TK_OTHER;
	} else if (sql_lex_identstart((unsigned char)*x->p)) {
		while (x->p < x->end && sql_lex_identch((unsigned char)*x->p))
			x->p++;
		t->kind = TK_WORD;
		/* E'..' is a string, not the word E */
		if (x->p - t->s == 1 && (*t->s == 'E' || *t->s == 'e') &&
		    x->p < x->end && *x->p == '\'') {
			sql_lex_skip(&x->p, x->end, x->start);
			t->kind = TK_OTHER;
		}
	} else if (*x->p >= '0' && *x->p <= '9') {
		while (x->p < x->end && sql_lex_identch((unsigned char)*x->p))
			x->p++;
		t->kind = TK_OTHER;
	} else {
		x->p++;
		t->kind = TK_PUNCT;
	}
	t->len = (size_t)(x->p - t->s);
}

static int pg_ddl_kw(const struct pg_ddl_tok *t, const char *kw)
{
	return t->kind == TK_WORD && strlen(kw) == t->len &&
	       strncasecmp(t->s, kw, t->len) == 0;
}

static int pg_ddl_punct(const struct pg_ddl_tok *t, char c)
{
	return t->kind == TK_PUNCT && *t->s == c;
}

/* The identifier a token spells: unquoted words fold to lower case. */
static char *pg_ddl_ident(const struct pg_ddl_tok *t)
{
	char *s, *o;

	if (t->kind == TK_WORD) {
		s = pg_ddl_strndup(t->s, t->len);
		for (o = s; o && *o; o++)
			if (*o >= 'A' && *o <= 'Z')
				*o = (char)(*o - 'A' + 'a');
		return s;
	}
	if (t->kind != TK_QUOTED || t->len < 2)
		return NULL;
	s = malloc(t->len);
	if (!s)
		return NULL;
	o = s;
	for (size_t i = 1; i + 1 < t->len; i++) {
		*o++ = t->s[i];
		if (t->s[i] == '"')
			i++;
	}
	*o = '\0';
	return s;
}

#define PG_DDL_MAXPARTS 3

struct pg_ddl_qname {
	char *part[PG_DDL_MAXPARTS];
	int n;
};

static void pg_ddl_qname_release(struct pg_ddl_qname *q)
{
	for (int i = 0; i < PG_DDL_MAXPARTS; i++)
		free(q->part[i]);
	memset(q, 0, sizeof(*q));
}

/* ident ("." ident)*, first token already in *t.  Leaves *t at the token
 * after the name.  0, -EINVAL (no name), -ENOMEM. */
static int pg_ddl_read_qname(struct pg_ddl_lex *x, struct pg_ddl_tok *t,
			     struct pg_ddl_qname *q)
{
	memset(q, 0, sizeof(*q));
	for (;;) {
		if (t->kind != TK_WORD && t->kind != TK_QUOTED)
			return q->n ? 0 : -EINVAL;
		if (q->n == PG_DDL_MAXPARTS)
			return -EINVAL;
		q->part[q->n] = pg_ddl_ident(t);
		if (!q->part[q->n])
			return -ENOMEM;
		q->n++;
		pg_ddl_tok_next(x, t);
		if (!pg_ddl_punct(t, '.'))
			return 0;
		pg_ddl_tok_next(x, t);
	}
}

/* Skips tokens up to the first bare keyword kw of this statement. */
static int pg_ddl_seek_kw(struct pg_ddl_lex *x, struct pg_ddl_tok *t,
			  const char *kw)
{
	while (t->kind != TK_EOF && !pg_ddl_punct(t, ';')) {
		if (pg_ddl_kw(t, kw))
			return 1;
		pg_ddl_tok_next(x, t);
	}
	return 0;
}

/* Positions *t on the first token of the first statement whose first
 * word is one of kws (NULL-terminated).  Returns its index or -1. */
static int pg_ddl_find_stmt(struct pg_ddl_lex *x, struct pg_ddl_tok *t,
			    const char *const *kws)
{
	pg_ddl_tok_next(x, t);
	while (t->kind != TK_EOF) {
		for (int i = 0; kws[i]; i++)
			if (pg_ddl_kw(t, kws[i]))
				return i;
		while (t->kind != TK_EOF && !pg_ddl_punct(t, ';'))
			pg_ddl_tok_next(x, t);
		pg_ddl_tok_next(x, t);
	}
	return -1;
}

/* ---- owners ---------------------------------------------------------- */

static int pg_ddl_link_add(struct pg_ddl_link **v, size_t *n, size_t *cap,
			   const char *schema, const char *name,
			   const char *rs, const char *rn)
{
	struct pg_ddl_link *l;

	if (*n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 32;

		l = realloc(*v, ncap * sizeof(*l));
		if (!l)
			return -ENOMEM;
		*v = l;
		*cap = ncap;
	}
	l = &(*v)[*n];
	l->schema = strdup(schema);
	l->name = strdup(name);
	l->rel_schema = strdup(rs);
	l->rel_name = strdup(rn);
	(*n)++;
	if (!l->schema || !l->name || !l->rel_schema || !l->rel_name)
		return -ENOMEM;
	return 0;
}

static int pg_ddl_link_cmp(const void *a, const void *b)
{
	const struct pg_ddl_link *x = a, *y = b;
	int c = strcmp(x->schema, y->schema);

	return c ? c : strcmp(x->name, y->name);
}

static const struct pg_ddl_link *
pg_ddl_link_find(const struct pg_ddl_link *v, size_t n, const char *schema,
		 const char *name)
{
	struct pg_ddl_link key = { (char *)schema, (char *)name, NULL, NULL };

	return n ? bsearch(&key, v, n, sizeof(*v), pg_ddl_link_cmp) : NULL;
}

/* The schema of a possibly unqualified name: pg_dump qualifies
 * everything, but fall back to the header's schema. */
static const char *pg_ddl_q_schema(const struct pg_ddl_qname *q,
				   const struct pg_ddl_sec *s, int parts)
{
	return q->n >= parts ? q->part[q->n - parts] : s->pub.schema;
}

static int pg_ddl_set_owner(struct pg_ddl_sec *s, const char *schema,
			    const char *name)
{
	char *a = strdup(schema), *b = strdup(name);

	if (!a || !b) {
		free(a);
		free(b);
		return -ENOMEM;
	}
	s->pub.rel_schema = a;
	s->pub.rel_name = b;
	return 0;
}

static int pg_ddl_set_via(struct pg_ddl_sec *s, enum pg_ddl_via via,
			  const char *schema, const char *name)
{
	s->via_schema = strdup(schema);
	s->via_name = strdup(name);
	s->via = via;
	return s->via_schema && s->via_name ? 0 : -ENOMEM;
}

/* Sets the owner from a qualified table name (last two parts when the
 * name has `skip` trailing parts such as a column). */
static int pg_ddl_owner_q(struct pg_ddl_sec *s, const struct pg_ddl_qname *q,
			  int skip)
{
	int n = q->n - skip;

	if (n < 1)
		return 0;
	return pg_ddl_set_owner(s, n >= 2 ? q->part[n - 2] : s->pub.schema,
				q->part[n - 1]);
}

/* ALTER TABLE [ONLY] <qname>: the table, with *t left after it. */
static int pg_ddl_alter_table(struct pg_ddl_lex *x, struct pg_ddl_tok *t,
			      struct pg_ddl_qname *q)
{
	pg_ddl_tok_next(x, t);
	if (!pg_ddl_kw(t, "TABLE"))
		return -EINVAL;
	pg_ddl_tok_next(x, t);
	/* IF EXISTS only appears with --if-exists; accept it anyway */
	if (pg_ddl_kw(t, "IF")) {
		pg_ddl_tok_next(x, t);
		pg_ddl_tok_next(x, t);
	}
	if (pg_ddl_kw(t, "ONLY"))
		pg_ddl_tok_next(x, t);
	return pg_ddl_read_qname(x, t, q);
}

/* "<name> ON <qname>" as in CREATE POLICY / COMMENT ON TRIGGER x ON t. */
static int pg_ddl_named_on(struct pg_ddl_lex *x, struct pg_ddl_tok *t,
			   struct pg_ddl_sec *s)
{
	struct pg_ddl_qname q;
	int r;

	pg_ddl_tok_next(x, t);		/* the object's own name */
	pg_ddl_tok_next(x, t);
	if (!pg_ddl_kw(t, "ON"))
		return 0;
	pg_ddl_tok_next(x, t);
	if (pg_ddl_kw(t, "DOMAIN"))
		return 0;
	r = pg_ddl_read_qname(x, t, &q);
	if (r == 0)
		r = pg_ddl_owner_q(s, &q, 0);
	pg_ddl_qname_release(&q);
	return r == -EINVAL ? 0 : r;
}

/* COMMENT ON / SECURITY LABEL ... ON <objtype> <what>: t is at objtype. */
static int pg_ddl_on_object(struct pg_ddl_lex *x, struct pg_ddl_tok *t,
			    struct pg_ddl_sec *s)
{
	struct pg_ddl_qname q;
	int r = 0;

	if (pg_ddl_kw(t, "CONSTRAINT") || pg_ddl_kw(t, "TRIGGER") ||
	    pg_ddl_kw(t, "POLICY") || pg_ddl_kw(t, "RULE"))
		return pg_ddl_named_on(x, t, s);
	if (pg_ddl_kw(t, "TABLE") || pg_ddl_kw(t, "COLUMN") ||
	    pg_ddl_kw(t, "INDEX") || pg_ddl_kw(t, "SEQUENCE")) {
		int col = pg_ddl_kw(t, "COLUMN"), idx = pg_ddl_kw(t, "INDEX");
		int seq = pg_ddl_kw(t, "SEQUENCE");

		pg_ddl_tok_next(x, t);
		r = pg_ddl_read_qname(x, t, &q);
		if (r == 0 && (idx || seq))
			r = pg_ddl_set_via(s, idx ? PG_DDL_VIA_INDEX : PG_DDL_VIA_SEQ,
					   pg_ddl_q_schema(&q, s, 2),
					   q.part[q.n - 1]);
		else if (r == 0)
			r = pg_ddl_owner_q(s, &q, col);
		pg_ddl_qname_release(&q);
	}
	return r == -EINVAL ? 0 : r;
}

static int pg_ddl_type_is(const struct pg_ddl_sec *s, const char *t)
{
	return strcmp(s->pub.type, t) == 0;
}

/* Reads the section's SQL and records its owner (or the index/sequence
 * through which the owner will be found) plus index/sequence links. */
static int pg_ddl_read_owner(struct pg_ddl *d, struct pg_ddl_sec *s)
{
	static const char *const k_alter[] = { "ALTER", NULL };
	static const char *const k_create[] = { "CREATE", NULL };
	static const char *const k_seq[] = { "ALTER", "CREATE", NULL };
	static const char *const k_comment[] = { "COMMENT", "SECURITY", NULL };
	static const char *const k_acl[] = { "GRANT", "REVOKE", NULL };
	struct pg_ddl_lex x;
	struct pg_ddl_tok t;
	struct pg_ddl_qname q, q2;
	int r = 0;

	/* start after the three header lines */
	x.start = d->text;
	x.end = d->text + s->pub.off + s->pub.len;
	x.p = d->text + s->pub.off;
	memset(&q, 0, sizeof(q));
	memset(&q2, 0, sizeof(q2));

	if (pg_ddl_type_is(s, "TABLE")) {
		if (pg_ddl_find_stmt(&x, &t, k_create) < 0)
			return 0;
		if (!pg_ddl_seek_kw(&x, &t, "TABLE"))
			return 0;
		pg_ddl_tok_next(&x, &t);
		r = pg_ddl_read_qname(&x, &t, &q);
		if (r == 0)
			r = pg_ddl_owner_q(s, &q, 0);
	} else if (pg_ddl_type_is(s, "TABLE ATTACH")) {
		if (pg_ddl_find_stmt(&x, &t, k_alter) < 0)
			return 0;
		r = pg_ddl_alter_table(&x, &t, &q);
		if (r == 0 && pg_ddl_seek_kw(&x, &t, "PARTITION")) {
			pg_ddl_tok_next(&x, &t);
			r = pg_ddl_read_qname(&x, &t, &q2);
			if (r == 0)
				r = pg_ddl_owner_q(s, &q2, 0);
		}
	} else if (pg_ddl_type_is(s, "DEFAULT") ||
		   pg_ddl_type_is(s, "CONSTRAINT") ||
		   pg_ddl_type_is(s, "CHECK CONSTRAINT") ||
		   pg_ddl_type_is(s, "FK CONSTRAINT") ||
		   pg_ddl_type_is(s, "ROW SECURITY")) {
		if (pg_ddl_find_stmt(&x, &t, k_alter) < 0)
			return 0;
		r = pg_ddl_alter_table(&x, &t, &q);
		if (r == 0)
			r = pg_ddl_owner_q(s, &q, 0);
		/* PRIMARY KEY / UNIQUE / EXCLUDE create an index of that name,
		 * which partitions' INDEX ATTACH entries refer to */
		if (r == 0 && pg_ddl_kw(&t, "ADD")) {
			pg_ddl_tok_next(&x, &t);
			if (pg_ddl_kw(&t, "CONSTRAINT")) {
				char *cn;

				pg_ddl_tok_next(&x, &t);
				cn = pg_ddl_ident(&t);
				pg_ddl_tok_next(&x, &t);
				if (cn && (pg_ddl_kw(&t, "PRIMARY") ||
					   pg_ddl_kw(&t, "UNIQUE") ||
					   pg_ddl_kw(&t, "EXCLUDE")))
					r = pg_ddl_link_add(&d->idx, &d->nidx, &d->capidx,
							    s->pub.rel_schema, cn,
							    s->pub.rel_schema,
							    s->pub.rel_name);
				free(cn);
			}
		}
	} else if (pg_ddl_type_is(s, "SEQUENCE")) {
		int k = pg_ddl_find_stmt(&x, &t, k_seq);

		if (k == 0) {
			/* identity: ALTER TABLE t ALTER COLUMN c ADD GENERATED
			 * ... (SEQUENCE NAME s.seq ...) */
			r = pg_ddl_alter_table(&x, &t, &q);
			if (r == 0)
				r = pg_ddl_owner_q(s, &q, 0);
			while (r == 0 && pg_ddl_seek_kw(&x, &t, "SEQUENCE")) {
				pg_ddl_tok_next(&x, &t);
				if (!pg_ddl_kw(&t, "NAME"))
					continue;
				pg_ddl_tok_next(&x, &t);
				r = pg_ddl_read_qname(&x, &t, &q2);
				if (r == 0)
					r = pg_ddl_link_add(&d->seq, &d->nseq, &d->capseq,
							    pg_ddl_q_schema(&q2, s, 2),
							    q2.part[q2.n - 1],
							    s->pub.rel_schema,
							    s->pub.rel_name);
				break;
			}
		} else if (k == 1 && pg_ddl_seek_kw(&x, &t, "SEQUENCE")) {
			pg_ddl_tok_next(&x, &t);
			r = pg_ddl_read_qname(&x, &t, &q);
			if (r == 0)
				r = pg_ddl_set_via(s, PG_DDL_VIA_SEQ,
						   pg_ddl_q_schema(&q, s, 2),
						   q.part[q.n - 1]);
		}
	} else if (pg_ddl_type_is(s, "SEQUENCE OWNED BY")) {
		if (pg_ddl_find_stmt(&x, &t, k_alter) < 0)
			return 0;
		pg_ddl_tok_next(&x, &t);
		if (!pg_ddl_kw(&t, "SEQUENCE"))
			return 0;
		pg_ddl_tok_next(&x, &t);
		r = pg_ddl_read_qname(&x, &t, &q);
		if (r == 0 && pg_ddl_kw(&t, "OWNED")) {
			pg_ddl_tok_next(&x, &t);
			pg_ddl_tok_next(&x, &t);
			r = pg_ddl_read_qname(&x, &t, &q2);
			if (r == 0 && q2.n >= 2)
				r = pg_ddl_owner_q(s, &q2, 1);
			if (r == 0 && s->pub.rel_name)
				r = pg_ddl_link_add(&d->seq, &d->nseq, &d->capseq,
						    pg_ddl_q_schema(&q, s, 2),
						    q.part[q.n - 1],
						    s->pub.rel_schema,
						    s->pub.rel_name);
		}
	} else if (pg_ddl_type_is(s, "INDEX")) {
		if (pg_ddl_find_stmt(&x, &t, k_create) < 0)
			return 0;
		if (!pg_ddl_seek_kw(&x, &t, "INDEX"))
			return 0;
		pg_ddl_tok_next(&x, &t);
		if (pg_ddl_kw(&t, "CONCURRENTLY"))
			pg_ddl_tok_next(&x, &t);
		r = pg_ddl_read_qname(&x, &t, &q2);
		if (r == 0 && pg_ddl_kw(&t, "ON")) {
			pg_ddl_tok_next(&x, &t);
			if (pg_ddl_kw(&t, "ONLY"))
				pg_ddl_tok_next(&x, &t);
			r = pg_ddl_read_qname(&x, &t, &q);
			if (r == 0)
				r = pg_ddl_owner_q(s, &q, 0);
			/* an index lives in its table's schema */
			if (r == 0)
				r = pg_ddl_link_add(&d->idx, &d->nidx, &d->capidx,
						    s->pub.rel_schema,
						    q2.part[q2.n - 1],
						    s->pub.rel_schema,
						    s->pub.rel_name);
		}
	} else if (pg_ddl_type_is(s, "INDEX ATTACH")) {
		if (pg_ddl_find_stmt(&x, &t, k_alter) < 0)
			return 0;
		if (pg_ddl_seek_kw(&x, &t, "PARTITION")) {
			pg_ddl_tok_next(&x, &t);
			r = pg_ddl_read_qname(&x, &t, &q);
			if (r == 0)
				r = pg_ddl_set_via(s, PG_DDL_VIA_INDEX,
						   pg_ddl_q_schema(&q, s, 2),
						   q.part[q.n - 1]);
		}
	} else if (pg_ddl_type_is(s, "TRIGGER") || pg_ddl_type_is(s, "POLICY")) {
		if (pg_ddl_find_stmt(&x, &t, k_create) < 0)
			return 0;
		pg_ddl_tok_next(&x, &t);
		if (pg_ddl_kw(&t, "CONSTRAINT"))
			pg_ddl_tok_next(&x, &t);
		/* t is TRIGGER/POLICY; the name follows, then ... ON t */
		pg_ddl_tok_next(&x, &t);
		pg_ddl_tok_next(&x, &t);
		if (pg_ddl_seek_kw(&x, &t, "ON")) {
			pg_ddl_tok_next(&x, &t);
			r = pg_ddl_read_qname(&x, &t, &q);
			if (r == 0)
				r = pg_ddl_owner_q(s, &q, 0);
		}
	} else if (pg_ddl_type_is(s, "RULE")) {
		if (pg_ddl_find_stmt(&x, &t, k_create) < 0)
			return 0;
		if (pg_ddl_seek_kw(&x, &t, "TO")) {
			pg_ddl_tok_next(&x, &t);
			r = pg_ddl_read_qname(&x, &t, &q);
			if (r == 0)
				r = pg_ddl_owner_q(s, &q, 0);
		}
	} else if (pg_ddl_type_is(s, "STATISTICS")) {
		if (pg_ddl_find_stmt(&x, &t, k_create) < 0)
			return 0;
		if (pg_ddl_seek_kw(&x, &t, "FROM")) {
			pg_ddl_tok_next(&x, &t);
			r = pg_ddl_read_qname(&x, &t, &q);
			if (r == 0)
				r = pg_ddl_owner_q(s, &q, 0);
		}
	} else if (pg_ddl_type_is(s, "COMMENT") ||
		   pg_ddl_type_is(s, "SECURITY LABEL")) {
		if (pg_ddl_find_stmt(&x, &t, k_comment) < 0)
			return 0;
		if (pg_ddl_seek_kw(&x, &t, "ON")) {
			pg_ddl_tok_next(&x, &t);
			r = pg_ddl_on_object(&x, &t, s);
		}
	} else if (pg_ddl_type_is(s, "ACL")) {
		if (pg_ddl_find_stmt(&x, &t, k_acl) < 0)
			return 0;
		if (pg_ddl_seek_kw(&x, &t, "ON")) {
			pg_ddl_tok_next(&x, &t);
			if (pg_ddl_kw(&t, "TABLE") || pg_ddl_kw(&t, "SEQUENCE"))
				r = pg_ddl_on_object(&x, &t, s);
		}
	}
	pg_ddl_qname_release(&q);
	pg_ddl_qname_release(&q2);
	/* SQL we cannot read simply has no owner */
	return r == -EINVAL ? 0 : r;
}

static int pg_ddl_order_cmp(const void *a, const void *b, void *ctx)
{
	const struct pg_ddl *d = ctx;
	const struct pg_ddl_section *x = &d->secs[*(const size_t *)a].pub;
	const struct pg_ddl_section *y = &d->secs[*(const size_t *)b].pub;
	int c = strcmp(x->rel_schema, y->rel_schema);

	if (!c)
		c = strcmp(x->rel_name, y->rel_name);
	if (!c)
		c = x->off < y->off ? -1 : x->off > y->off;
	return c;
}

static int pg_ddl_owners(struct pg_ddl *d)
{
	int r;

	for (size_t i = 0; i < d->n; i++) {
		r = pg_ddl_read_owner(d, &d->secs[i]);
		if (r < 0)
			return r;
	}
	if (d->nidx)
		qsort(d->idx, d->nidx, sizeof(*d->idx), pg_ddl_link_cmp);
	if (d->nseq)
		qsort(d->seq, d->nseq, sizeof(*d->seq), pg_ddl_link_cmp);
	for (size_t i = 0; i < d->n; i++) {
		struct pg_ddl_sec *s = &d->secs[i];
		const struct pg_ddl_link *l = NULL;

		if (s->via == PG_DDL_VIA_INDEX)
			l = pg_ddl_link_find(d->idx, d->nidx, s->via_schema,
					     s->via_name);
		else if (s->via == PG_DDL_VIA_SEQ)
			l = pg_ddl_link_find(d->seq, d->nseq, s->via_schema,
					     s->via_name);
		if (l && !s->pub.rel_name) {
			r = pg_ddl_set_owner(s, l->rel_schema, l->rel_name);
			if (r < 0)
				return r;
		}
	}
	d->order = malloc((d->n ? d->n : 1) * sizeof(*d->order));
	if (!d->order)
		return -ENOMEM;
	for (size_t i = 0; i < d->n; i++)
		if (d->secs[i].pub.rel_name)
			d->order[d->norder++] = i;
	qsort_r(d->order, d->norder, sizeof(*d->order), pg_ddl_order_cmp, d);
	return 0;
}

int pg_ddl_parse(struct pg_ddl **out, const char *dump, size_t len,
		 struct buf *err)
{
	struct pg_ddl *d = calloc(1, sizeof(*d));
	int r;

	*out = NULL;
	if (!d)
		return -ENOMEM;
	d->text = pg_ddl_strndup(dump, len);
	if (!d->text) {
		free(d);
		return -ENOMEM;
	}
	d->len = len;
	r = pg_ddl_split(d, err);
	if (r == 0) {
		pg_ddl_set_lengths(d);
		r = pg_ddl_owners(d);
	}
	if (r < 0) {
		pg_ddl_free(d);
		return r;
	}
	*out = d;
	return 0;
}

static void pg_ddl_links_free(struct pg_ddl_link *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].schema);
		free(v[i].name);
		free(v[i].rel_schema);
		free(v[i].rel_name);
	}
	free(v);
}

void pg_ddl_free(struct pg_ddl *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->n; i++) {
		struct pg_ddl_sec *s = &d->secs[i];

		free((char *)s->pub.name);
		free((char *)s->pub.type);
		free((char *)s->pub.schema);
		free((char *)s->pub.owner);
		free((char *)s->pub.rel_schema);
		free((char *)s->pub.rel_name);
		free(s->via_schema);
		free(s->via_name);
	}
	free(d->secs);
	free(d->order);
	pg_ddl_links_free(d->idx, d->nidx);
	pg_ddl_links_free(d->seq, d->nseq);
	free(d->text);
	free(d);
}

const char *pg_ddl_text(const struct pg_ddl *d)
{
	return d->text;
}

size_t pg_ddl_count(const struct pg_ddl *d)
{
	return d->n;
}

const struct pg_ddl_section *pg_ddl_get(const struct pg_ddl *d, size_t i)
{
	return i < d->n ? &d->secs[i].pub : NULL;
}

int pg_ddl_preamble(const struct pg_ddl *d, struct buf *out)
{
	const char *p = d->text, *end = d->text + d->pre_end;
	int r = 0;

	while (p < end && r == 0) {
		const char *e = pg_ddl_eol(p, end);
		size_t n = (size_t)(e - p);

		if ((n > 4 && !memcmp(p, "SET ", 4)) ||
		    (n > 28 && !memcmp(p, "SELECT pg_catalog.set_config", 28))) {
			r = buf_add(out, p, n);
			if (r == 0)
				r = buf_addch(out, '\n');
		}
		p = e < end ? e + 1 : end;
	}
	return r;
}

int pg_ddl_table_sql(const struct pg_ddl *d, const char *schema,
		     const char *table, struct buf *out)
{
	size_t lo = 0, hi = d->norder;
	int r, n = 0;

	/* lower bound of (schema, table) */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct pg_ddl_section *s = &d->secs[d->order[mid]].pub;
		int c = strcmp(s->rel_schema, schema);

		if (!c)
			c = strcmp(s->rel_name, table);
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	r = pg_ddl_preamble(d, out);
	for (size_t i = lo; r == 0 && i < d->norder; i++) {
		const struct pg_ddl_section *s = &d->secs[d->order[i]].pub;

		if (strcmp(s->rel_schema, schema) || strcmp(s->rel_name, table))
			break;
		r = buf_addch(out, '\n');
		if (r == 0)
			r = buf_add(out, d->text + s->off, s->len);
		n++;
	}
	return r < 0 ? r : n;
}

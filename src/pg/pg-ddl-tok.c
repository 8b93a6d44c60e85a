/*
 * pg-ddl-tok: the tokenizer of pg-ddl's owner reader (pg-ddl-tok.h).
 *
 * Separate from the splitter (pg-ddl-split.c), which only needs to know
 * where quoting starts and ends, and from the owner reader, which only
 * needs tokens: statement grammar lives there, lexing here.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "pg-ddl-int.h"
#include "pg-ddl-tok.h"
#include "sql-lex.h"

static int pg_ddl_tok_closed_quote(const char *s, size_t len)
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

void pg_ddl_tok_next(struct pg_ddl_tok_lex *x, struct pg_ddl_tok *t)
{
	for (;;) {
		while (x->p < x->end && (*x->p == ' ' || *x->p == '\t' ||
					 *x->p == '\n' || *x->p == '\r'))
			x->p++;
		if (x->p >= x->end) {
			t->kind = PG_DDL_TOK_EOF;
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
		t->kind = pg_ddl_tok_closed_quote(t->s, (size_t)(x->p - t->s)) ?
			  PG_DDL_TOK_QUOTED : PG_DDL_TOK_OTHER;
	} else if (*x->p == '\'' || (*x->p == '$' &&
		   sql_lex_skip(&x->p, x->end, x->start))) {
		if (*t->s == '\'')
			sql_lex_skip(&x->p, x->end, x->start);
		t->kind = PG_DDL_TOK_OTHER;
	} else if (sql_lex_identstart((unsigned char)*x->p)) {
		while (x->p < x->end && sql_lex_identch((unsigned char)*x->p))
			x->p++;
		t->kind = PG_DDL_TOK_WORD;
		/* E'..' is a string, not the word E */
		if (x->p - t->s == 1 && (*t->s == 'E' || *t->s == 'e') &&
		    x->p < x->end && *x->p == '\'') {
			sql_lex_skip(&x->p, x->end, x->start);
			t->kind = PG_DDL_TOK_OTHER;
		}
	} else if (*x->p >= '0' && *x->p <= '9') {
		while (x->p < x->end && sql_lex_identch((unsigned char)*x->p))
			x->p++;
		t->kind = PG_DDL_TOK_OTHER;
	} else {
		x->p++;
		t->kind = PG_DDL_TOK_PUNCT;
	}
	t->len = (size_t)(x->p - t->s);
}

int pg_ddl_tok_kw(const struct pg_ddl_tok *t, const char *kw)
{
	return t->kind == PG_DDL_TOK_WORD && strlen(kw) == t->len &&
	       strncasecmp(t->s, kw, t->len) == 0;
}

int pg_ddl_tok_punct(const struct pg_ddl_tok *t, char c)
{
	return t->kind == PG_DDL_TOK_PUNCT && *t->s == c;
}

char *pg_ddl_tok_ident(const struct pg_ddl_tok *t)
{
	char *s, *o;

	if (t->kind == PG_DDL_TOK_WORD) {
		s = pg_ddl_strndup(t->s, t->len);
		for (o = s; o && *o; o++)
			if (*o >= 'A' && *o <= 'Z')
				*o = (char)(*o - 'A' + 'a');
		return s;
	}
	if (t->kind != PG_DDL_TOK_QUOTED || t->len < 2)
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

void pg_ddl_tok_qname_release(struct pg_ddl_tok_qname *q)
{
	for (int i = 0; i < PG_DDL_TOK_MAXPARTS; i++)
		free(q->part[i]);
	memset(q, 0, sizeof(*q));
}

int pg_ddl_tok_qname_read(struct pg_ddl_tok_lex *x, struct pg_ddl_tok *t,
			  struct pg_ddl_tok_qname *q)
{
	memset(q, 0, sizeof(*q));
	for (;;) {
		if (t->kind != PG_DDL_TOK_WORD && t->kind != PG_DDL_TOK_QUOTED)
			return q->n ? 0 : -EINVAL;
		if (q->n == PG_DDL_TOK_MAXPARTS)
			return -EINVAL;
		q->part[q->n] = pg_ddl_tok_ident(t);
		if (!q->part[q->n])
			return -ENOMEM;
		q->n++;
		pg_ddl_tok_next(x, t);
		if (!pg_ddl_tok_punct(t, '.'))
			return 0;
		pg_ddl_tok_next(x, t);
	}
}

int pg_ddl_tok_seek_kw(struct pg_ddl_tok_lex *x, struct pg_ddl_tok *t,
		       const char *kw)
{
	while (t->kind != PG_DDL_TOK_EOF && !pg_ddl_tok_punct(t, ';')) {
		if (pg_ddl_tok_kw(t, kw))
			return 1;
		pg_ddl_tok_next(x, t);
	}
	return 0;
}

int pg_ddl_tok_find_stmt(struct pg_ddl_tok_lex *x, struct pg_ddl_tok *t,
			 const char *const *kws)
{
	pg_ddl_tok_next(x, t);
	while (t->kind != PG_DDL_TOK_EOF) {
		for (int i = 0; kws[i]; i++)
			if (pg_ddl_tok_kw(t, kws[i]))
				return i;
		while (t->kind != PG_DDL_TOK_EOF && !pg_ddl_tok_punct(t, ';'))
			pg_ddl_tok_next(x, t);
		pg_ddl_tok_next(x, t);
	}
	return -1;
}

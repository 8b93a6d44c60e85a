/*
 * rs-sql: the lexical layer restore needs over SQL text written by
 * pg_dump and by the capture: cutting it into statements and reading
 * statements token by token.  Pure: no connection, no I/O.
 *
 * The lexer knows PostgreSQL's quoting ('...', E'...', "...", $tag$...$tag$,
 * -- and nested block comments), so a ';' inside a function body or a
 * string never ends a statement.  A line starting with a backslash where
 * a statement would start is a psql meta-command (pg_dump writes
 * \restrict and \unrestrict); it is returned as its own statement with
 * `meta` set, because libpq cannot run it.
 */
#ifndef VAULT_RS_SQL_H
#define VAULT_RS_SQL_H

#include <stddef.h>
#include "buf.h"

struct rs_sql_stmt {
	size_t off, len;	/* in the text, from the first token through
				 * the ';' (or the end of a meta line) */
	int meta;		/* a psql meta-command line */
};

/*
 * Finds the next statement at or after *pos in text[0..len).  Leading
 * whitespace and comments are skipped; a trailing piece without ';' is
 * returned as a statement too (psql would run it the same way).  As in
 * psql, a ';' ends a statement only outside parentheses (a rule's
 * "DO ALSO (a; b)") and, in CREATE [OR REPLACE] FUNCTION|PROCEDURE,
 * outside its BEGIN ATOMIC ... END body (CASE ... END nests there).
 * Returns 1 with *st filled and *pos moved past it, or 0 at the end.
 */
int rs_sql_next(const char *text, size_t len, size_t *pos,
		struct rs_sql_stmt *st);

enum rs_sql_kind {
	RS_SQL_END,
	RS_SQL_WORD,	/* keyword or unquoted identifier */
	RS_SQL_QIDENT,	/* "quoted identifier" */
	RS_SQL_STRING,	/* '...', E'...', $tag$...$tag$ */
	RS_SQL_NUMBER,
	RS_SQL_PUNCT,	/* one byte of anything else */
};

struct rs_sql_tok {
	enum rs_sql_kind kind;
	const char *p;
	size_t len;
};

struct rs_sql_lex {
	const char *start, *p, *end;
};

void rs_sql_lex_init(struct rs_sql_lex *x, const char *p, size_t len);
/* Fills t with the next token (comments skipped); kind END at the end. */
void rs_sql_lex_next(struct rs_sql_lex *x, struct rs_sql_tok *t);

/* 1 when t is the unquoted keyword kw (ASCII case-insensitive). */
int rs_sql_is(const struct rs_sql_tok *t, const char *kw);
/* 1 when t is the punctuation byte c. */
int rs_sql_punct(const struct rs_sql_tok *t, char c);
/* 1 for a WORD or QIDENT token. */
int rs_sql_is_ident(const struct rs_sql_tok *t);
/* Appends the identifier t names: an unquoted word folded to lower case,
 * a quoted one with "" undone.  -EINVAL when t is not an identifier. */
int rs_sql_ident(const struct rs_sql_tok *t, struct buf *out);

/*
 * Reads a possibly qualified name starting at t: ident [. ident].  On
 * return t is the token after the name.  schema is left empty when the
 * name is unqualified.  -EINVAL when t is not an identifier.
 */
int rs_sql_qname(struct rs_sql_lex *x, struct rs_sql_tok *t,
		 struct buf *schema, struct buf *name);

/*
 * 1 when sql[0..len) reads "ALTER ROLE|USER r IN DATABASE d ..." (a
 * per-database role setting), with *db set to d's token; else 0.
 */
int rs_sql_role_database(const char *sql, size_t len, struct rs_sql_tok *db);

/* "CREATE FUNCTION|PROCEDURE ..." in sql becomes "CREATE OR REPLACE
 * ..." (clean mode replaces a routine that exists); any other
 * statement is left as it is.  0 or -ENOMEM. */
int rs_sql_or_replace(struct buf *sql);

#endif

/*
 * pg-ddl-tok: the tokenizer pg-ddl's owner reader walks a section's SQL
 * with: words, quoted identifiers, punctuation, and "other" (strings,
 * dollar bodies, numbers) as single tokens; comments vanish.  Quoting
 * rules come from sql-lex, so a ';' inside a body never ends a statement.
 * Pure: allocates only the identifiers it is asked to spell.
 */
#ifndef VAULT_PG_DDL_TOK_H
#define VAULT_PG_DDL_TOK_H

#include <stddef.h>

enum pg_ddl_tok_kind {
	PG_DDL_TOK_EOF, PG_DDL_TOK_WORD, PG_DDL_TOK_QUOTED, PG_DDL_TOK_PUNCT,
	PG_DDL_TOK_OTHER,
};

/* The text being read: start (for sql-lex's look-behind), position, end. */
struct pg_ddl_tok_lex {
	const char *start, *p, *end;
};

/* One token: s[0..len) points into the text. */
struct pg_ddl_tok {
	enum pg_ddl_tok_kind kind;
	const char *s;
	size_t len;
};

#define PG_DDL_TOK_MAXPARTS 3

/* A qualified name: part[0..n), each a malloc'ed identifier. */
struct pg_ddl_tok_qname {
	char *part[PG_DDL_TOK_MAXPARTS];
	int n;
};

/* The next token into *t (PG_DDL_TOK_EOF at the end). */
void pg_ddl_tok_next(struct pg_ddl_tok_lex *x, struct pg_ddl_tok *t);
/* 1 when t is the bare word kw (any case). */
int pg_ddl_tok_kw(const struct pg_ddl_tok *t, const char *kw);
/* 1 when t is the punctuation c. */
int pg_ddl_tok_punct(const struct pg_ddl_tok *t, char c);
/* The identifier a word or quoted token spells (unquoted words fold to
 * lower case), malloc'ed; NULL for other tokens or out of memory. */
char *pg_ddl_tok_ident(const struct pg_ddl_tok *t);

/* Frees the parts and zeroes q. */
void pg_ddl_tok_qname_release(struct pg_ddl_tok_qname *q);
/* ident ("." ident)*, first token already in *t.  Leaves *t at the token
 * after the name.  0, -EINVAL (no name), -ENOMEM; q is to be released
 * in every case. */
int pg_ddl_tok_qname_read(struct pg_ddl_tok_lex *x, struct pg_ddl_tok *t,
			  struct pg_ddl_tok_qname *q);

/* Skips tokens up to the first bare keyword kw of this statement: 1 with
 * *t on it, 0 at the statement's ';' or the end. */
int pg_ddl_tok_seek_kw(struct pg_ddl_tok_lex *x, struct pg_ddl_tok *t,
		       const char *kw);
/* Positions *t on the first token of the first statement whose first
 * word is one of kws (NULL-terminated).  Returns its index or -1. */
int pg_ddl_tok_find_stmt(struct pg_ddl_tok_lex *x, struct pg_ddl_tok *t,
			 const char *const *kws);

#endif

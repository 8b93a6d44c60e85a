/*
 * sql-lex: the scanning primitives every reader of PostgreSQL text
 * shares: what an identifier byte is, and how far a comment, string,
 * quoted identifier or dollar-quoted body reaches.  Pure: no allocation,
 * no I/O.
 *
 * They live in one place because the rule for "this is not plain code"
 * is what keeps a ';' or a header-looking line inside a function body
 * from being taken for structure; two copies of it would drift apart.
 * Tokenizers built on top (pg-ddl, rs-sql) differ in what tokens they
 * need, not in where quoting starts and ends.
 */
#ifndef VAULT_SQL_LEX_H
#define VAULT_SQL_LEX_H

#include <stddef.h>

/* 1 when c may continue an unquoted identifier (letters, digits, _, $,
 * any byte >= 0x80). */
int sql_lex_identch(unsigned char c);
/* 1 when c may start an unquoted identifier (no digits, no $). */
int sql_lex_identstart(unsigned char c);

/*
 * Length of the dollar-quote opening "$tag$" at p (< end), or 0.  prev is
 * the byte before p (0 at the start of the text): "a$b$" is an
 * identifier, not a quote.
 */
size_t sql_lex_dollar(const char *p, const char *end, char prev);

enum sql_lex_skip {
	SQL_LEX_NONE = 0,	/* plain code */
	SQL_LEX_COMMENT,	/* -- ... or nested block comment */
	SQL_LEX_STRING,		/* '...', E'...' (from the quote), $tag$...$tag$ */
	SQL_LEX_QIDENT,		/* "..." */
};

/*
 * If *pp (< end) starts a comment, string, quoted identifier or dollar
 * quote, moves *pp past it (to end when it is unterminated) and says
 * which; SQL_LEX_NONE (0) leaves *pp alone.  start is the beginning of
 * the text: the bytes before *pp decide E'...' escapes and whether '$'
 * opens a quote.
 */
enum sql_lex_skip sql_lex_skip(const char **pp, const char *end,
			       const char *start);

#endif

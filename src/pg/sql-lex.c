/*
 * sql-lex: identifier classes and the skipper for PostgreSQL's non-code
 * elements (comments, strings, quoted identifiers, dollar quotes).
 * See sql-lex.h for why these are shared.
 */
#include <string.h>

#include "sql-lex.h"

int sql_lex_identch(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '_' || c == '$' || c >= 0x80;
}

int sql_lex_identstart(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
	       c >= 0x80;
}

size_t sql_lex_dollar(const char *p, const char *end, char prev)
{
	const char *q = p + 1;

	if (prev && sql_lex_identch((unsigned char)prev))
		return 0;
	if (q < end && *q == '$')
		return 2;
	if (q >= end || !sql_lex_identstart((unsigned char)*q))
		return 0;
	while (q < end && sql_lex_identch((unsigned char)*q) && *q != '$')
		q++;
	return q < end && *q == '$' ? (size_t)(q - p + 1) : 0;
}

enum sql_lex_skip sql_lex_skip(const char **pp, const char *end,
			       const char *start)
{
	const char *p = *pp;
	char prev = p > start ? p[-1] : 0;
	enum sql_lex_skip what;

	if (p + 1 < end && p[0] == '-' && p[1] == '-') {
		while (p < end && *p != '\n')
			p++;
		what = SQL_LEX_COMMENT;
	} else if (p + 1 < end && p[0] == '/' && p[1] == '*') {
		int depth = 1;

		for (p += 2; p < end && depth; p++) {
			if (p + 1 < end && p[0] == '/' && p[1] == '*')
				depth++, p++;
			else if (p + 1 < end && p[0] == '*' && p[1] == '/')
				depth--, p++;
		}
		what = SQL_LEX_COMMENT;
	} else if (*p == '\'') {
		/* E'...' honours backslash escapes */
		int bs = (prev == 'E' || prev == 'e') &&
			 (p - 1 == start || !sql_lex_identch((unsigned char)p[-2]));

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
		what = SQL_LEX_STRING;
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
		what = SQL_LEX_QIDENT;
	} else if (*p == '$') {
		size_t t = sql_lex_dollar(p, end, prev);
		const char *q;

		if (!t)
			return SQL_LEX_NONE;
		q = memmem(p + t, (size_t)(end - p - (ptrdiff_t)t), p, t);
		p = q ? q + t : end;
		what = SQL_LEX_STRING;
	} else {
		return SQL_LEX_NONE;
	}
	*pp = p;
	return what;
}

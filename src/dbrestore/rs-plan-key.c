/*
 * rs-plan-key: what the probe looks for, read from the snapshot: the
 * kind of object each DDL section creates and the key that finds it in
 * a catalog by name (schema, name, and what tells overloads apart:
 * argument types, operands, an access method), as pg_dump wrote them,
 * so that the target's catalogs can be compared with them as they are,
 * without the server parsing any of it.  Pure: no connection.
 */
#include <errno.h>
#include <string.h>

#include "rs-plan-int.h"
#include "rs-sql.h"

char rs_plan_key_kind(const struct pg_ddl_section *s)
{
	static const char *const rel[] = {
		"VIEW", "MATERIALIZED VIEW", "SEQUENCE", "FOREIGN TABLE", NULL,
	};
	static const char *const fn[] = {
		"FUNCTION", "PROCEDURE", "AGGREGATE", NULL,
	};
	/* kinds of their own, looked up by schema and name (or by name) */
	static const struct {
		const char *type;
		char kind;
	} other[] = {
		{ "OPERATOR", 'o' }, { "CAST", 'c' }, { "COLLATION", 'l' },
		{ "CONVERSION", 'C' }, { "TEXT SEARCH CONFIGURATION", 'T' },
		{ "TEXT SEARCH DICTIONARY", 'D' }, { "TEXT SEARCH PARSER", 'P' },
		{ "TEXT SEARCH TEMPLATE", 'M' }, { "OPERATOR CLASS", 'O' },
		{ "OPERATOR FAMILY", 'F' }, { "FOREIGN DATA WRAPPER", 'w' },
		{ "SERVER", 's' }, { "PROCEDURAL LANGUAGE", 'L' },
		{ "ACCESS METHOD", 'A' }, { "TRANSFORM", 'X' },
		{ "SUBSCRIPTION", 'S' },
	};

	if (!strcmp(s->type, "TABLE"))
		return 'r';
	if (rs_plan_read_type_in(s->type, rel) && !s->rel_schema)
		return 'r';
	if (!strcmp(s->type, "TYPE") || !strcmp(s->type, "DOMAIN"))
		return 't';
	if (rs_plan_read_type_in(s->type, fn))
		return 'f';
	if (!strcmp(s->type, "SCHEMA"))
		return 'n';
	if (!strcmp(s->type, "EXTENSION"))
		return 'e';
	if (!strcmp(s->type, "PUBLICATION"))
		return 'p';
	if (!strcmp(s->type, "EVENT TRIGGER"))
		return 'v';
	for (size_t i = 0; i < sizeof(other) / sizeof(other[0]); i++)
		if (!strcmp(s->type, other[i].type))
			return s->rel_schema ? 0 : other[i].kind;
	return 0;
}

/*
 * The raw text of "KEY = value" at the top level of the statement's
 * parentheses (CREATE OPERATOR s.op (LEFTARG = integer, ...)): pg_dump
 * writes the operand types as format_type does, so the text compares
 * with the catalogs as it is.  "NONE" when the key is absent.
 */
static int rs_plan_key_operand(const char *sql, size_t len, const char *key,
				 struct buf *out)
{
	struct rs_sql_lex x;
	struct rs_sql_tok t;
	int depth = 0;

	rs_sql_lex_init(&x, sql, len);
	for (rs_sql_lex_next(&x, &t); t.kind != RS_SQL_END; rs_sql_lex_next(&x, &t)) {
		const char *from;

		if (rs_sql_punct(&t, '('))
			depth++;
		else if (rs_sql_punct(&t, ')'))
			depth--;
		if (depth != 1 || !rs_sql_is(&t, key))
			continue;
		rs_sql_lex_next(&x, &t);
		if (!rs_sql_punct(&t, '='))
			continue;
		rs_sql_lex_next(&x, &t);
		from = t.p;
		while (t.kind != RS_SQL_END && !(depth == 1 && (rs_sql_punct(&t, ',') ||
								rs_sql_punct(&t, ')')))) {
			if (rs_sql_punct(&t, '('))
				depth++;
			else if (rs_sql_punct(&t, ')'))
				depth--;
			rs_sql_lex_next(&x, &t);
		}
		while (t.p > from && (t.p[-1] == ' ' || t.p[-1] == '\n' || t.p[-1] == '\t'))
			t.p--;
		return buf_add(out, from, (size_t)(t.p - from));
	}
	return buf_addstr(out, "NONE");
}

/* The access method after the first USING (CREATE OPERATOR CLASS s.c
 * FOR TYPE t USING am ...; CREATE OPERATOR FAMILY s.f USING am). */
static int rs_plan_key_using(const char *sql, size_t len, struct buf *out)
{
	struct rs_sql_lex x;
	struct rs_sql_tok t;

	rs_sql_lex_init(&x, sql, len);
	for (rs_sql_lex_next(&x, &t); t.kind != RS_SQL_END; rs_sql_lex_next(&x, &t))
		if (rs_sql_is(&t, "USING")) {
			rs_sql_lex_next(&x, &t);
			return rs_sql_is_ident(&t) ? rs_sql_ident(&t, out) : 0;
		}
	return 0;
}

int rs_plan_key_of(const struct pg_ddl *d, const struct pg_ddl_section *s,
		      struct rs_plan_key *k)
{
	const char *sql = pg_ddl_text(d) + s->off;
	const char *paren;
	int r = 0;

	memset(k, 0, sizeof(*k));
	buf_init(&k->schema, 0);
	buf_init(&k->name, 0);
	buf_init(&k->extra, 0);
	k->kind = rs_plan_key_kind(s);
	switch (k->kind) {
	case 'r':
		if (!strcmp(s->type, "TABLE"))
			return rs_plan_key_set(k, 'r', s->rel_schema, s->rel_name, NULL);
		break;
	case 'f':
		/* pg_dump's tag: "name(argtypes)", each type as format_type
		 * gives it under an empty search_path, "*" for an aggregate
		 * without arguments */
		paren = strchr(s->name, '(');
		if (paren && s->name[strlen(s->name) - 1] == ')') {
			r = buf_addstr(&k->schema, s->schema);
			if (r == 0)
				r = buf_add(&k->name, s->name, (size_t)(paren - s->name));
			if (r == 0)
				r = buf_add(&k->extra, paren + 1, strlen(paren) - 2);
			return r;
		}
		break;
	case 'o':
		r = rs_plan_key_operand(sql, s->len, "LEFTARG", &k->extra);
		if (r == 0)
			r = buf_addstr(&k->extra, ", ");
		if (r == 0)
			r = rs_plan_key_operand(sql, s->len, "RIGHTARG", &k->extra);
		break;
	case 'c':
		/* "CAST (source AS target)" */
		if (!strncmp(s->name, "CAST (", 6) && s->name[strlen(s->name) - 1] == ')')
			r = buf_add(&k->extra, s->name + 6, strlen(s->name) - 7);
		break;
	case 'X':
		/* "TRANSFORM FOR type LANGUAGE lang" */
		if (!strncmp(s->name, "TRANSFORM FOR ", 14))
			r = buf_addstr(&k->extra, s->name + 14);
		break;
	case 'O':
	case 'F':
		r = rs_plan_key_using(sql, s->len, &k->extra);
		break;
	}
	if (r == 0)
		r = buf_addstr(&k->schema, s->schema);
	if (r == 0)
		r = buf_addstr(&k->name, s->name);
	return r;
}

int rs_plan_key_set(struct rs_plan_key *k, char kind, const char *schema,
			  const char *name, const char *extra)
{
	int r;

	buf_reset(&k->schema);
	buf_reset(&k->name);
	buf_reset(&k->extra);
	k->kind = kind;
	r = buf_addstr(&k->schema, schema ? schema : "");
	if (r == 0)
		r = buf_addstr(&k->name, name ? name : "");
	if (r == 0)
		r = buf_addstr(&k->extra, extra ? extra : "");
	return r;
}

void rs_plan_key_release(struct rs_plan_key *k)
{
	buf_release(&k->schema);
	buf_release(&k->name);
	buf_release(&k->extra);
}

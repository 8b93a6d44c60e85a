/*
 * test-pg-ddl-diff: schema objects of two dumps compared: a function
 * changed, an index added, a table dropped, an owner changed, two
 * sections of one identity paired in order, and sequences.sql's setval
 * lines (a name with a quote and a backslash, E'' literals, a line that
 * is no setval).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../tap.h"
#include "pg-ddl-diff.h"

#define HEAD(name, type, schema, owner) \
	"--\n-- Name: " name "; Type: " type "; Schema: " schema "; Owner: " owner "\n--\n\n"

static const char before[] =
	"--\n-- PostgreSQL database dump\n--\n\nSET statement_timeout = 0;\n\n"
	HEAD("f(integer)", "FUNCTION", "public", "postgres")
	"CREATE FUNCTION public.f(x integer) RETURNS integer\n    LANGUAGE sql\n    AS $$ SELECT x $$;\n\n\n"
	HEAD("old", "TABLE", "public", "postgres")
	"CREATE TABLE public.old (id integer);\n\n\n"
	HEAD("todos", "TABLE", "public", "postgres")
	"CREATE TABLE public.todos (id integer);\n\n\n"
	HEAD("TABLE todos", "COMMENT", "public", "postgres")
	"COMMENT ON TABLE public.todos IS 'one';\n\n\n"
	HEAD("TABLE todos", "COMMENT", "public", "postgres")
	"COMMENT ON TABLE public.todos IS 'two';\n\n\n"
	"--\n-- PostgreSQL database dump complete\n--\n\n";

static const char after[] =
	"--\n-- PostgreSQL database dump\n--\n\nSET statement_timeout = 0;\n\n"
	HEAD("f(integer)", "FUNCTION", "public", "postgres")
	"CREATE FUNCTION public.f(x integer) RETURNS integer\n    LANGUAGE sql\n    AS $$ SELECT x + 1 $$;\n\n\n"
	HEAD("todos", "TABLE", "public", "app")
	"CREATE TABLE public.todos (id integer);\n\n\n"
	HEAD("TABLE todos", "COMMENT", "public", "postgres")
	"COMMENT ON TABLE public.todos IS 'one';\n\n\n"
	HEAD("TABLE todos", "COMMENT", "public", "postgres")
	"COMMENT ON TABLE public.todos IS 'three';\n\n\n"
	HEAD("todos_id_idx", "INDEX", "public", "postgres")
	"CREATE INDEX todos_id_idx ON public.todos USING btree (id);\n\n\n"
	"--\n-- PostgreSQL database dump complete\n--\n\n";

struct seen {
	struct buf out;
	int stop_at, n;
};

static int record(void *ctx, const struct pg_ddl_diff_item *it)
{
	struct seen *s = ctx;
	static const char ch[] = "+-~";

	buf_addf(&s->out, "%c %s %s.%s", ch[it->change], it->type, it->schema, it->name);
	if (it->before && it->after && !strcmp(it->type, "SEQUENCE SET"))
		buf_addf(&s->out, " %.*s -> %.*s", (int)it->before_len, it->before,
			 (int)it->after_len, it->after);
	buf_addch(&s->out, '\n');
	return ++s->n == s->stop_at ? -ECANCELED : 0;
}

static void test_sections(void)
{
	struct pg_ddl *a = NULL, *b = NULL;
	struct seen s = { BUF_INIT, 0, 0 };
	const char *want =
		"~ COMMENT public.TABLE todos\n"
		"~ FUNCTION public.f(integer)\n"
		"+ INDEX public.todos_id_idx\n"
		"- TABLE public.old\n"
		"~ TABLE public.todos\n";

	ok(pg_ddl_parse(&a, before, strlen(before), NULL) == 0 &&
	   pg_ddl_parse(&b, after, strlen(after), NULL) == 0, "both parse");
	is_int(pg_ddl_diff(a, b, record, &s), 0, "diff runs");
	if (!ok(!strcmp((char *)s.out.data, want),
		"added, dropped, changed (the second comment, the owner)"))
		diag("got:\n%s", (char *)s.out.data);
	buf_reset(&s.out);
	s.n = 0;
	is_int(pg_ddl_diff(a, a, record, &s), 0, "a dump against itself");
	is_int(s.out.len, 0, "nothing");
	is_int(pg_ddl_diff(NULL, a, record, &s), 0, "against nothing");
	is_int(s.n, 5, "every section added");
	s.n = 0;
	s.stop_at = 2;
	is_int(pg_ddl_diff(a, b, record, &s), -ECANCELED, "a callback's error stops it");
	is_int(s.n, 2, "after two");
	pg_ddl_free(a);
	pg_ddl_free(b);
	buf_release(&s.out);
}

static void test_setvals(void)
{
	static const char sa[] =
		"--\n-- Sequence values at the snapshot (vault)\n--\n\n"
		"SELECT pg_catalog.setval('\"public\".\"todos_id_seq\"', 3, true);\n"
		"SELECT pg_catalog.setval('\"public\".\"gone\"', 1, false);\n"
		"SELECT pg_catalog.setval(E'\"public\".\"o''dd\\\\seq\"', 5, true);\n"
		"SELECT 1;\n";
	static const char sb[] =
		"--\n-- Sequence values at the snapshot (vault)\n--\n\n"
		"SELECT pg_catalog.setval('\"public\".\"todos_id_seq\"', 7, true);\n"
		"SELECT pg_catalog.setval(E'\"public\".\"o''dd\\\\seq\"', 5, true);\n"
		"SELECT pg_catalog.setval('\"x\".\"new\nline\"', 1, false);\n";
	struct seen s = { BUF_INIT, 0, 0 };
	const char *want =
		"- SEQUENCE SET public.gone\n"
		"~ SEQUENCE SET public.todos_id_seq 3, true -> 7, true\n"
		"+ SEQUENCE SET x.new\nline\n";

	is_int(pg_ddl_diff_setvals(sa, strlen(sa), sb, strlen(sb), record, &s), 0, "setvals");
	if (!ok(!strcmp((char *)s.out.data, want), "values compared per sequence"))
		diag("got:\n%s", (char *)s.out.data);
	buf_release(&s.out);
}

int main(void)
{
	test_sections();
	test_setvals();
	return done_testing();
}

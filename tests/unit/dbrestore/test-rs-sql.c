/*
 * test-rs-sql: the statement splitter restore cuts schema.sql, roles.sql
 * and sequences.sql with.  Each case is a piece of text pg_dump writes
 * (or a user's function could hold) and the statements psql would send
 * for it: what a ';' inside parentheses, a SQL-standard function body,
 * a string, a quoted identifier, a dollar quote or a comment must not
 * cut, and what must still end a statement.
 */
#include <stdio.h>
#include <string.h>

#include "../tap.h"
#include "rs-sql.h"

#define MAXSTMT 8

/* The statements of text, each "META:" prefixed when it is one, joined
 * by "|" into out. */
static const char *split(const char *text)
{
	static char out[4096];
	struct rs_sql_stmt st;
	size_t pos = 0, n = 0, len = 0;

	out[0] = 0;
	while (rs_sql_next(text, strlen(text), &pos, &st) && n++ < MAXSTMT) {
		int w = snprintf(out + len, sizeof(out) - len, "%s%s%.*s", len ? "|" : "",
				 st.meta ? "META:" : "", (int)st.len, text + st.off);

		if (w < 0 || (size_t)w >= sizeof(out) - len)
			return "<too long>";
		len += (size_t)w;
	}
	return out;
}

static int splits(const char *text, const char *want, const char *name)
{
	const char *got = split(text);

	if (!ok(!strcmp(got, want), "%s", name)) {
		diag("got:  %s", got);
		diag("want: %s", want);
		return 0;
	}
	return 1;
}

static void test_quoting(void)
{
	splits("SET a = 1;\nSELECT 2;", "SET a = 1;|SELECT 2;", "two plain statements");
	splits("-- a comment; with a semicolon\nSELECT 1;", "SELECT 1;",
	       "a line comment before a statement is skipped, its ';' too");
	splits("/* outer; /* inner; */ still outer; */ SELECT 1;", "SELECT 1;",
	       "nested block comments end at their own */");
	splits("SELECT 1 /* a; */ + 2;", "SELECT 1 /* a; */ + 2;",
	       "a block comment inside a statement keeps its ';'");
	splits("SELECT 'x;y', 'it''s;';", "SELECT 'x;y', 'it''s;';",
	       "a string keeps its ';', doubled quotes too");
	splits("SELECT E'it\\'s; here', e'\\\\';SELECT 2;",
	       "SELECT E'it\\'s; here', e'\\\\';|SELECT 2;",
	       "E'' strings honour backslash escapes");
	splits("SELECT \"a;b\", \"x\"\"y;\";", "SELECT \"a;b\", \"x\"\"y;\";",
	       "a quoted identifier keeps its ';'");
	splits("CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT 1; $$;SELECT 2;",
	       "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT 1; $$;|SELECT 2;",
	       "a dollar-quoted body keeps its ';'");
	splits("CREATE FUNCTION g() RETURNS int AS $body$ BEGIN RETURN 1; END; $x$ $body$"
	       " LANGUAGE plpgsql;SELECT 2;",
	       "CREATE FUNCTION g() RETURNS int AS $body$ BEGIN RETURN 1; END; $x$ $body$"
	       " LANGUAGE plpgsql;|SELECT 2;",
	       "a tagged dollar quote ends only at its own tag");
	splits("SELECT a$b$c FROM t;SELECT 2;", "SELECT a$b$c FROM t;|SELECT 2;",
	       "a$b$c is an identifier, not a dollar quote");
	splits("\\restrict abc\nSELECT 1;", "META:\\restrict abc|SELECT 1;",
	       "a psql meta-command is a statement of its own");
	splits("SELECT 1;\n  tail without semicolon  \n",
	       "SELECT 1;|tail without semicolon", "a trailing piece without ';'");
}

static void test_parentheses(void)
{
	splits("CREATE RULE r AS ON INSERT TO public.t DO ALSO (INSERT INTO public.l VALUES (new.a);"
	       " INSERT INTO public.l VALUES (new.a + 1));\nSELECT 2;",
	       "CREATE RULE r AS ON INSERT TO public.t DO ALSO (INSERT INTO public.l VALUES (new.a);"
	       " INSERT INTO public.l VALUES (new.a + 1));|SELECT 2;",
	       "a rule with several actions in parentheses is one statement");
	splits("CREATE RULE r AS ON DELETE TO public.t DO INSTEAD (DELETE FROM public.l; NOTIFY t);",
	       "CREATE RULE r AS ON DELETE TO public.t DO INSTEAD (DELETE FROM public.l; NOTIFY t);",
	       "DO INSTEAD ( ... ; ... ) too");
	splits("SELECT ')' , (1;SELECT 2;", "SELECT ')' , (1;SELECT 2;",
	       "a ')' inside a string closes nothing (unbalanced to the end, as psql)");
	splits("SELECT 1);SELECT 2;", "SELECT 1);|SELECT 2;",
	       "a stray ')' does not open anything");
}

static void test_atomic(void)
{
	splits("CREATE FUNCTION public.f(x integer) RETURNS integer\n"
	       "    LANGUAGE sql\n    BEGIN ATOMIC\n SELECT (x + 1);\nEND;\nSELECT 2;",
	       "CREATE FUNCTION public.f(x integer) RETURNS integer\n"
	       "    LANGUAGE sql\n    BEGIN ATOMIC\n SELECT (x + 1);\nEND;|SELECT 2;",
	       "BEGIN ATOMIC ... END: one statement");
	splits("CREATE OR REPLACE FUNCTION public.f(x integer) RETURNS integer LANGUAGE sql"
	       " BEGIN ATOMIC SELECT 1; SELECT CASE WHEN x > 0 THEN 1 ELSE CASE x WHEN 0 THEN 0 END END;"
	       " SELECT 'END;', \"end\" FROM public.t; END;SELECT 2;",
	       "CREATE OR REPLACE FUNCTION public.f(x integer) RETURNS integer LANGUAGE sql"
	       " BEGIN ATOMIC SELECT 1; SELECT CASE WHEN x > 0 THEN 1 ELSE CASE x WHEN 0 THEN 0 END END;"
	       " SELECT 'END;', \"end\" FROM public.t; END;|SELECT 2;",
	       "OR REPLACE, nested CASE ... END, 'END;' in a string and \"end\" as a name");
	splits("CREATE PROCEDURE public.p(a integer) LANGUAGE sql BEGIN ATOMIC"
	       " INSERT INTO public.t VALUES (a); INSERT INTO public.t VALUES (a + 1); END;SELECT 2;",
	       "CREATE PROCEDURE public.p(a integer) LANGUAGE sql BEGIN ATOMIC"
	       " INSERT INTO public.t VALUES (a); INSERT INTO public.t VALUES (a + 1); END;|SELECT 2;",
	       "a procedure's BEGIN ATOMIC body");
	splits("create or replace procedure public.p() language sql begin atomic select 1; end;select 2;",
	       "create or replace procedure public.p() language sql begin atomic select 1; end;|select 2;",
	       "keywords in lower case");
	splits("CREATE FUNCTION public.f() RETURNS integer LANGUAGE sql BEGIN ATOMIC END;SELECT 2;",
	       "CREATE FUNCTION public.f() RETURNS integer LANGUAGE sql BEGIN ATOMIC END;|SELECT 2;",
	       "an empty body");
	splits("CREATE FUNCTION public.f() RETURNS integer LANGUAGE sql /* BEGIN ATOMIC */ AS 'SELECT 1';"
	       "SELECT 2;",
	       "CREATE FUNCTION public.f() RETURNS integer LANGUAGE sql /* BEGIN ATOMIC */ AS 'SELECT 1';|"
	       "SELECT 2;", "BEGIN ATOMIC inside a comment opens nothing");
	splits("CREATE FUNCTION public.begin() RETURNS integer LANGUAGE sql AS 'SELECT 1';SELECT 2;",
	       "CREATE FUNCTION public.begin() RETURNS integer LANGUAGE sql AS 'SELECT 1';|SELECT 2;",
	       "a function named begin opens no body");
	splits("CREATE FUNCTION public.f() RETURNS SETOF public.t LANGUAGE sql BEGIN ATOMIC"
	       " SELECT t.begin, t.end AS begin FROM public.t; END;SELECT 2;",
	       "CREATE FUNCTION public.f() RETURNS SETOF public.t LANGUAGE sql BEGIN ATOMIC"
	       " SELECT t.begin, t.end AS begin FROM public.t; END;|SELECT 2;",
	       "keywords after '.' or AS are names");
	splits("BEGIN;\nSELECT 1;\nEND;", "BEGIN;|SELECT 1;|END;",
	       "BEGIN and END outside a routine are statements");
	splits("CREATE TABLE public.t (a integer); CREATE FUNCTION public.f() RETURNS integer"
	       " LANGUAGE sql BEGIN ATOMIC SELECT 1; END; SELECT 2;",
	       "CREATE TABLE public.t (a integer);|CREATE FUNCTION public.f() RETURNS integer"
	       " LANGUAGE sql BEGIN ATOMIC SELECT 1; END;|SELECT 2;",
	       "each statement is judged from its own first words");
	splits("SELECT CASE WHEN true THEN 1 END; SELECT 2;",
	       "SELECT CASE WHEN true THEN 1 END;|SELECT 2;",
	       "CASE ... END outside a body counts for nothing");
}

static void test_role_database(void)
{
	static const char a[] = "ALTER ROLE \"Bob\" IN DATABASE \"src db\" SET work_mem TO '8MB';";
	static const char b[] = "ALTER ROLE bob SET work_mem TO '8MB';";
	static const char c[] = "alter user bob in database src set search_path to public;";
	struct rs_sql_tok t;

	ok(rs_sql_role_database(a, strlen(a), &t) && t.len == 8 && !memcmp(t.p, "\"src db\"", 8),
	   "ALTER ROLE ... IN DATABASE: the database's token");
	ok(!rs_sql_role_database(b, strlen(b), &t), "a setting for every database is none");
	ok(rs_sql_role_database(c, strlen(c), &t) && t.len == 3 && !memcmp(t.p, "src", 3),
	   "ALTER USER, lower case");
}

int main(void)
{
	test_quoting();
	test_parentheses();
	test_atomic();
	test_role_database();
	return done_testing();
}

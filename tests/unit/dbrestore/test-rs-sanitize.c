/*
 * test-rs-sanitize: the statement rules restore applies on managed
 * (Supabase) targets, over pg_dump-shaped text, and the statement
 * splitter under them.
 */
#include <string.h>

#include "../tap.h"
#include "pg-ddl.h"
#include "rs-sanitize.h"
#include "rs-sql.h"

static const char *const managed_schemas[] = { "auth", "storage", NULL };

static struct rs_sanitize_opts managed_opts = {
	.managed = 1,
	.current_role = "postgres",
	.managed_schemas = managed_schemas,
};

/* The reason for one statement ("" when it runs). */
static const char *why(const struct rs_sanitize_opts *o, const char *sql)
{
	static struct buf b = BUF_INIT;

	buf_reset(&b);
	if (rs_sanitize_stmt(o, sql, strlen(sql), sql[0] == '\\', &b) < 0)
		return "<error>";
	return (const char *)b.data;
}

static int skipped(const struct rs_sanitize_opts *o, const char *sql,
		   const char *needle)
{
	const char *w = why(o, sql);

	if (!*w || !strstr(w, needle)) {
		diag("%s -> \"%s\" (wanted \"%s\")", sql, w, needle);
		return 0;
	}
	return 1;
}

static int kept(const struct rs_sanitize_opts *o, const char *sql)
{
	const char *w = why(o, sql);

	if (*w)
		diag("%s -> skipped: %s", sql, w);
	return !*w;
}

static void test_splitter(void)
{
	static const char text[] =
		"SET a = 1;\n"
		"-- a comment; with a semicolon\n"
		"CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT 1; $$;\n"
		"/* block; /* nested; */ still */ SELECT 'x;y', E'it\\'s;', \"a;b\";\n"
		"\\restrict abc\n"
		"CREATE FUNCTION g() RETURNS int AS $body$ BEGIN RETURN 1; END $body$ LANGUAGE plpgsql;\n"
		"SELECT a$b$c FROM t;\n"
		"  tail without semicolon  \n";
	struct rs_sql_stmt st;
	size_t pos = 0, n = 0;
	char got[8][128];

	while (rs_sql_next(text, strlen(text), &pos, &st) && n < 8) {
		snprintf(got[n], sizeof(got[n]), "%s%.*s", st.meta ? "META:" : "",
			 (int)st.len, text + st.off);
		n++;
	}
	is_int(n, 7, "seven statements");
	ok(!strcmp(got[0], "SET a = 1;"), "plain statement");
	ok(!strcmp(got[1], "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT 1; $$;"),
	   "dollar-quoted body keeps its ';'");
	ok(!strcmp(got[2], "SELECT 'x;y', E'it\\'s;', \"a;b\";"),
	   "nested comment skipped, strings and identifiers keep ';'");
	ok(!strcmp(got[3], "META:\\restrict abc"), "psql meta-command is its own statement");
	ok(strstr(got[4], "END $body$ LANGUAGE plpgsql;") != NULL, "tagged dollar quote");
	ok(!strcmp(got[5], "SELECT a$b$c FROM t;"), "a$b$c is an identifier, not a quote");
	ok(!strcmp(got[6], "tail without semicolon"), "trailing piece without ';'");
}

static void test_tokens(void)
{
	static const char sql[] = "ALTER TABLE ONLY \"Sales & Ops\".\"Or\"\"ders\" OWNER TO Foo;";
	struct rs_sql_lex x;
	struct rs_sql_tok t;
	struct buf s = BUF_INIT, n = BUF_INIT;

	rs_sql_lex_init(&x, sql, strlen(sql));
	rs_sql_lex_next(&x, &t);
	ok(rs_sql_is(&t, "ALTER") && rs_sql_is(&t, "alter"), "keyword, any case");
	rs_sql_lex_next(&x, &t);
	rs_sql_lex_next(&x, &t);
	rs_sql_lex_next(&x, &t);
	ok(rs_sql_qname(&x, &t, &s, &n) == 0 && !strcmp((char *)s.data, "Sales & Ops") &&
	   !strcmp((char *)n.data, "Or\"ders"), "quoted qualified name undone");
	ok(rs_sql_is(&t, "OWNER"), "lexer continues after the name");
	rs_sql_lex_next(&x, &t);
	rs_sql_lex_next(&x, &t);
	buf_reset(&n);
	ok(rs_sql_ident(&t, &n) == 0 && !strcmp((char *)n.data, "foo"),
	   "unquoted identifier folded to lower case");
	buf_release(&s);
	buf_release(&n);
}

static void test_rules(void)
{
	struct rs_sanitize_opts plain = { 0 };
	const struct rs_sanitize_opts *o = &managed_opts;

	/* nothing is filtered on a plain target but meta-commands */
	ok(kept(&plain, "ALTER TABLE public.t OWNER TO supabase_admin;"),
	   "plain target: ownership change kept");
	ok(kept(&plain, "CREATE EVENT TRIGGER e ON ddl_command_end EXECUTE FUNCTION f();"),
	   "plain target: event trigger kept");
	ok(skipped(&plain, "\\restrict xyz", "meta-command"),
	   "plain target: psql meta-command skipped");

	/* ownership */
	ok(skipped(o, "ALTER TABLE public.t OWNER TO supabase_admin;", "supabase_admin"),
	   "OWNER TO supabase_admin skipped");
	ok(skipped(o, "ALTER FUNCTION public.f(integer) OWNER TO \"supabase_admin\";",
		   "ownership change"), "OWNER TO quoted reserved role skipped");
	ok(skipped(o, "ALTER SCHEMA s OWNER TO supabase_storage_admin;", "supabase_storage_admin"),
	   "OWNER TO supabase_* skipped");
	ok(kept(o, "ALTER TABLE public.t OWNER TO postgres;"),
	   "OWNER TO the restoring role kept");
	ok(kept(o, "ALTER TABLE public.t OWNER TO app_owner;"),
	   "OWNER TO a project role kept");
	ok(kept(o, "ALTER TABLE ONLY public.t ADD CONSTRAINT owner_check CHECK (owner <> 'x');"),
	   "a column named owner is not an OWNER TO");

	/* grants */
	ok(kept(o, "GRANT SELECT ON TABLE public.profiles TO anon;"),
	   "grant to anon kept (API role)");
	ok(kept(o, "GRANT ALL ON TABLE public.profiles TO service_role;"),
	   "grant to service_role kept");
	ok(kept(o, "REVOKE ALL ON TABLE public.profiles FROM authenticated;"),
	   "revoke from authenticated kept");
	ok(skipped(o, "GRANT ALL ON TABLE public.t TO supabase_admin;", "grants privileges to reserved role supabase_admin"),
	   "grant to supabase_admin skipped");
	ok(skipped(o, "GRANT SELECT(id) ON TABLE auth.users TO dashboard_user;", "dashboard_user"),
	   "column grant to dashboard_user skipped");
	ok(skipped(o, "REVOKE ALL ON SCHEMA public FROM supabase_admin;", "revokes privileges from"),
	   "revoke from supabase_admin skipped");
	ok(skipped(o, "GRANT USAGE ON SCHEMA public TO app GRANTED BY supabase_admin;", "granted by"),
	   "GRANTED BY a reserved role skipped");
	ok(kept(o, "GRANT USAGE ON SCHEMA public TO app, \"Report Bot\";"),
	   "grant to project roles kept");
	ok(skipped(o, "GRANT anon TO authenticator;", "membership"),
	   "membership between reserved roles skipped");
	ok(skipped(o, "GRANT app_reader TO supabase_admin;", "supabase_admin"),
	   "membership of a reserved member skipped");
	ok(kept(o, "GRANT app_reader TO \"Report Bot\" WITH ADMIN OPTION GRANTED BY postgres;"),
	   "membership between project roles kept");
	ok(skipped(o, "REVOKE ADMIN OPTION FOR service_role FROM app;", "service_role"),
	   "REVOKE ADMIN OPTION FOR a reserved role skipped");

	/* roles */
	ok(skipped(o, "CREATE ROLE supabase_admin;", "reserved role supabase_admin"),
	   "CREATE ROLE reserved skipped");
	ok(skipped(o, "ALTER ROLE authenticator WITH LOGIN NOINHERIT;", "authenticator"),
	   "ALTER ROLE reserved skipped");
	ok(skipped(o, "ALTER ROLE authenticator SET statement_timeout TO '8s';", "authenticator"),
	   "role setting of a reserved role skipped");
	ok(skipped(o, "COMMENT ON ROLE anon IS 'x';", "anon"), "COMMENT ON ROLE reserved skipped");
	ok(kept(o, "CREATE ROLE app_reader;"), "CREATE ROLE of a project role kept");
	ok(kept(o, "ALTER ROLE postgres SET search_path TO 'public';"),
	   "ALTER ROLE of the restoring role itself kept");

	/* event triggers, default privileges, extensions */
	ok(skipped(o, "CREATE EVENT TRIGGER issue_graphql ON ddl_command_end EXECUTE FUNCTION extensions.grant_pg_graphql_access();",
		   "superuser"), "CREATE EVENT TRIGGER skipped");
	ok(skipped(o, "ALTER EVENT TRIGGER issue_graphql OWNER TO postgres;", "superuser"),
	   "ALTER EVENT TRIGGER skipped");
	ok(skipped(o, "COMMENT ON EVENT TRIGGER e IS 'x';", "superuser"),
	   "COMMENT ON EVENT TRIGGER skipped");
	ok(skipped(o, "ALTER DEFAULT PRIVILEGES FOR ROLE supabase_admin IN SCHEMA public GRANT ALL ON TABLES TO postgres;",
		   "default privileges of reserved role supabase_admin"),
	   "ALTER DEFAULT PRIVILEGES FOR ROLE supabase_admin skipped");
	ok(kept(o, "ALTER DEFAULT PRIVILEGES FOR ROLE postgres IN SCHEMA public GRANT ALL ON TABLES TO anon;"),
	   "default privileges of the restoring role kept");
	ok(kept(o, "ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO app;"),
	   "default privileges without FOR ROLE kept");
	ok(skipped(o, "COMMENT ON EXTENSION pgcrypto IS 'cryptographic functions';", "extension"),
	   "COMMENT ON EXTENSION skipped");
	ok(kept(o, "CREATE EXTENSION IF NOT EXISTS pgcrypto WITH SCHEMA extensions;"),
	   "CREATE EXTENSION kept");
	ok(kept(o, "COMMENT ON TABLE public.t IS 'OWNER TO supabase_admin';"),
	   "text inside a string is not a statement");
	ok(kept(o, "CREATE FUNCTION public.f() RETURNS void LANGUAGE sql AS $$ ALTER TABLE x OWNER TO supabase_admin $$;"),
	   "a function body is not an ALTER");

	/* large_objects.sql, and pg_dump's grants by another grantor */
	ok(skipped(o, "ALTER LARGE OBJECT 4242 OWNER TO supabase_admin;", "ownership change"),
	   "a large object's owner change to supabase_admin skipped");
	ok(kept(o, "GRANT SELECT ON LARGE OBJECT 4242 TO anon;"), "a large object's grant to anon kept");
	ok(skipped(o, "SET SESSION AUTHORIZATION app_owner;", "superuser"),
	   "SET SESSION AUTHORIZATION skipped on a managed target");
	ok(kept(o, "RESET SESSION AUTHORIZATION;"), "its RESET kept (harmless)");
	ok(kept(o, "SET search_path = public;"), "another SET kept");
	ok(kept(&plain, "SET SESSION AUTHORIZATION app_owner;"),
	   "plain target: SET SESSION AUTHORIZATION kept");
}

/* A dump as pg_dump writes it, with sections of every kind. */
static const char dump[] =
	"--\n-- PostgreSQL database dump\n--\n\n"
	"\\restrict AbC\n\n"
	"SET statement_timeout = 0;\n"
	"SELECT pg_catalog.set_config('search_path', '', false);\n\n"
	"--\n-- Name: auth; Type: SCHEMA; Schema: -; Owner: supabase_admin\n--\n\n"
	"CREATE SCHEMA auth;\n\n\n"
	"ALTER SCHEMA auth OWNER TO supabase_admin;\n\n"
	"--\n-- Name: pgcrypto; Type: EXTENSION; Schema: -; Owner: -\n--\n\n"
	"CREATE EXTENSION IF NOT EXISTS pgcrypto WITH SCHEMA extensions;\n\n\n"
	"--\n-- Name: EXTENSION pgcrypto; Type: COMMENT; Schema: -; Owner: \n--\n\n"
	"COMMENT ON EXTENSION pgcrypto IS 'cryptographic functions';\n\n\n"
	"--\n-- Name: users; Type: TABLE; Schema: auth; Owner: supabase_auth_admin\n--\n\n"
	"CREATE TABLE auth.users (\n    id uuid NOT NULL\n);\n\n\n"
	"ALTER TABLE auth.users OWNER TO supabase_auth_admin;\n\n"
	"--\n-- Name: todos; Type: TABLE; Schema: public; Owner: postgres\n--\n\n"
	"CREATE TABLE public.todos (\n    id bigint NOT NULL,\n    note text DEFAULT 'a;b'\n);\n\n\n"
	"ALTER TABLE public.todos OWNER TO supabase_admin;\n\n"
	"--\n-- Name: issue_graphql; Type: EVENT TRIGGER; Schema: -; Owner: supabase_admin\n--\n\n"
	"CREATE EVENT TRIGGER issue_graphql ON ddl_command_end\n   EXECUTE FUNCTION extensions.grant_pg_graphql_access();\n\n\n"
	"ALTER EVENT TRIGGER issue_graphql OWNER TO supabase_admin;\n\n"
	"--\n-- Name: SCHEMA auth; Type: ACL; Schema: -; Owner: supabase_admin\n--\n\n"
	"GRANT USAGE ON SCHEMA auth TO anon;\n\n\n"
	"--\n-- Name: TABLE todos; Type: ACL; Schema: public; Owner: postgres\n--\n\n"
	"GRANT SELECT ON TABLE public.todos TO anon;\n"
	"GRANT ALL ON TABLE public.todos TO supabase_admin;\n\n\n"
	"--\n-- Name: DEFAULT PRIVILEGES FOR TABLES; Type: DEFAULT ACL; Schema: public; Owner: supabase_admin\n--\n\n"
	"ALTER DEFAULT PRIVILEGES FOR ROLE supabase_admin IN SCHEMA public GRANT ALL ON TABLES TO postgres;\n\n\n"
	"--\n-- PostgreSQL database dump complete\n--\n\n"
	"\\unrestrict AbC\n\n";

/* Privileges on catalog objects: a superuser restores them (they are
 * part of the database pg_dump wrote), any other role cannot. */
static void test_catalog_acl(void)
{
	struct rs_sanitize_opts su = { 0 }, nosu = { .no_superuser = 1 };

	ok(kept(&su, "GRANT SELECT(prosrc) ON TABLE pg_catalog.pg_proc TO r;"),
	   "superuser: a column grant on pg_catalog.pg_proc runs");
	ok(skipped(&nosu, "GRANT SELECT(prosrc) ON TABLE pg_catalog.pg_proc TO r;",
		   "catalog's pg_catalog.pg_proc: only a superuser"),
	   "not a superuser: the column grant on a catalog is skipped, with its reason");
	ok(skipped(&nosu, "REVOKE ALL ON FUNCTION pg_catalog.pg_ls_dir(text) FROM PUBLIC;",
		   "pg_catalog.pg_ls_dir"), "a catalog function's revoke too");
	ok(skipped(&nosu, "GRANT SELECT ON TABLE information_schema.sql_features TO r;",
		   "information_schema.sql_features"), "information_schema too");
	ok(skipped(&nosu, "GRANT USAGE ON SCHEMA pg_catalog TO r;", "schema pg_catalog"),
	   "the catalog schema itself");
	ok(kept(&nosu, "GRANT SELECT ON TABLE public.pg_proc TO r;") &&
	   kept(&nosu, "GRANT ALL ON FUNCTION public.f(x pg_catalog.int4) TO r;") &&
	   kept(&nosu, "GRANT app_reader TO pg_catalog_fan;"),
	   "not a superuser: grants on the application's objects run");
}

static void test_dump(void)
{
	struct pg_ddl *d = NULL;
	struct rs_sanitized *s = NULL;
	struct buf err = BUF_INIT;
	size_t runs = 0, skips = 0, meta = 0, first, n;
	int managed_auth = 0, ext_comment = 0, evt = 0, owner = 0, grant_admin = 0;
	int defacl = 0, kept_grant = 0, kept_create = 0, trailer = 0;

	ok(pg_ddl_parse(&d, dump, strlen(dump), &err) == 0, "dump parses");
	ok(rs_sanitize(&s, d, &managed_opts) == 0, "sanitize the dump");
	if (!s) {
		pg_ddl_free(d);
		return;
	}
	for (size_t i = 0; i < rs_sanitized_count(s); i++) {
		const struct rs_sanitized_stmt *st = rs_sanitized_get(s, i);
		const char *sql = pg_ddl_text(d) + st->off;

		if (!st->skip) {
			runs++;
			if (!strncmp(sql, "GRANT SELECT ON TABLE public.todos TO anon;", st->len))
				kept_grant = 1;
			if (!strncmp(sql, "CREATE TABLE public.todos", 25) &&
			    !strncmp(sql + st->len - 2, ");", 2) &&
			    memmem(sql, st->len, "'a;b'", 5))
				kept_create = 1;
			continue;
		}
		skips++;
		if (strstr(st->skip, "meta-command"))
			meta++;
		if (st->section == RS_SANITIZE_TRAILER)
			trailer++;
		if (strstr(st->skip, "schema auth is managed"))
			managed_auth++;
		if (strstr(st->skip, "extension"))
			ext_comment++;
		if (strstr(st->skip, "event triggers"))
			evt++;
		if (strstr(st->skip, "ownership change to reserved role supabase_admin"))
			owner++;
		if (strstr(st->skip, "grants privileges to reserved role supabase_admin"))
			grant_admin++;
		if (strstr(st->skip, "default privileges"))
			defacl++;
	}
	is_int(meta, 2, "\\restrict and \\unrestrict skipped");
	is_int(trailer, 1, "\\unrestrict is after the last section");
	is_int(managed_auth, 5, "the auth schema, its table and its ACL: 5 statements skipped");
	is_int(ext_comment, 1, "COMMENT ON EXTENSION skipped");
	is_int(evt, 2, "event trigger and its owner change skipped");
	is_int(owner, 1, "public.todos OWNER TO supabase_admin skipped");
	is_int(grant_admin, 1, "grant to supabase_admin skipped");
	is_int(defacl, 1, "default privileges for supabase_admin skipped");
	ok(kept_grant, "grant to anon kept");
	ok(kept_create, "CREATE TABLE with ';' in a default kept whole");
	is_int(runs, 5, "SET, set_config, CREATE EXTENSION, CREATE TABLE, GRANT to anon run");
	is_int(rs_sanitized_nskipped(s), skips, "nskipped counts every skipped statement");
	rs_sanitized_section(s, 4, &first, &n);	/* TABLE todos */
	is_int(n, 2, "section todos holds its two statements");
	ok(n == 2 && rs_sanitized_get(s, first)->section == 4 &&
	   !rs_sanitized_get(s, first)->skip && rs_sanitized_get(s, first + 1)->skip,
	   "statements map to their section");
	rs_sanitized_free(s);

	/* the same dump on a plain target: only the meta-commands go */
	{
		struct rs_sanitize_opts plain = { 0 };

		ok(rs_sanitize(&s, d, &plain) == 0 && rs_sanitized_nskipped(s) == 2,
		   "plain target: only the two meta-commands skipped");
		rs_sanitized_free(s);
	}
	pg_ddl_free(d);
	buf_release(&err);
}

int main(void)
{
	test_splitter();
	test_tokens();
	test_catalog_acl();
	test_rules();
	test_dump();
	return done_testing();
}

/*
 * test-rs-refs: what a dump's statement needs to exist, read from its
 * text the way pg_dump writes it.  Each case lists the references as
 * "kind:schema.name" (extra in parentheses for a routine with exactly
 * those arguments), in the order they are met; a name inside an
 * expression (t.c, EXTRACT(... FROM t.c), IS DISTINCT FROM) is none.
 */
#include <stdio.h>
#include <string.h>

#include "../tap.h"
#include "rs-refs.h"

static int collect(void *arg, const struct rs_refs_ref *r)
{
	char *out = arg;
	size_t len = strlen(out);

	snprintf(out + len, 4096 - len, "%s%c:%s%s%s%s%s%s", len ? " " : "", r->kind,
		 r->schema, *r->schema ? "." : "", r->name,
		 r->kind == RS_REFS_ROUTINE ? "(" : "", r->extra,
		 r->kind == RS_REFS_ROUTINE ? ")" : "");
	return 0;
}

static int refs(const char *sql, const char *want, const char *name)
{
	static char got[4096];

	got[0] = 0;
	if (rs_refs_stmt(sql, strlen(sql), collect, got) < 0)
		snprintf(got, sizeof(got), "<error>");
	if (!ok(!strcmp(got, want), "%s", name)) {
		diag("got:  %s", got);
		diag("want: %s", want);
		return 0;
	}
	return 1;
}

static void test_tables(void)
{
	refs("ALTER TABLE ONLY public.order_items\n    ADD CONSTRAINT order_items_order_id_fkey"
	     " FOREIGN KEY (order_id) REFERENCES public.orders(id);",
	     "r:public.order_items r:public.orders", "a foreign key: its table and the one it references");
	refs("CREATE TABLE public.t (\n    id integer NOT NULL,\n    m public.mood DEFAULT 'ok'::public.mood,\n"
	     "    tags public.tag[],\n    c text COLLATE public.\"nocase\",\n    n numeric(10,2),\n"
	     "    CONSTRAINT c_check CHECK ((n > (0)::numeric))\n);",
	     "t:public.mood t:public.tag l:public.nocase", "column types and a collation");
	refs("CREATE TABLE public.child (\n    extra text\n)\nINHERITS (public.parent, \"Other\".\"Base\");",
	     "r:public.parent r:Other.Base", "inheritance parents");
	refs("CREATE TABLE public.p1 PARTITION OF public.p\nFOR VALUES FROM (0) TO (100);",
	     "r:public.p", "a partition's parent");
	refs("ALTER TABLE ONLY public.p ATTACH PARTITION public.p1 FOR VALUES FROM (0) TO (100);",
	     "r:public.p r:public.p1", "ATTACH PARTITION");
	refs("CREATE TABLE public.typed OF public.ct (\n    a WITH OPTIONS NOT NULL\n);",
	     "t:public.ct", "a typed table");
	refs("CREATE FOREIGN TABLE public.ft (\n    a integer\n)\nSERVER remote\nOPTIONS (table_name 'x');",
	     "s:remote", "a foreign table's server");
	refs("ALTER TABLE ONLY public.t ALTER COLUMN id SET DEFAULT nextval('public.t_id_seq'::regclass);",
	     "r:public.t r:public.t_id_seq", "a sequence named in a default");
	refs("ALTER TABLE public.t OWNER TO app_owner;", "r:public.t R:app_owner", "the owner");
	refs("CREATE UNLOGGED TABLE public.u (\n    a integer\n);", "", "built-in types need nothing");
}

static void test_types_routines(void)
{
	refs("CREATE TYPE public.pair AS (\n\ta public.mood,\n\tb integer\n);", "t:public.mood",
	     "a composite type's attributes");
	refs("CREATE TYPE public.r AS RANGE (\n    subtype = public.myint,\n    subtype_diff = public.d\n);",
	     "t:public.myint g:public.d", "a range's subtype and its function");
	refs("CREATE DOMAIN public.d AS public.base COLLATE public.c\n\tCONSTRAINT d_check CHECK ((VALUE > 0));",
	     "t:public.base l:public.c", "a domain's base type and collation");
	refs("CREATE FUNCTION public.f(x public.ct, OUT y public.mood, z integer DEFAULT public.g())"
	     " RETURNS SETOF public.res\n    LANGUAGE plperl\n    AS $$ return; $$;",
	     "t:public.ct t:public.mood t:public.res L:plperl",
	     "argument and result types, the language; not a default's call");
	refs("CREATE FUNCTION public.f() RETURNS TABLE(a public.ct, b integer)\n    LANGUAGE sql\n"
	     "    AS $$ SELECT * FROM public.nothere $$;",
	     "t:public.ct L:sql", "RETURNS TABLE's columns; nothing inside a quoted body");
	refs("CREATE FUNCTION public.f(x integer) RETURNS integer\n    LANGUAGE sql\n    BEGIN ATOMIC\n"
	     " SELECT (t.a + x) FROM public.t WHERE (t.b IS DISTINCT FROM x);\n"
	     " INSERT INTO public.log (a) VALUES (x);\nEND;",
	     "L:sql r:public.t r:public.log", "a BEGIN ATOMIC body's relations");
	refs("CREATE AGGREGATE public.agg(public.ct ORDER BY integer) (\n    SFUNC = public.acc,\n"
	     "    STYPE = public.state,\n    FINALFUNC = public.fin\n);",
	     "t:public.ct g:public.acc t:public.state g:public.fin", "an aggregate's types and functions");
	refs("CREATE AGGREGATE public.cnt(*) (\n    SFUNC = int8inc,\n    STYPE = bigint\n);", "",
	     "an aggregate of built-ins needs nothing");
	refs("CREATE OPERATOR public.=== (\n    FUNCTION = public.eq,\n    LEFTARG = public.ct,\n"
	     "    RIGHTARG = integer\n);", "g:public.eq t:public.ct", "an operator's function and operand");
	refs("CREATE TRIGGER t BEFORE INSERT ON public.tt FOR EACH ROW"
	     " WHEN ((old.* IS DISTINCT FROM new.*)) EXECUTE FUNCTION public.trg('a');",
	     "f:public.trg()", "a trigger's function, declared without arguments");
	refs("CREATE CONSTRAINT TRIGGER c AFTER INSERT ON public.a FROM public.b"
	     " NOT DEFERRABLE INITIALLY IMMEDIATE FOR EACH ROW EXECUTE FUNCTION public.chk();",
	     "f:public.chk() r:public.b", "a constraint trigger's other table");
	refs("CREATE EVENT TRIGGER e ON ddl_command_end\n   EXECUTE FUNCTION public.on_ddl();",
	     "f:public.on_ddl()", "an event trigger's function");
}

static void test_calls(void)
{
	refs("ALTER TABLE ONLY public.t ALTER COLUMN id SET DEFAULT extensions.uuid_generate_v4();",
	     "r:public.t g:extensions.uuid_generate_v4", "a default's call (an extension's function)");
	refs("ALTER TABLE public.t\n    ADD CONSTRAINT t_check CHECK (public.valid(a, (b)::text)) NOT VALID;",
	     "r:public.t g:public.valid", "a check constraint's call");
	refs("ALTER TABLE ONLY public.items\n    ADD CONSTRAINT fk FOREIGN KEY (o) REFERENCES public.orders(id);",
	     "r:public.items r:public.orders", "REFERENCES t(col) is no call");
	refs("CREATE TABLE public.t (\n    a integer DEFAULT public.next_a() NOT NULL,\n"
	     "    b text GENERATED ALWAYS AS (public.norm(c)) STORED,\n    c text,\n"
	     "    CONSTRAINT c_ok CHECK (public.ok(c))\n);",
	     "g:public.next_a g:public.norm g:public.ok", "calls in columns: default, generated, check");
	refs("CREATE INDEX t_lower ON public.t USING btree (public.fold(a) public.myops) WHERE public.live(b);",
	     "g:public.fold g:public.live", "an index's expression and predicate; not its operator class");
	refs("CREATE POLICY p ON public.t USING (public.can_read(owner)) WITH CHECK (public.can_write(owner));",
	     "g:public.can_read g:public.can_write", "a policy's calls");
	refs("CREATE DOMAIN public.pos AS integer DEFAULT public.one()\n\tCONSTRAINT pos_check CHECK (public.gt0(VALUE));",
	     "g:public.one g:public.gt0", "a domain's default and check");
	refs("CREATE VIEW public.v AS\n SELECT public.fmt(t.a) AS a, t.b\n   FROM public.t;",
	     "g:public.fmt r:public.t", "a view's select list calls");
}

static void test_queries(void)
{
	refs("CREATE VIEW public.v AS\n SELECT o.id,\n    EXTRACT(year FROM o.at) AS y,\n"
	     "    (SELECT max(i.n) FROM public.items i WHERE (i.o = o.id)) AS m\n"
	     "   FROM ((public.orders o\n     JOIN public.customers c ON ((c.id = o.c)))\n"
	     "     LEFT JOIN LATERAL public.f(o.id) f(x) ON (true)),\n    \"Sales\".\"Lines\" l\n"
	     "  WHERE (o.a IS NOT DISTINCT FROM l.a);",
	     "r:public.items r:public.orders r:public.customers g:public.f r:Sales.Lines",
	     "a view: FROM and JOIN items, subqueries, a join tree; not EXTRACT's FROM");
	refs("CREATE MATERIALIZED VIEW public.mv AS\n SELECT substring(t.s FROM 2 FOR 3) AS s\n"
	     "   FROM ONLY public.t\n  WITH NO DATA;", "r:public.t", "ONLY, and substring's FROM");
	refs("CREATE RULE r AS\n    ON INSERT TO public.t DO ALSO (INSERT INTO public.l (a)\n"
	     "  VALUES (new.a); UPDATE public.c SET n = (c.n + 1); DELETE FROM public.d WHERE (d.a = new.a));",
	     "r:public.l r:public.c r:public.d", "a rule's actions");
	refs("CREATE VIEW public.v AS\n WITH RECURSIVE x(n) AS (\n         SELECT 1\n"
	     "        UNION ALL\n         SELECT (x_1.n + 1) FROM x x_1\n        )\n SELECT x.n FROM x;",
	     "", "a recursive CTE's own name is no relation");
}

static void test_roles(void)
{
	refs("GRANT SELECT,INSERT ON TABLE public.t TO app_reader WITH GRANT OPTION;",
	     "R:app_reader", "a grant's grantee");
	refs("GRANT ALL ON FUNCTION public.f(a integer, b text) TO PUBLIC;", "",
	     "PUBLIC is no role to look up; the signature is no role list");
	refs("REVOKE ALL ON SCHEMA public FROM PUBLIC;\n", "", "revoke from PUBLIC");
	refs("GRANT SELECT ON TABLE public.t TO \"Mixed\", GROUP g GRANTED BY boss;",
	     "R:Mixed R:g R:boss", "several grantees and the grantor");
	refs("REVOKE GRANT OPTION FOR SELECT ON TABLE public.t FROM r1 CASCADE;", "R:r1",
	     "revoke of a grant option");
	refs("GRANT app_reader TO bob;", "", "a membership is roles.sql's, not schema.sql's");
	refs("ALTER DEFAULT PRIVILEGES FOR ROLE owner1 IN SCHEMA app, \"Other\" GRANT SELECT ON TABLES TO app_reader;",
	     "R:owner1 n:app n:Other R:app_reader", "default privileges: role, schemas, grantee");
	refs("CREATE POLICY p ON public.t AS RESTRICTIVE FOR SELECT TO authenticated, app_reader"
	     " USING ((owner = CURRENT_USER));", "R:authenticated R:app_reader", "a policy's roles");
	refs("ALTER SCHEMA public OWNER TO CURRENT_USER;", "", "CURRENT_USER is no role to look up");
	refs("CREATE USER MAPPING FOR bob SERVER remote OPTIONS (user 'x');", "R:bob s:remote",
	     "a user mapping");
	refs("CREATE SERVER remote FOREIGN DATA WRAPPER postgres_fdw OPTIONS (host 'h');",
	     "w:postgres_fdw", "a server's wrapper");
	refs("CREATE EXTENSION IF NOT EXISTS citext WITH SCHEMA extensions;", "n:extensions",
	     "the schema an extension goes into");
	refs("ALTER PUBLICATION supabase_realtime ADD TABLE ONLY public.todos;",
	     "p:supabase_realtime r:public.todos", "a publication's table");
	refs("ALTER PUBLICATION p ADD TABLES IN SCHEMA app;", "p:p n:app",
	     "a publication's schema");
	refs("ALTER PUBLICATION p ADD TABLE ONLY public.t (a, b) WHERE ((a > 0));", "p:p r:public.t",
	     "a column list and a row filter name nothing more");
	refs("COMMENT ON TABLE public.t IS 'see ''public.x''::regclass';", "",
	     "a comment needs nothing");
}

int main(void)
{
	test_tables();
	test_types_routines();
	test_calls();
	test_queries();
	test_roles();
	return done_testing();
}

/*
 * test-pg-ddl: the pg_dump schema splitter on a hand-written dump in
 * pg_dump 15's format, with the traps a real database sets: names with
 * spaces that make headers ambiguous, a function body that contains a
 * fake section header, serial and identity sequences, partitions with
 * attached indexes, column grants and comments on triggers.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../tap.h"
#include "pg-ddl.h"

static const char dump[] =
	"--\n"
	"-- PostgreSQL database dump\n"
	"--\n"
	"\n"
	"\\restrict abc123\n"
	"\n"
	"-- Dumped from database version 15.20\n"
	"\n"
	"SET statement_timeout = 0;\n"
	"SET client_encoding = 'UTF8';\n"
	"SELECT pg_catalog.set_config('search_path', '', false);\n"
	"SET row_security = off;\n"
	"\n"
	"--\n"
	"-- Name: Sales & Ops; Type: SCHEMA; Schema: -; Owner: postgres\n"
	"--\n"
	"\n"
	"CREATE SCHEMA \"Sales & Ops\";\n"
	"\n"
	"\n"
	"--\n"
	"-- Name: f(); Type: FUNCTION; Schema: public; Owner: postgres\n"
	"--\n"
	"\n"
	"CREATE FUNCTION public.f() RETURNS text\n"
	"    LANGUAGE sql\n"
	"    AS $_$\n"
	"--\n"
	"-- Name: fake; Type: TABLE; Schema: public; Owner: postgres\n"
	"--\n"
	"SELECT 'it''s $x$ -- not a comment'::text $_$;\n"
	"\n"
	"\n"
	"SET default_tablespace = '';\n"
	"\n"
	"SET default_table_access_method = heap;\n"
	"\n"
	"--\n"
	"-- Name: a; Type: TABLE; Schema: public; Owner: postgres\n"
	"--\n"
	"\n"
	"CREATE TABLE public.a (\n"
	"    id integer NOT NULL,\n"
	"    \"b c\" text\n"
	");\n"
	"\n"
	"\n"
	"ALTER TABLE public.a OWNER TO postgres;\n"
	"\n"
	"--\n"
	"-- Name: a b; Type: TABLE; Schema: public; Owner: postgres\n"
	"--\n"
	"\n"
	"CREATE TABLE public.\"a b\" (\n"
	"    n integer NOT NULL,\n"
	"    c integer NOT NULL\n"
	");\n"
	"\n"
	"--\n"
	"-- Name: a b_n_seq; Type: SEQUENCE; Schema: public; Owner: postgres\n"
	"--\n"
	"\n"
	"CREATE SEQUENCE public.\"a b_n_seq\"\n"
	"    AS integer\n"
	"    CACHE 1;\n"
	"\n"
	"\n"
	"ALTER TABLE public.\"a b_n_seq\" OWNER TO postgres;\n"
	"\n"
	"--\n"
	"-- Name: a b_n_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: postgres\n"
	"--\n"
	"\n"
	"ALTER SEQUENCE public.\"a b_n_seq\" OWNED BY public.\"a b\".n;\n"
	"\n"
	"--\n"
	"-- Name: a id; Type: SEQUENCE; Schema: public; Owner: postgres\n"
	"--\n"
	"\n"
	"ALTER TABLE public.a ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (\n"
	"    SEQUENCE NAME public.a_id_seq\n"
	"    CACHE 1\n"
	");\n"
	"\n"
	"--\n"
	"-- Name: m; Type: TABLE; Schema: public; Owner: postgres\n"
	"--\n"
	"\n"
	"CREATE TABLE public.m (\n"
	"    k integer NOT NULL\n"
	")\n"
	"PARTITION BY RANGE (k);\n"
	"\n"
	"--\n"
	"-- Name: m1; Type: TABLE; Schema: public; Owner: postgres\n"
	"--\n"
	"\n"
	"CREATE TABLE public.m1 (\n"
	"    k integer NOT NULL\n"
	");\n"
	"\n"
	"--\n"
	"-- Name: m1; Type: TABLE ATTACH; Schema: public; Owner: postgres\n"
	"--\n"
	"\n"
	"ALTER TABLE ONLY public.m ATTACH PARTITION public.m1 FOR VALUES FROM (0) TO (10);\n"
	"\n"
	"--\n"
	"-- Name: Orders; Type: TABLE; Schema: Sales & Ops; Owner: postgres\n"
	"--\n"
	"\n"
	"CREATE TABLE \"Sales & Ops\".\"Orders\" (\n"
	"    order_no integer NOT NULL\n"
	");\n"
	"\n"
	"--\n"
	"-- Name: a b n; Type: DEFAULT; Schema: public; Owner: postgres\n"
	"--\n"
	"\n"
	"ALTER TABLE ONLY public.\"a b\" ALTER COLUMN n SET DEFAULT nextval('public.\"a b_n_seq\"'::regclass);\n"
	"\n"
	"--\n"
	"-- Name: a b c; Type: CONSTRAINT; Schema: public; Owner: postgres\n"
	"--\n"
	"\n"
	"ALTER TABLE ONLY public.a\n"
	"    ADD CONSTRAINT \"b c\" PRIMARY KEY (id);\n"
	"\n"
	"--\n"
	"-- Name: a b c; Type: CONSTRAINT; Schema: public; Owner: postgres\n"
	"--\n"
	"\n"
	"ALTER TABLE ONLY public.\"a b\"\n"
	"    ADD CONSTRAINT c UNIQUE (c);\n"
	"\n"
	"--\n"
	"-- Name: m m_pkey; Type: CONSTRAINT; Schema: public; Owner: postgres\n"
	"--\n"
	"\n"
	"ALTER TABLE ONLY public.m\n"
	"    ADD CONSTRAINT m_pkey PRIMARY KEY (k);\n"
	"\n"
	"--\n"
	"-- Name: m1 m1_pkey; Type: CONSTRAINT; Schema: public; Owner: postgres\n"
	"--\n"
	"\n"
	"ALTER TABLE ONLY public.m1\n"
	"    ADD CONSTRAINT m1_pkey PRIMARY KEY (k);\n"
	"\n"
	"--\n"
	"-- Name: Orders Orders_pkey; Type: CONSTRAINT; Schema: Sales & Ops; Owner: postgres\n"
	"--\n"
	"\n"
	"ALTER TABLE ONLY \"Sales & Ops\".\"Orders\"\n"
	"    ADD CONSTRAINT \"Orders_pkey\" PRIMARY KEY (order_no);\n"
	"\n"
	"--\n"
	"-- Name: a_idx; Type: INDEX; Schema: public; Owner: postgres\n"
	"--\n"
	"\n"
	"CREATE INDEX a_idx ON public.a USING btree (\"b c\") WHERE (\"b c\" <> 'ON public.\"a b\"'::text);\n"
	"\n"
	"--\n"
	"-- Name: m1_pkey; Type: INDEX ATTACH; Schema: public; Owner: postgres\n"
	"--\n"
	"\n"
	"ALTER INDEX public.m_pkey ATTACH PARTITION public.m1_pkey;\n"
	"\n"
	"--\n"
	"-- Name: a trg; Type: TRIGGER; Schema: public; Owner: postgres\n"
	"--\n"
	"\n"
	"CREATE TRIGGER trg BEFORE UPDATE OF \"b c\", \"on\" ON public.a FOR EACH ROW EXECUTE FUNCTION public.f();\n"
	"\n"
	"--\n"
	"-- Name: TRIGGER trg ON a; Type: COMMENT; Schema: public; Owner: postgres\n"
	"--\n"
	"\n"
	"COMMENT ON TRIGGER trg ON public.a IS 'fires; on update';\n"
	"\n"
	"--\n"
	"-- Name: a b fk; Type: FK CONSTRAINT; Schema: public; Owner: postgres\n"
	"--\n"
	"\n"
	"ALTER TABLE ONLY public.\"a b\"\n"
	"    ADD CONSTRAINT fk FOREIGN KEY (c) REFERENCES public.a(id) DEFERRABLE INITIALLY DEFERRED;\n"
	"\n"
	"--\n"
	"-- Name: a p1; Type: POLICY; Schema: public; Owner: postgres\n"
	"--\n"
	"\n"
	"CREATE POLICY p1 ON public.a FOR SELECT USING (true);\n"
	"\n"
	"--\n"
	"-- Name: a; Type: ROW SECURITY; Schema: public; Owner: postgres\n"
	"--\n"
	"\n"
	"ALTER TABLE public.a ENABLE ROW LEVEL SECURITY;\n"
	"\n"
	"--\n"
	"-- Name: pub a; Type: PUBLICATION TABLE; Schema: public; Owner: postgres\n"
	"--\n"
	"\n"
	"ALTER PUBLICATION pub ADD TABLE ONLY public.a;\n"
	"\n"
	"--\n"
	"-- Name: COLUMN a.\"b c\"; Type: COMMENT; Schema: public; Owner: postgres\n"
	"--\n"
	"\n"
	"COMMENT ON COLUMN public.a.\"b c\" IS E'back\\\\slash ''q''';\n"
	"\n"
	"--\n"
	"-- Name: TABLE a; Type: ACL; Schema: public; Owner: postgres\n"
	"--\n"
	"\n"
	"GRANT SELECT ON TABLE public.a TO anon;\n"
	"\n"
	"--\n"
	"-- Name: COLUMN a b.c; Type: ACL; Schema: public; Owner: postgres\n"
	"--\n"
	"\n"
	"GRANT SELECT(c) ON TABLE public.\"a b\" TO anon;\n"
	"\n"
	"--\n"
	"-- Name: SEQUENCE a_id_seq; Type: ACL; Schema: public; Owner: postgres\n"
	"--\n"
	"\n"
	"GRANT ALL ON SEQUENCE public.a_id_seq TO service_role;\n"
	"\n"
	"--\n"
	"-- Name: SCHEMA public; Type: ACL; Schema: -; Owner: pg_database_owner\n"
	"--\n"
	"\n"
	"GRANT USAGE ON SCHEMA public TO anon;\n"
	"\n"
	"\n"
	"--\n"
	"-- PostgreSQL database dump complete\n"
	"--\n"
	"\n"
	"\\unrestrict abc123\n"
	"\n";

static const struct pg_ddl_section *find(const struct pg_ddl *d,
					 const char *type, const char *name)
{
	for (size_t i = 0; i < pg_ddl_count(d); i++) {
		const struct pg_ddl_section *s = pg_ddl_get(d, i);

		if (!strcmp(s->type, type) && !strcmp(s->name, name))
			return s;
	}
	return NULL;
}

static int owned_by(const struct pg_ddl_section *s, const char *schema,
		    const char *table)
{
	if (!s)
		return 0;
	if (!table)
		return s->rel_name == NULL;
	return s->rel_name && !strcmp(s->rel_schema, schema) &&
	       !strcmp(s->rel_name, table);
}

static int contains(const struct buf *b, const char *s)
{
	return strstr((const char *)b->data, s) != NULL;
}

static void test_headers(const struct pg_ddl *d)
{
	const struct pg_ddl_section *s;

	is_int(pg_ddl_count(d), 30, "30 sections (the fake header inside $_$ is not one)");
	s = pg_ddl_get(d, 0);
	ok(s && !strcmp(s->name, "Sales & Ops") && !strcmp(s->type, "SCHEMA") &&
	   !strcmp(s->schema, "") && !strcmp(s->owner, "postgres"),
	   "header fields of the first section");
	ok(pg_ddl_get(d, pg_ddl_count(d)) == NULL, "pg_ddl_get past the end is NULL");
	s = find(d, "FUNCTION", "f()");
	ok(s && strstr(pg_ddl_text(d) + s->off, "$_$;") != NULL &&
	   s->len > 0 && memmem(pg_ddl_text(d) + s->off, s->len,
				"-- Name: fake", 13) != NULL,
	   "function body keeps its fake header");
	ok(s && !memmem(pg_ddl_text(d) + s->off, s->len,
			"SET default_tablespace", 22),
	   "SET default_tablespace moves to the next section");
	s = find(d, "TABLE", "a");
	ok(s && s->len > 22 && !memcmp(pg_ddl_text(d) + s->off,
				       "SET default_tablespace", 22),
	   "table section starts with the SET lines pg_dump wrote before it");
	s = find(d, "CONSTRAINT", "Orders Orders_pkey");
	ok(s && !strcmp(s->schema, "Sales & Ops"), "schema with spaces and &");
	s = find(d, "ACL", "SCHEMA public");
	ok(s && !strcmp(s->owner, "pg_database_owner") &&
	   !memmem(pg_ddl_text(d) + s->off, s->len, "dump complete", 13) &&
	   !memmem(pg_ddl_text(d) + s->off, s->len, "unrestrict", 10),
	   "last section stops before the trailer");
}

static void test_owners(const struct pg_ddl *d)
{
	const struct pg_ddl_section *s;
	size_t n = 0;

	ok(owned_by(find(d, "TABLE", "a"), "public", "a"), "TABLE a");
	ok(owned_by(find(d, "TABLE", "a b"), "public", "a b"), "TABLE \"a b\"");
	ok(owned_by(find(d, "SEQUENCE", "a b_n_seq"), "public", "a b"),
	   "serial sequence follows OWNED BY");
	ok(owned_by(find(d, "SEQUENCE OWNED BY", "a b_n_seq"), "public", "a b"),
	   "SEQUENCE OWNED BY");
	ok(owned_by(find(d, "SEQUENCE", "a id"), "public", "a"),
	   "identity sequence");
	ok(owned_by(find(d, "ACL", "SEQUENCE a_id_seq"), "public", "a"),
	   "grant on the identity sequence");
	ok(owned_by(find(d, "TABLE ATTACH", "m1"), "public", "m1"),
	   "TABLE ATTACH belongs to the partition");
	ok(owned_by(find(d, "INDEX ATTACH", "m1_pkey"), "public", "m1"),
	   "INDEX ATTACH follows the constraint's index");
	ok(owned_by(find(d, "DEFAULT", "a b n"), "public", "a b"), "DEFAULT");
	for (size_t i = 0; i < pg_ddl_count(d); i++) {
		s = pg_ddl_get(d, i);
		if (!strcmp(s->type, "CONSTRAINT") && !strcmp(s->name, "a b c")) {
			n++;
			ok(owned_by(s, "public", n == 1 ? "a" : "a b"),
			   "ambiguous header \"a b c\" #%zu resolved from SQL", n);
		}
	}
	ok(owned_by(find(d, "CONSTRAINT", "Orders Orders_pkey"), "Sales & Ops",
		    "Orders"), "quoted schema and table");
	ok(owned_by(find(d, "INDEX", "a_idx"), "public", "a"),
	   "INDEX (a string mentioning ON another table is ignored)");
	ok(owned_by(find(d, "TRIGGER", "a trg"), "public", "a"),
	   "TRIGGER with UPDATE OF \"on\"");
	ok(owned_by(find(d, "COMMENT", "TRIGGER trg ON a"), "public", "a"),
	   "COMMENT ON TRIGGER");
	ok(owned_by(find(d, "FK CONSTRAINT", "a b fk"), "public", "a b"),
	   "FK CONSTRAINT belongs to the referencing table");
	ok(owned_by(find(d, "POLICY", "a p1"), "public", "a"), "POLICY");
	ok(owned_by(find(d, "ROW SECURITY", "a"), "public", "a"), "ROW SECURITY");
	ok(owned_by(find(d, "COMMENT", "COLUMN a.\"b c\""), "public", "a"),
	   "COMMENT ON COLUMN");
	ok(owned_by(find(d, "ACL", "TABLE a"), "public", "a"), "ACL");
	ok(owned_by(find(d, "ACL", "COLUMN a b.c"), "public", "a b"),
	   "column ACL");
	ok(owned_by(find(d, "PUBLICATION TABLE", "pub a"), NULL, NULL),
	   "publication membership belongs to the publication");
	ok(owned_by(find(d, "ACL", "SCHEMA public"), NULL, NULL),
	   "schema ACL has no table");
	ok(owned_by(find(d, "FUNCTION", "f()"), NULL, NULL),
	   "function has no table");
}

static void test_table_sql(const struct pg_ddl *d)
{
	struct buf b = BUF_INIT;
	int n;

	n = pg_ddl_table_sql(d, "public", "a", &b);
	is_int(n, 11, "public.a has 11 sections");
	ok(contains(&b, "SET client_encoding = 'UTF8';\n") &&
	   contains(&b, "SELECT pg_catalog.set_config('search_path', '', false);\n"),
	   "preamble included");
	ok(!contains(&b, "restrict") && !contains(&b, "Dumped from"),
	   "preamble keeps only settings");
	ok(contains(&b, "CREATE TABLE public.a (") &&
	   contains(&b, "ADD CONSTRAINT \"b c\" PRIMARY KEY") &&
	   contains(&b, "CREATE INDEX a_idx") &&
	   contains(&b, "CREATE TRIGGER trg") &&
	   contains(&b, "COMMENT ON TRIGGER") &&
	   contains(&b, "CREATE POLICY p1") &&
	   contains(&b, "ENABLE ROW LEVEL SECURITY") &&
	   contains(&b, "GRANT SELECT ON TABLE public.a") &&
	   contains(&b, "GRANT ALL ON SEQUENCE public.a_id_seq"),
	   "public.a has its table, constraint, index, trigger, policy, RLS, grants");
	ok(!contains(&b, "CREATE TABLE public.\"a b\"") &&
	   !contains(&b, "ADD CONSTRAINT c UNIQUE") &&
	   !contains(&b, "ADD CONSTRAINT fk") &&
	   !contains(&b, "ALTER PUBLICATION"),
	   "public.a has nothing of \"a b\" nor the publication");
	ok(strstr((char *)b.data, "CREATE TABLE public.a (") <
	   strstr((char *)b.data, "CREATE INDEX a_idx"),
	   "sections keep dump order");

	buf_reset(&b);
	n = pg_ddl_table_sql(d, "public", "a b", &b);
	is_int(n, 7, "public.\"a b\" has 7 sections");
	ok(contains(&b, "CREATE SEQUENCE public.\"a b_n_seq\"") &&
	   contains(&b, "OWNED BY public.\"a b\".n") &&
	   contains(&b, "SET DEFAULT nextval") &&
	   contains(&b, "ADD CONSTRAINT fk FOREIGN KEY"),
	   "serial sequence, default and FK go with \"a b\"");

	buf_reset(&b);
	n = pg_ddl_table_sql(d, "public", "m1", &b);
	is_int(n, 4, "partition m1: table, attach, pkey, index attach");
	ok(contains(&b, "ATTACH PARTITION public.m1 FOR VALUES") &&
	   contains(&b, "ALTER INDEX public.m_pkey ATTACH PARTITION public.m1_pkey"),
	   "partition attaches itself and its index");

	buf_reset(&b);
	n = pg_ddl_table_sql(d, "public", "nope", &b);
	is_int(n, 0, "unknown table: no sections");
	buf_release(&b);
}

static void test_edges(void)
{
	struct pg_ddl *d = NULL;
	struct buf err = BUF_INIT, b = BUF_INIT;
	const char bad[] = "--\n-- Name: x; Kind: TABLE\n--\n";
	const char none[] = "SET a = 1;\nSELECT 1;\n";
	int r;

	r = pg_ddl_parse(&d, bad, sizeof(bad) - 1, &err);
	is_int(r, -EBADMSG, "header without Type is -EBADMSG");
	ok(d == NULL && strstr((char *)err.data, "line 2") != NULL,
	   "error names the line: %s", (char *)err.data);
	r = pg_ddl_parse(&d, none, sizeof(none) - 1, NULL);
	ok(r == 0 && d && pg_ddl_count(d) == 0, "no headers: zero sections");
	if (d) {
		pg_ddl_preamble(d, &b);
		ok(!strcmp((char *)b.data, "SET a = 1;\n"), "preamble of a headerless text");
	}
	pg_ddl_free(d);
	r = pg_ddl_parse(&d, "", 0, NULL);
	ok(r == 0 && pg_ddl_count(d) == 0, "empty input");
	pg_ddl_free(d);
	pg_ddl_free(NULL);
	buf_release(&err);
	buf_release(&b);
}

/* Every prefix of the dump parses or fails cleanly: no over-read (run
 * under ASan/valgrind), no crash on unterminated quotes. */
static void test_truncations(void)
{
	size_t len = sizeof(dump) - 1, bad = 0;

	for (size_t n = 0; n <= len; n++) {
		char *copy = malloc(n ? n : 1);
		struct pg_ddl *d = NULL;
		struct buf b = BUF_INIT;
		int r;

		memcpy(copy, dump, n);
		r = pg_ddl_parse(&d, copy, n, NULL);
		if (r == 0) {
			for (size_t i = 0; i < pg_ddl_count(d); i++) {
				const struct pg_ddl_section *s = pg_ddl_get(d, i);

				if (s->off + s->len > n)
					bad++;
			}
			if (pg_ddl_table_sql(d, "public", "a", &b) < 0)
				bad++;
		} else if (r != -EBADMSG) {
			bad++;
		}
		pg_ddl_free(d);
		buf_release(&b);
		free(copy);
	}
	is_int(bad, 0, "all %zu truncations parse within bounds or fail with -EBADMSG",
	       len + 1);
}

/* Bytes flipped into quotes, dollars, dashes and newlines at random
 * (fixed seed): parsing stays in bounds and fails only cleanly. */
static void test_mutations(void)
{
	static const char alphabet[] = "'\"$-\n;\\*/ ONE.";
	size_t len = sizeof(dump) - 1, bad = 0;
	unsigned long x = 88172645463325252ul;
	char *copy = malloc(len);

	for (int it = 0; it < 3000; it++) {
		struct pg_ddl *d = NULL;
		struct buf b = BUF_INIT;
		int r;

		memcpy(copy, dump, len);
		for (int k = 0; k < 1 + it % 8; k++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			copy[x % len] = alphabet[(x >> 32) % (sizeof(alphabet) - 1)];
		}
		r = pg_ddl_parse(&d, copy, len, NULL);
		if (r == 0) {
			for (size_t i = 0; i < pg_ddl_count(d); i++) {
				const struct pg_ddl_section *sec = pg_ddl_get(d, i);

				if (sec->off + sec->len > len)
					bad++;
			}
			if (pg_ddl_table_sql(d, "public", "a", &b) < 0)
				bad++;
		} else if (r != -EBADMSG) {
			bad++;
		}
		pg_ddl_free(d);
		buf_release(&b);
	}
	free(copy);
	is_int(bad, 0, "3000 mutated dumps parse within bounds or fail with -EBADMSG");
}

/* pg_ddl_unrestrict: in gives want, n lines removed. */
static int unrestrict_is(const char *in, const char *want, int n)
{
	struct buf b = BUF_INIT;
	int got, good;

	buf_addstr(&b, in);
	got = pg_ddl_unrestrict(&b);
	good = got == n && !strcmp((char *)b.data, want);
	if (!good)
		diag("unrestrict removed %d lines, gave [%s]", got, (char *)b.data);
	buf_release(&b);
	return good;
}

/* pg_dump 15.14+'s \restrict lines go; the text is an older pg_dump's */
static void test_unrestrict(void)
{
	static const char old[] =
		"--\n-- PostgreSQL database dump\n--\n\n"
		"-- Dumped from database version 15.13\n\n"
		"SET statement_timeout = 0;\n\n"
		"--\n-- PostgreSQL database dump complete\n--\n\n";
	static const char body[] =
		"CREATE FUNCTION f() RETURNS text LANGUAGE sql AS $$\n"
		"\\restrict not-a-header\n$$;\n";
	struct buf b = BUF_INIT, want = BUF_INIT;
	struct pg_ddl *d = NULL;

	ok(unrestrict_is("--\n-- PostgreSQL database dump\n--\n\n"
			 "\\restrict K3y\n\n"
			 "-- Dumped from database version 15.13\n\n"
			 "SET statement_timeout = 0;\n\n"
			 "--\n-- PostgreSQL database dump complete\n--\n\n"
			 "\\unrestrict K3y\n\n", old, 2),
	   "\\restrict and \\unrestrict removed: an older pg_dump's text");
	ok(unrestrict_is(old, old, 0), "a dump without them is left alone");
	buf_addstr(&b, "--\n\nSET a = 1;\n");
	buf_addstr(&b, body);
	buf_addstr(&want, (char *)b.data);
	ok(unrestrict_is((char *)b.data, (char *)want.data, 0),
	   "a \\restrict line inside a function body stays");
	ok(unrestrict_is("\\restrict X\n", "", 1), "a dump of nothing but the line");
	ok(unrestrict_is("", "", 0), "an empty dump");
	/* the sample (pg_dump 15.20's shape) parses the same without them */
	buf_reset(&b);
	buf_addstr(&b, dump);
	is_int(pg_ddl_unrestrict(&b), 2, "the sample dump loses both lines");
	ok(!strstr((char *)b.data, "restrict abc123") &&
	   pg_ddl_parse(&d, (char *)b.data, b.len, NULL) == 0 &&
	   pg_ddl_count(d) > 10 && !strcmp(pg_ddl_get(d, 0)->name, "Sales & Ops"),
	   "and still splits into its sections");
	pg_ddl_free(d);
	buf_release(&b);
	buf_release(&want);
}

/* pg_dump writes "SET default_table_access_method" only when the value
 * changes: a section after another of the same access method has none
 * of its own, yet must carry it when read or run alone. */
static const char am_dump[] =
	"--\n-- PostgreSQL database dump\n--\n\n"
	"SET statement_timeout = 0;\nSET client_encoding = 'UTF8';\n\n"
	"SET default_table_access_method = heap2;\n\n"
	"--\n-- Name: x; Type: TABLE; Schema: public; Owner: postgres\n--\n\n"
	"CREATE TABLE public.x (\n    id integer\n);\n\n\n"
	"ALTER TABLE public.x OWNER TO postgres;\n\n"
	"--\n-- Name: y; Type: TABLE; Schema: public; Owner: postgres\n--\n\n"
	"CREATE TABLE public.y (\n    id integer\n);\n\n\n"
	"SET default_table_access_method = heap;\n\n"
	"--\n-- Name: z; Type: TABLE; Schema: public; Owner: postgres\n--\n\n"
	"CREATE TABLE public.z (\n    id integer\n);\n\n\n"
	"SET default_tablespace = fast;\n\n"
	"--\n-- Name: y_idx; Type: INDEX; Schema: public; Owner: postgres\n--\n\n"
	"CREATE INDEX y_idx ON public.y USING btree (id);\n\n\n"
	"--\n-- PostgreSQL database dump complete\n--\n\n";

static int count_of(const struct buf *b, const char *needle)
{
	int n = 0;

	for (const char *p = (const char *)b->data; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

static void test_settings_carry(void)
{
	struct pg_ddl *d = NULL;
	struct buf b = BUF_INIT;
	const struct pg_ddl_section *x, *y, *z, *i;
	const char *tx, *ty;

	if (pg_ddl_parse(&d, am_dump, sizeof(am_dump) - 1, NULL) < 0 ||
	    pg_ddl_count(d) != 4) {
		ok(0, "the access method sample parses into 4 sections");
		pg_ddl_free(d);
		return;
	}
	x = pg_ddl_get(d, 0);
	y = pg_ddl_get(d, 1);
	z = pg_ddl_get(d, 2);
	i = pg_ddl_get(d, 3);
	ok(x->table_am && !strcmp(x->table_am, "heap2") &&
	   y->table_am && !strcmp(y->table_am, "heap2") &&
	   z->table_am && !strcmp(z->table_am, "heap") && !i->table_am,
	   "each table knows the access method the SET lines before it left"
	   " (an index has none)");
	ok(!x->tablespace && !y->tablespace && !z->tablespace &&
	   i->tablespace && !strcmp(i->tablespace, "fast"),
	   "and the tablespace (none until the index's own SET)");
	pg_ddl_table_sql(d, "public", "y", &b);
	tx = strstr((char *)b.data, "SET default_table_access_method = heap2;\n");
	ty = strstr((char *)b.data, "CREATE TABLE public.y (");
	ok(tx && ty && tx < ty && count_of(&b, "default_table_access_method") == 1,
	   "y's schema.sql sets heap2 once, before its CREATE TABLE");
	ok(count_of(&b, "SET default_tablespace = fast;\n") == 1 &&
	   strstr((char *)b.data, "SET default_tablespace = fast;") <
	   strstr((char *)b.data, "CREATE INDEX y_idx"),
	   "and its index's tablespace before the index");
	buf_reset(&b);
	pg_ddl_table_sql(d, "public", "x", &b);
	ok(count_of(&b, "default_table_access_method") == 1,
	   "x's schema.sql has its own SET line only once");
	pg_ddl_free(d);
	buf_release(&b);
}

int main(void)
{
	struct pg_ddl *d = NULL;
	struct buf err = BUF_INIT;
	int r = pg_ddl_parse(&d, dump, sizeof(dump) - 1, &err);

	is_int(r, 0, "parse the sample dump %s", (char *)err.data);
	if (r == 0) {
		test_headers(d);
		test_owners(d);
		test_table_sql(d);
	}
	pg_ddl_free(d);
	test_edges();
	test_truncations();
	test_mutations();
	test_unrestrict();
	test_settings_carry();
	buf_release(&err);
	return done_testing();
}

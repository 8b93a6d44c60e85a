/*
 * test-pg-snap-tree: the tree a capture of tests/fixtures/supabase.sql
 * emits (pg-snap-tree, pg-snap-data, pg-snap-meta, pg-snap-schema),
 * against a real server (pgfix.h; run by tests/cli/t1090-db-unit.sh):
 *  - entries come in strictly increasing manifest order, dirs first;
 *  - every table's data.sql rows equal psql's \copy of the same query
 *    as a multiset; generated columns are left out;
 *  - the pg.xxh3/pg.rows attributes and meta.json agree with the bytes;
 *  - schema.sql, roles.sql, sequences.sql and per-table DDL hold what
 *    they should;
 *  - two captures (parallel and single-connection) are byte-identical;
 *  - psql loads schema.sql + every data.sql into an empty database that
 *    then captures to the same checksums.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xxhash.h>

#include "pgfix.h"

/* ---- tests ---------------------------------------------------------- */

static void test_tree(const struct pgfix_sink *m, struct pg_snap *s)
{
	const struct pg_catalog *cat = pg_snap_catalog(s);
	size_t ndata = 0, bad_copy = 0, bad_sum = 0, bad_attr = 0;

	is_int(m->bad_order, 0, "entries in strictly increasing manifest order");
	is_int(m->bad_calls, 0, "begin/write/attr/end calls well nested");
	is_int(m->streams_live, 0, "every stream attached");
	ok(m->n && m->e[0].dir && !strcmp(m->e[0].path, "db"), "db/ comes first");
	ok(pgfix_find(m, "db/meta.json") && pgfix_find(m, "db/roles.sql") &&
	   pgfix_find(m, "db/schema.sql") && pgfix_find(m, "db/sequences.sql"),
	   "meta.json, roles.sql, schema.sql, sequences.sql");
	ok(pgfix_find(m, "db/Sales & Ops/tables/Orders/data.sql") &&
	   pgfix_find(m, "db/Sales & Ops/tables/ünïcode ☃/data.sql") &&
	   pgfix_find(m, "db/public/tables/Mixed Case%2FName/data.sql") &&
	   pgfix_find(m, "db/public/tables/100%25/data.sql"),
	   "raw names with %%XX only for %% and /");
	ok(pgfix_find(m, "db/auth/tables/users/data.sql") &&
	   pgfix_find(m, "db/auth/tables/identities/data.sql") &&
	   pgfix_find(m, "db/storage/tables/buckets/data.sql") &&
	   pgfix_find(m, "db/storage/tables/objects/data.sql") &&
	   pgfix_find(m, "db/supabase_migrations/tables/schema_migrations/data.sql"),
	   "auth, storage and supabase_migrations tables captured");
	ok(pgfix_find(m, "db/public/tables/measurements_2023/data.sql") &&
	   pgfix_find(m, "db/public/tables/measurements_2024_h0/data.sql") &&
	   !pgfix_find(m, "db/public/tables/measurements/data.sql") &&
	   !pgfix_find(m, "db/public/tables/measurements_2024/data.sql") &&
	   pgfix_find(m, "db/public/tables/measurements/schema.sql"),
	   "leaf partitions have data; partitioned parents only schema.sql");
	ok(!pgfix_find(m, "db/extensions") && !pgfix_find(m, "db/public/tables/todo_stats"),
	   "extension-only schema and materialized view not captured as tables");
	ok(pgfix_find(m, "db/large_objects/424242") &&
	   strstr(pgfix_text(m, "db/large_objects/424242"), "payload ☃"),
	   "large object captured");

	for (size_t i = 0; i < cat->ntables; i++) {
		const struct pg_catalog_table *t = &cat->tables[i];
		const struct pg_snap_table *pt = pg_snap_table(s, i);
		struct buf path = BUF_INIT, q = BUF_INIT, out = BUF_INIT;
		const struct pgfix_entry *e;
		const char *rows;
		size_t rlen;
		char hex[33];
		XXH128_canonical_t canon;

		if (!pt->has_data)
			continue;
		ndata++;
		buf_addf(&path, "%s/data.sql", pt->path);
		e = pgfix_find(m, (char *)path.data);
		if (!e || pgfix_data_rows(e, &rows, &rlen) < 0) {
			diag("no data.sql for %s", (char *)path.data);
			bad_copy++;
			goto next;
		}
		if (e->how != PG_SINK_ROWS)
			bad_attr++;
		/* \copy (SELECT same columns FROM ONLY t) TO STDOUT */
		buf_addstr(&q, "\\copy (SELECT ");
		for (size_t c = 0; c < t->ncols; c++) {
			buf_addstr(&q, c ? ", \"" : "\"");
			for (const char *p = t->cols[c]; *p; p++) {
				if (*p == '"')
					buf_addch(&q, '"');
				buf_addch(&q, *p);
			}
			buf_addch(&q, '"');
		}
		buf_addstr(&q, " FROM ONLY \"");
		for (const char *p = t->schema; *p; p++) {
			if (*p == '"')
				buf_addch(&q, '"');
			buf_addch(&q, *p);
		}
		buf_addstr(&q, "\".\"");
		for (const char *p = t->name; *p; p++) {
			if (*p == '"')
				buf_addch(&q, '"');
			buf_addch(&q, *p);
		}
		buf_addstr(&q, "\") TO STDOUT");
		{
			char *argv[] = { "psql", "-X", "-q", "-d", pgfix_db, "-c",
					 (char *)q.data, NULL };

			if (pgfix_run(argv, &out) != 0 ||
			    !pgfix_same_multiset(rows, rlen, (char *)out.data, out.len)) {
				diag("rows differ from psql for %s", (char *)path.data);
				bad_copy++;
			}
		}
		XXH128_canonicalFromHash(&canon, XXH3_128bits(rows, rlen));
		hex_encode(hex, canon.digest, 16);
		{
			char nrows[32];
			size_t lines = 0;

			for (size_t k = 0; k < rlen; k++)
				lines += rows[k] == '\n';
			snprintf(nrows, sizeof(nrows), "%zu", lines);
			if (!pgfix_attr(e, "pg.xxh3") || strcmp(pgfix_attr(e, "pg.xxh3"), hex) ||
			    strcmp(pt->xxh3, hex) || !pgfix_attr(e, "pg.rows") ||
			    strcmp(pgfix_attr(e, "pg.rows"), nrows) || pt->rows != lines ||
			    strcmp(pgfix_attr(e, "pg.schema"), t->schema) ||
			    strcmp(pgfix_attr(e, "pg.table"), t->name)) {
				diag("attributes wrong for %s", (char *)path.data);
				bad_attr++;
			}
			buf_reset(&out);
			buf_addf(&out, "\"rows\": %zu, \"bytes\": %zu, \"xxh3_128\": \"%s\"",
				 lines, rlen, hex);
			if (!strstr(pg_snap_meta_json(s), (char *)out.data) ||
			    !strstr(pgfix_text(m, "db/meta.json"), (char *)out.data)) {
				diag("meta.json lacks %s", (char *)out.data);
				bad_sum++;
			}
		}
next:
		buf_release(&path);
		buf_release(&q);
		buf_release(&out);
	}
	ok(ndata >= 20, "%zu tables with data", ndata);
	is_int(bad_copy, 0, "every data.sql equals psql's \\copy as a multiset");
	is_int(bad_attr, 0, "pg.xxh3, pg.rows, pg.schema, pg.table attributes match the bytes");
	is_int(bad_sum, 0, "meta.json in the tree has every table's rows, bytes and checksum");
	ok(!strcmp(pgfix_text(m, "db/meta.json"), pg_snap_meta_json(s)),
	   "and is the document pg_snap_meta_json returns");
}

static void test_contents(const struct pgfix_sink *m, struct pg_snap *s)
{
	const char *users = pgfix_text(m, "db/auth/tables/users/data.sql");
	const char *meta = pgfix_text(m, "db/meta.json");
	const char *roles = pgfix_text(m, "db/roles.sql");
	const char *seqs = pgfix_text(m, "db/sequences.sql");
	const char *objddl = pgfix_text(m, "db/storage/tables/objects/schema.sql");
	const char *userddl = pgfix_text(m, "db/auth/tables/users/schema.sql");

	ok(!strncmp(users, "COPY \"auth\".\"users\" (\"instance_id\", \"id\",", 41) &&
	   !strstr(strchr(users, '\n') ? users : "", "email_domain"),
	   "auth.users header lists columns, generated email_domain left out");
	ok(!strstr(pgfix_text(m, "db/storage/tables/objects/data.sql"), "path_tokens") &&
	   !strstr(pgfix_text(m, "db/public/tables/counters/data.sql"), "\"total\"") &&
	   strstr(pgfix_text(m, "db/public/tables/counters/data.sql"), "\"qty\")"),
	   "generated columns excluded from storage.objects and counters");
	ok(strstr(pgfix_text(m, "db/public/tables/event_log/data.sql"),
		  "2024-05-01 10:00:00+00\tlogin\t{\"ip\": \"10.0.0.1\"}\n"
		  "2024-05-01 10:00:00+00\tlogin\t{\"ip\": \"10.0.0.1\"}\n") != NULL,
	   "duplicate rows of the table without a primary key kept");
	ok(strstr(pgfix_text(m, "db/public/tables/profiles/data.sql"),
		  "\\\\x00ff10275c0a") &&
	   strstr(pgfix_text(m, "db/public/tables/profiles/data.sql"),
		  "line one\\nline two\\ttabbed \\\\ backslash\\r\\nend") &&
	   strstr(pgfix_text(m, "db/public/tables/profiles/data.sql"),
		  "{\"a,b\",NULL,\"c\\\\\"d\",\"e\\\\\\\\f\",\"\",\"NULL\"}"),
	   "bytea, escapes and arrays with NULLs and commas in COPY text");
	ok(strstr(pgfix_text(m, "db/public/tables/todos/data.sql"),
		  "FROM stdin;\n1\t") != NULL,
	   "rows ordered by primary key");

	ok(strstr(meta, "\"server_version_num\": ") && strstr(meta, "\"encoding\": \"UTF8\"") &&
	   strstr(meta, "{\"name\": \"extensions\", \"reason\": \"holds only extension objects\"}") &&
	   strstr(meta, "\"captured\": [\"Sales & Ops\", \"auth\", \"public\", \"storage\", \"supabase_migrations\"]"),
	   "meta.json: server, encoding, captured and skipped schemas");
	ok(strstr(meta, "{\"name\": \"pgcrypto\", \"schema\": \"extensions\", \"version\": ") &&
	   strstr(meta, "\"extensions\": [\"pgcrypto\"],") &&
	   strstr(meta, "{\"name\": \"supabase_realtime\", \"tables\": [{\"table\": \"profiles\", \"schema\": \"public\"}, {\"table\": \"todos\", \"schema\": \"public\"}], \"all_tables\": false}") &&
	   strstr(meta, "\"large_objects\": 1"),
	   "meta.json: extensions, publications, large objects");
	ok(strstr(meta, "\"roles\": [") && strstr(meta, "\"app_writer\"") &&
	   strstr(pg_snap_meta_json(s), "\"name\": \"anon\", \"reserved\": true"),
	   "meta.json: roles with reserved flags, requirements");
	ok(strstr(meta, "\"primary_key\": [\"id\", \"taken_on\"]") != NULL,
	   "meta.json: composite primary keys");

	ok(strstr(roles, "-- Name: anon; Type: ROLE;") &&
	   strstr(roles, "-- vault: reserved role") &&
	   strstr(roles, "CREATE ROLE \"Report Bot\";") &&
	   strstr(roles, "ALTER ROLE \"app_writer\" WITH NOSUPERUSER INHERIT NOCREATEROLE NOCREATEDB LOGIN NOREPLICATION NOBYPASSRLS CONNECTION LIMIT 5;") &&
	   strstr(roles, "GRANT \"app_reader\" TO \"app_writer\" WITH ADMIN OPTION") &&
	   strstr(roles, "GRANT \"anon\" TO \"authenticator\"") &&
	   strstr(roles, "ALTER ROLE \"app_reader\" SET \"search_path\" TO 'public', 'Sales & Ops';") &&
	   strstr(roles, "ALTER ROLE \"authenticator\" SET \"statement_timeout\" TO '8s';"),
	   "roles.sql: roles, attributes, memberships, settings");
	ok(!strstr(roles, "PASSWORD"), "roles.sql: no passwords by default");
	ok(strstr(seqs, "SELECT pg_catalog.setval('\"public\".\"counters_n_seq\"', 3, true);") &&
	   strstr(seqs, "'\"public\".\"tickets_id_seq\"', 2, true") &&
	   strstr(seqs, "'\"public\".\"todos_id_seq\"', 250, true"),
	   "sequences.sql: serial and identity sequences");
	ok(strstr(pgfix_text(m, "db/schema.sql"), "CREATE POLICY \"Owner deletes\" ON storage.objects") &&
	   strstr(pgfix_text(m, "db/schema.sql"), "CREATE PUBLICATION supabase_realtime"),
	   "schema.sql: storage policies and the publication");
	ok(strstr(objddl, "CREATE TABLE storage.objects") &&
	   strstr(objddl, "\"Avatar images are publicly accessible.\"") &&
	   strstr(objddl, "\"Anyone can upload an avatar.\"") &&
	   strstr(objddl, "\"Owner deletes\"") &&
	   strstr(objddl, "ALTER TABLE storage.objects ENABLE ROW LEVEL SECURITY") &&
	   strstr(objddl, "CREATE UNIQUE INDEX bucketid_objname") &&
	   strstr(objddl, "GRANT SELECT ON TABLE storage.objects TO anon") &&
	   !strstr(objddl, "CREATE TABLE storage.buckets"),
	   "storage.objects schema.sql: table, policies, RLS, index, grants only");
	ok(strstr(userddl, "CREATE TRIGGER on_auth_user_created") &&
	   strstr(userddl, "COMMENT ON TABLE auth.users") &&
	   strstr(userddl, "GRANT SELECT(email) ON TABLE auth.users TO authenticated"),
	   "auth.users schema.sql: trigger, comment, column grant");
	ok(!strcmp(pgfix_attr(pgfix_find(m, "db/auth/tables/users/schema.sql"), "pg.table"), "users"),
	   "schema.sql attributes name the table");
}

/* ---- psql loads it -------------------------------------------------- */

static int write_file(const char *path, const struct buf *b)
{
	FILE *f = fopen(path, "w");
	int good = f && fwrite(b->data, 1, b->len, f) == b->len;

	if (f && fclose(f) != 0)
		good = 0;
	return good;
}

static void test_psql_loads(const struct pgfix_sink *m, struct pg_snap *s)
{
	char dir[] = "/tmp/vault-pgsnap-XXXXXX", path[512], ci[128];
	char **argv;
	size_t argc = 0, nfiles = 0, differ = 0;
	struct pgfix_sink m2;
	struct pg_snap *s2 = NULL;
	struct buf err = BUF_INIT, create = BUF_INIT;
	int r;

	if (!mkdtemp(dir)) {
		ok(0, "mkdtemp");
		return;
	}
	argv = calloc(m->n * 2 + 16, sizeof(*argv));
	argv[argc++] = "psql";
	argv[argc++] = "-X";
	argv[argc++] = "-q";
	argv[argc++] = "-v";
	argv[argc++] = "ON_ERROR_STOP=1";
	argv[argc++] = "-d";
	argv[argc++] = pgfix_db2;
	argv[argc++] = "-f";
	snprintf(path, sizeof(path), "%s/schema.sql", dir);
	write_file(path, &pgfix_find(m, "db/schema.sql")->content);
	argv[argc++] = strdup(path);
	/* triggers and FK checks off while loading, as pg_restore would */
	argv[argc++] = "-c";
	argv[argc++] = "SET session_replication_role = replica";
	for (size_t i = 0; i < m->n; i++) {
		size_t l = strlen(m->e[i].path);

		if (l < 9 || strcmp(m->e[i].path + l - 9, "/data.sql"))
			continue;
		snprintf(path, sizeof(path), "%s/%zu.sql", dir, nfiles++);
		write_file(path, &m->e[i].content);
		argv[argc++] = "-f";
		argv[argc++] = strdup(path);
	}
	snprintf(path, sizeof(path), "%s/sequences.sql", dir);
	write_file(path, &pgfix_find(m, "db/sequences.sql")->content);
	argv[argc++] = "-f";
	argv[argc++] = strdup(path);
	argv[argc] = NULL;

	buf_addf(&create, "CREATE DATABASE \"%s\"", pgfix_db2);
	ok(pgfix_admin((char *)create.data), "empty database %s", pgfix_db2);
	is_int(pgfix_run(argv, NULL), 0, "psql -f schema.sql, then %zu data.sql files and sequences.sql",
	       nfiles);

	memset(&m2, 0, sizeof(m2));
	snprintf(ci, sizeof(ci), "dbname=%s", pgfix_db2);
	r = pgfix_capture(ci, 2, &m2, &s2, &err);
	is_int(r, 0, "capture the reloaded database %s", (char *)err.data);
	for (size_t i = 0; r == 0 && i < pg_snap_ntables(s); i++) {
		const struct pg_snap_table *t = pg_snap_table(s, i);
		int found = 0;

		for (size_t j = 0; j < pg_snap_ntables(s2); j++) {
			const struct pg_snap_table *u = pg_snap_table(s2, j);

			if (strcmp(t->path, u->path))
				continue;
			found = 1;
			if (t->rows != u->rows || strcmp(t->xxh3, u->xxh3)) {
				diag("%s differs after reload", t->path);
				differ++;
			}
		}
		if (!found)
			differ++;
	}
	is_int(differ, 0, "every table reloads to the same rows and checksum");
	ok(r == 0 && !strcmp(pgfix_text(m, "db/sequences.sql"), pgfix_text(&m2, "db/sequences.sql")),
	   "sequence values reloaded");
	pg_snap_free(s2);
	pgfix_sink_release(&m2);
	for (size_t i = 8; i < argc; i++)
		if (argv[i][0] == '/')
			unlink(argv[i]);
	for (size_t i = 8; i < argc; i++)
		if (argv[i][0] == '/')
			free(argv[i]);
	free(argv);
	rmdir(dir);
	buf_release(&err);
	buf_release(&create);
}

int main(void)
{
	struct buf err = BUF_INIT, ci = BUF_INIT;
	struct pgfix_sink m1, m2;
	struct pg_snap *s1 = NULL;
	size_t differ = 0;
	int r;

	if (!pgfix_start())
		return done_testing();
	buf_addf(&ci, "dbname=%s", pgfix_db);

	memset(&m1, 0, sizeof(m1));
	memset(&m2, 0, sizeof(m2));
	r = pgfix_capture((char *)ci.data, 3, &m1, &s1, &err);
	is_int(r, 0, "capture with 3 jobs %s", (char *)err.data);
	if (r == 0) {
		test_tree(&m1, s1);
		test_contents(&m1, s1);
	}
	buf_reset(&err);
	r = pgfix_capture((char *)ci.data, 1, &m2, NULL, &err);
	is_int(r, 0, "capture again with 1 connection %s", (char *)err.data);
	for (size_t i = 0; r == 0 && i < m1.n; i++) {
		const struct pgfix_entry *b = pgfix_find(&m2, m1.e[i].path);

		if (!strcmp(m1.e[i].path, "db/meta.json"))
			continue;
		/* db/schema.sql too: pg_dump's \restrict lines, whose key is
		 * random on every run, are not kept */
		if (!b || b->content.len != m1.e[i].content.len ||
		    memcmp(b->content.data, m1.e[i].content.data, b->content.len) ||
		    (pgfix_attr(b, "pg.xxh3") &&
		     strcmp(pgfix_attr(b, "pg.xxh3"),
			    pgfix_attr(&m1.e[i], "pg.xxh3")))) {
			diag("%s differs between runs", m1.e[i].path);
			differ++;
		}
	}
	ok(r == 0 && m1.n == m2.n && differ == 0,
	   "two runs give the same entries, bytes (schema.sql too) and checksums");
	ok(r == 0 && !strstr(pgfix_text(&m1, "db/schema.sql"), "\n\\restrict ") &&
	   !strstr(pgfix_text(&m1, "db/schema.sql"), "\n\\unrestrict "),
	   "schema.sql holds no \\restrict / \\unrestrict line");
	if (s1)
		test_psql_loads(&m1, s1);

	pg_snap_free(s1);
	pgfix_sink_release(&m1);
	pgfix_sink_release(&m2);
	pgfix_db_drop();
	buf_release(&err);
	buf_release(&ci);
	return done_testing();
}

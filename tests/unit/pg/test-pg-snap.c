/*
 * test-pg-snap: the Postgres capture against a real server.
 *
 * Needs PGHOST and PGPORT pointing at a running server where PGUSER may
 * create databases (tests/test-lib.sh's pg_start provides one; so does
 * any throwaway cluster).  Without them the whole test is a TAP SKIP.
 *
 * Loads tests/fixtures/supabase.sql (under $VAULT_SRCDIR, else the
 * current directory) into a fresh database and checks:
 *  - entries come in strictly increasing manifest order, dirs first;
 *  - every table's data.sql rows equal psql's \copy of the same query
 *    as a multiset; generated columns are left out;
 *  - the pg.xxh3/pg.rows attributes and meta.json agree with the bytes;
 *  - two captures (parallel and single-connection) are byte-identical;
 *  - one instant: a writer inserting the same id into two tables in one
 *    transaction while the capture runs leaves equal id sets;
 *  - schema.sql, roles.sql, sequences.sql and per-table DDL hold what
 *    they should, and psql loads schema.sql + every data.sql into an
 *    empty database that then captures to the same checksums;
 *  - errors: an unreachable host names host and port, a too-old pg_dump
 *    names versions and the package, a role without privileges names the
 *    table; a password in the connection string appears nowhere.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <libpq-fe.h>
#include <xxhash.h>

#include "../tap.h"
#include "manifest.h"
#include "pg-conn.h"
#include "pg-dump.h"
#include "pg-snap.h"

/* ---- a sink that keeps everything in memory --------------------------- */

struct mattr {
	char *key, *val;
};

struct mentry {
	char *path;
	int dir;
	uint32_t mode;
	int how;
	struct buf content;
	struct mattr *attrs;
	size_t nattrs;
};

struct mstream {
	struct buf content;
	int how, ended;
};

struct msink {
	struct mentry *e;
	size_t n, cap;
	int open;
	size_t bad_order, bad_calls;
	long streams_live;
	void (*after_stream)(struct msink *m, const struct mstream *st);
	void *user;
};

static struct mentry *msink_push(struct msink *m, const char *path)
{
	struct mentry *e;

	if (m->n && manifest_path_cmp(m->e[m->n - 1].path,
				      strlen(m->e[m->n - 1].path), path,
				      strlen(path)) >= 0) {
		diag("out of order: %s after %s", path, m->e[m->n - 1].path);
		m->bad_order++;
	}
	if (m->n == m->cap) {
		m->cap = m->cap ? 2 * m->cap : 64;
		m->e = realloc(m->e, m->cap * sizeof(*m->e));
		if (!m->e)
			abort();
	}
	e = &m->e[m->n++];
	memset(e, 0, sizeof(*e));
	e->path = strdup(path);
	buf_init(&e->content, 0);
	return e;
}

static int ms_dir(void *ctx, const char *path, uint32_t mode)
{
	struct msink *m = ctx;
	struct mentry *e;

	if (m->open)
		m->bad_calls++;
	e = msink_push(m, path);
	e->dir = 1;
	e->mode = mode;
	return 0;
}

static int ms_begin(void *ctx, const char *path, uint32_t mode,
		    enum pg_sink_chunking how)
{
	struct msink *m = ctx;
	struct mentry *e;

	if (m->open)
		m->bad_calls++;
	e = msink_push(m, path);
	e->mode = mode;
	e->how = how;
	m->open = 1;
	return 0;
}

static int ms_write(void *ctx, const void *p, size_t n)
{
	struct msink *m = ctx;

	if (!m->open || !m->n)
		return m->bad_calls++, -EINVAL;
	return buf_add(&m->e[m->n - 1].content, p, n);
}

static int ms_attr(void *ctx, const char *key, const char *val)
{
	struct msink *m = ctx;
	struct mentry *e = &m->e[m->n - 1];

	if (!m->open)
		return m->bad_calls++, -EINVAL;
	e->attrs = realloc(e->attrs, (e->nattrs + 1) * sizeof(*e->attrs));
	e->attrs[e->nattrs].key = strdup(key);
	e->attrs[e->nattrs].val = strdup(val);
	e->nattrs++;
	return 0;
}

static int ms_end(void *ctx)
{
	struct msink *m = ctx;

	if (!m->open)
		return m->bad_calls++, -EINVAL;
	m->open = 0;
	return 0;
}

static int ms_stream_begin(void *ctx, enum pg_sink_chunking how, void **out)
{
	struct msink *m = ctx;
	struct mstream *st = calloc(1, sizeof(*st));

	if (!st)
		return -ENOMEM;
	buf_init(&st->content, 0);
	st->how = how;
	m->streams_live++;
	*out = st;
	return 0;
}

static int ms_stream_write(void *ctx, void *h, const void *p, size_t n)
{
	struct msink *m = ctx;
	struct mstream *st = h;

	if (st->ended)
		return m->bad_calls++, -EINVAL;
	return buf_add(&st->content, p, n);
}

static int ms_stream_end(void *ctx, void *h)
{
	struct msink *m = ctx;
	struct mstream *st = h;

	if (st->ended)
		return m->bad_calls++, -EINVAL;
	st->ended = 1;
	if (m->after_stream)
		m->after_stream(m, st);
	return 0;
}

static void ms_stream_free(void *ctx, void *h)
{
	struct msink *m = ctx;
	struct mstream *st = h;

	buf_release(&st->content);
	free(st);
	m->streams_live--;
}

static int ms_begin_stream(void *ctx, const char *path, uint32_t mode,
			   void *h)
{
	struct msink *m = ctx;
	struct mstream *st = h;
	struct mentry *e;

	if (m->open || !st->ended)
		m->bad_calls++;
	e = msink_push(m, path);
	e->mode = mode;
	e->how = st->how;
	buf_add(&e->content, st->content.data, st->content.len);
	ms_stream_free(m, st);
	m->open = 1;
	return 0;
}

#define MSINK(m) { (m), ms_dir, ms_begin, ms_write, ms_attr, ms_end, \
		   ms_stream_begin, ms_stream_write, ms_stream_end, \
		   ms_begin_stream, ms_stream_free }

static void msink_release(struct msink *m)
{
	for (size_t i = 0; i < m->n; i++) {
		free(m->e[i].path);
		buf_release(&m->e[i].content);
		for (size_t a = 0; a < m->e[i].nattrs; a++) {
			free(m->e[i].attrs[a].key);
			free(m->e[i].attrs[a].val);
		}
		free(m->e[i].attrs);
	}
	free(m->e);
	memset(m, 0, sizeof(*m));
}

static const struct mentry *msink_find(const struct msink *m, const char *path)
{
	for (size_t i = 0; i < m->n; i++)
		if (!strcmp(m->e[i].path, path))
			return &m->e[i];
	return NULL;
}

static const char *mattr(const struct mentry *e, const char *key)
{
	for (size_t a = 0; e && a < e->nattrs; a++)
		if (!strcmp(e->attrs[a].key, key))
			return e->attrs[a].val;
	return NULL;
}

static const char *text_of(const struct msink *m, const char *path)
{
	const struct mentry *e = msink_find(m, path);

	return e ? (const char *)e->content.data : "";
}

/* ---- helpers ------------------------------------------------------------ */

static char dbname[64], db2name[64];
static const char *fixture_path;

/* Runs argv (PATH lookup), stdout into out (may be NULL).  Returns the
 * exit status or -1. */
static int run(char *const argv[], struct buf *out)
{
	int p[2], status;
	pid_t pid;
	char chunk[65536];
	ssize_t n;

	if (pipe(p) < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		dup2(p[1], 1);
		close(p[0]);
		close(p[1]);
		/* psql output in the capture's session settings */
		setenv("PGOPTIONS", "-c DateStyle=ISO -c IntervalStyle=postgres"
		       " -c TimeZone=UTC -c extra_float_digits=3 -c bytea_output=hex"
		       " -c client_min_messages=error",
		       1);
		setenv("PGCLIENTENCODING", "UTF8", 1);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(p[1]);
	while ((n = read(p[0], chunk, sizeof(chunk))) > 0)
		if (out)
			buf_add(out, chunk, (size_t)n);
	close(p[0]);
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

static void quiet(void *arg, const char *msg)
{
}

static int admin_exec(const char *sql)
{
	PGconn *c = PQconnectdb("dbname=postgres");
	PGresult *r;
	int good;

	if (PQstatus(c) != CONNECTION_OK) {
		diag("admin connection: %s", PQerrorMessage(c));
		PQfinish(c);
		return 0;
	}
	PQsetNoticeProcessor(c, quiet, NULL);
	r = PQexec(c, sql);
	good = PQresultStatus(r) == PGRES_COMMAND_OK;
	if (!good)
		diag("%s: %s", sql, PQerrorMessage(c));
	PQclear(r);
	PQfinish(c);
	return good;
}

static int psql_file(const char *db, const char *file)
{
	char *argv[] = { "psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d",
			 (char *)db, "-f", (char *)file, NULL };

	return run(argv, NULL);
}

static int capture(const char *conninfo, int jobs, struct msink *m,
		   struct pg_snap **keep, struct buf *err)
{
	struct pg_snap_opts o;
	struct pg_sink k = MSINK(m);
	struct pg_snap *s = NULL;
	int r;

	memset(&o, 0, sizeof(o));
	o.conninfo = conninfo;
	o.jobs = jobs;
	r = pg_snap_open(&s, &o, err);
	if (r == 0)
		r = pg_snap_emit(s, &k, err);
	if (keep && r == 0)
		*keep = s;
	else
		pg_snap_free(s);
	return r;
}

static int line_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Splits rows into sorted lines (modifies the buffer). */
static char **sorted_lines(char *p, size_t len, size_t *n)
{
	char **v = NULL;
	size_t k = 0;

	while (len) {
		char *e = memchr(p, '\n', len);

		if (!e)
			break;
		*e = '\0';
		v = realloc(v, (k + 1) * sizeof(*v));
		v[k++] = p;
		len -= (size_t)(e - p) + 1;
		p = e + 1;
	}
	qsort(v, k, sizeof(*v), line_cmp);
	*n = k;
	return v;
}

/* The rows part of a data.sql: after the first line, before "\.\n". */
static int data_rows(const struct mentry *e, const char **rows, size_t *len)
{
	const char *p = (const char *)e->content.data;
	const char *nl = memchr(p, '\n', e->content.len);
	size_t total = e->content.len;

	if (!nl || total < 3 || memcmp(p + total - 3, "\\.\n", 3))
		return -1;
	*rows = nl + 1;
	*len = (size_t)(p + total - 3 - (nl + 1));
	return 0;
}

static int same_multiset(const char *a, size_t alen, const char *b,
			 size_t blen)
{
	char *x = malloc(alen + 1), *y = malloc(blen + 1);
	size_t nx, ny;
	char **lx, **ly;
	int same;

	memcpy(x, a, alen);
	memcpy(y, b, blen);
	lx = sorted_lines(x, alen, &nx);
	ly = sorted_lines(y, blen, &ny);
	same = nx == ny;
	for (size_t i = 0; same && i < nx; i++)
		same = !strcmp(lx[i], ly[i]);
	free(lx);
	free(ly);
	free(x);
	free(y);
	return same;
}

/* Equal once pg_dump's \restrict / \unrestrict lines are dropped. */
static int same_but_restrict(const struct buf *a, const struct buf *b)
{
	struct buf x = BUF_INIT, y = BUF_INIT;
	const struct buf *in[2] = { a, b };
	struct buf *out[2] = { &x, &y };
	int same;

	for (int k = 0; k < 2; k++) {
		const char *p = (const char *)in[k]->data, *end = p + in[k]->len;

		while (p < end) {
			const char *e = memchr(p, '\n', (size_t)(end - p));
			size_t n = e ? (size_t)(e - p) + 1 : (size_t)(end - p);

			if (strncmp(p, "\\restrict ", 10) && strncmp(p, "\\unrestrict ", 12))
				buf_add(out[k], p, n);
			p += n;
		}
	}
	same = x.len == y.len && !memcmp(x.data, y.data, x.len);
	buf_release(&x);
	buf_release(&y);
	return same;
}

/* ---- tests ------------------------------------------------------------------ */

static void test_tree(const struct msink *m, struct pg_snap *s)
{
	const struct pg_catalog *cat = pg_snap_catalog(s);
	size_t ndata = 0, bad_copy = 0, bad_sum = 0, bad_attr = 0;

	is_int(m->bad_order, 0, "entries in strictly increasing manifest order");
	is_int(m->bad_calls, 0, "begin/write/attr/end calls well nested");
	is_int(m->streams_live, 0, "every stream attached");
	ok(m->n && m->e[0].dir && !strcmp(m->e[0].path, "db"), "db/ comes first");
	ok(msink_find(m, "db/meta.json") && msink_find(m, "db/roles.sql") &&
	   msink_find(m, "db/schema.sql") && msink_find(m, "db/sequences.sql"),
	   "meta.json, roles.sql, schema.sql, sequences.sql");
	ok(msink_find(m, "db/Sales & Ops/tables/Orders/data.sql") &&
	   msink_find(m, "db/Sales & Ops/tables/ünïcode ☃/data.sql") &&
	   msink_find(m, "db/public/tables/Mixed Case%2FName/data.sql") &&
	   msink_find(m, "db/public/tables/100%25/data.sql"),
	   "raw names with %%XX only for %% and /");
	ok(msink_find(m, "db/auth/tables/users/data.sql") &&
	   msink_find(m, "db/auth/tables/identities/data.sql") &&
	   msink_find(m, "db/storage/tables/buckets/data.sql") &&
	   msink_find(m, "db/storage/tables/objects/data.sql") &&
	   msink_find(m, "db/supabase_migrations/tables/schema_migrations/data.sql"),
	   "auth, storage and supabase_migrations tables captured");
	ok(msink_find(m, "db/public/tables/measurements_2023/data.sql") &&
	   msink_find(m, "db/public/tables/measurements_2024_h0/data.sql") &&
	   !msink_find(m, "db/public/tables/measurements/data.sql") &&
	   !msink_find(m, "db/public/tables/measurements_2024/data.sql") &&
	   msink_find(m, "db/public/tables/measurements/schema.sql"),
	   "leaf partitions have data; partitioned parents only schema.sql");
	ok(!msink_find(m, "db/extensions") && !msink_find(m, "db/public/tables/todo_stats"),
	   "extension-only schema and materialized view not captured as tables");
	ok(msink_find(m, "db/large_objects/424242") &&
	   strstr(text_of(m, "db/large_objects/424242"), "payload ☃"),
	   "large object captured");

	for (size_t i = 0; i < cat->ntables; i++) {
		const struct pg_catalog_table *t = &cat->tables[i];
		const struct pg_snap_table *pt = pg_snap_table(s, i);
		struct buf path = BUF_INIT, q = BUF_INIT, out = BUF_INIT;
		const struct mentry *e;
		const char *rows;
		size_t rlen;
		char hex[33];
		XXH128_canonical_t canon;

		if (!pt->has_data)
			continue;
		ndata++;
		buf_addf(&path, "%s/data.sql", pt->path);
		e = msink_find(m, (char *)path.data);
		if (!e || data_rows(e, &rows, &rlen) < 0) {
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
			char *argv[] = { "psql", "-X", "-q", "-d", dbname, "-c",
					 (char *)q.data, NULL };

			if (run(argv, &out) != 0 ||
			    !same_multiset(rows, rlen, (char *)out.data, out.len)) {
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
			if (!mattr(e, "pg.xxh3") || strcmp(mattr(e, "pg.xxh3"), hex) ||
			    strcmp(pt->xxh3, hex) || !mattr(e, "pg.rows") ||
			    strcmp(mattr(e, "pg.rows"), nrows) || pt->rows != lines ||
			    strcmp(mattr(e, "pg.schema"), t->schema) ||
			    strcmp(mattr(e, "pg.table"), t->name)) {
				diag("attributes wrong for %s", (char *)path.data);
				bad_attr++;
			}
			buf_reset(&out);
			buf_addf(&out, "\"rows\": %zu, \"bytes\": %zu, \"xxh3_128\": \"%s\"",
				 lines, rlen, hex);
			if (!strstr(pg_snap_meta_json(s), (char *)out.data) ||
			    !strstr(text_of(m, "db/meta.json"), (char *)out.data)) {
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
	ok(!strcmp(text_of(m, "db/meta.json"), pg_snap_meta_json(s)),
	   "and is the document pg_snap_meta_json returns");
}

static void test_contents(const struct msink *m, struct pg_snap *s)
{
	const char *users = text_of(m, "db/auth/tables/users/data.sql");
	const char *meta = text_of(m, "db/meta.json");
	const char *roles = text_of(m, "db/roles.sql");
	const char *seqs = text_of(m, "db/sequences.sql");
	const char *objddl = text_of(m, "db/storage/tables/objects/schema.sql");
	const char *userddl = text_of(m, "db/auth/tables/users/schema.sql");

	ok(!strncmp(users, "COPY \"auth\".\"users\" (\"instance_id\", \"id\",", 41) &&
	   !strstr(strchr(users, '\n') ? users : "", "email_domain"),
	   "auth.users header lists columns, generated email_domain left out");
	ok(!strstr(text_of(m, "db/storage/tables/objects/data.sql"), "path_tokens") &&
	   !strstr(text_of(m, "db/public/tables/counters/data.sql"), "\"total\"") &&
	   strstr(text_of(m, "db/public/tables/counters/data.sql"), "\"qty\")"),
	   "generated columns excluded from storage.objects and counters");
	ok(strstr(text_of(m, "db/public/tables/event_log/data.sql"),
		  "2024-05-01 10:00:00+00\tlogin\t{\"ip\": \"10.0.0.1\"}\n"
		  "2024-05-01 10:00:00+00\tlogin\t{\"ip\": \"10.0.0.1\"}\n") != NULL,
	   "duplicate rows of the table without a primary key kept");
	ok(strstr(text_of(m, "db/public/tables/profiles/data.sql"),
		  "\\\\x00ff10275c0a") &&
	   strstr(text_of(m, "db/public/tables/profiles/data.sql"),
		  "line one\\nline two\\ttabbed \\\\ backslash\\r\\nend") &&
	   strstr(text_of(m, "db/public/tables/profiles/data.sql"),
		  "{\"a,b\",NULL,\"c\\\\\"d\",\"e\\\\\\\\f\",\"\",\"NULL\"}"),
	   "bytea, escapes and arrays with NULLs and commas in COPY text");
	ok(strstr(text_of(m, "db/public/tables/todos/data.sql"),
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
	ok(strstr(text_of(m, "db/schema.sql"), "CREATE POLICY \"Owner deletes\" ON storage.objects") &&
	   strstr(text_of(m, "db/schema.sql"), "CREATE PUBLICATION supabase_realtime"),
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
	ok(!strcmp(mattr(msink_find(m, "db/auth/tables/users/schema.sql"), "pg.table"), "users"),
	   "schema.sql attributes name the table");
}

/* ---- one instant ----------------------------------------------------------- */

struct writer {
	pthread_t th;
	_Atomic int stop;
	_Atomic long inserted;
	_Atomic int failed;
};

static void *writer_main(void *arg)
{
	struct writer *w = arg;
	char ci[128];
	PGconn *c;
	long id = 1000;

	snprintf(ci, sizeof(ci), "dbname=%s", dbname);
	c = PQconnectdb(ci);
	if (PQstatus(c) != CONNECTION_OK) {
		w->failed = 1;
		PQfinish(c);
		return NULL;
	}
	while (!w->stop) {
		char sql[256];
		PGresult *r;

		snprintf(sql, sizeof(sql),
			 "BEGIN; INSERT INTO public.pair_a VALUES (%ld, 'w');"
			 " INSERT INTO public.pair_b VALUES (%ld, 'w'); COMMIT;",
			 id, id);
		r = PQexec(c, sql);
		if (PQresultStatus(r) != PGRES_COMMAND_OK)
			w->failed = 1;
		PQclear(r);
		id++;
		w->inserted++;
		usleep(2000);
	}
	PQfinish(c);
	return NULL;
}

/* Slow down between the two tables so the writer commits in between. */
static void slow_after_pair_a(struct msink *m, const struct mstream *st)
{
	static const char head[] = "COPY \"public\".\"pair_a\" ";
	struct writer *w = m->user;
	long before = w->inserted;

	if (st->content.len < sizeof(head) - 1 ||
	    memcmp(st->content.data, head, sizeof(head) - 1))
		return;
	for (int i = 0; i < 100 && w->inserted < before + 20; i++)
		usleep(10000);
}

/* The first column of every row, sorted; *copy owns the strings. */
static char **ids_of(const struct mentry *e, size_t *n, char **copy)
{
	const char *rows;
	size_t len;
	char **v;

	*n = 0;
	*copy = NULL;
	if (!e || data_rows(e, &rows, &len) < 0)
		return NULL;
	*copy = malloc(len + 1);
	memcpy(*copy, rows, len);
	v = sorted_lines(*copy, len, n);
	for (size_t i = 0; i < *n; i++) {
		char *tab = strchr(v[i], '\t');

		if (tab)
			*tab = '\0';
	}
	qsort(v, *n, sizeof(*v), line_cmp);
	return v;
}

static void test_one_instant(const char *conninfo)
{
	struct msink m;
	struct writer w;
	struct buf err = BUF_INIT;
	const struct mentry *a, *b;
	size_t na, nb;
	char **ia, **ib, *ca, *cb;
	int r, same;

	memset(&m, 0, sizeof(m));
	memset(&w, 0, sizeof(w));
	m.after_stream = slow_after_pair_a;
	m.user = &w;
	pthread_create(&w.th, NULL, writer_main, &w);
	while (w.inserted < 10 && !w.failed)
		usleep(1000);
	r = capture(conninfo, 2, &m, NULL, &err);
	w.stop = 1;
	pthread_join(w.th, NULL);
	is_int(r, 0, "capture under a concurrent writer %s", (char *)err.data);
	ok(!w.failed && w.inserted > 30, "writer committed %ld pairs meanwhile",
	   w.inserted);
	a = msink_find(&m, "db/public/tables/pair_a/data.sql");
	b = msink_find(&m, "db/public/tables/pair_b/data.sql");
	ia = ids_of(a, &na, &ca);
	ib = ids_of(b, &nb, &cb);
	same = na == nb && na > 10;
	for (size_t i = 0; same && i < na; i++)
		same = !strcmp(ia[i], ib[i]);
	ok(same, "pair_a and pair_b hold the same ids (%zu, %zu)", na, nb);
	ok(na < 10 + (size_t)w.inserted, "the writer's later pairs are not in the snapshot");
	free(ia);
	free(ib);
	free(ca);
	free(cb);
	msink_release(&m);
	buf_release(&err);
}

/* ---- psql loads it ----------------------------------------------------------- */

static int write_file(const char *path, const struct buf *b)
{
	FILE *f = fopen(path, "w");
	int good = f && fwrite(b->data, 1, b->len, f) == b->len;

	if (f && fclose(f) != 0)
		good = 0;
	return good;
}

static void test_psql_loads(const struct msink *m, struct pg_snap *s)
{
	char dir[] = "/tmp/vault-pgsnap-XXXXXX", path[512], ci[128];
	char **argv;
	size_t argc = 0, nfiles = 0, differ = 0;
	struct msink m2;
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
	argv[argc++] = db2name;
	argv[argc++] = "-f";
	snprintf(path, sizeof(path), "%s/schema.sql", dir);
	write_file(path, &msink_find(m, "db/schema.sql")->content);
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
	write_file(path, &msink_find(m, "db/sequences.sql")->content);
	argv[argc++] = "-f";
	argv[argc++] = strdup(path);
	argv[argc] = NULL;

	buf_addf(&create, "CREATE DATABASE \"%s\"", db2name);
	ok(admin_exec((char *)create.data), "empty database %s", db2name);
	is_int(run(argv, NULL), 0, "psql -f schema.sql, then %zu data.sql files and sequences.sql",
	       nfiles);

	memset(&m2, 0, sizeof(m2));
	snprintf(ci, sizeof(ci), "dbname=%s", db2name);
	r = capture(ci, 2, &m2, &s2, &err);
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
	ok(r == 0 && !strcmp(text_of(m, "db/sequences.sql"), text_of(&m2, "db/sequences.sql")),
	   "sequence values reloaded");
	pg_snap_free(s2);
	msink_release(&m2);
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

/* ---- errors and secrets --------------------------------------------------- */

static void test_errors(void)
{
	struct msink m;
	struct buf err = BUF_INIT, ci = BUF_INIT;
	struct pg_snap_opts o;
	struct pg_snap *s = NULL;
	char fake[] = "/tmp/vault-fake-pg_dump-XXXXXX";
	int r, fd;

	memset(&m, 0, sizeof(m));
	r = capture("host=127.0.0.1 port=1 connect_timeout=2", 1, &m, NULL, &err);
	ok(r == -ECONNREFUSED && strstr((char *)err.data, "127.0.0.1:1"),
	   "unreachable server: %d, %s", r, (char *)err.data);
	buf_reset(&err);
	r = capture("postgres://u:pw@[::1", 1, &m, NULL, &err);
	ok(r == -EINVAL && !strstr((char *)err.data, "pw@"),
	   "unparsable URL, password scrubbed: %s", (char *)err.data);
	buf_reset(&err);
	r = capture("port=99999", 1, &m, NULL, &err);
	ok(r == -EINVAL && strstr((char *)err.data, "99999"), "bad port: %s",
	   (char *)err.data);

	/* a pg_dump that is too old */
	fd = mkstemp(fake);
	if (fd >= 0) {
		const char sh[] = "#!/bin/sh\necho 'pg_dump (PostgreSQL) 9.6.24'\n";

		if (write(fd, sh, sizeof(sh) - 1) < 0)
			diag("write failed");
		close(fd);
		chmod(fake, 0700);
	}
	memset(&o, 0, sizeof(o));
	buf_addf(&ci, "dbname=%s", dbname);
	o.conninfo = (char *)ci.data;
	o.pg_dump = fake;
	buf_reset(&err);
	r = pg_snap_open(&s, &o, &err);
	ok(r == -ENOPKG && strstr((char *)err.data, "9.6.24") &&
	   strstr((char *)err.data, "postgresql-client-"),
	   "too-old pg_dump: %s", (char *)err.data);
	pg_snap_free(s);
	s = NULL;
	unlink(fake);

	/* a role that may not read a table: the error names it */
	admin_exec("DROP ROLE IF EXISTS vault_limited");
	admin_exec("CREATE ROLE vault_limited LOGIN");
	buf_reset(&ci);
	buf_addf(&ci, "dbname=%s user=vault_limited", dbname);
	buf_reset(&err);
	r = capture((char *)ci.data, 1, &m, NULL, &err);
	ok(r == -EACCES && strstr((char *)err.data, "permission denied"),
	   "no privilege: %d, %s", r, (char *)err.data);
	ok(strstr((char *)err.data, "table ") != NULL, "the error names the table");
	msink_release(&m);
	buf_release(&err);
	buf_release(&ci);
}

static int contains_secret(const struct msink *m, const char *secret)
{
	for (size_t i = 0; i < m->n; i++) {
		if (strstr(m->e[i].path, secret) ||
		    memmem(m->e[i].content.data, m->e[i].content.len, secret,
			   strlen(secret)))
			return 1;
		for (size_t a = 0; a < m->e[i].nattrs; a++)
			if (strstr(m->e[i].attrs[a].val, secret))
				return 1;
	}
	return 0;
}

static void test_no_leak(void)
{
	struct msink m;
	struct buf err = BUF_INIT, ci = BUF_INIT;
	struct pg_snap *s = NULL;
	const char *secret = "Sekr1t-pa55word";
	int r;

	struct pg_dump_tool real;
	struct pg_snap_opts o;
	struct pg_sink k = MSINK(&m);
	char dir[] = "/tmp/vault-pgdump-XXXXXX", wrap[600];
	struct buf sh = BUF_INIT, args = BUF_INIT, env = BUF_INIT;
	FILE *f;

	memset(&m, 0, sizeof(m));
	/* a pg_dump wrapper that records what it was given, then runs the
	 * real one */
	r = pg_dump_find(&real, NULL, 100000, &err);
	if (r < 0 || !mkdtemp(dir)) {
		ok(0, "set up a pg_dump wrapper %s", (char *)err.data);
		return;
	}
	snprintf(wrap, sizeof(wrap), "%s/pg_dump", dir);
	buf_addf(&sh, "#!/bin/sh\n[ \"$1\" = --version ] && exec '%s' --version\n"
		 "printf '%%s\\n' \"$@\" > '%s/args'\n"
		 "printf '%%s\\n' \"$PGPASSWORD\" > '%s/env'\n"
		 "exec '%s' \"$@\"\n", real.path, dir, dir, real.path);
	f = fopen(wrap, "w");
	if (f) {
		fwrite(sh.data, 1, sh.len, f);
		fclose(f);
	}
	chmod(wrap, 0700);

	/* trust authentication ignores the password; libpq still sends it
	 * to pg_dump's connection the same way */
	buf_addf(&ci, "postgres:///%s?password=%s", dbname, secret);
	memset(&o, 0, sizeof(o));
	o.conninfo = (char *)ci.data;
	o.jobs = 2;
	o.pg_dump = wrap;
	r = pg_snap_open(&s, &o, &err);
	if (r == 0)
		r = pg_snap_emit(s, &k, &err);
	is_int(r, 0, "capture with a password in the URL %s", (char *)err.data);
	snprintf(wrap, sizeof(wrap), "%s/args", dir);
	f = fopen(wrap, "r");
	if (f) {
		char line[4096];

		while (fgets(line, sizeof(line), f))
			buf_addstr(&args, line);
		fclose(f);
		unlink(wrap);
	}
	snprintf(wrap, sizeof(wrap), "%s/env", dir);
	f = fopen(wrap, "r");
	if (f) {
		char line[4096];

		while (fgets(line, sizeof(line), f))
			buf_addstr(&env, line);
		fclose(f);
		unlink(wrap);
	}
	ok(strstr((char *)args.data, "--snapshot=") && strstr((char *)args.data, "--schema-only") &&
	   !strstr((char *)args.data, secret),
	   "pg_dump ran under the snapshot without the password in argv");
	ok(strstr((char *)env.data, secret) != NULL, "pg_dump got the password as PGPASSWORD");
	snprintf(wrap, sizeof(wrap), "%s/pg_dump", dir);
	unlink(wrap);
	rmdir(dir);
	pg_dump_tool_release(&real);
	buf_release(&sh);
	buf_release(&args);
	buf_release(&env);
	if (r == 0) {
		ok(strstr(pg_snap_source(s), ":***@") && !strstr(pg_snap_source(s), secret),
		   "source masked: %s", pg_snap_source(s));
		ok(!contains_secret(&m, secret) && !strstr(pg_snap_meta_json(s), secret),
		   "password absent from every file, attribute and meta.json");
	}
	pg_snap_free(s);
	msink_release(&m);
	buf_release(&err);
	buf_release(&ci);
}

/* ---- connection strings (no server needed) ------------------------------ */

static void test_conninfo(void)
{
	struct pg_conn_info *ci = NULL;
	struct buf err = BUF_INIT, child = BUF_INIT, pw = BUF_INIT;
	struct pg_conn_retry rt = { 2, 10 };
	PGconn *c = NULL;
	int r;

	r = pg_conn_info_parse(&ci, "postgres://alice:s3cr%40t@db.example.com:6543/app?sslmode=disable", &err);
	ok(r == 0 && !strcmp(pg_conn_info_describe(ci),
			     "postgres://alice:***@db.example.com:6543/app") &&
	   !strcmp(pg_conn_info_target(ci), "db.example.com:6543"),
	   "URL described with the password masked: %s", ci ? pg_conn_info_describe(ci) : "");
	if (r == 0) {
		r = pg_conn_info_child(ci, &child, &pw);
		ok(r == 0 && !strcmp((char *)pw.data, "s3cr@t") &&
		   !strstr((char *)child.data, "s3cr") &&
		   strstr((char *)child.data, "host='db.example.com'") &&
		   strstr((char *)child.data, "sslmode='disable'"),
		   "child conninfo without the password: %s", (char *)child.data);
	}
	pg_conn_info_free(ci);
	ci = NULL;
	r = pg_conn_info_parse(&ci, "host=h port=5 user=u dbname='my db' password='it\\'s'", &err);
	ok(r == 0 && !strcmp(pg_conn_info_describe(ci), "postgres://u:***@h:5/my%20db"),
	   "key=value described: %s", ci ? pg_conn_info_describe(ci) : "");
	buf_reset(&child);
	buf_reset(&pw);
	if (r == 0) {
		pg_conn_info_child(ci, &child, &pw);
		ok(strstr((char *)child.data, "dbname='my db'") && !strcmp((char *)pw.data, "it's"),
		   "quoted values survive: %s", (char *)child.data);
	}
	pg_conn_info_free(ci);
	ci = NULL;
	r = pg_conn_info_parse(&ci, "host=h port=5 user=u dbname=d", &err);
	ok(r == 0 && !strcmp(pg_conn_info_describe(ci), "postgres://u@h:5/d"),
	   "no password, no mask");
	pg_conn_info_free(ci);
	ci = NULL;
	buf_reset(&err);
	r = pg_conn_info_parse(&ci, "host=h password=topsecret junk", &err);
	ok(r == -EINVAL && ci == NULL && err.len && !strstr((char *)err.data, "topsecret"),
	   "bad key=value string: %s", (char *)err.data);
	buf_reset(&err);
	r = pg_conn_info_parse(&ci, "postgres://u:topsecret@[::1/db", &err);
	ok(r == -EINVAL && err.len && !strstr((char *)err.data, "topsecret"),
	   "bad URL, password scrubbed: %s", (char *)err.data);
	buf_reset(&err);
	r = pg_conn_info_parse(&ci, "nonsense_key=1", &err);
	ok(r == -EINVAL && strstr((char *)err.data, "nonsense_key"),
	   "unknown keyword: %s", (char *)err.data);
	buf_reset(&err);
	r = pg_conn_info_parse(&ci, "host=127.0.0.1 port=1 connect_timeout=2", &err);
	if (r == 0)
		r = pg_conn_open(&c, ci, &rt, &err);
	ok(r == -ECONNREFUSED && c == NULL &&
	   strstr((char *)err.data, "127.0.0.1:1") &&
	   strstr((char *)err.data, "after 3 attempts"),
	   "unreachable: retried, names host and port: %s", (char *)err.data);
	pg_conn_info_free(ci);
	buf_release(&err);
	buf_release(&child);
	buf_wipe(&pw);
}

int main(void)
{
	const char *src = getenv("VAULT_SRCDIR");
	struct buf fx = BUF_INIT, create = BUF_INIT, err = BUF_INIT, ci = BUF_INIT;
	struct msink m1, m2;
	struct pg_snap *s1 = NULL;
	size_t differ = 0;
	int r;

	test_conninfo();
	if (!getenv("PGHOST") || !getenv("PGPORT")) {
		skip("PGHOST/PGPORT not set: no PostgreSQL server for the capture tests");
		return done_testing();
	}
	buf_addf(&fx, "%s/tests/fixtures/supabase.sql", src ? src : ".");
	fixture_path = (char *)fx.data;
	snprintf(dbname, sizeof(dbname), "vault_pgsnap_%ld", (long)getpid());
	snprintf(db2name, sizeof(db2name), "vault_pgsnap_%ld_reload", (long)getpid());
	buf_addf(&create, "CREATE DATABASE \"%s\" ENCODING 'UTF8' TEMPLATE template0",
		 dbname);
	if (!admin_exec((char *)create.data)) {
		ok(0, "create database %s", dbname);
		return done_testing();
	}
	is_int(psql_file(dbname, fixture_path), 0, "load %s", fixture_path);
	buf_addf(&ci, "dbname=%s", dbname);

	memset(&m1, 0, sizeof(m1));
	memset(&m2, 0, sizeof(m2));
	r = capture((char *)ci.data, 3, &m1, &s1, &err);
	is_int(r, 0, "capture with 3 jobs %s", (char *)err.data);
	if (r == 0) {
		test_tree(&m1, s1);
		test_contents(&m1, s1);
	}
	buf_reset(&err);
	r = capture((char *)ci.data, 1, &m2, NULL, &err);
	is_int(r, 0, "capture again with 1 connection %s", (char *)err.data);
	for (size_t i = 0; r == 0 && i < m1.n; i++) {
		const struct mentry *b = msink_find(&m2, m1.e[i].path);

		if (!strcmp(m1.e[i].path, "db/meta.json"))
			continue;
		/* pg_dump's \restrict key is random on every run */
		if (!strcmp(m1.e[i].path, "db/schema.sql")) {
			if (!b || !same_but_restrict(&m1.e[i].content, &b->content)) {
				diag("db/schema.sql differs beyond its \\restrict key");
				differ++;
			}
			continue;
		}
		if (!b || b->content.len != m1.e[i].content.len ||
		    memcmp(b->content.data, m1.e[i].content.data, b->content.len) ||
		    (mattr(b, "pg.xxh3") && strcmp(mattr(b, "pg.xxh3"),
						   mattr(&m1.e[i], "pg.xxh3")))) {
			diag("%s differs between runs", m1.e[i].path);
			differ++;
		}
	}
	ok(r == 0 && m1.n == m2.n && differ == 0,
	   "two runs give the same entries, bytes and checksums");
	if (s1)
		test_psql_loads(&m1, s1);
	test_one_instant((char *)ci.data);
	test_errors();
	test_no_leak();

	pg_snap_free(s1);
	msink_release(&m1);
	msink_release(&m2);
	buf_reset(&create);
	buf_addf(&create, "DROP DATABASE IF EXISTS \"%s\"", dbname);
	admin_exec((char *)create.data);
	buf_reset(&create);
	buf_addf(&create, "DROP DATABASE IF EXISTS \"%s\"", db2name);
	admin_exec((char *)create.data);
	admin_exec("DROP ROLE IF EXISTS vault_limited");
	buf_release(&fx);
	buf_release(&create);
	buf_release(&err);
	buf_release(&ci);
	return done_testing();
}

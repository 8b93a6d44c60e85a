/*
 * test-rs-exec: restore against a real server.
 *
 * Needs PGHOST and PGPORT pointing at a running server where PGUSER is
 * a superuser (tests/test-lib.sh's pg_start provides one; so does any
 * throwaway cluster).  Without them the whole test is a TAP SKIP.
 *
 * Loads tests/fixtures/supabase.sql (under $VAULT_SRCDIR, else the
 * current directory) into a source database, captures it with pg-snap
 * into a directory, and restores from that directory:
 *  - everything into an empty database: pg_dump --schema-only of source
 *    and target are identical once comment lines are dropped, every
 *    table's rows (generated columns included) and every sequence value
 *    are identical, the log says verified;
 *  - --dry-run changes nothing, and an empty-mode plan on a full
 *    database lists the conflicts;
 *  - one table in clean mode into a drifted copy: that table equals the
 *    snapshot (extra column and row gone), other tables keep their drift
 *    and the foreign key that points at it from an unselected table is
 *    back;
 *  - merge mode adds missing rows and keeps changed ones; with
 *    --on-conflict update it overwrites them;
 *  - failures leave the target byte for byte unchanged: a trigger that
 *    raises part-way, a foreign key from an unselected table to a row
 *    only the target has (the error names constraint and row), a
 *    connection killed with pg_terminate_backend mid-load, a damaged
 *    data.sql (verification against meta.json);
 *  - large objects: 424242 comes back byte for byte (and a 1.5 MiB one
 *    in pieces); empty mode refuses an existing one and changes nothing,
 *    merge keeps it, clean warns; the plan counts them; a listing with
 *    a name that is not an oid, or a count unlike meta.json's, is
 *    refused;
 *  - a managed target (auth and storage exist, owned by platform roles;
 *    the restoring role is not a superuser): rows land in auth and
 *    storage, their DDL is kept, and the skipped statements are logged
 *    with their reasons.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <libpq-fe.h>

#include "../tap.h"
#include "pg-names.h"
#include "pg-snap.h"
#include "rs-exec.h"
#include "rs-input.h"
#include "rs-lo.h"
#include "rs-log.h"
#include "rs-plan.h"
#include "rs-select.h"
#include "json.h"

static char tree[256];		/* the captured tree lives here */
static char pfx[32];		/* database name prefix */
static char role[48];		/* the managed test's restoring role */
static char gone[48];		/* a role dropped after the capture */
static const char *fixture_path;
static struct rs_plan_source src;
static struct rs_input input;

/* ---- a sink that writes the tree into a directory ---------------------- */

struct dsink {
	FILE *f;
};

struct dstream {
	struct buf b;
};

static int ds_path(struct buf *b, const char *path)
{
	buf_reset(b);
	return buf_addf(b, "%s/%s", tree, path);
}

static int ds_dir(void *ctx, const char *path, uint32_t mode)
{
	struct buf p = BUF_INIT;
	int r = ds_path(&p, path);

	if (r == 0 && mkdir((char *)p.data, 0700) < 0 && errno != EEXIST)
		r = -errno;
	buf_release(&p);
	return r;
}

static int ds_begin(void *ctx, const char *path, uint32_t mode,
		    enum pg_sink_chunking how)
{
	struct dsink *d = ctx;
	struct buf p = BUF_INIT;
	int r = ds_path(&p, path);

	d->f = r == 0 ? fopen((char *)p.data, "wb") : NULL;
	buf_release(&p);
	return d->f ? 0 : -EIO;
}

static int ds_write(void *ctx, const void *p, size_t n)
{
	struct dsink *d = ctx;

	return fwrite(p, 1, n, d->f) == n ? 0 : -EIO;
}

static int ds_attr(void *ctx, const char *k, const char *v)
{
	return 0;
}

static int ds_end(void *ctx)
{
	struct dsink *d = ctx;
	int r = fclose(d->f) == 0 ? 0 : -EIO;

	d->f = NULL;
	return r;
}

static int ds_stream_begin(void *ctx, enum pg_sink_chunking how, void **st)
{
	struct dstream *s = calloc(1, sizeof(*s));

	if (!s)
		return -ENOMEM;
	buf_init(&s->b, 0);
	*st = s;
	return 0;
}

static int ds_stream_write(void *ctx, void *st, const void *p, size_t n)
{
	return buf_add(&((struct dstream *)st)->b, p, n);
}

static int ds_stream_end(void *ctx, void *st)
{
	return 0;
}

static void ds_stream_free(void *ctx, void *st)
{
	struct dstream *s = st;

	buf_release(&s->b);
	free(s);
}

static int ds_begin_stream(void *ctx, const char *path, uint32_t mode, void *st)
{
	struct dstream *s = st;
	int r = ds_begin(ctx, path, mode, PG_SINK_GENERAL);

	if (r == 0 && s->b.len)
		r = ds_write(ctx, s->b.data, s->b.len);
	ds_stream_free(ctx, st);
	return r;
}

/* ---- helpers ------------------------------------------------------------ */

static void quiet(void *arg, const char *msg)
{
}

static PGconn *connect_db(const char *db, const char *user)
{
	struct buf ci = BUF_INIT;
	PGconn *c;

	buf_addf(&ci, "dbname=%s%s%s", db, user ? " user=" : "", user ? user : "");
	c = PQconnectdb((char *)ci.data);
	buf_release(&ci);
	if (PQstatus(c) != CONNECTION_OK) {
		diag("connect %s: %s", db, PQerrorMessage(c));
		PQfinish(c);
		return NULL;
	}
	PQsetNoticeProcessor(c, quiet, NULL);
	return c;
}

static int exec_on(const char *db, const char *sql)
{
	PGconn *c = connect_db(db, NULL);
	PGresult *r;
	int good;

	if (!c)
		return 0;
	r = PQexec(c, sql);
	good = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
	if (!good)
		diag("%s: %s", sql, PQerrorMessage(c));
	PQclear(r);
	PQfinish(c);
	return good;
}

static int admin(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int admin(const char *fmt, ...)
{
	struct buf b = BUF_INIT;
	va_list ap;
	int good;

	va_start(ap, fmt);
	buf_vaddf(&b, fmt, ap);
	va_end(ap);
	good = exec_on("postgres", (char *)b.data);
	buf_release(&b);
	return good;
}

static const char *dbn(const char *name)
{
	static char v[8][64];
	static int k;

	k = (k + 1) % 8;
	snprintf(v[k], sizeof(v[k]), "%s_%s", pfx, name);
	return v[k];
}

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

/* pg_dump of db without comment lines and \restrict keys. */
static int dump(const char *db, int schema_only, struct buf *out)
{
	char *argv[] = { "pg_dump", "--no-sync", schema_only ? "--schema-only" : "--no-comments",
			 "-d", (char *)db, NULL };
	struct buf raw = BUF_INIT;
	const char *p, *end;
	int r = run(argv, &raw);

	p = (const char *)raw.data;
	end = p + raw.len;
	buf_reset(out);
	while (p < end) {
		const char *e = memchr(p, '\n', (size_t)(end - p));
		size_t n = e ? (size_t)(e - p) + 1 : (size_t)(end - p);

		if (strncmp(p, "--", 2) && strncmp(p, "\\restrict", 9) &&
		    strncmp(p, "\\unrestrict", 11))
			buf_add(out, p, n);
		p += n;
	}
	buf_release(&raw);
	return r;
}

static int same_buf(const struct buf *a, const struct buf *b)
{
	return a->len == b->len && !memcmp(a->data, b->data, a->len);
}

static void first_diff(const struct buf *a, const struct buf *b)
{
	size_t i = 0;

	while (i < a->len && i < b->len && a->data[i] == b->data[i])
		i++;
	diag("differ at byte %zu: [%.80s] vs [%.80s]", i,
	     (char *)a->data + (i > 40 ? i - 40 : 0), (char *)b->data + (i > 40 ? i - 40 : 0));
}

static int line_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Rows of schema.name (all columns) as sorted lines, into out. */
static int table_rows(PGconn *c, const char *schema, const char *name,
		      struct buf *out)
{
	struct buf sql = BUF_INIT, raw = BUF_INIT;
	PGresult *res;
	char *line, **v = NULL;
	size_t n = 0;
	int len, good = 1;

	buf_reset(out);
	buf_addstr(&sql, "COPY (SELECT * FROM ONLY ");
	pg_names_quote_qualified(&sql, schema, name);
	buf_addstr(&sql, ") TO STDOUT");
	res = PQexec(c, (char *)sql.data);
	if (PQresultStatus(res) != PGRES_COPY_OUT) {
		diag("%s: %s", (char *)sql.data, PQerrorMessage(c));
		good = 0;
	}
	PQclear(res);
	while (good && (len = PQgetCopyData(c, &line, 0)) > 0) {
		buf_add(&raw, line, (size_t)len);
		PQfreemem(line);
	}
	while ((res = PQgetResult(c)))
		PQclear(res);
	for (char *p = (char *)raw.data, *e; good && (e = strchr(p, '\n')); p = e + 1) {
		*e = '\0';
		v = realloc(v, (n + 1) * sizeof(*v));
		v[n++] = p;
	}
	qsort(v, n, sizeof(*v), line_cmp);
	for (size_t i = 0; i < n; i++)
		buf_addf(out, "%s\n", v[i]);
	free(v);
	buf_release(&sql);
	buf_release(&raw);
	return good;
}

static int same_table(PGconn *a, PGconn *b, const char *schema, const char *name)
{
	struct buf x = BUF_INIT, y = BUF_INIT;
	int same = table_rows(a, schema, name, &x) && table_rows(b, schema, name, &y) &&
		   same_buf(&x, &y);

	if (!same)
		diag("table %s.%s differs", schema, name);
	buf_release(&x);
	buf_release(&y);
	return same;
}

static int same_sequences(PGconn *a, PGconn *b)
{
	static const char sql[] =
		"SELECT schemaname || '.' || sequencename || '=' || COALESCE(last_value::text, 'null')"
		" FROM pg_sequences ORDER BY 1";
	PGresult *x = PQexec(a, sql), *y = PQexec(b, sql);
	int same = PQntuples(x) == PQntuples(y) && PQntuples(x) > 0;

	for (int i = 0; same && i < PQntuples(x); i++)
		if (strcmp(PQgetvalue(x, i, 0), PQgetvalue(y, i, 0))) {
			diag("sequence %s vs %s", PQgetvalue(x, i, 0), PQgetvalue(y, i, 0));
			same = 0;
		}
	PQclear(x);
	PQclear(y);
	return same;
}

static long long scalar(PGconn *c, const char *sql)
{
	PGresult *r = PQexec(c, sql);
	long long v = -1;

	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
		v = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	else
		diag("%s: %s", sql, PQerrorMessage(c));
	PQclear(r);
	return v;
}

struct kill_ctx {
	int pid;
	int at, seen, killed;
};

static void kill_progress(void *ctx, const char *step, const struct rs_meta_table *t)
{
	struct kill_ctx *k = ctx;

	if (strcmp(step, "load") || ++k->seen != k->at)
		return;
	k->killed = admin("SELECT pg_terminate_backend(%d)", k->pid);
	/* let the backend go before the next statement */
	usleep(200000);
}

/*
 * Restores into db as user (NULL: PGUSER).  tables/schemas/only narrow
 * the selection.  Returns rs_exec_run's result; log and err are filled.
 */
/* --jobs of the restores (test_jobs sets 2) */
static int restore_jobs = 1;

static int restore(const char *db, const char *user, enum rs_plan_mode mode,
		   enum rs_plan_on_conflict oc, const char *const *tables,
		   unsigned only, int dry_run, struct kill_ctx *kill,
		   const struct rs_input *in, struct rs_log *log,
		   struct rs_plan **plan, struct buf *err)
{
	struct rs_select_opts so = { only, NULL, tables };
	struct rs_exec_opts eo;
	struct rs_select sel;
	struct pg_conn_info *ci = NULL;
	struct buf cs = BUF_INIT;
	PGconn *c = connect_db(db, user);
	int r;

	buf_reset(err);
	if (!c)
		return -ECONNREFUSED;
	r = rs_select_build(&sel, src.meta, &so, err);
	memset(&eo, 0, sizeof(eo));
	eo.mode = mode;
	eo.on_conflict = oc;
	eo.managed = -1;
	eo.dry_run = dry_run;
	eo.jobs = restore_jobs;
	if (kill) {
		kill->pid = PQbackendPID(c);
		eo.progress = kill_progress;
		eo.progress_ctx = kill;
	}
	buf_addf(&cs, "dbname=%s%s%s", db, user ? " user=" : "", user ? user : "");
	if (r == 0)
		r = pg_conn_info_parse(&ci, (char *)cs.data, err);
	eo.ci = ci;
	if (r == 0)
		r = rs_exec_run(c, in ? in : &input, &src, &sel, &eo, log, plan, err);
	if (r < 0)
		diag("restore into %s: %s", db, (char *)err->data);
	pg_conn_info_free(ci);
	buf_release(&cs);
	rs_select_release(&sel);
	PQfinish(c);
	return r;
}

static int copy_db(const char *from, const char *to)
{
	return admin("DROP DATABASE IF EXISTS \"%s\"", to) &&
	       admin("CREATE DATABASE \"%s\" TEMPLATE \"%s\"", to, from);
}

static const struct rs_log_table *log_table(const struct rs_log *l,
					    const char *schema, const char *name)
{
	for (size_t i = 0; i < l->ntables; i++)
		if (!strcmp(l->tables[i].schema, schema) && !strcmp(l->tables[i].name, name))
			return &l->tables[i];
	return NULL;
}

/* Large object oid's bytes as hex (lo_get), into out; "" when absent. */
static int lo_hex(PGconn *c, unsigned oid, struct buf *out)
{
	char q[128];
	PGresult *r;
	int good;

	buf_reset(out);
	snprintf(q, sizeof(q), "SELECT encode(lo_get(m.oid), 'hex') FROM pg_largeobject_metadata m"
		 " WHERE m.oid = %u", oid);
	r = PQexec(c, q);
	good = PQresultStatus(r) == PGRES_TUPLES_OK;
	if (!good)
		diag("%s: %s", q, PQerrorMessage(c));
	else if (PQntuples(r) == 1)
		buf_addstr(out, PQgetvalue(r, 0, 0));
	PQclear(r);
	return good;
}

/* ---- the scenarios --------------------------------------------------------- */

static int capture_source(void)
{
	struct pg_snap_opts o;
	struct dsink d = { NULL };
	struct pg_sink k = { &d, ds_dir, ds_begin, ds_write, ds_attr, ds_end,
			     ds_stream_begin, ds_stream_write, ds_stream_end,
			     ds_begin_stream, ds_stream_free };
	struct pg_snap *s = NULL;
	struct buf err = BUF_INIT, ci = BUF_INIT;
	char *argv[] = { "psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d",
			 (char *)dbn("src"), "-f", (char *)fixture_path, NULL };
	int r;

	if (!admin("CREATE DATABASE \"%s\" ENCODING 'UTF8' TEMPLATE template0", dbn("src")) || run(argv, NULL) != 0)
		return -1;
	/* a role that will be gone when the restore runs */
	if (!admin("CREATE ROLE \"%s\" LOGIN CONNECTION LIMIT 3 IN ROLE app_reader", gone))
		return -1;
	/* something for the sequences to carry */
	exec_on(dbn("src"), "SELECT nextval('public.counters_n_seq'); SELECT setval('public.tickets_id_seq', 41)");
	memset(&o, 0, sizeof(o));
	buf_addf(&ci, "dbname=%s", dbn("src"));
	o.conninfo = (char *)ci.data;
	o.jobs = 2;
	r = pg_snap_open(&s, &o, &err);
	if (r == 0)
		r = pg_snap_emit(s, &k, &err);
	if (r < 0)
		diag("capture: %s", (char *)err.data);
	pg_snap_free(s);
	buf_release(&err);
	buf_release(&ci);
	return r;
}

static void test_full(void)
{
	struct rs_log log;
	struct buf err = BUF_INIT, a = BUF_INIT, b = BUF_INIT, j = BUF_INIT;
	PGconn *cs, *ct;
	size_t same = 0, all = 0, verified = 0;
	int r;

	ok(admin("CREATE DATABASE \"%s\" ENCODING 'UTF8' TEMPLATE template0", dbn("full")), "empty target database");
	rs_log_init(&log);
	ok(rs_log_target(&log, "postgresql://tester:s3cret-pw@localhost:5432/full", &err) == 0,
	   "the log's target from a connection URL");
	r = restore(dbn("full"), NULL, RS_MODE_EMPTY, 0, NULL, 0, 0, NULL, NULL, &log,
		    NULL, &err);
	is_int(r, 0, "full restore into an empty database");
	ok(log.status && !strcmp(log.status, "ok") && log.verification &&
	   !strcmp(log.verification, "ok"), "log: status ok, verification ok");
	ok(dump(dbn("src"), 1, &a) == 0 && dump(dbn("full"), 1, &b) == 0, "pg_dump --schema-only of both");
	ok(same_buf(&a, &b), "schema dumps identical once comment lines are dropped");
	if (!same_buf(&a, &b))
		first_diff(&a, &b);
	cs = connect_db(dbn("src"), NULL);
	ct = connect_db(dbn("full"), NULL);
	for (size_t i = 0; cs && ct && i < src.meta->ntables; i++) {
		const struct rs_meta_table *t = &src.meta->tables[i];

		if (t->partitioned)
			continue;
		all++;
		same += same_table(cs, ct, t->schema, t->name);
	}
	ok(all > 20 && same == all, "every table's rows identical, generated columns included (%zu/%zu)",
	   same, all);
	ok(cs && ct && same_sequences(cs, ct), "every sequence value identical");
	ok(cs && ct && scalar(ct, "SELECT count(*) FROM public.todo_stats") ==
	   scalar(cs, "SELECT count(*) FROM public.todo_stats"), "materialized view refreshed");
	for (size_t i = 0; i < log.ntables; i++) {
		verified += log.tables[i].verified == 1;
		if (log.tables[i].verified != 1 && strcmp(log.tables[i].name, "measurements") &&
		    strcmp(log.tables[i].name, "measurements_2024"))
			diag("not verified: %s.%s", log.tables[i].schema, log.tables[i].name);
	}
	is_int(verified, all, "every table verified by row count and XXH3-128");
	{
		const struct rs_log_table *lt = log_table(&log, "public", "todos");

		ok(lt && lt->before == -1 && lt->after == 250 && lt->inserted == 250,
		   "log: todos missing before, 250 rows after, 250 inserted");
	}
	ok(rs_log_json(&log, &j) == 0 && strstr((char *)j.data, "\"status\": \"ok\"") &&
	   strstr((char *)j.data, "\"target\": \"postgres://tester:***@localhost:5432/full\"") &&
	   !strstr((char *)j.data, "s3cret") &&
	   strstr((char *)j.data, "\"skipped_statements\": [\n    {\"where\": \"preamble") &&
	   strstr((char *)j.data, "meta-command"),
	   "log JSON: status, target with the password masked, the \\restrict line");
	{
		struct json *doc = NULL;

		ok(json_parse(&doc, j.data, j.len, NULL) == 0 &&
		   json_len(json_get(doc, "tables")) == src.meta->ntables,
		   "the log is valid JSON with every table");
		json_free(doc);
	}
	/* the fixture's large object 424242 */
	is_int(src.nlo, 1, "the snapshot lists one large object");
	ok(src.nlo == 1 && src.lo_oids[0] == 424242, "named by its oid, 424242");
	ok(cs && ct && lo_hex(cs, 424242, &a) && lo_hex(ct, 424242, &b) && a.len > 0 &&
	   same_buf(&a, &b), "large object 424242 restored with the same bytes (lo_get)");
	ok(log.lo && log.nlo_created == 1 && log.lo_created[0] == 424242 &&
	   log.lo_verified == 1 && log.lo_kept == 0, "log: one large object created and verified");
	ok(strstr((char *)j.data, "\"large_objects\": {\"created\": 1, \"kept\": 0, \"verified\": 1}") &&
	   strstr((char *)j.data, "\"large_objects_created\": [424242]"),
	   "log JSON: large object counts and the oid created");
	ok(ct && scalar(ct, "SELECT count(*) FROM pg_largeobject_metadata m JOIN pg_roles r"
			" ON r.oid = m.lomowner WHERE r.rolname = current_user") == 1,
	   "the restored large object belongs to the restoring role");
	PQfinish(cs);
	PQfinish(ct);
	rs_log_release(&log);
	buf_release(&err);
	buf_release(&a);
	buf_release(&b);
	buf_release(&j);
}

static void test_roles(void)
{
	struct rs_log log;
	struct buf err = BUF_INIT, q = BUF_INIT;
	PGconn *c;
	int r;

	ok(admin("DROP ROLE \"%s\"", gone), "a captured role dropped");
	rs_log_init(&log);
	r = restore(dbn("full"), NULL, RS_MODE_MERGE, 0, NULL, RS_ONLY_ROLES, 0, NULL, NULL,
		    &log, NULL, &err);
	is_int(r, 0, "--only roles");
	c = connect_db(dbn("full"), NULL);
	buf_addf(&q, "SELECT count(*) FROM pg_roles WHERE rolname = '%s' AND rolcanlogin"
		 " AND rolconnlimit = 3", gone);
	ok(c && scalar(c, (char *)q.data) == 1, "the missing role is created with its attributes");
	buf_reset(&q);
	buf_addf(&q, "SELECT count(*) FROM pg_auth_members a JOIN pg_roles r ON r.oid = a.roleid"
		 " JOIN pg_roles m ON m.oid = a.member WHERE r.rolname = 'app_reader'"
		 " AND m.rolname = '%s'", gone);
	ok(c && scalar(c, (char *)q.data) == 1, "and its membership added");
	ok(c && scalar(c, "SELECT count(*) FROM pg_roles WHERE rolname = 'app_writer' AND rolconnlimit = 5") == 1,
	   "existing roles kept");
	PQfinish(c);
	rs_log_release(&log);
	buf_release(&err);
	buf_release(&q);
}

static void test_dry_run(void)
{
	struct rs_log log;
	struct rs_plan *plan = NULL;
	struct buf err = BUF_INIT, before = BUF_INIT, after = BUF_INIT, txt = BUF_INIT;
	int r;

	dump(dbn("full"), 0, &before);
	rs_log_init(&log);
	r = restore(dbn("full"), NULL, RS_MODE_EMPTY, 0, NULL, 0, 1, NULL, NULL, &log,
		    &plan, &err);
	is_int(r, -EEXIST, "empty mode into a full database is refused, even in a dry run");
	ok(strstr((char *)err.data, "TABLE public.todos already exists") &&
	   strstr((char *)err.data, "SCHEMA auth already exists"), "the conflicts are listed");
	ok(plan && rs_plan_text(plan, &src, &txt) == 0 &&
	   strstr((char *)txt.data, "CONFLICT: TABLE public.todos already exists"),
	   "the plan text lists conflicts");
	rs_plan_free(plan);
	plan = NULL;
	rs_log_release(&log);
	rs_log_init(&log);
	buf_reset(&txt);
	r = restore(dbn("full"), NULL, RS_MODE_MERGE, 0, NULL, 0, 1, NULL, NULL, &log,
		    &plan, &err);
	is_int(r, 0, "merge dry run");
	ok(log.status && !strcmp(log.status, "dry-run"), "log status dry-run");
	ok(plan && rs_plan_text(plan, &src, &txt) == 0 &&
	   strstr((char *)txt.data, "public.event_log: snapshot 5 rows, target 5 rows; none: skipped, no primary key"),
	   "merge plan skips the table without a primary key");
	buf_reset(&txt);
	{
		struct json *doc = NULL;

		ok(plan && rs_plan_json(plan, &src, NULL, &txt) == 0 &&
		   json_parse(&doc, txt.data, txt.len, NULL) == 0 &&
		   !strcmp(json_get_str(doc, "mode"), "merge") &&
		   json_len(json_get(doc, "tables")) == src.meta->ntables,
		   "the plan as valid JSON");
		json_free(doc);
	}
	dump(dbn("full"), 0, &after);
	ok(same_buf(&before, &after), "dry run changed nothing");
	rs_plan_free(plan);
	rs_log_release(&log);
	buf_release(&err);
	buf_release(&before);
	buf_release(&after);
	buf_release(&txt);
}

static void test_clean_table(void)
{
	static const char *const orders[] = { "Sales & Ops.Orders", NULL };
	struct rs_log log;
	struct buf err = BUF_INIT, lines_before = BUF_INIT, x = BUF_INIT, y = BUF_INIT;
	struct buf sa = BUF_INIT, sb = BUF_INIT;
	PGconn *cp, *cd;
	int r;

	ok(copy_db(dbn("full"), dbn("drift")), "a copy to drift");
	ok(exec_on(dbn("drift"),
		   "ALTER TABLE \"Sales & Ops\".\"Orders\" ADD COLUMN extra int DEFAULT 7;"
		   "UPDATE \"Sales & Ops\".\"Orders\" SET \"Customer\" = 'changed' WHERE order_no = 1;"
		   "INSERT INTO \"Sales & Ops\".\"Orders\" VALUES (3, 'new', 1, NULL, 1);"
		   "UPDATE public.pair_b SET note = 'drifted' WHERE id = 3;"),
	   "drift: a column, a changed row, a new row; another table changed too");
	cd = connect_db(dbn("drift"), NULL);
	table_rows(cd, "Sales & Ops", "lines", &lines_before);
	PQfinish(cd);
	rs_log_init(&log);
	r = restore(dbn("drift"), NULL, RS_MODE_CLEAN, 0, orders, 0, 0, NULL, NULL, &log,
		    NULL, &err);
	is_int(r, 0, "clean restore of one table");
	cp = connect_db(dbn("full"), NULL);
	cd = connect_db(dbn("drift"), NULL);
	ok(cp && cd && same_table(cp, cd, "Sales & Ops", "Orders"),
	   "the table equals the snapshot (column and row gone)");
	ok(cd && scalar(cd, "SELECT count(*) FROM information_schema.columns WHERE table_name = 'Orders' AND column_name = 'extra'") == 0,
	   "the extra column is gone");
	ok(cd && scalar(cd, "SELECT count(*) FROM public.pair_b WHERE note = 'drifted'") == 1,
	   "another table keeps its drift");
	ok(cd && table_rows(cd, "Sales & Ops", "lines", &x) && same_buf(&x, &lines_before),
	   "the referencing table's rows untouched");
	ok(cd && scalar(cd, "SELECT count(*) FROM pg_constraint WHERE conname = 'lines_order_no_fkey'") == 1,
	   "its foreign key is back");
	dump(dbn("full"), 1, &sa);
	dump(dbn("drift"), 1, &sb);
	ok(same_buf(&sa, &sb), "schema identical to the pristine restore");
	if (!same_buf(&sa, &sb))
		first_diff(&sa, &sb);
	{
		const struct rs_log_table *lt = log_table(&log, "Sales & Ops", "Orders");

		ok(lt && lt->before == 3 && lt->after == 2 && lt->verified == 1,
		   "log: 3 rows before, 2 after, verified");
	}
	PQfinish(cp);
	PQfinish(cd);
	rs_log_release(&log);

	/* a table with views on it: clean mode would drop them */
	{
		static const char *const todos[] = { "public.todos", NULL };

		rs_log_init(&log);
		r = restore(dbn("drift"), NULL, RS_MODE_CLEAN, 0, todos, 0, 1, NULL, NULL, &log,
			    NULL, &err);
		ok(r == -EEXIST && strstr((char *)err.data, "view public.active_todos") &&
		   strstr((char *)err.data, "materialized view public.todo_stats"),
		   "clean of a table with views on it is refused, naming the views");
		rs_log_release(&log);
	}

	/* everything in clean mode: the whole database equals the snapshot */
	ok(exec_on(dbn("drift"),
		   "ALTER TABLE public.todos ADD COLUMN extra text;"
		   "DROP INDEX auth.users_instance_id_idx;"
		   "DELETE FROM public.todos WHERE id > 200;"
		   "CREATE OR REPLACE FUNCTION public.touch_updated_at() RETURNS trigger"
		   " LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;"),
	   "more drift: a column, a missing index, rows, a function body");
	rs_log_init(&log);
	r = restore(dbn("drift"), NULL, RS_MODE_CLEAN, 0, NULL, 0, 0, NULL, NULL, &log, NULL, &err);
	is_int(r, 0, "clean restore of everything");
	dump(dbn("src"), 1, &sa);
	dump(dbn("drift"), 1, &sb);
	ok(same_buf(&sa, &sb), "schema identical to the source");
	if (!same_buf(&sa, &sb))
		first_diff(&sa, &sb);
	cp = connect_db(dbn("src"), NULL);
	cd = connect_db(dbn("drift"), NULL);
	{
		size_t same = 0, all = 0;

		for (size_t i = 0; cp && cd && i < src.meta->ntables; i++) {
			if (src.meta->tables[i].partitioned)
				continue;
			all++;
			same += same_table(cp, cd, src.meta->tables[i].schema, src.meta->tables[i].name);
		}
		ok(all && same == all, "every table equals the source (%zu/%zu)", same, all);
	}
	ok(cp && cd && same_sequences(cp, cd), "sequences equal the source");
	PQfinish(cp);
	PQfinish(cd);
	rs_log_release(&log);
	buf_release(&err);
	buf_release(&lines_before);
	buf_release(&x);
	buf_release(&y);
	buf_release(&sa);
	buf_release(&sb);
}

static void test_merge(void)
{
	static const char *const todos[] = { "public.todos", NULL };
	struct rs_log log;
	struct buf err = BUF_INIT;
	PGconn *c;
	const struct rs_log_table *lt;
	int r;

	ok(copy_db(dbn("full"), dbn("merge")), "a copy to merge into");
	ok(exec_on(dbn("merge"),
		   "DELETE FROM public.todos WHERE id <= 10;"
		   "UPDATE public.todos SET task = 'changed here' WHERE id = 11;"
		   "INSERT INTO public.todos (id, user_id, task) VALUES (1000, '11111111-1111-1111-1111-111111111111', 'target only');"),
	   "10 rows deleted, one changed, one added");
	rs_log_init(&log);
	r = restore(dbn("merge"), NULL, RS_MODE_MERGE, RS_ON_CONFLICT_NOTHING, todos, 0, 0,
		    NULL, NULL, &log, NULL, &err);
	is_int(r, 0, "merge restore");
	c = connect_db(dbn("merge"), NULL);
	ok(c && scalar(c, "SELECT count(*) FROM public.todos") == 251, "missing rows added (250 + 1)");
	ok(c && scalar(c, "SELECT count(*) FROM public.todos WHERE id = 11 AND task = 'changed here'") == 1,
	   "existing row kept");
	ok(c && scalar(c, "SELECT count(*) FROM public.todos WHERE id = 1000") == 1, "target-only row kept");
	lt = log_table(&log, "public", "todos");
	ok(lt && lt->inserted == 10 && lt->updated == 0 && lt->skipped == 240 &&
	   lt->before == 241 && lt->after == 251 && lt->verified == 1,
	   "log: 10 inserted, 240 skipped, 241 -> 251, verified");
	rs_log_release(&log);
	rs_log_init(&log);
	r = restore(dbn("merge"), NULL, RS_MODE_MERGE, RS_ON_CONFLICT_UPDATE, todos, 0, 0,
		    NULL, NULL, &log, NULL, &err);
	is_int(r, 0, "merge restore with --on-conflict update");
	ok(c && scalar(c, "SELECT count(*) FROM public.todos WHERE id = 11 AND task = 'task number 11'") == 1,
	   "existing row overwritten");
	ok(c && scalar(c, "SELECT count(*) FROM public.todos") == 251, "still 251 rows");
	lt = log_table(&log, "public", "todos");
	ok(lt && lt->inserted == 0 && lt->updated == 250 && lt->verified == 1,
	   "log: 250 updated, verified over the snapshot's keys");
	rs_log_release(&log);

	/* every table: identity columns, partitions, the key cycle, odd names */
	ok(exec_on(dbn("merge"),
		   "DELETE FROM public.tickets; DELETE FROM public.measurements WHERE id % 3 = 0;"
		   "DELETE FROM \"Sales & Ops\".\"ünïcode ☃\" WHERE id = 2;"
		   "DELETE FROM public.\"Mixed Case/Name\";"),
	   "rows deleted across tables");
	rs_log_init(&log);
	r = restore(dbn("merge"), NULL, RS_MODE_MERGE, RS_ON_CONFLICT_NOTHING, NULL, 0, 0,
		    NULL, NULL, &log, NULL, &err);
	is_int(r, 0, "merge of everything");
	{
		size_t verified = 0, loaded = 0;

		for (size_t i = 0; i < log.ntables; i++) {
			if (log.tables[i].load && !strcmp(log.tables[i].load, "merge"))
				loaded++;
			verified += log.tables[i].verified == 1;
		}
		ok(loaded == 22 && verified == loaded, "22 tables merged and verified (%zu/%zu)",
		   verified, loaded);
	}
	ok(c && scalar(c, "SELECT count(*) FROM public.tickets") == 2 &&
	   scalar(c, "SELECT count(*) FROM public.measurements") == 200 &&
	   scalar(c, "SELECT count(*) FROM public.\"Mixed Case/Name\"") == 2,
	   "deleted rows are back");
	lt = log_table(&log, "public", "event_log");
	ok(lt && lt->skip_reason && strstr(lt->skip_reason, "no primary key") && lt->skipped == 5,
	   "the table without a primary key is skipped, with the reason");
	PQfinish(c);
	rs_log_release(&log);
	buf_release(&err);
}

/* A copy of the captured tree at tree-<suffix> (a file to change). */
static int tree_copy(const char *suffix, char *out, size_t n)
{
	struct buf cmd = BUF_INIT;
	int good;

	snprintf(out, n, "%s-%s", tree, suffix);
	buf_addf(&cmd, "rm -rf '%s' && cp -a '%s' '%s'", out, tree, out);
	good = system((char *)cmd.data) == 0;
	buf_release(&cmd);
	return good;
}

static int write_file(const char *path, const void *p, size_t n)
{
	FILE *f = fopen(path, "wb");
	int good = f && fwrite(p, 1, n, f) == n;

	if (f && fclose(f) != 0)
		good = 0;
	return good;
}

static void test_large_objects(void)
{
	static const char *const todos[] = { "public.todos", NULL };
	struct rs_log log;
	struct rs_plan *plan = NULL;
	struct rs_input in;
	struct rs_plan_source bad;
	struct buf err = BUF_INIT, a = BUF_INIT, b = BUF_INIT, txt = BUF_INIT;
	struct buf before = BUF_INIT, after = BUF_INIT;
	char dir[512], path[600];
	uint32_t *oids = NULL;
	size_t n = 0;
	int unlisted = 0, r;
	PGconn *cs, *ct;

	cs = connect_db(dbn("src"), NULL);
	lo_hex(cs, 424242, &a);

	/* empty mode: an existing large object is a conflict, nothing changes */
	ok(admin("CREATE DATABASE \"%s\" ENCODING 'UTF8' TEMPLATE template0", dbn("lo")) &&
	   exec_on(dbn("lo"), "SELECT lo_from_bytea(424242, 'target''s own')"),
	   "an empty database that has large object 424242");
	dump(dbn("lo"), 0, &before);
	rs_log_init(&log);
	r = restore(dbn("lo"), NULL, RS_MODE_EMPTY, 0, NULL, 0, 0, NULL, NULL, &log, &plan, &err);
	is_int(r, -EEXIST, "empty mode into a target holding the large object is refused");
	ok(strstr((char *)err.data, "large object 424242 already exists") != NULL,
	   "the refusal names large object 424242");
	ok(plan && rs_plan_text(plan, &src, &txt) == 0 &&
	   strstr((char *)txt.data, "Large objects: 0 to create, 1 kept") &&
	   strstr((char *)txt.data, "CONFLICT: large object 424242 already exists"),
	   "the plan text counts it and lists the conflict");
	dump(dbn("lo"), 0, &after);
	ok(same_buf(&before, &after), "target unchanged after the refusal");
	rs_plan_free(plan);
	plan = NULL;
	rs_log_release(&log);

	/* merge: the existing one is kept */
	ct = connect_db(dbn("lo"), NULL);
	rs_log_init(&log);
	r = restore(dbn("lo"), NULL, RS_MODE_MERGE, 0, NULL, 0, 0, NULL, NULL, &log, NULL, &err);
	is_int(r, 0, "merge restore into the target holding the large object");
	ok(ct && lo_hex(ct, 424242, &b) && !strcmp((char *)b.data, "7461726765742773206f776e"),
	   "merge keeps the existing large object as it was");
	ok(log.lo && log.lo_kept == 1 && log.nlo_created == 0 && log.lo_verified == 0,
	   "log: one large object kept, none created");
	rs_log_release(&log);

	/* merge: a missing one is created; the plan counts it */
	ok(ct && exec_on(dbn("lo"), "SELECT lo_unlink(424242)"), "the large object removed");
	rs_log_init(&log);
	buf_reset(&txt);
	r = restore(dbn("lo"), NULL, RS_MODE_MERGE, 0, NULL, 0, 1, NULL, NULL, &log, &plan, &err);
	is_int(r, 0, "merge dry run");
	ok(plan && rs_plan_text(plan, &src, &txt) == 0 &&
	   strstr((char *)txt.data, "Large objects: 1 to create, 0 kept\n"), "plan text: 1 to create, 0 kept");
	buf_reset(&txt);
	{
		struct json *doc = NULL;
		const struct json *lo;
		int64_t v = -1;

		ok(plan && rs_plan_json(plan, &src, NULL, &txt) == 0 &&
		   json_parse(&doc, txt.data, txt.len, NULL) == 0 &&
		   (lo = json_get(doc, "large_objects")) &&
		   json_int(json_get(lo, "create"), &v) == 0 && v == 1 &&
		   json_int(json_get(lo, "keep"), &v) == 0 && v == 0 &&
		   json_bool(json_get(lo, "selected")) == 1,
		   "plan JSON: large_objects create 1, keep 0, selected");
		json_free(doc);
	}
	rs_plan_free(plan);
	plan = NULL;
	rs_log_release(&log);
	rs_log_init(&log);
	r = restore(dbn("lo"), NULL, RS_MODE_MERGE, 0, NULL, 0, 0, NULL, NULL, &log, NULL, &err);
	is_int(r, 0, "merge restore");
	ok(ct && lo_hex(ct, 424242, &b) && b.len && same_buf(&a, &b),
	   "merge creates the missing large object with the snapshot's bytes");
	ok(log.nlo_created == 1 && log.lo_verified == 1, "log: created and verified");
	rs_log_release(&log);

	/* clean: existing ones are kept, and the plan says so */
	ok(exec_on(dbn("lo"), "SELECT lo_unlink(424242); SELECT lo_from_bytea(424242, 'changed')"),
	   "the large object changed in the target");
	rs_log_init(&log);
	buf_reset(&txt);
	restore(dbn("lo"), NULL, RS_MODE_CLEAN, 0, NULL, 0, 1, NULL, NULL, &log, &plan, &err);
	ok(plan && rs_plan_text(plan, &src, &txt) == 0 &&
	   strstr((char *)txt.data, "Warning: clean mode keeps the 1 large objects that already exist in the target (424242)") &&
	   strstr((char *)txt.data, "safety snapshot does not capture large objects"),
	   "clean plan warns that the existing large object is kept");
	rs_plan_free(plan);
	plan = NULL;
	rs_log_release(&log);

	/* narrowed to a table: not selected */
	rs_log_init(&log);
	buf_reset(&txt);
	r = restore(dbn("lo"), NULL, RS_MODE_MERGE, 0, todos, 0, 1, NULL, NULL, &log, &plan, &err);
	ok(r == 0 && plan && !plan->lo_selected && rs_plan_text(plan, &src, &txt) == 0 &&
	   strstr((char *)txt.data, "Large objects: 1 in the snapshot, not selected"),
	   "--table leaves the large objects out, and the plan says so");
	rs_plan_free(plan);
	plan = NULL;
	rs_log_release(&log);
	PQfinish(ct);

	/* a large object of several pieces, streamed and verified */
	if (tree_copy("big", dir, sizeof(dir))) {
		static unsigned char big[1536 * 1024 + 7];
		PGresult *res = NULL;

		for (size_t i = 0; i < sizeof(big); i++)
			big[i] = (unsigned char)((i * 7919u) >> 3);
		snprintf(path, sizeof(path), "%s/db/large_objects/424242", dir);
		ok(write_file(path, big, sizeof(big)), "a 1.5 MiB large object in a copy of the tree");
		rs_input_dir_init(&in, dir);
		ok(admin("CREATE DATABASE \"%s\" ENCODING 'UTF8' TEMPLATE template0", dbn("lobig")),
		   "an empty database");
		rs_log_init(&log);
		r = restore(dbn("lobig"), NULL, RS_MODE_EMPTY, 0, NULL, 0, 0, NULL, &in, &log, NULL, &err);
		is_int(r, 0, "restore with the big large object");
		ct = connect_db(dbn("lobig"), NULL);
		if (ct)
			res = PQexecParams(ct, "SELECT lo_get(424242)", 0, NULL, NULL, NULL, NULL, 1);
		ok(res && PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1 &&
		   PQgetlength(res, 0, 0) == (int)sizeof(big) &&
		   !memcmp(PQgetvalue(res, 0, 0), big, sizeof(big)),
		   "its bytes are identical");
		ok(log.lo_verified == 1, "and verified");
		PQclear(res);
		PQfinish(ct);
		rs_log_release(&log);
		rs_input_dir_release(&in);
	} else {
		ok(0, "copy of the tree");
	}

	/* damaged listings */
	if (tree_copy("bad", dir, sizeof(dir))) {
		snprintf(path, sizeof(path), "%s/db/large_objects/abc", dir);
		ok(write_file(path, "x", 1), "a file named abc among the large objects");
		rs_input_dir_init(&in, dir);
		buf_reset(&err);
		r = rs_plan_source_load(&bad, &in, NULL, &err);
		is_int(r, -EBADMSG, "the snapshot is refused as damaged");
		ok(strstr((char *)err.data, "large_objects/abc") != NULL, "the error names it: %s",
		   (char *)err.data);
		rs_plan_source_release(&bad);
		unlink(path);
		snprintf(path, sizeof(path), "%s/db/large_objects/4242", dir);
		write_file(path, "y", 1);
		buf_reset(&err);
		r = rs_lo_list(&in, "db", 1, &oids, &n, &unlisted, &err);
		ok(r == -EBADMSG && strstr((char *)err.data, "holds 2 large objects, meta.json says 1"),
		   "a count that differs from meta.json is refused");
		unlink(path);
		snprintf(path, sizeof(path), "%s/db/large_objects/04242", dir);
		write_file(path, "y", 1);
		buf_reset(&err);
		r = rs_lo_list(&in, "db", 2, &oids, &n, &unlisted, &err);
		ok(r == -EBADMSG && strstr((char *)err.data, "large_objects/04242"),
		   "a name with a leading zero is refused");
		unlink(path);
		buf_reset(&err);
		r = rs_lo_list(&in, "db", 1, &oids, &n, &unlisted, &err);
		ok(r == 0 && n == 1 && oids[0] == 424242, "the intact listing reads back");
		free(oids);
		oids = NULL;
		snprintf(path, sizeof(path), "%s/db/large_objects/4294967296", dir);
		write_file(path, "y", 1);
		buf_reset(&err);
		r = rs_lo_list(&in, "db", 2, &oids, &n, &unlisted, &err);
		ok(r == -EBADMSG && strstr((char *)err.data, "4294967296"),
		   "a name past the largest oid is refused");
		unlink(path);
		rs_input_dir_release(&in);
		snprintf(path, sizeof(path), "rm -rf '%s'", dir);
		if (system(path) != 0)
			diag("cannot remove %s", dir);
	} else {
		ok(0, "copy of the tree");
	}
	snprintf(path, sizeof(path), "rm -rf '%s-big'", tree);
	if (system(path) != 0)
		diag("cannot remove %s-big", tree);
	PQfinish(cs);
	buf_release(&err);
	buf_release(&a);
	buf_release(&b);
	buf_release(&txt);
	buf_release(&before);
	buf_release(&after);
}

static void test_failures(void)
{
	static const char *const todos[] = { "public.todos", NULL };
	static const char *const orders[] = { "Sales & Ops.Orders", NULL };
	struct rs_log log;
	struct buf err = BUF_INIT, before = BUF_INIT, after = BUF_INIT;
	struct kill_ctx kill = { 0, 6, 0, 0 };
	int r;

	/* a trigger in the target that raises part-way through the rows */
	ok(copy_db(dbn("full"), dbn("fail")), "a copy to fail on");
	ok(exec_on(dbn("fail"),
		   "DELETE FROM public.todos WHERE id <= 10;"
		   "CREATE FUNCTION public.no_five() RETURNS trigger LANGUAGE plpgsql AS $$"
		   " BEGIN IF NEW.id = 5 THEN RAISE EXCEPTION 'no row five, please'; END IF; RETURN NEW; END $$;"
		   "CREATE TRIGGER no_five BEFORE INSERT ON public.todos FOR EACH ROW EXECUTE FUNCTION public.no_five();"),
	   "a trigger that refuses row 5");
	dump(dbn("fail"), 0, &before);
	rs_log_init(&log);
	r = restore(dbn("fail"), NULL, RS_MODE_MERGE, 0, todos, 0, 0, NULL, NULL, &log, NULL, &err);
	ok(r < 0 && strstr((char *)err.data, "no row five, please") &&
	   strstr((char *)err.data, "public.todos"), "the trigger's error, naming the table");
	ok(log.status && !strcmp(log.status, "failed") && log.error, "log: failed, with the error");
	dump(dbn("fail"), 0, &after);
	ok(same_buf(&before, &after), "target unchanged after the trigger failure");
	rs_log_release(&log);

	/* a foreign key from an unselected table to a row only the target has */
	ok(exec_on(dbn("fail"),
		   "INSERT INTO \"Sales & Ops\".\"Orders\" VALUES (3, 'target only', 5, NULL);"
		   "INSERT INTO \"Sales & Ops\".lines VALUES (3, 1, 'SKU-3');"), "an order only the target has, referenced");
	dump(dbn("fail"), 0, &before);
	rs_log_init(&log);
	r = restore(dbn("fail"), NULL, RS_MODE_CLEAN, 0, orders, 0, 0, NULL, NULL, &log, NULL, &err);
	is_int(r, -EEXIST, "clean restore refused");
	ok(strstr((char *)err.data, "lines_order_no_fkey") &&
	   strstr((char *)err.data, "(order_no)=(3)"), "the error names the constraint and the row");
	dump(dbn("fail"), 0, &after);
	ok(same_buf(&before, &after), "target unchanged after the refusal");
	rs_log_release(&log);

	/* a connection killed mid-load */
	ok(admin("CREATE DATABASE \"%s\" ENCODING 'UTF8' TEMPLATE template0", dbn("kill")), "an empty database");
	dump(dbn("kill"), 0, &before);
	rs_log_init(&log);
	r = restore(dbn("kill"), NULL, RS_MODE_EMPTY, 0, NULL, 0, 0, &kill, NULL, &log, NULL, &err);
	ok(kill.killed && r == -ECONNRESET, "pg_terminate_backend mid-load: connection lost");
	dump(dbn("kill"), 0, &after);
	ok(same_buf(&before, &after), "target unchanged after the killed connection");
	rs_log_release(&log);

	/* a damaged data.sql: the rows read do not match meta.json */
	{
		struct rs_input bad;
		struct buf dir = BUF_INIT, cmd = BUF_INIT;
		char *argv[] = { "cp", "-r", tree, NULL, NULL };
		FILE *f;

		buf_addf(&dir, "%s-bad", tree);
		argv[3] = (char *)dir.data;
		run(argv, NULL);
		buf_addf(&cmd, "%s/db/public/tables/pair_a/data.sql", (char *)dir.data);
		f = fopen((char *)cmd.data, "r+");
		if (f) {
			fseek(f, -6, SEEK_END);	/* "10\tseed\n\\.\n": a digit of the id */
			fputc('9', f);
			fclose(f);
		}
		rs_input_dir_init(&bad, (char *)dir.data);
		ok(admin("CREATE DATABASE \"%s\" ENCODING 'UTF8' TEMPLATE template0", dbn("bad")), "another empty database");
		dump(dbn("bad"), 0, &before);
		rs_log_init(&log);
		r = restore(dbn("bad"), NULL, RS_MODE_EMPTY, 0, NULL, 0, 0, NULL, &bad, &log, NULL, &err);
		ok(r == -EBADMSG && strstr((char *)err.data, "public.pair_a") &&
		   strstr((char *)err.data, "damaged snapshot"), "damaged data.sql refused, naming the table");
		dump(dbn("bad"), 0, &after);
		ok(same_buf(&before, &after), "target unchanged after the damaged snapshot");
		rs_log_release(&log);
		/* the same, loaded in parallel: found by a worker after the
		 * first commit, so the undo puts the target back */
		restore_jobs = 2;
		ok(admin("CREATE DATABASE \"%s\" ENCODING 'UTF8' TEMPLATE template0", dbn("badpar")),
		   "--jobs 2: another empty database");
		dump(dbn("badpar"), 0, &before);
		rs_log_init(&log);
		r = restore(dbn("badpar"), NULL, RS_MODE_EMPTY, 0, NULL, 0, 0, NULL, &bad, &log, NULL, &err);
		ok(r == -EBADMSG && strstr((char *)err.data, "public.pair_a") &&
		   strstr((char *)err.data, "damaged snapshot") &&
		   log.strategy && !strncmp(log.strategy, "parallel", 8) &&
		   log.undo && !strncmp(log.undo, "ok", 2),
		   "--jobs 2: damaged data.sql refused by a worker, naming the table, undone");
		dump(dbn("badpar"), 0, &after);
		ok(same_buf(&before, &after), "--jobs 2: target unchanged after the damaged snapshot");
		restore_jobs = 1;
		rs_log_release(&log);
		rs_input_dir_release(&bad);
		buf_reset(&cmd);
		buf_addf(&cmd, "rm -rf '%s'", (char *)dir.data);
		if (system((char *)cmd.data) != 0)
			diag("cleanup of %s failed", (char *)dir.data);
		buf_release(&dir);
		buf_release(&cmd);
	}
	buf_release(&err);
	buf_release(&before);
	buf_release(&after);
}

/*
 * --jobs 2: the whole fixture restores identically, the plan says which
 * strategy applies, and a failure part-way through the load (a trigger
 * refusing a row of one table of several, a connection killed) still
 * leaves the target byte for byte as it was.
 */
static void test_jobs(void)
{
	static const char *const two[] = { "public.pair_a", "public.todos", NULL };
	struct rs_log log;
	struct rs_plan *plan = NULL;
	struct buf err = BUF_INIT, a = BUF_INIT, b = BUF_INIT, txt = BUF_INIT;
	struct kill_ctx kill = { 0, 6, 0, 0 };
	PGconn *cs, *ct;
	size_t same = 0, all = 0, verified = 0;
	int r;

	restore_jobs = 2;
	ok(admin("CREATE DATABASE \"%s\" ENCODING 'UTF8' TEMPLATE template0", dbn("jobs")),
	   "--jobs 2: an empty target database");
	rs_log_init(&log);
	r = restore(dbn("jobs"), NULL, RS_MODE_EMPTY, 0, NULL, 0, 0, NULL, NULL, &log, &plan, &err);
	is_int(r, 0, "--jobs 2: full restore into an empty database");
	ok(plan && rs_plan_text(plan, &src, &txt) == 0 &&
	   strstr((char *)txt.data, "Strategy: parallel") && plan->parallel,
	   "--jobs 2: the plan names the strategy that applies (parallel)");
	ok(log.strategy && !strncmp(log.strategy, "parallel", 8) && !log.undo,
	   "--jobs 2: the log says the rows loaded in parallel");
	ok(dump(dbn("src"), 1, &a) == 0 && dump(dbn("jobs"), 1, &b) == 0 && same_buf(&a, &b),
	   "--jobs 2: schema dumps identical");
	cs = connect_db(dbn("src"), NULL);
	ct = connect_db(dbn("jobs"), NULL);
	for (size_t i = 0; cs && ct && i < src.meta->ntables; i++) {
		const struct rs_meta_table *t = &src.meta->tables[i];

		if (t->partitioned)
			continue;
		all++;
		same += same_table(cs, ct, t->schema, t->name);
	}
	ok(all > 20 && same == all, "--jobs 2: every table's rows identical (%zu/%zu)", same, all);
	ok(cs && ct && same_sequences(cs, ct), "--jobs 2: every sequence value identical");
	for (size_t i = 0; i < log.ntables; i++)
		verified += log.tables[i].verified == 1;
	is_int(verified, all, "--jobs 2: every table verified, also those read back unsorted");
	PQfinish(cs);
	PQfinish(ct);
	rs_log_release(&log);
	rs_plan_free(plan);

	/* a trigger in the target refuses a row of the second table */
	ok(copy_db(dbn("jobs"), dbn("jobsfail")) &&
	   exec_on(dbn("jobsfail"),
		   "DELETE FROM public.todos WHERE id <= 10; DELETE FROM public.pair_a;"
		   "CREATE FUNCTION public.no_seven() RETURNS trigger LANGUAGE plpgsql AS $$"
		   " BEGIN IF NEW.id = 7 THEN RAISE EXCEPTION 'no row seven, please'; END IF; RETURN NEW; END $$;"
		   "CREATE TRIGGER no_seven BEFORE INSERT ON public.todos FOR EACH ROW EXECUTE FUNCTION public.no_seven();"),
	   "--jobs 2: a target whose trigger refuses row 7 of public.todos");
	dump(dbn("jobsfail"), 0, &a);
	rs_log_init(&log);
	r = restore(dbn("jobsfail"), NULL, RS_MODE_MERGE, 0, two, 0, 0, NULL, NULL, &log, &plan, &err);
	ok(r < 0 && strstr((char *)err.data, "no row seven, please") &&
	   strstr((char *)err.data, "public.todos"), "--jobs 2: the trigger's error, naming the table");
	buf_reset(&txt);
	ok(plan && !plan->parallel && rs_plan_text(plan, &src, &txt) == 0 &&
	   strstr((char *)txt.data, "Strategy: one transaction") &&
	   strstr((char *)txt.data, "--jobs 2: the rows load over one connection, in one transaction: a clean or merge restore"),
	   "--jobs 2, merge mode: the plan says the rows load in one transaction, and why");
	rs_plan_free(plan);
	plan = NULL;
	dump(dbn("jobsfail"), 0, &b);
	ok(same_buf(&a, &b), "--jobs 2: target unchanged, the other table's rows included");
	rs_log_release(&log);

	/* a connection killed mid-load */
	ok(admin("CREATE DATABASE \"%s\" ENCODING 'UTF8' TEMPLATE template0", dbn("jobskill")),
	   "--jobs 2: another empty database");
	dump(dbn("jobskill"), 0, &a);
	rs_log_init(&log);
	r = restore(dbn("jobskill"), NULL, RS_MODE_EMPTY, 0, NULL, 0, 0, &kill, NULL, &log, NULL, &err);
	ok(kill.killed && r == -ECONNRESET, "--jobs 2: pg_terminate_backend mid-load");
	ok(log.undo && !strncmp(log.undo, "ok", 2),
	   "--jobs 2: the killed connection's restore was undone (%s)", log.undo ? log.undo : "no undo");
	dump(dbn("jobskill"), 0, &b);
	ok(same_buf(&a, &b), "--jobs 2: target unchanged after the killed connection");
	rs_log_release(&log);
	restore_jobs = 1;
	buf_release(&err);
	buf_release(&a);
	buf_release(&b);
	buf_release(&txt);
}

/* auth and storage as the platform makes them: owned by its roles */
/*
 * --jobs 2 past the first commit: a failure in the last transaction (an
 * event trigger refusing new indexes) drops everything the restore had
 * created, the role it created included; a target where that undo could
 * not be complete (an event trigger that comments on an existing schema
 * whenever a table is made) restores in one transaction instead.
 */
static void test_jobs_undo(void)
{
	static const char *const others[] = {
		"full", "drift", "merge", "fail", "kill", "bad", "jobs", "jobsfail",
		"jobskill", NULL,
	};
	static const char no_index[] =
		"CREATE FUNCTION public.no_index() RETURNS event_trigger LANGUAGE plpgsql AS $$"
		" BEGIN IF EXISTS (SELECT 1 FROM pg_catalog.pg_event_trigger_ddl_commands()"
		"  WHERE command_tag = 'CREATE INDEX') THEN"
		"  RAISE EXCEPTION 'no new indexes today'; END IF; END $$;"
		"CREATE EVENT TRIGGER no_index ON ddl_command_end EXECUTE FUNCTION public.no_index();";
	static const char note[] =
		"CREATE FUNCTION public.note() RETURNS event_trigger LANGUAGE plpgsql AS $$"
		" BEGIN COMMENT ON SCHEMA public IS 'a table was made'; END $$;"
		"CREATE EVENT TRIGGER note ON ddl_command_end WHEN TAG IN ('CREATE TABLE')"
		" EXECUTE FUNCTION public.note();";
	struct rs_log log;
	struct buf err = BUF_INIT, a = BUF_INIT, b = BUF_INIT, q = BUF_INIT;
	PGconn *c;
	size_t verified = 0, loaded = 0;
	int r;

	restore_jobs = 2;
	for (int i = 0; others[i]; i++) {
		PGconn *o = connect_db(dbn(others[i]), NULL);

		if (o) {
			buf_reset(&q);
			buf_addf(&q, "DROP OWNED BY \"%s\"", gone);
			PQclear(PQexec(o, (char *)q.data));
			PQfinish(o);
		}
	}
	ok(admin("DROP ROLE \"%s\"", gone), "--jobs 2 undo: the captured role \"%s\" is gone again", gone);
	ok(admin("CREATE DATABASE \"%s\" ENCODING 'UTF8' TEMPLATE template0", dbn("jobsundo")) &&
	   exec_on(dbn("jobsundo"), no_index),
	   "--jobs 2 undo: a target whose event trigger refuses new indexes");
	dump(dbn("jobsundo"), 0, &a);
	rs_log_init(&log);
	r = restore(dbn("jobsundo"), NULL, RS_MODE_EMPTY, 0, NULL, 0, 0, NULL, NULL, &log, NULL, &err);
	ok(r < 0 && strstr((char *)err.data, "no new indexes today") &&
	   strstr((char *)err.data, "INDEX"),
	   "--jobs 2 undo: the failure in the last transaction names the statement");
	ok(log.strategy && !strncmp(log.strategy, "parallel", 8),
	   "--jobs 2 undo: the rows had loaded in parallel and committed");
	ok(log.undo && !strncmp(log.undo, "ok", 2), "--jobs 2 undo: the undo ran (%s)",
	   log.undo ? log.undo : "none");
	dump(dbn("jobsundo"), 0, &b);
	ok(same_buf(&a, &b), "--jobs 2 undo: the target is as it was (schema and rows)");
	c = connect_db("postgres", NULL);
	buf_reset(&q);
	buf_addf(&q, "SELECT count(*) FROM pg_roles WHERE rolname = '%s'", gone);
	ok(c && scalar(c, (char *)q.data) == 0,
	   "--jobs 2 undo: the role the restore created is dropped again");
	PQfinish(c);
	rs_log_release(&log);

	ok(admin("CREATE DATABASE \"%s\" ENCODING 'UTF8' TEMPLATE template0", dbn("jobsone")) &&
	   exec_on(dbn("jobsone"), note),
	   "--jobs 2 proof: a target whose event trigger comments on schema public");
	rs_log_init(&log);
	r = restore(dbn("jobsone"), NULL, RS_MODE_EMPTY, 0, NULL, 0, 0, NULL, NULL, &log, NULL, &err);
	is_int(r, 0, "--jobs 2 proof: the restore succeeds");
	ok(log.strategy && !strncmp(log.strategy, "one transaction", 15) &&
	   strstr(log.strategy, "not possible") &&
	   strstr(log.strategy, "the comment on schema public was changed"),
	   "--jobs 2 proof: in one transaction, because dropping would not undo the comment (%s)",
	   log.strategy ? log.strategy : "none");
	for (size_t i = 0; i < log.ntables; i++) {
		loaded += strcmp(log.tables[i].load ? log.tables[i].load : "", "copy") == 0;
		verified += log.tables[i].verified == 1;
	}
	ok(loaded > 20 && verified == loaded, "--jobs 2 proof: every table loaded and verified (%zu/%zu)",
	   verified, loaded);
	rs_log_release(&log);
	/* the last restore made the role again, as the other tests found it */
	c = connect_db("postgres", NULL);
	buf_reset(&q);
	buf_addf(&q, "SELECT count(*) FROM pg_roles WHERE rolname = '%s'", gone);
	ok(c && scalar(c, (char *)q.data) == 1, "--jobs 2 proof: the captured role is created again");
	PQfinish(c);
	restore_jobs = 1;
	buf_release(&err);
	buf_release(&a);
	buf_release(&b);
	buf_release(&q);
}

static const char managed_ddl[] =
	"CREATE SCHEMA auth AUTHORIZATION supabase_auth_admin;"
	"CREATE SCHEMA storage AUTHORIZATION supabase_storage_admin;"
	"SET ROLE supabase_auth_admin;"
	"CREATE TYPE auth.aal_level AS ENUM ('aal1', 'aal2', 'aal3');"
	"CREATE TABLE auth.users (instance_id uuid, id uuid NOT NULL PRIMARY KEY, aud varchar(255),"
	" role varchar(255), email varchar(255), encrypted_password varchar(255),"
	" email_confirmed_at timestamptz, raw_app_meta_data jsonb, raw_user_meta_data jsonb,"
	" is_super_admin boolean, created_at timestamptz, updated_at timestamptz,"
	" phone text UNIQUE DEFAULT NULL,"
	" email_domain text GENERATED ALWAYS AS (split_part(email, '@', 2)) STORED,"
	" is_sso_user boolean NOT NULL DEFAULT false);"
	"CREATE TABLE auth.identities (provider_id text NOT NULL,"
	" user_id uuid NOT NULL REFERENCES auth.users (id) ON DELETE CASCADE,"
	" identity_data jsonb NOT NULL, provider text NOT NULL, last_sign_in_at timestamptz,"
	" created_at timestamptz, updated_at timestamptz,"
	" email text GENERATED ALWAYS AS (lower(identity_data ->> 'email')) STORED,"
	" id uuid NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY);"
	"CREATE TABLE auth.schema_migrations (version varchar(255) NOT NULL PRIMARY KEY);"
	"CREATE FUNCTION auth.uid() RETURNS uuid LANGUAGE sql STABLE"
	" AS $$ SELECT nullif(current_setting('request.jwt.claim.sub', true), '')::uuid $$;"
	"GRANT USAGE ON SCHEMA auth TO %1$s;"
	"GRANT ALL ON ALL TABLES IN SCHEMA auth TO %1$s;"
	"RESET ROLE;"
	"SET ROLE supabase_storage_admin;"
	"CREATE TABLE storage.buckets (id text PRIMARY KEY, name text NOT NULL UNIQUE,"
	" owner uuid, public boolean DEFAULT false, created_at timestamptz DEFAULT now());"
	"CREATE TABLE storage.objects (id uuid NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,"
	" bucket_id text REFERENCES storage.buckets (id), name text, owner uuid, metadata jsonb,"
	" path_tokens text[] GENERATED ALWAYS AS (string_to_array(name, '/')) STORED,"
	" created_at timestamptz DEFAULT now());"
	"ALTER TABLE storage.objects ENABLE ROW LEVEL SECURITY;"
	"GRANT USAGE ON SCHEMA storage TO %1$s;"
	"GRANT ALL ON ALL TABLES IN SCHEMA storage TO %1$s;"
	"RESET ROLE;";

static void test_managed(void)
{
	struct rs_log log;
	struct buf err = BUF_INIT, j = BUF_INIT, ddl = BUF_INIT;
	PGconn *cs, *ct;
	int r, owner = 0, managed = 0, ext = 0, trig = 0;

	buf_addf(&ddl, managed_ddl, role);
	admin("DROP ROLE IF EXISTS %s", role);
	ok(admin("CREATE ROLE %s LOGIN NOSUPERUSER BYPASSRLS", role), "a restoring role, not a superuser");
	ok(admin("CREATE DATABASE \"%s\" ENCODING 'UTF8' TEMPLATE template0 OWNER %s", dbn("managed"), role), "its database");
	ok(exec_on(dbn("managed"), (char *)ddl.data), "auth and storage owned by platform roles");
	rs_log_init(&log);
	r = restore(dbn("managed"), role, RS_MODE_EMPTY, 0, NULL, 0, 0, NULL, NULL,
		    &log, NULL, &err);
	is_int(r, 0, "restore into the managed target");
	ok(log.managed, "detected as managed");
	cs = connect_db(dbn("src"), NULL);
	ct = connect_db(dbn("managed"), NULL);
	ok(cs && ct && same_table(cs, ct, "auth", "users") && same_table(cs, ct, "auth", "identities") &&
	   same_table(cs, ct, "storage", "buckets") && same_table(cs, ct, "storage", "objects"),
	   "auth and storage rows landed");
	ok(cs && ct && same_table(cs, ct, "public", "profiles") && same_table(cs, ct, "public", "todos") &&
	   same_table(cs, ct, "Sales & Ops", "Orders"), "application rows landed");
	ok(ct && scalar(ct, "SELECT count(*) FROM pg_trigger WHERE tgname = 'on_auth_user_created'") == 0,
	   "the platform's auth DDL kept as it was (no trigger added)");
	ok(ct && scalar(ct, "SELECT count(*) FROM pg_policies WHERE tablename = 'profiles'") == 2,
	   "the application's policies restored");
	for (size_t i = 0; i < log.nskipped; i++) {
		if (strstr(log.skipped[i].reason, "ownership change to reserved role postgres"))
			owner++;
		if (strstr(log.skipped[i].reason, "schema auth is managed"))
			managed++;
		if (strstr(log.skipped[i].reason, "comment on an extension"))
			ext++;
		if (strstr(log.skipped[i].sql, "on_auth_user_created"))
			trig++;
	}
	ok(owner > 10, "ownership changes to postgres skipped and logged (%d)", owner);
	ok(managed > 5, "auth DDL skipped and logged (%d)", managed);
	is_int(ext, 1, "COMMENT ON EXTENSION skipped and logged");
	is_int(trig, 1, "the auth.users trigger skipped and logged");
	ok(rs_log_json(&log, &j) == 0 && strstr((char *)j.data, "\"managed_target\": true") &&
	   strstr((char *)j.data, "\"reason\": \"ownership change to reserved role postgres"),
	   "the log's JSON carries the reasons");
	PQfinish(cs);
	PQfinish(ct);
	rs_log_release(&log);
	buf_release(&err);
	buf_release(&j);
	buf_release(&ddl);
}

static void cleanup(void)
{
	static const char *const dbs[] = {
		"src", "full", "drift", "merge", "fail", "kill", "bad", "managed",
		"jobs", "jobsfail", "jobskill", "jobsundo", "jobsone", "lo", "lobig", "badpar", NULL,
	};
	struct buf cmd = BUF_INIT;

	for (int i = 0; dbs[i]; i++)
		admin("DROP DATABASE IF EXISTS \"%s\" WITH (FORCE)", dbn(dbs[i]));
	admin("DROP ROLE IF EXISTS %s", role);
	admin("DROP ROLE IF EXISTS \"%s\"", gone);
	buf_addf(&cmd, "rm -rf '%s'", tree);
	if (system((char *)cmd.data) != 0)
		diag("cleanup of %s failed", tree);
	buf_release(&cmd);
}

int main(void)
{
	const char *srcdir = getenv("VAULT_SRCDIR");
	static char fx[4096];
	struct buf err = BUF_INIT;

	if (!getenv("PGHOST") || !getenv("PGPORT")) {
		skip("PGHOST/PGPORT not set: no PostgreSQL server to restore into");
		return done_testing();
	}
	snprintf(fx, sizeof(fx), "%s/tests/fixtures/supabase.sql", srcdir ? srcdir : ".");
	fixture_path = fx;
	if (access(fixture_path, R_OK) != 0) {
		skip("tests/fixtures/supabase.sql not found (set VAULT_SRCDIR)");
		return done_testing();
	}
	snprintf(pfx, sizeof(pfx), "rstest%d", (int)getpid());
	snprintf(role, sizeof(role), "rs_restorer_%d", (int)getpid());
	snprintf(gone, sizeof(gone), "rs Gone %d", (int)getpid());
	snprintf(tree, sizeof(tree), "%s/vault-rsexec-%d", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp",
		 (int)getpid());
	if (mkdir(tree, 0700) < 0) {
		ok(0, "temporary directory %s", tree);
		return done_testing();
	}
	ok(capture_source() == 0, "fixture loaded and captured into a directory");
	rs_input_dir_init(&input, tree);
	ok(rs_plan_source_load(&src, &input, NULL, &err) == 0, "snapshot files read back");
	if (src.meta) {
		test_full();
		test_roles();
		test_dry_run();
		test_clean_table();
		test_merge();
		test_large_objects();
		test_failures();
		test_jobs();
		test_jobs_undo();
		test_managed();
	} else {
		diag("%s", (char *)err.data);
	}
	rs_plan_source_release(&src);
	rs_input_dir_release(&input);
	cleanup();
	buf_release(&err);
	return done_testing();
}

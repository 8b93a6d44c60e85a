/*
 * fx: the fixture of the restore tests against a real server (fx.h):
 * the source database and its capture into a directory, the helpers
 * that restore from it and compare databases, and the cleanup.  Apart
 * from the test programs so that each of them (named after the module
 * it tests) needs only its scenarios.
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
#include <xxhash.h>

#include "../tap.h"
#include "fx.h"
#include "../runcmd.h"
#include "pg-names.h"
#include "pg-snap.h"
#include "rs-select.h"

char fx_tree[256];
char fx_role[48];
char fx_gone[48];
struct rs_plan_source fx_src;
struct rs_input fx_input;
static char fx_pfx[32];		/* database name prefix */
static const char *fx_fixture;	/* tests/fixtures/supabase.sql */

/* ---- a sink that writes the tree into a directory ---------------------- */

struct fx_dsink {
	FILE *f;
};

struct fx_dstream {
	struct buf b;
};

static int fx_ds_path(struct buf *b, const char *path)
{
	buf_reset(b);
	return buf_addf(b, "%s/%s", fx_tree, path);
}

static int fx_ds_dir(void *ctx, const char *path, uint32_t mode)
{
	struct buf p = BUF_INIT;
	int r = fx_ds_path(&p, path);

	if (r == 0 && mkdir((char *)p.data, 0700) < 0 && errno != EEXIST)
		r = -errno;
	buf_release(&p);
	return r;
}

static int fx_ds_begin(void *ctx, const char *path, uint32_t mode,
		       enum pg_sink_chunking how)
{
	struct fx_dsink *d = ctx;
	struct buf p = BUF_INIT;
	int r = fx_ds_path(&p, path);

	d->f = r == 0 ? fopen((char *)p.data, "wb") : NULL;
	buf_release(&p);
	return d->f ? 0 : -EIO;
}

static int fx_ds_write(void *ctx, const void *p, size_t n)
{
	struct fx_dsink *d = ctx;

	return fwrite(p, 1, n, d->f) == n ? 0 : -EIO;
}

static int fx_ds_attr(void *ctx, const char *k, const char *v)
{
	return 0;
}

static int fx_ds_end(void *ctx)
{
	struct fx_dsink *d = ctx;
	int r = fclose(d->f) == 0 ? 0 : -EIO;

	d->f = NULL;
	return r;
}

static int fx_ds_stream_begin(void *ctx, enum pg_sink_chunking how,
			      const char *path, void **st)
{
	struct fx_dstream *s = calloc(1, sizeof(*s));

	if (!s)
		return -ENOMEM;
	buf_init(&s->b, 0);
	*st = s;
	return 0;
}

static int fx_ds_stream_write(void *ctx, void *st, const void *p, size_t n)
{
	return buf_add(&((struct fx_dstream *)st)->b, p, n);
}

static int fx_ds_stream_end(void *ctx, void *st)
{
	return 0;
}

static void fx_ds_stream_free(void *ctx, void *st)
{
	struct fx_dstream *s = st;

	buf_release(&s->b);
	free(s);
}

static int fx_ds_begin_stream(void *ctx, const char *path, uint32_t mode, void *st)
{
	struct fx_dstream *s = st;
	int r = fx_ds_begin(ctx, path, mode, PG_SINK_GENERAL);

	if (r == 0 && s->b.len)
		r = fx_ds_write(ctx, s->b.data, s->b.len);
	fx_ds_stream_free(ctx, st);
	return r;
}

/* ---- helpers ------------------------------------------------------------ */

static void fx_quiet(void *arg, const char *msg)
{
}

PGconn *fx_connect(const char *db, const char *user)
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
	PQsetNoticeProcessor(c, fx_quiet, NULL);
	return c;
}

int fx_exec(const char *db, const char *sql)
{
	PGconn *c = fx_connect(db, NULL);
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

int fx_admin(const char *fmt, ...)
{
	struct buf b = BUF_INIT;
	va_list ap;
	int good;

	va_start(ap, fmt);
	buf_vaddf(&b, fmt, ap);
	va_end(ap);
	good = fx_exec("postgres", (char *)b.data);
	buf_release(&b);
	return good;
}

const char *fx_db(const char *name)
{
	static char v[8][64];
	static int k;

	k = (k + 1) % 8;
	snprintf(v[k], sizeof(v[k]), "%s_%s", fx_pfx, name);
	return v[k];
}

int fx_run_cmd(char *const argv[], struct buf *out)
{
	return runcmd(argv, NULL, out);
}

/* pg_dump of db without comment lines and \restrict keys. */
int fx_dump(const char *db, int schema_only, struct buf *out)
{
	char *argv[] = { "pg_dump", "--no-sync", schema_only ? "--schema-only" : "--no-comments",
			 "-d", (char *)db, NULL };
	struct buf raw = BUF_INIT;
	const char *p, *end;
	int r = fx_run_cmd(argv, &raw);

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

int fx_same_buf(const struct buf *a, const struct buf *b)
{
	return a->len == b->len && !memcmp(a->data, b->data, a->len);
}

void fx_first_diff(const struct buf *a, const struct buf *b)
{
	size_t i = 0;

	while (i < a->len && i < b->len && a->data[i] == b->data[i])
		i++;
	diag("differ at byte %zu: [%.80s] vs [%.80s]", i,
	     (char *)a->data + (i > 40 ? i - 40 : 0), (char *)b->data + (i > 40 ? i - 40 : 0));
}

static int fx_line_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int fx_table_rows(PGconn *c, const char *schema, const char *name,
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
	qsort(v, n, sizeof(*v), fx_line_cmp);
	for (size_t i = 0; i < n; i++)
		buf_addf(out, "%s\n", v[i]);
	free(v);
	buf_release(&sql);
	buf_release(&raw);
	return good;
}

int fx_same_table(PGconn *a, PGconn *b, const char *schema, const char *name)
{
	struct buf x = BUF_INIT, y = BUF_INIT;
	int same = fx_table_rows(a, schema, name, &x) && fx_table_rows(b, schema, name, &y) &&
		   fx_same_buf(&x, &y);

	if (!same)
		diag("table %s.%s differs", schema, name);
	buf_release(&x);
	buf_release(&y);
	return same;
}

size_t fx_same_tables(PGconn *a, PGconn *b, size_t *all)
{
	size_t same = 0;

	*all = 0;
	for (size_t i = 0; a && b && i < fx_src.meta->ntables; i++) {
		const struct rs_meta_table *t = &fx_src.meta->tables[i];

		if (t->partitioned)
			continue;
		(*all)++;
		same += fx_same_table(a, b, t->schema, t->name);
	}
	return same;
}

int fx_same_sequences(PGconn *a, PGconn *b)
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

long long fx_scalar(PGconn *c, const char *sql)
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

static void fx_kill_progress(void *ctx, const char *step, const struct rs_meta_table *t)
{
	struct fx_kill *k = ctx;

	if (strcmp(step, "load") || ++k->seen != k->at)
		return;
	k->killed = fx_admin("SELECT pg_terminate_backend(%d)", k->pid);
	/* let the backend go before the next statement */
	usleep(200000);
}

/* --jobs of the restores (test-rs-par sets 2) */
int fx_restore_jobs = 1;
/* --verify of the restores */
enum rs_verify fx_restore_verify = RS_VERIFY_STREAMED;
int fx_restore_drop_views;

int fx_restore(const char *db, const char *user, enum rs_plan_mode mode,
	       enum rs_plan_on_conflict oc, const char *const *tables,
	       unsigned only, int dry_run, struct fx_kill *kill,
	       const struct rs_input *in, struct rs_log *log,
	       struct rs_plan **plan, struct buf *err)
{
	struct rs_select_opts so = { only, NULL, tables };
	struct rs_exec_opts eo;
	struct rs_select sel;
	struct pg_conn_info *ci = NULL;
	struct buf cs = BUF_INIT;
	PGconn *c = fx_connect(db, user);
	int r;

	buf_reset(err);
	if (!c)
		return -ECONNREFUSED;
	r = rs_select_build(&sel, fx_src.meta, &so, err);
	memset(&eo, 0, sizeof(eo));
	eo.mode = mode;
	eo.on_conflict = oc;
	eo.managed = -1;
	eo.dry_run = dry_run;
	eo.jobs = fx_restore_jobs;
	eo.verify = fx_restore_verify;
	eo.drop_views = fx_restore_drop_views;
	if (kill) {
		kill->pid = PQbackendPID(c);
		eo.progress = fx_kill_progress;
		eo.progress_ctx = kill;
	}
	buf_addf(&cs, "dbname=%s%s%s", db, user ? " user=" : "", user ? user : "");
	if (r == 0)
		r = pg_conn_info_parse(&ci, (char *)cs.data, err);
	eo.ci = ci;
	if (r == 0)
		r = rs_exec_run(c, in ? in : &fx_input, &fx_src, &sel, &eo, log, plan, err);
	if (r < 0)
		diag("restore into %s: %s", db, (char *)err->data);
	pg_conn_info_free(ci);
	buf_release(&cs);
	rs_select_release(&sel);
	PQfinish(c);
	return r;
}

int fx_copy_db(const char *from, const char *to)
{
	return fx_admin("DROP DATABASE IF EXISTS \"%s\"", to) &&
	       fx_admin("CREATE DATABASE \"%s\" TEMPLATE \"%s\"", to, from);
}

const struct rs_log_table *fx_log_table(const struct rs_log *l,
					const char *schema, const char *name)
{
	for (size_t i = 0; i < l->ntables; i++)
		if (!strcmp(l->tables[i].schema, schema) && !strcmp(l->tables[i].name, name))
			return &l->tables[i];
	return NULL;
}

int fx_lo_hex(PGconn *c, unsigned oid, struct buf *out)
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

/* ---- the source and copies of its capture --------------------------------- */

static int fx_capture(void)
{
	struct pg_snap_opts o;
	struct fx_dsink d = { NULL };
	struct pg_sink k = { &d, fx_ds_dir, fx_ds_begin, fx_ds_write, fx_ds_attr, fx_ds_end,
			     fx_ds_stream_begin, fx_ds_stream_write, fx_ds_stream_end,
			     fx_ds_begin_stream, fx_ds_stream_free, NULL, NULL };
	struct pg_snap *s = NULL;
	struct buf err = BUF_INIT, ci = BUF_INIT;
	char *argv[] = { "psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d",
			 (char *)fx_db("src"), "-f", (char *)fx_fixture, NULL };
	int r;

	if (!fx_admin("CREATE DATABASE \"%s\" ENCODING 'UTF8' TEMPLATE template0", fx_db("src")) || fx_run_cmd(argv, NULL) != 0)
		return -1;
	/* a role that will be gone when the restore runs */
	if (!fx_admin("CREATE ROLE \"%s\" LOGIN CONNECTION LIMIT 3 IN ROLE app_reader", fx_gone))
		return -1;
	/* something for the sequences to carry */
	fx_exec(fx_db("src"), "SELECT nextval('public.counters_n_seq'); SELECT setval('public.tickets_id_seq', 41)");
	memset(&o, 0, sizeof(o));
	buf_addf(&ci, "dbname=%s", fx_db("src"));
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

int fx_tree_copy(const char *suffix, char *out, size_t n)
{
	struct buf cmd = BUF_INIT;
	int good;

	snprintf(out, n, "%s-%s", fx_tree, suffix);
	buf_addf(&cmd, "rm -rf '%s' && cp -a '%s' '%s'", out, fx_tree, out);
	good = system((char *)cmd.data) == 0;
	buf_release(&cmd);
	return good;
}

int fx_write_file(const char *path, const void *p, size_t n)
{
	FILE *f = fopen(path, "wb");
	int good = f && fwrite(p, 1, n, f) == n;

	if (f && fclose(f) != 0)
		good = 0;
	return good;
}

int fx_tree_damaged(char *out, size_t n)
{
	struct buf path = BUF_INIT;
	FILE *f = NULL;

	if (fx_tree_copy("bad", out, n)) {
		buf_addf(&path, "%s/db/public/tables/pair_a/data.sql", out);
		f = fopen((char *)path.data, "r+");
	}
	if (f) {
		fseek(f, -6, SEEK_END);	/* "10\tseed\n\\.\n": a digit of the id */
		fputc('9', f);
		fclose(f);
	}
	buf_release(&path);
	return f != NULL;
}

int fx_tree_miscounted(char *out, size_t n, uint64_t *rows, char xxh3[33])
{
	/* the last row's note "seed" becomes "se\\<newline>d": one row for
	 * COPY (a backslash and a newline are a newline in the value), two
	 * lines for whoever counts lines */
	static const char body[] =
		"1\tseed\n2\tseed\n3\tseed\n4\tseed\n5\tseed\n"
		"6\tseed\n7\tseed\n8\tseed\n9\tseed\n10\tse\\\nd\n";
	struct buf path = BUF_INIT, file = BUF_INIT;
	XXH128_canonical_t cn;
	int good = fx_tree_copy("miscount", out, n);

	if (good)
		good = buf_addf(&path, "%s/db/public/tables/pair_a/data.sql", out) == 0 &&
		       buf_addstr(&file, "COPY public.pair_a (id, note) FROM stdin;\n") == 0 &&
		       buf_addstr(&file, body) == 0 && buf_addstr(&file, "\\.\n") == 0 &&
		       fx_write_file((char *)path.data, file.data, file.len);
	XXH128_canonicalFromHash(&cn, XXH3_128bits(body, sizeof(body) - 1));
	for (size_t i = 0; i < sizeof(cn.digest); i++)
		snprintf(xxh3 + 2 * i, 3, "%02x", cn.digest[i]);
	*rows = 11;
	buf_release(&path);
	buf_release(&file);
	return good;
}

void fx_tree_remove(const char *dir)
{
	struct buf cmd = BUF_INIT;

	buf_addf(&cmd, "rm -rf '%s'", dir);
	if (system((char *)cmd.data) != 0)
		diag("cleanup of %s failed", dir);
	buf_release(&cmd);
}

/* ---- the program ---------------------------------------------------------- */

static void fx_cleanup(const char *const *dbs)
{
	fx_admin("DROP DATABASE IF EXISTS \"%s\" WITH (FORCE)", fx_db("src"));
	for (int i = 0; dbs[i]; i++)
		fx_admin("DROP DATABASE IF EXISTS \"%s\" WITH (FORCE)", fx_db(dbs[i]));
	fx_admin("DROP ROLE IF EXISTS %s", fx_role);
	fx_admin("DROP ROLE IF EXISTS \"%s\"", fx_gone);
	fx_tree_remove(fx_tree);
}

void fx_main(const struct fx_tap *tap, void (*tests)(void),
	     const char *const *dbs)
{
	const char *srcdir = getenv("VAULT_SRCDIR");
	static char fx[4096];
	struct buf err = BUF_INIT;

	if (!getenv("PGHOST") || !getenv("PGPORT")) {
		tap->skip("PGHOST/PGPORT not set: no PostgreSQL server to restore into");
		return;
	}
	snprintf(fx, sizeof(fx), "%s/tests/fixtures/supabase.sql", srcdir ? srcdir : ".");
	fx_fixture = fx;
	if (access(fx_fixture, R_OK) != 0) {
		tap->skip("tests/fixtures/supabase.sql not found (set VAULT_SRCDIR)");
		return;
	}
	snprintf(fx_pfx, sizeof(fx_pfx), "rstest%d", (int)getpid());
	snprintf(fx_role, sizeof(fx_role), "rs_restorer_%d", (int)getpid());
	snprintf(fx_gone, sizeof(fx_gone), "rs Gone %d", (int)getpid());
	snprintf(fx_tree, sizeof(fx_tree), "%s/vault-rsexec-%d", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp",
		 (int)getpid());
	if (mkdir(fx_tree, 0700) < 0) {
		tap->ok(0, "temporary directory %s", fx_tree);
		return;
	}
	tap->ok(fx_capture() == 0, "fixture loaded and captured into a directory");
	rs_input_dir_init(&fx_input, fx_tree);
	tap->ok(rs_plan_source_load(&fx_src, &fx_input, NULL, &err) == 0, "snapshot files read back");
	if (fx_src.meta)
		tests();
	else
		diag("%s", (char *)err.data);
	rs_plan_source_release(&fx_src);
	rs_input_dir_release(&fx_input);
	fx_cleanup(dbs);
	buf_release(&err);
}

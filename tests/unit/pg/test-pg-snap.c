/*
 * test-pg-snap: the capture's instant and its failures (pg-snap), against
 * a real server (pgfix.h; run by tests/cli/t1090-db-unit.sh):
 *  - one instant: a writer inserting the same id into two tables in one
 *    transaction while the capture runs leaves equal id sets;
 *  - errors: an unreachable host names host and port, a too-old pg_dump
 *    names versions and the package, a role without privileges names the
 *    table;
 *  - a password in the connection string appears nowhere: not in
 *    pg_dump's argv, in no file, attribute or meta.json;
 *  - reuse: a capture given the previous meta.json takes the unchanged
 *    tables from it (rows, checksums; the sink opens their entries), and
 *    reads them after all when the sink cannot, failing when those rows
 *    are not the recorded ones.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <libpq-fe.h>

#include "pg-dump.h"
#include "pgfix.h"

/* ---- one instant ---------------------------------------------------- */

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

	snprintf(ci, sizeof(ci), "dbname=%s", pgfix_db);
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
static void slow_after_pair_a(struct pgfix_sink *m,
			      const struct pgfix_stream *st)
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
static char **ids_of(const struct pgfix_entry *e, size_t *n, char **copy)
{
	const char *rows;
	size_t len;
	char **v;

	*n = 0;
	*copy = NULL;
	if (!e || pgfix_data_rows(e, &rows, &len) < 0)
		return NULL;
	*copy = malloc(len + 1);
	memcpy(*copy, rows, len);
	v = pgfix_sorted_lines(*copy, len, n);
	for (size_t i = 0; i < *n; i++) {
		char *tab = strchr(v[i], '\t');

		if (tab)
			*tab = '\0';
	}
	qsort(v, *n, sizeof(*v), pgfix_line_cmp);
	return v;
}

static void test_one_instant(const char *conninfo)
{
	struct pgfix_sink m;
	struct writer w;
	struct buf err = BUF_INIT;
	const struct pgfix_entry *a, *b;
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
	r = pgfix_capture(conninfo, 2, &m, NULL, &err);
	w.stop = 1;
	pthread_join(w.th, NULL);
	is_int(r, 0, "capture under a concurrent writer %s", (char *)err.data);
	ok(!w.failed && w.inserted > 30, "writer committed %ld pairs meanwhile",
	   w.inserted);
	a = pgfix_find(&m, "db/public/tables/pair_a/data.sql");
	b = pgfix_find(&m, "db/public/tables/pair_b/data.sql");
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
	pgfix_sink_release(&m);
	buf_release(&err);
}

/* ---- errors and secrets --------------------------------------------- */

static void test_errors(void)
{
	struct pgfix_sink m;
	struct buf err = BUF_INIT, ci = BUF_INIT;
	struct pg_snap_opts o;
	struct pg_snap *s = NULL;
	char fake[] = "/tmp/vault-fake-pg_dump-XXXXXX";
	int r, fd;

	memset(&m, 0, sizeof(m));
	r = pgfix_capture("host=127.0.0.1 port=1 connect_timeout=2", 1, &m, NULL,
			  &err);
	ok(r == -ECONNREFUSED && strstr((char *)err.data, "127.0.0.1:1"),
	   "unreachable server: %d, %s", r, (char *)err.data);
	buf_reset(&err);
	r = pgfix_capture("postgres://u:pw@[::1", 1, &m, NULL, &err);
	ok(r == -EINVAL && !strstr((char *)err.data, "pw@"),
	   "unparsable URL, password scrubbed: %s", (char *)err.data);
	buf_reset(&err);
	r = pgfix_capture("port=99999", 1, &m, NULL, &err);
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
	buf_addf(&ci, "dbname=%s", pgfix_db);
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
	pgfix_admin("DROP ROLE IF EXISTS vault_limited");
	pgfix_admin("CREATE ROLE vault_limited LOGIN");
	buf_reset(&ci);
	buf_addf(&ci, "dbname=%s user=vault_limited", pgfix_db);
	buf_reset(&err);
	r = pgfix_capture((char *)ci.data, 1, &m, NULL, &err);
	ok(r == -EACCES && strstr((char *)err.data, "permission denied"),
	   "no privilege: %d, %s", r, (char *)err.data);
	ok(strstr((char *)err.data, "table ") != NULL, "the error names the table");
	pgfix_sink_release(&m);
	buf_release(&err);
	buf_release(&ci);
}

static int contains_secret(const struct pgfix_sink *m, const char *secret)
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
	struct pgfix_sink m;
	struct buf err = BUF_INIT, ci = BUF_INIT;
	struct pg_snap *s = NULL;
	const char *secret = "Sekr1t-pa55word";
	int r;

	struct pg_dump_tool real;
	struct pg_snap_opts o;
	struct pg_sink k = pgfix_sink_ops(&m);
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
		 "{ printf 'PGPASSWORD=%%s\\n' \"$PGPASSWORD\"; stat -c 'mode=%%a' \"$PGPASSFILE\";"
		 " cat \"$PGPASSFILE\"; } > '%s/env'\n"
		 "exec '%s' \"$@\"\n", real.path, dir, dir, real.path);
	f = fopen(wrap, "w");
	if (f) {
		fwrite(sh.data, 1, sh.len, f);
		fclose(f);
	}
	chmod(wrap, 0700);

	/* trust authentication ignores the password; libpq still sends it
	 * to pg_dump's connection the same way */
	buf_addf(&ci, "postgres:///%s?password=%s", pgfix_db, secret);
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
	ok(strstr((char *)env.data, "PGPASSWORD=\n") && strstr((char *)env.data, "mode=600\n") &&
	   strstr((char *)env.data, secret) != NULL,
	   "pg_dump got the password in a private passfile, not as PGPASSWORD");
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
	pgfix_sink_release(&m);
	buf_release(&err);
	buf_release(&ci);
}

/* ---- tables taken from the previous capture ------------------------- */

/* Until no other backend is connected to pgfix_db (the last capture's
 * connections end asynchronously): the capture reuses only then. */
static void wait_quiet(void)
{
	struct buf sql = BUF_INIT;

	buf_addf(&sql, "DO $$ BEGIN IF (SELECT count(*) FROM pg_stat_activity"
		 " WHERE datname = '%s') > 0 THEN RAISE EXCEPTION 'busy'; END IF;"
		 " END $$", pgfix_db);
	for (int i = 0; i < 100 && !pgfix_admin((char *)sql.data); i++)
		usleep(100000);
	buf_release(&sql);
}

static int reuse_mode;	/* 0: the sink opens the entry, 1: it cannot */
static struct pg_sink reuse_ops;

static int reuse_entry(void *ctx, const char *path, uint32_t mode)
{
	if (reuse_mode)
		return 1;
	return reuse_ops.begin_file(ctx, path, mode, PG_SINK_ROWS);
}

/* A capture with the previous meta.json prev into m. */
static int reuse_capture(const char *conninfo, const char *prev,
			 struct pgfix_sink *m, struct pg_snap **out,
			 struct buf *err)
{
	struct pg_snap_opts o;
	struct pg_snap *s = NULL;
	int r;

	memset(&o, 0, sizeof(o));
	o.conninfo = conninfo;
	o.jobs = 2;
	reuse_ops = pgfix_sink_ops(m);
	reuse_ops.begin_file_reused = reuse_entry;
	wait_quiet();
	r = pg_snap_open(&s, &o, err);
	if (r == 0)
		r = pg_snap_set_previous(s, "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
					 prev, strlen(prev));
	if (r == 0)
		r = pg_snap_emit(s, &reuse_ops, err);
	*out = s;
	return r;
}

/* Every data.sql of a has the same pg.xxh3 in b; with content, the
 * same bytes too. */
static int same_tables(const struct pgfix_sink *a, const struct pgfix_sink *b,
		       int content)
{
	size_t n = 0;

	for (size_t i = 0; i < a->n; i++) {
		const struct pgfix_entry *e = &a->e[i], *f;
		const char *x = pgfix_attr(e, "pg.xxh3");

		if (!x)
			continue;
		f = pgfix_find(b, e->path);
		if (!f || !pgfix_attr(f, "pg.xxh3") ||
		    strcmp(x, pgfix_attr(f, "pg.xxh3")))
			return 0;
		if (content && (e->content.len != f->content.len ||
				memcmp(e->content.data, f->content.data,
				       e->content.len)))
			return 0;
		n++;
	}
	return n > 0;
}

static void test_reuse(const char *conninfo)
{
	struct pgfix_sink m1, m2, m3;
	struct buf err = BUF_INIT;
	struct pg_snap *s = NULL;
	char *prev, *x;
	size_t nreused;
	int r;

	memset(&m1, 0, sizeof(m1));
	memset(&m2, 0, sizeof(m2));
	memset(&m3, 0, sizeof(m3));
	wait_quiet();
	r = pgfix_capture(conninfo, 2, &m1, &s, &err);
	is_int(r, 0, "reuse: first capture (%s)", (char *)err.data);
	prev = strdup(r == 0 ? pg_snap_meta_json(s) : "{}");
	ok(strstr(prev, "\"unchanged_proof\": \"vault-1/") != NULL,
	   "reuse: the first capture records its proof");
	pg_snap_free(s);

	reuse_mode = 0;
	r = reuse_capture(conninfo, prev, &m2, &s, &err);
	nreused = r == 0 ? pg_snap_nreused(s) : 0;
	is_int(r, 0, "reuse: second capture (%s)", (char *)err.data);
	ok(nreused > 5, "reuse: %zu tables taken from the previous capture", nreused);
	ok(same_tables(&m1, &m2, 0), "reuse: their rows' checksums are the recorded ones");
	ok(r == 0 && strstr(pg_snap_meta_json(s), "\"reused_from\": \"0123456789abcdef") &&
	   strstr(pg_snap_meta_json(s), "\"reused\": true"),
	   "reuse: meta.json names the snapshot and the reused tables");
	pg_snap_free(s);
	buf_reset(&err);

	reuse_mode = 1;
	r = reuse_capture(conninfo, prev, &m3, &s, &err);
	is_int(r, 0, "reuse refused by the sink: read after all (%s)", (char *)err.data);
	ok(r == 0 && pg_snap_nreused(s) == nreused && same_tables(&m1, &m3, 1),
	   "reuse refused: the same bytes as the first capture");
	pg_snap_free(s);
	buf_reset(&err);
	pgfix_sink_release(&m3);
	memset(&m3, 0, sizeof(m3));

	/* a record whose checksum is not the rows': the read shows it */
	x = strstr(prev, "\"xxh3_128\": \"");
	if (x)
		memset(x + 13, '0', 32);
	r = reuse_capture(conninfo, prev, &m3, &s, &err);
	is_int(r, -EIO, "reuse refused, rows not the recorded ones: -EIO");
	ok(strstr((char *)err.data, "changed although its statistics") != NULL,
	   "the error says so: %s", (char *)err.data);
	pg_snap_free(s);

	free(prev);
	pgfix_sink_release(&m1);
	pgfix_sink_release(&m2);
	pgfix_sink_release(&m3);
	buf_release(&err);
}

int main(void)
{
	struct buf ci = BUF_INIT;

	if (!pgfix_start())
		return done_testing();
	buf_addf(&ci, "dbname=%s", pgfix_db);
	test_one_instant((char *)ci.data);
	test_errors();
	test_no_leak();
	test_reuse((char *)ci.data);

	pgfix_db_drop();
	pgfix_admin("DROP ROLE IF EXISTS vault_limited");
	buf_release(&ci);
	return done_testing();
}

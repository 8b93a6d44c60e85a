/*
 * pgfix: what the server tests of src/pg share (pgfix.h): an
 * in-memory sink that records the tree a capture emits and checks its
 * call discipline, the throwaway database loaded from
 * tests/fixtures/supabase.sql, and small helpers around psql and COPY
 * text.  No TAP points are made here (each test program numbers its
 * own); problems are reported with diag().
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>
#include <libpq-fe.h>

#include "manifest.h"
#include "pgfix.h"
#include "../runcmd.h"

char pgfix_db[64], pgfix_db2[64];
static struct buf pgfix_path_ = BUF_INIT;

/* ---- a sink that keeps everything in memory ------------------------- */

static struct pgfix_entry *pgfix_push(struct pgfix_sink *m, const char *path)
{
	struct pgfix_entry *e;

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

static int pgfix_ms_dir(void *ctx, const char *path, uint32_t mode)
{
	struct pgfix_sink *m = ctx;
	struct pgfix_entry *e;

	if (m->open)
		m->bad_calls++;
	e = pgfix_push(m, path);
	e->dir = 1;
	e->mode = mode;
	return 0;
}

static int pgfix_ms_begin(void *ctx, const char *path, uint32_t mode,
			  enum pg_sink_chunking how)
{
	struct pgfix_sink *m = ctx;
	struct pgfix_entry *e;

	if (m->open)
		m->bad_calls++;
	e = pgfix_push(m, path);
	e->mode = mode;
	e->how = how;
	m->open = 1;
	return 0;
}

static int pgfix_ms_write(void *ctx, const void *p, size_t n)
{
	struct pgfix_sink *m = ctx;

	if (!m->open || !m->n)
		return m->bad_calls++, -EINVAL;
	return buf_add(&m->e[m->n - 1].content, p, n);
}

static int pgfix_ms_attr(void *ctx, const char *key, const char *val)
{
	struct pgfix_sink *m = ctx;
	struct pgfix_entry *e = &m->e[m->n - 1];

	if (!m->open)
		return m->bad_calls++, -EINVAL;
	e->attrs = realloc(e->attrs, (e->nattrs + 1) * sizeof(*e->attrs));
	e->attrs[e->nattrs].key = strdup(key);
	e->attrs[e->nattrs].val = strdup(val);
	e->nattrs++;
	return 0;
}

static int pgfix_ms_end(void *ctx)
{
	struct pgfix_sink *m = ctx;

	if (!m->open)
		return m->bad_calls++, -EINVAL;
	m->open = 0;
	return 0;
}

static int pgfix_ms_stream_begin(void *ctx, enum pg_sink_chunking how,
				 const char *path, void **out)
{
	struct pgfix_sink *m = ctx;
	struct pgfix_stream *st = calloc(1, sizeof(*st));

	if (!path)
		m->bad_calls++;
	if (!st)
		return -ENOMEM;
	buf_init(&st->content, 0);
	st->how = how;
	m->streams_live++;
	*out = st;
	return 0;
}

static int pgfix_ms_stream_write(void *ctx, void *h, const void *p, size_t n)
{
	struct pgfix_sink *m = ctx;
	struct pgfix_stream *st = h;

	if (st->ended)
		return m->bad_calls++, -EINVAL;
	return buf_add(&st->content, p, n);
}

static int pgfix_ms_stream_end(void *ctx, void *h)
{
	struct pgfix_sink *m = ctx;
	struct pgfix_stream *st = h;

	if (st->ended)
		return m->bad_calls++, -EINVAL;
	st->ended = 1;
	if (m->after_stream)
		m->after_stream(m, st);
	return 0;
}

static void pgfix_ms_stream_free(void *ctx, void *h)
{
	struct pgfix_sink *m = ctx;
	struct pgfix_stream *st = h;

	buf_release(&st->content);
	free(st);
	m->streams_live--;
}

static int pgfix_ms_begin_stream(void *ctx, const char *path, uint32_t mode,
				 void *h)
{
	struct pgfix_sink *m = ctx;
	struct pgfix_stream *st = h;
	struct pgfix_entry *e;

	if (m->open || !st->ended)
		m->bad_calls++;
	e = pgfix_push(m, path);
	e->mode = mode;
	e->how = st->how;
	buf_add(&e->content, st->content.data, st->content.len);
	pgfix_ms_stream_free(m, st);
	m->open = 1;
	return 0;
}

struct pg_sink pgfix_sink_ops(struct pgfix_sink *m)
{
	struct pg_sink k = {
		m, pgfix_ms_dir, pgfix_ms_begin, pgfix_ms_write,
		pgfix_ms_attr, pgfix_ms_end, pgfix_ms_stream_begin,
		pgfix_ms_stream_write, pgfix_ms_stream_end,
		pgfix_ms_begin_stream, pgfix_ms_stream_free, NULL, NULL,
	};

	return k;
}

void pgfix_sink_release(struct pgfix_sink *m)
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

const struct pgfix_entry *pgfix_find(const struct pgfix_sink *m,
				     const char *path)
{
	for (size_t i = 0; i < m->n; i++)
		if (!strcmp(m->e[i].path, path))
			return &m->e[i];
	return NULL;
}

const char *pgfix_attr(const struct pgfix_entry *e, const char *key)
{
	for (size_t a = 0; e && a < e->nattrs; a++)
		if (!strcmp(e->attrs[a].key, key))
			return e->attrs[a].val;
	return NULL;
}

const char *pgfix_text(const struct pgfix_sink *m, const char *path)
{
	const struct pgfix_entry *e = pgfix_find(m, path);

	return e ? (const char *)e->content.data : "";
}

/* ---- helpers -------------------------------------------------------- */

int pgfix_run(char *const argv[], struct buf *out)
{
	/* psql output in the capture's session settings */
	static const char *const env[] = {
		"PGOPTIONS=-c DateStyle=ISO -c IntervalStyle=postgres"
		" -c TimeZone=UTC -c extra_float_digits=3 -c bytea_output=hex"
		" -c client_min_messages=error",
		"PGCLIENTENCODING=UTF8", NULL
	};

	return runcmd(argv, env, out);
}

static void pgfix_quiet(void *arg, const char *msg)
{
}

int pgfix_admin(const char *sql)
{
	PGconn *c = PQconnectdb("dbname=postgres");
	PGresult *r;
	int good;

	if (PQstatus(c) != CONNECTION_OK) {
		diag("admin connection: %s", PQerrorMessage(c));
		PQfinish(c);
		return 0;
	}
	PQsetNoticeProcessor(c, pgfix_quiet, NULL);
	r = PQexec(c, sql);
	good = PQresultStatus(r) == PGRES_COMMAND_OK;
	if (!good)
		diag("%s: %s", sql, PQerrorMessage(c));
	PQclear(r);
	PQfinish(c);
	return good;
}

int pgfix_psql_file(const char *db, const char *file)
{
	char *argv[] = { "psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d",
			 (char *)db, "-f", (char *)file, NULL };

	return pgfix_run(argv, NULL);
}

int pgfix_capture(const char *conninfo, int jobs, struct pgfix_sink *m,
		  struct pg_snap **keep, struct buf *err)
{
	struct pg_snap_opts o;
	struct pg_sink k = pgfix_sink_ops(m);
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

int pgfix_line_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Splits rows into sorted lines (modifies the buffer). */
char **pgfix_sorted_lines(char *p, size_t len, size_t *n)
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
	qsort(v, k, sizeof(*v), pgfix_line_cmp);
	*n = k;
	return v;
}

/* The rows part of a data.sql: after the first line, before "\.\n". */
int pgfix_data_rows(const struct pgfix_entry *e, const char **rows, size_t *len)
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

int pgfix_same_multiset(const char *a, size_t alen, const char *b, size_t blen)
{
	char *x = malloc(alen + 1), *y = malloc(blen + 1);
	size_t nx, ny;
	char **lx, **ly;
	int same;

	memcpy(x, a, alen);
	memcpy(y, b, blen);
	lx = pgfix_sorted_lines(x, alen, &nx);
	ly = pgfix_sorted_lines(y, blen, &ny);
	same = nx == ny;
	for (size_t i = 0; same && i < nx; i++)
		same = !strcmp(lx[i], ly[i]);
	free(lx);
	free(ly);
	free(x);
	free(y);
	return same;
}


/* ---- the fixture database ------------------------------------------- */

const char *pgfix_path(void)
{
	const char *src = getenv("VAULT_SRCDIR");

	if (!pgfix_path_.len)
		buf_addf(&pgfix_path_, "%s/tests/fixtures/supabase.sql",
			 src ? src : ".");
	return (const char *)pgfix_path_.data;
}

int pgfix_db_create(void)
{
	struct buf create = BUF_INIT;
	int good;

	snprintf(pgfix_db, sizeof(pgfix_db), "vault_pgsnap_%ld",
		 (long)getpid());
	snprintf(pgfix_db2, sizeof(pgfix_db2),
		 "vault_pgsnap_%ld_reload", (long)getpid());
	buf_addf(&create, "CREATE DATABASE \"%s\" ENCODING 'UTF8' TEMPLATE template0",
		 pgfix_db);
	good = pgfix_admin((char *)create.data);
	buf_release(&create);
	return good;
}

int pgfix_db_load(void)
{
	return pgfix_psql_file(pgfix_db, pgfix_path());
}

void pgfix_db_drop(void)
{
	const char *names[2] = { pgfix_db, pgfix_db2 };

	for (int i = 0; i < 2; i++) {
		struct buf drop = BUF_INIT;

		buf_addf(&drop, "DROP DATABASE IF EXISTS \"%s\"", names[i]);
		pgfix_admin((char *)drop.data);
		buf_release(&drop);
	}
	buf_release(&pgfix_path_);
}

/*
 * pg-jobs: the default number of COPY connections (rule in pg-jobs.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pg-conn.h"
#include "pg-jobs.h"

int pg_jobs_choose(const struct pg_jobs_in *in)
{
	long cpu = in->ncpu < 1 ? 1 : in->ncpu;
	long j = in->local ? cpu : 2 * cpu;

	if (!in->local && in->max_parallel >= 0 && j > in->max_parallel)
		j = in->max_parallel;
	if ((size_t)j > in->ntables)
		j = (long)in->ntables;
	if (in->max_connections > 0 && in->used >= 0) {
		long reserved = in->reserved > 0 ? in->reserved : 0;
		long free_conns = in->max_connections - reserved - in->used;

		if (j > free_conns / 2)
			j = free_conns / 2;
	}
	if (j > PG_JOBS_MAX)
		j = PG_JOBS_MAX;
	return j < 1 ? 1 : (int)j;
}

/* A loopback or socket-directory host: the server shares our CPUs. */
static int pg_jobs_local(PGconn *c)
{
	const char *h = PQhost(c);

	if (!h || !*h || h[0] == '/' || h[0] == '@')
		return 1;
	return !strcmp(h, "localhost") || !strncmp(h, "127.", 4) ||
	       !strcmp(h, "::1");
}

/* A number from a result cell, -1 when NULL or not a number. */
static long pg_jobs_cell(const PGresult *res, int col)
{
	const char *v;
	char *end;
	long x;

	if (PQgetisnull(res, 0, col))
		return -1;
	v = PQgetvalue(res, 0, col);
	errno = 0;
	x = strtol(v, &end, 10);
	return errno || end == v || *end || x < 0 ? -1 : x;
}

int pg_jobs_probe(PGconn *c, struct pg_jobs_in *in, struct buf *err)
{
	/* current_setting(name, true): NULL, not an error, when hidden */
	static const char sql[] =
		"SELECT current_setting('max_connections', true),"
		" current_setting('superuser_reserved_connections', true),"
		" (SELECT count(*) FROM pg_stat_activity"
		"  WHERE backend_type = 'client backend'),"
		" current_setting('max_parallel_workers', true)";
	PGresult *res;
	int r;

	in->ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	in->local = pg_jobs_local(c);
	in->max_connections = in->reserved = in->used = in->max_parallel = -1;
	r = pg_conn_query(c, &res, PGRES_TUPLES_OK, sql, 0, NULL,
			  "reading the server's connection limits", err);
	if (r < 0)
		return r;
	if (PQntuples(res) == 1 && PQnfields(res) == 4) {
		in->max_connections = pg_jobs_cell(res, 0);
		in->reserved = pg_jobs_cell(res, 1);
		in->used = pg_jobs_cell(res, 2);
		in->max_parallel = pg_jobs_cell(res, 3);
	}
	PQclear(res);
	return 0;
}

/*
 * test-pg-jobs: the default number of COPY connections (pg-jobs.h):
 * local servers get one per CPU, remote ones two, within the tables
 * with rows, max_parallel_workers, half the free connections and
 * PG_JOBS_MAX; never below 1.
 */
#include <string.h>

#include "../tap.h"
#include "pg-jobs.h"

static int choose(long ncpu, int local, size_t ntables, long maxc,
		  long reserved, long used, long par)
{
	struct pg_jobs_in in;

	memset(&in, 0, sizeof(in));
	in.ncpu = ncpu;
	in.local = local;
	in.ntables = ntables;
	in.max_connections = maxc;
	in.reserved = reserved;
	in.used = used;
	in.max_parallel = par;
	return pg_jobs_choose(&in);
}

int main(void)
{
	/* the benchmark machine: 2 CPUs, the server beside vault */
	is_int(choose(2, 1, 5, 100, 3, 1, 8), 2, "local, 2 CPUs: 2");
	is_int(choose(1, 1, 5, 100, 3, 1, 8), 1, "local, 1 CPU: 1");
	is_int(choose(16, 1, 50, 100, 3, 1, 8), 8, "local, 16 CPUs: at most 8");
	is_int(choose(0, 1, 5, -1, -1, -1, -1), 1, "no CPU count: 1");
	/* remote: the server's cores do the work */
	is_int(choose(2, 0, 5, 100, 3, 1, 8), 4, "remote, 2 CPUs: 4");
	is_int(choose(2, 0, 5, 100, 3, 1, 2), 2,
	       "remote: within max_parallel_workers");
	is_int(choose(2, 0, 5, 100, 3, 1, 0), 1,
	       "remote, parallel workers off: 1");
	is_int(choose(2, 0, 5, 100, 3, 1, -1), 4,
	       "remote, max_parallel_workers unknown: by the CPUs");
	is_int(choose(2, 1, 5, 100, 3, 1, 1), 2,
	       "local: max_parallel_workers is no limit (same cores)");
	/* the tables */
	is_int(choose(8, 1, 3, 100, 3, 1, 8), 3, "no more than the tables");
	is_int(choose(8, 1, 1, 100, 3, 1, 8), 1, "one table: 1");
	is_int(choose(8, 1, 0, 100, 3, 1, 8), 1, "no table: 1");
	/* the connections */
	is_int(choose(8, 1, 20, 10, 3, 2, 8), 2, "half the free connections");
	is_int(choose(8, 1, 20, 10, 3, 6, 8), 1, "one free connection: 1");
	is_int(choose(8, 1, 20, 10, 3, 9, 8), 1, "none free: still 1");
	is_int(choose(8, 1, 20, 100, -1, 2, 8), 8, "reserve unknown: 0");
	is_int(choose(8, 1, 20, -1, 3, 2, 8), 8, "max_connections unknown");
	is_int(choose(8, 1, 20, 100, 3, -1, 8), 8, "open connections unknown");
	return done_testing();
}

/*
 * pg-jobs: how many COPY connections a capture uses when the user does
 * not say (--jobs): the rule of doc/design.md ("How many connections"),
 * from what the client and the server tell.
 *
 * Each connection streams one table at a time (pg-copy.h, interleaved),
 * and per byte the server's backend spends about three times the CPU
 * vault does (heap or index scan, COPY text): the tables' reading is
 * the server's CPU.  So:
 *   - a server on this machine (a socket directory or a loopback
 *     address) shares the client's CPUs: at most one connection per
 *     online CPU, since more only split the same cores finer;
 *   - a remote server: two per client CPU (vault's part is the smaller
 *     one), the server's own limit coming from max_parallel_workers,
 *     the number of parallel workers its administrator allows (hosted
 *     plans scale it with the instance's cores);
 *   - never more than the tables that have rows;
 *   - never more than half the connections still free (max_connections
 *     less the superuser reserve less those open), so a backup does not
 *     starve the application;
 *   - between 1 and PG_JOBS_MAX.
 */
#ifndef VAULT_PG_JOBS_H
#define VAULT_PG_JOBS_H

#include <stddef.h>
#include <libpq-fe.h>
#include "buf.h"

#define PG_JOBS_MAX 8

struct pg_jobs_in {
	long ncpu;		/* the client's online CPUs (< 1: 1) */
	int local;		/* the server runs on this machine */
	size_t ntables;		/* tables with rows to read */
	long max_connections, reserved, used;	/* the server's; -1 unknown */
	long max_parallel;	/* max_parallel_workers; -1 unknown */
};

/* The rule above: a number of connections, 1..PG_JOBS_MAX. */
int pg_jobs_choose(const struct pg_jobs_in *in);

/*
 * Fills in's server fields from c (one query; -1 where a setting cannot
 * be read), in->local from c's host and in->ncpu from this machine.
 * ntables is the caller's.  0, or a pg-conn errno with err set.
 */
int pg_jobs_probe(PGconn *c, struct pg_jobs_in *in, struct buf *err);

#endif

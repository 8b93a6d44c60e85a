/*
 * pg-copy: streaming `COPY ... TO STDOUT` of many tables, in a fixed
 * order, over one or several connections that share a snapshot.
 *
 * The consumer takes tables either strictly in job order (pg_copy_take),
 * so parallelism is prefetching: with N connections, N worker threads
 * run the next COPYs while the consumer is still writing an earlier
 * table; or interleaved (pg_copy_next): a block of whichever table in
 * flight has one, so N COPYs stream at once and a large table does not
 * hold up the ones after it.  Memory stays bounded: a worker
 * stops reading once `buffer` bytes of its table wait unconsumed (the
 * server then simply waits on the socket), and at most `window` tables
 * are in flight.  Nothing touches the disk.
 *
 * With one connection the COPY runs on the caller's thread as it takes
 * each table; no threads are started.
 *
 * For every table the worker also counts rows and computes the XXH3-128
 * of the exact byte stream (rows in COPY text format, without a header
 * or the "\." line), which restore recomputes to verify; a job may
 * continue the checksum of rows read earlier (its resume state), and
 * every result gives the state its checksum ended in.
 */
#ifndef VAULT_PG_COPY_H
#define VAULT_PG_COPY_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <libpq-fe.h>
#include "buf.h"
#include "pg-hashstate.h"

struct pg_copy_job {
	const char *sql;	/* COPY (...) TO STDOUT */
	const char *label;	/* "schema.table", for messages */
};

struct pg_copy_result {
	uint64_t rows;
	uint64_t bytes;
	uint8_t xxh128[16];	/* canonical (big-endian) XXH3-128 */
	/* the checksum's state after the rows (state_ok 0: not saved,
	 * another xxhash library than the header's) */
	struct pg_hashstate state;
	int state_ok;
};

struct pg_copy_opts {
	PGconn *const *conns;	/* each in a transaction on the snapshot */
	size_t nconns;		/* >= 1 */
	size_t window;		/* tables in flight; 0 = 2 * nconns */
	size_t buffer;		/* bytes queued per table; 0 = 4 MiB */
	/* set asynchronously (SIGINT): stops with -EINTR */
	volatile sig_atomic_t *interrupt;
	/* NULL, or parallel to the jobs: NULL, or the checksum state of
	 * rows read before (a table's tail), which the job's checksum
	 * continues */
	const struct pg_hashstate *const *resume;
};

struct pg_copy;

/* jobs must stay valid until pg_copy_free.  Starts the workers. */
int pg_copy_start(struct pg_copy **cp, const struct pg_copy_job *jobs,
		  size_t njobs, const struct pg_copy_opts *o, struct buf *err);

typedef int (*pg_copy_data_fn)(void *ctx, const void *p, size_t n);

/*
 * Streams job i into fn and fills res.  Jobs must be taken in order
 * 0, 1, 2...  With one connection fn may be NULL: the rows are only
 * counted and hashed (a verification read-back).  An error of fn is returned as is; a server error gives a
 * pg-conn errno and "table <label>: <server message>" in err.  After any
 * error the remaining jobs are abandoned.
 */
int pg_copy_take(struct pg_copy *cp, size_t i, pg_copy_data_fn fn, void *ctx,
		 struct pg_copy_result *res, struct buf *err);

/* What pg_copy_next hands over: a block of job `job`'s rows, or (end)
 * the job's end with its result. */
struct pg_copy_event {
	size_t job;
	int end;
	const void *data;		/* end 0: the rows, len bytes */
	size_t len;
	struct pg_copy_result res;	/* end 1 */
};

/*
 * Interleaved taking (nconns > 1 only, else -EINVAL; not mixed with
 * pg_copy_take): waits for the next block of any job in flight, the
 * lowest job first, or for a job's end, which comes after all its
 * blocks.  A job's first event comes after the first event of every
 * job before it is possible to begin (the caller may begin jobs in
 * order as they appear).  Returns 1 with *ev filled (ev->data valid
 * until the next call or pg_copy_free), 0 once every job has ended, or
 * a negative errno as pg_copy_take (after which the remaining jobs are
 * abandoned).  A caller that fails on its own side just stops calling:
 * pg_copy_free cancels what is left.
 */
int pg_copy_next(struct pg_copy *cp, struct pg_copy_event *ev,
		 struct buf *err);

/* Stops and joins the workers.  Connections whose COPY was cut short
 * are left unusable: the caller closes them.  NULL-safe. */
void pg_copy_free(struct pg_copy *cp);

#endif

/*
 * rs-exec-int: what rs-exec shares with rs-par, its parallel loader.
 * Not for other callers: they use rs-exec.h.
 */
#ifndef VAULT_RS_EXEC_INT_H
#define VAULT_RS_EXEC_INT_H

#include <pthread.h>
#include "rs-exec.h"

struct rs_exec {
	PGconn *c;
	const struct rs_input *in;
	const struct rs_plan_source *src;
	const struct rs_select *sel;
	const struct rs_exec_opts *o;
	struct rs_plan *p;
	struct rs_log *log;
	struct rs_log log_local;
	struct buf *err;
	struct rs_log_table **lt;	/* per plan table */
	PGresult *pubs;		/* memberships of the tables dropped:
				 * statement, publication, table */
	/* the parallel load (rs-par) */
	volatile int *stop;		/* set: every worker stops */
	pthread_mutex_t *mu;		/* serializes progress callbacks */
	unsigned char *done;		/* per plan table: loaded, verified
					 * and committed by a worker */
	unsigned char *sec_done;	/* per DDL section: run by a worker */
	int copy_freeze;		/* COPY ... WITH (FREEZE): the table
					 * was emptied in this transaction */
};

/* Progress (serialized when workers run). */
void rs_exec_step(struct rs_exec *x, const char *step,
		  const struct rs_meta_table *t);
/* -EINTR (err says so) once interrupted or stopped, else 0. */
int rs_exec_interrupted(struct rs_exec *x);
int rs_exec_cmd(struct rs_exec *x, const char *sql, const char *what);
/* The dump's preamble (SET statements), then the capture's session
 * settings (rs_exec_session). */
int rs_exec_preamble(struct rs_exec *x);
int rs_exec_session(struct rs_exec *x);
/* COPY plan table i's rows from the snapshot into it; rows in *n. */
int rs_exec_copy_in(struct rs_exec *x, const struct rs_meta_table *t,
		    const char *target, uint64_t *n);
/* Verification of plan table i, then its row count after. */
int rs_exec_verify_one(struct rs_exec *x, size_t i);

/* A worker's post-data for table i: its indexes and non-foreign-key
 * constraints (marked in sec_done). */
int rs_exec_table_post(struct rs_exec *x, size_t i);

struct rs_undo;

/* Locks the tables that exist and change. */
int rs_exec_lock(struct rs_exec *x);
/* Up to the rows: locks, roles, clean-mode drops, DDL sections [0, to). */
int rs_exec_steps_ddl(struct rs_exec *x, size_t to);
/* The rest from DDL section from on (rows not loaded yet, post-data,
 * sequences, checks, verification), an empty-mode restore's rollback
 * statements (u, may be NULL) and the commit. */
int rs_exec_finish(struct rs_exec *x, struct rs_undo *u, size_t from);

/*
 * fn(x, ctx, why) inside a savepoint: 0, or 1 when it failed in a way
 * that leaves the transaction usable (rolled back to the savepoint, why
 * says what failed), or a negative errno (a lost connection, an
 * interrupt, no memory) with x->err filled.
 */
int rs_exec_guarded(struct rs_exec *x, int (*fn)(struct rs_exec *x, void *ctx, struct buf *why),
		    void *ctx, struct buf *why);
/* rs_undo_begin, guarded: 1 (why filled) when the catalogs cannot be
 * read; *u is then NULL. */
int rs_exec_undo_begin(struct rs_exec *x, struct rs_undo **u, struct buf *why);

/* rs-par: the parallel strategy, from inside the plan's transaction
 * (x->done, x->sec_done allocated); as rs_exec_run once planned. */
int rs_par_run(struct rs_exec *x);

/* rs-par: loads, verifies and commits each plan table whose done[] is
 * to be set (rs_plan_table_parallel), over up to o->jobs connections
 * (x->c is one of them; it must be idle).  0, or the first worker's
 * error (in x->err) after every worker has stopped and rolled back its
 * table. */
int rs_par_load(struct rs_exec *x, PGconn *const *extra, size_t nextra);

#endif

/*
 * rs-exec-int: what the parts of the executor share, and the steps its
 * two strategies (the one transaction of rs-exec, the parallel load of
 * rs-par) are made of.  Not for other callers: they use rs-exec.h.
 *
 * The parts stand on one another in one direction (a file calls only
 * those below it):
 *   rs-exec        rs_exec_run, the one transaction
 *   rs-par         the parallel strategy
 *   rs-exec-steps  the steps both strategies run, in order
 *   rs-exec-after, rs-exec-clean, rs-exec-verify, rs-exec-load
 *                  (verify uses load's names for merge mode)
 *   rs-exec-stmt   commands, the dump's statements, the session
 * Every function here works on the connection x->c, fills x->err on
 * failure and returns 0 or a negative errno (pg-conn's for a failing
 * statement, -EINTR once interrupted), unless it says otherwise.
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
	PGresult *triggers;	/* the triggers disabled while kept tables
				 * reload: DISABLE, and the ENABLE that puts
				 * each back */
	/* the parallel load (rs-par) */
	volatile int *stop;		/* set: every worker stops */
	pthread_mutex_t *mu;		/* serializes progress callbacks */
	unsigned char *done;		/* per plan table: loaded, verified
					 * and committed by a worker */
	unsigned char *sec_done;	/* per DDL section: run by a worker */
	int copy_freeze;		/* COPY ... WITH (FREEZE): the table
					 * was emptied in this transaction */
	int undo_rehearse;		/* the rollback's undo is rehearsed
					 * before the last commit (the first
					 * proof failed: it says why) rather
					 * than only listed */
	/* default_table_access_method and default_tablespace as this
	 * connection's session has them from the dump's sections; NULL:
	 * not known, set before the next section that needs one */
	const char *ddl_am, *ddl_tablespace;
};

struct rs_undo;

/* ---- rs-exec-stmt: statements ------------------------------------------- */

/* Progress (serialized when workers run). */
void rs_exec_step(struct rs_exec *x, const char *step,
		  const struct rs_meta_table *t);
/* -EINTR (err says so) once interrupted or stopped, else 0. */
int rs_exec_interrupted(struct rs_exec *x);
/* One command; what names it in the error. */
int rs_exec_cmd(struct rs_exec *x, const char *sql, const char *what);
/* A failed result (res may be NULL: the connection's error) as an
 * errno, with what, the server's message and its context (for COPY:
 * the line) in x->err. */
int rs_exec_stmt_fail(struct rs_exec *x, const PGresult *res, const char *what);
/* The sections [from, to) of schema.sql the plan runs (and, with from ==
 * 0, its preamble), less those a worker ran (x->sec_done) and those it
 * runs late. */
int rs_exec_stmt_sections(struct rs_exec *x, size_t from, size_t to);
/* The sections the plan runs after the post-data (p->sec_late). */
int rs_exec_stmt_late(struct rs_exec *x);
/* The dump's preamble (SET statements), then the capture's session
 * settings (rs_exec_session). */
int rs_exec_preamble(struct rs_exec *x);
int rs_exec_session(struct rs_exec *x);
/* roles.sql's statements the plan runs (missing roles, memberships). */
int rs_exec_stmt_roles(struct rs_exec *x);
/* The statements the restore would run but skips, into the log. */
int rs_exec_stmt_log_skipped(struct rs_exec *x);
/* maintenance_work_mem raised to 256MB for the transaction (never
 * lowered) before indexes are built. */
int rs_exec_stmt_work_mem(struct rs_exec *x);
/* A worker's post-data for table i: its indexes and non-foreign-key
 * constraints (marked in sec_done), then the COMMIT of its
 * transaction. */
int rs_exec_table_post(struct rs_exec *x, size_t i);

/* ---- rs-exec-clean: locks, drops ---------------------------------------- */

/* Locks the tables that exist and change. */
int rs_exec_lock(struct rs_exec *x);
/* Clean mode: notes the publication memberships of the tables it
 * recreates (x->pubs), drops what it recreates (and the views it was
 * told to drop), disables the triggers of the tables it keeps
 * (x->triggers) and empties them; a rollback: drops o->drop_tables. */
int rs_exec_clean_drop(struct rs_exec *x);
/* Clean mode, once the rows are in: the triggers rs_exec_clean_drop
 * disabled on the tables it emptied, put back as they were. */
int rs_exec_clean_triggers_on(struct rs_exec *x);
/* Puts back the memberships rs_exec_clean_drop noted and the snapshot's
 * DDL did not. */
int rs_exec_clean_pubs_restore(struct rs_exec *x);
/* sql = "TRUNCATE ONLY " and the tables that existed and got rows, then
 * for an extension's configuration table among them "; DELETE FROM ONLY
 * t <its filter>"; *n gets how many (none: nothing to run).  0 or
 * -ENOMEM. */
int rs_exec_clean_filled(const struct rs_exec *x, struct buf *sql, size_t *n);

/* ---- rs-exec-load: rows ------------------------------------------------- */

/* COPY the snapshot's rows of t into target (qualified, quoted); rows
 * loaded in *n (may be NULL).  -EBADMSG when they do not match
 * meta.json (XXH3-128 and rows of the bytes sent), or when COPY reports
 * another row count than meta.json's: the streamed verification. */
int rs_exec_copy_in(struct rs_exec *x, const struct rs_meta_table *t,
		    const char *target, uint64_t *n);
/* Every plan table's rows not loaded yet (x->done), in the plan's
 * order; merge mode through a temporary table. */
int rs_exec_load(struct rs_exec *x);
/* "(a, b)" of t's primary key columns, each after prefix, appended to
 * b; 0 or -ENOMEM. */
int rs_exec_load_pk_list(struct buf *b, const struct rs_meta_table *t,
			 const char *prefix);
/* b = the temporary table merge mode loads plan table i into. */
int rs_exec_load_tmp_name(struct buf *b, size_t i);

/* ---- rs-exec-verify: verification --------------------------------------- */

/* The session settings the verification's read-back needs (heap order:
 * no synchronized scans, no parallel query) for this transaction; none
 * unless the plan's verification is RS_VERIFY_FULL. */
int rs_exec_verify_setup(struct rs_exec *x);
/* Verification of plan table i (RS_VERIFY_STREAMED: what its load
 * checked, into the log; RS_VERIFY_FULL: read back), then its row count
 * after. */
int rs_exec_verify_one(struct rs_exec *x, size_t i);
/* rs_exec_verify_setup, then every plan table loaded and not done by a
 * worker.  -EBADMSG (err names the table) when one differs. */
int rs_exec_verify(struct rs_exec *x);

/* ---- rs-exec-after: foreign keys, sequences, materialized views -------- */

/* Clean mode: the dropped foreign keys of unselected tables re-added;
 * -EEXIST (err names the key and rows) when rows would violate one. */
int rs_exec_after_readd_fks(struct rs_exec *x);
/* After a replica-mode load: every key touching a loaded table checked;
 * -EBADMSG (err names the key and rows) when rows lack a match. */
int rs_exec_after_check_fks(struct rs_exec *x);
/* sequences.sql's values for the selected sequences (merge mode: only
 * forward). */
int rs_exec_after_sequences(struct rs_exec *x);
/* The materialized views the restore created or recreated, refreshed. */
int rs_exec_after_refresh(struct rs_exec *x);

/* ---- rs-exec-steps: the steps both strategies run ----------------------- */

/* Up to the rows: locks, roles, clean-mode drops, DDL sections [0, to). */
int rs_exec_steps_ddl(struct rs_exec *x, size_t to);
/* The rest from DDL section from on (rows not loaded yet, post-data,
 * sequences, checks, verification), an empty-mode restore's rollback
 * statements (u, may be NULL) and the commit. */
int rs_exec_finish(struct rs_exec *x, struct rs_undo *u, size_t from);
/* The undo's proof runs inside a savepoint: a failure that leaves the
 * transaction usable (a catalog this role may not read...) is rolled
 * back to it and only means "no undo".
 * rs_undo_begin, guarded: 1 (why filled) when the catalogs cannot be
 * read; *u is then NULL. */
int rs_exec_undo_begin(struct rs_exec *x, struct rs_undo **u, struct buf *why);
/* rs_undo_prepare, guarded: 0 when the undo is proven, 1 when it cannot
 * be (why says why), or a negative errno. */
int rs_exec_undo_prepare(struct rs_exec *x, struct rs_undo *u, struct buf *why);

#endif

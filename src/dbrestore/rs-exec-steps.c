/*
 * rs-exec-steps: the executor's steps in the order of rs-exec.h, cut in
 * the two halves both strategies run.
 *
 * rs_exec_steps_ddl runs everything up to the rows (locks, roles,
 * clean-mode drops, the DDL sections up to a cut); rs_exec_finish runs
 * the rest (the DDL from the cut, the rows not loaded yet, large
 * objects, post-data, what rs-exec-after does, the verification), notes
 * an empty-mode restore's undo in the log and commits.  The undo's
 * proof (rs-undo) runs inside a savepoint here, for both.  The one
 * transaction (rs-exec) calls both with the cut at the post-data; the
 * parallel strategy (rs-par) commits between them and loads the new
 * tables' rows over other connections in the gap.  Neither strategy is
 * known here: this file is the interface they both stand on.
 */
#include <errno.h>

#include "pg-conn.h"
#include "rs-exec-int.h"
#include "rs-lo.h"
#include "rs-undo.h"
#include "strv.h"

/* Up to the rows: locks, roles, clean-mode drops, DDL sections [0, to). */
int rs_exec_steps_ddl(struct rs_exec *x, size_t to)
{
	int r;

	rs_exec_step(x, "roles", NULL);
	r = rs_exec_lock(x);
	if (r == 0)
		r = rs_exec_stmt_roles(x);
	rs_exec_step(x, "drop", NULL);
	if (r == 0)
		r = rs_exec_clean_drop(x);
	rs_exec_step(x, "ddl", NULL);
	if (r == 0)
		r = rs_exec_stmt_sections(x, 0, to);
	/* the dump's preamble may have changed client_encoding */
	if (r == 0)
		r = rs_exec_session(x);
	return r;
}

/* The rest: DDL sections [from, post-data), the rows not loaded yet,
 * post-data, sequences, checks and the verification. */
static int rs_exec_steps_rest(struct rs_exec *x, size_t from)
{
	int r = 0;

	if (from < x->p->post_data) {
		r = rs_exec_stmt_sections(x, from, x->p->post_data);
		if (r == 0)
			r = rs_exec_session(x);
	}
	if (r == 0)
		r = rs_exec_load(x);
	if (r == 0)
		r = rs_exec_clean_triggers_on(x);
	/* large objects: created and verified in this transaction too */
	if (r == 0)
		r = rs_lo_restore(x->c, x->in, x->src, x->p, x->log, x->o,
				  x->err);
	rs_exec_step(x, "post-data", NULL);
	if (r == 0)
		r = rs_exec_stmt_work_mem(x);
	if (r == 0)
		r = rs_exec_stmt_sections(x, x->p->post_data, x->p->nsec);
	/* a partition recreated under a parent that stays, attached now */
	if (r == 0)
		r = rs_exec_stmt_late(x);
	if (r == 0)
		r = rs_exec_session(x);
	if (r == 0)
		r = rs_exec_clean_pubs_restore(x);
	if (r == 0 && x->p->mode == RS_MODE_CLEAN)
		r = rs_exec_after_readd_fks(x);
	if (r == 0)
		r = rs_exec_after_sequences(x);
	if (r == 0)
		r = rs_exec_cmd(x, "SET CONSTRAINTS ALL IMMEDIATE", "checking deferred constraints");
	if (r == 0 && x->p->replica) {
		r = rs_exec_after_check_fks(x);
		if (r == 0)
			r = rs_exec_cmd(x, "SET session_replication_role = origin",
					"session_replication_role");
	}
	if (r == 0 && x->p->mode != RS_MODE_MERGE)
		r = rs_exec_after_refresh(x);
	if (r == 0) {
		r = rs_log_set(&x->log->verification, "failed");
		if (r == 0)
			r = rs_exec_verify(x);
		if (r == 0)
			r = rs_log_set(&x->log->verification, "ok");
	}
	return r;
}

static int rs_exec_steps_commit(struct rs_exec *x)
{
	rs_exec_step(x, "commit", NULL);
	return rs_exec_cmd(x, "COMMIT", "committing the restore");
}

/* ---- the undo, guarded ------------------------------------------------------- */

/*
 * fn(x, ctx, why) inside a savepoint: a failure that leaves the
 * connection usable (a catalog this role may not read...) is rolled back
 * to the savepoint and described in why, with 1 returned; a lost
 * connection, an interrupt or no memory stays an error.
 */
static int rs_exec_steps_guarded(struct rs_exec *x,
				 int (*fn)(struct rs_exec *x, void *ctx, struct buf *why),
				 void *ctx, struct buf *why)
{
	struct buf e = BUF_INIT, *keep = x->err;
	int r = rs_exec_cmd(x, "SAVEPOINT vault_guard", "savepoint"), f;

	if (r < 0)
		return r;
	x->err = &e;
	f = fn(x, ctx, why);
	x->err = keep;
	if (f < 0 && f != -ECONNRESET && f != -EINTR && f != -ENOMEM &&
	    PQstatus(x->c) == CONNECTION_OK) {
		buf_add(why, e.data, e.len);
		f = 1;
		r = rs_exec_cmd(x, "ROLLBACK TO SAVEPOINT vault_guard", "savepoint");
	} else if (f < 0 && keep) {
		buf_add(keep, e.data, e.len);
	}
	if (r == 0 && f >= 0)
		r = rs_exec_cmd(x, "RELEASE SAVEPOINT vault_guard", "savepoint");
	buf_release(&e);
	return r < 0 ? r : f;
}

static int rs_exec_steps_begin_fn(struct rs_exec *x, void *ctx, struct buf *why)
{
	return rs_undo_begin(ctx, x->c, x->err);
}

int rs_exec_undo_begin(struct rs_exec *x, struct rs_undo **u, struct buf *why)
{
	return rs_exec_steps_guarded(x, rs_exec_steps_begin_fn, u, why);
}

static int rs_exec_steps_prepare_fn(struct rs_exec *x, void *ctx, struct buf *why)
{
	return rs_undo_prepare(ctx, x->c, why, x->err);
}

int rs_exec_undo_prepare(struct rs_exec *x, struct rs_undo *u, struct buf *why)
{
	return rs_exec_steps_guarded(x, rs_exec_steps_prepare_fn, u, why);
}

static int rs_exec_steps_list_fn(struct rs_exec *x, void *ctx, struct buf *why)
{
	return rs_undo_list(ctx, x->c, x->err);
}

/*
 * An empty-mode restore, just before its (last) commit: the statements
 * that drop everything it created go into the log with the created and
 * changed entries, so `vault rollback` can undo it later.  They are
 * listed, not rehearsed: `vault rollback` proves them when it runs them
 * (rs_undo_rollback) and refuses when they are not exact.  They are
 * rehearsed here, and the log says why they cannot be proven when they
 * cannot, where a rehearsal can tell what a list cannot: when the
 * restore took an entry away (no statement brings it back), or when the
 * parallel load's proof failed (x->undo_rehearse: the same reason
 * most likely stands).
 */
static int rs_exec_steps_note(struct rs_exec *x, struct rs_undo *u)
{
	struct buf why = BUF_INIT;
	/* the rollback unlinks the large objects it created first */
	int r = rs_undo_unlinks(u, x->log->lo_created, x->log->nlo_created);

	if (r == 0 && !x->undo_rehearse) {
		r = rs_exec_steps_guarded(x, rs_exec_steps_list_fn, u, &why);
		/* "only a rehearsal can tell" (1) and a guarded failure (1,
		 * why filled) alike: rehearse, it says why */
		if (r == 1)
			buf_reset(&why);
		x->undo_rehearse = r == 1;
	}
	if (r == 0 && x->undo_rehearse)
		r = rs_exec_undo_prepare(x, u, &why);

	for (size_t i = 0; r == 0 && i < rs_undo_count(u); i++)
		r = strv_push(&x->log->rb_stmts, &x->log->nrb_stmts, rs_undo_stmt(u, i));
	/* tables that existed, empty (empty mode refuses others), and got
	 * rows (a managed target's auth.users): emptied again, after the
	 * drops took the new tables' keys to them away */
	if (r == 0 && x->log->nrb_stmts) {
		struct buf t = BUF_INIT;
		size_t n;

		r = rs_exec_clean_filled(x, &t, &n);
		if (r == 0 && n)
			r = strv_push(&x->log->rb_stmts, &x->log->nrb_stmts, (char *)t.data);
		buf_release(&t);
	}
	for (size_t i = 0; r == 0 && i < rs_undo_created_count(u); i++)
		r = strv_push(&x->log->rb_created, &x->log->nrb_created,
				rs_undo_created_key(u, i));
	for (size_t i = 0; r == 0 && i < rs_undo_changed_count(u); i++)
		r = strv_push(&x->log->rb_changed, &x->log->nrb_changed,
				rs_undo_changed_entry(u, i));
	if (r == 1)
		r = rs_log_set(&x->log->rb_impossible, (char *)why.data);
	buf_release(&why);
	return r;
}

/* The rest from DDL section from on, the rollback's statements (an
 * empty-mode restore: u), the commit. */
int rs_exec_finish(struct rs_exec *x, struct rs_undo *u, size_t from)
{
	int r = rs_exec_steps_rest(x, from);

	if (r == 0 && u)
		r = rs_exec_steps_note(x, u);
	return r ? r : rs_exec_steps_commit(x);
}

/*
 * rs-exec: rs_exec_run, the entry point of a restore, and its one-
 * transaction strategy.
 *
 * It opens the transaction, builds the plan on the same connection,
 * fills the log (the selection, the tables, the statements skipped),
 * refuses a plan that has conflicts, and then chooses how the plan is
 * carried out: the parallel strategy of rs-par when the plan allows it
 * and the caller can open more connections, else the one transaction
 * here.  Both run the steps of rs-exec-steps; whatever fails is rolled
 * back and the log says how it ended.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "rs-exec-int.h"
#include "rs-par.h"
#include "rs-undo.h"

/* The tables a rollback drops, as log entries loaded "drop" (before
 * rs_exec_log_tables: x->lt points into the log's array after it). */
static int rs_exec_log_dropped(struct rs_exec *x)
{
	const char *const *d = x->o->drop_tables;

	for (size_t i = 0; d && d[i] && d[i + 1]; i += 2) {
		struct rs_log_table *lt = rs_log_table(x->log, d[i], d[i + 1]);

		if (!lt || rs_log_set(&lt->load, "drop") < 0)
			return -ENOMEM;
	}
	return 0;
}

/* Clean mode: "reload", "keep" or "recreate", and why (with the views
 * it recreates), as the plan says. */
static int rs_exec_log_clean(struct rs_log_table *lt, const struct rs_plan_table *t)
{
	struct buf why = BUF_INIT;
	int r;

	if (!t->clean)
		return 0;
	r = rs_plan_clean_reason(t, &why);
	if (r == 0)
		r = rs_log_set(&lt->clean, rs_plan_clean_action(t));
	if (r == 0)
		r = rs_log_set(&lt->clean_reason, (char *)why.data);
	buf_release(&why);
	return r;
}

static int rs_exec_log_tables(struct rs_exec *x)
{
	static const char *const loads[] = { NULL, "copy", "truncate+copy", "merge" };
	size_t base = x->log->ntables;

	x->lt = calloc(x->p->ntables + 1, sizeof(*x->lt));
	if (!x->lt)
		return -ENOMEM;
	for (size_t i = 0; i < x->p->ntables; i++) {
		const struct rs_plan_table *t = &x->p->tables[i];
		struct rs_log_table *lt = rs_log_table(x->log, t->t->schema, t->t->name);

		if (!lt)
			return -ENOMEM;
		lt->before = t->target_rows;
		lt->after = t->target_rows;
		lt->created = !t->exists;
		if (rs_log_set(&lt->load, loads[t->load]) < 0 ||
		    rs_log_set(&lt->skip_reason, t->skip) < 0 ||
		    rs_exec_log_clean(lt, t) < 0)
			return -ENOMEM;
		if (t->skip)
			lt->skipped = t->t->rows;
	}
	/* the log's array has stopped moving: now point into it */
	for (size_t i = 0; i < x->p->ntables; i++)
		x->lt[i] = &x->log->tables[base + i];
	return 0;
}

/*
 * The one transaction: the steps from the locks to the commit, with the
 * plan's transaction still open; an empty-mode restore notes its undo
 * for a later rollback (the one transaction needs none of its own).
 */
static int rs_exec_one(struct rs_exec *x)
{
	struct rs_undo *u = NULL;
	struct buf why = BUF_INIT;
	int r = 0;

	if (x->p->parallel)
		r = rs_log_set(&x->log->strategy, "one transaction over one connection (this caller cannot open more connections)");
	if (r == 0 && x->p->mode == RS_MODE_EMPTY) {
		r = rs_exec_undo_begin(x, &u, &why);
		if (r == 1)
			r = rs_log_set(&x->log->rb_impossible, (char *)why.data);
	}
	if (r == 0)
		r = rs_exec_steps_ddl(x, x->p->post_data);
	if (r == 0)
		r = rs_exec_finish(x, u, x->p->post_data);
	rs_undo_free(u);
	buf_release(&why);
	return r;
}

int rs_exec_run(PGconn *c, const struct rs_input *in,
		const struct rs_plan_source *src, const struct rs_select *sel,
		const struct rs_exec_opts *o, struct rs_log *log,
		struct rs_plan **plan, struct buf *err)
{
	struct rs_exec x;
	struct rs_plan_opts po;
	struct buf why = BUF_INIT, json = BUF_INIT;
	const char *status = "failed";
	int r;

	memset(&x, 0, sizeof(x));
	x.c = c;
	x.in = in;
	x.src = src;
	x.sel = sel;
	x.o = o;
	x.err = err;
	if (!log) {
		rs_log_init(&x.log_local);
		log = &x.log_local;
	}
	x.log = log;
	if (plan)
		*plan = NULL;
	r = rs_log_set(&log->mode, rs_plan_mode_name(o->mode));
	if (r == 0)
		r = rs_log_set(&log->on_conflict, o->mode != RS_MODE_MERGE ? NULL :
			       o->on_conflict == RS_ON_CONFLICT_UPDATE ? "update" : "nothing");
	if (r == 0)
		r = rs_select_json(sel, src->meta, &json);
	if (r == 0)
		r = rs_log_set(&log->selection, (char *)json.data);
	if (r == 0)
		r = rs_log_set(&log->verify, rs_plan_verify_name(o->verify));
	if (r < 0)
		goto done;
	/* a dry run is rolled back; not READ ONLY: a clean-mode plan
	 * builds the snapshot's tables in a savepoint to compare them */
	r = rs_exec_cmd(&x, o->dry_run ? "BEGIN ISOLATION LEVEL REPEATABLE READ" :
			"BEGIN", "starting the restore transaction");
	if (r == 0)
		r = rs_exec_session(&x);
	memset(&po, 0, sizeof(po));
	po.mode = o->mode;
	po.on_conflict = o->on_conflict;
	po.jobs = o->jobs;
	po.managed = o->managed;
	po.verify = o->verify;
	po.drop_views = o->drop_views;
	po.ci = o->ci;
	if (r == 0)
		r = rs_plan_build(&x.p, c, src, sel, &po, err);
	if (r == 0) {
		log->managed = x.p->managed;
		r = rs_exec_stmt_log_skipped(&x);
	}
	if (r == 0)
		r = rs_exec_log_dropped(&x);
	if (r == 0)
		r = rs_exec_log_tables(&x);
	if (r == 0 && o->on_plan) {
		r = o->on_plan(o->plan_ctx, x.p);
		if (r < 0)
			status = "refused";
	}
	if (r == 0 && rs_plan_blocked(x.p, &why)) {
		if (err)
			buf_addf(err, "the restore cannot start; nothing was changed:\n%s",
				 (char *)why.data);
		status = "refused";
		r = -EEXIST;
	}
	if (r == 0 && o->dry_run) {
		status = "dry-run";
		PQclear(PQexec(c, "ROLLBACK"));
		goto done;
	}
	if (r == 0)
		r = rs_log_set(&log->strategy, x.p->strategy);
	if (r == 0 && x.p->parallel && o->ci && in->fork) {
		x.done = calloc(x.p->ntables + 1, 1);
		x.sec_done = calloc(x.p->nsec + 1, 1);
		r = x.done && x.sec_done ? rs_par_run(&x) : -ENOMEM;
	} else if (r == 0) {
		r = rs_exec_one(&x);
	}
	if (r == 0)
		status = "ok";
	if (r < 0) {
		/* after a lost connection the server has rolled back already */
		if (PQstatus(c) == CONNECTION_OK && PQtransactionStatus(c) != PQTRANS_IDLE)
			PQclear(PQexec(c, "ROLLBACK"));
		if (r == -EEXIST && !strcmp(status, "failed"))
			status = "refused";
		/* nothing of it stayed: the counts are the ones before */
		for (size_t i = 0; x.lt && x.p && i < x.p->ntables; i++)
			x.lt[i]->after = x.lt[i]->before;
	}
done:
	rs_log_finish(log, status, r < 0 && err ? (char *)err->data : NULL);
	if (plan)
		*plan = x.p;
	else
		rs_plan_free(x.p);
	free(x.lt);
	free(x.done);
	free(x.sec_done);
	PQclear(x.pubs);
	PQclear(x.triggers);
	if (log == &x.log_local)
		rs_log_release(&x.log_local);
	buf_release(&why);
	buf_release(&json);
	return r;
}


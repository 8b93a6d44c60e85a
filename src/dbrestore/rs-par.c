/*
 * rs-par: the parallel strategy (see rs-undo.h and doc/design.md): the
 * DDL commits first once its undo is proven; workers, one connection
 * each, take the new tables (big ones biggest first, then the others in
 * path order), each loading one table in a transaction of its own (COPY
 * from the snapshot), verifying it and building its indexes on the same
 * connection and committing; the first failure stops the others, which
 * roll back the table they were on; the rest commits in a last
 * transaction, and any failure after the first commit runs the undo.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "manifest.h"
#include "pg-names.h"
#include "rs-par.h"
#include "rs-undo.h"

struct rs_par {
	struct rs_exec *x;
	pthread_mutex_t mu;
	size_t *queue, nqueue, next;
	volatile int stop;
	int r;			/* the first failure */
	struct buf err;
};

struct rs_par_worker {
	struct rs_par *par;
	PGconn *c;
	const struct rs_input *in;
	struct rs_input forked;
	pthread_t th;
	int started;
};

static int rs_par_table(struct rs_exec *w, size_t i)
{
	const struct rs_plan_table *t = &w->p->tables[i];
	struct buf q = BUF_INIT;
	uint64_t n = 0;
	int r;

	rs_exec_step(w, "load", t->t);
	r = pg_names_quote_qualified(&q, t->t->schema, t->t->name);
	/*
	 * The table is new and empty.  Emptied again in this transaction,
	 * it gets a new file: COPY then appends in order instead of filling
	 * the free space of earlier pages (so the verification can read the
	 * rows back in load order, as for a table created in the same
	 * transaction), and FREEZE writes them frozen, sparing a later
	 * VACUUM a pass over every page.
	 */
	if (r == 0) {
		struct buf sql = BUF_INIT;

		/* one round trip for both */
		r = buf_addf(&sql, "BEGIN; TRUNCATE ONLY %s", (char *)q.data);
		if (r == 0)
			r = rs_exec_cmd(w, (char *)sql.data, (char *)sql.data + 7);
		buf_release(&sql);
	}
	if (r == 0)
		r = rs_exec_copy_in(w, t->t, (char *)q.data, &n);
	if (r == 0) {
		w->lt[i]->inserted = n;
		/* a scan from block 0 reads the rows back in load order */
		r = rs_exec_verify_setup(w);
	}
	if (r == 0)
		r = rs_exec_verify_one(w, i);
	/* and the COMMIT */
	if (r == 0)
		r = rs_exec_table_post(w, i);
	if (r == 0)
		w->done[i] = 1;
	else if (PQstatus(w->c) == CONNECTION_OK &&
		 PQtransactionStatus(w->c) != PQTRANS_IDLE)
		PQclear(PQexec(w->c, "ROLLBACK"));
	buf_release(&q);
	return r;
}

static void *rs_par_main(void *arg)
{
	struct rs_par_worker *wk = arg;
	struct rs_par *par = wk->par;
	struct rs_exec w = *par->x;
	struct buf err = BUF_INIT;
	int r;

	w.c = wk->c;
	w.ddl_am = w.ddl_tablespace = NULL;	/* its own session */
	w.in = wk->in;
	w.err = &err;
	w.stop = &par->stop;
	w.mu = &par->mu;
	w.copy_freeze = 1;	/* rs_par_table empties each table first */
	r = rs_exec_preamble(&w);
	while (r == 0) {
		size_t i;

		pthread_mutex_lock(&par->mu);
		if (par->stop || par->next == par->nqueue) {
			pthread_mutex_unlock(&par->mu);
			break;
		}
		i = par->queue[par->next++];
		pthread_mutex_unlock(&par->mu);
		r = rs_par_table(&w, i);
	}
	if (r < 0) {
		pthread_mutex_lock(&par->mu);
		/* a worker told to stop says nothing of its own */
		if (!par->r && !(r == -EINTR && par->stop && !err.len)) {
			par->r = r;
			buf_add(&par->err, err.data, err.len);
		}
		par->stop = 1;
		pthread_mutex_unlock(&par->mu);
	}
	buf_release(&err);
	return NULL;
}

/* tables at least this big go first, biggest first, so the last one
 * to start is a small one (the load ends together); smaller ones follow
 * in the snapshot's path order, which each worker's input then reads on
 * from where it stopped instead of from the start of the manifest */
#define RS_PAR_BIG (4u << 20)

static int rs_par_before(const struct rs_meta_table *a, const struct rs_meta_table *b)
{
	int abig = a->bytes >= RS_PAR_BIG, bbig = b->bytes >= RS_PAR_BIG;

	if (abig != bbig)
		return abig;
	if (abig && a->bytes != b->bytes)
		return a->bytes > b->bytes;
	return manifest_path_cmp(a->path, strlen(a->path), b->path, strlen(b->path)) < 0;
}

/* an insertion sort over the tables (a few thousand at most) */
static void rs_par_sort(size_t *v, size_t n, const struct rs_plan *p)
{
	for (size_t i = 1; i < n; i++) {
		size_t k = v[i], j = i;

		while (j > 0 && rs_par_before(p->tables[k].t, p->tables[v[j - 1]].t)) {
			v[j] = v[j - 1];
			j--;
		}
		v[j] = k;
	}
}

int rs_par_load(struct rs_exec *x, PGconn *const *extra, size_t nextra)
{
	const struct rs_plan *p = x->p;
	struct rs_par par;
	struct rs_par_worker *wk;
	size_t nw = nextra + 1;
	int r = 0;

	memset(&par, 0, sizeof(par));
	par.x = x;
	pthread_mutex_init(&par.mu, NULL);
	par.queue = calloc(p->ntables + 1, sizeof(*par.queue));
	wk = calloc(nw, sizeof(*wk));
	if (!par.queue || !wk) {
		r = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < p->ntables; i++)
		if (rs_plan_table_parallel(&p->tables[i]))
			par.queue[par.nqueue++] = i;
	rs_par_sort(par.queue, par.nqueue, p);
	/* every worker reads through its own input, the first too: a
	 * forked input decodes on its worker's thread */
	for (size_t k = 0; k < nw && r == 0; k++) {
		wk[k].par = &par;
		wk[k].c = k ? extra[k - 1] : x->c;
		r = x->in->fork(x->in->ctx, &wk[k].forked, x->err);
		wk[k].in = &wk[k].forked;
	}
	for (size_t k = 0; k < nw && r == 0; k++) {
		if (pthread_create(&wk[k].th, NULL, rs_par_main, &wk[k])) {
			r = -EAGAIN;
			if (x->err)
				buf_addstr(x->err, "cannot start a loader thread");
			break;
		}
		wk[k].started = 1;
	}
	if (r < 0) {
		pthread_mutex_lock(&par.mu);
		par.stop = 1;
		pthread_mutex_unlock(&par.mu);
	}
	for (size_t k = 0; k < nw; k++)
		if (wk[k].started)
			pthread_join(wk[k].th, NULL);
	/* the first worker ran on x->c: its session is not what x knew */
	x->ddl_am = x->ddl_tablespace = NULL;
	if (r == 0 && par.r < 0) {
		r = par.r;
		if (x->err)
			buf_add(x->err, par.err.data, par.err.len);
	}
	if (r == 0)
		r = rs_exec_interrupted(x);
out:
	for (size_t k = 0; wk && k < nw; k++)
		rs_input_release(&wk[k].forked);
	free(wk);
	free(par.queue);
	buf_release(&par.err);
	pthread_mutex_destroy(&par.mu);
	return r;
}

/*
 * The DDL that must commit before other connections can load rows:
 * sections up to the first ACL or DEFAULT ACL (grants, which pg_dump
 * puts last, and default privileges change what exists; they wait for
 * the last transaction) or the post-data.
 */
static size_t rs_par_cut(const struct rs_exec *x)
{
	for (size_t i = 0; i < x->p->post_data; i++) {
		const struct pg_ddl_section *s = pg_ddl_get(x->src->ddl, i);

		if (!strcmp(s->type, "ACL") || !strcmp(s->type, "DEFAULT ACL"))
			return i;
	}
	return x->p->post_data;
}

/*
 * 1 when DDL section i, before the cut, changes what the target had
 * rather than making something: comments and security labels (on
 * schema public, on an extension...) and a SCHEMA section for a schema
 * that exists (pg_dump's "ALTER SCHEMA public OWNER TO" when public's
 * owner was changed).  The parallel strategy runs them in its last
 * transaction, which commits atomically and needs no undo; nothing
 * before the cut depends on them.  A comment on something the restore
 * creates is moved along too: it is as well there.
 */
static int rs_par_deferred(const struct rs_exec *x, size_t i)
{
	const struct rs_plan *p = x->p;
	const struct pg_ddl_section *s = pg_ddl_get(x->src->ddl, i);

	if (!s || p->sec[i] != RS_ACT_RUN)
		return 0;
	if (!strcmp(s->type, "COMMENT") || !strcmp(s->type, "SECURITY LABEL"))
		return 1;
	if (strcmp(s->type, "SCHEMA"))
		return 0;
	for (size_t k = 0; k < p->nobjects; k++)
		if (p->objects[k].section == i)
			return p->objects[k].exists;
	return 0;
}

/*
 * The sections rs_par_deferred moved, in the last transaction, in the
 * dump's order: marked done for the first one (sec_done), run here.
 */
static int rs_par_run_deferred(struct rs_exec *x, const unsigned char *defer,
			       size_t cut)
{
	int r = 0, any = 0;

	for (size_t i = 0; i < cut && r == 0; i++) {
		if (!defer[i])
			continue;
		x->sec_done[i] = 0;
		r = rs_exec_stmt_sections(x, i, i + 1);
		x->sec_done[i] = 1;
		any = 1;
	}
	/* section 0 brings the dump's preamble along: the capture's
	 * session settings again after it */
	return r == 0 && any && defer[0] ? rs_exec_session(x) : r;
}

/* After a failure past the first commit: the undo, on x->c or, when it
 * is gone, a new connection.  log->undo says how it went. */
static void rs_par_undo(struct rs_exec *x, const struct rs_undo *u)
{
	struct buf e = BUF_INIT;
	PGconn *c = x->c;
	int r = 0;

	if (PQstatus(c) != CONNECTION_OK) {
		c = NULL;
		r = pg_conn_open(&c, x->o->ci, NULL, &e);
	} else if (PQtransactionStatus(c) != PQTRANS_IDLE) {
		PQclear(PQexec(c, "ROLLBACK"));
	}
	if (r == 0)
		r = rs_undo_run(u, c, &e);
	if (r == 0) {
		rs_log_set(&x->log->undo, "ok: the objects the restore had created were dropped again");
	} else {
		struct buf m = BUF_INIT;

		buf_addf(&m, "failed: %s", (char *)e.data);
		rs_log_set(&x->log->undo, (char *)m.data);
		if (x->err)
			buf_addf(x->err, "; undoing the committed DDL failed too: %s", (char *)e.data);
		buf_release(&m);
	}
	if (c != x->c)
		PQfinish(c);
	buf_release(&e);
}

/*
 * The parallel strategy (rs-undo.h): DDL in the first transaction (the
 * plan's, still open; what changes objects that existed deferred), the
 * new tables' rows over several connections, the rest in a last
 * transaction.  Falls back to the one transaction
 * when the undo cannot be proven or the connections cannot be had.
 */
int rs_par_run(struct rs_exec *x)
{
	const struct rs_plan *p = x->p;
	struct rs_undo *u = NULL;
	PGconn **extra = NULL;
	size_t cut = rs_par_cut(x), ntab = 0, nextra = 0;
	struct buf why = BUF_INIT, e = BUF_INIT;
	unsigned char *defer = calloc(cut + 1, 1);
	int r;

	if (!defer)
		return -ENOMEM;
	for (size_t i = 0; i < cut; i++)
		defer[i] = x->sec_done[i] = (unsigned char)rs_par_deferred(x, i);
	for (size_t i = 0; i < p->ntables; i++)
		ntab += rs_plan_table_parallel(&p->tables[i]);
	if (ntab > (size_t)p->jobs)
		ntab = (size_t)p->jobs;
	/* catalogs this role may not read: no proof, one transaction */
	r = rs_exec_undo_begin(x, &u, &why);
	if (r == 1) {
		r = 0;
		rs_undo_free(u);
		u = NULL;
	}
	if (r == 0)
		r = rs_exec_steps_ddl(x, cut);
	if (r == 0 && ntab > 1 && !(extra = calloc(ntab - 1, sizeof(*extra))))
		r = -ENOMEM;
	/* the other connections before anything commits: none, no commit */
	for (; r == 0 && !why.len && nextra + 1 < ntab; nextra++) {
		buf_reset(&e);
		if (pg_conn_open(&extra[nextra], x->o->ci, NULL, &e) < 0) {
			buf_addf(&why, "cannot open connection %zu of %zu: %s", nextra + 2,
				 ntab, (char *)e.data);
			break;
		}
	}
	if (r == 0 && !why.len) {
		r = rs_exec_undo_prepare(x, u, &why);
		/* not proven: the rollback's undo is rehearsed too */
		x->undo_rehearse = r > 0;
		if (r > 0)
			r = 0;
	}
	if (r == 0 && why.len) {
		struct buf s = BUF_INIT;

		r = buf_addf(&s, "one transaction over one connection (the parallel load was not possible: %s)",
			     (char *)why.data);
		if (r == 0)
			r = rs_log_set(&x->log->strategy, (char *)s.data);
		buf_release(&s);
		if (r == 0)
			r = rs_par_run_deferred(x, defer, cut);
		if (r == 0)
			r = rs_exec_finish(x, u, cut);
		goto out;
	}
	if (r == 0)
		r = rs_exec_cmd(x, "COMMIT", "committing the restore's DDL");
	if (r < 0)
		goto out;
	r = rs_par_load(x, extra, nextra);
	if (r == 0)
		r = rs_exec_cmd(x, "BEGIN", "starting the restore's last transaction");
	if (r == 0)
		r = rs_exec_preamble(x);
	if (r == 0)
		r = rs_exec_lock(x);
	if (r == 0)
		r = rs_par_run_deferred(x, defer, cut);
	if (r == 0)
		r = rs_exec_finish(x, u, cut);
	if (r < 0)
		rs_par_undo(x, u);
out:
	free(defer);
	for (size_t i = 0; i < nextra; i++)
		PQfinish(extra[i]);
	free(extra);
	rs_undo_free(u);
	buf_release(&why);
	buf_release(&e);
	return r;
}

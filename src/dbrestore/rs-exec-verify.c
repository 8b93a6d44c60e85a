/*
 * rs-exec-verify: each restored table checked against the snapshot
 * before the commit.
 *
 * By default (RS_VERIFY_STREAMED) the check was made as the rows
 * streamed (rs-exec-load: the bytes sent hash to meta.json's XXH3-128
 * and hold its rows, and COPY reported as many); this file records it
 * in the log and counts the rows after.  With RS_VERIFY_FULL the
 * table's rows are also read back with the capture's own COPY query
 * (rs_plan_copy_sql) through pg-copy, and their count and XXH3-128 must
 * equal meta.json's; merge mode reads the rows of the snapshot's keys
 * only, and with ON CONFLICT DO NOTHING, where kept rows differ by
 * design, counts them.  The log gets both sides.  Separate from the
 * load (rs-exec-load): the parallel workers verify each table on their
 * own connection (rs_exec_verify_one), the one transaction all of them
 * last (rs_exec_verify).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pg-conn.h"
#include "pg-copy.h"
#include "pg-names.h"
#include "rs-exec-int.h"

static int rs_exec_verify_count(struct rs_exec *x, const char *sql, int64_t *n)
{
	PGresult *res;
	int r = pg_conn_query(x->c, &res, PGRES_TUPLES_OK, sql, 0, NULL,
			      "counting rows", x->err);

	if (r < 0)
		return r;
	*n = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return 0;
}

/* rows and XXH3-128 of a COPY ... TO STDOUT on the restore connection */
static int rs_exec_verify_sum(struct rs_exec *x, const char *sql, const char *label,
			      uint64_t *rows, char hex[33])
{
	struct pg_copy_job job = { sql, label };
	struct pg_copy_opts co;
	struct pg_copy *cp = NULL;
	struct pg_copy_result res;
	PGconn *conns[1] = { x->c };
	int r;

	memset(&co, 0, sizeof(co));
	co.conns = conns;
	co.nconns = 1;
	co.interrupt = x->o->interrupt;
	r = pg_copy_start(&cp, &job, 1, &co, x->err);
	if (r == 0)
		r = pg_copy_take(cp, 0, NULL, NULL, &res, x->err);
	pg_copy_free(cp);
	if (r < 0)
		return r;
	*rows = res.rows;
	hex_encode(hex, res.xxh128, sizeof(res.xxh128));
	return 0;
}

/*
 * A table this restore created (or dropped and recreated) and filled
 * with one COPY: its heap holds the rows in the order of data.sql,
 * which is the capture's order.  A plain sequential scan (parallel
 * query and synchronized scans off, see rs_exec_verify) reads them back
 * in that order, so verification needs no ORDER BY: on bench/run-restore
 * the read-back takes a fifth less without the index scan.  Any change to
 * the rows after the load can only make the checksum differ, so the
 * shortcut never passes what the ordered read-back would fail.
 */
static int rs_exec_verify_fresh(const struct rs_plan_table *t)
{
	/* not an extension's configuration table: the extension's own
	 * rows were there first */
	return t->load == RS_LOAD_COPY && !t->t->partitioned && !t->t->extension &&
	       (!t->exists || t->ddl == RS_ACT_RECREATE);
}

static int rs_exec_verify_table(struct rs_exec *x, size_t i)
{
	const struct rs_plan_table *t = &x->p->tables[i];
	struct rs_log_table *lt = x->lt[i];
	struct buf sql = BUF_INIT, where = BUF_INIT, label = BUF_INIT, tmp = BUF_INIT;
	int r, merge = t->load == RS_LOAD_MERGE;
	int update = x->p->on_conflict == RS_ON_CONFLICT_UPDATE;

	rs_exec_step(x, "verify", t->t);
	r = buf_addf(&label, "%s.%s", t->t->schema, t->t->name);
	if (r == 0 && merge) {
		/* the rows of the snapshot's keys */
		r = rs_exec_load_tmp_name(&tmp, i);
		if (r == 0)
			r = rs_exec_load_pk_list(&where, t->t, "");
		if (r == 0)
			r = buf_addstr(&where, " IN (SELECT ");
		for (size_t c = 0; c < t->t->npk && r == 0; c++) {
			r = buf_addstr(&where, c ? ", " : "");
			if (r == 0)
				r = pg_names_quote_ident(&where, t->t->pk[c]);
		}
		if (r == 0)
			r = buf_addf(&where, " FROM %s)", (char *)tmp.data);
	}
	lt->expected_rows = t->t->rows;
	memcpy(lt->expected, t->t->xxh3, 33);
	if (r == 0 && merge && !update) {
		/* rows kept as the target had them differ from the snapshot
		 * by design: every snapshot key must be there, and the rows
		 * read were already checked against meta.json */
		int64_t n = 0;

		r = buf_addstr(&sql, "SELECT pg_catalog.count(*) FROM ONLY ");
		if (r == 0)
			r = pg_names_quote_qualified(&sql, t->t->schema, t->t->name);
		if (r == 0)
			r = buf_addf(&sql, " WHERE %s", (char *)where.data);
		if (r == 0)
			r = rs_exec_verify_count(x, (char *)sql.data, &n);
		if (r == 0) {
			lt->got_rows = (uint64_t)n;
			memcpy(lt->got, t->t->xxh3, 33);
			lt->verified = lt->got_rows == lt->expected_rows;
		}
	} else if (r == 0) {
		struct rs_meta_table heap_order = *t->t;

		/* rs_plan_copy_sql orders by the key, when there is one */
		if (rs_exec_verify_fresh(t))
			heap_order.npk = 0;
		r = rs_plan_copy_sql(&heap_order, NULL, merge ? (char *)where.data : NULL, &sql);
		if (r == 0)
			r = rs_exec_verify_sum(x, (char *)sql.data, (char *)label.data,
					       &lt->got_rows, lt->got);
		if (r == 0)
			lt->verified = lt->got_rows == lt->expected_rows &&
				       !strcmp(lt->got, lt->expected);
	}
	if (r == 0 && !lt->verified) {
		if (x->err)
			buf_addf(x->err, "verification failed for table %s: the target has %llu rows (xxh3 %s), the snapshot %llu (%s); rolled back",
				 (char *)label.data, (unsigned long long)lt->got_rows, lt->got,
				 (unsigned long long)lt->expected_rows, lt->expected);
		r = -EBADMSG;
	}
	buf_release(&sql);
	buf_release(&where);
	buf_release(&label);
	buf_release(&tmp);
	return r;
}

/*
 * After a load, the rows of a table this restore created (or dropped and
 * recreated) and filled with one COPY are what COPY reported: nobody
 * else could write into it before this transaction (or, a parallel
 * worker's, the one that emptied it) commits.  Others are counted.
 */
static int rs_exec_verify_after_known(const struct rs_plan_table *t)
{
	return t->load == RS_LOAD_COPY && !t->t->extension && !t->t->partitioned &&
	       (!t->exists || t->ddl == RS_ACT_RECREATE);
}

/*
 * The streamed verification of plan table i, done as its rows loaded
 * (rs_exec_copy_in): the bytes sent hashed to meta.json's XXH3-128 and
 * held its rows, and COPY reported as many, or the load failed.  What
 * it checked goes into the log.
 */
static int rs_exec_verify_streamed(struct rs_exec *x, size_t i)
{
	const struct rs_plan_table *t = &x->p->tables[i];
	struct rs_log_table *lt = x->lt[i];
	struct buf q = BUF_INIT;
	int r = 0;

	lt->expected_rows = t->t->rows;
	memcpy(lt->expected, t->t->xxh3, 33);
	lt->got_rows = t->t->rows;
	memcpy(lt->got, t->t->xxh3, 33);
	lt->verified = 1;
	if (rs_exec_verify_after_known(t)) {
		lt->after = (int64_t)lt->inserted;
		return 0;
	}
	r = buf_addstr(&q, "SELECT pg_catalog.count(*) FROM ONLY ");
	if (r == 0)
		r = pg_names_quote_qualified(&q, t->t->schema, t->t->name);
	if (r == 0)
		r = rs_exec_verify_count(x, (char *)q.data, &lt->after);
	buf_release(&q);
	return r;
}

int rs_exec_verify_one(struct rs_exec *x, size_t i)
{
	const struct rs_plan_table *t = &x->p->tables[i];
	struct buf q = BUF_INIT;
	int r;

	if (x->p->verify != RS_VERIFY_FULL)
		return rs_exec_verify_streamed(x, i);
	r = rs_exec_verify_table(x, i);
	if (r == 0)
		r = buf_addstr(&q, "SELECT pg_catalog.count(*) FROM ONLY ");
	if (r == 0)
		r = pg_names_quote_qualified(&q, t->t->schema, t->t->name);
	if (r == 0)
		r = rs_exec_verify_count(x, (char *)q.data, &x->lt[i]->after);
	buf_release(&q);
	return r;
}

int rs_exec_verify_setup(struct rs_exec *x)
{
	/* only the read-back cares where a scan starts */
	if (x->p->verify != RS_VERIFY_FULL)
		return 0;
	return rs_exec_cmd(x, "SET LOCAL synchronize_seqscans = off;"
			   " SET LOCAL max_parallel_workers_per_gather = 0",
			   "verification setup");
}

int rs_exec_verify(struct rs_exec *x)
{
	/* heap order for rs_exec_verify_fresh tables: a scan from block 0, in
	 * this backend (until the commit: the verification is last) */
	int r = rs_exec_verify_setup(x);

	for (size_t i = 0; i < x->p->ntables && r == 0; i++)
		if (x->p->tables[i].load != RS_LOAD_NONE && !(x->done && x->done[i]))
			r = rs_exec_verify_one(x, i);
	return r;
}

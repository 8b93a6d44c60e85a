/*
 * rs-exec-after: what follows the rows and the post-data DDL, before the
 * verification.
 *
 * Foreign keys: clean mode re-adds those of unselected tables it dropped
 * (with their comments), after a query that names up to five rows that
 * would violate them (the restore is then refused, -EEXIST); a load under session_replication_role
 * = replica (a foreign-key cycle) skipped the key checks, so every key
 * touching a loaded table is checked here the same way.  Sequences are
 * set from sequences.sql (merge mode only moves them forward; an
 * extension's configuration sequence with its extension's
 * configuration, rs-extcfg), and materialized views are refreshed, but
 * those the capture found unpopulated (WITH NO DATA), which stay so.
 * Each is one pass over the plan or the snapshot, separate from the
 * rows' streaming (rs-exec-load) and from the order of the steps
 * (rs-exec-steps).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pg-conn.h"
#include "pg-names.h"
#include "rs-exec-int.h"
#include "rs-extcfg.h"
#include "rs-sql.h"

/* ---- foreign keys ----------------------------------------------------------- */

/* "c.a, c.b" */
static int rs_exec_after_cols(struct buf *sql, char *const *cols, size_t ncols)
{
	int r = 0;

	for (size_t i = 0; i < ncols && r == 0; i++) {
		r = buf_addstr(sql, i ? ", c." : "c.");
		if (r == 0)
			r = pg_names_quote_ident(sql, cols[i]);
	}
	return r;
}

/*
 * Rows of child whose key (cols) has no match in parent (ref_cols):
 * up to 5 of them as "(a, b)=(1, 2)", appended to rows.  Returns the
 * number found (capped), or a negative errno.
 */
static int rs_exec_after_orphans(struct rs_exec *x, const char *cs, const char *ct,
				 char *const *cols, const char *ps, const char *pt,
				 char *const *ref_cols, size_t ncols, struct buf *rows)
{
	struct buf sql = BUF_INIT, head = BUF_INIT;
	PGresult *res = NULL;
	int r = 0, n = 0;

	r = buf_addstr(&sql, "SELECT ");
	if (r == 0)
		r = rs_exec_after_cols(&sql, cols, ncols);
	for (size_t i = 0; i < ncols && r == 0; i++) {
		r = buf_addstr(&head, i ? ", " : "(");
		if (r == 0)
			r = buf_addstr(&head, cols[i]);
	}
	if (r == 0)
		r = buf_addstr(&sql, " FROM ");
	if (r == 0)
		r = pg_names_quote_qualified(&sql, cs, ct);
	if (r == 0)
		r = buf_addstr(&sql, " c WHERE ");
	for (size_t i = 0; i < ncols && r == 0; i++) {
		r = buf_addstr(&sql, "c.");
		if (r == 0)
			r = pg_names_quote_ident(&sql, cols[i]);
		if (r == 0)
			r = buf_addstr(&sql, " IS NOT NULL AND ");
	}
	if (r == 0)
		r = buf_addstr(&sql, "NOT EXISTS (SELECT 1 FROM ");
	if (r == 0)
		r = pg_names_quote_qualified(&sql, ps, pt);
	if (r == 0)
		r = buf_addstr(&sql, " p WHERE ");
	for (size_t i = 0; i < ncols && r == 0; i++) {
		r = buf_addstr(&sql, i ? " AND p." : "p.");
		if (r == 0)
			r = pg_names_quote_ident(&sql, ref_cols[i]);
		if (r == 0)
			r = buf_addstr(&sql, " = c.");
		if (r == 0)
			r = pg_names_quote_ident(&sql, cols[i]);
	}
	/* each offending key once, however many rows carry it */
	if (r == 0)
		r = buf_addstr(&sql, ") GROUP BY ");
	if (r == 0)
		r = rs_exec_after_cols(&sql, cols, ncols);
	if (r == 0)
		r = buf_addstr(&sql, " LIMIT 5");
	if (r == 0)
		r = buf_addstr(&head, ")=(");
	if (r == 0)
		r = pg_conn_query(x->c, &res, PGRES_TUPLES_OK, (char *)sql.data, 0, NULL,
				  "checking foreign keys", x->err);
	for (int i = 0; r == 0 && i < PQntuples(res); i++) {
		r = buf_addf(rows, "%s%s", i ? ", " : "", (char *)head.data);
		for (int k = 0; k < PQnfields(res) && r == 0; k++)
			r = buf_addf(rows, "%s%s", k ? ", " : "", PQgetvalue(res, i, k));
		if (r == 0)
			r = buf_addch(rows, ')');
		n++;
	}
	PQclear(res);
	buf_release(&sql);
	buf_release(&head);
	return r < 0 ? r : n;
}

/* A key dropped and re-added keeps its comment. */
static int rs_exec_after_fk_comment(struct rs_exec *x, const struct rs_plan_fk *f,
				    const char *what)
{
	struct buf sql = BUF_INIT;
	int r = buf_addstr(&sql, "COMMENT ON CONSTRAINT ");

	if (r == 0)
		r = pg_names_quote_ident(&sql, f->name);
	if (r == 0)
		r = buf_addstr(&sql, " ON ");
	if (r == 0)
		r = pg_names_quote_qualified(&sql, f->schema, f->table);
	if (r == 0)
		r = buf_addstr(&sql, " IS ");
	if (r == 0)
		r = pg_names_quote_literal(&sql, f->comment);
	if (r == 0)
		r = rs_exec_cmd(x, (char *)sql.data, what);
	buf_release(&sql);
	return r;
}

int rs_exec_after_readd_fks(struct rs_exec *x)
{
	struct rs_plan *p = x->p;
	struct buf sql = BUF_INIT, rows = BUF_INIT, what = BUF_INIT;
	int r = 0;

	for (size_t i = 0; i < p->nfks && r == 0; i++) {
		const struct rs_plan_fk *f = &p->fks[i];

		buf_reset(&rows);
		r = rs_exec_after_orphans(x, f->schema, f->table, f->cols, f->ref_schema,
					  f->ref_table, f->ref_cols, f->ncols, &rows);
		if (r > 0) {
			if (x->err)
				buf_addf(x->err, "foreign key %s of table %s.%s%s references rows of %s.%s that the restore would remove: %s; nothing was changed",
					 f->name, f->schema, f->table,
					 f->selected ? "" : " (not selected)", f->ref_schema,
					 f->ref_table, (char *)rows.data);
			r = -EEXIST;
			break;
		}
		buf_reset(&sql);
		buf_reset(&what);
		if (r == 0)
			r = buf_addstr(&sql, "ALTER TABLE ");
		if (r == 0)
			r = pg_names_quote_qualified(&sql, f->schema, f->table);
		if (r == 0)
			r = buf_addstr(&sql, " ADD CONSTRAINT ");
		if (r == 0)
			r = pg_names_quote_ident(&sql, f->name);
		if (r == 0)
			r = buf_addf(&sql, " %s", f->def);
		if (r == 0)
			r = buf_addf(&what, "re-adding foreign key %s of %s.%s", f->name,
				     f->schema, f->table);
		if (r == 0)
			r = rs_exec_cmd(x, (char *)sql.data, (char *)what.data);
		if (r == 0 && f->comment)
			r = rs_exec_after_fk_comment(x, f, (char *)what.data);
	}
	buf_release(&sql);
	buf_release(&rows);
	buf_release(&what);
	return r;
}

/* replica mode skipped the key checks: do them for every key touching a
 * loaded table */
int rs_exec_after_check_fks(struct rs_exec *x)
{
	static const char sql[] =
		"SELECT c.conname, cn.nspname, cl.relname, pn.nspname, pl.relname,"
		" pg_catalog.array_to_json(ARRAY(SELECT a.attname FROM pg_catalog.unnest(c.conkey)"
		"  WITH ORDINALITY k(n, o) JOIN pg_catalog.pg_attribute a"
		"  ON a.attrelid = c.conrelid AND a.attnum = k.n ORDER BY k.o))::text,"
		" pg_catalog.array_to_json(ARRAY(SELECT a.attname FROM pg_catalog.unnest(c.confkey)"
		"  WITH ORDINALITY k(n, o) JOIN pg_catalog.pg_attribute a"
		"  ON a.attrelid = c.confrelid AND a.attnum = k.n ORDER BY k.o))::text"
		" FROM pg_catalog.pg_constraint c"
		" JOIN pg_catalog.pg_class cl ON cl.oid = c.conrelid"
		" JOIN pg_catalog.pg_namespace cn ON cn.oid = cl.relnamespace"
		" JOIN pg_catalog.pg_class pl ON pl.oid = c.confrelid"
		" JOIN pg_catalog.pg_namespace pn ON pn.oid = pl.relnamespace"
		" WHERE c.contype = 'f' AND c.conparentid = 0";
	PGresult *res;
	struct buf rows = BUF_INIT;
	int r = pg_conn_query(x->c, &res, PGRES_TUPLES_OK, sql, 0, NULL,
			      "listing foreign keys", x->err);

	for (int i = 0; r == 0 && i < PQntuples(res); i++) {
		const char *cs = PQgetvalue(res, i, 1), *ct = PQgetvalue(res, i, 2);
		const char *ps = PQgetvalue(res, i, 3), *pt = PQgetvalue(res, i, 4);
		char **cols = NULL, **refs = NULL;
		size_t nc = 0, nr = 0;
		int touched = rs_order_find(&x->p->order, cs, ct) >= 0 ||
			      rs_order_find(&x->p->order, ps, pt) >= 0;

		if (!touched)
			continue;
		r = rs_plan_json_names(PQgetvalue(res, i, 5), &cols, &nc);
		if (r == 0)
			r = rs_plan_json_names(PQgetvalue(res, i, 6), &refs, &nr);
		buf_reset(&rows);
		if (r == 0 && nc == nr)
			r = rs_exec_after_orphans(x, cs, ct, cols, ps, pt, refs, nc, &rows);
		if (r > 0) {
			if (x->err)
				buf_addf(x->err, "foreign key %s of %s.%s: rows without a match in %s.%s after the load: %s",
					 PQgetvalue(res, i, 0), cs, ct, ps, pt, (char *)rows.data);
			r = -EBADMSG;
		}
		for (size_t k = 0; k < nc; k++)
			free(cols[k]);
		for (size_t k = 0; k < nr; k++)
			free(refs[k]);
		free(cols);
		free(refs);
	}
	PQclear(res);
	buf_release(&rows);
	return r;
}
/* ---- sequences, materialized views ------------------------------------------ */

/* Undoes a literal token ('...' or E'...') into out. */
static int rs_exec_after_literal(const struct rs_sql_tok *t, struct buf *out)
{
	const char *p = t->p, *end = t->p + t->len;
	int e = 0, r = 0;

	if (*p == 'E' || *p == 'e') {
		e = 1;
		p++;
	}
	if (end - p < 2 || *p != '\'' || end[-1] != '\'')
		return -EINVAL;
	for (p++, end--; p < end && r == 0; p++) {
		if (e && *p == '\\' && p + 1 < end)
			p++;
		else if (*p == '\'' && p + 1 < end && p[1] == '\'')
			p++;
		r = buf_addch(out, *p);
	}
	return r;
}

int rs_exec_after_sequences(struct rs_exec *x)
{
	const char *text = (const char *)x->src->sequences_sql.data;
	size_t len = x->src->sequences_sql.len, pos = 0;
	struct buf lit = BUF_INIT, sch = BUF_INIT, nm = BUF_INIT, val = BUF_INIT;
	struct rs_sql_stmt st;
	int r = 0;

	while (r == 0 && rs_sql_next(text, len, &pos, &st)) {
		struct rs_sql_lex lx, ln;
		struct rs_sql_tok t;
		const char *called = "true";
		int set;

		if (st.meta)
			continue;
		rs_sql_lex_init(&lx, text + st.off, st.len);
		do
			rs_sql_lex_next(&lx, &t);
		while (t.kind != RS_SQL_END && !rs_sql_punct(&t, '('));
		rs_sql_lex_next(&lx, &t);
		buf_reset(&lit);
		if (t.kind != RS_SQL_STRING || rs_exec_after_literal(&t, &lit) < 0)
			continue;
		rs_sql_lex_next(&lx, &t);	/* , */
		rs_sql_lex_next(&lx, &t);
		buf_reset(&val);
		if (rs_sql_punct(&t, '-')) {
			buf_addch(&val, '-');
			rs_sql_lex_next(&lx, &t);
		}
		if (t.kind != RS_SQL_NUMBER)
			continue;
		buf_add(&val, t.p, t.len);
		rs_sql_lex_next(&lx, &t);	/* , */
		rs_sql_lex_next(&lx, &t);
		if (rs_sql_is(&t, "false"))
			called = "false";
		rs_sql_lex_init(&ln, (char *)lit.data, lit.len);
		rs_sql_lex_next(&ln, &t);
		if (rs_sql_qname(&ln, &t, &sch, &nm) < 0)
			continue;
		/* an extension's configuration sequence: with its
		 * extension's configuration (rs-extcfg), else the selection */
		set = rs_extcfg_sequence(x->p, x->src, (char *)sch.data, (char *)nm.data);
		if (set < 0)
			set = rs_select_sequence(x->sel, x->src->meta, x->src->ddl,
						 (char *)sch.data, (char *)nm.data);
		if (!set)
			continue;
		{
			const char *params[3] = { (char *)lit.data, (char *)val.data, called };
			struct buf what = BUF_INIT;
			PGresult *res;

			buf_addf(&what, "sequence %s.%s", (char *)sch.data, (char *)nm.data);
			/* merge mode never moves a sequence backwards */
			r = pg_conn_query(x->c, &res, PGRES_TUPLES_OK,
					  x->p->mode == RS_MODE_MERGE ?
					  "SELECT pg_catalog.setval($1::regclass, $2::bigint, $3::boolean)"
					  " WHERE COALESCE(pg_catalog.pg_sequence_last_value($1::regclass), 0) < $2::bigint" :
					  "SELECT pg_catalog.setval($1::regclass, $2::bigint, $3::boolean)",
					  3, params, (char *)what.data, x->err);
			PQclear(res);
			buf_release(&what);
		}
	}
	buf_release(&lit);
	buf_release(&sch);
	buf_release(&nm);
	buf_release(&val);
	return r;
}

int rs_exec_after_refresh(struct rs_exec *x)
{
	struct buf sql = BUF_INIT;
	int r = 0;

	for (size_t i = 0; i < x->p->nobjects && r == 0; i++) {
		const struct rs_plan_object *o = &x->p->objects[i];

		if (strcmp(o->type, "MATERIALIZED VIEW") ||
		    (o->act != RS_ACT_RUN && o->act != RS_ACT_RECREATE))
			continue;
		/* left WITH NO DATA in the source: pg_dump writes no REFRESH
		 * for it, and querying it must fail here as it did there */
		if (rs_meta_unpopulated(x->src->meta, o->schema, o->name))
			continue;
		buf_reset(&sql);
		r = buf_addstr(&sql, "REFRESH MATERIALIZED VIEW ");
		if (r == 0)
			r = pg_names_quote_qualified(&sql, o->schema, o->name);
		if (r == 0)
			r = rs_exec_cmd(x, (char *)sql.data, (char *)sql.data);
	}
	buf_release(&sql);
	return r;
}

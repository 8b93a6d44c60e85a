/*
 * rs-exec-clean: what the restore changes in the target before its DDL,
 * and what it then owes back.
 *
 * The selected tables are locked first.  Clean mode drops what it
 * recreates: the foreign keys of unselected (or kept) tables that point
 * at a table about to be emptied or dropped (rs-exec-after re-adds
 * them), the views not in the snapshot it was told to drop, views, the
 * tables in one statement, sequences and types, and empties the tables
 * it keeps (TRUNCATE), whose user triggers are disabled until their rows
 * are in, as a recreated table's are created after them; the
 * publication memberships of the tables it recreates are read first and
 * put back after the post-data, as publications are not part of a
 * selection.  A rollback drops the tables
 * the restore it undoes created.  Apart from the steps, so that the
 * order of the steps reads in one place and the lists of tables each
 * statement names are built here.
 */
#include <errno.h>
#include <string.h>

#include "pg-conn.h"
#include "pg-names.h"
#include "rs-exec-int.h"
#include "rs-extcfg.h"

/*
 * sql = head, then the plan tables pick() takes, qualified, comma
 * separated, then tail; *n gets how many (the caller runs nothing when
 * none).
 */
static int rs_exec_clean_list(const struct rs_exec *x, struct buf *sql,
			      const char *head, const char *tail,
			      int (*pick)(const struct rs_exec *, size_t), size_t *n)
{
	int r = buf_addstr(sql, head);

	*n = 0;
	for (size_t i = 0; i < x->p->ntables && r == 0; i++) {
		if (!pick(x, i))
			continue;
		if ((*n)++)
			r = buf_addstr(sql, ", ");
		if (r == 0)
			r = pg_names_quote_qualified(sql, x->p->tables[i].t->schema,
						     x->p->tables[i].t->name);
	}
	return r ? r : buf_addstr(sql, tail);
}

/* sql += the plan tables pick() takes as "'s.t'::pg_catalog.regclass",
 * comma separated; *n gets how many (none: run nothing). */
static int rs_exec_clean_regclasses(const struct rs_exec *x, struct buf *sql,
				    int (*pick)(const struct rs_exec *, size_t), size_t *n)
{
	struct buf name = BUF_INIT;
	int r = 0;

	*n = 0;
	for (size_t i = 0; i < x->p->ntables && r == 0; i++) {
		if (!pick(x, i))
			continue;
		buf_reset(&name);
		r = pg_names_quote_qualified(&name, x->p->tables[i].t->schema,
					     x->p->tables[i].t->name);
		if (r == 0)
			r = buf_addstr(sql, (*n)++ ? ", " : "");
		if (r == 0)
			r = pg_names_quote_literal(sql, (char *)name.data);
		if (r == 0)
			r = buf_addstr(sql, "::pg_catalog.regclass");
	}
	buf_release(&name);
	return r;
}

/* tables that exist and whose rows or DDL the restore changes (not an
 * extension's configuration table: its rows are added to the
 * extension's own, which an exclusive lock needs more than INSERT for) */
static int rs_exec_clean_pick_lock(const struct rs_exec *x, size_t i)
{
	const struct rs_plan_table *t = &x->p->tables[i];

	return t->exists && (t->load != RS_LOAD_NONE || t->ddl == RS_ACT_RECREATE) &&
	       !t->t->extension;
}

static int rs_exec_clean_pick_recreate(const struct rs_exec *x, size_t i)
{
	return x->p->tables[i].ddl == RS_ACT_RECREATE;
}

static int rs_exec_clean_pick_truncate(const struct rs_exec *x, size_t i)
{
	return x->p->tables[i].load == RS_LOAD_TRUNCATE && !x->p->tables[i].t->extension;
}

/*
 * The extensions' configuration tables among those pick() takes: a
 * DELETE of the rows their filter selects each (never TRUNCATE: the
 * extension's own rows stay), appended to sql after ";" separators;
 * *n counts them too.
 */
static int rs_exec_clean_configs(const struct rs_exec *x, struct buf *sql,
				 int (*pick)(const struct rs_exec *, size_t), size_t *n)
{
	int r = 0;

	for (size_t i = 0; i < x->p->ntables && r == 0; i++) {
		const struct rs_plan_table *t = &x->p->tables[i];

		if (!t->t->extension || !pick(x, i))
			continue;
		if ((*n)++)
			r = buf_addstr(sql, "; ");
		if (r == 0)
			r = rs_extcfg_delete_sql(t->t, sql);
	}
	return r;
}

static int rs_exec_clean_pick_config_truncate(const struct rs_exec *x, size_t i)
{
	return x->p->tables[i].load == RS_LOAD_TRUNCATE;
}

/* ---- locks ------------------------------------------------------------------ */

int rs_exec_lock(struct rs_exec *x)
{
	struct buf sql = BUF_INIT;
	size_t n;
	int r = rs_exec_clean_list(x, &sql, "LOCK TABLE ",
				   x->p->mode == RS_MODE_MERGE ? " IN SHARE ROW EXCLUSIVE MODE" :
				   " IN ACCESS EXCLUSIVE MODE", rs_exec_clean_pick_lock, &n);

	if (r == 0 && n)
		r = rs_exec_cmd(x, (char *)sql.data, "locking the selected tables");
	buf_release(&sql);
	return r;
}

/* ---- clean mode: publication memberships -------------------------------- */

/*
 * DROP TABLE takes a table out of every publication it is in, and the
 * DDL of a table-filtered snapshot (pg_dump -t, as a safety snapshot is)
 * never holds "ALTER PUBLICATION ... ADD TABLE".  Publications are not
 * part of the selection, so a restore must not change them: the
 * memberships of the tables about to be recreated are read here (column
 * list and row filter by name, as attribute numbers change) and put
 * back by rs_exec_clean_pubs_restore.
 */
static int rs_exec_clean_pubs_save(struct rs_exec *x)
{
	struct buf sql = BUF_INIT;
	int r, pg15 = PQserverVersion(x->c) >= 150000;
	size_t n = 0;

	r = buf_addf(&sql, "SELECT format('ALTER PUBLICATION %%I ADD TABLE %%I.%%I', p.pubname, n.nspname, c.relname)%s, p.pubname, format('%%I.%%I', n.nspname, c.relname) FROM pg_publication_rel r JOIN pg_publication p ON p.oid = r.prpubid JOIN pg_class c ON c.oid = r.prrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE r.prrelid IN (",
		     pg15 ? " || CASE WHEN r.prattrs IS NULL THEN '' ELSE ' (' || (SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum) FROM pg_attribute a WHERE a.attrelid = r.prrelid AND a.attnum = ANY (r.prattrs)) || ')' END || CASE WHEN r.prqual IS NULL THEN '' ELSE ' WHERE (' || pg_get_expr(r.prqual, r.prrelid) || ')' END" : "");
	if (r == 0)
		r = rs_exec_clean_regclasses(x, &sql, rs_exec_clean_pick_recreate, &n);
	if (r == 0)
		r = buf_addstr(&sql, ") ORDER BY 2, 3");
	if (r == 0 && n)
		r = pg_conn_query(x->c, &x->pubs, PGRES_TUPLES_OK, (char *)sql.data,
				  0, NULL, "reading the publications of the selected tables",
				  x->err);
	buf_release(&sql);
	return r;
}

int rs_exec_clean_pubs_restore(struct rs_exec *x)
{
	static const char q[] = "SELECT EXISTS (SELECT 1 FROM pg_publication_rel r JOIN pg_publication p ON p.oid = r.prpubid WHERE p.pubname = $1 AND r.prrelid = $2::regclass)";
	int r = 0;

	for (int i = 0; x->pubs && i < PQntuples(x->pubs) && r == 0; i++) {
		const char *params[2] = { PQgetvalue(x->pubs, i, 1),
					  PQgetvalue(x->pubs, i, 2) };
		PGresult *res;
		int present;

		r = pg_conn_query(x->c, &res, PGRES_TUPLES_OK, q, 2, params,
				  "reading the publications of the restored tables",
				  x->err);
		if (r < 0)
			break;
		present = !strcmp(PQgetvalue(res, 0, 0), "t");
		PQclear(res);
		/* the snapshot's own DDL may have put it back already */
		if (!present)
			r = rs_exec_cmd(x, PQgetvalue(x->pubs, i, 0),
					PQgetvalue(x->pubs, i, 0));
	}
	return r;
}

/* ---- triggers of the tables reloaded ---------------------------------------- */

/*
 * A table clean mode keeps is emptied and reloaded with its triggers in
 * place: they would fire on TRUNCATE and on every restored row (an
 * updated_at stamped anew, an audit row written into another table, a
 * webhook called), where a recreated table gets its triggers only after
 * its rows.  So the enabled user triggers of the tables emptied are
 * disabled first, each noted with the statement that puts its state
 * back (ENABLE, ENABLE ALWAYS, ENABLE REPLICA) once the rows are in;
 * all in the transaction, so a failure leaves them as they were.  A
 * table the role does not own cannot be altered: its triggers fire.
 */
/* tables emptied and reloaded whose triggers the role may alter */
static int rs_exec_clean_pick_reload(const struct rs_exec *x, size_t i)
{
	const struct rs_plan_table *t = &x->p->tables[i];

	return t->load == RS_LOAD_TRUNCATE && !t->t->extension && t->owned;
}

static int rs_exec_clean_triggers_off(struct rs_exec *x)
{
	struct buf sql = BUF_INIT;
	size_t n = 0;
	int r;

	r = buf_addstr(&sql, "SELECT pg_catalog.format('ALTER TABLE %s DISABLE TRIGGER %I', g.tgrelid::pg_catalog.regclass, g.tgname),"
		       " pg_catalog.format('ALTER TABLE %s ENABLE %sTRIGGER %I', g.tgrelid::pg_catalog.regclass,"
		       "  CASE g.tgenabled WHEN 'A' THEN 'ALWAYS ' WHEN 'R' THEN 'REPLICA ' ELSE '' END, g.tgname)"
		       " FROM pg_catalog.pg_trigger g WHERE NOT g.tgisinternal AND g.tgenabled <> 'D'"
		       " AND g.tgrelid IN (");
	if (r == 0)
		r = rs_exec_clean_regclasses(x, &sql, rs_exec_clean_pick_reload, &n);
	if (r == 0)
		r = buf_addstr(&sql, ") ORDER BY 1");
	if (r == 0 && n)
		r = pg_conn_query(x->c, &x->triggers, PGRES_TUPLES_OK, (char *)sql.data, 0, NULL,
				  "reading the triggers of the tables reloaded", x->err);
	for (int i = 0; r == 0 && x->triggers && i < PQntuples(x->triggers); i++)
		r = rs_exec_cmd(x, PQgetvalue(x->triggers, i, 0), PQgetvalue(x->triggers, i, 0));
	buf_release(&sql);
	return r;
}

int rs_exec_clean_triggers_on(struct rs_exec *x)
{
	int r = 0;

	for (int i = 0; r == 0 && x->triggers && i < PQntuples(x->triggers); i++)
		r = rs_exec_cmd(x, PQgetvalue(x->triggers, i, 1), PQgetvalue(x->triggers, i, 1));
	return r;
}

/* ---- drops ------------------------------------------------------------------ */

/*
 * A policy or rule of a table recreated may read a view that is dropped
 * too: DROP VIEW refuses while the table still exists, and the table
 * goes after the views (which depend on tables).  They are dropped first;
 * the table, dropped right after, takes nothing more with it.
 */
static int rs_exec_clean_view_readers(struct rs_exec *x)
{
	static const char head[] =
		"WITH t(oid) AS (SELECT pg_catalog.unnest(ARRAY[";
	static const char tail[] =
		"]::pg_catalog.oid[])),"
		" v AS (SELECT d.classid, d.objid FROM pg_catalog.pg_depend d"
		"  JOIN pg_catalog.pg_class c ON c.oid = d.refobjid AND c.relkind IN ('v', 'm')"
		"  WHERE d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass)"
		"SELECT pg_catalog.format('DROP POLICY %I ON %s', po.polname, po.polrelid::pg_catalog.regclass)"
		" FROM pg_catalog.pg_policy po JOIN t ON t.oid = po.polrelid"
		" WHERE ('pg_catalog.pg_policy'::pg_catalog.regclass, po.oid) IN (SELECT * FROM v)"
		" UNION ALL"
		" SELECT pg_catalog.format('DROP RULE %I ON %s', w.rulename, w.ev_class::pg_catalog.regclass)"
		" FROM pg_catalog.pg_rewrite w JOIN t ON t.oid = w.ev_class"
		" WHERE w.rulename <> '_RETURN'"
		" AND ('pg_catalog.pg_rewrite'::pg_catalog.regclass, w.oid) IN (SELECT * FROM v) ORDER BY 1";
	struct buf sql = BUF_INIT;
	PGresult *res = NULL;
	size_t n = 0;
	int r = buf_addstr(&sql, head);

	if (r == 0)
		r = rs_exec_clean_regclasses(x, &sql, rs_exec_clean_pick_recreate, &n);
	if (r == 0)
		r = buf_addstr(&sql, tail);
	if (r == 0 && n)
		r = pg_conn_query(x->c, &res, PGRES_TUPLES_OK, (char *)sql.data, 0, NULL,
				  "reading the policies and rules that read views", x->err);
	for (int i = 0; r == 0 && res && i < PQntuples(res); i++)
		r = rs_exec_cmd(x, PQgetvalue(res, i, 0), PQgetvalue(res, i, 0));
	PQclear(res);
	buf_release(&sql);
	return r;
}

/* Rollback: drops the tables the restore undone created (they were
 * absent before it), in one statement (references among them need no
 * order).  A table something else has come to depend on since makes the
 * rollback fail, with the server's message, rather than cascade. */
static int rs_exec_clean_drop_created(struct rs_exec *x)
{
	const char *const *d = x->o->drop_tables;
	struct buf sql = BUF_INIT;
	int r;

	if (!d || !d[0])
		return 0;
	r = buf_addstr(&sql, "DROP TABLE IF EXISTS ");
	for (size_t i = 0; d[i] && d[i + 1] && r == 0; i += 2) {
		r = buf_addstr(&sql, i ? ", " : "");
		if (r == 0)
			r = pg_names_quote_qualified(&sql, d[i], d[i + 1]);
	}
	if (r == 0)
		r = rs_exec_cmd(x, (char *)sql.data, "dropping the tables the restore created");
	buf_release(&sql);
	return r;
}

static int rs_exec_clean_drops(struct rs_exec *x)
{
	struct rs_plan *p = x->p;
	struct buf sql = BUF_INIT;
	size_t n;
	int r = 0;

	for (size_t i = 0; i < p->nfks && r == 0; i++) {
		buf_reset(&sql);
		r = buf_addstr(&sql, "ALTER TABLE ");
		if (r == 0)
			r = pg_names_quote_qualified(&sql, p->fks[i].schema, p->fks[i].table);
		if (r == 0)
			r = buf_addstr(&sql, " DROP CONSTRAINT ");
		if (r == 0)
			r = pg_names_quote_ident(&sql, p->fks[i].name);
		if (r == 0)
			r = rs_exec_cmd(x, (char *)sql.data, "dropping a foreign key of an unselected table");
	}
	/* views the snapshot lacks, that the caller let go (deepest first) */
	for (size_t i = 0; i < p->ndrop_views && r == 0; i++)
		r = rs_exec_cmd(x, p->drop_views[i], p->drop_views[i]);
	if (r == 0)
		r = rs_exec_clean_view_readers(x);
	/* views first (reverse dump order respects their dependencies) */
	for (size_t i = p->nobjects; i-- > 0 && r == 0;) {
		const struct rs_plan_object *o = &p->objects[i];

		if (o->act == RS_ACT_RECREATE && o->drop_sql &&
		    (!strcmp(o->type, "VIEW") || !strcmp(o->type, "MATERIALIZED VIEW") ||
		     !strcmp(o->type, "FOREIGN TABLE")))
			r = rs_exec_cmd(x, o->drop_sql, o->drop_sql);
	}
	/* tables in one statement: references among them need no order */
	buf_reset(&sql);
	if (r == 0)
		r = rs_exec_clean_list(x, &sql, "DROP TABLE IF EXISTS ", "",
				       rs_exec_clean_pick_recreate, &n);
	if (r == 0 && n)
		r = rs_exec_cmd(x, (char *)sql.data, "dropping the selected tables");
	for (size_t i = p->nobjects; i-- > 0 && r == 0;) {
		const struct rs_plan_object *o = &p->objects[i];

		if (o->act == RS_ACT_RECREATE && o->drop_sql &&
		    strcmp(o->type, "VIEW") && strcmp(o->type, "MATERIALIZED VIEW") &&
		    strcmp(o->type, "FOREIGN TABLE"))
			r = rs_exec_cmd(x, o->drop_sql, o->drop_sql);
	}
	buf_reset(&sql);
	if (r == 0)
		r = rs_exec_clean_triggers_off(x);
	if (r == 0)
		r = rs_exec_clean_list(x, &sql, "TRUNCATE ONLY ", "", rs_exec_clean_pick_truncate, &n);
	if (r == 0 && n)
		r = rs_exec_cmd(x, (char *)sql.data, "emptying the selected tables");
	buf_reset(&sql);
	n = 0;
	if (r == 0)
		r = rs_exec_clean_configs(x, &sql, rs_exec_clean_pick_config_truncate, &n);
	if (r == 0 && n)
		r = rs_exec_cmd(x, (char *)sql.data, "emptying extensions' configuration tables");
	buf_release(&sql);
	return r;
}

int rs_exec_clean_drop(struct rs_exec *x)
{
	int r = 0;

	if (x->p->mode == RS_MODE_CLEAN)
		r = rs_exec_clean_pubs_save(x);
	if (r == 0 && x->p->mode == RS_MODE_CLEAN)
		r = rs_exec_clean_drops(x);
	if (r == 0)
		r = rs_exec_clean_drop_created(x);
	return r;
}

/* tables that existed (empty: empty mode refuses others) and got rows */
static int rs_exec_clean_pick_filled(const struct rs_exec *x, size_t i)
{
	const struct rs_plan_table *t = &x->p->tables[i];

	return t->exists && t->load == RS_LOAD_COPY && x->lt[i]->inserted;
}

static int rs_exec_clean_pick_filled_plain(const struct rs_exec *x, size_t i)
{
	return rs_exec_clean_pick_filled(x, i) && !x->p->tables[i].t->extension;
}

int rs_exec_clean_filled(const struct rs_exec *x, struct buf *sql, size_t *n)
{
	int r = rs_exec_clean_list(x, sql, "TRUNCATE ONLY ", "",
				   rs_exec_clean_pick_filled_plain, n);

	/* an extension's configuration table: only the rows added */
	if (r == 0 && !*n)
		buf_reset(sql);
	return r ? r : rs_exec_clean_configs(x, sql, rs_exec_clean_pick_filled, n);
}

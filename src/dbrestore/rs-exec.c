/*
 * rs-exec: carrying out a restore plan in one transaction, streaming the
 * snapshot's rows into the target, and verifying the result before the
 * commit.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "pg-conn.h"
#include "pg-copy.h"
#include "pg-names.h"
#include "rs-exec-int.h"
#include "rs-lo.h"
#include "rs-undo.h"
#include "rs-sql.h"
#include "strv.h"

#define RS_EXEC_CHUNK	(256u << 10)

void rs_exec_step(struct rs_exec *x, const char *step,
		  const struct rs_meta_table *t)
{
	if (!x->o->progress)
		return;
	if (x->mu)
		pthread_mutex_lock(x->mu);
	x->o->progress(x->o->progress_ctx, step, t);
	if (x->mu)
		pthread_mutex_unlock(x->mu);
}

int rs_exec_interrupted(struct rs_exec *x)
{
	if (x->stop && *x->stop)
		return -EINTR;
	if (x->o->interrupt && *x->o->interrupt) {
		if (x->err)
			buf_addstr(x->err, "interrupted");
		return -EINTR;
	}
	return 0;
}

/* A failed result as an errno, with what, the server's message and its
 * context (for COPY: the line) in err. */
static int rs_exec_fail(struct rs_exec *x, const PGresult *res, const char *what)
{
	int r = pg_conn_error(x->c, res, what, x->err);
	const char *ctx = res ? PQresultErrorField(res, PG_DIAG_CONTEXT) : NULL;

	if (ctx && x->err) {
		/* the first line is the useful one ("COPY t, line 3: ...") */
		const char *nl = strchr(ctx, '\n');

		buf_addf(x->err, " [%.*s]", nl ? (int)(nl - ctx) : (int)strlen(ctx), ctx);
	}
	return r;
}

int rs_exec_cmd(struct rs_exec *x, const char *sql, const char *what)
{
	PGresult *res;
	int r = rs_exec_interrupted(x);

	if (r < 0)
		return r;
	res = PQexec(x->c, sql);
	if (res && (PQresultStatus(res) == PGRES_COMMAND_OK ||
		    PQresultStatus(res) == PGRES_TUPLES_OK)) {
		PQclear(res);
		return 0;
	}
	r = rs_exec_fail(x, res, what);
	PQclear(res);
	return r;
}

/* "section \"users; TABLE\" of schema.sql, statement \"CREATE TABLE ...\"" */
static int rs_exec_where(struct buf *w, const char *file,
			 const struct pg_ddl_section *s, const char *sql,
			 size_t len)
{
	const char *nl = memchr(sql, '\n', len);
	size_t n = nl ? (size_t)(nl - sql) : len;
	int r;

	buf_reset(w);
	if (s)
		r = buf_addf(w, "%s, section \"%s; %s\", statement \"", file, s->name, s->type);
	else
		r = buf_addf(w, "%s, statement \"", file);
	if (r == 0)
		r = buf_add(w, sql, n > 160 ? 160 : n);
	if (r == 0)
		r = buf_addstr(w, n > 160 || nl ? " ...\"" : "\"");
	return r;
}

static const char *rs_exec_section_label(const struct pg_ddl *d, size_t sec,
					 struct buf *b)
{
	const struct pg_ddl_section *s = sec < pg_ddl_count(d) ? pg_ddl_get(d, sec) : NULL;

	buf_reset(b);
	if (!s)
		buf_addstr(b, sec == RS_SANITIZE_TRAILER ? "end of file" : "preamble");
	else
		buf_addf(b, "%s; %s", s->name, s->type);
	return (const char *)b->data;
}

/* ---- statements ------------------------------------------------------------ */

/* SQLSTATEs meaning "it is already there" (tolerated for RS_ACT_TRY) */
static int rs_exec_duplicate(const PGresult *res)
{
	static const char *const dup[] = {
		"42710", "42P07", "42723", "42P06", "42P04", "42701", "42P16", NULL,
	};
	const char *st = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;

	for (int i = 0; st && dup[i]; i++)
		if (!strcmp(st, dup[i]))
			return 1;
	return 0;
}

/* CREATE FUNCTION/PROCEDURE -> CREATE OR REPLACE ... (clean mode) */
static int rs_exec_replace(struct buf *sql)
{
	struct rs_sql_lex x;
	struct rs_sql_tok t, u;
	struct buf out = BUF_INIT;
	int r;

	rs_sql_lex_init(&x, (char *)sql->data, sql->len);
	rs_sql_lex_next(&x, &t);
	rs_sql_lex_next(&x, &u);
	if (!rs_sql_is(&t, "CREATE") ||
	    !(rs_sql_is(&u, "FUNCTION") || rs_sql_is(&u, "PROCEDURE")))
		return 0;
	r = buf_add(&out, sql->data, (size_t)(t.p + t.len - (char *)sql->data));
	if (r == 0)
		r = buf_addstr(&out, " OR REPLACE");
	if (r == 0)
		r = buf_addstr(&out, t.p + t.len);
	if (r == 0) {
		buf_release(sql);
		*sql = out;
		return 0;
	}
	buf_release(&out);
	return r;
}

/* One statement of a dump, run as the section's action says. */
static int rs_exec_stmt(struct rs_exec *x, const char *file,
			const struct pg_ddl *d, const struct rs_sanitized_stmt *st,
			enum rs_plan_act act)
{
	const struct pg_ddl_section *s = st->section < pg_ddl_count(d) ?
					 pg_ddl_get(d, st->section) : NULL;
	struct buf sql = BUF_INIT, what = BUF_INIT;
	PGresult *res = NULL;
	int r = rs_exec_interrupted(x);

	if (r == 0)
		r = buf_add(&sql, pg_ddl_text(d) + st->off, st->len);
	if (r == 0 && act == RS_ACT_REPLACE)
		r = rs_exec_replace(&sql);
	if (r == 0)
		r = rs_exec_where(&what, file, s, pg_ddl_text(d) + st->off, st->len);
	if (r == 0 && act == RS_ACT_TRY)
		r = rs_exec_cmd(x, "SAVEPOINT vault_try", "savepoint");
	if (r < 0)
		goto out;
	res = PQexec(x->c, (char *)sql.data);
	if (res && (PQresultStatus(res) == PGRES_COMMAND_OK ||
		    PQresultStatus(res) == PGRES_TUPLES_OK)) {
		if (act == RS_ACT_TRY)
			r = rs_exec_cmd(x, "RELEASE SAVEPOINT vault_try", "savepoint");
	} else if (act == RS_ACT_TRY && rs_exec_duplicate(res)) {
		r = rs_exec_cmd(x, "ROLLBACK TO SAVEPOINT vault_try", "savepoint");
		if (r == 0)
			r = rs_exec_cmd(x, "RELEASE SAVEPOINT vault_try", "savepoint");
	} else {
		r = rs_exec_fail(x, res, (char *)what.data);
	}
out:
	PQclear(res);
	buf_release(&sql);
	buf_release(&what);
	return r;
}

static int rs_exec_runs(enum rs_plan_act a)
{
	return a == RS_ACT_RUN || a == RS_ACT_RECREATE || a == RS_ACT_REPLACE ||
	       a == RS_ACT_TRY;
}

/* Sections [from, to) of schema.sql (and, with from == 0, its preamble). */
static int rs_exec_sections(struct rs_exec *x, size_t from, size_t to)
{
	const struct pg_ddl *d = x->src->ddl;
	const struct rs_sanitized *san = x->p->san;
	int r = 0;

	for (size_t i = 0; i < rs_sanitized_count(san) && r == 0; i++) {
		const struct rs_sanitized_stmt *st = rs_sanitized_get(san, i);
		enum rs_plan_act act;

		if (st->skip)
			continue;
		if (st->section == RS_SANITIZE_PREAMBLE) {
			if (from == 0)
				r = rs_exec_stmt(x, "schema.sql", d, st, RS_ACT_RUN);
			continue;
		}
		if (st->section >= x->p->nsec || st->section < from || st->section >= to ||
		    (x->sec_done && x->sec_done[st->section]))
			continue;
		act = x->p->sec[st->section];
		if (rs_exec_runs(act))
			r = rs_exec_stmt(x, "schema.sql", d, st, act);
	}
	return r;
}

int rs_exec_preamble(struct rs_exec *x)
{
	const struct rs_sanitized *san = x->p->san;
	int r = 0;

	for (size_t i = 0; i < rs_sanitized_count(san) && r == 0; i++) {
		const struct rs_sanitized_stmt *st = rs_sanitized_get(san, i);

		if (!st->skip && st->section == RS_SANITIZE_PREAMBLE)
			r = rs_exec_stmt(x, "schema.sql", x->src->ddl, st, RS_ACT_RUN);
	}
	return r ? r : rs_exec_session(x);
}

/*
 * A parallel worker, once table ti is loaded and verified: its indexes
 * and its primary key, unique and exclusion constraints (post-data that
 * concerns the table alone), so they build while other tables load, as
 * pg_restore -j does.  Foreign keys and the rest wait for the last
 * transaction.
 */
int rs_exec_table_post(struct rs_exec *x, size_t ti)
{
	const struct rs_meta_table *t = x->p->tables[ti].t;
	const struct pg_ddl *d = x->src->ddl;
	const struct rs_sanitized *san = x->p->san;
	int r = 0, any = 0;

	for (size_t i = 0; i < rs_sanitized_count(san) && r == 0; i++) {
		const struct rs_sanitized_stmt *st = rs_sanitized_get(san, i);
		const struct pg_ddl_section *s;

		if (st->skip || st->section >= x->p->nsec || st->section < x->p->post_data ||
		    x->p->sec[st->section] != RS_ACT_RUN)
			continue;
		s = pg_ddl_get(d, st->section);
		if ((strcmp(s->type, "INDEX") && strcmp(s->type, "CONSTRAINT")) ||
		    !s->rel_schema || !s->rel_name || strcmp(s->rel_schema, t->schema) ||
		    strcmp(s->rel_name, t->name))
			continue;
		if (!any++)
			r = rs_exec_cmd(x, "SELECT pg_catalog.set_config('maintenance_work_mem', '256MB', true)"
					" WHERE pg_catalog.pg_size_bytes(pg_catalog.current_setting('maintenance_work_mem'))"
					" < 256 * 1024 * 1024", "raising maintenance_work_mem");
		if (r == 0)
			r = rs_exec_stmt(x, "schema.sql", d, st, RS_ACT_RUN);
		if (r == 0)
			x->sec_done[st->section] = 1;
	}
	return r;
}

/* Skipped statements of what the restore would otherwise run: the log. */
static int rs_exec_log_skipped(struct rs_exec *x)
{
	const struct pg_ddl *d = x->src->ddl;
	struct buf label = BUF_INIT;
	int r = 0;

	for (size_t i = 0; i < rs_sanitized_count(x->p->san) && r == 0; i++) {
		const struct rs_sanitized_stmt *st = rs_sanitized_get(x->p->san, i);
		enum rs_plan_act act = st->section < x->p->nsec ? x->p->sec[st->section] : RS_ACT_RUN;

		if (!st->skip || (!rs_exec_runs(act) && act != RS_ACT_MANAGED))
			continue;
		rs_exec_section_label(d, st->section, &label);
		r = buf_addstr(&label, " (schema.sql)");
		if (r == 0)
			r = rs_log_skip(x->log, (char *)label.data, pg_ddl_text(d) + st->off,
					st->len, st->skip);
	}
	for (size_t i = 0; i < rs_sanitized_count(x->p->san_roles) && r == 0; i++) {
		const struct rs_sanitized_stmt *st = rs_sanitized_get(x->p->san_roles, i);

		if (!st->skip || i >= x->p->nrole_stmt || x->p->role_stmt[i] != RS_ACT_RUN)
			continue;
		rs_exec_section_label(x->src->roles, st->section, &label);
		r = buf_addstr(&label, " (roles.sql)");
		if (r == 0)
			r = rs_log_skip(x->log, (char *)label.data,
					pg_ddl_text(x->src->roles) + st->off, st->len, st->skip);
	}
	buf_release(&label);
	return r;
}

static int rs_exec_roles(struct rs_exec *x)
{
	int r = 0;

	for (size_t i = 0; i < rs_sanitized_count(x->p->san_roles) && r == 0; i++) {
		const struct rs_sanitized_stmt *st = rs_sanitized_get(x->p->san_roles, i);

		if (!st->skip && i < x->p->nrole_stmt && x->p->role_stmt[i] == RS_ACT_RUN)
			r = rs_exec_stmt(x, "roles.sql", x->src->roles, st, RS_ACT_RUN);
	}
	return r;
}

/* ---- session ---------------------------------------------------------------- */

/* The capture's session settings (meta.json copy_settings), so COPY
 * text comes out byte for byte as it was captured. */
int rs_exec_session(struct rs_exec *x)
{
	const struct rs_meta *m = x->src->meta;
	int r = 0;

	for (size_t i = 0; i < m->nsettings && r == 0; i++) {
		const char *params[2] = { m->settings[2 * i], m->settings[2 * i + 1] };
		PGresult *res;

		if (!strcmp(params[0], "client_encoding"))
			continue;
		r = pg_conn_query(x->c, &res, PGRES_TUPLES_OK,
				  "SELECT pg_catalog.set_config($1, $2, false)", 2, params,
				  "session setup", x->err);
		PQclear(res);
	}
	if (r == 0)
		r = rs_exec_cmd(x, "SET client_min_messages = warning", "session setup");
	if (r == 0 && PQsetClientEncoding(x->c, m->encoding) != 0) {
		if (x->err)
			buf_addf(x->err, "cannot set client_encoding to %s: %s", m->encoding,
				 PQerrorMessage(x->c));
		r = -EIO;
	}
	return r;
}

/* ---- clean mode: foreign keys, drops ------------------------------------- */

static int rs_exec_qualified(struct buf *b, const char *schema, const char *name)
{
	return pg_names_quote_qualified(b, schema, name);
}

/*
 * sql = head, then the plan tables pick() takes, qualified, comma
 * separated, then tail; *n gets how many (the caller runs nothing when
 * none).
 */
static int rs_exec_table_list(const struct rs_exec *x, struct buf *sql,
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
			r = rs_exec_qualified(sql, x->p->tables[i].t->schema,
					      x->p->tables[i].t->name);
	}
	return r ? r : buf_addstr(sql, tail);
}

/* tables that exist and whose rows or DDL the restore changes */
static int rs_exec_pick_lock(const struct rs_exec *x, size_t i)
{
	const struct rs_plan_table *t = &x->p->tables[i];

	return t->exists && (t->load != RS_LOAD_NONE || t->ddl == RS_ACT_RECREATE);
}

static int rs_exec_pick_recreate(const struct rs_exec *x, size_t i)
{
	return x->p->tables[i].ddl == RS_ACT_RECREATE;
}

static int rs_exec_pick_truncate(const struct rs_exec *x, size_t i)
{
	return x->p->tables[i].load == RS_LOAD_TRUNCATE;
}

/* tables that existed (empty: empty mode refuses others) and got rows */
static int rs_exec_pick_filled(const struct rs_exec *x, size_t i)
{
	const struct rs_plan_table *t = &x->p->tables[i];

	return t->exists && t->load == RS_LOAD_COPY && x->lt[i]->inserted;
}

int rs_exec_lock(struct rs_exec *x)
{
	struct buf sql = BUF_INIT;
	size_t n;
	int r = rs_exec_table_list(x, &sql, "LOCK TABLE ",
				   x->p->mode == RS_MODE_MERGE ? " IN SHARE ROW EXCLUSIVE MODE" :
				   " IN ACCESS EXCLUSIVE MODE", rs_exec_pick_lock, &n);

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
 * back by rs_exec_pubs_restore.
 */
static int rs_exec_pubs_save(struct rs_exec *x)
{
	struct buf sql = BUF_INIT, name = BUF_INIT;
	int r, any = 0, pg15 = PQserverVersion(x->c) >= 150000;

	r = buf_addf(&sql, "SELECT format('ALTER PUBLICATION %%I ADD TABLE %%I.%%I', p.pubname, n.nspname, c.relname)%s, p.pubname, format('%%I.%%I', n.nspname, c.relname) FROM pg_publication_rel r JOIN pg_publication p ON p.oid = r.prpubid JOIN pg_class c ON c.oid = r.prrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE r.prrelid IN (",
		     pg15 ? " || CASE WHEN r.prattrs IS NULL THEN '' ELSE ' (' || (SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum) FROM pg_attribute a WHERE a.attrelid = r.prrelid AND a.attnum = ANY (r.prattrs)) || ')' END || CASE WHEN r.prqual IS NULL THEN '' ELSE ' WHERE (' || pg_get_expr(r.prqual, r.prrelid) || ')' END" : "");
	for (size_t i = 0; i < x->p->ntables && r == 0; i++) {
		if (x->p->tables[i].ddl != RS_ACT_RECREATE)
			continue;
		buf_reset(&name);
		r = rs_exec_qualified(&name, x->p->tables[i].t->schema,
				      x->p->tables[i].t->name);
		if (r == 0)
			r = buf_addstr(&sql, any ? ", " : "");
		if (r == 0)
			r = pg_names_quote_literal(&sql, (char *)name.data);
		if (r == 0)
			r = buf_addstr(&sql, "::regclass");
		any = 1;
	}
	if (r == 0)
		r = buf_addstr(&sql, ") ORDER BY 2, 3");
	if (r == 0 && any)
		r = pg_conn_query(x->c, &x->pubs, PGRES_TUPLES_OK, (char *)sql.data,
				  0, NULL, "reading the publications of the selected tables",
				  x->err);
	buf_release(&sql);
	buf_release(&name);
	return r;
}

static int rs_exec_pubs_restore(struct rs_exec *x)
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

/* Rollback: drops the tables the restore undone created (they were
 * absent before it), in one statement (references among them need no
 * order).  A table something else has come to depend on since makes the
 * rollback fail, with the server's message, rather than cascade. */
static int rs_exec_drop_created(struct rs_exec *x)
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
			r = rs_exec_qualified(&sql, d[i], d[i + 1]);
	}
	if (r == 0)
		r = rs_exec_cmd(x, (char *)sql.data, "dropping the tables the restore created");
	buf_release(&sql);
	return r;
}

static int rs_exec_drops(struct rs_exec *x)
{
	struct rs_plan *p = x->p;
	struct buf sql = BUF_INIT;
	size_t n;
	int r = 0;

	for (size_t i = 0; i < p->nfks && r == 0; i++) {
		buf_reset(&sql);
		r = buf_addstr(&sql, "ALTER TABLE ");
		if (r == 0)
			r = rs_exec_qualified(&sql, p->fks[i].schema, p->fks[i].table);
		if (r == 0)
			r = buf_addstr(&sql, " DROP CONSTRAINT ");
		if (r == 0)
			r = pg_names_quote_ident(&sql, p->fks[i].name);
		if (r == 0)
			r = rs_exec_cmd(x, (char *)sql.data, "dropping a foreign key of an unselected table");
	}
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
		r = rs_exec_table_list(x, &sql, "DROP TABLE IF EXISTS ", "",
				       rs_exec_pick_recreate, &n);
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
		r = rs_exec_table_list(x, &sql, "TRUNCATE ONLY ", "", rs_exec_pick_truncate, &n);
	if (r == 0 && n)
		r = rs_exec_cmd(x, (char *)sql.data, "emptying the selected tables");
	buf_release(&sql);
	return r;
}

/* "c.a, c.b" */
static int rs_exec_cols(struct buf *sql, char *const *cols, size_t ncols)
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
static int rs_exec_orphans(struct rs_exec *x, const char *cs, const char *ct,
			   char *const *cols, const char *ps, const char *pt,
			   char *const *ref_cols, size_t ncols, struct buf *rows)
{
	struct buf sql = BUF_INIT, head = BUF_INIT;
	PGresult *res = NULL;
	int r = 0, n = 0;

	r = buf_addstr(&sql, "SELECT ");
	if (r == 0)
		r = rs_exec_cols(&sql, cols, ncols);
	for (size_t i = 0; i < ncols && r == 0; i++) {
		r = buf_addstr(&head, i ? ", " : "(");
		if (r == 0)
			r = buf_addstr(&head, cols[i]);
	}
	if (r == 0)
		r = buf_addstr(&sql, " FROM ");
	if (r == 0)
		r = rs_exec_qualified(&sql, cs, ct);
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
		r = rs_exec_qualified(&sql, ps, pt);
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
		r = rs_exec_cols(&sql, cols, ncols);
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

static int rs_exec_readd_fks(struct rs_exec *x)
{
	struct rs_plan *p = x->p;
	struct buf sql = BUF_INIT, rows = BUF_INIT, what = BUF_INIT;
	int r = 0;

	for (size_t i = 0; i < p->nfks && r == 0; i++) {
		const struct rs_plan_fk *f = &p->fks[i];

		buf_reset(&rows);
		r = rs_exec_orphans(x, f->schema, f->table, f->cols, f->ref_schema,
				    f->ref_table, f->ref_cols, f->ncols, &rows);
		if (r > 0) {
			if (x->err)
				buf_addf(x->err, "foreign key %s of table %s.%s (not selected) references rows of %s.%s that the restore would remove: %s; nothing was changed",
					 f->name, f->schema, f->table, f->ref_schema,
					 f->ref_table, (char *)rows.data);
			r = -EEXIST;
			break;
		}
		buf_reset(&sql);
		buf_reset(&what);
		if (r == 0)
			r = buf_addstr(&sql, "ALTER TABLE ");
		if (r == 0)
			r = rs_exec_qualified(&sql, f->schema, f->table);
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
	}
	buf_release(&sql);
	buf_release(&rows);
	buf_release(&what);
	return r;
}

/* replica mode skipped the key checks: do them for every key touching a
 * loaded table */
static int rs_exec_check_fks(struct rs_exec *x)
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
			r = rs_exec_orphans(x, cs, ct, cols, ps, pt, refs, nc, &rows);
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

/* ---- rows ------------------------------------------------------------------ */

struct rs_exec_stream {
	XXH3_state_t *h;
	char *joined;		/* hold + one chunk */
	uint64_t rows, bytes;
	int header_done;
	char hold[3];		/* the last bytes: "\\.\n" is not data */
	size_t nhold;
};

/* Feeds buf[0..n) of data.sql: skips the COPY line, holds back the
 * last three bytes; hands the rest to the server. */
static int rs_exec_feed(struct rs_exec *x, struct rs_exec_stream *s,
			const char *p, size_t n)
{
	char *joined = s->joined;
	size_t len, keep;

	if (!s->header_done) {
		const char *nl = memchr(p, '\n', n);

		if (!nl)
			return 0;	/* header longer than a chunk: keep skipping */
		s->header_done = 1;
		n -= (size_t)(nl + 1 - p);
		p = nl + 1;
	}
	memcpy(joined, s->hold, s->nhold);
	memcpy(joined + s->nhold, p, n);
	len = s->nhold + n;
	keep = len < 3 ? len : 3;
	memcpy(s->hold, joined + len - keep, keep);
	s->nhold = keep;
	len -= keep;
	if (!len)
		return 0;
	XXH3_128bits_update(s->h, joined, len);
	s->bytes += len;
	/* memchr scans a word at a time: a byte loop cost a tenth of the
	 * client's time on bench/run-restore */
	for (const char *q = joined, *end = joined + len;
	     (q = memchr(q, '\n', (size_t)(end - q))); q++)
		s->rows++;
	if (PQputCopyData(x->c, joined, (int)len) != 1)
		return -ECONNRESET;
	return 0;
}

struct rs_exec_sink {
	struct rs_exec *x;
	struct rs_exec_stream *s;
	const char *label;
};

/* The rs_input sink for data.sql: hands the server pieces of at most
 * RS_EXEC_CHUNK bytes, whatever size the input pushes. */
static int rs_exec_sink(void *ctx, const void *p, size_t n)
{
	struct rs_exec_sink *k = ctx;
	const char *c = p;
	int r = 0;

	while (n && r == 0) {
		size_t take = n < RS_EXEC_CHUNK ? n : RS_EXEC_CHUNK;

		r = rs_exec_interrupted(k->x);
		if (r == 0)
			r = rs_exec_feed(k->x, k->s, c, take);
		if (r == -ECONNRESET) {
			struct buf what = BUF_INIT;

			buf_addf(&what, "table %s: COPY", k->label);
			r = rs_exec_fail(k->x, NULL, (char *)what.data);
			buf_release(&what);
		}
		c += take;
		n -= take;
	}
	return r;
}

/* Streams table t's data.sql into a running COPY ... FROM STDIN and
 * checks what was read against meta.json.  The file is pushed through
 * (rs_input_stream): memory stays bounded whatever the table's size. */
static int rs_exec_stream_rows(struct rs_exec *x, const struct rs_meta_table *t,
			       const char *label)
{
	struct rs_exec_stream s;
	struct rs_exec_sink k = { x, &s, label };
	struct buf path = BUF_INIT;
	int r;

	memset(&s, 0, sizeof(s));
	s.h = XXH3_createState();
	s.joined = malloc(RS_EXEC_CHUNK + 3);
	if (!s.h || !s.joined) {
		free(s.joined);
		XXH3_freeState(s.h);
		PQputCopyEnd(x->c, "out of memory");
		return -ENOMEM;
	}
	XXH3_128bits_reset(s.h);
	r = buf_addf(&path, "%s/data.sql", t->path);
	if (r == 0)
		r = rs_input_stream(x->in, (char *)path.data, rs_exec_sink, &k,
				    x->err);
	if (r == 0) {
		XXH128_hash_t d = XXH3_128bits_digest(s.h);
		XXH128_canonical_t cn;
		char hex[33];

		XXH128_canonicalFromHash(&cn, d);
		hex_encode(hex, cn.digest, sizeof(cn.digest));
		if (s.nhold != 3 || memcmp(s.hold, "\\.\n", 3) || !s.header_done ||
		    s.rows != t->rows || strcmp(hex, t->xxh3)) {
			if (x->err)
				buf_addf(x->err, "table %s: the snapshot's rows (%llu, xxh3 %s) do not match its meta.json (%llu, %s): damaged snapshot",
					 label, (unsigned long long)s.rows, hex,
					 (unsigned long long)t->rows, t->xxh3);
			r = -EBADMSG;
		}
	}
	PQputCopyEnd(x->c, r == 0 ? NULL : "vault: restore aborted");
	free(s.joined);
	XXH3_freeState(s.h);
	buf_release(&path);
	return r;
}

/* COPY target (cols) FROM STDIN from the snapshot; rows loaded in *n. */
int rs_exec_copy_in(struct rs_exec *x, const struct rs_meta_table *t,
		    const char *target, uint64_t *n)
{
	struct buf sql = BUF_INIT, label = BUF_INIT;
	PGresult *res;
	int r, r2;

	r = buf_addf(&sql, "COPY %s", target);
	for (size_t c = 0; c < t->ncols && r == 0; c++) {
		r = buf_addstr(&sql, c ? ", " : " (");
		if (r == 0)
			r = pg_names_quote_ident(&sql, t->cols[c]);
	}
	if (r == 0)
		r = buf_addstr(&sql, t->ncols ? ") FROM STDIN" : " FROM STDIN");
	if (r == 0 && x->copy_freeze)
		r = buf_addstr(&sql, " WITH (FREEZE)");
	if (r == 0)
		r = buf_addf(&label, "%s.%s", t->schema, t->name);
	if (r < 0)
		goto out;
	res = PQexec(x->c, (char *)sql.data);
	if (!res || PQresultStatus(res) != PGRES_COPY_IN) {
		struct buf what = BUF_INIT;

		buf_addf(&what, "table %s: COPY", (char *)label.data);
		r = rs_exec_fail(x, res, (char *)what.data);
		buf_release(&what);
		PQclear(res);
		goto out;
	}
	PQclear(res);
	r = rs_exec_stream_rows(x, t, (char *)label.data);
	/* the COPY's own result, also after an abort */
	r2 = 0;
	while ((res = PQgetResult(x->c))) {
		if (PQresultStatus(res) != PGRES_COMMAND_OK && r == 0) {
			struct buf what = BUF_INIT;

			buf_addf(&what, "table %s: COPY", (char *)label.data);
			r2 = rs_exec_fail(x, res, (char *)what.data);
			buf_release(&what);
		} else if (PQresultStatus(res) == PGRES_COMMAND_OK && n) {
			*n = strtoull(PQcmdTuples(res), NULL, 10);
		}
		PQclear(res);
	}
	if (r == 0)
		r = r2;
	if (r == 0 && PQstatus(x->c) == CONNECTION_BAD)
		r = rs_exec_fail(x, NULL, "COPY");
out:
	buf_release(&sql);
	buf_release(&label);
	return r;
}

static int rs_exec_count(struct rs_exec *x, const char *sql, int64_t *n)
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

/* "(a, b)" of the table's primary key columns, with prefix */
static int rs_exec_pk_list(struct buf *b, const struct rs_meta_table *t,
			   const char *prefix)
{
	int r = buf_addch(b, '(');

	for (size_t c = 0; c < t->npk && r == 0; c++) {
		r = buf_addf(b, "%s%s", c ? ", " : "", prefix);
		if (r == 0)
			r = pg_names_quote_ident(b, t->pk[c]);
	}
	return r ? r : buf_addch(b, ')');
}

static int rs_exec_is_pk(const struct rs_meta_table *t, const char *col)
{
	for (size_t i = 0; i < t->npk; i++)
		if (!strcmp(t->pk[i], col))
			return 1;
	return 0;
}

static int rs_exec_tmp_name(struct buf *b, size_t i)
{
	buf_reset(b);
	return buf_addf(b, "pg_temp.vault_restore_%zu", i);
}

/* merge: COPY into a temporary table, then INSERT ... ON CONFLICT */
static int rs_exec_merge(struct rs_exec *x, size_t i, struct rs_log_table *lt)
{
	const struct rs_meta_table *t = x->p->tables[i].t;
	struct buf sql = BUF_INIT, tmp = BUF_INIT, cols = BUF_INIT, what = BUF_INIT;
	PGresult *res = NULL;
	uint64_t loaded = 0;
	int r, update = x->p->on_conflict == RS_ON_CONFLICT_UPDATE, nonkey = 0;

	r = rs_exec_tmp_name(&tmp, i);
	for (size_t c = 0; c < t->ncols && r == 0; c++) {
		if (c)
			r = buf_addstr(&cols, ", ");
		if (r == 0)
			r = pg_names_quote_ident(&cols, t->cols[c]);
		nonkey += !rs_exec_is_pk(t, t->cols[c]);
	}
	/* the target's own column types, no constraints, no defaults */
	if (r == 0)
		r = buf_addf(&sql, "CREATE TEMPORARY TABLE %s ON COMMIT DROP AS SELECT %s FROM ONLY ",
			     (char *)tmp.data, (char *)cols.data);
	if (r == 0)
		r = rs_exec_qualified(&sql, t->schema, t->name);
	if (r == 0)
		r = buf_addstr(&sql, " WITH NO DATA");
	if (r == 0)
		r = buf_addf(&what, "table %s.%s: temporary table", t->schema, t->name);
	if (r == 0)
		r = rs_exec_cmd(x, (char *)sql.data, (char *)what.data);
	if (r == 0)
		r = rs_exec_copy_in(x, t, (char *)tmp.data, &loaded);
	if (r < 0)
		goto out;
	buf_reset(&sql);
	r = buf_addstr(&sql, "WITH ins AS (INSERT INTO ");
	if (r == 0)
		r = rs_exec_qualified(&sql, t->schema, t->name);
	if (r == 0)
		r = buf_addf(&sql, " AS t (%s) OVERRIDING SYSTEM VALUE SELECT %s FROM %s ON CONFLICT ",
			     (char *)cols.data, (char *)cols.data, (char *)tmp.data);
	if (r == 0)
		r = rs_exec_pk_list(&sql, t, "");
	if (r == 0 && (!update || !nonkey)) {
		r = buf_addstr(&sql, " DO NOTHING");
	} else if (r == 0) {
		int first = 1;

		r = buf_addstr(&sql, " DO UPDATE SET ");
		for (size_t c = 0; c < t->ncols && r == 0; c++) {
			if (rs_exec_is_pk(t, t->cols[c]))
				continue;
			r = buf_addstr(&sql, first ? "" : ", ");
			if (r == 0)
				r = pg_names_quote_ident(&sql, t->cols[c]);
			if (r == 0)
				r = buf_addstr(&sql, " = EXCLUDED.");
			if (r == 0)
				r = pg_names_quote_ident(&sql, t->cols[c]);
			first = 0;
		}
	}
	/* xmax is 0 on a row the INSERT created, set on one it updated */
	if (r == 0)
		r = buf_addstr(&sql, " RETURNING (t.xmax = 0) AS fresh)"
			       " SELECT pg_catalog.count(*) FILTER (WHERE fresh),"
			       " pg_catalog.count(*) FILTER (WHERE NOT fresh) FROM ins");
	buf_reset(&what);
	if (r == 0)
		r = buf_addf(&what, "table %s.%s: merge", t->schema, t->name);
	if (r == 0) {
		res = PQexec(x->c, (char *)sql.data);
		if (!res || PQresultStatus(res) != PGRES_TUPLES_OK) {
			r = rs_exec_fail(x, res, (char *)what.data);
		} else {
			lt->inserted = strtoull(PQgetvalue(res, 0, 0), NULL, 10);
			lt->updated = strtoull(PQgetvalue(res, 0, 1), NULL, 10);
			lt->skipped = loaded - lt->inserted - lt->updated;
		}
	}
out:
	PQclear(res);
	buf_release(&sql);
	buf_release(&tmp);
	buf_release(&cols);
	buf_release(&what);
	return r;
}

static int rs_exec_load(struct rs_exec *x)
{
	struct rs_plan *p = x->p;
	struct buf q = BUF_INIT;
	int r = rs_exec_cmd(x, "SET CONSTRAINTS ALL DEFERRED", "deferring constraints");

	if (r == 0 && p->replica)
		r = rs_exec_cmd(x, "SET session_replication_role = replica",
				"loading a foreign-key cycle");
	for (size_t i = 0; i < p->ntables && r == 0; i++) {
		const struct rs_plan_table *t = &p->tables[i];
		struct rs_log_table *lt = x->lt[i];
		uint64_t n = 0;

		if (t->load == RS_LOAD_NONE || (x->done && x->done[i]))
			continue;
		rs_exec_step(x, "load", t->t);
		if (t->load == RS_LOAD_MERGE) {
			r = rs_exec_merge(x, i, lt);
			continue;
		}
		buf_reset(&q);
		r = rs_exec_qualified(&q, t->t->schema, t->t->name);
		if (r == 0)
			r = rs_exec_copy_in(x, t->t, (char *)q.data, &n);
		lt->inserted = n;
	}
	buf_release(&q);
	return r;
}

/* ---- sequences -------------------------------------------------------------- */

/* Undoes a literal token ('...' or E'...') into out. */
static int rs_exec_literal(const struct rs_sql_tok *t, struct buf *out)
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

static int rs_exec_sequences(struct rs_exec *x)
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

		if (st.meta)
			continue;
		rs_sql_lex_init(&lx, text + st.off, st.len);
		do
			rs_sql_lex_next(&lx, &t);
		while (t.kind != RS_SQL_END && !rs_sql_punct(&t, '('));
		rs_sql_lex_next(&lx, &t);
		buf_reset(&lit);
		if (t.kind != RS_SQL_STRING || rs_exec_literal(&t, &lit) < 0)
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
		if (!rs_select_sequence(x->sel, x->src->meta, x->src->ddl,
					(char *)sch.data, (char *)nm.data))
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

static int rs_exec_refresh(struct rs_exec *x)
{
	struct buf sql = BUF_INIT;
	int r = 0;

	for (size_t i = 0; i < x->p->nobjects && r == 0; i++) {
		const struct rs_plan_object *o = &x->p->objects[i];

		if (strcmp(o->type, "MATERIALIZED VIEW") ||
		    (o->act != RS_ACT_RUN && o->act != RS_ACT_RECREATE))
			continue;
		buf_reset(&sql);
		r = buf_addstr(&sql, "REFRESH MATERIALIZED VIEW ");
		if (r == 0)
			r = rs_exec_qualified(&sql, o->schema, o->name);
		if (r == 0)
			r = rs_exec_cmd(x, (char *)sql.data, (char *)sql.data);
	}
	buf_release(&sql);
	return r;
}

/* ---- verification ---------------------------------------------------------- */

/* rows and XXH3-128 of a COPY ... TO STDOUT on the restore connection */
static int rs_exec_sum(struct rs_exec *x, const char *sql, const char *label,
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
static int rs_exec_fresh(const struct rs_plan_table *t)
{
	return t->load == RS_LOAD_COPY && !t->t->partitioned &&
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
		r = rs_exec_tmp_name(&tmp, i);
		if (r == 0)
			r = rs_exec_pk_list(&where, t->t, "");
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
			r = rs_exec_qualified(&sql, t->t->schema, t->t->name);
		if (r == 0)
			r = buf_addf(&sql, " WHERE %s", (char *)where.data);
		if (r == 0)
			r = rs_exec_count(x, (char *)sql.data, &n);
		if (r == 0) {
			lt->got_rows = (uint64_t)n;
			memcpy(lt->got, t->t->xxh3, 33);
			lt->verified = lt->got_rows == lt->expected_rows;
		}
	} else if (r == 0) {
		struct rs_meta_table heap_order = *t->t;

		/* rs_plan_copy_sql orders by the key, when there is one */
		if (rs_exec_fresh(t))
			heap_order.npk = 0;
		r = rs_plan_copy_sql(&heap_order, NULL, merge ? (char *)where.data : NULL, &sql);
		if (r == 0)
			r = rs_exec_sum(x, (char *)sql.data, (char *)label.data,
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

int rs_exec_verify_one(struct rs_exec *x, size_t i)
{
	const struct rs_plan_table *t = &x->p->tables[i];
	struct buf q = BUF_INIT;
	int r = rs_exec_verify_table(x, i);

	if (r == 0)
		r = buf_addstr(&q, "SELECT pg_catalog.count(*) FROM ONLY ");
	if (r == 0)
		r = rs_exec_qualified(&q, t->t->schema, t->t->name);
	if (r == 0)
		r = rs_exec_count(x, (char *)q.data, &x->lt[i]->after);
	buf_release(&q);
	return r;
}

static int rs_exec_verify(struct rs_exec *x)
{
	/* heap order for rs_exec_fresh tables: a scan from block 0, in
	 * this backend (until the commit: the verification is last) */
	int r = rs_exec_cmd(x, "SET LOCAL synchronize_seqscans = off;"
			    " SET LOCAL max_parallel_workers_per_gather = 0",
			    "verification setup");

	for (size_t i = 0; i < x->p->ntables && r == 0; i++)
		if (x->p->tables[i].load != RS_LOAD_NONE && !(x->done && x->done[i]))
			r = rs_exec_verify_one(x, i);
	return r;
}

/* ---- the run ------------------------------------------------------------------ */

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
		    rs_log_set(&lt->skip_reason, t->skip) < 0)
			return -ENOMEM;
		if (t->skip)
			lt->skipped = t->t->rows;
	}
	/* the log's array has stopped moving: now point into it */
	for (size_t i = 0; i < x->p->ntables; i++)
		x->lt[i] = &x->log->tables[base + i];
	return 0;
}

/* Up to the rows: locks, roles, clean-mode drops, DDL sections [0, to). */
int rs_exec_steps_ddl(struct rs_exec *x, size_t to)
{
	int r;

	rs_exec_step(x, "roles", NULL);
	r = rs_exec_lock(x);
	if (r == 0)
		r = rs_exec_roles(x);
	rs_exec_step(x, "drop", NULL);
	if (r == 0 && x->p->mode == RS_MODE_CLEAN)
		r = rs_exec_pubs_save(x);
	if (r == 0 && x->p->mode == RS_MODE_CLEAN)
		r = rs_exec_drops(x);
	if (r == 0)
		r = rs_exec_drop_created(x);
	rs_exec_step(x, "ddl", NULL);
	if (r == 0)
		r = rs_exec_sections(x, 0, to);
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
		r = rs_exec_sections(x, from, x->p->post_data);
		if (r == 0)
			r = rs_exec_session(x);
	}
	if (r == 0)
		r = rs_exec_load(x);
	/* large objects: created and verified in this transaction too */
	if (r == 0)
		r = rs_lo_restore(x->c, x->in, x->src, x->p, x->log, x->o,
				  x->err);
	rs_exec_step(x, "post-data", NULL);
	/* indexes are built once over the loaded rows: with the default
	 * 64MB a build sorts on disk and gets at most one parallel worker
	 * (each needs 32MB); never lowered, reset at the commit */
	if (r == 0)
		r = rs_exec_cmd(x, "SELECT pg_catalog.set_config('maintenance_work_mem', '256MB', true)"
				" WHERE pg_catalog.pg_size_bytes(pg_catalog.current_setting('maintenance_work_mem'))"
				" < 256 * 1024 * 1024", "raising maintenance_work_mem");
	if (r == 0)
		r = rs_exec_sections(x, x->p->post_data, x->p->nsec);
	if (r == 0)
		r = rs_exec_session(x);
	if (r == 0)
		r = rs_exec_pubs_restore(x);
	if (r == 0 && x->p->mode == RS_MODE_CLEAN)
		r = rs_exec_readd_fks(x);
	if (r == 0)
		r = rs_exec_sequences(x);
	if (r == 0)
		r = rs_exec_cmd(x, "SET CONSTRAINTS ALL IMMEDIATE", "checking deferred constraints");
	if (r == 0 && x->p->replica) {
		r = rs_exec_check_fks(x);
		if (r == 0)
			r = rs_exec_cmd(x, "SET session_replication_role = origin",
					"session_replication_role");
	}
	if (r == 0 && x->p->mode != RS_MODE_MERGE)
		r = rs_exec_refresh(x);
	if (r == 0) {
		r = rs_log_set(&x->log->verification, "failed");
		if (r == 0)
			r = rs_exec_verify(x);
		if (r == 0)
			r = rs_log_set(&x->log->verification, "ok");
	}
	return r;
}

static int rs_exec_commit(struct rs_exec *x)
{
	rs_exec_step(x, "commit", NULL);
	return rs_exec_cmd(x, "COMMIT", "committing the restore");
}

/*
 * An empty-mode restore, just before its (last) commit: the statements
 * that drop everything it created, proven as for the parallel load, go
 * into the log with the created entries, so `vault rollback` can undo
 * it later; when they cannot be proven the log says why.
 */
/*
 * fn(x, ctx, why) inside a savepoint: a failure that leaves the
 * connection usable (a catalog this role may not read...) is rolled back
 * to the savepoint and described in why, with 1 returned; a lost
 * connection, an interrupt or no memory stays an error.
 */
int rs_exec_guarded(struct rs_exec *x, int (*fn)(struct rs_exec *x, void *ctx, struct buf *why),
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

static int rs_exec_undo_begin_fn(struct rs_exec *x, void *ctx, struct buf *why)
{
	return rs_undo_begin(ctx, x->c, x->err);
}

int rs_exec_undo_begin(struct rs_exec *x, struct rs_undo **u, struct buf *why)
{
	return rs_exec_guarded(x, rs_exec_undo_begin_fn, u, why);
}

static int rs_exec_prepare_fn(struct rs_exec *x, void *ctx, struct buf *why)
{
	return rs_undo_prepare(ctx, x->c, why, x->err);
}

static int rs_exec_rollback_note(struct rs_exec *x, struct rs_undo *u)
{
	struct buf why = BUF_INIT;
	int r = rs_exec_guarded(x, rs_exec_prepare_fn, u, &why);

	for (size_t i = 0; r == 0 && i < rs_undo_count(u); i++)
		r = strv_push(&x->log->rb_stmts, &x->log->nrb_stmts, rs_undo_stmt(u, i));
	/* tables that existed, empty (empty mode refuses others), and got
	 * rows (a managed target's auth.users): emptied again, after the
	 * drops took the new tables' keys to them away */
	if (r == 0 && x->log->nrb_stmts) {
		struct buf t = BUF_INIT;
		size_t n;

		r = rs_exec_table_list(x, &t, "TRUNCATE ONLY ", "", rs_exec_pick_filled, &n);
		if (r == 0 && n)
			r = strv_push(&x->log->rb_stmts, &x->log->nrb_stmts, (char *)t.data);
		buf_release(&t);
	}
	for (size_t i = 0; r == 0 && i < rs_undo_created_count(u); i++)
		r = strv_push(&x->log->rb_created, &x->log->nrb_created,
				rs_undo_created_key(u, i));
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
		r = rs_exec_rollback_note(x, u);
	return r ? r : rs_exec_commit(x);
}

int rs_exec_run(PGconn *c, const struct rs_input *in,
		const struct rs_plan_source *src, const struct rs_select *sel,
		const struct rs_exec_opts *o, struct rs_log *log,
		struct rs_plan **plan, struct buf *err)
{
	struct rs_exec x;
	struct rs_plan_opts po;
	struct rs_undo *u = NULL;
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
	if (r < 0)
		goto done;
	r = rs_exec_cmd(&x, o->dry_run ? "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY" :
			"BEGIN", "starting the restore transaction");
	if (r == 0)
		r = rs_exec_session(&x);
	memset(&po, 0, sizeof(po));
	po.mode = o->mode;
	po.on_conflict = o->on_conflict;
	po.jobs = o->jobs;
	po.managed = o->managed;
	if (r == 0)
		r = rs_plan_build(&x.p, c, src, sel, &po, err);
	if (r == 0) {
		log->managed = x.p->managed;
		r = rs_exec_log_skipped(&x);
	}
	if (r == 0)
		r = rs_exec_log_dropped(&x);
	if (r == 0)
		r = rs_exec_log_tables(&x);
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
		if (x.p->parallel)
			r = rs_log_set(&log->strategy, "one transaction over one connection (this caller cannot open more connections)");
		/* empty mode: noted for a later rollback (the one
		 * transaction needs no undo of its own) */
		if (r == 0 && x.p->mode == RS_MODE_EMPTY) {
			r = rs_exec_undo_begin(&x, &u, &why);
			if (r == 1)
				r = rs_log_set(&log->rb_impossible, (char *)why.data);
		}
		if (r == 0)
			r = rs_exec_steps_ddl(&x, x.p->post_data);
		if (r == 0)
			r = rs_exec_finish(&x, u, x.p->post_data);
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
	rs_undo_free(u);
	free(x.lt);
	free(x.done);
	free(x.sec_done);
	PQclear(x.pubs);
	if (log == &x.log_local)
		rs_log_release(&x.log_local);
	buf_release(&why);
	buf_release(&json);
	return r;
}

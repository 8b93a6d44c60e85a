/*
 * rs-extcfg: planning the rows of extensions' configuration tables and
 * the values of their configuration sequences (see rs-extcfg.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pg-conn.h"
#include "pg-names.h"
#include "rs-extcfg.h"
#include "strv.h"

/* What the target and the plan say about one extension. */
struct rs_extcfg_ext {
	int created;		/* this restore runs its CREATE EXTENSION */
	int installed;		/* the target has it */
};

static int rs_extcfg_ext(const struct rs_plan *p, const struct rs_plan_source *src,
			 PGconn *c, const char *name, struct rs_extcfg_ext *e,
			 struct buf *err)
{
	const char *params[1] = { name };
	PGresult *res;
	int r;

	memset(e, 0, sizeof(*e));
	for (size_t i = 0; i < p->nobjects; i++) {
		const struct pg_ddl_section *s = pg_ddl_get(src->ddl, p->objects[i].section);

		if (!strcmp(s->type, "EXTENSION") && !strcmp(p->objects[i].name, name))
			e->created = p->objects[i].act == RS_ACT_RUN && !p->objects[i].exists;
	}
	r = pg_conn_query(c, &res, PGRES_TUPLES_OK,
			  "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_extension WHERE extname = $1)",
			  1, params, "looking for an extension", err);
	if (r == 0)
		e->installed = PQgetvalue(res, 0, 0)[0] == 't';
	PQclear(res);
	return r;
}

/* The target's side of an existing configuration table: may this role
 * write it, and how many rows does the extension's filter select. */
struct rs_extcfg_target {
	int insert, delete;
	int64_t rows;
};

static int rs_extcfg_probe(PGconn *c, const struct rs_meta_table *t,
			   struct rs_extcfg_target *g, struct buf *err)
{
	struct buf q = BUF_INIT, what = BUF_INIT;
	PGresult *res = NULL;
	const char *params[1];
	int r, select;

	memset(g, 0, sizeof(*g));
	r = pg_names_quote_qualified(&q, t->schema, t->name);
	params[0] = (char *)q.data;
	if (r == 0)
		r = buf_addf(&what, "configuration table %s.%s of extension %s",
			     t->schema, t->name, t->extension);
	if (r == 0)
		r = pg_conn_query(c, &res, PGRES_TUPLES_OK,
				  "SELECT pg_catalog.has_table_privilege($1, 'INSERT'),"
				  " pg_catalog.has_table_privilege($1, 'DELETE'),"
				  " pg_catalog.has_table_privilege($1, 'SELECT')",
				  1, params, (char *)what.data, err);
	if (r < 0)
		goto out;
	g->insert = PQgetvalue(res, 0, 0)[0] == 't';
	g->delete = PQgetvalue(res, 0, 1)[0] == 't';
	select = PQgetvalue(res, 0, 2)[0] == 't';
	PQclear(res);
	res = NULL;
	g->rows = -1;
	if (!select)
		goto out;
	buf_reset(&q);
	r = buf_addstr(&q, "SELECT pg_catalog.count(*) FROM ONLY ");
	if (r == 0)
		r = pg_names_quote_qualified(&q, t->schema, t->name);
	if (r == 0 && t->condition)
		r = buf_addf(&q, " %s", t->condition);
	if (r == 0)
		r = pg_conn_query(c, &res, PGRES_TUPLES_OK, (char *)q.data, 0, NULL,
				  (char *)what.data, err);
	if (r == 0)
		g->rows = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
out:
	PQclear(res);
	buf_release(&q);
	buf_release(&what);
	return r;
}

/* One configuration table of the plan: its ddl, load, skip or conflict. */
static int rs_extcfg_table(struct rs_plan *p, PGconn *c,
			   const struct rs_plan_source *src, struct rs_plan_table *t,
			   struct buf *err)
{
	const struct rs_meta_table *m = t->t;
	struct rs_extcfg_ext e;
	struct rs_extcfg_target g = { 0, 0, -1 };
	int r = rs_extcfg_ext(p, src, c, m->extension, &e, err);

	if (r < 0)
		return r;
	t->ddl = e.created ? RS_ACT_RUN : t->exists ? RS_ACT_KEEP : RS_ACT_SKIP;
	t->load = RS_LOAD_NONE;
	t->target_rows = -1;
	if (!(t->sel & RS_SELECT_DATA))
		return 0;
	if (!e.created && !t->exists)
		return strv_pushf(&p->conflicts, &p->nconflicts,
				  "table %s.%s (configuration of extension %s) does not exist in the target, and the restore does not create the extension%s",
				  m->schema, m->name, m->extension,
				  e.installed ? "" : " (not installed, not selected)");
	if (e.created) {
		/* made by CREATE EXTENSION in this restore: its own rows
		 * only, which the filter leaves out */
		t->load = RS_LOAD_COPY;
		return 0;
	}
	r = rs_extcfg_probe(c, m, &g, err);
	if (r < 0)
		return r;
	t->target_rows = g.rows;
	if (!g.insert || g.rows < 0) {
		t->skip = "an extension's configuration table this role may not read and write (the extension's owner keeps it)";
		return 0;
	}
	switch (p->mode) {
	case RS_MODE_EMPTY:
		/* a managed target's platform extension (pg_cron, vault...)
		 * already configured: its configuration is the platform's,
		 * kept, where another target is a conflict like any table
		 * holding rows */
		if (g.rows > 0 && p->managed && t->managed)
			t->skip = "an extension's configuration table that already holds rows of its configuration on this managed target (the platform's, kept)";
		else
			t->load = RS_LOAD_COPY;
		if (g.rows > 0 && !t->skip)
			r = strv_pushf(&p->conflicts, &p->nconflicts,
				       "table %s.%s (configuration of extension %s) already holds %lld rows of its configuration",
				       m->schema, m->name, m->extension, (long long)g.rows);
		break;
	case RS_MODE_CLEAN:
		/* emptied of the filter's rows only (rs_extcfg_delete_sql) */
		if (g.delete)
			t->load = RS_LOAD_TRUNCATE;
		else
			t->skip = "an extension's configuration table this role may not delete from (the extension's owner keeps it)";
		break;
	case RS_MODE_MERGE:
		if (!m->npk)
			t->skip = "no primary key in the snapshot: merge mode cannot tell new rows from existing ones";
		else if (!t->has_pk)
			t->skip = "no primary key in the target: merge mode cannot tell new rows from existing ones";
		else
			t->load = RS_LOAD_MERGE;
		break;
	}
	return r;
}

/* A configuration sequence: set with its extension's configuration. */
static int rs_extcfg_seq(struct rs_plan *p, PGconn *c, const struct rs_plan_source *src,
			 const struct rs_select *sel, size_t k, struct buf *err)
{
	const struct rs_meta_rel *q = &src->meta->ext_sequences[k];
	struct rs_extcfg_ext e;
	struct buf name = BUF_INIT;
	const char *params[1];
	PGresult *res = NULL;
	int r, tables = 0, selected = 0, loads = 0, update = 1;

	for (size_t i = 0; i < p->ntables; i++)
		if (p->tables[i].t->extension &&
		    !strcmp(p->tables[i].t->extension, q->extension)) {
			selected += !!(p->tables[i].sel & RS_SELECT_DATA);
			loads += p->tables[i].load != RS_LOAD_NONE;
		}
	for (size_t i = 0; i < src->meta->ntables; i++)
		if (src->meta->tables[i].extension &&
		    !strcmp(src->meta->tables[i].extension, q->extension))
			tables++;
	r = rs_extcfg_ext(p, src, c, q->extension, &e, err);
	if (r < 0)
		return r;
	if (loads)
		p->ext_seq_set[k] = 1;
	else if (!tables)
		p->ext_seq_set[k] = e.created && sel && (sel->only & RS_ONLY_DATA) &&
				    !sel->nopt_tables;
	/* its tables were selected but are not restored: say so too */
	if (!p->ext_seq_set[k] && selected)
		return strv_pushf(&p->warnings, &p->nwarnings,
				  "sequence %s.%s (configuration of extension %s) is not set: the extension's configuration tables are not restored",
				  q->schema, q->name, q->extension);
	if (!p->ext_seq_set[k] || e.created)
		return 0;
	/* the extension was there: this role must be allowed to move it */
	r = pg_names_quote_qualified(&name, q->schema, q->name);
	params[0] = (char *)name.data;
	if (r == 0)
		r = pg_conn_query(c, &res, PGRES_TUPLES_OK,
				  "SELECT pg_catalog.has_sequence_privilege($1, 'UPDATE')",
				  1, params, "checking a configuration sequence", err);
	if (r == 0)
		update = PQgetvalue(res, 0, 0)[0] == 't';
	if (r == 0 && !update) {
		p->ext_seq_set[k] = 0;
		r = strv_pushf(&p->warnings, &p->nwarnings,
			       "sequence %s.%s (configuration of extension %s) is not set: the role may not update it",
			       q->schema, q->name, q->extension);
	}
	PQclear(res);
	buf_release(&name);
	return r;
}

int rs_extcfg_plan(struct rs_plan *p, PGconn *c, const struct rs_plan_source *src,
		   const struct rs_select *sel, struct buf *err)
{
	const struct rs_meta *m = src->meta;
	int r = 0;

	for (size_t i = 0; i < p->ntables && r == 0; i++)
		if (p->tables[i].t->extension)
			r = rs_extcfg_table(p, c, src, &p->tables[i], err);
	if (r < 0 || !m->next_sequences)
		return r;
	p->ext_seq_set = calloc(m->next_sequences, 1);
	if (!p->ext_seq_set)
		return -ENOMEM;
	for (size_t k = 0; k < m->next_sequences && r == 0; k++)
		r = rs_extcfg_seq(p, c, src, sel, k, err);
	return r;
}

int rs_extcfg_sequence(const struct rs_plan *p, const struct rs_plan_source *src,
		       const char *schema, const char *name)
{
	const struct rs_meta *m = src->meta;

	for (size_t k = 0; k < m->next_sequences; k++)
		if (!strcmp(m->ext_sequences[k].schema, schema) &&
		    !strcmp(m->ext_sequences[k].name, name))
			return p->ext_seq_set && p->ext_seq_set[k];
	return -1;
}

int rs_extcfg_delete_sql(const struct rs_meta_table *t, struct buf *out)
{
	int r = buf_addstr(out, "DELETE FROM ONLY ");

	if (r == 0)
		r = pg_names_quote_qualified(out, t->schema, t->name);
	if (r == 0 && t->condition)
		r = buf_addf(out, " %s", t->condition);
	return r;
}

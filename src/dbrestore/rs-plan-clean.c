/*
 * rs-plan-clean: what clean mode does to each selected table that
 * exists in the target, as vault.1 documents it.
 *
 *  - A table whose definition matches the snapshot's (rs-plan-drift) is
 *    kept: emptied and reloaded in the restore's transaction.  Whatever
 *    hangs on it stays as it is: views, materialized views, grants,
 *    publication memberships, foreign keys of other tables (dropped and
 *    re-added around the reload, their rows checked: rs-plan's
 *    rs_plan_fk).
 *  - A table that drifted is dropped and recreated from the snapshot,
 *    and with it the views and materialized views that depend on it:
 *    from the snapshot's DDL too, even when the selection leaves them
 *    out (a single table); one the snapshot does not hold (made since)
 *    is a conflict naming it, or, when the caller says so, dropped.
 *  - A table that matches but has a check constraint NOT VALID (whose
 *    rows the reload would check) is recreated, the constraint added
 *    after the rows as pg_dump orders it.
 *  - A table that matches but uses a type, domain, sequence, view or
 *    table the restore drops and recreates (DROP would fail on it: a
 *    column of the type, a policy reading the view or table), or inherits
 *    from a table that is recreated (whose DROP takes it along), is
 *    recreated too, and says why.
 *
 * The plan says which of the two happens to each table and why
 * (rs_plan_table.clean); the text, the JSON and the restore log show it.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "pg-names.h"
#include "rs-plan-int.h"
#include "strv.h"

/* The TABLE object of plan table t, or NULL (its DDL is not selected). */
static struct rs_plan_object *rs_plan_clean_object(struct rs_plan *p,
						   const struct rs_plan_table *t)
{
	for (size_t k = 0; k < p->nobjects; k++) {
		struct rs_plan_object *o = &p->objects[k];

		if (!strcmp(o->type, "TABLE") && !strcmp(o->schema, t->t->schema) &&
		    !strcmp(o->name, t->t->name))
			return o;
	}
	return NULL;
}

static int rs_plan_clean_why(struct rs_plan_table *t, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static int rs_plan_clean_why(struct rs_plan_table *t, const char *fmt, ...)
{
	struct buf b = BUF_INIT;
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = buf_vaddf(&b, fmt, ap);
	va_end(ap);
	if (r == 0) {
		free(t->clean);
		t->clean = buf_detach(&b, NULL);
		r = t->clean ? 0 : -ENOMEM;
	}
	buf_release(&b);
	return r;
}

/* The walks over the probes' answers. */
struct rs_plan_clean_walk {
	struct rs_plan *p;
	const struct rs_plan_source *src;
	unsigned char *kept;	/* per plan table: kept (reloaded) so far */
	int changed;
	int drop_views;
};

/* a kept table that uses a type or sequence the restore recreates */
static int rs_plan_clean_uses(void *arg, const struct rs_plan_table *t,
			      const char *schema, const char *name, const char *kind)
{
	struct rs_plan_clean_walk *w = arg;
	size_t i = (size_t)(t - w->p->tables);

	if (!w->kept[i])
		return 0;
	w->kept[i] = 0;
	w->changed = 1;
	rs_plan_clean_object(w->p, t)->act = RS_ACT_RECREATE;
	return rs_plan_clean_why(&w->p->tables[i], "uses %s %s.%s, which the restore recreates",
				 kind ? kind : "type", schema, name);
}

/* a kept table with a check constraint NOT VALID: the reload would
 * check its rows against it, which pg_dump's order (the constraint
 * after the rows) does not; recreated, it is added after them */
static int rs_plan_clean_invalid(void *arg, const struct rs_plan_table *t,
				 const char *name, const char *unused, const char *kind)
{
	struct rs_plan_clean_walk *w = arg;
	size_t i = (size_t)(t - w->p->tables);

	(void)unused;
	(void)kind;
	if (!w->kept[i])
		return 0;
	w->kept[i] = 0;
	rs_plan_clean_object(w->p, t)->act = RS_ACT_RECREATE;
	return rs_plan_clean_why(&w->p->tables[i], "its check constraint %s is NOT VALID, and a reload would check the rows against it", name);
}

/* a kept table whose parent is recreated: DROP TABLE takes it along */
static int rs_plan_clean_parent(void *arg, const struct rs_plan_table *t,
				const char *schema, const char *name, const char *kind)
{
	struct rs_plan_clean_walk *w = arg;
	size_t i = (size_t)(t - w->p->tables);
	struct rs_plan_table *parent = rs_plan_read_table_of(w->p, w->src, schema, name);
	struct rs_plan_object *po = parent ? rs_plan_clean_object(w->p, parent) : NULL;

	(void)kind;
	if (!w->kept[i] || !po || po->act != RS_ACT_RECREATE)
		return 0;
	w->kept[i] = 0;
	w->changed = 1;
	rs_plan_clean_object(w->p, t)->act = RS_ACT_RECREATE;
	return rs_plan_clean_why(&w->p->tables[i], "its parent %s.%s is recreated", schema, name);
}

/* The keys of the types, domains, sequences, views and tables the plan
 * drops and recreates. */
static int rs_plan_clean_recreated_keys(const struct rs_plan *p, struct rs_plan_key **k,
					size_t *n)
{
	int r = 0;

	*n = 0;
	*k = calloc(p->nobjects + 1, sizeof(**k));
	if (!*k)
		return -ENOMEM;
	for (size_t i = 0; i < p->nobjects && r == 0; i++) {
		const struct rs_plan_object *o = &p->objects[i];
		char kind = !strcmp(o->type, "TYPE") || !strcmp(o->type, "DOMAIN") ? 't' :
			    !strcmp(o->type, "SEQUENCE") ? 'r' :
			    !strcmp(o->type, "VIEW") || !strcmp(o->type, "MATERIALIZED VIEW") ? 'v' :
			    !strcmp(o->type, "TABLE") ? 'T' : 0;

		struct rs_plan_key *key;

		/* tables are dropped in one statement, without a drop_sql */
		if (o->act != RS_ACT_RECREATE || !kind || !o->exists ||
		    (kind != 'T' && !o->drop_sql))
			continue;
		key = &(*k)[(*n)++];
		buf_init(&key->schema, 0);
		buf_init(&key->name, 0);
		buf_init(&key->extra, 0);
		r = rs_plan_key_set(key, kind, o->schema, o->name, NULL);
	}
	return r;
}

int rs_plan_clean_tables(PGconn *c, struct rs_plan *p,
			 const struct rs_plan_source *src, struct buf *err)
{
	struct rs_plan_clean_walk w = { p, src, NULL, 0, 0 };
	struct rs_plan_drift *v = calloc(p->ntables + 1, sizeof(*v));
	size_t *at = calloc(p->ntables + 1, sizeof(*at)), n = 0, nk = 0;
	struct rs_plan_key *keys = NULL;
	int r = 0;

	w.kept = calloc(p->ntables + 1, 1);
	if (!v || !at || !w.kept)
		r = -ENOMEM;
	/* the tables clean mode would drop: they exist, their DDL is
	 * selected, the platform does not own them */
	for (size_t i = 0; i < p->ntables && r == 0; i++) {
		const struct rs_plan_object *o = rs_plan_clean_object(p, &p->tables[i]);

		if (!o || o->act != RS_ACT_RECREATE || p->tables[i].t->extension)
			continue;
		v[n].t = p->tables[i].t;
		buf_init(&v[n].why, 0);
		at[n++] = i;
	}
	if (r == 0)
		r = rs_plan_drift_compare(c, p, src->ddl, v, n, err);
	for (size_t k = 0; k < n && r == 0; k++) {
		struct rs_plan_table *t = &p->tables[at[k]];

		if (v[k].matches) {
			w.kept[at[k]] = 1;
			rs_plan_clean_object(p, t)->act = RS_ACT_KEEP;
			r = rs_plan_clean_why(t, "definition matches");
		} else {
			r = rs_plan_clean_why(t, "drifted: %s", (char *)v[k].why.data);
		}
	}
	if (r == 0 && memchr(w.kept, 1, p->ntables))
		r = rs_plan_probe_invalid(c, p, w.kept, rs_plan_clean_invalid, &w, err);
	/* DROP TYPE / SEQUENCE / VIEW / TABLE would fail on a table kept
	 * (a column's type, a default, a policy reading a view or another
	 * table ...), and a recreated parent takes its children along:
	 * each table recreated so may hold up others, until none changes */
	do {
		w.changed = 0;
		for (size_t k = 0; keys && k < nk; k++)
			rs_plan_key_release(&keys[k]);
		free(keys);
		keys = NULL;
		nk = 0;
		if (r == 0 && memchr(w.kept, 1, p->ntables))
			r = rs_plan_clean_recreated_keys(p, &keys, &nk);
		if (r == 0 && nk)
			r = rs_plan_probe_uses(c, p, w.kept, keys, nk, rs_plan_clean_uses, &w, err);
		if (r == 0 && memchr(w.kept, 1, p->ntables))
			r = rs_plan_probe_parents(c, p, w.kept, rs_plan_clean_parent, &w, err);
	} while (r == 0 && w.changed);
	for (size_t k = 0; v && k < n; k++)
		buf_release(&v[k].why);
	for (size_t k = 0; keys && k < nk; k++)
		rs_plan_key_release(&keys[k]);
	free(keys);
	free(v);
	free(at);
	free(w.kept);
	return r;
}

/* ---- views on a table recreated ------------------------------------------------ */

/* The section of the snapshot that creates the view s.n of that kind
 * ("view", "materialized view"), or (size_t)-1. */
static size_t rs_plan_clean_view_section(const struct pg_ddl *d, const char *kind,
					 const char *schema, const char *name)
{
	const char *type = !strcmp(kind, "materialized view") ? "MATERIALIZED VIEW" : "VIEW";

	for (size_t i = 0; i < pg_ddl_count(d); i++) {
		const struct pg_ddl_section *s = pg_ddl_get(d, i);

		if (!strcmp(s->type, type) && !s->rel_schema && !strcmp(s->schema, schema) &&
		    !strcmp(s->name, name))
			return i;
	}
	return (size_t)-1;
}

/* The object for section i of d, inserted in section order, pulled. */
static int rs_plan_clean_pull(struct rs_plan *p, const struct pg_ddl *d, size_t i,
			      const char *schema, const char *name)
{
	const struct pg_ddl_section *s = pg_ddl_get(d, i);
	size_t at = 0;
	struct rs_plan_object *o;

	while (at < p->nobjects && p->objects[at].section < i)
		at++;
	/* p->objects has room for a section each */
	memmove(&p->objects[at + 1], &p->objects[at],
		(p->nobjects - at) * sizeof(*p->objects));
	p->nobjects++;
	o = &p->objects[at];
	memset(o, 0, sizeof(*o));
	o->section = i;
	o->type = s->type;
	o->exists = 1;
	o->act = RS_ACT_RECREATE;
	o->pulled = 1;
	o->schema = strdup(schema);
	o->name = strdup(name);
	if (!o->schema || !o->name)
		return -ENOMEM;
	return rs_plan_read_drop_sql(o, s);
}

/* a view vs.vn that depends on table t, recreated */
static int rs_plan_clean_view(void *arg, const struct rs_plan_table *t,
			      const char *vs, const char *vn, const char *kind)
{
	struct rs_plan_clean_walk *w = arg;
	struct rs_plan *p = w->p;
	struct rs_plan_table *tt = &p->tables[t - p->tables];
	const struct pg_ddl *d = w->src->ddl;
	size_t sec;
	int r = 0, have = 0;

	kind = kind ? kind : "view";
	for (size_t j = 0; j < p->nobjects && r == 0; j++) {
		struct rs_plan_object *o = &p->objects[j];

		if (strcmp(o->schema, vs) || strcmp(o->name, vn) ||
		    (strcmp(o->type, "VIEW") && strcmp(o->type, "MATERIALIZED VIEW")))
			continue;
		/* selected, kept as it matched (rs-plan-same): it goes with
		 * the table all the same */
		if (o->act == RS_ACT_KEEP && o->same) {
			struct buf b = BUF_INIT;

			o->act = RS_ACT_RECREATE;
			r = buf_addf(&b, "depends on table %s.%s, which is recreated",
				     t->t->schema, t->t->name);
			free(o->why);
			o->why = r == 0 ? buf_detach(&b, NULL) : NULL;
			r = r ? r : o->why ? 0 : -ENOMEM;
			buf_release(&b);
		}
		have |= o->act == RS_ACT_RECREATE;
	}
	sec = have ? 0 : rs_plan_clean_view_section(d, kind, vs, vn);
	if (!have && sec != (size_t)-1) {
		r = rs_plan_clean_pull(p, d, sec, vs, vn);
		have = 1;
	}
	if (r == 0 && have)
		return strv_pushf(&tt->recreates, &tt->nrecreates, "%s %s.%s", kind, vs, vn);
	if (r < 0)
		return r;
	if (!w->drop_views)
		return strv_pushf(&p->conflicts, &p->nconflicts,
				  "clean mode would drop %s %s.%s, which depends on %s.%s (%s) and is not in the snapshot: drop it first, or let the restore drop it (--drop-dependent-views)",
				  kind, vs, vn, t->t->schema, t->t->name,
				  t->clean ? t->clean : "recreated");
	{
		struct buf q = BUF_INIT;

		r = buf_addf(&q, "DROP %s IF EXISTS ", !strcmp(kind, "materialized view") ?
			     "MATERIALIZED VIEW" : "VIEW");
		if (r == 0)
			r = pg_names_quote_qualified(&q, vs, vn);
		if (r == 0)
			r = buf_addch(&q, ';');
		if (r == 0)
			r = strv_push(&p->drop_views, &p->ndrop_views, (char *)q.data);
		if (r == 0)
			r = strv_pushf(&p->dropped_views, &p->ndropped_views,
				       "%s %s.%s, which depends on %s.%s", kind, vs, vn,
				       t->t->schema, t->t->name);
		buf_reset(&q);
		if (r == 0)
			r = pg_names_quote_qualified(&q, vs, vn);
		if (r == 0)
			r = strv_push(&p->drop_rels, &p->ndrop_rels, (char *)q.data);
		buf_release(&q);
	}
	return r;
}

/* something else that depends on table t, recreated: DROP would refuse */
static int rs_plan_clean_dependent(void *arg, const struct rs_plan_table *t,
				   const char *what, const char *unused, const char *kind)
{
	struct rs_plan_clean_walk *w = arg;

	(void)unused;
	(void)kind;
	return strv_pushf(&w->p->conflicts, &w->p->nconflicts,
			  "clean mode would have to drop %s, which depends on table %s.%s (%s): it drops and recreates only what the snapshot holds; drop or change it first",
			  what, t->t->schema, t->t->name, t->clean ? t->clean : "recreated");
}

int rs_plan_clean_views(PGconn *c, struct rs_plan *p,
			const struct rs_plan_source *src, int drop_views,
			struct buf *err)
{
	struct rs_plan_clean_walk w = { p, src, NULL, 0, drop_views };
	int r = rs_plan_probe_views(c, p, rs_plan_clean_view, &w, err);

	return r ? r : rs_plan_probe_dependents(c, p, rs_plan_clean_dependent, &w, err);
}

/* ---- partitions recreated under a parent that stays ------------------------------ */

/* 1 when the restore creates table schema.name (or drops and recreates it) */
static int rs_plan_clean_creates(struct rs_plan *p, const struct rs_plan_source *src,
				 const char *schema, const char *name)
{
	const struct rs_plan_table *t = rs_plan_read_table_of(p, src, schema, name);

	return t && (t->ddl == RS_ACT_RUN || t->ddl == RS_ACT_RECREATE);
}

int rs_plan_clean_late(struct rs_plan *p, const struct rs_plan_source *src)
{
	const struct pg_ddl *d = src->ddl;
	struct buf ps = BUF_INIT, pn = BUF_INIT;
	int r = 0;

	for (size_t i = 0; i < p->nsec && r == 0; i++) {
		const struct pg_ddl_section *s = pg_ddl_get(d, i);

		if (strcmp(s->type, "TABLE ATTACH") || p->sec[i] != RS_ACT_RUN || !s->rel_schema ||
		    rs_plan_read_attach_parent(d, s, &ps, &pn) < 0 ||
		    rs_plan_clean_creates(p, src, (char *)ps.data, (char *)pn.data))
			continue;
		if (!p->sec_late && !(p->sec_late = calloc(p->nsec + 1, 1))) {
			r = -ENOMEM;
			break;
		}
		/* the partition's attach, and its indexes' (dump order puts
		 * the first before the others) */
		for (size_t j = 0; j < p->nsec; j++) {
			const struct pg_ddl_section *a = pg_ddl_get(d, j);

			if ((j == i || !strcmp(a->type, "INDEX ATTACH")) && a->rel_schema &&
			    !strcmp(a->rel_schema, s->rel_schema) && !strcmp(a->rel_name, s->rel_name) &&
			    p->sec[j] == RS_ACT_RUN)
				p->sec_late[j] = 1;
		}
	}
	buf_release(&ps);
	buf_release(&pn);
	return r;
}

int rs_plan_clean_views_dropped(const struct rs_plan *p, char ***v, size_t *n)
{
	struct buf q = BUF_INIT;
	int r = 0;

	*v = NULL;
	*n = 0;
	for (size_t i = 0; i < p->nobjects && r == 0; i++) {
		const struct rs_plan_object *o = &p->objects[i];

		if (o->act != RS_ACT_RECREATE || !o->exists ||
		    (strcmp(o->type, "VIEW") && strcmp(o->type, "MATERIALIZED VIEW")))
			continue;
		buf_reset(&q);
		r = pg_names_quote_qualified(&q, o->schema, o->name);
		if (r == 0)
			r = strv_push(v, n, (char *)q.data);
	}
	for (size_t i = 0; i < p->ndrop_rels && r == 0; i++)
		r = strv_push(v, n, p->drop_rels[i]);
	/* NULL-terminated even when empty */
	if (r == 0 && !*v && !(*v = calloc(1, sizeof(**v))))
		r = -ENOMEM;
	buf_release(&q);
	return r;
}

int rs_plan_clean_pulled(const struct rs_plan *p, const struct pg_ddl *d,
			 const struct pg_ddl_section *s)
{
	const struct rs_plan_object *o = rs_plan_read_parent(p, d, s);

	/* an index, rule or trigger of a materialized view or view */
	for (size_t j = 0; !o && s->rel_schema && j < p->nobjects; j++)
		if (!strcmp(p->objects[j].schema, s->rel_schema) &&
		    !strcmp(p->objects[j].name, s->rel_name))
			o = &p->objects[j];
	return o && o->pulled;
}

/*
 * rs-plan: deciding what a restore does, object by object and table by
 * table, and the public entry points (rs_plan_build, rs_plan_free,
 * rs_plan_blocked).  The decisions combine two kinds of facts, each
 * gathered on its own floor below: what the snapshot says
 * (rs-plan-read.c, rs-plan-key.c) and what the target has
 * (rs-plan-probe.c).  Here they become actions per section and
 * statement, loads per table, the load order, conflicts and the
 * strategy; the requirements are rs-plan-req.c's, and what would fail
 * for want of an object (the dry run's predictions) rs-plan-check.c's.
 * The plan in words (names, --dry-run text, JSON) is rs-plan-print.c.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "rs-extcfg.h"
#include "rs-lo.h"
#include "rs-plan-int.h"
#include "rs-sql.h"
#include "strv.h"

static int rs_plan_in(char *const *v, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(v[i], s))
			return 1;
	return 0;
}

/* The plan being built, and what it is built from. */
struct rs_plan_ctx {
	struct rs_plan *p;
	PGconn *c;
	const struct rs_plan_source *src;
	const struct rs_select *sel;
	struct buf *err;
	struct rs_plan_probe_facts f;	/* what the target has */
};

static int rs_plan_is_managed(const struct rs_plan *p, const char *schema)
{
	return p->managed && schema && rs_plan_in(p->managed_schemas,
						  p->nmanaged_schemas, schema);
}

/* Selected tables: existence, ownership, keys, rows. */
static int rs_plan_tables(struct rs_plan_ctx *x)
{
	struct rs_plan *p = x->p;
	const struct rs_meta *m = x->src->meta;

	p->tables = calloc(m->ntables + 1, sizeof(*p->tables));
	if (!p->tables)
		return -ENOMEM;
	for (size_t i = 0; i < m->ntables; i++) {
		struct rs_plan_table *t;

		if (!x->sel->tables[i])
			continue;
		t = &p->tables[p->ntables++];
		t->meta = i;
		t->t = &m->tables[i];
		t->sel = x->sel->tables[i];
		t->target_rows = -1;
		t->managed = rs_plan_is_managed(p, t->t->schema);
	}
	return rs_plan_probe_tables(x->c, p->tables, p->ntables, x->err);
}

static int rs_plan_conflict(struct rs_plan *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static int rs_plan_conflict(struct rs_plan *p, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = strv_vpushf(&p->conflicts, &p->nconflicts, fmt, ap);
	va_end(ap);
	return r;
}

/* The creating sections: objects, their existence, their action. */
static int rs_plan_objects(struct rs_plan_ctx *x)
{
	struct rs_plan *p = x->p;
	const struct pg_ddl *d = x->src->ddl;
	int r;

	p->objects = calloc(p->nsec + 1, sizeof(*p->objects));
	if (!p->objects)
		return -ENOMEM;
	for (size_t i = 0; i < p->nsec; i++) {
		const struct pg_ddl_section *s = pg_ddl_get(d, i);
		struct rs_plan_object *o;

		if (!rs_select_section(x->sel, x->src->meta, d, i) || !rs_plan_key_kind(s))
			continue;
		o = &p->objects[p->nobjects++];
		o->section = i;
		o->type = s->type;
		o->schema = strdup(!strcmp(s->type, "TABLE") ? s->rel_schema : s->schema);
		o->name = strdup(!strcmp(s->type, "TABLE") ? s->rel_name : s->name);
		if (!o->schema || !o->name)
			return -ENOMEM;
	}
	r = rs_plan_probe_exists(x->c, d, p->objects, p->nobjects, x->err);
	for (size_t i = 0; i < p->nobjects && r == 0; i++) {
		struct rs_plan_object *o = &p->objects[i];
		const struct pg_ddl_section *s = pg_ddl_get(d, o->section);
		const char *sch = !strcmp(s->type, "SCHEMA") ? s->name : o->schema;
		int ifne = !strcmp(s->type, "EXTENSION");	/* IF NOT EXISTS */

		if (rs_plan_is_managed(p, sch)) {
			o->act = RS_ACT_MANAGED;
			continue;
		}
		/* pg_dump's ALTER SCHEMA public OWNER TO without a CREATE:
		 * it applies to what is there, and is no conflict (rs-par
		 * runs it in its last transaction); merge keeps what is */
		if (!o->exists || (!strcmp(s->type, "SCHEMA") && p->mode != RS_MODE_MERGE &&
				   !rs_plan_check_creates(p, d, o->section))) {
			o->act = RS_ACT_RUN;
			continue;
		}
		/* the kinds found by name alone (operators, casts, text
		 * search ...) are tried in clean and merge mode, as they
		 * were before the probe knew them: an object clean mode
		 * drops may take them along (a cast on a recreated type) */
		if (p->mode != RS_MODE_EMPTY && !strchr("rtfnepv", rs_plan_key_kind(s))) {
			o->act = RS_ACT_TRY;
			continue;
		}
		switch (p->mode) {
		case RS_MODE_EMPTY:
			if (ifne) {
				o->act = RS_ACT_KEEP;
				break;
			}
			o->act = RS_ACT_RUN;
			/* a cast's or transform's name says what it is */
			r = !strncmp(o->name, s->type, strlen(s->type)) ?
			    rs_plan_conflict(p, "%s already exists", o->name) :
			    rs_plan_conflict(p, "%s %s%s%s already exists", s->type,
					     o->schema, *o->schema ? "." : "", o->name);
			break;
		case RS_MODE_MERGE:
			o->act = RS_ACT_KEEP;
			break;
		case RS_MODE_CLEAN:
			if (!strcmp(s->type, "TABLE")) {
				o->act = RS_ACT_RECREATE;
			} else if (!strcmp(s->type, "FUNCTION") ||
				   !strcmp(s->type, "PROCEDURE")) {
				o->act = RS_ACT_REPLACE;
			} else {
				r = rs_plan_read_drop_sql(o, s);
				o->act = o->drop_sql ? RS_ACT_RECREATE : RS_ACT_KEEP;
			}
			break;
		}
	}
	return r;
}

/* What clean mode runs of a table it keeps: not part of its definition,
 * and safe to run on what exists. */
static const char *const rs_plan_applied[] = {
	"COMMENT", "ACL", "SECURITY LABEL", NULL,
};

/* Every section's action, from its object (or its table). */
static int rs_plan_sections(struct rs_plan_ctx *x)
{
	struct rs_plan *p = x->p;
	const struct pg_ddl *d = x->src->ddl;
	struct buf ts = BUF_INIT, tn = BUF_INIT, key = BUF_INIT;
	size_t k = 0;
	int r = 0;

	p->post_data = p->nsec;
	for (size_t i = 0; i < p->nsec && r == 0; i++) {
		const struct pg_ddl_section *s = pg_ddl_get(d, i);
		const struct rs_plan_object *o;
		struct rs_plan_table *t;

		if (p->post_data == p->nsec && rs_plan_read_post_data(s))
			p->post_data = i;
		/* the selected objects, and the views clean mode pulls in */
		if (k < p->nobjects && p->objects[k].section == i) {
			p->sec[i] = p->objects[k++].act;
			continue;
		}
		if (!rs_select_section(x->sel, x->src->meta, d, i)) {
			p->sec[i] = p->mode == RS_MODE_CLEAN && rs_plan_clean_pulled(p, d, s) ?
				    RS_ACT_RUN : RS_ACT_SKIP;
			continue;
		}
		if (!strcmp(s->type, "PUBLICATION TABLE")) {
			int exists = 0;

			r = rs_plan_read_pubtable(d, s, &key, &ts, &tn);
			if (r == 0)
				exists = rs_plan_in(x->f.pubrels, x->f.npubrels, (char *)key.data);
			t = r == 0 ? rs_plan_read_table_of(p, x->src, (char *)ts.data,
						      (char *)tn.data) : NULL;
			r = 0;
			/* a recreated table left the publication */
			p->sec[i] = (t && (t->ddl == RS_ACT_RECREATE || t->ddl == RS_ACT_RUN)) ||
				    !exists ? RS_ACT_RUN : RS_ACT_KEEP;
			continue;
		}
		if (s->rel_schema && (t = rs_plan_read_table_of(p, x->src, s->rel_schema,
							   s->rel_name))) {
			p->sec[i] = t->ddl == RS_ACT_RECREATE ? RS_ACT_RUN : t->ddl;
			/* a table clean mode keeps gets the snapshot's grants,
			 * comments and labels (they only add or set) */
			if (p->mode == RS_MODE_CLEAN && t->ddl == RS_ACT_KEEP &&
			    rs_plan_read_type_in(s->type, rs_plan_applied))
				p->sec[i] = RS_ACT_RUN;
			continue;
		}
		o = s->rel_schema ? NULL : rs_plan_read_parent(p, d, s);
		if (s->rel_schema) {
			/* an index on a materialized view: follow the view */
			for (size_t j = 0; j < p->nobjects; j++)
				if (!strcmp(p->objects[j].schema, s->rel_schema) &&
				    !strcmp(p->objects[j].name, s->rel_name))
					o = &p->objects[j];
		}
		if (o) {
			p->sec[i] = o->act == RS_ACT_RECREATE || o->act == RS_ACT_REPLACE ?
				    RS_ACT_RUN : o->act;
			/* an object clean mode keeps as it matches gets the
			 * snapshot's grants, comments and labels, as a table */
			if (o->act == RS_ACT_KEEP && o->same &&
			    rs_plan_read_type_in(s->type, rs_plan_applied))
				p->sec[i] = RS_ACT_RUN;
			continue;
		}
		if (rs_plan_is_managed(p, *s->schema ? s->schema : NULL)) {
			p->sec[i] = RS_ACT_MANAGED;
			continue;
		}
		/* comments, grants, default privileges: idempotent; anything
		 * else we cannot probe is tried where it may exist */
		if (!strcmp(s->type, "COMMENT") || !strcmp(s->type, "ACL") ||
		    !strcmp(s->type, "DEFAULT ACL") || !strcmp(s->type, "SECURITY LABEL"))
			p->sec[i] = RS_ACT_RUN;
		else
			p->sec[i] = p->mode == RS_MODE_EMPTY ? RS_ACT_RUN : RS_ACT_TRY;
	}
	buf_release(&ts);
	buf_release(&tn);
	buf_release(&key);
	return r;
}

/* Each plan table's TABLE section's action (the last object that names
 * it; none: RS_ACT_SKIP) into act, in one pass over the objects. */
static int rs_plan_table_acts(const struct rs_plan_ctx *x, enum rs_plan_act *act)
{
	const struct rs_plan *p = x->p;
	const struct rs_meta *m = x->src->meta;
	/* per meta table: its plan table + 1, or 0 */
	size_t *of = calloc(m->ntables + 1, sizeof(*of));

	if (!of)
		return -ENOMEM;
	for (size_t i = 0; i < p->ntables; i++) {
		act[i] = RS_ACT_SKIP;
		if (p->tables[i].t >= m->tables && p->tables[i].t < m->tables + m->ntables)
			of[p->tables[i].t - m->tables] = i + 1;
	}
	for (size_t k = 0; k < p->nobjects; k++) {
		const struct pg_ddl_section *s = pg_ddl_get(x->src->ddl, p->objects[k].section);
		const struct rs_meta_table *t;

		if (strcmp(s->type, "TABLE"))
			continue;
		t = rs_meta_find(m, p->objects[k].schema, p->objects[k].name);
		if (t && of[t - m->tables])
			act[of[t - m->tables] - 1] = p->objects[k].act;
	}
	free(of);
	return 0;
}

/* How each table's rows are restored, and what stops it. */
static int rs_plan_loads(struct rs_plan_ctx *x)
{
	struct rs_plan *p = x->p;
	enum rs_plan_act *act = calloc(p->ntables + 1, sizeof(*act));
	int r = act ? rs_plan_table_acts(x, act) : -ENOMEM;

	for (size_t i = 0; i < p->ntables && r == 0; i++) {
		struct rs_plan_table *t = &p->tables[i];
		const char *sch = t->t->schema, *nm = t->t->name;
		int data = (t->sel & RS_SELECT_DATA) != 0;

		/* an extension's configuration table: rs_extcfg_plan */
		if (t->t->extension)
			continue;

		/* the TABLE section's action, found among the objects */
		t->ddl = act[i];
		if (t->managed)
			t->ddl = RS_ACT_MANAGED;
		if (!t->exists && t->ddl != RS_ACT_RUN) {
			r = rs_plan_conflict(p, "table %s.%s does not exist in the target and %s",
					     sch, nm, t->managed ?
					     "the platform manages its schema (vault cannot create it)" :
					     "its DDL is not selected");
			continue;
		}
		if (!data) {
			if (p->mode == RS_MODE_CLEAN && t->ddl == RS_ACT_RECREATE &&
			    t->target_rows > 0)
				r = rs_plan_conflict(p, "clean mode would empty table %s.%s (%lld rows) without restoring its rows: select its data too, or use merge",
						     sch, nm, (long long)t->target_rows);
			continue;
		}
		/* its rows are loaded into it and read back */
		if (t->exists && !t->readable && t->ddl != RS_ACT_RUN &&
		    t->ddl != RS_ACT_RECREATE) {
			r = rs_plan_conflict(p, "table %s.%s exists in the target, and the role %s may not read it (SELECT): grant it, or restore as its owner",
					     sch, nm, p->role);
			continue;
		}
		switch (p->mode) {
		case RS_MODE_EMPTY:
			t->load = RS_LOAD_COPY;
			if (t->exists && t->ddl != RS_ACT_RUN && t->target_rows > 0)
				r = rs_plan_conflict(p, "table %s.%s already holds %lld rows",
						     sch, nm, (long long)t->target_rows);
			break;
		case RS_MODE_CLEAN:
			t->load = t->exists && t->ddl != RS_ACT_RECREATE ?
				  RS_LOAD_TRUNCATE : RS_LOAD_COPY;
			break;
		case RS_MODE_MERGE:
			if (!t->exists) {
				t->load = RS_LOAD_COPY;
			} else if (!t->t->npk) {
				t->skip = "no primary key in the snapshot: merge mode cannot tell new rows from existing ones";
			} else if (!t->has_pk) {
				t->skip = "no primary key in the target: merge mode cannot tell new rows from existing ones";
			} else {
				t->load = RS_LOAD_MERGE;
			}
			break;
		}
	}
	free(act);
	return r;
}

/* a partition cs.cn of parent the selection leaves out */
static int rs_plan_partition(void *arg, const struct rs_plan_table *parent,
			     const char *cs, const char *cn, const char *kind)
{
	const struct rs_plan_ctx *x = arg;
	const struct rs_plan_table *child = rs_plan_read_table_of(x->p, x->src, cs, cn);

	(void)kind;
	if (child && child->ddl == RS_ACT_RECREATE)
		return 0;
	return rs_plan_conflict(x->p, "clean mode would drop %s.%s, a partition of %s.%s that is not selected",
				cs, cn, parent->t->schema, parent->t->name);
}

/* rs_plan_fk's context: the plan being built, and the order of the
 * keys that stay live while rows load */
struct rs_plan_fk_walk {
	struct rs_plan_ctx *x;
	struct rs_order *live;
};

/*
 * A foreign key of the target: an edge of the load order among the
 * tables whose rows load, and in clean mode a key of an unselected
 * table that points at a table being emptied or recreated.
 */
static int rs_plan_fk(void *arg, const struct rs_plan_probe_fk *k)
{
	struct rs_plan_fk_walk *w = arg;
	struct rs_plan *p = w->x->p;
	const char *cs = k->schema, *ct = k->table;
	const char *ps = k->ref_schema, *pt = k->ref_table;
	struct rs_plan_table *child = rs_plan_read_table_of(p, w->x->src, cs, ct);
	struct rs_plan_table *parent = rs_plan_read_table_of(p, w->x->src, ps, pt);
	int child_gone, parent_gone;
	struct rs_plan_fk *fk;
	char **rc = NULL;
	size_t nrc = 0;
	int r;

	r = rs_order_edge(&p->order, cs, ct, ps, pt, k->name, k->deferrable);
	/* live during the load: both tables keep their DDL */
	if (r == 0 && child && parent && child->ddl != RS_ACT_RECREATE &&
	    child->ddl != RS_ACT_RUN && parent->ddl != RS_ACT_RECREATE &&
	    parent->ddl != RS_ACT_RUN)
		r = rs_order_edge(w->live, cs, ct, ps, pt, k->name, k->deferrable);
	if (r < 0 || p->mode != RS_MODE_CLEAN || !parent || !k->declared)
		return r;
	/* a partitioned table kept has no rows of its own, but its
	 * partitions are emptied: a key on it holds keys on each of them,
	 * and TRUNCATE ONLY cannot name a partitioned table */
	parent_gone = parent->ddl == RS_ACT_RECREATE || parent->load == RS_LOAD_TRUNCATE ||
		      (parent->t->partitioned && parent->ddl == RS_ACT_KEEP);
	/* the key goes with a child recreated; a child emptied with its
	 * parent (one TRUNCATE) keeps it; a child kept while its parent is
	 * recreated, like a table outside the selection, must let go of
	 * it while the parent is dropped */
	child_gone = child && (child->ddl == RS_ACT_RECREATE ||
			       (child->load == RS_LOAD_TRUNCATE &&
				parent->load == RS_LOAD_TRUNCATE));
	if (!parent_gone || child_gone)
		return 0;
	fk = realloc(p->fks, (p->nfks + 1) * sizeof(*fk));
	if (!fk)
		return -ENOMEM;
	p->fks = fk;
	fk = &p->fks[p->nfks++];
	memset(fk, 0, sizeof(*fk));
	fk->schema = strdup(cs);
	fk->table = strdup(ct);
	fk->name = strdup(k->name);
	fk->def = strdup(k->def);
	fk->ref_schema = strdup(ps);
	fk->ref_table = strdup(pt);
	fk->selected = child != NULL;
	if (k->comment && !(fk->comment = strdup(k->comment)))
		return -ENOMEM;
	if (!fk->schema || !fk->table || !fk->name || !fk->def ||
	    !fk->ref_schema || !fk->ref_table)
		return -ENOMEM;
	r = rs_plan_json_names(k->cols, &fk->cols, &fk->ncols);
	if (r == 0)
		r = rs_plan_json_names(k->ref_cols, &rc, &nrc);
	fk->ref_cols = rc;
	if (r == 0 && nrc != fk->ncols)
		r = -EPROTO;
	return r;
}

/* Load order: tables with rows, referenced ones first. */
static int rs_plan_order(struct rs_plan_ctx *x)
{
	struct rs_plan *p = x->p;
	struct rs_order live;
	struct rs_plan_fk_walk w = { x, &live };
	struct rs_plan_table *sorted;
	size_t k = 0;
	int r = 0;

	rs_order_init(&live);
	for (size_t i = 0; i < p->ntables && r == 0; i++) {
		const struct rs_plan_table *t = &p->tables[i];

		if (t->load == RS_LOAD_NONE)
			continue;
		if (rs_order_node(&p->order, t->t->schema, t->t->name) < 0 ||
		    rs_order_node(&live, t->t->schema, t->t->name) < 0)
			r = -ENOMEM;
	}
	if (r == 0)
		r = rs_order_add_ddl(&p->order, x->src->ddl);
	if (r == 0)
		r = rs_plan_probe_fks(x->c, rs_plan_fk, &w, x->err);
	if (r == 0)
		r = rs_order_solve(&p->order);
	if (r == 0)
		r = rs_order_solve(&live);
	/* cycles whose keys are checked while rows load */
	for (size_t c = 0; r == 0 && c < live.ncycles; c++) {
		struct buf d = BUF_INIT;

		if (live.cycles[c].deferrable)
			continue;
		r = rs_order_describe_cycle(&live, c, &d);
		if (r == 0 && p->set_replica)
			p->replica = 1;
		else if (r == 0)
			r = rs_plan_conflict(p, "foreign-key cycle %s has keys that are not deferrable, and the role %s may not set session_replication_role",
					     (char *)d.data, p->role);
		buf_release(&d);
	}
	rs_order_release(&live);
	if (r < 0)
		return r;
	sorted = calloc(p->ntables + 1, sizeof(*sorted));
	if (!sorted)
		return -ENOMEM;
	for (size_t i = 0; i < p->order.nnodes; i++) {
		const struct rs_order_node *n = &p->order.nodes[p->order.order[i]];

		sorted[k++] = *rs_plan_read_table_of(p, x->src, n->schema, n->name);
	}
	for (size_t i = 0; i < p->ntables; i++)
		if (p->tables[i].load == RS_LOAD_NONE)
			sorted[k++] = p->tables[i];
	free(p->tables);
	p->tables = sorted;
	return 0;
}

/* roles.sql: which statements run */
static int rs_plan_roles(struct rs_plan_ctx *x)
{
	struct rs_plan *p = x->p;
	const struct pg_ddl *d = x->src->roles;
	const char *text = pg_ddl_text(d);
	struct buf key = BUF_INIT;
	size_t n = rs_sanitized_count(p->san_roles);

	p->role_stmt = calloc(n + 1, sizeof(*p->role_stmt));
	if (!p->role_stmt)
		return -ENOMEM;
	p->nrole_stmt = n;
	for (size_t i = 0; i < n; i++) {
		const struct rs_sanitized_stmt *st = rs_sanitized_get(p->san_roles, i);
		const struct pg_ddl_section *s = st->section < pg_ddl_count(d) ?
						 pg_ddl_get(d, st->section) : NULL;
		enum rs_plan_read_about about;
		struct rs_sql_tok dbtok;

		if (!x->sel->roles || !s) {
			p->role_stmt[i] = RS_ACT_SKIP;
			continue;
		}
		p->role_stmt[i] = RS_ACT_RUN;
		/* roles and memberships that exist are kept as they are */
		if (!strcmp(s->type, "ROLE")) {
			if (rs_plan_in(x->f.roles, x->f.nroles, s->name))
				p->role_stmt[i] = RS_ACT_KEEP;
			continue;
		}
		about = rs_plan_read_role_stmt(text, st, s, &key);
		if ((about == RS_PLAN_READ_ROLE &&
		     rs_plan_in(x->f.roles, x->f.nroles, (char *)key.data)) ||
		    (about == RS_PLAN_READ_MEMBER &&
		     rs_plan_in(x->f.members, x->f.nmembers, (char *)key.data)))
			p->role_stmt[i] = RS_ACT_KEEP;
		/* a setting of a role in the restored database belongs to
		 * the database, not to the role the cluster already has */
		if (about == RS_PLAN_READ_ROLE && p->mode != RS_MODE_MERGE &&
		    rs_sql_role_database(text + st->off, st->len, &dbtok))
			p->role_stmt[i] = RS_ACT_RUN;
	}
	buf_release(&key);
	return 0;
}

int rs_plan_table_parallel(const struct rs_plan_table *t)
{
	/* not an extension's configuration table: its extension's rows
	 * are in it, and the workers start with a TRUNCATE */
	return t->load == RS_LOAD_COPY && !t->exists && !t->t->partitioned &&
	       !t->t->extension;
}

/* The parallel strategy: --jobs, an empty-mode restore and at least two
 * new tables to fill.  Only new objects are made before the first
 * commit, so dropping them again is a complete undo. */
static void rs_plan_strategy(struct rs_plan *p)
{
	size_t n = 0;

	for (size_t i = 0; i < p->ntables; i++)
		n += rs_plan_table_parallel(&p->tables[i]);
	if (p->jobs < 2 || p->mode != RS_MODE_EMPTY || n < 2)
		return;
	p->parallel = 1;
	p->strategy = "parallel: the DDL commits first; the new tables' rows load over several connections, each table verified before it commits; indexes, constraints, sequences and the remaining rows commit in a last transaction. If anything fails after the first commit, vault drops everything the restore created (that undo is rehearsed, and must give the catalogs back exactly, before the first commit; otherwise the restore runs in one transaction)";
}

static int rs_plan_warn(struct rs_plan *p)
{
	int r = 0;

	if (p->jobs > 1 && !p->parallel)
		r = strv_pushf(&p->warnings, &p->nwarnings,
				  "--jobs %d: the rows load over one connection, in one transaction: %s",
				  p->jobs, p->mode != RS_MODE_EMPTY ?
				  "a clean or merge restore changes objects that exist, and only the one transaction can put them back exactly" :
				  "fewer than two new tables have rows to load");
	for (size_t i = 0; i < p->ntables && r == 0; i++)
		if (p->tables[i].skip)
			r = strv_pushf(&p->warnings, &p->nwarnings, "table %s.%s skipped: %s",
					  p->tables[i].t->schema, p->tables[i].t->name,
					  p->tables[i].skip);
	return r;
}

int rs_plan_build(struct rs_plan **out, PGconn *c,
		  const struct rs_plan_source *src, const struct rs_select *sel,
		  const struct rs_plan_opts *o, struct buf *err)
{
	struct rs_plan *p = calloc(1, sizeof(*p));
	struct rs_plan_ctx x;
	struct rs_sanitize_opts so;
	int r;

	*out = NULL;
	if (!p)
		return -ENOMEM;
	memset(&x, 0, sizeof(x));
	x.p = p;
	x.c = c;
	x.src = src;
	x.sel = sel;
	x.err = err;
	p->mode = o->mode;
	p->on_conflict = o->on_conflict;
	p->jobs = o->jobs;
	p->verify = o->verify;
	p->strategy = "one transaction over one connection: DDL, rows (COPY), indexes after the rows, sequences and verification commit together or not at all";
	rs_order_init(&p->order);
	p->nsec = pg_ddl_count(src->ddl);
	p->sec = calloc(p->nsec + 1, sizeof(*p->sec));
	if (!p->sec) {
		rs_plan_free(p);
		return -ENOMEM;
	}
	r = rs_plan_probe_target(c, p, &x.f, err);
	if (r == 0)
		r = rs_plan_probe_managed(c, p, o->managed, err);
	if (r == 0) {
		memset(&so, 0, sizeof(so));
		so.managed = p->managed;
		so.no_superuser = !p->superuser;
		so.current_role = p->role;
		so.managed_schemas = (const char *const *)p->managed_schemas;
		r = rs_sanitize(&p->san, src->ddl, &so);
		if (r == 0)
			r = rs_sanitize(&p->san_roles, src->roles, &so);
	}
	if (r == 0)
		r = rs_plan_tables(&x);
	if (r == 0)
		r = rs_plan_objects(&x);
	/* clean: any other object whose definition matches is kept, unless
	 * dropping one that changed would take it along */
	if (r == 0 && p->mode == RS_MODE_CLEAN)
		r = rs_plan_same_objects(c, p, src, o->ci, err);
	if (r == 0 && p->mode == RS_MODE_CLEAN)
		r = rs_plan_same_replace(c, p, src, err);
	if (r == 0 && p->mode == RS_MODE_CLEAN)
		r = rs_plan_same_cascade(c, p, src, 0, err);
	/* clean: a table whose definition matches is kept (reloaded) */
	if (r == 0 && p->mode == RS_MODE_CLEAN)
		r = rs_plan_clean_tables(c, p, src, err);
	if (r == 0)
		r = rs_plan_loads(&x);
	if (r == 0)
		r = rs_extcfg_plan(p, c, src, sel, err);
	/* clean: partitions the selection leaves out would be dropped with
	 * a recreated table; views and materialized views on it are
	 * recreated with it */
	if (r == 0 && p->mode == RS_MODE_CLEAN)
		r = rs_plan_probe_partitions(c, p, rs_plan_partition, &x, err);
	if (r == 0 && p->mode == RS_MODE_CLEAN)
		r = rs_plan_clean_views(c, p, src, o->drop_views, err);
	/* clean: what dropping the objects recreated takes along is
	 * recreated too, or named in a conflict */
	if (r == 0 && p->mode == RS_MODE_CLEAN)
		r = rs_plan_same_cascade(c, p, src, 1, err);
	if (r == 0)
		r = rs_plan_sections(&x);
	if (r == 0 && p->mode == RS_MODE_CLEAN)
		r = rs_plan_clean_late(p, src);
	if (r == 0)
		r = rs_plan_order(&x);
	if (r == 0)
		r = rs_plan_roles(&x);
	if (r == 0)
		r = rs_plan_req_build(c, p, src, sel, &x.f, err);
	if (r == 0)
		r = rs_lo_plan(p, c, src, sel, err);
	/* what would fail for want of an object nothing provides */
	if (r == 0)
		r = rs_plan_check(c, p, src, x.f.roles, x.f.nroles, err);
	if (r == 0) {
		rs_plan_strategy(p);
		r = rs_plan_warn(p);
	}
	rs_plan_probe_facts_release(&x.f);
	if (r < 0) {
		rs_plan_free(p);
		return r;
	}
	*out = p;
	return 0;
}

void rs_plan_free(struct rs_plan *p)
{
	if (!p)
		return;
	free(p->role);
	free(p->database);
	free(p->managed_why);
	strv_free(p->managed_schemas, p->nmanaged_schemas);
	free(p->sec);
	free(p->sec_late);
	for (size_t i = 0; i < p->nobjects; i++) {
		free(p->objects[i].schema);
		free(p->objects[i].name);
		free(p->objects[i].drop_sql);
		free(p->objects[i].why);
	}
	free(p->objects);
	rs_sanitized_free(p->san);
	rs_sanitized_free(p->san_roles);
	free(p->role_stmt);
	for (size_t i = 0; p->tables && i < p->ntables; i++) {
		free(p->tables[i].clean);
		strv_free(p->tables[i].recreates, p->tables[i].nrecreates);
	}
	free(p->tables);
	strv_free(p->drop_views, p->ndrop_views);
	strv_free(p->dropped_views, p->ndropped_views);
	strv_free(p->drop_rels, p->ndrop_rels);
	rs_order_release(&p->order);
	for (size_t i = 0; i < p->nfks; i++) {
		struct rs_plan_fk *f = &p->fks[i];

		free(f->schema);
		free(f->table);
		free(f->name);
		free(f->def);
		free(f->ref_schema);
		free(f->ref_table);
		free(f->comment);
		/* both NULL-terminated; their counts may differ after an
		 * error */
		for (size_t k = 0; f->cols && f->cols[k]; k++)
			free(f->cols[k]);
		for (size_t k = 0; f->ref_cols && f->ref_cols[k]; k++)
			free(f->ref_cols[k]);
		free(f->cols);
		free(f->ref_cols);
	}
	free(p->fks);
	strv_free(p->conflicts, p->nconflicts);
	for (size_t i = 0; i < p->nreqs; i++) {
		free(p->reqs[i].name);
		free(p->reqs[i].note);
	}
	free(p->reqs);
	strv_free(p->warnings, p->nwarnings);
	free(p->lo_exists);
	free(p->ext_seq_set);
	free(p);
}

int rs_plan_blocked(const struct rs_plan *p, struct buf *why)
{
	int blocked = 0;

	for (size_t i = 0; i < p->nconflicts; i++) {
		if (why)
			buf_addf(why, "%s\n", p->conflicts[i]);
		blocked = 1;
	}
	for (size_t i = 0; i < p->nreqs; i++) {
		if (!p->reqs[i].blocking)
			continue;
		if (why)
			buf_addf(why, "%s %s: %s\n", p->reqs[i].kind, p->reqs[i].name,
				 p->reqs[i].note);
		blocked = 1;
	}
	return blocked;
}

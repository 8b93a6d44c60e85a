/*
 * rs-plan: inspecting the target and deciding, object by object and
 * table by table, what a restore does.  What the snapshot says comes
 * from rs-plan-read.c; printing the decision is rs-plan-print.c.
 *
 * Every catalog question is asked in bulk (one query over an array of
 * names per question), so planning a restore of thousands of objects
 * costs a handful of round trips.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pg-catalog.h"
#include "pg-conn.h"
#include "pg-names.h"
#include "rs-lo.h"
#include "rs-plan-int.h"
#include "json.h"
#include "strv.h"

const char *rs_plan_mode_name(enum rs_plan_mode m)
{
	switch (m) {
	case RS_MODE_EMPTY:
		return "empty";
	case RS_MODE_CLEAN:
		return "clean";
	case RS_MODE_MERGE:
		return "merge";
	}
	return "?";
}

int rs_plan_mode_parse(const char *s, enum rs_plan_mode *m)
{
	if (!strcmp(s, "empty"))
		*m = RS_MODE_EMPTY;
	else if (!strcmp(s, "clean"))
		*m = RS_MODE_CLEAN;
	else if (!strcmp(s, "merge"))
		*m = RS_MODE_MERGE;
	else
		return -EINVAL;
	return 0;
}

const char *rs_plan_act_name(enum rs_plan_act a)
{
	static const char *const names[] = {
		"skip", "create", "keep", "recreate", "replace", "try", "managed",
	};

	return (unsigned)a < sizeof(names) / sizeof(names[0]) ? names[a] : "?";
}

/* ---- small helpers ------------------------------------------------------- */

/* An element of a text[] literal: always double-quoted, \ and " escaped. */
static int rs_plan_array_add(struct buf *arr, const char *s)
{
	int r = buf_addstr(arr, arr->len > 1 ? ",\"" : "\"");

	for (; *s && r == 0; s++) {
		if (*s == '"' || *s == '\\')
			r = buf_addch(arr, '\\');
		if (r == 0)
			r = buf_addch(arr, *s);
	}
	return r ? r : buf_addch(arr, '"');
}

static int rs_plan_qualified(struct buf *out, const char *schema,
			     const char *name)
{
	buf_reset(out);
	return *schema ? pg_names_quote_qualified(out, schema, name) :
			 pg_names_quote_ident(out, name);
}

static int rs_plan_in(char *const *v, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(v[i], s))
			return 1;
	return 0;
}

/* sections that create an object of their own, with the probe kind used
 * to ask the target whether it exists */
static char rs_plan_probe_kind(const struct pg_ddl_section *s)
{
	static const char *const rel[] = {
		"VIEW", "MATERIALIZED VIEW", "SEQUENCE", "FOREIGN TABLE", NULL,
	};
	static const char *const fn[] = {
		"FUNCTION", "PROCEDURE", "AGGREGATE", NULL,
	};

	if (!strcmp(s->type, "TABLE"))
		return 'r';
	if (rs_plan_read_type_in(s->type, rel) && !s->rel_schema)
		return 'r';
	if (!strcmp(s->type, "TYPE") || !strcmp(s->type, "DOMAIN"))
		return 't';
	if (rs_plan_read_type_in(s->type, fn))
		return 'f';
	if (!strcmp(s->type, "SCHEMA"))
		return 'n';
	if (!strcmp(s->type, "EXTENSION"))
		return 'e';
	if (!strcmp(s->type, "PUBLICATION"))
		return 'p';
	if (!strcmp(s->type, "EVENT TRIGGER"))
		return 'v';
	return 0;
}

/* The text the probe query gets for an object. */
static int rs_plan_probe_text(char kind, const struct pg_ddl_section *s,
			      struct buf *out)
{
	buf_reset(out);
	switch (kind) {
	case 'r':
		if (!strcmp(s->type, "TABLE"))
			return pg_names_quote_qualified(out, s->rel_schema, s->rel_name);
		/* fall through */
	case 't':
		return pg_names_quote_qualified(out, s->schema, s->name);
	case 'f': {
		/* "name(argtypes)": the types are already SQL text */
		const char *paren = strchr(s->name, '(');
		struct buf fname = BUF_INIT;
		int r;

		if (!paren)
			return pg_names_quote_qualified(out, s->schema, s->name);
		r = buf_add(&fname, s->name, (size_t)(paren - s->name));
		if (r == 0)
			r = pg_names_quote_qualified(out, s->schema, (char *)fname.data);
		if (r == 0)
			r = buf_addstr(out, paren);
		buf_release(&fname);
		return r;
	}
	default:
		return buf_addstr(out, s->name);
	}
}

/* ---- the plan -------------------------------------------------------------- */

struct rs_plan_ctx {
	struct rs_plan *p;
	PGconn *c;
	const struct rs_plan_source *src;
	const struct rs_select *sel;
	struct buf *err;
	/* target facts */
	char **roles;			/* existing roles */
	size_t nroles;
	char **members;			/* "role\nmember" */
	size_t nmembers;
	char **pubrels;			/* "pub\nschema\ntable" */
	size_t npubrels;
	char **exts, **avail;
	size_t nexts, navail;
	char **pubs;
	size_t npubs;
};

static int rs_plan_column(struct rs_plan_ctx *x, const char *sql,
			  char ***v, size_t *n, const char *what)
{
	PGresult *res;
	int r = pg_conn_query(x->c, &res, PGRES_TUPLES_OK, sql, 0, NULL, what, x->err);

	for (int i = 0; r == 0 && i < PQntuples(res); i++) {
		struct buf b = BUF_INIT;

		for (int k = 0; k < PQnfields(res) && r == 0; k++)
			r = buf_addf(&b, "%s%s", k ? "\n" : "", PQgetvalue(res, i, k));
		if (r == 0)
			r = strv_take(v, n, buf_detach(&b, NULL));
		buf_release(&b);
	}
	PQclear(res);
	return r;
}

static int rs_plan_target(struct rs_plan_ctx *x)
{
	struct rs_plan *p = x->p;
	PGresult *res;
	int r;

	/* session_replication_role is a superuser setting, which PostgreSQL
	 * 15 lets GRANT SET ON PARAMETER give to others (Supabase's
	 * postgres role has it) */
	r = pg_conn_query(x->c, &res, PGRES_TUPLES_OK,
			  PQserverVersion(x->c) >= 150000 ?
			  "SELECT current_user, r.rolsuper, r.rolbypassrls,"
			  " pg_catalog.current_database(),"
			  " pg_catalog.current_setting('server_version_num')::int,"
			  " r.rolsuper OR pg_catalog.has_parameter_privilege('session_replication_role', 'SET')"
			  " FROM pg_catalog.pg_roles r WHERE r.rolname = current_user" :
			  "SELECT current_user, r.rolsuper, r.rolbypassrls,"
			  " pg_catalog.current_database(),"
			  " pg_catalog.current_setting('server_version_num')::int, r.rolsuper"
			  " FROM pg_catalog.pg_roles r WHERE r.rolname = current_user",
			  0, NULL, "inspecting the target", x->err);
	if (r < 0)
		return r;
	if (PQntuples(res) != 1) {
		PQclear(res);
		if (x->err)
			buf_addstr(x->err, "inspecting the target: the current role is not in pg_roles");
		return -EPROTO;
	}
	p->role = strdup(PQgetvalue(res, 0, 0));
	p->superuser = PQgetvalue(res, 0, 1)[0] == 't';
	p->bypassrls = PQgetvalue(res, 0, 2)[0] == 't';
	p->set_replica = PQgetvalue(res, 0, 5)[0] == 't';
	p->database = strdup(PQgetvalue(res, 0, 3));
	p->server_num = (int)strtol(PQgetvalue(res, 0, 4), NULL, 10);
	PQclear(res);
	if (!p->role || !p->database)
		return -ENOMEM;
	r = rs_plan_column(x, "SELECT rolname FROM pg_catalog.pg_roles", &x->roles,
			   &x->nroles, "listing roles");
	if (r == 0)
		r = rs_plan_column(x, "SELECT r.rolname, m.rolname FROM pg_catalog.pg_auth_members a"
				   " JOIN pg_catalog.pg_roles r ON r.oid = a.roleid"
				   " JOIN pg_catalog.pg_roles m ON m.oid = a.member",
				   &x->members, &x->nmembers, "listing memberships");
	if (r == 0)
		r = rs_plan_column(x, "SELECT p.pubname, n.nspname, c.relname"
				   " FROM pg_catalog.pg_publication_rel pr"
				   " JOIN pg_catalog.pg_publication p ON p.oid = pr.prpubid"
				   " JOIN pg_catalog.pg_class c ON c.oid = pr.prrelid"
				   " JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace",
				   &x->pubrels, &x->npubrels, "listing publications");
	if (r == 0)
		r = rs_plan_column(x, "SELECT extname FROM pg_catalog.pg_extension",
				   &x->exts, &x->nexts, "listing extensions");
	if (r == 0)
		r = rs_plan_column(x, "SELECT name FROM pg_catalog.pg_available_extensions",
				   &x->avail, &x->navail, "listing extensions");
	if (r == 0)
		r = rs_plan_column(x, "SELECT pubname FROM pg_catalog.pg_publication",
				   &x->pubs, &x->npubs, "listing publications");
	return r;
}

/* Managed target detection and its schemas. */
static int rs_plan_managed(struct rs_plan_ctx *x, int force)
{
	struct rs_plan *p = x->p;
	PGresult *res;
	int r, platform = 0;

	r = pg_conn_query(x->c, &res, PGRES_TUPLES_OK,
			  "SELECT n.nspname, pg_catalog.pg_get_userbyid(n.nspowner),"
			  " pg_catalog.pg_has_role(n.nspowner, 'MEMBER')"
			  " FROM pg_catalog.pg_namespace n"
			  " WHERE n.nspname !~ '^pg_' AND n.nspname <> 'information_schema'"
			  " ORDER BY 1",
			  0, NULL, "listing the target's schemas", x->err);
	if (r < 0)
		return r;
	for (int i = 0; i < PQntuples(res); i++) {
		const char *name = PQgetvalue(res, i, 0);
		int member = PQgetvalue(res, i, 2)[0] == 't';

		if (!member && (!strcmp(name, "auth") || !strcmp(name, "storage")))
			platform = 1;
	}
	p->managed = force >= 0 ? force : (!p->superuser && platform);
	if (p->managed && !p->managed_why) {
		struct buf b = BUF_INIT;

		r = buf_addf(&b, "the role %s is not a superuser and auth/storage belong to another role",
			     p->role);
		p->managed_why = buf_detach(&b, NULL);
		buf_release(&b);
		if (r == 0 && !p->managed_why)
			r = -ENOMEM;
	}
	for (int i = 0; r == 0 && p->managed && i < PQntuples(res); i++) {
		const char *name = PQgetvalue(res, i, 0);
		const char *owner = PQgetvalue(res, i, 1);
		int member = PQgetvalue(res, i, 2)[0] == 't';

		if (member && force < 1)
			continue;
		if (!strcmp(name, "auth") || !strcmp(name, "storage") ||
		    (!member && pg_catalog_reserved_role(owner)))
			r = strv_take(&p->managed_schemas, &p->nmanaged_schemas,
					     strdup(name));
	}
	PQclear(res);
	return r;
}

static int rs_plan_is_managed(const struct rs_plan *p, const char *schema)
{
	return p->managed && schema && rs_plan_in(p->managed_schemas,
						  p->nmanaged_schemas, schema);
}

/* Asks the target whether each object exists (one query). */
static int rs_plan_probe(struct rs_plan_ctx *x)
{
	static const char sql[] =
		"SELECT CASE x.k"
		" WHEN 'r' THEN pg_catalog.to_regclass(x.v) IS NOT NULL"
		" WHEN 't' THEN pg_catalog.to_regtype(x.v) IS NOT NULL"
		" WHEN 'f' THEN pg_catalog.to_regprocedure(x.v) IS NOT NULL"
		" WHEN 'n' THEN EXISTS (SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = x.v)"
		" WHEN 'e' THEN EXISTS (SELECT 1 FROM pg_catalog.pg_extension WHERE extname = x.v)"
		" WHEN 'p' THEN EXISTS (SELECT 1 FROM pg_catalog.pg_publication WHERE pubname = x.v)"
		" WHEN 'v' THEN EXISTS (SELECT 1 FROM pg_catalog.pg_event_trigger WHERE evtname = x.v)"
		" END"
		" FROM ROWS FROM (pg_catalog.unnest($1::text[]), pg_catalog.unnest($2::text[]))"
		" WITH ORDINALITY AS x(k, v, i)"
		" ORDER BY x.i";
	struct rs_plan *p = x->p;
	struct buf kinds = BUF_INIT, vals = BUF_INIT, one = BUF_INIT;
	const char *params[2];
	PGresult *res = NULL;
	int r = 0;

	if (!p->nobjects)
		return 0;
	r = buf_addch(&kinds, '{');
	if (r == 0)
		r = buf_addch(&vals, '{');
	for (size_t i = 0; i < p->nobjects && r == 0; i++) {
		const struct pg_ddl_section *s = pg_ddl_get(x->src->ddl, p->objects[i].section);
		char kind = rs_plan_probe_kind(s);
		char k[2] = { kind, 0 };

		r = rs_plan_probe_text(kind, s, &one);
		if (r == 0)
			r = rs_plan_array_add(&kinds, k);
		if (r == 0)
			r = rs_plan_array_add(&vals, (char *)one.data);
	}
	if (r == 0)
		r = buf_addch(&kinds, '}');
	if (r == 0)
		r = buf_addch(&vals, '}');
	params[0] = (char *)kinds.data;
	params[1] = (char *)vals.data;
	if (r == 0)
		r = pg_conn_query(x->c, &res, PGRES_TUPLES_OK, sql, 2, params,
				  "looking for existing objects", x->err);
	for (size_t i = 0; r == 0 && i < p->nobjects; i++)
		p->objects[i].exists = (int)i < PQntuples(res) &&
				       PQgetvalue(res, (int)i, 0)[0] == 't';
	PQclear(res);
	buf_release(&kinds);
	buf_release(&vals);
	buf_release(&one);
	return r;
}

static struct rs_plan_table *rs_plan_table_of(struct rs_plan *p,
					      const struct rs_plan_source *src,
					      const char *schema, const char *name)
{
	for (size_t i = 0; i < p->ntables; i++)
		if (!strcmp(src->meta->tables[p->tables[i].meta].schema, schema) &&
		    !strcmp(src->meta->tables[p->tables[i].meta].name, name))
			return &p->tables[i];
	return NULL;
}

/* Selected tables: existence, ownership, keys, rows. */
static int rs_plan_tables(struct rs_plan_ctx *x)
{
	static const char sql[] =
		"SELECT c.oid IS NOT NULL, COALESCE(pg_catalog.pg_has_role(c.relowner, 'MEMBER'), false),"
		" EXISTS (SELECT 1 FROM pg_catalog.pg_index i WHERE i.indrelid = c.oid AND i.indisprimary)"
		" FROM pg_catalog.unnest($1::text[]) WITH ORDINALITY AS x(v, i)"
		" LEFT JOIN pg_catalog.pg_class c ON c.oid = pg_catalog.to_regclass(x.v)"
		" ORDER BY x.i";
	struct rs_plan *p = x->p;
	const struct rs_meta *m = x->src->meta;
	struct buf arr = BUF_INIT, q = BUF_INIT;
	const char *params[1];
	PGresult *res = NULL;
	int r = 0;

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
	r = buf_addch(&arr, '{');
	for (size_t i = 0; i < p->ntables && r == 0; i++) {
		r = rs_plan_qualified(&q, p->tables[i].t->schema, p->tables[i].t->name);
		if (r == 0)
			r = rs_plan_array_add(&arr, (char *)q.data);
	}
	if (r == 0)
		r = buf_addch(&arr, '}');
	params[0] = (char *)arr.data;
	if (r == 0)
		r = pg_conn_query(x->c, &res, PGRES_TUPLES_OK, sql, 1, params,
				  "looking for the selected tables", x->err);
	for (size_t i = 0; r == 0 && i < p->ntables; i++) {
		struct rs_plan_table *t = &p->tables[i];

		t->exists = PQgetvalue(res, (int)i, 0)[0] == 't';
		t->owned = PQgetvalue(res, (int)i, 1)[0] == 't';
		t->has_pk = PQgetvalue(res, (int)i, 2)[0] == 't';
	}
	PQclear(res);
	/* exact counts: the plan promises them */
	for (size_t i = 0; r == 0 && i < p->ntables; i++) {
		struct rs_plan_table *t = &p->tables[i];
		struct buf cq = BUF_INIT, what = BUF_INIT;

		if (!t->exists || t->t->partitioned)
			continue;
		r = buf_addstr(&cq, "SELECT pg_catalog.count(*) FROM ONLY ");
		if (r == 0)
			r = pg_names_quote_qualified(&cq, t->t->schema, t->t->name);
		if (r == 0)
			r = buf_addf(&what, "counting rows of %s.%s", t->t->schema, t->t->name);
		if (r == 0)
			r = pg_conn_query(x->c, &res, PGRES_TUPLES_OK, (char *)cq.data, 0,
					  NULL, (char *)what.data, x->err);
		if (r == 0) {
			t->target_rows = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
			PQclear(res);
		}
		buf_release(&cq);
		buf_release(&what);
	}
	buf_release(&arr);
	buf_release(&q);
	return r;
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

		if (!rs_select_section(x->sel, x->src->meta, d, i) || !rs_plan_probe_kind(s))
			continue;
		o = &p->objects[p->nobjects++];
		o->section = i;
		o->type = s->type;
		o->schema = strdup(!strcmp(s->type, "TABLE") ? s->rel_schema : s->schema);
		o->name = strdup(!strcmp(s->type, "TABLE") ? s->rel_name : s->name);
		if (!o->schema || !o->name)
			return -ENOMEM;
	}
	r = rs_plan_probe(x);
	for (size_t i = 0; i < p->nobjects && r == 0; i++) {
		struct rs_plan_object *o = &p->objects[i];
		const struct pg_ddl_section *s = pg_ddl_get(d, o->section);
		const char *sch = !strcmp(s->type, "SCHEMA") ? s->name : o->schema;
		int ifne = !strcmp(s->type, "EXTENSION");	/* IF NOT EXISTS */

		if (rs_plan_is_managed(p, sch)) {
			o->act = RS_ACT_MANAGED;
			continue;
		}
		if (!o->exists) {
			o->act = RS_ACT_RUN;
			continue;
		}
		switch (p->mode) {
		case RS_MODE_EMPTY:
			if (ifne) {
				o->act = RS_ACT_KEEP;
				break;
			}
			o->act = RS_ACT_RUN;
			r = rs_plan_conflict(p, "%s %s%s%s already exists", s->type,
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
		if (!rs_select_section(x->sel, x->src->meta, d, i)) {
			p->sec[i] = RS_ACT_SKIP;
			continue;
		}
		if (k < p->nobjects && p->objects[k].section == i) {
			p->sec[i] = p->objects[k++].act;
			continue;
		}
		if (!strcmp(s->type, "PUBLICATION TABLE")) {
			int exists = 0;

			r = rs_plan_read_pubtable(d, s, &key, &ts, &tn);
			if (r == 0)
				exists = rs_plan_in(x->pubrels, x->npubrels, (char *)key.data);
			t = r == 0 ? rs_plan_table_of(p, x->src, (char *)ts.data,
						      (char *)tn.data) : NULL;
			r = 0;
			/* a recreated table left the publication */
			p->sec[i] = (t && (t->ddl == RS_ACT_RECREATE || t->ddl == RS_ACT_RUN)) ||
				    !exists ? RS_ACT_RUN : RS_ACT_KEEP;
			continue;
		}
		if (s->rel_schema && (t = rs_plan_table_of(p, x->src, s->rel_schema,
							   s->rel_name))) {
			p->sec[i] = t->ddl == RS_ACT_RECREATE ? RS_ACT_RUN : t->ddl;
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

/* How each table's rows are restored, and what stops it. */
static int rs_plan_loads(struct rs_plan_ctx *x)
{
	struct rs_plan *p = x->p;
	int r = 0;

	for (size_t i = 0; i < p->ntables && r == 0; i++) {
		struct rs_plan_table *t = &p->tables[i];
		const char *sch = t->t->schema, *nm = t->t->name;
		int data = (t->sel & RS_SELECT_DATA) != 0;

		/* the TABLE section's action, found among the objects */
		t->ddl = RS_ACT_SKIP;
		for (size_t k = 0; k < p->nobjects; k++) {
			const struct pg_ddl_section *s = pg_ddl_get(x->src->ddl, p->objects[k].section);

			if (!strcmp(s->type, "TABLE") && !strcmp(p->objects[k].schema, sch) &&
			    !strcmp(p->objects[k].name, nm))
				t->ddl = p->objects[k].act;
		}
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
	return r;
}

/*
 * Builds a text[] literal of the qualified names of the tables clean mode
 * recreates, in plan order; idx[k] maps the array's (k+1)th element back
 * to p->tables.  q is scratch space.
 */
static int rs_plan_recreated_array(const struct rs_plan *p, struct buf *arr,
				   struct buf *q, size_t *idx, size_t *n)
{
	int r = buf_addch(arr, '{');

	for (size_t i = 0; i < p->ntables && r == 0; i++) {
		if (p->tables[i].ddl != RS_ACT_RECREATE)
			continue;
		idx[(*n)++] = i;
		r = rs_plan_qualified(q, p->tables[i].t->schema, p->tables[i].t->name);
		if (r == 0)
			r = rs_plan_array_add(arr, (char *)q->data);
	}
	return r == 0 ? buf_addch(arr, '}') : r;
}

/*
 * Runs sql with $1 = the recreated tables (text[]), each row led by the
 * table's 1-based position in it, and hands every row to row().
 */
static int rs_plan_recreated_query(struct rs_plan_ctx *x, const char *sql,
				   const char *what,
				   int (*row)(struct rs_plan_ctx *x, const PGresult *res,
					      int i, const struct rs_plan_table *t))
{
	struct rs_plan *p = x->p;
	struct buf arr = BUF_INIT, q = BUF_INIT;
	size_t *idx = calloc(p->ntables + 1, sizeof(*idx)), n = 0;
	const char *params[1];
	PGresult *res = NULL;
	int r;

	if (!idx)
		return -ENOMEM;
	r = rs_plan_recreated_array(p, &arr, &q, idx, &n);
	params[0] = (char *)arr.data;
	if (r == 0 && n)
		r = pg_conn_query(x->c, &res, PGRES_TUPLES_OK, sql, 1, params, what, x->err);
	for (int i = 0; r == 0 && n && i < PQntuples(res); i++) {
		size_t k = (size_t)strtoul(PQgetvalue(res, i, 0), NULL, 10) - 1;

		r = k < n ? row(x, res, i, &p->tables[idx[k]]) : -EPROTO;
	}
	PQclear(res);
	free(idx);
	buf_release(&arr);
	buf_release(&q);
	return r;
}

/* a view on table t (row: view schema, name, kind) that is not recreated */
static int rs_plan_dependent_row(struct rs_plan_ctx *x, const PGresult *res, int i,
				 const struct rs_plan_table *t)
{
	const struct rs_plan *p = x->p;
	const char *vs = PQgetvalue(res, i, 1), *vn = PQgetvalue(res, i, 2);

	for (size_t j = 0; j < p->nobjects; j++)
		if (p->objects[j].act == RS_ACT_RECREATE &&
		    !strcmp(p->objects[j].schema, vs) && !strcmp(p->objects[j].name, vn))
			return 0;
	return rs_plan_conflict(x->p, "clean mode would drop %s %s.%s, which depends on %s.%s and is not selected (select its schema too, or use merge mode)",
				PQgetvalue(res, i, 3), vs, vn, t->t->schema, t->t->name);
}

/* clean: views and materialized views on a recreated table that are
 * not recreated themselves would be dropped with it */
static int rs_plan_dependents(struct rs_plan_ctx *x)
{
	static const char sql[] =
		"SELECT DISTINCT x.i, vn.nspname, v.relname,"
		" CASE v.relkind WHEN 'm' THEN 'materialized view' ELSE 'view' END"
		" FROM pg_catalog.unnest($1::text[]) WITH ORDINALITY AS x(v, i)"
		" JOIN pg_catalog.pg_depend d ON d.refobjid = pg_catalog.to_regclass(x.v)"
		"  AND d.classid = 'pg_catalog.pg_rewrite'::pg_catalog.regclass"
		" JOIN pg_catalog.pg_rewrite rw ON rw.oid = d.objid"
		" JOIN pg_catalog.pg_class v ON v.oid = rw.ev_class AND v.oid <> d.refobjid"
		" JOIN pg_catalog.pg_namespace vn ON vn.oid = v.relnamespace ORDER BY 1, 2, 3";

	return rs_plan_recreated_query(x, sql, "listing views on the selected tables",
				       rs_plan_dependent_row);
}

/* a partition of parent (row: its schema, name) the selection leaves out */
static int rs_plan_partition_row(struct rs_plan_ctx *x, const PGresult *res, int i,
				 const struct rs_plan_table *parent)
{
	const char *cs = PQgetvalue(res, i, 1), *cn = PQgetvalue(res, i, 2);
	const struct rs_plan_table *child = rs_plan_table_of(x->p, x->src, cs, cn);

	if (child && child->ddl == RS_ACT_RECREATE)
		return 0;
	return rs_plan_conflict(x->p, "clean mode would drop %s.%s, a partition of %s.%s that is not selected",
				cs, cn, parent->t->schema, parent->t->name);
}

/* clean: partitions of a recreated table that the selection leaves out */
static int rs_plan_partitions(struct rs_plan_ctx *x)
{
	static const char sql[] =
		"SELECT x.i, n.nspname, c.relname"
		" FROM pg_catalog.unnest($1::text[]) WITH ORDINALITY AS x(v, i)"
		" JOIN pg_catalog.pg_inherits h ON h.inhparent = pg_catalog.to_regclass(x.v)"
		" JOIN pg_catalog.pg_class c ON c.oid = h.inhrelid"
		" JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace ORDER BY 1, 2, 3";

	return rs_plan_recreated_query(x, sql, "listing partitions", rs_plan_partition_row);
}

int rs_plan_json_names(const char *json, char ***v, size_t *n)
{
	struct json *j = NULL;
	int r = json_parse(&j, json, strlen(json), NULL);

	*v = NULL;
	*n = 0;
	if (r == 0 && json_type(j) != JSON_ARRAY)
		r = -EBADMSG;
	for (size_t i = 0; r == 0 && i < json_len(j); i++) {
		const char *s = json_str(json_at(j, i), NULL);

		r = s ? strv_take(v, n, strdup(s)) : -EBADMSG;
	}
	json_free(j);
	return r;
}

/*
 * Foreign keys of the target: the edges of the load order among the
 * tables whose rows load, and in clean mode the keys of unselected
 * tables that point at a table being emptied or recreated.
 */
static int rs_plan_fks(struct rs_plan_ctx *x, struct rs_order *live)
{
	static const char sql[] =
		"SELECT c.conname, cn.nspname, cl.relname, pn.nspname, pl.relname,"
		" c.condeferrable, pg_catalog.pg_get_constraintdef(c.oid),"
		" pg_catalog.array_to_json(ARRAY(SELECT a.attname FROM pg_catalog.unnest(c.conkey)"
		"  WITH ORDINALITY k(n, o) JOIN pg_catalog.pg_attribute a"
		"  ON a.attrelid = c.conrelid AND a.attnum = k.n ORDER BY k.o)),"
		" pg_catalog.array_to_json(ARRAY(SELECT a.attname FROM pg_catalog.unnest(c.confkey)"
		"  WITH ORDINALITY k(n, o) JOIN pg_catalog.pg_attribute a"
		"  ON a.attrelid = c.confrelid AND a.attnum = k.n ORDER BY k.o)),"
		" c.conparentid = 0"
		" FROM pg_catalog.pg_constraint c"
		" JOIN pg_catalog.pg_class cl ON cl.oid = c.conrelid"
		" JOIN pg_catalog.pg_namespace cn ON cn.oid = cl.relnamespace"
		" JOIN pg_catalog.pg_class pl ON pl.oid = c.confrelid"
		" JOIN pg_catalog.pg_namespace pn ON pn.oid = pl.relnamespace"
		" WHERE c.contype = 'f' ORDER BY 2, 3, 1";
	struct rs_plan *p = x->p;
	PGresult *res;
	int r;

	r = pg_conn_query(x->c, &res, PGRES_TUPLES_OK, sql, 0, NULL,
			  "listing foreign keys", x->err);
	for (int i = 0; r == 0 && i < PQntuples(res); i++) {
		const char *name = PQgetvalue(res, i, 0);
		const char *cs = PQgetvalue(res, i, 1), *ct = PQgetvalue(res, i, 2);
		const char *ps = PQgetvalue(res, i, 3), *pt = PQgetvalue(res, i, 4);
		int def = PQgetvalue(res, i, 5)[0] == 't';
		struct rs_plan_table *child = rs_plan_table_of(p, x->src, cs, ct);
		struct rs_plan_table *parent = rs_plan_table_of(p, x->src, ps, pt);
		int child_gone, parent_gone;
		struct rs_plan_fk *fk;
		char **rc = NULL;
		size_t nrc = 0;

		r = rs_order_edge(&p->order, cs, ct, ps, pt, name, def);
		/* live during the load: both tables keep their DDL */
		if (r == 0 && child && parent && child->ddl != RS_ACT_RECREATE &&
		    child->ddl != RS_ACT_RUN && parent->ddl != RS_ACT_RECREATE &&
		    parent->ddl != RS_ACT_RUN)
			r = rs_order_edge(live, cs, ct, ps, pt, name, def);
		if (r < 0 || p->mode != RS_MODE_CLEAN || !parent ||
		    PQgetvalue(res, i, 9)[0] != 't')
			continue;
		parent_gone = parent->ddl == RS_ACT_RECREATE || parent->load == RS_LOAD_TRUNCATE;
		child_gone = child && (child->ddl == RS_ACT_RECREATE ||
				       child->load == RS_LOAD_TRUNCATE);
		if (!parent_gone || child_gone)
			continue;
		fk = realloc(p->fks, (p->nfks + 1) * sizeof(*fk));
		if (!fk) {
			r = -ENOMEM;
			break;
		}
		p->fks = fk;
		fk = &p->fks[p->nfks++];
		memset(fk, 0, sizeof(*fk));
		fk->schema = strdup(cs);
		fk->table = strdup(ct);
		fk->name = strdup(name);
		fk->def = strdup(PQgetvalue(res, i, 6));
		fk->ref_schema = strdup(ps);
		fk->ref_table = strdup(pt);
		if (!fk->schema || !fk->table || !fk->name || !fk->def ||
		    !fk->ref_schema || !fk->ref_table) {
			r = -ENOMEM;
			break;
		}
		r = rs_plan_json_names(PQgetvalue(res, i, 7), &fk->cols, &fk->ncols);
		if (r == 0)
			r = rs_plan_json_names(PQgetvalue(res, i, 8), &rc, &nrc);
		fk->ref_cols = rc;
		if (r == 0 && nrc != fk->ncols)
			r = -EPROTO;
	}
	PQclear(res);
	return r;
}

/* Load order: tables with rows, referenced ones first. */
static int rs_plan_order(struct rs_plan_ctx *x)
{
	struct rs_plan *p = x->p;
	struct rs_order live;
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
		r = rs_plan_fks(x, &live);
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

		sorted[k++] = *rs_plan_table_of(p, x->src, n->schema, n->name);
	}
	for (size_t i = 0; i < p->ntables; i++)
		if (p->tables[i].load == RS_LOAD_NONE)
			sorted[k++] = p->tables[i];
	free(p->tables);
	p->tables = sorted;
	return 0;
}

static int rs_plan_req(struct rs_plan *p, const char *kind, const char *name,
		       int blocking, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
static int rs_plan_req(struct rs_plan *p, const char *kind, const char *name,
		       int blocking, const char *fmt, ...)
{
	struct rs_plan_req *v = realloc(p->reqs, (p->nreqs + 1) * sizeof(*v));
	struct buf b = BUF_INIT;
	va_list ap;
	int r;

	if (!v)
		return -ENOMEM;
	p->reqs = v;
	v = &v[p->nreqs];
	va_start(ap, fmt);
	r = buf_vaddf(&b, fmt, ap);
	va_end(ap);
	v->kind = kind;
	v->name = strdup(name);
	v->note = buf_detach(&b, NULL);
	v->blocking = blocking;
	buf_release(&b);
	if (r < 0 || !v->name || !v->note) {
		free(v->name);
		free(v->note);
		return -ENOMEM;
	}
	p->nreqs++;
	return 0;
}

/* A selected section of that type and name that will run. */
static int rs_plan_creates(const struct rs_plan *p, const struct pg_ddl *d,
			   const char *type, const char *name)
{
	for (size_t i = 0; i < p->nobjects; i++) {
		const struct pg_ddl_section *s = pg_ddl_get(d, p->objects[i].section);

		if (!strcmp(s->type, type) && !strcmp(s->name, name) &&
		    p->objects[i].act != RS_ACT_SKIP && p->objects[i].act != RS_ACT_MANAGED)
			return 1;
	}
	return 0;
}

static int rs_plan_requirements(struct rs_plan_ctx *x)
{
	struct rs_plan *p = x->p;
	const struct rs_meta *m = x->src->meta;
	int ddl = x->sel->nschemas > 0, r = 0;

	for (size_t i = 0; i < p->ntables; i++)
		if (p->tables[i].sel & RS_SELECT_DDL)
			ddl = 1;
	for (size_t i = 0; i < m->nreq_extensions && r == 0; i++) {
		const char *e = m->req_extensions[i];

		if (rs_plan_in(x->exts, x->nexts, e))
			continue;
		if (!rs_plan_in(x->avail, x->navail, e))
			r = rs_plan_req(p, "extension", e, ddl,
					"not installed, and the target's server cannot install it");
		else if (rs_plan_creates(p, x->src->ddl, "EXTENSION", e))
			r = rs_plan_req(p, "extension", e, 0, "not installed: the restore creates it");
		else
			r = rs_plan_req(p, "extension", e, 0,
					"not installed and not in the selection: objects that need it will fail");
	}
	for (size_t i = 0; i < m->nreq_roles && r == 0; i++) {
		const char *ro = m->req_roles[i];

		if (rs_plan_in(x->roles, x->nroles, ro))
			continue;
		r = rs_plan_req(p, "role", ro, 0, x->sel->roles ?
				"missing: the restore creates it (without a password unless one was captured)" :
				"missing and roles are not selected (--only roles): statements that need it will fail");
	}
	for (size_t i = 0; i < m->npublications && r == 0; i++) {
		const char *pub = m->publications[i].name;

		if (rs_plan_in(x->pubs, x->npubs, pub))
			continue;
		r = rs_plan_req(p, "publication", pub, 0,
				rs_plan_creates(p, x->src->ddl, "PUBLICATION", pub) ?
				"missing: the restore creates it" :
				"missing and not in the selection");
	}
	for (size_t i = 0; i < m->nwebhooks && r == 0; i++) {
		const struct rs_meta_webhook *h = &m->webhooks[i];
		const char *dot = strchr(h->function, '.');
		const char *params[2];
		struct buf fs = BUF_INIT, label = BUF_INIT;
		PGresult *res;

		if (!dot)
			continue;
		r = buf_add(&fs, h->function, (size_t)(dot - h->function));
		params[0] = (char *)fs.data;
		params[1] = dot + 1;
		if (r == 0)
			r = pg_conn_query(x->c, &res, PGRES_TUPLES_OK,
					  "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_proc p"
					  " JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace"
					  " WHERE n.nspname = $1 AND p.proname = $2)",
					  2, params, "looking for webhook functions", x->err);
		if (r == 0) {
			if (PQgetvalue(res, 0, 0)[0] != 't') {
				r = buf_addf(&label, "%s on %s.%s", h->trigger, h->schema, h->table);
				if (r == 0)
					r = rs_plan_req(p, "webhook", (char *)label.data, 0,
							"calls %s, which the target lacks (enable database webhooks / pg_net)",
							h->function);
			}
			PQclear(res);
		}
		buf_release(&fs);
		buf_release(&label);
	}
	if (r == 0 && (m->ncron_jobs || m->cron_unknown)) {
		PGresult *res;

		r = pg_conn_query(x->c, &res, PGRES_TUPLES_OK,
				  "SELECT pg_catalog.to_regclass('cron.job') IS NOT NULL",
				  0, NULL, "looking for pg_cron", x->err);
		if (r == 0) {
			int has = PQgetvalue(res, 0, 0)[0] == 't';

			PQclear(res);
			if (m->cron_unknown)
				r = rs_plan_req(p, "cron jobs", "?", 0,
						"the snapshot could not read pg_cron's jobs; recreate them by hand");
			for (size_t i = 0; i < m->ncron_jobs && r == 0; i++)
				r = rs_plan_req(p, "cron job", *m->cron_jobs[i] ? m->cron_jobs[i] : "(unnamed)", 0,
						has ? "not restored by vault (pg_cron owns its table): check it exists on the target" :
						"pg_cron is not installed on the target; vault does not restore its jobs");
		}
	}
	return r;
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

		if (!x->sel->roles || !s) {
			p->role_stmt[i] = RS_ACT_SKIP;
			continue;
		}
		p->role_stmt[i] = RS_ACT_RUN;
		/* roles and memberships that exist are kept as they are */
		if (!strcmp(s->type, "ROLE")) {
			if (rs_plan_in(x->roles, x->nroles, s->name))
				p->role_stmt[i] = RS_ACT_KEEP;
			continue;
		}
		about = rs_plan_read_role_stmt(text, st, s, &key);
		if ((about == RS_PLAN_READ_ROLE &&
		     rs_plan_in(x->roles, x->nroles, (char *)key.data)) ||
		    (about == RS_PLAN_READ_MEMBER &&
		     rs_plan_in(x->members, x->nmembers, (char *)key.data)))
			p->role_stmt[i] = RS_ACT_KEEP;
	}
	buf_release(&key);
	return 0;
}

static void rs_plan_ctx_release(struct rs_plan_ctx *x)
{
	strv_free(x->roles, x->nroles);
	strv_free(x->members, x->nmembers);
	strv_free(x->pubrels, x->npubrels);
	strv_free(x->exts, x->nexts);
	strv_free(x->avail, x->navail);
	strv_free(x->pubs, x->npubs);
}

int rs_plan_table_parallel(const struct rs_plan_table *t)
{
	return t->load == RS_LOAD_COPY && !t->exists && !t->t->partitioned;
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
	p->strategy = "one transaction over one connection: DDL, rows (COPY), indexes after the rows, sequences and verification commit together or not at all";
	rs_order_init(&p->order);
	p->nsec = pg_ddl_count(src->ddl);
	p->sec = calloc(p->nsec + 1, sizeof(*p->sec));
	if (!p->sec) {
		rs_plan_free(p);
		return -ENOMEM;
	}
	{
		PGresult *res;

		r = pg_conn_query(c, &res, PGRES_TUPLES_OK,
				  "SELECT pg_catalog.set_config('search_path', '', false)",
				  0, NULL, "session setup", err);
		PQclear(res);
	}
	if (r == 0)
		r = rs_plan_target(&x);
	if (r == 0)
		r = rs_plan_managed(&x, o->managed);
	if (r == 0) {
		memset(&so, 0, sizeof(so));
		so.managed = p->managed;
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
	if (r == 0)
		r = rs_plan_loads(&x);
	if (r == 0)
		r = rs_plan_sections(&x);
	if (r == 0 && p->mode == RS_MODE_CLEAN)
		r = rs_plan_partitions(&x);
	if (r == 0 && p->mode == RS_MODE_CLEAN)
		r = rs_plan_dependents(&x);
	if (r == 0)
		r = rs_plan_order(&x);
	if (r == 0)
		r = rs_plan_roles(&x);
	if (r == 0)
		r = rs_plan_requirements(&x);
	if (r == 0)
		r = rs_lo_plan(p, c, src, sel, err);
	if (r == 0) {
		rs_plan_strategy(p);
		r = rs_plan_warn(p);
	}
	rs_plan_ctx_release(&x);
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
	for (size_t i = 0; i < p->nobjects; i++) {
		free(p->objects[i].schema);
		free(p->objects[i].name);
		free(p->objects[i].drop_sql);
	}
	free(p->objects);
	rs_sanitized_free(p->san);
	rs_sanitized_free(p->san_roles);
	free(p->role_stmt);
	free(p->tables);
	rs_order_release(&p->order);
	for (size_t i = 0; i < p->nfks; i++) {
		struct rs_plan_fk *f = &p->fks[i];

		free(f->schema);
		free(f->table);
		free(f->name);
		free(f->def);
		free(f->ref_schema);
		free(f->ref_table);
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

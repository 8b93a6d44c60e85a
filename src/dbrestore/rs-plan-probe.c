/*
 * rs-plan-probe: every question the plan asks the target's catalogs.
 * Who the restoring role is and what the target already has (roles,
 * memberships, extensions, publications), whether it is a managed
 * platform, which of the snapshot's objects and tables exist (and their
 * keys and rows), the views and partitions hanging on a table clean
 * mode recreates, the foreign keys, webhook functions and pg_cron.
 *
 * The answers are facts, not decisions: rs-plan.c turns them into
 * actions and conflicts.  Keeping the queries here means a change in
 * how the target is asked (another server version's catalogs, another
 * way to look an object up) stays in this file.  Every question is one
 * query over an array of names, so planning a restore of thousands of
 * objects costs a handful of round trips.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "pg-catalog.h"
#include "pg-conn.h"
#include "pg-names.h"
#include "rs-plan-int.h"
#include "strv.h"

/* ---- helpers --------------------------------------------------------------- */

/* An element of a text[] literal: always double-quoted, \ and " escaped. */
static int rs_plan_probe_array_add(struct buf *arr, const char *s)
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

static int rs_plan_probe_qualified(struct buf *out, const char *schema,
				   const char *name)
{
	buf_reset(out);
	return *schema ? pg_names_quote_qualified(out, schema, name) :
			 pg_names_quote_ident(out, name);
}

/* One string per row: the row's fields joined with '\n'. */
static int rs_plan_probe_column(PGconn *c, const char *sql, char ***v, size_t *n,
				const char *what, struct buf *err)
{
	PGresult *res;
	int r = pg_conn_query(c, &res, PGRES_TUPLES_OK, sql, 0, NULL, what, err);

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

void rs_plan_probe_facts_release(struct rs_plan_probe_facts *f)
{
	strv_free(f->roles, f->nroles);
	strv_free(f->members, f->nmembers);
	strv_free(f->pubrels, f->npubrels);
	strv_free(f->exts, f->nexts);
	strv_free(f->avail, f->navail);
	strv_free(f->pubs, f->npubs);
}

/* ---- the target ------------------------------------------------------------ */

int rs_plan_probe_target(PGconn *c, struct rs_plan *p,
			 struct rs_plan_probe_facts *f, struct buf *err)
{
	PGresult *res;
	int r;

	r = pg_conn_query(c, &res, PGRES_TUPLES_OK,
			  "SELECT pg_catalog.set_config('search_path', '', false)",
			  0, NULL, "session setup", err);
	PQclear(res);
	if (r < 0)
		return r;
	/* session_replication_role is a superuser setting, which PostgreSQL
	 * 15 lets GRANT SET ON PARAMETER give to others (Supabase's
	 * postgres role has it) */
	r = pg_conn_query(c, &res, PGRES_TUPLES_OK,
			  PQserverVersion(c) >= 150000 ?
			  "SELECT current_user, r.rolsuper, r.rolbypassrls,"
			  " pg_catalog.current_database(),"
			  " pg_catalog.current_setting('server_version_num')::int,"
			  " r.rolsuper OR pg_catalog.has_parameter_privilege('session_replication_role', 'SET')"
			  " FROM pg_catalog.pg_roles r WHERE r.rolname = current_user" :
			  "SELECT current_user, r.rolsuper, r.rolbypassrls,"
			  " pg_catalog.current_database(),"
			  " pg_catalog.current_setting('server_version_num')::int, r.rolsuper"
			  " FROM pg_catalog.pg_roles r WHERE r.rolname = current_user",
			  0, NULL, "inspecting the target", err);
	if (r < 0)
		return r;
	if (PQntuples(res) != 1) {
		PQclear(res);
		if (err)
			buf_addstr(err, "inspecting the target: the current role is not in pg_roles");
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
	r = rs_plan_probe_column(c, "SELECT rolname FROM pg_catalog.pg_roles",
				 &f->roles, &f->nroles, "listing roles", err);
	if (r == 0)
		r = rs_plan_probe_column(c, "SELECT r.rolname, m.rolname FROM pg_catalog.pg_auth_members a"
					 " JOIN pg_catalog.pg_roles r ON r.oid = a.roleid"
					 " JOIN pg_catalog.pg_roles m ON m.oid = a.member",
					 &f->members, &f->nmembers, "listing memberships", err);
	if (r == 0)
		r = rs_plan_probe_column(c, "SELECT p.pubname, n.nspname, c.relname"
					 " FROM pg_catalog.pg_publication_rel pr"
					 " JOIN pg_catalog.pg_publication p ON p.oid = pr.prpubid"
					 " JOIN pg_catalog.pg_class c ON c.oid = pr.prrelid"
					 " JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace",
					 &f->pubrels, &f->npubrels, "listing publications", err);
	if (r == 0)
		r = rs_plan_probe_column(c, "SELECT extname FROM pg_catalog.pg_extension",
					 &f->exts, &f->nexts, "listing extensions", err);
	if (r == 0)
		r = rs_plan_probe_column(c, "SELECT name FROM pg_catalog.pg_available_extensions",
					 &f->avail, &f->navail, "listing extensions", err);
	if (r == 0)
		r = rs_plan_probe_column(c, "SELECT pubname FROM pg_catalog.pg_publication",
					 &f->pubs, &f->npubs, "listing publications", err);
	return r;
}

int rs_plan_probe_managed(PGconn *c, struct rs_plan *p, int force,
			  struct buf *err)
{
	PGresult *res;
	int r, platform = 0;

	r = pg_conn_query(c, &res, PGRES_TUPLES_OK,
			  "SELECT n.nspname, pg_catalog.pg_get_userbyid(n.nspowner),"
			  " pg_catalog.pg_has_role(n.nspowner, 'MEMBER')"
			  " FROM pg_catalog.pg_namespace n"
			  " WHERE n.nspname !~ '^pg_' AND n.nspname <> 'information_schema'"
			  " ORDER BY 1",
			  0, NULL, "listing the target's schemas", err);
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

/* ---- the snapshot's objects and tables ------------------------------------ */

char rs_plan_probe_kind(const struct pg_ddl_section *s)
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

/* One query: the kinds and the texts go as two parallel text[], the
 * answers come back in their order. */
int rs_plan_probe_exists(PGconn *c, const struct pg_ddl *d,
			 struct rs_plan_object *objects, size_t n, struct buf *err)
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
	struct buf kinds = BUF_INIT, vals = BUF_INIT, one = BUF_INIT;
	const char *params[2];
	PGresult *res = NULL;
	int r = 0;

	if (!n)
		return 0;
	r = buf_addch(&kinds, '{');
	if (r == 0)
		r = buf_addch(&vals, '{');
	for (size_t i = 0; i < n && r == 0; i++) {
		const struct pg_ddl_section *s = pg_ddl_get(d, objects[i].section);
		char kind = rs_plan_probe_kind(s);
		char k[2] = { kind, 0 };

		r = rs_plan_probe_text(kind, s, &one);
		if (r == 0)
			r = rs_plan_probe_array_add(&kinds, k);
		if (r == 0)
			r = rs_plan_probe_array_add(&vals, (char *)one.data);
	}
	if (r == 0)
		r = buf_addch(&kinds, '}');
	if (r == 0)
		r = buf_addch(&vals, '}');
	params[0] = (char *)kinds.data;
	params[1] = (char *)vals.data;
	if (r == 0)
		r = pg_conn_query(c, &res, PGRES_TUPLES_OK, sql, 2, params,
				  "looking for existing objects", err);
	for (size_t i = 0; r == 0 && i < n; i++)
		objects[i].exists = (int)i < PQntuples(res) &&
				    PQgetvalue(res, (int)i, 0)[0] == 't';
	PQclear(res);
	buf_release(&kinds);
	buf_release(&vals);
	buf_release(&one);
	return r;
}

int rs_plan_probe_tables(PGconn *c, struct rs_plan_table *tables, size_t n,
			 struct buf *err)
{
	static const char sql[] =
		"SELECT c.oid IS NOT NULL, COALESCE(pg_catalog.pg_has_role(c.relowner, 'MEMBER'), false),"
		" EXISTS (SELECT 1 FROM pg_catalog.pg_index i WHERE i.indrelid = c.oid AND i.indisprimary)"
		" FROM pg_catalog.unnest($1::text[]) WITH ORDINALITY AS x(v, i)"
		" LEFT JOIN pg_catalog.pg_class c ON c.oid = pg_catalog.to_regclass(x.v)"
		" ORDER BY x.i";
	struct buf arr = BUF_INIT, q = BUF_INIT;
	const char *params[1];
	PGresult *res = NULL;
	int r = 0;

	r = buf_addch(&arr, '{');
	for (size_t i = 0; i < n && r == 0; i++) {
		r = rs_plan_probe_qualified(&q, tables[i].t->schema, tables[i].t->name);
		if (r == 0)
			r = rs_plan_probe_array_add(&arr, (char *)q.data);
	}
	if (r == 0)
		r = buf_addch(&arr, '}');
	params[0] = (char *)arr.data;
	if (r == 0)
		r = pg_conn_query(c, &res, PGRES_TUPLES_OK, sql, 1, params,
				  "looking for the selected tables", err);
	for (size_t i = 0; r == 0 && i < n; i++) {
		struct rs_plan_table *t = &tables[i];

		t->exists = PQgetvalue(res, (int)i, 0)[0] == 't';
		t->owned = PQgetvalue(res, (int)i, 1)[0] == 't';
		t->has_pk = PQgetvalue(res, (int)i, 2)[0] == 't';
	}
	PQclear(res);
	/* exact counts: the plan promises them */
	for (size_t i = 0; r == 0 && i < n; i++) {
		struct rs_plan_table *t = &tables[i];
		struct buf cq = BUF_INIT, what = BUF_INIT;

		if (!t->exists || t->t->partitioned)
			continue;
		r = buf_addstr(&cq, "SELECT pg_catalog.count(*) FROM ONLY ");
		if (r == 0)
			r = pg_names_quote_qualified(&cq, t->t->schema, t->t->name);
		if (r == 0)
			r = buf_addf(&what, "counting rows of %s.%s", t->t->schema, t->t->name);
		if (r == 0)
			r = pg_conn_query(c, &res, PGRES_TUPLES_OK, (char *)cq.data, 0,
					  NULL, (char *)what.data, err);
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

/* ---- around the tables clean mode recreates ------------------------------- */

/*
 * Builds a text[] literal of the qualified names of the tables clean mode
 * recreates, in plan order; idx[k] maps the array's (k+1)th element back
 * to p->tables.  q is scratch space.
 */
static int rs_plan_probe_recreated_array(const struct rs_plan *p, struct buf *arr,
					 struct buf *q, size_t *idx, size_t *n)
{
	int r = buf_addch(arr, '{');

	for (size_t i = 0; i < p->ntables && r == 0; i++) {
		if (p->tables[i].ddl != RS_ACT_RECREATE)
			continue;
		idx[(*n)++] = i;
		r = rs_plan_probe_qualified(q, p->tables[i].t->schema, p->tables[i].t->name);
		if (r == 0)
			r = rs_plan_probe_array_add(arr, (char *)q->data);
	}
	return r == 0 ? buf_addch(arr, '}') : r;
}

/*
 * Runs sql with $1 = the recreated tables (text[]), each row led by the
 * table's 1-based position in it followed by a relation's schema, name
 * and (when the query has it) kind, and hands every row to fn.
 */
static int rs_plan_probe_recreated(PGconn *c, const struct rs_plan *p,
				   const char *sql, const char *what,
				   rs_plan_probe_rel_fn *fn, void *arg,
				   struct buf *err)
{
	struct buf arr = BUF_INIT, q = BUF_INIT;
	size_t *idx = calloc(p->ntables + 1, sizeof(*idx)), n = 0;
	const char *params[1];
	PGresult *res = NULL;
	int r;

	if (!idx)
		return -ENOMEM;
	r = rs_plan_probe_recreated_array(p, &arr, &q, idx, &n);
	params[0] = (char *)arr.data;
	if (r == 0 && n)
		r = pg_conn_query(c, &res, PGRES_TUPLES_OK, sql, 1, params, what, err);
	for (int i = 0; r == 0 && n && i < PQntuples(res); i++) {
		size_t k = (size_t)strtoul(PQgetvalue(res, i, 0), NULL, 10) - 1;

		r = k < n ? fn(arg, &p->tables[idx[k]], PQgetvalue(res, i, 1),
			       PQgetvalue(res, i, 2),
			       PQnfields(res) > 3 ? PQgetvalue(res, i, 3) : NULL) :
		    -EPROTO;
	}
	PQclear(res);
	free(idx);
	buf_release(&arr);
	buf_release(&q);
	return r;
}

int rs_plan_probe_views(PGconn *c, const struct rs_plan *p,
			rs_plan_probe_rel_fn *fn, void *arg, struct buf *err)
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

	return rs_plan_probe_recreated(c, p, sql, "listing views on the selected tables",
				       fn, arg, err);
}

int rs_plan_probe_partitions(PGconn *c, const struct rs_plan *p,
			     rs_plan_probe_rel_fn *fn, void *arg, struct buf *err)
{
	static const char sql[] =
		"SELECT x.i, n.nspname, c.relname"
		" FROM pg_catalog.unnest($1::text[]) WITH ORDINALITY AS x(v, i)"
		" JOIN pg_catalog.pg_inherits h ON h.inhparent = pg_catalog.to_regclass(x.v)"
		" JOIN pg_catalog.pg_class c ON c.oid = h.inhrelid"
		" JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace ORDER BY 1, 2, 3";

	return rs_plan_probe_recreated(c, p, sql, "listing partitions", fn, arg, err);
}

/* ---- foreign keys, webhooks, pg_cron -------------------------------------- */

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

int rs_plan_probe_fks(PGconn *c, rs_plan_probe_fk_fn *fn, void *arg,
		      struct buf *err)
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
	PGresult *res;
	int r;

	r = pg_conn_query(c, &res, PGRES_TUPLES_OK, sql, 0, NULL,
			  "listing foreign keys", err);
	for (int i = 0; r == 0 && i < PQntuples(res); i++) {
		struct rs_plan_probe_fk fk = {
			.name = PQgetvalue(res, i, 0),
			.schema = PQgetvalue(res, i, 1),
			.table = PQgetvalue(res, i, 2),
			.ref_schema = PQgetvalue(res, i, 3),
			.ref_table = PQgetvalue(res, i, 4),
			.deferrable = PQgetvalue(res, i, 5)[0] == 't',
			.def = PQgetvalue(res, i, 6),
			.cols = PQgetvalue(res, i, 7),
			.ref_cols = PQgetvalue(res, i, 8),
			.declared = PQgetvalue(res, i, 9)[0] == 't',
		};

		r = fn(arg, &fk);
	}
	PQclear(res);
	return r;
}

int rs_plan_probe_function(PGconn *c, const char *qualified, int *exists,
			   struct buf *err)
{
	const char *dot = strchr(qualified, '.');
	const char *params[2];
	struct buf fs = BUF_INIT;
	PGresult *res;
	int r;

	*exists = 0;
	if (!dot)
		return -EINVAL;
	r = buf_add(&fs, qualified, (size_t)(dot - qualified));
	params[0] = (char *)fs.data;
	params[1] = dot + 1;
	if (r == 0)
		r = pg_conn_query(c, &res, PGRES_TUPLES_OK,
				  "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_proc p"
				  " JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace"
				  " WHERE n.nspname = $1 AND p.proname = $2)",
				  2, params, "looking for webhook functions", err);
	if (r == 0) {
		*exists = PQgetvalue(res, 0, 0)[0] == 't';
		PQclear(res);
	}
	buf_release(&fs);
	return r;
}

int rs_plan_probe_cron(PGconn *c, int *has, struct buf *err)
{
	PGresult *res;
	int r;

	*has = 0;
	r = pg_conn_query(c, &res, PGRES_TUPLES_OK,
			  "SELECT pg_catalog.to_regclass('cron.job') IS NOT NULL",
			  0, NULL, "looking for pg_cron", err);
	if (r == 0) {
		*has = PQgetvalue(res, 0, 0)[0] == 't';
		PQclear(res);
	}
	return r;
}

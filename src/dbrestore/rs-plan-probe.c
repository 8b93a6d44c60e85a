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
#include "rs-sql.h"
#include "strv.h"

/* ---- helpers --------------------------------------------------------------- */

int rs_plan_probe_array_add(struct buf *arr, const char *s)
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

/* A relation as two parallel text[] elements: its schema and its name,
 * which the queries join pg_namespace and pg_class on (to_regclass
 * would parse them, and raise for a schema this role may not use). */
static int rs_plan_probe_rel_add(struct buf *schemas, struct buf *names,
				 const char *schema, const char *name)
{
	int r = rs_plan_probe_array_add(schemas, schema);

	return r ? r : rs_plan_probe_array_add(names, name);
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

/*
 * One query for n keys: kinds, schemas, names and extras go as four
 * parallel text[] and the answers come back in their order.  Nothing of
 * it is parsed by the server (no to_regclass, to_regtype or
 * to_regprocedure, which before PostgreSQL 16 raise for a type or
 * schema that does not exist yet, and which read "name(*)" as a syntax
 * error): every kind is a join of its catalog on names, and a routine's
 * or operator's argument types are compared as format_type writes
 * them, which is how pg_dump wrote them (its search_path is empty, as
 * this session's is).
 */
int rs_plan_probe_keys(PGconn *c, const struct rs_plan_key *k, size_t n,
		       unsigned char *exists, struct buf *err)
{
#define NS(cat, col) " EXISTS (SELECT 1 FROM pg_catalog." cat " o JOIN pg_catalog.pg_namespace n" \
	" ON n.oid = o." col "namespace WHERE n.nspname = x.s AND o." col "name = x.n)"
	static const char sql[] =
		"SELECT CASE x.k"
		" WHEN 'r' THEN" NS("pg_class", "rel")
		" WHEN 't' THEN" NS("pg_type", "typ")
		" WHEN 'f' THEN EXISTS (SELECT 1 FROM pg_catalog.pg_proc o"
		"  JOIN pg_catalog.pg_namespace n ON n.oid = o.pronamespace"
		"  WHERE n.nspname = x.s AND o.proname = x.n"
		"  AND CASE WHEN o.prokind = 'a' AND o.pronargs = 0 THEN '*'"
		"   ELSE COALESCE((SELECT pg_catalog.string_agg(pg_catalog.format_type(u.t, NULL), ', ' ORDER BY u.i)"
		"    FROM pg_catalog.unnest(o.proargtypes) WITH ORDINALITY AS u(t, i)), '') END = x.a)"
		" WHEN 'g' THEN" NS("pg_proc", "pro")
		" WHEN 'o' THEN EXISTS (SELECT 1 FROM pg_catalog.pg_operator o"
		"  JOIN pg_catalog.pg_namespace n ON n.oid = o.oprnamespace"
		"  WHERE n.nspname = x.s AND o.oprname = x.n"
		"  AND COALESCE(pg_catalog.format_type(NULLIF(o.oprleft, 0), NULL), 'NONE') || ', ' ||"
		"   COALESCE(pg_catalog.format_type(NULLIF(o.oprright, 0), NULL), 'NONE') = x.a)"
		" WHEN 'c' THEN EXISTS (SELECT 1 FROM pg_catalog.pg_cast o"
		"  WHERE pg_catalog.format_type(o.castsource, NULL) || ' AS ' ||"
		"  pg_catalog.format_type(o.casttarget, NULL) = x.a)"
		" WHEN 'l' THEN" NS("pg_collation", "coll")
		" WHEN 'C' THEN" NS("pg_conversion", "con")
		" WHEN 'T' THEN" NS("pg_ts_config", "cfg")
		" WHEN 'D' THEN" NS("pg_ts_dict", "dict")
		" WHEN 'P' THEN" NS("pg_ts_parser", "prs")
		" WHEN 'M' THEN" NS("pg_ts_template", "tmpl")
		" WHEN 'O' THEN EXISTS (SELECT 1 FROM pg_catalog.pg_opclass o"
		"  JOIN pg_catalog.pg_namespace n ON n.oid = o.opcnamespace"
		"  JOIN pg_catalog.pg_am a ON a.oid = o.opcmethod"
		"  WHERE n.nspname = x.s AND o.opcname = x.n AND a.amname = x.a)"
		" WHEN 'F' THEN EXISTS (SELECT 1 FROM pg_catalog.pg_opfamily o"
		"  JOIN pg_catalog.pg_namespace n ON n.oid = o.opfnamespace"
		"  JOIN pg_catalog.pg_am a ON a.oid = o.opfmethod"
		"  WHERE n.nspname = x.s AND o.opfname = x.n AND a.amname = x.a)"
		" WHEN 'w' THEN EXISTS (SELECT 1 FROM pg_catalog.pg_foreign_data_wrapper WHERE fdwname = x.n)"
		" WHEN 's' THEN EXISTS (SELECT 1 FROM pg_catalog.pg_foreign_server WHERE srvname = x.n)"
		" WHEN 'L' THEN EXISTS (SELECT 1 FROM pg_catalog.pg_language WHERE lanname = x.n)"
		" WHEN 'A' THEN EXISTS (SELECT 1 FROM pg_catalog.pg_am WHERE amname = x.n)"
		" WHEN 'X' THEN EXISTS (SELECT 1 FROM pg_catalog.pg_transform o"
		"  JOIN pg_catalog.pg_language l ON l.oid = o.trflang"
		"  WHERE pg_catalog.format_type(o.trftype, NULL) || ' LANGUAGE ' || l.lanname = x.a)"
		" WHEN 'S' THEN EXISTS (SELECT 1 FROM pg_catalog.pg_subscription o"
		"  JOIN pg_catalog.pg_database d ON d.oid = o.subdbid"
		"  WHERE o.subname = x.n AND d.datname = pg_catalog.current_database())"
		" WHEN 'n' THEN EXISTS (SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = x.n)"
		" WHEN 'e' THEN EXISTS (SELECT 1 FROM pg_catalog.pg_extension WHERE extname = x.n)"
		" WHEN 'p' THEN EXISTS (SELECT 1 FROM pg_catalog.pg_publication WHERE pubname = x.n)"
		" WHEN 'v' THEN EXISTS (SELECT 1 FROM pg_catalog.pg_event_trigger WHERE evtname = x.n)"
		" ELSE false END"
		" FROM ROWS FROM (pg_catalog.unnest($1::text[]), pg_catalog.unnest($2::text[]),"
		"  pg_catalog.unnest($3::text[]), pg_catalog.unnest($4::text[]))"
		" WITH ORDINALITY AS x(k, s, n, a, i)"
		" ORDER BY x.i";
#undef NS
	struct buf arr[4] = { BUF_INIT, BUF_INIT, BUF_INIT, BUF_INIT };
	const char *params[4];
	PGresult *res = NULL;
	int r = 0;

	if (!n)
		return 0;
	for (int a = 0; a < 4 && r == 0; a++)
		r = buf_addch(&arr[a], '{');
	for (size_t i = 0; i < n && r == 0; i++) {
		char kind[2] = { k[i].kind ? k[i].kind : '-', 0 };

		r = rs_plan_probe_array_add(&arr[0], kind);
		if (r == 0)
			r = rs_plan_probe_array_add(&arr[1], (char *)k[i].schema.data);
		if (r == 0)
			r = rs_plan_probe_array_add(&arr[2], (char *)k[i].name.data);
		if (r == 0)
			r = rs_plan_probe_array_add(&arr[3], (char *)k[i].extra.data);
	}
	for (int a = 0; a < 4 && r == 0; a++) {
		r = buf_addch(&arr[a], '}');
		params[a] = (char *)arr[a].data;
	}
	if (r == 0)
		r = pg_conn_query(c, &res, PGRES_TUPLES_OK, sql, 4, params,
				  "looking for existing objects", err);
	if (r == 0 && PQntuples(res) != (int)n) {
		if (err)
			buf_addstr(err, "looking for existing objects: the answer has the wrong number of rows");
		r = -EPROTO;
	}
	for (size_t i = 0; r == 0 && i < n; i++)
		exists[i] = PQgetvalue(res, (int)i, 0)[0] == 't';
	PQclear(res);
	for (int a = 0; a < 4; a++)
		buf_release(&arr[a]);
	return r;
}

int rs_plan_probe_exists(PGconn *c, const struct pg_ddl *d,
			 struct rs_plan_object *objects, size_t n, struct buf *err)
{
	struct rs_plan_key *k = calloc(n + 1, sizeof(*k));
	unsigned char *ex = calloc(n + 1, 1);
	size_t nk = 0;
	int r = k && ex ? 0 : -ENOMEM;

	for (; r == 0 && nk < n; nk++)
		r = rs_plan_key_of(d, pg_ddl_get(d, objects[nk].section), &k[nk]);
	if (r == 0)
		r = rs_plan_probe_keys(c, k, n, ex, err);
	for (size_t i = 0; r == 0 && i < n; i++)
		objects[i].exists = ex[i];
	for (size_t i = 0; k && i < nk; i++)
		rs_plan_key_release(&k[i]);
	free(k);
	free(ex);
	return r;
}

int rs_plan_probe_tables(PGconn *c, struct rs_plan_table *tables, size_t n,
			 struct buf *err)
{
	static const char sql[] =
		"SELECT c.oid IS NOT NULL, COALESCE(pg_catalog.pg_has_role(c.relowner, 'MEMBER'), false),"
		" EXISTS (SELECT 1 FROM pg_catalog.pg_index i WHERE i.indrelid = c.oid AND i.indisprimary),"
		" COALESCE(pg_catalog.has_table_privilege(c.oid, 'SELECT'), false)"
		" FROM ROWS FROM (pg_catalog.unnest($1::text[]), pg_catalog.unnest($2::text[]))"
		"  WITH ORDINALITY AS x(s, n, i)"
		" LEFT JOIN (pg_catalog.pg_class c JOIN pg_catalog.pg_namespace cn"
		"  ON cn.oid = c.relnamespace) ON cn.nspname = x.s AND c.relname = x.n"
		" ORDER BY x.i";
	struct buf sch = BUF_INIT, nm = BUF_INIT;
	const char *params[2];
	PGresult *res = NULL;
	int r = 0;

	r = buf_addch(&sch, '{');
	if (r == 0)
		r = buf_addch(&nm, '{');
	for (size_t i = 0; i < n && r == 0; i++)
		r = rs_plan_probe_rel_add(&sch, &nm, tables[i].t->schema, tables[i].t->name);
	if (r == 0)
		r = buf_addch(&sch, '}');
	if (r == 0)
		r = buf_addch(&nm, '}');
	params[0] = (char *)sch.data;
	params[1] = (char *)nm.data;
	if (r == 0)
		r = pg_conn_query(c, &res, PGRES_TUPLES_OK, sql, 2, params,
				  "looking for the selected tables", err);
	for (size_t i = 0; r == 0 && i < n; i++) {
		struct rs_plan_table *t = &tables[i];

		t->exists = PQgetvalue(res, (int)i, 0)[0] == 't';
		t->owned = PQgetvalue(res, (int)i, 1)[0] == 't';
		t->has_pk = PQgetvalue(res, (int)i, 2)[0] == 't';
		t->readable = PQgetvalue(res, (int)i, 3)[0] == 't';
	}
	PQclear(res);
	/* exact counts: the plan promises them (a table the role may not
	 * read is not counted: the query would raise) */
	for (size_t i = 0; r == 0 && i < n; i++) {
		struct rs_plan_table *t = &tables[i];
		struct buf cq = BUF_INIT, what = BUF_INIT;

		if (!t->exists || t->t->partitioned || !t->readable)
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
	buf_release(&sch);
	buf_release(&nm);
	return r;
}

/* ---- around the tables clean mode recreates ------------------------------- */

/*
 * Builds two text[] literals, the schemas and the names of the tables
 * pick[i] marks (NULL: those clean mode recreates), in plan order;
 * idx[k] maps the arrays' (k+1)th element back to p->tables.
 */
static int rs_plan_probe_picked_array(const struct rs_plan *p, const unsigned char *pick,
				      struct buf *sch, struct buf *nm, size_t *idx, size_t *n)
{
	int r = buf_addch(sch, '{');

	if (r == 0)
		r = buf_addch(nm, '{');
	for (size_t i = 0; i < p->ntables && r == 0; i++) {
		if (pick ? !pick[i] : p->tables[i].ddl != RS_ACT_RECREATE)
			continue;
		idx[(*n)++] = i;
		r = rs_plan_probe_rel_add(sch, nm, p->tables[i].t->schema, p->tables[i].t->name);
	}
	if (r == 0)
		r = buf_addch(sch, '}');
	return r == 0 ? buf_addch(nm, '}') : r;
}

/* The picked tables of $1 and $2 (schemas, names) as x.i (1-based
 * position) and t (the relation), for the queries below to join on. */
#define RS_PLAN_PROBE_RECREATED \
	" FROM ROWS FROM (pg_catalog.unnest($1::text[]), pg_catalog.unnest($2::text[]))" \
	"  WITH ORDINALITY AS x(s, n, i)" \
	" JOIN pg_catalog.pg_namespace tn ON tn.nspname = x.s" \
	" JOIN pg_catalog.pg_class t ON t.relnamespace = tn.oid AND t.relname = x.n"

/* The relation a dependent object d (a pg_depend row) belongs to: a
 * column, a default, a constraint, an index, a trigger, a policy, a rule
 * or statistics are their table's; NULL for objects of no relation
 * (routines, types). */
#define RS_PLAN_PROBE_OWNER \
	" CASE d.classid" \
	"  WHEN 'pg_catalog.pg_class'::pg_catalog.regclass THEN coalesce((SELECT ix.indrelid" \
	"   FROM pg_catalog.pg_index ix WHERE ix.indexrelid = d.objid), d.objid)" \
	"  WHEN 'pg_catalog.pg_attrdef'::pg_catalog.regclass THEN (SELECT a.adrelid" \
	"   FROM pg_catalog.pg_attrdef a WHERE a.oid = d.objid)" \
	"  WHEN 'pg_catalog.pg_constraint'::pg_catalog.regclass THEN (SELECT k.conrelid" \
	"   FROM pg_catalog.pg_constraint k WHERE k.oid = d.objid)" \
	"  WHEN 'pg_catalog.pg_trigger'::pg_catalog.regclass THEN (SELECT g.tgrelid" \
	"   FROM pg_catalog.pg_trigger g WHERE g.oid = d.objid)" \
	"  WHEN 'pg_catalog.pg_policy'::pg_catalog.regclass THEN (SELECT po.polrelid" \
	"   FROM pg_catalog.pg_policy po WHERE po.oid = d.objid)" \
	"  WHEN 'pg_catalog.pg_rewrite'::pg_catalog.regclass THEN (SELECT w.ev_class" \
	"   FROM pg_catalog.pg_rewrite w WHERE w.oid = d.objid)" \
	"  WHEN 'pg_catalog.pg_statistic_ext'::pg_catalog.regclass THEN (SELECT sx.stxrelid" \
	"   FROM pg_catalog.pg_statistic_ext sx WHERE sx.oid = d.objid) END"

/*
 * Runs sql with the tables pick marks (NULL: those recreated) as $1 and
 * $2 (RS_PLAN_PROBE_RECREATED) and the nextra params after them, each
 * row led by the table's 1-based position among them followed by a
 * relation's schema, name and (when the query has it) kind, and hands
 * every row to fn.
 */
static int rs_plan_probe_picked(PGconn *c, const struct rs_plan *p,
				const unsigned char *pick, const char *sql,
				const char *const *extra, int nextra, const char *what,
				rs_plan_probe_rel_fn *fn, void *arg, struct buf *err)
{
	struct buf sch = BUF_INIT, nm = BUF_INIT;
	size_t *idx = calloc(p->ntables + 1, sizeof(*idx)), n = 0;
	const char *params[8];
	PGresult *res = NULL;
	int r;

	if (!idx)
		return -ENOMEM;
	r = rs_plan_probe_picked_array(p, pick, &sch, &nm, idx, &n);
	params[0] = (char *)sch.data;
	params[1] = (char *)nm.data;
	for (int i = 0; i < nextra && i < 6; i++)
		params[2 + i] = extra[i];
	if (r == 0 && n)
		r = pg_conn_query(c, &res, PGRES_TUPLES_OK, sql, 2 + nextra, params, what, err);
	for (int i = 0; r == 0 && n && i < PQntuples(res); i++) {
		size_t k = (size_t)strtoul(PQgetvalue(res, i, 0), NULL, 10) - 1;

		r = k < n ? fn(arg, &p->tables[idx[k]], PQgetvalue(res, i, 1),
			       PQgetvalue(res, i, 2),
			       PQnfields(res) > 3 ? PQgetvalue(res, i, 3) : NULL) :
		    -EPROTO;
	}
	PQclear(res);
	free(idx);
	buf_release(&sch);
	buf_release(&nm);
	return r;
}

int rs_plan_probe_views(PGconn *c, const struct rs_plan *p,
			rs_plan_probe_rel_fn *fn, void *arg, struct buf *err)
{
	/* a view on a view on the table goes with the table too; rules
	 * of other tables are in pg_rewrite as well, but are no views */
	static const char sql[] =
		"WITH RECURSIVE dep(i, oid, depth) AS ("
		" SELECT x.i, t.oid, 0" RS_PLAN_PROBE_RECREATED
		" UNION"
		" SELECT dep.i, v.oid, dep.depth + 1 FROM dep"
		" JOIN pg_catalog.pg_depend d ON d.refobjid = dep.oid"
		"  AND d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass"
		"  AND d.classid = 'pg_catalog.pg_rewrite'::pg_catalog.regclass"
		" JOIN pg_catalog.pg_rewrite rw ON rw.oid = d.objid"
		" JOIN pg_catalog.pg_class v ON v.oid = rw.ev_class AND v.oid <> d.refobjid"
		"  AND v.relkind IN ('v', 'm')"
		" WHERE dep.depth < 64)"
		"SELECT pg_catalog.min(dep.i), vn.nspname, v.relname,"
		" CASE v.relkind WHEN 'm' THEN 'materialized view' ELSE 'view' END"
		" FROM dep JOIN pg_catalog.pg_class v ON v.oid = dep.oid"
		" JOIN pg_catalog.pg_namespace vn ON vn.oid = v.relnamespace"
		" WHERE dep.depth > 0 GROUP BY 2, 3, 4 ORDER BY pg_catalog.max(dep.depth) DESC, 2, 3";

	return rs_plan_probe_picked(c, p, NULL, sql, NULL, 0,
				    "listing views on the selected tables", fn, arg, err);
}

int rs_plan_probe_partitions(PGconn *c, const struct rs_plan *p,
			     rs_plan_probe_rel_fn *fn, void *arg, struct buf *err)
{
	static const char sql[] =
		"SELECT x.i, n.nspname, c.relname"
		RS_PLAN_PROBE_RECREATED
		" JOIN pg_catalog.pg_inherits h ON h.inhparent = t.oid"
		" JOIN pg_catalog.pg_class c ON c.oid = h.inhrelid"
		" JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace ORDER BY 1, 2, 3";

	return rs_plan_probe_picked(c, p, NULL, sql, NULL, 0, "listing partitions",
				    fn, arg, err);
}

int rs_plan_probe_dependents(PGconn *c, const struct rs_plan *p,
			     rs_plan_probe_rel_fn *fn, void *arg, struct buf *err)
{
	/* what depends on a table recreated, on its row type (and that
	 * type's array) or on a sequence it owns, the way DROP TABLE
	 * without CASCADE refuses: the objects of other relations, and
	 * those of none (routines, types); not its own parts, not the
	 * other tables recreated, not views (rs_plan_probe_views), foreign
	 * keys (dropped and re-added) or inheritance children
	 * (rs_plan_probe_partitions) */
	static const char sql[] =
		"WITH tb AS (SELECT x.i, t.oid, t.reltype" RS_PLAN_PROBE_RECREATED "),"
		" refs(i, cls, oid) AS ("
		"  SELECT tb.i, 'pg_catalog.pg_class'::pg_catalog.regclass, tb.oid FROM tb"
		"  UNION ALL SELECT tb.i, 'pg_catalog.pg_type'::pg_catalog.regclass, tb.reltype FROM tb"
		"  UNION ALL SELECT tb.i, 'pg_catalog.pg_type'::pg_catalog.regclass, y.typarray FROM tb"
		"   JOIN pg_catalog.pg_type y ON y.oid = tb.reltype WHERE y.typarray <> 0"
		"  UNION ALL SELECT tb.i, 'pg_catalog.pg_class'::pg_catalog.regclass, q.oid FROM tb"
		"   JOIN pg_catalog.pg_depend o ON o.refobjid = tb.oid"
		"    AND o.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass"
		"    AND o.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND o.deptype IN ('a', 'i')"
		"   JOIN pg_catalog.pg_class q ON q.oid = o.objid AND q.relkind = 'S'),"
		" dep AS (SELECT refs.i, d.classid, d.objid, d.objsubid, " RS_PLAN_PROBE_OWNER " AS rel"
		"  FROM refs JOIN pg_catalog.pg_depend d ON d.refclassid = refs.cls AND d.refobjid = refs.oid"
		"   AND d.deptype = 'n')"
		"SELECT DISTINCT dep.i, pg_catalog.pg_describe_object(dep.classid, dep.objid, dep.objsubid), ''"
		" FROM dep LEFT JOIN pg_catalog.pg_class r ON r.oid = dep.rel"
		" WHERE (dep.rel IS NULL OR dep.rel NOT IN (SELECT tb.oid FROM tb))"
		" AND coalesce(r.relkind NOT IN ('v', 'm'), true)"
		" AND NOT (dep.classid = 'pg_catalog.pg_constraint'::pg_catalog.regclass AND EXISTS"
		"  (SELECT 1 FROM pg_catalog.pg_constraint k WHERE k.oid = dep.objid AND k.contype = 'f'))"
		" AND NOT (dep.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND dep.objsubid = 0"
		"  AND r.relkind IN ('r', 'p', 'f'))"
		" ORDER BY 1, 2";

	return rs_plan_probe_picked(c, p, NULL, sql, NULL, 0,
				    "listing what depends on the tables recreated", fn, arg, err);
}

int rs_plan_probe_parents(PGconn *c, const struct rs_plan *p,
			  const unsigned char *pick, rs_plan_probe_rel_fn *fn,
			  void *arg, struct buf *err)
{
	static const char sql[] =
		"SELECT x.i, n.nspname, c.relname"
		RS_PLAN_PROBE_RECREATED
		" JOIN pg_catalog.pg_inherits h ON h.inhrelid = t.oid"
		" JOIN pg_catalog.pg_class c ON c.oid = h.inhparent"
		" JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace ORDER BY 1, 2, 3";

	return rs_plan_probe_picked(c, p, pick, sql, NULL, 0,
				    "listing the parents of the selected tables", fn, arg, err);
}

int rs_plan_probe_invalid(PGconn *c, const struct rs_plan *p,
			  const unsigned char *pick, rs_plan_probe_rel_fn *fn,
			  void *arg, struct buf *err)
{
	static const char sql[] =
		"SELECT x.i, k.conname, ''"
		RS_PLAN_PROBE_RECREATED
		" JOIN pg_catalog.pg_constraint k ON k.conrelid = t.oid AND k.contype = 'c'"
		"  AND NOT k.convalidated ORDER BY 1, 2";

	return rs_plan_probe_picked(c, p, pick, sql, NULL, 0,
				    "listing the check constraints not validated", fn, arg, err);
}

int rs_plan_probe_uses(PGconn *c, const struct rs_plan *p,
		       const unsigned char *pick, const struct rs_plan_key *k,
		       size_t n, rs_plan_probe_rel_fn *fn, void *arg,
		       struct buf *err)
{
	/* what depends on an object: the relation it belongs to (a
	 * column is the table's own entry, with its number) */
	static const char sql[] =
		"WITH o(s, n, k) AS (SELECT * FROM ROWS FROM (pg_catalog.unnest($3::text[]),"
		"  pg_catalog.unnest($4::text[]), pg_catalog.unnest($5::text[]))),"
		" obj(s, n, kind, cls, oid) AS ("
		"  SELECT o.s, o.n, 'type', 'pg_catalog.pg_type'::pg_catalog.regclass, y.oid FROM o"
		"  JOIN pg_catalog.pg_namespace yn ON yn.nspname = o.s"
		"  JOIN pg_catalog.pg_type y ON y.typnamespace = yn.oid AND y.typname = o.n WHERE o.k = 't'"
		"  UNION ALL"
		"  SELECT o.s, o.n, 'type', 'pg_catalog.pg_type'::pg_catalog.regclass, y.typarray FROM o"
		"  JOIN pg_catalog.pg_namespace yn ON yn.nspname = o.s"
		"  JOIN pg_catalog.pg_type y ON y.typnamespace = yn.oid AND y.typname = o.n"
		"  WHERE o.k = 't' AND y.typarray <> 0"
		"  UNION ALL"
		"  SELECT o.s, o.n, 'sequence', 'pg_catalog.pg_class'::pg_catalog.regclass, q.oid FROM o"
		"  JOIN pg_catalog.pg_namespace qn ON qn.nspname = o.s"
		"  JOIN pg_catalog.pg_class q ON q.relnamespace = qn.oid AND q.relname = o.n AND q.relkind = 'S'"
		"  WHERE o.k = 'r'"
		"  UNION ALL"
		"  SELECT o.s, o.n, CASE q.relkind WHEN 'm' THEN 'materialized view' ELSE 'view' END,"
		"  'pg_catalog.pg_class'::pg_catalog.regclass, q.oid FROM o"
		"  JOIN pg_catalog.pg_namespace qn ON qn.nspname = o.s"
		"  JOIN pg_catalog.pg_class q ON q.relnamespace = qn.oid AND q.relname = o.n AND q.relkind IN ('v', 'm')"
		"  WHERE o.k = 'v'"
		/* a table and its row type; not a foreign key on it (dropped
		 * and re-added) nor a child inheriting from it (its parent's) */
		"  UNION ALL"
		"  SELECT o.s, o.n, 'table', 'pg_catalog.pg_class'::pg_catalog.regclass, q.oid FROM o"
		"  JOIN pg_catalog.pg_namespace qn ON qn.nspname = o.s"
		"  JOIN pg_catalog.pg_class q ON q.relnamespace = qn.oid AND q.relname = o.n WHERE o.k = 'T'"
		"  UNION ALL"
		"  SELECT o.s, o.n, 'table', 'pg_catalog.pg_type'::pg_catalog.regclass, q.reltype FROM o"
		"  JOIN pg_catalog.pg_namespace qn ON qn.nspname = o.s"
		"  JOIN pg_catalog.pg_class q ON q.relnamespace = qn.oid AND q.relname = o.n WHERE o.k = 'T'),"
		" tb AS (SELECT x.i, t.oid" RS_PLAN_PROBE_RECREATED ")"
		"SELECT DISTINCT tb.i, obj.s, obj.n, obj.kind FROM obj"
		" JOIN pg_catalog.pg_depend d ON d.refclassid = obj.cls AND d.refobjid = obj.oid AND d.deptype = 'n'"
		" JOIN tb ON tb.oid = " RS_PLAN_PROBE_OWNER
		" WHERE NOT (d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.objsubid = 0"
		"  AND obj.kind = 'table')"
		" AND NOT (d.classid = 'pg_catalog.pg_constraint'::pg_catalog.regclass AND EXISTS"
		"  (SELECT 1 FROM pg_catalog.pg_constraint k WHERE k.oid = d.objid AND k.contype = 'f'))"
		" ORDER BY 1, 2, 3";
	struct buf sch = BUF_INIT, nm = BUF_INIT, kind = BUF_INIT;
	const char *extra[3];
	int r = buf_addch(&sch, '{');

	if (r == 0)
		r = buf_addch(&nm, '{');
	if (r == 0)
		r = buf_addch(&kind, '{');
	for (size_t i = 0; i < n && r == 0; i++) {
		char kk[2] = { k[i].kind, '\0' };

		r = rs_plan_probe_rel_add(&sch, &nm, (char *)k[i].schema.data,
					  (char *)k[i].name.data);
		if (r == 0)
			r = rs_plan_probe_array_add(&kind, kk);
	}
	if (r == 0)
		r = buf_addch(&sch, '}');
	if (r == 0)
		r = buf_addch(&nm, '}');
	if (r == 0)
		r = buf_addch(&kind, '}');
	extra[0] = (char *)sch.data;
	extra[1] = (char *)nm.data;
	extra[2] = (char *)kind.data;
	if (r == 0 && n)
		r = rs_plan_probe_picked(c, p, pick, sql, extra, 3,
					 "listing the types and sequences the selected tables use",
					 fn, arg, err);
	buf_release(&sch);
	buf_release(&nm);
	buf_release(&kind);
	return r;
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
		" c.conparentid = 0, pg_catalog.obj_description(c.oid, 'pg_constraint')"
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
			.comment = PQgetisnull(res, i, 10) ? NULL : PQgetvalue(res, i, 10),
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
			  "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_class c"
			  " JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
			  " WHERE n.nspname = 'cron' AND c.relname = 'job')",
			  0, NULL, "looking for pg_cron", err);
	if (r == 0) {
		*has = PQgetvalue(res, 0, 0)[0] == 't';
		PQclear(res);
	}
	return r;
}

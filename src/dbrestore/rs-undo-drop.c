/*
 * rs-undo-drop: the statements that drop what a restore created
 * (rs-undo-int.h).
 *
 * Objects are named from the catalogs, the way DROP reads them:
 * pg_identify_object's identity for most kinds, and where that is not
 * DROP's syntax a name built here (routines with their full signature,
 * transforms, user mappings).  Parts of other objects (columns, indexes,
 * row types, members of an extension) go with what they belong to.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pg-conn.h"
#include "rs-undo-int.h"
#include "strv.h"

/*
 * An object's name as DROP and COMMENT read it, in terms of o.cls (its
 * catalog, regclass), o.objid and i (pg_identify_object's row).
 * Routines: the identity lists input types only, while a procedure's
 * OUT arguments are part of its signature (PG 14+) and an aggregate
 * without arguments is "(*)"; pg_get_function_identity_arguments has
 * modes, names, VARIADIC and ORDER BY, all of which DROP accepts.
 */
const char rs_undo_drop_name_sql[] =
	"CASE o.cls"
	" WHEN 'pg_catalog.pg_proc'::pg_catalog.regclass THEN (SELECT pg_catalog.format('%I.%I(%s)',"
	"  n.nspname, p.proname, CASE WHEN p.prokind = 'a' AND p.pronargs = 0 THEN '*'"
	"  ELSE pg_catalog.pg_get_function_identity_arguments(p.oid) END)"
	"  FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace"
	"  WHERE p.oid = o.objid)"
	/* "for integer on language sql" is not DROP TRANSFORM's syntax */
	" WHEN 'pg_catalog.pg_transform'::pg_catalog.regclass THEN (SELECT"
	"  pg_catalog.format('FOR %s LANGUAGE %I', pg_catalog.format_type(t.trftype, NULL), l.lanname)"
	"  FROM pg_catalog.pg_transform t JOIN pg_catalog.pg_language l ON l.oid = t.trflang"
	"  WHERE t.oid = o.objid)"
	" WHEN 'pg_catalog.pg_user_mapping'::pg_catalog.regclass THEN (SELECT"
	"  pg_catalog.format('FOR %s SERVER %I', CASE WHEN m.umuser = 0 THEN 'PUBLIC'"
	"  ELSE pg_catalog.quote_ident(m.usename) END, m.srvname)"
	"  FROM pg_catalog.pg_user_mappings m WHERE m.umid = o.objid)"
	" ELSE i.identity END";

#define D RS_UNDO_KIND_DROP
#define C RS_UNDO_KIND_COMMENT
#define DC (RS_UNDO_KIND_DROP | RS_UNDO_KIND_COMMENT)
const char *rs_undo_kind(const char *type, unsigned how)
{
	static const struct {
		const char *type, *kw;
		unsigned how;
	} map[] = {
		{ "table", "TABLE", DC }, { "view", "VIEW", DC },
		{ "materialized view", "MATERIALIZED VIEW", DC },
		{ "sequence", "SEQUENCE", DC }, { "foreign table", "FOREIGN TABLE", DC },
		{ "type", "TYPE", DC }, { "function", "FUNCTION", DC },
		{ "procedure", "PROCEDURE", DC }, { "aggregate", "AGGREGATE", DC },
		{ "collation", "COLLATION", DC }, { "conversion", "CONVERSION", DC },
		{ "text search configuration", "TEXT SEARCH CONFIGURATION", DC },
		{ "text search dictionary", "TEXT SEARCH DICTIONARY", DC },
		{ "text search parser", "TEXT SEARCH PARSER", DC },
		{ "text search template", "TEXT SEARCH TEMPLATE", DC },
		{ "operator", "OPERATOR", DC }, { "operator class", "OPERATOR CLASS", DC },
		{ "operator family", "OPERATOR FAMILY", DC }, { "cast", "CAST", DC },
		{ "language", "LANGUAGE", DC }, { "transform", "TRANSFORM", DC },
		{ "foreign-data wrapper", "FOREIGN DATA WRAPPER", DC },
		{ "server", "SERVER", DC }, { "user mapping", "USER MAPPING", D },
		{ "event trigger", "EVENT TRIGGER", DC },
		{ "publication", "PUBLICATION", DC }, { "subscription", "SUBSCRIPTION", DC },
		{ "statistics object", "STATISTICS", DC },
		{ "access method", "ACCESS METHOD", DC },
		{ "extension", "EXTENSION", DC }, { "schema", "SCHEMA", DC },
		{ "role", "ROLE", DC },
		/* parts of others: commented on, dropped with them */
		{ "table column", "COLUMN", C }, { "index", "INDEX", C },
		{ "table constraint", "CONSTRAINT", C }, { "trigger", "TRIGGER", C },
		{ "policy", "POLICY", C }, { "rule", "RULE", C },
		{ "large object", "LARGE OBJECT", C }, { "database", "DATABASE", C },
		{ "tablespace", "TABLESPACE", C },
	};

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (!strcmp(type, map[i].type))
			return map[i].how & how ? map[i].kw : NULL;
	return NULL;
}
#undef D
#undef C
#undef DC

/* 0 for objects in schemas, 1 extensions, 2 schemas, 3 roles: the
 * order the drops run in (roles: rs_undo_drop_roles, last) */
static int rs_undo_rank(const char *kw)
{
	return !strcmp(kw, "EXTENSION") ? 1 : !strcmp(kw, "SCHEMA") ? 2 :
	       !strcmp(kw, "ROLE") ? 3 : 0;
}

/* the catalogs whose new entries are objects of their own */
static int rs_undo_object_cat(const char *cat, size_t len)
{
	static const char *const cats[] = {
		"pg_namespace", "pg_class", "pg_type", "pg_proc", "pg_extension",
		"pg_collation", "pg_conversion", "pg_operator", "pg_opclass",
		"pg_opfamily", "pg_cast", "pg_language", "pg_ts_config", "pg_ts_dict",
		"pg_ts_parser", "pg_ts_template", "pg_foreign_data_wrapper",
		"pg_foreign_server", "pg_user_mapping", "pg_event_trigger",
		"pg_publication", "pg_subscription", "pg_statistic_ext", "pg_am",
		"pg_transform", "pg_authid", NULL,
	};

	for (size_t k = 0; cats[k]; k++)
		if (strlen(cats[k]) == len && !memcmp(cat, cats[k], len))
			return 1;
	return 0;
}

static int rs_undo_new_one(void *ctx, const char *line, const char *old)
{
	struct rs_undo_new *n = ctx;
	const char *tab = strchr(line, '\t');
	size_t kl = rs_undo_keylen(line);
	size_t catlen = tab ? (size_t)(tab - line) : 0;
	int r;

	if (old || !tab || memchr(tab + 1, ':', kl - catlen - 1))
		return 0;
	r = rs_undo_array_add(&n->all_cats, line, catlen);
	if (r == 0)
		r = rs_undo_array_add(&n->all_oids, tab + 1, kl - catlen - 1);
	if (r < 0 || !rs_undo_object_cat(line, catlen))
		return r;
	r = rs_undo_array_add(&n->cats, line, catlen);
	if (r == 0)
		r = rs_undo_array_add(&n->oids, tab + 1, kl - catlen - 1);
	if (r == 0 && rs_undo_is_cat(line, "pg_authid")) {
		r = rs_undo_array_add(&n->roles, tab + 1, kl - catlen - 1);
		n->nroles++;
	}
	n->n++;
	return r;
}

int rs_undo_new_list(struct rs_undo_new *n, const struct rs_undo_fp *before,
		     const struct rs_undo_fp *after)
{
	struct buf *const arrays[] = { &n->cats, &n->oids, &n->all_cats, &n->all_oids,
				       &n->roles };
	int r = 0;

	memset(n, 0, sizeof(*n));
	for (size_t k = 0; k < 5 && r == 0; k++) {
		buf_init(arrays[k], 0);
		r = buf_addch(arrays[k], '{');
	}
	if (r == 0)
		r = rs_undo_fp_walk(before, after, rs_undo_new_one, n);
	for (size_t k = 0; k < 5 && r == 0; k++)
		r = buf_addch(arrays[k], '}');
	return r;
}

void rs_undo_new_release(struct rs_undo_new *n)
{
	buf_release(&n->cats);
	buf_release(&n->oids);
	buf_release(&n->all_cats);
	buf_release(&n->all_oids);
	buf_release(&n->roles);
}

/* the memberships granted between roles that both existed: REVOKEs */
struct rs_undo_members {
	const struct rs_undo_fp *before;
	PGconn *c;
	char ***v;
	size_t *nv;
	struct buf *err;
};

static int rs_undo_member(void *ctx, const char *line, const char *old)
{
	static const char sql[] =
		"SELECT pg_catalog.format('REVOKE %I FROM %I', r.rolname, m.rolname)"
		" FROM pg_catalog.pg_roles r, pg_catalog.pg_roles m"
		" WHERE r.oid = $1::pg_catalog.oid AND m.oid = $2::pg_catalog.oid";
	struct rs_undo_members *x = ctx;
	const char *k = line + strlen("pg_auth_members\t"), *colon = strchr(k, ':');
	const char *end = strchr(k, '\t');
	struct buf role = BUF_INIT, member = BUF_INIT;
	const char *params[2];
	PGresult *res = NULL;
	int r = 0;

	if (old || !rs_undo_is_cat(line, "pg_auth_members") || !colon || !end || colon > end)
		return 0;
	r = buf_add(&role, "pg_authid\t", 10);
	if (r == 0)
		r = buf_add(&role, k, (size_t)(colon - k));
	if (r == 0)
		r = buf_add(&member, "pg_authid\t", 10);
	if (r == 0)
		r = buf_add(&member, colon + 1, (size_t)(end - colon - 1));
	if (r == 0 && rs_undo_fp_find(x->before, (char *)role.data) &&
	    rs_undo_fp_find(x->before, (char *)member.data)) {
		params[0] = (char *)role.data + 10;
		params[1] = (char *)member.data + 10;
		r = pg_conn_query(x->c, &res, PGRES_TUPLES_OK, sql, 2, params,
				  "naming a membership (restore undo)", x->err);
		if (r == 0 && PQntuples(res) == 1)
			r = strv_push(x->v, x->nv, PQgetvalue(res, 0, 0));
		PQclear(res);
	}
	buf_release(&role);
	buf_release(&member);
	return r;
}

/* The statements that drop one object of keyword kw named name. */
static int rs_undo_drop_one(char ***v, size_t *nv, const char *kw, const char *name)
{
	int r = 0;

	/* the dump's subscriptions are made with connect = false, naming
	 * the source's slot on the publisher: that slot is not this
	 * database's to drop, and DROP would try (and refuse to run in a
	 * transaction) while the subscription names one */
	if (!strcmp(kw, "SUBSCRIPTION")) {
		r = strv_pushf(v, nv, "ALTER SUBSCRIPTION %s DISABLE", name);
		if (r == 0)
			r = strv_pushf(v, nv, "ALTER SUBSCRIPTION %s SET (slot_name = NONE)", name);
		return r ? r : strv_pushf(v, nv, "DROP SUBSCRIPTION IF EXISTS %s", name);
	}
	if (!strcmp(kw, "USER MAPPING"))
		return strv_pushf(v, nv, "DROP USER MAPPING IF EXISTS %s", name);
	return strv_pushf(v, nv, "DROP %s IF EXISTS %s CASCADE", kw, name);
}

int rs_undo_drop_build(PGconn *c, const struct rs_undo_fp *before,
		       const struct rs_undo_fp *after, const struct rs_undo_new *n,
		       char ***v, size_t *nv, struct buf *err)
{
	struct buf sql = BUF_INIT;
	char **revokes = NULL;
	size_t nrevokes = 0;
	struct rs_undo_members m = { before, c, &revokes, &nrevokes, err };
	PGresult *res = NULL;
	int r = 0;

	if (n->n) {
		const char *params[2] = { (char *)n->cats.data, (char *)n->oids.data };

		r = buf_addf(&sql, "SELECT i.type, %s, EXISTS (SELECT 1 FROM pg_catalog.pg_depend d"
			     "  WHERE d.classid = o.cls AND d.objid = o.objid"
			     "  AND d.objsubid = 0 AND d.deptype IN ('i', 'a', 'e'))"
			     " FROM (SELECT ('pg_catalog.' || u.cat)::pg_catalog.regclass AS cls, u.objid, u.n"
			     "  FROM ROWS FROM (pg_catalog.unnest($1::text[]), pg_catalog.unnest($2::pg_catalog.oid[]))"
			     "  WITH ORDINALITY u(cat, objid, n)) o,"
			     " pg_catalog.pg_identify_object(o.cls, o.objid, 0) i"
			     " ORDER BY o.n DESC", rs_undo_drop_name_sql);
		if (r == 0)
			r = pg_conn_query(c, &res, PGRES_TUPLES_OK, (char *)sql.data, 2, params,
					  "naming the new objects (restore undo)", err);
	}
	if (r == 0)
		r = rs_undo_fp_walk(before, after, rs_undo_member, &m);
	for (int rank = 0; r == 0 && rank < 3; rank++) {
		for (int k = 0; r == 0 && res && k < PQntuples(res); k++) {
			const char *kw = rs_undo_kind(PQgetvalue(res, k, 0), RS_UNDO_KIND_DROP);

			/* parts of others go with them */
			if (!kw || PQgetisnull(res, k, 1) || PQgetvalue(res, k, 2)[0] == 't' ||
			    rs_undo_rank(kw) != rank)
				continue;
			r = rs_undo_drop_one(v, nv, kw, PQgetvalue(res, k, 1));
		}
	}
	/* memberships between roles that stay, before roles */
	for (size_t i = 0; r == 0 && i < nrevokes; i++)
		r = strv_push(v, nv, revokes[i]);
	PQclear(res);
	strv_free(revokes, nrevokes);
	buf_release(&sql);
	return r;
}

int rs_undo_drop_roles(PGconn *c, const struct rs_undo_new *n, char ***v,
		       size_t *nv, struct buf *err)
{
	static const char sql[] =
		"SELECT pg_catalog.quote_ident(r.rolname), EXISTS (SELECT 1 FROM pg_catalog.pg_shdepend d"
		"  WHERE d.refclassid = 'pg_catalog.pg_authid'::pg_catalog.regclass AND d.refobjid = r.oid"
		"  AND (d.dbid = 0 OR d.dbid = (SELECT b.oid FROM pg_catalog.pg_database b"
		"   WHERE b.datname = pg_catalog.current_database())))"
		" FROM pg_catalog.unnest($1::pg_catalog.oid[]) WITH ORDINALITY u(o, n)"
		" JOIN pg_catalog.pg_roles r ON r.oid = u.o ORDER BY u.n DESC";
	const char *params[1] = { (char *)n->roles.data };
	PGresult *res = NULL;
	int r;

	if (!n->nroles)
		return 0;
	r = pg_conn_query(c, &res, PGRES_TUPLES_OK, sql, 1, params,
			  "naming the new roles (restore undo)", err);
	for (int k = 0; r == 0 && k < PQntuples(res); k++) {
		/* only the restore's own roles get here: what they still own
		 * or hold (a default privilege, a grant on a catalog, a large
		 * object) would keep DROP ROLE from running */
		if (PQgetvalue(res, k, 1)[0] == 't')
			r = strv_pushf(v, nv, "DROP OWNED BY %s", PQgetvalue(res, k, 0));
		if (r == 0)
			r = strv_pushf(v, nv, "DROP ROLE IF EXISTS %s", PQgetvalue(res, k, 0));
	}
	PQclear(res);
	return r;
}

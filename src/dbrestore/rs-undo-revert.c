/*
 * rs-undo-revert: the statements that give entries which existed before
 * a restore what they held (rs-undo-int.h).
 *
 * A dump changes some objects every database has: it grants on schema
 * public, comments on it, gives it to another owner, grants on catalog
 * columns and functions, sets default privileges (and its roles.sql
 * settings) of roles that exist.
 * Dropping what the restore created cannot take those back, so they are
 * put back here, from the values rs_undo_fp_values kept: grants as the
 * difference between the old ACL and the one now (the old owner's
 * entries read as the new owner's, since ALTER OWNER renames them), the
 * old owner of a schema, the old comment.  Grants are revoked and given
 * as the owner (what GRANT does for a superuser); entries granted by
 * another role, or changes of another kind, are not put back, and the
 * proof says so.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pg-conn.h"
#include "rs-undo-int.h"
#include "strv.h"

/* the revert's input: catalog, key and old value (json, or NULL) of
 * each entry, as three text[] literals */
struct rs_undo_in {
	struct buf cat, key, old;
	size_t n;
};

/* what rs_undo_revert_pick sorts the entries into */
struct rs_undo_pick {
	const struct rs_undo_fp *vals;
	struct rs_undo_in acl, defacl, comment, settings;
};

static int rs_undo_in_init(struct rs_undo_in *in)
{
	buf_init(&in->cat, 0);
	buf_init(&in->key, 0);
	buf_init(&in->old, 0);
	in->n = 0;
	if (buf_addch(&in->cat, '{') || buf_addch(&in->key, '{') || buf_addch(&in->old, '{'))
		return -ENOMEM;
	return 0;
}

static int rs_undo_in_end(struct rs_undo_in *in)
{
	if (buf_addch(&in->cat, '}') || buf_addch(&in->key, '}') || buf_addch(&in->old, '}'))
		return -ENOMEM;
	return 0;
}

static void rs_undo_in_release(struct rs_undo_in *in)
{
	buf_release(&in->cat);
	buf_release(&in->key);
	buf_release(&in->old);
}

static int rs_undo_in_add(struct rs_undo_in *in, const char *line, const char *val)
{
	const char *tab = strchr(line, '\t');
	size_t kl = rs_undo_keylen(line);
	int r = rs_undo_array_add(&in->cat, line, (size_t)(tab - line));

	if (r == 0)
		r = rs_undo_array_add(&in->key, tab + 1, kl - (size_t)(tab + 1 - line));
	if (r == 0 && val)
		r = rs_undo_array_add(&in->old, val, strlen(val));
	else if (r == 0)
		r = buf_addstr(&in->old, in->old.len > 1 ? ",NULL" : "NULL");
	in->n++;
	return r;
}

/* The entries that may be put back, by what puts them back. */
static int rs_undo_revert_pick(void *ctx, const char *line, const char *old)
{
	static const char *const acls[] = {
		"pg_namespace", "pg_class", "pg_attribute", "pg_proc", "pg_type",
		"pg_language", "pg_foreign_data_wrapper", "pg_foreign_server", NULL,
	};
	struct rs_undo_pick *p = ctx;
	const char *kept, *val;

	/* a new entry (most of them) of a catalog no revert puts back:
	 * before the search of vals */
	if (!old && !rs_undo_is_cat(line, "pg_default_acl") &&
	    !rs_undo_is_cat(line, "pg_db_role_setting") &&
	    !rs_undo_is_cat(line, "pg_description") && !rs_undo_is_cat(line, "pg_shdescription"))
		return 0;
	kept = rs_undo_fp_find(p->vals, line);
	val = kept ? rs_undo_rest(kept) : NULL;
	if (rs_undo_is_cat(line, "pg_default_acl"))
		return rs_undo_in_add(&p->defacl, line, old ? val : NULL);
	/* new settings of a role (per database or not); changed ones are
	 * left to the proof */
	if (rs_undo_is_cat(line, "pg_db_role_setting"))
		return old ? 0 : rs_undo_in_add(&p->settings, line, NULL);
	/* a changed comment whose old text was not kept: left to the proof */
	if (rs_undo_is_cat(line, "pg_description") || rs_undo_is_cat(line, "pg_shdescription"))
		return old && !val ? 0 : rs_undo_in_add(&p->comment, line, old ? val : NULL);
	for (size_t k = 0; old && acls[k]; k++)
		if (rs_undo_is_cat(line, acls[k]))
			return rs_undo_in_add(&p->acl, line, val);
	return 0;
}

/* i: the input rows (n, cat, k, old jsonb) */
#define RS_UNDO_IN \
	"WITH i AS (SELECT u.n, u.cat, u.k, u.old::jsonb AS old FROM ROWS FROM" \
	" (pg_catalog.unnest($1::text[]), pg_catalog.unnest($2::text[]), pg_catalog.unnest($3::text[]))" \
	" WITH ORDINALITY u(cat, k, old, n))"

/* the grantee of an aclexplode row as GRANT names it */
#define RS_UNDO_GRANTEE(g) \
	"CASE WHEN " g " = 0 THEN 'PUBLIC' ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(" g ")) END"

/* an ACL for aclexplode, which refuses an empty one (a column's default,
 * a schema's default privileges) */
#define RS_UNDO_ITEMS(acl) \
	"(SELECT CASE WHEN pg_catalog.cardinality(v.a) > 0 THEN v.a END FROM (SELECT " acl " AS a) v)"

/*
 * From o (n, what, col, acl, owner, kind, oldacl, oldowner, head, tail):
 * the grants now (cur) and before (was) as (n, grantee, privilege,
 * grantable), then a REVOKE for what was not there, a GRANT for what
 * was, each "head PRIV[ (col)] ON what TO/FROM grantee".
 */
#define RS_UNDO_DIFF \
	", cur AS (SELECT o.n, CASE WHEN a.grantee = o.owner AND o.oldowner IS NOT NULL" \
	"  THEN o.oldowner ELSE a.grantee END AS g, a.privilege_type AS p, pg_catalog.bool_or(a.is_grantable) AS gr" \
	"  FROM o, pg_catalog.aclexplode(" RS_UNDO_ITEMS("COALESCE(o.acl, pg_catalog.acldefault(o.kind, o.owner))") ") a" \
	"  GROUP BY 1, 2, 3)," \
	" was AS (SELECT o.n, a.grantee AS g, a.privilege_type AS p, pg_catalog.bool_or(a.is_grantable) AS gr" \
	"  FROM o, pg_catalog.aclexplode(" RS_UNDO_ITEMS("COALESCE(o.oldacl, pg_catalog.acldefault(o.kind," \
	"  COALESCE(o.oldowner, o.owner)))") ") a GROUP BY 1, 2, 3)" \
	" SELECT s FROM (" \
	"SELECT o.n, 0 AS step, pg_catalog.format('ALTER %s OWNER TO %I', o.what," \
	"  pg_catalog.pg_get_userbyid(o.oldowner)) AS s FROM o" \
	"  WHERE o.oldowner IS NOT NULL AND o.oldowner <> o.owner" \
	" UNION ALL SELECT c.n, 1, pg_catalog.format('%sREVOKE %s%s%s ON %s FROM %s', o.head," \
	"  CASE WHEN w.n IS NULL THEN '' ELSE 'GRANT OPTION FOR ' END, c.p," \
	"  CASE WHEN o.col IS NULL THEN '' ELSE pg_catalog.format(' (%I)', o.col) END, o.what, " RS_UNDO_GRANTEE("c.g") ")" \
	"  FROM cur c JOIN o ON o.n = c.n LEFT JOIN was w ON w.n = c.n AND w.g = c.g AND w.p = c.p" \
	"  WHERE w.n IS NULL OR (c.gr AND NOT w.gr)" \
	" UNION ALL SELECT w.n, 2, pg_catalog.format('%sGRANT %s%s ON %s TO %s%s', o.head, w.p," \
	"  CASE WHEN o.col IS NULL THEN '' ELSE pg_catalog.format(' (%I)', o.col) END, o.what, " RS_UNDO_GRANTEE("w.g") "," \
	"  CASE WHEN w.gr THEN ' WITH GRANT OPTION' ELSE '' END)" \
	"  FROM was w JOIN o ON o.n = w.n LEFT JOIN cur c ON c.n = w.n AND c.g = w.g AND c.p = w.p" \
	"  WHERE c.n IS NULL OR (w.gr AND NOT c.gr)" \
	") q ORDER BY q.n, q.step, q.s"

/* grants (and owners) of objects that existed */
static const char rs_undo_acl_sql[] =
	RS_UNDO_IN ", o AS (SELECT i.n, x.what, x.col, x.acl, x.owner, x.kind, ''::text AS head,"
	" (i.old->>'acl')::pg_catalog.aclitem[] AS oldacl, (i.old->>'owner')::pg_catalog.oid AS oldowner"
	" FROM i, LATERAL ("
	"SELECT pg_catalog.format('SCHEMA %I', s.nspname) AS what, NULL::name AS col, s.nspacl AS acl,"
	"  s.nspowner AS owner, 'n'::\"char\" AS kind"
	"  FROM pg_catalog.pg_namespace s WHERE i.cat = 'pg_namespace' AND s.oid = i.k::pg_catalog.oid"
	" UNION ALL SELECT pg_catalog.format('%s %s', CASE c.relkind WHEN 'S' THEN 'SEQUENCE' ELSE 'TABLE' END,"
	"  c.oid::pg_catalog.regclass), NULL, c.relacl, c.relowner,"
	"  CASE c.relkind WHEN 'S' THEN 's' ELSE 'r' END::\"char\""
	"  FROM pg_catalog.pg_class c WHERE i.cat = 'pg_class' AND c.oid = i.k::pg_catalog.oid"
	" UNION ALL SELECT pg_catalog.format('TABLE %s', c.oid::pg_catalog.regclass), a.attname, a.attacl,"
	"  c.relowner, 'c' FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_class c ON c.oid = a.attrelid"
	"  WHERE i.cat = 'pg_attribute' AND a.attrelid = pg_catalog.split_part(i.k, ':', 1)::pg_catalog.oid"
	"  AND a.attnum = pg_catalog.split_part(i.k, ':', 2)::pg_catalog.int2"
	" UNION ALL SELECT pg_catalog.format('%s %I.%I(%s)', CASE p.prokind WHEN 'p' THEN 'PROCEDURE'"
	"  ELSE 'FUNCTION' END, n.nspname, p.proname, pg_catalog.pg_get_function_identity_arguments(p.oid)),"
	"  NULL, p.proacl, p.proowner, 'f' FROM pg_catalog.pg_proc p"
	"  JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace"
	"  WHERE i.cat = 'pg_proc' AND p.oid = i.k::pg_catalog.oid"
	" UNION ALL SELECT pg_catalog.format('TYPE %s', pg_catalog.format_type(t.oid, NULL)), NULL, t.typacl,"
	"  t.typowner, 'T' FROM pg_catalog.pg_type t WHERE i.cat = 'pg_type' AND t.oid = i.k::pg_catalog.oid"
	" UNION ALL SELECT pg_catalog.format('LANGUAGE %I', l.lanname), NULL, l.lanacl, l.lanowner, 'l'"
	"  FROM pg_catalog.pg_language l WHERE i.cat = 'pg_language' AND l.oid = i.k::pg_catalog.oid"
	" UNION ALL SELECT pg_catalog.format('FOREIGN DATA WRAPPER %I', w.fdwname), NULL, w.fdwacl,"
	"  w.fdwowner, 'F' FROM pg_catalog.pg_foreign_data_wrapper w"
	"  WHERE i.cat = 'pg_foreign_data_wrapper' AND w.oid = i.k::pg_catalog.oid"
	" UNION ALL SELECT pg_catalog.format('FOREIGN SERVER %I', v.srvname), NULL, v.srvacl, v.srvowner, 'S'"
	"  FROM pg_catalog.pg_foreign_server v WHERE i.cat = 'pg_foreign_server' AND v.oid = i.k::pg_catalog.oid"
	") x)" RS_UNDO_DIFF;

/* a new object (of $4, $5: the new entries' catalogs and oids) */
#define RS_UNDO_IS_NEW(cat, oid) \
	"EXISTS (SELECT 1 FROM ROWS FROM (pg_catalog.unnest($4::text[]), pg_catalog.unnest($5::pg_catalog.oid[]))" \
	" w(cat, oid) WHERE w.cat = " cat " AND w.oid = " oid ")"

/*
 * Default privileges of roles and schemas that existed (those of new
 * ones go with DROP OWNED BY and DROP SCHEMA): back to the old ones, or
 * to the built-in ones for an entry that is new, which the server then
 * removes.
 */
static const char rs_undo_defacl_sql[] =
	RS_UNDO_IN ", o AS (SELECT i.n, CASE d.defaclobjtype WHEN 'r' THEN 'TABLES' WHEN 'S' THEN 'SEQUENCES'"
	"  WHEN 'f' THEN 'FUNCTIONS' WHEN 'T' THEN 'TYPES' WHEN 'n' THEN 'SCHEMAS' END AS what,"
	" NULL::name AS col, d.defaclacl AS acl, d.defaclrole AS owner,"
	" CASE d.defaclobjtype WHEN 'S' THEN 's' ELSE d.defaclobjtype END AS kind,"
	" pg_catalog.format('ALTER DEFAULT PRIVILEGES FOR ROLE %I%s ', pg_catalog.pg_get_userbyid(d.defaclrole),"
	"  CASE WHEN d.defaclnamespace = 0 THEN '' ELSE pg_catalog.format(' IN SCHEMA %I', s.nspname) END) AS head,"
	" COALESCE((i.old->>'acl')::pg_catalog.aclitem[], CASE WHEN d.defaclnamespace = 0 THEN"
	"  pg_catalog.acldefault(CASE d.defaclobjtype WHEN 'S' THEN 's' ELSE d.defaclobjtype END, d.defaclrole)"
	"  ELSE '{}' END) AS oldacl, NULL::pg_catalog.oid AS oldowner"
	" FROM i JOIN pg_catalog.pg_default_acl d ON d.oid = i.k::pg_catalog.oid"
	" LEFT JOIN pg_catalog.pg_namespace s ON s.oid = d.defaclnamespace"
	" WHERE NOT " RS_UNDO_IS_NEW("'pg_authid'", "d.defaclrole")
	" AND NOT " RS_UNDO_IS_NEW("'pg_namespace'", "d.defaclnamespace") ")" RS_UNDO_DIFF;

/*
 * Settings a role that existed got (ALTER ROLE r [IN DATABASE d] SET,
 * from roles.sql), where it had none: reset (those of new roles go with
 * DROP ROLE).
 */
static const char rs_undo_settings_sql[] =
	RS_UNDO_IN " SELECT pg_catalog.format('ALTER ROLE %I%s RESET ALL', r.rolname,"
	"  CASE WHEN s.setdatabase = 0 THEN '' ELSE pg_catalog.format(' IN DATABASE %I', d.datname) END)"
	" FROM i JOIN pg_catalog.pg_db_role_setting s"
	"  ON s.setdatabase = pg_catalog.split_part(i.k, ':', 1)::pg_catalog.oid"
	"  AND s.setrole = pg_catalog.split_part(i.k, ':', 2)::pg_catalog.oid"
	" JOIN pg_catalog.pg_roles r ON r.oid = s.setrole"
	" LEFT JOIN pg_catalog.pg_database d ON d.oid = s.setdatabase"
	" WHERE NOT " RS_UNDO_IS_NEW("'pg_authid'", "s.setrole") " ORDER BY i.n";

/* The statements of a query on in (and, with nparams 5, n as $4 and
 * $5). */
static int rs_undo_revert_run(PGconn *c, const char *sql, int nparams,
			      const struct rs_undo_in *in, const struct rs_undo_new *n,
			      char ***v, size_t *nv, struct buf *err)
{
	const char *params[5] = { (char *)in->cat.data, (char *)in->key.data,
				  (char *)in->old.data, (char *)n->all_cats.data,
				  (char *)n->all_oids.data };
	PGresult *res = NULL;
	int r;

	if (!in->n)
		return 0;
	r = pg_conn_query(c, &res, PGRES_TUPLES_OK, sql, nparams, params,
			  "working out what puts back the objects that existed (restore undo)", err);
	for (int k = 0; r == 0 && k < PQntuples(res); k++)
		r = strv_push(v, nv, PQgetvalue(res, k, 0));
	PQclear(res);
	return r;
}

/*
 * Comments on objects that existed (comments on new ones go with
 * them): back to the old text, or NULL for a new comment.  Large
 * objects are not among the objects fingerprinted: the undo unlinks
 * those the restore created before it looks, so the comments left on
 * large objects are on ones that existed.
 */
static int rs_undo_revert_comments(PGconn *c, const struct rs_undo_in *in,
				   const struct rs_undo_new *n, char ***v, size_t *nv,
				   struct buf *err)
{
	struct buf sql = BUF_INIT;
	const char *params[5] = { (char *)in->cat.data, (char *)in->key.data,
				  (char *)in->old.data, (char *)n->all_cats.data,
				  (char *)n->all_oids.data };
	PGresult *res = NULL;
	int r = 0;

	if (!in->n)
		return 0;
	r = buf_addf(&sql, RS_UNDO_IN ", o AS (SELECT i.n,"
		     " pg_catalog.split_part(i.k, ':', 1)::pg_catalog.oid::pg_catalog.regclass AS cls,"
		     " pg_catalog.split_part(i.k, ':', 2)::pg_catalog.oid AS objid,"
		     " COALESCE(NULLIF(pg_catalog.split_part(i.k, ':', 3), ''), '0')::int AS sub,"
		     " i.old->>'comment' AS old FROM i)"
		     " SELECT i.type, %s, pg_catalog.quote_nullable(o.old) FROM o,"
		     " pg_catalog.pg_identify_object(o.cls, o.objid, o.sub) i"
		     " WHERE NOT EXISTS (SELECT 1 FROM ROWS FROM (pg_catalog.unnest($4::text[]),"
		     "  pg_catalog.unnest($5::pg_catalog.oid[])) w(cat, oid)"
		     "  WHERE ('pg_catalog.' || w.cat)::pg_catalog.regclass = o.cls AND w.oid = o.objid)"
		     " ORDER BY o.n", rs_undo_drop_name_sql);
	if (r == 0)
		r = pg_conn_query(c, &res, PGRES_TUPLES_OK, (char *)sql.data, 5, params,
				  "naming the comments to put back (restore undo)", err);
	for (int k = 0; r == 0 && k < PQntuples(res); k++) {
		const char *kw = rs_undo_kind(PQgetvalue(res, k, 0), RS_UNDO_KIND_COMMENT);

		/* a kind COMMENT cannot name: left to the proof */
		if (kw && !PQgetisnull(res, k, 1))
			r = strv_pushf(v, nv, "COMMENT ON %s %s IS %s", kw, PQgetvalue(res, k, 1),
				       PQgetvalue(res, k, 2));
	}
	PQclear(res);
	buf_release(&sql);
	return r;
}

int rs_undo_revert_build(PGconn *c, const struct rs_undo_fp *before,
			 const struct rs_undo_fp *after, const struct rs_undo_fp *vals,
			 const struct rs_undo_new *n, char ***v, size_t *nv,
			 struct buf *err)
{
	struct rs_undo_pick p;
	int r;

	memset(&p, 0, sizeof(p));
	p.vals = vals;
	r = rs_undo_in_init(&p.acl);
	if (r == 0)
		r = rs_undo_in_init(&p.defacl);
	if (r == 0)
		r = rs_undo_in_init(&p.comment);
	if (r == 0)
		r = rs_undo_in_init(&p.settings);
	if (r == 0)
		r = rs_undo_fp_walk(before, after, rs_undo_revert_pick, &p);
	if (r == 0)
		r = rs_undo_in_end(&p.acl);
	if (r == 0)
		r = rs_undo_in_end(&p.defacl);
	if (r == 0)
		r = rs_undo_in_end(&p.comment);
	if (r == 0)
		r = rs_undo_in_end(&p.settings);
	if (r == 0)
		r = rs_undo_revert_run(c, rs_undo_acl_sql, 3, &p.acl, n, v, nv, err);
	if (r == 0)
		r = rs_undo_revert_run(c, rs_undo_defacl_sql, 5, &p.defacl, n, v, nv, err);
	if (r == 0)
		r = rs_undo_revert_comments(c, &p.comment, n, v, nv, err);
	if (r == 0)
		r = rs_undo_revert_run(c, rs_undo_settings_sql, 5, &p.settings, n, v, nv, err);
	rs_undo_in_release(&p.settings);
	rs_undo_in_release(&p.acl);
	rs_undo_in_release(&p.defacl);
	rs_undo_in_release(&p.comment);
	return r;
}

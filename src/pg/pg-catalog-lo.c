/*
 * pg-catalog-lo: db/large_objects.sql, what a large object carries
 * besides its bytes (db/large_objects/<oid>): its owner, its grants and
 * its comment, the statements pg_dump writes around a BLOB entry.
 *
 * One pg_dump-style section per large object ("Name: <oid>; Type: LARGE
 * OBJECT"), so the file splits and sanitizes like schema.sql:
 *
 *   ALTER LARGE OBJECT <oid> OWNER TO <owner>;
 *   -- when its ACL is not the default (NULL):
 *   REVOKE ALL ON LARGE OBJECT <oid> FROM PUBLIC;
 *   REVOKE ALL ON LARGE OBJECT <oid> FROM <owner>;
 *   GRANT <privilege> ON LARGE OBJECT <oid> TO <grantee> [WITH GRANT OPTION];
 *   ...one per aclexplode() row, in the ACL's order, so the ACL comes
 *   back in the same order; a grantor other than the owner between
 *   SET SESSION AUTHORIZATION <grantor>; and RESET SESSION AUTHORIZATION;
 *   as pg_dump does (a superuser's grant is recorded as the owner's)
 *   COMMENT ON LARGE OBJECT <oid> IS '...';
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pg-catalog.h"
#include "pg-conn.h"

int pg_catalog_lo_sql(PGconn *c, struct buf *out, struct buf *err)
{
	/* (oid, part, ACL position, statements) */
	static const char sql[] =
		"SELECT l.oid, 0 AS k, 0::bigint AS n,"
		" pg_catalog.format('ALTER LARGE OBJECT %s OWNER TO %I;', l.oid,"
		"  pg_catalog.pg_get_userbyid(l.lomowner))"
		" FROM pg_catalog.pg_largeobject_metadata l"
		" UNION ALL SELECT l.oid, 1, 0,"
		" pg_catalog.format(E'REVOKE ALL ON LARGE OBJECT %s FROM PUBLIC;\\n"
		"REVOKE ALL ON LARGE OBJECT %s FROM %I;', l.oid, l.oid,"
		"  pg_catalog.pg_get_userbyid(l.lomowner))"
		" FROM pg_catalog.pg_largeobject_metadata l WHERE l.lomacl IS NOT NULL"
		" UNION ALL SELECT l.oid, 2, a.n,"
		" CASE WHEN a.grantor <> l.lomowner THEN pg_catalog.format("
		"  E'SET SESSION AUTHORIZATION %I;\\n', pg_catalog.pg_get_userbyid(a.grantor))"
		"  ELSE '' END"
		" || pg_catalog.format('GRANT %s ON LARGE OBJECT %s TO %s%s;', a.privilege_type,"
		"  l.oid, CASE WHEN a.grantee = 0 THEN 'PUBLIC'"
		"  ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(a.grantee)) END,"
		"  CASE WHEN a.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END)"
		" || CASE WHEN a.grantor <> l.lomowner"
		"  THEN E'\\nRESET SESSION AUTHORIZATION;' ELSE '' END"
		" FROM pg_catalog.pg_largeobject_metadata l CROSS JOIN LATERAL"
		" pg_catalog.aclexplode(l.lomacl) WITH ORDINALITY"
		"  AS a(grantor, grantee, privilege_type, is_grantable, n)"
		" UNION ALL SELECT d.objoid, 3, 0,"
		" pg_catalog.format('COMMENT ON LARGE OBJECT %s IS %L;', d.objoid, d.description)"
		" FROM pg_catalog.pg_description d"
		" WHERE d.classoid = 'pg_catalog.pg_largeobject'::pg_catalog.regclass"
		" AND d.objsubid = 0"
		" AND d.objoid IN (SELECT oid FROM pg_catalog.pg_largeobject_metadata)"
		" ORDER BY 1, 2, 3";
	PGresult *res;
	const char *prev = NULL;
	int r;

	r = pg_conn_query(c, &res, PGRES_TUPLES_OK, sql, 0, NULL,
			  "reading the large objects' owners, grants and comments", err);
	if (r < 0)
		return r;
	r = buf_addstr(out, "--\n-- Large objects: owners, grants and comments (vault)\n--\n\n");
	for (int i = 0; r == 0 && i < PQntuples(res); i++) {
		const char *oid = PQgetvalue(res, i, 0);

		if (!prev || strcmp(prev, oid))
			r = buf_addf(out, "%s--\n-- Name: %s; Type: LARGE OBJECT; Schema: -; Owner: -\n--\n\n",
				     prev ? "\n" : "", oid);
		if (r == 0)
			r = buf_addf(out, "%s\n", PQgetvalue(res, i, 3));
		prev = oid;
	}
	PQclear(res);
	return r;
}

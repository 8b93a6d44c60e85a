/*
 * pg-catalog-seq: db/sequences.sql, one setval per sequence of the
 * captured schemas and per configuration sequence of an extension, read
 * under the capture's snapshot (sequence values themselves are not
 * transactional, as in pg_dump).
 *
 * The value comes from the sequence itself, as pg_dump reads it:
 * pg_sequences.last_value is NULL whenever is_called is false, so
 * setval(s, 60, false) would come back as the start value.  Reading a
 * sequence needs SELECT on it; a role that only has USAGE still gets
 * pg_sequences' view of it (exact once the sequence was used).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pg-catalog-int.h"
#include "pg-conn.h"
#include "pg-names.h"

/* A configuration sequence the capture takes (cat->ext_sequences is
 * sorted like the query below). */
static int pg_catalog_seq_config(const struct pg_catalog *cat,
				 const char *schema, const char *name)
{
	size_t lo = 0, hi = cat->next_sequences;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct pg_catalog_extseq *q = &cat->ext_sequences[mid];
		int c = strcmp(q->schema, schema);

		if (!c)
			c = strcmp(q->name, name);
		if (!c)
			return 1;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

/*
 * One query for every sequence the role may SELECT from: row k is
 * (k, last_value, is_called) of the k-th of them (pick[i] = k for row i
 * of the listing, -1 for the others).
 */
static int pg_catalog_seq_values(PGconn *c, const PGresult *list,
				 const int *pick, PGresult **out, struct buf *err)
{
	struct buf q = BUF_INIT;
	int r = 0, k = 0;

	*out = NULL;
	for (int i = 0; i < PQntuples(list) && r == 0; i++) {
		if (pick[i] < 0)
			continue;
		r = buf_addf(&q, "%sSELECT %d, last_value, is_called FROM ",
			     k++ ? " UNION ALL " : "", pick[i]);
		if (r == 0)
			r = pg_names_quote_qualified(&q, PQgetvalue(list, i, 0),
						     PQgetvalue(list, i, 1));
	}
	if (r == 0 && k)
		r = buf_addstr(&q, " ORDER BY 1");
	if (r == 0 && k)
		r = pg_conn_query(c, out, PGRES_TUPLES_OK, (char *)q.data, 0, NULL,
				  "reading sequence values", err);
	buf_release(&q);
	return r;
}

int pg_catalog_sequences_sql(const struct pg_catalog *cat, PGconn *c,
			     struct buf *out, struct buf *err)
{
	/* pg_sequences hides last_value both before first use and without
	 * privilege; the privilege check tells the two apart */
	static const char sql[] =
		"SELECT s.schemaname, s.sequencename, s.last_value, s.start_value,"
		" pg_catalog.has_sequence_privilege(c.oid, 'SELECT,USAGE'),"
		" pg_catalog.has_sequence_privilege(c.oid, 'SELECT')"
		" FROM pg_catalog.pg_sequences s"
		" JOIN pg_catalog.pg_namespace n ON n.nspname = s.schemaname"
		" JOIN pg_catalog.pg_class c ON c.relnamespace = n.oid"
		"  AND c.relname = s.sequencename"
		" WHERE NOT " PG_CATALOG_EXT_MEMBER("pg_catalog.pg_class", "c.oid")
		"  OR c.oid IN (SELECT pg_catalog.unnest(e.extconfig)"
		"   FROM pg_catalog.pg_extension e)"
		" ORDER BY s.schemaname COLLATE \"C\", s.sequencename COLLATE \"C\"";
	struct buf q = BUF_INIT;
	PGresult *res, *vals = NULL;
	int *pick = NULL, *take = NULL, k = 0;
	int r = pg_conn_query(c, &res, PGRES_TUPLES_OK, sql, 0, NULL,
			      "listing sequences", err);

	if (r < 0)
		return r;
	pick = malloc(((size_t)PQntuples(res) + 1) * sizeof(*pick));
	take = malloc(((size_t)PQntuples(res) + 1) * sizeof(*take));
	if (!pick || !take)
		r = -ENOMEM;
	for (int i = 0; r == 0 && i < PQntuples(res); i++) {
		const char *schema = PQgetvalue(res, i, 0);
		const char *name = PQgetvalue(res, i, 1);

		pick[i] = -1;
		/* an extension's own sequence: only a configuration one,
		 * listed (readable) by pg_catalog_load */
		take[i] = pg_catalog_captured(cat, schema) ||
			  pg_catalog_seq_config(cat, schema, name);
		if (!take[i])
			continue;
		if (PQgetvalue(res, i, 4)[0] != 't') {
			if (err)
				buf_addf(err, "sequence %s.%s: permission denied (the role needs SELECT or USAGE on it)",
					 schema, name);
			r = -EACCES;
			break;
		}
		if (PQgetvalue(res, i, 5)[0] == 't')
			pick[i] = k++;
	}
	if (r == 0)
		r = pg_catalog_seq_values(c, res, pick, &vals, err);
	if (r == 0)
		r = buf_addstr(out, "--\n-- Sequence values at the snapshot (vault)\n--\n\n");
	for (int i = 0; r == 0 && i < PQntuples(res); i++) {
		const char *value, *called;

		if (!take[i])
			continue;
		if (pick[i] >= 0) {
			value = PQgetvalue(vals, pick[i], 1);
			called = PQgetvalue(vals, pick[i], 2)[0] == 't' ? "true" : "false";
		} else {
			/* USAGE only: pg_sequences' value, or the start */
			int used = !PQgetisnull(res, i, 2);

			value = PQgetvalue(res, i, used ? 2 : 3);
			called = used ? "true" : "false";
		}
		buf_reset(&q);
		r = pg_names_quote_qualified(&q, PQgetvalue(res, i, 0), PQgetvalue(res, i, 1));
		if (r == 0)
			r = buf_addstr(out, "SELECT pg_catalog.setval(");
		if (r == 0)
			r = pg_names_quote_literal(out, (char *)q.data);
		if (r == 0)
			r = buf_addf(out, ", %s, %s);\n", value, called);
	}
	PQclear(vals);
	PQclear(res);
	free(pick);
	free(take);
	buf_release(&q);
	return r;
}

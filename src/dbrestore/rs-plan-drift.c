/*
 * rs-plan-drift: whether a table of the target is still defined the way
 * the snapshot defines it, for clean mode, which empties and reloads a
 * table whose definition matches and drops and recreates one that
 * drifted.
 *
 * Two texts cannot be compared: the snapshot holds pg_dump's DDL, the
 * target holds catalogs, and pg_dump's text depends on its version.  So
 * the snapshot's definition is built on the target itself, next to the
 * table, and the two are compared as the server describes them:
 *
 *   in a savepoint, a schema of its own (vault_drift_<backend pid>)
 *   receives the table's sections of schema.sql (CREATE TABLE, its
 *   owned sequences, defaults, constraints, indexes, triggers,
 *   policies, rules, statistics), each statement as the restore would
 *   run it (rs-sanitize's verdicts), with the table's and its own
 *   objects' qualified names moved into that schema; the references to
 *   anything else (a referenced table, a type, a trigger's function)
 *   stay the target's own, as they would be for the recreated table;
 *
 *   one query describes both relations from the catalogs (columns with
 *   type, collation, default, identity, generation, storage; constraints
 *   by pg_get_constraintdef, indexes by pg_get_indexdef, triggers,
 *   policies, rules, extended statistics, owned sequences, owner,
 *   options, row security, partitioning, inheritance), the scratch
 *   schema's name written back as the table's, and returns what differs;
 *   a partition's attachment (ATTACH PARTITION of the table and of its
 *   indexes, which the scratch copy cannot have) is compared as the text
 *   pg_dump writes for it, rebuilt from the target's catalogs;
 *
 *   the savepoint is rolled back: nothing of it stays, not even a lock.
 *
 * Grants, comments, security labels and publication memberships are not
 * part of the definition: the restore applies the snapshot's (rs-plan).
 * A statement that does not build (a type or function the target lacks)
 * makes the table drifted, as does anything this file cannot compare: a
 * mistaken "drifted" only recreates the table, as clean mode always did,
 * while a mistaken "matches" would keep a table that is not the
 * snapshot's, so every doubt goes that way.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pg-conn.h"
#include "pg-names.h"
#include "rs-plan-int.h"
#include "rs-sql.h"
#include "strv.h"

/* sections built in the scratch schema */
static const char *const rs_plan_drift_built[] = {
	"TABLE", "DEFAULT", "SEQUENCE", "SEQUENCE OWNED BY", "CONSTRAINT",
	"CHECK CONSTRAINT", "FK CONSTRAINT", "INDEX", "TRIGGER", "POLICY",
	"ROW SECURITY", "RULE", "STATISTICS", NULL,
};
/* a partition's attachments: compared as text */
static const char *const rs_plan_drift_attach[] = {
	"TABLE ATTACH", "INDEX ATTACH", NULL,
};
/* not part of the definition (the restore runs them on a kept table) */
static const char *const rs_plan_drift_other[] = {
	"COMMENT", "ACL", "SECURITY LABEL", "PUBLICATION TABLE", NULL,
};
/* what a table's sections name of their own, moved with it */
static const char *const rs_plan_drift_named[] = {
	"SEQUENCE", "STATISTICS", NULL,
};

/* The most differences named per table; the rest are counted. */
#define RS_PLAN_DRIFT_REASONS 4

/* ---- the snapshot's definition, in the scratch schema -------------------- */

struct rs_plan_drift_name {
	const char *schema, *name;
};

/* 1 when token t names the identifier s. */
static int rs_plan_drift_is(const struct rs_sql_tok *t, const char *s, struct buf *tmp)
{
	buf_reset(tmp);
	return rs_sql_is_ident(t) && rs_sql_ident(t, tmp) == 0 && !strcmp((char *)tmp->data, s);
}

/*
 * Appends sql[0..len) to out with each qualified name "schema"."name" of
 * names[0..n) written "shadow"."name".  Identifiers only: a name inside
 * a string ('public.t_id_seq'::regclass in a default) stays the
 * target's, which is what the recreated table would use too.
 */
static int rs_plan_drift_rewrite(const char *sql, size_t len,
				 const struct rs_plan_drift_name *names, size_t n,
				 const char *shadow, struct buf *out)
{
	struct rs_sql_lex x;
	struct rs_sql_tok t;
	struct buf tmp = BUF_INIT;
	const char *from = sql;
	int r = 0, after_dot = 0;

	rs_sql_lex_init(&x, sql, len);
	rs_sql_lex_next(&x, &t);
	while (t.kind != RS_SQL_END && r == 0) {
		struct rs_sql_lex peek = x;
		struct rs_sql_tok dot, nm;
		size_t hit = n;

		if (!after_dot && rs_sql_is_ident(&t)) {
			rs_sql_lex_next(&peek, &dot);
			rs_sql_lex_next(&peek, &nm);
			for (size_t i = 0; rs_sql_punct(&dot, '.') && i < n && hit == n; i++)
				if (rs_plan_drift_is(&t, names[i].schema, &tmp) &&
				    rs_plan_drift_is(&nm, names[i].name, &tmp))
					hit = i;
		}
		if (hit == n) {
			after_dot = rs_sql_punct(&t, '.');
			rs_sql_lex_next(&x, &t);
			continue;
		}
		r = buf_add(out, from, (size_t)(t.p - from));
		if (r == 0)
			r = pg_names_quote_ident(out, shadow);
		if (r == 0)
			r = buf_addch(out, '.');
		from = nm.p;	/* the name as written */
		x = peek;
		after_dot = 0;
		rs_sql_lex_next(&x, &t);
	}
	if (r == 0)
		r = buf_add(out, from, (size_t)(sql + len - from));
	buf_release(&tmp);
	return r;
}

/* The sections of the table t in d: their indexes into *v (a vector of
 * size_t the caller frees), *n how many. */
static int rs_plan_drift_sections(const struct pg_ddl *d, const struct rs_meta_table *t,
				  size_t **v, size_t *n)
{
	*v = calloc(pg_ddl_count(d) + 1, sizeof(**v));
	*n = 0;
	if (!*v)
		return -ENOMEM;
	for (size_t i = 0; i < pg_ddl_count(d); i++) {
		const struct pg_ddl_section *s = pg_ddl_get(d, i);

		if (s->rel_schema && !strcmp(s->rel_schema, t->schema) &&
		    !strcmp(s->rel_name, t->name))
			(*v)[(*n)++] = i;
	}
	return 0;
}

static int rs_plan_drift_strcmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * pg_dump writes "SET default_table_access_method = x" (and
 * default_tablespace) only where the setting changes, so a table's
 * sections may rely on one written sections before: sql += the last of
 * each before section first, as the whole script would have set it.
 */
static int rs_plan_drift_settings(const struct rs_plan *p, const struct pg_ddl *d,
				  size_t first, struct buf *sql)
{
	static const char *const sets[] = {
		"SET default_table_access_method ", "SET default_tablespace ",
	};
	const struct rs_sanitized_stmt *last[2] = { NULL, NULL };
	int r = 0;

	for (size_t j = 0; j < rs_sanitized_count(p->san); j++) {
		const struct rs_sanitized_stmt *st = rs_sanitized_get(p->san, j);

		if (st->skip || st->section >= first)
			continue;
		for (size_t k = 0; k < 2; k++)
			if (st->len > strlen(sets[k]) &&
			    !memcmp(pg_ddl_text(d) + st->off, sets[k], strlen(sets[k])))
				last[k] = st;
	}
	for (size_t k = 0; k < 2 && r == 0; k++) {
		if (!last[k])
			continue;
		r = buf_add(sql, pg_ddl_text(d) + last[k]->off, last[k]->len);
		if (r == 0)
			r = buf_addch(sql, '\n');
	}
	return r;
}

/*
 * From the table's sections: sql = the statements that build its
 * definition in shadow, attach = its attachments sorted and joined by
 * newlines (as the comparison query writes the target's), *unknown =
 * the type of a section neither built nor set aside (NULL: none).
 */
static int rs_plan_drift_script(const struct rs_plan *p, const struct pg_ddl *d,
				const struct rs_meta_table *t, const char *shadow,
				struct buf *sql, struct buf *attach, const char **unknown)
{
	struct rs_plan_drift_name *names = NULL;
	char **att = NULL;
	size_t *secs = NULL, nsecs = 0, nnames = 0, natt = 0;
	int r = rs_plan_drift_sections(d, t, &secs, &nsecs);

	*unknown = NULL;
	if (r == 0 && !(names = calloc(nsecs + 2, sizeof(*names))))
		r = -ENOMEM;
	if (r == 0) {
		names[nnames].schema = t->schema;
		names[nnames++].name = t->name;
	}
	for (size_t k = 0; k < nsecs && r == 0; k++) {
		const struct pg_ddl_section *s = pg_ddl_get(d, secs[k]);

		if (rs_plan_read_type_in(s->type, rs_plan_drift_named) && *s->schema) {
			names[nnames].schema = s->schema;
			names[nnames++].name = s->name;
		}
	}
	if (r == 0 && nsecs)
		r = rs_plan_drift_settings(p, d, secs[0], sql);
	for (size_t k = 0; k < nsecs && r == 0; k++) {
		const struct pg_ddl_section *s = pg_ddl_get(d, secs[k]);
		int built = rs_plan_read_type_in(s->type, rs_plan_drift_built);
		int attached = rs_plan_read_type_in(s->type, rs_plan_drift_attach);
		size_t first, cnt;

		if (!built && !attached) {
			if (!rs_plan_read_type_in(s->type, rs_plan_drift_other) && !*unknown)
				*unknown = s->type;
			continue;
		}
		rs_sanitized_section(p->san, secs[k], &first, &cnt);
		for (size_t j = first; j < first + cnt && r == 0; j++) {
			const struct rs_sanitized_stmt *st = rs_sanitized_get(p->san, j);
			const char *text = pg_ddl_text(d) + st->off;

			if (st->skip)
				continue;
			if (attached) {
				struct buf a = BUF_INIT;
				char *as;

				r = buf_add(&a, text, st->len);
				as = r == 0 ? buf_detach(&a, NULL) : NULL;
				buf_release(&a);
				r = as ? strv_take(&att, &natt, as) : -ENOMEM;
				continue;
			}
			r = rs_plan_drift_rewrite(text, st->len, names, nnames, shadow, sql);
			if (r == 0)
				r = buf_addch(sql, '\n');
		}
	}
	if (r == 0 && natt)
		qsort(att, natt, sizeof(*att), rs_plan_drift_strcmp);
	for (size_t k = 0; k < natt && r == 0; k++)
		r = buf_addf(attach, "%s%s", k ? "\n" : "", att[k]);
	strv_free(att, natt);
	free(names);
	free(secs);
	return r;
}

/* ---- comparing ------------------------------------------------------------ */

/*
 * The comparison: $1 the table's schema, $2 the scratch schema, $3 the
 * table's name, $4 the snapshot's attachments.  One row per property
 * that differs: object ("" for the table itself, "column x", "index
 * i" ...), property ("" for the object's existence), and whether the
 * target and the snapshot lack it.  The parts that depend on the server
 * version are inserted between the pieces.
 */
static const char rs_plan_drift_sql_head[] =
	"WITH rel(side, oid) AS ("
	" SELECT 't', c.oid FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
	"  WHERE n.nspname = $1 AND c.relname = $3"
	" UNION ALL"
	" SELECT 's', c.oid FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
	"  WHERE n.nspname = $2 AND c.relname = $3),"
	"d(side, obj, prop, val) AS ("
	" SELECT r.side, '', p.prop, p.val FROM rel r JOIN pg_catalog.pg_class c ON c.oid = r.oid,"
	" LATERAL (VALUES"
	"  ('table kind', c.relkind::text),"
	"  ('persistence', c.relpersistence::text),"
	"  ('access method', coalesce((SELECT am.amname::text FROM pg_catalog.pg_am am WHERE am.oid = c.relam), '')),"
	"  ('owner', pg_catalog.pg_get_userbyid(c.relowner)::text),"
	"  ('storage options', pg_catalog.array_to_string(ARRAY(SELECT o FROM pg_catalog.unnest(c.reloptions) o"
	"    WHERE o NOT LIKE 'pg\\_%'), ',') || ' toast ' || coalesce((SELECT pg_catalog.array_to_string(x.reloptions, ',')"
	"    FROM pg_catalog.pg_class x WHERE x.oid = c.reltoastrelid), '')),"
	"  ('row security', c.relrowsecurity::text || ' ' || c.relforcerowsecurity::text),"
	"  ('replica identity', c.relreplident::text),"
	"  ('partition key', coalesce(pg_catalog.pg_get_partkeydef(c.oid), '')),"
	"  ('inheritance', coalesce((SELECT pg_catalog.string_agg(h.inhparent::pg_catalog.regclass::text, ', ' ORDER BY h.inhseqno)"
	"    FROM pg_catalog.pg_inherits h WHERE h.inhrelid = c.oid AND NOT c.relispartition), '')),"
	"  ('table type', coalesce(pg_catalog.format_type(NULLIF(c.reloftype, 0), NULL), '')),"
	"  ('tablespace', coalesce((SELECT s.spcname::text FROM pg_catalog.pg_tablespace s WHERE s.oid = c.reltablespace), '')),"
	"  ('partition attachment', CASE r.side WHEN 's' THEN $4 ELSE coalesce((SELECT"
	"    pg_catalog.string_agg(x.a, E'\\n' ORDER BY x.a COLLATE \"C\") FROM ("
	"    SELECT pg_catalog.format('ALTER TABLE ONLY %s ATTACH PARTITION %s %s;', h.inhparent::pg_catalog.regclass,"
	"     c.oid::pg_catalog.regclass, pg_catalog.pg_get_expr(c.relpartbound, c.oid))"
	"     FROM pg_catalog.pg_inherits h WHERE h.inhrelid = c.oid AND c.relispartition"
	"    UNION ALL"
	"    SELECT pg_catalog.format('ALTER INDEX %s ATTACH PARTITION %s;', h.inhparent::pg_catalog.regclass,"
	"     i.indexrelid::pg_catalog.regclass) FROM pg_catalog.pg_index i"
	"     JOIN pg_catalog.pg_inherits h ON h.inhrelid = i.indexrelid WHERE i.indrelid = c.oid) x(a)), '') END)"
	" ) p(prop, val)"
	" UNION ALL"
	" SELECT r.side, 'column ' || pg_catalog.quote_ident(a.attname), p.prop, p.val"
	" FROM rel r JOIN pg_catalog.pg_attribute a ON a.attrelid = r.oid AND a.attnum > 0 AND NOT a.attisdropped"
	" LEFT JOIN pg_catalog.pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum,"
	" LATERAL (VALUES ('', ''),"
	/* an inheritance child's columns come in the order its parents
	 * grew, which a CREATE TABLE ... INHERITS cannot write (pg_dump
	 * neither): the load names its columns, so only a table of its own
	 * compares positions */
	"  ('position', CASE WHEN EXISTS (SELECT 1 FROM pg_catalog.pg_inherits h"
	"    JOIN pg_catalog.pg_class hc ON hc.oid = h.inhrelid WHERE h.inhrelid = a.attrelid AND NOT hc.relispartition)"
	"   THEN '' ELSE (SELECT pg_catalog.count(*) FROM pg_catalog.pg_attribute b WHERE b.attrelid = a.attrelid"
	"    AND b.attnum > 0 AND NOT b.attisdropped AND b.attnum <= a.attnum)::text END),"
	"  ('type', pg_catalog.format_type(a.atttypid, a.atttypmod)),"
	"  ('collation', coalesce((SELECT pg_catalog.quote_ident(cn.nspname) || '.' || pg_catalog.quote_ident(co.collname)"
	"    FROM pg_catalog.pg_collation co JOIN pg_catalog.pg_namespace cn ON cn.oid = co.collnamespace"
	"    WHERE co.oid = a.attcollation), '')),"
	"  ('not null', a.attnotnull::text),"
	"  ('default', coalesce(pg_catalog.pg_get_expr(ad.adbin, ad.adrelid), '')),"
	"  ('generated', a.attgenerated::text),"
	"  ('identity', a.attidentity::text),"
	"  ('storage', a.attstorage::text),"
	"  ('statistics', coalesce(a.attstattarget::text, '')),"
	"  ('compression', ";
/* a.attcompression (14 and later) */
static const char rs_plan_drift_sql_cols[] =
	"),"
	/* the server's own options (pg_*) are not the schema's */
	"  ('options', pg_catalog.array_to_string(ARRAY(SELECT o FROM pg_catalog.unnest(a.attoptions) o"
	"    WHERE o NOT LIKE 'pg\\_%'), ',') || ' ' || coalesce(pg_catalog.array_to_string(a.attfdwoptions, ','), ''))"
	" ) p(prop, val)"
	" UNION ALL"
	/* a foreign key a partition inherits is its parent's, not dumped */
	" SELECT r.side, 'constraint ' || pg_catalog.quote_ident(k.conname), p.prop, p.val"
	" FROM rel r JOIN pg_catalog.pg_constraint k ON k.conrelid = r.oid AND NOT (k.contype = 'f' AND k.conparentid <> 0),"
	/* an inherited constraint is its parent's: whether a child
	 * validated it depends on when the child came (built under the
	 * target's parent, the copy is valid; pg_dump's order makes it not) */
	" LATERAL (VALUES ('', ''), ('definition', CASE WHEN k.conislocal THEN pg_catalog.pg_get_constraintdef(k.oid)"
	"  ELSE pg_catalog.regexp_replace(pg_catalog.pg_get_constraintdef(k.oid), ' NOT VALID$', '') END)) p(prop, val)"
	" UNION ALL"
	" SELECT r.side, 'index ' || pg_catalog.quote_ident(ic.relname), p.prop, p.val"
	" FROM rel r JOIN pg_catalog.pg_index i ON i.indrelid = r.oid JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid,"
	" LATERAL (VALUES ('', ''), ('definition', pg_catalog.pg_get_indexdef(i.indexrelid)),"
	"  ('clustered', i.indisclustered::text), ('replica identity', i.indisreplident::text),"
	/* a partitioned index is valid once every partition has its own,
	 * which the attachments compare (the scratch copy has none) */
	"  ('valid', CASE ic.relkind WHEN 'I' THEN '' ELSE i.indisvalid::text END),"
	"  ('tablespace', coalesce((SELECT s.spcname::text FROM pg_catalog.pg_tablespace s WHERE s.oid = ic.reltablespace), ''))"
	" ) p(prop, val)"
	" UNION ALL"
	" SELECT r.side, 'trigger ' || pg_catalog.quote_ident(g.tgname), p.prop, p.val"
	" FROM rel r JOIN pg_catalog.pg_trigger g ON g.tgrelid = r.oid AND NOT g.tgisinternal AND ";
/* a trigger a partition inherits (tgparentid, 13 and later) */
static const char rs_plan_drift_sql_trig[] =
	","
	" LATERAL (VALUES ('', ''), ('definition', pg_catalog.pg_get_triggerdef(g.oid)), ('enabled', g.tgenabled::text)) p(prop, val)"
	" UNION ALL"
	" SELECT r.side, 'policy ' || pg_catalog.quote_ident(po.polname), p.prop, p.val"
	" FROM rel r JOIN pg_catalog.pg_policy po ON po.polrelid = r.oid,"
	" LATERAL (VALUES ('', ''), ('definition', po.polcmd::text"
	"  || CASE WHEN po.polpermissive THEN ' permissive' ELSE ' restrictive' END || ' to '"
	"  || coalesce((SELECT pg_catalog.string_agg(CASE WHEN x.r = 0 THEN 'public'"
	"    ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(x.r)) END, ', ' ORDER BY 1)"
	"    FROM pg_catalog.unnest(po.polroles) x(r)), '')"
	"  || ' using ' || coalesce(pg_catalog.pg_get_expr(po.polqual, po.polrelid), '')"
	"  || ' check ' || coalesce(pg_catalog.pg_get_expr(po.polwithcheck, po.polrelid), ''))) p(prop, val)"
	" UNION ALL"
	" SELECT r.side, 'rule ' || pg_catalog.quote_ident(w.rulename), p.prop, p.val"
	" FROM rel r JOIN pg_catalog.pg_rewrite w ON w.ev_class = r.oid AND w.rulename <> '_RETURN',"
	" LATERAL (VALUES ('', ''), ('definition', pg_catalog.pg_get_ruledef(w.oid)), ('enabled', w.ev_enabled::text)) p(prop, val)"
	" UNION ALL"
	" SELECT r.side, 'statistics ' || pg_catalog.quote_ident(x.stxname), p.prop, p.val"
	" FROM rel r JOIN pg_catalog.pg_statistic_ext x ON x.stxrelid = r.oid,"
	" LATERAL (VALUES ('', ''), ('definition', pg_catalog.pg_get_statisticsobjdef(x.oid)), ('target', ";
/* x.stxstattarget (13 and later) */
static const char rs_plan_drift_sql_tail[] =
	")) p(prop, val)"
	" UNION ALL"
	" SELECT r.side, 'sequence ' || pg_catalog.quote_ident(sc.relname), p.prop, p.val"
	" FROM rel r JOIN pg_catalog.pg_depend dp ON dp.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass"
	"  AND dp.refobjid = r.oid AND dp.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND dp.deptype IN ('a', 'i')"
	" JOIN pg_catalog.pg_class sc ON sc.oid = dp.objid AND sc.relkind = 'S'"
	" JOIN pg_catalog.pg_sequence q ON q.seqrelid = sc.oid,"
	" LATERAL (VALUES ('', ''), ('name', sc.oid::pg_catalog.regclass::text),"
	"  ('definition', pg_catalog.format('%s start %s increment %s min %s max %s cache %s%s',"
	"    pg_catalog.format_type(q.seqtypid, NULL), q.seqstart, q.seqincrement, q.seqmin, q.seqmax, q.seqcache,"
	"    CASE WHEN q.seqcycle THEN ' cycle' ELSE '' END)),"
	"  ('owner', pg_catalog.pg_get_userbyid(sc.relowner)::text),"
	"  ('column', coalesce((SELECT pg_catalog.quote_ident(a.attname) FROM pg_catalog.pg_attribute a"
	"    WHERE a.attrelid = r.oid AND a.attnum = dp.refobjsubid), '')),"
	"  ('persistence', sc.relpersistence::text)) p(prop, val)"
	"),"
	/* the scratch schema's name, where the catalogs write it, is the table's */
	"n AS (SELECT side, obj, prop, CASE side WHEN 's' THEN pg_catalog.replace(val,"
	"  pg_catalog.quote_ident($2) || '.', pg_catalog.quote_ident($1) || '.') ELSE val END AS val FROM d)"
	"SELECT coalesce(t.obj, s.obj), coalesce(t.prop, s.prop), t.val IS NULL, s.val IS NULL"
	" FROM (SELECT * FROM n WHERE side = 't') t"
	" FULL JOIN (SELECT * FROM n WHERE side = 's') s ON s.obj = t.obj AND s.prop = t.prop"
	" WHERE t.val IS DISTINCT FROM s.val ORDER BY 1, 2";

static int rs_plan_drift_query(PGconn *c, struct buf *q)
{
	int v = PQserverVersion(c), r = buf_addstr(q, rs_plan_drift_sql_head);

	if (r == 0)
		r = buf_addstr(q, v >= 140000 ? "a.attcompression::text" : "''");
	if (r == 0)
		r = buf_addstr(q, rs_plan_drift_sql_cols);
	if (r == 0)
		r = buf_addstr(q, v >= 130000 ? "g.tgparentid = 0" : "true");
	if (r == 0)
		r = buf_addstr(q, rs_plan_drift_sql_trig);
	if (r == 0)
		r = buf_addstr(q, v >= 130000 ? "coalesce(x.stxstattarget::text, '')" : "''");
	return r ? r : buf_addstr(q, rs_plan_drift_sql_tail);
}

/*
 * The differences, as the restore's plan names them, into why:
 * "column x added" (the target has it, the snapshot not), "index i
 * dropped", "column x type changed", "owner changed" ...; the first few,
 * then how many more.
 */
static int rs_plan_drift_reasons(const PGresult *res, struct buf *why)
{
	const char *gone = NULL;	/* object whose existence differs */
	size_t n = 0;
	int r = 0;

	for (int i = 0; i < PQntuples(res) && r == 0; i++) {
		const char *obj = PQgetvalue(res, i, 0), *prop = PQgetvalue(res, i, 1);
		int t_lacks = !strcmp(PQgetvalue(res, i, 2), "t");

		if (gone && !strcmp(gone, obj))
			continue;
		gone = NULL;
		if (n++ >= RS_PLAN_DRIFT_REASONS)
			continue;
		if (n > 1)
			r = buf_addstr(why, ", ");
		if (r == 0 && !*prop) {
			gone = obj;
			r = buf_addf(why, "%s %s", obj, t_lacks ? "dropped" : "added");
		} else if (r == 0) {
			r = buf_addf(why, "%s%s%s changed", obj, *obj ? " " : "", prop);
		}
	}
	if (r == 0 && n > RS_PLAN_DRIFT_REASONS)
		r = buf_addf(why, " and %zu more", n - RS_PLAN_DRIFT_REASONS);
	return r;
}

/*
 * A failed statement: *soft = 1 and its message in why when the
 * connection stays usable (the savepoint will undo it), else the error
 * (err filled).
 */
static int rs_plan_drift_failed(PGconn *c, PGresult *res, const char *what,
				struct buf *why, int *soft, struct buf *err)
{
	const char *m = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;

	*soft = 0;
	/* a cancelled query is an interrupt, not an answer */
	if (PQstatus(c) != CONNECTION_OK || !m || (state && !strcmp(state, "57014")))
		return pg_conn_error(c, res, what, err);
	*soft = 1;
	return buf_addstr(why, m);
}

/* sql, which may hold several statements (PQexec): 0 or a pg-conn
 * errno, err filled (err may be NULL). */
static int rs_plan_drift_exec(PGconn *c, const char *sql, struct buf *err)
{
	PGresult *res = PQexec(c, sql);
	int r = 0;

	if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK)
		r = pg_conn_error(c, res, "comparing table definitions", err);
	PQclear(res);
	return r;
}

/* One table, inside its own savepoint (rolled back by the caller). */
static int rs_plan_drift_one(PGconn *c, const struct rs_plan *p, const struct pg_ddl *d,
			     const char *shadow, struct rs_plan_drift *v, struct buf *err)
{
	struct buf sql = BUF_INIT, attach = BUF_INIT, q = BUF_INIT, msg = BUF_INIT;
	const char *unknown, *params[4];
	PGresult *res = NULL;
	int r, soft = 0;

	v->matches = 0;
	r = rs_plan_drift_script(p, d, v->t, shadow, &sql, &attach, &unknown);
	if (r == 0 && unknown) {
		r = buf_addf(&v->why, "its definition holds a %s, which vault does not compare", unknown);
		goto out;
	}
	if (r == 0) {
		res = PQexec(c, (char *)sql.data);
		if (PQresultStatus(res) != PGRES_COMMAND_OK &&
		    PQresultStatus(res) != PGRES_TUPLES_OK) {
			r = rs_plan_drift_failed(c, res, "building the snapshot's table to compare",
						 &msg, &soft, err);
			if (r == 0 && soft)
				r = buf_addf(&v->why, "the snapshot's definition does not build on the target (%s)",
					     (char *)msg.data);
			goto out;
		}
		PQclear(res);
		res = NULL;
	}
	if (r == 0)
		r = rs_plan_drift_query(c, &q);
	params[0] = v->t->schema;
	params[1] = shadow;
	params[2] = v->t->name;
	params[3] = (char *)attach.data;
	if (r == 0)
		r = pg_conn_query(c, &res, PGRES_TUPLES_OK, (char *)q.data, 4, params,
				  "comparing a table's definition with the snapshot's", err);
	if (r == 0 && PQntuples(res) == 0)
		v->matches = 1;
	else if (r == 0)
		r = rs_plan_drift_reasons(res, &v->why);
out:
	PQclear(res);
	buf_release(&sql);
	buf_release(&attach);
	buf_release(&q);
	buf_release(&msg);
	return r;
}

/* The dump's preamble (SET statements), as the restore runs it. */
static int rs_plan_drift_preamble(const struct rs_plan *p, const struct pg_ddl *d,
				  struct buf *sql)
{
	int r = 0;

	for (size_t i = 0; i < rs_sanitized_count(p->san) && r == 0; i++) {
		const struct rs_sanitized_stmt *st = rs_sanitized_get(p->san, i);

		if (!st->skip && st->section == RS_SANITIZE_PREAMBLE) {
			r = buf_add(sql, pg_ddl_text(d) + st->off, st->len);
			if (r == 0)
				r = buf_addch(sql, '\n');
		}
	}
	/* the plan's own: names come out qualified */
	return r ? r : buf_addstr(sql, "SELECT pg_catalog.set_config('search_path', '', true);\n");
}

int rs_plan_drift_compare(PGconn *c, const struct rs_plan *p, const struct pg_ddl *d,
			  struct rs_plan_drift *v, size_t n, struct buf *err)
{
	const int own = PQtransactionStatus(c) == PQTRANS_IDLE;
	struct buf sql = BUF_INIT, shadow = BUF_INIT, msg = BUF_INIT;
	PGresult *res = NULL;
	int r, soft = 0;

	if (!n)
		return 0;
	r = rs_plan_drift_exec(c, own ? "BEGIN" : "SAVEPOINT vault_drift", err);
	if (r < 0)
		return r;
	r = rs_plan_drift_preamble(p, d, &sql);
	if (r == 0)
		r = rs_plan_drift_exec(c, (char *)sql.data, err);
	if (r == 0)
		r = pg_conn_query(c, &res, PGRES_TUPLES_OK,
				  "SELECT pg_catalog.format('vault_drift_%s', pg_catalog.pg_backend_pid())",
				  0, NULL, "comparing table definitions", err);
	if (r == 0)
		r = buf_addstr(&shadow, PQgetvalue(res, 0, 0));
	PQclear(res);
	buf_reset(&sql);
	if (r == 0)
		r = buf_addstr(&sql, "CREATE SCHEMA ");
	if (r == 0)
		r = pg_names_quote_ident(&sql, (char *)shadow.data);
	if (r == 0) {
		res = PQexec(c, (char *)sql.data);
		if (PQresultStatus(res) != PGRES_COMMAND_OK)
			r = rs_plan_drift_failed(c, res, "creating a schema to compare tables in",
						 &msg, &soft, err);
		PQclear(res);
	}
	/* no schema of its own (no CREATE on the database): nothing can
	 * be shown to match, so every table is recreated */
	for (size_t i = 0; i < n && r == 0 && soft; i++) {
		v[i].matches = 0;
		r = buf_addf(&v[i].why, "its definition could not be compared with the snapshot's (%s)",
			     (char *)msg.data);
	}
	for (size_t i = 0; i < n && r == 0 && !soft; i++) {
		r = rs_plan_drift_exec(c, "SAVEPOINT vault_drift_one", err);
		if (r == 0)
			r = rs_plan_drift_one(c, p, d, (char *)shadow.data, &v[i], err);
		if (r == 0 || PQstatus(c) == CONNECTION_OK) {
			int e = rs_plan_drift_exec(c, "ROLLBACK TO SAVEPOINT vault_drift_one",
						   r ? NULL : err);

			r = r ? r : e;
		}
	}
	/* the connection, if alive, leaves as it came */
	if (PQstatus(c) == CONNECTION_OK) {
		int e = rs_plan_drift_exec(c, own ? "ROLLBACK" :
					   "ROLLBACK TO SAVEPOINT vault_drift; RELEASE SAVEPOINT vault_drift",
					   r ? NULL : err);

		r = r ? r : e;
	}
	buf_release(&sql);
	buf_release(&shadow);
	buf_release(&msg);
	return r;
}

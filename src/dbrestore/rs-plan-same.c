/*
 * rs-plan-same: clean mode's objects other than tables (types, domains,
 * routines, views, materialized views, sequences, foreign tables):
 * whether each already is what the snapshot says, and what dropping one
 * that is not would take along.
 *
 * An object's definition is compared as pg_dump writes it: the target's
 * schemas that hold such objects are dumped (pg_dump --schema-only, on a
 * snapshot exported by the plan's own transaction, so it sees what the
 * plan sees) and each object's sections are compared, text for text,
 * with the snapshot's (the header's Name, Type, Schema and Owner, the
 * statements; not the SET lines pg_dump writes between entries).  The
 * same pg_dump text means the same definition: it is the text a
 * restore would run.  A pg_dump of another version may write a text
 * differently: the object then counts as changed and is recreated, the
 * safe side.  An object that matches is kept (RS_ACT_KEEP, o->same).
 *
 * Dropping an object that changed may take others along (DROP ...
 * CASCADE; without it the DROP refuses): those that depend on it in
 * pg_depend, recursively, and the owners of internal parts reached
 * (a view whose rule uses it).  Before the tables are compared, an
 * object kept that a drop would reach is recreated too; once the plan
 * is decided, each reached object must be one the restore recreates
 * (a table recreated, a routine replaced, an operator tried ...): the
 * DROP then says CASCADE, and otherwise the plan has a conflict naming
 * what would be lost.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pg-conn.h"
#include "pg-dump.h"
#include "pg-names.h"
#include "rs-plan-int.h"
#include "rs-sql.h"
#include "strv.h"

/* ---- the target's dump ------------------------------------------------------ */

static int rs_plan_same_out(void *ctx, const void *p, size_t n)
{
	return buf_add(ctx, p, n);
}

/* 1 when o is compared: it exists and clean mode would drop and
 * recreate, replace or try it. */
static int rs_plan_same_candidate(const struct rs_plan_object *o)
{
	return o->exists && strcmp(o->type, "TABLE") &&
	       ((o->act == RS_ACT_RECREATE && o->drop_sql) || o->act == RS_ACT_REPLACE ||
		o->act == RS_ACT_TRY);
}

/* "-n schema" for each schema holding a candidate (once each). */
static int rs_plan_same_args(const struct rs_plan *p, char ***argv, size_t *argc)
{
	struct buf q = BUF_INIT;
	int r = 0;

	for (size_t i = 0; i < p->nobjects && r == 0; i++) {
		const struct rs_plan_object *o = &p->objects[i];
		int seen = 0;

		if (!rs_plan_same_candidate(o) || !*o->schema)
			continue;
		buf_reset(&q);
		r = pg_names_quote_ident(&q, o->schema);
		for (size_t k = 1; k < *argc && r == 0; k += 2)
			seen |= !strcmp((*argv)[k], (char *)q.data);
		if (r == 0 && !seen)
			r = strv_push(argv, argc, "-n");
		if (r == 0 && !seen)
			r = strv_push(argv, argc, (char *)q.data);
	}
	buf_release(&q);
	return r;
}

/*
 * The target's schemas that hold candidates, dumped and split into *d.
 * A pg_dump that cannot be found or fails is no error: *d stays NULL
 * and why says what happened.  0, or a lost connection or -ENOMEM.
 */
static int rs_plan_same_dump(PGconn *c, const struct rs_plan *p,
			     const struct pg_conn_info *ci, struct pg_ddl **d,
			     struct buf *why, struct buf *err)
{
	const int own = PQtransactionStatus(c) == PQTRANS_IDLE;
	struct buf conninfo = BUF_INIT, password = BUF_INIT, out = BUF_INIT, e = BUF_INIT;
	struct pg_dump_tool tool = { 0 };
	PGresult *res = NULL;
	char **argv = NULL;
	size_t argc = 0;
	int r = 0, soft;

	*d = NULL;
	r = rs_plan_same_args(p, &argv, &argc);
	if (r < 0 || !argc)
		goto out;
	soft = pg_dump_find(&tool, NULL, p->server_num, &e);
	if (soft == 0)
		soft = pg_conn_info_child(ci, &conninfo, &password);
	if (soft == -ENOMEM) {
		r = soft;
		goto out;
	}
	if (soft == 0 && own)
		r = pg_conn_exec(c, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
				 "exporting a snapshot for pg_dump", err);
	if (soft == 0 && r == 0)
		r = pg_conn_query(c, &res, PGRES_TUPLES_OK, "SELECT pg_catalog.pg_export_snapshot()",
				  0, NULL, "exporting a snapshot for pg_dump", err);
	if (soft == 0 && r == 0)
		soft = pg_dump_run(&tool, (char *)conninfo.data, (char *)password.data,
				   PQgetvalue(res, 0, 0), (const char *const *)argv, argc,
				   rs_plan_same_out, &out, &e);
	if (soft == 0 && r == 0)
		soft = pg_ddl_unrestrict(&out) < 0 ? -ENOMEM : 0;
	if (soft == 0 && r == 0)
		soft = pg_ddl_parse(d, (char *)out.data, out.len, &e);
	if (own && PQstatus(c) == CONNECTION_OK && PQtransactionStatus(c) != PQTRANS_IDLE) {
		int x = pg_conn_exec(c, "COMMIT", "exporting a snapshot for pg_dump", r ? NULL : err);

		r = r ? r : x;
	}
	if (r == 0 && soft == -ENOMEM)
		r = soft;
	else if (r == 0 && soft < 0)
		r = buf_addstr(why, e.len ? (char *)e.data : strerror(-soft));
out:
	PQclear(res);
	pg_dump_tool_release(&tool);
	strv_free(argv, argc);
	buf_wipe(&password);
	buf_release(&conninfo);
	buf_release(&out);
	buf_release(&e);
	return r;
}

/* ---- comparing texts ---------------------------------------------------------- */

/* 1 when the line [s, e) is one that pg_dump writes around entries:
 * blank, a comment of the header, a SET between entries. */
static int rs_plan_same_noise(const char *s, const char *e)
{
	return s == e || (e - s >= 2 && s[0] == '-' && s[1] == '-') ||
	       (e - s >= 4 && !strncmp(s, "SET ", 4));
}

/* out += the text of section s of d without its leading and trailing
 * noise lines (the header comment, the SETs before the next entry);
 * the header's owner is kept apart, as its own line. */
static int rs_plan_same_text(const struct pg_ddl *d, const struct pg_ddl_section *s,
			     struct buf *out)
{
	const char *t = pg_ddl_text(d) + s->off, *end = t + s->len, *a = t, *b = end;
	int r = buf_addf(out, "owner %s\n", s->owner ? s->owner : "");

	while (r == 0 && a < end) {
		const char *nl = memchr(a, '\n', (size_t)(end - a));
		const char *le = nl ? nl : end;

		if (!rs_plan_same_noise(a, le))
			break;
		a = nl ? nl + 1 : end;
	}
	while (r == 0 && b > a) {
		const char *le = b[-1] == '\n' ? b - 1 : b, *ls = le;

		while (ls > a && ls[-1] != '\n')
			ls--;
		if (!rs_plan_same_noise(ls, le))
			break;
		b = ls;
	}
	return r ? r : buf_add(out, a, (size_t)(b - a));
}

/* out = the texts of every section of d with that type, schema and
 * name, in dump order (a base type has two: its shell, its definition). */
static int rs_plan_same_texts(const struct pg_ddl *d, const char *type, const char *schema,
			      const char *name, struct buf *out)
{
	int r = 0;

	buf_reset(out);
	for (size_t i = 0; i < pg_ddl_count(d) && r == 0; i++) {
		const struct pg_ddl_section *s = pg_ddl_get(d, i);

		if (!s->rel_schema && !strcmp(s->type, type) && !strcmp(s->schema, schema) &&
		    !strcmp(s->name, name))
			r = rs_plan_same_text(d, s, out);
	}
	return r;
}

static int rs_plan_same_why(struct rs_plan_object *o, const char *why)
{
	free(o->why);
	o->why = strdup(why);
	return o->why ? 0 : -ENOMEM;
}

int rs_plan_same_objects(PGconn *c, struct rs_plan *p, const struct rs_plan_source *src,
			 const struct pg_conn_info *ci, struct buf *err)
{
	struct pg_ddl *t = NULL;
	struct buf why = BUF_INIT, a = BUF_INIT, b = BUF_INIT, msg = BUF_INIT;
	int r = ci ? rs_plan_same_dump(c, p, ci, &t, &why, err) : 0;

	if (r == 0 && !t)
		r = buf_addf(&msg, "its definition could not be compared with the snapshot's (%s)",
			     why.len ? (char *)why.data : "no connection for pg_dump");
	for (size_t i = 0; i < p->nobjects && r == 0; i++) {
		struct rs_plan_object *o = &p->objects[i];
		const struct pg_ddl_section *s = pg_ddl_get(src->ddl, o->section);

		if (!rs_plan_same_candidate(o))
			continue;
		if (!t) {
			if (o->act != RS_ACT_TRY)
				r = rs_plan_same_why(o, (char *)msg.data);
			continue;
		}
		r = rs_plan_same_texts(src->ddl, s->type, s->schema, s->name, &a);
		if (r == 0)
			r = rs_plan_same_texts(t, s->type, s->schema, s->name, &b);
		if (r == 0 && a.len == b.len && !memcmp(a.data, b.data, a.len)) {
			o->act = RS_ACT_KEEP;
			o->same = 1;
			r = rs_plan_same_why(o, "definition matches");
		} else if (r == 0 && o->act != RS_ACT_TRY) {
			r = rs_plan_same_why(o, b.len ? "definition differs from the snapshot's" :
					     "not found in the target's pg_dump");
		} else if (r == 0 && b.len) {
			/* vault does not drop these kinds: the CREATE is
			 * tried, and the target's stays */
			r = rs_plan_same_why(o, "definition differs from the snapshot's; the target's is kept (only created where missing)");
		}
	}
	pg_ddl_free(t);
	buf_release(&why);
	buf_release(&a);
	buf_release(&b);
	buf_release(&msg);
	return r;
}

/* ---- a routine that changed: can it be replaced? ---------------------------- */

/* "DROP FUNCTION|PROCEDURE IF EXISTS s.n(args);" for routine o (its
 * section s of d: pg_dump's name "n(args)"). */
static int rs_plan_same_drop_routine(struct rs_plan_object *o, const struct pg_ddl_section *s)
{
	const char *paren = strchr(s->name, '(');
	struct buf b = BUF_INIT, n = BUF_INIT;
	int r;

	if (!paren)
		return 0;
	r = buf_add(&n, s->name, (size_t)(paren - s->name));
	if (r == 0)
		r = buf_addf(&b, "DROP %s IF EXISTS ", s->type);
	if (r == 0)
		r = pg_names_quote_qualified(&b, s->schema, (char *)n.data);
	if (r == 0)
		r = buf_addf(&b, "%s;", paren);
	if (r == 0) {
		free(o->drop_sql);
		o->drop_sql = buf_detach(&b, NULL);
		r = o->drop_sql ? 0 : -ENOMEM;
	}
	buf_release(&b);
	buf_release(&n);
	return r;
}

/*
 * Routine o, which changed, replaced inside a savepoint rolled back:
 * msg gets the server's message when CREATE OR REPLACE refuses the
 * snapshot's definition (another return type, other parameter names
 * ...: SQLSTATE 42P13), which the restore would then fail on; any
 * other error (a type the restore creates first ...) says nothing.
 */
static int rs_plan_same_try(PGconn *c, const struct rs_plan *p, const struct pg_ddl *d,
			    const struct rs_plan_object *o, struct buf *msg, struct buf *err)
{
	struct buf sql = BUF_INIT;
	size_t first, n;
	int r = pg_conn_exec(c, "SAVEPOINT vault_same", "trying a routine's replacement", err);

	rs_sanitized_section(p->san, o->section, &first, &n);
	for (size_t k = first; k < first + n && r == 0 && !msg->len; k++) {
		const struct rs_sanitized_stmt *st = rs_sanitized_get(p->san, k);
		PGresult *res;

		if (st->skip)
			continue;
		buf_reset(&sql);
		r = buf_add(&sql, pg_ddl_text(d) + st->off, st->len);
		if (r == 0)
			r = rs_sql_or_replace(&sql);
		if (r < 0)
			break;
		res = PQexec(c, (char *)sql.data);
		if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK) {
			const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
			const char *m = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);

			if (PQstatus(c) != CONNECTION_OK)
				r = pg_conn_error(c, res, "trying a routine's replacement", err);
			else if (state && !strcmp(state, "42P13") && m)
				r = buf_addstr(msg, m);
			PQclear(res);
			break;
		}
		PQclear(res);
	}
	if (PQstatus(c) == CONNECTION_OK) {
		int e = pg_conn_exec(c, "ROLLBACK TO SAVEPOINT vault_same",
				     "trying a routine's replacement", r ? NULL : err);

		if (e == 0)
			e = pg_conn_exec(c, "RELEASE SAVEPOINT vault_same",
					 "trying a routine's replacement", r ? NULL : err);

		r = r ? r : e;
	}
	buf_release(&sql);
	return r;
}

int rs_plan_same_replace(PGconn *c, struct rs_plan *p, const struct rs_plan_source *src,
			 struct buf *err)
{
	const int own = PQtransactionStatus(c) == PQTRANS_IDLE;
	struct buf msg = BUF_INIT, why = BUF_INIT;
	int r = 0, begun = 0;

	for (size_t i = 0; i < p->nobjects && r == 0; i++) {
		struct rs_plan_object *o = &p->objects[i];
		const struct pg_ddl_section *s = pg_ddl_get(src->ddl, o->section);

		if (o->act != RS_ACT_REPLACE || !o->exists || o->same)
			continue;
		if (own && !begun) {
			r = pg_conn_exec(c, "BEGIN", "trying a routine's replacement", err);
			begun = r == 0;
		}
		buf_reset(&msg);
		if (r == 0)
			r = rs_plan_same_try(c, p, src->ddl, o, &msg, err);
		if (r < 0 || !msg.len)
			continue;
		/* dropped and created instead, if what the drop takes along
		 * is recreated too (rs_plan_same_cascade) */
		r = rs_plan_same_drop_routine(o, s);
		buf_reset(&why);
		if (r == 0 && o->drop_sql) {
			o->act = RS_ACT_RECREATE;
			r = buf_addf(&why, "definition differs from the snapshot's, and CREATE OR REPLACE refuses it (%s)",
				     (char *)msg.data);
		}
		if (r == 0 && why.len)
			r = rs_plan_same_why(o, (char *)why.data);
	}
	if (begun && PQstatus(c) == CONNECTION_OK) {
		int e = pg_conn_exec(c, "ROLLBACK", "trying a routine's replacement", r ? NULL : err);

		r = r ? r : e;
	}
	buf_release(&msg);
	buf_release(&why);
	return r;
}

/* ---- what a DROP ... CASCADE reaches ---------------------------------------- */

/*
 * $1..$4: the roots (kind 't' a type or domain, 'r' a relation, 'f' a
 * routine; schema; name; a routine's argument types).  Each row: the root's 1-based position, then an object its
 * DROP ... CASCADE would drop, as the plan's keys name what owns it
 * (rs-plan-key: a relation's part is the relation, an array type its
 * element, a routine with its argument types ...; kind '-' for what
 * has no key), and as pg_describe_object names it.
 */
static const char rs_plan_same_cascade_sql[] =
	"WITH RECURSIVE x(i, k, s, n, a) AS (SELECT u.i, u.k, u.s, u.n, u.a FROM ROWS FROM (pg_catalog.unnest($1::text[]),"
	"  pg_catalog.unnest($2::text[]), pg_catalog.unnest($3::text[]), pg_catalog.unnest($4::text[]))"
	"  WITH ORDINALITY AS u(k, s, n, a, i)),"
	" root(i, cls, oid) AS ("
	"  SELECT x.i, 'pg_catalog.pg_type'::pg_catalog.regclass, y.oid FROM x"
	"  JOIN pg_catalog.pg_namespace yn ON yn.nspname = x.s"
	"  JOIN pg_catalog.pg_type y ON y.typnamespace = yn.oid AND y.typname = x.n WHERE x.k = 't'"
	"  UNION ALL"
	"  SELECT x.i, 'pg_catalog.pg_class'::pg_catalog.regclass, q.oid FROM x"
	"  JOIN pg_catalog.pg_namespace qn ON qn.nspname = x.s"
	"  JOIN pg_catalog.pg_class q ON q.relnamespace = qn.oid AND q.relname = x.n WHERE x.k = 'r'"
	"  UNION ALL"
	"  SELECT x.i, 'pg_catalog.pg_proc'::pg_catalog.regclass, f.oid FROM x"
	"  JOIN pg_catalog.pg_namespace fn ON fn.nspname = x.s"
	"  JOIN pg_catalog.pg_proc f ON f.pronamespace = fn.oid AND f.proname = x.n"
	"  WHERE x.k = 'f' AND COALESCE((SELECT pg_catalog.string_agg(pg_catalog.format_type(u.t, NULL), ', ' ORDER BY u.i)"
	"   FROM pg_catalog.unnest(f.proargtypes) WITH ORDINALITY AS u(t, i)), '') = x.a),"
	/* what depends on a reached object (on the column reached, for a
	 * column), and the owner of a reached internal part */
	" reach(i, cls, oid, sub) AS ("
	"  SELECT root.i, root.cls, root.oid, 0 FROM root"
	"  UNION"
	"  SELECT r.i, y.cls, y.oid, y.sub FROM reach r CROSS JOIN LATERAL ("
	"   SELECT d.classid, d.objid, d.objsubid FROM pg_catalog.pg_depend d"
	"    WHERE d.refclassid = r.cls AND d.refobjid = r.oid AND (r.sub = 0 OR d.refobjsubid = r.sub)"
	"    AND d.deptype IN ('n', 'a', 'i')"
	"   UNION ALL"
	"   SELECT d.refclassid, d.refobjid, d.refobjsubid FROM pg_catalog.pg_depend d"
	"    WHERE d.classid = r.cls AND d.objid = r.oid AND d.deptype = 'i') y(cls, oid, sub)),"
	" o AS (SELECT r.i, r.cls, r.oid, r.sub, CASE r.cls"
	"  WHEN 'pg_catalog.pg_class'::pg_catalog.regclass THEN coalesce((SELECT ix.indrelid"
	"   FROM pg_catalog.pg_index ix WHERE ix.indexrelid = r.oid), r.oid)"
	"  WHEN 'pg_catalog.pg_attrdef'::pg_catalog.regclass THEN (SELECT a.adrelid"
	"   FROM pg_catalog.pg_attrdef a WHERE a.oid = r.oid)"
	"  WHEN 'pg_catalog.pg_constraint'::pg_catalog.regclass THEN (SELECT NULLIF(k.conrelid, 0)"
	"   FROM pg_catalog.pg_constraint k WHERE k.oid = r.oid)"
	"  WHEN 'pg_catalog.pg_trigger'::pg_catalog.regclass THEN (SELECT g.tgrelid"
	"   FROM pg_catalog.pg_trigger g WHERE g.oid = r.oid)"
	"  WHEN 'pg_catalog.pg_policy'::pg_catalog.regclass THEN (SELECT po.polrelid"
	"   FROM pg_catalog.pg_policy po WHERE po.oid = r.oid)"
	"  WHEN 'pg_catalog.pg_rewrite'::pg_catalog.regclass THEN (SELECT w.ev_class"
	"   FROM pg_catalog.pg_rewrite w WHERE w.oid = r.oid)"
	"  WHEN 'pg_catalog.pg_statistic_ext'::pg_catalog.regclass THEN (SELECT sx.stxrelid"
	"   FROM pg_catalog.pg_statistic_ext sx WHERE sx.oid = r.oid)"
	/* a row type, or its array: the relation */
	"  WHEN 'pg_catalog.pg_type'::pg_catalog.regclass THEN (SELECT NULLIF(w.typrelid, 0)"
	"   FROM pg_catalog.pg_type y LEFT JOIN pg_catalog.pg_type e ON e.oid = y.typelem AND e.typarray = y.oid"
	"   JOIN pg_catalog.pg_type w ON w.oid = coalesce(e.oid, y.oid) WHERE y.oid = r.oid) END AS rel,"
	"  CASE r.cls"
	"  WHEN 'pg_catalog.pg_type'::pg_catalog.regclass THEN (SELECT CASE WHEN e.typarray = y.oid"
	"   THEN e.oid ELSE y.oid END FROM pg_catalog.pg_type y"
	"   LEFT JOIN pg_catalog.pg_type e ON e.oid = y.typelem WHERE y.oid = r.oid)"
	"  WHEN 'pg_catalog.pg_constraint'::pg_catalog.regclass THEN (SELECT NULLIF(k.contypid, 0)"
	"   FROM pg_catalog.pg_constraint k WHERE k.oid = r.oid) END AS typ,"
	"  CASE r.cls"
	"  WHEN 'pg_catalog.pg_amop'::pg_catalog.regclass THEN (SELECT m.amopfamily"
	"   FROM pg_catalog.pg_amop m WHERE m.oid = r.oid)"
	"  WHEN 'pg_catalog.pg_amproc'::pg_catalog.regclass THEN (SELECT m.amprocfamily"
	"   FROM pg_catalog.pg_amproc m WHERE m.oid = r.oid)"
	"  WHEN 'pg_catalog.pg_opfamily'::pg_catalog.regclass THEN r.oid END AS fam"
	"  FROM reach r)"
	"SELECT DISTINCT o.i, CASE"
	"  WHEN o.rel IS NOT NULL THEN 'r' WHEN o.typ IS NOT NULL THEN 't'"
	"  WHEN o.fam IS NOT NULL THEN 'F'"
	"  WHEN o.cls = 'pg_catalog.pg_proc'::pg_catalog.regclass THEN 'f'"
	"  WHEN o.cls = 'pg_catalog.pg_operator'::pg_catalog.regclass THEN 'o'"
	"  WHEN o.cls = 'pg_catalog.pg_cast'::pg_catalog.regclass THEN 'c'"
	"  WHEN o.cls = 'pg_catalog.pg_opclass'::pg_catalog.regclass THEN 'O'"
	"  ELSE '-' END,"
	" coalesce(rn.nspname, tn.nspname, fn.nspname, pn.nspname, opn.nspname, ocn.nspname, ''),"
	" coalesce(rc.relname, ty.typname, fa.opfname, pr.proname, op.oprname, oc.opcname, ''),"
	" coalesce(fam.amname, ocm.amname,"
	"  CASE WHEN pr.prokind = 'a' AND pr.pronargs = 0 THEN '*' WHEN pr.oid IS NOT NULL THEN"
	"   COALESCE((SELECT pg_catalog.string_agg(pg_catalog.format_type(u.t, NULL), ', ' ORDER BY u.i)"
	"    FROM pg_catalog.unnest(pr.proargtypes) WITH ORDINALITY AS u(t, i)), '') END,"
	"  COALESCE(pg_catalog.format_type(NULLIF(op.oprleft, 0), NULL), 'NONE') || ', ' ||"
	"   COALESCE(pg_catalog.format_type(NULLIF(op.oprright, 0), NULL), 'NONE'),"
	"  pg_catalog.format_type(ca.castsource, NULL) || ' AS ' || pg_catalog.format_type(ca.casttarget, NULL), ''),"
	" pg_catalog.pg_describe_object(o.cls, o.oid, o.sub)"
	" FROM o"
	" LEFT JOIN pg_catalog.pg_class rc ON rc.oid = o.rel"
	" LEFT JOIN pg_catalog.pg_namespace rn ON rn.oid = rc.relnamespace"
	" LEFT JOIN pg_catalog.pg_type ty ON ty.oid = o.typ AND o.rel IS NULL"
	" LEFT JOIN pg_catalog.pg_namespace tn ON tn.oid = ty.typnamespace"
	" LEFT JOIN pg_catalog.pg_opfamily fa ON fa.oid = o.fam"
	" LEFT JOIN pg_catalog.pg_am fam ON fam.oid = fa.opfmethod"
	" LEFT JOIN pg_catalog.pg_namespace fn ON fn.oid = fa.opfnamespace"
	" LEFT JOIN pg_catalog.pg_proc pr ON pr.oid = o.oid AND o.cls = 'pg_catalog.pg_proc'::pg_catalog.regclass"
	" LEFT JOIN pg_catalog.pg_namespace pn ON pn.oid = pr.pronamespace"
	/* a shell operator (no function: a commutator or negator named
	 * before it was made) is the operator that names it, which pg_dump
	 * dumps and whose CREATE makes it again */
	" LEFT JOIN pg_catalog.pg_operator op0 ON op0.oid = o.oid AND o.cls = 'pg_catalog.pg_operator'::pg_catalog.regclass"
	" LEFT JOIN pg_catalog.pg_operator op ON op.oid = CASE WHEN op0.oprcode <> 0 THEN op0.oid ELSE"
	"  coalesce((SELECT min(o2.oid) FROM pg_catalog.pg_operator o2 WHERE o2.oprcode <> 0"
	"   AND (o2.oprcom = op0.oid OR o2.oprnegate = op0.oid)), op0.oid) END"
	" LEFT JOIN pg_catalog.pg_namespace opn ON opn.oid = op.oprnamespace"
	" LEFT JOIN pg_catalog.pg_cast ca ON ca.oid = o.oid AND o.cls = 'pg_catalog.pg_cast'::pg_catalog.regclass"
	" LEFT JOIN pg_catalog.pg_opclass oc ON oc.oid = o.oid AND o.cls = 'pg_catalog.pg_opclass'::pg_catalog.regclass"
	" LEFT JOIN pg_catalog.pg_am ocm ON ocm.oid = oc.opcmethod"
	" LEFT JOIN pg_catalog.pg_namespace ocn ON ocn.oid = oc.opcnamespace"
	" ORDER BY 1, 6";

/* The roots: objects the plan drops one by one (drop_sql) that exist. */
static int rs_plan_same_root(const struct rs_plan_object *o)
{
	return o->act == RS_ACT_RECREATE && o->drop_sql && o->exists && strcmp(o->type, "TABLE");
}

/* The plan object whose key is (kind, schema, name, extra), or NULL;
 * keys[i] is objects[i]'s. */
static struct rs_plan_object *rs_plan_same_find(struct rs_plan *p, const struct rs_plan_key *keys,
						const char *kind, const char *schema,
						const char *name, const char *extra)
{
	for (size_t i = 0; i < p->nobjects; i++) {
		const struct rs_plan_key *k = &keys[i];

		if (k->kind != kind[0])
			continue;
		/* a cast is known by its types alone */
		if (k->kind == 'c' ? !strcmp((char *)k->extra.data, extra) :
		    !strcmp((char *)k->schema.data, schema) && !strcmp((char *)k->name.data, name) &&
		    (k->kind != 'f' && k->kind != 'o' && k->kind != 'O' && k->kind != 'F' ?
		     1 : !strcmp((char *)k->extra.data, extra)))
			return &p->objects[i];
	}
	return NULL;
}

/* 1 when the plan creates o again after a cascade dropped it. */
static int rs_plan_same_covered(const struct rs_plan_object *o)
{
	return o && (o->act == RS_ACT_RECREATE || o->act == RS_ACT_REPLACE ||
		     o->act == RS_ACT_TRY || o->act == RS_ACT_RUN);
}

/* A kept object (same) that a drop reaches becomes recreated. */
static int rs_plan_same_flip(struct rs_plan_object *o, const struct pg_ddl *d,
			     const struct rs_plan_object *root)
{
	struct buf b = BUF_INIT;
	int r = 0;

	if (!strcmp(o->type, "FUNCTION") || !strcmp(o->type, "PROCEDURE") ||
	    !strcmp(o->type, "AGGREGATE"))
		o->act = RS_ACT_REPLACE;
	else if (o->drop_sql || (r = rs_plan_read_drop_sql(o, pg_ddl_get(d, o->section))) < 0 ||
		 o->drop_sql)
		o->act = RS_ACT_RECREATE;
	else	/* an operator, a cast ...: created again after the drop */
		o->act = RS_ACT_TRY;
	if (r == 0)
		r = buf_addf(&b, "depends on %s %s.%s, which is recreated", root->type,
			     root->schema, root->name);
	if (r == 0) {
		free(o->why);
		o->why = buf_detach(&b, NULL);
		r = o->why ? 0 : -ENOMEM;
	}
	buf_release(&b);
	return r;
}

/* DROP ... IF EXISTS x; becomes DROP ... IF EXISTS x CASCADE; */
static int rs_plan_same_cascade_drop(struct rs_plan_object *o)
{
	size_t n = strlen(o->drop_sql);
	char *s;

	if (n < 1 || (n > 9 && !strcmp(o->drop_sql + n - 9, " CASCADE;")))
		return 0;
	s = malloc(n + 9);
	if (!s)
		return -ENOMEM;
	memcpy(s, o->drop_sql, n - 1);
	memcpy(s + n - 1, " CASCADE;", 10);
	free(o->drop_sql);
	o->drop_sql = s;
	return 0;
}

/* One pass: a kept object (same) reached is recreated (*changed);
 * final (once nothing changes): conflicts for what would be lost,
 * CASCADE for the drops proven safe. */
static int rs_plan_same_pass(PGconn *c, struct rs_plan *p, const struct pg_ddl *d,
			     const struct rs_plan_key *keys, int final, int *changed,
			     struct buf *err)
{
	struct buf arr[4] = { BUF_INIT, BUF_INIT, BUF_INIT, BUF_INIT };
	size_t *at = calloc(p->nobjects + 1, sizeof(*at)), n = 0;
	unsigned char *lost = calloc(p->nobjects + 1, 1), *reach = calloc(p->nobjects + 1, 1);
	const char *params[4];
	PGresult *res = NULL;
	int r = at && lost && reach ? 0 : -ENOMEM;

	*changed = 0;
	for (int a = 0; a < 4 && r == 0; a++)
		r = buf_addch(&arr[a], '{');
	for (size_t i = 0; i < p->nobjects && r == 0; i++) {
		const struct rs_plan_object *o = &p->objects[i];
		char kind[2] = { keys[i].kind, 0 };

		if (!rs_plan_same_root(o) || !strchr("trf", kind[0]))
			continue;
		at[n++] = i;
		r = rs_plan_probe_array_add(&arr[0], kind);
		if (r == 0)
			r = rs_plan_probe_array_add(&arr[1], (char *)keys[i].schema.data);
		if (r == 0)
			r = rs_plan_probe_array_add(&arr[2], (char *)keys[i].name.data);
		if (r == 0)
			r = rs_plan_probe_array_add(&arr[3], (char *)keys[i].extra.data);
	}
	for (int a = 0; a < 4 && r == 0; a++) {
		r = buf_addch(&arr[a], '}');
		params[a] = (char *)arr[a].data;
	}
	if (r == 0 && n)
		r = pg_conn_query(c, &res, PGRES_TUPLES_OK, rs_plan_same_cascade_sql, 4, params,
				  "listing what dropping the objects recreated would take along", err);
	for (int i = 0; r == 0 && n && i < PQntuples(res); i++) {
		long k = strtol(PQgetvalue(res, i, 0), NULL, 10);
		struct rs_plan_object *root, *o;

		if (k < 1 || (size_t)k > n)
			continue;
		root = &p->objects[at[k - 1]];
		o = rs_plan_same_find(p, keys, PQgetvalue(res, i, 1), PQgetvalue(res, i, 2),
				      PQgetvalue(res, i, 3), PQgetvalue(res, i, 4));
		if (o == root)
			continue;
		if (o && o->act == RS_ACT_KEEP && o->same) {
			r = rs_plan_same_flip(o, d, root);
			*changed = 1;
			continue;
		}
		if (!final)
			continue;
		reach[at[k - 1]] = 1;
		if (rs_plan_same_covered(o))
			continue;
		lost[at[k - 1]] = 1;
		r = strv_pushf(&p->conflicts, &p->nconflicts,
			       "clean mode would drop %s %s.%s (%s), and DROP ... CASCADE would take %s along, which the restore does not recreate%s: make the target's definition match the snapshot's, or drop or change what depends on it first",
			       root->type, root->schema, root->name,
			       root->why ? root->why : "recreated", PQgetvalue(res, i, 5),
			       o && o->act == RS_ACT_KEEP && !strcmp(o->type, "TABLE") ?
			       " (its table is kept: its rows would be lost)" : "");
	}
	/* proven: everything the drop reaches is recreated */
	for (size_t i = 0; final && i < p->nobjects && r == 0; i++)
		if (reach[i] && !lost[i])
			r = rs_plan_same_cascade_drop(&p->objects[i]);
	PQclear(res);
	for (int a = 0; a < 4; a++)
		buf_release(&arr[a]);
	free(at);
	free(lost);
	free(reach);
	return r;
}

int rs_plan_same_cascade(PGconn *c, struct rs_plan *p, const struct rs_plan_source *src,
			 int final, struct buf *err)
{
	struct rs_plan_key *keys = calloc(p->nobjects + 1, sizeof(*keys));
	size_t nk = 0;
	int r = keys ? 0 : -ENOMEM, changed = 1;

	for (; r == 0 && nk < p->nobjects; nk++)
		r = rs_plan_key_of(src->ddl, pg_ddl_get(src->ddl, p->objects[nk].section),
				   &keys[nk]);
	while (r == 0 && changed)
		r = rs_plan_same_pass(c, p, src->ddl, keys, 0, &changed, err);
	if (r == 0 && final)
		r = rs_plan_same_pass(c, p, src->ddl, keys, 1, &changed, err);
	for (size_t i = 0; keys && i < nk; i++)
		rs_plan_key_release(&keys[i]);
	free(keys);
	return r;
}

/*
 * rs-undo-fp: the catalogs' fingerprint the undo is proven against, and
 * the values a revert puts back (rs-undo-int.h).
 *
 * The fingerprint of an entry a revert may put back digests what it
 * holds, not where its row version lies: a grant taken back, a comment
 * set to its old text or a schema given back to its owner restore the
 * fingerprint, so the rehearsal can prove such a revert and `vault
 * rollback` can check, later, that an entry still holds what the
 * restore left in it.  What the server updates in place (page counts,
 * frozen xids: a concurrent VACUUM or ANALYZE) is left out of pg_class's
 * digest; an ACL still NULL and one equal to the built-in default digest
 * alike (a grant taken back leaves the default written out).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg-conn.h"
#include "rs-undo-int.h"
#include "strv.h"

/* an ACL column as its digest counts it: NULL is the built-in default */
#define RS_UNDO_ACL(col, kind, owner) \
	"pg_catalog.md5(CASE WHEN x." col " = pg_catalog.acldefault('" kind "', x." owner ")" \
	" THEN pg_catalog.jsonb_populate_record(x, '{\"" col "\": null}')::text ELSE x::text END)"

/* what an entry holds, whole */
#define RS_UNDO_ROW "pg_catalog.md5(x::text)"

/*
 * The catalogs fingerprinted: catalog, key, digest, rows.  Entries with
 * an oid are keyed by it (the undo drops the new ones).  The entries a
 * revert may put back (rs-undo-revert: schemas, relations, columns,
 * types, routines, languages, foreign-data wrappers and servers, default
 * privileges, comments) are digested by what they hold; the others
 * (NULL below), which no revert touches, by their row version (xmin and
 * ctid: any change writes a new one), which is much cheaper than
 * printing rules' and defaults' node trees.  Views (roles, user
 * mappings) and what a role may read of pg_subscription are digested by
 * what they show.  Temporary schemas and relations, of this or another
 * session, are left out.
 */
static const struct {
	const char *cat, *key, *fp, *from;
	int min_version;
	/* an entry digested by what it holds, of a table whose row version
	 * every role may read (not a view, nor pg_subscription): the oid its
	 * key names, for rs_undo_fp_since */
	const char *oid;
} rs_undo_cats[] = {
	{ "pg_namespace", "x.oid::text",
	  "pg_catalog.md5(ROW(x.nspname, x.nspowner,"
	  " COALESCE(x.nspacl, pg_catalog.acldefault('n', x.nspowner)))::text)",
	  "pg_catalog.pg_namespace x WHERE x.nspname !~ '^pg_(toast_)?temp_'", 0, "x.oid" },
	/* a table's row is rewritten when a key to it is added
	 * (relhastriggers) or an index (relhasindex): side effects of
	 * objects of their own, which the undo drops; so only what defines
	 * the relation counts */
	{ "pg_class", "x.oid::text",
	  "pg_catalog.md5(ROW(x.relname, x.relnamespace, x.reltype, x.relowner,"
	  " x.relam, x.relkind, COALESCE(x.relacl, pg_catalog.acldefault("
	  "  CASE x.relkind WHEN 'S' THEN 's' ELSE 'r' END::\"char\", x.relowner)),"
	  " x.reloptions, x.relrowsecurity, x.relforcerowsecurity, x.relreplident,"
	  " x.relispartition, x.relpersistence, x.reltablespace)::text)",
	  "pg_catalog.pg_class x WHERE x.relpersistence <> 't'", 0, "x.oid" },
	{ "pg_attribute", "x.attrelid || ':' || x.attnum", RS_UNDO_ROW,
	  "pg_catalog.pg_attribute x JOIN pg_catalog.pg_class c ON c.oid = x.attrelid"
	  " WHERE c.relpersistence <> 't'", 0, "x.attrelid" },
	{ "pg_type", "x.oid::text", RS_UNDO_ACL("typacl", "T", "typowner"),
	  "pg_catalog.pg_type x JOIN pg_catalog.pg_namespace n ON n.oid = x.typnamespace"
	  " WHERE n.nspname !~ '^pg_(toast_)?temp_'", 0, "x.oid" },
	{ "pg_constraint", "x.oid::text", NULL,
	  "pg_catalog.pg_constraint x JOIN pg_catalog.pg_namespace n ON n.oid = x.connamespace"
	  " WHERE n.nspname !~ '^pg_(toast_)?temp_'", 0, NULL },
	{ "pg_proc", "x.oid::text", RS_UNDO_ACL("proacl", "f", "proowner"),
	  "pg_catalog.pg_proc x", 0, "x.oid" },
	{ "pg_extension", "x.oid::text", NULL, "pg_catalog.pg_extension x", 0, NULL },
	{ "pg_collation", "x.oid::text", NULL, "pg_catalog.pg_collation x", 0, NULL },
	{ "pg_conversion", "x.oid::text", NULL, "pg_catalog.pg_conversion x", 0, NULL },
	{ "pg_operator", "x.oid::text", NULL, "pg_catalog.pg_operator x", 0, NULL },
	{ "pg_opclass", "x.oid::text", NULL, "pg_catalog.pg_opclass x", 0, NULL },
	{ "pg_opfamily", "x.oid::text", NULL, "pg_catalog.pg_opfamily x", 0, NULL },
	{ "pg_cast", "x.oid::text", NULL, "pg_catalog.pg_cast x", 0, NULL },
	{ "pg_language", "x.oid::text", RS_UNDO_ACL("lanacl", "l", "lanowner"),
	  "pg_catalog.pg_language x", 0, "x.oid" },
	{ "pg_ts_config", "x.oid::text", NULL, "pg_catalog.pg_ts_config x", 0, NULL },
	{ "pg_ts_dict", "x.oid::text", NULL, "pg_catalog.pg_ts_dict x", 0, NULL },
	{ "pg_ts_parser", "x.oid::text", NULL, "pg_catalog.pg_ts_parser x", 0, NULL },
	{ "pg_ts_template", "x.oid::text", NULL, "pg_catalog.pg_ts_template x", 0, NULL },
	{ "pg_foreign_data_wrapper", "x.oid::text", RS_UNDO_ACL("fdwacl", "F", "fdwowner"),
	  "pg_catalog.pg_foreign_data_wrapper x", 0, "x.oid" },
	{ "pg_foreign_server", "x.oid::text", RS_UNDO_ACL("srvacl", "S", "srvowner"),
	  "pg_catalog.pg_foreign_server x", 0, "x.oid" },
	{ "pg_event_trigger", "x.oid::text", NULL, "pg_catalog.pg_event_trigger x", 0, NULL },
	{ "pg_publication", "x.oid::text", NULL, "pg_catalog.pg_publication x", 0, NULL },
	{ "pg_publication_rel", "x.oid::text", NULL, "pg_catalog.pg_publication_rel x", 0, NULL },
	{ "pg_publication_namespace", "x.oid::text", NULL,
	  "pg_catalog.pg_publication_namespace x", 150000, NULL },
	/* the columns every role may read; this database's only */
	{ "pg_subscription", "x.oid::text",
	  "pg_catalog.md5(ROW(x.subname, x.subowner, x.subenabled, x.subslotname,"
	  " x.subpublications)::text)",
	  "pg_catalog.pg_subscription x WHERE x.subdbid = (SELECT d.oid FROM"
	  " pg_catalog.pg_database d WHERE d.datname = pg_catalog.current_database())", 0, NULL },
	{ "pg_default_acl", "x.oid::text", RS_UNDO_ROW, "pg_catalog.pg_default_acl x", 0, "x.oid" },
	{ "pg_trigger", "x.oid::text", NULL, "pg_catalog.pg_trigger x", 0, NULL },
	{ "pg_policy", "x.oid::text", NULL, "pg_catalog.pg_policy x", 0, NULL },
	{ "pg_rewrite", "x.oid::text", NULL, "pg_catalog.pg_rewrite x", 0, NULL },
	{ "pg_attrdef", "x.oid::text", NULL, "pg_catalog.pg_attrdef x", 0, NULL },
	{ "pg_statistic_ext", "x.oid::text", NULL, "pg_catalog.pg_statistic_ext x", 0, NULL },
	{ "pg_am", "x.oid::text", NULL, "pg_catalog.pg_am x", 0, NULL },
	{ "pg_transform", "x.oid::text", NULL, "pg_catalog.pg_transform x", 0, NULL },
	{ "pg_auth_members", "x.roleid || ':' || x.member", NULL, "pg_catalog.pg_auth_members x", 0, NULL },
	{ "pg_db_role_setting", "x.setdatabase || ':' || x.setrole", NULL,
	  "pg_catalog.pg_db_role_setting x", 0, NULL },
	{ "pg_description", "x.classoid || ':' || x.objoid || ':' || x.objsubid", RS_UNDO_ROW,
	  "pg_catalog.pg_description x", 0, "x.objoid" },
	{ "pg_shdescription", "x.classoid || ':' || x.objoid", RS_UNDO_ROW,
	  "pg_catalog.pg_shdescription x", 0, "x.objoid" },
	/* views */
	{ "pg_authid", "x.oid::text", RS_UNDO_ROW, "pg_catalog.pg_roles x", 0, NULL },
	{ "pg_user_mapping", "x.umid::text", RS_UNDO_ROW, "pg_catalog.pg_user_mappings x", 0, NULL },
};

#define RS_UNDO_NCATS (sizeof(rs_undo_cats) / sizeof(rs_undo_cats[0]))

/* a row version: any change to the row writes a new one */
#define RS_UNDO_VERSION "x.xmin::text || x.ctid::text"

/*
 * The fingerprint's query: cat, k, fp, v (the row version of an entry
 * digested by what it holds, else '').  since: such an entry is digested
 * only when its row was written by a transaction not older than $1 (a
 * 32-bit transaction id, compared as the server compares them, modulo
 * 2^32) and its oid is not above $2; otherwise fp is NULL.
 */
static int rs_undo_fp_sql(struct buf *sql, int version, int since)
{
	int r = buf_addstr(sql, "SELECT cat, k, fp, v FROM (");
	const char *sep = "";

	for (size_t i = 0; i < RS_UNDO_NCATS && r == 0; i++) {
		const char *fp = rs_undo_cats[i].fp, *oid = rs_undo_cats[i].oid;

		if (rs_undo_cats[i].min_version > version)
			continue;
		r = buf_addf(sql, "%sSELECT '%s'::text AS cat, %s AS k, ", sep,
			     rs_undo_cats[i].cat, rs_undo_cats[i].key);
		if (r == 0 && since && oid)
			r = buf_addf(sql, "CASE WHEN ((x.xmin::text::bigint - $1::bigint + 4294967296) %% 4294967296)"
				     " < 2147483648 AND %s::bigint <= $2::bigint THEN %s END", oid, fp);
		else if (r == 0)
			r = buf_addstr(sql, fp ? fp : RS_UNDO_VERSION);
		if (r == 0)
			r = buf_addf(sql, " AS fp, %s AS v FROM %s", oid ? RS_UNDO_VERSION : "''::text",
				     rs_undo_cats[i].from);
		sep = " UNION ALL ";
	}
	/* sorted by rs_undo_fp_query: the server's sort of the wide rows
	 * took as long as reading them */
	return r ? r : buf_addstr(sql, ") f");
}

/*
 * The values rs_undo_fp_values keeps.  Comments on the built-in objects
 * (thousands, none of which a dump changes) only for schemas,
 * extensions and languages, which a dump does comment on.
 */
static const char rs_undo_values_sql[] =
	"SELECT cat, k, v FROM ("
	"SELECT 'pg_namespace'::text AS cat, x.oid::text AS k,"
	" pg_catalog.jsonb_build_object('owner', x.nspowner, 'acl', x.nspacl::text)::text AS v"
	" FROM pg_catalog.pg_namespace x WHERE x.nspname !~ '^pg_(toast_)?temp_'"
	" UNION ALL SELECT 'pg_class', x.oid::text, pg_catalog.jsonb_build_object('acl', x.relacl::text)::text"
	" FROM pg_catalog.pg_class x WHERE x.relacl IS NOT NULL AND x.relpersistence <> 't'"
	" UNION ALL SELECT 'pg_attribute', x.attrelid || ':' || x.attnum,"
	" pg_catalog.jsonb_build_object('acl', x.attacl::text)::text"
	" FROM pg_catalog.pg_attribute x WHERE x.attacl IS NOT NULL"
	" UNION ALL SELECT 'pg_proc', x.oid::text, pg_catalog.jsonb_build_object('acl', x.proacl::text)::text"
	" FROM pg_catalog.pg_proc x WHERE x.proacl IS NOT NULL"
	" UNION ALL SELECT 'pg_type', x.oid::text, pg_catalog.jsonb_build_object('acl', x.typacl::text)::text"
	" FROM pg_catalog.pg_type x WHERE x.typacl IS NOT NULL"
	" UNION ALL SELECT 'pg_language', x.oid::text, pg_catalog.jsonb_build_object('acl', x.lanacl::text)::text"
	" FROM pg_catalog.pg_language x WHERE x.lanacl IS NOT NULL"
	" UNION ALL SELECT 'pg_foreign_data_wrapper', x.oid::text,"
	" pg_catalog.jsonb_build_object('acl', x.fdwacl::text)::text"
	" FROM pg_catalog.pg_foreign_data_wrapper x WHERE x.fdwacl IS NOT NULL"
	" UNION ALL SELECT 'pg_foreign_server', x.oid::text,"
	" pg_catalog.jsonb_build_object('acl', x.srvacl::text)::text"
	" FROM pg_catalog.pg_foreign_server x WHERE x.srvacl IS NOT NULL"
	" UNION ALL SELECT 'pg_default_acl', x.oid::text,"
	" pg_catalog.jsonb_build_object('acl', x.defaclacl::text)::text FROM pg_catalog.pg_default_acl x"
	" UNION ALL SELECT 'pg_description', x.classoid || ':' || x.objoid || ':' || x.objsubid,"
	" pg_catalog.jsonb_build_object('comment', x.description)::text FROM pg_catalog.pg_description x"
	" WHERE x.objoid >= 16384 OR x.classoid IN ('pg_catalog.pg_namespace'::pg_catalog.regclass,"
	"  'pg_catalog.pg_extension'::pg_catalog.regclass, 'pg_catalog.pg_language'::pg_catalog.regclass)"
	" UNION ALL SELECT 'pg_shdescription', x.classoid || ':' || x.objoid,"
	" pg_catalog.jsonb_build_object('comment', x.description)::text FROM pg_catalog.pg_shdescription x"
	") f";

void rs_undo_fp_release(struct rs_undo_fp *f)
{
	for (size_t i = 0; f->ver && i < f->n; i++)
		free(f->ver[i]);
	free(f->ver);
	strv_free(f->v, f->n);
	f->v = NULL;
	f->ver = NULL;
	f->n = 0;
}

/* The index of the line of f whose key is line's, or f->n. */
static size_t rs_undo_fp_index(const struct rs_undo_fp *f, const char *line)
{
	size_t lo = 0, hi = f->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int d = rs_undo_keycmp(f->v[mid], line);

		if (d == 0)
			return mid;
		if (d < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return f->n;
}

/*
 * Row i of res (cat, k, fp[, v]) as the line "cat\tkey\tfp" into b, or,
 * a NULL fp (rs_undo_fp_since), "cat\tkey\t" with *open set: its
 * fingerprint comes from base once the lines are sorted
 * (rs_undo_fp_resolve).
 */
static int rs_undo_fp_line(struct buf *b, const PGresult *res, int i, int *open)
{
	/* no format: tens of thousands of rows */
	int r = buf_add(b, PQgetvalue(res, i, 0), (size_t)PQgetlength(res, i, 0));

	if (r == 0)
		r = buf_addch(b, '\t');
	if (r == 0)
		r = buf_add(b, PQgetvalue(res, i, 1), (size_t)PQgetlength(res, i, 1));
	if (r == 0)
		r = buf_addch(b, '\t');
	*open = PQgetisnull(res, i, 2);
	if (r < 0 || *open)
		return r;
	return buf_add(b, PQgetvalue(res, i, 2), (size_t)PQgetlength(res, i, 2));
}

/* A line of a fingerprint, its row version and whether its fingerprint
 * is still to come from base, to sort them together. */
struct rs_undo_fp_pair {
	char *v, *ver;
	int open;
};

/* Lines of distinct keys compare as their keys do (rs_undo_keycmp):
 * the first byte that differs is in the keys, or it is the '\t' that
 * ends the shorter key, which sorts before every byte of a key (digits,
 * ':', '-'). */
static int rs_undo_fp_pair_cmp(const void *a, const void *b)
{
	return strcmp(((const struct rs_undo_fp_pair *)a)->v,
		      ((const struct rs_undo_fp_pair *)b)->v);
}

/* p[i].v (open) += base's fingerprint of the same key when base holds
 * the same row version, else one no digest equals: "unread <version>"
 * when base has the key, "new <version>" when it does not. */
static int rs_undo_fp_fill(struct rs_undo_fp_pair *p, const struct rs_undo_fp *base,
			   size_t j)
{
	const char *ver = p->ver ? p->ver : "";
	int has = base && j < base->n && !rs_undo_keycmp(base->v[j], p->v);
	struct buf b = BUF_INIT;
	int r = buf_addstr(&b, p->v);

	if (r == 0 && has && *ver && base->ver && base->ver[j] && !strcmp(base->ver[j], ver))
		r = buf_addstr(&b, rs_undo_rest(base->v[j]));
	else if (r == 0)
		r = buf_addf(&b, "%s %s", has ? "unread" : "new", ver);
	if (r < 0) {
		buf_release(&b);
		return r;
	}
	free(p->v);
	p->v = buf_detach(&b, NULL);
	return p->v ? 0 : -ENOMEM;
}

/* f's lines (and versions) in key order: cat, then key, bytewise, as
 * an ORDER BY cat COLLATE "C", k COLLATE "C" would give them ('\t' sorts
 * before every byte of a name or a key); the open ones (open[i]) then
 * filled from base in one walk beside it. */
static int rs_undo_fp_sort(struct rs_undo_fp *f, const unsigned char *open,
			   const struct rs_undo_fp *base)
{
	struct rs_undo_fp_pair *p = f->n ? calloc(f->n, sizeof(*p)) : NULL;
	size_t j = 0;
	int r = 0;

	if (f->n && !p)
		return -ENOMEM;
	for (size_t i = 0; i < f->n; i++) {
		p[i].v = f->v[i];
		p[i].ver = f->ver ? f->ver[i] : NULL;
		p[i].open = open && open[i];
	}
	if (f->n)
		qsort(p, f->n, sizeof(*p), rs_undo_fp_pair_cmp);
	for (size_t i = 0; i < f->n; i++) {
		if (p[i].open && r == 0) {
			while (base && j < base->n && rs_undo_keycmp(base->v[j], p[i].v) < 0)
				j++;
			r = rs_undo_fp_fill(&p[i], base, j);
		}
		f->v[i] = p[i].v;
		if (f->ver)
			f->ver[i] = p[i].ver;
	}
	free(p);
	return r;
}

/* f = the rows of sql (cat, key, value[, version]) as lines in key
 * order, run with params (may be NULL); NULL values resolved against
 * base */
static int rs_undo_fp_query(struct rs_undo_fp *f, PGconn *c, const char *sql,
			    int nparams, const char *const *params,
			    const struct rs_undo_fp *base, struct buf *err)
{
	PGresult *res = NULL;
	unsigned char *open = NULL;
	int r, n, withver;

	memset(f, 0, sizeof(*f));
	r = pg_conn_query(c, &res, PGRES_TUPLES_OK, sql, nparams, params,
			  "reading the catalogs (restore undo)", err);
	if (r < 0)
		return r;
	n = PQntuples(res);
	withver = PQnfields(res) > 3;
	f->v = calloc((size_t)n + 1, sizeof(*f->v));
	open = calloc((size_t)n + 1, 1);
	if (f->v && withver)
		f->ver = calloc((size_t)n + 1, sizeof(*f->ver));
	for (int i = 0; f->v && open && i < n && r == 0; i++) {
		struct buf b = BUF_INIT;
		const char *ver = f->ver ? PQgetvalue(res, i, 3) : "";
		int o = 0;

		if (rs_undo_fp_line(&b, res, i, &o) < 0 ||
		    !(f->v[f->n] = buf_detach(&b, NULL)) ||
		    (*ver && !(f->ver[f->n] = strdup(ver))))
			r = -ENOMEM;
		buf_release(&b);
		if (f->v[f->n])
			open[f->n++] = (unsigned char)o;
	}
	PQclear(res);
	if (r == 0 && (!f->v || !open || (withver && !f->ver)))
		r = -ENOMEM;
	if (r == 0)
		r = rs_undo_fp_sort(f, open, base);
	free(open);
	return r;
}

/* The highest number in any key of f: the oids entries are keyed by. */
static uint64_t rs_undo_fp_maxoid(const struct rs_undo_fp *f)
{
	uint64_t max = 0;

	for (size_t i = 0; i < f->n; i++) {
		const char *q = strchr(f->v[i], '\t'), *end = f->v[i] + rs_undo_keylen(f->v[i]);

		while (q && q < end) {
			uint64_t v = 0;

			if (*q < '0' || *q > '9') {
				q++;
				continue;
			}
			while (q < end && *q >= '0' && *q <= '9' && v < UINT64_MAX / 10)
				v = v * 10 + (uint64_t)(*q++ - '0');
			if (v > max)
				max = v;
		}
	}
	return max;
}

int rs_undo_fp_take(struct rs_undo_fp *f, PGconn *c, struct buf *err)
{
	struct buf sql = BUF_INIT;
	PGresult *res = NULL;
	uint32_t xmin = 0;
	/* before the catalogs are read: every row written after them was
	 * written by a transaction at least as young */
	int r = pg_conn_query(c, &res, PGRES_TUPLES_OK,
			      "SELECT pg_catalog.txid_snapshot_xmin(pg_catalog.txid_current_snapshot())"
			      " % 4294967296", 0, NULL, "reading the catalogs (restore undo)", err);

	if (r == 0)
		xmin = (uint32_t)strtoull(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	if (r == 0)
		r = rs_undo_fp_sql(&sql, PQserverVersion(c), 0);
	if (r == 0)
		r = rs_undo_fp_query(f, c, (char *)sql.data, 0, NULL, NULL, err);
	if (r == 0) {
		f->xmin = xmin;
		f->maxoid = rs_undo_fp_maxoid(f);
	}
	buf_release(&sql);
	return r;
}

int rs_undo_fp_since(struct rs_undo_fp *f, PGconn *c, const struct rs_undo_fp *base,
		     struct buf *err)
{
	struct buf sql = BUF_INIT;
	char xmin[16], maxoid[24];
	const char *params[2] = { xmin, maxoid };
	int r = rs_undo_fp_sql(&sql, PQserverVersion(c), 1);

	snprintf(xmin, sizeof(xmin), "%u", (unsigned)base->xmin);
	snprintf(maxoid, sizeof(maxoid), "%llu", (unsigned long long)base->maxoid);
	if (r == 0)
		r = rs_undo_fp_query(f, c, (char *)sql.data, 2, params, base, err);
	buf_release(&sql);
	return r;
}

int rs_undo_fp_values(struct rs_undo_fp *f, PGconn *c, struct buf *err)
{
	return rs_undo_fp_query(f, c, rs_undo_values_sql, 0, NULL, NULL, err);
}

size_t rs_undo_keylen(const char *line)
{
	const char *t = strchr(line, '\t');

	t = t ? strchr(t + 1, '\t') : NULL;
	return t ? (size_t)(t - line) : strlen(line);
}

/* As memcmp of the two keys, then their lengths, would compare them,
 * in one pass (this is the inner loop of every search of a
 * fingerprint): a key ends at its line's second tab or end. */
int rs_undo_keycmp(const char *a, const char *b)
{
	const unsigned char *x = (const unsigned char *)a, *y = (const unsigned char *)b;
	int tabs = 0;

	for (;; x++, y++) {
		int ex = !*x || (*x == '\t' && tabs == 1);
		int ey = !*y || (*y == '\t' && tabs == 1);

		if (ex || ey)
			return ey - ex;
		if (*x != *y)
			return *x < *y ? -1 : 1;
		tabs += *x == '\t';
	}
}

const char *rs_undo_fp_find(const struct rs_undo_fp *f, const char *line)
{
	size_t i = rs_undo_fp_index(f, line);

	return i < f->n ? f->v[i] : NULL;
}

int rs_undo_is_cat(const char *line, const char *cat)
{
	size_t n = strlen(cat);

	return !strncmp(line, cat, n) && line[n] == '\t';
}

const char *rs_undo_rest(const char *line)
{
	size_t kl = rs_undo_keylen(line);

	return line[kl] ? line + kl + 1 : line + kl;
}

int rs_undo_fp_walk(const struct rs_undo_fp *before, const struct rs_undo_fp *after,
		    int (*fn)(void *ctx, const char *line, const char *old), void *ctx)
{
	size_t j = 0;
	int r = 0;

	for (size_t i = 0; i < after->n && r >= 0; i++) {
		int d = -1;

		while (j < before->n && (d = rs_undo_keycmp(after->v[i], before->v[j])) > 0)
			j++;
		if (j < before->n && d == 0) {
			if (strcmp(after->v[i], before->v[j]))
				r = fn(ctx, after->v[i], before->v[j]);
		} else {
			r = fn(ctx, after->v[i], NULL);
		}
	}
	return r < 0 ? r : 0;
}

int rs_undo_array_add(struct buf *a, const char *s, size_t len)
{
	int r = a->len > 1 ? buf_addch(a, ',') : 0;

	if (r == 0)
		r = buf_addch(a, '"');
	for (size_t i = 0; i < len && r == 0; i++) {
		if (s[i] == '"' || s[i] == '\\')
			r = buf_addch(a, '\\');
		if (r == 0)
			r = buf_addch(a, s[i]);
	}
	return r ? r : buf_addch(a, '"');
}

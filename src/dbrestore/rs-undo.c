/*
 * rs-undo: proving, then running, the undo of a parallel restore's
 * first transaction (see rs-undo.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg-conn.h"
#include "rs-undo.h"
#include "strv.h"

/*
 * The catalogs fingerprinted, one row per entry: catalog, key,
 * fingerprint.  Entries with an oid are keyed by it (the undo drops the
 * new ones).  The fingerprint of a table's row is its xmin and ctid:
 * any change to an entry writes a new row version, while what the
 * server updates in place (page counts, frozen xids) leaves both alone,
 * so a concurrent VACUUM or ANALYZE does not upset the proof.  The two
 * views (roles, user mappings) are hashed whole.  Temporary schemas and
 * relations, of this or another session, are left out.
 */
static const struct {
	const char *cat, *key, *from;
} rs_undo_cats[] = {
	{ "pg_namespace", "x.oid::text",
	  "pg_catalog.pg_namespace x WHERE x.nspname !~ '^pg_(toast_)?temp_'" },
	{ "pg_class", "x.oid::text",
	  "pg_catalog.pg_class x WHERE x.relpersistence <> 't'" },	/* see below */
	{ "pg_attribute", "x.attrelid || ':' || x.attnum",
	  "pg_catalog.pg_attribute x JOIN pg_catalog.pg_class c ON c.oid = x.attrelid"
	  " WHERE c.relpersistence <> 't'" },
	{ "pg_type", "x.oid::text",
	  "pg_catalog.pg_type x JOIN pg_catalog.pg_namespace n ON n.oid = x.typnamespace"
	  " WHERE n.nspname !~ '^pg_(toast_)?temp_'" },
	{ "pg_constraint", "x.oid::text",
	  "pg_catalog.pg_constraint x JOIN pg_catalog.pg_namespace n ON n.oid = x.connamespace"
	  " WHERE n.nspname !~ '^pg_(toast_)?temp_'" },
	{ "pg_proc", "x.oid::text", "pg_catalog.pg_proc x" },
	{ "pg_extension", "x.oid::text", "pg_catalog.pg_extension x" },
	{ "pg_collation", "x.oid::text", "pg_catalog.pg_collation x" },
	{ "pg_conversion", "x.oid::text", "pg_catalog.pg_conversion x" },
	{ "pg_operator", "x.oid::text", "pg_catalog.pg_operator x" },
	{ "pg_opclass", "x.oid::text", "pg_catalog.pg_opclass x" },
	{ "pg_opfamily", "x.oid::text", "pg_catalog.pg_opfamily x" },
	{ "pg_cast", "x.oid::text", "pg_catalog.pg_cast x" },
	{ "pg_language", "x.oid::text", "pg_catalog.pg_language x" },
	{ "pg_ts_config", "x.oid::text", "pg_catalog.pg_ts_config x" },
	{ "pg_ts_dict", "x.oid::text", "pg_catalog.pg_ts_dict x" },
	{ "pg_ts_parser", "x.oid::text", "pg_catalog.pg_ts_parser x" },
	{ "pg_ts_template", "x.oid::text", "pg_catalog.pg_ts_template x" },
	{ "pg_foreign_data_wrapper", "x.oid::text", "pg_catalog.pg_foreign_data_wrapper x" },
	{ "pg_foreign_server", "x.oid::text", "pg_catalog.pg_foreign_server x" },
	{ "pg_event_trigger", "x.oid::text", "pg_catalog.pg_event_trigger x" },
	{ "pg_publication", "x.oid::text", "pg_catalog.pg_publication x" },
	{ "pg_publication_rel", "x.oid::text", "pg_catalog.pg_publication_rel x" },
	{ "pg_default_acl", "x.oid::text", "pg_catalog.pg_default_acl x" },
	{ "pg_trigger", "x.oid::text", "pg_catalog.pg_trigger x" },
	{ "pg_policy", "x.oid::text", "pg_catalog.pg_policy x" },
	{ "pg_rewrite", "x.oid::text", "pg_catalog.pg_rewrite x" },
	{ "pg_attrdef", "x.oid::text", "pg_catalog.pg_attrdef x" },
	{ "pg_statistic_ext", "x.oid::text", "pg_catalog.pg_statistic_ext x" },
	{ "pg_am", "x.oid::text", "pg_catalog.pg_am x" },
	{ "pg_transform", "x.oid::text", "pg_catalog.pg_transform x" },
	{ "pg_auth_members", "x.roleid || ':' || x.member", "pg_catalog.pg_auth_members x" },
	{ "pg_db_role_setting", "x.setdatabase || ':' || x.setrole", "pg_catalog.pg_db_role_setting x" },
	{ "pg_description", "x.classoid || ':' || x.objoid || ':' || x.objsubid",
	  "pg_catalog.pg_description x" },
	{ "pg_shdescription", "x.classoid || ':' || x.objoid", "pg_catalog.pg_shdescription x" },
	/* views: no row versions to see */
	{ "pg_authid", "x.oid::text", "pg_catalog.pg_roles x" },
	{ "pg_user_mapping", "x.umid::text", "pg_catalog.pg_user_mappings x" },
};

static int rs_undo_fp_sql(struct buf *sql)
{
	size_t n = sizeof(rs_undo_cats) / sizeof(rs_undo_cats[0]);
	int r = buf_addstr(sql, "SELECT cat, k, fp FROM (");

	for (size_t i = 0; i < n && r == 0; i++) {
		int view = !strncmp(rs_undo_cats[i].from, "pg_catalog.pg_roles", 19) ||
			   !strncmp(rs_undo_cats[i].from, "pg_catalog.pg_user_mappings", 27);
		/* a table's row is rewritten when a key to it is added
		 * (relhastriggers) or an index (relhasindex): side effects of
		 * objects of their own, which the undo drops; so for pg_class
		 * only what defines the relation counts */
		const char *fp = view ? "pg_catalog.md5(x::text)" :
				 !strcmp(rs_undo_cats[i].cat, "pg_class") ?
				 "pg_catalog.md5(ROW(x.relname, x.relnamespace, x.reltype, x.relowner,"
				 " x.relam, x.relkind, x.relacl, x.reloptions, x.relrowsecurity,"
				 " x.relforcerowsecurity, x.relreplident, x.relispartition,"
				 " x.relpersistence, x.reltablespace)::text)" :
				 "x.xmin::text || x.ctid::text";

		r = buf_addf(sql, "%sSELECT '%s'::text AS cat, %s AS k, %s AS fp FROM %s",
			     i ? " UNION ALL " : "", rs_undo_cats[i].cat, rs_undo_cats[i].key,
			     fp, rs_undo_cats[i].from);
	}
	return r ? r : buf_addstr(sql, ") f ORDER BY cat COLLATE \"C\", k COLLATE \"C\"");
}

/* what the catalogs held: "cat\tkey\tfp" lines, sorted */
struct rs_undo_fp {
	char **v;
	size_t n;
};

struct rs_undo {
	struct rs_undo_fp before;
	char **stmts;
	size_t nstmts;
	struct rs_undo_fp created;	/* "cat\tkey" of what is new */
};

static void rs_undo_fp_release(struct rs_undo_fp *f)
{
	strv_free(f->v, f->n);
	f->v = NULL;
	f->n = 0;
}

static int rs_undo_fp_take(struct rs_undo_fp *f, PGconn *c, struct buf *err)
{
	PGresult *res = NULL;
	struct buf sql = BUF_INIT;
	int r = rs_undo_fp_sql(&sql);
	int n;

	if (r == 0)
		r = pg_conn_query(c, &res, PGRES_TUPLES_OK, (char *)sql.data, 0, NULL,
				  "reading the catalogs (parallel restore undo)", err);
	buf_release(&sql);
	f->v = NULL;
	f->n = 0;
	if (r < 0)
		return r;
	n = PQntuples(res);
	f->v = calloc((size_t)n + 1, sizeof(*f->v));
	for (int i = 0; f->v && i < n; i++) {
		struct buf b = BUF_INIT;

		if (buf_addf(&b, "%s\t%s\t%s", PQgetvalue(res, i, 0), PQgetvalue(res, i, 1),
			     PQgetvalue(res, i, 2)) < 0 ||
		    !(f->v[f->n] = buf_detach(&b, NULL))) {
			buf_release(&b);
			PQclear(res);
			return -ENOMEM;
		}
		f->n++;
	}
	PQclear(res);
	return f->v ? 0 : -ENOMEM;
}

/* The length of line's "cat\tkey" part. */
static size_t rs_undo_keylen(const char *line)
{
	const char *t = strchr(line, '\t');

	t = t ? strchr(t + 1, '\t') : NULL;
	return t ? (size_t)(t - line) : strlen(line);
}

static int rs_undo_keycmp(const char *a, const char *b)
{
	size_t la = rs_undo_keylen(a), lb = rs_undo_keylen(b);
	int d = memcmp(a, b, la < lb ? la : lb);

	return d ? d : (la > lb) - (la < lb);
}

int rs_undo_begin(struct rs_undo **out, PGconn *c, struct buf *err)
{
	struct rs_undo *u = calloc(1, sizeof(*u));
	int r;

	*out = NULL;
	if (!u)
		return -ENOMEM;
	r = rs_undo_fp_take(&u->before, c, err);
	if (r < 0) {
		rs_undo_free(u);
		return r;
	}
	*out = u;
	return 0;
}

/* Each line of lines as a statement (lines is consumed). */
static int rs_undo_push_lines(struct rs_undo *u, struct buf *lines)
{
	char *p = (char *)lines->data;
	struct buf s = BUF_INIT;
	int r = 0;

	for (char *nl; r == 0 && p && (nl = strchr(p, '\n')); p = nl + 1) {
		r = buf_add(&s, p, (size_t)(nl - p));
		if (r == 0)
			r = strv_take(&u->stmts, &u->nstmts, buf_detach(&s, NULL));
		buf_reset(&s);
	}
	buf_release(&s);
	buf_reset(lines);
	return r;
}

/* pg_identify_object's type -> the DROP that removes it (NULL: none of
 * its own; it goes with what it belongs to, or the proof fails) */
static const char *rs_undo_drop_kind(const char *type)
{
	static const char *const map[][2] = {
		{ "table", "TABLE" }, { "view", "VIEW" },
		{ "materialized view", "MATERIALIZED VIEW" },
		{ "sequence", "SEQUENCE" }, { "foreign table", "FOREIGN TABLE" },
		{ "type", "TYPE" }, { "function", "FUNCTION" },
		{ "procedure", "PROCEDURE" }, { "aggregate", "AGGREGATE" },
		{ "collation", "COLLATION" }, { "conversion", "CONVERSION" },
		{ "text search configuration", "TEXT SEARCH CONFIGURATION" },
		{ "text search dictionary", "TEXT SEARCH DICTIONARY" },
		{ "text search parser", "TEXT SEARCH PARSER" },
		{ "text search template", "TEXT SEARCH TEMPLATE" },
		{ "operator", "OPERATOR" }, { "operator class", "OPERATOR CLASS" },
		{ "operator family", "OPERATOR FAMILY" }, { "cast", "CAST" },
		{ "language", "LANGUAGE" },
		{ "foreign-data wrapper", "FOREIGN DATA WRAPPER" },
		{ "server", "SERVER" }, { "event trigger", "EVENT TRIGGER" },
		{ "publication", "PUBLICATION" }, { "statistics object", "STATISTICS" },
		{ "access method", "ACCESS METHOD" },
		/* last: what the others live in */
		{ "extension", "EXTENSION" }, { "schema", "SCHEMA" },
		{ "role", "ROLE" },
	};

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (!strcmp(type, map[i][0]))
			return map[i][1];
	return NULL;
}

/* 0 for objects in schemas, 1 extensions, 2 schemas, 3 roles: the order
 * the drops run in */
static int rs_undo_rank(const char *kind)
{
	return !strcmp(kind, "EXTENSION") ? 1 : !strcmp(kind, "SCHEMA") ? 2 :
	       !strcmp(kind, "ROLE") ? 3 : 0;
}

/*
 * The DROP statements for the new entries of after (those whose key
 * before lacks), newest first within each rank; memberships granted
 * between roles that existed get a REVOKE.
 */
static int rs_undo_statements(struct rs_undo *u, PGconn *c,
			      const struct rs_undo_fp *after, struct buf *err)
{
	static const char sql[] =
		"SELECT i.type, i.identity, EXISTS (SELECT 1 FROM pg_catalog.pg_depend d"
		"  WHERE d.classid = ('pg_catalog.' || o.cat)::regclass AND d.objid = o.objid"
		"  AND d.objsubid = 0 AND d.deptype IN ('i', 'a', 'e'))"
		" FROM ROWS FROM (pg_catalog.unnest($1::text[]), pg_catalog.unnest($2::oid[])) WITH ORDINALITY o(cat, objid, n),"
		" pg_catalog.pg_identify_object(('pg_catalog.' || o.cat)::regclass, o.objid, 0) i"
		" ORDER BY o.n DESC";
	static const char members[] =
		"SELECT pg_catalog.format('REVOKE %I FROM %I', r.rolname, m.rolname)"
		" FROM pg_catalog.pg_roles r, pg_catalog.pg_roles m"
		" WHERE r.oid = $1::oid AND m.oid = $2::oid";
	static const char *const oid_cats[] = {
		"pg_namespace", "pg_class", "pg_type", "pg_proc", "pg_extension",
		"pg_collation", "pg_conversion", "pg_operator", "pg_opclass",
		"pg_opfamily", "pg_cast", "pg_language", "pg_ts_config", "pg_ts_dict",
		"pg_ts_parser", "pg_ts_template", "pg_foreign_data_wrapper",
		"pg_foreign_server", "pg_event_trigger", "pg_publication",
		"pg_statistic_ext", "pg_am", "pg_authid", NULL,
	};
	struct buf cats = BUF_INIT, oids = BUF_INIT, revokes = BUF_INIT, s = BUF_INIT;
	size_t i = 0, j = 0;
	int r, any = 0;

	r = buf_addch(&cats, '{');
	if (r == 0)
		r = buf_addch(&oids, '{');
	/* both lists are sorted by key: walk them together */
	while (r == 0 && i < after->n) {
		const char *line = after->v[i];
		int d = j < u->before.n ? rs_undo_keycmp(line, u->before.v[j]) : -1;
		const char *tab = strchr(line, '\t');
		size_t catlen = tab ? (size_t)(tab - line) : 0;

		if (d > 0) {
			j++;
			continue;
		}
		i++;
		if (d == 0) {
			j++;
			continue;
		}
		if (catlen == strlen("pg_auth_members") && !memcmp(line, "pg_auth_members", catlen)) {
			/* roleid:member, both roles older than the restore? */
			const char *k = tab + 1, *colon = strchr(k, ':');
			const char *end = strchr(k, '\t');
			char role[16], member[16];
			int known = 0;

			if (!colon || !end || colon - k >= 16 || end - colon - 1 >= 16)
				continue;
			memcpy(role, k, (size_t)(colon - k));
			role[colon - k] = 0;
			memcpy(member, colon + 1, (size_t)(end - colon - 1));
			member[end - colon - 1] = 0;
			for (size_t b = 0; b < u->before.n && known < 2; b++) {
				const char *x = u->before.v[b];

				if (strncmp(x, "pg_authid\t", 10))
					continue;
				x += 10;
				if ((!strncmp(x, role, strlen(role)) && x[strlen(role)] == '\t') ||
				    (!strncmp(x, member, strlen(member)) && x[strlen(member)] == '\t'))
					known++;
			}
			if (known == 2) {
				const char *params[2] = { role, member };
				PGresult *res;

				r = pg_conn_query(c, &res, PGRES_TUPLES_OK, members, 2, params,
						  "naming a membership (parallel restore undo)", err);
				if (r == 0 && PQntuples(res) == 1)
					r = buf_addf(&revokes, "%s\n", PQgetvalue(res, 0, 0));
				PQclear(res);
			}
			continue;
		}
		for (size_t k = 0; oid_cats[k]; k++) {
			const char *end = strchr(tab + 1, '\t');

			if (strlen(oid_cats[k]) != catlen || memcmp(line, oid_cats[k], catlen) || !end)
				continue;
			r = buf_addf(&cats, "%s%.*s", any ? "," : "", (int)catlen, line);
			if (r == 0)
				r = buf_addf(&oids, "%s%.*s", any ? "," : "",
					     (int)(end - tab - 1), tab + 1);
			any = 1;
			break;
		}
	}
	if (r == 0)
		r = buf_addch(&cats, '}');
	if (r == 0)
		r = buf_addch(&oids, '}');
	if (r == 0 && any) {
		const char *params[2] = { (char *)cats.data, (char *)oids.data };
		PGresult *res;

		r = pg_conn_query(c, &res, PGRES_TUPLES_OK, sql, 2, params,
				  "naming the new objects (parallel restore undo)", err);
		for (int rank = 0; r == 0 && rank < 4; rank++) {
			for (int k = 0; r == 0 && k < PQntuples(res); k++) {
				const char *kind = rs_undo_drop_kind(PQgetvalue(res, k, 0));

				/* parts of others go with them */
				if (!kind || PQgetvalue(res, k, 2)[0] == 't' ||
				    rs_undo_rank(kind) != rank)
					continue;
				buf_reset(&s);
				r = buf_addf(&s, "DROP %s IF EXISTS %s%s", kind,
					     PQgetvalue(res, k, 1),
					     rank == 3 ? "" : " CASCADE");
				if (r == 0)
					r = strv_take(&u->stmts, &u->nstmts, buf_detach(&s, NULL));
			}
			/* memberships between roles that stay, before roles */
			if (r == 0 && rank == 2)
				r = rs_undo_push_lines(u, &revokes);
		}
		PQclear(res);
	} else if (r == 0) {
		r = rs_undo_push_lines(u, &revokes);
	}
	buf_release(&cats);
	buf_release(&oids);
	buf_release(&revokes);
	buf_release(&s);
	return r;
}

/* An entry that differs after the rehearsal. */
struct rs_undo_odd {
	char cat[32], key[64];
	const char *verb;
};

/* Up to max entries where b differs from a, by key. */
static size_t rs_undo_diff(const struct rs_undo_fp *a, const struct rs_undo_fp *b,
			   struct rs_undo_odd *o, size_t max)
{
	size_t i = 0, j = 0, n = 0;

	while ((i < a->n || j < b->n) && n < max) {
		int d = i >= a->n ? 1 : j >= b->n ? -1 : rs_undo_keycmp(a->v[i], b->v[j]);
		const char *x = d <= 0 ? a->v[i] : b->v[j];
		const char *tab = strchr(x, '\t');
		size_t kl = rs_undo_keylen(x);

		if (d == 0 && !strcmp(a->v[i], b->v[j])) {
			i++;
			j++;
			continue;
		}
		o[n].verb = d < 0 ? "would not come back" : d > 0 ? "would stay" :
			    "was changed, and dropping cannot change it back";
		snprintf(o[n].cat, sizeof(o[n].cat), "%.*s", tab ? (int)(tab - x) : 0, x);
		snprintf(o[n].key, sizeof(o[n].key), "%.*s",
			 tab ? (int)(kl - (size_t)(tab + 1 - x)) : 0, tab ? tab + 1 : "");
		i += d <= 0;
		j += d >= 0;
		n++;
	}
	return n;
}

/* entries kept for the message; the first three (by rs_undo_rank_cat)
 * are named */
#define RS_UNDO_ODD 32

/* Objects first, their parts (columns, rules, row types, comments)
 * last: "view mine" says more than "column id of view mine". */
static int rs_undo_rank_cat(const char *cat)
{
	static const char *const ranks[][8] = {
		{ "pg_class", "pg_namespace", "pg_extension", "pg_authid", NULL },
		{ "pg_constraint", "pg_trigger", "pg_policy", "pg_proc", "pg_publication",
		  "pg_event_trigger", "pg_default_acl", NULL },
		{ "pg_type", "pg_rewrite", "pg_attrdef", "pg_attribute", "pg_description",
		  "pg_shdescription", NULL },
	};

	for (int r = 0; r < 3; r++)
		for (int i = 0; ranks[r][i]; i++)
			if (!strcmp(cat, ranks[r][i]))
				return r == 2 ? 3 : r;
	return 2;
}

/* "the comment on schema public was changed, ...", for the first three
 * entries by rank, then how many more. */
static void rs_undo_describe(PGconn *c, struct rs_undo_odd *o, size_t n,
			     struct buf *why)
{
	size_t shown = 0;

	/* stable insertion sort by rank: n is at most RS_UNDO_ODD */
	for (size_t i = 1; i < n; i++) {
		struct rs_undo_odd k = o[i];
		size_t j = i;

		while (j > 0 && rs_undo_rank_cat(o[j - 1].cat) > rs_undo_rank_cat(k.cat)) {
			o[j] = o[j - 1];
			j--;
		}
		o[j] = k;
	}
	if (n > 3) {
		shown = n;
		n = 3;
	}
	static const char sql[] =
		"SELECT CASE $1"
		" WHEN 'pg_description' THEN 'the comment on ' || pg_catalog.pg_describe_object("
		"  pg_catalog.split_part($2, ':', 1)::oid, pg_catalog.split_part($2, ':', 2)::oid,"
		"  pg_catalog.split_part($2, ':', 3)::int)"
		" WHEN 'pg_shdescription' THEN 'the comment on ' || pg_catalog.pg_describe_object("
		"  pg_catalog.split_part($2, ':', 1)::oid, pg_catalog.split_part($2, ':', 2)::oid, 0)"
		" WHEN 'pg_attribute' THEN pg_catalog.pg_describe_object('pg_catalog.pg_class'::pg_catalog.regclass,"
		"  pg_catalog.split_part($2, ':', 1)::oid, pg_catalog.split_part($2, ':', 2)::int)"
		" WHEN 'pg_auth_members' THEN 'the membership of role '"
		"  || pg_catalog.pg_get_userbyid(pg_catalog.split_part($2, ':', 2)::oid) || ' in '"
		"  || pg_catalog.pg_get_userbyid(pg_catalog.split_part($2, ':', 1)::oid)"
		" WHEN 'pg_db_role_setting' THEN 'the settings of role '"
		"  || pg_catalog.pg_get_userbyid(pg_catalog.split_part($2, ':', 2)::oid)"
		" ELSE pg_catalog.pg_describe_object(('pg_catalog.' || $1)::pg_catalog.regclass,"
		"  pg_catalog.split_part($2, ':', 1)::oid, 0) END";

	for (size_t i = 0; i < n; i++) {
		const char *params[2] = { o[i].cat, o[i].key };
		PGresult *res = PQexecParams(c, sql, 2, NULL, params, NULL, NULL, 0);
		int named = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1 &&
			    !PQgetisnull(res, 0, 0);

		if (named)
			buf_addf(why, "%s%s %s", i ? "; " : "", PQgetvalue(res, 0, 0), o[i].verb);
		else
			buf_addf(why, "%s%s entry %s %s", i ? "; " : "", o[i].cat, o[i].key, o[i].verb);
		PQclear(res);
	}
	if (shown)
		buf_addf(why, "; and %s%zu more catalog entries", shown == RS_UNDO_ODD ? "at least " : "",
			 shown - n);
}

static int rs_undo_exec(PGconn *c, const char *sql, struct buf *err)
{
	return pg_conn_exec(c, sql, sql, err);
}

/* out = the "cat\tkey" of every entry of after whose key before lacks
 * (sorted, as after is) */
static int rs_undo_new_keys(const struct rs_undo_fp *before,
			    const struct rs_undo_fp *after, struct rs_undo_fp *out)
{
	size_t j = 0;

	rs_undo_fp_release(out);
	out->v = calloc(after->n + 1, sizeof(*out->v));
	if (!out->v)
		return -ENOMEM;
	for (size_t i = 0; i < after->n; i++) {
		int d = -1;

		while (j < before->n && (d = rs_undo_keycmp(after->v[i], before->v[j])) > 0)
			j++;
		if (j < before->n && d == 0)
			continue;
		out->v[out->n] = strndup(after->v[i], rs_undo_keylen(after->v[i]));
		if (!out->v[out->n])
			return -ENOMEM;
		out->n++;
	}
	return 0;
}

int rs_undo_prepare(struct rs_undo *u, PGconn *c, struct buf *why,
		    struct buf *err)
{
	struct rs_undo_fp after = { NULL, 0 }, undone = { NULL, 0 };
	struct buf e = BUF_INIT;
	struct rs_undo_odd odd[RS_UNDO_ODD];
	size_t nodd = 0;
	int r, proven = 0, rehearsing = 0;

	strv_free(u->stmts, u->nstmts);
	u->stmts = NULL;
	u->nstmts = 0;
	r = rs_undo_fp_take(&after, c, err);
	if (r == 0)
		r = rs_undo_statements(u, c, &after, err);
	if (r == 0)
		r = rs_undo_new_keys(&u->before, &after, &u->created);
	if (r == 0)
		r = rs_undo_exec(c, "SAVEPOINT vault_undo", err);
	rehearsing = r == 0;
	for (size_t i = 0; r == 0 && i < u->nstmts; i++) {
		r = pg_conn_exec(c, u->stmts[i], u->stmts[i], &e);
		if (r == -EIO || r == -EACCES) {
			/* the server refused it: not provable, not fatal */
			buf_addf(why, "the undo statement failed: %s", (char *)e.data);
			r = 1;
		}
	}
	if (r == 0)
		r = rs_undo_fp_take(&undone, c, err);
	if (r == 0) {
		proven = undone.n == u->before.n;
		for (size_t i = 0; proven && i < undone.n; i++)
			proven = !strcmp(undone.v[i], u->before.v[i]);
		if (!proven) {
			nodd = rs_undo_diff(&u->before, &undone, odd, RS_UNDO_ODD);
			r = 1;
		}
	}
	if (rehearsing && PQstatus(c) == CONNECTION_OK) {
		int r2 = rs_undo_exec(c, "ROLLBACK TO SAVEPOINT vault_undo", err);

		if (r2 == 0)
			r2 = rs_undo_exec(c, "RELEASE SAVEPOINT vault_undo", err);
		if (r2 < 0 && r >= 0)
			r = r2;
	}
	/* named as the restore left them (before the rehearsal) */
	if (r == 1 && !proven && nodd) {
		buf_addstr(why, "dropping what the restore created would not give the catalogs back exactly: ");
		rs_undo_describe(c, odd, nodd, why);
	}
	rs_undo_fp_release(&after);
	rs_undo_fp_release(&undone);
	buf_release(&e);
	return r;
}

size_t rs_undo_created_count(const struct rs_undo *u)
{
	return u ? u->created.n : 0;
}

const char *rs_undo_created_key(const struct rs_undo *u, size_t i)
{
	return u && i < u->created.n ? u->created.v[i] : NULL;
}

static int rs_undo_keyin(const char *const *set, size_t n, const char *line)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int d = rs_undo_keycmp(set[mid], line);

		if (d == 0)
			return 1;
		if (d < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

int rs_undo_rollback(PGconn *c, const char *const *stmts, size_t nstmts,
		     const char *const *created, size_t ncreated,
		     struct buf *why, struct buf *err)
{
	struct rs_undo_fp before = { NULL, 0 }, after = { NULL, 0 };
	struct rs_undo_odd odd[RS_UNDO_ODD];
	size_t nodd = 0, i = 0, j = 0;
	int r;

	/* the keys must be sorted as the fingerprints are */
	for (size_t k = 1; k < ncreated; k++)
		if (rs_undo_keycmp(created[k - 1], created[k]) >= 0) {
			if (err)
				buf_addstr(err, "the restore log's list of created objects is not sorted: damaged log");
			return -EBADMSG;
		}
	r = rs_undo_fp_take(&before, c, err);
	if (r == 0)
		r = rs_undo_exec(c, "SAVEPOINT vault_rollback", err);
	for (size_t k = 0; r == 0 && k < nstmts; k++)
		r = pg_conn_exec(c, stmts[k], stmts[k], err);
	if (r == 0)
		r = rs_undo_fp_take(&after, c, err);
	/* what the drops removed or changed must be the restore's own */
	while (r == 0 && (i < before.n || j < after.n) && nodd < RS_UNDO_ODD) {
		int d = i >= before.n ? 1 : j >= after.n ? -1 :
			rs_undo_keycmp(before.v[i], after.v[j]);
		const char *x = d <= 0 ? before.v[i] : after.v[j];
		const char *tab = strchr(x, '\t');
		size_t kl = rs_undo_keylen(x);

		if (d == 0 && !strcmp(before.v[i], after.v[j])) {
			i++;
			j++;
			continue;
		}
		if (d <= 0 && !rs_undo_keyin(created, ncreated, x)) {
			odd[nodd].verb = d < 0 ? "would be dropped too" : "would be changed";
			snprintf(odd[nodd].cat, sizeof(odd[nodd].cat), "%.*s",
				 tab ? (int)(tab - x) : 0, x);
			snprintf(odd[nodd].key, sizeof(odd[nodd].key), "%.*s",
				 tab ? (int)(kl - (size_t)(tab + 1 - x)) : 0, tab ? tab + 1 : "");
			nodd++;
		}
		i += d <= 0;
		j += d >= 0;
	}
	if (r == 0 && nodd) {
		r = rs_undo_exec(c, "ROLLBACK TO SAVEPOINT vault_rollback", err);
		if (r == 0) {
			buf_addstr(why, "objects the restore did not create depend on what it created: ");
			rs_undo_describe(c, odd, nodd, why);
			r = 1;
		}
	} else if (r == 0) {
		r = rs_undo_exec(c, "RELEASE SAVEPOINT vault_rollback", err);
	}
	rs_undo_fp_release(&before);
	rs_undo_fp_release(&after);
	return r;
}

size_t rs_undo_count(const struct rs_undo *u)
{
	return u ? u->nstmts : 0;
}

const char *rs_undo_stmt(const struct rs_undo *u, size_t i)
{
	return u && i < u->nstmts ? u->stmts[i] : NULL;
}

int rs_undo_run(const struct rs_undo *u, PGconn *c, struct buf *err)
{
	/* "does not exist, skipping" is expected: keep it off stderr */
	int r = rs_undo_exec(c, "SET client_min_messages = warning", err);

	if (r == 0)
		r = rs_undo_exec(c, "BEGIN", err);

	for (size_t i = 0; r == 0 && i < u->nstmts; i++)
		r = rs_undo_exec(c, u->stmts[i], err);
	if (r == 0)
		r = rs_undo_exec(c, "COMMIT", err);
	else if (PQstatus(c) == CONNECTION_OK)
		PQclear(PQexec(c, "ROLLBACK"));
	return r;
}

void rs_undo_free(struct rs_undo *u)
{
	if (!u)
		return;
	rs_undo_fp_release(&u->before);
	rs_undo_fp_release(&u->created);
	strv_free(u->stmts, u->nstmts);
	free(u);
}

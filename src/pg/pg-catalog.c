/*
 * pg-catalog: the catalog queries of a capture: server facts, schemas,
 * tables (extensions' configuration tables among them) with their
 * columns and keys, requirements, large objects, extensions'
 * configuration sequences and the materialized views left unpopulated.
 * The text built from them is the other parts': roles.sql
 * pg-catalog-roles.c's, sequences.sql pg-catalog-seq.c's,
 * large_objects.sql pg-catalog-lo.c's.  Identifiers are always quoted
 * and values always passed as parameters.
 */
#include <errno.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#include "pg-catalog-int.h"
#include "pg-conn.h"
#include "pg-names.h"
#include "strv.h"

void pg_catalog_init(struct pg_catalog *cat)
{
	memset(cat, 0, sizeof(*cat));
	buf_init(&cat->extensions, 0);
	buf_init(&cat->extensions_required, 0);
	buf_init(&cat->publications, 0);
	buf_init(&cat->webhooks, 0);
	buf_init(&cat->cron_jobs, 0);
	buf_init(&cat->unpopulated, 0);
	buf_init(&cat->left_out, 0);
	buf_init(&cat->warnings, 0);
	buf_init(&cat->roles, 0);
	buf_init(&cat->roles_required, 0);
}

static void pg_catalog_strv_free(char **v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		free(v[i]);
	free(v);
}

void pg_catalog_release(struct pg_catalog *cat)
{
	if (!cat)
		return;
	free(cat->server_version);
	free(cat->database);
	free(cat->encoding);
	for (size_t i = 0; i < cat->nschemas; i++)
		free(cat->schemas[i].name);
	free(cat->schemas);
	for (size_t i = 0; i < cat->ntables; i++) {
		struct pg_catalog_table *t = &cat->tables[i];

		free(t->schema);
		free(t->name);
		pg_catalog_strv_free(t->cols, t->ncols);
		pg_catalog_strv_free(t->pk, t->npk);
		free(t->extension);
		free(t->condition);
	}
	free(cat->tables);
	for (size_t i = 0; i < cat->next_sequences; i++) {
		free(cat->ext_sequences[i].extension);
		free(cat->ext_sequences[i].schema);
		free(cat->ext_sequences[i].name);
	}
	free(cat->ext_sequences);
	pg_catalog_strv_free(cat->excluded, cat->nexcluded);
	free(cat->large_objects);
	buf_release(&cat->extensions);
	buf_release(&cat->extensions_required);
	buf_release(&cat->publications);
	buf_release(&cat->webhooks);
	buf_release(&cat->cron_jobs);
	buf_release(&cat->unpopulated);
	buf_release(&cat->left_out);
	buf_release(&cat->warnings);
	buf_release(&cat->roles);
	buf_release(&cat->roles_required);
	pg_catalog_init(cat);
}

int pg_catalog_strdup(char **dst, const char *s)
{
	*dst = strdup(s);
	return *dst ? 0 : -ENOMEM;
}

static int pg_catalog_match(const char *const *pats, const char *s)
{
	for (; pats && *pats; pats++)
		if (fnmatch(*pats, s, 0) == 0)
			return 1;
	return 0;
}

int pg_catalog_server(struct pg_catalog *cat, PGconn *c, struct buf *err)
{
	PGresult *res;
	char *end;
	long v;
	int r;

	r = pg_conn_query(c, &res, PGRES_TUPLES_OK,
			  "SELECT pg_catalog.current_setting('server_version_num'),"
			  " pg_catalog.current_setting('server_version'),"
			  " pg_catalog.current_database(),"
			  " pg_catalog.current_setting('server_encoding')",
			  0, NULL, "reading the server version", err);
	if (r < 0)
		return r;
	errno = 0;
	v = strtol(PQgetvalue(res, 0, 0), &end, 10);
	if (errno || *end || v < 90000 || v > 9999999) {
		if (err)
			buf_addf(err, "unexpected server_version_num \"%s\"",
				 PQgetvalue(res, 0, 0));
		PQclear(res);
		return -EPROTO;
	}
	cat->server_num = (int)v;
	free(cat->server_version);
	free(cat->database);
	free(cat->encoding);
	cat->server_version = strdup(PQgetvalue(res, 0, 1));
	cat->database = strdup(PQgetvalue(res, 0, 2));
	cat->encoding = strdup(PQgetvalue(res, 0, 3));
	PQclear(res);
	if (!cat->server_version || !cat->database || !cat->encoding)
		return -ENOMEM;
	return 0;
}

/* Objects that count when deciding whether a schema holds anything of
 * its own: relations, functions and free-standing types. */
static const char pg_catalog_schemas_sql[] =
	"SELECT n.nspname, "
	PG_CATALOG_EXT_MEMBER("pg_catalog.pg_namespace", "n.oid") ","
	" (SELECT count(*) FROM pg_catalog.pg_class c WHERE c.relnamespace = n.oid"
	"  AND c.relkind IN ('r','p','v','m','S','f','c')"
	"  AND NOT " PG_CATALOG_EXT_MEMBER("pg_catalog.pg_class", "c.oid") ")"
	" + (SELECT count(*) FROM pg_catalog.pg_proc p WHERE p.pronamespace = n.oid"
	"  AND NOT " PG_CATALOG_EXT_MEMBER("pg_catalog.pg_proc", "p.oid") ")"
	" + (SELECT count(*) FROM pg_catalog.pg_type t WHERE t.typnamespace = n.oid"
	"  AND t.typtype IN ('b','d','e','r') AND t.typcategory <> 'A'"
	"  AND NOT " PG_CATALOG_EXT_MEMBER("pg_catalog.pg_type", "t.oid") "),"
	" (SELECT count(*) FROM pg_catalog.pg_class c WHERE c.relnamespace = n.oid"
	"  AND c.relkind IN ('r','p','v','m','S','f','c'))"
	" + (SELECT count(*) FROM pg_catalog.pg_proc p WHERE p.pronamespace = n.oid)"
	" + (SELECT count(*) FROM pg_catalog.pg_type t WHERE t.typnamespace = n.oid"
	"  AND t.typtype IN ('b','d','e','r') AND t.typcategory <> 'A')"
	" FROM pg_catalog.pg_namespace n"
	" WHERE n.nspname <> 'information_schema' AND n.nspname !~ '^pg_'"
	" ORDER BY n.nspname COLLATE \"C\"";

/* the reason a schema of extension objects only is skipped (compared by
 * address) */
static const char pg_catalog_ext_only[] = "holds only extension objects";

static int pg_catalog_schemas(struct pg_catalog *cat, PGconn *c,
			      const struct pg_catalog_filter *f,
			      struct buf *err)
{
	PGresult *res;
	int r = pg_conn_query(c, &res, PGRES_TUPLES_OK, pg_catalog_schemas_sql,
			      0, NULL, "listing schemas", err);
	int n;

	if (r < 0)
		return r;
	n = PQntuples(res);
	cat->schemas = calloc((size_t)n + 1, sizeof(*cat->schemas));
	if (!cat->schemas) {
		PQclear(res);
		return -ENOMEM;
	}
	for (int i = 0; i < n && r == 0; i++) {
		struct pg_catalog_schema *s = &cat->schemas[cat->nschemas];
		const char *name = PQgetvalue(res, i, 0);
		int ext = PQgetvalue(res, i, 1)[0] == 't';
		long own = strtol(PQgetvalue(res, i, 2), NULL, 10);
		long all = strtol(PQgetvalue(res, i, 3), NULL, 10);
		int named = f && pg_catalog_match(f->schemas, name);

		r = pg_catalog_strdup(&s->name, name);
		if (r < 0)
			break;
		cat->nschemas++;
		if (f && pg_catalog_match(f->exclude_schemas, name))
			s->skipped = "excluded by --exclude-schema";
		else if (f && f->schemas && *f->schemas && !named)
			s->skipped = "not selected by --schema";
		else if (!named && (ext || (all > 0 && own == 0)))
			s->skipped = pg_catalog_ext_only;
	}
	PQclear(res);
	return r;
}

static const struct pg_catalog_schema *
pg_catalog_schema_find(const struct pg_catalog *cat, const char *schema)
{
	size_t lo = 0, hi = cat->nschemas;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(cat->schemas[mid].name, schema);

		if (!c)
			return &cat->schemas[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

int pg_catalog_captured(const struct pg_catalog *cat, const char *schema)
{
	const struct pg_catalog_schema *s = pg_catalog_schema_find(cat, schema);

	return s && !s->skipped;
}

static int pg_catalog_table_selected(const struct pg_catalog_filter *f,
				     const char *schema, const char *name)
{
	struct buf q = BUF_INIT;
	int in = 1;

	if (!f || ((!f->tables || !*f->tables) &&
		   (!f->exclude_tables || !*f->exclude_tables)))
		return 1;
	if (buf_addf(&q, "%s.%s", schema, name) < 0)
		return -ENOMEM;
	for (int pass = 0; pass < 2; pass++) {
		const char *const *pats = pass ? f->exclude_tables : f->tables;
		int hit = 0;

		for (; pats && *pats; pats++)
			if (fnmatch(*pats, strchr(*pats, '.') ? (char *)q.data : name,
				    0) == 0)
				hit = 1;
		if (pass == 0 && f->tables && *f->tables && !hit)
			in = 0;
		if (pass == 1 && hit)
			in = 0;
	}
	buf_release(&q);
	return in;
}

static int pg_catalog_oid_cmp(const void *a, const void *b, void *ctx)
{
	const struct pg_catalog *cat = ctx;
	unsigned x = cat->tables[*(const size_t *)a].oid;
	unsigned y = cat->tables[*(const size_t *)b].oid;

	return x < y ? -1 : x > y;
}

/* The captured tables' oids as an oid[] literal, plus an index sorted
 * by oid to map query rows back to tables. */
static int pg_catalog_oid_index(const struct pg_catalog *cat, struct buf *arr,
				size_t **byoid)
{
	int r = buf_addch(arr, '{');

	*byoid = malloc((cat->ntables ? cat->ntables : 1) * sizeof(**byoid));
	if (!*byoid)
		return -ENOMEM;
	for (size_t i = 0; i < cat->ntables && r == 0; i++) {
		(*byoid)[i] = i;
		r = buf_addf(arr, "%s%u", i ? "," : "", cat->tables[i].oid);
	}
	if (r == 0)
		r = buf_addch(arr, '}');
	qsort_r(*byoid, cat->ntables, sizeof(**byoid), pg_catalog_oid_cmp,
		(void *)cat);
	return r;
}

static struct pg_catalog_table *pg_catalog_by_oid(struct pg_catalog *cat,
						  const size_t *byoid,
						  const char *oidtext)
{
	unsigned long oid = strtoul(oidtext, NULL, 10);
	size_t lo = 0, hi = cat->ntables;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		unsigned m = cat->tables[byoid[mid]].oid;

		if (m == oid)
			return &cat->tables[byoid[mid]];
		if (m < oid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/*
 * An extension's configuration table (pg_extension_config_dump): CREATE
 * EXTENSION makes it, but the rows a user added are data, which pg_dump
 * dumps with the extension's filter.  Its schema is taken when it is
 * captured or was left out only for holding extension objects; not when
 * --schema or --exclude-schema left it out.
 */
int pg_catalog_ext_schema(const struct pg_catalog *cat, const char *schema)
{
	const struct pg_catalog_schema *s = pg_catalog_schema_find(cat, schema);

	return s && (!s->skipped || s->skipped == pg_catalog_ext_only);
}

/* A configuration table the capture cannot read in full (no SELECT, or
 * row security would hide rows): a warning, not a failed snapshot, as
 * the extension's own tables are not the user's to grant. */
static int pg_catalog_ext_unreadable(struct pg_catalog *cat, const char *ext,
				     const char *schema, const char *name)
{
	return buf_addf(&cat->warnings,
			"extension %s: the rows of its configuration table %s.%s are not captured: the role may not read all of them (SELECT privilege, row security)\n",
			ext, schema, name);
}

/* Appends {"schema", "name"} to cat->left_out (opening the list). */
static int pg_catalog_left_out(struct pg_catalog *cat, const char *schema,
			       const char *name)
{
	struct buf *b = &cat->left_out;
	int r = buf_addstr(b, b->len ? ", {\"schema\": " : "[{\"schema\": ");

	if (r == 0)
		r = pg_names_quote_json(b, schema);
	if (r == 0)
		r = buf_addstr(b, ", \"name\": ");
	if (r == 0)
		r = pg_names_quote_json(b, name);
	return r ? r : buf_addch(b, '}');
}

static int pg_catalog_tables(struct pg_catalog *cat, PGconn *c,
			     const struct pg_catalog_filter *f,
			     struct buf *err)
{
	/* x: the extension whose configuration table it is, its filter,
	 * and whether this role reads every row (row security is off in
	 * the capture: a policy that applies would fail the COPY) */
	static const char sql[] =
		"SELECT c.oid, n.nspname, c.relname, c.relkind, c.relispartition,"
		" x.extname, x.cond, x.extname IS NULL OR"
		"  (pg_catalog.has_table_privilege(c.oid, 'SELECT')"
		"   AND NOT pg_catalog.row_security_active(c.oid)),"
		" pg_catalog.pg_table_size(c.oid)"
		" FROM pg_catalog.pg_class c"
		" JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
		" LEFT JOIN LATERAL (SELECT e.extname, e.extcondition[k.i] AS cond"
		"  FROM pg_catalog.pg_extension e,"
		"  pg_catalog.unnest(e.extconfig) WITH ORDINALITY AS k(o, i)"
		"  WHERE k.o = c.oid LIMIT 1) x ON true"
		" WHERE c.relkind IN ('r','p') AND c.relpersistence <> 't'"
		" AND n.nspname <> 'information_schema' AND n.nspname !~ '^pg_'"
		" AND ((x.extname IS NOT NULL AND c.relkind = 'r')"
		"  OR NOT " PG_CATALOG_EXT_MEMBER("pg_catalog.pg_class", "c.oid") ")"
		" ORDER BY n.nspname COLLATE \"C\", c.relname COLLATE \"C\"";
	PGresult *res;
	int r = pg_conn_query(c, &res, PGRES_TUPLES_OK, sql, 0, NULL,
			      "listing tables", err);
	int n;

	if (r < 0)
		return r;
	n = PQntuples(res);
	cat->tables = calloc((size_t)n + 1, sizeof(*cat->tables));
	if (!cat->tables) {
		PQclear(res);
		return -ENOMEM;
	}
	for (int i = 0; i < n && r == 0; i++) {
		struct pg_catalog_table *t = &cat->tables[cat->ntables];
		const char *schema = PQgetvalue(res, i, 1);
		const char *name = PQgetvalue(res, i, 2);
		int ext = !PQgetisnull(res, i, 5);

		if (ext ? !pg_catalog_ext_schema(cat, schema) :
		    !pg_catalog_captured(cat, schema))
			continue;
		r = pg_catalog_table_selected(f, schema, name);
		if (r < 0)
			break;
		if (r == 0) {
			struct buf q = BUF_INIT;

			/* pg_dump -T: a configuration table has no DDL there */
			if (!ext)
				r = pg_names_quote_qualified(&q, schema, name);
			if (r == 0 && !ext)
				r = strv_push(&cat->excluded, &cat->nexcluded,
					      (char *)q.data);
			if (r == 0 && !ext)
				r = pg_catalog_left_out(cat, schema, name);
			buf_release(&q);
			continue;
		}
		if (PQgetvalue(res, i, 7)[0] != 't') {
			r = pg_catalog_ext_unreadable(cat, PQgetvalue(res, i, 5),
						      schema, name);
			continue;
		}
		r = pg_catalog_strdup(&t->schema, schema);
		if (r == 0)
			r = pg_catalog_strdup(&t->name, name);
		if (r == 0 && ext)
			r = pg_catalog_strdup(&t->extension, PQgetvalue(res, i, 5));
		/* pg_dump's filter: "" is none */
		if (r == 0 && ext && !PQgetisnull(res, i, 6) && *PQgetvalue(res, i, 6))
			r = pg_catalog_strdup(&t->condition, PQgetvalue(res, i, 6));
		t->oid = (unsigned)strtoul(PQgetvalue(res, i, 0), NULL, 10);
		t->relkind = PQgetvalue(res, i, 3)[0];
		t->partition = PQgetvalue(res, i, 4)[0] == 't';
		if (!PQgetisnull(res, i, 8))
			t->est_bytes = strtoull(PQgetvalue(res, i, 8), NULL, 10);
		cat->ntables++;
	}
	PQclear(res);
	return r;
}

static int pg_catalog_columns(struct pg_catalog *cat, PGconn *c,
			      struct buf *err)
{
	const char *sql12 =
		"SELECT a.attrelid, a.attname FROM pg_catalog.pg_attribute a"
		" WHERE a.attrelid = ANY ($1::pg_catalog.oid[]) AND a.attnum > 0"
		" AND NOT a.attisdropped AND a.attgenerated = ''"
		" ORDER BY a.attrelid, a.attnum";
	const char *sql11 =
		"SELECT a.attrelid, a.attname FROM pg_catalog.pg_attribute a"
		" WHERE a.attrelid = ANY ($1::pg_catalog.oid[]) AND a.attnum > 0"
		" AND NOT a.attisdropped ORDER BY a.attrelid, a.attnum";
	/* the key columns only (indnkeyatts, 11+): an INCLUDE column is
	 * not part of the key and may have no ordering at all (box) */
#define PG_CATALOG_PK_SQL(keyonly) \
	"SELECT i.indrelid, a.attname FROM pg_catalog.pg_index i" \
	" CROSS JOIN LATERAL pg_catalog.unnest(i.indkey::pg_catalog.int2[])" \
	"  WITH ORDINALITY AS k(attnum, ord)" \
	" JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid" \
	"  AND a.attnum = k.attnum" \
	" WHERE i.indisprimary AND i.indrelid = ANY ($1::pg_catalog.oid[])" \
	keyonly " ORDER BY i.indrelid, k.ord"
	const char *pksql = cat->server_num >= 110000 ?
			    PG_CATALOG_PK_SQL(" AND k.ord <= i.indnkeyatts") :
			    PG_CATALOG_PK_SQL("");
	struct buf arr = BUF_INIT;
	size_t *byoid = NULL;
	PGresult *res = NULL;
	const char *p[1];
	int r;

	r = pg_catalog_oid_index(cat, &arr, &byoid);
	p[0] = (const char *)arr.data;
	if (r == 0)
		r = pg_conn_query(c, &res, PGRES_TUPLES_OK,
				  cat->server_num >= 120000 ? sql12 : sql11,
				  1, p, "listing columns", err);
	for (int i = 0; r == 0 && i < PQntuples(res); i++) {
		struct pg_catalog_table *t =
			pg_catalog_by_oid(cat, byoid, PQgetvalue(res, i, 0));

		if (t)
			r = strv_push(&t->cols, &t->ncols, PQgetvalue(res, i, 1));
	}
	PQclear(res);
	res = NULL;
	if (r == 0)
		r = pg_conn_query(c, &res, PGRES_TUPLES_OK, pksql, 1, p,
				  "listing primary keys", err);
	for (int i = 0; r == 0 && i < PQntuples(res); i++) {
		struct pg_catalog_table *t =
			pg_catalog_by_oid(cat, byoid, PQgetvalue(res, i, 0));

		if (t)
			r = strv_push(&t->pk, &t->npk, PQgetvalue(res, i, 1));
	}
	PQclear(res);
	free(byoid);
	buf_release(&arr);
	return r;
}

/* A JSON value computed by the server into dst. */
static int pg_catalog_json(PGconn *c, const char *sql, int np,
			   const char *const *params, struct buf *dst,
			   const char *what, struct buf *err)
{
	PGresult *res;
	int r = pg_conn_query(c, &res, PGRES_TUPLES_OK, sql, np, params, what, err);

	if (r < 0)
		return r;
	buf_reset(dst);
	r = buf_addstr(dst, PQntuples(res) == 1 && !PQgetisnull(res, 0, 0) ?
			    PQgetvalue(res, 0, 0) : "null");
	PQclear(res);
	return r;
}

/*
 * Like pg_catalog_json, but a failure (no privilege, missing relation)
 * rolls back to a savepoint, stores null and adds a warning: the
 * snapshot transaction stays usable.
 */
static int pg_catalog_json_optional(struct pg_catalog *cat, PGconn *c,
				    const char *sql, struct buf *dst,
				    const char *what, struct buf *err)
{
	struct buf m = BUF_INIT;
	int r = pg_conn_exec(c, "SAVEPOINT vault_optional", "savepoint", err);

	if (r < 0)
		return r;
	r = pg_catalog_json(c, sql, 0, NULL, dst, what, &m);
	if (r == -ENOMEM) {
		buf_release(&m);
		return r;
	}
	if (r < 0) {
		buf_reset(dst);
		buf_addstr(dst, "null");
		buf_addf(&cat->warnings, "%s\n", (char *)m.data);
		r = pg_conn_exec(c, "ROLLBACK TO SAVEPOINT vault_optional",
				 "savepoint", err);
	} else {
		r = pg_conn_exec(c, "RELEASE SAVEPOINT vault_optional",
				 "savepoint", err);
	}
	buf_release(&m);
	return r;
}

static int pg_catalog_requirements(struct pg_catalog *cat, PGconn *c,
				   struct buf *err)
{
	static const char ext[] =
		"SELECT COALESCE(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object("
		" 'name', e.extname, 'version', e.extversion, 'schema', n.nspname)"
		" ORDER BY e.extname), '[]')"
		" FROM pg_catalog.pg_extension e"
		" JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace";
	/* what a target must install: plpgsql is always there */
	static const char req[] =
		"SELECT COALESCE(pg_catalog.jsonb_agg(e.extname ORDER BY e.extname), '[]')"
		" FROM pg_catalog.pg_extension e WHERE e.extname <> 'plpgsql'";
	static const char pubs[] =
		"SELECT COALESCE(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object("
		" 'name', p.pubname, 'all_tables', p.puballtables,"
		" 'tables', CASE WHEN p.puballtables THEN NULL ELSE"
		"  (SELECT COALESCE(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object("
		"   'schema', pt.schemaname, 'table', pt.tablename)"
		"   ORDER BY pt.schemaname, pt.tablename), '[]')"
		"   FROM pg_catalog.pg_publication_tables pt"
		"   WHERE pt.pubname = p.pubname) END)"
		" ORDER BY p.pubname), '[]')"
		" FROM pg_catalog.pg_publication p";
	/* Supabase database webhooks call supabase_functions.http_request;
	 * hand-written ones call pg_net's net.http_* */
	static const char hooks[] =
		"SELECT COALESCE(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object("
		" 'schema', n.nspname, 'table', c.relname, 'trigger', t.tgname,"
		" 'function', pn.nspname || '.' || p.proname)"
		" ORDER BY n.nspname, c.relname, t.tgname), '[]')"
		" FROM pg_catalog.pg_trigger t"
		" JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid"
		" JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
		" JOIN pg_catalog.pg_proc p ON p.oid = t.tgfoid"
		" JOIN pg_catalog.pg_namespace pn ON pn.oid = p.pronamespace"
		" WHERE NOT t.tgisinternal AND ((pn.nspname = 'supabase_functions'"
		"  AND p.proname = 'http_request')"
		"  OR p.prosrc ~ 'net\\.http_(get|post|delete)')";
	static const char cron[] =
		"SELECT COALESCE(pg_catalog.jsonb_agg(pg_catalog.to_jsonb(j)"
		" - 'jobid' ORDER BY j.jobid), '[]') FROM cron.job j";
	PGresult *res;
	int r, has_cron;

	r = pg_catalog_json(c, ext, 0, NULL, &cat->extensions,
			    "listing extensions", err);
	if (r == 0)
		r = pg_catalog_json(c, req, 0, NULL, &cat->extensions_required,
				    "listing extensions", err);
	if (r == 0)
		r = pg_catalog_json(c, pubs, 0, NULL, &cat->publications,
				    "listing publications", err);
	if (r == 0)
		r = pg_catalog_json(c, hooks, 0, NULL, &cat->webhooks,
				    "listing webhooks", err);
	if (r < 0)
		return r;
	r = pg_conn_query(c, &res, PGRES_TUPLES_OK,
			  "SELECT pg_catalog.to_regclass('cron.job') IS NOT NULL",
			  0, NULL, "looking for pg_cron", err);
	if (r < 0)
		return r;
	has_cron = PQgetvalue(res, 0, 0)[0] == 't';
	PQclear(res);
	if (!has_cron)
		return buf_addstr(&cat->cron_jobs, "[]");
	return pg_catalog_json_optional(cat, c, cron, &cat->cron_jobs,
					"reading pg_cron jobs", err);
}

static int pg_catalog_lo_list(struct pg_catalog *cat, PGconn *c,
			      struct buf *err)
{
	PGresult *res;
	int r = pg_conn_query(c, &res, PGRES_TUPLES_OK,
			      "SELECT oid FROM pg_catalog.pg_largeobject_metadata ORDER BY oid",
			      0, NULL, "listing large objects", err);
	int n;

	if (r < 0)
		return r;
	n = PQntuples(res);
	cat->large_objects = malloc(((size_t)n + 1) * sizeof(unsigned));
	if (!cat->large_objects) {
		PQclear(res);
		return -ENOMEM;
	}
	for (int i = 0; i < n; i++)
		cat->large_objects[i] = (unsigned)strtoul(PQgetvalue(res, i, 0), NULL, 10);
	cat->nlarge_objects = (size_t)n;
	PQclear(res);
	return 0;
}

/*
 * Materialized views created WITH NO DATA (or never refreshed since):
 * pg_dump writes no REFRESH for them, so a restore must leave them
 * unpopulated.  cat->unpopulated: [{"schema", "name"}] of the captured
 * schemas.
 */
static int pg_catalog_matviews(struct pg_catalog *cat, PGconn *c,
			       struct buf *err)
{
	PGresult *res;
	int r = pg_conn_query(c, &res, PGRES_TUPLES_OK,
			      "SELECT n.nspname, c.relname FROM pg_catalog.pg_class c"
			      " JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
			      " WHERE c.relkind = 'm' AND NOT c.relispopulated"
			      " ORDER BY n.nspname COLLATE \"C\", c.relname COLLATE \"C\"",
			      0, NULL, "listing materialized views", err);
	int first = 1;

	if (r < 0)
		return r;
	buf_reset(&cat->unpopulated);
	r = buf_addch(&cat->unpopulated, '[');
	for (int i = 0; r == 0 && i < PQntuples(res); i++) {
		if (!pg_catalog_captured(cat, PQgetvalue(res, i, 0)))
			continue;
		r = buf_addstr(&cat->unpopulated, first ? "{\"schema\": " : ", {\"schema\": ");
		if (r == 0)
			r = pg_names_quote_json(&cat->unpopulated, PQgetvalue(res, i, 0));
		if (r == 0)
			r = buf_addstr(&cat->unpopulated, ", \"name\": ");
		if (r == 0)
			r = pg_names_quote_json(&cat->unpopulated, PQgetvalue(res, i, 1));
		if (r == 0)
			r = buf_addch(&cat->unpopulated, '}');
		first = 0;
	}
	PQclear(res);
	return r ? r : buf_addch(&cat->unpopulated, ']');
}

/*
 * Extensions' configuration sequences (relkind 'S' in extconfig) whose
 * schema the capture takes: cat->ext_sequences.  One whose value the
 * role may not read is a warning, as for configuration tables.
 */
static int pg_catalog_ext_sequences(struct pg_catalog *cat, PGconn *c,
				    struct buf *err)
{
	PGresult *res;
	int r = pg_conn_query(c, &res, PGRES_TUPLES_OK,
			      "SELECT e.extname, n.nspname, c.relname,"
			      " pg_catalog.has_sequence_privilege(c.oid, 'SELECT')"
			      " FROM pg_catalog.pg_extension e"
			      " CROSS JOIN LATERAL pg_catalog.unnest(e.extconfig) AS k(o)"
			      " JOIN pg_catalog.pg_class c ON c.oid = k.o"
			      " JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
			      " WHERE c.relkind = 'S'"
			      " ORDER BY n.nspname COLLATE \"C\", c.relname COLLATE \"C\"",
			      0, NULL, "listing extensions' configuration sequences", err);
	int n;

	if (r < 0)
		return r;
	n = PQntuples(res);
	cat->ext_sequences = calloc((size_t)n + 1, sizeof(*cat->ext_sequences));
	if (!cat->ext_sequences) {
		PQclear(res);
		return -ENOMEM;
	}
	for (int i = 0; i < n && r == 0; i++) {
		struct pg_catalog_extseq *q = &cat->ext_sequences[cat->next_sequences];

		if (!pg_catalog_ext_schema(cat, PQgetvalue(res, i, 1)))
			continue;
		if (PQgetvalue(res, i, 3)[0] != 't') {
			r = buf_addf(&cat->warnings,
				     "extension %s: the value of its configuration sequence %s.%s is not captured: the role may not read it (SELECT privilege)\n",
				     PQgetvalue(res, i, 0), PQgetvalue(res, i, 1),
				     PQgetvalue(res, i, 2));
			continue;
		}
		r = pg_catalog_strdup(&q->extension, PQgetvalue(res, i, 0));
		if (r == 0)
			r = pg_catalog_strdup(&q->schema, PQgetvalue(res, i, 1));
		if (r == 0)
			r = pg_catalog_strdup(&q->name, PQgetvalue(res, i, 2));
		cat->next_sequences++;
	}
	PQclear(res);
	return r;
}

int pg_catalog_load(struct pg_catalog *cat, PGconn *c,
		    const struct pg_catalog_filter *f, struct buf *err)
{
	int r = pg_catalog_schemas(cat, c, f, err);

	if (r == 0)
		r = pg_catalog_tables(cat, c, f, err);
	if (r == 0)
		r = pg_catalog_columns(cat, c, err);
	if (r == 0)
		r = pg_catalog_requirements(cat, c, err);
	if (r == 0)
		r = pg_catalog_matviews(cat, c, err);
	if (r == 0)
		r = pg_catalog_ext_sequences(cat, c, err);
	if (r == 0)
		r = pg_catalog_lo_list(cat, c, err);
	return r;
}

int pg_catalog_lock(const struct pg_catalog *cat, PGconn *c, struct buf *err)
{
	struct buf sql = BUF_INIT, what = BUF_INIT;
	int r = 0;

	for (size_t i = 0; i < cat->ntables && r == 0; i++) {
		const struct pg_catalog_table *t = &cat->tables[i];

		buf_reset(&sql);
		buf_reset(&what);
		r = buf_addstr(&sql, "LOCK TABLE ONLY ");
		if (r == 0)
			r = pg_names_quote_qualified(&sql, t->schema, t->name);
		if (r == 0)
			r = buf_addstr(&sql, " IN ACCESS SHARE MODE");
		if (r == 0)
			r = buf_addf(&what, "table %s.%s: lock", t->schema, t->name);
		if (r == 0)
			r = pg_conn_exec(c, (char *)sql.data, (char *)what.data, err);
	}
	buf_release(&sql);
	buf_release(&what);
	return r;
}

int pg_catalog_reserved_role(const char *name)
{
	static const char *const reserved[] = {
		"anon", "authenticated", "service_role", "authenticator",
		"dashboard_user", "pgbouncer", "postgres", "supabase_*",
		"pgsodium_*", "pgtle_admin", "cli_login_*", NULL,
	};

	return pg_catalog_match(reserved, name);
}

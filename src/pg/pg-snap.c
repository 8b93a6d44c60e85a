/*
 * pg-snap: the capture's instant and its lifecycle (pg-snap.h).
 *
 * pg_snap_open connects, takes the snapshot (BEGIN REPEATABLE READ, READ
 * ONLY; pg_export_snapshot) and reads everything that must be read
 * under it before any row is: the catalog, roles, sequences, the large
 * objects' owners, grants and comments, pg_dump
 * (pg-snap-schema.c); then it lists the tables (paths, labels; their
 * COPY statements are pg-snap-data.c's) and opens the worker
 * connections, each importing the snapshot.  Every connection gets the
 * same session settings, which meta.json records.  Emitting the tree is
 * pg-snap-tree.c's.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <libpq-fe.h>

#include "pg-names.h"
#include "pg-snap-int.h"
#include "strv.h"

/* ---- the snapshot transaction --------------------------------------- */

/*
 * Session settings shared by every connection, so COPY text is the same
 * whichever connection produced it and restore can reproduce it when it
 * verifies checksums (recorded in meta.json as copy_settings).
 */
const char *const pg_snap_settings[][2] = {
	{ "DateStyle", "ISO" },
	{ "IntervalStyle", "postgres" },
	{ "TimeZone", "UTC" },
	{ "extra_float_digits", "3" },
	{ "bytea_output", "hex" },
	{ "xmloption", "content" },
	/* physical order for tables without a primary key must start at
	 * block 0, not wherever a concurrent scan happens to be */
	{ "synchronize_seqscans", "off" },
	/* fail loudly on a table we may not read in full */
	{ "row_security", "off" },
	{ "search_path", "" },
	{ "statement_timeout", "0" },
	{ "lock_timeout", "0" },
	{ "idle_in_transaction_session_timeout", "0" },
};

const size_t pg_snap_nsettings =
	sizeof(pg_snap_settings) / sizeof(pg_snap_settings[0]);

static int pg_snap_session(PGconn *c, const struct pg_catalog *cat,
			   struct buf *err)
{
	int r = 0;

	for (size_t i = 0; i < pg_snap_nsettings && r == 0; i++) {
		const char *p[2] = { pg_snap_settings[i][0], pg_snap_settings[i][1] };
		PGresult *res;

		r = pg_conn_query(c, &res, PGRES_TUPLES_OK,
				  "SELECT pg_catalog.set_config($1, $2, false)",
				  2, p, "session setup", err);
		PQclear(res);
	}
	/* Supabase sets these per role; a long capture must not trip them */
	if (r == 0 && cat->server_num >= 140000)
		r = pg_conn_exec(c, "SET idle_session_timeout = 0", "session setup", err);
	if (r == 0 && cat->server_num >= 170000)
		r = pg_conn_exec(c, "SET transaction_timeout = 0", "session setup", err);
	/* rows in the database's own encoding, byte for byte */
	if (r == 0 && PQsetClientEncoding(c, cat->encoding) != 0) {
		if (err)
			buf_addf(err, "cannot set client_encoding to %s: %s",
				 cat->encoding, PQerrorMessage(c));
		r = -EIO;
	}
	return r;
}

static int pg_snap_begin(struct pg_snap *s, struct buf *err)
{
	PGresult *res;
	int r;

	r = pg_conn_exec(s->main, "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY",
			 "starting the snapshot transaction", err);
	if (r == 0)
		r = pg_conn_query(s->main, &res, PGRES_TUPLES_OK,
				  "SELECT pg_catalog.pg_export_snapshot()", 0, NULL,
				  "exporting the snapshot", err);
	if (r < 0)
		return r;
	snprintf(s->snapid, sizeof(s->snapid), "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	/* it is spliced into SET TRANSACTION SNAPSHOT '...' below */
	for (const char *p = s->snapid; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'A' && *p <= 'F') ||
		      (*p >= 'a' && *p <= 'f') || *p == '-')) {
			if (err)
				buf_addf(err, "unexpected snapshot id \"%s\"", s->snapid);
			return -EPROTO;
		}
	return 0;
}

static int pg_snap_worker(struct pg_snap *s, PGconn **out, struct buf *err)
{
	struct pg_conn_retry rt = { s->o.retries, s->o.retry_delay_ms };
	struct buf sql = BUF_INIT;
	PGconn *c;
	int r = pg_conn_open(&c, s->pinned, &rt, err);

	*out = NULL;
	if (r < 0)
		return r;
	r = pg_snap_session(c, &s->cat, err);
	if (r == 0)
		r = pg_conn_exec(c, "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY",
				 "worker transaction", err);
	if (r == 0)
		r = buf_addf(&sql, "SET TRANSACTION SNAPSHOT '%s'", s->snapid);
	if (r == 0)
		r = pg_conn_exec(c, (char *)sql.data, "importing the snapshot", err);
	buf_release(&sql);
	if (r < 0) {
		PQfinish(c);
		return r;
	}
	*out = c;
	return 0;
}

/* ---- the table list ------------------------------------------------- */

/* The table list: for each table of the catalog, its path in the tree
 * and its label for messages (its COPY is pg-snap-data.c's). */
static int pg_snap_tables(struct pg_snap *s)
{
	static const char *const fixed[] = {
		"large_objects", "large_objects.sql", "meta.json", "roles.sql",
		"schema.sql", "sequences.sql", NULL,
	};
	size_t n = s->cat.ntables ? s->cat.ntables : 1;
	struct buf b = BUF_INIT;
	int r = 0;

	s->tables = calloc(n, sizeof(*s->tables));
	s->paths = calloc(n, sizeof(char *));
	s->labels = calloc(n, sizeof(char *));
	if (!s->tables || !s->paths || !s->labels)
		return -ENOMEM;
	for (size_t i = 0; i < s->cat.ntables && r == 0; i++) {
		const struct pg_catalog_table *t = &s->cat.tables[i];
		struct pg_snap_table *pt = &s->tables[i];
		unsigned flags = 0;

		for (int k = 0; fixed[k]; k++)
			if (!strcmp(t->schema, fixed[k]))
				flags = PG_NAMES_ESCAPE_FIRST;
		/* path */
		buf_reset(&b);
		r = buf_addf(&b, "%s/", s->root);
		if (r == 0)
			r = pg_names_encode(&b, t->schema, strlen(t->schema), flags);
		if (r == 0)
			r = buf_addstr(&b, "/tables/");
		if (r == 0)
			r = pg_names_encode(&b, t->name, strlen(t->name), 0);
		if (r == 0 && !(s->paths[i] = strdup((char *)b.data)))
			r = -ENOMEM;
		buf_reset(&b);
		if (r == 0)
			r = buf_addf(&b, "%s.%s", t->schema, t->name);
		if (r == 0 && !(s->labels[i] = strdup((char *)b.data)))
			r = -ENOMEM;
		pt->schema = t->schema;
		pt->name = t->name;
		pt->path = s->paths[i];
		pt->has_data = t->relkind == 'r';
		pt->est_bytes = t->est_bytes;
	}
	buf_release(&b);
	return r;
}

/* ---- open and free -------------------------------------------------- */

static int pg_snap_open_steps(struct pg_snap *s, struct buf *err)
{
	struct pg_conn_retry rt = { s->o.retries, s->o.retry_delay_ms };
	size_t ndata = 0, nw;
	int r;

	r = pg_conn_info_parse(&s->ci, s->o.conninfo ? s->o.conninfo : "", err);
	if (r == 0)
		r = pg_conn_open(&s->main, s->ci, &rt, err);
	if (r == 0)
		r = pg_catalog_server(&s->cat, s->main, err);
	if (r < 0)
		return r;
	if (s->cat.server_num < 100000) {
		if (err)
			buf_addf(err, "the server runs PostgreSQL %s; vault needs PostgreSQL 10 or newer",
				 s->cat.server_version);
		return -EPROTONOSUPPORT;
	}
	/* stop before taking any snapshot when pg_dump cannot do its part */
	r = pg_dump_find(&s->dump, s->o.pg_dump, s->cat.server_num, err);
	if (r == 0)
		r = pg_conn_info_pin(&s->pinned, s->ci, s->main);
	if (r == 0)
		r = pg_snap_session(s->main, &s->cat, err);
	/* the first reading of the statistics precedes the snapshot, the
	 * second comes before any other connection of ours (pg-snap-proof.c) */
	for (size_t i = 0; i < pg_snap_nsettings && r == 0; i++)
		r = buf_addf(&s->settings_text, "%s=%s;", pg_snap_settings[i][0],
			     pg_snap_settings[i][1]);
	if (r == 0)
		pg_snap_proof_before(s);
	/* before the snapshot's transaction, which a failed query would
	 * spoil: without the figures the rule goes by the CPUs alone */
	if (r == 0 && s->o.jobs <= 0 &&
	    pg_jobs_probe(s->main, &s->jobs_in, NULL) < 0)
		s->jobs_in.max_connections = -1;
	if (r == 0)
		r = pg_snap_begin(s, err);
	if (r == 0)
		r = pg_catalog_load(&s->cat, s->main, &s->o.filter, err);
	if (r == 0)
		r = pg_catalog_lock(&s->cat, s->main, err);
	if (r == 0)
		r = pg_snap_proof_after(s, err);
	if (r == 0)
		r = pg_catalog_roles_sql(&s->cat, s->main, s->o.role_passwords,
					 &s->roles_sql, err);
	if (r == 0)
		r = pg_catalog_sequences_sql(&s->cat, s->main, &s->sequences_sql, err);
	if (r == 0 && s->cat.nlarge_objects)
		r = pg_catalog_lo_sql(s->main, &s->lo_sql, err);
	if (r == 0)
		r = pg_snap_schema_dump(s, err);
	if (r == 0)
		r = pg_snap_tables(s);
	if (r == 0)
		r = pg_snap_data_plan(s);
	if (r < 0)
		return r;
	for (size_t i = 0; i < s->cat.ntables; i++)
		ndata += s->tables[i].has_data;
	/* one connection does it all (the main one) unless there is
	 * something to run in parallel */
	s->jobs_in.ntables = ndata;
	nw = (size_t)(s->o.jobs > 0 ? s->o.jobs : pg_jobs_choose(&s->jobs_in));
	if (nw > ndata)
		nw = ndata;
	s->jobs = nw < 2 ? 1 : (int)nw;
	if (nw < 2)
		return 0;
	s->workers = calloc(nw, sizeof(*s->workers));
	if (!s->workers)
		return -ENOMEM;
	for (; s->nworkers < nw; s->nworkers++) {
		r = pg_snap_worker(s, &s->workers[s->nworkers], err);
		if (r < 0)
			return r;
	}
	return 0;
}

int pg_snap_open(struct pg_snap **out, const struct pg_snap_opts *o,
		 struct buf *err)
{
	struct pg_snap *s = calloc(1, sizeof(*s));
	int r;

	*out = NULL;
	if (!s)
		return -ENOMEM;
	s->o = *o;
	s->root = o->root ? o->root : "db";
	pg_catalog_init(&s->cat);
	buf_init(&s->ddl_text, PG_SNAP_DDL_MAX);
	buf_init(&s->roles_sql, 0);
	buf_init(&s->sequences_sql, 0);
	buf_init(&s->lo_sql, 0);
	buf_init(&s->meta, 0);
	buf_init(&s->settings_text, 0);
	r = pg_snap_open_steps(s, err);
	if (r < 0) {
		pg_snap_free(s);
		return r;
	}
	*out = s;
	return 0;
}

void pg_snap_free(struct pg_snap *s)
{
	if (!s)
		return;
	/* read-only: closing the connections ends the transactions */
	for (size_t i = 0; i < s->nworkers; i++)
		PQfinish(s->workers[i]);
	free(s->workers);
	PQfinish(s->main);
	pg_conn_info_free(s->ci);
	pg_conn_info_free(s->pinned);
	pg_dump_tool_release(&s->dump);
	pg_ddl_free(s->ddl);
	buf_release(&s->ddl_text);
	buf_release(&s->roles_sql);
	buf_release(&s->sequences_sql);
	buf_release(&s->lo_sql);
	buf_release(&s->meta);
	buf_release(&s->settings_text);
	pg_snap_data_release(s);
	pg_snap_proof_release(s);
	strv_free(s->paths, s->cat.ntables);
	strv_free(s->labels, s->cat.ntables);
	free(s->tables);
	pg_catalog_release(&s->cat);
	free(s);
}

/* ---- accessors ------------------------------------------------------ */

const char *pg_snap_source(const struct pg_snap *s)
{
	return pg_conn_info_describe(s->ci);
}

const char *pg_snap_snapshot_id(const struct pg_snap *s)
{
	return s->snapid;
}

const struct pg_catalog *pg_snap_catalog(const struct pg_snap *s)
{
	return &s->cat;
}

int pg_snap_jobs(const struct pg_snap *s)
{
	return s->jobs > 0 ? s->jobs : 1;
}

size_t pg_snap_ntables(const struct pg_snap *s)
{
	return s->cat.ntables;
}

const struct pg_snap_table *pg_snap_table(const struct pg_snap *s, size_t i)
{
	return i < s->cat.ntables ? &s->tables[i] : NULL;
}

size_t pg_snap_nappended(const struct pg_snap *s)
{
	return s->nappended;
}

size_t pg_snap_nreused(const struct pg_snap *s)
{
	return s->nreused;
}

const char *pg_snap_warnings(const struct pg_snap *s)
{
	return (const char *)s->cat.warnings.data;
}

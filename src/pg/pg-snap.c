/*
 * pg-snap: the capture of one database at one instant: opening the
 * snapshot transaction and its helpers (catalog, pg_dump, workers), then
 * emitting the tree in manifest order, and the meta.json document.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <libpq-fe.h>
#include <libpq/libpq-fs.h>

#include "manifest.h"
#include "pg-conn.h"
#include "pg-copy.h"
#include "pg-ddl.h"
#include "pg-dump.h"
#include "pg-names.h"
#include "pg-snap.h"

#define PG_SNAP_DIR_MODE	0700
#define PG_SNAP_FILE_MODE	0600
/* pg_dump --schema-only of even very large schemas stays far below */
#define PG_SNAP_DDL_MAX		(1024u << 20)
#define PG_SNAP_PROGRESS_EVERY	(8u << 20)

enum pg_snap_kind {
	PG_SNAP_E_DIR,
	PG_SNAP_E_TEXT,		/* a file whose content is already in memory */
	PG_SNAP_E_META,
	PG_SNAP_E_DATA,
	PG_SNAP_E_DDL,
	PG_SNAP_E_LO,
};

struct pg_snap_entry {
	char *path;
	size_t len;
	enum pg_snap_kind kind;
	size_t table;			/* DATA, DDL */
	unsigned oid;			/* LO */
	const struct buf *text;		/* TEXT */
};

struct pg_snap {
	struct pg_snap_opts o;
	const char *root;
	struct pg_conn_info *ci, *pinned;
	PGconn *main;
	PGconn **workers;
	size_t nworkers;
	char snapid[128];
	struct pg_catalog cat;
	struct pg_dump_tool dump;
	struct buf ddl_text;
	struct pg_ddl *ddl;
	struct buf roles_sql, sequences_sql, meta;
	struct pg_snap_table *tables;	/* parallel to cat.tables */
	char **paths, **copy_sql, **copy_head, **labels;
	int emitted;
};

/* ---- setup -------------------------------------------------------------- */

/*
 * Session settings shared by every connection, so COPY text is the same
 * whichever connection produced it and restore can reproduce it when it
 * verifies checksums (recorded in meta.json as copy_settings).
 */
static const char *const pg_snap_settings[][2] = {
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

static int pg_snap_session(PGconn *c, const struct pg_catalog *cat,
			   struct buf *err)
{
	const size_t n = sizeof(pg_snap_settings) / sizeof(pg_snap_settings[0]);
	int r = 0;

	for (size_t i = 0; i < n && r == 0; i++) {
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

struct pg_snap_ddl_sink {
	struct buf *b;
	volatile sig_atomic_t *interrupt;
};

static int pg_snap_ddl_out(void *ctx, const void *p, size_t n)
{
	struct pg_snap_ddl_sink *d = ctx;

	if (d->interrupt && *d->interrupt)
		return -EINTR;
	return buf_add(d->b, p, n);
}

/* -n/-N/-t/-T so that schema.sql covers what the filters selected */
static int pg_snap_dump_args(struct pg_snap *s, char ***argv, size_t *argc)
{
	const struct pg_catalog_filter *f = &s->o.filter;
	struct buf q = BUF_INIT;
	size_t cap = 2 * (s->cat.nschemas + s->cat.ntables + s->cat.nexcluded) + 1;
	char **v = calloc(cap, sizeof(*v));
	size_t n = 0;
	int r = 0;

	*argv = v;
	*argc = 0;
	if (!v)
		return -ENOMEM;
	if (f->tables && *f->tables) {
		for (size_t i = 0; i < s->cat.ntables && r == 0; i++) {
			buf_reset(&q);
			r = pg_names_quote_qualified(&q, s->cat.tables[i].schema,
						     s->cat.tables[i].name);
			if (r == 0 && (!(v[n++] = strdup("-t")) ||
				       !(v[n++] = strdup((char *)q.data))))
				r = -ENOMEM;
		}
	} else {
		for (size_t i = 0; i < s->cat.nexcluded && r == 0; i++)
			if (!(v[n++] = strdup("-T")) ||
			    !(v[n++] = strdup(s->cat.excluded[i])))
				r = -ENOMEM;
	}
	for (size_t i = 0; i < s->cat.nschemas && r == 0; i++) {
		const struct pg_catalog_schema *sc = &s->cat.schemas[i];
		int include = f->schemas && *f->schemas && !sc->skipped;
		int exclude = sc->skipped && !strncmp(sc->skipped, "excluded", 8);

		if (!include && !exclude)
			continue;
		buf_reset(&q);
		r = pg_names_quote_ident(&q, sc->name);
		if (r == 0 && (!(v[n++] = strdup(include ? "-n" : "-N")) ||
			       !(v[n++] = strdup((char *)q.data))))
			r = -ENOMEM;
	}
	buf_release(&q);
	*argc = n;
	return r;
}

static int pg_snap_run_dump(struct pg_snap *s, struct buf *err)
{
	struct buf conninfo = BUF_INIT, password = BUF_INIT;
	struct pg_snap_ddl_sink d = { &s->ddl_text, s->o.interrupt };
	char **argv = NULL;
	size_t argc = 0;
	int r;

	buf_init(&s->ddl_text, PG_SNAP_DDL_MAX);
	r = pg_conn_info_child(s->pinned, &conninfo, &password);
	if (r == 0)
		r = pg_snap_dump_args(s, &argv, &argc);
	if (r == 0)
		r = pg_dump_run(&s->dump, (char *)conninfo.data, (char *)password.data,
				s->snapid, (const char *const *)argv, argc,
				pg_snap_ddl_out, &d, err);
	if (r == -E2BIG && err)
		buf_addf(err, "pg_dump --schema-only output is larger than %u MiB",
			 PG_SNAP_DDL_MAX >> 20);
	if (r == 0)
		r = pg_ddl_parse(&s->ddl, (char *)s->ddl_text.data, s->ddl_text.len, err);
	for (size_t i = 0; i < argc; i++)
		free(argv[i]);
	free(argv);
	buf_wipe(&password);
	buf_release(&conninfo);
	return r;
}

/* Paths, COPY statements and data.sql headers of every table. */
static int pg_snap_plan_tables(struct pg_snap *s)
{
	static const char *const fixed[] = {
		"large_objects", "meta.json", "roles.sql", "schema.sql",
		"sequences.sql", NULL,
	};
	size_t n = s->cat.ntables ? s->cat.ntables : 1;
	struct buf b = BUF_INIT;
	int r = 0;

	s->tables = calloc(n, sizeof(*s->tables));
	s->paths = calloc(n, sizeof(char *));
	s->copy_sql = calloc(n, sizeof(char *));
	s->copy_head = calloc(n, sizeof(char *));
	s->labels = calloc(n, sizeof(char *));
	if (!s->tables || !s->paths || !s->copy_sql || !s->copy_head || !s->labels)
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
		/* COPY (SELECT cols FROM ONLY s.t [ORDER BY pk]) TO STDOUT:
		 * ONLY, so inheritance children are not read twice */
		buf_reset(&b);
		if (r == 0)
			r = buf_addstr(&b, "COPY (SELECT ");
		for (size_t c = 0; c < t->ncols && r == 0; c++) {
			if (c)
				r = buf_addstr(&b, ", ");
			if (r == 0)
				r = pg_names_quote_ident(&b, t->cols[c]);
		}
		if (r == 0)
			r = buf_addstr(&b, " FROM ONLY ");
		if (r == 0)
			r = pg_names_quote_qualified(&b, t->schema, t->name);
		for (size_t c = 0; c < t->npk && r == 0; c++) {
			r = buf_addstr(&b, c ? ", " : " ORDER BY ");
			if (r == 0)
				r = pg_names_quote_ident(&b, t->pk[c]);
		}
		if (r == 0)
			r = buf_addstr(&b, ") TO STDOUT");
		if (r == 0 && !(s->copy_sql[i] = strdup((char *)b.data)))
			r = -ENOMEM;
		/* the line psql needs before the rows */
		buf_reset(&b);
		if (r == 0)
			r = buf_addstr(&b, "COPY ");
		if (r == 0)
			r = pg_names_quote_qualified(&b, t->schema, t->name);
		for (size_t c = 0; c < t->ncols && r == 0; c++) {
			r = buf_addstr(&b, c ? ", " : " (");
			if (r == 0)
				r = pg_names_quote_ident(&b, t->cols[c]);
		}
		if (r == 0)
			r = buf_addstr(&b, t->ncols ? ") FROM stdin;\n" : " FROM stdin;\n");
		if (r == 0 && !(s->copy_head[i] = strdup((char *)b.data)))
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
	}
	buf_release(&b);
	return r;
}

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
	if (r == 0)
		r = pg_snap_begin(s, err);
	if (r == 0)
		r = pg_catalog_load(&s->cat, s->main, &s->o.filter, err);
	if (r == 0)
		r = pg_catalog_lock(&s->cat, s->main, err);
	if (r == 0)
		r = pg_catalog_roles_sql(&s->cat, s->main, s->o.role_passwords,
					 &s->roles_sql, err);
	if (r == 0)
		r = pg_catalog_sequences_sql(&s->cat, s->main, &s->sequences_sql, err);
	if (r == 0)
		r = pg_snap_run_dump(s, err);
	if (r == 0)
		r = pg_snap_plan_tables(s);
	if (r < 0)
		return r;
	for (size_t i = 0; i < s->cat.ntables; i++)
		ndata += s->tables[i].has_data;
	/* one connection does it all (the main one) unless there is
	 * something to run in parallel */
	nw = (size_t)(s->o.jobs > 0 ? s->o.jobs : 2);
	if (nw > ndata)
		nw = ndata;
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
	buf_init(&s->meta, 0);
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
	buf_release(&s->meta);
	for (size_t i = 0; i < s->cat.ntables; i++) {
		if (s->paths)
			free(s->paths[i]);
		if (s->copy_sql)
			free(s->copy_sql[i]);
		if (s->copy_head)
			free(s->copy_head[i]);
		if (s->labels)
			free(s->labels[i]);
	}
	free(s->paths);
	free(s->copy_sql);
	free(s->copy_head);
	free(s->labels);
	free(s->tables);
	pg_catalog_release(&s->cat);
	free(s);
}

/* ---- meta.json ------------------------------------------------------------ */

static int pg_snap_json_strv(struct buf *b, char *const *v, size_t n)
{
	int r = buf_addch(b, '[');

	for (size_t i = 0; i < n && r == 0; i++) {
		if (i)
			r = buf_addstr(b, ", ");
		if (r == 0)
			r = pg_names_quote_json(b, v[i]);
	}
	return r ? r : buf_addch(b, ']');
}

static int pg_snap_json_kv(struct buf *b, const char *key, const char *val)
{
	int r = pg_names_quote_json(b, key);

	if (r == 0)
		r = buf_addstr(b, ": ");
	return r ? r : pg_names_quote_json(b, val);
}

static int pg_snap_json_warnings(struct buf *b, const char *w)
{
	int r = buf_addch(b, '[');
	int first = 1;

	while (*w && r == 0) {
		const char *e = strchr(w, '\n');
		size_t n = e ? (size_t)(e - w) : strlen(w);
		struct buf one = BUF_INIT;

		r = buf_add(&one, w, n);
		if (r == 0 && !first)
			r = buf_addstr(b, ", ");
		if (r == 0)
			r = pg_names_quote_json(b, (char *)one.data);
		buf_release(&one);
		first = 0;
		w += n + (e != NULL);
	}
	return r ? r : buf_addch(b, ']');
}

static int pg_snap_meta_table(const struct pg_snap *s, struct buf *b, size_t i)
{
	const struct pg_catalog_table *t = &s->cat.tables[i];
	const struct pg_snap_table *pt = &s->tables[i];
	int r;

	r = buf_addstr(b, "    {");
	if (r == 0)
		r = pg_snap_json_kv(b, "schema", t->schema);
	if (r == 0)
		r = buf_addstr(b, ", ");
	if (r == 0)
		r = pg_snap_json_kv(b, "name", t->name);
	if (r == 0)
		r = buf_addstr(b, ", ");
	if (r == 0)
		r = pg_snap_json_kv(b, "path", pt->path);
	if (r == 0)
		r = buf_addf(b, ", \"kind\": \"%s\", \"partition\": %s, \"primary_key\": ",
			     t->relkind == 'p' ? "partitioned" : "table",
			     t->partition ? "true" : "false");
	if (r == 0)
		r = pg_snap_json_strv(b, t->pk, t->npk);
	if (r == 0)
		r = buf_addstr(b, ", \"columns\": ");
	if (r == 0)
		r = pg_snap_json_strv(b, t->cols, t->ncols);
	if (r == 0 && pt->has_data && pt->done)
		r = buf_addf(b, ", \"rows\": %llu, \"bytes\": %llu, \"xxh3_128\": \"%s\"",
			     (unsigned long long)pt->rows,
			     (unsigned long long)pt->bytes, pt->xxh3);
	return r ? r : buf_addch(b, '}');
}

static int pg_snap_build_meta(struct pg_snap *s)
{
	const size_t nset = sizeof(pg_snap_settings) / sizeof(pg_snap_settings[0]);
	struct buf *b = &s->meta;
	int r, first;

	buf_reset(b);
	r = buf_addstr(b, "{\n  \"format\": \"vault-pg-1\",\n  ");
	if (r == 0)
		r = pg_snap_json_kv(b, "source", pg_conn_info_describe(s->ci));
	if (r == 0)
		r = buf_addstr(b, ",\n  ");
	if (r == 0)
		r = pg_snap_json_kv(b, "server_version", s->cat.server_version);
	if (r == 0)
		r = buf_addf(b, ",\n  \"server_version_num\": %d,\n  ", s->cat.server_num);
	if (r == 0)
		r = pg_snap_json_kv(b, "database", s->cat.database);
	if (r == 0)
		r = buf_addstr(b, ",\n  ");
	if (r == 0)
		r = pg_snap_json_kv(b, "encoding", s->cat.encoding);
	if (r == 0)
		r = buf_addstr(b, ",\n  \"pg_dump\": {");
	if (r == 0)
		r = pg_snap_json_kv(b, "path", s->dump.path);
	if (r == 0)
		r = buf_addstr(b, ", ");
	if (r == 0)
		r = pg_snap_json_kv(b, "version", s->dump.version);
	if (r == 0)
		r = buf_addstr(b, "},\n  \"copy_settings\": {");
	for (size_t i = 0; i < nset && r == 0; i++) {
		if (i)
			r = buf_addstr(b, ", ");
		if (r == 0)
			r = pg_snap_json_kv(b, pg_snap_settings[i][0], pg_snap_settings[i][1]);
	}
	if (r == 0)
		r = buf_addstr(b, ", ");
	if (r == 0)
		r = pg_snap_json_kv(b, "client_encoding", s->cat.encoding);
	if (r == 0)
		r = buf_addstr(b, "},\n  \"checksum\": \"xxh3-128 of each data.sql's rows, without the COPY and \\\\. lines; canonical hex\",\n"
			       "  \"schemas\": {\"captured\": [");
	first = 1;
	for (size_t i = 0; i < s->cat.nschemas && r == 0; i++) {
		if (s->cat.schemas[i].skipped)
			continue;
		if (!first)
			r = buf_addstr(b, ", ");
		if (r == 0)
			r = pg_names_quote_json(b, s->cat.schemas[i].name);
		first = 0;
	}
	if (r == 0)
		r = buf_addstr(b, "], \"skipped\": [");
	first = 1;
	for (size_t i = 0; i < s->cat.nschemas && r == 0; i++) {
		if (!s->cat.schemas[i].skipped)
			continue;
		r = buf_addstr(b, first ? "{" : ", {");
		if (r == 0)
			r = pg_snap_json_kv(b, "name", s->cat.schemas[i].name);
		if (r == 0)
			r = buf_addstr(b, ", ");
		if (r == 0)
			r = pg_snap_json_kv(b, "reason", s->cat.schemas[i].skipped);
		if (r == 0)
			r = buf_addch(b, '}');
		first = 0;
	}
	if (r == 0)
		r = buf_addstr(b, "]},\n  \"tables\": [\n");
	for (size_t i = 0; i < s->cat.ntables && r == 0; i++) {
		r = pg_snap_meta_table(s, b, i);
		if (r == 0)
			r = buf_addstr(b, i + 1 < s->cat.ntables ? ",\n" : "\n");
	}
	if (r == 0)
		r = buf_addf(b, "  ],\n  \"large_objects\": %zu,\n  \"extensions\": %s,\n"
			     "  \"roles\": %s,\n  \"requirements\": {\n"
			     "    \"extensions\": %s,\n    \"roles\": %s,\n"
			     "    \"publications\": %s,\n    \"webhooks\": %s,\n"
			     "    \"cron_jobs\": %s\n  },\n  \"warnings\": ",
			     s->cat.nlarge_objects, (char *)s->cat.extensions.data,
			     (char *)s->cat.roles.data,
			     (char *)s->cat.extensions_required.data,
			     (char *)s->cat.roles_required.data,
			     (char *)s->cat.publications.data,
			     (char *)s->cat.webhooks.data, (char *)s->cat.cron_jobs.data);
	if (r == 0)
		r = pg_snap_json_warnings(b, (char *)s->cat.warnings.data);
	if (r == 0)
		r = buf_addstr(b, "\n}\n");
	return r;
}

/* ---- emission -------------------------------------------------------------- */

struct pg_snap_plan {
	struct pg_snap_entry *e;
	size_t n, cap;
};

static int pg_snap_plan_add(struct pg_snap_plan *p, enum pg_snap_kind kind,
			    const char *path, const char *leaf)
{
	struct pg_snap_entry *e;
	struct buf b = BUF_INIT;
	int r;

	if (p->n == p->cap) {
		size_t ncap = p->cap ? p->cap * 2 : 64;

		e = realloc(p->e, ncap * sizeof(*e));
		if (!e)
			return -ENOMEM;
		p->e = e;
		p->cap = ncap;
	}
	r = buf_addstr(&b, path);
	if (r == 0 && leaf)
		r = buf_addf(&b, "/%s", leaf);
	if (r < 0) {
		buf_release(&b);
		return r;
	}
	e = &p->e[p->n];
	memset(e, 0, sizeof(*e));
	e->kind = kind;
	e->path = buf_detach(&b, &e->len);
	if (!e->path)
		return -ENOMEM;
	p->n++;
	return 0;
}

static void pg_snap_plan_release(struct pg_snap_plan *p)
{
	for (size_t i = 0; i < p->n; i++)
		free(p->e[i].path);
	free(p->e);
}

static int pg_snap_entry_cmp(const void *a, const void *b)
{
	const struct pg_snap_entry *x = a, *y = b;

	return manifest_path_cmp(x->path, x->len, y->path, y->len);
}

/* Directories above a table path that are not yet planned ("db/s",
 * "db/s/tables"): tables come sorted by schema, so comparing with the
 * previous table's schema directory is enough. */
static int pg_snap_plan_dirs(struct pg_snap_plan *p, const char *tpath,
			     const char *prev)
{
	const char *t = strstr(tpath, "/tables/");
	size_t sl = (size_t)(t - tpath);
	struct buf b = BUF_INIT;
	int r = 0;

	if (prev) {
		const char *pt = strstr(prev, "/tables/");

		if ((size_t)(pt - prev) == sl && !memcmp(prev, tpath, sl))
			return 0;
	}
	r = buf_add(&b, tpath, sl);
	if (r == 0)
		r = pg_snap_plan_add(p, PG_SNAP_E_DIR, (char *)b.data, NULL);
	if (r == 0)
		r = pg_snap_plan_add(p, PG_SNAP_E_DIR, (char *)b.data, "tables");
	buf_release(&b);
	return r;
}

static int pg_snap_plan(struct pg_snap *s, struct pg_snap_plan *p,
			struct buf *err)
{
	int r;

	r = pg_snap_plan_add(p, PG_SNAP_E_DIR, s->root, NULL);
	if (r == 0)
		r = pg_snap_plan_add(p, PG_SNAP_E_META, s->root, "meta.json");
	if (r == 0) {
		r = pg_snap_plan_add(p, PG_SNAP_E_TEXT, s->root, "roles.sql");
		p->e[p->n - 1].text = &s->roles_sql;
	}
	if (r == 0) {
		r = pg_snap_plan_add(p, PG_SNAP_E_TEXT, s->root, "schema.sql");
		p->e[p->n - 1].text = &s->ddl_text;
	}
	if (r == 0) {
		r = pg_snap_plan_add(p, PG_SNAP_E_TEXT, s->root, "sequences.sql");
		p->e[p->n - 1].text = &s->sequences_sql;
	}
	for (size_t i = 0; i < s->cat.ntables && r == 0; i++) {
		const char *path = s->paths[i];

		r = pg_snap_plan_dirs(p, path, i ? s->paths[i - 1] : NULL);
		if (r == 0)
			r = pg_snap_plan_add(p, PG_SNAP_E_DIR, path, NULL);
		if (r == 0 && s->tables[i].has_data) {
			r = pg_snap_plan_add(p, PG_SNAP_E_DATA, path, "data.sql");
			p->e[p->n - 1].table = i;
		}
		if (r == 0) {
			r = pg_snap_plan_add(p, PG_SNAP_E_DDL, path, "schema.sql");
			p->e[p->n - 1].table = i;
		}
	}
	if (r == 0 && s->cat.nlarge_objects) {
		struct buf dir = BUF_INIT;

		r = buf_addf(&dir, "%s/large_objects", s->root);
		if (r == 0)
			r = pg_snap_plan_add(p, PG_SNAP_E_DIR, (char *)dir.data, NULL);
		for (size_t i = 0; i < s->cat.nlarge_objects && r == 0; i++) {
			char leaf[16];

			snprintf(leaf, sizeof(leaf), "%u", s->cat.large_objects[i]);
			r = pg_snap_plan_add(p, PG_SNAP_E_LO, (char *)dir.data, leaf);
			p->e[p->n - 1].oid = s->cat.large_objects[i];
		}
		buf_release(&dir);
	}
	if (r < 0)
		return r;
	qsort(p->e, p->n, sizeof(*p->e), pg_snap_entry_cmp);
	for (size_t i = 1; i < p->n; i++)
		if (pg_snap_entry_cmp(&p->e[i - 1], &p->e[i]) >= 0) {
			if (err)
				buf_addf(err, "two captured objects map to the same path %s",
					 p->e[i].path);
			return -EEXIST;
		}
	return 0;
}

struct pg_snap_writer {
	struct pg_snap *s;
	const struct pg_sink *sink;
	void *st;
	struct pg_snap_table *t;
	uint64_t since;
};

static int pg_snap_write_rows(void *ctx, const void *p, size_t n)
{
	struct pg_snap_writer *w = ctx;

	w->t->bytes += n;
	w->since += n;
	if (w->since >= PG_SNAP_PROGRESS_EVERY && w->s->o.progress) {
		w->since = 0;
		w->s->o.progress(w->s->o.progress_ctx, w->t, 0);
	}
	return w->sink->stream_write(w->sink->ctx, w->st, p, n);
}

static int pg_snap_text(const struct pg_sink *k, const char *path,
			enum pg_sink_chunking how, const void *p, size_t n)
{
	int r = k->begin_file(k->ctx, path, PG_SNAP_FILE_MODE, how);

	if (r == 0 && n)
		r = k->write(k->ctx, p, n);
	return r ? r : k->end_file(k->ctx);
}

static int pg_snap_table_attrs(const struct pg_sink *k,
			       const struct pg_snap_table *t)
{
	int r = k->attr(k->ctx, "pg.schema", t->schema);

	return r ? r : k->attr(k->ctx, "pg.table", t->name);
}

/* First pass: table i's data.sql into a new stream *st. */
static int pg_snap_read_table(struct pg_snap *s, const struct pg_sink *k,
			      struct pg_copy *cp, size_t job, size_t i,
			      void **st, struct buf *err)
{
	struct pg_snap_writer w = { s, k, NULL, &s->tables[i], 0 };
	struct pg_copy_result res;
	int r;

	w.t->bytes = 0;
	if (s->o.progress)
		s->o.progress(s->o.progress_ctx, w.t, 0);
	r = k->stream_begin(k->ctx, PG_SINK_ROWS, st);
	w.st = *st;
	if (r == 0)
		r = k->stream_write(k->ctx, w.st, s->copy_head[i],
				    strlen(s->copy_head[i]));
	if (r == 0)
		r = pg_copy_take(cp, job, pg_snap_write_rows, &w, &res, err);
	if (r == 0)
		r = k->stream_write(k->ctx, w.st, "\\.\n", 3);
	if (r == 0)
		r = k->stream_end(k->ctx, w.st);
	if (r < 0)
		return r;
	w.t->rows = res.rows;
	w.t->bytes = res.bytes;
	hex_encode(w.t->xxh3, res.xxh128, sizeof(res.xxh128));
	w.t->done = 1;
	if (s->o.progress)
		s->o.progress(s->o.progress_ctx, w.t, 1);
	return 0;
}

/* Second pass: the data.sql entry of table i, from its stream. */
static int pg_snap_data(struct pg_snap *s, const struct pg_sink *k,
			size_t i, const char *path, void *st)
{
	const struct pg_snap_table *t = &s->tables[i];
	char num[32];
	int r = k->begin_file_stream(k->ctx, path, PG_SNAP_FILE_MODE, st);

	if (r == 0)
		r = pg_snap_table_attrs(k, t);
	snprintf(num, sizeof(num), "%llu", (unsigned long long)t->rows);
	if (r == 0)
		r = k->attr(k->ctx, "pg.rows", num);
	if (r == 0)
		r = k->attr(k->ctx, "pg.xxh3", t->xxh3);
	return r ? r : k->end_file(k->ctx);
}

static int pg_snap_ddl_file(struct pg_snap *s, const struct pg_sink *k,
			    size_t i, const char *path)
{
	struct buf b = BUF_INIT;
	int r = pg_ddl_table_sql(s->ddl, s->tables[i].schema, s->tables[i].name, &b);

	if (r >= 0)
		r = k->begin_file(k->ctx, path, PG_SNAP_FILE_MODE, PG_SINK_GENERAL);
	if (r == 0 && b.len)
		r = k->write(k->ctx, b.data, b.len);
	if (r == 0)
		r = pg_snap_table_attrs(k, &s->tables[i]);
	if (r == 0)
		r = k->end_file(k->ctx);
	buf_release(&b);
	return r;
}

/* First pass: a large object's bytes into a new stream *st. */
static int pg_snap_read_lo(struct pg_snap *s, const struct pg_sink *k,
			   unsigned oid, void **st, struct buf *err)
{
	char chunk[65536], what[64];
	int fd, n = 0, r;

	snprintf(what, sizeof(what), "large object %u", oid);
	fd = lo_open(s->main, oid, INV_READ);
	if (fd < 0)
		return pg_conn_error(s->main, NULL, what, err);
	r = k->stream_begin(k->ctx, PG_SINK_GENERAL, st);
	while (r == 0 && (n = lo_read(s->main, fd, chunk, sizeof(chunk))) > 0) {
		r = k->stream_write(k->ctx, *st, chunk, (size_t)n);
		if (r == 0 && s->o.interrupt && *s->o.interrupt) {
			r = -EINTR;
			if (err)
				buf_addf(err, "%s: interrupted", what);
		}
	}
	if (r == 0 && n < 0)
		r = pg_conn_error(s->main, NULL, what, err);
	if (r == 0)
		r = k->stream_end(k->ctx, *st);
	lo_close(s->main, fd);
	return r;
}

/* First pass: every table, then every large object, into streams (one
 * per plan entry, in st[]).  Tables go in plan order, which is the
 * order pg_copy prefetches them in. */
static int pg_snap_read_all(struct pg_snap *s, const struct pg_sink *k,
			    const struct pg_snap_plan *p, void **st,
			    struct buf *err)
{
	struct pg_copy_job *jobs = calloc(p->n ? p->n : 1, sizeof(*jobs));
	struct pg_copy *cp = NULL;
	struct pg_copy_opts co;
	size_t njobs = 0, job = 0;
	int r = 0;

	if (!jobs)
		return -ENOMEM;
	for (size_t i = 0; i < p->n; i++) {
		if (p->e[i].kind != PG_SNAP_E_DATA)
			continue;
		jobs[njobs].sql = s->copy_sql[p->e[i].table];
		jobs[njobs].label = s->labels[p->e[i].table];
		njobs++;
	}
	memset(&co, 0, sizeof(co));
	co.conns = s->nworkers ? s->workers : &s->main;
	co.nconns = s->nworkers ? s->nworkers : 1;
	co.interrupt = s->o.interrupt;
	r = pg_copy_start(&cp, jobs, njobs, &co, err);
	for (size_t i = 0; i < p->n && r == 0; i++)
		if (p->e[i].kind == PG_SNAP_E_DATA)
			r = pg_snap_read_table(s, k, cp, job++, p->e[i].table,
					       &st[i], err);
	/* the main connection is free again for the large objects */
	pg_copy_free(cp);
	for (size_t i = 0; i < p->n && r == 0; i++)
		if (p->e[i].kind == PG_SNAP_E_LO)
			r = pg_snap_read_lo(s, k, p->e[i].oid, &st[i], err);
	free(jobs);
	return r;
}

int pg_snap_emit(struct pg_snap *s, const struct pg_sink *k, struct buf *err)
{
	struct pg_snap_plan p = { NULL, 0, 0 };
	void **st = NULL;
	int r;

	if (s->emitted)
		return -EINVAL;
	if (!k->begin_file || !k->write || !k->attr || !k->end_file ||
	    !k->stream_begin || !k->stream_write || !k->stream_end ||
	    !k->begin_file_stream || !k->stream_free) {
		if (err)
			buf_addstr(err, "pg_snap_emit: the sink lacks a callback");
		return -EINVAL;
	}
	s->emitted = 1;
	r = pg_snap_plan(s, &p, err);
	if (r == 0) {
		st = calloc(p.n ? p.n : 1, sizeof(*st));
		if (!st)
			r = -ENOMEM;
	}
	if (r == 0)
		r = pg_snap_read_all(s, k, &p, st, err);
	/* every checksum is known: meta.json is complete */
	if (r == 0)
		r = pg_snap_build_meta(s);
	for (size_t i = 0; i < p.n && r == 0; i++) {
		const struct pg_snap_entry *e = &p.e[i];

		switch (e->kind) {
		case PG_SNAP_E_DIR:
			if (k->dir)
				r = k->dir(k->ctx, e->path, PG_SNAP_DIR_MODE);
			break;
		case PG_SNAP_E_TEXT:
			r = pg_snap_text(k, e->path, PG_SINK_GENERAL,
					 e->text->data, e->text->len);
			break;
		case PG_SNAP_E_META:
			r = pg_snap_text(k, e->path, PG_SINK_GENERAL,
					 s->meta.data, s->meta.len);
			break;
		case PG_SNAP_E_DATA:
			r = pg_snap_data(s, k, e->table, e->path, st[i]);
			st[i] = NULL;	/* the sink has it now */
			break;
		case PG_SNAP_E_DDL:
			r = pg_snap_ddl_file(s, k, e->table, e->path);
			break;
		case PG_SNAP_E_LO:
			r = k->begin_file_stream(k->ctx, e->path,
						 PG_SNAP_FILE_MODE, st[i]);
			st[i] = NULL;
			if (r == 0)
				r = k->end_file(k->ctx);
			break;
		}
	}
	for (size_t i = 0; st && i < p.n; i++)
		if (st[i])
			k->stream_free(k->ctx, st[i]);
	free(st);
	pg_snap_plan_release(&p);
	return r;
}

/* ---- accessors ----------------------------------------------------------- */

const char *pg_snap_source(const struct pg_snap *s)
{
	return pg_conn_info_describe(s->ci);
}

const char *pg_snap_snapshot_id(const struct pg_snap *s)
{
	return s->snapid;
}

const char *pg_snap_meta_json(const struct pg_snap *s)
{
	return (const char *)s->meta.data;
}

const struct pg_catalog *pg_snap_catalog(const struct pg_snap *s)
{
	return &s->cat;
}

size_t pg_snap_ntables(const struct pg_snap *s)
{
	return s->cat.ntables;
}

const struct pg_snap_table *pg_snap_table(const struct pg_snap *s, size_t i)
{
	return i < s->cat.ntables ? &s->tables[i] : NULL;
}

const char *pg_snap_warnings(const struct pg_snap *s)
{
	return (const char *)s->cat.warnings.data;
}

/*
 * pg-snap-meta: db/meta.json, the capture's own description: the
 * source (password masked), server, pg_dump, the session settings the
 * rows were read with, the captured and skipped schemas, every table with
 * its columns, primary key, row count, size and checksum (extensions'
 * configuration tables apart, with their extension and filter, and
 * their configuration sequences), the materialized views left
 * unpopulated, and what a restore will need (extensions, roles,
 * publications, webhooks, cron jobs); what proves each table unchanged
 * since then, for the next capture, and which tables this one took from
 * the previous snapshot (pg-snap-proof.c).  formats/db-layout.md documents
 * it.
 *
 * Built once the first pass has read every table (its checksums are in
 * it), then emitted as a file of the tree and returned by
 * pg_snap_meta_json for the snapshot record.
 */
#include <string.h>

#include "pg-names.h"
#include "pg-snap-int.h"

static int pg_snap_meta_strv(struct buf *b, char *const *v, size_t n)
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

static int pg_snap_meta_kv(struct buf *b, const char *key, const char *val)
{
	int r = pg_names_quote_json(b, key);

	if (r == 0)
		r = buf_addstr(b, ": ");
	return r ? r : pg_names_quote_json(b, val);
}

static int pg_snap_meta_warnings(struct buf *b, const char *w)
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
		r = pg_snap_meta_kv(b, "schema", t->schema);
	if (r == 0)
		r = buf_addstr(b, ", ");
	if (r == 0)
		r = pg_snap_meta_kv(b, "name", t->name);
	if (r == 0)
		r = buf_addstr(b, ", ");
	if (r == 0)
		r = pg_snap_meta_kv(b, "path", pt->path);
	if (r == 0)
		r = buf_addf(b, ", \"kind\": \"%s\", \"partition\": %s, \"primary_key\": ",
			     t->relkind == 'p' ? "partitioned" : "table",
			     t->partition ? "true" : "false");
	if (r == 0)
		r = pg_snap_meta_strv(b, t->pk, t->npk);
	if (r == 0)
		r = buf_addstr(b, ", \"columns\": ");
	if (r == 0)
		r = pg_snap_meta_strv(b, t->cols, t->ncols);
	if (r == 0 && pt->has_data && pt->done)
		r = buf_addf(b, ", \"rows\": %llu, \"bytes\": %llu, \"xxh3_128\": \"%s\"",
			     (unsigned long long)pt->rows,
			     (unsigned long long)pt->bytes, pt->xxh3);
	if (r == 0 && pt->has_data)
		r = buf_addstr(b, ", \"unchanged_proof\": ");
	if (r == 0 && pt->has_data)
		r = pt->proof ? pg_names_quote_json(b, pt->proof) :
		    buf_addstr(b, "null");
	if (r == 0 && pt->has_data)
		r = buf_addf(b, ", \"reused\": %s", pt->reused ? "true" : "false");
	if (r == 0 && t->extension) {
		r = buf_addstr(b, ", ");
		if (r == 0)
			r = pg_snap_meta_kv(b, "extension", t->extension);
		if (r == 0)
			r = buf_addstr(b, ", \"condition\": ");
		if (r == 0)
			r = t->condition ? pg_names_quote_json(b, t->condition) :
			    buf_addstr(b, "null");
	}
	return r ? r : buf_addch(b, '}');
}

/* "tables" (ext = 0) or "extension_tables" (ext = 1): the elements */
static int pg_snap_meta_tables(const struct pg_snap *s, struct buf *b, int ext)
{
	int r = 0, first = 1;

	for (size_t i = 0; i < s->cat.ntables && r == 0; i++) {
		if (!s->cat.tables[i].extension != !ext)
			continue;
		if (!first)
			r = buf_addstr(b, ",\n");
		if (r == 0)
			r = pg_snap_meta_table(s, b, i);
		first = 0;
	}
	return r ? r : buf_addstr(b, first ? "" : "\n");
}

/* [{"extension", "schema", "name"}] */
static int pg_snap_meta_ext_sequences(const struct pg_snap *s, struct buf *b)
{
	int r = buf_addch(b, '[');

	for (size_t i = 0; i < s->cat.next_sequences && r == 0; i++) {
		const struct pg_catalog_extseq *q = &s->cat.ext_sequences[i];

		r = buf_addstr(b, i ? ", {" : "{");
		if (r == 0)
			r = pg_snap_meta_kv(b, "extension", q->extension);
		if (r == 0)
			r = buf_addstr(b, ", ");
		if (r == 0)
			r = pg_snap_meta_kv(b, "schema", q->schema);
		if (r == 0)
			r = buf_addstr(b, ", ");
		if (r == 0)
			r = pg_snap_meta_kv(b, "name", q->name);
		if (r == 0)
			r = buf_addch(b, '}');
	}
	return r ? r : buf_addch(b, ']');
}

int pg_snap_meta_build(struct pg_snap *s)
{
	struct buf *b = &s->meta;
	int r, first;

	buf_reset(b);
	r = buf_addstr(b, "{\n  \"format\": \"vault-pg-1\",\n  ");
	if (r == 0)
		r = pg_snap_meta_kv(b, "source", pg_conn_info_describe(s->ci));
	if (r == 0)
		r = buf_addstr(b, ",\n  ");
	if (r == 0)
		r = pg_snap_meta_kv(b, "server_version", s->cat.server_version);
	if (r == 0)
		r = buf_addf(b, ",\n  \"server_version_num\": %d,\n  ", s->cat.server_num);
	if (r == 0)
		r = pg_snap_meta_kv(b, "database", s->cat.database);
	if (r == 0)
		r = buf_addstr(b, ",\n  ");
	if (r == 0)
		r = pg_snap_meta_kv(b, "encoding", s->cat.encoding);
	if (r == 0)
		r = buf_addstr(b, ",\n  \"pg_dump\": {");
	if (r == 0)
		r = pg_snap_meta_kv(b, "path", s->dump.path);
	if (r == 0)
		r = buf_addstr(b, ", ");
	if (r == 0)
		r = pg_snap_meta_kv(b, "version", s->dump.version);
	if (r == 0)
		r = buf_addstr(b, "},\n  \"copy_settings\": {");
	for (size_t i = 0; i < pg_snap_nsettings && r == 0; i++) {
		if (i)
			r = buf_addstr(b, ", ");
		if (r == 0)
			r = pg_snap_meta_kv(b, pg_snap_settings[i][0], pg_snap_settings[i][1]);
	}
	if (r == 0)
		r = buf_addstr(b, ", ");
	if (r == 0)
		r = pg_snap_meta_kv(b, "client_encoding", s->cat.encoding);
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
			r = pg_snap_meta_kv(b, "name", s->cat.schemas[i].name);
		if (r == 0)
			r = buf_addstr(b, ", ");
		if (r == 0)
			r = pg_snap_meta_kv(b, "reason", s->cat.schemas[i].skipped);
		if (r == 0)
			r = buf_addch(b, '}');
		first = 0;
	}
	if (r == 0)
		r = buf_addstr(b, "]},\n  \"unchanged_proof\": ");
	if (r == 0)
		r = s->proof ? pg_names_quote_json(b, s->proof) : buf_addstr(b, "null");
	if (r == 0)
		r = buf_addstr(b, ",\n  \"reused_from\": ");
	if (r == 0)
		r = s->nreused ? pg_names_quote_json(b, s->prev_id) : buf_addstr(b, "null");
	if (r == 0)
		r = buf_addf(b, ",\n  \"quiet\": %s, \"busy_worker_schemas\": ",
			     !s->proof ? "null" : s->quiet ? "true" : "false");
	if (r == 0)
		r = pg_snap_meta_strv(b, s->busy_schemas,
				      s->quiet ? s->nbusy_schemas : 0);
	if (r == 0)
		r = buf_addstr(b, ",\n  \"tables\": [\n");
	if (r == 0)
		r = pg_snap_meta_tables(s, b, 0);
	if (r == 0)
		r = buf_addstr(b, "  ],\n  \"extension_tables\": [\n");
	if (r == 0)
		r = pg_snap_meta_tables(s, b, 1);
	if (r == 0)
		r = buf_addstr(b, "  ],\n  \"tables_left_out\": ");
	if (r == 0)
		r = s->cat.left_out.len ? buf_add(b, s->cat.left_out.data,
						  s->cat.left_out.len) :
		    buf_addch(b, '[');
	if (r == 0)
		r = buf_addstr(b, "],\n  \"extension_sequences\": ");
	if (r == 0)
		r = pg_snap_meta_ext_sequences(s, b);
	if (r == 0)
		r = buf_addf(b, ",\n  \"large_objects\": %zu,\n  \"unpopulated_matviews\": %s,\n"
			     "  \"extensions\": %s,\n"
			     "  \"roles\": %s,\n  \"requirements\": {\n"
			     "    \"extensions\": %s,\n    \"roles\": %s,\n"
			     "    \"publications\": %s,\n    \"webhooks\": %s,\n"
			     "    \"cron_jobs\": %s\n  },\n  \"warnings\": ",
			     s->cat.nlarge_objects, (char *)s->cat.unpopulated.data,
			     (char *)s->cat.extensions.data,
			     (char *)s->cat.roles.data,
			     (char *)s->cat.extensions_required.data,
			     (char *)s->cat.roles_required.data,
			     (char *)s->cat.publications.data,
			     (char *)s->cat.webhooks.data, (char *)s->cat.cron_jobs.data);
	if (r == 0)
		r = pg_snap_meta_warnings(b, (char *)s->cat.warnings.data);
	if (r == 0)
		r = buf_addstr(b, "\n}\n");
	return r;
}

const char *pg_snap_meta_json(const struct pg_snap *s)
{
	return (const char *)s->meta.data;
}

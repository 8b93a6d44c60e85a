/*
 * rs-meta: a snapshot's db/meta.json, read back for restore.
 *
 * The document is the one pg-snap writes (format "vault-pg-1"): server
 * facts, the session settings the rows were read under, the captured
 * schemas, one entry per table (columns, primary key, row count and the
 * XXH3-128 of its rows), extensions' configuration tables and sequences,
 * the materialized views left unpopulated, and the requirements a
 * target needs.  It comes
 * from the repository, which authenticates it, but it is still parsed
 * as untrusted JSON: a malformed or truncated document is -EBADMSG,
 * never a crash.
 */
#ifndef VAULT_RS_META_H
#define VAULT_RS_META_H

#include <stddef.h>
#include <stdint.h>
#include "buf.h"

struct rs_meta_table {
	char *schema, *name;	/* raw identifiers */
	char *path;		/* "db/<schema>/tables/<table>" */
	int partitioned;	/* a partitioned parent: no data.sql */
	int partition;		/* attached as a partition */
	char **pk;		/* primary key columns, key order */
	size_t npk;
	char **cols;		/* captured columns (no generated ones) */
	size_t ncols;
	int has_data;		/* rows/xxh3 present */
	uint64_t rows, bytes;
	char xxh3[33];		/* lowercase hex */
	/* an extension's configuration table ("extension_tables"): its
	 * extension, else NULL; CREATE EXTENSION makes the table, only the
	 * rows its filter (condition: "WHERE ...", or NULL) selects are the
	 * snapshot's */
	char *extension, *condition;
};

/* A relation named by schema and name; for an extension's configuration
 * sequence (whose value is in sequences.sql), also its extension. */
struct rs_meta_rel {
	char *schema, *name;
	char *extension;	/* NULL but in ext_sequences */
};

struct rs_meta_publication {
	char *name;
	int all_tables;
	char **tables;		/* "schema.table" */
	size_t ntables;
};

struct rs_meta_webhook {
	char *schema, *table, *trigger, *function;
};

struct rs_meta {
	char *format;
	char *source;		/* masked */
	char *server_version;
	int64_t server_num;
	char *database, *encoding;
	char **settings;	/* copy_settings: name, value, name, value... */
	size_t nsettings;	/* pairs */
	char **schemas;		/* captured */
	size_t nschemas;
	/* as in the document (sorted): "tables", then "extension_tables" */
	struct rs_meta_table *tables;
	size_t ntables;
	/* the tables sorted by schema and name (the first in the array
	 * first among equal ones): rs_meta_find's index, built by
	 * rs_meta_parse (NULL: rs_meta_find searches the array) */
	const struct rs_meta_table **byname;
	struct rs_meta_rel *ext_sequences;
	size_t next_sequences;
	size_t large_objects;
	/* materialized views the capture found unpopulated (WITH NO DATA):
	 * a restore leaves them so (older snapshots: none known) */
	struct rs_meta_rel *unpopulated;
	size_t nunpopulated;
	/* tables of captured schemas that --table / --exclude-table left
	 * out ("tables_left_out"; older snapshots: none known) */
	struct rs_meta_rel *left_out;
	size_t nleft_out;
	char **req_extensions;
	size_t nreq_extensions;
	char **req_roles;
	size_t nreq_roles;
	struct rs_meta_publication *publications;
	size_t npublications;
	struct rs_meta_webhook *webhooks;
	size_t nwebhooks;
	char **cron_jobs;	/* jobnames ("" when unnamed) */
	size_t ncron_jobs;
	int cron_unknown;	/* null: the capture could not read them */
};

/* Parses doc[0..len).  0, -ENOMEM, or -EBADMSG with the reason in err
 * (also for an unknown format). */
int rs_meta_parse(struct rs_meta **m, const char *doc, size_t len,
		  struct buf *err);
void rs_meta_free(struct rs_meta *m);

/* The table schema.name (the first one in tables), or NULL; a binary
 * search when m->byname is built. */
const struct rs_meta_table *rs_meta_find(const struct rs_meta *m,
					 const char *schema, const char *name);
/* 1 when the materialized view schema.name was captured unpopulated. */
int rs_meta_unpopulated(const struct rs_meta *m, const char *schema,
			const char *name);
/* 1 when the table schema.name was left out by --table/--exclude-table. */
int rs_meta_left_out(const struct rs_meta *m, const char *schema,
		     const char *name);
/* A copy setting's value ("DateStyle" -> "ISO"), or NULL. */
const char *rs_meta_setting(const struct rs_meta *m, const char *name);

#endif

/*
 * pg-catalog: what a capture reads from the system catalogs, inside the
 * snapshot transaction of pg-snap: server facts, the schemas to capture
 * (and why others are skipped), tables with their columns and primary
 * keys, the requirements a restore target needs, and the text of
 * roles.sql (pg-catalog-roles.c), sequences.sql and large_objects.sql
 * (pg-catalog-lo.c).
 *
 * Default selection: every schema except PostgreSQL's own (pg_catalog,
 * information_schema, pg_toast*, pg_temp*) and those that only hold
 * extension-owned objects (an extension's own schema, Supabase's
 * "extensions").  --schema patterns override the extension rule.
 * Extension-owned tables are not captured as tables, since CREATE
 * EXTENSION makes them; but an extension's configuration tables
 * (pg_extension.extconfig) hold data, so their rows are captured as
 * pg_dump dumps them (with the extension's filter), and so are the
 * values of its configuration sequences, when their schema is captured
 * or skipped only for holding extension objects, and --table allows.
 *
 * Every query runs on the caller's connection; optional facts (pg_cron
 * jobs, role passwords) are read inside a savepoint so a missing
 * privilege becomes a warning instead of aborting the snapshot.
 */
#ifndef VAULT_PG_CATALOG_H
#define VAULT_PG_CATALOG_H

#include <stddef.h>
#include <libpq-fe.h>
#include "buf.h"

struct pg_catalog_table {
	char *schema, *name;
	unsigned oid;
	char relkind;		/* 'r' has rows, 'p' partitioned parent */
	int partition;		/* attached as a partition of another */
	char **cols;		/* captured columns in attnum order: no
				 * generated, no dropped ones */
	size_t ncols;
	char **pk;		/* primary key columns in key order: the
				 * key columns only, never INCLUDE ones */
	size_t npk;
	/* an extension's configuration table (pg_extension_config_dump):
	 * the extension's name, else NULL; only its rows are captured,
	 * those its filter selects (condition: "WHERE ...", or NULL) */
	char *extension, *condition;
	/* pg_table_size (heap and TOAST) when listed: an estimate of its
	 * rows' size for the progress line, never stored */
	uint64_t est_bytes;
};

/* A sequence an extension marked as configuration: CREATE EXTENSION
 * makes it, its value is data (sequences.sql). */
struct pg_catalog_extseq {
	char *extension, *schema, *name;
};

struct pg_catalog_schema {
	char *name;
	const char *skipped;	/* NULL when captured, else why not */
};

/* glob(7) patterns, NULL-terminated lists (NULL = none).  A table
 * pattern with a '.' matches "schema.table", otherwise the bare name. */
struct pg_catalog_filter {
	const char *const *schemas;
	const char *const *exclude_schemas;
	const char *const *tables;
	const char *const *exclude_tables;
};

struct pg_catalog {
	int server_num;			/* server_version_num */
	char *server_version;		/* "15.20 (Debian ...)" */
	char *database;
	char *encoding;			/* server_encoding */
	struct pg_catalog_schema *schemas;	/* sorted by name */
	size_t nschemas;
	struct pg_catalog_table *tables;	/* sorted by schema, name */
	size_t ntables;
	/* tables of captured schemas left out by --table/--exclude-table,
	 * as exact pg_dump patterns ("schema"."table") */
	char **excluded;
	size_t nexcluded;
	/* the same tables as JSON, [{"schema", "name"}], for meta.json */
	struct buf left_out;
	unsigned *large_objects;	/* oids */
	size_t nlarge_objects;
	/* configuration sequences of extensions, sorted by schema, name */
	struct pg_catalog_extseq *ext_sequences;
	size_t next_sequences;
	/* JSON values, for meta.json */
	struct buf extensions;		/* [{name, version, schema}] */
	struct buf extensions_required;	/* ["name", ...] but plpgsql */
	struct buf publications;	/* [{name, all_tables, tables}] */
	struct buf webhooks;		/* [{schema, table, trigger, function}] */
	struct buf cron_jobs;		/* [...] or null when not readable */
	struct buf unpopulated;		/* [{schema, name}]: materialized
					 * views left WITH NO DATA */
	struct buf roles;		/* [{name, reserved, login}] */
	struct buf roles_required;	/* ["name", ...]: non-reserved roles */
	struct buf warnings;		/* one line each */
};

void pg_catalog_init(struct pg_catalog *cat);
void pg_catalog_release(struct pg_catalog *cat);

/* Server facts only: enough to pick a pg_dump before the snapshot. */
int pg_catalog_server(struct pg_catalog *cat, PGconn *c, struct buf *err);
/* Everything else; runs inside the snapshot transaction. */
int pg_catalog_load(struct pg_catalog *cat, PGconn *c,
		    const struct pg_catalog_filter *f, struct buf *err);

/* ACCESS SHARE on every captured table so none is dropped or altered
 * while it is read.  The error names the table. */
int pg_catalog_lock(const struct pg_catalog *cat, PGconn *c,
		    struct buf *err);

/* 1 for a role Supabase manages itself (anon, authenticated,
 * service_role, supabase_*, ...). */
int pg_catalog_reserved_role(const char *name);

/*
 * roles.sql: CREATE ROLE / ALTER ROLE with attributes, comments,
 * memberships and per-role settings, one pg_dump-style section per role.
 * Passwords only with_passwords and when the server lets us read them
 * (otherwise a warning).  Also fills cat->roles and cat->roles_required.
 */
int pg_catalog_roles_sql(struct pg_catalog *cat, PGconn *c,
			 int with_passwords, struct buf *out, struct buf *err);

/* large_objects.sql (pg-catalog-lo.c): per large object, one section
 * "Name: <oid>; Type: LARGE OBJECT" with its owner, its ACL (REVOKEs to
 * an empty ACL, then one GRANT per entry in order, another grantor's
 * inside SET/RESET SESSION AUTHORIZATION) and its comment. */
int pg_catalog_lo_sql(PGconn *c, struct buf *out, struct buf *err);

/* sequences.sql: a setval per sequence of the captured schemas, and per
 * configuration sequence of an extension (cat->ext_sequences), with the
 * value and is_called read from the sequence itself where the role may
 * (setval(s, v, false) keeps v); -EACCES (err names it) for a sequence
 * of a captured schema whose value the role may not read. */
int pg_catalog_sequences_sql(const struct pg_catalog *cat, PGconn *c,
			     struct buf *out, struct buf *err);

#endif

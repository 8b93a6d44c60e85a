/*
 * rs-select: what a restore brings back, from --only, --schema and
 * --table, decided against the snapshot's own table list (meta.json)
 * and DDL sections.  Pure: no connection.
 *
 * --only parts (default: all of them):
 *   roles         db/roles.sql
 *   schema        DDL of the application's schemas (every captured one
 *                 but auth, storage and supabase_migrations), plus the
 *                 database-wide objects (extensions, publications ...)
 *   data          rows of those schemas' tables, and their sequences
 *   auth          the auth schema: DDL and rows
 *   storage-meta  the storage schema (buckets, objects metadata): DDL
 *                 and rows; the files themselves are not database data
 *   migrations    supabase_migrations: DDL and rows
 *
 * --schema S and --table S.T are glob(7) patterns (repeatable) that
 * narrow the selection: a table is selected when its schema matches a
 * --schema (if any) and "schema.table" matches a --table (if any; a
 * pattern without '.' matches the bare table name).  With --table, only
 * the tables' own DDL (db/<s>/tables/<t>/schema.sql sections) comes
 * along; without it, every object of the selected schemas does.  A
 * pattern that matches nothing is an error, so a typo never turns into
 * a restore of nothing.
 */
#ifndef VAULT_RS_SELECT_H
#define VAULT_RS_SELECT_H

#include <stddef.h>
#include "buf.h"
#include "pg-ddl.h"
#include "rs-meta.h"

#define RS_ONLY_ROLES		0x01u
#define RS_ONLY_SCHEMA		0x02u
#define RS_ONLY_DATA		0x04u
#define RS_ONLY_AUTH		0x08u
#define RS_ONLY_STORAGE		0x10u
#define RS_ONLY_MIGRATIONS	0x20u
#define RS_ONLY_ALL		0x3fu

/* What of a table is selected. */
#define RS_SELECT_DDL	0x1u
#define RS_SELECT_DATA	0x2u

/* ORs the parts named in a comma-separated list into *mask.  -EINVAL
 * (err names the word and lists the valid ones) for an unknown part. */
int rs_select_parse_only(const char *list, unsigned *mask, struct buf *err);
/* "roles,schema,..." for a mask. */
int rs_select_only_str(unsigned mask, struct buf *out);

/* The --only part that owns a schema: RS_ONLY_AUTH for auth,
 * RS_ONLY_STORAGE for storage, RS_ONLY_MIGRATIONS for
 * supabase_migrations, 0 for an application schema. */
unsigned rs_select_class(const char *schema);

struct rs_select_opts {
	unsigned only;			/* 0 = RS_ONLY_ALL */
	const char *const *schemas;	/* NULL-terminated, or NULL */
	const char *const *tables;
};

struct rs_select {
	unsigned only;
	int roles;		/* roles.sql */
	int whole;		/* no --table: schema-level objects come along */
	int globals;		/* database-wide objects (publications, event
				 * triggers, default privileges...) */
	int extensions;		/* CREATE EXTENSION (whenever schema-level
				 * DDL is selected) */
	unsigned *tables;	/* parallel to meta->tables: RS_SELECT_DDL, RS_SELECT_DATA bits */
	size_t ntables;
	char **schemas;		/* schemas whose schema-level DDL is selected */
	size_t nschemas;
	char **data_schemas;	/* schemas whose free sequences are set */
	size_t ndata_schemas;
	/* the options, kept for the log */
	char **opt_schemas, **opt_tables;
	size_t nopt_schemas, nopt_tables;
};

/* 0, -ENOMEM, or -ENOENT when a pattern matches no table or schema of
 * the snapshot (err names it). */
int rs_select_build(struct rs_select *s, const struct rs_meta *m,
		    const struct rs_select_opts *o, struct buf *err);
void rs_select_release(struct rs_select *s);

/* Bits selected for schema.name (0 when not a captured table). */
unsigned rs_select_table(const struct rs_select *s, const struct rs_meta *m,
			 const char *schema, const char *name);
/* 1 when that schema's schema-level DDL is selected. */
int rs_select_schema(const struct rs_select *s, const char *schema);

/*
 * 1 when section i of a dump (db/schema.sql) is part of the selection:
 * a table's sections follow the table's DDL bit, a schema's objects
 * follow rs_select_schema, database-wide ones s->globals (extensions:
 * s->extensions), "PUBLICATION TABLE" entries follow their table.
 * Objects of a schema the capture did not take follow s->globals in
 * the catalogs (privileges on pg_catalog or information_schema objects,
 * column ones too) and s->extensions elsewhere (an extension's schema),
 * so a whole-database restore leaves no section of the dump out.
 */
int rs_select_section(const struct rs_select *s, const struct rs_meta *m,
		      const struct pg_ddl *d, size_t i);

/*
 * 1 when the value of sequence schema.name (a line of sequences.sql) is
 * to be set: a sequence owned by a table (found through d's sections)
 * follows the table's DATA bit, any other one its schema's data.
 */
int rs_select_sequence(const struct rs_select *s, const struct rs_meta *m,
		       const struct pg_ddl *d, const char *schema,
		       const char *name);

/* The selection as a JSON object (for the plan and the restore log):
 * {"only": [...], "schemas": [...], "tables": [...], "selected": [...]}. */
int rs_select_json(const struct rs_select *s, const struct rs_meta *m,
		   struct buf *out);

#endif

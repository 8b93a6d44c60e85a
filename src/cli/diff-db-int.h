/*
 * diff-db-int.h: what the two halves of the database diff share:
 * diff-db.c (the driver and the tables' rows) and diff-db-objects.c
 * (schema objects).  Not for other files; diff-db.h is the interface.
 */
#ifndef VAULT_DIFF_DB_INT_H
#define VAULT_DIFF_DB_INT_H

#include <stdint.h>
#include "buf.h"
#include "cli.h"
#include "rs-input.h"
#include "rs-meta.h"

struct repo;

/* The database files whose entries differ between the snapshots (set by
 * diff_db_entry during the manifest merge): only those are compared. */
enum {
	DIFF_DB_SCHEMA = 1,		/* db/schema.sql */
	DIFF_DB_ROLES = 2,		/* db/roles.sql */
	DIFF_DB_SEQUENCES = 4,		/* db/sequences.sql */
	DIFF_DB_LO_SQL = 8,		/* db/large_objects.sql */
};

/* A large object whose bytes were added, removed or changed. */
struct diff_db_lo {
	char *oid;			/* its file name under large_objects/ */
	int change;			/* enum pg_ddl_change */
};

struct diff_db_side {
	const char *id;			/* the snapshot (full id) */
	struct rs_input in;		/* its files, on the main thread */
	int in_ok;
	struct rs_meta *meta;
};

struct diff_db_counts {
	uint64_t added, dropped, changed, unchanged;
	uint64_t left_out;	/* on one side only because the other
				 * snapshot's --table left them out */
};


struct diff_db {
	struct cli *c;
	struct repo *r;
	struct diff_db_side s[2];	/* before, after */
	unsigned files;			/* DIFF_DB_* */
	struct diff_db_lo *lo;
	size_t nlo, lo_cap;
	struct cli_json *json;		/* NULL: print for a person */
	struct buf line, err;
	int titled;			/* the current part's title printed */
	struct diff_db_counts tables, objects;
	uint64_t rows_added, rows_removed, rows_changed;
};

/* 1 when the table (or object of the table) schema.name is absent from
 * side `absent` only because that capture's --table / --exclude-table
 * left it out: not compared. */
int diff_db_left_out(const struct diff_db *dd, int absent, const char *schema,
		     const char *name);

/* Compares the schema objects (sections of schema.sql, roles.sql and
 * large_objects.sql, sequences.sql's values, large objects' bytes),
 * printing each or adding it to dd->json's open "objects" array; counts
 * into dd->objects.  0 or an exit code (printed). */
int diff_db_objects(struct diff_db *dd);

/* Writes dd->line and a newline to standard output; resets it. */
void diff_db_emit(struct diff_db *dd);

#endif

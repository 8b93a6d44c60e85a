/*
 * diff-db: `vault diff` between two snapshots that both hold a database
 * (formats/db-layout.md): per table, the rows added, removed and changed
 * (pg-rowdiff, reading both data.sql files as streams), and the schema
 * objects added, dropped or changed (pg-ddl-diff).  cmd-diff.c runs the
 * manifest merge and hands every db/ entry here; what this explains is
 * not listed as a file.
 */
#ifndef VAULT_DIFF_DB_H
#define VAULT_DIFF_DB_H

#include "cli.h"
#include "manifest.h"

struct repo;
struct diff_db;

/*
 * Whether snapshots id1 and id2 (full ids) both hold a database: *dd
 * ready (both meta.json read) when they do, NULL when not (their db/
 * entries are files like any other; also, with a warning, when a
 * meta.json cannot be read as this vault knows it).  0, or an exit code
 * (printed).
 */
int diff_db_open(struct cli *c, struct repo *r, const char *id1,
		 const char *id2, struct diff_db **dd);
void diff_db_free(struct diff_db *dd);

/*
 * An entry under db/ met by the manifest merge (a before, b after; NULL
 * on the side that lacks it; changed: both present and different).  1
 * when the database diff accounts for it, 0 when it is to be listed as
 * a file (a path the layout does not have).  -ENOMEM.
 */
int diff_db_entry(struct diff_db *dd, const struct manifest_entry *a,
		  const struct manifest_entry *b, int changed);

/*
 * After the merge: the schema objects, then the tables, printed for a
 * person (nothing when the databases are the same), or with json as the
 * open object's member "database".  0 or an exit code (printed).
 */
int diff_db_run(struct diff_db *dd, struct cli_json *json);

#endif

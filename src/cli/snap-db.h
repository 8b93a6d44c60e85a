/*
 * snap-db: the database part of `vault snapshot` (--db and its options):
 * where the connection string comes from, plugging pg-snap's sink into
 * the repository writer, per-table progress, and the summary.  Split out
 * of cmd-snapshot.c, which only decides where db/ goes among the PATHs.
 *
 * Where the URL comes from, first match wins:
 *   --db URL                        (then masked in vault's own argv)
 *   VAULT_DB_URL or SUPABASE_DB_URL in --env-file FILE (only there)
 *   $VAULT_DB_URL
 *   $SUPABASE_DB_URL
 *   VAULT_DB_URL or SUPABASE_DB_URL in ./.env when it exists
 * (a warning when the .env file is readable by group or others)
 * The database is captured when --db or --env-file is given, or when no
 * PATH is: `vault snapshot` alone takes the project's database.
 *
 * Functions that print return 0 or a CLI exit code (message printed).
 */
#ifndef VAULT_SNAP_DB_H
#define VAULT_SNAP_DB_H

#include <stdint.h>
#include "cli.h"

struct pg_snap;
struct snap_db;
struct repo_writer;

/*
 * The database URL when --db is not given, in the order above (env_file:
 * --env-file, or NULL; when it sets neither key, an error unless must is
 * 0), for `vault snapshot`, `vault restore` and `vault rollback` alike.
 * The URL is appended to url (wipe it); from (may be NULL) gets where it
 * came from ("$VAULT_DB_URL", a file).  1 found, 0 not, or an exit code
 * < 0 as -CLI_EXIT_* (message printed).
 */
int snap_db_url(struct cli *c, const char *env_file, int must,
		struct buf *url, struct buf *from);

/* With --table patterns: the DDL of these relations too (exact pg_dump
 * -t patterns, NULL-terminated, kept by the caller until snap_db_open):
 * the views a restore drops, for its safety snapshot. */
void snap_db_ddl_only(struct snap_db *d, const char *const *rels);

/* 1 when --db named the database on the command line. */
int snap_db_named(const struct snap_db *d);
/* The command line named another source (paths, Storage): an implicit
 * ./.env must not add the database.  Call before snap_db_resolve. */
void snap_db_no_implicit_env(struct snap_db *d);

/* Long options, to be listed in cmd-snapshot's option table. */
enum {
	SNAP_DB_OPT_DB = CLI_OPT_FIRST_VERB + 0x40,
	SNAP_DB_OPT_ENV_FILE,
	SNAP_DB_OPT_JOBS,
	SNAP_DB_OPT_PG_DUMP,
	SNAP_DB_OPT_ROLE_PASSWORDS,
	SNAP_DB_OPT_RETRIES,
	SNAP_DB_OPT_SCHEMA,
	SNAP_DB_OPT_EXCLUDE_SCHEMA,
	SNAP_DB_OPT_TABLE,
	SNAP_DB_OPT_EXCLUDE_TABLE,
};
#define SNAP_DB_OPTIONS \
	{ "db", required_argument, NULL, SNAP_DB_OPT_DB }, \
	{ "env-file", required_argument, NULL, SNAP_DB_OPT_ENV_FILE }, \
	{ "jobs", required_argument, NULL, SNAP_DB_OPT_JOBS }, \
	{ "pg-dump", required_argument, NULL, SNAP_DB_OPT_PG_DUMP }, \
	{ "role-passwords", no_argument, NULL, SNAP_DB_OPT_ROLE_PASSWORDS }, \
	{ "retries", required_argument, NULL, SNAP_DB_OPT_RETRIES }, \
	{ "schema", required_argument, NULL, SNAP_DB_OPT_SCHEMA }, \
	{ "exclude-schema", required_argument, NULL, SNAP_DB_OPT_EXCLUDE_SCHEMA }, \
	{ "table", required_argument, NULL, SNAP_DB_OPT_TABLE }, \
	{ "exclude-table", required_argument, NULL, SNAP_DB_OPT_EXCLUDE_TABLE }

/* The usage lines for those options (spliced into cmd_snapshot_usage). */
#define SNAP_DB_USAGE \
	"Database (PostgreSQL / Supabase) capture, stored under db/:\n" \
	"      --db URL            libpq connection string or postgres:// URL\n" \
	"                          (else $VAULT_DB_URL, $SUPABASE_DB_URL, or\n" \
	"                          VAULT_DB_URL / SUPABASE_DB_URL in ./.env)\n" \
	"      --env-file FILE     read the URL from FILE (not the environment\n" \
	"                          or ./.env)\n" \
	"      --jobs N            parallel COPY connections (default: one per\n" \
	"                          CPU for a local server, two for a remote\n" \
	"                          one, within the tables, max_parallel_workers\n" \
	"                          and half the free connections; up to 8)\n" \
	"      --pg-dump PATH      the pg_dump to use for the schema\n" \
	"      --role-passwords    include role password hashes in roles.sql\n" \
	"      --retries N         retry a failing connection N times (default 3)\n" \
	"      --schema GLOB       capture only matching schemas (repeatable)\n" \
	"      --exclude-schema GLOB\n" \
	"      --table GLOB        capture only matching tables ([schema.]table)\n" \
	"      --exclude-table GLOB\n" \
	"Prefer PGPASSWORD, ~/.pgpass, .env or $VAULT_DB_URL for the password:\n" \
	"a --db URL is masked in the process list only once vault has started.\n"

/* The top-level name the database goes under. */
#define SNAP_DB_ROOT "db"

struct snap_db;

/* NULL only when out of memory. */
struct snap_db *snap_db_new(void);
/* Wipes the connection string; NULL-safe. */
void snap_db_free(struct snap_db *d);

/*
 * One option from cmd-snapshot's getopt loop: 1 when it was a database
 * option (handled), 0 when not, or CLI_EXIT_USAGE (message printed).
 * arg is optarg, which may be overwritten (a --db password is masked).
 */
int snap_db_option(struct snap_db *d, struct cli *c, int opt, char *arg);

/* After the options: decides whether the database is captured (npaths
 * PATH operands, use_stdin for '-') and finds the URL.  0 or an exit
 * code. */
int snap_db_resolve(struct snap_db *d, struct cli *c, size_t npaths,
		    int use_stdin);
int snap_db_wanted(const struct snap_db *d);
/* Other parts of the project (Storage, functions) are captured: with no
 * --db, a missing database URL is not an error but no database.  Call
 * before snap_db_resolve. */
void snap_db_set_optional(struct snap_db *d);
/* The --env-file given, or NULL. */
const char *snap_db_env_file(const struct snap_db *d);

/* Connects, takes the snapshot, reads the catalog and runs pg_dump;
 * nothing is written yet.  progress: 0 keeps this capture out of the
 * verb's progress display (cli-progress.h; shown or not by -q and the
 * terminal), else its "db" phase.  0 or an exit code. */
int snap_db_open(struct snap_db *d, struct cli *c, int progress);
/* "postgres://user:***@host:port/db" (after snap_db_open). */
const char *snap_db_source(const struct snap_db *d);
/* The capture (after snap_db_open; NULL before, or without a database),
 * for reading more under its snapshot (pg-snap-objects.h). */
struct pg_snap *snap_db_capture(const struct snap_db *d);

/* Reads every table and emits db/ through w (entries dated mtime_ns).
 * 0 or an exit code; on failure nothing may be committed. */
int snap_db_emit(struct snap_db *d, struct cli *c, struct repo_writer *w,
		 int64_t mtime_ns);

/* The snapshot record's meta_json: a short summary (the full document
 * is db/meta.json in the tree). */
int snap_db_meta(const struct snap_db *d, struct buf *out);
/* The summary lines after the snapshot's own; the "database" member of
 * --json output. */
void snap_db_print(const struct snap_db *d);
void snap_db_json(const struct snap_db *d, struct cli_json *j);

#endif

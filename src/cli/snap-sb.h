/*
 * snap-sb: the Supabase Storage and Edge Functions part of `vault
 * snapshot` (the front end of src/supabase/snap-storage.h and
 * snap-functions.h): their options, the project's settings (sb-env),
 * the download progress line, the warnings for objects left out, every
 * message, the snapshot record's "functions" and "storage" members and
 * the summary.  Split out of cmd-snapshot.c, which only decides where
 * functions/ and storage/ go among the PATHs.
 *
 * Functions that print return 0 or a CLI exit code (message printed).
 */
#ifndef VAULT_SNAP_SB_H
#define VAULT_SNAP_SB_H

#include <stdint.h>
#include "cli.h"

struct repo;
struct repo_writer;
struct snap_db;

/* Long options, to be listed in cmd-snapshot's option table. */
enum {
	SNAP_SB_OPT_STORAGE_URL = CLI_OPT_FIRST_VERB + 0x60,
	SNAP_SB_OPT_ALLOW_PARTIAL,
	SNAP_SB_OPT_NO_STORAGE,
	SNAP_SB_OPT_NO_FUNCTIONS,
};
#define SNAP_SB_OPTIONS \
	{ "storage-url", required_argument, NULL, SNAP_SB_OPT_STORAGE_URL }, \
	{ "allow-partial", no_argument, NULL, SNAP_SB_OPT_ALLOW_PARTIAL }, \
	{ "no-storage", no_argument, NULL, SNAP_SB_OPT_NO_STORAGE }, \
	{ "no-functions", no_argument, NULL, SNAP_SB_OPT_NO_FUNCTIONS }

/* The usage lines for those options (spliced into cmd_snapshot_usage). */
#define SNAP_SB_USAGE \
	"Supabase Storage and Edge Functions, stored under storage/ and\n" \
	"functions/ (settings from the environment, ./.env or --env-file):\n" \
	"      --storage-url URL   the Storage API (default $SUPABASE_URL/storage/v1)\n" \
	"      --jobs N            also: concurrent Storage requests (default 8)\n" \
	"      --allow-partial     commit even if some objects keep failing or\n" \
	"                          cannot be served (InvalidKey); they\n" \
	"                          are listed, the snapshot is tagged 'partial'\n" \
	"                          and vault exits with status 3\n" \
	"      --no-storage, --no-functions\n" \
	"                          leave those parts out\n"

struct snap_sb;

/* NULL only when out of memory. */
struct snap_sb *snap_sb_new(void);
/* NULL-safe. */
void snap_sb_free(struct snap_sb *p);

/*
 * One option from cmd-snapshot's getopt loop: 1 when it was one of
 * SNAP_SB_OPTIONS (handled), else 0.  --jobs (SNAP_DB_OPT_JOBS) also
 * sets the concurrent downloads, but returns 0: it is the database's
 * option too.  arg (optarg) must outlive p.
 */
int snap_sb_option(struct snap_sb *p, int opt, const char *arg);

/*
 * After the options, before snap_db_resolve: loads the project's
 * settings (unless use_stdin) and decides which parts are captured:
 * with no PATH (npaths 0), --env-file or --storage-url, those the
 * settings allow; then the database becomes optional
 * (snap_db_set_optional).  CLI_EXIT_OK or an exit code.
 */
int snap_sb_resolve(struct snap_sb *p, struct cli *c, struct snap_db *db,
		    size_t npaths, int use_stdin);
int snap_sb_want_storage(const struct snap_sb *p);
int snap_sb_want_functions(const struct snap_sb *p);

/* Lists the functions (fetching their sources), then the buckets and
 * objects, with r for the previous snapshot.  0 or an exit code. */
int snap_sb_open(struct snap_sb *p, struct cli *c, struct repo *r);
/* The Storage URL for the snapshot's source (NULL without Storage). */
const char *snap_sb_source(const struct snap_sb *p);

/* Emit functions/ and storage/ through w (entries dated mtime_ns).  0
 * or an exit code; on failure nothing may be committed. */
int snap_sb_emit_functions(struct snap_sb *p, struct cli *c,
			   struct repo_writer *w, int64_t mtime_ns);
int snap_sb_emit_storage(struct snap_sb *p, struct cli *c,
			 struct repo_writer *w, int64_t mtime_ns);

/*
 * The snapshot record's meta_json: meta is empty or holds one JSON
 * object (the database's); the "functions" and "storage" members of the
 * parts captured are added to it (or to a new object).  0, or < 0 when
 * out of memory (or a bucket id is no UTF-8).
 */
int snap_sb_meta(const struct snap_sb *p, struct buf *meta);
/* Objects left out (--allow-partial): the snapshot is partial (tagged
 * "partial", exit status 3) when there are any. */
size_t snap_sb_missing(const struct snap_sb *p);
/* The summary lines (functions, then storage); the "storage" and
 * "functions" members of --json output. */
void snap_sb_print(const struct snap_sb *p);
void snap_sb_json(const struct snap_sb *p, struct cli_json *j);

#endif

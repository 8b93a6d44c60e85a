/*
 * restore-repo: what `vault restore` and `vault rollback` share between
 * the repository and the restore engine (rs-*):
 *   - an rs_input over a snapshot of the repository, so the engine reads
 *     db/... files through the verified reader;
 *   - where the target database's URL comes from (snap_db_url, as for
 *     `vault snapshot --db`);
 *   - the confirmation a destructive restore needs;
 *   - the safety snapshot of the objects a restore is about to change.
 * Functions taking a struct cli print their errors and return 0 or a
 * CLI exit code.
 */
#ifndef VAULT_RESTORE_REPO_H
#define VAULT_RESTORE_REPO_H

#include <stdint.h>
#include "buf.h"
#include "cli.h"
#include "rs-input.h"
#include "rs-log.h"
#include "rs-plan.h"
#include "rs-select.h"

struct repo;

/* Files of snapshot id of r, every chunk verified.  stream pushes a
 * file through with bounded memory (table rows); open reads the whole
 * file and serves it from memory (meant for the small ones).  r must
 * outlive in. */
int restore_input_init(struct rs_input *in, struct repo *r, const char *id);
void restore_input_release(struct rs_input *in);

/*
 * The snapshot a restore means: spec as repo_snapshot_resolve reads it
 * ("latest" skips safety snapshots), or with spec NULL, the newest one
 * at or before at (at_text in messages) that is not a safety snapshot
 * (repo_snapshot_at).  0 or an exit code (printed).
 */
int restore_pick(struct cli *c, struct repo *r, const char *spec,
		 const char *at_text, int64_t at, char id[65]);

/*
 * The target URL, first match wins: db (--db; masked in argv here),
 * VAULT_DB_URL / SUPABASE_DB_URL in env_file (only there when given),
 * $VAULT_DB_URL, $SUPABASE_DB_URL, VAULT_DB_URL / SUPABASE_DB_URL in
 * ./.env.  The URL is appended to url (wipe it).  0 or an exit code.
 */
int restore_db_url(struct cli *c, char *db, const char *env_file,
		   struct buf *url);

/*
 * A destructive restore (what: "clean restore", "rollback") into
 * database dbname goes ahead when yes is set, or when standard input is
 * a terminal and the user types the database name.  Otherwise it is
 * refused: CLI_EXIT_USAGE with a message saying to pass --yes.
 */
int restore_confirm(struct cli *c, int yes, const char *what,
		    const char *dbname);

/*
 * Captures the tables of plan that exist on the target (with the DDL
 * pg_dump gives for them) into r as a snapshot tagged "safety" (and
 * "restore:<restore_id>").  id gets its id; "" when there was nothing
 * to save.  0 or an exit code.
 */
int restore_safety_snapshot(struct cli *c, struct repo *r, const char *url,
			    const struct rs_plan *plan, const char *restore_id,
			    char id[65]);

/* Appends pattern s with fnmatch metacharacters escaped to out. */
int restore_glob_escape(struct buf *out, const char *s);

/* ---- one restore, from an open repository (cmd-restore.c) ---------------- */
struct restore_req {
	struct repo *r;			/* opened for writing unless dry_run, or
					 * read-only (no safety snapshot, the
					 * log not kept: see cmd_restore) */
	const char *snap_id;		/* resolved */
	const char *snap_how;		/* how it was picked, for the plan
					 * (NULL: given by id) */
	const char *url;		/* the target */
	struct rs_select_opts sel;
	enum rs_plan_mode mode;
	enum rs_plan_on_conflict on_conflict;
	enum rs_verify verify;		/* --verify */
	int dry_run, yes, jobs, json;
	int safety;			/* take a safety snapshot first */
	const char *what;		/* "restore", "rollback" */
	const char *rollback_of;	/* rollback: the restore undone */
	int every_table;		/* select each table of the snapshot by
				 * name (rollback: only its tables) */
	const char *const *drop_tables;	/* rollback: the tables the restore
					 * created (schema, name pairs,
					 * NULL-terminated), dropped */
	const uint32_t *unlink_los;	/* rollback: the large objects the
					 * restore created, unlinked */
	size_t nunlink_los;
};
/* Plans, confirms, takes the safety snapshot, runs, logs.  0 or an
 * exit code (everything printed). */
int restore_run(struct cli *c, const struct restore_req *q);

/*
 * Keeps log l as restore id in r (out gets the document, for --json).
 * Returns 0, -ENOMEM, or the repository's error, which it has printed
 * (the log of a failed restore is kept too: it says why).  r opened
 * read-only (a restore from a repository this process cannot write)
 * only makes the document: 0, nothing kept.
 */
int restore_log_keep(struct cli *c, struct repo *r, const struct rs_log *l,
		     const char *id, struct buf *out);

#endif

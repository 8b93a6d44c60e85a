/*
 * restore-sb-run: the front end of one Storage part and one Edge
 * Functions part of `vault restore --only storage,functions` or `vault
 * rollback --only storage,functions`: it drives the engine
 * (src/supabase: storage-plan, storage-safety, storage-exec,
 * restore-functions), prints the plan, the safety snapshot and the
 * results, asks for --yes, and turns failures into messages and exit
 * codes.  The log members come back in the run for the verb to keep.
 */
#ifndef VAULT_RESTORE_SB_RUN_H
#define VAULT_RESTORE_SB_RUN_H

#include "buf.h"
#include "cli.h"
#include "restore-functions.h"
#include "storage-plan.h"

struct repo;
struct sb_env;

struct restore_sb_run {
	struct cli *c;
	struct repo *r;			/* open for writing unless dry_run */
	const struct sb_env *env;
	const char *rid;		/* this restore's id */
	const char *rollback_of;	/* a rollback: the restore undone */
	int dry_run, yes;
	/* out */
	struct buf storage, functions;	/* the restore log's members */
	char safety_id[65];		/* the Storage safety snapshot, or "" */
	int changed;			/* Storage was touched */
};

void restore_sb_run_init(struct restore_sb_run *run);
void restore_sb_run_release(struct restore_sb_run *run);

/* The Storage part with plan options o: 0 or an exit code (printed). */
int restore_sb_run_storage(struct restore_sb_run *run,
			   const struct storage_plan_opts *o);

/* The functions of snapshot snap_id (NULL: none) with options o: 0 or
 * an exit code (printed). */
int restore_sb_run_functions(struct restore_sb_run *run, const char *snap_id,
			     const struct restore_functions_opts *o);

#endif

/*
 * restore-functions: the Edge Functions part of `vault restore --only
 * functions`: every selected functions/<slug>/ of a snapshot is deployed
 * again (POST /v1/projects/{ref}/functions/deploy?slug=...) with its
 * settings from .function.json and its source files.
 */
#ifndef VAULT_RESTORE_FUNCTIONS_H
#define VAULT_RESTORE_FUNCTIONS_H

#include <stddef.h>
#include "buf.h"
#include "cli.h"

struct repo;
struct sb_env;

struct restore_functions_opts {
	const char *const *slugs;	/* only these when nslugs > 0 */
	size_t nslugs;
	int dry_run;
	int safety;		/* capture what a deploy overwrites first */
	const char *rid;	/* the restore id (the safety snapshot's tag) */
	const char *source;	/* the safety snapshot's source, or NULL */
	/* a rollback: deploy snap_id (NULL = nothing) again, no capture,
	 * then delete drop[0..ndrop) (the functions the restore created) */
	int rollback;
	const char *const *drop;
	size_t ndrop;
};

/*
 * Deploys the functions of snapshot snap_id (see the opts; an unknown
 * slug is a usage error).  With dry_run, prints what would be done.
 * Appends `"functions": {...}` (the member for the restore log: its
 * "safety_snapshot", the "created" slugs, "deployed", and for a
 * rollback "deleted") to logj.  Prints its errors; 0 or a CLI exit code.
 */
int restore_functions_run(struct cli *c, struct repo *r, const char *snap_id,
			  const struct sb_env *env,
			  const struct restore_functions_opts *o, struct buf *logj);

#endif

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

/*
 * Deploys the functions of snapshot snap_id (only slugs[0..nslugs) when
 * nslugs > 0; an unknown slug is a usage error).  With dry_run, prints
 * what would be deployed.  Appends `"functions": {...}` (the members
 * for the restore log, no surrounding braces) to logj.  Prints its
 * errors; 0 or a CLI exit code.
 */
int restore_functions_run(struct cli *c, struct repo *r, const char *snap_id,
			  const struct sb_env *env, const char *const *slugs,
			  size_t nslugs, int dry_run, struct buf *logj);

#endif

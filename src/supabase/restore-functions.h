/*
 * restore-functions: the Edge Functions part of `vault restore --only
 * functions` (and of `vault rollback`): every selected functions/<slug>/
 * of a snapshot is deployed again (POST /v1/projects/{ref}/functions/
 * deploy?slug=...) with its settings from .function.json and its source
 * files.
 *
 * A run is: restore_functions_read (what the snapshot holds), then, for
 * a real run, restore_functions_prepare (which deploys overwrite and
 * which create a function; the safety snapshot of those overwritten)
 * and restore_functions_deploy.  Nothing here prints: functions return
 * 0 or a negative errno with err set, and the result says which step
 * failed.
 */
#ifndef VAULT_RESTORE_FUNCTIONS_H
#define VAULT_RESTORE_FUNCTIONS_H

#include <stddef.h>
#include "buf.h"

struct repo;
struct sb_env;

/* Every pointer is borrowed and must outlive the run. */
struct restore_functions_opts {
	const char *const *slugs;	/* only these when nslugs > 0 */
	size_t nslugs;
	int safety;		/* capture what a deploy overwrites first */
	const char *rid;	/* the restore id (the safety snapshot's tag) */
	const char *source;	/* the safety snapshot's source, or NULL */
	/* a rollback: deploy the snapshot again, no capture, then delete
	 * drop[0..ndrop) (the functions the restore created) */
	int rollback;
	const char *const *drop;
	size_t ndrop;
};

/* The steps that can fail. */
enum restore_functions_step {
	RESTORE_FUNCTIONS_CONNECT,	/* the API client, the listing */
	RESTORE_FUNCTIONS_MEMORY,	/* out of memory */
	RESTORE_FUNCTIONS_SAFETY,	/* the safety snapshot (nothing deployed) */
	RESTORE_FUNCTIONS_META,		/* a .function.json is unreadable */
	RESTORE_FUNCTIONS_DEPLOY,
	RESTORE_FUNCTIONS_DELETE,
};

struct restore_functions_result {
	enum restore_functions_step step;	/* when a call failed */
	const char *slug;		/* the function it failed on (META,
					 * DEPLOY, DELETE) */
	char safety_id[65];		/* "" when none was taken */
	size_t overwritten, created;	/* by the deploys (not a rollback) */
	size_t deployed, deleted;
};

struct restore_functions;

/*
 * Reads the selected functions of snapshot snap_id of r (NULL: none, a
 * rollback with nothing to deploy again) into *out, which keeps r, o
 * and its pointers.  0 or the repository's error (*out is set either
 * way: free it).
 */
int restore_functions_read(struct restore_functions **out, struct repo *r,
			   const char *snap_id,
			   const struct restore_functions_opts *o,
			   struct buf *err);
/* NULL-safe. */
void restore_functions_free(struct restore_functions *f);

/* The first slug of opts.slugs the snapshot does not hold, or NULL. */
const char *restore_functions_missing(const struct restore_functions *f);

/* The functions to deploy, in manifest order: their slugs and numbers
 * of source files. */
size_t restore_functions_count(const struct restore_functions *f);
const char *restore_functions_slug(const struct restore_functions *f,
				   size_t i);
size_t restore_functions_nfiles(const struct restore_functions *f, size_t i);

/*
 * Connects to the Management API of env's project, finds which deploys
 * overwrite a function (not for a rollback) and, with opts.safety,
 * captures those functions into a safety snapshot (res->safety_id).
 * 0, or a negative errno with err set and res->step.
 */
int restore_functions_prepare(struct restore_functions *f,
			      const struct sb_env *env,
			      struct restore_functions_result *res,
			      struct buf *err);

/*
 * Deploys every function, then deletes opts.drop (one already gone is
 * no error, and not counted).  Appends `"functions": {...}` (the member
 * for the restore log: its "safety_snapshot", the "created" slugs,
 * "deployed", and for a rollback "deleted"; an "error" when it stopped)
 * to logj.
 * 0, or a negative errno with err set and res->step, res->slug.
 */
int restore_functions_deploy(struct restore_functions *f,
			     struct restore_functions_result *res,
			     struct buf *logj, struct buf *err);

#endif

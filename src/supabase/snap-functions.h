/*
 * snap-functions: the Edge Functions part of `vault snapshot`, through
 * the Management API (sb-functions, paced to its 60 requests a minute):
 *   functions/                         directory
 *   functions/<slug>/                  directory
 *   functions/<slug>/<files...>        the deployed source files
 *   functions/<slug>/.function.json    {slug, name, version, verify_jwt,
 *                                       entrypoint_path, import_map_path}
 * Every function is fetched before anything is written (sources are
 * small), so the entries go out sorted.  The access token never reaches
 * output or metadata.
 *
 * Library code: nothing here prints.  Functions return 0 or a negative
 * errno with the reason in err; the front end (src/cli/snap-sb.c)
 * prints it and the summary.
 */
#ifndef VAULT_SNAP_FUNCTIONS_H
#define VAULT_SNAP_FUNCTIONS_H

#include <stdint.h>
#include <stddef.h>
#include "buf.h"

struct repo_writer;
struct sb_env;

#define SNAP_FUNCTIONS_ROOT "functions"

struct snap_functions_stats {
	size_t functions, files;
	uint64_t bytes;			/* of all the files */
};

struct snap_functions;

/* NULL only when out of memory; env must outlive f. */
struct snap_functions *snap_functions_new(const struct sb_env *env);
void snap_functions_free(struct snap_functions *f);
/* Lists the functions and fetches every body.  0 or a negative errno;
 * err always says why. */
int snap_functions_open(struct snap_functions *f, struct buf *err);
/* Emits functions/ through w (entries dated mtime_ns).  0 or a negative
 * errno with the writer's message in err; on failure nothing may be
 * committed. */
int snap_functions_emit(struct snap_functions *f, struct repo_writer *w,
			int64_t mtime_ns, struct buf *err);
/* The counters (valid while f lives). */
const struct snap_functions_stats *
snap_functions_get_stats(const struct snap_functions *f);

#endif

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
 * output or metadata.  Functions that print return 0 or an exit code.
 */
#ifndef VAULT_SNAP_FUNCTIONS_H
#define VAULT_SNAP_FUNCTIONS_H

#include <stdint.h>
#include "buf.h"
#include "cli.h"

struct repo_writer;
struct sb_env;

#define SNAP_FUNCTIONS_ROOT "functions"

struct snap_functions;

/* NULL only when out of memory; env must outlive f. */
struct snap_functions *snap_functions_new(const struct sb_env *env);
void snap_functions_free(struct snap_functions *f);
/* Lists the functions and fetches every body. */
int snap_functions_open(struct snap_functions *f, struct cli *c);
int snap_functions_emit(struct snap_functions *f, struct cli *c,
			struct repo_writer *w, int64_t mtime_ns);
/* `"functions": {...}` for meta_json; summary line; --json member. */
int snap_functions_meta(const struct snap_functions *f, struct buf *out);
void snap_functions_print(const struct snap_functions *f);
void snap_functions_json(const struct snap_functions *f, struct cli_json *j);

#endif

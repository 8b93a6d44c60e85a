/*
 * sb-functions: Edge Functions through the Supabase Management API.
 *
 *   list    GET  /v1/projects/{ref}/functions
 *   body    GET  /v1/projects/{ref}/functions/{slug}/body
 *                (Accept: multipart/form-data: a "metadata" part plus one
 *                part per source file)
 *   deploy  POST /v1/projects/{ref}/functions/deploy?slug=S
 *                (multipart: a "metadata" part and "file" parts)
 *   delete  DELETE /v1/projects/{ref}/functions/{slug}
 *
 * The API allows 60 requests a minute per token: calls are paced so no
 * window of that length holds more (sliding window), and a 429 is waited
 * out as its Retry-After says (sb-http's retries).
 *
 * File names come back as deployed paths
 * ("/tmp/user_fn_<ref>_<id>_<version>/source/<file>", entrypoints as
 * file:// URLs); they are made relative to the function ("index.ts",
 * "lib/util.ts").  A name that is still absolute, has empty, "." or ".."
 * segments, or control characters is refused (-EBADMSG) rather than
 * passed on.  The access token never appears in messages.
 */
#ifndef VAULT_SB_FUNCTIONS_H
#define VAULT_SB_FUNCTIONS_H

#include <stddef.h>
#include <stdint.h>
#include "buf.h"
#include "sb-http.h"

#define SB_FUNCTIONS_RATE 60
#define SB_FUNCTIONS_WINDOW_MS 60000u
#define SB_FUNCTIONS_MAX_BODY (64u << 20)
#define SB_FUNCTIONS_MAX_FILES 10000

struct sb_functions;

/* h stays the caller's.  api_url is e.g. https://api.supabase.com. */
int sb_functions_new(struct sb_functions **f, struct sb_http *h,
		     const char *api_url, const char *access_token,
		     const char *project_ref, struct buf *err);
void sb_functions_free(struct sb_functions *f);
/* At most `requests` calls in any window_ms (defaults 60 per minute). */
void sb_functions_set_rate(struct sb_functions *f, unsigned requests,
			   unsigned window_ms);
/* Requests made and milliseconds spent waiting for the pace. */
void sb_functions_counters(const struct sb_functions *f, uint64_t *requests,
			   uint64_t *paced_ms);

struct sb_functions_item {
	char *id, *slug, *name, *status;
	int64_t version;
	int verify_jwt;
	char *entrypoint_path;		/* relative, or NULL */
	char *import_map_path;		/* relative, or NULL */
	int64_t created_at, updated_at;	/* ms since the epoch, -1 if absent */
	char *json;			/* the function as the server sent it */
};
void sb_functions_item_release(struct sb_functions_item *fn);
/* The snapshot's functions/<slug>/.function.json for it (one line:
 * slug, name, version, verify_jwt, entrypoint_path, import_map_path;
 * formats/storage-layout.md), appended to out. */
int sb_functions_item_json(const struct sb_functions_item *it, struct buf *out);
void sb_functions_items_free(struct sb_functions_item *fns, size_t n);

int sb_functions_list(struct sb_functions *f, struct sb_functions_item **out,
		      size_t *n, struct buf *err);

/* Called for every source file of a body, in the order served; data is
 * valid during the call.  Non-zero stops and is returned. */
typedef int (*sb_functions_file_fn)(void *ctx, const char *name,
				   const void *data, size_t n);

/*
 * Fetches a function's source.  metadata (may be NULL) receives the
 * metadata part's JSON text.  -ENOENT for an unknown slug, -EBADMSG for
 * a body that is not a well-formed multipart answer.
 */
int sb_functions_body(struct sb_functions *f, const char *slug,
		      sb_functions_file_fn cb, void *ctx, struct buf *metadata,
		      struct buf *err);

struct sb_functions_file {
	const char *name;		/* relative path */
	const void *data;
	size_t len;
};

struct sb_functions_deploy_req {
	const char *slug;
	const char *name;		/* NULL = slug */
	int verify_jwt;
	const char *entrypoint_path;	/* relative; must be one of files */
	const char *import_map_path;	/* relative or NULL */
	const struct sb_functions_file *files;
	size_t nfiles;
};

/* Deploys (creates or updates) a function; out (may be NULL) receives
 * the function the API answered with. */
int sb_functions_deploy(struct sb_functions *f, const struct sb_functions_deploy_req *d,
			struct sb_functions_item *out, struct buf *err);

/* Deletes a function (a rollback removes what a restore created);
 * -ENOENT for an unknown slug. */
int sb_functions_delete(struct sb_functions *f, const char *slug, struct buf *err);

/*
 * Makes a served file name or path relative to its function (see above)
 * into out.  0, or -EBADMSG for a name that is unsafe after that.
 */
int sb_functions_relname(const char *path, struct buf *out);

#endif

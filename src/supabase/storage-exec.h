/*
 * storage-exec: the second half of a Storage restore: carrying out a
 * plan (storage-plan.h) on the server, then checking the result.
 *
 *   1. buckets are created or updated;
 *   2. the objects to upload are read from the snapshot again (a second
 *      pass over the manifest), each spooled through memory or an
 *      unlinked temporary file so memory stays bounded, and uploaded;
 *   3. the deletes, in bulk per bucket;
 *   4. the buckets are listed again and compared with the snapshot.
 *
 * Nothing here prints; the outcome is handed back in a result.
 */
#ifndef VAULT_STORAGE_EXEC_H
#define VAULT_STORAGE_EXEC_H

#include <stddef.h>
#include "buf.h"

struct storage_plan;

/* Mismatches kept in the verification's text. */
#define STORAGE_EXEC_BAD_MAX 20

struct storage_exec_result {
	const char *stage;		/* the step running or failed: "update
					 * the buckets", "upload", "delete",
					 * "verify" (static) */
	size_t uploaded, deleted;
	size_t nbad;			/* verification mismatches */
	struct buf bad;			/* the first STORAGE_EXEC_BAD_MAX, as
					 * "bucket/name: why; ..." */
};

void storage_exec_result_init(struct storage_exec_result *res);
void storage_exec_result_release(struct storage_exec_result *res);

/*
 * Carries out plan p (made by storage_plan_make) and verifies it.  0
 * when it ran to the end (a verification that failed is res->nbad > 0,
 * not an error), or a negative errno with err set and res->stage naming
 * the step that failed; the counts say how far it got.
 */
int storage_exec_run(struct storage_plan *p, struct storage_exec_result *res,
		     struct buf *err);

#endif

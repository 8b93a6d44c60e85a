/*
 * storage-safety: before a mirror restore deletes or overwrites objects
 * in a project's Storage, those objects are downloaded into a safety
 * snapshot (tags "safety" and "restore:<id>", the storage/ layout of a
 * capture, formats/storage-layout.md), so `vault rollback` can bring
 * them back.  Nothing here prints.
 */
#ifndef VAULT_STORAGE_SAFETY_H
#define VAULT_STORAGE_SAFETY_H

#include "buf.h"

struct storage_plan;

/*
 * When plan p (made by storage_plan_make) has the safety option, is a
 * mirror and overwrites or deletes objects, captures what the server
 * holds of those objects now into a snapshot of p's repository, tagged
 * for restore rid, and sets id to its id; otherwise (nothing to save)
 * id is "".  0, or a negative errno with err set (nothing was
 * committed).
 */
int storage_safety_take(struct storage_plan *p, const char *rid,
			char id[65], struct buf *err);

#endif

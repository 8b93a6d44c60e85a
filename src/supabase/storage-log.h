/*
 * storage-log: the restore log (store/restores.h) of a Storage and Edge
 * Functions restore or rollback, a document of kind "storage":
 *
 *   {"id", "kind": "storage", "what": "restore" | "rollback", "started",
 *    "snapshot", "target" (the Storage URL), "mode", "safety_snapshot",
 *    "rollback_of",
 *    "storage": {"added": [{"bucket", "name"}...], counts,
 *                "verification", "mismatches", "mismatch"}
 *             | {"error"},
 *    "functions": {...} (restore-functions.h),
 *    "status": "ok" | "failed", "duration_ms"}
 *
 * and reading one back for `vault rollback`: which restore to undo, the
 * objects it added, its safety snapshots and the functions it created.
 * Nothing here prints.
 */
#ifndef VAULT_STORAGE_LOG_H
#define VAULT_STORAGE_LOG_H

#include <stddef.h>
#include <stdint.h>
#include "buf.h"
#include "restores.h"
#include "sb-storage.h"
#include "storage-plan.h"

struct json;
struct repo;
struct storage_exec_result;

/* Appends the "storage" member of a run of plan p that got to the end
 * (res).  0 or -ENOMEM. */
int storage_log_storage(struct buf *logj, const struct storage_plan *p,
			const struct storage_exec_result *res);
/* Replaces logj by the "storage" member of a run that failed to do
 * stage with r (err's message, else strerror). */
void storage_log_error(struct buf *logj, const char *stage, int r,
		       const struct buf *err);

/* What one log says; the members are the "storage" and "functions"
 * texts (empty: left out). */
struct storage_log {
	const char *id, *what;		/* the restore id; "restore", "rollback" */
	int64_t started;		/* seconds since the epoch */
	const char *snapshot, *target;
	enum storage_plan_mode mode;
	const char *safety_snapshot;	/* NULL: none */
	const char *rollback_of;	/* NULL: not a rollback */
	const struct buf *storage, *functions;
	int ok;				/* the status */
};

/* Appends the document (the duration runs until now).  0 or -ENOMEM. */
int storage_log_doc(struct buf *doc, const struct storage_log *l);

/* ---- reading one back --------------------------------------------------- */

struct storage_log_undo {
	char id[REPO_RESTORE_ID_SIZE];	/* the restore to undo; "": none */
	struct json *doc;
	/* set by storage_log_undo_read; strings point into doc */
	const char *snapshot;		/* the snapshot it restored */
	const char *safety;		/* the storage part's safety snapshot */
	struct sb_storage_ref *added;	/* the objects it added */
	size_t nadded;
	int functions;			/* its functions part is undone */
	const char *fn_safety;		/* the functions' safety snapshot */
	size_t fn_created;		/* how many functions it created */
};

/*
 * Finds the restore a rollback into Storage URL target (NULL: none)
 * undoes: restore want (an id), else the newest that did not fail, of
 * kind "storage", with something to undo in the parts asked for (the
 * objects it added when storage, the functions it created when
 * functions).  0 with u->id "" when there is none; the repository's
 * error otherwise.  u is initialised here.
 */
int storage_log_find(struct repo *r, const char *target, const char *want,
		     int storage, int functions, struct storage_log_undo *u,
		     struct buf *err);

/*
 * Reads what the found log asks to undo: the storage part when storage,
 * the functions part when it has one and functions or fn_env (the
 * Management API settings are there).  0, -ENOMEM, or -EBADMSG when the
 * list of added objects is damaged.
 */
int storage_log_undo_read(struct storage_log_undo *u, int storage,
			  int functions, int fn_env);

/* The slugs of the functions the restore created, into a new NULL-
 * terminated array *out of u->fn_created strings pointing into the
 * log (free only the array).  0, -ENOMEM, or -EBADMSG when damaged. */
int storage_log_undo_created(const struct storage_log_undo *u,
			     const char ***out);

void storage_log_undo_release(struct storage_log_undo *u);

#endif

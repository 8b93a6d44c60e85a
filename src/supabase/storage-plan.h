/*
 * storage-plan: the first half of a Storage restore (`vault restore
 * --only storage`, and the Storage part of `vault rollback`): what the
 * snapshot's storage/ holds (formats/storage-layout.md) set against
 * what the project's buckets hold now, and what must change.
 *
 *   merge   uploads missing and changed objects, deletes nothing;
 *   mirror  also deletes the remote objects the snapshot does not hold
 *           (within the selected buckets and paths);
 *   empty   refuses when a selected bucket already holds objects.
 *
 * Objects whose eTag and size already match are skipped.  The plan is
 * carried out by storage-exec.h (after storage-safety.h has saved what
 * it deletes or overwrites); the restore log is storage-log.h's.
 *
 * Nothing here prints: functions return 0 or a negative errno with err
 * set, and the plan is handed out as data (storage_plan_counts,
 * storage_plan_each) for the front end to show.
 */
#ifndef VAULT_STORAGE_PLAN_H
#define VAULT_STORAGE_PLAN_H

#include <stddef.h>
#include "buf.h"
#include "sb-storage.h"

struct repo;
struct sb_env;

enum storage_plan_mode {
	STORAGE_PLAN_MERGE,
	STORAGE_PLAN_MIRROR,
	STORAGE_PLAN_EMPTY,
};

/* "merge", "mirror", "empty". */
const char *storage_plan_mode_name(enum storage_plan_mode m);

/* Every pointer is borrowed and must outlive the plan. */
/* How far the uploads of storage_exec_run are (storage_plan_opts). */
struct storage_plan_progress {
	const char *bucket, *name;	/* the object about to be uploaded;
					 * NULL once all are */
	size_t done, total;		/* objects uploaded, to upload */
	uint64_t bytes, bytes_total;	/* their sizes */
};

struct storage_plan_opts {
	const char *snap_id;		/* the snapshot to bring back */
	enum storage_plan_mode mode;
	const char *const *buckets;	/* only these buckets when nbuckets > 0 */
	size_t nbuckets;
	const char *const *paths;	/* only object names matching one of
					 * these fnmatch(3) patterns, when
					 * npaths > 0 */
	size_t npaths;
	/* a rollback: objects deleted besides the plan's own (the ones the
	 * undone restore added) */
	const struct sb_storage_ref *extra_del;
	size_t nextra;
	int safety;			/* storage-safety.h saves what a mirror
					 * deletes or overwrites */
	unsigned backoff_ms;		/* first HTTP retry backoff; 0 = the
					 * client's default */
	/* optional, on the calling thread: before each upload and after
	 * the last (cheap: the caller throttles what it shows) */
	void (*progress)(void *ctx, const struct storage_plan_progress *pr);
	void *progress_ctx;
};

struct storage_plan;

/* A plan over repository r (open for the whole run) and the project of
 * env (Storage URL and service key).  0 or -ENOMEM. */
int storage_plan_new(struct storage_plan **out, struct repo *r,
		     const struct sb_env *env,
		     const struct storage_plan_opts *o);
/* NULL-safe. */
void storage_plan_free(struct storage_plan *p);

/* Step 1: reads the snapshot's storage/ entries (no object data): the
 * selected buckets' .bucket.json and every selected object's attributes.
 * -EBADMSG for an unreadable .bucket.json, or the repository's error. */
int storage_plan_read(struct storage_plan *p, struct buf *err);

/* After storage_plan_read: the first --bucket the snapshot does not
 * hold, or NULL when it holds them all. */
const char *storage_plan_missing_bucket(const struct storage_plan *p);

/* Step 2: connects to Storage, looks at every bucket and lists the
 * existing ones, and decides.  -EEXIST (err says why; nothing was
 * changed) when mode empty finds objects, else the server's error. */
int storage_plan_make(struct storage_plan *p, struct buf *err);

struct storage_plan_counts {
	size_t create, update;		/* buckets */
	size_t upload_new, upload_changed, unchanged;
	size_t del;			/* mirror: remote objects not in the
					 * snapshot */
	size_t extra;			/* opts.extra_del */
	size_t objects;			/* selected in the snapshot */
};

/* The plan's sizes (after storage_plan_make). */
void storage_plan_counts(const struct storage_plan *p,
			 struct storage_plan_counts *out);

enum storage_plan_what {
	STORAGE_PLAN_CREATE_BUCKET,
	STORAGE_PLAN_UPDATE_BUCKET,
	STORAGE_PLAN_UPLOAD,
	STORAGE_PLAN_DELETE,
};

struct storage_plan_item {
	enum storage_plan_what what;
	const char *bucket;		/* the bucket's id */
	const char *name;		/* the object (NULL for a bucket) */
	int is_new;			/* an upload the server has no object for */
};

/* Calls fn for every change of the plan, in order: buckets, uploads (in
 * manifest order), the mirror's deletes, then opts.extra_del.  A
 * non-zero return of fn stops and is returned. */
typedef int (*storage_plan_fn)(void *ctx, const struct storage_plan_item *it);
int storage_plan_each(const struct storage_plan *p, storage_plan_fn fn,
		      void *ctx);

/* Sets out to "bucket/name" quoted for a message (sb_http_quote_name);
 * empty when out of memory. */
void storage_plan_quote(struct buf *out, const char *bucket,
			const char *name);

#endif

/*
 * snap-storage: the Supabase Storage part of `vault snapshot`: every
 * bucket's configuration and every object (bytes + metadata) under
 * storage/, its user metadata asked and its bytes downloaded
 * concurrently, then written in manifest order; objects whose eTag and
 * size are those of the previous snapshot of the same project are not
 * downloaded again but reuse that snapshot's chunks.  When the project's
 * database is captured in the same snapshot, its storage.objects rows
 * (as of the database's instant) are compared with what was captured:
 * the objects that changed, vanished or appeared in between are listed
 * in storage/.vault-drift.json.
 *
 * Layout (formats/storage-layout.md):
 *   storage/                           directory
 *   storage/<bucket>/                  directory
 *   storage/<bucket>/.bucket.json      {id, name, public, file_size_limit,
 *                                       allowed_mime_types, type}
 *   storage/<bucket>/<folders>/        directories (none left empty)
 *   storage/<bucket>/<object path>     the object, attributes storage.*
 *   storage/.vault-drift.json          with a database only
 *
 * Object names are hostile: the manifest path is a safe encoding of the
 * name (snap_storage_encode), the exact name is the storage.name
 * attribute.  The service key never reaches output, metadata or logs.
 *
 * Library code: nothing here prints.  Functions return 0 or a negative
 * errno and say why in err; progress and the objects left out reach
 * the front end (src/cli/snap-sb.c) through the callbacks of
 * snap_storage_opts and through snap_storage_get_stats.
 */
#ifndef VAULT_SNAP_STORAGE_H
#define VAULT_SNAP_STORAGE_H

#include <stdint.h>
#include <stddef.h>
#include "buf.h"

struct repo;
struct repo_writer;
struct sb_env;

#define SNAP_STORAGE_ROOT "storage"
#define SNAP_STORAGE_DEFAULT_JOBS 8

/* Attribute keys of an object's entry. */
#define SNAP_STORAGE_ATTR_NAME		"storage.name"
#define SNAP_STORAGE_ATTR_BUCKET	"storage.bucket"
#define SNAP_STORAGE_ATTR_SIZE		"storage.size"
#define SNAP_STORAGE_ATTR_TYPE		"storage.content_type"
#define SNAP_STORAGE_ATTR_CACHE		"storage.cache_control"
#define SNAP_STORAGE_ATTR_ETAG		"storage.etag"
#define SNAP_STORAGE_ATTR_MODIFIED	"storage.last_modified"
#define SNAP_STORAGE_ATTR_METADATA	"storage.metadata"
#define SNAP_STORAGE_ATTR_DRIFT		"storage.drift"

/* Counters, read by the front end for progress and the summary. */
struct snap_storage_stats {
	size_t buckets, objects;	/* listed by snap_storage_open */
	size_t to_inspect;		/* objects whose user metadata is asked */
	uint64_t inspected;		/* ... answered so far */
	size_t to_download;		/* objects emit downloads (changed) */
	uint64_t downloaded;		/* objects stored from a download */
	uint64_t reused, reused_bytes;	/* unchanged: the previous chunks */
	uint64_t bytes;			/* bytes downloaded */
	uint64_t list_requests;
	size_t missing;			/* left out (allow_partial) */
	size_t deleted;			/* gone between listing and download */
	/* against storage.objects at the database's instant (judged only
	 * after snap_storage_db_done(s, 1)) */
	int drift_judged;
	size_t drift_rows;		/* rows compared */
	size_t drift_changed;		/* captured bytes differ from the row */
	size_t drift_vanished;		/* a row, but no object captured */
	size_t drift_added;		/* captured, but no row */
};

struct snap_storage_opts {
	unsigned jobs;		/* concurrent transfers; 0 = default */
	int allow_partial;	/* commit without objects that kept failing */
	unsigned backoff_ms;	/* first retry backoff; 0 = sb-http's */
	/*
	 * Both may be NULL; ctx is theirs.  progress: the info requests or
	 * the downloads moved (force: a new phase began, draw now).  left_out (allow_partial
	 * only): an object is dropped from the snapshot; why is the reason
	 * (NULL when there is none to tell).  Called in the order objects
	 * are dropped, which is not always manifest order.
	 */
	void (*progress)(void *ctx, const struct snap_storage_stats *st,
			 int force);
	void (*left_out)(void *ctx, const char *bucket, const char *name,
			 size_t name_len, const char *why);
	void *ctx;
};

struct snap_storage;

/* NULL only when out of memory.  env stays the caller's and must
 * outlive s. */
struct snap_storage *snap_storage_new(const struct sb_env *env,
				      const struct snap_storage_opts *o);
void snap_storage_free(struct snap_storage *s);

/*
 * Lists the buckets and every object, and finds the previous snapshot
 * of the same project in r (for reuse).  Nothing is downloaded yet.
 * 0, or a negative errno with the reason in err (-ENOMEM may leave err
 * empty: out of memory).
 */
int snap_storage_open(struct snap_storage *s, struct repo *r,
		      struct buf *err);
/* "<storage url>" (holds no secret). */
const char *snap_storage_source(const struct snap_storage *s);

/*
 * The project's database is captured in the same snapshot: one call per
 * row of its storage.objects as of the database's instant (etag:
 * metadata's eTag, NULL when none; size: metadata's size, -1 when none;
 * modified: its lastModified or updated_at, may be NULL), then
 * snap_storage_db_done, all before snap_storage_emit, which then judges
 * the drift.  Without snap_storage_db_done(s, 1) nothing is judged.
 * snap_storage_db_object returns 0 or -ENOMEM.
 */
int snap_storage_db_object(struct snap_storage *s, const char *bucket,
			   const char *name, size_t name_len,
			   const char *etag, int64_t size,
			   const char *modified);
/* complete: every row was given, judge the drift; 0: the rows could not
 * all be read, forget them. */
void snap_storage_db_done(struct snap_storage *s, int complete);

/* Asks the user metadata and downloads what changed, then emits
 * storage/ through w.  0, or a negative errno with the reason in err
 * (-ENOMEM may leave it empty); on failure nothing may be committed. */
int snap_storage_emit(struct snap_storage *s, struct repo_writer *w,
		      int64_t mtime_ns, struct buf *err);
/*
 * After a failed snap_storage_emit: 1 when one object stopped it (it
 * kept failing, and allow_partial was off), with its bucket and exact
 * name (valid while s lives); 0 when the failure was something else.
 */
int snap_storage_failed_object(const struct snap_storage *s,
			       const char **bucket, const char **name,
			       size_t *name_len);

/* The counters (valid while s lives). */
const struct snap_storage_stats *
snap_storage_get_stats(const struct snap_storage *s);
/*
 * The objects left out, in manifest order: start with *pos = 0; 1 with
 * the next object (pointers valid while s lives), 0 after the last.
 */
int snap_storage_missing_next(const struct snap_storage *s, size_t *pos,
			      const char **bucket, const char **name,
			      size_t *name_len);

/*
 * The manifest path segment for one segment of an object name (top: a
 * top-level segment within its bucket).  Safe segments are kept as is;
 * '%', control characters, '\\', the dots of "." / "..", an empty segment
 * are percent-encoded as extract.h does; a top-level ".bucket.json" and a
 * segment ending in ".vault-meta.json" get their dot encoded (%2E), so no
 * object can pose as the bucket's configuration or a sidecar; an encoded
 * segment over 200 bytes is cut and ends "%~" + 16 hex digits of a hash
 * of the whole segment.
 */
int snap_storage_encode_segment(struct buf *out, const char *seg, size_t n,
				int top);
/* A whole name, segment by segment (appended). */
int snap_storage_encode_name(struct buf *out, const char *name, size_t n);
/* A bucket id as the segment below storage/ (appended): as a segment,
 * and a bucket named ".vault-drift.json" gets its dot encoded. */
int snap_storage_encode_bucket(struct buf *out, const char *bucket);

#endif

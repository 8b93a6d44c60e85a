/*
 * snap-storage: the Supabase Storage part of `vault snapshot`: every
 * bucket's configuration and every object (bytes + metadata) under
 * storage/, downloaded concurrently and handed to the writer in manifest
 * order; objects unchanged since the previous snapshot of the same
 * project are not downloaded again but reuse that snapshot's chunks.
 *
 * Layout (formats/storage-layout.md):
 *   storage/                           directory
 *   storage/<bucket>/                  directory
 *   storage/<bucket>/.bucket.json      {id, name, public, file_size_limit,
 *                                       allowed_mime_types, type}
 *   storage/<bucket>/<folders>/        directories
 *   storage/<bucket>/<object path>     the object, attributes storage.*
 *
 * Object names are hostile: the manifest path is a safe encoding of the
 * name (snap_storage_encode), the exact name is the storage.name
 * attribute.  The service key never reaches output, metadata or logs.
 *
 * Functions that print return 0 or a CLI exit code (message printed).
 */
#ifndef VAULT_SNAP_STORAGE_H
#define VAULT_SNAP_STORAGE_H

#include <stdint.h>
#include "buf.h"
#include "cli.h"

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

struct snap_storage_opts {
	unsigned jobs;		/* concurrent transfers; 0 = default */
	int allow_partial;	/* commit without objects that kept failing */
	int progress;		/* draw on stderr */
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
 */
int snap_storage_open(struct snap_storage *s, struct cli *c, struct repo *r);
/* "<storage url>" (holds no secret). */
const char *snap_storage_source(const struct snap_storage *s);

/* Downloads what changed and emits storage/ through w.  0 or an exit
 * code; on failure nothing may be committed. */
int snap_storage_emit(struct snap_storage *s, struct cli *c,
		      struct repo_writer *w, int64_t mtime_ns);

/* Objects left out (--allow-partial). */
size_t snap_storage_missing(const struct snap_storage *s);
/* Members for the snapshot record's meta_json: `"storage": {...}`. */
int snap_storage_meta(const struct snap_storage *s, struct buf *out);
void snap_storage_print(const struct snap_storage *s);
void snap_storage_json(const struct snap_storage *s, struct cli_json *j);

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

#endif

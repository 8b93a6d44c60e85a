/*
 * snap-storage-int: what the parts of snap-storage share, and nobody
 * else.  snap-storage.c builds the entry list (open), snap-storage-prev.c
 * finds what the previous snapshot already holds, snap-storage-emit.c
 * downloads the rest and writes storage/.
 *
 * The entries are every entry of storage/, sorted in manifest order
 * (manifest_path_cmp), with no two paths equal.
 */
#ifndef VAULT_SNAP_STORAGE_INT_H
#define VAULT_SNAP_STORAGE_INT_H

#include <stdint.h>
#include "buf.h"
#include "sb-http.h"
#include "snap-storage.h"

struct repo;

enum snap_storage_kind { SS_DIR, SS_BUCKET_JSON, SS_OBJECT };

/* One object of the previous snapshot, with its chunk list. */
struct snap_storage_prev {
	char *key;			/* bucket NUL name (keylen bytes) */
	size_t keylen;
	char *etag, *modified, *metadata;
	uint64_t size;
	struct repo_chunkref *chunks;
	size_t nchunks;
};

struct snap_storage_ent {
	int kind;
	char *path;			/* manifest path */
	size_t path_len;
	char *bucket;			/* object: bucket id and exact name */
	char *name;
	size_t name_len;
	uint64_t size;
	char *etag, *mimetype, *cache, *modified, *metadata;
	char *json;			/* bucket: .bucket.json text */
	const struct snap_storage_prev *prev;	/* reusable */
	int missing;			/* 1 left out, -1 deleted meanwhile */
};

struct snap_storage {
	const struct sb_env *env;
	struct snap_storage_opts o;
	struct sb_http *http;
	struct sb_storage *st;
	struct snap_storage_ent *ents;
	size_t nents;
	struct snap_storage_prev *prev;
	size_t nprev;
	char prev_id[65];
	struct snap_storage_stats stats;
	/* emit */
	struct repo_writer *w;
	int64_t mtime_ns;
	size_t next;			/* first entry not yet emitted */
	size_t *dl;			/* entry index of each download */
	struct repo_stream *stream;
	struct sb_http_resp head;	/* the current download's headers */
	struct buf err;			/* why a sink callback failed */
};

/* strdup, NULL for NULL. */
char *snap_storage_strdup(const char *v);

/* snap-storage-prev.c: reads the newest earlier snapshot of the same
 * project (s->env->storage_url) from r into s->prev, sorted; none is
 * not an error.  0 or a negative errno (err may say why). */
int snap_storage_prev_load(struct snap_storage *s, struct repo *r,
			   struct buf *err);
/* Points every object whose eTag, size and last-modified are those of
 * the previous snapshot at its entry there (ent->prev). */
void snap_storage_prev_match(struct snap_storage *s);
/* Frees s->prev. */
void snap_storage_prev_free(struct snap_storage *s);

#endif

/*
 * snap-storage-int: what the parts of snap-storage share, and nobody
 * else.  The parts, in the order a snapshot uses them:
 *
 *   snap-storage.c        names, lifecycle, open: the listing into the
 *                         entry list
 *   snap-storage-prev.c   what the previous snapshot already holds
 *   snap-storage-fetch.c  the object info and the downloads, concurrent,
 *                         into detached streams of the writer
 *   snap-storage-drift.c  storage.objects at the database's instant
 *                         against what was captured
 *   snap-storage-emit.c   snap_storage_emit: the steps above, then
 *                         storage/ written in order
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

enum snap_storage_kind { SS_DIR, SS_BUCKET_JSON, SS_OBJECT, SS_DRIFT };

/* storage/.vault-drift.json (formats/storage-layout.md) */
#define SNAP_STORAGE_DRIFT_NAME ".vault-drift.json"

/* One object of the previous snapshot, with its chunk list. */
struct snap_storage_prev {
	char *key;			/* bucket NUL name (keylen bytes) */
	size_t keylen;
	char *etag, *modified, *metadata;
	uint64_t size;
	struct repo_chunkref *chunks;
	size_t nchunks;
};

/* One row of storage.objects at the database's instant. */
struct snap_storage_row {
	char *key;			/* bucket NUL name (keylen bytes) */
	size_t keylen;
	char *etag, *modified;		/* NULL when the row has none */
	int64_t size;			/* -1 when the row has none */
	int seen;			/* an object of the listing matched */
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
	int have_md;			/* metadata is current (NULL: none) */
	char *json;			/* bucket, drift: the file's text */
	const struct snap_storage_prev *prev;	/* reusable chunks */
	int refresh;			/* reusable, but the user metadata
					 * must be asked again */
	struct repo_stream *stream;	/* downloaded, ended */
	int missing;			/* 1 left out, -1 deleted meanwhile */
	char *why;			/* left out: the reason */
	const char *drift;		/* "changed", "added" or NULL */
	const struct snap_storage_row *row;	/* its storage.objects row */
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
	/* storage.objects at the database's instant (snap-storage-drift.c) */
	int judge;			/* rows were given: judge the drift */
	struct snap_storage_row *rows;
	size_t nrows, caprows;
	/* fetch and emit */
	struct repo_writer *w;
	int64_t mtime_ns;
	size_t *idx;			/* entry index of each request */
	struct repo_stream *stream;	/* the download being handed over */
	struct sb_http_resp head;	/* its headers */
	struct buf err;			/* why a sink callback failed */
	size_t failed;			/* the object that stopped the snapshot
					 * (an entry index; nents when none) */
};

/* strdup, NULL for NULL. */
char *snap_storage_strdup(const char *v);

/* snap-storage-prev.c: reads the newest earlier snapshot of the same
 * project (s->env->storage_url) from r into s->prev, sorted; none is
 * not an error.  0 or a negative errno (err may say why). */
int snap_storage_prev_load(struct snap_storage *s, struct repo *r,
			   struct buf *err);
/* Points every object whose eTag and size are those of the previous
 * snapshot at its entry there (ent->prev); when its last-modified
 * differs too (a restore, or the same bytes uploaded again), its user
 * metadata is to be asked again (ent->refresh). */
void snap_storage_prev_match(struct snap_storage *s);
/* Frees s->prev. */
void snap_storage_prev_free(struct snap_storage *s);
/* An object's key, "bucket NUL name NUL" (malloc'ed; *keylen leaves out
 * the last NUL), or NULL when out of memory; and the order of two. */
char *snap_storage_key(const char *bucket, size_t blen, const char *name,
		       size_t nlen, size_t *keylen);
int snap_storage_key_cmp(const char *a, size_t alen, const char *b,
			 size_t blen);

/* snap-storage-fetch.c: the user metadata of every object that needs
 * it (concurrent /object/info requests; skipped where the listing
 * carried it), then every object to download into a detached stream
 * (e->stream).  An object deleted since the listing gets missing -1, one
 * that keeps failing missing 1 (allow_partial; left_out is told) or the
 * whole fetch fails with s->failed set.  0 or a negative errno (err
 * says why; empty after -ENOMEM). */
int snap_storage_fetch(struct snap_storage *s, struct buf *err);

/* snap-storage-drift.c: once fetched, compares the rows with what was
 * captured (e->drift, e->row, the drift counters) and, when rows were
 * given, adds storage/.vault-drift.json to the entries (in its sorted
 * place).  0 or -ENOMEM. */
int snap_storage_drift_judge(struct snap_storage *s);

/* snap-storage.c, for the parts above it: a new zeroed entry at the
 * end (NULL when out of memory), the manifest order of two entries, and
 * dropping the rows. */
struct snap_storage_ent *snap_storage_add(struct snap_storage *s);
int snap_storage_ent_cmp(const void *a, const void *b);
void snap_storage_rows_free(struct snap_storage *s);

#endif

/*
 * repo-internal: struct repo and the small helpers the store's files
 * share (paths, chunk ids, atomic file writes, error messages).  Not for
 * the front end, which uses repo.h only.
 *
 * The helpers are implemented in repo-internal.c, which uses nothing
 * else of the store, so the index and the reader may call them;
 * repo_index_open alone is repo.c's (it opens the index).
 */
#ifndef VAULT_REPO_INTERNAL_H
#define VAULT_REPO_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include "buf.h"
#include "config.h"
#include "keyfile.h"
#include "repo.h"

struct index;
struct lock;
struct reader_cache;

/* How repo_index_open opens index.db (chosen by repo_open). */
enum repo_ix_mode {
	REPO_IX_WRITE = 0,	/* read-write, creating it: init, writers */
	REPO_IX_SHARED,		/* read-only, sharing SQLite's side files
				 * with writers: readers */
	REPO_IX_IMMUTABLE,	/* read-only, index.db alone: readers that
				 * cannot create the side files (wshared) */
};

struct repo {
	char *path;
	struct config cfg;
	struct keyfile_keys keys;	/* wiped in repo_free */
	struct index *ix;
	enum repo_ix_mode ix_mode;
	int ix_stand_in;		/* ix is an empty in-memory index standing
					 * in for a missing or damaged index.db
					 * (opened to rebuild it) */
	struct lock *wlock;		/* writer lock (opened with write) */
	struct lock *rlock;		/* shared lock.read (read-only opens) */
	struct lock *wshared;		/* writer lock held shared: no writer
					 * while the index is immutable */
	int lock_wait;
	struct reader_cache *cache;	/* open pack descriptors */
	repo_progress_fn progress;	/* repo_set_progress */
	void *progress_ctx;
};

/* Reports pr to the progress callback, when one is set. */
void repo_progress(const struct repo *r, const struct repo_progress *pr);

/* Opens <repo>/index.db into *ix as r->ix_mode says (creating it when
 * REPO_IX_WRITE); a damaged file says how to rebuild it.  In repo.c. */
int repo_index_open(struct repo *r, struct index **ix, struct buf *err);

/* Writes r->cfg to <repo>/config as repo_write_atomic (replaced may
 * be NULL).  In repo-config.c. */
int repo_write_config(const struct repo *r, int *replaced, struct buf *err);
/* 1 when c is one of enum repo_compression.  In repo-config.c. */
int repo_compression_valid(enum repo_compression c);
/* Where restore logs live (store/restores.c). */
#define REPO_RESTORES_DIR "restores"

/* Wait for readers (lock.read) at least this long before giving up. */
#define REPO_READERS_WAIT_MIN 10

/* NULL for an unencrypted repository. */
const uint8_t *repo_enc_key(const struct repo *r);
/* Keyed BLAKE2b-256 of plaintext: the chunk id. */
void repo_chunk_id(const struct repo *r, const void *p, size_t n,
		   uint8_t id[32]);
/* out = "<repo>/<rel>" (reset first). */
int repo_join(const struct repo *r, const char *rel, struct buf *out);
/* out = "<repo>/packs/xx/<64 hex>.pack"; dir (may be NULL) gets the
 * directory part. */
int repo_pack_path(const struct repo *r, const uint8_t name[32],
		   struct buf *out, struct buf *dir);
int repo_fsync_dir(const char *path);
/* Writes data to path via "<path>.tmp": write, fsync, rename, fsync the
 * directory.  The old file stays intact until the rename.  On an error
 * *replaced (may be NULL) is 1 when only the directory's fsync failed:
 * path holds the new data, but a crash may still bring the old back. */
int repo_write_atomic(const char *path, const void *p, size_t n,
		      int *replaced, struct buf *err);
/* -EINVAL with a message unless the repository was opened for writing. */
int repo_need_writer(const struct repo *r, const char *what,
		     struct buf *err);
/* Replaces err's content by the message; returns rc. */
int repo_errf(struct buf *err, int rc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Calls cb for every packs/xx/<64 hex>.pack file on disk (names that do
 * not fit are skipped).  Non-zero from cb stops and is returned. */
int repo_foreach_pack_file(struct repo *r,
			   int (*cb)(void *ctx, const uint8_t *name),
			   void *ctx);
/* Seconds to wait for readers before prune/rebuild give up. */
int repo_readers_wait(const struct repo *r);
/* Sorts a buffer of 32-byte ids and drops repeats, so repo_ids_has can
 * binary-search it. */
void repo_ids_sort(struct buf *ids);
int repo_ids_has(const struct buf *ids, const uint8_t *id);

#endif

/*
 * index: the repository's SQLite index (index.db).  It maps chunk ids to
 * their place in a pack, lists packs and snapshots, and records which
 * chunks each snapshot references so prune is set arithmetic in SQL.
 * Everything in it can be rebuilt from the packs (repo_rebuild_index).
 *
 * The index is a cache of what is on disk, never the other way round:
 * callers commit rows only for packs that are already fsynced in place.
 *
 * One struct index is one SQLite connection; it is not thread-safe, the
 * caller serializes (the writer holds its mutex around every call).
 * Functions return 0 (or 1/0 for lookups) or a negative errno and fill
 * err (may be NULL) with SQLite's message.
 */
#ifndef VAULT_INDEX_H
#define VAULT_INDEX_H

#include <stddef.h>
#include <stdint.h>
#include "buf.h"
#include "pack.h"
#include "repo.h"

#define INDEX_ID_SIZE 32
#define INDEX_MAX_DEPTH 8	/* BLOB_MAX_DEPTH: the longest delta chain */

struct index;

/* Where a chunk lives. */
struct index_loc {
	int64_t pid;			/* pack row id */
	uint8_t pack[PACK_ID_SIZE];	/* pack name (random id) */
	uint64_t offset;
	uint32_t length;		/* stored bytes */
	uint32_t raw_len;		/* plaintext bytes */
	uint8_t type;			/* enum blob_type */
	uint8_t depth;			/* 0 full; a delta: 1..INDEX_MAX_DEPTH */
	uint8_t base[INDEX_ID_SIZE];	/* a delta's base (depth > 0) */
};

struct index_pack {
	int64_t pid;
	uint8_t name[PACK_ID_SIZE];
	uint64_t size;
	uint64_t nblobs;
};

/* Opens (creating the schema if needed) the database at path.  WAL mode,
 * a bounded page cache and no mmap, so memory does not grow with the
 * repository. */
int index_open(struct index **ix, const char *path, struct buf *err);

/*
 * Readers (index-ro.c): read-only connections that never write index.db
 * and never create its schema (a file without it is -EBADMSG).
 *
 * index_open_ro shares index.db-wal and index.db-shm with writers, as
 * SQLite always does; -EROFS (err says why) when they are missing and
 * cannot be created here: a read-only directory or a full disk.
 *
 * index_open_immutable reads index.db alone, for when index_open_ro
 * cannot: no side files, no locks, no look for changes, so the caller
 * must keep writers out while it is open (lock_writer_shared).  -EROFS
 * (err says how to read it) when index.db-wal or index.db-journal holds
 * changes not yet in index.db, which it would silently miss.
 */
int index_open_ro(struct index **ix, const char *path, struct buf *err);
int index_open_immutable(struct index **ix, const char *path,
			 struct buf *err);
void index_free(struct index *ix);

int index_begin(struct index *ix, struct buf *err);
int index_commit(struct index *ix, struct buf *err);
/* Rolls back an open transaction; harmless when none is open. */
void index_rollback(struct index *ix);
/* Switches the database out of WAL mode (before renaming it into place,
 * so no -wal file belongs to it). */
int index_seal(struct index *ix, struct buf *err);

/* ---- packs and chunks ------------------------------------------------ */

/* Flags for index_pack_add. */
#define INDEX_ADD_REPLACE	0x1	/* move existing chunk rows here */

/*
 * Adds a pack row and one chunk row per entry whose type bit is set in
 * types (1u << type; 0 = all types).  Existing chunk rows are kept
 * (first copy wins) unless INDEX_ADD_REPLACE.  No transaction of its own.
 */
int index_pack_add(struct index *ix, const uint8_t name[PACK_ID_SIZE],
		   uint64_t size, const struct pack_entry *e, size_t n,
		   unsigned types, unsigned flags, struct buf *err);
/* Adds one chunk row located in pack pid (an existing row for the id is
 * kept).  No transaction of its own. */
int index_chunk_add(struct index *ix, int64_t pid, const struct pack_entry *e,
		    struct buf *err);
/* 1 when the pack is indexed, 0 when not, <0 on error. */
int index_pack_exists(struct index *ix, const uint8_t name[PACK_ID_SIZE]);
/* Calls cb for every pack, ordered by name.  Non-zero from cb stops. */
int index_pack_foreach(struct index *ix,
		       int (*cb)(void *ctx, const struct index_pack *p),
		       void *ctx, struct buf *err);
/* Chunk rows located in pack pid, by offset. */
int index_pack_chunks(struct index *ix, int64_t pid,
		      int (*cb)(void *ctx, const uint8_t *id,
				const struct index_loc *loc),
		      void *ctx, struct buf *err);
/* Deletes the pack row and every chunk row still pointing at it; *removed
 * (may be NULL) gets the number of chunk rows deleted. */
int index_pack_delete(struct index *ix, int64_t pid, uint64_t *removed,
		      struct buf *err);

/* 1 and *loc filled when found, 0 when not, <0 on error. */
int index_chunk_get(struct index *ix, const uint8_t id[INDEX_ID_SIZE],
		    struct index_loc *loc);

/* Every chunk row of one blob type (enum blob_type), by id. */
int index_chunks_of_type(struct index *ix, uint8_t type,
			 int (*cb)(void *ctx, const uint8_t *id,
				   const struct index_loc *loc),
			 void *ctx, struct buf *err);

/* ---- snapshots --------------------------------------------------------- */

struct index_snap {
	uint8_t id[INDEX_ID_SIZE];
	int64_t time;
	const char *hostname;
	const char *source;
	const char *const *tags;
	size_t ntags;
	uint64_t entries, bytes_read, bytes_added, bytes_stored;
	const char *meta_json;
};

/* The snapshot being written collects its chunk references in a TEMP
 * table (on disk, not in memory): reset empties it, add records one. */
int index_refs_reset(struct index *ix, struct buf *err);
int index_ref_add(struct index *ix, const uint8_t id[INDEX_ID_SIZE],
		  struct buf *err);
/* Inserts the snapshot row, its tags and (from the TEMP table) its chunk
 * references, with the bases of the delta chunks among them, down to
 * the full chunks.  Call inside a transaction. */
int index_snap_add(struct index *ix, const struct index_snap *s,
		   struct buf *err);
/* 1 and *out filled (release with repo_snapinfo_release), 0, or <0. */
int index_snap_get(struct index *ix, const uint8_t id[INDEX_ID_SIZE],
		   struct repo_snapinfo *out);
/* Oldest first; tag NULL for all.  Non-zero from cb stops and is
 * returned. */
int index_snap_list(struct index *ix, const char *tag,
		    int (*cb)(const struct repo_snapinfo *, void *),
		    void *ctx, struct buf *err);
/*
 * Snapshots whose hex id starts with prefix (lowercase hex, any length).
 * Returns the number of matches (0..), copying up to max of them to ids.
 */
int index_snap_match(struct index *ix, const char *prefix, char (*ids)[65],
		     size_t max);
/* Newest snapshot with time <= t (t = INT64_MAX for the latest) that
 * carries tag (with = 1) or does not (with = 0): 1 and id filled, 0 when
 * none, <0 on error. */
int index_snap_at(struct index *ix, int64_t t, const char *tag, int with,
		  char id[65]);
/* Removes the snapshot row, its tags and references. 1 done, 0 unknown. */
int index_snap_forget(struct index *ix, const uint8_t id[INDEX_ID_SIZE],
		      struct buf *err);
/* Snapshots referencing chunk: cb gets each snapshot id. */
int index_chunk_snaps(struct index *ix, const uint8_t chunk[INDEX_ID_SIZE],
		      int (*cb)(void *ctx, const uint8_t *snap), void *ctx,
		      struct buf *err);

/* References to chunks that are not indexed: cb(snapshot id, chunk id). */
int index_missing_refs(struct index *ix,
		       int (*cb)(void *ctx, const uint8_t *snap,
				 const uint8_t *chunk),
		       void *ctx, struct buf *err);

/* Records that tombstone blob `blob` cancels snapshot `snap`. */
int index_tomb_add(struct index *ix, const uint8_t snap[INDEX_ID_SIZE],
		   const uint8_t blob[INDEX_ID_SIZE], struct buf *err);
/* 1 when snap is tombstoned, 0 when not, <0 on error. */
int index_tomb_has(struct index *ix, const uint8_t snap[INDEX_ID_SIZE]);
/* Drops tombstone rows whose tombstone blob is no longer indexed. */
int index_tomb_sweep(struct index *ix, struct buf *err);

/* ---- prune set arithmetic ------------------------------------------------
 * A chunk is live when a snapshot (other than the ones passed to
 * index_prune_drop) references it, or when it is a tombstone blob whose
 * cancelled snapshot blob is still indexed in a pack not passed to
 * index_prune_gone (so rebuild cannot resurrect that snapshot while its
 * blob exists anywhere).
 */
struct index_usage {
	struct index_pack pack;
	uint64_t blobs, bytes;		/* indexed blobs in the pack */
	uint64_t live_blobs, live_bytes;
	uint64_t tombstones;		/* tombstone blobs among them */
};

/* Treats these snapshots as already forgotten (dry-run planning);
 * replaces any previous set.  n = 0 clears it. */
int index_prune_drop(struct index *ix, const uint8_t (*ids)[INDEX_ID_SIZE],
		     size_t n, struct buf *err);
/* Treats these packs as deleted (their snapshot blobs no longer keep
 * tombstones alive); replaces any previous set.  n = 0 clears it. */
int index_prune_gone(struct index *ix, const int64_t *pids, size_t n,
		     struct buf *err);
/* Per-pack live accounting, ordered by pack name. */
int index_prune_usage(struct index *ix,
		      int (*cb)(void *ctx, const struct index_usage *u),
		      void *ctx, struct buf *err);
/* Live chunk rows of one pack, by offset. */
int index_prune_live(struct index *ix, int64_t pid,
		     int (*cb)(void *ctx, const uint8_t *id,
			       const struct index_loc *loc),
		     void *ctx, struct buf *err);

/* ---- delta chunks' links (index-bases.c) ----------------------------------
 * chunk_bases records, for each indexed delta chunk, the chunk its delta
 * applies to and its depth (formats/repository.md).  Snapshots reference
 * the bases of their deltas (index_snap_add closes the references), and
 * an indexed delta's base is always indexed: wherever rows go away or
 * come from packs, index_bases_sweep restores that.
 */

/* Records that chunk id, as stored in pack `pack`, is a delta of depth
 * 1..INDEX_MAX_DEPTH against base (replacing any earlier row), provided
 * id's chunk row is that pack's: a chunk stored twice is read from the
 * copy its row names, whole or not.  No transaction of its own. */
int index_base_add(struct index *ix, const uint8_t pack[PACK_ID_SIZE],
		   const uint8_t id[INDEX_ID_SIZE],
		   const uint8_t base[INDEX_ID_SIZE], uint8_t depth,
		   struct buf *err);
/* Drops the chunk rows of deltas whose base is not indexed, and of the
 * deltas above those, then the links of chunks no longer indexed;
 * *dropped (may be NULL) gets how many chunk rows went.  No transaction
 * of its own. */
int index_bases_sweep(struct index *ix, uint64_t *dropped, struct buf *err);
/* Calls cb for every chunk whose chain goes through id (the deltas
 * against it, those against them, ...).  Non-zero from cb stops. */
int index_chunk_dependents(struct index *ix, const uint8_t id[INDEX_ID_SIZE],
			   int (*cb)(void *ctx, const uint8_t *id), void *ctx,
			   struct buf *err);

int index_stats(struct index *ix, struct repo_stats *s, struct buf *err);
/* SQLite's quick_check: 0 when fine, 1 with what is wrong in msg, <0. */
int index_quick_check(struct index *ix, struct buf *msg);
/* What to add to a message about an index error rc: for -EBADMSG (a
 * damaged database) how to get out of it, else "". */
const char *index_damage_hint(int rc);

#endif

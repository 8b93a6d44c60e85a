/*
 * index-prune: the set arithmetic of prune (index.h): which chunks are
 * live when some snapshots are treated as forgotten and some packs as
 * deleted, per-pack live accounting, and the live chunk rows of a pack
 * to copy when repacking.
 *
 * The liveness rule itself is SQL (INDEX_LIVE_EXPR in index.c's table
 * of statements), run over the TEMP tables prune_drop and prune_gone
 * that the two setters below fill, so a plan over a repository of any
 * size costs disk, not memory.
 */
#include <string.h>
#include <sqlite3.h>

#include "index.h"
#include "index-int.h"

int index_prune_drop(struct index *ix, const uint8_t (*ids)[INDEX_ID_SIZE],
		     size_t n, struct buf *err)
{
	sqlite3_stmt *s;
	int rc;

	INDEX_STMT(ix, s, ST_DROP_CLEAR, err);
	rc = index_exec_st(ix, s, "prune drop", err);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		INDEX_STMT(ix, s, ST_DROP_ADD, err);
		index_blob(s, 1, ids[i], INDEX_ID_SIZE);
		rc = index_exec_st(ix, s, "prune drop", err);
	}
	return rc;
}

int index_prune_gone(struct index *ix, const int64_t *pids, size_t n,
		     struct buf *err)
{
	sqlite3_stmt *s;
	int rc;

	INDEX_STMT(ix, s, ST_GONE_CLEAR, err);
	rc = index_exec_st(ix, s, "prune gone", err);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		INDEX_STMT(ix, s, ST_GONE_ADD, err);
		sqlite3_bind_int64(s, 1, pids[i]);
		rc = index_exec_st(ix, s, "prune gone", err);
	}
	return rc;
}

int index_prune_usage(struct index *ix,
		      int (*cb)(void *ctx, const struct index_usage *u),
		      void *ctx, struct buf *err)
{
	struct index_usage u;
	sqlite3_stmt *s;
	int rc, r = 0;

	INDEX_STMT(ix, s, ST_USAGE, err);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		memset(&u, 0, sizeof(u));
		u.pack.pid = sqlite3_column_int64(s, 0);
		u.pack.size = (uint64_t)sqlite3_column_int64(s, 2);
		u.pack.nblobs = (uint64_t)sqlite3_column_int64(s, 3);
		u.blobs = (uint64_t)sqlite3_column_int64(s, 4);
		u.bytes = (uint64_t)sqlite3_column_double(s, 5);
		u.live_blobs = (uint64_t)sqlite3_column_double(s, 6);
		u.live_bytes = (uint64_t)sqlite3_column_double(s, 7);
		u.tombstones = (uint64_t)sqlite3_column_double(s, 8);
		if (index_col_id(s, 1, u.pack.name) < 0)
			continue;
		r = cb(ctx, &u);
		if (r)
			break;
	}
	if (!r && rc != SQLITE_DONE)
		r = index_fail(ix, rc, "pack usage", err);
	index_done(s);
	return r;
}

int index_prune_live(struct index *ix, int64_t pid,
		     int (*cb)(void *ctx, const uint8_t *id,
			       const struct index_loc *loc),
		     void *ctx, struct buf *err)
{
	return index_loc_rows(ix, ST_LIVE, pid, cb, ctx, err);
}

/*
 * index-bases: the links of delta chunks in the index (index.h): the
 * chunk each delta applies to and its depth, the sweep that keeps every
 * indexed delta's chain whole, and the chunks a damaged one carries
 * away.  The statements are index.c's table; that snapshots reference
 * their bases is index_snap_add's (index-snap.c).
 *
 * Why a sweep: the writer deduplicates against any indexed chunk, dead
 * ones too.  A dead delta left indexed after its base was pruned would
 * be reused by the next snapshot that holds the same rows, which could
 * then not be read.  So wherever chunk rows go away (prune) or come in
 * from packs without a snapshot (the orphan import, rebuild-index), the
 * rows of deltas whose chain lost a link go too; their blobs stay in
 * their packs as dead bytes, like any unindexed blob.
 */
#include <sqlite3.h>

#include "index.h"
#include "index-int.h"

int index_base_add(struct index *ix, const uint8_t pack[PACK_ID_SIZE],
		   const uint8_t id[INDEX_ID_SIZE],
		   const uint8_t base[INDEX_ID_SIZE], uint8_t depth,
		   struct buf *err)
{
	sqlite3_stmt *s;

	INDEX_STMT(ix, s, ST_BASE_ADD, err);
	index_blob(s, 1, id, INDEX_ID_SIZE);
	index_blob(s, 2, base, INDEX_ID_SIZE);
	sqlite3_bind_int(s, 3, depth);
	index_blob(s, 4, pack, PACK_ID_SIZE);
	return index_exec_st(ix, s, "add base link", err);
}

int index_bases_sweep(struct index *ix, uint64_t *dropped, struct buf *err)
{
	sqlite3_stmt *s;
	int rc;

	INDEX_STMT(ix, s, ST_SWEEP_CHUNKS, err);
	rc = index_exec_st(ix, s, "sweep broken chains", err);
	if (rc < 0)
		return rc;
	if (dropped)
		*dropped = (uint64_t)sqlite3_changes(ix->db);
	INDEX_STMT(ix, s, ST_SWEEP_LINKS, err);
	return index_exec_st(ix, s, "sweep base links", err);
}

int index_chunk_dependents(struct index *ix, const uint8_t id[INDEX_ID_SIZE],
			   int (*cb)(void *ctx, const uint8_t *id), void *ctx,
			   struct buf *err)
{
	uint8_t dep[INDEX_ID_SIZE];
	sqlite3_stmt *s;
	int rc, r = 0;

	INDEX_STMT(ix, s, ST_DEPENDENTS, err);
	index_blob(s, 1, id, INDEX_ID_SIZE);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (index_col_id(s, 0, dep) < 0)
			continue;
		r = cb(ctx, dep);
		if (r)
			break;
	}
	if (!r && rc != SQLITE_DONE)
		r = index_fail(ix, rc, "list dependent deltas", err);
	index_done(s);
	return r;
}

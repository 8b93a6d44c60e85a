/*
 * index-snap: the snapshot rows of the index (index.h): the TEMP table
 * of references the snapshot being written collects, the snapshot row
 * with its tags and chunk references, the queries of snapshots by id,
 * prefix, time and tag, forgetting, and the tombstones that cancel a
 * snapshot blob.
 *
 * Separate from index.c, which owns the connection and the statements:
 * this is what a snapshot is to the index, not how the index is kept.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sqlite3.h>

#include "index.h"
#include "index-int.h"

int index_refs_reset(struct index *ix, struct buf *err)
{
	sqlite3_stmt *s;

	INDEX_STMT(ix, s, ST_REFS_RESET, err);
	return index_exec_st(ix, s, "reset refs", err);
}

int index_ref_add(struct index *ix, const uint8_t id[INDEX_ID_SIZE],
		  struct buf *err)
{
	sqlite3_stmt *s;

	INDEX_STMT(ix, s, ST_REF_ADD, err);
	index_blob(s, 1, id, INDEX_ID_SIZE);
	return index_exec_st(ix, s, "add ref", err);
}

static int index_snap_row(struct index *ix, const struct index_snap *sn,
			  struct buf *err)
{
	sqlite3_stmt *s;
	char hex[65];

	INDEX_STMT(ix, s, ST_SNAP_ADD, err);
	hex_encode(hex, sn->id, INDEX_ID_SIZE);
	index_blob(s, 1, sn->id, INDEX_ID_SIZE);
	index_text(s, 2, hex);
	sqlite3_bind_int64(s, 3, sn->time);
	index_text(s, 4, sn->hostname);
	index_text(s, 5, sn->source);
	sqlite3_bind_int64(s, 6, (int64_t)sn->entries);
	sqlite3_bind_int64(s, 7, (int64_t)sn->bytes_read);
	sqlite3_bind_int64(s, 8, (int64_t)sn->bytes_added);
	sqlite3_bind_int64(s, 9, (int64_t)sn->bytes_stored);
	index_text(s, 10, sn->meta_json ? sn->meta_json : "{}");
	return index_exec_st(ix, s, "add snapshot", err);
}

int index_snap_add(struct index *ix, const struct index_snap *sn,
		   struct buf *err)
{
	sqlite3_stmt *s;
	int64_t sid;
	int rc;

	rc = index_snap_row(ix, sn, err);
	if (rc < 0)
		return rc;
	sid = sqlite3_last_insert_rowid(ix->db);
	INDEX_STMT(ix, s, ST_TAG_ADD, err);
	for (size_t i = 0; i < sn->ntags; i++) {
		sqlite3_bind_int64(s, 1, sid);
		sqlite3_bind_int64(s, 2, (int64_t)i);
		index_text(s, 3, sn->tags[i]);
		rc = index_exec_st(ix, s, "add tag", err);
		if (rc < 0)
			return rc;
	}
	INDEX_STMT(ix, s, ST_SNAP_REFS, err);
	sqlite3_bind_int64(s, 1, sid);
	return index_exec_st(ix, s, "add snapshot refs", err);
}

static char *index_snap_strdup(sqlite3_stmt *s, int col)
{
	const unsigned char *t = sqlite3_column_text(s, col);

	return strdup(t ? (const char *)t : "");
}

static int index_snap_tags(struct index *ix, int64_t sid,
			   struct repo_snapinfo *out)
{
	sqlite3_stmt *s = index_stmt(ix, ST_SNAP_TAGS);
	char **t;
	int rc;

	if (!s)
		return index_errno(sqlite3_errcode(ix->db));
	sqlite3_bind_int64(s, 1, sid);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		t = realloc(out->tags, (out->ntags + 1) * sizeof(*t));
		if (!t) {
			rc = SQLITE_NOMEM;
			break;
		}
		out->tags = t;
		t[out->ntags] = index_snap_strdup(s, 0);
		if (!t[out->ntags]) {
			rc = SQLITE_NOMEM;
			break;
		}
		out->ntags++;
	}
	index_done(s);
	return rc == SQLITE_DONE ? 0 : index_errno(rc) ? index_errno(rc)
							: -EIO;
}

/* Fills out from the row of snapshot sid: 1, 0 if gone, <0. */
static int index_snap_load(struct index *ix, int64_t sid,
			   struct repo_snapinfo *out)
{
	sqlite3_stmt *s = index_stmt(ix, ST_SNAP_BY_SID);
	const unsigned char *hex;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!s)
		return index_errno(sqlite3_errcode(ix->db));
	sqlite3_bind_int64(s, 1, sid);
	rc = sqlite3_step(s);
	if (rc != SQLITE_ROW) {
		index_done(s);
		return rc == SQLITE_DONE ? 0 : index_errno(rc);
	}
	hex = sqlite3_column_text(s, 0);
	snprintf(out->id, sizeof(out->id), "%s", hex ? (const char *)hex : "");
	out->time = sqlite3_column_int64(s, 1);
	out->hostname = index_snap_strdup(s, 2);
	out->source = index_snap_strdup(s, 3);
	out->entries = (uint64_t)sqlite3_column_int64(s, 4);
	out->bytes_read = (uint64_t)sqlite3_column_int64(s, 5);
	out->bytes_added = (uint64_t)sqlite3_column_int64(s, 6);
	out->bytes_stored = (uint64_t)sqlite3_column_int64(s, 7);
	out->meta_json = index_snap_strdup(s, 8);
	index_done(s);
	rc = (!out->hostname || !out->source || !out->meta_json) ? -ENOMEM
		: index_snap_tags(ix, sid, out);
	if (rc < 0) {
		repo_snapinfo_release(out);
		return rc;
	}
	return 1;
}

/* The row id of snapshot id: >0, 0 when unknown, <0. */
static int64_t index_snap_sid(struct index *ix, const uint8_t id[32])
{
	sqlite3_stmt *s = index_stmt(ix, ST_SNAP_SID);
	int64_t sid;
	int rc;

	if (!s)
		return index_errno(sqlite3_errcode(ix->db));
	index_blob(s, 1, id, 32);
	rc = sqlite3_step(s);
	sid = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0)
		: rc == SQLITE_DONE ? 0 : index_errno(rc);
	index_done(s);
	return sid;
}

int index_snap_get(struct index *ix, const uint8_t id[INDEX_ID_SIZE],
		   struct repo_snapinfo *out)
{
	int64_t sid = index_snap_sid(ix, id);

	memset(out, 0, sizeof(*out));
	if (sid <= 0)
		return (int)sid;
	return index_snap_load(ix, sid, out);
}

int index_snap_list(struct index *ix, const char *tag,
		    int (*cb)(const struct repo_snapinfo *, void *),
		    void *ctx, struct buf *err)
{
	struct repo_snapinfo info;
	struct buf sids = BUF_INIT;
	sqlite3_stmt *s;
	int64_t sid;
	int rc, r = 0;

	/* Collect the row ids first so cb may call back into the index. */
	INDEX_STMT(ix, s, tag ? ST_SNAP_TAGGED : ST_SNAP_ALL, err);
	if (tag)
		index_text(s, 1, tag);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		sid = sqlite3_column_int64(s, 0);
		r = buf_add(&sids, &sid, sizeof(sid));
		if (r < 0)
			break;
	}
	if (!r && rc != SQLITE_DONE)
		r = index_fail(ix, rc, "list snapshots", err);
	index_done(s);
	for (size_t i = 0; !r && i < sids.len / sizeof(sid); i++) {
		memcpy(&sid, sids.data + i * sizeof(sid), sizeof(sid));
		rc = index_snap_load(ix, sid, &info);
		if (rc < 0)
			r = index_fail_errno(ix, rc, "load snapshot", err);
		if (rc <= 0)
			continue;
		r = cb(&info, ctx);
		repo_snapinfo_release(&info);
	}
	buf_release(&sids);
	return r;
}

int index_snap_match(struct index *ix, const char *prefix, char (*ids)[65],
		     size_t max)
{
	sqlite3_stmt *s = index_stmt(ix, ST_SNAP_MATCH);
	const unsigned char *t;
	int rc, n = 0;

	if (!s)
		return index_errno(sqlite3_errcode(ix->db));
	index_text(s, 1, prefix);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		t = sqlite3_column_text(s, 0);
		if ((size_t)n < max)
			snprintf(ids[n], 65, "%s", t ? (const char *)t : "");
		n++;
	}
	index_done(s);
	return rc == SQLITE_DONE ? n : index_errno(rc);
}

int index_snap_at(struct index *ix, int64_t t, const char *tag, int with,
		  char id[65])
{
	sqlite3_stmt *s = index_stmt(ix, ST_SNAP_AT);
	const unsigned char *hex;
	int rc;

	if (!s)
		return index_errno(sqlite3_errcode(ix->db));
	sqlite3_bind_int64(s, 1, t);
	index_text(s, 2, tag);
	sqlite3_bind_int(s, 3, with ? 1 : 0);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		hex = sqlite3_column_text(s, 0);
		snprintf(id, 65, "%s", hex ? (const char *)hex : "");
		rc = 1;
	} else {
		rc = rc == SQLITE_DONE ? 0 : index_errno(rc);
	}
	index_done(s);
	return rc;
}

int index_snap_forget(struct index *ix, const uint8_t id[INDEX_ID_SIZE],
		      struct buf *err)
{
	static const enum index_st del[] = {
		ST_SNAP_DEL_REFS, ST_SNAP_DEL_TAGS, ST_SNAP_DEL
	};
	int64_t sid = index_snap_sid(ix, id);
	sqlite3_stmt *s;
	int rc;

	if (sid <= 0)
		return sid < 0 ? index_fail(ix, (int)-sid, "forget", err) : 0;
	for (size_t i = 0; i < sizeof(del) / sizeof(del[0]); i++) {
		INDEX_STMT(ix, s, del[i], err);
		sqlite3_bind_int64(s, 1, sid);
		rc = index_exec_st(ix, s, "forget", err);
		if (rc < 0)
			return rc;
	}
	return 1;
}

int index_chunk_snaps(struct index *ix, const uint8_t chunk[INDEX_ID_SIZE],
		      int (*cb)(void *ctx, const uint8_t *snap), void *ctx,
		      struct buf *err)
{
	struct buf ids = BUF_INIT;
	sqlite3_stmt *s;
	int rc, r = 0;

	INDEX_STMT(ix, s, ST_CHUNK_SNAPS, err);
	index_blob(s, 1, chunk, INDEX_ID_SIZE);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		const void *p = sqlite3_column_blob(s, 0);

		if (p && sqlite3_column_bytes(s, 0) == 32) {
			r = buf_add(&ids, p, 32);
			if (r < 0)
				break;
		}
	}
	if (!r && rc != SQLITE_DONE)
		r = index_fail(ix, rc, "chunk snapshots", err);
	index_done(s);
	for (size_t i = 0; !r && i < ids.len / 32; i++)
		r = cb(ctx, ids.data + 32 * i);
	buf_release(&ids);
	return r;
}

int index_missing_refs(struct index *ix,
		       int (*cb)(void *ctx, const uint8_t *snap,
				 const uint8_t *chunk),
		       void *ctx, struct buf *err)
{
	struct buf rows = BUF_INIT;
	sqlite3_stmt *s;
	int rc, r = 0;

	INDEX_STMT(ix, s, ST_MISSING, err);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		uint8_t pair[64];

		if (index_col_id(s, 0, pair) < 0 ||
		    index_col_id(s, 1, pair + 32) < 0)
			continue;
		r = buf_add(&rows, pair, sizeof(pair));
		if (r < 0)
			break;
	}
	if (!r && rc != SQLITE_DONE)
		r = index_fail(ix, rc, "missing refs", err);
	index_done(s);
	for (size_t i = 0; !r && i < rows.len / 64; i++)
		r = cb(ctx, rows.data + 64 * i, rows.data + 64 * i + 32);
	buf_release(&rows);
	return r;
}

int index_tomb_add(struct index *ix, const uint8_t snap[INDEX_ID_SIZE],
		   const uint8_t blob[INDEX_ID_SIZE], struct buf *err)
{
	sqlite3_stmt *s;

	INDEX_STMT(ix, s, ST_TOMB_ADD, err);
	index_blob(s, 1, snap, INDEX_ID_SIZE);
	index_blob(s, 2, blob, INDEX_ID_SIZE);
	return index_exec_st(ix, s, "add tombstone", err);
}

int index_tomb_has(struct index *ix, const uint8_t snap[INDEX_ID_SIZE])
{
	sqlite3_stmt *s = index_stmt(ix, ST_TOMB_HAS);
	int rc;

	if (!s)
		return index_errno(sqlite3_errcode(ix->db));
	index_blob(s, 1, snap, INDEX_ID_SIZE);
	rc = sqlite3_step(s);
	index_done(s);
	if (rc == SQLITE_ROW)
		return 1;
	return rc == SQLITE_DONE ? 0 : index_errno(rc);
}

int index_tomb_sweep(struct index *ix, struct buf *err)
{
	sqlite3_stmt *s;

	INDEX_STMT(ix, s, ST_TOMB_SWEEP, err);
	return index_exec_st(ix, s, "sweep tombstones", err);
}

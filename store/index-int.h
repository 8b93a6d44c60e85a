/*
 * index-int: what the files of the index share (index.c, index-snap.c,
 * index-prune.c) and nothing else may use: the connection, the numbers
 * of the cached statements (their SQL is index.c's table) and the small
 * helpers around SQLite.  Callers of the index use index.h only.
 */
#ifndef VAULT_INDEX_INT_H
#define VAULT_INDEX_INT_H

#include <stddef.h>
#include <stdint.h>
#include <sqlite3.h>
#include "buf.h"
#include "index.h"

/* The cached statements, by number; index.c holds their SQL. */
enum index_st {
	ST_BEGIN, ST_COMMIT, ST_ROLLBACK,
	ST_PACK_ADD, ST_CHUNK_ADD, ST_CHUNK_PUT, ST_PACK_EXISTS, ST_PACK_ALL,
	ST_PACK_CHUNKS, ST_PACK_DEL_CHUNKS, ST_PACK_DEL, ST_CHUNK_GET,
	ST_REFS_RESET, ST_REF_ADD, ST_SNAP_ADD, ST_TAG_ADD, ST_SNAP_REFS,
	ST_SNAP_BY_SID, ST_SNAP_SID, ST_SNAP_TAGS, ST_SNAP_ALL, ST_SNAP_TAGGED,
	ST_SNAP_MATCH, ST_SNAP_AT, ST_SNAP_DEL, ST_SNAP_DEL_TAGS,
	ST_SNAP_DEL_REFS, ST_CHUNK_SNAPS, ST_TOMB_ADD, ST_TOMB_HAS,
	ST_TOMB_SWEEP, ST_DROP_CLEAR, ST_DROP_ADD, ST_USAGE, ST_LIVE,
	ST_STAT_COUNTS, ST_STAT_PACKS, ST_STAT_CHUNKS, ST_OF_TYPE, ST_MISSING,
	ST_GONE_CLEAR, ST_GONE_ADD,
	ST_BASE_ADD, ST_SWEEP_CHUNKS, ST_SWEEP_LINKS, ST_DEPENDENTS,
	ST_COUNT
};

struct index {
	sqlite3 *db;
	sqlite3_stmt *st[ST_COUNT];
	int in_txn;
};

/*
 * Opens a connection to the database at path (uri, when not NULL, is
 * what SQLite opens instead, with SQLITE_OPEN_URI in flags) with
 * sqlite3_open_v2's flags, and sets it up: pragmas, the schema (created
 * when SQLITE_OPEN_READWRITE; a read-only connection refuses a database
 * without it, -EBADMSG), the TEMP tables.  0 or a negative errno with
 * err set.  index_open and index-ro.c's openers are built on it.
 */
int index_connect(struct index **ix, const char *path, const char *uri,
		  int flags, struct buf *err);
/* SQLite's result code as 0 or a negative errno. */
int index_errno(int rc);
/* Translates the connection's last error into -errno (never 0) and,
 * when err is not NULL, "index: <what>: <SQLite's message>". */
int index_fail(struct index *ix, int rc, const char *what,
	       struct buf *err);
/* index_fail for an error already translated to -errno e (returned). */
int index_fail_errno(struct index *ix, int e, const char *what,
		     struct buf *err);
/* The cached statement, reset and ready for binding; NULL on error. */
sqlite3_stmt *index_stmt(struct index *ix, enum index_st which);
/* Ends a statement's run so it holds no read lock. */
void index_done(sqlite3_stmt *s);
/* Bind a blob / a text (NULL binds ""), both copied by SQLite. */
int index_blob(sqlite3_stmt *s, int col, const void *p, size_t n);
int index_text(sqlite3_stmt *s, int col, const char *t);
/* Runs a statement that returns no rows: 0 or index_fail's result. */
int index_exec_st(struct index *ix, sqlite3_stmt *s, const char *what,
		  struct buf *err);
/* Copies a 32-byte blob column; 0 or -EBADMSG when it has another size. */
int index_col_id(sqlite3_stmt *s, int col, uint8_t out[32]);
/* Reads the columns of a chunk's place (pid, pack name, offset, stored
 * and raw length, type, a delta's base and depth) starting at column
 * col; 0 or -EBADMSG. */
int index_col_loc(sqlite3_stmt *s, int col, struct index_loc *loc);
/* Runs an (id, place) query bound to pid and calls cb for each row;
 * non-zero from cb stops and is returned. */
int index_loc_rows(struct index *ix, enum index_st which, int64_t pid,
		   int (*cb)(void *, const uint8_t *,
			     const struct index_loc *),
		   void *ctx, struct buf *err);

/* Prepares a cached statement or returns (from the calling function)
 * why it could not be. */
#define INDEX_STMT(ix, s, which, err) do { \
	(s) = index_stmt((ix), (which)); \
	if (!(s)) \
		return index_fail((ix), sqlite3_errcode((ix)->db), \
				  "prepare", (err)); \
} while (0)

#endif

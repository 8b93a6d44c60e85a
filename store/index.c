/*
 * index: the SQLite index of a repository (schema in formats/repository.md).
 *
 * Statements are prepared once per connection and cached by number; values
 * are always bound as parameters.  The page cache is bounded and mmap is
 * off, so the process does not grow with the repository: big sets (the
 * chunk references of the snapshot being written, the prune plan) live in
 * SQLite tables on disk, not in our memory.
 *
 * This file holds the connection: the SQL of every cached statement,
 * the schema, the helpers around SQLite (index-int.h), transactions,
 * packs and chunks, and the totals.  Snapshot rows, references and
 * tombstones are index-snap.c; the set arithmetic of prune is
 * index-prune.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sqlite3.h>

#include "index.h"
#include "index-int.h"

#define INDEX_SCHEMA_VERSION 2

/* A chunk is live when some snapshot not being dropped references it,
 * or it is a tombstone blob whose cancelled snapshot blob is indexed in
 * a pack that is not going away. */
#define INDEX_LIVE_EXPR \
	"(EXISTS(SELECT 1 FROM snapshot_chunks sc WHERE sc.chunk = c.id" \
	" AND sc.sid NOT IN (SELECT sid FROM temp.prune_drop))" \
	" OR EXISTS(SELECT 1 FROM tombstones t WHERE t.blob = c.id" \
	" AND EXISTS(SELECT 1 FROM chunks c2 WHERE c2.id = t.snap" \
	" AND c2.pid NOT IN (SELECT pid FROM temp.prune_gone))))"

/* A chunk's place and, for a delta, its base and depth (NULL, NULL for a
 * full chunk): every query that returns places reads INDEX_LOC_FROM. */
#define INDEX_LOC_COLS \
	"c.pid, p.name, c.off, c.len, c.raw_len, c.type, b.base, b.depth"
#define INDEX_LOC_FROM " FROM chunks c JOIN packs p ON p.pid = c.pid" \
	" LEFT JOIN chunk_bases b ON b.id = c.id"

static const char *const index_sql[ST_COUNT] = {
	[ST_BEGIN] = "BEGIN IMMEDIATE",
	[ST_COMMIT] = "COMMIT",
	[ST_ROLLBACK] = "ROLLBACK",
	[ST_PACK_ADD] = "INSERT INTO packs(name, size, nblobs) VALUES(?1, ?2, ?3)",
	[ST_CHUNK_ADD] = "INSERT OR IGNORE INTO chunks(id, pid, off, len, raw_len,"
		" type) VALUES(?1, ?2, ?3, ?4, ?5, ?6)",
	[ST_CHUNK_PUT] = "INSERT OR REPLACE INTO chunks(id, pid, off, len, raw_len,"
		" type) VALUES(?1, ?2, ?3, ?4, ?5, ?6)",
	[ST_PACK_EXISTS] = "SELECT 1 FROM packs WHERE name = ?1",
	[ST_PACK_ALL] = "SELECT pid, name, size, nblobs FROM packs ORDER BY name",
	[ST_PACK_CHUNKS] = "SELECT c.id, " INDEX_LOC_COLS INDEX_LOC_FROM
		" WHERE c.pid = ?1 ORDER BY c.off",
	[ST_PACK_DEL_CHUNKS] = "DELETE FROM chunks WHERE pid = ?1",
	[ST_PACK_DEL] = "DELETE FROM packs WHERE pid = ?1",
	[ST_CHUNK_GET] = "SELECT " INDEX_LOC_COLS INDEX_LOC_FROM
		" WHERE c.id = ?1",
	[ST_REFS_RESET] = "DELETE FROM temp.refs",
	[ST_REF_ADD] = "INSERT OR IGNORE INTO temp.refs(chunk) VALUES(?1)",
	[ST_SNAP_ADD] = "INSERT INTO snapshots(id, idhex, time, hostname, source,"
		" entries, bytes_read, bytes_added, bytes_stored, meta_json)"
		" VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
	[ST_TAG_ADD] = "INSERT INTO snapshot_tags(sid, pos, tag) VALUES(?1, ?2, ?3)",
	/* the references and, recursively, the bases of the deltas among
	 * them: a snapshot keeps what it needs to read its chunks */
	[ST_SNAP_REFS] = "WITH RECURSIVE r(id) AS (SELECT chunk FROM temp.refs"
		" UNION SELECT b.base FROM chunk_bases b JOIN r ON b.id = r.id)"
		" INSERT OR IGNORE INTO snapshot_chunks(sid, chunk)"
		" SELECT ?1, id FROM r",
	[ST_SNAP_BY_SID] = "SELECT idhex, time, hostname, source, entries,"
		" bytes_read, bytes_added, bytes_stored, meta_json"
		" FROM snapshots WHERE sid = ?1",
	[ST_SNAP_SID] = "SELECT sid FROM snapshots WHERE id = ?1",
	[ST_SNAP_TAGS] = "SELECT tag FROM snapshot_tags WHERE sid = ?1 ORDER BY pos",
	[ST_SNAP_ALL] = "SELECT sid FROM snapshots ORDER BY time, sid",
	[ST_SNAP_TAGGED] = "SELECT s.sid FROM snapshots s WHERE EXISTS(SELECT 1"
		" FROM snapshot_tags t WHERE t.sid = s.sid AND t.tag = ?1)"
		" ORDER BY s.time, s.sid",
	[ST_SNAP_MATCH] = "SELECT idhex FROM snapshots"
		" WHERE substr(idhex, 1, length(?1)) = ?1 ORDER BY idhex",
	[ST_SNAP_AT] = "SELECT idhex FROM snapshots s WHERE time <= ?1"
		" AND EXISTS(SELECT 1 FROM snapshot_tags t WHERE t.sid = s.sid"
		" AND t.tag = ?2) = ?3 ORDER BY time DESC, sid DESC LIMIT 1",
	[ST_SNAP_DEL] = "DELETE FROM snapshots WHERE sid = ?1",
	[ST_SNAP_DEL_TAGS] = "DELETE FROM snapshot_tags WHERE sid = ?1",
	[ST_SNAP_DEL_REFS] = "DELETE FROM snapshot_chunks WHERE sid = ?1",
	[ST_CHUNK_SNAPS] = "SELECT DISTINCT s.id FROM snapshot_chunks sc"
		" JOIN snapshots s ON s.sid = sc.sid WHERE sc.chunk = ?1"
		" ORDER BY s.time, s.sid",
	[ST_TOMB_ADD] = "INSERT OR REPLACE INTO tombstones(snap, blob)"
		" VALUES(?1, ?2)",
	[ST_TOMB_HAS] = "SELECT 1 FROM tombstones WHERE snap = ?1",
	[ST_TOMB_SWEEP] = "DELETE FROM tombstones WHERE NOT EXISTS"
		" (SELECT 1 FROM chunks c WHERE c.id = tombstones.blob)",
	[ST_DROP_CLEAR] = "DELETE FROM temp.prune_drop",
	[ST_DROP_ADD] = "INSERT OR IGNORE INTO temp.prune_drop(sid)"
		" SELECT sid FROM snapshots WHERE id = ?1",
	[ST_USAGE] = "SELECT p.pid, p.name, p.size, p.nblobs, COUNT(u.len),"
		" TOTAL(u.len), TOTAL(u.live), TOTAL(u.live * u.len),"
		" TOTAL(u.type = 5)"
		" FROM packs p LEFT JOIN (SELECT c.pid AS pid, c.len AS len,"
		" c.type AS type, " INDEX_LIVE_EXPR " AS live FROM chunks c) u"
		" ON u.pid = p.pid GROUP BY p.pid ORDER BY p.name",
	[ST_GONE_CLEAR] = "DELETE FROM temp.prune_gone",
	[ST_GONE_ADD] = "INSERT OR IGNORE INTO temp.prune_gone(pid) VALUES(?1)",
	[ST_LIVE] = "SELECT c.id, " INDEX_LOC_COLS INDEX_LOC_FROM
		" WHERE c.pid = ?1 AND " INDEX_LIVE_EXPR " ORDER BY c.off",
	[ST_STAT_COUNTS] = "SELECT COUNT(*), TOTAL(bytes_read) FROM snapshots",
	[ST_STAT_PACKS] = "SELECT COUNT(*), TOTAL(size) FROM packs",
	[ST_STAT_CHUNKS] = "SELECT COUNT(*), TOTAL(raw_len) FROM chunks",
	[ST_OF_TYPE] = "SELECT c.id, " INDEX_LOC_COLS INDEX_LOC_FROM
		" WHERE c.type = ?1 ORDER BY c.id",
	[ST_MISSING] = "SELECT s.id, sc.chunk FROM snapshot_chunks sc"
		" JOIN snapshots s ON s.sid = sc.sid WHERE NOT EXISTS"
		" (SELECT 1 FROM chunks c WHERE c.id = sc.chunk)"
		" ORDER BY s.time, s.sid",
	/* only for the copy the chunk row names (the first one indexed) */
	[ST_BASE_ADD] = "INSERT OR REPLACE INTO chunk_bases(id, base, depth)"
		" SELECT ?1, ?2, ?3 WHERE EXISTS(SELECT 1 FROM chunks c JOIN"
		" packs p ON p.pid = c.pid WHERE c.id = ?1 AND p.name = ?4)",
	/* deltas whose base is not indexed, and those above them */
	[ST_SWEEP_CHUNKS] = "WITH RECURSIVE k(id) AS (SELECT b.id FROM"
		" chunk_bases b WHERE NOT EXISTS(SELECT 1 FROM chunks c"
		" WHERE c.id = b.base) UNION SELECT b.id FROM chunk_bases b"
		" JOIN k ON b.base = k.id)"
		" DELETE FROM chunks WHERE id IN (SELECT id FROM k)",
	[ST_SWEEP_LINKS] = "DELETE FROM chunk_bases WHERE NOT EXISTS"
		" (SELECT 1 FROM chunks c WHERE c.id = chunk_bases.id)",
	[ST_DEPENDENTS] = "WITH RECURSIVE d(id) AS (SELECT ?1 UNION"
		" SELECT b.id FROM chunk_bases b JOIN d ON b.base = d.id)"
		" SELECT id FROM d WHERE id != ?1",
};

/* Schema version 2: delta chunks' links (version 1 is everything else). */
#define INDEX_BASES_SCHEMA \
	"CREATE TABLE IF NOT EXISTS chunk_bases(" \
	" id BLOB PRIMARY KEY," \
	" base BLOB NOT NULL," \
	" depth INTEGER NOT NULL) WITHOUT ROWID;" \
	"CREATE INDEX IF NOT EXISTS chunk_bases_base ON chunk_bases(base);"

static const char index_schema[] =
	"CREATE TABLE IF NOT EXISTS packs("
	" pid INTEGER PRIMARY KEY,"
	" name BLOB NOT NULL UNIQUE,"
	" size INTEGER NOT NULL,"
	" nblobs INTEGER NOT NULL);"
	"CREATE TABLE IF NOT EXISTS chunks("
	" id BLOB PRIMARY KEY,"
	" pid INTEGER NOT NULL,"
	" off INTEGER NOT NULL,"
	" len INTEGER NOT NULL,"
	" raw_len INTEGER NOT NULL,"
	" type INTEGER NOT NULL) WITHOUT ROWID;"
	"CREATE INDEX IF NOT EXISTS chunks_pid ON chunks(pid, off);"
	"CREATE TABLE IF NOT EXISTS snapshots("
	" sid INTEGER PRIMARY KEY,"
	" id BLOB NOT NULL UNIQUE,"
	" idhex TEXT NOT NULL UNIQUE,"
	" time INTEGER NOT NULL,"
	" hostname TEXT NOT NULL,"
	" source TEXT NOT NULL,"
	" entries INTEGER NOT NULL,"
	" bytes_read INTEGER NOT NULL,"
	" bytes_added INTEGER NOT NULL,"
	" bytes_stored INTEGER NOT NULL,"
	" meta_json TEXT NOT NULL);"
	"CREATE INDEX IF NOT EXISTS snapshots_time ON snapshots(time);"
	"CREATE TABLE IF NOT EXISTS snapshot_tags("
	" sid INTEGER NOT NULL,"
	" pos INTEGER NOT NULL,"
	" tag TEXT NOT NULL,"
	" PRIMARY KEY(sid, pos)) WITHOUT ROWID;"
	"CREATE INDEX IF NOT EXISTS snapshot_tags_tag ON snapshot_tags(tag);"
	"CREATE TABLE IF NOT EXISTS snapshot_chunks("
	" sid INTEGER NOT NULL,"
	" chunk BLOB NOT NULL,"
	" PRIMARY KEY(sid, chunk)) WITHOUT ROWID;"
	"CREATE INDEX IF NOT EXISTS snapshot_chunks_chunk"
	" ON snapshot_chunks(chunk);"
	"CREATE TABLE IF NOT EXISTS tombstones("
	" snap BLOB PRIMARY KEY,"
	" blob BLOB NOT NULL) WITHOUT ROWID;"
	"CREATE INDEX IF NOT EXISTS tombstones_blob ON tombstones(blob);"
	INDEX_BASES_SCHEMA;

/* A version-1 index has no deltas: a connection that may not add the
 * table reads an empty one in its place (TEMP names come first). */
static const char index_bases_stand_in[] =
	"CREATE TEMP TABLE IF NOT EXISTS chunk_bases(id BLOB PRIMARY KEY,"
	" base BLOB NOT NULL, depth INTEGER NOT NULL) WITHOUT ROWID;";

/* Per-connection scratch tables; TEMP lives in a temp file, not RAM. */
static const char index_temp_schema[] =
	"PRAGMA temp_store = FILE;"
	"PRAGMA temp.cache_size = -2000;"
	"CREATE TEMP TABLE IF NOT EXISTS refs(chunk BLOB PRIMARY KEY)"
	" WITHOUT ROWID;"
	"CREATE TEMP TABLE IF NOT EXISTS prune_drop(sid INTEGER PRIMARY KEY);"
	"CREATE TEMP TABLE IF NOT EXISTS prune_gone(pid INTEGER PRIMARY KEY);";

int index_errno(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_ROW:
	case SQLITE_DONE:
		return 0;
	case SQLITE_NOMEM:
		return -ENOMEM;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return -EBUSY;
	case SQLITE_FULL:
		return -ENOSPC;
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		return -EBADMSG;
	case SQLITE_CANTOPEN:
		return -ENOENT;
	case SQLITE_READONLY:
	case SQLITE_PERM:
		return -EACCES;
	case SQLITE_CONSTRAINT:
		return -EEXIST;
	default:
		return -EIO;
	}
}

/* Translates the connection's last error into -errno and a message. */
int index_fail(struct index *ix, int rc, const char *what,
	       struct buf *err)
{
	int e = index_errno(rc);

	if (e == 0)
		e = -EIO;
	if (err && !(ix && ix->db)) {
		buf_reset(err);
		buf_addf(err, "index: %s: %s%s", what, sqlite3_errstr(rc),
			 index_damage_hint(e));
		return e;
	}
	return index_fail_errno(ix, e, what, err);
}

int index_fail_errno(struct index *ix, int e, const char *what,
		     struct buf *err)
{
	if (err) {
		buf_reset(err);
		buf_addf(err, "index: %s: %s%s", what,
			 ix && ix->db && sqlite3_errcode(ix->db) != SQLITE_OK
			 ? sqlite3_errmsg(ix->db) : strerror(-e),
			 index_damage_hint(e));
	}
	return e;
}

/* Whichever verb meets a damaged index, the way out is the same. */
const char *index_damage_hint(int rc)
{
	return rc == -EBADMSG ? " (the index is damaged; `vault check"
				" --rebuild-index` rebuilds it)" : "";
}

/* The cached statement, reset and ready for binding; NULL on error. */
sqlite3_stmt *index_stmt(struct index *ix, enum index_st which)
{
	sqlite3_stmt *s = ix->st[which];

	if (!s) {
		if (sqlite3_prepare_v3(ix->db, index_sql[which], -1,
				       SQLITE_PREPARE_PERSISTENT, &s,
				       NULL) != SQLITE_OK)
			return NULL;
		ix->st[which] = s;
	}
	return s;
}

/* Ends a statement's run so it holds no read lock. */
void index_done(sqlite3_stmt *s)
{
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
}

int index_blob(sqlite3_stmt *s, int col, const void *p, size_t n)
{
	return sqlite3_bind_blob(s, col, p, (int)n, SQLITE_TRANSIENT);
}

int index_text(sqlite3_stmt *s, int col, const char *t)
{
	return sqlite3_bind_text(s, col, t ? t : "", -1, SQLITE_TRANSIENT);
}

/* Runs a statement that returns no rows. */
int index_exec_st(struct index *ix, sqlite3_stmt *s, const char *what,
		  struct buf *err)
{
	int rc = sqlite3_step(s);

	if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
		rc = index_fail(ix, rc, what, err);
		index_done(s);
		return rc;
	}
	index_done(s);
	return 0;
}

/*
 * Pragmas, schema check and TEMP tables of a new connection.  A
 * read-only one (readers: index-ro.c) changes nothing in the file: it
 * leaves the journal mode as it is and refuses a database without the
 * schema instead of creating it, since an empty index would hide every
 * snapshot.
 */
static int index_setup(struct index *ix, int readonly, struct buf *err)
{
	static const char pragmas_rw[] =
		"PRAGMA journal_mode = WAL;"
		"PRAGMA synchronous = FULL;";
	static const char pragmas[] =
		"PRAGMA cache_size = -8000;"
		"PRAGMA mmap_size = 0;"
		"PRAGMA foreign_keys = OFF;";
	sqlite3_stmt *s;
	int rc, ver = 0;

	sqlite3_busy_timeout(ix->db, 30000);
	rc = sqlite3_exec(ix->db, pragmas, NULL, NULL, NULL);
	if (rc == SQLITE_OK && !readonly)
		rc = sqlite3_exec(ix->db, pragmas_rw, NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		return index_fail(ix, rc, "setup", err);
	rc = sqlite3_prepare_v2(ix->db, "PRAGMA user_version", -1, &s, NULL);
	if (rc != SQLITE_OK)
		return index_fail(ix, rc, "setup", err);
	rc = sqlite3_step(s);
	if (rc != SQLITE_ROW) {	/* the first read: WAL side files, locks */
		rc = index_fail(ix, rc, "setup", err);
		sqlite3_finalize(s);
		return rc;
	}
	ver = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	if (ver > INDEX_SCHEMA_VERSION) {
		if (err) {
			buf_reset(err);
			buf_addf(err, "index: schema version %d is newer than"
				 " this vault understands", ver);
		}
		return -EINVAL;
	}
	if (ver == 0 && readonly) {
		if (err) {
			buf_reset(err);
			buf_addf(err, "index: it holds no index (schema version"
				 " %d)", ver);
		}
		return -EBADMSG;
	}
	if (ver < INDEX_SCHEMA_VERSION && !readonly) {
		/* a new index, or version 1 gaining chunk_bases: every
		 * statement is IF NOT EXISTS */
		rc = sqlite3_exec(ix->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
		if (rc == SQLITE_OK)
			rc = sqlite3_exec(ix->db, index_schema, NULL, NULL,
					  NULL);
		if (rc == SQLITE_OK)
			rc = sqlite3_exec(ix->db, "PRAGMA user_version = 2;"
					  "COMMIT", NULL, NULL, NULL);
		if (rc != SQLITE_OK) {
			rc = index_fail(ix, rc, "create schema", err);
			sqlite3_exec(ix->db, "ROLLBACK", NULL, NULL, NULL);
			return rc;
		}
	}
	/* TEMP tables live in their own database, writable even on a
	 * read-only connection; the stand-in comes after the pragmas of
	 * index_temp_schema, since changing temp_store drops TEMP tables */
	rc = sqlite3_exec(ix->db, index_temp_schema, NULL, NULL, NULL);
	if (rc == SQLITE_OK && readonly && ver < INDEX_SCHEMA_VERSION)
		rc = sqlite3_exec(ix->db, index_bases_stand_in, NULL, NULL,
				  NULL);
	if (rc != SQLITE_OK)
		return index_fail(ix, rc, "setup temp tables", err);
	return 0;
}

int index_connect(struct index **out, const char *path, const char *uri,
		  int flags, struct buf *err)
{
	struct index *ix;
	int rc;

	*out = NULL;
	ix = calloc(1, sizeof(*ix));
	if (!ix)
		return -ENOMEM;
	rc = sqlite3_open_v2(uri ? uri : path, &ix->db,
			     flags | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		rc = index_fail(ix, rc, path, err);
		index_free(ix);
		return rc;
	}
	rc = index_setup(ix, !(flags & SQLITE_OPEN_READWRITE), err);
	if (rc < 0) {
		index_free(ix);
		return rc;
	}
	*out = ix;
	return 0;
}

int index_open(struct index **out, const char *path, struct buf *err)
{
	return index_connect(out, path, NULL, SQLITE_OPEN_READWRITE |
			     SQLITE_OPEN_CREATE, err);
}

void index_free(struct index *ix)
{
	if (!ix)
		return;
	for (int i = 0; i < ST_COUNT; i++)
		sqlite3_finalize(ix->st[i]);
	if (ix->db)
		sqlite3_close(ix->db);
	free(ix);
}

int index_begin(struct index *ix, struct buf *err)
{
	sqlite3_stmt *s;
	int rc;

	INDEX_STMT(ix, s, ST_BEGIN, err);
	rc = index_exec_st(ix, s, "begin", err);
	if (rc == 0)
		ix->in_txn = 1;
	return rc;
}

int index_commit(struct index *ix, struct buf *err)
{
	sqlite3_stmt *s;
	int rc;

	INDEX_STMT(ix, s, ST_COMMIT, err);
	rc = index_exec_st(ix, s, "commit", err);
	if (rc == 0)
		ix->in_txn = 0;
	else
		index_rollback(ix);
	return rc;
}

void index_rollback(struct index *ix)
{
	sqlite3_stmt *s;

	if (!ix || !ix->in_txn)
		return;
	ix->in_txn = 0;
	if (sqlite3_get_autocommit(ix->db))
		return;
	s = index_stmt(ix, ST_ROLLBACK);
	if (s) {
		sqlite3_step(s);
		index_done(s);
	}
}

int index_seal(struct index *ix, struct buf *err)
{
	int rc = sqlite3_exec(ix->db, "PRAGMA journal_mode = DELETE", NULL,
			      NULL, NULL);

	return rc == SQLITE_OK ? 0 : index_fail(ix, rc, "seal", err);
}

/* ---- packs and chunks -------------------------------------------- */

static int index_chunk_bind(sqlite3_stmt *s, const struct pack_entry *e,
			    int64_t pid)
{
	index_blob(s, 1, e->id, PACK_ID_SIZE);
	sqlite3_bind_int64(s, 2, pid);
	sqlite3_bind_int64(s, 3, (int64_t)e->offset);
	sqlite3_bind_int64(s, 4, e->length);
	sqlite3_bind_int64(s, 5, e->raw_len);
	return sqlite3_bind_int(s, 6, e->type);
}

int index_pack_add(struct index *ix, const uint8_t name[PACK_ID_SIZE],
		   uint64_t size, const struct pack_entry *e, size_t n,
		   unsigned types, unsigned flags, struct buf *err)
{
	sqlite3_stmt *s, *c;
	int64_t pid;
	int rc;

	INDEX_STMT(ix, s, ST_PACK_ADD, err);
	INDEX_STMT(ix, c, flags & INDEX_ADD_REPLACE ? ST_CHUNK_PUT
		   : ST_CHUNK_ADD, err);
	index_blob(s, 1, name, PACK_ID_SIZE);
	sqlite3_bind_int64(s, 2, (int64_t)size);
	sqlite3_bind_int64(s, 3, (int64_t)n);
	rc = index_exec_st(ix, s, "add pack", err);
	if (rc < 0)
		return rc;
	pid = sqlite3_last_insert_rowid(ix->db);
	for (size_t i = 0; i < n; i++) {
		if (types && !(types & (1u << e[i].type)))
			continue;
		index_chunk_bind(c, &e[i], pid);
		rc = index_exec_st(ix, c, "add chunk", err);
		if (rc < 0)
			return rc;
	}
	return 0;
}

int index_chunk_add(struct index *ix, int64_t pid, const struct pack_entry *e,
		    struct buf *err)
{
	sqlite3_stmt *c;

	INDEX_STMT(ix, c, ST_CHUNK_ADD, err);
	index_chunk_bind(c, e, pid);
	return index_exec_st(ix, c, "add chunk", err);
}

int index_pack_exists(struct index *ix, const uint8_t name[PACK_ID_SIZE])
{
	sqlite3_stmt *s = index_stmt(ix, ST_PACK_EXISTS);
	int rc;

	if (!s)
		return index_errno(sqlite3_errcode(ix->db));
	index_blob(s, 1, name, PACK_ID_SIZE);
	rc = sqlite3_step(s);
	index_done(s);
	if (rc == SQLITE_ROW)
		return 1;
	return rc == SQLITE_DONE ? 0 : index_errno(rc);
}

/* Copies a 32-byte blob column; 0 or -EBADMSG when it has another size. */
int index_col_id(sqlite3_stmt *s, int col, uint8_t out[32])
{
	const void *p = sqlite3_column_blob(s, col);

	if (!p || sqlite3_column_bytes(s, col) != 32)
		return -EBADMSG;
	memcpy(out, p, 32);
	return 0;
}

/* Reads INDEX_LOC_COLS starting at column col. */
int index_col_loc(sqlite3_stmt *s, int col, struct index_loc *loc)
{
	int64_t depth = sqlite3_column_int64(s, col + 7);

	loc->pid = sqlite3_column_int64(s, col);
	loc->offset = (uint64_t)sqlite3_column_int64(s, col + 2);
	loc->length = (uint32_t)sqlite3_column_int64(s, col + 3);
	loc->raw_len = (uint32_t)sqlite3_column_int64(s, col + 4);
	loc->type = (uint8_t)sqlite3_column_int(s, col + 5);
	memset(loc->base, 0, sizeof(loc->base));
	loc->depth = 0;
	if (sqlite3_column_type(s, col + 6) != SQLITE_NULL) {
		/* a delta: its link must be whole */
		if (depth < 1 || depth > INDEX_MAX_DEPTH ||
		    index_col_id(s, col + 6, loc->base) < 0)
			return -EBADMSG;
		loc->depth = (uint8_t)depth;
	}
	return index_col_id(s, col + 1, loc->pack);
}

int index_pack_foreach(struct index *ix,
		       int (*cb)(void *ctx, const struct index_pack *p),
		       void *ctx, struct buf *err)
{
	struct index_pack p;
	sqlite3_stmt *s;
	int rc, r = 0;

	INDEX_STMT(ix, s, ST_PACK_ALL, err);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		p.pid = sqlite3_column_int64(s, 0);
		p.size = (uint64_t)sqlite3_column_int64(s, 2);
		p.nblobs = (uint64_t)sqlite3_column_int64(s, 3);
		if (index_col_id(s, 1, p.name) < 0)
			continue;
		r = cb(ctx, &p);
		if (r)
			break;
	}
	if (!r && rc != SQLITE_DONE)
		r = index_fail(ix, rc, "list packs", err);
	index_done(s);
	return r;
}

/* Runs a (id, loc) query bound to pid and calls cb for each row. */
int index_loc_rows(struct index *ix, enum index_st which, int64_t pid,
		   int (*cb)(void *, const uint8_t *,
			     const struct index_loc *),
		   void *ctx, struct buf *err)
{
	struct index_loc loc;
	uint8_t id[32];
	sqlite3_stmt *s;
	int rc, r = 0;

	INDEX_STMT(ix, s, which, err);
	sqlite3_bind_int64(s, 1, pid);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (index_col_id(s, 0, id) < 0 || index_col_loc(s, 1, &loc) < 0)
			continue;
		r = cb(ctx, id, &loc);
		if (r)
			break;
	}
	if (!r && rc != SQLITE_DONE)
		r = index_fail(ix, rc, "list chunks", err);
	index_done(s);
	return r;
}

int index_pack_chunks(struct index *ix, int64_t pid,
		      int (*cb)(void *ctx, const uint8_t *id,
				const struct index_loc *loc),
		      void *ctx, struct buf *err)
{
	return index_loc_rows(ix, ST_PACK_CHUNKS, pid, cb, ctx, err);
}

int index_pack_delete(struct index *ix, int64_t pid, uint64_t *removed,
		      struct buf *err)
{
	sqlite3_stmt *s;
	int rc;

	INDEX_STMT(ix, s, ST_PACK_DEL_CHUNKS, err);
	sqlite3_bind_int64(s, 1, pid);
	rc = index_exec_st(ix, s, "delete chunks", err);
	if (rc < 0)
		return rc;
	if (removed)
		*removed = (uint64_t)sqlite3_changes(ix->db);
	INDEX_STMT(ix, s, ST_PACK_DEL, err);
	sqlite3_bind_int64(s, 1, pid);
	return index_exec_st(ix, s, "delete pack", err);
}

int index_chunk_get(struct index *ix, const uint8_t id[INDEX_ID_SIZE],
		    struct index_loc *loc)
{
	sqlite3_stmt *s = index_stmt(ix, ST_CHUNK_GET);
	int rc;

	if (!s)
		return index_errno(sqlite3_errcode(ix->db));
	index_blob(s, 1, id, INDEX_ID_SIZE);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		rc = index_col_loc(s, 0, loc) < 0 ? -EBADMSG : 1;
	else
		rc = rc == SQLITE_DONE ? 0 : index_errno(rc);
	index_done(s);
	return rc;
}

int index_chunks_of_type(struct index *ix, uint8_t type,
			 int (*cb)(void *ctx, const uint8_t *id,
				   const struct index_loc *loc),
			 void *ctx, struct buf *err)
{
	return index_loc_rows(ix, ST_OF_TYPE, type, cb, ctx, err);
}
/* Two numbers from a one-row aggregate statement. */
static int index_pair(struct index *ix, enum index_st which, uint64_t *a,
		      uint64_t *b, struct buf *err)
{
	sqlite3_stmt *s;
	int rc;

	INDEX_STMT(ix, s, which, err);
	rc = sqlite3_step(s);
	if (rc != SQLITE_ROW) {
		rc = index_fail(ix, rc, "stats", err);
		index_done(s);
		return rc;
	}
	*a = (uint64_t)sqlite3_column_int64(s, 0);
	*b = (uint64_t)sqlite3_column_double(s, 1);
	index_done(s);
	return 0;
}

int index_stats(struct index *ix, struct repo_stats *st, struct buf *err)
{
	int rc;

	memset(st, 0, sizeof(*st));
	rc = index_pair(ix, ST_STAT_COUNTS, &st->snapshots,
			&st->referenced_raw, err);
	if (rc == 0)
		rc = index_pair(ix, ST_STAT_PACKS, &st->packs,
				&st->stored_bytes, err);
	if (rc == 0)
		rc = index_pair(ix, ST_STAT_CHUNKS, &st->chunks,
				&st->raw_bytes, err);
	return rc;
}

int index_quick_check(struct index *ix, struct buf *msg)
{
	const unsigned char *t;
	sqlite3_stmt *s;
	int rc, bad = 0;

	rc = sqlite3_prepare_v2(ix->db, "PRAGMA quick_check(8)", -1, &s, NULL);
	if (rc != SQLITE_OK)
		return index_fail(ix, rc, "quick_check", msg);
	buf_reset(msg);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		t = sqlite3_column_text(s, 0);
		if (t && strcmp((const char *)t, "ok")) {
			buf_addf(msg, "%s%s", bad ? "; " : "", (const char *)t);
			bad = 1;
		}
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE)
		return index_fail(ix, rc, "quick_check", msg);
	return bad;
}

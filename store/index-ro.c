/*
 * index-ro: opening index.db for a reader, which never writes it, even
 * where it could not: a read-only mount, a write-protected directory, a
 * full disk.
 *
 * The index runs in WAL mode.  SQLite keeps the newest commits in
 * index.db-wal until a checkpoint folds them into index.db, and its
 * connections coordinate through index.db-shm; any connection, even a
 * read-only one, creates both when they are missing, and the last one to
 * close deletes them.  So a reader usually finds neither, and where it
 * cannot create files it cannot open index.db the usual way.  Two ways
 * in (declared in index.h):
 *
 *   index_open_ro         read-only, sharing the side files with writers
 *                         as SQLite always does (it reads them even when
 *                         it cannot write them); -EROFS when they are
 *                         missing and cannot be made here: the directory
 *                         is not writable, the disk is (nearly) full, or
 *                         SQLite failed to create them.
 *   index_open_immutable  index.db alone, as a file nothing changes: no
 *                         side files, no locks.  Commits still waiting in
 *                         index.db-wal (or an interrupted transaction in
 *                         index.db-journal) would be silently ignored that
 *                         way, so then it refuses with -EROFS, and says
 *                         how to read them.  The caller keeps writers out
 *                         while the connection is open (the writer lock,
 *                         held shared): SQLite does not look for changes.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sqlite3.h>

#include "index.h"
#include "index-int.h"

/* 1 and *size when path + suffix exists, 0 when not, or -errno. */
static int index_ro_side(const char *path, const char *suffix, off_t *size)
{
	struct buf p = BUF_INIT;
	struct stat st;
	int rc;

	*size = 0;
	rc = buf_addf(&p, "%s%s", path, suffix);
	if (rc == 0 && stat((char *)p.data, &st) < 0)
		rc = errno == ENOENT ? 0 : -errno;
	else if (rc == 0) {
		*size = st.st_size;
		rc = 1;
	}
	buf_release(&p);
	return rc;
}

/* Less free space than this and the side files are not even tried:
 * index.db-shm takes 32 KiB, and a failed try would leave a stub of it
 * behind (harmless, but litter in a repository a reader should not
 * touch). */
#define INDEX_RO_MIN_FREE	(256u << 10)

/* 0 when this process may create files beside path, else -errno
 * (-EROFS for a read-only file system, -EACCES for permissions,
 * -ENOSPC for a full disk). */
static int index_ro_dir_writable(const char *path)
{
	const char *slash = strrchr(path, '/');
	struct buf dir = BUF_INIT;
	struct statvfs vfs;
	int rc;

	if (!slash)
		rc = buf_add(&dir, ".", 1);
	else
		rc = buf_add(&dir, path, slash == path ? 1
			     : (size_t)(slash - path));
	if (rc == 0 && faccessat(AT_FDCWD, (char *)dir.data, W_OK,
				 AT_EACCESS) < 0)
		rc = -errno;
	if (rc == 0 && statvfs((char *)dir.data, &vfs) == 0 &&
	    (uint64_t)vfs.f_bavail * vfs.f_frsize < INDEX_RO_MIN_FREE)
		rc = -ENOSPC;
	buf_release(&dir);
	return rc;
}

/* -EROFS, with err saying why the side files cannot be had. */
static int index_ro_cannot(struct buf *err, const char *path,
			   const char *why)
{
	struct buf msg = BUF_INIT;

	if (err) {
		buf_addf(&msg, "index: cannot create %s-shm beside %s: %s",
			 path, path, why);
		buf_reset(err);
		buf_add(err, msg.data, msg.len);
	}
	buf_release(&msg);
	return -EROFS;
}

/*
 * A writer killed in a rollback-journal transaction (the rebuild swaps
 * index.db in out of WAL mode) leaves a hot index.db-journal, which a
 * read-only connection may not roll back.  Where this process can write,
 * it does what any SQLite connection would: opens the file read-write
 * and reads, which rolls the interrupted transaction back to the last
 * commit.  Nothing committed is lost; a live writer's journal is not hot
 * (it holds its lock) and is left alone by SQLite.
 */
static void index_ro_recover_journal(const char *path)
{
	sqlite3 *db = NULL;
	off_t size;

	if (index_ro_side(path, "-journal", &size) != 1 || size == 0 ||
	    index_ro_dir_writable(path) < 0)
		return;
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) ==
	    SQLITE_OK)
		sqlite3_exec(db, "SELECT count(*) FROM sqlite_master", NULL,
			     NULL, NULL);
	sqlite3_close(db);
}

int index_open_ro(struct index **ix, const char *path, struct buf *err)
{
	off_t wal_size, shm_size;
	int wal, shm, rc;

	*ix = NULL;
	index_ro_recover_journal(path);
	wal = index_ro_side(path, "-wal", &wal_size);
	shm = index_ro_side(path, "-shm", &shm_size);
	/* with both there, SQLite reads them without writing anything */
	if (wal <= 0 || shm <= 0) {
		rc = index_ro_dir_writable(path);
		if (rc < 0)
			return index_ro_cannot(err, path, strerror(-rc));
	}
	rc = index_connect(ix, path, NULL, SQLITE_OPEN_READONLY, err);
	switch (rc) {
	case -EIO:	/* a full disk: SQLITE_IOERR_SHMSIZE and friends */
	case -ENOSPC:
	case -ENOENT:	/* SQLITE_CANTOPEN: the -wal could not be created */
	case -EACCES:	/* SQLITE_READONLY: nor the -shm */
		return index_ro_cannot(err, path, err && err->len ?
				       (char *)err->data : strerror(-rc));
	default:
		return rc;
	}
}

/* "file:" + path, percent-encoded, + "?immutable=1". */
static int index_ro_uri(const char *path, struct buf *out)
{
	static const char hex[] = "0123456789ABCDEF";
	int rc = buf_addf(out, "file:%s", path[0] == '/' ? "//" : "");

	for (const unsigned char *p = (const unsigned char *)path;
	     rc == 0 && *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || strchr("/-._~", *p))
			rc = buf_addch(out, (char)*p);
		else
			rc = buf_addf(out, "%%%c%c", hex[*p >> 4],
				      hex[*p & 15]);
	}
	return rc == 0 ? buf_addf(out, "?immutable=1") : rc;
}

int index_open_immutable(struct index **ix, const char *path,
			 struct buf *err)
{
	static const char *const pending[] = { "-wal", "-journal" };
	struct buf uri = BUF_INIT;
	off_t size;
	int rc;

	*ix = NULL;
	for (size_t i = 0; i < sizeof(pending) / sizeof(pending[0]); i++) {
		rc = index_ro_side(path, pending[i], &size);
		if (rc < 0 || (rc == 1 && size > 0)) {
			if (err) {
				buf_reset(err);
				buf_addf(err, "cannot read %s here: %s%s holds"
					 " changes that are not in it yet (a"
					 " writer was interrupted), and SQLite"
					 " folds them in only where it can"
					 " write; copy the repository to a"
					 " writable place and read it there",
					 path, path, pending[i]);
			}
			return -EROFS;
		}
	}
	rc = index_ro_uri(path, &uri);
	if (rc == 0)
		rc = index_connect(ix, path, (char *)uri.data,
				   SQLITE_OPEN_READONLY | SQLITE_OPEN_URI,
				   err);
	buf_release(&uri);
	return rc;
}

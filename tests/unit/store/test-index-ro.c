/*
 * test-index-ro: what a reader that cannot write relies on
 * (store/index-ro.c, store/lock.c): read-only connections that never
 * create a schema, immutable opens of paths SQLite's URIs would
 * misread, commits waiting in index.db-wal never silently skipped, and
 * the writer lock held shared keeping writers out.  The read-only mount,
 * write-protected directory and full disk themselves are
 * tests/cli/t0085-readonly.sh.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sqlite3.h>

#include "index.h"
#include "lock.h"
#include "../tap.h"

static char dir[] = "/tmp/vault-test-index-ro-XXXXXX";

static int rm_one(const char *path, const struct stat *st, int flag,
		  struct FTW *f)
{
	return remove(path);
}

/* Adds a pack row named tag...; 0 or -errno. */
static int add_pack(struct index *ix, uint8_t tag)
{
	uint8_t name[32];
	int rc;

	memset(name, tag, sizeof(name));
	rc = index_begin(ix, NULL);
	if (rc == 0)
		rc = index_pack_add(ix, name, 100, NULL, 0, 0, 0, NULL);
	if (rc == 0)
		rc = index_commit(ix, NULL);
	else
		index_rollback(ix);
	return rc;
}

static int has_pack(struct index *ix, uint8_t tag)
{
	uint8_t name[32];

	memset(name, tag, sizeof(name));
	return index_pack_exists(ix, name);
}

static off_t size_of(const char *path)
{
	struct stat st;

	return stat(path, &st) < 0 ? -1 : st.st_size;
}

/* A name every URI-special character could break: the immutable open
 * must escape it, not open some other file or fail. */
static void test_immutable_path(void)
{
	struct buf err = BUF_INIT;
	struct index *ix, *ro;
	char sub[256], path[300];

	snprintf(sub, sizeof(sub), "%s/a b?c#d%%e&f=g", dir);
	if (mkdir(sub, 0700) < 0) {
		ok(0, "mkdir %s", sub);
		return;
	}
	snprintf(path, sizeof(path), "%s/index.db", sub);
	is_int(index_open(&ix, path, NULL), 0, "index created under %s", sub);
	is_int(add_pack(ix, 1), 0, "a pack row");
	index_free(ix);
	is_int(index_open_immutable(&ro, path, &err), 0,
	       "immutable open of a path with ' ?#%%&='");
	if (ro) {
		is_int(has_pack(ro, 1), 1, "it reads that database");
		index_free(ro);
	}
	snprintf(path, sizeof(path), "%s/index.db-shm", sub);
	ok(size_of(path) < 0, "and created no side file");
	buf_release(&err);
}

static void test_no_schema(void)
{
	struct index *ro = NULL;
	char path[128];
	int fd;

	snprintf(path, sizeof(path), "%s/empty.db", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd >= 0)
		close(fd);
	is_int(index_open_ro(&ro, path, NULL), -EBADMSG,
	       "read-only: an empty file is no index");
	is_int(index_open_immutable(&ro, path, NULL), -EBADMSG,
	       "immutable: the same");
	is_int(size_of(path), 0, "and no schema was written into it");
	ok(ro == NULL, "nothing returned");
}

static void test_wal(void)
{
	struct buf err = BUF_INIT;
	struct index *w, *ro;
	char path[128], wal[140];

	snprintf(path, sizeof(path), "%s/wal.db", dir);
	snprintf(wal, sizeof(wal), "%s-wal", path);
	is_int(index_open(&w, path, NULL), 0, "a writer's connection");
	is_int(add_pack(w, 2), 0, "a commit, still in the WAL");
	ok(size_of(wal) > 0, "index.db-wal holds it");

	is_int(index_open_ro(&ro, path, &err), 0, "read-only, shared");
	if (ro) {
		is_int(has_pack(ro, 2), 1, "sees the commit in the WAL");
		is_int(add_pack(ro, 3), -EACCES, "cannot write");
		index_free(ro);
	}
	is_int(index_open_immutable(&ro, path, &err), -EROFS,
	       "immutable refuses while the WAL holds commits");
	ok(strstr((char *)err.data, "wal.db-wal holds changes") != NULL,
	   "naming the file: %s", (char *)err.data);

	index_free(w);	/* the last close checkpoints and drops the WAL */
	ok(size_of(wal) < 0, "the writer's close removed index.db-wal");
	is_int(index_open_immutable(&ro, path, &err), 0,
	       "then immutable opens");
	if (ro) {
		is_int(has_pack(ro, 2), 1, "and sees the commit");
		index_free(ro);
	}
	ok(size_of(wal) < 0, "an immutable open creates no side file");
	buf_release(&err);
}

/* A writer killed inside a rollback-journal transaction (as the rebuild's
 * swap can be) leaves a hot index.db-journal.  A reader that can write
 * rolls it back, as SQLite would, and sees the last commit. */
static void test_hot_journal(void)
{
	struct buf err = BUF_INIT;
	struct index *w, *ro = NULL;
	char path[128], journal[140];
	pid_t pid;
	int status = -1;

	snprintf(path, sizeof(path), "%s/hot.db", dir);
	snprintf(journal, sizeof(journal), "%s-journal", path);
	is_int(index_open(&w, path, NULL), 0, "a writer's connection");
	is_int(add_pack(w, 4), 0, "a commit");
	is_int(index_seal(w, NULL), 0, "out of WAL mode, as a rebuilt index");
	index_free(w);
	pid = fork();
	if (pid == 0) {
		sqlite3 *db = NULL;

		/* pages spill into index.db before the commit that never
		 * comes */
		if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) ||
		    sqlite3_exec(db, "PRAGMA cache_size = 1; BEGIN;"
				 " CREATE TABLE junk (x);"
				 " WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL"
				 " SELECT i + 1 FROM c WHERE i < 2000)"
				 " INSERT INTO junk SELECT randomblob(1000) FROM c;",
				 NULL, NULL, NULL))
			_exit(1);
		_exit(0);	/* no COMMIT, no close: as if killed */
	}
	waitpid(pid, &status, 0);
	ok(WIFEXITED(status) && WEXITSTATUS(status) == 0, "a writer died mid-transaction");
	ok(size_of(journal) > 0, "leaving a hot index.db-journal");
	is_int(index_open_ro(&ro, path, &err), 0, "a reader opens it: %s",
	       (char *)err.data);
	if (ro) {
		is_int(has_pack(ro, 4), 1, "and sees the last commit");
		index_free(ro);
	}
	ok(size_of(journal) <= 0, "the interrupted transaction was rolled back");
	buf_release(&err);
}

static void test_locks(void)
{
	struct buf err = BUF_INIT;
	struct lock *sh = NULL, *wr = NULL, *rd = NULL;
	char path[128], gone[160], pid[32];

	snprintf(path, sizeof(path), "%s/lock", dir);
	is_int(lock_writer(&wr, path, "test", 0, NULL), 0, "a writer");
	lock_release(wr);

	is_int(lock_writer_shared(&sh, path, 0, &err), 0,
	       "the writer lock held shared");
	is_int(lock_writer(&wr, path, "test", 0, &err), -EBUSY,
	       "keeps a writer out");
	ok(strstr((char *)err.data, "did not record itself") != NULL,
	   "saying a reader holds it: %s", (char *)err.data);
	lock_release(sh);
	is_int(lock_writer(&wr, path, "test", 0, NULL), 0,
	       "released: the writer gets it");
	is_int(lock_writer_shared(&sh, path, 0, &err), -EBUSY,
	       "while a writer holds it, shared waits, then gives up");
	snprintf(pid, sizeof(pid), "pid %ld", (long)getpid());
	ok(strstr((char *)err.data, pid) != NULL, "naming the writer: %s",
	   (char *)err.data);
	lock_release(wr);

	snprintf(gone, sizeof(gone), "%s/no-such-dir/lock.read", dir);
	is_int(lock_readers(&rd, gone, 0, 0, NULL), 0,
	       "a readers lock that cannot exist: readers go on without");
	lock_release(rd);
	rd = NULL;
	ok(lock_readers(&rd, gone, 1, 0, NULL) < 0 && !rd,
	   "the exclusive side (prune) does not");
	snprintf(gone, sizeof(gone), "%s/no-lock", dir);
	is_int(lock_writer_shared(&sh, gone, 0, NULL), 0,
	       "no writer lock file: nothing to hold");
	lock_release(sh);
	ok(size_of(gone) < 0, "and none was created");
	buf_release(&err);
}

int main(void)
{
	if (!mkdtemp(dir)) {
		diag("mkdtemp failed");
		return 1;
	}
	test_immutable_path();
	test_no_schema();
	test_wal();
	test_hot_journal();
	test_locks();
	if (getenv("KEEP"))
		return done_testing();
	if (nftw(dir, rm_one, 8, FTW_DEPTH | FTW_PHYS) < 0)
		diag("cleanup of %s failed", dir);
	return done_testing();
}

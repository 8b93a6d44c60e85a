/*
 * test-repo: a repository through repo.h: init and open with and without
 * a passphrase, changing it, writing and reading snapshots back
 * (streamed, rows-chunked, symlinks, attributes), dedup of a repeat,
 * snapshot info and name resolution, no plaintext at rest, and the
 * writer lock.  The repositories live in the fixture's directory
 * (storefix.h), removed at the end.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <unistd.h>
#include <sys/wait.h>

#include "repo.h"
#include "storefix.h"
#include "../tap.h"

/* ---- init, open, keys -------------------------------------------- */

static void test_keys(void)
{
	const char *enc = storefix_path("enc"), *plain = storefix_path("plain");
	struct repo *r;
	int rc;

	is_int(repo_init(plain, 0, NULL, 0, &storefix_err), 0,
	       "init unencrypted");
	is_int(repo_init(plain, 0, NULL, 0, &storefix_err), -EEXIST,
	       "init refuses a non-empty directory");
	is_int(storefix_open(&r, plain, 0, NULL), 0,
	       "open without a passphrase");
	is_int(repo_encrypted(r), 0, "not encrypted");
	repo_free(r);

	is_int(repo_init(enc, 1, "hunter2", 7, &storefix_err), 0,
	       "init encrypted");
	is_int(storefix_open(&r, enc, 0, NULL), -ENOKEY,
	       "no passphrase: -ENOKEY");
	rc = storefix_open(&r, enc, 1, "wrong");
	is_int(rc, -EKEYREJECTED, "wrong passphrase: -EKEYREJECTED");
	ok(strstr((char *)storefix_err.data, "wrong passphrase") != NULL,
	   "with a clear message (%s)", (char *)storefix_err.data);
	is_int(storefix_open(&r, enc, 1, "hunter2"), 0, "right passphrase");
	is_int(repo_encrypted(r), 1, "encrypted");
	is_int(repo_key_passwd(r, "new pass", 8, &storefix_err), 0,
	       "passphrase changed");
	repo_free(r);
	is_int(storefix_open(&r, enc, 0, "hunter2"), -EKEYREJECTED,
	       "old passphrase rejected");
	is_int(storefix_open(&r, enc, 0, "new pass"), 0, "new one accepted");
	repo_free(r);
	is_int(storefix_open(&r, storefix_path("nothing"), 0, NULL), -ENOENT,
	       "opening a missing repository: -ENOENT");
}

/* ---- snapshots --------------------------------------------------- */

static void test_snapshots(const char *name, const char *pass)
{
	const char *dir = storefix_path(name);
	struct buf big = BUF_INIT, rows = BUF_INIT, small = BUF_INIT,
		   empty = BUF_INIT;
	struct storefix_ent e[] = {
		{ "a", MANIFEST_DIR, NULL, NULL, 0, NULL },
		{ "a/big", MANIFEST_FILE, &big, NULL, REPO_CHUNK_GENERAL, NULL },
		{ "a/link", MANIFEST_SYMLINK, NULL, "big", 0, NULL },
		{ "a/rows", MANIFEST_FILE, &rows, NULL, REPO_CHUNK_ROWS, "x=1" },
		{ "a-b", MANIFEST_FILE, &small, NULL, REPO_CHUNK_GENERAL, NULL },
		{ "b", MANIFEST_DIR, NULL, NULL, 0, NULL },
		{ "b/empty", MANIFEST_FILE, &empty, NULL, REPO_CHUNK_GENERAL,
		  NULL },
	};
	size_t n = sizeof(e) / sizeof(e[0]);
	struct repo_snapinfo info;
	struct repo_totals t1, t2;
	struct repo *r;
	char id1[65], id2[65], id3[65], res[65];

	storefix_gen(&big, 9u << 20, 1, 0);
	storefix_gen(&rows, 700u << 10, 2, 1);
	storefix_gen(&small, 1000, 3, 1);
	repo_init(dir, pass != NULL, pass, pass ? strlen(pass) : 0,
		  &storefix_err);
	is_int(storefix_open(&r, dir, 1, pass), 0, "%s: open for writing",
	       name);
	is_int(storefix_snapshot(r, e, n, id1, &t1, "daily"), 0,
	       "%s: snapshot written", name);
	ok(t1.entries == n && t1.bytes_read == big.len + rows.len + small.len,
	   "%s: totals count entries and bytes", name);
	ok(t1.chunks >= 15 && t1.chunks_new == t1.chunks,
	   "%s: big and rows files span many chunks (%llu)", name,
	   (unsigned long long)t1.chunks);
	is_int(storefix_verify(r, id1, e, n), 0, "%s: read back identical",
	       name);

	is_int(repo_snapshot_info(r, id1, &info, &storefix_err), 0, "%s: info",
	       name);
	ok(info.entries == n && !strcmp(info.hostname, "testhost") &&
	   info.ntags == 1 && !strcmp(info.tags[0], "daily") &&
	   !strcmp(info.meta_json, "{\"k\":1}"), "%s: info fields", name);
	repo_snapinfo_release(&info);

	is_int(storefix_snapshot(r, e, n, id2, &t2, NULL), 0,
	       "%s: repeat snapshot", name);
	ok(t2.bytes_added < 4096 && t2.bytes_stored < 4096 &&
	   t2.chunks_new <= 1, "%s: the repeat adds ~nothing (%llu bytes)",
	   name, (unsigned long long)t2.bytes_added);
	ok(strcmp(id1, id2) != 0, "%s: it is a new snapshot", name);
	is_int(storefix_verify(r, id2, e, n), 0, "%s: repeat reads back", name);

	is_int(repo_snapshot_resolve(r, "latest", res, &storefix_err), 0,
	       "%s: latest resolves", name);
	ok(!strcmp(res, id2), "%s: to the newest", name);
	memcpy(res, id1, 8);
	res[8] = '\0';
	is_int(repo_snapshot_resolve(r, res, res, &storefix_err), 0,
	       "%s: a prefix resolves", name);
	ok(!strcmp(res, id1), "%s: to its snapshot", name);
	is_int(repo_snapshot_resolve(r, "0123456789", res, &storefix_err),
	       -ENOENT, "%s: unknown prefix: -ENOENT", name);
	is_int(repo_snapshot_resolve(r, "latest-safety", res, &storefix_err),
	       -ENOENT, "%s: no safety snapshot yet", name);

	/* a safety snapshot is never "latest" nor picked by time */
	is_int(storefix_snapshot(r, e, n, id3, NULL, REPO_TAG_SAFETY), 0,
	       "%s: a safety snapshot", name);
	is_int(repo_snapshot_resolve(r, "latest", res, &storefix_err), 0,
	       "%s: latest resolves", name);
	ok(!strcmp(res, id2), "%s: latest skips the safety snapshot", name);
	is_int(repo_snapshot_at(r, INT64_MAX, res, &storefix_err), 0,
	       "%s: by time", name);
	ok(!strcmp(res, id2), "%s: a time skips it too", name);
	is_int(repo_snapshot_resolve(r, "latest-safety", res, &storefix_err),
	       0, "%s: latest-safety resolves", name);
	ok(!strcmp(res, id3), "%s: to the safety snapshot", name);
	is_int(repo_snapshot_info(r, id3, &info, &storefix_err), 0,
	       "%s: safety info", name);
	ok(repo_snapinfo_is_safety(&info), "%s: is a safety snapshot", name);
	repo_snapinfo_release(&info);
	is_int(repo_snapshot_info(r, id2, &info, &storefix_err), 0,
	       "%s: info", name);
	ok(!repo_snapinfo_is_safety(&info), "%s: id2 is not", name);
	repo_snapinfo_release(&info);
	repo_free(r);

	/* a reader sees it without the writer lock */
	is_int(storefix_open(&r, dir, 0, pass), 0, "%s: open read-only", name);
	is_int(storefix_verify(r, id1, e, n), 0, "%s: read-only reader", name);
	repo_free(r);
	buf_release(&big);
	buf_release(&rows);
	buf_release(&small);
}

static int file_has(const char *dir, const char *needle)
{
	char cmd[400];

	snprintf(cmd, sizeof(cmd), "grep -rqa '%s' '%s/packs'", needle, dir);
	return system(cmd) == 0;
}

static void test_encrypted_at_rest(void)
{
	const char *dir = storefix_path("enc");
	struct buf data = BUF_INIT;
	struct storefix_ent e[] = {
		{ "secret", MANIFEST_FILE, &data, NULL, REPO_CHUNK_GENERAL,
		  NULL },
	};
	struct repo *r;
	char id[65];

	buf_addstr(&data, "MARKER-find-me-7d1c in a secret file\n");
	storefix_open(&r, dir, 1, "new pass");
	is_int(storefix_snapshot(r, e, 1, id, NULL, NULL), 0,
	       "encrypted snapshot");
	repo_free(r);
	ok(!file_has(dir, "MARKER-find-me-7d1c"), "no plaintext in the packs");
	ok(!file_has(dir, "secret"), "not even the path");
	buf_release(&data);
}

/* ---- lock -------------------------------------------------------- */

static void test_lock(void)
{
	const char *dir = storefix_path("plain");
	int ready[2], go[2];
	struct repo *r, *rd;
	char c, want[64];
	pid_t pid;
	int st;

	if (pipe(ready) < 0 || pipe(go) < 0)
		return;
	pid = fork();
	if (pid == 0) {
		struct repo_open_opts o = { .write = 1, .command = "holder cmd" };

		if (repo_open(&r, dir, &o, NULL) < 0)
			_exit(1);
		if (write(ready[1], "r", 1) != 1 || read(go[0], &c, 1) < 0)
			_exit(2);
		_exit(0);
	}
	if (read(ready[0], &c, 1) != 1) {
		ok(0, "lock holder started");
		return;
	}
	is_int(storefix_open(&r, dir, 1, NULL), -EBUSY,
	       "writer lock busy: -EBUSY");
	snprintf(want, sizeof(want), "pid %d ", (int)pid);
	ok(strstr((char *)storefix_err.data, want) &&
	   strstr((char *)storefix_err.data, "holder cmd") &&
	   strstr((char *)storefix_err.data, "since"),
	   "the error names the holder (%s)", (char *)storefix_err.data);
	is_int(storefix_open(&rd, dir, 0, NULL), 0, "readers are not blocked");
	repo_free(rd);
	if (write(go[1], "g", 1) != 1)
		diag("pipe");
	waitpid(pid, &st, 0);
	is_int(storefix_open(&r, dir, 1, NULL), 0,
	       "free after the holder exits");
	repo_free(r);

	/* a holder killed with SIGKILL does not block anyone */
	pid = fork();
	if (pid == 0) {
		struct repo_open_opts o = { .write = 1, .command = "victim" };

		if (repo_open(&r, dir, &o, NULL) < 0)
			_exit(1);
		if (write(ready[1], "r", 1) != 1)
			_exit(2);
		pause();
		_exit(0);
	}
	if (read(ready[0], &c, 1) == 1)
		kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	is_int(storefix_open(&r, dir, 1, NULL), 0, "a killed holder's lock is"
	       " taken over");
	repo_free(r);
	close(ready[0]);
	close(ready[1]);
	close(go[0]);
	close(go[1]);
}

int main(void)
{
	if (storefix_begin("repo") < 0)
		return 1;
	test_keys();
	test_snapshots("plain", NULL);
	test_snapshots("enc", "new pass");
	test_encrypted_at_rest();
	test_lock();
	storefix_end();
	return done_testing();
}

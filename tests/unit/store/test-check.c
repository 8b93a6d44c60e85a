/*
 * test-check: check and rebuild-index (store/check.c) through repo.h:
 * check naming exactly the damaged blob, snapshot and path, a damaged
 * file failing to read, rebuilding a deleted index from the packs (a
 * forgotten snapshot stays forgotten), and the rebuild waiting for
 * readers.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>

#include "index.h"
#include "repo.h"
#include "repo-internal.h"
#include "storefix.h"
#include "../tap.h"

/* ---- check ------------------------------------------------------- */

struct problems {
	int blob, path_hit, path, snapshot;
	char want[80];
};

static void problem_cb(void *ctx, const char *kind, const char *what,
		       const char *detail)
{
	struct problems *p = ctx;

	if (!strcmp(kind, "blob"))
		p->blob++;
	if (!strcmp(kind, "snapshot"))
		p->snapshot++;
	if (!strcmp(kind, "path")) {
		p->path++;
		if (strstr(what, p->want))
			p->path_hit++;
	}
}

/* Flips one byte in the middle of the first chunk of path. */
static int flip(struct repo *r, const char *id, const char *path)
{
	const struct manifest_entry *me;
	const struct manifest_chunk *c;
	struct index_loc loc;
	struct repo_iter *it;
	struct buf pack = BUF_INIT;
	size_t n;
	uint8_t b;
	int fd, rc = -1;

	if (repo_iter_new(r, id, &it, &storefix_err) < 0)
		return -1;
	while (repo_iter_next(it, &me, &storefix_err) == 1) {
		if (strcmp(me->path, path))
			continue;
		if (repo_iter_chunks(it, &c, &n, &storefix_err) == 0 && n &&
		    index_chunk_get(r->ix, c[0].id, &loc) == 1)
			rc = 0;
		break;
	}
	repo_iter_free(it);
	if (rc < 0 || repo_pack_path(r, loc.pack, &pack, NULL) < 0)
		return -1;
	fd = open((char *)pack.data, O_RDWR);
	buf_release(&pack);
	if (fd < 0)
		return -1;
	if (pread(fd, &b, 1, (off_t)(loc.offset + loc.length / 2)) != 1)
		rc = -1;
	b ^= 0x10;
	if (pwrite(fd, &b, 1, (off_t)(loc.offset + loc.length / 2)) != 1)
		rc = -1;
	close(fd);
	return rc;
}

static int sink_null(void *ctx, const void *p, size_t n)
{
	return 0;
}

static void test_check(void)
{
	const char *dir = storefix_path("check");
	struct buf a = BUF_INIT, b = BUF_INIT;
	struct storefix_ent e[] = {
		{ "docs", MANIFEST_DIR, NULL, NULL, 0, NULL },
		{ "docs/a.txt", MANIFEST_FILE, &a, NULL, REPO_CHUNK_GENERAL,
		  NULL },
		{ "docs/b.txt", MANIFEST_FILE, &b, NULL, REPO_CHUNK_GENERAL,
		  NULL },
	};
	struct problems p = { 0, 0, 0, 0, "" };
	struct repo_check_opts co = { 0, 0, problem_cb, &p };
	struct repo_check_result cr;
	const struct manifest_entry *me;
	struct repo_iter *it;
	struct repo *r;
	char id[65];
	int rc;

	storefix_gen(&a, 200000, 21, 1);
	storefix_gen(&b, 200000, 22, 1);
	repo_init(dir, 1, "pw", 2, &storefix_err);
	storefix_config(dir, 1u << 20);
	storefix_open(&r, dir, 1, "pw");
	storefix_snapshot(r, e, 3, id, NULL, NULL);
	repo_free(r);

	storefix_open(&r, dir, 0, "pw");
	is_int(repo_check(r, &co, &cr, &storefix_err), 0,
	       "check: clean repository");
	ok(cr.packs_checked > 0 && cr.blobs_checked > 3 && cr.problems == 0,
	   "check counted packs and blobs");
	is_int(flip(r, id, "docs/b.txt"), 0, "flipped a byte of docs/b.txt");
	snprintf(p.want, sizeof(p.want), "%s:docs/b.txt", id);
	rc = repo_check(r, &co, &cr, &storefix_err);
	is_int(rc, -EBADMSG, "check finds the damage");
	ok(p.blob == 1 && p.snapshot >= 1, "it names the blob and the"
	   " snapshot (%d blob, %d snapshot)", p.blob, p.snapshot);
	ok(p.path_hit == 1 && p.path == 1, "and exactly the damaged path");
	memset(&p, 0, sizeof(p));
	co.read_data = 1;
	is_int(repo_check(r, &co, &cr, &storefix_err), -EBADMSG,
	       "check --read-data finds it too");

	repo_iter_new(r, id, &it, &storefix_err);
	while (repo_iter_next(it, &me, &storefix_err) == 1 && strcmp(me->path,
							     "docs/b.txt"))
		;
	buf_reset(&storefix_err);
	is_int(repo_iter_read(it, sink_null, NULL, &storefix_err), -EBADMSG,
	       "reading the damaged file fails");
	ok(strstr((char *)storefix_err.data, "pack") != NULL,
	   "naming the pack (%s)", (char *)storefix_err.data);
	repo_iter_free(it);
	repo_free(r);
	buf_release(&a);
	buf_release(&b);
}

/* ---- rebuild-index ----------------------------------------------- */

struct snaplist {
	char ids[8][65];
	int64_t times[8];
	int n;
};

static int list_cb(const struct repo_snapinfo *s, void *ctx)
{
	struct snaplist *l = ctx;

	if (l->n < 8) {
		memcpy(l->ids[l->n], s->id, 65);
		l->times[l->n++] = s->time;
	}
	return 0;
}

static void test_rebuild(void)
{
	const char *dir = storefix_path("rebuild");
	struct buf a = BUF_INIT, b = BUF_INIT;
	struct storefix_ent ea[] = { { "a", MANIFEST_FILE, &a, NULL,
			      REPO_CHUNK_GENERAL, NULL } };
	struct storefix_ent eb[] = { { "a", MANIFEST_FILE, &a, NULL,
			      REPO_CHUNK_GENERAL, NULL },
			    { "b", MANIFEST_FILE, &b, NULL, REPO_CHUNK_ROWS,
			      NULL } };
	struct snaplist before = { .n = 0 }, after = { .n = 0 };
	struct repo_check_result cr;
	struct repo *r;
	char ida[65], idb[65], idc[65];

	storefix_gen(&a, 300000, 31, 0);
	storefix_gen(&b, 100000, 32, 1);
	repo_init(dir, 1, "pw", 2, &storefix_err);
	storefix_config(dir, 128u << 10);
	storefix_open(&r, dir, 1, "pw");
	storefix_snapshot(r, ea, 1, ida, NULL, "t1");
	storefix_snapshot(r, eb, 2, idb, NULL, NULL);
	storefix_snapshot(r, ea, 1, idc, NULL, NULL);
	is_int(repo_snapshot_forget(r, idc, &storefix_err), 0,
	       "forget one snapshot");
	is_int(repo_snapshot_info(r, idc, &(struct repo_snapinfo){ 0 },
				  &storefix_err),
	       -ENOENT, "it is gone");
	repo_snapshot_list(r, NULL, list_cb, &before, &storefix_err);
	repo_free(r);

	unlink(storefix_path("rebuild/index.db"));
	unlink(storefix_path("rebuild/index.db-wal"));
	unlink(storefix_path("rebuild/index.db-shm"));
	is_int(storefix_open(&r, dir, 1, "pw"), -ENOENT,
	       "a missing index.db is refused");
	ok(strstr((char *)storefix_err.data, "--rebuild-index") != NULL,
	   "the error points to --rebuild-index: %s",
	   (char *)storefix_err.data);
	is_int(storefix_open(&r, dir, 1 | 2, "pw"), 0,
	       "open without index.db to rebuild it");
	is_int(storefix_nsnapshots(r), 0, "no snapshots before the rebuild");
	is_int(repo_rebuild_index(r, NULL, &cr, &storefix_err), 0, "rebuild-index");
	ok(cr.packs_checked > 0 && cr.problems == 0, "every pack read");
	repo_snapshot_list(r, NULL, list_cb, &after, &storefix_err);
	/* snapshots of the same second may list in another order */
	ok(after.n == 2 && before.n == 2 &&
	   ((!strcmp(after.ids[0], before.ids[0]) &&
	     !strcmp(after.ids[1], before.ids[1])) ||
	    (!strcmp(after.ids[0], before.ids[1]) &&
	     !strcmp(after.ids[1], before.ids[0]))) &&
	   after.times[0] <= after.times[1],
	   "the same snapshots come back; the forgotten one stays forgotten");
	is_int(storefix_verify(r, idb, eb, 2), 0, "and read back");
	{
		struct repo_snapinfo info;

		repo_snapshot_info(r, ida, &info, &storefix_err);
		ok(info.ntags == 1 && !strcmp(info.tags[0], "t1") &&
		   !strcmp(info.hostname, "testhost"),
		   "with their metadata");
		repo_snapinfo_release(&info);
	}
	repo_free(r);
	storefix_open(&r, dir, 0, "pw");
	is_int(repo_check(r, &(struct repo_check_opts){ 1, 0, NULL, NULL },
			  &cr, &storefix_err), 0,
	       "check is clean after the rebuild");
	repo_free(r);
	buf_release(&a);
	buf_release(&b);
}

/* rebuild-index swaps index.db only once readers are gone */
static void test_readers_lock(void)
{
	const char *dir = storefix_path("rebuild");
	struct repo_check_result cr;
	struct timespec a, b;
	int ready[2];
	struct repo *r;
	char c;
	pid_t pid;
	int st;

	if (pipe(ready) < 0)
		return;
	pid = fork();
	if (pid == 0) {
		struct repo_open_opts o = { .command = "reader",
					    .pass = storefix_pass,
					    .pass_ctx = "pw" };

		if (repo_open(&r, dir, &o, NULL) < 0)
			_exit(1);
		if (write(ready[1], "r", 1) != 1)
			_exit(2);
		usleep(1000 * 1000);
		repo_free(r);
		_exit(0);
	}
	if (read(ready[0], &c, 1) != 1) {
		ok(0, "reader started");
		return;
	}
	storefix_open(&r, dir, 1, "pw");
	clock_gettime(CLOCK_MONOTONIC, &a);
	is_int(repo_rebuild_index(r, NULL, &cr, &storefix_err), 0,
	       "rebuild-index while a reader is open");
	clock_gettime(CLOCK_MONOTONIC, &b);
	ok((b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000
	   >= 500, "it waited for the reader to finish");
	is_int(storefix_nsnapshots(r), 2, "and still lists the snapshots");
	repo_free(r);
	waitpid(pid, &st, 0);
	close(ready[0]);
	close(ready[1]);
}

int main(void)
{
	if (storefix_begin("check") < 0)
		return 1;
	test_check();
	test_rebuild();
	test_readers_lock();
	storefix_end();
	return done_testing();
}

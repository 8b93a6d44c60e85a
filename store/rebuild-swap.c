/*
 * rebuild-swap: the old index.db and the new one (declared in
 * rebuild-int.h).  Whether the old one is sound decides whether it is
 * kept aside, as index.db.corrupt-<UTC time>, when the new one takes its
 * place; the swap happens with no reader around, and afterwards, or if
 * it fails, nothing ever opens an empty index.db at the final path.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>

#include "index.h"
#include "lock.h"
#include "rebuild-int.h"
#include "repo-internal.h"

int rebuild_old_state(struct repo *r, const char *path, int *sound,
		      struct buf *why)
{
	struct stat st;
	int rc;

	*sound = 0;
	if (stat(path, &st) < 0)
		return errno == ENOENT ? 0 : repo_errf(why, -errno, "%s",
						       strerror(errno));
	if (r->ix_stand_in)
		return repo_errf(why, 1, "it does not open as an index");
	rc = index_quick_check(r->ix, why);
	if (rc == 0)
		*sound = 1;
	if (rc == -EBADMSG)
		return repo_errf(why, 1, "SQLite cannot read it through");
	for (size_t i = 0; rc > 0 && i < why->len; i++)
		if (why->data[i] == '\n')	/* quick_check's lines */
			why->data[i] = ' ';
	return rc;
}

void rebuild_unlink_db(const char *path, int all)
{
	static const char *const suffix[] = { "-wal", "-shm", "-journal", "" };
	size_t n = sizeof(suffix) / sizeof(suffix[0]) - !all;
	struct buf p = BUF_INIT;

	for (size_t i = 0; i < n; i++) {
		buf_reset(&p);
		if (buf_addf(&p, "%s%s", path, suffix[i]) == 0)
			unlink((char *)p.data);
	}
	buf_release(&p);
}

/* Keeps a damaged index.db, and its WAL, as index.db.corrupt-<UTC time>
 * (aside gets the name).  A hard link leaves index.db in place until
 * the rename of the new one replaces it. */
static int rebuild_set_aside(const char *path, struct buf *aside,
			     struct buf *err)
{
	struct buf from = BUF_INIT, to = BUF_INIT;
	time_t now = time(NULL);
	char stamp[32] = "0";
	struct tm tm;
	int rc = 0;

	if (gmtime_r(&now, &tm))
		strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
	for (int i = 0; rc == 0; i++) {
		buf_reset(aside);
		rc = buf_addf(aside, "%s.corrupt-%s", path, stamp);
		if (rc == 0 && i)
			rc = buf_addf(aside, "-%d", i);
		if (rc < 0 || link(path, (char *)aside->data) == 0)
			break;
		if (errno == EEXIST && i < 100)
			continue;
		if (errno != EEXIST && rename(path, (char *)aside->data) == 0)
			break;
		rc = repo_errf(err, -errno, "cannot keep the damaged %s as"
			       " %s: %s", path, (char *)aside->data,
			       strerror(errno));
	}
	if (rc == 0)
		rc = buf_addf(&from, "%s-wal", path);
	if (rc == 0)
		rc = buf_addf(&to, "%s-wal", (char *)aside->data);
	if (rc == 0)
		rename((char *)from.data, (char *)to.data);
	buf_release(&from);
	buf_release(&to);
	return rc;
}

/* Opens index.db again, or an empty in-memory stand-in when it is not
 * there: never an empty index.db in its place. */
static int rebuild_reopen(struct repo *r, const char *path, struct buf *err)
{
	struct stat st;

	r->ix_stand_in = 0;
	if (stat(path, &st) == 0 && index_open(&r->ix, path, err) == 0)
		return 0;
	r->ix_stand_in = 1;
	return index_open(&r->ix, ":memory:", NULL) < 0 ? -EIO : -ENOENT;
}

int rebuild_swap(struct repo *r, const char *tmp, int damaged,
			struct buf *aside, struct buf *err)
{
	struct buf path = BUF_INIT, lk = BUF_INIT;
	struct lock *l = NULL;
	int rc = repo_join(r, "lock.read", &lk);

	if (rc == 0)
		rc = lock_readers(&l, (char *)lk.data, 1, repo_readers_wait(r),
				  err);
	if (rc == 0)
		rc = repo_join(r, "index.db", &path);
	if (rc == 0) {
		index_free(r->ix);	/* checkpoints and drops its WAL */
		r->ix = NULL;
		if (damaged)
			rc = rebuild_set_aside((char *)path.data, aside, err);
		if (rc == 0) {
			/* index.db itself stays until the rename replaces it */
			rebuild_unlink_db((char *)path.data, 0);
			if (rename(tmp, (char *)path.data) < 0)
				rc = repo_errf(err, -errno, "cannot rename %s:"
					       " %s", tmp, strerror(errno));
			repo_fsync_dir(r->path);
		}
		if (rebuild_reopen(r, (char *)path.data, err) < 0 && !rc)
			rc = -EIO;
	}
	lock_release(l);
	buf_release(&path);
	buf_release(&lk);
	return rc;
}

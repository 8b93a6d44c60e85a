/*
 * snap-scan: the pre-scan behind the snapshot's total (see snap-scan.h).
 *
 * nftw gives its callback no context, so the scan in progress is a
 * thread-local pointer: each scan has a thread of its own.
 */
#include <ftw.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "cli-progress.h"
#include "snap-scan.h"

/* Descriptors nftw may hold at once (the walk that stores the files
 * needs its own). */
#define SNAP_SCAN_FDS 8
/* The phase's total is refreshed every this many entries. */
#define SNAP_SCAN_EVERY 512

struct snap_scan {
	const char *const *paths;
	size_t n;
	struct cli_phase *ph;
	dev_t skip_dev;
	ino_t skip_ino;
	int one_fs;
	snap_scan_skip_fn skip;
	void *ctx;
	size_t cur;		/* the PATH being scanned */
	pthread_t thread;
	int stop;		/* __atomic: set by snap_scan_stop */
	uint64_t bytes, entries;
};

static __thread struct snap_scan *snap_scan_self;

static int snap_scan_visit(const char *path, const struct stat *st, int flag,
			   struct FTW *ftw)
{
	struct snap_scan *s = snap_scan_self;

	(void)ftw;
	if (__atomic_load_n(&s->stop, __ATOMIC_RELAXED))
		return FTW_STOP;
	if (flag == FTW_NS)	/* cannot be stat'ed: the walk skips it */
		return FTW_CONTINUE;
	if (S_ISDIR(st->st_mode) && s->skip_dev &&
	    st->st_dev == s->skip_dev && st->st_ino == s->skip_ino)
		return FTW_SKIP_SUBTREE;
	if (s->skip && s->skip(s->ctx, s->cur, path, st))
		return S_ISDIR(st->st_mode) ? FTW_SKIP_SUBTREE : FTW_CONTINUE;
	s->entries++;
	if (S_ISREG(st->st_mode) && st->st_size > 0)
		s->bytes += (uint64_t)st->st_size;
	if (s->entries % SNAP_SCAN_EVERY == 0)
		cli_phase_total(s->ph, s->bytes, s->entries, 0);
	return FTW_CONTINUE;
}

static void *snap_scan_run(void *arg)
{
	struct snap_scan *s = arg;
	int r = 0;

	snap_scan_self = s;
	for (size_t i = 0; i < s->n && r == 0; i++) {
		s->cur = i;
		r = nftw(s->paths[i], snap_scan_visit, SNAP_SCAN_FDS,
			 FTW_PHYS | FTW_ACTIONRETVAL |
			 (s->one_fs ? FTW_MOUNT : 0));
	}
	/* stopped early: what was counted stays a floor, not a total */
	cli_phase_total(s->ph, s->bytes, s->entries, r == 0);
	return NULL;
}

struct snap_scan *snap_scan_start(const char *const *paths, size_t n,
				  struct cli_phase *ph, dev_t skip_dev,
				  ino_t skip_ino, int one_fs,
				  snap_scan_skip_fn skip, void *ctx)
{
	struct snap_scan *s;
	if (!ph)
		return NULL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->paths = paths;
	s->n = n;
	s->ph = ph;
	s->skip_dev = skip_dev;
	s->skip_ino = skip_ino;
	s->one_fs = one_fs;
	s->skip = skip;
	s->ctx = ctx;
	if (cli_progress_thread(&s->thread, snap_scan_run, s) < 0) {
		free(s);
		return NULL;
	}
	return s;
}

void snap_scan_stop(struct snap_scan *s)
{
	if (!s)
		return;
	__atomic_store_n(&s->stop, 1, __ATOMIC_RELAXED);
	pthread_join(s->thread, NULL);
	free(s);
}

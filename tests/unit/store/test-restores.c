/*
 * test-restores: restore log ids (store/restores.h).  Restores created
 * back to back, within one second, with the clock stepping back, after
 * a legacy "<stamp>-<random hex>" id and at the end of a second's
 * sequence must all get ids that sort strictly after the logs already
 * kept, so the listing (which `vault restores` prints and `vault
 * rollback` takes the last matching entry of) is in creation order and
 * the newest restore is the last one.  The repository lives in a /tmp
 * directory removed at the end.
 */
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "repo.h"
#include "restores.h"
#include "../tap.h"

/* 20261123T063700Z */
#define T0 1795415820

static struct buf err = BUF_INIT;

static int pass_cb(void *ctx, const char *why, struct buf *pass)
{
	return -ENOKEY;
}

/* Collects the listed ids, one per line, and the last one. */
struct seen {
	struct buf ids;
	char last[REPO_RESTORE_ID_SIZE];
	int n;
};

static int seen_cb(void *ctx, const char *id, const char *json, size_t n)
{
	struct seen *s = ctx;

	snprintf(s->last, sizeof(s->last), "%s", id);
	s->n++;
	return buf_addf(&s->ids, "%s\n", id);
}

/* Allocates an id at now and keeps a log under it. */
static int new_log(struct repo *r, int64_t now, char *id)
{
	int e = repo_restore_new_id(r, now, id, &err);

	if (e == 0)
		e = repo_restore_put(r, id, "{}", 2, &err);
	if (e < 0)
		diag("new_log: %s", err.len ? (const char *)err.data : "?");
	return e;
}

static int rm_cb(const char *p, const struct stat *st, int flag,
		 struct FTW *f)
{
	return remove(p);
}

int main(void)
{
	char dir[] = "/tmp/test-restores-XXXXXX";
	char a[REPO_RESTORE_ID_SIZE], b[REPO_RESTORE_ID_SIZE];
	char c[REPO_RESTORE_ID_SIZE], prev[REPO_RESTORE_ID_SIZE];
	struct repo_open_opts o = { .write = 1, .command = "test-restores",
				    .pass = pass_cb };
	struct seen s = { BUF_INIT, "", 0 };
	struct repo *r = NULL;
	struct buf path = BUF_INIT;
	int mono = 1;

	if (!mkdtemp(dir))
		return 1;
	buf_addf(&path, "%s/repo", dir);
	is_int(repo_init((const char *)path.data, 0, NULL, 0, &err), 0,
	       "init");
	is_int(repo_open(&r, (const char *)path.data, &o, &err), 0, "open");

	is_int(repo_restore_new_id(r, T0, a, &err), 0, "id with no logs");
	ok(!strcmp(a, "20261123T063700Z-0000"), "first id is %s", a);

	/* two restores back to back, in the same second */
	is_int(new_log(r, T0, a), 0, "first restore");
	is_int(new_log(r, T0, b), 0, "second restore, same second");
	ok(strcmp(a, b) < 0, "ids increase: %s < %s", a, b);
	ok(!strcmp(b, "20261123T063700Z-0001"), "sequence bumped: %s", b);

	/* and with the real clock, as the commands call it */
	is_int(new_log(r, (int64_t)time(NULL), c), 0, "restore now");
	ok(strcmp(b, c) < 0, "ids increase: %s < %s", b, c);
	is_int(new_log(r, (int64_t)time(NULL), prev), 0, "restore now again");
	ok(strcmp(c, prev) < 0, "back to back now: %s < %s", c, prev);

	/* the clock steps back an hour: still after the newest */
	is_int(new_log(r, T0 - 3600, c), 0, "restore, clock back");
	ok(strcmp(prev, c) < 0, "clock back keeps order: %s < %s", prev, c);

	/* many in one second stay in order */
	snprintf(prev, sizeof(prev), "%s", c);
	for (int i = 0; i < 50; i++) {
		if (new_log(r, T0, c) < 0 || strcmp(prev, c) >= 0)
			mono = 0;
		snprintf(prev, sizeof(prev), "%s", c);
	}
	ok(mono, "50 restores in one second increase (last %s)", prev);

	/* listing: oldest first, the newest last (what rollback takes) */
	is_int(repo_restore_list(r, seen_cb, &s, &err), 0, "list");
	is_int(s.n, 55, "all logs listed");
	ok(!strcmp(s.last, prev), "newest restore listed last: %s", s.last);
	buf_release(&s.ids);
	repo_free(r);
	r = NULL;

	/* a legacy id and a full sequence move on to the next second */
	buf_reset(&path);
	buf_addf(&path, "%s/legacy", dir);
	is_int(repo_init((const char *)path.data, 0, NULL, 0, &err), 0,
	       "init legacy");
	is_int(repo_open(&r, (const char *)path.data, &o, &err), 0,
	       "open legacy");
	is_int(repo_restore_put(r, "20261123T063700Z-ffffffff", "{}", 2, &err),
	       0, "legacy log");
	is_int(new_log(r, T0, a), 0, "restore after a legacy log");
	ok(!strcmp(a, "20261123T063701Z-0000"), "after legacy: %s", a);
	is_int(repo_restore_put(r, "20261123T063701Z-9999", "{}", 2, &err),
	       0, "log at the end of a sequence");
	is_int(new_log(r, T0, b), 0, "restore after a full second");
	ok(!strcmp(b, "20261123T063702Z-0000"), "after 9999: %s", b);

	/* a foreign name nothing can sort after is refused, not reused */
	is_int(repo_restore_put(r, "zz", "{}", 2, &err), 0, "foreign log");
	is_int(repo_restore_new_id(r, T0, c, &err), -ERANGE,
	       "no id after a foreign name");
	repo_free(r);

	buf_release(&path);
	buf_release(&err);
	nftw(dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	return done_testing();
}

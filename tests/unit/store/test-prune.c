/*
 * test-prune: forget and prune (store/prune.c) through repo.h: a dry run
 * that reports and changes nothing, then deleting dead packs and
 * repacking mostly-dead ones, with the space, the files on disk and the
 * kept snapshot checked afterwards.  Groups: a safety snapshot is its
 * own group, reported apart, kept by its own rule, and never "latest".
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"
#include "repo.h"
#include "storefix.h"
#include "../tap.h"

/* ---- forget, prune, repack --------------------------------------- */

struct pr_report {
	int kept, forgotten;
};

static void pr_cb(void *ctx, const struct repo_snapinfo *s, int keep,
		  const char *reason)
{
	struct pr_report *p = ctx;

	if (keep)
		p->kept++;
	else
		p->forgotten++;
}

static void test_prune(void)
{
	const char *dir = storefix_path("prune");
	struct buf d[20];
	struct storefix_ent all[20], some[4];
	char names[20][16], id1[65], id2[65];
	struct policy pol = { .last = 1 };
	struct pr_report rep = { 0, 0 };
	struct repo_prune_report rp = { .snapshot = pr_cb, .ctx = &rep };
	struct repo_prune_result res;
	struct repo_stats s0, s1;
	struct repo *r;

	for (int i = 0; i < 20; i++) {
		buf_init(&d[i], 0);
		storefix_gen(&d[i], 40000, 100 + (uint64_t)i, 0);
		snprintf(names[i], sizeof(names[i]), "f%02d", i);
		all[i] = (struct storefix_ent){ names[i], MANIFEST_FILE,
						&d[i], NULL,
						REPO_CHUNK_GENERAL, NULL };
		/* the kept ones share packs with dead ones: repack; the
		 * packs of f10..f19 hold nothing live: delete */
		if (i < 10 && i % 3 == 0)
			some[i / 3] = all[i];
	}
	repo_init(dir, 0, NULL, 0, &storefix_err);
	storefix_config(dir, 256u << 10);
	storefix_open(&r, dir, 1, NULL);
	is_int(storefix_snapshot(r, all, 20, id1, NULL, NULL), 0,
	       "prune: snapshot 1");
	is_int(storefix_snapshot(r, all, 10, id2, NULL, NULL), 0,
	       "prune: snapshot 2");
	is_int(storefix_snapshot(r, some, 4, id2, NULL, NULL), 0,
	       "prune: snapshot 3");
	repo_stats(r, &s0, &storefix_err);

	is_int(repo_prune(r, &pol, 1, &rp, &res, &storefix_err), 0, "dry run");
	ok(rep.kept == 1 && rep.forgotten == 2, "policy last 1: one kept,"
	   " two forgotten, all reported");
	ok(res.forgotten == 2 && (res.packs_deleted || res.packs_repacked) &&
	   res.bytes_freed > 0, "dry run reports what it would free");
	repo_stats(r, &s1, &storefix_err);
	ok(s1.snapshots == 3 && s1.packs == s0.packs &&
	   s1.stored_bytes == s0.stored_bytes, "dry run changes nothing");

	is_int(repo_prune(r, &pol, 0, NULL, &res, &storefix_err), 0, "prune");
	ok(res.forgotten == 2 && res.kept == 1, "two forgotten, one kept");
	ok(res.packs_deleted > 0, "dead packs deleted (%llu)",
	   (unsigned long long)res.packs_deleted);
	ok(res.packs_repacked > 0, "mostly-dead packs repacked (%llu)",
	   (unsigned long long)res.packs_repacked);
	repo_stats(r, &s1, &storefix_err);
	ok(s1.snapshots == 1 && s1.stored_bytes < s0.stored_bytes / 2,
	   "space reclaimed (%llu -> %llu bytes)",
	   (unsigned long long)s0.stored_bytes,
	   (unsigned long long)s1.stored_bytes);
	ok(res.bytes_freed > 0 && res.bytes_freed <= s0.stored_bytes,
	   "bytes_freed is plausible (%llu)",
	   (unsigned long long)res.bytes_freed);
	is_int(storefix_count_files(storefix_path("prune/packs")),
	       (int)s1.packs,
	       "pack files on disk match the index");
	is_int(storefix_verify(r, id2, some, 4), 0,
	       "the kept snapshot reads back");

	is_int(repo_prune(r, &pol, 0, NULL, &res, &storefix_err), 0,
	       "prune again");
	ok(res.packs_deleted == 0 && res.packs_repacked == 0,
	   "nothing left to do (the tombstone went with the snapshot blob"
	   " it cancels): %llu deleted, %llu repacked",
	   (unsigned long long)res.packs_deleted,
	   (unsigned long long)res.packs_repacked);
	repo_free(r);
	storefix_open(&r, dir, 0, NULL);
	{
		struct repo_check_result cr;

		is_int(repo_check(r, &(struct repo_check_opts){ 1, 0, NULL,
				  NULL }, &cr, &storefix_err), 0,
		       "check --read-data is clean after prune");
	}
	repo_free(r);
	for (int i = 0; i < 20; i++)
		buf_release(&d[i]);
}

/* ---- groups -------------------------------------------------------- */

struct gr_report {
	int groups, safety_group, bad_order;
	size_t kept[4], forgotten[4];
	int cur_safety;
	char host[32], source[32];
};

static void gr_group(void *ctx, const struct repo_prune_group *g)
{
	struct gr_report *p = ctx;

	if (p->groups < 4) {
		p->kept[p->groups] = g->kept;
		p->forgotten[p->groups] = g->forgotten;
	}
	if (g->safety)
		p->safety_group = p->groups;
	p->cur_safety = g->safety;
	snprintf(p->host, sizeof(p->host), "%s", g->hostname ? g->hostname : "");
	snprintf(p->source, sizeof(p->source), "%s", g->source ? g->source : "");
	p->groups++;
}

static void gr_snap(void *ctx, const struct repo_snapinfo *s, int keep,
		    const char *reason)
{
	struct gr_report *p = ctx;

	(void)keep;
	(void)reason;
	if (repo_snapinfo_is_safety(s) != p->cur_safety)
		p->bad_order++;
}

static void test_prune_groups(void)
{
	const char *dir = storefix_path("groups");
	struct buf d;
	struct storefix_ent e[1];
	char safety[65], a[65], b[65], res[65];
	struct gr_report rep = { 0 };
	struct repo_prune_report rp = { gr_group, gr_snap, &rep };
	struct repo_prune_result pr;
	struct policy pol;
	struct repo *r;

	buf_init(&d, 0);
	storefix_gen(&d, 1000, 7, 0);
	e[0] = (struct storefix_ent){ "f", MANIFEST_FILE, &d, NULL,
				      REPO_CHUNK_GENERAL, NULL };
	repo_init(dir, 0, NULL, 0, &storefix_err);
	storefix_open(&r, dir, 1, NULL);
	is_int(storefix_snapshot(r, e, 1, safety, NULL, REPO_TAG_SAFETY), 0,
	       "groups: a safety snapshot first");
	buf_reset(&storefix_err);
	is_int(repo_snapshot_resolve(r, "latest", res, &storefix_err), -ENOENT,
	       "only a safety snapshot: latest does not resolve");
	ok(strstr((const char *)storefix_err.data, "latest-safety") != NULL,
	   "and the message points to latest-safety (%s)",
	   (const char *)storefix_err.data);
	buf_reset(&storefix_err);
	is_int(repo_snapshot_at(r, INT64_MAX, res, &storefix_err), -ENOENT,
	       "nor does a time");
	is_int(storefix_snapshot(r, e, 1, a, NULL, NULL), 0, "a backup");
	is_int(storefix_snapshot(r, e, 1, b, NULL, "x"), 0, "another");

	policy_init(&pol);
	pol.last = 1;
	is_int(repo_prune(r, &pol, 1, &rp, &pr, &storefix_err), 0,
	       "dry run with groups");
	ok(rep.groups == 2 && rep.safety_group == 1 && !rep.bad_order,
	   "two groups reported, the safety one last, snapshots under theirs");
	ok(rep.kept[0] == 1 && rep.forgotten[0] == 1 && rep.kept[1] == 1 &&
	   rep.forgotten[1] == 0, "keep-last 1 in the backups' group; the"
	   " safety snapshot by its 7 days");
	ok(!strcmp(rep.host, "testhost") && !strcmp(rep.source, "test"),
	   "the group's key names host and source");
	ok(pr.kept == 2 && pr.forgotten == 1, "totals: 2 kept, 1 forgotten");

	pol.safety_days = 0;
	is_int(repo_prune(r, &pol, 0, NULL, &pr, &storefix_err), 0,
	       "prune, safety days 0");
	ok(pr.kept == 1 && pr.forgotten == 2, "only the newest backup stays");
	is_int(repo_snapshot_resolve(r, "latest", res, &storefix_err), 0,
	       "latest resolves");
	ok(!strcmp(res, b), "to the backup kept");
	is_int(repo_snapshot_resolve(r, safety, res, &storefix_err), -ENOENT,
	       "the safety snapshot is gone");
	repo_free(r);
	buf_release(&d);
}

int main(void)
{
	if (storefix_begin("prune") < 0)
		return 1;
	test_prune();
	test_prune_groups();
	storefix_end();
	return done_testing();
}

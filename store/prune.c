/*
 * prune: forget (tombstone + index) and repo_prune (policy, then space).
 *
 * Order of a prune, each step safe to interrupt:
 *   1. forget the snapshots the policy drops (tombstone pack fsynced,
 *      then one index transaction);
 *   2. plan from the index: per pack, live and dead bytes; twice, since a
 *      tombstone dies with the pack holding the snapshot blob it cancels,
 *      so the second pass knows which packs the first one drops;
 *   3. copy live blobs of mostly-dead packs into new packs; each new pack
 *      is fsynced in place before its rows replace the old locations (a
 *      delta is copied byte for byte like any blob: ids, bases and
 *      depths do not change, so chains stay whole across packs; live
 *      bases are live because snapshots reference them);
 *   4. with lock.read held exclusively (no reader between index lookup
 *      and pack open), drop the old packs' rows in one transaction (with
 *      the rows of dead deltas whose chain lost a link: index-bases.c
 *      says why), then
 *      unlink the files, those holding tombstones last (a tombstone must
 *      not vanish before the snapshot blob it cancels).  A crash between
 *      the commit and the unlinks leaves packs on disk that are not
 *      indexed; the next writer imports them (data only) and the next
 *      prune deletes them again.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "blob.h"
#include "index.h"
#include "inventory.h"
#include "lock.h"
#include "packer.h"
#include "policy.h"
#include "prune.h"
#include "reader.h"
#include "repo-internal.h"
#include "snaprec.h"

/* Percent of a pack's blob bytes that must be live to leave it alone. */
#define PRUNE_LIVE_MIN_PERCENT 50

/* ---- forget ------------------------------------------------------ */

/* Stores plain as one BLOB_TOMBSTONE in a new, finished pack. */
static int prune_tomb_pack(struct repo *r, const struct buf *plain,
			   uint8_t id[32], struct packer **out,
			   struct buf *err)
{
	struct buf stored = BUF_INIT;
	struct packer *p = NULL;
	int rc;

	repo_chunk_id(r, plain->data, plain->len, id);
	rc = blob_encode(&stored, BLOB_TOMBSTONE, plain->data, plain->len,
			 repo_enc_key(r), id);
	if (rc == 0)
		rc = packer_new(&p, r, err);
	if (rc == 0)
		rc = packer_add(p, id, BLOB_TOMBSTONE, (uint32_t)plain->len,
				stored.data, stored.len, err);
	if (rc == 0)
		rc = packer_finish(p, err);
	buf_release(&stored);
	if (rc < 0) {
		packer_free(p);
		return rc;
	}
	*out = p;
	return 0;
}

int prune_forget(struct repo *r, const uint8_t (*ids)[32], size_t n,
		 struct buf *err)
{
	struct buf plain = BUF_INIT;
	struct packer *p = NULL;
	uint8_t tid[32];
	int rc;

	if (!n)
		return 0;
	rc = tombstone_encode(&plain, ids, n);
	if (rc == 0)
		rc = prune_tomb_pack(r, &plain, tid, &p, err);
	buf_release(&plain);
	if (rc == 0)
		rc = index_begin(r->ix, err);
	if (rc == 0) {
		rc = packer_index(p, r->ix, 0, err);
		for (size_t i = 0; rc == 0 && i < n; i++) {
			rc = index_tomb_add(r->ix, ids[i], tid, err);
			if (rc == 0)
				rc = index_snap_forget(r->ix, ids[i], err);
			rc = rc < 0 ? rc : 0;	/* 1 forgotten, 0 already gone */
		}
		if (rc == 0)
			rc = index_commit(r->ix, err);
		else
			index_rollback(r->ix);
	}
	packer_free(p);
	if (rc < 0 && err && !err->len)
		repo_errf(err, rc, "forget: %s", strerror(-rc));
	return rc < 0 ? rc : 0;
}

int repo_snapshot_forget(struct repo *r, const char *id, struct buf *err)
{
	uint8_t raw[1][32];
	char full[65];
	int rc = repo_need_writer(r, "forget", err);

	if (rc == 0)
		rc = inventory_check(r, "forget", err);
	if (rc == 0)
		rc = repo_snapshot_resolve(r, id, full, err);
	if (rc < 0)
		return rc;
	hex_decode(raw[0], 32, full);
	return prune_forget(r, (const uint8_t (*)[32])raw, 1, err);
}

/* ---- policy ------------------------------------------------------ */

struct prune_snaps {
	struct repo_snapinfo *s;
	size_t n, cap;
};

static int prune_collect(const struct repo_snapinfo *s, void *ctx)
{
	struct prune_snaps *ps = ctx;
	struct repo_snapinfo *c;

	if (ps->n == ps->cap) {
		size_t cap = ps->cap ? 2 * ps->cap : 64;

		c = realloc(ps->s, cap * sizeof(*c));
		if (!c)
			return -ENOMEM;
		ps->s = c;
		ps->cap = cap;
	}
	/* take the strings over: the caller releases its copy anyway */
	c = &ps->s[ps->n++];
	*c = *s;
	memset((struct repo_snapinfo *)s, 0, sizeof(*s));
	return 0;
}

static void prune_snaps_release(struct prune_snaps *ps)
{
	for (size_t i = 0; i < ps->n; i++)
		repo_snapinfo_release(&ps->s[i]);
	free(ps->s);
}

/* Report order: by group, then as listed (oldest first). */
static int prune_report_cmp(const void *a, const void *b, void *arg)
{
	const struct policy_snap *q = arg;
	size_t i = *(const size_t *)a, j = *(const size_t *)b;

	if (q[i].group != q[j].group)
		return q[i].group < q[j].group ? -1 : 1;
	return i < j ? -1 : (i > j ? 1 : 0);
}

/* Reports the decisions group by group (order: indices sorted by
 * prune_report_cmp). */
static void prune_report(const struct policy *pol,
			 const struct repo_prune_report *rep,
			 const struct prune_snaps *ps,
			 const struct policy_snap *q, const size_t *order)
{
	for (size_t k = 0, end; k < ps->n; k = end) {
		const struct policy_snap *first = &q[order[k]];
		struct repo_prune_group g = { 0 };

		g.safety = first->safety;
		if (pol->group_by & POLICY_GROUP_HOST)
			g.hostname = first->hostname;
		if (pol->group_by & POLICY_GROUP_SOURCE)
			g.source = first->source;
		for (end = k; end < ps->n && q[order[end]].group == first->group;
		     end++) {
			if (q[order[end]].keep)
				g.kept++;
			else
				g.forgotten++;
		}
		if (rep->group)
			rep->group(rep->ctx, &g);
		for (size_t i = k; rep->snapshot && i < end; i++)
			rep->snapshot(rep->ctx, &ps->s[order[i]],
				      q[order[i]].keep, q[order[i]].reason);
	}
}

/* Applies the policy; *drop (malloc'ed) gets the ids to forget. */
static int prune_policy(struct repo *r, const struct policy *pol,
			const struct repo_prune_report *rep,
			struct repo_prune_result *res, uint8_t (**drop)[32],
			size_t *ndrop, struct buf *err)
{
	struct prune_snaps ps = { 0 };
	struct policy_snap *q = NULL;
	size_t *order = NULL;
	int rc;

	*drop = NULL;
	*ndrop = 0;
	rc = index_snap_list(r->ix, NULL, prune_collect, &ps, err);
	if (rc == 0 && ps.n) {
		q = calloc(ps.n, sizeof(*q));
		order = calloc(ps.n, sizeof(*order));
		*drop = calloc(ps.n, sizeof(**drop));
		rc = q && order && *drop ? 0 : -ENOMEM;
	}
	for (size_t i = 0; rc == 0 && i < ps.n; i++) {
		q[i].time = ps.s[i].time;
		q[i].hostname = ps.s[i].hostname;
		q[i].source = ps.s[i].source;
		q[i].tags = (const char *const *)ps.s[i].tags;
		q[i].ntags = ps.s[i].ntags;
		q[i].safety = repo_snapinfo_is_safety(&ps.s[i]);
		order[i] = i;
	}
	if (rc == 0 && ps.n)
		rc = policy_apply(pol, q, ps.n);
	if (rc == 0 && ps.n && rep) {
		qsort_r(order, ps.n, sizeof(*order), prune_report_cmp, q);
		prune_report(pol, rep, &ps, q, order);
	}
	for (size_t i = 0; rc == 0 && i < ps.n; i++) {
		if (q[i].keep) {
			res->kept++;
			continue;
		}
		res->forgotten++;
		hex_decode((*drop)[(*ndrop)++], 32, ps.s[i].id);
	}
	free(q);
	free(order);
	prune_snaps_release(&ps);
	if (rc < 0) {
		free(*drop);
		*drop = NULL;
		*ndrop = 0;
		if (err && !err->len)
			repo_errf(err, rc, "prune: %s", strerror(-rc));
	}
	return rc;
}

/* ---- plan -------------------------------------------------------- */

enum { PRUNE_DELETE = 1, PRUNE_REPACK = 2 };

struct prune_pack {
	struct index_usage u;
	int action;
};

struct prune_plan {
	struct prune_pack *p;
	size_t n, cap;
};

/* Dead bytes of a pack: its size minus live blobs and the framing. */
static uint64_t prune_dead(const struct index_usage *u)
{
	uint64_t frame = PACK_HEADER_SIZE + PACK_FOOTER_SIZE + 128 +
			 (uint64_t)PACK_ENTRY_SIZE * u->pack.nblobs;
	uint64_t used = u->live_bytes + frame;

	return u->pack.size > used ? u->pack.size - used : 0;
}

static int prune_plan_add(void *ctx, const struct index_usage *u)
{
	struct prune_plan *pl = ctx;
	struct prune_pack *p;
	int action = 0;
	uint64_t dead = prune_dead(u);

	if (u->live_blobs == 0)
		action = PRUNE_DELETE;
	else if (dead * 100 > (dead + u->live_bytes) *
		 (100 - PRUNE_LIVE_MIN_PERCENT))
		action = PRUNE_REPACK;
	if (!action)
		return 0;
	if (pl->n == pl->cap) {
		size_t cap = pl->cap ? 2 * pl->cap : 64;

		p = realloc(pl->p, cap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		pl->p = p;
		pl->cap = cap;
	}
	pl->p[pl->n].u = *u;
	pl->p[pl->n++].action = action;
	return 0;
}

/* Computes the plan: see the file comment for why it takes two passes. */
static int prune_plan_make(struct repo *r, struct prune_plan *pl,
			   struct buf *err)
{
	int64_t *pids;
	int rc;

	rc = index_prune_usage(r->ix, prune_plan_add, pl, err);
	if (rc < 0 || !pl->n)
		return rc;
	pids = calloc(pl->n, sizeof(*pids));
	if (!pids)
		return -ENOMEM;
	for (size_t i = 0; i < pl->n; i++)
		pids[i] = pl->p[i].u.pack.pid;
	rc = index_prune_gone(r->ix, pids, pl->n, err);
	free(pids);
	pl->n = 0;
	if (rc == 0)
		rc = index_prune_usage(r->ix, prune_plan_add, pl, err);
	return rc;
}

/* Reports pack pp as pr says (repo_set_progress). */
static void prune_progress(const struct repo *r, struct repo_progress *pr,
			   const struct prune_pack *pp, int done)
{
	char hex[65];

	hex_encode(hex, pp->u.pack.name, 32);
	pr->pack = hex;
	pr->pack_size = pp->u.pack.size;
	pr->done = done;
	repo_progress(r, pr);
	pr->pack = NULL;
}

/* What deleting and repacking would free (dry run and result); each
 * planned pack is reported once. */
static void prune_plan_totals(const struct repo *r,
			      const struct prune_plan *pl,
			      struct repo_prune_result *res)
{
	for (size_t i = 0; i < pl->n; i++) {
		const struct index_usage *u = &pl->p[i].u;
		struct repo_progress pr;

		memset(&pr, 0, sizeof(pr));
		pr.phase = pl->p[i].action == PRUNE_DELETE ? "delete" : "repack";
		prune_progress(r, &pr, &pl->p[i], 1);

		if (pl->p[i].action == PRUNE_DELETE) {
			res->packs_deleted++;
			res->bytes_freed += u->pack.size;
		} else {
			res->packs_repacked++;
			res->bytes_freed += prune_dead(u);
		}
		res->blobs_removed += u->blobs - u->live_blobs;
	}
}

/* ---- repack ------------------------------------------------------ */

struct prune_live {
	uint8_t *ids;		/* 32 bytes each */
	struct index_loc *locs;
	size_t n, cap;
};

static int prune_live_add(void *ctx, const uint8_t *id,
			  const struct index_loc *loc)
{
	struct prune_live *l = ctx;

	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 256;
		uint8_t *ids = realloc(l->ids, cap * 32);
		struct index_loc *locs;

		if (!ids)
			return -ENOMEM;
		l->ids = ids;
		locs = realloc(l->locs, cap * sizeof(*locs));
		if (!locs)
			return -ENOMEM;
		l->locs = locs;
		l->cap = cap;
	}
	memcpy(l->ids + 32 * l->n, id, 32);
	l->locs[l->n++] = *loc;
	return 0;
}

struct prune_repack {
	struct repo *r;
	struct packer *out;
	struct buf stored;
	uint64_t written;	/* bytes of new packs */
};

/* Publishes the current output pack and moves its blobs' rows to it. */
static int prune_repack_flush(struct prune_repack *rp, struct buf *err)
{
	int rc = 0;

	if (!rp->out)
		return 0;
	rc = packer_finish(rp->out, err);
	if (rc == 0)
		rc = packer_commit(rp->out, rp->r->ix, INDEX_ADD_REPLACE, err);
	if (rc == 0)
		rp->written += packer_size(rp->out);
	packer_free(rp->out);
	rp->out = NULL;
	return rc;
}

/* Copies one stored blob, verified but not re-encoded. */
static int prune_copy(struct prune_repack *rp, const uint8_t *id,
		      const struct index_loc *loc, struct buf *err)
{
	char blob[65], pack[65];
	int rc = reader_stored(rp->r, loc, &rp->stored, err);

	if (rc < 0)
		return rc;
	if (blob_verify(rp->stored.data, rp->stored.len) < 0) {
		hex_encode(blob, id, 32);
		hex_encode(pack, loc->pack, 32);
		return repo_errf(err, -EBADMSG, "pack %s: blob %s is corrupt;"
				 " run check before pruning", pack, blob);
	}
	if (!rp->out && (rc = packer_new(&rp->out, rp->r, err)) < 0)
		return rc;
	rc = packer_add(rp->out, id, loc->type, loc->raw_len,
			rp->stored.data, rp->stored.len, err);
	if (rc == 0 && packer_full(rp->out))
		rc = prune_repack_flush(rp, err);
	return rc;
}

static int prune_repack_pack(struct prune_repack *rp, int64_t pid,
			     struct buf *err)
{
	struct prune_live l = { 0 };
	int rc = index_prune_live(rp->r->ix, pid, prune_live_add, &l, err);

	for (size_t i = 0; rc == 0 && i < l.n; i++)
		rc = prune_copy(rp, l.ids + 32 * i, &l.locs[i], err);
	free(l.ids);
	free(l.locs);
	return rc;
}

static int prune_repack_all(struct repo *r, const struct prune_plan *pl,
			    uint64_t *written, struct buf *err)
{
	struct prune_repack rp = { r, NULL, BUF_INIT, 0 };
	struct repo_progress pr;
	int rc = 0;

	memset(&pr, 0, sizeof(pr));
	pr.phase = "repack";
	for (size_t i = 0; i < pl->n; i++) {
		if (pl->p[i].action != PRUNE_REPACK)
			continue;
		pr.items_total++;
		pr.bytes_total += pl->p[i].u.live_bytes;
	}
	for (size_t i = 0; rc == 0 && i < pl->n; i++) {
		if (pl->p[i].action != PRUNE_REPACK)
			continue;
		prune_progress(r, &pr, &pl->p[i], 0);
		rc = prune_repack_pack(&rp, pl->p[i].u.pack.pid, err);
		pr.bytes += pl->p[i].u.live_bytes;
		pr.items++;
		if (rc == 0)
			prune_progress(r, &pr, &pl->p[i], 1);
	}
	if (rc == 0)
		rc = prune_repack_flush(&rp, err);
	packer_free(rp.out);
	buf_release(&rp.stored);
	*written = rp.written;
	return rc;
}

/* ---- deletion ---------------------------------------------------- */

static int prune_unindex(struct repo *r, const struct prune_plan *pl,
			 struct repo_prune_result *res, struct buf *err)
{
	uint64_t removed;
	int rc = index_begin(r->ix, err);

	for (size_t i = 0; rc == 0 && i < pl->n; i++) {
		rc = index_pack_delete(r->ix, pl->p[i].u.pack.pid, &removed,
				       err);
		res->blobs_removed += removed;
	}
	if (rc == 0)
		rc = index_bases_sweep(r->ix, NULL, err);
	if (rc == 0)
		rc = index_tomb_sweep(r->ix, err);
	if (rc == 0)
		rc = index_commit(r->ix, err);
	else
		index_rollback(r->ix);
	return rc;
}

/* Unlinks the planned packs: tombstones == 0 first, then the others. */
static void prune_unlink(struct repo *r, const struct prune_plan *pl,
			 int tombstones, struct repo_progress *pr,
			 struct repo_prune_result *res)
{
	struct buf path = BUF_INIT, dir = BUF_INIT;

	for (size_t i = 0; i < pl->n; i++) {
		if (!pl->p[i].u.tombstones != !tombstones)
			continue;
		if (repo_pack_path(r, pl->p[i].u.pack.name, &path, &dir) < 0)
			continue;
		if (unlink((char *)path.data) == 0 || errno == ENOENT) {
			res->bytes_freed += pl->p[i].u.pack.size;
			if (pl->p[i].action == PRUNE_DELETE)
				res->packs_deleted++;
			else
				res->packs_repacked++;
		}
		pr->bytes += pl->p[i].u.pack.size;
		pr->items++;
		prune_progress(r, pr, &pl->p[i], 1);
		repo_fsync_dir((char *)dir.data);
	}
	buf_release(&path);
	buf_release(&dir);
}

/* Steps 4: exclusive lock.read, unindex, unlink. */
static int prune_delete(struct repo *r, const struct prune_plan *pl,
			struct repo_prune_result *res, struct buf *err)
{
	struct lock *lk = NULL;
	struct buf path = BUF_INIT;
	struct repo_progress pr;
	int rc = repo_join(r, "lock.read", &path);

	memset(&pr, 0, sizeof(pr));
	pr.phase = "delete";
	pr.items_total = pl->n;
	for (size_t i = 0; i < pl->n; i++)
		pr.bytes_total += pl->p[i].u.pack.size;

	if (rc == 0)
		rc = lock_readers(&lk, (char *)path.data, 1,
				  repo_readers_wait(r), err);
	buf_release(&path);
	if (rc < 0)
		return rc;
	rc = prune_unindex(r, pl, res, err);
	if (rc == 0) {
		prune_unlink(r, pl, 0, &pr, res);
		prune_unlink(r, pl, 1, &pr, res);
	}
	reader_cache_flush(r->cache);
	lock_release(lk);
	return rc;
}

static int prune_space(struct repo *r, int dry_run,
		       struct repo_prune_result *res, struct buf *err)
{
	struct prune_plan pl = { 0 };
	uint64_t written = 0;
	int rc = prune_plan_make(r, &pl, err);

	if (rc == 0 && dry_run)
		prune_plan_totals(r, &pl, res);
	if (rc == 0 && !dry_run)
		rc = prune_repack_all(r, &pl, &written, err);
	if (rc == 0 && !dry_run && pl.n)
		rc = prune_delete(r, &pl, res, err);
	if (!dry_run)
		res->bytes_freed = res->bytes_freed > written
			? res->bytes_freed - written : 0;
	index_prune_gone(r->ix, NULL, 0, NULL);
	free(pl.p);
	return rc;
}

int repo_prune(struct repo *r, const struct policy *pol, int dry_run,
	       const struct repo_prune_report *rep,
	       struct repo_prune_result *res, struct buf *err)
{
	static const struct policy keep_all;
	uint8_t (*drop)[32] = NULL;
	size_t ndrop = 0;
	int rc;

	memset(res, 0, sizeof(*res));
	rc = repo_need_writer(r, "prune", err);
	if (rc == 0)
		rc = inventory_check(r, "prune", err);
	if (rc == 0)
		rc = prune_policy(r, pol ? pol : &keep_all, rep, res, &drop,
				  &ndrop, err);
	if (rc == 0 && dry_run)
		rc = index_prune_drop(r->ix, (const uint8_t (*)[32])drop,
				      ndrop, err);
	else if (rc == 0)
		rc = prune_forget(r, (const uint8_t (*)[32])drop, ndrop, err);
	if (rc == 0)
		rc = prune_space(r, dry_run, res, err);
	if (dry_run)
		index_prune_drop(r->ix, NULL, 0, NULL);
	free(drop);
	return rc;
}

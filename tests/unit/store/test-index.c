/*
 * test-index: the SQLite index on its own (store/index*.c): packs and
 * chunk lookups, snapshots and their references, prefix resolution,
 * latest / at-time, forget, and the set arithmetic prune relies on.
 */
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "blob.h"
#include "index.h"
#include "../tap.h"

static char dir[] = "/tmp/vault-test-index-XXXXXX";

static int rm_one(const char *path, const struct stat *st, int flag,
		  struct FTW *f)
{
	return remove(path);
}

/* A recognizable 32-byte id: first byte tag, then n. */
static void mkid(uint8_t id[32], uint8_t tag, unsigned n)
{
	memset(id, 0, 32);
	id[0] = tag;
	id[1] = (uint8_t)(n >> 8);
	id[2] = (uint8_t)n;
	id[31] = 0x5a;
}

static void mkentry(struct pack_entry *e, uint8_t tag, unsigned n,
		    uint64_t off, uint32_t len, uint8_t type)
{
	mkid(e->id, tag, n);
	e->offset = off;
	e->length = len;
	e->type = type;
	e->raw_len = 2 * len;
}

static int add_pack(struct index *ix, uint8_t name_tag,
		    const struct pack_entry *e, size_t n, unsigned types,
		    unsigned flags)
{
	uint8_t name[32];
	int rc;

	mkid(name, name_tag, 0);
	rc = index_begin(ix, NULL);
	if (rc == 0)
		rc = index_pack_add(ix, name, 1000, e, n, types, flags, NULL);
	if (rc == 0)
		rc = index_commit(ix, NULL);
	else
		index_rollback(ix);
	return rc;
}

/* Adds snapshot (id tag/n, time) referencing chunks tag c_tag 0..nref-1. */
static int add_snap(struct index *ix, uint8_t *id, int64_t t,
		    const char *tag, const uint8_t (*refs)[32], size_t nref)
{
	const char *tags[1] = { tag };
	struct index_snap s;
	int rc = index_refs_reset(ix, NULL);

	for (size_t i = 0; rc == 0 && i < nref; i++)
		rc = index_ref_add(ix, refs[i], NULL);
	if (rc == 0)
		rc = index_ref_add(ix, id, NULL);	/* its own record */
	memset(&s, 0, sizeof(s));
	memcpy(s.id, id, 32);
	s.time = t;
	s.hostname = "host";
	s.source = "src";
	s.tags = tags;
	s.ntags = tag ? 1 : 0;
	s.entries = 3;
	s.bytes_read = 100;
	if (rc == 0)
		rc = index_begin(ix, NULL);
	if (rc == 0)
		rc = index_snap_add(ix, &s, NULL);
	if (rc == 0)
		rc = index_commit(ix, NULL);
	else
		index_rollback(ix);
	return rc;
}

static int count_cb(const struct repo_snapinfo *s, void *ctx)
{
	int *n = ctx;

	(*n)++;
	return 0;
}

struct order {
	int64_t last;
	int sorted, n;
};

static int order_cb(const struct repo_snapinfo *s, void *ctx)
{
	struct order *o = ctx;

	if (o->n++ && s->time < o->last)
		o->sorted = 0;
	o->last = s->time;
	return 0;
}

struct usage {
	struct index_usage u[8];
	int n;
};

static int usage_cb(void *ctx, const struct index_usage *u)
{
	struct usage *us = ctx;

	if (us->n < 8)
		us->u[us->n++] = *u;
	return 0;
}

static const struct index_usage *usage_of(const struct usage *us,
					  uint8_t tag)
{
	for (int i = 0; i < us->n; i++)
		if (us->u[i].pack.name[0] == tag)
			return &us->u[i];
	return NULL;
}

static int live_cb(void *ctx, const uint8_t *id, const struct index_loc *loc)
{
	int *n = ctx;

	(*n)++;
	return 0;
}

static int snaps_cb(void *ctx, const uint8_t *snap)
{
	int *n = ctx;

	(*n)++;
	return 0;
}

static int missing_cb(void *ctx, const uint8_t *snap, const uint8_t *chunk)
{
	int *n = ctx;

	(*n)++;
	return 0;
}

static void test_chunks(struct index *ix)
{
	struct pack_entry e[4];
	struct index_loc loc;
	uint8_t id[32], name[32];

	mkentry(&e[0], 0xa0, 1, 16, 100, BLOB_DATA);
	mkentry(&e[1], 0xa0, 2, 116, 50, BLOB_DATA);
	mkentry(&e[2], 0xa0, 3, 166, 70, BLOB_SNAPSHOT);
	is_int(add_pack(ix, 0x10, e, 3, 1u << BLOB_DATA, 0), 0,
	       "pack added with a type filter");
	mkid(id, 0xa0, 2);
	is_int(index_chunk_get(ix, id, &loc), 1, "chunk found");
	ok(loc.offset == 116 && loc.length == 50 && loc.raw_len == 100 &&
	   loc.type == BLOB_DATA && loc.pack[0] == 0x10,
	   "its location is right");
	mkid(id, 0xa0, 3);
	is_int(index_chunk_get(ix, id, &loc), 0,
	       "filtered type (snapshot blob) not imported");
	mkid(id, 0xa0, 9);
	is_int(index_chunk_get(ix, id, &loc), 0, "unknown chunk not found");
	mkid(name, 0x10, 0);
	is_int(index_pack_exists(ix, name), 1, "pack exists");
	mkid(name, 0x11, 0);
	is_int(index_pack_exists(ix, name), 0, "other pack does not");

	/* a second copy of chunk 1: first location wins, unless REPLACE */
	mkentry(&e[0], 0xa0, 1, 16, 100, BLOB_DATA);
	is_int(add_pack(ix, 0x11, e, 1, 0, 0), 0, "duplicate pack added");
	mkid(id, 0xa0, 1);
	index_chunk_get(ix, id, &loc);
	is_int(loc.pack[0], 0x10, "first copy kept");
	is_int(add_pack(ix, 0x12, e, 1, 0, INDEX_ADD_REPLACE), 0,
	       "repacked copy added");
	index_chunk_get(ix, id, &loc);
	is_int(loc.pack[0], 0x12, "REPLACE moves the chunk");
}

static void test_snapshots(struct index *ix)
{
	struct repo_snapinfo info;
	struct order ord = { 0, 1, 0 };
	uint8_t a[32], b[32], c[32], refs[2][32];
	char ids[4][65], id[65];
	int n = 0;

	mkid(refs[0], 0xa0, 1);
	mkid(refs[1], 0xa0, 2);
	mkid(a, 0xab, 0x00cd);	/* hex "ab00cd..." */
	mkid(b, 0xab, 0x00ce);	/* hex "ab00ce..." */
	mkid(c, 0xef, 1);
	is_int(add_snap(ix, a, 1000, "daily", refs, 2), 0, "snapshot a");
	is_int(add_snap(ix, c, 3000, NULL, refs, 1), 0, "snapshot c");
	is_int(add_snap(ix, b, 2000, "daily", refs, 0), 0, "snapshot b");
	ok(add_snap(ix, b, 2500, NULL, refs, 0) < 0,
	   "the same snapshot id cannot be added twice");

	is_int(index_snap_get(ix, a, &info), 1, "snapshot a read back");
	ok(info.time == 1000 && !strcmp(info.hostname, "host") &&
	   info.ntags == 1 && !strcmp(info.tags[0], "daily") &&
	   info.entries == 3 && info.id[0] == 'a' && info.id[1] == 'b',
	   "with its fields");
	repo_snapinfo_release(&info);

	index_snap_list(ix, NULL, order_cb, &ord, NULL);
	ok(ord.n == 3 && ord.sorted, "list: 3 snapshots, oldest first");
	index_snap_list(ix, "daily", count_cb, &n, NULL);
	is_int(n, 2, "list by tag");

	is_int(index_snap_match(ix, "ab00", ids, 4), 2, "prefix ab00 is"
	       " ambiguous");
	is_int(index_snap_match(ix, "ab00cd", ids, 4), 1, "prefix ab00cd is"
	       " unique");
	ok(!strncmp(ids[0], "ab00cd", 6), "and names snapshot a");
	is_int(index_snap_match(ix, "ffff", ids, 4), 0, "no match");

	is_int(index_snap_at(ix, INT64_MAX, "safety", 0, id), 1,
	       "latest exists");
	ok(!strncmp(id, "ef", 2), "latest is the newest (c)");
	index_snap_at(ix, 2999, "safety", 0, id);
	ok(!strncmp(id, "ab00ce", 6), "at 2999 -> b");
	index_snap_at(ix, 2000, "safety", 0, id);
	ok(!strncmp(id, "ab00ce", 6), "at 2000 -> b (inclusive)");
	is_int(index_snap_at(ix, 999, "safety", 0, id), 0,
	       "nothing before the first");
	is_int(index_snap_at(ix, INT64_MAX, "safety", 1, id), 0,
	       "no snapshot carries the tag safety");
	is_int(index_snap_at(ix, INT64_MAX, "daily", 1, id), 1,
	       "the newest tagged daily exists");
	ok(!strncmp(id, "ab00ce", 6), "and is b, not the newer c");
	index_snap_at(ix, INT64_MAX, "daily", 0, id);
	ok(!strncmp(id, "ef", 2), "the newest not tagged daily is c");
	is_int(index_snap_at(ix, 2999, "daily", 0, id), 0,
	       "none untagged at or before 2999");
	index_snap_at(ix, 1999, "daily", 1, id);
	ok(!strncmp(id, "ab00cd", 6), "tagged daily at 1999 -> a");

	n = 0;
	index_chunk_snaps(ix, refs[1], snaps_cb, &n, NULL);
	is_int(n, 1, "chunk 2 is referenced by one snapshot");
	n = 0;
	index_chunk_snaps(ix, refs[0], snaps_cb, &n, NULL);
	is_int(n, 2, "chunk 1 by two");
}

/*
 * Packs for the prune arithmetic:
 *   0x20: chunks k1, k2  (referenced by snapshot s1, kept)
 *   0x21: chunk  k3      (referenced only by snapshot s2, dropped)
 *   0x22: k4 live (s1), k5..k7 dead
 *   0x23: tombstone t cancelling snapshot blob x, which is in 0x24
 */
static void test_prune(struct index *ix)
{
	struct pack_entry e[4];
	uint8_t k[8][32], s1[32], s2[32], x[32], t[32], drop[1][32];
	const struct index_usage *u;
	struct usage us = { .n = 0 };
	uint64_t removed = 0;
	int n = 0;

	for (unsigned i = 1; i <= 7; i++)
		mkid(k[i], 0xc0, i);
	mkid(s1, 0xd1, 1);
	mkid(s2, 0xd2, 2);
	mkid(x, 0xd9, 9);
	mkid(t, 0xe0, 1);
	mkentry(&e[0], 0xc0, 1, 16, 100, BLOB_DATA);
	mkentry(&e[1], 0xc0, 2, 116, 100, BLOB_DATA);
	add_pack(ix, 0x20, e, 2, 0, 0);
	mkentry(&e[0], 0xc0, 3, 16, 100, BLOB_DATA);
	add_pack(ix, 0x21, e, 1, 0, 0);
	for (unsigned i = 0; i < 4; i++)
		mkentry(&e[i], 0xc0, 4 + i, 16 + 100 * i, 100, BLOB_DATA);
	add_pack(ix, 0x22, e, 4, 0, 0);
	mkentry(&e[0], 0xe0, 1, 16, 40, BLOB_TOMBSTONE);
	add_pack(ix, 0x23, e, 1, 0, 0);
	mkentry(&e[0], 0xd9, 9, 16, 40, BLOB_SNAPSHOT);
	add_pack(ix, 0x24, e, 1, 0, 0);
	is_int(index_tomb_add(ix, x, t, NULL), 0, "tombstone recorded");
	is_int(index_tomb_has(ix, x), 1, "x is tombstoned");
	is_int(index_tomb_has(ix, s1), 0, "s1 is not");

	{
		uint8_t refs1[3][32], refs2[1][32];

		memcpy(refs1[0], k[1], 32);
		memcpy(refs1[1], k[2], 32);
		memcpy(refs1[2], k[4], 32);
		memcpy(refs2[0], k[3], 32);
		add_snap(ix, s1, 5000, NULL, (const uint8_t (*)[32])refs1, 3);
		add_snap(ix, s2, 6000, NULL, (const uint8_t (*)[32])refs2, 1);
	}
	memcpy(drop[0], s2, 32);
	is_int(index_prune_drop(ix, (const uint8_t (*)[32])drop, 1, NULL), 0,
	       "s2 dropped for planning");
	index_prune_usage(ix, usage_cb, &us, NULL);
	u = usage_of(&us, 0x20);
	ok(u && u->blobs == 2 && u->live_blobs == 2 && u->live_bytes == 200,
	   "pack 0x20 fully live");
	u = usage_of(&us, 0x21);
	ok(u && u->blobs == 1 && u->live_blobs == 0,
	   "pack 0x21 dead once s2 is dropped");
	u = usage_of(&us, 0x22);
	ok(u && u->blobs == 4 && u->live_blobs == 1 && u->live_bytes == 100,
	   "pack 0x22 one live blob of four");
	u = usage_of(&us, 0x23);
	ok(u && u->live_blobs == 1, "tombstone live while the snapshot blob"
	   " it cancels is indexed");
	u = usage_of(&us, 0x24);
	ok(u && u->live_blobs == 0, "the forgotten snapshot blob is dead");
	u = usage_of(&us, 0x22);
	index_prune_live(ix, u ? u->pack.pid : -1, live_cb, &n, NULL);
	is_int(n, 1, "live rows of pack 0x22: one");

	index_prune_drop(ix, NULL, 0, NULL);
	us.n = 0;
	index_prune_usage(ix, usage_cb, &us, NULL);
	u = usage_of(&us, 0x21);
	ok(u && u->live_blobs == 1, "without the drop, 0x21 is live again");

	/* planning to delete the pack holding x kills the tombstone too */
	u = usage_of(&us, 0x24);
	{
		int64_t gone = u ? u->pack.pid : -1;

		is_int(index_prune_gone(ix, &gone, 1, NULL), 0,
		       "pack 0x24 planned to go");
		us.n = 0;
		index_prune_usage(ix, usage_cb, &us, NULL);
		u = usage_of(&us, 0x23);
		ok(u && u->live_blobs == 0 && u->tombstones == 1,
		   "the tombstone dies with the pack of its snapshot blob");
		index_prune_gone(ix, NULL, 0, NULL);
		us.n = 0;
		index_prune_usage(ix, usage_cb, &us, NULL);
	}

	/* delete the pack holding x: the tombstone becomes dead */
	u = usage_of(&us, 0x24);
	index_begin(ix, NULL);
	is_int(index_pack_delete(ix, u ? u->pack.pid : -1, &removed, NULL), 0,
	       "pack deleted");
	index_commit(ix, NULL);
	is_int(removed, 1, "with its one chunk row");
	us.n = 0;
	index_prune_usage(ix, usage_cb, &us, NULL);
	u = usage_of(&us, 0x23);
	ok(u && u->live_blobs == 0, "tombstone dead once the snapshot blob"
	   " is gone");
	ok(usage_of(&us, 0x24) == NULL, "deleted pack no longer listed");

	/* forget s2: its references go, and k3 loses its only referrer */
	is_int(index_snap_forget(ix, s2, NULL), 1, "s2 forgotten");
	is_int(index_snap_forget(ix, s2, NULL), 0, "forgetting twice: 0");
	us.n = 0;
	index_prune_usage(ix, usage_cb, &us, NULL);
	u = usage_of(&us, 0x21);
	ok(u && u->live_blobs == 0, "k3 is dead after the forget");

	n = 0;
	index_missing_refs(ix, missing_cb, &n, NULL);
	ok(n >= 1, "snapshot records not in any pack are reported missing");
}

static void test_stats(struct index *ix)
{
	struct repo_stats st;

	is_int(index_stats(ix, &st, NULL), 0, "stats");
	ok(st.snapshots == 4 && st.packs > 0 && st.chunks > 0 &&
	   st.stored_bytes == st.packs * 1000 && st.referenced_raw == 400,
	   "stats add up (snapshots %llu packs %llu)",
	   (unsigned long long)st.snapshots, (unsigned long long)st.packs);
}

int main(void)
{
	struct index *ix;
	char path[128];

	if (!mkdtemp(dir)) {
		diag("mkdtemp failed");
		return 1;
	}
	snprintf(path, sizeof(path), "%s/index.db", dir);
	is_int(index_open(&ix, path, NULL), 0, "index created");
	test_chunks(ix);
	test_snapshots(ix);
	test_prune(ix);
	test_stats(ix);
	index_free(ix);
	is_int(index_open(&ix, path, NULL), 0, "index reopened");
	{
		int n = 0;

		index_snap_list(ix, NULL, count_cb, &n, NULL);
		is_int(n, 4, "snapshots persist across reopen");
	}
	index_free(ix);
	if (getenv("KEEP")) return done_testing();
	if (nftw(dir, rm_one, 8, FTW_DEPTH | FTW_PHYS) < 0)
		diag("cleanup of %s failed", dir);
	return done_testing();
}

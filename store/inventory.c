/*
 * inventory: packs/ against the index (see inventory.h).
 *
 * The orphan import reads the trailers of the packs the index does not
 * list, twice: first to collect what their tombstones forget (a prune
 * interrupted after its index commit leaves both the packs of forgotten
 * snapshots and the tombstones that forgot them), then to import each
 * pack unless it holds a snapshot record nobody accounts for.  The check
 * before deleting reads no pack: a sorted listing of packs/ is merged
 * with the index's packs, which come ordered by name.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "blob.h"
#include "chain.h"
#include "index.h"
#include "inventory.h"
#include "reader.h"
#include "repo-internal.h"
#include "snaprec.h"

static int inventory_add_name(void *ctx, const uint8_t *name)
{
	return buf_add(ctx, name, 32);
}

/* ---- importing orphan packs -------------------------------------- */

struct inventory_orphans {
	struct repo *r;
	struct buf names;	/* packs not in the index, 32 bytes each */
	struct buf forgotten;	/* snapshot ids their tombstones forget */
	struct buf stored, plain;
};

static int inventory_orphan(void *ctx, const uint8_t *name)
{
	struct inventory_orphans *o = ctx;
	int rc = index_pack_exists(o->r->ix, name);

	return rc == 0 ? buf_add(&o->names, name, 32) : rc < 0 ? rc : 0;
}

/* Adds what the tombstones of one orphan pack forget; a tombstone that
 * does not decode forgets nothing (its snapshot keeps the pack out). */
static int inventory_tombstones(struct inventory_orphans *o,
				const uint8_t *name,
				const struct pack_entry *e, size_t n)
{
	struct index_loc loc;
	uint8_t (*ids)[32];
	size_t k;
	int rc = 0;

	for (size_t i = 0; rc == 0 && i < n; i++) {
		if (e[i].type != BLOB_TOMBSTONE)
			continue;
		memset(&loc, 0, sizeof(loc));
		memcpy(loc.pack, name, 32);
		loc.offset = e[i].offset;
		loc.length = e[i].length;
		loc.raw_len = e[i].raw_len;
		loc.type = e[i].type;
		ids = NULL;
		rc = reader_load(o->r, &loc, e[i].id, &o->stored, &o->plain,
				 NULL);
		if (rc == 0)
			rc = tombstone_decode(o->plain.data, o->plain.len,
					      &ids, &k);
		if (rc == 0)
			rc = buf_add(&o->forgotten, ids, 32 * k);
		free(ids);
		rc = rc == -ENOMEM ? rc : 0;
	}
	return rc;
}

/* 1 when the pack holds the record of a snapshot that the index neither
 * lists nor forgot, and no orphan tombstone forgets. */
static int inventory_unknown_snapshot(struct inventory_orphans *o,
				      const struct pack_entry *e, size_t n)
{
	struct repo_snapinfo info;
	int rc = 0;

	for (size_t i = 0; rc == 0 && i < n; i++) {
		if (e[i].type != BLOB_SNAPSHOT ||
		    repo_ids_has(&o->forgotten, e[i].id))
			continue;
		rc = index_tomb_has(o->r->ix, e[i].id);
		if (rc == 0) {
			rc = index_snap_get(o->r->ix, e[i].id, &info);
			repo_snapinfo_release(&info);
		}
		rc = rc == 0 ? 1 : rc < 0 ? rc : 0;
	}
	return rc;
}

/* Reads one orphan's trailer: 1 with *e and *n, 0 when it does not
 * decode (incomplete or foreign: not ours to import; check reports). */
static int inventory_trailer(struct repo *r, const uint8_t *name,
			     struct pack_entry **e, size_t *n,
			     uint64_t *size, struct buf *err)
{
	int rc = reader_pack_trailer(r, name, e, n, size, err);

	if (rc == -EBADMSG || rc == -EKEYREJECTED) {
		if (err)
			buf_reset(err);
		return 0;
	}
	return rc < 0 ? rc : 1;
}

static int inventory_import(struct inventory_orphans *o, const uint8_t *name,
			    struct buf *err)
{
	struct pack_entry *e = NULL;
	uint64_t size;
	size_t n;
	int rc = inventory_trailer(o->r, name, &e, &n, &size, err);

	if (rc == 1)
		rc = inventory_unknown_snapshot(o, e, n);
	else if (rc == 0)
		rc = 1;
	if (rc == 0)
		rc = index_begin(o->r->ix, err);
	if (rc == 0) {
		rc = index_pack_add(o->r->ix, name, size, e, n,
				    1u << BLOB_DATA | 1u << BLOB_MANIFEST, 0,
				    err);
		/* its deltas' links, and no delta whose base is gone */
		if (rc == 0)
			rc = chain_links_scan(o->r, o->r->ix, name, e, n, err);
		if (rc == 0)
			rc = index_bases_sweep(o->r->ix, NULL, err);
		if (rc == 0)
			rc = index_commit(o->r->ix, err);
		else
			index_rollback(o->r->ix);
	}
	free(e);
	return rc < 0 ? rc : 0;
}

int inventory_import_orphans(struct repo *r, struct buf *err)
{
	struct inventory_orphans o = { r, BUF_INIT, BUF_INIT, BUF_INIT,
				       BUF_INIT };
	struct pack_entry *e;
	const uint8_t *name;
	uint64_t size;
	size_t n, count;
	int rc = repo_foreach_pack_file(r, inventory_orphan, &o);

	count = o.names.len / 32;
	for (size_t i = 0; rc == 0 && i < count; i++) {
		name = o.names.data + 32 * i;
		e = NULL;
		rc = inventory_trailer(r, name, &e, &n, &size, err);
		if (rc == 1)
			rc = inventory_tombstones(&o, name, e, n);
		free(e);
	}
	if (rc == 0)
		repo_ids_sort(&o.forgotten);
	for (size_t i = 0; rc == 0 && i < count; i++)
		rc = inventory_import(&o, o.names.data + 32 * i, err);
	if (rc == -EBADMSG)
		repo_errf(err, rc, "cannot look for packs missing from the"
			  " index: %s/index.db is damaged; run `vault check"
			  " --rebuild-index` to rebuild it from the packs",
			  r->path);
	else if (rc < 0 && err && !err->len)
		repo_errf(err, rc, "cannot import packs missing from the"
			  " index: %s", strerror(-rc));
	buf_release(&o.names);
	buf_release(&o.forgotten);
	buf_release(&o.stored);
	buf_release(&o.plain);
	return rc;
}

/* ---- does the index match packs/? -------------------------------- */

struct inventory_cmp {
	const uint8_t *disk;	/* sorted names of the pack files */
	size_t ndisk, next;
	size_t indexed, unknown, missing;
	uint8_t an_unknown[32], a_missing[32];
};

static void inventory_unknown(struct inventory_cmp *c)
{
	if (!c->unknown++)
		memcpy(c->an_unknown, c->disk + 32 * c->next, 32);
	c->next++;
}

static int inventory_indexed(void *ctx, const struct index_pack *p)
{
	struct inventory_cmp *c = ctx;
	int d = 1;

	c->indexed++;
	while (c->next < c->ndisk &&
	       (d = memcmp(c->disk + 32 * c->next, p->name, 32)) < 0)
		inventory_unknown(c);
	if (c->next < c->ndisk && d == 0) {
		c->next++;
		return 0;
	}
	if (!c->missing++)
		memcpy(c->a_missing, p->name, 32);
	return 0;
}

/* "N <one or many> (e.g. <path>)" */
static void inventory_say(struct repo *r, struct buf *out, size_t n,
			  const char *one, const char *many,
			  const uint8_t *name)
{
	struct buf path = BUF_INIT;

	if (repo_pack_path(r, name, &path, NULL) == 0)
		buf_addf(out, "%s%zu %s (%s%s)", out->len ? "; " : "", n,
			 n > 1 ? many : one, n > 1 ? "e.g. " : "",
			 (char *)path.data);
	buf_release(&path);
}

int inventory_check(struct repo *r, const char *verb, struct buf *err)
{
	struct inventory_cmp c;
	struct buf disk = BUF_INIT, why = BUF_INIT;
	int rc = repo_foreach_pack_file(r, inventory_add_name, &disk);

	memset(&c, 0, sizeof(c));
	if (rc < 0) {
		buf_release(&disk);
		return repo_errf(err, rc, "%s: cannot list %s/packs: %s", verb,
				 r->path, strerror(-rc));
	}
	repo_ids_sort(&disk);
	c.disk = disk.data;
	c.ndisk = disk.len / 32;
	rc = index_pack_foreach(r->ix, inventory_indexed, &c, err);
	while (rc == 0 && c.next < c.ndisk)
		inventory_unknown(&c);
	if (rc == 0 && (c.unknown || c.missing)) {
		if (!c.indexed)
			buf_addf(&why, "the index lists no packs, but packs/"
				 " holds %zu", c.unknown);
		else if (c.unknown)
			inventory_say(r, &why, c.unknown, "pack file is not in"
				      " the index", "pack files are not in the"
				      " index", c.an_unknown);
		if (c.missing)
			inventory_say(r, &why, c.missing, "indexed pack is"
				      " missing", "indexed packs are missing",
				      c.a_missing);
		rc = repo_errf(err, -EUCLEAN, "%s refused: the index does not"
			       " match the packs on disk: %s.  Nothing was"
			       " changed: run `vault check --rebuild-index`"
			       " to rebuild the index from the packs, then"
			       " %s again", verb, (char *)why.data, verb);
	}
	buf_release(&disk);
	buf_release(&why);
	return rc;
}

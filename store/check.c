/*
 * check: repo_check (declared in repo.h); rebuild-index is rebuild.c.
 *
 * check walks every indexed pack: the file must exist with the indexed
 * size, its header, footer and trailer must decode and agree with the
 * index, and every indexed blob must pass blob_verify (keyless XXH3) or,
 * for packs chosen for reading data, decode and hash back to its id (also
 * in encrypted repositories, where the AEAD binding already proves it:
 * check is where a second, independent proof is worth its cost).
 * A delta blob must name the base and depth the index records; read,
 * it is decoded through its whole chain with every link re-hashed.
 * Damaged blob ids are collected, with every delta whose chain goes
 * through one; afterwards each snapshot referencing one has its manifest
 * walked once to name the affected paths.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sodium.h>
#include <sys/stat.h>

#include "blob.h"
#include "chain.h"
#include "index.h"
#include "reader.h"
#include "repo-internal.h"
#include "snaprec.h"

struct check {
	struct repo *r;
	const struct repo_check_opts *o;
	struct repo_check_result *res;
	struct buf damaged;	/* 32-byte ids */
	struct buf stored, plain, tmp, msg;
	struct chain_cache *chains;
	struct chain_link links[CHAIN_MAX_LINKS];
};

static void check_report(struct check *c, const char *kind, const char *what,
			 const char *detail)
{
	/* "path" lines detail a problem already counted */
	if (strcmp(kind, "path"))
		c->res->problems++;
	if (c->o->problem)
		c->o->problem(c->o->ctx, kind, what, detail);
}

static int check_damaged(struct check *c, const uint8_t *id)
{
	return buf_add(&c->damaged, id, 32);
}

/* ---- packs and blobs --------------------------------------------- */

struct check_pack {
	struct check *c;
	const struct index_pack *p;
	char hex[65];
	struct pack_entry *e;	/* trailer, NULL when unreadable */
	size_t n;
	int data;		/* decode and hash every blob */
};

static int check_cmp_off(const void *key, const void *ent)
{
	uint64_t off = *(const uint64_t *)key;
	const struct pack_entry *e = ent;

	return off < e->offset ? -1 : off > e->offset;
}

/* The index row must be the trailer's entry at that offset. */
static void check_against_trailer(struct check_pack *cp, const uint8_t *id,
				  const struct index_loc *loc,
				  const char *blob)
{
	const struct pack_entry *e;
	struct buf d = BUF_INIT;

	if (!cp->e)
		return;
	e = bsearch(&loc->offset, cp->e, cp->n, sizeof(*e), check_cmp_off);
	if (e && !memcmp(e->id, id, 32) && e->length == loc->length &&
	    e->type == loc->type && e->raw_len == loc->raw_len)
		return;
	buf_addf(&d, "pack %s: the index entry does not match the pack's"
		 " trailer", cp->hex);
	check_report(cp->c, "index", blob, (char *)d.data);
	buf_release(&d);
}

/* A stored blob that verifies must be what the index says: a delta on
 * the recorded base at the recorded depth, or a whole chunk. */
static int check_link(struct check_pack *cp, const struct index_loc *loc,
		      const char *blob)
{
	struct blob_delta d;
	int delta = blob_peek_delta(cp->c->stored.data, cp->c->stored.len, &d);

	if (delta == 1 ? loc->depth == d.depth &&
			 !memcmp(loc->base, d.base, 32)
		       : !loc->depth)
		return 0;
	return repo_errf(&cp->c->msg, -EBADMSG, "pack %s: blob %s is %s, the"
			 " index records %s", cp->hex, blob, delta == 1
			 ? "a delta" : "a whole chunk", loc->depth
			 ? "a delta on another base or at another depth"
			 : "a whole chunk");
}

/* Reads a blob the slow way: decoded (a delta through its chain) and
 * every plaintext hashed back to its id. */
static int check_read(struct check *c, const uint8_t *id,
		      const struct index_loc *loc)
{
	size_t n = 1;
	int rc = 1;

	c->links[0].loc = *loc;
	memcpy(c->links[0].id, id, 32);
	if (loc->depth)
		rc = chain_resolve(c->r->ix, id, loc, c->links, &n, &c->msg);
	if (rc > 0)
		rc = chain_load(c->r, c->chains, c->links, n, 1, &c->stored,
				&c->tmp, &c->plain, &c->msg);
	return rc;
}

static int check_blob(void *ctx, const uint8_t *id, const struct index_loc *loc)
{
	struct check_pack *cp = ctx;
	struct check *c = cp->c;
	char blob[65];
	int rc;

	hex_encode(blob, id, 32);
	c->res->blobs_checked++;
	check_against_trailer(cp, id, loc, blob);
	buf_reset(&c->msg);
	if (cp->data) {
		rc = check_read(c, id, loc);
	} else {
		rc = reader_stored(c->r, loc, &c->stored, &c->msg);
		if (rc == 0 && blob_verify(c->stored.data, c->stored.len) < 0)
			rc = repo_errf(&c->msg, -EBADMSG, "pack %s: blob %s:"
				       " checksum mismatch", cp->hex, blob);
		if (rc == 0)
			rc = check_link(cp, loc, blob);
	}
	if (rc == -ENOMEM)
		return rc;
	if (rc < 0) {
		check_report(c, "blob", blob, (char *)c->msg.data);
		return check_damaged(c, id);
	}
	return 0;
}

static int check_missing_blob(void *ctx, const uint8_t *id,
			      const struct index_loc *loc)
{
	return check_damaged(ctx, id);
}

/* Header, footer, trailer; reports and returns 0 unless out of memory. */
static void check_trailer(struct check_pack *cp, uint64_t size)
{
	struct check *c = cp->c;
	struct buf d = BUF_INIT;
	uint64_t got;
	int rc;

	if (size != cp->p->size) {
		buf_addf(&d, "size %llu, the index says %llu",
			 (unsigned long long)size,
			 (unsigned long long)cp->p->size);
		check_report(c, "pack", cp->hex, (char *)d.data);
	}
	buf_reset(&c->msg);
	rc = reader_pack_trailer(c->r, cp->p->name, &cp->e, &cp->n, &got,
				 &c->msg);
	if (rc < 0) {
		check_report(c, "pack", cp->hex, (char *)c->msg.data);
	} else if (cp->n != cp->p->nblobs) {
		buf_reset(&d);
		buf_addf(&d, "the trailer lists %zu blobs, the index says"
			 " %llu", cp->n, (unsigned long long)cp->p->nblobs);
		check_report(c, "index", cp->hex, (char *)d.data);
	}
	buf_release(&d);
}

static int check_wants_data(const struct check *c)
{
	double s = c->o->subset;

	if (c->o->read_data || s >= 100)
		return 1;
	if (s <= 0)
		return 0;
	return randombytes_uniform(1000000) < (uint32_t)(s * 10000);
}

static int check_pack(struct check *c, const struct index_pack *p)
{
	struct check_pack cp = { c, p, "", NULL, 0, check_wants_data(c) };
	struct buf path = BUF_INIT;
	struct stat st;
	int rc;

	hex_encode(cp.hex, p->name, 32);
	rc = repo_pack_path(c->r, p->name, &path, NULL);
	if (rc < 0)
		return rc;
	c->res->packs_checked++;
	if (stat((char *)path.data, &st) < 0) {
		repo_errf(&c->msg, -errno, "%s: %s", (char *)path.data,
			  strerror(errno));
		buf_release(&path);
		check_report(c, "pack", cp.hex, (char *)c->msg.data);
		return index_pack_chunks(c->r->ix, p->pid, check_missing_blob,
					 c, NULL);
	}
	buf_release(&path);
	check_trailer(&cp, (uint64_t)st.st_size);
	rc = index_pack_chunks(c->r->ix, p->pid, check_blob, &cp, &c->msg);
	free(cp.e);
	reader_cache_flush(c->r->cache);
	return rc;
}

struct check_packs {
	struct index_pack *p;
	size_t n, cap;
};

static int check_collect(void *ctx, const struct index_pack *p)
{
	struct check_packs *l = ctx;

	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 256;
		struct index_pack *q = realloc(l->p, cap * sizeof(*q));

		if (!q)
			return -ENOMEM;
		l->p = q;
		l->cap = cap;
	}
	l->p[l->n++] = *p;
	return 0;
}

static int check_packs(struct check *c, struct buf *err)
{
	struct check_packs l = { 0 };
	struct repo_progress pr = { "check", NULL, 0, 0, 0, 0, 0, 0 };
	char hex[65];
	int rc = index_pack_foreach(c->r->ix, check_collect, &l, err);

	pr.items_total = l.n;
	for (size_t i = 0; i < l.n; i++)
		pr.bytes_total += l.p[i].size;
	for (size_t i = 0; rc == 0 && i < l.n; i++) {
		hex_encode(hex, l.p[i].name, 32);
		pr.pack = hex;
		pr.pack_size = l.p[i].size;
		pr.done = 0;
		repo_progress(c->r, &pr);
		rc = check_pack(c, &l.p[i]);
		pr.done = 1;
		pr.bytes += l.p[i].size;
		pr.items++;
		if (rc == 0)
			repo_progress(c->r, &pr);
	}
	free(l.p);
	return rc;
}

/* ---- snapshots --------------------------------------------------- */

static int check_missing_ref(void *ctx, const uint8_t *snap,
			     const uint8_t *chunk)
{
	struct check *c = ctx;
	char s[65], b[65];

	hex_encode(s, snap, 32);
	hex_encode(b, chunk, 32);
	repo_errf(&c->msg, 0, "snapshot %s references it but no pack"
		  " holds it", s);
	check_report(c, "blob", b, (char *)c->msg.data);
	return check_damaged(c, chunk);
}

static int check_add_snap(void *ctx, const uint8_t *snap)
{
	return buf_add(ctx, snap, 32);
}

/* Walks one snapshot's manifest, reporting paths with damaged chunks. */
static void check_walk(struct check *c, const uint8_t *snap)
{
	struct reader_manifest *m = NULL;
	struct manifest_entry e = { 0 };
	struct manifest_chunk ch;
	struct buf what = BUF_INIT;
	char hex[65], blob[65];
	int rc, hit;

	hex_encode(hex, snap, 32);
	check_report(c, "snapshot", hex, "references damaged or missing"
		     " data");
	rc = reader_manifest_open(&m, c->r, c->r->ix, snap, &c->msg);
	while (rc == 0 && (rc = reader_manifest_next(m, &e, &c->msg)) == 1) {
		hit = 0;
		while ((rc = reader_manifest_chunk(m, &ch, &c->msg)) == 1) {
			if (hit || !repo_ids_has(&c->damaged, ch.id))
				continue;
			hit = 1;
			hex_encode(blob, ch.id, 32);
			buf_reset(&what);
			buf_addf(&what, "%s:%s", hex, e.path);
			repo_errf(&c->msg, 0, "blob %s is damaged", blob);
			check_report(c, "path", (char *)what.data,
				     (char *)c->msg.data);
		}
		if (rc < 0)
			break;
	}
	if (rc < 0)
		check_report(c, "snapshot", hex, (char *)c->msg.data);
	manifest_entry_release(&e);
	reader_manifest_free(m);
	buf_release(&what);
}

static int check_add_dependent(void *ctx, const uint8_t *id)
{
	return buf_add(ctx, id, 32);
}

static int check_affected(struct check *c, struct buf *err)
{
	struct buf snaps = BUF_INIT;
	size_t n = c->damaged.len / 32;
	int rc = 0;

	/* a delta above a damaged chunk cannot be read either */
	for (size_t i = 0; rc == 0 && i < n; i++) {
		uint8_t id[32];

		memcpy(id, c->damaged.data + 32 * i, 32);
		rc = index_chunk_dependents(c->r->ix, id, check_add_dependent,
					    &c->damaged, err);
	}
	repo_ids_sort(&c->damaged);
	for (size_t i = 0; rc == 0 && i < c->damaged.len / 32; i++)
		rc = index_chunk_snaps(c->r->ix, c->damaged.data + 32 * i,
				       check_add_snap, &snaps, err);
	if (rc == 0)
		repo_ids_sort(&snaps);
	for (size_t i = 0; rc == 0 && i < snaps.len / 32; i++)
		check_walk(c, snaps.data + 32 * i);
	buf_release(&snaps);
	return rc;
}

int repo_check(struct repo *r, const struct repo_check_opts *o,
	       struct repo_check_result *res, struct buf *err)
{
	static const struct repo_check_opts none;
	struct check c;
	int rc;

	memset(&c, 0, sizeof(c));
	c.r = r;
	c.o = o ? o : &none;
	c.res = res;
	buf_init(&c.damaged, 0);
	buf_init(&c.stored, 0);
	buf_init(&c.plain, 0);
	buf_init(&c.tmp, 0);
	buf_init(&c.msg, 0);
	memset(res, 0, sizeof(*res));
	rc = chain_cache_new(&c.chains);
	if (rc < 0)
		return repo_errf(err, rc, "check: %s", strerror(-rc));
	rc = index_quick_check(r->ix, &c.msg);
	if (rc > 0)
		buf_addstr(&c.msg, index_damage_hint(-EBADMSG));
	if (rc > 0 || rc == -EBADMSG)	/* go on: the packs may be fine */
		check_report(&c, "index", "index.db", (char *)c.msg.data);
	rc = rc < 0 && rc != -EBADMSG ? rc : check_packs(&c, err);
	if (rc == 0)
		rc = index_missing_refs(r->ix, check_missing_ref, &c, err);
	if (rc == 0 && c.damaged.len)
		rc = check_affected(&c, err);
	buf_release(&c.damaged);
	buf_release(&c.stored);
	buf_release(&c.plain);
	buf_release(&c.tmp);
	buf_release(&c.msg);
	chain_cache_free(c.chains);
	if (rc < 0) {
		if (err && !err->len)
			repo_errf(err, rc, "check: %s%s", c.msg.len ?
				  (char *)c.msg.data : strerror(-rc),
				  c.msg.len ? "" : index_damage_hint(rc));
		return rc;
	}
	if (res->problems)
		return repo_errf(err, -EBADMSG, "%llu problems found",
				 (unsigned long long)res->problems);
	return 0;
}

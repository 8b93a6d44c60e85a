/*
 * salvage: the intact blobs of a damaged pack (see salvage.h).
 *
 * The file is mapped read-only: past a damaged blob the scan looks at
 * every byte, and the page cache, not our heap, holds the pack.  Three
 * steps: find every intact blob's place (framing and checksum only, no
 * key), learn ids (a trailer among those blobs, the caller's hints, or
 * the keyed hash of an unencrypted plaintext), then keep each listed
 * blob that decodes under its id with its listed type and length.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

#include "blob.h"
#include "chain.h"
#include "reader.h"
#include "repo-internal.h"
#include "salvage.h"

struct salvage_scan {
	struct repo *r;
	const uint8_t *p;	/* the mapped file */
	uint64_t size;
	struct buf frames;	/* struct pack_entry[]: intact blobs, no ids */
	struct buf kept;	/* struct pack_entry[] */
	struct buf lost;	/* struct pack_entry[] */
	struct buf unnamed;	/* struct pack_entry[], ids unset */
	struct buf plain;	/* scratch */
};

static int salvage_add(struct buf *b, const struct pack_entry *e)
{
	return buf_add(b, e, sizeof(*e));
}

static int salvage_cmp_off(const void *a, const void *b)
{
	const struct pack_entry *x = a, *y = b;

	return x->offset < y->offset ? -1 : x->offset > y->offset;
}

/* Maps the pack read-only; *p stays NULL for a file too short to hold
 * a blob. */
static int salvage_map(struct repo *r, const uint8_t *name, void **p,
		       uint64_t *size, struct buf *err)
{
	struct buf path = BUF_INIT;
	int fd, rc = 0;

	*p = NULL;
	fd = reader_pack_open(r, name, &path, size, err);
	if (fd >= 0 && *size > PACK_HEADER_SIZE) {
		*p = mmap(NULL, (size_t)*size, PROT_READ, MAP_PRIVATE, fd, 0);
		if (*p == MAP_FAILED) {
			*p = NULL;
			rc = repo_errf(err, -errno, "pack %s: cannot map: %s",
				       (char *)path.data, strerror(errno));
		}
	}
	if (fd >= 0)
		close(fd);
	buf_release(&path);
	return fd < 0 ? fd : rc;
}

/* Every intact blob's place, type and lengths, by offset. */
static int salvage_frames(struct salvage_scan *sc)
{
	uint64_t pos = PACK_HEADER_SIZE;
	struct pack_entry f;
	size_t len;
	int rc;

	while (pos < sc->size) {
		rc = blob_frame_len(sc->p + pos, (size_t)(sc->size - pos),
				    &len);
		if (rc == -ENOMEM)
			return rc;
		if (rc < 0) {	/* damage: look for the next blob */
			pos++;
			continue;
		}
		memset(&f, 0, sizeof(f));
		f.offset = pos;
		f.length = (uint32_t)len;
		blob_peek(sc->p + pos, len, &f.type, NULL, &f.raw_len);
		rc = salvage_add(&sc->frames, &f);
		if (rc < 0)
			return rc;
		pos += len;
	}
	return 0;
}

/* The entries of the last blob that decodes as this pack's trailer:
 * 1 with *e and *n set, 0 when there is none. */
static int salvage_trailer(struct salvage_scan *sc, const uint8_t *name,
			   struct pack_entry **e, size_t *n)
{
	const struct pack_entry *f = (const void *)sc->frames.data;
	size_t nf = sc->frames.len / sizeof(*f);
	int rc;

	for (size_t i = nf; i-- > 0;) {
		if (f[i].type != BLOB_TRAILER)
			continue;
		rc = pack_trailer_decode(sc->p + f[i].offset, f[i].length,
					 f[i].offset, repo_enc_key(sc->r),
					 name, e, n);
		if (rc == -ENOMEM)
			return rc;
		if (rc == 0)
			return 1;
	}
	return 0;
}

/* 1 when the listed blob is intact where it is listed, 0 when not. */
static int salvage_verify(struct salvage_scan *sc, const struct pack_entry *e)
{
	uint8_t type = 0, got[32];
	int rc;

	if (e->offset < PACK_HEADER_SIZE || e->offset > sc->size ||
	    e->length > sc->size - e->offset)
		return 0;
	buf_reset(&sc->plain);
	rc = blob_decode(&sc->plain, &type, sc->p + e->offset, e->length,
			 repo_enc_key(sc->r), e->id);
	if (rc == -ENOMSG) {	/* a delta: its id without its base */
		uint32_t raw_len = 0;

		buf_reset(&sc->plain);
		rc = blob_open_delta(&sc->plain, NULL, &raw_len,
				     sc->p + e->offset, e->length,
				     repo_enc_key(sc->r), e->id);
		return rc == -ENOMEM ? rc : rc == 0 &&
		       e->type == BLOB_DATA && raw_len == e->raw_len;
	}
	if (rc == -ENOMEM)
		return rc;
	if (rc < 0 || type != e->type || sc->plain.len != e->raw_len)
		return 0;
	if (repo_enc_key(sc->r))	/* the AEAD bound the id */
		return 1;
	repo_chunk_id(sc->r, sc->plain.data, sc->plain.len, got);
	return !memcmp(got, e->id, 32);
}

static int salvage_is_kept(const struct salvage_scan *sc, uint64_t off)
{
	struct pack_entry key = { .offset = off };

	return bsearch(&key, sc->kept.data, sc->kept.len / sizeof(key),
		       sizeof(key), salvage_cmp_off) != NULL;
}

/* Verifies every listed entry (trailer, then hints): kept or lost. */
static int salvage_listed(struct salvage_scan *sc, const struct pack_entry *a,
			  size_t na, const struct pack_entry *b, size_t nb)
{
	struct buf all = BUF_INIT;
	struct pack_entry *e;
	size_t n;
	int rc = buf_add(&all, a, na * sizeof(*a));

	if (rc == 0 && nb)
		rc = buf_add(&all, b, nb * sizeof(*b));
	e = (struct pack_entry *)all.data;
	n = all.len / sizeof(*e);
	if (rc == 0)
		qsort(e, n, sizeof(*e), salvage_cmp_off);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		if (i && e[i].offset == e[i - 1].offset &&
		    !memcmp(e[i].id, e[i - 1].id, 32))
			continue;	/* listed twice */
		if (salvage_is_kept(sc, e[i].offset))
			continue;
		rc = salvage_verify(sc, &e[i]);
		if (rc >= 0)
			rc = salvage_add(rc ? &sc->kept : &sc->lost, &e[i]);
	}
	buf_release(&all);
	return rc;
}

/* Intact blobs nothing listed: named by their hash where unencrypted,
 * else returned unnamed.  Added to kept after the loop, which looks kept
 * up by offset. */
static int salvage_unlisted(struct salvage_scan *sc, struct buf *unnamed)
{
	const struct pack_entry *f = (const void *)sc->frames.data;
	size_t nf = sc->frames.len / sizeof(*f);
	struct buf named = BUF_INIT;
	struct pack_entry e;
	uint8_t type;
	int rc = 0;

	for (size_t i = 0; rc == 0 && i < nf; i++) {
		if (f[i].type == BLOB_TRAILER ||
		    salvage_is_kept(sc, f[i].offset))
			continue;
		if (repo_enc_key(sc->r)) {
			rc = salvage_add(unnamed, &f[i]);
			continue;
		}
		buf_reset(&sc->plain);
		rc = blob_decode(&sc->plain, &type, sc->p + f[i].offset,
				 f[i].length, NULL, NULL);
		if (rc == -ENOMSG) {	/* a delta: hashed once its base is */
			rc = salvage_add(unnamed, &f[i]);
			continue;
		}
		if (rc < 0) {	/* framing holds, the payload does not */
			rc = rc == -ENOMEM ? rc : 0;
			continue;
		}
		e = f[i];
		e.type = type;
		e.raw_len = (uint32_t)sc->plain.len;
		repo_chunk_id(sc->r, sc->plain.data, sc->plain.len, e.id);
		rc = salvage_add(&named, &e);
	}
	if (rc == 0)
		rc = buf_add(&sc->kept, named.data, named.len);
	buf_release(&named);
	return rc;
}

int salvage_pack(struct repo *r, const uint8_t name[PACK_ID_SIZE],
		 const struct pack_entry *hints, size_t nhints,
		 struct salvage *s, struct buf *err)
{
	struct salvage_scan sc = { r, NULL, 0, BUF_INIT, BUF_INIT, BUF_INIT,
				   BUF_INIT, BUF_INIT };
	struct pack_entry *te = NULL;
	size_t tn = 0, len;
	void *map = NULL;
	int rc;

	memset(s, 0, sizeof(*s));
	rc = salvage_map(r, name, &map, &sc.size, err);
	if (rc < 0)
		return rc;
	sc.p = map;
	if (map)
		rc = salvage_frames(&sc);
	if (rc == 0)
		rc = salvage_trailer(&sc, name, &te, &tn);
	if (rc >= 0) {
		s->trailer = rc;
		rc = salvage_listed(&sc, te, tn, hints, nhints);
	}
	if (rc == 0)
		rc = salvage_unlisted(&sc, &sc.unnamed);
	free(te);
	if (map)
		munmap(map, (size_t)sc.size);
	if (rc == 0) {
		qsort(sc.kept.data, sc.kept.len / sizeof(*s->e), sizeof(*s->e),
		      salvage_cmp_off);
		s->size = sc.size;
		s->n = sc.kept.len / sizeof(*s->e);
		s->nlost = sc.lost.len / sizeof(*s->lost);
		s->nunnamed = sc.unnamed.len / sizeof(*s->unnamed);
		s->e = (struct pack_entry *)buf_detach(&sc.kept, &len);
		s->lost = (struct pack_entry *)buf_detach(&sc.lost, &len);
		s->unnamed = (struct pack_entry *)buf_detach(&sc.unnamed, &len);
		if (!s->e || !s->lost || !s->unnamed) {
			salvage_release(s);
			rc = -ENOMEM;
		}
	}
	if (rc < 0)
		repo_errf(err, rc, "salvage: %s", strerror(-rc));
	buf_release(&sc.frames);
	buf_release(&sc.kept);
	buf_release(&sc.lost);
	buf_release(&sc.unnamed);
	buf_release(&sc.plain);
	return rc;
}

void salvage_release(struct salvage *s)
{
	if (!s)
		return;
	free(s->e);
	free(s->lost);
	free(s->unnamed);
	memset(s, 0, sizeof(*s));
}

/* ---- naming blobs by the ids that are wanted --------------------- */

struct salvage_unnamed {
	uint8_t pack[32];
	int64_t pid;
	struct pack_entry e;
	int claimed;		/* e.id is set */
};

struct salvage_pool {
	struct buf blobs;	/* struct salvage_unnamed[] */
	int sorted;
	struct buf stored, plain, base, scratch;
};

/* By type, then plaintext length: the blobs an id may be are a run. */
static int salvage_cmp_kind(const void *a, const void *b)
{
	const struct salvage_unnamed *x = a, *y = b;

	if (x->e.type != y->e.type)
		return x->e.type < y->e.type ? -1 : 1;
	return x->e.raw_len < y->e.raw_len ? -1 : x->e.raw_len > y->e.raw_len;
}

int salvage_pool_add(struct salvage_pool **pool, const uint8_t name[32],
		     int64_t pid, const struct pack_entry *e, size_t n)
{
	struct salvage_unnamed u;
	int rc = 0;

	if (!n)
		return 0;
	if (!*pool) {
		*pool = calloc(1, sizeof(**pool));
		if (!*pool)
			return -ENOMEM;
		buf_init(&(*pool)->blobs, 0);
		buf_init(&(*pool)->stored, 0);
		buf_init(&(*pool)->plain, 0);
		buf_init(&(*pool)->base, 0);
		buf_init(&(*pool)->scratch, 0);
	}
	memset(&u, 0, sizeof(u));
	memcpy(u.pack, name, 32);
	u.pid = pid;
	for (size_t i = 0; rc == 0 && i < n; i++) {
		u.e = e[i];
		rc = buf_add(&(*pool)->blobs, &u, sizeof(u));
	}
	(*pool)->sorted = 0;
	return rc;
}

/*
 * Whether the unnamed delta blob at loc is the one stored as id: its
 * AEAD says so (encrypted), or, unencrypted, its plaintext decoded
 * against its base (indexed in ix by now) hashes to id.  1, 0, -ENOMEM.
 */
static int salvage_pool_delta(struct salvage_pool *pool, struct repo *r,
			      struct index *ix, const struct index_loc *loc,
			      const uint8_t id[32], struct blob_delta *d)
{
	struct chain_link links[CHAIN_MAX_LINKS];
	uint8_t got[32];
	size_t n;
	int rc = reader_stored(r, loc, &pool->stored, NULL);

	if (rc < 0)
		return rc == -ENOMEM ? rc : 0;
	buf_reset(&pool->plain);
	rc = blob_open_delta(&pool->plain, d, NULL, pool->stored.data,
			     pool->stored.len, repo_enc_key(r), id);
	if (rc < 0 || repo_enc_key(r))
		return rc == -ENOMEM ? rc : rc == 0;
	/* unencrypted: what it decodes to against its base must hash to id */
	rc = chain_resolve(ix, d->base, NULL, links, &n, NULL);
	if (rc == 0)
		return 0;
	if (rc > 0)
		rc = chain_load(r, NULL, links, n, 0, &pool->scratch,
				&pool->plain, &pool->base, NULL);
	if (rc < 0)
		return rc == -ENOMEM ? rc : 0;
	buf_reset(&pool->plain);
	rc = blob_decode_delta(&pool->plain, NULL, NULL, pool->stored.data,
			       pool->stored.len, NULL, NULL, pool->base.data,
			       pool->base.len);
	if (rc < 0)
		return rc == -ENOMEM ? rc : 0;
	repo_chunk_id(r, pool->plain.data, pool->plain.len, got);
	return !memcmp(got, id, 32);
}

/* Whether the unnamed blob u is the one stored as id (d gets its link
 * when it is a delta): 1, 0, -ENOMEM. */
static int salvage_pool_is(struct salvage_pool *pool, struct repo *r,
			   struct index *ix, const struct salvage_unnamed *u,
			   const uint8_t id[32], struct blob_delta *d)
{
	struct index_loc loc;
	uint8_t head[BLOB_DELTA_HEADER_SIZE];
	int rc;

	memset(&loc, 0, sizeof(loc));
	memcpy(loc.pack, u->pack, 32);
	loc.offset = u->e.offset;
	loc.length = u->e.length;
	loc.raw_len = u->e.raw_len;
	loc.type = u->e.type;
	memset(d, 0, sizeof(*d));
	if (u->e.length >= sizeof(head) && u->e.type == BLOB_DATA) {
		struct index_loc h = loc;

		h.length = sizeof(head);
		rc = reader_stored(r, &h, &pool->stored, NULL);
		if (rc == -ENOMEM)
			return rc;
		memcpy(head, pool->stored.data, rc == 0 ? sizeof(head) : 0);
		if (rc == 0 && blob_peek_delta(head, sizeof(head), NULL) == 1)
			return salvage_pool_delta(pool, r, ix, &loc, id, d);
	}
	rc = reader_load(r, &loc, id, &pool->stored, &pool->plain, NULL);
	return rc == -ENOMEM ? rc : rc == 0;
}

int salvage_pool_claim(struct salvage_pool *pool, struct repo *r,
		       struct index *ix, const uint8_t id[32], uint8_t type,
		       uint32_t raw_len, int64_t *pid, uint8_t pack[32],
		       struct pack_entry *e, struct blob_delta *d)
{
	struct salvage_unnamed key, *u, *end;
	size_t lo = 0, hi, mid;
	int any = raw_len == READER_ANY_LEN, rc;

	if (!pool)
		return 0;
	u = (struct salvage_unnamed *)pool->blobs.data;
	hi = pool->blobs.len / sizeof(*u);
	end = u + hi;
	if (!pool->sorted)
		qsort(u, hi, sizeof(*u), salvage_cmp_kind);
	pool->sorted = 1;
	memset(&key, 0, sizeof(key));
	key.e.type = type;
	key.e.raw_len = any ? 0 : raw_len;
	while (lo < hi) {	/* the first of the run */
		mid = lo + (hi - lo) / 2;
		if (salvage_cmp_kind(&u[mid], &key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (u += lo; u < end && (any ? u->e.type == type
				      : salvage_cmp_kind(u, &key) == 0); u++) {
		if (u->claimed) {
			if (!memcmp(u->e.id, id, 32))
				return 0;
			continue;
		}
		rc = salvage_pool_is(pool, r, ix, u, id, d);
		if (rc < 0)
			return rc;
		if (rc == 0)
			continue;
		memcpy(u->e.id, id, 32);
		u->claimed = 1;
		*pid = u->pid;
		memcpy(pack, u->pack, 32);
		*e = u->e;
		return 1;
	}
	return 0;
}

void salvage_pool_counts(const struct salvage_pool *pool, int64_t pid,
			 size_t *added, size_t *claimed, size_t *records)
{
	const struct salvage_unnamed *u;
	size_t n;

	*added = *claimed = *records = 0;
	if (!pool)
		return;
	u = (const struct salvage_unnamed *)pool->blobs.data;
	n = pool->blobs.len / sizeof(*u);
	for (size_t i = 0; i < n; i++) {
		if (u[i].pid != pid)
			continue;
		(*added)++;
		*claimed += !!u[i].claimed;
		*records += !u[i].claimed && u[i].e.type == BLOB_SNAPSHOT;
	}
}

void salvage_pool_free(struct salvage_pool *pool)
{
	if (!pool)
		return;
	buf_release(&pool->blobs);
	buf_release(&pool->stored);
	buf_release(&pool->plain);
	buf_release(&pool->base);
	buf_release(&pool->scratch);
	free(pool);
}

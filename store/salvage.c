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
 * else only counted.  Added to kept after the loop, which looks kept up
 * by offset. */
static int salvage_unlisted(struct salvage_scan *sc, size_t *unnamed)
{
	const struct pack_entry *f = (const void *)sc->frames.data;
	size_t nf = sc->frames.len / sizeof(*f);
	struct buf named = BUF_INIT;
	struct pack_entry e;
	uint8_t type;
	int rc = 0;

	for (size_t i = 0; rc == 0 && i < nf; i++) {
		if (f[i].type == BLOB_TRAILER || salvage_is_kept(sc, f[i].offset))
			continue;
		if (repo_enc_key(sc->r)) {
			(*unnamed)++;
			continue;
		}
		buf_reset(&sc->plain);
		rc = blob_decode(&sc->plain, &type, sc->p + f[i].offset,
				 f[i].length, NULL, NULL);
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
				   BUF_INIT };
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
		rc = salvage_unlisted(&sc, &s->unnamed);
	free(te);
	if (map)
		munmap(map, (size_t)sc.size);
	if (rc == 0) {
		qsort(sc.kept.data, sc.kept.len / sizeof(*s->e), sizeof(*s->e),
		      salvage_cmp_off);
		s->size = sc.size;
		s->n = sc.kept.len / sizeof(*s->e);
		s->nlost = sc.lost.len / sizeof(*s->lost);
		s->e = (struct pack_entry *)buf_detach(&sc.kept, &len);
		s->lost = (struct pack_entry *)buf_detach(&sc.lost, &len);
		if (!s->e || !s->lost) {
			salvage_release(s);
			rc = -ENOMEM;
		}
	}
	if (rc < 0)
		repo_errf(err, rc, "salvage: %s", strerror(-rc));
	buf_release(&sc.frames);
	buf_release(&sc.kept);
	buf_release(&sc.lost);
	buf_release(&sc.plain);
	return rc;
}

void salvage_release(struct salvage *s)
{
	if (!s)
		return;
	free(s->e);
	free(s->lost);
	memset(s, 0, sizeof(*s));
}

/*
 * chain: delta chains on the read side (see chain.h).
 *
 * A chain is decoded forward: the full chunk at its bottom, then each
 * delta applied to the plaintext below it, two plaintext buffers taking
 * turns, so memory does not grow with the depth.  Every link is checked
 * against what the index recorded (the blob must name the same base and
 * depth) and verified as a whole chunk would be: in an encrypted
 * repository the AEAD binds each blob's id, base and depth, so a chain
 * whose blobs all authenticate decodes to the chunk the writer hashed;
 * unencrypted, or when asked (check --read-data), every plaintext of the
 * chain is hashed back to its id.
 *
 * The cache keeps the plaintext of the base of each chunk read: the next
 * chunk of a file often has the same base (a boundary moved), and the
 * writer picks the same base for neighbours that straddle one.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "blob.h"
#include "chain.h"
#include "reader.h"
#include "repo-internal.h"

/* ---- resolving --------------------------------------------------- */

int chain_resolve(struct index *ix, const uint8_t id[INDEX_ID_SIZE],
		  const struct index_loc *loc, struct chain_link *links,
		  size_t *n, struct buf *err)
{
	struct chain_link *l = links;
	char a[65], b[65];
	int rc;

	*n = 0;
	memcpy(l->id, id, INDEX_ID_SIZE);
	if (loc) {
		l->loc = *loc;
	} else {
		rc = index_chunk_get(ix, id, &l->loc);
		if (rc <= 0)
			return rc;
	}
	for (*n = 1; l->loc.depth > 0; l++, (*n)++) {
		hex_encode(a, l->id, 32);
		hex_encode(b, l->loc.base, 32);
		if (*n == CHAIN_MAX_LINKS)
			return repo_errf(err, -EBADMSG, "chunk %s: its chain"
					 " is longer than %d deltas", a,
					 INDEX_MAX_DEPTH);
		memcpy(l[1].id, l->loc.base, INDEX_ID_SIZE);
		rc = index_chunk_get(ix, l->loc.base, &l[1].loc);
		if (rc < 0)
			return repo_errf(err, rc, "index lookup of %s: %s%s", b,
					 strerror(-rc), index_damage_hint(rc));
		if (rc == 0)
			return repo_errf(err, -EBADMSG, "chunk %s: its base %s"
					 " is missing from the repository", a,
					 b);
		if (l[1].loc.type != BLOB_DATA ||
		    l[1].loc.depth + 1 != l->loc.depth)
			return repo_errf(err, -EBADMSG, "chunk %s: its base %s"
					 " is not a data chunk at depth %u", a,
					 b, l->loc.depth - 1u);
	}
	return 1;
}

/* ---- the cache --------------------------------------------------- */

struct chain_entry {
	uint8_t id[INDEX_ID_SIZE];
	struct buf plain;
	uint64_t used;		/* 0: empty */
};

struct chain_cache {
	pthread_mutex_t mu;
	struct chain_entry e[CHAIN_CACHE_ENTRIES];
	uint64_t tick;
};

int chain_cache_new(struct chain_cache **out)
{
	struct chain_cache *c = calloc(1, sizeof(*c));

	*out = NULL;
	if (!c)
		return -ENOMEM;
	pthread_mutex_init(&c->mu, NULL);
	for (int i = 0; i < CHAIN_CACHE_ENTRIES; i++)
		buf_init(&c->e[i].plain, 0);
	*out = c;
	return 0;
}

void chain_cache_free(struct chain_cache *c)
{
	if (!c)
		return;
	for (int i = 0; i < CHAIN_CACHE_ENTRIES; i++)
		buf_wipe(&c->e[i].plain);
	pthread_mutex_destroy(&c->mu);
	free(c);
}

/* Copies the cached plaintext of id into out (reset): 1, or 0. */
static int chain_cache_get(struct chain_cache *c, const uint8_t *id,
			   struct buf *out)
{
	int hit = 0;

	if (!c)
		return 0;
	pthread_mutex_lock(&c->mu);
	for (int i = 0; i < CHAIN_CACHE_ENTRIES && !hit; i++) {
		if (!c->e[i].used || memcmp(c->e[i].id, id, INDEX_ID_SIZE))
			continue;
		buf_reset(out);
		hit = buf_add(out, c->e[i].plain.data, c->e[i].plain.len) == 0;
		c->e[i].used = ++c->tick;
	}
	pthread_mutex_unlock(&c->mu);
	return hit;
}

/* Keeps a copy of id's plaintext in place of the least recently used
 * entry; a failure to copy only empties that entry. */
static void chain_cache_put(struct chain_cache *c, const uint8_t *id,
			    const struct buf *plain)
{
	struct chain_entry *v = NULL;

	if (!c || plain->len > CHAIN_CACHE_MAX)
		return;
	pthread_mutex_lock(&c->mu);
	for (int i = 0; i < CHAIN_CACHE_ENTRIES; i++) {
		struct chain_entry *e = &c->e[i];

		if (e->used && !memcmp(e->id, id, INDEX_ID_SIZE)) {
			v = NULL;	/* there already */
			break;
		}
		if (!v || e->used < v->used)
			v = e;
	}
	if (v) {
		memcpy(v->id, id, INDEX_ID_SIZE);
		buf_reset(&v->plain);
		v->used = buf_add(&v->plain, plain->data, plain->len) == 0
			? ++c->tick : 0;
	}
	pthread_mutex_unlock(&c->mu);
}

/* ---- decoding ---------------------------------------------------- */

/* The delta links[i] applied to base, into out; checked against the
 * link and verified. */
static int chain_step(struct repo *r, const struct chain_link *links,
		      size_t i, const struct buf *base, int rehash,
		      struct buf *stored, struct buf *out, struct buf *err)
{
	const struct chain_link *l = &links[i];
	struct blob_delta d;
	char pack[65], blob[65];
	uint8_t got[32];
	int rc = reader_stored(r, &l->loc, stored, err);

	if (rc < 0)
		return rc;
	hex_encode(pack, l->loc.pack, 32);
	hex_encode(blob, l->id, 32);
	buf_reset(out);
	rc = blob_decode_delta(out, NULL, &d, stored->data, stored->len,
			       repo_enc_key(r), l->id, base->data, base->len);
	if (rc == -ENOMEM)
		return rc;
	if (rc < 0)
		return repo_errf(err, -EBADMSG, "pack %s: blob %s (a delta at"
				 " depth %u): %s", pack, blob, l->loc.depth,
				 rc == -ENOMSG ? "the blob is not a delta"
				 : rc == -EBADMSG ? "corrupt (checksum, framing"
				 " or a delta that does not apply to its base)"
				 : "authentication failed");
	if (memcmp(d.base, links[i + 1].id, 32) || d.depth != l->loc.depth)
		return repo_errf(err, -EBADMSG, "pack %s: blob %s names another"
				 " base or depth than the index records", pack,
				 blob);
	if (out->len != l->loc.raw_len)
		return repo_errf(err, -EBADMSG, "pack %s: blob %s: length %zu,"
				 " expected %u", pack, blob, out->len,
				 l->loc.raw_len);
	if (!rehash && repo_enc_key(r))
		return 0;
	repo_chunk_id(r, out->data, out->len, got);
	if (memcmp(got, l->id, 32))
		return repo_errf(err, -EBADMSG, "pack %s: blob %s: content does"
				 " not match its id", pack, blob);
	return 0;
}

int chain_load(struct repo *r, struct chain_cache *cache,
	       const struct chain_link *links, size_t n, int rehash,
	       struct buf *stored, struct buf *tmp, struct buf *plain,
	       struct buf *err)
{
	struct buf *bufs[2] = { plain, tmp }, *cur;
	size_t start = n - 1, k;
	int rc;

	if (n == 0 || n > CHAIN_MAX_LINKS)
		return -EINVAL;
	if (n == 1)
		return rehash ? reader_load_rehash(r, &links[0].loc,
						   links[0].id, stored, plain,
						   err)
			      : reader_load(r, &links[0].loc, links[0].id,
					    stored, plain, err);
	/* decoding link i writes bufs[i % 2] and reads its base from
	 * bufs[(i + 1) % 2]: link k's plaintext belongs in bufs[k % 2] */
	for (k = 1; k < n; k++) {
		if (chain_cache_get(cache, links[k].id, bufs[k % 2]))
			break;
	}
	if (k < n) {
		start = k;
	} else {
		cur = bufs[(n - 1) % 2];
		rc = rehash ? reader_load_rehash(r, &links[n - 1].loc,
						 links[n - 1].id, stored, cur,
						 err)
			    : reader_load(r, &links[n - 1].loc,
					  links[n - 1].id, stored, cur, err);
		if (rc < 0)
			return rc;
	}
	for (size_t i = start; i-- > 0;) {
		rc = chain_step(r, links, i, bufs[(i + 1) % 2], rehash, stored,
				bufs[i % 2], err);
		if (rc < 0)
			return rc;
	}
	chain_cache_put(cache, links[1].id, bufs[1]);	/* links[1] is there */
	return 0;
}

/* ---- links from pack headers ------------------------------------- */

int chain_links_scan(struct repo *r, struct index *ix,
		     const uint8_t name[PACK_ID_SIZE],
		     const struct pack_entry *e, size_t n, struct buf *err)
{
	struct buf stored = BUF_INIT;
	struct index_loc loc;
	struct blob_delta d;
	int rc = 0;

	memset(&loc, 0, sizeof(loc));
	memcpy(loc.pack, name, PACK_ID_SIZE);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		if (e[i].type != BLOB_DATA)
			continue;
		loc.offset = e[i].offset;
		loc.length = e[i].length < BLOB_DELTA_HEADER_SIZE
			? e[i].length : BLOB_DELTA_HEADER_SIZE;
		rc = reader_stored(r, &loc, &stored, err);
		if (rc < 0 || blob_peek_delta(stored.data, stored.len, &d) != 1)
			continue;
		/* the header alone is unverified: a delta is small, so it
		 * is read whole and checked before its link is believed */
		loc.length = e[i].length;
		rc = reader_stored(r, &loc, &stored, err);
		if (rc == 0 && blob_verify(stored.data, stored.len) == 0)
			rc = index_base_add(ix, name, e[i].id, d.base,
					    d.depth, err);
	}
	buf_release(&stored);
	return rc;
}

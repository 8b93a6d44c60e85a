/*
 * fcache: encoder and decoder of a files cache (spec:
 * formats/files-cache.md).
 *
 * The decoder checks everything once (checksum first, then every entry's
 * bounds, order and chunk arithmetic) and keeps only an offset per
 * entry, so a lookup is a binary search over bytes already known to be
 * well formed.  A cache is only ever a hint (its user still checks every
 * chunk against the repository's index), but a damaged one must give an
 * error, never a crash or a wrong offset.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "blob.h"
#include "fcache.h"

#define FCACHE_SUM_SIZE 8
/* key, size, ino, mtime, ctime, nchunks */
#define FCACHE_ENT_FIXED (FCACHE_KEY_SIZE + 8 + 8 + 8 + 8 + 4)

static int fcache_ent_ok(const struct fcache_ent *e, const uint8_t *prev)
{
	uint64_t sum = 0;

	if (prev && memcmp(prev, e->key, FCACHE_KEY_SIZE) >= 0)
		return 0;
	if (e->nchunks > UINT32_MAX || (e->nchunks && !e->chunks))
		return 0;
	for (size_t i = 0; i < e->nchunks; i++) {
		if (e->chunks[i].len == 0 || e->chunks[i].len > BLOB_MAX_RAW)
			return 0;
		sum += e->chunks[i].len;
	}
	return sum == e->size;
}

int fcache_encode(struct buf *out, const struct fcache_ent *v, size_t n)
{
	int r;

	buf_reset(out);
	r = buf_add(out, FCACHE_MAGIC, 8);
	if (r == 0)
		r = buf_put_le64(out, n);
	for (size_t i = 0; r == 0 && i < n; i++) {
		const struct fcache_ent *e = &v[i];

		if (!fcache_ent_ok(e, i ? v[i - 1].key : NULL))
			return -EINVAL;
		r = buf_add(out, e->key, FCACHE_KEY_SIZE);
		if (r == 0)
			r = buf_put_le64(out, e->size);
		if (r == 0)
			r = buf_put_le64(out, e->ino);
		if (r == 0)
			r = buf_put_le64(out, (uint64_t)e->mtime_ns);
		if (r == 0)
			r = buf_put_le64(out, (uint64_t)e->ctime_ns);
		if (r == 0)
			r = buf_put_le32(out, (uint32_t)e->nchunks);
		for (size_t k = 0; r == 0 && k < e->nchunks; k++) {
			r = buf_add(out, e->chunks[k].id, MANIFEST_CHUNK_ID_SIZE);
			if (r == 0)
				r = buf_put_le32(out, e->chunks[k].len);
		}
	}
	if (r == 0)
		r = buf_put_le64(out, XXH3_64bits(out->data, out->len));
	return r;
}

void fcache_release(struct fcache *c)
{
	if (!c)
		return;
	free(c->off);
	c->off = NULL;
	c->data = NULL;
	c->len = 0;
	c->n = 0;
}

static int fcache_bad(struct fcache *c, struct buf *err, const char *why)
{
	fcache_release(c);
	if (err) {
		buf_reset(err);
		buf_addf(err, "damaged files cache: %s", why);
	}
	return -EBADMSG;
}

/* Reads the entry at r into e (its chunks checked); 0 or -EBADMSG. */
static int fcache_read_ent(struct rd *r, struct fcache_ent *e)
{
	const uint8_t *key, *raw;
	uint64_t mt, ct, sum = 0;
	uint32_t nch;

	if (rd_raw(r, &key, FCACHE_KEY_SIZE) < 0 || rd_le64(r, &e->size) < 0 ||
	    rd_le64(r, &e->ino) < 0 || rd_le64(r, &mt) < 0 ||
	    rd_le64(r, &ct) < 0 || rd_le32(r, &nch) < 0)
		return -EBADMSG;
	memcpy(e->key, key, FCACHE_KEY_SIZE);
	e->mtime_ns = (int64_t)mt;
	e->ctime_ns = (int64_t)ct;
	e->nchunks = nch;
	e->chunks = NULL;
	if (rd_left(r) / FCACHE_CHUNK_SIZE < nch ||
	    rd_raw(r, &raw, (size_t)nch * FCACHE_CHUNK_SIZE) < 0)
		return -EBADMSG;
	e->raw = raw;
	for (uint32_t i = 0; i < nch; i++) {
		struct manifest_chunk ch;

		fcache_chunk(e, i, &ch);
		if (ch.len == 0 || ch.len > BLOB_MAX_RAW)
			return -EBADMSG;
		sum += ch.len;
	}
	return sum == e->size ? 0 : -EBADMSG;
}

int fcache_decode(struct fcache *c, const void *p, size_t len,
		  struct buf *err)
{
	const uint8_t *base = p, *m;
	struct fcache_ent e, prev;
	struct rd r;
	uint64_t n, want;

	memset(c, 0, sizeof(*c));
	if (len < 8 + 8 + FCACHE_SUM_SIZE)
		return fcache_bad(c, err, "too short");
	rd_init(&r, base + len - FCACHE_SUM_SIZE, FCACHE_SUM_SIZE);
	rd_le64(&r, &want);
	if (XXH3_64bits(base, len - FCACHE_SUM_SIZE) != want)
		return fcache_bad(c, err, "checksum mismatch");
	rd_init(&r, base, len - FCACHE_SUM_SIZE);
	rd_raw(&r, &m, 8);
	if (memcmp(m, FCACHE_MAGIC, 8))
		return fcache_bad(c, err, "not a files cache of version 1");
	rd_le64(&r, &n);
	if (n > rd_left(&r) / FCACHE_ENT_FIXED)
		return fcache_bad(c, err, "more entries than bytes");
	c->off = malloc((n ? n : 1) * sizeof(*c->off));
	if (!c->off)
		return -ENOMEM;
	for (uint64_t i = 0; i < n; i++) {
		c->off[i] = len - FCACHE_SUM_SIZE - rd_left(&r);
		if (fcache_read_ent(&r, &e) < 0)
			return fcache_bad(c, err, "a truncated or inconsistent entry");
		if (i && memcmp(prev.key, e.key, FCACHE_KEY_SIZE) >= 0)
			return fcache_bad(c, err, "entries out of order");
		prev = e;
	}
	if (rd_left(&r))
		return fcache_bad(c, err, "bytes after the last entry");
	c->data = base;
	c->len = len - FCACHE_SUM_SIZE;
	c->n = (size_t)n;
	return 0;
}

int fcache_find(const struct fcache *c, const uint8_t key[FCACHE_KEY_SIZE],
		struct fcache_ent *e)
{
	size_t lo = 0, hi = c->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const uint8_t *k = c->data + c->off[mid];
		int d = memcmp(key, k, FCACHE_KEY_SIZE);

		if (d == 0) {
			struct rd r;

			/* checked by fcache_decode: this cannot fail */
			rd_init(&r, k, c->len - c->off[mid]);
			return fcache_read_ent(&r, e) == 0;
		}
		if (d < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return 0;
}

void fcache_chunk(const struct fcache_ent *e, size_t i,
		  struct manifest_chunk *out)
{
	const uint8_t *p = e->raw + i * FCACHE_CHUNK_SIZE;

	memcpy(out->id, p, MANIFEST_CHUNK_ID_SIZE);
	p += MANIFEST_CHUNK_ID_SIZE;
	out->len = (uint32_t)p[0] | (uint32_t)p[1] << 8 |
		   (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

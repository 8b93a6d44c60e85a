/*
 * test-fcache: the files cache's bytes (formats/fcache.c).  Round trips
 * (empty, a few entries, an empty file), lookups that hit and miss, the
 * encoder's refusals, and every truncation and bit flip of a
 * representative cache refused (or, for a flip the checksum cannot see,
 * never trusted blindly: there is none, every byte is covered).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fcache.h"
#include "../tap.h"

static struct manifest_chunk chunks[5];

static void sample(struct fcache_ent *v, size_t n)
{
	memset(v, 0, n * sizeof(*v));
	for (size_t i = 0; i < 5; i++) {
		memset(chunks[i].id, 0xa0 + (int)i, sizeof(chunks[i].id));
		chunks[i].len = (uint32_t)(1000 + i);
	}
	for (size_t i = 0; i < n; i++) {
		memset(v[i].key, 0, sizeof(v[i].key));
		v[i].key[0] = (uint8_t)(10 * i + 1);
		v[i].ino = 4000 + i;
		v[i].mtime_ns = 1700000000123456789LL + (int64_t)i;
		v[i].ctime_ns = -1 - (int64_t)i;	/* any i64 */
		v[i].nchunks = i % 3;			/* 0, 1, 2 chunks */
		v[i].chunks = chunks + i % 3;
		v[i].size = 0;
		for (size_t k = 0; k < v[i].nchunks; k++)
			v[i].size += v[i].chunks[k].len;
	}
}

static int same(const struct fcache_ent *a, const struct fcache_ent *b)
{
	struct manifest_chunk c;

	if (memcmp(a->key, b->key, FCACHE_KEY_SIZE) || a->size != b->size ||
	    a->ino != b->ino || a->mtime_ns != b->mtime_ns ||
	    a->ctime_ns != b->ctime_ns || a->nchunks != b->nchunks)
		return 0;
	for (size_t i = 0; i < b->nchunks; i++) {
		fcache_chunk(b, i, &c);
		if (memcmp(c.id, a->chunks[i].id, sizeof(c.id)) ||
		    c.len != a->chunks[i].len)
			return 0;
	}
	return 1;
}

static void round_trip(void)
{
	struct fcache_ent v[7], got;
	struct fcache c = FCACHE_INIT;
	struct buf b = BUF_INIT, err = BUF_INIT;
	uint8_t key[FCACHE_KEY_SIZE];
	int all = 1;

	ok(fcache_encode(&b, NULL, 0) == 0 && b.len == 24, "an empty cache: 24 bytes");
	ok(fcache_decode(&c, b.data, b.len, &err) == 0 && c.n == 0,
	   "decodes to nothing");
	memset(key, 0, sizeof(key));
	ok(fcache_find(&c, key, &got) == 0, "finds nothing");
	fcache_release(&c);

	sample(v, 7);
	ok(fcache_encode(&b, v, 7) == 0, "seven entries encode");
	ok(fcache_decode(&c, b.data, b.len, &err) == 0 && c.n == 7,
	   "and decode: %s", (const char *)err.data);
	for (size_t i = 0; i < 7; i++)
		all &= fcache_find(&c, v[i].key, &got) == 1 && same(&v[i], &got);
	ok(all, "every entry is found as it was (empty files too)");
	key[0] = 2;
	ok(fcache_find(&c, key, &got) == 0, "a key between two misses");
	key[0] = 0xff;
	ok(fcache_find(&c, key, &got) == 0, "a key after the last misses");
	fcache_release(&c);
	fcache_release(&c);
	fcache_release(NULL);
	buf_release(&b);
	buf_release(&err);
}

static void refusals(void)
{
	struct fcache_ent v[3];
	struct manifest_chunk big = { { 0 }, 0 };
	struct buf b = BUF_INIT;

	sample(v, 3);
	v[2].key[0] = v[1].key[0];
	ok(fcache_encode(&b, v, 3) == -EINVAL, "equal keys are refused");
	sample(v, 3);
	v[0].key[0] = 0xff;
	ok(fcache_encode(&b, v, 3) == -EINVAL, "keys out of order are refused");
	sample(v, 3);
	v[1].size++;
	ok(fcache_encode(&b, v, 3) == -EINVAL, "chunks not adding up to size");
	sample(v, 3);
	v[1].chunks = &big;
	v[1].nchunks = 1;
	v[1].size = 0;
	ok(fcache_encode(&b, v, 3) == -EINVAL, "a chunk of length 0");
	sample(v, 3);
	v[1].chunks = NULL;
	ok(fcache_encode(&b, v, 3) == -EINVAL, "chunks promised, none given");
	buf_release(&b);
}

static void damage(void)
{
	struct fcache_ent v[4];
	struct fcache c = FCACHE_INIT;
	struct buf b = BUF_INIT, err = BUF_INIT;
	uint8_t *p;
	int all = 1;

	sample(v, 4);
	ok(fcache_encode(&b, v, 4) == 0, "a cache to damage");
	for (size_t n = 0; n < b.len; n++)
		all &= fcache_decode(&c, b.data, n, NULL) == -EBADMSG && c.n == 0;
	ok(all, "every truncation (%zu) is refused", b.len);
	p = malloc(b.len);
	all = 1;
	for (size_t i = 0; p && i < b.len; i++)
		for (int bit = 0; bit < 8; bit++) {
			memcpy(p, b.data, b.len);
			p[i] ^= (uint8_t)(1 << bit);
			all &= fcache_decode(&c, p, b.len, NULL) == -EBADMSG;
		}
	ok(p && all, "every bit flip is refused");
	ok(fcache_decode(&c, "VAULTFC2", 8, &err) == -EBADMSG &&
	   strstr((const char *)err.data, "damaged files cache"),
	   "the message says what: %s", (const char *)err.data);
	free(p);
	buf_release(&b);
	buf_release(&err);
}

int main(void)
{
	round_trip();
	refusals();
	damage();
	return done_testing();
}

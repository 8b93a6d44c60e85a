/*
 * test-blob: the blob envelope.  Round trips for every combination of
 * compressible/incompressible, empty/max-size and encrypted/plain;
 * every truncation and every single-bit flip of representative samples
 * must be rejected; wrong and missing keys give their own errors; an
 * encrypted blob decodes only under the id it was stored under.
 * blob_frame_len finds the length of blobs laid back to back, also when
 * damage follows one, and finds none where a blob is damaged.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include <xxhash.h>

#include "blob.h"
#include "../tap.h"

static uint8_t key[BLOB_KEY_SIZE], key2[BLOB_KEY_SIZE];
static uint8_t id[BLOB_ID_SIZE], id2[BLOB_ID_SIZE];

static uint8_t *compressible(size_t n)
{
	uint8_t *p = malloc(n ? n : 1);

	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)("the quick brown fox "[i % 20] + (i / 4096) % 3);
	return p;
}

static uint8_t *random_bytes(size_t n)
{
	uint8_t *p = malloc(n ? n : 1);

	randombytes_buf(p, n);
	return p;
}

/* Recomputes the XXH3 trailer so only the later checks can object. */
static void fix_sum(uint8_t *p, size_t len)
{
	uint64_t s = XXH3_64bits(p, len - BLOB_SUM_SIZE);

	for (int i = 0; i < 8; i++)
		p[len - 8 + i] = (uint8_t)(s >> (8 * i));
}

static void round_trip(const char *what, const uint8_t *plain, size_t len,
		       const uint8_t *k, int want_lz4)
{
	struct buf st = BUF_INIT, out = BUF_INIT;
	uint8_t type = 0, flags = 0;
	uint32_t raw = 0;
	int r;

	r = blob_encode(&st, BLOB_DATA, plain, len, k, id);
	is_int(r, 0, "%s: encode", what);
	is_int(blob_verify(st.data, st.len), 0, "%s: verify", what);
	ok(blob_peek(st.data, st.len, &type, &flags, &raw) == 0 &&
	   type == BLOB_DATA && raw == len, "%s: peek", what);
	is_int(!!(flags & BLOB_F_LZ4), want_lz4, "%s: lz4 flag", what);
	is_int(!!(flags & BLOB_F_ENCRYPTED), k != NULL, "%s: encrypted flag",
	       what);
	if (!(flags & BLOB_F_LZ4))
		is_int(st.len, len + BLOB_HEADER_SIZE + BLOB_SUM_SIZE +
		       (k ? BLOB_NONCE_SIZE + BLOB_TAG_SIZE : 0),
		       "%s: stored size of an uncompressed blob", what);
	else
		ok(st.len < len, "%s: compression made it smaller", what);
	type = 0;
	r = blob_decode(&out, &type, st.data, st.len, k, id);
	ok(r == 0 && type == BLOB_DATA && out.len == len &&
	   (len == 0 || memcmp(out.data, plain, len) == 0) &&
	   out.data[out.len] == '\0', "%s: decode gives the input back", what);
	buf_release(&st);
	buf_release(&out);
}

static void test_round_trips(void)
{
	static const size_t sizes[] = { 0, 1, 17, 4096, 100000 };
	char what[96];

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		size_t n = sizes[i];
		uint8_t *c = compressible(n), *r = random_bytes(n);

		for (int enc = 0; enc < 2; enc++) {
			snprintf(what, sizeof(what), "%zu compressible %s", n,
				 enc ? "encrypted" : "plain");
			round_trip(what, c, n, enc ? key : NULL, n >= 100);
			snprintf(what, sizeof(what), "%zu random %s", n,
				 enc ? "encrypted" : "plain");
			round_trip(what, r, n, enc ? key : NULL, 0);
		}
		free(c);
		free(r);
	}
	{
		uint8_t *c = compressible(BLOB_MAX_RAW);
		uint8_t *r = random_bytes(BLOB_MAX_RAW);

		round_trip("max compressible plain", c, BLOB_MAX_RAW, NULL, 1);
		round_trip("max compressible encrypted", c, BLOB_MAX_RAW, key, 1);
		round_trip("max random encrypted", r, BLOB_MAX_RAW, key, 0);
		free(c);
		free(r);
	}
}

/*
 * LZ4 HC (blob_encode_level): the same lz4 block format, decoded by the
 * same blob_decode, and smaller than lz4's default on text with long
 * repeats; random data is stored raw as ever; levels outside 0..12 are
 * refused.
 */
static void test_levels(void)
{
	struct buf fast = BUF_INIT, hc = BUF_INIT, out = BUF_INIT;
	size_t n = 200000;
	uint8_t *text = malloc(n), *r = random_bytes(4096);
	uint8_t flags = 0;

	/* rows of a table: repeats far apart, where HC's search pays */
	for (size_t i = 0, row = 0; i < n; row++) {
		char line[96];
		int k = snprintf(line, sizeof(line), "%zu\tuser-%zu\t%s\tlorem %zu\n",
				 row, row % 997, row % 3 ? "view" : "click",
				 row * 7919 % 100003);

		for (int j = 0; j < k && i < n; j++)
			text[i++] = (uint8_t)line[j];
	}
	for (int enc = 0; enc < 2; enc++) {
		const uint8_t *k = enc ? key : NULL;

		buf_reset(&fast);
		buf_reset(&hc);
		buf_reset(&out);
		ok(blob_encode_level(&fast, BLOB_DATA, text, n, BLOB_LZ4_FAST,
				     k, id) == 0 &&
		   blob_encode_level(&hc, BLOB_DATA, text, n, 9, k, id) == 0,
		   "level 0 and 9 encode (encrypted=%d)", enc);
		ok(hc.len < fast.len, "HC is smaller: %zu < %zu (encrypted=%d)",
		   hc.len, fast.len, enc);
		ok(blob_peek(hc.data, hc.len, NULL, &flags, NULL) == 0 &&
		   (flags & BLOB_F_LZ4), "HC sets the plain lz4 flag");
		ok(blob_decode(&out, NULL, hc.data, hc.len, k, id) == 0 &&
		   out.len == n && !memcmp(out.data, text, n),
		   "HC decodes with the ordinary decoder (encrypted=%d)", enc);
	}
	buf_reset(&hc);
	buf_reset(&out);
	ok(blob_encode_level(&hc, BLOB_DATA, r, 4096, BLOB_LZ4_HC_MAX, NULL,
			     NULL) == 0 &&
	   blob_peek(hc.data, hc.len, NULL, &flags, NULL) == 0 &&
	   !(flags & BLOB_F_LZ4) &&
	   blob_decode(&out, NULL, hc.data, hc.len, NULL, NULL) == 0 &&
	   out.len == 4096 && !memcmp(out.data, r, 4096),
	   "random data at the highest level is stored raw");
	buf_reset(&hc);
	is_int(blob_encode_level(&hc, BLOB_DATA, text, n, -1, NULL, NULL),
	       -EINVAL, "level -1 refused");
	is_int(blob_encode_level(&hc, BLOB_DATA, text, n, BLOB_LZ4_HC_MAX + 1,
				 NULL, NULL), -EINVAL, "level 13 refused");
	is_int(hc.len, 0, "nothing written");
	free(text);
	free(r);
	buf_release(&fast);
	buf_release(&hc);
	buf_release(&out);
}

/*
 * The id a blob is stored under is part of the AEAD additional data: a
 * blob moved to another id (a swapped index row, another pack's trailer)
 * fails like a forgery, so readers need not re-hash the plaintext.
 */
static void test_ids(void)
{
	struct buf st = BUF_INIT, out = BUF_INIT;
	uint8_t *c = compressible(5000), *r = random_bytes(100);
	const uint8_t *in[2] = { c, r };
	const size_t n[2] = { 5000, 100 };
	const char *what[2] = { "lz4", "raw" };

	for (int i = 0; i < 2; i++) {
		buf_reset(&st);
		blob_encode(&st, BLOB_DATA, in[i], n[i], key, id);
		buf_reset(&out);
		ok(blob_decode(&out, NULL, st.data, st.len, key, id) == 0 &&
		   out.len == n[i] && !memcmp(out.data, in[i], n[i]),
		   "%s: decodes under its own id", what[i]);
		buf_reset(&out);
		is_int(blob_decode(&out, NULL, st.data, st.len, key, id2),
		       -EKEYREJECTED, "%s: under a different id: -EKEYREJECTED",
		       what[i]);
		ok(out.len == 0 && out.data[0] == '\0',
		   "%s: nothing decoded under the wrong id", what[i]);
		is_int(blob_verify(st.data, st.len), 0,
		       "%s: verify (keyless) does not need the id", what[i]);
	}
	/* the same bytes stored under id2 are a different blob */
	buf_reset(&st);
	blob_encode(&st, BLOB_SNAPSHOT, c, 64, key, id2);
	buf_reset(&out);
	ok(blob_decode(&out, NULL, st.data, st.len, key, id2) == 0 &&
	   blob_decode(&out, NULL, st.data, st.len, key, id) == -EKEYREJECTED,
	   "a snapshot record only decodes as the snapshot it was stored as");
	free(c);
	free(r);
	buf_release(&st);
	buf_release(&out);
}

static void test_api(void)
{
	struct buf st = BUF_INIT, out = BUF_INIT, capped;
	uint8_t *big = compressible(BLOB_MAX_RAW + 1);
	uint8_t *a, type;
	int r;

	is_int(blob_encode(&st, BLOB_DATA, big, BLOB_MAX_RAW + 1, NULL, NULL),
	       -EINVAL, "one byte over BLOB_MAX_RAW: -EINVAL");
	is_int(blob_encode(&st, 0, "x", 1, NULL, NULL), -EINVAL,
	       "type 0: -EINVAL");
	is_int(blob_encode(&st, BLOB_TOMBSTONE + 1, "x", 1, NULL, NULL),
	       -EINVAL, "unknown type: -EINVAL");
	is_int(blob_encode(&st, BLOB_DATA, NULL, 5, NULL, NULL), -EINVAL,
	       "NULL data with a length: -EINVAL");
	is_int(blob_encode(&st, BLOB_DATA, "x", 1, key, NULL), -EINVAL,
	       "a key without an id to bind: -EINVAL");
	is_int(st.len, 0, "failed encodes leave out empty");
	free(big);

	for (uint8_t t = BLOB_DATA; t <= BLOB_TOMBSTONE; t++) {
		buf_reset(&st);
		buf_reset(&out);
		blob_encode(&st, t, "abc", 3, key, id);
		r = blob_decode(&out, &type, st.data, st.len, key, id);
		ok(r == 0 && type == t, "type %u survives", t);
	}

	/* encoding and decoding append to what is already there */
	buf_reset(&st);
	buf_addstr(&st, "prefix");
	blob_encode(&st, BLOB_DATA, "hello", 5, NULL, NULL);
	buf_reset(&out);
	buf_addstr(&out, "got:");
	r = blob_decode(&out, NULL, st.data + 6, st.len - 6, NULL, NULL);
	ok(r == 0 && strcmp((char *)out.data, "got:hello") == 0 &&
	   !memcmp(st.data, "prefix", 6), "encode/decode append");

	/* the random nonce makes equal plaintexts differ */
	buf_reset(&st);
	blob_encode(&st, BLOB_DATA, "same", 4, key, id);
	a = malloc(st.len);
	memcpy(a, st.data, st.len);
	buf_reset(&st);
	blob_encode(&st, BLOB_DATA, "same", 4, key, id);
	ok(memcmp(a, st.data, st.len) != 0, "two encryptions differ");
	free(a);

	/* keys */
	buf_reset(&out);
	is_int(blob_decode(&out, NULL, st.data, st.len, key2, id),
	       -EKEYREJECTED, "wrong key: -EKEYREJECTED");
	is_int(blob_decode(&out, NULL, st.data, st.len, NULL, id), -ENOKEY,
	       "missing key: -ENOKEY");
	is_int(blob_decode(&out, NULL, st.data, st.len, key, NULL), -EINVAL,
	       "a key without the expected id: -EINVAL");
	ok(out.len == 0 && out.data[0] == '\0',
	   "failed decodes leave out empty and terminated");
	is_int(blob_verify(st.data, st.len), 0, "verify needs no key");
	buf_reset(&st);
	blob_encode(&st, BLOB_DATA, "plain", 5, NULL, id);
	is_int(blob_decode(&out, NULL, st.data, st.len, key, id),
	       -EKEYREJECTED,
	       "plaintext blob where a key is expected: -EKEYREJECTED");
	/* without encryption there is no tag to bind the id to */
	buf_reset(&out);
	ok(blob_decode(&out, NULL, st.data, st.len, NULL, id2) == 0 &&
	   blob_decode(&out, NULL, st.data, st.len, NULL, NULL) == 0,
	   "an unencrypted blob decodes whatever id is expected");

	/* a capped output buffer refuses and stays intact */
	buf_init(&capped, 20);
	buf_addstr(&capped, "keep");
	is_int(blob_encode(&capped, BLOB_DATA, "0123456789abcdef", 16, NULL,
			   NULL),
	       -E2BIG, "encode into a too-small capped buffer: -E2BIG");
	ok(capped.len == 4 && !strcmp((char *)capped.data, "keep"),
	   "capped buffer unchanged");
	buf_release(&capped);

	is_int(blob_peek("1234567", 7, NULL, NULL, NULL), -EBADMSG,
	       "peek of 7 bytes: -EBADMSG");
	buf_release(&st);
	buf_release(&out);
}

/*
 * Every truncation and every single-bit flip must be rejected, by
 * blob_verify (no key) and by blob_decode (with the key).  With the
 * checksum re-forged, an encrypted blob must still reject every flip
 * (AEAD tag, header and id as additional data), and so must every other
 * id.
 */
static void damage(const char *what, const uint8_t *plain, size_t len,
		   const uint8_t *k)
{
	struct buf st = BUF_INIT, out = BUF_INIT;
	size_t bad_trunc = 0, bad_flip = 0, bad_forged = 0, forged_tag = 0;
	uint8_t *p;

	blob_encode(&st, BLOB_DATA, plain, len, k, id);
	p = malloc(st.len);
	memcpy(p, st.data, st.len);

	for (size_t n = 0; n < st.len; n++) {
		buf_reset(&out);
		if (blob_verify(p, n) != -EBADMSG ||
		    blob_decode(&out, NULL, p, n, k, id) != -EBADMSG)
			bad_trunc++;
	}
	is_int(bad_trunc, 0, "%s: all %zu truncations rejected", what, st.len);

	for (size_t bit = 0; bit < st.len * 8; bit++) {
		p[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		buf_reset(&out);
		if (blob_verify(p, st.len) != -EBADMSG ||
		    blob_decode(&out, NULL, p, st.len, k, id) != -EBADMSG)
			bad_flip++;
		if (k && bit < (st.len - BLOB_SUM_SIZE) * 8) {
			int r;

			fix_sum(p, st.len);
			buf_reset(&out);
			r = blob_decode(&out, NULL, p, st.len, k, id);
			if (r >= 0)
				bad_forged++;
			if (r == -EKEYREJECTED)
				forged_tag++;
			memcpy(p, st.data, st.len);
		} else {
			p[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		}
	}
	is_int(bad_flip, 0, "%s: all %zu bit flips rejected", what,
	       st.len * 8);
	if (k) {
		is_int(bad_forged, 0,
		       "%s: all flips rejected even with a forged checksum",
		       what);
		ok(forged_tag >= (st.len - BLOB_HEADER_SIZE - BLOB_SUM_SIZE) * 8,
		   "%s: the AEAD caught the %zu body flips (%zu)", what,
		   (st.len - BLOB_HEADER_SIZE - BLOB_SUM_SIZE) * 8, forged_tag);
	}
	if (k) {
		uint8_t other[BLOB_ID_SIZE];
		size_t bad_id = 0;

		/* the id is authenticated too: any other id is refused */
		memcpy(other, id, sizeof(other));
		for (size_t bit = 0; bit < BLOB_ID_SIZE * 8; bit++) {
			other[bit / 8] ^= (uint8_t)(1u << (bit % 8));
			buf_reset(&out);
			if (blob_decode(&out, NULL, p, st.len, k, other) !=
			    -EKEYREJECTED)
				bad_id++;
			other[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		}
		is_int(bad_id, 0, "%s: all %d bit flips of the id rejected",
		       what, BLOB_ID_SIZE * 8);
	}
	ok(memcmp(p, st.data, st.len) == 0, "%s: sample restored", what);
	free(p);
	buf_release(&st);
	buf_release(&out);
}

static void test_damage(void)
{
	uint8_t *c = compressible(300), *r = random_bytes(40);

	damage("plain lz4", c, 300, NULL);
	damage("plain raw", r, 40, NULL);
	damage("encrypted lz4", c, 300, key);
	damage("encrypted raw", r, 40, key);
	damage("plain empty", NULL, 0, NULL);
	damage("encrypted empty", NULL, 0, key);
	free(c);
	free(r);
}

/* Hand-made blobs with a valid checksum that break a framing rule. */
static void test_framing(void)
{
	struct buf st = BUF_INIT, out = BUF_INIT;
	uint8_t *c = compressible(300);
	uint8_t hdr[BLOB_HEADER_SIZE + 4 + BLOB_SUM_SIZE];
	static const struct {
		uint8_t b[8];
		const char *what;
	} bad[] = {
		{ { 2, 1, 0, 0, 4, 0, 0, 0 }, "version 2" },
		{ { 1, 0, 0, 0, 4, 0, 0, 0 }, "type 0" },
		{ { 1, 6, 0, 0, 4, 0, 0, 0 }, "type 6" },
		{ { 1, 1, 4, 0, 4, 0, 0, 0 }, "unknown flag" },
		{ { 1, 1, 0, 1, 4, 0, 0, 0 }, "reserved byte set" },
		{ { 1, 1, 0, 0, 5, 0, 0, 0 }, "raw_len longer than body" },
		{ { 1, 1, 0, 0, 3, 0, 0, 0 }, "raw_len shorter than body" },
		{ { 1, 1, 1, 0, 4, 0, 0, 0 }, "lz4 not smaller than raw" },
		{ { 1, 1, 2, 0, 4, 0, 0, 0 }, "encrypted but too short" },
		{ { 1, 1, 0, 0, 4, 0, 0, 2 }, "raw_len over BLOB_MAX_RAW" },
		/* 4 bytes of lz4 cannot make more than 255 * 4 + 64 */
		{ { 1, 1, 1, 0, 0x45, 0x04, 0, 0 }, "lz4 raw_len beyond 255x the payload" },
		{ { 1, 1, 1, 0, 0, 0, 0, 1 }, "lz4 raw_len of 16 MiB from 4 bytes" },
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memcpy(hdr, bad[i].b, 8);
		memcpy(hdr + 8, "abcd", 4);
		fix_sum(hdr, sizeof(hdr));
		buf_reset(&out);
		ok(blob_verify(hdr, sizeof(hdr)) == -EBADMSG &&
		   blob_decode(&out, NULL, hdr, sizeof(hdr), NULL, NULL) ==
		   -EBADMSG,
		   "%s: -EBADMSG", bad[i].what);
	}
	memcpy(hdr, bad[0].b, 8);
	hdr[0] = 1;
	memcpy(hdr + 8, "abcd", 4);
	fix_sum(hdr, sizeof(hdr));
	is_int(blob_verify(hdr, sizeof(hdr)), 0, "the control sample is valid");

	/* lz4 garbage that passes the checksum: lz4 itself must object */
	blob_encode(&st, BLOB_DATA, c, 300, NULL, NULL);
	for (size_t i = BLOB_HEADER_SIZE; i < st.len - BLOB_SUM_SIZE; i++)
		st.data[i] = 0xff;
	fix_sum(st.data, st.len);
	buf_reset(&out);
	is_int(blob_decode(&out, NULL, st.data, st.len, NULL, NULL), -EBADMSG,
	       "corrupt lz4 stream with a valid checksum: -EBADMSG");
	ok(out.len == 0 && out.data[0] == '\0', "out untouched");

	/* raw_len larger than what the lz4 stream produces */
	buf_reset(&st);
	blob_encode(&st, BLOB_DATA, c, 300, NULL, NULL);
	st.data[4] = 44;	/* 300 = 0x12c -> 0x12c + 0x100 */
	st.data[5] = 2;
	fix_sum(st.data, st.len);
	buf_reset(&out);
	is_int(blob_decode(&out, NULL, st.data, st.len, NULL, NULL), -EBADMSG,
	       "lz4 output shorter than raw_len: -EBADMSG");

	/* the most compressible data there is still decodes: the bound is
	 * no stricter than lz4 itself */
	{
		size_t n = 4u << 20;
		uint8_t *z = calloc(1, n);

		buf_reset(&st);
		buf_reset(&out);
		ok(z && blob_encode(&st, BLOB_DATA, z, n, NULL, NULL) == 0 &&
		   blob_decode(&out, NULL, st.data, st.len, NULL, NULL) == 0 &&
		   out.len == n && !memcmp(out.data, z, n),
		   "4 MiB of zeros (%zu bytes stored) round-trips", st.len);
		buf_reset(&st);
		buf_reset(&out);
		ok(z && blob_encode(&st, BLOB_DATA, z, n, key, id) == 0 &&
		   blob_decode(&out, NULL, st.data, st.len, key, id) == 0 &&
		   out.len == n, "and encrypted");
		free(z);
	}
	free(c);
	buf_release(&st);
	buf_release(&out);
}

/* Blobs back to back, as in a pack whose trailer is lost. */
static void test_frame_len(void)
{
	struct buf st = BUF_INIT;
	size_t ends[6], pos = 0, len = 0, n = 0;
	uint8_t *c = compressible(70000), *r = random_bytes(5000);
	const uint8_t *k;
	int rc = 0;

	for (int i = 0; i < 6; i++) {
		k = i % 2 ? key : NULL;
		blob_encode(&st, (uint8_t)(BLOB_DATA + i % 3),
			    i < 3 ? c : r, i < 3 ? 70000 - 1000 * (size_t)i
					     : 5000 - (size_t)i, k, id);
		ends[i] = st.len;
	}
	while (pos < st.len && rc == 0) {
		rc = blob_frame_len(st.data + pos, st.len - pos, &len);
		if (rc == 0 && pos + len != ends[n])
			rc = -EINVAL;
		pos += rc == 0 ? len : 0;
		n += rc == 0;
	}
	ok(rc == 0 && n == 6, "six blobs back to back found one by one");

	/* a compressed blob followed by garbage: every length is tried */
	buf_setlen(&st, ends[1]);
	buf_add(&st, "\x01\x01garbage that is no blob", 30);
	is_int(blob_frame_len(st.data + ends[0], st.len - ends[0], &len), 0,
	       "a blob followed by damage is still found");
	is_int((int)len, (int)(ends[1] - ends[0]), "with its length");
	is_int(blob_frame_len(st.data, ends[0] - 1, &len), -EBADMSG,
	       "a truncated blob is not");
	st.data[100] ^= 0x10;
	is_int(blob_frame_len(st.data, st.len, &len), -EBADMSG,
	       "nor a damaged one");
	is_int(blob_frame_len(st.data + 1, st.len - 1, &len), -EBADMSG,
	       "nor one inside another");
	is_int(blob_frame_len(st.data, 7, &len), -EBADMSG,
	       "nor a header cut short");
	free(c);
	free(r);
	buf_release(&st);
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	randombytes_buf(key, sizeof(key));
	randombytes_buf(key2, sizeof(key2));
	randombytes_buf(id, sizeof(id));
	randombytes_buf(id2, sizeof(id2));
	test_round_trips();
	test_levels();
	test_ids();
	test_api();
	test_damage();
	test_framing();
	test_frame_len();
	return done_testing();
}

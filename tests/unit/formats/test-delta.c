/*
 * test-delta: delta payloads (formats/delta.h) and delta blobs, the
 * version-2 envelope (formats/blob.h).  Round trips over block and
 * window edges, alignments outside the base and an empty base; a small
 * change makes a small delta; every truncation, trailing byte, window
 * outside the base and length lie is -EBADMSG and leaves the output as
 * it was.  Delta blobs: blob_decode refuses them (-ENOMSG), the AEAD
 * covers base id and depth, the header rules are enforced, every bit
 * flip and truncation is caught, blob_frame_len finds them.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include <xxhash.h>

#include "blob.h"
#include "delta.h"
#include "../tap.h"

static uint8_t key[BLOB_KEY_SIZE], id[BLOB_ID_SIZE], id2[BLOB_ID_SIZE];

/* Rows of text, like COPY output: "<n>\t<word>\t<hex>\n". */
static void rows(struct buf *b, size_t n, uint32_t seed)
{
	static const char *const words[] = { "login", "view", "click" };
	uint32_t x = seed;

	for (size_t i = 0; b->len < n; i++) {
		x = x * 1103515245u + 12345u;
		buf_addf(b, "%zu\t%s\t%08x%08x\t2024-01-%02zu 10:00:00+00\n", i,
			 words[i % 3], x, x ^ 0x5a5a5a5au, 1 + i % 28);
	}
	buf_setlen(b, n);
}

/* A copy of base with every k-th line's word changed ("!" appended),
 * so later lines shift by one byte each time. */
static void touched(struct buf *out, const struct buf *base, size_t k)
{
	size_t line = 0, start = 0;

	buf_reset(out);
	for (size_t i = 0; i < base->len; i++) {
		if (base->data[i] != '\n')
			continue;
		buf_add(out, base->data + start, i - start);
		if (line++ % k == k / 2)
			buf_addch(out, '!');
		buf_addch(out, '\n');
		start = i + 1;
	}
	buf_add(out, base->data + start, base->len - start);
}

static int round_trip(const struct buf *base, const struct buf *plain,
		      int64_t align, size_t *plen)
{
	struct buf d = BUF_INIT, out = BUF_INIT;
	int good;

	buf_addstr(&out, "pre");
	good = delta_encode(&d, base->data, base->len, plain->data,
			    plain->len, align) == 0 &&
	       delta_apply(&out, base->data, base->len, d.data, d.len,
			   (uint32_t)plain->len) == 0 &&
	       out.len == 3 + plain->len && !memcmp(out.data, "pre", 3) &&
	       !memcmp(out.data + 3, plain->data, plain->len) &&
	       out.data[out.len] == '\0';
	if (plen)
		*plen = d.len;
	buf_release(&d);
	buf_release(&out);
	return good;
}

static void test_round_trips(void)
{
	static const size_t sizes[] = { 1, 100, DELTA_BLOCK - 1, DELTA_BLOCK,
					DELTA_BLOCK + 1, 100000, 1u << 20 };
	struct buf base = BUF_INIT, plain = BUF_INIT, empty = BUF_INIT;
	size_t plen = 0;
	int good;

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		buf_reset(&base);
		rows(&base, sizes[i], 7);
		touched(&plain, &base, 50);
		good = round_trip(&base, &plain, 0, &plen);
		ok(good, "%zu bytes, 2%% of the rows touched: round trip (%zu"
		   " bytes of delta)", sizes[i], plen);
		if (sizes[i] >= 100000)
			ok(plen * 10 < plain.len, "%zu bytes: the delta is under a"
			   " tenth of the chunk", sizes[i]);
	}
	buf_reset(&base);
	rows(&base, 40000, 9);
	touched(&plain, &base, 30);
	ok(round_trip(&base, &plain, -5000, NULL) &&
	   round_trip(&base, &plain, 1000000, NULL) &&
	   round_trip(&base, &plain, -1000000, NULL) &&
	   round_trip(&base, &plain, 39999, NULL),
	   "alignments before, past and at the end of the base");
	ok(round_trip(&empty, &plain, 0, NULL), "an empty base: plain lz4");
	/* the new chunk starts halfway into the base: aligned, it still
	 * finds its rows */
	buf_reset(&plain);
	buf_add(&plain, base.data + 20000, 20000);
	rows(&plain, 30000, 3);
	good = round_trip(&base, &plain, 20000, &plen);
	ok(good && plen < 12000, "a chunk starting inside its base, aligned:"
	   " %zu bytes", plen);
	buf_release(&base);
	buf_release(&plain);
}

/* LZ4 HC (--compression max) against the same bases: the payload decodes
 * with the same delta_apply and is no larger; a level out of range is
 * refused and leaves the output as it was. */
static void test_hc(void)
{
	struct buf base = BUF_INIT, plain = BUF_INIT, fast = BUF_INIT;
	struct buf hc = BUF_INIT, out = BUF_INIT;
	int good = 1;

	rows(&base, 1u << 20, 11);
	touched(&plain, &base, 40);
	good = delta_encode_level(&fast, base.data, base.len, plain.data,
				  plain.len, 0, 0) == 0 &&
	       delta_encode_level(&hc, base.data, base.len, plain.data,
				  plain.len, 0, 9) == 0 &&
	       delta_apply(&out, base.data, base.len, hc.data, hc.len,
			   (uint32_t)plain.len) == 0 &&
	       out.len == plain.len && !memcmp(out.data, plain.data, out.len);
	ok(good, "LZ4 HC level 9: round trip through delta_apply");
	ok(hc.len <= fast.len, "LZ4 HC's delta (%zu bytes) is no larger than"
	   " the fast one's (%zu)", hc.len, fast.len);
	buf_reset(&out);
	ok(delta_encode(&out, base.data, base.len, plain.data, plain.len, 0) == 0 &&
	   out.len == fast.len && !memcmp(out.data, fast.data, out.len),
	   "delta_encode is level 0");
	buf_reset(&out);
	buf_addstr(&out, "kept");
	ok(delta_encode_level(&out, base.data, base.len, plain.data, plain.len,
			      0, 13) == -EINVAL &&
	   delta_encode_level(&out, base.data, base.len, plain.data, plain.len,
			      0, -1) == -EINVAL &&
	   out.len == 4 && !strcmp((char *)out.data, "kept"),
	   "levels out of 0..12: -EINVAL, output unchanged");
	buf_release(&base);
	buf_release(&plain);
	buf_release(&fast);
	buf_release(&hc);
	buf_release(&out);
}

static void put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static int applies(const struct buf *base, const uint8_t *d, size_t n,
		   uint32_t raw_len)
{
	struct buf out = BUF_INIT;
	int r;

	buf_addstr(&out, "kept");
	r = delta_apply(&out, base->data, base->len, d, n, raw_len);
	if (r < 0 && (out.len != 4 || memcmp(out.data, "kept", 5)))
		r = -1000;	/* the output must stay as it was */
	buf_release(&out);
	return r;
}

static void test_strict(void)
{
	struct buf base = BUF_INIT, plain = BUF_INIT, d = BUF_INIT;
	uint8_t *q;
	size_t bad = 0;

	rows(&base, 50000, 11);
	touched(&plain, &base, 20);
	delta_encode(&d, base.data, base.len, plain.data, plain.len, 0);
	is_int(applies(&base, d.data, d.len, (uint32_t)plain.len), 0,
	       "the control delta applies");
	for (size_t n = 0; n < d.len; n++)
		bad += applies(&base, d.data, n, (uint32_t)plain.len) !=
		       -EBADMSG;
	is_int(bad, 0, "every truncation of a delta: -EBADMSG, output kept");
	q = malloc(d.len + 1);
	memcpy(q, d.data, d.len);
	q[d.len] = 0;
	is_int(applies(&base, q, d.len + 1, (uint32_t)plain.len), -EBADMSG,
	       "a trailing byte: -EBADMSG");
	is_int(applies(&base, d.data, d.len, (uint32_t)plain.len - 1),
	       -EBADMSG, "raw_len shorter than the blocks make: -EBADMSG");
	is_int(applies(&base, d.data, d.len, (uint32_t)plain.len + 1),
	       -EBADMSG, "raw_len longer: -EBADMSG");
	is_int(applies(&base, d.data, d.len, 0), -EBADMSG, "raw_len 0");

	memcpy(q, d.data, d.len);
	put_le32(q, (uint32_t)base.len);	/* dict_off at the end ... */
	is_int(applies(&base, q, d.len, (uint32_t)plain.len), -EBADMSG,
	       "a window past the end of the base: -EBADMSG");
	memcpy(q, d.data, d.len);
	put_le32(q + 4, DELTA_WINDOW + 1);
	is_int(applies(&base, q, d.len, (uint32_t)plain.len), -EBADMSG,
	       "a window over 64 KiB: -EBADMSG");
	memcpy(q, d.data, d.len);
	put_le32(q + 8, 0);
	is_int(applies(&base, q, d.len, (uint32_t)plain.len), -EBADMSG,
	       "comp_len 0: -EBADMSG");
	memcpy(q, d.data, d.len);
	put_le32(q + 8, 0xffffffffu);
	is_int(applies(&base, q, d.len, (uint32_t)plain.len), -EBADMSG,
	       "comp_len past the payload: -EBADMSG");
	memcpy(q, d.data, d.len);
	for (size_t i = DELTA_BLOCK_HEAD; i < 40; i++)
		q[i] = 0xff;
	is_int(applies(&base, q, d.len, (uint32_t)plain.len), -EBADMSG,
	       "a garbled lz4 block: -EBADMSG");
	/* another base: garbage out or -EBADMSG, never a crash */
	buf_reset(&plain);
	rows(&plain, 1000, 5);
	ok(applies(&plain, d.data, d.len, 50000) <= 0,
	   "a delta applied to a short, wrong base is refused or wrong");
	free(q);
	buf_release(&base);
	buf_release(&plain);
	buf_release(&d);
}

/* ---- delta blobs ---------------------------------------------------- */

static void fix_sum(uint8_t *p, size_t len)
{
	uint64_t s = XXH3_64bits(p, len - BLOB_SUM_SIZE);

	for (int i = 0; i < 8; i++)
		p[len - 8 + i] = (uint8_t)(s >> (8 * i));
}

/* base plaintext, chunk plaintext, their delta blob. */
struct sample {
	struct buf base, plain, payload, st;
	struct blob_delta d;
};

static void sample_make(struct sample *s, const uint8_t *k)
{
	memset(s, 0, sizeof(*s));
	buf_init(&s->base, 0);
	buf_init(&s->plain, 0);
	buf_init(&s->payload, 0);
	buf_init(&s->st, 0);
	rows(&s->base, 40000, 21);
	touched(&s->plain, &s->base, 40);
	memset(s->d.base, 0xb5, sizeof(s->d.base));
	s->d.depth = 3;
	delta_encode(&s->payload, s->base.data, s->base.len, s->plain.data,
		     s->plain.len, 0);
	blob_encode_delta(&s->st, BLOB_DATA, s->payload.data, s->payload.len,
			  (uint32_t)s->plain.len, &s->d, k, id);
}

static void sample_release(struct sample *s)
{
	buf_release(&s->base);
	buf_release(&s->plain);
	buf_release(&s->payload);
	buf_release(&s->st);
}

static int decodes(const struct sample *s, const uint8_t *p, size_t n,
		   const uint8_t *k, const uint8_t *as)
{
	struct buf out = BUF_INIT;
	struct blob_delta got;
	uint8_t type = 0;
	int r = blob_decode_delta(&out, &type, &got, p, n, k, as,
				  s->base.data, s->base.len);

	if (r == 0 && (type != BLOB_DATA || out.len != s->plain.len ||
		       memcmp(out.data, s->plain.data, out.len) ||
		       memcmp(got.base, s->d.base, 32) ||
		       got.depth != s->d.depth))
		r = -1000;
	buf_release(&out);
	return r;
}

static void test_blob_round_trip(const uint8_t *k, const char *what)
{
	struct sample s;
	struct buf out = BUF_INIT;
	struct blob_delta d;
	uint8_t type = 0, flags = 0;
	uint32_t raw = 0;
	size_t bad = 0;

	sample_make(&s, k);
	ok(s.st.len > 0 && s.st.len < s.plain.len / 4, "%s: a delta blob of"
	   " %zu bytes for %zu", what, s.st.len, s.plain.len);
	is_int(blob_verify(s.st.data, s.st.len), 0, "%s: verify", what);
	ok(blob_peek(s.st.data, s.st.len, &type, &flags, &raw) == 0 &&
	   type == BLOB_DATA && raw == s.plain.len &&
	   !!(flags & BLOB_F_ENCRYPTED) == !!k, "%s: peek", what);
	ok(blob_peek_delta(s.st.data, s.st.len, &d) == 1 && d.depth == 3 &&
	   !memcmp(d.base, s.d.base, 32), "%s: peek_delta", what);
	is_int(decodes(&s, s.st.data, s.st.len, k, id), 0,
	       "%s: decodes against its base", what);
	buf_addstr(&out, "x");
	is_int(blob_decode(&out, &type, s.st.data, s.st.len, k, id), -ENOMSG,
	       "%s: blob_decode refuses it with -ENOMSG", what);
	ok(out.len == 1, "%s: and leaves the output alone", what);
	buf_reset(&out);
	ok(blob_open_delta(&out, &d, &raw, s.st.data, s.st.len, k, id) == 0 &&
	   out.len == s.payload.len && !memcmp(out.data, s.payload.data,
					      out.len) && raw == s.plain.len,
	   "%s: blob_open_delta gives the payload", what);
	if (k) {
		is_int(decodes(&s, s.st.data, s.st.len, k, id2),
		       -EKEYREJECTED, "%s: under another id", what);
		is_int(decodes(&s, s.st.data, s.st.len, NULL, NULL), -ENOKEY,
		       "%s: without the key", what);
	} else {
		is_int(decodes(&s, s.st.data, s.st.len, key, id),
		       -EKEYREJECTED, "%s: under a key", what);
	}
	for (size_t n = 0; n < s.st.len; n++)
		bad += blob_verify(s.st.data, n) != -EBADMSG ||
		       decodes(&s, s.st.data, n, k, id) != -EBADMSG;
	is_int(bad, 0, "%s: every truncation is -EBADMSG", what);
	bad = 0;
	for (size_t i = 0; i < s.st.len; i++) {
		s.st.data[i] ^= 0x10;
		bad += blob_verify(s.st.data, s.st.len) != -EBADMSG;
		s.st.data[i] ^= 0x10;
	}
	is_int(bad, 0, "%s: every bit flip fails the checksum", what);
	/* a forged checksum: the AEAD covers base and depth */
	s.st.data[BLOB_HEADER_SIZE + 5] ^= 1;
	fix_sum(s.st.data, s.st.len);
	if (k)
		is_int(decodes(&s, s.st.data, s.st.len, k, id), -EKEYREJECTED,
		       "%s: another base id, checksum forged: rejected", what);
	else
		is_int(decodes(&s, s.st.data, s.st.len, k, id), -1000,
		       "%s: another base id: decodes, but names that base for"
		       " the caller to refuse", what);
	s.st.data[BLOB_HEADER_SIZE + 5] ^= 1;
	s.st.data[3] = 4;
	fix_sum(s.st.data, s.st.len);
	is_int(decodes(&s, s.st.data, s.st.len, k, id), k ? -EKEYREJECTED
	       : -1000, "%s: another depth, checksum forged: %s", what,
	       k ? "rejected" : "named for the caller to refuse");
	buf_release(&out);
	sample_release(&s);
}

static void test_blob_rules(void)
{
	struct sample s;
	struct buf st = BUF_INIT;
	struct blob_delta d = { { 1 }, 1 };
	uint8_t blob[BLOB_DELTA_HEADER_SIZE + 4 + BLOB_SUM_SIZE];
	static const struct {
		uint8_t b[8];
		const char *what;
	} bad[] = {
		{ { 2, 2, 0, 1, 8, 0, 0, 0 }, "a delta manifest chunk" },
		{ { 2, 1, 1, 1, 8, 0, 0, 0 }, "a delta with the lz4 flag" },
		{ { 2, 1, 4, 1, 8, 0, 0, 0 }, "an unknown flag" },
		{ { 2, 1, 0, 0, 8, 0, 0, 0 }, "depth 0" },
		{ { 2, 1, 0, 9, 8, 0, 0, 0 }, "depth 9" },
		{ { 2, 1, 0, 1, 4, 0, 0, 0 }, "a payload as long as the chunk" },
		{ { 2, 1, 0, 1, 2, 0, 0, 0 }, "a payload longer than the chunk" },
		{ { 2, 1, 0, 1, 0x45, 0x04, 0, 0 }, "raw_len beyond 255x the"
		  " payload" },
		{ { 2, 1, 0, 1, 0, 0, 0, 2 }, "raw_len over BLOB_MAX_RAW" },
		{ { 3, 1, 0, 1, 8, 0, 0, 0 }, "version 3" },
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(blob, 0x42, sizeof(blob));
		memcpy(blob, bad[i].b, 8);
		fix_sum(blob, sizeof(blob));
		ok(blob_verify(blob, sizeof(blob)) == -EBADMSG,
		   "%s: -EBADMSG", bad[i].what);
	}
	memcpy(blob, bad[0].b, 8);
	blob[1] = BLOB_DATA;
	fix_sum(blob, sizeof(blob));
	is_int(blob_verify(blob, sizeof(blob)), 0, "the control sample is"
	       " valid");

	is_int(blob_encode_delta(&st, BLOB_MANIFEST, "ab", 2, 10, &d, NULL,
				 NULL), -EINVAL, "encode: not a data chunk");
	d.depth = 0;
	is_int(blob_encode_delta(&st, BLOB_DATA, "ab", 2, 10, &d, NULL, NULL),
	       -EINVAL, "encode: depth 0");
	d.depth = BLOB_MAX_DEPTH + 1;
	is_int(blob_encode_delta(&st, BLOB_DATA, "ab", 2, 10, &d, NULL, NULL),
	       -EINVAL, "encode: depth 9");
	d.depth = BLOB_MAX_DEPTH;
	is_int(blob_encode_delta(&st, BLOB_DATA, "ab", 2, 2, &d, NULL, NULL),
	       -EINVAL, "encode: a payload as long as the chunk");
	is_int(blob_encode_delta(&st, BLOB_DATA, "ab", 2, 3, &d, key, NULL),
	       -EINVAL, "encode: a key without an id");
	is_int(st.len, 0, "refusals write nothing");
	is_int(blob_encode_delta(&st, BLOB_DATA, "ab", 2, 3, &d, NULL, NULL),
	       0, "encode: depth 8 is fine");
	is_int(blob_peek_delta(st.data, 1, NULL), -EBADMSG,
	       "peek_delta: one byte of a delta header is too short");

	/* back to back, as in a pack whose trailer is lost */
	sample_make(&s, key);
	{
		struct buf pack = BUF_INIT;
		size_t len = 0, first = s.st.len;

		buf_add(&pack, s.st.data, s.st.len);
		blob_encode(&pack, BLOB_DATA, "hello", 5, key, id);
		buf_add(&pack, s.st.data, s.st.len);
		ok(blob_frame_len(pack.data, pack.len, &len) == 0 &&
		   len == first, "frame_len finds a delta blob's length");
		ok(blob_frame_len(pack.data + pack.len - first, first, &len) ==
		   0 && len == first, "and the last one's");
		buf_release(&pack);
	}
	sample_release(&s);
	buf_release(&st);
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	randombytes_buf(key, sizeof(key));
	randombytes_buf(id, sizeof(id));
	randombytes_buf(id2, sizeof(id2));
	test_round_trips();
	test_strict();
	test_hc();
	test_blob_round_trip(NULL, "plain");
	test_blob_round_trip(key, "encrypted");
	test_blob_rules();
	return done_testing();
}

/*
 * fuzz-blob: blob_peek, blob_verify, blob_decode and, for delta blobs
 * (version 2), blob_open_delta and blob_decode_delta against the fixed
 * base of fuzz.h (formats/blob.h) on untrusted bytes.  Every input is
 * tried four ways:
 *
 *   1. as it is, without and with the key;
 *   2. with its XXH3 trailer made right, so the header rules, the lz4
 *      payload and the AEAD are reached;
 *   3. split as header | payload and framed twice, once in the clear and
 *      once sealed under the key: both must decode alike, which drives
 *      fuzzer-made lz4 through the decrypting path too;
 *   4. as the plaintext of fresh blobs (with and without the key) that
 *      must decode back to it, and fail once a byte is flipped.
 *
 * Invariants: the codes are the documented ones, blob_verify agrees with
 * blob_decode, which refuses exactly the well-framed delta blobs with
 * -ENOMSG, a decoded blob has the type and raw_len of its header,
 * decode -> encode -> decode gives the same bytes, a plaintext blob is
 * refused under a key, an encrypted one without it and under another id,
 * and the output buffer keeps what it held before and stays terminated.
 */
#include <errno.h>
#include <sodium.h>

#include "blob.h"
#include "delta.h"
#include "fuzz.h"

const char fuzz_name[] = "blob";

static const uint8_t other_id[BLOB_ID_SIZE] = { 1 };

#define PREFIX "kept"
#define PREFIX_LEN 4
#define ROUNDTRIP_MAX (256u << 10)

static int blob_code_ok(int r)
{
	return r == 0 || r == -EBADMSG || r == -ENOKEY ||
	       r == -EKEYREJECTED || r == -ENOMEM || r == -ENOMSG;
}

static struct buf fixed_base = BUF_INIT;

/* The fixed base all delta blobs here are decoded against. */
static const struct buf *base(void)
{
	if (!fixed_base.len)
		fuzz_delta_base(&fixed_base);
	return &fixed_base;
}

/* Decodes after a prefix; checks the buffer contract either way. */
static int decode(struct buf *out, uint8_t *type, const uint8_t *p, size_t n,
		  const uint8_t *key, const uint8_t *id)
{
	int r;

	buf_reset(out);
	if (buf_add(out, PREFIX, PREFIX_LEN) < 0)
		abort();
	r = blob_decode(out, type, p, n, key, id);
	FUZZ_CHECK(blob_code_ok(r));
	FUZZ_CHECK(out->len >= PREFIX_LEN &&
		   memcmp(out->data, PREFIX, PREFIX_LEN) == 0);
	FUZZ_CHECK(out->data[out->len] == '\0');
	if (r < 0)
		FUZZ_CHECK(out->len == PREFIX_LEN);
	return r;
}

/* Encodes plain[0..n) and checks it decodes back, then fails when hurt. */
static void roundtrip(uint8_t type, const uint8_t *plain, size_t n,
		      const uint8_t *key, uint64_t seed)
{
	struct buf enc = BUF_INIT, dec = BUF_INIT;
	size_t overhead = BLOB_HEADER_SIZE + BLOB_SUM_SIZE +
			  (key ? BLOB_NONCE_SIZE + BLOB_TAG_SIZE : 0);
	uint8_t t = 0, *hurt;
	size_t at;
	int r;

	r = blob_encode(&enc, type, plain, n, key, key ? fuzz_id : NULL);
	if (n > BLOB_MAX_RAW) {
		FUZZ_CHECK(r == -EINVAL);
		return;
	}
	FUZZ_CHECK(r == 0);
	/* lz4 is kept only when it is smaller */
	FUZZ_CHECK(enc.len >= overhead && enc.len - overhead <= n);
	FUZZ_CHECK(blob_verify(enc.data, enc.len) == 0);
	r = decode(&dec, &t, enc.data, enc.len, key, key ? fuzz_id : NULL);
	FUZZ_CHECK(r == 0 && t == type && dec.len == PREFIX_LEN + n);
	FUZZ_CHECK(n == 0 || memcmp(dec.data + PREFIX_LEN, plain, n) == 0);
	if (key) {
		FUZZ_CHECK(decode(&dec, &t, enc.data, enc.len, NULL, NULL) ==
			   -ENOKEY);
		FUZZ_CHECK(decode(&dec, &t, enc.data, enc.len, key,
				  other_id) == -EKEYREJECTED);
	} else {
		FUZZ_CHECK(decode(&dec, &t, enc.data, enc.len, fuzz_key,
				  fuzz_id) == -EKEYREJECTED);
	}
	/* one flipped bit anywhere: the checksum (or the tag) catches it */
	hurt = fuzz_dup(enc.data, enc.len);
	at = fuzz_rand(&seed) % enc.len;
	hurt[at] ^= (uint8_t)(1u << fuzz_rand(&seed) % 8);
	r = decode(&dec, &t, hurt, enc.len, key, key ? fuzz_id : NULL);
	FUZZ_CHECK(r == -EBADMSG);
	free(hurt);
	buf_release(&enc);
	buf_release(&dec);
}

/* plain[0..n) as a delta blob against the fixed base: it decodes back,
 * blob_decode refuses it, and a flipped bit is caught. */
static void roundtrip_delta(const uint8_t *plain, size_t n,
			    const uint8_t *key, uint64_t seed)
{
	struct buf d = BUF_INIT, enc = BUF_INIT, dec = BUF_INIT;
	struct blob_delta bd = { { 0x5d }, 1 + (uint8_t)(seed % 8) }, got;
	const struct buf *b = base();
	uint8_t *hurt, t = 0;
	size_t at;
	int r;

	if (n < 2 || n > ROUNDTRIP_MAX ||
	    delta_encode(&d, b->data, b->len, plain, n, 0) < 0 || d.len >= n)
		goto out;
	r = blob_encode_delta(&enc, BLOB_DATA, d.data, d.len, (uint32_t)n, &bd,
			      key, key ? fuzz_id : NULL);
	FUZZ_CHECK(r == 0);
	FUZZ_CHECK(blob_verify(enc.data, enc.len) == 0);
	FUZZ_CHECK(decode(&dec, &t, enc.data, enc.len, key,
			  key ? fuzz_id : NULL) == -ENOMSG);
	buf_reset(&dec);
	r = blob_decode_delta(&dec, &t, &got, enc.data, enc.len, key,
			      key ? fuzz_id : NULL, b->data, b->len);
	FUZZ_CHECK(r == 0 && t == BLOB_DATA && dec.len == n &&
		   memcmp(dec.data, plain, n) == 0 && got.depth == bd.depth &&
		   memcmp(got.base, bd.base, BLOB_ID_SIZE) == 0);
	if (key) {
		buf_reset(&dec);
		FUZZ_CHECK(blob_decode_delta(&dec, NULL, NULL, enc.data,
					     enc.len, key, other_id, b->data,
					     b->len) == -EKEYREJECTED);
	}
	hurt = fuzz_dup(enc.data, enc.len);
	at = fuzz_rand(&seed) % enc.len;
	hurt[at] ^= (uint8_t)(1u << fuzz_rand(&seed) % 8);
	buf_reset(&dec);
	r = blob_decode_delta(&dec, NULL, NULL, hurt, enc.len, key,
			      key ? fuzz_id : NULL, b->data, b->len);
	FUZZ_CHECK(r == -EBADMSG && dec.len == 0);
	free(hurt);
out:
	buf_release(&d);
	buf_release(&enc);
	buf_release(&dec);
}

/* A blob blob_decode refused with -ENOMSG: a well-framed delta.  It
 * opens and decodes against the fixed base alike, and what it decodes
 * to survives open -> encode_delta -> decode. */
static void check_delta(const uint8_t *p, size_t n, const uint8_t *key,
			const uint8_t *id)
{
	struct buf pay = BUF_INIT, out = BUF_INIT, enc = BUF_INIT,
		   again = BUF_INIT;
	const struct buf *b = base();
	struct blob_delta d, d2;
	uint32_t raw_len = 0;
	int ro, rd;

	FUZZ_CHECK(blob_peek_delta(p, n, &d) == 1);
	ro = blob_open_delta(&pay, &d2, &raw_len, p, n, key, id);
	FUZZ_CHECK(ro == 0 || ro == -EKEYREJECTED || ro == -ENOMEM);
	rd = blob_decode_delta(&out, NULL, NULL, p, n, key, id, b->data,
			       b->len);
	FUZZ_CHECK(rd == 0 || rd == -EBADMSG || rd == -EKEYREJECTED ||
		   rd == -ENOMEM);
	if (ro == -EKEYREJECTED)
		FUZZ_CHECK(rd == -EKEYREJECTED);
	if (rd < 0)
		FUZZ_CHECK(out.len == 0);
	if (ro == 0) {
		FUZZ_CHECK(d.depth == d2.depth && d.depth >= 1 &&
			   d.depth <= BLOB_MAX_DEPTH &&
			   memcmp(d.base, d2.base, BLOB_ID_SIZE) == 0);
		FUZZ_CHECK(pay.len > 0 && pay.len < raw_len);
	}
	if (rd == 0 && ro == 0) {
		FUZZ_CHECK(out.len == raw_len);
		FUZZ_CHECK(blob_encode_delta(&enc, BLOB_DATA, pay.data,
					     pay.len, raw_len, &d, key,
					     id) == 0);
		FUZZ_CHECK(blob_decode_delta(&again, NULL, NULL, enc.data,
					     enc.len, key, id, b->data,
					     b->len) == 0);
		FUZZ_CHECK(again.len == out.len &&
			   memcmp(again.data, out.data, out.len) == 0);
	}
	buf_release(&pay);
	buf_release(&out);
	buf_release(&enc);
	buf_release(&again);
}

/* 1 and 2: stored bytes from outside. */
static void check_stored(const uint8_t *p, size_t n, struct buf *plain)
{
	struct buf out = BUF_INIT;
	uint8_t ptype = 0, flags = 0, type = 0;
	uint32_t raw_len = 0;
	int peek, ver, r, rk;

	peek = blob_peek(p, n, &ptype, &flags, &raw_len);
	FUZZ_CHECK(peek == (n >= BLOB_HEADER_SIZE ? 0 : -EBADMSG));
	ver = blob_verify(p, n);
	FUZZ_CHECK(ver == 0 || ver == -EBADMSG);
	FUZZ_CHECK(blob_decode(&out, NULL, p, n, fuzz_key, NULL) == -EINVAL);

	r = decode(&out, &type, p, n, NULL, NULL);
	FUZZ_CHECK(r != -EKEYREJECTED);
	if (ver < 0)
		FUZZ_CHECK(r == ver);
	if (r == -ENOKEY)
		FUZZ_CHECK(ver == 0 && (flags & BLOB_F_ENCRYPTED));
	if (r == -ENOMSG) {
		FUZZ_CHECK(ver == 0 && p[0] == BLOB_VERSION_DELTA);
		check_delta(p, n, NULL, NULL);
	}
	if (r == 0) {
		FUZZ_CHECK(ver == 0 && !(flags & BLOB_F_ENCRYPTED));
		FUZZ_CHECK(type == ptype && out.len == PREFIX_LEN + raw_len);
		buf_reset(plain);
		if (buf_add(plain, out.data + PREFIX_LEN, raw_len) < 0)
			abort();
	}

	rk = decode(&out, &type, p, n, fuzz_key, fuzz_id);
	if (ver < 0)
		FUZZ_CHECK(rk == ver);
	else if (!(flags & BLOB_F_ENCRYPTED))
		/* a plaintext blob is never trusted under a key */
		FUZZ_CHECK(rk == -EKEYREJECTED);
	if (rk == -ENOMSG) {
		FUZZ_CHECK(ver == 0 && p[0] == BLOB_VERSION_DELTA &&
			   (flags & BLOB_F_ENCRYPTED));
		check_delta(p, n, fuzz_key, fuzz_id);
	}
	if (rk == 0) {
		FUZZ_CHECK(type == ptype && out.len == PREFIX_LEN + raw_len);
		FUZZ_CHECK(decode(&out, &type, p, n, fuzz_key, other_id) ==
			   -EKEYREJECTED);
		buf_reset(plain);
		if (buf_add(plain, out.data + PREFIX_LEN, raw_len) < 0)
			abort();
	}
	buf_release(&out);
	/* decode -> encode -> decode: the same bytes again (lz4 can blow a
	 * few bytes up to BLOB_MAX_RAW; past ROUNDTRIP_MAX the fuzzer would
	 * spend its time compressing zeros) */
	if ((r == 0 || rk == 0) && plain->len <= ROUNDTRIP_MAX)
		roundtrip(ptype, plain->data, plain->len,
			  rk == 0 ? fuzz_key : NULL, n);
}

/* 3: the same header and payload, framed in the clear and sealed. */
static void check_sealed(const uint8_t *p, size_t n)
{
	struct buf clear = BUF_INIT, sealed = BUF_INIT, a = BUF_INIT,
		   b = BUF_INIT;
	uint8_t ad[BLOB_DELTA_HEADER_SIZE + BLOB_ID_SIZE];
	uint8_t hdr[BLOB_DELTA_HEADER_SIZE], nonce[BLOB_NONCE_SIZE];
	uint8_t ta = 0, tb = 0, *q;
	size_t plen, at, hs;
	int ra, rb;

	/* a delta blob's header (authenticated whole) holds its base id */
	hs = n && p[0] == BLOB_VERSION_DELTA ? BLOB_DELTA_HEADER_SIZE
					     : BLOB_HEADER_SIZE;
	if (n < hs || sodium_init() < 0)
		return;
	plen = n - hs;
	memcpy(hdr, p, hs);
	memset(nonce, 0x4e, sizeof(nonce));

	hdr[2] &= (uint8_t)~BLOB_F_ENCRYPTED;
	if (buf_add(&clear, hdr, hs) < 0 ||
	    buf_add(&clear, p + hs, plen) < 0 ||
	    buf_put_le64(&clear, 0) < 0)
		abort();

	hdr[2] |= BLOB_F_ENCRYPTED;
	memcpy(ad, hdr, hs);
	memcpy(ad + hs, fuzz_id, BLOB_ID_SIZE);
	if (buf_add(&sealed, hdr, hs) < 0 ||
	    buf_add(&sealed, nonce, sizeof(nonce)) < 0 ||
	    buf_grow(&sealed, plen + BLOB_TAG_SIZE + BLOB_SUM_SIZE) < 0)
		abort();
	at = sealed.len;
	crypto_aead_xchacha20poly1305_ietf_encrypt(sealed.data + at, NULL,
			p + hs, plen, ad, hs + BLOB_ID_SIZE, NULL, nonce,
			fuzz_key);
	buf_setlen(&sealed, at + plen + BLOB_TAG_SIZE);
	if (buf_put_le64(&sealed, 0) < 0)
		abort();

	q = fuzz_with_sum(clear.data, clear.len);
	ra = decode(&a, &ta, q, clear.len, NULL, NULL);
	free(q);
	q = fuzz_with_sum(sealed.data, sealed.len);
	rb = decode(&b, &tb, q, sealed.len, fuzz_key, fuzz_id);
	free(q);
	FUZZ_CHECK(ra != -ENOKEY && ra != -EKEYREJECTED);
	FUZZ_CHECK(rb != -ENOKEY && rb != -EKEYREJECTED);
	FUZZ_CHECK(ra == rb);
	if (ra == 0)
		FUZZ_CHECK(ta == tb && a.len == b.len &&
			   memcmp(a.data, b.data, a.len) == 0);
	if (ra == -ENOMSG) {	/* and decoded, the two deltas agree too */
		buf_reset(&a);
		buf_reset(&b);
		q = fuzz_with_sum(clear.data, clear.len);
		ra = blob_decode_delta(&a, NULL, NULL, q, clear.len, NULL,
				       NULL, base()->data, base()->len);
		free(q);
		q = fuzz_with_sum(sealed.data, sealed.len);
		rb = blob_decode_delta(&b, NULL, NULL, q, sealed.len, fuzz_key,
				       fuzz_id, base()->data, base()->len);
		free(q);
		FUZZ_CHECK(ra == rb);
		if (ra == 0)
			FUZZ_CHECK(a.len == b.len &&
				   memcmp(a.data, b.data, a.len) == 0);
	}
	buf_release(&clear);
	buf_release(&sealed);
	buf_release(&a);
	buf_release(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf plain = BUF_INIT;
	uint8_t *fixed;

	check_stored(data, size, &plain);
	if (!fuzz_sum_ok(data, size) && (fixed = fuzz_with_sum(data, size))) {
		check_stored(fixed, size, &plain);
		free(fixed);
	}
	check_sealed(data, size);
	roundtrip((uint8_t)(BLOB_DATA + size % 5), data, size, NULL, size);
	roundtrip((uint8_t)(BLOB_DATA + size % 5), data, size, fuzz_key,
		  size + 1);
	roundtrip_delta(data, size, NULL, size);
	roundtrip_delta(data, size, fuzz_key, size + 2);
	buf_release(&plain);
	return 0;
}

/*
 * blob: encoder and decoder of the envelope every stored chunk travels
 * in (layout in blob.h, full spec in formats/blob.md), both versions:
 * whole chunks (1) and deltas against a base (2, payload: delta.h).
 *
 * Decoding always verifies before it trusts: framing and the XXH3
 * trailer first (cheap, keyless, catches bit rot), then the AEAD tag
 * over header (with a delta's base id and depth) and expected id, then
 * lz4 (or the delta against its base) into a buffer of exactly raw_len
 * bytes.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <lz4.h>
#include <lz4hc.h>
#include <sodium.h>
#include <xxhash.h>

#include "blob.h"
#include "delta.h"

/* Smallest possible blob: header + checksum (an empty unencrypted one). */
#define BLOB_MIN_SIZE (BLOB_HEADER_SIZE + BLOB_SUM_SIZE)
/* AEAD additional data: the header (with a delta's base id), then the id
 * the blob is stored under. */
#define BLOB_AD_MAX (BLOB_DELTA_HEADER_SIZE + BLOB_ID_SIZE)
/* Bytes besides header and payload: nonce and tag when encrypted. */
#define BLOB_SEAL_SIZE (BLOB_NONCE_SIZE + BLOB_TAG_SIZE)

/* What blob_check learnt from a blob that passed it. */
struct blob_hdr {
	uint8_t version, type, flags, depth;
	uint32_t raw_len;
	size_t hsize;		/* 8, or 40 for a delta */
	size_t plen;		/* payload bytes (before encryption) */
};

static void blob_put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void blob_put_le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t blob_get_le64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

static int blob_type_ok(uint8_t type)
{
	return type >= BLOB_DATA && type <= BLOB_TOMBSTONE;
}

int blob_peek(const void *stored, size_t len, uint8_t *type, uint8_t *flags,
	      uint32_t *raw_len)
{
	const uint8_t *p = stored;

	if (len < BLOB_HEADER_SIZE)
		return -EBADMSG;
	if (type)
		*type = p[1];
	if (flags)
		*flags = p[2];
	if (raw_len)
		*raw_len = (uint32_t)p[4] | (uint32_t)p[5] << 8 |
			   (uint32_t)p[6] << 16 | (uint32_t)p[7] << 24;
	return 0;
}

int blob_peek_delta(const void *stored, size_t len, struct blob_delta *d)
{
	const uint8_t *p = stored;

	if (len < 1)
		return -EBADMSG;
	if (p[0] == BLOB_VERSION)
		return len < BLOB_HEADER_SIZE ? -EBADMSG : 0;
	if (p[0] != BLOB_VERSION_DELTA || len < BLOB_DELTA_HEADER_SIZE)
		return -EBADMSG;
	if (d) {
		memcpy(d->base, p + BLOB_HEADER_SIZE, BLOB_ID_SIZE);
		d->depth = p[3];
	}
	return 1;
}

/* The header rules of either version, checksum aside: 1 when the fields
 * could belong to a blob, with *h's header part filled. */
static int blob_header_ok(const uint8_t *p, size_t n, struct blob_hdr *h)
{
	if (n < BLOB_HEADER_SIZE)
		return 0;
	memset(h, 0, sizeof(*h));
	h->version = p[0];
	blob_peek(p, n, &h->type, &h->flags, &h->raw_len);
	if (h->raw_len > BLOB_MAX_RAW)
		return 0;
	if (h->version == BLOB_VERSION) {
		h->hsize = BLOB_HEADER_SIZE;
		return blob_type_ok(h->type) && !(h->flags & ~BLOB_F_KNOWN) &&
		       p[3] == 0;
	}
	/* a delta: a data chunk, its payload lz4 already, a bounded chain,
	 * and never longer than the chunk (0 < plen < raw_len) */
	h->hsize = BLOB_DELTA_HEADER_SIZE;
	h->depth = p[3];
	return h->version == BLOB_VERSION_DELTA && h->type == BLOB_DATA &&
	       !(h->flags & ~BLOB_F_ENCRYPTED) && h->depth >= 1 &&
	       h->depth <= BLOB_MAX_DEPTH && h->raw_len >= 2 &&
	       n >= BLOB_DELTA_HEADER_SIZE;
}

/*
 * Checks everything that can be checked without the key: header rules,
 * checksum, and the payload length (compressed or raw bytes, or a
 * delta's, before encryption) in h->plen.
 */
#define BLOB_LZ4_MAX_RATIO 255

static int blob_check(const uint8_t *p, size_t len, struct blob_hdr *h)
{
	size_t body;

	if (len < BLOB_MIN_SIZE || !blob_header_ok(p, len, h) ||
	    len < h->hsize + BLOB_SUM_SIZE)
		return -EBADMSG;
	if (XXH3_64bits(p, len - BLOB_SUM_SIZE) !=
	    blob_get_le64(p + len - BLOB_SUM_SIZE))
		return -EBADMSG;

	body = len - h->hsize - BLOB_SUM_SIZE;
	if (h->flags & BLOB_F_ENCRYPTED) {
		if (body < BLOB_SEAL_SIZE)
			return -EBADMSG;
		body -= BLOB_SEAL_SIZE;
	}
	/*
	 * The encoder only keeps lz4 (or a delta) when it is strictly
	 * smaller, so a canonical blob's payload length is fully determined
	 * by the flags and the version.
	 */
	if ((h->flags & BLOB_F_LZ4) || h->version == BLOB_VERSION_DELTA) {
		if (body == 0 || body >= h->raw_len)
			return -EBADMSG;
		/* lz4 expands at most 255 times (a length byte adds at most
		 * 255), with a dictionary too: a raw_len beyond that is a
		 * lie, and believing it would let a few bytes make the
		 * decoder allocate 32 MiB */
		if (h->raw_len > (uint64_t)body * BLOB_LZ4_MAX_RATIO + 64)
			return -EBADMSG;
	} else if (body != h->raw_len) {
		return -EBADMSG;
	}
	h->plen = body;
	return 0;
}

int blob_verify(const void *stored, size_t len)
{
	struct blob_hdr h;

	return blob_check(stored, len, &h);
}

/* The key rules of the decoding order (formats/blob.md, step 4 but the
 * tag): an encrypted blob needs the key, a plaintext one is never
 * trusted under a key. */
static int blob_key_ok(const struct blob_hdr *h, const uint8_t *enc_key)
{
	if (h->flags & BLOB_F_ENCRYPTED)
		return enc_key ? 0 : -ENOKEY;
	/*
	 * A plaintext blob in an encrypted repository was not written by
	 * us: treat it like a failed tag, never trust it.
	 */
	return enc_key ? -EKEYREJECTED : 0;
}

/* Steps 1-4 of the decoding order but the tag, shared by both decoders:
 * the header checked, the key rules, and the version the caller can
 * decode (delta: only a delta blob; else: anything but one, which needs
 * its base: blob_decode_delta). */
static int blob_open_hdr(const uint8_t *p, size_t len, struct blob_hdr *h,
			 const uint8_t *enc_key, const uint8_t *ad_id,
			 int delta)
{
	int r;

	if (enc_key && !ad_id)
		return -EINVAL;
	r = blob_check(p, len, h);
	if (r == 0)
		r = blob_key_ok(h, enc_key);
	if (r == 0 && (h->version == BLOB_VERSION_DELTA) != !!delta)
		r = -ENOMSG;
	return r;
}

/* header (with a delta's base id) || ad_id: what the AEAD tag
 * authenticates besides the payload; returns its length. */
static size_t blob_ad(uint8_t ad[BLOB_AD_MAX], const uint8_t *hdr,
		      size_t hsize, const uint8_t *ad_id)
{
	memcpy(ad, hdr, hsize);
	memcpy(ad + hsize, ad_id, BLOB_ID_SIZE);
	return hsize + BLOB_ID_SIZE;
}

/* Decrypts the payload of a checked, encrypted blob into dst (h->plen
 * bytes): 0, -EKEYREJECTED or -ENOMEM. */
static int blob_unseal(const uint8_t *p, const struct blob_hdr *h,
		       const uint8_t *enc_key, const uint8_t *ad_id,
		       uint8_t *dst)
{
	const uint8_t *nonce = p + h->hsize;
	uint8_t ad[BLOB_AD_MAX];
	size_t adlen = blob_ad(ad, p, h->hsize, ad_id);

	if (sodium_init() < 0)
		return -ENOMEM;
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(dst, NULL, NULL,
			nonce + BLOB_NONCE_SIZE, h->plen + BLOB_TAG_SIZE, ad,
			adlen, nonce, enc_key) != 0)
		return -EKEYREJECTED;
	return 0;
}

/* Seals in place: hdr[0..hsize) is written, the payload of plen bytes
 * sits at hdr + hsize (+ nonce room when encrypted).  Fills the nonce,
 * encrypts, appends the checksum; returns the blob's length. */
static size_t blob_seal(uint8_t *hdr, size_t hsize, size_t plen,
			const uint8_t *enc_key, const uint8_t *ad_id)
{
	uint8_t *nonce = hdr + hsize, *payload = nonce;
	size_t end;

	if (enc_key) {
		unsigned long long clen_out;
		uint8_t ad[BLOB_AD_MAX];
		size_t adlen = blob_ad(ad, hdr, hsize, ad_id);

		payload = nonce + BLOB_NONCE_SIZE;
		randombytes_buf(nonce, BLOB_NONCE_SIZE);
		/* in place: libsodium's AEAD allows c == m */
		crypto_aead_xchacha20poly1305_ietf_encrypt(payload, &clen_out,
				payload, plen, ad, adlen, NULL, nonce, enc_key);
		plen = (size_t)clen_out;
	}
	end = (size_t)(payload + plen - hdr);
	blob_put_le64(hdr + end, XXH3_64bits(hdr, end));
	return end + BLOB_SUM_SIZE;
}

int blob_encode(struct buf *out, uint8_t type, const void *plain, size_t len,
		const uint8_t *enc_key, const uint8_t *ad_id)
{
	return blob_encode_level(out, type, plain, len, BLOB_LZ4_FAST,
				 enc_key, ad_id);
}

int blob_encode_level(struct buf *out, uint8_t type, const void *plain,
		      size_t len, int level, const uint8_t *enc_key,
		      const uint8_t *ad_id)
{
	size_t start = out->len, bound, room, plen, total;
	uint8_t *hdr, *payload, flags = 0;
	int clen = 0, r;

	if (!blob_type_ok(type) || len > BLOB_MAX_RAW || (len && !plain) ||
	    (enc_key && !ad_id) || level < BLOB_LZ4_FAST ||
	    level > BLOB_LZ4_HC_MAX)
		return -EINVAL;
	if (enc_key && sodium_init() < 0)
		return -ENOMEM;

	/* One grow up front so the pointers below stay valid. */
	bound = (size_t)LZ4_compressBound((int)len);
	room = BLOB_HEADER_SIZE + BLOB_NONCE_SIZE + (bound > len ? bound : len) +
	       BLOB_TAG_SIZE + BLOB_SUM_SIZE;
	r = buf_grow(out, room);
	if (r < 0)
		return r;
	hdr = out->data + start;
	payload = hdr + BLOB_HEADER_SIZE + (enc_key ? BLOB_NONCE_SIZE : 0);

	/* LZ4_compress_HC allocates its state itself (LZ4HC_HEAPMODE):
	 * a quarter MiB per call, small next to what HC costs */
	if (len > 0 && level == BLOB_LZ4_FAST)
		clen = LZ4_compress_default(plain, (char *)payload, (int)len,
					    (int)bound);
	else if (len > 0)
		clen = LZ4_compress_HC(plain, (char *)payload, (int)len,
				       (int)bound, level);
	if (clen > 0 && (size_t)clen < len) {
		flags |= BLOB_F_LZ4;
		plen = (size_t)clen;
	} else {
		if (len)
			memcpy(payload, plain, len);
		plen = len;
	}
	if (enc_key)
		flags |= BLOB_F_ENCRYPTED;

	hdr[0] = BLOB_VERSION;
	hdr[1] = type;
	hdr[2] = flags;
	hdr[3] = 0;
	blob_put_le32(hdr + 4, (uint32_t)len);
	total = blob_seal(hdr, BLOB_HEADER_SIZE, plen, enc_key, ad_id);
	/* the plaintext was staged in out: do not leave it past len */
	if (enc_key && room > total)
		sodium_memzero(hdr + total, room - total);
	buf_setlen(out, start + total);
	return 0;
}

int blob_encode_delta(struct buf *out, uint8_t type, const void *payload,
		      size_t plen, uint32_t raw_len,
		      const struct blob_delta *d, const uint8_t *enc_key,
		      const uint8_t *ad_id)
{
	size_t start = out->len, room, total;
	uint8_t *hdr;
	int r;

	if (type != BLOB_DATA || !d || d->depth < 1 ||
	    d->depth > BLOB_MAX_DEPTH || plen == 0 || plen >= raw_len ||
	    raw_len > BLOB_MAX_RAW || !payload || (enc_key && !ad_id))
		return -EINVAL;
	if (enc_key && sodium_init() < 0)
		return -ENOMEM;
	room = BLOB_DELTA_HEADER_SIZE + BLOB_SEAL_SIZE + plen + BLOB_SUM_SIZE;
	r = buf_grow(out, room);
	if (r < 0)
		return r;
	hdr = out->data + start;
	hdr[0] = BLOB_VERSION_DELTA;
	hdr[1] = type;
	hdr[2] = enc_key ? BLOB_F_ENCRYPTED : 0;
	hdr[3] = d->depth;
	blob_put_le32(hdr + 4, raw_len);
	memcpy(hdr + BLOB_HEADER_SIZE, d->base, BLOB_ID_SIZE);
	memcpy(hdr + BLOB_DELTA_HEADER_SIZE + (enc_key ? BLOB_NONCE_SIZE : 0),
	       payload, plen);
	total = blob_seal(hdr, BLOB_DELTA_HEADER_SIZE, plen, enc_key, ad_id);
	buf_setlen(out, start + total);
	return 0;
}

int blob_decode(struct buf *out, uint8_t *type, const void *stored,
		size_t len, const uint8_t *enc_key, const uint8_t *ad_id)
{
	const uint8_t *p = stored, *payload;
	uint8_t *tmp = NULL, *dst;
	struct blob_hdr h;
	size_t start = out->len;
	int r;

	r = blob_open_hdr(p, len, &h, enc_key, ad_id, 0);
	if (r < 0)
		return r;

	payload = p + BLOB_HEADER_SIZE;
	/* lz4 payloads of encrypted blobs are decrypted into a staging area
	 * first, so the output grows to raw_len only once the tag has
	 * proved the header; raw ones (raw_len == plen) go straight */
	if ((h.flags & BLOB_F_ENCRYPTED) && (h.flags & BLOB_F_LZ4)) {
		tmp = malloc(h.plen);
		if (!tmp)
			return -ENOMEM;
	}
	if (!tmp) {
		r = buf_grow(out, h.raw_len);
		if (r < 0)
			return r;
	}
	dst = out->data + start;

	if (h.flags & BLOB_F_ENCRYPTED) {
		r = blob_unseal(p, &h, enc_key, ad_id, tmp ? tmp : dst);
		if (r < 0)
			goto out;
		payload = tmp ? tmp : dst;
		if (tmp) {
			r = buf_grow(out, h.raw_len);
			if (r < 0)
				goto out;
			dst = out->data + start;
		}
	}

	if (h.flags & BLOB_F_LZ4) {
		int n = LZ4_decompress_safe((const char *)payload, (char *)dst,
					    (int)h.plen, (int)h.raw_len);

		if (n < 0 || (uint32_t)n != h.raw_len) {
			r = -EBADMSG;
			goto out;
		}
	} else if (!(h.flags & BLOB_F_ENCRYPTED) && h.raw_len) {
		memcpy(dst, payload, h.raw_len);
	}
	start += h.raw_len;
	if (type)
		*type = h.type;
	r = 0;
out:
	if (tmp) {
		sodium_memzero(tmp, h.plen);
		free(tmp);
	}
	/* restores the NUL terminator whatever was staged past len */
	buf_setlen(out, start);
	return r;
}

int blob_open_delta(struct buf *out, struct blob_delta *d, uint32_t *raw_len,
		    const void *stored, size_t len, const uint8_t *enc_key,
		    const uint8_t *ad_id)
{
	const uint8_t *p = stored;
	struct blob_hdr h;
	size_t start = out->len;
	int r;

	r = blob_open_hdr(p, len, &h, enc_key, ad_id, 1);
	if (r == 0)
		r = buf_grow(out, h.plen);
	if (r < 0)
		return r;
	if (h.flags & BLOB_F_ENCRYPTED)
		r = blob_unseal(p, &h, enc_key, ad_id, out->data + start);
	else
		memcpy(out->data + start, p + h.hsize, h.plen);
	if (r < 0) {
		sodium_memzero(out->data + start, h.plen);
		buf_setlen(out, start);
		return r;
	}
	buf_setlen(out, start + h.plen);
	if (d)
		blob_peek_delta(p, len, d);
	if (raw_len)
		*raw_len = h.raw_len;
	return 0;
}

int blob_decode_delta(struct buf *out, uint8_t *type, struct blob_delta *d,
		      const void *stored, size_t len, const uint8_t *enc_key,
		      const uint8_t *ad_id, const void *base, size_t blen)
{
	struct buf payload = BUF_INIT;
	struct blob_delta got;
	uint32_t raw_len = 0;
	int r = blob_open_delta(&payload, &got, &raw_len, stored, len,
				enc_key, ad_id);

	if (r == 0)
		r = delta_apply(out, base, blen, payload.data, payload.len,
				raw_len);
	if (enc_key)
		buf_wipe(&payload);
	else
		buf_release(&payload);
	if (r < 0)
		return r;
	if (type)
		*type = BLOB_DATA;
	if (d)
		*d = got;
	return 0;
}

/* ---- finding a blob whose length is lost ------------------------- */

/* 1 when p (n bytes) starts with a header blob_check could accept. */
static int blob_header_plausible(const uint8_t *p, size_t n)
{
	struct blob_hdr h;

	return blob_header_ok(p, n, &h);
}

/* The stored lengths p's header allows, capped at avail: [*lo, *hi]. */
static int blob_len_range(const uint8_t *p, size_t avail, size_t *lo,
			  size_t *hi)
{
	struct blob_hdr h;
	size_t over;

	if (!blob_header_ok(p, avail, &h))
		return -EBADMSG;
	over = h.hsize + BLOB_SUM_SIZE;
	if (h.flags & BLOB_F_ENCRYPTED)
		over += BLOB_SEAL_SIZE;
	if ((h.flags & BLOB_F_LZ4) || h.version == BLOB_VERSION_DELTA) {
		if (h.raw_len < 2)	/* 0 < payload < raw_len */
			return -EBADMSG;
		*lo = over + 1;
		*hi = over + h.raw_len - 1;
	} else {
		*lo = *hi = over + h.raw_len;
	}
	if (*hi > avail)
		*hi = avail;
	return *lo <= *hi ? 0 : -EBADMSG;
}

/* 1 when a blob may end after len bytes: nothing fits behind it, or
 * another plausible header starts there. */
static int blob_boundary(const uint8_t *p, size_t avail, size_t len)
{
	return avail - len < BLOB_MIN_SIZE ||
	       blob_header_plausible(p + len, avail - len);
}

int blob_frame_len(const void *stored, size_t avail, size_t *len)
{
	const uint8_t *p = stored;
	XXH3_state_t *st;
	size_t lo, hi, fed = 0;
	int rc = blob_len_range(p, avail, &lo, &hi);

	if (rc < 0)
		return rc;
	if (lo == hi) {
		rc = blob_verify(p, lo);
		if (rc == 0)
			*len = lo;
		return rc;
	}
	for (size_t n = lo; n <= hi; n++) {
		if (blob_boundary(p, avail, n) && blob_verify(p, n) == 0) {
			*len = n;
			return 0;
		}
	}
	/* followed by damage: every length, one running hash for all */
	st = XXH3_createState();
	if (!st)
		return -ENOMEM;
	XXH3_64bits_reset(st);
	rc = -EBADMSG;
	for (size_t n = lo; n <= hi; n++) {
		XXH3_64bits_update(st, p + fed, n - BLOB_SUM_SIZE - fed);
		fed = n - BLOB_SUM_SIZE;
		if (XXH3_64bits_digest(st) != blob_get_le64(p + fed) ||
		    blob_boundary(p, avail, n) || blob_verify(p, n) < 0)
			continue;
		*len = n;
		rc = 0;
		break;
	}
	XXH3_freeState(st);
	return rc;
}

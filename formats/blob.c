/*
 * blob: encoder and decoder of the envelope every stored chunk travels
 * in (layout in blob.h, full spec in formats/blob.md).
 *
 * Decoding always verifies before it trusts: framing and the XXH3
 * trailer first (cheap, keyless, catches bit rot), then the AEAD tag
 * over header and expected id, then lz4 into a buffer of exactly raw_len
 * bytes.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <lz4.h>
#include <sodium.h>
#include <xxhash.h>

#include "blob.h"

/* Smallest possible blob: header + checksum (an empty unencrypted one). */
#define BLOB_MIN_SIZE (BLOB_HEADER_SIZE + BLOB_SUM_SIZE)
/* AEAD additional data: the header, then the id the blob is stored under. */
#define BLOB_AD_SIZE (BLOB_HEADER_SIZE + BLOB_ID_SIZE)

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

/*
 * Checks everything that can be checked without the key and returns the
 * payload length (compressed or raw bytes, before encryption) in *plen.
 */
#define BLOB_LZ4_MAX_RATIO 255

static int blob_check(const uint8_t *p, size_t len, uint8_t *type,
		      uint8_t *flags, uint32_t *raw_len, size_t *plen)
{
	size_t body;

	if (len < BLOB_MIN_SIZE)
		return -EBADMSG;
	blob_peek(p, len, type, flags, raw_len);
	if (p[0] != BLOB_VERSION || !blob_type_ok(*type) ||
	    (*flags & ~BLOB_F_KNOWN) || p[3] != 0 || *raw_len > BLOB_MAX_RAW)
		return -EBADMSG;
	if (XXH3_64bits(p, len - BLOB_SUM_SIZE) !=
	    blob_get_le64(p + len - BLOB_SUM_SIZE))
		return -EBADMSG;

	body = len - BLOB_MIN_SIZE;
	if (*flags & BLOB_F_ENCRYPTED) {
		if (body < BLOB_NONCE_SIZE + BLOB_TAG_SIZE)
			return -EBADMSG;
		body -= BLOB_NONCE_SIZE + BLOB_TAG_SIZE;
	}
	/*
	 * The encoder only keeps lz4 when it is strictly smaller, so a
	 * canonical blob's payload length is fully determined by the flags.
	 */
	if (*flags & BLOB_F_LZ4) {
		if (body == 0 || body >= *raw_len)
			return -EBADMSG;
		/* lz4 expands at most 255 times (a length byte adds at most
		 * 255): a raw_len beyond that is a lie, and believing it would
		 * let a few bytes make the decoder allocate 32 MiB */
		if (*raw_len > (uint64_t)body * BLOB_LZ4_MAX_RATIO + 64)
			return -EBADMSG;
	} else if (body != *raw_len) {
		return -EBADMSG;
	}
	*plen = body;
	return 0;
}

int blob_verify(const void *stored, size_t len)
{
	uint8_t type, flags;
	uint32_t raw_len;
	size_t plen;

	return blob_check(stored, len, &type, &flags, &raw_len, &plen);
}

/* header || ad_id: what the AEAD tag authenticates besides the payload. */
static void blob_ad(uint8_t ad[BLOB_AD_SIZE], const uint8_t *hdr,
		    const uint8_t *ad_id)
{
	memcpy(ad, hdr, BLOB_HEADER_SIZE);
	memcpy(ad + BLOB_HEADER_SIZE, ad_id, BLOB_ID_SIZE);
}

int blob_encode(struct buf *out, uint8_t type, const void *plain, size_t len,
		const uint8_t *enc_key, const uint8_t *ad_id)
{
	size_t start = out->len, bound, room, plen;
	uint8_t *hdr, *nonce, *payload, flags = 0;
	int clen = 0, r;

	if (!blob_type_ok(type) || len > BLOB_MAX_RAW || (len && !plain) ||
	    (enc_key && !ad_id))
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
	nonce = hdr + BLOB_HEADER_SIZE;
	payload = enc_key ? nonce + BLOB_NONCE_SIZE : nonce;

	if (len > 0)
		clen = LZ4_compress_default(plain, (char *)payload, (int)len,
					    (int)bound);
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

	if (enc_key) {
		unsigned long long clen_out;
		uint8_t ad[BLOB_AD_SIZE];

		blob_ad(ad, hdr, ad_id);
		randombytes_buf(nonce, BLOB_NONCE_SIZE);
		/* in place: libsodium's AEAD allows c == m */
		crypto_aead_xchacha20poly1305_ietf_encrypt(payload, &clen_out,
				payload, plen, ad, sizeof(ad), NULL, nonce,
				enc_key);
		plen = (size_t)clen_out;
	}
	plen = (size_t)(payload + plen - hdr);
	blob_put_le64(hdr + plen, XXH3_64bits(hdr, plen));
	/* the plaintext was staged in out: do not leave it past len */
	if (enc_key && room > plen + BLOB_SUM_SIZE)
		sodium_memzero(hdr + plen + BLOB_SUM_SIZE,
			       room - plen - BLOB_SUM_SIZE);
	buf_setlen(out, start + plen + BLOB_SUM_SIZE);
	return 0;
}

int blob_decode(struct buf *out, uint8_t *type, const void *stored,
		size_t len, const uint8_t *enc_key, const uint8_t *ad_id)
{
	const uint8_t *p = stored, *payload;
	uint8_t t, flags, *tmp = NULL, *dst;
	uint32_t raw_len;
	size_t plen, start = out->len;
	int r;

	if (enc_key && !ad_id)
		return -EINVAL;
	r = blob_check(p, len, &t, &flags, &raw_len, &plen);
	if (r < 0)
		return r;
	if (flags & BLOB_F_ENCRYPTED) {
		if (!enc_key)
			return -ENOKEY;
	} else if (enc_key) {
		/*
		 * A plaintext blob in an encrypted repository was not
		 * written by us: treat it like a failed tag, never trust it.
		 */
		return -EKEYREJECTED;
	}

	payload = p + BLOB_HEADER_SIZE;
	/* lz4 payloads of encrypted blobs are decrypted into a staging area
	 * first, so the output grows to raw_len only once the tag has
	 * proved the header; raw ones (raw_len == plen) go straight */
	if ((flags & BLOB_F_ENCRYPTED) && (flags & BLOB_F_LZ4)) {
		tmp = malloc(plen);
		if (!tmp)
			return -ENOMEM;
	}
	if (!tmp) {
		r = buf_grow(out, raw_len);
		if (r < 0)
			return r;
	}
	dst = out->data + start;

	if (flags & BLOB_F_ENCRYPTED) {
		const uint8_t *nonce = payload;
		uint8_t ad[BLOB_AD_SIZE];

		blob_ad(ad, p, ad_id);
		if (sodium_init() < 0) {
			r = -ENOMEM;
			goto out;
		}
		if (crypto_aead_xchacha20poly1305_ietf_decrypt(
				tmp ? tmp : dst, NULL, NULL,
				nonce + BLOB_NONCE_SIZE,
				plen + BLOB_TAG_SIZE, ad, sizeof(ad),
				nonce, enc_key) != 0) {
			r = -EKEYREJECTED;
			goto out;
		}
		payload = tmp ? tmp : dst;
		if (tmp) {
			r = buf_grow(out, raw_len);
			if (r < 0)
				goto out;
			dst = out->data + start;
		}
	}

	if (flags & BLOB_F_LZ4) {
		int n = LZ4_decompress_safe((const char *)payload, (char *)dst,
					    (int)plen, (int)raw_len);

		if (n < 0 || (uint32_t)n != raw_len) {
			r = -EBADMSG;
			goto out;
		}
	} else if (!(flags & BLOB_F_ENCRYPTED) && raw_len) {
		memcpy(dst, payload, raw_len);
	}
	start += raw_len;
	if (type)
		*type = t;
	r = 0;
out:
	if (tmp) {
		sodium_memzero(tmp, plen);
		free(tmp);
	}
	/* restores the NUL terminator whatever was staged past len */
	buf_setlen(out, start);
	return r;
}

/* ---- finding a blob whose length is lost ------------------------- */

/* 1 when p (n bytes) starts with a header blob_check could accept. */
static int blob_header_plausible(const uint8_t *p, size_t n)
{
	uint8_t type = 0, flags = 0;
	uint32_t raw_len = 0;

	if (n < BLOB_HEADER_SIZE)
		return 0;
	blob_peek(p, n, &type, &flags, &raw_len);
	return p[0] == BLOB_VERSION && blob_type_ok(type) &&
	       !(flags & ~BLOB_F_KNOWN) && p[3] == 0 && raw_len <= BLOB_MAX_RAW;
}

/* The stored lengths p's header allows, capped at avail: [*lo, *hi]. */
static int blob_len_range(const uint8_t *p, size_t avail, size_t *lo,
			  size_t *hi)
{
	size_t over = BLOB_MIN_SIZE;
	uint8_t type = 0, flags = 0;
	uint32_t raw_len = 0;

	if (!blob_header_plausible(p, avail))
		return -EBADMSG;
	blob_peek(p, avail, &type, &flags, &raw_len);
	if (flags & BLOB_F_ENCRYPTED)
		over += BLOB_NONCE_SIZE + BLOB_TAG_SIZE;
	if (flags & BLOB_F_LZ4) {
		if (raw_len < 2)	/* 0 < payload < raw_len */
			return -EBADMSG;
		*lo = over + 1;
		*hi = over + raw_len - 1;
	} else {
		*lo = *hi = over + raw_len;
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

/*
 * blob: the envelope every stored chunk travels in (spec: formats/blob.md).
 *
 *   header (8 bytes):
 *     u8 version (1) | u8 type | u8 flags | u8 reserved (0) | le32 raw_len
 *   version 2, a delta blob (header 40 bytes):
 *     u8 version (2) | u8 type (1) | u8 flags | u8 depth (1..8) |
 *     le32 raw_len | 32-byte base id; the payload is a delta payload
 *     (formats/delta.h) to apply to the base's plaintext
 *   body:
 *     flags & BLOB_F_ENCRYPTED: 24-byte nonce, then XChaCha20-Poly1305
 *       ciphertext (+16-byte tag) of the payload; additional data: the
 *       header, then the 32-byte id the blob is stored under
 *     otherwise: the payload
 *   payload: lz4 block (flags & BLOB_F_LZ4) or the raw bytes
 *   trailer: le64 XXH3-64 of every preceding stored byte
 *
 * The checksum lets `vault check` find bit rot without the key.  The
 * AEAD tag catches tampering, and because it covers the id too, a blob
 * that decrypts under id X is the blob a key holder stored as X: readers
 * of encrypted repositories need not re-hash the plaintext.  Unencrypted
 * blobs carry no id; there only the keyed chunk id (re-hashed above this
 * layer) catches a swapped blob.
 */
#ifndef VAULT_BLOB_H
#define VAULT_BLOB_H

#include <stddef.h>
#include <stdint.h>
#include "buf.h"

enum blob_type {
	BLOB_DATA = 1,		/* a chunk of a file / stream */
	BLOB_MANIFEST = 2,	/* a chunk of a manifest stream */
	BLOB_SNAPSHOT = 3,	/* a snapshot record (formats/snapshot.h) */
	BLOB_TRAILER = 4,	/* a pack trailer (only inside pack files) */
	BLOB_TOMBSTONE = 5,	/* a list of forgotten snapshot ids */
};

#define BLOB_F_LZ4		0x01
#define BLOB_F_ENCRYPTED	0x02
#define BLOB_F_KNOWN		0x03	/* other bits set: -EBADMSG */

#define BLOB_VERSION		1
#define BLOB_VERSION_DELTA	2
#define BLOB_HEADER_SIZE	8
#define BLOB_DELTA_HEADER_SIZE	40	/* version 2: header + base id */
#define BLOB_MAX_DEPTH		8	/* deltas between a chunk and a full one */
#define BLOB_NONCE_SIZE		24
#define BLOB_TAG_SIZE		16
#define BLOB_SUM_SIZE		8
#define BLOB_MAX_RAW		(32u << 20)	/* decoders refuse larger */
#define BLOB_KEY_SIZE		32
#define BLOB_ID_SIZE		32	/* the ad_id bound into the AEAD */

/*
 * Appends the stored form of plain[0..len) to out.  enc_key is the
 * 32-byte data key, or NULL for an unencrypted repository.  ad_id is
 * the BLOB_ID_SIZE-byte id the blob is stored under (its chunk id; for
 * a pack trailer the pack name), bound into the AEAD additional data:
 * required with enc_key, ignored (may be NULL) without.  lz4 is tried
 * and dropped when it does not make the payload smaller.
 * Returns 0, -EINVAL (len > BLOB_MAX_RAW, bad type, enc_key without
 * ad_id) or -ENOMEM.
 */
int blob_encode(struct buf *out, uint8_t type, const void *plain, size_t len,
		const uint8_t *enc_key, const uint8_t *ad_id);

/*
 * lz4 effort for blob_encode_level: BLOB_LZ4_FAST is lz4's default
 * compressor (what blob_encode uses); 1..BLOB_LZ4_HC_MAX are LZ4 HC
 * levels (lz4hc.h), slower to write and smaller.  Both produce the same
 * lz4 block format, so decoding does not know or care which was used.
 */
#define BLOB_LZ4_FAST		0
#define BLOB_LZ4_HC_MAX		12

/*
 * blob_encode with a chosen lz4 effort (level, as above).  Returns as
 * blob_encode; -EINVAL also for a level out of 0..BLOB_LZ4_HC_MAX.
 */
int blob_encode_level(struct buf *out, uint8_t type, const void *plain,
		      size_t len, int level, const uint8_t *enc_key,
		      const uint8_t *ad_id);

/*
 * Verifies framing and the XXH3 checksum only (no key needed), of
 * either version.  Returns 0 or -EBADMSG.
 */
int blob_verify(const void *stored, size_t len);

/*
 * Checks, decrypts and decompresses a stored blob, appending the plaintext
 * to out.  *type (may be NULL) gets the type.  ad_id is the id the caller
 * expects the blob to be stored under, as in blob_encode (required with
 * enc_key).  Returns 0; -EBADMSG for any malformed, truncated or
 * checksum-failing input; -EKEYREJECTED when the AEAD tag does not verify
 * (wrong key, wrong ad_id or tampering); -ENOKEY when the blob is
 * encrypted and enc_key is NULL; -EINVAL for enc_key without ad_id;
 * -ENOMSG for a well-framed delta blob (blob_decode_delta decodes it);
 * -ENOMEM.
 */
int blob_decode(struct buf *out, uint8_t *type, const void *stored,
		size_t len, const uint8_t *enc_key, const uint8_t *ad_id);

/* Reads the header fields without verifying; 0 or -EBADMSG. */
int blob_peek(const void *stored, size_t len, uint8_t *type, uint8_t *flags,
	      uint32_t *raw_len);

/* ---- delta blobs (version 2) ------------------------------------------
 * A data chunk stored as a delta against another chunk, its base.  The
 * blob names the base's id and its depth (1..BLOB_MAX_DEPTH: the base
 * has depth - 1, 0 being a full chunk); both are authenticated with the
 * payload.  blob_decode refuses such a blob with -ENOMSG (after the
 * framing, checksum and key checks): it cannot be decoded alone.
 */
struct blob_delta {
	uint8_t base[BLOB_ID_SIZE];
	uint8_t depth;
};

/*
 * Reads a blob's version without verifying anything: 1 with *d filled
 * for a delta blob (d may be NULL), 0 for a version-1 blob, -EBADMSG
 * when len is too short for its header or the version is unknown.
 * Enough bytes: BLOB_DELTA_HEADER_SIZE (fewer do for version 1).
 */
int blob_peek_delta(const void *stored, size_t len, struct blob_delta *d);

/*
 * Appends a delta blob whose payload (delta_encode's output) rebuilds
 * a plaintext of raw_len bytes from the base d->base.  type must be
 * BLOB_DATA; keys as for blob_encode.  The payload is stored as it is
 * (it is lz4 already).  Returns 0; -EINVAL (another type, depth not
 * 1..BLOB_MAX_DEPTH, plen 0 or not below raw_len, raw_len over
 * BLOB_MAX_RAW, enc_key without ad_id), -ENOMEM.
 */
int blob_encode_delta(struct buf *out, uint8_t type, const void *payload,
		      size_t plen, uint32_t raw_len,
		      const struct blob_delta *d, const uint8_t *enc_key,
		      const uint8_t *ad_id);

/*
 * Checks and decrypts a delta blob, appending its payload (not the
 * plaintext) to out and filling *d and *raw_len (each may be NULL):
 * what salvage needs to prove a blob's id without its base.  Errors as
 * blob_decode; -ENOMSG for a version-1 blob.
 */
int blob_open_delta(struct buf *out, struct blob_delta *d, uint32_t *raw_len,
		    const void *stored, size_t len, const uint8_t *enc_key,
		    const uint8_t *ad_id);

/*
 * Decodes a delta blob against its base's plaintext base[0..blen),
 * appending the plaintext (exactly raw_len bytes) to out; *type and *d
 * (may be NULL) get the type and the base id and depth the blob names,
 * which the caller compares with what it expected.  Errors as
 * blob_decode, and -EBADMSG when the payload does not apply to this
 * base; -ENOMSG for a version-1 blob.  On error out keeps what it held.
 */
int blob_decode_delta(struct buf *out, uint8_t *type, struct blob_delta *d,
		      const void *stored, size_t len, const uint8_t *enc_key,
		      const uint8_t *ad_id, const void *base, size_t blen);

/*
 * Finds the stored length of a blob that starts at p, when nothing else
 * records it (salvaging a pack whose trailer is lost): some length the
 * header allows (exact without lz4, any shorter one with it) must pass
 * blob_verify.  Lengths after which fewer than 16 bytes remain or another
 * plausible blob header starts are tried first, then every other one, so
 * blobs packed back to back cost one hash each.  avail is how many bytes
 * may be read from p.  0 with *len set, or -EBADMSG when no intact blob
 * starts at p; -ENOMEM.
 */
int blob_frame_len(const void *p, size_t avail, size_t *len);

#endif

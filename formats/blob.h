/*
 * blob: the envelope every stored chunk travels in (spec: formats/blob.md).
 *
 *   header (8 bytes):
 *     u8 version (1) | u8 type | u8 flags | u8 reserved (0) | le32 raw_len
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
#define BLOB_HEADER_SIZE	8
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
 * Verifies framing and the XXH3 checksum only (no key needed).
 * Returns 0 or -EBADMSG.
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
 * -ENOMEM.
 */
int blob_decode(struct buf *out, uint8_t *type, const void *stored,
		size_t len, const uint8_t *enc_key, const uint8_t *ad_id);

/* Reads the header fields without verifying; 0 or -EBADMSG. */
int blob_peek(const void *stored, size_t len, uint8_t *type, uint8_t *flags,
	      uint32_t *raw_len);

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

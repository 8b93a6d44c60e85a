/*
 * pack: the layout of a pack file (spec: formats/pack.md).
 *
 *   header:  8 bytes magic "VAULTPK\n" | le32 version (1) | le32 0
 *   blobs:   stored blobs (formats/blob.h) back to back
 *   trailer: one stored blob of type BLOB_TRAILER whose plaintext is
 *              le32 count, then per blob:
 *              32-byte id | le64 offset | le32 length | u8 type | le32 raw_len
 *            (encrypted like every blob in an encrypted repository,
 *            with the pack's name as the blob's bound id)
 *   footer:  le32 trailer length | 8 bytes magic "VAULTPKE"
 *
 * The trailer makes every pack self-describing, so the index can be
 * rebuilt from packs alone.
 */
#ifndef VAULT_PACK_H
#define VAULT_PACK_H

#include <stddef.h>
#include <stdint.h>
#include "buf.h"

#define PACK_MAGIC		"VAULTPK\n"
#define PACK_END_MAGIC		"VAULTPKE"
#define PACK_VERSION		1
#define PACK_HEADER_SIZE	16
#define PACK_FOOTER_SIZE	12
#define PACK_ID_SIZE		32
#define PACK_ENTRY_SIZE		(32 + 8 + 4 + 1 + 4)
#define PACK_MAX_ENTRIES	(1u << 20)

struct pack_entry {
	uint8_t id[PACK_ID_SIZE];
	uint64_t offset;	/* of the stored blob, from the file start */
	uint32_t length;	/* stored length */
	uint8_t type;		/* enum blob_type */
	uint32_t raw_len;	/* plaintext length */
};

/* Appends the 16-byte header to out. */
int pack_header_encode(struct buf *out);
/* 0 or -EBADMSG (bad magic, unknown version, short). */
int pack_header_decode(const void *p, size_t len);

/*
 * Appends trailer blob + footer for entries[0..n) to out.  enc_key as in
 * blob_encode; name is the pack's PACK_ID_SIZE-byte name (the hex of its
 * file name), the trailer blob's ad_id: required with enc_key, so a
 * trailer cannot be passed off as another pack's.
 * Returns 0, -EINVAL or -ENOMEM.
 */
int pack_trailer_encode(struct buf *out, const struct pack_entry *entries,
			size_t n, const uint8_t *enc_key, const uint8_t *name);

/*
 * Parses the footer (the last PACK_FOOTER_SIZE bytes of a file of size
 * file_size) and returns the trailer's offset and length.
 * 0 or -EBADMSG (also when the trailer would not fit in the file).
 */
int pack_footer_decode(const void *footer, size_t len, uint64_t file_size,
		       uint64_t *trailer_off, uint32_t *trailer_len);

/*
 * Decodes a trailer blob of the pack called name (as in
 * pack_trailer_encode).  On success *entries is a malloc'ed array of *n
 * entries (caller frees), each checked to lie within
 * [PACK_HEADER_SIZE, trailer_off) and not to overlap its predecessor.
 * Errors as blob_decode (-EKEYREJECTED also for another pack's trailer),
 * plus -EBADMSG for an inconsistent table.
 */
int pack_trailer_decode(const void *trailer, size_t len, uint64_t trailer_off,
			const uint8_t *enc_key, const uint8_t *name,
			struct pack_entry **entries, size_t *n);

#endif

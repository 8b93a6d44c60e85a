/*
 * delta: the payload of a delta blob (spec: formats/blob.md, "Delta
 * blobs"): a chunk encoded against the plaintext of another chunk, its
 * base, as lz4 blocks that use windows of the base as their dictionary.
 *
 *   per block of DELTA_BLOCK plaintext bytes (the last one shorter):
 *     le32 dict_off | le32 dict_len | le32 comp_len | comp_len bytes
 *   the lz4 block decodes, with base[dict_off, dict_off + dict_len) as
 *   its dictionary, to exactly the block's length.
 *
 * lz4 reaches back at most 64 KiB, so a whole base cannot serve as the
 * dictionary of a long chunk; each block gets the window of the base
 * around the place its bytes are expected to be (the encoder's `align`).
 * Pure codec: no I/O, no keys (the blob envelope, blob.h, carries the
 * base's id, the chain depth and the encryption).
 */
#ifndef VAULT_DELTA_H
#define VAULT_DELTA_H

#include <stddef.h>
#include <stdint.h>
#include "buf.h"

#define DELTA_BLOCK		(32u << 10)	/* plaintext bytes a block */
#define DELTA_WINDOW		(64u << 10)	/* most dictionary bytes */
#define DELTA_BLOCK_HEAD	12		/* dict_off, dict_len, comp_len */

/*
 * Appends to out the delta payload of plain[0..len) against
 * base[0..blen).  align is where in the base the encoder expects
 * plain's first byte (negative or past the end is fine: the windows are
 * clipped to the base).  Returns 0, -EINVAL (len 0 or over 4 GiB, a
 * base over 4 GiB), -ENOMEM.
 */
int delta_encode(struct buf *out, const void *base, size_t blen,
		 const void *plain, size_t len, int64_t align);
/* The same with lz4 effort `level`, as blob_encode_level takes it: 0
 * lz4's default compressor, 1..12 LZ4 HC; the payload decodes the same
 * way.  -EINVAL also for a level out of range. */
int delta_encode_level(struct buf *out, const void *base, size_t blen,
		       const void *plain, size_t len, int64_t align, int level);

/*
 * Decodes payload[0..plen) against base[0..blen), appending exactly
 * raw_len bytes to out.  Strict: every block header in range, each lz4
 * block decoding to exactly its length, nothing left over.  raw_len is
 * believed only up to what lz4 can make of plen bytes (255 * plen +
 * 64), so hostile input cannot make it allocate more.  Returns 0,
 * -EBADMSG (malformed, truncated, trailing bytes, a window outside the
 * base, raw_len 0 or beyond that bound), -ENOMEM.  On error out keeps
 * what it held.
 */
int delta_apply(struct buf *out, const void *base, size_t blen,
		const void *payload, size_t plen, uint32_t raw_len);

#endif

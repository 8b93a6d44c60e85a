/*
 * salvage: the intact blobs of a pack whose header, footer or trailer
 * does not decode (a truncated or damaged file), for rebuild-index.
 *
 * The file is scanned from the end of its header: each blob's length
 * comes from its own framing (blob_frame_len), and past a damaged one
 * the scan moves on byte by byte to the next intact blob.  A blob is
 * kept only with its id, verified: listed by a trailer the scan found
 * (it decodes only as this pack's), listed by the caller's hints (the
 * old index's rows for the pack), or, in an unencrypted repository,
 * computed as the keyed hash of its plaintext.  Every kept blob decodes
 * under its id, with its listed type and length.
 */
#ifndef VAULT_SALVAGE_H
#define VAULT_SALVAGE_H

#include <stddef.h>
#include <stdint.h>
#include "buf.h"
#include "pack.h"

struct repo;

struct salvage {
	struct pack_entry *e;		/* intact blobs, by offset */
	size_t n;
	struct pack_entry *lost;	/* listed, but not intact */
	size_t nlost;
	size_t unnamed;		/* intact blobs whose id nothing gives
				 * (encrypted, no trailer, no hint) */
	uint64_t size;		/* of the file */
	int trailer;		/* the scan found the pack's trailer */
};

/*
 * Scans pack `name` (packs/xx/<hex>.pack).  hints (may be NULL) are
 * entries believed to be in it.  0 with *s filled (release it), or
 * -errno when the file cannot be read (err names it): -ENOENT, -EIO,
 * -ENOMEM...
 */
int salvage_pack(struct repo *r, const uint8_t name[PACK_ID_SIZE],
		 const struct pack_entry *hints, size_t nhints,
		 struct salvage *s, struct buf *err);
/* Frees the arrays; NULL-safe. */
void salvage_release(struct salvage *s);

#endif

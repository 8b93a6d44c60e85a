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
 *
 * In an encrypted repository whose pack lost its trailer and has no
 * hints, an intact blob's id cannot be learnt from the blob: it is
 * returned unnamed, and a pool of such blobs lets rebuild-index name
 * them by the ids the snapshots reference (a blob that decrypts under
 * an id is the blob stored as that id).
 *
 * Delta blobs (formats/blob.md): a listed one is kept once its AEAD
 * proves its id (encrypted) or its framing holds (unencrypted: readers
 * hash its chain); an unlisted one cannot be hashed without its base,
 * so it is unnamed in both kinds of repository, and the pool names it
 * by authenticating it under the wanted id (encrypted) or by decoding
 * it against its base, which must be indexed by then, and hashing it.
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
	struct pack_entry *unnamed;	/* intact blobs whose id nothing
					 * gives (encrypted, no trailer, no
					 * hint): id unset, by offset */
	size_t nunnamed;
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

/* Unnamed blobs of damaged packs, waiting for an id. */
struct salvage_pool;
/* Adds the unnamed blobs e[0..n) of pack `name` (pid: its row in the
 * index being built), creating the pool on first use. */
int salvage_pool_add(struct salvage_pool **pool, const uint8_t name[32],
		     int64_t pid, const struct pack_entry *e, size_t n);
/*
 * Looks for an unnamed blob of this type and plaintext length (any
 * length: READER_ANY_LEN) that decodes under id; a delta's base is
 * looked up in ix.  1 with *pid, pack (its name), *e (id set) and *d
 * (depth 0 for a whole blob, else its link) when one is found now, 0
 * when none is (or one was already found for id), <0 on error.
 */
struct blob_delta;
struct index;
int salvage_pool_claim(struct salvage_pool *pool, struct repo *r,
		       struct index *ix, const uint8_t id[32], uint8_t type,
		       uint32_t raw_len, int64_t *pid, uint8_t pack[32],
		       struct pack_entry *e, struct blob_delta *d);
/* How many blobs of pack pid were added, how many claimed, and how
 * many snapshot records among those never claimed (lost snapshots). */
void salvage_pool_counts(const struct salvage_pool *pool, int64_t pid,
			 size_t *added, size_t *claimed, size_t *records);
/* NULL-safe. */
void salvage_pool_free(struct salvage_pool *pool);

#endif

/*
 * chain: reading chunks stored as deltas (formats/blob.md, "Delta
 * blobs"; design in doc/design.md, "Chains").
 *
 * A delta's base may be a delta too, down to a full chunk at most
 * CHAIN_MAX_LINKS - 1 deltas away.  Reading one is two steps:
 *   chain_resolve  on the thread that owns the index connection: the
 *                  chunk's row, its base's, ... down to the full chunk
 *                  (the index records each delta's base and depth);
 *   chain_load     on any thread: the full chunk first, then each delta
 *                  applied to the plaintext below it, every blob checked
 *                  against the link the index recorded and verified as
 *                  reader_load verifies a whole chunk.
 * Memory: the output, one scratch plaintext and one stored blob, however
 * long the chain, plus an optional small cache of base plaintexts that
 * the threads of one reader share.
 *
 * Also here, because it reads packs: the links of a pack's delta blobs,
 * from their headers, for the index (the pack trailer does not hold
 * them).
 */
#ifndef VAULT_CHAIN_H
#define VAULT_CHAIN_H

#include <stddef.h>
#include <stdint.h>
#include "buf.h"
#include "index.h"
#include "pack.h"

struct repo;

#define CHAIN_MAX_LINKS		(INDEX_MAX_DEPTH + 1)
#define CHAIN_CACHE_ENTRIES	8
/* Plaintexts larger than this are not cached (deltas only happen for
 * chunks up to this size anyway, see writer-delta.c). */
#define CHAIN_CACHE_MAX		(1u << 20)

struct chain_link {
	uint8_t id[INDEX_ID_SIZE];
	struct index_loc loc;
};

/*
 * Resolves id's chain in ix: links[0] is id (at *loc when loc is not
 * NULL, else looked up), links[k + 1] the base of links[k], down to a
 * full chunk.  1 with *n set; 0 when id is not indexed; -EBADMSG (err
 * names the chunks) when a base is not indexed, is not a data chunk, or
 * the depths do not count down by one; other negative errno.
 */
int chain_resolve(struct index *ix, const uint8_t id[INDEX_ID_SIZE],
		  const struct index_loc *loc, struct chain_link *links,
		  size_t *n, struct buf *err);

/* A small LRU of base plaintexts, safe to share between threads. */
struct chain_cache;
int chain_cache_new(struct chain_cache **c);
void chain_cache_free(struct chain_cache *c);	/* NULL-safe */

/*
 * Reads and verifies links[0]'s plaintext into plain (reset) by
 * decoding links[n - 1] .. links[0] (a full chunk when n == 1).  Each
 * delta blob must name the base and depth of its link; each plaintext
 * must have its link's length and, unencrypted or with rehash, hash to
 * its id.  cache (may be NULL) is where decoding starts when it holds a
 * link, and gets links[1]'s plaintext.  stored and tmp are scratch.
 * 0, or -EBADMSG with err naming the pack and blob, or other -errno.
 */
int chain_load(struct repo *r, struct chain_cache *cache,
	       const struct chain_link *links, size_t n, int rehash,
	       struct buf *stored, struct buf *tmp, struct buf *plain,
	       struct buf *err);

/*
 * Adds to ix the link of every delta among the data blobs e[0..n) of
 * pack `name` (already indexed there), reading each data blob's header
 * and verifying the whole blob of each delta (they are small).  A delta
 * blob that does not verify gets no link (a read of it then fails as
 * damage).  0 or -errno (err names the pack).
 */
int chain_links_scan(struct repo *r, struct index *ix,
		     const uint8_t name[PACK_ID_SIZE],
		     const struct pack_entry *e, size_t n, struct buf *err);

#endif

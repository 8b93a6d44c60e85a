/*
 * reader: reading blobs back out of packs, for repo_iter_* (iter.c)
 * and for check, prune and rebuild-index.
 *
 * Every chunk read is verified: the blob envelope (checksum, AEAD tag
 * over header and chunk id), the keyed hash of the plaintext against the
 * chunk id where the AEAD does not already prove it (unencrypted
 * repositories, or when asked), and the length against what the referrer
 * expects.  Any mismatch is -EBADMSG with err naming the pack and the
 * blob.
 */
#ifndef VAULT_READER_H
#define VAULT_READER_H

#include <stddef.h>
#include <stdint.h>
#include "buf.h"
#include "index.h"
#include "manifest.h"
#include "pack.h"
#include "snaprec.h"

struct repo;
struct reader_cache;

/* A small LRU of open pack descriptors, shared by threads. */
int reader_cache_new(struct reader_cache **c);
void reader_cache_free(struct reader_cache *c);
/* Closes every descriptor not in use (after prune deleted packs). */
void reader_cache_flush(struct reader_cache *c);

/* Reads loc->length stored bytes at loc->offset into stored (reset). */
int reader_stored(struct repo *r, const struct index_loc *loc,
		  struct buf *stored, struct buf *err);
/*
 * Reads, decodes and verifies one blob: plain (reset) gets the
 * plaintext, which must be the chunk id (decrypting with id bound in
 * the AEAD, or else by its keyed hash) and whose length must be
 * loc->raw_len.  stored is scratch.  Thread-safe.
 */
int reader_load(struct repo *r, const struct index_loc *loc,
		const uint8_t id[32], struct buf *stored, struct buf *plain,
		struct buf *err);
/* reader_load that recomputes the keyed hash even when the AEAD already
 * proves the id (check --read-data: defence in depth). */
int reader_load_rehash(struct repo *r, const struct index_loc *loc,
		       const uint8_t id[32], struct buf *stored,
		       struct buf *plain, struct buf *err);
/* Looks id up in ix, then reader_load; len is the plaintext length the
 * referrer expects (READER_ANY_LEN: any).  -ENOENT when not indexed. */
#define READER_ANY_LEN UINT32_MAX
int reader_chunk(struct repo *r, struct index *ix, const uint8_t id[32],
		 uint32_t len, struct buf *stored, struct buf *plain,
		 struct buf *err);

/* Opens pack name read-only: a descriptor (caller closes), with path
 * (reset) and *size set, or -errno with err naming the file. */
int reader_pack_open(struct repo *r, const uint8_t name[32],
		     struct buf *path, uint64_t *size, struct buf *err);
/*
 * Reads and decodes a pack's trailer.  *e (malloc'ed, caller frees) gets
 * *n entries, *size the file size.  -ENOENT when the file is missing,
 * -EBADMSG when header, footer or trailer do not decode.
 */
int reader_pack_trailer(struct repo *r, const uint8_t name[32],
			struct pack_entry **e, size_t *n, uint64_t *size,
			struct buf *err);

/* Loads and decodes the snapshot record with id snap. */
int reader_snaprec(struct repo *r, struct index *ix, const uint8_t snap[32],
		   struct snaprec *rec, struct buf *err);

/*
 * A snapshot's manifest, decoded as a stream: manifest chunks are pulled
 * one at a time, so memory stays at one chunk whatever the size.
 */
struct reader_manifest;
int reader_manifest_open(struct reader_manifest **m, struct repo *r,
			 struct index *ix, const uint8_t snap[32],
			 struct buf *err);
void reader_manifest_free(struct reader_manifest *m);
const struct snaprec *reader_manifest_rec(const struct reader_manifest *m);
/* As manifest_dec_next / manifest_dec_chunk, with err filled. */
int reader_manifest_next(struct reader_manifest *m, struct manifest_entry *e,
			 struct buf *err);
int reader_manifest_chunk(struct reader_manifest *m, struct manifest_chunk *c,
			  struct buf *err);

#endif

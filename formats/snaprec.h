/*
 * snaprec: the snapshot record (plaintext of a BLOB_SNAPSHOT blob) and
 * the tombstone (plaintext of a BLOB_TOMBSTONE blob).  Spec:
 * formats/snapshot.md.
 *
 * The snapshot id is the chunk id (keyed BLAKE2b-256) of the encoded
 * record, so it is computed by the store, not here.
 *
 * Record: "VAULTSN1" then varint-framed fields:
 *   le64 time (unix seconds, UTC) | bytes hostname | bytes source |
 *   varint ntags, bytes tag... | varint entries | varint bytes_read |
 *   varint bytes_added | varint bytes_stored | bytes meta_json |
 *   varint nmanifest, then per manifest chunk: 32-byte id, le32 len
 *   (the chunks of the manifest stream, in order)
 * Tombstone: "VAULTTB1" | varint n | n x 32-byte snapshot id.
 * Both end with le64 XXH3-64 of every preceding byte, so a damaged
 * record is rejected on its own (not only by the blob around it).
 */
#ifndef VAULT_SNAPREC_H
#define VAULT_SNAPREC_H

#include <stddef.h>
#include <stdint.h>
#include "buf.h"

#define SNAPREC_MAX_TAGS	256
#define SNAPREC_MAX_STR		65536
#define SNAPREC_MAX_META	(16u << 20)
#define SNAPREC_MAX_MANIFEST	(4u << 20)	/* manifest chunks */

struct snaprec_chunk {
	uint8_t id[32];
	uint32_t len;
};

struct snaprec {
	int64_t time;
	char *hostname;
	char *source;		/* password already masked by the caller */
	char **tags;
	size_t ntags;
	uint64_t entries, bytes_read, bytes_added, bytes_stored;
	char *meta_json;	/* free-form JSON object, "" or "{}" if none */
	struct snaprec_chunk *manifest;
	size_t nmanifest;
};

/* Frees members; NULL-safe. */
void snaprec_release(struct snaprec *s);
int snaprec_encode(struct buf *out, const struct snaprec *s);
/* 0 or -EBADMSG / -ENOMEM; on error *s is released. */
int snaprec_decode(struct snaprec *s, const void *p, size_t len);

int tombstone_encode(struct buf *out, const uint8_t (*ids)[32], size_t n);
/* *ids malloc'ed (caller frees). */
int tombstone_decode(const void *p, size_t len, uint8_t (**ids)[32],
		     size_t *n);

#endif

/*
 * packer: writes one pack file.  Blobs are appended to tmp/<name>.pack;
 * packer_finish adds the trailer and footer, fsyncs, renames the file to
 * packs/xx/<name>.pack and fsyncs the directories, after which (and only
 * then) its rows may be committed to the index.
 *
 * Not thread-safe: the writer serializes calls with its mutex (only
 * packer_finish of a detached pack runs unlocked).
 */
#ifndef VAULT_PACKER_H
#define VAULT_PACKER_H

#include <stddef.h>
#include <stdint.h>
#include "buf.h"
#include "pack.h"

struct repo;
struct index;
struct packer;

/* Blobs per pack, far below PACK_MAX_ENTRIES: bounds the trailer and
 * the in-memory table of a pack made of tiny chunks. */
#define PACKER_MAX_BLOBS 65536

/* Creates tmp/<random name>.pack with its header. */
int packer_new(struct packer **p, struct repo *r, struct buf *err);
/* Unlinks the temporary file unless finished.  NULL-safe. */
void packer_free(struct packer *p);

/* Appends a stored blob (already encoded by blob_encode). */
int packer_add(struct packer *p, const uint8_t id[32], uint8_t type,
	       uint32_t raw_len, const void *stored, size_t len,
	       struct buf *err);
/* 1 when a blob with this id was added. */
int packer_contains(const struct packer *p, const uint8_t id[32]);
/* 1 once the pack reached the target size or blob count. */
int packer_full(const struct packer *p);
size_t packer_count(const struct packer *p);
uint64_t packer_size(const struct packer *p);
const uint8_t *packer_name(const struct packer *p);

/* Trailer, footer, fsync, rename into place, fsync directories. */
int packer_finish(struct packer *p, struct buf *err);
/* Adds the finished pack's rows to ix, with the links of its delta
 * blobs (no transaction of its own). */
int packer_index(struct packer *p, struct index *ix, unsigned flags,
		 struct buf *err);
/* packer_index in its own transaction. */
int packer_commit(struct packer *p, struct index *ix, unsigned flags,
		  struct buf *err);

#endif

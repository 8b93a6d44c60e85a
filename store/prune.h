/*
 * prune: forgetting snapshots and reclaiming space (repo_snapshot_forget
 * and repo_prune in repo.h; design in doc/design.md).
 *
 * Forget writes a BLOB_TOMBSTONE naming the snapshot (so rebuild-index
 * does not resurrect it) before removing it from the index.  Prune then
 * deletes packs with no live blob and repacks mostly-dead ones by copying
 * their live stored blobs byte for byte into new packs.
 */
#ifndef VAULT_PRUNE_H
#define VAULT_PRUNE_H

#include <stddef.h>
#include <stdint.h>
#include "buf.h"

struct repo;

/* A pack is repacked when its dead bytes exceed its live bytes. */
#define PRUNE_REPACK_DEAD_RATIO 0.5

/* Writes one tombstone for ids[0..n) and forgets them in one
 * transaction (writer lock needed). */
int prune_forget(struct repo *r, const uint8_t (*ids)[32], size_t n,
		 struct buf *err);

#endif

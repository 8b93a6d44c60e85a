/*
 * inventory: what packs/ holds against what the index lists.
 *
 * A writer's open imports the packs a crash left out of the index, and
 * the verbs that delete data first check that index and packs/ agree:
 * an index that lost track of packs (an interrupted rebuild of an older
 * vault, a damaged or foreign index.db, a deleted pack file) must never
 * lead prune to delete data a snapshot needs.  Design notes in
 * doc/design.md, "Check and rebuild-index".
 */
#ifndef VAULT_INVENTORY_H
#define VAULT_INVENTORY_H

#include "buf.h"

struct repo;

/*
 * Imports, from their trailers, the complete packs in packs/ that the
 * index does not list (data and manifest blobs only): what a crash
 * between a pack's rename and its index commit leaves.  A pack holding
 * the record of a snapshot that the index neither lists nor forgot is
 * left alone: the index has lost track of that snapshot, and importing
 * its data as unreferenced would let prune delete it; inventory_check
 * then refuses until the index is rebuilt.  Packs that do not decode
 * are left alone too.  0 or -errno (err says why).
 */
int inventory_import_orphans(struct repo *r, struct buf *err);

/*
 * Lists packs/ (names only, no pack is read) and compares it with the
 * index's packs.  0 when they agree; -EUCLEAN when pack files are not in
 * the index or indexed packs are missing, with err saying which, that
 * `verb` changed nothing and that `vault check --rebuild-index` is the
 * fix; other -errno when the comparison could not be made.
 */
int inventory_check(struct repo *r, const char *verb, struct buf *err);

#endif

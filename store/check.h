/*
 * check: repo_check (verify packs, blobs and snapshots against the index,
 * naming every snapshot and path a damaged blob affects) and
 * repo_rebuild_index (a fresh index.db from the packs alone); both are
 * declared in repo.h.  Design notes in doc/design.md.
 */
#ifndef VAULT_CHECK_H
#define VAULT_CHECK_H

/* rebuild-index builds the new database here, then renames it over
 * index.db (same file system, so the rename is atomic). */
#define CHECK_REBUILD_DB "tmp/index-rebuild.db"

#endif

/*
 * rebuild-int: what rebuild.c (building the new index) and rebuild-swap.c
 * (putting it in place) share.  Callers use repo_rebuild_index in repo.h.
 */
#ifndef VAULT_REBUILD_INT_H
#define VAULT_REBUILD_INT_H

#include "buf.h"

struct repo;

/* The new database is built here, then renamed over index.db (same file
 * system, so the rename is atomic). */
#define REBUILD_DB "tmp/index-rebuild.db"

/*
 * The state of index.db before the rebuild (path is its name): 1 when it
 * is there but damaged (why says how: it did not open, so r->ix stands
 * in for it, or SQLite's quick_check fails), 0 when it is missing or
 * sound (*sound set then), <0 when that cannot be told.
 */
int rebuild_old_state(struct repo *r, const char *path, int *sound,
		      struct buf *why);
/* Removes a database's companion files (-wal, -shm, -journal), and the
 * file itself if all. */
void rebuild_unlink_db(const char *path, int all);
/*
 * Renames the complete new database tmp over index.db once no reader has
 * the old one open (exclusive lock.read), first keeping a damaged one as
 * index.db.corrupt-<UTC time> (aside gets that name), and opens the
 * result as r->ix.  0 or -errno (err says why); on failure r->ix is
 * whatever index.db is then, or an in-memory stand-in.
 */
int rebuild_swap(struct repo *r, const char *tmp, int damaged,
		 struct buf *aside, struct buf *err);

#endif

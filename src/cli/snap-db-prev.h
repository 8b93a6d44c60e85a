/*
 * snap-db-prev: the previous snapshot of the same database, as base
 * candidates for the delta chunks of this one (doc/design.md, "Delta
 * chunks").  Each table's data.sql stream is given the chunk list of the
 * same table's data.sql in that snapshot, so a chunk whose rows changed
 * a little is stored as a delta against the chunk that held them.
 */
#ifndef VAULT_SNAP_DB_PREV_H
#define VAULT_SNAP_DB_PREV_H

#include <stddef.h>
#include "buf.h"
#include "repo.h"

struct snap_db_prev;

/*
 * Finds the newest snapshot whose record names the same database (the
 * masked source and the database name of its meta_json "db") and opens
 * a view on it (its own index connection: the writer's workers use the
 * repository's).  0 with *p set, or with *p NULL when there is none;
 * -errno (err says why) when it cannot be read, which costs only the
 * deltas.
 */
int snap_db_prev_open(struct snap_db_prev **p, struct repo *r,
		      const char *source, const char *database,
		      struct buf *err);
/*
 * The chunks of file `path` in that snapshot (*n = 0 when it has no such
 * file), valid until the next call.  Paths should come in increasing
 * manifest order, as pg-snap begins its streams, so the snapshot's
 * manifest is read once; an earlier path starts it over.
 */
int snap_db_prev_chunks(struct snap_db_prev *p, const char *path,
			const struct repo_chunkref **c, size_t *n,
			struct buf *err);
/* The content of file `path` in that snapshot appended to out (its
 * chunks verified): 1, or 0 when it has no such file, -errno.  Paths
 * as for snap_db_prev_chunks. */
int snap_db_prev_read(struct snap_db_prev *p, const char *path,
		      struct buf *out, struct buf *err);
/* That snapshot's id (64 hex digits). */
const char *snap_db_prev_id(const struct snap_db_prev *p);
void snap_db_prev_free(struct snap_db_prev *p);	/* NULL-safe */

#endif

/*
 * pg-rowdiff-store: the rows of a table diff still waiting for their
 * partner, when the two sides cannot be merged in key order (pg-rowdiff
 * reads both sides in step and parks here what did not match at once).
 *
 * An entry is a key (bytes), a signed count and a 16-byte row hash.  It
 * lives in memory while the entries fit a budget, and past it in a
 * private temporary SQLite database (deleted when closed, in $TMPDIR or
 * /var/tmp, /tmp: SQLite's rule) with a bounded page cache, so a table
 * of any size is compared in bounded memory.  Two uses:
 *   - keyed (a primary key): each side adds its rows once, +1 before and
 *     -1 after; a key met from the other side is a pair, removed;
 *   - counted (no key): the key is the row hash, the count the number
 *     of copies before minus after.
 */
#ifndef VAULT_PG_ROWDIFF_STORE_H
#define VAULT_PG_ROWDIFF_STORE_H

#include <stddef.h>
#include <stdint.h>
#include "buf.h"

struct pg_rowdiff_store;

/* mem: bytes of entries kept in memory before the rest go to disk (0:
 * 24 MiB); cache_kib: the temporary database's page cache (0: 16 MiB).
 * 0 or -ENOMEM. */
int pg_rowdiff_store_new(struct pg_rowdiff_store **s, size_t mem,
			 size_t cache_kib);
void pg_rowdiff_store_free(struct pg_rowdiff_store *s);

/*
 * Keyed: a row of key[0..klen) with hash h from the side delta says (+1
 * before, -1 after).  Returns 0 when the key was not waiting (it is
 * now), 1 when it waited from the other side with the same hash, 2 with
 * another hash (in both cases it no longer waits), -EEXIST when it
 * waits from the same side (a key twice in one table), or -ENOMEM, -EIO
 * or -ENOSPC from the temporary database (err says why).
 */
int pg_rowdiff_store_pair(struct pg_rowdiff_store *s, const void *key,
			  size_t klen, int delta, const uint8_t h[16],
			  struct buf *err);

/* Counted: adds delta to key's count (an entry whose count comes back
 * to 0 is dropped).  0 or as pg_rowdiff_store_pair. */
int pg_rowdiff_store_count(struct pg_rowdiff_store *s, const void *key,
			   size_t klen, int delta, struct buf *err);

/* The sums of the positive counts and of the negative ones (as a
 * positive number) left.  0 or as pg_rowdiff_store_pair. */
int pg_rowdiff_store_totals(struct pg_rowdiff_store *s, uint64_t *pos,
			    uint64_t *neg, struct buf *err);

/* 1 once entries went to the temporary database (tests). */
int pg_rowdiff_store_spilled(const struct pg_rowdiff_store *s);

#endif

/*
 * pg-snap-objects: the rows of Supabase's storage.objects as of a
 * capture's instant, for comparing them with the project's Storage
 * captured in the same snapshot (src/supabase/snap-storage-drift.c,
 * through the front end).
 *
 * The rows are read on the capture's own connection, inside its
 * snapshot transaction (pg-snap.h), so they are exactly the rows
 * db/storage/tables/objects/data.sql holds when that table is captured
 * (and the rows the database held at that instant when it is not), with
 * no second connection and no parsing of COPY text: the server picks
 * the few fields out of the metadata column.  A savepoint around the
 * read keeps a failure (no privilege, an odd table) from spoiling the
 * capture's transaction.
 *
 * Library code: nothing prints.
 */
#ifndef VAULT_PG_SNAP_OBJECTS_H
#define VAULT_PG_SNAP_OBJECTS_H

#include <stddef.h>
#include <stdint.h>
#include "buf.h"

struct pg_snap;

/* One row; the strings are valid during the call. */
struct pg_snap_object {
	const char *bucket;		/* bucket_id */
	const char *name;		/* name (name_len bytes) */
	size_t name_len;
	const char *etag;		/* metadata->>'eTag', NULL when none */
	int64_t size;			/* metadata->>'size', -1 when none */
	const char *last_modified;	/* metadata->>'lastModified', else
					 * updated_at; NULL when neither */
};

/* Non-zero stops the read and is returned. */
typedef int (*pg_snap_object_fn)(void *ctx, const struct pg_snap_object *o);

/*
 * Calls fn for every row of storage.objects (in no particular order).
 * Between pg_snap_open and pg_snap_free, not during pg_snap_emit.
 * Returns 0; -ENOENT when the database has no storage.objects with
 * bucket_id, name and metadata (not a Supabase database); fn's non-zero
 * value; or an error of pg-conn.h (-EACCES without the privilege to
 * read the table) with err saying why.  The capture's transaction is
 * intact afterwards in every case.
 */
int pg_snap_storage_objects(struct pg_snap *s, pg_snap_object_fn fn,
			    void *ctx, struct buf *err);

#endif

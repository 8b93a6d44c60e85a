/*
 * pg-snap-objects: storage.objects as of the capture's instant (see
 * pg-snap-objects.h).  A cursor on the capture's main connection, in its
 * snapshot transaction, fetched a few thousand rows at a time so a
 * table of millions of objects never sits in memory at once; the whole
 * read inside a savepoint.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <libpq-fe.h>

#include "pg-snap-int.h"
#include "pg-snap-objects.h"

#define PG_SNAP_OBJECTS_FETCH "5000"

/* The table, with the three columns that matter. */
static int pg_snap_objects_exist(PGconn *c, struct buf *err)
{
	PGresult *res;
	int r = pg_conn_query(c, &res, PGRES_TUPLES_OK,
			      "SELECT pg_catalog.count(*) FROM pg_catalog.pg_attribute a"
			      " WHERE a.attrelid = pg_catalog.to_regclass('storage.objects')"
			      " AND a.attname IN ('bucket_id', 'name', 'metadata')"
			      " AND a.attnum > 0 AND NOT a.attisdropped",
			      0, NULL, "looking for storage.objects", err);

	if (r < 0)
		return r;
	r = strcmp(PQgetvalue(res, 0, 0), "3") == 0 ? 0 : -ENOENT;
	PQclear(res);
	return r;
}

/* metadata->>'size' as a byte count, -1 when it is not one. */
static int64_t pg_snap_objects_size(const char *v)
{
	char *end;
	long long n;

	if (!v || !*v || *v < '0' || *v > '9')
		return -1;
	errno = 0;
	n = strtoll(v, &end, 10);
	return (errno || *end || n < 0) ? -1 : (int64_t)n;
}

static int pg_snap_objects_rows(PGconn *c, pg_snap_object_fn fn, void *ctx,
				struct buf *err)
{
	PGresult *res;
	int r, n;

	do {
		r = pg_conn_query(c, &res, PGRES_TUPLES_OK,
				  "FETCH FORWARD " PG_SNAP_OBJECTS_FETCH
				  " FROM vault_storage_objects",
				  0, NULL, "reading storage.objects", err);
		if (r < 0)
			return r;
		n = PQntuples(res);
		for (int i = 0; i < n && r == 0; i++) {
			struct pg_snap_object o;

			if (PQgetisnull(res, i, 0) || PQgetisnull(res, i, 1))
				continue;
			o.bucket = PQgetvalue(res, i, 0);
			o.name = PQgetvalue(res, i, 1);
			o.name_len = (size_t)PQgetlength(res, i, 1);
			o.etag = PQgetisnull(res, i, 2) ? NULL : PQgetvalue(res, i, 2);
			o.size = pg_snap_objects_size(PQgetisnull(res, i, 3) ? NULL
						      : PQgetvalue(res, i, 3));
			o.last_modified = PQgetisnull(res, i, 4) ? NULL
				: PQgetvalue(res, i, 4);
			r = fn(ctx, &o);
		}
		PQclear(res);
	} while (r == 0 && n > 0);
	return r;
}

int pg_snap_storage_objects(struct pg_snap *s, pg_snap_object_fn fn,
			    void *ctx, struct buf *err)
{
	PGconn *c = s->main;
	int r = pg_conn_exec(c, "SAVEPOINT vault_storage_objects",
			     "reading storage.objects", err);

	if (r < 0)
		return r;
	r = pg_snap_objects_exist(c, err);
	if (r == 0)
		/* to_jsonb(o): updated_at is read when the table has it */
		r = pg_conn_exec(c, "DECLARE vault_storage_objects NO SCROLL CURSOR FOR"
				 " SELECT o.bucket_id, o.name, o.metadata->>'eTag',"
				 " o.metadata->>'size', COALESCE(o.metadata->>'lastModified',"
				 " pg_catalog.to_jsonb(o)->>'updated_at')"
				 " FROM storage.objects o",
				 "reading storage.objects", err);
	if (r == 0)
		r = pg_snap_objects_rows(c, fn, ctx, err);
	if (r == 0)
		r = pg_conn_exec(c, "CLOSE vault_storage_objects",
				 "reading storage.objects", err);
	if (r == 0)
		return pg_conn_exec(c, "RELEASE SAVEPOINT vault_storage_objects",
				    "reading storage.objects", err);
	/* undo whatever failed, so the capture's transaction lives on */
	if (pg_conn_exec(c, "ROLLBACK TO SAVEPOINT vault_storage_objects",
			 "reading storage.objects", NULL) == 0)
		pg_conn_exec(c, "RELEASE SAVEPOINT vault_storage_objects",
			     "reading storage.objects", NULL);
	return r;
}

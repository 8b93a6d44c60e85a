/*
 * pg-snap: a whole PostgreSQL database captured at one instant, emitted
 * as a tree of files through a small sink so the pg code never needs to
 * know about the repository (src/cli/cmd-snapshot.c plugs the sink into
 * repo_writer_*).
 *
 * One instant: pg_snap_open starts a REPEATABLE READ, READ ONLY
 * transaction, exports its snapshot (pg_export_snapshot), and everything
 * else reads under that snapshot: the catalog queries on the same
 * connection, `pg_dump --schema-only --snapshot=ID`, and the worker
 * connections (--jobs) that run the COPYs after SET TRANSACTION
 * SNAPSHOT.  Sequences are read at the same moment but, like in pg_dump,
 * are not transactional.
 *
 * The tree (root "db" by default; names percent-encoded by pg-names, a
 * schema whose name equals one of the fixed files gets its first byte
 * encoded too):
 *
 *   db/                                   directory
 *   db/<schema>/tables/<table>/data.sql    COPY "s"."t" (cols) FROM stdin;
 *                                         rows in COPY text format, \.
 *                                         (not for partitioned parents)
 *   db/<schema>/tables/<table>/schema.sql the table's own DDL sections
 *   db/large_objects/<oid>                raw bytes of each large object
 *   db/meta.json                          see below
 *   db/roles.sql                          roles, memberships, settings
 *   db/schema.sql                         pg_dump --schema-only, whole
 *   db/sequences.sql                      setval per sequence
 *
 * Entries are emitted in strictly increasing manifest_path_cmp order,
 * directories before their contents, as repo_writer_* requires.  Each
 * data.sql carries attributes pg.schema, pg.table, pg.rows and pg.xxh3
 * (XXH3-128, canonical hex, of its rows without the COPY and \. lines);
 * each table schema.sql carries pg.schema and pg.table.  The layout is
 * documented in formats/db-layout.md.
 *
 * meta.json vs. order: db/meta.json sorts before most schemas, yet it
 * must hold every table's row count and checksum, known only once the
 * table is read.  So pg_snap_emit works in two passes: it first reads
 * every table (and large object) into a detached stream of the sink (the
 * repository chunks and stores the bytes right away; nothing waits in
 * memory or on disk but the chunk lists), then emits the tree in order,
 * attaching each stream to its entry, with the complete meta.json.
 * pg_snap_meta_json() returns the same document, for
 * repo_commit_opts.meta_json.
 *
 * Library code: nothing prints.  Errors are negative errno values with a
 * message in err naming the table (or role, sequence, large object) and
 * the server's message; connection errors name host and port.
 */
#ifndef VAULT_PG_SNAP_H
#define VAULT_PG_SNAP_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include "buf.h"
#include "pg-catalog.h"

/* Same values as enum repo_chunking, so the sink can pass them on. */
enum pg_sink_chunking {
	PG_SINK_GENERAL = 0,
	PG_SINK_ROWS = 1,	/* COPY text: cut only after '\n' */
};

/*
 * Where the tree goes.  Every callback returns 0 or a negative errno,
 * which aborts the capture and is returned by pg_snap_emit as is (the
 * sink keeps its own message).  A file is: begin_file, write*, attr*,
 * end_file, or begin_file_stream, attr*, end_file.  dir may be NULL when
 * the sink has no use for directories.
 *
 * Streams (all required) are contents produced before their entry:
 * stream_begin gives a handle (path: the entry the stream will be, so
 * the sink can look at that file in an earlier snapshot), stream_write
 * appends, stream_end closes it; begin_file_stream opens the file entry
 * holding an ended stream
 * and takes the handle over (also when it fails); stream_free drops a
 * handle that will not be attached (after a failure).  They map to
 * repo_stream_* and repo_writer_file_stream.
 */
struct pg_sink {
	void *ctx;
	int (*dir)(void *ctx, const char *path, uint32_t mode);
	int (*begin_file)(void *ctx, const char *path, uint32_t mode,
			  enum pg_sink_chunking how);
	int (*write)(void *ctx, const void *p, size_t n);
	int (*attr)(void *ctx, const char *key, const char *value);
	int (*end_file)(void *ctx);
	int (*stream_begin)(void *ctx, enum pg_sink_chunking how,
			    const char *path, void **st);
	int (*stream_write)(void *ctx, void *st, const void *p, size_t n);
	int (*stream_end)(void *ctx, void *st);
	int (*begin_file_stream)(void *ctx, const char *path, uint32_t mode,
				 void *st);
	void (*stream_free)(void *ctx, void *st);
	/*
	 * Optional (NULL: every table is read).  Opens the data.sql entry
	 * `path` made of the chunks of the same file in the snapshot given
	 * to pg_snap_set_previous: 0 with the entry open (attr*, end_file
	 * follow), 1 when it cannot (the table is then read after all).
	 */
	int (*begin_file_reused)(void *ctx, const char *path, uint32_t mode);
	/*
	 * Optional (NULL: no table is read from its tail).  A new stream
	 * (as stream_begin) that continues the data.sql `path` of the
	 * snapshot given to pg_snap_set_previous: its content without the
	 * last ndrop bytes, which must be drop.  0 with *st, 1 when it
	 * cannot (the table is then read whole).
	 */
	int (*stream_begin_after)(void *ctx, const char *path,
				  const void *drop, size_t ndrop, void **st);
};

struct pg_snap_table {
	const char *schema, *name;	/* raw identifiers */
	const char *path;		/* "db/<schema>/tables/<table>" */
	int has_data;			/* 0 for a partitioned parent */
	int done;			/* data read (rows/bytes final) */
	uint64_t rows, bytes;
	uint64_t est_bytes;		/* the catalog's size (progress only) */
	char xxh3[33];			/* hex, "" until done */
	char *proof;			/* its unchanged_proof, or NULL */
	int reused;			/* rows, bytes, xxh3 and data are the
					 * previous snapshot's: not read */
	int appended;			/* only the rows appended since the
					 * previous snapshot were read */
	uint64_t appended_rows;		/* those rows (rows counts all) */
};

struct pg_snap_opts {
	const char *conninfo;		/* libpq string or URL; NULL = "" */
	int jobs;			/* COPY connections; 0 = pg-jobs.h's rule */
	int retries;			/* extra connection attempts */
	unsigned retry_delay_ms;	/* first backoff; 0 = 500 ms */
	const char *pg_dump;		/* explicit binary, or NULL to search */
	const char *root;		/* NULL = "db" */
	struct pg_catalog_filter filter;
	/* with filter.tables: relations schema.sql takes the DDL of besides
	 * the tables, as exact pg_dump -t patterns ("s"."v"), NULL-terminated
	 * (a restore's safety snapshot: the views it drops and recreates);
	 * they add no rows and no tables to meta.json */
	const char *const *ddl_only;
	int role_passwords;
	volatile sig_atomic_t *interrupt;
	/* on the emitting thread while tables are read: start (done 0),
	 * every few MiB, end (1) */
	void (*progress)(void *ctx, const struct pg_snap_table *t, int done);
	void *progress_ctx;
};

struct pg_snap;

/*
 * Connects, checks that a suitable pg_dump exists (before any snapshot
 * is taken), opens the snapshot transaction, reads the catalog, locks
 * the tables, runs pg_dump under the snapshot and opens the worker
 * connections.  Nothing is emitted yet.
 *   -ENOPKG: no pg_dump new enough (err says which package)
 *   -EPROTONOSUPPORT: server older than PostgreSQL 10
 *   others as in pg-conn.h / pg-dump.h
 */
int pg_snap_open(struct pg_snap **s, const struct pg_snap_opts *o,
		 struct buf *err);

/*
 * The previous snapshot of the same database: its id and its meta.json
 * (copied as needed; NULL: none).  Before pg_snap_emit, with a sink that
 * has begin_file_reused, it lets tables proven unchanged since then be
 * taken from it instead of read (doc/design.md, "Tables that did not
 * change").  An unreadable meta.json only means every table is read.
 * 0 or -ENOMEM.
 */
int pg_snap_set_previous(struct pg_snap *s, const char *id,
			 const char *meta_json, size_t len);
/* Tables taken from the previous snapshot (after pg_snap_emit). */
size_t pg_snap_nreused(const struct pg_snap *s);
/* Tables of which only the rows appended since then were read. */
size_t pg_snap_nappended(const struct pg_snap *s);

/* Reads every table, then emits the whole tree.  May be called once.
 * -EINVAL when the sink lacks a callback. */
int pg_snap_emit(struct pg_snap *s, const struct pg_sink *sink,
		 struct buf *err);

/* The masked source ("postgres://user:***@host:port/db"). */
const char *pg_snap_source(const struct pg_snap *s);
/* The exported snapshot id (for messages and tests). */
const char *pg_snap_snapshot_id(const struct pg_snap *s);
/* The meta.json document, as in the tree (after pg_snap_emit). */
const char *pg_snap_meta_json(const struct pg_snap *s);
const struct pg_catalog *pg_snap_catalog(const struct pg_snap *s);
size_t pg_snap_ntables(const struct pg_snap *s);
/* The connections the COPYs run on (--jobs, or pg-jobs.h's rule, at
 * most the tables with rows; 1 when the main one does it all). */
int pg_snap_jobs(const struct pg_snap *s);
const struct pg_snap_table *pg_snap_table(const struct pg_snap *s, size_t i);
/* Non-fatal problems, one per line ("" when none). */
const char *pg_snap_warnings(const struct pg_snap *s);

/* Ends the transaction and closes every connection.  NULL-safe. */
void pg_snap_free(struct pg_snap *s);

#endif

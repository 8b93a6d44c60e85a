/*
 * pg-snap-int: what the parts of pg-snap share, and nothing outside it
 * sees: the capture (struct pg_snap), the entries of the tree it emits,
 * and each part's entry points.  The parts, lowest first:
 *
 *   pg-snap.c         the snapshot transaction: session settings, the
 *                     exported snapshot, worker connections, the table
 *                     list; pg_snap_open / pg_snap_free and the accessors
 *   pg-snap-schema.c  pg_dump --schema-only under the snapshot (schema.sql)
 *   pg-snap-data.c    each table's COPY statement, and the first pass of
 *                     pg_snap_emit: every table and large object read into
 *                     a detached stream of the sink
 *   pg-snap-proof.c   what proves a table unchanged since the previous
 *                     snapshot, and which tables are not read again
 *   pg-snap-meta.c    the meta.json document
 *   pg-snap-tree.c    the entries in manifest order and pg_snap_emit
 */
#ifndef VAULT_PG_SNAP_INT_H
#define VAULT_PG_SNAP_INT_H

#include <stddef.h>
#include <libpq-fe.h>

#include "buf.h"
#include "json.h"
#include "pg-catalog.h"
#include "pg-conn.h"
#include "pg-ddl.h"
#include "pg-dump.h"
#include "pg-jobs.h"
#include "pg-snap.h"

#define PG_SNAP_DIR_MODE	0700
#define PG_SNAP_FILE_MODE	0600
/* pg_dump --schema-only of even very large schemas stays far below */
#define PG_SNAP_DDL_MAX		(1024u << 20)

struct pg_snap {
	struct pg_snap_opts o;
	const char *root;
	struct pg_conn_info *ci, *pinned;
	PGconn *main;
	PGconn **workers;
	size_t nworkers;
	struct pg_jobs_in jobs_in;	/* for the default --jobs */
	int jobs;			/* connections the COPYs use */
	char snapid[128];
	struct pg_catalog cat;
	struct pg_dump_tool dump;
	struct buf ddl_text;
	struct pg_ddl *ddl;
	struct buf roles_sql, sequences_sql, lo_sql, meta;
	/* parallel to cat.tables: pg-snap.c fills tables, paths and labels,
	 * pg-snap-data.c copy_sql and copy_head */
	struct pg_snap_table *tables;
	char **paths, **copy_sql, **copy_head, **labels;
	int emitted;
	/* pg-snap-proof.c: the statistics read before the snapshot (all
	 * permanent tables, by oid), the identity they hold for (NULL: no
	 * proofs in this capture), each table's "relfilenode/ins/upd/del"
	 * when both readings agree (parallel to cat.tables, NULL: none),
	 * the capture's own record, and the previous snapshot's meta.json */
	struct buf settings_text;	/* pg_snap_settings, "name=value;" */
	struct pg_snap_stat *stats_before;
	size_t nstats_before;
	char *proof_sysid, *proof_ident, *proof;
	char **stats;
	int quiet;
	/* schemas of the known workers that were busy (quiet apart from
	 * them): their tables are read */
	char **busy_schemas;
	size_t nbusy_schemas;
	struct json *prev;
	char prev_id[65];
	size_t nreused;
};

/* One table's statistics ("relfilenode/ins/upd/del", NULL: unreadable). */
struct pg_snap_stat {
	unsigned oid;
	char *text;
};

/* One entry of the emitted tree. */
enum pg_snap_kind {
	PG_SNAP_E_DIR,
	PG_SNAP_E_TEXT,		/* a file whose content is already in memory */
	PG_SNAP_E_META,
	PG_SNAP_E_DATA,
	PG_SNAP_E_DDL,
	PG_SNAP_E_LO,
};

struct pg_snap_entry {
	char *path;
	size_t len;
	enum pg_snap_kind kind;
	size_t table;			/* DATA, DDL */
	unsigned oid;			/* LO */
	const struct buf *text;		/* TEXT */
};

/* pg-snap.c: the session settings of every connection, {name, value},
 * also recorded in meta.json as copy_settings. */
extern const char *const pg_snap_settings[][2];
extern const size_t pg_snap_nsettings;

/* pg-snap-schema.c: runs pg_dump under the snapshot into s->ddl_text and
 * parses it into s->ddl.  0 or a negative errno with err filled. */
int pg_snap_schema_dump(struct pg_snap *s, struct buf *err);

/* pg-snap-data.c: s->copy_sql[] and s->copy_head[] for every table of
 * s->cat (the arrays are freed by pg_snap_data_release).  0 or -ENOMEM. */
int pg_snap_data_plan(struct pg_snap *s);
void pg_snap_data_release(struct pg_snap *s);
/*
 * pg-snap-data.c: the first pass.  For every DATA and LO entry of e[0..n)
 * (in that order: tables first, the way pg_copy prefetches them, then
 * large objects), its content into a new ended stream st[i] of the sink;
 * table rows, bytes and checksums are final afterwards.  On error the
 * streams made so far stay in st[] for the caller to free.
 */
int pg_snap_data_read(struct pg_snap *s, const struct pg_sink *k,
		      const struct pg_snap_entry *e, size_t n, void **st,
		      struct buf *err);

/*
 * pg-snap-proof.c.  _before runs on the main connection before the
 * snapshot transaction begins, _after inside it before anyone else of
 * ours connects (pg_dump, the workers); neither fails for want of
 * statistics (there are then no proofs), _after only for a lost
 * connection or memory.  _decide (at emit, after pg_dump) makes every
 * record and, when can_reuse and the capture is quiet, marks the tables
 * whose record equals the previous snapshot's as reused, with their rows,
 * bytes and checksum.  0 or a negative errno.
 */
void pg_snap_proof_before(struct pg_snap *s);
int pg_snap_proof_after(struct pg_snap *s, struct buf *err);
int pg_snap_proof_decide(struct pg_snap *s, int can_reuse);
void pg_snap_proof_release(struct pg_snap *s);

/* pg-snap-data.c, second pass: table i (reused, but the sink could not
 * take the previous chunks) read after all, on the main connection, into
 * a new stream *st; -EIO (err says why) when its rows differ from the
 * previous snapshot's. */
int pg_snap_data_reread(struct pg_snap *s, const struct pg_sink *k, size_t i,
			const char *path, void **st, struct buf *err);

/* pg-snap-meta.c: builds s->meta (after the first pass).  0 or -ENOMEM. */
int pg_snap_meta_build(struct pg_snap *s);

#endif

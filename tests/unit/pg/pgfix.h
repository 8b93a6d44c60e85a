/*
 * pgfix: the shared fixture of the server tests of src/pg
 * (test-pg-conn, test-pg-snap, test-pg-snap-tree), run by
 * tests/cli/t1090-db-unit.sh under the harness's throwaway cluster.
 *
 *  - struct pgfix_sink: a pg_sink that keeps the emitted tree in
 *    memory and counts order and nesting mistakes;
 *  - the fixture database: tests/fixtures/supabase.sql (under
 *    $VAULT_SRCDIR, else the current directory) loaded into a fresh
 *    database pgfix_db; pgfix_db2 is a second name for tests
 *    that reload a capture;
 *  - helpers: run a program, run SQL as the admin, compare COPY text.
 *
 * The functions never make TAP points, except pgfix_start, which is
 * inline so its points count in the calling program.
 */
#ifndef VAULT_TEST_PGFIX_H
#define VAULT_TEST_PGFIX_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "../tap.h"
#include "buf.h"
#include "pg-snap.h"

/* ---- a sink that keeps everything in memory ------------------------- */

struct pgfix_kv {
	char *key, *val;
};

struct pgfix_entry {
	char *path;
	int dir;
	uint32_t mode;
	int how;
	struct buf content;
	struct pgfix_kv *attrs;
	size_t nattrs;
};

struct pgfix_stream {
	struct buf content;
	int how, ended;
};

/* Zero it before use. */
struct pgfix_sink {
	struct pgfix_entry *e;
	size_t n, cap;
	int open;
	size_t bad_order, bad_calls;	/* out of manifest order, misnested */
	long streams_live;		/* begun and not yet attached or freed */
	/* called as each stream ends (user is the caller's) */
	void (*after_stream)(struct pgfix_sink *m,
			     const struct pgfix_stream *st);
	void *user;
};

/* The pg_sink callbacks writing into m. */
struct pg_sink pgfix_sink_ops(struct pgfix_sink *m);
/* Frees every entry and zeroes m. */
void pgfix_sink_release(struct pgfix_sink *m);
/* The entry at path, or NULL. */
const struct pgfix_entry *pgfix_find(const struct pgfix_sink *m,
				     const char *path);
/* The value of attribute key of e (NULL-safe), or NULL. */
const char *pgfix_attr(const struct pgfix_entry *e, const char *key);
/* The content at path, "" when there is no such entry. */
const char *pgfix_text(const struct pgfix_sink *m, const char *path);

/* ---- helpers -------------------------------------------------------- */

/* Runs argv (PATH lookup) with psql's output in the capture's session
 * settings, stdout into out (may be NULL).  The exit status or -1. */
int pgfix_run(char *const argv[], struct buf *out);
/* Runs sql on the postgres database: 1 when it succeeded. */
int pgfix_admin(const char *sql);
/* psql -f file into db, stopping at the first error: the exit status. */
int pgfix_psql_file(const char *db, const char *file);
/* pg_snap_open + pg_snap_emit into m; *keep gets the capture on success
 * (when keep is not NULL), else it is freed.  The errno of either. */
int pgfix_capture(const char *conninfo, int jobs, struct pgfix_sink *m,
		  struct pg_snap **keep, struct buf *err);
/* strcmp of two char * (for qsort). */
int pgfix_line_cmp(const void *a, const void *b);
/* Splits p[0..len) into its lines, sorted (modifies the buffer; the
 * array is malloc'ed, the strings point into p). */
char **pgfix_sorted_lines(char *p, size_t len, size_t *n);
/* The rows part of a data.sql: after the first line, before "\.\n".
 * 0, or -1 when e is not shaped like one. */
int pgfix_data_rows(const struct pgfix_entry *e, const char **rows,
		    size_t *len);
/* 1 when a and b hold the same lines, in any order. */
int pgfix_same_multiset(const char *a, size_t alen, const char *b, size_t blen);

/* ---- the fixture database ------------------------------------------- */

extern char pgfix_db[64], pgfix_db2[64];

/* The path of tests/fixtures/supabase.sql. */
const char *pgfix_path(void);
/* Names pgfix_db and pgfix_db2 after the process and creates
 * pgfix_db (UTF8, empty): 1 when it did. */
int pgfix_db_create(void);
/* Loads the fixture into pgfix_db: psql's exit status. */
int pgfix_db_load(void);
/* Drops both databases if they exist. */
void pgfix_db_drop(void);

/*
 * The start of every server test: without PGHOST/PGPORT a SKIP point and
 * 0; otherwise the fixture database, with a point for creating it (only
 * when that fails, then 0) and one for loading it; 1 when it is ready.
 */
static inline int pgfix_start(void)
{
	if (!getenv("PGHOST") || !getenv("PGPORT")) {
		skip("PGHOST/PGPORT not set: no PostgreSQL server for the capture tests");
		return 0;
	}
	if (!pgfix_db_create()) {
		ok(0, "create database %s", pgfix_db);
		return 0;
	}
	is_int(pgfix_db_load(), 0, "load %s", pgfix_path());
	return 1;
}

#endif

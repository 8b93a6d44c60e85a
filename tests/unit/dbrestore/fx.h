/*
 * fx: the fixture the restore tests against a real server share
 * (test-rs-exec, test-rs-par, test-rs-lo).
 *
 * Needs PGHOST and PGPORT pointing at a running server where PGUSER is
 * a superuser (tests/test-lib.sh's pg_start provides one; so does any
 * throwaway cluster).  Without them a test program is one TAP SKIP.
 *
 * fx_main loads tests/fixtures/supabase.sql (under $VAULT_SRCDIR, else
 * the current directory) into a source database, captures it with
 * pg-snap into a directory (fx_tree) and reads the snapshot back
 * (fx_src, through fx_input); the program's tests then restore from it
 * with fx_restore and compare databases with the helpers below.  Every
 * database, role and directory is named after the program's pid, so
 * programs never see each other's.
 */
#ifndef VAULT_TEST_FX_H
#define VAULT_TEST_FX_H

#include <stddef.h>
#include <stdint.h>
#include <libpq-fe.h>

#include "buf.h"
#include "rs-exec.h"
#include "rs-input.h"
#include "rs-log.h"
#include "rs-plan.h"

extern char fx_tree[256];		/* the captured tree lives here */
extern char fx_role[48];		/* the managed test's restoring role */
extern char fx_gone[48];		/* a role dropped after the capture */
extern struct rs_plan_source fx_src;	/* the snapshot, read back */
extern struct rs_input fx_input;	/* the directory fx_tree */
extern int fx_restore_jobs;		/* --jobs of fx_restore (1) */
extern enum rs_verify fx_restore_verify; /* --verify of fx_restore (streamed) */

/* The TAP calls of the test program (tap.h counts per program). */
struct fx_tap {
	int (*ok)(int cond, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
	void (*skip)(const char *why);
};

/*
 * The whole of a test program's main but done_testing(): the fixture
 * (two TAP points: captured, read back), then tests() once the snapshot
 * is read, then the cleanup: the databases dbs (names for fx_db,
 * NULL-terminated; the source is always dropped), the two roles and the
 * tree.
 */
void fx_main(const struct fx_tap *tap, void (*tests)(void),
	     const char *const *dbs);

/* ---- databases ---------------------------------------------------------- */

/* The database name of the program's name (rotating static storage:
 * eight at a time stay valid). */
const char *fx_db(const char *name);
/* A connection to db as user (NULL: PGUSER), notices quiet; NULL (and a
 * diag) when it fails. */
PGconn *fx_connect(const char *db, const char *user);
/* 1 when sql ran on db (diag with the error otherwise). */
int fx_exec(const char *db, const char *sql);
/* fx_exec on "postgres", sql formatted. */
int fx_admin(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* to as a copy of from (dropped first). */
int fx_copy_db(const char *from, const char *to);
/* The single value of sql as a number; -1 (and a diag) otherwise. */
long long fx_scalar(PGconn *c, const char *sql);

/* argv run with its stdout into out (may be NULL): the exit status, or
 * -1. */
int fx_run_cmd(char *const argv[], struct buf *out);
/* pg_dump of db (--schema-only, else --no-comments) without comment
 * lines and \restrict keys: pg_dump's exit status. */
int fx_dump(const char *db, int schema_only, struct buf *out);
int fx_same_buf(const struct buf *a, const struct buf *b);
/* A diag of where a and b first differ. */
void fx_first_diff(const struct buf *a, const struct buf *b);
/* Rows of schema.name (all columns) as sorted lines, into out. */
int fx_table_rows(PGconn *c, const char *schema, const char *name,
		  struct buf *out);
int fx_same_table(PGconn *a, PGconn *b, const char *schema, const char *name);
/* How many of the snapshot's tables (partitioned parents aside) have
 * the same rows in a and b; *all gets how many were compared (none when
 * a or b is NULL). */
size_t fx_same_tables(PGconn *a, PGconn *b, size_t *all);
/* Every sequence's last value the same in both (and there are some). */
int fx_same_sequences(PGconn *a, PGconn *b);
/* Large object oid's bytes as hex (lo_get), into out; "" when absent. */
int fx_lo_hex(PGconn *c, unsigned oid, struct buf *out);

/* ---- restores ----------------------------------------------------------- */

/* Kills the restore's connection at its at-th "load" step. */
struct fx_kill {
	int pid;
	int at, seen, killed;
};

/*
 * Restores into db as user (NULL: PGUSER), from in (NULL: fx_input).
 * tables/only narrow the selection; kill (may be NULL) kills the
 * connection mid-load.  Returns rs_exec_run's result; log and err are
 * filled.
 */
int fx_restore(const char *db, const char *user, enum rs_plan_mode mode,
	       enum rs_plan_on_conflict oc, const char *const *tables,
	       unsigned only, int dry_run, struct fx_kill *kill,
	       const struct rs_input *in, struct rs_log *log,
	       struct rs_plan **plan, struct buf *err);
const struct rs_log_table *fx_log_table(const struct rs_log *l,
					const char *schema, const char *name);

/* ---- copies of the captured tree ---------------------------------------- */

/* A copy of the captured tree at fx_tree-<suffix> (a file to change),
 * its path in out: 1 when made. */
int fx_tree_copy(const char *suffix, char *out, size_t n);
/* A copy at fx_tree-bad whose public.pair_a rows no longer match
 * meta.json (a digit of the last id changed): 1 when made. */
int fx_tree_damaged(char *out, size_t n);
/* A copy at fx_tree-miscount whose public.pair_a data.sql holds ten
 * rows for COPY but eleven lines, a line ending in a backslash: 1 when
 * made, with the line count and the XXH3-128 of those rows (what a
 * meta.json that counted lines would say) in rows and xxh3. */
int fx_tree_miscounted(char *out, size_t n, uint64_t *rows, char xxh3[33]);
/* rm -rf dir (a diag when it fails). */
void fx_tree_remove(const char *dir);
int fx_write_file(const char *path, const void *p, size_t n);

#endif

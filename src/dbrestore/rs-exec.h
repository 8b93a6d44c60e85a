/*
 * rs-exec: a restore run against a live database, in ONE transaction
 * (or, an empty-mode restore with jobs > 1 and two or more new tables,
 * the parallel strategy of rs-par: the same steps, the DDL committed
 * first, the new tables loaded over several connections, the undo of
 * rs-undo if anything fails after that first commit).
 *
 * Inside BEGIN ... COMMIT, in this order:
 *   1. the plan (rs-plan) is built on the same connection; conflicts or
 *      blocking requirements stop here and nothing has changed;
 *   2. the selected tables are locked; missing roles are created and
 *      memberships added (roles.sql; existing roles are kept);
 *   3. clean mode: foreign keys of unselected (or kept) tables that
 *      point at a table about to be emptied or dropped are dropped
 *      (they come back in step 7), the publication memberships of the
 *      tables about to be recreated are noted (put back in step 7:
 *      publications are not selected), the tables that drifted and the
 *      other selected objects are dropped (views, then tables in one
 *      statement, then sequences and types), the tables whose
 *      definition matches are emptied (TRUNCATE) with their user
 *      triggers disabled until their rows are in (step 5); a rollback
 *      drops the tables the restore it undoes created (drop_tables);
 *   4. pre-data DDL in pg_dump's order (statements rs-sanitize skips
 *      are logged, never run);
 *   5. rows, in foreign-key order, streamed from the snapshot with COPY
 *      (merge mode: COPY into a temporary table, then INSERT ... ON
 *      CONFLICT (primary key) DO NOTHING / DO UPDATE); the rows read are
 *      checked against meta.json as they stream;
 *   6. post-data DDL (indexes, constraints, triggers, policies, ACLs),
 *      so, as with pg_restore, indexes are built once over loaded rows
 *      and triggers do not fire on restored rows;
 *   7. clean mode: missing publication memberships are put back; the
 *      dropped foreign keys are re-added, after a query that names the
 *      rows that would violate them;
 *   8. sequences are set (merge mode only moves them forward), deferred
 *      constraints are checked (SET CONSTRAINTS ALL IMMEDIATE), keys are
 *      verified by vault when session_replication_role = replica was
 *      needed, materialized views are refreshed;
 *   9. verification: as each table's rows stream (step 5), the bytes
 *      sent hash to meta.json's XXH3-128 and hold its row count, and
 *      the row count COPY reports equals it (RS_VERIFY_STREAMED, the
 *      default); RS_VERIFY_FULL also recomputes each restored table's
 *      row count and XXH3-128 of the capture's own COPY query on the
 *      target and compares them with meta.json (merge: over the
 *      snapshot's primary keys);
 *  10. COMMIT.
 * Any failure rolls everything back and the error names the statement
 * (its section in schema.sql) or the table, with the server's message;
 * the log records it.
 */
#ifndef VAULT_RS_EXEC_H
#define VAULT_RS_EXEC_H

#include <signal.h>
#include <stdint.h>
#include <libpq-fe.h>
#include "buf.h"
#include "pg-conn.h"
#include "rs-input.h"
#include "rs-log.h"
#include "rs-plan.h"
#include "rs-select.h"

struct rs_exec_opts {
	enum rs_plan_mode mode;
	enum rs_plan_on_conflict on_conflict;
	int jobs;
	int managed;		/* -1 detect (default), 0 plain, 1 managed */
	enum rs_verify verify;	/* streamed (default) or full */
	int dry_run;		/* build the plan inside a transaction that
				 * is rolled back; change nothing */
	int drop_views;		/* clean: drop the views a recreated table
				 * takes along that the snapshot lacks
				 * (rs_plan_opts) */
	/* rollback: tables to drop (schema, name pairs, NULL-terminated):
	 * those the restore being undone created */
	const char *const *drop_tables;
	/* rollback: large objects to unlink (those the restore being
	 * undone created; rs_lo_unlink) */
	const uint32_t *unlink_los;
	size_t nunlink_los;
	volatile sig_atomic_t *interrupt;
	/* the target again, for the parallel load's other connections and
	 * its undo (NULL: everything over c) */
	const struct pg_conn_info *ci;
	/* before each step ("roles", "drop", "ddl", "load", "post-data",
	 * "verify", "commit"; t set for "load" and "verify") */
	void (*progress)(void *ctx, const char *step,
			 const struct rs_meta_table *t);
	void *progress_ctx;
	/* once the plan is built in the restore's transaction, before
	 * anything changes (may be NULL): the caller shows it, and may
	 * refuse it (a negative errno: rs_exec_run rolls back and returns
	 * it, nothing was changed) */
	int (*on_plan)(void *ctx, const struct rs_plan *p);
	void *plan_ctx;
};

/*
 * Restores the selection of src (read through in) into the database c
 * is connected to.  c must be idle (no open transaction).  log (may be
 * NULL) is filled as the restore goes; the caller sets its snapshot,
 * target and safety_snapshot.  When plan is not NULL the plan is handed
 * over (rs_plan_free), also after a failure past planning.
 *
 * Returns 0 once committed (or, dry_run, once planned), or:
 *   -EEXIST      the plan has conflicts or blocking requirements:
 *                nothing was changed (err lists them)
 *   -EBADMSG     verification failed, or the snapshot's rows do not
 *                match its meta.json: rolled back (err names the table)
 *   -ECONNRESET  the connection was lost: the server rolls back
 *   -EINTR       interrupted: rolled back
 *   other pg-conn errors for a failing statement: rolled back
 */
int rs_exec_run(PGconn *c, const struct rs_input *in,
		const struct rs_plan_source *src, const struct rs_select *sel,
		const struct rs_exec_opts *o, struct rs_log *log,
		struct rs_plan **plan, struct buf *err);

#endif

/*
 * rs-lo: the large objects of a snapshot, restored.
 *
 * `vault snapshot --db` keeps each large object's bytes as
 * db/large_objects/<oid> and their count in meta.json; pg_dump
 * --schema-only (schema.sql) does not carry them.  Here:
 *
 *  - listing: the oids a snapshot holds, read through the input's list
 *    operation and checked against meta.json (a name that is not an
 *    oid, or a count that differs, is a damaged snapshot);
 *  - selection: large objects belong to the `data` part, and only to a
 *    restore nothing narrows to schemas or tables;
 *  - plan: which oids exist in the target already.  empty mode: each
 *    one is a conflict.  merge and clean mode: the missing ones are
 *    created, existing ones are kept (clean mode says so in a warning:
 *    the safety snapshot does not capture large objects, so replacing
 *    one could not be rolled back);
 *  - exec: each one to create is created with its own oid, its bytes
 *    streamed in (bounded memory) and read back to compare length and
 *    XXH3-128, inside the restore's transaction; then its owner, grants
 *    and comment (rs-lo-meta.c);
 *  - rollback: unlinking the ones a restore created.
 *
 * Owners, grants and comments (rs-lo-meta.c): the large objects a
 * restore creates get those of db/large_objects.sql, judged by
 * rs-sanitize for the target; a snapshot without that file (older
 * ones) leaves them owned by the restoring role.
 */
#ifndef VAULT_RS_LO_H
#define VAULT_RS_LO_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <libpq-fe.h>
#include "buf.h"
#include "rs-exec.h"
#include "rs-input.h"
#include "rs-log.h"
#include "rs-plan.h"
#include "rs-select.h"

/* 1 when the selection takes the snapshot's large objects: the data
 * part is selected and no --schema or --table narrows it. */
int rs_lo_selected(const struct rs_select *sel);

/*
 * Lists root/large_objects/ through in: *oids (malloc'ed, ascending;
 * NULL when none) and *n.  expect is meta.json's count.  An input
 * without a list operation gives 0 with *unlisted = 1 when expect is
 * not 0 (the plan then warns: they cannot be restored from it).
 * Returns 0, -ENOMEM, the input's error, or -EBADMSG when a name is not
 * a decimal oid (1..4294967295) or the count differs from expect (err
 * names the name or both counts).
 */
int rs_lo_list(const struct rs_input *in, const char *root, size_t expect,
	       uint32_t **oids, size_t *n, int *unlisted, struct buf *err);

/*
 * The plan's part (called by rs_plan_build once the rest is planned):
 * fills p->lo_*, and adds the conflicts (empty mode: "large object N
 * already exists") and warnings.  Only reads.  0, -ENOMEM, or a
 * pg-conn errno with err naming the query.
 */
int rs_lo_plan(struct rs_plan *p, PGconn *c, const struct rs_plan_source *src,
	       const struct rs_select *sel, struct buf *err);
/* "Large objects: N to create, M kept\n" (nothing when the snapshot has
 * none). */
int rs_lo_plan_text(const struct rs_plan *p, const struct rs_plan_source *src,
		    struct buf *out);
/* {"snapshot": S, "selected": b, "create": N, "keep": M} */
int rs_lo_plan_json(const struct rs_plan *p, const struct rs_plan_source *src,
		    struct buf *out);

/*
 * The executor's large-object step, on c, which is inside the restore's
 * transaction (a failure leaves the rollback to the caller): a rollback
 * first unlinks o->unlink_los; then every large object the plan creates
 * is created with its oid, filled and verified.  log (may be NULL) gets
 * the counts and the oids created.  o->interrupt is checked between
 * pieces.  Returns 0, -EBADMSG when a large object read back differs
 * from what was written, -EINTR, or a pg-conn errno; err names the
 * large object and carries the server's message.
 */
int rs_lo_restore(PGconn *c, const struct rs_input *in,
		  const struct rs_plan_source *src, const struct rs_plan *p,
		  struct rs_log *log, const struct rs_exec_opts *o,
		  struct buf *err);

/*
 * rs-lo-meta.c, the plan's part (rs_lo_plan calls it): p->nlo_skipped,
 * the statements of large_objects.sql about large objects to create
 * that this target skips.  0 or -ENOMEM.
 */
int rs_lo_meta_plan(struct rs_plan *p, const struct rs_plan_source *src);
/*
 * rs-lo-meta.c, once the large objects are created (rs_lo_restore calls
 * it): runs large_objects.sql's statements about those the restore
 * created, on c, and logs (log may be NULL) each one this target skips.
 * 0, -ENOMEM or a pg-conn errno (err names the statement).
 */
int rs_lo_meta_apply(PGconn *c, const struct rs_plan_source *src,
		     const struct rs_plan *p, struct rs_log *log, struct buf *err);

/*
 * Rollback: unlinks the n large objects of oids that still exist (one
 * gone already is no error), on c, inside the caller's transaction;
 * *done (may be NULL) gets how many were there.  0 or a pg-conn errno
 * (err says what failed, with the server's message).
 */
int rs_lo_unlink(PGconn *c, const uint32_t *oids, size_t n, size_t *done,
		 struct buf *err);

#endif

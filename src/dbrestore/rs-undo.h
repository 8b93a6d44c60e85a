/*
 * rs-undo: undoing what a restore's first transaction created, for the
 * parallel load.
 *
 * Other connections cannot write into tables a transaction has not
 * committed, so a parallel restore commits its DDL first (new schemas,
 * types, functions, empty tables, roles), loads the rows over several
 * connections and finishes in a last transaction.  If anything fails
 * after that first commit, the target must still end up as it was: the
 * undo drops every object the first transaction created.
 *
 * The undo is proven before that commit.  rs_undo_begin fingerprints the
 * catalogs (every entry's content: namespaces, relations, columns,
 * types, functions, extensions, roles, memberships, comments, default
 * privileges...) and keeps what a revert would need (grants, owners of
 * schemas, comments).  rs_undo_prepare, just before the commit, lists
 * what is new and what changed, writes the statements that put the
 * changed entries back (grants, comments, the owner of schema public,
 * default privileges of roles that exist) and that drop the new objects,
 * runs them inside a savepoint, fingerprints again and requires the
 * result to equal the first fingerprint exactly, then rolls the
 * savepoint back.  When it does not (an object of a kind vault cannot
 * drop, a change it cannot put back), the restore does not go parallel:
 * it goes on in its one transaction.
 */
#ifndef VAULT_RS_UNDO_H
#define VAULT_RS_UNDO_H

#include <stddef.h>
#include <stdint.h>
#include <libpq-fe.h>
#include "buf.h"

struct rs_undo;

/* Fingerprints the catalogs on c (inside the restore's transaction,
 * before it changes anything).  0, -ENOMEM or a pg-conn errno. */
int rs_undo_begin(struct rs_undo **u, PGconn *c, struct buf *err);

/* The large objects the restore created (n oids, copied): the
 * rehearsal unlinks them before it looks, as `vault rollback` does before
 * it runs the statements.  0 or -ENOMEM. */
int rs_undo_unlinks(struct rs_undo *u, const uint32_t *oids, size_t n);

/*
 * The undo of everything since rs_undo_begin, rehearsed on c (same
 * transaction).  Returns 0 when proven, 1 when it cannot be (why says
 * what stands in the way; the transaction is as it was), or a negative
 * errno (a lost connection...).
 */
int rs_undo_prepare(struct rs_undo *u, PGconn *c, struct buf *why,
		    struct buf *err);

/*
 * The undo of everything since rs_undo_begin as rs_undo_prepare lists
 * it (statements, created and changed entries), without the rehearsal:
 * for the rollback a restore's log offers, which `vault rollback`
 * proves when it runs (rs_undo_rollback).  Leaves what rs_undo_run runs
 * as it was.  Returns 0, 1 when only a rehearsal can tell (an entry that
 * existed before is gone, and no statement of the undo brings it back:
 * call rs_undo_prepare), or a negative errno.
 */
int rs_undo_list(struct rs_undo *u, PGconn *c, struct buf *err);

/* The statements rs_undo_prepare or rs_undo_list made last, in the
 * order they run. */
size_t rs_undo_count(const struct rs_undo *u);
const char *rs_undo_stmt(const struct rs_undo *u, size_t i);

/* The "catalog\tkey" of every entry new since rs_undo_begin, sorted
 * (after rs_undo_prepare): what a later rollback may drop. */
size_t rs_undo_created_count(const struct rs_undo *u);
const char *rs_undo_created_key(const struct rs_undo *u, size_t i);

/* The "catalog\tkey\tbefore\tafter" of every entry that existed and
 * was changed (after rs_undo_prepare), sorted, with its fingerprints
 * before and after the restore: what a later rollback puts back. */
size_t rs_undo_changed_count(const struct rs_undo *u);
const char *rs_undo_changed_entry(const struct rs_undo *u, size_t i);

/*
 * vault rollback of an empty-mode restore, inside the caller's
 * transaction on c (the large objects it created unlinked already):
 * runs stmts (the restore's undo, from its log) and checks that every
 * catalog entry they removed or changed is among created (sorted keys,
 * from the log) or changed (sorted, from the log), and that each changed
 * one held what the restore left in it and now holds what it held
 * before: nothing made or changed since by someone else (a view on a
 * restored table, a column added to one, a key pointing at one, a grant
 * on schema public) goes with them; and that no entry among created is
 * left (the log's statements are not rehearsed when the restore
 * commits: this is their proof).  Returns 0 when done (the caller
 * commits), 1 when something else would go, something would stay or
 * the server refuses a statement (why names up to three, or the
 * statement; the statements were undone), or a negative errno.
 */
int rs_undo_rollback(PGconn *c, const char *const *stmts, size_t nstmts,
		     const char *const *created, size_t ncreated,
		     const char *const *changed, size_t nchanged,
		     struct buf *why, struct buf *err);

/* Runs the undo rs_undo_prepare proved last in a transaction of its
 * own on c (idle).  0, or a
 * pg-conn errno with err naming the statement that failed. */
int rs_undo_run(const struct rs_undo *u, PGconn *c, struct buf *err);

void rs_undo_free(struct rs_undo *u);

#endif

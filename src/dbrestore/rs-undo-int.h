/*
 * rs-undo-int: what the parts of the undo share (not an API: callers
 * use rs-undo.h).
 *
 * The parts stand on one another in one direction:
 *   rs-undo         proving the undo (the rehearsal), the rollback, running it
 *   rs-undo-revert  statements that put back what the restore changed in
 *                   entries that existed (grants, comments, owners,
 *                   default privileges)
 *   rs-undo-drop    statements that drop what the restore created
 *   rs-undo-fp      the catalogs' fingerprint and the values kept for a
 *                   revert; sorted "catalog\tkey\t..." lines
 * Every function that takes a connection runs its queries on it and
 * returns 0 or a pg-conn errno with err naming the query (-ENOMEM).
 */
#ifndef VAULT_RS_UNDO_INT_H
#define VAULT_RS_UNDO_INT_H

#include <stddef.h>
#include <stdint.h>
#include <libpq-fe.h>
#include "buf.h"

/* ---- rs-undo-fp: fingerprints ------------------------------------------- */

/* "cat\tkey\t..." lines sorted by "cat\tkey" (bytewise, the order of
 * rs_undo_keycmp) */
struct rs_undo_fp {
	char **v;
	size_t n;
	/* a fingerprint rs_undo_fp_take took (else NULL, 0, 0): per line
	 * the row version (xmin and ctid) of an entry digested by what it
	 * holds ("" for the others); the oldest transaction that was still
	 * running (its low 32 bits); the highest oid a key names */
	char **ver;
	uint32_t xmin;
	uint64_t maxoid;
};

/*
 * The catalogs' fingerprint: one line per entry, "cat\tkey\tfp", where
 * fp is a digest of what the entry holds (a grant taken back gives the
 * entry its old fingerprint again).  Temporary objects are left out.
 */
int rs_undo_fp_take(struct rs_undo_fp *f, PGconn *c, struct buf *err);

/*
 * The same fingerprint, taken later in the transaction that took base
 * (rs_undo_fp_take), for less: a row version that base holds is the
 * same tuple, so its digest is base's, and the server digests only the
 * rows written since base (a transaction id not older than base's
 * oldest running one) of entries that may have been there (keyed by an
 * oid not above base's highest).  An entry the server did not digest
 * whose version is not base's gets a fingerprint no digest equals
 * ("new <version>" when base lacks it, else "unread <version>"): it can
 * only count as changed, never as the same.
 */
int rs_undo_fp_since(struct rs_undo_fp *f, PGconn *c, const struct rs_undo_fp *base,
		     struct buf *err);

/*
 * What a revert needs to know of entries as they were: "cat\tkey\tjson"
 * for schemas ({"owner", "acl"}), the grants of relations, columns,
 * routines, types, languages, foreign-data wrappers and servers and of
 * default privileges that have any ({"acl"}), and comments
 * ({"comment"}; on built-in objects only those of schemas, extensions
 * and languages).
 */
int rs_undo_fp_values(struct rs_undo_fp *f, PGconn *c, struct buf *err);

void rs_undo_fp_release(struct rs_undo_fp *f);

/* The length of line's "cat\tkey" part. */
size_t rs_undo_keylen(const char *line);
/* Compares the "cat\tkey" parts of two lines. */
int rs_undo_keycmp(const char *a, const char *b);
/* The line of f whose key is line's, or NULL (binary search). */
const char *rs_undo_fp_find(const struct rs_undo_fp *f, const char *line);
/* 1 when line's catalog is cat. */
int rs_undo_is_cat(const char *line, const char *cat);
/* The part of line after its second tab ("" when none). */
const char *rs_undo_rest(const char *line);

/*
 * Walks after against before (both sorted): fn(ctx, line, old) for each
 * entry of after whose key before lacks (old NULL) or whose line differs
 * (old: before's line).  A negative return stops the walk and is its
 * result.
 */
int rs_undo_fp_walk(const struct rs_undo_fp *before, const struct rs_undo_fp *after,
		    int (*fn)(void *ctx, const char *line, const char *old), void *ctx);

/* Appends s to a text[] literal being built ("{" first, "}" last):
 * quoted, with a comma before all but the first.  0 or -ENOMEM. */
int rs_undo_array_add(struct buf *a, const char *s, size_t len);

/* ---- rs-undo-drop: dropping what was created ---------------------------- */

/* The new entries as array literals for the queries: those that are
 * objects of their own (catalogs text[], oids oid[]), every new entry
 * keyed by an oid (a constraint, a default privilege...: all_cats,
 * all_oids), and the new roles (oid[]). */
struct rs_undo_new {
	struct buf cats, oids;
	size_t n;
	struct buf all_cats, all_oids;
	struct buf roles;
	size_t nroles;
};

/* The keyword of DROP (how RS_UNDO_KIND_DROP) or COMMENT (how
 * RS_UNDO_KIND_COMMENT) for an object of pg_identify_object's type, or
 * NULL when there is none. */
#define RS_UNDO_KIND_DROP 1u
#define RS_UNDO_KIND_COMMENT 2u
const char *rs_undo_kind(const char *type, unsigned how);

/* SQL: an object's name as DROP and COMMENT read it, in terms of o.cls
 * (its catalog, regclass), o.objid and i (pg_identify_object's row of
 * it, with the sub-object's id when there is one). */
extern const char rs_undo_drop_name_sql[];

/* Fills n (released by rs_undo_new_release) from before and after. */
int rs_undo_new_list(struct rs_undo_new *n, const struct rs_undo_fp *before,
		     const struct rs_undo_fp *after);
void rs_undo_new_release(struct rs_undo_new *n);

/*
 * Appends to *v the statements that drop the new objects (n), newest
 * first within each rank: objects in schemas, extensions, schemas; then
 * a REVOKE for each membership granted between roles that existed.  The
 * new roles are not dropped here: rs_undo_drop_roles, once the rest has
 * run.
 */
int rs_undo_drop_build(PGconn *c, const struct rs_undo_fp *before,
		       const struct rs_undo_fp *after, const struct rs_undo_new *n,
		       char ***v, size_t *nv, struct buf *err);

/*
 * Appends the drops of the new roles (n->roles), newest first, run
 * after everything else: a role that still owns or holds something in
 * this database or the cluster's shared catalogs (a default privilege, a
 * grant on a catalog, a large object) gets DROP OWNED BY first.
 */
int rs_undo_drop_roles(PGconn *c, const struct rs_undo_new *n, char ***v,
		       size_t *nv, struct buf *err);

/* ---- rs-undo-revert: putting back what was changed ---------------------- */

/*
 * Appends to *v the statements that give the entries of after that
 * existed in before with another fingerprint, and the new comments and
 * default privileges on objects that existed, what they held before
 * (vals, from rs_undo_fp_values): GRANT/REVOKE to the old grants, the old
 * owner of a schema, COMMENT ... IS the old comment (or NULL),
 * ALTER DEFAULT PRIVILEGES back to the old or built-in ones, and
 * ALTER ROLE ... RESET ALL for the new settings of a role that existed.
 * Entries it cannot put back are left to the proof, which then fails.
 */
int rs_undo_revert_build(PGconn *c, const struct rs_undo_fp *before,
			 const struct rs_undo_fp *after, const struct rs_undo_fp *vals,
			 const struct rs_undo_new *n, char ***v, size_t *nv,
			 struct buf *err);

#endif

/*
 * pg-rowdiff: the rows of one table in two snapshots compared: how many
 * were added, removed and changed, reading each side's data.sql as a
 * stream, in bounded memory whatever the table's size.
 *
 * Rows are matched by the primary key when both sides have the same one
 * (the same columns in the same order, all captured), else the table is
 * compared as a multiset of rows: added and removed copies, no
 * "changed".  Key fields compare by their COPY text: a key whose text
 * changed (even to an equal value, 1.5 to 1.50) is one row removed and
 * one added.  Rows compare by the columns both sides have (a column
 * added or dropped is a change of the table's definition, not of every
 * row), through a 128-bit XXH3 of their fields.
 *
 * How (the rule, correctness first):
 *   1. merge: the capture wrote the rows of a table with a key ORDER BY
 *      the key, in the database's own order for the key's types and
 *      collation, which vault cannot reproduce in general.  It does not
 *      need to: a merge is right under ANY total order in which both
 *      sides are strictly increasing.  So each key column is compared
 *      as a number when the first rows hold decimal numbers (integers,
 *      numeric: -?digits[.digits]), else as bytes (uuid, C-collated
 *      text, ISO dates and timestamps in the capture's UTC), and every
 *      row is checked to come strictly after the one before it on its
 *      side.  If all rows of both sides pass, the counts are exact.
 *   2. otherwise (a row out of that order, a number column holding
 *      something else, two texts that compare equal): the merge's
 *      counts are thrown away and both sides are read again in step,
 *      matching keys through pg-rowdiff-store (memory, then a
 *      temporary database on disk): right whatever the order.
 *   Tables without a key always go the second way, counting copies of
 *   each row.
 * Each side's row count must be the one meta.json records.
 */
#ifndef VAULT_PG_ROWDIFF_H
#define VAULT_PG_ROWDIFF_H

#include <stddef.h>
#include <stdint.h>
#include "buf.h"
#include "pg-copyrow.h"

/* One side's table, as its meta.json describes it. */
struct pg_rowdiff_table {
	struct pg_copyrow_table t;	/* schema, name, columns */
	char *const *pk;		/* primary key columns, in key order */
	size_t npk;			/* 0: none */
	uint64_t rows;			/* rows it records (checked);
					 * UINT64_MAX: not checked */
};

/* Where the two data.sql files come from.  Side 0 is before, 1 after.
 * Both sides are open at once; a side is opened again (from its first
 * byte) after it was closed when the merge gives up. */
struct pg_rowdiff_io {
	void *ctx;
	/* Opens side; *read and *rctx then give its bytes.  0 or a
	 * negative errno (err says why). */
	int (*open)(void *ctx, int side, pg_copyrow_read_fn *read,
		    void **rctx, struct buf *err);
	/* Closes side, read to its end or not.  NULL-safe as to state. */
	void (*close)(void *ctx, int side);
};

enum pg_rowdiff_method {
	PG_ROWDIFF_MERGE,	/* by key, in order */
	PG_ROWDIFF_MATCH,	/* by key, matched through the store */
	PG_ROWDIFF_MULTISET,	/* no common key: copies counted */
};

struct pg_rowdiff_opts {
	int no_merge;		/* go the second way at once (tests) */
	size_t mem;		/* the store's memory budget (0: default) */
	size_t cache_kib;	/* its database's page cache (0: default) */
};

struct pg_rowdiff_result {
	enum pg_rowdiff_method method;
	uint64_t rows_before, rows_after;
	uint64_t added, removed;
	uint64_t changed;	/* 0 for a multiset */
	int spilled;		/* the store went to disk */
	char why[160];		/* why the merge gave up ("" if it did not) */
};

/* Compares before's rows with after's.  0 with res filled, or a
 * negative errno: the source's, -EBADMSG for a data.sql that is not
 * what its meta.json says (err names the table and row), -ENOMEM, or
 * the store's. */
int pg_rowdiff_run(const struct pg_rowdiff_table *before,
		   const struct pg_rowdiff_table *after,
		   const struct pg_rowdiff_io *io,
		   const struct pg_rowdiff_opts *o,
		   struct pg_rowdiff_result *res, struct buf *err);

/* The method's name: "merge", "match", "multiset". */
const char *pg_rowdiff_method_name(enum pg_rowdiff_method m);

#endif

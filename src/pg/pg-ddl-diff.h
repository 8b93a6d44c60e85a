/*
 * pg-ddl-diff: the schema objects of two snapshots compared: which were
 * added, dropped or changed.  Pure: no connection, no I/O.
 *
 * An object is a pg_dump-style section (pg-ddl.h: db/schema.sql,
 * roles.sql, large_objects.sql), known by its header's Type, Schema and
 * Name; several sections with one identity (pg_dump flattens newlines
 * in names) are paired in dump order.  It changed when its text did,
 * header included (so a new owner is a change).  sequences.sql has no
 * sections: each setval line is an object of type "SEQUENCE SET" known
 * by its sequence, whose text is the value and is_called.
 *
 * Texts from two different pg_dump versions may differ where nothing
 * changed; objects compare as the dump wrote them.
 */
#ifndef VAULT_PG_DDL_DIFF_H
#define VAULT_PG_DDL_DIFF_H

#include <stddef.h>
#include "pg-ddl.h"

enum pg_ddl_change {
	PG_DDL_ADDED,
	PG_DDL_DROPPED,
	PG_DDL_CHANGED,
};

struct pg_ddl_diff_item {
	enum pg_ddl_change change;
	const char *type, *schema, *name;	/* "" where there is none */
	/* the table it belongs to (pg-ddl.h), NULL for none */
	const char *rel_schema, *rel_name;
	/* its text before and after (NULL where absent) */
	const char *before, *after;
	size_t before_len, after_len;
};

/* Called per object added, dropped or changed, in the order of (type,
 * schema, name); a non-zero return stops the diff and is returned. */
typedef int (*pg_ddl_diff_fn)(void *ctx, const struct pg_ddl_diff_item *it);

/* The sections of a against b (either may be NULL: none).  0, -ENOMEM,
 * or fn's return. */
int pg_ddl_diff(const struct pg_ddl *a, const struct pg_ddl *b,
		pg_ddl_diff_fn fn, void *ctx);

/* The setval statements of two sequences.sql texts (either may be
 * empty).  Other lines are ignored.  0, -ENOMEM, or fn's return. */
int pg_ddl_diff_setvals(const char *a, size_t alen, const char *b,
			size_t blen, pg_ddl_diff_fn fn, void *ctx);

#endif

/*
 * rs-extcfg: extensions' configuration tables and sequences
 * (pg_extension_config_dump), restored as pg_restore does.
 *
 * CREATE EXTENSION makes such a table, often with rows of its own (those
 * the extension's filter leaves out, "WHERE NOT standard"), so the
 * snapshot holds only the rows the filter selects (meta.json's
 * "extension_tables"), and a configuration sequence's value
 * (sequences.sql, "extension_sequences").  A restore plans them here,
 * after the ordinary tables:
 *
 *  - the table's "DDL" is its extension's: run when the restore creates
 *    the extension, kept when the target has it; a table neither there
 *    nor made by the restore is a conflict;
 *  - rows: empty mode appends them (a target whose table already holds
 *    rows of the filter's is a conflict; on a managed target, where the
 *    platform's extensions live in its managed schemas, those rows are
 *    the platform's and the table is skipped), clean mode deletes the
 *    filter's rows (never the extension's own) and loads, merge mode
 *    merges on the primary key; never in the parallel load, whose
 *    TRUNCATE would take the extension's rows too;
 *  - a table this role may not write (a platform's pg_cron on a
 *    managed target) is skipped, and the plan says why;
 *  - a sequence's value is set when its extension's configuration is
 *    restored: one of its tables loads, or, with none in the snapshot,
 *    the restore creates the extension with the data part selected.
 *
 * Verification reads the rows back through the same filter
 * (rs_plan_copy_sql).
 */
#ifndef VAULT_RS_EXTCFG_H
#define VAULT_RS_EXTCFG_H

#include <libpq-fe.h>
#include "buf.h"
#include "rs-plan.h"

/*
 * The plan's part, once rs_plan_loads has decided the ordinary tables
 * (which leaves these alone): each configuration table's ddl, load,
 * target_rows (the rows its filter selects), skip or conflict, and
 * p->ext_seq_set.  Reads only.  0, -ENOMEM, or a pg-conn errno with err
 * naming the table.
 */
int rs_extcfg_plan(struct rs_plan *p, PGconn *c, const struct rs_plan_source *src,
		   const struct rs_select *sel, struct buf *err);

/*
 * For the value of sequence schema.name in sequences.sql: -1 when it is
 * no configuration sequence of an extension (the ordinary rules apply),
 * else 1 to set it, 0 not to.
 */
int rs_extcfg_sequence(const struct rs_plan *p, const struct rs_plan_source *src,
		       const char *schema, const char *name);

/* "DELETE FROM ONLY s.t <filter>": what emptying a configuration table
 * means (its extension's own rows stay). */
int rs_extcfg_delete_sql(const struct rs_meta_table *t, struct buf *out);

#endif

/*
 * restore-progress: what `vault restore` and `vault rollback` show while
 * the restore engine runs: its steps (rs_exec_opts.progress) become the
 * phases of the verb's progress (cli-progress.h): "load" (the selected
 * tables' rows, in bytes read from the snapshot against meta.json's
 * sizes), "verify" (tables), and each other step ("roles", "ddl",
 * "post-data", "commit"...) by its name.  -v adds a line per table
 * loaded, -vv per table verified and per step.
 */
#ifndef VAULT_RESTORE_PROGRESS_H
#define VAULT_RESTORE_PROGRESS_H

#include <stddef.h>
#include <stdint.h>
#include "buf.h"
#include "cli.h"
#include "rs-meta.h"
#include "rs-select.h"

struct cli_phase;

struct restore_progress {
	struct cli *c;
	struct cli_phase *cur;		/* the phase shown */
	struct cli_phase *load;		/* "load" (NULL: not shown) */
	uint64_t load_bytes;		/* totals of the selected tables */
	size_t load_tables;
	size_t loads, verifies;		/* steps seen */
	struct buf label;
};

/* Zeroes rp: restore_progress_release is then safe. */
void restore_progress_init(struct restore_progress *rp);
/* The totals: the tables of m that sel loads rows into. */
void restore_progress_start(struct restore_progress *rp, struct cli *c,
			    const struct rs_meta *m,
			    const struct rs_select *sel);
/* The "load" phase, for the input that counts the rows read
 * (restore_input_count); NULL when not shown. */
struct cli_phase *restore_progress_load(const struct restore_progress *rp);
/* rs_exec_opts.progress (ctx: rp). */
void restore_progress_step(void *ctx, const char *step,
			   const struct rs_meta_table *t);
/* The engine returned: the phase shown stops. */
void restore_progress_end(struct restore_progress *rp);
void restore_progress_release(struct restore_progress *rp);

#endif

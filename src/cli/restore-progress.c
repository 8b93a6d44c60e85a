/*
 * restore-progress: the restore engine's steps as progress phases (see
 * restore-progress.h).  The engine calls the step callback one at a
 * time (its parallel workers under a mutex of its own), so the state
 * here needs no lock of its own.
 */
#include <stdio.h>
#include <string.h>

#include "cli-progress.h"
#include "restore-progress.h"

void restore_progress_init(struct restore_progress *rp)
{
	memset(rp, 0, sizeof(*rp));
	buf_init(&rp->label, 0);
}

void restore_progress_release(struct restore_progress *rp)
{
	buf_release(&rp->label);
}

void restore_progress_start(struct restore_progress *rp, struct cli *c,
			    const struct rs_meta *m,
			    const struct rs_select *sel)
{
	rp->c = c;
	for (size_t i = 0; i < m->ntables && i < sel->ntables; i++) {
		const struct rs_meta_table *t = &m->tables[i];

		if (!(sel->tables[i] & RS_SELECT_DATA) || !t->has_data)
			continue;
		rp->load_tables++;
		rp->load_bytes += t->bytes;
	}
	rp->load = cli_progress_phase(cli_progress_of(c), "load", "tables");
	cli_phase_total(rp->load, rp->load_bytes, rp->load_tables, 1);
}

struct cli_phase *restore_progress_load(const struct restore_progress *rp)
{
	return rp->load;
}

/* Shows phase ph from now on. */
static void restore_progress_show(struct restore_progress *rp,
				  struct cli_phase *ph)
{
	if (ph == rp->cur)
		return;
	cli_phase_stop(rp->cur);
	cli_phase_start(ph);
	rp->cur = ph;
}

void restore_progress_step(void *ctx, const char *step,
			   const struct rs_meta_table *t)
{
	struct restore_progress *rp = ctx;
	struct cli_progress *p = cli_progress_of(rp->c);
	struct cli_phase *ph;
	char sz[32], detail[96];
	int load = !strcmp(step, "load"), verify = !strcmp(step, "verify");

	buf_reset(&rp->label);
	if (t)
		buf_addf(&rp->label, "%s.%s", t->schema, t->name);
	if (load) {
		ph = rp->load;
		rp->loads++;
	} else if (verify) {
		ph = cli_progress_phase(p, "verify", "tables");
		cli_phase_total(ph, 0, rp->load_tables, 1);
		rp->verifies++;
	} else {
		ph = cli_progress_phase(p, step, "steps");
	}
	/* leaving the load: its last table is in */
	if (!load && rp->cur && rp->cur == rp->load && rp->loads)
		cli_phase_add(rp->load, 0, 1);
	restore_progress_show(rp, ph);
	/* a new table: the one before it is in */
	if (load)
		cli_phase_add(ph, 0, rp->loads > 1);
	else if (verify)
		cli_phase_set(ph, 0, rp->verifies - 1);
	cli_phase_item(ph, t ? (const char *)rp->label.data : NULL,
		       rp->label.len);
	if (load && t && cli_verbose(rp->c, 1)) {
		cli_human_size(t->bytes, sz, sizeof(sz));
		snprintf(detail, sizeof(detail), "%llu rows, %s",
			 (unsigned long long)t->rows, sz);
		cli_progress_detail(p, "load", (const char *)rp->label.data,
				    rp->label.len, detail);
	} else if (!load && cli_verbose(rp->c, 2)) {
		cli_progress_detail(p, verify ? "verify" : "step",
				    t ? (const char *)rp->label.data : step,
				    t ? rp->label.len : strlen(step), NULL);
	}
}

void restore_progress_end(struct restore_progress *rp)
{
	cli_phase_stop(rp->cur);
	rp->cur = NULL;
}

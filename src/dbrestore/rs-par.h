/*
 * rs-par: the parallel strategy of a restore (rs-par.c says how it
 * goes), for rs_exec_run only: other callers use rs-exec.h.
 */
#ifndef VAULT_RS_PAR_H
#define VAULT_RS_PAR_H

#include <stddef.h>
#include "rs-exec-int.h"

/* The parallel strategy, from inside the plan's transaction (x->done,
 * x->sec_done allocated); as rs_exec_run once planned. */
int rs_par_run(struct rs_exec *x);

/* Loads, verifies and commits each plan table whose done[] is to be set
 * (rs_plan_table_parallel), over up to o->jobs connections (x->c is one
 * of them; it must be idle).  0, or the first worker's error (in x->err)
 * after every worker has stopped and rolled back its table. */
int rs_par_load(struct rs_exec *x, PGconn *const *extra, size_t nextra);

#endif

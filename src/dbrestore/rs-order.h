/*
 * rs-order: the order in which restore loads tables, from their foreign
 * keys: a referenced table before the tables that reference it.  Pure:
 * the edges come from the snapshot's DDL (rs_order_add_ddl) or from the
 * target's catalog (the caller queries pg_constraint and calls
 * rs_order_edge).
 *
 * Foreign-key cycles (strongly connected components of more than one
 * table) cannot be ordered; they are reported with their constraints
 * so the executor can load them under SET CONSTRAINTS ALL DEFERRED
 * (when every constraint of the cycle is deferrable) or with
 * session_replication_role = replica and check the keys itself before
 * committing.  A table referencing itself is not a cycle: the checks of
 * one COPY run at its end.
 *
 * The order is deterministic: among tables free to go, the one added
 * first goes first.
 */
#ifndef VAULT_RS_ORDER_H
#define VAULT_RS_ORDER_H

#include <stddef.h>
#include "buf.h"
#include "pg-ddl.h"

struct rs_order_node {
	char *schema, *name;
};

struct rs_order_edge {
	size_t child, parent;	/* node indices: child references parent */
	char *constraint;
	int deferrable;
};

struct rs_order_cycle {
	size_t *nodes;		/* in node order */
	size_t n;
	size_t *edges;		/* the edges inside the cycle */
	size_t nedges;
	int deferrable;		/* every one of them is */
};

struct rs_order {
	struct rs_order_node *nodes;
	size_t nnodes;
	struct rs_order_edge *edges;
	size_t nedges;
	/* after rs_order_solve */
	size_t *order;		/* nnodes node indices, load order */
	struct rs_order_cycle *cycles;
	size_t ncycles;
	size_t *cycle_of;	/* per node: cycle index + 1, or 0 */
};

void rs_order_init(struct rs_order *o);
void rs_order_release(struct rs_order *o);

/* Adds a table (duplicates are ignored); returns its index or -ENOMEM. */
long rs_order_node(struct rs_order *o, const char *schema, const char *name);
/* The index of a table, or -1. */
long rs_order_find(const struct rs_order *o, const char *schema,
		   const char *name);
/* child references parent through constraint.  Edges touching a table
 * that is not a node are ignored (they do not constrain the load).
 * 0 or -ENOMEM. */
int rs_order_edge(struct rs_order *o, const char *cschema, const char *cname,
		  const char *pschema, const char *pname,
		  const char *constraint, int deferrable);

/*
 * Reads "ALTER TABLE [ONLY] s.t ADD CONSTRAINT c FOREIGN KEY (...)
 * REFERENCES s2.t2(...) ... [DEFERRABLE]" (a pg_dump FK CONSTRAINT
 * entry).  0, or -EINVAL when the text is not one.
 */
int rs_order_parse_fk(const char *sql, size_t len, struct buf *cschema,
		      struct buf *cname, struct buf *constraint,
		      struct buf *pschema, struct buf *pname, int *deferrable);
/* Every FK CONSTRAINT section of d as edges.  0 or -ENOMEM. */
int rs_order_add_ddl(struct rs_order *o, const struct pg_ddl *d);

/* Computes order and cycles (may be called again after more edges). */
int rs_order_solve(struct rs_order *o);

/* "public.teams -> public.players (teams_captain_fkey), ..." */
int rs_order_describe_cycle(const struct rs_order *o, size_t k,
			    struct buf *out);

#endif

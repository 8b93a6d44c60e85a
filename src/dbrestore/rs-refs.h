/*
 * rs-refs: what one statement of a dump needs to exist before it can
 * run, read from its tokens.  Pure: no connection.
 *
 * The plan (rs-plan-check) asks, for every statement a restore would
 * run, which objects it names that must already be there: the table a
 * foreign key references, a partition's parent, a column's type, a
 * routine's argument and result types and its language, the function a
 * trigger executes, the relations a view, a rule or a BEGIN ATOMIC body
 * reads or writes, the roles an OWNER TO, GRANT or policy names...  Any
 * of those the target lacks and the restore does not create makes the
 * statement fail, and the plan can say so before anything is written.
 *
 * pg_dump writes every name outside pg_catalog schema-qualified (its
 * search_path is empty), so only qualified names are reported: an
 * unqualified one is a built-in (integer, now(), a CTE's name) or an
 * alias.  Where a name's meaning depends on grammar this reader does not
 * follow to the end (an expression's function calls, an index's
 * operator classes), nothing is reported: a reference missed only means
 * the plan predicts less, a wrong one would refuse a good restore.
 */
#ifndef VAULT_RS_REFS_H
#define VAULT_RS_REFS_H

#include <stddef.h>

/* The kinds of objects referred to (the probe's letters, rs-plan-int.h). */
#define RS_REFS_RELATION	'r'
#define RS_REFS_TYPE		't'
#define RS_REFS_ROUTINE		'f'	/* with exactly these arguments
					 * (extra: "" for none) */
#define RS_REFS_ROUTINE_ANY	'g'	/* of that name, any arguments */
#define RS_REFS_COLLATION	'l'
#define RS_REFS_LANGUAGE	'L'
#define RS_REFS_SERVER		's'
#define RS_REFS_WRAPPER		'w'
#define RS_REFS_SCHEMA		'n'
#define RS_REFS_PUBLICATION	'p'
#define RS_REFS_ROLE		'R'

struct rs_refs_ref {
	char kind;
	const char *schema;	/* "" for kinds without one */
	const char *name;
	const char *extra;	/* "" unless the kind says */
	const char *why;	/* how the statement uses it, a verb for
				 * messages: "<statement> <why> <kind> <name>"
				 * ("references", "has a column of") */
};

/* Called once per reference; a negative return stops the reading and
 * is its result.  The strings live until fn returns. */
typedef int rs_refs_fn(void *arg, const struct rs_refs_ref *ref);

/*
 * Reads statement sql[0..len) and calls fn for what it needs.  A
 * statement it cannot read reports nothing.  0, -ENOMEM, or fn's
 * negative result.
 */
int rs_refs_stmt(const char *sql, size_t len, rs_refs_fn *fn, void *arg);

#endif

/*
 * rs-plan-int.h: shared by the parts of rs-plan only (not an API).
 *
 * The plan is built on floors, each part calling only the ones below:
 *
 *   rs-plan-print.c   the plan as text and JSON
 *   rs-plan.c         deciding: rs_plan_build and the public entry points
 *   rs-plan-read.c    what the snapshot says, without the target
 *
 * Nothing here prints; errors are 0 or a negative errno.
 */
#ifndef VAULT_RS_PLAN_INT_H
#define VAULT_RS_PLAN_INT_H

#include <stddef.h>
#include "buf.h"
#include "pg-ddl.h"
#include "rs-plan.h"
#include "rs-sanitize.h"

/* ---- rs-plan-read.c: the snapshot's DDL read for the plan ---------------- */

/* 1 when type is one of the NULL-terminated set. */
int rs_plan_read_type_in(const char *type, const char *const *set);

/* 1 when s is one of pg_dump's post-data entries (indexes, constraints,
 * triggers, policies ...): created after the rows are loaded. */
int rs_plan_read_post_data(const struct pg_ddl_section *s);

/* The object of p (among p->objects, sections of d) that a dependent
 * section s (COMMENT, ACL ...) is about, or NULL. */
const struct rs_plan_object *rs_plan_read_parent(const struct rs_plan *p,
						 const struct pg_ddl *d,
						 const struct pg_ddl_section *s);

/*
 * "ALTER PUBLICATION p ADD TABLE [ONLY] s.t" (section s of d): key is
 * reset to "p\ns\nt" (the form rs-plan-probe lists memberships in), ts
 * and tn get the table.  0, -EINVAL when the statement does not read
 * that way, or -ENOMEM.
 */
int rs_plan_read_pubtable(const struct pg_ddl *d, const struct pg_ddl_section *s,
			  struct buf *key, struct buf *ts, struct buf *tn);

/* Sets o->drop_sql to "DROP <kind> IF EXISTS s.n;" for the kinds clean
 * mode drops and recreates (views, sequences, types ...); leaves it
 * NULL for the others.  0 or -ENOMEM. */
int rs_plan_read_drop_sql(struct rs_plan_object *o, const struct pg_ddl_section *s);

/* What a roles.sql statement other than CREATE ROLE is about. */
enum rs_plan_read_about {
	RS_PLAN_READ_OTHER,	/* anything else, or unreadable */
	RS_PLAN_READ_ROLE,	/* ALTER ROLE r SET ...: key = r */
	RS_PLAN_READ_MEMBER,	/* GRANT r TO m: key = "r\nm" */
};

/* Reads statement st (of section s, text the roles.sql text); key is
 * reset and filled as the result says. */
enum rs_plan_read_about rs_plan_read_role_stmt(const char *text,
					       const struct rs_sanitized_stmt *st,
					       const struct pg_ddl_section *s,
					       struct buf *key);

#endif

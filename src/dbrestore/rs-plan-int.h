/*
 * rs-plan-int.h: shared by the parts of rs-plan only (not an API).
 *
 * The plan is built on floors, each part calling only the ones below:
 *
 *   rs-plan.c         deciding: rs_plan_build and the public entry points
 *   rs-plan-clean.c   clean mode: reload or recreate each table, and the
 *                     views that go with a table recreated
 *   rs-plan-same.c    clean mode: objects other than tables, kept when
 *                     they match, and what their drops take along
 *   rs-plan-drift.c   whether a table's definition is the snapshot's
 *   rs-plan-check.c   what would fail: references nothing provides
 *   rs-plan-req.c     requirements: extensions, roles, publications ...
 *   rs-plan-probe.c   the target's catalogs: what exists, what hangs on it
 *   rs-plan-read.c    what the snapshot says, without the target
 *   rs-plan-key.c     the kind and catalog key of what a section creates
 *
 * rs-plan-print.c (the plan in words: names, text, JSON) only reads a
 * built plan and needs none of this header.
 *
 * Nothing here prints; errors are 0 or a negative errno.
 */
#ifndef VAULT_RS_PLAN_INT_H
#define VAULT_RS_PLAN_INT_H

#include <stddef.h>
#include <libpq-fe.h>
#include "buf.h"
#include "pg-ddl.h"
#include "rs-plan.h"
#include "rs-sanitize.h"

/* ---- rs-plan-read.c: the snapshot's DDL read for the plan ---------------- */

/* 1 when type is one of the NULL-terminated set. */
int rs_plan_read_type_in(const char *type, const char *const *set);

/* "ALTER TABLE [ONLY] s.t ATTACH PARTITION ..." (a TABLE ATTACH section
 * s of d): schema and name are reset to s and t.  0, -EINVAL when the
 * statement does not read that way, or -ENOMEM. */
int rs_plan_read_attach_parent(const struct pg_ddl *d, const struct pg_ddl_section *s,
			       struct buf *schema, struct buf *name);

/* The plan table of schema.name (the snapshot's names), or NULL. */
struct rs_plan_table *rs_plan_read_table_of(struct rs_plan *p,
					    const struct rs_plan_source *src,
					    const char *schema, const char *name);

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


/* ---- rs-plan-key.c: what the probe looks for ----------------------------- */

/*
 * The kind of object a section creates of its own and the probe can
 * look for, or 0: the section creates none (it belongs to another
 * object).  'r' relation, 't' type, 'f' routine, 'n' schema,
 * 'e' extension, 'p' publication, 'v' event trigger, 'o' operator,
 * 'c' cast, 'l' collation, 'C' conversion, 'T' 'D' 'P' 'M' text search
 * configuration, dictionary, parser, template, 'O' operator class,
 * 'F' operator family, 'w' foreign-data wrapper, 's' server,
 * 'L' procedural language, 'A' access method, 'X' transform,
 * 'S' subscription.
 */
char rs_plan_key_kind(const struct pg_ddl_section *s);

/*
 * An object as the probe looks it up: its kind (the letters above),
 * schema ("" for database-wide kinds), name, and what tells overloads
 * apart, as the catalogs' format_type writes it: a routine's argument
 * types ("integer, public.ct", "*" for an aggregate without arguments),
 * an operator's operands ("integer, NONE"), a cast's "source AS
 * target", a transform's "type LANGUAGE lang", an operator class's or
 * family's access method.  The buffers are the key's own.
 */
struct rs_plan_key {
	char kind;
	struct buf schema, name, extra;
};
/* The key of what section s (of d) creates: kind 0 when it creates
 * nothing the probe knows.  0 or -ENOMEM; release it either way. */
int rs_plan_key_of(const struct pg_ddl *d, const struct pg_ddl_section *s,
		      struct rs_plan_key *k);
/* Sets an initialized (or released and zeroed) key: 0 or -ENOMEM. */
int rs_plan_key_set(struct rs_plan_key *k, char kind, const char *schema,
			  const char *name, const char *extra);
void rs_plan_key_release(struct rs_plan_key *k);


/* ---- rs-plan-probe.c: the target's catalogs ------------------------------- */

/*
 * Every rs_plan_probe_* function that takes c runs its queries on c
 * (after rs_plan_probe_target, with search_path ''), returns 0 or a
 * pg-conn errno with err naming the query and the server's message
 * (-ENOMEM, -EPROTO for an answer of the wrong shape), and decides
 * nothing: it only fills in what the target has.
 */

/* What the target has that the decisions look names up in.  Each a
 * vector of strdup'd strings (strv), freed by the release. */
struct rs_plan_probe_facts {
	char **roles;			/* role names */
	size_t nroles;
	char **members;			/* "role\nmember" */
	size_t nmembers;
	char **pubrels;			/* "publication\nschema\ntable" */
	size_t npubrels;
	char **exts, **avail;		/* installed, available extensions */
	size_t nexts, navail;
	char **pubs;			/* publications */
	size_t npubs;
};
void rs_plan_probe_facts_release(struct rs_plan_probe_facts *f);

/* arr (a text[] literal being built: "{" then elements) += s, always
 * double-quoted, \ and " escaped.  0 or -ENOMEM. */
int rs_plan_probe_array_add(struct buf *arr, const char *s);

/* Sets search_path '' for the session, then fills p->role, database,
 * superuser, bypassrls, server_num and set_replica, and f. */
int rs_plan_probe_target(PGconn *c, struct rs_plan *p,
			 struct rs_plan_probe_facts *f, struct buf *err);

/*
 * Managed target (rs-plan.h): force -1 detects it (p->superuser and
 * p->role must be set), 0 or 1 says it.  Sets p->managed, managed_why
 * and managed_schemas.
 */
int rs_plan_probe_managed(PGconn *c, struct rs_plan *p, int force,
			  struct buf *err);

/* exists[i] = 1 when the object of key k[i] is in the target, in one
 * query that cannot raise over names that do not resolve (a kind 0
 * key is never found).  Besides the kinds above, 'g' is a routine of
 * that schema and name with any arguments. */
int rs_plan_probe_keys(PGconn *c, const struct rs_plan_key *k, size_t n,
		       unsigned char *exists, struct buf *err);

/* Sets exists of each of the n objects (their sections are in d, each
 * of a kind rs_plan_key_kind knows). */
int rs_plan_probe_exists(PGconn *c, const struct pg_ddl *d,
			 struct rs_plan_object *objects, size_t n, struct buf *err);

/* Sets exists, owned (the role is a member of the owner), has_pk,
 * readable (the role may SELECT) and target_rows (exact, by count(*);
 * left alone for missing, partitioned and unreadable tables) of the n
 * tables. */
int rs_plan_probe_tables(PGconn *c, struct rs_plan_table *tables, size_t n,
			 struct buf *err);

/* A relation found around table t: schema, name, and kind ("view",
 * "materialized view"; NULL for partitions).  A negative return stops
 * the probe and is its result. */
typedef int rs_plan_probe_rel_fn(void *arg, const struct rs_plan_table *t,
				 const char *schema, const char *name,
				 const char *kind);

/* Over the tables of p whose ddl is RS_ACT_RECREATE (none: no query):
 * the views and materialized views that depend on each, directly or
 * through other views (deepest first: each after those that depend on
 * it), and the partitions of each, handed to fn. */
int rs_plan_probe_views(PGconn *c, const struct rs_plan *p,
			rs_plan_probe_rel_fn *fn, void *arg, struct buf *err);
int rs_plan_probe_partitions(PGconn *c, const struct rs_plan *p,
			     rs_plan_probe_rel_fn *fn, void *arg, struct buf *err);

/* Over the tables of p whose ddl is RS_ACT_RECREATE: what else depends
 * on one (on it, its row type or a sequence it owns) so that DROP TABLE
 * would refuse, but for views, foreign keys, inheritance children and
 * the tables recreated (each dealt with apart): a routine, a column of
 * another table, a policy or rule of another table ..., handed to fn as
 * (t, the object as pg_describe_object names it, "", NULL). */
int rs_plan_probe_dependents(PGconn *c, const struct rs_plan *p,
			     rs_plan_probe_rel_fn *fn, void *arg, struct buf *err);

/* Over the tables of p that pick[i] marks (none: no query): the parents
 * each inherits from (partitioned or not), as fn(t, schema, name, NULL). */
int rs_plan_probe_parents(PGconn *c, const struct rs_plan *p,
			  const unsigned char *pick, rs_plan_probe_rel_fn *fn,
			  void *arg, struct buf *err);

/* Over the tables of p that pick[i] marks: the check constraints of
 * each that are NOT VALID (its own or inherited), as fn(t, name, "",
 * NULL). */
int rs_plan_probe_invalid(PGconn *c, const struct rs_plan *p,
			  const unsigned char *pick, rs_plan_probe_rel_fn *fn,
			  void *arg, struct buf *err);

/* Over the tables of p that pick[i] marks: those of the n keys (kind
 * 't' a type or domain, 'r' a sequence, 'v' a view or materialized
 * view, 'T' a table or its row type, but for a foreign key to it or a
 * child inheriting from it) that a table, its columns,
 * defaults, constraints, indexes, triggers, policies, rules or
 * statistics depend on (a type's array type counts as the type), as
 * fn(t, schema, name, "type", "sequence", "view", "materialized view"
 * or "table"). */
int rs_plan_probe_uses(PGconn *c, const struct rs_plan *p,
		       const unsigned char *pick, const struct rs_plan_key *k,
		       size_t n, rs_plan_probe_rel_fn *fn, void *arg,
		       struct buf *err);

/* A foreign key of the target; the strings live until fn returns. */
struct rs_plan_probe_fk {
	const char *name;		/* constraint */
	const char *schema, *table;	/* the referencing table */
	const char *ref_schema, *ref_table;
	const char *def;		/* pg_get_constraintdef */
	const char *cols, *ref_cols;	/* JSON arrays (rs_plan_json_names) */
	int deferrable;
	int declared;			/* on this table, not cloned from a
					 * partitioned parent's key */
	const char *comment;		/* its comment, or NULL */
};
typedef int rs_plan_probe_fk_fn(void *arg, const struct rs_plan_probe_fk *fk);

/* Every foreign key of the target, ordered by schema, table and name,
 * handed to fn; a negative return stops and is the result. */
int rs_plan_probe_fks(PGconn *c, rs_plan_probe_fk_fn *fn, void *arg,
		      struct buf *err);

/* *exists: a function named "schema.name" (split at the first dot;
 * -EINVAL without one) exists, with any arguments. */
int rs_plan_probe_function(PGconn *c, const char *qualified, int *exists,
			   struct buf *err);

/* *has: pg_cron's job table (cron.job) exists. */
int rs_plan_probe_cron(PGconn *c, int *has, struct buf *err);


/* ---- rs-plan-drift.c: a table's definition against the snapshot's ------ */

/* One table to compare (it exists in the target). */
struct rs_plan_drift {
	const struct rs_meta_table *t;
	int matches;		/* set: 1 when its definition is the snapshot's */
	struct buf why;		/* matches 0: what differs ("column x type
				 * changed, index i dropped"), or why it could
				 * not be compared; the caller releases it */
};

/*
 * Compares each of the n tables' definitions (columns, constraints,
 * indexes, triggers, policies, rules, statistics, owned sequences,
 * owner, options, partitioning; not grants and comments) with the
 * snapshot's sections of d as plan p would run them (p->san), by
 * building those in a schema of their own inside a savepoint that is
 * rolled back (outside a transaction, inside one of its own).  A table
 * whose definition cannot be built or compared does not match.  0, or a
 * pg-conn errno for a lost connection or a failing catalog query (err
 * filled); c is left as it came.
 */
int rs_plan_drift_compare(PGconn *c, const struct rs_plan *p, const struct pg_ddl *d,
			  struct rs_plan_drift *v, size_t n, struct buf *err);


/* ---- rs-plan-clean.c: clean mode -------------------------------------------- */

/*
 * Over a clean-mode plan whose objects are decided (a table that exists
 * is RS_ACT_RECREATE): each such table whose definition matches the
 * snapshot's (rs_plan_drift_compare) becomes RS_ACT_KEEP (emptied and
 * reloaded), unless it depends on a type, domain, sequence, view or
 * table the restore recreates (a policy reading it ...), or inherits from a table recreated; t->clean says
 * why for each.  0, or a probe's error.
 */
int rs_plan_clean_tables(PGconn *c, struct rs_plan *p,
			 const struct rs_plan_source *src, struct buf *err);

/*
 * Over a clean-mode plan whose tables are decided (t->ddl): the views
 * and materialized views on each table recreated that are not recreated
 * themselves are pulled into the plan from the snapshot's DDL (objects
 * marked pulled, in section order), or, when the snapshot lacks them,
 * dropped (drop_views) or named in a conflict; anything else that
 * depends on a table recreated (a routine, a policy or a column of
 * another table ...) is a conflict naming it.  0, or a probe's error.
 */
int rs_plan_clean_views(PGconn *c, struct rs_plan *p,
			const struct rs_plan_source *src, int drop_views,
			struct buf *err);

/*
 * Over a clean-mode plan whose sections are decided: a partition
 * recreated under a parent that stays (kept, or not selected) is
 * attached only after its own indexes and keys exist, as ATTACH
 * PARTITION would otherwise make the parent's indexes on it under its
 * own names, which the partition's dumped indexes and keys then
 * collide with: its TABLE ATTACH and INDEX ATTACH sections are marked
 * in p->sec_late (allocated here when there is one), for rs-exec to run
 * after the post-data.  0 or -ENOMEM.
 */
int rs_plan_clean_late(struct rs_plan *p, const struct rs_plan_source *src);

/* 1 when a section s of d that is not selected belongs to an object
 * pulled into the plan (its comment, grants, an index of a materialized
 * view ...): it runs with it. */
int rs_plan_clean_pulled(const struct rs_plan *p, const struct pg_ddl *d,
			 const struct pg_ddl_section *s);


/* ---- rs-plan-same.c: clean mode, objects other than tables ---------------- */

/*
 * Over a clean-mode plan whose objects are decided: each object other
 * than a table that exists and would be dropped and recreated (or
 * replaced) and whose sections pg_dump writes, in the target (ci; NULL:
 * none is compared), as the snapshot holds them becomes RS_ACT_KEEP with
 * o->same set; o->why says why for each (the reason when pg_dump could
 * not be run or found).  0, or a lost connection or -ENOMEM.
 */
int rs_plan_same_objects(PGconn *c, struct rs_plan *p, const struct rs_plan_source *src,
			 const struct pg_conn_info *ci, struct buf *err);

/*
 * Each routine that changed (RS_ACT_REPLACE, exists, not same) is
 * replaced by the snapshot's definition inside a savepoint rolled back
 * (outside a transaction, inside one of its own): one CREATE OR
 * REPLACE refuses (another return type, other parameter names ...)
 * becomes RS_ACT_RECREATE, dropped (o->drop_sql) and created, o->why
 * saying why.  0, or a lost connection or -ENOMEM.
 */
int rs_plan_same_replace(PGconn *c, struct rs_plan *p, const struct rs_plan_source *src,
			 struct buf *err);

/*
 * What DROP ... CASCADE of each object the plan drops one by one (types,
 * domains, views, materialized views, sequences, foreign tables, and
 * routines rs_plan_same_replace could not replace, that exist) would reach through pg_depend: a reached object kept as it
 * matched (o->same) is recreated (replaced, tried) too, until none
 * changes.  final, then: a reached object the restore does not create again
 * (not in the plan, kept, a part of a table kept) is a conflict naming
 * it; the drop of an object whose every reached object is recreated
 * says CASCADE.  0, or a probe's error.
 */
int rs_plan_same_cascade(PGconn *c, struct rs_plan *p, const struct rs_plan_source *src,
			 int final, struct buf *err);


/* ---- rs-plan-req.c: the snapshot's requirements -------------------------- */

/* p->reqs: meta.json's requirements the target (c, its facts f) lacks,
 * with what happens about each (sel says whether DDL is restored).
 * 0, or a probe's error. */
int rs_plan_req_build(PGconn *c, struct rs_plan *p, const struct rs_plan_source *src,
		      const struct rs_select *sel, const struct rs_plan_probe_facts *f,
		      struct buf *err);

/* ---- rs-plan-check.c: what would fail ------------------------------------- */

/*
 * Over a plan whose actions are decided: every statement it runs is read
 * for the objects it needs (rs-refs); those the restore does not create
 * and the target (c, and its roles: the nroles names of roles) lacks
 * become conflicts of p, each naming the statement, the missing object
 * and how to get it.  0, or a probe's error.
 */
int rs_plan_check(PGconn *c, struct rs_plan *p, const struct rs_plan_source *src,
		  char *const *roles, size_t nroles, struct buf *err);

/* 1 when section i of p's schema.sql creates something: one of the
 * statements the plan keeps for it is a CREATE (pg_dump's entry for a
 * schema every database has, whose owner changed, holds only ALTER
 * SCHEMA ... OWNER TO). */
int rs_plan_check_creates(const struct rs_plan *p, const struct pg_ddl *d, size_t i);

#endif

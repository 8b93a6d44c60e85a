/*
 * rs-plan: what a restore would do to one target, decided before
 * anything changes.  The plan reads the snapshot (meta.json, schema.sql,
 * roles.sql, sequences.sql through an rs_input) and inspects the target
 * with catalog queries, then says, for the chosen mode:
 *
 *  - per DDL section of schema.sql: run it, keep the existing object,
 *    drop and recreate it, replace it (CREATE OR REPLACE), or try it
 *    (unknown kinds in clean/merge: an "already exists" error is then
 *    tolerated inside a savepoint);
 *  - per selected table: exists?, target rows, snapshot rows, whether
 *    rows load and how (COPY, truncate + COPY, merge through a temporary
 *    table), or why not (merge mode without a primary key);
 *  - conflicts that stop the restore before any change (empty mode:
 *    objects that already exist, tables holding rows; clean mode: a
 *    partition or data that would be lost; anything missing that the
 *    selection cannot create);
 *  - requirements the target lacks (extensions, roles, publications,
 *    webhooks, pg_cron jobs from meta.json), blocking when the restore
 *    cannot work without them (an extension the target cannot install);
 *  - clean mode, per selected table that exists: emptied and reloaded
 *    when its definition matches the snapshot's, else dropped and
 *    recreated with the views and materialized views on it (from the
 *    snapshot's DDL), and why (rs-plan-clean, rs-plan-drift);
 *  - foreign keys from tables outside the selection (or kept in it)
 *    that a clean restore must drop and re-add (checking their rows),
 *    the load order and its cycles, and the strategy (one transaction).
 *
 * Managed targets: when the restoring role is not a superuser and auth
 * or storage exist under a role it is not a member of, the target is
 * managed.  Every schema owned that way (auth, storage, and any schema
 * of a reserved role) keeps its DDL: its tables must exist, only their
 * rows are restored, and rs-sanitize drops what the role may not run.
 *
 * rs_plan_build changes nothing.  It may run inside the executor's
 * transaction (rs-exec does) or alone for --dry-run.  A clean-mode plan
 * compares definitions by building the snapshot's tables in a schema of
 * its own, inside a savepoint (or, outside a transaction, a transaction)
 * it rolls back: the transaction must not be READ ONLY, and the role
 * needs CREATE on the database (without it every table that exists is
 * recreated).
 */
#ifndef VAULT_RS_PLAN_H
#define VAULT_RS_PLAN_H

#include <stddef.h>
#include <stdint.h>
#include <libpq-fe.h>
#include "buf.h"
#include "pg-ddl.h"
#include "rs-input.h"
#include "rs-meta.h"
#include "rs-order.h"
#include "rs-sanitize.h"
#include "rs-select.h"

struct pg_conn_info;

enum rs_plan_mode { RS_MODE_EMPTY, RS_MODE_CLEAN, RS_MODE_MERGE };
enum rs_plan_on_conflict { RS_ON_CONFLICT_NOTHING, RS_ON_CONFLICT_UPDATE };

/*
 * How each restored table is verified against the snapshot.
 * RS_VERIFY_STREAMED (the default): as its rows stream, the bytes sent
 * must hash to the snapshot's XXH3-128 and count its rows, and the row
 * count COPY reports must equal the snapshot's.  RS_VERIFY_FULL also
 * reads every table back from the target with the capture's own query
 * before the commit, so what the server stored must read back as it was
 * captured.
 */
enum rs_verify { RS_VERIFY_STREAMED, RS_VERIFY_FULL };

/* "streamed", "full"; parsing: 0 or -EINVAL */
const char *rs_plan_verify_name(enum rs_verify v);
int rs_plan_verify_parse(const char *s, enum rs_verify *v);

const char *rs_plan_mode_name(enum rs_plan_mode m);
/* "empty", "clean", "merge": 0 or -EINVAL */
int rs_plan_mode_parse(const char *s, enum rs_plan_mode *m);

/* The database part of a snapshot, read through an rs_input. */
struct rs_plan_source {
	struct rs_meta *meta;
	struct buf schema_sql, roles_sql, sequences_sql;
	struct buf lo_sql;	/* large_objects.sql ("" when absent) */
	struct pg_ddl *ddl;	/* schema_sql split */
	struct pg_ddl *roles;	/* roles_sql split */
	struct pg_ddl *lo_ddl;	/* lo_sql split: a section per large object */
	char *root;		/* "db" */
	/* large objects (rs-lo): the oids under root/large_objects/,
	 * ascending; lo_unlisted: meta.json counts some but the input
	 * cannot list them */
	uint32_t *lo_oids;
	size_t nlo;
	int lo_unlisted;
};

/* Reads root/meta.json, schema.sql (without pg_dump's \restrict lines,
 * which only guard a psql session), roles.sql, sequences.sql and, when
 * the snapshot has large objects and the file (older snapshots do not),
 * large_objects.sql (root NULL = "db"), and lists root/large_objects/
 * (rs_lo_list).  Errors name the file. */
int rs_plan_source_load(struct rs_plan_source *src, const struct rs_input *in,
			const char *root, struct buf *err);
void rs_plan_source_release(struct rs_plan_source *src);

/* What happens to a DDL section (of schema.sql) or roles.sql statement. */
enum rs_plan_act {
	RS_ACT_SKIP,		/* not selected */
	RS_ACT_RUN,
	RS_ACT_KEEP,		/* the object exists and is kept */
	RS_ACT_RECREATE,	/* clean: dropped first, then run */
	RS_ACT_REPLACE,		/* clean: CREATE -> CREATE OR REPLACE */
	RS_ACT_TRY,		/* run; "already exists" tolerated */
	RS_ACT_MANAGED,		/* the platform owns it (managed target) */
};
const char *rs_plan_act_name(enum rs_plan_act a);

/* How a table's rows are restored. */
enum rs_plan_load {
	RS_LOAD_NONE,
	RS_LOAD_COPY,		/* into a new or empty table */
	RS_LOAD_TRUNCATE,	/* clean, table kept: emptied, then COPY */
	RS_LOAD_MERGE,		/* COPY into a temp table, INSERT ON CONFLICT */
};

struct rs_plan_object {
	size_t section;
	const char *type;	/* the section's type ("TABLE", "VIEW"...) */
	char *schema, *name;
	int exists;
	enum rs_plan_act act;
	char *drop_sql;		/* RECREATE: the DROP statement */
	int pulled;		/* not selected: a view recreated because a
				 * table it depends on is (clean mode) */
	int same;		/* clean: kept, its definition is the
				 * snapshot's (rs-plan-same) */
	char *why;		/* clean, an object other than a table that
				 * exists: why it is kept or recreated
				 * ("definition matches", "definition
				 * differs from the snapshot's" ...), or NULL */
};

struct rs_plan_table {
	size_t meta;		/* index in src->meta->tables */
	const struct rs_meta_table *t;
	unsigned sel;		/* RS_SELECT_DDL, RS_SELECT_DATA */
	int exists, owned, has_pk;
	int readable;		/* exists, and the role may SELECT from it
				 * (its rows were counted) */
	int managed;		/* in a managed schema: DDL kept */
	int64_t target_rows;	/* -1: the table does not exist */
	enum rs_plan_act ddl;	/* its TABLE section's action */
	enum rs_plan_load load;
	const char *skip;	/* why its rows are not restored, or NULL */
	/* clean mode, a table that exists and whose DDL is selected: why
	 * it is reloaded (ddl KEEP: "definition matches") or dropped and
	 * recreated (ddl RECREATE: "drifted: column x type changed", "its
	 * parent s.t is recreated" ...), else NULL */
	char *clean;
	/* the views and materialized views recreated with it, as "view
	 * s.v", "materialized view s.m" */
	char **recreates;
	size_t nrecreates;
};

struct rs_plan_fk {
	char *schema, *table;		/* the referencing (unselected) table */
	char *name;			/* constraint */
	char *def;			/* pg_get_constraintdef */
	char *ref_schema, *ref_table;	/* the selected table */
	char **cols, **ref_cols;
	size_t ncols;
	int selected;			/* the referencing table is selected
					 * (kept, its parent recreated) */
	char *comment;			/* its comment (put back with it), or
					 * NULL */
};

struct rs_plan_req {
	const char *kind;	/* "extension", "role", "publication", ... */
	char *name;
	char *note;		/* what happens about it */
	int blocking;
};

struct rs_plan_opts {
	enum rs_plan_mode mode;
	enum rs_plan_on_conflict on_conflict;
	int jobs;
	int managed;		/* -1 detect, 0 plain, 1 managed */
	enum rs_verify verify;
	int drop_views;		/* clean: a view or materialized view that
				 * depends on a table recreated and that the
				 * snapshot does not hold is dropped with it
				 * (else it is a conflict) */
	/* clean: the target, for the pg_dump that compares its objects
	 * other than tables with the snapshot's (NULL: none is compared,
	 * each is dropped and recreated) */
	const struct pg_conn_info *ci;
};

struct rs_plan {
	enum rs_plan_mode mode;
	enum rs_plan_on_conflict on_conflict;
	int jobs;
	enum rs_verify verify;
	/* the target */
	char *role, *database;
	int superuser, bypassrls, server_num;
	int set_replica;		/* may set session_replication_role */
	int managed;
	char *managed_why;
	char **managed_schemas;		/* NULL-terminated */
	size_t nmanaged_schemas;
	/* schema.sql */
	enum rs_plan_act *sec;		/* per section */
	size_t nsec;
	unsigned char *sec_late;	/* per section (NULL: none): runs after
					 * the post-data (clean mode: the attach
					 * of a partition recreated under a
					 * parent that stays) */
	size_t post_data;		/* first post-data section */
	struct rs_plan_object *objects;	/* selected creating sections */
	size_t nobjects;
	struct rs_sanitized *san;	/* schema.sql statements */
	/* roles.sql: per statement of san_roles */
	struct rs_sanitized *san_roles;
	enum rs_plan_act *role_stmt;
	size_t nrole_stmt;
	/* tables: selected ones, in load order */
	struct rs_plan_table *tables;
	size_t ntables;
	struct rs_order order;		/* over the tables with rows to load */
	int replica;			/* load with session_replication_role */
	struct rs_plan_fk *fks;		/* clean: dropped and re-added */
	size_t nfks;
	/* clean, drop_views: views not in the snapshot dropped with a
	 * table recreated, deepest first: what ("view s.v, which depends
	 * on s.t") and how ("DROP VIEW s.v;"), pair by pair */
	char **dropped_views, **drop_views;
	size_t ndropped_views, ndrop_views;
	char **drop_rels;		/* the same as "s"."v" */
	size_t ndrop_rels;
	char **conflicts;		/* any: the restore must not start */
	size_t nconflicts;
	struct rs_plan_req *reqs;
	size_t nreqs;
	char **warnings;
	size_t nwarnings;
	/* large objects (rs-lo) */
	int lo_selected;		/* the selection takes them */
	unsigned char *lo_exists;	/* per src->lo_oids: 1 = in the
					 * target already, kept */
	size_t nlo_create, nlo_keep;
	size_t nlo_skipped;		/* statements of large_objects.sql
					 * this target skips (rs-lo-meta) */
	/* per src->meta->ext_sequences: its value is set (rs-extcfg) */
	unsigned char *ext_seq_set;
	int parallel;			/* rows load over up to jobs
					 * connections (rs-undo.h) */
	const char *strategy;
};

/* A table the parallel load takes: a new table its rows go into with
 * COPY (no index, key or trigger exists on it before post-data). */
int rs_plan_table_parallel(const struct rs_plan_table *t);

/*
 * Builds the plan.  c is a connection to the target (the catalog
 * queries run on it with search_path ''); src and sel must outlive the
 * plan.  Conflicts and blocking requirements do not make this fail:
 * they are in the plan (rs_plan_blocked says so).  Errors: -ENOMEM, or
 * a pg-conn errno with err naming the query and the server's message.
 */
int rs_plan_build(struct rs_plan **p, PGconn *c,
		  const struct rs_plan_source *src, const struct rs_select *sel,
		  const struct rs_plan_opts *o, struct buf *err);
void rs_plan_free(struct rs_plan *p);

/* Clean mode, a table that exists and whose DDL is selected: "reload"
 * (emptied and reloaded), "keep" (its definition matches and its rows
 * are not restored), "recreate"; else NULL. */
const char *rs_plan_clean_action(const struct rs_plan_table *t);
/* Appends why to out: t->clean and the views recreated with it
 * ("drifted: column x added; recreates view s.v").  0 or -ENOMEM. */
int rs_plan_clean_reason(const struct rs_plan_table *t, struct buf *out);

/*
 * Clean mode: the views and materialized views the restore drops (to
 * recreate them from the snapshot, or for good: drop_views), as exact
 * pg_dump -t patterns ("s"."v"), into a NULL-terminated vector (free it
 * with strv_free(*v, *n)): a safety snapshot takes their DDL, so that a
 * rollback can put them back.  0 or -ENOMEM.
 */
int rs_plan_clean_views_dropped(const struct rs_plan *p, char ***v, size_t *n);

/* 1 when the plan has conflicts or blocking requirements; appends them
 * (one per line) to why. */
int rs_plan_blocked(const struct rs_plan *p, struct buf *why);

/*
 * A statement of schema.sql or roles.sql the plan would run but leaves
 * out on this target (rs-sanitize says why): every one of them is named,
 * in the plan and in the restore log, never dropped in silence.
 */
struct rs_plan_skip {
	const char *file;	/* "schema.sql" or "roles.sql" */
	const char *where;	/* "users; TABLE", "preamble", "end of file" */
	const char *sql;	/* the statement, not NUL-terminated */
	size_t len;
	const char *reason;
	int meta;		/* a psql meta-command (\restrict): nothing of
				 * the database is lost with it */
};
/* A negative return stops rs_plan_skipped and is its result. */
typedef int rs_plan_skip_fn(void *arg, const struct rs_plan_skip *s);
/* Every such statement, in file order, handed to fn. */
int rs_plan_skipped(const struct rs_plan *p, const struct rs_plan_source *src,
		    rs_plan_skip_fn *fn, void *arg);

/* The plan for people (--dry-run) and as a JSON object (--json). */
int rs_plan_text(const struct rs_plan *p, const struct rs_plan_source *src,
		 struct buf *out);
int rs_plan_json(const struct rs_plan *p, const struct rs_plan_source *src,
		 const struct rs_select *sel, struct buf *out);

/*
 * "COPY (SELECT cols FROM ONLY s.t [WHERE ...] ORDER BY pk) TO STDOUT":
 * the capture's query, which verification recomputes; where (may be
 * NULL) is spliced in as is.  An extension's configuration table is read
 * through its filter (t->condition), as it was captured.
 */
int rs_plan_copy_sql(const struct rs_meta_table *t, const char *from,
		     const char *where, struct buf *out);

/* A JSON array of names (array_to_json of name[]) into a NULL-terminated
 * vector: 0, -EBADMSG or -ENOMEM (free the elements and v either way). */
int rs_plan_json_names(const char *json, char ***v, size_t *n);

#endif

/*
 * rs-log: the restore log, one JSON document per restore, kept in the
 * repository and printed with --json.  It records when the restore
 * started, the snapshot, the target (password masked: the caller passes
 * pg_conn_info_describe()), mode and selection, the safety snapshot,
 * per table the rows before and after and what was inserted, updated or
 * skipped, every statement skipped on the target with its reason, the
 * verification (how it was done and how it went), the duration and the
 * outcome.
 *
 * The executor fills it as it goes, so a failed restore leaves a log
 * that says how far it got and why it stopped.
 */
#ifndef VAULT_RS_LOG_H
#define VAULT_RS_LOG_H

#include <stddef.h>
#include <stdint.h>
#include "buf.h"

struct rs_log_table {
	char *schema, *name;
	char *load;			/* "copy", "merge", ... */
	int64_t before, after;		/* -1: did not exist / unknown */
	int created;			/* absent before: the restore made it
					 * (a rollback drops it) */
	uint64_t inserted, updated, skipped;
	char *skip_reason;
	int verified;			/* 1 ok, 0 mismatch, -1 not checked */
	uint64_t expected_rows, got_rows;
	char expected[33], got[33];
};

struct rs_log_stmt {
	char *where;	/* "Name; Type" of its section, or the file */
	char *sql;	/* the statement (long ones cut) */
	char *reason;
};

struct rs_log {
	char started[32];		/* ISO 8601 UTC */
	int64_t started_ms;		/* for the duration */
	char *snapshot, *target, *safety_snapshot, *mode, *on_conflict;
	char *selection;		/* JSON object, from rs_select_json */
	int managed;
	struct rs_log_table *tables;
	size_t ntables;
	struct rs_log_stmt *skipped;
	size_t nskipped;
	char *strategy;			/* how it ran (the plan's words) */
	char *undo;			/* parallel load failed past its first
					 * commit: "ok: ..." / "failed: ..." */
	/* large objects (rs-lo); lo 0: none selected from the snapshot
	 * (the document says null) */
	int lo;
	uint64_t lo_kept, lo_verified;
	uint64_t lo_unlinked;		/* rollback: the undone restore's */
	uint32_t *lo_created;		/* oids the restore created (a
					 * rollback unlinks them) */
	size_t nlo_created;
	/* an empty-mode restore: how a rollback drops what it created
	 * (rs-undo), or why it cannot */
	char **rb_stmts;		/* the DROP statements, in order */
	size_t nrb_stmts;
	char **rb_created;		/* "catalog\tkey" entries it made, sorted */
	size_t nrb_created;
	char **rb_changed;		/* "catalog\tkey\tbefore\tafter" of the
					 * entries it changed, sorted */
	size_t nrb_changed;
	char *rb_impossible;
	char *rollback_of;		/* a rollback: the restore it undid */
	char *verification;		/* "ok", "failed", "not run" */
	char *verify;			/* how: "streamed", "full" (rs_verify) */
	char *status;			/* "ok", "failed", "refused", "dry-run" */
	char *error;
	uint64_t duration_ms;
};

/* Stamps the start time now. */
void rs_log_init(struct rs_log *l);
void rs_log_release(struct rs_log *l);

/* Sets the target from a libpq connection string or URL, described
 * with its password masked ("postgres://user:***@host:port/db"), so no
 * caller can put a password in the log by mistake.  0, -ENOMEM, or
 * -EINVAL when the string cannot be parsed (err says why). */
int rs_log_target(struct rs_log *l, const char *conninfo, struct buf *err);
/* Replaces a string field (NULL clears it): 0 or -ENOMEM. */
int rs_log_set(char **field, const char *value);
/* Sets duration_ms from the start time and the status. */
int rs_log_finish(struct rs_log *l, const char *status, const char *error);

/* A new table entry (before/after -1, verified -1), or NULL. */
struct rs_log_table *rs_log_table(struct rs_log *l, const char *schema,
				  const char *name);
int rs_log_skip(struct rs_log *l, const char *where, const char *sql,
		size_t len, const char *reason);

/* Notes large object oid as created by the restore: 0 or -ENOMEM. */
int rs_log_lo_created(struct rs_log *l, uint32_t oid);

/* The document (pretty-printed, ends with a newline). */
int rs_log_json(const struct rs_log *l, struct buf *out);

#endif

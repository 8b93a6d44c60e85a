/*
 * report-html: what `vault report` found, and that turned into one
 * self-contained HTML page.
 *
 * cmd-report.c gathers a struct report from the repository (snapshot
 * records, stats, the db/meta.json of database snapshots) and prints it
 * as JSON (cmd-status.c reads the snapshots and groups the same way); report-html.c renders the same struct as a page: charts in
 * inline SVG, tables, a little inline CSS and one inline script that only
 * checks what was drawn.  The page loads nothing (no fonts, images,
 * scripts or styles from anywhere; its Content-Security-Policy forbids
 * it), so it opens the same offline, attached to a mail or years later.
 *
 * Everything in a struct report that came from the repository (host
 * names, sources, table names) is untrusted: the renderer escapes every
 * such string for HTML, and invalid UTF-8 shows as U+FFFD.
 */
#ifndef VAULT_REPORT_HTML_H
#define VAULT_REPORT_HTML_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "repo.h"

/* One snapshot, oldest first in struct report. */
struct report_snap {
	char id[65];
	int64_t time;			/* unix seconds */
	char *hostname, *source;	/* as recorded (masked), owned */
	int safety;			/* what a restore replaced */
	uint64_t skipped;		/* > 0: partial, this many left out */
	char *db_source;		/* it holds a database: the meta's
					 * "db"."source" (masked), owned;
					 * NULL otherwise */
	char *db_name;			/* "db"."database", owned, or NULL */
	char *db_meta;			/* "db"."meta": where its meta.json
					 * is, owned, or NULL */
	uint64_t entries, bytes_read, bytes_added, bytes_stored;
	uint64_t stored_total;		/* bytes_stored of this and all
					 * older snapshots still here */
};

/* Snapshots of one host and source (policy.h's groups; safety
 * snapshots are in none). */
struct report_group {
	const char *hostname, *source;	/* point into snaps[newest] */
	size_t count;
	size_t newest;			/* index into snaps */
	size_t last_good;		/* newest whole one, or SIZE_MAX */
};

enum report_change {
	REPORT_TABLE_CHANGED = 0,	/* in both snapshots */
	REPORT_TABLE_ADDED,		/* only in the newer one */
	REPORT_TABLE_DROPPED,		/* only in the older one */
};

/* A table whose rows differ between two snapshots of a database. */
struct report_table {
	char *schema, *name;		/* raw identifiers, owned */
	enum report_change change;
	uint64_t rows_old, rows_new, bytes_old, bytes_new;
	int checksum_changed;		/* XXH3-128 of the rows differs */
};

/* The newest snapshot of one database (one host and masked connection)
 * against the one before it. */
struct report_db {
	const char *hostname;		/* snaps[newest].hostname */
	const char *source;		/* snaps[newest].db_source */
	const char *database;		/* snaps[newest].db_name (may be NULL) */
	size_t newest;			/* index into snaps */
	size_t previous;		/* SIZE_MAX: the first one */
	size_t compared;		/* tables with rows, either side */
	size_t changed;			/* of them, changed (all of tables) */
	struct report_table *tables;	/* the changed ones, the biggest
					 * change first */
	size_t ntables;
	char *error;			/* meta.json unreadable: why (owned);
					 * tables is then empty */
};

struct report {
	const char *repo_path;
	int encrypted;
	int64_t now;			/* when the report was made */
	struct repo_stats stats;
	struct report_snap *snaps;
	size_t nsnaps;
	struct report_group *groups;
	size_t ngroups;
	struct report_db *dbs;		/* one per database source */
	size_t ndbs;
	size_t top;			/* tables shown per database (0: all) */
};

struct cli;
struct cli_json;

/* Frees what the struct owns (not the struct); NULL-safe. */
void report_release(struct report *rp);

/*
 * Fills rp->snaps (every snapshot of r, oldest first), rp->groups (as
 * prune groups them by group_by, POLICY_GROUP_* bits of store/policy.h;
 * safety snapshots are in none), rp->now, repo_path and encrypted; not
 * the stats nor the databases (cmd-report.c; `vault status` needs only
 * these).  0, or CLI_EXIT_ERROR with the error printed.
 */
int report_snapshots(struct cli *c, struct repo *r, struct report *rp,
		     unsigned group_by);

/* {"id", "time", "unix_time", "age_seconds"} of rp->snaps[i] under key,
 * or null when i is SIZE_MAX. */
void report_json_ref(struct cli_json *j, const char *key,
		     const struct report *rp, size_t i);

/* The newest whole backup of the whole repository (the youngest
 * last_good of all groups), or SIZE_MAX when there is none. */
size_t report_last_good(const struct report *rp);

/* An age as "42s", "17m", "5h 03m" or "12d 04h". */
void report_age(int64_t secs, char *out, size_t outsz);

/* Appends the page to out.  0 or -ENOMEM. */
int report_html_write(const struct report *rp, struct buf *out);

#endif

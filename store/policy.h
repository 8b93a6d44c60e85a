/*
 * policy: which snapshots a retention policy keeps (pure logic, no I/O).
 * Semantics follow restic's `forget --keep-*` (which match borg prune's):
 * snapshots are considered newest first; keep-last keeps the N newest;
 * each keep-hourly/daily/weekly/monthly/yearly N keeps the newest
 * snapshot of each of the N most recent buckets (hour, day, ISO week,
 * month, year, UTC) that contain a snapshot; keep-days N keeps every
 * snapshot within N days of the newest snapshot (restic's --keep-within
 * uses the newest snapshot, not "now", so a stale repository is not
 * emptied); keep-tag keeps any snapshot with that tag.  A snapshot kept
 * by any rule is kept.  A policy with no rule keeps everything (prune
 * then only reclaims space).
 *
 * Groups (restic's --group-by): the rules run separately in each group
 * of snapshots that share a key, the host and the source by default, so
 * keep-last 1 keeps the newest snapshot of every database and every set
 * of paths, and keep-days counts from the newest snapshot of the group.
 *
 * Safety snapshots (what a restore replaced, tagged "safety") are groups
 * of their own and the counted rules and keep-days never apply to them:
 * they hold no backup of the user's data, only the way back from a
 * restore.  Each is kept while it is within safety_days of the newest
 * snapshot of the whole repository (7 by default), or when keep-tag
 * names one of its tags.  The newest snapshot, not "now", for the reason
 * keep-days uses it: a prune of a repository nobody writes to any more
 * (backups stopped, an archived copy, a wrong clock) never drops what a
 * restore replaced just because time went by; the window only moves
 * when the repository does.
 */
#ifndef VAULT_POLICY_H
#define VAULT_POLICY_H

#include <stddef.h>
#include <stdint.h>

/* The parts of a group key (struct policy.group_by). */
enum {
	POLICY_GROUP_HOST = 1,		/* the snapshot's hostname */
	POLICY_GROUP_SOURCE = 2,	/* its source (database, Storage, paths) */
};

/* Days a safety snapshot is kept when the policy does not say. */
#define POLICY_SAFETY_DAYS 7

struct policy {
	int last, hourly, daily, weekly, monthly, yearly; /* 0 = unset; -1 = unlimited */
	int days;		/* 0 = unset */
	const char *const *keep_tags;
	size_t nkeep_tags;
	unsigned group_by;	/* POLICY_GROUP_* bits; 0 = one group */
	int safety_days;	/* -1 = keep all; 0 = none by age */
	int safety_rule;	/* 1: safety_days was asked for, a rule even
				 * when no other is given */
};

struct policy_snap {
	int64_t time;		/* unix seconds */
	const char *hostname;	/* group key parts (NULL reads as "") */
	const char *source;
	const char *const *tags;
	size_t ntags;
	int safety;		/* a safety snapshot */
	/* out: */
	int keep;
	size_t group;		/* 0..: groups in key order, regular first */
	char reason[96];	/* e.g. "last 1, daily 3" or "" when forgotten */
};

/* No rule; group by host and source; safety snapshots kept
 * POLICY_SAFETY_DAYS days (once any rule applies). */
void policy_init(struct policy *p);
/* Returns 1 when the policy has any rule (safety_rule counts). */
int policy_any(const struct policy *p);
/*
 * Decides keep/reason/group for each snapshot (any order in, set in
 * place).  Without any rule everything is kept ("no policy"); with only
 * the safety rule, every regular snapshot is.  Groups are numbered from
 * 0 without gaps: regular groups before safety groups, each in key order
 * (host, then source, byte order).  0 or -ENOMEM.
 */
int policy_apply(const struct policy *p, struct policy_snap *s, size_t n);
/*
 * Parses a group key list: "host", "source", both comma-separated in
 * any order ("host,source"), or "none" / "" (one group).  0 or -EINVAL.
 */
int policy_group_parse(const char *text, unsigned *group_by);

#endif

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
 */
#ifndef VAULT_POLICY_H
#define VAULT_POLICY_H

#include <stddef.h>
#include <stdint.h>

struct policy {
	int last, hourly, daily, weekly, monthly, yearly; /* 0 = unset; -1 = unlimited */
	int days;		/* 0 = unset */
	const char *const *keep_tags;
	size_t nkeep_tags;
};

struct policy_snap {
	int64_t time;		/* unix seconds */
	const char *const *tags;
	size_t ntags;
	/* out: */
	int keep;
	char reason[96];	/* e.g. "last 1, daily 3" or "" when forgotten */
};

/* Returns 1 when the policy has any rule. */
int policy_any(const struct policy *p);
/* Decides keep/reason for each snapshot (any order in, set in place).
 * 0 or -ENOMEM. */
int policy_apply(const struct policy *p, struct policy_snap *s, size_t n);

#endif

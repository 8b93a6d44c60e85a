/*
 * policy: retention decisions (restic `forget` semantics), pure logic.
 *
 * Snapshots are walked newest first.  Each counted rule (last, hourly,
 * daily, weekly, monthly, yearly) remembers the bucket of the last
 * snapshot it kept; a snapshot whose bucket differs is the newest of a
 * new bucket and is kept while the rule has count left (-1 = no limit).
 * Buckets are UTC: the hour and day are plain divisions of unix time,
 * the ISO week is identified by the day number of its Monday (so weeks
 * that straddle a year end, and week 53, need no special case), and
 * month/year come from a proleptic Gregorian conversion.
 *
 * Ties (equal times) are broken by input position: the later element of
 * the array counts as the newer, as lists are usually in creation order.
 *
 * Reasons name every rule that kept a snapshot, with the bucket's rank
 * for counted rules ("last 1, daily 1, weekly 1"), then "days" and
 * "tag <name>"; a reason that would overflow is cut at a rule boundary
 * and ends in "...".  Any negative count or days means unlimited.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"

enum {
	POLICY_LAST,
	POLICY_HOURLY,
	POLICY_DAILY,
	POLICY_WEEKLY,
	POLICY_MONTHLY,
	POLICY_YEARLY,
	POLICY_NRULES
};

static const char *const policy_rule_names[POLICY_NRULES] = {
	"last", "hourly", "daily", "weekly", "monthly", "yearly",
};

int policy_any(const struct policy *p)
{
	return p->last || p->hourly || p->daily || p->weekly ||
	       p->monthly || p->yearly || p->days || p->nkeep_tags;
}

/* Division rounding towards minus infinity (times may predate 1970). */
static int64_t policy_floordiv(int64_t a, int64_t b)
{
	int64_t q = a / b;

	if ((a % b) && ((a < 0) != (b < 0)))
		q--;
	return q;
}

/* Year and month (1..12) of a day number (days since 1970-01-01),
 * Howard Hinnant's civil_from_days. */
static void policy_civil(int64_t days, int64_t *year, int *month)
{
	int64_t z = days + 719468;
	int64_t era = policy_floordiv(z, 146097);
	int64_t doe = z - era * 146097;			/* [0, 146096] */
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;			/* [0, 11] */
	int m = (int)(mp < 10 ? mp + 3 : mp - 9);

	*year = yoe + era * 400 + (m <= 2);
	*month = m;
}

/* The bucket of time t for a counted rule; nr is the rank in newest-first
 * order, which makes every snapshot its own bucket for keep-last. */
static int64_t policy_bucket(int rule, int64_t t, size_t nr)
{
	int64_t days = policy_floordiv(t, 86400), year;
	int month;

	switch (rule) {
	case POLICY_LAST:
		return (int64_t)nr;
	case POLICY_HOURLY:
		return policy_floordiv(t, 3600);
	case POLICY_DAILY:
		return days;
	case POLICY_WEEKLY:
		/* 1970-01-01 was a Thursday: day 0 + 3 is in its week's
		 * Monday-based count, so this is the week's Monday index. */
		return policy_floordiv(days + 3, 7);
	case POLICY_MONTHLY:
		policy_civil(days, &year, &month);
		return year * 12 + (month - 1);
	default:
		policy_civil(days, &year, &month);
		return year;
	}
}

static int policy_count(const struct policy *p, int rule)
{
	switch (rule) {
	case POLICY_LAST:
		return p->last;
	case POLICY_HOURLY:
		return p->hourly;
	case POLICY_DAILY:
		return p->daily;
	case POLICY_WEEKLY:
		return p->weekly;
	case POLICY_MONTHLY:
		return p->monthly;
	default:
		return p->yearly;
	}
}

/* Appends ", piece" (or piece when empty) if it fits whole; otherwise
 * drops whole pieces from the end until ", ..." fits, once. */
static void policy_reason_add(struct policy_snap *s, const char *piece)
{
	size_t len = strlen(s->reason), cap = sizeof(s->reason);
	char *comma;

	if (len >= 3 && !strcmp(s->reason + len - 3, "..."))
		return;
	if ((len ? len + 2 : 0) + strlen(piece) < cap) {
		snprintf(s->reason + len, cap - len, "%s%s", len ? ", " : "",
			 piece);
		return;
	}
	while (len && len + 5 >= cap) {
		comma = strrchr(s->reason, ',');
		len = comma ? (size_t)(comma - s->reason) : 0;
		s->reason[len] = '\0';
	}
	snprintf(s->reason + len, cap - len, "%s...", len ? ", " : "");
}

/* Newest first; on equal times the later input element first. */
static int policy_cmp(const void *a, const void *b, void *arg)
{
	const struct policy_snap *s = arg;
	size_t i = *(const size_t *)a, j = *(const size_t *)b;

	if (s[i].time != s[j].time)
		return s[i].time > s[j].time ? -1 : 1;
	return i > j ? -1 : (i < j ? 1 : 0);
}

static int policy_has_tag(const struct policy *p, const struct policy_snap *s,
			  const char **which)
{
	size_t i, k;

	for (i = 0; i < p->nkeep_tags; i++)
		for (k = 0; k < s->ntags; k++)
			if (p->keep_tags[i] && s->tags[k] &&
			    !strcmp(p->keep_tags[i], s->tags[k])) {
				*which = p->keep_tags[i];
				return 1;
			}
	return 0;
}

int policy_apply(const struct policy *p, struct policy_snap *s, size_t n)
{
	int64_t last_bucket[POLICY_NRULES], since = 0;
	int have[POLICY_NRULES] = { 0 };
	long long left[POLICY_NRULES], rank[POLICY_NRULES] = { 0 };
	size_t *order, k;
	int r;

	for (k = 0; k < n; k++) {
		s[k].keep = 0;
		s[k].reason[0] = '\0';
	}
	if (!policy_any(p)) {
		for (k = 0; k < n; k++) {
			s[k].keep = 1;
			policy_reason_add(&s[k], "no policy");
		}
		return 0;
	}
	if (n == 0)
		return 0;
	order = malloc(n * sizeof(*order));
	if (!order)
		return -ENOMEM;
	for (k = 0; k < n; k++)
		order[k] = k;
	qsort_r(order, n, sizeof(*order), policy_cmp, s);

	for (r = 0; r < POLICY_NRULES; r++)
		left[r] = policy_count(p, r);
	if (p->days > 0) {
		/* saturate instead of overflowing on absurd times */
		int64_t newest = s[order[0]].time, span = (int64_t)p->days * 86400;

		since = newest < INT64_MIN + span ? INT64_MIN : newest - span;
	}

	for (k = 0; k < n; k++) {
		struct policy_snap *cur = &s[order[k]];
		const char *tag;
		char piece[40];

		for (r = 0; r < POLICY_NRULES; r++) {
			int64_t b;

			if (left[r] == 0)
				continue;
			b = policy_bucket(r, cur->time, k);
			if (have[r] && b == last_bucket[r])
				continue;
			have[r] = 1;
			last_bucket[r] = b;
			if (left[r] > 0)
				left[r]--;
			rank[r]++;
			cur->keep = 1;
			snprintf(piece, sizeof(piece), "%s %lld",
				 policy_rule_names[r], rank[r]);
			policy_reason_add(cur, piece);
		}
		if (p->days < 0 || (p->days > 0 && cur->time >= since)) {
			cur->keep = 1;
			policy_reason_add(cur, "days");
		}
		if (policy_has_tag(p, cur, &tag)) {
			cur->keep = 1;
			if (strlen(tag) < sizeof(piece) - 4) {
				snprintf(piece, sizeof(piece), "tag %s", tag);
				policy_reason_add(cur, piece);
			} else {
				policy_reason_add(cur, "tag");
			}
		}
	}
	free(order);
	return 0;
}

/*
 * policy: retention decisions (restic `forget` semantics), pure logic.
 *
 * Snapshots are sorted by group key (regular before safety, then the
 * host and the source the policy groups by), newest first inside a
 * group, and each group is walked on its own.  Each counted rule (last,
 * hourly, daily, weekly, monthly, yearly) remembers the bucket of the
 * last snapshot it kept; a snapshot whose bucket differs is the newest
 * of a new bucket and is kept while the rule has count left (-1 = no
 * limit).  Buckets are UTC: the hour and day are plain divisions of unix
 * time, the ISO week is identified by the day number of its Monday (so
 * weeks that straddle a year end, and week 53, need no special case),
 * and month/year come from a proleptic Gregorian conversion.  Safety
 * groups only know their age rule and keep-tag (policy.h says why).
 *
 * Ties (equal times) are broken by input position: the later element of
 * the array counts as the newer, as lists are usually in creation order.
 *
 * Reasons name every rule that kept a snapshot, with the bucket's rank
 * in its group for counted rules ("last 1, daily 1, weekly 1"), then
 * "days" and "tag <name>" ("safety 7 days" for the safety rule); a
 * reason that would overflow is cut at a rule boundary and ends in
 * "...".  Any negative count or days means unlimited.
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

void policy_init(struct policy *p)
{
	memset(p, 0, sizeof(*p));
	p->group_by = POLICY_GROUP_HOST | POLICY_GROUP_SOURCE;
	p->safety_days = POLICY_SAFETY_DAYS;
}

/* Any rule for regular snapshots. */
static int policy_any_regular(const struct policy *p)
{
	return p->last || p->hourly || p->daily || p->weekly ||
	       p->monthly || p->yearly || p->days || p->nkeep_tags;
}

int policy_any(const struct policy *p)
{
	return policy_any_regular(p) || p->safety_rule;
}

int policy_group_parse(const char *text, unsigned *group_by)
{
	unsigned g = 0;
	const char *t = text, *end;
	size_t len;

	if (!strcmp(text, "none") || !*text) {
		*group_by = 0;
		return 0;
	}
	for (;;) {
		end = strchr(t, ',');
		len = end ? (size_t)(end - t) : strlen(t);
		if (len == 4 && !strncmp(t, "host", 4))
			g |= POLICY_GROUP_HOST;
		else if (len == 6 && !strncmp(t, "source", 6))
			g |= POLICY_GROUP_SOURCE;
		else
			return -EINVAL;
		if (!end)
			break;
		t = end + 1;
	}
	*group_by = g;
	return 0;
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

static const char *policy_str(const char *s)
{
	return s ? s : "";
}

/* Group key order: regular before safety, then host, then source (the
 * parts the policy groups by); 0 for the same group. */
static int policy_key_cmp(const struct policy *p, const struct policy_snap *a,
			  const struct policy_snap *b)
{
	int c;

	if (!a->safety != !b->safety)
		return a->safety ? 1 : -1;
	if (p->group_by & POLICY_GROUP_HOST) {
		c = strcmp(policy_str(a->hostname), policy_str(b->hostname));
		if (c)
			return c;
	}
	if (p->group_by & POLICY_GROUP_SOURCE)
		return strcmp(policy_str(a->source), policy_str(b->source));
	return 0;
}

struct policy_sort {
	const struct policy *p;
	const struct policy_snap *s;
};

/* By group key, then newest first; on equal times the later input
 * element first. */
static int policy_cmp(const void *a, const void *b, void *arg)
{
	const struct policy_sort *o = arg;
	const struct policy_snap *s = o->s;
	size_t i = *(const size_t *)a, j = *(const size_t *)b;
	int c = policy_key_cmp(o->p, &s[i], &s[j]);

	if (c)
		return c < 0 ? -1 : 1;
	if (s[i].time != s[j].time)
		return s[i].time > s[j].time ? -1 : 1;
	return i > j ? -1 : (i < j ? 1 : 0);
}

/* keep-tag: keeps cur when it carries one of the policy's tags. */
static void policy_keep_tag(const struct policy *p, struct policy_snap *cur)
{
	char piece[40];
	size_t i, k;

	for (i = 0; i < p->nkeep_tags; i++)
		for (k = 0; k < cur->ntags; k++) {
			const char *tag = p->keep_tags[i];

			if (!tag || !cur->tags[k] || strcmp(tag, cur->tags[k]))
				continue;
			cur->keep = 1;
			if (strlen(tag) < sizeof(piece) - 4) {
				snprintf(piece, sizeof(piece), "tag %s", tag);
				policy_reason_add(cur, piece);
			} else {
				policy_reason_add(cur, "tag");
			}
			return;
		}
}

/* The start of a window of days before newest (saturating instead of
 * overflowing on absurd times). */
static int64_t policy_since(int64_t newest, int days)
{
	int64_t span = (int64_t)days * 86400;

	return newest < INT64_MIN + span ? INT64_MIN : newest - span;
}

/* The counted rules, keep-days and keep-tag over one regular group,
 * order[0..n) newest first. */
static void policy_group_regular(const struct policy *p, struct policy_snap *s,
				 const size_t *order, size_t n)
{
	int64_t last_bucket[POLICY_NRULES], since = 0;
	int have[POLICY_NRULES] = { 0 };
	long long left[POLICY_NRULES], rank[POLICY_NRULES] = { 0 };
	size_t k;
	int r;

	for (r = 0; r < POLICY_NRULES; r++)
		left[r] = policy_count(p, r);
	if (p->days > 0)
		since = policy_since(s[order[0]].time, p->days);

	for (k = 0; k < n; k++) {
		struct policy_snap *cur = &s[order[k]];
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
		policy_keep_tag(p, cur);
	}
}

/* The safety rule and keep-tag over one safety group; newest is the
 * newest snapshot of the whole repository. */
static void policy_group_safety(const struct policy *p, struct policy_snap *s,
				const size_t *order, size_t n, int64_t newest)
{
	int64_t since = p->safety_days > 0 ?
		policy_since(newest, p->safety_days) : 0;
	char piece[40];

	if (p->safety_days < 0)
		snprintf(piece, sizeof(piece), "safety all");
	else
		snprintf(piece, sizeof(piece), "safety %d days",
			 p->safety_days);
	for (size_t k = 0; k < n; k++) {
		struct policy_snap *cur = &s[order[k]];

		if (p->safety_days < 0 ||
		    (p->safety_days > 0 && cur->time >= since)) {
			cur->keep = 1;
			policy_reason_add(cur, piece);
		}
		policy_keep_tag(p, cur);
	}
}

int policy_apply(const struct policy *p, struct policy_snap *s, size_t n)
{
	struct policy_sort so = { p, s };
	int64_t newest = INT64_MIN;
	size_t *order, k, start, group = 0;
	int regular = policy_any_regular(p), any = policy_any(p);

	for (k = 0; k < n; k++) {
		s[k].keep = 0;
		s[k].group = 0;
		s[k].reason[0] = '\0';
		if (s[k].time > newest)
			newest = s[k].time;
	}
	if (n == 0)
		return 0;
	order = malloc(n * sizeof(*order));
	if (!order)
		return -ENOMEM;
	for (k = 0; k < n; k++)
		order[k] = k;
	qsort_r(order, n, sizeof(*order), policy_cmp, &so);

	for (start = 0; start < n; start = k, group++) {
		struct policy_snap *first = &s[order[start]];

		for (k = start; k < n &&
		     !policy_key_cmp(p, first, &s[order[k]]); k++)
			s[order[k]].group = group;
		if (!any || (!first->safety && !regular)) {
			for (size_t i = start; i < k; i++) {
				s[order[i]].keep = 1;
				policy_reason_add(&s[order[i]], "no policy");
			}
		} else if (first->safety) {
			policy_group_safety(p, s, order + start, k - start,
					    newest);
		} else {
			policy_group_regular(p, s, order + start, k - start);
		}
	}
	free(order);
	return 0;
}

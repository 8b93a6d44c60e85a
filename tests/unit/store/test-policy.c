/*
 * test-policy: retention decisions.  Small cases are written out by hand
 * (ISO week 53, year boundaries, ties, tags, keep-days edges); a long
 * synthetic timeline is checked against a brute-force model that
 * derives buckets from gmtime/strftime ("%G-W%V" for ISO weeks) rather
 * than the day arithmetic the module uses.  Groups: hand cases (keys,
 * numbering, safety snapshots and their own rule), and the timeline
 * split into interleaved groups must decide exactly as each group alone.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "policy.h"
#include "../tap.h"

/* ---- hand-checked cases ---------------------------------------------- */

/* Index:              UTC time              ISO week   */
static const int64_t hand_t[] = {
	1609714800,	/* 0 a: 2021-01-03 23:00 Sun 2020-W53 */
	1609722000,	/* 1 b: 2021-01-04 01:00 Mon 2021-W01 */
	1609754400,	/* 2 c: 2021-01-04 10:00 Mon 2021-W01 */
	1609113600,	/* 3 d: 2020-12-28 00:00 Mon 2020-W53 */
	1609113599,	/* 4 e: 2020-12-27 23:59:59 Sun 2020-W52 */
	1577707200,	/* 5 f: 2019-12-30 12:00 Mon 2020-W01 */
	1577577600,	/* 6 g: 2019-12-29 00:00 Sun 2019-W52 */
};
#define NHAND (sizeof(hand_t) / sizeof(hand_t[0]))

static void hand_setup(struct policy_snap *s)
{
	static const char *const gtags[] = { "x", "pin" };
	size_t i;

	memset(s, 0, NHAND * sizeof(*s));
	for (i = 0; i < NHAND; i++)
		s[i].time = hand_t[i];
	s[6].tags = gtags;
	s[6].ntags = 2;
}

/* "abc" style string of the kept letters, in input order */
static const char *kept(const struct policy_snap *s, size_t n)
{
	static char out[64];
	size_t i, k = 0;

	for (i = 0; i < n && k + 1 < sizeof(out); i++)
		if (s[i].keep)
			out[k++] = (char)('a' + i);
	out[k] = '\0';
	return out;
}

static void check_hand(const struct policy *p, const char *want,
		       const char *name)
{
	struct policy_snap s[NHAND];
	int r;

	hand_setup(s);
	r = policy_apply(p, s, NHAND);
	ok(r == 0 && !strcmp(kept(s, NHAND), want), "%s keeps %s (got %s)",
	   name, want, kept(s, NHAND));
}

static void test_hand(void)
{
	struct policy p;
	struct policy_snap s[NHAND];
	static const char *const pin[] = { "pin" };

#define P(...) (memset(&p, 0, sizeof(p)), (void)(__VA_ARGS__), &p)
	check_hand(P(p.last = 2), "bc", "last 2");
	check_hand(P(p.last = -1), "abcdefg", "last -1");
	check_hand(P(p.hourly = 3), "abc", "hourly 3");
	check_hand(P(p.daily = 2), "ac", "daily 2");
	check_hand(P(p.daily = 4), "acde", "daily 4 (d and e on different "
		   "days, one second apart)");
	/* a (Sun 2021-01-03) shares ISO week 2020-W53 with d (Mon
	 * 2020-12-28); W53 straddles the calendar year end. */
	check_hand(P(p.weekly = 3), "ace", "weekly 3 across 2020-W53");
	check_hand(P(p.weekly = -1), "acefg", "weekly -1");
	/* f is ISO 2020-W01 but calendar 2019: yearly uses calendar years */
	check_hand(P(p.yearly = -1), "cdf", "yearly -1 (calendar years)");
	check_hand(P(p.yearly = 2), "cd", "yearly 2");
	check_hand(P(p.monthly = 2), "cd", "monthly 2");
	check_hand(P(p.monthly = 100), "cdf", "monthly 100 (more than "
		   "buckets)");
	/* newest is c = 2021-01-04 10:00; one day back is 2021-01-03 10:00 */
	check_hand(P(p.days = 1), "abc", "days 1");
	check_hand(P(p.days = 8), "abcde", "days 8");
	check_hand(P(p.days = -1), "abcdefg", "days -1 (unlimited)");
	check_hand(P(p.keep_tags = pin, p.nkeep_tags = 1), "g", "tag only");
	check_hand(P(p.last = 1, p.weekly = 2, p.yearly = 3), "acdf",
		   "last 1 + weekly 2 + yearly 3");

	/* reasons */
	hand_setup(s);
	memset(&p, 0, sizeof(p));
	p.last = 1;
	p.daily = 2;
	p.weekly = 3;
	p.days = 1;
	p.keep_tags = pin;
	p.nkeep_tags = 1;
	is_int(policy_apply(&p, s, NHAND), 0, "apply with reasons");
	ok(!strcmp(s[2].reason, "last 1, daily 1, weekly 1, days"),
	   "reason c: '%s'", s[2].reason);
	ok(!strcmp(s[0].reason, "daily 2, weekly 2, days"),
	   "reason a: '%s'", s[0].reason);
	ok(!strcmp(s[1].reason, "days"), "reason b: '%s'", s[1].reason);
	ok(!strcmp(s[4].reason, "weekly 3"), "reason e: '%s'", s[4].reason);
	ok(!strcmp(s[6].reason, "tag pin"), "reason g: '%s'", s[6].reason);
	ok(!s[3].keep && !strcmp(s[3].reason, ""),
	   "d forgotten with an empty reason");
	ok(!s[5].keep && !strcmp(s[5].reason, ""),
	   "f forgotten with an empty reason");

	/* the exact keep-days edge: newest - N*86400 is kept, one second
	 * earlier is not */
	{
		struct policy_snap e[3] = {
			{ .time = 1000000 }, { .time = 1000000 - 86400 },
			{ .time = 1000000 - 86401 },
		};

		memset(&p, 0, sizeof(p));
		p.days = 1;
		policy_apply(&p, e, 3);
		ok(e[0].keep && e[1].keep && !e[2].keep,
		   "days 1: kept at exactly one day, not one second more");
	}
#undef P
}

static void test_edges(void)
{
	struct policy p;
	struct policy_snap s[4];
	static const char *const longtag[] = {
		"a-rather-long-tag-name-that-goes-on-and-on-and-on-and-on-"
		"and-on-and-on-and-on-and-on-beyond-any-reason"
	};
	size_t i;

	memset(&p, 0, sizeof(p));
	ok(!policy_any(&p), "empty policy has no rule");
	p.days = 3;
	ok(policy_any(&p), "days is a rule");
	memset(&p, 0, sizeof(p));
	p.nkeep_tags = 1;
	p.keep_tags = longtag;
	ok(policy_any(&p), "a keep-tag is a rule");

	/* empty policy keeps everything */
	memset(&p, 0, sizeof(p));
	memset(s, 0, sizeof(s));
	for (i = 0; i < 4; i++)
		s[i].time = (int64_t)i * 1000;
	is_int(policy_apply(&p, s, 4), 0, "empty policy applies");
	ok(s[0].keep && s[1].keep && s[2].keep && s[3].keep,
	   "empty policy keeps all");
	ok(!strcmp(s[0].reason, "no policy"), "reason '%s'", s[0].reason);
	is_int(policy_apply(&p, s, 0), 0, "n == 0 is fine");
	p.last = 1;
	is_int(policy_apply(&p, NULL, 0), 0, "n == 0 with a rule is fine");

	/* ties: equal times, the later array element counts as newer */
	memset(s, 0, sizeof(s));
	s[0].time = s[1].time = s[2].time = 500;
	s[3].time = 10;
	memset(&p, 0, sizeof(p));
	p.last = 1;
	p.daily = -1;
	policy_apply(&p, s, 4);
	ok(!s[0].keep && !s[1].keep && s[2].keep && !s[3].keep,
	   "ties: last 1 and daily keep the last element; 10 and 500 share "
	   "1970-01-01");

	/* times before 1970: -1 and -86400 share 1969-12-31; 0 does not */
	memset(s, 0, sizeof(s));
	s[0].time = 0;
	s[1].time = -1;
	s[2].time = -86400;
	s[3].time = -86401;
	memset(&p, 0, sizeof(p));
	p.daily = -1;
	policy_apply(&p, s, 4);
	ok(s[0].keep && s[1].keep && !s[2].keep && s[3].keep,
	   "daily before 1970 uses floor division");
	/* -259200 is Mon 1969-12-29 (ISO 1970-W01, with 0), -259201 is the
	 * Sunday before */
	memset(s, 0, sizeof(s));
	s[0].time = 0;
	s[1].time = -259200;
	s[2].time = -259201;
	s[3].time = -259201 - 6 * 86400;
	memset(&p, 0, sizeof(p));
	p.weekly = -1;
	policy_apply(&p, s, 4);
	ok(s[0].keep && !s[1].keep && s[2].keep && !s[3].keep,
	   "weekly before 1970: Monday starts the week");
	memset(&p, 0, sizeof(p));
	p.yearly = -1;
	policy_apply(&p, s, 4);
	ok(s[0].keep && s[1].keep && !s[2].keep && !s[3].keep,
	   "yearly across 1969/1970");

	/* the reason never overflows and is cut at a rule boundary */
	memset(s, 0, sizeof(s));
	s[0].time = 1609754400;
	s[0].tags = longtag;
	s[0].ntags = 1;
	memset(&p, 0, sizeof(p));
	p.last = p.hourly = p.daily = p.weekly = p.monthly = p.yearly = 1;
	p.days = 1;
	p.keep_tags = longtag;
	p.nkeep_tags = 1;
	policy_apply(&p, s, 1);
	ok(s[0].keep && strlen(s[0].reason) < sizeof(s[0].reason),
	   "all rules: reason fits: '%s'", s[0].reason);
	ok(!strcmp(s[0].reason, "last 1, hourly 1, daily 1, weekly 1, "
		   "monthly 1, yearly 1, days, tag"),
	   "a long tag name is left out of the reason");
}

/* ---- the timeline and its brute-force model ---------------------------- */

struct tl {
	struct policy_snap *s;
	const char **tagv;	/* one optional tag per snapshot */
	size_t n;
};

static void tl_add(struct tl *t, int64_t time, const char *tag)
{
	struct policy_snap *s = &t->s[t->n];

	memset(s, 0, sizeof(*s));
	s->time = time;
	t->tagv[t->n] = tag;
	if (tag) {
		s->tags = &t->tagv[t->n];
		s->ntags = 1;
	}
	t->n++;
}

/* Every 6 hours for 120 days from 2020-10-15 03:00 UTC (through ISO
 * 2020-W53 and into February 2021), plus irregular extras: bucket edges,
 * duplicates, and a few older snapshots spanning 2015-W53. */
static void tl_build(struct tl *t)
{
	static const int64_t extra[] = {
		1609113599, 1609113600,		/* 2020-12-27 23:59:59, 28 00:00 */
		1609459199, 1609459200,		/* 2020-12-31 23:59:59, 2021-01-01 */
		1609459200,			/* a duplicate */
		1612137599,			/* 2021-01-31 23:59:59 */
		1451606399, 1451606400,		/* 2015-12-31 23:59:59, 2016-01-01 */
		1451779200,			/* 2016-01-03 Sun, ISO 2015-W53 */
		1451865600,			/* 2016-01-04 Mon, 2016-W01 */
		1420070400,			/* 2015-01-01 */
		1262304000,			/* 2010-01-01 */
	};
	int64_t start = 1602730800;
	uint32_t r = 99;
	size_t i, cap = 120 * 4 + 64;

	t->s = calloc(cap, sizeof(*t->s));
	t->tagv = calloc(cap, sizeof(*t->tagv));
	t->n = 0;
	if (!t->s || !t->tagv)
		abort();
	for (i = 0; i < 120 * 4; i++)
		tl_add(t, start + (int64_t)i * 6 * 3600,
		       i % 97 == 13 ? "monthly-dump" : NULL);
	for (i = 0; i < sizeof(extra) / sizeof(extra[0]); i++)
		tl_add(t, extra[i], i == 10 ? "keep" : NULL);
	for (i = 0; i < 30; i++) {	/* irregular times inside the range */
		r = r * 1664525u + 1013904223u;
		tl_add(t, start + (int64_t)(r % (120u * 86400u)), NULL);
	}
}

static void tl_shuffle(struct tl *t, uint32_t seed)
{
	size_t i, j;

	for (i = t->n - 1; i > 0; i--) {
		struct policy_snap tmp;
		const char *tg;

		seed = seed * 1103515245u + 12345u;
		j = (seed >> 8) % (i + 1);
		tmp = t->s[i];
		t->s[i] = t->s[j];
		t->s[j] = tmp;
		tg = t->tagv[i];
		t->tagv[i] = t->tagv[j];
		t->tagv[j] = tg;
	}
	for (i = 0; i < t->n; i++)
		t->s[i].tags = t->tagv[i] ? &t->tagv[i] : NULL;
}

/* j is newer than i (ties: the later index) */
static int newer(const struct policy_snap *s, size_t j, size_t i)
{
	return s[j].time > s[i].time || (s[j].time == s[i].time && j > i);
}

static const char *const rule_name[] = {
	"last", "hourly", "daily", "weekly", "monthly", "yearly",
};

static void bucket_key(int rule, const struct policy_snap *s, size_t i,
		       char *out, size_t cap)
{
	struct tm tm;
	time_t tt = (time_t)s[i].time;
	size_t n;

	if (rule == 0) {	/* keep-last: every snapshot is its own */
		snprintf(out, cap, "#%zu", i);
		return;
	}
	if (!gmtime_r(&tt, &tm))
		abort();
	switch (rule) {
	case 1:
		n = strftime(out, cap, "%Y-%m-%d %H", &tm);
		break;
	case 2:
		n = strftime(out, cap, "%Y-%m-%d", &tm);
		break;
	case 3:		/* ISO 8601 week-based year and week */
		n = strftime(out, cap, "%G-W%V", &tm);
		break;
	case 4:
		n = strftime(out, cap, "%Y-%m", &tm);
		break;
	default:
		n = strftime(out, cap, "%Y", &tm);
		break;
	}
	if (!n)
		abort();
}

/*
 * Model: snapshot i is kept by a counted rule with count N when no newer
 * snapshot has its bucket key, and fewer than N distinct keys belong to
 * strictly newer snapshots (its bucket's rank is then <= N).
 */
static void model(const struct policy *p, const struct tl *t, char **reason,
		  int *keep)
{
	const int counts[6] = { p->last, p->hourly, p->daily, p->weekly,
				p->monthly, p->yearly };
	size_t n = t->n, i, j, k;
	char (*key)[32] = malloc(n * sizeof(*key));
	int *first = malloc(n * sizeof(*first));
	int64_t newest = INT64_MIN;

	if (!key || !first)
		abort();
	for (i = 0; i < n; i++) {
		keep[i] = 0;
		reason[i][0] = '\0';
		if (t->s[i].time > newest)
			newest = t->s[i].time;
	}
	for (int rule = 0; rule < 6; rule++) {
		if (!counts[rule])
			continue;
		for (i = 0; i < n; i++)
			bucket_key(rule, t->s, i, key[i], sizeof(key[i]));
		/* first[i]: no newer snapshot shares i's bucket */
		for (i = 0; i < n; i++) {
			first[i] = 1;
			for (j = 0; j < n && first[i]; j++)
				if (newer(t->s, j, i) && !strcmp(key[j], key[i]))
					first[i] = 0;
		}
		for (i = 0; i < n; i++) {
			size_t rank = 1;

			if (!first[i])
				continue;
			/* one newer bucket per newer "first" snapshot */
			for (j = 0; j < n; j++)
				if (first[j] && newer(t->s, j, i))
					rank++;
			if (counts[rule] > 0 && rank > (size_t)counts[rule])
				continue;
			keep[i] = 1;
			snprintf(reason[i] + strlen(reason[i]),
				 96 - strlen(reason[i]), "%s%s %zu",
				 reason[i][0] ? ", " : "", rule_name[rule],
				 rank);
		}
	}
	for (i = 0; i < n; i++) {
		if (p->days &&
		    (p->days < 0 || t->s[i].time >= newest - p->days * 86400LL)) {
			keep[i] = 1;
			snprintf(reason[i] + strlen(reason[i]),
				 96 - strlen(reason[i]), "%sdays",
				 reason[i][0] ? ", " : "");
		}
		for (k = 0; k < p->nkeep_tags; k++)
			if (t->tagv[i] && !strcmp(t->tagv[i], p->keep_tags[k])) {
				keep[i] = 1;
				snprintf(reason[i] + strlen(reason[i]),
					 96 - strlen(reason[i]), "%stag %s",
					 reason[i][0] ? ", " : "",
					 p->keep_tags[k]);
				break;
			}
	}
	free(key);
	free(first);
}

static void check_timeline(struct tl *t, const struct policy *p,
			   const char *name, int want_kept)
{
	char (*reason)[96] = calloc(t->n, sizeof(*reason));
	char **rp = calloc(t->n, sizeof(*rp));
	int *keep = calloc(t->n, sizeof(*keep));
	size_t i, bad_keep = 0, bad_reason = 0, nkept = 0;

	if (!reason || !rp || !keep)
		abort();
	for (i = 0; i < t->n; i++)
		rp[i] = reason[i];
	model(p, t, rp, keep);
	is_int(policy_apply(p, t->s, t->n), 0, "%s: applies", name);
	for (i = 0; i < t->n; i++) {
		nkept += t->s[i].keep != 0;
		if (!!t->s[i].keep != keep[i])
			bad_keep++;
		if (strcmp(t->s[i].reason, reason[i])) {
			if (!bad_reason)
				diag("%s: [%zu] reason '%s', model '%s'", name,
				     i, t->s[i].reason, reason[i]);
			bad_reason++;
		}
	}
	is_int(bad_keep, 0, "%s: keep set matches the model", name);
	is_int(bad_reason, 0, "%s: reasons match the model", name);
	if (want_kept >= 0)
		is_int(nkept, want_kept, "%s: keeps %d snapshots", name,
		       want_kept);
	else
		diag("%s: keeps %zu of %zu", name, nkept, t->n);
	free(reason);
	free(rp);
	free(keep);
}

static void test_timeline(void)
{
	static const char *const tags[] = { "keep", "nope" };
	static const char *const tags2[] = { "monthly-dump" };
	struct tl t;
	struct policy p;
	int pass;

	tl_build(&t);
	diag("timeline: %zu snapshots", t.n);
	for (pass = 0; pass < 2; pass++) {
		const char *o = pass ? " (shuffled)" : "";
		char name[128];

		if (pass)
			tl_shuffle(&t, 4242);
#define RUN(want, label, ...) do { \
	memset(&p, 0, sizeof(p)); \
	__VA_ARGS__; \
	snprintf(name, sizeof(name), "%s%s", label, o); \
	check_timeline(&t, &p, name, want); \
} while (0)
		/* Totals counted by hand: the regular series covers 120
		 * days, 18 ISO weeks (2020-W42..W53, 2021-W01..W06) and 5
		 * months; the old extras add 6 days (2010-01-01,
		 * 2015-01-01, 2015-12-31, 2016-01-01, -03, -04), 4 weeks
		 * (2009-W53, 2015-W01, 2015-W53, 2016-W01), 4 months and
		 * the years 2010, 2015, 2016. */
		RUN(7, "last 7", p.last = 7);
		RUN(24, "hourly 24", p.hourly = 24);
		RUN(14, "daily 14", p.daily = 14);
		RUN(126, "daily -1", p.daily = -1);
		RUN(8, "weekly 8", p.weekly = 8);
		RUN(22, "weekly -1", p.weekly = -1);
		RUN(6, "monthly 6", p.monthly = 6);
		RUN(9, "monthly -1", p.monthly = -1);
		RUN(5, "yearly -1", p.yearly = -1);
		RUN(3, "yearly 3", p.yearly = 3);
		RUN(-1, "days 30", p.days = 30);
		RUN(1, "tags", p.keep_tags = tags, p.nkeep_tags = 2);
		RUN(-1, "last 3 + daily 7 + weekly 4 + monthly 12 + yearly 10",
		    p.last = 3, p.daily = 7, p.weekly = 4, p.monthly = 12,
		    p.yearly = 10);
		RUN(-1, "hourly 48 + days 10 + tag", p.hourly = 48,
		    p.days = 10, p.keep_tags = tags2, p.nkeep_tags = 1);
		RUN(-1, "everything", p.last = 2, p.hourly = 5, p.daily = 9,
		    p.weekly = 20, p.monthly = -1, p.yearly = 2, p.days = 3,
		    p.keep_tags = tags, p.nkeep_tags = 1);
#undef RUN
	}
	free(t.s);
	free(t.tagv);
}

/* ---- groups ------------------------------------------------------------ */

/* A snapshot for the group cases: time in days, host, source, safety. */
static void gs(struct policy_snap *s, int64_t day, const char *host,
	       const char *source, int safety)
{
	memset(s, 0, sizeof(*s));
	s->time = 1700000000 + day * 86400;
	s->hostname = host;
	s->source = source;
	s->safety = safety;
}

static void test_group_parse(void)
{
	struct policy p;
	unsigned g = 99;

	policy_init(&p);
	ok(p.group_by == (POLICY_GROUP_HOST | POLICY_GROUP_SOURCE) &&
	   p.safety_days == POLICY_SAFETY_DAYS && POLICY_SAFETY_DAYS == 7 &&
	   !p.safety_rule && !policy_any(&p),
	   "policy_init: host,source, safety 7 days, no rule");
	p.safety_rule = 1;
	ok(policy_any(&p), "the safety rule alone is a rule");
	ok(policy_group_parse("host,source", &g) == 0 &&
	   g == (POLICY_GROUP_HOST | POLICY_GROUP_SOURCE), "host,source");
	ok(policy_group_parse("source,host", &g) == 0 &&
	   g == (POLICY_GROUP_HOST | POLICY_GROUP_SOURCE), "source,host");
	ok(policy_group_parse("host", &g) == 0 && g == POLICY_GROUP_HOST,
	   "host");
	ok(policy_group_parse("source", &g) == 0 && g == POLICY_GROUP_SOURCE,
	   "source");
	ok(policy_group_parse("none", &g) == 0 && g == 0, "none");
	g = 5;
	ok(policy_group_parse("", &g) == 0 && g == 0, "'' is none");
	is_int(policy_group_parse("paths", &g), -EINVAL, "paths is refused");
	is_int(policy_group_parse("host,", &g), -EINVAL, "a trailing comma");
	is_int(policy_group_parse("hosts", &g), -EINVAL, "hosts");
	is_int(policy_group_parse("host,tags", &g), -EINVAL, "host,tags");
}

static void test_groups(void)
{
	struct policy p;
	struct policy_snap s[8];
	static const char *const rtag[] = { "safety", "restore:r1" };

	/* the case: a full backup, then a restore's safety
	 * snapshot; keep-last 1 must keep the backup */
	policy_init(&p);
	p.last = 1;
	gs(&s[0], 0, "h", "h:postgresql://db", 0);
	gs(&s[1], 1, "h", "postgresql://db", 1);
	is_int(policy_apply(&p, s, 2), 0, "backup + safety: applies");
	ok(s[0].keep && !strcmp(s[0].reason, "last 1"),
	   "keep-last 1 keeps the backup ('%s')", s[0].reason);
	ok(s[1].keep && !strcmp(s[1].reason, "safety 7 days"),
	   "the safety snapshot by its own rule ('%s')", s[1].reason);
	ok(s[0].group == 0 && s[1].group == 1, "two groups, regular first");

	/* several sources, hosts, safety snapshots */
	gs(&s[0], 0, "h", "h:db", 0);
	gs(&s[1], 1, "h", "h:/srv/www", 0);
	gs(&s[2], 2, "h", "h:db", 0);
	gs(&s[3], 3, "h", "h:/srv/www", 0);
	gs(&s[4], 4, "g", "h:db", 0);		/* another host, same source */
	gs(&s[5], 5, "h", "db", 1);		/* safety, 5 days before 12 */
	gs(&s[6], -30, "h", "db", 1);		/* safety, a month old */
	gs(&s[7], 12, "h", "h:db", 0);
	policy_init(&p);
	p.last = 1;
	is_int(policy_apply(&p, s, 8), 0, "mixed: applies");
	ok(!s[0].keep && !s[1].keep && !s[2].keep && s[3].keep && s[4].keep &&
	   s[5].keep && !s[6].keep && s[7].keep,
	   "last 1 per host and source; safety within 7 days of the newest");
	/* keys in byte order: (g, h:db) < (h, h:/srv/www) < (h, h:db),
	 * then the safety group */
	ok(s[4].group == 0 && s[1].group == 1 && s[3].group == 1 &&
	   s[0].group == 2 && s[2].group == 2 && s[7].group == 2 &&
	   s[5].group == 3 && s[6].group == 3,
	   "groups numbered in key order, safety last");
	ok(!strcmp(s[6].reason, ""), "a forgotten safety snapshot: no reason");

	p.group_by = POLICY_GROUP_SOURCE;
	policy_apply(&p, s, 8);
	ok(!s[4].keep && s[7].keep && s[3].keep && s[4].group == s[7].group,
	   "group by source: the other host's db snapshot shares a group");
	p.group_by = POLICY_GROUP_HOST;
	policy_apply(&p, s, 8);
	ok(s[4].keep && s[7].keep && !s[3].keep && s[3].group == s[7].group,
	   "group by host: db and /srv/www of host h share a group");
	p.group_by = 0;
	policy_apply(&p, s, 8);
	ok(s[7].keep && !s[4].keep && !s[3].keep && s[5].keep &&
	   s[0].group == 0 && s[5].group == 1 && s[6].group == 1,
	   "group by none: one regular group, one safety group");

	/* keep-days counts from the newest snapshot of each group */
	policy_init(&p);
	p.days = 2;
	policy_apply(&p, s, 8);
	ok(s[7].keep && !s[2].keep && s[3].keep && s[1].keep && s[4].keep &&
	   !s[0].keep, "days 2 per group: /srv/www at 1 and 3 kept");

	/* safety_days: 0, unlimited, a longer window, keep-tag */
	policy_init(&p);
	p.last = -1;
	p.safety_days = 0;
	policy_apply(&p, s, 8);
	ok(!s[5].keep && !s[6].keep && s[0].keep && s[4].keep,
	   "safety 0: every safety snapshot goes, last -1 keeps the rest");
	p.safety_days = -1;
	policy_apply(&p, s, 8);
	ok(s[5].keep && s[6].keep && !strcmp(s[6].reason, "safety all"),
	   "safety -1 keeps them all ('%s')", s[6].reason);
	p.safety_days = 42;
	policy_apply(&p, s, 8);
	ok(s[5].keep && s[6].keep && !strcmp(s[6].reason, "safety 42 days"),
	   "safety 42: the month-old one too ('%s')", s[6].reason);
	p.safety_days = 0;
	p.keep_tags = rtag + 1;
	p.nkeep_tags = 1;
	s[6].tags = rtag;
	s[6].ntags = 2;
	policy_apply(&p, s, 8);
	ok(!s[5].keep && s[6].keep && !strcmp(s[6].reason, "tag restore:r1"),
	   "keep-tag pins a safety snapshot ('%s')", s[6].reason);
	s[6].tags = NULL;
	s[6].ntags = 0;

	/* the exact edge: newest - 7 days is kept, one second more is not */
	policy_init(&p);
	p.last = 1;
	gs(&s[0], 0, "h", "x", 0);
	gs(&s[1], -7, "h", "x", 1);
	gs(&s[2], -7, "h", "x", 1);
	s[2].time--;
	policy_apply(&p, s, 3);
	ok(s[1].keep && !s[2].keep, "safety 7: kept at exactly 7 days");

	/* counted rules never reach safety snapshots */
	policy_init(&p);
	p.last = -1;
	p.days = -1;
	p.yearly = -1;
	gs(&s[0], 0, "h", "x", 0);
	gs(&s[1], -100, "h", "x", 1);
	policy_apply(&p, s, 2);
	ok(s[0].keep && !s[1].keep,
	   "last/days/yearly unlimited do not keep an old safety snapshot");

	/* only the safety rule: the regular snapshots all stay */
	policy_init(&p);
	p.safety_rule = 1;
	p.safety_days = 0;
	gs(&s[0], -400, "h", "x", 0);
	gs(&s[1], 0, "h", "x", 1);
	policy_apply(&p, s, 2);
	ok(s[0].keep && !strcmp(s[0].reason, "no policy") && !s[1].keep,
	   "--keep-safety-days 0 alone: regular kept, safety forgotten");

	/* no rule at all: everything stays, safety snapshots too */
	policy_init(&p);
	policy_apply(&p, s, 2);
	ok(s[0].keep && s[1].keep && !strcmp(s[1].reason, "no policy"),
	   "no rule keeps the safety snapshot too");
}

/* The timeline split into three interleaved sources (and a few safety
 * snapshots) must decide, group by group, exactly as each group applied
 * on its own. */
static void test_groups_timeline(void)
{
	static const char *const src[] = { "db", "paths", "storage" };
	struct tl t;
	struct policy p;
	struct policy_snap *sub;
	size_t i, k, bad = 0, groups[3] = { 0 };

	tl_build(&t);
	tl_shuffle(&t, 777);
	sub = calloc(t.n, sizeof(*sub));
	if (!sub)
		abort();
	for (i = 0; i < t.n; i++) {
		t.s[i].hostname = "h";
		t.s[i].source = src[i % 3];
	}
	policy_init(&p);
	p.last = 3;
	p.daily = 7;
	p.weekly = 4;
	p.monthly = 3;
	p.days = 5;
	is_int(policy_apply(&p, t.s, t.n), 0, "grouped timeline applies");
	for (k = 0; k < 3; k++) {
		size_t m = 0;

		for (i = 0; i < t.n; i++)
			if (t.s[i].source == src[k])
				sub[m++] = t.s[i];
		policy_apply(&p, sub, m);
		for (i = 0, m = 0; i < t.n; i++) {
			if (t.s[i].source != src[k])
				continue;
			groups[k] = t.s[i].group;
			if (sub[m].keep != t.s[i].keep ||
			    strcmp(sub[m].reason, t.s[i].reason))
				bad++;
			m++;
		}
	}
	is_int(bad, 0, "each group decides as it would alone");
	ok(groups[0] == 0 && groups[1] == 1 && groups[2] == 2,
	   "three groups in source order");
	free(sub);
	free(t.s);
	free(t.tagv);
}

int main(void)
{
	test_hand();
	test_edges();
	test_timeline();
	test_group_parse();
	test_groups();
	test_groups_timeline();
	return done_testing();
}

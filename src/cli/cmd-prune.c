/*
 * cmd-prune: `vault prune [--keep-* ...] [--dry-run]` applies a
 * retention policy (store/policy.h: restic/borg semantics, group by
 * group), forgets the snapshots it does not keep, and reclaims the space
 * no remaining snapshot references.  With no --keep option every
 * snapshot is kept and only unreferenced data is removed.  The decisions
 * are printed by group: a heading naming the group's key, then a line
 * per snapshot with the rules that keep it or why it goes.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli-progress.h"
#include "policy.h"
#include "repo.h"

const char cmd_prune_usage[] =
	"usage: vault prune [--keep-last N] [--keep-hourly N] [--keep-daily N]\n"
	"                   [--keep-weekly N] [--keep-monthly N] [--keep-yearly N]\n"
	"                   [--keep-days N] [--keep-tag TAG]... [--keep-safety-days N]\n"
	"                   [--group-by host,source|host|source|none] [--dry-run] [--json]\n"
	"\n"
	"Forgets the snapshots the policy does not keep, then deletes or\n"
	"repacks pack files to free the space nothing references any more.\n"
	"A snapshot kept by any rule is kept; without rules all are kept.\n"
	"The rules count within each group of snapshots of the same host and\n"
	"source.  Safety snapshots (what a restore replaced) are groups of\n"
	"their own: only --keep-safety-days and --keep-tag apply to them.\n"
	"N is a positive number or 'unlimited'.\n"
	"\n"
	"      --keep-last N      the N newest snapshots\n"
	"      --keep-hourly N    the newest snapshot of each of the last N hours\n"
	"      --keep-daily N     ... of the last N days that have a snapshot\n"
	"      --keep-weekly N    ... of the last N ISO weeks\n"
	"      --keep-monthly N   ... of the last N months\n"
	"      --keep-yearly N    ... of the last N years\n"
	"      --keep-days N      every snapshot within N days of the newest of\n"
	"                         its group (also --keep-within N, as restic)\n"
	"      --keep-tag TAG     every snapshot tagged TAG (repeatable)\n"
	"      --keep-safety-days N\n"
	"                         safety snapshots within N days of the newest\n"
	"                         snapshot of the repository (default 7 once\n"
	"                         any rule is given; 0 forgets them all)\n"
	"      --group-by KEY     host,source (default), host, source or none\n"
	"  -n, --dry-run          show what would be done, change nothing\n"
	"      --json             print JSON, and progress as JSON lines on stderr\n"
	"  -h, --help             show this help\n";

enum {
	PRUNE_OPT_LAST = CLI_OPT_FIRST_VERB,
	PRUNE_OPT_HOURLY,
	PRUNE_OPT_DAILY,
	PRUNE_OPT_WEEKLY,
	PRUNE_OPT_MONTHLY,
	PRUNE_OPT_YEARLY,
	PRUNE_OPT_DAYS,
	PRUNE_OPT_TAG,
	PRUNE_OPT_SAFETY_DAYS,
	PRUNE_OPT_GROUP_BY,
	PRUNE_OPT_JSON,
};

/* A group as reported, kept for the JSON "groups" array. */
struct prune_group {
	int safety;
	char *hostname, *source;	/* NULL: not part of the key */
	size_t kept, forgotten;
};

struct prune_ctx {
	struct cli *c;
	struct cli_json *json;
	const struct policy *pol;
	int dry_run;
	int silent;		/* -q without --dry-run: no plan printed */
	struct prune_group *groups;
	size_t ngroups;
	int oom;
	struct cli_phase *ph;	/* the phase being shown */
};

/* The "repack" and "delete" phases; -v: each pack repacked or deleted
 * (in a dry run, each that would be). */
static void prune_progress(void *ctx, const struct repo_progress *pr)
{
	struct prune_ctx *p = ctx;
	struct cli_phase *ph;
	char sz[32], action[32];

	if (!p->dry_run) {
		ph = cli_progress_phase(cli_progress_of(p->c), pr->phase,
					"packs");
		/* counters first: starting draws the line at once */
		cli_phase_total(ph, pr->bytes_total, pr->items_total, 1);
		cli_phase_at(ph, pr->bytes, pr->items, pr->pack,
			     strnlen(pr->pack, 12));
		if (ph != p->ph) {
			cli_phase_stop(p->ph);
			cli_phase_start(ph);
			p->ph = ph;
		}
	}
	if (!pr->done || !cli_verbose(p->c, 1))
		return;
	cli_human_size(pr->pack_size, sz, sizeof(sz));
	snprintf(action, sizeof(action), "%s%s", p->dry_run ? "would " : "",
		 !strcmp(pr->phase, "repack") ? p->dry_run ? "repack" :
		 "repacked" : p->dry_run ? "delete" : "deleted");
	cli_progress_detail(cli_progress_of(p->c), action, pr->pack,
			    strlen(pr->pack), sz);
}

/* ", what \"value\"" when value is part of the key. */
static void prune_key_part(struct buf *b, const char *what, const char *v)
{
	if (!v)
		return;
	buf_addf(b, "%s%s \"", b->len ? ", " : "", what);
	cli_quote(b, v, strlen(v));
	buf_addch(b, '"');
}

static void prune_report_group(void *ctx, const struct repo_prune_group *g)
{
	struct prune_ctx *p = ctx;
	struct prune_group *n;
	struct buf key = BUF_INIT;

	n = realloc(p->groups, (p->ngroups + 1) * sizeof(*n));
	if (!n) {
		p->oom = 1;
		return;
	}
	p->groups = n;
	n = &p->groups[p->ngroups++];
	n->safety = g->safety;
	n->hostname = g->hostname ? strdup(g->hostname) : NULL;
	n->source = g->source ? strdup(g->source) : NULL;
	n->kept = g->kept;
	n->forgotten = g->forgotten;
	if ((g->hostname && !n->hostname) || (g->source && !n->source))
		p->oom = 1;
	if (p->json || p->silent)
		return;
	prune_key_part(&key, "host", g->hostname);
	prune_key_part(&key, "source", g->source);
	printf("%s%s%s%s: %zu kept, %zu %sforgotten\n",
	       p->ngroups > 1 ? "\n" : "",
	       g->safety ? "safety snapshots" : key.len ? "snapshots" :
	       "all snapshots", key.len ? " of " : "",
	       key.len ? (const char *)key.data : "", g->kept, g->forgotten,
	       p->dry_run ? "to be " : "");
	buf_release(&key);
}

/* Why a snapshot goes: the policy names only the rules that keep one. */
static void prune_forget_reason(const struct prune_ctx *p, struct buf *out)
{
	const struct prune_group *g = p->ngroups ? &p->groups[p->ngroups - 1]
						 : NULL;

	if (!g || !g->safety)
		buf_addstr(out, "no rule keeps it");
	else if (p->pol->safety_days == 0)
		buf_addstr(out, "safety, --keep-safety-days 0");
	else
		buf_addf(out, "safety, older than %d days before the newest snapshot",
			 p->pol->safety_days);
}

static void prune_report(void *ctx, const struct repo_snapinfo *s, int keep,
			 const char *reason)
{
	struct prune_ctx *p = ctx;
	struct buf line = BUF_INIT, why = BUF_INIT;
	char when[40];

	cli_time_format(s->time, when, sizeof(when));
	if (keep)
		buf_addstr(&why, reason ? reason : "");
	else
		prune_forget_reason(p, &why);
	if (p->json) {
		cli_json_begin_object(p->json, NULL);
		cli_json_str(p->json, "id", s->id);
		cli_json_strn(p->json, "short_id", s->id, 8);
		cli_json_str(p->json, "time", when);
		cli_json_str(p->json, "hostname", s->hostname);
		cli_json_str(p->json, "source", s->source);
		cli_json_begin_array(p->json, "tags");
		for (size_t i = 0; i < s->ntags; i++)
			cli_json_str(p->json, NULL, s->tags[i]);
		cli_json_end_array(p->json);
		cli_json_u64(p->json, "group", p->ngroups ? p->ngroups - 1 : 0);
		cli_json_bool(p->json, "safety", repo_snapinfo_is_safety(s));
		cli_json_bool(p->json, "keep", keep);
		cli_json_str(p->json, "reason", (const char *)why.data);
		cli_json_end_object(p->json);
		buf_release(&why);
		return;
	}
	if (p->silent) {
		buf_release(&why);
		return;
	}
	buf_addf(&line, "  %-6s %.8s  %s  ", keep ? "keep" : "forget", s->id,
		 when);
	if (s->hostname)
		cli_quote(&line, s->hostname, strlen(s->hostname));
	if (why.len)
		buf_addf(&line, "  (%s)", (const char *)why.data);
	buf_addch(&line, '\n');
	fwrite(line.data, 1, line.len, stdout);
	buf_release(&line);
	buf_release(&why);
}

static void prune_json_groups(struct cli_json *j, const struct prune_ctx *p)
{
	cli_json_begin_array(j, "groups");
	for (size_t i = 0; i < p->ngroups; i++) {
		const struct prune_group *g = &p->groups[i];

		cli_json_begin_object(j, NULL);
		cli_json_u64(j, "group", i);
		cli_json_bool(j, "safety", g->safety);
		if (g->hostname)
			cli_json_str(j, "hostname", g->hostname);
		else
			cli_json_null(j, "hostname");
		if (g->source)
			cli_json_str(j, "source", g->source);
		else
			cli_json_null(j, "source");
		cli_json_u64(j, "kept", g->kept);
		cli_json_u64(j, "forgotten", g->forgotten);
		cli_json_end_object(j);
	}
	cli_json_end_array(j);
}

static void prune_ctx_release(struct prune_ctx *p)
{
	for (size_t i = 0; i < p->ngroups; i++) {
		free(p->groups[i].hostname);
		free(p->groups[i].source);
	}
	free(p->groups);
}

/* A --keep-* count: a positive number or "unlimited" (-1). */
static int prune_count(struct cli *c, const char *opt, const char *arg,
		       int *out)
{
	if (!strcmp(arg, "unlimited") || !strcmp(arg, "all")) {
		*out = -1;
		return 0;
	}
	if (cli_parse_int(arg, 1, 1000000000, out) < 0) {
		cli_usage_error(c, "--%s: '%s' is not a positive number or 'unlimited'",
				opt, arg);
		return -1;
	}
	return 0;
}

int cmd_prune(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "keep-last", required_argument, NULL, PRUNE_OPT_LAST },
		{ "keep-hourly", required_argument, NULL, PRUNE_OPT_HOURLY },
		{ "keep-daily", required_argument, NULL, PRUNE_OPT_DAILY },
		{ "keep-weekly", required_argument, NULL, PRUNE_OPT_WEEKLY },
		{ "keep-monthly", required_argument, NULL, PRUNE_OPT_MONTHLY },
		{ "keep-yearly", required_argument, NULL, PRUNE_OPT_YEARLY },
		{ "keep-days", required_argument, NULL, PRUNE_OPT_DAYS },
		{ "keep-within", required_argument, NULL, PRUNE_OPT_DAYS },
		{ "keep-tag", required_argument, NULL, PRUNE_OPT_TAG },
		{ "keep-safety-days", required_argument, NULL, PRUNE_OPT_SAFETY_DAYS },
		{ "group-by", required_argument, NULL, PRUNE_OPT_GROUP_BY },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "json", no_argument, NULL, PRUNE_OPT_JSON },
		CLI_GLOBAL_OPTIONS
	};
	struct buf err = BUF_INIT, tags = BUF_INIT;
	struct repo_prune_result res;
	struct repo_prune_report rep;
	struct prune_ctx pc = { 0 };
	struct policy pol;
	struct cli_json j;
	struct repo *r = NULL;
	char freed[32];
	int o, e, json = 0, ret = CLI_EXIT_ERROR;

	policy_init(&pol);
	pc.pol = &pol;
	pc.c = c;
	while ((o = cli_getopt(c, argc, argv, "n", opts)) != CLI_OPT_END) {
		const char *name = NULL;
		int *slot = NULL;

		switch (o) {
		case PRUNE_OPT_LAST:
			name = "keep-last", slot = &pol.last;
			break;
		case PRUNE_OPT_HOURLY:
			name = "keep-hourly", slot = &pol.hourly;
			break;
		case PRUNE_OPT_DAILY:
			name = "keep-daily", slot = &pol.daily;
			break;
		case PRUNE_OPT_WEEKLY:
			name = "keep-weekly", slot = &pol.weekly;
			break;
		case PRUNE_OPT_MONTHLY:
			name = "keep-monthly", slot = &pol.monthly;
			break;
		case PRUNE_OPT_YEARLY:
			name = "keep-yearly", slot = &pol.yearly;
			break;
		case PRUNE_OPT_DAYS:
			if (cli_parse_int(optarg, 1, 1000000, &pol.days) < 0) {
				ret = cli_usage_error(c, "--keep-days: '%s' is not a positive number of days",
						      optarg);
				goto out;
			}
			break;
		case PRUNE_OPT_SAFETY_DAYS:
			pol.safety_rule = 1;
			if (!strcmp(optarg, "unlimited") || !strcmp(optarg, "all")) {
				pol.safety_days = -1;
			} else if (cli_parse_int(optarg, 0, 1000000,
						 &pol.safety_days) < 0) {
				ret = cli_usage_error(c, "--keep-safety-days: '%s' is not a number of days or 'unlimited'",
						      optarg);
				goto out;
			}
			break;
		case PRUNE_OPT_GROUP_BY:
			if (policy_group_parse(optarg, &pol.group_by) < 0) {
				ret = cli_usage_error(c, "--group-by: '%s' is not host,source, host, source or none",
						      optarg);
				goto out;
			}
			break;
		case PRUNE_OPT_TAG:
			if (buf_add(&tags, &optarg, sizeof(optarg)) < 0) {
				cli_error(c, "out of memory");
				goto out;
			}
			break;
		case 'n':
			pc.dry_run = 1;
			break;
		case PRUNE_OPT_JSON:
			json = 1;
			cli_json_stream(c);
			break;
		case CLI_OPT_HELP:
			ret = CLI_EXIT_OK;
			goto out;
		default:
			ret = CLI_EXIT_USAGE;
			goto out;
		}
		if (slot && prune_count(c, name, optarg, slot) < 0) {
			ret = CLI_EXIT_USAGE;
			goto out;
		}
	}
	if (optind < argc) {
		ret = cli_usage_error(c, "unexpected argument '%s'", argv[optind]);
		goto out;
	}
	pol.keep_tags = (const char *const *)tags.data;
	pol.nkeep_tags = tags.len / sizeof(char *);
	/* a dry run's plan is what was asked for, also with -q */
	pc.silent = cli_quiet(c) && !pc.dry_run;

	cli_json_init(&j);
	if (json) {
		pc.json = &j;
		cli_json_begin_object(&j, NULL);
		cli_json_bool(&j, "dry_run", pc.dry_run);
		cli_json_begin_array(&j, "snapshots");
	}
	/* even a dry run plans against a repository nobody else changes
	 * meanwhile, so it takes the writer lock too */
	if (cli_open(c, &r, 1))
		goto out_json;
	rep.group = prune_report_group;
	rep.snapshot = prune_report;
	rep.ctx = &pc;
	repo_set_progress(r, prune_progress, &pc);
	/* choosing the snapshots to forget and the packs to touch reads
	 * every snapshot: a phase of its own, so the line shows from the
	 * start (its time, no total) */
	pc.ph = cli_progress_phase(cli_progress_of(c), "plan", "packs");
	cli_phase_start(pc.ph);
	memset(&res, 0, sizeof(res));
	e = repo_prune(r, &pol, pc.dry_run, &rep, &res, &err);
	cli_phase_stop(pc.ph);
	if (e < 0) {
		cli_fail(c, e, &err, "cannot prune");
		goto out_json;
	}
	if (pc.oom)	/* the prune is done: only the report is short */
		cli_warn(c, "out of memory: the list of groups is incomplete");
	if (json) {
		cli_json_end_array(&j);
		prune_json_groups(&j, &pc);
		cli_json_u64(&j, "kept", res.kept);
		cli_json_u64(&j, "forgotten", res.forgotten);
		cli_json_u64(&j, "packs_deleted", res.packs_deleted);
		cli_json_u64(&j, "packs_repacked", res.packs_repacked);
		cli_json_u64(&j, "blobs_removed", res.blobs_removed);
		cli_json_u64(&j, "bytes_freed", res.bytes_freed);
		cli_json_end_object(&j);
		if (cli_json_finish(&j) < 0) {
			cli_error(c, "cannot write to standard output");
			goto out_json;
		}
	} else if (!pc.silent) {
		const char *would = pc.dry_run ? "would be " : "";

		if (pc.ngroups)
			putchar('\n');
		cli_human_size(res.bytes_freed, freed, sizeof(freed));
		printf("%llu snapshots kept, %llu %sforgotten\n",
		       (unsigned long long)res.kept,
		       (unsigned long long)res.forgotten, would);
		printf("%llu packs %sdeleted, %llu %srepacked, %llu blobs %sremoved, %s %sfreed\n",
		       (unsigned long long)res.packs_deleted, would,
		       (unsigned long long)res.packs_repacked, would,
		       (unsigned long long)res.blobs_removed, would, freed,
		       would);
		if (pc.dry_run)
			printf("(dry run: nothing was changed)\n");
	}
	ret = CLI_EXIT_OK;
out_json:
	cli_json_release(&j);
out:
	repo_free(r);
	prune_ctx_release(&pc);
	buf_release(&tags);
	buf_release(&err);
	return ret;
}

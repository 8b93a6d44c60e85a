/*
 * cmd-status: `vault status [--max-age DURATION] [--group-by KEY]
 * [--json]` answers a monitoring system's question, "are the backups
 * current?", in its exit status:
 *
 *   0  the newest snapshot of every group is whole and at most
 *      DURATION old (26h by default: a daily timer, its random delay
 *      and a long run fit in it);
 *   3  (CLI_EXIT_DAMAGE, as `vault snapshot` exits after one) the newest
 *      snapshot of a group is partial, and none is too old;
 *   4  (CLI_EXIT_STALE) the newest snapshot of a group is older than
 *      DURATION, or there is no snapshot at all;
 *   1, 10, 11, 12 as for every verb (the repository could not be read).
 *
 * Groups are prune's (store/policy.h: host and source unless --group-by
 * says otherwise), read as `vault report` reads them (cmd-report.c):
 * safety snapshots, which hold no backup, are in none.  The first line
 * printed is the verdict (what a Nagios-style check shows), then the
 * last good snapshot (whole, no safety snapshot) of the whole
 * repository, then one line per group.  The repository is only read.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "policy.h"
#include "repo.h"
#include "report-html.h"

const char cmd_status_usage[] =
	"usage: vault status [--max-age DURATION] [--group-by KEY] [--json]\n"
	"\n"
	"Says whether the backups are current, for monitoring: for each group\n"
	"of snapshots of one host and source (as prune groups them; safety\n"
	"snapshots are in none), its newest snapshot, how old it is, whether\n"
	"it is partial, and the age of the group's last good (whole) one.  The\n"
	"first line is the verdict, the second when the last good snapshot\n"
	"of the repository was taken.  The repository is only read.\n"
	"\n"
	"Exit status: 0 every group's newest snapshot is whole and within\n"
	"DURATION; 3 one is partial (and none is too old); 4 one is older\n"
	"than DURATION, or there is no snapshot at all; 1, 10, 11 or 12 when\n"
	"the repository cannot be read (see vault(1)).\n"
	"\n"
	"      --max-age DURATION  how old the newest snapshot of a group may\n"
	"                          be: a number and a unit, s, m, h, d or w,\n"
	"                          or a sum such as 1d12h (default 26h)\n"
	"      --group-by KEY      host,source (default), host, source or none\n"
	"      --json              print the same as JSON\n"
	"  -h, --help              show this help\n";

enum {
	STATUS_OPT_MAX_AGE = CLI_OPT_FIRST_VERB,
	STATUS_OPT_GROUP_BY,
	STATUS_OPT_JSON,
};

#define STATUS_MAX_AGE_DEFAULT "26h"

/* A group's state, the worst last. */
enum status_state { STATUS_OK, STATUS_PARTIAL, STATUS_STALE };
static const char *const status_names[] = { "ok", "partial", "stale" };

struct status {
	const struct report *rp;
	const char *max_age_text;	/* as given, for the messages */
	int64_t max_age;		/* seconds */
	size_t nstale, npartial;
	enum status_state worst;	/* STALE too when there is no group */
};

/* Too old wins over partial: a backup that did not run is the news. */
static enum status_state status_of(const struct status *st,
				   const struct report_group *g)
{
	const struct report_snap *s = &st->rp->snaps[g->newest];

	if (st->rp->now - s->time > st->max_age)
		return STATUS_STALE;
	return s->skipped ? STATUS_PARTIAL : STATUS_OK;
}

static void status_count(struct status *st)
{
	st->worst = st->rp->ngroups ? STATUS_OK : STATUS_STALE;
	for (size_t i = 0; i < st->rp->ngroups; i++) {
		enum status_state s = status_of(st, &st->rp->groups[i]);

		st->nstale += s == STATUS_STALE;
		st->npartial += s == STATUS_PARTIAL;
		if (s > st->worst)
			st->worst = s;
	}
}

/* The verdict: the first line, the one a monitoring system shows. */
static void status_print_verdict(const struct status *st)
{
	size_t n = st->rp->ngroups;

	if (!n) {
		printf("STALE: no snapshot in the repository (safety snapshots do not count)\n");
	} else if (st->nstale) {
		printf("STALE: %zu of %zu group%s ha%s no snapshot within %s",
		       st->nstale, n, n == 1 ? "" : "s",
		       st->nstale == 1 ? "s" : "ve", st->max_age_text);
		if (st->npartial)
			printf("; the newest snapshot of %zu more is partial",
			       st->npartial);
		putchar('\n');
	} else if (st->npartial) {
		printf("PARTIAL: the newest snapshot of %zu of %zu group%s is partial\n",
		       st->npartial, n, n == 1 ? "" : "s");
	} else {
		if (n == 1)
			printf("OK: the newest snapshot is whole and within %s\n",
			       st->max_age_text);
		else
			printf("OK: the newest snapshot of each of the %zu groups is whole and within %s\n",
			       n, st->max_age_text);
	}
}

/* Appends s quoted for a terminal (it came from the repository), padded
 * with spaces to width (0: none). */
static void status_quoted(struct buf *b, const char *s, size_t width)
{
	size_t before = b->len;

	cli_quote(b, s ? s : "", s ? strlen(s) : 0);
	while (b->len - before < width)
		buf_addch(b, ' ');
}

static void status_print(const struct status *st)
{
	const struct report *rp = st->rp;
	size_t g = report_last_good(rp);
	struct buf line = BUF_INIT;
	char when[40], age[48];

	status_print_verdict(st);
	if (g == SIZE_MAX) {
		printf("last good snapshot: none\n");
	} else {
		cli_time_format(rp->snaps[g].time, when, sizeof(when));
		report_age(rp->now - rp->snaps[g].time, age, sizeof(age));
		buf_addf(&line, "last good snapshot: %s, %s%s (%.8s of ", when,
			 age, rp->now >= rp->snaps[g].time ? " ago" : "",
			 rp->snaps[g].id);
		status_quoted(&line, rp->snaps[g].source, 0);
		buf_addstr(&line, ")\n");
	}
	if (rp->ngroups)
		buf_addf(&line, "\n%-8s %-10s %-8s  %-20s  %-10s %-16s  %s\n",
			 "STATE", "AGE", "NEWEST", "TIME", "LAST GOOD", "HOST",
			 "SOURCE");
	for (size_t i = 0; i < rp->ngroups; i++) {
		const struct report_group *gr = &rp->groups[i];
		const struct report_snap *s = &rp->snaps[gr->newest];
		char good[48];

		cli_time_format(s->time, when, sizeof(when));
		report_age(rp->now - s->time, age, sizeof(age));
		if (gr->last_good == SIZE_MAX)
			snprintf(good, sizeof(good), "none");
		else
			report_age(rp->now - rp->snaps[gr->last_good].time,
				   good, sizeof(good));
		buf_addf(&line, "%-8s %-10s %.8s  %-20s  %-10s ",
			 status_names[status_of(st, gr)], age, s->id, when,
			 good);
		status_quoted(&line, gr->hostname, 16);
		buf_addstr(&line, "  ");
		status_quoted(&line, gr->source, 0);
		buf_addch(&line, '\n');
	}
	fwrite(line.data, 1, line.len, stdout);
	buf_release(&line);
}

static int status_json(const struct status *st)
{
	const struct report *rp = st->rp;
	struct cli_json j;

	cli_json_init(&j);
	cli_json_begin_object(&j, NULL);
	cli_json_str(&j, "status", status_names[st->worst]);
	cli_json_str(&j, "repository", rp->repo_path);
	cli_json_time(&j, "checked", rp->now);
	cli_json_i64(&j, "unix_checked", rp->now);
	cli_json_i64(&j, "max_age_seconds", st->max_age);
	cli_json_u64(&j, "groups_stale", st->nstale);
	cli_json_u64(&j, "groups_partial", st->npartial);
	report_json_ref(&j, "last_good", rp, report_last_good(rp));
	cli_json_begin_array(&j, "groups");
	for (size_t i = 0; i < rp->ngroups; i++) {
		const struct report_group *g = &rp->groups[i];

		cli_json_begin_object(&j, NULL);
		cli_json_str(&j, "state", status_names[status_of(st, g)]);
		cli_json_str(&j, "hostname", g->hostname);
		cli_json_str(&j, "source", g->source);
		cli_json_u64(&j, "snapshots", g->count);
		report_json_ref(&j, "newest", rp, g->newest);
		cli_json_bool(&j, "partial", rp->snaps[g->newest].skipped != 0);
		cli_json_u64(&j, "skipped", rp->snaps[g->newest].skipped);
		report_json_ref(&j, "last_good", rp, g->last_good);
		cli_json_end_object(&j);
	}
	cli_json_end_array(&j);
	cli_json_end_object(&j);
	return cli_json_finish(&j);
}

int cmd_status(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "max-age", required_argument, NULL, STATUS_OPT_MAX_AGE },
		{ "group-by", required_argument, NULL, STATUS_OPT_GROUP_BY },
		{ "json", no_argument, NULL, STATUS_OPT_JSON },
		CLI_GLOBAL_OPTIONS
	};
	struct status st;
	struct report rp;
	struct repo *r = NULL;
	unsigned group_by = POLICY_GROUP_HOST | POLICY_GROUP_SOURCE;
	int o, json = 0, ret = CLI_EXIT_ERROR;

	memset(&st, 0, sizeof(st));
	memset(&rp, 0, sizeof(rp));
	st.max_age_text = STATUS_MAX_AGE_DEFAULT;
	cli_parse_duration(st.max_age_text, &st.max_age);
	while ((o = cli_getopt(c, argc, argv, "", opts)) != CLI_OPT_END) {
		switch (o) {
		case STATUS_OPT_MAX_AGE:
			if (cli_parse_duration(optarg, &st.max_age) < 0)
				return cli_usage_error(c, "--max-age: '%s' is not a duration: a number and a unit, s, m, h, d or w (30m, 26h, 2d, 1w, 1d12h)",
						       optarg);
			st.max_age_text = optarg;
			break;
		case STATUS_OPT_GROUP_BY:
			if (policy_group_parse(optarg, &group_by) < 0)
				return cli_usage_error(c, "--group-by: '%s' is not host,source, host, source or none",
						       optarg);
			break;
		case STATUS_OPT_JSON:
			json = 1;
			break;
		case CLI_OPT_HELP:
			return CLI_EXIT_OK;
		default:
			return CLI_EXIT_USAGE;
		}
	}
	if (optind < argc)
		return cli_usage_error(c, "unexpected argument '%s'", argv[optind]);
	if (cli_open(c, &r, 0) || report_snapshots(c, r, &rp, group_by))
		goto out;
	st.rp = &rp;
	status_count(&st);
	if (json && status_json(&st) < 0) {
		cli_error(c, "cannot write to standard output");
		goto out;
	}
	if (!json)
		status_print(&st);
	ret = st.worst == STATUS_STALE ? CLI_EXIT_STALE :
	      st.worst == STATUS_PARTIAL ? CLI_EXIT_DAMAGE : CLI_EXIT_OK;
	if (ret == CLI_EXIT_DAMAGE)
		c->log_result = "partial";	/* not damage: the log says */
out:
	report_release(&rp);
	repo_free(r);
	return ret;
}

/*
 * cmd-check: `vault check` verifies the repository's structure (and with
 * --read-data, or --read-data-subset for a share of the packs, every
 * blob's content), printing each problem with what it affects.  Exit
 * code 3 means damage was found, so scripts can tell it from an error
 * that kept the check from running (1).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli-progress.h"
#include "repo.h"

const char cmd_check_usage[] =
	"usage: vault check [--read-data | --read-data-subset N%] [--rebuild-index]\n"
	"                   [--json]\n"
	"\n"
	"Verifies the repository: packs, index and snapshots; with --read-data\n"
	"also decrypts and hash-verifies every blob.  Exits with 3 when damage\n"
	"is found.  --rebuild-index first rebuilds index.db from the packs,\n"
	"salvaging the intact blobs of damaged ones; a damaged index.db is kept\n"
	"as index.db.corrupt-<time>.\n"
	"\n"
	"      --read-data            read and verify all data\n"
	"      --read-data-subset N%  read and verify N percent of the packs\n"
	"      --rebuild-index        rebuild the index from the packs first\n"
	"      --json                 print JSON, and progress as JSON lines on\n"
	"                             stderr\n"
	"  -h, --help                 show this help\n";

enum {
	CHECK_OPT_READ_DATA = CLI_OPT_FIRST_VERB,
	CHECK_OPT_SUBSET,
	CHECK_OPT_REBUILD,
	CHECK_OPT_JSON,
};

struct check_ctx {
	struct cli *c;
	struct cli_json *json;
	uint64_t shown;
	struct cli_phase *ph;
};

/* The "check" phase, pack by pack; -v: each pack once checked. */
static void check_progress(void *ctx, const struct repo_progress *pr)
{
	struct check_ctx *k = ctx;
	char sz[32];

	cli_phase_total(k->ph, pr->bytes_total, pr->items_total, 1);
	/* the line shows the pack's short id */
	cli_phase_at(k->ph, pr->bytes, pr->items, pr->pack,
		     pr->pack ? strnlen(pr->pack, 12) : 0);
	if (pr->done && cli_verbose(k->c, 1)) {
		cli_human_size(pr->pack_size, sz, sizeof(sz));
		cli_progress_detail(cli_progress_of(k->c), "checked",
				    pr->pack, strlen(pr->pack), sz);
	}
}

static void check_problem(void *ctx, const char *kind, const char *what,
			  const char *detail)
{
	struct check_ctx *k = ctx;
	struct buf line = BUF_INIT;

	k->shown++;
	if (k->json) {
		cli_json_begin_object(k->json, NULL);
		cli_json_str(k->json, "kind", kind);
		cli_json_str(k->json, "what", what);
		cli_json_str(k->json, "detail", detail ? detail : "");
		cli_json_end_object(k->json);
		return;
	}
	/* names come from a damaged repository: quote them */
	if (kind && !strcmp(kind, "path")) {
		buf_addstr(&line, "  affected: ");
		cli_quote(&line, what ? what : "", what ? strlen(what) : 0);
	} else {
		buf_addf(&line, "%s ", kind ? kind : "?");
		cli_quote(&line, what ? what : "", what ? strlen(what) : 0);
	}
	if (detail && *detail) {
		buf_addstr(&line, ": ");
		cli_quote(&line, detail, strlen(detail));
	}
	buf_addch(&line, '\n');
	/* not through the progress line */
	cli_progress_hold(k->c->progress);
	fwrite(line.data, 1, line.len, stdout);
	fflush(stdout);
	cli_progress_release(k->c->progress);
	buf_release(&line);
}

/* "N%" or "N", 0 < N <= 100 (fractions allowed: "0.5%"). */
static int check_parse_subset(const char *s, double *out)
{
	char *end;
	double v;

	if (!s || !*s || (*s < '0' || *s > '9'))
		return -EINVAL;
	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s)
		return -EINVAL;
	if (*end == '%')
		end++;
	if (*end || !isfinite(v) || v <= 0 || v > 100)
		return -EINVAL;
	*out = v;
	return 0;
}

int cmd_check(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "read-data", no_argument, NULL, CHECK_OPT_READ_DATA },
		{ "read-data-subset", required_argument, NULL, CHECK_OPT_SUBSET },
		{ "rebuild-index", no_argument, NULL, CHECK_OPT_REBUILD },
		{ "json", no_argument, NULL, CHECK_OPT_JSON },
		CLI_GLOBAL_OPTIONS
	};
	struct buf err = BUF_INIT;
	struct repo_check_result res, rb;
	struct repo_check_opts co;
	struct check_ctx k = { c, NULL, 0, NULL };
	struct cli_json j;
	struct repo *r = NULL;
	int o, e, json = 0, rebuild = 0, read_all = 0, damaged = 0;
	int ret = CLI_EXIT_ERROR;
	double subset = 0;

	while ((o = cli_getopt(c, argc, argv, "", opts)) != CLI_OPT_END) {
		switch (o) {
		case CHECK_OPT_READ_DATA:
			read_all = 1;
			break;
		case CHECK_OPT_SUBSET:
			if (check_parse_subset(optarg, &subset) < 0)
				return cli_usage_error(c, "--read-data-subset: '%s' is not a percentage in (0, 100]",
						       optarg);
			break;
		case CHECK_OPT_REBUILD:
			rebuild = 1;
			break;
		case CHECK_OPT_JSON:
			json = 1;
			cli_json_stream(c);
			break;
		case CLI_OPT_HELP:
			return CLI_EXIT_OK;
		default:
			return CLI_EXIT_USAGE;
		}
	}
	if (optind < argc)
		return cli_usage_error(c, "unexpected argument '%s'", argv[optind]);
	if (read_all && subset > 0)
		return cli_usage_error(c, "--read-data and --read-data-subset exclude each other");
	cli_json_init(&j);
	if (cli_open(c, &r, rebuild ? CLI_OPEN_WRITE | CLI_OPEN_REBUILD : 0))
		goto out;
	if (json) {
		k.json = &j;
		cli_json_begin_object(&j, NULL);
		cli_json_begin_array(&j, "problems");
	}
	memset(&co, 0, sizeof(co));
	co.read_data = read_all || subset > 0;
	co.subset = read_all ? 100 : subset;
	co.problem = check_problem;
	co.ctx = &k;
	repo_set_progress(r, check_progress, &k);
	memset(&rb, 0, sizeof(rb));
	if (rebuild) {
		/* damage found by the rebuild (reported through co) leaves
		 * the rebuilt index in place: the check below goes on */
		damaged = repo_rebuild_index(r, &co, &rb, &err);
		if (damaged < 0 && damaged != -EBADMSG) {
			cli_fail(c, damaged, &err, "cannot rebuild the index");
			goto out;
		}
		if (!json && !cli_quiet(c))
			printf("index rebuilt from %llu packs (%llu blobs)%s\n",
			       (unsigned long long)rb.packs_checked,
			       (unsigned long long)rb.blobs_checked,
			       damaged ? ", with the damage listed above" : "");
	}
	memset(&res, 0, sizeof(res));
	buf_reset(&err);
	k.ph = cli_progress_phase(cli_progress_of(c), "check", "packs");
	cli_phase_start(k.ph);
	e = repo_check(r, &co, &res, &err);
	cli_phase_stop(k.ph);
	if (e < 0 && e != -EBADMSG) {
		cli_fail(c, e, &err, "cannot check repository %s", repo_path(r));
		goto out;
	}
	if (json) {
		cli_json_end_array(&j);
		cli_json_bool(&j, "ok", e == 0 && !damaged);
		cli_json_u64(&j, "packs_checked", res.packs_checked);
		cli_json_u64(&j, "blobs_checked", res.blobs_checked);
		cli_json_u64(&j, "problems_found", res.problems);
		cli_json_bool(&j, "read_data", co.read_data);
		cli_json_double(&j, "read_data_percent",
				co.read_data ? co.subset : 0);
		if (rebuild) {
			cli_json_begin_object(&j, "index_rebuilt");
			cli_json_u64(&j, "packs", rb.packs_checked);
			cli_json_u64(&j, "blobs", rb.blobs_checked);
			cli_json_u64(&j, "problems_found", rb.problems);
			cli_json_end_object(&j);
		}
		cli_json_end_object(&j);
		if (cli_json_finish(&j) < 0) {
			cli_error(c, "cannot write to standard output");
			goto out;
		}
	} else if (!cli_quiet(c)) {
		printf("checked %llu packs, %llu blobs%s: ",
		       (unsigned long long)res.packs_checked,
		       (unsigned long long)res.blobs_checked,
		       !co.read_data ? " (structure only; use --read-data to verify contents)" :
		       co.subset < 100 ? " (a subset of the data read)" : "");
		if (e == 0 && !damaged)
			printf("no problems found\n");
		else if (e == 0)
			printf("no problems in the rebuilt index; the rebuild"
			       " found %llu, listed above\n",
			       (unsigned long long)rb.problems);
		else
			printf("%llu problems found\n",
			       (unsigned long long)(res.problems ? res.problems :
						    k.shown));
	}
	if (e == -EBADMSG || damaged) {
		cli_error(c, "repository %s is damaged (%s)", repo_path(r),
			  e && err.len ? (const char *)err.data :
			  "see the problems listed above");
		ret = CLI_EXIT_DAMAGE;
	} else {
		ret = CLI_EXIT_OK;
	}
out:
	cli_json_release(&j);
	repo_free(r);
	buf_release(&err);
	return ret;
}

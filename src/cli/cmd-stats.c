/*
 * cmd-stats: `vault stats` shows how big the repository is and how well
 * deduplication and compression are doing.
 */
#include <stdio.h>

#include "cli.h"
#include "repo.h"

const char cmd_stats_usage[] =
	"usage: vault stats [--json]\n"
	"\n"
	"Shows the repository's size, snapshot, pack and chunk counts, and\n"
	"the deduplication ratio (data referenced by all snapshots over the\n"
	"unique data stored).\n"
	"\n"
	"      --json       print JSON\n"
	"  -h, --help       show this help\n";

int cmd_stats(struct cli *c, int argc, char **argv)
{
	struct buf err = BUF_INIT;
	struct repo_stats s;
	struct repo *r = NULL;
	char stored[32], raw[32], ref[32], dedup[32], comp[32];
	int o, e, json = 0, ret = CLI_EXIT_ERROR;

	o = cli_getopt_json(c, argc, argv, &json);
	if (o != CLI_OPT_END)
		return o;
	if (optind < argc)
		return cli_usage_error(c, "unexpected argument '%s'", argv[optind]);
	if (cli_open(c, &r, 0))
		return CLI_EXIT_ERROR;
	e = repo_stats(r, &s, &err);
	if (e < 0) {
		cli_fail(c, e, &err, "cannot compute statistics");
		goto out;
	}
	if (json) {
		struct cli_json j;

		cli_json_init(&j);
		cli_json_begin_object(&j, NULL);
		cli_json_str(&j, "repository", repo_path(r));
		cli_json_bool(&j, "encrypted", repo_encrypted(r));
		cli_json_u64(&j, "snapshots", s.snapshots);
		cli_json_u64(&j, "packs", s.packs);
		cli_json_u64(&j, "chunks", s.chunks);
		cli_json_u64(&j, "stored_bytes", s.stored_bytes);
		cli_json_u64(&j, "raw_bytes", s.raw_bytes);
		cli_json_u64(&j, "referenced_bytes", s.referenced_raw);
		if (s.raw_bytes)
			cli_json_double(&j, "dedup_ratio",
					(double)s.referenced_raw / (double)s.raw_bytes);
		else
			cli_json_null(&j, "dedup_ratio");
		if (s.stored_bytes)
			cli_json_double(&j, "compression_ratio",
					(double)s.raw_bytes / (double)s.stored_bytes);
		else
			cli_json_null(&j, "compression_ratio");
		cli_json_end_object(&j);
		if (cli_json_finish(&j) < 0) {
			cli_error(c, "cannot write to standard output");
			goto out;
		}
	} else {
		cli_human_size(s.stored_bytes, stored, sizeof(stored));
		cli_human_size(s.raw_bytes, raw, sizeof(raw));
		cli_human_size(s.referenced_raw, ref, sizeof(ref));
		cli_ratio(s.referenced_raw, s.raw_bytes, dedup, sizeof(dedup));
		cli_ratio(s.raw_bytes, s.stored_bytes, comp, sizeof(comp));
		printf("repository:        %s (%s)\n", repo_path(r),
		       repo_encrypted(r) ? "encrypted" : "not encrypted");
		printf("snapshots:         %llu\n",
		       (unsigned long long)s.snapshots);
		printf("packs:             %llu\n", (unsigned long long)s.packs);
		printf("chunks:            %llu\n", (unsigned long long)s.chunks);
		printf("stored size:       %s\n", stored);
		printf("unique data:       %s\n", raw);
		printf("referenced data:   %s\n", ref);
		printf("dedup ratio:       %s\n", dedup);
		printf("compression ratio: %s\n", comp);
	}
	ret = CLI_EXIT_OK;
out:
	repo_free(r);
	buf_release(&err);
	return ret;
}

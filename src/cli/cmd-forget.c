/*
 * cmd-forget: `vault forget SNAP...` removes snapshots from the
 * repository's list.  Every spec is resolved before anything is
 * forgotten, so a typo in the third argument does not leave the first
 * two half-done.  Space is reclaimed later by `vault prune`.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "repo.h"

const char cmd_forget_usage[] =
	"usage: vault forget [--json] SNAP...\n"
	"\n"
	"Forgets the given snapshots (full ids, unique prefixes or 'latest').\n"
	"Their data is removed by the next 'vault prune'.\n"
	"\n"
	"      --json       print the forgotten ids as JSON\n"
	"  -h, --help       show this help\n";

int cmd_forget(struct cli *c, int argc, char **argv)
{
	struct buf err = BUF_INIT;
	struct cli_json j;
	struct repo *r = NULL;
	char (*ids)[65] = NULL;
	size_t n = 0, done = 0;
	int o, e, json = 0, ret = CLI_EXIT_ERROR;

	o = cli_getopt_json(c, argc, argv, &json);
	if (o != CLI_OPT_END)
		return o;
	if (optind >= argc)
		return cli_usage_error(c, "which snapshots? (give ids, prefixes or 'latest')");
	cli_json_init(&j);
	ids = calloc((size_t)(argc - optind), sizeof(*ids));
	if (!ids) {
		cli_error(c, "out of memory");
		goto out;
	}
	if (cli_open(c, &r, 1))
		goto out;
	for (int i = optind; i < argc; i++) {
		size_t k;

		if (cli_resolve(c, r, argv[i], ids[n]))
			goto out;
		/* the same snapshot named twice (id and "latest") */
		for (k = 0; k < n && strcmp(ids[k], ids[n]); k++)
			;
		if (k == n)
			n++;
	}
	if (json)
		cli_json_begin_array(&j, NULL);
	for (size_t i = 0; i < n; i++) {
		e = repo_snapshot_forget(r, ids[i], &err);
		if (e < 0) {
			cli_fail(c, e, &err, "cannot forget snapshot %.8s",
				 ids[i]);
			break;
		}
		done++;
		if (json)
			cli_json_str(&j, NULL, ids[i]);
		else if (!cli_quiet(c))
			printf("forgot snapshot %.8s (%s)\n", ids[i], ids[i]);
	}
	if (json) {
		cli_json_end_array(&j);
		cli_json_finish(&j);
	}
	if (done == n)
		ret = CLI_EXIT_OK;
out:
	cli_json_release(&j);
	repo_free(r);
	free(ids);
	buf_release(&err);
	return ret;
}

/*
 * cmd-cat: `vault cat SNAP PATH` streams one file of a snapshot to
 * standard output, every chunk verified by the engine on the way.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli-progress.h"
#include "repo.h"

const char cmd_cat_usage[] =
	"usage: vault cat [--json] SNAP PATH\n"
	"\n"
	"Writes the content of file PATH of snapshot SNAP (a full id, a unique\n"
	"prefix or 'latest') to standard output.  Progress is shown on a\n"
	"terminal only when standard output is not one.\n"
	"\n"
	"      --json       progress and a summary as JSON lines on stderr\n"
	"  -h, --help       show this help\n";

enum {
	CAT_OPT_JSON = CLI_OPT_FIRST_VERB,
};

struct cat_sink {
	int write_err;
	struct cli_phase *ph;
};

static int cat_sink(void *ctx, const void *p, size_t n)
{
	struct cat_sink *s = ctx;
	int r = cli_write_all(1, p, n);

	if (r < 0)
		s->write_err = r;
	else
		cli_phase_add(s->ph, n, 0);
	return r;
}

int cmd_cat(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, CAT_OPT_JSON },
		CLI_GLOBAL_OPTIONS
	};
	struct buf err = BUF_INIT, q = BUF_INIT;
	const struct manifest_entry *e = NULL;
	struct cat_sink sink = { 0 };
	struct repo_iter *it = NULL;
	struct repo *r = NULL;
	char *sel = NULL, id[65];
	size_t sellen;
	int o, n, ret = CLI_EXIT_ERROR;

	/* a damaged snapshot exits 3 */
	c->ebadmsg_is_damage = 1;
	while ((o = cli_getopt(c, argc, argv, "", opts)) != CLI_OPT_END) {
		switch (o) {
		case CAT_OPT_JSON:
			cli_json_stream(c);	/* standard output is the data */
			break;
		case CLI_OPT_HELP:
			return CLI_EXIT_OK;
		default:
			return CLI_EXIT_USAGE;
		}
	}
	if (argc - optind != 2)
		return cli_usage_error(c, argc - optind < 2 ?
				       "need a snapshot and a PATH" :
				       "too many arguments");
	sel = cli_path_normalize(argv[optind + 1]);
	if (!sel) {
		cli_error(c, "out of memory");
		return CLI_EXIT_ERROR;
	}
	sellen = strlen(sel);
	if (!sellen) {
		free(sel);
		return cli_usage_error(c, "PATH must name a file inside the snapshot");
	}
	cli_quote(&q, sel, sellen);
	if (cli_open(c, &r, 0) || cli_resolve(c, r, argv[optind], id))
		goto out;
	n = repo_iter_new(r, id, &it, &err);
	if (n < 0) {
		cli_fail(c, n, &err, "cannot read snapshot %.8s", id);
		goto out;
	}
	while ((n = repo_iter_next(it, &e, &err)) > 0) {
		int cmp = manifest_path_cmp(e->path, e->path_len, sel, sellen);

		if (cmp == 0)
			break;
		if (cmp > 0) {
			n = 0;
			break;
		}
	}
	if (n < 0) {
		cli_fail(c, n, &err, "cannot read snapshot %.8s", id);
		goto out;
	}
	if (n == 0) {
		cli_error(c, "no path '%s' in snapshot %.8s",
			  (const char *)q.data, id);
		goto out;
	}
	if (e->kind != MANIFEST_FILE) {
		cli_error(c, "'%s' in snapshot %.8s is a %s, not a file",
			  (const char *)q.data, id,
			  e->kind == MANIFEST_DIR ? "directory" :
			  cli_kind_name(e->kind));
		goto out;
	}
	/* the data may be going to the terminal the line would be on */
	sink.ph = cli_progress_phase(cli_progress_of_data(c), "cat", "files");
	cli_phase_total(sink.ph, e->size, 0, 1);
	cli_phase_item(sink.ph, e->path, e->path_len);
	cli_phase_start(sink.ph);
	n = repo_iter_read(it, cat_sink, &sink, &err);
	cli_phase_stop(sink.ph);
	if (n < 0) {
		if (sink.write_err)
			cli_error(c, "cannot write to standard output: %s",
				  strerror(-sink.write_err));
		else
			cli_fail(c, n, &err, "cannot read '%s' of snapshot %.8s",
				 (const char *)q.data, id);
		goto out;
	}
	ret = CLI_EXIT_OK;
out:
	repo_iter_free(it);
	repo_free(r);
	free(sel);
	buf_release(&err);
	buf_release(&q);
	return ret;
}

/*
 * cmd-list: `vault list [--tag T] [--json]` prints the repository's
 * snapshots, oldest first: short id, time (UTC), kind ("backup", or
 * "safety" for what a restore replaced), host, entries, size (bytes read
 * when the snapshot was taken) and tags.  --json also says whether each
 * is partial, from its metadata (formats/snapshot.md).
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "repo.h"

const char cmd_list_usage[] =
	"usage: vault list [--tag TAG] [--json]\n"
	"\n"
	"Lists snapshots, oldest first.  KIND is 'safety' for a safety\n"
	"snapshot (what a restore replaced: 'latest' skips it), else 'backup'.\n"
	"\n"
	"  -t, --tag TAG    only snapshots carrying TAG\n"
	"      --json       print a JSON array\n"
	"  -h, --help       show this help\n";

enum {
	LIST_OPT_JSON = CLI_OPT_FIRST_VERB,
};

struct list_ctx {
	struct cli_json *json;
	size_t count;
};

static int list_one(const struct repo_snapinfo *s, void *ctx)
{
	struct list_ctx *l = ctx;
	struct buf line = BUF_INIT;
	char when[40], size[32];
	uint64_t skipped;

	l->count++;
	cli_time_format(s->time, when, sizeof(when));
	if (l->json) {
		struct cli_json *j = l->json;

		cli_json_begin_object(j, NULL);
		cli_json_str(j, "id", s->id);
		cli_json_strn(j, "short_id", s->id, 8);
		cli_json_str(j, "time", when);
		cli_json_i64(j, "unix_time", s->time);
		cli_json_str(j, "hostname", s->hostname);
		cli_json_str(j, "source", s->source);
		cli_json_bool(j, "safety", repo_snapinfo_is_safety(s));
		cli_json_begin_array(j, "tags");
		for (size_t i = 0; i < s->ntags; i++)
			cli_json_str(j, NULL, s->tags[i]);
		cli_json_end_array(j);
		cli_json_u64(j, "entries", s->entries);
		cli_json_u64(j, "bytes_read", s->bytes_read);
		cli_json_u64(j, "bytes_added", s->bytes_added);
		cli_json_u64(j, "bytes_stored", s->bytes_stored);
		skipped = cli_snap_skipped(s);
		cli_json_bool(j, "partial", skipped != 0);
		cli_json_u64(j, "skipped", skipped);
		cli_json_end_object(j);
		return j->err;
	}
	if (l->count == 1)
		printf("%-8s  %-20s  %-6s  %-16s  %10s  %10s  %s\n", "ID",
		       "TIME", "KIND", "HOST", "ENTRIES", "SIZE", "TAGS");
	cli_human_size(s->bytes_read, size, sizeof(size));
	buf_addf(&line, "%.8s  %-20s  %-6s  ", s->id, when,
		 repo_snapinfo_is_safety(s) ? "safety" : "backup");
	/* host names and tags come from the repository: quote them */
	{
		size_t before = line.len;

		cli_quote(&line, s->hostname ? s->hostname : "",
			  s->hostname ? strlen(s->hostname) : 0);
		while (line.len - before < 16)
			buf_addch(&line, ' ');
	}
	buf_addf(&line, "  %10llu  %10s  ", (unsigned long long)s->entries,
		 size);
	for (size_t i = 0; i < s->ntags; i++) {
		if (i)
			buf_addch(&line, ',');
		cli_quote(&line, s->tags[i], strlen(s->tags[i]));
	}
	while (line.len && line.data[line.len - 1] == ' ')
		buf_setlen(&line, line.len - 1);
	buf_addch(&line, '\n');
	fwrite(line.data, 1, line.len, stdout);
	buf_release(&line);
	return 0;
}

int cmd_list(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "tag", required_argument, NULL, 't' },
		{ "json", no_argument, NULL, LIST_OPT_JSON },
		CLI_GLOBAL_OPTIONS
	};
	struct buf err = BUF_INIT;
	struct list_ctx l = { NULL, 0 };
	struct cli_json j;
	struct repo *r = NULL;
	const char *tag = NULL;
	int o, e, json = 0, ret = CLI_EXIT_ERROR;

	while ((o = cli_getopt(c, argc, argv, "t:", opts)) != CLI_OPT_END) {
		switch (o) {
		case 't':
			tag = optarg;
			break;
		case LIST_OPT_JSON:
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
	if (cli_open(c, &r, 0))
		return CLI_EXIT_ERROR;
	cli_json_init(&j);
	if (json) {
		l.json = &j;
		cli_json_begin_array(&j, NULL);
	}
	e = repo_snapshot_list(r, tag, list_one, &l, &err);
	if (e < 0) {
		cli_fail(c, e, &err, "cannot list snapshots");
		goto out;
	}
	if (json) {
		cli_json_end_array(&j);
		if (cli_json_finish(&j) < 0) {
			cli_error(c, "cannot write to standard output");
			goto out;
		}
	} else if (l.count == 0) {
		if (tag)
			fprintf(stderr, "no snapshots tagged '%s'\n", tag);
		else
			fprintf(stderr, "no snapshots\n");
	}
	ret = CLI_EXIT_OK;
out:
	cli_json_release(&j);
	repo_free(r);
	buf_release(&err);
	return ret;
}

/*
 * cmd-config: `vault config [KEY [VALUE]]` shows the repository's
 * settings that may change after init, or one of them, or sets one.
 * Today there is one: compression (fast | max), how snapshots that do
 * not say otherwise compress new data.  Setting it rewrites the config
 * file atomically under the writer lock; data already stored is not
 * touched (both forms read the same way).
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "repo.h"

const char cmd_config_usage[] =
	"usage: vault config [compression [fast|max]]\n"
	"\n"
	"Shows the repository's settings (one per line: key value), one of\n"
	"them, or changes one.\n"
	"\n"
	"  compression   how new data is compressed by snapshots that do not\n"
	"                say (--compression): fast (lz4) or max (LZ4 HC,\n"
	"                about 10% smaller for several times the CPU).\n"
	"                Stored data is not recompressed; it reads the same.\n"
	"\n"
	"  -h, --help    show this help\n";

int cmd_config(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		CLI_GLOBAL_OPTIONS
	};
	struct buf err = BUF_INIT;
	struct repo *r = NULL;
	enum repo_compression want = REPO_COMPRESSION_DEFAULT, was;
	const char *key = NULL, *value = NULL;
	int o, e, ret = CLI_EXIT_ERROR;

	while ((o = cli_getopt(c, argc, argv, "", opts)) != CLI_OPT_END) {
		switch (o) {
		case CLI_OPT_HELP:
			return CLI_EXIT_OK;
		default:
			return CLI_EXIT_USAGE;
		}
	}
	if (optind < argc)
		key = argv[optind++];
	if (optind < argc)
		value = argv[optind++];
	if (optind < argc)
		return cli_usage_error(c, "unexpected argument '%s'", argv[optind]);
	if (key && strcmp(key, "compression"))
		return cli_usage_error(c, "unknown setting '%s' (settings: compression)",
				       key);
	if (value && repo_compression_parse(value, &want) < 0)
		return cli_usage_error(c, "compression must be 'fast' or 'max', not '%s'",
				       value);
	if (cli_open(c, &r, value ? 1 : 0))
		goto out;
	was = repo_compression(r);
	if (!value) {
		printf("%s%s\n", key ? "" : "compression ",
		       repo_compression_name(was));
		ret = CLI_EXIT_OK;
		goto out;
	}
	e = repo_set_compression(r, want, &err);
	if (e < 0) {
		cli_fail(c, e, &err, "cannot change the config of %s",
			 repo_path(r));
		goto out;
	}
	printf("compression: %s (was %s)\n", repo_compression_name(want),
	       repo_compression_name(was));
	ret = CLI_EXIT_OK;
out:
	buf_release(&err);
	repo_free(r);
	return ret;
}

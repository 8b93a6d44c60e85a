/*
 * cmd-init: `vault init [--encryption repokey|none]` creates a
 * repository.  With repokey (the default) a new passphrase is obtained
 * (asked twice on a terminal) and wraps the repository's keys.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "repo.h"

const char cmd_init_usage[] =
	"usage: vault init [--encryption repokey|none]\n"
	"\n"
	"Creates a repository in the directory given by --repo (or\n"
	"$VAULT_REPO, or the default); it is created if missing and must be\n"
	"empty.\n"
	"\n"
	"  -e, --encryption MODE   repokey (default): data encrypted with keys\n"
	"                          stored in the repository, wrapped by a\n"
	"                          passphrase; none: no encryption\n"
	"  -h, --help              show this help\n";

int cmd_init(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "encryption", required_argument, NULL, 'e' },
		CLI_GLOBAL_OPTIONS
	};
	struct buf pass = BUF_INIT, err = BUF_INIT;
	const char *dir;
	int o, encrypted = 1, r, ret = CLI_EXIT_OK;

	while ((o = cli_getopt(c, argc, argv, "e:", opts)) != CLI_OPT_END) {
		switch (o) {
		case 'e':
			if (!strcmp(optarg, "repokey"))
				encrypted = 1;
			else if (!strcmp(optarg, "none"))
				encrypted = 0;
			else
				return cli_usage_error(c, "--encryption must be 'repokey' or 'none', not '%s'",
						       optarg);
			break;
		case CLI_OPT_HELP:
			return CLI_EXIT_OK;
		default:
			return CLI_EXIT_USAGE;
		}
	}
	if (optind < argc)
		return cli_usage_error(c, "unexpected argument '%s' (the repository is given with --repo DIR)",
				       argv[optind]);
	dir = cli_repo_dir(c);
	if (!dir)
		return CLI_EXIT_ERROR;
	if (encrypted) {
		r = cli_passphrase(c, 1, &pass);
		if (r < 0) {
			ret = cli_fail(c, r, NULL, "cannot get a passphrase");
			goto out;
		}
	}
	r = repo_init(dir, encrypted, encrypted ? (const char *)pass.data : NULL,
		      pass.len, &err);
	if (r < 0) {
		if (r == -EEXIST && !err.len)
			cli_error(c, "%s exists and is not empty", dir);
		else
			cli_fail(c, r, &err, "cannot create repository %s", dir);
		ret = CLI_EXIT_ERROR;
		goto out;
	}
	printf("created repository %s (encryption: %s)\n", dir,
	       encrypted ? "repokey" : "none");
	if (encrypted)
		printf("Keep the passphrase safe: without it the data cannot be read.\n");
out:
	buf_wipe(&pass);
	buf_release(&err);
	return ret;
}

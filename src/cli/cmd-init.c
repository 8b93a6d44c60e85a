/*
 * cmd-init: `vault init [--encryption repokey|none] [--compression
 * fast|max]` creates a repository.  With repokey (the default) a new
 * passphrase is obtained (asked twice on a terminal) and wraps the
 * repository's keys.  The compression is recorded in the config (`vault
 * config` changes it later).
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "cli.h"
#include "repo.h"

const char cmd_init_usage[] =
	"usage: vault init [--encryption repokey|none] [--compression fast|max]\n"
	"\n"
	"Creates a repository in the directory given by --repo (or\n"
	"$VAULT_REPO, or the default); it is created, with any missing parent\n"
	"directories, if missing, and must be empty.\n"
	"\n"
	"  -e, --encryption MODE   repokey (default): data encrypted with keys\n"
	"                          stored in the repository, wrapped by a\n"
	"                          passphrase; none: no encryption\n"
	"  -c, --compression HOW   how snapshots compress new data unless they\n"
	"                          say otherwise: fast (default: lz4) or max\n"
	"                          (LZ4 HC: ~10% smaller, several times the\n"
	"                          CPU); `vault config compression` changes it\n"
	"  -h, --help              show this help\n";

/*
 * Makes sure dir can become a repository before any passphrase is asked
 * for: missing parents are created (like mkdir -p), dir itself (mode
 * 0700) too, and it must be an empty directory this process can write.
 * *created says whether dir is new (so a failed init can remove it).
 */
static int init_prepare(struct cli *c, const char *dir, int *created)
{
	struct buf p = BUF_INIT;
	struct dirent *de;
	DIR *d;
	int busy = 0, ret = CLI_EXIT_ERROR;

	*created = 0;
	if (buf_addstr(&p, dir) < 0)
		goto oom;
	for (size_t i = 1; i < p.len; i++) {
		if (p.data[i] != '/')
			continue;
		p.data[i] = '\0';
		if (mkdir((char *)p.data, 0777) < 0 && errno != EEXIST) {
			cli_error(c, "cannot create %s: %s", (char *)p.data,
				  strerror(errno));
			goto out;
		}
		p.data[i] = '/';
	}
	if (mkdir(dir, 0700) == 0)
		*created = 1;
	else if (errno != EEXIST) {
		cli_error(c, "cannot create %s: %s", dir, strerror(errno));
		goto out;
	}
	d = opendir(dir);
	if (!d) {
		cli_error(c, "cannot open %s: %s", dir, strerror(errno));
		goto out;
	}
	while (!busy && (de = readdir(d)))
		busy = strcmp(de->d_name, ".") && strcmp(de->d_name, "..");
	closedir(d);
	if (busy) {
		cli_error(c, "%s exists and is not empty", dir);
		goto out;
	}
	if (access(dir, W_OK | X_OK) < 0) {
		cli_error(c, "cannot write to %s: %s", dir, strerror(errno));
		goto out;
	}
	ret = 0;
	goto out;
oom:
	cli_error(c, "out of memory");
out:
	buf_release(&p);
	return ret;
}

int cmd_init(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "encryption", required_argument, NULL, 'e' },
		{ "compression", required_argument, NULL, 'c' },
		CLI_GLOBAL_OPTIONS
	};
	struct buf pass = BUF_INIT, err = BUF_INIT;
	const char *dir;
	enum repo_compression how = REPO_COMPRESSION_DEFAULT;
	int o, encrypted = 1, r, created = 0, ret = CLI_EXIT_OK;

	while ((o = cli_getopt(c, argc, argv, "e:c:", opts)) != CLI_OPT_END) {
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
		case 'c':
			if (repo_compression_parse(optarg, &how) < 0)
				return cli_usage_error(c, "--compression must be 'fast' or 'max', not '%s'",
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
	if (init_prepare(c, dir, &created))
		return CLI_EXIT_ERROR;
	if (encrypted) {
		r = cli_passphrase(c, 1, &pass);
		if (r < 0) {
			ret = cli_fail(c, r, NULL, "cannot get a passphrase");
			goto out;
		}
	}
	r = repo_init_compression(dir, encrypted,
				  encrypted ? (const char *)pass.data : NULL,
				  pass.len, how, &err);
	if (r < 0) {
		if (r == -EEXIST && !err.len)
			cli_error(c, "%s exists and is not empty", dir);
		else
			cli_fail(c, r, &err, "cannot create repository %s", dir);
		ret = CLI_EXIT_ERROR;
		goto out;
	}
	if (!cli_quiet(c)) {
		printf("created repository %s (encryption: %s, compression: %s)\n",
		       dir, encrypted ? "repokey" : "none", repo_compression_name(how));
		if (encrypted)
			printf("Keep the passphrase safe: without it the data cannot be read.\n");
	}
out:
	/* a directory made for nothing goes again (only when still empty) */
	if (ret && created)
		rmdir(dir);
	buf_wipe(&pass);
	buf_release(&err);
	return ret;
}

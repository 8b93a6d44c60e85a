/*
 * cmd-key: `vault key passwd` re-wraps the repository's keys under a new
 * passphrase.  The current passphrase comes from the usual sources; the
 * new one from $VAULT_NEW_PASSPHRASE, --new-passphrase-file or the
 * terminal (asked twice).  The data itself is not re-encrypted; the keys
 * are rewrapped at the current Argon2id limits, whatever the old key
 * file recorded.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "repo.h"

const char cmd_key_usage[] =
	"usage: vault key passwd [--new-passphrase-file FILE]\n"
	"\n"
	"Changes the passphrase of an encrypted repository.  The new\n"
	"passphrase is taken from $VAULT_NEW_PASSPHRASE, the first line of\n"
	"FILE, or asked twice on the terminal.  The keys are rewrapped with\n"
	"Argon2id at the current cost (3 passes over 64 MiB), whatever the\n"
	"cost recorded in the old key file.\n"
	"\n"
	"      --new-passphrase-file FILE  read the new passphrase from FILE\n"
	"  -h, --help                      show this help\n";

enum {
	KEY_OPT_NEW_FILE = CLI_OPT_FIRST_VERB,
};

static int key_new_passphrase(struct cli *c, const char *file,
			      struct buf *pass)
{
	const char *env = getenv("VAULT_NEW_PASSPHRASE");
	char prompt[512];
	int r;

	buf_reset(&c->pass_err);
	if (env && *env) {
		r = buf_addstr(pass, env);
	} else if (file) {
		r = cli_pass_from_file(c, file, pass);
	} else {
		snprintf(prompt, sizeof(prompt), "New passphrase for repository %s: ",
			 cli_repo_dir(c));
		r = cli_pass_prompt(c, prompt, 1, pass);
	}
	if (r == 0 && pass->len == 0) {
		buf_addstr(&c->pass_err, "an empty passphrase is not allowed");
		r = -1;
	}
	return r;
}

int cmd_key(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "new-passphrase-file", required_argument, NULL, KEY_OPT_NEW_FILE },
		CLI_GLOBAL_OPTIONS
	};
	struct buf pass = BUF_INIT, err = BUF_INIT;
	struct repo *r = NULL;
	const char *file = NULL;
	uint64_t ops, mem;
	char size[32];
	int o, e, ret = CLI_EXIT_ERROR;

	while ((o = cli_getopt(c, argc, argv, "", opts)) != CLI_OPT_END) {
		switch (o) {
		case KEY_OPT_NEW_FILE:
			file = optarg;
			break;
		case CLI_OPT_HELP:
			return CLI_EXIT_OK;
		default:
			return CLI_EXIT_USAGE;
		}
	}
	if (optind >= argc)
		return cli_usage_error(c, "which key operation? (only 'passwd' exists)");
	if (strcmp(argv[optind], "passwd"))
		return cli_usage_error(c, "unknown key operation '%s' (only 'passwd' exists)",
				       argv[optind]);
	if (optind + 1 < argc)
		return cli_usage_error(c, "unexpected argument '%s'", argv[optind + 1]);
	if (cli_open(c, &r, 1))
		goto out;
	if (!repo_encrypted(r)) {
		cli_error(c, "repository %s is not encrypted: it has no passphrase to change",
			  repo_path(r));
		goto out;
	}
	if (key_new_passphrase(c, file, &pass) < 0) {
		cli_error(c, "%s", c->pass_err.len ? (const char *)c->pass_err.data :
			  "cannot get the new passphrase");
		goto out;
	}
	e = repo_key_passwd(r, (const char *)pass.data, pass.len, &err);
	if (e < 0) {
		cli_fail(c, e, &err, "cannot change the passphrase of %s",
			 repo_path(r));
		goto out;
	}
	repo_kdf_current(&ops, &mem);
	cli_human_size(mem, size, sizeof(size));
	printf("passphrase changed for repository %s (keys wrapped with"
	       " Argon2id: %llu passes over %s)\n", repo_path(r),
	       (unsigned long long)ops, size);
	ret = CLI_EXIT_OK;
out:
	buf_wipe(&pass);
	buf_release(&err);
	repo_free(r);
	return ret;
}

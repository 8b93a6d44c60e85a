/*
 * vault: the program's entry point.  Parses the global options that come
 * before the verb, then dispatches from a table of verbs to
 * cmd_<verb>() in src/cmd-<verb>.c (which accepts the global options
 * again, so they may also follow the verb).
 */
#ifdef HAVE_CONFIG_H
#include "config.h"	/* autoconf's, from the build directory */
#endif

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <time.h>

#include <sodium.h>

#include "cli.h"
#include "cli-progress.h"
#include "pg-conn.h"
#include "repo.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "0.1.0"
#endif

struct vault_verb {
	const char *name;
	int (*fn)(struct cli *c, int argc, char **argv);
	const char *usage;
	const char *summary;
};

static const struct vault_verb vault_verbs[] = {
	{ "init", cmd_init, cmd_init_usage, "create a repository" },
	{ "snapshot", cmd_snapshot, cmd_snapshot_usage,
	  "store files and directories as a new snapshot" },
	{ "list", cmd_list, cmd_list_usage, "list snapshots" },
	{ "ls", cmd_ls, cmd_ls_usage, "list the entries of a snapshot" },
	{ "cat", cmd_cat, cmd_cat_usage, "write a file of a snapshot to stdout" },
	{ "mount", cmd_mount, cmd_mount_usage,
	  "extract a snapshot (or parts of it) into a directory" },
	{ "diff", cmd_diff, cmd_diff_usage, "compare two snapshots" },
	{ "forget", cmd_forget, cmd_forget_usage, "forget snapshots" },
	{ "prune", cmd_prune, cmd_prune_usage,
	  "apply a retention policy and reclaim space" },
	{ "check", cmd_check, cmd_check_usage, "verify the repository" },
	{ "stats", cmd_stats, cmd_stats_usage, "show repository statistics" },
	{ "report", cmd_report, cmd_report_usage,
	  "write a page of charts: growth, dedup, tables, last good snapshot" },
	{ "status", cmd_status, cmd_status_usage,
	  "say whether every group's newest snapshot is recent and whole" },
	{ "key", cmd_key, cmd_key_usage, "manage the repository passphrase" },
	{ "config", cmd_config, cmd_config_usage,
	  "show or change the repository's settings" },
	{ "restore", cmd_restore, cmd_restore_usage,
	  "restore a snapshot's database into a live database" },
	{ "rollback", cmd_rollback, cmd_rollback_usage,
	  "undo the last restore into a database" },
	{ "restores", cmd_restores, cmd_restores_usage, "list past restores" },
};

#define VAULT_NVERBS (sizeof(vault_verbs) / sizeof(vault_verbs[0]))

static void vault_usage(FILE *f)
{
	fputs("usage: vault [--repo DIR] [--lock-wait SECONDS]\n"
	      "             [--passphrase-command CMD] [--log-file FILE]\n"
	      "             [-q | -v...]\n"
	      "             VERB [ARGS...]\n"
	      "       vault --help | --version | help VERB\n"
	      "\n"
	      "Verbs:\n", f);
	for (size_t i = 0; i < VAULT_NVERBS; i++)
		fprintf(f, "  %-10s %s\n", vault_verbs[i].name,
			vault_verbs[i].summary);
	fputs("\n"
	      "Global options (before or after the verb):\n"
	      "  --repo DIR              repository (default: $VAULT_REPO, else\n"
	      "                          $XDG_DATA_HOME/vault/repo or ~/.local/share/vault/repo)\n"
	      "  --lock-wait SECONDS     wait this long for the repository lock\n"
	      "  --passphrase-command CMD\n"
	      "                          run CMD with /bin/sh -c; its output is the passphrase\n"
	      "  --log-file FILE         append a line saying how this run ended to FILE\n"
	      "                          (default: $VAULT_LOG_FILE)\n"
	      "  -q, --quiet             no progress and no report of what was done:\n"
	      "                          only errors, warnings and what was asked for\n"
	      "  -v, --verbose           a line per file, table or pack on stderr\n"
	      "                          (-vv: more)\n"
	      "  -h, --help              show help (also: vault VERB --help)\n"
	      "  --version               show the version\n"
	      "\n"
	      "Exit codes: 0 success, 1 error, 2 usage error, 3 damage found or a\n"
	      "partial snapshot, 4 no recent snapshot (status), 10 no repository,\n"
	      "11 locked, 12 wrong passphrase.\n"
	      "See vault(1) for details.\n", f);
}

/* The database's notices, as vault's own warnings and notes: so they
 * erase the progress line first, and are JSON lines with --json. */
static void vault_pg_notice(void *ctx, const char *text)
{
	const struct cli *c = ctx;
	int warning = !strncmp(text, "WARNING:", 8);
	size_t n, k = 0;

	/* "SEVERITY:  text": the severity becomes ours */
	while (text[k] >= 'A' && text[k] <= 'Z')
		k++;
	if (k && text[k] == ':') {
		text += k + 1;
		while (*text == ' ')
			text++;
	}
	n = strlen(text);
	while (n && text[n - 1] == '\n')
		n--;
	if (warning)
		cli_warn(c, "the database says: %.*s", (int)n, text);
	else
		cli_note(c, "the database says: %.*s", (int)n, text);
}

static const struct vault_verb *vault_find(const char *name)
{
	for (size_t i = 0; i < VAULT_NVERBS; i++)
		if (!strcmp(vault_verbs[i].name, name))
			return &vault_verbs[i];
	return NULL;
}

/* `vault help [VERB]` */
static int vault_help(struct cli *c, int argc, char **argv)
{
	const struct vault_verb *v;

	if (argc < 2) {
		vault_usage(stdout);
		return CLI_EXIT_OK;
	}
	v = vault_find(argv[1]);
	if (!v)
		return cli_usage_error(c, "unknown verb '%s'", argv[1]);
	fputs(v->usage, stdout);
	return CLI_EXIT_OK;
}

/* 1 when the verb's arguments may hold --log-file (or a prefix of it,
 * which getopt_long takes for it) before any "--". */
static int vault_log_option_follows(int argc, char **argv)
{
	static const char opt[] = "--log-file";

	for (int i = 1; i < argc && strcmp(argv[i], "--"); i++) {
		size_t n = strcspn(argv[i], "=");

		if (n >= 3 && n < sizeof(opt) && !strncmp(argv[i], opt, n))
			return 1;
	}
	return 0;
}

/*
 * $VAULT_LOG_FILE, unless --log-file was given (the option wins).  Called
 * before the verb runs, so that a log file that cannot be written stops
 * a scheduled run at once rather than after it: then CLI_EXIT_ERROR
 * (printed), else CLI_EXIT_OK.  When the verb's arguments may still
 * name --log-file (before = 1) the variable's file waits: it would be
 * created for nothing; after the verb (before = 0) it is opened if the
 * option did not come after all, and a failure is only warned about.
 */
static int vault_log_env(struct cli *c, int before, int argc, char **argv)
{
	const char *path = getenv("VAULT_LOG_FILE");
	int e;

	if (c->log_fd >= 0 || !path || !*path ||
	    (before && vault_log_option_follows(argc, argv)))
		return CLI_EXIT_OK;
	e = cli_log_open(c, path);
	if (e < 0 && before) {
		cli_error(c, "cannot open the log file %s ($VAULT_LOG_FILE): %s",
			  path, strerror(-e));
		return CLI_EXIT_ERROR;
	}
	if (e < 0)
		cli_warn(c, "cannot open the log file %s ($VAULT_LOG_FILE): %s",
			 path, strerror(-e));
	return CLI_EXIT_OK;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "version", no_argument, NULL, CLI_OPT_VERSION },
		CLI_GLOBAL_OPTIONS
	};
	const struct vault_verb *v;
	struct cli c;
	int o, vi, e, ret;

	if (sodium_init() < 0) {
		fputs("vault: cannot initialise libsodium\n", stderr);
		return CLI_EXIT_ERROR;
	}
	cli_init(&c);
	c.log_start = (int64_t)time(NULL);
	c.log_start_mono = cli_now();
	/* Like borg's BORG_TESTONLY_WEAKEN_KDF: test suites would otherwise
	 * spend most of their time in Argon2id.  Never for real keys. */
	if (getenv("VAULT_TESTONLY_WEAKEN_KDF"))
		repo_kdf_limits(crypto_pwhash_OPSLIMIT_MIN,
				crypto_pwhash_MEMLIMIT_MIN);
	opterr = 0;
	/* "+": stop at the verb; the verb parses the rest itself */
	while ((o = getopt_long(argc, argv, "+:hqv", opts, NULL)) != -1) {
		switch (o) {
		case 'h':
			vault_usage(stdout);
			cli_release(&c);
			return CLI_EXIT_OK;
		case CLI_OPT_VERSION:
			printf("vault %s\n", PACKAGE_VERSION);
			cli_release(&c);
			return CLI_EXIT_OK;
		case ':':
			ret = cli_usage_error(&c, "option '%s' needs an argument",
					      argv[optind - 1]);
			goto out;
		case '?':
			if (optopt > 0 && optopt < 128)
				ret = cli_usage_error(&c, "unknown option '-%c'",
						      optopt);
			else
				ret = cli_usage_error(&c, "unknown option '%s'",
						      argv[optind - 1]);
			goto out;
		default:
			if (cli_global_option(&c, o, optarg) < 0) {
				ret = CLI_EXIT_USAGE;
				goto out;
			}
			break;
		}
	}
	if (optind >= argc) {
		vault_usage(stderr);
		ret = CLI_EXIT_USAGE;
		goto out;
	}
	if (!strcmp(argv[optind], "help")) {
		ret = vault_help(&c, argc - optind, argv + optind);
		goto out;
	}
	v = vault_find(argv[optind]);
	if (!v) {
		ret = cli_usage_error(&c, "unknown verb '%s'", argv[optind]);
		goto out;
	}
	c.verb = v->name;
	c.usage = v->usage;
	pg_conn_set_notices(vault_pg_notice, &c);
	vi = optind;
	ret = vault_log_env(&c, 1, argc - vi, argv + vi);
	if (ret != CLI_EXIT_OK)
		goto out;
	/* optind = 0 makes glibc start a fresh scan over the verb's argv */
	optind = 0;
	ret = v->fn(&c, argc - vi, argv + vi);
	if (ret == CLI_EXIT_ERROR && c.exit_code)
		ret = c.exit_code;
	if (!c.helped)
		vault_log_env(&c, 0, 0, NULL);
	e = cli_log_finish(&c, ret);
	if (e < 0)
		cli_warn(&c, "cannot append to the log file %s: %s",
			 c.log_path, strerror(-e));
	/* --json: the stream of a long verb ends with its summary (not
	 * with -q: a report of what was done) */
	if (c.json_stream)
		cli_progress_summary(cli_progress_of(&c), ret);
out:
	cli_release(&c);
	return ret;
}

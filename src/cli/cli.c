/*
 * cli: option parsing, error reporting and the repository's path, shared
 * by every verb.  This is the one place where the engine's negative errno
 * values and error buffers become `vault: <verb>: <message>` lines and
 * exit codes, so the wording stays consistent across verbs (opening the
 * repository is cli-repo.c).
 */
#include <errno.h>
#include <signal.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "cli-progress.h"
#include "dotenv.h"

void cli_init(struct cli *c)
{
	memset(c, 0, sizeof(*c));
	c->start = cli_now();
	buf_init(&c->pass_err, 0);
	buf_init(&c->readonly, 0);
	c->log_fd = -1;
}

void cli_release(struct cli *c)
{
	if (!c)
		return;
	cli_progress_free(c->progress);
	c->progress = NULL;
	free(c->repo_default);
	c->repo_default = NULL;
	buf_release(&c->pass_err);
	buf_release(&c->readonly);
	if (c->log_fd >= 0)
		close(c->log_fd);
	c->log_fd = -1;
	free(c->log_path);
	c->log_path = NULL;
}

/* ---- messages ------------------------------------------------------------ */

static void cli_vmsg(const struct cli *c, const char *kind, const char *fmt,
		     va_list ap)
{
	struct cli_progress *p = c ? c->progress : NULL;
	/* its message_type in the --json stream */
	const char *type = !kind ? "error" : !strcmp(kind, "note: ") ?
			   "note" : "warning";
	struct buf b = BUF_INIT;
	size_t at;

	/* Build the whole line first so concurrent writers (and a progress
	 * line) never see it interleaved. */
	buf_addstr(&b, "vault: ");
	if (c && c->verb)
		buf_addf(&b, "%s: ", c->verb);
	if (kind)
		buf_addstr(&b, kind);
	at = b.len;
	buf_vaddf(&b, fmt, ap);
	fflush(stdout);
	/* --json: the stream stays JSON lines (also with -q, which
	 * shows no status lines); otherwise the progress line is erased
	 * first and drawn again after */
	if (c && c->json_stream && !cli_progress_on(p))
		cli_progress_json_message(c->verb, type,
					  (const char *)b.data + at,
					  b.len - at);
	else if (!cli_progress_message(p, type, (const char *)b.data + at,
				       b.len - at)) {
		buf_addch(&b, '\n');
		cli_write_all(2, b.data, b.len);
		cli_progress_release(p);
	}
	buf_release(&b);
}

void cli_error(const struct cli *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	cli_vmsg(c, NULL, fmt, ap);
	va_end(ap);
}

void cli_warn(const struct cli *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	cli_vmsg(c, "warning: ", fmt, ap);
	va_end(ap);
}

void cli_note(const struct cli *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	cli_vmsg(c, "note: ", fmt, ap);
	va_end(ap);
}

int cli_usage_error(const struct cli *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	cli_vmsg(c, NULL, fmt, ap);
	va_end(ap);
	if (c && c->json_stream)
		;	/* the stream holds JSON lines only */
	else if (c && c->verb)
		fprintf(stderr, "Try 'vault %s --help' for more information.\n",
			c->verb);
	else
		fprintf(stderr, "Try 'vault --help' for more information.\n");
	return CLI_EXIT_USAGE;
}

int cli_fail(struct cli *c, int r, const struct buf *err,
	     const char *context, ...)
{
	struct buf ctx = BUF_INIT;
	const char *dir = c->repo_opt ? c->repo_opt : c->repo_default;
	va_list ap;

	if (context) {
		va_start(ap, context);
		buf_vaddf(&ctx, context, ap);
		va_end(ap);
	}
	switch (r) {
	case -EKEYREJECTED:
		c->exit_code = CLI_EXIT_PASSPHRASE;
		cli_error(c, "wrong passphrase for repository %s",
			  dir ? dir : "(unknown)");
		break;
	case -ENOKEY:
		if (c->pass_err.len)
			cli_error(c, "%s", (const char *)c->pass_err.data);
		else if (err && err->len)
			cli_error(c, "%s", (const char *)err->data);
		else
			cli_error(c, "a passphrase is needed for repository %s",
				  dir ? dir : "(unknown)");
		break;
	case -EBUSY:
		c->exit_code = CLI_EXIT_LOCKED;
		if (c->lock_wait)
			cli_error(c, "%s (gave up after --lock-wait %d)",
				  err && err->len ? (const char *)err->data :
				  "the repository is locked by another process",
				  c->lock_wait);
		else
			cli_error(c, "%s (use --lock-wait SECONDS to wait for it)",
				  err && err->len ? (const char *)err->data :
				  "the repository is locked by another process");
		break;
	case -EBADMSG:
	case -EUCLEAN:	/* the index disagrees with the packs: damage */
		if (r == -EUCLEAN || c->ebadmsg_is_damage)
			c->exit_code = CLI_EXIT_DAMAGE;
		if (r == -EUCLEAN) {
			cli_error(c, "%s", err && err->len ?
				  (const char *)err->data : strerror(-r));
			break;
		}
		/* fall through */
	default:
		/* A failing passphrase source (command, file) surfaces as
		 * whatever errno it had; its message is the useful one. */
		if (c->pass_err.len)
			cli_error(c, "%s", (const char *)c->pass_err.data);
		else if (err && err->len)
			cli_error(c, "%s", (const char *)err->data);
		else if (ctx.len)
			cli_error(c, "%s: %s", (const char *)ctx.data,
				  strerror(-r));
		else
			cli_error(c, "%s", strerror(-r));
		break;
	}
	buf_release(&ctx);
	return CLI_EXIT_ERROR;
}

/* ---- options --------------------------------------------------------------- */

int cli_global_option(struct cli *c, int opt, const char *arg)
{
	switch (opt) {
	case 'q':
	case 'v':
		if (opt == 'q' ? c->verbosity > 0 : c->verbosity < 0) {
			cli_usage_error(c, "-q (--quiet) and -v (--verbose) exclude each other");
			return -EINVAL;
		}
		if (opt == 'q')
			c->verbosity = -1;
		else if (c->verbosity < 9)
			c->verbosity++;
		return 0;
	case CLI_OPT_REPO:
		if (!*arg) {
			cli_usage_error(c, "--repo needs a directory");
			return -EINVAL;
		}
		c->repo_opt = arg;
		return 0;
	case CLI_OPT_LOCK_WAIT:
		if (cli_parse_int(arg, 0, 365 * 86400, &c->lock_wait) < 0) {
			cli_usage_error(c, "--lock-wait: '%s' is not a number of seconds (0-31536000)",
					arg);
			return -EINVAL;
		}
		return 0;
	case CLI_OPT_PASS_CMD:
		if (!*arg) {
			cli_usage_error(c, "--passphrase-command needs a command");
			return -EINVAL;
		}
		c->pass_cmd = arg;
		return 0;
	case CLI_OPT_LOG_FILE: {
		int e;

		if (!*arg) {
			cli_usage_error(c, "--log-file needs a file name");
			return -EINVAL;
		}
		/* opened now, so a bad path stops the run before it starts */
		e = cli_log_open(c, arg);
		if (e < 0) {
			cli_usage_error(c, "--log-file: cannot open %s: %s", arg,
					strerror(-e));
			return -EINVAL;
		}
		return 0;
	}
	}
	return -EINVAL;
}

int cli_getopt(struct cli *c, int argc, char **argv, const char *shortopts,
	       const struct option *longopts)
{
	int n = snprintf(c->optstr, sizeof(c->optstr), ":hqv%s", shortopts);

	if (n < 0 || (size_t)n >= sizeof(c->optstr))
		return CLI_OPT_BAD;
	for (;;) {
		int o = getopt_long(argc, argv, c->optstr, longopts, NULL);
		const char *arg = argv[optind - 1];

		switch (o) {
		case CLI_OPT_REPO:
		case CLI_OPT_LOCK_WAIT:
		case CLI_OPT_PASS_CMD:
		case CLI_OPT_LOG_FILE:
		case 'q':
		case 'v':
			if (cli_global_option(c, o, optarg) < 0)
				return CLI_OPT_BAD;
			continue;
		case 'h':
			c->helped = 1;
			fputs(c->usage, stdout);
			return CLI_OPT_HELP;
		case ':':
			if (optopt > 0 && optopt < 128 && arg[0] == '-' &&
			    arg[1] != '-')
				cli_usage_error(c, "option '-%c' needs an argument",
						optopt);
			else
				cli_usage_error(c, "option '%s' needs an argument",
						arg);
			return CLI_OPT_BAD;
		case '?':
			if (optopt > 0 && optopt < 128)
				cli_usage_error(c, "unknown option '-%c'", optopt);
			else
				cli_usage_error(c, "unknown option '%s'", arg);
			return CLI_OPT_BAD;
		default:
			return o;
		}
	}
}

int cli_getopt_json(struct cli *c, int argc, char **argv, int *json)
{
	enum { CLI_OPT_JSON = CLI_OPT_FIRST_VERB };
	static const struct option opts[] = {
		{ "json", no_argument, NULL, CLI_OPT_JSON },
		CLI_GLOBAL_OPTIONS
	};
	int o;

	while ((o = cli_getopt(c, argc, argv, "", opts)) != CLI_OPT_END) {
		switch (o) {
		case CLI_OPT_JSON:
			*json = 1;
			break;
		case CLI_OPT_HELP:
			return CLI_EXIT_OK;
		default:
			return CLI_EXIT_USAGE;
		}
	}
	return CLI_OPT_END;
}

int cli_quiet(const struct cli *c)
{
	return c->verbosity < 0;
}

int cli_verbose(const struct cli *c, int n)
{
	return c->verbosity >= n;
}

/* ---- progress ------------------------------------------------------------ */

void cli_json_stream(struct cli *c)
{
	c->json_stream = 1;
}

static struct cli_progress *cli_progress_make(struct cli *c, int tty_ok)
{
	enum cli_progress_mode mode = CLI_PROGRESS_OFF;

	if (c->progress_made)
		return c->progress;
	c->progress_made = 1;
	if (c->json_stream && !cli_quiet(c))
		mode = CLI_PROGRESS_JSON;
	else if (!cli_quiet(c) && tty_ok && isatty(2))
		mode = CLI_PROGRESS_TTY;
	c->progress = cli_progress_new(mode, c->verb, c->start);
	return c->progress;
}

struct cli_progress *cli_progress_of(struct cli *c)
{
	return cli_progress_make(c, 1);
}

struct cli_progress *cli_progress_of_data(struct cli *c)
{
	return cli_progress_make(c, !isatty(1));
}

/* ---- the repository ------------------------------------------------------ */

int cli_env_setting(struct cli *c, const char *key, struct buf *out)
{
	const char *path = c->env_file ? c->env_file : ".env";
	struct buf err = BUF_INIT;
	size_t start = out->len;
	int r;

	r = dotenv_file_get(path, key, out, NULL, &err);
	if (r == -ENOENT && !c->env_file)
		r = 0;	/* no ./.env: nothing to say */
	if (r < 0)
		cli_error(c, "cannot read %s from %s", key,
			  err.len ? (const char *)err.data : strerror(-r));
	else if (r == 1 && !out->data[start])
		r = 0;	/* empty counts as unset */
	else if (r == 1 && !c->env_file)
		cli_note(c, "%s from ./.env: %s", key,
			 (const char *)out->data + start);
	buf_release(&err);
	return r;
}

const char *cli_repo_dir(struct cli *c)
{
	struct buf b = BUF_INIT;
	const char *env;
	int r;

	if (c->repo_opt)
		return c->repo_opt;
	if (c->repo_default)
		return c->repo_default;
	env = getenv("VAULT_REPO");
	if (env && *env) {
		buf_addstr(&b, env);
	} else if ((r = cli_env_setting(c, "VAULT_REPO", &b)) != 0) {
		if (r < 0) {
			buf_release(&b);
			return NULL;
		}
	} else {
		env = getenv("XDG_DATA_HOME");
		/* the XDG spec says relative values are to be ignored */
		if (env && env[0] == '/') {
			buf_addf(&b, "%s/vault/repo", env);
		} else {
			env = getenv("HOME");
			if (!env || !*env) {
				cli_error(c, "no repository given: use --repo DIR or set VAULT_REPO (HOME is not set)");
				return NULL;
			}
			buf_addf(&b, "%s/.local/share/vault/repo", env);
		}
	}
	c->repo_default = buf_detach(&b, NULL);
	if (!c->repo_default)
		cli_error(c, "out of memory");
	return c->repo_default;
}

void cli_signals_catch(struct sigaction old[2], void (*handler)(int))
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = handler;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, &old[0]);
	sigaction(SIGTERM, &sa, &old[1]);
}

void cli_signals_restore(const struct sigaction old[2])
{
	sigaction(SIGINT, &old[0], NULL);
	sigaction(SIGTERM, &old[1], NULL);
}

/*
 * cli-log: the log file of scheduled runs.  With --log-file FILE (or
 * $VAULT_LOG_FILE) every run of a verb appends one line, in logfmt
 * (key=value pairs, a value with a space, quote, backslash or control
 * byte in double quotes with C escapes):
 *
 *   start=2024-05-01T02:00:12Z end=2024-05-01T02:01:19Z secs=67.2
 *   verb=snapshot result=ok exit=0 snapshot=<64 hex> bytes_added=1234
 *   repo=/var/lib/vault/repo
 *
 * (one line).  result is the exit code in a word (ok, error, usage,
 * damage, stale, no-repo, locked, passphrase), or what the verb said it
 * was (partial).  The file is opened before the verb runs, so a path
 * that cannot be written stops the run at once, and the line is written
 * with one write() to a file opened O_APPEND: lines of runs that end at
 * the same time never interleave.  Messages go to standard error as
 * always (the journal, cron's mail); the log says what ran and how it
 * ended, for `tail` and `grep`.
 *
 * Nothing here prints: the callers (cli.c, vault.c) say what failed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

int cli_log_open(struct cli *c, const char *path)
{
	char *p = strdup(path);
	int fd;

	if (!p)
		return -ENOMEM;
	/* 0600: the line names the repository and what was backed up */
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY,
		  0600);
	if (fd < 0) {
		int e = -errno;

		free(p);
		return e;
	}
	if (c->log_fd >= 0)
		close(c->log_fd);
	free(c->log_path);
	c->log_fd = fd;
	c->log_path = p;
	return 0;
}

/* The exit code in a word (the table of cli.h). */
static const char *cli_log_result(int ret)
{
	switch (ret) {
	case CLI_EXIT_OK:
		return "ok";
	case CLI_EXIT_ERROR:
		return "error";
	case CLI_EXIT_USAGE:
		return "usage";
	case CLI_EXIT_DAMAGE:
		return "damage";
	case CLI_EXIT_STALE:
		return "stale";
	case CLI_EXIT_NO_REPO:
		return "no-repo";
	case CLI_EXIT_LOCKED:
		return "locked";
	case CLI_EXIT_PASSPHRASE:
		return "passphrase";
	}
	return "exit";
}

/* " key=value", the value quoted when a reader splitting on spaces or
 * '=' would misread it. */
static int cli_log_field(struct buf *b, const char *key, const char *v)
{
	int bare = *v != '\0';
	int e;

	for (const char *p = v; *p && bare; p++)
		if ((unsigned char)*p <= ' ' || *p == '"' || *p == '=' ||
		    *p == '\\' || *p == 0x7f)
			bare = 0;
	e = buf_addf(b, " %s=", key);
	if (e == 0 && bare)
		return buf_addstr(b, v);
	if (e == 0)
		e = buf_addch(b, '"');
	for (const char *p = v; e == 0 && *p; p++) {
		unsigned char ch = (unsigned char)*p;

		if (ch == '"' || ch == '\\')
			e = buf_addf(b, "\\%c", ch);
		else if (ch == '\n')
			e = buf_addstr(b, "\\n");
		else if (ch < ' ' || ch == 0x7f)
			e = buf_addf(b, "\\x%02x", ch);
		else
			e = buf_addch(b, (char)ch);
	}
	return e ? e : buf_addch(b, '"');
}

int cli_log_finish(struct cli *c, int ret)
{
	struct buf line = BUF_INIT;
	const char *repo = c->repo_opt ? c->repo_opt : c->repo_default;
	char start[40], end[40];
	double secs = cli_now() - c->log_start_mono;
	int e;

	if (c->log_fd < 0 || !c->verb || c->helped)
		return 0;
	cli_time_format(c->log_start, start, sizeof(start));
	cli_time_format((int64_t)time(NULL), end, sizeof(end));
	e = buf_addf(&line, "start=%s end=%s secs=%.1f", start, end,
		     secs < 0 ? 0.0 : secs);
	if (e == 0)
		e = cli_log_field(&line, "verb", c->verb);
	if (e == 0)
		e = cli_log_field(&line, "result", ret == CLI_EXIT_OK ||
				  !c->log_result ? cli_log_result(ret) :
				  c->log_result);
	if (e == 0)
		e = buf_addf(&line, " exit=%d", ret);
	if (e == 0 && c->log_snapshot[0])
		e = buf_addf(&line, " snapshot=%s bytes_added=%llu",
			     c->log_snapshot,
			     (unsigned long long)c->log_bytes_added);
	if (e == 0 && repo)
		e = cli_log_field(&line, "repo", repo);
	if (e == 0)
		e = buf_addch(&line, '\n');
	if (e == 0)
		e = cli_write_all(c->log_fd, line.data, line.len);
	buf_release(&line);
	return e;
}

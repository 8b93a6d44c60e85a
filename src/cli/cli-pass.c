/*
 * cli-pass: obtaining a passphrase.  Sources, in order: $VAULT_PASSPHRASE,
 * the first line of $VAULT_PASSPHRASE_FILE, the standard output of
 * --passphrase-command (run with /bin/sh -c), a no-echo prompt on
 * /dev/tty.  The passphrase only ever lives in stack buffers that are
 * wiped and in the caller's buf (wiped by the caller); it is never put
 * in a child's argv or environment, nor in any message.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <sodium.h>

#include "cli.h"

/* Far beyond any sane passphrase; bounds what a runaway command or a
 * wrong file can make us hold. */
#define CLI_PASS_MAX 4096

static int cli_pass_fail(struct cli *c, int r, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int cli_pass_fail(struct cli *c, int r, const char *fmt, ...)
{
	va_list ap;

	buf_reset(&c->pass_err);
	va_start(ap, fmt);
	buf_vaddf(&c->pass_err, fmt, ap);
	va_end(ap);
	return r;
}

/* Drops one trailing "\n" (or "\r\n"). */
static size_t cli_pass_chomp(const char *p, size_t n)
{
	if (n && p[n - 1] == '\n') {
		n--;
		if (n && p[n - 1] == '\r')
			n--;
	}
	return n;
}

static int cli_pass_take(struct cli *c, struct buf *pass, const char *p,
			 size_t n, const char *source)
{
	int r;

	if (n > CLI_PASS_MAX)
		return cli_pass_fail(c, -EINVAL,
				     "the passphrase from %s is longer than %d bytes",
				     source, CLI_PASS_MAX);
	if (memchr(p, '\0', n))
		return cli_pass_fail(c, -EINVAL,
				     "the passphrase from %s contains a NUL byte",
				     source);
	/* One append into an empty buffer is one allocation, so no
	 * stale copy of the secret is left behind by a realloc. */
	r = buf_add(pass, p, n);
	if (r < 0)
		return cli_pass_fail(c, r, "out of memory");
	return 0;
}

int cli_pass_from_file(struct cli *c, const char *path, struct buf *pass)
{
	char tmp[CLI_PASS_MAX + 2];
	size_t n = 0;
	char *nl = NULL;
	int fd, r = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return cli_pass_fail(c, -errno, "cannot open passphrase file %s: %s",
				     path, strerror(errno));
	while (n < sizeof(tmp) && !nl) {
		ssize_t k = read(fd, tmp + n, sizeof(tmp) - n);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			r = cli_pass_fail(c, -errno, "cannot read passphrase file %s: %s",
					  path, strerror(errno));
			break;
		}
		if (k == 0)
			break;
		nl = memchr(tmp + n, '\n', (size_t)k);
		n += (size_t)k;
	}
	close(fd);
	if (r == 0) {
		size_t len = nl ? (size_t)(nl - tmp) + 1 : n;

		len = cli_pass_chomp(tmp, len);
		if (!nl && n == sizeof(tmp))
			r = cli_pass_fail(c, -EINVAL,
					  "the first line of passphrase file %s is longer than %d bytes",
					  path, CLI_PASS_MAX);
		else
			r = cli_pass_take(c, pass, tmp, len, "the passphrase file");
	}
	sodium_memzero(tmp, sizeof(tmp));
	return r;
}

static int cli_pass_from_command(struct cli *c, struct buf *pass)
{
	char tmp[CLI_PASS_MAX + 2];
	char *argv[] = { "sh", "-c", (char *)c->pass_cmd, NULL };
	size_t n = 0;
	int fds[2], status, r = 0, toolong = 0;
	pid_t pid;

	if (pipe2(fds, O_CLOEXEC) < 0)
		return cli_pass_fail(c, -errno, "cannot run --passphrase-command: %s",
				     strerror(errno));
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		r = -errno;
		close(fds[0]);
		close(fds[1]);
		return cli_pass_fail(c, r, "cannot run --passphrase-command: %s",
				     strerror(-r));
	}
	if (pid == 0) {
		/* stdin and stderr stay the user's, so the command may
		 * prompt (pinentry, a password manager's unlock) */
		if (dup2(fds[1], 1) < 0)
			_exit(127);
		execv("/bin/sh", argv);
		_exit(127);
	}
	close(fds[1]);
	for (;;) {
		char drain[512];
		ssize_t k;

		/* once full, keep reading (and dropping) so the command
		 * is not killed by SIGPIPE before we can say why */
		if (n < sizeof(tmp))
			k = read(fds[0], tmp + n, sizeof(tmp) - n);
		else
			k = read(fds[0], drain, sizeof(drain));
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			r = -errno;
			break;
		}
		if (k == 0)
			break;
		if (n < sizeof(tmp))
			n += (size_t)k;
		else
			toolong = 1;
		sodium_memzero(drain, sizeof(drain));
	}
	close(fds[0]);
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			status = -1;
			break;
		}
	}
	if (r < 0) {
		r = cli_pass_fail(c, r, "cannot read the output of --passphrase-command: %s",
				  strerror(-r));
	} else if (status == -1 || !WIFEXITED(status) ||
		   WEXITSTATUS(status) != 0) {
		if (status != -1 && WIFSIGNALED(status))
			r = cli_pass_fail(c, -EIO,
					  "--passphrase-command '%s' was killed by signal %d",
					  c->pass_cmd, WTERMSIG(status));
		else
			r = cli_pass_fail(c, -EIO,
					  "--passphrase-command '%s' failed (exit status %d)",
					  c->pass_cmd,
					  status == -1 ? -1 : WEXITSTATUS(status));
	} else if (toolong) {
		r = cli_pass_fail(c, -EINVAL,
				  "the output of --passphrase-command is longer than %d bytes",
				  CLI_PASS_MAX);
	} else {
		r = cli_pass_take(c, pass, tmp, cli_pass_chomp(tmp, n),
				  "--passphrase-command");
	}
	sodium_memzero(tmp, sizeof(tmp));
	return r;
}

/* ---- terminal -------------------------------------------------------------
 * Echo is switched off while reading; a signal arriving meanwhile must
 * not leave the user's terminal silent, hence the handlers. */
static int cli_tty_fd = -1;
static struct termios cli_tty_saved;

static void cli_tty_signal(int sig)
{
	if (cli_tty_fd >= 0)
		tcsetattr(cli_tty_fd, TCSAFLUSH, &cli_tty_saved);
	signal(sig, SIG_DFL);
	raise(sig);
}

/* Reads one line from the terminal fd without echo: its length, or
 * -errno / -E2BIG / -ENODATA (end of input before anything). */
static ssize_t cli_tty_line(int fd, const char *prompt, char *out,
			    size_t outsz)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };
	struct sigaction sa, old[4];
	struct termios t;
	size_t n = 0;
	ssize_t ret = 0;
	int echo_off = 0, toolong = 0, got_nl = 0;

	if (cli_write_all(fd, prompt, strlen(prompt)) < 0)
		return -EIO;
	if (tcgetattr(fd, &cli_tty_saved) == 0) {
		t = cli_tty_saved;
		t.c_lflag &= ~(tcflag_t)ECHO;
		t.c_lflag |= ECHONL;
		cli_tty_fd = fd;
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = cli_tty_signal;
		sigemptyset(&sa.sa_mask);
		for (int i = 0; i < 4; i++)
			sigaction(sigs[i], &sa, &old[i]);
		if (tcsetattr(fd, TCSAFLUSH, &t) == 0)
			echo_off = 1;
	}
	while (!got_nl) {
		char ch;
		ssize_t k = read(fd, &ch, 1);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			ret = -errno;
			break;
		}
		if (k == 0)
			break;
		if (ch == '\n')
			got_nl = 1;
		else if (n < outsz)
			out[n++] = ch;
		else
			toolong = 1;
		ch = 0;
	}
	if (cli_tty_fd >= 0) {
		if (echo_off)
			tcsetattr(fd, TCSAFLUSH, &cli_tty_saved);
		for (int i = 0; i < 4; i++)
			sigaction(sigs[i], &old[i], NULL);
		cli_tty_fd = -1;
	}
	if (!echo_off || !got_nl)
		cli_write_all(fd, "\n", 1);
	if (ret < 0)
		return ret;
	if (toolong)
		return -E2BIG;
	if (!got_nl && n == 0)
		return -ENODATA;
	if (n && out[n - 1] == '\r')
		n--;
	return (ssize_t)n;
}

int cli_pass_prompt(struct cli *c, const char *prompt, int confirm,
		    struct buf *pass)
{
	char a[CLI_PASS_MAX + 1], b[CLI_PASS_MAX + 1];
	ssize_t na, nb = 0;
	int fd, r = 0;

	fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
	if (fd < 0 || !isatty(fd)) {
		if (fd >= 0)
			close(fd);
		return cli_pass_fail(c, -ENOKEY,
				     "no passphrase available: set VAULT_PASSPHRASE or VAULT_PASSPHRASE_FILE, use --passphrase-command, or run vault on a terminal");
	}
	na = cli_tty_line(fd, prompt, a, CLI_PASS_MAX);
	if (na >= 0 && confirm)
		nb = cli_tty_line(fd, "Repeat passphrase: ", b, CLI_PASS_MAX);
	close(fd);
	if (na == -E2BIG || nb == -E2BIG)
		r = cli_pass_fail(c, -EINVAL, "the passphrase is longer than %d bytes",
				  CLI_PASS_MAX);
	else if (na == -ENODATA || nb == -ENODATA)
		r = cli_pass_fail(c, -ENOKEY, "no passphrase entered");
	else if (na < 0 || nb < 0)
		r = cli_pass_fail(c, -EIO, "cannot read the passphrase from the terminal: %s",
				  strerror((int)-(na < 0 ? na : nb)));
	else if (confirm && (na != nb || memcmp(a, b, (size_t)na)))
		r = cli_pass_fail(c, -EINVAL, "the passphrases do not match");
	else
		r = cli_pass_take(c, pass, a, (size_t)na, "the terminal");
	sodium_memzero(a, sizeof(a));
	sodium_memzero(b, sizeof(b));
	return r;
}

int cli_passphrase(struct cli *c, int is_new, struct buf *pass)
{
	const char *env = getenv("VAULT_PASSPHRASE");
	const char *dir = cli_repo_dir(c);
	struct buf file = BUF_INIT;
	char prompt[512];
	int r;

	buf_reset(&c->pass_err);
	if (env && *env) {
		r = cli_pass_take(c, pass, env, strlen(env), "VAULT_PASSPHRASE");
	} else if ((env = getenv("VAULT_PASSPHRASE_FILE")) && *env) {
		r = cli_pass_from_file(c, env, pass);
	} else if (c->pass_cmd) {
		r = cli_pass_from_command(c, pass);
	} else if ((r = cli_env_setting(c, "VAULT_PASSPHRASE_FILE", &file)) != 0) {
		r = r < 0 ? -EINVAL : cli_pass_from_file(c, (char *)file.data, pass);
	} else {
		snprintf(prompt, sizeof(prompt), "%s for repository %s: ",
			 is_new ? "New passphrase" : "Passphrase",
			 dir ? dir : "?");
		r = cli_pass_prompt(c, prompt, is_new, pass);
	}
	if (r == 0 && is_new && pass->len == 0)
		r = cli_pass_fail(c, -EINVAL, "an empty passphrase is not allowed");
	buf_release(&file);
	return r;
}

int cli_pass_cb(void *ctx, const char *why, struct buf *pass)
{
	return cli_passphrase(ctx, why && !strcmp(why, "new"), pass);
}

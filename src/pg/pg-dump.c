/*
 * pg-dump: locating a suitable pg_dump binary by version and running it
 * as a child with its output streamed to a callback.
 */
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "pg-dump.h"

extern char **environ;

#define PG_DUMP_STDERR_MAX	(64u << 10)

void pg_dump_tool_release(struct pg_dump_tool *t)
{
	if (!t)
		return;
	free(t->path);
	memset(t, 0, sizeof(*t));
}

/*
 * Spawns path with argv and envp; stdout goes to out (or is collected in
 * outbuf when out is NULL), stderr to errbuf (capped).  *status gets the
 * wait status.  An out error kills the child and is returned.
 */
static int pg_dump_spawn(const char *path, char *const argv[],
			 char *const envp[], pg_dump_out_fn out, void *ctx,
			 struct buf *outbuf, struct buf *errbuf, int *status)
{
	int po[2], pe[2], r = 0;
	struct pollfd fds[2];
	char chunk[65536];
	pid_t pid;

	if (pipe2(po, O_CLOEXEC) < 0)
		return -errno;
	if (pipe2(pe, O_CLOEXEC) < 0) {
		r = -errno;
		close(po[0]);
		close(po[1]);
		return r;
	}
	pid = fork();
	if (pid < 0) {
		r = -errno;
		close(po[0]);
		close(po[1]);
		close(pe[0]);
		close(pe[1]);
		return r;
	}
	if (pid == 0) {
		int devnull = open("/dev/null", O_RDONLY);

		/* only async-signal-safe calls from here on */
		if (devnull >= 0)
			dup2(devnull, 0);
		dup2(po[1], 1);
		dup2(pe[1], 2);
		execve(path, argv, envp);
		_exit(127);
	}
	close(po[1]);
	close(pe[1]);
	fds[0].fd = po[0];
	fds[1].fd = pe[0];
	fds[0].events = fds[1].events = POLLIN;
	while (fds[0].fd >= 0 || fds[1].fd >= 0) {
		if (poll(fds, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			break;
		}
		for (int i = 0; i < 2; i++) {
			ssize_t n;

			if (fds[i].fd < 0 || !fds[i].revents)
				continue;
			n = read(fds[i].fd, chunk, sizeof(chunk));
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				close(fds[i].fd);
				fds[i].fd = -1;
				continue;
			}
			if (i == 1) {
				if (errbuf->len < PG_DUMP_STDERR_MAX)
					buf_add(errbuf, chunk, (size_t)n);
			} else if (out) {
				r = out(ctx, chunk, (size_t)n);
			} else {
				r = buf_add(outbuf, chunk, (size_t)n);
			}
			if (r < 0)
				break;
		}
		if (r < 0)
			break;
	}
	if (r < 0)
		kill(pid, SIGTERM);
	for (int i = 0; i < 2; i++)
		if (fds[i].fd >= 0)
			close(fds[i].fd);
	while (waitpid(pid, status, 0) < 0) {
		if (errno != EINTR) {
			*status = -1;
			break;
		}
	}
	return r;
}

/* "pg_dump (PostgreSQL) 15.20 (Debian ...)" -> 150020, "15.20";
 * "9.6.24" -> 90624. */
static int pg_dump_parse_version(const char *s, int *num, char ver[32])
{
	const char *p = strstr(s, "(PostgreSQL) ");
	long a, b = 0, c = 0;
	char *end;
	size_t n;

	if (strncmp(s, "pg_dump", 7) || !p)
		return -ENOEXEC;
	p += 13;
	errno = 0;
	a = strtol(p, &end, 10);
	if (end == p || errno || a < 7 || a > 999)
		return -ENOEXEC;
	if (*end == '.') {
		const char *q = end + 1;

		b = strtol(q, &end, 10);
		if (end == q || b < 0 || b > 99)
			return -ENOEXEC;
		if (a < 10 && *end == '.') {
			q = end + 1;
			c = strtol(q, &end, 10);
			if (end == q || c < 0 || c > 99)
				return -ENOEXEC;
		}
	}
	/* development versions: "17devel", "16beta2" */
	*num = a >= 10 ? (int)(a * 10000 + b) : (int)(a * 10000 + b * 100 + c);
	n = (size_t)(end - p);
	while (end[0] && end[0] != ' ' && end[0] != '\n' && n < 31)
		end++, n++;
	memcpy(ver, p, n);
	ver[n] = '\0';
	return 0;
}

int pg_dump_version(const char *path, int *num, char ver[32])
{
	char *argv[] = { (char *)path, (char *)"--version", NULL };
	struct buf o = BUF_INIT, e = BUF_INIT;
	int status = 0, r;

	if (access(path, X_OK) < 0)
		return -errno;
	o.max = e.max = 4096;
	r = pg_dump_spawn(path, argv, environ, NULL, NULL, &o, &e, &status);
	if (r == -E2BIG)
		r = -ENOEXEC;
	if (r == 0 && (!WIFEXITED(status) || WEXITSTATUS(status) != 0))
		r = -ENOEXEC;
	if (r == 0)
		r = pg_dump_parse_version((char *)o.data, num, ver);
	buf_release(&o);
	buf_release(&e);
	return r;
}

/* The major part of a version number, comparable across the 9.x and
 * 10+ numbering schemes. */
static int pg_dump_major(int num)
{
	return num >= 100000 ? num / 10000 * 10000 : num / 100 * 100;
}

static void pg_dump_major_name(int num, char *out, size_t n)
{
	if (num >= 100000)
		snprintf(out, n, "%d", num / 10000);
	else
		snprintf(out, n, "%d.%d", num / 10000, num / 100 % 100);
}

struct pg_dump_cand {
	char *path;
	int num;
	char ver[32];
};

static int pg_dump_consider(struct pg_dump_cand **v, size_t *n,
			    const char *path)
{
	struct pg_dump_cand c, *nv;
	char *real = realpath(path, NULL);

	/* the same binary reached twice (PATH and the Debian dir) */
	for (size_t i = 0; real && i < *n; i++) {
		char *other = realpath((*v)[i].path, NULL);
		int same = other && !strcmp(other, real);

		free(other);
		if (same) {
			free(real);
			return 0;
		}
	}
	free(real);
	memset(&c, 0, sizeof(c));
	if (pg_dump_version(path, &c.num, c.ver) < 0)
		return 0;
	c.path = strdup(path);
	nv = c.path ? realloc(*v, (*n + 1) * sizeof(**v)) : NULL;
	if (!nv) {
		free(c.path);
		return -ENOMEM;
	}
	*v = nv;
	(*v)[(*n)++] = c;
	return 0;
}

int pg_dump_find(struct pg_dump_tool *t, const char *explicit, int server_num,
		 struct buf *err)
{
	struct pg_dump_cand *v = NULL;
	size_t n = 0, best = (size_t)-1;
	char major[16];
	int r = 0;

	memset(t, 0, sizeof(*t));
	if (explicit) {
		if (access(explicit, X_OK) < 0) {
			r = -errno;
			if (err)
				buf_addf(err, "pg_dump %s: %s", explicit, strerror(-r));
			return r == -ENOENT ? -ENOPKG : r;
		}
		r = pg_dump_consider(&v, &n, explicit);
		if (r == 0 && n == 0) {
			if (err)
				buf_addf(err, "%s does not look like pg_dump (its --version output is not pg_dump's)",
					 explicit);
			return -ENOPKG;
		}
	} else {
		glob_t g;
		const char *path = getenv("PATH");

		/* Debian's real binaries first: preferred at equal versions */
		if (glob("/usr/lib/postgresql/*/bin/pg_dump", 0, NULL, &g) == 0) {
			for (size_t i = 0; i < g.gl_pathc && r == 0; i++)
				r = pg_dump_consider(&v, &n, g.gl_pathv[i]);
			globfree(&g);
		}
		while (path && *path && r == 0) {
			const char *e = strchr(path, ':');
			size_t len = e ? (size_t)(e - path) : strlen(path);
			struct buf p = BUF_INIT;

			if (len) {
				r = buf_add(&p, path, len);
				if (r == 0)
					r = buf_addstr(&p, "/pg_dump");
				if (r == 0 && access((char *)p.data, X_OK) == 0)
					r = pg_dump_consider(&v, &n, (char *)p.data);
			}
			buf_release(&p);
			path = e ? e + 1 : NULL;
		}
	}
	for (size_t i = 0; r == 0 && i < n; i++)
		if (pg_dump_major(v[i].num) >= pg_dump_major(server_num) &&
		    (best == (size_t)-1 || v[i].num > v[best].num))
			best = i;
	if (r == 0 && best == (size_t)-1) {
		r = -ENOPKG;
		pg_dump_major_name(server_num, major, sizeof(major));
		if (err) {
			buf_addf(err, "the server runs PostgreSQL %s but no pg_dump %s or newer was found",
				 major, major);
			for (size_t i = 0; i < n; i++)
				buf_addf(err, "%s %s %s", i ? "," : " (found:",
					 v[i].path, v[i].ver);
			buf_addf(err, "%s; install the Debian package postgresql-client-%s (from apt.postgresql.org) or pass its pg_dump explicitly",
				 n ? ")" : "", major);
		}
	}
	if (r == 0) {
		t->path = v[best].path;
		t->version_num = v[best].num;
		memcpy(t->version, v[best].ver, sizeof(t->version));
		v[best].path = NULL;
	}
	for (size_t i = 0; i < n; i++)
		free(v[i].path);
	free(v);
	return r;
}

/* environ without PGPASSWORD and, when passfile is given, with
 * PGPASSFILE naming it in place of the user's.  *pfvar is allocated. */
static char **pg_dump_env(const char *passfile, char **pfvar)
{
	size_t n = 0, k = 0;
	char **env;

	*pfvar = NULL;
	while (environ[n])
		n++;
	env = calloc(n + 2, sizeof(*env));
	if (!env)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (!strncmp(environ[i], "PGPASSWORD=", 11))
			continue;
		if (passfile && !strncmp(environ[i], "PGPASSFILE=", 11))
			continue;
		env[k++] = environ[i];
	}
	if (passfile) {
		size_t len = strlen(passfile) + 12;

		*pfvar = malloc(len);
		if (!*pfvar) {
			free(env);
			return NULL;
		}
		snprintf(*pfvar, len, "PGPASSFILE=%s", passfile);
		env[k++] = *pfvar;
	}
	return env;
}

/*
 * Writes password into a new private passfile (mode 0600, libpq's
 * .pgpass syntax: "*:*:*:*:" then the password with ':' and '\'
 * escaped) under $TMPDIR or /tmp, its name into path.  The line is
 * wiped from memory; the caller unlinks the file.
 */
static int pg_dump_passfile(const char *password, struct buf *path)
{
	const char *tmp = getenv("TMPDIR");
	struct buf line = BUF_INIT;
	int fd, r;

	if (!tmp || tmp[0] != '/')
		tmp = "/tmp";
	r = buf_addf(path, "%s/vault-pgpass-XXXXXX", tmp);
	if (r < 0)
		return r;
	r = buf_addstr(&line, "*:*:*:*:");
	for (const char *p = password; *p && r == 0; p++) {
		if (*p == ':' || *p == '\\')
			r = buf_addch(&line, '\\');
		if (r == 0)
			r = buf_addch(&line, *p);
	}
	if (r == 0)
		r = buf_addch(&line, '\n');
	if (r < 0) {
		buf_wipe(&line);
		return r;
	}
	fd = mkstemp((char *)path->data);	/* creates it with mode 0600 */
	if (fd < 0) {
		r = -errno;
		buf_wipe(&line);
		return r;
	}
	errno = 0;
	if (fchmod(fd, 0600) < 0 ||
	    write(fd, line.data, line.len) != (ssize_t)line.len)
		r = errno ? -errno : -EIO;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	buf_wipe(&line);
	if (r < 0)
		unlink((char *)path->data);
	return r;
}

/* Forwards pg_dump's output; the first of it means pg_dump has
 * connected, so the passfile, read only when connecting, goes at once. */
struct pg_dump_relay {
	pg_dump_out_fn out;
	void *ctx;
	const char *passfile;	/* NULL once removed */
};

static void pg_dump_passfile_remove(struct pg_dump_relay *d)
{
	if (d->passfile)
		unlink(d->passfile);
	d->passfile = NULL;
}

static int pg_dump_relay_out(void *ctx, const void *p, size_t n)
{
	struct pg_dump_relay *d = ctx;

	pg_dump_passfile_remove(d);
	return d->out(d->ctx, p, n);
}

int pg_dump_run(const struct pg_dump_tool *t, const char *conninfo,
		const char *password, const char *snapshot,
		const char *const *extra, size_t nextra,
		pg_dump_out_fn out, void *ctx, struct buf *err)
{
	struct buf snaparg = BUF_INIT, dbarg = BUF_INIT, e = BUF_INIT;
	struct buf passfile = BUF_INIT;
	struct pg_dump_relay relay = { out, ctx, NULL };
	char **argv = calloc(nextra + 8, sizeof(*argv)), **env = NULL;
	char *pfvar = NULL;
	size_t k = 0;
	int status = 0, r;

	if (!argv)
		return -ENOMEM;
	/* a password from vault's own PGPASSWORD goes the same way */
	if (!password || !*password)
		password = getenv("PGPASSWORD");
	r = buf_addf(&snaparg, "--snapshot=%s", snapshot);
	if (r == 0)
		r = buf_addf(&dbarg, "--dbname=%s", conninfo);
	if (r == 0 && password && *password) {
		r = pg_dump_passfile(password, &passfile);
		if (r < 0 && err)
			buf_addf(err, "cannot write a private passfile for pg_dump in %s: %s",
				 (char *)passfile.data, strerror(-r));
		if (r == 0)
			relay.passfile = (char *)passfile.data;
	}
	if (r == 0) {
		env = pg_dump_env(relay.passfile, &pfvar);
		if (!env)
			r = -ENOMEM;
	}
	if (r == 0) {
		argv[k++] = t->path;
		argv[k++] = (char *)"--schema-only";
		argv[k++] = (char *)"--no-password";
		argv[k++] = (char *)snaparg.data;
		for (size_t i = 0; i < nextra; i++)
			argv[k++] = (char *)extra[i];
		argv[k++] = (char *)dbarg.data;
		argv[k] = NULL;
		r = pg_dump_spawn(t->path, argv, env, pg_dump_relay_out, &relay,
				  NULL, &e, &status);
	}
	if (r == 0 && !(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
		r = -EIO;
		if (err) {
			/* the last lines of stderr carry pg_dump's reason */
			while (e.len && (e.data[e.len - 1] == '\n'))
				buf_setlen(&e, e.len - 1);
			for (size_t i = 0; i < e.len; i++)
				if (e.data[i] == '\n')
					e.data[i] = ' ';
			if (WIFEXITED(status))
				buf_addf(err, "%s failed (exit status %d): %s", t->path,
					 WEXITSTATUS(status), (char *)e.data);
			else
				buf_addf(err, "%s was killed: %s", t->path, (char *)e.data);
		}
	} else if (r < 0 && r != -EINTR && err && !err->len) {
		buf_addf(err, "running %s: %s", t->path, strerror(-r));
	}
	pg_dump_passfile_remove(&relay);
	free(pfvar);
	free(env);
	free(argv);
	buf_release(&snaparg);
	buf_release(&dbarg);
	buf_release(&e);
	buf_release(&passfile);
	return r;
}

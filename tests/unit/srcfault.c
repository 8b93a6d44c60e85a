/*
 * srcfault: an LD_PRELOAD shim that makes the files `vault snapshot`
 * reads fail or change at a chosen moment, so tests/cli/t0025-partial.sh
 * needs neither root (as root, chmod 000 stops nothing) nor timing luck.
 *
 * VAULT_SRCFAULT holds rules separated by ';', each KIND:PATH, PATH
 * absolute (as the snapshot walks it, symlinks resolved):
 *   eacces:PATH   opening PATH (file or directory) fails with EACCES
 *   vanish:PATH   PATH is removed just before it is opened, as if it
 *                 was deleted after its directory was listed
 *   eio:PATH      reading PATH fails with EIO
 *   rewrite:PATH  the first read from the start of PATH is followed by
 *                 a rewrite of the file: it changed once, while read
 *   churn:PATH    every read from the start of PATH is followed by an
 *                 append: it keeps changing
 *
 * Built by make check as tests/unit/srcfault.so (not a test itself).
 * Only open, openat, read and close are wrapped: what the walk uses.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shim-path.h"

#define SRCFAULT_MAX_RULES	16
#define SRCFAULT_MAX_FD		4096

enum { SF_EACCES = 1, SF_VANISH, SF_EIO, SF_REWRITE, SF_CHURN };

struct srcfault_rule {
	int kind;
	int fired;
	char path[PATH_MAX];
};

static struct srcfault_rule rules[SRCFAULT_MAX_RULES];
static int nrules;
/* rule index + 1 of each open descriptor, 0 for none */
static int fd_rule[SRCFAULT_MAX_FD];

static int (*real_openat)(int, const char *, int, ...);
static ssize_t (*real_read)(int, void *, size_t);
static int (*real_close)(int);

static int srcfault_kind(const char *s, size_t n)
{
	static const char *const names[] = {
		NULL, "eacces", "vanish", "eio", "rewrite", "churn",
	};

	for (int k = 1; k <= SF_CHURN; k++)
		if (strlen(names[k]) == n && !memcmp(s, names[k], n))
			return k;
	return 0;
}

__attribute__((constructor)) static void srcfault_init(void)
{
	const char *spec = getenv("VAULT_SRCFAULT");

	real_openat = (int (*)(int, const char *, int, ...))
		dlsym(RTLD_NEXT, "openat");
	real_read = (ssize_t (*)(int, void *, size_t))dlsym(RTLD_NEXT, "read");
	real_close = (int (*)(int))dlsym(RTLD_NEXT, "close");
	while (spec && *spec && nrules < SRCFAULT_MAX_RULES) {
		const char *colon = strchr(spec, ':'), *end = strchr(spec, ';');
		size_t len;

		if (!end)
			end = spec + strlen(spec);
		if (colon && colon < end) {
			len = (size_t)(end - colon - 1);
			rules[nrules].kind = srcfault_kind(spec,
							   (size_t)(colon - spec));
			if (rules[nrules].kind && len < PATH_MAX) {
				memcpy(rules[nrules].path, colon + 1, len);
				rules[nrules].path[len] = '\0';
				nrules++;
			}
		}
		spec = *end ? end + 1 : end;
	}
}

/* The rule for (dirfd, name), or -1. */
static int srcfault_match(int dirfd, const char *name)
{
	char full[PATH_MAX];

	if (!nrules || shim_path(dirfd, name, full, sizeof(full)) < 0)
		return -1;
	for (int i = 0; i < nrules; i++)
		if (!strcmp(rules[i].path, full))
			return i;
	return -1;
}

/* Before the real open: 0 to go on, -1 (errno set) to fail it. */
static int srcfault_before_open(int i)
{
	struct stat st;

	if (i < 0)
		return 0;
	if (rules[i].kind == SF_EACCES) {
		errno = EACCES;
		return -1;
	}
	if (rules[i].kind == SF_VANISH && !rules[i].fired) {
		rules[i].fired = 1;
		if (lstat(rules[i].path, &st) == 0 && S_ISDIR(st.st_mode))
			rmdir(rules[i].path);
		else
			unlink(rules[i].path);
	}
	return 0;
}

static int srcfault_after_open(int fd, int i)
{
	if (fd >= 0 && fd < SRCFAULT_MAX_FD)
		fd_rule[fd] = i + 1;
	return fd;
}

/* open and openat alike: the rule, then the real call. */
static int srcfault_open(int dirfd, const char *path, int flags, mode_t mode)
{
	int i = srcfault_match(dirfd, path);

	if (srcfault_before_open(i) < 0)
		return -1;
	return srcfault_after_open(real_openat(dirfd, path, flags, mode), i);
}

/* The mode argument exists only with O_CREAT or O_TMPFILE. */
#define SRCFAULT_MODE(flags, mode) do { \
	if ((flags) & (O_CREAT | O_TMPFILE)) { \
		va_list ap; \
		va_start(ap, flags); \
		mode = (mode_t)va_arg(ap, int); \
		va_end(ap); \
	} \
} while (0)

int open(const char *path, int flags, ...)
{
	mode_t mode = 0;

	SRCFAULT_MODE(flags, mode);
	return srcfault_open(AT_FDCWD, path, flags, mode);
}

int openat(int dirfd, const char *path, int flags, ...)
{
	mode_t mode = 0;

	SRCFAULT_MODE(flags, mode);
	return srcfault_open(dirfd, path, flags, mode);
}

/* Changes the file of rule i behind the reader's back. */
static void srcfault_change(struct srcfault_rule *r)
{
	static const char head[] = "REWRITTEN", tail[] = "\nrewritten\n";
	int fd = real_openat(AT_FDCWD, r->path, O_WRONLY | O_CLOEXEC);

	if (fd < 0)
		return;
	if (r->kind == SF_REWRITE) {
		if (pwrite(fd, head, sizeof(head) - 1, 0) < 0 ||
		    pwrite(fd, tail, sizeof(tail) - 1,
			   lseek(fd, 0, SEEK_END)) < 0)
			perror("srcfault: rewrite");
	} else if (pwrite(fd, "+", 1, lseek(fd, 0, SEEK_END)) < 0) {
		perror("srcfault: churn");
	}
	real_close(fd);
}

ssize_t read(int fd, void *p, size_t n)
{
	struct srcfault_rule *r;
	off_t at;
	ssize_t got;

	if (fd < 0 || fd >= SRCFAULT_MAX_FD || !fd_rule[fd])
		return real_read(fd, p, n);
	r = &rules[fd_rule[fd] - 1];
	if (r->kind == SF_EIO) {
		errno = EIO;
		return -1;
	}
	at = lseek(fd, 0, SEEK_CUR);
	got = real_read(fd, p, n);
	if (got > 0 && at == 0 &&
	    (r->kind == SF_CHURN || (r->kind == SF_REWRITE && !r->fired))) {
		r->fired = 1;
		srcfault_change(r);
	}
	return got;
}

int close(int fd)
{
	if (fd >= 0 && fd < SRCFAULT_MAX_FD)
		fd_rule[fd] = 0;
	return real_close(fd);
}

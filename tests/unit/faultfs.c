/*
 * faultfs: an LD_PRELOAD shim that counts the calls a process makes to
 * change files under one directory (the repository), and makes the Nth
 * of them fail with ENOSPC or EIO, or kills the process right before
 * it.  tests/cli/t0065-crash-injection.sh and t0067-fault-injection.sh
 * run `vault` under it, so every step of a write path can be hit
 * without root, without a full or failing disk, and without timing
 * luck.
 *
 * Environment:
 *   VAULT_FAULTFS_DIR     the directory (absolute); calls on files
 *                         elsewhere pass through uncounted
 *   VAULT_FAULTFS_OPS     the kinds of call counted, comma separated
 *                         (default: all): write (write, pwrite, pwrite64,
 *                         writev, pwritev), fsync, fdatasync, rename
 *                         (rename, renameat, renameat2), ftruncate,
 *                         fallocate (fallocate, posix_fallocate), unlink
 *                         (unlink, unlinkat)
 *   VAULT_FAULTFS_AT      N: act on the Nth counted call (1-based);
 *                         unset or 0 only counts
 *   VAULT_FAULTFS_ACTION  enospc or eio: that call fails with this errno
 *                         and is not made; kill: SIGKILL before it
 *   VAULT_FAULTFS_STICKY  1: every counted call from the Nth on fails
 *                         (a disk that stays full), not the Nth alone
 *   VAULT_FAULTFS_LOG     a file to append one line per counted call:
 *                         "N <tab> kind <tab> site <tab> path", where
 *                         site is the offset in the main executable of
 *                         the innermost caller there (addr2line names
 *                         it), so the distinct call sites of a write
 *                         path can be told apart; "fault N ..." when the
 *                         fault fires
 *   VAULT_FAULTFS_SITE    "kind <tab> site <tab> file": count only the
 *                         calls of that site on that file, the file as
 *                         in the log but with every 64-hex-digit name
 *                         written H and packs/<2 hex> as packs/XX (so
 *                         N=1 is the site's first call, however calls
 *                         elsewhere interleave)
 *
 * Built by make check as tests/unit/faultfs.so (not a test itself).  The
 * calls go through the PLT of the program and of libsqlite3, so SQLite's
 * writes to index.db and its WAL are counted like vault's own.  glibc's
 * internal calls (stdio) are not seen; vault writes no repository file
 * through stdio.
 */
#include <dlfcn.h>
#include <errno.h>
#include <execinfo.h>
#include <fcntl.h>
#include <limits.h>
#include <link.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "shim-path.h"

enum {
	FF_WRITE = 1 << 0,
	FF_FSYNC = 1 << 1,
	FF_FDATASYNC = 1 << 2,
	FF_RENAME = 1 << 3,
	FF_FTRUNCATE = 1 << 4,
	FF_FALLOCATE = 1 << 5,
	FF_UNLINK = 1 << 6,
	FF_ALL = (1 << 7) - 1,
};

static const char *const faultfs_kinds[] = {
	"write", "fsync", "fdatasync", "rename", "ftruncate", "fallocate",
	"unlink",
};

enum { FF_COUNT, FF_ENOSPC, FF_EIO, FF_KILL };

static char faultfs_dir[PATH_MAX];
static size_t faultfs_dirlen;
static unsigned faultfs_ops = FF_ALL;
static unsigned long faultfs_at;
static int faultfs_action = FF_COUNT;
static int faultfs_sticky;
static int faultfs_log = -1;
static const char *faultfs_only;	/* VAULT_FAULTFS_SITE */
static unsigned long faultfs_n;		/* counted so far (atomic) */
static uintptr_t faultfs_exe_lo, faultfs_exe_hi, faultfs_exe_base;

static ssize_t (*real_write)(int, const void *, size_t);
static ssize_t (*real_pwrite)(int, const void *, size_t, off_t);
static ssize_t (*real_pwrite64)(int, const void *, size_t, off64_t);
static ssize_t (*real_writev)(int, const struct iovec *, int);
static ssize_t (*real_pwritev)(int, const struct iovec *, int, off_t);
static int (*real_fsync)(int);
static int (*real_fdatasync)(int);
static int (*real_renameat2)(int, const char *, int, const char *,
			     unsigned);
static int (*real_renameat)(int, const char *, int, const char *);
static int (*real_rename)(const char *, const char *);
static int (*real_ftruncate)(int, off_t);
static int (*real_ftruncate64)(int, off64_t);
static int (*real_fallocate)(int, int, off_t, off_t);
static int (*real_fallocate64)(int, int, off64_t, off64_t);
static int (*real_posix_fallocate)(int, off_t, off_t);
static int (*real_posix_fallocate64)(int, off64_t, off64_t);
static int (*real_unlink)(const char *);
static int (*real_unlinkat)(int, const char *, int);

/* The main program's executable segment (the first object listed). */
static int faultfs_phdr(struct dl_phdr_info *info, size_t size, void *ctx)
{
	(void)size;
	(void)ctx;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];

		if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X)) {
			faultfs_exe_base = info->dlpi_addr;
			faultfs_exe_lo = info->dlpi_addr + ph->p_vaddr;
			faultfs_exe_hi = faultfs_exe_lo + ph->p_memsz;
			break;
		}
	}
	return 1;
}

static unsigned faultfs_parse_ops(const char *s)
{
	unsigned ops = 0;

	while (*s) {
		size_t n = strcspn(s, ",");

		for (size_t k = 0; k < sizeof(faultfs_kinds) /
		     sizeof(faultfs_kinds[0]); k++)
			if (strlen(faultfs_kinds[k]) == n &&
			    !memcmp(s, faultfs_kinds[k], n))
				ops |= 1u << k;
		s += n;
		if (*s)
			s++;
	}
	return ops;
}

#define FF_SYM(var, name) (var = (__typeof__(var))dlsym(RTLD_NEXT, name))

__attribute__((constructor)) static void faultfs_init(void)
{
	const char *dir = getenv("VAULT_FAULTFS_DIR");
	const char *ops = getenv("VAULT_FAULTFS_OPS");
	const char *at = getenv("VAULT_FAULTFS_AT");
	const char *action = getenv("VAULT_FAULTFS_ACTION");
	const char *sticky = getenv("VAULT_FAULTFS_STICKY");
	const char *log = getenv("VAULT_FAULTFS_LOG");
	const char *site = getenv("VAULT_FAULTFS_SITE");

	FF_SYM(real_write, "write");
	FF_SYM(real_pwrite, "pwrite");
	FF_SYM(real_pwrite64, "pwrite64");
	FF_SYM(real_writev, "writev");
	FF_SYM(real_pwritev, "pwritev");
	FF_SYM(real_fsync, "fsync");
	FF_SYM(real_fdatasync, "fdatasync");
	FF_SYM(real_renameat2, "renameat2");
	FF_SYM(real_renameat, "renameat");
	FF_SYM(real_rename, "rename");
	FF_SYM(real_ftruncate, "ftruncate");
	FF_SYM(real_ftruncate64, "ftruncate64");
	FF_SYM(real_fallocate, "fallocate");
	FF_SYM(real_fallocate64, "fallocate64");
	FF_SYM(real_posix_fallocate, "posix_fallocate");
	FF_SYM(real_posix_fallocate64, "posix_fallocate64");
	FF_SYM(real_unlink, "unlink");
	FF_SYM(real_unlinkat, "unlinkat");
	if (!dir || !realpath(dir, faultfs_dir))
		return;		/* nothing to watch: pass everything */
	faultfs_dirlen = strlen(faultfs_dir);
	if (ops && *ops)
		faultfs_ops = faultfs_parse_ops(ops);
	if (at)
		faultfs_at = strtoul(at, NULL, 10);
	if (action && !strcmp(action, "enospc"))
		faultfs_action = FF_ENOSPC;
	else if (action && !strcmp(action, "eio"))
		faultfs_action = FF_EIO;
	else if (action && !strcmp(action, "kill"))
		faultfs_action = FF_KILL;
	faultfs_sticky = sticky && !strcmp(sticky, "1");
	if (site && *site)
		faultfs_only = site;
	if (log && *log)
		faultfs_log = open(log, O_WRONLY | O_CREAT | O_APPEND |
				   O_CLOEXEC, 0644);
	dl_iterate_phdr(faultfs_phdr, NULL);
	/* load the unwinder now, not inside the first write */
	if (faultfs_log >= 0 || faultfs_only) {
		void *frames[2];

		backtrace(frames, 2);
	}
}

/* 1 when path (absolute) is the directory or inside it. */
static int faultfs_inside(const char *path)
{
	return !strncmp(path, faultfs_dir, faultfs_dirlen) &&
	       (path[faultfs_dirlen] == '/' || path[faultfs_dirlen] == '\0');
}

/* The offset in the main program of the innermost frame there, or 0. */
static uintptr_t faultfs_site(void)
{
	void *frames[32];
	int n = backtrace(frames, 32);

	for (int i = 1; i < n; i++) {
		uintptr_t a = (uintptr_t)frames[i];

		/* a return address: the call is the byte before it */
		if (a > faultfs_exe_lo && a <= faultfs_exe_hi)
			return a - 1 - faultfs_exe_base;
	}
	return 0;
}

/* 1 when the call is of the VAULT_FAULTFS_SITE site (see the top). */
static int faultfs_is_only(const char *kind, uintptr_t site,
			   const char *rel)
{
	char key[PATH_MAX + 64];
	size_t n = 0, hex;
	int len = snprintf(key, sizeof(key), "%s\t%#lx\t", kind,
			   (unsigned long)site);

	if (len < 0 || (size_t)len >= sizeof(key))
		return 0;
	n = (size_t)len;
	while (*rel && n + 3 < sizeof(key)) {
		for (hex = 0; rel[hex] && strchr("0123456789abcdef", rel[hex]);
		     hex++)
			;
		if (hex == 64 || (hex == 2 && n >= 6 &&
				  !memcmp(key + n - 6, "packs/", 6))) {
			key[n++] = hex == 64 ? 'H' : 'X';
			if (hex == 2)
				key[n++] = 'X';
			rel += hex;
		} else {
			key[n++] = *rel++;
		}
	}
	key[n] = '\0';
	return !strcmp(key, faultfs_only);
}

/*
 * Called before every wrapped call with its kind and the path it acts
 * on (NULL when outside the directory): 0 to make the real call, or -1
 * with errno set to fail it instead.
 */
static int faultfs_hit(unsigned kind, const char *path)
{
	unsigned long n;
	char line[PATH_MAX + 128];
	const char *rel = path ? path + faultfs_dirlen : NULL;
	uintptr_t site = 0;
	int len, fire, k = __builtin_ctz(kind);

	if (!path || !faultfs_dirlen || !(faultfs_ops & kind))
		return 0;
	if (faultfs_log >= 0 || faultfs_only)
		site = faultfs_site();
	if (faultfs_only && !faultfs_is_only(faultfs_kinds[k], site, rel))
		return 0;
	n = __atomic_add_fetch(&faultfs_n, 1, __ATOMIC_SEQ_CST);
	fire = faultfs_at && faultfs_action != FF_COUNT &&
	       (n == faultfs_at || (faultfs_sticky && n > faultfs_at));
	if (faultfs_log >= 0) {
		len = snprintf(line, sizeof(line), "%s%lu\t%s\t%#lx\t%s\n",
			       fire ? "fault " : "", n, faultfs_kinds[k],
			       (unsigned long)site, rel);
		if (len > 0)
			real_write(faultfs_log, line, (size_t)len < sizeof(line)
				   ? (size_t)len : sizeof(line) - 1);
	}
	if (!fire)
		return 0;
	if (faultfs_action == FF_KILL) {
		kill(getpid(), SIGKILL);
		for (;;)
			pause();
	}
	errno = faultfs_action == FF_ENOSPC ? ENOSPC : EIO;
	return -1;
}

/* faultfs_hit for a call on (dirfd, name), or on the descriptor dirfd
 * itself when name is NULL. */
static int faultfs_hit_at(unsigned kind, int dirfd, const char *name)
{
	char path[PATH_MAX];

	if (!faultfs_dirlen || !(faultfs_ops & kind) ||
	    shim_path(dirfd, name, path, sizeof(path)) < 0 ||
	    !faultfs_inside(path))
		return 0;
	return faultfs_hit(kind, path);
}

/* rename: counted once when either name is inside. */
static int faultfs_hit_rename(int olddir, const char *old, int newdir,
			      const char *new)
{
	char a[PATH_MAX], b[PATH_MAX];
	int in_a, in_b;

	if (!faultfs_dirlen || !(faultfs_ops & FF_RENAME))
		return 0;
	in_a = shim_path(olddir, old, a, sizeof(a)) == 0 &&
	       faultfs_inside(a);
	in_b = shim_path(newdir, new, b, sizeof(b)) == 0 &&
	       faultfs_inside(b);
	if (!in_a && !in_b)
		return 0;
	return faultfs_hit(FF_RENAME, in_b ? b : a);
}

/* The wrapped calls: the check, then the real one.  A call that fails
 * where the real one would not reports it the usual way. */
ssize_t write(int fd, const void *p, size_t n)
{
	if (faultfs_hit_at(FF_WRITE, fd, NULL) < 0)
		return -1;
	return real_write(fd, p, n);
}

ssize_t pwrite(int fd, const void *p, size_t n, off_t off)
{
	if (faultfs_hit_at(FF_WRITE, fd, NULL) < 0)
		return -1;
	return real_pwrite(fd, p, n, off);
}

ssize_t pwrite64(int fd, const void *p, size_t n, off64_t off)
{
	if (faultfs_hit_at(FF_WRITE, fd, NULL) < 0)
		return -1;
	return real_pwrite64(fd, p, n, off);
}

ssize_t writev(int fd, const struct iovec *v, int n)
{
	if (faultfs_hit_at(FF_WRITE, fd, NULL) < 0)
		return -1;
	return real_writev(fd, v, n);
}

ssize_t pwritev(int fd, const struct iovec *v, int n, off_t off)
{
	if (faultfs_hit_at(FF_WRITE, fd, NULL) < 0)
		return -1;
	return real_pwritev(fd, v, n, off);
}

int fsync(int fd)
{
	if (faultfs_hit_at(FF_FSYNC, fd, NULL) < 0)
		return -1;
	return real_fsync(fd);
}

int fdatasync(int fd)
{
	if (faultfs_hit_at(FF_FDATASYNC, fd, NULL) < 0)
		return -1;
	return real_fdatasync(fd);
}

int rename(const char *old, const char *new)
{
	if (faultfs_hit_rename(AT_FDCWD, old, AT_FDCWD, new) < 0)
		return -1;
	return real_rename(old, new);
}

int renameat(int od, const char *old, int nd, const char *new)
{
	if (faultfs_hit_rename(od, old, nd, new) < 0)
		return -1;
	return real_renameat(od, old, nd, new);
}

int renameat2(int od, const char *old, int nd, const char *new,
	      unsigned flags)
{
	if (faultfs_hit_rename(od, old, nd, new) < 0)
		return -1;
	return real_renameat2(od, old, nd, new, flags);
}

int ftruncate(int fd, off_t len)
{
	if (faultfs_hit_at(FF_FTRUNCATE, fd, NULL) < 0)
		return -1;
	return real_ftruncate(fd, len);
}

int ftruncate64(int fd, off64_t len)
{
	if (faultfs_hit_at(FF_FTRUNCATE, fd, NULL) < 0)
		return -1;
	return real_ftruncate64(fd, len);
}

int fallocate(int fd, int mode, off_t off, off_t len)
{
	if (faultfs_hit_at(FF_FALLOCATE, fd, NULL) < 0)
		return -1;
	return real_fallocate(fd, mode, off, len);
}

int fallocate64(int fd, int mode, off64_t off, off64_t len)
{
	if (faultfs_hit_at(FF_FALLOCATE, fd, NULL) < 0)
		return -1;
	return real_fallocate64(fd, mode, off, len);
}

/* posix_fallocate returns the error instead of setting errno. */
int posix_fallocate(int fd, off_t off, off_t len)
{
	if (faultfs_hit_at(FF_FALLOCATE, fd, NULL) < 0)
		return errno;
	return real_posix_fallocate(fd, off, len);
}

int posix_fallocate64(int fd, off64_t off, off64_t len)
{
	if (faultfs_hit_at(FF_FALLOCATE, fd, NULL) < 0)
		return errno;
	return real_posix_fallocate64(fd, off, len);
}

int unlink(const char *path)
{
	if (faultfs_hit_at(FF_UNLINK, AT_FDCWD, path) < 0)
		return -1;
	return real_unlink(path);
}

int unlinkat(int dirfd, const char *path, int flags)
{
	if (faultfs_hit_at(FF_UNLINK, dirfd, path) < 0)
		return -1;
	return real_unlinkat(dirfd, path, flags);
}

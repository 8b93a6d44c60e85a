/*
 * shim-path: the absolute path a call names, for the LD_PRELOAD shims of
 * the tests (srcfault.c, faultfs.c).  Header only: each shim is a shared
 * object built from its one .c file.
 */
#ifndef VAULT_SHIM_PATH_H
#define VAULT_SHIM_PATH_H

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <unistd.h>

/*
 * Into out (cap bytes): name when it is absolute, else "<dir>/<name>"
 * with dir the working directory (dirfd AT_FDCWD) or what dirfd names
 * (/proc/self/fd), or that alone when name is NULL or empty, which is
 * also how to get the path of any open descriptor.  0, or -1 when the
 * directory is unknown or the result does not fit.
 */
static inline int shim_path(int dirfd, const char *name, char *out,
			    size_t cap)
{
	char dir[PATH_MAX], link[64];
	ssize_t n;
	int len;

	if (name && name[0] == '/') {
		len = snprintf(out, cap, "%s", name);
		return len >= 0 && (size_t)len < cap ? 0 : -1;
	}
	if (dirfd == AT_FDCWD) {
		if (!getcwd(dir, sizeof(dir)))
			return -1;
	} else {
		snprintf(link, sizeof(link), "/proc/self/fd/%d", dirfd);
		n = readlink(link, dir, sizeof(dir) - 1);
		if (n < 0)
			return -1;
		dir[n] = '\0';
	}
	if (name && *name)
		len = snprintf(out, cap, "%s/%s", dir, name);
	else
		len = snprintf(out, cap, "%s", dir);
	return len >= 0 && (size_t)len < cap ? 0 : -1;
}

#endif

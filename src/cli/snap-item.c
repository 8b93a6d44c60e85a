/*
 * snap-item: one PATH of `vault snapshot` resolved into the directory it
 * is in and the name it is stored under (snap-files.h).  Apart from the
 * walk because it is about the command line's words, not the tree.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "buf.h"
#include "snap-files.h"

int snap_item_resolve(struct cli *c, struct snap_item *it)
{
	const char *a = it->arg;
	size_t n = strlen(a);
	struct buf b = BUF_INIT;
	struct stat st;
	char *full = NULL, *slash, *p;

	while (n > 1 && a[n - 1] == '/')
		n--;
	/* "dir/", "." and ".." name what they resolve to; otherwise the
	 * last component is kept as it is (a symlink stays a symlink) */
	if (n < strlen(a) || !strcmp(a, ".") || !strcmp(a, "..") ||
	    (n >= 2 && !strcmp(a + n - 2, "/.")) ||
	    (n >= 3 && !strcmp(a + n - 3, "/.."))) {
		full = realpath(a, NULL);
		if (!full) {
			int e = errno;

			cli_error(c, "cannot resolve %s: %s", a, strerror(e));
			return -e;
		}
	} else {
		char *dir = strndup(a, n), *rp;

		if (!dir)
			return -ENOMEM;
		slash = strrchr(dir, '/');
		if (slash == dir)
			rp = realpath("/", NULL);
		else if (slash) {
			*slash = '\0';
			rp = realpath(dir, NULL);
		} else {
			rp = realpath(".", NULL);
		}
		if (!rp) {
			cli_error(c, "cannot resolve the directory of %s: %s", a,
				  strerror(errno));
			free(dir);
			return -ENOENT;
		}
		p = slash ? slash + 1 : dir;
		buf_addf(&b, "%s/%s", strcmp(rp, "/") ? rp : "", p);
		free(rp);
		free(dir);
		full = buf_detach(&b, NULL);
		if (!full)
			return -ENOMEM;
	}
	if (!strcmp(full, "/")) {
		free(full);
		cli_usage_error(c, "'%s' is the root directory, which has no base name to store it under; give its subdirectories instead",
				a);
		return -EINVAL;
	}
	/* fail before the repository is opened and locked: a PATH that
	 * is not there at the start is an error, not a partial snapshot */
	if (lstat(full, &st) < 0) {
		int e = errno;

		cli_error(c, "cannot stat %s: %s", full, strerror(e));
		free(full);
		return -e;
	}
	/* full is absolute, so there is a slash; base is what follows */
	slash = strrchr(full, '/');
	it->parent = full;
	it->base = strdup(slash + 1);
	if (!it->base)
		return -ENOMEM;
	*(slash == full ? slash + 1 : slash) = '\0';
	return 0;
}

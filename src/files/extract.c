/*
 * extract: safe extraction of snapshot entries into a directory (see
 * extract.h for the rules).  The open directories along the current
 * entry's path are kept as a stack of fds, so consecutive entries of one
 * directory cost one openat each and a directory's metadata can be
 * applied the moment the walk leaves it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "extract.h"

struct extract_level {
	char *name;		/* encoded segment */
	size_t len;
	int fd;
	int has_meta;		/* a directory entry of the snapshot */
	uint32_t mode;
	int64_t mtime_ns;
};

struct extract {
	int root;
	struct buf levels;	/* struct extract_level[], the open path */
	size_t depth;
	struct buf segs;	/* encoded segments of the current entry, NUL-separated */
	int cur_pfd;		/* the file being written: parent fd and name */
	char *cur_name;
	int overwrite;		/* replace what is in the way (else -EEXIST) */
};

static struct extract_level *extract_lv(const struct extract *x, size_t i)
{
	return (struct extract_level *)x->levels.data + i;
}

/* Modes a restore may set: setuid/setgid are dropped, because the files
 * end up owned by whoever extracts, and a snapshot is untrusted input. */
#define EXTRACT_MODE_MASK 01777

/* Records "<what> <name>: <strerror(e)>" and returns -e.  e is passed in
 * (not read from errno here) so formatting cannot clobber it. */
static int extract_fail(struct buf *err, int e, const char *what,
			const char *name)
{
	buf_addf(err, "%s %s: %s", what, name, strerror(e));
	return -e;
}

/* utimensat/futimens times: atime left alone, mtime from the entry. */
static void extract_times(int64_t mtime_ns, struct timespec ts[2])
{
	ts[0].tv_sec = 0;
	ts[0].tv_nsec = UTIME_OMIT;
	ts[1].tv_sec = mtime_ns / 1000000000;
	ts[1].tv_nsec = mtime_ns % 1000000000;
	if (ts[1].tv_nsec < 0) {
		ts[1].tv_nsec += 1000000000;
		ts[1].tv_sec--;
	}
}

static int extract_seg_unsafe(const char *s, size_t n)
{
	if (n == 0 || (n == 1 && s[0] == '.') ||
	    (n == 2 && s[0] == '.' && s[1] == '.'))
		return 1;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch < 0x20 || ch == 0x7f || ch == '\\')
			return 1;
	}
	return 0;
}

int extract_encode_segment(struct buf *out, const char *s, size_t n)
{
	int dots, r = 0;

	if (!extract_seg_unsafe(s, n))
		return buf_add(out, s, n);
	if (n == 0)
		return buf_addstr(out, "%00");
	dots = n <= 2 && s[0] == '.' && (n == 1 || s[1] == '.');
	for (size_t i = 0; i < n && r == 0; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch < 0x20 || ch == 0x7f || ch == '\\' || ch == '%' ||
		    (dots && ch == '.'))
			r = buf_addf(out, "%%%02X", ch);
		else
			r = buf_addch(out, ch);
	}
	return r;
}

int extract_encode_path(struct buf *out, const char *path, size_t n)
{
	size_t i = 0;
	int r = 0;

	for (;;) {
		const char *slash = memchr(path + i, '/', n - i);
		size_t len = slash ? (size_t)(slash - path) - i : n - i;

		r = extract_encode_segment(out, path + i, len);
		if (r < 0 || !slash)
			return r;
		r = buf_addch(out, '/');
		if (r < 0)
			return r;
		i += len + 1;
	}
}

/* Splits and encodes e->path into x->segs; returns the segment count. */
static int extract_split(struct extract *x, const struct manifest_entry *e,
			 size_t *count, struct buf *err)
{
	size_t i = 0, n = e->path_len, k = 0;

	buf_reset(&x->segs);
	if (memchr(e->path, '\0', n)) {
		buf_addstr(err, "the path contains a NUL byte");
		return -EINVAL;
	}
	for (;;) {
		const char *slash = memchr(e->path + i, '/', n - i);
		size_t len = slash ? (size_t)(slash - e->path) - i : n - i;

		if (extract_encode_segment(&x->segs, e->path + i, len) < 0 ||
		    buf_addch(&x->segs, '\0') < 0)
			return -ENOMEM;
		k++;
		if (!slash)
			break;
		i += len + 1;
	}
	*count = k;
	return 0;
}

static const char *extract_seg_next(const char *s)
{
	return s + strlen(s) + 1;
}

static int extract_apply_dir(struct extract_level *l, struct buf *err)
{
	struct timespec ts[2];
	int r = 0;

	if (!l->has_meta)
		return 0;
	if (fchmod(l->fd, l->mode & EXTRACT_MODE_MASK) < 0) {
		r = -errno;
		buf_addf(err, "cannot set the mode of directory %s: %s", l->name,
			 strerror(errno));
	}
	extract_times(l->mtime_ns, ts);
	if (futimens(l->fd, ts) < 0 && r == 0) {
		r = -errno;
		buf_addf(err, "cannot set the mtime of directory %s: %s",
			 l->name, strerror(errno));
	}
	return r;
}

/* Leaves directories until depth d remain, applying their metadata. */
static int extract_pop(struct extract *x, size_t d, struct buf *err)
{
	int r = 0;

	while (x->depth > d) {
		struct extract_level *l = extract_lv(x, --x->depth);
		int e = extract_apply_dir(l, err);

		if (e < 0 && r == 0)
			r = e;
		close(l->fd);
		free(l->name);
		buf_setlen(&x->levels, x->depth * sizeof(*l));
	}
	return r;
}

static int extract_push(struct extract *x, const char *name, int fd,
			const struct manifest_entry *meta)
{
	struct extract_level l;

	memset(&l, 0, sizeof(l));
	l.name = strdup(name);
	if (!l.name)
		return -ENOMEM;
	l.len = strlen(name);
	l.fd = fd;
	if (meta) {
		l.has_meta = 1;
		l.mode = meta->mode;
		l.mtime_ns = meta->mtime_ns;
	}
	if (buf_add(&x->levels, &l, sizeof(l)) < 0) {
		free(l.name);
		return -ENOMEM;
	}
	x->depth++;
	return 0;
}

static int extract_parent_fd(const struct extract *x)
{
	return x->depth ? extract_lv(x, x->depth - 1)->fd : x->root;
}

/* Where the encoded segments differ from the stack, leave and descend so
 * the stack holds exactly the first n segments; returns the last
 * segment (the entry's own name) via *leaf. */
static int extract_descend(struct extract *x, size_t n, const char **leaf,
			   struct buf *err)
{
	const char *s = (const char *)x->segs.data;
	size_t m = 0;
	int r;

	while (m < x->depth && m < n && !strcmp(extract_lv(x, m)->name, s)) {
		s = extract_seg_next(s);
		m++;
	}
	r = extract_pop(x, m, err);
	if (r < 0)
		return r;
	for (; m < n; m++, s = extract_seg_next(s)) {
		int pfd = extract_parent_fd(x);
		int fd = openat(pfd, s, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
				O_CLOEXEC);

		if (fd < 0 && errno == ENOENT) {
			/* a parent the snapshot (or the selection) lacks */
			if (mkdirat(pfd, s, 0777) < 0 && errno != EEXIST)
				return extract_fail(err, errno,
							    "cannot create directory", s);
			fd = openat(pfd, s, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
				    O_CLOEXEC);
		}
		if (fd < 0) {
			r = -errno;
			if (r == -ELOOP || r == -ENOTDIR)
				buf_addf(err, "%s is not a directory (a symlink is never followed)",
					 s);
			else
				buf_addf(err, "cannot open directory %s: %s", s,
					 strerror(-r));
			return r;
		}
		r = extract_push(x, s, fd, NULL);
		if (r < 0) {
			close(fd);
			return r;
		}
	}
	*leaf = s;
	return 0;
}

static int extract_prepare(struct extract *x, const struct manifest_entry *e,
			   const char **leaf, struct buf *err)
{
	size_t n;
	int r = extract_split(x, e, &n, err);

	if (r < 0)
		return r;
	return extract_descend(x, n - 1, leaf, err);
}

/* Makes room for a new non-directory entry called name: with overwrite,
 * anything but a directory that is in the way is removed (unlinkat never
 * follows); without, anything in the way is refused. */
static int extract_clear(const struct extract *x, int pfd, const char *name,
			 struct buf *err)
{
	struct stat st;

	if (fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!x->overwrite) {
		buf_addf(err, "%s exists (--overwrite replaces it)", name);
		return -EEXIST;
	}
	if (S_ISDIR(st.st_mode)) {
		buf_addf(err, "%s exists and is a directory", name);
		return -EISDIR;
	}
	if (unlinkat(pfd, name, 0) < 0 && errno != ENOENT)
		return extract_fail(err, errno, "cannot replace", name);
	return 0;
}

int extract_new(struct extract **xp, const char *dir, struct buf *err)
{
	struct extract *x;
	struct buf p = BUF_INIT;
	int r = 0;

	*xp = NULL;
	/* mkdir -p: every prefix ending before a '/' */
	if (buf_addstr(&p, dir) < 0)
		return -ENOMEM;
	for (size_t i = 1; i <= p.len; i++) {
		if (i < p.len && p.data[i] != '/')
			continue;
		p.data[i] = '\0';
		if (mkdir((const char *)p.data, 0777) < 0 && errno != EEXIST) {
			r = -errno;
			buf_addf(err, "cannot create directory %s: %s",
				 (const char *)p.data, strerror(errno));
		}
		if (i < p.len)
			p.data[i] = '/';
		if (r < 0) {
			buf_release(&p);
			return r;
		}
	}
	buf_release(&p);
	x = calloc(1, sizeof(*x));
	if (!x)
		return -ENOMEM;
	buf_init(&x->segs, 0);
	buf_init(&x->levels, 0);
	x->cur_pfd = -1;
	x->root = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (x->root < 0) {
		r = -errno;
		buf_addf(err, "cannot open directory %s: %s", dir,
			 strerror(errno));
		free(x);
		return r;
	}
	*xp = x;
	return 0;
}

void extract_set_overwrite(struct extract *x, int on)
{
	x->overwrite = on;
}

int extract_conflict(struct extract *x, const struct manifest_entry *e,
		     struct buf *where, struct buf *err)
{
	const char *s;
	struct stat st;
	size_t n;
	int fd, pfd = x->root, r;

	r = extract_split(x, e, &n, err);
	if (r < 0)
		return r;
	s = (const char *)x->segs.data;
	for (size_t i = 0; i + 1 < n; i++, s = extract_seg_next(s)) {
		fd = openat(pfd, s, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
			    O_CLOEXEC);
		if (pfd != x->root)
			close(pfd);
		if (fd < 0) {
			/* missing: nothing below is in the way; anything
			 * else (a file, a symlink) is */
			r = errno == ENOENT ? 0 : 1;
			goto out;
		}
		pfd = fd;
	}
	if (fstatat(pfd, s, &st, AT_SYMLINK_NOFOLLOW) < 0)
		r = errno == ENOENT ? 0 : -errno;
	else
		r = !(e->kind == MANIFEST_DIR && S_ISDIR(st.st_mode));
	if (pfd != x->root)
		close(pfd);
out:
	if (r > 0) {
		/* the encoded path: what is really on disk */
		s = (const char *)x->segs.data;
		for (size_t i = 0; i < n; i++, s = extract_seg_next(s))
			if ((i && buf_addch(where, '/') < 0) ||
			    buf_addstr(where, s) < 0)
				return -ENOMEM;
	}
	return r;
}

void extract_free(struct extract *x)
{
	if (!x)
		return;
	while (x->depth) {
		struct extract_level *l = extract_lv(x, --x->depth);

		close(l->fd);
		free(l->name);
	}
	buf_release(&x->levels);
	free(x->cur_name);
	buf_release(&x->segs);
	if (x->root >= 0)
		close(x->root);
	free(x);
}

int extract_finish(struct extract *x, struct buf *err)
{
	return extract_pop(x, 0, err);
}

int extract_dir(struct extract *x, const struct manifest_entry *e,
		struct buf *err)
{
	const char *name;
	struct stat st;
	int pfd, fd, r;

	r = extract_prepare(x, e, &name, err);
	if (r < 0)
		return r;
	pfd = extract_parent_fd(x);
	/* 0700 until its contents are in; the real mode comes last, as a
	 * read-only directory could not be filled */
	if (mkdirat(pfd, name, 0700) < 0) {
		if (errno != EEXIST)
			return extract_fail(err, errno,
						    "cannot create directory", name);
		if (fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			return -errno;
		if (!S_ISDIR(st.st_mode)) {
			r = extract_clear(x, pfd, name, err);
			if (r < 0)
				return r;
			if (mkdirat(pfd, name, 0700) < 0)
				return extract_fail(err, errno,
							    "cannot create directory", name);
		}
	}
	fd = openat(pfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return extract_fail(err, errno, "cannot open directory", name);
	/* an existing directory from an earlier restore may be read-only */
	if (fstat(fd, &st) == 0 && (st.st_mode & 0700) != 0700)
		fchmod(fd, (st.st_mode & 07777) | 0700);
	r = extract_push(x, name, fd, e);
	if (r < 0)
		close(fd);
	return r;
}

int extract_symlink(struct extract *x, const struct manifest_entry *e,
		    struct buf *err)
{
	struct timespec ts[2];
	const char *name;
	int pfd, r;

	if (!e->target || memchr(e->target, '\0', e->target_len) ||
	    e->target_len == 0) {
		buf_addstr(err, "the symlink target is empty or contains a NUL byte");
		return -EINVAL;
	}
	r = extract_prepare(x, e, &name, err);
	if (r < 0)
		return r;
	pfd = extract_parent_fd(x);
	/* The target is stored as is: it is only ever data here, since
	 * nothing in the extraction follows a symlink. */
	if (symlinkat(e->target, pfd, name) < 0) {
		if (errno != EEXIST)
			return extract_fail(err, errno,
						    "cannot create symlink", name);
		r = extract_clear(x, pfd, name, err);
		if (r < 0)
			return r;
		if (symlinkat(e->target, pfd, name) < 0)
			return extract_fail(err, errno,
						    "cannot create symlink", name);
	}
	extract_times(e->mtime_ns, ts);
	if (utimensat(pfd, name, ts, AT_SYMLINK_NOFOLLOW) < 0)
		return extract_fail(err, errno,
					    "cannot set the mtime of symlink", name);
	return 0;
}

int extract_file_open(struct extract *x, const struct manifest_entry *e,
		      int *fdp, struct buf *err)
{
	const char *name;
	struct stat st;
	int pfd, fd, r;

	*fdp = -1;
	r = extract_prepare(x, e, &name, err);
	if (r < 0)
		return r;
	pfd = extract_parent_fd(x);
	fd = openat(pfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
		    O_CLOEXEC, 0600);
	if (fd < 0 && errno == EEXIST && !x->overwrite) {
		buf_addf(err, "%s exists (--overwrite replaces it)", name);
		return -EEXIST;
	}
	if (fd < 0 && errno == EEXIST &&
	    fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		if (S_ISREG(st.st_mode) && st.st_nlink == 1) {
			/* O_NONBLOCK: should a FIFO have been swapped in,
			 * fail instead of hanging; checked below */
			fd = openat(pfd, name, O_WRONLY | O_TRUNC | O_NOFOLLOW |
				    O_CLOEXEC | O_NONBLOCK);
			if (fd >= 0 && (fstat(fd, &st) < 0 ||
					!S_ISREG(st.st_mode))) {
				close(fd);
				fd = -1;
				errno = EEXIST;
			}
		} else {
			/* a symlink, something special, or a file with other
			 * hard links (truncating would change those too):
			 * replace it rather than write into it */
			r = extract_clear(x, pfd, name, err);
			if (r < 0)
				return r;
			fd = openat(pfd, name, O_WRONLY | O_CREAT | O_EXCL |
				    O_NOFOLLOW | O_CLOEXEC, 0600);
		}
	}
	if (fd < 0)
		return extract_fail(err, errno, "cannot create file", name);
	free(x->cur_name);
	x->cur_name = strdup(name);
	x->cur_pfd = pfd;
	*fdp = fd;
	return 0;
}

int extract_file_close(struct extract *x, const struct manifest_entry *e,
		       int fd, struct buf *err)
{
	struct timespec ts[2];
	int r = 0;

	if (fchmod(fd, e->mode & EXTRACT_MODE_MASK) < 0) {
		r = -errno;
		buf_addf(err, "cannot set the mode: %s", strerror(errno));
	}
	extract_times(e->mtime_ns, ts);
	if (r == 0 && futimens(fd, ts) < 0) {
		r = -errno;
		buf_addf(err, "cannot set the mtime: %s", strerror(errno));
	}
	/* close can report a delayed write error (NFS, quota) */
	if (close(fd) < 0 && r == 0) {
		r = -errno;
		buf_addf(err, "cannot write: %s", strerror(errno));
	}
	free(x->cur_name);
	x->cur_name = NULL;
	x->cur_pfd = -1;
	return r;
}

void extract_file_abort(struct extract *x, int fd)
{
	if (fd >= 0)
		close(fd);
	if (x->cur_name && x->cur_pfd >= 0)
		unlinkat(x->cur_pfd, x->cur_name, 0);
	free(x->cur_name);
	x->cur_name = NULL;
	x->cur_pfd = -1;
}

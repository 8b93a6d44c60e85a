/*
 * snap-files: the PATHs of `vault snapshot`, walked into the writer (see
 * snap-files.h for what is skipped, read again or aborts).
 *
 * Each PATH is stored under its base name at the top level.  The walk
 * uses lstat semantics (symlinks are stored, never followed), opens
 * every directory relative to its parent's fd with O_NOFOLLOW (so a
 * directory swapped for a symlink mid-walk cannot redirect it), and
 * sorts each directory's names so entries reach the writer in
 * manifest_path_cmp order: pre-order with bytewise-sorted names is
 * exactly that order, because '/' sorts before every other byte.  A
 * directory is listed before its entry is written, so one that cannot
 * be listed is left out whole.
 *
 * A regular file is read through one descriptor: fstat, read to the
 * end, fstat again.  When its size, mtime or ctime moved, or the bytes
 * read are not its size, the writer's entry is abandoned and the file
 * read again from the start, so a file rewritten while it was read is
 * not stored torn without a word.  Before that, the files cache
 * (snap-cache.c) may say from the lstat alone that the file is the one
 * the last snapshot stored: its chunks are then reused unread.
 *
 * Exclude patterns (src/files/exclude.h) are tried on every entry after
 * its lstat, before anything else: an excluded directory is never
 * opened.  With --one-file-system the device of each PATH is the
 * walk's; a directory on another device (a mount point) is stored empty.
 */
#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "exclude.h"
#include "repo.h"
#include "snap-cache.h"
#include "snap-files.h"
#include "strv.h"

/* Progress is redrawn at most this often (seconds). */
#define SNAP_FILES_PROGRESS_EVERY 0.25

struct snap_files {
	struct cli *c;
	struct snap_item *items;
	size_t n;
	struct repo_writer *w;
	struct buf path;	/* repository path of the current entry */
	struct buf err;
	const char *parent;	/* of the current item, for messages */
	int progress;
	double start, last;
	int have_repo;
	dev_t repo_dev;
	ino_t repo_ino;
	size_t skipped;
	char **listed;		/* the first SNAP_FILES_LISTED skipped */
	size_t nlisted;
	struct snap_files_opts o;
	struct snap_cache *cache;
	int dry;		/* no writer: count, store nothing */
	int top;		/* the next entry is a PATH itself */
	dev_t root_dev;		/* the current PATH's device */
	struct snap_files_stats st;
	char **excl;		/* the first SNAP_FILES_LISTED excluded */
	size_t nexcl;
};

struct snap_files *snap_files_new(struct cli *c)
{
	struct snap_files *f = calloc(1, sizeof(*f));

	if (!f)
		return NULL;
	f->c = c;
	buf_init(&f->path, 0);
	buf_init(&f->err, 0);
	return f;
}

void snap_files_free(struct snap_files *f)
{
	if (!f)
		return;
	for (size_t i = 0; f->items && i < f->n; i++) {
		free(f->items[i].parent);
		free(f->items[i].base);
	}
	free(f->items);
	strv_free(f->listed, f->nlisted);
	strv_free(f->excl, f->nexcl);
	snap_cache_free(f->cache);
	buf_release(&f->path);
	buf_release(&f->err);
	free(f);
}

/* ---- messages and progress ----------------------------------------------- */

/* "/abs/parent/<repository path>" as the file system spells it. */
static int snap_files_abs(const struct snap_files *f, struct buf *out)
{
	size_t n = strlen(f->parent);

	buf_reset(out);
	if (buf_add(out, f->parent, n) < 0 ||
	    (n && f->parent[n - 1] != '/' && buf_addch(out, '/') < 0) ||
	    buf_add(out, f->path.data, f->path.len) < 0)
		return -ENOMEM;
	return 0;
}

/* The same, quoted for a terminal. */
static const char *snap_files_where(const struct snap_files *f,
				    struct buf *out)
{
	struct buf raw = BUF_INIT;

	buf_reset(out);
	if (snap_files_abs(f, &raw) == 0)
		cli_quote(out, (const char *)raw.data, raw.len);
	buf_release(&raw);
	return (const char *)out->data;
}

void snap_files_progress_clear(struct snap_files *f)
{
	if (f->progress)
		cli_write_all(2, "\r\033[K", 4);
}

static void snap_files_progress(struct snap_files *f)
{
	struct repo_totals t;
	char rd[32], add[32];
	struct buf line = BUF_INIT;
	double now;

	if (!f->progress)
		return;
	now = cli_now();
	if (now - f->last < SNAP_FILES_PROGRESS_EVERY)
		return;
	f->last = now;
	repo_writer_totals(f->w, &t);
	/* read: from the files, not reused through the files cache */
	cli_human_size(t.bytes_read - t.bytes_reused, rd, sizeof(rd));
	cli_human_size(t.bytes_added, add, sizeof(add));
	buf_addf(&line, "\r\033[K%llu entries, %s read, %s new, %.0fs",
		 (unsigned long long)t.entries, rd, add, now - f->start);
	cli_write_all(2, line.data, line.len);
	buf_release(&line);
}

/* Called by the writer between reads of one file, so the line keeps
 * moving while a large file is stored; snap_files_progress throttles. */
static void snap_files_progress_cb(void *arg)
{
	snap_files_progress(arg);
}

/* The warning "<before><the entry's path><after>" (the progress line
 * cleared first). */
static void snap_files_warn(struct snap_files *f, const char *before,
			    const char *after)
{
	struct buf where = BUF_INIT;

	snap_files_progress_clear(f);
	cli_warn(f->c, "%s%s%s", before, snap_files_where(f, &where), after);
	buf_release(&where);
	f->last = 0;
}

/* A failure that aborts the snapshot; returns r. */
static int snap_files_error(struct snap_files *f, int r, const char *what)
{
	struct buf where = BUF_INIT;

	snap_files_progress_clear(f);
	snap_files_where(f, &where);
	cli_error(f->c, "%s %s: %s", what, (const char *)where.data,
		  f->err.len ? (const char *)f->err.data : strerror(-r));
	buf_release(&where);
	return r;
}

/* The process's own failures (not the file's): they abort. */
static int snap_files_fatal(int r)
{
	return r == -ENOMEM || r == -EMFILE || r == -ENFILE;
}

/*
 * The current entry cannot be read (r: its errno, or 0 when why says it
 * all): it is left out with a warning, counted and named for the
 * snapshot record.  0, or < 0 when the walk must stop.
 */
static int snap_files_skip(struct snap_files *f, int r, const char *why)
{
	struct buf raw = BUF_INIT, msg = BUF_INIT;
	const char *detail = f->err.len ? (const char *)f->err.data
			     : r ? strerror(-r) : NULL;
	char *p;

	if (snap_files_fatal(r))
		return snap_files_error(f, r, why);
	buf_addf(&msg, ": %s%s%s", why, detail ? ": " : "",
		 detail ? detail : "");
	snap_files_warn(f, "skipped ", (const char *)msg.data);
	buf_release(&msg);
	buf_reset(&f->err);
	f->skipped++;
	if (f->nlisted >= SNAP_FILES_LISTED)
		return 0;
	if (snap_files_abs(f, &raw) < 0)
		return snap_files_error(f, -ENOMEM, "cannot store");
	p = buf_detach(&raw, NULL);
	if (strv_take(&f->listed, &f->nlisted, p) < 0)
		return snap_files_error(f, -ENOMEM, "cannot store");
	return 0;
}

size_t snap_files_skipped(const struct snap_files *f)
{
	return f->skipped;
}

/* The current entry is left out by the options (pattern or device). */
static int snap_files_exclude(struct snap_files *f)
{
	char *p;

	f->st.excluded++;
	if (f->nexcl >= SNAP_FILES_LISTED)
		return 0;
	p = strndup((const char *)f->path.data, f->path.len);
	if (!p || strv_take(&f->excl, &f->nexcl, p) < 0)
		return snap_files_error(f, -ENOMEM, "cannot store");
	return 0;
}

char *const *snap_files_excluded(const struct snap_files *f, size_t *n)
{
	*n = f->nexcl;
	return f->excl;
}

void snap_files_stats(const struct snap_files *f, struct snap_files_stats *s)
{
	*s = f->st;
}

char *const *snap_files_listed(const struct snap_files *f, size_t *n)
{
	*n = f->nlisted;
	return f->listed;
}

/* ---- the walk ------------------------------------------------------------ */

static void snap_files_meta(const struct stat *st, struct repo_entry_meta *m)
{
	m->mode = st->st_mode & 07777;
	m->mtime_ns = (int64_t)st->st_mtim.tv_sec * 1000000000 +
		      st->st_mtim.tv_nsec;
}

static int snap_files_name_cmp(const void *a, const void *b)
{
	const char *x = *(const char *const *)a, *y = *(const char *const *)b;

	return manifest_path_cmp(x, strlen(x), y, strlen(y));
}

/* All names in the directory fd (but . and ..), sorted into *v.  The fd
 * stays open (and ours). */
static int snap_files_names(int fd, char ***v, size_t *n)
{
	struct dirent *d;
	DIR *dir;
	int dfd = dup(fd), r = 0;

	if (dfd < 0)
		return -errno;
	dir = fdopendir(dfd);
	if (!dir) {
		r = -errno;
		close(dfd);
		return r;
	}
	for (;;) {
		errno = 0;
		d = readdir(dir);
		if (!d) {
			r = -errno;
			break;
		}
		if (!strcmp(d->d_name, ".") || !strcmp(d->d_name, ".."))
			continue;
		r = strv_push(v, n, d->d_name);
		if (r < 0)
			break;
	}
	closedir(dir);
	if (r == 0 && *n)
		qsort(*v, *n, sizeof(**v), snap_files_name_cmp);
	return r;
}

static int snap_files_entry(struct snap_files *f, int dfd, const char *name);

/* The directory entry of the current path (its contents come after). */
static int snap_files_put_dir(struct snap_files *f, const struct stat *st)
{
	struct repo_entry_meta m;
	int r;

	f->st.dirs++;
	if (f->dry)
		return 0;
	snap_files_meta(st, &m);
	r = repo_writer_dir(f->w, (const char *)f->path.data, &m);
	return r < 0 ? snap_files_error(f, r, "cannot store directory") : 0;
}

static int snap_files_dir(struct snap_files *f, int dfd, const char *name,
			  const struct stat *st0)
{
	struct stat st;
	size_t save = f->path.len, n = 0;
	char **v = NULL;
	int fd, r;

	if (f->have_repo && st0->st_dev == f->repo_dev &&
	    st0->st_ino == f->repo_ino) {
		snap_files_warn(f, "skipping ", ": it is the repository itself");
		return 0;
	}
	if (f->o.one_file_system && st0->st_dev != f->root_dev) {
		/* a mount point: kept (a restore recreates it), not entered */
		r = snap_files_exclude(f);
		return r < 0 ? r : snap_files_put_dir(f, st0);
	}
	fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return snap_files_skip(f, -errno, "cannot open directory");
	if (fstat(fd, &st) < 0) {
		r = snap_files_skip(f, -errno, "cannot stat directory");
		goto out;
	}
	r = snap_files_names(fd, &v, &n);
	if (r < 0) {
		r = snap_files_skip(f, r, "cannot list directory");
		goto out;
	}
	r = snap_files_put_dir(f, &st);
	if (r < 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		if (buf_addch(&f->path, '/') < 0 ||
		    buf_addstr(&f->path, v[i]) < 0) {
			r = snap_files_error(f, -ENOMEM, "cannot store");
			break;
		}
		r = snap_files_entry(f, fd, v[i]);
		buf_setlen(&f->path, save);
		if (r < 0)
			break;
	}
out:
	strv_free(v, n);
	close(fd);
	return r;
}

/* Nothing about the file moved while it was read. */
static int snap_files_same(const struct stat *a, const struct stat *b,
			   uint64_t nread)
{
	return a->st_size == b->st_size && (uint64_t)a->st_size == nread &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
	       a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
	       a->st_ctim.tv_sec == b->st_ctim.tv_sec &&
	       a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

/* The current file kept changing while it was read: it is stored as
 * last read, and said so. */
static void snap_files_changed(struct snap_files *f)
{
	struct buf msg = BUF_INIT;

	buf_addf(&msg, " kept changing while it was read (%d reads): stored"
		 " as last read, possibly inconsistent", SNAP_FILES_ATTEMPTS);
	snap_files_warn(f, "", (const char *)msg.data);
	buf_release(&msg);
}

/*
 * Reads the open regular file fd (st: its fstat) into a file entry,
 * again from the start while it changes under us.  0 (stored, or
 * skipped with a warning), or < 0 when the walk must stop.
 */
static int snap_files_read(struct snap_files *f, int fd, struct stat *st)
{
	const char *path = (const char *)f->path.data;
	struct repo_entry_meta m;
	struct stat after;
	uint64_t n;
	int r, e;

	for (int attempt = 1;; attempt++) {
		snap_files_meta(st, &m);
		r = repo_writer_file_begin(f->w, path, &m, REPO_CHUNK_GENERAL);
		if (r < 0)
			return snap_files_error(f, r, "cannot store");
		buf_reset(&f->err);
		r = repo_writer_file_read_fd(f->w, fd, &n, &f->err);
		if (r == 0 && fstat(fd, &after) < 0)
			r = -errno;
		if (r == 0 && (snap_files_same(st, &after, n) ||
			       attempt == SNAP_FILES_ATTEMPTS)) {
			int same = snap_files_same(st, &after, n);

			if (!same)
				snap_files_changed(f);
			r = repo_writer_file_end(f->w);
			if (r < 0)
				return snap_files_error(f, r, "cannot store");
			f->st.files++;
			f->st.bytes += n;
			/* only what was read whole and still is goes into
			 * the files cache */
			r = same ? snap_cache_note(f->cache, path, f->path.len,
						   &after) : 0;
			return r < 0 ? snap_files_error(f, r, "cannot store")
				     : 0;
		}
		/* a read error, or it changed: drop what was read */
		e = repo_writer_file_abandon(f->w);
		buf_reset(&f->err);
		if (e < 0) {	/* the writer's own failure, not the file's */
			buf_addstr(&f->err, repo_writer_error(f->w));
			return snap_files_error(f, e, "cannot store");
		}
		if (r < 0)
			return snap_files_skip(f, r, "cannot read");
		if (lseek(fd, 0, SEEK_SET) < 0)
			return snap_files_skip(f, -errno, "cannot read again");
		*st = after;
	}
}

/*
 * The files cache says the current file (lstat lst) is unchanged: its
 * entry is made of the chunks c[0..n).  0 when stored, 1 when it must be
 * read after all (the repository lacks a chunk), < 0 when the walk must
 * stop.
 */
static int snap_files_reuse(struct snap_files *f, const struct stat *lst,
			    const struct repo_chunkref *c, size_t n)
{
	const char *path = (const char *)f->path.data;
	struct repo_entry_meta m;
	int r = 0;

	if (!f->dry) {
		snap_files_meta(lst, &m);
		r = repo_writer_file_chunks(f->w, path, &m, c, n);
		/* the cache is a hint: the index has the last word */
		if (r == -ENOENT || r == -EINVAL)
			return 1;
		if (r == 0)
			r = repo_writer_file_end(f->w);
		if (r == 0)
			r = snap_cache_note(f->cache, path, f->path.len, lst);
		if (r < 0) {
			buf_reset(&f->err);
			if (r != -ENOMEM)
				buf_addstr(&f->err, repo_writer_error(f->w));
			return snap_files_error(f, r, "cannot store");
		}
	}
	f->st.files++;
	f->st.files_unchanged++;
	f->st.bytes += (uint64_t)lst->st_size;
	f->st.bytes_unchanged += (uint64_t)lst->st_size;
	return 0;
}

static int snap_files_file(struct snap_files *f, int dfd, const char *name,
			   const struct stat *lst)
{
	const struct repo_chunkref *c;
	struct stat st;
	size_t n;
	int fd, r;

	if (!f->o.no_cache &&
	    snap_cache_lookup(f->cache, (const char *)f->path.data,
			      f->path.len, lst, &c, &n) == 1) {
		r = snap_files_reuse(f, lst, c, n);
		if (r <= 0)
			return r;
	}

	/* O_NOATIME keeps backups from disturbing atimes, but is only
	 * allowed on our own files; O_NONBLOCK guards against the file
	 * having been replaced by a FIFO since the lstat. */
	fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK |
		    O_NOATIME);
	if (fd < 0 && errno == EPERM)
		fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC |
			    O_NONBLOCK);
	if (fd < 0)
		return snap_files_skip(f, -errno, "cannot open");
	if (fstat(fd, &st) < 0)
		r = snap_files_skip(f, -errno, "cannot stat");
	else if (!S_ISREG(st.st_mode))
		r = snap_files_skip(f, 0, "it is no longer a regular file");
	else if (f->dry) {	/* it can be opened: that is all we ask */
		f->st.files++;
		f->st.bytes += (uint64_t)st.st_size;
		r = 0;
	} else
		r = snap_files_read(f, fd, &st);
	close(fd);
	return r;
}

static int snap_files_symlink(struct snap_files *f, int dfd, const char *name,
			      const struct stat *st)
{
	struct repo_entry_meta m;
	struct buf t = BUF_INIT;
	size_t want = st->st_size > 0 ? (size_t)st->st_size + 1 : 256;
	int r;

	for (;;) {
		ssize_t n;

		r = buf_grow(&t, want);
		if (r < 0)
			break;
		n = readlinkat(dfd, name, (char *)t.data, t.cap - 1);
		if (n < 0) {
			r = -errno;
			break;
		}
		if ((size_t)n < t.cap - 1) {
			buf_setlen(&t, (size_t)n);
			break;
		}
		if (t.cap > MANIFEST_MAX_TARGET + 1) {
			r = -ENAMETOOLONG;
			break;
		}
		want = t.cap * 2;
	}
	if (r < 0) {
		r = snap_files_skip(f, r, "cannot read symlink");
		goto out;
	}
	f->st.symlinks++;
	snap_files_meta(st, &m);
	r = f->dry ? 0 : repo_writer_symlink(f->w, (const char *)f->path.data,
					     (const char *)t.data, &m);
	if (r < 0)
		snap_files_error(f, r, "cannot store symlink");
out:
	buf_release(&t);
	return r;
}

static int snap_files_entry(struct snap_files *f, int dfd, const char *name)
{
	struct stat st;
	int r = 0;

	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return snap_files_skip(f, -errno, "cannot stat");
	if (f->top) {
		f->root_dev = st.st_dev;
		f->top = 0;
	}
	r = exclude_match(f->o.exclude, (const char *)f->path.data,
			  f->path.len, S_ISDIR(st.st_mode));
	if (r != 0)
		return r < 0 ? snap_files_error(f, r, "cannot store")
			     : snap_files_exclude(f);
	if (f->o.one_file_system && st.st_dev != f->root_dev &&
	    !S_ISDIR(st.st_mode))
		return snap_files_exclude(f);
	switch (st.st_mode & S_IFMT) {
	case S_IFREG:
		r = snap_files_file(f, dfd, name, &st);
		break;
	case S_IFDIR:
		r = snap_files_dir(f, dfd, name, &st);
		break;
	case S_IFLNK:
		r = snap_files_symlink(f, dfd, name, &st);
		break;
	default:
		/* not data: left out on purpose, the snapshot is whole */
		snap_files_warn(f, S_ISSOCK(st.st_mode) ? "skipping socket " :
				S_ISFIFO(st.st_mode) ? "skipping fifo " :
				S_ISCHR(st.st_mode) ? "skipping character device " :
				S_ISBLK(st.st_mode) ? "skipping block device " :
				"skipping special file ", "");
		break;
	}
	snap_files_progress(f);
	return r;
}

/* ---- the PATHs ----------------------------------------------------------- */

static int snap_files_item_cmp(const void *a, const void *b)
{
	const struct snap_item *x = a, *y = b;

	return manifest_path_cmp(x->base, strlen(x->base), y->base,
				 strlen(y->base));
}

int snap_files_resolve(struct snap_files *f, char **paths, size_t n)
{
	int e;

	f->items = calloc(n ? n : 1, sizeof(*f->items));
	if (!f->items) {
		cli_error(f->c, "out of memory");
		return CLI_EXIT_ERROR;
	}
	f->n = n;
	for (size_t i = 0; i < n; i++) {
		f->items[i].arg = paths[i];
		e = snap_item_resolve(f->c, &f->items[i]);
		if (e == -ENOMEM)
			cli_error(f->c, "out of memory");
		if (e < 0)
			return e == -EINVAL ? CLI_EXIT_USAGE : CLI_EXIT_ERROR;
	}
	qsort(f->items, n, sizeof(*f->items), snap_files_item_cmp);
	for (size_t i = 0; i + 1 < n; i++)
		if (!strcmp(f->items[i].base, f->items[i + 1].base))
			return cli_usage_error(f->c, "'%s' and '%s' would both be stored as '%s'",
					       f->items[i].arg,
					       f->items[i + 1].arg,
					       f->items[i].base);
	return CLI_EXIT_OK;
}

size_t snap_files_count(const struct snap_files *f)
{
	return f->n;
}

const struct snap_item *snap_files_item(const struct snap_files *f, size_t i)
{
	return &f->items[i];
}

void snap_files_configure(struct snap_files *f,
			  const struct snap_files_opts *o)
{
	f->o = *o;
}

int snap_files_start(struct snap_files *f, struct repo *r,
		     struct repo_writer *w, double start)
{
	struct timespec now;
	struct stat rst;

	if (stat(repo_path(r), &rst) == 0) {
		f->have_repo = 1;
		f->repo_dev = rst.st_dev;
		f->repo_ino = rst.st_ino;
	}
	f->w = w;
	f->dry = !w;
	f->start = start;
	/* before any file is read: what changes after may not be cached */
	clock_gettime(CLOCK_REALTIME, &now);
	f->cache = snap_cache_new(f->c, r, (int64_t)now.tv_sec * 1000000000 +
				  now.tv_nsec, !f->o.no_cache, !f->dry);
	if (!f->cache) {
		cli_error(f->c, "out of memory");
		return CLI_EXIT_ERROR;
	}
	f->progress = w && isatty(2);
	if (f->progress)
		repo_writer_set_progress(w, snap_files_progress_cb, f);
	return CLI_EXIT_OK;
}

void snap_files_cache_save(struct snap_files *f, const char *id)
{
	snap_cache_save(f->cache, id);
}

int snap_files_walk(struct snap_files *f, size_t from, size_t to)
{
	int r = 0;

	for (size_t i = from; i < to && r == 0; i++) {
		/* O_PATH: looking up the PATH needs no right to list its
		 * directory */
		int dfd = open(f->items[i].parent, O_PATH | O_DIRECTORY |
			       O_CLOEXEC);

		f->parent = f->items[i].parent;
		buf_reset(&f->path);
		if (buf_addstr(&f->path, f->items[i].base) < 0 ||
		    snap_cache_root(f->cache, f->items[i].parent,
				    f->items[i].base) < 0)
			return snap_files_error(f, -ENOMEM, "cannot store");
		f->top = 1;
		if (dfd < 0) {
			r = snap_files_skip(f, -errno,
					    "cannot open its directory");
			continue;
		}
		r = snap_files_entry(f, dfd, f->items[i].base);
		close(dfd);
	}
	return r;
}

int snap_files_stdin(struct snap_files *f, const char *name)
{
	struct repo_entry_meta m;
	struct timespec now;
	int r;

	clock_gettime(CLOCK_REALTIME, &now);
	m.mode = 0644;
	m.mtime_ns = (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
	f->parent = "";
	buf_reset(&f->path);
	buf_addstr(&f->path, name);
	r = repo_writer_file_fd(f->w, name, &m, REPO_CHUNK_GENERAL, 0, &f->err);
	if (r < 0) {
		snap_files_progress_clear(f);
		cli_error(f->c, "cannot store standard input: %s",
			  f->err.len ? (const char *)f->err.data : strerror(-r));
	}
	return r;
}

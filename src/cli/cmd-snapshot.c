/*
 * cmd-snapshot: `vault snapshot PATH...` walks the given files and
 * directories and stores them as one snapshot; `vault snapshot -` stores
 * standard input as one file.
 *
 * Each PATH is stored under its base name at the top level.  The walk
 * uses lstat semantics (symlinks are stored, never followed), opens
 * every directory relative to its parent's fd with O_NOFOLLOW (so a
 * directory swapped for a symlink mid-walk cannot redirect it), and
 * sorts each directory's names so entries reach the writer in
 * manifest_path_cmp order: pre-order with bytewise-sorted names is
 * exactly that order, because '/' sorts before every other byte.
 * Any unreadable entry fails the whole snapshot; nothing is committed.
 *
 * With --db (src/cli/snap-db.c) a PostgreSQL database is captured as db/ in
 * the same snapshot; a Supabase project's Edge Functions as functions/ and
 * its Storage buckets and objects as storage/ (src/cli/snap-sb.c, over
 * src/supabase/snap-functions.c and snap-storage.c).  Each such root is
 * emitted at its sorted place among the PATHs.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "repo.h"
#include "snap-db.h"
#include "snap-functions.h"
#include "snap-sb.h"
#include "snap-storage.h"

const char cmd_snapshot_usage[] =
	"usage: vault snapshot [--tag TAG]... [--time TIME] [--json] PATH...\n"
	"       vault snapshot [--db URL] [database options] [options] [PATH...]\n"
	"       vault snapshot [--stdin-name NAME] [options] -\n"
	"\n"
	"Stores each PATH (file, directory or symlink) under its base name\n"
	"as a new snapshot; '-' stores standard input as one file.  A\n"
	"PostgreSQL database (--db, or with no PATH the URL from the\n"
	"environment or .env) goes under db/ in the same snapshot, read at\n"
	"one instant.  With no PATH (or with --env-file / --storage-url), a\n"
	"Supabase project's Storage (SUPABASE_URL + SUPABASE_SERVICE_ROLE_KEY)\n"
	"goes under storage/ and its Edge Functions (SUPABASE_ACCESS_TOKEN +\n"
	"SUPABASE_PROJECT_REF) under functions/.\n"
	"\n"
	"  -t, --tag TAG           tag the snapshot (repeatable)\n"
	"      --time TIME         record TIME (ISO 8601, UTC unless a zone is\n"
	"                          given) instead of now\n"
	"      --stdin-name NAME   file name for '-' (default: stdin)\n"
	"      --json              print the summary as JSON\n"
	"  -h, --help              show this help\n"
	"\n"
	SNAP_DB_USAGE
	SNAP_SB_USAGE;

enum {
	SNAP_OPT_TIME = CLI_OPT_FIRST_VERB,
	SNAP_OPT_STDIN_NAME,
	SNAP_OPT_JSON,
};

/* The roots a project contributes besides the PATHs, in manifest order. */
enum { SNAP_ROOT_DB, SNAP_ROOT_FUNCTIONS, SNAP_ROOT_STORAGE, SNAP_NROOTS };
static const char *const snap_root_names[SNAP_NROOTS] = {
	SNAP_DB_ROOT, SNAP_FUNCTIONS_ROOT, SNAP_STORAGE_ROOT,
};

/* Progress is redrawn at most this often (seconds). */
#define SNAP_PROGRESS_EVERY 0.25

struct snap_item {
	const char *arg;	/* as given */
	char *parent;		/* absolute, symlinks resolved */
	char *base;		/* name at the snapshot's top level */
};

struct snap {
	struct cli *c;
	struct repo_writer *w;
	struct buf path;	/* repository path of the current entry */
	struct buf err;
	const char *parent;	/* of the current item, for messages */
	int progress;
	double start, last;
	int have_repo;
	dev_t repo_dev;
	ino_t repo_ino;
};

/* "/abs/parent/<repository path>" for messages, quoted for a terminal. */
static const char *snap_where(struct snap *s, struct buf *out)
{
	buf_reset(out);
	cli_quote(out, s->parent, strlen(s->parent));
	if (out->len && out->data[out->len - 1] != '/')
		buf_addch(out, '/');
	cli_quote(out, (const char *)s->path.data, s->path.len);
	return (const char *)out->data;
}

static void snap_progress_clear(struct snap *s)
{
	if (s->progress)
		cli_write_all(2, "\r\033[K", 4);
}

static void snap_progress(struct snap *s)
{
	struct repo_totals t;
	char rd[32], add[32];
	struct buf line = BUF_INIT;
	double now;

	if (!s->progress)
		return;
	now = cli_now();
	if (now - s->last < SNAP_PROGRESS_EVERY)
		return;
	s->last = now;
	repo_writer_totals(s->w, &t);
	cli_human_size(t.bytes_read, rd, sizeof(rd));
	cli_human_size(t.bytes_added, add, sizeof(add));
	buf_addf(&line, "\r\033[K%llu entries, %s read, %s new, %.0fs",
		 (unsigned long long)t.entries, rd, add, now - s->start);
	cli_write_all(2, line.data, line.len);
	buf_release(&line);
}

/* Called by the writer between reads of one file, so the line keeps
 * moving while a large file is stored; snap_progress throttles. */
static void snap_progress_cb(void *arg)
{
	snap_progress(arg);
}

static int snap_error(struct snap *s, int r, const char *what)
{
	struct buf where = BUF_INIT;

	snap_progress_clear(s);
	snap_where(s, &where);
	if (s->err.len)
		cli_error(s->c, "%s %s: %s", what, (const char *)where.data,
			  (const char *)s->err.data);
	else
		cli_error(s->c, "%s %s: %s", what, (const char *)where.data,
			  strerror(-r));
	buf_release(&where);
	return r;
}

static void snap_meta(const struct stat *st, struct repo_entry_meta *m)
{
	m->mode = st->st_mode & 07777;
	m->mtime_ns = (int64_t)st->st_mtim.tv_sec * 1000000000 +
		      st->st_mtim.tv_nsec;
}

static int snap_name_cmp(const void *a, const void *b)
{
	const char *x = *(const char *const *)a, *y = *(const char *const *)b;

	return manifest_path_cmp(x, strlen(x), y, strlen(y));
}

static void snap_names_free(struct buf *names)
{
	char **v = (char **)names->data;

	for (size_t i = 0; i < names->len / sizeof(char *); i++)
		free(v[i]);
	buf_release(names);
}

/* All names in the directory fd (but . and ..), sorted.  The fd stays
 * open (and ours). */
static int snap_read_names(int fd, struct buf *names)
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
		char *name;

		errno = 0;
		d = readdir(dir);
		if (!d) {
			r = -errno;
			break;
		}
		if (!strcmp(d->d_name, ".") || !strcmp(d->d_name, ".."))
			continue;
		name = strdup(d->d_name);
		if (!name || buf_add(names, &name, sizeof(name)) < 0) {
			free(name);
			r = -ENOMEM;
			break;
		}
	}
	closedir(dir);
	if (r == 0)
		qsort(names->data, names->len / sizeof(char *), sizeof(char *),
		      snap_name_cmp);
	return r;
}

static int snap_entry(struct snap *s, int dfd, const char *name);

static int snap_dir(struct snap *s, int dfd, const char *name,
		    const struct stat *st0)
{
	struct repo_entry_meta m;
	struct buf names = BUF_INIT;
	struct stat st;
	size_t save = s->path.len;
	char **v;
	int fd, r;

	if (s->have_repo && st0->st_dev == s->repo_dev &&
	    st0->st_ino == s->repo_ino) {
		struct buf where = BUF_INIT;

		snap_progress_clear(s);
		cli_warn(s->c, "skipping %s: it is the repository itself",
			 snap_where(s, &where));
		buf_release(&where);
		return 0;
	}
	fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return snap_error(s, -errno, "cannot open directory");
	if (fstat(fd, &st) < 0) {
		r = snap_error(s, -errno, "cannot stat directory");
		goto out;
	}
	snap_meta(&st, &m);
	r = repo_writer_dir(s->w, (const char *)s->path.data, &m);
	if (r < 0) {
		snap_error(s, r, "cannot store directory");
		goto out;
	}
	r = snap_read_names(fd, &names);
	if (r < 0) {
		snap_error(s, r, "cannot read directory");
		goto out;
	}
	v = (char **)names.data;
	for (size_t i = 0; i < names.len / sizeof(char *); i++) {
		if (buf_addch(&s->path, '/') < 0 ||
		    buf_addstr(&s->path, v[i]) < 0) {
			r = snap_error(s, -ENOMEM, "cannot store");
			break;
		}
		r = snap_entry(s, fd, v[i]);
		buf_setlen(&s->path, save);
		if (r < 0)
			break;
	}
out:
	snap_names_free(&names);
	close(fd);
	return r;
}

static int snap_file(struct snap *s, int dfd, const char *name)
{
	struct repo_entry_meta m;
	struct stat st;
	int fd, r;

	/* O_NOATIME keeps backups from disturbing atimes, but is only
	 * allowed on our own files; O_NONBLOCK guards against the file
	 * having been replaced by a FIFO since the lstat. */
	fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK |
		    O_NOATIME);
	if (fd < 0 && errno == EPERM)
		fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC |
			    O_NONBLOCK);
	if (fd < 0)
		return snap_error(s, -errno, "cannot open");
	if (fstat(fd, &st) < 0) {
		r = snap_error(s, -errno, "cannot stat");
		close(fd);
		return r;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return snap_error(s, -EAGAIN, "changed while reading (no longer a regular file)");
	}
	snap_meta(&st, &m);
	buf_reset(&s->err);
	r = repo_writer_file_fd(s->w, (const char *)s->path.data, &m,
				REPO_CHUNK_GENERAL, fd, &s->err);
	close(fd);
	if (r < 0)
		snap_error(s, r, "cannot store");
	buf_reset(&s->err);
	return r;
}

static int snap_symlink(struct snap *s, int dfd, const char *name,
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
		snap_error(s, r, "cannot read symlink");
		goto out;
	}
	snap_meta(st, &m);
	r = repo_writer_symlink(s->w, (const char *)s->path.data,
				(const char *)t.data, &m);
	if (r < 0)
		snap_error(s, r, "cannot store symlink");
out:
	buf_release(&t);
	return r;
}

static int snap_entry(struct snap *s, int dfd, const char *name)
{
	struct buf where = BUF_INIT;
	const char *kind;
	struct stat st;
	int r = 0;

	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return snap_error(s, -errno, "cannot stat");
	switch (st.st_mode & S_IFMT) {
	case S_IFREG:
		r = snap_file(s, dfd, name);
		break;
	case S_IFDIR:
		r = snap_dir(s, dfd, name, &st);
		break;
	case S_IFLNK:
		r = snap_symlink(s, dfd, name, &st);
		break;
	default:
		kind = S_ISSOCK(st.st_mode) ? "socket" :
		       S_ISFIFO(st.st_mode) ? "fifo" :
		       S_ISCHR(st.st_mode) ? "character device" :
		       S_ISBLK(st.st_mode) ? "block device" : "special file";
		snap_progress_clear(s);
		cli_warn(s->c, "skipping %s %s", kind, snap_where(s, &where));
		buf_release(&where);
		s->last = 0;
		break;
	}
	snap_progress(s);
	return r;
}

/* Splits a PATH argument into its resolved parent and base name. */
static int snap_item_resolve(struct cli *c, struct snap_item *it)
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
	/* fail before the repository is opened and locked */
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

static int snap_item_cmp(const void *a, const void *b)
{
	const struct snap_item *x = a, *y = b;

	return manifest_path_cmp(x->base, strlen(x->base), y->base,
				 strlen(y->base));
}

/* Walks items[from..to). */
static int snap_walk(struct snap *s, struct snap_item *items, size_t from,
		     size_t to)
{
	int r = 0;

	for (size_t i = from; i < to && r == 0; i++) {
		int dfd = open(items[i].parent, O_RDONLY | O_DIRECTORY |
			       O_CLOEXEC);

		s->parent = items[i].parent;
		buf_reset(&s->path);
		buf_addstr(&s->path, items[i].base);
		if (dfd < 0) {
			int e = errno;

			cli_error(s->c, "cannot open directory %s: %s",
				  items[i].parent, strerror(e));
			return -e;
		}
		r = snap_entry(s, dfd, items[i].base);
		close(dfd);
	}
	return r;
}

static int snap_stdin(struct snap *s, const char *name)
{
	struct repo_entry_meta m;
	struct timespec now;
	int r;

	clock_gettime(CLOCK_REALTIME, &now);
	m.mode = 0644;
	m.mtime_ns = (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
	s->parent = "";
	buf_reset(&s->path);
	buf_addstr(&s->path, name);
	r = repo_writer_file_fd(s->w, name, &m, REPO_CHUNK_GENERAL, 0, &s->err);
	if (r < 0) {
		snap_progress_clear(s);
		cli_error(s->c, "cannot store standard input: %s",
			  s->err.len ? (const char *)s->err.data : strerror(-r));
	}
	return r;
}

static void snap_print(struct cli *c, struct repo *r, const char *id,
		       const struct repo_totals *t, double secs, int json,
		       const char *source, const char *const *tags,
		       size_t ntags, const struct snap_db *db,
		       const struct snap_sb *sb)
{
	struct repo_snapinfo info;
	char when[40], rd[32], add[32], st[32], ratio[32], dur[32];
	int have = repo_snapshot_info(r, id, &info, NULL) == 0;

	when[0] = '\0';
	if (have)
		cli_time_format(info.time, when, sizeof(when));
	if (json) {
		struct cli_json j;

		cli_json_init(&j);
		cli_json_begin_object(&j, NULL);
		cli_json_str(&j, "id", id);
		cli_json_strn(&j, "short_id", id, 8);
		if (have) {
			cli_json_str(&j, "time", when);
			cli_json_i64(&j, "unix_time", info.time);
			cli_json_str(&j, "hostname", info.hostname);
		}
		cli_json_str(&j, "source", source);
		cli_json_begin_array(&j, "tags");
		for (size_t i = 0; i < ntags; i++)
			cli_json_str(&j, NULL, tags[i]);
		cli_json_end_array(&j);
		cli_json_u64(&j, "entries", t->entries);
		cli_json_u64(&j, "bytes_read", t->bytes_read);
		cli_json_u64(&j, "bytes_added", t->bytes_added);
		cli_json_u64(&j, "bytes_stored", t->bytes_stored);
		cli_json_u64(&j, "chunks", t->chunks);
		cli_json_u64(&j, "chunks_new", t->chunks_new);
		if (t->bytes_added)
			cli_json_double(&j, "dedup_ratio",
					(double)t->bytes_read / (double)t->bytes_added);
		else
			cli_json_null(&j, "dedup_ratio");
		cli_json_double(&j, "duration", secs);
		if (db)
			snap_db_json(db, &j);
		snap_sb_json(sb, &j);
		cli_json_end_object(&j);
		if (cli_json_finish(&j) < 0)
			cli_error(c, "cannot write to standard output");
	} else {
		cli_human_size(t->bytes_read, rd, sizeof(rd));
		cli_human_size(t->bytes_added, add, sizeof(add));
		cli_human_size(t->bytes_stored, st, sizeof(st));
		cli_ratio(t->bytes_read, t->bytes_added, ratio, sizeof(ratio));
		cli_human_duration(secs, dur, sizeof(dur));
		printf("snapshot %.8s saved%s%s\n", id, have ? " at " : "", when);
		printf("  entries:     %llu\n", (unsigned long long)t->entries);
		printf("  bytes read:  %s\n", rd);
		printf("  bytes added: %s (%s stored)\n", add, st);
		printf("  dedup ratio: %s\n", ratio);
		printf("  duration:    %s\n", dur);
		printf("  id:          %s\n", id);
		if (db)
			snap_db_print(db);
		snap_sb_print(sb);
	}
	if (have)
		repo_snapinfo_release(&info);
}

/* Database entries are dated the snapshot's time (--time or now). */
static int64_t snap_entry_time(int64_t when)
{
	struct timespec now;

	if (when)
		return when * 1000000000;
	clock_gettime(CLOCK_REALTIME, &now);
	return (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
}

static int snap_tag_ok(const char *t)
{
	if (!*t)
		return 0;
	for (; *t; t++)
		if ((unsigned char)*t < 0x20 || *t == 0x7f)
			return 0;
	return 1;
}

int cmd_snapshot(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "tag", required_argument, NULL, 't' },
		{ "time", required_argument, NULL, SNAP_OPT_TIME },
		{ "stdin-name", required_argument, NULL, SNAP_OPT_STDIN_NAME },
		{ "json", no_argument, NULL, SNAP_OPT_JSON },
		SNAP_SB_OPTIONS,
		SNAP_DB_OPTIONS,
		CLI_GLOBAL_OPTIONS
	};
	struct buf tags = BUF_INIT, source = BUF_INIT, err = BUF_INIT,
		   meta = BUF_INIT;
	struct snap_db *db = snap_db_new();
	struct snap_sb *sb = snap_sb_new();
	int want[SNAP_NROOTS];
	size_t root_at[SNAP_NROOTS];
	struct snap_item *items = NULL;
	struct repo_commit_opts co;
	struct repo_totals t;
	struct repo *r = NULL;
	struct snap s;
	struct stat rst;
	const char *stdin_name = NULL;
	char host[HOST_NAME_MAX + 1], id[65];
	size_t n = 0;
	int64_t when = 0;
	int o, e, json = 0, use_stdin = 0, ret = CLI_EXIT_ERROR;

	memset(&s, 0, sizeof(s));
	memset(want, 0, sizeof(want));
	memset(root_at, 0, sizeof(root_at));
	buf_init(&s.path, 0);
	buf_init(&s.err, 0);
	if (!db || !sb)
		goto oom;
	while ((o = cli_getopt(c, argc, argv, "t:", opts)) != CLI_OPT_END) {
		switch (o) {
		case 't':
			if (!snap_tag_ok(optarg)) {
				ret = cli_usage_error(c, "a tag must be non-empty and free of control characters");
				goto out;
			}
			if (buf_add(&tags, &optarg, sizeof(optarg)) < 0)
				goto oom;
			break;
		case SNAP_OPT_TIME:
			if (cli_time_parse(optarg, &when) < 0 || when <= 0) {
				ret = cli_usage_error(c, "--time: '%s' is not an ISO 8601 time after 1970 (e.g. 2024-05-01T12:00:00Z)",
						      optarg);
				goto out;
			}
			break;
		case SNAP_OPT_STDIN_NAME:
			stdin_name = optarg;
			break;
		case SNAP_OPT_JSON:
			json = 1;
			break;
		case CLI_OPT_HELP:
			ret = CLI_EXIT_OK;
			goto out;
		default:
			if (snap_sb_option(sb, o, optarg) == 1)
				break;
			e = snap_db_option(db, c, o, optarg);
			if (e == 1)
				break;
			ret = e ? e : CLI_EXIT_USAGE;
			goto out;
		}
	}
	n = (size_t)(argc - optind);
	for (int i = optind; i < argc; i++) {
		if (!strcmp(argv[i], "-")) {
			use_stdin = 1;
			if (n > 1) {
				ret = cli_usage_error(c, "'-' (standard input) cannot be combined with other PATHs");
				goto out;
			}
		}
	}
	/* the Supabase project's other parts */
	ret = snap_sb_resolve(sb, c, db, n, use_stdin);
	if (ret != CLI_EXIT_OK)
		goto out;
	want[SNAP_ROOT_STORAGE] = snap_sb_want_storage(sb);
	want[SNAP_ROOT_FUNCTIONS] = snap_sb_want_functions(sb);
	ret = snap_db_resolve(db, c, n, use_stdin);
	if (ret != CLI_EXIT_OK)
		goto out;
	ret = CLI_EXIT_ERROR;
	if (stdin_name && !use_stdin) {
		ret = cli_usage_error(c, "--stdin-name only applies to '-' (standard input)");
		goto out;
	}
	if (use_stdin) {
		if (!stdin_name)
			stdin_name = "stdin";
		if (!*stdin_name || strchr(stdin_name, '/') ||
		    !strcmp(stdin_name, ".") || !strcmp(stdin_name, "..")) {
			ret = cli_usage_error(c, "--stdin-name must be a plain file name (no '/', not '.' or '..')");
			goto out;
		}
	}
	if (gethostname(host, sizeof(host)) < 0)
		snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	buf_addf(&source, "%s:", host);
	if (use_stdin) {
		buf_addstr(&source, "-");
	} else {
		items = calloc(n, sizeof(*items));
		if (!items)
			goto oom;
		for (size_t i = 0; i < n; i++) {
			items[i].arg = argv[optind + (int)i];
			e = snap_item_resolve(c, &items[i]);
			if (e < 0) {
				ret = e == -EINVAL ? CLI_EXIT_USAGE : CLI_EXIT_ERROR;
				if (e == -ENOMEM)
					goto oom;
				goto out;
			}
		}
		qsort(items, n, sizeof(*items), snap_item_cmp);
		for (size_t i = 0; i + 1 < n; i++) {
			if (!strcmp(items[i].base, items[i + 1].base)) {
				ret = cli_usage_error(c, "'%s' and '%s' would both be stored as '%s'",
						      items[i].arg, items[i + 1].arg,
						      items[i].base);
				goto out;
			}
		}
		want[SNAP_ROOT_DB] = snap_db_wanted(db);
		for (size_t i = 0; i < n; i++) {
			for (int k = 0; k < SNAP_NROOTS; k++) {
				const char *rn = snap_root_names[k];

				if (!want[k])
					continue;
				if (!strcmp(items[i].base, rn)) {
					ret = cli_usage_error(c, "'%s' would be stored as '%s', where the %s goes",
							      items[i].arg, rn,
							      k == SNAP_ROOT_DB ? "database"
							      : k == SNAP_ROOT_STORAGE ? "project's Storage"
							      : "project's Edge Functions");
					goto out;
				}
				/* each root goes between the PATHs that
				 * sort around it */
				if (manifest_path_cmp(items[i].base,
						      strlen(items[i].base),
						      rn, strlen(rn)) < 0)
					root_at[k] = i + 1;
			}
		}
	}

	if (cli_open(c, &r, 1))
		goto out;
	s.start = cli_now();
	want[SNAP_ROOT_DB] = snap_db_wanted(db);
	if (want[SNAP_ROOT_DB]) {
		e = snap_db_open(db, c, isatty(2));
		if (e) {
			ret = e;
			goto out;
		}
		buf_addf(&source, "%s%s", snap_db_source(db), n ? " " : "");
	}
	e = snap_sb_open(sb, c, r);
	if (e) {
		ret = e;
		goto out;
	}
	if (want[SNAP_ROOT_STORAGE])
		buf_addf(&source, "%s%s%s", want[SNAP_ROOT_DB] && !n ? " " : "",
			 snap_sb_source(sb), n ? " " : "");
	for (size_t i = 0; !use_stdin && i < n; i++)
		buf_addf(&source, "%s%s%s%s", i ? " " : "", items[i].parent,
			 strcmp(items[i].parent, "/") ? "/" : "",
			 items[i].base);
	if (stat(repo_path(r), &rst) == 0) {
		s.have_repo = 1;
		s.repo_dev = rst.st_dev;
		s.repo_ino = rst.st_ino;
	}
	s.c = c;
	s.progress = isatty(2);
	e = repo_writer_new(r, &s.w, &err);
	if (e < 0) {
		cli_fail(c, e, &err, "cannot start a snapshot");
		goto out;
	}
	if (s.progress)
		repo_writer_set_progress(s.w, snap_progress_cb, &s);
	if (use_stdin) {
		e = snap_stdin(&s, stdin_name);
	} else {
		size_t done = 0;

		for (int k = 0; k < SNAP_NROOTS && e == 0; k++) {
			if (!want[k])
				continue;
			e = snap_walk(&s, items, done, root_at[k]);
			done = root_at[k];
			if (e < 0)
				break;
			snap_progress_clear(&s);
			if (k == SNAP_ROOT_DB)
				e = snap_db_emit(db, c, s.w, snap_entry_time(when));
			else if (k == SNAP_ROOT_FUNCTIONS)
				e = snap_sb_emit_functions(sb, c, s.w,
							   snap_entry_time(when));
			else
				e = snap_sb_emit_storage(sb, c, s.w,
							 snap_entry_time(when));
			e = e ? -EIO : 0;
		}
		if (e == 0)
			e = snap_walk(&s, items, done, n);
	}
	if (e < 0) {
		cli_error(c, "snapshot abandoned, nothing was committed");
		goto out;
	}
	if (want[SNAP_ROOT_DB] && snap_db_meta(db, &meta) < 0)
		goto oom;
	if (snap_sb_meta(sb, &meta) < 0)
		goto oom;
	if (snap_sb_partial(sb)) {
		static const char *const partial = "partial";

		if (buf_add(&tags, &partial, sizeof(partial)) < 0)
			goto oom;
	}
	memset(&co, 0, sizeof(co));
	co.time = when;
	co.source = (const char *)source.data;
	co.tags = (const char *const *)tags.data;
	co.ntags = tags.len / sizeof(char *);
	co.meta_json = meta.len ? (const char *)meta.data : NULL;
	memset(&t, 0, sizeof(t));
	e = repo_writer_commit(s.w, &co, id, &t, &err);
	snap_progress_clear(&s);
	if (e < 0) {
		cli_fail(c, e, &err, "cannot commit the snapshot");
		goto out;
	}
	snap_print(c, r, id, &t, cli_now() - s.start, json,
		   (const char *)source.data, co.tags, co.ntags,
		   want[SNAP_ROOT_DB] ? db : NULL, sb);
	ret = CLI_EXIT_OK;
	goto out;
oom:
	cli_error(c, "out of memory");
	ret = CLI_EXIT_ERROR;
out:
	repo_writer_free(s.w);
	repo_free(r);
	for (size_t i = 0; items && i < n; i++) {
		free(items[i].parent);
		free(items[i].base);
	}
	free(items);
	snap_db_free(db);
	snap_sb_free(sb);
	buf_release(&meta);
	buf_release(&tags);
	buf_release(&source);
	buf_release(&err);
	buf_release(&s.path);
	buf_release(&s.err);
	return ret;
}

/*
 * cmd-snapshot: `vault snapshot PATH...` walks the given files and
 * directories and stores them as one snapshot; `vault snapshot -` stores
 * standard input as one file.
 *
 * The PATHs are resolved and walked by src/cli/snap-files.c.  A file or
 * directory that cannot be read is skipped with a warning, and the
 * snapshot is committed as partial: tagged "partial", with a "partial"
 * member in its metadata (formats/snapshot.md), and exit status 3
 * (CLI_EXIT_DAMAGE); Storage objects left out with --allow-partial count
 * the same way.  A repository failure, a PATH missing at the start or a
 * read error on standard input commits nothing.
 *
 * With --db (src/cli/snap-db.c) a PostgreSQL database is captured as db/ in
 * the same snapshot; a Supabase project's Edge Functions as functions/ and
 * its Storage buckets and objects as storage/ (src/cli/snap-sb.c, over
 * src/supabase/snap-functions.c and snap-storage.c).  Each such root is
 * emitted at its sorted place among the PATHs.
 *
 * --exclude, --exclude-file and --one-file-system shape the walk of the
 * PATHs (src/files/exclude.h); a files cache (src/cli/snap-cache.c)
 * spares reading files unchanged since the last snapshot of the same
 * PATH.  --dry-run walks the PATHs with the repository opened for
 * reading only (no writer lock, nothing written, not even the files
 * cache) and reports what would be stored.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "exclude.h"
#include "repo.h"
#include "snap-db.h"
#include "snap-files.h"
#include "snap-functions.h"
#include "snap-sb.h"
#include "snap-storage.h"

const char cmd_snapshot_usage[] =
	"usage: vault snapshot [--tag TAG]... [--time TIME] [--json]\n"
	"                      [--exclude PATTERN]... [--exclude-file FILE]...\n"
	"                      [--one-file-system] [--dry-run] PATH...\n"
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
	"A file or directory that cannot be read is skipped with a warning;\n"
	"the snapshot is then committed as partial (tag 'partial') and vault\n"
	"exits with status 3.\n"	"\n"
	"A file whose size, mtime, ctime and inode are those the last\n"
	"snapshot of the same PATH recorded is not read again: its stored\n"
	"chunks are reused (the files cache, in $VAULT_CACHE_DIR,\n"
	"$XDG_CACHE_HOME/vault or ~/.cache/vault).\n"
	"\n"
	"  -t, --tag TAG           tag the snapshot (repeatable)\n"
	"  -e, --exclude PATTERN   leave out what PATTERN matches (repeatable;\n"
	"                          '*' '?' '[...]' within a name, '**' across\n"
	"                          directories; with a '/' it matches the path\n"
	"                          from the snapshot's top, else any name)\n"
	"      --exclude-file FILE patterns from FILE, one a line ('#' comments)\n"
	"  -x, --one-file-system   do not enter mount points below each PATH\n"
	"                          (they are stored as empty directories)\n"
	"  -n, --dry-run           walk the PATHs and report what would be\n"
	"                          stored; nothing is written\n"
	"      --no-files-cache    read every file, also those the files cache\n"
	"                          says are unchanged\n"
	"      --time TIME         record TIME (ISO 8601, UTC unless a zone is\n"
	"                          given) instead of now\n"
	"      --stdin-name NAME   file name for '-' (default: stdin)\n"
	"      --compression HOW   fast (lz4) or max (LZ4 HC, smaller, slower)\n"
	"                          for this snapshot's new data, files,\n"
	"                          database and Storage alike (default: the\n"
	"                          repository's, see `vault config`)\n"
	"      --json              print the summary as JSON, and progress as\n"
	"                          JSON lines on stderr\n"
	"  -h, --help              show this help\n"
	"\n"
	SNAP_DB_USAGE
	SNAP_SB_USAGE;

enum {
	SNAP_OPT_TIME = CLI_OPT_FIRST_VERB,
	SNAP_OPT_STDIN_NAME,
	SNAP_OPT_JSON,
	SNAP_OPT_EXCLUDE_FILE,
	SNAP_OPT_NO_FILES_CACHE,
	SNAP_OPT_COMPRESSION,
};

/* The roots a project contributes besides the PATHs, in manifest order. */
enum { SNAP_ROOT_DB, SNAP_ROOT_FUNCTIONS, SNAP_ROOT_STORAGE, SNAP_NROOTS };
static const char *const snap_root_names[SNAP_NROOTS] = {
	SNAP_DB_ROOT, SNAP_FUNCTIONS_ROOT, SNAP_STORAGE_ROOT,
};

/* What the summary reports. */
struct snap_summary {
	const char *id, *source;
	const struct repo_totals *t;
	double secs;
	const char *const *tags;
	size_t ntags;
	const struct snap_db *db;	/* NULL without a database */
	const struct snap_sb *sb;
	const struct snap_files *files;
	size_t skipped;		/* paths and objects left out */
};

static void snap_print_json(struct cli *c, const struct snap_summary *u,
			    const struct repo_snapinfo *info, const char *when)
{
	const struct repo_totals *t = u->t;
	struct snap_files_stats fs;
	struct cli_json j;
	char *const *v;
	size_t n;

	snap_files_stats(u->files, &fs);
	cli_json_init(&j);
	cli_json_begin_object(&j, NULL);
	cli_json_str(&j, "id", u->id);
	cli_json_strn(&j, "short_id", u->id, 8);
	if (info) {
		cli_json_str(&j, "time", when);
		cli_json_i64(&j, "unix_time", info->time);
		cli_json_str(&j, "hostname", info->hostname);
	}
	cli_json_str(&j, "source", u->source);
	cli_json_begin_array(&j, "tags");
	for (size_t i = 0; i < u->ntags; i++)
		cli_json_str(&j, NULL, u->tags[i]);
	cli_json_end_array(&j);
	cli_json_u64(&j, "entries", t->entries);
	/* read from the sources; the rest was reused unread (files the
	 * files cache vouched for, unchanged Storage objects) */
	cli_json_u64(&j, "bytes_total", t->bytes_read);
	cli_json_u64(&j, "bytes_read", t->bytes_read - t->bytes_reused);
	cli_json_u64(&j, "bytes_reused", t->bytes_reused);
	cli_json_u64(&j, "files_unchanged", fs.files_unchanged);
	cli_json_u64(&j, "excluded", fs.excluded);
	cli_json_u64(&j, "bytes_added", t->bytes_added);
	cli_json_u64(&j, "bytes_stored", t->bytes_stored);
	cli_json_u64(&j, "chunks", t->chunks);
	cli_json_u64(&j, "chunks_new", t->chunks_new);
	cli_json_u64(&j, "chunks_delta", t->chunks_delta);
	if (t->bytes_added)
		cli_json_double(&j, "dedup_ratio",
				(double)t->bytes_read / (double)t->bytes_added);
	else
		cli_json_null(&j, "dedup_ratio");
	cli_json_double(&j, "duration", u->secs);
	cli_json_bool(&j, "partial", u->skipped != 0);
	cli_json_u64(&j, "skipped", u->skipped);
	cli_json_begin_array(&j, "skipped_paths");
	v = snap_files_listed(u->files, &n);
	for (size_t i = 0; i < n; i++)
		cli_json_str(&j, NULL, v[i]);
	cli_json_end_array(&j);
	if (u->db)
		snap_db_json(u->db, &j);
	snap_sb_json(u->sb, &j);
	cli_json_end_object(&j);
	if (cli_json_finish(&j) < 0)
		cli_error(c, "cannot write to standard output");
}

static void snap_print_text(const struct snap_summary *u, const char *when)
{
	const struct repo_totals *t = u->t;
	char rd[32], add[32], st[32], ratio[32], dur[32], re[32];
	struct snap_files_stats fs;

	snap_files_stats(u->files, &fs);
	cli_human_size(t->bytes_read - t->bytes_reused, rd, sizeof(rd));
	cli_human_size(t->bytes_reused, re, sizeof(re));
	cli_human_size(t->bytes_added, add, sizeof(add));
	cli_human_size(t->bytes_stored, st, sizeof(st));
	cli_ratio(t->bytes_read, t->bytes_added, ratio, sizeof(ratio));
	cli_human_duration(u->secs, dur, sizeof(dur));
	printf("snapshot %.8s saved%s%s\n", u->id, *when ? " at " : "", when);
	printf("  entries:     %llu\n", (unsigned long long)t->entries);
	if (t->bytes_reused)
		printf("  bytes read:  %s (%s unchanged, not read)\n", rd, re);
	else
		printf("  bytes read:  %s\n", rd);
	printf("  bytes added: %s (%s stored)\n", add, st);
	if (t->chunks_delta)
		printf("  deltas:      %llu of the new chunks stored as deltas\n",
		       (unsigned long long)t->chunks_delta);
	printf("  dedup ratio: %s\n", ratio);
	printf("  duration:    %s\n", dur);
	printf("  id:          %s\n", u->id);
	if (u->db)
		snap_db_print(u->db);
	snap_sb_print(u->sb);
	if (fs.excluded)
		printf("  excluded:    %llu\n", (unsigned long long)fs.excluded);
	if (u->skipped)
		printf("  partial:     %zu path%s skipped\n",
		       u->skipped, u->skipped == 1 ? "" : "s");
}

static void snap_print(struct cli *c, struct repo *r,
		       const struct snap_summary *u, int json)
{
	struct repo_snapinfo info;
	char when[40];
	int have = repo_snapshot_info(r, u->id, &info, NULL) == 0;

	when[0] = '\0';
	if (have)
		cli_time_format(info.time, when, sizeof(when));
	if (json)
		snap_print_json(c, u, have ? &info : NULL, when);
	else if (!cli_quiet(c))
		snap_print_text(u, when);
	if (have)
		repo_snapinfo_release(&info);
}

/* A list of paths as JSON strings, or as quoted lines under a title. */
static void snap_print_paths(struct cli_json *j, const char *key,
			     const char *title, char *const *v, size_t n)
{
	struct buf q = BUF_INIT;

	if (j)
		cli_json_begin_array(j, key);
	else if (n)
		printf("%s\n", title);
	for (size_t i = 0; i < n; i++) {
		if (j) {
			cli_json_str(j, NULL, v[i]);
			continue;
		}
		buf_reset(&q);
		cli_quote(&q, v[i], strlen(v[i]));
		printf("    %s\n", (const char *)q.data);
	}
	if (j)
		cli_json_end_array(j);
	buf_release(&q);
}

/* What a dry run found (nothing was stored). */
static void snap_print_dry(struct cli *c, const struct snap_files *f,
			   const char *source, int json)
{
	struct snap_files_stats s;
	char b[32], rd[32], un[32];
	char *const *ex, *const *sk;
	size_t nex, nsk;
	struct cli_json j;

	snap_files_stats(f, &s);
	ex = snap_files_excluded(f, &nex);
	sk = snap_files_listed(f, &nsk);
	if (json) {
		cli_json_init(&j);
		cli_json_begin_object(&j, NULL);
		cli_json_bool(&j, "dry_run", 1);
		cli_json_str(&j, "source", source);
		cli_json_u64(&j, "entries", s.files + s.dirs + s.symlinks);
		cli_json_u64(&j, "files", s.files);
		cli_json_u64(&j, "dirs", s.dirs);
		cli_json_u64(&j, "symlinks", s.symlinks);
		cli_json_u64(&j, "bytes", s.bytes);
		cli_json_u64(&j, "bytes_to_read", s.bytes - s.bytes_unchanged);
		cli_json_u64(&j, "files_unchanged", s.files_unchanged);
		cli_json_u64(&j, "bytes_unchanged", s.bytes_unchanged);
		cli_json_u64(&j, "excluded", s.excluded);
		snap_print_paths(&j, "excluded_paths", NULL, ex, nex);
		cli_json_bool(&j, "partial", snap_files_skipped(f) != 0);
		cli_json_u64(&j, "skipped", snap_files_skipped(f));
		snap_print_paths(&j, "skipped_paths", NULL, sk, nsk);
		cli_json_end_object(&j);
		if (cli_json_finish(&j) < 0)
			cli_error(c, "cannot write to standard output");
		return;
	}
	cli_human_size(s.bytes, b, sizeof(b));
	cli_human_size(s.bytes - s.bytes_unchanged, rd, sizeof(rd));
	cli_human_size(s.bytes_unchanged, un, sizeof(un));
	printf("dry run: nothing was stored\n");
	printf("  entries:     %llu (%llu files, %llu directories, %llu symlinks)\n",
	       (unsigned long long)(s.files + s.dirs + s.symlinks),
	       (unsigned long long)s.files, (unsigned long long)s.dirs,
	       (unsigned long long)s.symlinks);
	printf("  bytes:       %s\n", b);
	printf("  to read:     %s (%llu files, %s, unchanged per the files cache)\n",
	       rd, (unsigned long long)s.files_unchanged, un);
	printf("  excluded:    %llu\n", (unsigned long long)s.excluded);
	snap_print_paths(NULL, NULL, "  excluded paths:", ex, nex);
	if (snap_files_skipped(f))
		printf("  partial:     %zu path%s would be skipped\n",
		       snap_files_skipped(f),
		       snap_files_skipped(f) == 1 ? "" : "s");
}

/*
 * The record's "partial" member (formats/snapshot.md), added to the
 * metadata object meta (or to a new one): how many paths and objects
 * were left out, and the first skipped paths by name (Storage objects
 * are named in "storage"."missing").
 */
static int snap_partial_meta(const struct snap_files *f, size_t skipped,
			     struct buf *meta)
{
	size_t n;
	char *const *v = snap_files_listed(f, &n);
	int r;

	if (meta->len) {
		buf_setlen(meta, meta->len - 1);	/* the final '}' */
		r = buf_addstr(meta, ", ");
	} else {
		r = buf_addch(meta, '{');
	}
	if (r == 0)
		r = buf_addf(meta, "\"partial\": {\"skipped\": %zu, \"paths\": [",
			     skipped);
	for (size_t i = 0; r == 0 && i < n; i++) {
		if (i)
			r = buf_addstr(meta, ", ");
		if (r == 0)
			r = cli_json_escape(meta, v[i], strlen(v[i]));
	}
	if (r == 0)
		r = buf_addstr(meta, "]}}");
	return r;
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

/* tags (const char *[]) holds t already (given with --tag). */
static int snap_has_tag(const struct buf *tags, const char *t)
{
	const char *const *v = (const char *const *)tags->data;

	for (size_t i = 0; i < tags->len / sizeof(*v); i++)
		if (!strcmp(v[i], t))
			return 1;
	return 0;
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

/* The PATHs' part of the record's source: their absolute paths. */
static void snap_source_paths(const struct snap_files *f, struct buf *source)
{
	for (size_t i = 0; i < snap_files_count(f); i++) {
		const struct snap_item *it = snap_files_item(f, i);

		buf_addf(source, "%s%s%s%s", i ? " " : "", it->parent,
			 strcmp(it->parent, "/") ? "/" : "", it->base);
	}
}

/*
 * --dry-run: the PATHs walked with the repository open for reading only
 * (it must exist, and its keys open the files cache); nothing is
 * written anywhere.  Exit status as a snapshot's would be.
 */
static int snap_dry_run(struct cli *c, struct snap_files *f,
			const struct snap_files_opts *fo,
			const struct buf *source, int json)
{
	struct repo *r = NULL;
	int ret;

	if (cli_open(c, &r, 0))
		return CLI_EXIT_ERROR;
	snap_files_configure(f, fo);
	ret = snap_files_start(f, r, NULL, cli_now());
	if (ret == CLI_EXIT_OK && snap_files_walk(f, 0, snap_files_count(f)) < 0)
		ret = CLI_EXIT_ERROR;
	if (ret == CLI_EXIT_OK) {
		snap_print_dry(c, f, (const char *)source->data, json);
		ret = snap_files_skipped(f) ? CLI_EXIT_DAMAGE : CLI_EXIT_OK;
	}
	repo_free(r);
	return ret;
}

int cmd_snapshot(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "tag", required_argument, NULL, 't' },
		{ "time", required_argument, NULL, SNAP_OPT_TIME },
		{ "stdin-name", required_argument, NULL, SNAP_OPT_STDIN_NAME },
		{ "json", no_argument, NULL, SNAP_OPT_JSON },
		{ "exclude", required_argument, NULL, 'e' },
		{ "exclude-file", required_argument, NULL, SNAP_OPT_EXCLUDE_FILE },
		{ "one-file-system", no_argument, NULL, 'x' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "no-files-cache", no_argument, NULL, SNAP_OPT_NO_FILES_CACHE },
		{ "compression", required_argument, NULL, SNAP_OPT_COMPRESSION },
		SNAP_SB_OPTIONS,
		SNAP_DB_OPTIONS,
		CLI_GLOBAL_OPTIONS
	};
	struct buf tags = BUF_INIT, source = BUF_INIT, err = BUF_INIT,
		   meta = BUF_INIT;
	struct snap_db *db = snap_db_new();
	struct snap_sb *sb = snap_sb_new();
	struct snap_files *f = snap_files_new(c);
	struct exclude *ex = exclude_new();
	struct snap_files_opts fo;
	struct repo_writer *w = NULL;
	int want[SNAP_NROOTS];
	size_t root_at[SNAP_NROOTS];
	struct snap_summary sum;
	struct repo_commit_opts co;
	struct repo_totals t;
	struct repo *r = NULL;
	const char *stdin_name = NULL;
	char host[HOST_NAME_MAX + 1], id[65];
	size_t n = 0, skipped;
	int64_t when = 0;
	double start;
	int o, e, json = 0, use_stdin = 0, dry = 0, ret = CLI_EXIT_ERROR;
	int compress = -1;	/* enum repo_compression, -1: the repository's */

	memset(want, 0, sizeof(want));
	memset(root_at, 0, sizeof(root_at));
	memset(&fo, 0, sizeof(fo));
	if (!db || !sb || !f || !ex)
		goto oom;
	while ((o = cli_getopt(c, argc, argv, "t:e:xn", opts)) != CLI_OPT_END) {
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
			cli_json_stream(c);
			break;
		case 'e':
		case SNAP_OPT_EXCLUDE_FILE:
			buf_reset(&err);
			e = o == 'e' ? exclude_add(ex, optarg, &err)
				     : exclude_add_file(ex, optarg, &err);
			if (e == -ENOMEM)
				goto oom;
			if (e < 0) {
				ret = o == 'e' || e == -EINVAL
				      ? cli_usage_error(c, "%s", (const char *)err.data)
				      : CLI_EXIT_ERROR;
				if (ret == CLI_EXIT_ERROR)
					cli_error(c, "%s", (const char *)err.data);
				goto out;
			}
			fo.exclude = ex;
			break;
		case 'x':
			fo.one_file_system = 1;
			break;
		case 'n':
			dry = 1;
			break;
		case SNAP_OPT_NO_FILES_CACHE:
			fo.no_cache = 1;
			break;
		case SNAP_OPT_COMPRESSION: {
			enum repo_compression k;

			if (repo_compression_parse(optarg, &k) < 0) {
				ret = cli_usage_error(c, "--compression must be 'fast' or 'max', not '%s'",
						      optarg);
				goto out;
			}
			compress = (int)k;
			break;
		}
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
	if (use_stdin && (fo.exclude || fo.one_file_system || dry)) {
		ret = cli_usage_error(c, "--exclude, --exclude-file, --one-file-system and --dry-run apply to PATHs, not to '-' (standard input)");
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
		ret = snap_files_resolve(f, argv + optind, n);
		if (ret != CLI_EXIT_OK)
			goto out;
		ret = CLI_EXIT_ERROR;
		want[SNAP_ROOT_DB] = snap_db_wanted(db);
		for (size_t i = 0; i < n; i++) {
			const struct snap_item *it = snap_files_item(f, i);

			for (int k = 0; k < SNAP_NROOTS; k++) {
				const char *rn = snap_root_names[k];

				if (!want[k])
					continue;
				if (!strcmp(it->base, rn)) {
					ret = cli_usage_error(c, "'%s' would be stored as '%s', where the %s goes",
							      it->arg, rn,
							      k == SNAP_ROOT_DB ? "database"
							      : k == SNAP_ROOT_STORAGE ? "project's Storage"
							      : "project's Edge Functions");
					goto out;
				}
				/* each root goes between the PATHs that
				 * sort around it */
				if (manifest_path_cmp(it->base, strlen(it->base),
						      rn, strlen(rn)) < 0)
					root_at[k] = i + 1;
			}
		}
	}

	if (dry) {
		if (want[SNAP_ROOT_DB] || want[SNAP_ROOT_STORAGE] ||
		    want[SNAP_ROOT_FUNCTIONS] || !n) {
			ret = cli_usage_error(c, "--dry-run covers PATHs only: give PATHs, and no database or Supabase project (--no-storage, --no-functions)");
			goto out;
		}
		snap_source_paths(f, &source);
		ret = snap_dry_run(c, f, &fo, &source, json);
		goto out;
	}
	if (cli_open(c, &r, 1))
		goto out;
	start = cli_now();
	want[SNAP_ROOT_DB] = snap_db_wanted(db);
	if (want[SNAP_ROOT_DB]) {
		e = snap_db_open(db, c, 1);
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
	if (!use_stdin)
		snap_source_paths(f, &source);
	e = repo_writer_new(r, &w, &err);
	if (e < 0) {
		cli_fail(c, e, &err, "cannot start a snapshot");
		goto out;
	}
	if (compress >= 0)
		repo_writer_set_compression(w, (enum repo_compression)compress);
	snap_files_configure(f, &fo);
	if (snap_files_start(f, r, w, start) != CLI_EXIT_OK)
		goto out;
	if (use_stdin) {
		e = snap_files_stdin(f, stdin_name);
	} else {
		size_t done = 0;

		for (int k = 0; k < SNAP_NROOTS && e == 0; k++) {
			if (!want[k])
				continue;
			e = snap_files_walk(f, done, root_at[k]);
			done = root_at[k];
			if (e < 0)
				break;
			snap_files_progress_clear(f);
			if (k == SNAP_ROOT_DB)
				e = snap_db_emit(db, c, w, snap_entry_time(when));
			else if (k == SNAP_ROOT_FUNCTIONS)
				e = snap_sb_emit_functions(sb, c, w,
							   snap_entry_time(when));
			else
				e = snap_sb_emit_storage(sb, c, w,
							 snap_entry_time(when));
			e = e ? -EIO : 0;
		}
		if (e == 0)
			e = snap_files_walk(f, done, n);
	}
	if (e < 0) {
		cli_error(c, "snapshot abandoned, nothing was committed");
		goto out;
	}
	if (want[SNAP_ROOT_DB] && snap_db_meta(db, &meta) < 0)
		goto oom;
	if (snap_sb_meta(sb, &meta) < 0)
		goto oom;
	/* left out: files and directories, and Storage objects */
	skipped = snap_files_skipped(f) + snap_sb_missing(sb);
	if (skipped) {
		static const char *const partial = "partial";

		if ((!snap_has_tag(&tags, partial) &&
		     buf_add(&tags, &partial, sizeof(partial)) < 0) ||
		    snap_partial_meta(f, skipped, &meta) < 0)
			goto oom;
	}
	memset(&co, 0, sizeof(co));
	co.time = when;
	co.source = (const char *)source.data;
	co.tags = (const char *const *)tags.data;
	co.ntags = tags.len / sizeof(char *);
	co.meta_json = meta.len ? (const char *)meta.data : NULL;
	memset(&t, 0, sizeof(t));
	e = repo_writer_commit(w, &co, id, &t, &err);
	snap_files_progress_clear(f);
	if (e < 0) {
		cli_fail(c, e, &err, "cannot commit the snapshot");
		goto out;
	}
	/* for the log file's line (cli-log.c) */
	memcpy(c->log_snapshot, id, sizeof(c->log_snapshot));
	c->log_bytes_added = t.bytes_added;
	if (skipped)
		c->log_result = "partial";
	repo_writer_free(w);
	w = NULL;
	snap_files_cache_save(f, id);
	memset(&sum, 0, sizeof(sum));
	sum.id = id;
	sum.source = (const char *)source.data;
	sum.t = &t;
	sum.secs = cli_now() - start;
	sum.tags = co.tags;
	sum.ntags = co.ntags;
	sum.db = want[SNAP_ROOT_DB] ? db : NULL;
	sum.sb = sb;
	sum.files = f;
	sum.skipped = skipped;
	snap_print(c, r, &sum, json);
	/* committed but incomplete: as restic, a status of its own */
	ret = skipped ? CLI_EXIT_DAMAGE : CLI_EXIT_OK;
	goto out;
oom:
	cli_error(c, "out of memory");
	ret = CLI_EXIT_ERROR;
out:
	repo_writer_free(w);
	repo_free(r);
	snap_files_free(f);
	exclude_free(ex);
	snap_db_free(db);
	snap_sb_free(sb);
	buf_release(&meta);
	buf_release(&tags);
	buf_release(&source);
	buf_release(&err);
	return ret;
}

/*
 * cmd-mount: `vault mount SNAP DIR [PATH...]` extracts a snapshot, or the
 * selected paths and their subtrees, into DIR as plain files,
 * directories and symlinks with their modes and mtimes (no FUSE needed).
 * The safety rules for untrusted entry names live in extract.c; this
 * file drives the iteration, streams contents and reports.
 *
 * --with-metadata writes, next to every file entry that carries
 * attributes (Storage objects: content type, eTag, user metadata, the
 * exact object name...), a sidecar <file>.vault-meta.json holding them as
 * one JSON object.  Without it a mount is just the files.  Snapshot
 * paths never end in ".vault-meta.json" for Storage objects (snap-storage
 * encodes that dot), so a sidecar cannot clash with an object.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli-progress.h"
#include "extract.h"
#include "repo.h"

const char cmd_mount_usage[] =
	"usage: vault mount [--json] [--with-metadata] [--overwrite] SNAP DIR [PATH...]\n"
	"       vault mount [--json] [--overwrite] --at TIME DIR [PATH...]\n"
	"\n"
	"Extracts snapshot SNAP (a full id, a unique prefix, 'latest' or\n"
	"'latest-safety'), or with --at the newest snapshot taken at or before\n"
	"TIME that is not a safety snapshot, into DIR\n"
	"(created if missing).  With PATHs, only those and what lies below\n"
	"them are extracted.  Nothing is ever written outside DIR: unsafe\n"
	"name segments are percent-encoded and symlinks are never followed.\n"
	"DIR may hold other files; when it holds any that the snapshot would\n"
	"replace, nothing is written unless --overwrite is given.\n"
	"\n"
	"      --at TIME    pick the snapshot by time (ISO 8601, UTC unless a\n"
	"                   zone is given)\n"
	"      --json       print the summary as JSON, and progress as JSON\n"
	"                   lines on stderr\n"
	"      --overwrite  replace files and symlinks of DIR that are in the\n"
	"                   way of the snapshot's entries\n"
	"      --with-metadata\n"
	"                   write each file's attributes (Storage object\n"
	"                   metadata) to <file>.vault-meta.json\n"
	"  -h, --help       show this help\n";

enum {
	MOUNT_OPT_AT = CLI_OPT_FIRST_VERB,
	MOUNT_OPT_JSON,
	MOUNT_OPT_WITH_METADATA,
	MOUNT_OPT_OVERWRITE,
};

#define MOUNT_META_SUFFIX ".vault-meta.json"

/* The sidecar's JSON: {"path": ..., "<attr>": "<value>", ...}; a value
 * that is itself JSON (user metadata) is kept as JSON when it parses as
 * an object, else as a string. */
static int mount_meta_json(const struct manifest_entry *e, struct buf *out)
{
	int r = buf_addstr(out, "{\"path\": ");

	if (r == 0)
		r = cli_json_escape(out, e->path, e->path_len);
	for (size_t i = 0; r == 0 && i < e->nattrs; i++) {
		const struct manifest_attr *a = &e->attrs[i];
		size_t vl = a->value_len;

		r = buf_addstr(out, ", ");
		if (r == 0)
			r = cli_json_escape(out, a->key, strlen(a->key));
		if (r == 0)
			r = buf_addstr(out, ": ");
		if (r < 0)
			break;
		if (!strcmp(a->key, "storage.metadata") && vl >= 2 &&
		    a->value[0] == '{' && a->value[vl - 1] == '}' &&
		    !memchr(a->value, '\n', vl))
			r = buf_add(out, a->value, vl);
		else
			r = cli_json_escape(out, a->value, vl);
	}
	if (r == 0)
		r = buf_addstr(out, "}\n");
	return r;
}

static int mount_sidecar(struct extract *x, const struct manifest_entry *e,
			 struct buf *err)
{
	struct manifest_entry m = *e;
	struct buf path = BUF_INIT, j = BUF_INIT;
	int fd = -1, r;

	r = buf_add(&path, e->path, e->path_len);
	if (r == 0)
		r = buf_addstr(&path, MOUNT_META_SUFFIX);
	if (r == 0)
		r = mount_meta_json(e, &j);
	if (r < 0)
		goto out;
	m.path = (char *)path.data;
	m.path_len = path.len;
	m.mode = 0644;
	m.size = j.len;
	m.attrs = NULL;
	m.nattrs = 0;
	m.nchunks = 0;
	r = extract_file_open(x, &m, &fd, err);
	if (r < 0)
		goto out;
	if (cli_write_all(fd, j.data, j.len) < 0) {
		r = -errno;
		extract_file_abort(x, fd);
		buf_addf(err, "cannot write the metadata sidecar: %s",
			 strerror(-r));
		goto out;
	}
	r = extract_file_close(x, &m, fd, err);
out:
	buf_release(&path);
	buf_release(&j);
	return r;
}

struct mount_sink {
	int fd;
	int write_err;
	uint64_t bytes;
	struct cli_phase *ph;
};

static int mount_sink(void *ctx, const void *p, size_t n)
{
	struct mount_sink *s = ctx;
	int r = cli_write_all(s->fd, p, n);

	if (r < 0) {
		s->write_err = r;
	} else {
		s->bytes += n;
		cli_phase_add(s->ph, n, 0);
	}
	return r;
}

struct mount_counts {
	uint64_t files, dirs, symlinks, bytes, errors;
};

static void mount_entry_error(struct cli *c, const struct manifest_entry *e,
			      int r, const struct buf *err)
{
	struct buf q = BUF_INIT;

	if (r == -EBADMSG || r == -EUCLEAN)
		c->exit_code = CLI_EXIT_DAMAGE;	/* the others go on */
	cli_quote(&q, e->path, e->path_len);
	cli_error(c, "cannot extract '%s': %s", (const char *)q.data,
		  err->len ? (const char *)err->data : strerror(-r));
	buf_release(&q);
}

/* -v: each file extracted; -vv: directories and symlinks too. */
static void mount_verbose(struct cli *c, const struct manifest_entry *e)
{
	char sz[32];

	if (!cli_verbose(c, e->kind == MANIFEST_FILE ? 1 : 2))
		return;
	cli_human_size(e->size, sz, sizeof(sz));
	cli_progress_detail(cli_progress_of(c), e->kind == MANIFEST_FILE ?
			    "extracted" : cli_kind_name(e->kind), e->path,
			    e->path_len, e->kind == MANIFEST_FILE ? sz : NULL);
}

/* One entry; <0 only for errors that must stop the whole extraction. */
static int mount_entry(struct cli *c, struct repo_iter *it,
		       struct extract *x, const struct manifest_entry *e,
		       struct mount_counts *n, int with_meta,
		       struct cli_phase *ph)
{
	struct buf err = BUF_INIT;
	struct mount_sink sink = { -1, 0, 0, ph };
	int r, fatal = 0;

	switch (e->kind) {
	case MANIFEST_DIR:
		r = extract_dir(x, e, &err);
		if (r == 0)
			n->dirs++;
		break;
	case MANIFEST_SYMLINK:
		r = extract_symlink(x, e, &err);
		if (r == 0)
			n->symlinks++;
		break;
	case MANIFEST_FILE:
		r = extract_file_open(x, e, &sink.fd, &err);
		if (r < 0)
			break;
		r = repo_iter_read(it, mount_sink, &sink, &err);
		if (r < 0) {
			extract_file_abort(x, sink.fd);
			/* our own disk failing (full, read-only) will fail
			 * every file after this one too */
			if (sink.write_err) {
				buf_reset(&err);
				buf_addf(&err, "cannot write: %s",
					 strerror(-sink.write_err));
				fatal = 1;
			}
			break;
		}
		r = extract_file_close(x, e, sink.fd, &err);
		if (r == 0) {
			n->files++;
			n->bytes += sink.bytes;
		}
		if (r == 0 && with_meta && e->nattrs)
			r = mount_sidecar(x, e, &err);
		break;
	default:
		buf_addf(&err, "unknown entry kind %u", e->kind);
		r = -EBADMSG;
		break;
	}
	if (r < 0) {
		mount_entry_error(c, e, r, &err);
		n->errors++;
	} else {
		mount_verbose(c, e);
	}
	buf_release(&err);
	return fatal ? r : 0;
}

/* 1 when entry e is selected by the PATHs (all when none); marks them. */
static int mount_wanted(const struct manifest_entry *e, char **sel,
			size_t nsel, int *matched)
{
	int want = nsel == 0;

	for (size_t i = 0; i < nsel; i++) {
		if (cli_path_within(e->path, e->path_len, sel[i])) {
			if (matched)
				matched[i] = 1;
			want = 1;
		}
	}
	return want;
}

/* 1 when dir exists and holds anything. */
static int mount_dir_busy(const char *dir)
{
	struct dirent *de;
	DIR *d = opendir(dir);
	int busy = 0;

	if (!d)
		return 0;
	while (!busy && (de = readdir(d)))
		busy = strcmp(de->d_name, ".") && strcmp(de->d_name, "..");
	closedir(d);
	return busy;
}

#define MOUNT_CONFLICTS_SHOWN 5

/*
 * Before anything is written into a directory that already holds files:
 * every selected entry (and sidecar) that would replace something there.
 * Prints them and returns CLI_EXIT_ERROR when there are any, so a mount
 * without --overwrite either writes everything or nothing.
 */
static int mount_check_conflicts(struct cli *c, struct repo *r,
				 const char *id, struct extract *x,
				 const char *dir, char **sel, size_t nsel,
				 int with_meta)
{
	const struct manifest_entry *e;
	struct repo_iter *it = NULL;
	struct buf err = BUF_INIT, where = BUF_INIT, shown = BUF_INIT;
	struct buf side = BUF_INIT;
	uint64_t count = 0;
	int k, ret = 0;

	k = repo_iter_new(r, id, &it, &err);
	while (k >= 0 && (k = repo_iter_next(it, &e, &err)) > 0) {
		struct manifest_entry m;

		if (!mount_wanted(e, sel, nsel, NULL))
			continue;
		for (int pass = 0; pass < 2 && k >= 0; pass++) {
			m = *e;
			if (pass == 1) {
				if (!with_meta || e->kind != MANIFEST_FILE ||
				    !e->nattrs)
					break;
				buf_reset(&side);
				if (buf_add(&side, e->path, e->path_len) < 0 ||
				    buf_addstr(&side, MOUNT_META_SUFFIX) < 0) {
					k = -ENOMEM;
					break;
				}
				m.path = (char *)side.data;
				m.path_len = side.len;
			}
			buf_reset(&where);
			k = extract_conflict(x, &m, &where, &err);
			if (k > 0 && count++ < MOUNT_CONFLICTS_SHOWN) {
				buf_addstr(&shown, count > 1 ? ", " : "");
				cli_quote(&shown, (char *)where.data, where.len);
			}
		}
	}
	if (k < 0) {
		cli_fail(c, k, &err, "cannot read snapshot %.8s", id);
		ret = CLI_EXIT_ERROR;
	} else if (count) {
		cli_error(c, "%s already holds %llu of the entries to extract (%s%s): nothing was written; --overwrite replaces them",
			  dir, (unsigned long long)count, (char *)shown.data,
			  count > MOUNT_CONFLICTS_SHOWN ? ", ..." : "");
		ret = CLI_EXIT_ERROR;
	}
	repo_iter_free(it);
	buf_release(&err);
	buf_release(&where);
	buf_release(&shown);
	buf_release(&side);
	return ret;
}

/* The progress totals: the selected entries and their files' sizes,
 * from the manifest (no data is read).  A failure only leaves the
 * totals unknown: the extraction reports it. */
static void mount_totals(struct repo *r, const char *id, char **sel,
			 size_t nsel, struct cli_phase *ph)
{
	const struct manifest_entry *e;
	struct repo_iter *it = NULL;
	struct buf err = BUF_INIT;
	uint64_t bytes = 0, items = 0;
	int k;

	if (!ph)
		return;
	k = repo_iter_new(r, id, &it, &err);
	while (k >= 0 && (k = repo_iter_next(it, &e, &err)) > 0) {
		if (!mount_wanted(e, sel, nsel, NULL))
			continue;
		items++;
		if (e->kind == MANIFEST_FILE)
			bytes += e->size;
	}
	if (k == 0)
		cli_phase_total(ph, bytes, items, 1);
	repo_iter_free(it);
	buf_release(&err);
}

static void mount_print(const char *id, const char *dir,
			const struct mount_counts *n, double secs, int json)
{
	char size[32], dur[32];

	if (json) {
		struct cli_json j;

		cli_json_init(&j);
		cli_json_begin_object(&j, NULL);
		cli_json_str(&j, "snapshot", id);
		cli_json_str(&j, "dir", dir);
		cli_json_u64(&j, "files", n->files);
		cli_json_u64(&j, "dirs", n->dirs);
		cli_json_u64(&j, "symlinks", n->symlinks);
		cli_json_u64(&j, "bytes", n->bytes);
		cli_json_u64(&j, "errors", n->errors);
		cli_json_double(&j, "duration", secs);
		cli_json_end_object(&j);
		cli_json_finish(&j);
		return;
	}
	cli_human_size(n->bytes, size, sizeof(size));
	cli_human_duration(secs, dur, sizeof(dur));
	printf("snapshot %.8s extracted into %s\n", id, dir);
	printf("  files:       %llu (%s)\n", (unsigned long long)n->files,
	       size);
	printf("  directories: %llu\n", (unsigned long long)n->dirs);
	printf("  symlinks:    %llu\n", (unsigned long long)n->symlinks);
	if (n->errors)
		printf("  errors:      %llu\n", (unsigned long long)n->errors);
	printf("  duration:    %s\n", dur);
}

int cmd_mount(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "at", required_argument, NULL, MOUNT_OPT_AT },
		{ "json", no_argument, NULL, MOUNT_OPT_JSON },
		{ "with-metadata", no_argument, NULL, MOUNT_OPT_WITH_METADATA },
		{ "overwrite", no_argument, NULL, MOUNT_OPT_OVERWRITE },
		CLI_GLOBAL_OPTIONS
	};
	struct buf err = BUF_INIT;
	struct mount_counts n;
	struct cli_phase *ph;
	const struct manifest_entry *e;
	struct repo_iter *it = NULL;
	struct extract *x = NULL;
	struct repo *r = NULL;
	const char *at = NULL, *spec = NULL, *dir;
	char **sel = NULL, id[65];
	int *matched = NULL, busy;
	size_t nsel = 0;
	int64_t when = 0;
	int o, k, json = 0, with_meta = 0, overwrite = 0, entry_failed = 0;
	int ret = CLI_EXIT_ERROR;
	double start = cli_now();

	/* a damaged snapshot exits 3 */
	c->ebadmsg_is_damage = 1;
	memset(&n, 0, sizeof(n));
	while ((o = cli_getopt(c, argc, argv, "", opts)) != CLI_OPT_END) {
		switch (o) {
		case MOUNT_OPT_AT:
			at = optarg;
			if (cli_time_parse(at, &when) < 0)
				return cli_usage_error(c, "--at: '%s' is not an ISO 8601 time (e.g. 2024-05-01T12:00:00Z)",
						       at);
			break;
		case MOUNT_OPT_JSON:
			json = 1;
			cli_json_stream(c);
			break;
		case MOUNT_OPT_WITH_METADATA:
			with_meta = 1;
			break;
		case MOUNT_OPT_OVERWRITE:
			overwrite = 1;
			break;
		case CLI_OPT_HELP:
			return CLI_EXIT_OK;
		default:
			return CLI_EXIT_USAGE;
		}
	}
	if (!at) {
		if (argc - optind < 2)
			return cli_usage_error(c, "need a snapshot and a directory (or --at TIME and a directory)");
		spec = argv[optind++];
	} else if (argc - optind < 1) {
		return cli_usage_error(c, "need a directory to extract into");
	}
	dir = argv[optind++];
	if (!*dir)
		return cli_usage_error(c, "the directory must not be empty");
	nsel = (size_t)(argc - optind);
	sel = calloc(nsel + 1, sizeof(*sel));
	matched = calloc(nsel + 1, sizeof(*matched));
	if (!sel || !matched)
		goto oom;
	for (size_t i = 0; i < nsel; i++) {
		sel[i] = cli_path_normalize(argv[optind + (int)i]);
		if (!sel[i])
			goto oom;
	}

	if (cli_open(c, &r, 0))
		goto out;
	if (at) {
		k = repo_snapshot_at(r, when, id, &err);
		if (k < 0) {
			if (k == -ENOENT)
				cli_error(c, "--at %s: %s", at,
					  (const char *)err.data);
			else
				cli_fail(c, k, &err, "no snapshot at %s", at);
			goto out;
		}
	} else if (cli_resolve(c, r, spec, id)) {
		goto out;
	}
	busy = mount_dir_busy(dir);
	k = extract_new(&x, dir, &err);
	if (k < 0) {
		cli_fail(c, k, &err, "cannot use directory %s", dir);
		goto out;
	}
	extract_set_overwrite(x, overwrite);
	if (busy && !overwrite &&
	    mount_check_conflicts(c, r, id, x, dir, sel, nsel, with_meta))
		goto out;
	ph = cli_progress_phase(cli_progress_of(c), "mount", "entries");
	mount_totals(r, id, sel, nsel, ph);
	cli_phase_start(ph);
	k = repo_iter_new(r, id, &it, &err);
	if (k < 0) {
		cli_fail(c, k, &err, "cannot read snapshot %.8s", id);
		goto out;
	}
	while ((k = repo_iter_next(it, &e, &err)) > 0) {
		if (!mount_wanted(e, sel, nsel, matched))
			continue;
		cli_phase_item(ph, e->path, e->path_len);
		k = mount_entry(c, it, x, e, &n, with_meta, ph);
		if (k < 0) {
			entry_failed = 1;
			break;
		}
		cli_phase_add(ph, 0, 1);
	}
	cli_phase_stop(ph);
	if (k < 0) {
		if (!entry_failed)
			cli_fail(c, k, &err, "cannot read snapshot %.8s", id);
		buf_reset(&err);
		extract_finish(x, &err);
		goto out;
	}
	buf_reset(&err);
	k = extract_finish(x, &err);
	if (k < 0) {
		cli_fail(c, k, &err, "cannot finish directories in %s", dir);
		n.errors++;
	}
	for (size_t i = 0; i < nsel; i++) {
		if (!matched[i]) {
			struct buf q = BUF_INIT;

			cli_quote(&q, sel[i], strlen(sel[i]));
			cli_error(c, "no path '%s' in snapshot %.8s",
				  (const char *)q.data, id);
			buf_release(&q);
			n.errors++;
		}
	}
	if (json || !cli_quiet(c))
		mount_print(id, dir, &n, cli_now() - start, json);
	ret = n.errors ? CLI_EXIT_ERROR : CLI_EXIT_OK;
	goto out;
oom:
	cli_error(c, "out of memory");
out:
	extract_free(x);
	repo_iter_free(it);
	repo_free(r);
	for (size_t i = 0; sel && i < nsel; i++)
		free(sel[i]);
	free(sel);
	free(matched);
	buf_release(&err);
	return ret;
}

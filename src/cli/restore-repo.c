/*
 * restore-repo: the repository side of restore (see restore-repo.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sodium.h>

#include "cli-progress.h"
#include "manifest.h"
#include "pg-conn.h"
#include "repo.h"
#include "restore-repo.h"
#include "snap-db.h"
#include "strv.h"

/* ---- the snapshot as an rs_input ------------------------------------------ */

struct restore_input {
	struct repo *r;
	struct repo_view *view;	/* a forked input's own way in */
	char id[65];		/* full */
	/*
	 * Kept between files: the manifest is sorted, so a file that comes
	 * later than the last one read is found by reading on, not from
	 * the start (restoring N tables or large objects in manifest order
	 * reads the manifest once instead of N times).
	 */
	struct repo_iter *it;
	const struct manifest_entry *e;	/* its current entry, or NULL */
	int e_read;			/* e's content was read */
	struct cli_phase *count;	/* streamed bytes go there too */
};

/* A sink that counts what passes into the progress of the load. */
struct restore_input_counter {
	rs_input_sink_fn sink;
	void *ctx;
	struct cli_phase *ph;
};

static int restore_input_counted(void *ctx, const void *p, size_t n)
{
	struct restore_input_counter *k = ctx;

	cli_phase_add(k->ph, n, 0);
	return k->sink(k->ctx, p, n);
}

struct restore_file {
	struct buf data;
	size_t pos;
};

static void restore_input_rewind(struct restore_input *ri)
{
	repo_iter_free(ri->it);
	ri->it = NULL;
	ri->e = NULL;
}

/* Reads path's content from the snapshot into sink (every chunk
 * verified, a few in flight at a time: memory stays bounded). */
static int restore_input_stream(void *ctx, const char *path,
				rs_input_sink_fn sink, void *sink_ctx,
				struct buf *err)
{
	struct restore_input *ri = ctx;
	struct restore_input_counter k = { sink, sink_ctx, ri->count };
	size_t len = strlen(path);
	int n = 1, cmp = 1;

	if (ri->e) {
		cmp = manifest_path_cmp(ri->e->path, ri->e->path_len, path, len);
		/* behind us (or read already): start over */
		if (cmp > 0 || (cmp == 0 && ri->e_read))
			restore_input_rewind(ri);
	}
	if (!ri->it) {
		n = ri->view ? repo_view_iter(ri->view, ri->id, &ri->it, err) :
			       repo_iter_new(ri->r, ri->id, &ri->it, err);
		cmp = -1;
	}
	/* stop at ours, or at the first path past it (kept for the next) */
	while (n >= 0 && cmp < 0) {
		n = repo_iter_next(ri->it, &ri->e, err);
		if (n <= 0)
			break;
		ri->e_read = 0;
		cmp = manifest_path_cmp(ri->e->path, ri->e->path_len, path, len);
	}
	if (n < 0) {
		restore_input_rewind(ri);
		return n;
	}
	if (n == 0) {
		/* the end of the manifest: nothing left to keep */
		restore_input_rewind(ri);
		return -ENOENT;
	}
	if (cmp > 0 || ri->e->kind != MANIFEST_FILE)
		return -ENOENT;
	ri->e_read = 1;
	n = ri->count ? repo_iter_read(ri->it, restore_input_counted, &k, err)
		      : repo_iter_read(ri->it, sink, sink_ctx, err);
	if (n < 0) {
		if (err && !err->len)
			buf_addf(err, "%s: %s", path, strerror(-n));
		restore_input_rewind(ri);
	}
	return n < 0 ? n : 0;
}

/* The names of the entries directly under dir (the manifest holds
 * every path in full: walk it and keep those that start with "dir/"). */
static int restore_input_list(void *ctx, const char *dir,
			      int (*cb)(void *cbctx, const char *name),
			      void *cbctx, struct buf *err)
{
	struct restore_input *ri = ctx;
	const struct manifest_entry *e = NULL;
	struct repo_iter *it = NULL;
	size_t len = strlen(dir);
	int n;

	n = ri->view ? repo_view_iter(ri->view, ri->id, &it, err) :
		       repo_iter_new(ri->r, ri->id, &it, err);
	while (n >= 0 && (n = repo_iter_next(it, &e, err)) > 0) {
		if (e->path_len <= len + 1 || memcmp(e->path, dir, len) ||
		    e->path[len] != '/')
			continue;
		/* a deeper path is passed whole: the caller refuses it */
		n = cb(cbctx, e->path + len + 1);
		if (n < 0)
			break;
	}
	repo_iter_free(it);
	return n < 0 ? n : 0;
}

static int restore_input_sink(void *ctx, const void *p, size_t n)
{
	return buf_add(ctx, p, n);
}

/* open/read serve the small files (meta.json, schema.sql, roles.sql)
 * from memory; table rows go through restore_input_stream. */
static int restore_input_open(void *ctx, const char *path, void **h,
			      struct buf *err)
{
	struct restore_file *f;
	int n;

	*h = NULL;
	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	buf_init(&f->data, 0);
	n = restore_input_stream(ctx, path, restore_input_sink, &f->data, err);
	if (n < 0) {
		buf_release(&f->data);
		free(f);
		return n;
	}
	*h = f;
	return 0;
}

static ssize_t restore_input_read(void *ctx, void *h, void *p, size_t n,
				  struct buf *err)
{
	struct restore_file *f = h;
	size_t left = f->data.len - f->pos;

	if (n > left)
		n = left;
	memcpy(p, f->data.data + f->pos, n);
	f->pos += n;
	return (ssize_t)n;
}

static void restore_input_close(void *ctx, void *h)
{
	struct restore_file *f = h;

	if (!f)
		return;
	buf_release(&f->data);
	free(f);
}

static void restore_input_fork_release(struct rs_input *in)
{
	struct restore_input *ri = in ? in->ctx : NULL;

	if (!ri)
		return;
	restore_input_rewind(ri);
	repo_view_free(ri->view);
	free(ri);
	in->ctx = NULL;
}

/* Another thread's input: the same snapshot through a repo_view. */
static int restore_input_fork(void *ctx, struct rs_input *out, struct buf *err)
{
	struct restore_input *ri = ctx;
	int r = restore_input_init(out, ri->r, ri->id);

	if (r == 0) {
		struct restore_input *fi = out->ctx;

		fi->count = ri->count;
		out->release = restore_input_fork_release;
		r = repo_view_open(ri->r, &fi->view, err);
		if (r < 0)
			restore_input_fork_release(out);
	} else if (err) {
		buf_addstr(err, "out of memory");
	}
	return r;
}

int restore_input_init(struct rs_input *in, struct repo *r, const char *id)
{
	struct restore_input *ri = calloc(1, sizeof(*ri));

	if (!ri)
		return -ENOMEM;
	ri->r = r;
	snprintf(ri->id, sizeof(ri->id), "%s", id);
	memset(in, 0, sizeof(*in));
	in->ctx = ri;
	in->stream = restore_input_stream;
	in->open = restore_input_open;
	in->read = restore_input_read;
	in->close = restore_input_close;
	in->fork = restore_input_fork;
	in->list = restore_input_list;
	return 0;
}

void restore_input_count(struct rs_input *in, struct cli_phase *ph)
{
	struct restore_input *ri = in->ctx;

	if (ri)
		ri->count = ph;
}

void restore_input_release(struct rs_input *in)
{
	if (!in || !in->ctx)
		return;
	restore_input_rewind(in->ctx);
	free(in->ctx);
	in->ctx = NULL;
}

/* ---- which snapshot ---------------------------------------------------------- */

int restore_pick(struct cli *c, struct repo *r, const char *spec,
		 const char *at_text, int64_t at, char id[65])
{
	struct buf err = BUF_INIT;
	int e;

	if (spec)
		return cli_resolve(c, r, spec, id);
	e = repo_snapshot_at(r, at, id, &err);
	if (e == -ENOENT)
		cli_error(c, "--at %s: %s", at_text, (const char *)err.data);
	else if (e < 0)
		cli_fail(c, e, &err, "cannot pick the snapshot at %s", at_text);
	buf_release(&err);
	return e < 0 ? CLI_EXIT_ERROR : 0;
}

/* ---- the target's URL ------------------------------------------------------- */

int restore_db_url(struct cli *c, char *db, const char *env_file,
		   struct buf *url)
{
	int r;

	if (db) {
		if (buf_addstr(url, db) < 0) {
			cli_error(c, "out of memory");
			return CLI_EXIT_ERROR;
		}
		pg_conn_mask_arg(db);
		return 0;
	}
	r = snap_db_url(c, env_file, 1, url, NULL);
	if (r < 0)
		return -r;
	if (r == 0)
		return cli_usage_error(c, "no database URL: give --db URL, set VAULT_DB_URL, or put SUPABASE_DB_URL in .env");
	return 0;
}

/* ---- confirmation ----------------------------------------------------------- */

int restore_confirm(struct cli *c, int yes, const char *what,
		    const char *dbname)
{
	char line[512];
	FILE *tty;
	size_t n;

	if (yes)
		return 0;
	if (!isatty(0)) {
		cli_error(c, "a %s changes database '%s': pass --yes to confirm (standard input is not a terminal, so vault cannot ask)",
			  what, dbname);
		return CLI_EXIT_USAGE;
	}
	tty = fopen("/dev/tty", "r+");
	if (!tty) {
		cli_error(c, "a %s changes database '%s': pass --yes to confirm",
			  what, dbname);
		return CLI_EXIT_USAGE;
	}
	fprintf(tty, "This %s changes database '%s'.\nType the database name to go ahead: ",
		what, dbname);
	fflush(tty);
	if (!fgets(line, sizeof(line), tty))
		line[0] = '\0';
	fclose(tty);
	n = strlen(line);
	while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = '\0';
	if (strcmp(line, dbname)) {
		cli_error(c, "not confirmed: nothing was changed");
		return CLI_EXIT_ERROR;
	}
	return 0;
}

/* ---- the safety snapshot ------------------------------------------------------ */

int restore_glob_escape(struct buf *out, const char *s)
{
	for (; *s; s++) {
		if (strchr("*?[]\\", *s) && buf_addch(out, '\\') < 0)
			return -ENOMEM;
		if (buf_addch(out, *s) < 0)
			return -ENOMEM;
	}
	return 0;
}

int restore_safety_snapshot(struct cli *c, struct repo *r, const char *url,
			    const struct rs_plan *plan, const char *restore_id,
			    char id[65])
{
	struct snap_db *d = snap_db_new();
	struct repo_writer *w = NULL;
	struct repo_commit_opts co;
	struct repo_totals t;
	struct buf err = BUF_INIT, pat = BUF_INIT, meta = BUF_INIT,
		   tag = BUF_INIT, source = BUF_INIT;
	char **pats = NULL, *dbarg = NULL, **views = NULL;
	size_t npats = 0, nviews = 0;
	const char *tags[2];
	struct timespec now;
	int e, ret = CLI_EXIT_ERROR;

	id[0] = '\0';
	if (!d)
		goto oom;
	pats = calloc(plan->ntables + 1, sizeof(*pats));
	if (!pats)
		goto oom;
	for (size_t i = 0; i < plan->ntables; i++) {
		const struct rs_plan_table *pt = &plan->tables[i];

		if (!pt->exists)
			continue;
		buf_reset(&pat);
		if (restore_glob_escape(&pat, pt->t->schema) < 0 ||
		    buf_addch(&pat, '.') < 0 ||
		    restore_glob_escape(&pat, pt->t->name) < 0)
			goto oom;
		pats[npats] = strdup((const char *)pat.data);
		if (!pats[npats])
			goto oom;
		npats++;
	}
	if (!npats) {
		ret = 0;	/* nothing on the target to keep */
		goto out;
	}
	dbarg = strdup(url);
	if (!dbarg)
		goto oom;
	e = snap_db_option(d, c, SNAP_DB_OPT_DB, dbarg);
	for (size_t i = 0; e == 1 && i < npats; i++)
		e = snap_db_option(d, c, SNAP_DB_OPT_TABLE, pats[i]);
	/* the views a clean restore drops: a rollback recreates them */
	if (rs_plan_clean_views_dropped(plan, &views, &nviews) < 0)
		goto oom;
	snap_db_ddl_only(d, (const char *const *)views);
	if (e != 1) {
		ret = e ? e : CLI_EXIT_ERROR;
		goto out;
	}
	e = snap_db_resolve(d, c, 0, 0);
	if (e == 0)
		e = snap_db_open(d, c, 1);
	if (e) {
		ret = e;
		goto out;
	}
	e = repo_writer_new(r, &w, &err);
	if (e < 0) {
		cli_fail(c, e, &err, "cannot start the safety snapshot");
		goto out;
	}
	clock_gettime(CLOCK_REALTIME, &now);
	if (snap_db_emit(d, c, w, (int64_t)now.tv_sec * 1000000000 +
			 now.tv_nsec))
		goto out;
	if (snap_db_meta(d, &meta) < 0 ||
	    buf_addf(&tag, "restore:%s", restore_id) < 0 ||
	    buf_addstr(&source, snap_db_source(d)) < 0)
		goto oom;
	tags[0] = REPO_TAG_SAFETY;
	tags[1] = (const char *)tag.data;
	memset(&co, 0, sizeof(co));
	co.time = now.tv_sec;
	co.source = (const char *)source.data;
	co.tags = tags;
	co.ntags = 2;
	co.meta_json = meta.len ? (const char *)meta.data : NULL;
	memset(&t, 0, sizeof(t));
	e = repo_writer_commit(w, &co, id, &t, &err);
	if (e < 0) {
		id[0] = '\0';
		cli_fail(c, e, &err, "cannot commit the safety snapshot");
		goto out;
	}
	ret = 0;
	goto out;
oom:
	cli_error(c, "out of memory");
out:
	repo_writer_free(w);
	snap_db_free(d);
	if (dbarg) {
		sodium_memzero(dbarg, strlen(dbarg));
		free(dbarg);
	}
	for (size_t i = 0; pats && i < npats; i++)
		free(pats[i]);
	free(pats);
	strv_free(views, nviews);
	buf_release(&err);
	buf_release(&pat);
	buf_release(&meta);
	buf_release(&tag);
	buf_release(&source);
	return ret;
}

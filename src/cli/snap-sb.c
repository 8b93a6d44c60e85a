/*
 * snap-sb: the front end of a Supabase project's Storage and Edge
 * Functions in `vault snapshot` (see snap-sb.h).  The engine
 * (src/supabase/snap-storage.c, snap-functions.c) never prints: it
 * returns the reason of a failure in a buffer, reports progress and the
 * objects it leaves out through callbacks, and keeps counters; here
 * they become the progress line, warnings, error messages, the summary
 * and the snapshot record's metadata.
 *
 * With the project's database in the same snapshot, its storage.objects
 * rows are read here under the database capture's own snapshot
 * (pg-snap-objects.h) and handed to snap-storage, which compares them
 * with the objects it captures (the drift): the front end is the one
 * place that holds both the capture and Storage.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli-progress.h"
#include "json.h"
#include "pg-snap-objects.h"
#include "sb-env.h"
#include "sb-http.h"
#include "snap-db.h"
#include "snap-functions.h"
#include "snap-sb.h"
#include "snap-storage.h"

struct snap_sb {
	struct sb_env env;
	struct sb_env_opts eo;
	int have_env;
	struct snap_storage_opts so;
	int no_storage, no_functions;
	int want_storage, want_functions;
	struct snap_functions *sf;
	struct snap_storage *ss;
	struct cli *c;
	struct snap_db *db;	/* the database part of the same snapshot */
	const char *drift_skip;	/* why the drift was not judged, or NULL */
	/* progress: the metadata requests, then the downloads (NULL when
	 * not shown) */
	struct cli_phase *ph_info, *ph_get;
	struct buf missing;	/* "bucket/name" quoted, '\n'-separated, in
				 * the order they were left out */
};

struct snap_sb *snap_sb_new(void)
{
	struct snap_sb *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	buf_init(&p->missing, 0);
	return p;
}

void snap_sb_free(struct snap_sb *p)
{
	if (!p)
		return;
	snap_storage_free(p->ss);
	snap_functions_free(p->sf);
	if (p->have_env)
		sb_env_release(&p->env);
	buf_release(&p->missing);
	free(p);
}

/* ---- options and settings ------------------------------------------------ */

int snap_sb_option(struct snap_sb *p, int opt, const char *arg)
{
	int jobs;

	switch (opt) {
	case SNAP_SB_OPT_STORAGE_URL:
		p->eo.storage_url = arg;
		return 1;
	case SNAP_SB_OPT_ALLOW_PARTIAL:
		p->so.allow_partial = 1;
		return 1;
	case SNAP_SB_OPT_NO_STORAGE:
		p->no_storage = 1;
		return 1;
	case SNAP_SB_OPT_NO_FUNCTIONS:
		p->no_functions = 1;
		return 1;
	case SNAP_DB_OPT_JOBS:
		if (cli_parse_int(arg, 1, 64, &jobs) == 0)
			p->so.jobs = (unsigned)jobs;
		return 0;
	}
	return 0;
}

int snap_sb_resolve(struct snap_sb *p, struct cli *c, struct snap_db *db,
		    size_t npaths, int use_stdin)
{
	struct buf err = BUF_INIT;
	int e;

	if (use_stdin) {
		if (p->eo.storage_url || p->so.allow_partial)
			return cli_usage_error(c, "'-' (standard input) cannot be combined with Storage options");
		return CLI_EXIT_OK;
	}
	p->db = db;
	p->eo.env_file = snap_db_env_file(db);
	/* sources named on the command line are all there is to take: a
	 * ./.env nobody named adds none (--env-file does) */
	if (npaths || snap_db_named(db) || p->eo.storage_url) {
		p->eo.no_implicit = 1;
		snap_db_no_implicit_env(db);
	}
	e = sb_env_load(&p->env, &p->eo, &err);
	if (e < 0) {
		cli_error(c, "%s", err.len ? (const char *)err.data
			  : strerror(-e));
		buf_release(&err);
		return CLI_EXIT_ERROR;
	}
	buf_release(&err);
	p->have_env = 1;
	if (npaths == 0 || p->eo.env_file || p->eo.storage_url) {
		p->want_storage = !p->no_storage &&
			sb_env_has_storage(&p->env);
		p->want_functions = !p->no_functions &&
			sb_env_has_functions(&p->env);
	}
	if (p->env.env_file_implicit && p->want_storage)
		cli_note(c, "no source named on the command line: ./.env adds Storage at %s",
			 p->env.storage_url);
	if (p->env.env_file_implicit && p->want_functions)
		cli_note(c, "no source named on the command line: ./.env adds the Edge Functions of project %s",
			 p->env.project_ref);
	if (p->eo.storage_url && !p->want_storage && !p->no_storage)
		return cli_usage_error(c, "--storage-url needs SUPABASE_SERVICE_ROLE_KEY (environment, .env or --env-file)");
	if (p->env.env_file && p->env.env_file_exposed &&
	    (p->want_storage || p->want_functions))
		cli_warn(c, "%s holds Supabase keys but is readable by group or others (chmod 600 %s)",
			 p->env.env_file, p->env.env_file);
	if (p->want_storage || p->want_functions)
		snap_db_set_optional(db);
	return CLI_EXIT_OK;
}

int snap_sb_want_storage(const struct snap_sb *p)
{
	return p->want_storage;
}

int snap_sb_want_functions(const struct snap_sb *p)
{
	return p->want_functions;
}

/* ---- what the engine reports --------------------------------------------- */

static void snap_sb_progress(void *ctx, const struct snap_storage_stats *st,
			     int force)
{
	struct snap_sb *p = ctx;

	(void)force;	/* the ticker draws */
	if (st->to_download || st->inspected == st->to_inspect) {
		/* the downloads: objects stored or reused of all listed */
		/* counters first: starting draws the line at once */
		cli_phase_total(p->ph_get, 0, st->objects, 1);
		cli_phase_set(p->ph_get, st->bytes + st->reused_bytes,
			      st->downloaded + st->reused + st->missing);
		cli_phase_start(p->ph_get);
	} else {
		cli_phase_total(p->ph_info, 0, st->to_inspect, 1);
		cli_phase_set(p->ph_info, 0, st->inspected);
		cli_phase_start(p->ph_info);
	}
}

static void snap_sb_left_out(void *ctx, const char *bucket, const char *name,
			     size_t name_len, const char *why)
{
	struct snap_sb *p = ctx;

	if (p->missing.len)
		buf_addch(&p->missing, '\n');
	buf_addstr(&p->missing, bucket);
	buf_addch(&p->missing, '/');
	sb_http_quote_name(&p->missing, name, name_len);
	if (why)
		cli_warn(p->c, "storage: left out %s", why);
}

/* A failure of snap-storage: err says why, or it ran out of memory. */
static void snap_sb_storage_error(struct cli *c, const struct buf *err)
{
	if (err->len)
		cli_error(c, "storage: %s", (const char *)err->data);
	else
		cli_error(c, "out of memory");
}

/* ---- open and emit ------------------------------------------------------- */

static int snap_sb_open_storage(struct snap_sb *p, struct cli *c,
				struct repo *r, struct buf *err)
{
	const char *v;
	int ms;

	p->ph_info = cli_progress_phase(cli_progress_of(c), "storage metadata",
					"objects");
	p->ph_get = cli_progress_phase(cli_progress_of(c), "storage", "objects");
	/* a knob for the test suite, so retries do not take minutes */
	if ((v = getenv("VAULT_HTTP_BACKOFF_MS")) && *v &&
	    cli_parse_int(v, 1, 60000, &ms) == 0)
		p->so.backoff_ms = (unsigned)ms;
	if (p->ph_get)
		p->so.progress = snap_sb_progress;
	p->so.left_out = snap_sb_left_out;
	p->so.ctx = p;
	p->ss = snap_storage_new(&p->env, &p->so);
	if (!p->ss) {
		cli_error(c, "out of memory");
		return CLI_EXIT_ERROR;
	}
	if (snap_storage_open(p->ss, r, err) < 0) {
		snap_sb_storage_error(c, err);
		return CLI_EXIT_ERROR;
	}
	return 0;
}

int snap_sb_open(struct snap_sb *p, struct cli *c, struct repo *r)
{
	struct buf err = BUF_INIT;
	int ret = 0;

	p->c = c;
	if (p->want_functions) {
		p->sf = snap_functions_new(&p->env);
		if (!p->sf) {
			cli_error(c, "out of memory");
			ret = CLI_EXIT_ERROR;
		} else if (snap_functions_open(p->sf, &err) < 0) {
			cli_error(c, "functions: %s", (const char *)err.data);
			ret = CLI_EXIT_ERROR;
		}
	}
	if (ret == 0 && p->want_storage)
		ret = snap_sb_open_storage(p, c, r, &err);
	buf_release(&err);
	return ret;
}

const char *snap_sb_source(const struct snap_sb *p)
{
	return p->ss ? snap_storage_source(p->ss) : NULL;
}

int snap_sb_emit_functions(struct snap_sb *p, struct cli *c,
			   struct repo_writer *w, int64_t mtime_ns)
{
	struct buf err = BUF_INIT;
	int e = snap_functions_emit(p->sf, w, mtime_ns, &err);

	if (e < 0)
		cli_error(c, "functions: %s", (const char *)err.data);
	buf_release(&err);
	return e < 0 ? CLI_EXIT_ERROR : 0;
}

static int snap_sb_db_row(void *ctx, const struct pg_snap_object *o)
{
	return snap_storage_db_object(ctx, o->bucket, o->name, o->name_len,
				      o->etag, o->size, o->last_modified);
}

/*
 * The database's storage.objects, as of its instant, for the drift: read
 * after db/ was emitted (the capture's connection is free again) and
 * before the downloads.  A database without the table (not Supabase's)
 * or one vault may not read it in is no failure: nothing is judged.
 */
static void snap_sb_db_rows(struct snap_sb *p, struct cli *c)
{
	struct pg_snap *ps = p->db && snap_db_wanted(p->db) ?
		snap_db_capture(p->db) : NULL;
	struct buf err = BUF_INIT;
	int e;

	if (!ps)
		return;
	e = pg_snap_storage_objects(ps, snap_sb_db_row, p->ss, &err);
	snap_storage_db_done(p->ss, e == 0);
	if (e == -ENOENT) {
		p->drift_skip = "the database has no storage.objects";
	} else if (e < 0) {
		p->drift_skip = "storage.objects could not be read";
		cli_warn(c, "storage: %s: the objects that changed since the database's instant are not judged",
			 err.len ? (const char *)err.data : strerror(-e));
	}
	buf_release(&err);
}

int snap_sb_emit_storage(struct snap_sb *p, struct cli *c,
			 struct repo_writer *w, int64_t mtime_ns)
{
	struct buf err = BUF_INIT, q = BUF_INIT;
	const char *bucket, *name;
	size_t name_len;
	int e;

	p->c = c;
	snap_sb_db_rows(p, c);
	e = snap_storage_emit(p->ss, w, mtime_ns, &err);
	cli_phase_stop(p->ph_info);
	cli_phase_stop(p->ph_get);
	if (e < 0)
		snap_sb_storage_error(c, &err);
	if (e < 0 && snap_storage_failed_object(p->ss, &bucket, &name,
						&name_len)) {
		buf_addstr(&q, bucket);
		buf_addch(&q, '/');
		sb_http_quote_name(&q, name, name_len);
		cli_error(c, "storage: '%s' cannot be read; with --allow-partial the snapshot is committed without it (tagged 'partial', exit status 3)",
			  (const char *)q.data);
	}
	buf_release(&q);
	buf_release(&err);
	return e < 0 ? CLI_EXIT_ERROR : 0;
}

/* ---- the snapshot record and the summary --------------------------------- */

static int snap_sb_functions_meta(const struct snap_sb *p, struct buf *out)
{
	const struct snap_functions_stats *st = snap_functions_get_stats(p->sf);
	int r = buf_addstr(out, "\"functions\": {\"project_ref\": ");

	if (r == 0)
		r = cli_json_escape(out, p->env.project_ref,
				    strlen(p->env.project_ref));
	if (r == 0)
		r = buf_addf(out, ", \"functions\": %zu, \"files\": %zu}",
			     st->functions, st->files);
	return r;
}

static int snap_sb_storage_meta(const struct snap_sb *p, struct buf *out)
{
	const struct snap_storage_stats *st = snap_storage_get_stats(p->ss);
	const char *bucket, *name;
	size_t pos = 0, k = 0, name_len;
	int r = buf_addstr(out, "\"storage\": {\"project\": ");

	if (r == 0)
		r = cli_json_escape(out, p->env.storage_url,
				    strlen(p->env.storage_url));
	if (r == 0)
		r = buf_addf(out, ", \"buckets\": %zu, \"objects\": %zu, \"downloaded\": %llu, \"unchanged\": %llu, \"bytes_downloaded\": %llu, \"partial\": %s, ",
			     st->buckets, st->objects,
			     (unsigned long long)st->downloaded,
			     (unsigned long long)st->reused,
			     (unsigned long long)st->bytes,
			     st->missing ? "true" : "false");
	if (r == 0 && st->drift_judged)
		r = buf_addf(out, "\"drift\": {\"rows\": %zu, \"changed\": %zu, \"vanished\": %zu, \"added\": %zu}, ",
			     st->drift_rows, st->drift_changed,
			     st->drift_vanished, st->drift_added);
	if (r == 0)
		r = buf_addstr(out, "\"missing\": [");
	while (r == 0 && snap_storage_missing_next(p->ss, &pos, &bucket, &name,
						   &name_len)) {
		r = buf_addstr(out, k++ ? ", {\"bucket\": " : "{\"bucket\": ");
		if (r == 0)
			r = json_quote(out, bucket, strlen(bucket));
		if (r == 0)
			r = buf_addstr(out, ", \"name\": ");
		if (r == 0 && json_quote(out, name, name_len) < 0)
			r = cli_json_escape(out, name, name_len);
		if (r == 0)
			r = buf_addch(out, '}');
	}
	if (r == 0)
		r = buf_addstr(out, "]}");
	return r;
}

int snap_sb_meta(const struct snap_sb *p, struct buf *meta)
{
	/* one object: {"db": ..., "functions": ..., "storage": ...} */
	if (!p->want_functions && !p->want_storage)
		return 0;
	if (meta->len) {
		buf_setlen(meta, meta->len - 1);	/* the final '}' */
		buf_addstr(meta, ", ");
	} else {
		buf_addch(meta, '{');
	}
	if (p->want_functions &&
	    (snap_sb_functions_meta(p, meta) < 0 ||
	     (p->want_storage && buf_addstr(meta, ", ") < 0)))
		return -ENOMEM;
	if (p->want_storage && snap_sb_storage_meta(p, meta) < 0)
		return -ENOMEM;
	return buf_addch(meta, '}');
}

size_t snap_sb_missing(const struct snap_sb *p)
{
	return p->ss ? snap_storage_get_stats(p->ss)->missing : 0;
}

void snap_sb_print(const struct snap_sb *p)
{
	char sz[32];

	if (p->sf) {
		const struct snap_functions_stats *f =
			snap_functions_get_stats(p->sf);

		cli_human_size(f->bytes, sz, sizeof(sz));
		printf("  functions:   %zu functions, %zu files (%s)\n",
		       f->functions, f->files, sz);
	}
	if (p->ss) {
		const struct snap_storage_stats *st =
			snap_storage_get_stats(p->ss);
		const char *q = (const char *)p->missing.data, *nl;

		cli_human_size(st->bytes, sz, sizeof(sz));
		printf("  storage:     %zu buckets, %zu objects: %llu downloaded (%s), %llu unchanged\n",
		       st->buckets, st->objects,
		       (unsigned long long)st->downloaded, sz,
		       (unsigned long long)st->reused);
		if (st->drift_judged && !(st->drift_changed ||
					  st->drift_vanished || st->drift_added))
			printf("  storage drift: none: every object is as storage.objects had it at the database's instant\n");
		else if (st->drift_judged)
			printf("  storage drift: since the database's instant %zu changed, %zu vanished, %zu added (storage/.vault-drift.json)\n",
			       st->drift_changed, st->drift_vanished,
			       st->drift_added);
		else if (p->drift_skip)
			printf("  storage drift: not judged: %s\n", p->drift_skip);
		if (st->missing)
			printf("  PARTIAL: %zu objects missing:\n",
			       st->missing);
		while (*q) {
			nl = strchr(q, '\n');
			printf("    %.*s\n", nl ? (int)(nl - q) : (int)strlen(q),
			       q);
			q = nl ? nl + 1 : q + strlen(q);
		}
	}
}

void snap_sb_json(const struct snap_sb *p, struct cli_json *j)
{
	if (p->ss) {
		const struct snap_storage_stats *st =
			snap_storage_get_stats(p->ss);
		const char *bucket, *name;
		size_t pos = 0, name_len;

		cli_json_begin_object(j, "storage");
		cli_json_u64(j, "buckets", st->buckets);
		cli_json_u64(j, "objects", st->objects);
		cli_json_u64(j, "downloaded", st->downloaded);
		cli_json_u64(j, "unchanged", st->reused);
		cli_json_u64(j, "bytes_downloaded", st->bytes);
		cli_json_u64(j, "list_requests", st->list_requests);
		cli_json_u64(j, "info_requests", st->inspected);
		if (st->drift_judged) {
			cli_json_begin_object(j, "drift");
			cli_json_u64(j, "rows", st->drift_rows);
			cli_json_u64(j, "changed", st->drift_changed);
			cli_json_u64(j, "vanished", st->drift_vanished);
			cli_json_u64(j, "added", st->drift_added);
			cli_json_end_object(j);
		} else if (p->drift_skip) {
			cli_json_str(j, "drift_not_judged", p->drift_skip);
		}
		cli_json_bool(j, "partial", st->missing != 0);
		cli_json_begin_array(j, "missing");
		while (snap_storage_missing_next(p->ss, &pos, &bucket, &name,
						 &name_len)) {
			struct buf q = BUF_INIT;

			buf_addstr(&q, bucket);
			buf_addch(&q, '/');
			sb_http_quote_name(&q, name, name_len);
			cli_json_str(j, NULL, (const char *)q.data);
			buf_release(&q);
		}
		cli_json_end_array(j);
		cli_json_end_object(j);
	}
	if (p->sf) {
		const struct snap_functions_stats *f =
			snap_functions_get_stats(p->sf);

		cli_json_begin_object(j, "functions");
		cli_json_u64(j, "functions", f->functions);
		cli_json_u64(j, "files", f->files);
		cli_json_u64(j, "bytes", f->bytes);
		cli_json_end_object(j);
	}
}

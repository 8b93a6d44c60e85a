/*
 * snap-db: `vault snapshot --db`: options, the connection string's
 * sources, the pg-snap sink over repo_writer_*, progress and summary.
 * See snap-db.h.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "cli-progress.h"
#include "dotenv.h"
#include "pg-conn.h"
#include "pg-snap.h"
#include "repo.h"
#include "snap-db.h"
#include "snap-db-prev.h"

#define SNAP_DB_DEFAULT_RETRIES 3

struct snap_db {
	int given;			/* --db, --env-file or a db option */
	int no_implicit;		/* never ./.env: other sources named */
	int optional;			/* no URL is fine: other parts go */
	int want;			/* the database is captured */
	struct buf url;			/* wiped */
	const char *url_from;		/* "--db", "$VAULT_DB_URL", a file */
	const char *env_file;
	struct buf env_path;
	struct pg_snap_opts o;
	struct buf pats[4];		/* const char *[], NULL-terminated */
	int jobs, retries;
	struct pg_snap *ps;
	/* the sink and progress */
	struct cli *c;
	struct repo_writer *w;
	struct snap_db_prev *prev;	/* base candidates, or NULL */
	int64_t mtime_ns;
	struct cli_phase *ph;		/* "db" (NULL: not shown) */
	size_t ndata, ndone;
	/* the catalog's sizes of the tables, each replaced by its real
	 * size once read: the phase's total */
	uint64_t est_total;
	const struct pg_snap_table *cur;
	struct buf label;		/* "schema.table" of cur */
};

static volatile sig_atomic_t snap_db_interrupted;

static void snap_db_on_signal(int sig)
{
	(void)sig;
	snap_db_interrupted = 1;
}

struct snap_db *snap_db_new(void)
{
	struct snap_db *d = calloc(1, sizeof(*d));

	if (!d)
		return NULL;
	buf_init(&d->url, 0);
	buf_init(&d->env_path, 0);
	buf_init(&d->label, 0);
	for (int i = 0; i < 4; i++)
		buf_init(&d->pats[i], 0);
	d->jobs = 0;	/* the rule of src/pg/pg-jobs.h */
	d->retries = SNAP_DB_DEFAULT_RETRIES;
	return d;
}

void snap_db_free(struct snap_db *d)
{
	if (!d)
		return;
	pg_snap_free(d->ps);
	buf_wipe(&d->url);
	buf_release(&d->env_path);
	buf_release(&d->label);
	for (int i = 0; i < 4; i++)
		buf_release(&d->pats[i]);
	free(d);
}

int snap_db_wanted(const struct snap_db *d)
{
	return d->want;
}

void snap_db_set_optional(struct snap_db *d)
{
	d->optional = 1;
}

void snap_db_ddl_only(struct snap_db *d, const char *const *rels)
{
	d->o.ddl_only = rels;
}

int snap_db_named(const struct snap_db *d)
{
	return d->url_from && !strcmp(d->url_from, "--db");
}

void snap_db_no_implicit_env(struct snap_db *d)
{
	d->no_implicit = 1;
}

const char *snap_db_env_file(const struct snap_db *d)
{
	return d->env_file;
}

/* ---- options ------------------------------------------------------------ */

static int snap_db_pattern(struct snap_db *d, struct cli *c, int which,
			   const char *opt, const char *arg)
{
	if (!*arg)
		return cli_usage_error(c, "%s needs a non-empty pattern", opt);
	if (buf_add(&d->pats[which], &arg, sizeof(arg)) < 0) {
		cli_error(c, "out of memory");
		return CLI_EXIT_ERROR;
	}
	return 1;
}

int snap_db_option(struct snap_db *d, struct cli *c, int opt, char *arg)
{
	switch (opt) {
	case SNAP_DB_OPT_DB:
		buf_wipe(&d->url);
		if (buf_addstr(&d->url, arg) < 0) {
			cli_error(c, "out of memory");
			return CLI_EXIT_ERROR;
		}
		/* what ps and /proc/PID/cmdline show from now on */
		pg_conn_mask_arg(arg);
		d->url_from = "--db";
		d->given = d->want = 1;
		return 1;
	case SNAP_DB_OPT_ENV_FILE:
		d->env_file = arg;
		c->env_file = arg;
		d->given = d->want = 1;
		return 1;
	case SNAP_DB_OPT_JOBS:
		if (cli_parse_int(arg, 1, 64, &d->jobs) < 0)
			return cli_usage_error(c, "--jobs: '%s' is not a number from 1 to 64", arg);
		d->given = 1;
		return 1;
	case SNAP_DB_OPT_RETRIES:
		if (cli_parse_int(arg, 0, 100, &d->retries) < 0)
			return cli_usage_error(c, "--retries: '%s' is not a number from 0 to 100", arg);
		d->given = 1;
		return 1;
	case SNAP_DB_OPT_PG_DUMP:
		d->o.pg_dump = arg;
		d->given = 1;
		return 1;
	case SNAP_DB_OPT_ROLE_PASSWORDS:
		d->o.role_passwords = 1;
		d->given = 1;
		return 1;
	case SNAP_DB_OPT_SCHEMA:
		d->given = 1;
		return snap_db_pattern(d, c, 0, "--schema", arg);
	case SNAP_DB_OPT_EXCLUDE_SCHEMA:
		d->given = 1;
		return snap_db_pattern(d, c, 1, "--exclude-schema", arg);
	case SNAP_DB_OPT_TABLE:
		d->given = 1;
		return snap_db_pattern(d, c, 2, "--table", arg);
	case SNAP_DB_OPT_EXCLUDE_TABLE:
		d->given = 1;
		return snap_db_pattern(d, c, 3, "--exclude-table", arg);
	}
	return 0;
}

/* A NULL-terminated list, or NULL when none was given. */
static const char *const *snap_db_list(struct buf *b)
{
	const char *end = NULL;

	if (!b->len)
		return NULL;
	if (buf_add(b, &end, sizeof(end)) < 0)
		return NULL;
	return (const char *const *)b->data;
}

/* The URL from an .env file; 1 found, 0 not, or an exit code < 0 as
 * -CLI_EXIT_* (message printed). */
static int snap_db_url_file(struct cli *c, const char *path, int must,
			    struct buf *url)
{
	static const char *const keys[] = { "VAULT_DB_URL", "SUPABASE_DB_URL" };
	struct buf err = BUF_INIT;
	int exposed = 0, r = 0;

	for (size_t i = 0; i < 2 && r == 0; i++)
		r = dotenv_file_get(path, keys[i], url, &exposed, &err);
	if (r < 0) {
		cli_error(c, "cannot read the database URL from %s",
			  (const char *)err.data);
		buf_release(&err);
		return -CLI_EXIT_ERROR;
	}
	buf_release(&err);
	if (r == 0 && must) {
		cli_error(c, "%s sets neither VAULT_DB_URL nor SUPABASE_DB_URL",
			  path);
		return -CLI_EXIT_ERROR;
	}
	if (r == 1 && exposed)
		cli_warn(c, "%s holds a database password but is readable by group or others (chmod 600 %s)",
			 path, path);
	return r;
}

int snap_db_url(struct cli *c, const char *env_file, int must,
		struct buf *url, struct buf *from)
{
	static const char *const vars[] = { "VAULT_DB_URL", "SUPABASE_DB_URL" };
	const char *v;
	int r;

	/* an explicit --env-file is what the user asked for */
	if (env_file) {
		r = snap_db_url_file(c, env_file, must, url);
		if (r == 1 && from && buf_addstr(from, env_file) < 0)
			goto oom;
		return r;
	}
	for (size_t i = 0; i < 2; i++) {
		if (!(v = getenv(vars[i])) || !*v)
			continue;
		if (buf_addstr(url, v) < 0 ||
		    (from && buf_addf(from, "$%s", vars[i]) < 0))
			goto oom;
		return 1;
	}
	if (access(".env", F_OK) < 0)
		return 0;
	r = snap_db_url_file(c, ".env", 0, url);
	if (r == 1 && from && buf_addstr(from, ".env") < 0)
		goto oom;
	return r;
oom:
	cli_error(c, "out of memory");
	return -CLI_EXIT_ERROR;
}

/* Nobody named ./.env: say that it is read, and what it adds. */
static void snap_db_say_implicit(struct cli *c, const char *url)
{
	struct pg_conn_info *ci = NULL;
	struct buf err = BUF_INIT;

	if (pg_conn_info_parse(&ci, url, &err) == 0)
		cli_note(c, "no source named on the command line: ./.env adds the database %s",
			 pg_conn_info_describe(ci));
	else
		cli_note(c, "no source named on the command line: ./.env adds a database");
	pg_conn_info_free(ci);
	buf_release(&err);
}

int snap_db_resolve(struct snap_db *d, struct cli *c, size_t npaths,
		    int use_stdin)
{
	int r;

	if (!d->want && npaths == 0 && !use_stdin)
		d->want = 1;	/* `vault snapshot` alone: the database */
	if (!d->want) {
		if (d->given)
			return cli_usage_error(c, "the database options need --db URL (or --env-file FILE) when PATHs are given");
		return 0;
	}
	if (use_stdin)
		return cli_usage_error(c, "'-' (standard input) cannot be combined with --db");
	if (!d->url_from && d->no_implicit && !d->env_file && d->optional) {
		d->want = 0;	/* another source was named; not ./.env's */
		return 0;
	}
	if (!d->url_from) {
		buf_reset(&d->env_path);
		r = snap_db_url(c, d->env_file, !d->optional, &d->url,
				&d->env_path);
		if (r < 0)
			return -r;
		if (r == 1)
			d->url_from = (const char *)d->env_path.data;
		if (r == 1 && !d->env_file && !strcmp(d->url_from, ".env"))
			snap_db_say_implicit(c, (const char *)d->url.data);
	}
	if (!d->url_from && d->optional) {
		d->want = 0;	/* Storage / functions only */
		return 0;
	}
	if (!d->url_from) {
		if (npaths == 0 && !d->given)
			return cli_usage_error(c, "nothing to snapshot: give one or more PATHs, '-' for standard input, or --db URL (or set VAULT_DB_URL, or SUPABASE_DB_URL in .env)");
		return cli_usage_error(c, "no database URL: give --db URL, set VAULT_DB_URL, or put SUPABASE_DB_URL in .env");
	}
	d->o.conninfo = (const char *)d->url.data;
	d->o.jobs = d->jobs;
	d->o.retries = d->retries;
	d->o.root = SNAP_DB_ROOT;
	d->o.filter.schemas = snap_db_list(&d->pats[0]);
	d->o.filter.exclude_schemas = snap_db_list(&d->pats[1]);
	d->o.filter.tables = snap_db_list(&d->pats[2]);
	d->o.filter.exclude_tables = snap_db_list(&d->pats[3]);
	return 0;
}

/* ---- progress ------------------------------------------------------------- */

/* -v: each table once read. */
static void snap_db_verbose(struct snap_db *d, const struct pg_snap_table *t)
{
	char sz[32], detail[96];

	if (!cli_verbose(d->c, 1))
		return;
	cli_human_size(t->bytes, sz, sizeof(sz));
	snprintf(detail, sizeof(detail), "%llu rows, %s",
		 (unsigned long long)t->rows, sz);
	cli_progress_detail(cli_progress_of(d->c), "table",
			    (const char *)d->label.data, d->label.len, detail);
}

/* Rows read so far: several tables stream at once with --jobs, so the
 * sum over all of them (those not begun count 0). */
static uint64_t snap_db_bytes_read(const struct snap_db *d)
{
	uint64_t n = 0;

	for (size_t i = 0; d->ps && i < pg_snap_ntables(d->ps); i++)
		n += pg_snap_table(d->ps, i)->bytes;
	return n;
}

static void snap_db_progress(void *ctx, const struct pg_snap_table *t,
			     int done)
{
	struct snap_db *d = ctx;
	uint64_t at, total;

	if (t != d->cur || done) {
		buf_reset(&d->label);
		buf_addf(&d->label, "%s.%s", t->schema, t->name);
	}
	d->cur = done ? NULL : t;
	if (done) {
		d->ndone++;
		/* its real size replaces the catalog's */
		d->est_total = d->est_total - t->est_bytes + t->bytes;
		snap_db_verbose(d, t);
	}
	/* with --jobs several tables are in flight: the sum of them all,
	 * and a table read past the catalog's size raises the total */
	at = snap_db_bytes_read(d);
	total = d->est_total > at ? d->est_total : at;
	cli_phase_total(d->ph, total, d->ndata, 1);
	cli_phase_at(d->ph, at, d->ndone,
		     done ? NULL : (const char *)d->label.data,
		     done ? 0 : d->label.len);
}

/* ---- opening ---------------------------------------------------------------- */

int snap_db_open(struct snap_db *d, struct cli *c, int progress)
{
	struct sigaction old[2];
	struct buf err = BUF_INIT;
	int r;

	static const char opening[] = "connecting, reading the catalog and schema";

	d->c = c;
	if (progress)
		d->ph = cli_progress_phase(cli_progress_of(c), "db", "tables");
	d->o.interrupt = &snap_db_interrupted;
	d->o.progress = snap_db_progress;
	d->o.progress_ctx = d;
	cli_phase_item(d->ph, opening, sizeof(opening) - 1);
	cli_phase_start(d->ph);
	cli_signals_catch(old, snap_db_on_signal);
	r = pg_snap_open(&d->ps, &d->o, &err);
	cli_signals_restore(old);
	cli_phase_item(d->ph, NULL, 0);
	/* the tables are read later in the same phase (pg_snap_emit) */
	if (r < 0)
		cli_phase_stop(d->ph);
	else
		cli_phase_hold(d->ph);
	if (r == 0 && snap_db_interrupted)
		r = -EINTR;
	if (r < 0) {
		if (r == -EINTR && !err.len)
			buf_addstr(&err, "interrupted");
		cli_error(c, "cannot capture the database (URL from %s): %s",
			  d->url_from, err.len ? (const char *)err.data
			  : strerror(-r));
		buf_release(&err);
		return CLI_EXIT_ERROR;
	}
	buf_release(&err);
	for (size_t i = 0; i < pg_snap_ntables(d->ps); i++) {
		const struct pg_snap_table *t = pg_snap_table(d->ps, i);

		d->ndata += t->has_data;
		if (t->has_data)
			d->est_total += t->est_bytes;
	}
	cli_phase_total(d->ph, d->est_total, d->ndata, 1);
	return 0;
}

const char *snap_db_source(const struct snap_db *d)
{
	return d->ps ? pg_snap_source(d->ps) : "";
}

struct pg_snap *snap_db_capture(const struct snap_db *d)
{
	return d->ps;
}

/* ---- the sink: pg-snap's tree into the repository writer ------------------- */

static void snap_db_entry_meta(const struct snap_db *d, uint32_t mode,
			       struct repo_entry_meta *m)
{
	m->mode = mode;
	m->mtime_ns = d->mtime_ns;
}

static int snap_db_dir(void *ctx, const char *path, uint32_t mode)
{
	struct snap_db *d = ctx;
	struct repo_entry_meta m;

	snap_db_entry_meta(d, mode, &m);
	return repo_writer_dir(d->w, path, &m);
}

static int snap_db_begin_file(void *ctx, const char *path, uint32_t mode,
			      enum pg_sink_chunking how)
{
	struct snap_db *d = ctx;
	struct repo_entry_meta m;

	snap_db_entry_meta(d, mode, &m);
	return repo_writer_file_begin(d->w, path, &m, how == PG_SINK_ROWS
				      ? REPO_CHUNK_ROWS : REPO_CHUNK_GENERAL);
}

static int snap_db_write(void *ctx, const void *p, size_t n)
{
	struct snap_db *d = ctx;

	return repo_writer_file_write(d->w, p, n);
}

static int snap_db_attr(void *ctx, const char *key, const char *value)
{
	struct snap_db *d = ctx;

	return repo_writer_file_attr(d->w, key, value);
}

static int snap_db_end_file(void *ctx)
{
	struct snap_db *d = ctx;

	return repo_writer_file_end(d->w);
}

/* A table's rows get the chunks of the same file in the previous
 * snapshot as base candidates for deltas; trouble reading them costs
 * only the deltas (the walk stops), never the snapshot. */
static int snap_db_stream_begin(void *ctx, enum pg_sink_chunking how,
				const char *path, void **st)
{
	struct snap_db *d = ctx;
	const struct repo_chunkref *c = NULL;
	struct buf err = BUF_INIT;
	size_t n = 0;
	int r = repo_stream_begin(d->w, how == PG_SINK_ROWS ? REPO_CHUNK_ROWS
				  : REPO_CHUNK_GENERAL,
				  (struct repo_stream **)st);

	if (r == 0 && how == PG_SINK_ROWS && d->prev) {
		r = snap_db_prev_chunks(d->prev, path, &c, &n, &err);
		if (r < 0 && r != -ENOMEM) {
			snap_db_prev_free(d->prev);
			d->prev = NULL;
			r = 0;
		}
	}
	if (r == 0 && n)
		r = repo_stream_set_base(*st, c, n);
	buf_release(&err);
	return r;
}

/* The previous snapshot's chunk list of path: 0, 1 when there is none
 * to take (no previous snapshot, no such file, an empty list: even an
 * empty table has one chunk, its COPY line), or -ENOMEM. */
static int snap_db_prev_list(struct snap_db *d, const char *path,
			     const struct repo_chunkref **c, size_t *n)
{
	struct buf err = BUF_INIT;
	int r = d->prev ? snap_db_prev_chunks(d->prev, path, c, n, &err) : 1;

	buf_release(&err);
	if (r == -ENOMEM)
		return r;
	return r != 0 || *n == 0 ? 1 : 0;
}

/* A table proven unchanged: its data.sql is the previous snapshot's
 * chunk list.  1 (read the table instead) when that list cannot be had
 * or the writer refuses it (a chunk missing from the index). */
static int snap_db_file_reused(void *ctx, const char *path, uint32_t mode)
{
	struct snap_db *d = ctx;
	const struct repo_chunkref *c = NULL;
	struct repo_entry_meta m;
	size_t n = 0;
	int r = snap_db_prev_list(d, path, &c, &n);

	if (r)
		return r;
	snap_db_entry_meta(d, mode, &m);
	r = repo_writer_file_chunks(d->w, path, &m, c, n);
	if (r == -ENOENT || r == -EINVAL)
		return 1;
	return r;
}

/* A table that only grew: a stream continuing the previous snapshot's
 * data.sql without its last ndrop bytes (the "\\." line).  1 (read the
 * table whole instead) when that file cannot be had or the writer
 * refuses it (a chunk missing or damaged). */
static int snap_db_stream_after(void *ctx, const char *path, const void *drop,
				size_t ndrop, void **st)
{
	struct snap_db *d = ctx;
	const struct repo_chunkref *c = NULL;
	size_t n = 0;
	int r = snap_db_prev_list(d, path, &c, &n);

	if (r)
		return r;
	r = repo_stream_begin_after(d->w, REPO_CHUNK_ROWS, c, n, drop, ndrop,
				    (struct repo_stream **)st);
	if (r == -ENOENT || r == -EINVAL)
		return 1;
	return r;
}

/* The previous snapshot's db/meta.json, for pg-snap to compare each
 * table's unchanged_proof with; without it every table is read. */
static void snap_db_previous(struct snap_db *d)
{
	struct buf meta = BUF_INIT, err = BUF_INIT;

	if (d->prev && snap_db_prev_read(d->prev, SNAP_DB_ROOT "/meta.json",
					 &meta, &err) == 1)
		pg_snap_set_previous(d->ps, snap_db_prev_id(d->prev),
				     (const char *)meta.data, meta.len);
	buf_release(&meta);
	buf_release(&err);
}

static int snap_db_stream_write(void *ctx, void *st, const void *p, size_t n)
{
	return repo_stream_write(st, p, n);
}

static int snap_db_stream_end(void *ctx, void *st)
{
	return repo_stream_end(st);
}

static int snap_db_file_stream(void *ctx, const char *path, uint32_t mode,
			       void *st)
{
	struct snap_db *d = ctx;
	struct repo_entry_meta m;

	snap_db_entry_meta(d, mode, &m);
	return repo_writer_file_stream(d->w, path, &m, st);
}

static void snap_db_stream_free(void *ctx, void *st)
{
	repo_stream_free(st);
}

int snap_db_emit(struct snap_db *d, struct cli *c, struct repo_writer *w,
		 int64_t mtime_ns)
{
	struct pg_sink k = {
		d, snap_db_dir, snap_db_begin_file, snap_db_write,
		snap_db_attr, snap_db_end_file, snap_db_stream_begin,
		snap_db_stream_write, snap_db_stream_end, snap_db_file_stream,
		snap_db_stream_free, snap_db_file_reused, snap_db_stream_after,
	};
	struct sigaction old[2];
	struct buf err = BUF_INIT, where = BUF_INIT;
	int r;

	d->w = w;
	d->mtime_ns = mtime_ns;
	/* no previous snapshot, or one that cannot be read: no deltas */
	if (snap_db_prev_open(&d->prev, repo_writer_repo(w), snap_db_source(d),
			      pg_snap_catalog(d->ps)->database, &err) < 0)
		d->prev = NULL;
	buf_reset(&err);
	snap_db_previous(d);
	cli_phase_start(d->ph);
	cli_signals_catch(old, snap_db_on_signal);
	r = pg_snap_emit(d->ps, &k, &err);
	cli_signals_restore(old);
	cli_phase_stop(d->ph);
	snap_db_prev_free(d->prev);
	d->prev = NULL;
	if (r == 0 && snap_db_interrupted)
		r = -EINTR;
	if (r == 0)
		return 0;
	/* the server's message names the table; a repository failure
	 * only knows the table it was reading */
	if (!err.len && *repo_writer_error(w))
		buf_addstr(&err, repo_writer_error(w));
	if (!err.len)
		buf_addstr(&err, r == -EINTR ? "interrupted" : strerror(-r));
	if (d->cur) {
		buf_addstr(&where, " (reading table ");
		cli_quote(&where, d->cur->schema, strlen(d->cur->schema));
		buf_addch(&where, '.');
		cli_quote(&where, d->cur->name, strlen(d->cur->name));
		buf_addch(&where, ')');
	}
	cli_error(c, "cannot capture the database%s: %s",
		  (const char *)where.data, (const char *)err.data);
	buf_release(&err);
	buf_release(&where);
	return CLI_EXIT_ERROR;
}

/* ---- summary ------------------------------------------------------------------ */

struct snap_db_schema {
	const char *name;
	uint64_t tables, rows, bytes;
};

/* Per-schema totals of the captured tables (tables come sorted by
 * schema); *n gets the count.  NULL when out of memory. */
static struct snap_db_schema *snap_db_schemas(const struct snap_db *d,
					      size_t *n,
					      struct snap_db_schema *all)
{
	size_t nt = pg_snap_ntables(d->ps), k = 0;
	struct snap_db_schema *v = calloc(nt ? nt : 1, sizeof(*v));

	memset(all, 0, sizeof(*all));
	*n = 0;
	if (!v)
		return NULL;
	for (size_t i = 0; i < nt; i++) {
		const struct pg_snap_table *t = pg_snap_table(d->ps, i);

		if (!k || strcmp(v[k - 1].name, t->schema))
			v[k++].name = t->schema;
		if (!t->has_data)
			continue;
		v[k - 1].tables++;
		v[k - 1].rows += t->rows;
		v[k - 1].bytes += t->bytes;
		all->tables++;
		all->rows += t->rows;
		all->bytes += t->bytes;
	}
	*n = k;
	return v;
}

int snap_db_meta(const struct snap_db *d, struct buf *out)
{
	const struct pg_catalog *cat = pg_snap_catalog(d->ps);
	struct snap_db_schema all;
	size_t n;
	struct snap_db_schema *v = snap_db_schemas(d, &n, &all);
	int r;

	if (!v)
		return -ENOMEM;
	free(v);
	r = buf_addstr(out, "{\"db\": {\"source\": ");
	if (r == 0)
		r = cli_json_escape(out, snap_db_source(d), strlen(snap_db_source(d)));
	if (r == 0)
		r = buf_addstr(out, ", \"database\": ");
	if (r == 0)
		r = cli_json_escape(out, cat->database, strlen(cat->database));
	if (r == 0)
		r = buf_addstr(out, ", \"server_version\": ");
	if (r == 0)
		r = cli_json_escape(out, cat->server_version,
				    strlen(cat->server_version));
	if (r == 0)
		r = buf_addf(out, ", \"tables\": %llu, \"rows\": %llu, \"bytes\": %llu, \"meta\": \"%s/meta.json\"}}",
			     (unsigned long long)all.tables,
			     (unsigned long long)all.rows,
			     (unsigned long long)all.bytes, SNAP_DB_ROOT);
	return r;
}

/* Calls fn for each line of the pg-snap warnings. */
static void snap_db_each_warning(const struct snap_db *d,
				 void (*fn)(void *ctx, const char *w, size_t n),
				 void *ctx)
{
	const char *w = pg_snap_warnings(d->ps);

	while (w && *w) {
		const char *e = strchr(w, '\n');
		size_t n = e ? (size_t)(e - w) : strlen(w);

		if (n)
			fn(ctx, w, n);
		w += n + (e != NULL);
	}
}

static void snap_db_print_warning(void *ctx, const char *w, size_t n)
{
	struct buf b = BUF_INIT;

	cli_quote(&b, w, n);
	printf("  warning:     %s\n", (const char *)b.data);
	buf_release(&b);
}

void snap_db_print(const struct snap_db *d)
{
	const struct pg_catalog *cat = pg_snap_catalog(d->ps);
	struct snap_db_schema all;
	struct buf q = BUF_INIT;
	char sz[32];
	size_t n;
	struct snap_db_schema *v = snap_db_schemas(d, &n, &all);
	int first = 1;

	cli_quote(&q, snap_db_source(d), strlen(snap_db_source(d)));
	printf("  database:    %s (PostgreSQL %s)\n", (const char *)q.data,
	       cat->server_version);
	cli_human_size(all.bytes, sz, sizeof(sz));
	printf("               %llu tables, %llu rows, %s\n",
	       (unsigned long long)all.tables, (unsigned long long)all.rows, sz);
	if (pg_snap_nreused(d->ps))
		printf("               %zu unchanged since the previous snapshot: not read\n",
		       pg_snap_nreused(d->ps));
	if (pg_snap_nappended(d->ps))
		printf("               %zu only appended to since the previous snapshot: new rows read\n",
		       pg_snap_nappended(d->ps));
	printf("    %-24s %8s %12s %10s\n", "schema", "tables", "rows", "bytes");
	for (size_t i = 0; v && i < n; i++) {
		buf_reset(&q);
		cli_quote(&q, v[i].name, strlen(v[i].name));
		cli_human_size(v[i].bytes, sz, sizeof(sz));
		printf("    %-24s %8llu %12llu %10s\n", (const char *)q.data,
		       (unsigned long long)v[i].tables,
		       (unsigned long long)v[i].rows, sz);
	}
	for (size_t i = 0; i < cat->nschemas; i++) {
		if (!cat->schemas[i].skipped)
			continue;
		buf_reset(&q);
		cli_quote(&q, cat->schemas[i].name, strlen(cat->schemas[i].name));
		printf("  %-12s schema %s (%s)\n", first ? "skipped:" : "",
		       (const char *)q.data, cat->schemas[i].skipped);
		first = 0;
	}
	for (size_t i = 0; i < cat->nexcluded; i++) {
		buf_reset(&q);
		cli_quote(&q, cat->excluded[i], strlen(cat->excluded[i]));
		printf("  %-12s table %s (--table / --exclude-table)\n",
		       first ? "skipped:" : "", (const char *)q.data);
		first = 0;
	}
	snap_db_each_warning(d, snap_db_print_warning, NULL);
	free(v);
	buf_release(&q);
}

static void snap_db_json_warning(void *ctx, const char *w, size_t n)
{
	cli_json_strn(ctx, NULL, w, n);
}

void snap_db_json(const struct snap_db *d, struct cli_json *j)
{
	const struct pg_catalog *cat = pg_snap_catalog(d->ps);
	struct snap_db_schema all;
	size_t n;
	struct snap_db_schema *v = snap_db_schemas(d, &n, &all);

	cli_json_begin_object(j, "database");
	cli_json_str(j, "source", snap_db_source(d));
	cli_json_str(j, "database", cat->database);
	cli_json_str(j, "server_version", cat->server_version);
	cli_json_str(j, "snapshot", pg_snap_snapshot_id(d->ps));
	cli_json_u64(j, "tables", all.tables);
	cli_json_u64(j, "rows", all.rows);
	cli_json_u64(j, "bytes", all.bytes);
	cli_json_u64(j, "tables_reused", pg_snap_nreused(d->ps));
	cli_json_u64(j, "tables_appended", pg_snap_nappended(d->ps));
	cli_json_u64(j, "jobs", (uint64_t)pg_snap_jobs(d->ps));
	cli_json_begin_array(j, "schemas");
	for (size_t i = 0; v && i < n; i++) {
		cli_json_begin_object(j, NULL);
		cli_json_str(j, "name", v[i].name);
		cli_json_u64(j, "tables", v[i].tables);
		cli_json_u64(j, "rows", v[i].rows);
		cli_json_u64(j, "bytes", v[i].bytes);
		cli_json_end_object(j);
	}
	cli_json_end_array(j);
	cli_json_begin_array(j, "skipped_schemas");
	for (size_t i = 0; i < cat->nschemas; i++) {
		if (!cat->schemas[i].skipped)
			continue;
		cli_json_begin_object(j, NULL);
		cli_json_str(j, "name", cat->schemas[i].name);
		cli_json_str(j, "reason", cat->schemas[i].skipped);
		cli_json_end_object(j);
	}
	cli_json_end_array(j);
	cli_json_begin_array(j, "skipped_tables");
	for (size_t i = 0; i < cat->nexcluded; i++)
		cli_json_str(j, NULL, cat->excluded[i]);
	cli_json_end_array(j);
	cli_json_begin_array(j, "tables_detail");
	for (size_t i = 0; i < pg_snap_ntables(d->ps); i++) {
		const struct pg_snap_table *t = pg_snap_table(d->ps, i);

		if (!t->has_data)
			continue;
		cli_json_begin_object(j, NULL);
		cli_json_str(j, "schema", t->schema);
		cli_json_str(j, "name", t->name);
		cli_json_str(j, "path", t->path);
		cli_json_u64(j, "rows", t->rows);
		cli_json_u64(j, "bytes", t->bytes);
		cli_json_str(j, "xxh3_128", t->xxh3);
		cli_json_bool(j, "reused", t->reused);
		if (t->appended)
			cli_json_u64(j, "appended_rows", t->appended_rows);
		cli_json_end_object(j);
	}
	cli_json_end_array(j);
	cli_json_begin_array(j, "warnings");
	snap_db_each_warning(d, snap_db_json_warning, j);
	cli_json_end_array(j);
	cli_json_end_object(j);
	free(v);
}

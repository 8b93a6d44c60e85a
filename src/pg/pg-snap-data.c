/*
 * pg-snap-data: the rows.  Each table's COPY statement (which columns,
 * in which order the rows come) and the first pass of pg_snap_emit:
 * every table's data.sql (COPY header, rows, "\.") and every large
 * object's bytes read into a detached stream of the sink, through
 * pg-copy's prefetching workers for the tables and lo_read on the main
 * connection for the large objects.  Row counts, sizes and checksums
 * are final once a table's stream ends; pg-snap-tree.c then attaches
 * the streams to their entries.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <libpq-fe.h>
#include <libpq/libpq-fs.h>

#include "pg-copy.h"
#include "pg-names.h"
#include "pg-snap-int.h"
#include "strv.h"

#define PG_SNAP_DATA_PROGRESS_EVERY	(8u << 20)

/* ---- what is read --------------------------------------------------- */

/*
 * The order rows are read in: " ORDER BY pk1, pk2" by the primary key,
 * which makes the bytes, and so the checksum and the chunks, the same
 * from one capture to the next.  Nothing for a table without one: it is
 * read in physical order (synchronize_seqscans is off, pg-snap.c).
 */
static int pg_snap_data_order(struct buf *b, const struct pg_catalog_table *t)
{
	int r = 0;

	for (size_t c = 0; c < t->npk && r == 0; c++) {
		r = buf_addstr(b, c ? ", " : " ORDER BY ");
		if (r == 0)
			r = pg_names_quote_ident(b, t->pk[c]);
	}
	return r;
}

/* COPY (SELECT cols FROM ONLY s.t [filter] [ORDER BY pk]) TO STDOUT:
 * ONLY, so inheritance children are not read twice; the filter is an
 * extension configuration table's ("WHERE NOT standard"), as pg_dump
 * applies it, or a tail's (pg-snap-tail.c). */
int pg_snap_data_copy_sql(struct buf *b, const struct pg_catalog_table *t,
			  const char *where)
{
	int r = buf_addstr(b, "COPY (SELECT ");

	for (size_t c = 0; c < t->ncols && r == 0; c++) {
		if (c)
			r = buf_addstr(b, ", ");
		if (r == 0)
			r = pg_names_quote_ident(b, t->cols[c]);
	}
	if (r == 0)
		r = buf_addstr(b, " FROM ONLY ");
	if (r == 0)
		r = pg_names_quote_qualified(b, t->schema, t->name);
	if (r == 0 && t->condition)
		r = buf_addf(b, " %s", t->condition);
	if (r == 0 && where)
		r = buf_addstr(b, where);
	if (r == 0)
		r = pg_snap_data_order(b, t);
	return r ? r : buf_addstr(b, ") TO STDOUT");
}

/* The line psql needs before the rows: COPY s.t (cols) FROM stdin;
 * one line whatever the names hold (a newline in one is written U&"..."),
 * as a reader skips exactly one line to reach the rows. */
static int pg_snap_data_copy_head(struct buf *b,
				  const struct pg_catalog_table *t)
{
	int r = buf_addstr(b, "COPY ");

	if (r == 0)
		r = pg_names_quote_ident_line(b, t->schema);
	if (r == 0)
		r = buf_addch(b, '.');
	if (r == 0)
		r = pg_names_quote_ident_line(b, t->name);
	for (size_t c = 0; c < t->ncols && r == 0; c++) {
		r = buf_addstr(b, c ? ", " : " (");
		if (r == 0)
			r = pg_names_quote_ident_line(b, t->cols[c]);
	}
	if (r == 0)
		r = buf_addstr(b, t->ncols ? ") FROM stdin;\n" : " FROM stdin;\n");
	return r;
}

int pg_snap_data_plan(struct pg_snap *s)
{
	size_t n = s->cat.ntables ? s->cat.ntables : 1;
	struct buf b = BUF_INIT;
	int r = 0;

	s->copy_sql = calloc(n, sizeof(char *));
	s->copy_head = calloc(n, sizeof(char *));
	if (!s->copy_sql || !s->copy_head || pg_snap_tail_new(s) < 0)
		return -ENOMEM;
	for (size_t i = 0; i < s->cat.ntables && r == 0; i++) {
		const struct pg_catalog_table *t = &s->cat.tables[i];

		buf_reset(&b);
		r = pg_snap_data_copy_sql(&b, t, NULL);
		if (r == 0 && !(s->copy_sql[i] = strdup((char *)b.data)))
			r = -ENOMEM;
		buf_reset(&b);
		if (r == 0)
			r = pg_snap_data_copy_head(&b, t);
		if (r == 0 && !(s->copy_head[i] = strdup((char *)b.data)))
			r = -ENOMEM;
	}
	buf_release(&b);
	return r;
}

void pg_snap_data_release(struct pg_snap *s)
{
	strv_free(s->copy_sql, s->cat.ntables);
	strv_free(s->copy_head, s->cat.ntables);
	pg_snap_tail_release(s);
}

/* ---- the first pass ------------------------------------------------- */

struct pg_snap_data_writer {
	struct pg_snap *s;
	const struct pg_sink *sink;
	void *st;
	void **slot;		/* where the caller keeps st */
	size_t i;		/* the table */
	struct pg_snap_table *t;
	uint64_t since;
};

static int pg_snap_data_rows(void *ctx, const void *p, size_t n)
{
	struct pg_snap_data_writer *w = ctx;
	/* the last row's key is recorded for the next capture */
	int r = pg_snap_tail_rows(&w->s->tail[w->i], p, n);

	if (r < 0)
		return r;
	w->t->bytes += n;
	w->since += n;
	if (w->since >= PG_SNAP_DATA_PROGRESS_EVERY && w->s->o.progress) {
		w->since = 0;
		w->s->o.progress(w->s->o.progress_ctx, w->t, 0);
	}
	return w->sink->stream_write(w->sink->ctx, w->st, p, n);
}

/* Table i's data.sql (entry path) begun in a new stream *st: its COPY
 * line; w is set up for the rows.  A tail's stream is already there,
 * holding the previous snapshot's rows. */
static int pg_snap_data_begin(struct pg_snap *s, const struct pg_sink *k,
			      size_t i, const char *path, void **st,
			      struct pg_snap_data_writer *w)
{
	int r;

	memset(w, 0, sizeof(*w));
	w->s = s;
	w->sink = k;
	w->slot = st;
	w->i = i;
	w->t = &s->tables[i];
	w->t->bytes = 0;
	buf_reset(&s->tail[i].last_row);
	if (s->o.progress)
		s->o.progress(s->o.progress_ctx, w->t, 0);
	if (s->tail[i].candidate) {
		w->st = *st;
		return 0;
	}
	r = k->stream_begin(k->ctx, PG_SINK_ROWS, path, st);
	w->st = *st;
	if (r == 0)
		r = k->stream_write(k->ctx, w->st, s->copy_head[i],
				    strlen(s->copy_head[i]));
	return r;
}

/* A tail that is not exactly the rows inserted since the previous
 * snapshot: its stream is dropped, and the table read whole after the
 * first pass. */
static int pg_snap_data_refuse_tail(struct pg_snap_data_writer *w)
{
	struct pg_snap_tail *x = &w->s->tail[w->i];

	w->sink->stream_free(w->sink->ctx, w->st);
	*w->slot = NULL;
	w->st = NULL;
	x->candidate = 0;
	x->fallback = 1;
	w->t->bytes = 0;
	return 0;
}

/* The rows are all in: "\\." ends the stream, and the table's count and
 * checksum are final (a tail's added to the previous snapshot's). */
static int pg_snap_data_finish(struct pg_snap_data_writer *w,
			       const struct pg_copy_result *res)
{
	const struct pg_sink *k = w->sink;
	struct pg_snap_tail *x = &w->s->tail[w->i];
	int r;

	if (x->candidate && res->rows != x->delta)
		return pg_snap_data_refuse_tail(w);
	r = k->stream_write(k->ctx, w->st, "\\.\n", 3);
	if (r == 0)
		r = k->stream_end(k->ctx, w->st);
	if (r == 0)
		r = pg_snap_tail_end(w->s, w->i, res);
	if (r < 0)
		return r;
	w->t->rows = res->rows;
	w->t->bytes = res->bytes;
	if (x->candidate) {
		w->t->appended = 1;
		w->t->appended_rows = res->rows;
		w->t->rows += x->prev_rows;
		w->t->bytes += x->prev_bytes;
		w->s->nappended++;
	}
	hex_encode(w->t->xxh3, res->xxh128, sizeof(res->xxh128));
	w->t->done = 1;
	if (w->s->o.progress)
		w->s->o.progress(w->s->o.progress_ctx, w->t, 1);
	return 0;
}

/* First pass: table i's data.sql (entry path) into a new stream *st. */
static int pg_snap_data_table(struct pg_snap *s, const struct pg_sink *k,
			      struct pg_copy *cp, size_t job, size_t i,
			      const char *path, void **st, struct buf *err)
{
	struct pg_snap_data_writer w;
	struct pg_copy_result res;
	int r;

	r = pg_snap_data_begin(s, k, i, path, st, &w);
	if (r == 0)
		r = pg_copy_take(cp, job, pg_snap_data_rows, &w, &res, err);
	return r < 0 ? r : pg_snap_data_finish(&w, &res);
}

/*
 * First pass over several connections: the tables' rows interleaved as
 * they come (pg_copy_next), so the server reads as many tables at once
 * as there are connections, each into its own stream.  Streams begin in
 * plan order all the same (a sink walks an earlier snapshot alongside).
 * at[j] is job j's entry index in e.
 */
static int pg_snap_data_interleaved(struct pg_snap *s, const struct pg_sink *k,
				    struct pg_copy *cp,
				    const struct pg_snap_entry *e,
				    const size_t *at, size_t njobs, void **st,
				    struct buf *err)
{
	struct pg_snap_data_writer *w = calloc(njobs ? njobs : 1, sizeof(*w));
	struct pg_copy_event ev;
	size_t begun = 0;
	int r;

	if (!w)
		return -ENOMEM;
	while ((r = pg_copy_next(cp, &ev, err)) == 1) {
		for (; begun <= ev.job && r >= 0; begun++) {
			const struct pg_snap_entry *x = &e[at[begun]];

			r = pg_snap_data_begin(s, k, x->table, x->path,
					       &st[at[begun]], &w[begun]);
		}
		if (r >= 0)
			r = ev.end ? pg_snap_data_finish(&w[ev.job], &ev.res)
				   : pg_snap_data_rows(&w[ev.job], ev.data,
						       ev.len);
		if (r < 0)
			break;
	}
	free(w);
	return r;
}

/* First pass: a large object's bytes (entry path) into a new stream. */
static int pg_snap_data_lo(struct pg_snap *s, const struct pg_sink *k,
			   unsigned oid, const char *path, void **st,
			   struct buf *err)
{
	char chunk[65536], what[64];
	int fd, n = 0, r;

	snprintf(what, sizeof(what), "large object %u", oid);
	fd = lo_open(s->main, oid, INV_READ);
	if (fd < 0)
		return pg_conn_error(s->main, NULL, what, err);
	r = k->stream_begin(k->ctx, PG_SINK_GENERAL, path, st);
	while (r == 0 && (n = lo_read(s->main, fd, chunk, sizeof(chunk))) > 0) {
		r = k->stream_write(k->ctx, *st, chunk, (size_t)n);
		if (r == 0 && s->o.interrupt && *s->o.interrupt) {
			r = -EINTR;
			if (err)
				buf_addf(err, "%s: interrupted", what);
		}
	}
	if (r == 0 && n < 0)
		r = pg_conn_error(s->main, NULL, what, err);
	if (r == 0)
		r = k->stream_end(k->ctx, *st);
	lo_close(s->main, fd);
	return r;
}

/* A tail candidate's stream (pg-snap-tail.c): the previous data.sql
 * without its "\\." line, continued; a sink that cannot makes it a
 * whole read. */
static int pg_snap_data_tail_begin(struct pg_snap *s, const struct pg_sink *k,
				   size_t i, const char *path, void **st)
{
	struct pg_snap_tail *x = &s->tail[i];
	struct buf b = BUF_INIT;
	int r;

	if (!x->candidate)
		return 0;
	r = pg_snap_data_copy_sql(&b, &s->cat.tables[i], x->where);
	if (r == 0 && !(x->sql = buf_detach(&b, NULL)))
		r = -ENOMEM;
	buf_release(&b);
	if (r < 0)
		return r;
	r = k->stream_begin_after ? k->stream_begin_after(k->ctx, path,
							   "\\.\n", 3, st) : 1;
	if (r == 1) {
		s->tail[i].candidate = 0;
		*st = NULL;
		r = 0;
	}
	return r;
}

/* After the first pass: the tables whose tail was refused, read whole
 * on the same connections. */
static int pg_snap_data_whole(struct pg_snap *s, const struct pg_sink *k,
			      const struct pg_snap_entry *e, size_t n,
			      void **st, const struct pg_copy_opts *co,
			      struct buf *err)
{
	struct pg_copy_job *jobs = calloc(n ? n : 1, sizeof(*jobs));
	size_t *at = calloc(n ? n : 1, sizeof(*at));
	struct pg_copy *cp = NULL;
	size_t nj = 0;
	int r;

	if (!jobs || !at) {
		free(jobs);
		free(at);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		if (e[i].kind != PG_SNAP_E_DATA || !s->tail[e[i].table].fallback)
			continue;
		jobs[nj].sql = s->copy_sql[e[i].table];
		jobs[nj].label = s->labels[e[i].table];
		at[nj++] = i;
	}
	r = nj ? pg_copy_start(&cp, jobs, nj, co, err) : 0;
	for (size_t j = 0; j < nj && r == 0; j++)
		r = pg_snap_data_table(s, k, cp, j, e[at[j]].table,
				       e[at[j]].path, &st[at[j]], err);
	pg_copy_free(cp);
	free(jobs);
	free(at);
	return r;
}

/* Tables go in plan order, which is the order pg_copy prefetches them
 * in, and the entries' (path) order: a sink may walk an earlier
 * snapshot's manifest forward alongside. */
int pg_snap_data_read(struct pg_snap *s, const struct pg_sink *k,
		      const struct pg_snap_entry *e, size_t n, void **st,
		      struct buf *err)
{
	struct pg_copy_job *jobs = calloc(n ? n : 1, sizeof(*jobs));
	const struct pg_hashstate **resume = calloc(n ? n : 1, sizeof(*resume));
	size_t *at = calloc(n ? n : 1, sizeof(*at));
	struct pg_copy *cp = NULL;
	struct pg_copy_opts co;
	size_t njobs = 0, job = 0;
	int r = 0;

	if (!jobs || !at || !resume) {
		free(jobs);
		free(at);
		free(resume);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n && r == 0; i++) {
		struct pg_snap_tail *x = &s->tail[e[i].table];

		if (e[i].kind != PG_SNAP_E_DATA || s->tables[e[i].table].reused)
			continue;
		r = pg_snap_data_tail_begin(s, k, e[i].table, e[i].path, &st[i]);
		jobs[njobs].sql = x->candidate ? x->sql : s->copy_sql[e[i].table];
		jobs[njobs].label = s->labels[e[i].table];
		resume[njobs] = x->candidate ? &x->resume : NULL;
		at[njobs] = i;
		njobs++;
	}
	memset(&co, 0, sizeof(co));
	co.conns = s->nworkers ? s->workers : &s->main;
	co.nconns = s->nworkers ? s->nworkers : 1;
	co.interrupt = s->o.interrupt;
	co.resume = resume;
	if (r == 0)
		r = pg_copy_start(&cp, jobs, njobs, &co, err);
	for (size_t i = 0; i < n && r == 0; i++) {
		struct pg_snap_table *t = &s->tables[e[i].table];

		if (e[i].kind != PG_SNAP_E_DATA)
			continue;
		if (t->reused) {
			if (s->o.progress)	/* counted as done, not read */
				s->o.progress(s->o.progress_ctx, t, 1);
		} else if (co.nconns == 1) {
			r = pg_snap_data_table(s, k, cp, job++, e[i].table,
					       e[i].path, &st[i], err);
		}
	}
	if (r == 0 && co.nconns > 1)
		r = pg_snap_data_interleaved(s, k, cp, e, at, njobs, st, err);
	pg_copy_free(cp);
	co.resume = NULL;
	if (r == 0)
		r = pg_snap_data_whole(s, k, e, n, st, &co, err);
	/* the main connection is free again for the large objects */
	for (size_t i = 0; i < n && r == 0; i++)
		if (e[i].kind == PG_SNAP_E_LO)
			r = pg_snap_data_lo(s, k, e[i].oid, e[i].path, &st[i],
					    err);
	free(jobs);
	free(at);
	free(resume);
	return r;
}

int pg_snap_data_reread(struct pg_snap *s, const struct pg_sink *k, size_t i,
			const char *path, void **st, struct buf *err)
{
	struct pg_snap_table *t = &s->tables[i];
	struct pg_snap_table was = *t;
	struct pg_copy_job job = { s->copy_sql[i], s->labels[i] };
	struct pg_copy_opts co;
	struct pg_copy *cp = NULL;
	int r;

	memset(&co, 0, sizeof(co));
	co.conns = &s->main;
	co.nconns = 1;
	co.interrupt = s->o.interrupt;
	r = pg_copy_start(&cp, &job, 1, &co, err);
	if (r == 0)
		r = pg_snap_data_table(s, k, cp, 0, i, path, st, err);
	pg_copy_free(cp);
	if (r < 0)
		return r;
	/* meta.json, already emitted, holds the previous snapshot's */
	if (t->rows != was.rows || t->bytes != was.bytes ||
	    strcmp(t->xxh3, was.xxh3)) {
		if (err)
			buf_addf(err, "table %s changed although its statistics say it did not since snapshot %.12s",
				 s->labels[i], s->prev_id);
		return -EIO;
	}
	return 0;
}

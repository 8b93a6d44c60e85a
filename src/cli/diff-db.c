/*
 * diff-db: the database half of `vault diff` (see diff-db.h).
 *
 * Tables are compared from their meta.json entries first: the same row
 * count, checksum (XXH3-128 of the rows), columns and key mean the same
 * rows, and nothing is read.  Otherwise pg-rowdiff reads both data.sql
 * files at once: each side is streamed from the repository on a thread
 * of its own (through a fork of the snapshot's rs_input, which keeps
 * its manifest position from table to table, so the tables go in
 * manifest order) into a socket the row reader pulls from.  Memory:
 * a row per side, the sockets' buffers, and pg-rowdiff's store.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "diff-db.h"
#include "diff-db-int.h"
#include "json.h"
#include "pg-ddl-diff.h"
#include "pg-rowdiff.h"
#include "repo.h"
#include "restore-repo.h"

/* meta.json is a few hundred bytes per table; this is a million tables */
#define DIFF_DB_META_MAX	((size_t)1 << 30)

/* ---- opening ------------------------------------------------------------- */

/* The path of the snapshot's meta.json when it holds a database (its
 * record's "db" member, formats/db-layout.md), else NULL. */
static char *diff_db_meta_path(const struct repo_snapinfo *s, int *e)
{
	const struct json *db;
	struct json *j = NULL;
	char *path = NULL;

	if (!s->meta_json ||
	    json_parse(&j, s->meta_json, strlen(s->meta_json), NULL) < 0)
		return NULL;
	db = json_get(j, "db");
	if (json_type(db) == JSON_OBJECT)
		path = json_get_strdup(db, "meta", e);
	json_free(j);
	return path;
}

/* Side i's meta.json: 1 read, 0 no database, <0 an error (err). */
static int diff_db_side_open(struct diff_db *dd, int i, struct buf *why)
{
	struct diff_db_side *s = &dd->s[i];
	struct repo_snapinfo info;
	struct buf doc = BUF_INIT;
	char *path = NULL;
	int e = repo_snapshot_info(dd->r, s->id, &info, &dd->err);

	if (e < 0)
		return e;
	path = diff_db_meta_path(&info, &e);
	repo_snapinfo_release(&info);
	if (!path)
		return e;
	e = restore_input_init(&s->in, dd->r, s->id);
	s->in_ok = e == 0;
	if (e == 0)
		e = rs_input_slurp(&s->in, path, &doc, DIFF_DB_META_MAX, &dd->err);
	/* a document this vault cannot read: compare the files instead */
	if (e == 0 && rs_meta_parse(&s->meta, (const char *)doc.data, doc.len,
				    why) < 0)
		e = 0;
	else if (e == 0)
		e = 1;
	buf_release(&doc);
	free(path);
	return e;
}

static int diff_db_has(char *const *v, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(v[i], name))
			return 1;
	return 0;
}

/* The tables a side's --table / --exclude-table left out that the other
 * side holds: not compared, said once. */
static void diff_db_scope_tables(struct diff_db *dd)
{
	struct buf only = BUF_INIT;

	for (int i = 0; i < 2; i++) {
		const struct rs_meta *m = dd->s[i].meta, *o = dd->s[!i].meta;
		size_t k = 0;

		for (size_t j = 0; j < m->nleft_out; j++) {
			const struct rs_meta_rel *t = &m->left_out[j];

			if (!rs_meta_find(o, t->schema, t->name))
				continue;
			if (++k > 8) {
				if (k == 9)
					buf_addstr(&only, ", ...");
				continue;
			}
			if (k > 1)
				buf_addstr(&only, ", ");
			else
				buf_addf(&only, "%sleft out of %.8s: ", only.len ? "; " : "",
					 dd->s[i].id);
			cli_quote(&only, t->schema, strlen(t->schema));
			buf_addch(&only, '.');
			cli_quote(&only, t->name, strlen(t->name));
		}
	}
	if (only.len)
		cli_warn(dd->c, "tables one snapshot's --table or --exclude-table "
			 "left out are not compared (%s)", (const char *)only.data);
	buf_release(&only);
}

/* Two captures of other scopes (--schema, --exclude-schema): the tables
 * of a schema captured on one side only are not really added or
 * dropped, so say so once; the tables --table left out are not
 * compared at all. */
static void diff_db_scope(struct diff_db *dd)
{
	struct buf only = BUF_INIT;

	diff_db_scope_tables(dd);

	for (int i = 0; i < 2; i++) {
		const struct rs_meta *m = dd->s[i].meta, *o = dd->s[!i].meta;
		size_t k = 0;

		for (size_t j = 0; j < m->nschemas; j++) {
			if (diff_db_has(o->schemas, o->nschemas, m->schemas[j]))
				continue;
			if (k++)
				buf_addstr(&only, ", ");
			else
				buf_addf(&only, "%sonly %s %.8s: ", only.len ? "; " : "",
					 i ? "after, in" : "before, in", dd->s[i].id);
			cli_quote(&only, m->schemas[j], strlen(m->schemas[j]));
		}
	}
	if (only.len)
		cli_warn(dd->c, "the snapshots captured other schemas (%s): their "
			 "tables show as dropped or added",
			 (const char *)only.data);
	buf_release(&only);
}

int diff_db_open(struct cli *c, struct repo *r, const char *id1,
		 const char *id2, struct diff_db **out)
{
	struct diff_db *dd = calloc(1, sizeof(*dd));
	struct buf why = BUF_INIT;
	int e = 0, have = 1;

	*out = NULL;
	if (!dd) {
		cli_error(c, "out of memory");
		return CLI_EXIT_ERROR;
	}
	dd->c = c;
	dd->r = r;
	dd->s[0].id = id1;
	dd->s[1].id = id2;
	buf_init(&dd->line, 0);
	buf_init(&dd->err, 0);
	for (int i = 0; i < 2 && e >= 0 && have; i++) {
		e = diff_db_side_open(dd, i, &why);
		have = e > 0;
	}
	if (e < 0) {
		cli_fail(c, e, &dd->err, "cannot read the database of snapshot %.8s",
			 dd->s[dd->s[0].meta ? 1 : 0].id);
		diff_db_free(dd);
		buf_release(&why);
		return CLI_EXIT_ERROR;
	}
	if (!have && why.len)
		cli_warn(c, "cannot compare the databases (%s): db/ is listed as files",
			 (const char *)why.data);
	buf_release(&why);
	if (!have) {
		diff_db_free(dd);
		return 0;
	}
	diff_db_scope(dd);
	*out = dd;
	return 0;
}

void diff_db_free(struct diff_db *dd)
{
	if (!dd)
		return;
	for (int i = 0; i < 2; i++) {
		if (dd->s[i].in_ok)
			restore_input_release(&dd->s[i].in);
		rs_meta_free(dd->s[i].meta);
	}
	for (size_t i = 0; i < dd->nlo; i++)
		free(dd->lo[i].oid);
	free(dd->lo);
	buf_release(&dd->line);
	buf_release(&dd->err);
	free(dd);
}

/* ---- the manifest's db/ entries ------------------------------------------ */

static int diff_db_lo_add(struct diff_db *dd, const char *oid, size_t len,
			  int change)
{
	if (dd->nlo == dd->lo_cap) {
		size_t cap = dd->lo_cap ? 2 * dd->lo_cap : 16;
		struct diff_db_lo *v = realloc(dd->lo, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		dd->lo = v;
		dd->lo_cap = cap;
	}
	dd->lo[dd->nlo].oid = strndup(oid, len);
	if (!dd->lo[dd->nlo].oid)
		return -ENOMEM;
	dd->lo[dd->nlo++].change = change;
	return 0;
}

/* Segments of p[0..n) split at '/' (at most max); how many there are. */
static size_t diff_db_segments(const char *p, size_t n, const char **seg,
			       size_t *len, size_t max)
{
	size_t k = 0;

	while (k < max) {
		const char *sl = memchr(p, '/', n);

		seg[k] = p;
		len[k] = sl ? (size_t)(sl - p) : n;
		k++;
		if (!sl)
			return k;
		n -= (size_t)(sl - p) + 1;
		p = sl + 1;
	}
	return max + 1;
}

static int diff_db_is(const char *s, size_t n, const char *what)
{
	return n == strlen(what) && !memcmp(s, what, n);
}

int diff_db_entry(struct diff_db *dd, const struct manifest_entry *a,
		  const struct manifest_entry *b, int changed)
{
	static const struct {
		const char *name;
		unsigned flag;
	} files[] = {
		{ "meta.json", 0 }, { "schema.sql", DIFF_DB_SCHEMA },
		{ "roles.sql", DIFF_DB_ROLES },
		{ "sequences.sql", DIFF_DB_SEQUENCES },
		{ "large_objects.sql", DIFF_DB_LO_SQL },
	};
	const struct manifest_entry *e = a ? a : b;
	int differ = changed || !a || !b;
	const char *seg[5];
	size_t len[5], n;

	if (e->kind == MANIFEST_DIR)
		return 1;
	if (e->kind != MANIFEST_FILE || e->path_len <= 3)
		return 0;
	n = diff_db_segments(e->path + 3, e->path_len - 3, seg, len, 4);
	for (size_t i = 0; n == 1 && i < sizeof(files) / sizeof(*files); i++) {
		if (!diff_db_is(seg[0], len[0], files[i].name))
			continue;
		if (differ)
			dd->files |= files[i].flag;
		return 1;
	}
	if (n == 2 && diff_db_is(seg[0], len[0], "large_objects")) {
		int r = differ ? diff_db_lo_add(dd, seg[1], len[1],
						!a ? PG_DDL_ADDED : !b ? PG_DDL_DROPPED :
						PG_DDL_CHANGED) : 0;

		return r < 0 ? r : 1;
	}
	return n == 4 && diff_db_is(seg[1], len[1], "tables") &&
	       (diff_db_is(seg[3], len[3], "data.sql") ||
		diff_db_is(seg[3], len[3], "schema.sql"));
}

/* ---- streaming a side's data.sql ----------------------------------------- */

/* One side of a table being compared: a thread pushes the file from the
 * repository into a socket the row reader pulls from. */
struct diff_db_feed {
	struct rs_input in;	/* this side's own way into the repository */
	int forked;
	const char *path;
	const char *snap;	/* its snapshot (full id), for messages */
	int fd, wfd;		/* read end; write end (the thread's) */
	pthread_t th;
	int running;
	int rc;			/* the thread's result */
	struct buf err;
};

struct diff_db_rows {
	struct diff_db *dd;
	struct diff_db_feed feed[2];
	const char *path[2];		/* the table's data.sql on each side */
};

static int diff_db_feed_sink(void *ctx, const void *p, size_t n)
{
	struct diff_db_feed *f = ctx;

	while (n) {
		/* MSG_NOSIGNAL: a reader that gave up is EPIPE, not SIGPIPE */
		ssize_t w = send(f->wfd, p, n, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		p = (const char *)p + w;
		n -= (size_t)w;
	}
	return 0;
}

static void *diff_db_feed_main(void *arg)
{
	struct diff_db_feed *f = arg;

	f->rc = rs_input_stream(&f->in, f->path, diff_db_feed_sink, f, &f->err);
	close(f->wfd);
	f->wfd = -1;
	return NULL;
}

static void diff_db_feed_join(struct diff_db_feed *f)
{
	if (f->running)
		pthread_join(f->th, NULL);
	f->running = 0;
}

static ssize_t diff_db_feed_read(void *ctx, void *p, size_t n, struct buf *err)
{
	struct diff_db_feed *f = ctx;
	ssize_t r;

	do
		r = read(f->fd, p, n);
	while (r < 0 && errno == EINTR);
	if (r < 0) {
		int e = errno;

		buf_seterr(err, "%s of snapshot %.8s: %s", f->path, f->snap,
			   strerror(e));
		return -e;
	}
	if (r > 0)
		return r;
	/* the end: the file's, or the thread's error */
	diff_db_feed_join(f);
	if (f->rc < 0) {
		buf_seterr(err, "%s of snapshot %.8s: %s", f->path, f->snap,
			   f->err.len ? (const char *)f->err.data :
			   strerror(-f->rc));
		return f->rc;
	}
	return 0;
}

static int diff_db_feed_open(void *ctx, int side, pg_copyrow_read_fn *read,
			     void **rctx, struct buf *err)
{
	struct diff_db_rows *rw = ctx;
	struct diff_db_feed *f = &rw->feed[side];
	struct rs_input *in = &rw->dd->s[side].in;
	int sv[2], r = 0;

	if (!f->forked)
		r = in->fork(in->ctx, &f->in, err);
	f->forked = r == 0;
	if (r < 0)
		return r;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		r = -errno;
		buf_seterr(err, "socketpair: %s", strerror(-r));
		return r;
	}
	f->fd = sv[0];
	f->wfd = sv[1];
	f->path = rw->path[side];
	f->snap = rw->dd->s[side].id;
	f->rc = 0;
	buf_reset(&f->err);
	r = pthread_create(&f->th, NULL, diff_db_feed_main, f);
	if (r) {
		close(sv[0]);
		close(sv[1]);
		f->fd = -1;
		buf_seterr(err, "cannot start a thread: %s", strerror(r));
		return -r;
	}
	f->running = 1;
	*read = diff_db_feed_read;
	*rctx = f;
	return 0;
}

static void diff_db_feed_close(void *ctx, int side)
{
	struct diff_db_feed *f = &((struct diff_db_rows *)ctx)->feed[side];

	/* the thread's next send fails: it stops and closes its end */
	if (f->fd >= 0)
		close(f->fd);
	f->fd = -1;
	diff_db_feed_join(f);
}

/* ---- the tables ---------------------------------------------------------- */

struct diff_db_pair {
	const struct rs_meta_table *a, *b;
	char *path[2];			/* their data.sql (NULL: none) */
};

/* "<dir>/data.sql", malloc'ed (NULL on ENOMEM). */
static char *diff_db_data_path(const struct rs_meta_table *t)
{
	struct buf b = BUF_INIT;

	if (buf_addf(&b, "%s/data.sql", t->path) < 0)
		return NULL;
	return buf_detach(&b, NULL);
}

static int diff_db_name_cmp(const void *x, const void *y)
{
	const struct rs_meta_table *a = *(const struct rs_meta_table *const *)x;
	const struct rs_meta_table *b = *(const struct rs_meta_table *const *)y;
	int c = strcmp(a->schema, b->schema);

	return c ? c : strcmp(a->name, b->name);
}

static int diff_db_path_cmp(const void *x, const void *y)
{
	const struct diff_db_pair *a = x, *b = y;
	const char *p = a->path[1] ? a->path[1] : a->path[0];
	const char *q = b->path[1] ? b->path[1] : b->path[0];

	return manifest_path_cmp(p, strlen(p), q, strlen(q));
}

/* m's tables that hold rows on a side, by schema and name. */
static const struct rs_meta_table **diff_db_sorted(const struct rs_meta *m,
						   size_t *n)
{
	const struct rs_meta_table **v = calloc(m->ntables + 1, sizeof(*v));

	*n = 0;
	if (!v)
		return NULL;
	for (size_t i = 0; i < m->ntables; i++)
		if (m->tables[i].has_data)
			v[(*n)++] = &m->tables[i];
	qsort(v, *n, sizeof(*v), diff_db_name_cmp);
	return v;
}

static void diff_db_pairs_free(struct diff_db_pair *p, size_t n)
{
	for (size_t i = 0; p && i < n; i++) {
		free(p[i].path[0]);
		free(p[i].path[1]);
	}
	free(p);
}

/* The tables of both sides paired by name, in manifest order. */
static struct diff_db_pair *diff_db_pairs(struct diff_db *dd, size_t *np)
{
	size_t na, nb, i = 0, k = 0, n = 0;
	const struct rs_meta_table **a = diff_db_sorted(dd->s[0].meta, &na);
	const struct rs_meta_table **b = diff_db_sorted(dd->s[1].meta, &nb);
	struct diff_db_pair *p = a && b ? calloc(na + nb + 1, sizeof(*p)) : NULL;
	int ok = p != NULL;

	while (ok && (i < na || k < nb)) {
		int c = i == na ? 1 : k == nb ? -1 : diff_db_name_cmp(&a[i], &b[k]);

		p[n].a = c <= 0 ? a[i++] : NULL;
		p[n].b = c >= 0 ? b[k++] : NULL;
		for (int s = 0; s < 2; s++) {
			const struct rs_meta_table *t = s ? p[n].b : p[n].a;

			if (t && !(p[n].path[s] = diff_db_data_path(t)))
				ok = 0;
		}
		n++;
	}
	free(a);
	free(b);
	if (!ok) {
		diff_db_pairs_free(p, n);
		return NULL;
	}
	qsort(p, n, sizeof(*p), diff_db_path_cmp);
	*np = n;
	return p;
}

static int diff_db_same_names(char *const *x, size_t nx, char *const *y,
			      size_t ny)
{
	if (nx != ny)
		return 0;
	for (size_t i = 0; i < nx; i++)
		if (strcmp(x[i], y[i]))
			return 0;
	return 1;
}

static void diff_db_rowtable(struct pg_rowdiff_table *rt,
			     const struct rs_meta_table *t)
{
	rt->t.schema = t->schema;
	rt->t.name = t->name;
	rt->t.cols = t->cols;
	rt->t.ncols = t->ncols;
	rt->pk = t->pk;
	rt->npk = t->npk;
	rt->rows = t->rows;
}

static void diff_db_num(char *out, size_t n, int have, uint64_t v)
{
	if (have)
		snprintf(out, n, "%llu", (unsigned long long)v);
	else
		snprintf(out, n, "-");
}

/* One table's line (or JSON object).  res NULL: a table added or
 * dropped, known from meta.json alone. */
static void diff_db_table_out(struct diff_db *dd, const struct diff_db_pair *p,
			      const struct pg_rowdiff_result *res)
{
	const struct rs_meta_table *t = p->b ? p->b : p->a;
	const char *change = !p->a ? "added" : !p->b ? "dropped" : "changed";
	uint64_t added = res ? res->added : p->b ? p->b->rows : 0;
	uint64_t removed = res ? res->removed : p->a ? p->a->rows : 0;
	int multiset = res && res->method == PG_ROWDIFF_MULTISET;
	char v[5][24];

	dd->rows_added += added;
	dd->rows_removed += removed;
	dd->rows_changed += res ? res->changed : 0;
	if (dd->json) {
		struct cli_json *j = dd->json;

		cli_json_begin_object(j, NULL);
		cli_json_str(j, "schema", t->schema);
		cli_json_str(j, "name", t->name);
		cli_json_str(j, "change", change);
		cli_json_str(j, "method", res ? pg_rowdiff_method_name(res->method) : "meta");
		if (p->a)
			cli_json_u64(j, "rows_before", p->a->rows);
		else
			cli_json_null(j, "rows_before");
		if (p->b)
			cli_json_u64(j, "rows_after", p->b->rows);
		else
			cli_json_null(j, "rows_after");
		cli_json_u64(j, "added", added);
		cli_json_u64(j, "removed", removed);
		if (multiset)
			cli_json_null(j, "changed");
		else
			cli_json_u64(j, "changed", res ? res->changed : 0);
		if (res && res->why[0])
			cli_json_str(j, "merge_gave_up", res->why);
		cli_json_end_object(j);
		return;
	}
	if (!dd->titled) {
		buf_addstr(&dd->line, "Tables (rows):\n"
			   "    added  removed  changed   before    after  table");
		diff_db_emit(dd);
		dd->titled = 1;
	}
	diff_db_num(v[0], sizeof(v[0]), 1, added);
	diff_db_num(v[1], sizeof(v[1]), 1, removed);
	diff_db_num(v[2], sizeof(v[2]), !multiset, res ? res->changed : 0);
	diff_db_num(v[3], sizeof(v[3]), p->a != NULL, p->a ? p->a->rows : 0);
	diff_db_num(v[4], sizeof(v[4]), p->b != NULL, p->b ? p->b->rows : 0);
	buf_addf(&dd->line, "%9s %8s %8s %8s %8s  ", v[0], v[1], v[2], v[3], v[4]);
	cli_quote(&dd->line, t->schema, strlen(t->schema));
	buf_addch(&dd->line, '.');
	cli_quote(&dd->line, t->name, strlen(t->name));
	if (!p->a || !p->b)
		buf_addf(&dd->line, " (%s)", change);
	else if (multiset)
		buf_addf(&dd->line, " (%s: rows counted)",
			 !p->a->npk || !p->b->npk ? "no primary key" :
			 !diff_db_same_names(p->a->pk, p->a->npk, p->b->pk,
					     p->b->npk) ? "primary key changed" :
			 "key not captured");
	diff_db_emit(dd);
}

/* r, with dd->err naming table t when pg-rowdiff's message does not
 * (the repository's errors name a pack and a blob). */
static int diff_db_table_err(struct diff_db *dd, const struct rs_meta_table *t,
			     int r)
{
	struct buf msg = BUF_INIT;

	if (dd->err.len >= 6 && !memcmp(dd->err.data, "table ", 6))
		return r;
	if (buf_addf(&msg, "table %s.%s: %s", t->schema, t->name,
		     dd->err.len ? (const char *)dd->err.data : strerror(-r)) == 0) {
		buf_reset(&dd->err);
		buf_add(&dd->err, msg.data, msg.len);
	}
	buf_release(&msg);
	return r;
}

/* Compares pair p; prints it when its rows differ.  0 or <0 (dd->err). */
static int diff_db_table(struct diff_db *dd, struct diff_db_rows *rw,
			 const struct diff_db_pair *p)
{
	const struct rs_meta_table *a = p->a, *b = p->b;
	struct pg_rowdiff_table ta, tb;
	struct pg_rowdiff_result res;
	struct pg_rowdiff_io io = { rw, diff_db_feed_open, diff_db_feed_close };
	int r;

	if (!a || !b) {
		if (diff_db_left_out(dd, a ? 1 : 0, (a ? a : b)->schema,
				     (a ? a : b)->name)) {
			dd->tables.left_out++;
			return 0;
		}
		if (a)
			dd->tables.dropped++;
		else
			dd->tables.added++;
		diff_db_table_out(dd, p, NULL);
		return 0;
	}
	if (a->rows == b->rows && !strcmp(a->xxh3, b->xxh3) &&
	    diff_db_same_names(a->cols, a->ncols, b->cols, b->ncols) &&
	    diff_db_same_names(a->pk, a->npk, b->pk, b->npk)) {
		dd->tables.unchanged++;
		return 0;
	}
	diff_db_rowtable(&ta, a);
	diff_db_rowtable(&tb, b);
	rw->path[0] = p->path[0];
	rw->path[1] = p->path[1];
	r = pg_rowdiff_run(&ta, &tb, &io, NULL, &res, &dd->err);
	if (r < 0)
		return diff_db_table_err(dd, a, r);
	if (!res.added && !res.removed && !res.changed) {
		dd->tables.unchanged++;
		return 0;
	}
	dd->tables.changed++;
	diff_db_table_out(dd, p, &res);
	return 0;
}

static int diff_db_tables(struct diff_db *dd)
{
	struct diff_db_rows rw;
	struct diff_db_pair *p;
	size_t n = 0;
	int r = 0;

	memset(&rw, 0, sizeof(rw));
	rw.dd = dd;
	for (int i = 0; i < 2; i++) {
		rw.feed[i].fd = rw.feed[i].wfd = -1;
		buf_init(&rw.feed[i].err, 0);
	}
	p = diff_db_pairs(dd, &n);
	if (!p)
		r = -ENOMEM;
	dd->titled = 0;
	if (dd->json)
		cli_json_begin_array(dd->json, "tables");
	for (size_t i = 0; i < n && r == 0; i++) {
		r = diff_db_table(dd, &rw, &p[i]);
		if (r == 0 && dd->json && dd->json->err)
			r = dd->json->err;
	}
	if (dd->json)
		cli_json_end_array(dd->json);
	diff_db_pairs_free(p, n);
	for (int i = 0; i < 2; i++) {
		diff_db_feed_close(&rw, i);
		if (rw.feed[i].forked)
			rs_input_release(&rw.feed[i].in);
		buf_release(&rw.feed[i].err);
	}
	return r;
}

/* ---- the whole ----------------------------------------------------------- */

static void diff_db_summary(struct diff_db *dd)
{
	const struct diff_db_counts *t = &dd->tables, *o = &dd->objects;
	struct cli_json *j = dd->json;

	if (j) {
		cli_json_u64(j, "tables_added", t->added);
		cli_json_u64(j, "tables_dropped", t->dropped);
		cli_json_u64(j, "tables_changed", t->changed);
		cli_json_u64(j, "tables_unchanged", t->unchanged);
		cli_json_u64(j, "tables_not_compared", t->left_out);
		cli_json_u64(j, "rows_added", dd->rows_added);
		cli_json_u64(j, "rows_removed", dd->rows_removed);
		cli_json_u64(j, "rows_changed", dd->rows_changed);
		cli_json_u64(j, "objects_added", o->added);
		cli_json_u64(j, "objects_dropped", o->dropped);
		cli_json_u64(j, "objects_changed", o->changed);
		return;
	}
	if (!t->added && !t->dropped && !t->changed && !o->added &&
	    !o->dropped && !o->changed)
		return;
	buf_addf(&dd->line,
		 "database: %llu tables changed, %llu added, %llu dropped, %llu unchanged; "
		 "rows: %llu added, %llu removed, %llu changed; "
		 "schema objects: %llu added, %llu dropped, %llu changed",
		 (unsigned long long)t->changed, (unsigned long long)t->added,
		 (unsigned long long)t->dropped, (unsigned long long)t->unchanged,
		 (unsigned long long)dd->rows_added,
		 (unsigned long long)dd->rows_removed,
		 (unsigned long long)dd->rows_changed,
		 (unsigned long long)o->added, (unsigned long long)o->dropped,
		 (unsigned long long)o->changed);
	if (t->left_out)
		buf_addf(&dd->line, "; %llu tables not compared (left out by --table)",
			 (unsigned long long)t->left_out);
	diff_db_emit(dd);
}

int diff_db_run(struct diff_db *dd, struct cli_json *json)
{
	int r;

	dd->json = json;
	if (json)
		cli_json_begin_object(json, "database");
	r = diff_db_objects(dd);
	if (r)
		return r;
	r = diff_db_tables(dd);
	if (r < 0)
		return cli_fail(dd->c, r, &dd->err, "cannot compare the tables");
	diff_db_summary(dd);
	if (json)
		cli_json_end_object(json);
	return 0;
}

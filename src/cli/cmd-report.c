/*
 * cmd-report: `vault report --html FILE | --json` gathers what a person
 * wants to see of a repository, without writing to it:
 *   - every snapshot's size figures (the records), summed over time;
 *   - the repository's size and deduplication ratio (repo_stats);
 *   - the last good snapshot of each group of one host and source, the
 *     groups prune uses (store/policy.h): the newest that is whole and no
 *     safety snapshot (read as `vault list` reads them);
 *   - for each database, the tables that changed between its newest
 *     snapshot and the one before: db/meta.json of both (row counts,
 *     bytes and checksums per table, formats/db-layout.md), read through
 *     the verified reader.
 * report-html.c draws the page; the JSON is printed here.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "json.h"
#include "policy.h"
#include "repo.h"
#include "report-html.h"
#include "restore-repo.h"
#include "rs-input.h"
#include "rs-meta.h"

const char cmd_report_usage[] =
	"usage: vault report [--html FILE] [--json] [--top N]\n"
	"\n"
	"Reports on the repository: its size and the bytes each snapshot\n"
	"added over time, the deduplication ratio, the last good snapshot\n"
	"(whole, no safety snapshot) of each host and source with its age,\n"
	"and for each database the tables that changed most between its two\n"
	"newest snapshots.  The repository is only read.\n"
	"\n"
	"      --html FILE  write one self-contained HTML page (charts in\n"
	"                   inline SVG; it loads nothing) to FILE ('-': stdout)\n"
	"      --json       print the same data as JSON\n"
	"      --top N      tables shown per database (default 10; 0: all)\n"
	"  -h, --help       show this help\n";

enum {
	REPORT_OPT_HTML = CLI_OPT_FIRST_VERB,
	REPORT_OPT_JSON,
	REPORT_OPT_TOP,
};

#define REPORT_TOP_DEFAULT 10
/* meta.json is a few hundred bytes per table; this is a million tables */
#define REPORT_META_MAX ((size_t)1 << 30)

void report_release(struct report *rp)
{
	if (!rp)
		return;
	for (size_t i = 0; i < rp->nsnaps; i++) {
		free(rp->snaps[i].hostname);
		free(rp->snaps[i].source);
		free(rp->snaps[i].db_source);
		free(rp->snaps[i].db_name);
		free(rp->snaps[i].db_meta);
	}
	free(rp->snaps);
	free(rp->groups);
	for (size_t i = 0; i < rp->ndbs; i++) {
		for (size_t k = 0; k < rp->dbs[i].ntables; k++) {
			free(rp->dbs[i].tables[k].schema);
			free(rp->dbs[i].tables[k].name);
		}
		free(rp->dbs[i].tables);
		free(rp->dbs[i].error);
	}
	free(rp->dbs);
	memset(rp, 0, sizeof(*rp));
}

/* ---- gathering ---------------------------------------------------------------- */

struct report_gather {
	struct report *rp;
	size_t cap;
};

/* The "db" member of a snapshot's metadata, if it holds a database. */
static int report_snap_db(struct report_snap *s, const char *meta)
{
	const struct json *db;
	struct json *j = NULL;
	int e = 0;

	if (!meta || json_parse(&j, meta, strlen(meta), NULL) < 0)
		return 0;	/* free-form: no database that we can tell */
	db = json_get(j, "db");
	if (json_type(db) == JSON_OBJECT) {
		s->db_source = json_get_strdup(db, "source", &e);
		if (!s->db_source && !e)
			s->db_source = strdup("");
		if (!s->db_source)
			e = -ENOMEM;
		s->db_name = json_get_strdup(db, "database", &e);
		s->db_meta = json_get_strdup(db, "meta", &e);
	}
	json_free(j);
	return e;
}

static int report_add_snap(const struct repo_snapinfo *in, void *ctx)
{
	struct report_gather *g = ctx;
	struct report *rp = g->rp;
	struct report_snap *s;

	if (rp->nsnaps == g->cap) {
		size_t cap = g->cap ? 2 * g->cap : 64;
		void *p = realloc(rp->snaps, cap * sizeof(*rp->snaps));

		if (!p)
			return -ENOMEM;
		rp->snaps = p;
		g->cap = cap;
	}
	s = &rp->snaps[rp->nsnaps++];
	memset(s, 0, sizeof(*s));
	memcpy(s->id, in->id, sizeof(s->id));
	s->time = in->time;
	s->safety = repo_snapinfo_is_safety(in);
	s->skipped = cli_snap_skipped(in);
	s->entries = in->entries;
	s->bytes_read = in->bytes_read;
	s->bytes_added = in->bytes_added;
	s->bytes_stored = in->bytes_stored;
	s->stored_total = s->bytes_stored +
			  (rp->nsnaps > 1 ? s[-1].stored_total : 0);
	s->hostname = strdup(in->hostname ? in->hostname : "");
	s->source = strdup(in->source ? in->source : "");
	if (!s->hostname || !s->source)
		return -ENOMEM;
	return report_snap_db(s, in->meta_json);
}

/* The groups prune would make (by group_by: host and source unless
 * told); safety snapshots, which hold no backup, are in none. */
static int report_groups(struct report *rp, unsigned group_by)
{
	struct policy_snap *ps;
	struct policy p;
	size_t n = 0;
	int e;

	if (!rp->nsnaps)
		return 0;
	ps = calloc(rp->nsnaps, sizeof(*ps));
	if (!ps)
		return -ENOMEM;
	for (size_t i = 0; i < rp->nsnaps; i++) {
		ps[i].time = rp->snaps[i].time;
		ps[i].hostname = rp->snaps[i].hostname;
		ps[i].source = rp->snaps[i].source;
		ps[i].safety = rp->snaps[i].safety;
	}
	policy_init(&p);
	p.group_by = group_by;
	e = policy_apply(&p, ps, rp->nsnaps);
	/* regular groups are numbered first, from 0 without gaps */
	for (size_t i = 0; e == 0 && i < rp->nsnaps; i++)
		if (!ps[i].safety && ps[i].group + 1 > n)
			n = ps[i].group + 1;
	if (e == 0 && n) {
		rp->groups = calloc(n, sizeof(*rp->groups));
		if (!rp->groups)
			e = -ENOMEM;
	}
	if (e == 0)
		rp->ngroups = n;
	for (size_t i = 0; i < rp->ngroups; i++)
		rp->groups[i].last_good = SIZE_MAX;
	for (size_t i = 0; e == 0 && i < rp->nsnaps; i++) {
		struct report_group *g;

		if (ps[i].safety)
			continue;
		g = &rp->groups[ps[i].group];
		g->count++;
		g->newest = i;	/* oldest first: the last one wins */
		if (!rp->snaps[i].skipped)
			g->last_good = i;
		g->hostname = rp->snaps[i].hostname;
		g->source = rp->snaps[i].source;
	}
	free(ps);
	return e;
}

/* A snapshot's db/meta.json, parsed.  0, or -errno with err saying why. */
static int report_meta_read(struct repo *r, const struct report_snap *s,
			    struct rs_meta **m, struct buf *err)
{
	struct rs_input in;
	struct buf doc = BUF_INIT;
	int e = restore_input_init(&in, r, s->id);

	*m = NULL;
	if (e == 0) {
		e = rs_input_slurp(&in, s->db_meta ? s->db_meta : "db/meta.json",
				   &doc, REPORT_META_MAX, err);
		restore_input_release(&in);
	}
	if (e == 0)
		e = rs_meta_parse(m, (const char *)doc.data, doc.len, err);
	buf_release(&doc);
	return e;
}

static int report_meta_cmp(const void *a, const void *b)
{
	const struct rs_meta_table *x = *(const struct rs_meta_table *const *)a;
	const struct rs_meta_table *y = *(const struct rs_meta_table *const *)b;
	int c = strcmp(x->schema, y->schema);

	return c ? c : strcmp(x->name, y->name);
}

/* The tables of m that hold rows, sorted by schema and name (m == NULL:
 * none).  NULL only on ENOMEM. */
static const struct rs_meta_table **report_meta_sorted(const struct rs_meta *m,
							size_t *n)
{
	const struct rs_meta_table **v;

	*n = 0;
	v = malloc(((m ? m->ntables : 0) + 1) * sizeof(*v));
	if (!v)
		return NULL;
	for (size_t i = 0; m && i < m->ntables; i++)
		if (m->tables[i].has_data)
			v[(*n)++] = &m->tables[i];
	qsort(v, *n, sizeof(*v), report_meta_cmp);
	return v;
}

static uint64_t report_absdiff(uint64_t a, uint64_t b)
{
	return a > b ? a - b : b - a;
}

/* The biggest change first: bytes, then rows, then a changed checksum,
 * then by name, so the order is the same on every run. */
static int report_table_cmp(const void *a, const void *b)
{
	const struct report_table *x = a, *y = b;
	uint64_t dx = report_absdiff(x->bytes_old, x->bytes_new);
	uint64_t dy = report_absdiff(y->bytes_old, y->bytes_new);
	int c;

	if (dx != dy)
		return dx > dy ? -1 : 1;
	dx = report_absdiff(x->rows_old, x->rows_new);
	dy = report_absdiff(y->rows_old, y->rows_new);
	if (dx != dy)
		return dx > dy ? -1 : 1;
	if (x->checksum_changed != y->checksum_changed)
		return y->checksum_changed - x->checksum_changed;
	c = strcmp(x->schema, y->schema);
	return c ? c : strcmp(x->name, y->name);
}

/* Adds the table a (old side) / b (new side) to d when it changed. */
static int report_table_add(struct report_db *d, const struct rs_meta_table *a,
			    const struct rs_meta_table *b)
{
	const struct rs_meta_table *t = b ? b : a;
	struct report_table *x;
	void *p;

	d->compared++;
	if (a && b && a->rows == b->rows && a->bytes == b->bytes &&
	    !strcmp(a->xxh3, b->xxh3))
		return 0;
	p = realloc(d->tables, (d->ntables + 1) * sizeof(*d->tables));
	if (!p)
		return -ENOMEM;
	d->tables = p;
	x = &d->tables[d->ntables];
	memset(x, 0, sizeof(*x));
	x->change = a && b ? REPORT_TABLE_CHANGED : b ? REPORT_TABLE_ADDED :
		    REPORT_TABLE_DROPPED;
	if (a) {
		x->rows_old = a->rows;
		x->bytes_old = a->bytes;
	}
	if (b) {
		x->rows_new = b->rows;
		x->bytes_new = b->bytes;
	}
	x->checksum_changed = !a || !b || strcmp(a->xxh3, b->xxh3) != 0;
	x->schema = strdup(t->schema);
	x->name = strdup(t->name);
	d->ntables++;
	d->changed++;
	return x->schema && x->name ? 0 : -ENOMEM;
}

/* Every table of old (may be NULL) and new, merged by name. */
static int report_db_diff(struct report_db *d, const struct rs_meta *old,
			  const struct rs_meta *new)
{
	size_t na, nb, i = 0, k = 0;
	const struct rs_meta_table **a = report_meta_sorted(old, &na);
	const struct rs_meta_table **b = report_meta_sorted(new, &nb);
	int e = a && b ? 0 : -ENOMEM;

	while (e == 0 && (i < na || k < nb)) {
		int c = i == na ? 1 : k == nb ? -1 : report_meta_cmp(&a[i], &b[k]);

		e = report_table_add(d, c <= 0 ? a[i] : NULL,
				     c >= 0 ? b[k] : NULL);
		i += c <= 0;
		k += c >= 0;
	}
	if (e == 0)
		qsort(d->tables, d->ntables, sizeof(*d->tables),
		      report_table_cmp);
	free(a);
	free(b);
	return e;
}

/* Reads both sides of d and compares them.  A meta.json that cannot be
 * read is told (a warning, and d->error in the report), not fatal: the
 * rest of the report stands.  0 or -ENOMEM. */
static int report_db_compare(struct cli *c, struct repo *r, struct report *rp,
			     struct report_db *d)
{
	struct rs_meta *old = NULL, *new = NULL;
	struct buf err = BUF_INIT;
	const struct report_snap *bad = &rp->snaps[d->newest];
	int e = report_meta_read(r, bad, &new, &err);

	if (e == 0 && d->previous != SIZE_MAX) {
		bad = &rp->snaps[d->previous];
		e = report_meta_read(r, bad, &old, &err);
	}
	if (e == 0)
		e = report_db_diff(d, old, new);
	else if (e != -ENOMEM) {
		if (!err.len)
			buf_addstr(&err, strerror(-e));
		d->error = strdup((const char *)err.data);
		cli_warn(c, "snapshot %.8s: cannot read its database's tables: %s",
			 bad->id, (const char *)err.data);
		e = d->error ? 0 : -ENOMEM;
	}
	rs_meta_free(old);
	rs_meta_free(new);
	buf_release(&err);
	return e;
}

/* One report_db per database (host and masked connection), each found
 * at its newest snapshot. */
static int report_dbs(struct cli *c, struct repo *r, struct report *rp)
{
	int e = 0;

	for (size_t i = rp->nsnaps; i-- > 0;) {
		const struct report_snap *s = &rp->snaps[i];
		struct report_db *d = NULL;
		void *p;

		if (s->safety || !s->db_source)
			continue;
		/* the same connection from another host may well be
		 * another database (a local socket): never compare those */
		for (size_t k = 0; k < rp->ndbs && !d; k++)
			if (!strcmp(rp->dbs[k].source, s->db_source) &&
			    !strcmp(rp->dbs[k].hostname, s->hostname))
				d = &rp->dbs[k];
		if (d) {
			if (d->previous == SIZE_MAX)
				d->previous = i;
			continue;
		}
		p = realloc(rp->dbs, (rp->ndbs + 1) * sizeof(*rp->dbs));
		if (!p)
			return -ENOMEM;
		rp->dbs = p;
		d = &rp->dbs[rp->ndbs++];
		memset(d, 0, sizeof(*d));
		d->hostname = s->hostname;
		d->source = s->db_source;
		d->database = s->db_name;
		d->newest = i;
		d->previous = SIZE_MAX;
	}
	for (size_t k = 0; e == 0 && k < rp->ndbs; k++)
		e = report_db_compare(c, r, rp, &rp->dbs[k]);
	return e;
}

/* ---- JSON ------------------------------------------------------------------------ */

void report_json_ref(struct cli_json *j, const char *key,
		     const struct report *rp, size_t i)
{
	if (i == SIZE_MAX) {
		cli_json_null(j, key);
		return;
	}
	cli_json_begin_object(j, key);
	cli_json_str(j, "id", rp->snaps[i].id);
	cli_json_time(j, "time", rp->snaps[i].time);
	cli_json_i64(j, "unix_time", rp->snaps[i].time);
	cli_json_i64(j, "age_seconds", rp->now - rp->snaps[i].time);
	cli_json_end_object(j);
}

static void report_json_ratio(struct cli_json *j, const char *key,
			      uint64_t a, uint64_t b)
{
	if (b)
		cli_json_double(j, key, (double)a / (double)b);
	else
		cli_json_null(j, key);
}

static void report_json_snap(struct cli_json *j, const struct report_snap *s)
{
	cli_json_begin_object(j, NULL);
	cli_json_str(j, "id", s->id);
	cli_json_time(j, "time", s->time);
	cli_json_i64(j, "unix_time", s->time);
	cli_json_str(j, "kind", s->safety ? "safety" : "backup");
	cli_json_str(j, "hostname", s->hostname);
	cli_json_str(j, "source", s->source);
	cli_json_bool(j, "partial", s->skipped != 0);
	cli_json_bool(j, "database", s->db_source != NULL);
	cli_json_u64(j, "entries", s->entries);
	cli_json_u64(j, "bytes_read", s->bytes_read);
	cli_json_u64(j, "bytes_added", s->bytes_added);
	cli_json_u64(j, "bytes_stored", s->bytes_stored);
	cli_json_u64(j, "stored_total", s->stored_total);
	report_json_ratio(j, "dedup_ratio", s->bytes_read, s->bytes_added);
	cli_json_end_object(j);
}

/* A count of one side of a table, null when the table is not there. */
static void report_json_side(struct cli_json *j, const char *key, int there,
			     uint64_t v)
{
	if (there)
		cli_json_u64(j, key, v);
	else
		cli_json_null(j, key);
}

static void report_json_db(struct cli_json *j, const struct report *rp,
			   const struct report_db *d)
{
	static const char *const changes[] = { "changed", "added", "dropped" };
	size_t shown = rp->top && d->ntables > rp->top ? rp->top : d->ntables;

	cli_json_begin_object(j, NULL);
	/* NULL strings are written as null */
	cli_json_str(j, "hostname", d->hostname);
	cli_json_str(j, "source", d->source);
	cli_json_str(j, "database", d->database);
	report_json_ref(j, "newest", rp, d->newest);
	report_json_ref(j, "previous", rp, d->previous);
	cli_json_str(j, "error", d->error);
	cli_json_u64(j, "tables_compared", d->compared);
	cli_json_u64(j, "tables_changed", d->changed);
	cli_json_begin_array(j, "tables");
	for (size_t k = 0; k < shown; k++) {
		const struct report_table *t = &d->tables[k];
		int old = t->change != REPORT_TABLE_ADDED;
		int new = t->change != REPORT_TABLE_DROPPED;

		cli_json_begin_object(j, NULL);
		cli_json_str(j, "schema", t->schema);
		cli_json_str(j, "name", t->name);
		cli_json_str(j, "change", changes[t->change]);
		report_json_side(j, "rows_before", old, t->rows_old);
		report_json_side(j, "rows_after", new, t->rows_new);
		cli_json_i64(j, "rows_delta", (int64_t)(t->rows_new - t->rows_old));
		report_json_side(j, "bytes_before", old, t->bytes_old);
		report_json_side(j, "bytes_after", new, t->bytes_new);
		cli_json_i64(j, "bytes_delta",
			     (int64_t)(t->bytes_new - t->bytes_old));
		cli_json_bool(j, "checksum_changed", t->checksum_changed);
		cli_json_end_object(j);
	}
	cli_json_end_array(j);
	cli_json_end_object(j);
}

static int report_json(const struct report *rp)
{
	const struct repo_stats *st = &rp->stats;
	struct cli_json j;

	cli_json_init(&j);
	cli_json_begin_object(&j, NULL);
	cli_json_str(&j, "repository", rp->repo_path);
	cli_json_bool(&j, "encrypted", rp->encrypted);
	cli_json_time(&j, "generated", rp->now);
	cli_json_i64(&j, "unix_generated", rp->now);
	cli_json_begin_object(&j, "stats");
	cli_json_u64(&j, "snapshots", st->snapshots);
	cli_json_u64(&j, "packs", st->packs);
	cli_json_u64(&j, "chunks", st->chunks);
	cli_json_u64(&j, "stored_bytes", st->stored_bytes);
	cli_json_u64(&j, "raw_bytes", st->raw_bytes);
	cli_json_u64(&j, "referenced_bytes", st->referenced_raw);
	report_json_ratio(&j, "dedup_ratio", st->referenced_raw, st->raw_bytes);
	report_json_ratio(&j, "compression_ratio", st->raw_bytes,
			  st->stored_bytes);
	cli_json_end_object(&j);
	report_json_ref(&j, "last_good", rp, report_last_good(rp));
	cli_json_begin_array(&j, "groups");
	for (size_t i = 0; i < rp->ngroups; i++) {
		const struct report_group *g = &rp->groups[i];

		cli_json_begin_object(&j, NULL);
		cli_json_str(&j, "hostname", g->hostname);
		cli_json_str(&j, "source", g->source);
		cli_json_u64(&j, "snapshots", g->count);
		report_json_ref(&j, "newest", rp, g->newest);
		cli_json_bool(&j, "newest_partial", rp->snaps[g->newest].skipped != 0);
		report_json_ref(&j, "last_good", rp, g->last_good);
		cli_json_end_object(&j);
	}
	cli_json_end_array(&j);
	cli_json_begin_array(&j, "databases");
	for (size_t i = 0; i < rp->ndbs; i++)
		report_json_db(&j, rp, &rp->dbs[i]);
	cli_json_end_array(&j);
	cli_json_begin_array(&j, "snapshots");
	for (size_t i = 0; i < rp->nsnaps; i++)
		report_json_snap(&j, &rp->snaps[i]);
	cli_json_end_array(&j);
	cli_json_end_object(&j);
	return cli_json_finish(&j);
}

/* ---- the verb ------------------------------------------------------------------- */

/* Writes page to path whole or not at all: a temporary file beside it,
 * renamed over it.  "-" is standard output.  0 or -errno. */
static int report_write(const char *path, const struct buf *page)
{
	struct buf tmp = BUF_INIT;
	int fd, e;

	if (!strcmp(path, "-"))
		return cli_write_all(1, page->data, page->len);
	if (buf_addf(&tmp, "%s.tmp-%ld", path, (long)getpid()) < 0)
		return -ENOMEM;
	fd = open((const char *)tmp.data, O_WRONLY | O_CREAT | O_EXCL |
		  O_CLOEXEC, 0666);
	if (fd < 0) {
		e = -errno;
		buf_release(&tmp);
		return e;
	}
	e = cli_write_all(fd, page->data, page->len);
	if (close(fd) < 0 && e == 0)
		e = -errno;
	if (e == 0 && rename((const char *)tmp.data, path) < 0)
		e = -errno;
	if (e < 0)
		unlink((const char *)tmp.data);
	buf_release(&tmp);
	return e;
}

int report_snapshots(struct cli *c, struct repo *r, struct report *rp,
		     unsigned group_by)
{
	struct report_gather g = { rp, 0 };
	struct buf err = BUF_INIT;
	int e;

	rp->repo_path = repo_path(r);
	rp->encrypted = repo_encrypted(r);
	rp->now = (int64_t)time(NULL);
	e = repo_snapshot_list(r, NULL, report_add_snap, &g, &err);
	if (e < 0)
		cli_fail(c, e, &err, "cannot list snapshots");
	else if ((e = report_groups(rp, group_by)) < 0)
		cli_fail(c, e, NULL, "cannot group the snapshots");
	buf_release(&err);
	return e < 0 ? CLI_EXIT_ERROR : 0;
}

/* Everything the report shows, from r.  0 or an exit code (printed). */
static int report_gather(struct cli *c, struct repo *r, struct report *rp)
{
	struct buf err = BUF_INIT;
	int e;

	if (report_snapshots(c, r, rp, POLICY_GROUP_HOST | POLICY_GROUP_SOURCE))
		return CLI_EXIT_ERROR;
	e = repo_stats(r, &rp->stats, &err);
	if (e < 0) {
		cli_fail(c, e, &err, "cannot compute statistics");
		goto out;
	}
	e = report_dbs(c, r, rp);
	if (e < 0)
		cli_fail(c, e, NULL, "cannot make the report");
out:
	buf_release(&err);
	return e < 0 ? CLI_EXIT_ERROR : 0;
}

int cmd_report(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "html", required_argument, NULL, REPORT_OPT_HTML },
		{ "json", no_argument, NULL, REPORT_OPT_JSON },
		{ "top", required_argument, NULL, REPORT_OPT_TOP },
		CLI_GLOBAL_OPTIONS
	};
	struct report rp = { 0 };
	struct buf page = BUF_INIT;
	struct repo *r = NULL;
	const char *html = NULL;
	uint64_t top = REPORT_TOP_DEFAULT;
	int o, e, json = 0, ret = CLI_EXIT_ERROR;

	while ((o = cli_getopt(c, argc, argv, "", opts)) != CLI_OPT_END) {
		switch (o) {
		case REPORT_OPT_HTML:
			html = optarg;
			break;
		case REPORT_OPT_JSON:
			json = 1;
			break;
		case REPORT_OPT_TOP:
			if (cli_parse_u64(optarg, 0, 1000000, &top) < 0)
				return cli_usage_error(c, "--top needs a number of tables (0: all), not '%s'",
						       optarg);
			break;
		case CLI_OPT_HELP:
			return CLI_EXIT_OK;
		default:
			return CLI_EXIT_USAGE;
		}
	}
	if (optind < argc)
		return cli_usage_error(c, "unexpected argument '%s'", argv[optind]);
	if (!html && !json)
		return cli_usage_error(c, "say where the report goes: --html FILE or --json");
	if (html && !*html)
		return cli_usage_error(c, "--html needs a file name");
	if (html && json && !strcmp(html, "-"))
		return cli_usage_error(c, "--html - and --json would both go to standard output");
	if (cli_open(c, &r, 0) || report_gather(c, r, &rp))
		goto out;
	rp.top = (size_t)top;
	if (html) {
		e = report_html_write(&rp, &page);
		if (e == 0)
			e = report_write(html, &page);
		if (e < 0) {
			cli_error(c, "cannot write the report to %s: %s", html,
				  strerror(-e));
			goto out;
		}
	}
	if (json && report_json(&rp) < 0) {
		cli_error(c, "cannot write to standard output");
		goto out;
	}
	if (html && !json && strcmp(html, "-")) {
		size_t g = report_last_good(&rp);
		char age[48];

		if (g != SIZE_MAX)
			report_age(rp.now - rp.snaps[g].time, age, sizeof(age));
		printf("wrote %s: %zu snapshot%s, last good snapshot %s%s\n",
		       html, rp.nsnaps, rp.nsnaps == 1 ? "" : "s",
		       g == SIZE_MAX ? "none" : age, g == SIZE_MAX ? "" : " ago");
	}
	ret = CLI_EXIT_OK;
out:
	report_release(&rp);
	buf_release(&page);
	repo_free(r);
	return ret;
}

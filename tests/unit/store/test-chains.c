/*
 * test-chains: delta chunks through the store (writer-delta.c, chain.c,
 * index-bases.c and what prune, check and rebuild do with them).
 *
 * A "table" of rows is written version after version, each version's
 * stream given the previous one's chunks as base candidates, and read
 * back: through read-ahead and through a view.  Chains are bounded at
 * depth 8 and then start again from their full chunk; a rewrite stores
 * full chunks; candidates the repository lacks are skipped.  Prune
 * keeps the bases kept versions need; check finds a damaged base and
 * names every path above it; rebuild-index recovers the links; the
 * sweep drops deltas whose chain lost a link; a version-1 index (before
 * deltas) is read as it is and upgraded by a writer.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sqlite3.h>

#include "blob.h"
#include "index.h"
#include "policy.h"
#include "repo.h"
#include "storefix.h"
#include "../tap.h"

#define NROWS 6000
#define PATH "t/data.sql"

/* The table: row i's kind has touched[i] "!"s; 2% touched a version. */
struct table {
	unsigned touched[NROWS];
	uint32_t seed;
};

static void table_touch(struct table *t, unsigned percent)
{
	for (size_t i = 0; i < NROWS; i++) {
		t->seed = t->seed * 1103515245u + 12345u;
		if ((t->seed >> 8) % 100 < percent)
			t->touched[i]++;
	}
}

static void table_text(const struct table *t, struct buf *b)
{
	buf_reset(b);
	buf_addstr(b, "COPY t (id, kind, who) FROM stdin;\n");
	for (size_t i = 0; i < NROWS; i++) {
		buf_addf(b, "%zu\t%s", i, i % 3 ? "view" : "login");
		for (unsigned k = 0; k < t->touched[i] % 12; k++)
			buf_addch(b, '!');
		buf_addf(b, "\t%08zx-%04zx-user%zu@example.com\n",
			 i * 2654435761u % 0xffffffffu, i % 9973, i % 777);
	}
	buf_addstr(b, "\\.\n");
}

/* A snapshot of one file, PATH, whose stream has base candidates c. */
static int snap_rows(struct repo *r, const struct buf *rows,
		     const struct repo_chunkref *c, size_t n, char id[65],
		     struct repo_totals *t)
{
	struct repo_commit_opts o = { .hostname = "testhost",
				      .source = "test" };
	struct repo_entry_meta m = { 0600, 0 };
	struct repo_writer *w = NULL;
	struct repo_stream *st = NULL;
	int rc = repo_writer_new(r, &w, &storefix_err);

	if (rc == 0)
		rc = repo_writer_dir(w, "t", &m);
	if (rc == 0)
		rc = repo_stream_begin(w, REPO_CHUNK_ROWS, &st);
	if (rc == 0 && n)
		rc = repo_stream_set_base(st, c, n);
	/* in odd pieces, as COPY hands them over */
	for (size_t off = 0, k = 1; rc == 0 && off < rows->len; k++) {
		size_t piece = 1000 + 7919 * k % 20000;

		if (piece > rows->len - off)
			piece = rows->len - off;
		rc = repo_stream_write(st, rows->data + off, piece);
		off += piece;
	}
	if (rc == 0)
		rc = repo_stream_end(st);
	if (rc == 0) {
		rc = repo_writer_file_stream(w, PATH, &m, st);
		st = NULL;
	}
	if (rc == 0)
		rc = repo_writer_file_end(w);
	if (rc == 0)
		rc = repo_writer_commit(w, &o, id, t, &storefix_err);
	if (rc < 0 && w && !storefix_err.len)
		buf_addstr(&storefix_err, repo_writer_error(w));
	repo_stream_free(st);
	repo_writer_free(w);
	return rc;
}

/* PATH's chunks in snapshot id (malloc'ed), or -1. */
static ssize_t chunks_of(struct repo *r, const char *id,
			 struct repo_chunkref **out)
{
	const struct manifest_entry *e;
	const struct manifest_chunk *mc;
	struct repo_iter *it = NULL;
	ssize_t got = -1;
	size_t n;

	*out = NULL;
	if (repo_iter_new(r, id, &it, &storefix_err) < 0)
		return -1;
	while (repo_iter_next(it, &e, &storefix_err) == 1) {
		if (strcmp(e->path, PATH))
			continue;
		if (repo_iter_chunks(it, &mc, &n, &storefix_err) < 0)
			break;
		*out = calloc(n ? n : 1, sizeof(**out));
		for (size_t i = 0; *out && i < n; i++) {
			memcpy((*out)[i].id, mc[i].id, 32);
			(*out)[i].len = mc[i].len;
		}
		got = *out ? (ssize_t)n : -1;
		break;
	}
	repo_iter_free(it);
	return got;
}

/* PATH of snapshot id read back, through read-ahead or a view. */
static int read_rows(struct repo *r, const char *id, int view,
		     struct buf *out)
{
	const struct manifest_entry *e;
	struct repo_view *v = NULL;
	struct repo_iter *it = NULL;
	int rc, found = 0;

	buf_reset(out);
	rc = view ? repo_view_open(r, &v, &storefix_err) : 0;
	if (rc == 0)
		rc = view ? repo_view_iter(v, id, &it, &storefix_err)
			  : repo_iter_new(r, id, &it, &storefix_err);
	while (rc >= 0 && (rc = repo_iter_next(it, &e, &storefix_err)) == 1) {
		if (strcmp(e->path, PATH))
			continue;
		found = 1;
		rc = repo_iter_read(it, storefix_sink_buf, out, &storefix_err);
		break;
	}
	repo_iter_free(it);
	repo_view_free(v);
	if (rc < 0 || !found)
		diag("reading %.8s: %s", id, rc < 0 ? (char *)storefix_err.data
		     : "no " PATH);
	return rc < 0 ? rc : found ? 0 : -ENOENT;
}

/* The deepest chain among PATH's chunks in snapshot id, by the index. */
static int max_depth(struct repo *r, const char *dir, const char *id,
		     int *n_deep)
{
	struct repo_chunkref *c = NULL;
	struct index *ix = NULL;
	struct index_loc loc;
	char path[400];
	ssize_t n = chunks_of(r, id, &c);
	int max = -1;

	snprintf(path, sizeof(path), "%s/index.db", dir);
	*n_deep = 0;
	if (n >= 0 && index_open_ro(&ix, path, &storefix_err) == 0) {
		max = 0;
		for (ssize_t i = 0; i < n && max >= 0; i++) {
			if (index_chunk_get(ix, c[i].id, &loc) != 1) {
				max = -1;
				break;
			}
			if (loc.depth > max)
				max = loc.depth;
			*n_deep += loc.depth == INDEX_MAX_DEPTH;
		}
	}
	index_free(ix);
	free(c);
	return max;
}

/* Whether a chunk of version id is chunk `bottom` or a delta whose
 * chain goes through it: 1, 0, or -1. */
static int above(struct repo *r, const char *dir, const char *id,
		 const uint8_t *bottom)
{
	struct repo_chunkref *c = NULL;
	struct index *ix = NULL;
	struct index_loc loc;
	uint8_t at[32];
	char path[400];
	ssize_t n = chunks_of(r, id, &c);
	int got = -1;

	snprintf(path, sizeof(path), "%s/index.db", dir);
	if (n >= 0 && index_open_ro(&ix, path, &storefix_err) == 0) {
		got = 0;
		for (ssize_t i = 0; !got && i < n; i++) {
			memcpy(at, c[i].id, 32);
			for (int k = 0; !got && k <= INDEX_MAX_DEPTH; k++) {
				got = !memcmp(at, bottom, 32);
				if (index_chunk_get(ix, at, &loc) != 1 ||
				    !loc.depth)
					break;
				memcpy(at, loc.base, 32);
			}
		}
	}
	index_free(ix);
	free(c);
	return got;
}

/* ---- writing and reading chains --------------------------------- */

#define NVER 12
#define KEEP_FROM 9	/* test_prune_check_rebuild keeps the last three */

static char ids[NVER][65];
static struct buf texts[NVER];

/* NVER versions, each on the previous one's chunks; 2% touched each. */
static int write_versions(struct repo *r, struct repo_totals *tot)
{
	struct table t;
	struct repo_chunkref *c = NULL;
	ssize_t n = 0;

	memset(&t, 0, sizeof(t));
	t.seed = 42;
	for (int v = 0; v < NVER; v++) {
		if (v)
			table_touch(&t, 2);
		buf_release(&texts[v]);
		buf_init(&texts[v], 0);
		table_text(&t, &texts[v]);
		if (snap_rows(r, &texts[v], c, (size_t)n, ids[v],
			      &tot[v]) < 0)
			return -1;
		free(c);
		n = chunks_of(r, ids[v], &c);
		if (n < 0)
			return -1;
	}
	free(c);
	return 0;
}

static void test_chains(int encrypted)
{
	const char *dir = storefix_path(encrypted ? "chains-enc" : "chains");
	const char *pass = encrypted ? "pw" : NULL;
	struct repo_totals tot[NVER];
	struct buf got = BUF_INIT;
	struct repo_check_result res;
	struct repo_check_opts co = { .read_data = 1 };
	struct repo *r = NULL;
	int bad = 0, bad_view = 0, deep = 0, d8 = -1;
	uint64_t sum = 0;
	const char *what = encrypted ? "encrypted" : "plain";

	repo_init(dir, encrypted, pass, pass ? 2 : 0, &storefix_err);
	storefix_config(dir, 256u << 10);
	is_int(storefix_open(&r, dir, 1, pass), 0, "%s: open", what);
	is_int(write_versions(r, tot), 0, "%s: %d versions of the table, each"
	       " on the last one's chunks (%s)", what, NVER,
	       (char *)storefix_err.data);
	ok(tot[0].chunks_delta == 0 && tot[1].chunks_delta * 2 >
	   tot[1].chunks_new, "%s: the first version is whole, most new"
	   " chunks of the second are deltas (%llu of %llu)", what,
	   (unsigned long long)tot[1].chunks_delta,
	   (unsigned long long)tot[1].chunks_new);
	/* a chunk whose candidate is 8 deep is a delta on the bottom of
	 * the chain, a bigger one (nine versions of changes: the tenth
	 * stays under half of the first), every other later version under
	 * a third, and most are far smaller */
	for (int v = 1; v < NVER; v++) {
		sum += tot[v].bytes_stored;
		if (tot[v].bytes_stored * (v == 9 ? 2 : 3) >
		    tot[0].bytes_stored) {
			diag("%s: version %d stored %llu (%llu deltas of %llu)",
			     what, v + 1,
			     (unsigned long long)tot[v].bytes_stored,
			     (unsigned long long)tot[v].chunks_delta,
			     (unsigned long long)tot[v].chunks_new);
			bad++;
		}
	}
	is_int(bad, 0, "%s: each later version stores under a third of the"
	       " first (the tenth under half)", what);
	ok(sum * 6 < tot[0].bytes_stored * (NVER - 1), "%s: and under a"
	   " sixth on average (%llu against %llu)", what,
	   (unsigned long long)(sum / (NVER - 1)),
	   (unsigned long long)tot[0].bytes_stored);
	bad = 0;
	for (int v = 0; v < NVER; v++) {
		bad += read_rows(r, ids[v], 0, &got) < 0 ||
		       got.len != texts[v].len ||
		       memcmp(got.data, texts[v].data, got.len);
		bad_view += read_rows(r, ids[v], 1, &got) < 0 ||
			    got.len != texts[v].len ||
			    memcmp(got.data, texts[v].data, got.len);
	}
	is_int(bad, 0, "%s: every version reads back (read-ahead)", what);
	is_int(bad_view, 0, "%s: and through a view", what);
	for (int v = 0; v < NVER; v++) {
		int m = max_depth(r, dir, ids[v], &deep);

		if (m > INDEX_MAX_DEPTH || m < 0)
			bad++;
		if (v == 8)
			d8 = m;
	}
	is_int(bad, 0, "%s: no chain is deeper than %d", what,
	       INDEX_MAX_DEPTH);
	is_int(d8, INDEX_MAX_DEPTH, "%s: the ninth version reached depth %d",
	       what, INDEX_MAX_DEPTH);
	ok(tot[9].chunks_delta * 2 > tot[9].chunks_new &&
	   tot[9].bytes_stored * 2 < tot[0].bytes_stored, "%s: past it, new"
	   " chunks are deltas on the bottom of their chain (%llu of %llu, %llu"
	   " bytes stored)", what, (unsigned long long)tot[9].chunks_delta,
	   (unsigned long long)tot[9].chunks_new,
	   (unsigned long long)tot[9].bytes_stored);
	is_int(repo_check(r, &co, &res, &storefix_err), 0,
	       "%s: check --read-data reads every chain", what);
	repo_free(r);
	buf_release(&got);
}

/* ---- what is not a delta ------------------------------------------ */

static void test_not_deltas(void)
{
	const char *dir = storefix_path("notdelta");
	struct repo_chunkref *c = NULL, fake[3];
	struct repo_totals t;
	struct buf a = BUF_INIT, b = BUF_INIT, got = BUF_INIT;
	struct table tb;
	struct repo *r = NULL;
	struct repo_writer *w = NULL;
	struct repo_stream *st = NULL;
	char id[65], id2[65];
	ssize_t n;

	repo_init(dir, 0, NULL, 0, &storefix_err);
	storefix_config(dir, 1u << 20);
	storefix_open(&r, dir, 1, NULL);
	memset(&tb, 0, sizeof(tb));
	table_text(&tb, &a);
	snap_rows(r, &a, NULL, 0, id, &t);
	n = chunks_of(r, id, &c);
	ok(n > 10, "a table of %zd chunks", n);

	/* other rows altogether: nothing to gain from a base */
	storefix_gen(&b, a.len, 77, 1);
	is_int(snap_rows(r, &b, c, (size_t)n, id2, &t), 0, "a rewrite");
	is_int(t.chunks_delta, 0, "a rewrite stores no delta");
	ok(read_rows(r, id2, 0, &got) == 0 && got.len == b.len &&
	   !memcmp(got.data, b.data, b.len), "and reads back");

	/* candidates the repository does not hold are skipped */
	memset(fake, 0x5a, sizeof(fake));
	for (int i = 0; i < 3; i++)
		fake[i].len = (uint32_t)(a.len / 3);
	table_touch(&tb, 3);
	table_text(&tb, &a);
	is_int(snap_rows(r, &a, fake, 3, id2, &t), 0, "candidates the"
	       " repository lacks");
	is_int(t.chunks_delta, 0, "are skipped: no delta");
	ok(read_rows(r, id2, 0, &got) == 0 && got.len == a.len &&
	   !memcmp(got.data, a.data, a.len), "and the rows read back");

	/* candidates come first */
	repo_writer_new(r, &w, &storefix_err);
	repo_stream_begin(w, REPO_CHUNK_ROWS, &st);
	repo_stream_write(st, "1\tx\n", 4);
	is_int(repo_stream_set_base(st, c, (size_t)n), -EINVAL,
	       "candidates after the first byte: -EINVAL");
	ok(strstr(repo_writer_error(w), "first byte") != NULL,
	   "the writer says why: %s", repo_writer_error(w));
	is_int(repo_stream_write(st, "2\ty\n", 4), 0, "and stays usable");
	repo_stream_free(st);
	repo_writer_free(w);
	free(c);
	repo_free(r);
	buf_release(&a);
	buf_release(&b);
	buf_release(&got);
}

/* ---- prune, check, rebuild ------------------------------------------ */

struct problems {
	int blobs, paths, index;
	char first_path[200];
};

static void problem_cb(void *ctx, const char *kind, const char *what,
		       const char *detail)
{
	struct problems *p = ctx;

	if (!strcmp(kind, "blob"))
		p->blobs++;
	else if (!strcmp(kind, "index"))
		p->index++;
	if (!strcmp(kind, "path")) {
		if (!p->paths++)
			snprintf(p->first_path, sizeof(p->first_path), "%s",
				 what);
	}
}

/* Flips a byte in the middle of the stored blob of chunk id. */
static int damage(const char *dir, const uint8_t *id)
{
	struct index *ix = NULL;
	struct index_loc loc;
	char path[400], hex[65];
	FILE *f;
	int c, rc = -1;

	snprintf(path, sizeof(path), "%s/index.db", dir);
	if (index_open_ro(&ix, path, NULL) < 0)
		return -1;
	if (index_chunk_get(ix, id, &loc) == 1) {
		hex_encode(hex, loc.pack, 32);
		snprintf(path, sizeof(path), "%s/packs/%.2s/%s.pack", dir, hex,
			 hex);
		f = fopen(path, "r+");
		if (f && fseek(f, (long)(loc.offset + loc.length / 2),
			       SEEK_SET) == 0 && (c = fgetc(f)) != EOF &&
		    fseek(f, -1, SEEK_CUR) == 0 && fputc(c ^ 0x40, f) != EOF)
			rc = 0;
		if (f)
			fclose(f);
	}
	index_free(ix);
	return rc;
}

static int depth_of(const char *dir, const uint8_t *id)
{
	struct index *ix = NULL;
	struct index_loc loc;
	char path[400];
	int d = -1;

	snprintf(path, sizeof(path), "%s/index.db", dir);
	if (index_open_ro(&ix, path, NULL) == 0 &&
	    index_chunk_get(ix, id, &loc) == 1)
		d = loc.depth;
	index_free(ix);
	return d;
}

static void test_prune_check_rebuild(void)
{
	const char *dir = storefix_path("pcr");
	struct repo_totals tot[NVER];
	struct repo_check_result res;
	struct problems pr = { 0, 0, 0, "" };
	struct repo_check_opts co = { .problem = problem_cb, .ctx = &pr };
	struct repo_prune_result pres;
	struct repo_chunkref *c = NULL;
	struct buf got = BUF_INIT;
	struct repo *r = NULL;
	ssize_t n;
	size_t mid = 0;
	int bad = 0, d, nabove = 0;

	repo_init(dir, 1, "pw", 2, &storefix_err);
	storefix_config(dir, 64u << 10);
	storefix_open(&r, dir, 1, "pw");
	is_int(write_versions(r, tot), 0, "prune: %d versions", NVER);
	/* all but the last three go: the first holds the bottom of every
	 * chain, which they still need; the deltas between are dead */
	for (int v = 0; v < KEEP_FROM; v++)
		bad += repo_snapshot_forget(r, ids[v], &storefix_err) < 0;
	is_int(bad, 0, "forget the first %d versions", KEEP_FROM);
	is_int(repo_prune(r, NULL, 0, NULL, &pres, &storefix_err), 0,
	       "prune (%llu packs deleted, %llu repacked)",
	       (unsigned long long)pres.packs_deleted,
	       (unsigned long long)pres.packs_repacked);
	ok(pres.packs_deleted + pres.packs_repacked > 0, "prune did work");
	for (int v = KEEP_FROM; v < NVER; v++)
		bad += read_rows(r, ids[v], 0, &got) < 0 ||
		       got.len != texts[v].len ||
		       memcmp(got.data, texts[v].data, got.len);
	is_int(bad, 0, "the kept versions read back: their bases were kept");
	co.read_data = 1;
	is_int(repo_check(r, &co, &res, &storefix_err), 0,
	       "check --read-data after the prune");

	/* rebuild-index: the links come back from the packs */
	n = chunks_of(r, ids[NVER - 1], &c);
	d = -1;
	for (ssize_t i = 0; d <= 0 && i < n; i++) {	/* from the middle */
		mid = (size_t)(n / 2 + i) % (size_t)n;
		d = depth_of(dir, c[mid].id);
	}
	ok(d > 0, "a chunk of the last version is a delta (depth %d)", d);
	repo_free(r);
	r = NULL;
	{
		char path[400];

		snprintf(path, sizeof(path), "%s/index.db", dir);
		unlink(path);
	}
	is_int(storefix_open(&r, dir, 3, "pw"), 0, "open to rebuild");
	is_int(repo_rebuild_index(r, NULL, &res, &storefix_err), 0,
	       "rebuild-index");
	is_int(depth_of(dir, c[mid].id), d, "the rebuilt index knows the"
	       " chunk is a delta at depth %d", d);
	bad = 0;
	for (int v = KEEP_FROM; v < NVER; v++)
		bad += read_rows(r, ids[v], 0, &got) < 0 ||
		       got.len != texts[v].len ||
		       memcmp(got.data, texts[v].data, got.len);
	is_int(bad, 0, "every version reads back after the rebuild");
	is_int(repo_check(r, &co, &res, &storefix_err), 0,
	       "check --read-data after the rebuild");

	/* damage: a full chunk at the bottom of chains */
	{
		struct index *ix = NULL;
		struct index_loc loc;
		char path[400];
		uint8_t bottom[32];
		int found = 0;

		snprintf(path, sizeof(path), "%s/index.db", dir);
		index_open_ro(&ix, path, NULL);
		memcpy(bottom, c[mid].id, 32);
		while (ix && index_chunk_get(ix, bottom, &loc) == 1) {
			if (!loc.depth) {
				found = 1;
				break;
			}
			memcpy(bottom, loc.base, 32);
		}
		index_free(ix);
		/* the versions whose chains go through it (a kept one may
		 * hold the rows of this range in a full chunk of its own) */
		for (int v = KEEP_FROM; found && v < NVER; v++)
			nabove += above(r, dir, ids[v], bottom) == 1;
		ok(found && damage(dir, bottom) == 0, "damage the full chunk at"
		   " the bottom of a chain");
	}
	memset(&pr, 0, sizeof(pr));
	co.read_data = 0;
	is_int(repo_check(r, &co, &res, &storefix_err), -EBADMSG,
	       "check finds it without reading data");
	ok(pr.blobs >= 1 && nabove >= 1 && pr.paths == nabove, "the damaged"
	   " blob (%d) and the path in every kept version above it (%d of %d,"
	   " e.g. %s)", pr.blobs, pr.paths, nabove, pr.first_path);
	memset(&pr, 0, sizeof(pr));
	co.read_data = 1;
	is_int(repo_check(r, &co, &res, &storefix_err), -EBADMSG,
	       "check --read-data too");
	ok(pr.blobs >= 2, "every delta read above it is damaged too (%d)",
	   pr.blobs);
	free(c);
	repo_free(r);
	buf_release(&got);
}

/* ---- salvage --------------------------------------------------------- */

/*
 * The pack holding delta id (its path into path), or -1; lost[v] is set
 * for each version whose snapshot record is in that pack too.
 */
static int pack_of(const char *dir, const uint8_t *id, char *path, size_t n,
		   int *lost)
{
	struct index *ix = NULL;
	struct index_loc loc, rec;
	uint8_t sid[32];
	char hex[65], db[400];
	int rc = -1;

	snprintf(db, sizeof(db), "%s/index.db", dir);
	if (index_open_ro(&ix, db, NULL) == 0 &&
	    index_chunk_get(ix, id, &loc) == 1 && loc.depth > 0) {
		hex_encode(hex, loc.pack, 32);
		snprintf(path, n, "%s/packs/%.2s/%s.pack", dir, hex, hex);
		for (int v = 0; v < NVER; v++)
			lost[v] = hex_decode(sid, 32, ids[v]) == 0 &&
				  index_chunk_get(ix, sid, &rec) == 1 &&
				  rec.pid == loc.pid;
		rc = 0;
	}
	index_free(ix);
	return rc;
}

/*
 * A pack of deltas loses its trailer, and the index is gone: rebuild
 * scans the pack, and the deltas it cannot name by themselves (no
 * trailer; encrypted, or a plaintext that needs its base) are named by
 * the snapshots that reference them.
 */
static void test_salvage(int encrypted)
{
	const char *dir = storefix_path(encrypted ? "salv-enc" : "salvage");
	const char *pass = encrypted ? "pw" : NULL;
	const char *what = encrypted ? "encrypted" : "plain";
	struct repo_totals tot[NVER];
	struct repo_check_result res;
	struct repo_chunkref *c = NULL;
	struct buf got = BUF_INIT;
	struct repo *r = NULL;
	char pack[400], db[400];
	struct stat st;
	ssize_t n;
	off_t cut = 0;
	int bad = 0, found = -1, lost[NVER] = { 0 }, nlost = 0, gone = 0;

	repo_init(dir, encrypted, pass, pass ? 2 : 0, &storefix_err);
	storefix_config(dir, 64u << 10);
	storefix_open(&r, dir, 1, pass);
	is_int(write_versions(r, tot), 0, "%s salvage: %d versions", what,
	       NVER);
	/* a pack of the middle version: later ones build on its deltas */
	n = chunks_of(r, ids[NVER / 2], &c);
	for (ssize_t i = 0; found < 0 && i < n; i++)
		found = pack_of(dir, c[i].id, pack, sizeof(pack), lost);
	repo_free(r);
	r = NULL;
	/* cut into the trailer (its length is the footer's first field) */
	if (found == 0 && stat(pack, &st) == 0) {
		uint8_t foot[4] = { 0 };
		FILE *f = fopen(pack, "r");

		if (!f || fseek(f, (long)st.st_size - 12, SEEK_SET) ||
		    fread(foot, 1, 4, f) != 4)
			found = -1;
		if (f)
			fclose(f);
		cut = 12 + (foot[0] | foot[1] << 8 | foot[2] << 16) / 2;
	}
	ok(found == 0 && cut > 12 && truncate(pack, st.st_size - cut) == 0,
	   "%s salvage: a pack of deltas loses its footer and half its"
	   " trailer", what);
	snprintf(db, sizeof(db), "%s/index.db", dir);
	unlink(db);
	is_int(storefix_open(&r, dir, 3, pass), 0, "%s salvage: open to"
	       " rebuild", what);
	is_int(repo_rebuild_index(r, NULL, &res, &storefix_err), -EBADMSG,
	       "%s salvage: rebuild-index reports the damaged pack", what);
	for (int v = 0; v < NVER; v++) {
		int fails = read_rows(r, ids[v], 0, &got) < 0 ||
			    got.len != texts[v].len ||
			    memcmp(got.data, texts[v].data, got.len);

		/* nothing names an encrypted record but itself */
		nlost += lost[v];
		if (encrypted && lost[v])
			gone += fails;
		else
			bad += fails;
	}
	is_int(bad, 0, "%s salvage: every version reads back, its deltas"
	       " named by the snapshots", what);
	if (encrypted)
		is_int(gone, nlost, "%s salvage: but the %d whose record was"
		       " in the pack, which nothing else names", what, nlost);
	free(c);
	repo_free(r);
	buf_release(&got);
}

/* ---- the sweep ------------------------------------------------------ */

static int add_id(void *ctx, const uint8_t *id)
{
	(*(int *)ctx)++;
	(void)id;
	return 0;
}

static void test_sweep(void)
{
	struct index *ix = NULL;
	struct index_loc loc;
	struct pack_entry e[4];
	uint8_t pa[32] = { 0xa }, pb[32] = { 0xb };
	int64_t pid_a = 0;
	uint64_t dropped = 0;
	int deps = 0;
	char path[300];

	snprintf(path, sizeof(path), "%s", storefix_path("sweep.db"));
	is_int(index_open(&ix, path, &storefix_err), 0, "a fresh index");
	/* pack a: the full chunk 1; pack b: 2 on 1, 3 on 2, and 4 whole */
	memset(e, 0, sizeof(e));
	for (int i = 0; i < 4; i++) {
		e[i].id[0] = (uint8_t)(i + 1);
		e[i].offset = 16 + 100 * (uint64_t)i;
		e[i].length = 50;
		e[i].type = 1;
		e[i].raw_len = 1000;
	}
	index_begin(ix, NULL);
	index_pack_add(ix, pa, 1000, e, 1, 0, 0, NULL);
	index_pack_add(ix, pb, 1000, e + 1, 3, 0, 0, NULL);
	is_int(index_base_add(ix, pb, e[1].id, e[0].id, 1, NULL) |
	       index_base_add(ix, pb, e[2].id, e[1].id, 2, NULL) |
	       index_base_add(ix, pa, e[3].id, e[0].id, 1, NULL), 0,
	       "links for 2 and 3 (and one for 4 in the wrong pack)");
	index_commit(ix, NULL);
	ok(index_chunk_get(ix, e[3].id, &loc) == 1 && loc.depth == 0,
	   "a link for a copy the row does not name is not recorded");
	ok(index_chunk_get(ix, e[2].id, &loc) == 1 && loc.depth == 2 &&
	   !memcmp(loc.base, e[1].id, 32), "3 is a delta on 2 at depth 2");
	index_chunk_dependents(ix, e[0].id, add_id, &deps, NULL);
	is_int(deps, 2, "1 carries 2 and 3");
	is_int(index_bases_sweep(ix, &dropped, NULL), 0, "sweep");
	is_int(dropped, 0, "whole chains: nothing to drop");
	/* pack a goes (as prune drops it): 1 is gone, 2 and 3 with it */
	index_begin(ix, NULL);
	if (index_chunk_get(ix, e[0].id, &loc) == 1)
		pid_a = loc.pid;
	index_pack_delete(ix, pid_a, NULL, NULL);
	is_int(index_bases_sweep(ix, &dropped, NULL), 0, "sweep after a"
	       " pack went");
	index_commit(ix, NULL);
	is_int(dropped, 2, "the deltas above the lost chunk are dropped");
	ok(index_chunk_get(ix, e[1].id, &loc) == 0 &&
	   index_chunk_get(ix, e[2].id, &loc) == 0 &&
	   index_chunk_get(ix, e[3].id, &loc) == 1, "2 and 3 are gone, 4"
	   " stays");
	index_free(ix);
}

/* ---- an index from before deltas ------------------------------------ */

static void test_old_index(void)
{
	const char *dir = storefix_path("old");
	struct repo_totals t;
	struct buf a = BUF_INIT, got = BUF_INIT;
	struct repo_chunkref *c = NULL;
	struct table tb;
	struct repo *r = NULL;
	sqlite3 *db = NULL;
	char id[65], id2[65], path[400];
	ssize_t n;

	repo_init(dir, 0, NULL, 0, &storefix_err);
	storefix_config(dir, 1u << 20);
	storefix_open(&r, dir, 1, NULL);
	memset(&tb, 0, sizeof(tb));
	table_text(&tb, &a);
	snap_rows(r, &a, NULL, 0, id, &t);
	repo_free(r);
	snprintf(path, sizeof(path), "%s/index.db", dir);
	ok(sqlite3_open(path, &db) == SQLITE_OK &&
	   sqlite3_exec(db, "DROP TABLE chunk_bases; PRAGMA user_version = 1;",
			NULL, NULL, NULL) == SQLITE_OK, "the index made version 1,"
	   " as before deltas");
	sqlite3_close(db);
	is_int(storefix_open(&r, dir, 0, NULL), 0, "a reader opens it");
	ok(read_rows(r, id, 0, &got) == 0 && got.len == a.len,
	   "and reads its snapshot");
	repo_free(r);
	is_int(storefix_open(&r, dir, 1, NULL), 0, "a writer upgrades it");
	n = chunks_of(r, id, &c);
	table_touch(&tb, 2);
	table_text(&tb, &a);
	is_int(snap_rows(r, &a, c, (size_t)n, id2, &t), 0, "and writes deltas"
	       " into it");
	ok(t.chunks_delta > 0 && read_rows(r, id2, 0, &got) == 0 &&
	   got.len == a.len && !memcmp(got.data, a.data, a.len),
	   "which read back (%llu deltas)", (unsigned long long)t.chunks_delta);
	free(c);
	repo_free(r);
	buf_release(&a);
	buf_release(&got);
}

int main(void)
{
	if (storefix_begin("chains") < 0)
		return 1;
	test_chains(0);
	test_chains(1);
	test_not_deltas();
	test_prune_check_rebuild();
	test_salvage(0);
	test_salvage(1);
	test_sweep();
	test_old_index();
	for (int v = 0; v < NVER; v++)
		buf_release(&texts[v]);
	storefix_end();
	return done_testing();
}

/*
 * test-pg-rowdiff: data.sql read back row by row (pg-copyrow), the
 * store of rows waiting for their partner (pg-rowdiff-store), and the
 * row diff itself (pg-rowdiff): the merge in key order where vault can
 * check the order, the fallback where it cannot (case-insensitive text,
 * NaN, a key order no byte or number order gives), multisets, columns
 * added, the checks on the files; then random tables compared three
 * ways (merge, matched in memory, matched on disk) against the counts
 * they were built with.  The sources hand out their bytes a few at a
 * time, so every row straddles reads.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../tap.h"
#include "pg-copyrow.h"
#include "pg-rowdiff.h"
#include "pg-rowdiff-store.h"

/* ---- sources ---------------------------------------------------------------- */

struct src {
	const char *p;
	size_t len, pos, chunk;
};

struct tio {
	struct buf doc[2];
	struct src s[2];
	int opens[2], open_now[2];
	size_t chunk;
};

static ssize_t src_read(void *ctx, void *p, size_t n, struct buf *err)
{
	struct src *s = ctx;
	size_t k = s->len - s->pos;

	(void)err;
	if (k > n)
		k = n;
	if (k > s->chunk)
		k = s->chunk;
	memcpy(p, s->p + s->pos, k);
	s->pos += k;
	return (ssize_t)k;
}

static int tio_open(void *ctx, int side, pg_copyrow_read_fn *read,
		    void **rctx, struct buf *err)
{
	struct tio *t = ctx;

	(void)err;
	t->s[side].p = (const char *)t->doc[side].data;
	t->s[side].len = t->doc[side].len;
	t->s[side].pos = 0;
	t->s[side].chunk = t->chunk ? t->chunk : 7;
	t->opens[side]++;
	t->open_now[side] = 1;
	*read = src_read;
	*rctx = &t->s[side];
	return 0;
}

static void tio_close(void *ctx, int side)
{
	struct tio *t = ctx;

	t->open_now[side] = 0;
}

static void tio_init(struct tio *t)
{
	memset(t, 0, sizeof(*t));
	buf_init(&t->doc[0], 0);
	buf_init(&t->doc[1], 0);
}

static void tio_release(struct tio *t)
{
	buf_release(&t->doc[0]);
	buf_release(&t->doc[1]);
}

/* data.sql of public.t with the rows given, one string per row */
static void mk(struct buf *b, const char *cols, const char *const *rows)
{
	buf_reset(b);
	buf_addf(b, "COPY \"public\".\"t\" (%s) FROM stdin;\n", cols);
	for (; *rows; rows++)
		buf_addf(b, "%s\n", *rows);
	buf_addstr(b, "\\.\n");
}

static char *id_v[] = { "id", "v" };
static char *id_only[] = { "id" };
static char *v_only[] = { "v" };

static const struct pg_rowdiff_table t_keyed = {
	{ "public", "t", id_v, 2 }, id_only, 1, UINT64_MAX,
};

static int run(struct tio *t, const struct pg_rowdiff_table *a,
	       const struct pg_rowdiff_table *b, const struct pg_rowdiff_opts *o,
	       struct pg_rowdiff_result *res, struct buf *err)
{
	struct pg_rowdiff_io io = { t, tio_open, tio_close };

	buf_reset(err);
	return pg_rowdiff_run(a, b, &io, o, res, err);
}

#define IS_RES(res, m, add, rem, chg, what) do { \
	is_int((res).method, (m), "%s: method", what); \
	is_int((res).added, (add), "%s: added", what); \
	is_int((res).removed, (rem), "%s: removed", what); \
	is_int((res).changed, (chg), "%s: changed", what); \
} while (0)

/* ---- pg-copyrow --------------------------------------------------------------- */

static void test_unescape(void)
{
	struct buf b = BUF_INIT;

	is_int(pg_copyrow_unescape("\\N", 2, &b), 1, "\\N is NULL");
	is_int(pg_copyrow_unescape("a\\tb\\\\c\\nd", 10, &b), 0, "escapes decode");
	ok(b.len == 7 && !memcmp(b.data, "a\tb\\c\nd", 7), "to tab, backslash, newline");
	buf_reset(&b);
	pg_copyrow_unescape("\\101\\x42\\q\\", 11, &b);
	ok(b.len == 4 && !memcmp(b.data, "ABq\\", 4), "octal, hex, other, lone backslash: %s",
	   (char *)b.data);
	buf_reset(&b);
	pg_copyrow_unescape("\\N\\N", 4, &b);
	ok(b.len == 2 && !memcmp(b.data, "NN", 2), "\\N inside a longer field is N");
	buf_release(&b);
}

static int rows_of(const char *doc, const struct pg_copyrow_table *t,
		   uint64_t *n, struct buf *err)
{
	struct src s = { doc, strlen(doc), 0, 3 };
	struct pg_copyrow *cr;
	int r = pg_copyrow_new(&cr, t, "table public.t (before)", src_read, &s);

	buf_reset(err);
	while (r == 0 && (r = pg_copyrow_next(cr, err)) > 0)
		r = 0;
	*n = pg_copyrow_rows(cr);
	pg_copyrow_free(cr);
	return r;
}

static void test_copyrow(void)
{
	static const struct pg_copyrow_table t = { "public", "t", id_v, 2 };
	static char *nl_cols[] = { "x", "col\numn" };
	static const struct pg_copyrow_table tnl = { "public", "line\nbreak", nl_cols, 2 };
	struct buf err = BUF_INIT;
	uint64_t n;

	is_int(rows_of("COPY x FROM stdin;\n1\ta\n2\tb\n\\.\n", &t, &n, &err), 0, "two rows");
	is_int(n, 2, "counted");
	is_int(rows_of("COPY x FROM stdin;\n\\.\n", &t, &n, &err), 0, "no rows");
	is_int(rows_of("COPY x FROM stdin;\n1\ta\n", &t, &n, &err), -EBADMSG, "no \\. line");
	ok(strstr((char *)err.data, "ends before its \\. line") != NULL, "said: %s", (char *)err.data);
	is_int(rows_of("COPY x FROM stdin;\n1\ta", &t, &n, &err), -EBADMSG, "cut inside a row");
	is_int(rows_of("COPY x FROM stdin;\n1\ta\n\\.\nmore\n", &t, &n, &err), -EBADMSG,
	       "bytes after \\.");
	is_int(rows_of("COPY x FROM stdin;\n1\ta\tb\n\\.\n", &t, &n, &err), -EBADMSG,
	       "a field too many");
	is_int(rows_of("COPY x FROM stdin;\n1\n\\.\n", &t, &n, &err), -EBADMSG, "a field short");
	is_int(rows_of("", &t, &n, &err), -EBADMSG, "empty file");
	is_int(rows_of("1\ta\n\\.\n", &t, &n, &err), -EBADMSG, "no COPY line");
	/* a header an older capture wrote over three lines */
	is_int(rows_of("COPY \"public\".\"line\nbreak\" (\"x\", \"col\numn\") FROM stdin;\n"
		       "1\ta\n\\.\n", &tnl, &n, &err), 0, "old header over lines: %s",
	       (char *)err.data);
	is_int(n, 1, "its one row");
	is_int(rows_of("COPY \"public\".U&\"line\\000abreak\" (\"x\", U&\"col\\000aumn\") FROM stdin;\n"
		       "1\ta\n\\.\n", &tnl, &n, &err), 0, "today's header for the same names");
	buf_release(&err);
}

/* ---- the store -------------------------------------------------------------- */

static void test_store(size_t mem, const char *what)
{
	struct pg_rowdiff_store *s;
	struct buf err = BUF_INIT;
	uint8_t h1[16] = { 1 }, h2[16] = { 2 };
	uint64_t pos, neg;
	char key[32];
	int bad = 0;

	pg_rowdiff_store_new(&s, mem, 0);
	for (int i = 0; i < 5000; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		bad |= pg_rowdiff_store_pair(s, key, strlen(key), 1, h1, &err) != 0;
	}
	ok(!bad, "%s: 5000 keys wait", what);
	is_int(pg_rowdiff_store_pair(s, "k7", 2, 1, h1, &err), -EEXIST, "%s: a key twice on one side", what);
	for (int i = 0; i < 5000; i += 2) {
		snprintf(key, sizeof(key), "k%d", i);
		bad |= pg_rowdiff_store_pair(s, key, strlen(key), -1, i % 4 ? h2 : h1, &err) !=
		       (i % 4 ? 2 : 1);
	}
	ok(!bad, "%s: half of them paired, every other one changed", what);
	pg_rowdiff_store_pair(s, "new", 3, -1, h1, &err);
	pg_rowdiff_store_totals(s, &pos, &neg, &err);
	is_int(pos, 2500, "%s: 2500 left before", what);
	is_int(neg, 1, "%s: 1 left after", what);
	is_int(pg_rowdiff_store_spilled(s), mem == 1, "%s: on disk or not", what);
	pg_rowdiff_store_free(s);

	pg_rowdiff_store_new(&s, mem, 0);
	for (int i = 0; i < 3000; i++) {
		snprintf(key, sizeof(key), "r%d", i % 100);
		pg_rowdiff_store_count(s, key, strlen(key), i < 2000 ? 1 : -1, &err);
	}
	pg_rowdiff_store_totals(s, &pos, &neg, &err);
	is_int(pos, 1000, "%s: counted copies: 1000 more before", what);
	is_int(neg, 0, "%s: none more after", what);
	pg_rowdiff_store_free(s);
	buf_release(&err);
}

/* ---- pg-rowdiff by hand ----------------------------------------------------- */

static void test_merge(void)
{
	static const char *a[] = { "1\ta", "2\tb", "3\tc", "4\td", "5\te", "9\tf", "10\tg", NULL };
	/* 3 removed, 5 changed, key 4 -> 40 (one out, one in), 0 and 11 added */
	static const char *b[] = { "0\tz", "1\ta", "2\tb", "5\tE", "9\tf", "10\tg", "11\th",
				   "40\td", NULL };
	struct pg_rowdiff_result res;
	struct buf err = BUF_INIT;
	struct tio t;

	tio_init(&t);
	mk(&t.doc[0], "\"id\", \"v\"", a);
	mk(&t.doc[1], "\"id\", \"v\"", b);
	is_int(run(&t, &t_keyed, &t_keyed, NULL, &res, &err), 0, "integer keys: %s", (char *)err.data);
	IS_RES(res, PG_ROWDIFF_MERGE, 3, 2, 1, "integer keys");
	is_int(res.rows_before, 7, "rows before");
	is_int(res.rows_after, 8, "rows after");
	is_int(t.opens[0] + t.opens[1], 2, "each side read once");
	ok(!t.open_now[0] && !t.open_now[1], "both closed");
	{
		struct pg_rowdiff_opts o = { 1, 0, 0 };

		is_int(run(&t, &t_keyed, &t_keyed, &o, &res, &err), 0, "the same, matched");
		IS_RES(res, PG_ROWDIFF_MATCH, 3, 2, 1, "integer keys, matched");
	}
	tio_release(&t);
	buf_release(&err);
}

/* doc a and b as rows; expected method and counts */
static void check(const char *what, const char *const *a, const char *const *b,
		  const struct pg_rowdiff_table *ta, const struct pg_rowdiff_table *tb,
		  enum pg_rowdiff_method m, uint64_t add, uint64_t rem, uint64_t chg)
{
	struct pg_rowdiff_result res;
	struct buf err = BUF_INIT;
	struct tio t;
	int r;

	tio_init(&t);
	mk(&t.doc[0], "\"id\", \"v\"", a);
	mk(&t.doc[1], "\"id\", \"v\"", b);
	r = run(&t, ta, tb, NULL, &res, &err);
	is_int(r, 0, "%s: runs (%s)", what, (char *)err.data);
	IS_RES(res, m, add, rem, chg, what);
	if (m == PG_ROWDIFF_MATCH)
		ok(res.why[0] && t.opens[0] == 2 && t.opens[1] == 2,
		   "%s: the merge gave up (%s), both read again", what, res.why);
	else
		ok(!res.why[0] && t.opens[0] == 1, "%s: read once", what);
	tio_release(&t);
	buf_release(&err);
}

static void test_orders(void)
{
	static char *v_id[] = { "v", "id" };
	static char *both[] = { "id", "v" };
	static const struct pg_rowdiff_table composite = {
		{ "public", "t", id_v, 2 }, both, 2, UINT64_MAX,
	};
	static char *id_v_w[] = { "id", "v", "w" };
	static const struct pg_rowdiff_table added_col = {
		{ "public", "t", id_v_w, 3 }, id_only, 1, UINT64_MAX,
	};
	static const struct pg_rowdiff_table nokey = {
		{ "public", "t", id_v, 2 }, NULL, 0, UINT64_MAX,
	};
	static const struct pg_rowdiff_table vkey = {
		{ "public", "t", id_v, 2 }, v_only, 1, UINT64_MAX,
	};
	static const struct pg_rowdiff_table swapped = {
		{ "public", "t", v_id, 2 }, id_only, 1, UINT64_MAX,
	};

	check("C-ordered text", (const char *[]){ "B\t1", "a\t2", "b\t3", NULL },
	      (const char *[]){ "B\t1", "a\t9", "c\t3", NULL }, &t_keyed, &t_keyed,
	      PG_ROWDIFF_MERGE, 1, 1, 1);
	check("case-insensitive order", (const char *[]){ "a\t1", "B\t2", "c\t3", NULL },
	      (const char *[]){ "a\t1", "B\t9", "b\t4", "c\t3", NULL }, &t_keyed, &t_keyed,
	      PG_ROWDIFF_MATCH, 1, 0, 1);
	check("numbers then text", (const char *[]){ "1\ta", "2\tb", "x\tc", NULL },
	      (const char *[]){ "1\ta", "2\tb", "x\tc", "y\td", NULL }, &t_keyed, &t_keyed,
	      PG_ROWDIFF_MATCH, 1, 0, 0);
	check("numeric NaN last", (const char *[]){ "1\ta", "2.5\tb", "NaN\tc", NULL },
	      (const char *[]){ "1\ta", "2.5\tB", "NaN\tc", NULL }, &t_keyed, &t_keyed,
	      PG_ROWDIFF_MATCH, 0, 0, 1);
	check("signed decimals", (const char *[]){ "-10\ta", "-2.5\tb", "-2\tc", "0\td",
						   "0.25\te", "1.5\tf", "3\tg", "100\th", NULL },
	      (const char *[]){ "-10\ta", "-2.25\tx", "-2\tc", "0.25\tE", "1.5\tf", "3\tg",
				"20\ty", "100\th", NULL },
	      &t_keyed, &t_keyed, PG_ROWDIFF_MERGE, 2, 2, 1);
	check("one key's text changed to an equal number", (const char *[]){ "1\ta", "1.5\tb", NULL },
	      (const char *[]){ "1\ta", "1.50\tb", NULL }, &t_keyed, &t_keyed,
	      PG_ROWDIFF_MATCH, 1, 1, 0);
	check("escaped text keys", (const char *[]){ "a\\tb\t1", "a\\\\b\t2", NULL },
	      (const char *[]){ "a\\tb\t1", "a\\\\b\t3", NULL }, &t_keyed, &t_keyed,
	      PG_ROWDIFF_MERGE, 0, 0, 1);
	check("a row added at the end", (const char *[]){ "1\ta", "2\tb", NULL },
	      (const char *[]){ "1\ta", "2\tb", "3\tc", NULL }, &t_keyed, &t_keyed,
	      PG_ROWDIFF_MERGE, 1, 0, 0);
	check("a NULL in a key (not from a real key)", (const char *[]){ "1\ta", "\\N\tb", NULL },
	      (const char *[]){ "1\ta", "\\N\tc", NULL }, &t_keyed, &t_keyed,
	      PG_ROWDIFF_MATCH, 0, 0, 1);
	check("composite key", (const char *[]){ "1\ta", "1\tb", "2\ta", NULL },
	      (const char *[]){ "1\tb", "2\ta", "2\tb", NULL }, &composite, &composite,
	      PG_ROWDIFF_MERGE, 1, 1, 0);
	check("no key: copies counted", (const char *[]){ "1\ta", "1\ta", "2\tb", "3\tc", NULL },
	      (const char *[]){ "2\tb", "1\ta", "2\tb", "4\td", NULL }, &nokey, &nokey,
	      PG_ROWDIFF_MULTISET, 2, 2, 0);
	check("another key on each side: copies counted", (const char *[]){ "1\ta", "2\tb", NULL },
	      (const char *[]){ "1\ta", "2\tc", NULL }, &t_keyed, &vkey,
	      PG_ROWDIFF_MULTISET, 1, 1, 0);
	check("the same columns in another order", (const char *[]){ "1\ta", "2\tb", NULL },
	      (const char *[]){ "a\t1", "c\t2", NULL }, &t_keyed, &swapped,
	      PG_ROWDIFF_MERGE, 0, 0, 1);
	{
		struct pg_rowdiff_result res;
		struct buf err = BUF_INIT;
		struct tio t;

		tio_init(&t);
		mk(&t.doc[0], "\"id\", \"v\"", (const char *[]){ "1\ta", "2\tb", NULL });
		buf_addstr(&t.doc[1], "COPY x FROM stdin;\n1\ta\t\\N\n2\tB\tw\n\\.\n");
		is_int(run(&t, &t_keyed, &added_col, NULL, &res, &err), 0, "a column added");
		IS_RES(res, PG_ROWDIFF_MERGE, 0, 0, 1, "a column added: rows compare on the others");
		tio_release(&t);
		buf_release(&err);
	}
}

static void test_checks(void)
{
	struct pg_rowdiff_table counted = t_keyed;
	struct pg_rowdiff_result res;
	struct buf err = BUF_INIT;
	struct tio t;

	tio_init(&t);
	mk(&t.doc[0], "\"id\", \"v\"", (const char *[]){ "1\ta", "2\tb", NULL });
	mk(&t.doc[1], "\"id\", \"v\"", (const char *[]){ "1\ta", NULL });
	counted.rows = 3;
	is_int(run(&t, &counted, &t_keyed, NULL, &res, &err), -EBADMSG,
	       "a row count meta.json does not have");
	ok(strstr((char *)err.data, "holds 2 rows, meta.json says 3") != NULL, "said: %s",
	   (char *)err.data);
	buf_reset(&t.doc[1]);
	buf_addstr(&t.doc[1], "COPY x FROM stdin;\n1\ta\n");
	is_int(run(&t, &t_keyed, &t_keyed, NULL, &res, &err), -EBADMSG, "a cut file");
	ok(strstr((char *)err.data, "(after)") != NULL, "names the side: %s", (char *)err.data);
	/* found when both copies wait at once (not always: keys are
	 * unique in a table with a key, so no more is spent on it) */
	mk(&t.doc[0], "\"id\", \"v\"", (const char *[]){ "1\ta", "1\tb", NULL });
	mk(&t.doc[1], "\"id\", \"v\"", (const char *[]){ "2\tx", "3\ty", NULL });
	is_int(run(&t, &t_keyed, &t_keyed, NULL, &res, &err), -EBADMSG,
	       "one key twice on a side");
	ok(strstr((char *)err.data, "two rows with one primary key") != NULL, "said: %s",
	   (char *)err.data);
	tio_release(&t);
	buf_release(&err);
}

/* ---- random tables, three ways ------------------------------------------------- */

static uint64_t rnd_state = 88172645463325252ull;

static uint64_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return rnd_state;
}

/* key order: by number, or by a scramble no byte or number order gives */
static int scrambled;

static int keycmp(const void *x, const void *y)
{
	uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;

	if (scrambled) {
		a = (a * 0x9E3779B97F4A7C15ull) >> 20;
		b = (b * 0x9E3779B97F4A7C15ull) >> 20;
	}
	return a < b ? -1 : a > b;
}

static void emit(struct buf *b, const uint64_t *k, const unsigned *v, size_t n)
{
	buf_reset(b);
	buf_addstr(b, "COPY x FROM stdin;\n");
	for (size_t i = 0; i < n; i++)
		buf_addf(b, "%llu\tvalue %u\n", (unsigned long long)k[i], v[i]);
	buf_addstr(b, "\\.\n");
}

static void test_random(int round)
{
	size_t n = 500 + rnd() % 3000, nb = 0;
	uint64_t *ka = calloc(n, sizeof(*ka)), *kb = calloc(2 * n, sizeof(*kb));
	unsigned *va = calloc(n, sizeof(*va)), *vb = calloc(2 * n, sizeof(*vb));
	uint64_t add = 0, rem = 0, chg = 0;
	struct pg_rowdiff_result res[3];
	struct pg_rowdiff_opts o[3] = { { 0, 0, 0 }, { 1, 0, 0 }, { 1, 1, 64 } };
	struct buf err = BUF_INIT;
	struct tio t;
	int good = 1;

	scrambled = round % 2;
	for (size_t i = 0; i < n; i++) {
		ka[i] = i * 3;		/* room between keys for new ones */
		va[i] = (unsigned)rnd();
	}
	qsort(ka, n, sizeof(*ka), keycmp);
	/* sorted by the key order with the values: sort pairs by key */
	for (size_t i = 0; i < n; i++) {
		unsigned op = (unsigned)(rnd() % 10);

		if (op == 0) {		/* removed */
			rem++;
			continue;
		}
		kb[nb] = ka[i];
		vb[nb] = va[i];
		if (op == 1) {		/* changed */
			vb[nb]++;
			chg++;
		}
		nb++;
		if (op == 2) {		/* a new key */
			kb[nb] = ka[i] + 1 + rnd() % 2;	/* between two old ones */
			vb[nb++] = 7;
			add++;
		}
	}
	/* after's rows in the key order too */
	{
		struct { uint64_t k; unsigned v; } *p = calloc(nb, sizeof(*p));

		for (size_t i = 0; i < nb; i++)
			p[i].k = kb[i], p[i].v = vb[i];
		qsort(p, nb, sizeof(*p), keycmp);
		for (size_t i = 0; i < nb; i++) {
			kb[i] = p[i].k;
			vb[i] = p[i].v;
			if (i && kb[i] == kb[i - 1])
				good = 0;	/* a new key met an old one */
		}
		free(p);
	}
	if (!good) {
		ok(1, "round %d: drew a key twice, skipped", round);
		goto out;
	}
	tio_init(&t);
	t.chunk = 1 + rnd() % 5000;
	emit(&t.doc[0], ka, va, n);
	emit(&t.doc[1], kb, vb, nb);
	for (int w = 0; w < 3; w++) {
		int r = run(&t, &t_keyed, &t_keyed, &o[w], &res[w], &err);

		good &= r == 0 && res[w].added == add && res[w].removed == rem &&
			res[w].changed == chg && res[w].rows_before == n &&
			res[w].rows_after == nb;
		if (r)
			diag("round %d way %d: %s", round, w, (char *)err.data);
	}
	ok(good, "round %d (%s order, %zu rows, +%llu -%llu ~%llu): three ways agree",
	   round, scrambled ? "scrambled" : "number", n, (unsigned long long)add,
	   (unsigned long long)rem, (unsigned long long)chg);
	is_int(res[0].method, scrambled ? PG_ROWDIFF_MATCH : PG_ROWDIFF_MERGE,
	       "round %d: merged in number order, matched in a scrambled one", round);
	ok(res[2].spilled, "round %d: the third way went to disk", round);
	tio_release(&t);
out:
	free(ka);
	free(kb);
	free(va);
	free(vb);
	buf_release(&err);
}

static void test_random_multiset(void)
{
	static const struct pg_rowdiff_table nokey = {
		{ "public", "t", id_v, 2 }, NULL, 0, UINT64_MAX,
	};
	struct pg_rowdiff_result res;
	struct pg_rowdiff_opts o = { 0, 1, 64 };
	struct buf err = BUF_INIT;
	size_t n = 4000, nb = 0;
	uint64_t *ka = calloc(n, sizeof(*ka)), *kb = calloc(2 * n, sizeof(*kb));
	unsigned *va = calloc(n, sizeof(*va)), *vb = calloc(2 * n, sizeof(*vb));
	uint64_t add = 0, rem = 0;
	struct tio t;

	/* rows with copies (keys from a small range), after: some gone,
	 * some new, the rest shifted by a block moved to the end */
	for (size_t i = 0; i < n; i++) {
		ka[i] = rnd() % 500;
		va[i] = 1;
	}
	for (size_t i = 0; i < n; i++) {
		size_t j = (i + 1000) % n;

		if (rnd() % 8 == 0) {
			rem++;
			continue;
		}
		kb[nb] = ka[j];
		vb[nb++] = 1;
		if (rnd() % 8 == 0) {
			kb[nb] = 1000 + rnd() % 50;
			vb[nb++] = 1;
			add++;
		}
	}
	tio_init(&t);
	emit(&t.doc[0], ka, va, n);
	emit(&t.doc[1], kb, vb, nb);
	is_int(run(&t, &nokey, &nokey, &o, &res, &err), 0, "random multiset runs");
	IS_RES(res, PG_ROWDIFF_MULTISET, add, rem, 0, "random multiset on disk");
	tio_release(&t);
	free(ka);
	free(kb);
	free(va);
	free(vb);
	buf_release(&err);
}

int main(void)
{
	test_unescape();
	test_copyrow();
	test_store(0, "in memory");
	test_store(1, "on disk");
	test_merge();
	test_orders();
	test_checks();
	for (int i = 0; i < 12; i++)
		test_random(i);
	test_random_multiset();
	return done_testing();
}

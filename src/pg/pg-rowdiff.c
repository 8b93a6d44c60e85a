/*
 * pg-rowdiff: one table's rows in two snapshots compared (the rule is in
 * pg-rowdiff.h): a merge in key order that checks the order it relies
 * on as it goes, and, when that check fails or there is no key, both
 * sides read again in step with what does not pair at once parked in
 * pg-rowdiff-store.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "pg-rowdiff.h"
#include "pg-rowdiff-store.h"

/* pg_rowdiff_merge's "the order is not one vault can check": go on to
 * the second way */
#define PG_ROWDIFF_GIVE_UP	1

struct pg_rowdiff_key {
	struct buf raw;		/* the key fields' COPY text, tab-separated */
	struct buf dec;		/* their values, one after the other */
	size_t *off;		/* npk + 1 offsets into dec */
};

struct pg_rowdiff_side {
	const struct pg_rowdiff_table *t;
	struct buf label;
	struct pg_copyrow *cr;
	int open;
	size_t *pk;		/* the field of each key column */
	size_t *hc;		/* the fields hashed: the common columns */
	struct pg_rowdiff_key key[2];	/* the current row's, the previous one's */
	int cur;		/* which of key[] is the current row's */
	int have;		/* a current row */
	uint8_t h[16];
};

struct pg_rowdiff {
	const struct pg_rowdiff_io *io;
	const struct pg_rowdiff_opts *o;
	struct pg_rowdiff_result *res;
	struct pg_rowdiff_side s[2];
	size_t npk, nhc;
	int keyed;		/* the same key on both sides */
	int whole;		/* the same columns: hash the whole line */
	unsigned char *num;	/* per key column: compare as numbers */
	XXH3_state_t *xs;
};

const char *pg_rowdiff_method_name(enum pg_rowdiff_method m)
{
	switch (m) {
	case PG_ROWDIFF_MERGE:
		return "merge";
	case PG_ROWDIFF_MATCH:
		return "match";
	case PG_ROWDIFF_MULTISET:
		return "multiset";
	}
	return "?";
}

/* ---- setup --------------------------------------------------------------- */

static size_t pg_rowdiff_col(const struct pg_copyrow_table *t, const char *name)
{
	for (size_t i = 0; i < t->ncols; i++)
		if (!strcmp(t->cols[i], name))
			return i;
	return SIZE_MAX;
}

/* Which columns key and hash each side, and how the two are compared. */
static int pg_rowdiff_plan(struct pg_rowdiff *d,
			   const struct pg_rowdiff_table *a,
			   const struct pg_rowdiff_table *b)
{
	size_t n = a->t.ncols ? a->t.ncols : 1;

	for (int i = 0; i < 2; i++) {
		buf_init(&d->s[i].label, 0);
		for (int j = 0; j < 2; j++) {
			buf_init(&d->s[i].key[j].raw, 0);
			buf_init(&d->s[i].key[j].dec, 0);
		}
	}
	d->keyed = a->npk && a->npk == b->npk;
	for (size_t k = 0; k < a->npk && d->keyed; k++)
		d->keyed = !strcmp(a->pk[k], b->pk[k]) &&
			   pg_rowdiff_col(&a->t, a->pk[k]) != SIZE_MAX &&
			   pg_rowdiff_col(&b->t, b->pk[k]) != SIZE_MAX;
	d->npk = d->keyed ? a->npk : 0;
	d->whole = a->t.ncols == b->t.ncols;
	for (size_t c = 0; c < a->t.ncols && d->whole; c++)
		d->whole = !strcmp(a->t.cols[c], b->t.cols[c]);
	d->num = calloc(d->npk ? d->npk : 1, 1);
	if (!d->num)
		return -ENOMEM;
	for (int i = 0; i < 2; i++) {
		struct pg_rowdiff_side *s = &d->s[i];

		s->t = i ? b : a;
		s->pk = calloc(d->npk ? d->npk : 1, sizeof(*s->pk));
		s->hc = calloc(n, sizeof(*s->hc));
		if (!s->pk || !s->hc)
			return -ENOMEM;
		for (size_t k = 0; k < d->npk; k++)
			s->pk[k] = pg_rowdiff_col(&s->t->t, s->t->pk[k]);
		for (int j = 0; j < 2; j++) {
			s->key[j].off = calloc(d->npk + 1, sizeof(size_t));
			if (!s->key[j].off)
				return -ENOMEM;
		}
		if (buf_addf(&s->label, "table %s.%s (%s)", s->t->t.schema,
			     s->t->t.name, i ? "after" : "before") < 0)
			return -ENOMEM;
	}
	/* the common columns, in the before side's order */
	for (size_t c = 0; c < a->t.ncols; c++) {
		size_t j = pg_rowdiff_col(&b->t, a->t.cols[c]);

		if (j == SIZE_MAX)
			continue;
		d->s[0].hc[d->nhc] = c;
		d->s[1].hc[d->nhc++] = j;
	}
	d->xs = XXH3_createState();
	return d->xs ? 0 : -ENOMEM;
}

static void pg_rowdiff_release(struct pg_rowdiff *d)
{
	for (int i = 0; i < 2; i++) {
		struct pg_rowdiff_side *s = &d->s[i];

		pg_copyrow_free(s->cr);
		if (s->open)
			d->io->close(d->io->ctx, i);
		buf_release(&s->label);
		for (int j = 0; j < 2; j++) {
			buf_release(&s->key[j].raw);
			buf_release(&s->key[j].dec);
			free(s->key[j].off);
		}
		free(s->pk);
		free(s->hc);
	}
	free(d->num);
	XXH3_freeState(d->xs);
}

static int pg_rowdiff_open(struct pg_rowdiff *d, struct buf *err)
{
	for (int i = 0; i < 2; i++) {
		struct pg_rowdiff_side *s = &d->s[i];
		pg_copyrow_read_fn read;
		void *rctx;
		int r = d->io->open(d->io->ctx, i, &read, &rctx, err);

		if (r < 0)
			return r;
		s->open = 1;
		s->have = 0;
		r = pg_copyrow_new(&s->cr, &s->t->t, (char *)s->label.data, read, rctx);
		if (r < 0)
			return r;
	}
	return 0;
}

static void pg_rowdiff_close(struct pg_rowdiff *d)
{
	for (int i = 0; i < 2; i++) {
		pg_copyrow_free(d->s[i].cr);
		d->s[i].cr = NULL;
		if (d->s[i].open)
			d->io->close(d->io->ctx, i);
		d->s[i].open = 0;
	}
}

/* ---- rows ---------------------------------------------------------------- */

static void pg_rowdiff_hash(struct pg_rowdiff *d, struct pg_rowdiff_side *s)
{
	XXH128_canonical_t c;
	XXH128_hash_t h;
	size_t len;
	const char *p;

	if (d->whole) {
		p = pg_copyrow_line(s->cr, &len);
		h = XXH3_128bits(p, len);
	} else {
		XXH3_128bits_reset(d->xs);
		for (size_t i = 0; i < d->nhc; i++) {
			uint8_t n[8];
			uint64_t v;

			p = pg_copyrow_field(s->cr, s->hc[i], &len);
			v = len;
			for (int k = 0; k < 8; k++, v >>= 8)
				n[k] = (uint8_t)v;
			XXH3_128bits_update(d->xs, n, sizeof(n));
			XXH3_128bits_update(d->xs, p, len);
		}
		h = XXH3_128bits_digest(d->xs);
	}
	XXH128_canonicalFromHash(&c, h);
	memcpy(s->h, c.digest, sizeof(s->h));
}

/* The next row of side s with its hash and key (decode: the key values
 * too, for the merge's order).  1, 0 at the end, or <0. */
static int pg_rowdiff_fetch(struct pg_rowdiff *d, struct pg_rowdiff_side *s,
			    int decode, struct buf *err)
{
	struct pg_rowdiff_key *k;
	int r = pg_copyrow_next(s->cr, err);

	s->have = r > 0;
	if (r <= 0)
		return r;
	pg_rowdiff_hash(d, s);
	s->cur ^= 1;
	k = &s->key[s->cur];
	buf_reset(&k->raw);
	buf_reset(&k->dec);
	for (size_t i = 0; i < d->npk && r >= 0; i++) {
		size_t len;
		const char *f = pg_copyrow_field(s->cr, s->pk[i], &len);

		if (i)
			r = buf_addch(&k->raw, '\t');
		if (r >= 0)
			r = buf_add(&k->raw, f, len);
		k->off[i] = k->dec.len;
		if (r >= 0 && decode)
			r = pg_copyrow_unescape(f, len, &k->dec);
		/* a NULL in a key: nothing the merge can order */
		if (r == 1)
			r = -EDOM;
	}
	k->off[d->npk] = k->dec.len;
	return r == -EDOM ? -EDOM : r < 0 ? r : 1;
}

/* ---- the merge ----------------------------------------------------------- */

static int pg_rowdiff_isnum(const uint8_t *p, size_t n)
{
	size_t i = p && n && p[0] == '-', d = i;

	while (i < n && p[i] >= '0' && p[i] <= '9')
		i++;
	if (i == d)
		return 0;
	if (i < n && p[i] == '.') {
		d = ++i;
		while (i < n && p[i] >= '0' && p[i] <= '9')
			i++;
		if (i == d)
			return 0;
	}
	return i == n;
}

/* Two unsigned decimals (digits[.digits]) by value. */
static int pg_rowdiff_magcmp(const uint8_t *a, size_t an, const uint8_t *b,
			     size_t bn)
{
	const uint8_t *da = memchr(a, '.', an), *db = memchr(b, '.', bn);
	size_t ia = da ? (size_t)(da - a) : an, ib = db ? (size_t)(db - b) : bn;
	size_t fa, fb;
	int c;

	while (ia > 1 && a[0] == '0')
		a++, an--, ia--;
	while (ib > 1 && b[0] == '0')
		b++, bn--, ib--;
	if (ia != ib)
		return ia < ib ? -1 : 1;
	c = memcmp(a, b, ia);
	if (c)
		return c < 0 ? -1 : 1;
	fa = an > ia ? an - ia - 1 : 0;
	fb = bn > ib ? bn - ib - 1 : 0;
	for (size_t k = 0; k < fa || k < fb; k++) {
		uint8_t x = k < fa ? a[ia + 1 + k] : '0';
		uint8_t y = k < fb ? b[ib + 1 + k] : '0';

		if (x != y)
			return x < y ? -1 : 1;
	}
	return 0;
}

static int pg_rowdiff_numcmp(const uint8_t *a, size_t an, const uint8_t *b,
			     size_t bn)
{
	int na = a[0] == '-', nb = b[0] == '-', c;

	if (na != nb)
		return na ? -1 : 1;
	c = pg_rowdiff_magcmp(a + na, an - (size_t)na, b + nb, bn - (size_t)nb);
	return na ? -c : c;
}

static int pg_rowdiff_bytecmp(const uint8_t *a, size_t an, const uint8_t *b,
			      size_t bn)
{
	int c = memcmp(a, b, an < bn ? an : bn);

	if (c)
		return c < 0 ? -1 : 1;
	return an == bn ? 0 : an < bn ? -1 : 1;
}

/* The order the merge uses: column by column, as numbers or bytes. */
static int pg_rowdiff_keycmp(const struct pg_rowdiff *d,
			     const struct pg_rowdiff_key *x,
			     const struct pg_rowdiff_key *y)
{
	for (size_t i = 0; i < d->npk; i++) {
		const uint8_t *a = x->dec.data + x->off[i];
		const uint8_t *b = y->dec.data + y->off[i];
		size_t an = x->off[i + 1] - x->off[i];
		size_t bn = y->off[i + 1] - y->off[i];
		int c = d->num[i] ? pg_rowdiff_numcmp(a, an, b, bn) :
				    pg_rowdiff_bytecmp(a, an, b, bn);

		if (c)
			return c;
	}
	return 0;
}

static int pg_rowdiff_give_up(struct pg_rowdiff *d,
			      const struct pg_rowdiff_side *s, const char *what)
{
	snprintf(d->res->why, sizeof(d->res->why), "row %llu %s: %s",
		 (unsigned long long)pg_copyrow_rows(s->cr),
		 s == &d->s[0] ? "before" : "after", what);
	return PG_ROWDIFF_GIVE_UP;
}

/* The current key of s fits the order: numbers where numbers are
 * compared, and (after) strictly after the previous row's key. */
static int pg_rowdiff_check(struct pg_rowdiff *d, struct pg_rowdiff_side *s,
			    int after)
{
	const struct pg_rowdiff_key *k = &s->key[s->cur];

	for (size_t i = 0; i < d->npk; i++)
		if (d->num[i] && !pg_rowdiff_isnum(k->dec.data + k->off[i],
					   k->off[i + 1] - k->off[i]))
			return pg_rowdiff_give_up(d, s,
				"a key that is not a number where others were");
	if (after && pg_rowdiff_keycmp(d, &s->key[s->cur ^ 1], k) >= 0)
		return pg_rowdiff_give_up(d, s, "a key not after the one before it");
	return 0;
}

static int pg_rowdiff_advance(struct pg_rowdiff *d, struct pg_rowdiff_side *s,
			      struct buf *err)
{
	int r = pg_rowdiff_fetch(d, s, 1, err);

	if (r == -EDOM)
		return pg_rowdiff_give_up(d, s, "a NULL in the key");
	return r > 0 ? pg_rowdiff_check(d, s, 1) : r;
}

/* Each key column is a number when the first row of every side that
 * has one holds a decimal number there. */
static void pg_rowdiff_guess(struct pg_rowdiff *d)
{
	for (size_t i = 0; i < d->npk; i++) {
		d->num[i] = 1;
		for (int j = 0; j < 2; j++) {
			const struct pg_rowdiff_key *k = &d->s[j].key[d->s[j].cur];

			if (d->s[j].have)
				d->num[i] &= (unsigned char)pg_rowdiff_isnum(k->dec.data + k->off[i],
						     k->off[i + 1] - k->off[i]);
		}
	}
}

static int pg_rowdiff_merge(struct pg_rowdiff *d, struct buf *err)
{
	struct pg_rowdiff_side *a = &d->s[0], *b = &d->s[1];
	struct pg_rowdiff_result *res = d->res;
	int r = pg_rowdiff_fetch(d, a, 1, err);

	if (r == -EDOM)
		return pg_rowdiff_give_up(d, a, "a NULL in the key");
	if (r >= 0)
		r = pg_rowdiff_fetch(d, b, 1, err);
	if (r == -EDOM)
		return pg_rowdiff_give_up(d, b, "a NULL in the key");
	if (r < 0)
		return r;
	pg_rowdiff_guess(d);
	r = pg_rowdiff_check(d, a, 0);
	if (r == 0)
		r = pg_rowdiff_check(d, b, 0);
	while (r == 0 && (a->have || b->have)) {
		int c = !b->have ? -1 : !a->have ? 1 :
			pg_rowdiff_keycmp(d, &a->key[a->cur], &b->key[b->cur]);

		if (c == 0 && (a->key[a->cur].raw.len != b->key[b->cur].raw.len ||
			       memcmp(a->key[a->cur].raw.data, b->key[b->cur].raw.data,
				      a->key[a->cur].raw.len)))
			return pg_rowdiff_give_up(d, b, "a key of other text that compares equal");
		if (c < 0) {
			res->removed++;
			r = pg_rowdiff_advance(d, a, err);
		} else if (c > 0) {
			res->added++;
			r = pg_rowdiff_advance(d, b, err);
		} else {
			res->changed += memcmp(a->h, b->h, sizeof(a->h)) != 0;
			r = pg_rowdiff_advance(d, a, err);
			if (r == 0)
				r = pg_rowdiff_advance(d, b, err);
		}
	}
	return r;
}

/* ---- in step, through the store ------------------------------------------ */

static int pg_rowdiff_park(struct pg_rowdiff *d, struct pg_rowdiff_store *st,
			   struct pg_rowdiff_side *s, int delta, struct buf *err)
{
	const struct pg_rowdiff_key *k = &s->key[s->cur];
	int r;

	if (!d->keyed)
		return pg_rowdiff_store_count(st, s->h, sizeof(s->h), delta, err);
	r = pg_rowdiff_store_pair(st, k->raw.data, k->raw.len, delta, s->h, err);
	if (r == -EEXIST) {
		buf_seterr(err, "%s: data.sql holds two rows with one primary key (row %llu)",
			   (char *)s->label.data,
			   (unsigned long long)pg_copyrow_rows(s->cr));
		return -EBADMSG;
	}
	d->res->changed += r == 2;
	return r < 0 ? r : 0;
}

static int pg_rowdiff_step(struct pg_rowdiff *d, struct buf *err)
{
	struct pg_rowdiff_side *a = &d->s[0], *b = &d->s[1];
	struct pg_rowdiff_store *st = NULL;
	int r = pg_rowdiff_store_new(&st, d->o ? d->o->mem : 0,
				     d->o ? d->o->cache_kib : 0);

	if (r == 0)
		r = pg_rowdiff_fetch(d, a, 0, err);
	if (r >= 0)
		r = pg_rowdiff_fetch(d, b, 0, err);
	while (r >= 0 && (a->have || b->have)) {
		/* the same row, or the same key, on both sides: no need to park */
		if (a->have && b->have &&
		    (d->keyed ? a->key[a->cur].raw.len == b->key[b->cur].raw.len &&
				!memcmp(a->key[a->cur].raw.data, b->key[b->cur].raw.data,
					a->key[a->cur].raw.len) :
				!memcmp(a->h, b->h, sizeof(a->h)))) {
			d->res->changed += memcmp(a->h, b->h, sizeof(a->h)) != 0;
		} else {
			if (a->have)
				r = pg_rowdiff_park(d, st, a, 1, err);
			if (r >= 0 && b->have)
				r = pg_rowdiff_park(d, st, b, -1, err);
		}
		if (r >= 0 && a->have)
			r = pg_rowdiff_fetch(d, a, 0, err);
		if (r >= 0 && b->have)
			r = pg_rowdiff_fetch(d, b, 0, err);
	}
	if (r >= 0)
		r = pg_rowdiff_store_totals(st, &d->res->removed, &d->res->added, err);
	if (st)
		d->res->spilled = pg_rowdiff_store_spilled(st);
	pg_rowdiff_store_free(st);
	return r < 0 ? r : 0;
}

/* ---- the whole ----------------------------------------------------------- */

static int pg_rowdiff_counts(const struct pg_rowdiff *d, struct buf *err)
{
	for (int i = 0; i < 2; i++) {
		const struct pg_rowdiff_side *s = &d->s[i];
		uint64_t got = pg_copyrow_rows(s->cr);

		if (s->t->rows != UINT64_MAX && got != s->t->rows) {
			buf_seterr(err, "%s: data.sql holds %llu rows, meta.json says %llu",
				   (char *)s->label.data, (unsigned long long)got,
				   (unsigned long long)s->t->rows);
			return -EBADMSG;
		}
	}
	d->res->rows_before = pg_copyrow_rows(d->s[0].cr);
	d->res->rows_after = pg_copyrow_rows(d->s[1].cr);
	return 0;
}

int pg_rowdiff_run(const struct pg_rowdiff_table *before,
		   const struct pg_rowdiff_table *after,
		   const struct pg_rowdiff_io *io,
		   const struct pg_rowdiff_opts *o,
		   struct pg_rowdiff_result *res, struct buf *err)
{
	struct pg_rowdiff d;
	int r;

	memset(&d, 0, sizeof(d));
	memset(res, 0, sizeof(*res));
	d.io = io;
	d.o = o;
	d.res = res;
	r = pg_rowdiff_plan(&d, before, after);
	if (r == 0)
		r = pg_rowdiff_open(&d, err);
	res->method = d.keyed ? PG_ROWDIFF_MERGE : PG_ROWDIFF_MULTISET;
	if (r == 0 && d.keyed && !(o && o->no_merge)) {
		r = pg_rowdiff_merge(&d, err);
		if (r == PG_ROWDIFF_GIVE_UP) {
			char why[sizeof(res->why)];

			memcpy(why, res->why, sizeof(why));
			memset(res, 0, sizeof(*res));
			memcpy(res->why, why, sizeof(why));
			pg_rowdiff_close(&d);
			r = pg_rowdiff_open(&d, err);
			res->method = PG_ROWDIFF_MATCH;
			if (r == 0)
				r = pg_rowdiff_step(&d, err);
		}
	} else if (r == 0) {
		res->method = d.keyed ? PG_ROWDIFF_MATCH : PG_ROWDIFF_MULTISET;
		r = pg_rowdiff_step(&d, err);
	}
	if (r == 0)
		r = pg_rowdiff_counts(&d, err);
	pg_rowdiff_release(&d);
	return r;
}

/*
 * test-chunker: FastCDC chunker properties: parameter checks, determinism
 * per seed, size bounds, agreement with a naive reference (which proves
 * the min-skip is exact), locality of edits, row-aligned cuts and their
 * fallbacks, the "need more data" contract, and a throughput diag.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sodium.h>

#include "chunker.h"
#include "../tap.h"

#define MiB (1024u * 1024u)

/* the repository defaults (formats/config.c) and a small set for statistics */
static const struct chunker_params general = { 256 * 1024, MiB, 4 * MiB, 0 };
static const struct chunker_params small = { 2048, 8192, 65536, 0 };
static const struct chunker_params rowsp = { 8192, 32768, 131072, 1 };

struct cuts {
	size_t *len;
	size_t n, cap;
};

static void cuts_push(struct cuts *c, size_t v)
{
	if (c->n == c->cap) {
		c->cap = c->cap ? 2 * c->cap : 256;
		c->len = realloc(c->len, c->cap * sizeof(*c->len));
		if (!c->len)
			abort();
	}
	c->len[c->n++] = v;
}

static void cuts_free(struct cuts *c)
{
	free(c->len);
	memset(c, 0, sizeof(*c));
}

/* Chunks a whole in-memory buffer the way a caller with everything in
 * memory would: the window is the rest of the data, eof set. */
static void chunk_all(const struct chunker *ch, const uint8_t *d, size_t n,
		      struct cuts *out)
{
	size_t off = 0, l;

	while (off < n) {
		l = chunker_next(ch, d + off, n - off, 1);
		if (l == 0 || l > n - off)
			abort();
		cuts_push(out, l);
		off += l;
	}
}

static int cuts_equal(const struct cuts *a, const struct cuts *b)
{
	return a->n == b->n &&
	       !memcmp(a->len, b->len, a->n * sizeof(*a->len));
}

static uint8_t *random_bytes(size_t n, uint8_t tag)
{
	uint8_t seed[randombytes_SEEDBYTES] = { tag };
	uint8_t *p = malloc(n ? n : 1);

	if (!p)
		abort();
	randombytes_buf_deterministic(p, n, seed);
	return p;
}

static void seed_of(uint8_t seed[32], uint8_t v)
{
	memset(seed, v, 32);
}

static double now_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- reference: the textbook loop, hashing every byte from 0 -------- */
struct ref {
	uint64_t gear[256];
	uint64_t ms, ml;
	struct chunker_params p;
};

static void ref_init(struct ref *r, const struct chunker_params *p,
		     const uint8_t seed[32])
{
	static const char ctx[] = "vault chunker gear table v1";
	uint8_t key[32], raw[2048];
	unsigned bits = 0;
	int i, k;

	crypto_generichash(key, 32, (const uint8_t *)ctx, sizeof(ctx) - 1,
			   seed, 32);
	randombytes_buf_deterministic(raw, sizeof(raw), key);
	for (i = 0; i < 256; i++) {
		r->gear[i] = 0;
		for (k = 7; k >= 0; k--)
			r->gear[i] = r->gear[i] << 8 | raw[8 * i + k];
	}
	while ((1u << bits) < p->avg)
		bits++;
	r->ms = ~(~(uint64_t)0 >> (bits + 2));
	r->ml = ~(~(uint64_t)0 >> (bits - 2));
	r->p = *p;
}

static size_t ref_next(const struct ref *r, const uint8_t *d, size_t len)
{
	size_t i, end = len < r->p.max ? len : r->p.max;
	uint64_t h = 0;

	if (len <= r->p.min)
		return len;
	for (i = 0; i < end; i++) {
		h = (h << 1) + r->gear[d[i]];
		if (i + 1 < r->p.min)
			continue;
		if (!(h & (i + 1 < r->p.avg ? r->ms : r->ml)))
			return i + 1;
	}
	return end;
}

/* ---- tests ------------------------------------------------------------ */
static void test_params(void)
{
	static const struct {
		uint32_t min, avg, max;
		int want;
		const char *what;
	} cases[] = {
		{ 2048, 8192, 65536, 0, "typical" },
		{ 64, 64, 64, 0, "all equal at the floor" },
		{ 8 * MiB, 16 * MiB, 32 * MiB, 0, "max at 32 MiB" },
		{ 2048, 8000, 65536, -EINVAL, "avg not a power of two" },
		{ 2048, 0, 65536, -EINVAL, "avg zero" },
		{ 16384, 8192, 65536, -EINVAL, "min > avg" },
		{ 2048, 131072, 65536, -EINVAL, "avg > max" },
		{ 63, 8192, 65536, -EINVAL, "min < 64" },
		{ 0, 8192, 65536, -EINVAL, "min zero" },
		{ 2048, 8192, 32 * MiB + 1, -EINVAL, "max > 32 MiB" },
	};
	uint8_t seed[32];
	size_t i;

	seed_of(seed, 1);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct chunker_params p = { cases[i].min, cases[i].avg,
					    cases[i].max, 0 };
		struct chunker *c = (struct chunker *)1;
		int r = chunker_new(&c, &p, seed);

		is_int(r, cases[i].want, "params: %s", cases[i].what);
		if (r == 0) {
			ok(chunker_params(c)->avg == p.avg,
			   "params: %s are kept", cases[i].what);
			chunker_free(c);
		} else {
			ok(c == NULL, "params: %s leaves *c NULL",
			   cases[i].what);
		}
	}
	chunker_free(NULL);
	ok(1, "chunker_free(NULL) is a no-op");
}

static void test_determinism(const uint8_t *d, size_t n)
{
	struct chunker *a, *b, *o;
	struct cuts ca = { 0 }, cb = { 0 }, co = { 0 };
	uint8_t s1[32], s2[32];
	size_t i, sum = 0, bad = 0;

	seed_of(s1, 7);
	seed_of(s2, 8);
	if (chunker_new(&a, &small, s1) || chunker_new(&b, &small, s1) ||
	    chunker_new(&o, &small, s2))
		abort();
	chunk_all(a, d, n, &ca);
	chunk_all(b, d, n, &cb);
	chunk_all(o, d, n, &co);
	ok(ca.n > 100, "random data gives many chunks (%zu)", ca.n);
	ok(cuts_equal(&ca, &cb), "same seed, same cut points");
	ok(!cuts_equal(&ca, &co), "different seed, different cut points");
	for (i = 0; i < ca.n; i++) {
		sum += ca.len[i];
		if (i + 1 < ca.n &&
		    (ca.len[i] < small.min || ca.len[i] > small.max))
			bad++;
	}
	is_int(bad, 0, "every chunk but the last is within [min, max]");
	ok(ca.len[ca.n - 1] >= 1 && ca.len[ca.n - 1] <= small.max,
	   "last chunk is within [1, max]");
	is_int(sum, n, "chunks cover the input exactly");
	cuts_free(&ca);
	cuts_free(&cb);
	cuts_free(&co);
	chunker_free(a);
	chunker_free(b);
	chunker_free(o);
}

/* The min-skip must not change any cut. */
static void test_reference(const uint8_t *d, size_t n,
			   const struct chunker_params *p, const char *name)
{
	struct chunker *c;
	struct ref r;
	uint8_t seed[32];
	size_t off = 0, got, want, chunks = 0, mism = 0;

	seed_of(seed, 3);
	if (chunker_new(&c, p, seed))
		abort();
	ref_init(&r, p, seed);
	while (off < n) {
		got = chunker_next(c, d + off, n - off, 1);
		want = ref_next(&r, d + off, n - off);
		if (got != want) {
			if (!mism)
				diag("at %zu: got %zu, want %zu", off, got,
				     want);
			mism++;
		}
		if (!want)
			break;
		off += want;
		chunks++;
	}
	is_int(mism, 0, "%s: %zu cuts agree with a naive full-hash loop",
	       name, chunks);
	chunker_free(c);
}

static void test_average(const uint8_t *d, size_t n,
			 const struct chunker_params *p, const char *name)
{
	struct chunker *c;
	struct cuts cs = { 0 };
	uint8_t seed[32];
	double mean;

	seed_of(seed, 9);
	if (chunker_new(&c, p, seed))
		abort();
	chunk_all(c, d, n, &cs);
	mean = (double)n / cs.n;
	diag("%s: %zu chunks, mean %.0f bytes (avg %u)", name, cs.n, mean,
	     p->avg);
	ok(mean >= p->avg / 2.0 && mean <= p->avg * 2.0,
	   "%s: mean chunk size %.0f within a factor 2 of avg", name, mean);
	cuts_free(&cs);
	chunker_free(c);
}

static int cmp_hash(const void *a, const void *b)
{
	return memcmp(a, b, 16);
}

/* Hashes of the chunks of d, sorted so they can be searched. */
static uint8_t *chunk_hashes(const struct chunker *c, const uint8_t *d,
			     size_t n, size_t *count)
{
	struct cuts cs = { 0 };
	uint8_t *h;
	size_t i, off = 0;

	chunk_all(c, d, n, &cs);
	h = malloc(cs.n * 16);
	if (!h)
		abort();
	for (i = 0; i < cs.n; i++) {
		crypto_generichash(h + 16 * i, 16, d + off, cs.len[i], NULL,
				   0);
		off += cs.len[i];
	}
	qsort(h, cs.n, 16, cmp_hash);
	*count = cs.n;
	cuts_free(&cs);
	return h;
}

static size_t hashes_missing(const uint8_t *from, size_t nfrom,
			     const uint8_t *in, size_t nin)
{
	size_t i, miss = 0;

	for (i = 0; i < nfrom; i++)
		if (!bsearch(from + 16 * i, in, nin, 16, cmp_hash))
			miss++;
	return miss;
}

static void test_insert(const uint8_t *d, size_t n,
			const struct chunker_params *p, size_t at,
			const char *name)
{
	struct chunker *c;
	uint8_t seed[32], *e, *ha, *hb;
	size_t na, nb, added, gone;

	seed_of(seed, 5);
	if (chunker_new(&c, p, seed))
		abort();
	e = malloc(n + 1);
	if (!e)
		abort();
	memcpy(e, d, at);
	e[at] = 0x5a;
	memcpy(e + at + 1, d + at, n - at);
	ha = chunk_hashes(c, d, n, &na);
	hb = chunk_hashes(c, e, n + 1, &nb);
	added = hashes_missing(hb, nb, ha, na);
	gone = hashes_missing(ha, na, hb, nb);
	diag("%s: insert at %zu: %zu of %zu chunks new, %zu gone", name, at,
	     added, nb, gone);
	ok(added >= 1 && added <= 3,
	   "%s: one byte inserted at %zu changes 1..3 chunks (%zu)", name,
	   at, added);
	ok(gone <= 3, "%s: and at most 3 old chunks disappear (%zu)", name,
	   gone);
	free(ha);
	free(hb);
	free(e);
	chunker_free(c);
}

/*
 * Feeds the data in irregular pieces, calling chunker_next with the
 * window it has; a 0 answer must mean "give me more" and the final cut
 * list must equal the one from the whole buffer.
 */
static void test_streaming(const uint8_t *d, size_t n,
			   const struct chunker_params *p, const char *name)
{
	struct chunker *c;
	struct cuts whole = { 0 }, st = { 0 };
	uint8_t seed[32];
	size_t start = 0, have = 0, l, zeros = 0, early = 0, bad0 = 0;
	uint32_t rnd = 12345;

	seed_of(seed, 11);
	if (chunker_new(&c, p, seed))
		abort();
	chunk_all(c, d, n, &whole);
	while (start < n) {
		int eof;

		/* grow the window by 1 .. max/3 bytes */
		rnd = rnd * 1103515245u + 12345u;
		have += 1 + (rnd >> 8) % (p->max / 3);
		if (have > n)
			have = n;
		eof = have == n;
		for (;;) {
			l = chunker_next(c, d + start, have - start, eof);
			if (l == 0) {
				if (eof || have - start >= p->max)
					bad0++;
				zeros++;
				break;
			}
			if (have - start < p->max && !eof)
				early++;
			cuts_push(&st, l);
			start += l;
			if (start == have)
				break;
		}
	}
	is_int(bad0, 0, "%s: 0 only when len < max and !eof", name);
	ok(zeros > 0 && early > 0,
	   "%s: short windows both defer (%zu) and cut early (%zu)", name,
	   zeros, early);
	ok(cuts_equal(&whole, &st),
	   "%s: streamed cuts equal whole-buffer cuts (%zu)", name, st.n);
	cuts_free(&whole);
	cuts_free(&st);
	chunker_free(c);
}

static void test_need_more(void)
{
	struct chunker *c;
	uint8_t seed[32], *z;
	size_t i, l, bad = 0;

	seed_of(seed, 2);
	if (chunker_new(&c, &general, seed))
		abort();
	z = random_bytes(general.max, 42);
	is_int(chunker_next(c, z, 0, 0), 0, "len 0, !eof: 0");
	is_int(chunker_next(c, z, 0, 1), 0, "len 0, eof: 0");
	is_int(chunker_next(c, z, general.min - 1, 0), 0,
	       "len < min, !eof: needs more");
	is_int(chunker_next(c, z, general.min - 1, 1), general.min - 1,
	       "len < min, eof: the whole tail");
	is_int(chunker_next(c, z, 1, 1), 1, "a 1-byte tail at eof");
	free(z);

	/* Constant data never matches the mask (for this seed): every
	 * chunk is a hard cut at max, and short windows must wait. */
	z = calloc(3 * general.max + 100, 1);
	if (!z)
		abort();
	is_int(chunker_next(c, z, general.max - 1, 0), 0,
	       "no candidate in max - 1 bytes, !eof: needs more");
	is_int(chunker_next(c, z, general.max - 1, 1), general.max - 1,
	       "no candidate, eof: the whole tail (< max)");
	is_int(chunker_next(c, z, general.max, 0), general.max,
	       "len == max, no candidate: hard cut at max");
	for (i = 0; i < 3; i++) {
		l = chunker_next(c, z + i * general.max,
				 3 * general.max + 100 - i * general.max, 1);
		if (l != general.max)
			bad++;
	}
	is_int(bad, 0, "zeros: hard cuts at max");
	is_int(chunker_next(c, z + 3 * general.max, 100, 1), 100,
	       "zeros: a 100-byte tail at eof");
	is_int(chunker_next(c, z, 3 * general.max + 100, 1), general.max,
	       "eof with len > max still cuts at max");
	free(z);
	chunker_free(c);
}

/* ---- rows ------------------------------------------------------------- */

/* A COPY-like table dump: tab-separated rows, varied lengths. */
static uint8_t *copy_text(size_t want, size_t *n)
{
	uint8_t *t = malloc(want + 512);
	size_t len = 0, id = 1;
	uint32_t r = 1;
	int k;

	if (!t)
		abort();
	len += (size_t)snprintf((char *)t, 512,
		"COPY public.items (id, uuid, created, note) FROM stdin;\n");
	while (len < want) {
		char row[400];
		int m;

		r = r * 1664525u + 1013904223u;
		m = snprintf(row, sizeof(row),
			     "%zu\t%08x-%04x-4%03x-a%03x-%012x\t2024-%02u-%02u "
			     "%02u:%02u:%02u+00\t", id, r, r >> 16, r & 0xfff,
			     (r >> 5) & 0xfff, r ^ 0x5bd1e995, 1 + r % 12,
			     1 + r % 28, r % 24, (r >> 3) % 60, (r >> 9) % 60);
		for (k = 0; k < (int)(r >> 24) % 40 && m < 380; k++)
			row[m++] = "abcdefghijklmnopqrstuvwxyz  "[(r >> (k % 24)) % 28];
		row[m++] = '\n';
		memcpy(t + len, row, (size_t)m);
		len += (size_t)m;
		id++;
	}
	memcpy(t + len, "\\.\n", 3);
	len += 3;
	*n = len;
	return t;
}

static void test_rows(void)
{
	struct chunker *c;
	struct cuts cs = { 0 };
	uint8_t seed[32], *t;
	size_t n, i, off = 0, notnl = 0, out = 0;

	seed_of(seed, 4);
	if (chunker_new(&c, &rowsp, seed))
		abort();
	t = copy_text(8 * MiB, &n);
	chunk_all(c, t, n, &cs);
	for (i = 0; i < cs.n; i++) {
		off += cs.len[i];
		if (t[off - 1] != '\n')
			notnl++;
		if (i + 1 < cs.n &&
		    (cs.len[i] < rowsp.min || cs.len[i] > rowsp.max))
			out++;
	}
	is_int(off, n, "rows: chunks cover the text");
	is_int(notnl, 0, "rows: every cut of COPY text is right after '\\n'");
	is_int(out, 0, "rows: every chunk but the last within [min, max]");
	diag("rows: %zu chunks, mean %.0f bytes (avg %u)", cs.n,
	     (double)n / cs.n, rowsp.avg);
	ok((double)n / cs.n >= rowsp.avg / 2.0 &&
	   (double)n / cs.n <= rowsp.avg * 2.0,
	   "rows: mean chunk size within a factor 2 of avg");
	cuts_free(&cs);

	/* An in-place row update (same length) stays local too. */
	{
		uint8_t *e = malloc(n), *ha, *hb;
		size_t na, nb, added;

		if (!e)
			abort();
		memcpy(e, t, n);
		memcpy(e + n / 3, "UPDATED", 7);
		ha = chunk_hashes(c, t, n, &na);
		hb = chunk_hashes(c, e, n, &nb);
		added = hashes_missing(hb, nb, ha, na);
		ok(added >= 1 && added <= 2,
		   "rows: one updated row changes 1..2 chunks (%zu)", added);
		free(ha);
		free(hb);
		free(e);
	}
	chunker_free(c);
	test_streaming(t, n, &rowsp, "rows");
	free(t);
}

/*
 * A line longer than max: 1000 bytes of short lines (less than min),
 * then 3 * max bytes with no newline, then short lines again.
 */
static void test_rows_long_line(void)
{
	struct chunker *c;
	struct cuts cs = { 0 };
	uint8_t seed[32], *t, *tail;
	size_t n, i, tn, head = 1000, lng = 3 * rowsp.max, off = 0;
	size_t bad = 0;

	seed_of(seed, 6);
	if (chunker_new(&c, &rowsp, seed))
		abort();
	tail = copy_text(4 * rowsp.max, &tn);
	n = head + lng + tn;
	t = random_bytes(n, 77);
	for (i = 0; i < head; i++)
		t[i] = (i % 50 == 49) ? '\n' : 'a' + i % 26;
	for (i = head; i < head + lng; i++)
		if (t[i] == '\n')
			t[i] = ' ';
	memcpy(t + head + lng, tail, tn);

	/* The head's last newline is at 999; no newline after it until the
	 * long line ends, so the first cut falls back to just after it
	 * (a chunk shorter than min). */
	is_int(chunker_next(c, t, n, 0), 1000,
	       "rows: no newline after a candidate: cut after the last one");
	is_int(chunker_next(c, t, rowsp.max - 1, 0), 0,
	       "rows: fallback needs max bytes before it can decide");
	is_int(chunker_next(c, t + head, n - head, 0), rowsp.max,
	       "rows: no newline in [0, max): hard cut at max");
	is_int(chunker_next(c, t + head + 2 * rowsp.max,
			    n - head - 2 * rowsp.max, 0), rowsp.max,
	       "rows: the line's last max bytes are a hard cut too");
	is_int(chunker_next(c, t + head + lng, tn, 1),
	       chunker_next(c, tail, tn, 1),
	       "rows: after the long line, cuts follow the rows again");

	chunk_all(c, t, n, &cs);
	for (i = 0; i < cs.n; i++) {
		int nl = memchr(t + off, '\n', cs.len[i]) != NULL;

		off += cs.len[i];
		/* each cut is after '\n', or a hard cut of a newline-free
		 * max-sized piece, or the end */
		if (!(t[off - 1] == '\n' ||
		      (cs.len[i] == rowsp.max && !nl) || off == n))
			bad++;
	}
	is_int(bad, 0, "rows: every cut is after '\\n' or a hard cut at max");
	ok(cs.n >= 5, "rows: the long line was split (%zu chunks)", cs.n);
	cuts_free(&cs);
	free(tail);
	free(t);
	chunker_free(c);
}

static void test_throughput(const uint8_t *d, size_t n)
{
	struct chunker *c;
	uint8_t seed[32], *t;
	size_t off, tn, chunks = 0;
	double t0, dt;
	int rep;

	seed_of(seed, 10);
	if (chunker_new(&c, &general, seed))
		abort();
	t0 = now_sec();
	for (rep = 0; rep < 5; rep++)
		for (off = 0; off < n; off += chunker_next(c, d + off,
							   n - off, 1))
			chunks++;
	dt = now_sec() - t0;
	diag("throughput general (%u/%u/%u): %.0f MB/s", general.min,
	     general.avg, general.max, 5.0 * n / dt / 1e6);
	chunker_free(c);

	if (chunker_new(&c, &rowsp, seed))
		abort();
	t = copy_text(n, &tn);
	t0 = now_sec();
	for (rep = 0; rep < 5; rep++)
		for (off = 0; off < tn; off += chunker_next(c, t + off,
							    tn - off, 1))
			chunks++;
	dt = now_sec() - t0;
	diag("throughput rows (%u/%u/%u): %.0f MB/s", rowsp.min, rowsp.avg,
	     rowsp.max, 5.0 * tn / dt / 1e6);
	ok(chunks > 0, "throughput runs completed");
	free(t);
	chunker_free(c);
}

int main(void)
{
	size_t n = 20 * MiB;
	uint8_t *d;

	if (sodium_init() < 0)
		return 1;
	d = random_bytes(n, 1);
	test_params();
	test_determinism(d, n);
	test_reference(d, n, &small, "small");
	test_reference(d, n, &general, "general");
	test_average(d, n, &small, "small");
	test_average(d, n, &general, "general");
	test_insert(d, n, &small, 1000, "small");
	test_insert(d, n, &small, 3 * MiB + 17, "small");
	test_insert(d, n, &general, 1000, "general");
	test_insert(d, n, &general, 100 * 1024, "general");
	test_streaming(d, 4 * MiB, &small, "small");
	test_streaming(d, n, &general, "general");
	test_need_more();
	test_rows();
	test_rows_long_line();
	test_throughput(d, n);
	free(d);
	return done_testing();
}

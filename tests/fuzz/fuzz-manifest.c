/*
 * fuzz-manifest: the streamed manifest decoder (manifest_dec_new,
 * manifest_dec_next, manifest_dec_chunk; formats/manifest.h) on a
 * stream from outside.  The bytes are read through the callback three
 * ways, all of which must agree:
 *
 *   A. in one piece, every chunk ref read;
 *   B. in pieces of 1..97 bytes (drawn from the input), the chunk refs of
 *      every other entry left for the decoder to skip;
 *   C. in pieces, the callback failing with -EIO at a byte drawn from
 *      the input: the decoder must give -EIO or what A gave, after a
 *      prefix of A's entries.
 *
 * Every returned entry is checked against the rules the decoder promises
 * (terminated strings without NUL, kind and mode ranges, a target only
 * for symlinks, chunk refs only for files, strictly increasing paths),
 * an error is sticky, and what was decoded survives encode -> decode,
 * re-encoding to the same bytes and, for a valid stream, to no more
 * bytes than it came in.  The input is also tried with its end hash made
 * right, so the count and end rules are reached.
 */
#include <errno.h>

#include "blob.h"
#include "manifest.h"
#include "fuzz.h"

const char fuzz_name[] = "manifest";

/* ---- the read callback ---------------------------------------------- */

struct src {
	const uint8_t *p;
	size_t len, off;
	int pieces;		/* hand out 1..97 bytes per call */
	size_t fail_at;		/* -EIO from this offset on (SIZE_MAX: never) */
	uint64_t seed;
};

static long src_read(void *ctx, void *dst, size_t n)
{
	struct src *s = ctx;
	size_t k = s->len - s->off;

	if (s->off >= s->fail_at)
		return -EIO;
	if (k > n)
		k = n;
	if (s->pieces && k > 1)
		k = 1 + fuzz_rand(&s->seed) % (k < 97 ? k : 97);
	if (s->fail_at - s->off < k)
		k = s->fail_at - s->off;
	memcpy(dst, s->p + s->off, k);
	s->off += k;
	return (long)k;
}

/* ---- what one pass decoded ------------------------------------------ */

struct got {
	struct manifest_entry *e;
	uint64_t *nread;	/* chunk refs read, per entry */
	size_t ne;
	struct manifest_chunk *c;
	size_t nc;
	int rc;
};

static void got_release(struct got *g)
{
	for (size_t i = 0; i < g->ne; i++)
		manifest_entry_release(&g->e[i]);
	free(g->e);
	free(g->nread);
	free(g->c);
	memset(g, 0, sizeof(*g));
}

static void *grow(void *p, size_t n, size_t size)
{
	/* doubling at powers of two keeps this linear */
	if (n & (n - 1))
		return p;
	p = realloc(p, (n ? 2 * n : 1) * size);
	if (!p)
		abort();
	return p;
}

static int nonul(const char *s, size_t n)
{
	return s && s[n] == '\0' && !memchr(s, '\0', n);
}

static void check_entry(const struct manifest_entry *e,
			const struct manifest_entry *prev)
{
	FUZZ_CHECK(nonul(e->path, e->path_len) &&
		   e->path_len <= MANIFEST_MAX_PATH);
	FUZZ_CHECK(e->kind >= MANIFEST_FILE && e->kind <= MANIFEST_SYMLINK);
	FUZZ_CHECK(e->mode <= 07777);
	if (e->kind == MANIFEST_SYMLINK)
		FUZZ_CHECK(nonul(e->target, e->target_len) &&
			   e->target_len <= MANIFEST_MAX_TARGET);
	else
		FUZZ_CHECK(e->target == NULL);
	FUZZ_CHECK(e->nchunks == 0 || e->kind == MANIFEST_FILE);
	FUZZ_CHECK(e->nattrs <= MANIFEST_MAX_ATTRS &&
		   (e->nattrs == 0) == (e->attrs == NULL));
	for (size_t i = 0; i < e->nattrs; i++) {
		const struct manifest_attr *a = &e->attrs[i];

		FUZZ_CHECK(nonul(a->key, strlen(a->key)) &&
			   strlen(a->key) <= MANIFEST_MAX_KEY);
		FUZZ_CHECK(a->value && a->value[a->value_len] == '\0' &&
			   a->value_len <= MANIFEST_MAX_VALUE);
	}
	if (prev)
		FUZZ_CHECK(manifest_path_cmp(prev->path, prev->path_len,
					     e->path, e->path_len) < 0);
}

/*
 * One pass over p[0..n).  skip_odd leaves the chunk refs of odd entries
 * unread.  Stops at the first error or the end; checks it is sticky.
 */
static void run(struct got *g, const uint8_t *p, size_t n, int pieces,
		size_t fail_at, uint64_t seed, int skip_odd)
{
	struct src s = { p, n, 0, pieces, fail_at, seed };
	struct manifest_dec *d;
	struct manifest_entry e;
	struct manifest_chunk c;
	int r;

	memset(g, 0, sizeof(*g));
	FUZZ_CHECK(manifest_dec_new(&d, src_read, &s) == 0 && d);
	memset(&e, 0, sizeof(e));
	for (;;) {
		r = manifest_dec_next(d, &e);
		FUZZ_CHECK(r == 1 || r == 0 || r == -EBADMSG || r == -EIO ||
			   r == -ENOMEM);
		if (r != 1)
			break;
		check_entry(&e, g->ne ? &g->e[g->ne - 1] : NULL);
		g->e = grow(g->e, g->ne, sizeof(*g->e));
		g->nread = grow(g->nread, g->ne, sizeof(*g->nread));
		g->e[g->ne] = e;	/* the entry is ours now */
		g->nread[g->ne] = 0;
		memset(&e, 0, sizeof(e));
		g->ne++;
		if (skip_odd && g->ne % 2 == 0)
			continue;
		while ((r = manifest_dec_chunk(d, &c)) == 1) {
			FUZZ_CHECK(c.len > 0 && c.len <= BLOB_MAX_RAW);
			g->c = grow(g->c, g->nc, sizeof(*g->c));
			g->c[g->nc++] = c;
			g->nread[g->ne - 1]++;
		}
		FUZZ_CHECK(r == 0 || r == -EBADMSG || r == -EIO ||
			   r == -ENOMEM);
		if (r < 0)
			break;
		FUZZ_CHECK(g->nread[g->ne - 1] == g->e[g->ne - 1].nchunks);
	}
	manifest_entry_release(&e);
	g->rc = r;
	/* an error (or the end) is sticky */
	FUZZ_CHECK(manifest_dec_next(d, &e) == r);
	FUZZ_CHECK(e.path == NULL);
	FUZZ_CHECK(manifest_dec_chunk(d, &c) == (r < 0 ? r : 0));
	manifest_dec_free(d);
}

static int attrs_eq(const struct manifest_entry *a,
		    const struct manifest_entry *b)
{
	if (a->nattrs != b->nattrs)
		return 0;
	for (size_t i = 0; i < a->nattrs; i++) {
		const struct manifest_attr *x = &a->attrs[i], *y = &b->attrs[i];

		if (strcmp(x->key, y->key) != 0 ||
		    x->value_len != y->value_len ||
		    memcmp(x->value, y->value, x->value_len) != 0)
			return 0;
	}
	return 1;
}

static int target_eq(const struct manifest_entry *a,
		     const struct manifest_entry *b)
{
	if (!a->target || !b->target)
		return a->target == b->target;
	return a->target_len == b->target_len &&
	       memcmp(a->target, b->target, a->target_len) == 0;
}

static int entry_eq(const struct manifest_entry *a,
		    const struct manifest_entry *b)
{
	return a->path_len == b->path_len &&
	       memcmp(a->path, b->path, a->path_len) == 0 &&
	       a->kind == b->kind && a->mode == b->mode &&
	       a->mtime_ns == b->mtime_ns && a->size == b->size &&
	       target_eq(a, b) && attrs_eq(a, b) && a->nchunks == b->nchunks;
}

static int chunk_eq(const struct manifest_chunk *a,
		    const struct manifest_chunk *b)
{
	return a->len == b->len && memcmp(a->id, b->id, sizeof(a->id)) == 0;
}

/* The entries (with nchunks as read) and chunk refs of g as a stream. */
static void encode(struct buf *out, struct got *g)
{
	struct manifest_hash *h = manifest_hash_new();
	size_t k = 0;

	FUZZ_CHECK(h != NULL);
	FUZZ_CHECK(manifest_encode_header(out) == 0);
	for (size_t i = 0; i < g->ne; i++) {
		g->e[i].nchunks = g->nread[i];
		/* the encoder takes whatever the decoder gave */
		FUZZ_CHECK(manifest_encode_entry(out, &g->e[i]) == 0);
		for (uint64_t j = 0; j < g->nread[i]; j++)
			FUZZ_CHECK(manifest_encode_chunk(out, &g->c[k++]) == 0);
	}
	FUZZ_CHECK(k == g->nc);
	FUZZ_CHECK(manifest_encode_end(out, h, g->ne) == 0);
	manifest_hash_free(h);
}

static void check(const uint8_t *p, size_t n)
{
	struct got a, b, c, d;
	struct buf e1 = BUF_INIT, e2 = BUF_INIT;
	uint64_t seed = XXH3_64bits(p, n);

	run(&a, p, n, 0, SIZE_MAX, 0, 0);

	run(&b, p, n, 1, SIZE_MAX, seed, 1);
	FUZZ_CHECK(b.rc == a.rc && b.ne == a.ne);
	for (size_t i = 0, ka = 0, kb = 0; i < a.ne; i++) {
		FUZZ_CHECK(entry_eq(&a.e[i], &b.e[i]));
		if (i % 2 == 0) {
			FUZZ_CHECK(b.nread[i] == a.nread[i]);
			for (uint64_t j = 0; j < a.nread[i]; j++)
				FUZZ_CHECK(chunk_eq(&a.c[ka + j],
						    &b.c[kb + j]));
			kb += b.nread[i];
		} else {
			FUZZ_CHECK(b.nread[i] == 0);
		}
		ka += a.nread[i];
	}
	got_release(&b);

	run(&c, p, n, 1, n ? seed % (n + 1) : 0, seed >> 32, 0);
	FUZZ_CHECK(c.rc == a.rc || c.rc == -EIO);
	FUZZ_CHECK(c.ne <= a.ne);
	if (c.rc != -EIO)
		FUZZ_CHECK(c.ne == a.ne);
	for (size_t i = 0; i < c.ne; i++)
		FUZZ_CHECK(entry_eq(&a.e[i], &c.e[i]));
	for (size_t i = 0; i < c.nc; i++)
		FUZZ_CHECK(chunk_eq(&a.c[i], &c.c[i]));
	got_release(&c);

	/* decode -> encode -> decode, and encode again to the same bytes */
	encode(&e1, &a);
	run(&d, e1.data, e1.len, 0, SIZE_MAX, 0, 0);
	FUZZ_CHECK(d.rc == 0 && d.ne == a.ne && d.nc == a.nc);
	for (size_t i = 0; i < a.ne; i++)
		FUZZ_CHECK(entry_eq(&a.e[i], &d.e[i]));
	for (size_t i = 0; i < a.nc; i++)
		FUZZ_CHECK(chunk_eq(&a.c[i], &d.c[i]));
	encode(&e2, &d);
	FUZZ_CHECK(e1.len == e2.len && memcmp(e1.data, e2.data, e1.len) == 0);
	/* varints are written shortest: never longer than a valid input */
	if (a.rc == 0)
		FUZZ_CHECK(e1.len <= n);
	got_release(&d);
	got_release(&a);
	buf_release(&e1);
	buf_release(&e2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *fixed;

	check(data, size);
	if (!fuzz_sum_ok(data, size) && (fixed = fuzz_with_sum(data, size))) {
		check(fixed, size);
		free(fixed);
	}
	return 0;
}

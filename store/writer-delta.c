/*
 * writer-delta: delta chunks on the write side (design: doc/design.md,
 * "Delta chunks").
 *
 * A stream may carry base candidates: the chunk list of the same file in
 * an earlier snapshot (repo_stream_set_base; vault snapshot --db gives
 * each table's rows the previous snapshot's).  A new data chunk of such
 * a stream is expected to hold roughly the rows of the old chunk at the
 * same place, once the stream's drift against the old one (`shift`:
 * rows that grew or shrank, rows inserted before) is accounted for.  The
 * drift is learnt as the stream goes: from chunks that deduplicated
 * against a candidate, whose old offset is known, and from deltas whose
 * first rows were found in their base.  Workers finish out of order, so
 * the drift a chunk sees may be a few batches old; it moves by a few
 * bytes a batch, which the probe and the reach of the dictionary
 * windows (formats/delta.c) absorb.
 *
 * The base is read through its chain (chain.c); the chunk is encoded
 * against it, and the delta is kept when it is at most half of the
 * chunk's own lz4 form (computed only when the delta is not tiny).
 * Whatever goes wrong with a base stores the chunk whole: a damaged old
 * snapshot must not fail a new one.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "blob.h"
#include "chain.h"
#include "delta.h"
#include "repo-internal.h"
#include "writer-int.h"

struct writer_bases {
	struct repo_chunkref *c;	/* in stream order */
	uint64_t *off;			/* n + 1 offsets: off[n] is the end */
	uint32_t *by_id;		/* indices into c, sorted by id */
	size_t n;
	/* learnt, under the writer's mutex: the new stream's offset minus
	 * the old one's, as of the chunk at new offset `at` */
	int64_t shift;
	uint64_t at;
};

/* A slot's scratch for deltas: the chain decode and the encoding. */
struct writer_dx {
	struct buf base, tmp, stored, payload;
};

/* ---- candidates -------------------------------------------------- */

static int writer_bases_cmp(const void *a, const void *b, void *arg)
{
	const struct repo_chunkref *c = arg;

	return memcmp(c[*(const uint32_t *)a].id, c[*(const uint32_t *)b].id,
		      32);
}

int writer_bases_new(struct writer_bases **out, const struct repo_chunkref *c,
		     size_t n)
{
	struct writer_bases *b;

	*out = NULL;
	if (n > UINT32_MAX)
		return -EINVAL;
	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->n = n;
	b->c = malloc((n ? n : 1) * sizeof(*b->c));
	b->off = malloc((n + 1) * sizeof(*b->off));
	b->by_id = malloc((n ? n : 1) * sizeof(*b->by_id));
	if (!b->c || !b->off || !b->by_id) {
		writer_bases_free(b);
		return -ENOMEM;
	}
	b->off[0] = 0;
	for (size_t i = 0; i < n; i++) {
		b->c[i] = c[i];
		b->off[i + 1] = b->off[i] + c[i].len;
		b->by_id[i] = (uint32_t)i;
	}
	qsort_r(b->by_id, n, sizeof(*b->by_id), writer_bases_cmp, b->c);
	*out = b;
	return 0;
}

void writer_bases_free(struct writer_bases *b)
{
	if (!b)
		return;
	free(b->c);
	free(b->off);
	free(b->by_id);
	free(b);
}

/* The drift as of new offset off; the newest (by offset) wins. */
static void writer_bases_learn(struct writer_bases *b, uint64_t off,
			       int64_t shift)
{
	if (off + 1 < b->at)
		return;
	b->shift = shift;
	b->at = off + 1;
}

void writer_delta_seen(struct writer_bases *b, uint64_t off,
		       const uint8_t id[32])
{
	size_t lo = 0, hi = b->n, mid;
	int c;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		c = memcmp(b->c[b->by_id[mid]].id, id, 32);
		if (c == 0) {
			writer_bases_learn(b, off, (int64_t)off -
					   (int64_t)b->off[b->by_id[mid]]);
			return;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
}

/* The candidate covering old offset t, or -1 past the old stream's end
 * or before its start. */
static ssize_t writer_bases_at(const struct writer_bases *b, int64_t t)
{
	size_t lo = 0, hi = b->n, mid;

	if (!b->n || t < 0 || (uint64_t)t >= b->off[b->n])
		return -1;
	while (hi - lo > 1) {	/* off[lo] <= t < off[hi] */
		mid = lo + (hi - lo) / 2;
		if (b->off[mid] <= (uint64_t)t)
			lo = mid;
		else
			hi = mid;
	}
	return (ssize_t)lo;
}

/* The candidate for the chunk [off, off + n) with the drift known now:
 * the one covering its middle, or the last one when only its start
 * falls inside the old stream; -1 for bytes appended after it.  mu
 * held. */
static ssize_t writer_bases_pick(const struct writer_bases *b, uint64_t off,
				 size_t n)
{
	int64_t start = (int64_t)off - b->shift;
	ssize_t j = writer_bases_at(b, start + (int64_t)n / 2);

	if (j < 0 && b->n && start >= 0 && (uint64_t)start < b->off[b->n])
		j = (ssize_t)b->n - 1;
	return j;
}

/* ---- the base ---------------------------------------------------- */

static struct writer_dx *writer_dx_get(struct writer_slot *s)
{
	if (!s->dx) {
		s->dx = calloc(1, sizeof(*s->dx));
		if (!s->dx)
			return NULL;
		buf_init(&s->dx->base, 0);
		buf_init(&s->dx->tmp, 0);
		buf_init(&s->dx->stored, 0);
		buf_init(&s->dx->payload, 0);
	}
	return s->dx;
}

void writer_dx_free(struct writer_dx *dx)
{
	if (!dx)
		return;
	buf_wipe(&dx->base);
	buf_wipe(&dx->tmp);
	buf_release(&dx->stored);
	buf_wipe(&dx->payload);
	free(dx);
}

/*
 * Reads the base for candidate j into dx->base, with its link in *top:
 * the candidate itself, or, when it is at the deepest a chain may go,
 * the full chunk at the bottom of its chain (the same rows some
 * snapshots ago: a larger delta, but one that starts a short chain
 * instead of a full chunk).  1, or 0 when there is no base (not
 * indexed, damaged, too long); -ENOMEM.
 */
static int writer_delta_base(struct repo_writer *w, struct writer_bases *b,
			     size_t j, struct writer_dx *dx,
			     struct chain_link *top)
{
	struct chain_link links[CHAIN_MAX_LINKS];
	size_t nl = 0;
	int rc;

	pthread_mutex_lock(&w->mu);
	rc = b->c[j].len > WRITER_DELTA_MAX ? 0
		: chain_resolve(w->r->ix, b->c[j].id, NULL, links, &nl, NULL);
	pthread_mutex_unlock(&w->mu);
	if (rc <= 0)
		return rc == -ENOMEM ? rc : 0;
	if (links[0].loc.type != BLOB_DATA ||
	    links[0].loc.raw_len != b->c[j].len)
		return 0;
	if (links[0].loc.depth >= BLOB_MAX_DEPTH) {
		links[0] = links[nl - 1];
		nl = 1;
		if (links[0].loc.raw_len > WRITER_DELTA_MAX)
			return 0;
	}
	rc = chain_load(w->r, w->chains, links, nl, 0, &dx->stored, &dx->tmp,
			&dx->base, NULL);
	if (rc < 0)
		return rc == -ENOMEM ? rc : 0;
	*top = links[0];
	return 1;
}

/* Looks for WRITER_DELTA_PROBE bytes of the new chunk (from a row start
 * at 0, n/4, n/2) in the base, near expect (where the chunk's first byte
 * should be) first: 1 with *align (the base offset of the chunk's first
 * byte), or 0. */
static int writer_delta_probe(const struct buf *base, const uint8_t *p,
			      size_t n, int64_t expect, int64_t *align)
{
	for (size_t k = 0; k < 3; k++) {
		size_t at = k * (n / 4), len;
		const uint8_t *nl, *q = NULL;
		int64_t lo, hi;

		if (at) {	/* the next row start */
			nl = memchr(p + at, '\n', n - at);
			if (!nl)
				continue;
			at = (size_t)(nl - p) + 1;
		}
		if (at >= n)
			continue;
		len = n - at < WRITER_DELTA_PROBE ? n - at : WRITER_DELTA_PROBE;
		lo = expect + (int64_t)at - WRITER_DELTA_NEAR;
		hi = expect + (int64_t)(at + len) + WRITER_DELTA_NEAR;
		lo = lo < 0 ? 0 : lo;
		hi = hi > (int64_t)base->len ? (int64_t)base->len : hi;
		if (hi > lo)
			q = memmem(base->data + lo, (size_t)(hi - lo), p + at,
				   len);
		if (!q)
			q = memmem(base->data, base->len, p + at, len);
		if (q) {
			*align = (int64_t)(q - base->data) - (int64_t)at;
			return 1;
		}
	}
	return 0;
}

/* ---- encoding ---------------------------------------------------- */

int writer_delta_encode(struct repo_writer *w, struct writer_slot *s,
			uint64_t off, const uint8_t *p, size_t n,
			const uint8_t id[32])
{
	struct writer_bases *b = s->bases;
	struct writer_dx *dx;
	struct chain_link top;
	struct blob_delta d;
	int64_t expect, align = 0;
	ssize_t j, j2;
	size_t full;
	int found = 0, rc;

	if (!b || n < 2 || n > WRITER_DELTA_MAX)
		return 0;
	dx = writer_dx_get(s);
	if (!dx)
		return -ENOMEM;
	pthread_mutex_lock(&w->mu);
	j = writer_bases_pick(b, off, n);
	expect = j < 0 ? 0 : (int64_t)off - b->shift - (int64_t)b->off[j];
	pthread_mutex_unlock(&w->mu);
	if (j < 0)
		return 0;
	rc = writer_delta_base(w, b, (size_t)j, dx, &top);
	if (rc <= 0)
		return rc;
	found = writer_delta_probe(&dx->base, p, n, expect, &align);
	/* found far from where the drift said: the rows may be mostly in
	 * a neighbour, which is then the better base */
	if (found) {
		j2 = writer_bases_at(b, (int64_t)b->off[j] + align +
				     (int64_t)n / 2);
		if (j2 >= 0 && j2 != j) {
			rc = writer_delta_base(w, b, (size_t)j2, dx, &top);
			if (rc < 0)
				return rc;
			if (rc == 0)
				return 0;
			align += (int64_t)b->off[j] - (int64_t)b->off[j2];
			j = j2;
		}
	} else {
		align = expect;
	}
	buf_reset(&dx->payload);
	rc = delta_encode_level(&dx->payload, dx->base.data, dx->base.len, p,
				n, align, w->lz4_level);
	if (rc < 0 || dx->payload.len >= n)
		return rc == -ENOMEM ? rc : 0;
	if (dx->payload.len * WRITER_DELTA_SMALL > n) {
		/* not tiny: the full blob decides (and is kept if it wins) */
		buf_reset(&s->stored);
		rc = blob_encode_level(&s->stored, BLOB_DATA, p, n,
				       w->lz4_level, repo_enc_key(w->r), id);
		if (rc < 0)
			return rc;
		full = s->stored.len - BLOB_HEADER_SIZE - BLOB_SUM_SIZE -
		       (repo_enc_key(w->r) ? BLOB_NONCE_SIZE + BLOB_TAG_SIZE
					   : 0);
		if (2 * dx->payload.len > full)
			return 2;
	}
	memcpy(d.base, top.id, sizeof(d.base));
	d.depth = (uint8_t)(top.loc.depth + 1);
	buf_reset(&s->stored);
	rc = blob_encode_delta(&s->stored, BLOB_DATA, dx->payload.data,
			       dx->payload.len, (uint32_t)n, &d,
			       repo_enc_key(w->r), id);
	if (rc < 0)
		return rc == -ENOMEM ? rc : 0;
	pthread_mutex_lock(&w->mu);
	if (found)
		writer_bases_learn(b, off, (int64_t)off -
				   ((int64_t)b->off[j] + align));
	w->tot.chunks_delta++;
	pthread_mutex_unlock(&w->mu);
	return 1;
}

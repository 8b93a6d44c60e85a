/*
 * chunker: FastCDC content-defined chunking.
 *
 * The rolling hash is the gear hash h = (h << 1) + gear[byte] over a
 * 64-bit state, so bit k of h depends on the last k + 1 bytes only and
 * the top bits see a 64-byte window.  A position is a candidate when the
 * top N bits of h are zero.  Normalized chunking ("level 2" in the
 * FastCDC paper) uses N = log2(avg) + 2 (harder) while the chunk is
 * shorter than avg and N = log2(avg) - 2 (easier) after it, which pulls
 * chunk sizes towards avg.
 *
 * The gear table is derived from the repository's secret seed, so cut
 * points (and thus chunk sizes) differ between repositories and do not
 * leak which known files a repository holds.
 *
 * Because h only depends on the last 64 bytes, hashing may start at
 * min - 64: the state at min is then exactly what hashing from byte 0
 * would have produced, and we skip most of the bytes a chunk must hold
 * anyway.
 *
 * Rows mode cuts only right after '\n': a gear candidate c (>= min) moves
 * forward to just after the first newline at or after data[c - 1].  If
 * that is not found within max bytes, the cut goes after the last newline
 * before max; if the window holds no newline at all (one line longer than
 * max), the cut is a hard one at max.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "chunker.h"

#define CHUNKER_WINDOW 64		/* bytes the gear hash depends on */
#define CHUNKER_MIN_MIN 64
#define CHUNKER_MAX_MAX (32u << 20)

struct chunker {
	uint64_t gear[256];
	uint64_t mask_s;	/* harder mask, used before avg */
	uint64_t mask_l;	/* easier mask, used from avg to max */
	struct chunker_params p;
};

/* The top n bits set: those depend on the full 64-byte window. */
static uint64_t chunker_top_bits(unsigned n)
{
	return n >= 64 ? ~(uint64_t)0 : ~(~(uint64_t)0 >> n);
}

static int chunker_params_ok(const struct chunker_params *p)
{
	if (p->avg == 0 || (p->avg & (p->avg - 1)) != 0)
		return 0;
	if (p->min < CHUNKER_MIN_MIN || p->min > p->avg || p->avg > p->max)
		return 0;
	if (p->max > CHUNKER_MAX_MAX)
		return 0;
	return 1;
}

int chunker_new(struct chunker **cp, const struct chunker_params *p,
		const uint8_t seed[32])
{
	static const char ctx[] = "vault chunker gear table v1";
	uint8_t key[randombytes_SEEDBYTES];
	uint8_t raw[256 * 8];
	struct chunker *c;
	unsigned bits = 0;
	size_t i;

	*cp = NULL;
	if (!chunker_params_ok(p))
		return -EINVAL;
	if (sodium_init() < 0)
		return -ENOMEM;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->p = *p;
	c->p.rows = p->rows ? 1 : 0;

	/* Domain-separate the seed so the same secret can safely key other
	 * things; the table is then a ChaCha20 keystream read as LE64. */
	crypto_generichash(key, sizeof(key), (const uint8_t *)ctx,
			   sizeof(ctx) - 1, seed, 32);
	randombytes_buf_deterministic(raw, sizeof(raw), key);
	for (i = 0; i < 256; i++) {
		const uint8_t *b = raw + 8 * i;

		c->gear[i] = (uint64_t)b[0] | (uint64_t)b[1] << 8 |
			     (uint64_t)b[2] << 16 | (uint64_t)b[3] << 24 |
			     (uint64_t)b[4] << 32 | (uint64_t)b[5] << 40 |
			     (uint64_t)b[6] << 48 | (uint64_t)b[7] << 56;
	}
	sodium_memzero(key, sizeof(key));
	sodium_memzero(raw, sizeof(raw));

	while ((1u << bits) < p->avg)
		bits++;
	/* avg >= min >= 64, so bits >= 6 and bits - 2 >= 4 */
	c->mask_s = chunker_top_bits(bits + 2);
	c->mask_l = chunker_top_bits(bits - 2);
	*cp = c;
	return 0;
}

void chunker_free(struct chunker *c)
{
	if (!c)
		return;
	sodium_memzero(c, sizeof(*c));
	free(c);
}

const struct chunker_params *chunker_params(const struct chunker *c)
{
	return &c->p;
}

/*
 * Returns the first candidate cut (a chunk length in [min, end]) whose
 * gear hash matches, or 0 when there is none up to end.  end <= max.
 * A candidate at length n means the hash after byte n - 1 matched.
 */
static size_t chunker_gear(const struct chunker *c, const uint8_t *data,
			   size_t end)
{
	const uint64_t *gear = c->gear;
	size_t i, stop, min = c->p.min, avg = c->p.avg;
	uint64_t h = 0, mask;

	if (end < min)
		return 0;
	/* Prime the window: hashes for lengths >= min are then exact. */
	i = min - CHUNKER_WINDOW;
	for (; i < min - 1; i++)
		h = (h << 1) + gear[data[i]];

	/* Lengths min .. avg - 1 with the harder mask. */
	mask = c->mask_s;
	stop = avg - 1 < end ? avg - 1 : end;
	for (; i < stop; i++) {
		h = (h << 1) + gear[data[i]];
		if (!(h & mask))
			return i + 1;
	}
	/* Lengths avg .. end with the easier one. */
	mask = c->mask_l;
	for (; i < end; i++) {
		h = (h << 1) + gear[data[i]];
		if (!(h & mask))
			return i + 1;
	}
	return 0;
}

static size_t chunker_next_general(const struct chunker *c,
				   const uint8_t *data, size_t len, int eof)
{
	size_t max = c->p.max, end = len < max ? len : max, cut;

	cut = chunker_gear(c, data, end);
	if (cut)
		return cut;
	if (len >= max)
		return max;
	return eof ? len : 0;
}

static size_t chunker_next_rows(const struct chunker *c, const uint8_t *data,
				size_t len, int eof)
{
	size_t max = c->p.max, end = len < max ? len : max, cut;
	const uint8_t *nl;

	cut = chunker_gear(c, data, end);
	if (cut) {
		nl = memchr(data + cut - 1, '\n', end - (cut - 1));
		if (nl)
			return (size_t)(nl - data) + 1;
	}
	/* At eof a tail that fits is final: no need to move back to a newline. */
	if (eof && len <= max)
		return len;
	if (len < max)
		return 0;
	nl = memrchr(data, '\n', max);
	if (nl)
		return (size_t)(nl - data) + 1;
	return max;
}

size_t chunker_next(const struct chunker *c, const uint8_t *data, size_t len,
		    int eof)
{
	if (len == 0)
		return 0;
	if (c->p.rows)
		return chunker_next_rows(c, data, len, eof);
	return chunker_next_general(c, data, len, eof);
}

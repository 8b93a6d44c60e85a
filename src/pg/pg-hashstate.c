/*
 * pg-hashstate: XXH3-128's streaming state saved and restored (see
 * pg-hashstate.h).  The only file that looks inside XXH3_state_t.
 */
#define XXH_STATIC_LINKING_ONLY
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "pg-hashstate.h"

#define PG_HASHSTATE_STRIPE	64	/* XXH_STRIPE_LEN */
/* acc, buffered, stripes, total, buffer: the bytes behind the hex */
#define PG_HASHSTATE_RAW	(8 * PG_HASHSTATE_ACC + 4 + 8 + 8 + \
				 PG_HASHSTATE_BUFFER)

_Static_assert(sizeof(((XXH3_state_t *)0)->acc) ==
	       PG_HASHSTATE_ACC * sizeof(uint64_t), "XXH3 accumulators");
_Static_assert(sizeof(((XXH3_state_t *)0)->buffer) == PG_HASHSTATE_BUFFER,
	       "XXH3 buffer");
_Static_assert(PG_HASHSTATE_BUFFER == XXH3_INTERNALBUFFER_SIZE,
	       "XXH3 buffer size");

int pg_hashstate_save(struct pg_hashstate *s, const XXH3_state_t *h)
{
	memset(s, 0, sizeof(*s));
	/* the struct is the header's; the code that filled it the library's */
	if (XXH_versionNumber() != XXH_VERSION_NUMBER)
		return -ENOTSUP;
	memcpy(s->acc, h->acc, sizeof(s->acc));
	memcpy(s->buffer, h->buffer, sizeof(s->buffer));
	s->buffered = h->bufferedSize;
	s->stripes = h->nbStripesSoFar;
	s->total = h->totalLen;
	return 0;
}

/* What XXH3 itself keeps true of a state made by reset and updates. */
static int pg_hashstate_valid(const struct pg_hashstate *s, size_t per_block)
{
	if (s->buffered > PG_HASHSTATE_BUFFER || s->total < s->buffered ||
	    s->stripes >= per_block)
		return 0;
	/* everything stays in the buffer until it overflows once */
	if (s->total <= PG_HASHSTATE_BUFFER)
		return s->buffered == s->total && s->stripes == 0;
	/* then whole stripes are consumed, and some input stays buffered */
	return s->buffered > 0 &&
	       (s->total - s->buffered) % PG_HASHSTATE_STRIPE == 0;
}

int pg_hashstate_restore(XXH3_state_t *h, const struct pg_hashstate *s)
{
	XXH3_128bits_reset(h);
	if (XXH_versionNumber() != XXH_VERSION_NUMBER ||
	    !pg_hashstate_valid(s, h->nbStripesPerBlock))
		return -EINVAL;
	memcpy(h->acc, s->acc, sizeof(h->acc));
	memcpy(h->buffer, s->buffer, sizeof(h->buffer));
	h->bufferedSize = s->buffered;
	h->nbStripesSoFar = (size_t)s->stripes;
	h->totalLen = s->total;
	return 0;
}

static void pg_hashstate_put(uint8_t *p, uint64_t v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t pg_hashstate_get(const uint8_t *p, size_t n)
{
	uint64_t v = 0;

	for (size_t i = n; i-- > 0;)
		v = v << 8 | p[i];
	return v;
}

/* "xxh3-128/<version>/<state size>/" of this build */
static int pg_hashstate_prefix(char *out, size_t n)
{
	int k = snprintf(out, n, "xxh3-128/%u/%zu/", XXH_versionNumber(),
			 sizeof(XXH3_state_t));

	return k > 0 && (size_t)k < n ? k : -EINVAL;
}

int pg_hashstate_encode(struct buf *b, const struct pg_hashstate *s)
{
	uint8_t raw[PG_HASHSTATE_RAW], *p = raw;
	char prefix[64], hex[2 * PG_HASHSTATE_RAW + 1];

	if (pg_hashstate_prefix(prefix, sizeof(prefix)) < 0)
		return -EINVAL;
	for (size_t i = 0; i < PG_HASHSTATE_ACC; i++, p += 8)
		pg_hashstate_put(p, s->acc[i], 8);
	pg_hashstate_put(p, s->buffered, 4);
	pg_hashstate_put(p + 4, s->stripes, 8);
	pg_hashstate_put(p + 12, s->total, 8);
	memcpy(p + 20, s->buffer, PG_HASHSTATE_BUFFER);
	hex_encode(hex, raw, sizeof(raw));
	return buf_addf(b, "%s%s", prefix, hex);
}

int pg_hashstate_decode(struct pg_hashstate *s, const char *text)
{
	uint8_t raw[PG_HASHSTATE_RAW];
	const uint8_t *p = raw;
	char prefix[64];
	int k = pg_hashstate_prefix(prefix, sizeof(prefix));
	XXH3_state_t *h;
	int r;

	memset(s, 0, sizeof(*s));
	if (k < 0 || !text || strncmp(text, prefix, (size_t)k) ||
	    strlen(text + k) != 2 * sizeof(raw) ||
	    hex_decode(raw, sizeof(raw), text + k) < 0)
		return -EINVAL;
	for (size_t i = 0; i < PG_HASHSTATE_ACC; i++, p += 8)
		s->acc[i] = pg_hashstate_get(p, 8);
	s->buffered = (uint32_t)pg_hashstate_get(p, 4);
	s->stripes = pg_hashstate_get(p + 4, 8);
	s->total = pg_hashstate_get(p + 12, 8);
	memcpy(s->buffer, p + 20, PG_HASHSTATE_BUFFER);
	/* a state restore would refuse is no state */
	h = XXH3_createState();
	if (!h)
		return -ENOMEM;
	r = pg_hashstate_restore(h, s);
	XXH3_freeState(h);
	return r;
}

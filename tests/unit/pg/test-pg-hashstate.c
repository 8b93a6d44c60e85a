/*
 * test-pg-hashstate: the XXH3-128 state of a table's rows checksum
 * saved, written as text and restored (pg-hashstate.c), so a checksum
 * continued over appended rows equals the checksum of all the rows
 * hashed at once; malformed or mismatched text is refused.  Also the
 * decoder of a previous meta.json table's last_key and xxh3_state
 * (pg_snap_tail_parse), which takes untrusted input.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "../tap.h"
#include "json.h"
#include "pg-hashstate.h"
#include "pg-snap-int.h"
#include "strv.h"

static void gen(uint8_t *p, size_t n, uint64_t seed)
{
	for (size_t i = 0; i < n; i++) {
		seed = seed * 6364136223846793005ull + 1442695040888963407ull;
		p[i] = (uint8_t)(seed >> 56);
	}
}

/* Hashes p[0..at) in pieces, saves, encodes, decodes, restores into a
 * fresh state, hashes the rest: 1 when the digest is the one-shot one. */
static int continued(const uint8_t *p, size_t n, size_t at, size_t piece)
{
	XXH3_state_t *a = XXH3_createState(), *b = XXH3_createState();
	struct pg_hashstate s, d;
	struct buf text = BUF_INIT;
	XXH128_hash_t want = XXH3_128bits(p, n), got;
	int good = 0;

	XXH3_128bits_reset(a);
	for (size_t o = 0; o < at; o += piece)
		XXH3_128bits_update(a, p + o, at - o < piece ? at - o : piece);
	if (pg_hashstate_save(&s, a) == 0 && pg_hashstate_encode(&text, &s) == 0 &&
	    pg_hashstate_decode(&d, (char *)text.data) == 0 &&
	    pg_hashstate_restore(b, &d) == 0) {
		XXH3_128bits_update(b, p + at, n - at);
		got = XXH3_128bits_digest(b);
		good = XXH128_isEqual(got, want);
	}
	XXH3_freeState(a);
	XXH3_freeState(b);
	buf_release(&text);
	return good;
}

static void test_roundtrip(void)
{
	static const size_t at[] = { 0, 1, 63, 64, 65, 255, 256, 257, 511,
		1023, 1024, 1025, 4096, 65537, 1000003 };
	size_t n = 3u << 20;
	uint8_t *p = malloc(n);
	int bad = 0;

	gen(p, n, 7);
	for (size_t i = 0; i < sizeof(at) / sizeof(at[0]); i++)
		for (size_t piece = 1; piece < 100000; piece = piece * 7 + 3) {
			if (at[i] > 70000 && piece < 100)
				continue;	/* slow and no different */
			bad += !continued(p, n, at[i], piece);
		}
	is_int(bad, 0, "a checksum continued from its saved text equals the whole one");
	ok(continued(p, 300, 300, 1) && continued(p, 0, 0, 1),
	   "saved at the very end, and over nothing");
	free(p);
}

/* The text of a state, its fields changed by fn, or of a valid one. */
static void text_of(struct buf *b, void (*fn)(struct pg_hashstate *))
{
	XXH3_state_t *h = XXH3_createState();
	uint8_t p[5000];
	struct pg_hashstate s;

	gen(p, sizeof(p), 3);
	XXH3_128bits_reset(h);
	XXH3_128bits_update(h, p, sizeof(p));
	pg_hashstate_save(&s, h);
	if (fn)
		fn(&s);
	buf_reset(b);
	pg_hashstate_encode(b, &s);
	XXH3_freeState(h);
}

static void over_buffered(struct pg_hashstate *s) { s->buffered = 257; }
static void none_buffered(struct pg_hashstate *s) { s->buffered = 0; }
static void short_total(struct pg_hashstate *s) { s->total = s->buffered - 1; }
static void odd_total(struct pg_hashstate *s) { s->total++; }
static void many_stripes(struct pg_hashstate *s) { s->stripes = 1u << 20; }
static void small_total(struct pg_hashstate *s) { s->total = 100; s->buffered = 99; }

static void test_refused(void)
{
	void (*bad[])(struct pg_hashstate *) = { over_buffered, none_buffered,
		short_total, odd_total, many_stripes, small_total };
	struct buf b = BUF_INIT, t = BUF_INIT;
	struct pg_hashstate s;
	char *p;
	int refused = 0;

	text_of(&b, NULL);
	is_int(pg_hashstate_decode(&s, (char *)b.data), 0, "a valid state reads");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		text_of(&t, bad[i]);
		refused += pg_hashstate_decode(&s, (char *)t.data) == -EINVAL;
	}
	is_int(refused, 6, "states XXH3 cannot be in are refused");
	is_int(pg_hashstate_decode(&s, NULL), -EINVAL, "no text");
	is_int(pg_hashstate_decode(&s, ""), -EINVAL, "empty text");
	/* another version, another layout */
	p = strchr((char *)b.data, '/') + 1;
	buf_reset(&t);
	buf_addf(&t, "xxh3-128/800/%s", strchr(p, '/') + 1);
	is_int(pg_hashstate_decode(&s, (char *)t.data), -EINVAL,
	       "another library version");
	p = strchr(p, '/') + 1;		/* the state size */
	buf_reset(&t);
	buf_add(&t, b.data, (size_t)(p - (char *)b.data));
	buf_addf(&t, "9%s", p);
	is_int(pg_hashstate_decode(&s, (char *)t.data), -EINVAL,
	       "another state size");
	buf_reset(&t);
	buf_add(&t, b.data, b.len - 2);
	is_int(pg_hashstate_decode(&s, (char *)t.data), -EINVAL, "truncated");
	buf_reset(&t);
	buf_addf(&t, "%s0", (char *)b.data);
	is_int(pg_hashstate_decode(&s, (char *)t.data), -EINVAL, "a digit more");
	buf_reset(&t);
	buf_add(&t, b.data, b.len);
	t.data[t.len - 5] = 'g';
	is_int(pg_hashstate_decode(&s, (char *)t.data), -EINVAL, "not hex");
	buf_reset(&t);
	buf_addstr(&t, "xxh3-128/");
	is_int(pg_hashstate_decode(&s, (char *)t.data), -EINVAL, "the prefix only");
	buf_release(&b);
	buf_release(&t);
}

/* pg_snap_tail_parse on a table element of JSON text j. */
static int parse(const char *j, size_t npk)
{
	struct json *v = NULL;
	struct pg_hashstate st;
	char **key = NULL;
	int r;

	if (json_parse(&v, j, strlen(j), NULL) < 0)
		return -100;
	r = pg_snap_tail_parse(v, npk, &key, &st);
	if (r == 1 && (!key || strcmp(key[0], "41")))
		r = -101;
	strv_free(key, r == 1 ? npk : 0);
	json_free(v);
	return r;
}

static void test_parse(void)
{
	struct buf st = BUF_INIT, j = BUF_INIT;
	static const char *const bad[] = {
		"{\"last_key\": [\"41\", \"b\"], \"xxh3_state\": \"@\"}",
		"{\"last_key\": \"41\", \"xxh3_state\": \"@\"}",
		"{\"last_key\": [41], \"xxh3_state\": \"@\"}",
		"{\"last_key\": [null], \"xxh3_state\": \"@\"}",
		"{\"last_key\": [\"4\\n1\"], \"xxh3_state\": \"@\"}",
		"{\"last_key\": [\"4\\u00001\"], \"xxh3_state\": \"@\"}",
		"{\"last_key\": [\"\\u00e941\"], \"xxh3_state\": \"@\"}",
		"{\"last_key\": [\"41\"], \"xxh3_state\": \"x@\"}",
		"{\"last_key\": [\"41\"], \"xxh3_state\": null, \"s\": \"@\"}",
		"{\"last_key\": null, \"xxh3_state\": \"@\"}",
		"{\"xxh3_state\": \"@\"}",
		"[\"@\"]",
	};
	int refused = 0;

	text_of(&st, NULL);
	buf_addf(&j, "{\"last_key\": [\"41\"], \"xxh3_state\": \"%s\"}",
		 (char *)st.data);
	is_int(parse((char *)j.data, 1), 1, "last_key and xxh3_state read");
	is_int(parse((char *)j.data, 0), 0, "no key columns now: nothing");
	is_int(parse((char *)j.data, 2), 0, "two key columns now: nothing");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *at = strchr(bad[i], '@');

		buf_reset(&j);
		buf_add(&j, bad[i], (size_t)(at - bad[i]));
		buf_addf(&j, "%s%s", (char *)st.data, at + 1);
		refused += parse((char *)j.data, 1) == 0;
	}
	is_int(refused, (int)(sizeof(bad) / sizeof(bad[0])),
	       "malformed fields mean no tail read");
	is_int(pg_snap_tail_parse(NULL, 1, &(char **){ NULL }, &(struct pg_hashstate){ 0 }),
	       0, "no previous table");
	buf_release(&st);
	buf_release(&j);
}

int main(void)
{
	test_roundtrip();
	test_refused();
	test_parse();
	return done_testing();
}

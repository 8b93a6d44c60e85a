/*
 * fuzz.h: what the harnesses in tests/fuzz/ share.
 *
 * A harness is one fuzz-<name>.c that defines LLVMFuzzerTestOneInput:
 * it hands the bytes to one decoder of formats/ and checks what must
 * hold for any input: the decoder returns one of its documented codes,
 * and what it accepts survives decode -> encode -> decode unchanged.
 * Over-reads, leaks and undefined behaviour are the sanitizers' part.
 * A broken invariant aborts, which libFuzzer reports as a crash.
 *
 * Each harness links two ways:
 *   - with clang -fsanitize=fuzzer,address,undefined: tests/fuzz/t-fuzz.sh
 *     (make check, make fuzz) explores from the seed corpus;
 *   - with the configured compiler and replay.c: tests/fuzz/replay-<name>
 *     runs every file of tests/fuzz/corpus/<name>/ once (make check), a
 *     regression test on machines without clang, and the way to replay
 *     one crashing input (`tests/fuzz/replay-blob FILE`).
 */
#ifndef VAULT_FUZZ_H
#define VAULT_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>
#include "buf.h"

/* The entry point libFuzzer calls (and replay.c, once per file). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The harness's name: its corpus is tests/fuzz/corpus/<fuzz_name>/. */
extern const char fuzz_name[];

/* Aborts with the failed condition: a finding, never an input error. */
#define FUZZ_CHECK(cond) \
	((cond) ? (void)0 : fuzz_fail_(#cond, __FILE__, __LINE__))

static inline void fuzz_fail_(const char *what, const char *file, int line)
	__attribute__((noreturn));
static inline void fuzz_fail_(const char *what, const char *file, int line)
{
	fprintf(stderr, "%s:%d: invariant broken: %s\n", file, line, what);
	abort();
}

/*
 * The data key, the bound id (a blob's ad_id, a pack's name) and the
 * passphrase the harnesses decrypt with.  tests/fuzz/mkcorpus.c made the
 * encrypted seeds with the same ones, so the fuzzer starts past the AEAD.
 */
static const uint8_t fuzz_key[32] = {
	0x6b, 0x65, 0x79, 0x2d, 0x66, 0x75, 0x7a, 0x7a,
	0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
	0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10,
	0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18,
};
static const uint8_t fuzz_id[32] = {
	0x69, 0x64, 0x2d, 0x66, 0x75, 0x7a, 0x7a, 0x00,
	0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8,
	0xe1, 0xe2, 0xe3, 0xe4, 0xe5, 0xe6, 0xe7, 0xe8,
	0xd1, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8,
};
#define FUZZ_PASS "fuzz passphrase"

/*
 * Every checksummed format (blob, key file, snapshot record, tombstone,
 * manifest) ends in the le64 XXH3-64 of the bytes before it.  A random
 * mutation almost never keeps that right, so the harnesses also try a
 * copy with the sum recomputed: the fuzzer then reaches the fields
 * behind the checksum.  Returns a malloc'ed copy of exactly n bytes
 * (so ASan sees an over-read), or NULL when n < 8.
 */
static inline uint8_t *fuzz_with_sum(const uint8_t *p, size_t n)
{
	uint8_t *c;
	uint64_t sum;

	if (n < 8)
		return NULL;
	c = malloc(n);
	if (!c)
		abort();
	memcpy(c, p, n);
	sum = XXH3_64bits(c, n - 8);
	for (int i = 0; i < 8; i++)
		c[n - 8 + i] = (uint8_t)(sum >> (8 * i));
	return c;
}

/* Whether p[0..n) already ends in its own sum (then the copy is moot). */
static inline int fuzz_sum_ok(const uint8_t *p, size_t n)
{
	uint64_t sum = 0;

	if (n < 8)
		return 0;
	for (int i = 7; i >= 0; i--)
		sum = sum << 8 | p[n - 8 + i];
	return sum == XXH3_64bits(p, n - 8);
}

/* check(p, n) on the input as it is, then on a copy with its sum made
 * right (when it was not): the whole entry point of a harness of a
 * checksummed format. */
static inline void fuzz_as_is_and_summed(const uint8_t *p, size_t n,
					 void (*check)(const uint8_t *, size_t))
{
	uint8_t *fixed;

	check(p, n);
	if (!fuzz_sum_ok(p, n) && (fixed = fuzz_with_sum(p, n))) {
		check(fixed, n);
		free(fixed);
	}
}

/* A malloc'ed copy of exactly n bytes (malloc(0) is not portable). */
static inline uint8_t *fuzz_dup(const uint8_t *p, size_t n)
{
	uint8_t *c = malloc(n ? n : 1);

	if (!c)
		abort();
	if (n)
		memcpy(c, p, n);
	return c;
}

/*
 * The base plaintext delta payloads are applied to (fuzz-delta,
 * fuzz-blob) and mkcorpus made the delta seeds against: 40000 bytes of
 * COPY-like rows, the same every time.  out is reset first.
 */
#define FUZZ_BASE_LEN 40000
static inline void fuzz_delta_base(struct buf *out)
{
	uint32_t x = 12345;

	buf_reset(out);
	for (unsigned i = 0; out->len < FUZZ_BASE_LEN; i++) {
		x = x * 1103515245u + 12345u;
		if (buf_addf(out, "%u\tuser%u@example.com\t%08x\t2024-01-%02u"
			     " 10:%02u:00+00\n", i, x % 5000, x, 1 + i % 28,
			     i % 60) < 0)
			abort();
	}
	buf_setlen(out, FUZZ_BASE_LEN);
}

/* Small deterministic choices (piece sizes, which byte to flip) drawn
 * from the input itself, so a finding replays exactly. */
static inline uint64_t fuzz_rand(uint64_t *state)
{
	*state = *state * 6364136223846793005ull + 1442695040888963407ull;
	return *state >> 33;
}

#endif

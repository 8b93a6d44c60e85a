/*
 * chunker: FastCDC content-defined chunking (gear hash, normalized
 * chunking with two masks), gear table derived from a per-repository
 * secret.  Two uses:
 *   general: files and objects (~1 MiB average)
 *   rows:    COPY text; a cut is only ever placed right after '\n'
 *            (unless a single line is longer than max, which is then cut
 *            at max).  Candidates before min are ignored; if no gear
 *            boundary after a newline is found by max, the cut goes after
 *            the last newline before max.
 * The chunker is stateless between chunks: the caller keeps a window
 * that starts at the current chunk's first byte.
 */
#ifndef VAULT_CHUNKER_H
#define VAULT_CHUNKER_H

#include <stddef.h>
#include <stdint.h>

struct chunker_params {
	uint32_t min, avg, max;	/* avg a power of two; min <= avg <= max */
	int rows;		/* row-aligned cuts */
};

struct chunker;

/* 0, -EINVAL (bad params), -ENOMEM.  The seed is 32 secret bytes. */
int chunker_new(struct chunker **c, const struct chunker_params *p,
		const uint8_t seed[32]);
void chunker_free(struct chunker *c);
const struct chunker_params *chunker_params(const struct chunker *c);

/*
 * data[0..len) starts at a chunk boundary.  Returns the length of the next
 * chunk (1..max), or 0 when more data is needed to decide (len < max and
 * !eof).  With eof set, a final short chunk (len bytes, len <= max) is
 * returned as is; len == 0 returns 0.
 */
size_t chunker_next(const struct chunker *c, const uint8_t *data, size_t len,
		    int eof);

#endif

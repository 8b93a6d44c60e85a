/*
 * pg-hashstate: the XXH3-128 streaming state of a table's rows checksum
 * (pg.xxh3), saved at the end of the rows and restored later, so rows
 * appended since a snapshot extend its checksum without the old rows
 * being read again (doc/design.md, "Tables that only grew"; the text
 * form is meta.json's xxh3_state, formats/db-layout.md).
 *
 * XXH3's state is a struct of the library (XXH_STATIC_LINKING_ONLY)
 * whose layout may change between releases: the saved form holds the
 * fields that change as bytes are hashed (the accumulators, the buffer,
 * its fill, the stripe and byte counts), with the library's version
 * number and the state's size, and is only ever restored into the same
 * version and layout; the other fields come from XXH3_128bits_reset
 * (no seed, the default secret), as when the state was made.
 *
 * Pure: no I/O.  The decoder takes untrusted text.
 */
#ifndef VAULT_PG_HASHSTATE_H
#define VAULT_PG_HASHSTATE_H

#include <stddef.h>
#include <stdint.h>
#include <xxhash.h>
#include "buf.h"

#define PG_HASHSTATE_ACC	8	/* XXH3's accumulators */
#define PG_HASHSTATE_BUFFER	256	/* XXH3_INTERNALBUFFER_SIZE */

struct pg_hashstate {
	uint64_t acc[PG_HASHSTATE_ACC];
	uint8_t buffer[PG_HASHSTATE_BUFFER];
	uint32_t buffered;	/* bytes of buffer not yet consumed */
	uint64_t stripes;	/* stripes consumed in the current block */
	uint64_t total;		/* bytes hashed */
};

/* h (made by XXH3_128bits_reset, then updated) into s.  0, or -ENOTSUP
 * when the library linked is not the version the header describes (its
 * state cannot be read safely: nothing to save). */
int pg_hashstate_save(struct pg_hashstate *s, const XXH3_state_t *h);

/* Resets h as XXH3_128bits_reset does, then gives it s's fields, so
 * that updating and digesting h continue the saved hash.  0, or -EINVAL
 * (h then reset, as new) when s is not a state XXH3 could be in. */
int pg_hashstate_restore(XXH3_state_t *h, const struct pg_hashstate *s);

/* Appends the text form to b: "xxh3-128/<version>/<state size>/<hex>".
 * 0 or -ENOMEM. */
int pg_hashstate_encode(struct buf *b, const struct pg_hashstate *s);

/* Parses the text form (NUL-terminated): 0, or -EINVAL when it is
 * malformed, made by another version or layout of the library, or
 * holds a state pg_hashstate_restore would refuse. */
int pg_hashstate_decode(struct pg_hashstate *s, const char *text);

#endif

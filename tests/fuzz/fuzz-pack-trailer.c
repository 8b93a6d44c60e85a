/*
 * fuzz-pack-trailer: pack_trailer_decode (formats/pack.h) on a trailer
 * blob from outside, and on trailer tables from outside.  Every input is
 * tried three ways:
 *
 *   1. as a stored trailer blob (without a key; under the harness key and
 *      name when it says -ENOKEY);
 *   2. the same with its XXH3 trailer made right;
 *   3. as the plaintext table itself, put in a fresh trailer blob with
 *      and without the key: this drives the entry rules directly.
 *
 * Each is decoded with no end in sight (trailer_off = UINT64_MAX).
 * Invariants: the codes are the documented ones; a failure leaves no
 * table; an accepted table is in increasing, non-overlapping order with
 * sane types and sizes; it is accepted again with trailer_off moved in to
 * the end of its last blob, and refused one byte short of that; and it
 * survives pack_trailer_encode -> pack_trailer_decode.
 */
#include <errno.h>

#include "blob.h"
#include "pack.h"
#include "fuzz.h"

const char fuzz_name[] = "pack-trailer";

/* Field by field: the struct has padding. */
static int entries_eq(const struct pack_entry *a, const struct pack_entry *b,
		      size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (memcmp(a[i].id, b[i].id, PACK_ID_SIZE) != 0 ||
		    a[i].offset != b[i].offset || a[i].length != b[i].length ||
		    a[i].type != b[i].type || a[i].raw_len != b[i].raw_len)
			return 0;
	return 1;
}

static int trailer_code_ok(int r)
{
	return r == 0 || r == -EBADMSG || r == -ENOKEY ||
	       r == -EKEYREJECTED || r == -ENOMEM;
}

static int decode(const uint8_t *p, size_t n, uint64_t toff,
		  const uint8_t *key, struct pack_entry **e, size_t *ne)
{
	int r;

	*e = (struct pack_entry *)1;
	*ne = 1;
	r = pack_trailer_decode(p, n, toff, key, key ? fuzz_id : NULL, e, ne);
	FUZZ_CHECK(trailer_code_ok(r));
	if (r < 0)
		FUZZ_CHECK(*e == NULL && *ne == 0);
	return r;
}

static void check_table(const uint8_t *p, size_t n, const uint8_t *key,
			const struct pack_entry *e, size_t ne)
{
	struct pack_entry *e2;
	struct buf t = BUF_INIT;
	uint64_t next = PACK_HEADER_SIZE;
	size_t n2;

	FUZZ_CHECK(ne <= PACK_MAX_ENTRIES);
	for (size_t i = 0; i < ne; i++) {
		FUZZ_CHECK(e[i].offset >= next);
		FUZZ_CHECK(e[i].length >= BLOB_HEADER_SIZE + BLOB_SUM_SIZE);
		FUZZ_CHECK(e[i].type >= BLOB_DATA &&
			   e[i].type <= BLOB_TOMBSTONE &&
			   e[i].type != BLOB_TRAILER);
		FUZZ_CHECK(e[i].raw_len <= BLOB_MAX_RAW);
		next = e[i].offset + e[i].length;
		FUZZ_CHECK(next > e[i].offset);
	}
	/* the bound is tight: the end of the last blob, not a byte less */
	FUZZ_CHECK(decode(p, n, next, key, &e2, &n2) == 0 && n2 == ne);
	free(e2);
	if (ne)
		FUZZ_CHECK(decode(p, n, next - 1, key, &e2, &n2) == -EBADMSG);

	FUZZ_CHECK(pack_trailer_encode(&t, e, ne, key, key ? fuzz_id : NULL) ==
		   0);
	FUZZ_CHECK(t.len > PACK_FOOTER_SIZE);
	FUZZ_CHECK(decode(t.data, t.len - PACK_FOOTER_SIZE, next, key, &e2,
			  &n2) == 0);
	FUZZ_CHECK(n2 == ne && entries_eq(e, e2, ne));
	free(e2);
	buf_release(&t);
}

/* 1 and 2: a stored trailer blob. */
static void check_stored(const uint8_t *p, size_t n)
{
	const uint8_t *key = NULL;
	struct pack_entry *e;
	size_t ne;
	int r = decode(p, n, UINT64_MAX, NULL, &e, &ne);

	if (r == -ENOKEY) {
		key = fuzz_key;
		r = decode(p, n, UINT64_MAX, key, &e, &ne);
		FUZZ_CHECK(r != -ENOKEY);
	}
	if (r == 0) {
		check_table(p, n, key, e, ne);
		free(e);
	}
}

/* 3: the plaintext table, in a fresh trailer blob. */
static void check_plain(const uint8_t *p, size_t n, const uint8_t *key)
{
	struct buf t = BUF_INIT;
	struct pack_entry *e;
	size_t ne;
	int r;

	if (blob_encode(&t, BLOB_TRAILER, p, n, key, key ? fuzz_id : NULL) < 0)
		return;
	r = decode(t.data, t.len, UINT64_MAX, key, &e, &ne);
	FUZZ_CHECK(r == 0 || r == -EBADMSG);
	/* the table must be exactly count entries long */
	if (r == 0) {
		FUZZ_CHECK(n == 4 + ne * PACK_ENTRY_SIZE);
		check_table(t.data, t.len, key, e, ne);
		free(e);
	}
	buf_release(&t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *fixed;

	check_stored(data, size);
	if (!fuzz_sum_ok(data, size) && (fixed = fuzz_with_sum(data, size))) {
		check_stored(fixed, size);
		free(fixed);
	}
	check_plain(data, size, NULL);
	check_plain(data, size, fuzz_key);
	return 0;
}

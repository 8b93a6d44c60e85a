/*
 * fuzz-pack: a whole pack file from outside, read the way store/ reads
 * one (formats/pack.h): pack_header_decode on the first bytes,
 * pack_footer_decode on the last 12, pack_trailer_decode on the span the
 * footer names (first without a key, then, when it says -ENOKEY, under
 * the harness key with the harness id as the pack's name), then
 * blob_decode on every blob the trailer lists.  The footer is also read
 * against a file size taken from the input, to reach its arithmetic.
 *
 * Invariants: the codes are the documented ones; a footer is exactly 12
 * bytes and an accepted one names a span that fits after the header; an
 * accepted table lies within [16, trailer_off) in increasing,
 * non-overlapping order; a failed trailer decode leaves no table behind;
 * and the table survives pack_trailer_encode -> pack_trailer_decode.
 * tests/fuzz/fuzz-pack-trailer.c goes deeper into the table itself.
 */
#include <errno.h>

#include "blob.h"
#include "pack.h"
#include "fuzz.h"

const char fuzz_name[] = "pack";

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

static void check_footer(const uint8_t *f, uint64_t file_size)
{
	uint64_t off = 0;
	uint32_t len = 0;
	int r = pack_footer_decode(f, PACK_FOOTER_SIZE, file_size, &off, &len);

	FUZZ_CHECK(r == 0 || r == -EBADMSG);
	FUZZ_CHECK(pack_footer_decode(f, PACK_FOOTER_SIZE - 1, file_size, &off,
				      &len) == -EBADMSG);
	if (r < 0)
		return;
	FUZZ_CHECK(memcmp(f + 4, PACK_END_MAGIC, 8) == 0);
	FUZZ_CHECK(len >= BLOB_HEADER_SIZE + BLOB_SUM_SIZE);
	FUZZ_CHECK(off >= PACK_HEADER_SIZE);
	FUZZ_CHECK(off <= file_size && len <= file_size - off &&
		   file_size - off - len == PACK_FOOTER_SIZE);
}

/* The table survives encode -> decode (under the same key and name). */
static void check_reencode(const struct pack_entry *e, size_t n,
			   uint64_t trailer_off, const uint8_t *key)
{
	struct buf t = BUF_INIT;
	struct pack_entry *e2 = NULL;
	size_t n2 = 0, tlen;
	int r;

	r = pack_trailer_encode(&t, e, n, key, key ? fuzz_id : NULL);
	FUZZ_CHECK(r == 0 && t.len > PACK_FOOTER_SIZE);
	tlen = t.len - PACK_FOOTER_SIZE;
	FUZZ_CHECK(memcmp(t.data + tlen + 4, PACK_END_MAGIC, 8) == 0);
	r = pack_trailer_decode(t.data, tlen, trailer_off, key,
				key ? fuzz_id : NULL, &e2, &n2);
	FUZZ_CHECK(r == 0 && n2 == n);
	FUZZ_CHECK(entries_eq(e, e2, n));
	free(e2);
	buf_release(&t);
}

static void check_pack(const uint8_t *p, size_t n)
{
	struct pack_entry *e = (struct pack_entry *)1;
	const uint8_t *key = NULL;
	struct buf out = BUF_INIT;
	uint64_t toff = 0, next = PACK_HEADER_SIZE;
	uint32_t tlen = 0;
	size_t ne = 1;
	int r;

	r = pack_header_decode(p, n);
	FUZZ_CHECK(r == 0 || r == -EBADMSG);
	if (r == 0)
		FUZZ_CHECK(n >= PACK_HEADER_SIZE &&
			   memcmp(p, PACK_MAGIC, 8) == 0);
	if (n < PACK_FOOTER_SIZE)
		return;
	if (n >= PACK_FOOTER_SIZE + 8) {
		uint64_t fs = 0;

		for (int i = 7; i >= 0; i--)
			fs = fs << 8 | p[n - PACK_FOOTER_SIZE - 8 + i];
		check_footer(p + n - PACK_FOOTER_SIZE, fs);
	}
	check_footer(p + n - PACK_FOOTER_SIZE, n);
	if (pack_footer_decode(p + n - PACK_FOOTER_SIZE, PACK_FOOTER_SIZE, n,
			       &toff, &tlen) < 0)
		return;

	r = pack_trailer_decode(p + toff, tlen, toff, NULL, NULL, &e, &ne);
	if (r == -ENOKEY) {
		key = fuzz_key;
		r = pack_trailer_decode(p + toff, tlen, toff, key, fuzz_id, &e,
					&ne);
		FUZZ_CHECK(r != -ENOKEY);
	}
	FUZZ_CHECK(r == 0 || r == -EBADMSG || r == -EKEYREJECTED ||
		   r == -ENOMEM);
	if (r < 0) {
		FUZZ_CHECK(e == NULL && ne == 0);
		return;
	}
	for (size_t i = 0; i < ne; i++) {
		uint8_t type = 0;
		uint32_t raw_len = 0;
		int rb;

		FUZZ_CHECK(e[i].offset >= next && e[i].offset <= toff &&
			   e[i].length <= toff - e[i].offset);
		FUZZ_CHECK(e[i].type != BLOB_TRAILER &&
			   e[i].raw_len <= BLOB_MAX_RAW);
		next = e[i].offset + e[i].length;
		/* each blob, as the reader fetches it */
		buf_reset(&out);
		rb = blob_decode(&out, &type, p + e[i].offset, e[i].length, key,
				 key ? e[i].id : NULL);
		FUZZ_CHECK(rb == 0 || rb == -EBADMSG || rb == -ENOKEY ||
			   rb == -EKEYREJECTED || rb == -ENOMEM);
		if (rb == 0) {
			blob_peek(p + e[i].offset, e[i].length, NULL, NULL,
				  &raw_len);
			FUZZ_CHECK(out.len == raw_len);
		}
	}
	check_reencode(e, ne, toff, key);
	free(e);
	buf_release(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_pack(data, size);
	return 0;
}

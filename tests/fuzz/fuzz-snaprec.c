/*
 * fuzz-snaprec: snaprec_decode (formats/snaprec.h) on a snapshot record
 * from outside, as it is and with its XXH3 trailer made right.
 *
 * Invariants: the codes are the documented ones; a failed decode leaves
 * the record released (all zero), and one that succeeded holds
 * terminated strings without NUL within their limits and manifest chunks
 * of 1 .. BLOB_MAX_RAW bytes; the record survives snaprec_decode ->
 * snaprec_encode -> snaprec_decode unchanged, re-encodes to the same
 * bytes, and never to more bytes than it came in (varints are written
 * shortest, so a record already written that way comes back byte for
 * byte).
 */
#include <errno.h>

#include "blob.h"
#include "snaprec.h"
#include "fuzz.h"

const char fuzz_name[] = "snaprec";

static int str_ok(const char *s, size_t max)
{
	return s && strlen(s) <= max;
}

static int rec_zero(const struct snaprec *s)
{
	static const struct snaprec zero;

	return memcmp(s, &zero, sizeof(*s)) == 0;
}

static int rec_eq(const struct snaprec *a, const struct snaprec *b)
{
	if (a->time != b->time || strcmp(a->hostname, b->hostname) != 0 ||
	    strcmp(a->source, b->source) != 0 || a->ntags != b->ntags ||
	    a->entries != b->entries || a->bytes_read != b->bytes_read ||
	    a->bytes_added != b->bytes_added ||
	    a->bytes_stored != b->bytes_stored ||
	    strcmp(a->meta_json, b->meta_json) != 0 ||
	    a->nmanifest != b->nmanifest)
		return 0;
	for (size_t i = 0; i < a->ntags; i++)
		if (strcmp(a->tags[i], b->tags[i]) != 0)
			return 0;
	for (size_t i = 0; i < a->nmanifest; i++)
		if (a->manifest[i].len != b->manifest[i].len ||
		    memcmp(a->manifest[i].id, b->manifest[i].id, 32) != 0)
			return 0;
	return 1;
}

static void check(const uint8_t *p, size_t n)
{
	struct snaprec s, s2;
	struct buf e1 = BUF_INIT, e2 = BUF_INIT;
	int r = snaprec_decode(&s, p, n);

	FUZZ_CHECK(r == 0 || r == -EBADMSG || r == -ENOMEM);
	if (r < 0) {
		FUZZ_CHECK(rec_zero(&s));
		return;
	}
	FUZZ_CHECK(str_ok(s.hostname, SNAPREC_MAX_STR) &&
		   str_ok(s.source, SNAPREC_MAX_STR) &&
		   str_ok(s.meta_json, SNAPREC_MAX_META));
	FUZZ_CHECK(s.ntags <= SNAPREC_MAX_TAGS &&
		   (s.ntags == 0) == (s.tags == NULL));
	for (size_t i = 0; i < s.ntags; i++)
		FUZZ_CHECK(str_ok(s.tags[i], SNAPREC_MAX_STR));
	FUZZ_CHECK(s.nmanifest <= SNAPREC_MAX_MANIFEST &&
		   (s.nmanifest == 0) == (s.manifest == NULL));
	for (size_t i = 0; i < s.nmanifest; i++)
		FUZZ_CHECK(s.manifest[i].len > 0 &&
			   s.manifest[i].len <= BLOB_MAX_RAW);

	FUZZ_CHECK(snaprec_encode(&e1, &s) == 0);
	FUZZ_CHECK(e1.len <= n);
	FUZZ_CHECK(snaprec_decode(&s2, e1.data, e1.len) == 0);
	FUZZ_CHECK(rec_eq(&s, &s2));
	FUZZ_CHECK(snaprec_encode(&e2, &s2) == 0);
	FUZZ_CHECK(e1.len == e2.len && memcmp(e1.data, e2.data, e1.len) == 0);
	/* not a tombstone, whatever else it is */
	{
		uint8_t (*ids)[32];
		size_t nids;

		FUZZ_CHECK(tombstone_decode(e1.data, e1.len, &ids, &nids) ==
			   -EBADMSG && ids == NULL && nids == 0);
	}
	snaprec_release(&s);
	snaprec_release(&s2);
	FUZZ_CHECK(rec_zero(&s));
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

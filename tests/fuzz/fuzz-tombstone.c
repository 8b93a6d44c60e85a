/*
 * fuzz-tombstone: tombstone_decode (formats/snaprec.h) on a tombstone
 * from outside, as it is and with its XXH3 trailer made right.
 *
 * Invariants: the codes are the documented ones; a failure leaves no
 * list behind; an accepted tombstone is exactly magic, count, ids and
 * checksum long (its count bounded by its size), survives
 * tombstone_decode -> tombstone_encode -> tombstone_decode unchanged,
 * and re-encodes to no more bytes than it came in.
 */
#include <errno.h>

#include "snaprec.h"
#include "fuzz.h"

const char fuzz_name[] = "tombstone";

static void check(const uint8_t *p, size_t n)
{
	uint8_t (*ids)[32] = (uint8_t (*)[32])1, (*ids2)[32];
	size_t nids = 1, n2;
	struct buf e = BUF_INIT;
	struct snaprec s;
	int r = tombstone_decode(p, n, &ids, &nids);

	FUZZ_CHECK(r == 0 || r == -EBADMSG || r == -ENOMEM);
	if (r < 0) {
		FUZZ_CHECK(ids == NULL && nids == 0);
		return;
	}
	FUZZ_CHECK((nids == 0) == (ids == NULL));
	/* magic, a varint of 1..10 bytes, the ids, the checksum */
	FUZZ_CHECK(n >= 8 + 1 + nids * 32 + 8 && n <= 8 + 10 + nids * 32 + 8);
	FUZZ_CHECK(nids == 0 || memcmp(ids, p + n - 8 - nids * 32,
				       nids * 32) == 0);

	FUZZ_CHECK(tombstone_encode(&e, (const uint8_t (*)[32])ids, nids) == 0);
	FUZZ_CHECK(e.len <= n);
	FUZZ_CHECK(tombstone_decode(e.data, e.len, &ids2, &n2) == 0);
	FUZZ_CHECK(n2 == nids && (nids == 0 ||
				  memcmp(ids, ids2, nids * 32) == 0));
	/* not a snapshot record, whatever else it is */
	FUZZ_CHECK(snaprec_decode(&s, e.data, e.len) == -EBADMSG);
	free(ids);
	free(ids2);
	buf_release(&e);
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

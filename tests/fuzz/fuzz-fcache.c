/*
 * fuzz-fcache: fcache_decode (formats/fcache.h) on a files cache read
 * from the user's cache directory.
 *
 * Invariants: the codes are the documented ones; an accepted cache finds
 * each of its entries by key, with chunk lengths adding up to the size,
 * and re-encodes to the very same bytes.  Each input is tried as it is
 * and with its checksum made right, so the fuzzer gets past it.
 */
#include <errno.h>

#include "fcache.h"
#include "fuzz.h"

const char fuzz_name[] = "fcache";

static void check(const uint8_t *data, size_t size)
{
	struct fcache c = FCACHE_INIT;
	struct fcache_ent *v;
	struct manifest_chunk *ch;
	struct buf out = BUF_INIT, err = BUF_INIT;
	size_t nch = 0, k = 0;
	int r;

	r = fcache_decode(&c, data, size, &err);
	FUZZ_CHECK(r == 0 || r == -EBADMSG || r == -ENOMEM);
	if (r < 0) {
		FUZZ_CHECK(c.n == 0);
		FUZZ_CHECK(r != -EBADMSG || err.len > 0);
		buf_release(&err);
		return;
	}
	v = calloc(c.n ? c.n : 1, sizeof(*v));
	ch = malloc(size);	/* more than all chunk refs need */
	FUZZ_CHECK(v && ch);
	for (size_t i = 0; i < c.n; i++) {
		uint8_t key[FCACHE_KEY_SIZE];
		uint64_t sum = 0;

		memcpy(key, data + c.off[i], FCACHE_KEY_SIZE);
		FUZZ_CHECK(fcache_find(&c, key, &v[i]) == 1);
		for (size_t j = 0; j < v[i].nchunks; j++) {
			fcache_chunk(&v[i], j, &ch[nch + j]);
			sum += ch[nch + j].len;
		}
		FUZZ_CHECK(sum == v[i].size);
		v[i].chunks = ch + nch;
		nch += v[i].nchunks;
		k++;
	}
	FUZZ_CHECK(k == c.n);
	FUZZ_CHECK(fcache_encode(&out, v, c.n) == 0);
	FUZZ_CHECK(out.len == size && memcmp(out.data, data, size) == 0);
	free(v);
	free(ch);
	fcache_release(&c);
	buf_release(&out);
	buf_release(&err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_as_is_and_summed(data, size, check);
	return 0;
}

/*
 * fuzz-delta: delta_apply (formats/delta.h) on untrusted payloads, and
 * delta_encode on untrusted plaintexts.  The input is le32 raw_len then
 * the payload, applied to three bases: the fixed one the seeds were made
 * against (fuzz_delta_base), an empty one, and the payload itself.  The
 * whole input is also encoded as a plaintext against the fixed base, at
 * an alignment it picks.
 *
 * Invariants: the codes are the documented ones; on error the output
 * keeps what it held; on success exactly raw_len bytes were added; what
 * applies survives apply -> encode -> apply unchanged; whatever is
 * encoded applies back to itself.
 */
#include <errno.h>

#include "delta.h"
#include "fuzz.h"

const char fuzz_name[] = "delta";

#define PREFIX "kept"
#define PREFIX_LEN 4

static void check_apply(const uint8_t *base, size_t blen, const uint8_t *p,
			size_t n, uint32_t raw_len)
{
	struct buf out = BUF_INIT, again = BUF_INIT, back = BUF_INIT;
	int r;

	if (buf_add(&out, PREFIX, PREFIX_LEN) < 0)
		abort();
	r = delta_apply(&out, base, blen, p, n, raw_len);
	FUZZ_CHECK(r == 0 || r == -EBADMSG || r == -ENOMEM);
	FUZZ_CHECK(out.len >= PREFIX_LEN &&
		   memcmp(out.data, PREFIX, PREFIX_LEN) == 0);
	FUZZ_CHECK(out.data[out.len] == '\0');
	if (r < 0) {
		FUZZ_CHECK(out.len == PREFIX_LEN);
		goto done;
	}
	FUZZ_CHECK(out.len == PREFIX_LEN + raw_len);
	/* apply -> encode -> apply: the same plaintext */
	r = delta_encode(&again, base, blen, out.data + PREFIX_LEN, raw_len,
			 0);
	FUZZ_CHECK(r == 0 || r == -ENOMEM);
	if (r == 0) {
		r = delta_apply(&back, base, blen, again.data, again.len,
				raw_len);
		FUZZ_CHECK(r == 0 || r == -ENOMEM);
		if (r == 0)
			FUZZ_CHECK(back.len == raw_len &&
				   memcmp(back.data, out.data + PREFIX_LEN,
					  raw_len) == 0);
	}
done:
	buf_release(&out);
	buf_release(&again);
	buf_release(&back);
}

/* Any plaintext encodes, at lz4's default and at an LZ4 HC level the
 * input picks, and the delta applies back to it. */
static void check_encode_level(const uint8_t *base, size_t blen,
			       const uint8_t *p, size_t n, int64_t align,
			       int level)
{
	struct buf d = BUF_INIT, out = BUF_INIT;
	int r;

	r = delta_encode_level(&d, base, blen, p, n, align, level);
	FUZZ_CHECK(r == 0 || r == -ENOMEM);
	if (r == 0) {
		r = delta_apply(&out, base, blen, d.data, d.len, (uint32_t)n);
		FUZZ_CHECK(r == 0 || r == -ENOMEM);
		if (r == 0)
			FUZZ_CHECK(out.len == n && memcmp(out.data, p, n) == 0);
	}
	buf_release(&d);
	buf_release(&out);
}

static void check_encode(const uint8_t *base, size_t blen, const uint8_t *p,
			 size_t n, int64_t align)
{
	if (n == 0)
		return;
	check_encode_level(base, blen, p, n, align, 0);
	check_encode_level(base, blen, p, n, align, 1 + p[0] % 12);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf base = BUF_INIT;
	uint32_t raw_len;
	int64_t align;

	fuzz_delta_base(&base);
	if (size >= 4) {
		raw_len = (uint32_t)data[0] | (uint32_t)data[1] << 8 |
			  (uint32_t)data[2] << 16 | (uint32_t)data[3] << 24;
		check_apply(base.data, base.len, data + 4, size - 4, raw_len);
		check_apply(NULL, 0, data + 4, size - 4, raw_len);
		check_apply(data + 4, size - 4, data + 4, size - 4, raw_len);
	}
	align = size ? (int64_t)(data[0] * 300) - 20000 : 0;
	check_encode(base.data, base.len, data, size, align);
	check_encode(NULL, 0, data, size, 0);
	buf_release(&base);
	return 0;
}

/*
 * fuzz-buf: the primitives every binary decoder stands on (formats/buf.h):
 * the bounds-checked cursor (rd_le16/32/64, rd_varint, rd_raw,
 * rd_bytes), utf8_seq, hex_digit and hex_decode, and a capped buf.  The
 * input is a little program: each byte picks an operation (low 3 bits)
 * and its argument (the rest), applied to the bytes that follow.
 *
 * Invariants: a getter fails exactly when the bytes are not there (or a
 * varint is too long), and then a fixed-size one has not moved; a value
 * read is the one the bytes spell; a varint read re-encodes shortest and
 * reads back the same (byte for byte when it was shortest already);
 * rd_bytes never hands out more than its limit or past the end;
 * utf8_seq and hex_decode agree with reference versions written apart
 * from them; a buf never grows past its cap and stays terminated.
 */
#include <errno.h>
#include <ctype.h>

#include "buf.h"
#include "fuzz.h"

const char fuzz_name[] = "buf";

static uint64_t le(const uint8_t *p, int n)
{
	uint64_t v = 0;

	for (int i = n - 1; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static void op_fixed(struct rd *r, unsigned arg)
{
	static const size_t widths[] = { 2, 4, 8 };
	size_t w = widths[arg % 3], before = r->off, left = rd_left(r);
	uint16_t v16 = 0;
	uint32_t v32 = 0;
	uint64_t v64 = 0, v;
	int e;

	switch (w) {
	case 2: e = rd_le16(r, &v16); v = v16; break;
	case 4: e = rd_le32(r, &v32); v = v32; break;
	default: e = rd_le64(r, &v64); v = v64; break;
	}
	FUZZ_CHECK(e == (left >= w ? 0 : -EBADMSG));
	if (e < 0) {
		FUZZ_CHECK(r->off == before);
		return;
	}
	FUZZ_CHECK(r->off == before + w && v == le(r->p + before, (int)w));
}

static void op_varint(struct rd *r)
{
	struct buf b = BUF_INIT;
	size_t before = r->off, used;
	uint64_t v, v2;
	struct rd r2;
	int e = rd_varint(r, &v);

	FUZZ_CHECK(e == 0 || e == -EBADMSG);
	if (e < 0)
		return;
	used = r->off - before;
	FUZZ_CHECK(used >= 1 && used <= 10);
	FUZZ_CHECK(buf_put_varint(&b, v) == 0 && b.len >= 1 && b.len <= used);
	rd_init(&r2, b.data, b.len);
	FUZZ_CHECK(rd_varint(&r2, &v2) == 0 && v2 == v && rd_left(&r2) == 0);
	/* shortest already (no trailing zero group): the same bytes */
	if (used == 1 || r->p[r->off - 1] != 0)
		FUZZ_CHECK(b.len == used &&
			   memcmp(b.data, r->p + before, used) == 0);
	buf_release(&b);
}

static void op_raw(struct rd *r, unsigned arg)
{
	size_t before = r->off, left = rd_left(r);
	const uint8_t *p = NULL;
	int e = rd_raw(r, &p, arg);

	FUZZ_CHECK(e == (arg <= left ? 0 : -EBADMSG));
	if (e < 0)
		FUZZ_CHECK(r->off == before);
	else
		FUZZ_CHECK(p == r->p + before && r->off == before + arg);
}

static void op_bytes(struct rd *r, unsigned arg)
{
	const uint8_t *p = NULL;
	size_t n = 0;
	int e = rd_bytes(r, &p, &n, arg * 3);

	FUZZ_CHECK(e == 0 || e == -EBADMSG);
	if (e == 0)
		FUZZ_CHECK(n <= arg * 3 && p + n == r->p + r->off &&
			   r->off <= r->len);
}

/* Unicode's table 3-7: the well-formed byte sequences. */
static size_t ref_utf8(const uint8_t *p, size_t n, uint32_t *cp)
{
	uint8_t lo = 0x80, hi = 0xbf, c = p[0];
	size_t k;
	uint32_t v;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf)
		k = 2, v = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		k = 3, v = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		k = 4, v = c & 0x07;
	else
		return 0;
	if (c == 0xe0)
		lo = 0xa0;
	else if (c == 0xed)
		hi = 0x9f;
	else if (c == 0xf0)
		lo = 0x90;
	else if (c == 0xf4)
		hi = 0x8f;
	if (n < k || p[1] < lo || p[1] > hi)
		return 0;
	for (size_t i = 1; i < k; i++) {
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
		v = v << 6 | (p[i] & 0x3f);
	}
	*cp = v;
	return k;
}

static void op_utf8(struct rd *r)
{
	size_t left = rd_left(r), len, ref;
	uint32_t cp = 0xffffffff, rcp = 0;
	const uint8_t *p;

	if (left == 0)
		return;
	len = utf8_seq(r->p + r->off, left, &cp);
	ref = ref_utf8(r->p + r->off, left, &rcp);
	FUZZ_CHECK(len == ref);
	FUZZ_CHECK(utf8_seq(r->p + r->off, left, NULL) == len);
	if (len)
		FUZZ_CHECK(cp == rcp && cp <= 0x10ffff &&
			   !(cp >= 0xd800 && cp <= 0xdfff));
	FUZZ_CHECK(rd_raw(r, &p, len ? len : 1) == 0);
}

static void op_hex(struct rd *r, unsigned arg)
{
	size_t left = rd_left(r), m = 2 * (size_t)arg < left ? 2 * arg : left;
	char *text = malloc(m + 1), enc[2 * 31 + 1];
	uint8_t out[31];
	const uint8_t *p;
	int want = m == 2 * (size_t)arg, e;

	if (!text)
		abort();
	FUZZ_CHECK(rd_raw(r, &p, m) == 0);
	memcpy(text, p, m);
	text[m] = '\0';
	for (size_t i = 0; i < m; i++) {
		FUZZ_CHECK(hex_digit((unsigned char)text[i]) ==
			   (isxdigit((unsigned char)text[i]) ?
			    (isdigit((unsigned char)text[i]) ? text[i] - '0' :
			     tolower((unsigned char)text[i]) - 'a' + 10) : -1));
		if (!isxdigit((unsigned char)text[i]))
			want = 0;
	}
	/* exactly 2n hex digits, then the end of the string */
	e = hex_decode(out, arg, text);
	FUZZ_CHECK(e == (want ? 0 : -EINVAL));
	if (e == 0) {
		hex_encode(enc, out, arg);
		for (size_t i = 0; i < m; i++)
			FUZZ_CHECK(enc[i] == tolower((unsigned char)text[i]));
		FUZZ_CHECK(enc[m] == '\0');
	}
	free(text);
}

static void op_buf(struct rd *r, unsigned arg)
{
	size_t max = (size_t)arg * 5, left = rd_left(r);
	size_t k = left < 40 ? left : 40;
	struct buf b;
	const uint8_t *p;

	buf_init(&b, max);
	FUZZ_CHECK(rd_raw(r, &p, k) == 0);
	for (size_t i = 0; i < k; i++) {
		uint8_t piece[7];
		size_t was = b.len;
		int e;

		memset(piece, p[i], sizeof(piece));
		e = buf_add(&b, piece, i % 7 + 1);

		FUZZ_CHECK(e == 0 || e == -E2BIG);
		FUZZ_CHECK((e == -E2BIG) ==
			   (max && was + i % 7 + 1 > max));
		FUZZ_CHECK(b.len == (e ? was : was + i % 7 + 1));
		FUZZ_CHECK(b.data[b.len] == '\0');
	}
	FUZZ_CHECK(!max || b.len <= max);
	buf_release(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rd r;
	uint8_t op;

	rd_init(&r, data, size);
	while (rd_u8(&r, &op) == 0) {
		unsigned arg = op >> 3;

		switch (op & 7) {
		case 0: op_fixed(&r, arg); break;
		case 1: op_varint(&r); break;
		case 2: op_raw(&r, arg); break;
		case 3: op_bytes(&r, arg); break;
		case 4: op_utf8(&r); break;
		case 5: op_hex(&r, arg); break;
		case 6: op_buf(&r, arg); break;
		default: op_utf8(&r); break;
		}
		FUZZ_CHECK(r.off <= r.len);
	}
	FUZZ_CHECK(r.off == size && rd_left(&r) == 0);
	return 0;
}

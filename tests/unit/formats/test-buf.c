/*
 * test-buf: the growable buffer (growth, NUL terminator, the cap),
 * the little-endian and varint writers and the bounds-checked reader.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "../tap.h"

static void test_basics(void)
{
	struct buf b = BUF_INIT;
	char *p;
	size_t n;

	ok(b.data != NULL && b.len == 0 && b.data[0] == '\0',
	   "BUF_INIT is an empty NUL-terminated string");
	is_int(buf_addstr(&b, "hello"), 0, "addstr");
	is_int(buf_addch(&b, ' '), 0, "addch");
	is_int(buf_addf(&b, "%d-%s", 42, "x"), 0, "addf");
	is_int(b.len, 10, "length after appends");
	ok(strcmp((char *)b.data, "hello 42-x") == 0, "content: %s",
	   (char *)b.data);
	is_int(buf_add(&b, NULL, 0), 0, "adding nothing is fine");

	buf_reset(&b);
	ok(b.len == 0 && b.data[0] == '\0' && b.cap > 0,
	   "reset empties but keeps storage");

	for (int i = 0; i < 100000; i++)
		if (buf_addch(&b, 'a' + i % 26) < 0)
			break;
	is_int(b.len, 100000, "grows to 100000 bytes one by one");
	ok(b.data[b.len] == '\0', "still NUL-terminated");
	ok(b.cap > b.len, "cap leaves room for the NUL");

	buf_setlen(&b, 3);
	ok(b.len == 3 && strcmp((char *)b.data, "abc") == 0, "setlen shrinks");

	p = buf_detach(&b, &n);
	ok(p && n == 3 && strcmp(p, "abc") == 0, "detach hands over bytes");
	ok(b.data == buf_empty_ && b.len == 0, "detach re-inits");
	free(p);

	p = buf_detach(&b, &n);
	ok(p && n == 0 && p[0] == '\0' && p != (char *)buf_empty_,
	   "detach of an empty buffer gives a real allocation");
	free(p);

	buf_addstr(&b, "secret");
	buf_wipe(&b);
	ok(b.len == 0 && b.data == buf_empty_, "wipe releases");
	buf_release(&b);
	buf_release(&b);
	ok(1, "double release is safe");

	buf_setlen(&b, 5);
	ok(b.len == 0, "setlen on a never-grown buffer does nothing");
}

static void test_cap(void)
{
	struct buf b;
	uint8_t ten[10] = { 0 };

	buf_init(&b, 10);
	is_int(buf_add(&b, ten, 10), 0, "fill up to the cap");
	is_int(buf_addch(&b, 'x'), -E2BIG, "one more byte: -E2BIG");
	is_int(b.len, 10, "length unchanged after refusal");
	is_int(buf_grow(&b, 0), 0, "grow(0) at the cap is fine");
	buf_reset(&b);
	is_int(buf_addf(&b, "%s", "01234567890"), -E2BIG,
	       "addf past the cap: -E2BIG");
	is_int(b.len, 0, "nothing appended");
	ok(b.data[0] == '\0', "still terminated");
	is_int(buf_addf(&b, "%s", "0123456789"), 0, "addf exactly at the cap");
	buf_release(&b);
	is_int(b.max, 10, "release keeps the cap");
	is_int(buf_grow(&b, SIZE_MAX), -E2BIG, "grow(SIZE_MAX) is refused");
	buf_init(&b, 0);
	is_int(buf_grow(&b, SIZE_MAX), -E2BIG,
	       "grow(SIZE_MAX) refused without a cap too");
	buf_release(&b);
}

static void test_fixed(void)
{
	struct buf b = BUF_INIT;
	struct rd r;
	uint8_t u8;
	uint16_t u16;
	uint32_t u32;
	uint64_t u64;
	const uint8_t *p;
	static const uint8_t want[] = {
		0xab, 0x34, 0x12, 0x78, 0x56, 0x34, 0x12,
		0xef, 0xcd, 0xab, 0x89, 0x67, 0x45, 0x23, 0x01,
	};

	buf_put_u8(&b, 0xab);
	buf_put_le16(&b, 0x1234);
	buf_put_le32(&b, 0x12345678);
	buf_put_le64(&b, 0x0123456789abcdefull);
	ok(b.len == sizeof(want) && memcmp(b.data, want, sizeof(want)) == 0,
	   "little-endian writers produce the expected bytes");

	rd_init(&r, b.data, b.len);
	ok(rd_u8(&r, &u8) == 0 && u8 == 0xab, "rd_u8");
	ok(rd_le16(&r, &u16) == 0 && u16 == 0x1234, "rd_le16");
	ok(rd_le32(&r, &u32) == 0 && u32 == 0x12345678, "rd_le32");
	ok(rd_le64(&r, &u64) == 0 && u64 == 0x0123456789abcdefull, "rd_le64");
	is_int(rd_left(&r), 0, "all consumed");
	is_int(rd_u8(&r, &u8), -EBADMSG, "read past the end: -EBADMSG");

	/* every short read fails and leaves the cursor where it was */
	for (size_t n = 0; n < 8; n++) {
		rd_init(&r, want, n);
		is_int(rd_le64(&r, &u64), -EBADMSG, "le64 from %zu bytes", n);
		is_int(r.off, 0, "cursor unmoved after short le64 (%zu)", n);
	}
	rd_init(&r, want, 3);
	is_int(rd_le32(&r, &u32), -EBADMSG, "le32 from 3 bytes");
	rd_init(&r, want, 1);
	is_int(rd_le16(&r, &u16), -EBADMSG, "le16 from 1 byte");
	rd_init(&r, want, 4);
	is_int(rd_raw(&r, &p, 5), -EBADMSG, "raw past the end");
	is_int(rd_raw(&r, &p, 4), 0, "raw to exactly the end");
	ok(p == want, "raw points into the input");
	is_int(rd_raw(&r, &p, SIZE_MAX), -EBADMSG, "raw(SIZE_MAX)");
	buf_release(&b);
}

static void test_varint(void)
{
	static const struct {
		uint64_t v;
		size_t len;
	} cases[] = {
		{ 0, 1 }, { 1, 1 }, { 127, 1 }, { 128, 2 }, { 16383, 2 },
		{ 16384, 3 }, { UINT32_MAX, 5 }, { 1ull << 35, 6 },
		{ (1ull << 63) - 1, 9 }, { 1ull << 63, 10 }, { UINT64_MAX, 10 },
	};
	struct buf b = BUF_INIT;
	struct rd r;
	uint64_t v;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		buf_reset(&b);
		is_int(buf_put_varint(&b, cases[i].v), 0, "put %llu",
		       (unsigned long long)cases[i].v);
		is_int(b.len, cases[i].len, "%llu takes %zu bytes",
		       (unsigned long long)cases[i].v, cases[i].len);
		rd_init(&r, b.data, b.len);
		ok(rd_varint(&r, &v) == 0 && v == cases[i].v &&
		   rd_left(&r) == 0, "round trip %llu",
		   (unsigned long long)cases[i].v);
		/* every truncation of a multi-byte varint is an error */
		for (size_t n = 0; n < b.len; n++) {
			rd_init(&r, b.data, n);
			if (rd_varint(&r, &v) != -EBADMSG)
				break;
			if (n == b.len - 1)
				ok(1, "all %zu truncations of %llu rejected",
				   b.len, (unsigned long long)cases[i].v);
		}
	}

	{
		static const uint8_t max[] = { 0xff, 0xff, 0xff, 0xff, 0xff,
					       0xff, 0xff, 0xff, 0xff, 0x01 };
		static const uint8_t over[] = { 0xff, 0xff, 0xff, 0xff, 0xff,
						0xff, 0xff, 0xff, 0xff, 0x02 };
		static const uint8_t eleven[] = { 0x80, 0x80, 0x80, 0x80, 0x80,
						  0x80, 0x80, 0x80, 0x80, 0x80,
						  0x00 };
		static const uint8_t tenth_cont[] = { 0xff, 0xff, 0xff, 0xff,
						      0xff, 0xff, 0xff, 0xff,
						      0xff, 0x81 };
		static const uint8_t nonmin[] = { 0x80, 0x00 };

		buf_reset(&b);
		buf_put_varint(&b, UINT64_MAX);
		ok(b.len == sizeof(max) && !memcmp(b.data, max, sizeof(max)),
		   "UINT64_MAX encodes as ff x9 01");
		rd_init(&r, over, sizeof(over));
		is_int(rd_varint(&r, &v), -EBADMSG, "65-bit value rejected");
		rd_init(&r, eleven, sizeof(eleven));
		is_int(rd_varint(&r, &v), -EBADMSG, "11-byte varint rejected");
		rd_init(&r, tenth_cont, sizeof(tenth_cont));
		is_int(rd_varint(&r, &v), -EBADMSG,
		       "continuation bit on the 10th byte rejected");
		rd_init(&r, nonmin, sizeof(nonmin));
		ok(rd_varint(&r, &v) == 0 && v == 0 && rd_left(&r) == 0,
		   "non-minimal 80 00 decodes as 0 (accepted by rd_varint)");
	}
	buf_release(&b);
}

static void test_bytes(void)
{
	struct buf b = BUF_INIT;
	const uint8_t *p;
	size_t n;
	struct rd r;

	buf_put_bytes(&b, "abc", 3);
	buf_put_bytes(&b, NULL, 0);
	ok(b.len == 5 && b.data[0] == 3 && !memcmp(b.data + 1, "abc", 3) &&
	   b.data[4] == 0, "put_bytes: varint length then bytes");
	rd_init(&r, b.data, b.len);
	ok(rd_bytes(&r, &p, &n, 3) == 0 && n == 3 && !memcmp(p, "abc", 3),
	   "rd_bytes at exactly maxlen");
	ok(rd_bytes(&r, &p, &n, 0) == 0 && n == 0, "empty bytes");
	rd_init(&r, b.data, b.len);
	is_int(rd_bytes(&r, &p, &n, 2), -EBADMSG, "longer than maxlen");
	rd_init(&r, b.data, 3);
	is_int(rd_bytes(&r, &p, &n, 100), -EBADMSG, "longer than the input");
	buf_reset(&b);
	buf_put_varint(&b, UINT64_MAX);
	rd_init(&r, b.data, b.len);
	is_int(rd_bytes(&r, &p, &n, SIZE_MAX), -EBADMSG,
	       "a 2^64-1 length never passes");
	buf_release(&b);
}

static void test_hex(void)
{
	uint8_t in[4] = { 0x00, 0x1f, 0xa0, 0xff }, out[4];
	char hex[9];

	hex_encode(hex, in, 4);
	ok(strcmp(hex, "001fa0ff") == 0, "hex_encode: %s", hex);
	ok(hex_decode(out, 4, hex) == 0 && !memcmp(in, out, 4),
	   "hex round trip");
	ok(hex_decode(out, 4, "001FA0FF") == 0 && !memcmp(in, out, 4),
	   "uppercase accepted");
	is_int(hex_decode(out, 4, "001fa0f"), -EINVAL, "too short");
	is_int(hex_decode(out, 4, "001fa0ff0"), -EINVAL, "too long");
	is_int(hex_decode(out, 4, "001fa0fg"), -EINVAL, "bad digit");
	is_int(hex_decode(out, 4, "0x1fa0ff"), -EINVAL, "0x prefix");
	hex_encode(hex, in, 0);
	ok(hex[0] == '\0', "hex of nothing is empty");
}

static void test_hex_digit(void)
{
	is_int(hex_digit('0'), 0, "hex_digit 0");
	is_int(hex_digit('9'), 9, "hex_digit 9");
	is_int(hex_digit('a'), 10, "hex_digit a");
	is_int(hex_digit('F'), 15, "hex_digit F");
	is_int(hex_digit('g'), -1, "hex_digit g is not one");
	is_int(hex_digit('/'), -1, "hex_digit / is not one");
	is_int(hex_digit(0xe9), -1, "hex_digit of a high byte is not one");
	is_int(hex_digit(-1), -1, "hex_digit of EOF is not one");
}

static void test_utf8(void)
{
	static const struct {
		const char *s;
		size_t n, len;
		uint32_t cp;
	} t[] = {
		{ "A", 1, 1, 'A' },
		{ "\xc3\xa9", 2, 2, 0xe9 },
		{ "\xe2\x82\xac", 3, 3, 0x20ac },
		{ "\xf0\x9f\x98\x80", 4, 4, 0x1f600 },
		{ "\xf4\x8f\xbf\xbf", 4, 4, 0x10ffff },
		{ "\xc3\xa9", 1, 0, 0 },		/* truncated */
		{ "\xc3\x28", 2, 0, 0 },		/* bad continuation */
		{ "\xc0\xaf", 2, 0, 0 },		/* overlong */
		{ "\xe0\x80\xaf", 3, 0, 0 },	/* overlong */
		{ "\xf0\x80\x80\xaf", 4, 0, 0 },	/* overlong */
		{ "\xed\xa0\x80", 3, 0, 0 },	/* surrogate */
		{ "\xf4\x90\x80\x80", 4, 0, 0 },	/* past U+10FFFF */
		{ "\x80", 1, 0, 0 },		/* lone continuation */
		{ "\xff", 1, 0, 0 },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		uint32_t cp = 0;
		size_t len = utf8_seq((const uint8_t *)t[i].s, t[i].n, &cp);

		ok(len == t[i].len && (len == 0 || cp == t[i].cp),
		   "utf8_seq case %zu: length %zu, U+%04X", i, len, (unsigned)cp);
	}
	is_int((int)utf8_seq((const uint8_t *)"\xe2\x82\xac", 3, NULL), 3,
	       "utf8_seq without a code point");
}

static void test_seterr(void)
{
	struct buf err = BUF_INIT;

	buf_addstr(&err, "old text");
	buf_seterr(&err, "%s: %d", "bad", 42);
	ok(err.len == 7 && strcmp((const char *)err.data, "bad: 42") == 0,
	   "buf_seterr replaces the text");
	buf_seterr(NULL, "%s", "nowhere");
	ok(1, "buf_seterr(NULL) is a no-op");
	buf_release(&err);
}

int main(void)
{
	test_basics();
	test_cap();
	test_fixed();
	test_varint();
	test_bytes();
	test_hex();
	test_hex_digit();
	test_utf8();
	test_seterr();
	return done_testing();
}

/*
 * test-pack: pack header, trailer and footer.  Builds whole pack files
 * in memory, reads them back the way the store does (footer -> trailer
 * -> table), and checks that every truncation of the file and every bit
 * flip in its trailer and footer is rejected, and that an encrypted
 * trailer only reads as the pack it was written for.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "blob.h"
#include "pack.h"
#include "../tap.h"

static uint8_t key[BLOB_KEY_SIZE], key2[BLOB_KEY_SIZE];
/* pack names: the trailer blob's bound id */
static uint8_t name[PACK_ID_SIZE], name2[PACK_ID_SIZE];

/* A pack with nblobs small blobs; their table in *ents. */
static void make_pack(struct buf *f, size_t nblobs, const uint8_t *k,
		      struct pack_entry **ents)
{
	struct pack_entry *v = calloc(nblobs ? nblobs : 1, sizeof(*v));

	buf_reset(f);
	pack_header_encode(f);
	for (size_t i = 0; i < nblobs; i++) {
		char text[64];
		int n = snprintf(text, sizeof(text), "blob number %zu", i);

		v[i].offset = f->len;
		v[i].type = i % 2 ? BLOB_MANIFEST : BLOB_DATA;
		v[i].raw_len = (uint32_t)n;
		randombytes_buf(v[i].id, PACK_ID_SIZE);
		blob_encode(f, v[i].type, text, (size_t)n, k, v[i].id);
		v[i].length = (uint32_t)(f->len - v[i].offset);
	}
	pack_trailer_encode(f, v, nblobs, k, name);
	*ents = v;
}

/* footer -> trailer -> table, as a reader of pack nm does. */
static int read_pack_as(const uint8_t *p, size_t len, const uint8_t *k,
			const uint8_t *nm, struct pack_entry **ents, size_t *n)
{
	uint64_t off;
	uint32_t tlen;
	int r;

	*ents = NULL;
	*n = 0;
	if (len < PACK_FOOTER_SIZE)
		return -EBADMSG;
	r = pack_header_decode(p, len);
	if (r < 0)
		return r;
	r = pack_footer_decode(p + len - PACK_FOOTER_SIZE, PACK_FOOTER_SIZE,
			       len, &off, &tlen);
	if (r < 0)
		return r;
	return pack_trailer_decode(p + off, tlen, off, k, nm, ents, n);
}

static int read_pack(const uint8_t *p, size_t len, const uint8_t *k,
		     struct pack_entry **ents, size_t *n)
{
	return read_pack_as(p, len, k, name, ents, n);
}

static int same_entries(const struct pack_entry *a,
			const struct pack_entry *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (memcmp(a[i].id, b[i].id, PACK_ID_SIZE) ||
		    a[i].offset != b[i].offset || a[i].length != b[i].length ||
		    a[i].type != b[i].type || a[i].raw_len != b[i].raw_len)
			return 0;
	return 1;
}

static void test_header(void)
{
	struct buf b = BUF_INIT;

	is_int(pack_header_encode(&b), 0, "header encode");
	ok(b.len == PACK_HEADER_SIZE && !memcmp(b.data, "VAULTPK\n", 8) &&
	   b.data[8] == 1 && b.data[12] == 0, "header bytes");
	is_int(pack_header_decode(b.data, b.len), 0, "header decode");
	for (size_t n = 0; n < PACK_HEADER_SIZE; n++)
		if (pack_header_decode(b.data, n) != -EBADMSG)
			ok(0, "short header %zu accepted", n);
	ok(1, "every short header rejected");
	for (size_t bit = 0; bit < PACK_HEADER_SIZE * 8; bit++) {
		b.data[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		if (pack_header_decode(b.data, b.len) != -EBADMSG)
			ok(0, "header flip %zu accepted", bit);
		b.data[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	ok(1, "every header bit flip rejected");
	buf_release(&b);
}

static void test_round_trip(void)
{
	static const size_t counts[] = { 0, 1, 5, 200 };
	struct buf f = BUF_INIT;
	struct pack_entry *want, *got;
	size_t n;
	int r;

	for (size_t c = 0; c < sizeof(counts) / sizeof(counts[0]); c++) {
		for (int enc = 0; enc < 2; enc++) {
			const uint8_t *k = enc ? key : NULL;
			const char *how = enc ? "encrypted" : "plain";

			make_pack(&f, counts[c], k, &want);
			r = read_pack(f.data, f.len, k, &got, &n);
			ok(r == 0 && n == counts[c] &&
			   same_entries(want, got, n),
			   "%zu blobs, %s: table round trip", counts[c], how);
			/* each entry really describes its blob */
			for (size_t i = 0; r == 0 && i < n; i++) {
				uint8_t t;
				uint32_t raw;

				if (blob_peek(f.data + got[i].offset,
					      got[i].length, &t, NULL, &raw) ||
				    t != got[i].type || raw != got[i].raw_len ||
				    blob_verify(f.data + got[i].offset,
						got[i].length)) {
					ok(0, "entry %zu does not match", i);
					break;
				}
			}
			free(want);
			free(got);
		}
	}

	make_pack(&f, 3, key, &want);
	is_int(read_pack(f.data, f.len, key2, &got, &n), -EKEYREJECTED,
	       "wrong key: -EKEYREJECTED");
	ok(got == NULL && n == 0, "no table on error");
	is_int(read_pack(f.data, f.len, NULL, &got, &n), -ENOKEY,
	       "missing key: -ENOKEY");
	is_int(read_pack_as(f.data, f.len, key, name2, &got, &n),
	       -EKEYREJECTED, "trailer read as another pack: -EKEYREJECTED");
	ok(got == NULL && n == 0, "no table for another pack's trailer");
	free(want);
	make_pack(&f, 3, NULL, &want);
	is_int(read_pack(f.data, f.len, key, &got, &n), -EKEYREJECTED,
	       "plaintext trailer in an encrypted repository: -EKEYREJECTED");
	/* an unencrypted trailer has no tag: the name is not checked */
	ok(read_pack_as(f.data, f.len, NULL, name2, &got, &n) == 0 && n == 3,
	   "unencrypted trailer reads whatever the name");
	free(got);
	free(want);
	make_pack(&f, 3, key, &want);
	is_int(pack_trailer_encode(&f, want, 3, key, NULL), -EINVAL,
	       "encrypted trailer without a pack name: -EINVAL");
	free(want);
	buf_release(&f);
}

static void test_limits(void)
{
	/* the trailer plaintext must fit in one blob (BLOB_MAX_RAW) */
	size_t max = (BLOB_MAX_RAW - 4) / PACK_ENTRY_SIZE;
	struct pack_entry *v = calloc(max + 1, sizeof(*v)), *got;
	struct buf f = BUF_INIT;
	uint64_t off, trailer_off;
	uint32_t tlen;
	size_t n;
	int r;

	for (size_t i = 0; i <= max; i++) {
		v[i].offset = PACK_HEADER_SIZE + 16 * (uint64_t)i;
		v[i].length = 16;
		v[i].type = BLOB_DATA;
		v[i].raw_len = 0;
		memcpy(v[i].id, &i, sizeof(i));
	}
	trailer_off = PACK_HEADER_SIZE + 16 * (uint64_t)max;
	is_int(pack_trailer_encode(&f, v, max + 1, key, name), -EINVAL,
	       "%zu entries do not fit in a trailer blob: -EINVAL", max + 1);
	is_int(f.len, 0, "out unchanged");
	is_int(pack_trailer_encode(&f, v, PACK_MAX_ENTRIES + 1, key, name),
	       -EINVAL,
	       "over PACK_MAX_ENTRIES: -EINVAL");
	r = pack_trailer_encode(&f, v, max, key, name);
	is_int(r, 0, "%zu entries (the most that fit) encode", max);
	r = pack_footer_decode(f.data + f.len - PACK_FOOTER_SIZE,
			       PACK_FOOTER_SIZE, trailer_off + f.len, &off,
			       &tlen);
	ok(r == 0 && off == trailer_off && tlen == f.len - PACK_FOOTER_SIZE,
	   "footer of the largest trailer");
	r = pack_trailer_decode(f.data, tlen, off, key, name, &got, &n);
	ok(r == 0 && n == max && same_entries(v, got, n),
	   "largest trailer round trip");
	free(got);
	free(v);
	buf_release(&f);
}

/* Tables that decode as blobs but break a consistency rule. */
static void test_bad_tables(void)
{
	struct pack_entry good[2] = {
		{ .offset = 16, .length = 100, .type = BLOB_DATA, .raw_len = 5 },
		{ .offset = 116, .length = 50, .type = BLOB_SNAPSHOT,
		  .raw_len = 9 },
	}, e[2], *got;
	struct buf f = BUF_INIT;
	size_t n;
	const uint64_t toff = 166;
	static const char *const what[] = {
		"offset inside the header", "overlapping entries",
		"entry past the trailer", "entry ending past the trailer",
		"length shorter than a blob", "type BLOB_TRAILER",
		"type 0", "raw_len over BLOB_MAX_RAW", "entries out of order",
		"offset near 2^64",
	};

	pack_trailer_encode(&f, good, 2, NULL, NULL);
	ok(pack_trailer_decode(f.data, f.len - PACK_FOOTER_SIZE, toff, NULL,
			       NULL, &got, &n) == 0 && n == 2,
	   "the control table is valid");
	free(got);

	for (size_t i = 0; i < sizeof(what) / sizeof(what[0]); i++) {
		memcpy(e, good, sizeof(e));
		switch (i) {
		case 0: e[0].offset = 15; break;
		case 1: e[1].offset = 115; break;
		case 2: e[1].offset = 167; e[1].length = 16; break;
		case 3: e[1].length = 51; break;
		case 4: e[1].length = 15; break;
		case 5: e[1].type = BLOB_TRAILER; break;
		case 6: e[1].type = 0; break;
		case 7: e[1].raw_len = BLOB_MAX_RAW + 1; break;
		case 8: e[0].offset = 116; e[1].offset = 16; break;
		case 9: e[1].offset = UINT64_MAX - 10; break;
		}
		buf_reset(&f);
		pack_trailer_encode(&f, e, 2, NULL, NULL);
		is_int(pack_trailer_decode(f.data, f.len - PACK_FOOTER_SIZE,
					   toff, NULL, NULL, &got, &n),
		       -EBADMSG, "%s: -EBADMSG", what[i]);
		ok(got == NULL && n == 0, "%s: nothing returned", what[i]);
	}

	/* a valid blob of another type is not a trailer */
	buf_reset(&f);
	blob_encode(&f, BLOB_DATA, "\0\0\0\0", 4, NULL, NULL);
	is_int(pack_trailer_decode(f.data, f.len, 16, NULL, NULL, &got, &n),
	       -EBADMSG, "a data blob as trailer: -EBADMSG");
	/* a count that disagrees with the table size */
	buf_reset(&f);
	blob_encode(&f, BLOB_TRAILER, "\1\0\0\0", 4, NULL, NULL);
	is_int(pack_trailer_decode(f.data, f.len, 16, NULL, NULL, &got, &n),
	       -EBADMSG, "count 1 with no entry: -EBADMSG");

	/* footers */
	{
		uint8_t ft[PACK_FOOTER_SIZE] = { 16, 0, 0, 0, 'V', 'A', 'U',
						 'L', 'T', 'P', 'K', 'E' };
		uint64_t off;
		uint32_t tlen;

		ok(pack_footer_decode(ft, sizeof(ft), 44, &off, &tlen) == 0 &&
		   off == 16 && tlen == 16, "smallest possible pack");
		is_int(pack_footer_decode(ft, sizeof(ft), 43, &off, &tlen),
		       -EBADMSG, "trailer reaching into the header");
		is_int(pack_footer_decode(ft, sizeof(ft), 10, &off, &tlen),
		       -EBADMSG, "file smaller than header + footer");
		is_int(pack_footer_decode(ft, 11, 44, &off, &tlen), -EBADMSG,
		       "11-byte footer");
		ft[0] = 15;
		is_int(pack_footer_decode(ft, sizeof(ft), 44, &off, &tlen),
		       -EBADMSG, "trailer shorter than any blob");
		ft[0] = 0xff;
		ft[3] = 0xff;
		is_int(pack_footer_decode(ft, sizeof(ft), 44, &off, &tlen),
		       -EBADMSG, "trailer longer than the file");
	}
	buf_release(&f);
}

/* Every truncation of the file, every flip in trailer + footer. */
static void damage(const char *what, const uint8_t *k)
{
	struct buf f = BUF_INIT;
	struct pack_entry *want, *got;
	size_t n, bad = 0, tstart;
	uint8_t *p;

	make_pack(&f, 4, k, &want);
	tstart = want[3].offset + want[3].length;
	free(want);
	p = malloc(f.len);
	memcpy(p, f.data, f.len);

	for (size_t len = 0; len < f.len; len++) {
		if (read_pack(p, len, k, &got, &n) >= 0)
			bad++;
		free(got);
	}
	is_int(bad, 0, "%s: all %zu truncations of the file rejected", what,
	       f.len);

	bad = 0;
	for (size_t bit = tstart * 8; bit < f.len * 8; bit++) {
		p[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		if (read_pack(p, f.len, k, &got, &n) >= 0)
			bad++;
		free(got);
		p[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	is_int(bad, 0, "%s: all %zu bit flips in trailer and footer rejected",
	       what, (f.len - tstart) * 8);
	ok(read_pack(p, f.len, k, &got, &n) == 0 && n == 4,
	   "%s: the undamaged sample still reads", what);
	free(got);
	free(p);
	buf_release(&f);
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	randombytes_buf(key, sizeof(key));
	randombytes_buf(key2, sizeof(key2));
	randombytes_buf(name, sizeof(name));
	randombytes_buf(name2, sizeof(name2));
	test_header();
	test_round_trip();
	test_limits();
	test_bad_tables();
	damage("plain", NULL);
	damage("encrypted", key);
	return done_testing();
}

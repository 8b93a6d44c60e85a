/*
 * test-snaprec: snapshot records and tombstones.  Round trips (empty,
 * typical, at the limits), encoder refusals, decoder rules on hand-made
 * records with a valid checksum, and every truncation and bit flip of a
 * representative record and tombstone.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "blob.h"
#include "snaprec.h"
#include "../tap.h"

static int same_str(const char *a, const char *b)
{
	return !strcmp(a ? a : "", b);
}

static int same_rec(const struct snaprec *a, const struct snaprec *b)
{
	if (a->time != b->time || !same_str(a->hostname, b->hostname) ||
	    !same_str(a->source, b->source) || a->ntags != b->ntags ||
	    a->entries != b->entries || a->bytes_read != b->bytes_read ||
	    a->bytes_added != b->bytes_added ||
	    a->bytes_stored != b->bytes_stored ||
	    !same_str(a->meta_json, b->meta_json) ||
	    a->nmanifest != b->nmanifest)
		return 0;
	for (size_t i = 0; i < a->ntags; i++)
		if (strcmp(a->tags[i], b->tags[i]))
			return 0;
	for (size_t i = 0; i < a->nmanifest; i++)
		if (memcmp(a->manifest[i].id, b->manifest[i].id, 32) ||
		    a->manifest[i].len != b->manifest[i].len)
			return 0;
	return 1;
}

static char *tags3[] = { "daily", "db", "" };

static void sample(struct snaprec *s, struct snaprec_chunk *ch, size_t nch)
{
	memset(s, 0, sizeof(*s));
	s->time = 1700000000;
	s->hostname = "db1.example.org";
	s->source = "postgresql://backup:***@db1/app";
	s->tags = tags3;
	s->ntags = 3;
	s->entries = 1234;
	s->bytes_read = 1ull << 40;
	s->bytes_added = 5;
	s->bytes_stored = UINT64_MAX;
	s->meta_json = "{\"pg_version\":\"15.4\"}";
	for (size_t i = 0; i < nch; i++) {
		memset(ch[i].id, (int)i + 1, 32);
		ch[i].len = (uint32_t)(4096 + i);
	}
	s->manifest = ch;
	s->nmanifest = nch;
}

static void fix_sum(uint8_t *p, size_t len)
{
	uint64_t v = XXH3_64bits(p, len - 8);

	for (int i = 0; i < 8; i++)
		p[len - 8 + i] = (uint8_t)(v >> (8 * i));
}

static void test_round_trips(void)
{
	struct snaprec s, got;
	struct snaprec_chunk ch[3];
	struct buf b = BUF_INIT;

	sample(&s, ch, 3);
	is_int(snaprec_encode(&b, &s), 0, "encode a typical record");
	ok(!memcmp(b.data, "VAULTSN1", 8), "magic");
	ok(snaprec_decode(&got, b.data, b.len) == 0 && same_rec(&s, &got),
	   "typical record round trip");
	snaprec_release(&got);

	memset(&s, 0, sizeof(s));
	s.time = -1;
	buf_reset(&b);
	is_int(snaprec_encode(&b, &s), 0, "encode an empty record (NULLs)");
	ok(snaprec_decode(&got, b.data, b.len) == 0 && same_rec(&s, &got) &&
	   got.hostname && got.source && got.meta_json && !got.tags &&
	   !got.manifest, "empty record: strings come back as \"\"");
	snaprec_release(&got);
	snaprec_release(&got);
	ok(1, "release twice is fine");
	snaprec_release(NULL);

	/* every string and list at its limit */
	{
		char **tags = calloc(SNAPREC_MAX_TAGS, sizeof(*tags));
		char *str = malloc(SNAPREC_MAX_STR + 1);
		char *meta = malloc(SNAPREC_MAX_META + 2);
		size_t nch = 100000;
		struct snaprec_chunk *many = calloc(nch, sizeof(*many));

		memset(str, 's', SNAPREC_MAX_STR);
		str[SNAPREC_MAX_STR] = '\0';
		memset(meta, ' ', SNAPREC_MAX_META);
		meta[SNAPREC_MAX_META] = '\0';
		for (size_t i = 0; i < SNAPREC_MAX_TAGS; i++)
			tags[i] = str;
		sample(&s, many, nch);
		many[0].len = BLOB_MAX_RAW;
		s.hostname = s.source = str;
		s.tags = tags;
		s.ntags = SNAPREC_MAX_TAGS;
		s.meta_json = meta;
		buf_reset(&b);
		is_int(snaprec_encode(&b, &s), 0, "encode a record at the limits");
		ok(snaprec_decode(&got, b.data, b.len) == 0 && same_rec(&s, &got),
		   "record at the limits round trip (%zu bytes)", b.len);
		snaprec_release(&got);

		buf_reset(&b);
		s.ntags = SNAPREC_MAX_TAGS + 1;
		is_int(snaprec_encode(&b, &s), -EINVAL, "one tag too many");
		s.ntags = 1;
		s.hostname = "h";
		s.source = "s";
		meta[SNAPREC_MAX_META] = ' ';
		meta[SNAPREC_MAX_META + 1] = '\0';
		is_int(snaprec_encode(&b, &s), -EINVAL,
		       "meta_json over SNAPREC_MAX_META");
		s.meta_json = "{}";
		{
			char *longer = malloc(SNAPREC_MAX_STR + 2);

			memset(longer, 'x', SNAPREC_MAX_STR + 1);
			longer[SNAPREC_MAX_STR + 1] = '\0';
			s.hostname = longer;
			is_int(snaprec_encode(&b, &s), -EINVAL,
			       "hostname over SNAPREC_MAX_STR");
			s.hostname = "h";
			s.tags = &longer;
			is_int(snaprec_encode(&b, &s), -EINVAL,
			       "tag over SNAPREC_MAX_STR");
			s.tags = tags;
			free(longer);
		}
		s.nmanifest = SNAPREC_MAX_MANIFEST + 1;
		is_int(snaprec_encode(&b, &s), -EINVAL,
		       "over SNAPREC_MAX_MANIFEST chunks");
		s.nmanifest = 2;
		many[1].len = 0;
		is_int(snaprec_encode(&b, &s), -EINVAL, "manifest chunk of length 0");
		many[1].len = BLOB_MAX_RAW + 1;
		is_int(snaprec_encode(&b, &s), -EINVAL,
		       "manifest chunk over BLOB_MAX_RAW");
		many[1].len = 1;
		s.tags = NULL;
		is_int(snaprec_encode(&b, &s), -EINVAL, "ntags without tags");
		is_int(b.len, 0, "nothing written by refused encodes");
		free(tags);
		free(str);
		free(meta);
		free(many);
	}
	buf_release(&b);
}

/* A record built field by field (with a valid checksum). */
struct raw {
	const char *host;
	size_t hostlen;
	uint64_t ntags;
	uint64_t nman;
	size_t nman_real;
	uint32_t chunklen;
	int trailing;
};

static void raw_record(struct buf *b, const struct raw *r)
{
	buf_reset(b);
	buf_add(b, "VAULTSN1", 8);
	buf_put_le64(b, 1);
	buf_put_bytes(b, r->host, r->hostlen);
	buf_put_bytes(b, "src", 3);
	buf_put_varint(b, r->ntags);
	for (uint64_t i = 0; i < r->ntags && i < 300; i++)
		buf_put_bytes(b, "t", 1);
	buf_put_varint(b, 1);
	buf_put_varint(b, 2);
	buf_put_varint(b, 3);
	buf_put_varint(b, 4);
	buf_put_bytes(b, "{}", 2);
	buf_put_varint(b, r->nman);
	for (size_t i = 0; i < r->nman_real; i++) {
		uint8_t id[32] = { (uint8_t)i };

		buf_add(b, id, 32);
		buf_put_le32(b, r->chunklen);
	}
	if (r->trailing)
		buf_put_u8(b, 0);
	buf_put_le64(b, 0);
	fix_sum(b->data, b->len);
}

static void test_decoder_rules(void)
{
	struct buf b = BUF_INIT;
	struct snaprec got;
	struct raw r = { "host", 4, 2, 2, 2, 100, 0 };

	raw_record(&b, &r);
	ok(snaprec_decode(&got, b.data, b.len) == 0 && got.ntags == 2 &&
	   got.nmanifest == 2 && !strcmp(got.hostname, "host"),
	   "the hand-made control record is valid");
	snaprec_release(&got);

#define EXPECT_BAD(what) do { \
	raw_record(&b, &r); \
	memset(&got, 0x5a, sizeof(got)); \
	is_int(snaprec_decode(&got, b.data, b.len), -EBADMSG, what); \
	ok(got.hostname == NULL && got.tags == NULL && got.ntags == 0, \
	   what ": output released"); \
	r = (struct raw){ "host", 4, 2, 2, 2, 100, 0 }; \
} while (0)

	r.host = "ho\0st";
	r.hostlen = 5;
	EXPECT_BAD("NUL in hostname");
	r.ntags = SNAPREC_MAX_TAGS + 1;
	EXPECT_BAD("too many tags");
	r.ntags = 1ull << 40;
	EXPECT_BAD("absurd tag count");
	r.nman = 3;
	EXPECT_BAD("manifest count larger than the list");
	r.nman = 1;
	EXPECT_BAD("manifest count smaller than the list");
	r.nman = SNAPREC_MAX_MANIFEST + 1;
	EXPECT_BAD("manifest count over SNAPREC_MAX_MANIFEST");
	r.chunklen = 0;
	EXPECT_BAD("manifest chunk of length 0");
	r.chunklen = BLOB_MAX_RAW + 1;
	EXPECT_BAD("manifest chunk over BLOB_MAX_RAW");
	r.trailing = 1;
	EXPECT_BAD("a byte after the manifest list");
	r.hostlen = SNAPREC_MAX_STR + 1;
	r.host = calloc(1, SNAPREC_MAX_STR + 1);
	memset((char *)r.host, 'h', SNAPREC_MAX_STR + 1);
	{
		const char *h = r.host;

		EXPECT_BAD("hostname over SNAPREC_MAX_STR");
		free((char *)h);
	}
	raw_record(&b, &r);
	memcpy(b.data, "VAULTSN2", 8);
	fix_sum(b.data, b.len);
	is_int(snaprec_decode(&got, b.data, b.len), -EBADMSG, "wrong magic");
#undef EXPECT_BAD
	buf_release(&b);
}

static void damage_rec(void)
{
	struct snaprec s, got;
	struct snaprec_chunk ch[2];
	struct buf b = BUF_INIT;
	size_t bad = 0;
	uint8_t *p;

	sample(&s, ch, 2);
	snaprec_encode(&b, &s);
	p = malloc(b.len);
	memcpy(p, b.data, b.len);
	for (size_t n = 0; n < b.len; n++)
		if (snaprec_decode(&got, p, n) != -EBADMSG || got.hostname)
			bad++;
	is_int(bad, 0, "record: all %zu truncations rejected", b.len);
	bad = 0;
	for (size_t bit = 0; bit < b.len * 8; bit++) {
		p[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		if (snaprec_decode(&got, p, b.len) != -EBADMSG || got.hostname)
			bad++;
		p[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	is_int(bad, 0, "record: all %zu bit flips rejected", b.len * 8);
	ok(snaprec_decode(&got, p, b.len) == 0 && same_rec(&s, &got),
	   "record: undamaged sample still decodes");
	snaprec_release(&got);
	free(p);
	buf_release(&b);
}

static void test_tombstone(void)
{
	static const size_t counts[] = { 0, 1, 1000 };
	struct buf b = BUF_INIT;
	uint8_t (*ids)[32], (*got)[32];
	size_t n, bad;
	uint8_t *p;

	ids = malloc(1000 * 32);
	for (size_t i = 0; i < 1000; i++)
		memset(ids[i], (int)i, 32);
	for (size_t c = 0; c < 3; c++) {
		buf_reset(&b);
		is_int(tombstone_encode(&b, (const uint8_t (*)[32])ids,
					counts[c]), 0,
		       "tombstone of %zu: encode", counts[c]);
		ok(tombstone_decode(b.data, b.len, &got, &n) == 0 &&
		   n == counts[c] && (n == 0 || !memcmp(got, ids, n * 32)),
		   "tombstone of %zu: round trip", counts[c]);
		free(got);
	}
	is_int(tombstone_encode(&b, NULL, 1), -EINVAL, "NULL ids: -EINVAL");

	/* count mismatch with a valid checksum */
	buf_reset(&b);
	buf_add(&b, "VAULTTB1", 8);
	buf_put_varint(&b, 2);
	buf_add(&b, ids, 32);
	buf_put_le64(&b, 0);
	fix_sum(b.data, b.len);
	is_int(tombstone_decode(b.data, b.len, &got, &n), -EBADMSG,
	       "count 2 with one id: -EBADMSG");
	ok(got == NULL && n == 0, "nothing returned");

	buf_reset(&b);
	tombstone_encode(&b, (const uint8_t (*)[32])ids, 2);
	p = malloc(b.len);
	memcpy(p, b.data, b.len);
	bad = 0;
	for (size_t len = 0; len < b.len; len++)
		if (tombstone_decode(p, len, &got, &n) != -EBADMSG || got)
			bad++;
	is_int(bad, 0, "tombstone: all %zu truncations rejected", b.len);
	bad = 0;
	for (size_t bit = 0; bit < b.len * 8; bit++) {
		p[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		if (tombstone_decode(p, b.len, &got, &n) != -EBADMSG || got)
			bad++;
		p[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	is_int(bad, 0, "tombstone: all %zu bit flips rejected", b.len * 8);
	/* a snapshot record is not a tombstone and vice versa */
	{
		struct snaprec got_rec;

		is_int(snaprec_decode(&got_rec, p, b.len), -EBADMSG,
		       "a tombstone is not a snapshot record");
	}
	free(p);
	free(ids);
	buf_release(&b);
}

int main(void)
{
	test_round_trips();
	test_decoder_rules();
	damage_rec();
	test_tombstone();
	return done_testing();
}

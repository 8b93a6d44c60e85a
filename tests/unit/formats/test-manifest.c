/*
 * test-manifest: path order, encoder limits, streaming round trips
 * through a callback that hands out bytes in awkward pieces, every
 * decoder rejection rule on hand-made streams, and every truncation and
 * single-bit flip of a representative stream.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "blob.h"
#include "manifest.h"
#include "../tap.h"

/* ---- a read callback over a memory stream --------------------------- */

struct src {
	const uint8_t *p;
	size_t len, off;
	size_t step;		/* max bytes per call; 0 = as many as asked */
	unsigned seed;		/* vary the piece size when step > 1 */
	int fail_at;		/* return -EIO once off reaches this; -1 never */
};

static long src_read(void *ctx, void *dst, size_t n)
{
	struct src *s = ctx;
	size_t k = s->len - s->off;

	if (s->fail_at >= 0 && s->off >= (size_t)s->fail_at)
		return -EIO;
	if (k > n)
		k = n;
	if (s->step && k > s->step) {
		s->seed = s->seed * 1103515245u + 12345u;
		k = 1 + (s->seed >> 16) % s->step;
	}
	memcpy(dst, s->p + s->off, k);
	s->off += k;
	return (long)k;
}

/* ---- sample entries -------------------------------------------------- */

struct sample {
	struct manifest_entry e;
	struct manifest_chunk *chunks;
};

static char *dupmem(const void *p, size_t n)
{
	char *s = malloc(n + 1);

	memcpy(s, p, n);
	s[n] = '\0';
	return s;
}

static void sample_set(struct sample *s, const char *path, size_t plen,
		       uint8_t kind, uint64_t nchunks)
{
	memset(s, 0, sizeof(*s));
	s->e.path = dupmem(path, plen);
	s->e.path_len = plen;
	s->e.kind = kind;
	s->e.mode = kind == MANIFEST_DIR ? 0755 : 0644;
	s->e.mtime_ns = 1700000000123456789ll;
	s->e.nchunks = nchunks;
	if (nchunks) {
		s->chunks = calloc(nchunks, sizeof(*s->chunks));
		for (uint64_t i = 0; i < nchunks; i++) {
			memset(s->chunks[i].id, (int)(i * 7 + plen), 32);
			s->chunks[i].id[0] = (uint8_t)i;
			s->chunks[i].len = (uint32_t)(1000 + i);
			s->e.size += s->chunks[i].len;
		}
	}
}

static void sample_attr(struct sample *s, const char *key, const void *val,
			size_t vlen)
{
	struct manifest_attr *a;

	s->e.attrs = realloc(s->e.attrs, (s->e.nattrs + 1) * sizeof(*a));
	a = &s->e.attrs[s->e.nattrs++];
	a->key = dupmem(key, strlen(key));
	a->value = dupmem(val, vlen);
	a->value_len = vlen;
}

static void sample_free(struct sample *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		manifest_entry_release(&s[i].e);
		free(s[i].chunks);
	}
	free(s);
}

/* A small but complete tree: every kind, attrs, chunks, odd bytes. */
static struct sample *small_tree(size_t *n)
{
	struct sample *s = calloc(7, sizeof(*s));

	sample_set(&s[0], "", 0, MANIFEST_DIR, 0);
	sample_set(&s[1], "a", 1, MANIFEST_DIR, 0);
	sample_set(&s[2], "a/b", 3, MANIFEST_FILE, 3);
	sample_attr(&s[2], "user.x", "1\0002", 3);
	sample_attr(&s[2], "pg.table", "", 0);
	sample_set(&s[3], "a/link", 6, MANIFEST_SYMLINK, 0);
	s[3].e.target = dupmem("../etc/passwd", 13);
	s[3].e.target_len = 13;
	s[3].e.mode = 0777;
	sample_set(&s[4], "a-b", 3, MANIFEST_FILE, 0);
	s[4].e.mtime_ns = -1;
	sample_set(&s[5], "\xff/\x01", 3, MANIFEST_FILE, 1);
	sample_set(&s[6], "\xff\xfe", 2, MANIFEST_FILE, 2);
	*n = 7;
	return s;
}

/*
 * Encodes entries into stream the way the writer does: out is drained
 * into stream (and fed to the hash) every `drain` bytes; with
 * drain_before_end == 0 the last bytes are still in out at the end.
 */
static int encode(struct buf *stream, const struct sample *s, size_t n,
		  size_t drain, int drain_before_end)
{
	struct buf out = BUF_INIT;
	struct manifest_hash *h = manifest_hash_new();
	int r = manifest_encode_header(&out);

	for (size_t i = 0; r == 0 && i < n; i++) {
		r = manifest_encode_entry(&out, &s[i].e);
		for (uint64_t c = 0; r == 0 && c < s[i].e.nchunks; c++)
			r = manifest_encode_chunk(&out, &s[i].chunks[c]);
		if (out.len >= drain) {
			manifest_hash_update(h, out.data, out.len);
			buf_add(stream, out.data, out.len);
			buf_reset(&out);
		}
	}
	if (drain_before_end) {
		manifest_hash_update(h, out.data, out.len);
		buf_add(stream, out.data, out.len);
		buf_reset(&out);
	}
	if (r == 0)
		r = manifest_encode_end(&out, h, n);
	buf_add(stream, out.data, out.len);
	buf_release(&out);
	manifest_hash_free(h);
	return r;
}

static int same_entry(const struct manifest_entry *a,
		      const struct manifest_entry *b)
{
	if (a->path_len != b->path_len ||
	    memcmp(a->path, b->path, a->path_len) || b->path[b->path_len] ||
	    a->kind != b->kind || a->mode != b->mode ||
	    a->mtime_ns != b->mtime_ns || a->size != b->size ||
	    a->nattrs != b->nattrs || a->nchunks != b->nchunks ||
	    !a->target != !b->target)
		return 0;
	if (a->target && (a->target_len != b->target_len ||
			  memcmp(a->target, b->target, a->target_len) ||
			  b->target[b->target_len]))
		return 0;
	for (size_t i = 0; i < a->nattrs; i++)
		if (strcmp(a->attrs[i].key, b->attrs[i].key) ||
		    a->attrs[i].value_len != b->attrs[i].value_len ||
		    memcmp(a->attrs[i].value, b->attrs[i].value,
			   a->attrs[i].value_len) ||
		    b->attrs[i].value[b->attrs[i].value_len])
			return 0;
	return 1;
}

/*
 * Decodes stream completely.  read_chunks: 0 = skip all, 1 = read all,
 * 2 = read only the first of each entry.  Returns the final status (0 on
 * a valid end); *mismatch counts differences from s (may be NULL s).
 */
static int decode(const uint8_t *p, size_t len, size_t step,
		  const struct sample *s, size_t n, int read_chunks,
		  size_t *mismatch, size_t *got)
{
	struct src src = { p, len, 0, step, 42, -1 };
	struct manifest_dec *d;
	struct manifest_entry e = { 0 };
	struct manifest_chunk c;
	size_t i = 0, bad = 0;
	int r;

	r = manifest_dec_new(&d, src_read, &src);
	if (r < 0)
		return r;
	while ((r = manifest_dec_next(d, &e)) == 1) {
		if (s && (i >= n || !same_entry(&s[i].e, &e)))
			bad++;
		for (uint64_t k = 0; read_chunks; k++) {
			int rc = manifest_dec_chunk(d, &c);

			if (rc < 0) {
				r = rc;
				break;
			}
			if (rc == 0) {
				if (k != e.nchunks)
					bad++;
				break;
			}
			if (s && i < n && (k >= s[i].e.nchunks ||
			    memcmp(c.id, s[i].chunks[k].id, 32) ||
			    c.len != s[i].chunks[k].len))
				bad++;
			if (read_chunks == 2)
				break;
		}
		if (r < 0)
			break;
		i++;
	}
	manifest_entry_release(&e);
	if (r == 0 && manifest_dec_next(d, &e) != 0)
		bad++;	/* after the end, it stays at the end */
	manifest_dec_free(d);
	if (mismatch)
		*mismatch = bad + (r == 0 && s && i != n);
	if (got)
		*got = i;
	return r;
}

/* ---- tests ----------------------------------------------------------- */

static void test_path_cmp(void)
{
	static const char *const sorted[] = {
		"", "a", "a/b", "a/b/c", "a/b0", "a/c", "a!", "a-b", "a.b",
		"a0", "b", "\x7f", "\xff", "\xff/", "\xff\x01",
	};
	size_t n = sizeof(sorted) / sizeof(sorted[0]);
	int bad = 0;

	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < n; j++) {
			int c = manifest_path_cmp(sorted[i], strlen(sorted[i]),
						  sorted[j], strlen(sorted[j]));
			int want = i < j ? -1 : i > j;

			if ((c > 0) - (c < 0) != want) {
				diag("cmp(%s, %s) = %d", sorted[i], sorted[j],
				     c);
				bad++;
			}
		}
	is_int(bad, 0, "manifest_path_cmp orders %zu paths as expected", n);
	ok(manifest_path_cmp("a/", 2, "a", 1) > 0 &&
	   manifest_path_cmp("a", 1, "a/", 2) < 0, "a prefix sorts first");
	ok(manifest_path_cmp("a/x", 3, "a\x01", 2) < 0,
	   "'/' sorts before 0x01 too");
	ok(manifest_path_cmp("abc", 2, "abd", 2) == 0,
	   "only the given lengths are compared");
}

static void test_round_trip(void)
{
	static const size_t steps[] = { 0, 1, 3, 7, 1000 };
	struct buf st = BUF_INIT, st2 = BUF_INIT;
	struct sample *s;
	size_t n, bad, got;
	int r;

	s = small_tree(&n);
	r = encode(&st, s, n, 1, 1);
	is_int(r, 0, "encode the small tree");
	ok(st.len > 8 && !memcmp(st.data, MANIFEST_MAGIC, 8),
	   "the stream starts with the magic");
	r = encode(&st2, s, n, 100, 0);
	ok(r == 0 && st2.len == st.len && !memcmp(st.data, st2.data, st.len),
	   "same bytes whether or not out is drained before the end");
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++)
		for (int rc = 0; rc < 3; rc++) {
			r = decode(st.data, st.len, steps[i], s, n, rc, &bad,
				   &got);
			ok(r == 0 && bad == 0 && got == n,
			   "decode in pieces of <= %zu, chunk mode %d", steps[i],
			   rc);
		}
	sample_free(s, n);

	/* no entries at all */
	buf_reset(&st);
	is_int(encode(&st, NULL, 0, 1, 1), 0, "encode an empty manifest");
	is_int(st.len, 8 + 1 + 1 + 8, "empty manifest: magic + end record");
	ok(decode(st.data, st.len, 0, NULL, 0, 1, &bad, &got) == 0 &&
	   got == 0 && bad == 0, "decode an empty manifest");

	/* everything at its limit, larger than the decoder's window */
	{
		struct sample *m = calloc(2, sizeof(*m));
		char *path = malloc(MANIFEST_MAX_PATH);
		char *val = malloc(MANIFEST_MAX_VALUE);
		char key[MANIFEST_MAX_KEY + 1];

		memset(path, 'p', MANIFEST_MAX_PATH);
		memset(val, 'v', MANIFEST_MAX_VALUE);
		sample_set(&m[0], path, MANIFEST_MAX_PATH - 1,
			   MANIFEST_SYMLINK, 0);
		m[0].e.target = dupmem(path, MANIFEST_MAX_TARGET);
		m[0].e.target_len = MANIFEST_MAX_TARGET;
		sample_set(&m[1], path, MANIFEST_MAX_PATH, MANIFEST_FILE, 2);
		m[1].chunks[1].len = BLOB_MAX_RAW;
		/* attrs up to MANIFEST_MAX_ATTR_BYTES in total */
		for (int i = 0; i < 15; i++) {
			snprintf(key, sizeof(key), "k%02d", i);
			sample_attr(&m[1], key, val, MANIFEST_MAX_VALUE);
		}
		memset(key, 'k', MANIFEST_MAX_KEY);
		key[MANIFEST_MAX_KEY] = '\0';
		sample_attr(&m[1], key, val,
			    MANIFEST_MAX_ATTR_BYTES - 15 * (3 +
			    MANIFEST_MAX_VALUE) - MANIFEST_MAX_KEY);
		while (m[1].e.nattrs < MANIFEST_MAX_ATTRS)
			sample_attr(&m[1], "", "", 0);
		buf_reset(&st);
		r = encode(&st, m, 2, 1u << 20, 1);
		is_int(r, 0, "encode entries at every limit");
		ok(decode(st.data, st.len, 0, m, 2, 1, &bad, &got) == 0 &&
		   bad == 0 && got == 2, "decode entries at every limit");
		ok(decode(st.data, st.len, 5000, m, 2, 0, &bad, &got) == 0 &&
		   bad == 0 && got == 2, "... also in small pieces, skipping");

		/* one past the attr budget (value "" has a NUL to count) */
		m[1].e.attrs[MANIFEST_MAX_ATTRS - 1].value_len = 1;
		buf_reset(&st2);
		is_int(manifest_encode_entry(&st2, &m[1].e), -EINVAL,
		       "one byte over MANIFEST_MAX_ATTR_BYTES: -EINVAL");
		m[1].e.attrs[MANIFEST_MAX_ATTRS - 1].value_len = 0;
		free(path);
		free(val);
		sample_free(m, 2);
	}

	/* many entries, decoded with the default piece size */
	{
		size_t many = 20000;
		struct sample *m = calloc(many, sizeof(*m));
		char p[32];

		for (size_t i = 0; i < many; i++) {
			int k = snprintf(p, sizeof(p), "d/%08zu", i);

			sample_set(&m[i], p, (size_t)k, MANIFEST_FILE, i % 4);
		}
		buf_reset(&st);
		r = encode(&st, m, many, 4096, 1);
		ok(r == 0 &&
		   decode(st.data, st.len, 0, m, many, 1, &bad, &got) == 0 &&
		   bad == 0 && got == many, "%zu entries round trip (%zu bytes)",
		   many, st.len);
		sample_free(m, many);
	}
	buf_release(&st);
	buf_release(&st2);
}

static void test_encoder_limits(void)
{
	struct buf out = BUF_INIT;
	struct sample *s = calloc(1, sizeof(*s));
	struct manifest_chunk c = { { 0 }, 0 };
	char *big = calloc(1, MANIFEST_MAX_PATH + 2);
	char key[MANIFEST_MAX_KEY + 2];

#define EXPECT_EINVAL(what) do { \
	buf_reset(&out); \
	is_int(manifest_encode_entry(&out, &s->e), -EINVAL, what); \
	is_int(out.len, 0, what ": nothing written"); \
} while (0)

	sample_set(s, "a\0b", 3, MANIFEST_FILE, 0);
	EXPECT_EINVAL("NUL in path");
	manifest_entry_release(&s->e);
	memset(big, 'x', MANIFEST_MAX_PATH + 1);
	sample_set(s, big, MANIFEST_MAX_PATH + 1, MANIFEST_FILE, 0);
	EXPECT_EINVAL("path over MANIFEST_MAX_PATH");
	manifest_entry_release(&s->e);
	sample_set(s, "f", 1, MANIFEST_FILE, 0);
	s->e.kind = 4;
	EXPECT_EINVAL("unknown kind");
	s->e.kind = 0;
	EXPECT_EINVAL("kind 0");
	s->e.kind = MANIFEST_FILE;
	s->e.mode = 010000;
	EXPECT_EINVAL("mode beyond 07777");
	s->e.mode = 0644;
	s->e.kind = MANIFEST_DIR;
	s->e.nchunks = 1;
	EXPECT_EINVAL("directory with chunks");
	s->e.nchunks = 0;
	s->e.kind = MANIFEST_SYMLINK;
	EXPECT_EINVAL("symlink without target");
	s->e.target = dupmem("a\0b", 3);
	s->e.target_len = 3;
	EXPECT_EINVAL("NUL in symlink target");
	s->e.target_len = MANIFEST_MAX_TARGET + 1;
	free(s->e.target);
	s->e.target = dupmem(big, MANIFEST_MAX_TARGET + 1);
	EXPECT_EINVAL("target over MANIFEST_MAX_TARGET");
	s->e.kind = MANIFEST_FILE;
	EXPECT_EINVAL("file with a target");
	free(s->e.target);
	s->e.target = NULL;
	s->e.target_len = 0;
	memset(key, 'k', sizeof(key));
	key[MANIFEST_MAX_KEY + 1] = '\0';
	sample_attr(s, key, "", 0);
	EXPECT_EINVAL("key over MANIFEST_MAX_KEY");
	s->e.attrs[0].key[MANIFEST_MAX_KEY] = '\0';
	s->e.attrs[0].value_len = MANIFEST_MAX_VALUE + 1;
	EXPECT_EINVAL("value over MANIFEST_MAX_VALUE");
	s->e.attrs[0].value_len = 0;
	s->e.nattrs = MANIFEST_MAX_ATTRS + 1;
	EXPECT_EINVAL("too many attrs");
	s->e.nattrs = 1;
	buf_reset(&out);
	is_int(manifest_encode_entry(&out, &s->e), 0, "control entry is fine");

	buf_reset(&out);
	is_int(manifest_encode_chunk(&out, &c), -EINVAL, "chunk of length 0");
	c.len = BLOB_MAX_RAW + 1;
	is_int(manifest_encode_chunk(&out, &c), -EINVAL,
	       "chunk over BLOB_MAX_RAW");
	is_int(out.len, 0, "nothing written");
	is_int(manifest_encode_end(&out, NULL, 0), -EINVAL, "end without hash");
#undef EXPECT_EINVAL
	free(big);
	sample_free(s, 1);
	buf_release(&out);
}

/* ---- hand-made streams for each decoder rule ------------------------- */

/* Appends a raw entry record; fields as given, no validation. */
static void raw_entry(struct buf *b, const char *path, size_t plen,
		      uint8_t kind, uint64_t mode, uint64_t nchunks)
{
	buf_put_u8(b, 'E');
	buf_put_bytes(b, path, plen);
	buf_put_u8(b, kind);
	buf_put_varint(b, mode);
	buf_put_le64(b, 0);
	buf_put_varint(b, 0);
	if (kind == MANIFEST_SYMLINK)
		buf_put_bytes(b, "t", 1);
	buf_put_varint(b, 0);
	buf_put_varint(b, nchunks);
}

static void raw_chunk(struct buf *b, uint32_t len)
{
	uint8_t id[32] = { 1 };

	buf_put_u8(b, 'C');
	buf_add(b, id, 32);
	buf_put_le32(b, len);
}

/* A valid end record over everything in b. */
static void raw_end(struct buf *b, uint64_t count)
{
	struct manifest_hash *h = manifest_hash_new();

	manifest_encode_end(b, h, count);
	manifest_hash_free(h);
}

static void expect_bad(struct buf *b, const char *what)
{
	size_t got;

	is_int(decode(b->data, b->len, 0, NULL, 0, 1, NULL, &got), -EBADMSG,
	       "%s: -EBADMSG", what);
	buf_reset(b);
	buf_add(b, MANIFEST_MAGIC, 8);
}

static void test_decoder_rules(void)
{
	struct buf b = BUF_INIT;
	size_t got;

	buf_add(&b, MANIFEST_MAGIC, 8);
	raw_entry(&b, "a", 1, MANIFEST_FILE, 0644, 1);
	raw_chunk(&b, 10);
	raw_entry(&b, "b", 1, MANIFEST_SYMLINK, 0777, 0);
	raw_end(&b, 2);
	ok(decode(b.data, b.len, 0, NULL, 0, 1, NULL, &got) == 0 && got == 2,
	   "the hand-made control stream is valid");
	buf_reset(&b);
	buf_add(&b, MANIFEST_MAGIC, 8);

	raw_entry(&b, "b", 1, MANIFEST_FILE, 0644, 0);
	raw_entry(&b, "a", 1, MANIFEST_FILE, 0644, 0);
	raw_end(&b, 2);
	expect_bad(&b, "paths out of order");
	raw_entry(&b, "a", 1, MANIFEST_FILE, 0644, 0);
	raw_entry(&b, "a", 1, MANIFEST_FILE, 0644, 0);
	raw_end(&b, 2);
	expect_bad(&b, "duplicate path");
	raw_entry(&b, "a-b", 3, MANIFEST_FILE, 0644, 0);
	raw_entry(&b, "a/b", 3, MANIFEST_FILE, 0644, 0);
	raw_end(&b, 2);
	expect_bad(&b, "a-b before a/b (plain byte order)");
	raw_entry(&b, "a\0b", 3, MANIFEST_FILE, 0644, 0);
	raw_end(&b, 1);
	expect_bad(&b, "NUL in path");
	buf_put_u8(&b, 'E');
	buf_put_varint(&b, MANIFEST_MAX_PATH + 1);
	expect_bad(&b, "path length over the limit");
	raw_entry(&b, "a", 1, 4, 0644, 0);
	raw_end(&b, 1);
	expect_bad(&b, "kind 4");
	raw_entry(&b, "a", 1, MANIFEST_FILE, 010000, 0);
	raw_end(&b, 1);
	expect_bad(&b, "mode 010000");
	raw_entry(&b, "a", 1, MANIFEST_DIR, 0755, 1);
	raw_chunk(&b, 10);
	raw_end(&b, 1);
	expect_bad(&b, "directory with a chunk");
	raw_entry(&b, "a", 1, MANIFEST_FILE, 0644, 0);
	raw_chunk(&b, 10);
	raw_end(&b, 1);
	expect_bad(&b, "chunk record beyond nchunks");
	raw_entry(&b, "a", 1, MANIFEST_FILE, 0644, 2);
	raw_chunk(&b, 10);
	raw_end(&b, 1);
	expect_bad(&b, "fewer chunk records than nchunks");
	raw_entry(&b, "a", 1, MANIFEST_FILE, 0644, 1);
	raw_chunk(&b, 0);
	raw_end(&b, 1);
	expect_bad(&b, "chunk of length 0");
	raw_entry(&b, "a", 1, MANIFEST_FILE, 0644, 1);
	raw_chunk(&b, BLOB_MAX_RAW + 1);
	raw_end(&b, 1);
	expect_bad(&b, "chunk over BLOB_MAX_RAW");
	raw_entry(&b, "a", 1, MANIFEST_FILE, 0644, 0);
	buf_put_u8(&b, 'X');
	raw_end(&b, 1);
	expect_bad(&b, "unknown record tag");
	raw_entry(&b, "a", 1, MANIFEST_FILE, 0644, 0);
	raw_end(&b, 2);
	expect_bad(&b, "end count too high");
	raw_entry(&b, "a", 1, MANIFEST_FILE, 0644, 0);
	raw_end(&b, 0);
	expect_bad(&b, "end count too low");
	raw_entry(&b, "a", 1, MANIFEST_FILE, 0644, 0);
	raw_end(&b, 1);
	b.data[b.len - 1] ^= 0x80;
	expect_bad(&b, "hash mismatch");
	raw_end(&b, 0);
	buf_put_u8(&b, 0);
	expect_bad(&b, "a byte after the end record");
	raw_end(&b, 0);
	raw_end(&b, 0);
	expect_bad(&b, "two end records");
	raw_entry(&b, "a", 1, MANIFEST_FILE, 0644, 0);
	expect_bad(&b, "no end record");
	buf_reset(&b);
	buf_add(&b, "VAULTMF2", 8);
	raw_end(&b, 0);
	expect_bad(&b, "wrong magic");

	/* attrs */
	buf_put_u8(&b, 'E');
	buf_put_bytes(&b, "a", 1);
	buf_put_u8(&b, MANIFEST_FILE);
	buf_put_varint(&b, 0644);
	buf_put_le64(&b, 0);
	buf_put_varint(&b, 0);
	buf_put_varint(&b, 1);
	buf_put_bytes(&b, "k\0y", 3);
	buf_put_bytes(&b, "v", 1);
	buf_put_varint(&b, 0);
	raw_end(&b, 1);
	expect_bad(&b, "NUL in attr key");
	buf_put_u8(&b, 'E');
	buf_put_bytes(&b, "a", 1);
	buf_put_u8(&b, MANIFEST_FILE);
	buf_put_varint(&b, 0644);
	buf_put_le64(&b, 0);
	buf_put_varint(&b, 0);
	buf_put_varint(&b, MANIFEST_MAX_ATTRS + 1);
	expect_bad(&b, "too many attrs");
	buf_put_u8(&b, 'E');
	buf_put_bytes(&b, "a", 1);
	buf_put_u8(&b, MANIFEST_FILE);
	buf_put_varint(&b, 0644);
	buf_put_le64(&b, 0);
	buf_put_varint(&b, 0);
	buf_put_varint(&b, 1);
	buf_put_varint(&b, MANIFEST_MAX_KEY + 1);
	expect_bad(&b, "attr key length over the limit");
	buf_put_u8(&b, 'E');
	buf_put_bytes(&b, "a", 1);
	buf_put_u8(&b, MANIFEST_SYMLINK);
	buf_put_varint(&b, 0644);
	buf_put_le64(&b, 0);
	buf_put_varint(&b, 0);
	buf_put_bytes(&b, "x\0", 2);
	buf_put_varint(&b, 0);
	buf_put_varint(&b, 0);
	raw_end(&b, 1);
	expect_bad(&b, "NUL in symlink target");

	/* paths the decoder must let through (mount judges them) */
	raw_entry(&b, "", 0, MANIFEST_DIR, 0755, 0);
	raw_entry(&b, "/abs", 4, MANIFEST_FILE, 0644, 0);
	raw_entry(&b, "../x", 4, MANIFEST_FILE, 0644, 0);
	raw_entry(&b, "a//b", 4, MANIFEST_FILE, 0644, 0);
	raw_end(&b, 4);
	ok(decode(b.data, b.len, 0, NULL, 0, 1, NULL, &got) == 0 && got == 4,
	   "'..', leading '/' and empty segments are not the decoder's job");

	/* errors from the callback come through and stick */
	{
		struct src src = { b.data, b.len, 0, 0, 1, 9 };
		struct manifest_dec *d;
		struct manifest_entry e = { 0 };
		struct manifest_chunk c;

		manifest_dec_new(&d, src_read, &src);
		src.step = 9;	/* small reads: the decoder must come back */
		is_int(manifest_dec_next(d, &e), -EIO,
		       "read error is returned");
		is_int(manifest_dec_next(d, &e), -EIO, "and stays");
		is_int(manifest_dec_chunk(d, &c), -EIO, "also for chunks");
		manifest_dec_free(d);
	}
	buf_release(&b);
}

/* Every truncation and every bit flip of the small tree's stream. */
static void test_damage(void)
{
	struct buf st = BUF_INIT;
	struct sample *s;
	size_t n, bad = 0;
	uint8_t *p;

	s = small_tree(&n);
	encode(&st, s, n, 1, 1);
	p = malloc(st.len);
	memcpy(p, st.data, st.len);

	for (size_t len = 0; len < st.len; len++)
		for (int rc = 0; rc < 3; rc++)
			if (decode(p, len, len % 5, NULL, 0, rc, NULL,
				   NULL) != -EBADMSG)
				bad++;
	is_int(bad, 0, "all %zu truncations rejected", st.len);

	bad = 0;
	for (size_t bit = 0; bit < st.len * 8; bit++) {
		p[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		for (int rc = 0; rc < 3; rc++)
			if (decode(p, st.len, bit % 4, NULL, 0, rc, NULL,
				   NULL) != -EBADMSG)
				bad++;
		p[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	is_int(bad, 0, "all %zu bit flips rejected", st.len * 8);
	ok(decode(p, st.len, 0, s, n, 1, &bad, NULL) == 0 && bad == 0,
	   "the undamaged stream still decodes");
	free(p);
	sample_free(s, n);
	buf_release(&st);
}

int main(void)
{
	test_path_cmp();
	test_round_trip();
	test_encoder_limits();
	test_decoder_rules();
	test_damage();
	return done_testing();
}

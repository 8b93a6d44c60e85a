/*
 * mkcorpus: writes the seed corpus of the fuzz harnesses,
 * OUTDIR/<harness>/<name>, with the encoders of formats/ (`make
 * fuzz-corpus` runs it into the source tree's tests/fuzz/corpus/).
 *
 * Each harness gets a few small valid inputs, so the fuzzer starts from
 * the real layouts rather than from nothing, and a few malformed ones
 * (named bad-*), each broken in one way a decoder must refuse.  The
 * randomness the encoders draw (nonces, salts) comes from a fixed
 * stream, so running it again writes the same bytes: a diff in the
 * corpus means a format changed.  Files it does not write (minimized
 * crash inputs kept as regressions) are left alone.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sodium.h>

#include "blob.h"
#include "config.h"
#include "delta.h"
#include "fcache.h"
#include "keyfile.h"
#include "manifest.h"
#include "pack.h"
#include "snaprec.h"
#include "fuzz.h"

static const char *outdir;

/* ---- a fixed random stream for libsodium ------------------------------ */

static uint64_t det_counter;

static const char *det_name(void)
{
	return "mkcorpus-fixed";
}

static void det_buf(void *const p, const size_t n)
{
	uint8_t seed[randombytes_SEEDBYTES] = { 'v', 'a', 'u', 'l', 't' };

	memcpy(seed + 8, &det_counter, sizeof(det_counter));
	det_counter++;
	randombytes_buf_deterministic(p, n, seed);
}

static uint32_t det_random(void)
{
	uint32_t v;

	det_buf(&v, sizeof(v));
	return v;
}

static randombytes_implementation det_impl = {
	.implementation_name = det_name,
	.random = det_random,
	.buf = det_buf,
};

/* ---- output ------------------------------------------------------------- */

static void must(int r, const char *what)
{
	if (r < 0) {
		fprintf(stderr, "mkcorpus: %s: %s\n", what, strerror(-r));
		exit(1);
	}
}

static void put(const char *harness, const char *name, const void *p,
		size_t n)
{
	struct buf path = BUF_INIT;
	FILE *f;

	must(buf_addf(&path, "%s/%s", outdir, harness), "path");
	if (mkdir((char *)path.data, 0777) < 0 && errno != EEXIST)
		must(-errno, (char *)path.data);
	must(buf_addf(&path, "/%s", name), "path");
	f = fopen((char *)path.data, "wb");
	if (!f || (n && fwrite(p, 1, n, f) != n) || fclose(f) != 0)
		must(-errno, (char *)path.data);
	buf_release(&path);
}

static void putb(const char *harness, const char *name, const struct buf *b)
{
	put(harness, name, b->data, b->len);
}

/* The last 8 bytes again made the XXH3-64 of what precedes them. */
static void resum(struct buf *b)
{
	uint8_t *c = fuzz_with_sum(b->data, b->len);

	if (!c)
		abort();
	memcpy(b->data, c, b->len);
	free(c);
}

static const char text[] =
	"vault keeps snapshots of a Supabase project: files, the database, "
	"Storage buckets and Edge Functions. vault keeps snapshots of a "
	"Supabase project: files, the database, Storage buckets and Edge "
	"Functions.\n";

/* ---- blob --------------------------------------------------------------- */

static void blobs(void)
{
	struct buf b = BUF_INIT;
	uint8_t noise[40];

	randombytes_buf(noise, sizeof(noise));
	must(blob_encode(&b, BLOB_DATA, "hello, vault\n", 13, NULL, NULL),
	     "blob");
	putb("blob", "plain-raw", &b);
	b.data[9] ^= 0x20;
	putb("blob", "bad-sum", &b);
	b.data[9] ^= 0x20;
	b.data[0] = 2;
	resum(&b);
	putb("blob", "bad-version", &b);
	b.data[0] = BLOB_VERSION;
	b.data[2] = 0x04;
	resum(&b);
	putb("blob", "bad-flags", &b);
	buf_reset(&b);

	must(blob_encode(&b, BLOB_MANIFEST, text, sizeof(text) - 1, NULL, NULL),
	     "blob");
	putb("blob", "plain-lz4", &b);
	put("blob", "bad-truncated", b.data, b.len - 5);
	b.data[4] ^= 1;		/* raw_len off by one */
	resum(&b);
	putb("blob", "bad-lz4-raw-len", &b);
	buf_reset(&b);

	must(blob_encode(&b, BLOB_TOMBSTONE, "", 0, NULL, NULL), "blob");
	putb("blob", "plain-empty", &b);
	buf_reset(&b);
	must(blob_encode(&b, BLOB_SNAPSHOT, noise, sizeof(noise), fuzz_key,
			 fuzz_id), "blob");
	putb("blob", "sealed-raw", &b);
	b.data[BLOB_HEADER_SIZE + BLOB_NONCE_SIZE] ^= 1;
	resum(&b);
	putb("blob", "bad-tag", &b);
	buf_reset(&b);
	must(blob_encode(&b, BLOB_DATA, text, sizeof(text) - 1, fuzz_key,
			 fuzz_id), "blob");
	putb("blob", "sealed-lz4", &b);
	buf_release(&b);
}

/* ---- deltas ------------------------------------------------------------- */

/* The fixed base with one in `every` lines changed, n bytes long: a
 * chunk of the same table in a later snapshot. */
static void changed_rows(struct buf *out, size_t n, unsigned every)
{
	struct buf b = BUF_INIT;
	unsigned line = 0;

	fuzz_delta_base(&b);
	buf_reset(out);
	while (out->len < n) {
		for (size_t i = 0, start = 0; i < b.len && out->len < n; i++) {
			if (b.data[i] != '\n')
				continue;
			must(buf_add(out, b.data + start, i - start), "rows");
			if (++line % every == 0)
				must(buf_addstr(out, "!"), "rows");
			must(buf_addch(out, '\n'), "rows");
			start = i + 1;
		}
	}
	buf_setlen(out, n);
	buf_release(&b);
}

/* A fuzz-delta input: le32 raw_len, then the payload. */
static void put_delta(const char *name, const struct buf *payload,
		      uint32_t raw_len)
{
	struct buf in = BUF_INIT;

	must(buf_put_le32(&in, raw_len), "delta");
	must(buf_add(&in, payload->data, payload->len), "delta");
	putb("delta", name, &in);
	buf_release(&in);
}

static void deltas(void)
{
	struct buf base = BUF_INIT, plain = BUF_INIT, d = BUF_INIT,
		   b = BUF_INIT;
	struct blob_delta bd = { { 0x5d }, 2 };

	fuzz_delta_base(&base);
	changed_rows(&plain, 3000, 20);
	must(delta_encode(&d, base.data, base.len, plain.data, plain.len, 0),
	     "delta");
	put_delta("rows-small", &d, (uint32_t)plain.len);

	/* the blob kind: plain and sealed, and broken ways */
	must(blob_encode_delta(&b, BLOB_DATA, d.data, d.len,
			       (uint32_t)plain.len, &bd, NULL, NULL), "blob");
	putb("blob", "plain-delta", &b);
	b.data[3] = BLOB_MAX_DEPTH + 1;
	resum(&b);
	putb("blob", "bad-delta-depth", &b);
	b.data[3] = bd.depth;
	b.data[2] = BLOB_F_LZ4;
	resum(&b);
	putb("blob", "bad-delta-lz4-flag", &b);
	buf_reset(&b);
	must(blob_encode_delta(&b, BLOB_DATA, d.data, d.len,
			       (uint32_t)plain.len, &bd, fuzz_key, fuzz_id),
	     "blob");
	putb("blob", "sealed-delta", &b);
	b.data[BLOB_HEADER_SIZE] ^= 1;	/* another base: the tag objects */
	resum(&b);
	putb("blob", "bad-delta-base", &b);

	/* several blocks, windows sliding along the base */
	changed_rows(&plain, 3 * DELTA_BLOCK + 100, 7);
	buf_reset(&d);
	must(delta_encode(&d, base.data, base.len, plain.data, plain.len, 0),
	     "delta");
	put_delta("rows-blocks", &d, (uint32_t)plain.len);
	put_delta("bad-raw-len", &d, (uint32_t)plain.len + 1);
	must(buf_addch(&d, 0), "delta");
	put_delta("bad-trailing", &d, (uint32_t)plain.len);
	buf_setlen(&d, d.len - 1);
	d.data[0] = 0xff;	/* dict_off far past the base */
	d.data[3] = 0x7f;
	put_delta("bad-window", &d, (uint32_t)plain.len);
	buf_release(&base);
	buf_release(&plain);
	buf_release(&d);
	buf_release(&b);
}

/* ---- pack --------------------------------------------------------------- */

/* A pack of the given plaintexts; overlap makes the 2nd entry start
 * inside the 1st. */
static void make_pack(struct buf *out, const char *const *plain, size_t n,
		      const uint8_t *key, int overlap)
{
	struct pack_entry e[4];

	buf_reset(out);
	must(pack_header_encode(out), "pack");
	for (size_t i = 0; i < n; i++) {
		size_t at = out->len;

		randombytes_buf(e[i].id, sizeof(e[i].id));
		e[i].type = i == 2 ? BLOB_SNAPSHOT : BLOB_DATA;
		e[i].raw_len = (uint32_t)strlen(plain[i]);
		must(blob_encode(out, e[i].type, plain[i], e[i].raw_len, key,
				 e[i].id), "pack blob");
		e[i].offset = at;
		e[i].length = (uint32_t)(out->len - at);
	}
	if (overlap && n > 1)
		e[1].offset -= 4;
	must(pack_trailer_encode(out, e, n, key, key ? fuzz_id : NULL),
	     "pack trailer");
}

static void packs(void)
{
	static const char *const plain[] = {
		"first chunk\n", text, "{\"snapshot\":1}",
	};
	struct buf b = BUF_INIT;
	size_t tlen;

	make_pack(&b, plain, 3, NULL, 0);
	putb("pack", "plain-3", &b);
	put("pack", "bad-truncated", b.data + 1, b.len - 1);
	b.data[8] = 2;
	putb("pack", "bad-version", &b);
	b.data[8] = PACK_VERSION;
	b.data[b.len - PACK_FOOTER_SIZE] += 1;	/* trailer_len */
	putb("pack", "bad-footer-len", &b);

	/* the trailer alone, and its table as plaintext */
	make_pack(&b, plain, 3, NULL, 0);
	tlen = b.data[b.len - 12] | (size_t)b.data[b.len - 11] << 8;
	put("pack-trailer", "plain-3", b.data + b.len - 12 - tlen, tlen);
	{
		struct buf t = BUF_INIT;
		uint8_t type;

		must(blob_decode(&t, &type, b.data + b.len - 12 - tlen, tlen,
				 NULL, NULL), "trailer");
		putb("pack-trailer", "table-3", &t);
		t.data[4 + 49 + 44] = BLOB_TRAILER;	/* 2nd entry's type */
		putb("pack-trailer", "bad-table-type", &t);
		put("pack-trailer", "bad-table-short", t.data, t.len - 1);
		buf_release(&t);
	}

	make_pack(&b, plain, 3, NULL, 1);
	putb("pack", "bad-overlap", &b);
	tlen = b.data[b.len - 12] | (size_t)b.data[b.len - 11] << 8;
	put("pack-trailer", "bad-overlap", b.data + b.len - 12 - tlen, tlen);

	make_pack(&b, plain, 2, fuzz_key, 0);
	putb("pack", "sealed-2", &b);
	tlen = b.data[b.len - 12] | (size_t)b.data[b.len - 11] << 8;
	put("pack-trailer", "sealed-2", b.data + b.len - 12 - tlen, tlen);

	make_pack(&b, plain, 0, NULL, 0);
	putb("pack", "empty", &b);
	tlen = b.data[b.len - 12] | (size_t)b.data[b.len - 11] << 8;
	put("pack-trailer", "empty", b.data + b.len - 12 - tlen, tlen);
	buf_release(&b);
}

/* ---- manifest ----------------------------------------------------------- */

static void entry(struct buf *out, const char *path, uint8_t kind,
		  const char *target, struct manifest_attr *attrs,
		  size_t nattrs, uint64_t nchunks)
{
	struct manifest_entry e;

	memset(&e, 0, sizeof(e));
	e.path = (char *)path;
	e.path_len = strlen(path);
	e.kind = kind;
	e.mode = kind == MANIFEST_DIR ? 0755 : 0644;
	e.mtime_ns = 1700000000123456789ll;
	e.size = nchunks * 1000;
	e.target = (char *)target;
	e.target_len = target ? strlen(target) : 0;
	e.attrs = attrs;
	e.nattrs = nattrs;
	e.nchunks = nchunks;
	must(manifest_encode_entry(out, &e), "manifest entry");
	for (uint64_t i = 0; i < nchunks; i++) {
		struct manifest_chunk c;

		randombytes_buf(c.id, sizeof(c.id));
		c.len = 1000;
		must(manifest_encode_chunk(out, &c), "manifest chunk");
	}
}

static void end(struct buf *out, uint64_t n)
{
	struct manifest_hash *h = manifest_hash_new();

	if (!h)
		abort();
	must(manifest_encode_end(out, h, n), "manifest end");
	manifest_hash_free(h);
}

static void manifests(void)
{
	struct manifest_attr attrs[2] = {
		{ (char *)"user.note", (char *)"kept", 4 },
		{ (char *)"db.table", (char *)"public.t\0x", 10 },
	};
	struct buf b = BUF_INIT;
	size_t cut;

	must(manifest_encode_header(&b), "manifest");
	end(&b, 0);
	putb("manifest", "empty", &b);
	b.data[b.len - 9] = 1;		/* count 1, no entry */
	resum(&b);
	putb("manifest", "bad-count", &b);

	buf_reset(&b);
	must(manifest_encode_header(&b), "manifest");
	entry(&b, "a", MANIFEST_DIR, NULL, NULL, 0, 0);
	entry(&b, "a/b", MANIFEST_FILE, NULL, attrs, 2, 3);
	entry(&b, "a/c", MANIFEST_SYMLINK, "../b", NULL, 0, 0);
	entry(&b, "a-b", MANIFEST_FILE, NULL, NULL, 0, 1);
	cut = b.len;
	end(&b, 4);
	putb("manifest", "tree-4", &b);
	put("manifest", "bad-truncated", b.data, cut + 1);
	/* bytes after the end record */
	must(buf_addch(&b, 'Z'), "manifest");
	putb("manifest", "bad-trailing", &b);

	buf_reset(&b);
	must(manifest_encode_header(&b), "manifest");
	entry(&b, "b", MANIFEST_FILE, NULL, NULL, 0, 0);
	entry(&b, "a", MANIFEST_FILE, NULL, NULL, 0, 0);
	end(&b, 2);
	putb("manifest", "bad-order", &b);

	buf_reset(&b);
	must(manifest_encode_header(&b), "manifest");
	entry(&b, "d", MANIFEST_DIR, NULL, NULL, 0, 0);
	/* a chunk ref after a directory */
	{
		struct manifest_chunk c = { { 0 }, 1 };

		must(manifest_encode_chunk(&b, &c), "manifest chunk");
	}
	end(&b, 1);
	putb("manifest", "bad-chunk-after-dir", &b);
	buf_release(&b);
}

/* ---- key file ----------------------------------------------------------- */

static void keyfiles(void)
{
	struct keyfile_keys k;
	struct buf b = BUF_INIT;

	keyfile_generate(&k);
	must(keyfile_encode(&b, &k, NULL, 0, 0, 0), "keyfile");
	putb("keyfile", "none", &b);
	b.data[12] = 7;			/* kdf */
	resum(&b);
	putb("keyfile", "bad-kdf", &b);
	buf_reset(&b);
	must(keyfile_encode(&b, &k, FUZZ_PASS, strlen(FUZZ_PASS),
			    crypto_pwhash_OPSLIMIT_MIN,
			    crypto_pwhash_MEMLIMIT_MIN), "keyfile");
	putb("keyfile", "argon2id-least", &b);
	put("keyfile", "bad-truncated", b.data, b.len - 1);
	b.data[24 + 4] = 0x80;		/* memlimit far past the cap */
	resum(&b);
	putb("keyfile", "bad-memlimit", &b);
	b.data[24 + 4] = 0;
	b.data[8] = 2;			/* version */
	resum(&b);
	putb("keyfile", "bad-version", &b);
	buf_release(&b);
	sodium_memzero(&k, sizeof(k));
}

/* ---- fcache ------------------------------------------------------------- */

static void fcaches(void)
{
	struct manifest_chunk ch[3];
	struct fcache_ent v[3];
	struct buf b = BUF_INIT;

	memset(v, 0, sizeof(v));
	for (int i = 0; i < 3; i++) {
		randombytes_buf(ch[i].id, sizeof(ch[i].id));
		ch[i].len = 1000u * (uint32_t)(i + 1);
		v[i].key[0] = (uint8_t)(0x40 * (i + 1));
		v[i].ino = 100u + (uint64_t)i;
		v[i].mtime_ns = 1700000000000000000LL + i;
		v[i].ctime_ns = 1700000000500000000LL + i;
	}
	v[1].nchunks = 1;
	v[1].chunks = ch;
	v[1].size = ch[0].len;
	v[2].nchunks = 2;
	v[2].chunks = ch + 1;
	v[2].size = ch[1].len + ch[2].len;
	must(fcache_encode(&b, NULL, 0), "fcache");
	putb("fcache", "empty", &b);
	must(fcache_encode(&b, v, 3), "fcache");
	putb("fcache", "three", &b);
	/* keys out of order: the first key made the largest */
	b.data[16] = 0xff;
	resum(&b);
	putb("fcache", "bad-order", &b);
	/* chunks not adding up to the size */
	must(fcache_encode(&b, v, 3), "fcache");
	b.data[16 + 32] ^= 1;
	resum(&b);
	putb("fcache", "bad-size", &b);
	/* a byte between the last entry and the checksum */
	must(fcache_encode(&b, v, 3), "fcache");
	buf_setlen(&b, b.len - 8);
	must(buf_addch(&b, 0), "fcache");
	must(buf_put_le64(&b, 0), "fcache");
	resum(&b);
	putb("fcache", "bad-trailing", &b);
	buf_release(&b);
}

/* ---- config ------------------------------------------------------------- */

static void configs(void)
{
	static const char *const bad[][2] = {
		{ "bad-missing-key", "vault-repository 1\nencryption none\n" },
		{ "bad-version", "vault-repository 3\n" },
		{ "bad-compression", "vault-repository 2\ncompression zstd\n" },
		{ "bad-unknown-key", "vault-repository 1\ncompression lz4\n" },
		{ "bad-not-first", "# no version line\nencryption none\n" },
	};
	struct config c;
	struct buf b = BUF_INIT, t = BUF_INIT;
	char *nl;

	config_default(&c, 1);
	c.version = 1;		/* before the compression key */
	must(config_encode(&b, &c), "config");
	putb("config", "repokey-v1", &b);
	buf_reset(&b);
	c.version = CONFIG_VERSION;
	c.compression = CONFIG_COMPRESSION_MAX;
	must(config_encode(&b, &c), "config");
	putb("config", "repokey-max", &b);
	buf_reset(&b);
	c.compression = CONFIG_COMPRESSION_FAST;
	must(config_encode(&b, &c), "config");
	putb("config", "repokey", &b);
	/* each value spoiled in turn */
	nl = strstr((char *)b.data, "1048576");
	memcpy(nl, "1000000", 7);
	putb("config", "bad-avg", &b);
	memcpy(nl, "1048576", 7);
	must(buf_add(&t, b.data, b.len), "config");
	must(buf_addstr(&t, "pack.target 4096\n"), "config");
	putb("config", "bad-duplicate", &t);
	buf_reset(&t);

	config_default(&c, 0);
	c.general.min = c.general.avg = c.general.max = CONFIG_CHUNK_MIN;
	c.pack_target = CONFIG_PACK_MAX;
	buf_reset(&b);
	must(config_encode(&b, &c), "config");
	/* comments, blank lines, tabs and runs of blanks are fine */
	must(buf_addstr(&t, "# written by hand\n\n"), "config");
	for (const char *p = (char *)b.data; *p; p++)
		must(p[0] == ' ' ? buf_addstr(&t, " \t ") : buf_addch(&t, *p),
		     "config");
	putb("config", "none-edges-spaced", &t);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		put("config", bad[i][0], bad[i][1], strlen(bad[i][1]));
	buf_release(&b);
	buf_release(&t);
}

/* ---- snapshot record and tombstone -------------------------------------- */

static void snaprecs(void)
{
	char *tags[] = { (char *)"daily", (char *)"db" };
	struct snaprec_chunk m[2];
	struct snaprec s;
	struct buf b = BUF_INIT;
	uint8_t ids[3][32];

	memset(&s, 0, sizeof(s));
	randombytes_buf(m, sizeof(m));
	m[0].len = 4096;
	m[1].len = 17;
	s.time = 1700000000;
	s.hostname = (char *)"db-host";
	s.source = (char *)"postgresql://postgres:***@db.example.co/postgres";
	s.tags = tags;
	s.ntags = 2;
	s.entries = 42;
	s.bytes_read = 1u << 20;
	s.bytes_added = 12345;
	s.bytes_stored = 6789;
	s.meta_json = (char *)"{\"db\":{\"tables\":3}}";
	s.manifest = m;
	s.nmanifest = 2;
	must(snaprec_encode(&b, &s), "snaprec");
	putb("snaprec", "full", &b);
	b.data[8 + 8 + 1 + 2] = 0;	/* a NUL in the hostname */
	resum(&b);
	putb("snaprec", "bad-nul", &b);
	buf_reset(&b);
	must(snaprec_encode(&b, &s), "snaprec");
	b.data[b.len - 8 - 4] = 0;	/* last chunk's len -> 0 */
	b.data[b.len - 8 - 3] = 0;
	resum(&b);
	putb("snaprec", "bad-chunk-len", &b);

	memset(&s, 0, sizeof(s));	/* NULL strings encode as "" */
	buf_reset(&b);
	must(snaprec_encode(&b, &s), "snaprec");
	putb("snaprec", "empty", &b);

	randombytes_buf(ids, sizeof(ids));
	buf_reset(&b);
	must(tombstone_encode(&b, (const uint8_t (*)[32])ids, 3), "tombstone");
	putb("tombstone", "three", &b);
	b.data[8] = 2;			/* count says 2, 3 ids follow */
	resum(&b);
	putb("tombstone", "bad-count", &b);
	buf_reset(&b);
	must(tombstone_encode(&b, NULL, 0), "tombstone");
	putb("tombstone", "empty", &b);
	buf_release(&b);
}

/* ---- json --------------------------------------------------------------- */

static void jsons(void)
{
	static const char *const docs[][2] = {
		{ "storage-list", "[{\"name\":\"a.png\",\"id\":\"3f1c\","
		  "\"metadata\":{\"size\":1024,\"mimetype\":\"image/png\"}},"
		  "{\"name\":\"dir\",\"id\":null,\"metadata\":null}]" },
		{ "storage-error", "{\"statusCode\":\"404\",\"error\":"
		  "\"not_found\",\"message\":\"Object not found\"}" },
		{ "functions", "[{\"slug\":\"hello\",\"version\":3,"
		  "\"verify_jwt\":true,\"import_map\":false,"
		  "\"entrypoint_path\":\"file:///src/index.ts\"}]" },
		{ "strings", " {\"esc\":\"\\\"\\\\\\/\\b\\f\\n\\r\\t\","
		  "\"u\":\"\\u00e9\\u20ac\\ud83d\\ude00\\u0000\","
		  "\"raw\":\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"} \n" },
		{ "numbers", "[0,-1,12.5e3,-0.25E-2,9223372036854775807,"
		  "-9223372036854775808,1e400]" },
		{ "bad-trailing-comma", "[1,2,]" },
		{ "bad-lone-surrogate", "\"\\ud800x\"" },
		{ "bad-utf8", "\"\xc0\xaf\"" },
		{ "bad-unterminated", "{\"a\":\"b" },
		{ "bad-leading-zero", "[01]" },
	};
	struct buf b = BUF_INIT;

	for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++)
		put("json", docs[i][0], docs[i][1], strlen(docs[i][1]));
	/* 65 levels: one past JSON_MAX_DEPTH */
	for (int i = 0; i < 65; i++)
		must(buf_addch(&b, '['), "json");
	for (int i = 0; i < 65; i++)
		must(buf_addch(&b, ']'), "json");
	putb("json", "bad-deep", &b);
	buf_release(&b);
}

/* ---- buf: small programs for fuzz-buf.c --------------------------------- */

static void bufs(void)
{
	/* op byte: low 3 bits the operation, the rest its argument */
	static const uint8_t fixed[] = {
		0x00, 0x34, 0x12,			/* le16 */
		0x08, 0x78, 0x56, 0x34, 0x12,		/* le32 */
		0x10, 1, 2, 3, 4, 5, 6, 7, 8,		/* le64 */
		0x02 | 3 << 3, 'a', 'b', 'c',		/* raw 3 */
	};
	static const uint8_t varints[] = {
		0x01, 0x00,				/* 0 */
		0x01, 0xac, 0x02,			/* 300 */
		0x01, 0x80, 0x00,			/* 0, not shortest */
		0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0x01,					/* 2^64 - 1 */
		0x03 | 2 << 3, 0x03, 'x', 'y', 'z',	/* bytes(<= 6) */
	};
	static const uint8_t text_ops[] = {
		0x04, 'a', 0x04, 0xc3, 0xa9, 0x04, 0xe2, 0x82, 0xac,
		0x04, 0xf0, 0x9f, 0x98, 0x80, 0x04, 0xed, 0xa0, 0x80,
		0x05 | 2 << 3, 'D', 'e', 'a', 'D',	/* hex, 2 bytes */
		0x05 | 1 << 3, 'g', '0',		/* not hex */
		0x06 | 2 << 3, 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i',
		'j', 'k', 'l',				/* buf capped at 10 */
	};

	put("buf", "fixed", fixed, sizeof(fixed));
	put("buf", "varints", varints, sizeof(varints));
	put("buf", "text", text_ops, sizeof(text_ops));
	/* an over-long varint, a raw read past the end */
	put("buf", "bad-varint", "\x01\xff\xff\xff\xff\xff\xff\xff\xff\xff\x02",
	    11);
	put("buf", "bad-short", "\x10\x01\x02\x02\xf8", 5);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s OUTDIR\n", argv[0]);
		return 2;
	}
	outdir = argv[1];
	if (mkdir(outdir, 0777) < 0 && errno != EEXIST)
		must(-errno, outdir);
	if (randombytes_set_implementation(&det_impl) != 0 ||
	    sodium_init() < 0) {
		fprintf(stderr, "mkcorpus: cannot set up libsodium\n");
		return 1;
	}
	blobs();
	packs();
	manifests();
	keyfiles();
	configs();
	snaprecs();
	jsons();
	bufs();
	/* last: the random stream they draw from must not shift the seeds
	 * of the harnesses before them */
	fcaches();
	deltas();
	return 0;
}

/*
 * test-sb-storage: sb-storage, sb-functions and sb-multipart against
 * tests/fake-supabase.py.
 *
 *  - buckets: create (and -EEXIST), list, get (and -ENOENT), update;
 *  - objects: upload (bytes and a restartable reader, retried under a
 *    503), download round trip with content type, cache-control and user
 *    metadata, empty objects, create-only uploads;
 *  - listing ~2000 objects: nested folders, a 1200-entry folder paged
 *    100 at a time, and hostile names ("..", leading "/", "//",
 *    backslashes, "%", unicode, control characters, long segments), each
 *    found exactly once and downloaded byte for byte; a repeat listing
 *    makes listing requests only;
 *  - ordered concurrent downloads: strictly in order with small buffers
 *    (pausing), retries under 503/reset/short faults, a persistent fault
 *    reported naming the object (skipped or fatal, as end() chooses);
 *  - bulk delete split into requests of 1000;
 *  - Storage's error bodies: missing bucket, invalid key, size limit,
 *    mime type, wrong key;
 *  - Edge Functions: deploy, list, body (multipart), redeploy, unknown
 *    slug, bad token, unsafe names, pacing under the rate limit and
 *    429 + Retry-After;
 *  - the multipart parser on well-formed, truncated, malformed and
 *    randomly mutated input.
 */
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <sodium.h>

#include "buf.h"
#include "sb-functions.h"
#include "sb-http.h"
#include "json.h"
#include "sb-multipart.h"
#include "sb-storage.h"
#include "../tap.h"
#include "../fakesb.h"

#define KEY "service-role-test-key"
#define TOKEN "sbp_test_access_token"
#define REF "abcdefghijklmnopqrst"

static struct fakesb srv;
static struct sb_http *http;
static struct sb_storage *st;

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void fault(const char *path, const char *kind, int count, const char *extra)
{
	struct buf j = BUF_INIT;

	buf_addstr(&j, "{\"op\":\"fault\",\"path\":");
	json_quote(&j, path, strlen(path));
	/* Retry-After is not the subject here: 0 keeps the tests quick */
	buf_addf(&j, ",\"kind\":\"%s\",\"count\":%d,%s}", kind, count,
		 extra ? extra : "\"retry_after\":0");
	if (fakesb_control(&srv, (const char *)j.data, NULL) != 200)
		diag("fault %s failed", kind);
	buf_release(&j);
}

static void clear_faults(void)
{
	fakesb_control(&srv, "{\"op\":\"clear_faults\"}", NULL);
}

/* The server's record of an object (from the state dump), or NULL. */
static struct json *state;

static void state_load(void)
{
	struct buf out = BUF_INIT;

	json_free(state);
	state = NULL;
	if (fakesb_control(&srv, "{\"op\":\"state\"}", &out) != 200 ||
	    json_parse(&state, out.data, out.len, NULL) < 0)
		diag("state dump failed");
	buf_release(&out);
}

static const struct json *state_obj(const char *bucket, const char *name)
{
	return json_get(json_get(json_get(json_get(state, "buckets"),
						   bucket), "objects"), name);
}

/* ---- a small MD5 (RFC 1321) to compare with the server ------------------- */

struct md5 {
	uint32_t s[4];
	uint64_t len;
	unsigned char buf[64];
	size_t have;
};

static uint32_t rol(uint32_t x, int c)
{
	return (x << c) | (x >> (32 - c));
}

static void md5_block(struct md5 *m, const unsigned char *p)
{
	static const uint32_t K[64] = {
		0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a,
		0xa8304613, 0xfd469501, 0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be,
		0x6b901122, 0xfd987193, 0xa679438e, 0x49b40821, 0xf61e2562, 0xc040b340,
		0x265e5a51, 0xe9b6c7aa, 0xd62f105d, 0x02441453, 0xd8a1e681, 0xe7d3fbc8,
		0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed, 0xa9e3e905, 0xfcefa3f8,
		0x676f02d9, 0x8d2a4c8a, 0xfffa3942, 0x8771f681, 0x6d9d6122, 0xfde5380c,
		0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70, 0x289b7ec6, 0xeaa127fa,
		0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665,
		0xf4292244, 0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92,
		0xffeff47d, 0x85845dd1, 0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1,
		0xf7537e82, 0xbd3af235, 0x2ad7d2bb, 0xeb86d391 };
	static const int S[16] = { 7, 12, 17, 22, 5, 9, 14, 20, 4, 11, 16, 23,
				   6, 10, 15, 21 };
	uint32_t w[16], a = m->s[0], b = m->s[1], c = m->s[2], d = m->s[3], f, t;
	int i, g;

	for (i = 0; i < 16; i++)
		w[i] = (uint32_t)p[i * 4] | (uint32_t)p[i * 4 + 1] << 8 |
		       (uint32_t)p[i * 4 + 2] << 16 | (uint32_t)p[i * 4 + 3] << 24;
	for (i = 0; i < 64; i++) {
		if (i < 16) {
			f = (b & c) | (~b & d);
			g = i;
		} else if (i < 32) {
			f = (d & b) | (~d & c);
			g = (5 * i + 1) % 16;
		} else if (i < 48) {
			f = b ^ c ^ d;
			g = (3 * i + 5) % 16;
		} else {
			f = c ^ (b | ~d);
			g = (7 * i) % 16;
		}
		t = d;
		d = c;
		c = b;
		b = b + rol(a + f + K[i] + w[g], S[(i / 16) * 4 + i % 4]);
		a = t;
	}
	m->s[0] += a;
	m->s[1] += b;
	m->s[2] += c;
	m->s[3] += d;
}

static void md5_init(struct md5 *m)
{
	memset(m, 0, sizeof(*m));
	m->s[0] = 0x67452301;
	m->s[1] = 0xefcdab89;
	m->s[2] = 0x98badcfe;
	m->s[3] = 0x10325476;
}

static void md5_add(struct md5 *m, const void *data, size_t n)
{
	const unsigned char *p = data;

	m->len += n;
	while (n) {
		size_t k = 64 - m->have < n ? 64 - m->have : n;

		memcpy(m->buf + m->have, p, k);
		m->have += k;
		p += k;
		n -= k;
		if (m->have == 64) {
			md5_block(m, m->buf);
			m->have = 0;
		}
	}
}

static void md5_hex(struct md5 *m, char out[33])
{
	uint64_t bits = m->len * 8;
	unsigned char pad = 0x80, z = 0, l[8];
	int i;

	md5_add(m, &pad, 1);
	while (m->have != 56)
		md5_add(m, &z, 1);
	for (i = 0; i < 8; i++)
		l[i] = (unsigned char)(bits >> (8 * i));
	md5_add(m, l, 8);
	for (i = 0; i < 16; i++)
		snprintf(out + 2 * i, 3, "%02x",
			 (unsigned)(m->s[i / 4] >> (8 * (i % 4))) & 0xff);
}

static void md5_of(const void *p, size_t n, char out[33])
{
	struct md5 m;

	md5_init(&m);
	md5_add(&m, p, n);
	md5_hex(&m, out);
}

/* ---- buckets -------------------------------------------------------------- */

static void test_buckets(void)
{
	struct sb_storage_bucket b = { 0 }, got, *all = NULL;
	struct buf err = BUF_INIT;
	size_t n = 0, i;
	int r, seen = 0;

	b.id = "photos";
	b.is_public = 1;
	b.file_size_limit = 20 << 20;
	b.allowed_mime_types = NULL;
	ok(sb_storage_bucket_create(st, &b, &err) == 0, "bucket: create photos");
	b.id = "docs";
	b.is_public = 0;
	b.file_size_limit = 1000;
	b.allowed_mime_types = "[\"text/plain\",\"image/*\"]";
	ok(sb_storage_bucket_create(st, &b, &err) == 0, "bucket: create docs (limits)");
	b.id = "data";
	b.file_size_limit = -1;
	b.allowed_mime_types = NULL;
	ok(sb_storage_bucket_create(st, &b, &err) == 0, "bucket: create data");
	r = sb_storage_bucket_create(st, &b, &err);
	ok(r == -EEXIST && strstr((const char *)err.data,
				  "bucket 'data': HTTP 400 (409 Duplicate): The resource already exists"),
	   "bucket: creating it twice is -EEXIST (%s)", (const char *)err.data);

	r = sb_storage_buckets(st, &all, &n, &err);
	ok(r == 0 && n == 3, "bucket: 3 listed");
	for (i = 0; i < n; i++) {
		if (!strcmp(all[i].id, "photos") && all[i].is_public &&
		    all[i].file_size_limit == 20 << 20 && !all[i].allowed_mime_types)
			seen |= 1;
		if (!strcmp(all[i].id, "docs") && !all[i].is_public &&
		    all[i].file_size_limit == 1000 && all[i].allowed_mime_types &&
		    !strcmp(all[i].allowed_mime_types, "[\"text/plain\",\"image/*\"]"))
			seen |= 2;
		if (!strcmp(all[i].id, "data") && all[i].file_size_limit == -1 && all[i].json &&
		    all[i].type && !strcmp(all[i].type, "STANDARD"))
			seen |= 4;
	}
	is_int(seen, 7, "bucket: each configuration as created");
	sb_storage_buckets_free(all, n);

	b.id = "photos";
	b.is_public = 0;
	b.file_size_limit = -1;
	b.allowed_mime_types = "[\"image/png\"]";
	ok(sb_storage_bucket_update(st, &b, &err) == 0, "bucket: update photos");
	r = sb_storage_bucket_get(st, "photos", &got, &err);
	ok(r == 0 && !got.is_public && got.file_size_limit == -1 && got.allowed_mime_types &&
	   !strcmp(got.allowed_mime_types, "[\"image/png\"]"), "bucket: the update shows");
	sb_storage_bucket_release(&got);
	b.allowed_mime_types = NULL;
	sb_storage_bucket_update(st, &b, &err);

	r = sb_storage_bucket_get(st, "nope", &got, &err);
	ok(r == -ENOENT && strstr((const char *)err.data, "bucket 'nope'") &&
	   strstr((const char *)err.data, "Bucket not found"),
	   "bucket: a missing bucket is -ENOENT (%s)", (const char *)err.data);
	b.id = "bad/name";
	r = sb_storage_bucket_create(st, &b, &err);
	ok(r == -EINVAL && strstr((const char *)err.data, "Bucket name invalid"),
	   "bucket: an invalid name is refused by the server (%s)", (const char *)err.data);
	b.id = "x";
	b.allowed_mime_types = "{\"not\":\"an array\"}";
	r = sb_storage_bucket_create(st, &b, &err);
	ok(r == -EINVAL, "bucket: allowed_mime_types must be a JSON array");
	buf_release(&err);
}

/* ---- upload / download ------------------------------------------------------ */

struct collect {
	struct buf data;
	long status;
	char *ctype, *cache, *etag;
	int begins, ends, rc;
	struct buf err;
};

static int col_begin(void *ctx, size_t i, const struct sb_http_resp *r)
{
	struct collect *c = ctx;

	c->begins++;
	c->status = r->status;
	free(c->ctype);
	free(c->cache);
	free(c->etag);
	c->ctype = r->content_type ? strdup(r->content_type) : NULL;
	c->cache = r->cache_control ? strdup(r->cache_control) : NULL;
	c->etag = r->etag ? strdup(r->etag) : NULL;
	return 0;
}

static int col_data(void *ctx, size_t i, const void *p, size_t n)
{
	return buf_add(&((struct collect *)ctx)->data, p, n);
}

static int col_end(void *ctx, size_t i, int rc, const struct buf *err)
{
	struct collect *c = ctx;

	c->ends++;
	c->rc = rc;
	buf_reset(&c->err);
	if (err)
		buf_add(&c->err, err->data, err->len);
	return rc;
}

static void col_release(struct collect *c)
{
	buf_release(&c->data);
	buf_release(&c->err);
	free(c->ctype);
	free(c->cache);
	free(c->etag);
	memset(c, 0, sizeof(*c));
}

static int download(const char *bucket, const char *name, struct collect *c,
		    struct buf *err)
{
	struct sb_storage_sink s = { col_begin, col_data, col_end, c };

	buf_reset(&c->data);
	c->begins = c->ends = 0;
	return sb_storage_download(st, bucket, name, &s, err);
}

struct reader {
	const unsigned char *p;
	uint64_t n;
	int restarts;
};

static ssize_t rd_cb(void *ctx, uint64_t off, void *out, size_t n)
{
	struct reader *r = ctx;

	if (off == 0)
		r->restarts++;
	if (off >= r->n)
		return 0;
	if (n > r->n - off)
		n = (size_t)(r->n - off);
	memcpy(out, r->p + off, n);
	return (ssize_t)n;
}

static void test_objects(void)
{
	struct sb_storage_upload_req u = { 0 };
	struct sb_storage_objinfo info;
	struct collect c = { 0 };
	struct buf err = BUF_INIT;
	static const char text[] = "hello, storage\n";
	unsigned char *big;
	struct reader rd;
	char md5[33];
	const char *s;
	long puts0;
	int r;

	u.content_type = "text/plain; charset=utf-8";
	u.cache_control = "max-age=3600";
	u.metadata_json = "{ \"owner\": \"alice\", \"n\": 1, \"tags\": [\"a\",\"\\u00e9\"] }";
	u.data = text;
	u.size = strlen(text);
	r = sb_storage_upload(st, "data", "notes/hello.txt", &u, &err);
	ok(r == 0, "upload: text with metadata (%s)", r ? (const char *)err.data : "ok");
	r = download("data", "notes/hello.txt", &c, &err);
	ok(r == 0 && c.data.len == strlen(text) && !memcmp(c.data.data, text, c.data.len) &&
	   c.begins == 1 && c.ends == 1, "download: same bytes back");
	md5_of(text, strlen(text), md5);
	ok(c.ctype && !strcmp(c.ctype, "text/plain; charset=utf-8") && c.cache &&
	   !strcmp(c.cache, "max-age=3600") && c.etag && strstr(c.etag, md5),
	   "download: content type, cache-control and eTag (quoted MD5)");
	r = sb_storage_info(st, "data", "notes/hello.txt", &info, &err);
	ok(r == 0 && info.size == strlen(text) && info.metadata_json &&
	   !strcmp(info.metadata_json, "{\"owner\":\"alice\",\"n\":1,\"tags\":[\"a\",\"\xc3\xa9\"]}") &&
	   info.etag && !strcmp(info.etag, c.etag),
	   "info: user metadata round-trips (%s)", info.metadata_json ? info.metadata_json : "none");
	sb_storage_objinfo_release(&info);

	u.create_only = 1;
	r = sb_storage_upload(st, "data", "notes/hello.txt", &u, &err);
	ok(r == -EEXIST && strstr((const char *)err.data, "object 'data/notes/hello.txt'"),
	   "upload: create-only over an existing object is -EEXIST (%s)", (const char *)err.data);
	u.create_only = 0;

	memset(&u, 0, sizeof(u));
	u.data = "";
	u.size = 0;
	r = sb_storage_upload(st, "data", "empty", &u, &err);
	ok(r == 0 && download("data", "empty", &c, &err) == 0 && c.data.len == 0 &&
	   c.ends == 1 && c.ctype && !strcmp(c.ctype, "application/octet-stream"),
	   "upload/download: an empty object");

	/* a 3 MB upload through a reader, the first PUT answered 503 */
	big = malloc(3 << 20);
	randombytes_buf(big, 3 << 20);
	rd.p = big;
	rd.n = 3 << 20;
	rd.restarts = 0;
	memset(&u, 0, sizeof(u));
	u.read = rd_cb;
	u.read_ctx = &rd;
	u.size = rd.n;
	u.content_type = "application/x-big";
	fault("^/storage/v1/object/data/big$", "503", 1, NULL);
	puts0 = fakesb_route(&srv, "storage.object.update");
	r = sb_storage_upload(st, "data", "big", &u, &err);
	clear_faults();
	state_load();
	md5_of(big, 3 << 20, md5);
	s = json_get_str(state_obj("data", "big"), "md5");
	ok(r == 0 && s && !strcmp(s, md5) && rd.restarts == 2 &&
	   fakesb_route(&srv, "storage.object.update") - puts0 == 2,
	   "upload: streamed, retried after a 503 from the start (%d reads from 0)",
	   rd.restarts);
	r = download("data", "big", &c, &err);
	md5_of(c.data.data, c.data.len, md5);
	ok(r == 0 && s && !strcmp(s, md5), "download: 3 MB back");
	free(big);

	/* header injection is refused before anything is sent */
	memset(&u, 0, sizeof(u));
	u.data = "x";
	u.size = 1;
	u.content_type = "text/plain\r\nX-Evil: 1";
	r = sb_storage_upload(st, "data", "evil", &u, &err);
	ok(r == -EINVAL, "upload: a content type with CR/LF is refused");
	u.content_type = NULL;
	u.metadata_json = "[1,2]";
	r = sb_storage_upload(st, "data", "evil", &u, &err);
	ok(r == -EINVAL, "upload: user metadata must be a JSON object");
	col_release(&c);
	buf_release(&err);
}

/* ---- error bodies ------------------------------------------------------------ */

static void test_errors(void)
{
	struct sb_storage_upload_req u = { 0 };
	struct buf err = BUF_INIT;
	struct collect c = { 0 };
	struct sb_storage *bad = NULL;
	struct sb_storage_bucket *bs = NULL;
	size_t n;
	int r;

	u.data = "0123456789";
	u.size = 10;
	u.content_type = "text/plain";
	r = sb_storage_upload(st, "nobucket", "x", &u, &err);
	ok(r == -ENOENT && strstr((const char *)err.data,
				  "object 'nobucket/x': HTTP 400 (404 Bucket not found): Bucket not found"),
	   "errors: upload to a missing bucket (%s)", (const char *)err.data);
	r = download("data", "no/such/object", &c, &err);
	ok(r == -ENOENT && c.begins == 0 && c.ends == 1 &&
	   strstr((const char *)err.data, "object 'data/no/such/object': HTTP 400 (404 not_found): Object not found"),
	   "errors: downloading a missing object (%s)", (const char *)err.data);

	/* docs: 1000 bytes max, text/plain and image types only */
	u.data = malloc(2000);
	memset((void *)u.data, 'a', 2000);
	u.size = 2000;
	r = sb_storage_upload(st, "docs", "big.txt", &u, &err);
	ok(r == -EFBIG && strstr((const char *)err.data, "(413 Payload too large)"),
	   "errors: over the bucket's size limit is -EFBIG (%s)", (const char *)err.data);
	u.size = 10;
	u.content_type = "application/zip";
	r = sb_storage_upload(st, "docs", "a.zip", &u, &err);
	ok(r == -EINVAL && strstr((const char *)err.data, "mime type application/zip is not supported"),
	   "errors: a refused mime type (%s)", (const char *)err.data);
	u.content_type = "image/png";
	ok(sb_storage_upload(st, "docs", "a.png", &u, &err) == 0,
	   "errors: image/* admits image/png");
	free((void *)u.data);

	fakesb_control(&srv, "{\"op\":\"key_policy\",\"policy\":\"strict\"}", NULL);
	u.data = "x";
	u.size = 1;
	u.content_type = NULL;
	r = sb_storage_upload(st, "data", "bad\x01name%", &u, &err);
	ok(r == -EINVAL && strstr((const char *)err.data, "object 'data/bad\\x01name%'") &&
	   strstr((const char *)err.data, "HTTP 400 (InvalidKey): Invalid key: bad\\x01name%"),
	   "errors: Storage's own key check, the name escaped (%s)", (const char *)err.data);
	fakesb_control(&srv, "{\"op\":\"key_policy\",\"policy\":\"permissive\"}", NULL);

	sb_storage_new(&bad, http, srv.storage, "wrong-key", NULL);
	r = sb_storage_buckets(bad, &bs, &n, &err);
	ok(r == -EACCES && strstr((const char *)err.data, "Invalid API key") &&
	   !strstr((const char *)err.data, "wrong-key"),
	   "errors: a wrong key is -EACCES, and not shown (%s)", (const char *)err.data);
	sb_storage_free(bad);
	ok(sb_storage_new(&bad, http, srv.storage, "has space", &err) == -EINVAL,
	   "errors: a key with spaces is refused up front");
	col_release(&c);
	buf_release(&err);
}

/* ---- listing ------------------------------------------------------------------- */

/* Names end users choose; each must be listed once and read back. */
static const char *hostile[] = {
	"../escape",
	"a/../../b",
	"/leading",
	"//double//slash",
	"trailing/",
	"back\\slash\\..\\x",
	"pct%2Fencoded%",
	"100%",
	"unicode/\xc3\xbcn\xc3\xaf\xc2\xa9\xc3\xb8" "d\xc3\xa9/\xe6\x97\xa5\xe6\x9c\xac.txt",
	"emoji/\xf0\x9f\x98\x80",
	"rtl/\xe2\x80\xaegnp.exe",
	"ctrl/\x01\x1f\x7f",
	"ctrl/tab\tname",
	"ctrl/new\nline",
	"ctrl/cr\rname",
	".hidden",
	"a/./b",
	".",
	"..",
	"sp ace/ q ",
	"quote\"s'",
	"star*?",
	"#hash&amp;",
	"semi;colon=1",
	"plus+sign",
	"dir/",
	NULL,	/* the long one is added at run time */
};

struct listed {
	char **names;
	size_t n, cap;
	int bad;
};

static int listed_cb(void *ctx, const char *bucket, const struct sb_storage_object *o)
{
	struct listed *l = ctx;

	if (!o->etag || o->etag[0] != '"' || !o->last_modified || !o->id)
		l->bad++;
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 256;
		l->names = realloc(l->names, l->cap * sizeof(*l->names));
		if (!l->names)
			return -ENOMEM;
	}
	l->names[l->n++] = strdup(o->name);
	return 0;
}

static int cmpstr(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void listed_free(struct listed *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->names[i]);
	free(l->names);
	memset(l, 0, sizeof(*l));
}

static char **expected;
static size_t nexpected;
static char *longname;

static void expect(const char *name)
{
	expected = realloc(expected, (nexpected + 1) * sizeof(*expected));
	expected[nexpected++] = strdup(name);
}

/* Seeds objects whose content is their own name, in batches. */
static void seed(const char *bucket, char **names, size_t n)
{
	struct buf j = BUF_INIT;
	size_t i, k;

	for (i = 0; i < n; i += k) {
		buf_reset(&j);
		buf_addf(&j, "{\"op\":\"put_objects\",\"bucket\":\"%s\",\"objects\":[", bucket);
		for (k = 0; k < 500 && i + k < n; k++) {
			if (k)
				buf_addch(&j, ',');
			buf_addstr(&j, "{\"name\":");
			json_quote(&j, names[i + k], strlen(names[i + k]));
			buf_addstr(&j, ",\"data\":");
			json_quote(&j, names[i + k], strlen(names[i + k]));
			buf_addstr(&j, ",\"mimetype\":\"text/plain\",\"metadata\":{\"k\":1}}");
		}
		buf_addstr(&j, "]}");
		if (fakesb_control(&srv, (const char *)j.data, NULL) != 200)
			diag("seeding failed");
	}
	buf_release(&j);
}

static void test_listing(void)
{
	struct listed l = { 0 };
	struct buf err = BUF_INIT, nm = BUF_INIT;
	struct collect c = { 0 };
	uint64_t reqs = 0, reqs2 = 0;
	long lists0, gets0;
	size_t i, same, downloaded_ok = 0;
	int r;

	for (i = 0; i < 1200; i++) {
		buf_reset(&nm);
		buf_addf(&nm, "flat/f%04zu", i);
		expect((const char *)nm.data);
	}
	for (i = 0; i < 700; i++) {
		buf_reset(&nm);
		buf_addf(&nm, "tree/l%zu/m%zu/n%zu/leaf%zu.txt", i % 3, i % 7, i % 11, i);
		expect((const char *)nm.data);
	}
	for (i = 0; hostile[i]; i++)
		expect(hostile[i]);
	/* a long segment and deep nesting */
	buf_reset(&nm);
	for (i = 0; i < 300; i++)
		buf_addch(&nm, 'L');
	buf_addch(&nm, '/');
	for (i = 0; i < 40; i++)
		buf_addstr(&nm, "d/");
	buf_addstr(&nm, "end");
	longname = strdup((const char *)nm.data);
	expect(longname);
	seed("data", expected, nexpected);
	diag("seeded %zu objects", nexpected);

	lists0 = fakesb_route(&srv, "storage.object.list");
	gets0 = fakesb_route(&srv, "storage.object.get");
	r = sb_storage_list(st, "data", "", listed_cb, &l, &reqs, &err);
	ok(r == 0, "list: whole bucket (%s)", r ? (const char *)err.data : "ok");
	/* the bucket also holds the objects of test_objects */
	qsort(l.names, l.n, sizeof(*l.names), cmpstr);
	qsort(expected, nexpected, sizeof(*expected), cmpstr);
	same = 0;
	for (i = 0; i < nexpected; i++)
		if (bsearch(&expected[i], l.names, l.n, sizeof(*l.names), cmpstr))
			same++;
	is_int(same, nexpected, "list: every seeded name found, hostile ones included");
	for (i = 1; i < l.n; i++)
		if (!strcmp(l.names[i - 1], l.names[i]))
			break;
	ok(i >= l.n, "list: no name twice");
	is_int(l.n, nexpected + 3, "list: nothing else (the 3 earlier objects)");
	is_int(l.bad, 0, "list: every object has id, eTag and lastModified");
	ok(fakesb_route(&srv, "storage.object.list") - lists0 == (long)reqs && reqs > 20,
	   "list: %llu listing requests (folders and 100-entry pages)",
	   (unsigned long long)reqs);
	ok(fakesb_route(&srv, "storage.object.get") == gets0, "list: no downloads");
	listed_free(&l);

	/* a repeat listing: same requests, still no downloads */
	r = sb_storage_list(st, "data", "", listed_cb, &l, &reqs2, &err);
	ok(r == 0 && reqs2 == reqs && l.n == nexpected + 3 &&
	   fakesb_route(&srv, "storage.object.get") == gets0,
	   "list: a repeat makes listing requests only");
	listed_free(&l);

	/* a prefix lists just that folder */
	r = sb_storage_list(st, "data", "tree/l1", listed_cb, &l, NULL, &err);
	for (i = 0; i < l.n && !strncmp(l.names[i], "tree/l1/", 8); i++)
		;
	ok(r == 0 && l.n == 233 && i == l.n, "list: under a prefix (%zu)", l.n);
	listed_free(&l);

	/* every hostile name reads back as itself */
	for (i = 0; hostile[i]; i++) {
		r = download("data", hostile[i], &c, &err);
		if (r == 0 && c.data.len == strlen(hostile[i]) &&
		    !memcmp(c.data.data, hostile[i], c.data.len))
			downloaded_ok++;
		else
			diag("hostile name %zu failed: %s", i, (const char *)err.data);
	}
	r = download("data", longname, &c, &err);
	ok(downloaded_ok == i && r == 0 && c.data.len == strlen(longname),
	   "list: every hostile name downloads as itself (%zu)", downloaded_ok);

	/* a fault in the middle of the listing is retried */
	fault("/object/list/data", "503", 2, NULL);
	fault("/object/list/data", "reset", 1, NULL);
	r = sb_storage_list(st, "data", "flat/", listed_cb, &l, NULL, &err);
	ok(r == 0 && l.n == 1200, "list: retried through 503s and a reset");
	listed_free(&l);
	clear_faults();
	fault("/object/list/data", "503", -1, NULL);
	r = sb_storage_list(st, "data", "tree/", listed_cb, &l, NULL, &err);
	ok(r == -EIO && strstr((const char *)err.data, "listing 'data/tree/"),
	   "list: a persistent failure names the folder (%s)", (const char *)err.data);
	listed_free(&l);
	clear_faults();
	r = sb_storage_list(st, "nobucket", "", listed_cb, &l, NULL, &err);
	ok(r == -ENOENT && strstr((const char *)err.data, "Bucket not found"),
	   "list: a missing bucket");
	listed_free(&l);
	col_release(&c);
	buf_release(&err);
	buf_release(&nm);
}

/* ---- ordered concurrent downloads ------------------------------------------------ */

struct ordered {
	size_t cur;		/* index being handed over */
	int in_obj;
	int disorder;
	struct md5 m;
	char (*md5s)[33];
	int *rcs;
	size_t ends;
	int fatal;		/* end() returns the error */
	struct buf lasterr;
	size_t *sizes;
};

static int ord_begin(void *ctx, size_t i, const struct sb_http_resp *r)
{
	struct ordered *o = ctx;

	if (i != o->cur || o->in_obj)
		o->disorder++;
	o->in_obj = 1;
	md5_init(&o->m);
	o->sizes[i] = 0;
	return 0;
}

static int ord_data(void *ctx, size_t i, const void *p, size_t n)
{
	struct ordered *o = ctx;

	if (i != o->cur || !o->in_obj)
		o->disorder++;
	md5_add(&o->m, p, n);
	o->sizes[i] += n;
	return 0;
}

static int ord_end(void *ctx, size_t i, int rc, const struct buf *err)
{
	struct ordered *o = ctx;

	if (i != o->cur)
		o->disorder++;
	o->rcs[i] = rc;
	if (rc == 0)
		md5_hex(&o->m, o->md5s[i]);
	else {
		buf_reset(&o->lasterr);
		buf_add(&o->lasterr, err->data, err->len);
	}
	o->in_obj = 0;
	o->cur++;
	o->ends++;
	return o->fatal ? rc : 0;
}

static void test_ordered(void)
{
	enum { N = 60 };
	struct sb_storage_ref refs[N];
	char names[N][32];
	struct ordered o;
	struct sb_storage_sink sink = { ord_begin, ord_data, ord_end, &o };
	struct buf err = BUF_INIT, j = BUF_INIT;
	size_t i, good;
	long gets0;
	int r;

	buf_addstr(&j, "{\"op\":\"put_objects\",\"bucket\":\"photos\",\"objects\":[");
	for (i = 0; i < N; i++) {
		snprintf(names[i], sizeof(names[i]), "img/%02zu.bin", i);
		refs[i].bucket = "photos";
		refs[i].name = names[i];
		/* empty, small, 1 MB and one 20 MB object */
		buf_addf(&j, "%s{\"name\":\"%s\",\"size\":%zu}", i ? "," : "", names[i],
			 i == 31 ? (size_t)20 << 20 : i % 10 == 0 ? 0 :
			 i % 3 == 0 ? (size_t)(1 << 20) + i : 1000 * i);
	}
	buf_addstr(&j, "]}");
	fakesb_control(&srv, (const char *)j.data, NULL);
	state_load();

	memset(&o, 0, sizeof(o));
	o.md5s = calloc(N, sizeof(*o.md5s));
	o.rcs = calloc(N, sizeof(*o.rcs));
	o.sizes = calloc(N, sizeof(*o.sizes));
	buf_init(&o.lasterr, 0);
	fault("img/0[3-5]", "503", 3, NULL);
	fault("img/09", "reset", 1, "\"fraction\":0.3");
	fault("img/12", "short", 1, NULL);
	gets0 = fakesb_route(&srv, "storage.object.get");
	r = sb_storage_download_many(st, refs, N, 6, 16384, &sink, &err);
	clear_faults();
	good = 0;
	for (i = 0; i < N; i++) {
		const char *want = json_get_str(state_obj("photos", names[i]), "md5");

		if (o.rcs[i] == 0 && want && !strcmp(want, o.md5s[i]))
			good++;
	}
	ok(r == 0 && o.ends == N && good == N && o.sizes[31] == 20u << 20,
	   "ordered: %zu of %d objects (one of 20 MB) exact under faults", good, N);
	is_int(o.disorder, 0, "ordered: begin/data/end strictly in index order");
	ok(fakesb_route(&srv, "storage.object.get") - gets0 == N + 5,
	   "ordered: one request per object plus the 5 faulted");

	/* a persistent fault: end() sees it, naming the object, and goes on */
	memset(o.rcs, 0, N * sizeof(*o.rcs));
	o.cur = 0;
	o.ends = 0;
	fault("img/20", "503", -1, NULL);
	r = sb_storage_download_many(st, refs, N, 4, 0, &sink, &err);
	ok(r == 0 && o.ends == N && o.rcs[20] == -EIO && o.rcs[19] == 0 && o.rcs[21] == 0 &&
	   strstr((const char *)o.lasterr.data, "object 'photos/img/20.bin'"),
	   "ordered: a lost object is reported and skipped (%s)",
	   (const char *)o.lasterr.data);
	/* ... or stops everything when end() says so */
	o.cur = 0;
	o.ends = 0;
	o.fatal = 1;
	r = sb_storage_download_many(st, refs, N, 4, 0, &sink, &err);
	ok(r == -EIO && o.ends == 21 && strstr((const char *)err.data,
					       "object 'photos/img/20.bin'") &&
	   strstr((const char *)err.data, "gave up after"),
	   "ordered: a fatal end() stops the run, naming the object (%s)",
	   (const char *)err.data);
	clear_faults();
	free(o.md5s);
	free(o.rcs);
	free(o.sizes);
	buf_release(&o.lasterr);
	buf_release(&err);
	buf_release(&j);
}

/* ---- bulk delete ------------------------------------------------------------- */

static void test_delete(void)
{
	char **names = calloc(1500, sizeof(*names));
	struct listed l = { 0 };
	struct buf err = BUF_INIT, nm = BUF_INIT;
	size_t i, deleted = 0;
	long d0;
	int r;

	for (i = 0; i < 1500; i++) {
		buf_reset(&nm);
		buf_addf(&nm, i < 1200 ? "flat/f%04zu" : "flat/missing%zu", i);
		names[i] = buf_detach(&nm, NULL);
	}
	d0 = fakesb_route(&srv, "storage.object.delete_many");
	r = sb_storage_delete(st, "data", (const char *const *)names, 1500, &deleted, &err);
	ok(r == 0 && deleted == 1200, "delete: 1200 of 1500 names existed (%zu)", deleted);
	is_int(fakesb_route(&srv, "storage.object.delete_many") - d0, 2,
	       "delete: split into requests of at most 1000");
	r = sb_storage_list(st, "data", "flat/", listed_cb, &l, NULL, &err);
	ok(r == 0 && l.n == 0, "delete: the folder is gone");
	listed_free(&l);
	{
		const char *h[] = { "../escape", "ctrl/new\nline", "/leading" };

		r = sb_storage_delete(st, "data", h, 3, &deleted, &err);
		ok(r == 0 && deleted == 3, "delete: hostile names are deleted exactly");
	}
	for (i = 0; i < 1500; i++)
		free(names[i]);
	free(names);
	buf_release(&err);
	buf_release(&nm);
}

/* ---- functions ---------------------------------------------------------------- */

struct fnfiles {
	char *names[16];
	struct buf data[16];
	int n;
};

static int fn_file(void *ctx, const char *name, const void *data, size_t n)
{
	struct fnfiles *f = ctx;

	if (f->n >= 16)
		return -E2BIG;
	f->names[f->n] = strdup(name);
	buf_init(&f->data[f->n], 0);
	buf_add(&f->data[f->n], data, n);
	f->n++;
	return 0;
}

static void fnfiles_free(struct fnfiles *f)
{
	int i;

	for (i = 0; i < f->n; i++) {
		free(f->names[i]);
		buf_release(&f->data[i]);
	}
	f->n = 0;
}

static const struct buf *fnfile(const struct fnfiles *f, const char *name)
{
	int i;

	for (i = 0; i < f->n; i++)
		if (!strcmp(f->names[i], name))
			return &f->data[i];
	return NULL;
}

static void test_functions(void)
{
	static const char index_ts[] =
		"import { x } from './lib/util.ts';\nDeno.serve(() => new Response(x));\n";
	static const char util_ts[] = "export const x = \"--vault-boundary\\r\\n\";\n";
	static const char imap[] = "{\"imports\":{}}";
	static const char weird_ts[] = "// \xe2\x9c\x93 unicode\n";
	struct sb_functions_file files[] = {
		{ "index.ts", index_ts, sizeof(index_ts) - 1 },
		{ "lib/util.ts", util_ts, sizeof(util_ts) - 1 },
		{ "import_map.json", imap, sizeof(imap) - 1 },
		{ "lib/w\xc3\xa9ird \"q\".ts", weird_ts, sizeof(weird_ts) - 1 },
	};
	struct sb_functions_deploy_req d = { 0 };
	struct sb_functions *f = NULL, *badf = NULL;
	struct sb_functions_item *fns = NULL, out;
	struct buf err = BUF_INIT, meta = BUF_INIT, rel = BUF_INIT;
	struct fnfiles got = { 0 };
	const struct buf *b;
	size_t n = 0;
	uint64_t t0, dt, reqs, paced;
	long l0;
	int r, i, allsame;

	r = sb_functions_new(&f, http, srv.base, TOKEN, REF, &err);
	ok(r == 0, "functions: client");
	r = sb_functions_list(f, &fns, &n, &err);
	ok(r == 0 && n == 0, "functions: none at first");
	sb_functions_items_free(fns, n);

	d.slug = "hello-world";
	d.name = "Hello World";
	d.verify_jwt = 0;
	d.entrypoint_path = "index.ts";
	d.import_map_path = "import_map.json";
	d.files = files;
	d.nfiles = 4;
	r = sb_functions_deploy(f, &d, &out, &err);
	ok(r == 0 && out.version == 1 && out.slug && !strcmp(out.slug, "hello-world") &&
	   out.entrypoint_path && !strcmp(out.entrypoint_path, "index.ts"),
	   "functions: deploy (%s)", r ? (const char *)err.data : "ok");
	sb_functions_item_release(&out);

	r = sb_functions_list(f, &fns, &n, &err);
	ok(r == 0 && n == 1 && !strcmp(fns[0].slug, "hello-world") &&
	   !strcmp(fns[0].name, "Hello World") && fns[0].version == 1 &&
	   fns[0].verify_jwt == 0 && fns[0].entrypoint_path &&
	   !strcmp(fns[0].entrypoint_path, "index.ts") && fns[0].import_map_path &&
	   !strcmp(fns[0].import_map_path, "import_map.json") && fns[0].json &&
	   fns[0].created_at > 0,
	   "functions: listed with name, version, verify_jwt, relative paths");
	sb_functions_items_free(fns, n);

	r = sb_functions_body(f, "hello-world", fn_file, &got, &meta, &err);
	allsame = got.n == 4;
	for (i = 0; allsame && i < 4; i++) {
		b = fnfile(&got, files[i].name);
		allsame = b && b->len == files[i].len && !memcmp(b->data, files[i].data, b->len);
	}
	ok(r == 0 && allsame, "functions: body has the 4 files byte for byte (%s)",
	   r ? (const char *)err.data : "ok");
	ok(meta.len && strstr((const char *)meta.data, "entrypoint"),
	   "functions: the metadata part is kept (%s)", (const char *)meta.data);
	fnfiles_free(&got);

	d.nfiles = 2;
	d.import_map_path = NULL;
	d.verify_jwt = 1;
	r = sb_functions_deploy(f, &d, &out, &err);
	ok(r == 0 && out.version == 2 && out.verify_jwt == 1 && !out.import_map_path,
	   "functions: redeploy makes version 2");
	sb_functions_item_release(&out);
	r = sb_functions_body(f, "hello-world", fn_file, &got, NULL, &err);
	ok(r == 0 && got.n == 2 && fnfile(&got, "index.ts") && fnfile(&got, "lib/util.ts"),
	   "functions: the body follows the new version");
	fnfiles_free(&got);

	r = sb_functions_body(f, "nope", fn_file, &got, NULL, &err);
	ok(r == -ENOENT && strstr((const char *)err.data, "function 'nope': HTTP 404: Function not found"),
	   "functions: unknown slug (%s)", (const char *)err.data);

	d.entrypoint_path = "main.ts";
	r = sb_functions_deploy(f, &d, NULL, &err);
	ok(r == -EINVAL && strstr((const char *)err.data, "entrypoint"),
	   "functions: the entrypoint must be a file");
	{
		struct sb_functions_file evil = { "../etc/passwd", "x", 1 };

		d.files = &evil;
		d.nfiles = 1;
		d.entrypoint_path = "../etc/passwd";
		r = sb_functions_deploy(f, &d, NULL, &err);
		ok(r == -EINVAL && strstr((const char *)err.data, "unsafe file name"),
		   "functions: a traversal name is refused before sending");
	}

	sb_functions_new(&badf, http, srv.base, "sbp_wrong", REF, &err);
	r = sb_functions_list(badf, &fns, &n, &err);
	ok(r == -EACCES && strstr((const char *)err.data, "HTTP 401: Unauthorized") &&
	   !strstr((const char *)err.data, "sbp_wrong"),
	   "functions: a bad token is -EACCES (%s)", (const char *)err.data);
	sb_functions_free(badf);

	/* names the API serves, made relative and checked */
	ok(sb_functions_relname("/tmp/user_fn_ref_id_3/source/lib/a.ts", &rel) == 0 &&
	   !strcmp((const char *)rel.data, "lib/a.ts") &&
	   sb_functions_relname("file:///tmp/user_fn_ref_id_3/source/index.ts", &rel) == 0 &&
	   !strcmp((const char *)rel.data, "index.ts"),
	   "relname: deployment prefix and file:// removed");
	ok(sb_functions_relname("/etc/passwd", &rel) == -EBADMSG &&
	   sb_functions_relname("/tmp/user_fn_x/source/../../x", &rel) == -EBADMSG &&
	   sb_functions_relname("a//b", &rel) == -EBADMSG &&
	   sb_functions_relname("a/./b", &rel) == -EBADMSG &&
	   sb_functions_relname("a\\b", &rel) == -EBADMSG &&
	   sb_functions_relname("a\nb", &rel) == -EBADMSG &&
	   sb_functions_relname("", &rel) == -EBADMSG,
	   "relname: absolute, dot, empty, backslash and control names refused");

	/* pacing: 5 requests a second (a little slower on our side, so
	 * scheduling jitter on a busy machine cannot decide), 12 calls, no 429 */
	fakesb_control(&srv, "{\"op\":\"rate_limit\",\"limit\":5,\"window\":1}", NULL);
	sb_functions_set_rate(f, 5, 1100);
	l0 = fakesb_route(&srv, "mgmt.functions.list");
	t0 = now_ms();
	for (i = 0, r = 0; i < 12 && r == 0; i++) {
		r = sb_functions_list(f, &fns, &n, &err);
		sb_functions_items_free(fns, n);
	}
	dt = now_ms() - t0;
	sb_functions_counters(f, &reqs, &paced);
	ok(r == 0 && fakesb_route(&srv, "mgmt.functions.list") - l0 == 12 && dt >= 1900,
	   "functions: paced to the limit, never refused (%llu ms, %llu ms waiting)",
	   (unsigned long long)dt, (unsigned long long)paced);

	/* no pacing against a stricter server: 429 + Retry-After waited out */
	fakesb_control(&srv, "{\"op\":\"rate_limit\",\"limit\":3,\"window\":1}", NULL);
	sb_functions_set_rate(f, 1000, 1);
	l0 = fakesb_route(&srv, "mgmt.functions.list");
	for (i = 0, r = 0; i < 6 && r == 0; i++) {
		r = sb_functions_list(f, &fns, &n, &err);
		sb_functions_items_free(fns, n);
	}
	ok(r == 0 && fakesb_route(&srv, "mgmt.functions.list") - l0 > 6,
	   "functions: 429s retried after Retry-After (%ld requests for 6 calls)",
	   fakesb_route(&srv, "mgmt.functions.list") - l0);
	fakesb_control(&srv, "{\"op\":\"rate_limit\",\"limit\":60,\"window\":60}", NULL);

	sb_functions_free(f);
	buf_release(&err);
	buf_release(&meta);
	buf_release(&rel);
}

/* ---- a server seeded from a directory ------------------------------------------ */

static int rm_entry(const char *path, const struct stat *sb, int flag,
		    struct FTW *ftw)
{
	return remove(path);
}

static void put_file(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");

	if (fp) {
		fputs(text, fp);
		fclose(fp);
	}
}

static void test_seeded(void)
{
	char dir[] = "/tmp/vault-test-sbseed-XXXXXX", p[4200];
	const char *args[] = { "--seed", dir, "--access-token", "tok2",
			       "--project-ref", "seedref", "--service-key", "k2", NULL };
	struct fakesb s2;
	struct sb_storage *st2 = NULL;
	struct sb_functions *f2 = NULL;
	struct sb_functions_item *fns = NULL;
	struct sb_storage_bucket *bs = NULL;
	struct listed l = { 0 };
	struct fnfiles got = { 0 };
	struct buf err = BUF_INIT;
	size_t n = 0, nb = 0;
	int r;

	if (!mkdtemp(dir)) {
		ok(0, "seed: temporary directory");
		return;
	}
	snprintf(p, sizeof(p), "%s/storage", dir);
	mkdir(p, 0700);
	snprintf(p, sizeof(p), "%s/storage/pics", dir);
	mkdir(p, 0700);
	snprintf(p, sizeof(p), "%s/storage/pics/2024", dir);
	mkdir(p, 0700);
	snprintf(p, sizeof(p), "%s/storage/pics/2024/a.txt", dir);
	put_file(p, "aaa");
	snprintf(p, sizeof(p), "%s/storage/pics.bucket.json", dir);
	put_file(p, "{\"public\":true,\"file_size_limit\":\"5MB\"}");
	snprintf(p, sizeof(p), "%s/objects.jsonl", dir);
	put_file(p, "{\"bucket\":\"pics\",\"name\":\"../odd\\u0001\",\"data\":\"zz\"}\n");
	snprintf(p, sizeof(p), "%s/functions", dir);
	mkdir(p, 0700);
	snprintf(p, sizeof(p), "%s/functions/fn1", dir);
	mkdir(p, 0700);
	snprintf(p, sizeof(p), "%s/functions/fn1/index.ts", dir);
	put_file(p, "export {};\n");
	snprintf(p, sizeof(p), "%s/functions/fn1.function.json", dir);
	put_file(p, "{\"name\":\"Fn One\",\"verify_jwt\":false}");

	r = fakesb_start(&s2, args);
	ok(r == 0, "seed: a second server from a directory");
	if (r == 0) {
		sb_storage_new(&st2, http, s2.storage, "k2", NULL);
		r = sb_storage_buckets(st2, &bs, &nb, &err);
		ok(r == 0 && nb == 1 && !strcmp(bs[0].id, "pics") && bs[0].is_public &&
		   bs[0].file_size_limit == 5 << 20, "seed: the bucket and its configuration");
		sb_storage_buckets_free(bs, nb);
		r = sb_storage_list(st2, "pics", "", listed_cb, &l, NULL, &err);
		qsort(l.names, l.n, sizeof(*l.names), cmpstr);
		ok(r == 0 && l.n == 2 && !strcmp(l.names[0], "../odd\x01") &&
		   !strcmp(l.names[1], "2024/a.txt"), "seed: files and objects.jsonl entries");
		listed_free(&l);
		sb_functions_new(&f2, http, s2.base, "tok2", "seedref", NULL);
		r = sb_functions_list(f2, &fns, &n, &err);
		ok(r == 0 && n == 1 && !strcmp(fns[0].slug, "fn1") && !strcmp(fns[0].name, "Fn One") &&
		   fns[0].verify_jwt == 0, "seed: the function and its settings");
		sb_functions_items_free(fns, n);
		r = sb_functions_body(f2, "fn1", fn_file, &got, NULL, &err);
		ok(r == 0 && got.n == 1 && !strcmp(got.names[0], "index.ts"), "seed: its source");
		fnfiles_free(&got);
		sb_functions_free(f2);
		sb_storage_free(st2);
		fakesb_stop(&s2);
	}
	if (nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS) != 0)
		diag("cleanup of %s failed", dir);
	buf_release(&err);
}

/* ---- multipart ---------------------------------------------------------------- */

struct mpc {
	int n;
	char names[8][64];
	char files[8][64];
	size_t lens[8];
	char data0[64];
};

static int mp_cb(void *ctx, const struct sb_multipart_part *p)
{
	struct mpc *c = ctx;

	if (c->n < 8) {
		snprintf(c->names[c->n], 64, "%s", p->name ? p->name : "(null)");
		snprintf(c->files[c->n], 64, "%s", p->filename ? p->filename : "(null)");
		c->lens[c->n] = p->len;
		if (c->n == 0)
			snprintf(c->data0, sizeof(c->data0), "%.*s", (int)p->len, p->data);
	}
	c->n++;
	return 0;
}

/* a string literal body */
#define MPL(lit, bnd, maxp, c) mp(lit, sizeof(lit) - 1, bnd, maxp, c)

static int mp(const char *body, size_t n, const char *bnd, size_t maxp, struct mpc *c)
{
	memset(c, 0, sizeof(*c));
	return sb_multipart_parse(body, n, bnd, maxp, mp_cb, c, NULL);
}

static void test_multipart(void)
{
	static const char good[] =
		"preamble to ignore\r\n"
		"--XyZ\r\n"
		"Content-Disposition: form-data; name=\"metadata\"\r\n"
		"Content-Type: application/json\r\n"
		"\r\n"
		"{\"a\":1}\r\n"
		"--XyZ  \r\n"
		"content-disposition: form-data; name=file; filename=\"dir/a \\\"b\\\".ts\"\r\n"
		"\r\n"
		"line1\r\n--XyZnot-a-delimiter\r\nline3\r\n"
		"--XyZ\r\n"
		"Content-Disposition: form-data; name=\"file\"; filename*=UTF-8''%C3%A9t%C3%A9.ts\r\n"
		"\r\n"
		"\r\n"
		"--XyZ--\r\n"
		"epilogue";
	struct buf b = BUF_INIT, built = BUF_INIT;
	char bnd[SB_MULTIPART_MAX_BOUNDARY + 1], *mut;
	struct mpc c;
	size_t i, fails;
	int r, crashes = 0;

	r = mp(good, strlen(good), "XyZ", 10, &c);
	ok(r == 0 && c.n == 3, "multipart: 3 parts (%d)", c.n);
	ok(!strcmp(c.names[0], "metadata") && !strcmp(c.data0, "{\"a\":1}") &&
	   !strcmp(c.files[0], "(null)"), "multipart: the metadata part");
	ok(!strcmp(c.names[1], "file") && !strcmp(c.files[1], "dir/a \"b\".ts") &&
	   c.lens[1] == strlen("line1\r\n--XyZnot-a-delimiter\r\nline3"),
	   "multipart: quoted filename; a boundary-like line inside data is data");
	ok(!strcmp(c.files[2], "\xc3\xa9t\xc3\xa9.ts") && c.lens[2] == 0,
	   "multipart: filename* decoded; an empty part");

	fails = 0;
	for (i = 0; i < strlen(good) - strlen("--\r\nepilogue"); i++)
		if (mp(good, i, "XyZ", 10, &c) != -EBADMSG)
			fails++;
	is_int(fails, 0, "multipart: every truncation before the close delimiter is -EBADMSG");

	r = mp(good, strlen(good), "XyZ", 2, &c);
	is_int(r, -E2BIG, "multipart: the part limit holds");
	r = MPL("--b\nContent-Disposition: form-data; name=\"x\"\n\nv\n--b--\n", "b", 4, &c);
	ok(r == 0 && c.n == 1 && !strcmp(c.data0, "v"), "multipart: bare LF line ends");
	ok(MPL("no boundary at all", "b", 4, &c) == -EBADMSG, "multipart: no boundary");
	ok(MPL("--b junk\r\n\r\nx\r\n--b--", "b", 4, &c) == -EBADMSG,
	   "multipart: text after a boundary");
	r = MPL("--bjunk\r\n\r\nx\r\n--b--", "b", 4, &c);
	ok(r == 0 && c.n == 0,
	   "multipart: a line that only starts like the boundary is preamble");
	ok(MPL("--b\r\nNoColonHere\r\n\r\nx\r\n--b--", "b", 4, &c) == -EBADMSG,
	   "multipart: a header without ':'");
	ok(MPL("--b\r\nA: 1\r\n folded\r\n\r\nx\r\n--b--", "b", 4, &c) == -EBADMSG,
	   "multipart: a folded header");
	ok(MPL("--b\r\nA: \x01\r\n\r\nx\r\n--b--", "b", 4, &c) == -EBADMSG,
	   "multipart: a control character in a header");
	ok(MPL("--b\r\nContent-Disposition: form-data; name=\"x\r\n\r\nx\r\n--b--", "b", 4, &c) == -EBADMSG, "multipart: an unterminated quoted string");
	ok(MPL("--b\r\nContent-Disposition: attachment; name=x\r\n\r\nx\r\n--b--", "b", 4, &c) == -EBADMSG, "multipart: not form-data");
	buf_reset(&b);
	buf_addstr(&b, "--b\r\nX: ");
	for (i = 0; i < 9000; i++)
		buf_addch(&b, 'a');
	buf_addstr(&b, "\r\n\r\nx\r\n--b--");
	ok(mp((const char *)b.data, b.len, "b", 4, &c) == -EBADMSG,
	   "multipart: part headers over the limit");
	ok(mp(good, strlen(good), "", 4, &c) == -EINVAL &&
	   mp(good, strlen(good), "bad\"boundary", 4, &c) == -EINVAL,
	   "multipart: invalid boundaries refused");

	ok(sb_multipart_boundary("multipart/form-data; boundary=\"a b:c\"", &b) == 0 &&
	   !strcmp((const char *)b.data, "a b:c") &&
	   sb_multipart_boundary("Multipart/Form-Data;charset=x;BOUNDARY=zz", &b) == 0 &&
	   !strcmp((const char *)b.data, "zz"), "multipart: boundary parameter, quoted or not");
	buf_reset(&b);
	for (i = 0; i < 71; i++)
		buf_addch(&b, 'x');
	{
		struct buf ct = BUF_INIT, o = BUF_INIT;

		buf_addf(&ct, "multipart/form-data; boundary=%s", (const char *)b.data);
		ok(sb_multipart_boundary((const char *)ct.data, &o) == -EINVAL &&
		   sb_multipart_boundary("application/json", &o) == -EINVAL &&
		   sb_multipart_boundary("multipart/form-data", &o) == -EINVAL,
		   "multipart: a missing or over-long boundary, or another type");
		buf_release(&ct);
		buf_release(&o);
	}

	/* build, then parse back */
	sb_multipart_new_boundary(bnd);
	r = sb_multipart_add(&built, bnd, "metadata", NULL, "application/json", "{}", 2);
	if (r == 0)
		r = sb_multipart_add(&built, bnd, "file", "a/\"q\"\\.ts", NULL, "x\r\n--y", 7);
	if (r == 0)
		r = sb_multipart_finish(&built, bnd);
	ok(r == 0 && mp((const char *)built.data, built.len, bnd, 4, &c) == 0 && c.n == 2 &&
	   !strcmp(c.files[1], "a/\"q\"\\.ts") && c.lens[1] == 7,
	   "multipart: what we build parses back");
	ok(sb_multipart_add(&built, bnd, "file", "bad\r\nname", NULL, "", 0) == -EINVAL,
	   "multipart: a file name with CR/LF cannot be sent");

	/* random mutations: never a crash, always a clean answer */
	mut = malloc(built.len);
	for (i = 0; i < 3000; i++) {
		size_t k, flips = 1 + randombytes_uniform(4);

		memcpy(mut, built.data, built.len);
		for (k = 0; k < flips; k++)
			mut[randombytes_uniform((uint32_t)built.len)] =
				(char)randombytes_uniform(256);
		r = mp(mut, built.len - randombytes_uniform(8), bnd, 4, &c);
		if (r != 0 && r != -EBADMSG && r != -E2BIG)
			crashes++;
	}
	is_int(crashes, 0, "multipart: 3000 mutated bodies give 0 or -EBADMSG");
	free(mut);
	buf_release(&b);
	buf_release(&built);
}

int main(void)
{
	struct sb_http_opts o = { 0 };
	char md5[33];
	int r;

	if (sodium_init() < 0)
		return 1;
	md5_of("abc", 3, md5);
	ok(!strcmp(md5, "900150983cd24fb0d6963f7d28e17f72"), "md5 helper");
	test_multipart();

	r = fakesb_start(&srv, NULL);
	if (r == FAKESB_NO_PYTHON) {
		skip("python3 is not installed: the Storage tests need tests/fake-supabase.py");
		return done_testing();
	}
	if (!ok(r == 0, "fake-supabase started on port %d", srv.port))
		return done_testing();
	o.jobs = 8;
	o.retries = 3;
	o.backoff_ms = 20;
	o.backoff_max_ms = 200;
	o.stall_timeout_s = 2;
	ok(sb_http_new(&http, &o, NULL) == 0 &&
	   sb_storage_new(&st, http, srv.storage, KEY, NULL) == 0, "storage client");
	sb_storage_set_page(st, 100);

	test_buckets();
	test_objects();
	test_errors();
	test_listing();
	test_ordered();
	test_delete();
	test_functions();
	test_seeded();

	sb_storage_free(st);
	sb_http_free(http);
	fakesb_stop(&srv);
	json_free(state);
	while (nexpected)
		free(expected[--nexpected]);
	free(expected);
	free(longname);
	return done_testing();
}

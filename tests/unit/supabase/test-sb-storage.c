/*
 * test-sb-storage: sb-storage against tests/fake-supabase.py.
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
 *  - the object info of many objects at once: each answered once, at
 *    most `window` in flight (the server's own count), a missing object
 *    and a persistent fault reported naming the object (or stopping
 *    everything, as the callback chooses);
 *  - bulk delete split into requests of 1000;
 *  - Storage's error bodies: missing bucket, invalid key, size limit,
 *    mime type, wrong key.
 *
 * The tests run in order on one server: each builds on the buckets and
 * objects the earlier ones left.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "buf.h"
#include "sb-http.h"
#include "json.h"
#include "sb-storage.h"
#include "../tap.h"
#include "../fakesb.h"

#define KEY "service-role-test-key"

static struct fakesb srv;
static struct sb_http *http;
static struct sb_storage *st;

/* The server's state dump, for fakesb_state_obj(). */
static struct json *state;

static void state_load(void)
{
	json_free(state);
	state = fakesb_state(&srv);
	if (!state)
		diag("state dump failed");
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
	fakesb_md5_of(text, strlen(text), md5);
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
	fakesb_fault(&srv, "^/storage/v1/object/data/big$", "503", 1, NULL);
	puts0 = fakesb_route(&srv, "storage.object.update");
	r = sb_storage_upload(st, "data", "big", &u, &err);
	fakesb_clear_faults(&srv);
	state_load();
	fakesb_md5_of(big, 3 << 20, md5);
	s = json_get_str(fakesb_state_obj(state, "data", "big"), "md5");
	ok(r == 0 && s && !strcmp(s, md5) && rd.restarts == 2 &&
	   fakesb_route(&srv, "storage.object.update") - puts0 == 2,
	   "upload: streamed, retried after a 503 from the start (%d reads from 0)",
	   rd.restarts);
	r = download("data", "big", &c, &err);
	fakesb_md5_of(c.data.data, c.data.len, md5);
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
	struct fakesb_listed l = { 0 };
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
	r = sb_storage_list(st, "data", "", fakesb_listed_cb, &l, &reqs, &err);
	ok(r == 0, "list: whole bucket (%s)", r ? (const char *)err.data : "ok");
	/* the bucket also holds the objects of test_objects */
	qsort(l.names, l.n, sizeof(*l.names), fakesb_cmpstr);
	qsort(expected, nexpected, sizeof(*expected), fakesb_cmpstr);
	same = 0;
	for (i = 0; i < nexpected; i++)
		if (bsearch(&expected[i], l.names, l.n, sizeof(*l.names), fakesb_cmpstr))
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
	fakesb_listed_free(&l);

	/* a repeat listing: same requests, still no downloads */
	r = sb_storage_list(st, "data", "", fakesb_listed_cb, &l, &reqs2, &err);
	ok(r == 0 && reqs2 == reqs && l.n == nexpected + 3 &&
	   fakesb_route(&srv, "storage.object.get") == gets0,
	   "list: a repeat makes listing requests only");
	fakesb_listed_free(&l);

	/* a prefix lists just that folder */
	r = sb_storage_list(st, "data", "tree/l1", fakesb_listed_cb, &l, NULL, &err);
	for (i = 0; i < l.n && !strncmp(l.names[i], "tree/l1/", 8); i++)
		;
	ok(r == 0 && l.n == 233 && i == l.n, "list: under a prefix (%zu)", l.n);
	fakesb_listed_free(&l);

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
	fakesb_fault(&srv, "/object/list/data", "503", 2, NULL);
	fakesb_fault(&srv, "/object/list/data", "reset", 1, NULL);
	r = sb_storage_list(st, "data", "flat/", fakesb_listed_cb, &l, NULL, &err);
	ok(r == 0 && l.n == 1200, "list: retried through 503s and a reset");
	fakesb_listed_free(&l);
	fakesb_clear_faults(&srv);
	fakesb_fault(&srv, "/object/list/data", "503", -1, NULL);
	r = sb_storage_list(st, "data", "tree/", fakesb_listed_cb, &l, NULL, &err);
	ok(r == -EIO && strstr((const char *)err.data, "listing 'data/tree/"),
	   "list: a persistent failure names the folder (%s)", (const char *)err.data);
	fakesb_listed_free(&l);
	fakesb_clear_faults(&srv);
	/* Storage lists with a SQL function over storage.objects: a bucket
	 * that does not exist has no rows, not an error */
	r = sb_storage_list(st, "nobucket", "", fakesb_listed_cb, &l, NULL, &err);
	ok(r == 0 && l.n == 0, "list: a missing bucket lists as empty, as Storage answers");
	fakesb_listed_free(&l);
	col_release(&c);
	buf_release(&err);
	buf_release(&nm);
}

/* ---- ordered concurrent downloads ------------------------------------------------ */

struct ordered {
	size_t cur;		/* index being handed over */
	int in_obj;
	int disorder;
	struct fakesb_md5 m;
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
	fakesb_md5_init(&o->m);
	o->sizes[i] = 0;
	return 0;
}

static int ord_data(void *ctx, size_t i, const void *p, size_t n)
{
	struct ordered *o = ctx;

	if (i != o->cur || !o->in_obj)
		o->disorder++;
	fakesb_md5_add(&o->m, p, n);
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
		fakesb_md5_hex(&o->m, o->md5s[i]);
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
	fakesb_fault(&srv, "img/0[3-5]", "503", 3, NULL);
	fakesb_fault(&srv, "img/09", "reset", 1, "\"fraction\":0.3");
	fakesb_fault(&srv, "img/12", "short", 1, NULL);
	gets0 = fakesb_route(&srv, "storage.object.get");
	r = sb_storage_download_many(st, refs, N, 6, 16384, &sink, &err);
	fakesb_clear_faults(&srv);
	good = 0;
	for (i = 0; i < N; i++) {
		const char *want = json_get_str(fakesb_state_obj(state, "photos", names[i]), "md5");

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
	fakesb_fault(&srv, "img/20", "503", -1, NULL);
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
	fakesb_clear_faults(&srv);
	free(o.md5s);
	free(o.rcs);
	free(o.sizes);
	buf_release(&o.lasterr);
	buf_release(&err);
	buf_release(&j);
}

/* ---- the object info of many objects ------------------------------------------- */

struct infos {
	int *rcs;		/* by index; 1 = not answered */
	char **etags;
	int answers, twice, fatal;
	struct buf lasterr;
};

static int info_cb(void *ctx, size_t i, int rc,
		   const struct sb_storage_objinfo *info, const struct buf *err)
{
	struct infos *f = ctx;

	f->answers++;
	f->twice += f->rcs[i] != 1;
	f->rcs[i] = rc;
	if (rc == 0)
		f->etags[i] = info->etag ? strdup(info->etag) : NULL;
	if (rc < 0 && err) {
		buf_reset(&f->lasterr);
		buf_add(&f->lasterr, err->data, err->len);
	}
	return rc < 0 && f->fatal ? rc : 0;
}

static void infos_reset(struct infos *f, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		f->rcs[i] = 1;
		free(f->etags[i]);
		f->etags[i] = NULL;
	}
	f->answers = f->twice = 0;
}

/* The most requests of a route the server answered at once since the
 * last reset_stats. */
static int64_t max_concurrent(const char *route)
{
	struct buf out = BUF_INIT;
	struct json *j = NULL;
	int64_t v = -1;

	if (fakesb_control(&srv, "{\"op\":\"stats\"}", &out) == 200 &&
	    json_parse(&j, out.data, out.len, NULL) == 0 &&
	    json_int(json_get(json_get(j, "max_concurrent"), route), &v) < 0)
		v = 0;
	json_free(j);
	buf_release(&out);
	return v;
}

static void test_info_many(void)
{
	enum { N = 40 };
	struct sb_storage_ref refs[N];
	char names[N][32];
	struct infos f;
	struct buf err = BUF_INIT;
	size_t i, good = 0;
	long infos0;
	uint64_t t0;
	int r;

	memset(&f, 0, sizeof(f));
	f.rcs = calloc(N, sizeof(*f.rcs));
	f.etags = calloc(N, sizeof(*f.etags));
	buf_init(&f.lasterr, 0);
	for (i = 0; i < N; i++) {
		/* the objects test_ordered left, and one that does not exist */
		snprintf(names[i], sizeof(names[i]), i == 7 ? "img/none" : "img/%02zu.bin", i);
		refs[i].bucket = "photos";
		refs[i].name = names[i];
	}
	infos_reset(&f, N);
	fakesb_control(&srv, "{\"op\":\"reset_stats\"}", NULL);
	fakesb_fault(&srv, "/object/info/", "slow", -1, "\"delay\":0.1");
	infos0 = fakesb_route(&srv, "storage.object.info");
	t0 = fakesb_now_ms();
	r = sb_storage_info_many(st, refs, N, 5, info_cb, &f, &err);
	t0 = fakesb_now_ms() - t0;
	fakesb_clear_faults(&srv);
	for (i = 0; i < N; i++) {
		const char *want = json_get_str(fakesb_state_obj(state, "photos", names[i]),
						"eTag");

		if (i != 7 && f.rcs[i] == 0 && want && f.etags[i] && !strcmp(want, f.etags[i]))
			good++;
	}
	ok(r == 0 && f.answers == N && !f.twice && good == N - 1,
	   "info: %zu of %d answered once each, with the eTag listed", good, N - 1);
	ok(f.rcs[7] == -ENOENT && strstr((const char *)f.lasterr.data, "object 'photos/img/none'"),
	   "info: a missing object is -ENOENT, named (%s)", (const char *)f.lasterr.data);
	is_int(fakesb_route(&srv, "storage.object.info") - infos0, N, "info: one request each");
	is_int(max_concurrent("storage.object.info"), 5, "info: 5 in flight at most, and 5 at once");
	ok(t0 < (uint64_t)N * 100 / 2, "info: concurrent (%llu ms for %d answers of 100 ms)",
	   (unsigned long long)t0, N);

	/* a persistent fault: reported and skipped, or fatal */
	infos_reset(&f, N);
	fakesb_fault(&srv, "/object/info/authenticated/photos/img/20", "503", -1, NULL);
	r = sb_storage_info_many(st, refs, N, 4, info_cb, &f, &err);
	ok(r == 0 && f.answers == N && f.rcs[20] == -EIO && f.rcs[21] == 0 &&
	   strstr((const char *)f.lasterr.data, "object 'photos/img/20.bin'"),
	   "info: a lost answer is reported and the rest go on (%s)",
	   (const char *)f.lasterr.data);
	infos_reset(&f, N);
	f.fatal = 1;
	fakesb_fault(&srv, "/object/info/authenticated/photos/img/none", "slow", -1, NULL);
	r = sb_storage_info_many(st, refs, N, 4, info_cb, &f, &err);
	ok(r == -EIO && f.answers < N && strstr((const char *)err.data, "object 'photos/img/20.bin'"),
	   "info: a fatal callback stops the run after %d answers, naming the object (%s)",
	   f.answers, (const char *)err.data);
	fakesb_clear_faults(&srv);
	infos_reset(&f, N);
	ok(sb_storage_info_many(st, refs, 0, 4, info_cb, &f, &err) == 0 && f.answers == 0,
	   "info: nothing to ask");
	free(f.rcs);
	free(f.etags);
	buf_release(&f.lasterr);
	buf_release(&err);
}

/* ---- bulk delete ------------------------------------------------------------- */

static void test_delete(void)
{
	char **names = calloc(1500, sizeof(*names));
	struct fakesb_listed l = { 0 };
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
	r = sb_storage_list(st, "data", "flat/", fakesb_listed_cb, &l, NULL, &err);
	ok(r == 0 && l.n == 0, "delete: the folder is gone");
	fakesb_listed_free(&l);
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

int main(void)
{
	char md5[33];

	if (sodium_init() < 0)
		return 1;
	fakesb_md5_of("abc", 3, md5);
	ok(!strcmp(md5, "900150983cd24fb0d6963f7d28e17f72"), "md5 helper");
	if (fakesb_begin(&srv, NULL, "Storage") < 0)
		return done_testing();
	http = fakesb_http_new(8, 3, 0);
	ok(http && sb_storage_new(&st, http, srv.storage, KEY, NULL) == 0,
	   "storage client");
	sb_storage_set_page(st, 100);

	test_buckets();
	test_objects();
	test_errors();
	test_listing();
	test_ordered();
	test_info_many();
	test_delete();

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

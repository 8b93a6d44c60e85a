/*
 * test-sb-http: the layers under vault's Supabase code.
 *
 *  - sb-http helpers: URL encoding, name quoting, error descriptions.
 *  - sb-http against tests/fake-supabase.py: collected and streamed
 *    bodies; retries under 503, 500, 429 with Retry-After, a slow
 *    answer, a stall, a reset mid-body and a body shorter than its
 *    Content-Length (streamed bodies resume with Range and see each byte
 *    once); a persistent fault that gives up naming its target; a
 *    Retry-After too long to wait; Storage and gateway error bodies;
 *    concurrency within `jobs`; pause/resume and cancel.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sodium.h>

#include "buf.h"
#include "sb-http.h"
#include "../tap.h"
#include "../fakesb.h"

/* ---- helpers -------------------------------------------------------------- */

static void test_helpers(void)
{
	struct buf b = BUF_INIT;
	static const char weird[] = "a b/%/\xc3\xa9/../.\\/.";
	int r;

	ok(sb_http_escape(&b, "a b%/~._-\xc3\xa9", 11) == 0 &&
	   strcmp((const char *)b.data, "a%20b%25%2F~._-%C3%A9") == 0,
	   "escape: only unreserved characters stay");
	buf_reset(&b);
	ok(sb_http_escape_path(&b, weird, strlen(weird)) == 0 &&
	   strcmp((const char *)b.data, "a%20b/%25/%C3%A9/%2E%2E/.%5C/%2E") == 0,
	   "escape_path: segments encoded, dot segments as %%2E (%s)", (const char *)b.data);
	buf_reset(&b);
	ok(sb_http_escape_path(&b, "/lead//x/", 9) == 0 &&
	   strcmp((const char *)b.data, "/lead//x/") == 0,
	   "escape_path: empty segments kept");
	buf_reset(&b);
	ok(sb_http_quote_name(&b, "ok\xc3\xa9\n\x1b[31m\\\xff\xe2\x80\xae", 15) == 0 &&
	   strcmp((const char *)b.data, "ok\xc3\xa9\\x0a\\x1b[31m\\\\\\xff\\xe2\\x80\\xae") == 0,
	   "quote_name: controls, bad bytes and bidi overrides escaped (%s)",
	   (const char *)b.data);

	static const char sbody[] =
		"{\"statusCode\":\"404\",\"code\":\"NoSuchKey\",\"error\":\"not_found\","
		"\"message\":\"Object not found\"}";
	r = sb_http_describe(&b, "object 'b/x'", 400, sbody, strlen(sbody));
	ok(r == -ENOENT && strcmp((const char *)b.data,
				  "object 'b/x': HTTP 400 (404 not_found): Object not found") == 0,
	   "describe: Storage's 400-with-404 body (%s)", (const char *)b.data);
	r = sb_http_describe(&b, "function list", 401, "{\"message\":\"Unauthorized\"}", 26);
	ok(r == -EACCES && strcmp((const char *)b.data,
				  "function list: HTTP 401: Unauthorized") == 0,
	   "describe: Management API body");
	r = sb_http_describe(&b, "x", 502, "<html>\nbad gateway\n</html>",
			     strlen("<html>\nbad gateway\n</html>"));
	ok(r == -EIO && strstr((const char *)b.data, "HTTP 502: <html> bad gateway"),
	   "describe: a non-JSON body is shown bounded, on one line");
	{
		static const char dup[] = "{\"statusCode\":\"409\",\"error\":\"Duplicate\","
					  "\"message\":\"The resource already exists\"}";

		r = sb_http_describe(&b, "x", 400, dup, strlen(dup));
	}
	ok(r == -EEXIST, "describe: 409 inside a 400 is -EEXIST");
	buf_release(&b);
}

/* ---- against the server --------------------------------------------------- */

static struct fakesb srv;

static void put_object(const char *bucket, const char *name, size_t size)
{
	char json[512];

	snprintf(json, sizeof(json),
		 "{\"op\":\"put_objects\",\"bucket\":\"%s\",\"objects\":[{\"name\":\"%s\","
		 "\"size\":%zu,\"seed\":\"%s\",\"mimetype\":\"application/x-test\"}]}",
		 bucket, name, size, name);
	if (fakesb_control(&srv, json, NULL) != 200)
		diag("seeding %s failed", name);
}

/* The bytes the server generated for an object (its MD5 via state). */
static int server_md5(const char *bucket, const char *name, char md5[33])
{
	struct json *j = fakesb_state(&srv);
	const char *s = json_get_str(fakesb_state_obj(j, bucket, name), "md5");
	int ok_ = 0;

	if (s && strlen(s) == 32) {
		memcpy(md5, s, 33);
		ok_ = 1;
	}
	json_free(j);
	return ok_;
}

struct sink {
	unsigned char *data;
	size_t len, cap;
	int pause_every;
	int calls;
	struct sb_http_xfer *x;
	int responses;
	long status;
	const char *replace_on_first;	/* rewrite this object mid-download */
};

static int sink_response(void *ctx, const struct sb_http_resp *r)
{
	struct sink *s = ctx;

	s->responses++;
	s->status = r->status;
	return 0;
}

static int sink_data(void *ctx, const void *p, size_t n)
{
	struct sink *s = ctx;

	if (s->pause_every && ++s->calls % s->pause_every == 0) {
		sb_http_resume(s->x);	/* takes effect after the pause */
		return SB_HTTP_PAUSE;
	}
	if (s->replace_on_first && s->len == 0) {
		put_object("b1", s->replace_on_first, 1500000);
		s->replace_on_first = NULL;
	}
	if (s->len + n > s->cap) {
		size_t nc = (s->len + n) * 2;
		unsigned char *t = realloc(s->data, nc);

		if (!t)
			return -ENOMEM;
		s->data = t;
		s->cap = nc;
	}
	memcpy(s->data + s->len, p, n);
	s->len += n;
	return 0;
}

static int get_streamed(struct sb_http *h, const char *bucket, const char *name,
			struct sink *s, struct buf *err)
{
	const char *hdrs[] = { "apikey: service-role-test-key",
			       "Authorization: Bearer service-role-test-key", NULL };
	struct sb_http_req req = { 0 };
	struct sb_http_resp resp;
	struct buf url = BUF_INIT, what = BUF_INIT;
	int r;

	buf_addf(&url, "%s/object/authenticated/%s/", srv.storage, bucket);
	sb_http_escape_path(&url, name, strlen(name));
	buf_addf(&what, "object '%s/%s'", bucket, name);
	req.method = "GET";
	req.url = (const char *)url.data;
	req.headers = hdrs;
	req.what = (const char *)what.data;
	req.on_response = sink_response;
	req.on_data = sink_data;
	req.ctx = s;
	r = sb_http_do(h, &req, &resp, err);
	sb_http_resp_release(&resp);
	buf_release(&url);
	buf_release(&what);
	return r;
}

static int get_collected(struct sb_http *h, const char *path, const char *const *hdrs,
			 struct sb_http_resp *resp, struct buf *err)
{
	static const char *const def[] = { "apikey: service-role-test-key",
					   "Authorization: Bearer service-role-test-key",
					   NULL };
	struct sb_http_req req = { 0 };
	struct buf url = BUF_INIT;
	int r;

	buf_addf(&url, "%s%s", srv.storage, path);
	req.method = "GET";
	req.url = (const char *)url.data;
	req.headers = hdrs ? hdrs : def;
	req.what = path;
	r = sb_http_do(h, &req, resp, err);
	buf_release(&url);
	return r;
}

static void test_basic(struct sb_http *h)
{
	struct sb_http_resp resp;
	struct buf err = BUF_INIT;
	struct sink s = { 0 };
	char md5[33], want[33];
	struct sb_http_stats st0, st1;
	int r;

	put_object("b1", "dir/obj.bin", 300000);
	r = get_collected(h, "/object/authenticated/b1/dir/obj.bin", NULL, &resp, &err);
	fakesb_md5_of(resp.body.data, resp.body.len, md5);
	ok(r == 0 && resp.status == 200 && resp.body.len == 300000 &&
	   server_md5("b1", "dir/obj.bin", want) && strcmp(md5, want) == 0,
	   "http: collected body matches the object");
	ok(resp.etag && resp.etag[0] == '"' && strstr(resp.etag, want) &&
	   resp.content_type && strcmp(resp.content_type, "application/x-test") == 0 &&
	   resp.content_length == 300000 && resp.last_modified,
	   "http: ETag (quoted MD5), Content-Type, Content-Length, Last-Modified");
	sb_http_resp_release(&resp);

	sb_http_stats(h, &st0);
	r = get_streamed(h, "b1", "dir/obj.bin", &s, &err);
	fakesb_md5_of(s.data, s.len, md5);
	sb_http_stats(h, &st1);
	ok(r == 0 && s.len == 300000 && strcmp(md5, want) == 0 && s.responses == 1 &&
	   st1.attempts - st0.attempts == 1, "http: streamed body, one attempt");
	free(s.data);

	r = get_collected(h, "/object/authenticated/b1/missing", NULL, &resp, &err);
	ok(r == -ENOENT && strstr((const char *)err.data,
				  "HTTP 400 (404 not_found): Object not found"),
	   "http: a missing object is -ENOENT with Storage's message (%s)",
	   (const char *)err.data);
	sb_http_resp_release(&resp);

	static const char *const badkey[] = { "apikey: wrong", "Authorization: Bearer wrong", NULL };
	r = get_collected(h, "/bucket", badkey, &resp, &err);
	ok(r == -EACCES && strstr((const char *)err.data, "HTTP 401: Invalid API key") &&
	   !strstr((const char *)err.data, "wrong"),
	   "http: the gateway's 401, without the key in the message (%s)",
	   (const char *)err.data);
	sb_http_resp_release(&resp);
	static const char *const badjwt[] = { "apikey: service-role-test-key",
					      "Authorization: Bearer nope", NULL };
	r = get_collected(h, "/bucket", badjwt, &resp, &err);
	ok(r == -EACCES && strstr((const char *)err.data, "(403 Unauthorized): invalid signature"),
	   "http: Storage's 400-with-403 for a bad JWT (%s)", (const char *)err.data);
	sb_http_resp_release(&resp);
	buf_release(&err);
}

/* One fault kind on a streamed download: retried, resumed, exact bytes. */
static void fault_streamed(struct sb_http *h, const char *kind, int count,
			   const char *extra, const char *label)
{
	struct buf err = BUF_INIT;
	struct sink s = { 0 };
	struct sb_http_stats st0, st1;
	char md5[33], want[33];
	int r;

	fakesb_fault(&srv, "/object/authenticated/b1/big\\.bin", kind, count, extra);
	sb_http_stats(h, &st0);
	r = get_streamed(h, "b1", "big.bin", &s, &err);
	sb_http_stats(h, &st1);
	fakesb_md5_of(s.data, s.len, md5);
	ok(r == 0 && server_md5("b1", "big.bin", want) && strcmp(md5, want) == 0 &&
	   s.len == 2000000 && s.responses == 1,
	   "retry: %s: streamed bytes exact after %llu attempts (%s)", label,
	   (unsigned long long)(st1.attempts - st0.attempts),
	   r ? (const char *)err.data : "ok");
	ok(st1.attempts - st0.attempts == (uint64_t)count + 1,
	   "retry: %s: %d retries", label, count);
	fakesb_clear_faults(&srv);
	free(s.data);
	buf_release(&err);
}

static void test_retries(struct sb_http *h)
{
	struct sb_http_resp resp;
	struct buf err = BUF_INIT;
	struct sb_http_stats st0, st1;
	uint64_t t0, dt;
	long gets0;
	int r;

	put_object("b1", "big.bin", 2000000);
	fault_streamed(h, "503", 2, NULL, "503");
	fault_streamed(h, "500", 1, NULL, "500");
	fault_streamed(h, "reset", 2, "\"fraction\":0.4", "connection reset mid-body");
	fault_streamed(h, "short", 2, "\"fraction\":0.7", "body shorter than Content-Length");
	fault_streamed(h, "stall", 1, "\"fraction\":0.5,\"delay\":5", "stall mid-body");
	fault_streamed(h, "slow", 1, "\"delay\":4", "slow answer past the stall timeout");

	/* a slow answer within the limits is just slow */
	fakesb_fault(&srv, "/object/authenticated/b1/big", "slow", 1, "\"delay\":0.3");
	sb_http_stats(h, &st0);
	r = get_collected(h, "/object/authenticated/b1/big.bin", NULL, &resp, &err);
	sb_http_stats(h, &st1);
	ok(r == 0 && resp.body.len == 2000000 && st1.attempts - st0.attempts == 1,
	   "retry: a slow answer inside the timeout is not retried");
	sb_http_resp_release(&resp);
	fakesb_clear_faults(&srv);

	/* a collected body cut short is fetched again whole */
	fakesb_fault(&srv, "/object/authenticated/b1/big", "short", 1, NULL);
	r = get_collected(h, "/object/authenticated/b1/big.bin", NULL, &resp, &err);
	ok(r == 0 && resp.body.len == 2000000, "retry: collected body after a short read");
	sb_http_resp_release(&resp);
	fakesb_clear_faults(&srv);

	/* 429 with Retry-After: 1 is waited out */
	fakesb_fault(&srv, "/bucket", "429", 1, "\"retry_after\":1");
	t0 = fakesb_now_ms();
	r = get_collected(h, "/bucket", NULL, &resp, &err);
	dt = fakesb_now_ms() - t0;
	ok(r == 0 && resp.status == 200 && dt >= 950,
	   "retry: 429 honours Retry-After (waited %llu ms)", (unsigned long long)dt);
	sb_http_resp_release(&resp);
	fakesb_clear_faults(&srv);

	/* a persistent fault gives up and names the target */
	fakesb_fault(&srv, "/object/authenticated/b1/big", "503", -1, NULL);
	gets0 = fakesb_route(&srv, "storage.object.get");
	r = get_collected(h, "/object/authenticated/b1/big.bin", NULL, &resp, &err);
	ok(r == -EIO && strstr((const char *)err.data, "/object/authenticated/b1/big.bin") &&
	   strstr((const char *)err.data, "HTTP 503") &&
	   strstr((const char *)err.data, "gave up after 4 attempts"),
	   "retry: a persistent 503 fails naming the target (%s)", (const char *)err.data);
	ok(fakesb_route(&srv, "storage.object.get") - gets0 == 4,
	   "retry: 1 + 3 attempts reached the server");
	sb_http_resp_release(&resp);
	fakesb_clear_faults(&srv);

	fakesb_fault(&srv, "/object/authenticated/b1/big", "reset", -1, NULL);
	{
		struct sink s = { 0 };

		r = get_streamed(h, "b1", "big.bin", &s, &err);
		ok(r == -ECONNRESET && strstr((const char *)err.data, "object 'b1/big.bin'") &&
		   strstr((const char *)err.data, "gave up after 4 attempts"),
		   "retry: persistent resets fail naming the object (%s)",
		   (const char *)err.data);
		free(s.data);
	}
	fakesb_clear_faults(&srv);

	/* the object is replaced mid-download: resuming must not splice */
	put_object("b1", "chg.bin", 1000000);
	fakesb_fault(&srv, "/object/authenticated/b1/chg", "reset", 1, "\"fraction\":0.5");
	{
		struct sink s = { 0 };

		s.replace_on_first = "chg.bin";
		r = get_streamed(h, "b1", "chg.bin", &s, &err);
		ok(r == -ESTALE && strstr((const char *)err.data, "object 'b1/chg.bin'") &&
		   strstr((const char *)err.data, "changed on the server"),
		   "retry: an object replaced mid-download is -ESTALE (%s)",
		   (const char *)err.data);
		free(s.data);
	}
	fakesb_clear_faults(&srv);

	/* a Retry-After beyond what we wait fails at once */
	fakesb_fault(&srv, "/bucket", "429", 1, "\"retry_after\":100000");
	t0 = fakesb_now_ms();
	r = get_collected(h, "/bucket", NULL, &resp, &err);
	ok(r == -EAGAIN && fakesb_now_ms() - t0 < 2000 &&
	   strstr((const char *)err.data, "retry after 100000 s"),
	   "retry: an excessive Retry-After fails now (%s)", (const char *)err.data);
	sb_http_resp_release(&resp);
	fakesb_clear_faults(&srv);

	/* retries < 0: a single attempt */
	{
		struct sb_http *h1 = fakesb_http_new(2, -1, 2000);

		fakesb_fault(&srv, "/bucket", "503", 1, NULL);
		gets0 = fakesb_route(&srv, "storage.bucket.list");
		r = get_collected(h1, "/bucket", NULL, &resp, &err);
		ok(r == -EIO && fakesb_route(&srv, "storage.bucket.list") - gets0 == 1,
		   "retry: retries < 0 makes one attempt");
		sb_http_resp_release(&resp);
		sb_http_free(h1);
		fakesb_clear_faults(&srv);
	}

	/* 4xx other than 408/429 is not retried */
	sb_http_stats(h, &st0);
	r = get_collected(h, "/object/authenticated/b1/missing", NULL, &resp, &err);
	sb_http_stats(h, &st1);
	ok(r == -ENOENT && st1.attempts - st0.attempts == 1, "retry: a 404 is final");
	sb_http_resp_release(&resp);
	buf_release(&err);
}

struct conc {
	int done, failed;
	size_t bytes;
};

static int conc_data(void *ctx, const void *p, size_t n)
{
	((struct conc *)ctx)->bytes += n;
	return 0;
}

static void conc_done(void *ctx, struct sb_http_xfer *x, int rc,
		      const struct sb_http_resp *r, const struct buf *err)
{
	struct conc *c = ctx;

	c->done++;
	if (rc)
		c->failed++;
}

static void test_concurrency(void)
{
	const char *hdrs[] = { "apikey: service-role-test-key",
			       "Authorization: Bearer service-role-test-key", NULL };
	struct sb_http *h = fakesb_http_new(4, 3, 2000);
	struct sb_http_req req = { 0 };
	struct buf url = BUF_INIT, err = BUF_INIT;
	struct conc c = { 0 };
	uint64_t t0, dt;
	int i, r;

	/* 8 requests that each take 0.5 s: 4 at a time is ~1 s, not 4 s */
	fakesb_fault(&srv, "/object/authenticated/b1/dir/obj", "slow", 8, "\"delay\":0.5");
	buf_addf(&url, "%s/object/authenticated/b1/dir/obj.bin", srv.storage);
	req.method = "GET";
	req.url = (const char *)url.data;
	req.headers = hdrs;
	req.on_data = conc_data;
	req.on_done = conc_done;
	req.ctx = &c;
	for (i = 0; i < 8; i++)
		sb_http_submit(h, &req, NULL, NULL);
	t0 = fakesb_now_ms();
	r = sb_http_run(h, &err);
	dt = fakesb_now_ms() - t0;
	ok(r == 0 && c.done == 8 && c.failed == 0 && c.bytes == 8 * 300000,
	   "concurrency: 8 transfers done");
	ok(dt >= 900 && dt < 3500, "concurrency: 4 at a time (%llu ms for 8 x 0.5 s)",
	   (unsigned long long)dt);
	fakesb_clear_faults(&srv);

	/* pause and resume: every 3rd chunk pauses, bytes still exact */
	{
		struct sink s = { 0 };
		char md5[33], want[33];

		s.pause_every = 3;
		req.on_response = sink_response;
		req.on_data = sink_data;
		req.on_done = NULL;
		req.ctx = &s;
		buf_reset(&url);
		buf_addf(&url, "%s/object/authenticated/b1/big.bin", srv.storage);
		req.url = (const char *)url.data;
		sb_http_submit(h, &req, &s.x, NULL);
		r = sb_http_run(h, &err);
		fakesb_md5_of(s.data, s.len, md5);
		ok(r == 0 && s.len == 2000000 && server_md5("b1", "big.bin", want) &&
		   strcmp(md5, want) == 0 && s.calls >= 3,
		   "pause: paused %d times, bytes exact", s.calls / 3);
		free(s.data);
	}
	/* a transfer paused with nobody to resume it is reported */
	{
		struct sink s = { 0 };

		s.pause_every = 1;
		req.ctx = &s;
		sb_http_submit(h, &req, NULL, NULL);
		r = sb_http_run(h, &err);
		ok(r == -EDEADLK, "pause: a pause nobody can lift is -EDEADLK");
		sb_http_free(h);
		free(s.data);
	}
	/* cancel */
	{
		struct sb_http_xfer *x = NULL;

		h = fakesb_http_new(2, 3, 2000);
		memset(&c, 0, sizeof(c));
		req.on_response = NULL;
		req.on_data = conc_data;
		req.on_done = conc_done;
		req.ctx = &c;
		fakesb_fault(&srv, "/object/authenticated/b1/big", "slow", 1, "\"delay\":0.5");
		sb_http_submit(h, &req, &x, NULL);
		sb_http_cancel(x);
		r = sb_http_run(h, &err);
		ok(r == 0 && c.done == 1 && c.failed == 1, "cancel: finishes with an error");
		fakesb_clear_faults(&srv);
	}
	sb_http_free(h);
	buf_release(&url);
	buf_release(&err);
}

int main(void)
{
	struct sb_http *h;
	char md5[33];

	if (sodium_init() < 0)
		return 1;
	fakesb_md5_of("abc", 3, md5);
	ok(strcmp(md5, "900150983cd24fb0d6963f7d28e17f72") == 0, "md5 helper works");
	test_helpers();

	if (fakesb_begin(&srv, NULL, "HTTP") < 0)
		return done_testing();
	h = fakesb_http_new(8, 3, 2000);
	ok(h != NULL, "http client");
	if (h) {
		test_basic(h);
		test_retries(h);
		sb_http_free(h);
	}
	test_concurrency();
	fakesb_stop(&srv);
	return done_testing();
}

/*
 * test-sb-functions: sb-functions (Edge Functions through the Management
 * API) against tests/fake-supabase.py: deploy, list, body (multipart),
 * redeploy, unknown slug, bad token, unsafe names, pacing under the rate
 * limit and 429 + Retry-After.
 *
 * Then a second server seeded from a directory (the way the CLI
 * scenarios build theirs), read back through both the Storage and the
 * Functions clients.
 */
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sodium.h>

#include "buf.h"
#include "sb-functions.h"
#include "sb-http.h"
#include "json.h"
#include "sb-storage.h"
#include "../tap.h"
#include "../fakesb.h"

#define TOKEN "sbp_test_access_token"
#define REF "abcdefghijklmnopqrst"

static struct fakesb srv;
static struct sb_http *http;

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
	t0 = fakesb_now_ms();
	for (i = 0, r = 0; i < 12 && r == 0; i++) {
		r = sb_functions_list(f, &fns, &n, &err);
		sb_functions_items_free(fns, n);
	}
	dt = fakesb_now_ms() - t0;
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

/* Creates dir/rel: a directory when text is NULL, else a file of text. */
static void seed_put(const char *dir, const char *rel, const char *text)
{
	char p[4200];
	FILE *fp;

	snprintf(p, sizeof(p), "%s/%s", dir, rel);
	if (!text) {
		mkdir(p, 0700);
		return;
	}
	fp = fopen(p, "w");
	if (fp) {
		fputs(text, fp);
		fclose(fp);
	}
}

static void test_seeded(void)
{
	char dir[] = "/tmp/vault-test-sbseed-XXXXXX";
	const char *args[] = { "--seed", dir, "--access-token", "tok2",
			       "--project-ref", "seedref", "--service-key", "k2", NULL };
	struct fakesb s2;
	struct sb_storage *st2 = NULL;
	struct sb_functions *f2 = NULL;
	struct sb_functions_item *fns = NULL;
	struct sb_storage_bucket *bs = NULL;
	struct fakesb_listed l = { 0 };
	struct fnfiles got = { 0 };
	struct buf err = BUF_INIT;
	size_t n = 0, nb = 0;
	int r;

	if (!mkdtemp(dir)) {
		ok(0, "seed: temporary directory");
		return;
	}
	seed_put(dir, "storage", NULL);
	seed_put(dir, "storage/pics", NULL);
	seed_put(dir, "storage/pics/2024", NULL);
	seed_put(dir, "storage/pics/2024/a.txt", "aaa");
	seed_put(dir, "storage/pics.bucket.json",
		 "{\"public\":true,\"file_size_limit\":\"5MB\"}");
	seed_put(dir, "objects.jsonl",
		 "{\"bucket\":\"pics\",\"name\":\"../odd\\u0001\",\"data\":\"zz\"}\n");
	seed_put(dir, "functions", NULL);
	seed_put(dir, "functions/fn1", NULL);
	seed_put(dir, "functions/fn1/index.ts", "export {};\n");
	seed_put(dir, "functions/fn1.function.json",
		 "{\"name\":\"Fn One\",\"verify_jwt\":false}");

	r = fakesb_start(&s2, args);
	ok(r == 0, "seed: a second server from a directory");
	if (r == 0) {
		sb_storage_new(&st2, http, s2.storage, "k2", NULL);
		r = sb_storage_buckets(st2, &bs, &nb, &err);
		ok(r == 0 && nb == 1 && !strcmp(bs[0].id, "pics") && bs[0].is_public &&
		   bs[0].file_size_limit == 5 << 20, "seed: the bucket and its configuration");
		sb_storage_buckets_free(bs, nb);
		r = sb_storage_list(st2, "pics", "", fakesb_listed_cb, &l, NULL, &err);
		qsort(l.names, l.n, sizeof(*l.names), fakesb_cmpstr);
		ok(r == 0 && l.n == 2 && !strcmp(l.names[0], "../odd\x01") &&
		   !strcmp(l.names[1], "2024/a.txt"), "seed: files and objects.jsonl entries");
		fakesb_listed_free(&l);
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

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	if (fakesb_begin(&srv, NULL, "Edge Functions") < 0)
		return done_testing();
	http = fakesb_http_new(8, 3, 0);
	if (ok(http != NULL, "http client")) {
		test_functions();
		test_seeded();
	}
	sb_http_free(http);
	fakesb_stop(&srv);
	return done_testing();
}

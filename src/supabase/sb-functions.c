/*
 * sb-functions: Edge Functions through the Management API: listing,
 * multipart bodies, multipart deploys, and the request pacing.  See
 * sb-functions.h.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sodium.h>

#include "sb-functions.h"
#include "json.h"
#include "sb-multipart.h"

struct sb_functions {
	struct sb_http *h;
	char *api_url;
	char *ref;
	char *hdr_auth;
	unsigned rate;
	unsigned window_ms;
	uint64_t *stamps;	/* ring of the last `rate` request times */
	size_t nstamps, pos;
	uint64_t requests, paced_ms;
};

static uint64_t sb_functions_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

int sb_functions_new(struct sb_functions **fp, struct sb_http *h,
		     const char *api_url, const char *access_token,
		     const char *project_ref, struct buf *err)
{
	struct sb_functions *f;
	const char *c;
	size_t n;

	*fp = NULL;
	if (!api_url || !*api_url || !access_token || !*access_token ||
	    !project_ref || !*project_ref) {
		buf_seterr(err, "Edge Functions need SUPABASE_ACCESS_TOKEN and "
		    "SUPABASE_PROJECT_REF");
		return -EINVAL;
	}
	for (c = access_token; *c; c++)
		if ((unsigned char)*c < 0x21 || *c == 0x7f) {
			buf_seterr(err, "the access token holds spaces or control characters");
			return -EINVAL;
		}
	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	f->h = h;
	f->api_url = strdup(api_url);
	f->ref = strdup(project_ref);
	n = strlen(access_token) + 32;
	f->hdr_auth = malloc(n);
	if (!f->api_url || !f->ref || !f->hdr_auth) {
		sb_functions_free(f);
		return -ENOMEM;
	}
	snprintf(f->hdr_auth, n, "Authorization: Bearer %s", access_token);
	n = strlen(f->api_url);
	while (n && f->api_url[n - 1] == '/')
		f->api_url[--n] = '\0';
	sb_functions_set_rate(f, SB_FUNCTIONS_RATE, SB_FUNCTIONS_WINDOW_MS);
	if (!f->stamps) {
		sb_functions_free(f);
		return -ENOMEM;
	}
	*fp = f;
	return 0;
}

void sb_functions_free(struct sb_functions *f)
{
	if (!f)
		return;
	if (f->hdr_auth) {
		sodium_memzero(f->hdr_auth, strlen(f->hdr_auth));
		free(f->hdr_auth);
	}
	free(f->api_url);
	free(f->ref);
	free(f->stamps);
	free(f);
}

void sb_functions_set_rate(struct sb_functions *f, unsigned requests,
			   unsigned window_ms)
{
	uint64_t *s;

	if (!requests)
		requests = SB_FUNCTIONS_RATE;
	s = calloc(requests, sizeof(*s));
	if (!s)
		return;		/* keep the old pace */
	free(f->stamps);
	f->stamps = s;
	f->rate = requests;
	f->window_ms = window_ms;
	f->nstamps = 0;
	f->pos = 0;
}

void sb_functions_counters(const struct sb_functions *f, uint64_t *requests,
			   uint64_t *paced_ms)
{
	if (requests)
		*requests = f->requests;
	if (paced_ms)
		*paced_ms = f->paced_ms;
}

/*
 * Waits until one more request keeps every window within the rate.  The
 * window is stretched by 5%: the server stamps requests when they arrive,
 * and network jitter must not make two of our windows look like one of
 * its.
 */
static void sb_functions_pace(struct sb_functions *f)
{
	uint64_t now = sb_functions_now_ms(), oldest, wait, win;
	struct timespec ts;

	win = f->window_ms + f->window_ms / 20;
	if (f->nstamps == f->rate) {
		oldest = f->stamps[f->pos];	/* the ring's oldest entry */
		if (now < oldest + win) {
			wait = oldest + win - now;
			ts.tv_sec = (time_t)(wait / 1000);
			ts.tv_nsec = (long)(wait % 1000) * 1000000L;
			while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
				;
			f->paced_ms += wait;
			now = sb_functions_now_ms();
		}
	}
	f->stamps[f->pos] = now;
	f->pos = (f->pos + 1) % f->rate;
	if (f->nstamps < f->rate)
		f->nstamps++;
	f->requests++;
}

/* ---- names ------------------------------------------------------------------ */

int sb_functions_relname(const char *path, struct buf *out)
{
	const char *p = path, *slash, *seg;
	size_t n, sl;

	buf_reset(out);
	if (strncmp(p, "file://", 7) == 0)
		p += 7;
	/* the deployment directory the API serves files from */
	if (strncmp(p, "/tmp/user_fn_", 13) == 0) {
		slash = strchr(p + 13, '/');
		if (!slash)
			return -EBADMSG;
		p = slash + 1;
		if (strncmp(p, "source/", 7) == 0)
			p += 7;
	}
	n = strlen(p);
	if (n == 0 || n > 4096 || p[0] == '/')
		return -EBADMSG;
	for (seg = p; ; seg = slash + 1) {
		slash = strchr(seg, '/');
		sl = slash ? (size_t)(slash - seg) : strlen(seg);
		if (sl == 0 || (sl == 1 && seg[0] == '.') ||
		    (sl == 2 && seg[0] == '.' && seg[1] == '.'))
			return -EBADMSG;
		if (!slash)
			break;
	}
	for (seg = p; *seg; seg++)
		if ((unsigned char)*seg < 0x20 || *seg == 0x7f || *seg == '\\')
			return -EBADMSG;
	return buf_add(out, p, n);
}

/* ---- functions -------------------------------------------------------------- */

void sb_functions_item_release(struct sb_functions_item *fn)
{
	if (!fn)
		return;
	free(fn->id);
	free(fn->slug);
	free(fn->name);
	free(fn->status);
	free(fn->entrypoint_path);
	free(fn->import_map_path);
	free(fn->json);
	memset(fn, 0, sizeof(*fn));
}

void sb_functions_items_free(struct sb_functions_item *fns, size_t n)
{
	size_t i;

	if (!fns)
		return;
	for (i = 0; i < n; i++)
		sb_functions_item_release(&fns[i]);
	free(fns);
}

static char *sb_functions_path(const struct json *j, const char *key, int *bad)
{
	struct buf rel = BUF_INIT;
	const char *s = json_get_str(j, key);
	char *d;
	int r;

	if (!s || !*s)
		return NULL;
	r = sb_functions_relname(s, &rel);
	if (r < 0) {
		*bad = r;
		buf_release(&rel);
		return NULL;
	}
	d = buf_detach(&rel, NULL);
	if (!d)
		*bad = -ENOMEM;
	return d;
}

static int sb_functions_from_json(struct sb_functions_item *fn, const struct json *j)
{
	struct buf t = BUF_INIT;
	int bad = 0, vj;

	memset(fn, 0, sizeof(*fn));
	if (json_type(j) != JSON_OBJECT || !json_get_str(j, "slug"))
		return -EBADMSG;
	fn->id = json_get_strdup(j, "id", &bad);
	fn->slug = json_get_strdup(j, "slug", &bad);
	fn->name = json_get_strdup(j, "name", &bad);
	fn->status = json_get_strdup(j, "status", &bad);
	if (json_int(json_get(j, "version"), &fn->version) < 0)
		fn->version = 0;
	vj = json_bool(json_get(j, "verify_jwt"));
	fn->verify_jwt = vj < 0 ? 1 : vj;
	if (json_int(json_get(j, "created_at"), &fn->created_at) < 0)
		fn->created_at = -1;
	if (json_int(json_get(j, "updated_at"), &fn->updated_at) < 0)
		fn->updated_at = -1;
	fn->entrypoint_path = sb_functions_path(j, "entrypoint_path", &bad);
	fn->import_map_path = sb_functions_path(j, "import_map_path", &bad);
	if (!bad && (json_write(&t, j) < 0 || !(fn->json = buf_detach(&t, NULL))))
		bad = -ENOMEM;
	buf_release(&t);
	if (bad) {
		sb_functions_item_release(fn);
		return bad;
	}
	return 0;
}

/* "function 'slug'" */
static int sb_functions_what(struct buf *w, const char *slug)
{
	int r;

	buf_reset(w);
	r = buf_addstr(w, "function '");
	if (r == 0)
		r = sb_http_quote_name(w, slug, strlen(slug));
	if (r == 0)
		r = buf_addch(w, '\'');
	return r;
}

static int sb_functions_url(const struct sb_functions *f, struct buf *u,
		     const char *slug, const char *tail)
{
	int r;

	buf_reset(u);
	r = buf_addf(u, "%s/v1/projects/", f->api_url);
	if (r == 0)
		r = sb_http_escape(u, f->ref, strlen(f->ref));
	if (r == 0)
		r = buf_addstr(u, "/functions");
	if (r == 0 && slug) {
		r = buf_addch(u, '/');
		if (r == 0)
			r = sb_http_escape(u, slug, strlen(slug));
	}
	if (r == 0 && tail)
		r = buf_addstr(u, tail);
	return r;
}

int sb_functions_list(struct sb_functions *f, struct sb_functions_item **out,
		      size_t *n, struct buf *err)
{
	const char *hdrs[] = { f->hdr_auth, "Accept: application/json", NULL };
	struct sb_http_req req = { 0 };
	struct sb_http_resp resp;
	struct buf url = BUF_INIT, perr = BUF_INIT;
	struct json *j = NULL;
	struct sb_functions_item *fns = NULL;
	size_t i, cnt = 0;
	int r;

	*out = NULL;
	*n = 0;
	r = sb_functions_url(f, &url, NULL, NULL);
	if (r < 0)
		goto out;
	req.method = "GET";
	req.url = (const char *)url.data;
	req.headers = hdrs;
	req.what = "function list";
	sb_functions_pace(f);
	r = sb_http_do(f->h, &req, &resp, err);
	if (r == 0 && (json_parse(&j, resp.body.data, resp.body.len, &perr) < 0 ||
		       json_type(j) != JSON_ARRAY)) {
		buf_seterr(err, "function list: unexpected answer (%s)",
		    perr.len ? (const char *)perr.data : "not an array");
		r = -EBADMSG;
	}
	sb_http_resp_release(&resp);
	if (r < 0)
		goto out;
	cnt = json_len(j);
	fns = calloc(cnt ? cnt : 1, sizeof(*fns));
	if (!fns) {
		r = -ENOMEM;
		goto out;
	}
	for (i = 0; i < cnt; i++) {
		r = sb_functions_from_json(&fns[i], json_at(j, i));
		if (r < 0) {
			buf_seterr(err, "function list: entry %zu is malformed%s", i,
			    r == -EBADMSG ? " or names an unsafe path" : "");
			sb_functions_items_free(fns, i);
			fns = NULL;
			goto out;
		}
	}
	*out = fns;
	*n = cnt;
out:
	json_free(j);
	buf_release(&url);
	buf_release(&perr);
	return r;
}

struct sb_functions_bodyctx {
	sb_functions_file_fn cb;
	void *ctx;
	struct buf *metadata;
	const char *what;
	struct buf *err;
	struct buf rel;
	int seen_meta;
};

static int sb_functions_body_part(void *ctx, const struct sb_multipart_part *p)
{
	struct sb_functions_bodyctx *b = ctx;
	int r;

	if (!p->filename) {
		/* the metadata part (a form field without a file name) */
		if (p->name && strcmp(p->name, "metadata") == 0 && !b->seen_meta) {
			b->seen_meta = 1;
			if (b->metadata) {
				buf_reset(b->metadata);
				return buf_add(b->metadata, p->data, p->len);
			}
		}
		return 0;
	}
	r = sb_functions_relname(p->filename, &b->rel);
	if (r < 0) {
		buf_seterr(b->err, "%s: the body holds an unsafe file name '", b->what);
		if (b->err) {
			sb_http_quote_name(b->err, p->filename, strlen(p->filename));
			buf_addch(b->err, '\'');
		}
		return -EBADMSG;
	}
	r = b->cb(b->ctx, (const char *)b->rel.data, p->data, p->len);
	if (r) {
		buf_seterr(b->err, "%s: stopped by the caller", b->what);
		return r < 0 ? r : -ECANCELED;
	}
	return 0;
}

int sb_functions_body(struct sb_functions *f, const char *slug,
		      sb_functions_file_fn cb, void *ctx, struct buf *metadata,
		      struct buf *err)
{
	const char *hdrs[] = { f->hdr_auth, "Accept: multipart/form-data", NULL };
	struct sb_http_req req = { 0 };
	struct sb_http_resp resp;
	struct buf url = BUF_INIT, what = BUF_INIT, bnd = BUF_INIT, perr = BUF_INIT;
	struct sb_functions_bodyctx b;
	int r;

	memset(&b, 0, sizeof(b));
	r = sb_functions_url(f, &url, slug, "/body");
	if (r == 0)
		r = sb_functions_what(&what, slug);
	if (r < 0)
		goto out;
	req.method = "GET";
	req.url = (const char *)url.data;
	req.headers = hdrs;
	req.what = (const char *)what.data;
	req.max_body = SB_FUNCTIONS_MAX_BODY;
	sb_functions_pace(f);
	r = sb_http_do(f->h, &req, &resp, err);
	if (r < 0)
		goto done;
	if (sb_multipart_boundary(resp.content_type, &bnd) < 0) {
		buf_seterr(err, "%s: the body is not multipart/form-data",
		    (const char *)what.data);
		r = -EBADMSG;
		goto done;
	}
	b.cb = cb;
	b.ctx = ctx;
	b.metadata = metadata;
	b.what = (const char *)what.data;
	b.err = err;
	buf_init(&b.rel, 0);
	r = sb_multipart_parse(resp.body.data, resp.body.len, (const char *)bnd.data,
			       SB_FUNCTIONS_MAX_FILES, sb_functions_body_part, &b, &perr);
	if (r < 0 && perr.len)
		buf_seterr(err, "%s: %s", (const char *)what.data, (const char *)perr.data);
	if (r == -E2BIG)
		r = -EBADMSG;
	buf_release(&b.rel);
done:
	sb_http_resp_release(&resp);
out:
	buf_release(&url);
	buf_release(&what);
	buf_release(&bnd);
	buf_release(&perr);
	return r;
}

static const char *sb_functions_ctype(const char *name)
{
	const char *dot = strrchr(name, '.');

	if (!dot)
		return "application/octet-stream";
	if (!strcmp(dot, ".ts") || !strcmp(dot, ".tsx") || !strcmp(dot, ".mts"))
		return "application/typescript";
	if (!strcmp(dot, ".js") || !strcmp(dot, ".mjs") || !strcmp(dot, ".jsx"))
		return "application/javascript";
	if (!strcmp(dot, ".json"))
		return "application/json";
	return "application/octet-stream";
}

int sb_functions_deploy(struct sb_functions *f, const struct sb_functions_deploy_req *d,
			struct sb_functions_item *out, struct buf *err)
{
	char boundary[SB_MULTIPART_MAX_BOUNDARY + 1];
	struct buf url = BUF_INIT, what = BUF_INIT, meta = BUF_INIT, body = BUF_INIT;
	struct buf ct = BUF_INIT, rel = BUF_INIT, perr = BUF_INIT;
	const char *hdrs[4];
	struct sb_http_req req = { 0 };
	struct sb_http_resp resp;
	struct json *j = NULL;
	size_t i;
	int r, found = 0;

	if (out)
		memset(out, 0, sizeof(*out));
	if (!d->slug || !*d->slug || !d->entrypoint_path || !d->nfiles) {
		buf_seterr(err, "a deploy needs a slug, an entrypoint and files");
		return -EINVAL;
	}
	r = sb_functions_what(&what, d->slug);
	if (r < 0)
		goto out;
	for (i = 0; i < d->nfiles; i++) {
		if (sb_functions_relname(d->files[i].name, &rel) < 0 ||
		    strcmp((const char *)rel.data, d->files[i].name) != 0) {
			buf_seterr(err, "%s: unsafe file name '", (const char *)what.data);
			if (err) {
				sb_http_quote_name(err, d->files[i].name, strlen(d->files[i].name));
				buf_addch(err, '\'');
			}
			r = -EINVAL;
			goto out;
		}
		if (strcmp(d->files[i].name, d->entrypoint_path) == 0)
			found = 1;
	}
	if (!found) {
		buf_seterr(err, "%s: the entrypoint is not among the files",
		    (const char *)what.data);
		r = -EINVAL;
		goto out;
	}
	/* the metadata part */
	r = buf_addstr(&meta, "{\"entrypoint_path\":");
	if (r == 0)
		r = json_quote(&meta, d->entrypoint_path, strlen(d->entrypoint_path));
	if (r == 0 && d->import_map_path) {
		r = buf_addstr(&meta, ",\"import_map_path\":");
		if (r == 0)
			r = json_quote(&meta, d->import_map_path, strlen(d->import_map_path));
	}
	if (r == 0) {
		const char *nm = d->name ? d->name : d->slug;

		r = buf_addstr(&meta, ",\"name\":");
		if (r == 0)
			r = json_quote(&meta, nm, strlen(nm));
	}
	if (r == 0)
		r = buf_addf(&meta, ",\"verify_jwt\":%s}", d->verify_jwt ? "true" : "false");
	sb_multipart_new_boundary(boundary);
	if (r == 0)
		r = sb_multipart_add(&body, boundary, "metadata", NULL, "application/json",
				     meta.data, meta.len);
	for (i = 0; r == 0 && i < d->nfiles; i++)
		r = sb_multipart_add(&body, boundary, "file", d->files[i].name,
				     sb_functions_ctype(d->files[i].name), d->files[i].data,
				     d->files[i].len);
	if (r == 0)
		r = sb_multipart_finish(&body, boundary);
	if (r == 0)
		r = buf_addf(&ct, "Content-Type: multipart/form-data; boundary=%s", boundary);
	if (r == 0)
		r = sb_functions_url(f, &url, NULL, "/deploy?slug=");
	if (r == 0)
		r = sb_http_escape(&url, d->slug, strlen(d->slug));
	if (r < 0) {
		if (r == -EILSEQ || r == -EINVAL)
			buf_seterr(err, "%s: names must be UTF-8 without control characters",
			    (const char *)what.data);
		r = r == -EILSEQ ? -EINVAL : r;
		goto out;
	}
	hdrs[0] = f->hdr_auth;
	hdrs[1] = (const char *)ct.data;
	hdrs[2] = "Accept: application/json";
	hdrs[3] = NULL;
	req.method = "POST";
	req.url = (const char *)url.data;
	req.headers = hdrs;
	req.body = body.data;
	req.body_len = body.len;
	req.what = (const char *)what.data;
	sb_functions_pace(f);
	r = sb_http_do(f->h, &req, &resp, err);
	if (r == 0 && out) {
		if (json_parse(&j, resp.body.data, resp.body.len, &perr) < 0 ||
		    sb_functions_from_json(out, j) < 0) {
			buf_seterr(err, "%s: unexpected answer to the deploy",
			    (const char *)what.data);
			r = -EBADMSG;
		}
	}
	sb_http_resp_release(&resp);
out:
	json_free(j);
	buf_release(&url);
	buf_release(&what);
	buf_release(&meta);
	buf_release(&body);
	buf_release(&ct);
	buf_release(&rel);
	buf_release(&perr);
	return r;
}

int sb_functions_delete(struct sb_functions *f, const char *slug, struct buf *err)
{
	struct buf url = BUF_INIT, what = BUF_INIT;
	const char *hdrs[3];
	struct sb_http_req req = { 0 };
	struct sb_http_resp resp;
	int r;

	if (!slug || !*slug) {
		buf_seterr(err, "a delete needs a slug");
		return -EINVAL;
	}
	r = sb_functions_what(&what, slug);
	if (r == 0)
		r = sb_functions_url(f, &url, slug, NULL);
	if (r < 0) {
		if (r == -EILSEQ || r == -EINVAL)
			buf_seterr(err, "function slugs must be UTF-8 without control characters");
		r = r == -EILSEQ ? -EINVAL : r;
		goto out;
	}
	hdrs[0] = f->hdr_auth;
	hdrs[1] = "Accept: application/json";
	hdrs[2] = NULL;
	req.method = "DELETE";
	req.url = (const char *)url.data;
	req.headers = hdrs;
	req.what = (const char *)what.data;
	sb_functions_pace(f);
	r = sb_http_do(f->h, &req, &resp, err);
	if (r == 0)
		sb_http_resp_release(&resp);
out:
	buf_release(&url);
	buf_release(&what);
	return r;
}

/* a JSON string, or null */
static int sb_functions_json_opt(struct buf *out, const char *s)
{
	return s ? json_quote(out, s, strlen(s)) : buf_addstr(out, "null");
}

int sb_functions_item_json(const struct sb_functions_item *it, struct buf *out)
{
	const char *nm = it->name ? it->name : it->slug;
	int r = buf_addstr(out, "{\"slug\": ");

	if (r == 0)
		r = json_quote(out, it->slug, strlen(it->slug));
	if (r == 0)
		r = buf_addstr(out, ", \"name\": ");
	if (r == 0)
		r = json_quote(out, nm, strlen(nm));
	if (r == 0)
		r = buf_addf(out, ", \"version\": %lld, \"verify_jwt\": %s, \"entrypoint_path\": ",
			     (long long)it->version, it->verify_jwt ? "true" : "false");
	if (r == 0)
		r = sb_functions_json_opt(out, it->entrypoint_path);
	if (r == 0)
		r = buf_addstr(out, ", \"import_map_path\": ");
	if (r == 0)
		r = sb_functions_json_opt(out, it->import_map_path);
	return r ? r : buf_addstr(out, "}\n");
}

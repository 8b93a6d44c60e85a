/*
 * sb-storage: the Storage client itself: the service key turned into
 * the two request headers (and wiped on free), the URLs and the names in
 * messages, and one JSON request.  See sb-storage.h for the API and
 * sb-storage-int.h for how its parts fit together.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "sb-storage-int.h"

static void sb_storage_wipe(char *s)
{
	if (s) {
		sodium_memzero(s, strlen(s));
		free(s);
	}
}

void sb_storage_copyerr(struct buf *err, const struct buf *from)
{
	if (!err || !from || err == from)
		return;
	buf_reset(err);
	buf_add(err, from->data, from->len);
}

int sb_storage_new(struct sb_storage **stp, struct sb_http *h, const char *url,
		   const char *service_key, struct buf *err)
{
	struct sb_storage *st;
	size_t n, i;

	*stp = NULL;
	if (!url || !*url || !service_key || !*service_key) {
		buf_seterr(err, "Storage needs a URL and a service role key");
		return -EINVAL;
	}
	for (i = 0; service_key[i]; i++)
		if ((unsigned char)service_key[i] < 0x21 || service_key[i] == 0x7f) {
			buf_seterr(err, "the service role key holds spaces or control characters");
			return -EINVAL;
		}
	st = calloc(1, sizeof(*st));
	if (!st)
		return -ENOMEM;
	st->h = h;
	st->page = SB_STORAGE_PAGE;
	st->url = strdup(url);
	n = strlen(service_key) + 32;
	st->hdr_apikey = malloc(n);
	st->hdr_auth = malloc(n);
	if (!st->url || !st->hdr_apikey || !st->hdr_auth) {
		sb_storage_free(st);
		return -ENOMEM;
	}
	snprintf(st->hdr_apikey, n, "apikey: %s", service_key);
	snprintf(st->hdr_auth, n, "Authorization: Bearer %s", service_key);
	st->hdrs[0] = st->hdr_apikey;
	st->hdrs[1] = st->hdr_auth;
	n = strlen(st->url);
	while (n > 0 && st->url[n - 1] == '/')
		st->url[--n] = '\0';
	*stp = st;
	return 0;
}

void sb_storage_free(struct sb_storage *st)
{
	if (!st)
		return;
	free(st->url);
	sb_storage_wipe(st->hdr_apikey);
	sb_storage_wipe(st->hdr_auth);
	free(st);
}

void sb_storage_set_page(struct sb_storage *st, unsigned limit)
{
	st->page = limit ? limit : SB_STORAGE_PAGE;
}

/* "object 'bucket/name'" for messages. */
int sb_storage_what(struct buf *w, const char *kind, const char *bucket,
		    const char *name)
{
	int r;

	buf_reset(w);
	r = buf_addf(w, "%s '", kind);
	if (r == 0)
		r = sb_http_quote_name(w, bucket, strlen(bucket));
	if (r == 0 && name) {
		r = buf_addch(w, '/');
		if (r == 0)
			r = sb_http_quote_name(w, name, strlen(name));
	}
	if (r == 0)
		r = buf_addch(w, '\'');
	return r;
}

/* url + mid + escaped bucket [+ '/' + escaped name] */
int sb_storage_url(const struct sb_storage *st, struct buf *u,
		   const char *mid, const char *bucket, const char *name)
{
	int r;

	buf_reset(u);
	r = buf_addf(u, "%s%s", st->url, mid);
	if (r == 0 && bucket)
		r = sb_http_escape(u, bucket, strlen(bucket));
	if (r == 0 && name) {
		r = buf_addch(u, '/');
		if (r == 0)
			r = sb_http_escape_path(u, name, strlen(name));
	}
	return r;
}

int sb_storage_get_req(struct sb_storage *st, struct sb_http_req *req,
		       const char *mid, const char *bucket, const char *name,
		       struct buf *url, struct buf *what)
{
	int r = sb_storage_url(st, url, mid, bucket, name);

	if (r == 0)
		r = sb_storage_what(what, "object", bucket, name);
	if (r < 0)
		return r;
	req->method = "GET";
	req->url = (const char *)url->data;
	req->headers = st->hdrs;
	req->what = (const char *)what->data;
	return 0;
}

/* A JSON request/answer with the storage headers. */
int sb_storage_call(struct sb_storage *st, const char *method,
		    const char *url, const struct buf *body,
		    const char *what, struct json **answer,
		    struct buf *err)
{
	const char *hdrs[] = { st->hdr_apikey, st->hdr_auth,
			       "Content-Type: application/json",
			       "Accept: application/json", NULL };
	struct sb_http_req req = { 0 };
	struct sb_http_resp resp;
	struct buf perr = BUF_INIT;
	int r;

	if (answer)
		*answer = NULL;
	req.method = method;
	req.url = url;
	req.headers = hdrs;
	req.body = body ? body->data : NULL;
	req.body_len = body ? body->len : 0;
	req.what = what;
	r = sb_http_do(st->h, &req, &resp, err);
	if (r == 0 && answer) {
		r = json_parse(answer, resp.body.data, resp.body.len, &perr);
		if (r < 0)
			buf_seterr(err, "%s: unexpected answer (%s)", what,
				   (const char *)perr.data);
	}
	sb_http_resp_release(&resp);
	buf_release(&perr);
	return r;
}

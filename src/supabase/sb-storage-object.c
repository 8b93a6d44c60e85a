/*
 * sb-storage-object: the object calls that are one request each: the
 * upload of one object and the bulk delete (the object info is
 * sb-storage-info.c's).
 *
 * Uploads carry the content type and cache-control as headers and the
 * user metadata as base64 JSON in x-metadata; those values come from
 * snapshots, so a line break or a control character in them is refused
 * before anything is sent.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "sb-storage-int.h"

/* ---- uploads and deletes ----------------------------------------------------- */

/* Header values come from snapshots: no line breaks or controls. */
static int sb_storage_object_header_ok(const char *v)
{
	for (; *v; v++)
		if ((unsigned char)*v < 0x20 || *v == 0x7f)
			return 0;
	return 1;
}

int sb_storage_upload(struct sb_storage *st, const char *bucket,
		      const char *name, const struct sb_storage_upload_req *u,
		      struct buf *err)
{
	struct buf url = BUF_INIT, what = BUF_INIT, ct = BUF_INIT, cc = BUF_INIT;
	struct buf md = BUF_INIT, mdc = BUF_INIT;
	struct json *mj = NULL, *ans = NULL;
	const char *hdrs[8];
	struct sb_http_req req = { 0 };
	struct sb_http_resp resp;
	size_t nh = 0, b64len;
	int r;

	r = sb_storage_what(&what, "object", bucket, name);
	if (r < 0)
		return r;
	if ((u->content_type && !sb_storage_object_header_ok(u->content_type)) ||
	    (u->cache_control && !sb_storage_object_header_ok(u->cache_control))) {
		buf_seterr(err, "%s: content type or cache-control holds control "
			   "characters", (const char *)what.data);
		r = -EINVAL;
		goto out;
	}
	hdrs[nh++] = st->hdr_apikey;
	hdrs[nh++] = st->hdr_auth;
	r = buf_addf(&ct, "Content-Type: %s", u->content_type && *u->content_type ?
		     u->content_type : "application/octet-stream");
	if (r < 0)
		goto out;
	hdrs[nh++] = (const char *)ct.data;
	if (u->cache_control && *u->cache_control) {
		r = buf_addf(&cc, "Cache-Control: %s", u->cache_control);
		if (r < 0)
			goto out;
		hdrs[nh++] = (const char *)cc.data;
	}
	if (u->metadata_json) {
		/* user metadata travels as base64 JSON in x-metadata */
		if (json_parse(&mj, u->metadata_json, strlen(u->metadata_json), NULL) < 0 ||
		    json_type(mj) != JSON_OBJECT || json_write(&mdc, mj) < 0) {
			buf_seterr(err, "%s: user metadata is not a JSON object",
				   (const char *)what.data);
			r = -EINVAL;
			goto out;
		}
		b64len = sodium_base64_encoded_len(mdc.len, sodium_base64_VARIANT_ORIGINAL);
		r = buf_addstr(&md, "x-metadata: ");
		if (r == 0)
			r = buf_grow(&md, b64len);
		if (r < 0)
			goto out;
		sodium_bin2base64((char *)md.data + md.len, b64len, mdc.data, mdc.len,
				  sodium_base64_VARIANT_ORIGINAL);
		md.len += b64len - 1;
		hdrs[nh++] = (const char *)md.data;
	}
	hdrs[nh++] = u->create_only ? "x-upsert: false" : "x-upsert: true";
	hdrs[nh] = NULL;
	r = sb_storage_url(st, &url, "/object/", bucket, name);
	if (r < 0)
		goto out;
	req.method = u->create_only ? "POST" : "PUT";
	req.url = (const char *)url.data;
	req.headers = hdrs;
	req.what = (const char *)what.data;
	if (u->read) {
		req.read = u->read;
		req.read_len = u->size;
		req.ctx = u->read_ctx;
	} else {
		req.body = u->data ? u->data : "";
		req.body_len = (size_t)u->size;
	}
	r = sb_http_do(st->h, &req, &resp, err);
	if (r == 0 && (json_parse(&ans, resp.body.data, resp.body.len, NULL) < 0 ||
		       !json_get_str(ans, "Key"))) {
		buf_seterr(err, "%s: unexpected answer to the upload",
			   (const char *)what.data);
		r = -EBADMSG;
	}
	sb_http_resp_release(&resp);
out:
	json_free(mj);
	json_free(ans);
	buf_release(&url);
	buf_release(&what);
	buf_release(&ct);
	buf_release(&cc);
	buf_release(&md);
	buf_release(&mdc);
	return r;
}

int sb_storage_delete(struct sb_storage *st, const char *bucket,
		      const char *const *names, size_t n, size_t *deleted,
		      struct buf *err)
{
	struct buf url = BUF_INIT, what = BUF_INIT, body = BUF_INIT;
	struct json *ans = NULL;
	size_t i, k, done = 0;
	int r;

	if (deleted)
		*deleted = 0;
	r = sb_storage_url(st, &url, "/object/", bucket, NULL);
	if (r == 0)
		r = sb_storage_what(&what, "bulk delete in bucket", bucket, NULL);
	for (i = 0; r == 0 && i < n; i += k) {
		buf_reset(&body);
		r = buf_addstr(&body, "{\"prefixes\":[");
		for (k = 0; r == 0 && k < SB_STORAGE_DELETE_MAX && i + k < n; k++) {
			if (k)
				r = buf_addch(&body, ',');
			if (r == 0)
				r = json_quote(&body, names[i + k], strlen(names[i + k]));
		}
		if (r == -EILSEQ) {
			buf_seterr(err, "%s: a name is not valid UTF-8",
				   (const char *)what.data);
			r = -EINVAL;
			break;
		}
		if (r == 0)
			r = buf_addstr(&body, "]}");
		if (r == 0)
			r = sb_storage_call(st, "DELETE", (const char *)url.data, &body,
					    (const char *)what.data, &ans, err);
		if (r == 0) {
			if (json_type(ans) != JSON_ARRAY) {
				buf_seterr(err, "%s: unexpected answer",
					   (const char *)what.data);
				r = -EBADMSG;
			}
			done += json_len(ans);
		}
		json_free(ans);
		ans = NULL;
	}
	if (deleted)
		*deleted = done;
	buf_release(&url);
	buf_release(&what);
	buf_release(&body);
	return r;
}

/*
 * sb-storage-bucket: Storage buckets: list, get, create and update.
 *
 * A bucket's configuration (public, file size limit, allowed mime
 * types) is read from the server's JSON, kept whole in `json` for the
 * snapshot, and written back as the body of a create or an update; the
 * allowed mime types go through only as a JSON array.  Separate from the
 * object calls because it is the administration side of Storage: a few
 * small JSON requests, no transfers.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "sb-storage-int.h"

void sb_storage_bucket_release(struct sb_storage_bucket *b)
{
	if (!b)
		return;
	free(b->id);
	free(b->name);
	free(b->allowed_mime_types);
	free(b->type);
	free(b->created_at);
	free(b->updated_at);
	free(b->json);
	memset(b, 0, sizeof(*b));
}

void sb_storage_buckets_free(struct sb_storage_bucket *b, size_t n)
{
	size_t i;

	if (!b)
		return;
	for (i = 0; i < n; i++)
		sb_storage_bucket_release(&b[i]);
	free(b);
}

static int sb_storage_bucket_from_json(struct sb_storage_bucket *b, const struct json *j)
{
	const struct json *v;
	struct buf t = BUF_INIT;
	int bad = 0;

	memset(b, 0, sizeof(*b));
	if (json_type(j) != JSON_OBJECT || !json_get_str(j, "id"))
		return -EBADMSG;
	b->id = json_get_strdup(j, "id", &bad);
	b->name = json_get_strdup(j, "name", &bad);
	if (!b->name && !bad)
		b->name = strdup(b->id);
	b->is_public = json_bool(json_get(j, "public")) == 1;
	b->file_size_limit = -1;
	v = json_get(j, "file_size_limit");
	if (v && !json_is_null(v) &&
	    (json_int(v, &b->file_size_limit) < 0 || b->file_size_limit < 0))
		b->file_size_limit = -1;
	v = json_get(j, "allowed_mime_types");
	if (json_type(v) == JSON_ARRAY) {
		if (json_write(&t, v) < 0 || !(b->allowed_mime_types = buf_detach(&t, NULL)))
			bad = 1;
	}
	b->type = json_get_strdup(j, "type", &bad);
	b->created_at = json_get_strdup(j, "created_at", &bad);
	b->updated_at = json_get_strdup(j, "updated_at", &bad);
	buf_reset(&t);
	if (json_write(&t, j) < 0 || !(b->json = buf_detach(&t, NULL)))
		bad = 1;
	buf_release(&t);
	if (bad || !b->name) {
		sb_storage_bucket_release(b);
		return -ENOMEM;
	}
	return 0;
}

int sb_storage_buckets(struct sb_storage *st, struct sb_storage_bucket **out,
		       size_t *n, struct buf *err)
{
	struct buf url = BUF_INIT;
	struct json *j = NULL;
	struct sb_storage_bucket *bs = NULL;
	size_t i, cnt;
	int r;

	*out = NULL;
	*n = 0;
	r = sb_storage_url(st, &url, "/bucket", NULL, NULL);
	if (r == 0)
		r = sb_storage_call(st, "GET", (const char *)url.data, NULL,
				    "bucket list", &j, err);
	if (r < 0)
		goto out;
	if (json_type(j) != JSON_ARRAY) {
		buf_seterr(err, "bucket list: the answer is not an array");
		r = -EBADMSG;
		goto out;
	}
	cnt = json_len(j);
	bs = calloc(cnt ? cnt : 1, sizeof(*bs));
	if (!bs) {
		r = -ENOMEM;
		goto out;
	}
	for (i = 0; i < cnt; i++) {
		r = sb_storage_bucket_from_json(&bs[i], json_at(j, i));
		if (r < 0) {
			buf_seterr(err, "bucket list: entry %zu is malformed", i);
			sb_storage_buckets_free(bs, i);
			bs = NULL;
			goto out;
		}
	}
	*out = bs;
	*n = cnt;
out:
	json_free(j);
	buf_release(&url);
	return r;
}

int sb_storage_bucket_get(struct sb_storage *st, const char *id,
			  struct sb_storage_bucket *out, struct buf *err)
{
	struct buf url = BUF_INIT, what = BUF_INIT;
	struct json *j = NULL;
	int r;

	memset(out, 0, sizeof(*out));
	r = sb_storage_url(st, &url, "/bucket/", id, NULL);
	if (r == 0)
		r = sb_storage_what(&what, "bucket", id, NULL);
	if (r == 0)
		r = sb_storage_call(st, "GET", (const char *)url.data, NULL,
				    (const char *)what.data, &j, err);
	if (r == 0) {
		r = sb_storage_bucket_from_json(out, j);
		if (r == -EBADMSG)
			buf_seterr(err, "%s: malformed answer", (const char *)what.data);
	}
	json_free(j);
	buf_release(&url);
	buf_release(&what);
	return r;
}

/* {"id","name","public","file_size_limit","allowed_mime_types"} */
static int sb_storage_bucket_body(struct buf *b,
				  const struct sb_storage_bucket *bk, int create)
{
	struct json *mimes = NULL;
	int r;

	r = buf_addch(b, '{');
	if (r == 0 && create) {
		r = buf_addstr(b, "\"id\":");
		if (r == 0)
			r = json_quote(b, bk->id, strlen(bk->id));
		if (r == 0)
			r = buf_addstr(b, ",\"name\":");
		if (r == 0)
			r = json_quote(b, bk->name ? bk->name : bk->id,
					  strlen(bk->name ? bk->name : bk->id));
		if (r == 0)
			r = buf_addch(b, ',');
	}
	if (r == 0)
		r = buf_addf(b, "\"public\":%s", bk->is_public ? "true" : "false");
	if (r == 0) {
		if (bk->file_size_limit >= 0)
			r = buf_addf(b, ",\"file_size_limit\":%" PRId64, bk->file_size_limit);
		else
			r = buf_addstr(b, ",\"file_size_limit\":null");
	}
	if (r == 0 && bk->allowed_mime_types) {
		/* only a JSON array of strings goes through */
		r = json_parse(&mimes, bk->allowed_mime_types,
				  strlen(bk->allowed_mime_types), NULL);
		if (r == 0 && json_type(mimes) != JSON_ARRAY)
			r = -EINVAL;
		if (r == 0)
			r = buf_addstr(b, ",\"allowed_mime_types\":");
		if (r == 0)
			r = json_write(b, mimes);
		json_free(mimes);
	} else if (r == 0) {
		r = buf_addstr(b, ",\"allowed_mime_types\":null");
	}
	if (r == 0)
		r = buf_addch(b, '}');
	return r == -EBADMSG ? -EINVAL : r;
}

static int sb_storage_bucket_write(struct sb_storage *st,
				   const struct sb_storage_bucket *b, int create,
				   struct buf *err)
{
	struct buf url = BUF_INIT, what = BUF_INIT, body = BUF_INIT;
	int r;

	if (!b->id || !*b->id) {
		buf_seterr(err, "a bucket needs an id");
		return -EINVAL;
	}
	r = sb_storage_what(&what, "bucket", b->id, NULL);
	if (r == 0)
		r = create ? sb_storage_url(st, &url, "/bucket", NULL, NULL)
			   : sb_storage_url(st, &url, "/bucket/", b->id, NULL);
	if (r == 0) {
		r = sb_storage_bucket_body(&body, b, create);
		if (r == -EINVAL || r == -EILSEQ)
			buf_seterr(err, "%s: invalid configuration (allowed_mime_types "
				   "must be a JSON array, names UTF-8)",
				   (const char *)what.data);
	}
	if (r == 0)
		r = sb_storage_call(st, create ? "POST" : "PUT", (const char *)url.data,
				    &body, (const char *)what.data, NULL, err);
	buf_release(&url);
	buf_release(&what);
	buf_release(&body);
	return r;
}

int sb_storage_bucket_create(struct sb_storage *st, const struct sb_storage_bucket *b,
			     struct buf *err)
{
	return sb_storage_bucket_write(st, b, 1, err);
}

int sb_storage_bucket_update(struct sb_storage *st, const struct sb_storage_bucket *b,
			     struct buf *err)
{
	return sb_storage_bucket_write(st, b, 0, err);
}

/*
 * sb-storage: Supabase Storage through its REST API (sb-http underneath).
 *
 *  - Buckets: list, get, create, update.
 *  - Objects: the recursive listing (POST /object/list/{bucket} returns one
 *    level at a time, folders having id null; every folder is listed, page
 *    after page until a short page, several folders at once), streaming
 *    downloads (one, or many concurrently but handed over strictly in
 *    order), uploads (PUT = upsert, or POST = create only) with content
 *    type, cache-control and user metadata, the object info (user
 *    metadata; one, or many concurrently), and the bulk delete (at most
 *    1000 names a request).
 *
 * Object names are untrusted and kept byte for byte: they are URL-encoded
 * segment by segment for requests and quoted (\xHH for anything
 * unprintable) in messages, which name the object as 'bucket/name'.
 * Every request sends `apikey: <key>` and `Authorization: Bearer <key>`;
 * the key never appears in messages.  Errors are sb-http's (-ENOENT for a
 * missing bucket or object, -EACCES for a rejected key, ...).
 */
#ifndef VAULT_SB_STORAGE_H
#define VAULT_SB_STORAGE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "buf.h"
#include "sb-http.h"

#define SB_STORAGE_DELETE_MAX 1000
#define SB_STORAGE_PAGE 1000

struct sb_storage;

/* h stays owned by the caller and must outlive st.  url is the Storage
 * base (".../storage/v1"). */
int sb_storage_new(struct sb_storage **st, struct sb_http *h, const char *url,
		   const char *service_key, struct buf *err);
void sb_storage_free(struct sb_storage *st);
/* Entries per listing request (default SB_STORAGE_PAGE; tests use less). */
void sb_storage_set_page(struct sb_storage *st, unsigned limit);

/* ---- buckets ----------------------------------------------------------- */

struct sb_storage_bucket {
	char *id;
	char *name;
	int is_public;
	int64_t file_size_limit;	/* bytes; -1 = none */
	char *allowed_mime_types;	/* JSON array text, NULL = any */
	char *type;			/* "STANDARD", ... or NULL */
	char *created_at, *updated_at;
	char *json;			/* the bucket as the server sent it */
};
void sb_storage_bucket_release(struct sb_storage_bucket *b);
void sb_storage_buckets_free(struct sb_storage_bucket *b, size_t n);

/* All buckets; *out is an array of *n (free with sb_storage_buckets_free). */
int sb_storage_buckets(struct sb_storage *st, struct sb_storage_bucket **out,
		       size_t *n, struct buf *err);
int sb_storage_bucket_get(struct sb_storage *st, const char *id,
			  struct sb_storage_bucket *out, struct buf *err);
/* Creates (id, name = id when NULL, is_public, file_size_limit,
 * allowed_mime_types) or updates (is_public, file_size_limit,
 * allowed_mime_types) a bucket.  Creating an existing one is -EEXIST. */
int sb_storage_bucket_create(struct sb_storage *st, const struct sb_storage_bucket *b,
			     struct buf *err);
int sb_storage_bucket_update(struct sb_storage *st, const struct sb_storage_bucket *b,
			     struct buf *err);

/* ---- listing ------------------------------------------------------------- */

struct sb_storage_object {
	const char *name;		/* full name within the bucket */
	const char *id;
	uint64_t size;
	const char *etag;		/* as sent: "\"<md5>\"" */
	const char *mimetype;
	const char *cache_control;
	const char *last_modified;	/* ISO 8601, as sent */
	const char *created_at, *updated_at;
	const char *metadata_json;	/* the listing's metadata object */
	/*
	 * The user metadata, when the listing carries it: Storage v1.22's
	 * listing does not (has_user_metadata 0: ask sb_storage_info),
	 * newer servers add a "user_metadata" member.  JSON text, NULL
	 * for none (null).
	 */
	int has_user_metadata;
	const char *user_metadata_json;
};

/* Called for every object (not folders), in no particular order; the
 * strings are valid during the call.  Non-zero stops the listing and is
 * returned.  It runs inside the http loop, so it must not call other
 * sb_storage functions (they would get -EBUSY). */
typedef int (*sb_storage_object_fn)(void *ctx, const char *bucket,
				    const struct sb_storage_object *o);

/*
 * Lists every object of bucket under prefix ("" = all; a folder prefix
 * ends with '/').  Folders are listed concurrently (the http client's
 * jobs), each page after page until a short page.  Requests made are
 * added to *requests when it is not NULL.
 */
int sb_storage_list(struct sb_storage *st, const char *bucket,
		    const char *prefix, sb_storage_object_fn cb, void *ctx,
		    uint64_t *requests, struct buf *err);

/* ---- object info --------------------------------------------------------- */

struct sb_storage_objinfo {
	char *id;
	uint64_t size;
	char *etag, *content_type, *cache_control, *last_modified;
	char *metadata_json;		/* user metadata (JSON), NULL if none */
};
void sb_storage_objinfo_release(struct sb_storage_objinfo *i);
int sb_storage_info(struct sb_storage *st, const char *bucket,
		    const char *name, struct sb_storage_objinfo *out,
		    struct buf *err);

struct sb_storage_ref;

/*
 * Called by sb_storage_info_many for each object, in the order the
 * answers arrive (not index order): rc 0 with info (valid during the
 * call), or the object's error (-ENOENT: it does not exist) with err
 * naming the object.  Return 0 to go on, or a negative errno to stop
 * everything (the answers still outstanding are dropped).
 */
typedef int (*sb_storage_info_fn)(void *ctx, size_t i, int rc,
				  const struct sb_storage_objinfo *info,
				  const struct buf *err);

/*
 * The info of refs[0..n), up to `window` requests in flight (0 = the
 * http client's jobs), each handed to cb as it arrives.  Returns 0 once
 * every object was handed over, or the first negative value cb returned
 * (err says why), or a failure of the client itself.
 */
int sb_storage_info_many(struct sb_storage *st,
			 const struct sb_storage_ref *refs, size_t n,
			 unsigned window, sb_storage_info_fn cb, void *ctx,
			 struct buf *err);

/* ---- downloads ------------------------------------------------------------ */

/* The response headers (status, etag, content_type, cache_control,
 * last_modified, content_length) come first, then the bytes. */
struct sb_storage_sink {
	int (*begin)(void *ctx, size_t i, const struct sb_http_resp *r);
	int (*data)(void *ctx, size_t i, const void *p, size_t n);
	/* rc 0 or the object's error (err names it).  Return 0 to go on
	 * with the next object, or a negative errno to stop everything. */
	int (*end)(void *ctx, size_t i, int rc, const struct buf *err);
	void *ctx;
};

/* One object, streamed (i = 0).  Returns end()'s return, or rc when end
 * is NULL. */
int sb_storage_download(struct sb_storage *st, const char *bucket,
			const char *name, const struct sb_storage_sink *s,
			struct buf *err);

struct sb_storage_ref {
	const char *bucket;
	const char *name;
};

/*
 * Downloads refs[0..n) with up to `window` transfers at once (0 = the
 * http client's jobs), handing them to the sink strictly in index order:
 * for each i, begin(i) (unless it failed before any response), data(i)...,
 * then end(i).  Objects ahead of the one being handed over are held in
 * memory up to buffer_max bytes each (0 = 4 MiB), then paused until their
 * turn.  Note that an object can fail after some of its bytes went to
 * data() (its retries exhausted mid-body): end() then gets the error.
 * Returns 0, or the first negative value end() returned (err says why).
 */
int sb_storage_download_many(struct sb_storage *st,
			     const struct sb_storage_ref *refs, size_t n,
			     unsigned window, size_t buffer_max,
			     const struct sb_storage_sink *s, struct buf *err);

/* ---- uploads and deletes ---------------------------------------------------- */

struct sb_storage_upload_req {
	const char *content_type;	/* NULL = application/octet-stream */
	const char *cache_control;	/* NULL = the server's default */
	const char *metadata_json;	/* user metadata (a JSON object) or NULL */
	int create_only;		/* POST, x-upsert: false: -EEXIST if present */
	/* the bytes: in memory, or a reader asked by offset (restartable) */
	const void *data;
	uint64_t size;
	ssize_t (*read)(void *ctx, uint64_t off, void *p, size_t n);
	void *read_ctx;
};

/* Uploads one object: PUT (create or replace) unless create_only.  The
 * user metadata goes as base64 JSON in x-metadata, the content type and
 * cache-control as headers (-EINVAL if they hold control characters). */
int sb_storage_upload(struct sb_storage *st, const char *bucket,
		      const char *name, const struct sb_storage_upload_req *u,
		      struct buf *err);

/* Deletes the named objects (names that do not exist are ignored, as the
 * API does) in requests of at most SB_STORAGE_DELETE_MAX names.
 * *deleted (may be NULL) gets how many the server reported deleted. */
int sb_storage_delete(struct sb_storage *st, const char *bucket,
		      const char *const *names, size_t n, size_t *deleted,
		      struct buf *err);

#endif

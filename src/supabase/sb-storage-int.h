/*
 * sb-storage-int.h: the inside of sb-storage, shared only by its parts.
 *
 *   sb-storage.c           the client: its key headers, the URLs and the
 *                          names in messages, one JSON request
 *   sb-storage-bucket.c    buckets: list, get, create, update
 *   sb-storage-list.c      the recursive paged listing of objects
 *   sb-storage-download.c  streamed downloads, many at once in order
 *   sb-storage-info.c      the object info (user metadata), one or many
 *                          at once
 *   sb-storage-object.c    one-request object calls: upload, delete
 *
 * Every part uses sb-storage.c and no other part.
 */
#ifndef VAULT_SB_STORAGE_INT_H
#define VAULT_SB_STORAGE_INT_H

#include "buf.h"
#include "json.h"
#include "sb-http.h"
#include "sb-storage.h"

struct sb_storage {
	struct sb_http *h;
	char *url;		/* the Storage base, without a trailing '/' */
	char *hdr_apikey;	/* "apikey: <key>" */
	char *hdr_auth;		/* "Authorization: Bearer <key>" */
	const char *hdrs[3];	/* the two, NULL-terminated */
	unsigned page;		/* entries per listing request */
};

/* Copies the message in from into err (either may be NULL). */
void sb_storage_copyerr(struct buf *err, const struct buf *from);

/* Sets w to "<kind> 'bucket'" or "<kind> 'bucket/name'" (name may be
 * NULL), both quoted with sb_http_quote_name.  0 or -ENOMEM. */
int sb_storage_what(struct buf *w, const char *kind, const char *bucket,
		    const char *name);

/* Sets u to the base URL + mid, then the URL-encoded bucket (when not
 * NULL) and '/' + the name encoded segment by segment (when not NULL).
 * 0 or -ENOMEM. */
int sb_storage_url(const struct sb_storage *st, struct buf *u,
		   const char *mid, const char *bucket, const char *name);

/* A GET of one object under mid ("/object/authenticated/", ...): url
 * and what are filled, and req's method, url, headers (the key headers)
 * and what set, pointing into them and st.  0 or -ENOMEM. */
int sb_storage_get_req(struct sb_storage *st, struct sb_http_req *req,
		       const char *mid, const char *bucket, const char *name,
		       struct buf *url, struct buf *what);

/* One request with the key headers and a JSON body (body may be NULL),
 * run to its end.  When answer is not NULL the response is parsed into
 * *answer (the caller frees it; -EBADMSG and err set if it is not JSON).
 * Errors are sb_http_do()'s, described in err naming `what`. */
int sb_storage_call(struct sb_storage *st, const char *method,
		    const char *url, const struct buf *body,
		    const char *what, struct json **answer,
		    struct buf *err);

#endif

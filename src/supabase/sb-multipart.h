/*
 * sb-multipart: multipart/form-data (RFC 7578 over RFC 2046), parsed and
 * built in memory, for the Management API's function bodies and deploys.
 *
 * The parser takes untrusted bytes and is bounded: the boundary is 1..70
 * characters, a part's header block at most SB_MULTIPART_MAX_HEADERS
 * bytes, the number of parts capped by the caller.  A missing first or
 * closing delimiter, a malformed header, an unterminated quoted string or
 * a truncated body gives -EBADMSG with the offset in err; it never reads
 * outside the input.  Line ends may be CRLF or bare LF.
 */
#ifndef VAULT_SB_MULTIPART_H
#define VAULT_SB_MULTIPART_H

#include <stddef.h>
#include <stdint.h>
#include "buf.h"

#define SB_MULTIPART_MAX_BOUNDARY 70
#define SB_MULTIPART_MAX_HEADERS 8192

struct sb_multipart_part {
	const char *name;		/* form field name, or NULL */
	const char *filename;		/* unescaped (filename* decoded), or NULL */
	const char *content_type;	/* or NULL */
	const uint8_t *data;		/* points into the parsed body */
	size_t len;
};

/* The boundary parameter of a Content-Type value ("multipart/form-data;
 * boundary=..."), unquoted.  -EINVAL if the type is not multipart or the
 * boundary is missing or invalid. */
int sb_multipart_boundary(const char *content_type, struct buf *boundary);

/* Calls cb for every part in order; cb's strings are valid during the
 * call.  At most max_parts parts (-E2BIG beyond).  A non-zero cb return
 * stops and is returned. */
typedef int (*sb_multipart_fn)(void *ctx, const struct sb_multipart_part *p);
int sb_multipart_parse(const void *body, size_t n, const char *boundary,
		       size_t max_parts, sb_multipart_fn cb, void *ctx,
		       struct buf *err);

/* A fresh random boundary (NUL-terminated) for building a body. */
void sb_multipart_new_boundary(char out[SB_MULTIPART_MAX_BOUNDARY + 1]);
/* Appends one part.  name and filename may not hold control characters
 * (-EINVAL); '"' and '\' are escaped.  filename/content_type may be NULL. */
int sb_multipart_add(struct buf *out, const char *boundary, const char *name,
		     const char *filename, const char *content_type,
		     const void *data, size_t n);
/* Appends the closing delimiter. */
int sb_multipart_finish(struct buf *out, const char *boundary);

#endif

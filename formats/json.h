/*
 * json: a small, bounded JSON reader (and string quoting) for the
 * answers of Supabase's Storage and Management APIs.
 *
 * The input is untrusted: nesting is limited (JSON_MAX_DEPTH), every
 * string is validated as UTF-8 (with \u escapes and surrogate pairs
 * decoded), and any malformation gives -EBADMSG with the byte offset in
 * err, never a crash.  Strings keep their length, so names holding NUL
 * (\u0000) survive; json_str() returns NULL for a non-string.
 *
 * A parsed document is a tree owned by the root; json_free(root)
 * frees all of it.  Lookups never fail loudly: a missing key or a wrong
 * type gives NULL, so callers check only what they use.
 */
#ifndef VAULT_JSON_H
#define VAULT_JSON_H

#include <stddef.h>
#include <stdint.h>
#include "buf.h"

#define JSON_MAX_DEPTH 64

enum json_type {
	JSON_NULL,
	JSON_FALSE,
	JSON_TRUE,
	JSON_NUMBER,
	JSON_STRING,
	JSON_ARRAY,
	JSON_OBJECT,
};

struct json;

/* Parses exactly one JSON value (surrounding whitespace allowed).
 * 0, -EBADMSG (err says where) or -ENOMEM. */
int json_parse(struct json **out, const void *p, size_t n,
		  struct buf *err);
void json_free(struct json *j);

enum json_type json_type(const struct json *j);
/* Number of elements (array) or members (object); 0 otherwise. */
size_t json_len(const struct json *j);
/* i-th element of an array or value of an object member; NULL if out of range. */
const struct json *json_at(const struct json *j, size_t i);
/* i-th member name of an object (NUL-terminated; *len may be NULL). */
const char *json_key_at(const struct json *j, size_t i, size_t *len);
/* Member value by name (first match); NULL if j is not an object or has
 * no such member. */
const struct json *json_get(const struct json *j, const char *key);

/* The string (NUL-terminated, may hold NULs: use *len) or NULL. */
const char *json_str(const struct json *j, size_t *len);
/* A member's string value, or NULL. */
const char *json_get_str(const struct json *j, const char *key);
/* A malloc'ed copy of a member's string value, or NULL when there is
 * none.  On ENOMEM also sets *err = -ENOMEM; *err is left alone
 * otherwise, so a row of calls can share one flag. */
char *json_get_strdup(const struct json *j, const char *key, int *err);
/* An integral number within int64 (also accepts a string of digits, as
 * Storage sends statusCode "404"): 0 or -EINVAL. */
int json_int(const struct json *j, int64_t *v);
/* 1 for true, 0 for false, -EINVAL otherwise. */
int json_bool(const struct json *j);
int json_is_null(const struct json *j);

/* Appends j re-encoded compactly (numbers keep their text). */
int json_write(struct buf *out, const struct json *j);
/* Appends s[0..n) as a JSON string literal (control characters and NUL
 * escaped).  -EILSEQ if s is not valid UTF-8: a name is never silently
 * altered, since an altered name would address another object. */
int json_quote(struct buf *out, const char *s, size_t n);

#endif

/*
 * sb-json: a small, bounded JSON reader (and string quoting) for the
 * answers of Supabase's Storage and Management APIs.
 *
 * The input is untrusted: nesting is limited (SB_JSON_MAX_DEPTH), every
 * string is validated as UTF-8 (with \u escapes and surrogate pairs
 * decoded), and any malformation gives -EBADMSG with the byte offset in
 * err, never a crash.  Strings keep their length, so names holding NUL
 * (\u0000) survive; sb_json_str() returns NULL for a non-string.
 *
 * A parsed document is a tree owned by the root; sb_json_free(root)
 * frees all of it.  Lookups never fail loudly: a missing key or a wrong
 * type gives NULL, so callers check only what they use.
 */
#ifndef VAULT_SB_JSON_H
#define VAULT_SB_JSON_H

#include <stddef.h>
#include <stdint.h>
#include "buf.h"

#define SB_JSON_MAX_DEPTH 64

enum sb_json_type {
	SB_JSON_NULL,
	SB_JSON_FALSE,
	SB_JSON_TRUE,
	SB_JSON_NUMBER,
	SB_JSON_STRING,
	SB_JSON_ARRAY,
	SB_JSON_OBJECT,
};

struct sb_json;

/* Parses exactly one JSON value (surrounding whitespace allowed).
 * 0, -EBADMSG (err says where) or -ENOMEM. */
int sb_json_parse(struct sb_json **out, const void *p, size_t n,
		  struct buf *err);
void sb_json_free(struct sb_json *j);

enum sb_json_type sb_json_type(const struct sb_json *j);
/* Number of elements (array) or members (object); 0 otherwise. */
size_t sb_json_len(const struct sb_json *j);
/* i-th element of an array or value of an object member; NULL if out of range. */
const struct sb_json *sb_json_at(const struct sb_json *j, size_t i);
/* i-th member name of an object (NUL-terminated; *len may be NULL). */
const char *sb_json_key_at(const struct sb_json *j, size_t i, size_t *len);
/* Member value by name (first match); NULL if j is not an object or has
 * no such member. */
const struct sb_json *sb_json_get(const struct sb_json *j, const char *key);

/* The string (NUL-terminated, may hold NULs: use *len) or NULL. */
const char *sb_json_str(const struct sb_json *j, size_t *len);
/* A member's string value, or NULL. */
const char *sb_json_get_str(const struct sb_json *j, const char *key);
/* A malloc'ed copy of a member's string value, or NULL when there is
 * none.  On ENOMEM also sets *err = -ENOMEM; *err is left alone
 * otherwise, so a row of calls can share one flag. */
char *sb_json_get_strdup(const struct sb_json *j, const char *key, int *err);
/* An integral number within int64 (also accepts a string of digits, as
 * Storage sends statusCode "404"): 0 or -EINVAL. */
int sb_json_int(const struct sb_json *j, int64_t *v);
/* 1 for true, 0 for false, -EINVAL otherwise. */
int sb_json_bool(const struct sb_json *j);
int sb_json_is_null(const struct sb_json *j);

/* Appends j re-encoded compactly (numbers keep their text). */
int sb_json_write(struct buf *out, const struct sb_json *j);
/* Appends s[0..n) as a JSON string literal (control characters and NUL
 * escaped).  -EILSEQ if s is not valid UTF-8: a name is never silently
 * altered, since an altered name would address another object. */
int sb_json_quote(struct buf *out, const char *s, size_t n);

#endif

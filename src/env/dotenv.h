/*
 * dotenv: the one `.env` parser, for the settings Supabase projects keep
 * there (SUPABASE_DB_URL, SUPABASE_URL, SUPABASE_SERVICE_ROLE_KEY...).
 *
 * Syntax (what dotenv tools agree on): KEY=VALUE lines; blank lines and
 * lines starting with `#` are ignored; an optional `export ` prefix;
 * spaces around `=`; a value is unquoted (trailing blanks, a CR and a
 * ` #` comment dropped), 'single-quoted' (taken literally) or
 * "double-quoted" (\n \r \t \" \\ \$ escapes, other escapes kept as
 * written; may span lines).  No variable expansion.  The last assignment
 * of a key wins.
 *
 * Values are secrets: they never appear in err (which names file and
 * line only), and every copy the reader makes is wiped.
 */
#ifndef VAULT_DOTENV_H
#define VAULT_DOTENV_H

#include <stddef.h>
#include "buf.h"

/* Larger .env files are refused (-E2BIG). */
#define DOTENV_MAX_FILE (1u << 20)

/*
 * Calls cb for every assignment in text[0..n), in order (value is
 * NUL-terminated but may be shorter than vlen if it holds NUL; the
 * callback copies what it keeps).  keys (NULL-terminated; NULL = all)
 * limits the callback to those keys, and then a malformed value of
 * another key is skipped (its line must still read KEY=).  name labels
 * err ("name:line: why").  0, -EINVAL for a malformed line, or a
 * non-zero cb return (which stops).
 */
typedef int (*dotenv_fn)(void *ctx, const char *key, const char *value,
			 size_t vlen);
int dotenv_parse(const char *text, size_t n, const char *name,
		 const char *const *keys, dotenv_fn cb, void *ctx,
		 struct buf *err);

/*
 * Looks key up in text[0..n) (name labels messages).  1 with the value
 * appended to out, 0 when the key is not assigned, -EINVAL for a line
 * that cannot be read (err: "name:line: why").
 */
int dotenv_parse_get(const char *text, size_t n, const char *name,
		     const char *key, struct buf *out, struct buf *err);

/*
 * Reads the whole file into text (re-initialised; wipe it after use).
 * 0, or -errno (-ENOENT missing, -EINVAL not a regular file, -E2BIG over
 * DOTENV_MAX_FILE); err is "path: why".  *exposed as below.
 */
int dotenv_file_read(const char *path, struct buf *text, int *exposed,
		     struct buf *err);

/*
 * Reads path and looks key up.  Returns 1 / 0 as dotenv_parse_get, or
 * -errno when the file cannot be read (-ENOENT when it does not exist).
 * *exposed (may be NULL) is set to 1 when the file is readable by group
 * or others, so the caller can warn that it holds secrets.
 */
int dotenv_file_get(const char *path, const char *key, struct buf *out,
		    int *exposed, struct buf *err);

#endif

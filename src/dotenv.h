/*
 * dotenv: reading one setting from a `.env` file, the way Supabase
 * projects keep their connection strings (SUPABASE_DB_URL=...).
 *
 * Syntax (what dotenv tools agree on): KEY=VALUE lines; blank lines and
 * lines starting with `#` are ignored; an optional `export ` prefix;
 * spaces around `=`; a value is unquoted (trailing spaces and a ` #`
 * comment dropped), 'single-quoted' (taken literally) or "double-quoted"
 * (\n \t \" \\ escapes).  No variable expansion.  The last assignment of
 * a key wins.
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
 * Looks key up in text[0..n) (name labels messages).  1 with the value
 * appended to out, 0 when the key is not assigned, -EINVAL for a line
 * that cannot be read (err: "name:line: why").
 */
int dotenv_parse_get(const char *text, size_t n, const char *name,
		     const char *key, struct buf *out, struct buf *err);

/*
 * Reads path and looks key up.  Returns 1 / 0 as dotenv_parse_get, or
 * -errno when the file cannot be read (-ENOENT when it does not exist).
 * *exposed (may be NULL) is set to 1 when the file is readable by group
 * or others, so the caller can warn that it holds secrets.
 */
int dotenv_file_get(const char *path, const char *key, struct buf *out,
		    int *exposed, struct buf *err);

#endif

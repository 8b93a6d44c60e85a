/*
 * pg-names: how PostgreSQL identifiers become snapshot path segments and
 * SQL text.  Pure functions, no libpq connection needed.
 *
 * Path segments keep the raw identifier so a person browsing a mounted
 * snapshot sees "Sales & Ops/tables/Orders".  Only the bytes a path
 * cannot hold or that would confuse a reader are percent-encoded as %XX
 * (uppercase hex): '%' itself, '/', control characters (0x00-0x1f, 0x7f).
 * A segment that is exactly "." or ".." is fully encoded ("%2E",
 * "%2E%2E") so no identifier can walk out of its directory.  Decoding is
 * the exact inverse, so every identifier round-trips.
 *
 * The quoting helpers produce the SQL and JSON text of the files vault
 * writes (roles.sql, sequences.sql, data.sql headers, meta.json).
 */
#ifndef VAULT_PG_NAMES_H
#define VAULT_PG_NAMES_H

#include <stddef.h>
#include "buf.h"

/* Also encode the first byte (used when a schema's name would collide
 * with one of the fixed names beside it, e.g. "meta.json"). */
#define PG_NAMES_ESCAPE_FIRST	1u

/* Appends the encoded segment for ident[0..len) to out.  0, -EINVAL for
 * an empty identifier, -ENOMEM. */
int pg_names_encode(struct buf *out, const char *ident, size_t len,
		    unsigned flags);
/* Appends the identifier encoded in seg[0..len) to out.  -EINVAL for a
 * malformed escape, a raw '/', an encoded NUL or an empty segment. */
int pg_names_decode(struct buf *out, const char *seg, size_t len);

/* "ident" with embedded double quotes doubled: always quoted, so
 * keywords, mixed case and odd bytes are all safe. */
int pg_names_quote_ident(struct buf *out, const char *ident);
/* Like pg_names_quote_ident, but an identifier holding a control
 * character (a newline...) is written U&"..." with \XXXX escapes, so the
 * text stays on one line: data.sql's COPY header.  Not for names other
 * SQL parses back itself (to_regclass does not read U&""). */
int pg_names_quote_ident_line(struct buf *out, const char *ident);
/* "schema"."name" */
int pg_names_quote_qualified(struct buf *out, const char *schema,
			     const char *name);
/* A string literal that means the same whatever standard_conforming_strings
 * is: '...' with quotes doubled, or E'...' when a backslash is present. */
int pg_names_quote_literal(struct buf *out, const char *s);
/* A JSON string: quotes, backslash and control characters escaped;
 * other bytes are copied as they are (identifiers arrive in the
 * database's encoding, UTF-8 on every Supabase project). */
int pg_names_quote_json(struct buf *out, const char *s);
/* ["a", "b"]: the n strings of v as a JSON array. */
int pg_names_quote_json_array(struct buf *out, char *const *v, size_t n);

#endif

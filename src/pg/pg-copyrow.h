/*
 * pg-copyrow: a table's data.sql (formats/db-layout.md) read back one
 * row at a time: the COPY line skipped, each row split into its fields,
 * the "\." line and the end of the file checked.  Pure: the bytes come
 * from a read callback, so the source can be the repository, a file or
 * a string.
 *
 * COPY's text format: one row per line, fields separated by a tab, a
 * NULL written \N, and inside a field a backslash escapes the bytes the
 * format uses (\t \n \r \b \f \v \\, and \digits, \xhh on input).
 * COPY TO writes each value one way only, so two fields hold the same
 * value exactly when their raw bytes are equal (for one type and one
 * set of session settings, which meta.json's copy_settings fixes).
 *
 * Memory: the current row (a row is one line, however wide) and a read
 * window; never the table.
 */
#ifndef VAULT_PG_COPYROW_H
#define VAULT_PG_COPYROW_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "buf.h"

/* Up to n bytes of the file into p: the count, 0 at its end, or a
 * negative errno (err says why). */
typedef ssize_t (*pg_copyrow_read_fn)(void *ctx, void *p, size_t n,
				      struct buf *err);

/* The table the file holds, as meta.json names it: the columns are the
 * fields of each row; the names also recognise the COPY line older
 * captures wrote over several lines (a name holding a newline). */
struct pg_copyrow_table {
	const char *schema, *name;
	char *const *cols;
	size_t ncols;
};

struct pg_copyrow;

/* A reader of the file read gives.  label names it in messages ("table
 * public.todos (before)"); t and label must outlive the reader.  0 or
 * -ENOMEM. */
int pg_copyrow_new(struct pg_copyrow **cr, const struct pg_copyrow_table *t,
		   const char *label, pg_copyrow_read_fn read, void *ctx);
void pg_copyrow_free(struct pg_copyrow *cr);

/*
 * The next row: 1 (its fields valid until the next call), 0 once the
 * "\." line was read and the file ends there, or a negative errno: the
 * source's error as is, -EBADMSG for a file that is not what the
 * capture writes (no COPY line, a row with another number of fields,
 * no "\." line, bytes after it), err naming the table and row.
 */
int pg_copyrow_next(struct pg_copyrow *cr, struct buf *err);

/* The current row's line (without its newline). */
const char *pg_copyrow_line(const struct pg_copyrow *cr, size_t *len);
/* The raw (escaped) bytes of field i (< ncols) of the current row. */
const char *pg_copyrow_field(const struct pg_copyrow *cr, size_t i,
			     size_t *len);
/* Rows read so far. */
uint64_t pg_copyrow_rows(const struct pg_copyrow *cr);

/* Appends the value of raw field f[0..n) to out, COPY's escapes
 * decoded.  1 when the field is NULL (\N; nothing appended), 0, or
 * -ENOMEM. */
int pg_copyrow_unescape(const char *f, size_t n, struct buf *out);

/*
 * The COPY line captures before U&"..." headers wrote for t when one of
 * its names holds a newline, appended to out: 1, 0 when no name holds
 * one (nothing appended: today's one-line header is the same), or
 * -ENOMEM.  A reader skips such a header by its bytes.
 */
int pg_copyrow_old_head(struct buf *out, const struct pg_copyrow_table *t);

#endif

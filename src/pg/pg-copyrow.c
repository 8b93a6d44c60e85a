/*
 * pg-copyrow: data.sql read back row by row (see pg-copyrow.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pg-copyrow.h"
#include "pg-names.h"

#define PG_COPYROW_WINDOW	(64u << 10)

struct pg_copyrow {
	const struct pg_copyrow_table *t;
	const char *label;
	pg_copyrow_read_fn read;
	void *ctx;
	uint8_t *win;			/* PG_COPYROW_WINDOW bytes */
	size_t wpos, wlen;
	int eof;			/* read returned 0 */
	int head_done, ended;
	struct buf line;		/* the current row, no newline */
	size_t *foff, *flen;		/* its fields */
	uint64_t rows;
};

int pg_copyrow_new(struct pg_copyrow **out, const struct pg_copyrow_table *t,
		   const char *label, pg_copyrow_read_fn read, void *ctx)
{
	struct pg_copyrow *cr = calloc(1, sizeof(*cr));
	size_t n = t->ncols ? t->ncols : 1;

	*out = NULL;
	if (!cr)
		return -ENOMEM;
	cr->t = t;
	cr->label = label;
	cr->read = read;
	cr->ctx = ctx;
	buf_init(&cr->line, 0);
	cr->win = malloc(PG_COPYROW_WINDOW);
	cr->foff = calloc(n, sizeof(*cr->foff));
	cr->flen = calloc(n, sizeof(*cr->flen));
	if (!cr->win || !cr->foff || !cr->flen) {
		pg_copyrow_free(cr);
		return -ENOMEM;
	}
	*out = cr;
	return 0;
}

void pg_copyrow_free(struct pg_copyrow *cr)
{
	if (!cr)
		return;
	buf_release(&cr->line);
	free(cr->win);
	free(cr->foff);
	free(cr->flen);
	free(cr);
}

static int pg_copyrow_bad(const struct pg_copyrow *cr, struct buf *err,
			  const char *what)
{
	buf_seterr(err, "%s: data.sql %s (after row %llu)", cr->label, what,
		   (unsigned long long)cr->rows);
	return -EBADMSG;
}

/* Appends the next line (without its newline) to cr->line: 1, 0 at the
 * end of the file with nothing read, -EBADMSG for a last line without
 * a newline, or the source's error. */
static int pg_copyrow_read_line(struct pg_copyrow *cr, struct buf *err)
{
	size_t got = 0;

	for (;;) {
		const uint8_t *p = cr->win + cr->wpos, *nl;
		size_t left = cr->wlen - cr->wpos;
		ssize_t n;
		int r;

		nl = left ? memchr(p, '\n', left) : NULL;
		r = buf_add(&cr->line, p, nl ? (size_t)(nl - p) : left);
		if (r < 0)
			return r;
		got += nl ? (size_t)(nl - p) + 1 : left;
		if (nl) {
			cr->wpos += (size_t)(nl - p) + 1;
			return 1;
		}
		cr->wpos = cr->wlen = 0;
		if (cr->eof)
			return got ? pg_copyrow_bad(cr, err, "ends inside a row") : 0;
		n = cr->read(cr->ctx, cr->win, PG_COPYROW_WINDOW, err);
		if (n < 0)
			return (int)n;
		if (n == 0)
			cr->eof = 1;
		cr->wlen = (size_t)n;
	}
}

/* The COPY line, or the one an older capture wrote over several lines. */
static int pg_copyrow_head(struct pg_copyrow *cr, struct buf *err)
{
	struct buf old = BUF_INIT;
	int r = pg_copyrow_read_line(cr, err);

	if (r == 0 || (r > 0 && (cr->line.len < 5 ||
				 memcmp(cr->line.data, "COPY ", 5))))
		return pg_copyrow_bad(cr, err, "does not start with its COPY line");
	if (r > 0)
		r = pg_copyrow_old_head(&old, cr->t);
	/* as long as what was read is a first part of the old header */
	while (r > 0 && cr->line.len + 1 < old.len &&
	       !memcmp(cr->line.data, old.data, cr->line.len) &&
	       old.data[cr->line.len] == '\n') {
		r = buf_addch(&cr->line, '\n');
		if (r == 0)
			r = pg_copyrow_read_line(cr, err);
		if (r == 0)
			r = pg_copyrow_bad(cr, err, "ends inside its COPY line");
		else if (r > 0 && (cr->line.len + 1 > old.len ||
				   memcmp(cr->line.data, old.data, cr->line.len)))
			r = pg_copyrow_bad(cr, err, "has a COPY line that is not its table's");
	}
	buf_release(&old);
	cr->head_done = r >= 0;
	return r < 0 ? r : 0;
}

static int pg_copyrow_split(struct pg_copyrow *cr, struct buf *err)
{
	const char *p = (const char *)cr->line.data, *end = p + cr->line.len;
	size_t i = 0;

	if (cr->t->ncols == 0)
		return cr->line.len ? pg_copyrow_bad(cr, err,
			"has a row with fields in a table without columns") : 0;
	for (;;) {
		const char *tab = memchr(p, '\t', (size_t)(end - p));
		const char *stop = tab ? tab : end;

		if (i == cr->t->ncols)
			return pg_copyrow_bad(cr, err,
				"has a row with more fields than the table has columns");
		cr->foff[i] = (size_t)(p - (const char *)cr->line.data);
		cr->flen[i++] = (size_t)(stop - p);
		if (!tab)
			break;
		p = tab + 1;
	}
	if (i != cr->t->ncols)
		return pg_copyrow_bad(cr, err,
			"has a row with fewer fields than the table has columns");
	return 0;
}

int pg_copyrow_next(struct pg_copyrow *cr, struct buf *err)
{
	int r = 0;

	if (cr->ended)
		return 0;
	if (!cr->head_done)
		r = pg_copyrow_head(cr, err);
	buf_reset(&cr->line);
	if (r == 0)
		r = pg_copyrow_read_line(cr, err);
	if (r == 0)
		return pg_copyrow_bad(cr, err, "ends before its \\. line");
	if (r < 0)
		return r;
	if (cr->line.len == 2 && !memcmp(cr->line.data, "\\.", 2)) {
		buf_reset(&cr->line);
		r = pg_copyrow_read_line(cr, err);
		if (r > 0)
			return pg_copyrow_bad(cr, err, "goes on after its \\. line");
		cr->ended = r == 0;
		return r;
	}
	r = pg_copyrow_split(cr, err);
	if (r < 0)
		return r;
	cr->rows++;
	return 1;
}

const char *pg_copyrow_line(const struct pg_copyrow *cr, size_t *len)
{
	*len = cr->line.len;
	return (const char *)cr->line.data;
}

const char *pg_copyrow_field(const struct pg_copyrow *cr, size_t i,
			     size_t *len)
{
	*len = cr->flen[i];
	return (const char *)cr->line.data + cr->foff[i];
}

uint64_t pg_copyrow_rows(const struct pg_copyrow *cr)
{
	return cr->rows;
}

/* The byte an escape \c stands for, consuming its digits from s. */
static uint8_t pg_copyrow_escape(const char *s, size_t n, size_t *used)
{
	static const char from[] = "bfnrtv", to[] = "\b\f\n\r\t\v";
	const char *k = memchr(from, s[0], sizeof(from) - 1);
	unsigned v = 0;
	size_t i = 0;

	*used = 1;
	if (k)
		return (uint8_t)to[k - from];
	if (s[0] >= '0' && s[0] <= '7') {
		while (i < n && i < 3 && s[i] >= '0' && s[i] <= '7')
			v = v * 8 + (unsigned)(s[i++] - '0');
		*used = i;
		return (uint8_t)v;
	}
	if (s[0] == 'x' && n > 1 && hex_digit(s[1]) >= 0) {
		v = (unsigned)hex_digit(s[1]);
		i = 2;
		if (n > 2 && hex_digit(s[2]) >= 0)
			v = v * 16 + (unsigned)hex_digit(s[i++]);
		*used = i;
		return (uint8_t)v;
	}
	return (uint8_t)s[0];
}

int pg_copyrow_unescape(const char *f, size_t n, struct buf *out)
{
	size_t i = 0;

	if (n == 2 && f[0] == '\\' && f[1] == 'N')
		return 1;
	while (i < n) {
		const char *bs = memchr(f + i, '\\', n - i);
		size_t run = bs ? (size_t)(bs - (f + i)) : n - i, used;
		int r = buf_add(out, f + i, run);

		i += run;
		if (r == 0 && i < n) {
			/* a lone backslash at the end stands for itself */
			if (++i == n)
				return buf_addch(out, '\\');
			r = buf_addch(out, pg_copyrow_escape(f + i, n - i, &used));
			i += used;
		}
		if (r < 0)
			return r;
	}
	return 0;
}

int pg_copyrow_old_head(struct buf *out, const struct pg_copyrow_table *t)
{
	int nl = strchr(t->schema, '\n') || strchr(t->name, '\n'), r;

	for (size_t c = 0; c < t->ncols; c++)
		nl |= strchr(t->cols[c], '\n') != NULL;
	if (!nl)
		return 0;
	r = buf_addstr(out, "COPY ");
	if (r == 0)
		r = pg_names_quote_qualified(out, t->schema, t->name);
	for (size_t c = 0; c < t->ncols && r == 0; c++) {
		r = buf_addstr(out, c ? ", " : " (");
		if (r == 0)
			r = pg_names_quote_ident(out, t->cols[c]);
	}
	if (r == 0)
		r = buf_addstr(out, t->ncols ? ") FROM stdin;\n" : " FROM stdin;\n");
	return r < 0 ? r : 1;
}

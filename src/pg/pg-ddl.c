/*
 * pg-ddl: the parsed schema dump (pg-ddl.h): pg_ddl_parse runs the
 * passes in order (pg-ddl-split.c cuts the text into sections,
 * pg-ddl-owner.c finds each section's table), then groups the owned
 * sections by table here, so pg_ddl_table_sql finds one table's sections
 * with a binary search and emits them in dump order.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pg-ddl-int.h"
#include "strv.h"

/* ---- grouping by table ---------------------------------------------- */

static int pg_ddl_group_cmp(const void *a, const void *b, void *ctx)
{
	const struct pg_ddl *d = ctx;
	const struct pg_ddl_section *x = &d->secs[*(const size_t *)a].pub;
	const struct pg_ddl_section *y = &d->secs[*(const size_t *)b].pub;
	int c = strcmp(x->rel_schema, y->rel_schema);

	if (!c)
		c = strcmp(x->rel_name, y->rel_name);
	if (!c)
		c = x->off < y->off ? -1 : x->off > y->off;
	return c;
}

/* d->order: the owned sections sorted by (rel_schema, rel_name, offset). */
static int pg_ddl_group(struct pg_ddl *d)
{
	d->order = malloc((d->n ? d->n : 1) * sizeof(*d->order));
	if (!d->order)
		return -ENOMEM;
	for (size_t i = 0; i < d->n; i++)
		if (d->secs[i].pub.rel_name)
			d->order[d->norder++] = i;
	qsort_r(d->order, d->norder, sizeof(*d->order), pg_ddl_group_cmp, d);
	return 0;
}

/* 1 when section s begins with its own "SET <name> = " line. */
static int pg_ddl_own_set(const struct pg_ddl *d,
			  const struct pg_ddl_section *s, const char *name)
{
	const char *p = d->text + s->off, *end = p + s->len;
	size_t n = strlen(name);

	while (p < end && (*p == '\n' || !strncmp(p, "SET ", 4))) {
		const char *e = memchr(p, '\n', (size_t)(end - p));

		if ((size_t)(end - p) > n && !memcmp(p, name, n))
			return 1;
		p = e ? e + 1 : end;
	}
	return 0;
}

/* The SET line an earlier section wrote for s (pg-ddl.h) when the text
 * so far left another value (*cur): a table's schema.sql is read alone. */
static int pg_ddl_table_set(const struct pg_ddl *d,
			    const struct pg_ddl_section *s, const char *line,
			    const char *want, const char **cur, struct buf *out)
{
	int r = 0;

	if (want && (!*cur || strcmp(*cur, want)) && !pg_ddl_own_set(d, s, line))
		r = buf_addf(out, "%s%s;\n", line, want);
	if (want)
		*cur = want;
	return r;
}

int pg_ddl_table_sql(const struct pg_ddl *d, const char *schema,
		     const char *table, struct buf *out)
{
	size_t lo = 0, hi = d->norder;
	const char *am = NULL, *ts = NULL;
	int r, n = 0;

	/* lower bound of (schema, table) */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct pg_ddl_section *s = &d->secs[d->order[mid]].pub;
		int c = strcmp(s->rel_schema, schema);

		if (!c)
			c = strcmp(s->rel_name, table);
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	r = pg_ddl_preamble(d, out);
	for (size_t i = lo; r == 0 && i < d->norder; i++) {
		const struct pg_ddl_section *s = &d->secs[d->order[i]].pub;

		if (strcmp(s->rel_schema, schema) || strcmp(s->rel_name, table))
			break;
		r = buf_addch(out, '\n');
		if (r == 0)
			r = pg_ddl_table_set(d, s, "SET default_table_access_method = ",
					     s->table_am, &am, out);
		if (r == 0)
			r = pg_ddl_table_set(d, s, "SET default_tablespace = ",
					     s->tablespace, &ts, out);
		if (r == 0)
			r = buf_add(out, d->text + s->off, s->len);
		n++;
	}
	return r < 0 ? r : n;
}

/* ---- pg_dump's \restrict lines -------------------------------------- */

/* The line starting at p (to its '\n' or end) begins with word. */
static int pg_ddl_line_is(const char *p, const char *end, const char *word)
{
	size_t n = strlen(word);

	return (size_t)(end - p) > n && !memcmp(p, word, n);
}

/* Removes n bytes at offset at from the buffer. */
static void pg_ddl_cut(struct buf *b, size_t at, size_t n)
{
	memmove(b->data + at, b->data + at + n, b->len - at - n);
	buf_setlen(b, b->len - n);
}

/* The end of the line starting at p: past its '\n' (or end). */
static const char *pg_ddl_eol(const char *p, const char *end)
{
	const char *nl = memchr(p, '\n', (size_t)(end - p));

	return nl ? nl + 1 : end;
}

int pg_ddl_unrestrict(struct buf *dump)
{
	const char *p = (const char *)dump->data, *end = p + dump->len, *e;
	int n = 0;

	/* the head: comment and blank lines, then "\restrict KEY" */
	while (p < end && (*p == '\n' || pg_ddl_line_is(p, end, "--")))
		p = pg_ddl_eol(p, end);
	if (pg_ddl_line_is(p, end, "\\restrict ")) {
		e = pg_ddl_eol(p, end);
		/* and the blank line pg_dump writes after it */
		if (e < end && *e == '\n')
			e++;
		pg_ddl_cut(dump, (size_t)(p - (const char *)dump->data), (size_t)(e - p));
		n++;
	}
	/* the tail: "\unrestrict KEY" as the last line but blank ones */
	p = (const char *)dump->data;
	end = p + dump->len;
	e = end;
	while (e > p && e[-1] == '\n')
		e--;
	while (e > p && e[-1] != '\n')
		e--;
	if (pg_ddl_line_is(e, end, "\\unrestrict ")) {
		pg_ddl_cut(dump, (size_t)(e - p), (size_t)(end - e));
		n++;
	}
	return n;
}

/* ---- the parsed dump ------------------------------------------------ */

int pg_ddl_parse(struct pg_ddl **out, const char *dump, size_t len,
		 struct buf *err)
{
	struct pg_ddl *d = calloc(1, sizeof(*d));
	int r;

	*out = NULL;
	if (!d)
		return -ENOMEM;
	d->text = pg_ddl_strndup(dump, len);
	if (!d->text) {
		free(d);
		return -ENOMEM;
	}
	d->len = len;
	r = pg_ddl_split(d, err);
	if (r == 0)
		r = pg_ddl_owner_resolve(d);
	if (r == 0)
		r = pg_ddl_group(d);
	if (r < 0) {
		pg_ddl_free(d);
		return r;
	}
	*out = d;
	return 0;
}

void pg_ddl_free(struct pg_ddl *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->n; i++) {
		struct pg_ddl_sec *s = &d->secs[i];

		free((char *)s->pub.name);
		free((char *)s->pub.type);
		free((char *)s->pub.schema);
		free((char *)s->pub.owner);
		free((char *)s->pub.rel_schema);
		free((char *)s->pub.rel_name);
		free(s->via_schema);
		free(s->via_name);
	}
	free(d->secs);
	free(d->order);
	strv_free(d->setv, d->nsetv);
	pg_ddl_owner_release(d);
	free(d->text);
	free(d);
}

const char *pg_ddl_text(const struct pg_ddl *d)
{
	return d->text;
}

size_t pg_ddl_count(const struct pg_ddl *d)
{
	return d->n;
}

const struct pg_ddl_section *pg_ddl_get(const struct pg_ddl *d, size_t i)
{
	return i < d->n ? &d->secs[i].pub : NULL;
}

/*
 * pg-ddl-split: the first pass of pg_ddl_parse: pg_dump's schema-only
 * text cut into sections at its "-- Name: ...; Type: ...; Schema: ...;
 * Owner: ..." header blocks, each header read into its fields, and the
 * preamble of session settings before the first section.
 *
 * The scan knows PostgreSQL's quoting ('...', E'...', "...", $tag$...$tag$,
 * comments) through sql-lex, because a function body may legitimately
 * contain a line that looks like a section header; only headers outside
 * any literal count.  psql meta-command lines (\restrict, \connect) are
 * stepped over here and never open or end a section.  Which table a
 * section belongs to is the next pass (pg-ddl-owner.c).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pg-ddl-int.h"
#include "strv.h"
#include "sql-lex.h"

/* ---- lines ---------------------------------------------------------- */

static int pg_ddl_split_line_is(const char *p, const char *end, const char *s)
{
	size_t n = strlen(s);

	return (size_t)(end - p) >= n && memcmp(p, s, n) == 0 &&
	       (p + n == end || p[n] == '\n');
}

static const char *pg_ddl_split_eol(const char *p, const char *end)
{
	const char *q = memchr(p, '\n', (size_t)(end - p));

	return q ? q : end;
}

static const char *pg_ddl_split_next_line(const char *p, const char *end)
{
	const char *q = pg_ddl_split_eol(p, end);

	return q < end ? q + 1 : end;
}

/* "--\n-- Name: ...\n--\n" (or "-- Data for Name:") at p? */
static int pg_ddl_split_is_header(const char *p, const char *end)
{
	const char *l2, *l3;

	if (!pg_ddl_split_line_is(p, end, "--"))
		return 0;
	l2 = pg_ddl_split_next_line(p, end);
	if (!((size_t)(end - l2) > 9 && memcmp(l2, "-- Name: ", 9) == 0) &&
	    !((size_t)(end - l2) > 18 && memcmp(l2, "-- Data for Name: ", 18) == 0))
		return 0;
	l3 = pg_ddl_split_next_line(l2, end);
	return pg_ddl_split_line_is(l3, end, "--");
}


/* ---- sections ------------------------------------------------------- */

static int pg_ddl_split_type_at(const char *p, const char *end, size_t *tlen)
{
	const char *q = p;

	while (q < end && ((*q >= 'A' && *q <= 'Z') || *q == ' '))
		q++;
	if (q == p || (size_t)(end - q) < 10 || memcmp(q, "; Schema: ", 10))
		return 0;
	*tlen = (size_t)(q - p);
	return 1;
}

/*
 * Parses "Name: X; Type: Y; Schema: Z; Owner: W[; Tablespace: T]".  Names
 * may contain "; " themselves; Type is the one field with a fixed
 * alphabet (capitals and spaces), so it anchors the split.
 */
static int pg_ddl_split_header(struct pg_ddl_sec *s, const char *line,
			 const char *end)
{
	const char *rest = memchr(line, ':', (size_t)(end - line));
	const char *t = NULL, *sch, *own, *ts, *q;
	size_t tlen = 0;

	if (!rest)
		return -EBADMSG;
	rest += 2;
	if (rest > end)
		return -EBADMSG;
	for (q = rest; (q = memmem(q, (size_t)(end - q), "; Type: ", 8));
	     q++) {
		if (pg_ddl_split_type_at(q + 8, end, &tlen)) {
			t = q;
			break;
		}
	}
	if (!t)
		return -EBADMSG;
	sch = t + 8 + tlen + 10;
	own = memmem(sch, (size_t)(end - sch), "; Owner: ", 9);
	ts = NULL;
	if (own) {
		for (q = own + 9; (q = memmem(q, (size_t)(end - q),
					      "; Tablespace: ", 14)); q++)
			ts = q;
	}
	s->pub.name = pg_ddl_strndup(rest, (size_t)(t - rest));
	s->pub.type = pg_ddl_strndup(t + 8, tlen);
	if (own && own - sch == 1 && *sch == '-')
		s->pub.schema = pg_ddl_strndup("", 0);
	else
		s->pub.schema = pg_ddl_strndup(sch, (size_t)((own ? own : end) - sch));
	if (!own)
		s->pub.owner = pg_ddl_strndup("", 0);
	else if (end - (own + 9) == 1 && own[9] == '-')
		s->pub.owner = pg_ddl_strndup("", 0);
	else
		s->pub.owner = pg_ddl_strndup(own + 9,
					      (size_t)((ts ? ts : end) - own - 9));
	if (!s->pub.name || !s->pub.type || !s->pub.schema || !s->pub.owner)
		return -ENOMEM;
	return 0;
}

static int pg_ddl_split_add(struct pg_ddl *d, size_t off)
{
	if (d->n == d->cap) {
		size_t ncap = d->cap ? d->cap * 2 : 64;
		struct pg_ddl_sec *p = realloc(d->secs, ncap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		d->secs = p;
		d->cap = ncap;
	}
	memset(&d->secs[d->n], 0, sizeof(d->secs[d->n]));
	d->secs[d->n].pub.off = off;
	d->n++;
	return 0;
}

/* Pulls pg_dump's "SET default_tablespace = ..." style lines written
 * right before a header into the section they prepare. */
static size_t pg_ddl_split_claim_sets(const struct pg_ddl *d, size_t off,
				size_t floor)
{
	static const char *const sets[] = {
		"SET default_tablespace ", "SET default_table_access_method ",
		"SET default_with_oids ",
	};
	size_t start = off, p = off;

	while (p > floor) {
		size_t ls = p - 1, n;
		int hit = 0;

		/* text[p-1] is the '\n' ending the previous line */
		while (ls > floor && d->text[ls - 1] != '\n')
			ls--;
		n = p - 1 - ls;
		if (n == 0) {
			p = ls;
			continue;
		}
		for (size_t i = 0; i < sizeof(sets) / sizeof(sets[0]); i++)
			if (n > strlen(sets[i]) &&
			    !memcmp(d->text + ls, sets[i], strlen(sets[i])))
				hit = 1;
		if (!hit)
			break;
		start = p = ls;
	}
	return start;
}

static int pg_ddl_split_scan(struct pg_ddl *d, struct buf *err)
{
	const char *start = d->text, *end = d->text + d->len, *p = start;
	size_t lineno = 1;
	int bol = 1, r;

	while (p < end) {
		if (bol && pg_ddl_split_is_header(p, end)) {
			const char *l2 = pg_ddl_split_next_line(p, end);
			size_t off = (size_t)(p - start);

			if (d->n)
				off = pg_ddl_split_claim_sets(d, off, d->secs[d->n - 1].pub.off);
			else
				d->pre_end = off = pg_ddl_split_claim_sets(d, off, 0);
			r = pg_ddl_split_add(d, off);
			if (r == 0)
				r = pg_ddl_split_header(&d->secs[d->n - 1], l2,
							pg_ddl_split_eol(l2, end));
			if (r < 0) {
				if (err && r == -EBADMSG)
					buf_addf(err, "pg_dump output line %zu: unreadable section header",
						 lineno + 1);
				return r;
			}
			p = pg_ddl_split_next_line(pg_ddl_split_next_line(l2, end),
						   end);
			lineno += 3;
			continue;
		}
		if (d->n && bol &&
		    (size_t)(end - p) >= 36 &&
		    !memcmp(p, "-- PostgreSQL database dump complete", 36)) {
			/* back over the "--" line that opens the trailer */
			const char *t = p;

			if (t - start >= 3 && t[-1] == '\n' && t[-2] == '-' &&
			    t[-3] == '-' && (t - start == 3 || t[-4] == '\n'))
				t -= 3;
			d->secs[d->n - 1].pub.len = (size_t)(t - start) -
						    d->secs[d->n - 1].pub.off;
			return 0;
		}
		if (bol && *p == '\\') {
			/* a psql meta-command line (\restrict, \connect) */
			p = pg_ddl_split_next_line(p, end);
			lineno++;
			continue;
		}
		{
			const char *q = p;

			if (sql_lex_skip(&q, end, start)) {
				for (const char *c = p; c < q; c++)
					lineno += *c == '\n';
				bol = q > start && q[-1] == '\n';
				p = q;
				continue;
			}
		}
		bol = *p == '\n';
		lineno += *p == '\n';
		p++;
	}
	if (!d->n)
		d->pre_end = d->len;
	return 0;
}

static void pg_ddl_split_lengths(struct pg_ddl *d)
{
	for (size_t i = 0; i + 1 < d->n; i++)
		d->secs[i].pub.len = d->secs[i + 1].pub.off - d->secs[i].pub.off;
	if (d->n && !d->secs[d->n - 1].pub.len)
		d->secs[d->n - 1].pub.len = d->len - d->secs[d->n - 1].pub.off;
}

/* Line [p, e) is "SET <name> = value;": *cur becomes a copy of value
 * (kept in d->setv).  0 (also for another line) or -ENOMEM. */
static int pg_ddl_split_setting(struct pg_ddl *d, const char *p, const char *e,
				const char *name, const char **cur)
{
	size_t n = strlen(name);
	char *v;

	if ((size_t)(e - p) < n + 2 || memcmp(p, name, n) || e[-1] != ';')
		return 0;
	v = pg_ddl_strndup(p + n, (size_t)(e - 1 - (p + n)));
	if (!v || strv_take(&d->setv, &d->nsetv, v) < 0)
		return -ENOMEM;
	*cur = v;
	return 0;
}

/* The SET lines of [p, end), as far as they go (blank lines apart; the
 * whole preamble, or the ones a section claimed), into *am and *ts. */
static int pg_ddl_split_sets(struct pg_ddl *d, const char *p, const char *end,
			     int whole, const char **am, const char **ts)
{
	int r = 0;

	while (p < end && r == 0) {
		const char *e = pg_ddl_split_eol(p, end);

		if (e > p && (size_t)(e - p) > 4 && !memcmp(p, "SET ", 4)) {
			r = pg_ddl_split_setting(d, p, e,
				"SET default_table_access_method = ", am);
			if (r == 0)
				r = pg_ddl_split_setting(d, p, e,
					"SET default_tablespace = ", ts);
		} else if (e > p && !whole) {
			break;
		}
		p = e < end ? e + 1 : end;
	}
	return r;
}

/* The sections that create a relation with an access method, or
 * storage in a tablespace (a constraint's index). */
static const char *const pg_ddl_split_am_types[] = {
	"TABLE", "MATERIALIZED VIEW", NULL,
};
static const char *const pg_ddl_split_ts_types[] = {
	"TABLE", "MATERIALIZED VIEW", "INDEX", "CONSTRAINT", NULL,
};

static int pg_ddl_split_is(const struct pg_ddl_section *s,
			   const char *const *types)
{
	for (size_t i = 0; s->type && types[i]; i++)
		if (!strcmp(s->type, types[i]))
			return 1;
	return 0;
}

/* Every section's table_am and tablespace, in dump order. */
static int pg_ddl_split_settings(struct pg_ddl *d)
{
	const char *am = NULL, *ts = NULL;
	int r = pg_ddl_split_sets(d, d->text, d->text + d->pre_end, 1, &am, &ts);

	for (size_t i = 0; i < d->n && r == 0; i++) {
		struct pg_ddl_section *s = &d->secs[i].pub;

		r = pg_ddl_split_sets(d, d->text + s->off, d->text + s->off + s->len,
				      0, &am, &ts);
		s->table_am = pg_ddl_split_is(s, pg_ddl_split_am_types) ? am : NULL;
		s->tablespace = pg_ddl_split_is(s, pg_ddl_split_ts_types) ? ts : NULL;
	}
	return r;
}

int pg_ddl_split(struct pg_ddl *d, struct buf *err)
{
	int r = pg_ddl_split_scan(d, err);

	if (r == 0) {
		pg_ddl_split_lengths(d);
		r = pg_ddl_split_settings(d);
	}
	return r;
}

/* ---- the preamble --------------------------------------------------- */

int pg_ddl_preamble(const struct pg_ddl *d, struct buf *out)
{
	const char *p = d->text, *end = d->text + d->pre_end;
	int r = 0;

	while (p < end && r == 0) {
		const char *e = pg_ddl_split_eol(p, end);
		size_t n = (size_t)(e - p);

		if ((n > 4 && !memcmp(p, "SET ", 4)) ||
		    (n > 28 && !memcmp(p, "SELECT pg_catalog.set_config", 28))) {
			r = buf_add(out, p, n);
			if (r == 0)
				r = buf_addch(out, '\n');
		}
		p = e < end ? e + 1 : end;
	}
	return r;
}

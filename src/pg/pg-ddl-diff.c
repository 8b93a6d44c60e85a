/*
 * pg-ddl-diff: schema objects of two snapshots compared (see
 * pg-ddl-diff.h).  Both sides become lists of objects sorted by
 * identity and position, then one merge walks them.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pg-ddl-diff.h"

#define PG_DDL_DIFF_SETVAL	"SELECT pg_catalog.setval("

struct pg_ddl_diff_obj {
	const char *type, *schema, *name;
	const char *text;
	size_t len, pos;
	const char *rel_schema, *rel_name;
};

struct pg_ddl_diff_list {
	struct pg_ddl_diff_obj *v;
	size_t n, cap;
	char **own;		/* strings the list allocated */
	size_t nown;
};

static void pg_ddl_diff_list_release(struct pg_ddl_diff_list *l)
{
	for (size_t i = 0; i < l->nown; i++)
		free(l->own[i]);
	free(l->own);
	free(l->v);
}

static int pg_ddl_diff_push(struct pg_ddl_diff_list *l,
			    const struct pg_ddl_diff_obj *o)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 64;
		struct pg_ddl_diff_obj *v = realloc(l->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n] = *o;
	l->v[l->n].pos = l->n;
	l->n++;
	return 0;
}

/* Keeps b's bytes in l (their owner from now on); NULL on ENOMEM. */
static const char *pg_ddl_diff_keep(struct pg_ddl_diff_list *l, struct buf *b)
{
	char **own = realloc(l->own, (l->nown + 1) * sizeof(*own));
	char *s;

	if (!own)
		return NULL;
	l->own = own;
	s = buf_detach(b, NULL);
	if (s)
		l->own[l->nown++] = s;
	return s;
}

static int pg_ddl_diff_idcmp(const struct pg_ddl_diff_obj *x,
			     const struct pg_ddl_diff_obj *y)
{
	int c = strcmp(x->type, y->type);

	if (c == 0)
		c = strcmp(x->schema, y->schema);
	return c ? c : strcmp(x->name, y->name);
}

static int pg_ddl_diff_sortcmp(const void *a, const void *b)
{
	const struct pg_ddl_diff_obj *x = a, *y = b;
	int c = pg_ddl_diff_idcmp(x, y);

	if (c)
		return c;
	return x->pos < y->pos ? -1 : x->pos > y->pos;
}

/* The merge of two lists, sorted here. */
static int pg_ddl_diff_lists(struct pg_ddl_diff_list *a,
			     struct pg_ddl_diff_list *b, pg_ddl_diff_fn fn,
			     void *ctx)
{
	size_t i = 0, j = 0;
	int r = 0;

	if (a->n)
		qsort(a->v, a->n, sizeof(*a->v), pg_ddl_diff_sortcmp);
	if (b->n)
		qsort(b->v, b->n, sizeof(*b->v), pg_ddl_diff_sortcmp);
	while (r == 0 && (i < a->n || j < b->n)) {
		const struct pg_ddl_diff_obj *x = i < a->n ? &a->v[i] : NULL;
		const struct pg_ddl_diff_obj *y = j < b->n ? &b->v[j] : NULL;
		int c = !y ? -1 : !x ? 1 : pg_ddl_diff_idcmp(x, y);
		struct pg_ddl_diff_item it;

		memset(&it, 0, sizeof(it));
		if (c <= 0) {
			it.before = x->text;
			it.before_len = x->len;
			i++;
		}
		if (c >= 0) {
			it.after = y->text;
			it.after_len = y->len;
			j++;
		}
		it.change = c < 0 ? PG_DDL_DROPPED : c > 0 ? PG_DDL_ADDED :
			    PG_DDL_CHANGED;
		if (c == 0 && x->len == y->len && !memcmp(x->text, y->text, x->len))
			continue;
		it.type = (c < 0 ? x : y)->type;
		it.schema = (c < 0 ? x : y)->schema;
		it.name = (c < 0 ? x : y)->name;
		it.rel_schema = (c < 0 ? x : y)->rel_schema;
		it.rel_name = (c < 0 ? x : y)->rel_name;
		r = fn(ctx, &it);
	}
	return r;
}

/* ---- pg_dump sections ---------------------------------------------------- */

static int pg_ddl_diff_sections(const struct pg_ddl *d,
				struct pg_ddl_diff_list *l)
{
	size_t n = d ? pg_ddl_count(d) : 0;
	int r = 0;

	for (size_t i = 0; i < n && r == 0; i++) {
		const struct pg_ddl_section *s = pg_ddl_get(d, i);
		struct pg_ddl_diff_obj o = {
			s->type ? s->type : "", s->schema ? s->schema : "",
			s->name ? s->name : "", pg_ddl_text(d) + s->off,
			s->len, 0, s->rel_schema, s->rel_name,
		};

		r = pg_ddl_diff_push(l, &o);
	}
	return r;
}

int pg_ddl_diff(const struct pg_ddl *a, const struct pg_ddl *b,
		pg_ddl_diff_fn fn, void *ctx)
{
	struct pg_ddl_diff_list la, lb;
	int r;

	memset(&la, 0, sizeof(la));
	memset(&lb, 0, sizeof(lb));
	r = pg_ddl_diff_sections(a, &la);
	if (r == 0)
		r = pg_ddl_diff_sections(b, &lb);
	if (r == 0)
		r = pg_ddl_diff_lists(&la, &lb, fn, ctx);
	pg_ddl_diff_list_release(&la);
	pg_ddl_diff_list_release(&lb);
	return r;
}

/* ---- sequences.sql ------------------------------------------------------- */

/* "ident" at *p (doubled quotes inside) into out; the end, or NULL. */
static const char *pg_ddl_diff_ident(const char *p, const char *end,
				     struct buf *out)
{
	if (p == end || *p++ != '"')
		return NULL;
	while (p < end) {
		if (*p == '"' && (p + 1 == end || p[1] != '"'))
			return p + 1;
		if (*p == '"')
			p++;
		if (buf_addch(out, *p++) < 0)
			return NULL;
	}
	return NULL;
}

/*
 * The setval statement at p: 'regclass' (E'...' when it holds a
 * backslash, pg_names_quote_literal) read back; its "schema"."name"
 * split (else all of it is the name); *val the rest up to ");".  The
 * end of the statement, or NULL for something else.
 */
static const char *pg_ddl_diff_setval(const char *p, const char *end,
				      struct buf *lit, struct buf *schema,
				      struct buf *name, const char **val,
				      size_t *vallen)
{
	size_t plen = strlen(PG_DDL_DIFF_SETVAL);
	const char *q = p + plen, *stop, *e;
	int esc;

	if ((size_t)(end - p) < plen || memcmp(p, PG_DDL_DIFF_SETVAL, plen))
		return NULL;
	esc = q < end && *q == 'E';
	q += esc;
	if (q >= end || *q++ != '\'')
		return NULL;
	for (;;) {
		if (q >= end)
			return NULL;
		if (*q == '\'' && !(q + 1 < end && q[1] == '\''))
			break;
		if (*q == '\'' || (esc && *q == '\\'))
			q++;
		if (q >= end || buf_addch(lit, *q++) < 0)
			return NULL;
	}
	q++;
	if (end - q < 2 || memcmp(q, ", ", 2))
		return NULL;
	*val = q + 2;
	stop = memmem(*val, (size_t)(end - *val), ");", 2);
	if (!stop)
		return NULL;
	*vallen = (size_t)(stop - *val);
	e = pg_ddl_diff_ident((const char *)lit->data,
			      (const char *)lit->data + lit->len, schema);
	if (e && *e == '.')
		e = pg_ddl_diff_ident(e + 1, (const char *)lit->data + lit->len, name);
	if (!e || e != (const char *)lit->data + lit->len) {
		buf_reset(schema);
		buf_reset(name);
		if (buf_add(name, lit->data, lit->len) < 0)
			return NULL;
	}
	return stop + 2;
}

static int pg_ddl_diff_setval_list(const char *p, size_t len,
				   struct pg_ddl_diff_list *l)
{
	const char *end = p + len;
	struct buf lit = BUF_INIT, schema = BUF_INIT, name = BUF_INIT;
	int r = 0;

	while (p < end && r == 0) {
		struct pg_ddl_diff_obj o = { "SEQUENCE SET", NULL, NULL, NULL, 0, 0, NULL, NULL };
		const char *next, *nl;

		buf_reset(&lit);
		buf_reset(&schema);
		buf_reset(&name);
		next = pg_ddl_diff_setval(p, end, &lit, &schema, &name, &o.text, &o.len);
		if (next) {
			o.schema = pg_ddl_diff_keep(l, &schema);
			o.name = pg_ddl_diff_keep(l, &name);
			r = o.schema && o.name ? pg_ddl_diff_push(l, &o) : -ENOMEM;
			p = next;
		}
		nl = memchr(p, '\n', (size_t)(end - p));
		p = nl ? nl + 1 : end;
	}
	buf_release(&lit);
	buf_release(&schema);
	buf_release(&name);
	return r;
}

int pg_ddl_diff_setvals(const char *a, size_t alen, const char *b,
			size_t blen, pg_ddl_diff_fn fn, void *ctx)
{
	struct pg_ddl_diff_list la, lb;
	int r;

	memset(&la, 0, sizeof(la));
	memset(&lb, 0, sizeof(lb));
	r = pg_ddl_diff_setval_list(a, alen, &la);
	if (r == 0)
		r = pg_ddl_diff_setval_list(b, blen, &lb);
	if (r == 0)
		r = pg_ddl_diff_lists(&la, &lb, fn, ctx);
	pg_ddl_diff_list_release(&la);
	pg_ddl_diff_list_release(&lb);
	return r;
}

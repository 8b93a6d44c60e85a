/*
 * pg-ddl-owner: the second pass of pg_ddl_parse: which table each
 * section belongs to, read from the section's SQL.
 *
 * The header's Name is not enough (pg_dump flattens newlines in it and
 * writes "table constraint" with a space), so every section type has its
 * statement read with pg-ddl-tok: "CREATE TABLE s.t", "ALTER TABLE ONLY
 * s.t", "CREATE INDEX i ON s.t", "COMMENT ON COLUMN s.t.c" ...  A section
 * known only through an index or a sequence (INDEX ATTACH, a sequence's
 * COMMENT or ACL) is resolved once every section is read, through the
 * links the constraint, index, identity and OWNED BY sections record.
 * Adding a section type pg_dump emits is a branch of pg_ddl_owner_read.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pg-ddl-int.h"
#include "pg-ddl-tok.h"

/* ---- links: an index or sequence to its table ----------------------- */

/* Records that the index (via PG_DDL_VIA_INDEX) or sequence schema.name
 * belongs to the table s belongs to. */
static int pg_ddl_owner_link(struct pg_ddl *d, enum pg_ddl_via via,
			     const char *schema, const char *name,
			     const struct pg_ddl_sec *s)
{
	int idx = via == PG_DDL_VIA_INDEX;
	struct pg_ddl_link **v = idx ? &d->idx : &d->seq;
	size_t *n = idx ? &d->nidx : &d->nseq;
	size_t *cap = idx ? &d->capidx : &d->capseq;
	struct pg_ddl_link *l;

	if (*n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 32;

		l = realloc(*v, ncap * sizeof(*l));
		if (!l)
			return -ENOMEM;
		*v = l;
		*cap = ncap;
	}
	l = &(*v)[*n];
	l->schema = strdup(schema);
	l->name = strdup(name);
	l->rel_schema = strdup(s->pub.rel_schema);
	l->rel_name = strdup(s->pub.rel_name);
	(*n)++;
	if (!l->schema || !l->name || !l->rel_schema || !l->rel_name)
		return -ENOMEM;
	return 0;
}

static int pg_ddl_owner_link_cmp(const void *a, const void *b)
{
	const struct pg_ddl_link *x = a, *y = b;
	int c = strcmp(x->schema, y->schema);

	return c ? c : strcmp(x->name, y->name);
}

static const struct pg_ddl_link *
pg_ddl_owner_link_find(const struct pg_ddl_link *v, size_t n,
		       const char *schema, const char *name)
{
	struct pg_ddl_link key = { (char *)schema, (char *)name, NULL, NULL };

	return n ? bsearch(&key, v, n, sizeof(*v), pg_ddl_owner_link_cmp) : NULL;
}

/* ---- reading a section's statement ---------------------------------- */

/* The schema of a possibly unqualified name: pg_dump qualifies
 * everything, but fall back to the header's schema. */
static const char *pg_ddl_owner_q_schema(const struct pg_ddl_tok_qname *q,
					 const struct pg_ddl_sec *s, int parts)
{
	return q->n >= parts ? q->part[q->n - parts] : s->pub.schema;
}

static int pg_ddl_owner_set(struct pg_ddl_sec *s, const char *schema,
			    const char *name)
{
	char *a = strdup(schema), *b = strdup(name);

	if (!a || !b) {
		free(a);
		free(b);
		return -ENOMEM;
	}
	s->pub.rel_schema = a;
	s->pub.rel_name = b;
	return 0;
}

static int pg_ddl_owner_set_via(struct pg_ddl_sec *s, enum pg_ddl_via via,
				const char *schema, const char *name)
{
	s->via_schema = strdup(schema);
	s->via_name = strdup(name);
	s->via = via;
	return s->via_schema && s->via_name ? 0 : -ENOMEM;
}

/* Sets the owner from a qualified table name (last two parts when the
 * name has `skip` trailing parts such as a column). */
static int pg_ddl_owner_q(struct pg_ddl_sec *s,
			  const struct pg_ddl_tok_qname *q, int skip)
{
	int n = q->n - skip;

	if (n < 1)
		return 0;
	return pg_ddl_owner_set(s, n >= 2 ? q->part[n - 2] : s->pub.schema,
				q->part[n - 1]);
}

/* ALTER TABLE [ONLY] <qname>: the table, with *t left after it. */
static int pg_ddl_owner_alter_table(struct pg_ddl_tok_lex *x,
				    struct pg_ddl_tok *t,
				    struct pg_ddl_tok_qname *q)
{
	pg_ddl_tok_next(x, t);
	if (!pg_ddl_tok_kw(t, "TABLE"))
		return -EINVAL;
	pg_ddl_tok_next(x, t);
	/* IF EXISTS only appears with --if-exists; accept it anyway */
	if (pg_ddl_tok_kw(t, "IF")) {
		pg_ddl_tok_next(x, t);
		pg_ddl_tok_next(x, t);
	}
	if (pg_ddl_tok_kw(t, "ONLY"))
		pg_ddl_tok_next(x, t);
	return pg_ddl_tok_qname_read(x, t, q);
}

/* "<name> ON <qname>" as in CREATE POLICY / COMMENT ON TRIGGER x ON t. */
static int pg_ddl_owner_named_on(struct pg_ddl_tok_lex *x,
				 struct pg_ddl_tok *t, struct pg_ddl_sec *s)
{
	struct pg_ddl_tok_qname q;
	int r;

	pg_ddl_tok_next(x, t);		/* the object's own name */
	pg_ddl_tok_next(x, t);
	if (!pg_ddl_tok_kw(t, "ON"))
		return 0;
	pg_ddl_tok_next(x, t);
	if (pg_ddl_tok_kw(t, "DOMAIN"))
		return 0;
	r = pg_ddl_tok_qname_read(x, t, &q);
	if (r == 0)
		r = pg_ddl_owner_q(s, &q, 0);
	pg_ddl_tok_qname_release(&q);
	return r == -EINVAL ? 0 : r;
}

/* COMMENT ON / SECURITY LABEL ... ON <objtype> <what>: t is at objtype. */
static int pg_ddl_owner_on_object(struct pg_ddl_tok_lex *x,
				  struct pg_ddl_tok *t, struct pg_ddl_sec *s)
{
	struct pg_ddl_tok_qname q;
	int r = 0;

	if (pg_ddl_tok_kw(t, "CONSTRAINT") || pg_ddl_tok_kw(t, "TRIGGER") ||
	    pg_ddl_tok_kw(t, "POLICY") || pg_ddl_tok_kw(t, "RULE"))
		return pg_ddl_owner_named_on(x, t, s);
	if (pg_ddl_tok_kw(t, "TABLE") || pg_ddl_tok_kw(t, "COLUMN") ||
	    pg_ddl_tok_kw(t, "INDEX") || pg_ddl_tok_kw(t, "SEQUENCE")) {
		int col = pg_ddl_tok_kw(t, "COLUMN");
		int idx = pg_ddl_tok_kw(t, "INDEX");
		int seq = pg_ddl_tok_kw(t, "SEQUENCE");

		pg_ddl_tok_next(x, t);
		r = pg_ddl_tok_qname_read(x, t, &q);
		if (r == 0 && (idx || seq))
			r = pg_ddl_owner_set_via(s, idx ? PG_DDL_VIA_INDEX :
						 PG_DDL_VIA_SEQ,
						 pg_ddl_owner_q_schema(&q, s, 2),
						 q.part[q.n - 1]);
		else if (r == 0)
			r = pg_ddl_owner_q(s, &q, col);
		pg_ddl_tok_qname_release(&q);
	}
	return r == -EINVAL ? 0 : r;
}

static int pg_ddl_owner_type_is(const struct pg_ddl_sec *s, const char *t)
{
	return strcmp(s->pub.type, t) == 0;
}

/* Reads the section's SQL and records its owner (or the index/sequence
 * through which the owner will be found) plus index/sequence links. */
static int pg_ddl_owner_read(struct pg_ddl *d, struct pg_ddl_sec *s)
{
	static const char *const k_alter[] = { "ALTER", NULL };
	static const char *const k_create[] = { "CREATE", NULL };
	static const char *const k_seq[] = { "ALTER", "CREATE", NULL };
	static const char *const k_comment[] = { "COMMENT", "SECURITY", NULL };
	static const char *const k_acl[] = { "GRANT", "REVOKE", NULL };
	struct pg_ddl_tok_lex x;
	struct pg_ddl_tok t;
	struct pg_ddl_tok_qname q, q2;
	int r = 0;

	/* start after the three header lines */
	x.start = d->text;
	x.end = d->text + s->pub.off + s->pub.len;
	x.p = d->text + s->pub.off;
	memset(&q, 0, sizeof(q));
	memset(&q2, 0, sizeof(q2));

	if (pg_ddl_owner_type_is(s, "TABLE")) {
		if (pg_ddl_tok_find_stmt(&x, &t, k_create) < 0)
			return 0;
		if (!pg_ddl_tok_seek_kw(&x, &t, "TABLE"))
			return 0;
		pg_ddl_tok_next(&x, &t);
		r = pg_ddl_tok_qname_read(&x, &t, &q);
		if (r == 0)
			r = pg_ddl_owner_q(s, &q, 0);
	} else if (pg_ddl_owner_type_is(s, "TABLE ATTACH")) {
		if (pg_ddl_tok_find_stmt(&x, &t, k_alter) < 0)
			return 0;
		r = pg_ddl_owner_alter_table(&x, &t, &q);
		if (r == 0 && pg_ddl_tok_seek_kw(&x, &t, "PARTITION")) {
			pg_ddl_tok_next(&x, &t);
			r = pg_ddl_tok_qname_read(&x, &t, &q2);
			if (r == 0)
				r = pg_ddl_owner_q(s, &q2, 0);
		}
	} else if (pg_ddl_owner_type_is(s, "DEFAULT") ||
		   pg_ddl_owner_type_is(s, "CONSTRAINT") ||
		   pg_ddl_owner_type_is(s, "CHECK CONSTRAINT") ||
		   pg_ddl_owner_type_is(s, "FK CONSTRAINT") ||
		   pg_ddl_owner_type_is(s, "ROW SECURITY")) {
		if (pg_ddl_tok_find_stmt(&x, &t, k_alter) < 0)
			return 0;
		r = pg_ddl_owner_alter_table(&x, &t, &q);
		if (r == 0)
			r = pg_ddl_owner_q(s, &q, 0);
		/* PRIMARY KEY / UNIQUE / EXCLUDE create an index of that name,
		 * which partitions' INDEX ATTACH entries refer to */
		if (r == 0 && pg_ddl_tok_kw(&t, "ADD")) {
			pg_ddl_tok_next(&x, &t);
			if (pg_ddl_tok_kw(&t, "CONSTRAINT")) {
				char *cn;

				pg_ddl_tok_next(&x, &t);
				cn = pg_ddl_tok_ident(&t);
				pg_ddl_tok_next(&x, &t);
				if (cn && (pg_ddl_tok_kw(&t, "PRIMARY") ||
					   pg_ddl_tok_kw(&t, "UNIQUE") ||
					   pg_ddl_tok_kw(&t, "EXCLUDE")))
					r = pg_ddl_owner_link(d, PG_DDL_VIA_INDEX,
							      s->pub.rel_schema,
							      cn, s);
				free(cn);
			}
		}
	} else if (pg_ddl_owner_type_is(s, "SEQUENCE")) {
		int k = pg_ddl_tok_find_stmt(&x, &t, k_seq);

		if (k == 0) {
			/* identity: ALTER TABLE t ALTER COLUMN c ADD GENERATED
			 * ... (SEQUENCE NAME s.seq ...) */
			r = pg_ddl_owner_alter_table(&x, &t, &q);
			if (r == 0)
				r = pg_ddl_owner_q(s, &q, 0);
			while (r == 0 && pg_ddl_tok_seek_kw(&x, &t, "SEQUENCE")) {
				pg_ddl_tok_next(&x, &t);
				if (!pg_ddl_tok_kw(&t, "NAME"))
					continue;
				pg_ddl_tok_next(&x, &t);
				r = pg_ddl_tok_qname_read(&x, &t, &q2);
				if (r == 0)
					r = pg_ddl_owner_link(d, PG_DDL_VIA_SEQ,
							      pg_ddl_owner_q_schema(&q2, s, 2),
							      q2.part[q2.n - 1], s);
				break;
			}
		} else if (k == 1 && pg_ddl_tok_seek_kw(&x, &t, "SEQUENCE")) {
			pg_ddl_tok_next(&x, &t);
			r = pg_ddl_tok_qname_read(&x, &t, &q);
			if (r == 0)
				r = pg_ddl_owner_set_via(s, PG_DDL_VIA_SEQ,
							 pg_ddl_owner_q_schema(&q, s, 2),
							 q.part[q.n - 1]);
		}
	} else if (pg_ddl_owner_type_is(s, "SEQUENCE OWNED BY")) {
		if (pg_ddl_tok_find_stmt(&x, &t, k_alter) < 0)
			return 0;
		pg_ddl_tok_next(&x, &t);
		if (!pg_ddl_tok_kw(&t, "SEQUENCE"))
			return 0;
		pg_ddl_tok_next(&x, &t);
		r = pg_ddl_tok_qname_read(&x, &t, &q);
		if (r == 0 && pg_ddl_tok_kw(&t, "OWNED")) {
			pg_ddl_tok_next(&x, &t);
			pg_ddl_tok_next(&x, &t);
			r = pg_ddl_tok_qname_read(&x, &t, &q2);
			if (r == 0 && q2.n >= 2)
				r = pg_ddl_owner_q(s, &q2, 1);
			if (r == 0 && s->pub.rel_name)
				r = pg_ddl_owner_link(d, PG_DDL_VIA_SEQ,
						      pg_ddl_owner_q_schema(&q, s, 2),
						      q.part[q.n - 1], s);
		}
	} else if (pg_ddl_owner_type_is(s, "INDEX")) {
		if (pg_ddl_tok_find_stmt(&x, &t, k_create) < 0)
			return 0;
		if (!pg_ddl_tok_seek_kw(&x, &t, "INDEX"))
			return 0;
		pg_ddl_tok_next(&x, &t);
		if (pg_ddl_tok_kw(&t, "CONCURRENTLY"))
			pg_ddl_tok_next(&x, &t);
		r = pg_ddl_tok_qname_read(&x, &t, &q2);
		if (r == 0 && pg_ddl_tok_kw(&t, "ON")) {
			pg_ddl_tok_next(&x, &t);
			if (pg_ddl_tok_kw(&t, "ONLY"))
				pg_ddl_tok_next(&x, &t);
			r = pg_ddl_tok_qname_read(&x, &t, &q);
			if (r == 0)
				r = pg_ddl_owner_q(s, &q, 0);
			/* an index lives in its table's schema */
			if (r == 0)
				r = pg_ddl_owner_link(d, PG_DDL_VIA_INDEX,
						      s->pub.rel_schema,
						      q2.part[q2.n - 1], s);
		}
	} else if (pg_ddl_owner_type_is(s, "INDEX ATTACH")) {
		if (pg_ddl_tok_find_stmt(&x, &t, k_alter) < 0)
			return 0;
		if (pg_ddl_tok_seek_kw(&x, &t, "PARTITION")) {
			pg_ddl_tok_next(&x, &t);
			r = pg_ddl_tok_qname_read(&x, &t, &q);
			if (r == 0)
				r = pg_ddl_owner_set_via(s, PG_DDL_VIA_INDEX,
							 pg_ddl_owner_q_schema(&q, s, 2),
							 q.part[q.n - 1]);
		}
	} else if (pg_ddl_owner_type_is(s, "TRIGGER") ||
		   pg_ddl_owner_type_is(s, "POLICY")) {
		if (pg_ddl_tok_find_stmt(&x, &t, k_create) < 0)
			return 0;
		pg_ddl_tok_next(&x, &t);
		if (pg_ddl_tok_kw(&t, "CONSTRAINT"))
			pg_ddl_tok_next(&x, &t);
		/* t is TRIGGER/POLICY; the name follows, then ... ON t */
		pg_ddl_tok_next(&x, &t);
		pg_ddl_tok_next(&x, &t);
		if (pg_ddl_tok_seek_kw(&x, &t, "ON")) {
			pg_ddl_tok_next(&x, &t);
			r = pg_ddl_tok_qname_read(&x, &t, &q);
			if (r == 0)
				r = pg_ddl_owner_q(s, &q, 0);
		}
	} else if (pg_ddl_owner_type_is(s, "RULE")) {
		if (pg_ddl_tok_find_stmt(&x, &t, k_create) < 0)
			return 0;
		if (pg_ddl_tok_seek_kw(&x, &t, "TO")) {
			pg_ddl_tok_next(&x, &t);
			r = pg_ddl_tok_qname_read(&x, &t, &q);
			if (r == 0)
				r = pg_ddl_owner_q(s, &q, 0);
		}
	} else if (pg_ddl_owner_type_is(s, "STATISTICS")) {
		if (pg_ddl_tok_find_stmt(&x, &t, k_create) < 0)
			return 0;
		if (pg_ddl_tok_seek_kw(&x, &t, "FROM")) {
			pg_ddl_tok_next(&x, &t);
			r = pg_ddl_tok_qname_read(&x, &t, &q);
			if (r == 0)
				r = pg_ddl_owner_q(s, &q, 0);
		}
	} else if (pg_ddl_owner_type_is(s, "COMMENT") ||
		   pg_ddl_owner_type_is(s, "SECURITY LABEL")) {
		if (pg_ddl_tok_find_stmt(&x, &t, k_comment) < 0)
			return 0;
		if (pg_ddl_tok_seek_kw(&x, &t, "ON")) {
			pg_ddl_tok_next(&x, &t);
			r = pg_ddl_owner_on_object(&x, &t, s);
		}
	} else if (pg_ddl_owner_type_is(s, "ACL")) {
		if (pg_ddl_tok_find_stmt(&x, &t, k_acl) < 0)
			return 0;
		if (pg_ddl_tok_seek_kw(&x, &t, "ON")) {
			pg_ddl_tok_next(&x, &t);
			if (pg_ddl_tok_kw(&t, "TABLE") || pg_ddl_tok_kw(&t, "SEQUENCE"))
				r = pg_ddl_owner_on_object(&x, &t, s);
		}
	}
	pg_ddl_tok_qname_release(&q);
	pg_ddl_tok_qname_release(&q2);
	/* SQL we cannot read simply has no owner */
	return r == -EINVAL ? 0 : r;
}

/* ---- all sections --------------------------------------------------- */

int pg_ddl_owner_resolve(struct pg_ddl *d)
{
	int r;

	for (size_t i = 0; i < d->n; i++) {
		r = pg_ddl_owner_read(d, &d->secs[i]);
		if (r < 0)
			return r;
	}
	if (d->nidx)
		qsort(d->idx, d->nidx, sizeof(*d->idx), pg_ddl_owner_link_cmp);
	if (d->nseq)
		qsort(d->seq, d->nseq, sizeof(*d->seq), pg_ddl_owner_link_cmp);
	for (size_t i = 0; i < d->n; i++) {
		struct pg_ddl_sec *s = &d->secs[i];
		const struct pg_ddl_link *l = NULL;

		if (s->via == PG_DDL_VIA_INDEX)
			l = pg_ddl_owner_link_find(d->idx, d->nidx,
						   s->via_schema, s->via_name);
		else if (s->via == PG_DDL_VIA_SEQ)
			l = pg_ddl_owner_link_find(d->seq, d->nseq,
						   s->via_schema, s->via_name);
		if (l && !s->pub.rel_name) {
			r = pg_ddl_owner_set(s, l->rel_schema, l->rel_name);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

static void pg_ddl_owner_links_free(struct pg_ddl_link *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].schema);
		free(v[i].name);
		free(v[i].rel_schema);
		free(v[i].rel_name);
	}
	free(v);
}

void pg_ddl_owner_release(struct pg_ddl *d)
{
	pg_ddl_owner_links_free(d->idx, d->nidx);
	pg_ddl_owner_links_free(d->seq, d->nseq);
}

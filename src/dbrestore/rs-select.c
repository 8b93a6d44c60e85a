/*
 * rs-select: turning --only/--schema/--table into per-table and
 * per-schema decisions, and applying them to DDL sections and sequence
 * values.
 */
#include <errno.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#include "pg-names.h"
#include "rs-select.h"
#include "rs-sql.h"
#include "strv.h"

static const struct {
	const char *name;
	unsigned bit;
} rs_select_parts[] = {
	{ "roles", RS_ONLY_ROLES },
	{ "schema", RS_ONLY_SCHEMA },
	{ "data", RS_ONLY_DATA },
	{ "auth", RS_ONLY_AUTH },
	{ "storage-meta", RS_ONLY_STORAGE },
	{ "migrations", RS_ONLY_MIGRATIONS },
};
#define RS_SELECT_NPARTS (sizeof(rs_select_parts) / sizeof(rs_select_parts[0]))

int rs_select_parse_only(const char *list, unsigned *mask, struct buf *err)
{
	const char *p = list;

	while (*p) {
		const char *e = strchr(p, ',');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		size_t k;

		/* tolerate "roles, data" */
		while (n && *p == ' ')
			p++, n--;
		while (n && p[n - 1] == ' ')
			n--;
		for (k = 0; k < RS_SELECT_NPARTS; k++)
			if (strlen(rs_select_parts[k].name) == n &&
			    !memcmp(rs_select_parts[k].name, p, n))
				break;
		if (k == RS_SELECT_NPARTS) {
			if (err)
				buf_addf(err, "--only: unknown part \"%.*s\" (use roles, schema, data, auth, storage-meta, migrations)",
					 (int)n, p);
			return -EINVAL;
		}
		*mask |= rs_select_parts[k].bit;
		if (!e)
			break;
		p = e + 1;
	}
	return 0;
}

int rs_select_only_str(unsigned mask, struct buf *out)
{
	int r = 0, first = 1;

	for (size_t k = 0; k < RS_SELECT_NPARTS && r == 0; k++) {
		if (!(mask & rs_select_parts[k].bit))
			continue;
		if (!first)
			r = buf_addch(out, ',');
		if (r == 0)
			r = buf_addstr(out, rs_select_parts[k].name);
		first = 0;
	}
	return r;
}

unsigned rs_select_class(const char *schema)
{
	if (!strcmp(schema, "auth"))
		return RS_ONLY_AUTH;
	if (!strcmp(schema, "storage"))
		return RS_ONLY_STORAGE;
	if (!strcmp(schema, "supabase_migrations"))
		return RS_ONLY_MIGRATIONS;
	return 0;
}

/* The parts of `only` that bring a schema's DDL / its rows. */
static unsigned rs_select_bits(unsigned only, const char *schema)
{
	unsigned cls = rs_select_class(schema), bits = 0;

	if (cls)
		return (only & cls) ? RS_SELECT_DDL | RS_SELECT_DATA : 0;
	if (only & RS_ONLY_SCHEMA)
		bits |= RS_SELECT_DDL;
	if (only & RS_ONLY_DATA)
		bits |= RS_SELECT_DATA;
	return bits;
}

static int rs_select_match(char *const *pats, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (fnmatch(pats[i], s, 0) == 0)
			return 1;
	return 0;
}

static int rs_select_copy_opts(char ***v, size_t *n, const char *const *src)
{
	int r = 0;

	for (; src && *src && r == 0; src++)
		r = strv_push(v, n, *src);
	return r;
}

/* --table pattern vs a table: "s.t" with a '.', else the bare name. */
static int rs_select_table_match(const char *pat, const char *qual,
				 const char *name)
{
	return fnmatch(pat, strchr(pat, '.') ? qual : name, 0) == 0;
}

int rs_select_build(struct rs_select *s, const struct rs_meta *m,
		    const struct rs_select_opts *o, struct buf *err)
{
	struct buf q = BUF_INIT;
	size_t *hits = NULL;
	int r;

	memset(s, 0, sizeof(*s));
	s->only = o->only ? o->only : RS_ONLY_ALL;
	r = rs_select_copy_opts(&s->opt_schemas, &s->nopt_schemas, o->schemas);
	if (r == 0)
		r = rs_select_copy_opts(&s->opt_tables, &s->nopt_tables, o->tables);
	if (r < 0)
		return r;
	s->whole = s->nopt_tables == 0;
	/* roles are cluster-wide: narrowing to schemas or tables leaves
	 * them out unless --only names them */
	s->roles = o->only ? !!(o->only & RS_ONLY_ROLES) :
		   s->nopt_schemas == 0 && s->nopt_tables == 0;
	s->globals = s->whole && s->nopt_schemas == 0 &&
		     (s->only & RS_ONLY_SCHEMA);
	s->tables = calloc(m->ntables + 1, sizeof(*s->tables));
	hits = calloc(s->nopt_tables + 1, sizeof(*hits));
	if (!s->tables || !hits) {
		free(hits);
		return -ENOMEM;
	}
	s->ntables = m->ntables;
	for (size_t i = 0; i < m->ntables && r == 0; i++) {
		const struct rs_meta_table *t = &m->tables[i];
		unsigned bits = rs_select_bits(s->only, t->schema);
		int in = 1;

		if (s->nopt_schemas &&
		    !rs_select_match(s->opt_schemas, s->nopt_schemas, t->schema))
			in = 0;
		buf_reset(&q);
		r = buf_addf(&q, "%s.%s", t->schema, t->name);
		if (r == 0 && in && s->nopt_tables) {
			int any = 0;

			for (size_t k = 0; k < s->nopt_tables; k++)
				if (rs_select_table_match(s->opt_tables[k],
							  (char *)q.data, t->name)) {
					hits[k]++;
					any = 1;
				}
			in = any;
		}
		if (t->partitioned || !t->has_data)
			bits &= ~RS_SELECT_DATA;
		s->tables[i] = in ? bits : 0;
	}
	for (size_t k = 0; k < s->nopt_tables && r == 0; k++)
		if (!hits[k]) {
			if (err)
				buf_addf(err, "--table %s matches no table of the snapshot",
					 s->opt_tables[k]);
			r = -ENOENT;
		}
	for (size_t k = 0; k < s->nopt_schemas && r == 0; k++) {
		int any = 0;

		for (size_t i = 0; i < m->nschemas; i++)
			if (fnmatch(s->opt_schemas[k], m->schemas[i], 0) == 0)
				any = 1;
		if (!any) {
			if (err)
				buf_addf(err, "--schema %s matches no schema of the snapshot",
					 s->opt_schemas[k]);
			r = -ENOENT;
		}
	}
	for (size_t i = 0; i < m->nschemas && r == 0 && s->whole; i++) {
		const char *name = m->schemas[i];
		unsigned bits = rs_select_bits(s->only, name);

		if (s->nopt_schemas &&
		    !rs_select_match(s->opt_schemas, s->nopt_schemas, name))
			continue;
		if (bits & RS_SELECT_DDL)
			r = strv_push(&s->schemas, &s->nschemas, name);
		if (r == 0 && (bits & RS_SELECT_DATA))
			r = strv_push(&s->data_schemas, &s->ndata_schemas, name);
	}
	s->extensions = s->nschemas > 0;
	free(hits);
	buf_release(&q);
	return r;
}

static void rs_select_strv_free(char **v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		free(v[i]);
	free(v);
}

void rs_select_release(struct rs_select *s)
{
	if (!s)
		return;
	free(s->tables);
	rs_select_strv_free(s->schemas, s->nschemas);
	rs_select_strv_free(s->data_schemas, s->ndata_schemas);
	rs_select_strv_free(s->opt_schemas, s->nopt_schemas);
	rs_select_strv_free(s->opt_tables, s->nopt_tables);
	memset(s, 0, sizeof(*s));
}

unsigned rs_select_table(const struct rs_select *s, const struct rs_meta *m,
			 const char *schema, const char *name)
{
	const struct rs_meta_table *t = rs_meta_find(m, schema, name);
	size_t i = t ? (size_t)(t - m->tables) : 0;

	return t && i < s->ntables ? s->tables[i] : 0;
}

int rs_select_schema(const struct rs_select *s, const char *schema)
{
	for (size_t i = 0; i < s->nschemas; i++)
		if (!strcmp(s->schemas[i], schema))
			return 1;
	return 0;
}

/* "ALTER PUBLICATION p ADD TABLE [ONLY] s.t": the table, or -EINVAL. */
static int rs_select_pubtable(const char *sql, size_t len, struct buf *schema,
			      struct buf *name)
{
	struct rs_sql_lex x;
	struct rs_sql_tok t;

	rs_sql_lex_init(&x, sql, len);
	rs_sql_lex_next(&x, &t);
	while (t.kind != RS_SQL_END && !rs_sql_is(&t, "TABLE"))
		rs_sql_lex_next(&x, &t);
	if (t.kind == RS_SQL_END)
		return -EINVAL;
	rs_sql_lex_next(&x, &t);
	if (rs_sql_is(&t, "ONLY"))
		rs_sql_lex_next(&x, &t);
	return rs_sql_qname(&x, &t, schema, name);
}

/* A section about a schema itself ("SCHEMA", or a COMMENT/ACL/SECURITY
 * LABEL named "SCHEMA x"): its name, else NULL. */
static const char *rs_select_schema_object(const struct pg_ddl_section *sec)
{
	if (!strcmp(sec->type, "SCHEMA"))
		return sec->name;
	if ((!strcmp(sec->type, "COMMENT") || !strcmp(sec->type, "ACL") ||
	     !strcmp(sec->type, "SECURITY LABEL")) && !*sec->schema &&
	    !strncmp(sec->name, "SCHEMA ", 7))
		return sec->name + 7;
	return NULL;
}

int rs_select_section(const struct rs_select *s, const struct rs_meta *m,
		      const struct pg_ddl *d, size_t i)
{
	const struct pg_ddl_section *sec = pg_ddl_get(d, i);
	const char *sch;

	if (!sec)
		return 0;
	if (sec->rel_schema && rs_meta_find(m, sec->rel_schema, sec->rel_name))
		return !!(rs_select_table(s, m, sec->rel_schema, sec->rel_name) &
			  RS_SELECT_DDL);
	if (!strcmp(sec->type, "PUBLICATION TABLE")) {
		struct buf ps = BUF_INIT, pn = BUF_INIT;
		int in = 0;

		/* a table the capture did not take (an extension's) is in
		 * the publication of a whole-database restore; an entry
		 * that does not read is kept rather than lost in silence */
		if (rs_select_pubtable(pg_ddl_text(d) + sec->off, sec->len,
				       &ps, &pn) < 0)
			in = s->globals;
		else if (!rs_meta_find(m, (char *)ps.data, (char *)pn.data))
			in = s->globals;
		else
			in = !!(rs_select_table(s, m, (char *)ps.data,
						(char *)pn.data) & RS_SELECT_DDL);
		buf_release(&ps);
		buf_release(&pn);
		return in;
	}
	/* an index on a materialized view and the like: its schema's */
	sch = sec->rel_schema;
	if (!sch)
		sch = rs_select_schema_object(sec);
	if (!sch && *sec->schema)
		sch = sec->schema;
	if (sch) {
		for (size_t k = 0; k < m->nschemas; k++)
			if (!strcmp(m->schemas[k], sch))
				return rs_select_schema(s, sch);
		/* a catalog: pg_dump writes the privileges (column ones
		 * too) that differ from the initial ones, and only in a
		 * whole-database dump; they are database-wide */
		if (!strcmp(sch, "pg_catalog") || !strcmp(sch, "information_schema"))
			return s->globals;
		/* a schema the capture did not take as its own (it holds
		 * only extension objects) is still in the dump: it is where
		 * CREATE EXTENSION puts them */
		return s->extensions;
	}
	if (!strcmp(sec->type, "EXTENSION") ||
	    (!strcmp(sec->type, "COMMENT") && !strncmp(sec->name, "EXTENSION ", 10)))
		return s->extensions;
	return s->globals;
}

int rs_select_sequence(const struct rs_select *s, const struct rs_meta *m,
		       const struct pg_ddl *d, const char *schema,
		       const char *name)
{
	for (size_t i = 0; d && i < pg_ddl_count(d); i++) {
		const struct pg_ddl_section *sec = pg_ddl_get(d, i);
		const struct rs_meta_table *mt;

		if (strcmp(sec->type, "SEQUENCE") || strcmp(sec->schema, schema) ||
		    strcmp(sec->name, name) || !sec->rel_schema)
			continue;
		mt = rs_meta_find(m, sec->rel_schema, sec->rel_name);
		/* a partitioned parent has no rows of its own (no DATA
		 * bit), but its identity or serial sequence numbers its
		 * partitions' rows: it follows the parent's selection and
		 * whether --only takes that schema's data */
		if (mt && mt->partitioned)
			return rs_select_table(s, m, sec->rel_schema, sec->rel_name) &&
			       (rs_select_bits(s->only, sec->rel_schema) & RS_SELECT_DATA);
		if (mt)
			return !!(rs_select_table(s, m, sec->rel_schema,
						  sec->rel_name) & RS_SELECT_DATA);
	}
	for (size_t i = 0; i < s->ndata_schemas; i++)
		if (!strcmp(s->data_schemas[i], schema))
			return 1;
	return 0;
}

int rs_select_json(const struct rs_select *s, const struct rs_meta *m,
		   struct buf *out)
{
	int r = buf_addstr(out, "{\"only\": [");
	int first = 1;

	for (size_t k = 0; k < RS_SELECT_NPARTS && r == 0; k++) {
		if (!(s->only & rs_select_parts[k].bit))
			continue;
		r = buf_addf(out, "%s\"%s\"", first ? "" : ", ",
			     rs_select_parts[k].name);
		first = 0;
	}
	if (r == 0)
		r = buf_addstr(out, "], \"schemas\": ");
	if (r == 0)
		r = pg_names_quote_json_array(out, s->opt_schemas, s->nopt_schemas);
	if (r == 0)
		r = buf_addstr(out, ", \"tables\": ");
	if (r == 0)
		r = pg_names_quote_json_array(out, s->opt_tables, s->nopt_tables);
	if (r == 0)
		r = buf_addf(out, ", \"roles\": %s, \"selected\": [",
			     s->roles ? "true" : "false");
	first = 1;
	for (size_t i = 0; i < m->ntables && r == 0; i++) {
		struct buf q = BUF_INIT;

		if (!s->tables[i])
			continue;
		r = buf_addf(&q, "%s.%s", m->tables[i].schema, m->tables[i].name);
		if (r == 0)
			r = buf_addstr(out, first ? "" : ", ");
		if (r == 0)
			r = pg_names_quote_json(out, (char *)q.data);
		buf_release(&q);
		first = 0;
	}
	return r ? r : buf_addstr(out, "]}");
}

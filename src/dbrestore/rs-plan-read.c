/*
 * rs-plan-read: what the plan takes from the snapshot alone.  It loads
 * the database files (meta.json, schema.sql, roles.sql, sequences.sql,
 * large_objects.sql, the large objects' list) and reads the DDL the way
 * the plan needs it: which sections are post-data, which object a
 * COMMENT or ACL is about, the table an ALTER PUBLICATION adds, the DROP
 * for an object clean mode recreates, the role or membership a
 * roles.sql statement is about, and the COPY query a table's rows were
 * captured with.
 *
 * None of it asks the target, so it is the bottom floor of the plan:
 * the probe (rs-plan-probe.c) and the decisions (rs-plan.c) stand on it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pg-names.h"
#include "rs-lo.h"
#include "rs-plan-int.h"
#include "rs-sql.h"

/* schema.sql of even very large projects stays far below */
#define RS_PLAN_READ_DDL_MAX	(1024u << 20)
#define RS_PLAN_READ_META_MAX	(256u << 20)

/* ---- the snapshot's files -------------------------------------------------- */

static int rs_plan_read_file(const struct rs_input *in, const char *root,
			     const char *leaf, struct buf *out, size_t max,
			     struct buf *err)
{
	struct buf path = BUF_INIT;
	int r = buf_addf(&path, "%s/%s", root, leaf);

	if (r == 0)
		r = rs_input_slurp(in, (char *)path.data, out, max, err);
	buf_release(&path);
	return r;
}

/* A file older snapshots lack: absent is empty, not an error. */
static int rs_plan_read_optional(const struct rs_input *in, const char *root,
				 const char *leaf, struct buf *out, struct buf *err)
{
	struct buf e = BUF_INIT;
	int r = rs_plan_read_file(in, root, leaf, out, RS_PLAN_READ_DDL_MAX, &e);

	if (r == -ENOENT) {
		buf_reset(out);
		r = 0;
	} else if (r < 0 && err) {
		buf_add(err, e.data, e.len);
	}
	buf_release(&e);
	return r;
}

int rs_plan_source_load(struct rs_plan_source *src, const struct rs_input *in,
			const char *root, struct buf *err)
{
	struct buf meta = BUF_INIT;
	int r;

	memset(src, 0, sizeof(*src));
	buf_init(&src->schema_sql, 0);
	buf_init(&src->roles_sql, 0);
	buf_init(&src->sequences_sql, 0);
	buf_init(&src->lo_sql, 0);
	src->root = strdup(root ? root : "db");
	if (!src->root)
		return -ENOMEM;
	r = rs_plan_read_file(in, src->root, "meta.json", &meta,
			      RS_PLAN_READ_META_MAX, err);
	if (r == 0)
		r = rs_meta_parse(&src->meta, (char *)meta.data, meta.len, err);
	if (r == 0)
		r = rs_plan_read_file(in, src->root, "schema.sql", &src->schema_sql,
				      RS_PLAN_READ_DDL_MAX, err);
	if (r == 0)
		r = rs_plan_read_file(in, src->root, "roles.sql", &src->roles_sql,
				      RS_PLAN_READ_DDL_MAX, err);
	if (r == 0)
		r = rs_plan_read_file(in, src->root, "sequences.sql",
				      &src->sequences_sql, RS_PLAN_READ_DDL_MAX, err);
	/* snapshots taken before vault removed them: a restore needs no
	 * \restrict (it runs over libpq), and they are no statement that
	 * was skipped */
	if (r == 0)
		pg_ddl_unrestrict(&src->schema_sql);
	if (r == 0 && src->meta->large_objects)
		r = rs_plan_read_optional(in, src->root, "large_objects.sql",
					  &src->lo_sql, err);
	if (r == 0)
		r = pg_ddl_parse(&src->ddl, (char *)src->schema_sql.data,
				 src->schema_sql.len, err);
	if (r == 0)
		r = pg_ddl_parse(&src->roles, (char *)src->roles_sql.data,
				 src->roles_sql.len, err);
	if (r == 0)
		r = pg_ddl_parse(&src->lo_ddl, (char *)src->lo_sql.data,
				 src->lo_sql.len, err);
	if (r == 0)
		r = rs_lo_list(in, src->root, src->meta->large_objects,
			       &src->lo_oids, &src->nlo, &src->lo_unlisted, err);
	buf_release(&meta);
	return r;
}

void rs_plan_source_release(struct rs_plan_source *src)
{
	if (!src)
		return;
	rs_meta_free(src->meta);
	pg_ddl_free(src->ddl);
	pg_ddl_free(src->roles);
	pg_ddl_free(src->lo_ddl);
	buf_release(&src->lo_sql);
	buf_release(&src->schema_sql);
	buf_release(&src->roles_sql);
	buf_release(&src->sequences_sql);
	free(src->lo_oids);
	free(src->root);
	memset(src, 0, sizeof(*src));
}
/* ---- meta.json ------------------------------------------------------------- */

int rs_plan_copy_sql(const struct rs_meta_table *t, const char *from,
		     const char *where, struct buf *out)
{
	int r = buf_addstr(out, "COPY (SELECT ");

	for (size_t c = 0; c < t->ncols && r == 0; c++) {
		if (c)
			r = buf_addstr(out, ", ");
		if (r == 0)
			r = pg_names_quote_ident(out, t->cols[c]);
	}
	/* an extension's configuration table: the rows of its filter, as
	 * captured; with a where of its own, the filter in a subquery */
	if (r == 0)
		r = buf_addstr(out, t->condition && where ? " FROM (SELECT * FROM ONLY " :
			       " FROM ONLY ");
	if (r == 0 && from)
		r = buf_addstr(out, from);
	else if (r == 0)
		r = pg_names_quote_qualified(out, t->schema, t->name);
	if (r == 0 && t->condition)
		r = buf_addf(out, " %s", t->condition);
	if (r == 0 && t->condition && where)
		r = buf_addstr(out, ") AS vault_filtered");
	if (r == 0 && where)
		r = buf_addf(out, " WHERE %s", where);
	for (size_t c = 0; c < t->npk && r == 0; c++) {
		r = buf_addstr(out, c ? ", " : " ORDER BY ");
		if (r == 0)
			r = pg_names_quote_ident(out, t->pk[c]);
	}
	return r ? r : buf_addstr(out, ") TO STDOUT");
}

/* ---- schema.sql ------------------------------------------------------------ */

int rs_plan_read_type_in(const char *type, const char *const *set)
{
	for (; *set; set++)
		if (!strcmp(type, *set))
			return 1;
	return 0;
}

/* pg_dump's post-data entries: created after the rows are loaded */
static const char *const rs_plan_read_post_types[] = {
	"INDEX", "INDEX ATTACH", "CONSTRAINT", "FK CONSTRAINT",
	"CHECK CONSTRAINT", "TRIGGER", "EVENT TRIGGER", "RULE", "POLICY",
	"ROW SECURITY", "PUBLICATION", "PUBLICATION TABLE",
	"PUBLICATION TABLES IN SCHEMA", "SUBSCRIPTION", "STATISTICS",
	"MATERIALIZED VIEW DATA", NULL,
};

int rs_plan_read_post_data(const struct pg_ddl_section *s)
{
	return rs_plan_read_type_in(s->type, rs_plan_read_post_types);
}

/* The object a dependent section (COMMENT, ACL ...) is about. */
const struct rs_plan_object *rs_plan_read_parent(const struct rs_plan *p,
						 const struct pg_ddl *d,
						 const struct pg_ddl_section *s)
{
	static const char *const two[] = {
		"MATERIALIZED VIEW ", "EVENT TRIGGER ", "FOREIGN TABLE ", NULL,
	};
	const char *name = s->name, *sp;
	size_t len;

	for (int k = 0; two[k]; k++)
		if (!strncmp(name, two[k], strlen(two[k]))) {
			name += strlen(two[k]);
			goto found;
		}
	sp = strchr(name, ' ');
	if (!sp)
		return NULL;
	name = sp + 1;
found:
	len = strlen(name);
	/* "COLUMN v.c": the relation v */
	if (!strncmp(s->name, "COLUMN ", 7) && strchr(name, '.'))
		len = (size_t)(strchr(name, '.') - name);
	for (size_t i = 0; i < p->nobjects; i++) {
		const struct rs_plan_object *o = &p->objects[i];
		const struct pg_ddl_section *os = pg_ddl_get(d, o->section);

		if (strcmp(os->schema, s->schema))
			continue;
		if (strlen(os->name) == len && !memcmp(os->name, name, len))
			return o;
	}
	return NULL;
}

/* ALTER PUBLICATION p ADD TABLE [ONLY] s.t -> "p\ns\nt" */
int rs_plan_read_pubtable(const struct pg_ddl *d, const struct pg_ddl_section *s,
			  struct buf *key, struct buf *ts, struct buf *tn)
{
	const char *sql = pg_ddl_text(d) + s->off;
	struct rs_sql_lex lx;
	struct rs_sql_tok t;
	struct buf pub = BUF_INIT;
	int r = -EINVAL;

	buf_reset(key);
	rs_sql_lex_init(&lx, sql, s->len);
	rs_sql_lex_next(&lx, &t);
	while (t.kind != RS_SQL_END && !rs_sql_is(&t, "PUBLICATION"))
		rs_sql_lex_next(&lx, &t);
	rs_sql_lex_next(&lx, &t);
	if (rs_sql_is_ident(&t) && rs_sql_ident(&t, &pub) == 0) {
		while (t.kind != RS_SQL_END && !rs_sql_is(&t, "TABLE"))
			rs_sql_lex_next(&lx, &t);
		rs_sql_lex_next(&lx, &t);
		if (rs_sql_is(&t, "ONLY"))
			rs_sql_lex_next(&lx, &t);
		r = rs_sql_qname(&lx, &t, ts, tn);
	}
	if (r == 0)
		r = buf_addf(key, "%s\n%s\n%s", (char *)pub.data, (char *)ts->data,
			     (char *)tn->data);
	buf_release(&pub);
	return r;
}

/* ALTER TABLE [ONLY] s.t ATTACH PARTITION ... -> s, t */
int rs_plan_read_attach_parent(const struct pg_ddl *d, const struct pg_ddl_section *s,
			       struct buf *schema, struct buf *name)
{
	struct rs_sql_lex lx;
	struct rs_sql_tok t;

	rs_sql_lex_init(&lx, pg_ddl_text(d) + s->off, s->len);
	rs_sql_lex_next(&lx, &t);
	if (!rs_sql_is(&t, "ALTER"))
		return -EINVAL;
	rs_sql_lex_next(&lx, &t);
	if (!rs_sql_is(&t, "TABLE"))
		return -EINVAL;
	rs_sql_lex_next(&lx, &t);
	if (rs_sql_is(&t, "ONLY"))
		rs_sql_lex_next(&lx, &t);
	buf_reset(schema);
	buf_reset(name);
	return rs_sql_qname(&lx, &t, schema, name);
}

struct rs_plan_table *rs_plan_read_table_of(struct rs_plan *p,
					    const struct rs_plan_source *src,
					    const char *schema, const char *name)
{
	for (size_t i = 0; i < p->ntables; i++)
		if (!strcmp(src->meta->tables[p->tables[i].meta].schema, schema) &&
		    !strcmp(src->meta->tables[p->tables[i].meta].name, name))
			return &p->tables[i];
	return NULL;
}

int rs_plan_read_drop_sql(struct rs_plan_object *o, const struct pg_ddl_section *s)
{
	const char *what = !strcmp(s->type, "VIEW") ? "VIEW" :
			   !strcmp(s->type, "MATERIALIZED VIEW") ? "MATERIALIZED VIEW" :
			   !strcmp(s->type, "SEQUENCE") ? "SEQUENCE" :
			   !strcmp(s->type, "DOMAIN") ? "DOMAIN" :
			   !strcmp(s->type, "TYPE") ? "TYPE" :
			   !strcmp(s->type, "FOREIGN TABLE") ? "FOREIGN TABLE" : NULL;
	struct buf b = BUF_INIT;
	int r;

	if (!what)
		return 0;
	r = buf_addf(&b, "DROP %s IF EXISTS ", what);
	if (r == 0)
		r = pg_names_quote_qualified(&b, s->schema, s->name);
	if (r == 0)
		r = buf_addch(&b, ';');
	if (r == 0 && !(o->drop_sql = buf_detach(&b, NULL)))
		r = -ENOMEM;
	buf_release(&b);
	return r;
}


/* ---- roles.sql ------------------------------------------------------------- */

enum rs_plan_read_about rs_plan_read_role_stmt(const char *text,
					       const struct rs_sanitized_stmt *st,
					       const struct pg_ddl_section *s,
					       struct buf *key)
{
	enum rs_plan_read_about about = RS_PLAN_READ_OTHER;
	struct buf a = BUF_INIT, b = BUF_INIT;
	struct rs_sql_lex lx;
	struct rs_sql_tok t;

	buf_reset(key);
	rs_sql_lex_init(&lx, text + st->off, st->len);
	rs_sql_lex_next(&lx, &t);
	if (!strcmp(s->type, "ROLE SETTINGS")) {
		rs_sql_lex_next(&lx, &t);	/* ROLE */
		rs_sql_lex_next(&lx, &t);
		if (rs_sql_is_ident(&t) && rs_sql_ident(&t, key) == 0)
			about = RS_PLAN_READ_ROLE;
	} else if (rs_sql_is(&t, "GRANT")) {
		rs_sql_lex_next(&lx, &t);
		if (rs_sql_is_ident(&t) && rs_sql_ident(&t, &a) == 0) {
			rs_sql_lex_next(&lx, &t);	/* TO */
			rs_sql_lex_next(&lx, &t);
			if (rs_sql_is_ident(&t) && rs_sql_ident(&t, &b) == 0 &&
			    buf_addf(key, "%s\n%s", (char *)a.data, (char *)b.data) == 0)
				about = RS_PLAN_READ_MEMBER;
		}
	}
	buf_release(&a);
	buf_release(&b);
	return about;
}

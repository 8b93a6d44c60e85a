/*
 * pg-snap-tree: the tree pg_snap_emit produces, in manifest order.
 *
 * The entries are planned first (directories, the fixed files, each
 * table's directory, data.sql and schema.sql, each large object), sorted
 * with manifest_path_cmp and checked for two objects mapping to one
 * path.  pg-snap-proof.c decides which tables are taken unread from
 * the previous snapshot; the first pass (pg-snap-data.c) reads every
 * other table and every large object into streams, meta.json is built
 * (pg-snap-meta.c), and the second pass here walks the plan and emits
 * each entry through the sink: texts already in memory, data.sql and
 * large objects by attaching their streams (a reused table's data.sql
 * by the sink's begin_file_reused), each table's schema.sql cut from
 * the dump by pg_ddl_table_sql.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "manifest.h"
#include "pg-snap-int.h"

/* ---- the plan ------------------------------------------------------- */

/* The entries, in manifest order once pg_snap_tree_plan returns. */
struct pg_snap_tree {
	struct pg_snap_entry *e;
	size_t n, cap;
};

static int pg_snap_tree_add(struct pg_snap_tree *p, enum pg_snap_kind kind,
			    const char *path, const char *leaf)
{
	struct pg_snap_entry *e;
	struct buf b = BUF_INIT;
	int r;

	if (p->n == p->cap) {
		size_t ncap = p->cap ? p->cap * 2 : 64;

		e = realloc(p->e, ncap * sizeof(*e));
		if (!e)
			return -ENOMEM;
		p->e = e;
		p->cap = ncap;
	}
	r = buf_addstr(&b, path);
	if (r == 0 && leaf)
		r = buf_addf(&b, "/%s", leaf);
	if (r < 0) {
		buf_release(&b);
		return r;
	}
	e = &p->e[p->n];
	memset(e, 0, sizeof(*e));
	e->kind = kind;
	e->path = buf_detach(&b, &e->len);
	if (!e->path)
		return -ENOMEM;
	p->n++;
	return 0;
}

static void pg_snap_tree_release(struct pg_snap_tree *p)
{
	for (size_t i = 0; i < p->n; i++)
		free(p->e[i].path);
	free(p->e);
}

static int pg_snap_tree_cmp(const void *a, const void *b)
{
	const struct pg_snap_entry *x = a, *y = b;

	return manifest_path_cmp(x->path, x->len, y->path, y->len);
}

/* Directories above a table path that are not yet planned ("db/s",
 * "db/s/tables"): tables come sorted by schema, so comparing with the
 * previous table's schema directory is enough. */
static int pg_snap_tree_dirs(struct pg_snap_tree *p, const char *tpath,
			     const char *prev)
{
	const char *t = strstr(tpath, "/tables/");
	size_t sl = (size_t)(t - tpath);
	struct buf b = BUF_INIT;
	int r = 0;

	if (prev) {
		const char *pt = strstr(prev, "/tables/");

		if ((size_t)(pt - prev) == sl && !memcmp(prev, tpath, sl))
			return 0;
	}
	r = buf_add(&b, tpath, sl);
	if (r == 0)
		r = pg_snap_tree_add(p, PG_SNAP_E_DIR, (char *)b.data, NULL);
	if (r == 0)
		r = pg_snap_tree_add(p, PG_SNAP_E_DIR, (char *)b.data, "tables");
	buf_release(&b);
	return r;
}

static int pg_snap_tree_plan(struct pg_snap *s, struct pg_snap_tree *p,
			     struct buf *err)
{
	int r;

	r = pg_snap_tree_add(p, PG_SNAP_E_DIR, s->root, NULL);
	if (r == 0)
		r = pg_snap_tree_add(p, PG_SNAP_E_META, s->root, "meta.json");
	if (r == 0) {
		r = pg_snap_tree_add(p, PG_SNAP_E_TEXT, s->root, "roles.sql");
		p->e[p->n - 1].text = &s->roles_sql;
	}
	if (r == 0) {
		r = pg_snap_tree_add(p, PG_SNAP_E_TEXT, s->root, "schema.sql");
		p->e[p->n - 1].text = &s->ddl_text;
	}
	if (r == 0) {
		r = pg_snap_tree_add(p, PG_SNAP_E_TEXT, s->root, "sequences.sql");
		p->e[p->n - 1].text = &s->sequences_sql;
	}
	for (size_t i = 0; i < s->cat.ntables && r == 0; i++) {
		const char *path = s->paths[i];

		r = pg_snap_tree_dirs(p, path, i ? s->paths[i - 1] : NULL);
		if (r == 0)
			r = pg_snap_tree_add(p, PG_SNAP_E_DIR, path, NULL);
		if (r == 0 && s->tables[i].has_data) {
			r = pg_snap_tree_add(p, PG_SNAP_E_DATA, path, "data.sql");
			p->e[p->n - 1].table = i;
		}
		/* an extension's configuration table: CREATE EXTENSION
		 * makes it, there is no DDL of its own */
		if (r == 0 && !s->cat.tables[i].extension) {
			r = pg_snap_tree_add(p, PG_SNAP_E_DDL, path, "schema.sql");
			p->e[p->n - 1].table = i;
		}
	}
	if (r == 0 && s->cat.nlarge_objects) {
		r = pg_snap_tree_add(p, PG_SNAP_E_TEXT, s->root, "large_objects.sql");
		p->e[p->n - 1].text = &s->lo_sql;
	}
	if (r == 0 && s->cat.nlarge_objects) {
		struct buf dir = BUF_INIT;

		r = buf_addf(&dir, "%s/large_objects", s->root);
		if (r == 0)
			r = pg_snap_tree_add(p, PG_SNAP_E_DIR, (char *)dir.data, NULL);
		for (size_t i = 0; i < s->cat.nlarge_objects && r == 0; i++) {
			char leaf[16];

			snprintf(leaf, sizeof(leaf), "%u", s->cat.large_objects[i]);
			r = pg_snap_tree_add(p, PG_SNAP_E_LO, (char *)dir.data, leaf);
			p->e[p->n - 1].oid = s->cat.large_objects[i];
		}
		buf_release(&dir);
	}
	if (r < 0)
		return r;
	qsort(p->e, p->n, sizeof(*p->e), pg_snap_tree_cmp);
	for (size_t i = 1; i < p->n; i++)
		if (pg_snap_tree_cmp(&p->e[i - 1], &p->e[i]) >= 0) {
			if (err)
				buf_addf(err, "two captured objects map to the same path %s",
					 p->e[i].path);
			return -EEXIST;
		}
	return 0;
}

/* ---- the second pass: entries through the sink ---------------------- */

static int pg_snap_tree_text(const struct pg_sink *k, const char *path,
			     enum pg_sink_chunking how, const void *p,
			     size_t n)
{
	int r = k->begin_file(k->ctx, path, PG_SNAP_FILE_MODE, how);

	if (r == 0 && n)
		r = k->write(k->ctx, p, n);
	return r ? r : k->end_file(k->ctx);
}

static int pg_snap_tree_attrs(const struct pg_sink *k,
			      const struct pg_snap_table *t)
{
	int r = k->attr(k->ctx, "pg.schema", t->schema);

	return r ? r : k->attr(k->ctx, "pg.table", t->name);
}

/* The data.sql entry of table i, from its stream, or from the previous
 * snapshot's chunks when it is reused (read after all when the sink
 * cannot take them). */
static int pg_snap_tree_data(struct pg_snap *s, const struct pg_sink *k,
			     size_t i, const char *path, void *st,
			     struct buf *err)
{
	const struct pg_snap_table *t = &s->tables[i];
	char num[32];
	int r = 1;

	if (t->reused)
		r = k->begin_file_reused(k->ctx, path, PG_SNAP_FILE_MODE);
	if (r == 1 && t->reused) {
		st = NULL;
		r = pg_snap_data_reread(s, k, i, path, &st, err);
		if (r < 0 && st)
			k->stream_free(k->ctx, st);
		if (r < 0)
			return r;
		r = 1;
	}
	if (r == 1)
		r = k->begin_file_stream(k->ctx, path, PG_SNAP_FILE_MODE, st);
	if (r == 0)
		r = pg_snap_tree_attrs(k, t);
	snprintf(num, sizeof(num), "%llu", (unsigned long long)t->rows);
	if (r == 0)
		r = k->attr(k->ctx, "pg.rows", num);
	if (r == 0)
		r = k->attr(k->ctx, "pg.xxh3", t->xxh3);
	return r ? r : k->end_file(k->ctx);
}

/* The schema.sql entry of table i: its share of pg_dump's output. */
static int pg_snap_tree_ddl(struct pg_snap *s, const struct pg_sink *k,
			    size_t i, const char *path)
{
	struct buf b = BUF_INIT;
	int r = pg_ddl_table_sql(s->ddl, s->tables[i].schema, s->tables[i].name, &b);

	if (r >= 0)
		r = k->begin_file(k->ctx, path, PG_SNAP_FILE_MODE, PG_SINK_GENERAL);
	if (r == 0 && b.len)
		r = k->write(k->ctx, b.data, b.len);
	if (r == 0)
		r = pg_snap_tree_attrs(k, &s->tables[i]);
	if (r == 0)
		r = k->end_file(k->ctx);
	buf_release(&b);
	return r;
}

int pg_snap_emit(struct pg_snap *s, const struct pg_sink *k, struct buf *err)
{
	struct pg_snap_tree p = { NULL, 0, 0 };
	void **st = NULL;
	int r;

	if (s->emitted)
		return -EINVAL;
	if (!k->begin_file || !k->write || !k->attr || !k->end_file ||
	    !k->stream_begin || !k->stream_write || !k->stream_end ||
	    !k->begin_file_stream || !k->stream_free) {
		if (err)
			buf_addstr(err, "pg_snap_emit: the sink lacks a callback");
		return -EINVAL;
	}
	s->emitted = 1;
	r = pg_snap_tree_plan(s, &p, err);
	if (r == 0) {
		st = calloc(p.n ? p.n : 1, sizeof(*st));
		if (!st)
			r = -ENOMEM;
	}
	if (r == 0)
		r = pg_snap_proof_decide(s, k->begin_file_reused != NULL);
	if (r == 0)
		r = pg_snap_data_read(s, k, p.e, p.n, st, err);
	/* every checksum is known: meta.json is complete */
	if (r == 0)
		r = pg_snap_meta_build(s);
	for (size_t i = 0; i < p.n && r == 0; i++) {
		const struct pg_snap_entry *e = &p.e[i];

		switch (e->kind) {
		case PG_SNAP_E_DIR:
			if (k->dir)
				r = k->dir(k->ctx, e->path, PG_SNAP_DIR_MODE);
			break;
		case PG_SNAP_E_TEXT:
			r = pg_snap_tree_text(k, e->path, PG_SINK_GENERAL,
					      e->text->data, e->text->len);
			break;
		case PG_SNAP_E_META:
			r = pg_snap_tree_text(k, e->path, PG_SINK_GENERAL,
					      s->meta.data, s->meta.len);
			break;
		case PG_SNAP_E_DATA:
			r = pg_snap_tree_data(s, k, e->table, e->path, st[i],
					      err);
			st[i] = NULL;	/* the sink has it now */
			break;
		case PG_SNAP_E_DDL:
			r = pg_snap_tree_ddl(s, k, e->table, e->path);
			break;
		case PG_SNAP_E_LO:
			r = k->begin_file_stream(k->ctx, e->path,
						 PG_SNAP_FILE_MODE, st[i]);
			st[i] = NULL;
			if (r == 0)
				r = k->end_file(k->ctx);
			break;
		}
	}
	for (size_t i = 0; st && i < p.n; i++)
		if (st[i])
			k->stream_free(k->ctx, st[i]);
	free(st);
	pg_snap_tree_release(&p);
	return r;
}

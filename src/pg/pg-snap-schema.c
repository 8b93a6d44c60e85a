/*
 * pg-snap-schema: db/schema.sql, which is `pg_dump --schema-only` run
 * under the capture's exported snapshot (--snapshot=ID), with -n/-N/-t/-T
 * so it covers what the filters selected, and parsed with pg-ddl so each
 * table's schema.sql can be cut from it (pg-snap-tree.c).
 *
 * Separate from the snapshot transaction because it is a child process
 * and its output, not a query: the password reaches pg_dump only through
 * its environment (pg_conn_info_child), and every byte pg_dump writes
 * passes through pg_snap_schema_out on its way into schema.sql; once
 * pg_dump is done, its \restrict / \unrestrict lines are taken out
 * (pg_ddl_unrestrict), so an unchanged schema gives the same bytes.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pg-names.h"
#include "pg-snap-int.h"

struct pg_snap_schema_sink {
	struct buf *b;
	volatile sig_atomic_t *interrupt;
};

static int pg_snap_schema_out(void *ctx, const void *p, size_t n)
{
	struct pg_snap_schema_sink *d = ctx;

	if (d->interrupt && *d->interrupt)
		return -EINTR;
	return buf_add(d->b, p, n);
}

/* -n/-N/-t/-T so that schema.sql covers what the filters selected */
static int pg_snap_schema_args(struct pg_snap *s, char ***argv,
			       size_t *argc)
{
	const struct pg_catalog_filter *f = &s->o.filter;
	struct buf q = BUF_INIT;
	size_t nddl = 0;
	size_t cap, n = 0;
	char **v;
	int r = 0;

	while (s->o.ddl_only && s->o.ddl_only[nddl])
		nddl++;
	cap = 2 * (s->cat.nschemas + s->cat.ntables + s->cat.nexcluded + nddl) + 1;
	v = calloc(cap, sizeof(*v));

	*argv = v;
	*argc = 0;
	if (!v)
		return -ENOMEM;
	if (f->tables && *f->tables) {
		for (size_t i = 0; i < s->cat.ntables && r == 0; i++) {
			buf_reset(&q);
			r = pg_names_quote_qualified(&q, s->cat.tables[i].schema,
						     s->cat.tables[i].name);
			if (r == 0 && (!(v[n++] = strdup("-t")) ||
				       !(v[n++] = strdup((char *)q.data))))
				r = -ENOMEM;
		}
		for (size_t i = 0; i < nddl && r == 0; i++)
			if (!(v[n++] = strdup("-t")) || !(v[n++] = strdup(s->o.ddl_only[i])))
				r = -ENOMEM;
	} else {
		for (size_t i = 0; i < s->cat.nexcluded && r == 0; i++)
			if (!(v[n++] = strdup("-T")) ||
			    !(v[n++] = strdup(s->cat.excluded[i])))
				r = -ENOMEM;
	}
	for (size_t i = 0; i < s->cat.nschemas && r == 0; i++) {
		const struct pg_catalog_schema *sc = &s->cat.schemas[i];
		int include = f->schemas && *f->schemas && !sc->skipped;
		int exclude = sc->skipped && !strncmp(sc->skipped, "excluded", 8);

		if (!include && !exclude)
			continue;
		buf_reset(&q);
		r = pg_names_quote_ident(&q, sc->name);
		if (r == 0 && (!(v[n++] = strdup(include ? "-n" : "-N")) ||
			       !(v[n++] = strdup((char *)q.data))))
			r = -ENOMEM;
	}
	buf_release(&q);
	*argc = n;
	return r;
}

int pg_snap_schema_dump(struct pg_snap *s, struct buf *err)
{
	struct buf conninfo = BUF_INIT, password = BUF_INIT;
	struct pg_snap_schema_sink d = { &s->ddl_text, s->o.interrupt };
	char **argv = NULL;
	size_t argc = 0;
	int r;

	buf_init(&s->ddl_text, PG_SNAP_DDL_MAX);
	r = pg_conn_info_child(s->pinned, &conninfo, &password);
	if (r == 0)
		r = pg_snap_schema_args(s, &argv, &argc);
	if (r == 0)
		r = pg_dump_run(&s->dump, (char *)conninfo.data, (char *)password.data,
				s->snapid, (const char *const *)argv, argc,
				pg_snap_schema_out, &d, err);
	if (r == -E2BIG && err)
		buf_addf(err, "pg_dump --schema-only output is larger than %u MiB",
			 PG_SNAP_DDL_MAX >> 20);
	/* pg_dump 15.14+'s \restrict KEY lines: a new random key each run
	 * would make schema.sql differ (and store anew) every time */
	if (r == 0)
		pg_ddl_unrestrict(&s->ddl_text);
	if (r == 0)
		r = pg_ddl_parse(&s->ddl, (char *)s->ddl_text.data, s->ddl_text.len, err);
	for (size_t i = 0; i < argc; i++)
		free(argv[i]);
	free(argv);
	buf_wipe(&password);
	buf_release(&conninfo);
	return r;
}

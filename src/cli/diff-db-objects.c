/*
 * diff-db-objects: the schema objects of two database snapshots (see
 * diff-db-int.h): pg_dump sections of schema.sql, roles.sql and
 * large_objects.sql, sequences.sql's values, and the large objects whose
 * bytes differ.  Only the files the manifest merge found different are
 * read.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "diff-db-int.h"
#include "pg-ddl-diff.h"

/* a whole schema.sql in memory (pg_ddl_parse wants it so) */
#define DIFF_DB_OBJECTS_MAX	((size_t)1 << 31)

void diff_db_emit(struct diff_db *dd)
{
	buf_addch(&dd->line, '\n');
	fwrite(dd->line.data, 1, dd->line.len, stdout);
	buf_reset(&dd->line);
}

static const char *const diff_db_objects_change[] = {
	[PG_DDL_ADDED] = "added",
	[PG_DDL_DROPPED] = "dropped",
	[PG_DDL_CHANGED] = "changed",
};

struct diff_db_objects_ctx {
	struct diff_db *dd;
	const char *file;		/* under db/ */
};

static void diff_db_objects_count(struct diff_db *dd, enum pg_ddl_change c)
{
	if (c == PG_DDL_ADDED)
		dd->objects.added++;
	else if (c == PG_DDL_DROPPED)
		dd->objects.dropped++;
	else
		dd->objects.changed++;
}

/* "  + TYPE schema.name" under the part's title. */
static void diff_db_objects_head(struct diff_db *dd, enum pg_ddl_change c,
				 const char *type, const char *schema,
				 const char *name)
{
	if (!dd->titled) {
		buf_addstr(&dd->line, "Schema objects:");
		diff_db_emit(dd);
		dd->titled = 1;
	}
	buf_addstr(&dd->line, c == PG_DDL_ADDED ? "  + " :
		   c == PG_DDL_DROPPED ? "  - " : "  ~ ");
	cli_quote(&dd->line, type, strlen(type));
	buf_addch(&dd->line, ' ');
	if (*schema) {
		cli_quote(&dd->line, schema, strlen(schema));
		buf_addch(&dd->line, '.');
	}
	cli_quote(&dd->line, name, strlen(name));
}

int diff_db_left_out(const struct diff_db *dd, int absent, const char *schema,
		     const char *name)
{
	return schema && name && dd->s[absent].meta &&
	       rs_meta_left_out(dd->s[absent].meta, schema, name);
}

static int diff_db_objects_item(void *ctx, const struct pg_ddl_diff_item *it)
{
	struct diff_db_objects_ctx *x = ctx;
	struct diff_db *dd = x->dd;
	int setval = !strcmp(x->file, "sequences.sql");

	/* a table --table left out of one side, and everything of it */
	if (it->change != PG_DDL_CHANGED &&
	    diff_db_left_out(dd, it->change == PG_DDL_DROPPED ? 1 : 0,
			     it->rel_schema, it->rel_name))
		return 0;
	diff_db_objects_count(dd, it->change);
	if (dd->json) {
		cli_json_begin_object(dd->json, NULL);
		cli_json_str(dd->json, "change", diff_db_objects_change[it->change]);
		cli_json_str(dd->json, "type", it->type);
		cli_json_str(dd->json, "schema", it->schema);
		cli_json_str(dd->json, "name", it->name);
		cli_json_str(dd->json, "file", x->file);
		if (setval && it->before)
			cli_json_strn(dd->json, "before", it->before, it->before_len);
		if (setval && it->after)
			cli_json_strn(dd->json, "after", it->after, it->after_len);
		cli_json_end_object(dd->json);
		return dd->json->err;
	}
	diff_db_objects_head(dd, it->change, it->type, it->schema, it->name);
	if (setval && it->before && it->after) {
		buf_addstr(&dd->line, ": ");
		cli_quote(&dd->line, it->before, it->before_len);
		buf_addstr(&dd->line, " -> ");
		cli_quote(&dd->line, it->after, it->after_len);
	}
	diff_db_emit(dd);
	return 0;
}

/* Both sides' db/<file> (an absent one is empty). */
static int diff_db_objects_read(struct diff_db *dd, const char *file,
				struct buf doc[2])
{
	char path[64];
	int r = 0;

	snprintf(path, sizeof(path), "db/%s", file);
	for (int i = 0; i < 2 && r == 0; i++) {
		r = rs_input_slurp(&dd->s[i].in, path, &doc[i],
				   DIFF_DB_OBJECTS_MAX, &dd->err);
		if (r == -ENOENT) {
			buf_reset(&dd->err);
			buf_reset(&doc[i]);
			r = 0;
		}
	}
	return r;
}

static int diff_db_objects_file(struct diff_db *dd, const char *file)
{
	struct diff_db_objects_ctx x = { dd, file };
	struct buf doc[2] = { BUF_INIT, BUF_INIT };
	struct pg_ddl *d[2] = { NULL, NULL };
	int r = diff_db_objects_read(dd, file, doc);

	if (r == 0 && !strcmp(file, "sequences.sql")) {
		r = pg_ddl_diff_setvals((const char *)doc[0].data, doc[0].len,
					(const char *)doc[1].data, doc[1].len,
					diff_db_objects_item, &x);
	} else if (r == 0) {
		for (int i = 0; i < 2 && r == 0; i++)
			r = pg_ddl_parse(&d[i], (const char *)doc[i].data,
					 doc[i].len, &dd->err);
		if (r == 0)
			r = pg_ddl_diff(d[0], d[1], diff_db_objects_item, &x);
	}
	pg_ddl_free(d[0]);
	pg_ddl_free(d[1]);
	buf_release(&doc[0]);
	buf_release(&doc[1]);
	if (r < 0 && !dd->err.len)
		buf_addf(&dd->err, "db/%s: %s", file, strerror(-r));
	return r;
}

static void diff_db_objects_lo(struct diff_db *dd, const struct diff_db_lo *lo)
{
	diff_db_objects_count(dd, lo->change);
	if (dd->json) {
		char file[64];

		snprintf(file, sizeof(file), "large_objects/%s", lo->oid);
		cli_json_begin_object(dd->json, NULL);
		cli_json_str(dd->json, "change", diff_db_objects_change[lo->change]);
		cli_json_str(dd->json, "type", "LARGE OBJECT");
		cli_json_str(dd->json, "schema", "");
		cli_json_str(dd->json, "name", lo->oid);
		cli_json_str(dd->json, "file", file);
		cli_json_end_object(dd->json);
		return;
	}
	diff_db_objects_head(dd, lo->change, "LARGE OBJECT", "", lo->oid);
	buf_addstr(&dd->line, " (data)");
	diff_db_emit(dd);
}

int diff_db_objects(struct diff_db *dd)
{
	static const struct {
		unsigned flag;
		const char *file;
	} files[] = {
		{ DIFF_DB_ROLES, "roles.sql" },
		{ DIFF_DB_SCHEMA, "schema.sql" },
		{ DIFF_DB_SEQUENCES, "sequences.sql" },
		{ DIFF_DB_LO_SQL, "large_objects.sql" },
	};
	int r = 0;

	dd->titled = 0;
	if (dd->json)
		cli_json_begin_array(dd->json, "objects");
	for (size_t i = 0; i < sizeof(files) / sizeof(*files) && r == 0; i++)
		if (dd->files & files[i].flag)
			r = diff_db_objects_file(dd, files[i].file);
	for (size_t i = 0; i < dd->nlo && r == 0; i++)
		diff_db_objects_lo(dd, &dd->lo[i]);
	if (dd->json)
		cli_json_end_array(dd->json);
	if (r < 0)
		return cli_fail(dd->c, r, &dd->err, "cannot compare the schema objects");
	return 0;
}

/*
 * rs-lo-meta: what the large objects a restore creates carry besides
 * their bytes: owner, grants (in their order) and comment, from the
 * snapshot's db/large_objects.sql (one section per large object, named
 * by its oid; older snapshots have none, and their large objects stay
 * owned by the restoring role).
 *
 * The file goes through rs-sanitize like schema.sql: on a managed target
 * an owner change to a reserved role, a grant to one, or a SET SESSION
 * AUTHORIZATION (superuser only) is skipped, and the plan counts what is
 * skipped while the restore log lists each statement with its reason.
 * Large objects the target already had (kept) are left as they are.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pg-conn.h"
#include "rs-lo.h"
#include "rs-pipe.h"

/* The index in src->lo_oids of the large object section sec is about,
 * when the restore creates it; -1 otherwise. */
static long rs_lo_meta_created(const struct rs_plan_source *src,
			       const struct rs_plan *p, size_t sec)
{
	const struct pg_ddl_section *s = pg_ddl_get(src->lo_ddl, sec);
	unsigned long oid;
	size_t lo = 0, hi = src->nlo;
	char *end;

	if (!s || strcmp(s->type, "LARGE OBJECT") || !p->lo_exists)
		return -1;
	oid = strtoul(s->name, &end, 10);
	if (*end || !*s->name)
		return -1;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (src->lo_oids[mid] < oid)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == src->nlo || src->lo_oids[lo] != oid || p->lo_exists[lo])
		return -1;
	return (long)lo;
}

/* large_objects.sql judged for this target, as schema.sql is. */
static int rs_lo_meta_sanitize(const struct rs_plan *p,
			       const struct rs_plan_source *src,
			       struct rs_sanitized **san)
{
	struct rs_sanitize_opts so;

	memset(&so, 0, sizeof(so));
	so.managed = p->managed;
	so.current_role = p->role;
	so.managed_schemas = (const char *const *)p->managed_schemas;
	return rs_sanitize(san, src->lo_ddl, &so);
}

int rs_lo_meta_plan(struct rs_plan *p, const struct rs_plan_source *src)
{
	struct rs_sanitized *san = NULL;
	int r;

	p->nlo_skipped = 0;
	if (!p->lo_selected || !src->lo_ddl || !pg_ddl_count(src->lo_ddl))
		return 0;
	r = rs_lo_meta_sanitize(p, src, &san);
	for (size_t i = 0; r == 0 && i < rs_sanitized_count(san); i++) {
		const struct rs_sanitized_stmt *st = rs_sanitized_get(san, i);

		if (st->skip && rs_lo_meta_created(src, p, st->section) >= 0)
			p->nlo_skipped++;
	}
	rs_sanitized_free(san);
	return r;
}

/* "large_objects.sql, section \"4242; LARGE OBJECT\", statement \"...\"" */
static int rs_lo_meta_where(struct buf *w, const struct pg_ddl_section *s,
			    const char *sql, size_t len)
{
	const char *nl = memchr(sql, '\n', len);
	size_t n = nl ? (size_t)(nl - sql) : len;

	buf_reset(w);
	return buf_addf(w, "large_objects.sql, section \"%s; %s\", statement \"%.*s%s\"",
			s->name, s->type, (int)(n > 160 ? 160 : n), sql,
			n > 160 || nl ? " ..." : "");
}

int rs_lo_meta_apply(PGconn *c, const struct rs_plan_source *src,
		     const struct rs_plan *p, struct rs_log *log, struct buf *err)
{
	const char *text = src->lo_ddl ? pg_ddl_text(src->lo_ddl) : "";
	struct rs_sanitized *san = NULL;
	struct buf sql = BUF_INIT, what = BUF_INIT;
	/* a statement per owner, grant and comment: through a pipe, not a
	 * round trip each */
	struct rs_pipe pipe;
	int r;

	if (!p->lo_selected || !p->nlo_create || !src->lo_ddl ||
	    !pg_ddl_count(src->lo_ddl))
		return 0;
	rs_pipe_init(&pipe, c);
	r = rs_lo_meta_sanitize(p, src, &san);
	for (size_t i = 0; r == 0 && i < rs_sanitized_count(san); i++) {
		const struct rs_sanitized_stmt *st = rs_sanitized_get(san, i);
		const struct pg_ddl_section *s = pg_ddl_get(src->lo_ddl, st->section);

		if (rs_lo_meta_created(src, p, st->section) < 0)
			continue;
		r = rs_lo_meta_where(&what, s, text + st->off, st->len);
		if (r == 0 && st->skip) {
			struct buf label = BUF_INIT;

			r = buf_addf(&label, "%s; %s (large_objects.sql)", s->name, s->type);
			if (r == 0 && log)
				r = rs_log_skip(log, (char *)label.data, text + st->off,
						st->len, st->skip);
			buf_release(&label);
			continue;
		}
		buf_reset(&sql);
		if (r == 0)
			r = buf_add(&sql, text + st->off, st->len);
		if (r == 0)
			r = rs_pipe_send(&pipe, (char *)sql.data, i, "large_objects.sql", err);
	}
	if (r == 0)
		r = rs_pipe_sync(&pipe, "large_objects.sql", err);
	if (r == 1) {
		const struct rs_sanitized_stmt *st = pipe.fail_tag < rs_sanitized_count(san) ?
						     rs_sanitized_get(san, pipe.fail_tag) : NULL;

		r = st ? rs_lo_meta_where(&what, pg_ddl_get(src->lo_ddl, st->section),
					  text + st->off, st->len) :
			 buf_addstr(&what, "large_objects.sql");
		if (r == 0)
			r = pg_conn_error(c, pipe.fail, (char *)what.data, err);
	}
	rs_pipe_release(&pipe);
	rs_sanitized_free(san);
	buf_release(&sql);
	buf_release(&what);
	return r;
}

/*
 * rs-plan-req: what the snapshot requires of the target beyond its own
 * DDL (meta.json's requirements: extensions, roles, publications,
 * webhooks, pg_cron jobs), each with what happens about it, blocking
 * the restore when it cannot work without it.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "pg-conn.h"
#include "rs-plan-int.h"
#include "strv.h"

static int rs_plan_req_in(char *const *v, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(v[i], s))
			return 1;
	return 0;
}

static int rs_plan_req(struct rs_plan *p, const char *kind, const char *name,
		       int blocking, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
static int rs_plan_req(struct rs_plan *p, const char *kind, const char *name,
		       int blocking, const char *fmt, ...)
{
	struct rs_plan_req *v = realloc(p->reqs, (p->nreqs + 1) * sizeof(*v));
	struct buf b = BUF_INIT;
	va_list ap;
	int r;

	if (!v)
		return -ENOMEM;
	p->reqs = v;
	v = &v[p->nreqs];
	va_start(ap, fmt);
	r = buf_vaddf(&b, fmt, ap);
	va_end(ap);
	v->kind = kind;
	v->name = strdup(name);
	v->note = buf_detach(&b, NULL);
	v->blocking = blocking;
	buf_release(&b);
	if (r < 0 || !v->name || !v->note) {
		free(v->name);
		free(v->note);
		return -ENOMEM;
	}
	p->nreqs++;
	return 0;
}

/* A selected section of that type and name that will run. */
static int rs_plan_req_creates(const struct rs_plan *p, const struct pg_ddl *d,
			       const char *type, const char *name)
{
	for (size_t i = 0; i < p->nobjects; i++) {
		const struct pg_ddl_section *s = pg_ddl_get(d, p->objects[i].section);

		if (!strcmp(s->type, type) && !strcmp(s->name, name) &&
		    p->objects[i].act != RS_ACT_SKIP && p->objects[i].act != RS_ACT_MANAGED)
			return 1;
	}
	return 0;
}

/* pg_dump's identifier as it quoted it (a bare name, or "x""y") into
 * out, unquoted.  0 or -ENOMEM. */
static int rs_plan_req_unquote(const char *q, struct buf *out)
{
	size_t n = strlen(q);
	int r = 0;

	if (n < 2 || q[0] != '"' || q[n - 1] != '"')
		return buf_addstr(out, q);
	for (size_t i = 1; i + 1 < n && r == 0; i++) {
		if (q[i] == '"' && q[i + 1] == '"')
			i++;
		r = buf_addch(out, q[i]);
	}
	return r;
}

/* Whether the target has the table access method (k 0) or tablespace
 * (k 1) called name: *exists.  0 or -errno (err). */
static int rs_plan_req_has(PGconn *c, int k, const char *name, int *exists,
			   struct buf *err)
{
	const char *params[1] = { name };
	PGresult *res;
	int r = pg_conn_query(c, &res, PGRES_TUPLES_OK, k ?
			      "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_tablespace"
			      " WHERE spcname = $1)" :
			      "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_am"
			      " WHERE amname = $1 AND amtype = 't')",
			      1, params, "looking for access methods and tablespaces", err);

	if (r == 0) {
		*exists = PQgetvalue(res, 0, 0)[0] == 't';
		PQclear(res);
	}
	return r;
}

/*
 * The access methods and tablespaces pg_dump's SET lines put the
 * created tables, materialized views and indexes in (pg-ddl.h): each
 * must exist on the target or be made by the restore (an ACCESS METHOD
 * section; tablespaces are the cluster's, never in a dump), or the
 * CREATE would fail half way.  One blocking requirement each.
 */
static int rs_plan_req_storage(PGconn *c, struct rs_plan *p,
			       const struct pg_ddl *d, struct buf *err)
{
	static const char *const kind[2] = { "access method", "tablespace" };
	char **seen = NULL;
	size_t nseen = 0;
	int r = 0;

	for (size_t i = 0; i < p->nobjects && r == 0; i++) {
		const struct pg_ddl_section *s = pg_ddl_get(d, p->objects[i].section);

		if (p->objects[i].act == RS_ACT_SKIP || p->objects[i].act == RS_ACT_MANAGED)
			continue;
		for (int k = 0; k < 2 && r == 0; k++) {
			const char *v = k ? s->tablespace : s->table_am;
			struct buf name = BUF_INIT;
			int exists = 1;

			/* '': the database's default tablespace */
			if (!v || (k && !strcmp(v, "''")))
				continue;
			r = rs_plan_req_unquote(v, &name);
			if (r == 0 && rs_plan_req_in(seen, nseen, (char *)name.data)) {
				buf_release(&name);
				continue;
			}
			if (r == 0)
				r = strv_push(&seen, &nseen, (char *)name.data);
			if (r == 0 && !(k == 0 && rs_plan_req_creates(p, d, "ACCESS METHOD",
									(char *)name.data)))
				r = rs_plan_req_has(c, k, (char *)name.data, &exists, err);
			if (r == 0 && !exists)
				r = rs_plan_req(p, kind[k], (char *)name.data, 1,
						"missing on the target and not in the selection:"
						" %s %s.%s is created in it", s->type,
						s->schema ? s->schema : "", s->name);
			buf_release(&name);
		}
	}
	strv_free(seen, nseen);
	return r;
}

int rs_plan_req_build(PGconn *c, struct rs_plan *p, const struct rs_plan_source *src,
		      const struct rs_select *sel, const struct rs_plan_probe_facts *f,
		      struct buf *err)
{
	const struct rs_meta *m = src->meta;
	int ddl = sel->nschemas > 0, r = 0;

	for (size_t i = 0; i < p->ntables; i++)
		if (p->tables[i].sel & RS_SELECT_DDL)
			ddl = 1;
	r = rs_plan_req_storage(c, p, src->ddl, err);
	for (size_t i = 0; i < m->nreq_extensions && r == 0; i++) {
		const char *e = m->req_extensions[i];

		if (rs_plan_req_in(f->exts, f->nexts, e))
			continue;
		if (!rs_plan_req_in(f->avail, f->navail, e))
			r = rs_plan_req(p, "extension", e, ddl,
					"not installed, and the target's server cannot install it");
		else if (rs_plan_req_creates(p, src->ddl, "EXTENSION", e))
			r = rs_plan_req(p, "extension", e, 0, "not installed: the restore creates it");
		else
			r = rs_plan_req(p, "extension", e, 0,
					"not installed and not in the selection: objects that need it will fail");
	}
	for (size_t i = 0; i < m->nreq_roles && r == 0; i++) {
		const char *ro = m->req_roles[i];

		if (rs_plan_req_in(f->roles, f->nroles, ro))
			continue;
		r = rs_plan_req(p, "role", ro, 0, sel->roles ?
				"missing: the restore creates it (without a password unless one was captured)" :
				"missing and roles are not selected (--only roles): statements that need it will fail");
	}
	for (size_t i = 0; i < m->npublications && r == 0; i++) {
		const char *pub = m->publications[i].name;

		if (rs_plan_req_in(f->pubs, f->npubs, pub))
			continue;
		r = rs_plan_req(p, "publication", pub, 0,
				rs_plan_req_creates(p, src->ddl, "PUBLICATION", pub) ?
				"missing: the restore creates it" :
				"missing and not in the selection");
	}
	for (size_t i = 0; i < m->nwebhooks && r == 0; i++) {
		const struct rs_meta_webhook *h = &m->webhooks[i];
		struct buf label = BUF_INIT;
		int exists;

		if (!strchr(h->function, '.'))
			continue;
		r = rs_plan_probe_function(c, h->function, &exists, err);
		if (r == 0 && !exists) {
			r = buf_addf(&label, "%s on %s.%s", h->trigger, h->schema, h->table);
			if (r == 0)
				r = rs_plan_req(p, "webhook", (char *)label.data, 0,
						"calls %s, which the target lacks (enable database webhooks / pg_net)",
						h->function);
		}
		buf_release(&label);
	}
	if (r == 0 && (m->ncron_jobs || m->cron_unknown)) {
		/* pg_cron's jobs are the rows of its configuration table */
		const struct rs_plan_table *cj = NULL;
		int has;

		for (size_t i = 0; i < p->ntables; i++)
			if (!strcmp(p->tables[i].t->schema, "cron") &&
			    !strcmp(p->tables[i].t->name, "job"))
				cj = &p->tables[i];
		r = rs_plan_probe_cron(c, &has, err);
		if (r == 0 && m->cron_unknown)
			r = rs_plan_req(p, "cron jobs", "?", 0,
					"the snapshot could not read pg_cron's jobs; recreate them by hand");
		for (size_t i = 0; i < m->ncron_jobs && r == 0; i++)
			r = rs_plan_req(p, "cron job", *m->cron_jobs[i] ? m->cron_jobs[i] : "(unnamed)", 0,
					"%s", cj && cj->load != RS_LOAD_NONE ?
					"restored with pg_cron's configuration (the rows of cron.job)" :
					has ? "not restored by vault (pg_cron owns its table): check it exists on the target" :
					"pg_cron is not installed on the target; vault does not restore its jobs");
	}
	return r;
}

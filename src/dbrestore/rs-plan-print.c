/*
 * rs-plan-print: the plan in words.  The names of modes and actions
 * (and reading a mode from the command line), the plan for people
 * (--dry-run) and for programs (--json).  It only reads a built plan:
 * nothing that builds one calls it.  Scripts read the JSON, so its keys
 * and wording change only on purpose.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "pg-names.h"
#include "rs-lo.h"
#include "rs-plan.h"
#include "strv.h"

const char *rs_plan_mode_name(enum rs_plan_mode m)
{
	switch (m) {
	case RS_MODE_EMPTY:
		return "empty";
	case RS_MODE_CLEAN:
		return "clean";
	case RS_MODE_MERGE:
		return "merge";
	}
	return "?";
}

int rs_plan_mode_parse(const char *s, enum rs_plan_mode *m)
{
	if (!strcmp(s, "empty"))
		*m = RS_MODE_EMPTY;
	else if (!strcmp(s, "clean"))
		*m = RS_MODE_CLEAN;
	else if (!strcmp(s, "merge"))
		*m = RS_MODE_MERGE;
	else
		return -EINVAL;
	return 0;
}

const char *rs_plan_act_name(enum rs_plan_act a)
{
	static const char *const names[] = {
		"skip", "create", "keep", "recreate", "replace", "try", "managed",
	};

	return (unsigned)a < sizeof(names) / sizeof(names[0]) ? names[a] : "?";
}

const char *rs_plan_verify_name(enum rs_verify v)
{
	return v == RS_VERIFY_FULL ? "full" : "streamed";
}

int rs_plan_verify_parse(const char *s, enum rs_verify *v)
{
	if (!strcmp(s, "streamed"))
		*v = RS_VERIFY_STREAMED;
	else if (!strcmp(s, "full"))
		*v = RS_VERIFY_FULL;
	else
		return -EINVAL;
	return 0;
}

/* The plan's words for how tables are verified. */
static const char *rs_plan_print_verify(enum rs_verify v)
{
	return v == RS_VERIFY_FULL ?
	       "full: each table's rows hash to the snapshot's XXH3-128 as they load, COPY's row count equals the snapshot's, and every table is read back from the target and checked again before the commit" :
	       "streamed: each table's rows hash to the snapshot's XXH3-128 as they load, and COPY's row count equals the snapshot's (--verify full also reads every table back)";
}

static const char *rs_plan_print_load_name(enum rs_plan_load l)
{
	switch (l) {
	case RS_LOAD_NONE:
		return "none";
	case RS_LOAD_COPY:
		return "copy";
	case RS_LOAD_TRUNCATE:
		return "truncate+copy";
	case RS_LOAD_MERGE:
		return "merge";
	}
	return "?";
}

/* ---- statements left out ------------------------------------------------ */

static int rs_plan_print_runs(enum rs_plan_act a)
{
	return a == RS_ACT_RUN || a == RS_ACT_RECREATE || a == RS_ACT_REPLACE ||
	       a == RS_ACT_TRY || a == RS_ACT_MANAGED;
}

/* The skipped statements of one file: those of sections the plan runs
 * (or the platform keeps), and, in roles.sql, statements it runs. */
static int rs_plan_print_skipped(const struct rs_plan *p, const struct pg_ddl *d,
				 const struct rs_sanitized *san, const char *file,
				 rs_plan_skip_fn *fn, void *arg)
{
	const int roles = san == p->san_roles;
	struct buf where = BUF_INIT;
	int r = 0;

	for (size_t i = 0; san && i < rs_sanitized_count(san) && r == 0; i++) {
		const struct rs_sanitized_stmt *st = rs_sanitized_get(san, i);
		const struct pg_ddl_section *s = st->section < pg_ddl_count(d) ?
						 pg_ddl_get(d, st->section) : NULL;
		struct rs_plan_skip k;

		if (!st->skip)
			continue;
		if (roles ? i >= p->nrole_stmt || p->role_stmt[i] != RS_ACT_RUN :
		    st->section < p->nsec && !rs_plan_print_runs(p->sec[st->section]))
			continue;
		buf_reset(&where);
		r = s ? buf_addf(&where, "%s; %s", s->name, s->type) :
		    buf_addstr(&where, st->section == RS_SANITIZE_TRAILER ? "end of file" : "preamble");
		k.file = file;
		k.where = (char *)where.data;
		k.sql = pg_ddl_text(d) + st->off;
		k.len = st->len;
		k.reason = st->skip;
		k.meta = st->len && k.sql[0] == '\\';
		if (r == 0)
			r = fn(arg, &k);
	}
	buf_release(&where);
	return r;
}

int rs_plan_skipped(const struct rs_plan *p, const struct rs_plan_source *src,
		    rs_plan_skip_fn *fn, void *arg)
{
	int r = rs_plan_print_skipped(p, src->ddl, p->san, "schema.sql", fn, arg);

	return r ? r : rs_plan_print_skipped(p, src->roles, p->san_roles, "roles.sql", fn, arg);
}

/* The statements left out, each "reason" then "where (file)" in a
 * vector of pairs (psql meta-commands aside: they hold nothing of the
 * database). */
struct rs_plan_print_skips {
	char **v;		/* reason, where, reason, where ... */
	size_t n;		/* strings */
};

static int rs_plan_print_collect(void *arg, const struct rs_plan_skip *k)
{
	struct rs_plan_print_skips *c = arg;
	int r;

	if (k->meta)
		return 0;
	r = strv_push(&c->v, &c->n, k->reason);
	return r ? r : strv_pushf(&c->v, &c->n, "%s (%s)", k->where, k->file);
}

struct rs_plan_print_pair {
	const char *why, *where;
	size_t i;		/* file order */
};

/* by reason, in file order within one */
static int rs_plan_print_cmp(const void *a, const void *b)
{
	const struct rs_plan_print_pair *x = a, *y = b;
	int c = strcmp(x->why, y->why);

	return c ? c : (x->i < y->i ? -1 : x->i > y->i);
}

/* Up to this many sections are named per reason in the text; the
 * restore log and --json name every statement. */
#define RS_PLAN_PRINT_PER_REASON 4

/* "Statements skipped on this target: N" and, per reason, how many and
 * which. */
static int rs_plan_print_skips(const struct rs_plan *p, const struct rs_plan_source *src,
			       struct buf *out)
{
	struct rs_plan_print_skips c = { NULL, 0 };
	struct rs_plan_print_pair *v = NULL;
	size_t n;
	int r = rs_plan_skipped(p, src, rs_plan_print_collect, &c);

	n = c.n / 2;
	if (r == 0 && n && !(v = calloc(n, sizeof(*v))))
		r = -ENOMEM;
	for (size_t i = 0; r == 0 && i < n; i++) {
		v[i].why = c.v[2 * i];
		v[i].where = c.v[2 * i + 1];
		v[i].i = i;
	}
	if (r == 0 && n) {
		qsort(v, n, sizeof(*v), rs_plan_print_cmp);
		r = buf_addf(out, "Statements skipped on this target: %zu (each in the restore log):\n", n);
	}
	for (size_t i = 0, k; r == 0 && i < n; i = k) {
		for (k = i + 1; k < n && !strcmp(v[k].why, v[i].why); k++)
			;
		size_t named = 0, places = 0;

		/* the sections they are in, each once */
		for (size_t j = i; j < k; j++)
			places += j == i || strcmp(v[j].where, v[j - 1].where);
		r = buf_addf(out, "  %s: %zu statement%s in ", v[i].why, k - i, k - i == 1 ? "" : "s");
		for (size_t j = i; r == 0 && j < k && named < RS_PLAN_PRINT_PER_REASON; j++)
			if (j == i || strcmp(v[j].where, v[j - 1].where))
				r = buf_addf(out, "%s%s", named++ ? ", " : "", v[j].where);
		if (r == 0 && places > named)
			r = buf_addf(out, " and %zu more", places - named);
		if (r == 0)
			r = buf_addch(out, '\n');
	}
	free(v);
	strv_free(c.v, c.n);
	return r;
}

const char *rs_plan_clean_action(const struct rs_plan_table *t)
{
	if (!t->clean)
		return NULL;
	if (t->ddl == RS_ACT_RECREATE)
		return "recreate";
	return t->load == RS_LOAD_NONE ? "keep" : "reload";
}

int rs_plan_clean_reason(const struct rs_plan_table *t, struct buf *out)
{
	int r = buf_addstr(out, t->clean ? t->clean : "");

	for (size_t i = 0; i < t->nrecreates && r == 0; i++)
		r = buf_addf(out, "%s%s", i ? ", " : "; recreates ", t->recreates[i]);
	return r;
}

/* "; reload (definition matches)" or "; recreate (drifted: column x
 * type changed; recreates view s.v)" */
static int rs_plan_print_clean(const struct rs_plan_table *t, struct buf *out)
{
	int r = buf_addf(out, "; %s (", rs_plan_clean_action(t));

	if (r == 0)
		r = rs_plan_clean_reason(t, out);
	if (r == 0)
		r = buf_addch(out, ')');
	if (r == 0 && t->skip)
		r = buf_addf(out, ": skipped, %s", t->skip);
	return r ? r : buf_addch(out, '\n');
}

int rs_plan_text(const struct rs_plan *p, const struct rs_plan_source *src,
		 struct buf *out)
{
	int r;
	size_t counts[RS_ACT_MANAGED + 1] = { 0 };

	r = buf_addf(out, "Restore plan (mode %s%s) into database %s as role %s%s\n",
		     rs_plan_mode_name(p->mode),
		     p->mode == RS_MODE_MERGE ? (p->on_conflict == RS_ON_CONFLICT_UPDATE ?
						 ", on conflict update" : ", on conflict do nothing") : "",
		     p->database, p->role, p->superuser ? " (superuser)" : "");
	if (r == 0 && p->managed) {
		r = buf_addf(out, "Managed target: %s; DDL of", p->managed_why);
		for (size_t i = 0; i < p->nmanaged_schemas && r == 0; i++)
			r = buf_addf(out, " %s", p->managed_schemas[i]);
		if (r == 0)
			r = buf_addstr(out, " kept, rows restored\n");
	}
	if (r == 0)
		r = buf_addf(out, "Strategy: %s\n", p->strategy);
	if (r == 0)
		r = buf_addf(out, "Verification: %s\n", rs_plan_print_verify(p->verify));
	for (size_t i = 0; i < p->nobjects; i++)
		counts[p->objects[i].act]++;
	if (r == 0)
		r = buf_addf(out, "Objects: %zu to create, %zu to drop and recreate, %zu to replace, %zu kept, %zu managed by the platform\n",
			     counts[RS_ACT_RUN], counts[RS_ACT_RECREATE], counts[RS_ACT_REPLACE],
			     counts[RS_ACT_KEEP], counts[RS_ACT_MANAGED]);
	for (size_t i = 0; i < p->nobjects && r == 0; i++) {
		const struct rs_plan_object *o = &p->objects[i];

		if (o->act == RS_ACT_KEEP || o->act == RS_ACT_MANAGED)
			continue;
		r = buf_addf(out, "  %-8s %s %s%s%s%s%s\n", rs_plan_act_name(o->act), o->type,
			     o->schema, *o->schema ? "." : "", o->name, o->why ? ": " : "",
			     o->why ? o->why : "");
	}
	if (r == 0)
		r = buf_addstr(out, "Tables (load order):\n");
	for (size_t i = 0; i < p->ntables && r == 0; i++) {
		const struct rs_plan_table *t = &p->tables[i];

		r = buf_addf(out, "  %s.%s: snapshot %llu rows, target ", t->t->schema,
			     t->t->name, (unsigned long long)t->t->rows);
		if (r == 0)
			r = t->t->partitioned ? buf_addstr(out, t->exists ? "partitioned" : "missing") :
			    t->target_rows < 0 ? buf_addstr(out, "missing") :
			    buf_addf(out, "%lld rows", (long long)t->target_rows);
		if (r == 0 && t->clean)
			r = rs_plan_print_clean(t, out);
		else if (r == 0)
			r = buf_addf(out, "; %s%s%s\n", rs_plan_print_load_name(t->load),
				     t->skip ? ": skipped, " : "", t->skip ? t->skip : "");
	}
	for (size_t i = 0; i < p->ndropped_views && r == 0; i++)
		r = buf_addf(out, "  drop %s (not in the snapshot: --drop-dependent-views)\n",
			     p->dropped_views[i]);
	if (r == 0)
		r = rs_lo_plan_text(p, src, out);
	for (size_t k = 0; k < p->order.ncycles && r == 0; k++) {
		r = buf_addstr(out, "Foreign-key cycle: ");
		if (r == 0)
			r = rs_order_describe_cycle(&p->order, k, out);
		if (r == 0)
			r = buf_addstr(out, p->replica ? " (loaded with session_replication_role = replica, keys checked before commit)\n" :
				       " (keys deferred or created after the rows)\n");
	}
	for (size_t i = 0; i < p->nfks && r == 0; i++)
		r = buf_addf(out, "Foreign key %s on %s.%s%s is dropped and re-added; its rows are checked against %s.%s\n",
			     p->fks[i].name, p->fks[i].schema, p->fks[i].table,
			     p->fks[i].selected ? "" : " (not selected)",
			     p->fks[i].ref_schema, p->fks[i].ref_table);
	if (r == 0)
		r = rs_plan_print_skips(p, src, out);
	for (size_t i = 0; i < p->nreqs && r == 0; i++)
		r = buf_addf(out, "%s %s %s: %s\n", p->reqs[i].blocking ? "BLOCKING" : "Requirement",
			     p->reqs[i].kind, p->reqs[i].name, p->reqs[i].note);
	for (size_t i = 0; i < p->nwarnings && r == 0; i++)
		r = buf_addf(out, "Warning: %s\n", p->warnings[i]);
	for (size_t i = 0; i < p->nconflicts && r == 0; i++)
		r = buf_addf(out, "CONFLICT: %s\n", p->conflicts[i]);
	return r;
}

static int rs_plan_print_json_str(struct buf *out, const char *key, const char *val)
{
	int r = pg_names_quote_json(out, key);

	if (r == 0)
		r = buf_addstr(out, ": ");
	return r ? r : pg_names_quote_json(out, val);
}

struct rs_plan_print_json {
	struct buf *out;
	size_t n;
};

/* {"where": "users; TABLE (schema.sql)", "reason": ...} */
static int rs_plan_print_json_skip(void *arg, const struct rs_plan_skip *k)
{
	struct rs_plan_print_json *j = arg;
	struct buf w = BUF_INIT;
	int r;

	if (k->meta)
		return 0;
	r = buf_addf(&w, "%s (%s)", k->where, k->file);
	if (r == 0)
		r = buf_addstr(j->out, j->n++ ? ", {" : "{");
	if (r == 0)
		r = rs_plan_print_json_str(j->out, "where", (char *)w.data);
	if (r == 0)
		r = buf_addstr(j->out, ", ");
	if (r == 0)
		r = rs_plan_print_json_str(j->out, "reason", k->reason);
	if (r == 0)
		r = buf_addch(j->out, '}');
	buf_release(&w);
	return r;
}

/* , "clean": "reload" | "keep" | "recreate" | null, "clean_reason": ...,
 * "recreates": ["view s.v", ...] */
static int rs_plan_print_json_clean(const struct rs_plan_table *t, struct buf *out)
{
	int r = buf_addstr(out, ", \"clean\": ");

	if (r == 0)
		r = !t->clean ? buf_addstr(out, "null") :
		    pg_names_quote_json(out, rs_plan_clean_action(t));
	if (r == 0)
		r = buf_addstr(out, ", \"clean_reason\": ");
	if (r == 0)
		r = t->clean ? pg_names_quote_json(out, t->clean) : buf_addstr(out, "null");
	if (r == 0)
		r = buf_addstr(out, ", \"recreates\": ");
	return r ? r : pg_names_quote_json_array(out, t->recreates, t->nrecreates);
}

int rs_plan_json(const struct rs_plan *p, const struct rs_plan_source *src,
		 const struct rs_select *sel, struct buf *out)
{
	int r = buf_addch(out, '{');

	if (r == 0)
		r = rs_plan_print_json_str(out, "mode", rs_plan_mode_name(p->mode));
	if (r == 0)
		r = buf_addf(out, ", \"on_conflict\": \"%s\", ",
			     p->on_conflict == RS_ON_CONFLICT_UPDATE ? "update" : "nothing");
	if (r == 0)
		r = rs_plan_print_json_str(out, "database", p->database);
	if (r == 0)
		r = buf_addstr(out, ", ");
	if (r == 0)
		r = rs_plan_print_json_str(out, "role", p->role);
	if (r == 0)
		r = buf_addf(out, ", \"superuser\": %s, \"managed\": %s, \"managed_schemas\": ",
			     p->superuser ? "true" : "false", p->managed ? "true" : "false");
	if (r == 0)
		r = pg_names_quote_json_array(out, p->managed_schemas, p->nmanaged_schemas);
	if (r == 0)
		r = buf_addstr(out, ", ");
	if (r == 0)
		r = rs_plan_print_json_str(out, "strategy", p->strategy);
	if (r == 0)
		r = buf_addf(out, ", \"verify\": \"%s\"", rs_plan_verify_name(p->verify));
	if (r == 0 && sel) {
		r = buf_addstr(out, ", \"selection\": ");
		if (r == 0)
			r = rs_select_json(sel, src->meta, out);
	}
	if (r == 0)
		r = buf_addstr(out, ", \"objects\": [");
	for (size_t i = 0; i < p->nobjects && r == 0; i++) {
		const struct rs_plan_object *o = &p->objects[i];

		r = buf_addstr(out, i ? ", {" : "{");
		if (r == 0)
			r = rs_plan_print_json_str(out, "type", o->type);
		if (r == 0)
			r = buf_addstr(out, ", ");
		if (r == 0)
			r = rs_plan_print_json_str(out, "schema", o->schema);
		if (r == 0)
			r = buf_addstr(out, ", ");
		if (r == 0)
			r = rs_plan_print_json_str(out, "name", o->name);
		if (r == 0)
			r = buf_addf(out, ", \"exists\": %s, \"action\": \"%s\"%s",
				     o->exists ? "true" : "false", rs_plan_act_name(o->act),
				     o->pulled ? ", \"pulled\": true" : "");
		if (r == 0 && o->why) {
			r = buf_addstr(out, ", ");
			if (r == 0)
				r = rs_plan_print_json_str(out, "reason", o->why);
		}
		if (r == 0)
			r = buf_addch(out, '}');
	}
	if (r == 0)
		r = buf_addstr(out, "], \"tables\": [");
	for (size_t i = 0; i < p->ntables && r == 0; i++) {
		const struct rs_plan_table *t = &p->tables[i];

		r = buf_addstr(out, i ? ", {" : "{");
		if (r == 0)
			r = rs_plan_print_json_str(out, "schema", t->t->schema);
		if (r == 0)
			r = buf_addstr(out, ", ");
		if (r == 0)
			r = rs_plan_print_json_str(out, "name", t->t->name);
		if (r == 0)
			r = buf_addf(out, ", \"snapshot_rows\": %llu, \"target_rows\": ",
				     (unsigned long long)t->t->rows);
		if (r == 0)
			r = t->target_rows < 0 ? buf_addstr(out, "null") :
			    buf_addf(out, "%lld", (long long)t->target_rows);
		if (r == 0)
			r = buf_addf(out, ", \"ddl\": \"%s\", \"load\": \"%s\", \"skipped\": ",
				     rs_plan_act_name(t->ddl), rs_plan_print_load_name(t->load));
		if (r == 0)
			r = t->skip ? pg_names_quote_json(out, t->skip) : buf_addstr(out, "null");
		if (r == 0)
			r = rs_plan_print_json_clean(t, out);
		if (r == 0)
			r = buf_addch(out, '}');
	}
	if (r == 0)
		r = buf_addstr(out, "], \"large_objects\": ");
	if (r == 0)
		r = rs_lo_plan_json(p, src, out);
	if (r == 0)
		r = buf_addstr(out, ", \"cycles\": [");
	for (size_t k = 0; k < p->order.ncycles && r == 0; k++) {
		struct buf d = BUF_INIT;

		r = rs_order_describe_cycle(&p->order, k, &d);
		if (r == 0)
			r = buf_addstr(out, k ? ", " : "");
		if (r == 0)
			r = pg_names_quote_json(out, (char *)d.data);
		buf_release(&d);
	}
	if (r == 0)
		r = buf_addf(out, "], \"replica\": %s, \"foreign_keys_readded\": [",
			     p->replica ? "true" : "false");
	for (size_t i = 0; i < p->nfks && r == 0; i++) {
		struct buf d = BUF_INIT;

		r = buf_addf(&d, "%s.%s %s", p->fks[i].schema, p->fks[i].table, p->fks[i].name);
		if (r == 0)
			r = buf_addstr(out, i ? ", " : "");
		if (r == 0)
			r = pg_names_quote_json(out, (char *)d.data);
		buf_release(&d);
	}
	if (r == 0)
		r = buf_addstr(out, "], \"views_dropped\": ");
	if (r == 0)
		r = pg_names_quote_json_array(out, p->dropped_views, p->ndropped_views);
	if (r == 0)
		r = buf_addstr(out, ", \"requirements\": [");
	for (size_t i = 0; i < p->nreqs && r == 0; i++) {
		r = buf_addstr(out, i ? ", {" : "{");
		if (r == 0)
			r = rs_plan_print_json_str(out, "kind", p->reqs[i].kind);
		if (r == 0)
			r = buf_addstr(out, ", ");
		if (r == 0)
			r = rs_plan_print_json_str(out, "name", p->reqs[i].name);
		if (r == 0)
			r = buf_addstr(out, ", ");
		if (r == 0)
			r = rs_plan_print_json_str(out, "note", p->reqs[i].note);
		if (r == 0)
			r = buf_addf(out, ", \"blocking\": %s}", p->reqs[i].blocking ? "true" : "false");
	}
	if (r == 0)
		r = buf_addf(out, "], \"skipped_statements\": %zu, \"not_restored\": [",
			     rs_sanitized_nskipped(p->san));
	if (r == 0) {
		struct rs_plan_print_json j = { out, 0 };

		r = rs_plan_skipped(p, src, rs_plan_print_json_skip, &j);
	}
	if (r == 0)
		r = buf_addstr(out, "], \"conflicts\": ");
	if (r == 0)
		r = pg_names_quote_json_array(out, p->conflicts, p->nconflicts);
	if (r == 0)
		r = buf_addstr(out, ", \"warnings\": ");
	if (r == 0)
		r = pg_names_quote_json_array(out, p->warnings, p->nwarnings);
	return r ? r : buf_addch(out, '}');
}

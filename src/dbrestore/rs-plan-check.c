/*
 * rs-plan-check: the failures a restore would meet that can be known
 * without writing anything, turned into conflicts of the plan, so that
 * the dry run and the real run refuse the same way, before the first
 * change, naming the missing object and how to get it.
 *
 * Every statement the plan runs is read for what it needs (rs-refs: the
 * table a foreign key references, a column's type, a trigger's
 * function, the roles of an OWNER TO ...).  What the restore itself
 * creates (the plan's objects that run, a relation's row type, the
 * roles roles.sql creates) is set aside; the rest is looked up in the
 * target in one query (rs-plan-probe).  A reference found nowhere is a
 * conflict when it is certain: an extension the restore creates may
 * provide objects in its schema that no snapshot lists, so a missing
 * name there is left to the restore itself.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "rs-plan-int.h"
#include "rs-refs.h"
#include "rs-sql.h"
#include "strv.h"

/* A reference that needs looking up, with the first statement that
 * needs it and how many do. */
struct rs_plan_check_need {
	struct rs_plan_key k;
	char *where, *why;
	size_t count;
};

struct rs_plan_check {
	struct rs_plan *p;
	const struct rs_plan_source *src;
	char *const *roles;		/* the target's */
	size_t nroles;
	struct rs_plan_key *made;	/* what the restore creates, sorted */
	size_t nmade;
	char **new_roles;		/* roles.sql creates them */
	size_t nnew_roles;
	char **ext_schemas;		/* schemas extensions it creates fill */
	size_t next_schemas;
	size_t next;			/* extensions it creates */
	struct rs_plan_check_need *need;
	size_t nneed, capneed;
	const struct pg_ddl_section *sec;	/* being read */
	int reading_ext;		/* sec is an EXTENSION that runs */
};

static int rs_plan_check_runs(enum rs_plan_act a)
{
	return a == RS_ACT_RUN || a == RS_ACT_RECREATE || a == RS_ACT_REPLACE ||
	       a == RS_ACT_TRY;
}

static int rs_plan_check_in(char *const *v, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(v[i], s))
			return 1;
	return 0;
}

/* Keys ordered by kind, schema, name and, with extra set, extra. */
static int rs_plan_check_cmp3(const struct rs_plan_key *a,
			      const struct rs_plan_key *b, int extra)
{
	int c = (unsigned char)a->kind - (unsigned char)b->kind;

	if (c == 0)
		c = strcmp((char *)a->schema.data, (char *)b->schema.data);
	if (c == 0)
		c = strcmp((char *)a->name.data, (char *)b->name.data);
	if (c == 0 && extra)
		c = strcmp((char *)a->extra.data, (char *)b->extra.data);
	return c;
}

static int rs_plan_check_cmp(const void *a, const void *b)
{
	return rs_plan_check_cmp3(a, b, 1);
}

static int rs_plan_check_cmp_noextra(const void *a, const void *b)
{
	return rs_plan_check_cmp3(a, b, 0);
}

static int rs_plan_check_cmp_need(const void *a, const void *b)
{
	const struct rs_plan_check_need *x = a, *y = b;
	int c = rs_plan_check_cmp3(&x->k, &y->k, 1);

	/* equal keys keep the order they were met in */
	return c ? c : (x < y ? -1 : x > y);
}

/* 1 when the restore creates what k names. */
static int rs_plan_check_made(const struct rs_plan_check *x, char kind,
			      const struct rs_plan_key *k)
{
	struct rs_plan_key q = *k;

	q.kind = kind;
	if (kind == 'f' && k->kind == 'g')
		return bsearch(&q, x->made, x->nmade, sizeof(q), rs_plan_check_cmp_noextra) != NULL;
	return bsearch(&q, x->made, x->nmade, sizeof(q), rs_plan_check_cmp) != NULL;
}

static int rs_plan_check_satisfied(const struct rs_plan_check *x,
				   const struct rs_plan_key *k)
{
	switch (k->kind) {
	case 'R':
		return rs_plan_check_in(x->roles, x->nroles, (char *)k->name.data) ||
		       rs_plan_check_in(x->new_roles, x->nnew_roles, (char *)k->name.data);
	case 't':
		/* every relation has a row type of its name */
		return rs_plan_check_made(x, 't', k) || rs_plan_check_made(x, 'r', k);
	case 'g':
		return rs_plan_check_made(x, 'f', k);
	case 'L':
		/* a language comes with the extension of its name */
		return rs_plan_check_made(x, 'L', k) || rs_plan_check_made(x, 'e', k);
	default:
		return rs_plan_check_made(x, k->kind, k);
	}
}

/* "FK CONSTRAINT public.order_items order_items_order_id_fkey" */
static char *rs_plan_check_where(const struct pg_ddl_section *s)
{
	struct buf b = BUF_INIT;

	if (buf_addf(&b, "%s %s%s%s", s->type, s->schema, *s->schema ? "." : "", s->name) < 0) {
		buf_release(&b);
		return NULL;
	}
	return buf_detach(&b, NULL);
}

static int rs_plan_check_need(struct rs_plan_check *x, char kind, const char *schema,
			      const char *name, const char *extra, const char *why)
{
	struct rs_plan_check_need *n;
	int r;

	if (x->nneed == x->capneed) {
		size_t cap = x->capneed ? 2 * x->capneed : 64;

		n = realloc(x->need, cap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		x->need = n;
		x->capneed = cap;
	}
	n = &x->need[x->nneed];
	memset(n, 0, sizeof(*n));
	buf_init(&n->k.schema, 0);
	buf_init(&n->k.name, 0);
	buf_init(&n->k.extra, 0);
	x->nneed++;
	r = rs_plan_key_set(&n->k, kind, schema, name, extra);
	if (r == 0 && rs_plan_check_satisfied(x, &n->k)) {
		rs_plan_key_release(&n->k);
		x->nneed--;
		return 0;
	}
	n->count = 1;
	n->where = rs_plan_check_where(x->sec);
	n->why = strdup(why);
	return r < 0 || !n->where || !n->why ? -ENOMEM : 0;
}

static int rs_plan_check_ref(void *arg, const struct rs_refs_ref *ref)
{
	struct rs_plan_check *x = arg;

	/* the schemas an extension the restore creates installs into:
	 * objects no snapshot lists may appear there */
	if (x->reading_ext && ref->kind == RS_REFS_SCHEMA &&
	    !rs_plan_check_in(x->ext_schemas, x->next_schemas, ref->name) &&
	    strv_push(&x->ext_schemas, &x->next_schemas, ref->name) < 0)
		return -ENOMEM;
	return rs_plan_check_need(x, ref->kind, ref->schema, ref->name, ref->extra, ref->why);
}

/* What the restore creates: what every section it runs creates (and a
 * relation's row type), sorted for lookups; the roles roles.sql
 * creates. */
static int rs_plan_check_made_set(struct rs_plan_check *x)
{
	/* relations that follow their table (an owned sequence, an
	 * index): the probe does not look for them, they are made here */
	static const char *const rel[] = {
		"SEQUENCE", "INDEX", "VIEW", "MATERIALIZED VIEW", "FOREIGN TABLE", NULL,
	};
	const struct rs_plan *p = x->p;
	const struct pg_ddl *d = x->src->ddl;
	int r = 0;

	x->made = calloc(p->nsec + 1, sizeof(*x->made));
	if (!x->made)
		return -ENOMEM;
	for (size_t i = 0; i < p->nsec && r == 0; i++) {
		const struct pg_ddl_section *s = pg_ddl_get(d, i);
		struct rs_plan_key *k = &x->made[x->nmade];

		if (!rs_plan_check_runs(p->sec[i]))
			continue;
		r = rs_plan_key_of(d, s, k);
		x->nmade++;
		if (r == 0 && !k->kind && rs_plan_read_type_in(s->type, rel))
			r = rs_plan_key_set(k, 'r', s->schema, s->name, NULL);
		/* ALTER SCHEMA public OWNER TO makes no schema */
		if (r == 0 && k->kind == 'n' && !rs_plan_check_creates(p, d, i))
			k->kind = 0;
		if (r == 0 && k->kind == 'e')
			x->next++;
	}
	if (r == 0)
		qsort(x->made, x->nmade, sizeof(*x->made), rs_plan_check_cmp);
	for (size_t i = 0; i < p->nrole_stmt && r == 0; i++) {
		const struct rs_sanitized_stmt *st = rs_sanitized_get(p->san_roles, i);
		const struct pg_ddl_section *s = st && st->section < pg_ddl_count(x->src->roles) ?
						 pg_ddl_get(x->src->roles, st->section) : NULL;

		if (s && !strcmp(s->type, "ROLE") && p->role_stmt[i] == RS_ACT_RUN &&
		    !st->skip && !rs_plan_check_in(x->new_roles, x->nnew_roles, s->name))
			r = strv_push(&x->new_roles, &x->nnew_roles, s->name);
	}
	return r;
}

/* Every statement the plan runs, read for what it needs; and the schema
 * of every object it creates. */
static int rs_plan_check_read(struct rs_plan_check *x)
{
	const struct rs_plan *p = x->p;
	const struct pg_ddl *d = x->src->ddl;
	const char *text = pg_ddl_text(d);
	int r = 0;

	for (size_t i = 0; i < p->nobjects && r == 0; i++) {
		const struct rs_plan_object *o = &p->objects[i];

		if (!rs_plan_check_runs(o->act) || !*o->schema ||
		    !strcmp(o->type, "SCHEMA"))
			continue;
		x->sec = pg_ddl_get(d, o->section);
		r = rs_plan_check_need(x, 'n', "", o->schema, NULL, "is created in");
	}
	for (size_t i = 0; i < rs_sanitized_count(p->san) && r == 0; i++) {
		const struct rs_sanitized_stmt *st = rs_sanitized_get(p->san, i);

		if (st->skip || st->section >= p->nsec || !rs_plan_check_runs(p->sec[st->section]))
			continue;
		x->sec = pg_ddl_get(d, st->section);
		x->reading_ext = !strcmp(x->sec->type, "EXTENSION");
		r = rs_refs_stmt(text + st->off, st->len, rs_plan_check_ref, x);
	}
	x->reading_ext = 0;
	return r;
}

int rs_plan_check_creates(const struct rs_plan *p, const struct pg_ddl *d, size_t i)
{
	size_t first, n;

	rs_sanitized_section(p->san, i, &first, &n);
	for (size_t k = first; k < first + n; k++) {
		const struct rs_sanitized_stmt *st = rs_sanitized_get(p->san, k);
		struct rs_sql_lex lx;
		struct rs_sql_tok t;

		rs_sql_lex_init(&lx, pg_ddl_text(d) + st->off, st->len);
		rs_sql_lex_next(&lx, &t);
		if (rs_sql_is(&t, "CREATE"))
			return 1;
	}
	return 0;
}

static const char *rs_plan_check_kind_name(char kind)
{
	switch (kind) {
	case 'r':
		return "relation";
	case 't':
		return "type";
	case 'f':
	case 'g':
		return "function";
	case 'l':
		return "collation";
	case 'L':
		return "language";
	case 's':
		return "server";
	case 'w':
		return "foreign-data wrapper";
	case 'n':
		return "schema";
	case 'R':
		return "role";
	case 'p':
		return "publication";
	}
	return "object";
}

/* 1 when section i of the snapshot creates an object schema.name
 * (name before any "(" of a routine's arguments). */
static int rs_plan_check_in_snapshot(const struct pg_ddl *d, const char *type,
				     const char *schema, const char *name)
{
	size_t n = strlen(name);

	for (size_t i = 0; i < pg_ddl_count(d); i++) {
		const struct pg_ddl_section *s = pg_ddl_get(d, i);

		if (type && strcmp(s->type, type))
			continue;
		if (!strcmp(s->schema, schema) && !strncmp(s->name, name, n) &&
		    (s->name[n] == 0 || s->name[n] == '('))
			return 1;
	}
	return 0;
}

/* rs_plan_check_ext_in's walk: the extensions of the snapshot that
 * install into one schema, as ", name" into b. */
struct rs_plan_check_ext {
	const char *schema, *name;
	struct buf *b;
};

static int rs_plan_check_ext_ref(void *arg, const struct rs_refs_ref *ref)
{
	struct rs_plan_check_ext *e = arg;

	if (ref->kind != RS_REFS_SCHEMA || strcmp(ref->name, e->schema))
		return 0;
	return buf_addf(e->b, "%s%s", e->b->len ? ", " : "", e->name);
}

/* The snapshot's extensions installed WITH SCHEMA schema, into b. */
static int rs_plan_check_ext_in(const struct pg_ddl *d, const char *schema, struct buf *b)
{
	const char *text = pg_ddl_text(d);
	int r = 0;

	for (size_t i = 0; i < pg_ddl_count(d) && r == 0; i++) {
		const struct pg_ddl_section *s = pg_ddl_get(d, i);
		struct rs_plan_check_ext e = { schema, s->name, b };

		if (!strcmp(s->type, "EXTENSION"))
			r = rs_refs_stmt(text + s->off, s->len, rs_plan_check_ext_ref, &e);
	}
	return r;
}

/* How to get what n names: appended to b. */
static int rs_plan_check_hint(const struct rs_plan_check *x,
			      const struct rs_plan_check_need *n, struct buf *b)
{
	const char *s = (char *)n->k.schema.data, *nm = (char *)n->k.name.data;
	const struct pg_ddl *d = x->src->ddl;

	switch (n->k.kind) {
	case 'R':
		return buf_addstr(b, x->src->roles && pg_ddl_count(x->src->roles) ?
				  "restore the roles too (--only roles,schema,data with the same --schema/--table), or create the role first" :
				  "create the role first");
	case 'n':
		return buf_addf(b, rs_plan_check_in_snapshot(d, "SCHEMA", "", nm) ?
				"restore the schema too (--schema %s), or create it first" :
				"create the schema %s first", nm);
	case 'p':
		return buf_addf(b, "create it in the target first (CREATE PUBLICATION %s), or restore the whole database (publications come with it)",
				nm);
	case 'L':
		return buf_addf(b, "install it in the target first (CREATE EXTENSION %s), or restore the extensions too (a restore of whole schemas brings them)",
				nm);
	case 'r':
		if (rs_meta_find(x->src->meta, s, nm))
			return buf_addf(b, "select it too (--table %s.%s), or restore its whole schema (--schema %s)",
					s, nm, s);
		break;
	}
	if (*s && rs_plan_check_in_snapshot(d, NULL, s, nm))
		return buf_addf(b, "restore it too (it is in the snapshot: --schema %s)", s);
	if (*s) {
		struct buf ext = BUF_INIT;
		int r = rs_plan_check_ext_in(d, s, &ext);

		/* an extension's object: the snapshot's DDL does not list
		 * it, CREATE EXTENSION makes it */
		if (r == 0 && ext.len)
			r = buf_addf(b, "install the extension that provides it (the snapshot has %s in schema %s), or restore the extensions too (a restore of whole schemas brings them)",
				     (char *)ext.data, s);
		else if (r == 0)
			r = buf_addstr(b, "create it in the target first");
		buf_release(&ext);
		return r;
	}
	return buf_addstr(b, "create it in the target first");
}

/* The conflict for a missing n: "TABLE public.t has a column of type
 * public.mood, which ...; how to get it". */
static int rs_plan_check_conflict(struct rs_plan_check *x, const struct rs_plan_check_need *n)
{
	struct buf b = BUF_INIT;
	const char *s = (char *)n->k.schema.data;
	int r;

	r = buf_addf(&b, "%s %s %s %s%s%s", n->where, n->why, rs_plan_check_kind_name(n->k.kind),
		     s, *s ? "." : "", (char *)n->k.name.data);
	if (r == 0 && n->k.kind == 'f')
		r = buf_addf(&b, "(%s)", (char *)n->k.extra.data);
	if (r == 0)
		r = buf_addstr(&b, ", which the target lacks and the restore does not create");
	if (r == 0 && n->count > 1)
		r = buf_addf(&b, " (%zu more statement%s need%s it)", n->count - 1,
			     n->count > 2 ? "s" : "", n->count > 2 ? "" : "s");
	if (r == 0)
		r = buf_addstr(&b, ": ");
	if (r == 0)
		r = rs_plan_check_hint(x, n, &b);
	if (r == 0)
		r = strv_take(&x->p->conflicts, &x->p->nconflicts, buf_detach(&b, NULL));
	buf_release(&b);
	return r;
}

/* 1 when an extension the restore creates may provide n (its schema is
 * one they fill, or the kind lives outside schemas). */
static int rs_plan_check_maybe_extension(const struct rs_plan_check *x,
					 const struct rs_plan_check_need *n)
{
	if (!x->next)
		return 0;
	switch (n->k.kind) {
	case 'R':
	case 'n':
	case 's':
	case 'p':
		return 0;
	case 'L':
	case 'w':
		return 1;
	}
	return rs_plan_check_in(x->ext_schemas, x->next_schemas, (char *)n->k.schema.data);
}

/* The references nothing satisfies yet, each once, looked up in the
 * target; the missing ones are conflicts. */
static int rs_plan_check_lookup(struct rs_plan_check *x, PGconn *c, struct buf *err)
{
	struct rs_plan_key *keys;
	unsigned char *ex;
	size_t u = 0;
	int r = 0;

	qsort(x->need, x->nneed, sizeof(*x->need), rs_plan_check_cmp_need);
	/* merge duplicates into the first (count them) */
	for (size_t i = 0; i < x->nneed; i++) {
		if (u && rs_plan_check_cmp3(&x->need[u - 1].k, &x->need[i].k, 1) == 0) {
			x->need[u - 1].count++;
			rs_plan_key_release(&x->need[i].k);
			free(x->need[i].where);
			free(x->need[i].why);
			continue;
		}
		x->need[u++] = x->need[i];
	}
	x->nneed = u;
	keys = calloc(u + 1, sizeof(*keys));
	ex = calloc(u + 1, 1);
	if (!keys || !ex) {
		free(keys);
		free(ex);
		return -ENOMEM;
	}
	for (size_t i = 0; i < u; i++) {
		keys[i] = x->need[i].k;
		/* roles: the target's list is known already */
		if (keys[i].kind == 'R') {
			keys[i].kind = 0;
			ex[i] = 0;
		}
	}
	r = rs_plan_probe_keys(c, keys, u, ex, err);
	for (size_t i = 0; i < u && r == 0; i++)
		if (!ex[i] && !rs_plan_check_maybe_extension(x, &x->need[i]))
			r = rs_plan_check_conflict(x, &x->need[i]);
	free(keys);
	free(ex);
	return r;
}

int rs_plan_check(PGconn *c, struct rs_plan *p, const struct rs_plan_source *src,
		  char *const *roles, size_t nroles, struct buf *err)
{
	struct rs_plan_check x;
	int r;

	memset(&x, 0, sizeof(x));
	x.p = p;
	x.src = src;
	x.roles = roles;
	x.nroles = nroles;
	r = rs_plan_check_made_set(&x);
	if (r == 0)
		r = rs_plan_check_read(&x);
	if (r == 0)
		r = rs_plan_check_lookup(&x, c, err);
	for (size_t i = 0; i < x.nmade; i++)
		rs_plan_key_release(&x.made[i]);
	free(x.made);
	for (size_t i = 0; i < x.nneed; i++) {
		rs_plan_key_release(&x.need[i].k);
		free(x.need[i].where);
		free(x.need[i].why);
	}
	free(x.need);
	strv_free(x.new_roles, x.nnew_roles);
	strv_free(x.ext_schemas, x.next_schemas);
	return r;
}

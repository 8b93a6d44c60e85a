/*
 * rs-sanitize: the statement rules for managed targets.  Each rule reads
 * the statement's tokens (rs-sql), never its raw text, so identifiers
 * are compared the way PostgreSQL resolves them (quoted exactly,
 * unquoted folded to lower case).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pg-catalog.h"
#include "rs-sanitize.h"
#include "rs-sql.h"

struct rs_sanitized {
	struct rs_sanitized_stmt *v;
	size_t n, cap;
	size_t nsec;
	size_t *first, *count;	/* per section */
	size_t nskipped;
};

static const char *const rs_sanitize_api[] = {
	"anon", "authenticated", "service_role", NULL,
};

static int rs_sanitize_in(const char *const *v, const char *s)
{
	for (; v && *v; v++)
		if (!strcmp(*v, s))
			return 1;
	return 0;
}

static int rs_sanitize_reserved(const struct rs_sanitize_opts *o,
				const char *role)
{
	int (*fn)(const char *) = o->reserved ? o->reserved : pg_catalog_reserved_role;

	if (o->current_role && !strcmp(role, o->current_role))
		return 0;
	return fn(role);
}

/* reserved, and not one of the API roles a project grants to itself */
static int rs_sanitize_platform(const struct rs_sanitize_opts *o,
				const char *role)
{
	const char *const *api = o->api_roles ? o->api_roles : rs_sanitize_api;

	return rs_sanitize_reserved(o, role) && !rs_sanitize_in(api, role);
}

/* The next identifier as a string (lexer advanced past it). */
static int rs_sanitize_name(struct rs_sql_lex *x, struct rs_sql_tok *t,
			    struct buf *out)
{
	int r;

	buf_reset(out);
	if (!rs_sql_is_ident(t))
		return -EINVAL;
	r = rs_sql_ident(t, out);
	rs_sql_lex_next(x, t);
	return r;
}

/*
 * A role list at t ("a, "B", GROUP c, PUBLIC"): calls test on each name
 * until it returns 1; leaves the matching name in hit.  Returns 1 on a
 * hit, 0 otherwise; t ends on the first token after the list.
 */
static int rs_sanitize_roles(struct rs_sql_lex *x, struct rs_sql_tok *t,
			     const struct rs_sanitize_opts *o,
			     int (*test)(const struct rs_sanitize_opts *, const char *),
			     struct buf *hit)
{
	int found = 0;

	for (;;) {
		if (rs_sql_is(t, "GROUP"))
			rs_sql_lex_next(x, t);
		if (!rs_sql_is_ident(t))
			return found;
		if (rs_sql_is(t, "PUBLIC") || rs_sql_is(t, "CURRENT_USER") ||
		    rs_sql_is(t, "SESSION_USER") || rs_sql_is(t, "CURRENT_ROLE")) {
			rs_sql_lex_next(x, t);
		} else {
			struct buf name = BUF_INIT;

			if (rs_sanitize_name(x, t, &name) == 0 && !found &&
			    test(o, (char *)name.data)) {
				buf_reset(hit);
				buf_add(hit, name.data, name.len);
				found = 1;
			}
			buf_release(&name);
		}
		if (!rs_sql_punct(t, ','))
			return found;
		rs_sql_lex_next(x, t);
	}
}

/* GRANT / REVOKE */
static int rs_sanitize_grant(const struct rs_sanitize_opts *o,
			     struct rs_sql_lex *x, struct rs_sql_tok *t,
			     int revoke, struct buf *why)
{
	struct buf hit = BUF_INIT;
	struct rs_sql_lex save;
	struct rs_sql_tok st;
	int depth = 0, on = 0, r = 0;

	rs_sql_lex_next(x, t);
	/* REVOKE GRANT OPTION FOR / ADMIN OPTION FOR */
	if (revoke && (rs_sql_is(t, "GRANT") || rs_sql_is(t, "ADMIN"))) {
		rs_sql_lex_next(x, t);
		rs_sql_lex_next(x, t);
		rs_sql_lex_next(x, t);
	}
	save = *x;
	st = *t;
	while (t->kind != RS_SQL_END) {
		if (rs_sql_punct(t, '('))
			depth++;
		else if (rs_sql_punct(t, ')'))
			depth--;
		else if (depth == 0 && rs_sql_is(t, "ON"))
			on = 1;
		else if (depth == 0 && rs_sql_is(t, revoke ? "FROM" : "TO"))
			break;
		rs_sql_lex_next(x, t);
	}
	if (t->kind == RS_SQL_END)
		goto out;
	if (!on) {
		/* a membership: the granted roles, then the members */
		struct rs_sql_lex mx = save;
		struct rs_sql_tok mt = st;

		if (rs_sanitize_roles(&mx, &mt, o, rs_sanitize_reserved, &hit)) {
			r = buf_addf(why, "membership in reserved role %s is managed by the platform",
				     (char *)hit.data);
			goto out;
		}
		rs_sql_lex_next(x, t);
		if (rs_sanitize_roles(x, t, o, rs_sanitize_reserved, &hit)) {
			r = buf_addf(why, "membership of reserved role %s is managed by the platform",
				     (char *)hit.data);
			goto out;
		}
	} else {
		rs_sql_lex_next(x, t);
		if (rs_sanitize_roles(x, t, o, rs_sanitize_platform, &hit)) {
			r = buf_addf(why, "%s reserved role %s, which the platform manages",
				     revoke ? "revokes privileges from" : "grants privileges to",
				     (char *)hit.data);
			goto out;
		}
	}
	/* ... [WITH GRANT OPTION] [GRANTED BY role] [CASCADE] */
	while (t->kind != RS_SQL_END && !rs_sql_is(t, "GRANTED"))
		rs_sql_lex_next(x, t);
	if (rs_sql_is(t, "GRANTED")) {
		rs_sql_lex_next(x, t);
		rs_sql_lex_next(x, t);	/* BY */
		if (rs_sanitize_roles(x, t, o, rs_sanitize_reserved, &hit))
			r = buf_addf(why, "granted by reserved role %s, which the restoring role cannot act as",
				     (char *)hit.data);
	}
out:
	buf_release(&hit);
	return r;
}

/*
 * GRANT/REVOKE ... ON [kind] pg_catalog.x (or ON SCHEMA pg_catalog):
 * the catalog object's qualified name into obj, else nothing.
 */
static int rs_sanitize_catalog_object(struct rs_sql_lex *x, struct rs_sql_tok *t,
				      struct buf *obj)
{
	static const char *const kinds[] = {
		"TABLE", "SEQUENCE", "FUNCTION", "PROCEDURE", "ROUTINE", "TYPE",
		"DOMAIN", "LANGUAGE", "FOREIGN", "DATA", "WRAPPER", "SERVER", NULL,
	};
	struct buf s = BUF_INIT, n = BUF_INIT;
	int depth = 0, r = 0, schema = 0;

	for (; t->kind != RS_SQL_END; rs_sql_lex_next(x, t)) {
		if (rs_sql_punct(t, '('))
			depth++;
		else if (rs_sql_punct(t, ')'))
			depth--;
		else if (depth == 0 && rs_sql_is(t, "ON"))
			break;
	}
	rs_sql_lex_next(x, t);
	for (size_t k = 0; kinds[k]; k++)
		if (rs_sql_is(t, kinds[k])) {
			rs_sql_lex_next(x, t);
			k = (size_t)-1;
		}
	if (rs_sql_is(t, "SCHEMA")) {
		schema = 1;
		rs_sql_lex_next(x, t);
	}
	if (rs_sql_is_ident(t) && rs_sql_qname(x, t, &s, &n) == 0) {
		const char *sch = schema ? (char *)n.data : (char *)s.data;

		if (!strcmp(sch, "pg_catalog") || !strcmp(sch, "information_schema"))
			r = schema ? buf_addf(obj, "schema %s", sch) :
			    buf_addf(obj, "%s.%s", sch, (char *)n.data);
	}
	buf_release(&s);
	buf_release(&n);
	return r;
}

int rs_sanitize_stmt(const struct rs_sanitize_opts *o, const char *sql,
		     size_t len, int meta, struct buf *why)
{
	struct rs_sql_lex x;
	struct rs_sql_tok t;
	struct buf name = BUF_INIT;
	int r = 0;

	if (meta)
		return buf_addstr(why, "psql meta-command: not SQL, nothing to run over libpq");
	rs_sql_lex_init(&x, sql, len);
	rs_sql_lex_next(&x, &t);
	if (o->no_superuser && (rs_sql_is(&t, "GRANT") || rs_sql_is(&t, "REVOKE"))) {
		struct rs_sql_lex cx = x;
		struct rs_sql_tok ct = t;

		r = rs_sanitize_catalog_object(&cx, &ct, &name);
		if (r == 0 && name.len)
			r = buf_addf(why, "privileges on the catalog's %s: only a superuser may change them, and the restoring role is not one",
				     (char *)name.data);
		buf_release(&name);
		if (r < 0 || why->len)
			return r;
	}
	if (!o->managed)
		return 0;
	/* pg_dump's way to grant as another grantor (large_objects.sql
	 * too): only a superuser may; the grant then runs as this role */
	if (rs_sql_is(&t, "SET")) {
		rs_sql_lex_next(&x, &t);
		if (rs_sql_is(&t, "SESSION")) {
			rs_sql_lex_next(&x, &t);
			if (rs_sql_is(&t, "AUTHORIZATION"))
				r = buf_addstr(why, "SET SESSION AUTHORIZATION needs a superuser: the statements up to its RESET run as the restoring role");
		}
		goto out;
	}
	if (rs_sql_is(&t, "GRANT") || rs_sql_is(&t, "REVOKE"))
		return rs_sanitize_grant(o, &x, &t, rs_sql_is(&t, "REVOKE"), why);
	if (rs_sql_is(&t, "CREATE") || rs_sql_is(&t, "ALTER") ||
	    rs_sql_is(&t, "DROP")) {
		int alter = rs_sql_is(&t, "ALTER");

		rs_sql_lex_next(&x, &t);
		if (rs_sql_is(&t, "EVENT")) {
			r = buf_addstr(why, "event triggers need a superuser");
			goto out;
		}
		if (rs_sql_is(&t, "ROLE") || rs_sql_is(&t, "USER") ||
		    rs_sql_is(&t, "GROUP")) {
			rs_sql_lex_next(&x, &t);
			if (rs_sanitize_name(&x, &t, &name) == 0 &&
			    rs_sanitize_reserved(o, (char *)name.data))
				r = buf_addf(why, "changes reserved role %s, which the platform manages",
					     (char *)name.data);
			goto out;
		}
		if (!alter)
			goto out;
		if (rs_sql_is(&t, "DEFAULT")) {
			struct buf hit = BUF_INIT;

			rs_sql_lex_next(&x, &t);	/* PRIVILEGES */
			rs_sql_lex_next(&x, &t);
			if (rs_sql_is(&t, "FOR")) {
				rs_sql_lex_next(&x, &t);	/* ROLE / USER */
				rs_sql_lex_next(&x, &t);
				if (rs_sanitize_roles(&x, &t, o, rs_sanitize_reserved, &hit))
					r = buf_addf(why, "default privileges of reserved role %s cannot be changed by the restoring role",
						     (char *)hit.data);
			}
			buf_release(&hit);
			goto out;
		}
		/* ALTER <anything> ... OWNER TO role */
		while (t.kind != RS_SQL_END) {
			if (rs_sql_is(&t, "OWNER")) {
				rs_sql_lex_next(&x, &t);
				if (!rs_sql_is(&t, "TO"))
					continue;
				rs_sql_lex_next(&x, &t);
				if (rs_sanitize_name(&x, &t, &name) == 0 &&
				    rs_sanitize_reserved(o, (char *)name.data))
					r = buf_addf(why, "ownership change to reserved role %s, which the restoring role cannot assume",
						     (char *)name.data);
				goto out;
			}
			rs_sql_lex_next(&x, &t);
		}
		goto out;
	}
	if (rs_sql_is(&t, "COMMENT")) {
		rs_sql_lex_next(&x, &t);	/* ON */
		rs_sql_lex_next(&x, &t);
		if (rs_sql_is(&t, "EXTENSION")) {
			r = buf_addstr(why, "comment on an extension: only its owner may set it");
		} else if (rs_sql_is(&t, "EVENT")) {
			r = buf_addstr(why, "event triggers need a superuser");
		} else if (rs_sql_is(&t, "ROLE")) {
			rs_sql_lex_next(&x, &t);
			if (rs_sanitize_name(&x, &t, &name) == 0 &&
			    rs_sanitize_reserved(o, (char *)name.data))
				r = buf_addf(why, "changes reserved role %s, which the platform manages",
					     (char *)name.data);
		}
	}
out:
	buf_release(&name);
	return r;
}

static int rs_sanitize_push(struct rs_sanitized *s, const struct rs_sanitized_stmt *st)
{
	if (s->n == s->cap) {
		size_t ncap = s->cap ? 2 * s->cap : 64;
		struct rs_sanitized_stmt *v = realloc(s->v, ncap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		s->v = v;
		s->cap = ncap;
	}
	s->v[s->n++] = *st;
	return 0;
}

/* The managed schema a section belongs to, or NULL. */
static const char *rs_sanitize_managed_section(const struct rs_sanitize_opts *o,
					       const struct pg_ddl_section *sec)
{
	const char *const *m = o->managed_schemas;

	if (!o->managed || !m)
		return NULL;
	for (; *m; m++) {
		if ((sec->rel_schema && !strcmp(sec->rel_schema, *m)) ||
		    !strcmp(sec->schema, *m))
			return *m;
		if (!strcmp(sec->type, "SCHEMA") && !strcmp(sec->name, *m))
			return *m;
		if (!*sec->schema && !strncmp(sec->name, "SCHEMA ", 7) &&
		    !strcmp(sec->name + 7, *m))
			return *m;
	}
	return NULL;
}

int rs_sanitize(struct rs_sanitized **out, const struct pg_ddl *d,
		const struct rs_sanitize_opts *o)
{
	struct rs_sanitized *s = calloc(1, sizeof(*s));
	const char *text = pg_ddl_text(d);
	size_t nsec = pg_ddl_count(d), len = 0, pos = 0, cur = 0;
	struct rs_sql_stmt st;
	struct buf why = BUF_INIT;
	int r = 0;

	*out = NULL;
	if (!s)
		return -ENOMEM;
	s->nsec = nsec;
	s->first = calloc(nsec + 1, sizeof(size_t));
	s->count = calloc(nsec + 1, sizeof(size_t));
	if (!s->first || !s->count) {
		rs_sanitized_free(s);
		return -ENOMEM;
	}
	len = strlen(text);
	while (r == 0 && rs_sql_next(text, len, &pos, &st)) {
		struct rs_sanitized_stmt v = { RS_SANITIZE_PREAMBLE, st.off, st.len, NULL };
		const struct pg_ddl_section *sec;
		const char *ms;

		/* the section holding the statement's first byte */
		while (cur < nsec && pg_ddl_get(d, cur)->off +
		       pg_ddl_get(d, cur)->len <= st.off)
			cur++;
		if (cur < nsec && pg_ddl_get(d, cur)->off <= st.off)
			v.section = cur;
		else if (cur >= nsec && nsec)
			v.section = RS_SANITIZE_TRAILER;
		buf_reset(&why);
		sec = v.section < nsec ? pg_ddl_get(d, v.section) : NULL;
		ms = sec ? rs_sanitize_managed_section(o, sec) : NULL;
		if (ms && !st.meta)
			r = buf_addf(&why, "schema %s is managed by the platform on this target: its DDL is kept, only rows are restored",
				     ms);
		else
			r = rs_sanitize_stmt(o, text + st.off, st.len, st.meta, &why);
		if (r == 0 && why.len) {
			v.skip = buf_detach(&why, NULL);
			if (!v.skip)
				r = -ENOMEM;
			s->nskipped++;
		}
		if (r == 0)
			r = rs_sanitize_push(s, &v);
		else
			free((char *)v.skip);
		if (r == 0 && v.section < nsec) {
			if (!s->count[v.section])
				s->first[v.section] = s->n - 1;
			s->count[v.section]++;
		}
	}
	buf_release(&why);
	if (r < 0) {
		rs_sanitized_free(s);
		return r;
	}
	*out = s;
	return 0;
}

void rs_sanitized_free(struct rs_sanitized *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++)
		free((char *)s->v[i].skip);
	free(s->v);
	free(s->first);
	free(s->count);
	free(s);
}

size_t rs_sanitized_count(const struct rs_sanitized *s)
{
	return s->n;
}

const struct rs_sanitized_stmt *rs_sanitized_get(const struct rs_sanitized *s, size_t i)
{
	return i < s->n ? &s->v[i] : NULL;
}

void rs_sanitized_section(const struct rs_sanitized *s, size_t sec,
			  size_t *first, size_t *n)
{
	*first = 0;
	*n = 0;
	if (sec < s->nsec) {
		*first = s->first[sec];
		*n = s->count[sec];
	}
}

size_t rs_sanitized_nskipped(const struct rs_sanitized *s)
{
	return s->nskipped;
}

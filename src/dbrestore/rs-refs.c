/*
 * rs-refs: the objects a dump's statement needs, from its tokens (see
 * rs-refs.h).  The statement is tokenized once (rs-sql) into an array,
 * then read by its leading words; every reader looks only at the
 * positions the grammar gives a name (after REFERENCES, a column's
 * type, EXECUTE FUNCTION, a FROM item...), never at any dotted name it
 * meets, because "t.c" inside an expression is a column.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "rs-refs.h"
#include "rs-sql.h"

struct rs_refs {
	struct rs_sql_tok *t;
	size_t n;
	rs_refs_fn *fn;
	void *arg;
	struct buf s, nm;	/* the name being reported */
	int r;			/* the first failure: later reads stop */
};

static const struct rs_sql_tok rs_refs_none = { RS_SQL_END, "", 0 };

static const struct rs_sql_tok *rs_refs_tok(const struct rs_refs *x, size_t i)
{
	return i < x->n ? &x->t[i] : &rs_refs_none;
}

static int rs_refs_kw(const struct rs_refs *x, size_t i, const char *kw)
{
	return rs_sql_is(rs_refs_tok(x, i), kw);
}

static int rs_refs_p(const struct rs_refs *x, size_t i, char c)
{
	return rs_sql_punct(rs_refs_tok(x, i), c);
}

static int rs_refs_id(const struct rs_refs *x, size_t i)
{
	return rs_sql_is_ident(rs_refs_tok(x, i));
}

/* 1 when tokens i.. are "a.b", a two-part name (not "a.b.c") */
static int rs_refs_qname(const struct rs_refs *x, size_t i)
{
	return rs_refs_id(x, i) && rs_refs_p(x, i + 1, '.') && rs_refs_id(x, i + 2) &&
	       !rs_refs_p(x, i + 3, '.');
}

static void rs_refs_report(struct rs_refs *x, char kind, const char *extra,
			   const char *why)
{
	struct rs_refs_ref ref = {
		kind, (char *)x->s.data, (char *)x->nm.data, extra ? extra : "", why,
	};

	if (x->r == 0)
		x->r = x->fn(x->arg, &ref);
}

/* The two-part name at i, when there is one. */
static void rs_refs_emit(struct rs_refs *x, char kind, size_t i, const char *extra,
			 const char *why)
{
	if (x->r || !rs_refs_qname(x, i))
		return;
	buf_reset(&x->s);
	buf_reset(&x->nm);
	x->r = rs_sql_ident(rs_refs_tok(x, i), &x->s);
	if (x->r == 0)
		x->r = rs_sql_ident(rs_refs_tok(x, i + 2), &x->nm);
	if (x->r == 0)
		rs_refs_report(x, kind, extra, why);
}

/* A one-part name at i (a role, a language, a server...). */
static void rs_refs_emit1(struct rs_refs *x, char kind, size_t i, const char *why)
{
	if (x->r || !rs_refs_id(x, i))
		return;
	buf_reset(&x->s);
	buf_reset(&x->nm);
	x->r = rs_sql_ident(rs_refs_tok(x, i), &x->nm);
	if (x->r == 0)
		rs_refs_report(x, kind, NULL, why);
}

/* The index of keyword kw at parenthesis depth 0 from i on, or n. */
static size_t rs_refs_find(const struct rs_refs *x, size_t i, const char *kw)
{
	int depth = 0;

	for (; i < x->n; i++) {
		if (rs_refs_p(x, i, '('))
			depth++;
		else if (rs_refs_p(x, i, ')'))
			depth--;
		else if (depth == 0 && rs_refs_kw(x, i, kw))
			return i;
	}
	return x->n;
}

/* The index just past the ')' matching the '(' at i. */
static size_t rs_refs_close(const struct rs_refs *x, size_t i)
{
	int depth = 0;

	for (; i < x->n; i++) {
		if (rs_refs_p(x, i, '('))
			depth++;
		else if (rs_refs_p(x, i, ')') && --depth == 0)
			return i + 1;
	}
	return x->n;
}

/*
 * 1 when "a.b(" at i is a call of function a.b in an expression (and
 * reported as one): a qualified name followed by '(' is one there,
 * unless it is INSERT INTO's table and its column list.
 */
static int rs_refs_call(struct rs_refs *x, size_t i)
{
	if (!rs_refs_qname(x, i) || !rs_refs_p(x, i + 3, '(') ||
	    (i && (rs_refs_kw(x, i - 1, "INTO") || rs_refs_p(x, i - 1, '.'))))
		return 0;
	rs_refs_emit(x, RS_REFS_ROUTINE_ANY, i, NULL, "calls");
	return 1;
}

/* The calls of the expressions from i to the end of the statement. */
static void rs_refs_calls(struct rs_refs *x, size_t i)
{
	for (; i < x->n && x->r == 0; i++)
		if (rs_refs_call(x, i))
			i += 2;
}

/* ---- roles ------------------------------------------------------------------ */

static int rs_refs_role_special(const struct rs_refs *x, size_t i)
{
	return rs_refs_kw(x, i, "PUBLIC") || rs_refs_kw(x, i, "CURRENT_USER") ||
	       rs_refs_kw(x, i, "SESSION_USER") || rs_refs_kw(x, i, "CURRENT_ROLE") ||
	       rs_refs_kw(x, i, "USER");
}

/* A role list at i ("a, GROUP b, PUBLIC"); returns the index after it. */
static size_t rs_refs_roles(struct rs_refs *x, size_t i, const char *why)
{
	for (;;) {
		if (rs_refs_kw(x, i, "GROUP"))
			i++;
		if (!rs_refs_id(x, i))
			return i;
		if (!rs_refs_role_special(x, i))
			rs_refs_emit1(x, RS_REFS_ROLE, i, why);
		i++;
		if (!rs_refs_p(x, i, ','))
			return i;
		i++;
	}
}

/* OWNER TO r, anywhere at depth 0 of an ALTER */
static void rs_refs_owner(struct rs_refs *x)
{
	size_t i = rs_refs_find(x, 0, "OWNER");

	if (i < x->n && rs_refs_kw(x, i + 1, "TO"))
		rs_refs_roles(x, i + 2, "is owned by");
}

/* GRANT / REVOKE ... ON ... TO|FROM roles [GRANTED BY r]; a membership
 * (no ON) names roles roles.sql is about, not schema.sql */
static void rs_refs_grant(struct rs_refs *x, size_t from)
{
	int revoke = rs_refs_kw(x, from, "REVOKE");
	size_t on = rs_refs_find(x, from, "ON"), to;

	if (on == x->n)
		return;
	to = rs_refs_find(x, on, revoke ? "FROM" : "TO");
	if (to == x->n)
		return;
	rs_refs_roles(x, to + 1, revoke ? "revokes privileges from" : "grants privileges to");
	to = rs_refs_find(x, to, "GRANTED");
	if (to < x->n && rs_refs_kw(x, to + 1, "BY"))
		rs_refs_roles(x, to + 2, "grants privileges as");
}

/* ALTER DEFAULT PRIVILEGES [FOR ROLE r, ...] [IN SCHEMA s, ...] GRANT ... */
static void rs_refs_default_privileges(struct rs_refs *x)
{
	size_t i = 3;

	if (rs_refs_kw(x, i, "FOR") && (rs_refs_kw(x, i + 1, "ROLE") || rs_refs_kw(x, i + 1, "USER")))
		i = rs_refs_roles(x, i + 2, "sets default privileges of");
	if (rs_refs_kw(x, i, "IN") && rs_refs_kw(x, i + 1, "SCHEMA")) {
		for (i += 2; rs_refs_id(x, i); i += 2) {
			rs_refs_emit1(x, RS_REFS_SCHEMA, i, "sets default privileges in");
			if (!rs_refs_p(x, i + 1, ','))
				break;
		}
	}
	i = rs_refs_find(x, i, "GRANT") < x->n ? rs_refs_find(x, i, "GRANT") :
	    rs_refs_find(x, i, "REVOKE");
	if (i < x->n)
		rs_refs_grant(x, i);
}

/* ---- types and column lists ------------------------------------------------ */

static int rs_refs_table_constraint(const struct rs_refs *x, size_t i)
{
	static const char *const kw[] = {
		"CONSTRAINT", "CHECK", "UNIQUE", "PRIMARY", "EXCLUDE", "FOREIGN", "LIKE", NULL,
	};

	for (size_t k = 0; kw[k]; k++)
		if (rs_refs_kw(x, i, kw[k]))
			return 1;
	return 0;
}

/*
 * The element list "(name type [COLLATE c] [...], ...)" at the '(' i: a
 * table's columns, a composite type's attributes, RETURNS TABLE's.  The
 * type follows the name; a qualified one is a reference.  Returns the
 * index past the ')'.
 */
static size_t rs_refs_columns(struct rs_refs *x, size_t i)
{
	size_t end = rs_refs_close(x, i);
	int depth = 0, start = 1, expr = 0;

	for (; i < end && x->r == 0; i++) {
		/* a default's, a check's or a generated column's calls */
		if (expr && rs_refs_call(x, i)) {
			i += 2;
			continue;
		}
		if (rs_refs_p(x, i, '(')) {
			depth++;
			start = depth == 1;
			continue;
		}
		if (rs_refs_p(x, i, ')')) {
			depth--;
			continue;
		}
		if (depth != 1)
			continue;
		if (rs_refs_p(x, i, ',')) {
			start = 1;
			expr = 0;
			continue;
		}
		if (start && !rs_refs_table_constraint(x, i))
			rs_refs_emit(x, RS_REFS_TYPE, i + 1, NULL, "has a column of");
		start = 0;
		if (rs_refs_kw(x, i, "DEFAULT") || rs_refs_kw(x, i, "CHECK") ||
		    rs_refs_kw(x, i, "GENERATED"))
			expr = 1;
		if (rs_refs_kw(x, i, "COLLATE"))
			rs_refs_emit(x, RS_REFS_COLLATION, i + 1, NULL, "uses");
	}
	return end;
}

/* A routine's or aggregate's argument list at the '(' i: every qualified
 * name of an argument before its DEFAULT is its type. */
static size_t rs_refs_args(struct rs_refs *x, size_t i)
{
	size_t end = rs_refs_close(x, i);
	int depth = 0, dflt = 0;

	for (; i < end && x->r == 0; i++) {
		if (rs_refs_p(x, i, '('))
			depth++;
		else if (rs_refs_p(x, i, ')'))
			depth--;
		else if (depth == 1 && rs_refs_p(x, i, ','))
			dflt = 0;
		else if (depth == 1 && (rs_refs_kw(x, i, "DEFAULT") || rs_refs_p(x, i, '=')))
			dflt = 1;
		else if (depth == 1 && !dflt && rs_refs_qname(x, i)) {
			rs_refs_emit(x, RS_REFS_TYPE, i, NULL, "takes an argument of");
			i += 2;
		}
	}
	return end;
}

/* "KEY = name" options in the '(' list at i (CREATE AGGREGATE, OPERATOR,
 * TYPE ... AS RANGE, a base type): the keys of keys[] name a type ('t')
 * or a routine ('g'). */
struct rs_refs_opt {
	const char *key;
	char kind;
};

static void rs_refs_options(struct rs_refs *x, size_t i, const struct rs_refs_opt *opts)
{
	size_t end = rs_refs_close(x, i);
	int depth = 0;

	for (; i < end && x->r == 0; i++) {
		if (rs_refs_p(x, i, '('))
			depth++;
		else if (rs_refs_p(x, i, ')'))
			depth--;
		else if (depth == 1 && rs_refs_p(x, i + 1, '='))
			for (size_t k = 0; opts[k].key; k++)
				if (rs_refs_kw(x, i, opts[k].key))
					rs_refs_emit(x, opts[k].kind, i + 2, NULL,
						     opts[k].kind == RS_REFS_TYPE ? "needs" : "calls");
	}
}

/* ---- queries ----------------------------------------------------------------- */

#define RS_REFS_DEPTH 64

static int rs_refs_clause_end(const struct rs_refs *x, size_t i)
{
	static const char *const kw[] = {
		"WHERE", "GROUP", "HAVING", "WINDOW", "ORDER", "LIMIT", "OFFSET", "FETCH",
		"UNION", "INTERSECT", "EXCEPT", "ON", "USING", "RETURNING", "SET", "VALUES",
		"SELECT", NULL,
	};

	for (size_t k = 0; kw[k]; k++)
		if (rs_refs_kw(x, i, kw[k]))
			return 1;
	return 0;
}

static int rs_refs_query_start(const struct rs_refs *x, size_t i)
{
	return rs_refs_kw(x, i, "SELECT") || rs_refs_kw(x, i, "WITH") ||
	       rs_refs_kw(x, i, "VALUES") || rs_refs_kw(x, i, "INSERT") ||
	       rs_refs_kw(x, i, "UPDATE") || rs_refs_kw(x, i, "DELETE");
}

/*
 * The relations a query reads or writes (a view's, a rule's actions, a
 * BEGIN ATOMIC body), from token i on: the items of FROM and JOIN, and
 * INSERT INTO / UPDATE targets.  Each parenthesis is a subquery ('q'),
 * a join tree ('j', opened where a FROM item goes) or an expression
 * ('e': a function's arguments, where EXTRACT(... FROM t.c) is no
 * FROM clause); IS DISTINCT FROM is no FROM either.
 */
static void rs_refs_query(struct rs_refs *x, size_t i)
{
	char ctx[RS_REFS_DEPTH];
	unsigned char from[RS_REFS_DEPTH];
	int d = 0, item = 0;

	ctx[0] = 'q';
	from[0] = 0;
	for (; i < x->n && x->r == 0; i++) {
		char c = d < RS_REFS_DEPTH ? ctx[d] : 'e';

		if (rs_refs_p(x, i, '(')) {
			char nc = rs_refs_query_start(x, i + 1) ? 'q' :
				  item || (c == 'j' && i && rs_refs_p(x, i - 1, '(')) ? 'j' : 'e';

			if (++d < RS_REFS_DEPTH) {
				ctx[d] = nc;
				from[d] = nc == 'j';
			}
			item = nc == 'j';
			continue;
		}
		if (rs_refs_p(x, i, ')')) {
			d -= d > 0;
			item = 0;
			continue;
		}
		if (!item && rs_refs_call(x, i)) {
			i += 2;
			continue;
		}
		if (c == 'e')
			continue;
		if ((rs_refs_kw(x, i, "FROM") && !(i && rs_refs_kw(x, i - 1, "DISTINCT"))) ||
		    rs_refs_kw(x, i, "JOIN")) {
			from[d] = 1;
			item = 1;
		} else if (rs_refs_kw(x, i, "INTO") && i && rs_refs_kw(x, i - 1, "INSERT")) {
			rs_refs_emit(x, RS_REFS_RELATION, i + 1, NULL, "writes into");
		} else if (rs_refs_kw(x, i, "UPDATE") && !(i && (rs_refs_kw(x, i - 1, "FOR") ||
								  rs_refs_kw(x, i - 1, "KEY") ||
								  rs_refs_kw(x, i - 1, "DO")))) {
			rs_refs_emit(x, RS_REFS_RELATION, i + 1 + rs_refs_kw(x, i + 1, "ONLY"),
				     NULL, "updates");
		} else if (from[d] && rs_refs_p(x, i, ',')) {
			item = 1;
		} else if (rs_refs_clause_end(x, i)) {
			from[d] = 0;
			item = 0;
		} else if (item && (rs_refs_kw(x, i, "ONLY") || rs_refs_kw(x, i, "LATERAL"))) {
			continue;
		} else if (item) {
			if (rs_refs_qname(x, i)) {
				int call = rs_refs_p(x, i + 3, '(');

				rs_refs_emit(x, call ? RS_REFS_ROUTINE_ANY : RS_REFS_RELATION, i,
					     NULL, call ? "calls" : "reads");
				i += 2;
			}
			item = 0;
		}
	}
}

/* ---- statements ------------------------------------------------------------- */

/* CREATE [...] TABLE name [OF type | PARTITION OF parent] [(...)]
 * [INHERITS (...)] [SERVER s] */
static void rs_refs_table(struct rs_refs *x, size_t i)
{
	int cols = 0;

	if (rs_refs_kw(x, i, "IF"))
		i += 3;
	i += rs_refs_qname(x, i) ? 3 : 1;
	while (i < x->n && x->r == 0) {
		if (rs_refs_p(x, i, '(') && !cols) {
			cols = 1;
			i = rs_refs_columns(x, i);
		} else if (rs_refs_p(x, i, '(')) {
			i = rs_refs_close(x, i);
		} else if (rs_refs_kw(x, i, "PARTITION") && rs_refs_kw(x, i + 1, "OF")) {
			rs_refs_emit(x, RS_REFS_RELATION, i + 2, NULL, "is a partition of");
			i += 5;
		} else if (rs_refs_kw(x, i, "OF")) {
			rs_refs_emit(x, RS_REFS_TYPE, i + 1, NULL, "is a table of");
			i += 4;
		} else if (rs_refs_kw(x, i, "INHERITS") && rs_refs_p(x, i + 1, '(')) {
			size_t end = rs_refs_close(x, i + 1);

			for (i += 2; i < end; i++)
				if (rs_refs_qname(x, i)) {
					rs_refs_emit(x, RS_REFS_RELATION, i, NULL, "inherits from");
					i += 2;
				}
		} else if (rs_refs_kw(x, i, "SERVER")) {
			rs_refs_emit1(x, RS_REFS_SERVER, i + 1, "is a foreign table of");
			i += 2;
		} else {
			i++;
		}
	}
}

/* CREATE FUNCTION|PROCEDURE name(args) [RETURNS ...] [LANGUAGE l] ...
 * [AS '...' | BEGIN ATOMIC ... END] */
static void rs_refs_routine(struct rs_refs *x, size_t i)
{
	i += rs_refs_qname(x, i) ? 3 : 1;
	if (!rs_refs_p(x, i, '('))
		return;
	i = rs_refs_args(x, i);
	for (; i < x->n && x->r == 0; i++) {
		if (rs_refs_kw(x, i, "RETURNS")) {
			i += 1 + rs_refs_kw(x, i + 1, "SETOF");
			if (rs_refs_kw(x, i, "TABLE") && rs_refs_p(x, i + 1, '('))
				i = rs_refs_columns(x, i + 1) - 1;
			else
				rs_refs_emit(x, RS_REFS_TYPE, i, NULL, "returns");
		} else if (rs_refs_kw(x, i, "LANGUAGE")) {
			rs_refs_emit1(x, RS_REFS_LANGUAGE, i + 1, "is written in");
		} else if (rs_refs_kw(x, i, "AS")) {
			return;
		} else if (rs_refs_kw(x, i, "BEGIN") && rs_refs_kw(x, i + 1, "ATOMIC")) {
			rs_refs_query(x, i + 2);
			return;
		} else if (rs_refs_p(x, i, '(')) {
			i = rs_refs_close(x, i) - 1;
		}
	}
}

static void rs_refs_create(struct rs_refs *x)
{
	static const struct rs_refs_opt agg[] = {
		{ "STYPE", RS_REFS_TYPE }, { "MSTYPE", RS_REFS_TYPE },
		{ "SFUNC", RS_REFS_ROUTINE_ANY }, { "FINALFUNC", RS_REFS_ROUTINE_ANY },
		{ "COMBINEFUNC", RS_REFS_ROUTINE_ANY }, { "SERIALFUNC", RS_REFS_ROUTINE_ANY },
		{ "DESERIALFUNC", RS_REFS_ROUTINE_ANY }, { "MSFUNC", RS_REFS_ROUTINE_ANY },
		{ "MINVFUNC", RS_REFS_ROUTINE_ANY }, { "MFINALFUNC", RS_REFS_ROUTINE_ANY },
		{ NULL, 0 },
	};
	static const struct rs_refs_opt opr[] = {
		{ "LEFTARG", RS_REFS_TYPE }, { "RIGHTARG", RS_REFS_TYPE },
		{ "FUNCTION", RS_REFS_ROUTINE_ANY }, { "PROCEDURE", RS_REFS_ROUTINE_ANY },
		{ NULL, 0 },
	};
	static const struct rs_refs_opt typ[] = {
		{ "SUBTYPE", RS_REFS_TYPE }, { "ELEMENT", RS_REFS_TYPE },
		{ "LIKE", RS_REFS_TYPE }, { "INPUT", RS_REFS_ROUTINE_ANY },
		{ "OUTPUT", RS_REFS_ROUTINE_ANY }, { "RECEIVE", RS_REFS_ROUTINE_ANY },
		{ "SEND", RS_REFS_ROUTINE_ANY }, { "TYPMOD_IN", RS_REFS_ROUTINE_ANY },
		{ "TYPMOD_OUT", RS_REFS_ROUTINE_ANY }, { "ANALYZE", RS_REFS_ROUTINE_ANY },
		{ "SUBSCRIPT", RS_REFS_ROUTINE_ANY }, { "CANONICAL", RS_REFS_ROUTINE_ANY },
		{ "SUBTYPE_DIFF", RS_REFS_ROUTINE_ANY }, { NULL, 0 },
	};
	static const char *const mods[] = {
		"OR", "REPLACE", "UNLOGGED", "TEMP", "TEMPORARY", "GLOBAL", "LOCAL",
		"FOREIGN", "CONSTRAINT", "MATERIALIZED", "RECURSIVE", "TRUSTED",
		"PROCEDURAL", "DEFAULT", NULL,
	};
	size_t i = 1, k;

	for (k = 0; mods[k];)
		if (rs_refs_kw(x, i, mods[k])) {
			i++;
			k = 0;
		} else {
			k++;
		}
	if (rs_refs_kw(x, i, "TABLE")) {
		rs_refs_table(x, i + 1);
	} else if (rs_refs_kw(x, i, "FUNCTION") || rs_refs_kw(x, i, "PROCEDURE")) {
		rs_refs_routine(x, i + 1);
	} else if (rs_refs_kw(x, i, "AGGREGATE")) {
		i += rs_refs_qname(x, i + 1) ? 4 : 2;
		if (rs_refs_p(x, i, '(')) {
			i = rs_refs_args(x, i);
			if (rs_refs_p(x, i, '('))
				rs_refs_options(x, i, agg);
		}
	} else if (rs_refs_kw(x, i, "OPERATOR") && !rs_refs_kw(x, i + 1, "CLASS") &&
		   !rs_refs_kw(x, i + 1, "FAMILY")) {
		for (; i < x->n && !rs_refs_p(x, i, '('); i++)
			;
		rs_refs_options(x, i, opr);
	} else if (rs_refs_kw(x, i, "TYPE")) {
		i += rs_refs_qname(x, i + 1) ? 4 : 2;
		if (rs_refs_kw(x, i, "AS") && rs_refs_p(x, i + 1, '('))
			rs_refs_columns(x, i + 1);
		else if (rs_refs_kw(x, i, "AS") && rs_refs_kw(x, i + 1, "RANGE"))
			rs_refs_options(x, i + 2, typ);
		else if (rs_refs_p(x, i, '('))
			rs_refs_options(x, i, typ);
	} else if (rs_refs_kw(x, i, "DOMAIN")) {
		k = rs_refs_find(x, i, "AS");
		rs_refs_emit(x, RS_REFS_TYPE, k + 1, NULL, "is a domain over");
		rs_refs_emit(x, RS_REFS_COLLATION, rs_refs_find(x, k, "COLLATE") + 1, NULL, "uses");
		rs_refs_calls(x, k);
	} else if (rs_refs_kw(x, i, "TRIGGER") ||
		   (rs_refs_kw(x, i, "EVENT") && rs_refs_kw(x, i + 1, "TRIGGER"))) {
		/* a trigger function is declared without arguments */
		k = rs_refs_find(x, i, "EXECUTE");
		if (rs_refs_kw(x, k + 1, "FUNCTION") || rs_refs_kw(x, k + 1, "PROCEDURE"))
			rs_refs_emit(x, RS_REFS_ROUTINE, k + 2, "", "executes");
		k = rs_refs_find(x, i, "FROM");
		rs_refs_emit(x, RS_REFS_RELATION, k + 1, NULL, "is a constraint trigger from");
	} else if (rs_refs_kw(x, i, "VIEW")) {
		rs_refs_query(x, rs_refs_find(x, i, "AS") + 1);
	} else if (rs_refs_kw(x, i, "RULE")) {
		k = rs_refs_find(x, i, "DO");
		rs_refs_query(x, k + 1);
	} else if (rs_refs_kw(x, i, "POLICY")) {
		k = rs_refs_find(x, i, "TO");
		if (k < x->n)
			rs_refs_roles(x, k + 1, "applies to");
		rs_refs_calls(x, i);
	} else if (rs_refs_kw(x, i, "SERVER")) {
		k = rs_refs_find(x, i, "WRAPPER");
		rs_refs_emit1(x, RS_REFS_WRAPPER, k + 1, "belongs to");
	} else if (rs_refs_kw(x, i, "USER") && rs_refs_kw(x, i + 1, "MAPPING")) {
		k = rs_refs_find(x, i, "FOR");
		if (k < x->n && !rs_refs_role_special(x, k + 1))
			rs_refs_emit1(x, RS_REFS_ROLE, k + 1, "maps");
		k = rs_refs_find(x, i, "SERVER");
		rs_refs_emit1(x, RS_REFS_SERVER, k + 1, "belongs to");
	} else if (rs_refs_kw(x, i, "INDEX") ||
		   (rs_refs_kw(x, i, "UNIQUE") && rs_refs_kw(x, i + 1, "INDEX"))) {
		/* the expressions and predicate of an index */
		rs_refs_calls(x, rs_refs_find(x, i, "USING"));
	} else if (rs_refs_kw(x, i, "EXTENSION")) {
		k = rs_refs_find(x, i, "SCHEMA");
		rs_refs_emit1(x, RS_REFS_SCHEMA, k + 1, "installs into");
	}
}

/* ALTER TABLE [IF EXISTS] [ONLY] t ... [REFERENCES p] [ATTACH PARTITION c] */
static void rs_refs_alter_table(struct rs_refs *x)
{
	size_t i = 2, k;

	if (rs_refs_kw(x, i, "IF"))
		i += 2;
	i += rs_refs_kw(x, i, "ONLY");
	rs_refs_emit(x, RS_REFS_RELATION, i, NULL, "alters");
	k = rs_refs_find(x, i, "REFERENCES");
	rs_refs_emit(x, RS_REFS_RELATION, k + 1, NULL, "references");
	k = rs_refs_find(x, i, "ATTACH");
	if (rs_refs_kw(x, k + 1, "PARTITION"))
		rs_refs_emit(x, RS_REFS_RELATION, k + 2, NULL, "attaches");
	/* SET DEFAULT expr, ADD CONSTRAINT c CHECK (expr) */
	k = rs_refs_find(x, i, "DEFAULT");
	rs_refs_calls(x, k < x->n ? k : rs_refs_find(x, i, "CHECK"));
}

/* ALTER PUBLICATION p ADD TABLE [ONLY] t, ... | ADD TABLES IN SCHEMA s */
static void rs_refs_alter_publication(struct rs_refs *x)
{
	rs_refs_emit1(x, RS_REFS_PUBLICATION, 2, "adds to");
	for (size_t i = 3; i < x->n && x->r == 0; i++) {
		if (rs_refs_kw(x, i, "SCHEMA"))
			rs_refs_emit1(x, RS_REFS_SCHEMA, i + 1, "publishes");
		else if (rs_refs_kw(x, i, "TABLE") || (rs_refs_p(x, i, ',') && rs_refs_qname(x, i + 1)))
			rs_refs_emit(x, RS_REFS_RELATION, i + 1 + rs_refs_kw(x, i + 1, "ONLY"),
				     NULL, "publishes");
		else if (rs_refs_p(x, i, '('))
			i = rs_refs_close(x, i) - 1;
	}
}

/* 'schema.name'::regclass (a column default's nextval, a view's cast) */
static void rs_refs_regclass(struct rs_refs *x)
{
	struct buf lit = BUF_INIT, s = BUF_INIT, n = BUF_INIT;

	for (size_t i = 0; i + 3 < x->n && x->r == 0; i++) {
		const struct rs_sql_tok *t = rs_refs_tok(x, i);
		struct rs_sql_lex lx;
		struct rs_sql_tok nt;

		if (t->kind != RS_SQL_STRING || t->p[0] != '\'' || !rs_refs_p(x, i + 1, ':') ||
		    !rs_refs_p(x, i + 2, ':') || !rs_refs_kw(x, i + 3, "regclass"))
			continue;
		buf_reset(&lit);
		for (size_t k = 1; k + 1 < t->len && x->r == 0; k++) {
			x->r = buf_addch(&lit, t->p[k]);
			k += t->p[k] == '\'';
		}
		rs_sql_lex_init(&lx, (char *)lit.data, lit.len);
		rs_sql_lex_next(&lx, &nt);
		if (x->r == 0 && rs_sql_qname(&lx, &nt, &s, &n) == 0 && s.len &&
		    nt.kind == RS_SQL_END) {
			buf_reset(&x->s);
			buf_reset(&x->nm);
			x->r = buf_add(&x->s, s.data, s.len);
			if (x->r == 0)
				x->r = buf_add(&x->nm, n.data, n.len);
			if (x->r == 0)
				rs_refs_report(x, RS_REFS_RELATION, NULL, "names");
		}
	}
	buf_release(&lit);
	buf_release(&s);
	buf_release(&n);
}

int rs_refs_stmt(const char *sql, size_t len, rs_refs_fn *fn, void *arg)
{
	struct rs_refs x;
	struct rs_sql_lex lx;
	struct rs_sql_tok t;
	size_t cap = 0;
	int r;

	memset(&x, 0, sizeof(x));
	x.fn = fn;
	x.arg = arg;
	buf_init(&x.s, 0);
	buf_init(&x.nm, 0);
	rs_sql_lex_init(&lx, sql, len);
	for (rs_sql_lex_next(&lx, &t); t.kind != RS_SQL_END; rs_sql_lex_next(&lx, &t)) {
		if (x.n == cap) {
			size_t ncap = cap ? 2 * cap : 64;
			struct rs_sql_tok *v = realloc(x.t, ncap * sizeof(*v));

			if (!v) {
				free(x.t);
				return -ENOMEM;
			}
			x.t = v;
			cap = ncap;
		}
		x.t[x.n++] = t;
	}
	if (rs_refs_kw(&x, 0, "CREATE")) {
		rs_refs_create(&x);
	} else if (rs_refs_kw(&x, 0, "ALTER")) {
		if (rs_refs_kw(&x, 1, "TABLE"))
			rs_refs_alter_table(&x);
		if (rs_refs_kw(&x, 1, "PUBLICATION"))
			rs_refs_alter_publication(&x);
		if (rs_refs_kw(&x, 1, "DEFAULT") && rs_refs_kw(&x, 2, "PRIVILEGES"))
			rs_refs_default_privileges(&x);
		else
			rs_refs_owner(&x);
	} else if (rs_refs_kw(&x, 0, "GRANT") || rs_refs_kw(&x, 0, "REVOKE")) {
		rs_refs_grant(&x, 0);
	}
	if (!rs_refs_kw(&x, 0, "COMMENT") && !rs_refs_kw(&x, 0, "SECURITY"))
		rs_refs_regclass(&x);
	r = x.r;
	free(x.t);
	buf_release(&x.s);
	buf_release(&x.nm);
	return r;
}

/*
 * rs-order: Tarjan's strongly connected components over the foreign-key
 * graph, then Kahn's topological sort of the components with the lowest
 * node index first, so the order only depends on the input.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "rs-order.h"
#include "rs-sql.h"

void rs_order_init(struct rs_order *o)
{
	memset(o, 0, sizeof(*o));
}

static void rs_order_clear_solution(struct rs_order *o)
{
	for (size_t k = 0; k < o->ncycles; k++) {
		free(o->cycles[k].nodes);
		free(o->cycles[k].edges);
	}
	free(o->cycles);
	free(o->order);
	free(o->cycle_of);
	o->cycles = NULL;
	o->ncycles = 0;
	o->order = NULL;
	o->cycle_of = NULL;
}

void rs_order_release(struct rs_order *o)
{
	if (!o)
		return;
	rs_order_clear_solution(o);
	for (size_t i = 0; i < o->nnodes; i++) {
		free(o->nodes[i].schema);
		free(o->nodes[i].name);
	}
	free(o->nodes);
	for (size_t i = 0; i < o->nedges; i++)
		free(o->edges[i].constraint);
	free(o->edges);
	rs_order_init(o);
}

long rs_order_find(const struct rs_order *o, const char *schema,
		   const char *name)
{
	for (size_t i = 0; i < o->nnodes; i++)
		if (!strcmp(o->nodes[i].schema, schema) &&
		    !strcmp(o->nodes[i].name, name))
			return (long)i;
	return -1;
}

long rs_order_node(struct rs_order *o, const char *schema, const char *name)
{
	long i = rs_order_find(o, schema, name);
	struct rs_order_node *v;

	if (i >= 0)
		return i;
	v = realloc(o->nodes, (o->nnodes + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	o->nodes = v;
	v[o->nnodes].schema = strdup(schema);
	v[o->nnodes].name = strdup(name);
	if (!v[o->nnodes].schema || !v[o->nnodes].name) {
		free(v[o->nnodes].schema);
		free(v[o->nnodes].name);
		return -ENOMEM;
	}
	return (long)o->nnodes++;
}

int rs_order_edge(struct rs_order *o, const char *cschema, const char *cname,
		  const char *pschema, const char *pname,
		  const char *constraint, int deferrable)
{
	long c = rs_order_find(o, cschema, cname);
	long p = rs_order_find(o, pschema, pname);
	struct rs_order_edge *v;

	if (c < 0 || p < 0)
		return 0;
	/* the same key may be known from the snapshot and the target */
	for (size_t i = 0; i < o->nedges; i++)
		if (o->edges[i].child == (size_t)c && o->edges[i].parent == (size_t)p &&
		    !strcmp(o->edges[i].constraint, constraint ? constraint : ""))
			return 0;
	v = realloc(o->edges, (o->nedges + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	o->edges = v;
	v[o->nedges].child = (size_t)c;
	v[o->nedges].parent = (size_t)p;
	v[o->nedges].deferrable = deferrable;
	v[o->nedges].constraint = strdup(constraint ? constraint : "");
	if (!v[o->nedges].constraint)
		return -ENOMEM;
	o->nedges++;
	return 0;
}

int rs_order_parse_fk(const char *sql, size_t len, struct buf *cschema,
		      struct buf *cname, struct buf *constraint,
		      struct buf *pschema, struct buf *pname, int *deferrable)
{
	struct rs_sql_lex x;
	struct rs_sql_tok t;
	int depth = 0;

	*deferrable = 0;
	rs_sql_lex_init(&x, sql, len);
	rs_sql_lex_next(&x, &t);
	if (!rs_sql_is(&t, "ALTER"))
		return -EINVAL;
	rs_sql_lex_next(&x, &t);
	if (!rs_sql_is(&t, "TABLE"))
		return -EINVAL;
	rs_sql_lex_next(&x, &t);
	if (rs_sql_is(&t, "ONLY"))
		rs_sql_lex_next(&x, &t);
	if (rs_sql_qname(&x, &t, cschema, cname) < 0)
		return -EINVAL;
	if (!rs_sql_is(&t, "ADD"))
		return -EINVAL;
	rs_sql_lex_next(&x, &t);
	if (!rs_sql_is(&t, "CONSTRAINT"))
		return -EINVAL;
	rs_sql_lex_next(&x, &t);
	buf_reset(constraint);
	if (!rs_sql_is_ident(&t) || rs_sql_ident(&t, constraint) < 0)
		return -EINVAL;
	rs_sql_lex_next(&x, &t);
	if (!rs_sql_is(&t, "FOREIGN"))
		return -EINVAL;
	while (t.kind != RS_SQL_END && !(depth == 0 && rs_sql_is(&t, "REFERENCES"))) {
		if (rs_sql_punct(&t, '('))
			depth++;
		else if (rs_sql_punct(&t, ')'))
			depth--;
		rs_sql_lex_next(&x, &t);
	}
	if (t.kind == RS_SQL_END)
		return -EINVAL;
	rs_sql_lex_next(&x, &t);
	if (rs_sql_qname(&x, &t, pschema, pname) < 0)
		return -EINVAL;
	for (; t.kind != RS_SQL_END && !rs_sql_punct(&t, ';');
	     rs_sql_lex_next(&x, &t)) {
		if (rs_sql_is(&t, "NOT")) {
			rs_sql_lex_next(&x, &t);
			if (rs_sql_is(&t, "DEFERRABLE"))
				*deferrable = 0;
			continue;
		}
		if (rs_sql_is(&t, "DEFERRABLE"))
			*deferrable = 1;
	}
	return 0;
}

int rs_order_add_ddl(struct rs_order *o, const struct pg_ddl *d)
{
	struct buf cs = BUF_INIT, cn = BUF_INIT, con = BUF_INIT;
	struct buf ps = BUF_INIT, pn = BUF_INIT;
	int r = 0;

	for (size_t i = 0; i < pg_ddl_count(d) && r == 0; i++) {
		const struct pg_ddl_section *s = pg_ddl_get(d, i);
		int def;

		if (strcmp(s->type, "FK CONSTRAINT"))
			continue;
		if (rs_order_parse_fk(pg_ddl_text(d) + s->off, s->len, &cs, &cn,
				      &con, &ps, &pn, &def) < 0)
			continue;
		/* pg_dump always qualifies; be safe with unqualified text */
		r = rs_order_edge(o, cs.len ? (char *)cs.data : s->schema,
				  (char *)cn.data,
				  ps.len ? (char *)ps.data : s->schema,
				  (char *)pn.data, (char *)con.data, def);
	}
	buf_release(&cs);
	buf_release(&cn);
	buf_release(&con);
	buf_release(&ps);
	buf_release(&pn);
	return r;
}

/* ---- Tarjan ------------------------------------------------------------ */

struct rs_order_tarjan {
	const struct rs_order *o;
	size_t **adj, *nadj;	/* child -> parents */
	long *index, *low;
	int *on;
	size_t *stack, sp;
	long next;
	size_t *comp;		/* node -> component */
	size_t ncomp;
};

static void rs_order_strong(struct rs_order_tarjan *t, size_t v)
{
	t->index[v] = t->low[v] = t->next++;
	t->stack[t->sp++] = v;
	t->on[v] = 1;
	for (size_t k = 0; k < t->nadj[v]; k++) {
		size_t w = t->adj[v][k];

		if (t->index[w] < 0) {
			rs_order_strong(t, w);
			if (t->low[w] < t->low[v])
				t->low[v] = t->low[w];
		} else if (t->on[w] && t->index[w] < t->low[v]) {
			t->low[v] = t->index[w];
		}
	}
	if (t->low[v] == t->index[v]) {
		size_t w;

		do {
			w = t->stack[--t->sp];
			t->on[w] = 0;
			t->comp[w] = t->ncomp;
		} while (w != v);
		t->ncomp++;
	}
}

static int rs_order_cycles(struct rs_order *o, const size_t *comp, size_t ncomp)
{
	size_t *size = calloc(ncomp + 1, sizeof(*size));
	size_t *cyc = calloc(ncomp + 1, sizeof(*cyc));	/* comp -> cycle+1 */
	int r = 0;

	if (!size || !cyc) {
		free(size);
		free(cyc);
		return -ENOMEM;
	}
	for (size_t v = 0; v < o->nnodes; v++)
		size[comp[v]]++;
	for (size_t v = 0; v < o->nnodes && r == 0; v++) {
		size_t c = comp[v];
		struct rs_order_cycle *cy;

		if (size[c] < 2)
			continue;
		if (!cyc[c]) {
			cy = realloc(o->cycles, (o->ncycles + 1) * sizeof(*cy));
			if (!cy) {
				r = -ENOMEM;
				break;
			}
			o->cycles = cy;
			memset(&cy[o->ncycles], 0, sizeof(*cy));
			cy[o->ncycles].deferrable = 1;
			cy[o->ncycles].nodes = calloc(size[c], sizeof(size_t));
			cy[o->ncycles].edges = calloc(o->nedges + 1, sizeof(size_t));
			if (!cy[o->ncycles].nodes || !cy[o->ncycles].edges)
				r = -ENOMEM;
			cyc[c] = ++o->ncycles;
		}
		if (r == 0) {
			cy = &o->cycles[cyc[c] - 1];
			cy->nodes[cy->n++] = v;
			o->cycle_of[v] = cyc[c];
		}
	}
	for (size_t e = 0; e < o->nedges && r == 0; e++) {
		const struct rs_order_edge *ed = &o->edges[e];
		struct rs_order_cycle *cy;

		if (ed->child == ed->parent || comp[ed->child] != comp[ed->parent] ||
		    !cyc[comp[ed->child]])
			continue;
		cy = &o->cycles[cyc[comp[ed->child]] - 1];
		cy->edges[cy->nedges++] = e;
		if (!ed->deferrable)
			cy->deferrable = 0;
	}
	free(size);
	free(cyc);
	return r;
}

int rs_order_solve(struct rs_order *o)
{
	struct rs_order_tarjan t;
	size_t n = o->nnodes, *indeg = NULL, *emitted = NULL, k = 0;
	int r = 0;

	rs_order_clear_solution(o);
	memset(&t, 0, sizeof(t));
	t.o = o;
	t.adj = calloc(n + 1, sizeof(*t.adj));
	t.nadj = calloc(n + 1, sizeof(*t.nadj));
	t.index = malloc((n + 1) * sizeof(*t.index));
	t.low = malloc((n + 1) * sizeof(*t.low));
	t.on = calloc(n + 1, sizeof(*t.on));
	t.stack = malloc((n + 1) * sizeof(*t.stack));
	t.comp = malloc((n + 1) * sizeof(*t.comp));
	o->order = malloc((n + 1) * sizeof(*o->order));
	o->cycle_of = calloc(n + 1, sizeof(*o->cycle_of));
	if (!t.adj || !t.nadj || !t.index || !t.low || !t.on || !t.stack ||
	    !t.comp || !o->order || !o->cycle_of) {
		r = -ENOMEM;
		goto out;
	}
	for (size_t e = 0; e < o->nedges && r == 0; e++) {
		size_t c = o->edges[e].child;
		size_t *v = realloc(t.adj[c], (t.nadj[c] + 1) * sizeof(*v));

		if (!v) {
			r = -ENOMEM;
			break;
		}
		t.adj[c] = v;
		v[t.nadj[c]++] = o->edges[e].parent;
	}
	if (r < 0)
		goto out;
	for (size_t v = 0; v < n; v++)
		t.index[v] = -1;
	for (size_t v = 0; v < n; v++)
		if (t.index[v] < 0)
			rs_order_strong(&t, v);
	r = rs_order_cycles(o, t.comp, t.ncomp);
	if (r < 0)
		goto out;
	/* Kahn over components: a component is ready once every component
	 * it references is emitted; among ready nodes, lowest index first */
	indeg = calloc(t.ncomp + 1, sizeof(*indeg));
	emitted = calloc(t.ncomp + 1, sizeof(*emitted));
	if (!indeg || !emitted) {
		r = -ENOMEM;
		goto out;
	}
	for (size_t e = 0; e < o->nedges; e++) {
		size_t cc = t.comp[o->edges[e].child], pc = t.comp[o->edges[e].parent];

		if (cc != pc)
			indeg[cc]++;
	}
	while (k < n) {
		size_t pick = n;

		for (size_t v = 0; v < n; v++)
			if (!emitted[t.comp[v]] && indeg[t.comp[v]] == 0) {
				pick = v;
				break;
			}
		if (pick == n)	/* cannot happen: components form a DAG */
			break;
		emitted[t.comp[pick]] = 1;
		for (size_t v = 0; v < n; v++)
			if (t.comp[v] == t.comp[pick])
				o->order[k++] = v;
		for (size_t e = 0; e < o->nedges; e++) {
			size_t cc = t.comp[o->edges[e].child];
			size_t pc = t.comp[o->edges[e].parent];

			if (pc == t.comp[pick] && cc != pc)
				indeg[cc]--;
		}
	}
out:
	for (size_t v = 0; t.adj && v < n; v++)
		free(t.adj[v]);
	free(t.adj);
	free(t.nadj);
	free(t.index);
	free(t.low);
	free(t.on);
	free(t.stack);
	free(t.comp);
	free(indeg);
	free(emitted);
	return r;
}

int rs_order_describe_cycle(const struct rs_order *o, size_t k,
			    struct buf *out)
{
	const struct rs_order_cycle *cy;
	int r = 0;

	if (k >= o->ncycles)
		return -EINVAL;
	cy = &o->cycles[k];
	for (size_t i = 0; i < cy->nedges && r == 0; i++) {
		const struct rs_order_edge *e = &o->edges[cy->edges[i]];

		r = buf_addf(out, "%s%s.%s -> %s.%s (%s%s)", i ? ", " : "",
			     o->nodes[e->child].schema, o->nodes[e->child].name,
			     o->nodes[e->parent].schema, o->nodes[e->parent].name,
			     e->constraint, e->deferrable ? ", deferrable" : "");
	}
	return r;
}

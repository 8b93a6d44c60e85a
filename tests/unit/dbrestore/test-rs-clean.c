/*
 * test-rs-clean: clean mode as vault.1 documents it (rs-plan-clean,
 * rs-plan-drift, rs-exec-clean), against a real server (fx.h).
 *
 * Each case restores from the fixture's captured tree into a copy of
 * the source database, changed first:
 *  - the reproducer: one table (public.todos) with a view and a
 *    materialized view on it, rows changed: the plan says "reload
 *    (definition matches)", the rows come back, the views (and a view
 *    someone made) stay the same objects, the publication keeps it, the
 *    log says reload, the dry run leaves nothing behind;
 *  - auth.users alone: its trigger (which inserts a profile per user)
 *    does not fire on the reload, and is enabled again after it; the
 *    foreign keys of unselected tables (ON DELETE CASCADE among them)
 *    are back and their rows untouched;
 *  - tables that drifted (a column added, a type changed, a column
 *    dropped, an index dropped, an owner changed): each is recreated and the plan says
 *    why, with its views and materialized view recreated from the
 *    snapshot's DDL (and refreshed); the schema equals the source's;
 *  - a view someone made on a table that drifted: refused, naming it,
 *    target unchanged; with drop_views it is dropped and the restore
 *    goes through; a function and a column of another table that depend
 *    on it: refused, naming them (DROP TABLE would fail); a policy of
 *    another table recreated that reads a view recreated goes first;
 *  - foreign keys: a reload that would break a key of an unselected
 *    table is refused and changes nothing, one that does not keeps the
 *    key valid, with its comment; a kept table whose parent is recreated
 *    lets go of its key and gets it back;
 *  - a restore that fails midway (killed during the load, or refused at
 *    the end by a foreign key), after it dropped and recreated tables
 *    and views and emptied a table: the target is unchanged, its
 *    relations the same objects;
 *  - partitions: a partitioned parent that drifted takes its partitions
 *    along ("its parent ... is recreated"), the rest of the tree is
 *    reloaded otherwise;
 *  - the plan's text and JSON name reload and recreate with why.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <libpq-fe.h>

#include "../tap.h"
#include "fx.h"
#include "json.h"

/* The plan of a dry run of tables (patterns) into db, or NULL. */
static struct rs_plan *plan_of(const char *db, const char *const *tables, struct buf *err)
{
	struct rs_plan *plan = NULL;
	struct rs_log log;
	int r;

	rs_log_init(&log);
	r = fx_restore(db, NULL, RS_MODE_CLEAN, 0, tables, 0, 1, NULL, NULL, &log, &plan, err);
	rs_log_release(&log);
	if (r < 0 && r != -EEXIST) {
		rs_plan_free(plan);
		return NULL;
	}
	return plan;
}

static const struct rs_plan_table *plan_table(const struct rs_plan *p, const char *schema,
					      const char *name)
{
	for (size_t i = 0; p && i < p->ntables; i++)
		if (!strcmp(p->tables[i].t->schema, schema) && !strcmp(p->tables[i].t->name, name))
			return &p->tables[i];
	return NULL;
}

/* 1 when table schema.name of p is kept (reloaded) / recreated, with a
 * reason that holds why. */
static int plan_says(const struct rs_plan *p, const char *schema, const char *name,
		     enum rs_plan_act ddl, const char *why)
{
	const struct rs_plan_table *t = plan_table(p, schema, name);

	if (!t || t->ddl != ddl || !t->clean || !strstr(t->clean, why)) {
		diag("%s.%s: ddl %d, clean \"%s\" (want %d, \"%s\")", schema, name,
		     t ? (int)t->ddl : -1, t && t->clean ? t->clean : "(null)", (int)ddl, why);
		return 0;
	}
	return 1;
}

static int plan_text_has(const struct rs_plan *p, const char *what)
{
	struct buf out = BUF_INIT;
	int r = p && rs_plan_text(p, &fx_src, &out) == 0 && strstr((char *)out.data, what);

	if (!r)
		diag("plan text without \"%s\":\n%s", what, (char *)out.data);
	buf_release(&out);
	return r;
}

static long long scalar(const char *db, const char *sql)
{
	PGconn *c = fx_connect(db, NULL);
	long long v = c ? fx_scalar(c, sql) : -1;

	PQfinish(c);
	return v;
}

/* The oids of the relations named (a text for comparing). */
static void oids(const char *db, struct buf *out)
{
	PGconn *c = fx_connect(db, NULL);
	PGresult *res = c ? PQexec(c, "SELECT string_agg(oid::text, ',' ORDER BY relname) FROM pg_class"
				 " WHERE relname IN ('todos', 'active_todos', 'todo_stats', 'my_todos',"
				 " 'counters', 'my_counters')") : NULL;

	buf_reset(out);
	if (PQresultStatus(res) == PGRES_TUPLES_OK)
		buf_addstr(out, PQgetvalue(res, 0, 0));
	PQclear(res);
	PQfinish(c);
}

static int same_rows(const char *a, const char *b, const char *schema, const char *name)
{
	PGconn *ca = fx_connect(a, NULL), *cb = fx_connect(b, NULL);
	int r = ca && cb && fx_same_table(ca, cb, schema, name);

	PQfinish(ca);
	PQfinish(cb);
	return r;
}

static int same_schema(const char *a, const char *b)
{
	struct buf sa = BUF_INIT, sb = BUF_INIT;
	int r;

	fx_dump(a, 1, &sa);
	fx_dump(b, 1, &sb);
	r = sa.len && fx_same_buf(&sa, &sb);
	if (!r)
		fx_first_diff(&sa, &sb);
	buf_release(&sa);
	buf_release(&sb);
	return r;
}

/* ---- the reproducer -------------------------------------------------- */

static void test_reload(void)
{
	static const char *const todos[] = { "public.todos", NULL };
	const char *db = fx_db("reload");
	struct buf before = BUF_INIT, after = BUF_INIT, err = BUF_INIT;
	struct rs_plan *plan;
	struct rs_log log;
	int r;

	ok(fx_copy_db(fx_db("src"), db) &&
	   fx_exec(db, "DELETE FROM public.todos WHERE id > 200;"
		   "UPDATE public.todos SET task = 'changed task' WHERE id = 3;"
		   "INSERT INTO public.todos (user_id, task) SELECT user_id, 'a new task' FROM public.todos LIMIT 1;"
		   "CREATE VIEW public.my_todos AS SELECT id, task FROM public.todos;"),
	   "reload: rows changed, a view made on the table");
	oids(db, &before);
	fx_dump(db, 0, &after);
	plan = plan_of(db, todos, &err);
	ok(plan && plan->nconflicts == 0 && plan_says(plan, "public", "todos", RS_ACT_KEEP, "definition matches") &&
	   plan_table(plan, "public", "todos")->load == RS_LOAD_TRUNCATE,
	   "reload: the plan keeps the table (definition matches), no conflict");
	ok(plan_text_has(plan, "public.todos: snapshot 250 rows, target 201 rows; reload (definition matches)"),
	   "reload: the plan text says reload (definition matches)");
	{
		struct buf j = BUF_INIT;

		ok(plan && rs_plan_json(plan, &fx_src, NULL, &j) == 0 &&
		   strstr((char *)j.data, "\"clean\": \"reload\", \"clean_reason\": \"definition matches\", \"recreates\": []"),
		   "reload: the JSON plan says reload");
		buf_release(&j);
	}
	rs_plan_free(plan);
	{
		struct buf now = BUF_INIT;

		fx_dump(db, 0, &now);
		ok(fx_same_buf(&after, &now) &&
		   scalar(db, "SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'vault_drift%'") == 0,
		   "reload: the dry run changed nothing, left no schema behind");
		buf_release(&now);
	}
	rs_log_init(&log);
	r = fx_restore(db, NULL, RS_MODE_CLEAN, 0, todos, 0, 0, NULL, NULL, &log, NULL, &err);
	is_int(r, 0, "reload: restored");
	ok(same_rows(fx_db("src"), db, "public", "todos"), "reload: the rows are the snapshot's");
	oids(db, &after);
	ok(before.len && fx_same_buf(&before, &after),
	   "reload: the table, its views, its materialized view and the view made since are the same objects");
	ok(scalar(db, "SELECT count(*) FROM pg_publication_tables WHERE pubname = 'supabase_realtime' AND tablename = 'todos'") == 1,
	   "reload: still in its publication");
	ok(scalar(db, "SELECT count(*) FROM public.my_todos") == 250, "reload: the view made since reads the rows");
	{
		const struct rs_log_table *lt = fx_log_table(&log, "public", "todos");

		ok(lt && lt->clean && !strcmp(lt->clean, "reload") && lt->clean_reason &&
		   !strcmp(lt->clean_reason, "definition matches") && lt->verified == 1 &&
		   lt->before == 201 && lt->after == 250,
		   "reload: the log says reload (definition matches), 201 rows before, 250 after, verified");
	}
	rs_log_release(&log);
	buf_release(&before);
	buf_release(&after);
	buf_release(&err);
}

/* auth.users: a trigger that inserts a profile per user must not fire */
static void test_triggers(void)
{
	static const char *const users[] = { "auth.users", NULL };
	const char *db = fx_db("trig");
	struct buf a = BUF_INIT, b = BUF_INIT, err = BUF_INIT;
	struct rs_plan *plan;
	PGconn *c;
	int r;

	ok(fx_copy_db(fx_db("src"), db), "triggers: a copy");
	c = fx_connect(db, NULL);
	fx_table_rows(c, "public", "profiles", &a);
	PQfinish(c);
	plan = plan_of(db, users, &err);
	ok(plan && plan_says(plan, "auth", "users", RS_ACT_KEEP, "definition matches") &&
	   plan->nfks >= 3 && !plan->fks[0].selected,
	   "triggers: auth.users is reloaded; the keys of unselected tables are dropped and re-added");
	rs_plan_free(plan);
	r = fx_restore(db, NULL, RS_MODE_CLEAN, 0, users, 0, 0, NULL, NULL, NULL, NULL, &err);
	is_int(r, 0, "triggers: restored (its AFTER INSERT trigger did not insert profiles)");
	c = fx_connect(db, NULL);
	fx_table_rows(c, "public", "profiles", &b);
	PQfinish(c);
	ok(a.len && fx_same_buf(&a, &b), "triggers: public.profiles untouched (ON DELETE CASCADE did not fire either)");
	ok(scalar(db, "SELECT count(*) FROM pg_trigger WHERE tgname = 'on_auth_user_created' AND tgenabled = 'O'") == 1,
	   "triggers: the trigger is enabled again");
	ok(same_schema(fx_db("src"), db), "triggers: the schema is the source's (keys back as they were)");
	buf_release(&a);
	buf_release(&b);
	buf_release(&err);
}

/* ---- drift ------------------------------------------------------------------------ */

static void test_drift(void)
{
	static const char *const tables[] = {
		"public.todos", "public.pair_a", "public.pair_b", "public.counters", "auth.identities",
		"public.event_log", "public.tickets", NULL,
	};
	const char *db = fx_db("drift");
	struct buf err = BUF_INIT;
	struct rs_plan *plan;
	struct rs_log log;
	int r;

	ok(fx_copy_db(fx_db("src"), db) &&
	   fx_exec(db, "ALTER TABLE public.todos ADD COLUMN extra integer;"
		   "ALTER TABLE public.pair_b ALTER COLUMN note TYPE varchar(50);"
		   "DROP INDEX auth.identities_user_id_idx;"
		   "ALTER TABLE public.pair_a OWNER TO app_writer;"
		   "ALTER TABLE public.event_log DROP COLUMN payload;"
		   /* dropped and added back as it was: the same definition */
		   "DELETE FROM public.tickets;"
		   "ALTER TABLE public.tickets DROP COLUMN title;"
		   "ALTER TABLE public.tickets ADD COLUMN title text NOT NULL;"
		   "REFRESH MATERIALIZED VIEW public.todo_stats;"
		   "DELETE FROM public.todos WHERE id > 100;"),
	   "drift: a column added, a type changed, a column dropped, an index dropped, an owner changed");
	plan = plan_of(db, tables, &err);
	ok(plan && plan->nconflicts == 0, "drift: no conflict");
	ok(plan_says(plan, "public", "todos", RS_ACT_RECREATE, "drifted: column extra added"),
	   "drift: a column added");
	ok(plan_says(plan, "public", "pair_b", RS_ACT_RECREATE, "drifted: column note type changed"),
	   "drift: a type changed");
	ok(plan_says(plan, "auth", "identities", RS_ACT_RECREATE, "drifted: index identities_user_id_idx dropped"),
	   "drift: an index dropped");
	ok(plan_says(plan, "public", "pair_a", RS_ACT_RECREATE, "drifted: owner changed"),
	   "drift: an owner changed");
	ok(plan_says(plan, "public", "event_log", RS_ACT_RECREATE, "drifted: column payload dropped"),
	   "drift: a column dropped");
	ok(plan_says(plan, "public", "counters", RS_ACT_KEEP, "definition matches"),
	   "drift: a table that did not drift is reloaded");
	ok(plan_says(plan, "public", "tickets", RS_ACT_KEEP, "definition matches"),
	   "drift: a column dropped and added back as it was is no drift (reloaded)");
	ok(plan_text_has(plan, "; recreate (drifted: column extra added; recreates view public.active_todos, materialized view public.todo_stats)"),
	   "drift: the plan text says recreate, why, and which views come with it");
	{
		struct buf j = BUF_INIT;

		ok(plan && rs_plan_json(plan, &fx_src, NULL, &j) == 0 &&
		   strstr((char *)j.data, "\"clean\": \"recreate\", \"clean_reason\": \"drifted: column extra added\", \"recreates\": [\"view public.active_todos\", \"materialized view public.todo_stats\"]") &&
		   strstr((char *)j.data, "\"name\": \"active_todos\", \"exists\": true, \"action\": \"recreate\", \"pulled\": true"),
		   "drift: the JSON plan says recreate, why, and the views pulled in");
		buf_release(&j);
	}
	rs_plan_free(plan);
	rs_log_init(&log);
	r = fx_restore(db, NULL, RS_MODE_CLEAN, 0, tables, 0, 0, NULL, NULL, &log, NULL, &err);
	is_int(r, 0, "drift: restored");
	ok(same_schema(fx_db("src"), db), "drift: the schema is the source's (views recreated from the snapshot)");
	ok(same_rows(fx_db("src"), db, "public", "todos") && same_rows(fx_db("src"), db, "public", "pair_b") &&
	   same_rows(fx_db("src"), db, "public", "event_log") &&
	   same_rows(fx_db("src"), db, "public", "tickets"),
	   "drift: the rows are the snapshot's");
	ok(scalar(db, "SELECT sum(n) FROM public.todo_stats") == 250,
	   "drift: the materialized view recreated and refreshed");
	{
		const struct rs_log_table *lt = fx_log_table(&log, "public", "todos");

		ok(lt && lt->clean && !strcmp(lt->clean, "recreate") && lt->clean_reason &&
		   strstr(lt->clean_reason, "drifted: column extra added; recreates view public.active_todos"),
		   "drift: the log says recreate and why");
	}
	rs_log_release(&log);
	buf_release(&err);
}

/* a view someone made on a table that drifted */
static void test_user_view(void)
{
	static const char *const todos[] = { "public.todos", NULL };
	const char *db = fx_db("uview");
	struct buf before = BUF_INIT, after = BUF_INIT, err = BUF_INIT;
	int r;

	ok(fx_copy_db(fx_db("src"), db) &&
	   fx_exec(db, "ALTER TABLE public.todos ADD COLUMN extra integer;"
		   "CREATE VIEW public.my_view AS SELECT id, extra FROM public.todos;"
		   "CREATE VIEW public.my_view2 AS SELECT id FROM public.my_view;"),
	   "user view: a column added, two views made on it");
	fx_dump(db, 0, &before);
	r = fx_restore(db, NULL, RS_MODE_CLEAN, 0, todos, 0, 0, NULL, NULL, NULL, NULL, &err);
	ok(r == -EEXIST && strstr((char *)err.data, "clean mode would drop view public.my_view, which depends on public.todos") &&
	   strstr((char *)err.data, "view public.my_view2") &&
	   strstr((char *)err.data, "is not in the snapshot"),
	   "user view: refused, naming both views");
	ok(!strstr((char *)err.data, "active_todos"), "user view: the snapshot's views are no conflict");
	fx_dump(db, 0, &after);
	ok(fx_same_buf(&before, &after), "user view: target unchanged");
	fx_restore_drop_views = 1;
	r = fx_restore(db, NULL, RS_MODE_CLEAN, 0, todos, 0, 0, NULL, NULL, NULL, NULL, &err);
	fx_restore_drop_views = 0;
	is_int(r, 0, "user view: with drop_views, restored");
	ok(scalar(db, "SELECT count(*) FROM pg_class WHERE relname IN ('my_view', 'my_view2')") == 0 &&
	   scalar(db, "SELECT count(*) FROM public.active_todos") > 0,
	   "user view: the views made since are gone, the snapshot's are back");
	ok(same_schema(fx_db("src"), db), "user view: the schema is the source's");
	buf_release(&before);
	buf_release(&after);
	buf_release(&err);
}

/* a routine and a column of another table that depend on a table that
 * drifted: DROP TABLE would refuse, so the plan does */
static void test_dependents(void)
{
	static const char *const pairs[] = { "public.pair_a", NULL };
	const char *db = fx_db("deps");
	struct buf before = BUF_INIT, after = BUF_INIT, err = BUF_INIT;
	int r;

	ok(fx_copy_db(fx_db("src"), db) &&
	   fx_exec(db, "ALTER TABLE public.pair_a ADD COLUMN extra integer;"
		   "CREATE FUNCTION public.n_pairs() RETURNS bigint LANGUAGE sql"
		   " BEGIN ATOMIC SELECT count(*) FROM public.pair_a; END;"
		   "CREATE TABLE public.keeps (p public.pair_a);"),
	   "dependents: a table drifts; a function and a column depend on it");
	fx_dump(db, 0, &before);
	r = fx_restore(db, NULL, RS_MODE_CLEAN, 0, pairs, 0, 0, NULL, NULL, NULL, NULL, &err);
	ok(r == -EEXIST &&
	   strstr((char *)err.data, "clean mode would have to drop function public.n_pairs(), which depends on table public.pair_a (drifted: column extra added)") &&
	   strstr((char *)err.data, "column p of table public.keeps"),
	   "dependents: refused, naming both");
	fx_dump(db, 0, &after);
	ok(fx_same_buf(&before, &after), "dependents: target unchanged");
	buf_release(&before);
	buf_release(&after);
	buf_release(&err);
}

/* a policy of a table that drifted reads a view that is recreated: the
 * view cannot go while the policy exists, the table goes after views */
static void test_view_readers(void)
{
	static const char *const tables[] = { "public.todos", "public.counters", NULL };
	const char *db = fx_db("readers");
	struct buf err = BUF_INIT;
	struct rs_plan *plan;
	int r;

	ok(fx_copy_db(fx_db("src"), db) &&
	   fx_exec(db, "ALTER TABLE public.todos ADD COLUMN extra integer;"
		   "CREATE POLICY p_active ON public.counters"
		   " USING (EXISTS (SELECT 1 FROM public.active_todos));"),
	   "readers: a table drifts; another one gets a policy reading a view on it");
	plan = plan_of(db, tables, &err);
	ok(plan && plan->nconflicts == 0 &&
	   plan_says(plan, "public", "todos", RS_ACT_RECREATE, "drifted: column extra added") &&
	   plan_says(plan, "public", "counters", RS_ACT_RECREATE, "drifted: policy p_active added"),
	   "readers: both are recreated, the view with them");
	rs_plan_free(plan);
	r = fx_restore(db, NULL, RS_MODE_CLEAN, 0, tables, 0, 0, NULL, NULL, NULL, NULL, &err);
	is_int(r, 0, "readers: restored (the policy dropped before the view)");
	ok(same_schema(fx_db("src"), db) && same_rows(fx_db("src"), db, "public", "counters"),
	   "readers: schema and rows are the source's");
	buf_release(&err);
}

/* ---- foreign keys ---------------------------------------------------------------- */

static void test_fks(void)
{
	static const char *const orders[] = { "Sales & Ops.Orders", NULL };
	static const char *const both[] = { "Sales & Ops.Orders", "Sales & Ops.lines", NULL };
	const char *db = fx_db("fks");
	struct buf before = BUF_INIT, after = BUF_INIT, err = BUF_INIT;
	struct rs_plan *plan;
	int r;

	ok(fx_copy_db(fx_db("src"), db) &&
	   fx_exec(db, "INSERT INTO \"Sales & Ops\".\"Orders\" VALUES (3, 'target only', 5, NULL);"
		   "INSERT INTO \"Sales & Ops\".lines VALUES (3, 1, 'SKU-3');"),
	   "fks: an order only the target has, referenced by an unselected table");
	plan = plan_of(db, orders, &err);
	ok(plan && plan_says(plan, "Sales & Ops", "Orders", RS_ACT_KEEP, "definition matches") &&
	   plan->nfks == 1 && !strcmp(plan->fks[0].name, "lines_order_no_fkey") && !plan->fks[0].selected,
	   "fks: reloaded, the unselected key dropped and re-added");
	rs_plan_free(plan);
	fx_dump(db, 0, &before);
	r = fx_restore(db, NULL, RS_MODE_CLEAN, 0, orders, 0, 0, NULL, NULL, NULL, NULL, &err);
	ok(r == -EEXIST && strstr((char *)err.data, "lines_order_no_fkey") &&
	   strstr((char *)err.data, "(order_no)=(3)") && strstr((char *)err.data, "(not selected)"),
	   "fks: a reload that would break the key is refused, naming key and row");
	fx_dump(db, 0, &after);
	ok(fx_same_buf(&before, &after), "fks: target unchanged");

	ok(fx_exec(db, "DELETE FROM \"Sales & Ops\".lines WHERE order_no = 3;"
		   "COMMENT ON CONSTRAINT lines_order_no_fkey ON \"Sales & Ops\".lines IS 'keep me';"),
	   "fks: the reference removed, a comment on the key");
	r = fx_restore(db, NULL, RS_MODE_CLEAN, 0, orders, 0, 0, NULL, NULL, NULL, NULL, &err);
	is_int(r, 0, "fks: restored");
	ok(scalar(db, "SELECT count(*) FROM pg_constraint WHERE conname = 'lines_order_no_fkey' AND convalidated") == 1 &&
	   same_rows(fx_db("src"), db, "Sales & Ops", "lines"),
	   "fks: the key is back and valid, the referencing rows untouched");
	ok(scalar(db, "SELECT count(*) FROM pg_constraint WHERE conname = 'lines_order_no_fkey'"
		  " AND obj_description(oid, 'pg_constraint') = 'keep me'") == 1 &&
	   fx_exec(db, "COMMENT ON CONSTRAINT lines_order_no_fkey ON \"Sales & Ops\".lines IS NULL;"),
	   "fks: the key keeps its comment");

	/* a kept table whose parent is recreated */
	ok(fx_exec(db, "ALTER TABLE \"Sales & Ops\".\"Orders\" ADD COLUMN x integer;"), "fks: the parent drifts");
	plan = plan_of(db, both, &err);
	ok(plan && plan_says(plan, "Sales & Ops", "Orders", RS_ACT_RECREATE, "drifted: column x added") &&
	   plan_says(plan, "Sales & Ops", "lines", RS_ACT_KEEP, "definition matches") &&
	   plan->nfks == 1 && plan->fks[0].selected,
	   "fks: the child kept lets go of its key while its parent is recreated");
	ok(plan_text_has(plan, "Foreign key lines_order_no_fkey on Sales & Ops.lines is dropped and re-added"),
	   "fks: the plan says so");
	rs_plan_free(plan);
	r = fx_restore(db, NULL, RS_MODE_CLEAN, 0, both, 0, 0, NULL, NULL, NULL, NULL, &err);
	is_int(r, 0, "fks: parent recreated, child reloaded");
	ok(same_schema(fx_db("src"), db), "fks: the schema is the source's, the key back");
	buf_release(&before);
	buf_release(&after);
	buf_release(&err);
}

/* ---- failures midway ---------------------------------------------------------------- */

/*
 * A restore that has dropped a table that drifted and its views,
 * recreated them, emptied a table it reloads (its triggers disabled) and
 * started loading, then fails: killed mid-load, or refused at the end by
 * a foreign key of an unselected table.  The target is as it was, byte
 * for byte, and its relations are the same objects.
 */
static void test_midway(void)
{
	static const char *const tables[] = {
		"public.todos", "public.counters", "Sales & Ops.Orders", NULL,
	};
	const char *db = fx_db("midway");
	struct buf before = BUF_INIT, after = BUF_INIT, ob = BUF_INIT, oa = BUF_INIT,
		   err = BUF_INIT;
	struct fx_kill kill = { 0, 2, 0, 0 };
	struct rs_plan *plan;
	int r;

	ok(fx_copy_db(fx_db("src"), db) &&
	   fx_exec(db, "ALTER TABLE public.todos ADD COLUMN extra integer;"
		   "DELETE FROM public.todos WHERE id > 100;"
		   "DELETE FROM public.counters WHERE n > 2;"
		   "CREATE VIEW public.my_counters AS SELECT n, label FROM public.counters;"
		   "ALTER TABLE \"Sales & Ops\".\"Orders\" ADD COLUMN x integer;"
		   "INSERT INTO \"Sales & Ops\".\"Orders\" VALUES (3, 'target only', 5, NULL, 1);"
		   "INSERT INTO \"Sales & Ops\".lines VALUES (3, 1, 'SKU-3');"),
	   "midway: two tables drift (one with views), one only lost rows and has a view made on it");
	plan = plan_of(db, tables, &err);
	ok(plan && plan->nconflicts == 0 &&
	   plan_says(plan, "public", "todos", RS_ACT_RECREATE, "drifted: column extra added") &&
	   plan_says(plan, "public", "counters", RS_ACT_KEEP, "definition matches") &&
	   plan_says(plan, "Sales & Ops", "Orders", RS_ACT_RECREATE, "drifted: column x added"),
	   "midway: the plan recreates two and reloads one");
	rs_plan_free(plan);
	fx_dump(db, 0, &before);
	oids(db, &ob);

	r = fx_restore(db, NULL, RS_MODE_CLEAN, 0, tables, 0, 0, &kill, NULL, NULL, NULL, &err);
	ok(r < 0 && kill.killed, "midway: killed at the second table's load, the restore fails");
	fx_dump(db, 0, &after);
	oids(db, &oa);
	ok(before.len && fx_same_buf(&before, &after), "midway: killed, the target is unchanged");
	ok(ob.len && fx_same_buf(&ob, &oa), "midway: killed, the table and the views are the same objects");

	r = fx_restore(db, NULL, RS_MODE_CLEAN, 0, tables, 0, 0, NULL, NULL, NULL, NULL, &err);
	ok(r == -EEXIST && strstr((char *)err.data, "lines_order_no_fkey") &&
	   strstr((char *)err.data, "(order_no)=(3)"),
	   "midway: refused after the load by a key of an unselected table");
	fx_dump(db, 0, &after);
	oids(db, &oa);
	ok(fx_same_buf(&before, &after), "midway: refused, the target is unchanged");
	ok(fx_same_buf(&ob, &oa), "midway: refused, the table and the views are the same objects");
	buf_release(&before);
	buf_release(&after);
	buf_release(&ob);
	buf_release(&oa);
	buf_release(&err);
}

/* ---- partitions ---------------------------------------------------------------------- */

static void test_partitions(void)
{
	static const char *const tree[] = { "public.measurements*", NULL };
	const char *db = fx_db("parts");
	struct buf err = BUF_INIT;
	struct rs_plan *plan;
	int r;

	ok(fx_copy_db(fx_db("src"), db), "partitions: a copy");
	plan = plan_of(db, tree, &err);
	ok(plan && plan_says(plan, "public", "measurements", RS_ACT_KEEP, "definition matches") &&
	   plan_says(plan, "public", "measurements_2023", RS_ACT_KEEP, "definition matches") &&
	   plan_says(plan, "public", "measurements_2024_h1", RS_ACT_KEEP, "definition matches"),
	   "partitions: a tree as in the snapshot is reloaded (attachments compared)");
	rs_plan_free(plan);
	ok(fx_exec(db, "ALTER TABLE ONLY public.measurements_2024 ALTER COLUMN reading SET STATISTICS 500;"
		   "DELETE FROM public.measurements WHERE id % 3 = 0;"),
	   "partitions: a sub-partitioned partition drifts");
	plan = plan_of(db, tree, &err);
	ok(plan && plan->nconflicts == 0 &&
	   plan_says(plan, "public", "measurements_2024", RS_ACT_RECREATE, "drifted: column reading statistics changed") &&
	   plan_says(plan, "public", "measurements_2024_h0", RS_ACT_RECREATE, "its parent public.measurements_2024 is recreated") &&
	   plan_says(plan, "public", "measurements", RS_ACT_KEEP, "definition matches") &&
	   plan_says(plan, "public", "measurements_2023", RS_ACT_KEEP, "definition matches"),
	   "partitions: its partitions go with it, the rest of the tree is reloaded");
	rs_plan_free(plan);
	r = fx_restore(db, NULL, RS_MODE_CLEAN, 0, tree, 0, 0, NULL, NULL, NULL, NULL, &err);
	is_int(r, 0, "partitions: restored");
	ok(same_schema(fx_db("src"), db) && same_rows(fx_db("src"), db, "public", "measurements_2024_h0") &&
	   same_rows(fx_db("src"), db, "public", "measurements_2023"),
	   "partitions: schema and rows are the source's");
	buf_release(&err);
}

static void tests(void)
{
	test_reload();
	test_triggers();
	test_drift();
	test_user_view();
	test_dependents();
	test_view_readers();
	test_fks();
	test_midway();
	test_partitions();
}

int main(void)
{
	static const struct fx_tap tap = { ok, skip };
	static const char *const dbs[] = {
		"reload", "trig", "drift", "uview", "deps", "readers", "fks", "midway", "parts", NULL,
	};

	fx_main(&tap, tests, dbs);
	return done_testing();
}

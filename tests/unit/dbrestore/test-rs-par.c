/*
 * test-rs-par: the parallel strategy (rs-par, and the undo of rs-undo
 * it stands on), against a real server (fx.h: the fixture, and what it
 * needs).  Every restore here runs with --jobs 2:
 *  - the whole fixture restores identically, and the plan and the log
 *    name the strategy;
 *  - a failure part-way through the load (a damaged data.sql a worker
 *    finds after the first commit, a trigger refusing a row of one table
 *    of several, a connection killed) leaves the target byte for byte as
 *    it was, undone when the DDL had committed;
 *  - a failure in the last transaction drops everything the restore had
 *    created, the role included; a target where that undo could not be
 *    complete restores in one transaction instead, and says why.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <libpq-fe.h>

#include "../tap.h"
#include "fx.h"
#include "rs-lo.h"
#include "rs-undo.h"

/*
 * A damaged data.sql (the rows read do not match meta.json), loaded in
 * parallel: found by a worker after the first commit, so the undo puts
 * the target back.
 */
static void test_damaged(void)
{
	struct rs_input bad;
	struct rs_log log;
	struct buf err = BUF_INIT, before = BUF_INIT, after = BUF_INIT;
	char dir[512];
	int r;

	if (!fx_tree_damaged(dir, sizeof(dir)))
		diag("cannot damage a copy of %s", fx_tree);
	rs_input_dir_init(&bad, dir);
	fx_restore_jobs = 2;
	ok(fx_admin("CREATE DATABASE \"%s\" ENCODING 'UTF8' TEMPLATE template0", fx_db("badpar")),
	   "--jobs 2: another empty database");
	fx_dump(fx_db("badpar"), 0, &before);
	rs_log_init(&log);
	r = fx_restore(fx_db("badpar"), NULL, RS_MODE_EMPTY, 0, NULL, 0, 0, NULL, &bad, &log, NULL, &err);
	ok(r == -EBADMSG && strstr((char *)err.data, "public.pair_a") &&
	   strstr((char *)err.data, "damaged snapshot") &&
	   log.strategy && !strncmp(log.strategy, "parallel", 8) &&
	   log.undo && !strncmp(log.undo, "ok", 2),
	   "--jobs 2: damaged data.sql refused by a worker, naming the table, undone");
	fx_dump(fx_db("badpar"), 0, &after);
	ok(fx_same_buf(&before, &after), "--jobs 2: target unchanged after the damaged snapshot");
	fx_restore_jobs = 1;
	rs_log_release(&log);
	rs_input_dir_release(&bad);
	fx_tree_remove(dir);
	buf_release(&err);
	buf_release(&before);
	buf_release(&after);
}

/*
 * --jobs 2: the whole fixture restores identically, the plan says which
 * strategy applies, and a failure part-way through the load (a trigger
 * refusing a row of one table of several, a connection killed) still
 * leaves the target byte for byte as it was.
 */
static void test_jobs(void)
{
	static const char *const two[] = { "public.pair_a", "public.todos", NULL };
	struct rs_log log;
	struct rs_plan *plan = NULL;
	struct buf err = BUF_INIT, a = BUF_INIT, b = BUF_INIT, txt = BUF_INIT;
	struct fx_kill kill = { 0, 6, 0, 0 };
	PGconn *cs, *ct;
	size_t same, all, verified = 0;
	int r;

	fx_restore_jobs = 2;
	ok(fx_admin("CREATE DATABASE \"%s\" ENCODING 'UTF8' TEMPLATE template0", fx_db("jobs")),
	   "--jobs 2: an empty target database");
	rs_log_init(&log);
	r = fx_restore(fx_db("jobs"), NULL, RS_MODE_EMPTY, 0, NULL, 0, 0, NULL, NULL, &log, &plan, &err);
	is_int(r, 0, "--jobs 2: full restore into an empty database");
	ok(plan && rs_plan_text(plan, &fx_src, &txt) == 0 &&
	   strstr((char *)txt.data, "Strategy: parallel") && plan->parallel,
	   "--jobs 2: the plan names the strategy that applies (parallel)");
	ok(log.strategy && !strncmp(log.strategy, "parallel", 8) && !log.undo,
	   "--jobs 2: the log says the rows loaded in parallel");
	ok(fx_dump(fx_db("src"), 1, &a) == 0 && fx_dump(fx_db("jobs"), 1, &b) == 0 && fx_same_buf(&a, &b),
	   "--jobs 2: schema dumps identical");
	cs = fx_connect(fx_db("src"), NULL);
	ct = fx_connect(fx_db("jobs"), NULL);
	same = fx_same_tables(cs, ct, &all);
	ok(all > 20 && same == all, "--jobs 2: every table's rows identical (%zu/%zu)", same, all);
	ok(cs && ct && fx_same_sequences(cs, ct), "--jobs 2: every sequence value identical");
	for (size_t i = 0; i < log.ntables; i++)
		verified += log.tables[i].verified == 1;
	is_int(verified, all, "--jobs 2: every table verified, also those read back unsorted");
	PQfinish(cs);
	PQfinish(ct);
	rs_log_release(&log);
	rs_plan_free(plan);

	/* a trigger in the target refuses a row of the second table */
	ok(fx_copy_db(fx_db("jobs"), fx_db("jobsfail")) &&
	   fx_exec(fx_db("jobsfail"),
		   "DELETE FROM public.todos WHERE id <= 10; DELETE FROM public.pair_a;"
		   "CREATE FUNCTION public.no_seven() RETURNS trigger LANGUAGE plpgsql AS $$"
		   " BEGIN IF NEW.id = 7 THEN RAISE EXCEPTION 'no row seven, please'; END IF; RETURN NEW; END $$;"
		   "CREATE TRIGGER no_seven BEFORE INSERT ON public.todos FOR EACH ROW EXECUTE FUNCTION public.no_seven();"),
	   "--jobs 2: a target whose trigger refuses row 7 of public.todos");
	fx_dump(fx_db("jobsfail"), 0, &a);
	rs_log_init(&log);
	r = fx_restore(fx_db("jobsfail"), NULL, RS_MODE_MERGE, 0, two, 0, 0, NULL, NULL, &log, &plan, &err);
	ok(r < 0 && strstr((char *)err.data, "no row seven, please") &&
	   strstr((char *)err.data, "public.todos"), "--jobs 2: the trigger's error, naming the table");
	buf_reset(&txt);
	ok(plan && !plan->parallel && rs_plan_text(plan, &fx_src, &txt) == 0 &&
	   strstr((char *)txt.data, "Strategy: one transaction") &&
	   strstr((char *)txt.data, "--jobs 2: the rows load over one connection, in one transaction: a clean or merge restore"),
	   "--jobs 2, merge mode: the plan says the rows load in one transaction, and why");
	rs_plan_free(plan);
	plan = NULL;
	fx_dump(fx_db("jobsfail"), 0, &b);
	ok(fx_same_buf(&a, &b), "--jobs 2: target unchanged, the other table's rows included");
	rs_log_release(&log);

	/* a connection killed mid-load */
	ok(fx_admin("CREATE DATABASE \"%s\" ENCODING 'UTF8' TEMPLATE template0", fx_db("jobskill")),
	   "--jobs 2: another empty database");
	fx_dump(fx_db("jobskill"), 0, &a);
	rs_log_init(&log);
	r = fx_restore(fx_db("jobskill"), NULL, RS_MODE_EMPTY, 0, NULL, 0, 0, &kill, NULL, &log, NULL, &err);
	ok(kill.killed && r == -ECONNRESET, "--jobs 2: pg_terminate_backend mid-load");
	ok(log.undo && !strncmp(log.undo, "ok", 2),
	   "--jobs 2: the killed connection's restore was undone (%s)", log.undo ? log.undo : "no undo");
	fx_dump(fx_db("jobskill"), 0, &b);
	ok(fx_same_buf(&a, &b), "--jobs 2: target unchanged after the killed connection");
	rs_log_release(&log);
	fx_restore_jobs = 1;
	buf_release(&err);
	buf_release(&a);
	buf_release(&b);
	buf_release(&txt);
}

/*
 * A restore into a new database db, prepared with sql: 1 when it
 * succeeded and loaded in parallel; why gets the log's strategy, or the
 * error.
 */
static int jobs_parallel(const char *db, const char *sql, struct buf *why)
{
	struct rs_log log;
	int r = -1;

	buf_reset(why);
	rs_log_init(&log);
	if (fx_admin("CREATE DATABASE \"%s\" ENCODING 'UTF8' TEMPLATE template0", fx_db(db)) &&
	    fx_exec(fx_db(db), sql))
		r = fx_restore(fx_db(db), NULL, RS_MODE_EMPTY, 0, NULL, 0, 0, NULL, NULL, &log, NULL, why);
	if (r == 0 && log.strategy) {
		buf_reset(why);
		buf_addstr(why, log.strategy);
	}
	r = r == 0 && log.strategy && !strncmp(log.strategy, "parallel", 8);
	rs_log_release(&log);
	return r;
}

/*
 * --jobs 2 past the first commit: a failure in the last transaction (an
 * event trigger refusing new indexes) drops everything the restore had
 * created, the role it created included; a target where the first
 * transaction changes something that existed (an event trigger that
 * comments on schema public whenever a table is made) still loads in
 * parallel, the comment put back by the proven undo; one where that
 * change cannot be put back (a column added to a table that existed)
 * restores in one transaction instead, and says why.
 */
static void test_jobs_undo(void)
{
	static const char *const others[] = {
		"badpar", "jobs", "jobsfail", "jobskill", NULL,
	};
	static const char no_index[] =
		"CREATE FUNCTION public.no_index() RETURNS event_trigger LANGUAGE plpgsql AS $$"
		" BEGIN IF EXISTS (SELECT 1 FROM pg_catalog.pg_event_trigger_ddl_commands()"
		"  WHERE command_tag = 'CREATE INDEX') THEN"
		"  RAISE EXCEPTION 'no new indexes today'; END IF; END $$;"
		"CREATE EVENT TRIGGER no_index ON ddl_command_end EXECUTE FUNCTION public.no_index();";
	static const char note[] =
		"CREATE FUNCTION public.note() RETURNS event_trigger LANGUAGE plpgsql AS $$"
		" BEGIN COMMENT ON SCHEMA public IS 'a table was made'; END $$;"
		"CREATE EVENT TRIGGER note ON ddl_command_end WHEN TAG IN ('CREATE TABLE')"
		" EXECUTE FUNCTION public.note();";
	static const char widen[] =
		"CREATE TABLE public.keep (id int);"
		"CREATE FUNCTION public.widen() RETURNS event_trigger LANGUAGE plpgsql AS $$"
		" BEGIN ALTER TABLE public.keep ADD COLUMN IF NOT EXISTS noted int; END $$;"
		"CREATE EVENT TRIGGER widen ON ddl_command_end WHEN TAG IN ('CREATE TABLE')"
		" EXECUTE FUNCTION public.widen();";
	struct rs_log log;
	struct buf err = BUF_INIT, a = BUF_INIT, b = BUF_INIT, q = BUF_INIT;
	PGconn *c;
	size_t verified = 0, loaded = 0;
	int r;

	fx_restore_jobs = 2;
	for (int i = 0; others[i]; i++) {
		PGconn *o = fx_connect(fx_db(others[i]), NULL);

		if (o) {
			buf_reset(&q);
			buf_addf(&q, "DROP OWNED BY \"%s\"", fx_gone);
			PQclear(PQexec(o, (char *)q.data));
			PQfinish(o);
		}
	}
	ok(fx_admin("DROP ROLE \"%s\"", fx_gone), "--jobs 2 undo: the captured role \"%s\" is gone again", fx_gone);
	ok(fx_admin("CREATE DATABASE \"%s\" ENCODING 'UTF8' TEMPLATE template0", fx_db("jobsundo")) &&
	   fx_exec(fx_db("jobsundo"), no_index),
	   "--jobs 2 undo: a target whose event trigger refuses new indexes");
	fx_dump(fx_db("jobsundo"), 0, &a);
	rs_log_init(&log);
	r = fx_restore(fx_db("jobsundo"), NULL, RS_MODE_EMPTY, 0, NULL, 0, 0, NULL, NULL, &log, NULL, &err);
	ok(r < 0 && strstr((char *)err.data, "no new indexes today") &&
	   strstr((char *)err.data, "INDEX"),
	   "--jobs 2 undo: the failure in the last transaction names the statement");
	ok(log.strategy && !strncmp(log.strategy, "parallel", 8),
	   "--jobs 2 undo: the rows had loaded in parallel and committed");
	ok(log.undo && !strncmp(log.undo, "ok", 2), "--jobs 2 undo: the undo ran (%s)",
	   log.undo ? log.undo : "none");
	fx_dump(fx_db("jobsundo"), 0, &b);
	ok(fx_same_buf(&a, &b), "--jobs 2 undo: the target is as it was (schema and rows)");
	c = fx_connect("postgres", NULL);
	buf_reset(&q);
	buf_addf(&q, "SELECT count(*) FROM pg_roles WHERE rolname = '%s'", fx_gone);
	ok(c && fx_scalar(c, (char *)q.data) == 0,
	   "--jobs 2 undo: the role the restore created is dropped again");
	PQfinish(c);
	rs_log_release(&log);

	ok(jobs_parallel("jobsnote", note, &err),
	   "--jobs 2 proof: a target whose event trigger comments on schema public: still"
	   " parallel, the comment put back by the undo (%s)", (char *)err.data);
	c = fx_connect("postgres", NULL);
	ok(c && fx_admin("DROP DATABASE \"%s\"", fx_db("jobsnote")) &&
	   fx_admin("DROP OWNED BY \"%s\"", fx_gone) && fx_admin("DROP ROLE \"%s\"", fx_gone),
	   "--jobs 2 proof: its database and the role it made are gone again");
	PQfinish(c);

	ok(fx_admin("CREATE DATABASE \"%s\" ENCODING 'UTF8' TEMPLATE template0", fx_db("jobsone")) &&
	   fx_exec(fx_db("jobsone"), widen),
	   "--jobs 2 proof: a target whose event trigger adds a column to a table that existed");
	rs_log_init(&log);
	r = fx_restore(fx_db("jobsone"), NULL, RS_MODE_EMPTY, 0, NULL, 0, 0, NULL, NULL, &log, NULL, &err);
	is_int(r, 0, "--jobs 2 proof: the restore succeeds");
	ok(log.strategy && !strncmp(log.strategy, "one transaction", 15) &&
	   strstr(log.strategy, "not possible") &&
	   strstr(log.strategy, "column noted of table public.keep would stay"),
	   "--jobs 2 proof: in one transaction, because the undo could not take the column back (%s)",
	   log.strategy ? log.strategy : "none");
	for (size_t i = 0; i < log.ntables; i++) {
		loaded += strcmp(log.tables[i].load ? log.tables[i].load : "", "copy") == 0;
		verified += log.tables[i].verified == 1;
	}
	ok(loaded > 20 && verified == loaded, "--jobs 2 proof: every table loaded and verified (%zu/%zu)",
	   verified, loaded);
	rs_log_release(&log);
	/* the last restore made the role again, as the other tests found it */
	c = fx_connect("postgres", NULL);
	buf_reset(&q);
	buf_addf(&q, "SELECT count(*) FROM pg_roles WHERE rolname = '%s'", fx_gone);
	ok(c && fx_scalar(c, (char *)q.data) == 1, "--jobs 2 proof: the captured role is created again");
	PQfinish(c);
	fx_restore_jobs = 1;
	buf_release(&err);
	buf_release(&a);
	buf_release(&b);
	buf_release(&q);
}

/*
 * --jobs 2: what a dump changes in objects that existed (its comments:
 * here on tables it creates and on auth.users) runs in the last
 * transaction, after the rows, not in the first one the undo must give
 * back: an event trigger that refuses a COMMENT while public.todos has
 * no rows lets the restore through.
 */
static void test_jobs_deferred(void)
{
	static const char late[] =
		"CREATE FUNCTION public.late() RETURNS event_trigger LANGUAGE plpgsql AS $$"
		" BEGIN IF pg_catalog.to_regclass('public.todos') IS NULL"
		"  OR NOT EXISTS (SELECT 1 FROM public.todos) THEN"
		"  RAISE EXCEPTION 'a comment before the rows'; END IF; END $$;"
		"CREATE EVENT TRIGGER late ON ddl_command_end WHEN TAG IN ('COMMENT')"
		" EXECUTE FUNCTION public.late();";
	struct buf err = BUF_INIT;

	fx_restore_jobs = 2;
	ok(jobs_parallel("jobslate", late, &err),
	   "--jobs 2 comments: a target that refuses a comment before the rows: they run in the"
	   " last transaction, after them (%s)", (char *)err.data);
	fx_admin("DROP DATABASE \"%s\"", fx_db("jobslate"));
	fx_restore_jobs = 1;
	buf_release(&err);
}

/* ---- the undo, case by case ------------------------------------------------ */

/* a role the undo cases create (quoted, with a space) */
static char undo_role[64];

/* tmpl with every "@R" replaced by undo_role, into out */
static void undo_subst(struct buf *out, const char *tmpl)
{
	buf_reset(out);
	for (const char *p = tmpl; *p; p++) {
		if (p[0] == '@' && p[1] == 'R') {
			buf_addstr(out, undo_role);
			p++;
		} else {
			buf_addch(out, *p);
		}
	}
}

static int undo_exec(PGconn *c, const char *sql)
{
	PGresult *res = PQexec(c, sql);
	int good = PQresultStatus(res) == PGRES_COMMAND_OK ||
		   PQresultStatus(res) == PGRES_TUPLES_OK;

	if (!good)
		diag("%.200s: %s", sql, PQerrorMessage(c));
	PQclear(res);
	return good;
}

/*
 * What a database holds that an undo must give back: its schema dump
 * (grants, comments and owner of schema public, default privileges,
 * grants on catalogs), what pg_dump leaves out of it, and the roles of
 * this program.
 */
static void undo_state(const char *db, struct buf *out)
{
	static const char sql[] =
		"SELECT (SELECT nspacl::text || nspowner::regrole::text FROM pg_namespace WHERE nspname = 'public'),"
		" (SELECT proacl::text FROM pg_proc WHERE oid = 'pg_catalog.pg_reload_conf'::regproc),"
		" (SELECT attacl::text FROM pg_attribute WHERE attrelid = 'pg_catalog.pg_proc'::regclass"
		"  AND attname = 'prosrc'),"
		" (SELECT string_agg(obj_description(oid, 'pg_namespace'), ',') FROM pg_namespace),"
		" (SELECT string_agg(defaclrole::regrole || defaclobjtype || defaclacl::text, ',' ORDER BY oid)"
		"  FROM pg_default_acl),"
		" (SELECT string_agg(oid::text, ',' ORDER BY oid) FROM pg_largeobject_metadata),"
		" (SELECT string_agg(rolname, ',' ORDER BY rolname) FROM pg_roles WHERE rolname LIKE 'rsu %'),"
		" (SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace),"
		" (SELECT count(*) FROM pg_user_mappings), (SELECT count(*) FROM pg_subscription),"
		" (SELECT count(*) FROM pg_transform), (SELECT count(*) FROM pg_am),"
		" (SELECT count(*) FROM pg_event_trigger),"
		" (SELECT count(*) FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase"
		"  WHERE d.datname = current_database())";
	PGconn *c = fx_connect(db, NULL);
	PGresult *res = c ? PQexec(c, sql) : NULL;

	fx_dump(db, 1, out);
	for (int i = 0; res && PQresultStatus(res) == PGRES_TUPLES_OK && i < PQnfields(res); i++)
		buf_addf(out, "%d: %s\n", i, PQgetvalue(res, 0, i));
	PQclear(res);
	PQfinish(c);
}

/* 1 when one of u's statements holds want */
static int undo_has(const struct rs_undo *u, const char *want)
{
	for (size_t i = 0; i < rs_undo_count(u); i++)
		if (strstr(rs_undo_stmt(u, i), want))
			return 1;
	diag("no undo statement holds \"%s\"", want);
	for (size_t i = 0; i < rs_undo_count(u); i++)
		diag("  %s", rs_undo_stmt(u, i));
	return 0;
}

/* A restore's changes, what the undo must say, and how it is run. */
struct undo_case {
	const char *db;
	const char *what;		/* for the TAP names */
	const char *before;		/* what the target has (may be NULL) */
	const char *sql;		/* what the restore does ("@R": the role) */
	const char *expect[10];		/* statements the undo must hold */
	unsigned lo;			/* a large object to unlink first */
	int rollback;			/* later, by vault rollback's check */
};

/*
 * The restore's transaction on a new database: rs_undo_begin, the
 * changes, rs_undo_prepare (proven), its commit; then the undo, run as a
 * failed parallel load runs it or as `vault rollback` does (the large
 * object unlinked first, the catalog check), must give back the state
 * the database had.  u gets the prepared undo (the caller frees it).
 */
static void undo_case_run(const struct undo_case *k, struct rs_undo **out)
{
	const char *db = fx_db(k->db);
	struct buf err = BUF_INIT, why = BUF_INIT, a = BUF_INIT, b = BUF_INIT, sql = BUF_INIT;
	struct rs_undo *u = NULL;
	PGconn *c;
	int r, all = 1;

	*out = NULL;
	ok(fx_admin("CREATE DATABASE \"%s\" ENCODING 'UTF8' TEMPLATE template0", db) &&
	   (!k->before || fx_exec(db, k->before)), "undo, %s: a new target", k->what);
	undo_state(db, &a);
	c = fx_connect(db, NULL);
	undo_subst(&sql, k->sql);
	ok(c && undo_exec(c, "SET client_min_messages = warning") && undo_exec(c, "BEGIN") &&
	   rs_undo_begin(&u, c, &err) == 0 && undo_exec(c, (char *)sql.data),
	   "undo, %s: fingerprinted, then what the restore does", k->what);
	if (u && k->lo)
		rs_undo_unlinks(u, &k->lo, 1);
	r = u ? rs_undo_prepare(u, c, &why, &err) : -1;
	ok(r == 0, "undo, %s: proven (%s%s)", k->what, (char *)why.data, (char *)err.data);
	for (int i = 0; u && k->expect[i]; i++)
		all &= undo_has(u, k->expect[i]);
	ok(u && all, "undo, %s: the statements name each object as DROP and the reverts read it",
	   k->what);
	ok(c && undo_exec(c, "COMMIT"), "undo, %s: the restore committed", k->what);
	buf_reset(&err);
	if (!k->rollback) {
		r = u && c ? rs_undo_run(u, c, &err) : -1;
	} else if (u && c) {
		const char *stmts[256], *created[512], *changed[64];
		size_t ns = rs_undo_count(u), ncr = rs_undo_created_count(u);
		size_t nch = rs_undo_changed_count(u);

		for (size_t i = 0; i < ns && i < 256; i++)
			stmts[i] = rs_undo_stmt(u, i);
		for (size_t i = 0; i < ncr && i < 512; i++)
			created[i] = rs_undo_created_key(u, i);
		for (size_t i = 0; i < nch && i < 64; i++)
			changed[i] = rs_undo_changed_entry(u, i);
		r = ns <= 256 && ncr <= 512 && nch <= 64 && undo_exec(c, "BEGIN") ? 0 : -1;
		if (r == 0)
			r = rs_lo_unlink(c, &k->lo, k->lo ? 1 : 0, NULL, &err);
		if (r == 0)
			r = rs_undo_rollback(c, stmts, ns, created, ncr, changed, nch, &why, &err);
		if (r == 0 && !undo_exec(c, "COMMIT"))
			r = -1;
		if (r)
			undo_exec(c, "ROLLBACK");
	}
	ok(r == 0, "undo, %s: %s ran (%s%s)", k->what, k->rollback ? "the rollback" : "the undo",
	   (char *)err.data, (char *)why.data);
	PQfinish(c);
	undo_state(db, &b);
	ok(fx_same_buf(&a, &b), "undo, %s: the target is as it was", k->what);
	if (!fx_same_buf(&a, &b))
		fx_first_diff(&a, &b);
	*out = u;
	buf_release(&err);
	buf_release(&why);
	buf_release(&a);
	buf_release(&b);
	buf_release(&sql);
}

/*
 * Routines are dropped by their full signature: an aggregate without
 * arguments as (*), an ordered-set one with its ORDER BY, procedures
 * overloaded on OUT arguments with their modes.  pg_identify_object's
 * identity has neither, and the parallel load fell back to one
 * transaction because of it.
 */
static const struct undo_case undo_routines = {
	"undo_routines", "routines", NULL,
	"CREATE AGGREGATE public.cnt(*) (sfunc = int8inc, stype = int8, initcond = '0');"
	"CREATE AGGREGATE public.pct(float8 ORDER BY float8) (sfunc = ordered_set_transition,"
	" stype = internal, finalfunc = percentile_disc_final, finalfunc_extra);"
	"CREATE PROCEDURE public.p(OUT a int, IN b int) LANGUAGE plpgsql AS $$ BEGIN a := b; END $$;"
	"CREATE PROCEDURE public.p(IN a int, IN b int) LANGUAGE plpgsql AS $$ BEGIN END $$;"
	"CREATE FUNCTION public.v(VARIADIC int[]) RETURNS int LANGUAGE sql AS 'SELECT 1';",
	{ "DROP AGGREGATE IF EXISTS public.cnt(*) CASCADE",
	  "DROP AGGREGATE IF EXISTS public.pct(double precision ORDER BY double precision) CASCADE",
	  "DROP PROCEDURE IF EXISTS public.p(OUT a integer, IN b integer) CASCADE",
	  "DROP PROCEDURE IF EXISTS public.p(IN a integer, IN b integer) CASCADE",
	  "DROP FUNCTION IF EXISTS public.v(VARIADIC integer[]) CASCADE", NULL },
	0, 0,
};

/*
 * Every kind of object the fingerprint covers that a dump can create:
 * a transform, a cast, an operator, an operator class (and its family),
 * text search objects, a policy, a foreign-data wrapper with a server
 * and user mappings (one on a server that existed), a publication, a
 * subscription (made as pg_dump makes them: not connected, naming a
 * slot on the publisher that is not this database's to drop), an access
 * method, an event trigger, default privileges of a role that existed.
 */
static const struct undo_case undo_kinds = {
	"undo_kinds", "every kind",
	"CREATE FOREIGN DATA WRAPPER w0; CREATE SERVER s0 FOREIGN DATA WRAPPER w0;",
	"CREATE TRANSFORM FOR int LANGUAGE sql (FROM SQL WITH FUNCTION prsd_lextype(internal),"
	" TO SQL WITH FUNCTION int4recv(internal));"
	"CREATE TYPE public.pair AS (a int, b int);"
	"CREATE FUNCTION public.pair_int(public.pair) RETURNS int LANGUAGE sql AS 'SELECT $1.a';"
	"CREATE CAST (public.pair AS int) WITH FUNCTION public.pair_int(public.pair);"
	"CREATE FUNCTION public.pair_eq(public.pair, public.pair) RETURNS bool LANGUAGE sql"
	" AS 'SELECT $1 = $2';"
	"CREATE OPERATOR public.=== (LEFTARG = public.pair, RIGHTARG = public.pair,"
	" FUNCTION = public.pair_eq);"
	"CREATE OPERATOR CLASS public.int4_h FOR TYPE int4 USING hash AS OPERATOR 1 =,"
	" FUNCTION 1 hashint4(int4);"
	"CREATE TEXT SEARCH DICTIONARY public.dict (TEMPLATE = simple);"
	"CREATE TEXT SEARCH CONFIGURATION public.cfg (COPY = simple);"
	"CREATE TABLE public.t (a int, b int); ALTER TABLE public.t ENABLE ROW LEVEL SECURITY;"
	"CREATE POLICY pol ON public.t USING (a > 0);"
	"CREATE STATISTICS public.st ON a, b FROM public.t;"
	"CREATE FOREIGN DATA WRAPPER w; CREATE SERVER s FOREIGN DATA WRAPPER w;"
	"CREATE USER MAPPING FOR CURRENT_USER SERVER s; CREATE USER MAPPING FOR PUBLIC SERVER s0;"
	"CREATE PUBLICATION pub FOR TABLE public.t;"
	"CREATE SUBSCRIPTION sub CONNECTION 'dbname=nowhere' PUBLICATION pub"
	" WITH (connect = false, slot_name = 'sub');"
	"CREATE ACCESS METHOD heap2 TYPE TABLE HANDLER heap_tableam_handler;"
	"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO PUBLIC;"
	"CREATE FUNCTION public.noop() RETURNS event_trigger LANGUAGE plpgsql AS $$ BEGIN END $$;"
	"CREATE EVENT TRIGGER et ON ddl_command_end EXECUTE FUNCTION public.noop();",
	{ "DROP TRANSFORM IF EXISTS FOR integer LANGUAGE sql CASCADE",
	  "ALTER SUBSCRIPTION sub SET (slot_name = NONE)",
	  "DROP SUBSCRIPTION IF EXISTS sub",
	  "DROP USER MAPPING IF EXISTS FOR PUBLIC SERVER s0",
	  "DROP ACCESS METHOD IF EXISTS heap2 CASCADE",
	  "REVOKE SELECT ON TABLES FROM PUBLIC",
	  "DROP CAST IF EXISTS (public.pair AS integer) CASCADE", NULL },
	0, 0,
};

/*
 * What a dump changes in objects every database has: grants, comment
 * and owner of schema public, grants on a catalog's column and on a
 * catalog function, the comment on plpgsql, default privileges and a
 * setting in this database of a role that existed.  Dropping cannot give them back; the undo puts them
 * back, and the proof checks it did.
 */
static const struct undo_case undo_existing = {
	"undo_existing", "changes to what existed", NULL,
	"CREATE ROLE @R;"
	"GRANT ALL ON SCHEMA public TO PUBLIC;"
	"COMMENT ON SCHEMA public IS 'restored';"
	"ALTER SCHEMA public OWNER TO @R;"
	"GRANT SELECT (prosrc) ON pg_catalog.pg_proc TO @R;"
	"GRANT EXECUTE ON FUNCTION pg_catalog.pg_reload_conf() TO @R;"
	"ALTER DEFAULT PRIVILEGES GRANT USAGE ON SEQUENCES TO @R;"
	"COMMENT ON EXTENSION plpgsql IS 'restored';"
	"DO $$ BEGIN EXECUTE format('ALTER ROLE %I IN DATABASE %I SET work_mem = ''8MB''',"
	" current_user, current_database()); END $$;"
	"CREATE TABLE public.t (a int);",
	{ "ALTER SCHEMA public OWNER TO pg_database_owner",
	  "REVOKE CREATE ON SCHEMA public FROM PUBLIC",
	  "COMMENT ON SCHEMA public IS 'standard public schema'",
	  "REVOKE SELECT (prosrc) ON TABLE pg_proc FROM",
	  "REVOKE EXECUTE ON FUNCTION pg_catalog.pg_reload_conf() FROM",
	  "REVOKE USAGE ON SEQUENCES FROM",
	  "COMMENT ON EXTENSION plpgsql IS 'PL/pgSQL procedural language'",
	  "RESET ALL", NULL },
	0, 0,
};

/*
 * A role the restore created that still holds something once the rest
 * is dropped (default privileges of its own) gets DROP OWNED BY before
 * DROP ROLE; the large object it owns, with a comment and a grant, is
 * unlinked first, by the rehearsal as by the rollback.
 */
static const struct undo_case undo_roles = {
	"undo_roles", "a new role that holds things", NULL,
	"CREATE ROLE @R;"
	"ALTER DEFAULT PRIVILEGES FOR ROLE @R GRANT SELECT ON TABLES TO PUBLIC;"
	"SELECT lo_from_bytea(424299, 'x');"
	"ALTER LARGE OBJECT 424299 OWNER TO @R;"
	"GRANT SELECT ON LARGE OBJECT 424299 TO PUBLIC;"
	"COMMENT ON LARGE OBJECT 424299 IS 'a comment';"
	"GRANT EXECUTE ON FUNCTION pg_catalog.pg_reload_conf() TO @R;"
	"CREATE TABLE public.t (a int);",
	{ "DROP OWNED BY", "DROP ROLE IF EXISTS", NULL },
	424299, 1,
};

static void test_undo_cases(void)
{
	const struct undo_case *cases[] = {
		&undo_routines, &undo_kinds, &undo_existing, &undo_roles, NULL,
	};

	snprintf(undo_role, sizeof(undo_role), "\"rsu role %d\"", (int)getpid());
	for (int i = 0; cases[i]; i++) {
		struct rs_undo *u = NULL;

		undo_case_run(cases[i], &u);
		rs_undo_free(u);
	}
}

/*
 * vault rollback's check: what the restore changed in an object that
 * existed must still hold what the restore left in it.  A comment on
 * schema public changed by hand since: refused, naming it, and nothing
 * changed; once it holds the restore's text again, the rollback runs.
 */
static void test_undo_since(void)
{
	static const struct undo_case k = {
		"undo_since", "changed since", NULL,
		"COMMENT ON SCHEMA public IS 'restored'; GRANT ALL ON SCHEMA public TO PUBLIC;"
		"CREATE TABLE public.t (a int);",
		{ NULL }, 0, 1,
	};
	const char *db = fx_db(k.db);
	struct buf err = BUF_INIT, why = BUF_INIT, a = BUF_INIT, b = BUF_INIT, before = BUF_INIT;
	const char *stmts[32], *created[64], *changed[16];
	size_t ns = 0, ncr = 0, nch = 0;
	struct rs_undo *u = NULL;
	PGconn *c;
	int r = -1;

	ok(fx_admin("CREATE DATABASE \"%s\" ENCODING 'UTF8' TEMPLATE template0", db),
	   "undo, changed since: a new target");
	undo_state(db, &before);
	c = fx_connect(db, NULL);
	if (c && undo_exec(c, "BEGIN") && rs_undo_begin(&u, c, &err) == 0 && undo_exec(c, k.sql) &&
	    rs_undo_prepare(u, c, &why, &err) == 0 && undo_exec(c, "COMMIT"))
		r = 0;
	ok(r == 0 && rs_undo_count(u) <= 32 && rs_undo_created_count(u) <= 64 &&
	   rs_undo_changed_count(u) <= 16 && rs_undo_changed_count(u) == 2,
	   "undo, changed since: a restore that changed schema public twice (%s%s)",
	   (char *)why.data, (char *)err.data);
	for (ns = 0; u && ns < rs_undo_count(u) && ns < 32; ns++)
		stmts[ns] = rs_undo_stmt(u, ns);
	for (ncr = 0; u && ncr < rs_undo_created_count(u) && ncr < 64; ncr++)
		created[ncr] = rs_undo_created_key(u, ncr);
	for (nch = 0; u && nch < rs_undo_changed_count(u) && nch < 16; nch++)
		changed[nch] = rs_undo_changed_entry(u, nch);
	ok(c && undo_exec(c, "COMMENT ON SCHEMA public IS 'by hand'"),
	   "undo, changed since: the comment changed by hand");
	undo_state(db, &a);
	buf_reset(&why);
	r = c && undo_exec(c, "BEGIN") ?
	    rs_undo_rollback(c, stmts, ns, created, ncr, changed, nch, &why, &err) : -1;
	undo_exec(c, "ROLLBACK");
	ok(r == 1 && strstr((char *)why.data, "the comment on schema public was changed since the restore"),
	   "undo, changed since: refused, naming it (%s)", (char *)why.data);
	undo_state(db, &b);
	ok(fx_same_buf(&a, &b), "undo, changed since: nothing changed");
	buf_reset(&why);
	r = c && undo_exec(c, "COMMENT ON SCHEMA public IS 'restored'") && undo_exec(c, "BEGIN") ?
	    rs_undo_rollback(c, stmts, ns, created, ncr, changed, nch, &why, &err) : -1;
	ok(r == 0 && undo_exec(c, "COMMIT"), "undo, changed since: once as the restore left it, rolled back (%s%s)",
	   (char *)why.data, (char *)err.data);
	undo_state(db, &b);
	ok(fx_same_buf(&before, &b), "undo, changed since: the target is as before the restore");
	PQfinish(c);
	rs_undo_free(u);
	buf_release(&err);
	buf_release(&why);
	buf_release(&a);
	buf_release(&b);
	buf_release(&before);
}

static void tests(void)
{
	test_damaged();
	test_jobs();
	test_jobs_deferred();
	test_jobs_undo();
	test_undo_cases();
	test_undo_since();
	/* what a failed case may have left */
	fx_exec(fx_db("undo_kinds"), "DO $$ BEGIN IF EXISTS (SELECT FROM pg_subscription WHERE subname = 'sub')"
		" THEN ALTER SUBSCRIPTION sub DISABLE; ALTER SUBSCRIPTION sub SET (slot_name = NONE);"
		" END IF; END $$; DROP SUBSCRIPTION IF EXISTS sub");
	fx_admin("DROP DATABASE IF EXISTS \"%s\" WITH (FORCE)", fx_db("undo_existing"));
	fx_admin("DROP DATABASE IF EXISTS \"%s\" WITH (FORCE)", fx_db("undo_roles"));
	fx_admin("DROP ROLE IF EXISTS %s", undo_role);
}

int main(void)
{
	static const struct fx_tap tap = { ok, skip };
	static const char *const dbs[] = {
		"badpar", "jobs", "jobsfail", "jobskill", "jobsundo", "jobsone", "jobsnote",
		"jobslate",
		"undo_routines", "undo_kinds", "undo_existing", "undo_roles", "undo_since", NULL,
	};

	fx_main(&tap, tests, dbs);
	return done_testing();
}

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
#include <string.h>
#include <libpq-fe.h>

#include "../tap.h"
#include "fx.h"

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
 * --jobs 2 past the first commit: a failure in the last transaction (an
 * event trigger refusing new indexes) drops everything the restore had
 * created, the role it created included; a target where that undo could
 * not be complete (an event trigger that comments on an existing schema
 * whenever a table is made) restores in one transaction instead.
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

	ok(fx_admin("CREATE DATABASE \"%s\" ENCODING 'UTF8' TEMPLATE template0", fx_db("jobsone")) &&
	   fx_exec(fx_db("jobsone"), note),
	   "--jobs 2 proof: a target whose event trigger comments on schema public");
	rs_log_init(&log);
	r = fx_restore(fx_db("jobsone"), NULL, RS_MODE_EMPTY, 0, NULL, 0, 0, NULL, NULL, &log, NULL, &err);
	is_int(r, 0, "--jobs 2 proof: the restore succeeds");
	ok(log.strategy && !strncmp(log.strategy, "one transaction", 15) &&
	   strstr(log.strategy, "not possible") &&
	   strstr(log.strategy, "the comment on schema public was changed"),
	   "--jobs 2 proof: in one transaction, because dropping would not undo the comment (%s)",
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

static void tests(void)
{
	test_damaged();
	test_jobs();
	test_jobs_undo();
}

int main(void)
{
	static const struct fx_tap tap = { ok, skip };
	static const char *const dbs[] = {
		"badpar", "jobs", "jobsfail", "jobskill", "jobsundo", "jobsone", NULL,
	};

	fx_main(&tap, tests, dbs);
	return done_testing();
}

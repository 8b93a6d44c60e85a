/*
 * test-rs-exec: the executor's one transaction (rs-exec and its steps),
 * against a real server (fx.h: the fixture, and what it needs).
 *
 * Restores from the fixture's captured tree:
 *  - everything into an empty database: pg_dump --schema-only of source
 *    and target are identical once comment lines are dropped, every
 *    table's rows (generated columns included) and every sequence value
 *    are identical, the log says verified, the large object is there;
 *  - --only roles creates a missing role and keeps existing ones;
 *  - --dry-run changes nothing, and an empty-mode plan on a full
 *    database lists the conflicts;
 *  - one table in clean mode into a drifted copy: that table equals the
 *    snapshot (extra column and row gone), other tables keep their drift
 *    and the foreign key that points at it from an unselected table is
 *    back; everything in clean mode equals the source;
 *  - merge mode adds missing rows and keeps changed ones; with
 *    --on-conflict update it overwrites them;
 *  - failures leave the target byte for byte unchanged: a trigger that
 *    raises part-way, a foreign key from an unselected table to a row
 *    only the target has (the error names constraint and row), a
 *    connection killed with pg_terminate_backend mid-load, a damaged
 *    data.sql (verification against meta.json);
 *  - the verification: streamed, a data.sql whose bytes match meta.json
 *    but that COPY counts as fewer rows is refused; --verify full reads
 *    back and refuses rows a trigger changed, which streamed lets by;
 *  - a managed target (auth and storage exist, owned by platform roles;
 *    the restoring role is not a superuser): rows land in auth and
 *    storage, their DDL is kept, and the skipped statements are logged
 *    with their reasons.
 * The parallel strategy is test-rs-par's, large objects test-rs-lo's.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <libpq-fe.h>

#include "../tap.h"
#include "fx.h"
#include "json.h"

static void test_full(void)
{
	struct rs_log log;
	struct buf err = BUF_INIT, a = BUF_INIT, b = BUF_INIT, j = BUF_INIT;
	PGconn *cs, *ct;
	size_t same, all, verified = 0;
	int r;

	ok(fx_admin("CREATE DATABASE \"%s\" ENCODING 'UTF8' TEMPLATE template0", fx_db("full")), "empty target database");
	rs_log_init(&log);
	ok(rs_log_target(&log, "postgresql://tester:s3cret-pw@localhost:5432/full", &err) == 0,
	   "the log's target from a connection URL");
	r = fx_restore(fx_db("full"), NULL, RS_MODE_EMPTY, 0, NULL, 0, 0, NULL, NULL, &log,
		       NULL, &err);
	is_int(r, 0, "full restore into an empty database");
	ok(log.status && !strcmp(log.status, "ok") && log.verification &&
	   !strcmp(log.verification, "ok"), "log: status ok, verification ok");
	ok(fx_dump(fx_db("src"), 1, &a) == 0 && fx_dump(fx_db("full"), 1, &b) == 0, "pg_dump --schema-only of both");
	ok(fx_same_buf(&a, &b), "schema dumps identical once comment lines are dropped");
	if (!fx_same_buf(&a, &b))
		fx_first_diff(&a, &b);
	cs = fx_connect(fx_db("src"), NULL);
	ct = fx_connect(fx_db("full"), NULL);
	same = fx_same_tables(cs, ct, &all);
	ok(all > 20 && same == all, "every table's rows identical, generated columns included (%zu/%zu)",
	   same, all);
	ok(cs && ct && fx_same_sequences(cs, ct), "every sequence value identical");
	ok(cs && ct && fx_scalar(ct, "SELECT count(*) FROM public.todo_stats") ==
	   fx_scalar(cs, "SELECT count(*) FROM public.todo_stats"), "materialized view refreshed");
	for (size_t i = 0; i < log.ntables; i++) {
		verified += log.tables[i].verified == 1;
		if (log.tables[i].verified != 1 && strcmp(log.tables[i].name, "measurements") &&
		    strcmp(log.tables[i].name, "measurements_2024"))
			diag("not verified: %s.%s", log.tables[i].schema, log.tables[i].name);
	}
	is_int(verified, all, "every table verified by row count and XXH3-128");
	{
		const struct rs_log_table *lt = fx_log_table(&log, "public", "todos");

		ok(lt && lt->before == -1 && lt->after == 250 && lt->inserted == 250,
		   "log: todos missing before, 250 rows after, 250 inserted");
	}
	ok(rs_log_json(&log, &j) == 0 && strstr((char *)j.data, "\"status\": \"ok\"") &&
	   strstr((char *)j.data, "\"target\": \"postgres://tester:***@localhost:5432/full\"") &&
	   !strstr((char *)j.data, "s3cret") &&
	   strstr((char *)j.data, "\"skipped_statements\": [],") &&
	   !strstr((char *)j.data, "meta-command"),
	   "log JSON: status, target with the password masked, nothing skipped (pg_dump's \\restrict lines are no statements)");
	{
		struct json *doc = NULL;

		ok(json_parse(&doc, j.data, j.len, NULL) == 0 &&
		   json_len(json_get(doc, "tables")) == fx_src.meta->ntables,
		   "the log is valid JSON with every table");
		json_free(doc);
	}
	/* the fixture's large object 424242 */
	is_int(fx_src.nlo, 1, "the snapshot lists one large object");
	ok(fx_src.nlo == 1 && fx_src.lo_oids[0] == 424242, "named by its oid, 424242");
	ok(cs && ct && fx_lo_hex(cs, 424242, &a) && fx_lo_hex(ct, 424242, &b) && a.len > 0 &&
	   fx_same_buf(&a, &b), "large object 424242 restored with the same bytes (lo_get)");
	ok(log.lo && log.nlo_created == 1 && log.lo_created[0] == 424242 &&
	   log.lo_verified == 1 && log.lo_kept == 0, "log: one large object created and verified");
	ok(strstr((char *)j.data, "\"large_objects\": {\"created\": 1, \"kept\": 0, \"verified\": 1}") &&
	   strstr((char *)j.data, "\"large_objects_created\": [424242]"),
	   "log JSON: large object counts and the oid created");
	ok(ct && fx_scalar(ct, "SELECT count(*) FROM pg_largeobject_metadata m JOIN pg_roles r"
			" ON r.oid = m.lomowner WHERE r.rolname = current_user") == 1,
	   "the restored large object belongs to the restoring role");
	PQfinish(cs);
	PQfinish(ct);
	rs_log_release(&log);
	buf_release(&err);
	buf_release(&a);
	buf_release(&b);
	buf_release(&j);
}

static void test_roles(void)
{
	struct rs_log log;
	struct buf err = BUF_INIT, q = BUF_INIT;
	PGconn *c;
	int r;

	ok(fx_admin("DROP ROLE \"%s\"", fx_gone), "a captured role dropped");
	rs_log_init(&log);
	r = fx_restore(fx_db("full"), NULL, RS_MODE_MERGE, 0, NULL, RS_ONLY_ROLES, 0, NULL, NULL,
		       &log, NULL, &err);
	is_int(r, 0, "--only roles");
	c = fx_connect(fx_db("full"), NULL);
	buf_addf(&q, "SELECT count(*) FROM pg_roles WHERE rolname = '%s' AND rolcanlogin"
		 " AND rolconnlimit = 3", fx_gone);
	ok(c && fx_scalar(c, (char *)q.data) == 1, "the missing role is created with its attributes");
	buf_reset(&q);
	buf_addf(&q, "SELECT count(*) FROM pg_auth_members a JOIN pg_roles r ON r.oid = a.roleid"
		 " JOIN pg_roles m ON m.oid = a.member WHERE r.rolname = 'app_reader'"
		 " AND m.rolname = '%s'", fx_gone);
	ok(c && fx_scalar(c, (char *)q.data) == 1, "and its membership added");
	ok(c && fx_scalar(c, "SELECT count(*) FROM pg_roles WHERE rolname = 'app_writer' AND rolconnlimit = 5") == 1,
	   "existing roles kept");
	PQfinish(c);
	rs_log_release(&log);
	buf_release(&err);
	buf_release(&q);
}

static void test_dry_run(void)
{
	struct rs_log log;
	struct rs_plan *plan = NULL;
	struct buf err = BUF_INIT, before = BUF_INIT, after = BUF_INIT, txt = BUF_INIT;
	int r;

	fx_dump(fx_db("full"), 0, &before);
	rs_log_init(&log);
	r = fx_restore(fx_db("full"), NULL, RS_MODE_EMPTY, 0, NULL, 0, 1, NULL, NULL, &log,
		       &plan, &err);
	is_int(r, -EEXIST, "empty mode into a full database is refused, even in a dry run");
	ok(strstr((char *)err.data, "TABLE public.todos already exists") &&
	   strstr((char *)err.data, "SCHEMA auth already exists"), "the conflicts are listed");
	ok(plan && rs_plan_text(plan, &fx_src, &txt) == 0 &&
	   strstr((char *)txt.data, "CONFLICT: TABLE public.todos already exists"),
	   "the plan text lists conflicts");
	rs_plan_free(plan);
	plan = NULL;
	rs_log_release(&log);
	rs_log_init(&log);
	buf_reset(&txt);
	r = fx_restore(fx_db("full"), NULL, RS_MODE_MERGE, 0, NULL, 0, 1, NULL, NULL, &log,
		       &plan, &err);
	is_int(r, 0, "merge dry run");
	ok(log.status && !strcmp(log.status, "dry-run"), "log status dry-run");
	ok(plan && rs_plan_text(plan, &fx_src, &txt) == 0 &&
	   strstr((char *)txt.data, "public.event_log: snapshot 5 rows, target 5 rows; none: skipped, no primary key"),
	   "merge plan skips the table without a primary key");
	buf_reset(&txt);
	{
		struct json *doc = NULL;

		ok(plan && rs_plan_json(plan, &fx_src, NULL, &txt) == 0 &&
		   json_parse(&doc, txt.data, txt.len, NULL) == 0 &&
		   !strcmp(json_get_str(doc, "mode"), "merge") &&
		   json_len(json_get(doc, "tables")) == fx_src.meta->ntables,
		   "the plan as valid JSON");
		json_free(doc);
	}
	fx_dump(fx_db("full"), 0, &after);
	ok(fx_same_buf(&before, &after), "dry run changed nothing");
	rs_plan_free(plan);
	rs_log_release(&log);
	buf_release(&err);
	buf_release(&before);
	buf_release(&after);
	buf_release(&txt);
}

static void test_clean_table(void)
{
	static const char *const orders[] = { "Sales & Ops.Orders", NULL };
	struct rs_log log;
	struct buf err = BUF_INIT, lines_before = BUF_INIT, x = BUF_INIT, y = BUF_INIT;
	struct buf sa = BUF_INIT, sb = BUF_INIT;
	PGconn *cp, *cd;
	int r;

	ok(fx_copy_db(fx_db("full"), fx_db("drift")), "a copy to drift");
	ok(fx_exec(fx_db("drift"),
		   "ALTER TABLE \"Sales & Ops\".\"Orders\" ADD COLUMN extra int DEFAULT 7;"
		   "UPDATE \"Sales & Ops\".\"Orders\" SET \"Customer\" = 'changed' WHERE order_no = 1;"
		   "INSERT INTO \"Sales & Ops\".\"Orders\" VALUES (3, 'new', 1, NULL, 1);"
		   "UPDATE public.pair_b SET note = 'drifted' WHERE id = 3;"),
	   "drift: a column, a changed row, a new row; another table changed too");
	cd = fx_connect(fx_db("drift"), NULL);
	fx_table_rows(cd, "Sales & Ops", "lines", &lines_before);
	PQfinish(cd);
	rs_log_init(&log);
	r = fx_restore(fx_db("drift"), NULL, RS_MODE_CLEAN, 0, orders, 0, 0, NULL, NULL, &log,
		       NULL, &err);
	is_int(r, 0, "clean restore of one table");
	cp = fx_connect(fx_db("full"), NULL);
	cd = fx_connect(fx_db("drift"), NULL);
	ok(cp && cd && fx_same_table(cp, cd, "Sales & Ops", "Orders"),
	   "the table equals the snapshot (column and row gone)");
	ok(cd && fx_scalar(cd, "SELECT count(*) FROM information_schema.columns WHERE table_name = 'Orders' AND column_name = 'extra'") == 0,
	   "the extra column is gone");
	ok(cd && fx_scalar(cd, "SELECT count(*) FROM public.pair_b WHERE note = 'drifted'") == 1,
	   "another table keeps its drift");
	ok(cd && fx_table_rows(cd, "Sales & Ops", "lines", &x) && fx_same_buf(&x, &lines_before),
	   "the referencing table's rows untouched");
	ok(cd && fx_scalar(cd, "SELECT count(*) FROM pg_constraint WHERE conname = 'lines_order_no_fkey'") == 1,
	   "its foreign key is back");
	fx_dump(fx_db("full"), 1, &sa);
	fx_dump(fx_db("drift"), 1, &sb);
	ok(fx_same_buf(&sa, &sb), "schema identical to the pristine restore");
	if (!fx_same_buf(&sa, &sb))
		fx_first_diff(&sa, &sb);
	{
		const struct rs_log_table *lt = fx_log_table(&log, "Sales & Ops", "Orders");

		ok(lt && lt->before == 3 && lt->after == 2 && lt->verified == 1,
		   "log: 3 rows before, 2 after, verified");
	}
	PQfinish(cp);
	PQfinish(cd);
	rs_log_release(&log);

	/* a table with views on it: clean mode would drop them */
	{
		static const char *const todos[] = { "public.todos", NULL };

		rs_log_init(&log);
		r = fx_restore(fx_db("drift"), NULL, RS_MODE_CLEAN, 0, todos, 0, 1, NULL, NULL, &log,
			       NULL, &err);
		ok(r == -EEXIST && strstr((char *)err.data, "view public.active_todos") &&
		   strstr((char *)err.data, "materialized view public.todo_stats"),
		   "clean of a table with views on it is refused, naming the views");
		rs_log_release(&log);
	}

	/* everything in clean mode: the whole database equals the snapshot */
	ok(fx_exec(fx_db("drift"),
		   "ALTER TABLE public.todos ADD COLUMN extra text;"
		   "DROP INDEX auth.users_instance_id_idx;"
		   "DELETE FROM public.todos WHERE id > 200;"
		   "CREATE OR REPLACE FUNCTION public.touch_updated_at() RETURNS trigger"
		   " LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;"),
	   "more drift: a column, a missing index, rows, a function body");
	rs_log_init(&log);
	r = fx_restore(fx_db("drift"), NULL, RS_MODE_CLEAN, 0, NULL, 0, 0, NULL, NULL, &log, NULL, &err);
	is_int(r, 0, "clean restore of everything");
	fx_dump(fx_db("src"), 1, &sa);
	fx_dump(fx_db("drift"), 1, &sb);
	ok(fx_same_buf(&sa, &sb), "schema identical to the source");
	if (!fx_same_buf(&sa, &sb))
		fx_first_diff(&sa, &sb);
	cp = fx_connect(fx_db("src"), NULL);
	cd = fx_connect(fx_db("drift"), NULL);
	{
		size_t all, same = fx_same_tables(cp, cd, &all);

		ok(all && same == all, "every table equals the source (%zu/%zu)", same, all);
	}
	ok(cp && cd && fx_same_sequences(cp, cd), "sequences equal the source");
	PQfinish(cp);
	PQfinish(cd);
	rs_log_release(&log);
	buf_release(&err);
	buf_release(&lines_before);
	buf_release(&x);
	buf_release(&y);
	buf_release(&sa);
	buf_release(&sb);
}

static void test_merge(void)
{
	static const char *const todos[] = { "public.todos", NULL };
	struct rs_log log;
	struct buf err = BUF_INIT;
	PGconn *c;
	const struct rs_log_table *lt;
	int r;

	ok(fx_copy_db(fx_db("full"), fx_db("merge")), "a copy to merge into");
	ok(fx_exec(fx_db("merge"),
		   "DELETE FROM public.todos WHERE id <= 10;"
		   "UPDATE public.todos SET task = 'changed here' WHERE id = 11;"
		   "INSERT INTO public.todos (id, user_id, task) VALUES (1000, '11111111-1111-1111-1111-111111111111', 'target only');"),
	   "10 rows deleted, one changed, one added");
	rs_log_init(&log);
	r = fx_restore(fx_db("merge"), NULL, RS_MODE_MERGE, RS_ON_CONFLICT_NOTHING, todos, 0, 0,
		       NULL, NULL, &log, NULL, &err);
	is_int(r, 0, "merge restore");
	c = fx_connect(fx_db("merge"), NULL);
	ok(c && fx_scalar(c, "SELECT count(*) FROM public.todos") == 251, "missing rows added (250 + 1)");
	ok(c && fx_scalar(c, "SELECT count(*) FROM public.todos WHERE id = 11 AND task = 'changed here'") == 1,
	   "existing row kept");
	ok(c && fx_scalar(c, "SELECT count(*) FROM public.todos WHERE id = 1000") == 1, "target-only row kept");
	lt = fx_log_table(&log, "public", "todos");
	ok(lt && lt->inserted == 10 && lt->updated == 0 && lt->skipped == 240 &&
	   lt->before == 241 && lt->after == 251 && lt->verified == 1,
	   "log: 10 inserted, 240 skipped, 241 -> 251, verified");
	rs_log_release(&log);
	rs_log_init(&log);
	r = fx_restore(fx_db("merge"), NULL, RS_MODE_MERGE, RS_ON_CONFLICT_UPDATE, todos, 0, 0,
		       NULL, NULL, &log, NULL, &err);
	is_int(r, 0, "merge restore with --on-conflict update");
	ok(c && fx_scalar(c, "SELECT count(*) FROM public.todos WHERE id = 11 AND task = 'task number 11'") == 1,
	   "existing row overwritten");
	ok(c && fx_scalar(c, "SELECT count(*) FROM public.todos") == 251, "still 251 rows");
	lt = fx_log_table(&log, "public", "todos");
	ok(lt && lt->inserted == 0 && lt->updated == 250 && lt->verified == 1,
	   "log: 250 updated, verified over the snapshot's keys");
	rs_log_release(&log);

	/* every table: identity columns, partitions, the key cycle, odd names */
	ok(fx_exec(fx_db("merge"),
		   "DELETE FROM public.tickets; DELETE FROM public.measurements WHERE id % 3 = 0;"
		   "DELETE FROM \"Sales & Ops\".\"ünïcode ☃\" WHERE id = 2;"
		   "DELETE FROM public.\"Mixed Case/Name\";"),
	   "rows deleted across tables");
	rs_log_init(&log);
	r = fx_restore(fx_db("merge"), NULL, RS_MODE_MERGE, RS_ON_CONFLICT_NOTHING, NULL, 0, 0,
		       NULL, NULL, &log, NULL, &err);
	is_int(r, 0, "merge of everything");
	{
		size_t verified = 0, loaded = 0;

		for (size_t i = 0; i < log.ntables; i++) {
			if (log.tables[i].load && !strcmp(log.tables[i].load, "merge"))
				loaded++;
			verified += log.tables[i].verified == 1;
		}
		ok(loaded == 22 && verified == loaded, "22 tables merged and verified (%zu/%zu)",
		   verified, loaded);
	}
	ok(c && fx_scalar(c, "SELECT count(*) FROM public.tickets") == 2 &&
	   fx_scalar(c, "SELECT count(*) FROM public.measurements") == 200 &&
	   fx_scalar(c, "SELECT count(*) FROM public.\"Mixed Case/Name\"") == 2,
	   "deleted rows are back");
	lt = fx_log_table(&log, "public", "event_log");
	ok(lt && lt->skip_reason && strstr(lt->skip_reason, "no primary key") && lt->skipped == 5,
	   "the table without a primary key is skipped, with the reason");
	PQfinish(c);
	rs_log_release(&log);
	buf_release(&err);
}

static void test_failures(void)
{
	static const char *const todos[] = { "public.todos", NULL };
	static const char *const orders[] = { "Sales & Ops.Orders", NULL };
	struct rs_log log;
	struct buf err = BUF_INIT, before = BUF_INIT, after = BUF_INIT;
	struct fx_kill kill = { 0, 6, 0, 0 };
	int r;

	/* a trigger in the target that raises part-way through the rows */
	ok(fx_copy_db(fx_db("full"), fx_db("fail")), "a copy to fail on");
	ok(fx_exec(fx_db("fail"),
		   "DELETE FROM public.todos WHERE id <= 10;"
		   "CREATE FUNCTION public.no_five() RETURNS trigger LANGUAGE plpgsql AS $$"
		   " BEGIN IF NEW.id = 5 THEN RAISE EXCEPTION 'no row five, please'; END IF; RETURN NEW; END $$;"
		   "CREATE TRIGGER no_five BEFORE INSERT ON public.todos FOR EACH ROW EXECUTE FUNCTION public.no_five();"),
	   "a trigger that refuses row 5");
	fx_dump(fx_db("fail"), 0, &before);
	rs_log_init(&log);
	r = fx_restore(fx_db("fail"), NULL, RS_MODE_MERGE, 0, todos, 0, 0, NULL, NULL, &log, NULL, &err);
	ok(r < 0 && strstr((char *)err.data, "no row five, please") &&
	   strstr((char *)err.data, "public.todos"), "the trigger's error, naming the table");
	ok(log.status && !strcmp(log.status, "failed") && log.error, "log: failed, with the error");
	fx_dump(fx_db("fail"), 0, &after);
	ok(fx_same_buf(&before, &after), "target unchanged after the trigger failure");
	rs_log_release(&log);

	/* a foreign key from an unselected table to a row only the target has */
	ok(fx_exec(fx_db("fail"),
		   "INSERT INTO \"Sales & Ops\".\"Orders\" VALUES (3, 'target only', 5, NULL);"
		   "INSERT INTO \"Sales & Ops\".lines VALUES (3, 1, 'SKU-3');"), "an order only the target has, referenced");
	fx_dump(fx_db("fail"), 0, &before);
	rs_log_init(&log);
	r = fx_restore(fx_db("fail"), NULL, RS_MODE_CLEAN, 0, orders, 0, 0, NULL, NULL, &log, NULL, &err);
	is_int(r, -EEXIST, "clean restore refused");
	ok(strstr((char *)err.data, "lines_order_no_fkey") &&
	   strstr((char *)err.data, "(order_no)=(3)"), "the error names the constraint and the row");
	fx_dump(fx_db("fail"), 0, &after);
	ok(fx_same_buf(&before, &after), "target unchanged after the refusal");
	rs_log_release(&log);

	/* a connection killed mid-load */
	ok(fx_admin("CREATE DATABASE \"%s\" ENCODING 'UTF8' TEMPLATE template0", fx_db("kill")), "an empty database");
	fx_dump(fx_db("kill"), 0, &before);
	rs_log_init(&log);
	r = fx_restore(fx_db("kill"), NULL, RS_MODE_EMPTY, 0, NULL, 0, 0, &kill, NULL, &log, NULL, &err);
	ok(kill.killed && r == -ECONNRESET, "pg_terminate_backend mid-load: connection lost");
	fx_dump(fx_db("kill"), 0, &after);
	ok(fx_same_buf(&before, &after), "target unchanged after the killed connection");
	rs_log_release(&log);

	/* a damaged data.sql: the rows read do not match meta.json */
	{
		struct rs_input bad;
		char dir[512];

		if (!fx_tree_damaged(dir, sizeof(dir)))
			diag("cannot damage a copy of %s", fx_tree);
		rs_input_dir_init(&bad, dir);
		ok(fx_admin("CREATE DATABASE \"%s\" ENCODING 'UTF8' TEMPLATE template0", fx_db("bad")), "another empty database");
		fx_dump(fx_db("bad"), 0, &before);
		rs_log_init(&log);
		r = fx_restore(fx_db("bad"), NULL, RS_MODE_EMPTY, 0, NULL, 0, 0, NULL, &bad, &log, NULL, &err);
		ok(r == -EBADMSG && strstr((char *)err.data, "public.pair_a") &&
		   strstr((char *)err.data, "damaged snapshot"), "damaged data.sql refused, naming the table");
		fx_dump(fx_db("bad"), 0, &after);
		ok(fx_same_buf(&before, &after), "target unchanged after the damaged snapshot");
		rs_log_release(&log);
		rs_input_dir_release(&bad);
		fx_tree_remove(dir);
	}
	buf_release(&err);
	buf_release(&before);
	buf_release(&after);
}

/* The meta.json entry of schema.name in the snapshot read back. */
static struct rs_meta_table *test_meta_table(const char *schema, const char *name)
{
	for (size_t i = 0; i < fx_src.meta->ntables; i++)
		if (!strcmp(fx_src.meta->tables[i].schema, schema) &&
		    !strcmp(fx_src.meta->tables[i].name, name))
			return &fx_src.meta->tables[i];
	return NULL;
}

/*
 * The verification: streamed (the default) catches rows the server
 * counts otherwise than the snapshot; --verify full also reads every
 * table back, and so catches what the server stored otherwise than it
 * was sent, which the streamed one cannot see.
 */
static void test_verify(void)
{
	static const char *const pair_a[] = { "public.pair_a", NULL };
	struct rs_meta_table *t = test_meta_table("public", "pair_a");
	struct rs_log log;
	struct buf err = BUF_INIT, before = BUF_INIT, after = BUF_INIT, j = BUF_INIT;
	struct rs_input in;
	char dir[512], xxh3[33], keep_xxh3[33];
	uint64_t rows, keep_rows;
	int r;

	ok(t != NULL, "the snapshot has public.pair_a");
	if (!t)
		return;
	/* the bytes match meta.json, but COPY reads one row fewer */
	ok(fx_tree_miscounted(dir, sizeof(dir), &rows, xxh3), "a tree whose pair_a COPY counts otherwise");
	keep_rows = t->rows;
	memcpy(keep_xxh3, t->xxh3, sizeof(keep_xxh3));
	t->rows = rows;
	memcpy(t->xxh3, xxh3, sizeof(t->xxh3));
	rs_input_dir_init(&in, dir);
	ok(fx_admin("CREATE DATABASE \"%s\" ENCODING 'UTF8' TEMPLATE template0", fx_db("miscount")),
	   "an empty database");
	fx_dump(fx_db("miscount"), 0, &before);
	rs_log_init(&log);
	r = fx_restore(fx_db("miscount"), NULL, RS_MODE_EMPTY, 0, NULL, 0, 0, NULL, &in, &log, NULL, &err);
	ok(r == -EBADMSG && strstr((char *)err.data, "verification failed for table public.pair_a") &&
	   strstr((char *)err.data, "COPY loaded 10 rows, the snapshot has 11"),
	   "streamed verification: COPY's row count differs from the snapshot's, refused naming the table");
	ok(log.verify && !strcmp(log.verify, "streamed"), "log: the verification was streamed");
	fx_dump(fx_db("miscount"), 0, &after);
	ok(fx_same_buf(&before, &after), "target unchanged after the miscount");
	rs_log_release(&log);
	rs_input_dir_release(&in);
	fx_tree_remove(dir);
	t->rows = keep_rows;
	memcpy(t->xxh3, keep_xxh3, sizeof(t->xxh3));

	/* a target that stores other rows than it is sent: a trigger */
	ok(fx_copy_db(fx_db("full"), fx_db("verify")), "a copy whose pair_a rewrites rows");
	ok(fx_exec(fx_db("verify"),
		   "DELETE FROM public.pair_a;"
		   "CREATE FUNCTION public.shout() RETURNS trigger LANGUAGE plpgsql AS $$"
		   " BEGIN NEW.note = upper(NEW.note); RETURN NEW; END $$;"
		   "CREATE TRIGGER shout BEFORE INSERT ON public.pair_a FOR EACH ROW EXECUTE FUNCTION public.shout();"),
	   "a trigger that changes each note");
	fx_dump(fx_db("verify"), 0, &before);
	fx_restore_verify = RS_VERIFY_FULL;
	rs_log_init(&log);
	r = fx_restore(fx_db("verify"), NULL, RS_MODE_MERGE, RS_ON_CONFLICT_UPDATE, pair_a, 0, 0, NULL, NULL, &log, NULL, &err);
	ok(r == -EBADMSG && strstr((char *)err.data, "public.pair_a") &&
	   strstr((char *)err.data, "verification failed"),
	   "--verify full reads the table back: the changed rows are refused, naming the table");
	ok(log.verify && !strcmp(log.verify, "full") && log.verification &&
	   !strcmp(log.verification, "failed"), "log: full verification, failed");
	fx_dump(fx_db("verify"), 0, &after);
	ok(fx_same_buf(&before, &after), "target unchanged after the failed full verification");
	rs_log_release(&log);
	fx_restore_verify = RS_VERIFY_STREAMED;
	rs_log_init(&log);
	r = fx_restore(fx_db("verify"), NULL, RS_MODE_MERGE, RS_ON_CONFLICT_UPDATE, pair_a, 0, 0, NULL, NULL, &log, NULL, &err);
	is_int(r, 0, "streamed verification does not read back: the same restore commits");
	ok(rs_log_json(&log, &j) == 0 && strstr((char *)j.data, "\"verify\": \"streamed\"") &&
	   strstr((char *)j.data, "\"verification\": \"ok\""), "log JSON: verify streamed, verification ok");
	rs_log_release(&log);
	buf_release(&err);
	buf_release(&before);
	buf_release(&after);
	buf_release(&j);
}

/* auth and storage as the platform makes them: owned by its roles */
static const char managed_ddl[] =
	"CREATE SCHEMA auth AUTHORIZATION supabase_auth_admin;"
	"CREATE SCHEMA storage AUTHORIZATION supabase_storage_admin;"
	"SET ROLE supabase_auth_admin;"
	"CREATE TYPE auth.aal_level AS ENUM ('aal1', 'aal2', 'aal3');"
	"CREATE TABLE auth.users (instance_id uuid, id uuid NOT NULL PRIMARY KEY, aud varchar(255),"
	" role varchar(255), email varchar(255), encrypted_password varchar(255),"
	" email_confirmed_at timestamptz, raw_app_meta_data jsonb, raw_user_meta_data jsonb,"
	" is_super_admin boolean, created_at timestamptz, updated_at timestamptz,"
	" phone text UNIQUE DEFAULT NULL,"
	" email_domain text GENERATED ALWAYS AS (split_part(email, '@', 2)) STORED,"
	" is_sso_user boolean NOT NULL DEFAULT false);"
	"CREATE TABLE auth.identities (provider_id text NOT NULL,"
	" user_id uuid NOT NULL REFERENCES auth.users (id) ON DELETE CASCADE,"
	" identity_data jsonb NOT NULL, provider text NOT NULL, last_sign_in_at timestamptz,"
	" created_at timestamptz, updated_at timestamptz,"
	" email text GENERATED ALWAYS AS (lower(identity_data ->> 'email')) STORED,"
	" id uuid NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY);"
	"CREATE TABLE auth.schema_migrations (version varchar(255) NOT NULL PRIMARY KEY);"
	"CREATE FUNCTION auth.uid() RETURNS uuid LANGUAGE sql STABLE"
	" AS $$ SELECT nullif(current_setting('request.jwt.claim.sub', true), '')::uuid $$;"
	"GRANT USAGE ON SCHEMA auth TO %1$s;"
	"GRANT ALL ON ALL TABLES IN SCHEMA auth TO %1$s;"
	"RESET ROLE;"
	"SET ROLE supabase_storage_admin;"
	"CREATE TABLE storage.buckets (id text PRIMARY KEY, name text NOT NULL UNIQUE,"
	" owner uuid, public boolean DEFAULT false, created_at timestamptz DEFAULT now());"
	"CREATE TABLE storage.objects (id uuid NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,"
	" bucket_id text REFERENCES storage.buckets (id), name text, owner uuid, metadata jsonb,"
	" path_tokens text[] GENERATED ALWAYS AS (string_to_array(name, '/')) STORED,"
	" created_at timestamptz DEFAULT now());"
	"ALTER TABLE storage.objects ENABLE ROW LEVEL SECURITY;"
	"GRANT USAGE ON SCHEMA storage TO %1$s;"
	"GRANT ALL ON ALL TABLES IN SCHEMA storage TO %1$s;"
	"RESET ROLE;";

static void test_managed(void)
{
	struct rs_log log;
	struct buf err = BUF_INIT, j = BUF_INIT, ddl = BUF_INIT;
	PGconn *cs, *ct;
	int r, owner = 0, managed = 0, ext = 0, trig = 0, lo = 0;

	buf_addf(&ddl, managed_ddl, fx_role);
	fx_admin("DROP ROLE IF EXISTS %s", fx_role);
	ok(fx_admin("CREATE ROLE %s LOGIN NOSUPERUSER BYPASSRLS", fx_role), "a restoring role, not a superuser");
	ok(fx_admin("CREATE DATABASE \"%s\" ENCODING 'UTF8' TEMPLATE template0 OWNER %s", fx_db("managed"), fx_role), "its database");
	ok(fx_exec(fx_db("managed"), (char *)ddl.data), "auth and storage owned by platform roles");
	rs_log_init(&log);
	r = fx_restore(fx_db("managed"), fx_role, RS_MODE_EMPTY, 0, NULL, 0, 0, NULL, NULL,
		       &log, NULL, &err);
	is_int(r, 0, "restore into the managed target");
	ok(log.managed, "detected as managed");
	cs = fx_connect(fx_db("src"), NULL);
	ct = fx_connect(fx_db("managed"), NULL);
	ok(cs && ct && fx_same_table(cs, ct, "auth", "users") && fx_same_table(cs, ct, "auth", "identities") &&
	   fx_same_table(cs, ct, "storage", "buckets") && fx_same_table(cs, ct, "storage", "objects"),
	   "auth and storage rows landed");
	ok(cs && ct && fx_same_table(cs, ct, "public", "profiles") && fx_same_table(cs, ct, "public", "todos") &&
	   fx_same_table(cs, ct, "Sales & Ops", "Orders"), "application rows landed");
	ok(ct && fx_scalar(ct, "SELECT count(*) FROM pg_trigger WHERE tgname = 'on_auth_user_created'") == 0,
	   "the platform's auth DDL kept as it was (no trigger added)");
	ok(ct && fx_scalar(ct, "SELECT count(*) FROM pg_policies WHERE tablename = 'profiles'") == 2,
	   "the application's policies restored");
	for (size_t i = 0; i < log.nskipped; i++) {
		if (strstr(log.skipped[i].reason, "ownership change to reserved role postgres"))
			owner++;
		if (strstr(log.skipped[i].reason, "schema auth is managed"))
			managed++;
		if (strstr(log.skipped[i].reason, "comment on an extension"))
			ext++;
		if (strstr(log.skipped[i].sql, "on_auth_user_created"))
			trig++;
		if (strstr(log.skipped[i].where, "424242; LARGE OBJECT (large_objects.sql)") &&
		    !strcmp(log.skipped[i].sql, "ALTER LARGE OBJECT 424242 OWNER TO postgres;") &&
		    strstr(log.skipped[i].reason, "ownership change to reserved role postgres"))
			lo++;
	}
	is_int(lo, 1, "the large object's owner change to postgres skipped and logged");
	buf_reset(&ddl);
	buf_addf(&ddl, "SELECT count(*) FROM pg_largeobject_metadata WHERE oid = 424242"
		 " AND pg_get_userbyid(lomowner) = '%s'", fx_role);
	ok(ct && fx_scalar(ct, (char *)ddl.data) == 1,
	   "and the large object is there, owned by the restoring role");
	ok(owner > 10, "ownership changes to postgres skipped and logged (%d)", owner);
	ok(managed > 5, "auth DDL skipped and logged (%d)", managed);
	is_int(ext, 1, "COMMENT ON EXTENSION skipped and logged");
	is_int(trig, 1, "the auth.users trigger skipped and logged");
	ok(rs_log_json(&log, &j) == 0 && strstr((char *)j.data, "\"managed_target\": true") &&
	   strstr((char *)j.data, "\"reason\": \"ownership change to reserved role postgres"),
	   "the log's JSON carries the reasons");
	PQfinish(cs);
	PQfinish(ct);
	rs_log_release(&log);
	buf_release(&err);
	buf_release(&j);
	buf_release(&ddl);
}

static void tests(void)
{
	test_full();
	test_roles();
	test_dry_run();
	test_clean_table();
	test_merge();
	test_failures();
	test_verify();
	test_managed();
}

int main(void)
{
	static const struct fx_tap tap = { ok, skip };
	static const char *const dbs[] = {
		"full", "drift", "merge", "fail", "kill", "bad", "miscount", "verify",
		"managed", NULL,
	};

	fx_main(&tap, tests, dbs);
	return done_testing();
}

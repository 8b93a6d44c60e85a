#!/bin/bash
# vault restore --mode clean as documented, end to end on the
# Supabase-shaped fixture:
#  - the issue's reproducer: one table with a view and a materialized
#    view on it, whose definition matches the snapshot: the plan says
#    "reload (definition matches)", the rows come back, the views stay
#    the same objects, the log says reload; its rollback reloads it too;
#  - a table that drifted: the plan says "recreate (drifted: ...;
#    recreates view ..., materialized view ...)", in text and JSON; the
#    table and its views come back from the snapshot; its rollback puts
#    the drifted table and the views back (the safety snapshot holds
#    their DDL);
#  - a view someone made on a table that drifted: refused, naming it,
#    nothing changed; --drop-dependent-views drops it;
#  - a reload that would break a foreign key of an unselected table:
#    refused, nothing changed;
#  - a dry run changes nothing and leaves no scratch schema;
#  - objects other than tables: kept when they match the snapshot, a
#    changed function, view and domain recreated (and the table using
#    the domain); a changed type whose DROP ... CASCADE would take a
#    column of a table made since: refused by the dry run and the
#    restore alike, nothing changed.
. "$(dirname "$0")/../test-lib.sh"
. "$VAULT_SRCDIR/tests/db-lib.sh"

db_start
new_repo --encryption none

rows() {
	db_psql "$1" -c "COPY (SELECT * FROM $2 ORDER BY 1) TO STDOUT"
}
# the relations of the todos family, with their oids
oids() {
	db_psql "$1" -c "SELECT relname, oid FROM pg_class WHERE relname IN
		('todos', 'active_todos', 'todo_stats', 'my_todos') ORDER BY 1"
}

test_expect_success 'a snapshot of the fixture' '
	db_fixture fx &&
	vault snapshot --db "dbname=fx" >snap.out &&
	vault list --json | jq -r ".[0].id" >snapid && test -s snapid
'

test_expect_success 'reload: a table with views, its rows changed, a view made on it' '
	db_copy fx r1 &&
	db_psql r1 -c "DELETE FROM public.todos WHERE id > 200;
		UPDATE public.todos SET task = '"'"'changed task'"'"' WHERE id = 3;
		CREATE VIEW public.my_todos AS SELECT id, task FROM public.todos;" &&
	rows r1 public.todos >r1.todos.before &&
	oids r1 >r1.oids.before &&
	db_dump r1 >r1.before
'

test_expect_success 'reload: the plan says reload (definition matches), changes nothing' '
	vault restore "$(cat snapid)" --db "dbname=r1" --table public.todos --mode clean \
		--dry-run >r1.plan &&
	grep "^  public.todos: snapshot 250 rows, target 200 rows; reload (definition matches)\$" r1.plan &&
	! grep -q "; recreate" r1.plan &&
	vault restore "$(cat snapid)" --db "dbname=r1" --table public.todos --mode clean \
		--dry-run --json >r1.plan.json &&
	json_ok ".conflicts == [] and (.tables | length) == 1
		and .tables[0].clean == \"reload\" and .tables[0].clean_reason == \"definition matches\"
		and .tables[0].load == \"truncate+copy\" and .tables[0].recreates == []" r1.plan.json &&
	db_dump r1 >r1.after && test_cmp r1.before r1.after &&
	test "$(db_psql r1 -c "SELECT count(*) FROM pg_namespace WHERE nspname LIKE '"'"'vault_drift%'"'"'")" = 0
'

test_expect_success 'reload: restored, the views are the same objects, the log says reload' '
	vault restore "$(cat snapid)" --db "dbname=r1" --table public.todos --mode clean \
		--yes --json >r1.json &&
	json_ok ".status == \"ok\" and .verification == \"ok\"
		and .tables[0].clean == \"reload\" and .tables[0].clean_reason == \"definition matches\"
		and .tables[0].rows_before == 200 and .tables[0].rows_after == 250" r1.json &&
	rows fx public.todos >fx.todos && rows r1 public.todos >r1.todos &&
	test_cmp fx.todos r1.todos &&
	oids r1 >r1.oids.after && test_cmp r1.oids.before r1.oids.after &&
	test "$(db_psql r1 -c "SELECT count(*) FROM public.my_todos")" = 250
'

test_expect_success 'reload: the rollback reloads the rows it replaced' '
	vault rollback --db "dbname=r1" --yes >r1.rb &&
	rows r1 public.todos >r1.todos.back && test_cmp r1.todos.before r1.todos.back &&
	oids r1 >r1.oids.back && test_cmp r1.oids.before r1.oids.back
'

test_expect_success 'recreate: a table that drifted, with its views' '
	db_copy fx d1 &&
	db_psql d1 -c "ALTER TABLE public.todos ADD COLUMN extra integer DEFAULT 7;
		DELETE FROM public.todos WHERE id > 100;" &&
	db_dump d1 >d1.before &&
	vault restore "$(cat snapid)" --db "dbname=d1" --table public.todos --mode clean \
		--dry-run >d1.plan &&
	grep "^  public.todos: snapshot 250 rows, target 100 rows; recreate (drifted: column extra added; recreates view public.active_todos, materialized view public.todo_stats)\$" d1.plan &&
	grep "^  recreate VIEW public.active_todos\$" d1.plan &&
	grep "^  recreate MATERIALIZED VIEW public.todo_stats\$" d1.plan &&
	vault restore "$(cat snapid)" --db "dbname=d1" --table public.todos --mode clean \
		--dry-run --json >d1.plan.json &&
	json_ok ".conflicts == [] and .tables[0].clean == \"recreate\"
		and .tables[0].clean_reason == \"drifted: column extra added\"
		and .tables[0].recreates == [\"view public.active_todos\", \"materialized view public.todo_stats\"]
		and ([.objects[] | select(.pulled) | .name] == [\"active_todos\", \"todo_stats\"])" d1.plan.json
'

test_expect_success 'recreate: restored; table and views as in the snapshot' '
	vault restore "$(cat snapid)" --db "dbname=d1" --table public.todos --mode clean \
		--yes --json >d1.json &&
	json_ok ".status == \"ok\" and .tables[0].clean == \"recreate\"
		and (.tables[0].clean_reason | startswith(\"drifted: column extra added; recreates view public.active_todos\"))" d1.json &&
	db_dump fx --schema-only >fx.schema && db_dump d1 --schema-only >d1.schema &&
	test_cmp fx.schema d1.schema &&
	rows d1 public.todos >d1.todos && test_cmp fx.todos d1.todos &&
	test "$(db_psql d1 -c "SELECT sum(n) FROM public.todo_stats")" = 250
'

test_expect_success 'recreate: the rollback puts the drifted table and its views back' '
	sid=$(jq -r .safety_snapshot d1.json) &&
	vault cat "$sid" db/schema.sql >safety.sql &&
	grep -q "^CREATE VIEW public.active_todos" safety.sql &&
	grep -q "^CREATE MATERIALIZED VIEW public.todo_stats" safety.sql &&
	vault rollback --db "dbname=d1" --yes >d1.rb &&
	db_dump d1 | sort >d1.back && sort d1.before >d1.sorted &&
	test_cmp d1.sorted d1.back
'

test_expect_success 'a view made on a table that drifted: refused, naming it, nothing changed' '
	db_copy fx u1 &&
	db_psql u1 -c "ALTER TABLE public.todos ADD COLUMN extra integer;
		CREATE VIEW public.my_view AS SELECT id, extra FROM public.todos;" &&
	db_dump u1 >u1.before &&
	test_must_fail_with 1 "clean mode would drop view public\.my_view, which depends on public\.todos \(drifted: column extra added\) and is not in the snapshot" \
		vault restore "$(cat snapid)" --db "dbname=u1" --table public.todos --mode clean --yes &&
	! grep -q "active_todos" "$TEST_TMP/.stderr" &&
	db_dump u1 >u1.after && test_cmp u1.before u1.after
'

test_expect_success '--drop-dependent-views drops it, and needs --mode clean' '
	test_must_fail_with 2 "only applies to --mode clean" \
		vault restore "$(cat snapid)" --db "dbname=u1" --table public.todos --drop-dependent-views &&
	vault restore "$(cat snapid)" --db "dbname=u1" --table public.todos --mode clean \
		--drop-dependent-views --dry-run >u1.plan &&
	grep "^  drop view public.my_view, which depends on public.todos (not in the snapshot: --drop-dependent-views)\$" u1.plan &&
	vault restore "$(cat snapid)" --db "dbname=u1" --table public.todos --mode clean \
		--drop-dependent-views --yes >u1.out &&
	test "$(db_psql u1 -c "SELECT count(*) FROM pg_class WHERE relname = '"'"'my_view'"'"'")" = 0 &&
	db_dump fx --schema-only >fx.schema && db_dump u1 --schema-only >u1.schema &&
	test_cmp fx.schema u1.schema
'

test_expect_success 'a reload breaking a key of an unselected table: refused, nothing changed' '
	db_copy fx k1 &&
	db_psql k1 -c "INSERT INTO \"Sales & Ops\".\"Orders\" VALUES (3, '"'"'target only'"'"', 5, NULL);
		INSERT INTO \"Sales & Ops\".lines VALUES (3, 1, '"'"'SKU-3'"'"');" &&
	db_dump k1 >k1.before &&
	vault restore "$(cat snapid)" --db "dbname=k1" --table "Sales & Ops.Orders" --mode clean \
		--dry-run >k1.plan &&
	grep "Orders: snapshot 2 rows, target 3 rows; reload (definition matches)" k1.plan &&
	grep "^Foreign key lines_order_no_fkey on Sales & Ops.lines (not selected) is dropped and re-added" k1.plan &&
	test_must_fail_with 1 "foreign key lines_order_no_fkey of table Sales & Ops.lines \(not selected\) references rows of Sales & Ops.Orders that the restore would remove: \(order_no\)=\(3\)" \
		vault restore "$(cat snapid)" --db "dbname=k1" --table "Sales & Ops.Orders" --mode clean --yes &&
	db_dump k1 >k1.after && test_cmp k1.before k1.after
'

# objects other than tables: kept when pg_dump writes them as the
# snapshot holds them, recreated when not
test_expect_success 'objects: the unchanged ones kept; a changed function, view and domain recreated' '
	db_copy fx o1 &&
	db_psql o1 -c "CREATE OR REPLACE FUNCTION public.touch_updated_at() RETURNS trigger
			LANGUAGE plpgsql AS \$\$ BEGIN RETURN NEW; END \$\$;
		CREATE OR REPLACE VIEW public.active_todos AS
			SELECT id, user_id, task FROM public.todos WHERE is_complete;
		ALTER DOMAIN public.email DROP CONSTRAINT email_check;
		ALTER DOMAIN public.email ADD CONSTRAINT email_check CHECK (VALUE ~ '"'"'@'"'"');" &&
	vault restore "$(cat snapid)" --db "dbname=o1" --mode clean --dry-run >o1.plan &&
	grep "^  replace  FUNCTION public.touch_updated_at(): definition differs from the snapshot'"'"'s\$" o1.plan &&
	grep "^  recreate VIEW public.active_todos: definition differs from the snapshot'"'"'s\$" o1.plan &&
	grep "^  recreate DOMAIN public.email: definition differs from the snapshot'"'"'s\$" o1.plan &&
	grep "^  public.profiles: .*; recreate (uses type public.email, which the restore recreates)\$" o1.plan &&
	vault restore "$(cat snapid)" --db "dbname=o1" --mode clean --dry-run --json >o1.json &&
	json_ok ".conflicts == [] and ([.objects[] | select(.schema == \"public\" and .name == \"mood\")
		| .action == \"keep\" and .reason == \"definition matches\"] == [true])
		and ([.objects[] | select(.name == \"handle_new_user()\") | .action] == [\"keep\"])" o1.json &&
	vault restore "$(cat snapid)" --db "dbname=o1" --mode clean --yes >o1.out &&
	db_dump fx --schema-only >fx.schema && db_dump o1 --schema-only >o1.schema &&
	test_cmp fx.schema o1.schema &&
	rows o1 public.profiles >o1.profiles && rows fx public.profiles >fx.profiles &&
	test_cmp fx.profiles o1.profiles
'

test_expect_success 'objects: a changed type whose drop would take a column made since: refused alike, nothing changed' '
	db_copy fx o2 &&
	db_psql o2 -c "ALTER TYPE public.mood ADD VALUE '"'"'angry'"'"'" &&
	db_psql o2 -c "CREATE TABLE public.moods_since (m public.mood); INSERT INTO public.moods_since VALUES ('"'"'sad'"'"')" &&
	db_dump o2 >o2.before &&
	why="clean mode would drop TYPE public\.mood \(definition differs from the snapshot.s\), and DROP \.\.\. CASCADE would take column m of table public\.moods_since along, which the restore does not recreate" &&
	test_must_fail_with 1 "$why" \
		vault restore "$(cat snapid)" --db "dbname=o2" --mode clean --dry-run &&
	test_must_fail_with 1 "$why" \
		vault restore "$(cat snapid)" --db "dbname=o2" --mode clean --yes &&
	db_dump o2 >o2.after && test_cmp o2.before o2.after
'

test_done

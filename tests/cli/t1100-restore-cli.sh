#!/bin/bash
# vault restore / rollback / restores end to end, against the harness's
# throwaway cluster and the Supabase-shaped fixture: a full restore into
# an empty database, a dry run and a refusal that change nothing, one
# table in clean mode into a drifted copy (and its rollback, byte for
# byte), merge with and without --on-conflict update, a trigger that
# fails the restore part-way (target unchanged), and the restore logs
# listed by `vault restores`.
. "$(dirname "$0")/../test-lib.sh"
. "$VAULT_SRCDIR/tests/db-lib.sh"

db_start
new_repo --encryption repokey

# A table's rows, ordered, as COPY text.
rows() {
	db_psql "$1" -c "COPY (SELECT * FROM $2 ORDER BY 1) TO STDOUT"
}

test_expect_success 'a snapshot of the fixture' '
	db_fixture fx &&
	vault snapshot --db "dbname=fx" >snap.out &&
	vault list --json | jq -r ".[0].id" >snapid && test -s snapid
'

test_expect_success 'full restore into an empty database: schema and data identical' '
	db_create e1 &&
	vault restore "$(cat snapid)" --db "dbname=e1" --json >full.json &&
	jq -e ".status == \"ok\" and .mode == \"empty\" and .verification == \"ok\"
		and (.tables | length) > 10 and .safety_snapshot == null" full.json &&
	db_dump fx --schema-only >fx.schema && db_dump e1 --schema-only >e1.schema &&
	test_cmp fx.schema e1.schema &&
	db_dump fx --data-only --no-blobs | sort >fx.data &&
	db_dump e1 --data-only --no-blobs | sort >e1.data &&
	test_cmp fx.data e1.data
'

test_expect_success 'full restore: large object 424242 comes back byte for byte' '
	db_psql fx -Atc "SELECT encode(lo_get(424242), '"'"'hex'"'"')" >fx.lo &&
	db_psql e1 -Atc "SELECT encode(lo_get(424242), '"'"'hex'"'"')" >e1.lo &&
	test -s fx.lo && test_cmp fx.lo e1.lo &&
	jq -e ".large_objects == {\"created\": 1, \"kept\": 0, \"verified\": 1}
		and .large_objects_created == [424242]" full.json
'

test_expect_success 'a drifted copy' '
	db_copy fx d1 &&
	db_psql d1 -c "DELETE FROM public.profiles WHERE username LIKE '"'"'%3%'"'"';
		UPDATE public.profiles SET bio = '"'"'drifted'"'"';
		ALTER TABLE public.profiles ADD COLUMN extra integer DEFAULT 7;
		UPDATE public.todos SET task = task || '"'"'x'"'"';" &&
	db_dump d1 >d1.before &&
	db_copy d1 d1.orig
'

test_expect_success 'dry run prints the plan and changes nothing' '
	vault restore "$(cat snapid)" --db "dbname=d1" --table public.profiles --mode clean \
		--dry-run >dry.out &&
	grep -q "profiles" dry.out && grep -qi "dry run" dry.out &&
	db_dump d1 >d1.after && test_cmp d1.before d1.after &&
	vault restore "$(cat snapid)" --db "dbname=d1" --table public.profiles --mode clean \
		--dry-run --json >dry.json && jq -e . dry.json >/dev/null
'

test_expect_success 'clean mode without --yes in a script is refused, nothing changes' '
	test_must_fail_with 2 "pass --yes" vault restore "$(cat snapid)" --db "dbname=d1" \
		--table public.profiles --mode clean &&
	db_dump d1 >d1.after && test_cmp d1.before d1.after
'

# the plan an empty-mode restore shows is the one its transaction built:
# printed before the refusal, and a refused plan keeps no log
test_expect_success 'empty mode into a non-empty database lists the conflicts' '
	vault restores --json | jq length >nlogs.before &&
	test_must_fail_with 1 "the restore cannot start, nothing was changed" \
		vault restore "$(cat snapid)" --db "dbname=d1" --table public.profiles &&
	test_grep "^Snapshot " "$TEST_TMP/.stdout" &&
	vault restores --json | jq length >nlogs.after &&
	test_cmp nlogs.before nlogs.after &&
	db_dump d1 >d1.after && test_cmp d1.before d1.after
'

test_expect_success 'clean mode, one table: equal to the snapshot, the rest untouched' '
	rows d1 public.profiles >profiles.drifted &&
	vault restore "$(cat snapid)" --db "dbname=d1" --table public.profiles --mode clean \
		--yes --json >clean.json &&
	jq -e ".status == \"ok\" and .mode == \"clean\" and .verification == \"ok\"
		and (.safety_snapshot | length) == 64
		and ([.tables[].name] == [\"profiles\"])" clean.json &&
	rows fx public.profiles >profiles.fx && rows d1 public.profiles >profiles.now &&
	test_cmp profiles.fx profiles.now &&
	grep -q "drifted" profiles.drifted && ! grep -q "drifted" profiles.now &&
	db_dump d1 --exclude-table=public.profiles >d1.rest &&
	db_dump d1.orig --exclude-table=public.profiles >d1.rest0 &&
	test_cmp d1.rest0 d1.rest
'

test_expect_success 'the safety snapshot is in the repository, tagged safety' '
	sid=$(jq -r .safety_snapshot clean.json) &&
	vault list --json | jq -e --arg id "$sid" \
		"map(select(.id == \$id and (.tags | index(\"safety\")))) | length == 1"
'

test_expect_success 'latest (and --at) skip the safety snapshot; the plan names the pick' '
	sid=$(jq -r .safety_snapshot clean.json) &&
	test "$(vault list --json | jq -r ".[-1].id")" = "$sid" &&
	vault restore latest --db "dbname=d1" --table public.profiles --mode clean \
		--dry-run >latest.out &&
	grep "^Snapshot $(cat snapid) (latest, safety snapshots skipped)" latest.out &&
	! grep -q "$sid" latest.out &&
	vault restore --at "2999-01-01" --db "dbname=d1" --table public.profiles \
		--mode clean --dry-run >at.out &&
	grep "^Snapshot $(cat snapid) (the newest at or before --at" at.out &&
	vault restore "$sid" --db "dbname=d1" --table public.profiles --mode clean \
		--dry-run >byid.out &&
	grep "^Snapshot $sid\$" byid.out
'

test_expect_success 'rollback brings the table back byte for byte' '
	test_must_fail_with 2 "rollback changes database .d1.: pass --yes" \
		vault rollback --db "dbname=d1" &&
	vault rollback --db "dbname=d1" --yes >rb.out &&
	rows d1 public.profiles >profiles.back &&
	test_cmp profiles.drifted profiles.back &&
	db_dump d1 | grep -v "^ALTER PUBLICATION" | sort >d1.back &&
	grep -v "^ALTER PUBLICATION" d1.before | sort >d1.sorted &&
	test_cmp d1.sorted d1.back
'

# The safety snapshot is a table-filtered capture, which pg_dump leaves
# publication memberships out of: the clean restore the rollback is
# puts them back itself.
test_expect_success 'rollback keeps the table in its publication' '
	grep "^ALTER PUBLICATION.*public.profiles" d1.before &&
	db_dump d1 | grep "^ALTER PUBLICATION.*public.profiles" &&
	db_dump d1 | sort >d1.back2 && sort d1.before >d1.sorted2 &&
	test_cmp d1.sorted2 d1.back2
'

test_expect_success 'rollback drops the tables the restore created' '
	db_copy fx d4 &&
	db_psql d4 -c "DROP TABLE public.todos CASCADE" &&
	db_dump d4 | sort >d4.before &&
	vault restore "$(cat snapid)" --db "dbname=d4" --table public.profiles \
		--table public.todos --mode clean --yes --json >created.json &&
	jq -e "[.tables[] | select(.created) | .name] == [\"todos\"]" created.json &&
	test "$(db_psql d4 -c "select count(*) from public.todos")" = \
		"$(db_psql fx -c "select count(*) from public.todos")" &&
	vault rollback --db "dbname=d4" --dry-run >rb4.plan &&
	grep "drop public.todos (the restore created it)" rb4.plan &&
	vault rollback --db "dbname=d4" --yes --json >rb4.json &&
	jq -e ".status == \"ok\" and ([.tables[] | select(.load == \"drop\") | .name] == [\"todos\"])" rb4.json &&
	db_dump d4 | sort >d4.after &&
	test_cmp d4.before d4.after
'

# A database of one table and one large object: a merge restore of its
# data (large objects are not selected with --table) and its rollback.
test_expect_success 'merge creates a missing large object; rollback unlinks it' '
	db_create lo1 &&
	db_psql lo1 -c "CREATE TABLE public.t (id integer PRIMARY KEY);
		INSERT INTO public.t VALUES (1), (2);
		SELECT lo_from_bytea(777, '"'"'seven'"'"')" >/dev/null &&
	vault snapshot --db "dbname=lo1" --tag lo1 >/dev/null &&
	vault list --json | jq -r "map(select(.tags | index(\"lo1\"))) | .[0].id" >lo1id &&
	db_psql lo1 -c "SELECT lo_unlink(777)" >/dev/null &&
	vault restore "$(cat lo1id)" --db "dbname=lo1" --only data --mode merge \
		--dry-run >lo1.plan &&
	grep "^Large objects: 1 to create, 0 kept" lo1.plan &&
	vault restore "$(cat lo1id)" --db "dbname=lo1" --only data --mode merge \
		--yes --json >lo1.json &&
	jq -e ".status == \"ok\" and .large_objects.created == 1
		and .large_objects.verified == 1 and .large_objects_created == [777]" lo1.json &&
	test "$(db_psql lo1 -c "SELECT convert_from(lo_get(777), '"'"'UTF8'"'"')")" = seven &&
	vault rollback --db "dbname=lo1" --dry-run >rb.lo1 &&
	grep "unlink large object 777 (the restore created it)" rb.lo1 &&
	vault rollback --db "dbname=lo1" --yes --json >rb1.json &&
	jq -e ".status == \"ok\" and .large_objects.unlinked == 1" rb1.json &&
	test "$(db_psql lo1 -c "SELECT count(*) FROM pg_largeobject_metadata")" = 0 &&
	test "$(db_psql lo1 -c "SELECT count(*) FROM public.t")" = 2
'

# Two restores back to back (usually within one second): their ids must
# still increase, and rollback must undo the second one.
test_expect_success 'back-to-back restores: ids increase, rollback takes the newer' '
	db_copy fx d5 &&
	vault restore "$(cat snapid)" --db "dbname=d5" --table public.profiles \
		--mode clean --yes >bb1.out &&
	db_psql d5 -c "UPDATE public.profiles SET bio = '"'"'between'"'"'" &&
	rows d5 public.profiles >bb.between &&
	vault restore "$(cat snapid)" --db "dbname=d5" --table public.profiles \
		--mode clean --yes >bb2.out &&
	id1=$(sed -n "s/^restore \([^:]*\):.*/\1/p" bb1.out) &&
	id2=$(sed -n "s/^restore \([^:]*\):.*/\1/p" bb2.out) &&
	test -n "$id1" && test -n "$id2" &&
	[[ $id1 < $id2 ]] &&
	vault restores >bb.list &&
	grep -n "$id1" bb.list && grep -n "$id2" bb.list &&
	test "$(grep -n "$id1" bb.list | cut -d: -f1)" -lt \
		"$(grep -n "$id2" bb.list | cut -d: -f1)" &&
	vault rollback --db "dbname=d5" --yes >bb.rb &&
	rows d5 public.profiles >bb.after &&
	test_cmp bb.between bb.after
'

test_expect_success 'merge adds missing rows and keeps existing ones' '
	db_copy fx d2 &&
	db_psql d2 -c "DELETE FROM public.todos WHERE id > 5;
		UPDATE public.todos SET task = '"'"'mine'"'"' WHERE id = 2;" &&
	vault restore "$(cat snapid)" --db "dbname=d2" --table public.todos --mode merge \
		--yes --json >merge.json &&
	jq -e ".status == \"ok\" and .tables[0].inserted > 0" merge.json &&
	test "$(db_psql d2 -c "select count(*) from public.todos")" = \
		"$(db_psql fx -c "select count(*) from public.todos")" &&
	test "$(db_psql d2 -c "select task from public.todos where id = 2")" = mine
'

test_expect_success 'merge --on-conflict update overwrites them' '
	vault restore "$(cat snapid)" --db "dbname=d2" --table public.todos --mode merge \
		--on-conflict update --yes >/dev/null &&
	rows fx public.todos >t.fx && rows d2 public.todos >t.d2 && test_cmp t.fx t.d2
'

test_expect_success 'a trigger that raises part-way: the target is unchanged' '
	db_copy fx d3 &&
	db_psql d3 -c "DELETE FROM public.todos WHERE id <= 10;
		CREATE FUNCTION public.no_five() RETURNS trigger LANGUAGE plpgsql AS
		\$\$ BEGIN IF NEW.id = 5 THEN RAISE EXCEPTION '"'"'no row five'"'"'; END IF; RETURN NEW; END \$\$;
		CREATE TRIGGER no_five BEFORE INSERT ON public.todos FOR EACH ROW
		EXECUTE FUNCTION public.no_five();" &&
	db_dump d3 >d3.before &&
	test_must_fail_with 1 "no row five" vault restore "$(cat snapid)" --db "dbname=d3" \
		--table public.todos --mode merge --yes &&
	db_dump d3 >d3.after && test_cmp d3.before d3.after
'

test_expect_success '--jobs 2: the plan says the rows load in parallel' '
	db_create p1 &&
	vault restore "$(cat snapid)" --db "dbname=p1" --jobs 2 --dry-run >pdry.out &&
	grep -q "^Strategy: parallel" pdry.out &&
	vault restore "$(cat snapid)" --db "dbname=d1" --table public.profiles --mode clean \
		--jobs 2 --dry-run >pdry2.out &&
	grep -q "^Strategy: one transaction" pdry2.out &&
	grep -q "jobs 2: the rows load over one connection, in one transaction: a clean or merge" pdry2.out
'

test_expect_success '--jobs 2: full restore into an empty database, identical' '
	vault restore "$(cat snapid)" --db "dbname=p1" --jobs 2 --json >par.json &&
	jq -e ".status == \"ok\" and .verification == \"ok\" and .undo == null
		and (.strategy | startswith(\"parallel\"))
		and all(.tables[]; .verified == true or .load == null)" par.json &&
	db_dump p1 --schema-only >p1.schema && test_cmp fx.schema p1.schema &&
	db_dump p1 --data-only --no-blobs | sort >p1.data && test_cmp fx.data p1.data
'

# The rows of a parallel restore commit before its last transaction: a
# failure there (an event trigger refusing new indexes) must undo them.
test_expect_success '--jobs 2: a failure past the first commit is undone' '
	db_create p2 &&
	db_psql p2 -c "CREATE FUNCTION public.no_index() RETURNS event_trigger
		LANGUAGE plpgsql AS \$\$ BEGIN IF EXISTS (SELECT 1 FROM
		pg_event_trigger_ddl_commands() WHERE command_tag = '"'"'CREATE INDEX'"'"')
		THEN RAISE EXCEPTION '"'"'no new indexes'"'"'; END IF; END \$\$;
		CREATE EVENT TRIGGER no_index ON ddl_command_end
		EXECUTE FUNCTION public.no_index();" &&
	db_dump p2 >p2.before &&
	test_must_fail_with 1 "left unchanged .the rows loaded in parallel were dropped again" \
		vault restore "$(cat snapid)" --db "dbname=p2" --jobs 2 &&
	grep -q "no new indexes" "$TEST_TMP/.stderr" &&
	db_dump p2 >p2.after && test_cmp p2.before p2.after &&
	vault restores --json >plist.json &&
	jq -e "map(select(.undo != null)) | length == 1 and (.[0].undo | startswith(\"ok\"))
		and .[0].status == \"failed\"" plist.json
'

# An empty-mode restore keeps in its log the statements that drop what
# it created; rollback runs them unless something else depends on it.
test_expect_success 'rollback of an empty restore: refused while a view of ours depends on it' '
	db_create r1 &&
	db_dump r1 >r1.empty &&
	vault restore "$(cat snapid)" --db "dbname=r1" --jobs 2 --json >r1.json &&
	jq -e ".status == \"ok\" and (.rollback.statements | length) > 10
		and (.rollback.created | length) > 100" r1.json &&
	db_psql r1 -c "CREATE VIEW public.mine AS SELECT id FROM public.todos" &&
	db_dump r1 >r1.before &&
	test_must_fail_with 1 "depend on what it created: view public.mine would be dropped too" \
		vault rollback --db "dbname=r1" --yes &&
	db_dump r1 >r1.after && test_cmp r1.before r1.after
'

test_expect_success 'rollback of an empty restore: everything it created goes, once' '
	db_psql r1 -c "DROP VIEW public.mine" &&
	vault rollback --db "dbname=r1" --dry-run >rb.dry &&
	grep -q "DROP TABLE IF EXISTS public.todos CASCADE" rb.dry &&
	grep -q "unlink large object 424242" rb.dry &&
	vault rollback --db "dbname=r1" --yes --json >rb.json &&
	jq -e ".status == \"ok\" and .mode == \"rollback\" and .rollback_of != null
		and .large_objects.unlinked == 1" rb.json &&
	db_dump r1 >r1.gone && test_cmp r1.empty r1.gone &&
	test "$(db_psql r1 -c "SELECT count(*) FROM pg_largeobject_metadata")" = 0 &&
	test_must_fail_with 1 "was rolled back already" vault rollback --db "dbname=r1" --yes
'

test_expect_success 'vault restores lists every restore, the failed one too' '
	vault restores >list.out &&
	test "$(grep -c " ok " list.out)" -ge 4 &&
	grep -q " failed " list.out &&
	! grep -q "password" list.out &&
	vault restores --json >list.json &&
	jq -e "length >= 6 and ([.[].status] | index(\"failed\"))
		and all(.[]; .id and .started and .target)" list.json
'

test_expect_success 'vault restores says what each was: restore or rollback, of what' '
	vault restores >kinds.out &&
	grep -q "^ID  *KIND  *STARTED" kinds.out &&
	grep -q " db-restore  " kinds.out &&
	grep -q " db-rollback  " kinds.out &&
	rb=$(vault restores --json | jq -r "[.[] | select(.rollback_of != null)][0].id") &&
	grep "^$rb " kinds.out | grep -q " db-rollback "
'

test_expect_success 'vault restores ID shows that log whole, by id or unique prefix' '
	id=$(vault restores --json | jq -r ".[0].id") &&
	vault restores "$id" >one.out &&
	jq -e --arg id "$id" ".id == \$id" one.out &&
	vault restores --json "$id" | jq -e --arg id "$id" "length == 1 and .[0].id == \$id" &&
	vault restores "${id%?????}" >prefix.out 2>prefix.err ||
		grep -q "ambiguous" prefix.err &&
	test_must_fail_with 1 "no restore .nope." vault restores nope &&
	test_must_fail_with 2 "is not a restore id" vault restores "a b"
'

test_expect_success 'restore logs are encrypted at rest' '
	ls "$VAULT_REPO"/restores/*.json >files && test -s files &&
	! grep -l "todos" $(cat files)
'

# data.sql streams from the repository into COPY: a ~200 MB table
# restores within a memory cap far below its size.
test_expect_success 'a table much larger than the memory cap restores in bounded memory' '
	db_create big &&
	db_psql big -c "CREATE TABLE public.big (id integer PRIMARY KEY, pad text);
		INSERT INTO public.big SELECT g, repeat('"'"'x'"'"', 200)
		FROM generate_series(1, 1000000) g" &&
	vault snapshot --db "dbname=big" --tag big >/dev/null &&
	vault list --json | jq -r "map(select(.tags | index(\"big\"))) | .[0].id" >bigid &&
	db_create big2 &&
	/usr/bin/time -f %M -o big.rss "$VAULT" restore "$(cat bigid)" --db "dbname=big2" \
		--json >big.json &&
	jq -e ".status == \"ok\" and .verification == \"ok\"" big.json &&
	test "$(db_psql big2 -c "select count(*) from public.big")" = 1000000 &&
	rss=$(tail -n 1 big.rss) && echo "peak RSS ${rss} KiB" &&
	test "$rss" -lt 65536
'

test_done

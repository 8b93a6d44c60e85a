#!/bin/bash
# vault restore into the targets that need more than plain DDL and COPY,
# end to end: tables in a foreign-key cycle kept and reloaded (clean
# mode, data only), loaded with session_replication_role = replica when
# the keys are not deferrable (and vault checking the keys itself before
# the commit), deferred when they are, refused for a role that may not
# set replica mode; and a managed (Supabase-like) target where auth and
# storage belong to the platform: their DDL is kept, their rows land,
# every statement skipped is logged with its reason.
. "$(dirname "$0")/../test-lib.sh"
. "$VAULT_SRCDIR/tests/db-lib.sh"

db_start
new_repo --encryption repokey

# A table's rows, as sorted COPY text.
rows() {
	db_psql "$1" -c "COPY (SELECT * FROM $2) TO STDOUT" | LC_ALL=C sort
}
# The id of the newest snapshot tagged $1.
snap_tagged() {
	vault list --json | jq -er --arg t "$1" \
		'map(select(.tags | index($t))) | .[-1].id'
}
# The rows of both tables of the cycle and of their parent d.
cycle_rows() {
	rows "$1" public.a && rows "$1" public.b && rows "$1" public.d
}

# a and b reference each other (a.b_id -> b, b.a_id -> a); a also
# references d, which no restore below selects.  $2 is appended to the
# two keys of the cycle ("" or " DEFERRABLE").
cycle_db() {
	db_create "$1" &&
	db_psql "$1" -c "
		CREATE TABLE public.d (id integer PRIMARY KEY, label text);
		CREATE TABLE public.a (id integer PRIMARY KEY, b_id integer,
			d_id integer CONSTRAINT a_d_fkey REFERENCES public.d, note text);
		CREATE TABLE public.b (id integer PRIMARY KEY, a_id integer NOT NULL
			CONSTRAINT b_a_fkey REFERENCES public.a$2, note text);
		ALTER TABLE public.a ADD CONSTRAINT a_b_fkey FOREIGN KEY (b_id)
			REFERENCES public.b$2;
		INSERT INTO public.d SELECT g, 'd' || g FROM generate_series(1, 5) g;
		INSERT INTO public.a SELECT g, NULL, g % 5 + 1, 'a' || g
			FROM generate_series(1, 20) g;
		INSERT INTO public.b SELECT g, g, 'b' || g FROM generate_series(1, 20) g;
		UPDATE public.a SET b_id = id;"
}
# Drift the rows (not the DDL) of a and b: edits, deletions, additions.
cycle_drift() {
	db_psql "$1" -c "
		UPDATE public.a SET note = 'drifted' WHERE id % 2 = 0;
		UPDATE public.a SET b_id = NULL WHERE id > 15;
		DELETE FROM public.b WHERE id > 15;
		DELETE FROM public.a WHERE id > 15;
		INSERT INTO public.a VALUES (100, NULL, 1, 'new');
		INSERT INTO public.b VALUES (100, 100, 'new');
		UPDATE public.a SET b_id = 100 WHERE id = 100;"
}

RESTORE_AB="--only data --table public.a --table public.b --mode clean"

test_expect_success 'snapshots of a non-deferrable and a deferrable foreign-key cycle' '
	cycle_db cy "" &&
	vault snapshot --db "dbname=cy" --tag cycle >/dev/null &&
	snap_tagged cycle >cyid &&
	cycle_db cyd " DEFERRABLE" &&
	vault snapshot --db "dbname=cyd" --tag dcycle >/dev/null &&
	snap_tagged dcycle >cydid &&
	test "$(cat cyid)" != "$(cat cydid)" &&
	cycle_rows cy >cy.rows && cycle_rows cyd >cyd.rows
'

test_expect_success 'clean, kept tables, keys not deferrable: the plan loads with replica' '
	db_copy cy c1 && cycle_drift c1 &&
	cycle_rows c1 >c1.drifted && ! test_cmp cy.rows c1.drifted &&
	db_dump c1 >c1.before &&
	vault restore "$(cat cyid)" --db "dbname=c1" $RESTORE_AB --dry-run --json >c1.plan &&
	json_ok ".replica == true and (.cycles | length) == 1
		and (.cycles[0] | test(\"public.a\") and test(\"public.b\"))
		and ([.tables[] | select(.name == \"a\" or .name == \"b\") | .load] == [\"truncate+copy\", \"truncate+copy\"])
		and .conflicts == []" c1.plan &&
	vault restore "$(cat cyid)" --db "dbname=c1" $RESTORE_AB --dry-run >c1.plan.txt &&
	grep "^Foreign-key cycle: .*(loaded with session_replication_role = replica, keys checked before commit)" c1.plan.txt &&
	db_dump c1 >c1.after && test_cmp c1.before c1.after
'

test_expect_success 'clean, kept tables, keys not deferrable: restored, rows as in the snapshot' '
	vault restore "$(cat cyid)" --db "dbname=c1" $RESTORE_AB --yes --json >c1.json &&
	json_ok ".status == \"ok\" and .mode == \"clean\" and .verification == \"ok\"
		and ([.tables[].name] | sort == [\"a\", \"b\"])" c1.json &&
	cycle_rows c1 >c1.rows && test_cmp cy.rows c1.rows &&
	test "$(db_psql c1 -c "SHOW session_replication_role")" = origin &&
	test "$(db_psql c1 -c "SELECT count(*) FROM pg_constraint
		WHERE conrelid IN ('"'"'public.a'"'"'::regclass, '"'"'public.b'"'"'::regclass)
		AND contype = '"'"'f'"'"'")" = 3
'

test_expect_success 'clean, keys deferrable: no replica, restored' '
	db_copy cyd c2 && cycle_drift c2 &&
	vault restore "$(cat cydid)" --db "dbname=c2" $RESTORE_AB --dry-run --json >c2.plan &&
	json_ok ".replica == false and (.cycles | length) == 1 and .conflicts == []" c2.plan &&
	vault restore "$(cat cydid)" --db "dbname=c2" $RESTORE_AB --dry-run >c2.plan.txt &&
	grep "^Foreign-key cycle: .*(keys deferred or created after the rows)" c2.plan.txt &&
	! grep -q session_replication_role c2.plan.txt &&
	vault restore "$(cat cydid)" --db "dbname=c2" $RESTORE_AB --yes --json >c2.json &&
	json_ok ".status == \"ok\" and .verification == \"ok\"" c2.json &&
	cycle_rows c2 >c2.rows && test_cmp cyd.rows c2.rows
'

test_expect_success 'merge into the cycle also loads with replica, adds the missing rows' '
	db_copy cy c3 && cycle_drift c3 &&
	vault restore "$(cat cyid)" --db "dbname=c3" --table public.a --table public.b \
		--mode merge --dry-run --json >c3.plan &&
	json_ok ".replica == true" c3.plan &&
	vault restore "$(cat cyid)" --db "dbname=c3" --table public.a --table public.b \
		--mode merge --on-conflict update --yes --json >c3.json &&
	json_ok ".status == \"ok\"" c3.json &&
	rows cy public.a >a.cy && rows c3 public.a | grep -v "^100	" >a.c3 &&
	test_cmp a.cy a.c3 &&
	rows cy public.b >b.cy && rows c3 public.b | grep -v "^100	" >b.c3 &&
	test_cmp b.cy b.c3 &&
	test "$(db_psql c3 -c "SELECT note FROM public.a WHERE id = 100")" = new
'

# Under replica the server checks no keys while rows load: a row of a
# pointing at a d row the target lacks must be caught by vault's own
# check, and the whole restore rolled back.
test_expect_success 'replica load breaking a key (a -> d): refused, names key and rows, target unchanged' '
	db_copy cy c4 &&
	db_psql c4 -c "UPDATE public.a SET b_id = NULL WHERE d_id = 3;
		DELETE FROM public.b WHERE a_id IN (SELECT id FROM public.a WHERE d_id = 3);
		DELETE FROM public.a WHERE d_id = 3;
		DELETE FROM public.d WHERE id = 3;" &&
	vault restore "$(cat cyid)" --db "dbname=c4" $RESTORE_AB --dry-run --json >c4.plan &&
	json_ok ".replica == true and .conflicts == []" c4.plan &&
	db_dump c4 >c4.before &&
	test_must_fail_with 1 "foreign key a_d_fkey of public\.a: rows without a match in public\.d after the load: \(d_id\)=\(3\)" \
		vault restore "$(cat cyid)" --db "dbname=c4" $RESTORE_AB --yes &&
	test "$(grep -o "(d_id)=(3)" "$TEST_TMP/.stderr" | wc -l)" = 1 &&
	db_dump c4 >c4.after && test_cmp c4.before c4.after &&
	test "$(db_psql c4 -c "SELECT count(*) FROM public.a WHERE d_id = 3")" = 0
'

# One table of the cycle: no cycle among the loaded tables, so no
# replica; b, not selected, points at a, which is emptied (its key is
# dropped and re-added), and a's own key to b is live while a loads: the
# server refuses the rows b lacks, naming key and row.
test_expect_success 'one table of the cycle whose unselected partner lacks rows: refused, target unchanged' '
	db_copy cy c5 &&
	db_psql c5 -c "UPDATE public.a SET b_id = NULL WHERE id > 10;
		DELETE FROM public.b WHERE id > 10" &&
	vault restore "$(cat cyid)" --db "dbname=c5" --only data --table public.a \
		--mode clean --dry-run --json >c5.plan &&
	json_ok ".replica == false and .conflicts == []
		and .foreign_keys_readded == [\"public.b b_a_fkey\"]" c5.plan &&
	db_dump c5 >c5.before &&
	test_must_fail_with 1 "a_b_fkey" vault restore "$(cat cyid)" --db "dbname=c5" \
		--only data --table public.a --mode clean --yes &&
	grep -Eq "\(b_id\)=\((1[1-9]|20)\)" "$TEST_TMP/.stderr" &&
	db_dump c5 >c5.after && test_cmp c5.before c5.after
'

test_expect_success 'a role that may not set session_replication_role: the plan refuses' '
	psql -X -q -v ON_ERROR_STOP=1 -d postgres -c "CREATE ROLE rt_plain LOGIN NOSUPERUSER" &&
	test_must_fail psql -X -q -v ON_ERROR_STOP=1 -U rt_plain -d cy \
		-c "SET session_replication_role = replica" &&
	db_copy cy c6 && cycle_drift c6 &&
	db_psql c6 -c "ALTER TABLE public.a OWNER TO rt_plain;
		ALTER TABLE public.b OWNER TO rt_plain; ALTER TABLE public.d OWNER TO rt_plain" &&
	db_dump c6 >c6.before &&
	test_must_fail_with 1 "cannot start" vault restore "$(cat cyid)" \
		--db "dbname=c6 user=rt_plain" $RESTORE_AB --dry-run --json &&
	cp "$TEST_TMP/.stdout" c6.plan &&
	json_ok ".superuser == false and .replica == false
		and any(.conflicts[]; test(\"^foreign-key cycle .*public.a.* has keys that are not deferrable, and the role rt_plain may not set session_replication_role\"))" c6.plan &&
	test_must_fail_with 1 "cannot start" \
		vault restore "$(cat cyid)" --db "dbname=c6 user=rt_plain" $RESTORE_AB --yes &&
	grep -q "cannot start, nothing was changed" "$TEST_TMP/.stderr" &&
	grep -q "has keys that are not deferrable, and the role rt_plain may not set session_replication_role" "$TEST_TMP/.stderr" &&
	db_dump c6 >c6.after && test_cmp c6.before c6.after
'

test_expect_success 'the same role restores the deferrable cycle' '
	db_copy cyd c7 && cycle_drift c7 &&
	db_psql c7 -c "ALTER TABLE public.a OWNER TO rt_plain;
		ALTER TABLE public.b OWNER TO rt_plain; ALTER TABLE public.d OWNER TO rt_plain" &&
	vault restore "$(cat cydid)" --db "dbname=c7 user=rt_plain" $RESTORE_AB \
		--no-safety-snapshot --yes --json >c7.json &&
	json_ok ".status == \"ok\" and .verification == \"ok\"" c7.json &&
	cycle_rows c7 >c7.rows && test_cmp cyd.rows c7.rows
'

# PostgreSQL 15 lets a superuser grant SET on session_replication_role
# (Supabase's postgres role may set it too): such a role is "allowed to
# set it", and loads with replica like a superuser.
test_expect_success 'a non-superuser granted SET on session_replication_role loads with replica' '
	psql -X -q -v ON_ERROR_STOP=1 -d postgres -c "CREATE ROLE rt_setter LOGIN NOSUPERUSER;
		GRANT SET ON PARAMETER session_replication_role TO rt_setter" &&
	psql -X -q -v ON_ERROR_STOP=1 -U rt_setter -d cy \
		-c "SET session_replication_role = replica" &&
	db_copy cy c8 && cycle_drift c8 &&
	db_psql c8 -c "ALTER TABLE public.a OWNER TO rt_setter;
		ALTER TABLE public.b OWNER TO rt_setter; ALTER TABLE public.d OWNER TO rt_setter" &&
	vault restore "$(cat cyid)" --db "dbname=c8 user=rt_setter" $RESTORE_AB \
		--dry-run --json >c8.plan &&
	json_ok ".superuser == false and .replica == true and .conflicts == []" c8.plan &&
	vault restore "$(cat cyid)" --db "dbname=c8 user=rt_setter" $RESTORE_AB \
		--no-safety-snapshot --yes --json >c8.json &&
	json_ok ".status == \"ok\" and .verification == \"ok\"" c8.json &&
	cycle_rows c8 >c8.rows && test_cmp cy.rows c8.rows
'

# --jobs 2 needs a second connection before anything commits: a role
# limited to one connection restores in one transaction instead, and the
# log says why.  (rt_one is a member of postgres, which owns the
# snapshot's tables: superusers ignore connection limits.)
test_expect_success '--jobs 2 with one connection allowed: one transaction, and why' '
	psql -X -q -v ON_ERROR_STOP=1 -d postgres \
		-c "CREATE ROLE rt_one LOGIN NOSUPERUSER CONNECTION LIMIT 1 IN ROLE postgres" &&
	psql -X -q -v ON_ERROR_STOP=1 -d postgres \
		-c "CREATE DATABASE j1 ENCODING '"'"'UTF8'"'"' TEMPLATE template0 OWNER rt_one" &&
	vault restore "$(cat cyid)" --db "dbname=j1 user=rt_one" --only schema,data \
		--jobs 2 --json >j1.json &&
	json_ok ".status == \"ok\" and .verification == \"ok\"
		and (.strategy | startswith(\"one transaction\"))
		and (.strategy | test(\"cannot open connection 2 of 2\"))" j1.json &&
	cycle_rows j1 >j1.rows && test_cmp cy.rows j1.rows
'

# A catalog the restoring role may not read: the restore still runs (in
# one transaction); only its later rollback is impossible, and the log
# says why.  (rt_two owns what it restores, and is not a member of the
# catalogs' owner.)
test_expect_success 'an unreadable catalog: restored, rollback impossible, and why' '
	psql -X -q -v ON_ERROR_STOP=1 -d postgres \
		-c "CREATE ROLE rt_two LOGIN NOSUPERUSER" \
		-c "CREATE DATABASE j2src OWNER rt_two" \
		-c "CREATE DATABASE j2 ENCODING '"'"'UTF8'"'"' TEMPLATE template0 OWNER rt_two" &&
	psql -X -q -v ON_ERROR_STOP=1 -U rt_two -d j2src \
		-c "CREATE TABLE public.t (id integer PRIMARY KEY, note text);
		    INSERT INTO public.t SELECT g, md5(g::text) FROM generate_series(1, 50) g" &&
	vault snapshot --db "dbname=j2src" --tag j2 >/dev/null &&
	snap_tagged j2 >j2id &&
	db_psql j2 -c "REVOKE SELECT ON pg_catalog.pg_default_acl FROM PUBLIC" &&
	vault restore "$(cat j2id)" --db "dbname=j2 user=rt_two" --only schema,data --json >j2.json &&
	json_ok ".status == \"ok\" and .verification == \"ok\"
		and (.rollback.impossible | test(\"permission denied\"))" j2.json &&
	test "$(db_psql j2 -c "SELECT count(*) FROM public.t")" = 50 &&
	test_must_fail_with 1 "cannot be rolled back: .*permission denied" \
		vault rollback --db "dbname=j2 user=rt_two" --yes
'

# ---- a managed target ------------------------------------------------------
# The fixture's auth and storage sections, run as the platform would:
# schemas and tables owned by supabase_auth_admin / supabase_storage_admin
# (not the restoring role's), the tables empty; the restoring role may
# read and write them and bypasses RLS, like Supabase's postgres role.
managed_db() {
	psql -X -q -v ON_ERROR_STOP=1 -d postgres \
		-c "CREATE DATABASE \"$1\" ENCODING 'UTF8' TEMPLATE template0 OWNER rt_restorer" &&
	{
		echo "SET client_min_messages = error;" &&
		sed -n -e '/^-- ---- auth/,/^-- ---- public/p' \
			-e '/^-- ---- storage/,/^-- ---- supabase_migrations/p' "$FIXTURE" &&
		cat <<-\EOF
		DO $$ DECLARE t record; BEGIN
			FOR t IN SELECT n.nspname, c.relname FROM pg_class c
				JOIN pg_namespace n ON n.oid = c.relnamespace
				WHERE n.nspname IN ('auth', 'storage') AND c.relkind = 'r'
			LOOP
				EXECUTE format('ALTER TABLE %I.%I OWNER TO %I', t.nspname, t.relname,
					CASE t.nspname WHEN 'auth' THEN 'supabase_auth_admin'
					ELSE 'supabase_storage_admin' END);
			END LOOP;
		END $$;
		GRANT USAGE ON SCHEMA auth, storage TO rt_restorer;
		GRANT ALL ON ALL TABLES IN SCHEMA auth, storage TO rt_restorer;
		EOF
	} >"$TEST_TMP/managed.sql" &&
	psql -X -q -v ON_ERROR_STOP=1 -d "$1" -f "$TEST_TMP/managed.sql"
}

test_expect_success 'a fixture snapshot and a managed target (auth, storage: the platform owns them)' '
	db_fixture fx &&
	vault snapshot --db "dbname=fx" --tag fixture >/dev/null &&
	snap_tagged fixture >fxid &&
	psql -X -q -v ON_ERROR_STOP=1 -d postgres \
		-c "CREATE ROLE rt_restorer LOGIN NOSUPERUSER BYPASSRLS" &&
	managed_db m1 &&
	test "$(db_psql m1 -c "SELECT count(*) FROM auth.users")" = 0 &&
	test "$(db_psql m1 -c "SELECT count(*) FROM storage.objects")" = 0 &&
	test "$(db_psql m1 -c "SELECT pg_get_userbyid(nspowner) FROM pg_namespace
		WHERE nspname = '"'"'auth'"'"'")" = supabase_auth_admin &&
	test "$(db_psql m1 -c "SELECT pg_has_role('"'"'rt_restorer'"'"', nspowner, '"'"'MEMBER'"'"')
		FROM pg_namespace WHERE nspname = '"'"'storage'"'"'")" = f
'

test_expect_success 'the dry run against the managed target says it is managed' '
	db_dump m1 >m1.before &&
	vault restore "$(cat fxid)" --db "dbname=m1 user=rt_restorer" --dry-run >m1.plan.txt &&
	grep "^Managed target: the role rt_restorer is not a superuser and auth/storage belong to another role; DDL of auth storage kept, rows restored" m1.plan.txt &&
	grep -q "^Statements skipped on this target: [1-9]" m1.plan.txt &&
	vault restore "$(cat fxid)" --db "dbname=m1 user=rt_restorer" --dry-run --json >m1.plan &&
	json_ok ".managed == true and .superuser == false and .managed_schemas == [\"auth\", \"storage\"]
		and .skipped_statements > 0 and .conflicts == []
		and ([.tables[] | select(.schema == \"auth\" and .name == \"users\") | .ddl] == [\"managed\"])" m1.plan &&
	db_dump m1 >m1.after && test_cmp m1.before m1.after
'

test_expect_success 'restore into the managed target: rows land, auth/storage DDL kept, skips logged' '
	db_dump m1 -n auth -s >auth.before &&
	db_dump m1 -n storage -s >storage.before &&
	vault restore "$(cat fxid)" --db "dbname=m1 user=rt_restorer" --json >m1.json &&
	json_ok ".status == \"ok\" and .verification == \"ok\" and .managed_target == true" m1.json &&
	json_ok "(.skipped_statements | length) > 0
		and all(.skipped_statements[]; (.reason | type) == \"string\" and (.reason | length) > 0
			and (.statement | length) > 0 and (.where | length) > 0)
		and any(.skipped_statements[]; .reason | test(\"schema auth is managed\"))" m1.json &&
	for t in auth.users auth.identities storage.buckets storage.objects public.profiles; do
		rows fx $t >want.$t && rows m1 $t >got.$t && test -s want.$t &&
		test_cmp want.$t got.$t || return 1
	done &&
	db_dump m1 -n auth -s >auth.after && test_cmp auth.before auth.after &&
	db_dump m1 -n storage -s >storage.after && test_cmp storage.before storage.after &&
	test "$(db_psql m1 -c "SELECT count(*) FROM pg_trigger WHERE tgname = '"'"'on_auth_user_created'"'"'")" = 0
'

# The same target loaded in parallel: the platform's tables (they exist)
# load in the last transaction, the new ones over two connections; its
# rollback drops what it created and empties the platform's tables again.
test_expect_success 'a managed target with --jobs 2, then its rollback' '
	managed_db m2 &&
	db_dump m2 >m2.empty &&
	vault restore "$(cat fxid)" --db "dbname=m2 user=rt_restorer" --jobs 2 --json >m2.json &&
	json_ok ".status == \"ok\" and .verification == \"ok\" and .managed_target == true
		and (.strategy | startswith(\"parallel\"))
		and any(.rollback.statements[]; test(\"^TRUNCATE ONLY .*auth.*users\"))" m2.json &&
	for t in auth.users auth.identities storage.buckets storage.objects public.profiles; do
		rows fx $t >want.$t && rows m2 $t >got.$t && test -s want.$t &&
		test_cmp want.$t got.$t || return 1
	done &&
	vault rollback --db "dbname=m2 user=rt_restorer" --yes >m2.rb &&
	db_dump m2 >m2.after && test_cmp m2.empty m2.after &&
	test "$(db_psql m2 -c "SELECT count(*) FROM auth.users")" = 0
'

test_done

#!/bin/bash
# vault restore on what PostgreSQL's own regression database holds and
# our fixture did not: each case is one of the minimal reproducers of a
# restore that failed or lost something, and must now come back whole
# (or be refused by the plan, dry run and real run alike, before any
# change, naming what is missing and how to get it):
#   - functions taking a composite or enum argument, an aggregate of (*):
#     the existence probe no longer raises, and finds them again;
#   - a rule with several actions, a BEGIN ATOMIC function: one statement
#     each;
#   - a column grant on pg_catalog.pg_proc: restored by a superuser,
#     named as not restored for anyone else;
#   - the identity sequence of a partitioned table: its value comes back;
#   - a role setting in the source database: set in the target database;
#   - pg_dump's ALTER SCHEMA public OWNER TO: no conflict;
#   - one table whose foreign key, column type, trigger function, schema
#     or owner the target lacks: the dry run refuses, like the real run;
#   - a column of an extension's type: the extension named when the
#     restore does not create it;
#   - a table the restoring role may not read: a conflict, not an error;
#   - --jobs 2 that cannot open its second connection: the terminal says
#     why it runs in one transaction.
. "$(dirname "$0")/../test-lib.sh"
. "$VAULT_SRCDIR/tests/db-lib.sh"

db_start
new_repo --encryption none

snap_tagged() {
	vault list --json | jq -er --arg t "$1" \
		'map(select(.tags | index($t))) | .[-1].id'
}

# fresh NAME SQL: a new database NAME holding SQL, captured with tag NAME
fresh() {
	db_create "$1" && db_psql "$1" -c "$2" >/dev/null &&
	vault snapshot --db "dbname=$1" --tag "$1" >/dev/null &&
	snap_tagged "$1" >"$1.id"
}

test_expect_success 'routines on a composite and an enum, an aggregate of (*): restored, then found' '
	fresh routines "CREATE TYPE public.ct AS (a integer);
		CREATE TYPE public.mood AS ENUM ('"'"'ok'"'"', '"'"'sad'"'"');
		CREATE FUNCTION public.f(public.ct) RETURNS integer LANGUAGE sql AS '"'"'SELECT 1'"'"';
		CREATE FUNCTION public.g(m public.mood, x public.ct) RETURNS public.mood
			LANGUAGE sql AS '"'"'SELECT m'"'"';
		CREATE AGGREGATE public.cnt(*) (sfunc = int8inc, stype = int8, initcond = '"'"'0'"'"');
		CREATE FUNCTION public.eq(public.ct, integer) RETURNS boolean LANGUAGE sql
			AS '"'"'SELECT true'"'"';
		CREATE OPERATOR public.=== (LEFTARG = public.ct, RIGHTARG = integer,
			FUNCTION = public.eq);
		CREATE CAST (public.ct AS integer) WITH FUNCTION public.f(public.ct);" &&
	db_create routines2 &&
	vault restore "$(cat routines.id)" --db dbname=routines2 --yes >r.out &&
	db_dump routines --schema-only >a.schema && db_dump routines2 --schema-only >b.schema &&
	test_cmp a.schema b.schema &&
	test_must_fail_with 1 "cannot start" \
		vault restore "$(cat routines.id)" --db dbname=routines2 --dry-run &&
	for o in "FUNCTION public.f(public.ct) already exists" \
		"FUNCTION public.g(public.mood, public.ct) already exists" \
		"AGGREGATE public.cnt(*) already exists" "OPERATOR public.=== already exists" \
		"CAST (public.ct AS integer) already exists"; do
		grep -qxF "CONFLICT: $o" "$TEST_TMP/.stdout" || { echo "missing: $o" >&2; return 1; }
	done
'

test_expect_success 'a rule with several actions and a BEGIN ATOMIC body restore whole' '
	fresh bodies "CREATE TABLE public.t (a integer); CREATE TABLE public.l (a integer);
		CREATE RULE r AS ON INSERT TO public.t DO ALSO
			(INSERT INTO public.l VALUES (NEW.a); INSERT INTO public.l VALUES (NEW.a + 1));
		CREATE FUNCTION public.fa(x integer) RETURNS integer LANGUAGE sql
		BEGIN ATOMIC
			SELECT x + 1;
			SELECT CASE WHEN x > 0 THEN CASE x WHEN 1 THEN 10 ELSE 20 END ELSE 0 END;
		END;" &&
	db_create bodies2 &&
	vault restore "$(cat bodies.id)" --db dbname=bodies2 --yes >/dev/null &&
	db_psql bodies2 -c "INSERT INTO public.t VALUES (5)" &&
	test "$(db_psql bodies2 -c "SELECT string_agg(a::text, '"'"','"'"' ORDER BY a) FROM public.l")" = 5,6 &&
	test "$(db_psql bodies2 -c "SELECT public.fa(1)")" = 10 &&
	db_dump bodies --schema-only >a.schema && db_dump bodies2 --schema-only >b.schema &&
	test_cmp a.schema b.schema
'

test_expect_success 'a column grant on pg_catalog.pg_proc: restored by a superuser' '
	psql -X -q -d postgres -c "CREATE ROLE fid_r" &&
	fresh catgrant "GRANT SELECT (prosrc) ON pg_catalog.pg_proc TO fid_r;
		CREATE TABLE public.t (a integer);" &&
	db_create catgrant2 &&
	vault restore "$(cat catgrant.id)" --db dbname=catgrant2 --yes >/dev/null &&
	test "$(db_psql catgrant2 -c "SELECT attacl::text FROM pg_attribute
		WHERE attrelid = '"'"'pg_catalog.pg_proc'"'"'::regclass AND attname = '"'"'prosrc'"'"'")" = \
		"{fid_r=r/postgres}"
'

test_expect_success '... and named as not restored, with the reason, for a role that is not one' '
	psql -X -q -d postgres -c "CREATE ROLE fid_owner LOGIN NOSUPERUSER" \
		-c "CREATE DATABASE catgrant3 OWNER fid_owner" &&
	vault restore "$(cat catgrant.id)" --db "dbname=catgrant3 user=fid_owner" --only schema,data \
		--dry-run >nosu.txt &&
	grep "privileges on the catalog.s pg_catalog.pg_proc: only a superuser may change them, and the restoring role is not one: 1 statement in COLUMN pg_proc.prosrc; ACL (schema.sql)" nosu.txt &&
	vault restore "$(cat catgrant.id)" --db "dbname=catgrant3 user=fid_owner" --only schema,data \
		--dry-run --json >nosu.json &&
	jq -e ".not_restored | map(select(.where == \"COLUMN pg_proc.prosrc; ACL (schema.sql)\"
		and (.reason | test(\"only a superuser\")))) | length == 1" nosu.json
'

test_expect_success 'the identity sequence of a partitioned table gets its value back' '
	fresh parts "CREATE TABLE public.p (id integer GENERATED BY DEFAULT AS IDENTITY, v integer)
			PARTITION BY RANGE (v);
		CREATE TABLE public.p1 PARTITION OF public.p FOR VALUES FROM (0) TO (100);
		INSERT INTO public.p (v) VALUES (1), (2), (3);" &&
	db_create parts2 &&
	vault restore "$(cat parts.id)" --db dbname=parts2 --yes >/dev/null &&
	test "$(db_psql parts2 -c "SELECT last_value, is_called FROM public.p_id_seq")" = "3|t" &&
	db_psql parts2 -c "INSERT INTO public.p (v) VALUES (4)" &&
	test "$(db_psql parts2 -c "SELECT max(id) FROM public.p")" = 4
'

test_expect_success 'a role setting in the source database is set in the target database' '
	psql -X -q -d postgres -c "CREATE ROLE fid_rs" &&
	fresh rolesrc "ALTER ROLE fid_rs IN DATABASE rolesrc SET work_mem = '"'"'8MB'"'"';
		CREATE TABLE public.t (a integer);" &&
	psql -X -q -d postgres -c "DROP DATABASE rolesrc" -c "DROP ROLE fid_rs" &&
	db_create roletgt &&
	vault restore "$(cat rolesrc.id)" --db dbname=roletgt --yes >/dev/null &&
	test "$(db_psql roletgt -c "SELECT array_to_string(s.setconfig, '"'"','"'"')
		FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase
		WHERE d.datname = '"'"'roletgt'"'"' AND s.setrole = '"'"'fid_rs'"'"'::regrole")" = work_mem=8MB
'

test_expect_success 'ALTER SCHEMA public OWNER TO (no CREATE) is no conflict of an empty restore' '
	psql -X -q -d postgres -c "CREATE ROLE fid_po" &&
	fresh pubown "ALTER SCHEMA public OWNER TO fid_po; CREATE TABLE public.t (a integer);" &&
	db_create pubown2 &&
	vault restore "$(cat pubown.id)" --db dbname=pubown2 --dry-run >po.txt &&
	! grep -q CONFLICT po.txt &&
	vault restore "$(cat pubown.id)" --db dbname=pubown2 --yes >/dev/null &&
	test "$(db_psql pubown2 -c "SELECT pg_get_userbyid(nspowner) FROM pg_namespace
		WHERE nspname = '"'"'public'"'"'")" = fid_po
'

# One table whose foreign key points at a table neither selected nor in
# the target: the dry run used to pass and the real run to fail.
test_expect_success 'one table whose referenced table is missing: dry run and real run refuse alike' '
	fresh shop "CREATE TABLE public.orders (id integer PRIMARY KEY);
		CREATE TABLE public.items (id integer PRIMARY KEY,
			order_id integer REFERENCES public.orders);
		INSERT INTO public.orders VALUES (1); INSERT INTO public.items VALUES (1, 1);" &&
	db_create shop2 && db_dump shop2 >shop2.before &&
	want="FK CONSTRAINT public.items items_order_id_fkey references relation public.orders, which the target lacks and the restore does not create: select it too \(--table public.orders\)" &&
	test_must_fail_with 1 "$want" \
		vault restore "$(cat shop.id)" --db dbname=shop2 --table public.items --dry-run &&
	grep -Eq "^CONFLICT: $want" "$TEST_TMP/.stdout" &&
	test_must_fail_with 1 "$want" \
		vault restore "$(cat shop.id)" --db dbname=shop2 --table public.items --yes &&
	db_dump shop2 >shop2.after && test_cmp shop2.before shop2.after &&
	vault restore "$(cat shop.id)" --db dbname=shop2 --table public.items \
		--table public.orders --yes >/dev/null &&
	test "$(db_psql shop2 -c "SELECT count(*) FROM public.items")" = 1
'

test_expect_success 'one table whose type, trigger function, schema and owner are missing: each named' '
	psql -X -q -d postgres -c "CREATE ROLE fid_owner2" &&
	fresh feel "CREATE TYPE public.mood AS ENUM ('"'"'ok'"'"', '"'"'sad'"'"');
		CREATE SCHEMA app;
		CREATE TABLE app.feel (id integer PRIMARY KEY, m public.mood);
		ALTER TABLE app.feel OWNER TO fid_owner2;
		CREATE FUNCTION app.trg() RETURNS trigger LANGUAGE plpgsql
			AS '"'"'BEGIN RETURN NEW; END'"'"';
		CREATE TRIGGER t BEFORE INSERT ON app.feel FOR EACH ROW EXECUTE FUNCTION app.trg();" &&
	psql -X -q -d postgres -c "DROP DATABASE feel" -c "DROP ROLE fid_owner2" &&
	db_create feel2 && db_dump feel2 >feel2.before &&
	test_must_fail_with 1 "cannot start" \
		vault restore "$(cat feel.id)" --db dbname=feel2 --table app.feel --dry-run &&
	grep -q "^CONFLICT: TABLE app.feel has a column of type public.mood, which the target lacks" "$TEST_TMP/.stdout" &&
	grep -q "^CONFLICT: TRIGGER app.feel t executes function app.trg(), which the target lacks" "$TEST_TMP/.stdout" &&
	grep -q "^CONFLICT: TABLE app.feel is created in schema app, which the target lacks.*--schema app" "$TEST_TMP/.stdout" &&
	grep -q "^CONFLICT: TABLE app.feel is owned by role fid_owner2, which the target lacks.*restore the roles too" "$TEST_TMP/.stdout" &&
	test_must_fail_with 1 "is owned by role fid_owner2" \
		vault restore "$(cat feel.id)" --db dbname=feel2 --table app.feel --yes &&
	db_dump feel2 >feel2.after && test_cmp feel2.before feel2.after &&
	vault restore "$(cat feel.id)" --db dbname=feel2 --yes >/dev/null &&
	test "$(db_psql feel2 -c "SELECT pg_get_userbyid(relowner) FROM pg_class
		WHERE oid = '"'"'app.feel'"'"'::regclass")" = fid_owner2
'

# A column of an extension's type: a whole restore creates the
# extension (no conflict), one table alone cannot, and says which
# extension to install.
test_expect_success 'an extension type: no conflict when the restore creates it, the extension named when not' '
	fresh ext "CREATE SCHEMA extensions; CREATE EXTENSION citext WITH SCHEMA extensions;
		CREATE TABLE public.u (id integer PRIMARY KEY, e extensions.citext);
		INSERT INTO public.u VALUES (1, '"'"'Ab'"'"');" &&
	db_create ext2 &&
	test_must_fail_with 1 "has a column of type extensions.citext, which the target lacks and the restore does not create: install the extension that provides it \(the snapshot has citext in schema extensions\)" \
		vault restore "$(cat ext.id)" --db dbname=ext2 --table public.u --dry-run &&
	vault restore "$(cat ext.id)" --db dbname=ext2 --dry-run >ext.plan &&
	! grep -q CONFLICT ext.plan &&
	vault restore "$(cat ext.id)" --db dbname=ext2 --yes >/dev/null &&
	test "$(db_psql ext2 -c "SELECT e::text FROM public.u")" = Ab
'

# Counting the rows of a table the role may not read raised, and the
# plan failed with the server's error: it is a conflict of the plan.
test_expect_success 'a table the restoring role may not read is a conflict that names it' '
	psql -X -q -d postgres -c "CREATE DATABASE unread OWNER fid_owner" &&
	db_psql unread -c "CREATE TABLE public.orders (id integer PRIMARY KEY);
		REVOKE ALL ON public.orders FROM PUBLIC" &&
	test_must_fail_with 1 "table public.orders exists in the target, and the role fid_owner may not read it" \
		vault restore "$(cat shop.id)" --db "dbname=unread user=fid_owner" --table public.orders \
		--mode merge --dry-run
'

# A role limited to one connection: the parallel load cannot open its
# second one and runs in one transaction; the terminal says so.
test_expect_success '--jobs 2 that falls back to one transaction says why on the terminal' '
	psql -X -q -d postgres -c "CREATE ROLE fid_one LOGIN NOSUPERUSER CONNECTION LIMIT 1" \
		-c "CREATE DATABASE two OWNER fid_one" -c "CREATE DATABASE two2 OWNER fid_one" &&
	psql -X -q -d two -U fid_one -c "CREATE TABLE public.a (id integer PRIMARY KEY);
		CREATE TABLE public.b (id integer PRIMARY KEY);
		INSERT INTO public.a VALUES (1); INSERT INTO public.b VALUES (2);" &&
	vault snapshot --db "dbname=two" --tag two >/dev/null &&
	vault restore "$(snap_tagged two)" --db "dbname=two2 user=fid_one" --only schema,data \
		--jobs 2 --yes >two.out 2>two.err &&
	grep -q "^Strategy: parallel" two.out &&
	test_grep "jobs 2: one transaction over one connection .the parallel load was not possible: cannot open connection 2 of 2: " two.err &&
	test "$(db_psql two2 -c "SELECT count(*) FROM public.a")" = 1
'

test_done

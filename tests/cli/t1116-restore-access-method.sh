#!/bin/bash
# Tables of a custom table access method (and indexes in a tablespace).
# pg_dump writes "SET default_table_access_method" only when the value
# changes, so the second of two heap2 tables has no line of its own: a
# --table restore of it, or its schema.sql read alone, must still put it
# in heap2, not the server's default heap.  A target without the access
# method is refused by the plan (dry run included), before any change.
. "$(dirname "$0")/../test-lib.sh"
. "$VAULT_SRCDIR/tests/db-lib.sh"

db_start
new_repo --encryption none

am_of() { # DB TABLE
	db_psql "$1" -c "SELECT a.amname FROM pg_class c JOIN pg_am a ON a.oid = c.relam
		WHERE c.oid = 'public.$2'::regclass"
}

test_expect_success 'setup: three tables, two of them heap2' '
	db_create am0 &&
	db_psql am0 -c "CREATE ACCESS METHOD heap2 TYPE TABLE HANDLER heap_tableam_handler" \
		-c "CREATE TABLE public.a (id int PRIMARY KEY, v text) USING heap2" \
		-c "CREATE TABLE public.b (id int PRIMARY KEY, v text) USING heap2" \
		-c "CREATE TABLE public.c (id int PRIMARY KEY, v text) USING heap" \
		-c "INSERT INTO public.a SELECT g, md5(g::text) FROM generate_series(1, 50) g" \
		-c "INSERT INTO public.b SELECT g, md5(g::text) FROM generate_series(1, 70) g" \
		-c "INSERT INTO public.c SELECT g, md5(g::text) FROM generate_series(1, 90) g" &&
	pg_dump --schema-only -d am0 >dump.sql &&
	test "$(grep -c "^SET default_table_access_method = heap2;" dump.sql)" = 1 &&
	vault snapshot --db dbname=am0 >/dev/null
'

test_expect_success 'the second heap2 table'"'"'s schema.sql sets heap2 before its CREATE TABLE' '
	vault mount latest m >/dev/null &&
	f=m/db/public/tables/b/schema.sql &&
	grep -n "^SET default_table_access_method = heap2;" "$f" >set.line &&
	grep -n "^CREATE TABLE public.b " "$f" >create.line &&
	test "$(cut -d: -f1 set.line)" -lt "$(cut -d: -f1 create.line)" &&
	db_create am1 &&
	db_psql am1 -c "CREATE ACCESS METHOD heap2 TYPE TABLE HANDLER heap_tableam_handler" &&
	psql -X -q -v ON_ERROR_STOP=1 -d am1 -f "$f" >/dev/null &&
	test "$(am_of am1 b)" = heap2
'

test_expect_success '--table public.b restores it in heap2, with its rows' '
	db_create am2 &&
	db_psql am2 -c "CREATE ACCESS METHOD heap2 TYPE TABLE HANDLER heap_tableam_handler" &&
	vault restore latest --db dbname=am2 --table public.b >/dev/null &&
	test "$(am_of am2 b)" = heap2 &&
	test "$(db_psql am2 -c "SELECT count(*) FROM public.b")" = 70 &&
	vault restore latest --db dbname=am2 --table public.c >/dev/null &&
	test "$(am_of am2 c)" = heap
'

test_expect_success 'a whole restore over two connections: every table in its own' '
	db_create am3 &&
	vault restore latest --db dbname=am3 --jobs 2 >/dev/null &&
	test "$(am_of am3 a)" = heap2 && test "$(am_of am3 b)" = heap2 &&
	test "$(am_of am3 c)" = heap
'

test_expect_success 'a target without heap2: the dry run refuses, and so does the restore' '
	db_create am4 &&
	db_dump am4 >am4.before &&
	test_must_fail vault restore latest --db dbname=am4 --table public.b --dry-run >dry.out 2>dry.err &&
	grep -q "BLOCKING access method heap2: missing on the target and not in the selection: TABLE public.b is created in it" dry.out &&
	test_must_fail_with 1 "access method heap2: missing on the target" \
		vault restore latest --db dbname=am4 --table public.b &&
	db_dump am4 >am4.after &&
	test_cmp am4.before am4.after
'

test_done

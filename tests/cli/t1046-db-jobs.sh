#!/bin/bash
# snapshot --db --jobs: the default follows the client's CPUs, the
# tables and the server's free connections (src/pg/pg-jobs.h); with
# several connections the tables stream interleaved, and the snapshot
# holds the same bytes as one read over a single connection.
. "$(dirname "$0")/../test-lib.sh"
. "$VAULT_SRCDIR/tests/db-lib.sh"

db_start

test_expect_success 'setup: the fixture plus three tables of different sizes' '
	db_fixture fx &&
	db_psql fx -c "CREATE TABLE public.big (id bigint PRIMARY KEY, t text)" \
		-c "INSERT INTO public.big SELECT g, md5(g::text) FROM generate_series(1, 120000) g" \
		-c "CREATE TABLE public.mid (id int PRIMARY KEY, t text)" \
		-c "INSERT INTO public.mid SELECT g, repeat(md5(g::text), 3) FROM generate_series(1, 20000) g" \
		-c "CREATE TABLE public.small (id int PRIMARY KEY)" \
		-c "INSERT INTO public.small SELECT generate_series(1, 10)" &&
	new_repo --encryption none
'

tables_of() { # SNAPSHOT -> every data.sql of it, concatenated in path order
	vault ls --json "$1" db | jq -r ".[] | .path" 2>/dev/null |
		grep "/data.sql$" | sort | while read -r p; do
			echo "== $p" && vault cat "$1" "$p"
		done
}

test_expect_success 'the default: one connection per CPU here, within the tables' '
	vault snapshot --json --db dbname=fx >auto.json &&
	j=$(jq .database.jobs auto.json) && n=$(nproc) &&
	echo "jobs $j, $n CPUs" &&
	test "$j" -ge 1 && test "$j" -le "$n" && test "$j" -le 8
'

test_expect_success '--jobs 1 and --jobs 4 store the same rows' '
	vault snapshot --json --jobs 1 --db dbname=fx >one.json &&
	test "$(jq .database.jobs one.json)" = 1 &&
	id1=$(jq -r .id one.json) &&
	vault snapshot --json --jobs 4 --db dbname=fx >four.json &&
	test "$(jq .database.jobs four.json)" = 4 &&
	id4=$(jq -r .id four.json) &&
	tables_of "$id1" >one.sql &&
	tables_of "$id4" >four.sql &&
	test "$(grep -c "^== " one.sql)" -ge 3 &&
	test_cmp one.sql four.sql &&
	jq -S "[.database.schemas[] | {name, tables, rows, bytes}]" one.json >a &&
	jq -S "[.database.schemas[] | {name, tables, rows, bytes}]" four.json >b &&
	test_cmp a b &&
	test "$(jq .bytes_added four.json)" -lt 100000
'

test_expect_success 'more jobs than tables: capped at the tables' '
	vault snapshot --json --jobs 64 --db dbname=fx >many.json &&
	j=$(jq .database.jobs many.json) && t=$(jq .database.tables many.json) &&
	echo "jobs $j, tables $t" &&
	test "$j" -le "$t"
'

test_done

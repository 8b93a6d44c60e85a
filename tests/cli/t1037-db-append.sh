#!/bin/bash
# Tables that only received inserts since the previous snapshot, every
# new row above the previous last key, are read from that key on: their
# data.sql is the previous one without its "\." line, then the new rows
# (meta.json: "captured": "appended").  What is stored equals a fresh
# full read byte for byte and restores with its checksums verified; any
# other change, an untrusted key type, no key, forces a whole read.
. "$(dirname "$0")/../test-lib.sh"
. "$VAULT_SRCDIR/tests/db-lib.sh"

db_start
new_repo --encryption repokey

# A second repository: the fresh full reads to compare with.
FULL="$TEST_TMP/full"
vault_full() { VAULT_REPO="$FULL" vault "$@"; }

INT_TABLES="t_app t_below t_rb t_insdel t_insupd t_trunc t_idle"

quiet() { db_wait_quiet fx; }

# snap NAME [OPTION...]: a snapshot of fx; NAME.meta its meta.json,
# NAME.how each table's "name captured[ appended_rows]", sorted.
snap() {
	local name=$1
	shift
	set -- "$name" "$@"
	quiet &&
	vault snapshot --json --db dbname=fx "${@:2}" >"$1.json" &&
	vault cat latest db/meta.json >"$1.meta" &&
	jq -r '.tables[] | "\(.name) \(.captured)\(if .appended_rows then " \(.appended_rows)" else "" end)"' \
		"$1.meta" | sort >"$1.how"
}

# same_as_full NAME: every data.sql of the latest snapshot equals a
# fresh full read's (a new repository), and so do the checksums.
same_as_full() {
	local t f
	rm -rf "$FULL" &&
	vault_full init --encryption none >/dev/null &&
	quiet &&
	vault_full snapshot --json --db dbname=fx >"$1.full.json" &&
	vault_full cat latest db/meta.json >"$1.full.meta" &&
	jq -e ".database.tables_reused == 0 and .database.tables_appended == 0" "$1.full.json" &&
	for t in $(jq -r '.tables[].name' "$1.meta"); do
		f=db/public/tables/$t/data.sql
		vault cat latest "$f" >"$1.$t.got" &&
		vault_full cat latest "$f" >"$1.$t.want" &&
		test_cmp "$1.$t.want" "$1.$t.got" || return 1
	done &&
	jq -S "[.tables[] | {name, rows, bytes, xxh3_128, last_key, xxh3_state}]" "$1.meta" >"$1.sums" &&
	jq -S "[.tables[] | {name, rows, bytes, xxh3_128, last_key, xxh3_state}]" "$1.full.meta" >"$1.full.sums" &&
	test_cmp "$1.full.sums" "$1.sums"
}

test_expect_success 'setup: tables of every kind of key' '
	db_create fx &&
	for t in $INT_TABLES; do
		db_psql fx -c "CREATE TABLE public.$t (id int PRIMARY KEY, v text)" \
			-c "INSERT INTO public.$t SELECT g, md5(g::text) FROM generate_series(1, 3000) g" ||
		return 1
	done &&
	db_psql fx -c "CREATE TABLE public.t_comp (a int, b bigint, v text, PRIMARY KEY (a, b))" \
		-c "INSERT INTO public.t_comp SELECT g / 100, g % 100, md5(g::text) FROM generate_series(1, 3000) g" \
		-c "CREATE TABLE public.t_comp2 (a int, b bigint, v text, PRIMARY KEY (a, b))" \
		-c "INSERT INTO public.t_comp2 SELECT g / 100, g % 100, md5(g::text) FROM generate_series(1, 3000) g" \
		-c "CREATE TABLE public.t_text (k text PRIMARY KEY, v int)" \
		-c "INSERT INTO public.t_text SELECT \$\$k\\\\ \$\$ || lpad(g::text, 5, \$\$0\$\$), g FROM generate_series(1, 3000) g" \
		-c "CREATE TABLE public.t_uuid (u uuid PRIMARY KEY, v int)" \
		-c "INSERT INTO public.t_uuid SELECT (\$\$00000000-0000-0000-0000-\$\$ || lpad(g::text, 12, \$\$0\$\$))::uuid, g FROM generate_series(1, 3000) g" \
		-c "CREATE TABLE public.t_ts (t timestamptz PRIMARY KEY, v int)" \
		-c "INSERT INTO public.t_ts SELECT \$\$2020-01-01\$\$::timestamptz + g * interval \$\$1 minute\$\$, g FROM generate_series(1, 3000) g" \
		-c "CREATE TABLE public.t_nopk (id int, v text)" \
		-c "INSERT INTO public.t_nopk SELECT g, md5(g::text) FROM generate_series(1, 3000) g"
'

test_expect_success 'the first snapshot reads every table and records its last key' '
	snap s1 &&
	! grep -v " read\$" s1.how &&
	jq -e ".tables[] | select(.name == \"t_app\") | .last_key == [\"3000\"]" s1.meta &&
	jq -e ".tables[] | select(.name == \"t_comp\") | .last_key == [\"30\", \"0\"]" s1.meta &&
	jq -e ".tables[] | select(.name == \"t_text\") | .last_key[0] | endswith(\" 03000\")" s1.meta &&
	jq -e ".tables[] | select(.name == \"t_nopk\") | .last_key == null and .xxh3_state == null" s1.meta &&
	jq -e "[.tables[] | select(.name != \"t_nopk\") | .xxh3_state | startswith(\"xxh3-128/\")] | all" s1.meta
'

test_expect_success 'inserts of every kind' '
	db_psql fx \
		-c "INSERT INTO public.t_app SELECT g, md5(g::text) FROM generate_series(3001, 3100) g" \
		-c "INSERT INTO public.t_below VALUES (0, \$\$below\$\$), (3001, \$\$above\$\$)" \
		-c "BEGIN" -c "INSERT INTO public.t_rb VALUES (3002, \$\$gone\$\$)" -c "ROLLBACK" \
		-c "INSERT INTO public.t_rb VALUES (3001, \$\$kept\$\$)" \
		-c "INSERT INTO public.t_insdel VALUES (3001, \$\$new\$\$)" \
		-c "DELETE FROM public.t_insdel WHERE id = 5" \
		-c "INSERT INTO public.t_insupd VALUES (3001, \$\$new\$\$)" \
		-c "UPDATE public.t_insupd SET v = \$\$u\$\$ WHERE id = 6" \
		-c "TRUNCATE public.t_trunc" \
		-c "INSERT INTO public.t_trunc SELECT g, md5(g::text) FROM generate_series(1, 3001) g" \
		-c "INSERT INTO public.t_comp VALUES (30, 1, \$\$a\$\$), (31, 0, \$\$b\$\$)" \
		-c "INSERT INTO public.t_comp2 VALUES (30, 1, \$\$a\$\$), (29, 500, \$\$mid\$\$)" \
		-c "INSERT INTO public.t_text VALUES (\$\$k\\\\ 03001\$\$, 1), (\$\$l\$\$, 2)" \
		-c "INSERT INTO public.t_uuid VALUES (\$\$00000000-0000-0000-0000-000000009999\$\$, 1)" \
		-c "INSERT INTO public.t_ts VALUES (\$\$2030-01-01\$\$, 1)" \
		-c "INSERT INTO public.t_nopk VALUES (3001, \$\$new\$\$)"
'

test_expect_success 'appended tables are read from their last key; all else whole' '
	snap s2 &&
	cat >s2.want <<-\EOF &&
	t_app appended 100
	t_below read
	t_comp appended 2
	t_comp2 read
	t_idle reused
	t_insdel read
	t_insupd read
	t_nopk read
	t_rb read
	t_text appended 2
	t_trunc read
	t_ts read
	t_uuid appended 1
	EOF
	test_cmp s2.want s2.how &&
	jq -e ".database.tables_appended == 4 and .database.tables_reused == 1" s2.json &&
	jq -e ".tables[] | select(.name == \"t_app\") | .rows == 3100 and .last_key == [\"3100\"]" s2.meta
'

test_expect_success 'what is stored equals a fresh full read' '
	same_as_full s2
'

test_expect_success 'the appended snapshot mounts as the database, as a full read would' '
	vault mount latest m >/dev/null &&
	db_check_tree m fx &&
	for t in t_app t_comp t_text t_uuid; do
		cmp m/db/public/tables/$t/data.sql s2.$t.want || return 1
	done
'

test_expect_success 'appended again on top of an appended snapshot, then restored and verified' '
	db_psql fx -c "INSERT INTO public.t_app SELECT g, md5(g::text) FROM generate_series(3101, 3150) g" &&
	snap s3 &&
	grep -qx "t_app appended 50" s3.how &&
	grep -qx "t_comp reused" s3.how &&
	same_as_full s3 &&
	db_create e1 &&
	vault restore latest --db "dbname=e1" --verify full --json >r.json &&
	jq -e ".status == \"ok\"" r.json &&
	db_dump fx --data-only | sort >fx.data &&
	db_dump e1 --data-only | sort >e1.data &&
	test_cmp fx.data e1.data
'

test_expect_success 'a tail that is not every insert: read whole, the tail dropped' '
	db_psql fx -c "BEGIN" -c "INSERT INTO public.t_app VALUES (9999, \$\$gone\$\$)" -c "ROLLBACK" \
		-c "INSERT INTO public.t_app VALUES (3151, \$\$kept\$\$)" &&
	snap s4 &&
	grep -qx "t_app read" s4.how &&
	same_as_full s4
'

test_expect_success 'on one connection and on three, tails and refusals alike' '
	db_psql fx -c "INSERT INTO public.t_app VALUES (3152, \$\$x\$\$)" \
		-c "INSERT INTO public.t_uuid VALUES (\$\$00000000-0000-0000-0000-000000000000\$\$, 1)" &&
	snap s5 --jobs 1 &&
	grep -qx "t_app appended 1" s5.how &&
	grep -qx "t_uuid read" s5.how &&
	same_as_full s5 &&
	db_psql fx -c "INSERT INTO public.t_app VALUES (3153, \$\$y\$\$)" \
		-c "INSERT INTO public.t_text VALUES (\$\$a\$\$, 1)" &&
	snap s6 --jobs 3 &&
	grep -qx "t_app appended 1" s6.how &&
	grep -qx "t_text read" s6.how &&
	same_as_full s6
'

test_done

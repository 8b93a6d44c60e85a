#!/bin/bash
# The progress of the database verbs (vault.1, PROGRESS AND VERBOSITY),
# read from the stream of JSON lines --json adds on stderr: a snapshot's "db" phase counts the
# tables against the catalog's total (known before the first row is
# read), a restore's "load" phase the rows read against meta.json's
# sizes, then "verify"; -v names each table; -q keeps the restore quiet.
. "$(dirname "$0")/../test-lib.sh"
. "$VAULT_SRCDIR/tests/db-lib.sh"

db_start
new_repo --encryption none

# The last status line of phase $1 in stream $2.
last_status() {
	jq -c -s "[.[] | select(.message_type == \"status\" and .phase == \"$1\")] | last" "$2"
}

test_expect_success 'a database with a big table' '
	db_fixture fx &&
	db_psql fx -c "CREATE TABLE public.big AS SELECT g AS id, md5(g::text) AS v
		FROM generate_series(1, 200000) g; ANALYZE public.big" &&
	db_psql fx -c "SELECT count(*) FROM public.big" >n && test "$(cat n)" = 200000
'

test_expect_success 'snapshot --db: the db phase counts tables against the catalog' '
	vault -v snapshot --json --db "dbname=fx" >snap.json 2>stream.jsonl &&
	jq -e . stream.jsonl >/dev/null &&
	last_status db stream.jsonl >db.json && cat db.json &&
	tables=$(jq .database.tables snap.json) &&
	jq -e ".finished and .total_items == $tables and .items_done == $tables
		and .unit == \"tables\" and .total_bytes == .bytes_done
		and .bytes_done >= $(jq .database.bytes snap.json)" db.json &&
	jq -es "[.[] | select(.message_type == \"verbose_status\" and .action == \"table\"
		and .item == \"public.big\" and (.detail | startswith(\"200000 rows\")))]
		| length == 1" stream.jsonl &&
	test "$(jq -rs ".[-1].message_type + \" \" + (.[-1].exit_code | tostring)" stream.jsonl)" = "summary 0" &&
	# one "finished" line per phase, its last status line
	jq -es "[.[] | select(.message_type == \"status\")] | group_by(.phase)
		| all(map(select(.finished)) | length == 1) and all(.[-1].finished)" stream.jsonl
'

test_expect_success 'the catalog gave the total before the rows were read' '
	db_psql fx -Atc "SELECT pg_table_size('"'"'public.big'"'"')" >est &&
	test "$(cat est)" -gt 1000000 &&
	# the first lines (connecting, reading the catalog) have no total
	# and nothing done; from then on the totals are the catalog'"'"'s
	tables=$(jq .database.tables snap.json) &&
	jq -es "[.[] | select(.message_type == \"status\" and .phase == \"db\")]
		| (map(select(.total_items == null)) | all(.bytes_done == 0 and .items_done == 0))
		  and (map(select(.total_items != null)) | length >= 1
		       and all(.total_items == $tables and .total_bytes >= .bytes_done))
		  and (.[0] | .current == \"connecting, reading the catalog and schema\")" stream.jsonl
'

# The read-back phase runs with --verify full only (by default the rows
# are verified as they stream, inside the load phase).
test_expect_success 'restore --verify full: load against meta.json, then verify; -v names each table' '
	db_create e1 &&
	vault -v restore latest --db "dbname=e1" --verify full --json >restore.json 2>stream.jsonl &&
	jq -e ".status == \"ok\"" restore.json &&
	jq -e . stream.jsonl >/dev/null &&
	last_status load stream.jsonl >load.json && cat load.json &&
	n=$(jq ".tables | length" restore.json) &&
	jq -e ".finished and .unit == \"tables\" and .total_items > 0
		and .items_done == .total_items and .bytes_done >= .total_bytes
		and .total_bytes > 1000000" load.json &&
	last_status verify stream.jsonl >verify.json &&
	jq -e ".finished and .total_items == $(jq .total_items load.json)" verify.json &&
	jq -es "[.[] | select(.message_type == \"verbose_status\" and .action == \"load\"
		and .item == \"public.big\")] | length == 1" stream.jsonl &&
	jq -es "[.[-1].phases[].phase] | index(\"load\") and index(\"verify\")" stream.jsonl &&
	jq -es "[.[] | select(.message_type == \"status\")] | group_by(.phase)
		| all(map(select(.finished)) | length == 1)" stream.jsonl
'

test_expect_success 'restore (streamed verification): a load phase, no read-back phase' '
	db_create e3 &&
	vault restore latest --db "dbname=e3" --json >restore3.json 2>stream3.jsonl &&
	jq -e ".status == \"ok\"" restore3.json &&
	jq -es "[.[-1].phases[].phase] | index(\"load\") and (index(\"verify\") | not)" stream3.jsonl
'

test_expect_success '-q: a restore prints only what was asked for' '
	db_create e2 &&
	vault -q restore latest --db "dbname=e2" >out 2>err &&
	test ! -s out &&
	# what the database warns about (wal_level and publications) stays
	! grep -v "^vault: restore: warning: the database says: \|^HINT: " err &&
	vault -q restore latest --db "dbname=e2" --dry-run --mode merge >plan &&
	grep -q "dry run" plan
'

test_done

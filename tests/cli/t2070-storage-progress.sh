#!/bin/bash
# The progress of Storage (vault.1, PROGRESS AND VERBOSITY) against
# tests/fake-supabase.py, read from the JSON lines of --json: a snapshot's
# "storage" phase counts the objects against the listing, a Storage
# restore's "upload" phase the objects and bytes it uploads against its
# plan; -q keeps a restore quiet.
. "$(dirname "$0")/../test-lib.sh"
. "$VAULT_SRCDIR/tests/storage-lib.sh"

# The last status line of phase $1 in stream $2.
last_status() {
	jq -c -s "[.[] | select(.message_type == \"status\" and .phase == \"$1\")] | last" "$2"
}

test_expect_success 'setup: a project with 300 objects' '
	mkdir -p seed/storage/media &&
	for i in $(seq 1 300); do echo "object $i" >seed/storage/media/o$i.txt; done &&
	sb_start --seed seed &&
	new_repo --encryption none
'

test_expect_success 'snapshot: the storage phase counts the objects listed' '
	vault snapshot --json >snap.json 2>stream.jsonl &&
	jq -e . stream.jsonl >/dev/null &&
	objects=$(jq .storage.objects snap.json) && test "$objects" = 300 &&
	last_status storage stream.jsonl >st.json && cat st.json &&
	jq -e ".finished and .unit == \"objects\" and .total_items == 300
		and .items_done == 300" st.json &&
	test "$(jq -rs ".[-1].exit_code" stream.jsonl)" = 0
'

test_expect_success 'restore: the upload phase against the plan; -v names each object' '
	for i in $(seq 1 40); do
		curl -sf -X DELETE -H "apikey: $SB_KEY" -H "Authorization: Bearer $SB_KEY" \
			"$SB_URL/storage/v1/object/media/o$i.txt" >/dev/null || return 1
	done &&
	vault -v restore latest --only storage --json >out 2>stream.jsonl &&
	jq -e . stream.jsonl >/dev/null &&
	last_status upload stream.jsonl >up.json && cat up.json &&
	jq -e ".finished and .total_items == 40 and .items_done == 40
		and .bytes_done == .total_bytes and .total_bytes > 0" up.json &&
	jq -es "[.[] | select(.message_type == \"verbose_status\" and .action == \"upload\")]
		| length == 40" stream.jsonl &&
	grep -q "40 objects uploaded" out
'

test_expect_success '-q: a restore that changes something prints nothing' '
	for i in $(seq 1 5); do
		curl -sf -X DELETE -H "apikey: $SB_KEY" -H "Authorization: Bearer $SB_KEY" \
			"$SB_URL/storage/v1/object/media/o$i.txt" >/dev/null || return 1
	done &&
	vault -q restore latest --only storage >out 2>err &&
	test ! -s out && test ! -s err &&
	vault -q restore latest --only storage --dry-run >plan &&
	grep -q "dry run" plan
'

test_done

#!/bin/bash
# The user metadata of the objects a snapshot downloads comes from one
# /object/info request per object (Storage v1.22's listing does not
# carry it): those requests run --jobs at a time, like the downloads,
# as the server's own counters of requests in flight say, and a server
# whose listing carries the user metadata gets none at all.
. "$(dirname "$0")/../test-lib.sh"
. "$VAULT_SRCDIR/tests/storage-lib.sh"

# max_concurrent ROUTE: the most requests of ROUTE answered at once.
max_concurrent() {
	sb_control '{"op":"stats"}' | jq ".max_concurrent[\"$1\"] // 0"
}

seed() {
	python3 -c "
import json
for i in range(60):
    print(json.dumps({\"bucket\": \"b%d\" % (i % 2), \"name\": \"f%d/o%02d\" % (i % 3, i),
                      \"data\": \"object %d \" % i * 20, \"metadata\": {\"i\": i}}))
" >"$1/objects.jsonl"
}

test_expect_success 'setup: 60 objects with user metadata; info answers take 0.2 s' '
	mkdir seed && seed seed &&
	sb_start --seed seed && unset SUPABASE_ACCESS_TOKEN &&
	new_repo --encryption none &&
	sb_control "{\"op\":\"fault\",\"path\":\"^/storage/v1/object/info/\",\"kind\":\"slow\",\"delay\":0.2,\"count\":-1}" >/dev/null
'

test_expect_success 'a first snapshot asks every info once, --jobs at a time' '
	sb_control "{\"op\":\"reset_stats\"}" >/dev/null &&
	start=$(date +%s.%N) &&
	vault snapshot --jobs 6 --json >s1.json &&
	secs=$(echo "$(date +%s.%N) - $start" | bc) &&
	test "$(jq .storage.downloaded s1.json)" = 60 &&
	test "$(jq .storage.info_requests s1.json)" = 60 &&
	test "$(sb_count storage.object.info)" = 60 &&
	test "$(sb_count storage.object.get)" = 60 &&
	test "$(max_concurrent storage.object.info)" = 6 &&
	test "$(max_concurrent storage.object.get)" -le 6 &&
	# one at a time would take 60 x 0.2 = 12 s
	echo "$secs < 6" | bc | grep -q 1 &&
	vault mount latest m --with-metadata >/dev/null &&
	sb_verify m
'

test_expect_success '--jobs 1 asks one at a time' '
	sb_control "{\"op\":\"put_objects\",\"bucket\":\"b0\",\"objects\":[{\"name\":\"n1\",\"data\":\"1\"},{\"name\":\"n2\",\"data\":\"2\"},{\"name\":\"n3\",\"data\":\"3\"}]}" >/dev/null &&
	sb_control "{\"op\":\"reset_stats\"}" >/dev/null &&
	vault snapshot --jobs 1 --json >s2.json &&
	test "$(jq .storage.downloaded s2.json)" = 3 &&
	test "$(sb_count storage.object.info)" = 3 &&
	test "$(max_concurrent storage.object.info)" = 1
'

test_expect_success 'a repeat snapshot asks nothing' '
	sb_snapshot_listing_only 63
'

test_expect_success 'a failing info names the object and commits nothing' '
	sb_control "{\"op\":\"clear_faults\"}" >/dev/null &&
	sb_control "{\"op\":\"put_objects\",\"bucket\":\"b1\",\"objects\":[{\"name\":\"f1/new\",\"data\":\"new\"}]}" >/dev/null &&
	sb_control "{\"op\":\"fault\",\"path\":\"^/storage/v1/object/info/authenticated/b1/f1/new\",\"kind\":\"503\",\"count\":-1}" >/dev/null &&
	vault list --json >before.json &&
	VAULT_HTTP_BACKOFF_MS=20 test_must_fail vault snapshot >out 2>err &&
	grep -q "b1/f1/new" err &&
	grep -q -- "--allow-partial" err &&
	vault list --json >after.json &&
	test_cmp before.json after.json &&
	sb_control "{\"op\":\"clear_faults\"}" >/dev/null
'

test_expect_success 'a listing that carries the user metadata needs no info request' '
	kill $SB_PID && mkdir seed2 && seed seed2 &&
	sb_start --seed seed2 --list-user-metadata && unset SUPABASE_ACCESS_TOKEN &&
	new_repo --encryption none &&
	sb_control "{\"op\":\"reset_stats\"}" >/dev/null &&
	vault snapshot --json >u1.json &&
	test "$(jq .storage.downloaded u1.json)" = 60 &&
	test "$(sb_count storage.object.info)" = 0 &&
	test "$(jq .storage.info_requests u1.json)" = 0 &&
	vault mount latest mu --with-metadata >/dev/null &&
	sb_verify mu
'

test_done

#!/bin/bash
# Incremental Storage capture: a repeat snapshot of an unchanged project
# makes listing requests only (the server's own request counters say
# so), and after one object changes, that object is the only one
# downloaded; the new snapshot still holds every object, byte-identical.
. "$(dirname "$0")/../test-lib.sh"
. "$VAULT_SRCDIR/tests/storage-lib.sh"

test_expect_success 'setup: 300 objects in 2 buckets' '
	mkdir seed &&
	python3 -c "
import json
for i in range(300):
    print(json.dumps({\"bucket\": \"b%d\" % (i % 2), \"name\": \"dir%d/sub/o%d\" % (i % 5, i),
                      \"data\": \"object %d \" % i * 50, \"metadata\": {\"i\": i}}))
" >seed/objects.jsonl &&
	sb_start --seed seed && unset SUPABASE_ACCESS_TOKEN &&
	new_repo --encryption none &&
	vault snapshot --json >s1.json &&
	test "$(jq .storage.downloaded s1.json)" = 300
'

test_expect_success 'a repeat snapshot downloads nothing: listing requests only' '
	sb_snapshot_listing_only 300
'

test_expect_success 'a changed object is the only one downloaded' '
	sleep 1 &&
	sb_control "{\"op\":\"put_objects\",\"bucket\":\"b1\",\"objects\":[{\"name\":\"dir1/sub/o101\",\"data\":\"changed!\",\"metadata\":{\"v\":2}}]}" >/dev/null &&
	sb_control "{\"op\":\"reset_stats\"}" >/dev/null &&
	vault snapshot --json >s3.json &&
	test "$(jq .storage.downloaded s3.json)" = 1 &&
	test "$(jq .storage.unchanged s3.json)" = 299 &&
	test "$(sb_count storage.object.get)" = 1 &&
	test "$(sb_count storage.object.info)" = 1 &&
	vault mount latest m --with-metadata >/dev/null &&
	sb_verify m &&
	test "$(cat m/storage/b1/dir1/sub/o101)" = "changed!"
'

test_expect_success 'the previous snapshot still holds the old bytes' '
	vault mount "$(jq -r .id s2.json)" old >/dev/null &&
	grep -q "^object 101 " old/storage/b1/dir1/sub/o101
'

test_done

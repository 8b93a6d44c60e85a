#!/bin/bash
# After a restore, the objects Storage holds are the snapshot's bytes
# with new last-modified times.  The next snapshot downloads none of
# them: an object whose eTag and size are those of the previous snapshot
# reuses its chunks whatever its time; only its user metadata is asked
# again (the same bytes may have been uploaded with other metadata), and
# the snapshot after that asks nothing at all.
. "$(dirname "$0")/../test-lib.sh"
. "$VAULT_SRCDIR/tests/storage-lib.sh"

test_expect_success 'setup: 50 objects in 2 buckets, one snapshot' '
	mkdir seed &&
	python3 -c "
import json
for i in range(50):
    print(json.dumps({\"bucket\": \"b%d\" % (i % 2), \"name\": \"u%d/f%02d.txt\" % (i % 4, i),
                      \"data\": \"object %d \" % i * 30, \"mimetype\": \"text/plain\",
                      \"metadata\": {\"i\": i} if i % 3 else None}))
" >seed/objects.jsonl &&
	sb_start --seed seed && unset SUPABASE_ACCESS_TOKEN &&
	new_repo --encryption none &&
	vault snapshot --json >s1.json &&
	test "$(jq .storage.downloaded s1.json)" = 50 &&
	sb_control "{\"op\":\"state\"}" | jq -S "[.buckets[].objects[] | .lastModified]" >times1
'

test_expect_success 'everything deleted and restored: same bytes, new times' '
	sleep 1 &&
	sb_control "{\"op\":\"delete_all\"}" >/dev/null &&
	vault restore latest --only storage --mode empty >o 2>e &&
	grep -q "verification ok" o &&
	sb_control "{\"op\":\"state\"}" | jq -S "[.buckets[].objects[] | .lastModified]" >times2 &&
	! test_cmp times1 times2 2>/dev/null
'

test_expect_success 'the next snapshot downloads nothing, asks the metadata only' '
	sb_control "{\"op\":\"reset_stats\"}" >/dev/null &&
	vault snapshot --json >s2.json &&
	test "$(jq .storage.downloaded s2.json)" = 0 &&
	test "$(jq .storage.unchanged s2.json)" = 50 &&
	test "$(jq .storage.bytes_downloaded s2.json)" = 0 &&
	test "$(sb_count storage.object.get)" = 0 &&
	test "$(sb_count storage.object.info)" = 50 &&
	vault mount latest m --with-metadata >/dev/null &&
	sb_verify m &&
	vault ls --json latest storage/b0/u0/f00.txt >ls.json &&
	test "$(jq -r ".[0].attrs[\"storage.last_modified\"]" ls.json)" = \
		"$(sb_control "{\"op\":\"state\"}" | jq -r ".buckets.b0.objects[\"u0/f00.txt\"].lastModified")"
'

test_expect_success 'the same bytes uploaded with other metadata: reused, new metadata' '
	sleep 1 &&
	curl -sf -X PUT -H "apikey: $SB_KEY" -H "Authorization: Bearer $SB_KEY" \
		-H "Content-Type: text/plain" \
		-H "x-metadata: $(printf "{\"new\": true}" | base64)" \
		--data-binary "$(python3 -c "print(\"object 4 \" * 30, end=\"\")")" \
		"$SB_URL/storage/v1/object/b0/u0/f04.txt" >/dev/null &&
	sb_control "{\"op\":\"reset_stats\"}" >/dev/null &&
	vault snapshot --json >s3.json &&
	test "$(jq .storage.downloaded s3.json)" = 0 &&
	test "$(sb_count storage.object.info)" = 1 &&
	vault ls --json latest storage/b0/u0/f04.txt >ls.json &&
	test "$(jq -r ".[0].attrs[\"storage.metadata\"]" ls.json)" = "{\"new\":true}"
'

test_expect_success 'and the snapshot after that asks nothing' '
	sb_snapshot_listing_only 50
'

test_done

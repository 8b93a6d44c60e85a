#!/bin/bash
# Incremental Storage capture at scale (issue 5): a repeat snapshot of an
# unchanged project of 10,000 objects in nested folders makes listing
# requests only, downloads nothing, and records exactly what the first
# snapshot did.  t2010 shows the same for 300 objects; this one shows the
# "nothing to download" path does not degrade into per-object requests
# (info, HEAD, GET) once the listing spans many pages and folders.
. "$(dirname "$0")/../test-lib.sh"
. "$VAULT_SRCDIR/tests/storage-lib.sh"

test_expect_success 'setup: 10,000 objects in nested folders of 2 buckets' '
	mkdir seed &&
	python3 -c "
import json
for i in range(10000):
    print(json.dumps({\"bucket\": \"b%d\" % (i % 2),
                      \"name\": \"d%d/s%d/t%d/o%d\" % (i % 10, i % 7, i % 3, i),
                      \"data\": \"obj %d\" % i}))
" >seed/objects.jsonl &&
	sb_start --seed seed && unset SUPABASE_ACCESS_TOKEN &&
	new_repo --encryption none &&
	vault snapshot --json >s1.json &&
	test "$(jq .storage.downloaded s1.json)" = 10000
'

test_expect_success 'a repeat snapshot of 10,000 objects makes listing requests only' '
	sb_snapshot_listing_only 10000
'

test_expect_success 'the repeat snapshot records the same content as the first' '
	vault diff "$(jq -r .id s1.json)" "$(jq -r .id s2.json)" >diff.out &&
	echo "0 added, 0 removed, 0 changed" >expect &&
	test_cmp expect diff.out &&
	test "$(vault ls "$(jq -r .id s2.json)" storage | grep -c "/o[0-9]*\$")" = 10000
'

test_done

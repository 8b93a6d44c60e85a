#!/bin/bash
# Storage capture under faults the test server injects: 503, 429 with
# Retry-After, slow answers, connection resets mid-body and bodies
# shorter than their Content-Length are retried and the snapshot is
# whole; a fault that never ends fails the snapshot, naming the object,
# and commits nothing; with --allow-partial it is committed, tagged
# 'partial', with the missing object in its metadata and summary, and
# vault exits with status 3 (an incomplete snapshot).
. "$(dirname "$0")/../test-lib.sh"
. "$VAULT_SRCDIR/tests/storage-lib.sh"

export VAULT_HTTP_BACKOFF_MS=50

fault() {
	sb_control "{\"op\":\"fault\",\"path\":\"$1\",\"kind\":\"$2\",\"count\":$3${4:+,$4}}" >/dev/null
}

test_expect_success 'setup: 40 objects, one of 3 MB' '
	mkdir seed &&
	python3 -c "
import json
for i in range(40):
    print(json.dumps({\"bucket\": \"media\", \"name\": \"f/o%02d\" % i, \"data\": \"data %d \" % i * 200}))
" >seed/objects.jsonl &&
	sb_start --seed seed && unset SUPABASE_ACCESS_TOKEN &&
	sb_control "{\"op\":\"put_objects\",\"bucket\":\"media\",\"objects\":[{\"name\":\"big\",\"size\":3000000}]}" >/dev/null &&
	new_repo --encryption none
'

test_expect_success 'retries succeed under 503, 429, slow, reset and short bodies' '
	fault "/object/authenticated/media/f/o01" 503 2 &&
	fault "/object/authenticated/media/f/o02" 429 1 "\"retry_after\":1" &&
	fault "/object/authenticated/media/f/o03" slow 1 "\"delay\":0.5" &&
	fault "/object/authenticated/media/big" reset 2 "\"fraction\":0.5" &&
	fault "/object/authenticated/media/f/o05" short 2 "\"fraction\":0.3" &&
	fault "/object/list/media" 503 1 &&
	vault snapshot --json >s1.json &&
	test "$(jq .storage.downloaded s1.json)" = 41 &&
	test "$(jq .storage.partial s1.json)" = false &&
	test "$(sb_control "{\"op\":\"stats\"}" | jq .faulted)" -ge 9 &&
	vault mount latest m --with-metadata >/dev/null &&
	sb_verify m
'

test_expect_success 'a persistent fault fails the snapshot, naming the object' '
	sb_control "{\"op\":\"clear_faults\"}" >/dev/null &&
	sb_control "{\"op\":\"put_objects\",\"bucket\":\"media\",\"objects\":[{\"name\":\"f/bad one\",\"data\":\"x\"}]}" >/dev/null &&
	fault "/object/authenticated/media/f/bad" 503 -1 &&
	vault list --json >before.json &&
	test_must_fail vault snapshot >out 2>err &&
	grep -q "f/bad one" err &&
	grep -qi "nothing was committed" err &&
	vault list --json >after.json &&
	test_cmp before.json after.json &&
	sb_no_secrets out err
'

test_expect_success '--allow-partial commits, lists the missing object, tags partial, exits 3' '
	test_exit_code 3 vault snapshot --allow-partial --json >p.json 2>perr &&
	test "$(jq .storage.partial p.json)" = true &&
	test "$(jq -r ".storage.missing[0]" p.json)" = "media/f/bad one" &&
	jq -e ".tags | index(\"partial\")" p.json &&
	jq -e ".partial == true and .skipped == 1" p.json &&
	vault list --json >l.json &&
	jq -e ".[-1].tags | index(\"partial\")" l.json &&
	jq -e ".[-1].partial == true and .[-1].skipped == 1" l.json &&
	test_exit_code 3 vault snapshot --allow-partial >ptext 2>&1 &&
	grep -q "PARTIAL: 1 objects missing" ptext &&
	grep -q "^  partial:     1 path skipped" ptext &&
	grep -q "media/f/bad one" ptext &&
	vault ls latest storage/media/f >ls.out &&
	! grep -q "bad one" ls.out &&
	sb_no_secrets p.json perr ptext
'

test_done

#!/bin/bash
# Objects Storage lists but cannot serve: Storage v1.22 checks the key of
# every download and info request (ASCII letters, digits and a few
# signs), so an object put there with a non-ASCII name, a % or a # by an
# older version or the S3 protocol answers 400 InvalidKey forever.  The
# snapshot then fails naming the object and --allow-partial; with
# --allow-partial it is committed without them, tagged partial, and with
# no folder left empty by them.
. "$(dirname "$0")/../test-lib.sh"
. "$VAULT_SRCDIR/tests/storage-lib.sh"

put() {
	sb_control "{\"op\":\"put_objects\",\"bucket\":\"media\",\"objects\":$1}" >/dev/null
}

test_expect_success 'setup: a strict server with one legacy name' '
	sb_start --key-policy strict && unset SUPABASE_ACCESS_TOKEN &&
	put "[{\"name\":\"docs/ok.txt\",\"data\":\"ok\"},{\"name\":\"docs/deep/fine.txt\",\"data\":\"fine\"},{\"name\":\"top.txt\",\"data\":\"top\"},{\"name\":\"legacy/caf\u00e9.png\",\"data\":\"old\"}]" &&
	new_repo --encryption none
'

test_expect_success 'the server lists the legacy object but will not serve it' '
	curl -s -H "apikey: $SB_KEY" -H "Authorization: Bearer $SB_KEY" \
		"$SB_URL/storage/v1/object/authenticated/media/legacy/caf%C3%A9.png" >ans &&
	test "$(jq -r .statusCode ans)" = 400 &&
	test "$(jq -r .error ans)" = InvalidKey
'

test_expect_success 'the snapshot fails naming the object and --allow-partial' '
	vault list --json >before.json &&
	test_exit_code 1 vault snapshot >out 2>err &&
	grep -q "InvalidKey" err &&
	grep -q "media/legacy/café.png.*cannot be read.*--allow-partial" err &&
	grep -q "nothing was committed" err &&
	vault list --json >after.json &&
	test_cmp before.json after.json
'

test_expect_success '--allow-partial commits the rest, with no empty folder' '
	put "[{\"name\":\"docs/100%.txt\",\"data\":\"pct\"},{\"name\":\"docs/deep/a#b\",\"data\":\"hash\"},{\"name\":\"gone/\u65e5/x\",\"data\":\"x\"}]" &&
	test_exit_code 3 vault snapshot --allow-partial --json >p.json 2>perr &&
	test "$(jq .storage.missing p.json | jq length)" = 4 &&
	test "$(jq .storage.downloaded p.json)" = 3 &&
	jq -e ".tags | index(\"partial\")" p.json &&
	test "$(grep -c "left out" perr)" = 4 &&
	vault ls latest >ls.out &&
	grep -q "storage/media/docs/ok.txt" ls.out &&
	grep -q "storage/media/docs/deep/fine.txt" ls.out &&
	grep -q "storage/media/top.txt" ls.out &&
	! grep -q "legacy" ls.out &&
	! grep -q "storage/media/gone" ls.out &&
	! grep -q "%.txt\|a#b" ls.out &&
	vault mount latest m >/dev/null &&
	test_path_is_missing m/storage/media/legacy &&
	test_path_is_missing m/storage/media/gone &&
	test "$(cat m/storage/media/docs/deep/fine.txt)" = fine
'

test_done

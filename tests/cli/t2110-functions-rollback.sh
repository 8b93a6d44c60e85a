#!/bin/bash
# vault rollback --only functions: a functions restore keeps the source
# of every function it overwrites in a safety snapshot and logs the
# functions it creates; the rollback deploys the kept sources again and
# deletes the created functions, so the project is exactly as it was
# before the restore.
. "$(dirname "$0")/../test-lib.sh"
. "$VAULT_SRCDIR/tests/storage-lib.sh"

# fstate FILE: the functions the server holds, without versions and times.
fstate() {
	sb_control '{"op":"state"}' | python3 -c '
import json, sys
s = json.load(sys.stdin)
out = {}
for slug, f in s["functions"].items():
    out[slug] = {"name": f["name"], "verify_jwt": f["verify_jwt"],
                 "entrypoint": f["entrypoint_path"].rsplit("/source/", 1)[-1],
                 "files": f["files"]}
json.dump(out, sys.stdout, indent=1, sort_keys=True, ensure_ascii=True)
print()' >"$1"
}

# mapi METHOD PATH [curl args]: a Management API call with the token.
mapi() {
	local m=$1 p=$2
	shift 2
	curl -sf -o /dev/null -X "$m" -H "Authorization: Bearer $SB_TOKEN" "$@" \
		"$SB_URL/v1/projects/$SB_REF/functions$p"
}

test_expect_success 'setup: two functions, one snapshot' '
	sb_seed_functions seed &&
	sb_start --seed seed &&
	new_repo --encryption none &&
	vault snapshot --json >s.json &&
	SNAP=$(jq -r .id s.json) && test -n "$SNAP" &&
	fstate f0 &&
	test "$(jq -r "keys | join(\",\")" f0)" = bye,hello
'

test_expect_success 'the Management API deletes functions (404 for an unknown one)' '
	printf "Deno.serve(() => new Response(\"tmp\"));\n" >tmp.ts &&
	mapi POST "/deploy?slug=tmp" -F "metadata={\"entrypoint_path\":\"tmp.ts\"};type=application/json" \
		-F "file=@tmp.ts;filename=tmp.ts" &&
	mapi DELETE /tmp &&
	test_must_fail mapi DELETE /tmp &&
	fstate f &&
	test_cmp f0 f
'

test_expect_success 'setup: hello changes, bye is deleted, extra is added' '
	printf "Deno.serve(() => new Response(\"changed\"));\n" >index.ts &&
	mapi POST "/deploy?slug=hello" -F "metadata={\"entrypoint_path\":\"index.ts\",\"name\":\"Hello2\",\"verify_jwt\":true};type=application/json" \
		-F "file=@index.ts;filename=index.ts" &&
	mapi DELETE /bye &&
	printf "Deno.serve(() => new Response(\"extra\"));\n" >extra.ts &&
	mapi POST "/deploy?slug=extra" -F "metadata={\"entrypoint_path\":\"extra.ts\"};type=application/json" \
		-F "file=@extra.ts;filename=extra.ts" &&
	fstate f1 &&
	test "$(jq -r "keys | join(\",\")" f1)" = extra,hello &&
	test "$(jq -r .hello.name f1)" = Hello2
'

test_expect_success 'the restore keeps the overwritten hello and logs the created bye' '
	vault restore "$SNAP" --only functions --yes >out 2>err &&
	grep "safety snapshot .* holds the 1 function this restore overwrites" out &&
	fstate f2 &&
	test "$(jq -r "keys | join(\",\")" f2)" = bye,extra,hello &&
	test "$(jq .hello f2)" = "$(jq .hello f0)" &&
	test "$(jq .bye f2)" = "$(jq .bye f0)" &&
	vault list --tag safety --json >l &&
	test "$(jq length l)" = 1 &&
	vault ls "$(jq -r ".[0].id" l)" >ls &&
	grep "functions/hello/index.ts" ls &&
	! grep "functions/bye" ls &&
	! grep "functions/extra" ls
'

test_expect_success 'a dry-run rollback changes nothing' '
	vault rollback --only functions --dry-run >out &&
	grep "delete bye" out &&
	grep "deploy hello" out &&
	fstate f &&
	test_cmp f2 f
'

test_expect_success 'the rollback gives back exactly the pre-restore functions' '
	vault rollback --only functions --yes >out 2>err &&
	grep "1 deployed again, 1 deleted" out &&
	fstate f3 &&
	test_cmp f1 f3 &&
	sb_no_secrets out err
'

test_expect_success 'a restore of only new functions needs no safety snapshot; rollback deletes them' '
	fstate f4 &&
	test "$(jq .bye f4)" = null &&
	vault restore "$SNAP" --only functions --function bye --yes >out &&
	grep "1 deployed (1 new)" out &&
	! grep "safety snapshot" out &&
	vault rollback --only functions --yes >out &&
	fstate f &&
	test_cmp f4 f
'

test_done

#!/bin/bash
# Edge Functions into the snapshot through the Management API: every
# function's source files under functions/<slug>/ and its settings in
# functions/<slug>/.function.json; the access token appears nowhere.
. "$(dirname "$0")/../test-lib.sh"
. "$VAULT_SRCDIR/tests/storage-lib.sh"

test_expect_success 'setup: two functions, one with nested files' '
	sb_seed_functions seed &&
	sb_start --seed seed && unset SUPABASE_SERVICE_ROLE_KEY &&
	new_repo --encryption none
'

test_expect_success 'a bare snapshot captures the functions' '
	vault snapshot --json >s.json 2>err &&
	test "$(jq .functions.functions s.json)" = 2 &&
	test "$(jq .functions.files s.json)" = 3 &&
	vault mount latest m >/dev/null &&
	cmp seed/functions/hello/index.ts m/functions/hello/index.ts &&
	cmp seed/functions/hello/lib/util.ts m/functions/hello/lib/util.ts &&
	cmp seed/functions/bye/main.ts m/functions/bye/main.ts &&
	test "$(jq -r .slug m/functions/hello/.function.json)" = hello &&
	test "$(jq -r .name m/functions/hello/.function.json)" = Hello &&
	test "$(jq -r .verify_jwt m/functions/hello/.function.json)" = false &&
	test "$(jq -r .entrypoint_path m/functions/hello/.function.json)" = index.ts &&
	test "$(jq -r .entrypoint_path m/functions/bye/.function.json)" = main.ts &&
	test "$(jq -r .version m/functions/bye/.function.json)" -ge 1 &&
	test_path_is_missing m/storage &&
	sb_no_secrets s.json err m/functions/*/.function.json &&
	vault cat latest functions/hello/.function.json >hf.json &&
	test "$(jq -r .slug hf.json)" = hello && sb_no_secrets hf.json &&
	vault list --json >l.json && vault ls latest >ls.out && sb_no_secrets l.json ls.out &&
	! grep -r -a -q -e "$SB_KEY" -e "$SB_TOKEN" "$TEST_TMP/repo"
'

test_expect_success 'PATHs alone do not pull in the project; --no-functions leaves it out' '
	echo hi >file &&
	vault snapshot file --json >p.json &&
	test "$(jq .functions p.json)" = null &&
	test_must_fail vault snapshot --no-functions >o 2>e
'

test_expect_success 'the Management API rate limit: a 429 with Retry-After is waited out' '
	sb_control "{\"op\":\"rate_limit\",\"limit\":2,\"window\":3}" >/dev/null &&
	sb_control "{\"op\":\"reset_stats\"}" >/dev/null &&
	start=$(date +%s) &&
	vault snapshot --json >r.json 2>rerr &&
	end=$(date +%s) &&
	test "$(jq .functions.functions r.json)" = 2 &&
	test "$(jq .functions.files r.json)" = 3 &&
	sb_routes >routes &&
	sb_control "{\"op\":\"stats\"}" >stats.json &&
	test "$(jq "[.routes | to_entries[] | select(.key | startswith(\"mgmt\")) | .value] | add" stats.json)" -ge 4 &&
	test $((end - start)) -ge 2 &&
	vault mount latest m3 >/dev/null &&
	cmp seed/functions/hello/index.ts m3/functions/hello/index.ts &&
	cmp seed/functions/bye/main.ts m3/functions/bye/main.ts &&
	sb_no_secrets r.json rerr
'

test_expect_success 'a 429 that outlasts the retries fails the snapshot and commits nothing' '
	sb_control "{\"op\":\"rate_limit\",\"limit\":0,\"window\":3600}" >/dev/null &&
	vault list --json | jq length >n0 &&
	test_must_fail vault snapshot >o 2>e &&
	vault list --json | jq length >n1 &&
	test_cmp n0 n1 &&
	sb_no_secrets o e &&
	sb_control "{\"op\":\"rate_limit\",\"limit\":60,\"window\":60}" >/dev/null
'

test_done

#!/bin/bash
# Edge Functions into the snapshot through the Management API: every
# function's source files under functions/<slug>/ and its settings in
# functions/<slug>/.function.json; the access token appears nowhere.
. "$(dirname "$0")/../test-lib.sh"
. "$VAULT_SRCDIR/tests/storage-lib.sh"

test_expect_success 'setup: two functions, one with nested files' '
	mkdir -p seed/functions/hello/lib seed/functions/bye &&
	printf "import { x } from \"./lib/util.ts\";\nDeno.serve(() => new Response(x));\n" >seed/functions/hello/index.ts &&
	printf "export const x = \"hi\";\n" >seed/functions/hello/lib/util.ts &&
	printf "{\"name\": \"Hello\", \"verify_jwt\": false, \"entrypoint_path\": \"index.ts\"}\n" >seed/functions/hello.function.json &&
	printf "Deno.serve(() => new Response(\"bye\"));\n" >seed/functions/bye/main.ts &&
	printf "{\"entrypoint_path\": \"main.ts\"}\n" >seed/functions/bye.function.json &&
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
	sb_no_secrets s.json err m/functions/*/.function.json
'

test_expect_success 'PATHs alone do not pull in the project; --no-functions leaves it out' '
	echo hi >file &&
	vault snapshot file --json >p.json &&
	test "$(jq .functions p.json)" = null &&
	test_must_fail vault snapshot --no-functions >o 2>e
'

test_done

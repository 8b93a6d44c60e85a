#!/bin/bash
# vault restore --only storage[,functions] against tests/fake-supabase.py:
# dry-run changes nothing, merge brings back missing and changed objects
# and deletes nothing, mirror also deletes extras after keeping what it
# deletes or overwrites in a safety snapshot, `vault rollback --only
# storage` puts that back, empty refuses non-empty buckets, and a whole
# project (hostile names, a 9 MB object, bucket settings, functions)
# comes back exactly after everything on the server was deleted.
. "$(dirname "$0")/../test-lib.sh"
. "$VAULT_SRCDIR/tests/storage-lib.sh"

PYTHONPATH=$VAULT_SRCDIR/tests/fixtures python3 - <<'PY' >objects.jsonl
from storage_seed import obj, hostile
for i in range(40):
    obj("media", "users/u%d/img-%02d.txt" % (i % 4, i), "image %d " % i * (i % 9),
        mimetype="text/plain", cacheControl="max-age=%d" % (i * 60),
        metadata={"owner": "u%d" % (i % 4), "n": i} if i % 3 == 0 else None)
hostile("hostile")
PY

# state FILE: what the server holds, without times and versions.
state() {
	sb_control '{"op":"state"}' | python3 -c '
import json, sys
s = json.load(sys.stdin)
out = {"buckets": {}, "functions": {}}
for bid, b in s["buckets"].items():
    out["buckets"][bid] = {k: b[k] for k in ("public", "file_size_limit", "allowed_mime_types")}
    out["buckets"][bid]["objects"] = {n: [o["size"], o["eTag"], o["mimetype"], o["cacheControl"], o["metadata"]]
                                      for n, o in b["objects"].items()}
for slug, f in s["functions"].items():
    out["functions"][slug] = {"name": f["name"], "verify_jwt": f["verify_jwt"],
                              "entrypoint": f["entrypoint_path"].rsplit("/source/", 1)[-1],
                              "files": f["files"]}
json.dump(out, sys.stdout, indent=1, sort_keys=True, ensure_ascii=True)
print()' >"$1"
}

SAPI=
# sapi METHOD PATH [curl args]: a Storage API call with the service key.
sapi() {
	local m=$1 p=$2
	shift 2
	curl -sf -X "$m" -H "apikey: $SB_KEY" -H "Authorization: Bearer $SB_KEY" "$@" "$SAPI$p" >/dev/null
}

test_expect_success 'setup: a project with 3 buckets and 2 functions, one snapshot' '
	mkdir -p seed/storage/pub seed/functions/hello/lib seed/functions/bye &&
	cp objects.jsonl seed/ &&
	echo "public file" >seed/storage/pub/readme.txt &&
	printf "{\"public\": true, \"file_size_limit\": 1048576, \"allowed_mime_types\": [\"text/plain\", \"image/png\"]}\n" >seed/storage/pub.bucket.json &&
	printf "import { x } from \"./lib/util.ts\";\nDeno.serve(() => new Response(x));\n" >seed/functions/hello/index.ts &&
	printf "export const x = \"hi\";\n" >seed/functions/hello/lib/util.ts &&
	printf "{\"name\": \"Hello\", \"verify_jwt\": false, \"entrypoint_path\": \"index.ts\"}\n" >seed/functions/hello.function.json &&
	printf "Deno.serve(() => new Response(\"bye\"));\n" >seed/functions/bye/main.ts &&
	printf "{\"entrypoint_path\": \"main.ts\"}\n" >seed/functions/bye.function.json &&
	sb_start --seed seed &&
	SAPI=$SB_URL/storage/v1 &&
	sb_control "{\"op\":\"put_objects\",\"bucket\":\"media\",\"objects\":[{\"name\":\"big/blob.bin\",\"size\":9437184,\"seed\":3,\"mimetype\":\"application/x-big\"}]}" >/dev/null &&
	new_repo --encryption none &&
	vault snapshot --json >snap.json &&
	test "$(jq .storage.buckets snap.json)" = 3 &&
	SNAP=$(jq -r .id snap.json) && test -n "$SNAP" &&
	state s0
'

test_expect_success 'setup: the project drifts (deleted, changed, extra objects, a deleted bucket)' '
	sapi DELETE "/object/media/users/u1/img-01.txt" &&
	sapi DELETE "/object/hostile/..%2Fescape" &&
	sb_control "{\"op\":\"put_objects\",\"bucket\":\"media\",\"objects\":[{\"name\":\"users/u2/img-02.txt\",\"data\":\"changed\"},{\"name\":\"extra/new.txt\",\"data\":\"not in the snapshot\"}]}" >/dev/null &&
	sapi POST /bucket/pub/empty && sapi DELETE /bucket/pub &&
	state drift && ! test_cmp s0 drift >/dev/null
'

test_expect_success 'dry-run prints the plan and changes nothing' '
	vault restore "$SNAP" --only storage --mode mirror --dry-run >plan 2>err &&
	grep -q "1 bucket to create" plan &&
	grep -q "create bucket pub" plan &&
	grep -q "upload media/users/u1/img-01.txt" plan &&
	grep -q "upload media/users/u2/img-02.txt" plan &&
	grep -q "upload hostile/../escape" plan &&
	grep -q "delete media/extra/new.txt" plan &&
	grep -q "4 objects to upload (3 new, 1 changed)" plan &&
	grep -q "dry run: nothing was changed" plan &&
	state d1 && test_cmp drift d1 &&
	test "$(vault restores --json | jq length)" = 0 &&
	sb_no_secrets plan err
'

test_expect_success 'an overwriting restore needs --yes' '
	test_must_fail_with 2 "pass --yes" vault restore "$SNAP" --only storage &&
	state d2 && test_cmp drift d2
'

test_expect_success 'empty mode refuses buckets that hold objects' '
	test_must_fail_with 1 "already hold" vault restore "$SNAP" --only storage --mode empty --bucket media --yes &&
	state d3 && test_cmp drift d3
'

test_expect_success 'empty mode restores a missing bucket with its settings' '
	vault restore "$SNAP" --only storage --mode empty --bucket pub >o 2>e &&
	state e1 &&
	python3 -c "
import json, sys
a, b = json.load(open(\"s0\")), json.load(open(\"e1\"))
assert a[\"buckets\"][\"pub\"] == b[\"buckets\"][\"pub\"], (a[\"buckets\"][\"pub\"], b[\"buckets\"].get(\"pub\"))
assert b[\"buckets\"][\"pub\"][\"public\"] is True
"
'

test_expect_success 'merge brings back missing and changed objects, deletes nothing' '
	vault restore "$SNAP" --only storage --yes >o 2>e &&
	grep -q "verification ok" o &&
	state m1 &&
	python3 -c "
import json
a, b = json.load(open(\"s0\")), json.load(open(\"m1\"))
extra = b[\"buckets\"][\"media\"][\"objects\"].pop(\"extra/new.txt\")
assert extra[0] == len(\"not in the snapshot\")
assert a == b
" &&
	vault restores --json >r.json &&
	test "$(jq -r ".[-1].kind" r.json)" = storage &&
	test "$(jq -r ".[-1].storage.verification" r.json)" = ok &&
	test "$(jq -r ".[-1].storage.deleted" r.json)" = 0 &&
	test "$(jq -r ".[-1].safety_snapshot" r.json)" = null &&
	sb_no_secrets r.json o e
'

test_expect_success 'a repeated merge uploads nothing' '
	sb_control "{\"op\":\"reset_stats\"}" >/dev/null &&
	vault restore "$SNAP" --only storage >o 2>e &&
	grep -q "0 objects uploaded" o &&
	! sb_routes | grep -q "upload"
'

test_expect_success 'mirror deletes extras and overwrites changes, keeping them in a safety snapshot' '
	sb_control "{\"op\":\"put_objects\",\"bucket\":\"media\",\"objects\":[{\"name\":\"users/u3/img-03.txt\",\"data\":\"changed again\",\"metadata\":{\"x\":\"y\"}}]}" >/dev/null &&
	sapi DELETE "/object/media/users/u0/img-00.txt" &&
	state p1 &&
	vault restore "$SNAP" --only storage --mode mirror --yes >o 2>e &&
	grep -q "safety snapshot" o &&
	grep -q "1 deleted" o &&
	state m2 && test_cmp s0 m2 &&
	vault restores --json >r.json &&
	safety=$(jq -r ".[-1].safety_snapshot" r.json) &&
	vault list --json >l.json &&
	jq -e --arg s "$safety" ".[] | select(.id == \$s) | .tags | index(\"safety\")" l.json &&
	vault ls "$safety" >sl &&
	grep -q "storage/media/extra/new.txt" sl &&
	grep -q "storage/media/users/u3/img-03.txt" sl &&
	test "$(grep -c "\\.txt\$" sl)" = 2
'

test_expect_success 'rollback after mirror puts the deleted and overwritten objects back' '
	vault rollback --only storage --dry-run >o &&
	grep -q "upload media/extra/new.txt" o &&
	grep -q "upload media/users/u3/img-03.txt" o &&
	grep -q "delete media/users/u0/img-00.txt" o &&
	state m3 && test_cmp s0 m3 &&
	vault rollback --only storage --yes >o 2>e &&
	state r1 && test_cmp p1 r1
'

test_expect_success 'a whole project round-trips: hostile names, big objects, settings, functions' '
	sb_control "{\"op\":\"delete_all\"}" >/dev/null &&
	vault restore "$SNAP" --only storage,functions --mode empty >o 2>e &&
	grep -q "functions: 2 deployed" o &&
	state w1 && test_cmp s0 w1 &&
	vault restores --json >r.json &&
	test "$(jq -r ".[-1].functions.deployed | length" r.json)" = 2
'

test_expect_success 'functions: one slug, usage errors' '
	vault restore "$SNAP" --only functions --function bye >o 2>e &&
	grep -q "functions: 1 deployed" o &&
	test_must_fail_with 2 "no such function" vault restore "$SNAP" --only functions --function nope &&
	test_must_fail_with 2 "no such bucket" vault restore "$SNAP" --only storage --bucket nope &&
	test_must_fail_with 2 "merge, mirror or empty" vault restore "$SNAP" --only storage --mode clean &&
	test_must_fail_with 2 "cannot be combined" vault restore "$SNAP" --only storage,data &&
	test_must_fail_with 2 "cannot be combined" vault restore "$SNAP" --only data,functions
'

test_expect_success 'vault restore --help names the storage and functions options' '
	vault restore --help >h &&
	grep -q -- "--only storage" h && grep -q -- "--only functions" h &&
	grep -q -- "--bucket B" h && grep -q -- "--path GLOB" h &&
	grep -q -- "--function SLUG" h && grep -q -- "merge|mirror|empty" h
'

test_expect_success 'a database option with --only storage is refused by name' '
	test_must_fail_with 2 "--table is for a database restore; --only storage and functions select with --bucket" \
		vault restore latest --only storage --table public.x &&
	test_must_fail_with 2 "--jobs is for a database rollback" \
		vault rollback --only storage --jobs 2
'

test_done

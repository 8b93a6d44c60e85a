# t2-storage-lib.sh: sourced by the t2NNN Storage scenarios after
# test-lib.sh.  Starts tests/fake-supabase.py (skipping loudly without
# python3), points vault at it through the environment, and gives the
# scenarios a way to talk to its /__control endpoint.
command -v python3 >/dev/null 2>&1 ||
	skip_all "python3 is missing: the Storage scenarios need tests/fake-supabase.py"
command -v curl >/dev/null 2>&1 || skip_all "curl is missing"

FAKESB=$VAULT_SRCDIR/tests/fake-supabase.py
SB_KEY=service-role-secret-1f2e3d
SB_TOKEN=sbp_secret_token_9a8b7c
SB_REF=abcdefghijklmnopqrst

# sb_start [ARGS...]: starts the server (seeded by ARGS) and exports the
# settings vault reads.
sb_start() {
	python3 "$FAKESB" --service-key "$SB_KEY" --access-token "$SB_TOKEN" \
		--project-ref "$SB_REF" "$@" >"$TRASH/.sb-port" 2>"$TRASH/.sb-log" &
	SB_PID=$!
	test_at_exit "kill $SB_PID 2>/dev/null"
	for _ in $(seq 1 100); do
		[ -s "$TRASH/.sb-port" ] && break
		sleep 0.1
	done
	SB_PORT=$(head -n1 "$TRASH/.sb-port")
	[ -n "$SB_PORT" ] || return 1
	SB_URL=http://127.0.0.1:$SB_PORT
	export SUPABASE_URL=$SB_URL SUPABASE_SERVICE_ROLE_KEY=$SB_KEY
	export SUPABASE_ACCESS_TOKEN=$SB_TOKEN SUPABASE_PROJECT_REF=$SB_REF
	export SUPABASE_API_URL=$SB_URL
	unset SUPABASE_DB_URL VAULT_DB_URL
}

# sb_seed_functions DIR: two Edge Functions under DIR/functions for
# sb_start --seed DIR: hello (index.ts importing lib/util.ts, a name and
# verify_jwt off) and bye (main.ts).
sb_seed_functions() {
	mkdir -p "$1/functions/hello/lib" "$1/functions/bye" &&
	printf "import { x } from \"./lib/util.ts\";\nDeno.serve(() => new Response(x));\n" >"$1/functions/hello/index.ts" &&
	printf "export const x = \"hi\";\n" >"$1/functions/hello/lib/util.ts" &&
	printf "{\"name\": \"Hello\", \"verify_jwt\": false, \"entrypoint_path\": \"index.ts\"}\n" >"$1/functions/hello.function.json" &&
	printf "Deno.serve(() => new Response(\"bye\"));\n" >"$1/functions/bye/main.ts" &&
	printf "{\"entrypoint_path\": \"main.ts\"}\n" >"$1/functions/bye.function.json"
}

# sb_snapshot_listing_only N: a repeat snapshot (its JSON in s2.json)
# downloads none of the N objects and makes listing requests only, as the
# server's request counters say.
sb_snapshot_listing_only() {
	sb_control "{\"op\":\"reset_stats\"}" >/dev/null &&
	vault snapshot --json >s2.json &&
	test "$(jq .storage.downloaded s2.json)" = 0 &&
	test "$(jq .storage.unchanged s2.json)" = "$1" &&
	sb_routes >routes &&
	printf "storage.bucket.list\nstorage.object.list\n" >expect &&
	test_cmp expect routes
}

# sb_control JSON: POSTs to /__control, prints the answer.
sb_control() {
	curl -sf -X POST -H 'Content-Type: application/json' --data-binary "$1" \
		"$SB_URL/__control"
}

# sb_count ROUTE: requests counted for ROUTE since the last reset_stats.
sb_count() {
	sb_control '{"op":"stats"}' |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["routes"].get(sys.argv[1], 0))' "$1"
}

# sb_routes: the routes hit since the last reset_stats, one per line.
sb_routes() {
	sb_control '{"op":"stats"}' |
		python3 -c 'import json,sys; [print(k) for k,v in sorted(json.load(sys.stdin)["routes"].items()) if v]'
}

# sb_no_secrets FILE...: neither key appears.
sb_no_secrets() {
	! grep -q -e "$SB_KEY" -e "$SB_TOKEN" "$@"
}

# sb_verify DIR: every object on the server is in DIR (a mount with
# --with-metadata) with its exact name (from the sidecar), its bytes
# (MD5 = the server's eTag) and its metadata; nothing else is there.
sb_verify() {
	sb_control '{"op":"state"}' >"$TRASH/.sb-state" &&
	python3 - "$1" "$TRASH/.sb-state" <<'PY'
import hashlib, json, os, sys
root, state = sys.argv[1], json.load(open(sys.argv[2]))
want = {}
for bid, b in state["buckets"].items():
    for name, o in b["objects"].items():
        want[(bid, name)] = o
seen = {}
base = os.path.join(root, "storage")
for d, _, files in os.walk(base):
    for f in files:
        if not f.endswith(".vault-meta.json"):
            continue
        side = json.load(open(os.path.join(d, f)))
        data = os.path.join(d, f[:-len(".vault-meta.json")])
        key = (side["storage.bucket"], side["storage.name"])
        o = want.get(key)
        if o is None:
            sys.exit("unexpected object %r" % (key,))
        md5 = hashlib.md5(open(data, "rb").read()).hexdigest()
        if '"%s"' % md5 != o["eTag"] or side["storage.etag"] != o["eTag"]:
            sys.exit("bytes differ for %r" % (key,))
        if int(side["storage.size"]) != o["size"]:
            sys.exit("size differs for %r" % (key,))
        if side.get("storage.content_type") != o["mimetype"]:
            sys.exit("content type differs for %r" % (key,))
        if side.get("storage.cache_control") != o["cacheControl"]:
            sys.exit("cache-control differs for %r" % (key,))
        if (side.get("storage.metadata") or None) != (o.get("metadata") or None):
            sys.exit("user metadata differs for %r: %r %r" % (key, side.get("storage.metadata"), o.get("metadata")))
        seen[key] = 1
missing = set(want) - set(seen)
if missing:
    sys.exit("%d objects missing, e.g. %r" % (len(missing), sorted(missing)[:3]))
print("verified", len(seen))
PY
}

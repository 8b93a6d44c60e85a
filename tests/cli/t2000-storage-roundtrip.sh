#!/bin/bash
# A Supabase project's Storage through `vault snapshot` and `vault mount`:
# 3 buckets, about 2,000 objects in nested folders, hostile names, empty
# and 20 MB objects, content types, cache-control and user metadata.  The
# mount is byte-identical (MD5 against the server's eTags) and, with
# --with-metadata, every object's sidecar gives back its exact name and
# metadata; a plain mount is just the files.  Keys appear nowhere.
. "$(dirname "$0")/../test-lib.sh"
. "$VAULT_SRCDIR/tests/storage-lib.sh"

# The project: objects.jsonl for the small ones, put_objects for the big.
PYTHONPATH=$VAULT_SRCDIR/tests/fixtures python3 - <<'PY' >objects.jsonl
import random
from storage_seed import obj, hostile
rnd = random.Random(7)
for i in range(1400):
    obj("media", "users/u%03d/photos/%d/img-%04d.txt" % (i % 40, i % 7, i),
        "image %d " % i * rnd.randint(0, 40), mimetype="text/plain",
        cacheControl="max-age=%d" % (i % 5 * 60),
        metadata={"owner": "u%03d" % (i % 40), "n": i} if i % 3 == 0 else None)
for i in range(560):
    obj("docs", "a/b/c/d/e/doc-%d.md" % i if i % 2 else "top-%d.md" % i,
        "# doc %d\n" % i, mimetype="text/markdown")
hostile("hostile")
PY
test_expect_success 'setup: the fake project and a repository' '
	mkdir seed && cp objects.jsonl seed/ &&
	sb_start --seed seed &&
	sb_control "{\"op\":\"put_objects\",\"bucket\":\"media\",\"objects\":[{\"name\":\"big/video.bin\",\"size\":20971520,\"seed\":1,\"mimetype\":\"video/mp4\",\"metadata\":{\"len\":\"20MB\"}},{\"name\":\"big/empty.bin\",\"size\":0}]}" >/dev/null &&
	test "$(sb_control "{\"op\":\"state\"}" | jq "[.buckets[].objects | length] | add")" -ge 1980 &&
	new_repo --encryption none
'

test_expect_success 'a bare vault snapshot with the settings in .env captures Storage' '
	printf "SUPABASE_URL=%s\nSUPABASE_SERVICE_ROLE_KEY=%s\n" "$SB_URL" "$SB_KEY" >.env &&
	chmod 600 .env &&
	(unset SUPABASE_URL SUPABASE_SERVICE_ROLE_KEY SUPABASE_ACCESS_TOKEN; vault snapshot --json >snap.json 2>snap.err; rc=$?; cat snap.err; exit $rc) &&
	test "$(jq -r .storage.buckets snap.json)" = 3 &&
	test "$(jq -r .storage.objects snap.json)" -ge 1980 &&
	test "$(jq -r .storage.downloaded snap.json)" = "$(jq -r .storage.objects snap.json)" &&
	test "$(jq -r .storage.partial snap.json)" = false &&
	sb_no_secrets snap.json snap.err &&
	vault list --json >list.json && sb_no_secrets list.json &&
	test "$(jq -r ".[0].tags | length" list.json)" = 0 &&
	# --json: the messages are JSON lines of the stream on stderr
	jq -es "[.[] | select(.message_type == \"note\" and .message
		== \"no source named on the command line: ./.env adds Storage at $SB_URL/storage/v1\")]
		| length == 1" snap.err
'

test_expect_success 'sources named on the command line are all it takes: ./.env adds nothing' '
	mkdir -p only && echo x >only/f &&
	(unset SUPABASE_URL SUPABASE_SERVICE_ROLE_KEY SUPABASE_ACCESS_TOKEN;
	 vault snapshot --json only >paths.json 2>paths.err) &&
	test "$(jq -r ".storage // \"none\"" paths.json)" = none &&
	! grep -q "\.env" paths.err &&
	(unset SUPABASE_URL SUPABASE_SERVICE_ROLE_KEY SUPABASE_ACCESS_TOKEN;
	 vault snapshot --json --env-file .env >named.json 2>named.err) &&
	test "$(jq -r .storage.buckets named.json)" = 3 &&
	jq -es "[.[] | select(.message_type == \"note\")] == []" named.err
'

test_expect_success 'the layout: storage/<bucket>/.bucket.json and the objects' '
	vault ls latest storage >ls.out &&
	grep -q "storage/media/.bucket.json" ls.out &&
	grep -q "storage/docs/a/b/c/d/e/doc-1.md" ls.out &&
	vault cat latest storage/media/.bucket.json >bucket.json &&
	test "$(jq -r .id bucket.json)" = media &&
	test "$(jq -r .public bucket.json)" = false &&
	sb_no_secrets bucket.json
'

test_expect_success 'mount --with-metadata: byte-identical, exact names and metadata' '
	vault mount latest m1 --with-metadata >mount.out &&
	sb_verify m1 &&
	cmp m1/storage/media/big/video.bin <(curl -sf -H "apikey: $SB_KEY" -H "Authorization: Bearer $SB_KEY" "$SB_URL/storage/v1/object/authenticated/media/big/video.bin") &&
	test -f m1/storage/media/big/empty.bin && ! test -s m1/storage/media/big/empty.bin &&
	jq -e ".[\"storage.metadata\"].len == \"20MB\"" m1/storage/media/big/video.bin.vault-meta.json
'

test_expect_success 'hostile names stay inside the mount, percent-encoded' '
	test_path_is_missing escape && test_path_is_missing m1/escape &&
	test_path_is_missing m1/storage/escape &&
	test -d m1/storage/hostile &&
	test "$(find m1/storage/hostile -name "*.vault-meta.json" | wc -l)" = 25 &&
	test -f "m1/storage/hostile/%2Ebucket.json" &&
	test -f "m1/storage/hostile/x%2Evault-meta.json" &&
	test -f m1/storage/hostile/dir-and-file/child
'

test_expect_success 'a plain mount is just the files' '
	vault mount latest m2 >/dev/null &&
	test "$(find m2 -name "*.vault-meta.json" | wc -l)" = 0 &&
	test "$(find m2/storage -type f | wc -l)" = "$(( ($(find m1/storage -type f | wc -l) - 3) / 2 + 3 ))"
'

test_expect_success 'the keys are nowhere in the repository, the sidecars or the outputs' '
	vault ls latest >all.ls && vault list >list.txt && vault stats >info.txt &&
	sb_no_secrets all.ls list.txt info.txt mount.out &&
	! grep -r -a -q -e "$SB_KEY" -e "$SB_TOKEN" "$TEST_TMP/repo" &&
	test -f "$TEST_TMP/repo/index.db" -o -n "$(find "$TEST_TMP/repo" -name "*.db")" &&
	for db in $(find "$TEST_TMP/repo" -name "*.db*"); do
		! strings -a "$db" | grep -q -e "$SB_KEY" -e "$SB_TOKEN" || return 1
	done &&
	! grep -r -a -q -e "$SB_KEY" -e "$SB_TOKEN" m1 m2
'

test_expect_success 'an .env readable by others is warned about, and still used' '
	chmod 644 .env &&
	(unset SUPABASE_URL SUPABASE_SERVICE_ROLE_KEY SUPABASE_ACCESS_TOKEN; vault snapshot --json >s2.json 2>s2.err) &&
	grep -q "readable by group or others" s2.err &&
	test "$(jq -r .storage.downloaded s2.json)" = 0 &&
	(unset SUPABASE_URL SUPABASE_SERVICE_ROLE_KEY SUPABASE_ACCESS_TOKEN; vault restore latest --only storage --dry-run >r2.out 2>r2.err) &&
	grep -q "readable by group or others" r2.err &&
	sb_no_secrets s2.json s2.err r2.out r2.err &&
	chmod 600 .env &&
	(unset SUPABASE_URL SUPABASE_SERVICE_ROLE_KEY SUPABASE_ACCESS_TOKEN; vault restore latest --only storage --dry-run >r3.out 2>r3.err) &&
	! grep -q "readable" r3.err
'

test_done

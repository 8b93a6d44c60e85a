#!/bin/bash
# The database and Storage in one snapshot: the database is read at one
# instant, each object when it is downloaded.  storage.objects (as of
# the database's instant) says which version of each object the
# database knew; the snapshot compares it with what it downloaded and
# records the objects that changed, vanished or appeared in between in
# storage/.vault-drift.json, the attribute storage.drift, its metadata
# and its summary.  Here the test database holds the rows Storage had,
# and the server then moves on: what a snapshot sees when the project
# changes between the database's instant and the downloads.
. "$(dirname "$0")/../test-lib.sh"
. "$VAULT_SRCDIR/tests/db-lib.sh"
. "$VAULT_SRCDIR/tests/storage-lib.sh"

db_start
command -v jq >/dev/null || skip_all "jq is missing"

# Storage's own tables, as its migrations make them (the columns vault
# reads, and a few it does not).
STORAGE_SCHEMA='
CREATE SCHEMA storage;
CREATE TABLE storage.buckets (id text PRIMARY KEY, name text NOT NULL,
	public boolean DEFAULT false, created_at timestamptz DEFAULT now());
CREATE TABLE storage.objects (
	id uuid PRIMARY KEY, bucket_id text REFERENCES storage.buckets (id),
	name text, owner uuid, created_at timestamptz DEFAULT now(),
	updated_at timestamptz DEFAULT now(), last_accessed_at timestamptz DEFAULT now(),
	metadata jsonb, path_tokens text[] GENERATED ALWAYS AS (string_to_array(name, $$/$$)) STORED,
	version text, owner_id text, user_metadata jsonb);
CREATE UNIQUE INDEX bucketid_objname ON storage.objects (bucket_id, name);
CREATE TABLE public.profiles (id int PRIMARY KEY, avatar text);
INSERT INTO public.profiles VALUES (1, $$u1/face.png$$), (2, $$u2/face.png$$);
'

put() {
	sb_control "{\"op\":\"put_objects\",\"bucket\":\"$1\",\"objects\":$2}" >/dev/null
}

# snap [ARGS]: the database and the project's Storage in one snapshot.
snap() {
	vault snapshot --db dbname=proj --storage-url "$SB_URL/storage/v1" "$@"
}

test_expect_success 'setup: a project whose database holds its storage.objects' '
	sb_start && unset SUPABASE_ACCESS_TOKEN &&
	put avatars "[{\"name\":\"u1/face.png\",\"data\":\"face one\"},{\"name\":\"u2/face.png\",\"data\":\"face two\"},{\"name\":\"u3/face.png\",\"data\":\"face three\"}]" &&
	put docs "[{\"name\":\"a.pdf\",\"data\":\"pdf a\"},{\"name\":\"caf\u00e9.pdf\",\"data\":\"pdf b\",\"metadata\":{\"k\":1}}]" &&
	db_create proj && db_psql proj -c "$STORAGE_SCHEMA" &&
	sb_control "{\"op\":\"objects_sql\"}" >rows.sql &&
	db_psql proj -f rows.sql &&
	test "$(db_psql proj -c "SELECT count(*) FROM storage.objects")" = 5 &&
	new_repo --encryption none
'

test_expect_success 'in step: no drift, and the report says so' '
	snap --json >s1.json &&
	test "$(jq .storage.downloaded s1.json)" = 5 &&
	test "$(jq -c .storage.drift s1.json)" = "{\"rows\":5,\"changed\":0,\"vanished\":0,\"added\":0}" &&
	vault cat latest storage/.vault-drift.json >d1.json &&
	test "$(jq -r .format d1.json)" = vault-storage-drift-1 &&
	test "$(jq -c "[.changed, .vanished, .added]" d1.json)" = "[[],[],[]]" &&
	snap >s1.txt &&
	grep -q "storage drift: none" s1.txt
'

test_expect_success 'setup: after the database instant, Storage moves on' '
	put avatars "[{\"name\":\"u2/face.png\",\"data\":\"a new face\"},{\"name\":\"u9/face.png\",\"data\":\"face nine\"}]" &&
	curl -sf -X DELETE -H "apikey: $SB_KEY" -H "Authorization: Bearer $SB_KEY" \
		"$SB_URL/storage/v1/object/avatars/u3/face.png" >/dev/null
'

test_expect_success 'the snapshot records what changed, vanished and appeared' '
	snap --json >s2.json &&
	test "$(jq -c .storage.drift s2.json)" = "{\"rows\":5,\"changed\":1,\"vanished\":1,\"added\":1}" &&
	vault cat latest storage/.vault-drift.json >d2.json &&
	test "$(jq -r ".changed[0].name" d2.json)" = u2/face.png &&
	test "$(jq -r ".changed[0].path" d2.json)" = storage/avatars/u2/face.png &&
	test "$(jq -r ".changed[0].database.etag" d2.json)" = "\"$(printf "face two" | md5sum | cut -c1-32)\"" &&
	test "$(jq -r ".changed[0].snapshot.etag" d2.json)" = "\"$(printf "a new face" | md5sum | cut -c1-32)\"" &&
	test "$(jq -r ".changed[0].snapshot.size" d2.json)" = 10 &&
	test "$(jq -r ".vanished[0].bucket + \"/\" + .vanished[0].name" d2.json)" = avatars/u3/face.png &&
	test "$(jq -r ".vanished[0].database.size" d2.json)" = 10 &&
	test "$(jq -r ".added[0].name" d2.json)" = u9/face.png &&
	test "$(jq -r ".changed_count + .vanished_count + .added_count" d2.json)" = 3
'

test_expect_success 'vault ls and mount show it' '
	vault ls latest storage >ls.out &&
	grep -q "storage/.vault-drift.json" ls.out &&
	vault ls --json latest storage/avatars >ls.json &&
	test "$(jq -r ".[] | select(.path == \"storage/avatars/u2/face.png\") | .attrs[\"storage.drift\"]" ls.json)" = changed &&
	test "$(jq -r ".[] | select(.path == \"storage/avatars/u9/face.png\") | .attrs[\"storage.drift\"]" ls.json)" = added &&
	test "$(jq -r ".[] | select(.path == \"storage/avatars/u1/face.png\") | .attrs[\"storage.drift\"]" ls.json)" = null &&
	vault mount latest m --with-metadata >/dev/null &&
	test "$(jq -r .vanished_count m/storage/.vault-drift.json)" = 1 &&
	test "$(jq -r ".[\"storage.drift\"]" m/storage/avatars/u2/face.png.vault-meta.json)" = changed &&
	test "$(cat m/storage/avatars/u2/face.png)" = "a new face" &&
	snap >s2.txt &&
	grep -q "storage drift: since the database.s instant 1 changed, 1 vanished, 1 added (storage/.vault-drift.json)" s2.txt
'

test_expect_success 'the drift report is no object: restore leaves it alone' '
	vault restore latest --only storage --dry-run >plan &&
	! grep -q "vault-drift" plan
'

test_expect_success 'the database read only in part still judges against its instant' '
	snap --schema public --json >s3.json &&
	test "$(jq -c .storage.drift s3.json)" = "{\"rows\":5,\"changed\":1,\"vanished\":1,\"added\":1}" &&
	vault ls latest >ls3 &&
	! grep -q "db/storage" ls3
'

test_expect_success 'a role that may not read storage.objects: warned, not judged' '
	db_psql proj -c "CREATE ROLE lim LOGIN" -c "GRANT SELECT ON public.profiles TO lim" &&
	vault snapshot --db "dbname=proj user=lim" --exclude-schema storage \
		--storage-url "$SB_URL/storage/v1" --json >s6.json 2>e6 &&
	grep -q "storage.objects.*not judged" e6 &&
	test "$(jq -r .storage.drift_not_judged s6.json)" = "storage.objects could not be read" &&
	test "$(jq .database.rows s6.json)" = 2 &&
	vault ls latest storage >ls6 &&
	! grep -q "vault-drift" ls6
'

test_expect_success 'a database without storage.objects: not judged, no report' '
	db_create plain && db_psql plain -c "CREATE TABLE t (i int)" &&
	vault snapshot --db dbname=plain --storage-url "$SB_URL/storage/v1" --json >s4.json &&
	test "$(jq -r .storage.drift_not_judged s4.json)" = "the database has no storage.objects" &&
	vault ls latest storage >ls4 &&
	! grep -q "vault-drift" ls4 &&
	vault snapshot --db dbname=plain --storage-url "$SB_URL/storage/v1" >s4.txt &&
	grep -q "storage drift: not judged: the database has no storage.objects" s4.txt
'

test_expect_success 'Storage alone: nothing to judge' '
	vault snapshot --storage-url "$SB_URL/storage/v1" --json >s5.json &&
	test "$(jq .storage.drift s5.json)" = null &&
	vault ls latest storage >ls5 &&
	! grep -q "vault-drift" ls5
'

test_expect_success 'a bucket named like the report cannot pose as it' '
	put .vault-drift.json "[{\"name\":\"x\",\"data\":\"not a report\"}]" &&
	snap --json >s7.json &&
	test "$(jq .storage.drift.added s7.json)" = 2 &&
	vault ls latest storage >ls7 &&
	grep -q " storage/%2Evault-drift.json/x$" ls7 &&
	vault cat latest storage/.vault-drift.json >d7.json &&
	test "$(jq -r .format d7.json)" = vault-storage-drift-1 &&
	test "$(jq -r ".added[] | select(.bucket == \".vault-drift.json\") | .path" d7.json)" = \
		"storage/%2Evault-drift.json/x"
'

test_done

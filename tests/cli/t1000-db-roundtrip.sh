#!/bin/bash
# vault snapshot --db: a Supabase-shaped database (tests/fixtures/
# supabase.sql) and a directory in one snapshot.  The rows of every
# data.sql equal the source's as a multiset, meta.json's counts and
# checksums match the files, `vault cat` gives the same bytes as the
# mount, and psql -f schema.sql then every data.sql recreates the data
# in an empty database (checked by capturing that one too).
. "$(dirname "$0")/../test-lib.sh"
. "$VAULT_SRCDIR/tests/db-lib.sh"

db_start
new_repo --encryption repokey

test_expect_success 'load the fixture' '
	db_fixture fx &&
	test "$(db_psql fx -c "select count(*) from auth.users")" -gt 0
'

test_expect_success 'snapshot --db URL PATH: database and files in one snapshot' '
	mkdir -p files/sub && echo hello >files/sub/a.txt && echo z >zz &&
	vault snapshot --json --db "dbname=fx" files zz >snap.json &&
	jq -e ".database.tables >= 20 and .database.rows > 400" snap.json &&
	jq -e "[.database.schemas[].name] | index(\"auth\") and index(\"storage\")
		and index(\"supabase_migrations\") and index(\"Sales & Ops\")" snap.json &&
	jq -e ".database.skipped_schemas[] | select(.name == \"extensions\")" snap.json &&
	vault ls latest >ls.txt &&
	grep -q "^d.* db$" ls.txt && grep -q " files/sub/a.txt$" ls.txt &&
	grep -q " zz$" ls.txt && grep -q " db/meta.json$" ls.txt
'

test_expect_success 'entries come sorted: db/ between the PATHs' '
	vault ls latest | sed "s/^.*Z //" >names &&
	test "$(head -n 1 names)" = db &&
	test "$(tail -n 1 names)" = zz &&
	grep -n "^files$" names | cut -d: -f1 >fline &&
	grep -n "^db/supabase_migrations" names | tail -n 1 | cut -d: -f1 >dline &&
	test "$(cat dline)" -lt "$(cat fline)"
'

test_expect_success 'the layout: fixed files, per-table files, encoded names' '
	for f in db/meta.json db/roles.sql db/schema.sql db/sequences.sql \
		"db/auth/tables/users/data.sql" "db/auth/tables/users/schema.sql" \
		"db/storage/tables/objects/data.sql" \
		"db/supabase_migrations/tables/schema_migrations/data.sql" \
		"db/public/tables/Mixed Case%2FName/data.sql" \
		"db/public/tables/100%25/data.sql" \
		"db/Sales & Ops/tables/ünïcode ☃/data.sql"; do
		grep -qxF -- "$f" names || { echo "missing $f" >&2; return 1; }
	done &&
	! grep -q "^db/public/tables/measurements/data.sql$" names &&
	grep -q "^db/public/tables/measurements/schema.sql$" names
'

test_expect_success 'mount: every data.sql holds the source rows, checksums match' '
	vault mount latest m >/dev/null &&
	db_check_tree m fx
'

test_expect_success 'meta.json records server, database, schemas, extensions, requirements' '
	jq -e ".server_version_num >= 100000 and .database == \"fx\" and .encoding == \"UTF8\"
		and (.schemas.captured | index(\"auth\"))
		and (.extensions | map(.name) | index(\"pgcrypto\"))
		and (.requirements.roles | length > 0)
		and (.roles | map(select(.name == \"anon\"))[0].reserved)
		and ([.tables[] | select(.kind == \"table\") | .xxh3_128] | all)" m/db/meta.json
'

test_expect_success 'data.sql is a COPY block; schema.sql holds storage policies' '
	head -n 1 "m/db/auth/tables/users/data.sql" | grep -q "^COPY \"auth\".\"users\" (" &&
	grep -q "CREATE POLICY" m/db/schema.sql &&
	grep -q "ON storage.objects" m/db/schema.sql &&
	grep -q "CREATE TRIGGER" m/db/auth/tables/users/schema.sql &&
	grep -q "CREATE ROLE" m/db/roles.sql &&
	grep -q "setval" m/db/sequences.sql
'

test_expect_success 'vault cat gives the mounted bytes, attributes carry the checksum' '
	vault cat latest "db/Sales & Ops/tables/ünïcode ☃/data.sql" >c1 &&
	cmp c1 "m/db/Sales & Ops/tables/ünïcode ☃/data.sql" &&
	vault cat latest db/meta.json >c2 && cmp c2 m/db/meta.json &&
	vault cat latest files/sub/a.txt >c3 && echo hello | cmp - c3
'

test_expect_success 'psql loads schema.sql and every data.sql into an empty database' '
	db_create fx2 &&
	set -- -f m/db/schema.sql -c "SET session_replication_role = replica" &&
	while IFS= read -r f; do
		set -- "$@" -f "$f"
	done < <(find m/db -name data.sql | LC_ALL=C sort) &&
	psql -X -q -v ON_ERROR_STOP=1 -d fx2 "$@" -f m/db/sequences.sql \
		>load.out 2>&1 &&
	db_check_tree m fx2
'

test_expect_success 'and a capture of the reloaded database has the same checksums' '
	vault snapshot --db "dbname=fx2" >/dev/null &&
	vault cat latest db/meta.json >meta2.json &&
	jq -c "[.tables[] | [.path, .rows, .xxh3_128]]" m/db/meta.json >sums1 &&
	jq -c "[.tables[] | [.path, .rows, .xxh3_128]]" meta2.json >sums2 &&
	test_cmp sums1 sums2
'

test_expect_success 'filters: --schema, --exclude-table; the summary says what was skipped' '
	vault snapshot --db "dbname=fx" --schema auth --schema public \
		--exclude-table "public.todo*" >out.txt &&
	grep -q "^  skipped: " out.txt &&
	grep -q "schema storage (not selected by --schema)" out.txt &&
	grep -q "table \"public\".\"todos\"" out.txt &&
	vault ls latest | sed "s/^.*Z //" >names2 &&
	grep -q "^db/auth/tables/users/data.sql$" names2 &&
	! grep -q "^db/storage" names2 &&
	! grep -q "^db/public/tables/todos" names2 &&
	grep -q "^db/public/tables/profiles/data.sql$" names2
'

test_expect_success 'vault snapshot alone takes the URL from .env (VAULT_DB_URL unset)' '
	mkdir proj && (cd proj &&
		printf "# the project\nexport SUPABASE_DB_URL=\"dbname=fx\"\n" >.env &&
		chmod 600 .env &&
		vault snapshot --json >../env.json 2>../env.err) &&
	jq -e ".database.tables >= 20" env.json &&
	# --json: the messages are JSON lines of the stream on stderr
	jq -es "[.[] | select(.message_type == \"warning\")] == []" env.err &&
	jq -es "[.[] | select(.message_type == \"note\" and (.message
		| startswith(\"no source named on the command line: ./.env adds the database postgres://\")))]
		| length == 1" env.err
'

test_expect_success 'a world-readable .env is used with a warning' '
	chmod 644 proj/.env &&
	(cd proj && vault snapshot >/dev/null 2>../env.err) &&
	grep -q "readable by group or others" env.err
'

test_expect_success '--env-file names another file (over VAULT_DB_URL); VAULT_DB_URL wins over .env' '
	printf "SUPABASE_DB_URL=dbname=fx2\n" >other.env && chmod 600 other.env &&
	VAULT_DB_URL=dbname=fx vault snapshot --json --env-file other.env >o.json &&
	jq -e ".database.database == \"fx2\"" o.json &&
	(cd proj && VAULT_DB_URL="dbname=fx2" vault snapshot --json >../v.json 2>/dev/null) &&
	jq -e ".database.database == \"fx2\"" v.json
'

test_expect_success 'usage errors: db options without a database, a PATH named db, --db with -' '
	test_must_fail_with 2 "need --db" vault snapshot --jobs 3 files &&
	mkdir -p x/db &&
	test_must_fail_with 2 "where the database goes" vault snapshot --db dbname=fx x/db &&
	test_must_fail_with 2 "cannot be combined" vault snapshot --db dbname=fx - </dev/null &&
	test_must_fail_with 2 "--jobs" vault snapshot --db dbname=fx --jobs 0 &&
	(cd x && test_must_fail_with 2 "nothing to snapshot" vault snapshot)
'

test_expect_success 'check --read-data is clean' '
	vault check --read-data >/dev/null
'

test_done

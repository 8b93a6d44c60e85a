#!/bin/bash
# Credentials and secrets.  The test cluster checks passwords over TCP
# (scram-sha-256 and md5 lines in pg_hba.conf), so a wrong password, a
# wrong host, a pg_dump too old for the server, a missing database and a
# malformed connection string each give their own clear error.  With the
# right password the capture works, and the password appears in no
# output, not in the repository (index.db, packs, `vault list --json`,
# any file of the snapshot), not in vault's own argv once it runs
# (/proc/PID/cmdline) and not in pg_dump's.
. "$(dirname "$0")/../test-lib.sh"
. "$VAULT_SRCDIR/tests/db-lib.sh"

db_start
new_repo --encryption none
PW='Sekr1t-pa55word'
PW2='0ther-Md5-pass'

test_expect_success 'setup: roles with passwords, pg_hba checks them over TCP' '
	db_fixture fx &&
	db_psql postgres -c "CREATE ROLE app LOGIN SUPERUSER PASSWORD '"'$PW'"'" \
		-c "SET password_encryption = md5" \
		-c "CREATE ROLE app_md5 LOGIN SUPERUSER PASSWORD '"'$PW2'"'" &&
	hba=$PG_DIR/data/pg_hba.conf &&
	{ printf "host all app 127.0.0.1/32 scram-sha-256\n";
	  printf "host all app_md5 127.0.0.1/32 md5\n"; cat "$hba"; } >hba.new &&
	cat hba.new >"$hba" &&
	db_psql postgres -c "select pg_reload_conf()" >/dev/null &&
	sleep 0.3 &&
	! PGPASSWORD=wrong psql -X -h 127.0.0.1 -U app -d fx -c "select 1" 2>/dev/null &&
	PGPASSWORD=$PW psql -X -h 127.0.0.1 -U app -d fx -c "select 1" >/dev/null
'

URL="postgresql://app:$PW@127.0.0.1:$PGPORT/fx"

test_expect_success 'the right password in --db: captured; argv masked while running' '
	real=$(command -v pg_dump) &&
	printf "#!/bin/sh\n[ \"\$1\" = --version ] && exec \"%s\" --version\nprintf \"%%s\\\\n\" \"\$@\" >\"%s/dump-args\"\nsleep 2\nexec \"%s\" \"\$@\"\n" \
		"$real" "$TEST_TMP" "$real" >slow-pg_dump && chmod +x slow-pg_dump &&
	{ "$VAULT" snapshot --json --db "$URL" --pg-dump ./slow-pg_dump \
		>out.json 2>err.txt & pid=$!; } &&
	sleep 1 &&
	tr "\0" " " </proc/$pid/cmdline >cmdline &&
	wait $pid &&
	cat cmdline &&
	grep -q -- "--db postgresql://app:\*\**@127.0.0.1" cmdline &&
	! grep -q "$PW" cmdline &&
	grep -q -- "--snapshot=" dump-args && ! grep -q "$PW" dump-args &&
	jq -e ".database.tables >= 20" out.json
'

test_expect_success 'the password is in no output and nowhere in the repository' '
	! grep -q "$PW" out.json err.txt &&
	jq -e ".source | test(\"app:\\\\*\\\\*\\\\*@127.0.0.1\")" out.json &&
	vault list --json >list.json && ! grep -q "$PW" list.json &&
	grep -q "app:\*\*\*@" list.json &&
	! grep -rqa "$PW" "$VAULT_REPO" &&
	! grep -qa "$PW" "$VAULT_REPO/index.db" &&
	vault mount latest m >/dev/null && ! grep -rqa "$PW" m &&
	vault ls latest | sed "s/^.*Z //" >names &&
	while IFS= read -r f; do
		case $f in */*.sql|*/meta.json) vault cat latest "$f" ;; esac
	done <names >all-files &&
	test -s all-files && ! grep -qa "$PW" all-files
'

test_expect_success 'the password from PGPASSWORD and from VAULT_DB_URL work too' '
	PGPASSWORD=$PW vault snapshot --db "host=127.0.0.1 port=$PGPORT user=app dbname=fx" \
		>o1 2>&1 &&
	VAULT_DB_URL=$URL vault snapshot >o2 2>&1 &&
	! grep -q "$PW" o1 o2
'

# spy-pg_dump: records its environment and its passfile (name, mode,
# whether it holds the password) before running the real pg_dump.
test_expect_success 'setup: a pg_dump that reports what it was given' '
	real=$(command -v pg_dump) &&
	cat >spy-pg_dump <<-EOF &&
	#!/bin/sh
	[ "\$1" = --version ] && exec "$real" --version
	env >"$TEST_TMP/dump-env"
	pf=\$(printenv PGPASSFILE) && echo "\$pf" >"$TEST_TMP/dump-passfile" &&
	stat -c %a "\$pf" >"$TEST_TMP/dump-passfile-mode" &&
	grep -c "$PW" "\$pf" >"$TEST_TMP/dump-passfile-has-pw"
	exec "$real" "\$@"
	EOF
	chmod +x spy-pg_dump
'

for how in url env; do
	test_expect_success "the password reaches pg_dump in a private passfile, not its environment ($how)" '
		rm -f dump-env dump-passfile dump-passfile-mode dump-passfile-has-pw &&
		if [ '$how' = url ]; then
			vault snapshot --db "$URL" --pg-dump ./spy-pg_dump >/dev/null
		else
			PGPASSWORD=$PW vault snapshot --pg-dump ./spy-pg_dump \
				--db "host=127.0.0.1 port=$PGPORT user=app dbname=fx" >/dev/null
		fi &&
		! grep -q "^PGPASSWORD=" dump-env &&
		! grep -q "$PW" dump-env &&
		test "$(cat dump-passfile-mode)" = 600 &&
		test "$(cat dump-passfile-has-pw)" = 1 &&
		pf=$(cat dump-passfile) &&
		case $pf in /tmp/vault-pgpass-*|"${TMPDIR:-/tmp}"/vault-pgpass-*) ;; *) false ;; esac &&
		test_path_is_missing "$pf"
	'
done

test_expect_success 'md5 authentication works' '
	vault snapshot --db "postgresql://app_md5:$PW2@127.0.0.1:$PGPORT/fx" >o3 &&
	! grep -q "$PW2" o3
'

test_expect_success 'a wrong password: its own error, naming host and port' '
	before=$(vault list --json | jq length) &&
	test_must_fail_with 1 "cannot connect to 127.0.0.1:$PGPORT.*password authentication failed for user \"app\"" \
		vault snapshot --db "postgresql://app:Wr0ng-guess@127.0.0.1:$PGPORT/fx" &&
	! grep -q "Wr0ng-guess" "$TEST_TMP/.stderr" &&
	test_must_fail_with 1 "password authentication failed for user \"app_md5\"" \
		vault snapshot --db "postgresql://app_md5:Wr0ng-guess@127.0.0.1:$PGPORT/fx" &&
	test "$(vault list --json | jq length)" = "$before"
'

test_expect_success 'no password at all: says one is needed' '
	test_must_fail_with 1 "a password is needed" \
		vault snapshot --db "postgresql://app@127.0.0.1:$PGPORT/fx"
'

test_expect_success 'a wrong host: its own error, naming host and port, after retries' '
	test_must_fail_with 1 "cannot connect to 127.0.0.1:1 .*after 2 attempts" \
		vault snapshot --retries 1 --db "host=127.0.0.1 port=1 dbname=fx" &&
	! grep -q "password" "$TEST_TMP/.stderr" &&
	test_must_fail_with 1 "cannot connect to no-such-host.invalid:5432.*(translate host name|resolve)" \
		vault snapshot --retries 0 --db "postgresql://app:$PW@no-such-host.invalid:5432/fx" &&
	! grep -q "$PW" "$TEST_TMP/.stderr"
'

test_expect_success 'a pg_dump too old for the server: its own error, before any snapshot' '
	printf "#!/bin/sh\necho \"pg_dump (PostgreSQL) 9.6.24\"\n" >old-pg_dump &&
	chmod +x old-pg_dump &&
	test_must_fail_with 1 "server runs PostgreSQL 1[0-9].*no pg_dump 1[0-9] or newer.*9.6.*postgresql-client-1[0-9]" \
		vault snapshot --db "$URL" --pg-dump ./old-pg_dump &&
	! grep -q "$PW" "$TEST_TMP/.stderr"
'

test_expect_success 'a missing database and a malformed string: their own errors' '
	test_must_fail_with 1 "database \"nope\" does not exist" \
		vault snapshot --db "postgresql://app:$PW@127.0.0.1:$PGPORT/nope" &&
	! grep -q "$PW" "$TEST_TMP/.stderr" &&
	test_must_fail_with 1 "connection string|missing \"=\"|invalid" \
		vault snapshot --db "host=127.0.0.1 password=$PW junk" &&
	! grep -q "$PW" "$TEST_TMP/.stderr"
'

test_done

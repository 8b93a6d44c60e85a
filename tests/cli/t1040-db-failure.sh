#!/bin/bash
# Failures part-way commit nothing: a table the role may not read, a
# connection killed during a COPY, and Ctrl-C each end the snapshot with
# an error that names the table (and the server's message), leave no
# snapshot, no temporary files and no pg_dump behind; a later snapshot
# still works and reuses the chunks already packed.
. "$(dirname "$0")/../test-lib.sh"
. "$VAULT_SRCDIR/tests/db-lib.sh"

db_start
new_repo --encryption none
# small packs (2 MiB), so an interrupted capture has finished some
sed -i "s/^pack.target .*/pack.target 2097152/" "$VAULT_REPO/config"

nsnap() { vault list --json | jq length; }

test_expect_success 'setup: fixture, a big table, a role that may not read one table' '
	db_fixture fx &&
	db_psql fx -c "CREATE TABLE public.big (id bigint PRIMARY KEY, a text, b text)" \
		-c "INSERT INTO public.big SELECT g, md5(g::text), repeat(md5((g*3)::text), 3)
			FROM generate_series(1, 500000) g" \
		-c "CREATE TABLE public.secret (id int PRIMARY KEY, v text)" \
		-c "INSERT INTO public.secret VALUES (1, \$\$x\$\$)" \
		-c "CREATE ROLE limited LOGIN" \
		-c "GRANT USAGE ON SCHEMA public, auth, storage, supabase_migrations, \"Sales & Ops\" TO limited" \
		-c "GRANT SELECT ON ALL TABLES IN SCHEMA public, auth, storage, supabase_migrations, \"Sales & Ops\" TO limited" \
		-c "GRANT SELECT ON ALL SEQUENCES IN SCHEMA public, auth, storage, supabase_migrations, \"Sales & Ops\" TO limited" \
		-c "REVOKE SELECT ON public.secret FROM limited" &&
	test "$(nsnap)" = 0
'

test_expect_success 'permission denied on one table: named with the server message' '
	test_must_fail_with 1 "public.*secret.*permission denied" \
		vault snapshot --db "dbname=fx user=limited" &&
	grep -q "nothing was committed\|cannot capture the database" "$TEST_TMP/.stderr" &&
	test "$(nsnap)" = 0
'

# wait_copy: until a COPY of public.big by vault runs, print its pid
wait_copy() {
	local i pid
	for i in $(seq 1 400); do
		pid=$(db_psql postgres -c "SELECT pid FROM pg_stat_activity
			WHERE application_name = 'vault' AND query LIKE 'COPY%big%'
			AND state = 'active' LIMIT 1")
		[ -n "$pid" ] && { echo "$pid"; return 0; }
		sleep 0.02
	done
	return 1
}

test_expect_success 'a connection killed during a COPY: the table is named, nothing committed' '
	{ "$VAULT" snapshot --db dbname=fx --jobs 1 >out 2>err & vpid=$!; } &&
	bpid=$(wait_copy) &&
	db_psql postgres -c "SELECT pg_terminate_backend($bpid)" >/dev/null &&
	! wait $vpid &&
	cat err &&
	grep -q "big" err &&
	grep -qi "terminat\|closed the connection\|connection" err &&
	grep -q "nothing was committed" err &&
	test "$(nsnap)" = 0 &&
	test -z "$(ls "$VAULT_REPO/tmp")"
'

# wait_packs N: until the repository holds N finished packs
wait_packs() {
	local i
	for i in $(seq 1 500); do
		[ "$(find "$VAULT_REPO/packs" -name "*.pack" 2>/dev/null | wc -l)" -ge "$1" ] &&
			return 0
		sleep 0.02
	done
	return 1
}

test_expect_success 'Ctrl-C during a COPY: interrupted, nothing committed, no pg_dump left' '
	{ "$VAULT" snapshot --db dbname=fx >out 2>err & vpid=$!; } &&
	wait_copy >/dev/null &&
	wait_packs 4 &&
	kill -INT $vpid &&
	! wait $vpid &&
	cat err &&
	grep -q "interrupted" err &&
	grep -q "nothing was committed" err &&
	test "$(nsnap)" = 0 &&
	test -z "$(ls "$VAULT_REPO/tmp")" &&
	# ask this test'"'"'s own cluster: a system-wide pgrep would also see
	# the pg_dump of a db test running in parallel
	test -z "$(db_psql postgres -c "SELECT pid FROM pg_stat_activity WHERE application_name IN ('"'vault'"', '"'pg_dump'"')")"
'

test_expect_success 'a later snapshot works and reuses the chunks already packed' '
	vault snapshot --json --db dbname=fx >ok.json &&
	test "$(nsnap)" = 1 &&
	jq -e ".bytes_added < .bytes_read - 4000000" ok.json &&
	vault check --read-data >/dev/null
'

test_done

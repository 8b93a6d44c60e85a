#!/bin/bash
# The "quiet" rule of unchanged tables (t1035) and the background workers
# a hosted Supabase project always runs: pg_net's worker and pg_cron's
# launcher are never idle for long, yet they only write their own
# extension's tables.  A busy known worker leaves the capture quiet but
# its schema's tables are read; any other busy worker, or a known one's
# name in another schema's place, still means nothing is reused.  The
# workers here are real background workers (tests/fixtures/bgworker.c,
# built with PGXS) that take the backend_type of the real ones.
. "$(dirname "$0")/../test-lib.sh"
. "$VAULT_SRCDIR/tests/db-lib.sh"

db_start

PG_CONFIG=$PG_BINDIR/pg_config
[ -x "$PG_CONFIG" ] || PG_CONFIG=/usr/lib/postgresql/15/bin/pg_config
if ! [ -x "$PG_CONFIG" ] || ! [ -f "$("$PG_CONFIG" --pgxs 2>/dev/null)" ] ||
   ! command -v make >/dev/null 2>&1; then
	if [ "${CI:-}" = true ]; then
		test_expect_success 'PGXS is installed under CI' 'false'
		test_done
	fi
	skip_all "PGXS is missing: apt-get install postgresql-server-dev-15"
fi

test_expect_success 'setup: the worker module' '
	mod=$(mktemp -d /tmp/vault-bgw.XXXXXX) &&
	test_at_exit "rm -rf \"$mod\"" &&
	cp "$VAULT_SRCDIR/tests/fixtures/bgworker.c" "$mod/" &&
	printf "MODULES = bgworker\nPG_CONFIG = %s\nPGXS := \$(shell \$(PG_CONFIG) --pgxs)\ninclude \$(PGXS)\n" \
		"$PG_CONFIG" >"$mod/Makefile" &&
	make -C "$mod" -s >"$mod/make.log" 2>&1 &&
	chmod -R a+rX "$mod" &&
	echo "$mod/bgworker.so" >lib
'

TABLES="a b http_request_queue job_run_details"

# snap NAME: a snapshot of fx (db-lib.sh); NAME.reused the reused
# tables' names (unique here across the schemas)
snap() { db_snap_reused "$1" fx; }
reused_are() { db_reused_are "$@"; }

# worker TYPE SQL: starts a worker of that type in fx, its pid in "pids"
worker() {
	db_psql fx -c "SELECT vault_test_worker('$(cat lib)', '$1', \$q\$$2\$q\$)" >>pids
}

stop_workers() {
	[ -s pids ] || return 0
	db_psql postgres -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE pid IN ($(paste -sd, pids))" >/dev/null &&
	rm -f pids &&
	for n in $(seq 1 100); do
		[ "$(db_psql postgres -c "SELECT count(*) FROM pg_stat_activity
			WHERE datname = 'fx' AND backend_type <> 'client backend'
			AND backend_type <> 'autovacuum worker'")" = 0 ] && return 0
		sleep 0.1
	done
	return 1
}
test_at_exit 'stop_workers'

test_expect_success 'setup: a database with pg_net-like and pg_cron-like tables' '
	new_repo --encryption none &&
	db_create fx &&
	db_psql fx -c "CREATE SCHEMA net" -c "CREATE SCHEMA cron" \
		-c "CREATE TABLE public.a (id int PRIMARY KEY, v text)" \
		-c "CREATE TABLE public.b (id int PRIMARY KEY, v text)" \
		-c "CREATE TABLE net.http_request_queue (id bigserial PRIMARY KEY, url text)" \
		-c "CREATE TABLE cron.job_run_details (runid bigserial PRIMARY KEY, status text)" \
		-c "INSERT INTO public.a SELECT g, md5(g::text) FROM generate_series(1, 2000) g" \
		-c "INSERT INTO public.b SELECT g, md5(g::text) FROM generate_series(1, 2000) g" \
		-c "CREATE FUNCTION vault_test_worker(text, text, text) RETURNS int
			AS \$\$$(cat lib)\$\$, \$\$vault_test_worker\$\$ LANGUAGE C STRICT" &&
	snap s0 &&
	jq -e ".quiet == true and .busy_worker_schemas == []" s0.meta &&
	snap s1 &&
	reused_are s1 $TABLES
'

test_expect_success 'a busy pg_net worker: its schema is read, the rest reused' '
	worker "pg_net 0.20.4 worker" "INSERT INTO net.http_request_queue (url) VALUES (\$\$https://x\$\$)" &&
	snap s2 &&
	reused_are s2 a b job_run_details &&
	jq -e ".quiet == true and .busy_worker_schemas == [\"net\"]" s2.meta &&
	vault mount latest m2 >/dev/null &&
	rows=$(grep -c "https://x" m2/db/net/tables/http_request_queue/data.sql) &&
	test "$rows" -gt 0 &&
	jq -e ".tables[] | select(.name == \"http_request_queue\") | .rows == $rows" s2.meta
'

test_expect_success 'and pg_cron'"'"'s launcher: cron is read too' '
	worker "pg_cron launcher" "INSERT INTO cron.job_run_details (status) VALUES (\$\$ok\$\$)" &&
	snap s3 &&
	reused_are s3 a b &&
	jq -e ".busy_worker_schemas | sort == [\"cron\", \"net\"]" s3.meta
'

test_expect_success 'an unknown busy worker: nothing is reused' '
	worker "acme sync worker" "UPDATE public.a SET v = v WHERE id = 1" &&
	snap s4 &&
	reused_are s4 &&
	jq -e ".quiet == false and .busy_worker_schemas == []" s4.meta &&
	stop_workers
'

test_expect_success 'a client backend named like a worker is not one' '
	snap s5 &&
	PGAPPNAME="pg_net 0.20.4 worker" db_busy fx &&
	test "$(db_psql postgres -c "SELECT count(*) FROM pg_stat_activity
		WHERE application_name = \$\$pg_net 0.20.4 worker\$\$
		AND backend_type = \$\$client backend\$\$")" = 1 &&
	vault snapshot --json --db dbname=fx >s6.json &&
	jq -e ".database.tables_reused == 0" s6.json &&
	db_busy_end fx
'

test_expect_success 'the workers gone: everything is reused again, and restores' '
	stop_workers &&
	snap s7 &&
	snap s8 &&
	reused_are s8 $TABLES &&
	vault mount latest m8 >/dev/null &&
	db_check_tree m8 fx
'

test_done

#!/bin/bash
# Ctrl-C (SIGINT) or SIGTERM in the middle of `vault restore`: the
# one-transaction restore rolls back; a parallel load, whose first
# transaction (the DDL) and some tables have already committed, runs its
# undo.  Either way the target ends as it was and the restore log says
# what happened.
. "$(dirname "$0")/../test-lib.sh"
. "$VAULT_SRCDIR/tests/db-lib.sh"

db_start
new_repo --encryption none

# waits until a COPY ... FROM STDIN into database $1 is running
wait_copy() {
	local i n=0
	for i in $(seq 1 400); do
		n=$(db_psql postgres -c "SELECT count(*) FROM pg_stat_activity
			WHERE datname = '$1' AND query LIKE 'COPY %FROM STDIN%'")
		[ "$n" -ge 1 ] && return 0
		sleep 0.025
	done
	echo "no COPY seen in $1" >&2
	return 1
}

# interrupt DB JOBS SIGNAL: starts a restore into DB, sends SIGNAL once
# rows are loading; leaves the exit status in rc, output in out/err
interrupt() {
	"$VAULT" restore latest --db "dbname=$1" --jobs "$2" >out 2>err &
	pid=$!
	wait_copy "$1"
	local seen=$?
	kill -s "$3" "$pid"
	wait "$pid"
	rc=$?
	echo "exit $rc" >&2
	cat err >&2
	return $seen
}

test_expect_success 'a database with two large tables' '
	db_create big &&
	db_psql big -c "CREATE TABLE public.a (id integer PRIMARY KEY, pad text);
		CREATE TABLE public.b (id integer PRIMARY KEY, pad text);
		CREATE INDEX b_pad ON public.b (pad);
		INSERT INTO public.a SELECT g, repeat(md5(g::text), 8) FROM generate_series(1, 400000) g;
		INSERT INTO public.b SELECT g, repeat(md5(g::text), 8) FROM generate_series(1, 400000) g" &&
	vault snapshot --db "dbname=big" >/dev/null
'

test_expect_success 'SIGINT during a parallel load: the undo runs, the target is as it was' '
	db_create t1 &&
	db_dump t1 >t1.before &&
	interrupt t1 2 INT &&
	test "$rc" = 1 &&
	grep -q "interrupted" err &&
	grep -q "the rows loaded in parallel were dropped again" err &&
	db_dump t1 >t1.after && test_cmp t1.before t1.after &&
	vault restores --json >logs.json &&
	jq -e ".[-1].status == \"failed\" and (.[-1].strategy | startswith(\"parallel\"))
		and (.[-1].undo | startswith(\"ok\")) and (.[-1].error | test(\"interrupted\"))" logs.json
'

test_expect_success 'SIGTERM during a one-transaction restore: rolled back' '
	db_create t2 &&
	db_dump t2 >t2.before &&
	interrupt t2 1 TERM &&
	test "$rc" = 1 &&
	grep -q "interrupted" err &&
	db_dump t2 >t2.after && test_cmp t2.before t2.after &&
	vault restores --json >logs.json &&
	jq -e ".[-1].status == \"failed\" and .[-1].undo == null
		and (.[-1].strategy | startswith(\"one transaction\"))" logs.json
'

test_expect_success 'the same restore, not interrupted, succeeds' '
	vault restore latest --db "dbname=t1" --jobs 2 --json >ok.json &&
	jq -e ".status == \"ok\" and .verification == \"ok\"" ok.json &&
	test "$(db_psql t1 -c "SELECT count(*) FROM public.a")" = 400000 &&
	test "$(db_psql t1 -c "SELECT count(*) FROM public.b")" = 400000
'

test_done

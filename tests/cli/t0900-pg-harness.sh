#!/bin/bash
# The PostgreSQL harness of test-lib.sh: a throwaway cluster starts as a
# non-root user on a private socket directory and port, answers queries
# through psql and is gone after pg_stop.  Under CI=true a cluster that
# cannot be started is a failure, not a skip: CI must be able to run the
# database tests of later issues.
TEST_NO_VAULT=1
. "$(dirname "$0")/../test-lib.sh"

if ! pg_start; then
	if [ "${CI:-}" = true ]; then
		test_expect_success 'pg_start works under CI' '
			echo "$PG_SKIP_REASON" >&2 && false
		'
		test_done
	fi
	skip_all "$PG_SKIP_REASON"
fi

test_expect_success 'pg_start exports a private socket dir and port' '
	test -n "$PGHOST" && test -n "$PGPORT" && test "$PGUSER" = postgres &&
	test -S "$PGHOST/.s.PGSQL.$PGPORT"
'

test_expect_success 'psql runs a query on the unix socket' '
	test "$(psql -X -A -t -c "select 6 * 7")" = 42
'

test_expect_success 'psql connects over TCP on 127.0.0.1 too' '
	test "$(psql -X -A -t -h 127.0.0.1 -c "select current_user")" = postgres
'

test_expect_success 'a database can be created, filled and dumped' '
	createdb vt &&
	psql -X -q -d vt -v ON_ERROR_STOP=1 \
		-c "create table t (id int primary key, v text)" \
		-c "insert into t select g, md5(g::text) from generate_series(1, 1000) g" &&
	test "$(psql -X -A -t -d vt -c "select count(*) from t")" = 1000 &&
	"$PG_BINDIR/pg_dump" -d vt >dump.sql &&
	grep -q "COPY public.t (id, v) FROM stdin" dump.sql
'

test_expect_success 'the server does not run as root' '
	pid=$(head -n 1 "$PG_DIR/data/postmaster.pid") &&
	owner=$(ps -o user= -p "$pid") &&
	test -n "$owner" && test "$owner" != root
'

test_expect_success 'pg_stop stops the server and removes its files' '
	dir=$PG_DIR port=$PGPORT &&
	pid=$(head -n 1 "$PG_DIR/data/postmaster.pid") &&
	pg_stop &&
	test ! -e "$dir" &&
	test -z "${PGHOST:-}" &&
	# gone, or a zombie waiting for a reaper that is not ours
	case $(ps -o stat= -p "$pid") in ""|Z*) ;; *) false ;; esac &&
	! psql -X -A -t -h 127.0.0.1 -p "$port" -c "select 1" 2>/dev/null
'

test_done

# db-lib.sh: helpers for the database scenarios (tests/cli/t10NN-db-*.sh),
# sourced after test-lib.sh.
#
#   db_start                 pg_start, or skip the script loudly (a
#                            failure under CI=true, like t0900)
#   db_create NAME           an empty UTF-8 database
#   db_fixture NAME          a database loaded with tests/fixtures/supabase.sql
#   db_psql NAME SQL...      psql -X -q -A -t with ON_ERROR_STOP
#   db_tables_json FILE      "schema\ttable\tpath\tcolumns-as-SQL" per table
#                            with data, from a meta.json
#   db_source_rows NAME SCHEMA TABLE COLS
#                            the rows psql's \copy gives, sorted
#   db_file_rows FILE        the rows of a data.sql, sorted
#   db_relay_unit DIR NAME   runs the C test program DIR/NAME (built under
#                            tests/unit/) and passes its TAP points on as
#                            this script's own, then checks it ran to its
#                            plan, skipped nothing and exited 0; adds its
#                            plan to db_unit_total
#   db_wait_quiet NAME       waits until no client is connected to NAME
#                            (psql sessions, an earlier capture), so a
#                            capture's "quiet" check can hold (t1035-7)
#   db_snap_reused SNAP NAME a snapshot of NAME; SNAP.json its summary,
#                            SNAP.meta its meta.json, SNAP.reused the
#                            names of the tables it reused, sorted
#   db_reused_are SNAP TABLE...
#                            exactly these tables were reused
#   db_busy NAME             starts a client of NAME busy for 30 s (its
#                            application_name from $PGAPPNAME) and waits
#                            until it shows active; db_busy_end cancels it
#   db_check_tree DIR NAME   every data.sql under DIR/db equals the
#                            database's rows as a multiset, and every
#                            checksum and row count in DIR/db/meta.json
#                            matches the file's bytes
#   json_ok FILTER FILE      the jq filter holds for FILE; if not, shows
#                            FILE

FIXTURE=$VAULT_SRCDIR/tests/fixtures/supabase.sql

db_start() {
	if ! pg_start; then
		if [ "${CI:-}" = true ]; then
			test_expect_success 'pg_start works under CI' '
				echo "$PG_SKIP_REASON" >&2 && false
			'
			test_done
		fi
		skip_all "$PG_SKIP_REASON"
	fi
}

db_psql() {
	local db=$1
	shift
	psql -X -q -A -t -v ON_ERROR_STOP=1 -d "$db" "$@"
}

# db_dump DB [pg_dump options]: the database as pg_dump shows it, without
# comments, blank lines and the per-run \restrict keys, for comparing a
# target before and after.
db_dump() {
	pg_dump --no-sync -d "$1" "${@:2}" | grep -v -e '^--' -e '^$' -e '^.restrict ' -e '^.unrestrict '
}

# db_copy FROM TO: a new database TO made from FROM as a template.
db_copy() {
	psql -X -q -v ON_ERROR_STOP=1 -d postgres \
		-c "CREATE DATABASE \"$2\" TEMPLATE \"$1\""
}

json_ok() {
	jq -e "$1" "$2" >/dev/null || {
		echo "FAIL: $2 does not satisfy: $1"
		jq . "$2" | head -n 80
		return 1
	} >&2
}

db_create() {
	psql -X -q -v ON_ERROR_STOP=1 -d postgres \
		-c "CREATE DATABASE \"$1\" ENCODING 'UTF8' TEMPLATE template0"
}

db_fixture() {
	db_create "$1" &&
	psql -X -q -v ON_ERROR_STOP=1 -d "$1" -f "$FIXTURE" >/dev/null 2>&1
}

# A SQL identifier, always quoted.
db_ident_() {
	printf '"%s"' "$(printf '%s' "$1" | sed 's/"/""/g')"
}

db_tables_json() {
	jq -r '.tables[] | select(.rows != null) |
		[.schema, .name, .path,
		 (.columns | map("\"" + gsub("\""; "\"\"") + "\"") | join(", "))]
		| @tsv' "$1"
}

db_source_rows() {
	local db=$1 schema=$2 table=$3 cols=$4
	psql -X -q -d "$db" -v ON_ERROR_STOP=1 -c \
		"\\copy (SELECT $cols FROM ONLY $(db_ident_ "$schema").$(db_ident_ "$table")) TO STDOUT" |
		LC_ALL=C sort
}

db_file_rows() {
	sed '1d;$d' "$1" | LC_ALL=C sort
}

db_wait_quiet() {
	local n
	for n in $(seq 1 100); do
		[ "$(db_psql postgres -c "SELECT count(*) FROM pg_stat_activity
			WHERE datname = '$1' AND backend_type = 'client backend'")" = 0 ] && return 0
		sleep 0.1
	done
	echo "database $1 never became quiet" >&2
	return 1
}

db_snap_reused() {
	db_wait_quiet "$2" &&
	vault snapshot --json --db "dbname=$2" >"$1.json" &&
	vault cat latest db/meta.json >"$1.meta" &&
	jq -r '.tables[] | select(.reused) | .name' "$1.meta" | sort >"$1.reused"
}

db_reused_are() {
	local f=$1
	shift
	printf '%s\n' "$@" | sed '/^$/d' | sort >"$f.want" &&
	test_cmp "$f.want" "$f.reused"
}

db_busy() {
	( db_psql "$1" -c "SELECT pg_sleep(30)" >/dev/null 2>&1 & ) &&
	for n in $(seq 1 50); do
		[ "$(db_psql postgres -c "SELECT count(*) FROM pg_stat_activity
			WHERE datname = '$1' AND state = 'active'")" = 1 ] && return 0
		sleep 0.1
	done
	return 1
}

db_busy_end() {
	db_psql postgres -c "SELECT pg_cancel_backend(pid) FROM pg_stat_activity
		WHERE datname = '$1' AND query LIKE 'SELECT pg_sleep%'" >/dev/null
}

db_check_tree() {
	local dir=$1 db=$2 schema table path cols n=0 bad=0 want got rows
	while IFS=$'\t' read -r schema table path cols; do
		n=$((n + 1))
		# @tsv escaped backslashes and tabs in names
		schema=$(printf '%b' "$schema")
		table=$(printf '%b' "$table")
		path=$(printf '%b' "$path")
		cols=$(printf "%b" "$cols")
		if [ ! -f "$dir/$path/data.sql" ]; then
			echo "missing $path/data.sql" >&2
			bad=$((bad + 1))
			continue
		fi
		if [ "$(tail -n 1 "$dir/$path/data.sql")" != '\.' ]; then
			echo "$path/data.sql does not end with \\." >&2
			bad=$((bad + 1))
		fi
		db_source_rows "$db" "$schema" "$table" "$cols" >"$TEST_TMP/.want" &&
		db_file_rows "$dir/$path/data.sql" >"$TEST_TMP/.got" || bad=$((bad + 1))
		if ! cmp -s "$TEST_TMP/.want" "$TEST_TMP/.got"; then
			echo "rows differ for $schema.$table" >&2
			diff "$TEST_TMP/.want" "$TEST_TMP/.got" | head -n 5 >&2
			bad=$((bad + 1))
		fi
		# checksum and count of the rows exactly as stored
		want=$(jq -r --arg p "$path" '.tables[] | select(.path == $p) |
			"\(.rows) \(.xxh3_128)"' "$dir/db/meta.json")
		rows=$(sed '1d;$d' "$dir/$path/data.sql" | wc -l)
		got="$rows $(sed '1d;$d' "$dir/$path/data.sql" | "$VAULT_BUILDDIR/tests/unit/xxh128sum" | cut -d' ' -f1)"
		if [ "$want" != "$got" ]; then
			echo "meta.json says '$want' for $path, the file gives '$got'" >&2
			bad=$((bad + 1))
		fi
	done < <(db_tables_json "$dir/db/meta.json")
	echo "$n tables checked, $bad problems" >&2
	[ "$n" -gt 0 ] && [ "$bad" = 0 ]
}

db_unit_total=0
db_relay_unit() {
	local prog=$VAULT_BUILDDIR/tests/unit/$1/$2 line
	unit_name=$2
	unit_plan=
	"$prog" >"$unit_name.tap" 2>"$unit_name.err"
	unit_rc=$?
	while IFS= read -r line; do
		case $line in
		"ok "*"# SKIP"*) test_skip "${line#*# SKIP }" "$unit_name skipped it" ;;
		"ok "*) test_ok_ "$unit_name: ${line#ok * - }" ;;
		"not ok "*) test_not_ok_ "$unit_name: ${line#not ok * - }" ;;
		1..*) unit_plan=${line#1..} ;;
		*) echo "# $line" ;;
		esac
	done <"$unit_name.tap"
	test_show_log_ "$unit_name.err"
	db_unit_total=$((db_unit_total + ${unit_plan:-0}))

	test_expect_success "$unit_name ran to its plan and exited 0" '
		echo "exit $unit_rc, plan $unit_plan" &&
		test "$unit_rc" = 0 && test -n "$unit_plan" && test "$unit_plan" -gt 2 &&
		test "$unit_plan" = "$(grep -c "^\(not \)\?ok " "$unit_name.tap")" &&
		! grep -q "# SKIP" "$unit_name.tap"
	'
}

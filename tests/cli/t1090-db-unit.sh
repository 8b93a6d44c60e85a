#!/bin/bash
# Runs the C capture tests (tests/unit/pg/test-pg-snap: tree order, rows vs
# psql, checksums, byte-identical reruns, one instant, psql reload,
# error messages, no password leaks) against the harness's throwaway
# cluster, so they really run in CI instead of skipping for want of
# PGHOST/PGPORT.  Its TAP points are passed on as this script's own.
. "$(dirname "$0")/../test-lib.sh"
. "$VAULT_SRCDIR/tests/db-lib.sh"

PGSNAP=$VAULT_BUILDDIR/tests/unit/pg/test-pg-snap
[ -x "$PGSNAP" ] || skip_all "$PGSNAP not built (make check builds it)"
db_start

"$PGSNAP" >pgsnap.tap 2>pgsnap.err
rc=$?
plan=
while IFS= read -r line; do
	case $line in
	"ok "*"# SKIP"*) test_skip "${line#*# SKIP }" "test-pg-snap skipped it" ;;
	"ok "*) test_ok_ "test-pg-snap: ${line#ok * - }" ;;
	"not ok "*) test_not_ok_ "test-pg-snap: ${line#not ok * - }" ;;
	1..*) plan=${line#1..} ;;
	*) echo "# $line" ;;
	esac
done <pgsnap.tap
test_show_log_ pgsnap.err

test_expect_success 'test-pg-snap ran to its plan and exited 0' '
	echo "exit $rc, plan $plan" &&
	test "$rc" = 0 && test -n "$plan" && test "$plan" -ge 50 &&
	test "$plan" = "$(grep -c "^\(not \)\?ok " pgsnap.tap)" &&
	! grep -q "# SKIP" pgsnap.tap
'

test_done

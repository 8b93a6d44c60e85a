#!/bin/bash
# Runs the C restore tests (tests/unit/dbrestore/test-rs-exec: full restore into an
# empty database, --only roles, dry run, clean mode on one table and on
# everything, merge with and without update, failures that must leave
# the target unchanged, a managed Supabase-like target) against the
# harness's throwaway cluster, so they really run in CI instead of
# skipping for want of PGHOST/PGPORT.  Its TAP points are passed on as
# this script's own.
. "$(dirname "$0")/../test-lib.sh"
. "$VAULT_SRCDIR/tests/db-lib.sh"

RSEXEC=$VAULT_BUILDDIR/tests/unit/dbrestore/test-rs-exec
[ -x "$RSEXEC" ] || skip_all "$RSEXEC not built (make check builds it)"
db_start

"$RSEXEC" >rsexec.tap 2>rsexec.err
rc=$?
plan=
while IFS= read -r line; do
	case $line in
	"ok "*"# SKIP"*) test_skip "${line#*# SKIP }" "test-rs-exec skipped it" ;;
	"ok "*) test_ok_ "test-rs-exec: ${line#ok * - }" ;;
	"not ok "*) test_not_ok_ "test-rs-exec: ${line#not ok * - }" ;;
	1..*) plan=${line#1..} ;;
	*) echo "# $line" ;;
	esac
done <rsexec.tap
test_show_log_ rsexec.err

test_expect_success 'test-rs-exec ran to its plan and exited 0' '
	echo "exit $rc, plan $plan" &&
	test "$rc" = 0 && test -n "$plan" && test "$plan" -ge 80 &&
	test "$plan" = "$(grep -c "^\(not \)\?ok " rsexec.tap)" &&
	! grep -q "# SKIP" rsexec.tap
'

test_done

#!/bin/bash
# Runs the C capture tests against the harness's throwaway cluster, so
# they really run in CI instead of skipping for want of PGHOST/PGPORT:
#   tests/unit/pg/test-pg-conn       connection strings, masking, retries
#   tests/unit/pg/test-pg-snap       one instant, error messages, no
#                                    password leaks
#   tests/unit/pg/test-pg-snap-tree  tree order, rows vs psql, checksums,
#                                    byte-identical reruns, psql reload
# Their TAP points are passed on as this script's own, each named after
# its program.
. "$(dirname "$0")/../test-lib.sh"
. "$VAULT_SRCDIR/tests/db-lib.sh"

PGUNITS="test-pg-conn test-pg-snap test-pg-snap-tree"
for u in $PGUNITS; do
	[ -x "$VAULT_BUILDDIR/tests/unit/pg/$u" ] ||
		skip_all "tests/unit/pg/$u not built (make check builds it)"
done
db_start

# relay_unit NAME: runs tests/unit/pg/NAME, passes its points on, then
# checks that it ran to its plan, skipped nothing and exited 0.
unit_total=0
relay_unit() {
	local line

	unit_name=$1
	unit_plan=
	"$VAULT_BUILDDIR/tests/unit/pg/$unit_name" >"$unit_name.tap" 2>"$unit_name.err"
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
	unit_total=$((unit_total + ${unit_plan:-0}))

	test_expect_success "$unit_name ran to its plan and exited 0" '
		echo "exit $unit_rc, plan $unit_plan" &&
		test "$unit_rc" = 0 && test -n "$unit_plan" &&
		test "$unit_plan" = "$(grep -c "^\(not \)\?ok " "$unit_name.tap")" &&
		! grep -q "# SKIP" "$unit_name.tap"
	'
}

for u in $PGUNITS; do
	relay_unit "$u"
done

test_expect_success 'the capture tests ran at least 50 points in all' '
	echo "$unit_total points" &&
	test "$unit_total" -ge 50
'

test_done

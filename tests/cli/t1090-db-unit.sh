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

for u in $PGUNITS; do
	db_relay_unit pg "$u"
done

test_expect_success 'the capture tests ran at least 50 points in all' '
	echo "$db_unit_total points" &&
	test "$db_unit_total" -ge 50
'

test_done

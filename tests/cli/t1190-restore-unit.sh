#!/bin/bash
# Runs the C restore tests against the harness's throwaway cluster, so
# they really run in CI instead of skipping for want of PGHOST/PGPORT:
#   tests/unit/dbrestore/test-rs-exec: full restore into an empty
#     database, --only roles, dry run, clean mode on one table and on
#     everything, merge with and without update, failures that must
#     leave the target unchanged, a managed Supabase-like target;
#   tests/unit/dbrestore/test-rs-par: the same with --jobs 2, its
#     failures and its undo;
#   tests/unit/dbrestore/test-rs-lo: large objects;
#   tests/unit/dbrestore/test-rs-clean: clean mode, tables reloaded
#     (definition matches) or recreated with their views (drifted).
# One server for all of them; their TAP points are passed on as this
# script's own, each named after its program.
. "$(dirname "$0")/../test-lib.sh"
. "$VAULT_SRCDIR/tests/db-lib.sh"

PROGS="test-rs-exec test-rs-par test-rs-lo test-rs-clean"
for p in $PROGS; do
	[ -x "$VAULT_BUILDDIR/tests/unit/dbrestore/$p" ] ||
		skip_all "tests/unit/dbrestore/$p not built (make check builds it)"
done
db_start

for p in $PROGS; do
	db_relay_unit dbrestore "$p"
done

test_expect_success 'the restore tests ran at least 80 points in all' '
	echo "$db_unit_total points" &&
	test "$db_unit_total" -ge 80
'

test_done

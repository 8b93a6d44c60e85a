#!/bin/bash
# Databases the regression database does not cover round-trip through
# vault as through pg_dump -Fc | pg_restore (compared as in t1200, each
# route into a fresh cluster):
#   supabase   tests/fixtures/supabase.sql: the auth and storage schemas
#              with their triggers, functions and RLS, as Supabase ships
#              them
#   fidelity   tests/fixtures/fidelity.sql: every column type and odd
#              name, roles with grants by other grantors, column grants
#              on catalog relations, functions taking enum, domain and
#              composite arguments, BEGIN ATOMIC bodies, rules with
#              several actions, covering primary keys, partitions,
#              inheritance, sequences called and not, large objects with
#              owners, ACLs and comments, matviews with and without data,
#              FDWs, publications, an event trigger
. "$(dirname "$0")/../test-lib.sh"
. "$VAULT_SRCDIR/tests/db-lib.sh"
. "$VAULT_SRCDIR/tests/regress-lib.sh"

db_start

test_expect_success 'setup: the two source databases' '
	db_fixture supabase &&
	db_create fidelity &&
	db_psql fidelity -f "$VAULT_SRCDIR/tests/fixtures/fidelity.sql" >/dev/null
'

url() {
	echo "postgresql:///$3?host=$1&port=$2&user=postgres"
}

for db in supabase fidelity; do
	test_expect_success "$db, route A: pg_dump -Fc | pg_restore into a fresh cluster" '
		pg_start_another A_'$db' &&
		h=$A_'$db'_HOST p=$A_'$db'_PORT &&
		pg_dumpall --roles-only --no-role-passwords 2>roles.err |
			PGHOST=$h PGPORT=$p psql -X -q -d postgres >roles.log 2>&1 &&
		PGHOST=$h PGPORT=$p rt_psql_ -d postgres -c "CREATE DATABASE '$db' TEMPLATE template0" &&
		pg_dump -Fc --no-sync -d '$db' -f '$db'.dump &&
		rt_rolesettings source-'$db' "$PGHOST" "$PGPORT" '$db' &&
		PGHOST=$h PGPORT=$p pg_restore -d '$db' '$db'.dump >restoreA-'$db'.log 2>&1 &&
		rt_describe A-'$db' "$h" "$p" '$db'
	'

	test_expect_success "$db: vault snapshot --db" '
		new_repo --encryption none &&
		vault snapshot --db "$(url "$PGHOST" "$PGPORT" '$db')" >snap-'$db'.log
	'

	for j in 1 2; do
		test_expect_success "$db, route B$j: vault restore --jobs $j into a fresh cluster matches route A" '
			pg_start_another B'$j'_'$db' &&
			h=$B'$j'_'$db'_HOST p=$B'$j'_'$db'_PORT &&
			PGHOST=$h PGPORT=$p rt_psql_ -d postgres -c "CREATE DATABASE '$db' TEMPLATE template0" &&
			vault restore latest --db "$(url "$h" "$p" '$db')" --yes --jobs '$j' \
				>restoreB'$j'-'$db'.log 2>&1 &&
			rt_describe B'$j'-'$db' "$h" "$p" '$db' &&
			rt_compare A-'$db' B'$j'-'$db' "${RT_PARTS% rolesettings.tsv}" &&
			rt_compare source-'$db' B'$j'-'$db' rolesettings.tsv
		'
	done
done

test_done

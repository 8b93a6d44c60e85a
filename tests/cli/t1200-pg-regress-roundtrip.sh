#!/bin/bash
# PostgreSQL's own regression database (what pg_upgrade's test dumps and
# restores: about 970 relations, 334 functions, rules, inheritance,
# partitions, domains, ranges, large objects...) goes through vault and
# comes back as pg_dump -Fc | pg_restore brings it back.
#
# Three routes, each into a fresh cluster of its own (roles belong to a
# cluster), each target database made like the source:
#   A   pg_dumpall --roles-only | psql, then pg_dump -Fc | pg_restore
#   B1  vault snapshot --db, then vault restore --jobs 1
#   B2  the same snapshot, vault restore --jobs 2, which must really load
#       in parallel
# Comparing B with A (not with the source) cancels pg_dump's own known
# differences.  (And the snapshot planned in clean mode onto the source
# finds no table drifted: each would be reloaded, not recreated.)
# Clean mode onto the source then runs for real and leaves it as it was;
# a copy with a type, a function and a view changed gets them back from
# the snapshot; and a copy where dropping the changed type would take a
# column of a table made since is refused by the dry run and the
# restore alike, unchanged.
# They must match in the schema-only dump, every table's
# rows, sequences, large objects with owners, ACLs and comments, and the
# roles and memberships; per-role and per-database settings, which
# pg_dump -Fc does not carry, are compared with the source's.
. "$(dirname "$0")/../test-lib.sh"
. "$VAULT_SRCDIR/tests/db-lib.sh"
. "$VAULT_SRCDIR/tests/regress-lib.sh"

db_start

# CI installs postgresql-server-dev-15; anywhere else, say why loudly
if ! regress_ready; then
	if [ "${CI:-}" = true ]; then
		test_expect_success 'pg_regress and PGXS are installed under CI' '
			echo "$REGRESS_SKIP_REASON" >&2 && false
		'
		test_done
	fi
	skip_all "$REGRESS_SKIP_REASON"
fi

test_expect_success 'setup: the regression database (pg_regress --use-existing)' '
	regress_build regression && built=1
'
[ -n "${built:-}" ] || test_done

read -r ENC COLL CTYPE < <(db_psql postgres -F ' ' -c \
	"SELECT pg_encoding_to_char(encoding), datcollate, datctype FROM pg_database WHERE datname = 'regression'")

# target HOST PORT: an empty database "target" made like the source
target() {
	PGHOST=$1 PGPORT=$2 rt_psql_ -d postgres -c \
		"CREATE DATABASE target TEMPLATE template0 ENCODING '$ENC' LC_COLLATE '$COLL' LC_CTYPE '$CTYPE'"
}

url() {
	echo "postgresql:///$3?host=$1&port=$2&user=postgres"
}

test_expect_success 'route A: pg_dump -Fc | pg_restore into a fresh cluster' '
	pg_start_another A &&
	pg_dumpall --roles-only --no-role-passwords 2>roles.err |
		PGHOST=$A_HOST PGPORT=$A_PORT psql -X -q -d postgres >roles.log 2>&1 &&
	target "$A_HOST" "$A_PORT" &&
	pg_dump -Fc --no-sync -d regression -f source.dump &&
	rt_rolesettings source "$PGHOST" "$PGPORT" regression &&
	PGHOST=$A_HOST PGPORT=$A_PORT pg_restore -d target source.dump >restoreA.log 2>&1 &&
	rt_describe A "$A_HOST" "$A_PORT" target
'

test_expect_success 'vault snapshot --db of the regression database' '
	new_repo --encryption none &&
	vault snapshot --json --db "$(url "$PGHOST" "$PGPORT" regression)" >snap.json &&
	jq -e ".database.tables > 500" snap.json
'

# a table whose definition is the snapshot's is reloaded, not recreated:
# none of the regression database's drifted from its own snapshot
test_expect_success 'clean mode onto the database it came from: no table drifted' '
	vault restore latest --db "$(url "$PGHOST" "$PGPORT" regression)" --mode clean \
		--dry-run --json >clean.json &&
	jq -r ".tables[] | select(.clean == \"recreate\") | \"\(.name): \(.clean_reason)\"" clean.json >recreated &&
	jq -e "[.tables[] | select(.clean == \"reload\")] | length > 400" clean.json &&
	! grep ": drifted" recreated
'

for j in 1 2; do
	test_expect_success "route B$j: vault restore --jobs $j into a fresh cluster matches route A" '
		pg_start_another B'$j' &&
		target "$B'$j'_HOST" "$B'$j'_PORT" &&
		rt_describe B'$j'pre "$B'$j'_HOST" "$B'$j'_PORT" target &&
		vault restore latest --db "$(url "$B'$j'_HOST" "$B'$j'_PORT" target)" \
			--yes --jobs '$j' >restoreB'$j'.log 2>&1 &&
		rt_describe B'$j' "$B'$j'_HOST" "$B'$j'_PORT" target &&
		rt_compare A B'$j' "${RT_PARTS% rolesettings.tsv}" &&
		rt_compare source B'$j' rolesettings.tsv
	'
done

test_expect_success 'the --jobs 2 restore loaded in parallel (no fallback)' '
	vault restores --json >restores.json &&
	jq -r ".[-1].strategy" restores.json >strategy &&
	cat strategy &&
	grep -q "^parallel:" strategy
'

# the rollback the --jobs 2 restore offers (listed, proven as it runs)
# gives the target, its roles included, back as it was
test_expect_success 'vault rollback of the --jobs 2 restore: the target as it was' '
	vault rollback --db "$(url "$B2_HOST" "$B2_PORT" target)" --yes >rollbackB2.log 2>&1 &&
	rt_describe B2rb "$B2_HOST" "$B2_PORT" target &&
	rt_compare B2pre B2rb
'

# clean mode onto the database it came from, for real: every object
# and table matches the snapshot, so objects are kept and tables
# reloaded, and the database is as it was
RT_SELF="schema.sql rows.tsv sequences.tsv lobs.tsv"
test_expect_success 'clean mode onto the database it came from: restored, schema and rows as they were' '
	rt_describe self0 "$PGHOST" "$PGPORT" regression &&
	vault restore latest --db "$(url "$PGHOST" "$PGPORT" regression)" --mode clean \
		--yes >self.log 2>&1 &&
	grep "^Objects: 0 to create, [0-9]* to drop and recreate, 0 to replace" self.log &&
	! grep -E "^  (recreate|replace) +(TYPE|DOMAIN|FUNCTION|VIEW)" self.log &&
	rt_describe self1 "$PGHOST" "$PGPORT" regression &&
	rt_compare self0 self1 "$RT_SELF"
'

# a type, a function and a view changed in the target: each recreated
# from the snapshot (the type's routines and operator with it), the
# plan saying why, and the database ends as the snapshot's; a function
# whose return type changed, which CREATE OR REPLACE refuses, is
# dropped and created
test_expect_success 'clean mode, a changed type, function and view: recreated from the snapshot' '
	db_psql postgres -c "CREATE ROLE regress_vault_other" &&
	db_copy regression changed &&
	db_psql changed -c "ALTER TYPE public.widget OWNER TO regress_vault_other;
		CREATE OR REPLACE FUNCTION public.part_hashtext_length(value text, seed bigint)
			RETURNS bigint LANGUAGE sql IMMUTABLE AS \$\$ SELECT 42::int8 \$\$;
		CREATE OR REPLACE VIEW public.street AS SELECT r.name, r.thepath, c.cname
			FROM ONLY public.road r, public.real_city c
			WHERE c.outline ?# r.thepath AND r.name <> '"'"'x'"'"';
		DROP FUNCTION public.mr_outparam_succeed(anymultirange);
		CREATE FUNCTION public.mr_outparam_succeed(i anymultirange) RETURNS text
			LANGUAGE sql AS \$\$ SELECT '"'"'x'"'"' \$\$;" &&
	vault restore latest --db "$(url "$PGHOST" "$PGPORT" changed)" --mode clean \
		--dry-run >changed.plan &&
	grep "^  recreate TYPE public.widget: definition differs from the snapshot'"'"'s\$" changed.plan &&
	grep "^  replace  FUNCTION public.widget_in(cstring): depends on TYPE public.widget, which is recreated\$" changed.plan &&
	grep "^  try      OPERATOR public.<%: depends on TYPE public.widget, which is recreated\$" changed.plan &&
	grep "^  replace  FUNCTION public.part_hashtext_length(text, bigint): definition differs from the snapshot'"'"'s\$" changed.plan &&
	grep "^  recreate VIEW public.street: definition differs from the snapshot'"'"'s\$" changed.plan &&
	grep "^  recreate FUNCTION public.mr_outparam_succeed(anymultirange): definition differs from the snapshot'"'"'s, and CREATE OR REPLACE refuses it (cannot change return type of existing function)\$" changed.plan &&
	vault restore latest --db "$(url "$PGHOST" "$PGPORT" changed)" --mode clean \
		--yes >changed.log 2>&1 &&
	rt_describe changed "$PGHOST" "$PGPORT" changed &&
	rt_compare self0 changed "$RT_SELF"
'

# a changed type whose DROP ... CASCADE would take a column of a table
# the snapshot does not hold: the dry run refuses, and the restore for
# the same reason; nothing changed
test_expect_success 'clean mode, a changed type a table made since uses: refused alike, nothing changed' '
	db_copy regression refused &&
	db_psql refused -c "ALTER TYPE public.widget OWNER TO regress_vault_other;
		CREATE TABLE public.gadgets (id int, w public.widget);
		INSERT INTO public.gadgets VALUES (1, '"'"'(1,2,3)'"'"');" &&
	db_dump refused >refused.before &&
	why="clean mode would drop TYPE public\.widget \(definition differs from the snapshot.s\), and DROP \.\.\. CASCADE would take column w of table public\.gadgets along, which the restore does not recreate" &&
	test_must_fail_with 1 "$why" vault restore latest --db "$(url "$PGHOST" "$PGPORT" refused)" \
		--mode clean --dry-run &&
	test_must_fail_with 1 "$why" vault restore latest --db "$(url "$PGHOST" "$PGPORT" refused)" \
		--mode clean --yes &&
	db_dump refused >refused.after && test_cmp refused.before refused.after
'

test_done

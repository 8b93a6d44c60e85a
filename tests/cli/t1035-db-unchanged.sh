#!/bin/bash
# Tables that did not change since the previous snapshot of the same
# database are not read again: their data.sql is the previous chunk list
# (meta.json: "reused").  Every kind of change, and every event that
# makes the statistics incomparable, forces a read; a restore of a
# snapshot made of reused tables is identical to the database.
. "$(dirname "$0")/../test-lib.sh"
. "$VAULT_SRCDIR/tests/db-lib.sh"

db_start
new_repo --encryption repokey

TABLES="t_upd t_del t_trunc t_rb t_vf t_col t_nopk t_idle"

# No other backend of database fx may hold statistics not yet flushed,
# or the capture (rightly) reuses nothing: snap waits for the psql
# sessions and the previous capture's connections to be gone.
snap() { db_snap_reused "$1" fx; }
reused_are() { db_reused_are "$@"; }

# all tables but the given ones
all_but() {
	local t x keep
	for t in $TABLES; do
		keep=1
		for x in "$@"; do [ "$t" = "$x" ] && keep=; done
		[ -n "$keep" ] && echo "$t"
	done
}

test_expect_success 'setup: eight tables' '
	db_create fx &&
	for t in $TABLES; do
		db_psql fx -c "CREATE TABLE public.$t (id int PRIMARY KEY, v text)" \
			-c "INSERT INTO public.$t SELECT g, md5(g::text) FROM generate_series(1, 3000) g" ||
		return 1
	done &&
	db_psql fx -c "ALTER TABLE public.t_nopk DROP CONSTRAINT t_nopk_pkey"
'

test_expect_success 'the first snapshot reads everything and records proofs' '
	snap s1 &&
	reused_are s1 &&
	jq -e ".unchanged_proof | startswith(\"vault-1/\")" s1.meta &&
	jq -e "[.tables[] | .unchanged_proof | type == \"string\"] | all" s1.meta &&
	jq -e ".reused_from == null" s1.meta &&
	jq -e ".database.tables_reused == 0" s1.json
'

test_expect_success 'nothing changed: every table is reused, none read' '
	snap s2 &&
	reused_are s2 $TABLES &&
	jq -e ".database.tables_reused == 8 and .chunks_new <= 8" s2.json &&
	jq -e --arg id "$(jq -r .reused_from s2.meta)" "\$id | length == 64" s2.meta &&
	vault cat latest db/public/tables/t_upd/data.sql | sed "1d;\$d" | wc -l >n &&
	test "$(cat n)" = 3000
'

test_expect_success 'update, delete, TRUNCATE, rollback, VACUUM FULL each force a read' '
	db_psql fx -c "UPDATE public.t_upd SET v = \$\$u\$\$ WHERE id = 7" \
		-c "DELETE FROM public.t_del WHERE id = 9" \
		-c "TRUNCATE public.t_trunc" \
		-c "BEGIN" -c "INSERT INTO public.t_rb VALUES (0, \$\$gone\$\$)" -c "ROLLBACK" \
		-c "VACUUM FULL public.t_vf" &&
	snap s3 &&
	reused_are s3 t_col t_nopk t_idle &&
	jq -e ".database.tables_reused == 3" s3.json
'

test_expect_success 'a schema change (ADD COLUMN with a default, no rewrite): all read' '
	db_psql fx -c "ALTER TABLE public.t_col ADD COLUMN w int DEFAULT 5" &&
	snap s3b &&
	reused_are s3b &&
	vault cat latest db/public/tables/t_col/data.sql | sed -n "2p" >row &&
	grep -q "	5\$" row
'

test_expect_success 'the snapshot with reused tables mounts as the database' '
	vault mount latest m >/dev/null &&
	db_check_tree m fx
'

test_expect_success 'the snapshot with reused tables restores identical' '
	snap s4 &&
	reused_are s4 $TABLES &&
	db_create e1 &&
	vault restore latest --db "dbname=e1" --json >r.json &&
	jq -e ".status == \"ok\"" r.json &&
	db_dump fx --schema-only >fx.schema && db_dump e1 --schema-only >e1.schema &&
	test_cmp fx.schema e1.schema &&
	db_dump fx --data-only | sort >fx.data &&
	db_dump e1 --data-only | sort >e1.data &&
	test_cmp fx.data e1.data
'

test_expect_success 'a statistics reset forces every table to be read' '
	db_psql fx -c "SELECT pg_stat_reset()" >/dev/null &&
	snap s5 &&
	reused_are s5 &&
	snap s6 &&
	reused_are s6 $TABLES
'

test_expect_success 'so does resetting one table'"'"'s counters' '
	db_psql fx -c "SELECT pg_stat_reset_single_table_counters(\$\$public.t_idle\$\$::regclass)" >/dev/null &&
	snap s7 &&
	reused_are s7
'

test_expect_success 'a server restart forces every table to be read' '
	pg_as_ "$PG_BINDIR/pg_ctl" -D "$PG_DIR/data" -w -m fast restart \
		-o "-p $PGPORT -k $PG_DIR/sock -c listen_addresses=127.0.0.1 -c fsync=off" \
		>/dev/null &&
	snap s8 &&
	reused_are s8 &&
	snap s9 &&
	reused_are s9 $TABLES
'

test_expect_success 'a busy backend of the database: nothing is reused' '
	db_busy fx &&
	vault snapshot --json --db dbname=fx >s10.json &&
	jq -e ".database.tables_reused == 0" s10.json &&
	db_busy_end fx
'

test_expect_success 'changes in a table not in the previous record: read, the rest reused' '
	snap s11 &&
	db_psql fx -c "INSERT INTO public.t_nopk VALUES (5000, \$\$new\$\$)" \
		-c "UPDATE public.t_idle SET v = v WHERE id = 1" &&
	snap s12 &&
	reused_are s12 $(all_but t_nopk t_idle) &&
	vault mount latest m2 >/dev/null &&
	db_check_tree m2 fx
'

test_done

#!/bin/bash
# vault diff between two database snapshots: per table the rows added,
# removed and changed (by primary key; key updates are one row out and
# one in), a table without a key counted as a multiset, a table added
# and one dropped, a numeric key holding NaN (an order vault does not
# reproduce: the rows are matched another way, with the same counts),
# and the schema objects: a changed function, a new index, the tables,
# a sequence's value.  Exact counts, for a person and in --json; files
# beside the database keep their lines, and a snapshot without a
# database against one with it lists db/ as files.
. "$(dirname "$0")/../test-lib.sh"
. "$VAULT_SRCDIR/tests/db-lib.sh"

db_start
new_repo --encryption repokey

test_expect_success 'setup: the fixture and tables to change' '
	db_fixture dd &&
	db_psql dd -c "CREATE TABLE public.items (id integer PRIMARY KEY, name text, qty integer)" \
		-c "INSERT INTO public.items SELECT g, \$\$item \$\$ || g, g % 7 FROM generate_series(1, 1000) g" \
		-c "CREATE TABLE public.tags (label text, n integer)" \
		-c "INSERT INTO public.tags VALUES (\$\$a\$\$, 1), (\$\$a\$\$, 1), (\$\$a\$\$, 1),
			(\$\$b\$\$, 2), (\$\$b\$\$, 2), (\$\$c\$\$, 3)" \
		-c "CREATE TABLE public.gone (id integer PRIMARY KEY)" \
		-c "INSERT INTO public.gone SELECT generate_series(1, 10)" \
		-c "CREATE TABLE public.nums (k numeric PRIMARY KEY, v text)" \
		-c "INSERT INTO public.nums VALUES (1, \$\$one\$\$), (2.5, \$\$two and a half\$\$),
			(\$\$NaN\$\$, \$\$not a number\$\$), (10, \$\$ten\$\$)" \
		-c "CREATE TABLE public.logs (id bigserial PRIMARY KEY, msg text)" \
		-c "INSERT INTO public.logs (msg) VALUES (\$\$a\$\$), (\$\$b\$\$), (\$\$c\$\$)" \
		-c "CREATE TABLE public.rekey (a integer PRIMARY KEY, b integer)" \
		-c "INSERT INTO public.rekey SELECT g, 10 * g FROM generate_series(1, 5) g" \
		-c "CREATE FUNCTION public.bump(x integer) RETURNS integer LANGUAGE sql AS \$\$SELECT x + 1\$\$" &&
	mkdir notes && echo one >notes/a.txt
'

test_expect_success 'first snapshot' '
	vault snapshot --json --db dbname=dd notes >s1.json
'

test_expect_success 'change rows, tables, a function, an index' '
	db_psql dd -c "INSERT INTO public.items SELECT g, \$\$new \$\$ || g, 0 FROM generate_series(1001, 1005) g" \
		-c "DELETE FROM public.items WHERE id BETWEEN 10 AND 12" \
		-c "UPDATE public.items SET name = \$\$renamed \$\$ || id WHERE id BETWEEN 20 AND 29" \
		-c "UPDATE public.items SET id = id + 5000 WHERE id IN (100, 101)" \
		-c "DELETE FROM public.tags WHERE ctid = (SELECT min(ctid) FROM public.tags WHERE label = \$\$a\$\$)" \
		-c "INSERT INTO public.tags VALUES (\$\$d\$\$, 4), (\$\$b\$\$, 2)" \
		-c "UPDATE public.tags SET n = 30 WHERE label = \$\$c\$\$" \
		-c "DROP TABLE public.gone" \
		-c "CREATE TABLE public.fresh (id integer PRIMARY KEY)" \
		-c "INSERT INTO public.fresh SELECT generate_series(1, 4)" \
		-c "UPDATE public.nums SET v = \$\$2.5\$\$ WHERE k = 2.5" \
		-c "INSERT INTO public.logs (msg) VALUES (\$\$d\$\$), (\$\$e\$\$)" \
		-c "ALTER TABLE public.logs ADD COLUMN level integer NOT NULL DEFAULT 0" \
		-c "ALTER TABLE public.rekey DROP CONSTRAINT rekey_pkey, ADD PRIMARY KEY (b)" \
		-c "UPDATE public.rekey SET a = 0 WHERE a = 1" \
		-c "CREATE OR REPLACE FUNCTION public.bump(x integer) RETURNS integer LANGUAGE sql AS \$\$SELECT x + 2\$\$" \
		-c "CREATE INDEX items_name_idx ON public.items (name)" &&
	echo two >notes/b.txt &&
	vault snapshot --json --db dbname=dd notes >s2.json &&
	S1=$(json_get .id s1.json) && S2=$(json_get .id s2.json) &&
	echo "$S1 $S2" >ids
'

test_expect_success 'diff: per table, rows added, removed, changed' '
	vault diff $(cat ids) >diff.out &&
	cat diff.out &&
	cat >want.out <<-\EOF &&
	+ notes/b.txt (4 bytes)
	Schema objects:
	  + CONSTRAINT public.fresh fresh_pkey
	  - CONSTRAINT public.gone gone_pkey
	  ~ CONSTRAINT public.rekey rekey_pkey
	  ~ FUNCTION public.bump(integer)
	  + INDEX public.items_name_idx
	  + TABLE public.fresh
	  - TABLE public.gone
	  ~ TABLE public.logs
	  ~ TABLE public.rekey
	  ~ SEQUENCE SET public.logs_id_seq: 3, true -> 5, true
	Tables (rows):
	    added  removed  changed   before    after  table
	        4        0        0        -        4  public.fresh (added)
	        0       10        0       10        -  public.gone (dropped)
	        7        5       10     1000     1002  public.items
	        2        0        0        3        5  public.logs
	        0        0        1        4        4  public.nums
	        1        1        -        5        5  public.rekey (primary key changed: rows counted)
	        3        2        -        6        7  public.tags (no primary key: rows counted)
	database: 5 tables changed, 1 added, 1 dropped, 23 unchanged; rows: 17 added, 18 removed, 11 changed; schema objects: 3 added, 2 dropped, 5 changed
	1 added, 0 removed, 0 changed
	EOF
	test_cmp want.out diff.out
'

test_expect_success 'diff --json: the same counts, and how each table was compared' '
	vault diff --json $(cat ids) >diff.json &&
	t() { jq -e ".database.tables[] | select(.schema == \"public\" and .name == \"$1\") | $2" diff.json >/dev/null; } &&
	t items ".change == \"changed\" and .method == \"merge\" and .added == 7 and .removed == 5 and .changed == 10 and .rows_before == 1000 and .rows_after == 1002" &&
	t tags ".method == \"multiset\" and .added == 3 and .removed == 2 and .changed == null" &&
	t gone ".change == \"dropped\" and .removed == 10 and .rows_after == null" &&
	t fresh ".change == \"added\" and .added == 4 and .rows_before == null" &&
	t nums ".method == \"match\" and .changed == 1 and .added == 0 and (.merge_gave_up | test(\"not a number\"))" &&
	t logs ".method == \"merge\" and .added == 2 and .removed == 0 and .changed == 0" &&
	t rekey ".method == \"multiset\" and .added == 1 and .removed == 1 and .changed == null" &&
	json_ok "[.database.tables[].name] == [\"fresh\", \"gone\", \"items\", \"logs\", \"nums\", \"rekey\", \"tags\"]" diff.json &&
	json_ok ".database.tables_changed == 5 and .database.tables_added == 1 and .database.tables_dropped == 1 and .database.tables_unchanged == 23" diff.json &&
	json_ok ".database.rows_added == 17 and .database.rows_removed == 18 and .database.rows_changed == 11" diff.json &&
	json_ok ".database.objects_added == 3 and .database.objects_dropped == 2 and .database.objects_changed == 5" diff.json &&
	json_ok "[.database.objects[] | .change + \" \" + .type + \" \" + .schema + \".\" + .name] == [
		\"added CONSTRAINT public.fresh fresh_pkey\", \"dropped CONSTRAINT public.gone gone_pkey\",
		\"changed CONSTRAINT public.rekey rekey_pkey\", \"changed FUNCTION public.bump(integer)\",
		\"added INDEX public.items_name_idx\", \"added TABLE public.fresh\", \"dropped TABLE public.gone\",
		\"changed TABLE public.logs\", \"changed TABLE public.rekey\",
		\"changed SEQUENCE SET public.logs_id_seq\"]" diff.json &&
	o() { jq -e ".database.objects[] | select(.type == \"$1\" and .name == \"$2\") | .change == \"$3\"" diff.json >/dev/null; } &&
	o FUNCTION "bump(integer)" changed &&
	o INDEX items_name_idx added &&
	o TABLE gone dropped &&
	o TABLE fresh added &&
	o "SEQUENCE SET" logs_id_seq changed &&
	json_ok "[.database.objects[] | select(.type == \"SEQUENCE SET\")][0] | .before == \"3, true\" and .after == \"5, true\" and .file == \"sequences.sql\"" diff.json &&
	json_ok "[.changes[].path] == [\"notes/b.txt\"] and .added == 1" diff.json
'

test_expect_success 'the other way round: added and removed swap' '
	vault diff --json $(cut -d" " -f2 ids) $(cut -d" " -f1 ids) >rev.json &&
	json_ok ".database.rows_added == 18 and .database.rows_removed == 17 and .database.rows_changed == 11" rev.json &&
	json_ok ".database.tables_added == 1 and .database.tables_dropped == 1 and .database.tables_changed == 5" rev.json &&
	json_ok "[.database.tables[] | select(.name == \"fresh\")][0] | .change == \"dropped\" and .removed == 4" rev.json &&
	json_ok "[.database.tables[] | select(.name == \"items\")][0] | .added == 5 and .removed == 7" rev.json &&
	json_ok "[.database.objects[] | select(.type == \"INDEX\")][0].change == \"dropped\"" rev.json
'

test_expect_success 'an unchanged database: nothing about it' '
	vault snapshot --json --db dbname=dd notes >s3.json &&
	vault diff "$(json_get .id s2.json)" "$(json_get .id s3.json)" >same.out &&
	test "$(cat same.out)" = "0 added, 0 removed, 0 changed" &&
	vault diff --json "$(json_get .id s2.json)" "$(json_get .id s3.json)" >same.json &&
	json_ok ".database.tables == [] and .database.objects == [] and .database.tables_changed == 0 and .database.tables_unchanged == 29 and .database.rows_added == 0 and .database.objects_changed == 0" same.json
'

test_expect_success 'without a database on one side, db/ is files as before' '
	vault snapshot --json notes >s4.json &&
	vault diff "$(json_get .id s4.json)" "$(json_get .id s3.json)" >files.out &&
	grep -q "^+ db/meta.json (" files.out &&
	grep -q "^+ db/public/tables/items/data.sql (" files.out &&
	! grep -q "^Tables" files.out &&
	vault diff --json "$(json_get .id s4.json)" "$(json_get .id s3.json)" >files.json &&
	json_ok ".database == null" files.json &&
	vault diff --json "$(json_get .id s3.json)" "$(json_get .id s4.json)" >files.json &&
	json_ok ".database == null and .added == 0 and .changed == 0 and .removed == $(grep -c "^+ db" files.out) and ([.changes[] | select(.path == \"db/public/tables/items/data.sql\")][0].change == \"removed\")" files.json
'

test_expect_success 'neither holds a database: files only, as before' '
	echo three >notes/c.txt &&
	vault snapshot --json notes >s5.json &&
	vault diff "$(json_get .id s4.json)" "$(json_get .id s5.json)" >nodb.out &&
	printf "%s\n" "+ notes/c.txt (6 bytes)" "1 added, 0 removed, 0 changed" >want.out &&
	test_cmp want.out nodb.out &&
	vault diff --json "$(json_get .id s4.json)" "$(json_get .id s5.json)" >nodb.json &&
	json_ok ".database == null and .added == 1" nodb.json
'

# A linguistic collation (ICU's root locale: punctuation, then letters
# whatever their case) puts text keys in an order vault does not
# reproduce: the merge gives up and the rows are matched by key.  The
# cluster's own collation is C.UTF-8, a byte order like "C".
if [ "$(db_psql dd -tAc "SELECT count(*) FROM pg_collation WHERE collname = \$\$und-x-icu\$\$")" = 1 ]; then
	test_set_prereq ICU
	BIG_COLL="COLLATE \"und-x-icu\""
fi

test_expect_success 'text keys in a linguistic collation and in C: exact counts either way' '
	db_psql dd -c "CREATE TABLE public.big (k text $BIG_COLL PRIMARY KEY, v integer)" \
		-c "INSERT INTO public.big SELECT (CASE WHEN g % 3 = 0 THEN \$\$a-\$\$ WHEN g % 3 = 1
			THEN \$\$A \$\$ ELSE \$\$_b\$\$ END) || g, g FROM generate_series(1, 30000) g" \
		-c "CREATE TABLE public.bigc (k text COLLATE \"C\" PRIMARY KEY, v integer)" \
		-c "INSERT INTO public.bigc SELECT k, v FROM public.big" &&
	vault snapshot --json --db dbname=dd >b1.json &&
	for t in big bigc; do
		db_psql dd -c "UPDATE public.$t SET v = -v WHERE v % 100 = 0" \
			-c "DELETE FROM public.$t WHERE v % 250 = 1" \
			-c "INSERT INTO public.$t SELECT \$\$z\$\$ || g, g FROM generate_series(30001, 30300) g" || return 1
	done &&
	vault snapshot --json --db dbname=dd >b2.json &&
	vault diff --json "$(json_get .id b1.json)" "$(json_get .id b2.json)" >big.json &&
	json_ok "[.database.tables[] | select(.name == \"big\")][0] | .added == 300 and .removed == 120 and .changed == 300 and .rows_before == 30000 and .rows_after == 30180" big.json &&
	json_ok "[.database.tables[] | select(.name == \"bigc\")][0] | .method == \"merge\" and .added == 300 and .removed == 120 and .changed == 300 and has(\"merge_gave_up\") == false" big.json &&
	json_ok "[.database.tables[].name] == [\"big\", \"bigc\"] and .database.tables_added == 0 and .database.tables_changed == 2" big.json
'

test_expect_success ICU 'the linguistic order: the merge gave up, the rows were matched' '
	json_ok "[.database.tables[] | select(.name == \"big\")][0] | .method == \"match\" and (.merge_gave_up | test(\"a key not after the one before it\"))" big.json
'

test_expect_success 'another scope (--schema public): a warning names the schemas' '
	vault snapshot --json --db dbname=dd --schema public >b3.json &&
	B2=$(json_get .id b2.json) && B3=$(json_get .id b3.json) &&
	vault diff --json "$B2" "$B3" >scope.json 2>scope.err &&
	cat scope.err &&
	vault cat "$B2" db/meta.json >b2-meta.json &&
	others=$(jq -r "[.schemas.captured[] | select(. != \"public\")] | join(\", \")" b2-meta.json) &&
	test -n "$others" &&
	test "$(cat scope.err)" = "vault: diff: warning: the snapshots captured other schemas (only before, in ${B2:0:8}: $others): their tables show as dropped or added" &&
	dropped=$(jq "[(.tables + (.extension_tables // []))[] | select(.schema != \"public\" and .kind == \"table\")] | length" b2-meta.json) &&
	test "$dropped" -gt 0 &&
	json_ok ".database.tables_dropped == $dropped and .database.tables_added == 0 and .database.tables_changed == 0 and ([.database.tables[] | select(.schema == \"public\")] | length == 0)" scope.json
'

test_expect_success 'one table (--table public.items): the others are not compared, not dropped' '
	vault snapshot --json --db dbname=dd --table public.items >b4.json &&
	B2=$(json_get .id b2.json) && B4=$(json_get .id b4.json) &&
	vault cat "$B4" db/meta.json >b4-meta.json &&
	jq -e "[.tables_left_out[] | select(.schema == \"public\" and .name == \"tags\")] | length == 1" b4-meta.json &&
	jq -e "[.tables_left_out[] | select(.name == \"items\")] | length == 0" b4-meta.json &&
	vault diff --json "$B2" "$B4" >one.json 2>one.err &&
	cat one.err &&
	grep -q "^vault: diff: warning: tables one snapshot.s --table or --exclude-table left out are not compared (left out of ${B4:0:8}: .*, \.\.\.)$" one.err &&
	left=$(jq "[.tables_left_out[] | select(.schema == \"public\")] | length" b4-meta.json) &&
	json_ok ".database.tables_dropped == 0 and .database.tables_added == 0 and .database.tables_not_compared >= $left" one.json &&
	json_ok "[.database.objects[] | select(.change == \"dropped\" and .schema == \"public\" and (.name | test(\"tags|logs|nums|fresh|rekey\")))] | length == 0" one.json &&
	json_ok "[.database.tables[] | select(.name != \"items\")] | length == 0" one.json &&
	vault diff "$B2" "$B4" >one.txt 2>/dev/null &&
	grep -q "tables not compared (left out by --table)" one.txt
'

test_expect_success 'and a table really dropped beside a --table snapshot still shows as dropped' '
	db_psql dd -c "CREATE TABLE public.brief (id integer PRIMARY KEY)" &&
	vault snapshot --json --db dbname=dd >b5.json &&
	db_psql dd -c "DROP TABLE public.brief" &&
	vault snapshot --json --db dbname=dd --table public.items >b6.json &&
	B5=$(json_get .id b5.json) && B6=$(json_get .id b6.json) &&
	vault diff --json "$B5" "$B6" >drop.json 2>/dev/null &&
	json_ok ".database.tables_dropped == 1 and ([.database.tables[] | select(.name == \"brief\" and .change == \"dropped\")] | length == 1)" drop.json
'

# A repository on a read-only mount (root, in a mount namespace of its
# own): the sides are read through views of their own, which must not
# need to write either.
mkdir "$TEST_TMP/probe"
if [ "$(id -u)" = 0 ] &&
   unshare -m --propagation private mount -t tmpfs tmpfs "$TEST_TMP/probe" 2>/dev/null; then
	test_set_prereq ROFS
fi

test_expect_success ROFS 'a read-only repository gives the same diff' '
	vault diff --json $(cat ids) >want.json &&
	unshare -m --propagation private sh -c "mount --bind \"\$VAULT_REPO\" \"\$VAULT_REPO\" &&
		mount -o remount,bind,ro \"\$VAULT_REPO\" && exec \"\$0\" \"\$@\"" \
		"$VAULT" diff --json $(cat ids) >got.json &&
	test_cmp want.json got.json
'

# Damage in the repository: the diff stops with an error that names the
# table it was reading, and --json prints nothing half done.
MiB=$((1024 * 1024))

test_expect_success 'a damaged data.sql: an error naming its table' '
	new_repo --encryption repokey &&
	db_create dmg &&
	db_psql dmg -c "CREATE TABLE public.wide (id integer PRIMARY KEY, v text)" \
		-c "INSERT INTO public.wide SELECT g, (SELECT string_agg(md5(random()::text), \$\$\$\$)
			FROM generate_series(1, 64) WHERE g > 0) FROM generate_series(1, 4000) g" &&
	vault snapshot --json --db dbname=dmg >d1.json &&
	find "$VAULT_REPO/packs" -name "*.pack" | sort >packs1 &&
	db_psql dmg -c "UPDATE public.wide SET v = (SELECT string_agg(md5(random()::text), \$\$\$\$)
			FROM generate_series(1, 64) WHERE id > 0) WHERE id % 2 = 0" &&
	vault snapshot --json --db dbname=dmg >d2.json &&
	D1=$(json_get .id d1.json) && D2=$(json_get .id d2.json) &&
	vault diff --json "$D1" "$D2" >dmg-ok.json &&
	json_ok "[.database.tables[] | select(.name == \"wide\")][0] | .changed == 2000 and .added == 0 and .removed == 0" dmg-ok.json &&
	find "$VAULT_REPO/packs" -name "*.pack" | sort | comm -13 packs1 - >packs2 &&
	PACK=$(xargs ls -S <packs2 | head -n 1) &&
	size=$(stat -c %s "$PACK") &&
	echo "largest new pack: $size bytes" &&
	# the changed rows are stored as deltas against the first
	# snapshot chunks: the new pack is mostly those
	jq -e ".chunks_delta > 0" d2.json >/dev/null &&
	test "$size" -gt $((64 * 1024)) &&
	chmod u+w "$PACK" &&
	flip_byte "$PACK" $((size / 2)) &&
	test_must_fail_with 3 "^vault: diff: table public\.wide: db/public/tables/wide/data\.sql of snapshot ${D2:0:8}: pack [0-9a-f]{64}: blob [0-9a-f]{64}( \(a delta at depth [1-8]\))?: corrupt" \
		vault diff --json "$D1" "$D2" &&
	test ! -s "$TEST_TMP/.stdout"
'

test_done

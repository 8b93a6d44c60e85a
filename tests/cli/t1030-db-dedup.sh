#!/bin/bash
# Dedup: rows come in primary-key order and are cut only at row ends, so
# a second snapshot after 1% of the rows changed stores far less than
# the first; an unchanged database stores (almost) nothing.
. "$(dirname "$0")/../test-lib.sh"
. "$VAULT_SRCDIR/tests/db-lib.sh"

db_start
new_repo --encryption repokey

test_expect_success 'setup: the fixture plus 150000 orders and 50000 events' '
	db_fixture fx &&
	db_psql fx -c "CREATE TABLE public.orders (id bigint PRIMARY KEY,
			customer uuid, total numeric(12,2), note text, doc jsonb)" \
		-c "INSERT INTO public.orders SELECT g, md5(g::text)::uuid,
			(g % 9973) / 7.0, repeat(md5((g * 7)::text), 2),
			jsonb_build_object(\$\$n\$\$, g, \$\$tags\$\$, jsonb_build_array(g % 10, g % 7))
			FROM generate_series(1, 150000) g" \
		-c "CREATE TABLE public.events (id bigint PRIMARY KEY, at timestamptz, kind text)" \
		-c "INSERT INTO public.events SELECT g, timestamptz \$\$2024-01-01\$\$ + g * interval \$\$1 minute\$\$,
			md5(g::text) FROM generate_series(1, 50000) g"
'

test_expect_success 'first snapshot' '
	vault snapshot --json --db dbname=fx >s1.json &&
	jq -e ".bytes_added > 10000000" s1.json
'

test_expect_success 'unchanged: the second snapshot adds almost nothing' '
	vault snapshot --json --db dbname=fx >s2.json &&
	a1=$(jq .bytes_added s1.json) && a2=$(jq .bytes_added s2.json) &&
	echo "first $a1, unchanged $a2" &&
	test $((a2 * 100)) -lt "$a1"
'

test_expect_success 'after 1% of the rows change: far less than the first' '
	db_psql fx -c "UPDATE public.orders SET total = total + 1,
			note = \$\$changed\$\$ WHERE id BETWEEN 70001 AND 71500" \
		-c "UPDATE public.events SET kind = \$\$edited\$\$ WHERE id BETWEEN 20001 AND 20500" \
		-c "INSERT INTO public.orders SELECT g, md5(g::text)::uuid, 1, \$\$new\$\$, \$\${}\$\$
			FROM generate_series(150001, 150500) g" \
		-c "DELETE FROM public.events WHERE id BETWEEN 40001 AND 40100" &&
	vault snapshot --json --db dbname=fx >s3.json &&
	a1=$(jq .bytes_added s1.json) && a3=$(jq .bytes_added s3.json) &&
	r1=$(jq .bytes_read s1.json) && r3=$(jq .bytes_read s3.json) &&
	echo "first added $a1 of $r1; after 1% changed added $a3 of $r3" &&
	test $((a3 * 10)) -lt "$a1"
'

test_expect_success 'the changed rows are in the third snapshot' '
	vault cat latest db/public/tables/orders/data.sql >o.sql &&
	test "$(grep -c "	changed	" o.sql)" = 1500 &&
	test "$(sed "1d;\$d" o.sql | wc -l)" = 150500
'

test_done

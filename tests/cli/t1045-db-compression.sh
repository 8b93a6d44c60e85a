#!/bin/bash
# snapshot --db --compression max: the database's rows stored with LZ4 HC
# take fewer bytes than with fast, and read back the same; the
# repository's setting applies to a --db snapshot that does not say.
. "$(dirname "$0")/../test-lib.sh"
. "$VAULT_SRCDIR/tests/db-lib.sh"

db_start

test_expect_success 'setup: the fixture plus 60000 orders' '
	db_fixture fx &&
	db_psql fx -c "CREATE TABLE public.orders (id bigint PRIMARY KEY,
			customer uuid, total numeric(12,2), note text, doc jsonb)" \
		-c "INSERT INTO public.orders SELECT g, md5((g % 500)::text)::uuid,
			(g % 9973) / 7.0, \$\$order \$\$ || (g % 41),
			jsonb_build_object(\$\$n\$\$, g, \$\$tags\$\$, jsonb_build_array(g % 10, g % 7))
			FROM generate_series(1, 60000) g"
'

test_expect_success 'fast and max snapshots of the same database' '
	new_repo --encryption repokey &&
	fast_repo=$VAULT_REPO &&
	vault snapshot --json --db dbname=fx >fast.json &&
	new_repo --encryption repokey &&
	vault snapshot --json --compression max --db dbname=fx >max.json &&
	f=$(jq .bytes_stored fast.json) && m=$(jq .bytes_stored max.json) &&
	echo "fast $f, max $m" &&
	test "$m" -lt "$f" &&
	echo "$fast_repo" >fast-repo
'

test_expect_success 'both hold the same rows' '
	(
		VAULT_PASSPHRASE="correct horse battery staple 1" &&
		vault --repo "$(cat fast-repo)" \
			cat latest db/public/tables/orders/data.sql >fast.sql
	) &&
	vault cat latest db/public/tables/orders/data.sql >max.sql &&
	test_cmp fast.sql max.sql &&
	test "$(sed "1d;\$d" max.sql | wc -l)" = 60000 &&
	vault check --read-data
'

test_expect_success 'a repository set to max compresses --db snapshots so' '
	new_repo --encryption none &&
	vault config compression max &&
	vault snapshot --json --db dbname=fx >cfg.json &&
	test "$(jq .bytes_stored cfg.json)" -lt "$(jq .bytes_stored fast.json)" &&
	vault cat latest db/public/tables/orders/data.sql >cfg.sql &&
	test_cmp fast.sql cfg.sql
'

test_done

#!/bin/bash
# One instant: while vault reads the database, a writer keeps inserting
# the same id into pair_a and pair_b in one transaction.  The snapshot
# must hold the same ids in both tables (every table is read under the
# one exported snapshot, also with --jobs), and none of the pairs
# committed after that instant.  A slow pg_dump (run under the snapshot
# before any COPY) and a big table read between the two make sure the
# writer commits plenty meanwhile.
. "$(dirname "$0")/../test-lib.sh"
. "$VAULT_SRCDIR/tests/db-lib.sh"

db_start
new_repo --encryption none

test_expect_success 'setup: fixture, a big table between pair_a and pair_b' '
	db_fixture fx &&
	db_psql fx -c "CREATE TABLE public.pair_a_big (id int PRIMARY KEY, t text)" \
		-c "INSERT INTO public.pair_a_big SELECT g, repeat(md5(g::text), 4)
		    FROM generate_series(1, 200000) g" &&
	real=$(command -v pg_dump) &&
	printf "#!/bin/sh\n[ \"\$1\" = --version ] || sleep 2\nexec \"%s\" \"\$@\"\n" \
		"$real" >slow-pg_dump && chmod +x slow-pg_dump
'

# start_writer FIRST: pairs from id FIRST on, one transaction each
start_writer() {
	(
		i=$1
		while :; do
			echo "BEGIN; INSERT INTO public.pair_a VALUES ($i, 'w');"
			echo "INSERT INTO public.pair_b VALUES ($i, 'w'); COMMIT;"
			i=$((i + 1))
			sleep 0.002
		done
	) | psql -X -q -d fx >/dev/null 2>writer.err &
	WRITER=$!
}

# ids_of FILE: the first column of each row, sorted
ids_of() {
	sed '1d;$d' "$1" | cut -f1 | LC_ALL=C sort
}

for jobs in 1 3; do
	test_expect_success "--jobs $jobs: the same ids in pair_a and pair_b" '
		start_writer '$jobs'000000 &&
		sleep 0.5 &&
		before=$(db_psql fx -c "select count(*) from public.pair_a") &&
		vault snapshot --db dbname=fx --jobs '$jobs' --pg-dump ./slow-pg_dump \
			>out.txt &&
		after=$(db_psql fx -c "select count(*) from public.pair_a") &&
		kill $WRITER && wait $WRITER 2>/dev/null
		vault cat latest db/public/tables/pair_a/data.sql >a.sql &&
		vault cat latest db/public/tables/pair_b/data.sql >b.sql &&
		ids_of a.sql >a.ids && ids_of b.sql >b.ids &&
		test_cmp a.ids b.ids &&
		n=$(wc -l <a.ids) &&
		echo "before $before, snapshot $n, after $after" &&
		test "$n" -ge "$before" &&
		test $((after - n)) -ge 20
	'
done

test_done

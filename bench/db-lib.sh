# bench/db-lib.sh: a throwaway PostgreSQL cluster filled with the
# benchmark database, for the bench/run-* scripts that source it.
#
# Needs: die (prints and exits), PG_BINDIR (the server's bin directory).
# Gives:
#   pg_as CMD...                 runs CMD as the cluster's OS user
#   bench_pg_start DIR PORT OPTS starts (after initdb when DIR is new) a
#                                cluster in DIR on a socket in DIR/sock;
#                                OPTS are added to the server's -o
#   bench_pg_stop DIR            stops it (fast)
#   bench_db_fill DB SCALE ROWS  pgbench -i -s SCALE plus ROWS rows of
#                                app_events (bigint key, uuid, text, jsonb),
#                                the data bench/run-db describes
# As root the server runs as the `postgres` OS user.

PG_OSUSER=
[ "$(id -u)" = 0 ] && PG_OSUSER=postgres
pg_as() {
	if [ -n "$PG_OSUSER" ]; then
		runuser -u "$PG_OSUSER" -- "$@"
	else
		"$@"
	fi
}

bench_pg_start() { # DIR PORT EXTRA-SERVER-OPTIONS
	local dir=$1 port=$2 opts=$3
	if [ ! -f "$dir/data/PG_VERSION" ]; then
		mkdir -p "$dir/sock"
		chmod 755 "$dir"
		[ -z "$PG_OSUSER" ] || chown -R "$PG_OSUSER" "$dir"
		pg_as "$PG_BINDIR/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 \
			--locale=C.UTF-8 --no-sync >"$dir/initdb.log" 2>&1 ||
			die "initdb failed: $(tail -n 3 "$dir/initdb.log")"
	fi
	pg_as "$PG_BINDIR/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 120 \
		-o "-p $port -k $dir/sock -c listen_addresses= -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c shared_buffers=256MB -c max_wal_size=8GB -c checkpoint_timeout=1h $opts" \
		start >"$dir/pg_ctl.log" 2>&1 || die "pg_ctl start failed: $(tail -n 3 "$dir/server.log")"
}

bench_pg_stop() { # DIR
	if [ -f "$1/data/postmaster.pid" ]; then
		pg_as "$PG_BINDIR/pg_ctl" -D "$1/data" -m fast -w stop >/dev/null 2>&1 || true
	fi
}

bench_db_fill() { # DB SCALE ROWS (PGHOST, PGPORT, PGUSER set)
	local db=$1 scale=$2 rows=$3 log
	log=$(mktemp)
	psql -X -q -d postgres -c "CREATE DATABASE $db"
	pgbench -i -q -s "$scale" -I dtgvp "$db" >"$log" 2>&1 ||
		die "pgbench -i failed: $(tail -n 3 "$log")"
	rm -f "$log"
	psql -X -q -v ON_ERROR_STOP=1 -d "$db" <<SQL
CREATE TABLE app_events (
	id bigint PRIMARY KEY,
	user_id uuid NOT NULL,
	kind text NOT NULL,
	body text,
	payload jsonb NOT NULL
);
INSERT INTO app_events
SELECT g, md5((g % 50000)::text)::uuid,
       (ARRAY['login', 'view', 'click', 'purchase', 'logout'])[1 + g % 5],
       'event ' || g || ': ' || md5(g::text) || repeat(' lorem ipsum', (g % 7)),
       jsonb_build_object('n', g, 'path', '/p/' || (g % 997), 'ok', g % 3 = 0,
                          'tags', jsonb_build_array(g % 10, g % 13, md5((g * 31)::text)))
FROM generate_series(1, $rows) g;
VACUUM ANALYZE app_events;
SQL
}

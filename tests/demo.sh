#!/bin/bash
# tests/demo.sh: vault's main job on a throwaway example (README Quick
# start, command 1).  Works as root on a fresh Debian 12 machine: installs
# the build dependencies with apt-get if they are missing, builds vault
# (autogen, configure, make in _build/), then in a temporary directory
# that is removed at the end:
#
#   - makes a sample directory tree and a generated pg_dump-style SQL file,
#   - starts a throwaway local PostgreSQL (as root, run by the `postgres`
#     OS user) holding a Supabase-shaped database (tests/fixtures/
#     supabase.sql plus a table of 100000 orders),
#   - vault init, snapshots the three in one snapshot (--db), lists,
#     mounts and compares (the database's rows against psql),
#   - changes some rows and files, snapshots again and shows the diff,
#   - prunes with --keep-last 1 and checks the repository.
#
# VAULT_DEMO_KEEP=1 keeps the temporary directory; VAULT_DEMO_NO_DB=1
# leaves the database out.
set -euo pipefail

cd "$(dirname "$0")/.."
SRCDIR=$(pwd)
BUILDDIR=${VAULT_DEMO_BUILDDIR:-$SRCDIR/_build}

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

# ---- build dependencies ------------------------------------------------------
PACKAGES=(build-essential autoconf automake pkg-config libsodium-dev
	liblz4-dev libxxhash-dev libsqlite3-dev libpq-dev libcurl4-openssl-dev)
[ -n "${VAULT_DEMO_NO_DB:-}" ] || PACKAGES+=(postgresql postgresql-client)
missing=()
for p in "${PACKAGES[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
		grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	step "installing ${missing[*]}"
	sudo=
	[ "$(id -u)" = 0 ] || sudo="sudo"
	export DEBIAN_FRONTEND=noninteractive
	$sudo apt-get update -q
	$sudo apt-get install -y -q --no-install-recommends "${missing[@]}" </dev/null
fi

# ---- build -------------------------------------------------------------------
step "building vault"
if [ -f "$SRCDIR/config.status" ]; then
	BUILDDIR=$SRCDIR	# configured in-tree already
fi
if [ ! -x "$SRCDIR/configure" ]; then
	./autogen.sh
fi
mkdir -p "$BUILDDIR"
if [ ! -f "$BUILDDIR/Makefile" ]; then
	(cd "$BUILDDIR" && "$SRCDIR/configure" -q)
fi
make -C "$BUILDDIR" -j2 -s vault
VAULT_BIN=$BUILDDIR/vault
"$VAULT_BIN" --help >/dev/null

# ---- a throwaway example ---------------------------------------------------
WORK=$(mktemp -d "${TMPDIR:-/tmp}/vault-demo.XXXXXX")
PG_DIR=
cleanup() {
	pg_stop
	[ -n "${VAULT_DEMO_KEEP:-}" ] || rm -rf "$WORK"
}
trap cleanup EXIT
cd "$WORK"

# ---- a throwaway PostgreSQL (the pg_start logic of tests/test-lib.sh) ----------
# initdb refuses root: as root the cluster belongs to the `postgres` OS
# user (Debian's package creates it).  A private socket directory and a
# free port; trust authentication, since nothing else can reach it.
pg_as() {
	if [ "$(id -u)" = 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

pg_start() {
	local bindir port try
	bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
	[ -n "$bindir" ] && [ -x "$bindir/initdb" ] || return 1
	if [ "$(id -u)" = 0 ] && ! id postgres >/dev/null 2>&1; then
		return 1
	fi
	PG_BINDIR=$bindir
	PG_DIR=$(mktemp -d /tmp/vault-demo-pg.XXXXXX)
	chmod 755 "$PG_DIR"
	mkdir "$PG_DIR/sock"
	[ "$(id -u)" != 0 ] || chown -R postgres "$PG_DIR"
	pg_as "$bindir/initdb" -D "$PG_DIR/data" -U postgres --auth=trust \
		-E UTF8 --locale=C.UTF-8 --no-sync >"$PG_DIR/initdb.log" 2>&1 ||
		pg_as "$bindir/initdb" -D "$PG_DIR/data" -U postgres --auth=trust \
			-E UTF8 --locale=C --no-sync >>"$PG_DIR/initdb.log" 2>&1 ||
		return 1
	for try in 1 2 3 4 5; do
		port=$((20000 + RANDOM % 40000))
		if pg_as "$bindir/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w \
			-o "-p $port -k $PG_DIR/sock -c listen_addresses= -c fsync=off" \
			start >/dev/null 2>&1; then
			export PGHOST=$PG_DIR/sock PGPORT=$port PGUSER=postgres
			return 0
		fi
	done
	return 1
}

pg_stop() {
	[ -n "$PG_DIR" ] || return 0
	pg_as "$PG_BINDIR/pg_ctl" -D "$PG_DIR/data" -m fast -w stop >/dev/null 2>&1 || true
	rm -rf "$PG_DIR"
	PG_DIR=
}

# Every vault command is shown before it runs.
vault() {
	printf '\n$ vault %s\n' "$*"
	"$VAULT_BIN" "$@"
}

export VAULT_REPO=$WORK/repo
export VAULT_PASSPHRASE="demo passphrase, not a secret"

step "making a sample project tree and a pg_dump-style dump in $WORK"
mkdir -p project/docs project/config project/assets
printf '# Sample project\n\nA tree for the vault demo.\n' >project/README.md
printf 'listen = 0.0.0.0:8080\nworkers = 4\n' >project/config/app.toml
chmod 0600 project/config/app.toml
for i in $(seq 1 20); do
	printf 'Chapter %d\n\n%s\n' "$i" "$(seq -s ' ' 1 $((i * 50)))" >"project/docs/chapter-$i.txt"
done
head -c $((4 * 1024 * 1024)) /dev/urandom >project/assets/logo.bin
ln -s docs/chapter-1.txt project/START-HERE
: >project/.keep

# A dump the way pg_dump writes one: DDL, then COPY blocks of rows.
make_dump() {
	local changed_every=$1
	cat <<'SQL'
--
-- PostgreSQL database dump
--

SET statement_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;

CREATE TABLE public.users (
    id bigint NOT NULL,
    email text NOT NULL,
    created_at timestamp with time zone NOT NULL
);

CREATE TABLE public.orders (
    id bigint NOT NULL,
    user_id bigint NOT NULL,
    amount_cents integer NOT NULL,
    status text NOT NULL
);

COPY public.users (id, email, created_at) FROM stdin;
SQL
	awk -v every="$changed_every" 'BEGIN {
		for (i = 1; i <= 60000; i++) {
			email = "user" i "@example.com"
			if (every > 0 && i % every == 0) email = "changed" i "@example.org"
			printf "%d\t%s\t2024-%02d-%02d %02d:%02d:00+00\n", i, email,
				i % 12 + 1, i % 28 + 1, i % 24, i % 60
		}
		print "\\."
		print ""
		print "COPY public.orders (id, user_id, amount_cents, status) FROM stdin;"
		for (i = 1; i <= 120000; i++)
			printf "%d\t%d\t%d\t%s\n", i, (i * 7) % 60000 + 1,
				(i * 7919) % 100000, (i % 5 ? "paid" : "refunded")
		print "\\."
		print ""
		print "ALTER TABLE ONLY public.users ADD CONSTRAINT users_pkey PRIMARY KEY (id);"
		print ""
		print "--"
		print "-- PostgreSQL database dump complete"
		print "--"
	}'
}
make_dump 0 >dump.sql
echo "project/: $(find project -type f | wc -l) files, $(du -sh project | cut -f1)"
echo "dump.sql: $(wc -l <dump.sql) lines, $(du -h dump.sql | cut -f1)"

DB=()
if [ -z "${VAULT_DEMO_NO_DB:-}" ]; then
	step "starting a throwaway PostgreSQL with a Supabase-shaped database"
	if pg_start; then
		psql -X -q -d postgres -c "CREATE DATABASE demo"
		psql -X -q -d demo -f "$SRCDIR/tests/fixtures/supabase.sql" >/dev/null 2>&1
		psql -X -q -d demo -c "CREATE TABLE public.orders (id bigint PRIMARY KEY,
			customer uuid, total numeric(10,2), items jsonb)" \
			-c "INSERT INTO public.orders SELECT g, md5(g::text)::uuid, g % 997,
			    jsonb_build_array(g % 13, g % 7) FROM generate_series(1, 100000) g"
		psql -X -d demo -c "SELECT n.nspname AS schema, count(*) AS tables
			FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
			WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema')
			GROUP BY 1 ORDER BY 1"
		# the URL holds no password: trust authentication on a private socket
		DB=(--db "host=$PGHOST port=$PGPORT user=postgres dbname=demo")
	else
		echo "no PostgreSQL server could be started (apt-get install postgresql);"
		echo "the demo goes on without a database"
	fi
fi

step "creating an encrypted repository"
vault init --encryption repokey

step "first snapshot: the tree, the dump and the database, in one snapshot"
vault snapshot --tag demo "${DB[@]}" project dump.sql
FIRST=$("$VAULT_BIN" list --json | grep -oE '[0-9a-f]{64}' | head -n 1)

step "listing"
vault list
vault ls latest project/config
vault ls latest dump.sql
if [ ${#DB[@]} -gt 0 ]; then
	vault ls latest db/auth/tables
	vault cat latest db/auth/tables/users/data.sql | cut -c1-100
	"$VAULT_BIN" cat latest db/meta.json | head -n 8
fi

step "mounting the snapshot (plain files, modes, mtimes, symlinks)"
vault mount latest restored
diff -r --no-dereference project restored/project
cmp dump.sql restored/dump.sql
if [ ${#DB[@]} -gt 0 ]; then
	# some tables' rows, as psql reads them now, against their data.sql
	# (vault reads in UTC with ISO dates)
	for t in storage.buckets public.todos public.orders; do
		PGTZ=UTC PGDATESTYLE=ISO psql -X -q -d demo \
			-c "\\copy (SELECT * FROM $t) TO STDOUT" | sort >want
		sed '1d;$d' "restored/db/${t%%.*}/tables/${t#*.}/data.sql" | sort >got
		cmp want got
	done
	echo "restored/db/ holds the database's rows"
fi
echo "restored/ is identical to the originals"

step "reading one file back"
vault cat latest project/config/app.toml

step "a second snapshot after changing 1% of the rows and a file"
make_dump 100 >dump.sql
printf 'workers = 8\n' >>project/config/app.toml
echo "a new note" >project/docs/NEW.txt
if [ ${#DB[@]} -gt 0 ]; then
	psql -X -q -d demo -c "UPDATE public.orders SET total = total + 1 WHERE id BETWEEN 50001 AND 51000" \
		-c "INSERT INTO public.todos (user_id, task) SELECT id, 'call the bank' FROM auth.users"
fi
vault snapshot --tag demo "${DB[@]}" project dump.sql

step "what changed between the two snapshots"
vault diff "${FIRST:0:8}" latest

step "repository statistics"
vault stats

step "pruning: keep only the newest snapshot"
vault prune --keep-last 1
vault list

step "verifying every blob"
vault check --read-data

step "done"
cat <<EOF
The demo:
  - built $VAULT_BIN
  - created an encrypted repository in $VAULT_REPO
  - stored a $(du -sh project | cut -f1) tree and a $(du -h dump.sql | cut -f1) SQL dump$( [ ${#DB[@]} -gt 0 ] &&
	echo ", and a PostgreSQL database at one instant"), twice;
    the second snapshot stored only the chunks that changed
  - listed, mounted and compared the snapshot byte for byte
  - showed the diff, pruned to one snapshot and checked the repository
Everything under $WORK $( [ -n "${VAULT_DEMO_KEEP:-}" ] && echo "was kept" || echo "is removed now").
EOF

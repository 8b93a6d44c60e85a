#!/bin/bash
# tests/demo.sh: vault's main job on a throwaway example (README Quick
# start, command 1).  Works as root on a fresh Debian 12 machine: installs
# the build dependencies with apt-get if they are missing, builds vault
# (autogen, configure, make in _build/), then in a temporary directory
# that is removed at the end:
#
#   - makes a sample directory tree and a generated pg_dump-style SQL file,
#   - vault init, snapshots both, lists, mounts and compares,
#   - changes some rows, snapshots again and shows the diff,
#   - prunes with --keep-last 1 and checks the repository.
#
# VAULT_DEMO_KEEP=1 keeps the temporary directory.
set -euo pipefail

cd "$(dirname "$0")/.."
SRCDIR=$(pwd)
BUILDDIR=${VAULT_DEMO_BUILDDIR:-$SRCDIR/_build}

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

# ---- build dependencies ------------------------------------------------------
PACKAGES=(build-essential autoconf automake pkg-config libsodium-dev
	liblz4-dev libxxhash-dev libsqlite3-dev libpq-dev libcurl4-openssl-dev)
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
if [ -z "${VAULT_DEMO_KEEP:-}" ]; then
	trap 'rm -rf "$WORK"' EXIT
fi
cd "$WORK"

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

step "creating an encrypted repository"
vault init --encryption repokey

step "first snapshot: the tree and the dump"
vault snapshot --tag demo project dump.sql
FIRST=$("$VAULT_BIN" list --json | grep -oE '[0-9a-f]{64}' | head -n 1)

step "listing"
vault list
vault ls latest project/config
vault ls latest dump.sql

step "mounting the snapshot (plain files, modes, mtimes, symlinks)"
vault mount latest restored
diff -r --no-dereference project restored/project
cmp dump.sql restored/dump.sql
echo "restored/ is identical to the originals"

step "reading one file back"
vault cat latest project/config/app.toml

step "a second snapshot after changing 1% of the rows and a file"
make_dump 100 >dump.sql
printf 'workers = 8\n' >>project/config/app.toml
echo "a new note" >project/docs/NEW.txt
vault snapshot --tag demo project dump.sql

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
  - stored a $(du -sh project | cut -f1) tree and a $(du -h dump.sql | cut -f1) SQL dump, twice;
    the second snapshot stored only the chunks that changed
  - listed, mounted and compared the snapshot byte for byte
  - showed the diff, pruned to one snapshot and checked the repository
Everything under $WORK $( [ -n "${VAULT_DEMO_KEEP:-}" ] && echo "was kept" || echo "is removed now").
EOF

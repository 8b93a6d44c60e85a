#!/bin/bash
# A repository this process cannot write is still a repository: every
# read verb (list, ls, cat, diff, stats, check, restores, mount, and a
# database restore that needs nothing written) works on it and gives
# what it gives on the writable original; every write verb fails at
# once, naming the repository and the cause; and nothing in it changes,
# not even a lock file or SQLite's side files.  Three ways to be
# unwritable:
#
#   protected  chmod -R a-w, read by a user without privileges (as root:
#              `nobody`, through runuser; otherwise we are that user)
#   rofs       a read-only bind mount (EROFS, even for root)
#   full       a copy on a tmpfs filled to its last block
#
# rofs and full run each vault call in a mount namespace of its own
# (unshare -m as root, unshare -rm otherwise), which vanishes with it.
# Also: the side files SQLite leaves after a reader are read as they
# are; a writer killed before its checkpoint (index.db-wal holding
# commits index.db lacks) is read in full, or refused with a way out,
# never silently half read; and a reader that holds the index as an
# immutable file keeps writers out meanwhile.
. "$(dirname "$0")/../test-lib.sh"
. "$VAULT_SRCDIR/tests/db-lib.sh"

# Everything unwritable lives under RO, which any user can reach (the
# protected case runs vault as `nobody`, with a copy of the binary, since
# the build tree may be closed to it).
RO=$(mktemp -d /tmp/vault-ro.XXXXXX) || skip_all "mktemp failed"
chmod 755 "$RO"
test_at_exit 'chmod -R u+w "$RO"; rm -rf "$RO"'
cp "$VAULT" "$RO/vault" || skip_all "cannot copy $VAULT"

if [ "$(id -u)" = 0 ]; then
	if id nobody >/dev/null 2>&1 && command -v runuser >/dev/null 2>&1; then
		READER="runuser -u nobody --"
		test_set_prereq PROTECTED
	else
		say "no user nobody or no runuser: the protected case is skipped"
	fi
	UNSHARE="unshare -m --propagation private"
else
	READER=
	test_set_prereq PROTECTED
	UNSHARE="unshare -rm"
fi
mkdir "$RO/probe"
if $UNSHARE mount -t tmpfs -o size=1m tmpfs "$RO/probe" 2>/dev/null; then
	test_set_prereq MOUNTNS
elif [ "${CI:-}" = true ]; then
	test_expect_success 'a mount namespace can be made under CI' '
		echo "$UNSHARE cannot mount a tmpfs" >&2 && false
	'
else
	say "$UNSHARE cannot mount a tmpfs here: the rofs and full cases are skipped"
fi
python3 -c 'import sqlite3' 2>/dev/null && test_set_prereq PYSQLITE
pg_start || say "no PostgreSQL, the restore cases are skipped: $PG_SKIP_REASON"

# repo_state DIR: every entry (type, mode, path) and every file's hash.
repo_state() {
	(
		cd "$1" || exit 1
		find . -printf '%y %m %P\n' | sort &&
		find . -type f -print0 | sort -z | xargs -0r sha256sum
	)
}

# ns.sh KIND SRC CMD...: CMD with VAULT_REPO an unwritable view of the
# repository SRC, in the mount namespace it runs in (KIND rofs: SRC
# bind-mounted read-only over itself; full: a copy of SRC on a tmpfs at
# SRC.full, filled).  Whatever CMD changed in it is appended to
# SRC.changed.  Exits with CMD's status, 125 when the setup failed.
cat >"$RO/ns.sh" <<EOF
$(declare -f repo_state)
kind=\$1 src=\$2
shift 2
case \$kind in
rofs)
	mount --bind "\$src" "\$src" &&
	mount -o remount,bind,ro "\$src" || exit 125
	export VAULT_REPO=\$src ;;
full)
	mount -t tmpfs -o size=16m tmpfs "\$src.full" &&
	cp -a "\$src" "\$src.full/repo" || exit 125
	dd if=/dev/zero of="\$src.full/fill" bs=4k >/dev/null 2>&1
	[ "\$(stat -f -c %a "\$src.full")" = 0 ] || exit 125
	export VAULT_REPO=\$src.full/repo ;;
esac
repo_state "\$VAULT_REPO" >"\$src.before"
"\$@"
rc=\$?
repo_state "\$VAULT_REPO" >"\$src.after"
cmp -s "\$src.before" "\$src.after" ||
	diff "\$src.before" "\$src.after" >>"\$src.changed"
exit \$rc
EOF

# ro_vault KIND ARGS...: vault ARGS on the KIND copy of the repository
# ($RO/KIND, or RO_REPO when set); what it changed goes to
# <repo>.changed.
ro_vault() {
	local kind=$1 src rc
	shift
	src=${RO_REPO:-$RO/$kind}
	if [ "$kind" = protected ]; then
		repo_state "$src" >"$src.before"
		# in RO: the reader may not even look into our directory
		(cd "$RO" && VAULT_REPO=$src $READER setsid -w timeout -k 10 \
			"$VAULT_TEST_CMD_TIMEOUT" "$RO/vault" "$@")
		rc=$?
		repo_state "$src" >"$src.after"
		cmp -s "$src.before" "$src.after" ||
			diff "$src.before" "$src.after" >>"$src.changed"
		return $rc
	fi
	$UNSHARE bash "$RO/ns.sh" "$kind" "$src" setsid -w timeout -k 10 \
		"$VAULT_TEST_CMD_TIMEOUT" "$RO/vault" "$@"
}

# The path vault names for the KIND repository.
ro_path() {
	case $1 in
	full) echo "$RO/full.full/repo" ;;
	*) echo "$RO/$1" ;;
	esac
}

# protect DIR: DIR made unwritable the protected way.
protect() {
	if [ -n "$READER" ]; then
		chown -R nobody "$1" || return 1
	fi
	chmod -R a-w "$1"
}

# A directory the reader of KIND may create files in.
out_dir() {
	mkdir -p "$RO/out-$1" &&
	if [ "$1" = protected ] && [ -n "$READER" ]; then
		chown nobody "$RO/out-$1"
	fi
}

# reads RUN DIR: what each read verb prints, run through RUN (vault, or
# ro_vault KIND), one file per call in DIR.
reads() {
	local d=$2
	mkdir -p "$d" &&
	$1 list >"$d/list" &&
	$1 list --json >"$d/list.json" &&
	$1 list --tag one >"$d/list-one" &&
	$1 ls "$S1" >"$d/ls-1" &&
	$1 ls "$S2" src/sub >"$d/ls-2-sub" &&
	$1 ls latest >"$d/ls-latest" &&
	$1 cat "$S2" src/big >"$d/cat-big" &&
	$1 cat "$S1" src/a >"$d/cat-a" &&
	$1 diff "$S1" "$S2" >"$d/diff" &&
	$1 stats --json >"$d/stats.raw" &&
	jq "del(.repository)" "$d/stats.raw" >"$d/stats" &&
	rm "$d/stats.raw" &&
	$1 check >"$d/check" &&
	$1 check --read-data >"$d/check-data" &&
	$1 restores >"$d/restores"
}

rows() {
	db_psql "$1" -c "COPY (SELECT * FROM t ORDER BY 1) TO STDOUT"
}

test_expect_success 'setup: snapshots, and what the writable repository shows' '
	new_repo --encryption repokey &&
	mkdir -p src/sub && echo hello >src/a && seq 1 200000 >src/big &&
	printf x >src/sub/c && ln -s a src/link &&
	S1=$(vault snapshot --json --tag one src | jq -r .id) &&
	echo changed >>src/a && seq 5 9 >src/sub/d && rm src/sub/c &&
	S2=$(vault snapshot --json --tag two src | jq -r .id) &&
	if test_have_prereq PG; then
		db_create src &&
		db_psql src -c "CREATE TABLE t(id int PRIMARY KEY, v text);
			INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 500) g" &&
		SDB=$(vault snapshot --json --db dbname=src | jq -r .id) &&
		rows src >src.rows
	fi &&
	# copies as the last writer left it, without SQLite side files (a
	# reader leaves them behind: only a writer can clean them up)
	test_path_is_missing "$VAULT_REPO/index.db-wal" &&
	cp -a "$VAULT_REPO" "$RO/protected" && protect "$RO/protected" &&
	cp -a "$VAULT_REPO" "$RO/rofs" &&
	cp -a "$VAULT_REPO" "$RO/full" && mkdir "$RO/full.full" &&
	reads vault want &&
	vault mount "$S2" want-mount >/dev/null &&
	tree_state want-mount >want-mount.state &&
	mkdir -p "$RO/data" && echo more >"$RO/data/f"
'

for kind in protected rofs full; do
	case $kind in
	protected) pre=PROTECTED why="Permission denied" ;;
	rofs) pre=MOUNTNS why="Read-only file system" ;;
	full) pre=MOUNTNS why="its disk is full" ;;
	esac

	test_expect_success $pre "$kind: list, ls, cat, diff, stats, check (--read-data), restores as on the writable repository" '
		reads "ro_vault $kind" got-$kind &&
		for f in want/*; do
			test_cmp "$f" "got-$kind/${f#want/}" || return 1
		done
	'

	test_expect_success $pre "$kind: mount writes the snapshot out as it is" '
		out_dir $kind &&
		ro_vault $kind mount "$S2" "$RO/out-$kind/m" >/dev/null &&
		tree_state "$RO/out-$kind/m" >got.state &&
		test_cmp want-mount.state got.state
	'

	test_expect_success $pre "$kind: every write verb fails at once, naming the repository and the cause" '
		p=$(ro_path $kind) &&
		for verb in "snapshot $RO/data" "forget $S1" "prune --keep-last 1" \
			"check --rebuild-index" "key passwd"; do
			VAULT_NEW_PASSPHRASE=new test_must_fail_with 1 \
				"repository $p cannot be written.*$why.*vault ${verb%% *}" \
				ro_vault $kind $verb || return 1
		done
	'

	test_expect_success PG,$pre "$kind: restore --dry-run plans from it" '
		db_create dry_$kind &&
		ro_vault $kind restore "$SDB" --db dbname=dry_$kind --dry-run >out &&
		grep -q "dry run: nothing was changed" out
	'

	test_expect_success PG,$pre "$kind: an empty-mode restore runs, saying that its log is not kept" '
		db_create e_$kind &&
		ro_vault $kind restore "$SDB" --db dbname=e_$kind >out 2>err &&
		grep -q "(log not kept)" out &&
		grep -q "$(ro_path $kind) cannot be written.*log of this restore is not kept" err &&
		rows e_$kind >got.rows && test_cmp src.rows got.rows
	'

	test_expect_success PG,$pre "$kind: a clean restore is refused before it starts: its safety snapshot cannot be written" '
		db_psql e_$kind -c "UPDATE t SET v = NULL WHERE id < 100" &&
		rows e_$kind >before.rows &&
		test_must_fail_with 1 "$(ro_path $kind) cannot be written.*safety snapshot.*--no-safety-snapshot" \
			ro_vault $kind restore "$SDB" --db dbname=e_$kind --mode clean --yes &&
		rows e_$kind >after.rows && test_cmp before.rows after.rows
	'

	test_expect_success PG,$pre "$kind: with --no-safety-snapshot the clean restore runs" '
		ro_vault $kind restore "$SDB" --db dbname=e_$kind --mode clean --yes \
			--no-safety-snapshot --json >out.json &&
		jq -e ".status == \"ok\" and .safety_snapshot == null" out.json &&
		rows e_$kind >got.rows && test_cmp src.rows got.rows
	'

	test_expect_success $pre "$kind: nothing in the repository changed, no file appeared" '
		test_path_is_file "$RO/$kind.after" &&
		if test -s "$RO/$kind.changed"; then
			cat "$RO/$kind.changed" >&2 && false
		fi
	'
done

# wal_copy DIR: a copy of the repository whose index.db-wal holds a
# commit index.db lacks (every snapshot's host renamed), left by a
# writer that died before its checkpoint; with both side files.
wal_copy() {
	cp -a "$VAULT_REPO" "$1" &&
	python3 - "$1/index.db" <<-\EOF
	import os, sqlite3, sys
	db = sqlite3.connect(sys.argv[1], isolation_level=None)
	db.execute("PRAGMA wal_autocheckpoint = 0")
	db.execute("UPDATE snapshots SET hostname = 'only-in-the-wal'")
	os._exit(0)
	EOF
	test -s "$1/index.db-wal" && test -f "$1/index.db-shm"
}

for kind in protected rofs; do
	case $kind in
	protected) pre=PROTECTED ;;
	rofs) pre=MOUNTNS ;;
	esac

	test_expect_success $pre "$kind: the side files an earlier reader left are read, not written" '
		test_path_is_file "$VAULT_REPO/index.db-shm" &&
		cp -a "$VAULT_REPO" "$RO/left-$kind" &&
		if [ $kind = protected ]; then protect "$RO/left-$kind"; fi &&
		RO_REPO=$RO/left-$kind ro_vault $kind list >out &&
		test_cmp want/list out &&
		test ! -s "$RO/left-$kind.changed"
	'

	test_expect_success PYSQLITE,$pre "$kind: commits left in index.db-wal are read" '
		wal_copy "$RO/wal-$kind" &&
		if [ $kind = protected ]; then protect "$RO/wal-$kind"; fi &&
		RO_REPO=$RO/wal-$kind ro_vault $kind list >out &&
		test_eq "$(jq length want/list.json)" "$(grep -c only-in-the-wal out)" &&
		test ! -s "$RO/wal-$kind.changed"
	'

	test_expect_success PYSQLITE,$pre "$kind: without index.db-shm they cannot be: refused, with the way out" '
		wal_copy "$RO/nowal-$kind" && rm "$RO/nowal-$kind/index.db-shm" &&
		if [ $kind = protected ]; then protect "$RO/nowal-$kind"; fi &&
		RO_REPO=$RO/nowal-$kind test_must_fail_with 1 \
			"index.db-wal holds changes that are not in it yet.*copy the repository to a writable place" \
			ro_vault $kind list &&
		test ! -s "$RO/nowal-$kind.changed"
	'
done

# A reader that cannot create SQLite's side files reads index.db as an
# immutable file, which nothing may change meanwhile: it holds the writer
# lock shared.  Only root can write where `nobody` cannot.
test_expect_success PROTECTED,ROOT 'a writer is kept out while such a reader reads' '
	rm -f "$RO/fifo" && mkfifo "$RO/fifo" || return 1
	# the reader blocks on the fifo once the pipe is full: we read its
	# first bytes (so it runs), and the rest after the writer tried
	ro_vault protected cat "$S2" src/big >"$RO/fifo" 2>reader.err &
	R=$!
	exec 7<"$RO/fifo" && head -c 100 <&7 >/dev/null &&
	VAULT_REPO=$RO/protected test_must_fail_with 11 \
		"in use by a process that did not record itself" \
		"$VAULT" snapshot "$RO/data" &&
	cat <&7 >/dev/null && exec 7<&- &&
	wait $R &&
	test ! -s "$RO/protected.changed"
'

test_done

# fault-lib.sh: sourced by the crash and fault injection scenarios
# (t0065, t0067) after test-lib.sh.  vault runs under the faultfs shim
# (tests/unit/faultfs.so, LD_PRELOAD), which counts the calls that change
# files under the repository (writes, fsyncs, renames, truncations,
# unlinks) and makes the Nth fail (ENOSPC, EIO) or kills vault with
# SIGKILL right before it; so every step of a write path can be hit, in
# order, without root and without timing luck.
#
# The repository ff_setup builds holds several committed snapshots of
# varied data (dedup across them, a stream from standard input, a
# forgotten one whose data a prune would reclaim), in small chunks and
# packs so that one snapshot makes many packs.  Each committed snapshot
# is mounted once against its source; its tree (ff_state) is kept in
# want/<id>, and every later check compares a fresh mount with that.

FAULTFS=$VAULT_BUILDDIR/tests/unit/faultfs.so
[ -f "$FAULTFS" ] ||
	skip_all "tests/unit/faultfs.so not built (make check builds it)"

# Trials per verb (make crash-test raises it); the seed of the random
# injection points, printed so a failure can be replayed.
: "${VAULT_CRASH_TRIALS:=20}"
: "${VAULT_CRASH_SEED:=$(( $(date +%s) % 32768 ))}"
RANDOM=$VAULT_CRASH_SEED
say "injection points drawn with VAULT_CRASH_SEED=$VAULT_CRASH_SEED"

MiB=$((1024 * 1024))

# ff_run ACTION N LOG ARGS...: vault ARGS under the shim, acting (kill,
# enospc, eio; count: nothing) on the Nth counted call, logging every
# counted call to LOG.  FF_OPS limits the kinds counted, FF_SITE to the
# calls of one site (a line of ff_site_key), FF_STICKY=1 makes every
# call from the Nth on fail.
ff_run() {
	local action=$1 at=$2 log=$3
	shift 3
	setsid -w timeout -k 10 "$VAULT_TEST_CMD_TIMEOUT" env \
		LD_PRELOAD="$FAULTFS" VAULT_FAULTFS_DIR="$VAULT_REPO" \
		VAULT_FAULTFS_OPS="${FF_OPS:-}" VAULT_FAULTFS_AT="$at" \
		VAULT_FAULTFS_ACTION="$action" \
		VAULT_FAULTFS_STICKY="${FF_STICKY:-0}" \
		VAULT_FAULTFS_SITE="${FF_SITE:-}" \
		VAULT_FAULTFS_LOG="$log" "$VAULT" "$@"
}

# ff_count LOG ARGS...: runs ARGS once, counting; prints the count.
ff_count() {
	local log=$1
	shift
	rm -f "$log"
	ff_run count 0 "$log" "$@" >/dev/null 2>&1 || return 1
	grep -vc '^fault' "$log"
}

# The call sites of count log lines, one a line: kind, the caller's
# offset in vault, the file (pack and directory names blanked as the
# shim's VAULT_FAULTFS_SITE wants them).
ff_site_key() {
	sed -E 's/^fault //; s/[0-9a-f]{64}/H/g; s,/packs/[0-9a-f]{2},/packs/XX,' |
		cut -f2-4
}

# ff_points TOTAL BUDGET: injection points (1..TOTAL, one a line): all
# of them when BUDGET >= TOTAL, else one drawn in each of BUDGET equal
# strata.
ff_points() {
	local total=$1 budget=$2 i lo hi
	if [ "$budget" -ge "$total" ]; then
		seq 1 "$total"
		return
	fi
	for i in $(seq 0 $((budget - 1))); do
		lo=$((i * total / budget + 1))
		hi=$(((i + 1) * total / budget))
		[ "$hi" -ge "$lo" ] || continue
		echo $((lo + RANDOM % (hi - lo + 1)))
	done
}

# ff_call LOG N: "kind site file" of the Nth call in a count log.
ff_call() {
	awk -F'\t' -v n="$2" '$1 == n { print $2, $3, $4; exit }' "$1" |
		sed -E 's/[0-9a-f]{64}/H/g'
}

# ff_state DIR: the tree under DIR, one line an entry (sorted): type,
# mode, size, mtime and content hash of files, mode and mtime of
# directories, targets of symlinks.  A few processes, whatever the size.
ff_state() {
	(
		cd "$1" || exit 1
		find . -mindepth 1 \( -type d -printf '%P\td\t%m\t%T@\n' \) -o \
			\( -type l -printf '%P\tl\t%l\n' \) -o \
			\( -type f -printf '%P\tf\t%m\t%s\t%T@\n' \) | sort &&
		find . -type f -print0 | sort -z | xargs -0r sha256sum
	)
}

# ff_mount_is ID WANT: snapshot ID mounts to exactly the tree WANT holds.
ff_mount_is() {
	rm -rf "$TRASH/m" &&
	vault mount "$1" "$TRASH/m" >/dev/null &&
	ff_state "$TRASH/m" >"$TRASH/m.state" &&
	test_cmp "$2" "$TRASH/m.state"
}

# ff_snapshot DIR ARGS...: snapshots DIR (under its base name) and keeps
# its tree as want/<id>, after checking that a mount gives it back.
ff_snapshot() {
	local dir=$1 id
	shift
	mkdir -p "$TRASH/want" "$TRASH/stage" &&
	rm -rf "$TRASH/stage"/* &&
	cp -a "$dir" "$TRASH/stage/" &&
	vault snapshot --json "$@" "$dir" >"$TRASH/snap.json" &&
	id=$(json_get .id "$TRASH/snap.json") &&
	ff_state "$TRASH/stage" >"$TRASH/want/$id" &&
	ff_mount_is "$id" "$TRASH/want/$id" &&
	echo "$id"
}

# ff_setup: the repository described at the top, kept as repo.orig (with
# its passphrase in repo.pass); ids in S1..S5 (S2 forgotten).
ff_setup() {
	new_repo &&
	sed -i -e 's/^chunker.general .*/chunker.general 16384 65536 262144/' \
		-e 's/^pack.target .*/pack.target 262144/' "$VAULT_REPO/config" &&
	mkdir -p src/data/sub/deep &&
	head -c $((3 * MiB / 2)) /dev/urandom >src/data/big.bin &&
	seq 1 40000 >src/data/log.txt &&
	head -c 400000 /dev/urandom >src/data/sub/r1 &&
	: >src/data/sub/empty &&
	echo small >src/data/sub/deep/small &&
	ln -s big.bin src/data/link &&
	S1=$(ff_snapshot src/data --time 2024-03-01T10:00:00Z) &&
	seq 40001 45000 >>src/data/log.txt &&
	head -c 500000 /dev/urandom >src/data/sub/only-in-s2 &&
	head -c 300000 /dev/urandom >src/data/sub/r2 &&
	S2=$(ff_snapshot src/data --time 2024-03-02T10:00:00Z --tag two) &&
	rm src/data/sub/r1 src/data/sub/only-in-s2 &&
	echo changed >src/data/sub/deep/small &&
	chmod 640 src/data/sub/r2 &&
	S3=$(ff_snapshot src/data --time 2024-03-03T10:00:00Z) &&
	seq 1 20000 >dump.sql &&
	vault snapshot --json --stdin-name dump.sql --time 2024-03-04T10:00:00Z \
		- <dump.sql >snap.json &&
	S4=$(json_get .id snap.json) &&
	rm -rf m && vault mount "$S4" m >/dev/null && cmp dump.sql m/dump.sql &&
	ff_state m >"want/$S4" &&
	printf 'X%.0s' $(seq 1 4096) |
		dd of=src/data/big.bin bs=1 seek=700000 conv=notrunc status=none &&
	S5=$(ff_snapshot src/data --time 2024-03-05T10:00:00Z) &&
	vault forget "$S2" >/dev/null &&
	rm -f "want/$S2" &&
	vault list --json | jq -r '.[].id' | sort >ids.orig &&
	test "$(wc -l <ids.orig)" = 4 &&
	vault check --read-data >/dev/null &&
	echo "$VAULT_PASSPHRASE" >repo.pass &&
	printf '%s\n' "$S1" "$S2" "$S3" "$S4" "$S5" >ids.setup &&
	cp -a "$VAULT_REPO" repo.orig
}

# ff_setup_trial: what the trials need besides: trial/data, a new state
# of the data to snapshot (its tree in want.new), and the ids a `prune
# --keep-last 2` keeps (ids.pruned).
ff_setup_trial() {
	mkdir -p trial &&
	cp -a src/data trial/ &&
	head -c 600000 /dev/urandom >trial/data/sub/new.bin &&
	seq 50000 60000 >>trial/data/log.txt &&
	ff_state trial >want.new &&
	vault prune --keep-last 2 >/dev/null &&
	ff_listed >ids.pruned &&
	test "$(wc -l <ids.pruned)" = 3 &&
	! grep -qx "$S1" ids.pruned &&
	ff_restore
}

# ff_restore: back to the repository ff_setup left (and its passphrase,
# and S1..S5 in this shell).
ff_restore() {
	VAULT_REPO=$TRASH/repo &&
	VAULT_PASSPHRASE=$(cat "$TRASH/repo.pass") &&
	export VAULT_REPO VAULT_PASSPHRASE &&
	{ S1=$(sed -n 1p "$TRASH/ids.setup"); S2=$(sed -n 2p "$TRASH/ids.setup")
	  S3=$(sed -n 3p "$TRASH/ids.setup"); S4=$(sed -n 4p "$TRASH/ids.setup")
	  S5=$(sed -n 5p "$TRASH/ids.setup"); } &&
	rm -rf "$VAULT_REPO" &&
	cp -a "$TRASH/repo.orig" "$VAULT_REPO"
}

# ff_listed: the ids vault lists, sorted, one a line.
ff_listed() {
	vault list --json | jq -r '.[].id' | sort
}

# ff_verify MUST [NEW]: every id in the file MUST is listed; every id
# listed is in MUST, was committed before (has want/<id>) or, when the
# file NEW (the tree of a snapshot being taken) is given, is that one;
# each listed snapshot mounts byte-identical; check --read-data finds no
# problem.  The listed ids are left in $TRASH/listed.
ff_verify() {
	local must=$1 new=${2:-} id want
	ff_listed >"$TRASH/listed" &&
	comm -23 "$must" "$TRASH/listed" >"$TRASH/lost" &&
	if [ -s "$TRASH/lost" ]; then
		test_fail_ "committed snapshots are gone: $(cat "$TRASH/lost")"
		return 1
	fi &&
	for id in $(cat "$TRASH/listed"); do
		want=$TRASH/want/$id
		if [ ! -f "$want" ] && [ -n "$new" ]; then
			echo "$id is the snapshot being taken" &&
			want=$new
		fi
		[ -f "$want" ] ||
			test_fail_ "an unknown snapshot $id is listed" || return 1
		ff_mount_is "$id" "$want" ||
			test_fail_ "snapshot $id does not mount byte-identical" ||
			return 1
	done &&
	vault check --read-data >"$TRASH/check.out" 2>&1 ||
		{ cat "$TRASH/check.out"; test_fail_ "check --read-data failed"; }
}

# ff_no_leftovers: after a writer's open, nothing temporary stays in the
# repository: tmp/ is empty, no *.tmp file anywhere, only packs in packs/.
ff_no_leftovers() {
	find "$VAULT_REPO" \( -path "$VAULT_REPO/tmp/*" -o -name '*.tmp' -o \
		\( -path "$VAULT_REPO/packs/*" -type f ! -name '*.pack' \) \) \
		>"$TRASH/leftover" &&
	if [ -s "$TRASH/leftover" ]; then
		test_fail_ "left behind: $(cat "$TRASH/leftover")"
		return 1
	fi
}

# ff_prune ARGS...: vault prune ARGS; a prune that refuses because the
# index and packs/ disagree (exit 3, naming the rebuild: a snapshot
# interrupted after its last pack reached packs/, see the crash table in
# doc/design.md) is followed by the rebuild it names, then the prune
# again.
ff_prune() {
	vault prune "$@" >"$TRASH/prune.out" 2>&1 && return 0
	local rc=$?
	cat "$TRASH/prune.out"
	[ "$rc" = 3 ] && grep -q "prune refused.*--rebuild-index" "$TRASH/prune.out" ||
		test_fail_ "prune failed with exit $rc" || return 1
	echo "prune asked for a rebuild first"
	vault check --rebuild-index >/dev/null &&
	vault prune "$@" >"$TRASH/prune.out" 2>&1 ||
		{ cat "$TRASH/prune.out"; test_fail_ "prune after the rebuild failed"; }
}

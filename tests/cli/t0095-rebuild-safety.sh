#!/bin/bash
# Recovery never makes things worse: `vault check --rebuild-index` killed
# at any moment leaves the old index or the complete new one (never an
# empty one that would let prune delete old snapshots); it salvages the
# intact blobs of a damaged pack, keeps every snapshot still readable and
# exits 3 naming the damage; it sets a damaged index.db aside and
# rebuilds; and prune and forget refuse, changing nothing, while the
# index and packs/ disagree.
. "$(dirname "$0")/../test-lib.sh"

MiB=$((1024 * 1024))

# The pack files of the repository, one path a line, sorted.
packs() {
	find "$VAULT_REPO/packs" -type f -name '*.pack' | sort
}

# A and B are listed, among others.
both_listed() {
	vault list --json >listed.json &&
	jq -r '.[].id' listed.json >listed &&
	grep -qx "$A" listed &&
	grep -qx "$B" listed
}

# mounts_as ID STATE: snapshot ID mounts as tree_state saw it in STATE.
mounts_as() {
	rm -rf m-chk &&
	vault mount "$1" m-chk &&
	tree_state m-chk >got.state &&
	test_cmp "$2" got.state
}

# A and B mount byte-identical to what they were at the start.
both_mount() {
	mounts_as "$A" A.state &&
	mounts_as "$B" B.state
}

# only_second_listed GONE KEPT: snapshot GONE is not listed, KEPT is.
only_second_listed() {
	vault list --json | jq -r ".[].id" >ids &&
	! grep -qx "$1" ids &&
	grep -qx "$2" ids
}

# A later snapshot and a prune keeping ten: nothing A or B needs goes.
prune_keeps_both() {
	vault snapshot c >/dev/null &&
	vault prune --keep-last 10 &&
	both_listed &&
	both_mount &&
	vault check --read-data
}

# Back to the repository (and its A and B) as it was after the setup.
restore_repo() {
	VAULT_REPO=$TEST_TMP/repo &&
	VAULT_PASSPHRASE=$(cat repo.pass) &&
	A=$(cat A.id) && B=$(cat B.id) &&
	rm -rf "$VAULT_REPO" &&
	cp -a repo.orig "$VAULT_REPO"
}

test_expect_success 'setup: snapshots A and B of different data' '
	new_repo &&
	mkdir -p a b c &&
	head -c $((3 * MiB)) /dev/urandom >a/rnd && seq 1 30000 >a/numbers &&
	head -c $((2 * MiB)) /dev/urandom >b/rnd && seq 7 40000 >b/numbers &&
	echo c >c/c &&
	vault snapshot --json a >a.json && A=$(json_get .id a.json) &&
	packs >packs.A &&
	vault snapshot --json b >b.json && B=$(json_get .id b.json) &&
	packs >packs.AB &&
	vault mount "$A" m-A && tree_state m-A >A.state &&
	vault mount "$B" m-B && tree_state m-B >B.state &&
	echo "$A" >A.id && echo "$B" >B.id &&
	echo "$VAULT_PASSPHRASE" >repo.pass &&
	cp -a "$VAULT_REPO" repo.orig
'

test_expect_success 'measure a full rebuild' '
	rm -f "$VAULT_REPO"/index.db* &&
	t0=$(date +%s%N) &&
	vault check --rebuild-index >/dev/null &&
	t1=$(date +%s%N) &&
	echo $(( (t1 - t0) / 1000000 )) >rebuild.ms &&
	echo "a rebuild takes $(cat rebuild.ms) ms" &&
	both_listed
'

# ---- a rebuild killed at any moment --------------------------------------

FULL_MS=$(cat rebuild.ms 2>/dev/null || echo 100)
kill_points="1 3 6 10 15"
for pct in 20 40 60 80 95; do
	kill_points="$kill_points $((FULL_MS * pct / 100 + 1))"
done
say "kill points (ms): $kill_points"

for ms in $kill_points; do
	test_expect_success "index.db deleted, rebuild killed after ${ms} ms: no empty index appears" '
		restore_repo &&
		rm -f "$VAULT_REPO"/index.db* || return 1
		"$VAULT" check --rebuild-index >kill.out 2>&1 &
		pid=$!
		sleep "$(printf "%d.%03d" $((ms / 1000)) $((ms % 1000)))"
		kill -KILL "$pid" 2>/dev/null
		wait "$pid"
		echo "exit status $?" &&
		if test -e "$VAULT_REPO/index.db"; then
			echo "the rebuilt index was in place: it is complete" &&
			both_listed
		else
			test_must_fail_with 1 "index.db is missing.*--rebuild-index" vault list &&
			test_must_fail_with 1 "index.db is missing" vault snapshot c &&
			test_must_fail_with 1 "index.db is missing" vault prune --keep-last 10 &&
			test_path_is_missing "$VAULT_REPO/index.db"
		fi
	'

	test_expect_success "after the kill at ${ms} ms: rebuild, snapshot and prune keep A and B" '
		vault check --rebuild-index &&
		both_listed &&
		prune_keeps_both
	'

	test_expect_success "a rebuild over a sound index killed after ${ms} ms leaves it listing A and B" '
		restore_repo || return 1
		"$VAULT" check --rebuild-index >kill.out 2>&1 &
		pid=$!
		sleep "$(printf "%d.%03d" $((ms / 1000)) $((ms % 1000)))"
		kill -KILL "$pid" 2>/dev/null
		wait "$pid"
		both_listed &&
		prune_keeps_both
	'
done

# ---- a damaged pack -------------------------------------------------------

test_expect_success 'A'"'"'s packs lose their last byte: rebuild salvages them, exit 3, A kept' '
	restore_repo &&
	for p in $(cat packs.A); do
		truncate -s -1 "$p" || return 1
	done &&
	test_must_fail_with 3 "damaged" vault check --rebuild-index &&
	cp "$TEST_TMP/.stdout" rebuild.out &&
	cat rebuild.out &&
	for p in $(cat packs.A); do
		grep -q "pack $(basename "$p" .pack).*salvaged" rebuild.out ||
			return 1
	done &&
	grep -q "$A" rebuild.out &&
	! grep -q "no problems found" rebuild.out &&
	both_listed &&
	both_mount
'

test_expect_success 'the same in an unencrypted repository, with A'"'"'s pack cut in half: A is lost, B kept' '
	new_repo --encryption none &&
	vault snapshot --json a >a.json && A=$(json_get .id a.json) &&
	packs >packs.A &&
	vault snapshot --json b >b.json && B=$(json_get .id b.json) &&
	for p in $(cat packs.A); do
		truncate -s $(( $(stat -c %s "$p") / 2 )) "$p" || return 1
	done &&
	test_must_fail_with 3 "damaged" vault check --rebuild-index &&
	cat "$TEST_TMP/.stdout" &&
	grep -q "$A.*lost" "$TEST_TMP/.stdout" &&
	grep -q "salvaged" "$TEST_TMP/.stdout" &&
	only_second_listed "$A" "$B" &&
	mounts_as "$B" B.state &&
	vault prune --keep-last 10 &&
	mounts_as "$B" B.state
'

test_expect_success 'encrypted, index.db gone, A'"'"'s pack loses its trailer: the data B shares with A is named by B, A is reported lost' '
	new_repo &&
	rm -rf ab && mkdir ab && cp a/rnd ab/rnd && seq 1 999 >ab/more &&
	vault snapshot --json a >a.json && A=$(json_get .id a.json) &&
	packs >packs.A &&
	vault snapshot --json ab >ab.json && AB=$(json_get .id ab.json) &&
	rm -rf m-AB && vault mount "$AB" m-AB && tree_state m-AB >AB.state &&
	for p in $(cat packs.A); do
		truncate -s -100 "$p" || return 1
	done &&
	rm -f "$VAULT_REPO"/index.db* &&
	test_must_fail_with 3 "damaged" vault check --rebuild-index &&
	cat "$TEST_TMP/.stdout" &&
	grep -q "were named by the snapshots" "$TEST_TMP/.stdout" &&
	grep -q "snapshot records in it cannot be identified" "$TEST_TMP/.stdout" &&
	only_second_listed "$A" "$AB" &&
	mounts_as "$AB" AB.state &&
	vault check --read-data >check.out || grep -q "bad header, footer or trailer" check.out
'

# ---- a damaged index.db ---------------------------------------------------

for page in 1 3; do
	test_expect_success "index.db with page $page zeroed: verbs point to the rebuild, which sets it aside" '
		restore_repo &&
		dd if=/dev/zero of="$VAULT_REPO/index.db" bs=4096 seek=$((page - 1)) count=1 conv=notrunc 2>/dev/null &&
		test_must_fail_with 1 "rebuild-index" vault snapshot c &&
		test_must_fail_with 1 "rebuild-index" vault prune --keep-last 10 &&
		{ vault check >check.out 2>&1; test $? != 0; } &&
		cat check.out &&
		grep -q "rebuild-index" check.out &&
		vault check --rebuild-index >rebuild.out &&
		cat rebuild.out &&
		grep -q "index.db.corrupt-" rebuild.out &&
		ls "$VAULT_REPO"/index.db.corrupt-* &&
		both_listed &&
		both_mount &&
		prune_keeps_both
	'
done

# ---- prune and forget refuse while the index disagrees with packs/ --------

test_expect_success 'an empty index while packs exist: prune and forget refuse, change nothing' '
	new_repo "$TEST_TMP/other" &&
	cp "$TEST_TMP/other/index.db" "$TEST_TMP/empty-index.db" &&
	vault snapshot c >/dev/null &&
	restore_repo &&
	rm -f "$VAULT_REPO"/index.db* &&
	cp "$TEST_TMP/empty-index.db" "$VAULT_REPO/index.db" &&
	vault snapshot c >/dev/null &&
	(cd "$VAULT_REPO/packs" && find . -type f | sort | xargs sha256sum) >before &&
	test_must_fail_with 3 "prune refused.*not in the index.*--rebuild-index" vault prune --keep-last 10 &&
	test_must_fail_with 3 "forget refused.*--rebuild-index" vault forget latest &&
	test_must_fail_with 3 "prune refused" vault prune --dry-run &&
	(cd "$VAULT_REPO/packs" && find . -type f | sort | xargs sha256sum) >after &&
	test_cmp before after &&
	vault check --rebuild-index &&
	both_listed &&
	prune_keeps_both
'

test_expect_success 'an index.db older than the packs: B'"'"'s pack stays out, prune refuses, the rebuild brings B back' '
	new_repo &&
	vault snapshot --json a >a.json && A=$(json_get .id a.json) &&
	cp "$VAULT_REPO/index.db" old-index.db &&
	vault snapshot --json b >b.json && B=$(json_get .id b.json) &&
	rm -f "$VAULT_REPO"/index.db* &&
	cp old-index.db "$VAULT_REPO/index.db" &&
	vault snapshot c >/dev/null &&
	only_second_listed "$B" "$A" &&
	test_must_fail_with 3 "prune refused.*not in the index.*--rebuild-index" vault prune --keep-last 1 &&
	vault check --rebuild-index &&
	both_listed &&
	mounts_as "$B" B.state
'

test_expect_success 'packs a prune deleted come back (as after a crash before the unlinks): imported, pruned again' '
	new_repo &&
	vault snapshot --json a >a.json && A=$(json_get .id a.json) &&
	vault snapshot --json b >b.json && B=$(json_get .id b.json) &&
	vault forget "$A" &&
	cp -a "$VAULT_REPO/packs" packs.before-prune &&
	vault prune >prune.out &&
	grep -q "packs deleted" prune.out &&
	cp -an packs.before-prune/. "$VAULT_REPO/packs/" &&
	find packs.before-prune -name "*.pack" | wc -l >n.before &&
	test "$(packs | wc -l)" -ge "$(cat n.before)" &&
	vault snapshot c >/dev/null &&
	vault prune >prune.out &&
	cat prune.out &&
	only_second_listed "$A" "$B" &&
	vault check --read-data
'

test_expect_success 'an indexed pack missing from packs/: prune and forget refuse' '
	restore_repo &&
	p=$(tail -n 1 packs.AB) &&
	mv "$p" moved.pack &&
	test_must_fail_with 3 "prune refused.*indexed pack is missing.*--rebuild-index" vault prune &&
	test_must_fail_with 3 "forget refused.*missing" vault forget "$A" &&
	both_listed &&
	mv moved.pack "$p" &&
	prune_keeps_both
'

test_expect_success 'a pack file the index does not know (another repository'"'"'s): prune refuses' '
	restore_repo &&
	p=$(find "$TEST_TMP/other/packs" -name "*.pack" | head -n 1) &&
	d=$VAULT_REPO/packs/$(basename "$(dirname "$p")") &&
	mkdir -p "$d" && cp "$p" "$d/" &&
	test_must_fail_with 3 "prune refused.*1 pack file is not in the index.*--rebuild-index" vault prune &&
	rm "$d/$(basename "$p")" &&
	prune_keeps_both
'

test_done

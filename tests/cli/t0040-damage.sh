#!/bin/bash
# Damage: one flipped byte inside a data blob of a pack is found by
# `vault check` (XXH3 checksums, no key needed) and by `vault check
# --read-data`, which names the affected path and exits 3; the paths that
# do not use the damaged blob still mount.
. "$(dirname "$0")/../test-lib.sh"

MiB=$((1024 * 1024))

# run_check ARGS...: runs vault check, output in check.out, status in $rc
run_check() {
	vault check "$@" >check.out 2>&1
	rc=$?
	cat check.out
}

damage_scenario() {
	local enc=$1
	test_expect_success "setup ($enc): the victim file in packs of its own" '
		new_repo --encryption '"$enc"' &&
		rm -rf victim.bin other out-* &&
		head -c $((16 * MiB)) /dev/urandom >victim.bin &&
		vault snapshot victim.bin &&
		find "$VAULT_REPO/packs" -name "*.pack" | sort >packs1 &&
		test -s packs1 &&
		mkdir -p other/sub &&
		head -c $((3 * MiB)) /dev/urandom >other/random &&
		seq 1 100000 >other/sub/numbers &&
		echo small >other/small &&
		vault snapshot --json victim.bin other >snap2.json &&
		SNAP2=$(json_get .id snap2.json) &&
		find "$VAULT_REPO/packs" -name "*.pack" | sort >packs2 &&
		vault check --read-data
	'

	test_expect_success "($enc) flip one byte in the middle of the victim pack" '
		PACK=$(xargs ls -S <packs1 | head -n 1) &&
		size=$(stat -c %s "$PACK") &&
		test "$size" -gt $((4 * MiB)) &&
		chmod u+w "$PACK" &&
		flip_byte "$PACK" $((size / 2)) &&
		PACKNAME=$(basename "$PACK" .pack)
	'

	test_expect_success "($enc) check finds it without --read-data (exit 3, names the pack)" '
		run_check &&
		test_eq 3 "$rc" "exit status" &&
		grep -qF "$PACKNAME" check.out
	'

	test_expect_success "($enc) check --read-data exits 3 and names the affected path" '
		run_check --read-data &&
		test_eq 3 "$rc" "exit status" &&
		grep -qF "$PACKNAME" check.out &&
		grep -q "victim.bin" check.out &&
		! grep -q "other/" check.out
	'

	test_expect_success "($enc) check --read-data-subset 100% finds it too" '
		run_check --read-data-subset 100% &&
		test_eq 3 "$rc" "exit status"
	'

	test_expect_success "($enc) the unaffected paths still mount" '
		vault mount "$SNAP2" out-other other &&
		diff -r other out-other/other
	'

	test_expect_success "($enc) cat of the damaged file fails with 3 instead of returning bad data" '
		vault cat "$SNAP2" victim.bin >bad.out 2>cat.err
		rc=$? &&
		cat cat.err &&
		test_eq 3 "$rc" "exit status" &&
		! cmp -s bad.out victim.bin
	'

	test_expect_success "($enc) mounting the damaged file fails with 3 (damage found)" '
		test_must_fail_with 3 "cannot extract .victim.bin." vault mount "$SNAP2" out-victim victim.bin &&
		! cmp -s out-victim/victim.bin victim.bin
	'

	# Two one-chunk files of equal length whose index rows are swapped:
	# each chunk id now leads to an intact blob of the right length but
	# of the other chunk.  Encrypted, the AEAD tag (which covers the
	# chunk id) refuses it; unencrypted, the re-hash does.
	test_expect_success "($enc) a blob served for another chunk id is refused" '
		rm -rf swap out-swap &&
		mkdir swap &&
		head -c 1000 /dev/urandom >swap/a &&
		head -c 1000 /dev/urandom >swap/b &&
		vault snapshot --json swap >snap3.json &&
		SNAP3=$(json_get .id snap3.json) &&
		vault mount "$SNAP3" out-swap &&
		cmp swap/a out-swap/swap/a &&
		rm -rf out-swap &&
		test "$(sqlite3 "$VAULT_REPO/index.db" "SELECT count(*) FROM
			chunks WHERE type = 1 AND raw_len = 1000")" = 2 &&
		sqlite3 "$VAULT_REPO/index.db" "
			CREATE TEMP TABLE s AS SELECT id, pid, off, len
				FROM chunks WHERE type = 1 AND raw_len = 1000;
			UPDATE chunks SET
				pid = (SELECT pid FROM s WHERE s.id != chunks.id),
				off = (SELECT off FROM s WHERE s.id != chunks.id),
				len = (SELECT len FROM s WHERE s.id != chunks.id)
			WHERE id IN (SELECT id FROM s);" &&
		if [ '"$enc"' = none ]; then
			why="does not match its id"
		else
			why="authentication failed"
		fi &&
		test_must_fail_with 3 "$why" vault mount "$SNAP3" out-swap swap/a &&
		! cmp -s swap/a out-swap/swap/a &&
		! cmp -s swap/b out-swap/swap/a &&
		run_check --read-data &&
		test_eq 3 "$rc" "exit status" &&
		grep -q "swap/a" check.out && grep -q "swap/b" check.out
	'
}

damage_scenario repokey
damage_scenario none

test_done

#!/bin/bash
# Crash injection: `vault snapshot`, `forget`, `prune`, `key passwd` and
# `check --rebuild-index` (index.db deleted first) are killed with
# SIGKILL right before their Nth write, fsync, rename, truncation or
# unlink in the repository (tests/unit/faultfs.so), N drawn across the
# whole run: $VAULT_CRASH_TRIALS points per verb (20 here, 200 with `make
# crash-test`: every point of a verb that makes fewer calls).  After
# each kill:
#   * every snapshot committed before mounts byte-identical, and a
#     snapshot being taken is either absent or complete;
#   * `check --read-data` finds nothing wrong (a rebuild killed before
#     its index was in place leaves none, and every verb says to run it
#     again; a snapshot killed between its last pack and its commit
#     makes prune ask for a rebuild: either is then run, as the crash
#     table of doc/design.md says);
#   * a following prune deletes nothing a committed snapshot needs:
#     afterwards they all still mount byte-identical, check --read-data
#     is clean, and nothing temporary is left in the repository.
. "$(dirname "$0")/../test-lib.sh"
. "$TEST_DIRECTORY/fault-lib.sh"

NEWPASS="a new passphrase for the crash test"

test_expect_success 'setup: four committed snapshots, a forgotten one, small packs' '
	ff_setup &&
	ff_setup_trial &&
	grep -vx "$S3" ids.orig >ids.forget &&
	! grep -qx "$S1" ids.pruned
'

# ---- what each verb runs, and what must hold after a kill ------------------

crash_prep() {
	ff_restore &&
	case $1 in
	rebuild) rm -f "$VAULT_REPO"/index.db* ;;
	esac
}

crash_args() {
	case $1 in
	snapshot) echo "snapshot --time 2024-03-06T10:00:00Z trial/data" ;;
	forget) echo "forget $S3" ;;
	prune) echo "prune --keep-last 2" ;;
	key) echo "key passwd" ;;
	rebuild) echo "check --rebuild-index" ;;
	esac
}

# After a kill of key passwd exactly one passphrase opens the repository.
crash_passphrase() {
	local old=$VAULT_PASSPHRASE
	if vault list >/dev/null 2>pass.err; then
		echo "the old passphrase still opens it"
		test_must_fail_with 12 "wrong passphrase" env VAULT_PASSPHRASE="$NEWPASS" \
			"$VAULT" list
	else
		cat pass.err
		VAULT_PASSPHRASE=$NEWPASS &&
		vault list >/dev/null &&
		echo "the new passphrase opens it" &&
		test_must_fail_with 12 "wrong passphrase" env VAULT_PASSPHRASE="$old" \
			"$VAULT" list
	fi
}

# A killed rebuild leaves the old state (here: no index.db), which every
# verb names, or the complete new index (which, when the kill came while
# it was being switched back to WAL mode, readers refuse until a writer
# has rolled the switch back).  Run again until done.
crash_rebuilt() {
	if vault list >/dev/null 2>list.err; then
		return 0
	fi
	cat list.err
	grep -q "index.db is missing.*--rebuild-index" list.err ||
		grep -q "a writer was interrupted" list.err ||
		test_fail_ "vault list fails without naming the repair" || return 1
	vault check --rebuild-index >/dev/null
}

crash_after() {
	case $1 in
	snapshot)
		ff_verify ids.orig want.new &&
		ff_prune && ff_verify ids.orig want.new ;;
	forget)
		ff_verify ids.forget &&
		cp listed listed.after-kill &&
		ff_prune && ff_verify ids.forget &&
		if ! grep -qx "$S3" listed.after-kill; then
			! grep -qx "$S3" listed ||
				test_fail_ "the forgotten $S3 came back"
		fi ;;
	prune)
		ff_verify ids.pruned &&
		ff_prune --keep-last 2 && ff_verify ids.pruned &&
		test_cmp ids.pruned listed ;;
	key)
		crash_passphrase &&
		ff_verify ids.orig &&
		ff_prune && ff_verify ids.orig ;;
	rebuild)
		crash_rebuilt &&
		ff_verify ids.orig &&
		ff_prune && ff_verify ids.orig ;;
	esac &&
	ff_no_leftovers
}

# ---- the trials ---------------------------------------------------------

for verb in snapshot forget prune key rebuild; do
	test_expect_success "$verb: count the calls it makes" '
		crash_prep '"$verb"' &&
		VAULT_NEW_PASSPHRASE=$NEWPASS ff_count count.'"$verb"' \
			$(crash_args '"$verb"') >total.'"$verb"' &&
		echo "$(cat total.'"$verb"') calls" &&
		test "$(cat total.'"$verb"')" -gt 0
	'
	total=$(cat "total.$verb" 2>/dev/null || echo 0)
	for n in $(ff_points "$total" "$VAULT_CRASH_TRIALS"); do
		test_expect_success "$verb killed before call $n of $total ($(ff_call "count.$verb" "$n"))" '
			crash_prep '"$verb"' &&
			{ VAULT_NEW_PASSPHRASE=$NEWPASS ff_run kill '"$n"' kill.log \
				$(crash_args '"$verb"') >kill.out 2>&1; rc=$?; } &&
			echo "exit $rc" &&
			case $rc in
			137) ;;
			0) echo "it finished: fewer calls this time" ;;
			*) cat kill.out; test_fail_ "exit $rc" ;;
			esac &&
			crash_after '"$verb"'
		'
	done
done

test_done

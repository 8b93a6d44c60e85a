#!/bin/bash
# Fault injection without root mounts: `vault snapshot`, `prune` and
# `key passwd` meet ENOSPC (a disk that stays full: every call from the
# Nth on fails) or EIO (the Nth call alone fails) at their Nth write,
# fsync, rename, truncation or fallocate in the repository
# (tests/unit/faultfs.so).  The points: the first call of every distinct
# call site, plus $VAULT_CRASH_TRIALS drawn across the run (20 here, 200
# with `make crash-test`).  Each time:
#   * vault fails with exit 1 and a message naming the cause (never a
#     crash, never a hang), or succeeds completely;
#   * the repository is as it was: every snapshot mounts byte-identical,
#     check --read-data is clean, a failed snapshot is not listed
#     (unless the message says its commit's last sync failed, and then
#     it is complete), a failed prune may have done its forgets (a step
#     of its own), a failed key passwd leaves the old passphrase working
#     (unless the message says the new one is in effect);
#   * the next snapshot and prune work, and leave nothing temporary.
# Then the negative fixtures: a truncated pack and every page of index.db
# zeroed in turn; each read verb gives the right answer or fails saying
# what is wrong (the pack, or the index and the rebuild that repairs it).
. "$(dirname "$0")/../test-lib.sh"
. "$TEST_DIRECTORY/fault-lib.sh"

NEWPASS="a new passphrase for the fault test"
# unlinks are cleanup; a failing one is not an error of the command
FF_OPS=write,fsync,fdatasync,rename,ftruncate,fallocate
CAUSE="No space left on device|disk is full|Input/output error|disk I/O error"

test_expect_success 'setup: four committed snapshots, a forgotten one, small packs' '
	ff_setup &&
	ff_setup_trial
'

fault_args() {
	case $1 in
	snapshot) echo "snapshot --time 2024-03-06T10:00:00Z trial/data" ;;
	prune) echo "prune --keep-last 2" ;;
	key) echo "key passwd" ;;
	esac
}

# The state after a failed (or successful: ok=1) run of verb $1.
fault_state_ok() {
	local verb=$1 ok=$2
	case $verb in
	snapshot)
		ff_verify ids.orig want.new &&
		if [ "$ok" = 1 ]; then
			test "$(wc -l <listed)" = 5 ||
				test_fail_ "the snapshot that succeeded is not listed"
		elif grep -q "may be listed all the same" fault.err; then
			echo "the commit failed in its last step: it may be there"
		else
			test_cmp ids.orig listed
		fi ;;
	prune)
		ff_verify ids.pruned &&
		if [ "$ok" = 1 ]; then
			test_cmp ids.pruned listed
		fi ;;
	key)
		if [ "$ok" = 1 ] || grep -q "new passphrase is in effect" fault.err; then
			VAULT_PASSPHRASE=$NEWPASS
		fi &&
		ff_verify ids.orig &&
		test_cmp ids.orig listed ;;
	esac
}

# The next snapshot and prune work, and leave nothing temporary.
fault_next_works() {
	vault snapshot trial/data >/dev/null &&
	ff_listed >listed.next &&
	test "$(comm -13 listed listed.next | wc -l)" = 1 &&
	ff_prune &&
	ff_verify listed.next want.new &&
	ff_no_leftovers
}

# fault_trial VERB ACTION STICKY N [SITE]: one run of VERB meeting
# ACTION at its Nth call (of SITE, a line of sites.VERB, when given),
# and all that must hold afterwards.
fault_trial() {
	local verb=$1 action=$2 sticky=$3 n=$4 site=${5:-} rc
	ff_restore &&
	rm -f fault.log &&
	{ FF_STICKY=$sticky FF_SITE=$site VAULT_NEW_PASSPHRASE=$NEWPASS \
		ff_run "$action" "$n" fault.log $(fault_args "$verb") \
		>fault.out 2>fault.err; rc=$?; } &&
	echo "exit $rc" && cat fault.err &&
	{ grep "^fault" fault.log | head -n 1 | ff_site_key >>"fired.$verb"; } &&
	case $rc in
	0)
		echo "it succeeded all the same" &&
		fault_state_ok "$verb" 1 ;;
	1)
		{ grep -Eq "^vault: .*($CAUSE)" fault.err ||
			test_fail_ "the message does not name the cause"; } &&
		fault_state_ok "$verb" 0 ;;
	*)
		test_fail_ "exit $rc (crash, signal or timeout?)" ;;
	esac &&
	fault_next_works
}

for verb in snapshot prune key; do
	test_expect_success "$verb: count the calls it makes, and their sites" '
		ff_restore &&
		VAULT_NEW_PASSPHRASE=$NEWPASS ff_count count.'"$verb"' \
			$(fault_args '"$verb"') >total.'"$verb"' &&
		echo "$(cat total.'"$verb"') calls" &&
		test "$(cat total.'"$verb"')" -gt 0 &&
		grep -v "^fault" count.'"$verb"' | ff_site_key | sort -u >sites.'"$verb"' &&
		: >fired.'"$verb"'
	'
	total=$(cat "total.$verb" 2>/dev/null || echo 0)
	# every site's first call, then points drawn across the whole run;
	# EIO once and ENOSPC for good, in turn
	k=0
	nsites=$(wc -l <"sites.$verb" 2>/dev/null || echo 0)
	for i in $(seq 1 "$nsites") $(ff_points "$total" "$VAULT_CRASH_TRIALS"); do
		k=$((k + 1))
		if [ $((k % 2)) = 1 ]; then
			action="eio 0"
		else
			action="enospc 1"
		fi
		if [ "$k" -le "$nsites" ]; then
			site=$(sed -n "${i}p" "sites.$verb")
			test_expect_success "$verb: ${action% *} at the first call of $(echo $site)" '
				fault_trial '"$verb $action"' 1 "$(sed -n '"$i"'p sites.'"$verb"')"
			'
		else
			test_expect_success "$verb: ${action% *} at call $i of $total ($(ff_call "count.$verb" "$i"))" '
				fault_trial '"$verb $action $i"'
			'
		fi
	done
	test_expect_success "$verb: every distinct call site got its fault" '
		sort -u fired.'"$verb"' >fired.sorted &&
		comm -23 sites.'"$verb"' fired.sorted >missed &&
		cat missed &&
		test ! -s missed
	'
done

test_expect_success 'a snapshot whose commit fails at its last sync says it may be there all the same' '
	grep -v "^fault" count.snapshot | ff_site_key |
		grep -P "^fdatasync\t.*\t/index.db-wal$" | sort | uniq -c |
		sort -n | tail -n 1 >commit.site &&
	cat commit.site &&
	n=$(awk "{ print \$1 }" commit.site) &&
	site=$(sed -E "s/^ *[0-9]+ //" commit.site) &&
	ff_restore &&
	{ FF_STICKY=1 FF_SITE=$site ff_run enospc "$n" fault.log \
		$(fault_args snapshot) >fault.out 2>fault.err; rc=$?; } &&
	cat fault.err &&
	test_eq 1 "$rc" "exit status" &&
	grep -q "^vault: snapshot: index: commit: .*; snapshot [0-9a-f]\{8\} may be listed all the same, complete, if the disk kept the commit" fault.err &&
	ff_verify ids.orig want.new &&
	fault_next_works
'

# ---- negative fixtures: what the read verbs say --------------------------

# fixture_ok_or_says HINT CMD...: CMD succeeds, or fails (exit 1 or 3, no
# crash) saying something that matches HINT; $fixture_rc says which.
fixture_ok_or_says() {
	local hint=$1
	shift
	"$@" >fixture.out 2>fixture.err
	fixture_rc=$?
	case $fixture_rc in
	0) return 0 ;;
	1|3) cat fixture.out fixture.err | grep -Eq "$hint" && return 0
	     cat fixture.out fixture.err
	     test_fail_ "exit $fixture_rc without saying /$hint/: $*" ;;
	*) cat fixture.err; test_fail_ "exit $fixture_rc: $*" ;;
	esac
}

# Every committed snapshot mounts byte-identical, or fails saying HINT;
# $fixture_failed counts the failures.
fixture_mounts() {
	local id
	fixture_failed=0
	for id in $(cat ids.orig); do
		fixture_ok_or_says "$1" ff_mount_is "$id" "want/$id" || return 1
		[ "$fixture_rc" = 0 ] || fixture_failed=$((fixture_failed + 1))
	done
}

test_expect_success 'fixtures: the biggest pack S1 uses' '
	ff_restore &&
	PNAME=$(sqlite3 "$VAULT_REPO/index.db" "SELECT lower(hex(name))
		FROM packs WHERE pid IN (SELECT c.pid FROM chunks c
		JOIN snapshot_chunks sc ON sc.chunk = c.id
		JOIN snapshots s ON s.sid = sc.sid WHERE s.idhex = '"'"'$S1'"'"')
		ORDER BY size DESC LIMIT 1") &&
	test -f "repo.orig/packs/${PNAME:0:2}/$PNAME.pack" &&
	echo "${PNAME:0:2}/$PNAME.pack" >victim &&
	vault diff "$S1" "$S3" >diff.want
'

P=$(cat victim 2>/dev/null)
PNAME=$(basename "$P" .pack)
for cut in 1 16 100 half rest; do
	test_expect_success "a pack cut short ($cut): check names it, reads are right or name it" '
		ff_restore &&
		size=$(stat -c %s "$VAULT_REPO/packs/$P") &&
		case '"$cut"' in
		half) keep=$((size / 2)) ;;
		rest) keep=10 ;;
		*) keep=$((size - '"$cut"')) ;;
		esac &&
		truncate -s "$keep" "$VAULT_REPO/packs/$P" &&
		test_must_fail_with 3 "damaged" vault check &&
		grep -q "pack $PNAME: size $keep, the index says $size" "$TEST_TMP/.stdout" &&
		test_must_fail_with 3 "damaged" vault check --read-data &&
		grep -q "$PNAME" "$TEST_TMP/.stdout" &&
		fixture_mounts "pack $PNAME: .*(truncated|Bad message)" &&
		echo "$fixture_failed snapshots cannot be mounted" &&
		case '"$cut"' in
		half|rest)
			test "$fixture_failed" -gt 0 &&
			grep -q "affected: .*:data/" "$TEST_TMP/.stdout" ;;
		*)	# the trailer is gone, every blob is intact
			test "$fixture_failed" = 0 ;;
		esac &&
		fixture_ok_or_says "$PNAME" vault diff "$S1" "$S3" &&
		{ [ "$fixture_rc" != 0 ] || test_cmp diff.want fixture.out; }
	'
done

HINT="index.db is damaged.*rebuild-index|the index is damaged.*rebuild-index"
test_expect_success 'every page of index.db zeroed in turn: reads are right or point to the rebuild' '
	ff_restore &&
	pagesize=$(od -An -tu1 -j16 -N2 repo.orig/index.db | awk "{ print \$1 * 256 + \$2 }") &&
	test "$pagesize" -ge 512 &&
	npages=$(( $(stat -c %s repo.orig/index.db) / pagesize )) &&
	echo "$npages pages of $pagesize bytes" &&
	test ! -s repo.orig/index.db-wal &&
	for page in $(seq 1 "$npages"); do
		ff_restore &&
		dd if=/dev/zero of="$VAULT_REPO/index.db" bs="$pagesize" \
			seek=$((page - 1)) count=1 conv=notrunc status=none &&
		fixture_ok_or_says "$HINT" vault list --json || return 1
		if [ "$fixture_rc" = 0 ]; then
			jq -r ".[].id" fixture.out | sort >ids.got &&
			test_cmp ids.orig ids.got || return 1
		fi
		fixture_mounts "$HINT" &&
		fixture_ok_or_says "$HINT" vault diff "$S1" "$S3" || return 1
		if [ "$fixture_rc" = 0 ]; then
			test_cmp diff.want fixture.out || return 1
		fi
		fixture_ok_or_says "$HINT" vault stats &&
		fixture_ok_or_says "$HINT" vault check || return 1
		echo "page $page: $fixture_failed snapshots refused to mount, check exit $fixture_rc"
		if [ "$page" = 1 ]; then
			test_must_fail_with 1 "$HINT" vault list || return 1
		fi
	done
'

test_done

#!/bin/bash
# Retention that understands snapshot kinds.  A repository holds two
# snapshots of a directory, a full snapshot of a database, and the safety
# snapshot a real `vault restore --mode clean` takes.  Then:
#   - `vault list` marks the safety snapshot, `latest` (ls, cat, mount
#     --at, diff, forget) never means it, `latest-safety` does;
#   - prune --keep-last 1 counts within each group (host and source),
#     keeps the real backup and the safety snapshot by its own 7-day rule,
#     and its dry run prints the plan group by group with reasons;
#   - --keep-safety-days 0 drops the safety snapshot, and the 7 days
#     count from the newest snapshot of the repository;
#   - --group-by none puts the database and the directory in one group.
. "$(dirname "$0")/../test-lib.sh"
. "$VAULT_SRCDIR/tests/db-lib.sh"

db_start
new_repo --encryption none

# ids of the snapshots a prune --json plan keeps / forgets, sorted
plan_ids() {
	jq -r ".snapshots[] | select(.keep == $2) | .id" "$1" | sort
}

listed_ids() {
	vault list --json | jq -r ".[].id" | sort
}

test_expect_success 'setup: two snapshots of a directory, one of a database' '
	mkdir -p data &&
	echo one >data/f &&
	vault snapshot --json data >p1.json &&
	echo two >data/f &&
	vault snapshot --json data >p2.json &&
	db_fixture fx &&
	vault snapshot --json --db "dbname=fx" >full.json &&
	P1=$(json_get .id p1.json) && P2=$(json_get .id p2.json) &&
	FULL=$(json_get .id full.json)
'

test_expect_success 'a clean restore takes a real safety snapshot' '
	db_copy fx d1 &&
	db_psql d1 -c "UPDATE public.profiles SET bio = '"'"'drifted'"'"'" &&
	vault restore "$FULL" --db "dbname=d1" --table public.profiles \
		--mode clean --yes --json >restore.json &&
	SAFE=$(jq -r .safety_snapshot restore.json) &&
	test "${#SAFE}" = 64 &&
	test "$(vault list --json | jq -r ".[-1].id")" = "$SAFE"
'

test_expect_success 'list marks the safety snapshot (text and --json)' '
	vault list --json >list.json &&
	test "$(jq -r "map(select(.safety)) | .[].id" list.json)" = "$SAFE" &&
	test "$(jq "map(select(.safety | not)) | length" list.json)" = 3 &&
	vault list >list.txt &&
	head -n 1 list.txt | grep -q "KIND" &&
	grep "^${SAFE:0:8} " list.txt | grep -q " safety " &&
	grep "^${FULL:0:8} " list.txt | grep -q " backup "
'

test_expect_success 'latest is the newest real backup in every verb' '
	vault ls latest >ls.latest &&
	vault ls "$FULL" >ls.full &&
	test_cmp ls.full ls.latest &&
	vault ls "$SAFE" >ls.safe &&
	! cmp -s ls.safe ls.latest &&
	vault cat latest db/meta.json >meta.latest &&
	vault cat "$FULL" db/meta.json >meta.full &&
	test_cmp meta.full meta.latest &&
	vault diff --json latest "$FULL" >diff.json &&
	test "$(json_get .to diff.json)" = "$FULL" &&
	test "$(json_get .from diff.json)" = "$FULL" &&
	vault mount --json --at 2999-01-01 m >mount.json &&
	test "$(json_get .snapshot mount.json)" = "$FULL" &&
	vault restore latest --db "dbname=d1" --table public.profiles \
		--mode clean --dry-run >restore.latest &&
	grep -q "^Snapshot $FULL" restore.latest
'

test_expect_success 'latest-safety names the safety snapshot; so does its id' '
	vault ls latest-safety >ls.ls &&
	test_cmp ls.safe ls.ls &&
	vault ls "${SAFE:0:12}" >ls.id &&
	test_cmp ls.safe ls.id
'

test_expect_success 'prune --dry-run --keep-last 1: the plan by group' '
	repo_fingerprint >fp.before &&
	vault prune --dry-run --keep-last 1 >plan.txt &&
	cat plan.txt &&
	repo_fingerprint >fp.after &&
	test_cmp fp.before fp.after &&
	# three headings: the directory, the database, the safety snapshot
	test "$(grep -c "^snapshots of host " plan.txt)" = 2 &&
	test "$(grep -c "^safety snapshots of host " plan.txt)" = 1 &&
	grep "^snapshots of .*source .*/data\": 1 kept, 1 to be forgotten" plan.txt &&
	grep "^snapshots of .*source .*/fx\": 1 kept, 0 to be forgotten" plan.txt &&
	grep "^safety snapshots of .*: 1 kept, 0 to be forgotten" plan.txt &&
	grep "forget *${P1:0:8} .*(no rule keeps it)" plan.txt &&
	grep "keep *${P2:0:8} .*(last 1)" plan.txt &&
	grep "keep *${FULL:0:8} .*(last 1)" plan.txt &&
	grep "keep *${SAFE:0:8} .*(safety 7 days)" plan.txt &&
	# each snapshot line comes under its own heading
	awk "/^safety snapshots/ { s = 1 } /^snapshots/ { s = 0 }
	     /${SAFE:0:8}/ && !s { exit 1 }
	     /${FULL:0:8}|${P1:0:8}|${P2:0:8}/ && s { exit 1 }" plan.txt
'

test_expect_success 'prune --dry-run --json: groups and the keep set' '
	vault prune --dry-run --json --keep-last 1 >plan.json &&
	jq -e ".groups | length == 3" plan.json &&
	jq -e "[.groups[] | .safety] == [false, false, true]" plan.json &&
	jq -e ".groups[2] | .kept == 1 and .forgotten == 0" plan.json &&
	jq -e "[.snapshots[] | .group] == ([.snapshots[] | .group] | sort)" plan.json &&
	jq -e --arg s "$SAFE" ".snapshots[] | select(.id == \$s) |
		.safety and .keep and .reason == \"safety 7 days\" and .group == 2" plan.json &&
	printf "%s\n" "$P2" "$FULL" "$SAFE" | sort >want.keep &&
	plan_ids plan.json true >got.keep &&
	test_cmp want.keep got.keep &&
	echo "$P1" >want.forget &&
	plan_ids plan.json false >got.forget &&
	test_cmp want.forget got.forget
'

test_expect_success 'prune --keep-last 1 keeps the real backup and the safety snapshot' '
	cp -a "$VAULT_REPO" "$TRASH/before-prune" &&
	vault prune --keep-last 1 >prune.out &&
	listed_ids >got &&
	test_cmp want.keep got &&
	vault ls latest >ls.after &&
	test_cmp ls.full ls.after &&
	vault check
'

test_expect_success '--keep-safety-days 0 drops the safety snapshot, nothing else' '
	vault prune --keep-last 1 --keep-safety-days 0 >prune0.out &&
	grep "forget *${SAFE:0:8} .*--keep-safety-days 0" prune0.out &&
	printf "%s\n" "$P2" "$FULL" | sort >want &&
	listed_ids >got &&
	test_cmp want got &&
	test_must_fail_with 1 "latest-safety: no safety snapshot" vault ls latest-safety &&
	vault check --read-data
'

test_expect_success '--keep-safety-days alone forgets only safety snapshots' '
	rm -rf "$TRASH/alone" && cp -a "$TRASH/before-prune" "$TRASH/alone" &&
	VAULT_REPO=$TRASH/alone vault prune --keep-safety-days 0 --json >alone.json &&
	test "$(jq -r ".snapshots[] | select(.keep | not) | .id" alone.json)" = "$SAFE" &&
	test "$(VAULT_REPO=$TRASH/alone vault list --json | jq length)" = 3
'

test_expect_success 'the 7 days count from the newest snapshot, not from now' '
	rm -rf "$TRASH/later" && cp -a "$TRASH/before-prune" "$TRASH/later" &&
	export VAULT_REPO=$TRASH/later &&
	vault snapshot --time "$(date -u -d "+8 days" +%Y-%m-%dT%H:%M:%SZ)" data >/dev/null &&
	vault prune --dry-run --json --keep-last 1 >later.json &&
	jq -e --arg s "$SAFE" ".snapshots[] | select(.id == \$s) | .keep | not" later.json &&
	vault prune --dry-run --json --keep-last 1 --keep-safety-days 9 >later9.json &&
	jq -e --arg s "$SAFE" ".snapshots[] | select(.id == \$s) | .keep" later9.json &&
	vault prune --dry-run --json --keep-last 1 --keep-safety-days unlimited >later-all.json &&
	jq -e --arg s "$SAFE" ".snapshots[] | select(.id == \$s) |
		.keep and .reason == \"safety all\"" later-all.json
'

test_expect_success '--group-by none: one group for the database and the directory' '
	export VAULT_REPO=$TRASH/before-prune &&
	vault prune --dry-run --json --keep-last 1 --group-by none >none.json &&
	jq -e ".groups | length == 2" none.json &&
	jq -e ".groups[0] | .hostname == null and .source == null" none.json &&
	printf "%s\n" "$FULL" "$SAFE" | sort >want &&
	plan_ids none.json true >got &&
	test_cmp want got &&
	vault prune --dry-run --keep-last 1 --group-by none >none.txt &&
	grep -q "^all snapshots: 1 kept, 2 to be forgotten" none.txt &&
	grep -q "^safety snapshots: 1 kept" none.txt
'

test_expect_success '--group-by host: host only in the key' '
	vault prune --dry-run --json --keep-last 1 --group-by host >host.json &&
	jq -e ".groups[0] | .hostname != null and .source == null" host.json &&
	jq -e "[.snapshots[] | select(.keep)] | length == 2" host.json
'

test_expect_success 'latest with only safety snapshots left says how to name them' '
	rm -rf "$TRASH/only" && cp -a "$TRASH/before-prune" "$TRASH/only" &&
	export VAULT_REPO=$TRASH/only &&
	vault forget "$P1" "$P2" "$FULL" &&
	test_must_fail_with 1 "only safety snapshots.*latest-safety" vault ls latest &&
	test_must_fail_with 1 "only safety snapshots" vault mount --at 2999-01-01 m2 &&
	test_path_is_missing m2 &&
	vault ls latest-safety >ls.only &&
	test_cmp ls.safe ls.only
'

test_expect_success 'forget latest forgets the backup, not the safety snapshot' '
	rm -rf "$TRASH/fl" && cp -a "$TRASH/before-prune" "$TRASH/fl" &&
	export VAULT_REPO=$TRASH/fl &&
	vault forget latest &&
	printf "%s\n" "$P1" "$P2" "$SAFE" | sort >want &&
	listed_ids >got &&
	test_cmp want got
'

test_expect_success 'bad --group-by and --keep-safety-days are usage errors' '
	export VAULT_REPO=$TRASH/before-prune &&
	test_must_fail_with 2 "group-by" vault prune --group-by paths &&
	test_must_fail_with 2 "keep-safety-days" vault prune --keep-safety-days -1 &&
	test_must_fail_with 2 "keep-safety-days" vault prune --keep-safety-days soon
'

test_done

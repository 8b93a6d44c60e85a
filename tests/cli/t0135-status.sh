#!/bin/bash
# vault status: for monitoring.  For each group of snapshots (host and
# source, as prune groups them; safety snapshots in none) the newest
# snapshot, its age, whether it is partial and the group's last good
# one; the first line is the verdict, the second the last good snapshot
# of the repository.  Exit status 0 when every group's newest snapshot
# is whole and within --max-age (26h by default), 3 when one is partial,
# 4 when one is too old or there is none at all (4 wins over 3).
#
# Old snapshots are made with `vault snapshot --time`, partial ones with
# the fault shim (tests/unit/srcfault.so) denying a file.
. "$(dirname "$0")/../test-lib.sh"

need_srcfault
NOW=$(date +%s)
# ago SECONDS: the --time of a snapshot taken that long ago
ago() {
	echo "@$((NOW - $1))"
}
# group_field SOURCE-SUFFIX JQ: a field of the group whose source ends so
group_field() {
	jq -r --arg s "$1" ".groups[] | select(.source | endswith(\$s)) | $2" status.json
}

test_expect_success 'an empty repository: stale (exit 4), no last good snapshot' '
	new_repo --encryption repokey &&
	test_exit_code 4 vault status >out &&
	head -n 1 out | grep -q "^STALE: no snapshot in the repository" &&
	grep -q "^last good snapshot: none$" out &&
	test_exit_code 4 vault status --json >status.json &&
	json_get ".status == \"stale\" and .last_good == null and .groups == []" status.json
'

test_expect_success 'a fresh whole snapshot: OK (exit 0), and when it was taken' '
	mkdir www db && echo page >www/index.html && echo rows >db/dump &&
	vault snapshot --json www >snap.json &&
	id=$(json_get .id snap.json) && when=$(json_get .time snap.json) &&
	vault status >out &&
	head -n 1 out | grep -q "^OK: the newest snapshot is whole and within 26h$" &&
	grep -q "^last good snapshot: $when, .* ago (${id:0:8} of .*/www)$" out &&
	grep -Eq "^ok +[0-9]+s +${id:0:8}  $when  " out &&
	vault status --json >status.json &&
	json_get ".status == \"ok\" and .last_good.id == \"$id\" and .max_age_seconds == 93600" status.json &&
	test_eq 1 "$(jq ".groups | length" status.json)" &&
	test_eq ok "$(group_field /www .state)" &&
	test_eq "$id" "$(group_field /www .newest.id)" &&
	test_eq "$id" "$(group_field /www .last_good.id)" &&
	test_eq false "$(group_field /www .partial)"
'

test_expect_success 'a group whose newest snapshot is older than --max-age: stale (exit 4)' '
	vault snapshot --time "$(ago 10800)" db >/dev/null &&
	vault status >out &&
	test_exit_code 4 vault status --max-age 2h >out &&
	head -n 1 out | grep -q "^STALE: 1 of 2 groups has no snapshot within 2h$" &&
	grep -Eq "^stale +3h 0[0-9]m .*/db$" out &&
	grep -Eq "^ok .*/www$" out &&
	test_exit_code 4 vault status --max-age 2h --json >status.json &&
	json_get ".status == \"stale\" and .groups_stale == 1 and .max_age_seconds == 7200" status.json &&
	test_eq stale "$(group_field /db .state)" &&
	test_eq ok "$(group_field /www .state)" &&
	age=$(group_field /db .newest.age_seconds) &&
	test_le 10800 "$age" && test_le "$age" 10900 &&
	vault status --max-age 3h30m >/dev/null &&
	vault status --max-age 1d >/dev/null &&
	test_exit_code 4 vault status --max-age 10799s >/dev/null
'

test_expect_success 'the default max-age is 26h' '
	vault snapshot --time "$(ago $((25 * 3600)))" db >/dev/null &&
	vault status >/dev/null &&
	vault snapshot --time "$(ago $((27 * 3600)))" www >/dev/null &&
	vault status >/dev/null &&
	mkdir old && echo x >old/f &&
	vault snapshot --time "$(ago $((27 * 3600)))" old >/dev/null &&
	test_exit_code 4 vault status >out &&
	head -n 1 out | grep -q "^STALE: 1 of 3 groups has no snapshot within 26h$" &&
	grep -Eq "^stale +1d 03h .*/old$" out
'

test_expect_success 'a new snapshot of the group makes it fresh again' '
	vault snapshot old >/dev/null &&
	vault status >out &&
	head -n 1 out | grep -q "^OK: the newest snapshot of each of the 3 groups is whole and within 26h$"
'

test_expect_success 'a partial newest snapshot: exit 3, with the last good one of its group' '
	good=$(vault list --json | jq -r "[.[] | select(.source | endswith(\"/www\"))] | last | .id") &&
	echo secret >www/locked &&
	test_must_fail_with 3 "skipped" vault_faults "eacces:$TEST_TMP/www/locked" \
		snapshot www &&
	test_exit_code 3 vault status >out &&
	head -n 1 out | grep -q "^PARTIAL: the newest snapshot of 1 of 3 groups is partial$" &&
	grep -Eq "^partial +[0-9]+s .*/www$" out &&
	test_exit_code 3 vault status --json >status.json &&
	json_get ".status == \"partial\" and .groups_partial == 1 and .groups_stale == 0" status.json &&
	test_eq partial "$(group_field /www .state)" &&
	test_eq true "$(group_field /www .partial)" &&
	test_eq 1 "$(group_field /www .skipped)" &&
	test_eq "$good" "$(group_field /www .last_good.id)" &&
	test_le "$(group_field /www .last_good.unix_time)" \
		"$(group_field /www .newest.unix_time)"
'

test_expect_success 'the last good snapshot of the repository is whole: not the partial one' '
	partial=$(vault list --json | jq -r "last | .id") &&
	grep "^last good snapshot: " out >line &&
	! grep -q "${partial:0:8}" line &&
	test "$(jq -r .last_good.id status.json)" != "$partial"
'

test_expect_success 'stale wins over partial (exit 4), and the verdict says both' '
	test_exit_code 4 vault status --max-age 1m >out &&
	head -n 1 out | grep -q "^STALE: 1 of 3 groups has no snapshot within 1m; the newest snapshot of 1 more is partial$" &&
	test_exit_code 4 vault status --max-age 1m --json >status.json &&
	json_get ".status == \"stale\" and .groups_stale == 1 and .groups_partial == 1" status.json &&
	test_eq stale "$(group_field /db .state)" &&
	test_eq partial "$(group_field /www .state)"
'

test_expect_success 'a whole snapshot again: OK' '
	vault snapshot www >/dev/null &&
	vault status >/dev/null
'

test_expect_success 'a group with no whole snapshot at all: last good none' '
	mkdir shaky && echo x >shaky/f &&
	test_must_fail_with 3 "skipped" vault_faults "eacces:$TEST_TMP/shaky/f" \
		snapshot shaky &&
	test_exit_code 3 vault status --json >status.json &&
	test_eq null "$(group_field /shaky .last_good)" &&
	test_exit_code 3 vault status >out &&
	grep -Eq "^partial +[0-9]+s +[0-9a-f]{8}  [0-9TZ:-]+  none +" out &&
	vault snapshot shaky >/dev/null
'

# the groups without the ages, which move with the clock
groups_seen() {
	jq -c "[.groups[] | {state, hostname, source, snapshots,
		newest: .newest.id, last_good: .last_good.id}], .last_good.id" "$1"
}

test_expect_success 'safety snapshots are in no group: an old one changes nothing' '
	vault status --json >before.json &&
	mkdir replaced && echo old >replaced/f &&
	vault snapshot --tag safety --time 2020-01-01T00:00:00Z replaced >/dev/null &&
	vault status --json >after.json &&
	test_eq "$(groups_seen before.json)" "$(groups_seen after.json)" &&
	! grep -q replaced after.json
'

test_expect_success '--group-by: the groups of prune (host: one group, the newest wins)' '
	mkdir gone && echo x >gone/f &&
	vault snapshot --time 2020-01-01T00:00:00Z gone >/dev/null &&
	test_exit_code 4 vault status --json >status.json &&
	test_eq stale "$(group_field /gone .state)" &&
	vault status --group-by host --json >status.json &&
	test_eq 1 "$(jq ".groups | length" status.json)" &&
	vault status --group-by none >/dev/null &&
	test_exit_code 4 vault status --group-by source >/dev/null
'

test_expect_success 'host names and sources from the repository are quoted' '
	mkdir "$(printf "evil\033[2Jdir")" && echo x >"$(printf "evil\033[2Jdir")/f" &&
	vault snapshot "$(printf "evil\033[2Jdir")" >/dev/null &&
	test_exit_code 4 vault status >out &&
	! grep -q "$(printf "\033")" out &&
	grep -qF "evil\\x1b[2Jdir" out
'

test_expect_success 'usage errors: exit 2, nothing read' '
	for bad in 26 0s 1y -1h h 1.5h ""; do
		test_must_fail_with 2 "--max-age: .* is not a duration" \
			vault status --max-age "$bad" || return 1
	done &&
	test_must_fail_with 2 "--group-by" vault status --group-by tags &&
	test_must_fail_with 2 "unexpected argument" vault status now
'

test_expect_success 'no repository: exit 10; wrong passphrase: exit 12' '
	test_must_fail_with 10 "not a vault repository" vault --repo "$TEST_TMP/nowhere" status &&
	test_must_fail_with 12 "wrong passphrase" env VAULT_PASSPHRASE=wrong "$VAULT" status
'

test_expect_success 'status changes nothing in the repository' '
	repo_fingerprint >before &&
	test_exit_code 4 vault status >/dev/null &&
	test_exit_code 4 vault status --json >/dev/null &&
	repo_fingerprint >after &&
	test_cmp before after
'

test_expect_success 'status is documented: --help, vault --help, the exit codes' '
	vault status --help >help &&
	grep -q "^usage: vault status \[--max-age DURATION\]" help &&
	grep -q "0 every group" help && grep -q "4 one is older" help &&
	vault --help | grep -q "^  status " &&
	vault --help | grep -q "4 no recent snapshot (status)"
'

test_done

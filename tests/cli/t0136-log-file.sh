#!/bin/bash
# The log file of scheduled runs: with --log-file FILE (or
# $VAULT_LOG_FILE; the option wins) every run of a verb appends one
# logfmt line: start, end, secs, verb, result, exit, the snapshot
# written and its bytes_added, the repository.  The file is opened
# before the verb runs (a path that cannot be written stops the run at
# once, nothing done), created 0600, and never truncated.
. "$(dirname "$0")/../test-lib.sh"

need_srcfault

LOG=$TEST_TMP/vault.log
# field LINE KEY: the value of KEY in a logfmt line (bare values only)
field() {
	printf '%s\n' "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"
}

test_expect_success 'a snapshot appends its line: verb, times, result, snapshot and bytes added' '
	new_repo --encryption none &&
	mkdir data && head -c 100000 /dev/urandom >data/f &&
	vault --log-file "$LOG" snapshot --json data >snap.json &&
	test_eq 1 "$(wc -l <"$LOG")" "lines" &&
	line=$(cat "$LOG") &&
	echo "$line" | grep -Eq "^start=[0-9-]+T[0-9:]+Z end=[0-9-]+T[0-9:]+Z secs=[0-9]+\.[0-9] verb=snapshot result=ok exit=0 snapshot=[0-9a-f]{64} bytes_added=[0-9]+ repo=" &&
	test_eq "$(json_get .id snap.json)" "$(field "$line" snapshot)" &&
	test_eq "$(json_get .bytes_added snap.json)" "$(field "$line" bytes_added)" &&
	test_eq "$VAULT_REPO" "$(field "$line" repo)" &&
	test_eq 600 "$(stat -c %a "$LOG")" "mode"
'

test_expect_success 'VAULT_LOG_FILE works the same, and lines are appended' '
	VAULT_LOG_FILE=$LOG vault list >/dev/null &&
	VAULT_LOG_FILE=$LOG vault snapshot data >/dev/null &&
	test_eq 3 "$(wc -l <"$LOG")" "lines" &&
	sed -n 2p "$LOG" | grep -q " verb=list result=ok exit=0 repo=" &&
	! sed -n 2p "$LOG" | grep -q snapshot= &&
	line=$(sed -n 3p "$LOG") &&
	test_eq snapshot "$(field "$line" verb)" &&
	test_eq 0 "$(field "$line" bytes_added)" "bytes added by a repeat"
'

test_expect_success 'the option wins over the variable, after the verb too' '
	VAULT_LOG_FILE=$TEST_TMP/other.log vault stats --log-file "$LOG" >/dev/null &&
	test_path_is_missing "$TEST_TMP/other.log" &&
	tail -n 1 "$LOG" | grep -q " verb=stats result=ok exit=0 " &&
	VAULT_LOG_FILE=$TEST_TMP/other.log vault list --log-f="$LOG" >/dev/null &&
	test_path_is_missing "$TEST_TMP/other.log" &&
	tail -n 1 "$LOG" | grep -q " verb=list result=ok exit=0 "
'

test_expect_success 'an argument that only looks like --log-file leaves the variable in force' '
	VAULT_LOG_FILE=$TEST_TMP/other.log vault snapshot --tag --log-file data >/dev/null &&
	vault list --tag --log-file >tagged &&
	test_eq 1 "$(grep -c -- --log-file tagged)" "tagged snapshots" &&
	grep -q " verb=snapshot result=ok exit=0 snapshot=" "$TEST_TMP/other.log"
'

test_expect_success 'how a run ended: partial, stale, no-repo, usage, locked' '
	: >"$LOG" &&
	echo locked >data/locked &&
	test_must_fail_with 3 skipped env LD_PRELOAD="$SRCFAULT" \
		VAULT_SRCFAULT="eacces:$TEST_TMP/data/locked" \
		"$VAULT" --log-file "$LOG" snapshot data &&
	tail -n 1 "$LOG" | grep -Eq " verb=snapshot result=partial exit=3 snapshot=[0-9a-f]{64} " &&
	test_exit_code 3 vault --log-file "$LOG" status >/dev/null &&
	tail -n 1 "$LOG" | grep -q " verb=status result=partial exit=3 " &&
	sleep 2 &&
	test_exit_code 4 vault --log-file "$LOG" status --max-age 1s >/dev/null &&
	tail -n 1 "$LOG" | grep -q " verb=status result=stale exit=4 " &&
	test_must_fail_with 10 "not a vault repository" \
		vault --log-file "$LOG" --repo "$TEST_TMP/nowhere" list &&
	tail -n 1 "$LOG" | grep -q " verb=list result=no-repo exit=10 repo=$TEST_TMP/nowhere$" &&
	test_must_fail_with 2 "unknown option" vault --log-file "$LOG" list --bogus &&
	tail -n 1 "$LOG" | grep -q " verb=list result=usage exit=2" &&
	(
		exec 9>"$VAULT_REPO/lock" && flock -x 9 &&
		test_must_fail_with 11 "locked|in use" \
			vault --log-file "$LOG" snapshot data
	) &&
	tail -n 1 "$LOG" | grep -q " verb=snapshot result=locked exit=11 " &&
	! tail -n 1 "$LOG" | grep -q snapshot=
'

test_expect_success '--help and vault --help write no line' '
	before=$(wc -l <"$LOG") &&
	vault --log-file "$LOG" snapshot --help >/dev/null &&
	VAULT_LOG_FILE=$LOG vault status --help >/dev/null &&
	VAULT_LOG_FILE=$LOG vault --help >/dev/null &&
	VAULT_LOG_FILE=$LOG vault help list >/dev/null &&
	test_eq "$before" "$(wc -l <"$LOG")" "lines"
'

test_expect_success 'a log file that cannot be opened stops the run before it starts' '
	n=$(vault list --json | jq length) &&
	test_must_fail_with 1 "cannot open the log file $TEST_TMP/no/such/dir/log \(.VAULT_LOG_FILE\)" \
		env VAULT_LOG_FILE="$TEST_TMP/no/such/dir/log" "$VAULT" snapshot data &&
	test_must_fail_with 2 "--log-file: cannot open $TEST_TMP/no/such/dir/log" \
		vault --log-file "$TEST_TMP/no/such/dir/log" snapshot data &&
	test_must_fail_with 2 "--log-file: cannot open" \
		vault snapshot data --log-file "$TEST_TMP/no/such/dir/log" &&
	test_must_fail_with 2 "--log-file needs a file name" \
		vault --log-file "" list &&
	test_eq "$n" "$(vault list --json | jq length)" "snapshots"
'

test_expect_success 'an empty VAULT_LOG_FILE is no log file' '
	VAULT_LOG_FILE= vault list >/dev/null
'

test_expect_success 'a repository path with spaces and quotes is quoted' '
	new_repo --encryption none "$TEST_TMP/my \"repo\"" &&
	: >"$LOG" &&
	vault --log-file "$LOG" list >/dev/null &&
	grep -qF " repo=\"$TEST_TMP/my \\\"repo\\\"\"" "$LOG"
'

test_expect_success 'runs that end together write whole lines' '
	: >"$LOG" &&
	for i in 1 2 3 4 5 6 7 8; do
		VAULT_LOG_FILE=$LOG "$VAULT" list >/dev/null &
	done &&
	wait &&
	test_eq 8 "$(wc -l <"$LOG")" "lines" &&
	test_eq 8 "$(grep -Ec "^start=[^ ]+ end=[^ ]+ secs=[^ ]+ verb=list result=ok exit=0 repo=\".*\"$" "$LOG")" "whole lines"
'

test_done

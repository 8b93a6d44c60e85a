#!/bin/bash
# Locking: while one writer holds the repository (a snapshot reading a
# fifo we feed when we like), a second writer fails naming the holder
# (host, pid, command), readers still work, and --lock-wait waits for the
# holder and then succeeds.  A lock left by a killed writer is taken over.
. "$(dirname "$0")/../test-lib.sh"

# start_holder NAME: a snapshot of standard input from the fifo, left
# waiting for more input (fd 7 is our end); HOLDER is its pid.
start_holder() {
	rm -f fifo && mkfifo fifo || return 1
	"$VAULT" snapshot --stdin-name "$1" - <fifo >holder.out 2>&1 &
	HOLDER=$!
	# read-write: never blocks, even if the holder died before opening
	exec 7<>fifo &&
	printf "the first lines of a slow stream\n" >&7 &&
	wait_for_lock "$HOLDER"
}

# wait_for_lock PID: until PID holds the lock (it is then named in the
# lock file), 20 s at most.
wait_for_lock() {
	local i
	for i in $(seq 1 200); do
		if [ -f "$VAULT_REPO/lock" ] && grep -aq "\\b$1\\b" "$VAULT_REPO/lock"; then
			return 0
		fi
		kill -0 "$1" 2>/dev/null || { echo "holder $1 died" >&2; cat holder.out >&2; return 1; }
		sleep 0.1
	done
	echo "pid $1 never showed up in $VAULT_REPO/lock" >&2
	return 1
}

# finish_holder: feeds the rest, closes the fifo, waits for the holder.
finish_holder() {
	printf "the last line\n" >&7 &&
	exec 7>&- &&
	wait "$HOLDER" || { cat holder.out >&2; return 1; }
}

test_expect_success 'setup: a repository with one snapshot' '
	new_repo --encryption none &&
	echo data >f &&
	vault snapshot f &&
	HOST=$(hostname)
'

test_expect_success 'a writer holds the lock while it reads its input' '
	start_holder slow.txt
'

test_expect_success 'a second writer fails naming host, pid and command' '
	echo other | test_must_fail_with 11 "lock" vault snapshot --stdin-name other.txt - &&
	grep -qF "$HOST" "$TRASH/.stderr" &&
	grep -qw "$HOLDER" "$TRASH/.stderr" &&
	grep -q "snapshot" "$TRASH/.stderr"
'

test_expect_success 'the lock error also says since when it is held' '
	grep -Eq "since|[0-9]{4}-[0-9]{2}-[0-9]{2}|[0-9]+ ?s(ec|econds)?\b" "$TRASH/.stderr"
'

test_expect_success 'other writing verbs are refused too' '
	test_must_fail_with 11 "$HOLDER" vault forget latest &&
	test_must_fail_with 11 "$HOLDER" vault prune --keep-last 1 &&
	test "$(vault list --json | jq length)" = 1
'

test_expect_success 'readers run while the lock is held' '
	vault list >/dev/null &&
	vault ls latest >/dev/null &&
	vault cat latest f >out && test_cmp f out &&
	vault check >/dev/null
'

test_expect_success '--lock-wait waits for the holder, then succeeds' '
	echo waited >w.txt || return 1
	# 7>&-: the waiter must not keep the fifo open (the holder would
	# never see the end of its input)
	"$VAULT" --lock-wait 60 snapshot --stdin-name waited.txt - <w.txt >w.out 2>&1 7>&- &
	W=$!
	sleep 2 &&
	kill -0 "$W" &&
	test "$(vault list --json | jq length)" = 1 &&
	finish_holder &&
	wait "$W" || { cat w.out >&2; false; }
'

test_expect_success 'both snapshots were committed' '
	test "$(vault list --json | jq length)" = 3 &&
	vault cat latest waited.txt >out && test_cmp w.txt out &&
	vault ls "$(vault list --json | jq -r ".[1].id")" | grep -q slow.txt
'

test_expect_success '--lock-wait gives up after its time, naming the holder' '
	start_holder slow2.txt &&
	t0=$(date +%s) &&
	echo x | test_must_fail_with 11 "$HOLDER" vault --lock-wait 2 snapshot --stdin-name x.txt - &&
	t1=$(date +%s) &&
	test $((t1 - t0)) -ge 2 &&
	test $((t1 - t0)) -le 20 &&
	finish_holder
'

test_expect_success 'a lock left by a killed writer is taken over' '
	start_holder killed.txt &&
	kill -KILL "$HOLDER" && { wait "$HOLDER"; true; } &&
	exec 7>&- &&
	echo after >a.txt &&
	vault snapshot --stdin-name after.txt - <a.txt &&
	vault cat latest after.txt >out && test_cmp a.txt out &&
	! vault ls latest | grep -q killed.txt &&
	vault check --read-data
'

test_done

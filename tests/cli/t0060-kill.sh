#!/bin/bash
# Crash safety: a snapshot killed with SIGKILL at several points (early,
# while packing, near the commit) leaves a repository that passes `check
# --read-data`, lists only committed snapshots, and that the next snapshot
# (taking over the dead writer's lock) uses normally.
. "$(dirname "$0")/../test-lib.sh"

MiB=$((1024 * 1024))

test_expect_success 'setup: a committed snapshot and a large source' '
	new_repo &&
	mkdir -p small && seq 1 20000 >small/numbers && echo hi >small/hi &&
	vault snapshot --json small >base.json &&
	BASE=$(json_get .id base.json) &&
	mkdir -p src &&
	head -c $((256 * MiB)) /dev/urandom >src/big &&
	seq 1 200000 >src/text
'

test_expect_success 'measure how long a full snapshot takes (scratch repository)' '
	(
		new_repo "$TRASH/scratch" &&
		t0=$(date +%s%N) &&
		vault snapshot src >/dev/null &&
		t1=$(date +%s%N) &&
		echo $(( (t1 - t0) / 1000000 )) >"$TRASH/full.ms"
	) &&
	FULL_MS=$(cat full.ms) &&
	echo "a full snapshot takes $FULL_MS ms" &&
	rm -rf "$TRASH/scratch"
'

# Kill points: fixed early ones, then fractions of a full run.
FULL_MS=$(cat full.ms 2>/dev/null || echo 4000)
kill_points="200 500"
for pct in 10 30 50 70 85 95; do
	kill_points="$kill_points $((FULL_MS * pct / 100))"
done
say "kill points (ms): $kill_points"

committed=1
killed_running=0
for ms in $kill_points; do
	test_expect_success "snapshot killed with SIGKILL after ${ms} ms" '
		"$VAULT" snapshot src >kill.out 2>&1 &
		pid=$!
		sleep "$(printf "%d.%03d" $((ms / 1000)) $((ms % 1000)))"
		if kill -KILL "$pid" 2>/dev/null; then
			wait "$pid"
			rc=$?
		else
			wait "$pid"
			rc=$?
		fi
		echo "exit status $rc" &&
		case $rc in
		137) killed_running=$((killed_running + 1)) ;;
		0) echo "finished before the kill" && committed=$((committed + 1)) ;;
		*) cat kill.out && false ;;
		esac
	'

	test_expect_success "after the kill at ${ms} ms: check --read-data passes" '
		vault check --read-data
	'

	# A kill can land after the commit point (while the process exits):
	# then the snapshot is there and must be complete; otherwise nothing
	# may have appeared.
	test_expect_success "after the kill at ${ms} ms: only committed snapshots are listed" '
		n=$(vault list --json | jq length) &&
		if test "$n" = $((committed + 1)); then
			echo "the kill came after the commit" &&
			vault cat latest src/text | cmp - src/text &&
			vault cat latest src/big | cmp - src/big &&
			committed=$n
		fi &&
		test "$n" = "$committed" &&
		vault cat "$BASE" small/numbers | cmp - small/numbers
	'
done

test_expect_success 'most kills hit a running snapshot' '
	echo "killed while running: $killed_running" &&
	test "$killed_running" -ge 4
'

test_expect_success 'the next snapshot works normally after the kills' '
	vault snapshot --json src >next.json &&
	committed=$((committed + 1)) &&
	test "$(vault list --json | jq length)" = "$committed" &&
	vault cat latest src/big | cmp - src/big &&
	vault check --read-data
'

test_expect_success 'no temporary files are left behind in packs/' '
	find "$VAULT_REPO/packs" -type f ! -name "*.pack" >leftover &&
	cat leftover &&
	test ! -s leftover
'

test_expect_success 'a repeat snapshot after all that still deduplicates' '
	vault snapshot --json src >again.json &&
	test_le "$(json_get .bytes_added again.json)" $((64 * 1024)) "bytes_added"
'

test_done

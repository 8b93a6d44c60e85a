#!/bin/bash
# Deduplication: a repeat snapshot of unchanged data adds almost nothing,
# a copy of a file adds nothing, a small edit adds a few chunks.
. "$(dirname "$0")/../test-lib.sh"

MiB=$((1024 * 1024))

test_expect_success 'setup: 32 MiB of data in a tree' '
	new_repo &&
	mkdir -p data/sub &&
	head -c $((24 * MiB)) /dev/urandom >data/big &&
	head -c $((6 * MiB)) /dev/urandom >data/sub/medium &&
	seq 1 300000 >data/sub/text &&
	for i in $(seq 1 50); do echo "small file $i" >data/sub/s$i || return 1; done
'

test_expect_success 'the first snapshot reports what it stored (--json)' '
	vault snapshot --json data >first.json &&
	jq -e . first.json >/dev/null &&
	id=$(json_get .id first.json) &&
	echo "$id" | grep -Eqx "[0-9a-f]{64}" &&
	entries=$(json_get .entries first.json) &&
	test "$entries" -ge 53 &&
	read1=$(json_get .bytes_read first.json) &&
	added1=$(json_get .bytes_added first.json) &&
	stored1=$(json_get .bytes_stored first.json) &&
	total=$(du -cb data/big data/sub/* | tail -n 1 | cut -f1) &&
	test_le "$total" "$read1" "bytes_read" &&
	test_le $((total * 99 / 100)) "$added1" "bytes_added of new data" &&
	# random data does not compress: stored about what was added
	test_le $((added1 * 9 / 10)) "$stored1" "bytes_stored"
'

test_expect_success 'a repeat snapshot adds almost nothing' '
	packs_before=$(repo_pack_bytes) &&
	vault snapshot --json data >second.json &&
	read2=$(json_get .bytes_read second.json) &&
	added2=$(json_get .bytes_added second.json) &&
	stored2=$(json_get .bytes_stored second.json) &&
	# the same content, whether read again or vouched for by the
	# files cache (t0027)
	test "$(json_get .bytes_total second.json)" = "$read1" &&
	test_le "$read2" "$read1" "bytes_read of a repeat" &&
	test_le "$added2" $((64 * 1024)) "bytes_added of a repeat" &&
	test_le "$stored2" $((64 * 1024)) "bytes_stored of a repeat" &&
	packs_after=$(repo_pack_bytes) &&
	test_le $((packs_after - packs_before)) $((128 * 1024)) "pack growth" &&
	test "$(json_get .id second.json)" != "$(json_get .id first.json)"
'

test_expect_success 'both snapshots are listed and hold the same content' '
	test "$(vault list --json | jq length)" = 2 &&
	vault diff "$(json_get .id first.json)" "$(json_get .id second.json)" >diff.out &&
	! grep -Eq "big|medium|text" diff.out
'

test_expect_success 'a copy of a file under another name adds nothing' '
	mkdir copy && cp data/big copy/big-again &&
	vault snapshot --json copy >copy.json &&
	test_le "$(json_get .bytes_added copy.json)" $((64 * 1024)) "bytes_added of a copy"
'

test_expect_success 'the same data on standard input adds nothing' '
	vault snapshot --json --stdin-name big.stream - <data/big >stdin.json &&
	test_le "$(json_get .bytes_added stdin.json)" $((64 * 1024)) "bytes_added of stdin"
'

test_expect_success 'a one-byte insertion near the start adds only a few chunks' '
	{ head -c 1000 data/big && printf X && tail -c +1001 data/big; } >data/big.new &&
	mv data/big.new data/big &&
	vault snapshot --json data >edit.json &&
	added=$(json_get .bytes_added edit.json) &&
	test "$added" -gt 0 &&
	test_le "$added" $((8 * MiB)) "bytes_added after a one-byte insert"
'

test_expect_success 'stats reports the deduplication' '
	vault stats --json >stats.json &&
	jq -e . stats.json >/dev/null &&
	test "$(json_get .snapshots stats.json)" = 5 &&
	vault stats >stats.txt &&
	grep -Eqi "dedup" stats.txt
'

test_expect_success 'the latest snapshot still round-trips' '
	vault mount latest out &&
	diff -r data out/data
'

test_done

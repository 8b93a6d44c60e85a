#!/bin/bash
# The smaller verbs and conventions: list/ls --json, diff, forget, stats,
# `latest` and id prefixes, mount --at.
. "$(dirname "$0")/../test-lib.sh"

test_expect_success 'setup: three snapshots at known times' '
	new_repo &&
	mkdir -p data/sub &&
	echo one >data/a &&
	echo two >data/b &&
	seq 1 1000 >data/sub/c &&
	vault snapshot --json --tag daily --time 2024-03-01T10:00:00Z data >s1.json &&
	S1=$(json_get .id s1.json) &&
	echo changed >data/b &&
	rm data/a &&
	echo new >data/sub/d &&
	ln -s b data/link &&
	vault snapshot --json --tag weekly --time 2024-03-05T12:30:00Z data >s2.json &&
	S2=$(json_get .id s2.json) &&
	seq 1 5000 >data/sub/c &&
	vault snapshot --json --time 2024-03-09T08:15:00Z data >s3.json &&
	S3=$(json_get .id s3.json)
'

test_expect_success 'snapshot --json has the documented fields' '
	for k in id entries bytes_read bytes_added bytes_stored; do
		jq -e "has(\"$k\")" s1.json >/dev/null || { echo "no $k" >&2; return 1; }
	done &&
	test "$(json_get .entries s1.json)" = 5
'

test_expect_success 'snapshot without --json prints a summary with the id' '
	echo x >x &&
	vault snapshot x >summary &&
	grep -q "$(vault list --json | jq -r ".[-1].id" | cut -c1-8)" summary &&
	grep -Eqi "dedup" summary &&
	vault forget latest
'

test_expect_success 'list --json parses: ids, times, tags, hostname, totals' '
	vault list --json >list.json &&
	test "$(jq length list.json)" = 3 &&
	test "$(jq -r ".[0].id" list.json)" = "$S1" &&
	test "$(jq -r ".[1].id" list.json)" = "$S2" &&
	test "$(jq -r ".[2].id" list.json)" = "$S3" &&
	jq -r ".[0].time" list.json | grep -q "2024-03-01T10:00:00" &&
	jq -e ".[0].tags | index(\"daily\")" list.json >/dev/null &&
	jq -e ".[1].tags | index(\"weekly\")" list.json >/dev/null &&
	test "$(jq -r ".[0].hostname" list.json)" = "$(hostname)" &&
	test "$(jq -r ".[0].entries" list.json)" = 5
'

test_expect_success 'list shows short ids, times and tags' '
	vault list >list.txt &&
	grep -q "${S1:0:8}" list.txt &&
	grep -q "${S3:0:8}" list.txt &&
	grep -q "2024-03-05" list.txt &&
	grep -q weekly list.txt
'

test_expect_success 'list --tag filters' '
	vault list --json --tag weekly >w.json &&
	test "$(jq length w.json)" = 1 &&
	test "$(jq -r ".[0].id" w.json)" = "$S2" &&
	vault list --json --tag nosuchtag >n.json &&
	test "$(jq length n.json)" = 0
'

test_expect_success 'ls --json parses and has path, kind, size, mode, mtime' '
	vault ls --json latest >ls.json &&
	entries() { jq "if type == \"array\" then . else .entries end" "$@"; } &&
	entries ls.json >e.json &&
	test "$(jq length e.json)" -ge 5 &&
	jq -e ".[] | select(.path == \"data/sub/c\") | .size == $(stat -c %s data/sub/c)" e.json &&
	jq -e ".[] | select(.path == \"data/link\") | .target == \"b\"" e.json &&
	for k in path kind size mode mtime; do
		jq -e ".[0] | has(\"$k\")" e.json >/dev/null || { echo "no $k" >&2; return 1; }
	done
'

test_expect_success 'ls of a file path and of a missing path' '
	vault ls latest data/sub/c >one &&
	grep -q "data/sub/c\|c$" one &&
	test_must_fail_with 1 "nope|not found|no such" vault ls latest data/nope
'

test_expect_success 'latest is the newest snapshot' '
	vault cat latest data/sub/c >c && test_cmp data/sub/c c
'

test_expect_success 'unique prefixes work (8 and 4 characters, full id)' '
	vault cat "${S1:0:8}" data/a >a && test "$(cat a)" = one &&
	vault cat "$S2" data/b >b && test "$(cat b)" = changed &&
	other=$(printf "%s\n" "$S1" "$S3" | cut -c1-4) &&
	if [ "$(echo "$other" | sort -u | wc -l)" = 2 ] && [ "${S2:0:4}" != "${S1:0:4}" ] && [ "${S2:0:4}" != "${S3:0:4}" ]; then
		vault cat "${S2:0:4}" data/b >b4 && test "$(cat b4)" = changed
	fi
'

test_expect_success 'an unknown id or prefix is an error' '
	pfx=0000 &&
	for p in 0000 1111 2222 3333; do
		case " ${S1:0:4} ${S2:0:4} ${S3:0:4} " in *" $p "*) ;; *) pfx=$p; break ;; esac
	done &&
	test_must_fail_with 1 "$pfx|not found|no snapshot" vault ls "$pfx"
'

test_expect_success 'a malformed snapshot name is an error' '
	test_must_fail vault ls "not-an-id!"
'

test_expect_success 'diff lists added, removed and changed entries with sizes' '
	vault diff "$S1" "$S2" >diff.out &&
	cat diff.out &&
	grep -E "data/a\b" diff.out | grep -Eqi "^[-]|removed|deleted" &&
	grep -E "data/sub/d\b" diff.out | grep -Eqi "^[+]|added|new" &&
	grep -E "data/b\b" diff.out | grep -Eqi "^[M~*]|changed|modified" &&
	grep -E "data/link\b" diff.out | grep -Eqi "^[+]|added|new" &&
	! grep -E "data/sub/c\b" diff.out
'

test_expect_success 'diff shows sizes' '
	vault diff "$S2" "$S3" >diff2.out &&
	cat diff2.out &&
	grep "data/sub/c" diff2.out | grep -q "$(stat -c %s data/sub/c)"
'

test_expect_success 'diff of a snapshot with itself is empty' '
	vault diff "$S2" "$S2" >same.out &&
	! grep -q "data/" same.out
'

test_expect_success 'mount --at picks the newest snapshot at or before the time' '
	vault mount --at 2024-03-06T00:00:00Z at1 &&
	test "$(cat at1/data/b)" = changed &&
	test_path_is_missing at1/data/a &&
	test "$(wc -l <at1/data/sub/c)" = 1000 &&
	vault mount --at 2024-03-05T12:30:00Z at2 &&
	test "$(cat at2/data/b)" = changed &&
	vault mount --at 2024-03-05T12:29:59Z at3 &&
	test "$(cat at3/data/b)" = two &&
	vault mount --at 2030-01-01T00:00:00Z at4 &&
	test "$(wc -l <at4/data/sub/c)" = 5000
'

test_expect_success 'mount --at with selected paths' '
	vault mount --at 2024-03-02T00:00:00Z at5 data/sub &&
	test_path_is_file at5/data/sub/c &&
	test_path_is_missing at5/data/b
'

test_expect_success 'mount --at before the first snapshot fails' '
	test_must_fail_with 1 . vault mount --at 2024-01-01T00:00:00Z at6
'

test_expect_success 'stats --json has the repository totals' '
	vault stats --json >stats.json &&
	test "$(jq .snapshots stats.json)" = 3 &&
	test "$(jq .chunks stats.json)" -gt 0 &&
	jq -e ". | to_entries | map(select(.key | test(\"dedup\"))) | length > 0" stats.json &&
	vault stats >stats.txt &&
	grep -Eqi "chunks" stats.txt
'

test_expect_success 'forget removes a snapshot; its data is kept until prune' '
	vault forget "${S2:0:8}" &&
	vault list --json >l.json &&
	test "$(jq length l.json)" = 2 &&
	! grep -q "$S2" l.json &&
	test_must_fail vault ls "$S2" &&
	vault cat "$S1" data/a >a2 && test "$(cat a2)" = one
'

test_expect_success 'forget of an unknown snapshot fails and forgets nothing' '
	test_must_fail vault forget "$S2" &&
	test "$(vault list --json | jq length)" = 2
'

test_expect_success 'forget latest removes the newest' '
	vault forget latest &&
	test "$(vault list --json | jq -r ".[-1].id")" = "$S1"
'

test_expect_success 'check passes on a healthy repository' '
	vault check &&
	vault check --read-data &&
	vault check --read-data-subset 50%
'


# The progress line must keep moving while one large file is stored: a
# line showing part of the file read (neither 0 nor all of it) can only
# come from an update in the middle of the file.  The file is a sparse
# 2 GiB: big enough that it takes a few of the progress line's periods
# even on a fast, idle machine (300 MiB of zeros took under 0.4 s).  script(1) gives vault a
# terminal for stderr; without it the test is skipped, loudly.
if command -v script >/dev/null 2>&1; then
	test_set_prereq SCRIPT
else
	say "SKIP: script(1) not found (util-linux): progress on a TTY untested"
fi
progress_test='
	mkdir big &&
	truncate -s 2G big/zero &&
	timeout -k 10 "$VAULT_TEST_CMD_TIMEOUT" script -qec \
		"\"$VAULT\" snapshot big >/dev/null" tty.log </dev/null &&
	tr "\r" "\n" <tty.log | grep "files .*% .* / 2.00 GiB" >updates &&
	cat updates &&
	grep -Eo " [0-9.]+ (KiB|MiB|GiB) / 2.00 GiB" updates |
		grep -v " 2.00 GiB / 2.00 GiB" | sort -u >partial &&
	test "$(wc -l <partial)" -ge 2 &&
	vault snapshot big >/dev/null 2>notty.err &&
	test ! -s notty.err &&
	vault forget latest && vault forget latest
'
if test_have_prereq SCRIPT; then
	test_expect_success 'snapshot progress moves during a large file (TTY)' "$progress_test"
else
	test_skip 'snapshot progress moves during a large file (TTY)' \
		'script(1) not found'
fi

test_done

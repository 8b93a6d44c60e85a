#!/bin/bash
# Progress, -q and -v (vault.1, PROGRESS AND VERBOSITY).
#
# A terminal comes from util-linux's script(1): vault runs on a pty whose
# output is captured, then tests/cli/progress-read.py reads the capture:
# how many times the line was drawn, what it said, how wide it was, and
# whether it was erased before anything else was written and at the end.
# A known duration comes from `vault cat` into a reader that takes 256
# KiB every 0.2 s (about 3.2 s for 4 MiB): vault blocks on the pipe, so
# the line has time to move and the count of draws can be checked
# against the time taken.
. "$(dirname "$0")/../test-lib.sh"

READ=$VAULT_SRCDIR/tests/cli/progress-read.py
if command -v script >/dev/null 2>&1 && script --version 2>&1 | grep -q util-linux; then
	test_set_prereq SCRIPT
elif [ "${CI:-}" = true ]; then
	test_expect_success 'util-linux script(1) is there under CI' 'false'
fi

new_repo --encryption repokey

cat >slowread <<'EOF'
#!/bin/sh
# standard input at 256 KiB per 0.2 s, then the rest at once
for i in $(seq 16); do
	dd bs=64k count=4 iflag=fullblock of=/dev/null 2>/dev/null
	sleep 0.2
done
cat >/dev/null
EOF
chmod +x slowread

# on_tty COLS OUT CMD: runs the shell command CMD on a terminal COLS
# wide; everything it writes to the terminal goes to OUT.  The exit
# status is CMD's.
on_tty() {
	local cols=$1 out=$2
	shift 2
	timeout -k 10 120 script -qefc "stty cols $cols; $*" /dev/null \
		</dev/null >"$out" 2>&1
}
now() { date +%s.%N; }

test_expect_success 'a snapshot to read back' '
	mkdir data &&
	head -c 4194304 /dev/urandom >data/big.bin &&
	mkdir -p data/a-long-directory-name-for-the-line &&
	cp data/big.bin data/a-long-directory-name-for-the-line/and-a-long-file-name.bin &&
	printf "x" >"data/evil$(printf "\033")[2Jname" &&
	echo small >data/small.txt &&
	vault snapshot data >/dev/null
'

test_expect_success 'without a terminal nothing is drawn' '
	vault cat latest data/big.bin 2>err | ./slowread &&
	test ! -s err &&
	vault snapshot data >out 2>err &&
	test ! -s err && grep -q "^snapshot .* saved" out
'

test_expect_success SCRIPT 'on a terminal: percent, sizes, rate, ETA and the item' '
	t0=$(now) &&
	on_tty 120 tty.out "\"$VAULT\" cat latest data/big.bin | ./slowread" &&
	t1=$(now) &&
	python3 "$READ" tty.out >draws.json &&
	cat draws.json &&
	json_get ".draws >= 4 and .clean" draws.json &&
	json_get "[.lines[] | select(test(\"^\\\\[0:0[0-9]\\\\] cat [0-9.]+% [0-9.]+ [KM]?i?B / 4.00 MiB\"))] | length > 0" draws.json &&
	json_get "[.lines[] | select(test(\", ETA 0:0[0-9]  data/big.bin$\"))] | length > 0" draws.json &&
	json_get "[.lines[] | select(test(\"[0-9.]+ [KM]iB/s\"))] | length > 0" draws.json &&
	echo "$t0 $t1" >times
'

test_expect_success SCRIPT 'at most 4 draws a second' '
	read t0 t1 <times &&
	draws=$(jq .draws draws.json) &&
	max=$(python3 -c "import math,sys; print(4 * math.ceil($t1 - $t0) + 2)") &&
	echo "$draws draws in $(python3 -c "print($t1 - $t0)") s (at most $max)" &&
	test_le "$draws" "$max" draws
'

test_expect_success SCRIPT 'the line fits the terminal: the item is cut from the left' '
	on_tty 50 narrow.out "\"$VAULT\" cat latest data/big.bin | ./slowread" &&
	python3 "$READ" narrow.out >narrow.json &&
	json_get ".draws >= 4 and .clean and .width <= 49" narrow.json &&
	on_tty 80 long.out "\"$VAULT\" cat latest data/a-long-directory-name-for-the-line/and-a-long-file-name.bin | ./slowread" &&
	python3 "$READ" long.out >long.json &&
	json_get ".width <= 79" long.json &&
	json_get "[.lines[] | select(test(\"ETA 0:0[0-9]  \\\\.\\\\.\\\\.[a-z-]*file-name\\\\.bin$\"))] | length > 0" long.json
'

test_expect_success SCRIPT 'names are quoted on the line' '
	on_tty 200 evil.out "\"$VAULT\" cat latest \"data/evil$(printf "\033")[2Jname\" | ./slowread" &&
	python3 "$READ" evil.out >evil.json &&
	! grep -q "$(printf "\033")\[2J" evil.out &&
	json_get ".clean" evil.json
'

test_expect_success SCRIPT 'a cat to the terminal draws nothing over the data' '
	on_tty 120 data.out "\"$VAULT\" cat latest data/small.txt" &&
	python3 "$READ" data.out >data.json &&
	json_get ".draws == 0" data.json &&
	grep -q small data.out
'

test_expect_success SCRIPT 'a snapshot on a terminal: erased before the summary' '
	head -c 1048576 /dev/urandom >>data/big.bin &&
	on_tty 120 snap.out "\"$VAULT\" snapshot data" &&
	python3 "$READ" snap.out >snap.json &&
	json_get ".clean" snap.json &&
	grep -q "snapshot .* saved" snap.out
'

test_expect_success SCRIPT '-q: nothing drawn on a terminal' '
	on_tty 120 quiet.out "\"$VAULT\" -q cat latest data/big.bin | ./slowread" &&
	python3 "$READ" quiet.out >quiet.json &&
	json_get ".draws == 0" quiet.json
'

test_expect_success '--json: status lines on stderr from the start, a summary last' '
	size=$(stat -c %s data/big.bin) &&
	t0=$(now) &&
	vault cat --json latest data/big.bin 2>stream.jsonl | ./slowread &&
	t1=$(now) &&
	cat stream.jsonl &&
	jq -e . stream.jsonl >/dev/null &&
	test "$(jq -rs ".[-1].message_type" stream.jsonl)" = summary &&
	test "$(jq -rs ".[-1].exit_code" stream.jsonl)" = 0 &&
	jq -es ".[-1].phases == [.[-1].phases[0]] and .[-1].phases[0].phase == \"cat\"
		and .[-1].phases[0].bytes_done == $size" stream.jsonl &&
	jq -es "[.[] | select(.message_type == \"status\" and .phase == \"cat\"
		and .verb == \"cat\" and .unit == \"files\"
		and .total_bytes == $size and .current == \"data/big.bin\"
		and .percent_done >= 0 and .percent_done <= 1)] | length >= 3" stream.jsonl &&
	jq -es "[.[] | select(.seconds_remaining != null)] | length >= 1" stream.jsonl &&
	# the first line comes as the data starts, not a second later
	jq -es "[.[] | select(.message_type == \"status\")][0]
		| .seconds_elapsed < 0.9 and .bytes_done < $size" stream.jsonl &&
	# bytes, percent and time only move forward; the last line is the end
	jq -es "[.[] | select(.message_type == \"status\")] as \$s
		| [range(1; \$s | length) | \$s[.] as \$b | \$s[. - 1] as \$a
		   | \$b.bytes_done >= \$a.bytes_done
		     and \$b.percent_done >= \$a.percent_done
		     and \$b.seconds_elapsed >= \$a.seconds_elapsed] | all
		  and (\$s[-1] | .finished and .bytes_done == $size and .percent_done == 1)
		  and ([\$s[] | select(.finished)] | length == 1)" stream.jsonl &&
	n=$(jq -s "[.[] | select(.message_type == \"status\")] | length" stream.jsonl) &&
	max=$(python3 -c "import math; print(math.ceil($t1 - $t0) + 2)") &&
	test_le "$n" "$max" "status lines"
'

test_expect_success '--json: the document on stdout stays whole' '
	total=$(find data -type f -printf "%s\n" | awk "{ s += \$1 } END { print s }") &&
	vault snapshot --json data >doc.json 2>stream.jsonl &&
	jq -e ".id | length == 64" doc.json &&
	jq -e . stream.jsonl >/dev/null &&
	test "$(jq -rs ".[-1].message_type" stream.jsonl)" = summary &&
	jq -es ".[-1].phases[0].phase == \"files\"" stream.jsonl &&
	jq -es "[.[] | select(.phase == \"files\" and .finished)][0]
		| .items_done == .total_items and .bytes_done == .total_bytes
		  and .total_bytes == $total and .total_items >= 5" stream.jsonl &&
	vault check --json >check.json 2>stream.jsonl &&
	jq -e ".ok" check.json &&
	jq -es "[.[] | select(.phase == \"check\" and .finished)][0]
		| .items_done == .total_items and .total_items == $(jq .packs_checked check.json)" stream.jsonl
'

test_expect_success '--json: errors and warnings are JSON lines too' '
	test_exit_code 1 vault cat --json latest no/such/file 2>err.jsonl &&
	cat err.jsonl &&
	jq -e . err.jsonl >/dev/null &&
	jq -es "[.[] | select(.message_type == \"error\" and .verb == \"cat\"
		and (.message | test(\"no path\")))] | length == 1" err.jsonl &&
	test "$(jq -rs ".[-1].exit_code" err.jsonl)" = 1
'

test_expect_success '-q --json: the document and the problems, nothing else' '
	vault -q snapshot --json data >doc.json 2>stream.jsonl &&
	jq -e ".id | length == 64" doc.json &&
	test ! -s stream.jsonl &&
	vault -q cat --json latest data/small.txt >out 2>stream.jsonl &&
	test ! -s stream.jsonl && grep -q small out &&
	mkdir fifos && echo x >fifos/f && mkfifo fifos/fifo &&
	vault -q snapshot --json fifos >doc.json 2>stream.jsonl &&
	cat stream.jsonl &&
	jq -es "length == 1 and .[0].message_type == \"warning\"
		and (.[0].message | test(\"skipping fifo\"))" stream.jsonl &&
	vault -q forget "$(jq -r .id doc.json)" >out 2>&1 && test ! -s out
'

test_expect_success '-q and -v exclude each other' '
	test_must_fail_with 2 "exclude each other" vault -q snapshot -v data &&
	test_must_fail_with 2 "exclude each other" vault -v -q list
'

test_expect_success '-q: no report, what was asked for is printed' '
	vault -q snapshot data >out 2>err &&
	test ! -s out && test ! -s err &&
	vault snapshot --quiet --json data >out &&
	jq -e .id out &&
	vault -q list >out && test "$(wc -l <out)" -ge 3 &&
	vault -q check >out && test ! -s out &&
	rm -rf m && vault -q mount latest m >out && test ! -s out &&
	test -f m/data/small.txt &&
	vault -q prune --keep-last 3 --dry-run >out && grep -q "would be" out &&
	vault -q prune --keep-last 3 >out && test ! -s out &&
	vault -q --repo "$TRASH/other" init >out 2>&1 && test ! -s out
'

test_expect_success '-q keeps warnings' '
	mkdir special && echo x >special/f && mkfifo special/fifo &&
	vault -q snapshot special >out 2>err &&
	test ! -s out && grep -q "warning: skipping fifo" err
'

test_expect_success '-v: each file stored with new data; -vv also the rest' '
	mkdir v && echo one >v/a && echo two >v/b &&
	vault -v snapshot v >out 2>err &&
	grep -q "^stored  *v/a (" err && grep -q "^stored  *v/b (" err &&
	grep -q "saved" out &&
	echo three >v/c &&
	vault -v snapshot v >out 2>err &&
	grep -q "^stored  *v/c (" err && ! grep -q "v/a" err &&
	vault -vv snapshot v >out 2>err &&
	grep -q "^deduped  *v/a (" err && grep -q "^deduped  *v/c (" err
'

test_expect_success '-v: mount lists each file, -vv directories too' '
	rm -rf m && vault -v mount latest m >out 2>err &&
	grep -q "^extracted  *v/a (" err && ! grep -q "^dir " err &&
	rm -rf m && vault --verbose --verbose mount latest m >out 2>err &&
	grep -q "^dir  *v$" err
'

test_expect_success '-v: check lists each pack, prune each pack it deletes' '
	vault -v check --json >check.json 2>err.jsonl &&
	n=$(jq .packs_checked check.json) && test "$n" -ge 1 &&
	jq -es "[.[] | select(.message_type == \"verbose_status\"
		and .action == \"checked\")] | length == $n" err.jsonl &&
	vault -v check >out 2>err &&
	test "$(grep -c "^checked " err)" = "$n" &&
	mkdir gone && head -c 1048576 /dev/urandom >gone/f &&
	vault snapshot gone >/dev/null &&
	head -c 1048576 /dev/urandom >gone/f &&
	vault snapshot gone >/dev/null &&
	vault prune --keep-last 1 --dry-run -v >out 2>err &&
	grep -q "^would " err &&
	vault prune --keep-last 1 -v >out 2>err &&
	grep -Eq "^(deleted|repacked) +[0-9a-f]{64} \(" err &&
	test "$(grep -Ec "^(deleted|repacked) " err)" -ge 1
'

test_expect_success '-v lines are JSON with --json' '
	echo four >v/d &&
	vault -v snapshot --json v 2>stream.jsonl >/dev/null &&
	jq -es "[.[] | select(.message_type == \"verbose_status\" and .action == \"stored\" and .item == \"v/d\")] | length == 1" stream.jsonl
'

test_expect_success '--json: mount and prune report their phases' '
	rm -rf m3 && vault mount --json latest m3 >doc.json 2>stream.jsonl &&
	jq -es "[.[] | select(.phase == \"mount\" and .finished)] | length == 1" stream.jsonl &&
	jq -es --slurpfile d doc.json "[.[] | select(.phase == \"mount\" and .finished)][0]
		| .unit == \"entries\" and .items_done == .total_items
		  and .total_items == (\$d[0] | .files + .dirs + .symlinks)
		  and .bytes_done == \$d[0].bytes and .percent_done == 1" stream.jsonl &&
	head -c 1048576 /dev/urandom >gone/f && vault snapshot gone >/dev/null &&
	vault prune --keep-last 1 --json >doc.json 2>stream.jsonl &&
	cat stream.jsonl &&
	jq -es "[.[-1].phases[].phase] | index(\"plan\") == 0 and index(\"delete\") > 0" stream.jsonl &&
	jq -es --slurpfile d doc.json "[.[] | select(.phase == \"delete\" and .finished)][0]
		| .items_done == .total_items
		  and .total_items == (\$d[0] | .packs_deleted + .packs_repacked)
		  and .bytes_done == .total_bytes" stream.jsonl
'

test_expect_success 'every verb takes -q and -v' '
	vault --help | sed -n "/^Verbs:/,/^\$/p" | awk "NR > 1 && NF { print \$1 }" >verbs &&
	test "$(wc -l <verbs)" -ge 15 &&
	while read -r v; do
		vault -q "$v" --help >/dev/null &&
		vault "$v" -v --help >/dev/null &&
		vault "$v" --quiet --help >/dev/null &&
		vault --verbose "$v" --help >/dev/null || { echo "$v"; return 1; }
	done <verbs
'

test_done

#!/bin/bash
# Round trip: what `vault snapshot` stores, `vault mount` gives back byte
# for byte, with modes, mtimes and symlink targets, for a tree with empty
# files, symlinks, unicode names, odd modes and a file over 100 MiB made
# on the fly.  Also `vault cat`, `vault ls` and standard input.
. "$(dirname "$0")/../test-lib.sh"

test_expect_success 'setup: a tree with every kind of entry' '
	new_repo &&
	mkdir -p src/data/sub/deeper src/data/empty-dir "src/data/ünïcödé ☃" &&
	: >src/data/empty &&
	: >src/data/sub/also-empty &&
	printf "hello\n" >src/data/hello.txt &&
	printf "no newline at the end" >src/data/sub/deeper/nonl &&
	printf "%s\n" "日本語のファイル" >"src/data/ünïcödé ☃/名前.txt" &&
	printf "spaces\n" >"src/data/with  spaces and '\''quotes'\''" &&
	printf "x" >"src/data/-leading-dash" &&
	seq 1 100000 >src/data/sub/numbers &&
	printf "secret\n" >src/data/private && chmod 0600 src/data/private &&
	printf "#!/bin/sh\necho hi\n" >src/data/script && chmod 0755 src/data/script &&
	printf "read only\n" >src/data/readonly && chmod 0444 src/data/readonly &&
	printf "odd\n" >src/data/odd && chmod 0640 src/data/odd &&
	chmod 0700 src/data/sub/deeper &&
	chmod 0750 "src/data/ünïcödé ☃" &&
	ln -s hello.txt src/data/link-rel &&
	ln -s /etc/hostname src/data/link-abs &&
	ln -s does/not/exist src/data/link-dangling &&
	ln -s ../hello.txt src/data/sub/link-up &&
	ln -s "ünïcödé ☃/名前.txt" src/data/link-unicode &&
	ln -s sub src/data/link-dir &&
	# the big file: random blocks mixed with zeros, over 100 MiB
	{
		for i in 1 2 3 4 5 6 7; do
			head -c $((9 * 1024 * 1024 + i * 4099)) /dev/urandom &&
			head -c $((6 * 1024 * 1024)) /dev/zero || return 1
		done
	} >src/data/big.bin &&
	test "$(stat -c %s src/data/big.bin)" -gt $((100 * 1024 * 1024)) &&
	# distinct, non-current mtimes everywhere (directories last)
	n=0 &&
	find src/data -depth -print0 | while IFS= read -r -d "" p; do
		n=$((n + 1)) &&
		touch -h -d "@$((1600000000 + n * 86413)).$((n * 7919 % 1000000000))" "$p" || return 1
	done &&
	tree_state src >expect &&
	test "$(grep -c . expect)" -gt 20
'

test_expect_success 'snapshot the tree' '
	vault snapshot src/data >snap.out &&
	vault list >list.out &&
	test "$(vault list --json | json_get "length")" = 1
'

test_expect_success 'the path is stored under its base name' '
	vault ls latest >ls.out &&
	grep -q "data" ls.out &&
	! grep -q "src/data" ls.out
'

test_expect_success 'mount gives back the same tree (content, modes, mtimes, links)' '
	vault mount latest out &&
	test_path_is_dir out/data &&
	tree_state out >actual &&
	test_cmp expect actual
'

test_expect_success 'the big file is byte-identical' '
	cmp src/data/big.bin out/data/big.bin
'

test_expect_success 'diff -r finds no difference' '
	diff -r --no-dereference src/data out/data
'

test_expect_success 'mount of selected paths writes only those' '
	vault mount latest part data/sub "data/ünïcödé ☃" &&
	test_path_is_file part/data/sub/numbers &&
	test_path_is_file "part/data/ünïcödé ☃/名前.txt" &&
	test_path_is_missing part/data/big.bin &&
	test_path_is_missing part/data/hello.txt &&
	cmp src/data/sub/numbers part/data/sub/numbers &&
	test "$(stat -c %a "part/data/sub/deeper")" = 700
'

test_expect_success 'cat streams one file' '
	vault cat latest data/hello.txt >cat.out &&
	test_cmp src/data/hello.txt cat.out &&
	vault cat latest "data/ünïcödé ☃/名前.txt" >cat2.out &&
	test_cmp "src/data/ünïcödé ☃/名前.txt" cat2.out &&
	vault cat latest data/empty >cat3.out &&
	test ! -s cat3.out
'

test_expect_success 'cat streams the big file byte-identical' '
	vault cat latest data/big.bin | cmp - src/data/big.bin
'

test_expect_success 'cat of a missing path fails with exit 1' '
	test_must_fail_with 1 "no-such|not found|no such" vault cat latest data/no-such
'

test_expect_success 'cat of a directory fails' '
	test_must_fail vault cat latest data/sub
'

test_expect_success 'ls lists the entries under a path' '
	vault ls latest data >ls.out &&
	for name in hello.txt empty big.bin sub/numbers link-rel "ünïcödé ☃" private; do
		grep -qF "data/$name" ls.out || { echo "missing $name" >&2; return 1; }
	done &&
	vault ls latest data/sub >ls-sub.out &&
	grep -qF data/sub/numbers ls-sub.out &&
	! grep -qF data/hello.txt ls-sub.out
'

test_expect_success 'ls shows symlink targets and sizes' '
	vault ls latest data >ls.out &&
	grep -F link-rel ls.out | grep -qF hello.txt &&
	grep -F big.bin ls.out | grep -qF "$(stat -c %s src/data/big.bin)"
'

test_expect_success 'ls --json has one record per entry with kinds and sizes' '
	vault ls --json latest data/sub >ls.json &&
	jq -e . ls.json >/dev/null &&
	jq -r "(if type == \"array\" then . else .entries end)[] | .path" ls.json | sort >paths &&
	grep -qx "data/sub/numbers" paths &&
	grep -qx "data/sub/deeper/nonl" paths &&
	size=$(jq -r "(if type == \"array\" then . else .entries end)[] | select(.path == \"data/sub/numbers\") | .size" ls.json) &&
	test "$size" = "$(stat -c %s src/data/sub/numbers)"
'

test_expect_success 'standard input is stored under --stdin-name' '
	seq 1 50000 >stdin.data &&
	vault snapshot --stdin-name dump.sql - <stdin.data &&
	vault ls latest >ls.out &&
	grep -q "dump.sql" ls.out &&
	vault cat latest dump.sql >stdin.out &&
	cmp stdin.data stdin.out
'

test_expect_success 'a binary stream from a pipe round-trips' '
	head -c 3000000 /dev/urandom >rnd &&
	cat rnd | vault snapshot --stdin-name rnd.bin - &&
	vault cat latest rnd.bin | cmp - rnd
'

test_expect_success 'several paths in one snapshot each keep their base name' '
	mkdir -p two/a two/b && echo A >two/a/f && echo B >two/b/g &&
	vault snapshot two/a two/b &&
	vault cat latest a/f >fa && test "$(cat fa)" = A &&
	vault cat latest b/g >fb && test "$(cat fb)" = B
'

test_expect_success 'a single file path is stored as a file at the top' '
	vault snapshot src/data/hello.txt &&
	vault cat latest hello.txt >h &&
	test_cmp src/data/hello.txt h
'

test_expect_success 'the first snapshot still mounts identically after more snapshots' '
	first=$(vault list --json | json_get ".[0].id") &&
	vault mount "$first" out2 &&
	tree_state out2 >actual2 &&
	test_cmp expect actual2
'

test_done

#!/bin/bash
# vault mount into a directory that already holds files: files of the
# snapshot that are already there are refused, all of them named up
# front and nothing written, unless --overwrite is given; files that are
# not in the way stay, and existing directories are merged into.
. "$(dirname "$0")/../test-lib.sh"

test_expect_success 'setup: a snapshot of a small tree' '
	new_repo --encryption none &&
	mkdir -p src/d && echo one >src/a && echo two >src/d/b &&
	ln -s a src/l &&
	vault snapshot src >/dev/null
'

test_expect_success 'into an empty or new directory: as before' '
	vault mount latest new >/dev/null &&
	test_cmp src/a new/src/a && test_cmp src/d/b new/src/d/b
'

test_expect_success 'a directory holding other files: they stay, the snapshot joins them' '
	mkdir -p other/src/d && echo mine >other/mine && echo mine >other/src/d/own &&
	vault mount latest other >/dev/null &&
	test "$(cat other/mine)" = mine && test "$(cat other/src/d/own)" = mine &&
	test_cmp src/d/b other/src/d/b
'

test_expect_success 'files in the way: refused, named, nothing written' '
	mkdir -p busy/src/d && echo precious >busy/src/a && echo keep >busy/src/l &&
	test_must_fail_with 1 "busy already holds 2 of the entries to extract \\(src/a, src/l\\): nothing was written; --overwrite replaces them" \
		vault mount latest busy &&
	test "$(cat busy/src/a)" = precious && test "$(cat busy/src/l)" = keep &&
	test_path_is_missing busy/src/d/b
'

test_expect_success 'a selection only counts what it extracts' '
	vault mount latest busy src/d >/dev/null &&
	test_cmp src/d/b busy/src/d/b &&
	test "$(cat busy/src/a)" = precious
'

test_expect_success '--overwrite replaces them' '
	vault mount --overwrite latest busy >/dev/null &&
	test_cmp src/a busy/src/a &&
	test "$(readlink busy/src/l)" = a
'

test_expect_success 'a file where the snapshot has a directory is in the way too' '
	mkdir -p clash/src && echo file >clash/src/d &&
	test_must_fail_with 1 "clash already holds 2 of the entries to extract \\(src/d, src/d/b\\)" vault mount latest clash &&
	test "$(cat clash/src/d)" = file
'

test_done

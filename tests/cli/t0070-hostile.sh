#!/bin/bash
# Entry names are untrusted: a manifest crafted with "..", absolute paths,
# empty segments and a symlink followed by a path through it (written by
# tests/unit/mkhostile with the engine's writer API, since vault itself
# never stores such names) must not make `vault mount` write anything
# outside the mount directory.  The names land inside, percent-encoded.
. "$(dirname "$0")/../test-lib.sh"

MKHOSTILE=$VAULT_BUILDDIR/tests/unit/mkhostile
[ -x "$MKHOSTILE" ] || skip_all "$MKHOSTILE not built (make check builds it)"

# Everything under $TRASH except the mount directories and the files the
# harness and these tests write (kept in .st/), to compare.
mkdir -p "$TRASH/.st"
outside_state() {
	(cd "$TRASH" && find . \( -path "./box/mnt*" -o -path ./.st \
		-o -name ".test-log" -o -name ".stdout" -o -name ".stderr" \) -prune \
		-o -print | sort)
}

test_expect_success 'setup: a repository with a hostile snapshot' '
	new_repo --encryption none &&
	mkdir -p outside box &&
	"$MKHOSTILE" "$VAULT_REPO" "$TRASH/outside" "$TRASH/abs" >id &&
	grep -Eqx "[0-9a-f]{64}" id &&
	test "$(vault list --json | jq length)" = 1
'

test_expect_success 'ls lists the hostile entries without failing' '
	vault ls latest >ls.out &&
	test "$(grep -c . ls.out)" -ge 5
'

test_expect_success 'mount writes nothing outside the mount directory' '
	test_path_is_missing /abs &&
	outside_state >.st/before &&
	vault mount latest box/mnt >.st/mount.out 2>&1
	rc=$?
	cat .st/mount.out
	outside_state >.st/after &&
	test_cmp .st/before .st/after &&
	test -z "$(ls -A outside)" &&
	test_path_is_missing /abs &&
	test_path_is_missing abs &&
	test_path_is_missing box/escape &&
	test_path_is_missing escape &&
	test_path_is_missing x &&
	test_path_is_missing box/x &&
	test -z "$(find "$TRASH" -name pwned -not -path "$TRASH/box/mnt/*")" &&
	echo "mount exit status: $rc" &&
	test "$rc" -lt 124
'

test_expect_success 'the hostile names exist inside, percent-encoded' '
	test_path_is_dir box/mnt &&
	find box/mnt -print >.st/inside &&
	cat .st/inside &&
	grep -q "%2E%2E" .st/inside &&
	for content in "escaped via \.\." "escaped via an absolute path" \
		"escaped via an absolute path argument" "escaped via a/\.\./\.\." \
		"a file named ok/\.\." "a file named a//b"; do
		found=$(grep -rlx -- "$content" box/mnt | wc -l) &&
		test "$found" = 1 || { echo "\"$content\": in $found files" >&2; return 1; }
	done
'

test_expect_success 'the symlink is restored as a link, and nothing went through it' '
	test -L box/mnt/lnk &&
	test "$(readlink box/mnt/lnk)" = "$TRASH/outside" &&
	test -z "$(ls -A outside)" &&
	! grep -rqx "written through a symlink" outside
'

test_expect_success 'the ordinary entry is where it belongs' '
	test "$(cat box/mnt/ok/fine.txt)" = fine
'

test_expect_success 'mounting again into a fresh directory behaves the same' '
	outside_state >.st/before2 &&
	vault mount latest box/mnt2 >/dev/null 2>&1
	outside_state >.st/after2 &&
	test_cmp .st/before2 .st/after2 &&
	test -z "$(ls -A outside)" &&
	diff -r --no-dereference box/mnt box/mnt2
'

test_expect_success 'mounting selected hostile paths stays inside too' '
	outside_state >.st/before3 &&
	vault mount latest box/mnt3 ../escape lnk/pwned a >/dev/null 2>&1
	outside_state >.st/after3 &&
	test_cmp .st/before3 .st/after3 &&
	test -z "$(ls -A outside)" &&
	test_path_is_missing box/escape &&
	grep -rqx "escaped via \.\." box/mnt3 &&
	grep -rqx "a file named a//b" box/mnt3
'

test_expect_success 'mount reports the entry it could not write' '
	grep -q "lnk/pwned" .st/mount.out
'

test_expect_success 'clean up anything that did escape' '
	rm -f /abs &&
	true
'

test_done

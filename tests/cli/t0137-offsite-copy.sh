#!/bin/bash
# Keeping an offsite copy (README.md): a plain copy of the repository's
# files, in the README's order: config and keys/; the packs that are new
# (by name, never overwriting, never deleting), the bulk, at any time;
# then with writers kept out (flock -s REPO/lock) the packs new since,
# index.db, and deleting from the copy the packs prune deleted.  The
# copy is a usable repository after every step, even with a prune in
# between; it restores what the original holds; it is read where it
# lies (read-only too); without index.db (or tmp/) it is rebuilt from
# its packs.  cp stands in for rsync, which works the same way.
. "$(dirname "$0")/../test-lib.sh"

command -v flock >/dev/null 2>&1 || skip_all "flock not found (util-linux)"

C=$TEST_TMP/copy
copy_keys() {
	mkdir -p "$C" && cp -a "$VAULT_REPO/config" "$VAULT_REPO/keys" "$C/"
}
# the new packs, by name, never overwriting one the copy has
copy_packs() {
	mkdir -p "$C/packs" && cp -a -n "$VAULT_REPO/packs/." "$C/packs/"
}
# the packs the original no longer has
delete_packs() {
	(cd "$C/packs" && find . -name "*.pack") | while read -r p; do
		[ -e "$VAULT_REPO/packs/$p" ] || rm "$C/packs/$p" || return 1
	done
}
# with writers kept out: new packs, the index, the dead packs
copy_locked() {
	(
		exec 9<"$VAULT_REPO/lock" && flock -s 9 &&
		copy_packs && cp "$VAULT_REPO/index.db" "$C/index.db" &&
		delete_packs
	)
}
ids() {
	vault "$@" list --json | jq -r ".[].id" | sort
}

test_expect_success 'setup: a repository with two snapshots, copied in order' '
	new_repo --encryption repokey &&
	mkdir data && head -c 2000000 /dev/urandom >data/a &&
	vault snapshot data >/dev/null &&
	head -c 2000000 /dev/urandom >data/b &&
	vault snapshot data >/dev/null &&
	copy_keys && copy_packs && copy_locked &&
	test_eq "$(ids)" "$(ids --repo "$C")" "snapshots of the copy" &&
	vault --repo "$C" check --read-data >out
'

test_expect_success 'new packs and the old index: the copy is usable, it lacks only the new snapshot' '
	head -c 2000000 /dev/urandom >data/c &&
	vault snapshot data >/dev/null &&
	old=$(ids --repo "$C") &&
	copy_packs &&
	test_eq "$old" "$(ids --repo "$C")" "snapshots of the copy" &&
	vault --repo "$C" check >out &&
	copy_locked &&
	test_eq "$(ids)" "$(ids --repo "$C")" "snapshots of the copy"
'

test_expect_success 'a prune between the steps: the copy stays usable, then loses the dead packs' '
	vault forget "$(vault list --json | jq -r ".[0].id")" >/dev/null &&
	vault prune >/dev/null &&
	vault --repo "$C" check --read-data >out &&
	copy_packs &&
	vault --repo "$C" check --read-data >out &&
	head -c 1000000 /dev/urandom >data/e &&
	vault snapshot data >/dev/null &&
	vault prune --keep-last 2 >/dev/null &&
	vault --repo "$C" check --read-data >out &&
	copy_locked &&
	vault --repo "$C" check --read-data >out &&
	test_eq "$(ids)" "$(ids --repo "$C")" "snapshots of the copy" &&
	test_eq "$(cd "$VAULT_REPO/packs" && find . -name "*.pack" | sort)" \
		"$(cd "$C/packs" && find . -name "*.pack" | sort)" "packs"
'

test_expect_success 'the copy restores what the original holds' '
	vault mount latest orig >/dev/null &&
	vault --repo "$C" mount latest copied >/dev/null &&
	diff -r orig copied
'

test_expect_success 'while the index is copied, writers wait (or fail with 11), readers read' '
	(
		exec 9<"$VAULT_REPO/lock" && flock -s 9 &&
		test_must_fail_with 11 "in use|locked" vault snapshot data &&
		vault list >/dev/null
	) &&
	vault snapshot data >/dev/null
'

test_expect_success 'without index.db the copy is rebuilt from its packs (it has no tmp/ either)' '
	copy_packs && copy_locked &&
	cp -a "$C" nodb && rm nodb/index.db &&
	test_path_is_missing nodb/tmp &&
	test_must_fail_with 1 "rebuild-index" vault --repo "$TEST_TMP/nodb" list &&
	vault --repo "$TEST_TMP/nodb" check --rebuild-index >out &&
	test_eq "$(ids)" "$(ids --repo "$TEST_TMP/nodb")" "snapshots of the rebuilt copy" &&
	vault --repo "$TEST_TMP/nodb" check --read-data >out
'

test_expect_success 'a copy without tmp/ can be written to: the writer makes it again' '
	cp -a "$C" writable && test_path_is_missing writable/tmp &&
	echo more >data/d &&
	vault --repo "$TEST_TMP/writable" snapshot data >/dev/null &&
	test_path_is_dir writable/tmp &&
	test_eq 700 "$(stat -c %a writable/tmp)" "mode of tmp/" &&
	vault --repo "$TEST_TMP/writable" check --read-data >out
'

# a read-only bind mount of the copy, in a mount namespace of its own
if [ "$(id -u)" = 0 ] && unshare -m --propagation private true 2>/dev/null; then
	test_set_prereq MOUNTNS
fi
test_expect_success MOUNTNS 'the copy is read where it lies, read-only, and not changed' '
	repo_fingerprint "$C" >before &&
	unshare -m --propagation private sh -c "
		mount --bind \"\$1\" \"\$1\" && mount -o remount,bind,ro \"\$1\" &&
		\"\$2\" --repo \"\$1\" list --json >\"\$3/ro.json\" &&
		\"\$2\" --repo \"\$1\" check >/dev/null &&
		\"\$2\" --repo \"\$1\" cat latest data/c >\"\$3/ro-c\"
	" sh "$C" "$VAULT" "$TEST_TMP" &&
	test_eq "$(ids)" "$(jq -r ".[].id" ro.json | sort)" "snapshots read" &&
	cmp data/c ro-c &&
	repo_fingerprint "$C" >after &&
	test_cmp before after
'

test_done

#!/bin/bash
# Partial snapshots, said out loud: a file or directory that cannot be
# read (permission denied, deleted after its directory was listed, a
# read error) is skipped with a warning naming it, and the snapshot is
# committed as partial (tagged, in its metadata, `vault list --json`)
# with exit status 3; every other file mounts byte-identical.  A file
# rewritten while it is read is read again; one that keeps changing is
# stored as last read, with a warning, and the snapshot stays complete.
# A PATH missing at the start and a read error on standard input still
# commit nothing.
#
# The faults come from tests/unit/srcfault.so (LD_PRELOAD), since chmod
# stops nothing for root and a file deleted or rewritten "while the
# snapshot runs" must not depend on timing; the last test checks real
# permissions as an unprivileged user.  The snapshots whose faults strike
# files an earlier snapshot stored read them with --no-files-cache: the
# files cache would (rightly) not read them at all.
. "$(dirname "$0")/../test-lib.sh"

need_srcfault

P=$TEST_TMP/src/data

test_expect_success 'setup: a tree with files to lose' '
	new_repo --encryption none &&
	mkdir -p src/data/sub src/data/closed &&
	printf "keep\n" >src/data/keep.txt &&
	seq 1 50000 >src/data/sub/numbers &&
	head -c $((3 * 1024 * 1024)) /dev/urandom >src/data/big.bin &&
	printf "locked\n" >src/data/locked &&
	printf "inner\n" >src/data/closed/inner &&
	printf "gone\n" >src/data/gone &&
	printf "bad\n" >src/data/bad &&
	seq 1 1000 >src/data/once &&
	seq 1 1000 >src/data/busy &&
	find src/data -depth -exec touch -h -d "2024-01-02 03:04:05" {} + &&
	cp -a src/data whole
'

test_expect_success 'unreadable, vanished and unlistable paths are skipped: exit 3, partial' '
	test_must_fail_with 3 "warning: skipped .*/src/data/locked: cannot open: Permission denied" \
		vault_faults "eacces:$P/locked;eacces:$P/closed;vanish:$P/gone;eio:$P/bad" \
		snapshot --json src/data &&
	mv "$TEST_TMP/.stdout" snap.json && mv "$TEST_TMP/.stderr" snap.err &&
	grep -q "warning: skipped .*/src/data/closed: cannot open directory: Permission denied" snap.err &&
	grep -q "warning: skipped .*/src/data/gone: cannot open: No such file or directory" snap.err &&
	grep -q "warning: skipped .*/src/data/bad: cannot read: Input/output error" snap.err &&
	test_eq 4 "$(grep -c "warning: skipped" snap.err)" "warnings" &&
	! grep -q "kept changing" snap.err &&
	test_eq true "$(jq .partial snap.json)" &&
	test_eq 4 "$(jq .skipped snap.json)" &&
	test_eq "$P/bad $P/closed $P/gone $P/locked" \
		"$(jq -r ".skipped_paths | join(\" \")" snap.json)" &&
	jq -e ".tags | index(\"partial\")" snap.json
'

test_expect_success 'vault list shows it partial' '
	vault list >list.out &&
	grep -E "^$(jq -r .short_id snap.json) .*partial$" list.out &&
	vault list --json >list.json &&
	test_eq true "$(jq ".[-1].partial" list.json)" &&
	test_eq 4 "$(jq ".[-1].skipped" list.json)" &&
	test_eq partial "$(jq -r ".[-1].tags[0]" list.json)" &&
	vault list --tag partial --json | jq -e "length == 1"
'

test_expect_success 'everything else mounts byte-identical' '
	rm -rf whole/locked whole/closed whole/gone whole/bad &&
	vault mount latest out &&
	tree_state whole >expect &&
	tree_state out/data >actual &&
	test_cmp expect actual &&
	vault check >check.out
'

test_expect_success 'the summary says how many paths were skipped' '
	vault_faults "eacces:$P/locked" snapshot src/data >text.out 2>text.err;
	test_eq 3 $? "exit status" &&
	grep -q "^  partial:     1 path skipped" text.out &&
	grep -q "skipped .*/src/data/locked" text.err
'

test_expect_success 'a file rewritten while read is read again: whole, exit 0, no warning' '
	vault_faults "rewrite:$P/once" snapshot --no-files-cache --json src/data >once.json 2>once.err &&
	! grep -q warning once.err &&
	test_eq false "$(jq .partial once.json)" &&
	grep -q REWRITTEN src/data/once &&
	vault mount latest out-once &&
	cmp src/data/once out-once/data/once &&
	vault list --json | jq -e ".[-1].partial == false and .[-1].skipped == 0"
'

test_expect_success 'a file that keeps changing: stored as last read, warned, complete' '
	vault_faults "churn:$P/busy" snapshot --no-files-cache --json src/data >busy.json 2>busy.err &&
	grep -q "warning: .*/src/data/busy kept changing while it was read (3 reads): stored as last read" busy.err &&
	test_eq 1 "$(grep -c warning busy.err)" "warnings" &&
	test_eq false "$(jq .partial busy.json)" &&
	vault mount latest out-busy &&
	cmp src/data/busy out-busy/data/busy &&
	cmp src/data/big.bin out-busy/data/big.bin
'

test_expect_success 'a PATH missing at the start, or a read error on stdin: nothing committed' '
	repo_fingerprint >fp.before &&
	test_must_fail_with 1 "cannot stat .*no-such-path" \
		vault snapshot src/data no-such-path &&
	test_must_fail_with 1 "cannot store standard input.*Is a directory" \
		vault snapshot - <src/data &&
	grep -qi "nothing was committed" "$TEST_TMP/.stderr" &&
	repo_fingerprint >fp.after &&
	test_cmp fp.before fp.after
'

# Real permissions: as root (CI) the snapshot runs as nobody.
if [ "$(id -u)" != 0 ]; then
	test_set_prereq UNPRIV
	as_user() { "$@"; }
elif command -v runuser >/dev/null 2>&1 && id nobody >/dev/null 2>&1 &&
	runuser -u nobody -- test -x "$VAULT"; then
	test_set_prereq UNPRIV
	as_user() { runuser -u nobody -- "$@"; }
fi

test_expect_success UNPRIV 'real permissions: chmod 000 file and directory' '
	U=$(mktemp -d /tmp/vault-t0025.XXXXXX) &&
	test_at_exit "rm -rf $U" &&
	chmod 755 "$U" &&
	mkdir -p "$U/t/shut" &&
	printf "open\n" >"$U/t/open" &&
	printf "secret\n" >"$U/t/secret" &&
	printf "in\n" >"$U/t/shut/in" &&
	VAULT_REPO=$U/repo vault init --encryption none >/dev/null &&
	{ [ "$(id -u)" != 0 ] || chown -R nobody "$U"; } &&
	chmod 000 "$U/t/secret" "$U/t/shut" &&
	# from $U: the user cannot even look for a .env in $TEST_TMP
	(cd "$U" && as_user env VAULT_REPO="$U/repo" "$VAULT" snapshot t) \
		>u.out 2>u.err;
	rc=$? &&
	chmod 755 "$U/t/shut" && chmod 644 "$U/t/secret" &&
	test_eq 3 $rc "exit status" &&
	grep -q "skipped $U/t/secret: cannot open: Permission denied" u.err &&
	grep -q "skipped $U/t/shut: cannot open directory: Permission denied" u.err &&
	VAULT_REPO=$U/repo vault ls latest >u.ls &&
	grep -q "t/open" u.ls && ! grep -q secret u.ls && ! grep -q shut u.ls
'

test_done

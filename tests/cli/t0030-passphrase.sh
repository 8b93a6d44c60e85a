#!/bin/bash
# Passphrases: a wrong one is refused with a clear message and changes
# nothing; VAULT_PASSPHRASE_FILE and --passphrase-command work; `vault key
# passwd` replaces the passphrase.  Key derivation: new keys are wrapped at
# borg 2's Argon2id limits, an old key file opens at its own limits, and
# `vault key passwd` moves it to the new ones.
. "$(dirname "$0")/../test-lib.sh"

test_expect_success 'setup: an encrypted repository with one snapshot' '
	new_repo &&
	GOOD=$VAULT_PASSPHRASE &&
	seq 1 10000 >f &&
	vault snapshot --json f >snap.json &&
	vault list --json >list.before &&
	repo_fingerprint >fp.before
'

for verb in "list" "ls latest" "cat latest f" "snapshot f" "check" "stats" "forget latest" "prune --keep-last 1" "key passwd"; do
	test_expect_success "a wrong passphrase is refused: vault $verb" "
		VAULT_PASSPHRASE=wrong VAULT_NEW_PASSPHRASE=other \
			test_must_fail_with 12 'passphrase' vault $verb
	"
done

test_expect_success 'the message says the passphrase is wrong' '
	VAULT_PASSPHRASE=wrong test_must_fail_with 12 "(wrong|incorrect|invalid|bad).*passphrase|passphrase.*(wrong|incorrect|invalid|rejected|not match)" vault list
'

test_expect_success 'mount with a wrong passphrase writes nothing' '
	VAULT_PASSPHRASE=wrong test_must_fail_with 12 passphrase vault mount latest m &&
	{ test_path_is_missing m || test -z "$(ls -A m)"; }
'

test_expect_success 'the wrong passphrases changed nothing in the repository' '
	repo_fingerprint >fp.after &&
	test_cmp fp.before fp.after &&
	vault list --json >list.after &&
	test_cmp list.before list.after
'

test_expect_success 'an empty passphrase is refused too' '
	VAULT_PASSPHRASE= test_must_fail vault list
'

test_expect_success 'without any passphrase source the error says so' '
	(
		unset VAULT_PASSPHRASE &&
		test_must_fail_with 1 passphrase vault list </dev/null
	)
'

test_expect_success 'VAULT_PASSPHRASE_FILE works (with or without a final newline)' '
	printf "%s" "$GOOD" >pass.nonl &&
	printf "%s\n" "$GOOD" >pass.nl &&
	(
		unset VAULT_PASSPHRASE &&
		VAULT_PASSPHRASE_FILE=$TRASH/pass.nonl vault cat latest f >out1 &&
		VAULT_PASSPHRASE_FILE=$TRASH/pass.nl vault cat latest f >out2
	) &&
	test_cmp f out1 && test_cmp f out2
'

test_expect_success 'VAULT_PASSPHRASE_FILE with a wrong passphrase is refused' '
	echo wrong >pass.bad &&
	(
		unset VAULT_PASSPHRASE &&
		VAULT_PASSPHRASE_FILE=$TRASH/pass.bad test_must_fail_with 12 passphrase vault list
	)
'

test_expect_success 'a missing VAULT_PASSPHRASE_FILE is an error naming it' '
	(
		unset VAULT_PASSPHRASE &&
		VAULT_PASSPHRASE_FILE=$TRASH/no-such-file test_must_fail_with 1 "no-such-file" vault list
	)
'

test_expect_success '--passphrase-command works' '
	(
		unset VAULT_PASSPHRASE &&
		vault --passphrase-command "cat $TRASH/pass.nl" cat latest f >out3 &&
		vault --passphrase-command "printf %s \"$GOOD\"" list >/dev/null
	) &&
	test_cmp f out3
'

test_expect_success '--passphrase-command with a wrong passphrase is refused' '
	(
		unset VAULT_PASSPHRASE &&
		test_must_fail_with 12 passphrase vault --passphrase-command "echo wrong" list
	)
'

test_expect_success 'a failing --passphrase-command is an error' '
	(
		unset VAULT_PASSPHRASE &&
		test_must_fail vault --passphrase-command false list
	)
'

test_expect_success 'the passphrase is not recorded in the snapshot metadata' '
	vault --passphrase-command "cat $TRASH/pass.nl" snapshot f &&
	vault list --json >list.json &&
	! grep -qF "$GOOD" list.json &&
	! grep -rqF "$GOOD" "$VAULT_REPO"
'

test_expect_success 'key passwd changes the passphrase' '
	VAULT_NEW_PASSPHRASE="a whole new passphrase" vault key passwd
'

test_expect_success 'after key passwd the old passphrase fails' '
	test_must_fail_with 12 passphrase vault list
'

test_expect_success 'after key passwd the new passphrase works and the data is intact' '
	VAULT_PASSPHRASE="a whole new passphrase" vault cat latest f >out4 &&
	test_cmp f out4 &&
	VAULT_PASSPHRASE="a whole new passphrase" vault check --read-data
'

test_expect_success 'key passwd without a new passphrase fails and changes nothing' '
	export VAULT_PASSPHRASE="a whole new passphrase" &&
	repo_fingerprint >fp1 &&
	test_must_fail vault key passwd </dev/null &&
	repo_fingerprint >fp2 &&
	test_cmp fp1 fp2 &&
	vault list >/dev/null
'

[ -x /usr/bin/time ] && test_set_prereq TIME

# key_limits FILE: "KDF OPSLIMIT MEMLIMIT" of a key file (formats/keyfile.md:
# magic(8) version(4) kdf(1) reserved(3) opslimit(8) memlimit(8))
key_limits() {
	echo $(od -An -tu1 -j12 -N1 "$1") $(od -An -tu8 -j16 -N8 "$1") \
		$(od -An -tu8 -j24 -N8 "$1")
}

test_expect_success 'by default keys are wrapped with Argon2id at borg 2 limits (3 passes, 64 MiB)' '
	(
		unset VAULT_TESTONLY_WEAKEN_KDF &&
		new_repo "$TRASH/strong" &&
		printf %s "$VAULT_PASSPHRASE" >strong.pass &&
		test_eq "1 3 67108864" "$(key_limits "$VAULT_REPO/keys/repokey")" "kdf, opslimit, memlimit" &&
		echo hello >strong.txt &&
		vault snapshot strong.txt &&
		vault cat latest strong.txt >out &&
		test_cmp strong.txt out
	)
'

test_expect_success 'TIME' 'vault list at the default limits peaks under 80 MiB' '
	(
		unset VAULT_TESTONLY_WEAKEN_KDF &&
		export VAULT_REPO=$TRASH/strong VAULT_PASSPHRASE="$(cat strong.pass)" &&
		/usr/bin/time -f %M -o list.rss "$VAULT" list </dev/null >/dev/null &&
		test_le "$(tail -n 1 list.rss)" 81920 "peak RSS of vault list, KiB"
	)
'

# A key file written by `vault init` before its default changed: wrapped
# at libsodium's "moderate" limits (3 passes, 256 MiB), with this
# passphrase:
OLD_PASS="old moderate key"

test_expect_success 'a key file at the old moderate limits (256 MiB) still opens' '
	(
		unset VAULT_TESTONLY_WEAKEN_KDF &&
		new_repo "$TRASH/old" &&
		base64 -d "$VAULT_SRCDIR/tests/fixtures/repokey-moderate.b64" \
			>"$VAULT_REPO/keys/repokey" &&
		test_eq "1 3 268435456" "$(key_limits "$VAULT_REPO/keys/repokey")" "the fixture" &&
		VAULT_PASSPHRASE=wrong test_must_fail_with 12 passphrase vault list &&
		export VAULT_PASSPHRASE="$OLD_PASS" &&
		vault snapshot f &&
		vault cat latest f >out.old &&
		test_cmp f out.old &&
		test_eq "1 3 268435456" "$(key_limits "$VAULT_REPO/keys/repokey")" "opening rewrites nothing"
	)
'

test_expect_success 'key passwd rewraps an old key file at the new limits' '
	(
		unset VAULT_TESTONLY_WEAKEN_KDF &&
		export VAULT_REPO=$TRASH/old VAULT_PASSPHRASE="$OLD_PASS" &&
		VAULT_NEW_PASSPHRASE="new limits" vault key passwd >passwd.out &&
		test_grep "Argon2id: 3 passes over 64(\.0)? MiB" passwd.out &&
		test_eq "1 3 67108864" "$(key_limits "$VAULT_REPO/keys/repokey")" "after key passwd" &&
		test_must_fail_with 12 passphrase vault list &&
		VAULT_PASSPHRASE="new limits" vault cat latest f >out.new &&
		test_cmp f out.new
	)
'

test_done

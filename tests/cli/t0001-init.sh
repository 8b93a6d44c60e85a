#!/bin/bash
# vault init (encrypted and not), what it refuses, and the command line's
# contract: --help everywhere (exit 0), usage errors (exit 2), unknown
# verbs.
. "$(dirname "$0")/../test-lib.sh"

VERBS="init snapshot list ls cat mount diff forget prune check stats key"

test_expect_success 'init creates an encrypted repository by default' '
	new_repo &&
	test_path_is_file "$VAULT_REPO/config" &&
	test_path_is_file "$VAULT_REPO/index.db" &&
	test_path_is_dir "$VAULT_REPO/packs" &&
	test_path_is_dir "$VAULT_REPO/keys" &&
	test -n "$(ls -A "$VAULT_REPO/keys")" &&
	grep -Eq "^encryption[[:space:]]+repokey" "$VAULT_REPO/config"
'

test_expect_success 'the passphrase does not appear in the repository' '
	! grep -rqF "$VAULT_PASSPHRASE" "$VAULT_REPO"
'

test_expect_success 'an encrypted repository is usable with its passphrase' '
	echo hello >f &&
	vault snapshot f &&
	vault cat latest f >out &&
	test_cmp f out
'

test_expect_success 'an encrypted repository needs a passphrase' '
	(
		unset VAULT_PASSPHRASE &&
		test_must_fail_with 1 passphrase vault list
	)
'

test_expect_success 'init --encryption repokey without a passphrase fails' '
	(
		unset VAULT_PASSPHRASE &&
		test_must_fail_with 1 passphrase vault --repo "$TRASH/nopass" init --encryption repokey
	) &&
	test_path_is_missing "$TRASH/nopass/config"
'

test_expect_success 'init --encryption none works without any passphrase' '
	(
		unset VAULT_PASSPHRASE &&
		vault --repo "$TRASH/plain" init --encryption none &&
		grep -Eq "^encryption[[:space:]]+none" "$TRASH/plain/config" &&
		echo plain >p &&
		vault --repo "$TRASH/plain" snapshot p &&
		vault --repo "$TRASH/plain" cat latest p >out &&
		test_cmp p out
	)
'

test_expect_success '--repo and VAULT_REPO name the same repository' '
	vault --repo "$VAULT_REPO" list >a &&
	vault list >b &&
	test_cmp a b &&
	test -s a
'

test_expect_success 'init refuses a non-empty directory and leaves it alone' '
	mkdir busy && echo precious >busy/file &&
	test_must_fail_with 1 "empty|exist" vault --repo "$TRASH/busy" init --encryption none &&
	test "$(ls -A busy)" = file &&
	test "$(cat busy/file)" = precious
'

test_expect_success 'init refuses an existing repository' '
	repo_fingerprint >before &&
	test_must_fail_with 1 "empty|exist" vault init &&
	repo_fingerprint >after &&
	test_cmp before after
'

test_expect_success 'init accepts an existing empty directory' '
	mkdir empty &&
	vault --repo "$TRASH/empty" init --encryption none &&
	test_path_is_file empty/config
'

test_expect_success 'init creates missing parent directories (the default path has some)' '
	(
		unset VAULT_REPO &&
		HOME=$TRASH/home XDG_DATA_HOME= vault init --encryption none >out &&
		grep -q "created repository $TRASH/home/.local/share/vault/repo" out &&
		test_path_is_file home/.local/share/vault/repo/config &&
		test "$(stat -c %a home/.local/share/vault/repo)" = 700
	) &&
	vault --repo "$TRASH/deep/b/c/repo" init --encryption none >/dev/null &&
	test_path_is_file deep/b/c/repo/config
'

test_expect_success 'init checks the path before asking for a passphrase' '
	echo file >notadir &&
	(
		unset VAULT_PASSPHRASE &&
		test_must_fail_with 1 "cannot create $TRASH/notadir: File exists|cannot create $TRASH/notadir/repo: Not a directory" \
			vault --repo "$TRASH/notadir/repo" --passphrase-command "touch $TRASH/asked; echo pw" init
	) &&
	test_path_is_missing asked &&
	mkdir busy2 && echo x >busy2/f &&
	test_must_fail_with 1 "busy2 exists and is not empty" \
		vault --repo "$TRASH/busy2" --passphrase-command "touch $TRASH/asked; echo pw" init &&
	test_path_is_missing asked
'

test_expect_success 'a failed init leaves no directory it made' '
	(
		unset VAULT_PASSPHRASE &&
		test_must_fail_with 1 passphrase vault --repo "$TRASH/made/repo" init
	) &&
	test_path_is_missing made/repo
'

test_expect_success 'no repository: exit code 10' '
	test_must_fail_with 10 "nothing-here is not a vault repository" vault --repo "$TRASH/nothing-here" list
'

test_expect_success 'vault --help exits 0 and lists the verbs' '
	vault --help >out &&
	for v in $VERBS; do
		grep -qw "$v" out || { echo "verb $v missing from --help" >&2; return 1; }
	done
'

for verb in $VERBS; do
	test_expect_success "vault $verb --help exits 0 and prints usage" "
		vault $verb --help >out 2>err &&
		test -s out &&
		grep -qi usage out &&
		grep -qw $verb out
	"
done

test_expect_success 'vault key passwd --help exits 0' '
	vault key passwd --help >out &&
	test -s out
'

test_expect_success 'no verb at all is a usage error' '
	test_must_fail_with 2 "usage" vault
'

test_expect_success 'an unknown verb is a usage error naming it' '
	test_must_fail_with 2 "frobnicate" vault frobnicate
'

test_expect_success 'an unknown global option is a usage error' '
	test_must_fail_with 2 "." vault --no-such-option list
'

while IFS='|' read -r what args; do
	[ -n "$what" ] || continue
	test_expect_success "usage error (exit 2): $what" "
		test_must_fail_with 2 . vault $args
	"
done <<'LIST'
init with a bad --encryption|init --encryption bogus
snapshot without paths|snapshot
snapshot with a bad --time|snapshot --time not-a-time f
snapshot with an unknown option|snapshot --bogus f
list with an extra argument|list extra
ls without a snapshot|ls
cat without a path|cat latest
mount without a directory|mount latest
mount --at without a directory|mount --at 2024-01-01T00:00:00Z
diff with one snapshot|diff latest
forget without a snapshot|forget
prune with a non-number|prune --keep-last many
prune with a negative count|prune --keep-daily -3
check with a bad subset|check --read-data-subset 150%
stats with an unknown option|stats --bogus
key without a subcommand|key
key with an unknown subcommand|key frob
LIST

test_expect_success 'usage errors did not change the repository' '
	test "$(vault list --json | jq length)" = 1 &&
	vault cat latest f >out &&
	test_cmp f out
'

test_done

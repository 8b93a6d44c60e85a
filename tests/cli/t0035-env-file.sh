#!/bin/bash
# The repository and its passphrase file may come from an env file, as
# the Supabase settings do: VAULT_REPO and VAULT_PASSPHRASE_FILE in
# ./.env (said in a note) or in the file --env-file names; the
# environment wins over both.
. "$(dirname "$0")/../test-lib.sh"

test_expect_success 'setup: an encrypted repository, its passphrase in a file' '
	new_repo &&
	printf "%s\n" "$VAULT_PASSPHRASE" >pass && chmod 600 pass &&
	echo data >f && vault snapshot f >/dev/null &&
	REPO=$VAULT_REPO
'

test_expect_success 'VAULT_REPO and VAULT_PASSPHRASE_FILE from ./.env, each said in a note' '
	mkdir proj &&
	printf "VAULT_REPO=%s\nVAULT_PASSPHRASE_FILE=%s\n" "$REPO" "$TRASH/pass" >proj/.env &&
	(cd proj && unset VAULT_REPO VAULT_PASSPHRASE &&
	 vault list >../list.out 2>../list.err) &&
	grep -q " backup " list.out &&
	grep -q "note: VAULT_REPO from ./.env: $REPO" list.err &&
	grep -q "note: VAULT_PASSPHRASE_FILE from ./.env: $TRASH/pass" list.err
'

test_expect_success 'the environment wins over ./.env' '
	printf "VAULT_REPO=%s\n" "$TRASH/elsewhere" >proj/.env &&
	(cd proj && vault list >../list2.out 2>../list2.err) &&
	grep -q " backup " list2.out && ! grep -q note list2.err
'

test_expect_success 'an env file given with --env-file is read without a note' '
	printf "VAULT_REPO=%s\nVAULT_PASSPHRASE_FILE=%s\nVAULT_DB_URL=dbname=nowhere\n" "$REPO" "$TRASH/pass" >named.env &&
	(unset VAULT_REPO VAULT_PASSPHRASE &&
	 vault rollback --env-file named.env --dry-run >rb.out 2>rb.err; true) &&
	! grep -q "note:" rb.err &&
	grep -q "no successful restore into" rb.err
'

test_done

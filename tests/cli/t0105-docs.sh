#!/bin/bash
# The documentation matches the program: every long option a verb
# accepts appears in that verb's --help and in vault.1, and every verb
# is in vault.1's SYNOPSIS and has a COMMANDS section.
#
# The candidates are every option name in src/cli's option tables; a
# verb accepts one when `vault VERB --NAME` is not refused as an unknown
# option (nothing runs: the repository named does not exist).
. "$(dirname "$0")/../test-lib.sh"

MAN=$VAULT_SRCDIR/doc/vault.1
VERBS=$(vault --help | awk '/^  [a-z]/ { print $1 }' | sort -u)
NAMES=$(grep -ho '{ "[a-z][a-z0-9-]*", *\(no\|required\|optional\)_argument' \
	"$VAULT_SRCDIR"/src/cli/*.c "$VAULT_SRCDIR"/src/cli/*.h |
	sed 's/{ "\([^"]*\)".*/\1/' | sort -u)
mkdir notrepo && echo x >notrepo/file

test_expect_success 'the verbs and option names were found' '
	echo "$VERBS" | grep -qx snapshot && echo "$VERBS" | grep -qx restore &&
	test "$(echo "$NAMES" | wc -l)" -gt 30
'

# the man page's spelling of an option: groff escapes each '-'
man_opt() {
	printf '%s' "--$1" | sed 's/-/\\-/g'
}
# every verb takes these; vault --help and GLOBAL OPTIONS document them
GLOBALS=" repo lock-wait passphrase-command log-file "

test_expect_success 'the global options are in vault --help and in GLOBAL OPTIONS' '
	vault --help >help.txt &&
	sed -n "/^\.SH GLOBAL OPTIONS/,/^\.SH /p" "$MAN" >globals &&
	: >missing &&
	for name in $GLOBALS; do
		grep -q -- "--$name" help.txt || echo "$name: not in vault --help" >>missing
		grep -qF -- "$(man_opt "$name")" globals ||
			echo "$name: not in GLOBAL OPTIONS" >>missing
	done &&
	cat missing && test ! -s missing
'

for verb in $VERBS; do
	test_expect_success "vault $verb: every option it takes is in its --help and in vault.1" '
		vault '$verb' --help >help.txt &&
		: >missing &&
		for name in $NAMES; do
			[ "$name" = help ] && continue
			# with and without a value: "--only=storage" is what
			# turns some verbs to their Storage half
			"$VAULT" --repo "$TRASH/notrepo" '$verb' --$name --help </dev/null >out 2>err
			"$VAULT" --repo "$TRASH/notrepo" '$verb' --$name=storage --help </dev/null >out 2>err2
			grep -q "unknown option .--$name" err &&
				grep -q "unknown option .--$name" err2 && continue
			case $GLOBALS in *" $name "*) ;; *)
				grep -q -- "--$name" help.txt ||
					echo "$name: not in vault '$verb' --help" >>missing ;;
			esac
			grep -qF -- "$(man_opt "$name")" "$MAN" || echo "$name: not in vault.1" >>missing
		done &&
		cat missing && test ! -s missing
	'
done

test_expect_success 'every verb is in the SYNOPSIS and has its own section' '
	sed -n "/^\.SH SYNOPSIS/,/^\.SH DESCRIPTION/p" "$MAN" >synopsis &&
	: >missing &&
	for verb in $VERBS; do
		grep -q "^\.B vault\( .*\)\? $verb\b\|^vault $verb\b\|\bvault\\\\fR $verb\b\|^\.BR\? .*$verb" synopsis ||
			grep -qw "$verb" synopsis || echo "$verb: not in SYNOPSIS" >>missing
		grep -q "^\.SS \"vault $verb\b" "$MAN" || echo "$verb: no .SS section" >>missing
	done &&
	cat missing && test ! -s missing
'

test_expect_success 'every environment variable vault reads is under ENVIRONMENT' '
	sed -n "/^\.SH ENVIRONMENT/,/^\.SH EXIT STATUS/p" "$MAN" >environment &&
	{ grep -rhoE "getenv\(\"[A-Z_]+\"\)" "$VAULT_SRCDIR"/src "$VAULT_SRCDIR"/store |
		sed "s/getenv(\"\(.*\)\")/\1/"
	  grep -rhoE "\"(SUPABASE|VAULT)_[A-Z_]+\"" "$VAULT_SRCDIR"/src/env "$VAULT_SRCDIR"/src/cli |
		tr -d "\""
	} | sort -u >vars &&
	test "$(wc -l <vars)" -gt 15 &&
	: >missing &&
	while read -r v; do
		grep -q "\b$(printf %s "$v" | sed "s/_/\\\\_/g; s/\\\\//g")\b" environment ||
			echo "$v" >>missing
	done <vars &&
	cat missing && test ! -s missing
'

test_done

#!/bin/bash
# Compression: `vault init --compression`, `vault config compression`
# and `vault snapshot --compression` choose fast (lz4) or max (LZ4 HC);
# max stores compressible data in fewer bytes, both read back the same,
# bad values are usage errors naming the value, and a repository whose
# config predates the setting (version 1) keeps working as fast.
. "$(dirname "$0")/../test-lib.sh"

# ~8 MB of text lines: compressible, and better with LZ4 HC than lz4
make_data() {
	mkdir -p data &&
	seq 1 120000 | awk '{ printf "%d\tuser-%d\t%s\tlorem ipsum dolor sit amet %d\n",
		$1, $1 % 997, ($1 % 3 ? "view" : "click"), $1 * 7919 % 100003 }' >data/rows.txt &&
	seq 1 60000 | awk '{ printf "{\"n\": %d, \"path\": \"/p/%d\", \"ok\": %s}\n",
		$1, $1 % 211, ($1 % 2 ? "true" : "false") }' >data/events.json
}

stored() { # the bytes_stored of a --json snapshot summary
	jq -r .bytes_stored "$1"
}

test_expect_success 'init records the default compression, fast' '
	new_repo --encryption none &&
	grep -Eq "^vault-repository 2$" "$VAULT_REPO/config" &&
	grep -Eq "^compression fast$" "$VAULT_REPO/config" &&
	vault config >out &&
	echo "compression fast" >want &&
	test_cmp want out &&
	grep -q "compression: fast" "$TEST_TMP/.init-out"
'

test_expect_success 'init --compression max records max' '
	vault --repo "$TEST_TMP/max" init --encryption none --compression max >out &&
	grep -q "compression: max" out &&
	grep -Eq "^compression max$" "$TEST_TMP/max/config" &&
	vault --repo "$TEST_TMP/max" config compression >out &&
	echo max >want &&
	test_cmp want out
'

test_expect_success 'max stores fewer bytes than fast, and both read back the same' '
	make_data &&
	vault snapshot --json data >fast.json &&
	vault --repo "$TEST_TMP/max" snapshot --json data >max.json &&
	f=$(stored fast.json) && m=$(stored max.json) &&
	echo "fast $f, max $m" &&
	test "$m" -lt "$f" &&
	vault cat latest data/rows.txt | cmp - data/rows.txt &&
	vault --repo "$TEST_TMP/max" cat latest data/rows.txt | cmp - data/rows.txt &&
	vault --repo "$TEST_TMP/max" cat latest data/events.json | cmp - data/events.json &&
	vault --repo "$TEST_TMP/max" check --read-data
'

test_expect_success 'snapshot --compression overrides the repository, both ways' '
	new_repo --encryption repokey &&
	vault snapshot --json --compression max data >a.json &&
	vault --repo "$TEST_TMP/s-fast" init --encryption none --compression max &&
	vault --repo "$TEST_TMP/s-fast" snapshot --json --compression fast data >b.json &&
	a=$(stored a.json) && b=$(stored b.json) &&
	echo "max on a fast repository $a, fast on a max repository $b" &&
	test "$a" -lt "$b" &&
	vault cat latest data/events.json | cmp - data/events.json &&
	vault --repo "$TEST_TMP/s-fast" cat latest data/rows.txt | cmp - data/rows.txt &&
	grep -Eq "^compression fast$" "$VAULT_REPO/config"
'

test_expect_success 'standard input and files are compressed the same way' '
	new_repo --encryption none &&
	vault snapshot --json --compression max --stdin-name rows.txt - <data/rows.txt >in.json &&
	vault cat latest rows.txt | cmp - data/rows.txt &&
	new_repo --encryption none &&
	vault snapshot --json --stdin-name rows.txt - <data/rows.txt >in-fast.json &&
	test "$(stored in.json)" -lt "$(stored in-fast.json)"
'

test_expect_success 'vault config compression changes what later snapshots use' '
	new_repo --encryption none &&
	vault config compression max >out &&
	grep -q "compression: max (was fast)" out &&
	grep -Eq "^compression max$" "$VAULT_REPO/config" &&
	vault snapshot --json data >c.json &&
	test "$(stored c.json)" -lt "$(stored fast.json)" &&
	vault cat latest data/rows.txt | cmp - data/rows.txt
'

test_expect_success 'bad values are usage errors that name the value' '
	test_must_fail_with 2 "--compression.*not .best." \
		vault --repo "$TEST_TMP/bad" init --compression best &&
	test_path_is_missing "$TEST_TMP/bad/config" &&
	test_must_fail_with 2 "--compression.*not .ZSTD." \
		vault snapshot --compression ZSTD data &&
	test_must_fail_with 2 "--compression.*not .." \
		vault snapshot --compression "" data &&
	test_must_fail_with 2 "compression.*not .fastest." \
		vault config compression fastest &&
	test_must_fail_with 2 "unknown setting .level." vault config level &&
	test_must_fail_with 2 "unexpected argument .x." \
		vault config compression max x &&
	grep -Eq "^compression max$" "$VAULT_REPO/config"
'

test_expect_success 'a version 1 config (before the setting) keeps working as fast' '
	new_repo --encryption repokey &&
	sed -i -e "s/^vault-repository 2$/vault-repository 1/" \
		-e "/^compression /d" "$VAULT_REPO/config" &&
	cp "$VAULT_REPO/config" v1-config &&
	vault snapshot --json data >v1.json &&
	vault cat latest data/rows.txt | cmp - data/rows.txt &&
	test_cmp v1-config "$VAULT_REPO/config" &&
	vault config >out &&
	echo "compression fast" >want &&
	test_cmp want out &&
	vault snapshot --json --compression max data/rows.txt >v1max.json &&
	vault cat latest rows.txt | cmp - data/rows.txt &&
	test_cmp v1-config "$VAULT_REPO/config" &&
	vault check --read-data
'

test_expect_success 'setting compression raises a version 1 config to 2' '
	vault config compression max &&
	grep -Eq "^vault-repository 2$" "$VAULT_REPO/config" &&
	grep -Eq "^compression max$" "$VAULT_REPO/config" &&
	vault list >/dev/null &&
	vault cat latest rows.txt | cmp - data/rows.txt
'

test_expect_success 'a version 2 config without compression is refused by name' '
	new_repo --encryption none &&
	sed -i "/^compression /d" "$VAULT_REPO/config" &&
	test_must_fail_with 1 "missing key .compression." vault list
'

test_done

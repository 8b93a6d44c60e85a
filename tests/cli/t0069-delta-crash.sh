#!/bin/bash
# Crash injection for prune with chains of delta chunks: a table whose
# rows change a little before each snapshot is stored as chains of
# deltas; all but the last two snapshots are forgotten (the oldest holds
# the full chunks at the bottom of the kept chains), and `vault prune`
# (which deletes some packs and rewrites others) is killed with SIGKILL
# right before its Nth write, fsync, rename, truncation or unlink in the
# repository (tests/unit/faultfs.so), N drawn across the whole run
# ($VAULT_CRASH_TRIALS points, every point with `make crash-test` when
# there are fewer).  After each kill, as in t0065:
#   * every kept snapshot mounts byte-identical to what was captured (the
#     bases its deltas need were kept, or are still where they were);
#   * `check --read-data` reads every chain end to end and finds nothing;
#   * the next prune finishes, deletes nothing a kept snapshot needs, and
#     leaves nothing temporary behind.
. "$(dirname "$0")/../test-lib.sh"
. "$TEST_DIRECTORY/fault-lib.sh"
. "$VAULT_SRCDIR/tests/db-lib.sh"

# Chains reach depth 8 at the ninth snapshot, and the tenth starts them
# again from their full chunks: keeping the last two, prune deletes the
# packs of the deltas in between and rewrites those of the first, whose
# full chunks the kept chains still need.
NSNAP=11
FORGET=9

db_start

# 2% of the rows updated at random, their text one byte longer
touch_rows() {
	db_psql dc -c "UPDATE public.events SET kind = kind || '!',
		seen = seen + interval '1 second' WHERE random() < 0.02"
}

test_expect_success "setup: $NSNAP snapshots of a table stored as chains, the oldest $FORGET forgotten" '
	new_repo &&
	sed -i -e "s/^chunker.rows .*/chunker.rows 2048 8192 32768/" \
		-e "s/^pack.target .*/pack.target 65536/" "$VAULT_REPO/config" &&
	db_create dc &&
	db_psql dc -c "CREATE TABLE public.events (id bigint PRIMARY KEY,
			who uuid, kind text, seen timestamptz, body text)" \
		-c "INSERT INTO public.events SELECT g, md5(g::text)::uuid,
			(ARRAY[\$\$login\$\$, \$\$view\$\$])[1 + g % 2],
			timestamptz \$\$2024-01-01\$\$ + g * interval \$\$1 minute\$\$,
			md5((g * 7)::text) FROM generate_series(1, 20000) g" &&
	mkdir -p want &&
	: >ids.all &&
	for i in $(seq 1 $NSNAP); do
		if [ "$i" -gt 1 ]; then touch_rows || return 1; fi
		vault snapshot --json --db dbname=dc >s$i.json &&
		id=$(json_get .id s$i.json) &&
		echo "$id" >>ids.all &&
		rm -rf m && vault mount "$id" m >/dev/null &&
		db_check_tree "$TRASH/m" dc &&
		ff_state m >"want/$id" || return 1
		if [ "$i" -gt 1 ]; then
			jq -e ".chunks_delta > 0" s$i.json >/dev/null || return 1
		fi
	done &&
	head -n $FORGET ids.all >ids.forgotten &&
	for id in $(cat ids.forgotten); do
		vault forget "$id" >/dev/null || return 1
	done &&
	tail -n +$((FORGET + 1)) ids.all | sort >ids.kept &&
	ff_listed >listed && test_cmp ids.kept listed &&
	vault check --read-data >/dev/null &&
	echo "$VAULT_PASSPHRASE" >repo.pass &&
	printf "%s\n" "" "" "" "" "" >ids.setup &&
	cp -a "$VAULT_REPO" repo.orig
'

test_expect_success 'prune: count the calls it makes' '
	ff_restore &&
	ff_count count.prune prune >total.prune &&
	echo "$(cat total.prune) calls" &&
	test "$(cat total.prune)" -gt 0 &&
	deleted=$(grep -c "unlink.*/packs/.*\.pack" count.prune) &&
	written=$(grep -c "rename.*/packs/.*\.pack" count.prune) &&
	echo "pack files deleted: $deleted, written: $written" &&
	test "$deleted" -gt 0 && test "$written" -gt 0 &&
	ff_verify ids.kept &&
	test_cmp ids.kept listed &&
	ff_no_leftovers
'

total=$(cat total.prune 2>/dev/null || echo 0)
for n in $(ff_points "$total" "$VAULT_CRASH_TRIALS"); do
	test_expect_success "prune killed before call $n of $total ($(ff_call count.prune "$n"))" '
		ff_restore &&
		{ ff_run kill '"$n"' kill.log prune >kill.out 2>&1; rc=$?; } &&
		echo "exit $rc" &&
		case $rc in
		137) ;;
		0) echo "it finished: fewer calls this time" ;;
		*) cat kill.out; test_fail_ "exit $rc" ;;
		esac &&
		ff_verify ids.kept &&
		ff_prune && ff_verify ids.kept &&
		test_cmp ids.kept listed &&
		ff_no_leftovers
	'
done

test_expect_success 'after the last prune, a snapshot still stores deltas on the kept chains' '
	ff_restore &&
	ff_prune &&
	touch_rows &&
	vault snapshot --json --db dbname=dc >last.json &&
	jq -e ".chunks_delta > 0" last.json &&
	id=$(json_get .id last.json) &&
	rm -rf m && vault mount "$id" m >/dev/null &&
	db_check_tree "$TRASH/m" dc &&
	vault check --read-data >/dev/null
'

test_done

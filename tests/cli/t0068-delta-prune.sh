#!/bin/bash
# Delta chunks under prune: a table whose rows change a little between
# snapshots is stored as chains of deltas (a chunk stored against the
# chunk that held the same rows before, up to 8 deep; past that, against
# the full chunk at the bottom of the chain).  Forgetting the
# old snapshots, which hold the full chunks at the bottom of the chains,
# must keep every base a kept snapshot needs; prune killed with SIGKILL
# at random moments must leave a repository where every committed
# snapshot still mounts byte for byte as it was captured, check
# --read-data passes (every chain read end to end), and rebuild-index
# recovers the chains from the packs.
. "$(dirname "$0")/../test-lib.sh"
. "$VAULT_SRCDIR/tests/db-lib.sh"

db_start
new_repo --encryption repokey
# small row chunks and packs: chains spread over many packs, and prune
# has packs to delete and to repack
sed -i -e "s/^chunker.rows .*/chunker.rows 2048 8192 32768/" \
	-e "s/^pack.target .*/pack.target 131072/" "$VAULT_REPO/config"

DATA=db/public/tables/events/data.sql
NSNAP=11

# 2% of the rows updated at random (their text grows by a byte, so
# later rows shift), as the login timestamps of a users table do.
touch_rows() {
	db_psql dl -c "UPDATE public.events SET kind = kind || '!',
		seen = seen + interval '1 second' WHERE random() < 0.02"
}

# mount_data ID FILE: the table's rows as snapshot ID holds them.
mount_data() {
	rm -rf "$TEST_TMP/m" &&
	vault mount "$1" "$TEST_TMP/m" >/dev/null &&
	cp "$TEST_TMP/m/$DATA" "$2"
}

test_expect_success 'setup: a table of 40000 rows' '
	db_create dl &&
	db_psql dl -c "CREATE TABLE public.events (id bigint PRIMARY KEY,
			who uuid, kind text, seen timestamptz, body text)" \
		-c "INSERT INTO public.events SELECT g, md5(g::text)::uuid,
			(ARRAY[\$\$login\$\$, \$\$view\$\$, \$\$click\$\$])[1 + g % 3],
			timestamptz \$\$2024-01-01\$\$ + g * interval \$\$1 minute\$\$,
			repeat(md5((g * 7)::text), 2)
			FROM generate_series(1, 40000) g" &&
	mkdir -p want
'

test_expect_success "$NSNAP snapshots, 2% of the rows changed before each" '
	for i in $(seq 1 $NSNAP); do
		if [ "$i" -gt 1 ]; then touch_rows || return 1; fi
		vault snapshot --json --db dbname=dl >s$i.json || return 1
		id=$(json_get .id s$i.json) || return 1
		echo "$id" >>ids &&
		mount_data "$id" want/$i || return 1
		db_check_tree "$TEST_TMP/m" dl || return 1
		echo "snapshot $i: $(jq -c "{bytes_added, bytes_stored, chunks_new, chunks_delta}" s$i.json)"
	done
'

test_expect_success 'the changed chunks were stored as deltas, small ones' '
	first=$(jq .bytes_stored s1.json) &&
	for i in $(seq 2 $NSNAP); do
		jq -e ".chunks_delta > 0" s$i.json >/dev/null || return 1
		stored=$(jq .bytes_stored s$i.json) &&
		test_le $((stored * 100)) $((first * 25)) "snapshot $i stored" ||
			return 1
	done
'

test_expect_success 'check --read-data reads every chain end to end' '
	vault check --read-data
'

# The bases of the chains are in the oldest snapshots: forget them.
test_expect_success 'forget the oldest half, which hold the bottom of the chains' '
	for i in 1 2 3 4 5; do
		vault forget "$(sed -n ${i}p ids)" >/dev/null || return 1
	done
'

test_expect_success 'measure a prune (scratch copy)' '
	cp -a "$VAULT_REPO" scratch &&
	t0=$(date +%s%N) &&
	VAULT_REPO=$TEST_TMP/scratch vault prune >/dev/null &&
	t1=$(date +%s%N) &&
	echo $(( (t1 - t0) / 1000000 )) >prune.ms &&
	echo "a prune takes $(cat prune.ms) ms" &&
	VAULT_REPO=$TEST_TMP/scratch vault check --read-data &&
	rm -rf scratch
'

# every snapshot still listed mounts as it was captured, and the ones
# forgotten are gone
check_all() {
	local i=0 id n=0
	vault list --json | jq -r ".[].id" >listed || return 1
	while read -r id; do
		i=$((i + 1))
		grep -qx "$id" listed || continue
		mount_data "$id" got || return 1
		cmp got want/$i || { echo "snapshot $i differs"; return 1; }
		n=$((n + 1))
	done <ids
	echo "$n snapshots mount as captured"
	test "$n" = "$(wc -l <listed)" && test "$n" -ge 6
}

# Each round starts from the same state (a copy of the repository with
# the oldest half forgotten) and kills its prune at another moment.
PRUNE_MS=$(cat prune.ms 2>/dev/null || echo 1000)
killed=0
round=0
for pct in 3 10 20 30 40 50 60 70 80 90 R R; do
	round=$((round + 1))
	if [ $pct = R ]; then
		ms=$(( RANDOM % (PRUNE_MS + 1) ))
	else
		ms=$(( PRUNE_MS * pct / 100 ))
	fi
	test_expect_success "round $round: prune killed with SIGKILL after ${ms} ms" '
		rm -rf kill-repo && cp -a "$VAULT_REPO" kill-repo || return 1
		VAULT_REPO=$TEST_TMP/kill-repo "$VAULT" prune >prune.out 2>&1 &
		pid=$!
		sleep "$(printf "%d.%03d" $((ms / 1000)) $((ms % 1000)))"
		kill -KILL "$pid" 2>/dev/null
		wait "$pid"
		rc=$?
		echo "exit status $rc; pack files: $(find kill-repo/packs -name "*.pack" | wc -l) (before: $(find "$VAULT_REPO/packs" -name "*.pack" | wc -l))"
		case $rc in
		137) killed=$((killed + 1)) ;;
		0) ;;
		*) cat prune.out && false ;;
		esac
	'
	test_expect_success "round $round: every kept snapshot mounts as captured" '
		VAULT_REPO=$TEST_TMP/kill-repo check_all
	'
	test_expect_success "round $round: check --read-data passes" '
		VAULT_REPO=$TEST_TMP/kill-repo vault check --read-data
	'
	test_expect_success "round $round: the next prune finishes, and all still reads" '
		VAULT_REPO=$TEST_TMP/kill-repo vault prune >/dev/null &&
		VAULT_REPO=$TEST_TMP/kill-repo check_all &&
		VAULT_REPO=$TEST_TMP/kill-repo vault check --read-data
	'
done
rm -rf kill-repo

test_expect_success 'most prunes were killed while running' '
	echo "killed while running: $killed" &&
	test "$killed" -ge 5
'

test_expect_success 'a prune that runs to its end, then everything reads' '
	vault prune &&
	check_all &&
	vault check --read-data
'

test_expect_success 'more snapshots, more forgotten, pruned again' '
	for i in 1 2 3; do
		vault forget "$(sed -n $((i + 5))p ids)" >/dev/null &&
		touch_rows &&
		vault snapshot --json --db dbname=dl >s$((NSNAP + i)).json &&
		id=$(json_get .id s$((NSNAP + i)).json) &&
		echo "$id" >>ids &&
		mount_data "$id" want/$((NSNAP + i)) || return 1
	done &&
	vault prune &&
	check_all &&
	vault check --read-data
'

test_expect_success 'rebuild-index recovers the chains from the packs' '
	vault check --rebuild-index &&
	check_all &&
	vault check --read-data
'

test_expect_success 'a snapshot after all that still stores deltas' '
	touch_rows &&
	vault snapshot --json --db dbname=dl >last.json &&
	jq -e ".chunks_delta > 0" last.json &&
	id=$(json_get .id last.json) &&
	mount_data "$id" got &&
	db_check_tree "$TEST_TMP/m" dl
'

test_done

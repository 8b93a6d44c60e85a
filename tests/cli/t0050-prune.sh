#!/bin/bash
# Prune against a synthetic timeline: 40 snapshots over about 60 days at
# varied hours (recorded with `vault snapshot --time`), and retention
# policies that must keep exactly the snapshots restic's documented
# `forget --keep-*` semantics keep.  The expected sets are computed here
# independently (date(1) for the calendar buckets, awk for the rules).
# Then: prune reclaims space, deleting dead packs and repacking mostly
# dead ones.
. "$(dirname "$0")/../test-lib.sh"

MiB=$((1024 * 1024))

# The timeline: snapshot i is at start + sum of gaps: minutes (the same
# hour), 3 hours (often the same day) or 30 to 84 hours (days with none).
# Seconds are 0 except for the newest, so no snapshot is ever exactly N
# days older than the newest (no ties at the --keep-days boundary).
make_timeline() {
	local start t i gap sec tags
	start=$(date -u -d 2024-01-10T00:00:00Z +%s)
	t=$start
	for i in $(seq 0 39); do
		case $((i % 4)),$((i % 9)) in
		*,7) gap=0 ;;
		1,*) gap=3 ;;
		*) gap=$(( 30 + (i * 37) % 55 )) ;;
		esac
		t=$(( t + gap * 3600 + (1 + (i * 17) % 29) * 60 ))
		sec=0
		[ "$i" = 39 ] && sec=30
		tags=-
		[ $((i % 7)) = 3 ] && tags=keep
		[ $((i % 11)) = 5 ] && tags=other
		# epoch  iso-time  hour-bucket  day  iso-week  month  year  tags
		printf '%s %s %s %s %s %s %s %s\n' $((t + sec)) \
			"$(date -u -d @$((t + sec)) +%Y-%m-%dT%H:%M:%SZ)" \
			"$(date -u -d @$((t + sec)) +%Y-%m-%dT%H)" \
			"$(date -u -d @$((t + sec)) +%Y-%m-%d)" \
			"$(date -u -d @$((t + sec)) +%G-W%V)" \
			"$(date -u -d @$((t + sec)) +%Y-%m)" \
			"$(date -u -d @$((t + sec)) +%Y)" \
			"$tags"
	done
}

# expected OPTIONS...: the ids the policy keeps, sorted, computed from
# timeline.ids (lines "epoch iso hour day week month year tags id").
expected() {
	local last=0 hourly=0 daily=0 weekly=0 monthly=0 yearly=0 days=0 tag=
	while [ $# -gt 0 ]; do
		case $1 in
		--keep-last) last=$2 ;;
		--keep-hourly) hourly=$2 ;;
		--keep-daily) daily=$2 ;;
		--keep-weekly) weekly=$2 ;;
		--keep-monthly) monthly=$2 ;;
		--keep-yearly) yearly=$2 ;;
		--keep-days) days=$2 ;;
		--keep-tag) tag=$2 ;;
		*) echo "expected: unknown $1" >&2; return 1 ;;
		esac
		shift 2
	done
	sort -k1,1nr timeline.ids | awk -v last="$last" -v days="$days" \
		-v tag="$tag" -v c3="$hourly" -v c4="$daily" -v c5="$weekly" \
		-v c6="$monthly" -v c7="$yearly" '
	BEGIN { cnt[3] = c3; cnt[4] = c4; cnt[5] = c5; cnt[6] = c6; cnt[7] = c7 }
	NR == 1 { newest = $1 }
	{
		keep = 0
		# keep-last: the N newest
		if (NR <= last) keep = 1
		# bucket rules, newest first: keep the first snapshot seen in
		# each new bucket until the rule has kept N
		for (f = 3; f <= 7; f++) {
			if (cnt[f] != 0 && $f != prev[f]) {
				keep = 1
				prev[f] = $f
				cnt[f]--
			}
		}
		# keep-days: within N days of the newest snapshot
		if (days > 0 && $1 > newest - days * 86400) keep = 1
		if (tag != "" && $8 == tag) keep = 1
		if (keep) print $9
	}' | sort
}

listed_ids() {
	vault list --json | jq -r ".[].id" | sort
}

test_expect_success 'setup: 40 snapshots over 60 days with --time and tags' '
	new_repo --encryption none "$TRASH/template" &&
	make_timeline >timeline &&
	test "$(wc -l <timeline)" = 40 &&
	test "$(cut -d" " -f1 timeline | sort -n | uniq | wc -l)" = 40 &&
	first=$(head -n 1 timeline | cut -d" " -f1) &&
	last=$(tail -n 1 timeline | cut -d" " -f1) &&
	test $(( (last - first) / 86400 )) -ge 55 &&
	test $(( (last - first) / 86400 )) -le 65 &&
	: >timeline.ids &&
	n=0 &&
	while read -r epoch iso hour day week month year tags; do
		n=$((n + 1)) &&
		tagopt= &&
		{ [ "$tags" = - ] || tagopt="--tag $tags"; } &&
		echo "snapshot $n at $iso" |
			vault snapshot --json --time "$iso" $tagopt --stdin-name s.txt - >s.json &&
		id=$(json_get .id s.json) &&
		echo "$epoch $iso $hour $day $week $month $year $tags $id" >>timeline.ids || return 1
	done <timeline &&
	test "$(wc -l <timeline.ids)" = 40 &&
	cut -d" " -f9 timeline.ids | sort >all.ids &&
	listed_ids >listed &&
	test_cmp all.ids listed
'

test_expect_success 'list shows the recorded times' '
	vault list --json >list.json &&
	for iso in $(cut -d" " -f2 timeline | sed -n "1p;20p;40p"); do
		grep -qF "$iso" list.json || { echo "no $iso in list --json" >&2; return 1; }
	done
'

test_expect_success 'list --tag filters' '
	vault list --json --tag keep | jq -r ".[].id" | sort >listed &&
	awk "\$8 == \"keep\" { print \$9 }" timeline.ids | sort >want &&
	test -s want &&
	test_cmp want listed
'

# Each policy runs for real on its own copy of the template.
policy_n=0
check_policy() {
	policy_n=$((policy_n + 1))
	test_expect_success "prune $* keeps exactly the expected snapshots" "
		rm -rf '$TRASH/p$policy_n' &&
		cp -a '$TRASH/template' '$TRASH/p$policy_n' &&
		export VAULT_REPO='$TRASH/p$policy_n' &&
		expected $* >want &&
		test -s want &&
		vault prune $* >prune.out &&
		listed_ids >got &&
		test_cmp want got &&
		vault check
	"
}

check_policy --keep-last 5
check_policy --keep-hourly 7
check_policy --keep-daily 7
check_policy --keep-weekly 4
check_policy --keep-monthly 2
check_policy --keep-yearly 1
check_policy --keep-days 10
check_policy --keep-tag keep
check_policy --keep-daily 3 --keep-weekly 3
check_policy --keep-last 2 --keep-daily 5 --keep-weekly 3 --keep-monthly 3 --keep-tag keep
check_policy --keep-weekly 100

test_expect_success 'the policies are not trivial (sanity of the expectations)' '
	test "$(expected --keep-daily 7 | wc -l)" = 7 &&
	test "$(expected --keep-weekly 4 | wc -l)" = 4 &&
	test "$(expected --keep-monthly 2 | wc -l)" = 2 &&
	test "$(expected --keep-days 10 | wc -l)" -gt 3 &&
	test "$(expected --keep-days 10 | wc -l)" -lt 12 &&
	# some hour and some day hold two snapshots: the rules differ
	! cmp -s <(expected --keep-hourly 7) <(expected --keep-last 7) &&
	! cmp -s <(expected --keep-daily 7) <(expected --keep-last 7) &&
	! cmp -s <(expected --keep-daily 7) <(expected --keep-hourly 7) &&
	! cmp -s <(expected --keep-weekly 4) <(expected --keep-last 4)
'

test_expect_success '--dry-run forgets nothing and changes nothing' '
	export VAULT_REPO=$TRASH/template &&
	repo_fingerprint >fp.before &&
	vault prune --dry-run --keep-last 2 --keep-daily 5 --keep-tag keep >dry.out &&
	repo_fingerprint >fp.after &&
	test_cmp fp.before fp.after &&
	listed_ids >listed &&
	test_cmp all.ids listed
'

test_expect_success '--dry-run names the snapshots it would forget' '
	expected --keep-last 2 --keep-daily 5 --keep-tag keep >keep &&
	comm -23 all.ids keep >forget &&
	test -s forget &&
	while read -r id; do
		grep -q "${id:0:8}" dry.out || { echo "$id not named" >&2; return 1; }
	done <forget
'

test_expect_success '--dry-run --json says which snapshots would be kept' '
	vault prune --dry-run --json --keep-last 2 --keep-daily 5 --keep-tag keep >dry.json &&
	jq -e ".dry_run == true" dry.json &&
	jq -r ".snapshots[] | select(.keep) | .id" dry.json | sort >got.keep &&
	jq -r ".snapshots[] | select(.keep | not) | .id" dry.json | sort >got.forget &&
	test_cmp keep got.keep &&
	test_cmp forget got.forget &&
	test "$(jq .forgotten dry.json)" = "$(wc -l <forget)" &&
	listed_ids >listed &&
	test_cmp all.ids listed
'

test_expect_success 'prune without any rule forgets nothing' '
	rm -rf "$TRASH/norule" && cp -a "$TRASH/template" "$TRASH/norule" &&
	VAULT_REPO=$TRASH/norule vault prune &&
	VAULT_REPO=$TRASH/norule vault list --json | jq -r ".[].id" | sort >listed &&
	test_cmp all.ids listed
'

test_expect_success 'forget removes exactly the named snapshots' '
	rm -rf "$TRASH/fg" && cp -a "$TRASH/template" "$TRASH/fg" &&
	export VAULT_REPO=$TRASH/fg &&
	a=$(sed -n 3p all.ids) && b=$(sed -n 7p all.ids) &&
	vault forget "$a" "${b:0:12}" &&
	grep -v -e "$a" -e "$b" all.ids >want &&
	listed_ids >got &&
	test_cmp want got
'

test_expect_success 'setup: snapshots of distinct data for space reclamation' '
	new_repo "$TRASH/space" &&
	mkdir -p d &&
	head -c $((20 * MiB)) /dev/urandom >d/big1 &&
	vault snapshot d &&
	rm d/big1 && head -c $((20 * MiB)) /dev/urandom >d/big2 &&
	vault snapshot d &&
	rm d/big2 &&
	head -c $((2 * MiB)) /dev/urandom >d/keep &&
	head -c $((20 * MiB)) /dev/urandom >d/big3 &&
	vault snapshot d &&
	rm d/big3 &&
	vault snapshot d &&
	test "$(listed_ids | wc -l)" = 4 &&
	before=$(repo_pack_bytes) &&
	test "$before" -gt $((60 * MiB))
'

test_expect_success 'prune --keep-last 1 reclaims the space of the forgotten data' '
	vault prune --keep-last 1 >prune.out &&
	cat prune.out &&
	test "$(listed_ids | wc -l)" = 1 &&
	after=$(repo_pack_bytes) &&
	echo "packs: $before -> $after bytes" &&
	test_le $((2 * MiB)) "$after" "live data still stored" &&
	# the pack holding keep + big3 is mostly dead: it must be repacked
	test_le "$after" $((6 * MiB)) "pack bytes after prune"
'

test_expect_success 'prune says what it freed' '
	grep -Eqi "freed|reclaimed|deleted|removed" prune.out
'

test_expect_success 'after prune the repository is sound and the data intact' '
	vault check --read-data &&
	vault cat latest d/keep | cmp - d/keep &&
	vault mount latest m &&
	diff -r d m/d
'

# A second prune may still drop the bookkeeping of the first (the
# tombstone of snapshots whose records are gone); after that, prune is a
# fixed point.
test_expect_success 'repeated prunes forget nothing more and reach a fixed point' '
	b1=$(repo_pack_bytes) &&
	vault prune --keep-last 1 &&
	b2=$(repo_pack_bytes) &&
	test_le "$b2" "$b1" "pack bytes after a second prune" &&
	test_le $((b1 - b2)) 65536 "bytes freed by a second prune" &&
	vault prune --keep-last 1 >prune3.out &&
	test "$(repo_pack_bytes)" = "$b2" &&
	test "$(listed_ids | wc -l)" = 1 &&
	vault cat latest d/keep | cmp - d/keep
'

test_done

#!/bin/bash
# index.db is a cache of what the packs say: after deleting it, `vault
# check --rebuild-index` restores the same snapshots (ids, times, tags,
# forgotten ones staying forgotten), the same contents, and a repository
# that passes check --read-data.
. "$(dirname "$0")/../test-lib.sh"

MiB=$((1024 * 1024))

rebuild_scenario() {
	local enc=$1

	test_expect_success "setup ($enc): several snapshots, tags, a forgotten one" '
		new_repo --encryption '"$enc"' &&
		rm -rf data m-* &&
		mkdir -p data/sub &&
		head -c $((5 * MiB)) /dev/urandom >data/rnd &&
		seq 1 50000 >data/sub/numbers &&
		ln -sf rnd data/link &&
		vault snapshot --tag first --time 2024-05-01T10:00:00Z data &&
		echo changed >>data/sub/numbers &&
		echo new >data/new &&
		vault snapshot --tag second --tag extra --time 2024-05-02T11:30:00Z data &&
		echo gone >data/gone &&
		vault snapshot --time 2024-05-03T12:00:00Z data &&
		seq 1 1000 | vault snapshot --stdin-name dump.sql --time 2024-05-04T08:00:00Z - &&
		vault forget "$(vault list --json | jq -r ".[2].id")" &&
		vault list --json >list.before &&
		test "$(jq length list.before)" = 3 &&
		for id in $(jq -r ".[].id" list.before); do
			vault mount "$id" "m-before-$id" || return 1
		done &&
		vault stats --json >stats.before
	'

	test_expect_success "($enc) delete index.db (and its WAL files)" '
		rm -f "$VAULT_REPO/index.db" "$VAULT_REPO/index.db-wal" "$VAULT_REPO/index.db-shm" &&
		test_path_is_missing "$VAULT_REPO/index.db"
	'

	test_expect_success "($enc) check --rebuild-index restores it" '
		vault check --rebuild-index &&
		test_path_is_file "$VAULT_REPO/index.db"
	'

	test_expect_success "($enc) the same snapshots are listed (ids, times, tags)" '
		vault list --json >list.after &&
		jq -S "[.[] | {id, time, tags}]" list.before >want &&
		jq -S "[.[] | {id, time, tags}]" list.after >got &&
		test_cmp want got
	'

	test_expect_success "($enc) every snapshot mounts identically" '
		for id in $(jq -r ".[].id" list.before); do
			vault mount "$id" "m-after-$id" &&
			tree_state "m-before-$id" >a &&
			tree_state "m-after-$id" >b &&
			test_cmp a b || return 1
		done
	'

	test_expect_success "($enc) check --read-data passes after the rebuild" '
		vault check --read-data
	'

	test_expect_success "($enc) the rebuilt index has the same totals" '
		vault stats --json >stats.after &&
		for k in snapshots chunks; do
			test "$(jq ".$k" stats.before)" = "$(jq ".$k" stats.after)" ||
				{ echo "$k differs" >&2; return 1; }
		done
	'

	test_expect_success "($enc) the repository keeps working: snapshot, dedup, prune" '
		vault snapshot --json data >again.json &&
		test_le "$(json_get .bytes_added again.json)" $((64 * 1024)) "bytes_added" &&
		vault prune --keep-last 2 &&
		# two of data/, and the one of standard input: its own group
		test "$(vault list --json | jq length)" = 3 &&
		test "$(vault list --json | jq "map(select(.source | endswith(\":-\"))) | length")" = 1 &&
		vault check --read-data
	'

	test_expect_success "($enc) rebuilding an intact index changes nothing visible" '
		vault list --json >l1 &&
		vault check --rebuild-index &&
		vault list --json >l2 &&
		test_cmp l1 l2
	'

	test_expect_success "($enc) without index.db, commands refuse and point to the rebuild" '
		rm -f "$VAULT_REPO/index.db" "$VAULT_REPO/index.db-wal" "$VAULT_REPO/index.db-shm" &&
		test_must_fail_with 1 "index.db is missing.*--rebuild-index" vault list &&
		test_must_fail_with 1 "index.db is missing" vault snapshot data &&
		test_path_is_missing "$VAULT_REPO/index.db"
	'

	test_expect_success "($enc) a rebuild then restores the same snapshots" '
		vault check --rebuild-index &&
		vault list --json >l3 &&
		test_cmp l1 l3 &&
		vault check --read-data
	'
}

rebuild_scenario repokey
rebuild_scenario none

test_done

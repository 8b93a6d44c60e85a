#!/bin/bash
# The files cache (formats/files-cache.md): a repeat snapshot of an
# unchanged tree reads nothing, yet stores the same content; a file with
# new content and the same size, one replaced by another (new inode),
# one only touched, and one whose mtime was put back after a change (only
# its ctime tells) are read again, and every one mounts right.  A file
# changed just before the snapshot started is read again next time; the
# repository has the last word over the cache (after a prune, or with a
# damaged cache, files are read); --no-files-cache reads everything; the
# cache lives under $XDG_CACHE_HOME/vault/<repository id>/ and names no
# file.
. "$(dirname "$0")/../test-lib.sh"

MiB=$((1024 * 1024))

# files changed less than 2 s before a snapshot starts are read again by
# the next one, whatever their metadata: age the tree's ctimes first
age() { sleep 2.2; }

cache_dir() {
	echo "$XDG_CACHE_HOME/vault/$(sed -n "s/^id //p" "$VAULT_REPO/config")/files"
}

test_expect_success 'setup: 11 MiB in a tree, 24 files, aged' '
	new_repo --encryption repokey &&
	mkdir -p data/sub/deeper &&
	head -c $((8 * MiB)) /dev/urandom >data/big &&
	head -c $((3 * MiB)) /dev/urandom >data/sub/medium &&
	for i in $(seq 1 16); do seq 1 $((i * 1000)) >data/sub/s$i || return 1; done &&
	printf "same size\n" >data/same &&
	printf "replace me\n" >data/replaced &&
	printf "touch me\n" >data/touched &&
	printf "sneaky 1\n" >data/sneaky &&
	printf "" >data/empty &&
	printf "deep\n" >data/sub/deeper/f &&
	ln -s sub/medium data/link &&
	find data -exec touch -h -d "2024-01-02 03:04:05" {} + &&
	total=$(find data -type f -printf "%s\n" | awk "{s += \$1} END {print s}") &&
	echo "$total" >total &&
	age
'

test_expect_success 'the first snapshot reads everything and writes the cache' '
	vault snapshot --json data >first.json &&
	test_eq "$(cat total)" "$(jq .bytes_read first.json)" "bytes_read" &&
	test_eq "$(cat total)" "$(jq .bytes_total first.json)" "bytes_total" &&
	test_eq 0 "$(jq .files_unchanged first.json)" &&
	dir=$(cache_dir) &&
	test_eq 1 "$(ls "$dir" | wc -l)" "cache files" &&
	test_path_is_file "$XDG_CACHE_HOME/vault/CACHEDIR.TAG" &&
	test_eq 700 "$(stat -c %a "$dir")" "mode of the cache directory" &&
	test_eq 600 "$(stat -c %a "$dir"/*)" "mode of the cache file" &&
	# keyed hashes only: no file name in it
	! grep -aq -e medium -e deeper -e replaced -e data "$dir"/*
'

test_expect_success 'a repeat snapshot of the unchanged tree reads nothing' '
	vault snapshot --json data >second.json &&
	test_eq 0 "$(jq .bytes_read second.json)" "bytes_read" &&
	test_eq "$(cat total)" "$(jq .bytes_total second.json)" "bytes_total" &&
	test_eq "$(cat total)" "$(jq .bytes_reused second.json)" "bytes_reused" &&
	test_eq 24 "$(jq .files_unchanged second.json)" "files_unchanged" &&
	test_eq 0 "$(jq .bytes_added second.json)" "bytes_added" &&
	test_eq "$(jq .entries first.json)" "$(jq .entries second.json)" &&
	vault diff "$(jq -r .id first.json)" "$(jq -r .id second.json)" >diff.out &&
	! grep -E "^[-+M] " diff.out &&
	vault snapshot data >second.txt &&
	grep -Eq "^  bytes read:  0 B \([0-9.]+ MiB unchanged, not read\)" second.txt
'

test_expect_success 'changed, replaced, touched and mtime-restored files are read again' '
	# the same size, new bytes, a new mtime
	printf "SAME SIZE\n" >data/same &&
	# another file (another inode) put in its place, same size and mtime
	printf "replaced!!\n" >new && touch -d "2024-01-02 03:04:05" new &&
	mv new data/replaced &&
	# a new mtime, the same content
	touch data/touched &&
	# new content of the same size, the old mtime put back: only the
	# ctime says it changed
	printf "sneaky 2\n" >data/sneaky && touch -d "2024-01-02 03:04:05" data/sneaky &&
	vault snapshot --json data >third.json &&
	want=$(cat data/same data/replaced data/touched data/sneaky | wc -c) &&
	test_eq "$want" "$(jq .bytes_read third.json)" "bytes_read" &&
	test_eq 20 "$(jq .files_unchanged third.json)" "files_unchanged" &&
	vault mount latest out3 &&
	diff -r data out3/data &&
	tree_state data >expect && tree_state out3/data >actual &&
	test_cmp expect actual
'

test_expect_success 'a file changed right before a snapshot is read again by the next' '
	printf "fresh\n" >data/fresh &&
	vault snapshot --json data >racy1.json &&
	vault snapshot --json data >racy2.json &&
	test_le 6 "$(jq .bytes_read racy2.json)" "bytes_read after a racy file" &&
	age &&
	vault snapshot --json data >racy3.json &&
	vault snapshot --json data >racy4.json &&
	test_eq 0 "$(jq .bytes_read racy4.json)" "bytes_read once it is old"
'

test_expect_success 'the repository has the last word: after a prune, files are read' '
	cp -a "$(cache_dir)" cache.saved &&
	vault forget $(vault list --json | jq -r ".[].id") >/dev/null &&
	vault prune >/dev/null &&
	test_eq 0 "$(vault stats --json | jq .chunks)" "chunks left" &&
	# the cache still vouches for every file, but its chunks are gone
	rm -rf "$(cache_dir)" && cp -a cache.saved "$(cache_dir)" &&
	vault snapshot --json data >after-prune.json &&
	test_eq "$(jq .bytes_total after-prune.json)" "$(jq .bytes_read after-prune.json)" &&
	vault mount latest out-prune &&
	diff -r data out-prune/data &&
	vault check --read-data >/dev/null
'

test_expect_success 'a damaged cache is ignored with a warning, and rewritten' '
	age &&
	vault snapshot data >/dev/null &&
	f=$(ls -d "$(cache_dir)"/*) &&
	printf "\377" | dd of="$f" bs=1 seek=100 conv=notrunc 2>/dev/null &&
	vault snapshot --json data >damaged.json 2>damaged.err &&
	grep -q "warning: ignoring the files cache .*damaged files cache: checksum mismatch" damaged.err &&
	test_eq "$(jq .bytes_total damaged.json)" "$(jq .bytes_read damaged.json)" &&
	vault snapshot --json data >healed.json &&
	test_eq 0 "$(jq .bytes_read healed.json)" "bytes_read after the rewrite"
'

test_expect_success '--no-files-cache reads every file' '
	vault snapshot --no-files-cache --json data >nocache.json &&
	test_eq "$(jq .bytes_total nocache.json)" "$(jq .bytes_read nocache.json)" &&
	test_eq 0 "$(jq .files_unchanged nocache.json)"
'

test_expect_success 'one cache per PATH: a snapshot of a subset uses it' '
	mkdir -p other && printf "other\n" >other/x && touch -d "2024-01-02" other/x &&
	age &&
	vault snapshot other data >/dev/null &&
	test_eq 2 "$(ls "$(cache_dir)" | wc -l)" "cache files" &&
	vault snapshot --json data >subset.json &&
	test_eq 0 "$(jq .bytes_read subset.json)" "bytes_read"
'

test_expect_success 'without any cache directory the snapshot still works' '
	(unset XDG_CACHE_HOME HOME && vault snapshot --json data) >nohome.json &&
	test_eq "$(jq .bytes_total nohome.json)" "$(jq .bytes_read nohome.json)"
'

test_expect_success 'a cache directory that cannot be written: a warning, the snapshot stands' '
	printf "in the way\n" >blocked &&
	VAULT_CACHE_DIR=$TEST_TMP/blocked/x vault snapshot data >blocked.out 2>blocked.err &&
	grep -q "warning: cannot update the files cache" blocked.err &&
	grep -q "^snapshot .* saved" blocked.out
'

test_done

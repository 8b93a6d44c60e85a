#!/bin/bash
# What a snapshot of files leaves out, and a look before storing:
# --exclude (names and anchored paths, '**', directories only),
# --exclude-file (comments, blanks), bad patterns refused before the
# repository is touched, --one-file-system (a mount point stored empty),
# and --dry-run, which reports what would be stored (counts, bytes,
# excluded, unreadable) and writes nothing: no pack, no index change, no
# files cache, no writer lock.
. "$(dirname "$0")/../test-lib.sh"

test_expect_success 'setup: a source tree with build output and caches' '
	new_repo --encryption none &&
	mkdir -p proj/src/lib proj/build/obj proj/node_modules/x proj/.cache \
		proj/docs/cache proj/src/cache &&
	printf "int main;\n" >proj/src/main.c &&
	printf "lib\n" >proj/src/lib/a.c &&
	printf "obj\n" >proj/src/lib/a.o &&
	printf "obj\n" >proj/build/obj/main.o &&
	printf "log\n" >proj/build/build.log &&
	printf "js\n" >proj/node_modules/x/index.js &&
	printf "c\n" >proj/.cache/blob &&
	printf "doc\n" >proj/docs/index.md &&
	printf "a file named cache\n" >proj/docs/cache/keep-dir-contents &&
	printf "x\n" >proj/src/cache/tmp &&
	printf "top\n" >proj/README
'

# the sorted paths of the latest snapshot
paths() { vault ls latest | awk "{print \$NF}" | sort; }

test_expect_success '--exclude: names at any depth, anchored paths, **' '
	vault snapshot --json -e "*.o" --exclude node_modules \
		--exclude "proj/build" -e "**/src/**/tmp" proj >ex.json &&
	paths >got &&
	! grep -E "\.o$|node_modules|proj/build|src/cache/tmp" got &&
	grep -qx "proj/src/lib/a.c" got &&
	grep -qx "proj/src/cache" got &&
	grep -qx "proj/docs/cache/keep-dir-contents" got &&
	# a.o, node_modules, build (once: its contents are not visited), tmp
	test_eq 4 "$(jq .excluded ex.json)" "excluded"
'

test_expect_success 'a pattern with a / is anchored at the snapshot top' '
	vault snapshot -e "src/lib" -e "lib/a.c" proj >/dev/null &&
	paths >got &&
	grep -qx "proj/src/lib/a.c" got &&
	vault snapshot -e "proj/src/lib" proj >/dev/null &&
	paths >got &&
	! grep -q "proj/src/lib" got &&
	grep -qx "proj/src/main.c" got
'

test_expect_success 'a trailing / matches directories only' '
	printf "a file named cache\n" >proj/docs/index-cache &&
	mv proj/docs/index-cache proj/cache &&
	vault snapshot -e "cache/" proj >/dev/null &&
	paths >got &&
	grep -qx "proj/cache" got &&
	! grep -q "proj/docs/cache" got &&
	! grep -q "proj/src/cache" got
'

test_expect_success '--exclude-file: one pattern a line, # comments, blanks' '
	cat >excludes <<-\EOF &&
	# build output
	*.o

	   proj/build/
	node_modules   # not a comment: part of the pattern
	node_modules
	EOF
	vault snapshot --exclude-file excludes -e ".cache" proj >/dev/null &&
	paths >got &&
	! grep -E "\.o$|node_modules|proj/build|\.cache" got &&
	grep -qx "proj/README" got
'

test_expect_success 'bad patterns and a missing exclude file are refused before anything' '
	repo_fingerprint >fp.before &&
	test_must_fail_with 2 "bad exclude pattern .\[abc.: an unterminated" \
		vault snapshot -e "[abc" proj &&
	test_must_fail_with 2 "negated patterns" vault snapshot -e "!x" proj &&
	printf "ok\n[bad\n" >bad-excludes &&
	test_must_fail_with 2 "bad-excludes, line 2" \
		vault snapshot --exclude-file bad-excludes proj &&
	test_must_fail_with 1 "cannot open exclude file .*no-such-file" \
		vault snapshot --exclude-file no-such-file proj &&
	test_must_fail_with 2 "apply to PATHs" vault snapshot -e x - </dev/null &&
	repo_fingerprint >fp.after &&
	test_cmp fp.before fp.after
'

test_expect_success '--dry-run reports and writes nothing' '
	repo_fingerprint >fp.before &&
	ls -R "$XDG_CACHE_HOME" >cache.before 2>&1;
	vault snapshot --dry-run -e "*.o" -e node_modules proj >dry.out &&
	grep -q "^dry run: nothing was stored" dry.out &&
	grep -q "^  excluded:    3" dry.out &&
	grep -q "^    proj/node_modules" dry.out &&
	vault snapshot -n --json -e "*.o" -e node_modules proj >dry.json &&
	test_eq true "$(jq .dry_run dry.json)" &&
	files=$(find proj -type f ! -name "*.o" ! -path "*node_modules*" | wc -l) &&
	bytes=$(find proj -type f ! -name "*.o" ! -path "*node_modules*" -printf "%s\n" |
		awk "{s += \$1} END {print s}") &&
	test_eq "$files" "$(jq .files dry.json)" "files" &&
	test_eq "$bytes" "$(jq .bytes dry.json)" "bytes" &&
	test_eq 3 "$(jq .excluded dry.json)" "excluded" &&
	test_eq "proj/build/obj/main.o proj/node_modules proj/src/lib/a.o" \
		"$(jq -r ".excluded_paths | join(\" \")" dry.json)" &&
	repo_fingerprint >fp.after &&
	test_cmp fp.before fp.after &&
	ls -R "$XDG_CACHE_HOME" >cache.after 2>&1;
	test_cmp cache.before cache.after
'

test_expect_success '--dry-run takes no writer lock' '
	flock -x "$VAULT_REPO/lock" \
		"$VAULT" snapshot --dry-run proj >locked.out &&
	grep -q "^dry run" locked.out &&
	test_must_fail_with 11 "lock" flock -x "$VAULT_REPO/lock" \
		"$VAULT" snapshot proj
'

test_expect_success '--dry-run sees the files cache and unreadable paths' '
	find proj -exec touch -h -d "2024-01-02" {} + &&
	sleep 2.2 &&
	vault snapshot proj >/dev/null &&
	vault snapshot -n --json proj >dry2.json &&
	test_eq 0 "$(jq .bytes_to_read dry2.json)" "bytes_to_read" &&
	test_eq "$(jq .files dry2.json)" "$(jq .files_unchanged dry2.json)" &&
	printf "changed\n" >>proj/README &&
	vault snapshot -n --json proj >dry3.json &&
	test_eq "$(wc -c <proj/README)" "$(jq .bytes_to_read dry3.json)"
'

test_expect_success '--dry-run is for PATHs only' '
	test_must_fail_with 2 "dry-run covers PATHs only" \
		vault snapshot --dry-run --db "dbname=nothing" proj
'

# A tmpfs mounted inside the tree, in a mount namespace of our own.
if unshare -m true 2>/dev/null && [ "$(id -u)" = 0 ]; then
	test_set_prereq MOUNT
fi

test_expect_success MOUNT '--one-file-system stores a mount point empty' '
	mkdir -p fs/mnt fs/here &&
	printf "here\n" >fs/here/f &&
	unshare -m sh -c "mount -t tmpfs none fs/mnt &&
		printf \"elsewhere\n\" >fs/mnt/g &&
		\"$VAULT\" snapshot --json -x fs >x.json &&
		\"$VAULT\" snapshot --json fs >nox.json" &&
	vault ls "$(jq -r .id x.json)" | awk "{print \$NF}" >x.ls &&
	grep -qx "fs/mnt" x.ls && ! grep -q "fs/mnt/g" x.ls &&
	grep -qx "fs/here/f" x.ls &&
	test_eq 1 "$(jq .excluded x.json)" "excluded" &&
	vault ls "$(jq -r .id nox.json)" | grep -q "fs/mnt/g"
'

test_done

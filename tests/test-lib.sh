# test-lib.sh: the shared harness for tests/cli/tNNNN-*.sh (bash).
#
# Each scenario script sources this file, then reads like a story:
#
#   . "$(dirname "$0")/../test-lib.sh"
#   new_repo --encryption none
#   test_expect_success 'snapshot a file' '
#           echo hi >f && vault snapshot f
#   '
#   test_done
#
# It emits TAP (the plan comes last, from test_done), gives every script
# a fresh temporary directory (the cwd; removed on exit), a `vault`
# function that runs $VAULT with a timeout, helpers to assert exit codes
# and messages, fresh repositories and a throwaway PostgreSQL cluster.
# Test bodies are eval'ed in the script's shell, so chain commands with
# && as in git's t/ (a failing command in the middle must fail the test);
# their output goes to a log that is shown, as TAP comments, only when
# the test fails (or always with VAULT_TEST_VERBOSE=1).

# ---- locations -----------------------------------------------------------
# make check sets these (AM_TESTS_ENVIRONMENT); running a script by hand
# from the source tree falls back to an in-tree build.
TEST_NAME=$(basename "$0" .sh)
TEST_DIRECTORY=$(cd "$(dirname "$0")/.." && pwd)
: "${VAULT_SRCDIR:=$(cd "$TEST_DIRECTORY/.." && pwd)}"
: "${VAULT_BUILDDIR:=$VAULT_SRCDIR}"
: "${VAULT:=$TEST_DIRECTORY/../vault}"
case $VAULT in
/*) ;;
*) VAULT=$(cd "$(dirname "$VAULT")" && pwd)/$(basename "$VAULT") ;;
esac
export VAULT VAULT_SRCDIR VAULT_BUILDDIR

# Seconds any single `vault` call may take before it is killed (so a hang
# fails one test instead of stalling make check).
: "${VAULT_TEST_CMD_TIMEOUT:=300}"

# Nothing from the caller's environment may leak into a test.
unset VAULT_REPO VAULT_PASSPHRASE VAULT_PASSPHRASE_FILE VAULT_NEW_PASSPHRASE
unset PGHOST PGPORT PGUSER PGDATABASE PGPASSWORD PGSERVICE PGOPTIONS
export LC_ALL=C.UTF-8 TZ=UTC
# Argon2id at the minimum cost (the default costs 0.1 s and 64 MiB per
# open); t0030 checks the real default once.
export VAULT_TESTONLY_WEAKEN_KDF=1

# ---- TAP state -----------------------------------------------------------
test_count=0
test_failed=0
test_skipped=0
test_done_called=
test_prereqs=" "

say() { printf '# %s\n' "$*"; }

# Shows a file as TAP comments (the last 80 lines).
test_show_log_() {
	[ -s "$1" ] || return 0
	tail -n 80 "$1" | sed 's/^/#   /'
}

# ---- the per-script temporary directory ----------------------------------
TEST_TMP=$(mktemp -d "${TMPDIR:-/tmp}/vault-$TEST_NAME.XXXXXX") || {
	echo "Bail out! cannot create a temporary directory"
	exit 1
}
TRASH=$TEST_TMP
TEST_LOG=$TEST_TMP/.test-log
test_cleanup_cmds=

# Registers a shell command to run at exit (before the temp dir goes).
test_at_exit() {
	test_cleanup_cmds="$1
$test_cleanup_cmds"
}

test_exit_() {
	local rc=$?
	set +e
	# Background helpers (feeders, holders) must not outlive the script.
	local j
	for j in $(jobs -p); do
		{ kill -KILL "$j" && wait "$j"; } 2>/dev/null
	done
	eval "$test_cleanup_cmds" >/dev/null 2>&1
	pg_stop >/dev/null 2>&1
	cd / && rm -rf "$TEST_TMP"
	if [ -z "$test_done_called" ]; then
		echo "# $TEST_NAME: the script ended (status $rc) before test_done"
		echo "Bail out! $TEST_NAME died early"
		exit 1
	fi
	exit "$rc"
}
trap test_exit_ EXIT
trap 'exit 143' TERM
trap 'exit 130' INT
cd "$TEST_TMP" || exit 1
# The files cache of `vault snapshot` (formats/files-cache.md) goes beside
# the temporary directory, not into the caller's home nor into the tree
# a test may snapshot; it goes with the temporary directory.
unset VAULT_CACHE_DIR
export XDG_CACHE_HOME=$TEST_TMP.cache
test_at_exit 'rm -rf "$XDG_CACHE_HOME"'

# ---- prerequisites -------------------------------------------------------
test_set_prereq() { test_prereqs="$test_prereqs$1 "; }
test_have_prereq() {
	local p
	for p in $(echo "$1" | tr , ' '); do
		case $test_prereqs in
		*" $p "*) ;;
		*) return 1 ;;
		esac
	done
}
command -v jq >/dev/null 2>&1 && test_set_prereq JQ
[ "$(id -u)" = 0 ] && test_set_prereq ROOT

# ---- running tests -------------------------------------------------------
test_ok_() {
	test_count=$((test_count + 1))
	echo "ok $test_count - $1"
}

test_not_ok_() {
	test_count=$((test_count + 1))
	test_failed=$((test_failed + 1))
	echo "not ok $test_count - $1"
}

# test_skip 'desc' 'reason'
test_skip() {
	test_count=$((test_count + 1))
	test_skipped=$((test_skipped + 1))
	echo "ok $test_count # SKIP $1 ($2)"
}

# Runs a body in this shell with its output in the log; returns its status.
test_run_() {
	local body=$1
	: >"$TEST_LOG"
	(exit 0)
	eval "$body" >>"$TEST_LOG" 2>&1 </dev/null
	local rc=$?
	if [ -n "${VAULT_TEST_VERBOSE:-}" ]; then
		test_show_log_ "$TEST_LOG"
	fi
	return $rc
}

# test_expect_success [PREREQ] 'desc' 'body'
test_expect_success() {
	local prereq=
	if [ $# = 3 ]; then
		prereq=$1
		shift
	fi
	if [ $# != 2 ]; then
		echo "Bail out! test_expect_success needs 'desc' 'body'"
		exit 1
	fi
	if [ -n "$prereq" ] && ! test_have_prereq "$prereq"; then
		test_skip "$1" "missing prerequisite $prereq"
		return 0
	fi
	if test_run_ "$2"; then
		test_ok_ "$1"
	else
		test_not_ok_ "$1"
		say "failed body:"
		printf '%s\n' "$2" | sed 's/^/#   /'
		say "output:"
		test_show_log_ "$TEST_LOG"
	fi
}

# test_expect_failure [PREREQ] 'desc' 'body': a known breakage.  Like
# test_expect_success, but a failing body is reported as TAP TODO, not as
# a failure (use sparingly, and say why next to it).
test_expect_failure() {
	local prereq=
	if [ $# = 3 ]; then
		prereq=$1
		shift
	fi
	if [ -n "$prereq" ] && ! test_have_prereq "$prereq"; then
		test_skip "$1" "missing prerequisite $prereq"
		return 0
	fi
	test_count=$((test_count + 1))
	if test_run_ "$2"; then
		echo "ok $test_count - $1 # TODO known breakage vanished"
	else
		echo "not ok $test_count - $1 # TODO known breakage"
	fi
}

# Plans the end: prints the plan, exits 0 unless something failed.
test_done() {
	test_done_called=1
	echo "1..$test_count"
	if [ "$test_skipped" -gt 0 ]; then
		say "$test_skipped test(s) skipped"
	fi
	if [ "$test_failed" -gt 0 ]; then
		say "failed $test_failed of $test_count"
		exit 1
	fi
	exit 0
}

# Skips the whole script loudly (TAP "1..0 # SKIP reason").
skip_all() {
	test_done_called=1
	if [ "$test_count" = 0 ]; then
		echo "1..0 # SKIP $*"
	else
		# Too late for a skip-all plan: skip one point and finish.
		test_skip "remaining tests" "$*"
		echo "1..$test_count"
	fi
	exit 0
}

# ---- assertions (use inside bodies) --------------------------------------
# Each prints why it failed to stderr (into the log) and returns 1.

test_fail_() {
	echo "FAIL: $*" >&2
	return 1
}

# test_must_fail_with CODE PATTERN cmd args...: cmd must exit with CODE
# and its stderr must match the extended regex PATTERN (case-insensitive).
# The stderr is kept in $TEST_TMP/.stderr for further checks.
test_must_fail_with() {
	local want=$1 pattern=$2 rc
	shift 2
	"$@" >"$TEST_TMP/.stdout" 2>"$TEST_TMP/.stderr"
	rc=$?
	echo "exit $rc from: $*" >&2
	sed 's/^/stderr: /' "$TEST_TMP/.stderr" >&2
	[ "$rc" = "$want" ] || test_fail_ "wanted exit $want, got $rc"  || return 1
	grep -Eqi -- "$pattern" "$TEST_TMP/.stderr" ||
		test_fail_ "stderr does not match /$pattern/" || return 1
}

# test_must_fail cmd...: any ordinary failure (not a crash, not a timeout).
test_must_fail() {
	local rc
	"$@"
	rc=$?
	if [ "$rc" = 0 ]; then
		test_fail_ "expected failure, got success: $*"
		return 1
	fi
	if [ "$rc" -gt 123 ]; then
		test_fail_ "died with status $rc (crash, signal or timeout): $*"
		return 1
	fi
	return 0
}

# test_exit_code CODE cmd...: exactly this exit code (output passes through).
test_exit_code() {
	local want=$1 rc
	shift
	"$@"
	rc=$?
	[ "$rc" = "$want" ] || test_fail_ "wanted exit $want, got $rc: $*"
}

test_cmp() {
	diff -u "$1" "$2" >&2 || test_fail_ "$1 and $2 differ"
}

# flip_byte FILE OFFSET: inverts the bits of one byte in place (and
# checks that it did), to damage a pack or a chunk.
flip_byte() {
	local old new
	old=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d " ") &&
	new=$(( old ^ 255 )) &&
	printf "$(printf '\\%03o' "$new")" |
		dd of="$1" bs=1 seek="$2" count=1 conv=notrunc status=none &&
	test "$(od -An -tu1 -j "$2" -N1 "$1" | tr -d " ")" = "$new"
}

# test_eq WANT GOT [what]
test_eq() {
	[ "$1" = "$2" ] || test_fail_ "${3:-value}: wanted '$1', got '$2'"
}

# test_le A B [what]: integer A <= B
test_le() {
	[ "$1" -le "$2" ] || test_fail_ "${3:-value}: wanted $1 <= $2"
}

test_grep() {
	grep -E "$@" >/dev/null || test_fail_ "no match for grep -E $*"
}

test_path_is_file() { [ -f "$1" ] || test_fail_ "$1 is not a file"; }
test_path_is_dir() { [ -d "$1" ] || test_fail_ "$1 is not a directory"; }
test_path_is_missing() {
	if [ -e "$1" ] || [ -L "$1" ]; then
		test_fail_ "$1 exists"
	fi
}

# ---- the program ---------------------------------------------------------
# Runs $VAULT in a session of its own (no controlling terminal, so it can
# never sit waiting at a passphrase prompt) and with a time limit.
vault() {
	setsid -w timeout -k 10 "$VAULT_TEST_CMD_TIMEOUT" "$VAULT" "$@"
}

# A script that does not run vault (the harness self-tests) sets
# TEST_NO_VAULT=1 before sourcing this file.
if [ -z "${TEST_NO_VAULT:-}" ] && [ ! -x "$VAULT" ]; then
	skip_all "vault binary not found at $VAULT (build it first)"
fi
# The scenarios read vault's --json output with jq.
if [ -z "${TEST_NO_VAULT:-}" ] && ! test_have_prereq JQ; then
	skip_all "jq not found (apt-get install jq)"
fi

# new_repo [--encryption repokey|none] [DIR]: creates a fresh repository
# (default: $TEST_TMP/repo, then repo2, ...) and exports VAULT_REPO and
# VAULT_PASSPHRASE for it.
new_repo_n=0
new_repo() {
	local enc=repokey dir=
	while [ $# -gt 0 ]; do
		case $1 in
		--encryption) enc=$2; shift 2 ;;
		--encryption=*) enc=${1#*=}; shift ;;
		*) dir=$1; shift ;;
		esac
	done
	if [ -z "$dir" ]; then
		new_repo_n=$((new_repo_n + 1))
		if [ $new_repo_n = 1 ]; then
			dir=$TEST_TMP/repo
		else
			dir=$TEST_TMP/repo$new_repo_n
		fi
	fi
	VAULT_REPO=$dir
	VAULT_PASSPHRASE="correct horse battery staple $new_repo_n"
	export VAULT_REPO VAULT_PASSPHRASE
	vault init --encryption "$enc" >"$TEST_TMP/.init-out" 2>&1 || {
		echo "new_repo: vault init --encryption $enc $dir failed:" >&2
		cat "$TEST_TMP/.init-out" >&2
		return 1
	}
}

# The fault shim (tests/unit/srcfault.c, built by make check): under
# LD_PRELOAD it makes the files a snapshot reads fail or change.
SRCFAULT=$VAULT_BUILDDIR/tests/unit/srcfault.so
# need_srcfault: skips the whole script loudly when the shim is not built.
need_srcfault() {
	[ -f "$SRCFAULT" ] ||
		skip_all "tests/unit/srcfault.so not built (make check builds it)"
}
# vault_faults RULES ARGS...: vault with the shim's rules (see srcfault.c).
vault_faults() {
	(
		export LD_PRELOAD=$SRCFAULT VAULT_SRCFAULT=$1
		shift
		vault "$@"
	)
}

# json_get FILTER [FILE...]: a jq filter's raw output; fails on null/false.
json_get() {
	jq -er "$@"
}

# tree_state DIR: one line per entry under DIR (sorted by path): for files
# the mode, size, mtime (to the nanosecond) and a content hash; for
# directories the mode and mtime (mount must restore them after filling
# the directory); for symlinks the target.  Compare two with test_cmp.
tree_state() {
	(
		cd "$1" || exit 1
		find . -mindepth 1 -printf '%P\0' | sort -z |
		while IFS= read -r -d '' p; do
			if [ -L "$p" ]; then
				printf '%s\tlink\t%s\n' "$p" "$(readlink "$p")"
			elif [ -d "$p" ]; then
				printf '%s\tdir\t%s\t%s\n' "$p" \
					"$(stat -c %a "$p")" "$(stat -c %.9Y "$p")"
			else
				printf '%s\tfile\t%s\t%s\t%s\t%s\n' "$p" \
					"$(stat -c %a "$p")" "$(stat -c %s "$p")" \
					"$(stat -c %.9Y "$p")" \
					"$(sha256sum <"$p" | cut -c1-16)"
			fi
		done
	)
}

# Sum of the sizes of the repository's pack files, in bytes.
repo_pack_bytes() {
	find "${1:-$VAULT_REPO}/packs" -type f -name '*.pack' -printf '%s\n' |
		awk '{ s += $1 } END { print s + 0 }'
}

# A fingerprint of every file of a repository except volatile ones (the
# lock and SQLite's -wal/-shm side files), to prove nothing changed.
repo_fingerprint() {
	(
		cd "${1:-$VAULT_REPO}" || exit 1
		find . -type f ! -name lock ! -name '*-wal' ! -name '*-shm' \
			! -name '*.tmp' -printf '%P\0' | sort -z |
			xargs -0r sha256sum
	)
}

# ---- PostgreSQL ------------------------------------------------------------
# pg_start: a throwaway cluster owned by a non-root user (initdb refuses
# root: `postgres` if it exists, else a `vaulttest` user created here),
# listening on a private unix socket directory and a free 127.0.0.1 port.
# Exports PGHOST PGPORT PGUSER PGDATABASE (superuser "postgres", trust
# auth) and PG_BINDIR.  Returns 1 with PG_SKIP_REASON set when a
# prerequisite is missing, so callers can skip loudly:
#
#   pg_start || skip_all "$PG_SKIP_REASON"
#
# pg_stop runs at exit anyway.
PG_DIR=
PG_SKIP_REASON=
pg_as_() {
	if [ -n "$PG_OSUSER" ]; then
		runuser -u "$PG_OSUSER" -- "$@"
	else
		"$@"
	fi
}

pg_port_free_() {
	# Something answering means the port is taken.
	! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# pg_cluster_start_ DIR: initdb DIR/data and start it on DIR/sock and a
# free 127.0.0.1 port (in PG_CLUSTER_PORT); DIR exists and is ours.
# Returns 1 with PG_SKIP_REASON set on failure.
pg_cluster_start_() {
	local dir=$1 try port
	chmod 755 "$dir"
	mkdir "$dir/sock"
	[ -z "$PG_OSUSER" ] || chown -R "$PG_OSUSER" "$dir"
	if ! pg_as_ "$PG_BINDIR/initdb" -D "$dir/data" -U postgres --auth=trust \
		-E UTF8 --locale=C.UTF-8 --no-sync >"$dir/initdb.log" 2>&1 &&
	   ! pg_as_ "$PG_BINDIR/initdb" -D "$dir/data" -U postgres --auth=trust \
		-E UTF8 --locale=C --no-sync >>"$dir/initdb.log" 2>&1; then
		PG_SKIP_REASON="initdb failed: $(tail -n 3 "$dir/initdb.log" | tr '\n' ' ')"
		return 1
	fi
	for try in 1 2 3 4 5 6 7 8; do
		port=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
		pg_port_free_ "$port" || continue
		if pg_as_ "$PG_BINDIR/pg_ctl" -D "$dir/data" -l "$dir/server.log" \
			-w -t 60 -o "-p $port -k $dir/sock -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
			start >>"$dir/pg_ctl.log" 2>&1; then
			PG_CLUSTER_PORT=$port
			return 0
		fi
	done
	PG_SKIP_REASON="pg_ctl start failed: $(tail -n 3 "$dir/server.log" 2>/dev/null | tr '\n' ' ')"
	return 1
}

pg_start() {
	local bindir
	bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
	if [ -z "$bindir" ] && command -v pg_config >/dev/null 2>&1; then
		bindir=$(pg_config --bindir)
	fi
	if [ -z "$bindir" ] || [ ! -x "$bindir/initdb" ] || [ ! -x "$bindir/pg_ctl" ]; then
		PG_SKIP_REASON="PostgreSQL server binaries (initdb, pg_ctl) not found: apt-get install postgresql"
		return 1
	fi
	if ! command -v psql >/dev/null 2>&1; then
		PG_SKIP_REASON="psql not found: apt-get install postgresql-client"
		return 1
	fi
	PG_OSUSER=
	if [ "$(id -u)" = 0 ]; then
		if id postgres >/dev/null 2>&1; then
			PG_OSUSER=postgres
		else
			id vaulttest >/dev/null 2>&1 ||
				useradd --system --no-create-home --shell /usr/sbin/nologin vaulttest 2>/dev/null
			if ! id vaulttest >/dev/null 2>&1; then
				PG_SKIP_REASON="running as root and could not create a user for initdb"
				return 1
			fi
			PG_OSUSER=vaulttest
		fi
		if ! command -v runuser >/dev/null 2>&1; then
			PG_SKIP_REASON="runuser not found: apt-get install util-linux"
			return 1
		fi
	fi
	# Its own directory directly under /tmp: the server's user must be able
	# to reach it, and a unix socket path must stay short.
	PG_BINDIR=$bindir
	PG_DIR=$(mktemp -d /tmp/vault-pg.XXXXXX) || {
		PG_SKIP_REASON="mktemp failed"
		return 1
	}
	pg_cluster_start_ "$PG_DIR" || return 1
	PGHOST=$PG_DIR/sock
	PGPORT=$PG_CLUSTER_PORT
	PGUSER=postgres
	PGDATABASE=postgres
	export PGHOST PGPORT PGUSER PGDATABASE PG_BINDIR
	test_set_prereq PG
}

# pg_start_another NAME: after pg_start, one more throwaway cluster (for
# comparing restores that bring roles, which belong to a cluster); sets
# NAME_HOST and NAME_PORT.  It is stopped at exit.
pg_start_another() {
	local dir
	dir=$(mktemp -d "/tmp/vault-pg-$1.XXXXXX") || return 1
	PG_EXTRA_DIRS+=("$dir")
	pg_cluster_start_ "$dir" || return 1
	printf -v "${1}_HOST" '%s' "$dir/sock"
	printf -v "${1}_PORT" '%s' "$PG_CLUSTER_PORT"
}
PG_EXTRA_DIRS=()

pg_stop() {
	local d
	for d in "${PG_EXTRA_DIRS[@]}"; do
		pg_as_ "$PG_BINDIR/pg_ctl" -D "$d/data" -m immediate -w stop \
			>/dev/null 2>&1
		rm -rf "$d"
	done
	PG_EXTRA_DIRS=()
	[ -n "$PG_DIR" ] || return 0
	if [ -f "$PG_DIR/data/postmaster.pid" ] && [ -n "${PG_BINDIR:-}" ]; then
		pg_as_ "$PG_BINDIR/pg_ctl" -D "$PG_DIR/data" -m immediate -w stop \
			>/dev/null 2>&1
	fi
	rm -rf "$PG_DIR"
	PG_DIR=
	unset PGHOST PGPORT PGUSER PGDATABASE
}

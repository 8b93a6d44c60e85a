#!/bin/bash
# t-fuzz.sh: builds every harness of tests/fuzz/ (fuzz-<name>.c) with
# clang -fsanitize=fuzzer,address,undefined and runs each one on a copy
# of its seed corpus, tests/fuzz/corpus/<name>/, for VAULT_FUZZ_SECONDS
# (make check: 20; make fuzz: FUZZ_SECONDS, default 60).
#
# TAP: one point for the build, then one per harness.  A crash, an
# over-read, undefined behaviour, a leak, a timeout or a broken
# invariant fails the harness's point; the input that did it is kept in
# tests/fuzz/crashes/<name>/ of the build directory (libFuzzer prints a
# small one in base64 too), and `tests/fuzz/bin/fuzz-<name> FILE` or
# `tests/fuzz/replay-<name> FILE` replays it.
#
# Without clang or its libFuzzer runtime the script skips, loudly; under
# CI=true, or from `make fuzz` (VAULT_FUZZ_REQUIRED=1), that is a
# failure instead, since a skip must never pass for a run.
#
# Environment (make check and make fuzz set these):
#   VAULT_SRCDIR, VAULT_BUILDDIR   the trees (binaries go to the build
#                                  one, under tests/fuzz/bin/)
#   VAULT_FUZZ_CC                  clang (configure's FUZZ_CC); default
#                                  clang-14, else clang, from PATH
#   VAULT_FUZZ_CFLAGS, _LIBS       libsodium, lz4 and xxhash flags
#   VAULT_FUZZ_SECONDS             per harness (default 20)
#   VAULT_FUZZ_JOBS                harnesses run at once (default 2)
#   VAULT_FUZZ_ONLY                run only these harnesses (names)
TEST_NO_VAULT=1
. "$(dirname "$0")/../test-lib.sh"

SECONDS_EACH=${VAULT_FUZZ_SECONDS:-20}
JOBS=${VAULT_FUZZ_JOBS:-2}
FUZZ_SRC=$VAULT_SRCDIR/tests/fuzz
BIN=$VAULT_BUILDDIR/tests/fuzz/bin
CRASHES=$VAULT_BUILDDIR/tests/fuzz/crashes

case $SECONDS_EACH in
'' | *[!0-9]*) echo "Bail out! VAULT_FUZZ_SECONDS must be a number of seconds"; exit 1 ;;
esac
case $JOBS in
'' | *[!0-9]* | 0) echo "Bail out! VAULT_FUZZ_JOBS must be a positive number"; exit 1 ;;
esac

# The harnesses: every fuzz-<name>.c, or those named in VAULT_FUZZ_ONLY.
HARNESSES=()
for f in "$FUZZ_SRC"/fuzz-*.c; do
	h=${f##*/fuzz-}
	HARNESSES+=("${h%.c}")
done
if [ -n "${VAULT_FUZZ_ONLY:-}" ]; then
	all=" ${HARNESSES[*]} "
	HARNESSES=()
	for h in $VAULT_FUZZ_ONLY; do
		case $all in
		*" $h "*) HARNESSES+=("$h") ;;
		*) echo "Bail out! no harness tests/fuzz/fuzz-$h.c"; exit 1 ;;
		esac
	done
fi

# ---- the toolchain ----------------------------------------------------------
# missing REASON: skip, or fail where a skip must not pass.
missing() {
	MISSING_REASON=$1
	if [ "${CI:-}" = true ] || [ -n "${VAULT_FUZZ_REQUIRED:-}" ]; then
		test_expect_success 'clang and its libFuzzer runtime are installed' '
			echo "$MISSING_REASON" >&2 && false
		'
		test_done
	fi
	skip_all "$MISSING_REASON"
}

CC=${VAULT_FUZZ_CC:-}
if [ -z "$CC" ]; then
	for c in clang-14 clang; do
		if command -v "$c" >/dev/null 2>&1; then
			CC=$c
			break
		fi
	done
fi
[ -n "$CC" ] && command -v "$CC" >/dev/null 2>&1 ||
	missing "no clang to build the fuzz harnesses with (apt-get install clang-14 libclang-rt-14-dev)"

# Warnings shown, not fatal: the configured compiler builds the same
# files (the replay-* tests) with the project's warnings as errors, and
# clang's -Wformat=2 reads some of them differently.
SAN="-fsanitize=address,undefined -fno-sanitize-recover=all"
CFLAGS="-g -O1 -fno-omit-frame-pointer -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Wno-unused-parameter $SAN"
printf 'int LLVMFuzzerTestOneInput(const unsigned char *p, unsigned long n);\nint LLVMFuzzerTestOneInput(const unsigned char *p, unsigned long n) { return p && n > 9; }\n' >probe.c
if ! "$CC" $CFLAGS -fsanitize=fuzzer probe.c -o probe >probe.log 2>&1; then
	sed 's/^/# /' probe.log | tail -n 5
	missing "$CC cannot link -fsanitize=fuzzer (clang needs its libFuzzer runtime, libclang_rt.fuzzer: apt-get install clang-14 libclang-rt-14-dev)"
fi
say "compiler: $("$CC" --version | head -n 1)"

# Symbolized reports: ASan looks for llvm-symbolizer on PATH only.
if [ -z "${ASAN_SYMBOLIZER_PATH:-}" ]; then
	for s in "$("$CC" -print-prog-name=llvm-symbolizer 2>/dev/null)" \
		"$(command -v llvm-symbolizer-14)" /usr/lib/llvm-14/bin/llvm-symbolizer; do
		case $s in
		/*) if [ -x "$s" ]; then
			export ASAN_SYMBOLIZER_PATH=$s
			break
		fi ;;
		esac
	done
fi
# Leaks count as findings; UBSan stops at the first report (as ASan does).
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:strict_string_checks=1:check_initialization_order=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

# ---- build ----------------------------------------------------------------
# formats/*.c instrumented for coverage once, then one binary per harness.
build() {
	local f o objs=()

	rm -rf "$BIN" && mkdir -p "$BIN/obj" || return 1
	for f in "$VAULT_SRCDIR"/formats/*.c; do
		o=$BIN/obj/$(basename "$f" .c).o
		echo "$CC ... -c $f"
		"$CC" $CFLAGS -fsanitize=fuzzer-no-link ${VAULT_FUZZ_CFLAGS:-} \
			-I"$VAULT_SRCDIR/formats" -c "$f" -o "$o" || return 1
		objs+=("$o")
	done
	ar cr "$BIN/libformats-fuzz.a" "${objs[@]}" || return 1
	for h in "${HARNESSES[@]}"; do
		echo "$CC ... -o $BIN/fuzz-$h"
		"$CC" $CFLAGS -fsanitize=fuzzer ${VAULT_FUZZ_CFLAGS:-} \
			-I"$VAULT_SRCDIR/formats" -I"$FUZZ_SRC" \
			"$FUZZ_SRC/fuzz-$h.c" "$BIN/libformats-fuzz.a" \
			${VAULT_FUZZ_LIBS:--lsodium -llz4 -lxxhash} \
			-o "$BIN/fuzz-$h" || return 1
	done
}

test_expect_success "$CC builds ${#HARNESSES[@]} harnesses with libFuzzer, ASan and UBSan" '
	build
'
if [ "$test_failed" != 0 ]; then
	for h in "${HARNESSES[@]}"; do
		test_skip "fuzz-$h" "the build failed"
	done
	test_done
fi

# ---- run ------------------------------------------------------------------
# run_one NAME: the harness on a writable copy of its corpus; leaves
# out-NAME (libFuzzer's output) and rc-NAME.
run_one() {
	local h=$1

	if ! { mkdir -p "art-$h" && cp -R "$FUZZ_SRC/corpus/$h" "corpus-$h" &&
		chmod -R u+w "corpus-$h"; } >"out-$h" 2>&1; then
		echo "no seed corpus tests/fuzz/corpus/$h/ to start from" >>"out-$h"
		echo 1 >"rc-$h"
		return
	fi
	"$BIN/fuzz-$h" -max_total_time="$SECONDS_EACH" -timeout=10 \
		-rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="$TEST_TMP/art-$h/" "corpus-$h" \
		>"out-$h" 2>&1 </dev/null
	echo $? >"rc-$h"
}

say "running ${#HARNESSES[@]} harnesses for ${SECONDS_EACH}s each, $JOBS at a time"
for h in "${HARNESSES[@]}"; do
	while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do
		wait -n
	done
	run_one "$h" &
done
wait

# report NAME: passes when the harness ran its time without a finding.
report() {
	local h=$1 rc runs art

	rc=$(cat "rc-$h" 2>/dev/null)
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "out-$h")
	echo "fuzz-$h: exit ${rc:-?}, ${runs:-0} runs in ${SECONDS_EACH}s," \
		"corpus $(find "corpus-$h" -type f 2>/dev/null | wc -l) inputs"
	[ "$rc" = 0 ] && return 0
	tail -n 60 "out-$h"
	for art in "art-$h"/*; do
		[ -f "$art" ] || continue
		mkdir -p "$CRASHES/$h" && cp "$art" "$CRASHES/$h/"
		echo "kept $CRASHES/$h/${art##*/} ($(wc -c <"$art") bytes);" \
			"replay: $BIN/fuzz-$h $CRASHES/$h/${art##*/}"
	done
	return 1
}

for h in "${HARNESSES[@]}"; do
	test_expect_success "fuzz-$h runs ${SECONDS_EACH}s without a finding" "
		report '$h'
	"
	# the counts, in the TAP output even when it passes
	say "fuzz-$h: $(sed -n 's/^stat::number_of_executed_units: *//p' "out-$h" | head -n 1) runs"
done

test_done

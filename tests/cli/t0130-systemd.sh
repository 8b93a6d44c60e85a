#!/bin/bash
# Scheduling: `make install` (into a DESTDIR) puts the systemd units of
# doc/schedule/ (vault-snapshot, vault-prune and vault-check, a service
# and a timer each) in the unit directory, and the environment file and
# cron examples they share in the documentation directory.
#
# systemd-analyze verify must pass on the installed units without a word
# (an unknown key is only a warning to it, so any output fails): their
# ExecStart is pointed at the vault installed in the DESTDIR, and their
# man page at the one installed there.  Without systemd-analyze those
# tests skip loudly; under CI=true (.ci/run installs systemd) they fail.
# The command lines of the services and of the cron example then run as
# systemd and cron would run them, with the example's settings, against
# a test repository.
. "$(dirname "$0")/../test-lib.sh"

ANALYZE=${VAULT_TEST_SYSTEMD_ANALYZE:-systemd-analyze}
if command -v "$ANALYZE" >/dev/null 2>&1; then
	test_set_prereq SYSTEMD
elif [ "${CI:-}" = true ]; then
	test_expect_success 'systemd-analyze is installed (CI installs systemd: .ci/run)' '
		echo "no $ANALYZE in PATH" >&2 && false
	'
else
	say "SKIP: no $ANALYZE in PATH (apt-get install systemd): the units are not verified"
fi
command -v make >/dev/null 2>&1 || skip_all "make not found"
[ -f "$VAULT_BUILDDIR/Makefile" ] || skip_all "no Makefile in $VAULT_BUILDDIR"
grep -q '^systemdsystemunitdir = /' "$VAULT_BUILDDIR/Makefile" ||
	skip_all "configured --without-systemdsystemunitdir: make install puts no units"

DEST=$TEST_TMP/dest
SERVICES="vault-snapshot vault-prune vault-check"

# make from inside make check: without the outer make's jobserver
build_make() {
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u MAKEOVERRIDES \
		make -s -C "$VAULT_BUILDDIR" "$@"
}

# unit_value UNIT KEY: the value of KEY= in an installed unit
unit_value() {
	sed -n "s/^$2=//p" "$UNITDIR/$1"
}

test_expect_success 'make install puts the units and the examples in DESTDIR' '
	build_make install DESTDIR="$DEST" >out 2>&1 &&
	UNITDIR=$(dirname "$(find "$DEST" -name vault-snapshot.service)") &&
	test_path_is_dir "$UNITDIR" &&
	for s in $SERVICES; do
		test_path_is_file "$UNITDIR/$s.service" &&
		test_path_is_file "$UNITDIR/$s.timer" || return 1
	done &&
	test_eq 6 "$(ls "$UNITDIR" | grep -c "^vault-")" "units installed" &&
	ENV_EXAMPLE=$(find "$DEST" -name vault.env.example) &&
	CRON_EXAMPLE=$(find "$DEST" -name vault.cron) &&
	test_path_is_file "$ENV_EXAMPLE" && test_path_is_file "$CRON_EXAMPLE" &&
	test "$(dirname "$ENV_EXAMPLE")" = "$(dirname "$CRON_EXAMPLE")" &&
	MANPAGE=$(find "$DEST" -name vault.1) &&
	test_path_is_file "$MANPAGE" &&
	! grep -n "@[a-zA-Z_]*@" "$UNITDIR"/vault-* "$ENV_EXAMPLE" "$CRON_EXAMPLE"
'
UNITDIR=$(dirname "$(find "$DEST" -name vault-snapshot.service 2>/dev/null | head -n 1)")
ENV_EXAMPLE=$(find "$DEST" -name vault.env.example 2>/dev/null | head -n 1)
CRON_EXAMPLE=$(find "$DEST" -name vault.cron 2>/dev/null | head -n 1)
MANPAGE=$(find "$DEST" -name vault.1 2>/dev/null | head -n 1)
[ -f "$UNITDIR/vault-snapshot.service" ] || skip_all "make install failed"
EXEC=$(unit_value vault-snapshot.service ExecStart | cut -d" " -f1)
ENVFILE=$(unit_value vault-snapshot.service EnvironmentFile)

test_expect_success 'each service runs the installed vault with its verb and its arguments' '
	case $EXEC in /*/bin/vault) ;; *) test_fail_ "ExecStart runs $EXEC" ;; esac &&
	cmp "$DEST$EXEC" "$VAULT" &&
	for v in snapshot prune check; do
		V=$(echo $v | tr a-z A-Z) &&
		test_eq "$EXEC --lock-wait 3600 $v \$VAULT_${V}_ARGS" \
			"$(unit_value vault-$v.service ExecStart)" "vault-$v ExecStart" &&
		grep -q "^VAULT_${V}_ARGS=" "$ENV_EXAMPLE" || return 1
	done
'

test_expect_success 'the services are oneshot, idle, hardened and read the env file' '
	for s in $SERVICES; do
		u=$s.service &&
		test_eq oneshot "$(unit_value $u Type)" "$u Type" &&
		test_eq "$ENVFILE" "$(unit_value $u EnvironmentFile)" "$u EnvironmentFile" &&
		test_eq idle "$(unit_value $u IOSchedulingClass)" "$u IOSchedulingClass" &&
		test_eq 19 "$(unit_value $u Nice)" "$u Nice" &&
		for k in NoNewPrivileges PrivateTmp PrivateDevices ProtectKernelTunables \
			 ProtectControlGroups RestrictSUIDSGID LockPersonality; do
			test_eq yes "$(unit_value $u $k)" "$u $k" || return 1
		done &&
		test_eq strict "$(unit_value $u ProtectSystem)" "$u ProtectSystem" &&
		test_eq vault "$(unit_value $u StateDirectory)" "$u StateDirectory" &&
		grep -q "^CapabilityBoundingSet=" "$UNITDIR/$u" || return 1
	done &&
	test_eq "" "$(unit_value vault-prune.service CapabilityBoundingSet)" &&
	test_eq CAP_DAC_READ_SEARCH "$(unit_value vault-snapshot.service CapabilityBoundingSet)"
'

test_expect_success 'each timer is persistent, randomly delayed and starts its service' '
	for s in $SERVICES; do
		t=$s.timer &&
		test_eq true "$(unit_value $t Persistent)" "$t Persistent" &&
		test -n "$(unit_value $t RandomizedDelaySec)" &&
		test -n "$(unit_value $t OnCalendar)" &&
		test_eq timers.target "$(unit_value $t WantedBy)" "$t WantedBy" &&
		! grep -q "^Unit=" "$UNITDIR/$t" || return 1
	done
'

test_expect_success 'the env example says to install itself where the units read it' '
	grep -q "^#   install -D -m 600 vault.env.example $ENVFILE\$" "$ENV_EXAMPLE" &&
	grep -q "^VAULT_ENV=$ENVFILE\$" "$CRON_EXAMPLE"
'

# The installed units, ExecStart pointed at the vault in DESTDIR.
mkdir units
for u in "$UNITDIR"/vault-*; do
	sed "s|^ExecStart=$EXEC |ExecStart=$DEST$EXEC |" "$u" >"units/${u##*/}"
done
MANDIR=${MANPAGE%/man1/vault.1}
# systemd-analyze VERB ARGS...: with the man page of DESTDIR (it runs
# `man` for Documentation=man:vault(1)), or without the man check when
# there is no man.
analyze() {
	local verb=$1
	shift
	if command -v man >/dev/null 2>&1; then
		MANPATH=$MANDIR "$ANALYZE" "$verb" "$@"
	else
		"$ANALYZE" "$verb" --man=no "$@"
	fi
}

test_expect_success SYSTEMD 'systemd-analyze verify passes on the installed units, without a word' '
	test_path_is_file "$MANPAGE" &&
	(cd units && analyze verify ./vault-*) >verify.out 2>&1 &&
	cat verify.out && test ! -s verify.out
'

test_expect_success SYSTEMD 'systemd-analyze verify would tell a misspelt key and a missing vault' '
	mkdir bad &&
	sed "s/^ProtectSystem=/ProtectSystm=/" units/vault-prune.service \
		>bad/vault-prune.service &&
	(cd bad && analyze verify ./vault-prune.service) >bad.out 2>&1
	cat bad.out && grep -q ProtectSystm bad.out &&
	sed "s|^ExecStart=$DEST|ExecStart=$TEST_TMP/nowhere|" units/vault-check.service \
		>bad/vault-check.service &&
	test_must_fail env -C bad "$ANALYZE" verify --man=no ./vault-check.service
'

# systemd 250 and later rate a unit's exposure offline (0 safe, 10 not)
if "$ANALYZE" security --help 2>/dev/null | grep -q -- --offline; then
	test_set_prereq SECURITY
fi
test_expect_success SYSTEMD,SECURITY 'systemd-analyze security rates each service OK (exposure under 3)' '
	for s in $SERVICES; do
		(cd units && "$ANALYZE" security --offline=true $s.service) >sec.out 2>&1
		tail -n 1 sec.out &&
		grep -Eq "Overall exposure level for $s.service: [0-2]\.[0-9] " sec.out ||
			return 1
	done
'

# The settings of the example, pointed at this test's repository.
unset VAULT_PASSPHRASE VAULT_REPO
PASSFILE=$TEST_TMP/passphrase
LOG=$TEST_TMP/log/vault.log
mkdir data log && echo "nightly data" >data/file
echo "correct horse" >"$PASSFILE"
sed -e "s|^VAULT_REPO=.*|VAULT_REPO=$TEST_TMP/repo|" \
	-e "s|^VAULT_PASSPHRASE_FILE=.*|VAULT_PASSPHRASE_FILE=$PASSFILE|" \
	-e "s|^VAULT_LOG_FILE=.*|VAULT_LOG_FILE=$LOG|" \
	-e "s|^VAULT_SNAPSHOT_ARGS=.*|VAULT_SNAPSHOT_ARGS=\"--tag nightly $TEST_TMP/data\"|" \
	"$ENV_EXAMPLE" >vault.env

# run_exec SERVICE: its ExecStart as systemd runs it: the env file's
# variables set, $VAR split into words.
run_exec() {
	local line
	line=$(sed -n "s/^ExecStart=//p" "units/$1.service") &&
	env -i PATH="$PATH" LC_ALL=C.UTF-8 VAULT_TESTONLY_WEAKEN_KDF=1 \
		sh -c "set -a && . ./vault.env && set +a && exec $line"
}

test_expect_success 'the services run with the example settings: snapshot, prune, check' '
	(set -a && . ./vault.env && "$VAULT" init >/dev/null) &&
	run_exec vault-snapshot >snap.out &&
	grep -q "snapshot .* saved" snap.out &&
	run_exec vault-prune >prune.out &&
	run_exec vault-check >check.out &&
	test_eq 4 "$(wc -l <"$LOG")" "log lines (init too)" &&
	grep -q "verb=snapshot result=ok exit=0 snapshot=" "$LOG" &&
	grep -q "verb=prune result=ok exit=0" "$LOG" &&
	grep -q "verb=check result=ok exit=0" "$LOG"
'

# run_cron: every job of the cron example, as cron runs it (SHELL, PATH
# and VAULT_ENV from its head, the command after the user field).
test_expect_success 'the cron example runs the same jobs, and its health job is quiet when all is well' '
	sed -n "s/^PATH=//p" "$CRON_EXAMPLE" >cron.path &&
	test_eq "$(dirname "$EXEC")" "$(cut -d: -f1 cron.path)" "cron PATH" &&
	grep -E "^[0-9*]" "$CRON_EXAMPLE" | tr -s " \t" " " | cut -d" " -f7- >jobs &&
	test_eq 4 "$(wc -l <jobs)" "cron jobs" &&
	test_eq 4 "$(grep -c "^set -a && \. \"\$VAULT_ENV\" && " jobs)" "jobs reading the env file" &&
	! grep -q % jobs &&
	while IFS= read -r job; do
		env -i PATH="$DEST$(dirname "$EXEC"):/usr/bin:/bin" LC_ALL=C.UTF-8 \
			VAULT_TESTONLY_WEAKEN_KDF=1 VAULT_ENV=$TEST_TMP/vault.env \
			/bin/sh -c "$job" >job.out 2>&1 </dev/null || {
				cat job.out; return 1; }
		cat job.out && test ! -s job.out || return 1
	done <jobs &&
	test_eq 8 "$(wc -l <"$LOG")" "log lines" &&
	test_eq 2 "$(grep -c "verb=snapshot result=ok" "$LOG")" &&
	grep -q "verb=status result=ok exit=0" "$LOG"
'

test_expect_success 'the health job of the cron example speaks when a backup is overdue' '
	job=$(grep " status " jobs) &&
	(set -a && . ./vault.env &&
		"$VAULT" list --json | jq -r ".[].id" | xargs "$VAULT" forget &&
		"$VAULT" snapshot --time 2020-01-01T00:00:00Z data) >/dev/null &&
	env -i PATH="$DEST$(dirname "$EXEC"):/usr/bin:/bin" LC_ALL=C.UTF-8 \
		VAULT_ENV=$TEST_TMP/vault.env /bin/sh -c "$job" >job.out 2>&1
	test_eq 4 $? "exit status" &&
	head -n 1 job.out | grep -q "^STALE: "
'

test_expect_success 'make uninstall takes back all it installed' '
	build_make uninstall DESTDIR="$DEST" >out 2>&1 &&
	find "$DEST" -type f >left &&
	cat left && test ! -s left
'

test_done

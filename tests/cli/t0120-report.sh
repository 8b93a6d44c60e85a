#!/bin/bash
# vault report: one self-contained HTML page (and the same data as JSON)
# about a repository: its size and the bytes each snapshot added over
# time, the deduplication ratio, the last good snapshot of each host and
# source (not partial, no safety snapshot) with its age, and the tables
# of a database that changed between its two newest snapshots.
#
# The page is opened in Debian's headless chromium: an inline script of
# the page counts what was drawn (points, bars, axis labels, rows, marks
# outside their plot) and any script error or blocked load into
# <pre id="report-check">, which --dump-dom prints after the scripts
# ran.  Without chromium those tests skip loudly; under CI=true (.ci/run
# installs it) they fail.  Nothing in the page may name anything to
# load, and making it must not change the repository.
. "$(dirname "$0")/../test-lib.sh"
. "$VAULT_SRCDIR/tests/db-lib.sh"

need_srcfault

CHROMIUM=${VAULT_TEST_CHROMIUM:-chromium}
if command -v "$CHROMIUM" >/dev/null 2>&1; then
	test_set_prereq CHROMIUM
elif [ "${CI:-}" = true ]; then
	test_expect_success 'chromium is installed (CI installs it: .ci/run)' '
		echo "no $CHROMIUM in PATH" >&2 && false
	'
else
	say "SKIP: no $CHROMIUM in PATH (apt-get install chromium): the page is not opened in a browser"
fi

db_start

# chromium_check HTML OUT: the page's own check (a JSON object) after
# headless chromium loaded it and ran its script, in OUT.  A fresh
# profile each time, and nothing that would reach the network.
chromium_check() {
	local prof
	prof=$(mktemp -d "$TEST_TMP/chromium.XXXXXX") &&
	timeout -k 10 120 "$CHROMIUM" --headless --no-sandbox --disable-gpu \
		--disable-quic --no-first-run --disable-background-networking \
		--disable-component-update --disable-sync \
		--user-data-dir="$prof" --dump-dom "file://$1" \
		>"$2.dom" 2>"$2.log" || {
		tail -n 20 "$2.log" >&2
		return 1
	}
	sed -n 's/.*<pre id="report-check" hidden="">\(.*\)<\/pre>.*/\1/p' "$2.dom" |
		sed -e 's/&lt;/</g' -e 's/&gt;/>/g' -e 's/&amp;/\&/g' >"$2" &&
	cat "$2" >&2 &&
	jq -e . "$2" >/dev/null || test_fail_ "no check result in the page after chromium ran it"
}

# A directory whose name is markup: it ends up in the snapshots' source.
H='<img src=x onerror=alert(1)>'
HP=$TEST_TMP/$H

test_expect_success 'setup: files, a partial and a safety snapshot, two database snapshots' '
	new_repo --encryption repokey &&
	mkdir "$H" &&
	head -c 300000 /dev/urandom >"$H/a" &&
	vault snapshot --time 2024-03-01T10:00:00Z "$H" &&
	head -c 200000 /dev/urandom >"$H/b" &&
	vault snapshot --time 2024-03-02T10:00:00Z "$H" &&
	printf "locked\n" >"$H/locked" &&
	test_must_fail_with 3 "skipped" vault_faults "eacces:$HP/locked" \
		snapshot --time 2024-03-03T10:00:00Z "$H" &&
	vault snapshot --tag safety --time 2024-03-03T12:00:00Z "$H" &&
	db_fixture fx &&
	vault snapshot --db dbname=fx --time 2024-03-04T10:00:00Z &&
	db_psql fx -c "INSERT INTO public.tickets (title)
			SELECT \$\$ticket \$\$ || g FROM generate_series(1, 500) g" \
		-c "UPDATE \"Sales & Ops\".\"Orders\" SET amount = amount + 1" \
		-c "CREATE TABLE public.added_later (id int PRIMARY KEY)" \
		-c "INSERT INTO public.added_later VALUES (1), (2), (3)" \
		-c "DROP TABLE public.pair_b" &&
	vault snapshot --db dbname=fx --time 2024-03-05T10:00:00Z &&
	vault list --json >list.json &&
	test_eq 6 "$(jq length list.json)" "snapshots"
'

# the ids of the list, by position (oldest first)
sid() { jq -r ".[$1].id" list.json; }

test_expect_success 'report --json: every snapshot, with its sizes and kind' '
	repo_fingerprint >fp.before &&
	vault report --json >r.json &&
	repo_fingerprint >fp.after && test_cmp fp.before fp.after &&
	test_eq "$(jq -c "[.[] | .id]" list.json)" "$(jq -c "[.snapshots[].id]" r.json)" &&
	test_eq "$(jq -c "[.[] | .bytes_added]" list.json)" \
		"$(jq -c "[.snapshots[].bytes_added]" r.json)" &&
	jq -e "[.snapshots[].kind] == [\"backup\", \"backup\", \"backup\", \"safety\", \"backup\", \"backup\"]
		and [.snapshots[].partial] == [false, false, true, false, false, false]
		and [.snapshots[].database] == [false, false, false, false, true, true]" r.json
'

test_expect_success 'report --json: the cumulative size and the deduplication ratio' '
	jq -e "[.snapshots[].stored_total] as \$t | [.snapshots[].bytes_stored] as \$s
		| all(range(1; \$t | length); \$t[.] == \$t[. - 1] + \$s[.]) and \$t[0] == \$s[0]" r.json &&
	vault stats --json >stats.json &&
	test_eq "$(jq .dedup_ratio stats.json)" "$(jq .stats.dedup_ratio r.json)" &&
	test_eq "$(jq .stored_bytes stats.json)" "$(jq .stats.stored_bytes r.json)"
'

test_expect_success 'the last good snapshot: not the partial one, never a safety one' '
	test_eq 2 "$(jq ".groups | length" r.json)" "groups (files, database)" &&
	files=$(jq -c ".groups[] | select(.source | contains(\"onerror\"))" r.json) &&
	test_eq 3 "$(echo "$files" | jq .snapshots)" "files group (safety left out)" &&
	test_eq "$(sid 2)" "$(echo "$files" | jq -r .newest.id)" &&
	test_eq true "$(echo "$files" | jq .newest_partial)" &&
	test_eq "$(sid 1)" "$(echo "$files" | jq -r .last_good.id)" &&
	test_eq "$(sid 5)" "$(jq -r .last_good.id r.json)" &&
	now=$(jq .unix_generated r.json) &&
	test_eq $((now - $(date -d 2024-03-05T10:00:00Z +%s))) "$(jq .last_good.age_seconds r.json)"
'

test_expect_success 'the database: what changed between its two newest snapshots' '
	test_eq 1 "$(jq ".databases | length" r.json)" &&
	jq ".databases[0]" r.json >db.json &&
	test_eq "$(sid 5)" "$(jq -r .newest.id db.json)" &&
	test_eq "$(sid 4)" "$(jq -r .previous.id db.json)" &&
	test_eq null "$(jq .error db.json)" &&
	test_eq 4 "$(jq .tables_changed db.json)" &&
	test_eq fx "$(jq -r .database db.json)" &&
	jq -e ".tables[0] | .schema == \"public\" and .name == \"tickets\" and .change == \"changed\"
		and .rows_delta == 500 and .rows_after == .rows_before + 500
		and .bytes_delta > 0 and .checksum_changed" db.json &&
	jq -e ".tables[] | select(.schema == \"Sales & Ops\" and .name == \"Orders\")
		| .change == \"changed\" and .rows_delta == 0 and .checksum_changed" db.json &&
	jq -e ".tables[] | select(.name == \"added_later\")
		| .change == \"added\" and .rows_before == null and .rows_after == 3" db.json &&
	jq -e ".tables[] | select(.name == \"pair_b\")
		| .change == \"dropped\" and .rows_before == 10 and .rows_after == null" db.json &&
	test_eq 0 "$(jq "[.tables[] | select(.name == \"counters\" or .name == \"todos\")] | length" db.json)" &&
	vault report --json --top 2 >top.json &&
	test_eq 2 "$(jq ".databases[0].tables | length" top.json)" &&
	test_eq 4 "$(jq ".databases[0].tables_changed" top.json)"
'

test_expect_success 'report --html: one self-contained page, the repository untouched' '
	repo_fingerprint >fp.before &&
	vault report --html report.html >out &&
	repo_fingerprint >fp.after && test_cmp fp.before fp.after &&
	flock "$VAULT_REPO/lock" timeout 60 "$VAULT" report --html locked.html &&
	test_eq 6 "$(grep -c "<circle class=\"pt " locked.html)" "points drawn while a writer held the lock" &&
	grep -q "^wrote report.html: 6 snapshots, last good snapshot [0-9]*d [0-9]*h ago" out &&
	test_path_is_file report.html &&
	test_eq 0 "$(ls | grep -c "report.html.tmp")" "temporary files left" &&
	! grep -Ei "https?://|<(img|link|iframe|object|embed|audio|video|source)[ >]|<script[^>]* src=|href=|url\(|@import" report.html &&
	grep -q "Content-Security-Policy\" content=\"default-src .none.;" report.html &&
	grep -q "<svg class=\"chart size\"" report.html &&
	grep -q "<svg class=\"chart added\"" report.html
'

test_expect_success 'untrusted names are escaped' '
	! grep -F "$H" report.html &&
	grep -qF "&lt;img src=x onerror=alert(1)&gt;" report.html &&
	grep -qF "Sales &amp; Ops.Orders" report.html &&
	! grep -F "Sales & Ops" report.html
'

test_expect_success CHROMIUM 'in chromium: a point and a bar per snapshot, labelled axes, no error' '
	chromium_check "$TEST_TMP/report.html" check.json &&
	jq -e ".stage == \"loaded\" and .errors == [] and .snapshots == 6 and .points == 6 and .bars == 6
		and .xlabels >= 4 and .ylabels >= 6 and .axis_titles == 4
		and .outside == 0 and .ordered == true and .foreign == 0
		and .snapshot_rows == 6 and .group_rows == 2 and .db_rows == 4" check.json &&
	grep -qF "&lt;img src=x onerror=alert(1)&gt;" check.json.dom
'

test_expect_success 'an empty repository makes a report too' '
	new_repo --encryption none &&
	vault report --html "$TEST_TMP/empty.html" --json >empty.json &&
	jq -e ".snapshots == [] and .groups == [] and .databases == [] and .last_good == null" empty.json &&
	grep -q "No snapshots yet" empty.html
'

test_expect_success CHROMIUM 'in chromium: the empty page, no error' '
	chromium_check "$TEST_TMP/empty.html" echeck.json &&
	jq -e ".stage == \"loaded\" and .errors == [] and .snapshots == 0 and .points == 0 and .bars == 0" echeck.json
'

test_expect_success 'where the report goes must be said, and a failed write leaves nothing' '
	test_must_fail_with 2 "--html FILE or --json" vault report &&
	test_must_fail_with 2 "standard output" vault report --html - --json &&
	test_must_fail_with 2 "--top" vault report --json --top many &&
	test_must_fail_with 1 "cannot write the report to $TEST_TMP/no/such/dir/r.html" \
		vault report --html "$TEST_TMP/no/such/dir/r.html" &&
	test_path_is_missing "$TEST_TMP/no" &&
	vault report --html - >stdout.html &&
	grep -q "^<!DOCTYPE html>" stdout.html &&
	test_must_fail_with 10 "not a vault repository" vault --repo "$TEST_TMP/nothing" report --json
'

test_done

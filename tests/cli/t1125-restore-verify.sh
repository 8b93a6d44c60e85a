#!/bin/bash
# vault restore --verify: by default each table is verified as its rows
# stream (XXH3-128 and row count of what is sent, and COPY's row count);
# --verify full also reads every table back, and so catches rows the
# target stored otherwise than they were sent (here a trigger), which
# the streamed verification lets by.  The plan, the summary and the log
# say which verification ran.
. "$(dirname "$0")/../test-lib.sh"
. "$VAULT_SRCDIR/tests/db-lib.sh"

db_start
new_repo --encryption none

test_expect_success 'a snapshot of the fixture' '
	db_fixture fx &&
	vault snapshot --db "dbname=fx" >snap.out &&
	vault list --json | jq -r ".[0].id" >snapid && test -s snapid
'

test_expect_success 'the plan names the verification: streamed by default, or full' '
	db_create e0 &&
	vault restore "$(cat snapid)" --db "dbname=e0" --dry-run >dry.out &&
	grep -q "^Verification: streamed: " dry.out &&
	vault restore "$(cat snapid)" --db "dbname=e0" --dry-run --verify full >dryf.out &&
	grep -q "^Verification: full: " dryf.out &&
	vault restore "$(cat snapid)" --db "dbname=e0" --dry-run --json --verify full >dryf.json &&
	jq -e ".verify == \"full\"" dryf.json
'

test_expect_success 'an unknown --verify is a usage error' '
	test_must_fail_with 2 "--verify" vault restore "$(cat snapid)" --db "dbname=e0" \
		--verify sometimes
'

test_expect_success 'default restore: verified as the rows stream, and the log says so' '
	db_create e1 &&
	vault restore "$(cat snapid)" --db "dbname=e1" >e1.out &&
	grep -q "verification ok (streamed)" e1.out &&
	vault restores --json | jq -e "[.[] | select(.status == \"ok\")] | length == 1
		and .[0].verify == \"streamed\" and .[0].verification == \"ok\"" &&
	db_dump fx --data-only --no-blobs | sort >fx.data &&
	db_dump e1 --data-only --no-blobs | sort >e1.data && test_cmp fx.data e1.data
'

test_expect_success '--verify full --jobs 2: every table read back, the log says so' '
	db_create e2 &&
	vault restore "$(cat snapid)" --db "dbname=e2" --jobs 2 --verify full --json >e2.json &&
	jq -e ".status == \"ok\" and .verify == \"full\" and .verification == \"ok\"
		and all(.tables[]; .verified == true or .load == null)" e2.json &&
	db_dump e2 --data-only --no-blobs | sort >e2.data && test_cmp fx.data e2.data
'

# A target whose table stores other rows than it is sent: only the read
# back sees it (merge with --on-conflict update reads back the rows of the
# snapshot's keys; with do-nothing it counts them, kept rows differing by
# design).
test_expect_success 'a trigger that rewrites rows: --verify full refuses, target unchanged' '
	db_copy fx t1 &&
	db_psql t1 -c "DELETE FROM public.pair_a;
		CREATE FUNCTION public.shout() RETURNS trigger LANGUAGE plpgsql AS \$\$
		BEGIN NEW.note = upper(NEW.note); RETURN NEW; END \$\$;
		CREATE TRIGGER shout BEFORE INSERT ON public.pair_a
		FOR EACH ROW EXECUTE FUNCTION public.shout();" &&
	db_dump t1 >t1.before &&
	test_must_fail_with 1 "verification failed for table public.pair_a" \
		vault restore "$(cat snapid)" --db "dbname=t1" --table public.pair_a \
		--mode merge --on-conflict update --yes --verify full &&
	db_dump t1 >t1.after && test_cmp t1.before t1.after &&
	vault restores --json | jq -e "[.[] | select(.status == \"failed\")] | length == 1
		and .[0].verify == \"full\" and .[0].verification == \"failed\""
'

test_expect_success '... which the streamed verification lets by' '
	vault restore "$(cat snapid)" --db "dbname=t1" --table public.pair_a \
		--mode merge --on-conflict update --yes >t1.out &&
	grep -q "verification ok (streamed)" t1.out &&
	test "$(db_psql t1 -Atc "SELECT count(*) FROM public.pair_a WHERE note = '"'"'SEED'"'"'")" = 10
'

test_done

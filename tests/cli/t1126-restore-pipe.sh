#!/bin/bash
# The restore sends the dump's statements through libpq's pipeline mode
# (rs-pipe): many at a time, their results read at a sync.  A statement
# that fails in the middle of a pipe must still be named (file, section,
# statement) with the server's message, and nothing may be left behind,
# with --jobs 1 and with --jobs 2.
. "$(dirname "$0")/../test-lib.sh"
. "$VAULT_SRCDIR/tests/db-lib.sh"

db_start
new_repo --encryption none

test_expect_success 'a snapshot of the fixture' '
	db_fixture fx &&
	vault snapshot --db "dbname=fx" >snap.out &&
	vault list --json | jq -r ".[0].id" >snapid && test -s snapid
'

# a target whose event trigger refuses one table, past the first
# hundred statements of schema.sql
guard() {
	db_create "$1" &&
	db_psql "$1" -c "CREATE SCHEMA guard;
		CREATE FUNCTION guard.no_todos() RETURNS event_trigger LANGUAGE plpgsql AS \$\$
		BEGIN
			IF EXISTS (SELECT 1 FROM pg_event_trigger_ddl_commands()
				   WHERE object_identity = 'public.todos') THEN
				RAISE EXCEPTION 'no todos table here';
			END IF;
		END \$\$;
		CREATE EVENT TRIGGER no_todos ON ddl_command_end
			EXECUTE FUNCTION guard.no_todos();"
}

for jobs in 1 2; do
	test_expect_success "--jobs $jobs: a statement failing inside a pipe is named, nothing stays" '
		guard g'"$jobs"' &&
		db_dump g'"$jobs"' >before.sql &&
		test_must_fail_with 1 "no todos table here" \
			vault restore "$(cat snapid)" --db "dbname=g'"$jobs"'" --jobs '"$jobs"' \
			2>err.out &&
		grep -q "schema.sql, section \"[^\"]*todos[^\"]*; TABLE\", statement \"CREATE TABLE public.todos" err.out &&
		db_dump g'"$jobs"' >after.sql && test_cmp before.sql after.sql
	'
done

test_done

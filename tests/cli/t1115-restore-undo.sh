#!/bin/bash
# vault restore --jobs 2 and vault rollback of a database that changes
# what every database has (grants and a comment on schema public, default
# privileges of a role that exists), has a role of its own that holds
# default privileges, procedures overloaded on OUT arguments and a
# transform: the parallel load really runs in parallel, a failure after
# its first commit leaves the target as it was, and the rollback of the
# restore gives the target back as it was before, refusing when what the
# restore changed has been changed since.
. "$(dirname "$0")/../test-lib.sh"
. "$VAULT_SRCDIR/tests/db-lib.sh"

db_start
new_repo --encryption none

# What an undo must give back: the schema (grants, comment and owner of
# schema public, default privileges) and the roles of this script.
state() {
	db_dump "$1" --schema-only &&
	db_psql "$1" -c "SELECT rolname FROM pg_roles WHERE rolname LIKE 'rbu_%' ORDER BY 1"
}

test_expect_success 'a snapshot of a database that changes schema public' '
	db_create ru_src &&
	db_psql ru_src -c "
		CREATE ROLE rbu_owner;
		ALTER DEFAULT PRIVILEGES FOR ROLE rbu_owner GRANT SELECT ON TABLES TO PUBLIC;
		ALTER DEFAULT PRIVILEGES GRANT USAGE ON SEQUENCES TO rbu_owner;
		GRANT ALL ON SCHEMA public TO PUBLIC;
		COMMENT ON SCHEMA public IS '"'"'commented'"'"';
		CREATE TABLE public.a (id integer PRIMARY KEY, note text);
		CREATE INDEX a_note ON public.a (note);
		CREATE TABLE public.b (id integer PRIMARY KEY, a_id integer REFERENCES public.a);
		INSERT INTO public.a SELECT g, md5(g::text) FROM generate_series(1, 200) g;
		INSERT INTO public.b SELECT g, g FROM generate_series(1, 200) g;
		ALTER TABLE public.b OWNER TO rbu_owner;
		CREATE PROCEDURE public.p(OUT x integer, IN y integer) LANGUAGE plpgsql
			AS \$\$ BEGIN x := y; END \$\$;
		CREATE PROCEDURE public.p(IN x integer, IN y integer) LANGUAGE plpgsql
			AS \$\$ BEGIN END \$\$;
		CREATE TRANSFORM FOR integer LANGUAGE sql (
			FROM SQL WITH FUNCTION prsd_lextype(internal),
			TO SQL WITH FUNCTION int4recv(internal));" &&
	vault snapshot --db "dbname=ru_src" >/dev/null &&
	psql -X -q -v ON_ERROR_STOP=1 -d postgres -c "DROP DATABASE ru_src" -c "DROP ROLE rbu_owner"
'

test_expect_success 'restore --jobs 2: parallel, and its rollback is possible' '
	db_create ru1 &&
	state ru1 >ru1.before &&
	vault restore latest --db "dbname=ru1" --jobs 2 --yes --json >ru1.json &&
	json_ok ".status == \"ok\" and .verification == \"ok\"
		and (.strategy | startswith(\"parallel\")) and .undo == null
		and .rollback.impossible == null
		and any(.rollback.statements[]; . == \"COMMENT ON SCHEMA public IS '"'"'standard public schema'"'"'\")
		and any(.rollback.statements[]; . == \"REVOKE CREATE ON SCHEMA public FROM PUBLIC\")
		and any(.rollback.statements[]; test(\"^DROP PROCEDURE IF EXISTS public.p.OUT x integer, IN y integer.\"))
		and any(.rollback.statements[]; test(\"^DROP TRANSFORM IF EXISTS FOR integer LANGUAGE sql\"))
		and any(.rollback.statements[]; . == \"DROP OWNED BY rbu_owner\")
		and (.rollback.changed | length) >= 2" ru1.json &&
	test "$(db_psql ru1 -c "SELECT obj_description('"'"'public'"'"'::regnamespace)")" = commented &&
	test "$(db_psql ru1 -c "SELECT count(*) FROM public.b")" = 200
'

test_expect_success 'rollback: schema public and the roles as they were' '
	vault rollback --db "dbname=ru1" --yes >rb1.out &&
	test_grep "restore .* undone" rb1.out &&
	state ru1 >ru1.after &&
	test_cmp ru1.before ru1.after
'

# An event trigger refuses the index a worker builds once its table's
# rows are in: the DDL and other rows have committed by then.
test_expect_success 'a failure after the first commit: the target as it was' '
	db_create ru2 &&
	db_psql ru2 -c "
		CREATE FUNCTION public.no_index() RETURNS event_trigger LANGUAGE plpgsql AS \$\$
		BEGIN
			IF EXISTS (SELECT 1 FROM pg_catalog.pg_event_trigger_ddl_commands()
				WHERE command_tag = '"'"'CREATE INDEX'"'"') THEN
				RAISE EXCEPTION '"'"'no new indexes today'"'"';
			END IF;
		END \$\$;
		CREATE EVENT TRIGGER no_index ON ddl_command_end EXECUTE FUNCTION public.no_index();
		ALTER EVENT TRIGGER no_index ENABLE ALWAYS;" &&
	state ru2 >ru2.before &&
	test_must_fail_with 1 "no new indexes today" \
		vault restore latest --db "dbname=ru2" --jobs 2 --yes &&
	vault restores --json | jq ".[-1]" >ru2.json &&
	json_ok ".status == \"failed\" and (.strategy | startswith(\"parallel\"))
		and (.undo | startswith(\"ok\"))" ru2.json &&
	state ru2 >ru2.after &&
	test_cmp ru2.before ru2.after
'

test_expect_success 'rollback refused when what the restore changed was changed since' '
	vault restore latest --db "dbname=ru1" --jobs 2 --yes >/dev/null &&
	db_psql ru1 -c "COMMENT ON SCHEMA public IS '"'"'by hand'"'"'" &&
	state ru1 >ru1.hand &&
	test_must_fail_with 1 "the comment on schema public was changed since the restore" \
		vault rollback --db "dbname=ru1" --yes &&
	state ru1 >ru1.still &&
	test_cmp ru1.hand ru1.still &&
	db_psql ru1 -c "COMMENT ON SCHEMA public IS '"'"'commented'"'"'" &&
	vault rollback --db "dbname=ru1" --yes >/dev/null &&
	state ru1 >ru1.after &&
	test_cmp ru1.before ru1.after
'

# A target where the restore changes something that existed in a way no
# undo can take back (an event trigger adds a column to a table there
# whenever a table is made): one transaction, and the terminal says why,
# as it says that this restore cannot be rolled back.
test_expect_success 'a change no undo can take back: why, on the terminal' '
	db_create ru3 &&
	db_psql ru3 -c "
		CREATE TABLE public.keep (id integer);
		CREATE FUNCTION public.widen() RETURNS event_trigger LANGUAGE plpgsql AS \$\$
		BEGIN ALTER TABLE public.keep ADD COLUMN IF NOT EXISTS noted integer; END \$\$;
		CREATE EVENT TRIGGER widen ON ddl_command_end WHEN TAG IN ('"'"'CREATE TABLE'"'"')
			EXECUTE FUNCTION public.widen();" &&
	vault restore latest --db "dbname=ru3" --jobs 2 --yes >ru3.out 2>ru3.err &&
	test_grep "jobs 2: one transaction over one connection .the parallel load was not possible: .*column noted of table public.keep would stay" ru3.err &&
	test_grep "cannot be rolled back: .*column noted of table public.keep would stay" ru3.err &&
	test "$(db_psql ru3 -c "SELECT count(*) FROM public.b")" = 200
'

# The rollback a restore's log offers is proven when `vault rollback`
# runs it, not when the restore commits: a restore in one transaction
# into the same kind of target offers it, and the rollback refuses,
# naming what would stay, and changes nothing.
test_expect_success 'a rollback that cannot be proven is refused when it runs' '
	db_create ru5 &&
	db_psql ru5 -c "
		CREATE TABLE public.keep (id integer);
		CREATE FUNCTION public.widen() RETURNS event_trigger LANGUAGE plpgsql AS \$\$
		BEGIN ALTER TABLE public.keep ADD COLUMN IF NOT EXISTS noted integer; END \$\$;
		CREATE EVENT TRIGGER widen ON ddl_command_end WHEN TAG IN ('"'"'CREATE TABLE'"'"')
			EXECUTE FUNCTION public.widen();" &&
	vault restore latest --db "dbname=ru5" --jobs 1 --yes --json >ru5.json &&
	json_ok ".status == \"ok\" and (.rollback.statements | length) > 0" ru5.json &&
	state ru5 >ru5.restored &&
	test_must_fail_with 1 "column noted of table public.keep would stay" \
		vault rollback --db "dbname=ru5" --yes &&
	vault restores --json | jq ".[-1]" >ru5rb.json &&
	json_ok ".status == \"refused\"" ru5rb.json &&
	state ru5 >ru5.still &&
	test_cmp ru5.restored ru5.still
'

# An undo statement the server refuses (an event trigger made since
# forbids dropping tables): refused, nothing changed; once it is gone,
# the rollback after a --jobs 2 restore is exact.
test_expect_success 'a rollback whose statement fails is refused, then exact' '
	db_create ru6 &&
	state ru6 >ru6.before &&
	vault restore latest --db "dbname=ru6" --jobs 2 --yes --json >ru6.json &&
	json_ok "(.strategy | startswith(\"parallel\"))" ru6.json &&
	db_psql ru6 -c "
		CREATE FUNCTION public.no_drop() RETURNS event_trigger LANGUAGE plpgsql AS \$\$
		BEGIN RAISE EXCEPTION '"'"'no drops today'"'"'; END \$\$;
		CREATE EVENT TRIGGER no_drop ON ddl_command_start WHEN TAG IN ('"'"'DROP TABLE'"'"')
			EXECUTE FUNCTION public.no_drop();" &&
	state ru6 >ru6.hand &&
	test_must_fail_with 1 "the restore.s undo statement failed: .*no drops today" \
		vault rollback --db "dbname=ru6" --yes &&
	state ru6 >ru6.still &&
	test_cmp ru6.hand ru6.still &&
	db_psql ru6 -c "DROP EVENT TRIGGER no_drop; DROP FUNCTION public.no_drop()" &&
	vault rollback --db "dbname=ru6" --yes >/dev/null &&
	state ru6 >ru6.after &&
	test_cmp ru6.before ru6.after
'

test_done

#!/bin/bash
# vault snapshot --db then vault restore into an empty database, against
# pg_dump -Fc | pg_restore, on what captures used to lose or break: a
# primary key with an INCLUDE column (box, no ordering), a table and a
# column whose names hold a newline, setval(s, v, false), a materialized
# view WITH NO DATA, large objects with owners, grants (one by another
# grantor) and comments, and an extension's configuration tables and
# sequence (pg_extension_config_dump; a small extension installed into
# the server's share directory when the test may write there).  Both
# restores (--jobs 1 and 2) must give what pg_restore gives: schema,
# every table's rows, sequences, materialized views, large objects.
# pg_dump 15.14+'s random \restrict lines are not stored: a second
# snapshot of the unchanged database stores no new schema.sql, and vault
# diff reports nothing but db/meta.json's marks of the tables it did not
# read again.  A snapshot laid out as older vaults wrote it
# (\restrict lines, a COPY header over two lines, no large_objects.sql)
# still restores, with no statement skipped for those lines.
. "$(dirname "$0")/../test-lib.sh"
. "$VAULT_SRCDIR/tests/db-lib.sh"

db_start
new_repo --encryption none

# What a restore must reproduce, for comparing two targets: the schema,
# every table's and populated materialized view's rows (count and md5 of
# the sorted rows), sequences, which materialized views are populated,
# and large objects with owner, ACL, comment and bytes.
cat >fidelity.sql <<'SQL'
SELECT pg_catalog.format('SELECT %L, pg_catalog.count(*), pg_catalog.md5(COALESCE(pg_catalog.string_agg(x::text, E''\n'' ORDER BY x::text), '''')) FROM ONLY %I.%I x',
	n.nspname || '.' || c.relname, n.nspname, c.relname)
FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE (c.relkind = 'r' OR (c.relkind = 'm' AND c.relispopulated))
AND n.nspname !~ '^pg_' AND n.nspname <> 'information_schema'
ORDER BY n.nspname, c.relname \gexec
SELECT pg_catalog.format('SELECT %L, last_value, is_called FROM %I.%I',
	n.nspname || '.' || c.relname, n.nspname, c.relname)
FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'S' AND n.nspname !~ '^pg_'
ORDER BY n.nspname, c.relname \gexec
SELECT n.nspname, c.relname, c.relispopulated
FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'm' ORDER BY 1, 2;
SELECT l.oid, pg_catalog.pg_get_userbyid(l.lomowner), l.lomacl,
	pg_catalog.obj_description(l.oid, 'pg_largeobject'), pg_catalog.md5(pg_catalog.lo_get(l.oid))
FROM pg_catalog.pg_largeobject_metadata l ORDER BY 1;
SQL
fidelity() {
	db_dump "$1" -s && db_psql "$1" -f fidelity.sql
}

# restore_into DB JOBS [options]: vault restore of the latest snapshot
# into a new empty database, the log as DB.json.
restore_into() {
	local db=$1 jobs=$2
	shift 2
	db_create "$db" &&
	vault restore latest --db "dbname=$db" --yes --jobs "$jobs" --json "$@" >"$db.json" &&
	jq -e '.status == "ok" and .verification == "ok"' "$db.json" >/dev/null
}

# The source: the minimal reproducers of what captures used to lose.
cat >fid.sql <<'SQL'
CREATE ROLE fid_owner;
CREATE ROLE fid_reader;
CREATE TABLE public.inc (id integer, b box, PRIMARY KEY (id) INCLUDE (b));
INSERT INTO public.inc SELECT g, box(point(0, 0), point(g, g)) FROM generate_series(1, 5) g;
CREATE TABLE public."line
break" (x integer PRIMARY KEY, "col
umn" text);
INSERT INTO public."line
break" VALUES (1, E'\\.'), (2, E'a\nb'), (3, NULL);
CREATE SEQUENCE public.s_unused;
CREATE SEQUENCE public.s_false;
SELECT pg_catalog.setval('public.s_false', 60, false);
CREATE SEQUENCE public.s_true;
SELECT pg_catalog.setval('public.s_true', 61);
CREATE MATERIALIZED VIEW public.mv_empty AS SELECT id FROM public.inc WITH NO DATA;
CREATE MATERIALIZED VIEW public.mv_full AS SELECT id FROM public.inc;
CREATE TABLE public.t1 (id integer PRIMARY KEY, v text);
INSERT INTO public.t1 SELECT g, md5(g::text) FROM generate_series(1, 300) g;
CREATE TABLE public.t2 (id integer PRIMARY KEY, t1 integer REFERENCES public.t1);
INSERT INTO public.t2 SELECT g, g FROM generate_series(1, 200) g;
SELECT pg_catalog.lo_from_bytea(4242, 'x');
ALTER LARGE OBJECT 4242 OWNER TO fid_owner;
GRANT SELECT ON LARGE OBJECT 4242 TO PUBLIC;
GRANT UPDATE ON LARGE OBJECT 4242 TO fid_reader WITH GRANT OPTION;
SET ROLE fid_reader;
GRANT UPDATE ON LARGE OBJECT 4242 TO PUBLIC;
RESET ROLE;
COMMENT ON LARGE OBJECT 4242 IS 'a comment';
SELECT pg_catalog.lo_from_bytea(4243, 'yy');
COMMENT ON LARGE OBJECT 4243 IS E'two\nlines, it''s';
SELECT pg_catalog.lo_from_bytea(4244, '');
ALTER LARGE OBJECT 4244 OWNER TO fid_reader;
REVOKE ALL ON LARGE OBJECT 4244 FROM fid_reader;
-- a schema.sql of some size, for the dedup check
DO $$ BEGIN FOR i IN 1..150 LOOP
	EXECUTE pg_catalog.format('CREATE FUNCTION public.f%s() RETURNS integer LANGUAGE sql AS %L',
		i, 'SELECT ' || i);
	EXECUTE pg_catalog.format('COMMENT ON FUNCTION public.f%s() IS %L', i, repeat('x', 200));
END LOOP; END $$;
SQL

test_expect_success 'a database holding what captures used to lose' '
	db_create fid && db_psql fid -f fid.sql >/dev/null
'

test_expect_success 'the snapshot takes it all' '
	vault snapshot --db "dbname=fid" --json >s1.json &&
	vault cat latest db/meta.json >meta.json &&
	jq -e "[.tables[] | select(.name == \"inc\") | .primary_key] == [[\"id\"]]" meta.json &&
	jq -e ".unpopulated_matviews == [{\"schema\": \"public\", \"name\": \"mv_empty\"}]" meta.json &&
	vault cat latest db/sequences.sql >seq.sql &&
	grep -qF "'"'"'\"public\".\"s_false\"'"'"', 60, false);" seq.sql &&
	grep -qF "'"'"'\"public\".\"s_true\"'"'"', 61, true);" seq.sql &&
	vault cat latest "db/public/tables/line%0Abreak/data.sql" >line.sql &&
	head -n 1 line.sql >head.sql &&
	printf "%s\n" "COPY \"public\".U&\"line\\000abreak\" (\"x\", U&\"col\\000aumn\") FROM stdin;" >head.want &&
	test_cmp head.want head.sql &&
	test "$(wc -l <line.sql)" = 5 &&
	vault cat latest db/large_objects.sql >lo.sql &&
	grep -qxF "ALTER LARGE OBJECT 4242 OWNER TO fid_owner;" lo.sql &&
	grep -qxF "SET SESSION AUTHORIZATION fid_reader;" lo.sql &&
	grep -qxF "COMMENT ON LARGE OBJECT 4242 IS '"'"'a comment'"'"';" lo.sql &&
	grep -qxF "REVOKE ALL ON LARGE OBJECT 4244 FROM fid_reader;" lo.sql
'

test_expect_success 'psql reads the one-line COPY header' '
	db_create fidpsql &&
	db_psql fidpsql -c "CREATE TABLE public.\"line
break\" (x integer, \"col
umn\" text)" &&
	db_psql fidpsql -f line.sql &&
	test "$(db_psql fidpsql -c "SELECT count(*) FROM public.\"line
break\"")" = 3
'

test_expect_success 'the reference: pg_dump -Fc | pg_restore into an empty database' '
	db_create fida &&
	pg_dump -Fc -d fid >fid.dump && pg_restore -d fida fid.dump &&
	fidelity fida >a.fid &&
	grep -q "mv_empty|f" a.fid && grep -q "^4242|fid_owner|" a.fid
'

test_expect_success 'vault restore --jobs 1 gives what pg_restore gives' '
	restore_into fidb1 1 &&
	fidelity fidb1 >b1.fid &&
	test_cmp a.fid b1.fid
'

test_expect_success 'vault restore --jobs 2 loads in parallel and gives the same' '
	restore_into fidb2 2 &&
	jq -e ".strategy | startswith(\"parallel\")" fidb2.json &&
	fidelity fidb2 >b2.fid &&
	test_cmp a.fid b2.fid
'

# Nothing differs but db/meta.json's marks of the tables the second
# snapshot took unread from the first (issue 14; none when another
# connection kept the database busy): reused, and how each was captured.
no_reuse() {
	jq "del(.reused_from) | (.tables, .extension_tables) |= map(del(.reused, .captured))"
}
test_expect_success 'a second snapshot of the unchanged database stores no new schema.sql' '
	vault snapshot --db "dbname=fid" --json >s2.json &&
	vault list --json | jq -r ".[-2:][].id" >ids &&
	vault diff $(cat ids) >diff.out &&
	grep -qx "0 added, 0 removed, [01] changed" diff.out &&
	vault diff --json $(cat ids) >diff.json &&
	jq -e "([.changes[].path] - [\"db/meta.json\"]) == [] and .bytes_added == 0" diff.json &&
	vault cat "$(head -n 1 ids)" db/meta.json | no_reuse >m1.json &&
	vault cat "$(tail -n 1 ids)" db/meta.json | no_reuse >m2.json &&
	test_cmp m1.json m2.json &&
	vault cat latest db/schema.sql >schema.sql &&
	! grep -q "restrict " schema.sql &&
	test "$(jq .bytes_added s2.json)" -lt "$(wc -c <schema.sql)"
'

# The newest snapshot's db/, rewritten as older vaults stored it, and
# stored as plain files (vault snapshot db).
test_expect_success 'a snapshot laid out as older vaults wrote it still restores' '
	vault mount latest m >/dev/null &&
	mkdir old && cp -r m/db old/ && chmod -R u+w old &&
	f="old/db/public/tables/line%0Abreak/data.sql" &&
	printf "COPY \"public\".\"line\nbreak\" (\"x\", \"col\numn\") FROM stdin;\n" >h &&
	tail -n +2 "$f" >>h && mv h "$f" &&
	sed -i "0,/^-- Dumped from/s//\\\\restrict K3y\n\n-- Dumped from/" old/db/schema.sql &&
	printf "\\\\unrestrict K3y\n\n" >>old/db/schema.sql &&
	grep -q "^.restrict K3y$" old/db/schema.sql &&
	grep -q "^.unrestrict K3y$" old/db/schema.sql &&
	rm old/db/large_objects.sql &&
	jq "del(.unpopulated_matviews)" m/db/meta.json >old/db/meta.json &&
	(cd old && vault snapshot db) >/dev/null &&
	db_create fidold &&
	vault restore latest --db "dbname=fidold" --dry-run >old.plan &&
	! grep -q "Statements skipped" old.plan &&
	vault restore latest --db "dbname=fidold" --yes --json >old.json &&
	jq -e ".status == \"ok\" and .skipped_statements == []" old.json &&
	test "$(db_psql fidold -c "SELECT count(*) FROM public.\"line
break\"")" = 3 &&
	test "$(db_psql fidold -c "SELECT pg_get_userbyid(lomowner) FROM pg_largeobject_metadata WHERE oid = 4242")" = postgres &&
	test "$(db_psql fidold -c "SELECT relispopulated FROM pg_class WHERE relname = '"'"'mv_empty'"'"'")" = t
'

# ---- an extension's configuration tables ------------------------------------
# A small extension whose script marks two tables and a sequence with
# pg_extension_config_dump, one table with a filter that leaves the
# extension's own row out.  It needs files in the server's share
# directory: CI runs as root and writes them there (removed at the end,
# named after this run); elsewhere these tests skip, loudly.
EXT=vault_extcfg_$$
SHAREDIR=$("$PG_BINDIR/pg_config" --sharedir 2>/dev/null)/extension
if [ -d "$SHAREDIR" ] && [ -w "$SHAREDIR" ]; then
	test_at_exit "rm -f '$SHAREDIR/$EXT.control' '$SHAREDIR/$EXT--1.0.sql'"
	cat >"$SHAREDIR/$EXT.control" <<-EOF
	comment = 'vault tests: configuration tables and a configuration sequence'
	default_version = '1.0'
	relocatable = false
	schema = vault_extcfg
	EOF
	cat >"$SHAREDIR/$EXT--1.0.sql" <<-\EOF
	CREATE TABLE vault_extcfg.cfg (k text PRIMARY KEY, v text,
		standard boolean NOT NULL DEFAULT false);
	INSERT INTO vault_extcfg.cfg VALUES ('builtin', 'from the script', true);
	SELECT pg_catalog.pg_extension_config_dump('vault_extcfg.cfg', 'WHERE NOT standard');
	CREATE SEQUENCE vault_extcfg.job_seq;
	SELECT pg_catalog.pg_extension_config_dump('vault_extcfg.job_seq', '');
	CREATE TABLE vault_extcfg.job (id bigint PRIMARY KEY
		DEFAULT nextval('vault_extcfg.job_seq'), cmd text NOT NULL);
	SELECT pg_catalog.pg_extension_config_dump('vault_extcfg.job', '');
	CREATE TABLE vault_extcfg.log (at integer);
	EOF
	test_set_prereq EXTCFG
elif [ "${CI:-}" = true ]; then
	test_expect_success 'CI can install the test extension' '
		echo "cannot write $SHAREDIR" && false
	'
else
	say "SKIP: cannot write $SHAREDIR (run as root): extension configuration tests skipped"
fi

cat >ext.sql <<'SQL'
INSERT INTO vault_extcfg.cfg VALUES ('user1', 'x'), ('user2', NULL);
INSERT INTO vault_extcfg.job (cmd) VALUES ('a'), ('b'), ('c');
INSERT INTO vault_extcfg.log VALUES (1);
CREATE TABLE public.u1 (id integer PRIMARY KEY);
INSERT INTO public.u1 SELECT generate_series(1, 50);
CREATE TABLE public.u2 (id integer PRIMARY KEY);
INSERT INTO public.u2 SELECT generate_series(1, 50);
SQL

test_expect_success EXTCFG 'a database whose extension holds a user configuration' '
	db_create ext &&
	db_psql ext -c "CREATE EXTENSION $EXT" -f ext.sql >/dev/null &&
	vault snapshot --db "dbname=ext" >/dev/null &&
	vault cat latest db/meta.json >ext.meta &&
	jq -e "[.extension_tables[] | [.name, .rows, .condition]]
		== [[\"cfg\", 2, \"WHERE NOT standard\"], [\"job\", 3, null]]
		and .extension_sequences == [{\"extension\": \"$EXT\",
			\"schema\": \"vault_extcfg\", \"name\": \"job_seq\"}]
		and ([.tables[] | .schema] | index(\"vault_extcfg\") | not)" ext.meta &&
	vault cat latest db/sequences.sql >ext.seq &&
	grep -qF "'"'"'\"vault_extcfg\".\"job_seq\"'"'"', 3, true);" ext.seq &&
	db_create exta &&
	pg_dump -Fc -d ext >ext.dump && pg_restore -d exta ext.dump &&
	fidelity exta >exta.fid &&
	grep -q "^vault_extcfg.cfg|3|" exta.fid
'

test_expect_success EXTCFG 'its rows and sequence come back as pg_restore brings them, --jobs 1 and 2' '
	restore_into extb1 1 &&
	fidelity extb1 >extb1.fid && test_cmp exta.fid extb1.fid &&
	restore_into extb2 2 &&
	jq -e ".strategy | startswith(\"parallel\")" extb2.json &&
	fidelity extb2 >extb2.fid && test_cmp exta.fid extb2.fid
'

test_expect_success EXTCFG 'clean mode puts the configuration back, the extension row stays' '
	db_psql extb1 -c "DELETE FROM vault_extcfg.cfg WHERE k = '"'"'user1'"'"';
		INSERT INTO vault_extcfg.cfg VALUES ('"'"'drift'"'"', '"'"'d'"'"');
		INSERT INTO vault_extcfg.job (cmd) VALUES ('"'"'d'"'"')" &&
	vault restore latest --db "dbname=extb1" --mode clean --yes --json >extc.json &&
	jq -e ".status == \"ok\" and .verification == \"ok\"" extc.json &&
	fidelity extb1 >extc.fid && test_cmp exta.fid extc.fid
'

# The platform's pg_cron on a managed target: the extension is there,
# its configuration table belongs to another role, and the restoring
# role may only read it.  Its rows are skipped, and the plan says why.
test_expect_success EXTCFG 'a configuration table the role may not write: skipped, and said' '
	psql -X -q -v ON_ERROR_STOP=1 -d postgres -c "CREATE ROLE fid_rs LOGIN" \
		-c "CREATE DATABASE extm ENCODING '"'"'UTF8'"'"' TEMPLATE template0 OWNER fid_rs" &&
	db_psql extm -c "CREATE EXTENSION $EXT;
		GRANT USAGE ON SCHEMA vault_extcfg TO fid_rs;
		GRANT SELECT ON ALL TABLES IN SCHEMA vault_extcfg TO fid_rs;
		CREATE TABLE public.u1 (id integer PRIMARY KEY);
		CREATE TABLE public.u2 (id integer PRIMARY KEY);
		ALTER TABLE public.u1 OWNER TO fid_rs; ALTER TABLE public.u2 OWNER TO fid_rs" &&
	vault restore latest --db "dbname=extm user=fid_rs" --only data \
		--mode merge --dry-run >extm.plan &&
	grep -q "vault_extcfg.cfg: .*skipped, an extension.s configuration table this role may not read and write" extm.plan &&
	grep -q "Warning: table vault_extcfg.job skipped" extm.plan &&
	grep -q "Warning: sequence vault_extcfg.job_seq .* is not set" extm.plan &&
	vault restore latest --db "dbname=extm user=fid_rs" --only data \
		--mode merge --yes --json >extm.json &&
	jq -e ".status == \"ok\" and .verification == \"ok\"" extm.json &&
	test "$(db_psql extm -c "SELECT count(*) FROM vault_extcfg.cfg")" = 1 &&
	test "$(db_psql extm -c "SELECT count(*) FROM public.u1")" = 50
'

# A managed target (auth belongs to another role, the restoring role is
# not a superuser) whose platform installed the extension (its schema is
# a reserved role's) and configured it: that configuration is the
# platform's and stays; an empty one of the same extension is filled.
test_expect_success EXTCFG 'a managed target: the platform configuration stays, said; the rest lands' '
	psql -X -q -v ON_ERROR_STOP=1 -d postgres -c "CREATE ROLE fid_platform" \
		-c "CREATE DATABASE extmg ENCODING '"'"'UTF8'"'"' TEMPLATE template0 OWNER fid_rs" &&
	db_psql extmg -c "CREATE SCHEMA auth AUTHORIZATION fid_platform;
		CREATE EXTENSION $EXT;
		GRANT USAGE ON SCHEMA vault_extcfg TO fid_rs;
		GRANT SELECT, INSERT, DELETE ON ALL TABLES IN SCHEMA vault_extcfg TO fid_rs;
		GRANT UPDATE ON SEQUENCE vault_extcfg.job_seq TO fid_rs;
		INSERT INTO vault_extcfg.cfg VALUES ('"'"'platform'"'"', '"'"'p'"'"')" &&
	vault restore latest --db "dbname=extmg user=fid_rs" --dry-run >extmg.plan &&
	grep -q "^Managed target: " extmg.plan &&
	grep -q "vault_extcfg.cfg: .*skipped, .*already holds rows of its configuration on this managed target" extmg.plan &&
	grep -q "vault_extcfg.job: snapshot 3 rows, target 0 rows; copy" extmg.plan &&
	! grep -q CONFLICT extmg.plan &&
	vault restore latest --db "dbname=extmg user=fid_rs" --yes --json >extmg.json &&
	jq -e ".status == \"ok\" and .verification == \"ok\" and .managed_target == true" extmg.json &&
	test "$(db_psql extmg -c "SELECT string_agg(k, '"'"','"'"' ORDER BY k) FROM vault_extcfg.cfg")" = builtin,platform &&
	test "$(db_psql extmg -c "SELECT string_agg(cmd, '"'"','"'"' ORDER BY id) FROM vault_extcfg.job")" = a,b,c &&
	test "$(db_psql extmg -c "SELECT last_value FROM vault_extcfg.job_seq")" = 3 &&
	test "$(db_psql extmg -c "SELECT count(*) FROM public.u2")" = 50
'

test_done

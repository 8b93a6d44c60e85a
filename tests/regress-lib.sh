# regress-lib.sh: PostgreSQL's own regression database, and a way to say
# whether two databases are the same, for the round-trip scenarios
# (tests/cli/t12NN-*.sh) and bench/run-regress.  Sourced after
# test-lib.sh and db-lib.sh, once pg_start has run.
#
#   regress_ready           0 when regress_build can run, else 1 with
#                           REGRESS_SKIP_REASON set
#   regress_build DB        builds DB the way `make installcheck` leaves
#                           `regression` behind: PostgreSQL 15.18's
#                           src/test/regress (tests/fixtures/, PostgreSQL
#                           licence) run by pg_regress --use-existing.
#                           Needs postgresql-server-dev-15 (pg_regress,
#                           PGXS for regress.so); returns 1 with
#                           REGRESS_SKIP_REASON set when it is missing.
#   rt_describe DIR HOST PORT DB
#                           writes what a database holds into DIR, as
#                           text that does not depend on oids or order:
#                           schema.sql (pg_dump --schema-only), rows.tsv
#                           (per table: count and md5 of its sorted rows),
#                           sequences.tsv, lobs.tsv (owner, ACL, comment,
#                           md5 of the bytes), roles.sql (pg_dumpall
#                           --roles-only), memberships.tsv,
#                           rolesettings.tsv
#   rt_rolesettings DIR HOST PORT DB
#                           only DIR/rolesettings.tsv: per-role settings
#                           and those for DB, which pg_dump -Fc does
#                           not carry (pg_dumpall does, and vault does), so
#                           a restore's are compared with the source's
#   rt_compare REF DIR [PARTS]
#                           diffs each part (default: all); prints
#                           "part=N" for each and returns 1 when any
#                           differs (diffs kept in DIR/*.diff)
#
# Some regression tests fail against a newer 15.x server or psql (about
# 9 of 217 with 15.20): that does not matter, what counts is the database
# left behind.

REGRESS_CORPUS=${VAULT_REGRESS_CORPUS:-$VAULT_SRCDIR/tests/fixtures/postgresql-15.18-regress.tar.xz}
REGRESS_PGXS=/usr/lib/postgresql/15/lib/pgxs
REGRESS_SKIP_REASON=

rt_psql_() { psql -X -q -A -t -v ON_ERROR_STOP=1 "$@"; }

# regress_ready: 0 when regress_build can run, else 1 with
# REGRESS_SKIP_REASON set.
regress_ready() {
	local pg_config=$PG_BINDIR/pg_config
	[ -x "$pg_config" ] || pg_config=/usr/lib/postgresql/15/bin/pg_config
	if [ ! -f "$REGRESS_PGXS/src/makefiles/pgxs.mk" ] ||
	   [ ! -x "$REGRESS_PGXS/src/test/regress/pg_regress" ] || [ ! -x "$pg_config" ]; then
		REGRESS_SKIP_REASON="pg_regress and PGXS are missing: apt-get install postgresql-server-dev-15"
		return 1
	fi
	if [ ! -r "$REGRESS_CORPUS" ]; then
		REGRESS_SKIP_REASON="no regression corpus at $REGRESS_CORPUS"
		return 1
	fi
	case $(rt_psql_ -d postgres -c 'SHOW server_version_num') in
	15*) ;;
	*) REGRESS_SKIP_REASON="the corpus is PostgreSQL 15's; the server is another major version"
	   return 1 ;;
	esac
	command -v make >/dev/null 2>&1 && command -v cc >/dev/null 2>&1 || {
		REGRESS_SKIP_REASON="make and cc are needed to build regress.so"
		return 1
	}
}

regress_build() {
	local db=$1 work r pg_config pkglib m rc
	pg_config=$PG_BINDIR/pg_config
	[ -x "$pg_config" ] || pg_config=/usr/lib/postgresql/15/bin/pg_config
	regress_ready || return 1
	# The server's user reads regress.so and data/*.data from here and
	# writes results/ (COPY ... TO a file runs in the server).
	work=$(mktemp -d /tmp/vault-regress.XXXXXX) || return 1
	test_at_exit "rm -rf '$work'"
	chmod 755 "$work"
	tar -C "$work" -xJf "$REGRESS_CORPUS" || return 1
	r=$work/src/test/regress
	mkdir -p "$work/build" "$work/lib" "$work/out/results"
	cp "$r/regress.c" "$work/build/" &&
	printf 'MODULES = regress\nPG_CONFIG = %s\nPGXS := $(shell $(PG_CONFIG) --pgxs)\ninclude $(PGXS)\n' \
		"$pg_config" >"$work/build/Makefile" &&
	make -C "$work/build" -s >"$work/build/make.log" 2>&1 || {
		sed 's/^/# /' "$work/build/make.log" | tail -n 20
		return 1
	}
	pkglib=$("$pg_config" --pkglibdir)
	cp "$work/build/regress.so" "$work/lib/" || return 1
	# triggers.sql loads these from the same directory
	for m in refint autoinc; do
		cp "$pkglib/$m.so" "$work/lib/" || return 1
	done
	chmod -R a+rX "$work"
	chmod 1777 "$work/out" "$work/out/results"
	rt_psql_ -d postgres >/dev/null <<-EOF || return 1
	SET client_min_messages = warning;
	DROP DATABASE IF EXISTS "$db" WITH (FORCE);
	CREATE DATABASE "$db" TEMPLATE=template0 ENCODING='UTF8' LC_COLLATE='C' LC_CTYPE='C';
	ALTER DATABASE "$db" SET lc_messages TO 'C';
	ALTER DATABASE "$db" SET lc_monetary TO 'C';
	ALTER DATABASE "$db" SET lc_numeric TO 'C';
	ALTER DATABASE "$db" SET lc_time TO 'C';
	ALTER DATABASE "$db" SET bytea_output TO 'hex';
	ALTER DATABASE "$db" SET timezone_abbreviations TO 'Default';
	EOF
	# exit 1: some tests failed (expected); 2: a setup error
	(cd "$r" && "$REGRESS_PGXS/src/test/regress/pg_regress" \
		--use-existing --dbname="$db" \
		--host="$PGHOST" --port="$PGPORT" --user="$PGUSER" \
		--bindir="$PG_BINDIR" --inputdir="$r" --outputdir="$work/out" \
		--dlpath="$work/lib" --schedule="$r/parallel_schedule" \
		--max-concurrent-tests=20) >"$work/pg_regress.log" 2>&1
	rc=$?
	grep -m1 -E '(All [0-9]+ tests passed|[0-9]+ of [0-9]+ tests failed)' "$work/pg_regress.log" |
		sed 's/^/# pg_regress: /'
	if [ "$rc" -gt 1 ]; then
		tail -n 20 "$work/pg_regress.log" | sed 's/^/# /'
		return 1
	fi
	# the C functions of the database name this file: it must stay
	REGRESS_LIBDIR=$work/lib
}

rt_describe() {
	local dir=$1 db=$4
	(
		export PGHOST=$2 PGPORT=$3 PGUSER=postgres
		# the same text whatever the cluster's defaults
		export PGOPTIONS="-c timezone=UTC -c datestyle=ISO,MDY -c intervalstyle=postgres -c extra_float_digits=3 -c bytea_output=hex -c lc_monetary=C -c lc_numeric=C -c lc_time=C"
		mkdir -p "$dir/rows" && chmod 777 "$dir/rows" || exit 1
		pg_dump --schema-only --no-sync -d "$db" 2>"$dir/pg_dump.err" |
			grep -v -e '^--' -e '^$' -e '^\\restrict ' -e '^\\unrestrict ' >"$dir/schema.sql"
		rt_psql_ -d "$db" -F $'\t' -c "
			SELECT c.oid, format('%I.%I', n.nspname, c.relname),
			       (SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY a.attname COLLATE \"C\")
			        FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped)
			FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
			WHERE c.relkind IN ('r', 'm')
			  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
			  AND n.nspname !~ '^pg_toast' AND n.nspname !~ '^pg_temp'
			  AND (c.relkind <> 'm' OR c.relispopulated)
			ORDER BY 2" >"$dir/relations.tsv" || exit 1
		awk -F'\t' -v d="$dir/rows" '{ printf "\\o %s/%s\nCOPY (SELECT %s FROM ONLY %s) TO STDOUT;\n", d, $1, $3, $2 }' \
			"$dir/relations.tsv" >"$dir/rows.psql"
		echo '\o' >>"$dir/rows.psql"
		rt_psql_ -d "$db" -f "$dir/rows.psql" >"$dir/rows.err" 2>&1
		while IFS=$'\t' read -r oid rel cols; do
			if [ -f "$dir/rows/$oid" ]; then
				printf '%s\t%s\t%s\n' "$rel" "$(wc -l <"$dir/rows/$oid")" \
					"$(LC_ALL=C sort "$dir/rows/$oid" | md5sum | cut -c1-32)"
			else
				printf '%s\t-\tunreadable\n' "$rel"
			fi
		done <"$dir/relations.tsv" | LC_ALL=C sort >"$dir/rows.tsv"
		rm -rf "$dir/rows"
		rt_psql_ -d "$db" -F $'\t' >"$dir/sequences.tsv" 2>&1 <<-'EOF'
			SELECT format('SELECT %L, last_value, is_called FROM %s', c.oid::regclass::text, c.oid::regclass)
			FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
			WHERE c.relkind = 'S' AND n.nspname !~ '^pg_temp'
			ORDER BY 1
			\gexec
		EOF
		LC_ALL=C sort -o "$dir/sequences.tsv" "$dir/sequences.tsv"
		rt_psql_ -d "$db" -F $'\t' -c "
			SELECT l.oid, pg_get_userbyid(l.lomowner), l.lomacl,
			       obj_description(l.oid, 'pg_largeobject'), md5(lo_get(l.oid))
			FROM pg_largeobject_metadata l ORDER BY l.oid" >"$dir/lobs.tsv" 2>&1
		pg_dumpall --roles-only --no-role-passwords 2>/dev/null |
			grep -v -e '^--' -e '^$' -e '^\\restrict ' -e '^\\unrestrict ' -e '^SET ' >"$dir/roles.sql"
		rt_rolesettings "$dir" "$2" "$3" "$db"
		rt_psql_ -d postgres -F $'\t' -c "
			SELECT r.rolname, m.rolname, g.rolname, a.admin_option
			FROM pg_auth_members a JOIN pg_roles r ON r.oid = a.roleid
			JOIN pg_roles m ON m.oid = a.member JOIN pg_roles g ON g.oid = a.grantor
			ORDER BY 1, 2" >"$dir/memberships.tsv"
	)
}

rt_rolesettings() {
	mkdir -p "$1" &&
	PGHOST=$2 PGPORT=$3 PGUSER=postgres rt_psql_ -d "$4" -F $'\t' -c "
		SELECT r.rolname, CASE WHEN d.datname IS NULL THEN '-' WHEN d.datname = current_database() THEN '(this database)' ELSE d.datname END, s.setconfig
		FROM pg_db_role_setting s JOIN pg_roles r ON r.oid = s.setrole
		LEFT JOIN pg_database d ON d.oid = s.setdatabase
		WHERE s.setdatabase = 0 OR d.datname = current_database()
		ORDER BY 1, 2" >"$1/rolesettings.tsv"
}

RT_PARTS="schema.sql rows.tsv sequences.tsv lobs.tsv roles.sql memberships.tsv rolesettings.tsv"

rt_compare() {
	local ref=$1 dir=$2 part n status=0 line=
	for part in ${3:-$RT_PARTS}; do
		diff -U0 "$ref/$part" "$dir/$part" >"$dir/${part%.*}.diff"
		n=$(grep -c '^[-+][^-+]' "$dir/${part%.*}.diff")
		if [ "$n" = 0 ]; then
			rm -f "$dir/${part%.*}.diff"
		else
			status=1
			head -n 40 "$dir/${part%.*}.diff" | sed 's/^/#   /'
		fi
		line+=" ${part%.*}=$n"
	done
	echo "# $dir vs $ref:$line"
	return $status
}

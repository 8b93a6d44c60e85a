/*
 * pg-catalog-roles: db/roles.sql, the cluster's roles as a capture sees
 * them: one pg_dump-style section per role (CREATE ROLE, ALTER ROLE ...
 * WITH its attributes, its comment), then the memberships and the
 * per-role (and per-database) settings, with the passwords only when
 * asked for and readable.  Also the roles' part of meta.json
 * (cat->roles, cat->roles_required).  Apart from pg-catalog.c because it
 * is text built for pg_dumpall's job, which pg_dump --schema-only does
 * not do; it stands on pg-catalog.c's reserved-role rule only.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "pg-catalog.h"
#include "pg-conn.h"
#include "pg-names.h"

/* GUCs whose value is a list of (possibly quoted) names: written as one
 * literal per element, like pg_dumpall does. */
static int pg_catalog_roles_list_guc(const char *name)
{
	static const char *const lists[] = {
		"search_path", "session_preload_libraries",
		"shared_preload_libraries", "local_preload_libraries",
		"temp_tablespaces", "unix_socket_directories", NULL,
	};

	for (int i = 0; lists[i]; i++)
		if (!strcasecmp(name, lists[i]))
			return 1;
	return 0;
}

static int pg_catalog_roles_setting(struct buf *out, const char *role,
				    const char *db, const char *cfg)
{
	const char *eq = strchr(cfg, '=');
	struct buf name = BUF_INIT, item = BUF_INIT;
	int r;

	if (!eq)
		return 0;
	r = buf_add(&name, cfg, (size_t)(eq - cfg));
	if (r == 0)
		r = buf_addstr(out, "ALTER ROLE ");
	if (r == 0)
		r = pg_names_quote_ident(out, role);
	if (r == 0 && db) {
		r = buf_addstr(out, " IN DATABASE ");
		if (r == 0)
			r = pg_names_quote_ident(out, db);
	}
	if (r == 0)
		r = buf_addstr(out, " SET ");
	if (r == 0)
		r = pg_names_quote_ident(out, (char *)name.data);
	if (r == 0)
		r = buf_addstr(out, " TO ");
	if (r == 0 && pg_catalog_roles_list_guc((char *)name.data)) {
		const char *p = eq + 1;
		int first = 1;

		while (r == 0 && *p) {
			buf_reset(&item);
			while (*p == ' ')
				p++;
			if (*p == '"') {
				for (p++; *p && r == 0; p++) {
					if (*p == '"' && p[1] == '"')
						r = buf_addch(&item, *p++);
					else if (*p == '"')
						break;
					else
						r = buf_addch(&item, *p);
				}
				if (*p == '"')
					p++;
				while (*p && *p != ',')
					p++;
			} else {
				while (*p && *p != ',' && r == 0)
					r = buf_addch(&item, *p++);
				while (item.len && item.data[item.len - 1] == ' ')
					buf_setlen(&item, item.len - 1);
			}
			if (*p == ',')
				p++;
			if (r == 0 && !first)
				r = buf_addstr(out, ", ");
			if (r == 0)
				r = pg_names_quote_literal(out, (char *)item.data);
			first = 0;
		}
	} else if (r == 0) {
		r = pg_names_quote_literal(out, eq + 1);
	}
	if (r == 0)
		r = buf_addstr(out, ";\n");
	buf_release(&name);
	buf_release(&item);
	return r;
}

static int pg_catalog_roles_flag(struct buf *out, const PGresult *res,
				 int row, int col, const char *yes,
				 const char *no)
{
	return buf_addf(out, " %s", PQgetvalue(res, row, col)[0] == 't' ? yes : no);
}

/* Role passwords, when asked for and readable: a name -> hash lookup
 * result (NULL when unavailable; a warning says why). */
static PGresult *pg_catalog_roles_passwords(struct pg_catalog *cat,
					    PGconn *c, struct buf *err,
					    int *r)
{
	PGresult *res = NULL;
	struct buf m = BUF_INIT;

	*r = pg_conn_exec(c, "SAVEPOINT vault_optional", "savepoint", err);
	if (*r < 0)
		return NULL;
	if (pg_conn_query(c, &res, PGRES_TUPLES_OK,
			  "SELECT rolname, rolpassword FROM pg_catalog.pg_authid"
			  " WHERE rolpassword IS NOT NULL ORDER BY rolname COLLATE \"C\"",
			  0, NULL, "reading role passwords", &m) < 0) {
		buf_addf(&cat->warnings, "%s: role passwords left out\n",
			 (char *)m.data);
		*r = pg_conn_exec(c, "ROLLBACK TO SAVEPOINT vault_optional",
				  "savepoint", err);
	} else {
		*r = pg_conn_exec(c, "RELEASE SAVEPOINT vault_optional",
				  "savepoint", err);
	}
	buf_release(&m);
	return res;
}

static const char *pg_catalog_roles_password_of(const PGresult *pw,
						const char *role)
{
	int lo = 0, hi = pw ? PQntuples(pw) : 0;

	while (lo < hi) {
		int mid = lo + (hi - lo) / 2;
		int c = strcmp(PQgetvalue(pw, mid, 0), role);

		if (!c)
			return PQgetvalue(pw, mid, 1);
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static int pg_catalog_roles_one(struct buf *out, const PGresult *res, int i,
				const PGresult *pw)
{
	const char *name = PQgetvalue(res, i, 0);
	const char *pass = pg_catalog_roles_password_of(pw, name);
	int r;

	r = buf_addstr(out, "--\n-- Name: ");
	if (r == 0)
		r = buf_addstr(out, name);
	if (r == 0)
		r = buf_addstr(out, "; Type: ROLE; Schema: -; Owner: -\n--\n\n");
	if (r == 0 && pg_catalog_reserved_role(name))
		r = buf_addstr(out, "-- vault: reserved role (managed by Supabase; restore keeps an existing one)\n");
	if (r == 0)
		r = buf_addstr(out, "CREATE ROLE ");
	if (r == 0)
		r = pg_names_quote_ident(out, name);
	if (r == 0)
		r = buf_addstr(out, ";\nALTER ROLE ");
	if (r == 0)
		r = pg_names_quote_ident(out, name);
	if (r == 0)
		r = buf_addstr(out, " WITH");
	if (r == 0)
		r = pg_catalog_roles_flag(out, res, i, 1, "SUPERUSER", "NOSUPERUSER");
	if (r == 0)
		r = pg_catalog_roles_flag(out, res, i, 2, "INHERIT", "NOINHERIT");
	if (r == 0)
		r = pg_catalog_roles_flag(out, res, i, 3, "CREATEROLE", "NOCREATEROLE");
	if (r == 0)
		r = pg_catalog_roles_flag(out, res, i, 4, "CREATEDB", "NOCREATEDB");
	if (r == 0)
		r = pg_catalog_roles_flag(out, res, i, 5, "LOGIN", "NOLOGIN");
	if (r == 0)
		r = pg_catalog_roles_flag(out, res, i, 6, "REPLICATION", "NOREPLICATION");
	if (r == 0)
		r = pg_catalog_roles_flag(out, res, i, 7, "BYPASSRLS", "NOBYPASSRLS");
	if (r == 0 && strcmp(PQgetvalue(res, i, 8), "-1"))
		r = buf_addf(out, " CONNECTION LIMIT %s", PQgetvalue(res, i, 8));
	if (r == 0 && pass) {
		r = buf_addstr(out, " PASSWORD ");
		if (r == 0)
			r = pg_names_quote_literal(out, pass);
	}
	if (r == 0 && !PQgetisnull(res, i, 9)) {
		r = buf_addstr(out, " VALID UNTIL ");
		if (r == 0)
			r = pg_names_quote_literal(out, PQgetvalue(res, i, 9));
	}
	if (r == 0)
		r = buf_addstr(out, ";\n");
	if (r == 0 && !PQgetisnull(res, i, 10)) {
		r = buf_addstr(out, "COMMENT ON ROLE ");
		if (r == 0)
			r = pg_names_quote_ident(out, name);
		if (r == 0)
			r = buf_addstr(out, " IS ");
		if (r == 0)
			r = pg_names_quote_literal(out, PQgetvalue(res, i, 10));
		if (r == 0)
			r = buf_addstr(out, ";\n");
	}
	return r == 0 ? buf_addch(out, '\n') : r;
}

int pg_catalog_roles_sql(struct pg_catalog *cat, PGconn *c,
			 int with_passwords, struct buf *out, struct buf *err)
{
	struct buf *roles_json = &cat->roles, *req = &cat->roles_required;
	static const char roles[] =
		"SELECT r.rolname, r.rolsuper, r.rolinherit, r.rolcreaterole,"
		" r.rolcreatedb, r.rolcanlogin, r.rolreplication, r.rolbypassrls,"
		" r.rolconnlimit, r.rolvaliduntil,"
		" pg_catalog.shobj_description(r.oid, 'pg_authid')"
		" FROM pg_catalog.pg_roles r WHERE r.rolname !~ '^pg_'"
		" ORDER BY r.rolname COLLATE \"C\"";
	static const char members[] =
		"SELECT r.rolname, m.rolname, g.rolname, am.admin_option"
		" FROM pg_catalog.pg_auth_members am"
		" JOIN pg_catalog.pg_roles r ON r.oid = am.roleid"
		" JOIN pg_catalog.pg_roles m ON m.oid = am.member"
		" LEFT JOIN pg_catalog.pg_roles g ON g.oid = am.grantor"
		" WHERE m.rolname !~ '^pg_'"
		" ORDER BY r.rolname COLLATE \"C\", m.rolname COLLATE \"C\"";
	static const char settings[] =
		"SELECT r.rolname, s.setdatabase <> 0, pg_catalog.unnest(s.setconfig)"
		" FROM pg_catalog.pg_db_role_setting s"
		" JOIN pg_catalog.pg_roles r ON r.oid = s.setrole"
		" WHERE s.setdatabase = 0 OR s.setdatabase = (SELECT oid FROM"
		"  pg_catalog.pg_database WHERE datname = pg_catalog.current_database())"
		" ORDER BY r.rolname COLLATE \"C\", s.setdatabase";
	PGresult *res = NULL, *pw = NULL;
	int r = 0;

	if (with_passwords) {
		pw = pg_catalog_roles_passwords(cat, c, err, &r);
		if (r < 0)
			goto out;
	}
	r = pg_conn_query(c, &res, PGRES_TUPLES_OK, roles, 0, NULL,
			  "listing roles", err);
	if (r < 0)
		goto out;
	r = buf_addstr(out, "--\n-- Roles captured by vault (pg_roles, pg_auth_members)\n--\n\n");
	buf_reset(roles_json);
	buf_reset(req);
	if (r == 0)
		r = buf_addch(roles_json, '[');
	if (r == 0)
		r = buf_addch(req, '[');
	for (int i = 0; r == 0 && i < PQntuples(res); i++) {
		const char *name = PQgetvalue(res, i, 0);

		r = pg_catalog_roles_one(out, res, i, pw);
		if (r == 0 && !pg_catalog_reserved_role(name)) {
			if (req->len > 1)
				r = buf_addstr(req, ", ");
			if (r == 0)
				r = pg_names_quote_json(req, name);
		}
		if (r == 0)
			r = buf_addstr(roles_json, i ? ", {\"name\": " : "{\"name\": ");
		if (r == 0)
			r = pg_names_quote_json(roles_json, name);
		if (r == 0)
			r = buf_addf(roles_json, ", \"reserved\": %s, \"login\": %s}",
				     pg_catalog_reserved_role(name) ? "true" : "false",
				     PQgetvalue(res, i, 5)[0] == 't' ? "true" : "false");
	}
	if (r == 0)
		r = buf_addch(roles_json, ']');
	if (r == 0)
		r = buf_addch(req, ']');
	PQclear(res);
	res = NULL;
	if (r == 0)
		r = pg_conn_query(c, &res, PGRES_TUPLES_OK, members, 0, NULL,
				  "listing role memberships", err);
	if (r == 0 && PQntuples(res))
		r = buf_addstr(out, "--\n-- Name: memberships; Type: ROLE MEMBERSHIP; Schema: -; Owner: -\n--\n\n");
	for (int i = 0; r == 0 && i < PQntuples(res); i++) {
		r = buf_addstr(out, "GRANT ");
		if (r == 0)
			r = pg_names_quote_ident(out, PQgetvalue(res, i, 0));
		if (r == 0)
			r = buf_addstr(out, " TO ");
		if (r == 0)
			r = pg_names_quote_ident(out, PQgetvalue(res, i, 1));
		if (r == 0 && PQgetvalue(res, i, 3)[0] == 't')
			r = buf_addstr(out, " WITH ADMIN OPTION");
		if (r == 0 && !PQgetisnull(res, i, 2)) {
			r = buf_addstr(out, " GRANTED BY ");
			if (r == 0)
				r = pg_names_quote_ident(out, PQgetvalue(res, i, 2));
		}
		if (r == 0)
			r = buf_addstr(out, ";\n");
	}
	PQclear(res);
	res = NULL;
	if (r == 0)
		r = pg_conn_query(c, &res, PGRES_TUPLES_OK, settings, 0, NULL,
				  "listing role settings", err);
	if (r == 0 && PQntuples(res))
		r = buf_addstr(out, "\n--\n-- Name: settings; Type: ROLE SETTINGS; Schema: -; Owner: -\n--\n\n");
	for (int i = 0; r == 0 && i < PQntuples(res); i++)
		r = pg_catalog_roles_setting(out, PQgetvalue(res, i, 0),
				       PQgetvalue(res, i, 1)[0] == 't' ?
				       cat->database : NULL,
				       PQgetvalue(res, i, 2));
out:
	PQclear(res);
	/* password hashes are secrets too */
	for (int i = 0; pw && i < PQntuples(pw); i++) {
		char *h = PQgetvalue(pw, i, 1);

		memset(h, 0, strlen(h));
	}
	PQclear(pw);
	return r;
}

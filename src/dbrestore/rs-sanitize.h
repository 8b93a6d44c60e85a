/*
 * rs-sanitize: which statements of a dump (db/schema.sql, db/roles.sql,
 * db/large_objects.sql or a table's schema.sql, split by pg-ddl) a
 * restore may run on its target, and why each other one is skipped.
 * Pure: no connection.
 *
 * Always skipped: psql meta-commands (\restrict, \connect ...), which
 * libpq cannot run.
 *
 * On a managed target (Supabase: the platform owns auth and storage and
 * the restoring role is not a superuser), also skipped:
 *  - every statement of a section that belongs to a managed schema
 *    (the platform keeps that DDL; restore loads only the rows);
 *  - ALTER ... OWNER TO a reserved role other than the restoring one;
 *  - privilege GRANT/REVOKE to or from a reserved role other than the
 *    API roles (anon, authenticated, service_role) and the restoring
 *    one, or GRANTED BY such a role;
 *  - role memberships that involve a reserved role;
 *  - CREATE/ALTER/COMMENT ON ROLE of a reserved role;
 *  - event triggers (CREATE/ALTER/COMMENT ON EVENT TRIGGER): superuser
 *    only;
 *  - ALTER DEFAULT PRIVILEGES FOR ROLE <reserved role>;
 *  - SET SESSION AUTHORIZATION (pg_dump's way to grant as another
 *    grantor): superuser only, so those grants are made by the
 *    restoring role;
 *  - COMMENT ON EXTENSION (only the extension's owner may).
 * When the restoring role is not a superuser (any target): privileges on
 * catalog objects (GRANT SELECT (prosrc) ON pg_catalog.pg_proc ...),
 * which only a superuser may change.
 * Every skipped statement carries its reason: nothing is dropped
 * silently, and the restore log lists them all.
 */
#ifndef VAULT_RS_SANITIZE_H
#define VAULT_RS_SANITIZE_H

#include <stddef.h>
#include "buf.h"
#include "pg-ddl.h"

struct rs_sanitize_opts {
	int managed;
	/* the restoring role is not a superuser: GRANT/REVOKE on objects
	 * of pg_catalog and information_schema (which belong to the
	 * bootstrap superuser) are skipped, on any target */
	int no_superuser;
	const char *current_role;	/* the restoring role ("" = none) */
	const char *const *managed_schemas;	/* NULL-terminated */
	/* NULL-terminated; NULL = anon, authenticated, service_role */
	const char *const *api_roles;
	/* NULL = pg_catalog_reserved_role */
	int (*reserved)(const char *role);
};

/* statements before the first section / after the last one */
#define RS_SANITIZE_PREAMBLE ((size_t)-1)
#define RS_SANITIZE_TRAILER ((size_t)-2)

struct rs_sanitized_stmt {
	size_t section;		/* index in the pg_ddl, or one of the above */
	size_t off, len;	/* in pg_ddl_text() */
	const char *skip;	/* NULL: run it; else why it is skipped */
};

struct rs_sanitized;

/* Splits every section of d into statements and judges each.  0 or
 * -ENOMEM.  d must outlive the result (offsets point into its text). */
int rs_sanitize(struct rs_sanitized **out, const struct pg_ddl *d,
		const struct rs_sanitize_opts *o);
void rs_sanitized_free(struct rs_sanitized *s);

size_t rs_sanitized_count(const struct rs_sanitized *s);
const struct rs_sanitized_stmt *rs_sanitized_get(const struct rs_sanitized *s,
				       size_t i);
/* The statements of section sec are [*first, *first + *n). */
void rs_sanitized_section(const struct rs_sanitized *s, size_t sec,
			  size_t *first, size_t *n);
size_t rs_sanitized_nskipped(const struct rs_sanitized *s);

/* The reason one statement would be skipped (NULL: it runs), appended
 * to why.  For tests and for statements vault writes itself. */
int rs_sanitize_stmt(const struct rs_sanitize_opts *o, const char *sql,
		     size_t len, int meta, struct buf *why);

#endif

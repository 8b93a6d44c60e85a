/*
 * sb-env: where a Supabase project's settings come from.
 *
 * Each setting is read from the process environment first, then from a
 * `.env` file: the one named by --env-file, else `./.env` when it exists
 * (and the caller allows it: see no_implicit).
 * The environment wins, as with other dotenv tools, so a one-off
 * `SUPABASE_URL=... vault snapshot` overrides the file; an empty variable
 * counts as unset.  --storage-url overrides everything for Storage.
 *
 *   SUPABASE_URL               https://<ref>.supabase.co (Storage at /storage/v1)
 *   SUPABASE_STORAGE_URL       a Storage base URL (like --storage-url)
 *   SUPABASE_SERVICE_ROLE_KEY  Storage key (secret)
 *   SUPABASE_ACCESS_TOKEN      Management API token (secret)
 *   SUPABASE_PROJECT_REF       defaults to <ref> of a *.supabase.co URL
 *   SUPABASE_API_URL           Management API base, default https://api.supabase.com
 *   SUPABASE_DB_URL            libpq URL of the database (may hold a password)
 *
 * The .env syntax is dotenv.h's (the one parser vault has).
 *
 * Secrets never appear in err: parse errors name the file and line only.
 * Everything is wiped on release.
 */
#ifndef VAULT_SB_ENV_H
#define VAULT_SB_ENV_H

#include <stddef.h>
#include "buf.h"
#include "dotenv.h"

#define SB_ENV_DEFAULT_API_URL "https://api.supabase.com"
#define SB_ENV_MAX_FILE DOTENV_MAX_FILE

struct sb_env {
	char *url;		/* no trailing '/'; NULL if unset */
	char *storage_url;	/* override, else url + "/storage/v1"; NULL if neither */
	char *service_key;
	char *access_token;
	char *project_ref;
	char *api_url;		/* never NULL after a successful load */
	char *db_url;
	char *env_file;		/* the .env file that was read, or NULL */
	int env_file_exposed;	/* it is readable by group or others: warn */
	int env_file_implicit;	/* it is ./.env, which nobody named */
};

struct sb_env_opts {
	const char *env_file;	/* --env-file; NULL = ./.env if present */
	const char *storage_url;/* --storage-url; NULL = none */
	int no_implicit;	/* no --env-file: the environment only, never
				 * ./.env (the command line named the sources) */
};

/*
 * Fills e (which it initialises).  -ENOENT if an --env-file is missing,
 * -EINVAL for a malformed .env or setting (err names file:line or the
 * setting, never a value), -EACCES/-EIO for unreadable files, -E2BIG for
 * a .env over SB_ENV_MAX_FILE.  On error e holds nothing.
 */
int sb_env_load(struct sb_env *e, const struct sb_env_opts *o,
		struct buf *err);
/* Wipes and frees everything; NULL-safe, idempotent. */
void sb_env_release(struct sb_env *e);

/* Storage is usable (URL and service key), the Management API is usable
 * (token and project ref). */
int sb_env_has_storage(const struct sb_env *e);
int sb_env_has_functions(const struct sb_env *e);

#endif

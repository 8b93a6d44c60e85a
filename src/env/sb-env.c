/*
 * sb-env: the Supabase project settings from the environment and a
 * dotenv file (parsed by dotenv.c).  See sb-env.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sodium.h>

#include "dotenv.h"
#include "sb-env.h"

/* The settings we read, in struct order. */
enum sb_env_key {
	SB_ENV_URL,
	SB_ENV_STORAGE_URL,
	SB_ENV_SERVICE_KEY,
	SB_ENV_ACCESS_TOKEN,
	SB_ENV_PROJECT_REF,
	SB_ENV_API_URL,
	SB_ENV_DB_URL,
	SB_ENV_NKEYS
};

static const char *const sb_env_names[SB_ENV_NKEYS + 1] = {
	"SUPABASE_URL",
	"SUPABASE_STORAGE_URL",
	"SUPABASE_SERVICE_ROLE_KEY",
	"SUPABASE_ACCESS_TOKEN",
	"SUPABASE_PROJECT_REF",
	"SUPABASE_API_URL",
	"SUPABASE_DB_URL",
};

static void sb_env_wipe_str(char **s)
{
	if (*s) {
		sodium_memzero(*s, strlen(*s));
		free(*s);
		*s = NULL;
	}
}

void sb_env_release(struct sb_env *e)
{
	if (!e)
		return;
	sb_env_wipe_str(&e->url);
	sb_env_wipe_str(&e->storage_url);
	sb_env_wipe_str(&e->service_key);
	sb_env_wipe_str(&e->access_token);
	sb_env_wipe_str(&e->project_ref);
	sb_env_wipe_str(&e->api_url);
	sb_env_wipe_str(&e->db_url);
	free(e->env_file);
	e->env_file = NULL;
	e->env_file_exposed = 0;
}

/* ---- loading ----------------------------------------------------------- */

struct sb_env_file_vals {
	char *v[SB_ENV_NKEYS];
};

static int sb_env_file_cb(void *ctx, const char *key, const char *value,
			  size_t vlen)
{
	struct sb_env_file_vals *fv = ctx;
	int i;

	for (i = 0; i < SB_ENV_NKEYS; i++) {
		if (strcmp(key, sb_env_names[i]) != 0)
			continue;
		/* a value holding NUL cannot be a URL or a key */
		if (strlen(value) != vlen)
			return -EILSEQ;
		sb_env_wipe_str(&fv->v[i]);	/* the last assignment wins */
		fv->v[i] = strdup(value);
		return fv->v[i] ? 0 : -ENOMEM;
	}
	return 0;
}

static int sb_env_read_file(const char *path, int must_exist,
			    struct sb_env_file_vals *fv, int *exposed,
			    struct buf *err)
{
	struct buf text = BUF_INIT;
	int r;

	r = dotenv_file_read(path, &text, exposed, err);
	if (r == -ENOENT && !must_exist)
		return 1;
	if (r < 0) {
		if (err) {
			/* "path: why" -> "cannot read env file path: why" */
			struct buf m = BUF_INIT;

			buf_addf(&m, "cannot read env file %s", (const char *)err->data);
			buf_reset(err);
			buf_add(err, m.data, m.len);
			buf_release(&m);
		}
		return r;
	}
	r = dotenv_parse((const char *)text.data, text.len, path, sb_env_names,
			 sb_env_file_cb, fv, err);
	if (r == -EILSEQ) {
		r = -EINVAL;
		if (err) {
			buf_reset(err);
			buf_addf(err, "%s: a Supabase setting holds a NUL byte", path);
		}
	}
	buf_wipe(&text);
	return r;
}

static int sb_env_bad(struct buf *err, const char *name, const char *why)
{
	if (err) {
		buf_reset(err);
		buf_addf(err, "%s %s", name, why);
	}
	return -EINVAL;
}

/* Takes ownership of *s: trailing slashes go, the scheme is checked. */
static int sb_env_check_url(char *s, const char *name, struct buf *err)
{
	size_t n = strlen(s), i;

	if (strncmp(s, "http://", 7) != 0 && strncmp(s, "https://", 8) != 0)
		return sb_env_bad(err, name, "must start with http:// or https://");
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] <= ' ' || s[i] == 0x7f)
			return sb_env_bad(err, name, "must not contain spaces or control characters");
	while (n > 8 && s[n - 1] == '/')
		s[--n] = '\0';
	return 0;
}

/* "<ref>" of https://<ref>.supabase.co[/...], or NULL. */
static char *sb_env_ref_from_url(const char *url)
{
	const char *h = strstr(url, "://"), *dot, *end;
	static const char *const suffixes[] = { ".supabase.co", ".supabase.in" };
	size_t i, sl;

	if (!h)
		return NULL;
	h += 3;
	end = h + strcspn(h, "/:?#");
	dot = memchr(h, '.', (size_t)(end - h));
	if (!dot || dot == h)
		return NULL;
	for (i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		sl = strlen(suffixes[i]);
		if ((size_t)(end - dot) == sl && memcmp(dot, suffixes[i], sl) == 0)
			return strndup(h, (size_t)(dot - h));
	}
	return NULL;
}

int sb_env_load(struct sb_env *e, const struct sb_env_opts *o,
		struct buf *err)
{
	struct sb_env_file_vals fv;
	char **slot[SB_ENV_NKEYS];
	const char *path, *v;
	int i, r = 0, exposed = 0;

	memset(e, 0, sizeof(*e));
	memset(&fv, 0, sizeof(fv));
	slot[SB_ENV_URL] = &e->url;
	slot[SB_ENV_STORAGE_URL] = &e->storage_url;
	slot[SB_ENV_SERVICE_KEY] = &e->service_key;
	slot[SB_ENV_ACCESS_TOKEN] = &e->access_token;
	slot[SB_ENV_PROJECT_REF] = &e->project_ref;
	slot[SB_ENV_API_URL] = &e->api_url;
	slot[SB_ENV_DB_URL] = &e->db_url;

	path = o && o->env_file ? o->env_file : ".env";
	if (o && !o->env_file && o->no_implicit)
		r = 1;	/* as if there were no ./.env */
	else
		r = sb_env_read_file(path, o && o->env_file, &fv, &exposed,
				     err);
	if (r < 0)
		goto fail;
	if (r == 0) {
		e->env_file_implicit = !(o && o->env_file);
		e->env_file = strdup(path);
		if (!e->env_file) {
			r = -ENOMEM;
			goto fail;
		}
		e->env_file_exposed = exposed;
	}
	r = 0;
	for (i = 0; i < SB_ENV_NKEYS; i++) {
		v = getenv(sb_env_names[i]);
		if (v && *v) {
			*slot[i] = strdup(v);
			if (!*slot[i]) {
				r = -ENOMEM;
				goto fail;
			}
		} else if (fv.v[i] && *fv.v[i]) {
			*slot[i] = fv.v[i];
			fv.v[i] = NULL;
		}
	}
	if (o && o->storage_url && *o->storage_url) {
		sb_env_wipe_str(&e->storage_url);
		e->storage_url = strdup(o->storage_url);
		if (!e->storage_url) {
			r = -ENOMEM;
			goto fail;
		}
	}
	if (e->url && (r = sb_env_check_url(e->url, "SUPABASE_URL", err)) < 0)
		goto fail;
	if (e->storage_url &&
	    (r = sb_env_check_url(e->storage_url, o && o->storage_url ?
				  "--storage-url" : "SUPABASE_STORAGE_URL", err)) < 0)
		goto fail;
	if (!e->storage_url && e->url) {
		size_t n = strlen(e->url) + sizeof("/storage/v1");

		e->storage_url = malloc(n);
		if (!e->storage_url) {
			r = -ENOMEM;
			goto fail;
		}
		snprintf(e->storage_url, n, "%s/storage/v1", e->url);
	}
	if (!e->api_url) {
		e->api_url = strdup(SB_ENV_DEFAULT_API_URL);
		if (!e->api_url) {
			r = -ENOMEM;
			goto fail;
		}
	}
	if ((r = sb_env_check_url(e->api_url, "SUPABASE_API_URL", err)) < 0)
		goto fail;
	if (!e->project_ref && e->url)
		e->project_ref = sb_env_ref_from_url(e->url);
	if (e->project_ref) {
		for (v = e->project_ref; *v; v++)
			if (!((*v >= 'a' && *v <= 'z') || (*v >= 'A' && *v <= 'Z') ||
			      (*v >= '0' && *v <= '9') || *v == '-' || *v == '_')) {
				r = sb_env_bad(err, "SUPABASE_PROJECT_REF",
					       "may hold only letters, digits, '-' and '_'");
				goto fail;
			}
	}
	for (i = 0; i < SB_ENV_NKEYS; i++)
		sb_env_wipe_str(&fv.v[i]);
	return 0;
fail:
	for (i = 0; i < SB_ENV_NKEYS; i++)
		sb_env_wipe_str(&fv.v[i]);
	sb_env_release(e);
	return r;
}

int sb_env_has_storage(const struct sb_env *e)
{
	return e && e->storage_url && e->service_key;
}

int sb_env_has_functions(const struct sb_env *e)
{
	return e && e->api_url && e->access_token && e->project_ref;
}

/*
 * test-sb-env: the Supabase settings from the environment and a .env
 * file: the .env syntax, precedence over it of the environment, the
 * readable-by-others flag, errors that name the line but never a value,
 * the project ref from the URL.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "buf.h"
#include "dotenv.h"
#include "sb-env.h"
#include "../tap.h"

/* ---- sb-env ------------------------------------------------------------- */

static const char *const ENV_NAMES[] = {
	"SUPABASE_URL", "SUPABASE_STORAGE_URL", "SUPABASE_SERVICE_ROLE_KEY",
	"SUPABASE_ACCESS_TOKEN", "SUPABASE_PROJECT_REF", "SUPABASE_API_URL",
	"SUPABASE_DB_URL", NULL
};

static void env_clear(void)
{
	int i;

	for (i = 0; ENV_NAMES[i]; i++)
		unsetenv(ENV_NAMES[i]);
}

static void write_file(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);

	if (fd >= 0) {
		if (write(fd, text, strlen(text)) < 0)
			diag("write %s failed", path);
		fchmod(fd, mode);
		close(fd);
	}
}

struct envcol {
	char *v[8];
	int n;
};

static int envcol_cb(void *ctx, const char *key, const char *value, size_t vlen)
{
	struct envcol *c = ctx;
	struct buf b = BUF_INIT;

	if (c->n >= 8)
		return -E2BIG;
	buf_addf(&b, "%s=", key);
	buf_add(&b, value, vlen);
	c->v[c->n++] = buf_detach(&b, NULL);
	return 0;
}

static void envcol_free(struct envcol *c)
{
	int i;

	for (i = 0; i < c->n; i++)
		free(c->v[i]);
}

static void test_env(void)
{
	char dir[] = "/tmp/vault-test-sbenv-XXXXXX", old[4096], path[4200];
	struct sb_env e;
	struct sb_env_opts o = { 0 };
	struct buf err = BUF_INIT;
	int r;

	env_clear();
	if (!mkdtemp(dir) || !getcwd(old, sizeof(old)) || chdir(dir) < 0) {
		ok(0, "env: temporary directory");
		return;
	}
	r = sb_env_load(&e, &o, &err);
	ok(r == 0 && !e.env_file && !sb_env_has_storage(&e) &&
	   strcmp(e.api_url, SB_ENV_DEFAULT_API_URL) == 0,
	   "env: nothing configured is fine, with the default API URL");
	sb_env_release(&e);

	write_file(".env",
		   "# a comment\n"
		   "\n"
		   "export SUPABASE_URL=https://abcdefghijklmnop.supabase.co/  \n"
		   "SUPABASE_SERVICE_ROLE_KEY = \"sk-\\\"quoted\\\"#not-a-comment\"  # comment\n"
		   "SUPABASE_ACCESS_TOKEN='sbp_lit\\n$HOME'\n"
		   "SUPABASE_DB_URL=postgres://u:p#w@h/db # inline\r\n"
		   "OTHER_THING=\"multi\nline\"\n", 0600);
	r = sb_env_load(&e, &o, &err);
	ok(r == 0, "env: .env loads (%s)", r ? (const char *)err.data : "ok");
	if (r == 0) {
		ok(strcmp(e.url, "https://abcdefghijklmnop.supabase.co") == 0,
		   "env: export prefix, trailing blanks and slash dropped");
		ok(strcmp(e.storage_url, "https://abcdefghijklmnop.supabase.co/storage/v1") == 0,
		   "env: storage URL derived");
		ok(strcmp(e.service_key, "sk-\"quoted\"#not-a-comment") == 0,
		   "env: double quotes with escapes, then a comment");
		ok(strcmp(e.access_token, "sbp_lit\\n$HOME") == 0,
		   "env: single quotes are literal, no expansion");
		ok(strcmp(e.db_url, "postgres://u:p#w@h/db") == 0,
		   "env: '#' inside a value stays, ' #' starts a comment, CR dropped");
		ok(strcmp(e.project_ref, "abcdefghijklmnop") == 0,
		   "env: project ref from a *.supabase.co URL");
		ok(e.env_file && !e.env_file_exposed, "env: a 0600 .env is not flagged");
		ok(sb_env_has_storage(&e) && sb_env_has_functions(&e), "env: both usable");
	}
	sb_env_release(&e);
	{
		static const char text[] =
			"A=\"one\ntwo\\tthree\"\nexport B = 'x y' # c\nC=\nD=\"\"";
		struct envcol c = { { 0 }, 0 };

		r = dotenv_parse(text, strlen(text), "t", NULL, envcol_cb, &c, &err);
		ok(r == 0 && c.n == 4 && strcmp(c.v[0], "A=one\ntwo\tthree") == 0 &&
		   strcmp(c.v[1], "B=x y") == 0 && strcmp(c.v[2], "C=") == 0 &&
		   strcmp(c.v[3], "D=") == 0,
		   "env: multi-line quoted value, escapes, blanks, empty values");
		envcol_free(&c);
	}

	/* the environment wins; --storage-url wins over both */
	setenv("SUPABASE_SERVICE_ROLE_KEY", "from-env", 1);
	setenv("SUPABASE_PROJECT_REF", "explicitref", 1);
	o.storage_url = "http://127.0.0.1:9/storage/v1/";
	r = sb_env_load(&e, &o, &err);
	ok(r == 0 && strcmp(e.service_key, "from-env") == 0 &&
	   strcmp(e.project_ref, "explicitref") == 0 &&
	   strcmp(e.storage_url, "http://127.0.0.1:9/storage/v1") == 0,
	   "env: environment over .env, --storage-url over everything");
	sb_env_release(&e);
	o.storage_url = NULL;
	env_clear();

	chmod(".env", 0644);
	r = sb_env_load(&e, &o, &err);
	ok(r == 0 && e.env_file_exposed, "env: a group/other-readable .env is flagged");
	sb_env_release(&e);

	write_file(".env", "SUPABASE_URL=https://x.supabase.co\n"
		   "SUPABASE_SERVICE_ROLE_KEY=supersecretvalue\n"
		   "this line is wrong supersecretvalue\n", 0600);
	buf_reset(&err);
	r = sb_env_load(&e, &o, &err);
	ok(r == -EINVAL && strstr((const char *)err.data, ".env:3:") &&
	   !strstr((const char *)err.data, "supersecret"),
	   "env: a malformed line is named by number, without values (%s)",
	   (const char *)err.data);
	write_file(".env", "SUPABASE_SERVICE_ROLE_KEY=\"unterminated secret\n", 0600);
	buf_reset(&err);
	r = sb_env_load(&e, &o, &err);
	ok(r == -EINVAL && strstr((const char *)err.data, "unterminated") &&
	   !strstr((const char *)err.data, "secret\n"),
	   "env: an unterminated quote is an error");
	write_file(".env", "SUPABASE_URL=ftp://x\n", 0600);
	r = sb_env_load(&e, &o, &err);
	ok(r == -EINVAL && strstr((const char *)err.data, "SUPABASE_URL"),
	   "env: a URL that is not http(s) is refused");

	snprintf(path, sizeof(path), "%s/other.env", dir);
	write_file(path, "SUPABASE_ACCESS_TOKEN=tok\nSUPABASE_PROJECT_REF=ref1\n", 0600);
	o.env_file = path;
	r = sb_env_load(&e, &o, &err);
	ok(r == 0 && strcmp(e.access_token, "tok") == 0 && !e.service_key &&
	   sb_env_has_functions(&e) && !sb_env_has_storage(&e),
	   "env: --env-file replaces ./.env");
	sb_env_release(&e);
	sb_env_release(&e);
	o.env_file = "/nonexistent/vault.env";
	r = sb_env_load(&e, &o, &err);
	ok(r == -ENOENT && strstr((const char *)err.data, "/nonexistent/vault.env"),
	   "env: a missing --env-file is -ENOENT");

	unlink(path);
	unlink(".env");
	if (chdir(old) < 0)
		diag("chdir back failed");
	rmdir(dir);
	buf_release(&err);
}

int main(void)
{
	test_env();
	return done_testing();
}

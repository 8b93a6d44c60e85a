/*
 * test-dotenv: the .env reader: quoting, comments, `export`, the last
 * assignment winning, syntax errors naming file and line without the
 * value, and the permission check on the file.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "dotenv.h"
#include "../tap.h"

static const char *get(const char *text, const char *key, int *rc)
{
	static struct buf out = BUF_INIT;
	struct buf err = BUF_INIT;

	buf_reset(&out);
	*rc = dotenv_parse_get(text, strlen(text), "t.env", key, &out, &err);
	if (*rc < 0) {
		buf_reset(&out);
		buf_add(&out, err.data, err.len);
	}
	buf_release(&err);
	return (const char *)out.data;
}

static void test_parse(void)
{
	const char *env =
		"# a comment\n"
		"\n"
		"SUPABASE_URL=https://x.supabase.co\n"
		"export SUPABASE_DB_URL = \"postgres://u:p\\\"w@h:5432/db\"  # db\n"
		"  PLAIN =  value with spaces   # comment\n"
		"HASH=a#b\n"
		"SINGLE='it''s \\n raw'\n"
		"TWICE=one\r\n"
		"TWICE=two\r\n"
		"EMPTY=\n"
		"ESC=\"a\\nb\\tc\\\\\"\n";
	int rc;

	ok(!strcmp(get(env, "SUPABASE_DB_URL", &rc), "postgres://u:p\"w@h:5432/db") &&
	   rc == 1, "export prefix, spaces around '=', double quotes, comment");
	ok(!strcmp(get(env, "PLAIN", &rc), "value with spaces"),
	   "unquoted: trailing blanks and comment dropped");
	ok(!strcmp(get(env, "HASH", &rc), "a#b"), "a '#' inside a word stays");
	get(env, "SINGLE", &rc);
	is_int(rc, -EINVAL, "text after a closing single quote is an error");
	ok(!strcmp(get(env, "TWICE", &rc), "two"), "the last assignment wins, CRLF");
	ok(!strcmp(get(env, "EMPTY", &rc), "") && rc == 1, "an empty value is set");
	ok(!strcmp(get(env, "ESC", &rc), "a\nb\tc\\"), "escapes in double quotes");
	get(env, "MISSING", &rc);
	is_int(rc, 0, "a missing key: 0");
	ok(!strcmp(get("A='literal \\n'\n", "A", &rc), "literal \\n"),
	   "single quotes are literal");
	ok(!strcmp(get("export=1\n", "export", &rc), "1"), "a key named export");
	ok(!strcmp(get("K=v", "K", &rc), "v"), "no final newline");
	ok(strstr(get("A=1\nB=\"s3cret\n", "B", &rc), "t.env:2: unterminated") &&
	   rc == -EINVAL && !strstr(get("A=1\nB=\"s3cret\n", "B", &rc), "s3cret"),
	   "syntax error names file and line, not the value");
	ok(strstr(get("A=1\nnonsense\nK=v\n", "K", &rc), "t.env:2:") && rc == -EINVAL,
	   "a line without '=' is an error");
	ok(strstr(get("9A=1\n", "K", &rc), "t.env:1:") && rc == -EINVAL,
	   "a key must not start with a digit");
}

static void test_file(void)
{
	char dir[] = "/tmp/vault-test-dotenv-XXXXXX", path[300];
	struct buf out = BUF_INIT, err = BUF_INIT;
	int exposed = -1, rc;
	FILE *f;

	if (!mkdtemp(dir)) {
		ok(0, "mkdtemp");
		return;
	}
	snprintf(path, sizeof(path), "%s/.env", dir);
	rc = dotenv_file_get(path, "K", &out, &exposed, &err);
	ok(rc == -ENOENT && strstr((char *)err.data, ".env"), "missing file: -ENOENT");
	f = fopen(path, "w");
	fputs("K=v1\n", f);
	fclose(f);
	chmod(path, 0600);
	rc = dotenv_file_get(path, "K", &out, &exposed, &err);
	ok(rc == 1 && !strcmp((char *)out.data, "v1") && exposed == 0,
	   "a private file: read, not exposed");
	chmod(path, 0644);
	buf_reset(&out);
	rc = dotenv_file_get(path, "K", &out, &exposed, &err);
	ok(rc == 1 && exposed == 1, "world-readable: exposed");
	chmod(path, 0640);
	rc = dotenv_file_get(path, "K", &out, &exposed, &err);
	ok(rc == 1 && exposed == 1, "group-readable: exposed");
	rc = dotenv_file_get(dir, "K", &out, &exposed, &err);
	is_int(rc, -EINVAL, "a directory is refused");
	unlink(path);
	rmdir(dir);
	buf_release(&out);
	buf_release(&err);
}

int main(void)
{
	test_parse();
	test_file();
	return done_testing();
}

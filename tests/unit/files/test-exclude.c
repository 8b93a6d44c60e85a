/*
 * test-exclude: the patterns of `vault snapshot --exclude` and
 * --exclude-file (src/files/exclude.c): each syntax element of
 * exclude.h, names against whole paths, directories only, the exclude
 * file's comments and blanks, and the patterns refused.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "exclude.h"
#include "../tap.h"

/* 1 when pattern pat excludes path (a file, or a directory when dir). */
static int m(const char *pat, const char *path, int dir)
{
	struct exclude *x = exclude_new();
	struct buf err = BUF_INIT;
	int r;

	if (!x || exclude_add(x, pat, &err) < 0) {
		diag("pattern %s refused: %s", pat, (const char *)err.data);
		r = -1;
	} else {
		r = exclude_match(x, path, strlen(path), dir);
	}
	buf_release(&err);
	exclude_free(x);
	return r;
}

static void yes(const char *pat, const char *path)
{
	ok(m(pat, path, 0) == 1, "'%s' excludes %s", pat, path);
}

static void no(const char *pat, const char *path)
{
	ok(m(pat, path, 0) == 0, "'%s' keeps %s", pat, path);
}

static void names(void)
{
	yes("*.o", "src/a.o");
	yes("*.o", "src/lib/deep/b.o");
	yes("*.o", "x.o");
	no("*.o", "src/a.o.c");
	no("*.o", "src/a.o/b.c");	/* its parent matches, not it */
	yes("*", ".hidden");		/* '*' takes a leading dot too */
	yes("node_modules", "app/node_modules");
	no("node_modules", "app/node_modules_old");
	yes("a?c", "d/abc");
	no("a?c", "d/ac");
	no("a?c", "d/abbc");
	yes("*a*b*c", "xaxxbxxc");
	no("*a*b*c", "xaxxbxx");
	yes("**", "anything/at/all");
	yes("a**c", "abbbc");
}

static void sets(void)
{
	yes("[abc].txt", "d/b.txt");
	no("[abc].txt", "d/d.txt");
	yes("[a-c]x", "bx");
	no("[a-c]x", "dx");
	yes("[!a-c]x", "dx");
	no("[!a-c]x", "ax");
	yes("[^a-c]x", "dx");
	yes("[]]", "]");
	yes("[!]]", "a");
	no("[!]]", "]");
	yes("[a-]", "-");
	yes("x[\\]]y", "x]y");
	/* bytes, not characters: a set takes any byte */
	yes("[\x80-\xff]*", "\xc3\xa9t\xc3\xa9");
	no("[a-z]*", "\xc3\xa9t\xc3\xa9");
}

static void escapes(void)
{
	yes("\\*", "*");
	no("\\*", "a");
	yes("a\\?", "a?");
	no("a\\?", "ab");
	yes("\\[x]", "[x]");
	yes("\\!keep", "!keep");
	yes("\\#x", "#x");
}

static void anchored(void)
{
	yes("src/build", "src/build");
	no("src/build", "other/src/build");	/* from the top only */
	no("src/build", "src/build2");
	yes("/src/build", "src/build");		/* a leading '/' is the same */
	yes("src/*/tmp", "src/a/tmp");
	no("src/*/tmp", "src/a/b/tmp");		/* '*' never crosses '/' */
	yes("src/**/tmp", "src/tmp");
	yes("src/**/tmp", "src/a/b/c/tmp");
	no("src/**/tmp", "src/a/b/c/tmp2");
	yes("**/tmp", "tmp");
	yes("**/tmp", "x/y/tmp");
	yes("src/**", "src/a/b");
	yes("src/**", "src");
	yes("**/*.log", "a/b/c.log");
	yes("a/**/b/**/c", "a/x/b/y/z/c");
	no("a/**/b/**/c", "a/x/y/z/c");
	yes("src//build", "src/build");		/* empty components dropped */
	no("src/build", "src");
	no("src", "src/build");	/* the walk never gets there anyway */
	yes("*/*.c", "src/a.c");
	no("*/*.c", "src/lib/a.c");
}

static void dirs(void)
{
	ok(m("cache/", "home/cache", 1) == 1, "'cache/' excludes a directory");
	ok(m("cache/", "home/cache", 0) == 0, "'cache/' keeps a file");
	ok(m("home/cache/", "home/cache", 1) == 1,
	   "'home/cache/' excludes that directory");
	ok(m("home/cache/", "x/home/cache", 1) == 0,
	   "'home/cache/' is anchored by its inner '/'");
	ok(m("*.o", "d/x.o", 1) == 1, "a pattern without '/' takes directories too");
}

static void refused(void)
{
	static const char *const bad[] = {
		"", "/", "//", "!x", "[abc", "a[", "x\\", "[a-\\",
	};
	struct exclude *x = exclude_new();
	struct buf err = BUF_INIT;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		buf_reset(&err);
		ok(exclude_add(x, bad[i], &err) == -EINVAL && err.len > 0,
		   "'%s' is refused (%s)", bad[i], (const char *)err.data);
	}
	ok(exclude_count(x) == 0, "nothing refused was added");
	ok(exclude_match(x, "a", 1, 0) == 0, "no pattern excludes nothing");
	ok(exclude_match(NULL, "a", 1, 0) == 0, "NULL excludes nothing");
	buf_release(&err);
	exclude_free(x);
}

static void several(void)
{
	struct exclude *x = exclude_new();
	struct buf err = BUF_INIT;
	char deep[8192];
	size_t n = 0;

	ok(exclude_add(x, "*.tmp", &err) == 0 &&
	   exclude_add(x, "data/cache", &err) == 0, "two patterns");
	ok(exclude_match(x, "data/a.tmp", 10, 0) == 1, "the first one");
	ok(exclude_match(x, "data/cache", 10, 1) == 1, "the second one");
	ok(exclude_match(x, "data/keep", 9, 0) == 0, "neither");
	/* deeper than the matcher's stack array */
	for (int i = 0; i < 1000; i++)
		n += (size_t)snprintf(deep + n, sizeof(deep) - n, "d/");
	n += (size_t)snprintf(deep + n, sizeof(deep) - n, "x.tmp");
	ok(exclude_match(x, deep, n, 0) == 1, "a path 1000 levels deep");
	ok(exclude_add(x, "d/**/d/x.tmp", &err) == 0 &&
	   exclude_match(x, deep, n, 0) == 1, "'**' across 1000 levels");
	buf_release(&err);
	exclude_free(x);
}

static void from_file(void)
{
	char path[] = "/tmp/test-exclude-XXXXXX";
	int fd = mkstemp(path);
	struct exclude *x = exclude_new();
	struct buf err = BUF_INIT;
	static const char text[] =
		"# build output\n"
		"\n"
		"   *.o   \n"
		"\t# indented comment\n"
		"build/\r\n"
		"\\#literal\n"
		"last-without-newline";
	FILE *fp;

	ok(fd >= 0 && write(fd, text, sizeof(text) - 1) ==
	   (ssize_t)(sizeof(text) - 1), "wrote an exclude file");
	close(fd);
	ok(exclude_add_file(x, path, &err) == 0, "read it: %s",
	   (const char *)err.data);
	ok(exclude_count(x) == 4, "four patterns (comments, blanks ignored)");
	ok(exclude_match(x, "a/b.o", 5, 0) == 1, "blanks around are trimmed");
	ok(exclude_match(x, "a/build", 7, 1) == 1 &&
	   exclude_match(x, "a/build", 7, 0) == 0, "CRLF line, directory only");
	ok(exclude_match(x, "#literal", 8, 0) == 1, "an escaped '#'");
	ok(exclude_match(x, "last-without-newline", 20, 0) == 1,
	   "the last line needs no newline");

	fp = fopen(path, "w");
	fputs("ok\n[bad\n", fp);
	fclose(fp);
	buf_reset(&err);
	ok(exclude_add_file(x, path, &err) == -EINVAL &&
	   strstr((const char *)err.data, "line 2") &&
	   strstr((const char *)err.data, path),
	   "a bad line is named: %s", (const char *)err.data);
	unlink(path);
	buf_reset(&err);
	ok(exclude_add_file(x, path, &err) == -ENOENT &&
	   strstr((const char *)err.data, path), "a missing file is named");
	buf_release(&err);
	exclude_free(x);
}

int main(void)
{
	names();
	sets();
	escapes();
	anchored();
	dirs();
	refused();
	several();
	from_file();
	return done_testing();
}

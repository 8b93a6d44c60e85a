/*
 * test-extract: `vault mount`'s extraction (src/files/extract.c) with
 * hand-made hostile entries, no repository needed: names that climb out
 * ("..", absolute paths, empty segments), a symlink followed by a path
 * through it, links planted in the target beforehand, hard links, and
 * the restoring of modes and mtimes (directories after their contents).
 * Nothing may appear or change outside the target directory.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "extract.h"
#include "../tap.h"

static char base[4096], outside[4200], target[4200];

static struct manifest_entry entry(const char *path, int kind, uint32_t mode,
				   int64_t mtime_ns, const char *target_)
{
	struct manifest_entry e;

	memset(&e, 0, sizeof(e));
	e.path = (char *)path;
	e.path_len = strlen(path);
	e.kind = (uint8_t)kind;
	e.mode = mode;
	e.mtime_ns = mtime_ns;
	e.target = (char *)target_;
	e.target_len = target_ ? strlen(target_) : 0;
	return e;
}

/* Extracts one entry the way cmd-mount does; 0 or -errno. */
static int put(struct extract *x, const struct manifest_entry *e,
	       const char *content)
{
	struct buf err = BUF_INIT;
	int fd, r;

	switch (e->kind) {
	case MANIFEST_DIR:
		r = extract_dir(x, e, &err);
		break;
	case MANIFEST_SYMLINK:
		r = extract_symlink(x, e, &err);
		break;
	default:
		r = extract_file_open(x, e, &fd, &err);
		if (r < 0)
			break;
		if (content && write(fd, content, strlen(content)) !=
		    (ssize_t)strlen(content)) {
			extract_file_abort(x, fd);
			r = -EIO;
			break;
		}
		r = extract_file_close(x, e, fd, &err);
		break;
	}
	if (r < 0)
		diag("%s: %s", e->path, err.len ? (char *)err.data : strerror(-r));
	buf_release(&err);
	return r;
}

static int read_file(const char *path, char *out, size_t n)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW);
	ssize_t k;

	if (fd < 0)
		return -errno;
	k = read(fd, out, n - 1);
	close(fd);
	if (k < 0)
		return -EIO;
	out[k] = '\0';
	return 0;
}

static int count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	if (!d)
		return -1;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

static void rm_rf(const char *path)
{
	char cmd[8400];

	snprintf(cmd, sizeof(cmd), "chmod -R u+rwx '%s' 2>/dev/null; rm -rf '%s'",
		 path, path);
	if (system(cmd) != 0)
		diag("cleanup of %s failed", path);
}

static void test_encode(void)
{
	static const struct {
		const char *in;
		size_t n;
		const char *want;
	} cases[] = {
		{ "plain", 5, "plain" },
		{ "..", 2, "%2E%2E" },
		{ ".", 1, "%2E" },
		{ "", 0, "%00" },
		{ "...", 3, "..." },
		{ ".hidden", 7, ".hidden" },
		{ "100%", 4, "100%" },
		{ "a\\b", 3, "a%5Cb" },
		{ "50%\\", 4, "50%25%5C" },
		{ "new\nline", 8, "new%0Aline" },
		{ "del\x7f.txt", 8, "del%7F.txt" },
		{ "caf\xc3\xa9", 5, "caf\xc3\xa9" },
	};
	struct buf b = BUF_INIT;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		buf_reset(&b);
		extract_encode_segment(&b, cases[i].in, cases[i].n);
		ok(!strcmp((char *)b.data, cases[i].want),
		   "segment %zu encodes as %s (got %s)", i, cases[i].want,
		   (char *)b.data);
	}
	buf_reset(&b);
	extract_encode_path(&b, "/etc/../passwd", 14);
	ok(!strcmp((char *)b.data, "%00/etc/%2E%2E/passwd"),
	   "a whole path: %s", (char *)b.data);
	buf_reset(&b);
	extract_encode_path(&b, "a//b/", 5);
	ok(!strcmp((char *)b.data, "a/%00/b/%00"), "empty segments: %s",
	   (char *)b.data);
	buf_release(&b);
}

static void test_hostile(void)
{
	struct manifest_entry es[] = {
		entry("../escape", MANIFEST_FILE, 0644, 0, NULL),
		entry("/abs", MANIFEST_FILE, 0644, 0, NULL),
		entry("a//b", MANIFEST_FILE, 0644, 0, NULL),
		entry("a/../../x", MANIFEST_FILE, 0644, 0, NULL),
		entry("lnk", MANIFEST_SYMLINK, 0777, 0, outside),
		entry("lnk/pwned", MANIFEST_FILE, 0644, 0, NULL),
		entry("ok", MANIFEST_DIR, 0755, 0, NULL),
		entry("ok/..", MANIFEST_FILE, 0644, 0, NULL),
		entry("ok/.", MANIFEST_FILE, 0644, 0, NULL),
		entry("", MANIFEST_FILE, 0644, 0, NULL),
	};
	struct buf err = BUF_INIT;
	struct extract *x = NULL;
	char got[256], path[8400];
	int r;

	r = extract_new(&x, target, &err);
	ok(r == 0, "extract_new creates %s", target);
	if (r < 0)
		return;
	/* even replacing what is in the way, nothing escapes */
	extract_set_overwrite(x, 1);
	for (size_t i = 0; i < sizeof(es) / sizeof(es[0]); i++) {
		r = put(x, &es[i], es[i].path);
		if (!strcmp(es[i].path, "lnk/pwned"))
			ok(r == -ELOOP || r == -ENOTDIR,
			   "a path through a symlink entry is refused (%d)", r);
		else if (!*es[i].path)
			/* "" encodes as "%00", already a directory from
			 * "/abs": a collision never merges kinds */
			ok(r == -EISDIR, "the empty path collides with %%00/ (%d)",
			   r);
		else
			ok(r == 0, "entry '%s' is extracted", es[i].path);
	}
	ok(extract_finish(x, &err) == 0, "finish");
	extract_free(x);

	is_int(count_entries(outside), 0, "nothing was written outside");
	snprintf(path, sizeof(path), "%s/escape", base);
	ok(access(path, F_OK) < 0, "no %s", path);
	snprintf(path, sizeof(path), "%s/x", base);
	ok(access(path, F_OK) < 0, "no %s", path);
	snprintf(path, sizeof(path), "%s/%%2E%%2E/escape", target);
	ok(read_file(path, got, sizeof(got)) == 0 &&
	   !strcmp(got, "../escape"), "../escape landed in %%2E%%2E/escape");
	snprintf(path, sizeof(path), "%s/%%00/abs", target);
	ok(read_file(path, got, sizeof(got)) == 0 && !strcmp(got, "/abs"),
	   "/abs landed in %%00/abs");
	snprintf(path, sizeof(path), "%s/a/%%2E%%2E/%%2E%%2E/x", target);
	ok(read_file(path, got, sizeof(got)) == 0 &&
	   !strcmp(got, "a/../../x"), "a/../../x stayed inside");
	snprintf(path, sizeof(path), "%s/a/%%00/b", target);
	ok(read_file(path, got, sizeof(got)) == 0 && !strcmp(got, "a//b"),
	   "a//b landed in a/%%00/b");
	snprintf(path, sizeof(path), "%s/ok/%%2E%%2E", target);
	ok(read_file(path, got, sizeof(got)) == 0 && !strcmp(got, "ok/.."),
	   "ok/.. is a file named %%2E%%2E in ok");
	snprintf(path, sizeof(path), "%s/ok/%%2E", target);
	ok(read_file(path, got, sizeof(got)) == 0 && !strcmp(got, "ok/."),
	   "ok/. is a file named %%2E in ok");
	snprintf(path, sizeof(path), "%s/lnk", target);
	r = (int)readlink(path, got, sizeof(got) - 1);
	ok(r > 0 && (got[r] = '\0', !strcmp(got, outside)),
	   "the symlink itself is restored");
	buf_release(&err);
}

/* Links someone planted in the target before the extraction. */
static void test_planted(void)
{
	struct manifest_entry through = entry("planted/f", MANIFEST_FILE, 0644,
					      0, NULL);
	struct manifest_entry over = entry("planted2", MANIFEST_FILE, 0644, 0,
					   NULL);
	struct manifest_entry hl = entry("hard", MANIFEST_FILE, 0644, 0, NULL);
	struct manifest_entry dirover = entry("planted3", MANIFEST_DIR, 0755, 0,
					      NULL);
	struct manifest_entry inside = entry("planted3/g", MANIFEST_FILE, 0644,
					     0, NULL);
	struct buf err = BUF_INIT;
	struct extract *x = NULL;
	char p1[8400], p2[8400], victim[8400], got[64];
	struct stat st;
	int fd;

	snprintf(victim, sizeof(victim), "%s/victim", base);
	fd = open(victim, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	ok(fd >= 0 && write(fd, "precious", 8) == 8, "a victim file outside");
	if (fd >= 0)
		close(fd);
	snprintf(p1, sizeof(p1), "%s/planted", target);
	ok(symlink(outside, p1) == 0, "planted -> outside");
	snprintf(p1, sizeof(p1), "%s/planted2", target);
	ok(symlink(victim, p1) == 0, "planted2 -> victim");
	snprintf(p1, sizeof(p1), "%s/planted3", target);
	ok(symlink(outside, p1) == 0, "planted3 -> outside");
	snprintf(p1, sizeof(p1), "%s/hard", target);
	ok(link(victim, p1) == 0, "hard is a hard link to victim");

	/* without --overwrite, each is refused and stays as it was */
	ok(extract_new(&x, target, &err) == 0, "extract_new");
	if (!x)
		return;
	ok(put(x, &over, "replaced") == -EEXIST, "a planted link is not replaced by default");
	ok(put(x, &hl, "new content") == -EEXIST, "nor a hard link");
	ok(put(x, &dirover, NULL) == -EEXIST, "nor a link where a directory goes");
	snprintf(p2, sizeof(p2), "%s/planted2", target);
	ok(lstat(p2, &st) == 0 && S_ISLNK(st.st_mode), "planted2 is still a link");
	snprintf(p2, sizeof(p2), "%s/hard", target);
	ok(read_file(p2, got, sizeof(got)) == 0 && !strcmp(got, "precious"),
	   "hard still has its content");
	buf_reset(&err);
	ok(extract_conflict(x, &over, &err, &err) == 1, "extract_conflict sees planted2");
	ok(extract_conflict(x, &inside, &err, &err) == 1,
	   "and a path through the planted3 link");
	ok(extract_conflict(x, &through, &err, &err) == 1, "and through planted");
	buf_reset(&err);
	{
		struct manifest_entry fresh = entry("fresh/f", MANIFEST_FILE,
						    0644, 0, NULL);
		ok(extract_conflict(x, &fresh, &err, &err) == 0,
		   "a new path is no conflict");
	}
	extract_free(x);

	ok(extract_new(&x, target, &err) == 0, "extract_new");
	if (!x)
		return;
	extract_set_overwrite(x, 1);
	ok(put(x, &through, "through") < 0, "no write through a planted link");
	ok(put(x, &over, "replaced") == 0, "a file entry replaces a planted link");
	ok(put(x, &hl, "new content") == 0, "a file entry over a hard link");
	ok(put(x, &dirover, NULL) == 0, "a dir entry replaces a planted link");
	ok(put(x, &inside, "inside") == 0, "and is filled");
	ok(extract_finish(x, &err) == 0, "finish");
	extract_free(x);

	ok(read_file(victim, got, sizeof(got)) == 0 &&
	   !strcmp(got, "precious"), "the victim is untouched (%s)", got);
	is_int(count_entries(outside), 0, "nothing was written outside");
	snprintf(p2, sizeof(p2), "%s/planted2", target);
	ok(lstat(p2, &st) == 0 && S_ISREG(st.st_mode),
	   "planted2 is now a regular file");
	snprintf(p2, sizeof(p2), "%s/hard", target);
	ok(read_file(p2, got, sizeof(got)) == 0 &&
	   !strcmp(got, "new content"), "hard has the new content");
	snprintf(p2, sizeof(p2), "%s/planted3", target);
	ok(lstat(p2, &st) == 0 && S_ISDIR(st.st_mode),
	   "planted3 is now a directory");
	buf_release(&err);
}

static void test_metadata(void)
{
	const int64_t t1 = 1600000000LL * 1000000000LL + 123456789;
	const int64_t t2 = 1500000000LL * 1000000000LL + 987654321;
	const int64_t t3 = -86400LL * 1000000000LL + 5;	/* before 1970 */
	struct manifest_entry es[] = {
		entry("ro", MANIFEST_DIR, 0555, t1, NULL),
		entry("ro/sub", MANIFEST_DIR, 0700, t2, NULL),
		entry("ro/sub/f", MANIFEST_FILE, 04755, t2, NULL),
		entry("ro/z", MANIFEST_SYMLINK, 0777, t3, "sub/f"),
	};
	struct buf err = BUF_INIT;
	struct extract *x = NULL;
	char p[8400];
	struct stat st;

	rm_rf(target);
	ok(extract_new(&x, target, &err) == 0, "extract_new");
	if (!x)
		return;
	for (size_t i = 0; i < sizeof(es) / sizeof(es[0]); i++)
		ok(put(x, &es[i], "#!/bin/sh\n") == 0, "entry %s", es[i].path);
	ok(extract_finish(x, &err) == 0, "finish");
	extract_free(x);

	snprintf(p, sizeof(p), "%s/ro", target);
	ok(stat(p, &st) == 0 && (st.st_mode & 07777) == 0555,
	   "a read-only directory gets its mode after being filled");
	ok(st.st_mtim.tv_sec == t1 / 1000000000 &&
	   st.st_mtim.tv_nsec == t1 % 1000000000,
	   "directory mtime to the nanosecond, set after its contents");
	snprintf(p, sizeof(p), "%s/ro/sub", target);
	ok(stat(p, &st) == 0 && (st.st_mode & 07777) == 0700 &&
	   st.st_mtim.tv_sec == t2 / 1000000000 &&
	   st.st_mtim.tv_nsec == t2 % 1000000000, "nested directory");
	snprintf(p, sizeof(p), "%s/ro/sub/f", target);
	ok(stat(p, &st) == 0 && (st.st_mode & 07777) == 0755,
	   "file mode restored, setuid dropped");
	ok(st.st_mtim.tv_sec == t2 / 1000000000 &&
	   st.st_mtim.tv_nsec == t2 % 1000000000, "file mtime");
	snprintf(p, sizeof(p), "%s/ro/z", target);
	ok(lstat(p, &st) == 0 && S_ISLNK(st.st_mode) &&
	   st.st_mtim.tv_sec == -86400 && st.st_mtim.tv_nsec == 5,
	   "symlink mtime (before 1970) set on the link itself");
	buf_release(&err);
}

int main(void)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(base, sizeof(base), "%s/test-extract.XXXXXX",
		 tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(base)) {
		printf("Bail out! mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	snprintf(outside, sizeof(outside), "%s/outside", base);
	snprintf(target, sizeof(target), "%s/box/target", base);
	mkdir(outside, 0755);

	test_encode();
	test_hostile();
	test_planted();
	test_metadata();

	rm_rf(base);
	return done_testing();
}

/*
 * replay: a main() for a fuzz harness without libFuzzer.  Linked with one
 * fuzz-<name>.c by the configured compiler, it runs every input once
 * and prints TAP, one point per file:
 *
 *   replay-<name>              the seed corpus, tests/fuzz/corpus/<name>/
 *                              under $VAULT_SRCDIR (make check sets it)
 *   replay-<name> PATH...      these files, or every file of these folders
 *
 * A broken invariant aborts inside the harness; the name of the input
 * was printed just before, so the log says which one.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "buf.h"
#include "fuzz.h"

static int replay_n;

static int replay_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Reads a whole file into an exact-size allocation (an over-read by the
 * decoder then leaves it, which a sanitizer or valgrind would see). */
static int replay_read(const char *path, uint8_t **p, size_t *n)
{
	struct buf b = BUF_INIT;
	FILE *f = fopen(path, "rb");
	uint8_t tmp[4096];
	size_t k;
	int r = 0;

	if (!f)
		return -errno;
	while (r == 0 && (k = fread(tmp, 1, sizeof(tmp), f)) > 0)
		r = buf_add(&b, tmp, k);
	if (r == 0 && ferror(f))
		r = -EIO;
	fclose(f);
	if (r == 0) {
		*p = fuzz_dup(b.data, b.len);
		*n = b.len;
	}
	buf_release(&b);
	return r;
}

static int replay_file(const char *path)
{
	uint8_t *p;
	size_t n;
	int r = replay_read(path, &p, &n);

	replay_n++;
	if (r < 0) {
		printf("not ok %d - %s: cannot read: %s\n", replay_n, path,
		       strerror(-r));
		return 1;
	}
	printf("# %s (%zu bytes)\n", path, n);
	fflush(stdout);
	LLVMFuzzerTestOneInput(p, n);
	free(p);
	printf("ok %d - %s\n", replay_n, path);
	fflush(stdout);
	return 0;
}

/* Every regular file of dir, in name order; *found counts them. */
static int replay_dir(const char *dir, int *found)
{
	struct buf path = BUF_INIT;
	char **names = NULL;
	size_t nnames = 0, cap = 0;
	struct dirent *de;
	DIR *d = opendir(dir);
	int failed = 0;

	if (!d) {
		printf("not ok %d - %s: cannot open: %s\n", ++replay_n, dir,
		       strerror(errno));
		return 1;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (nnames == cap) {
			cap = cap ? 2 * cap : 64;
			names = realloc(names, cap * sizeof(*names));
			if (!names)
				abort();
		}
		names[nnames] = strdup(de->d_name);
		if (!names[nnames])
			abort();
		nnames++;
	}
	closedir(d);
	if (nnames)
		qsort(names, nnames, sizeof(*names), replay_cmp);
	for (size_t i = 0; i < nnames; i++) {
		struct stat st;

		buf_reset(&path);
		if (buf_addf(&path, "%s/%s", dir, names[i]) < 0)
			abort();
		if (stat((char *)path.data, &st) == 0 && S_ISREG(st.st_mode)) {
			failed |= replay_file((char *)path.data);
			(*found)++;
		}
		free(names[i]);
	}
	free(names);
	buf_release(&path);
	return failed;
}

static int replay_path(const char *path, int *found)
{
	struct stat st;

	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		return replay_dir(path, found);
	(*found)++;
	return replay_file(path);
}

int main(int argc, char **argv)
{
	struct buf dir = BUF_INIT;
	int failed = 0, found = 0;

	if (argc > 1) {
		for (int i = 1; i < argc; i++)
			failed |= replay_path(argv[i], &found);
	} else {
		const char *src = getenv("VAULT_SRCDIR");

		if (!src) {
			printf("Bail out! VAULT_SRCDIR is not set and no input "
			       "was named (usage: %s [FILE|DIR]...)\n", argv[0]);
			return 1;
		}
		if (buf_addf(&dir, "%s/tests/fuzz/corpus/%s", src,
			     fuzz_name) < 0)
			abort();
		failed |= replay_dir((char *)dir.data, &found);
		buf_release(&dir);
	}
	if (found == 0) {
		printf("not ok %d - no inputs to replay\n", ++replay_n);
		failed = 1;
	}
	printf("1..%d\n", replay_n);
	return failed;
}

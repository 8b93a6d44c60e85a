/*
 * mkhostile: writes a snapshot whose manifest holds hostile entry names,
 * for tests/cli/t0070-hostile.sh (a helper, not a test of its own).
 *
 *   mkhostile REPO OUTSIDE ABSPATH
 *
 * REPO is an existing repository (passphrase from VAULT_PASSPHRASE when
 * it is encrypted); OUTSIDE is a directory the mount must never touch.
 * The snapshot holds names that try to climb out of the mount directory
 * ("../escape", "/abs", ABSPATH, "a/../../x", "ok/..", "a//b") and
 * a symlink "lnk" pointing at OUTSIDE followed by "lnk/pwned", which a
 * naive mount would write through the link.  Every file's content names
 * the entry, so a test can find where each one landed.  The vault front end never produces such names,
 * so they are written with the engine's writer API directly.  Prints the
 * new snapshot id on stdout; exit 0 or 1.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "manifest.h"
#include "repo.h"

struct mkhostile_entry {
	const char *path;
	int kind;		/* enum manifest_kind */
	const char *data;	/* file content or symlink target */
};

static int mkhostile_pass(void *ctx, const char *why, struct buf *pass)
{
	const char *p = getenv("VAULT_PASSPHRASE");

	if (!p)
		return -ENOKEY;
	return buf_addstr(pass, p);
}

static int mkhostile_cmp(const void *a, const void *b)
{
	const struct mkhostile_entry *x = a, *y = b;

	return manifest_path_cmp(x->path, strlen(x->path),
				 y->path, strlen(y->path));
}

static int mkhostile_put(struct repo_writer *w, const struct mkhostile_entry *e)
{
	struct repo_entry_meta m = {
		.mode = 0644,
		.mtime_ns = 1700000000LL * 1000000000LL,
	};
	int rc;

	switch (e->kind) {
	case MANIFEST_DIR:
		m.mode = 0755;
		return repo_writer_dir(w, e->path, &m);
	case MANIFEST_SYMLINK:
		m.mode = 0777;
		return repo_writer_symlink(w, e->path, e->data, &m);
	default:
		rc = repo_writer_file_begin(w, e->path, &m, REPO_CHUNK_GENERAL);
		if (!rc)
			rc = repo_writer_file_write(w, e->data, strlen(e->data));
		if (!rc)
			rc = repo_writer_file_end(w);
		return rc;
	}
}

int main(int argc, char **argv)
{
	struct mkhostile_entry entries[] = {
		{ "ok", MANIFEST_DIR, NULL },
		{ "ok/fine.txt", MANIFEST_FILE, "fine\n" },
		{ "../escape", MANIFEST_FILE, "escaped via ..\n" },
		{ "/abs", MANIFEST_FILE, "escaped via an absolute path\n" },
		{ "a/../../x", MANIFEST_FILE, "escaped via a/../..\n" },
		{ "ok/..", MANIFEST_FILE, "a file named ok/..\n" },
		{ "a//b", MANIFEST_FILE, "a file named a//b\n" },
		{ NULL, MANIFEST_FILE, "escaped via an absolute path argument\n" },
		{ "lnk", MANIFEST_SYMLINK, NULL },
		{ "lnk/pwned", MANIFEST_FILE, "written through a symlink\n" },
	};
	size_t n = sizeof(entries) / sizeof(entries[0]), i;
	struct repo_open_opts o = {
		.write = 1,
		.command = "mkhostile",
		.pass = mkhostile_pass,
	};
	struct repo_commit_opts co = {
		.time = 1700000000,
		.source = "mkhostile",
	};
	struct buf err = BUF_INIT;
	struct repo *r = NULL;
	struct repo_writer *w = NULL;
	struct repo_totals t;
	char id[65];
	int rc;

	if (argc != 4) {
		fprintf(stderr, "usage: mkhostile REPO OUTSIDE ABSPATH\n");
		return 2;
	}
	for (i = 0; i < n; i++) {
		if (entries[i].kind == MANIFEST_SYMLINK)
			entries[i].data = argv[2];
		if (!entries[i].path)
			entries[i].path = argv[3];
	}
	/* The writer insists on manifest order; let the codec decide it. */
	qsort(entries, n, sizeof(entries[0]), mkhostile_cmp);

	rc = repo_open(&r, argv[1], &o, &err);
	if (rc < 0) {
		fprintf(stderr, "mkhostile: open %s: %s (%s)\n", argv[1],
			err.data, strerror(-rc));
		goto out;
	}
	rc = repo_writer_new(r, &w, &err);
	if (rc < 0) {
		fprintf(stderr, "mkhostile: writer: %s (%s)\n", err.data,
			strerror(-rc));
		goto out;
	}
	for (i = 0; i < n; i++) {
		rc = mkhostile_put(w, &entries[i]);
		if (rc < 0) {
			fprintf(stderr, "mkhostile: entry \"%s\": %s\n",
				entries[i].path, strerror(-rc));
			goto out;
		}
	}
	rc = repo_writer_commit(w, &co, id, &t, &err);
	if (rc < 0) {
		fprintf(stderr, "mkhostile: commit: %s (%s)\n", err.data,
			strerror(-rc));
		goto out;
	}
	printf("%s\n", id);
out:
	repo_writer_free(w);
	repo_free(r);
	buf_release(&err);
	return rc < 0 ? 1 : 0;
}

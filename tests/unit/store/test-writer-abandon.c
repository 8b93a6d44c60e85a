/*
 * test-writer-abandon: reading a file entry from a descriptor
 * (repo_writer_file_read_fd) and abandoning an open entry
 * (repo_writer_file_abandon), the two calls that let `vault snapshot`
 * read a changing file again or leave out one that cannot be read.
 * What matters: an abandoned entry leaves nothing in the manifest (its
 * chunks never join another entry's list, even with slots still in
 * flight), the path can be begun again, and a read error leaves the
 * writer usable.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "repo.h"
#include "storefix.h"
#include "../tap.h"

static const struct repo_entry_meta meta = { 0640, 1700000000000000000ll };

/* Writes b to the file at path: 0 or -1. */
static int put_file(const char *path, const struct buf *b)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	int rc = -1;

	if (fd < 0)
		return -1;
	if (write(fd, b->data, b->len) == (ssize_t)b->len)
		rc = 0;
	close(fd);
	return rc;
}

static int commit(struct repo_writer *w, char id[65], struct repo_totals *t)
{
	struct repo_commit_opts co = { 0, "testhost", "test", NULL, 0, NULL };

	return repo_writer_commit(w, &co, id, t, &storefix_err);
}

/* A file abandoned halfway (slots in flight) and begun again holds only
 * the second content; an abandoned entry's path may be reused, and one
 * that sorts before it may follow. */
static void test_restart(struct repo *r)
{
	struct buf torn = BUF_INIT, whole = BUF_INIT, small = BUF_INIT;
	struct storefix_ent e[] = {
		{ "a", MANIFEST_FILE, &whole, NULL, REPO_CHUNK_GENERAL, NULL },
		{ "b", MANIFEST_FILE, &small, NULL, REPO_CHUNK_GENERAL, NULL },
		{ "c", MANIFEST_DIR, NULL, NULL, 0, NULL },
	};
	struct repo_totals t;
	struct repo_writer *w;
	char id[65];

	storefix_gen(&torn, 3u << 20, 71, 0);
	storefix_gen(&whole, (3u << 20) + 12345, 72, 0);
	storefix_gen(&small, 999, 73, 1);
	is_int(repo_writer_new(r, &w, &storefix_err), 0, "writer");
	is_int(repo_writer_file_abandon(w), -EINVAL,
	       "abandon with no entry open: -EINVAL");
	is_int(repo_writer_file_begin(w, "a", &meta, REPO_CHUNK_GENERAL), 0,
	       "begin a");
	is_int(repo_writer_file_write(w, torn.data, torn.len), 0,
	       "write 3 MiB (hundreds of chunks, some still in flight)");
	is_int(repo_writer_file_abandon(w), 0, "abandon a");
	is_int(repo_writer_file_write(w, "x", 1), -EINVAL,
	       "no entry is open afterwards");
	is_int(repo_writer_file_begin(w, "a", &meta, REPO_CHUNK_GENERAL), 0,
	       "begin a again, same path");
	is_int(repo_writer_file_write(w, whole.data, whole.len), 0,
	       "write its new content");
	is_int(repo_writer_file_end(w), 0, "end a");
	/* "z" is abandoned, so "b" may still come after "a" */
	is_int(repo_writer_file_begin(w, "z", &meta, REPO_CHUNK_GENERAL), 0,
	       "begin z");
	is_int(repo_writer_file_write(w, "zz", 2), 0, "write z");
	is_int(repo_writer_file_abandon(w), 0, "abandon z");
	is_int(repo_writer_file_begin(w, "b", &meta, REPO_CHUNK_GENERAL), 0,
	       "b after the abandoned z");
	is_int(repo_writer_file_write(w, small.data, small.len), 0, "write b");
	is_int(repo_writer_file_end(w), 0, "end b");
	is_int(repo_writer_dir(w, "c", &meta), 0, "dir c");
	is_int(commit(w, id, &t), 0, "commit");
	is_int(t.entries, 3, "abandoned entries are not counted");
	repo_writer_free(w);
	is_int(storefix_verify(r, id, e, 3), 0,
	       "a holds its second content only, b and c follow");
	is_int(storefix_count_files(storefix_path("r/tmp")), 0,
	       "tmp/ is empty again");
	buf_release(&torn);
	buf_release(&whole);
	buf_release(&small);
}

/* repo_writer_file_read_fd reads to the end; a read error leaves the
 * entry open and the writer usable. */
static void test_read_fd(struct repo *r)
{
	struct buf data = BUF_INIT;
	struct storefix_ent e[] = {
		{ "f", MANIFEST_FILE, &data, NULL, REPO_CHUNK_GENERAL, NULL },
		{ "g", MANIFEST_FILE, &data, NULL, REPO_CHUNK_GENERAL, NULL },
	};
	const char *path = storefix_path("data.bin");
	struct buf err = BUF_INIT;
	struct repo_writer *w;
	uint64_t n = 1;
	char id[65];
	int fd, dfd;

	storefix_gen(&data, (1u << 20) + 77, 81, 0);
	put_file(path, &data);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	dfd = open(storefix_path(""), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ok(fd >= 0 && dfd >= 0, "opened a file and a directory");
	is_int(repo_writer_new(r, &w, &storefix_err), 0, "writer");
	is_int(repo_writer_file_read_fd(w, fd, &n, &err), -EINVAL,
	       "read_fd with no entry open: -EINVAL");
	is_int(repo_writer_file_begin(w, "e", &meta, REPO_CHUNK_GENERAL), 0,
	       "begin e");
	is_int(repo_writer_file_read_fd(w, dfd, &n, &err), -EISDIR,
	       "reading a directory fails with its errno");
	ok(strstr((char *)err.data, "e: read:") != NULL,
	   "naming the entry (%s)", (char *)err.data);
	is_int(n, 0, "nothing read");
	is_int(repo_writer_file_abandon(w), 0,
	       "the writer is usable: abandon e");
	is_int(repo_writer_file_begin(w, "f", &meta, REPO_CHUNK_GENERAL), 0,
	       "begin f");
	is_int(repo_writer_file_read_fd(w, fd, &n, &err), 0, "read f");
	is_int(n, data.len, "all of it");
	/* read again from the start, as snapshot does after a change */
	is_int(repo_writer_file_abandon(w), 0, "abandon f");
	lseek(fd, 0, SEEK_SET);
	is_int(repo_writer_file_begin(w, "f", &meta, REPO_CHUNK_GENERAL), 0,
	       "begin f again");
	is_int(repo_writer_file_read_fd(w, fd, &n, &err), 0, "read f again");
	is_int(repo_writer_file_end(w), 0, "end f");
	lseek(fd, 0, SEEK_SET);
	is_int(repo_writer_file_fd(w, "g", &meta, REPO_CHUNK_GENERAL, fd,
				   &err), 0, "repo_writer_file_fd still works");
	is_int(commit(w, id, NULL), 0, "commit");
	repo_writer_free(w);
	is_int(storefix_verify(r, id, e, 2), 0, "f and g read back whole");
	/* repo_writer_file_fd's callers cannot abandon: a read error there
	 * still fails the writer */
	is_int(repo_writer_new(r, &w, &storefix_err), 0, "another writer");
	is_int(repo_writer_file_fd(w, "h", &meta, REPO_CHUNK_GENERAL, dfd,
				   &err), -EISDIR,
	       "repo_writer_file_fd: a read error");
	is_int(repo_writer_dir(w, "i", &meta), -EISDIR,
	       "fails the writer (nothing can be committed)");
	repo_writer_free(w);
	close(fd);
	close(dfd);
	buf_release(&err);
	buf_release(&data);
}

/* An entry made of an ended stream can be abandoned too (the stream
 * goes with it). */
static void test_stream(struct repo *r)
{
	struct buf data = BUF_INIT;
	struct storefix_ent e[] = {
		{ "s", MANIFEST_FILE, &data, NULL, REPO_CHUNK_GENERAL, NULL },
	};
	struct repo_stream *st;
	struct repo_writer *w;
	char id[65];

	storefix_gen(&data, 200000, 91, 0);
	is_int(repo_writer_new(r, &w, &storefix_err), 0, "writer");
	is_int(repo_stream_begin(w, REPO_CHUNK_GENERAL, &st), 0, "stream");
	is_int(repo_stream_write(st, "stale", 5), 0, "write it");
	is_int(repo_stream_end(st), 0, "end it");
	is_int(repo_writer_file_stream(w, "s", &meta, st), 0,
	       "attach it as s");
	is_int(repo_writer_file_abandon(w), 0, "abandon s");
	is_int(repo_writer_file_begin(w, "s", &meta, REPO_CHUNK_GENERAL), 0,
	       "begin s from bytes");
	is_int(repo_writer_file_write(w, data.data, data.len), 0, "write s");
	is_int(repo_writer_file_end(w), 0, "end s");
	is_int(commit(w, id, NULL), 0, "commit");
	repo_writer_free(w);
	is_int(storefix_verify(r, id, e, 1), 0, "s holds the bytes");
	buf_release(&data);
}

int main(void)
{
	const char *dir;
	struct repo *r;

	if (storefix_begin("writer-abandon") < 0)
		return 1;
	dir = storefix_path("r");
	is_int(repo_init(dir, 0, NULL, 0, &storefix_err), 0, "init");
	/* small chunks, so a few MiB keep several slots in flight */
	storefix_config(dir, 1u << 20);
	is_int(storefix_open(&r, dir, 1, NULL), 0, "open");
	test_restart(r);
	test_read_fd(r);
	test_stream(r);
	repo_free(r);
	storefix_end();
	return done_testing();
}

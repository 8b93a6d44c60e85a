/*
 * test-writer: the snapshot writer (store/writer*.c) through repo.h:
 * entry order, an abandoned writer and what it leaves, repairing what a
 * crash leaves (temporary packs, a pack not in the index), and a file
 * whose chunk list spills to tmp/.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blob.h"
#include "index.h"
#include "repo.h"
#include "repo-internal.h"
#include "storefix.h"
#include "writer.h"
#include "../tap.h"

/* ---- order, abandon ---------------------------------------------- */

static void test_order(void)
{
	const char *dir = storefix_path("plain");
	struct repo_entry_meta m = { 0755, 0 };
	struct repo_writer *w;
	struct repo *r;

	repo_init(dir, 0, NULL, 0, &storefix_err);
	storefix_open(&r, dir, 1, NULL);
	is_int(repo_writer_new(r, &w, &storefix_err), 0, "writer");
	is_int(repo_writer_dir(w, "b", &m), 0, "b");
	is_int(repo_writer_dir(w, "a", &m), -EINVAL, "a after b: -EINVAL");
	ok(strstr(repo_writer_error(w), "out of order") != NULL,
	   "with a message (%s)", repo_writer_error(w));
	is_int(repo_writer_dir(w, "b", &m), -EINVAL, "b twice: -EINVAL");
	is_int(repo_writer_dir(w, "b/c", &m), 0, "b/c after b");
	is_int(repo_writer_dir(w, "b-c", &m), 0, "b-c after b/c");
	is_int(repo_writer_file_begin(w, "b/d", &m, REPO_CHUNK_GENERAL),
	       -EINVAL, "b/d after b-c: -EINVAL");
	is_int(repo_writer_file_write(w, "x", 1), -EINVAL,
	       "write without a file: -EINVAL");
	repo_writer_free(w);
	repo_free(r);
}

static void test_abandon(void)
{
	const char *dir = storefix_path("small");
	struct buf data = BUF_INIT;
	struct storefix_ent e[] = {
		{ "data", MANIFEST_FILE, &data, NULL, REPO_CHUNK_GENERAL,
		  NULL },
	};
	struct repo_totals t;
	struct repo_writer *w;
	struct repo *r;
	char id[65];
	int before;

	repo_init(dir, 0, NULL, 0, &storefix_err);
	storefix_config(dir, 64u << 10);
	storefix_gen(&data, 1u << 20, 9, 0);
	storefix_open(&r, dir, 1, NULL);
	before = storefix_nsnapshots(r);
	repo_writer_new(r, &w, &storefix_err);
	is_int(storefix_write_ents(w, e, 1), 0,
	       "abandoned writer wrote a file");
	repo_writer_free(w);
	is_int(storefix_nsnapshots(r), before,
	       "abandoned: no snapshot appears");
	is_int(storefix_count_files(storefix_path("small/tmp")), 0,
	       "tmp/ is empty again");
	is_int(storefix_snapshot(r, e, 1, id, &t, NULL), 0,
	       "the next writer commits");
	ok(t.chunks_new < t.chunks, "and reuses the packs the abandoned one"
	   " finished (%llu of %llu new)", (unsigned long long)t.chunks_new,
	   (unsigned long long)t.chunks);
	is_int(storefix_verify(r, id, e, 1), 0, "its snapshot reads back");
	repo_free(r);
	buf_release(&data);
}

/* ---- crash leftovers --------------------------------------------- */

struct pick {
	struct repo *r;
	struct index_pack p;
	int meta;
};

static int meta_blob(void *ctx, const uint8_t *id, const struct index_loc *l)
{
	if (l->type != BLOB_DATA)
		((struct pick *)ctx)->meta = 1;
	return 0;
}

/* The first pack holding only data blobs (import skips the others). */
static int data_pack(void *ctx, const struct index_pack *p)
{
	struct pick *k = ctx;

	k->meta = 0;
	index_pack_chunks(k->r->ix, p->pid, meta_blob, k, NULL);
	if (k->meta)
		return 0;
	k->p = *p;
	return 1;
}

static void test_recovery(void)
{
	const char *dir = storefix_path("small");
	struct buf data = BUF_INIT;
	struct storefix_ent e[] = {
		{ "again", MANIFEST_FILE, &data, NULL, REPO_CHUNK_GENERAL,
		  NULL },
	};
	struct pick k = { 0 };
	struct repo *r;
	char id[65];
	FILE *f;

	storefix_gen(&data, 300000, 41, 1);
	storefix_open(&r, dir, 1, NULL);
	is_int(storefix_snapshot(r, e, 1, id, NULL, NULL), 0,
	       "recovery: snapshot");
	/* as if the process died between renaming a pack and indexing it */
	k.r = r;
	is_int(index_pack_foreach(r->ix, data_pack, &k, NULL), 1,
	       "found a pack of data blobs");
	index_begin(r->ix, NULL);
	index_pack_delete(r->ix, k.p.pid, NULL, NULL);
	index_commit(r->ix, NULL);
	is_int(index_pack_exists(r->ix, k.p.name), 0, "a pack lost its rows");
	repo_free(r);
	f = fopen(storefix_path("small/tmp/0123.pack"), "w");
	if (f)
		fclose(f);

	is_int(storefix_open(&r, dir, 1, NULL), 0, "reopen for writing");
	is_int(storefix_count_files(storefix_path("small/tmp")), 0,
	       "tmp/ leftovers deleted");
	is_int(index_pack_exists(r->ix, k.p.name), 1,
	       "the unindexed pack is imported from its trailer");
	is_int(storefix_verify(r, id, e, 1), 0, "the snapshot reads back");
	repo_free(r);
	buf_release(&data);
}

/* ---- many chunks ------------------------------------------------- */

/* A file of ~36000 chunks: its chunk list spills to tmp/. */
static void test_many_chunks(void)
{
	const char *dir = storefix_path("tiny");
	struct buf data = BUF_INIT;
	struct storefix_ent e[] = {
		{ "many", MANIFEST_FILE, &data, NULL, REPO_CHUNK_GENERAL,
		  NULL },
	};
	struct repo_totals t;
	struct repo *r;
	char id[65];

	storefix_tiny(dir);
	storefix_gen(&data, 9u << 20, 51, 0);
	storefix_open(&r, dir, 1, NULL);
	is_int(storefix_snapshot(r, e, 1, id, &t, NULL), 0,
	       "many chunks: snapshot");
	ok(t.chunks > WRITER_REFS_SPILL / 36,
	   "more chunks than the in-memory chunk list holds (%llu)",
	   (unsigned long long)t.chunks);
	is_int(storefix_verify(r, id, e, 1), 0, "and reads back in order");
	repo_free(r);
	buf_release(&data);
}

int main(void)
{
	if (storefix_begin("writer") < 0)
		return 1;
	test_order();
	test_abandon();
	test_recovery();
	test_many_chunks();
	storefix_end();
	return done_testing();
}

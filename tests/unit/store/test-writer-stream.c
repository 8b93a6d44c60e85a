/*
 * test-writer-stream: detached streams of the snapshot writer
 * (store/writer-stream.c): several open at once and interleaved with
 * entries, refused attaches, dropped half-written, spilling their chunk
 * lists, hundreds parked; entries made of chunks already stored
 * (repo_writer_file_chunks); and streams that continue a stored file
 * (repo_stream_begin_after).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "repo.h"
#include "storefix.h"
#include "writer.h"
#include "../tap.h"

/* ---- detached streams -------------------------------------------- */

/* Writes b into st in odd pieces, alternating with nothing else. */
static int stream_fill(struct repo_stream *st, const struct buf *b,
		       size_t from, size_t to)
{
	size_t step = 1000;
	int rc = 0;

	while (rc == 0 && from < to) {
		size_t k = to - from < step ? to - from : step;

		rc = repo_stream_write(st, b->data + from, k);
		from += k;
		step = step * 2 + 3;
	}
	return rc;
}

/* Attaches st as file path with an optional "note" attribute. */
static int stream_attach(struct repo_writer *w, const char *path,
			 struct repo_stream *st, const char *note)
{
	struct repo_entry_meta m = { 0640, 1700000000000000000ll };
	int rc = repo_writer_file_stream(w, path, &m, st);

	if (rc == 0 && note)
		rc = repo_writer_file_attr(w, "note", note);
	if (rc == 0)
		rc = repo_writer_file_end(w);
	return rc;
}

static void test_streams(void)
{
	const char *dir = storefix_path("streams");
	struct repo_entry_meta m = { 0640, 1700000000000000000ll };
	struct buf rows = BUF_INIT, bin = BUF_INIT, small = BUF_INIT,
		   empty = BUF_INIT;
	struct storefix_ent e[] = {
		{ "a", MANIFEST_FILE, &small, NULL, REPO_CHUNK_GENERAL, NULL },
		{ "b", MANIFEST_DIR, NULL, NULL, 0, NULL },
		{ "b/bin", MANIFEST_FILE, &bin, NULL, REPO_CHUNK_GENERAL,
		  "from a stream" },
		{ "b/rows", MANIFEST_FILE, &rows, NULL, REPO_CHUNK_ROWS, NULL },
		{ "c", MANIFEST_FILE, &empty, NULL, REPO_CHUNK_GENERAL, NULL },
	};
	struct repo_stream *s1 = NULL, *s2 = NULL, *s3 = NULL, *sx = NULL;
	struct repo_check_opts co = { 1, 0, NULL, NULL };
	struct repo_check_result cr;
	struct repo_totals t;
	struct repo_writer *w;
	struct repo *r;
	char id[65];
	int rc;

	storefix_gen(&rows, 3u << 20, 61, 1);
	storefix_gen(&bin, 1u << 20, 62, 0);
	storefix_gen(&small, 5000, 63, 1);
	repo_init(dir, 1, "pw", 2, &storefix_err);
	storefix_config(dir, 1u << 20);
	storefix_open(&r, dir, 1, "pw");
	repo_writer_new(r, &w, &storefix_err);
	rc = repo_stream_begin(w, REPO_CHUNK_ROWS, &s1);
	if (rc == 0)
		rc = repo_stream_begin(w, REPO_CHUNK_GENERAL, &s2);
	if (rc == 0)
		rc = repo_stream_begin(w, REPO_CHUNK_GENERAL, &s3);
	is_int(rc, 0, "three streams open at once");
	/* interleaved: half of each, a whole entry, the other halves */
	rc = stream_fill(s1, &rows, 0, rows.len / 2);
	if (rc == 0)
		rc = stream_fill(s2, &bin, 0, bin.len / 3);
	if (rc == 0)	/* "a" while streams are open */
		rc = storefix_write_ents(w, e, 1);
	if (rc == 0)
		rc = stream_fill(s2, &bin, bin.len / 3, bin.len);
	if (rc == 0)
		rc = stream_fill(s1, &rows, rows.len / 2, rows.len);
	is_int(rc, 0, "streams and an entry written interleaved %s",
	       repo_writer_error(w));
	ok(repo_stream_size(s1) == rows.len && repo_stream_size(s2) == bin.len,
	   "stream sizes count every byte");
	is_int(repo_writer_file_stream(w, "b/rows", &m, s1), -EINVAL,
	       "attaching a stream before it ended: -EINVAL");
	ok(strstr(repo_writer_error(w), "not ended") != NULL,
	   "with a message (%s)", repo_writer_error(w));
	/* s1 was consumed by the refused attach: write it again */
	rc = repo_stream_begin(w, REPO_CHUNK_ROWS, &s1);
	if (rc == 0)
		rc = stream_fill(s1, &rows, 0, rows.len);
	if (rc == 0)
		rc = repo_stream_end(s1);
	if (rc == 0)
		rc = repo_stream_end(s2);
	if (rc == 0)
		rc = repo_stream_end(s3);
	is_int(rc, 0, "streams end");
	is_int(repo_stream_write(s2, "x", 1), -EINVAL,
	       "writing to an ended stream: -EINVAL");
	/* a stream that is dropped half-written, chunks in flight */
	rc = repo_stream_begin(w, REPO_CHUNK_GENERAL, &sx);
	if (rc == 0)
		rc = stream_fill(sx, &bin, 0, bin.len / 2);
	repo_stream_free(sx);
	is_int(rc, 0, "a dropped stream");
	rc = repo_writer_dir(w, "b", &m);
	if (rc == 0)
		rc = stream_attach(w, "b/bin", s2, "from a stream");
	if (rc == 0) {
		rc = repo_writer_file_stream(w, "b/rows", &m, s1);
		if (rc == 0) {
			is_int(repo_writer_file_write(w, "x", 1), -EINVAL,
			       "no writes into an entry made of a stream");
			rc = repo_writer_file_end(w);
		}
	}
	is_int(rc, 0, "streams attached in order %s", repo_writer_error(w));
	rc = repo_stream_begin(w, REPO_CHUNK_GENERAL, &sx);
	if (rc == 0)
		rc = repo_stream_end(sx);
	is_int(rc, 0, "another empty stream");
	is_int(stream_attach(w, "b/a", sx, NULL), -EINVAL,
	       "attaching out of order: -EINVAL (stream consumed)");
	is_int(stream_attach(w, "c", s3, NULL), 0, "an empty stream as c");
	rc = repo_writer_commit(w, NULL, id, &t, &storefix_err);
	is_int(rc, 0, "commit %s", (char *)storefix_err.data);
	is_int(repo_stream_begin(w, REPO_CHUNK_GENERAL, &sx), -EINVAL,
	       "no stream after the commit");
	repo_writer_free(w);
	is_int(storefix_verify(r, id, e, 5), 0,
	       "entries from streams read back");
	ok(t.bytes_read >= rows.len * 2 + bin.len + bin.len / 2 + small.len,
	   "bytes_read counts what the streams were given");
	is_int(storefix_count_files(storefix_path("streams/tmp")), 0,
	       "tmp/ is empty again");
	repo_free(r);
	storefix_open(&r, dir, 0, "pw");
	is_int(repo_check(r, &co, &cr, &storefix_err), 0,
	       "check --read-data is clean");
	repo_free(r);
	buf_release(&rows);
	buf_release(&bin);
	buf_release(&small);
	buf_release(&empty);
}

/* Two streams of ~36000 chunks each, interleaved: both chunk lists
 * spill, in interleaved segments of the one spill file; and 300 small
 * parked streams. */
static void test_streams_spill(void)
{
	const char *dir = storefix_path("tiny");
	struct buf a = BUF_INIT, b = BUF_INIT, s[300];
	struct storefix_ent e[302];
	struct repo_stream *sa = NULL, *sb = NULL, *ss[300];
	struct repo_writer *w;
	struct repo_totals t;
	struct repo *r;
	char id[65], names[300][16];
	size_t half;
	int rc;

	storefix_tiny(dir);
	storefix_gen(&a, 9u << 20, 71, 0);
	storefix_gen(&b, 9u << 20, 72, 0);
	storefix_open(&r, dir, 1, NULL);
	repo_writer_new(r, &w, &storefix_err);
	rc = repo_stream_begin(w, REPO_CHUNK_GENERAL, &sa);
	if (rc == 0)
		rc = repo_stream_begin(w, REPO_CHUNK_GENERAL, &sb);
	for (int k = 0; rc == 0 && k < 4; k++) {
		half = a.len / 4;
		rc = stream_fill(sa, &a, k * half, k == 3 ? a.len : (k + 1) * half);
		if (rc == 0)
			rc = stream_fill(sb, &b, k * half, k == 3 ? b.len : (k + 1) * half);
	}
	for (int i = 0; rc == 0 && i < 300; i++) {
		buf_init(&s[i], 0);
		storefix_gen(&s[i], 100 + 37 * (size_t)i, 1000 + (uint64_t)i,
			     0);
		rc = repo_stream_begin(w, REPO_CHUNK_GENERAL, &ss[i]);
		if (rc == 0)
			rc = repo_stream_write(ss[i], s[i].data, s[i].len);
		if (rc == 0)
			rc = repo_stream_end(ss[i]);
	}
	if (rc == 0)
		rc = repo_stream_end(sb);
	if (rc == 0)
		rc = repo_stream_end(sa);
	is_int(rc, 0, "two big interleaved streams and 300 small ones %s",
	       repo_writer_error(w));
	memset(e, 0, sizeof(e));
	e[0] = (struct storefix_ent){ "a", MANIFEST_FILE, &a, NULL,
				     REPO_CHUNK_GENERAL, NULL };
	e[1] = (struct storefix_ent){ "b", MANIFEST_FILE, &b, NULL,
				     REPO_CHUNK_GENERAL, NULL };
	if (rc == 0)
		rc = stream_attach(w, "a", sa, NULL);
	if (rc == 0)
		rc = stream_attach(w, "b", sb, NULL);
	for (int i = 0; rc == 0 && i < 300; i++) {
		snprintf(names[i], sizeof(names[i]), "s%03d", i);
		e[2 + i] = (struct storefix_ent){ names[i], MANIFEST_FILE,
						  &s[i], NULL,
						  REPO_CHUNK_GENERAL, NULL };
		rc = stream_attach(w, names[i], ss[i], NULL);
	}
	if (rc == 0)
		rc = repo_writer_commit(w, NULL, id, &t, &storefix_err);
	is_int(rc, 0, "attached and committed %s", repo_writer_error(w));
	ok(t.chunks > 2 * (WRITER_REFS_SPILL / 36),
	   "both chunk lists spilled (%llu chunks)",
	   (unsigned long long)t.chunks);
	repo_writer_free(w);
	is_int(storefix_verify(r, id, e, 302), 0,
	       "every stream reads back in order");
	repo_free(r);
	for (int i = 0; i < 300; i++)
		buf_release(&s[i]);
	buf_release(&a);
	buf_release(&b);
}

/* ---- entries of stored chunks ------------------------------------ */

static void test_file_chunks(void)
{
	const char *dir = storefix_path("streams");
	struct repo_entry_meta m = { 0600, 0 };
	struct buf got = BUF_INIT, data = BUF_INIT;
	const struct manifest_entry *me;
	const struct manifest_chunk *mc;
	struct repo_chunkref *refs = NULL, bad;
	struct repo_iter *it;
	struct repo_writer *w;
	struct repo_totals t;
	struct repo *r;
	char id[65];
	size_t n = 0;
	int rc;

	storefix_open(&r, dir, 1, "pw");
	/* the chunks of b/rows in the latest snapshot */
	repo_snapshot_resolve(r, "latest", id, &storefix_err);
	repo_iter_new(r, id, &it, &storefix_err);
	while (repo_iter_next(it, &me, &storefix_err) == 1 && strcmp(me->path,
								     "b/rows"))
		;
	rc = repo_iter_chunks(it, &mc, &n, &storefix_err);
	is_int(rc, 0, "chunk refs of b/rows");
	refs = calloc(n ? n : 1, sizeof(*refs));
	for (size_t i = 0; rc == 0 && i < n; i++) {
		memcpy(refs[i].id, mc[i].id, 32);
		refs[i].len = mc[i].len;
	}
	ok(n > 100, "%zu chunks", n);
	repo_iter_free(it);
	/* what test_streams stored there */
	storefix_gen(&data, 3u << 20, 61, 1);

	repo_writer_new(r, &w, &storefix_err);
	memset(&bad, 0, sizeof(bad));
	bad.len = 10;
	is_int(repo_writer_file_chunks(w, "a", &m, &bad, 1), -ENOENT,
	       "an unknown chunk: -ENOENT");
	ok(strstr(repo_writer_error(w), "not in the repository") != NULL,
	   "named (%s)", repo_writer_error(w));
	bad = refs[0];
	bad.len++;
	is_int(repo_writer_file_chunks(w, "a", &m, &bad, 1), -EINVAL,
	       "a wrong length: -EINVAL");
	rc = repo_writer_file_chunks(w, "a", &m, refs, n);
	if (rc == 0)
		rc = repo_writer_file_attr(w, "note", "reused");
	if (rc == 0) {
		is_int(repo_writer_file_write(w, "x", 1), -EINVAL,
		       "no writes into an entry of given chunks");
		rc = repo_writer_file_end(w);
	}
	if (rc == 0)
		rc = repo_writer_file_chunks(w, "b", &m, NULL, 0);
	if (rc == 0)
		rc = repo_writer_file_end(w);
	is_int(rc, 0, "entries of stored chunks, after refusals %s",
	       repo_writer_error(w));
	rc = repo_writer_commit(w, NULL, id, &t, &storefix_err);
	is_int(rc, 0, "commit %s", (char *)storefix_err.data);
	/* only the manifest and the record are new */
	ok(t.bytes_read == data.len && t.bytes_added < data.len / 20,
	   "no data stored again (%llu read, %llu added)",
	   (unsigned long long)t.bytes_read, (unsigned long long)t.bytes_added);
	repo_writer_free(w);
	repo_iter_new(r, id, &it, &storefix_err);
	rc = repo_iter_next(it, &me, &storefix_err);
	ok(rc == 1 && !strcmp(me->path, "a") && me->nattrs == 1 &&
	   me->size == data.len, "entry a: size and attribute (%s, %llu)",
	   rc == 1 ? me->path : "", rc == 1 ? (unsigned long long)me->size : 0);
	buf_reset(&got);
	if (rc == 1)
		repo_iter_read(it, storefix_sink_buf, &got, &storefix_err);
	ok(got.len == data.len && !memcmp(got.data, data.data, got.len),
	   "reads back the original bytes");
	rc = repo_iter_next(it, &me, &storefix_err);
	ok(rc == 1 && !strcmp(me->path, "b") && me->size == 0,
	   "an empty entry of no chunks");
	repo_iter_free(it);
	repo_free(r);
	free(refs);
	buf_release(&got);
	buf_release(&data);
}

/* The chunk list of `path` in snapshot id into *refs (free it). */
static size_t stream_refs(struct repo *r, const char *id, const char *path,
			  struct repo_chunkref **refs)
{
	const struct manifest_entry *me;
	const struct manifest_chunk *mc;
	struct repo_iter *it;
	size_t n = 0;

	*refs = NULL;
	repo_iter_new(r, id, &it, &storefix_err);
	while (repo_iter_next(it, &me, &storefix_err) == 1 &&
	       strcmp(me->path, path))
		;
	if (repo_iter_chunks(it, &mc, &n, &storefix_err) == 0) {
		*refs = calloc(n ? n : 1, sizeof(**refs));
		for (size_t i = 0; *refs && i < n; i++) {
			memcpy((*refs)[i].id, mc[i].id, 32);
			(*refs)[i].len = mc[i].len;
		}
	}
	repo_iter_free(it);
	return *refs ? n : 0;
}

/* A stored file continued: its chunks but the last kept, the rest
 * chunked anew, exactly as the whole content written afresh. */
static void test_begin_after(void)
{
	const char *dir = storefix_path("streams");
	struct buf data = BUF_INIT, more = BUF_INIT, all = BUF_INIT,
		   got = BUF_INIT;
	struct repo_chunkref *refs = NULL, *ra = NULL, *rb = NULL, bad;
	struct repo_stream *sa = NULL, *sb = NULL, *sx = NULL;
	const struct manifest_entry *me;
	struct repo_iter *it;
	struct repo_writer *w;
	struct repo_totals t;
	struct repo *r;
	char id[65];
	size_t n, na, nb;
	int rc;

	storefix_open(&r, dir, 1, "pw");
	repo_snapshot_resolve(r, "latest", id, &storefix_err);
	n = stream_refs(r, id, "a", &refs);	/* test_file_chunks: rows */
	ok(n > 100, "%zu chunks to continue", n);
	storefix_gen(&data, 3u << 20, 61, 1);
	storefix_gen(&more, 300000, 64, 1);
	/* the new content: the old without its last 3 bytes, then more */
	buf_add(&all, data.data, data.len - 3);
	buf_add(&all, more.data, more.len);

	repo_writer_new(r, &w, &storefix_err);
	is_int(repo_stream_begin_after(w, REPO_CHUNK_ROWS, refs, n, "zz!", 3,
				       &sx), -EINVAL,
	       "bytes to drop that do not end the file: refused");
	ok(sx == NULL && strstr(repo_writer_error(w), "does not end") != NULL,
	   "named (%s)", repo_writer_error(w));
	memset(&bad, 0, sizeof(bad));
	bad.len = 10;
	is_int(repo_stream_begin_after(w, REPO_CHUNK_ROWS, &bad, 1, NULL, 0,
				       &sx), -ENOENT,
	       "an unknown chunk: -ENOENT");
	is_int(repo_stream_begin_after(w, REPO_CHUNK_ROWS, refs, 0, NULL, 0,
				       &sx), -EINVAL, "no chunks: refused");
	rc = repo_stream_begin_after(w, REPO_CHUNK_ROWS, refs, n,
				     data.data + data.len - 3, 3, &sa);
	is_int(rc, 0, "continued after refusals (%s)", repo_writer_error(w));
	ok(repo_stream_size(sa) == data.len - 3, "it holds the old bytes");
	if (rc == 0)
		rc = stream_fill(sa, &more, 0, more.len);
	if (rc == 0)
		rc = repo_stream_end(sa);
	if (rc == 0)
		rc = repo_stream_begin(w, REPO_CHUNK_ROWS, &sb);
	if (rc == 0)
		rc = stream_fill(sb, &all, 0, all.len);
	if (rc == 0)
		rc = repo_stream_end(sb);
	if (rc == 0)
		rc = stream_attach(w, "a", sa, NULL);
	else
		repo_stream_free(sa);
	if (rc == 0)
		rc = stream_attach(w, "b", sb, NULL);
	else
		repo_stream_free(sb);
	is_int(rc, 0, "both attached %s", repo_writer_error(w));
	rc = repo_writer_commit(w, NULL, id, &t, &storefix_err);
	is_int(rc, 0, "commit %s", (char *)storefix_err.data);
	ok(t.bytes_reused >= data.len - (2u << 20),
	   "the old chunks but the last are reused (%llu bytes)",
	   (unsigned long long)t.bytes_reused);
	repo_writer_free(w);
	na = stream_refs(r, id, "a", &ra);
	nb = stream_refs(r, id, "b", &rb);
	ok(na > n && na == nb && !memcmp(ra, rb, na * sizeof(*ra)),
	   "the chunks of a fresh write (%zu, %zu)", na, nb);
	repo_iter_new(r, id, &it, &storefix_err);
	rc = repo_iter_next(it, &me, &storefix_err);
	if (rc == 1)
		repo_iter_read(it, storefix_sink_buf, &got, &storefix_err);
	ok(rc == 1 && got.len == all.len && !memcmp(got.data, all.data, got.len),
	   "reads back the old bytes, then the new");
	repo_iter_free(it);
	repo_free(r);
	free(refs);
	free(ra);
	free(rb);
	buf_release(&data);
	buf_release(&more);
	buf_release(&all);
	buf_release(&got);
}

int main(void)
{
	if (storefix_begin("writer-stream") < 0)
		return 1;
	test_streams();
	test_streams_spill();
	test_file_chunks();
	test_begin_after();
	storefix_end();
	return done_testing();
}

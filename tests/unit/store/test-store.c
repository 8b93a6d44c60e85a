/*
 * test-store: the repository engine through repo.h: init/open and keys,
 * writing and reading snapshots (streamed, rows-chunked, symlinks,
 * attributes), dedup, entry order, abandoned writers, forget + prune
 * (delete and repack), check naming a damaged path, rebuild-index, the
 * writer lock, detached streams (interleaved, spilled, parked, dropped)
 * and entries made of chunks already stored.  Every repository lives
 * under one /tmp directory that is removed at the end.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sodium.h>
#include <sys/wait.h>

#include "blob.h"
#include "config.h"
#include "index.h"
#include "policy.h"
#include "repo.h"
#include "repo-internal.h"
#include "../tap.h"
#include "writer.h"

static char base[] = "/tmp/vault-test-store-XXXXXX";
static struct buf err = BUF_INIT;

/* ---- helpers ----------------------------------------------------------- */

static const char *path_of(const char *name)
{
	static char p[8][256];
	static int k;

	k = (k + 1) % 8;
	snprintf(p[k], sizeof(p[k]), "%s/%s", base, name);
	return p[k];
}

static int pass_cb(void *ctx, const char *why, struct buf *pass)
{
	return ctx ? buf_addstr(pass, ctx) : -ENOKEY;
}

static int open_repo(struct repo **r, const char *dir, int write,
		     const char *pass)
{
	struct repo_open_opts o = { .write = write & 1, .command = "test-store",
				    .pass = pass_cb, .pass_ctx = (void *)pass,
				    .rebuild = !!(write & 2) };

	buf_reset(&err);
	return repo_open(r, dir, &o, &err);
}

static struct config_chunker general_small = { 4096, 16384, 65536 };

/* Shrinks chunk and pack sizes so small data spans many chunks/packs. */
static int small_config(const char *dir, uint64_t pack_target)
{
	char path[300];
	struct config c;
	struct buf text = BUF_INIT;
	FILE *f;
	char line[512];
	int rc;

	snprintf(path, sizeof(path), "%s/config", dir);
	f = fopen(path, "r");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f))
		buf_addstr(&text, line);
	fclose(f);
	rc = config_decode(&c, (char *)text.data, text.len, NULL);
	if (rc == 0) {
		c.general = general_small;
		c.rows = (struct config_chunker){ 1024, 4096, 16384 };
		c.pack_target = pack_target;
		buf_reset(&text);
		rc = config_encode(&text, &c);
	}
	if (rc == 0)
		rc = repo_write_atomic(path, text.data, text.len, NULL);
	buf_release(&text);
	return rc;
}

/* Deterministic content: random bytes, or text lines when text. */
static void gen(struct buf *b, size_t n, uint64_t seed, int text)
{
	uint64_t x = seed * 0x9e3779b97f4a7c15ull + 1;

	buf_reset(b);
	buf_grow(b, n);
	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		if (text)
			b->data[i] = (x % 61 == 0) ? '\n'
				     : (uint8_t)('a' + x % 26);
		else
			b->data[i] = (uint8_t)(x >> 24);
	}
	buf_setlen(b, n);
}

struct ent {
	const char *path;
	int kind;
	struct buf *data;	/* files */
	const char *target;	/* symlinks */
	enum repo_chunking how;
	const char *attr;	/* "key=value" or NULL */
};

static int write_ents(struct repo_writer *w, const struct ent *e, size_t n)
{
	struct repo_entry_meta m = { 0640, 1700000000000000000ll };
	int rc = 0;

	for (size_t i = 0; rc == 0 && i < n; i++) {
		if (e[i].kind == MANIFEST_DIR) {
			rc = repo_writer_dir(w, e[i].path, &m);
		} else if (e[i].kind == MANIFEST_SYMLINK) {
			rc = repo_writer_symlink(w, e[i].path, e[i].target, &m);
		} else {
			size_t off = 0, step = 777;

			rc = repo_writer_file_begin(w, e[i].path, &m, e[i].how);
			/* odd, growing pieces: chunks never align with them */
			while (rc == 0 && off < e[i].data->len) {
				size_t k = e[i].data->len - off < step
					   ? e[i].data->len - off : step;

				rc = repo_writer_file_write(w, e[i].data->data +
							    off, k);
				off += k;
				step = step * 3 + 1;
			}
			if (rc == 0 && e[i].attr)
				rc = repo_writer_file_attr(w, "note", e[i].attr);
			if (rc == 0)
				rc = repo_writer_file_end(w);
		}
	}
	return rc;
}

static int snapshot(struct repo *r, const struct ent *e, size_t n,
		    char id[65], struct repo_totals *t, const char *tag)
{
	const char *tags[1] = { tag };
	struct repo_commit_opts co = { 0, "testhost", "test", tags,
				       tag ? 1 : 0, "{\"k\":1}" };
	struct repo_writer *w;
	int rc;

	buf_reset(&err);
	rc = repo_writer_new(r, &w, &err);
	if (rc < 0)
		return rc;
	rc = write_ents(w, e, n);
	if (rc == 0)
		rc = repo_writer_commit(w, &co, id, t, &err);
	else
		diag("writer: %s", repo_writer_error(w));
	repo_writer_free(w);
	return rc;
}

static int sink_buf(void *ctx, const void *p, size_t n)
{
	return buf_add(ctx, p, n);
}

/* Reads snapshot id back and compares with e[0..n): mismatches. */
static int verify(struct repo *r, const char *id, const struct ent *e,
		  size_t n)
{
	const struct manifest_entry *me;
	struct repo_iter *it;
	struct buf got = BUF_INIT;
	size_t i = 0;
	int bad = 0, rc;

	buf_reset(&err);
	if (repo_iter_new(r, id, &it, &err) < 0)
		return -1;
	while ((rc = repo_iter_next(it, &me, &err)) == 1) {
		if (i >= n || strcmp(me->path, e[i].path) ||
		    me->kind != e[i].kind) {
			bad++;
			break;
		}
		if (me->kind == MANIFEST_SYMLINK &&
		    strcmp(me->target, e[i].target))
			bad++;
		if (me->kind == MANIFEST_FILE) {
			buf_reset(&got);
			rc = repo_iter_read(it, sink_buf, &got, &err);
			if (rc < 0 || got.len != e[i].data->len ||
			    memcmp(got.data, e[i].data->data, got.len))
				bad++;
			if (e[i].attr && (me->nattrs != 1 ||
					  strcmp(me->attrs[0].value, e[i].attr)))
				bad++;
		}
		i++;
	}
	if (rc < 0 || i != n)
		bad++;
	repo_iter_free(it);
	buf_release(&got);
	return bad;
}

static int count_cb(const struct repo_snapinfo *s, void *ctx)
{
	(*(int *)ctx)++;
	return 0;
}

static int nsnapshots(struct repo *r)
{
	int n = 0;

	repo_snapshot_list(r, NULL, count_cb, &n, NULL);
	return n;
}

static int count_files(const char *dir)
{
	char cmd[400];
	FILE *p;
	int n = -1;

	snprintf(cmd, sizeof(cmd), "find '%s' -type f | wc -l", dir);
	p = popen(cmd, "r");
	if (p && fscanf(p, "%d", &n) != 1)
		n = -1;
	if (p)
		pclose(p);
	return n;
}

static int rm_one(const char *path, const struct stat *st, int flag,
		  struct FTW *f)
{
	return remove(path);
}

/* ---- init, open, keys ----------------------------------------------------- */

static void test_keys(void)
{
	const char *enc = path_of("enc"), *plain = path_of("plain");
	struct repo *r;
	int rc;

	is_int(repo_init(plain, 0, NULL, 0, &err), 0, "init unencrypted");
	is_int(repo_init(plain, 0, NULL, 0, &err), -EEXIST,
	       "init refuses a non-empty directory");
	is_int(open_repo(&r, plain, 0, NULL), 0, "open without a passphrase");
	is_int(repo_encrypted(r), 0, "not encrypted");
	repo_free(r);

	is_int(repo_init(enc, 1, "hunter2", 7, &err), 0, "init encrypted");
	is_int(open_repo(&r, enc, 0, NULL), -ENOKEY,
	       "no passphrase: -ENOKEY");
	rc = open_repo(&r, enc, 1, "wrong");
	is_int(rc, -EKEYREJECTED, "wrong passphrase: -EKEYREJECTED");
	ok(strstr((char *)err.data, "wrong passphrase") != NULL,
	   "with a clear message (%s)", (char *)err.data);
	is_int(open_repo(&r, enc, 1, "hunter2"), 0, "right passphrase");
	is_int(repo_encrypted(r), 1, "encrypted");
	is_int(repo_key_passwd(r, "new pass", 8, &err), 0, "passphrase changed");
	repo_free(r);
	is_int(open_repo(&r, enc, 0, "hunter2"), -EKEYREJECTED,
	       "old passphrase rejected");
	is_int(open_repo(&r, enc, 0, "new pass"), 0, "new one accepted");
	repo_free(r);
	is_int(open_repo(&r, path_of("nothing"), 0, NULL), -ENOENT,
	       "opening a missing repository: -ENOENT");
}

/* ---- snapshots ------------------------------------------------------------- */

static void test_snapshots(const char *name, const char *pass)
{
	const char *dir = path_of(name);
	struct buf big = BUF_INIT, rows = BUF_INIT, small = BUF_INIT,
		   empty = BUF_INIT;
	struct ent e[] = {
		{ "a", MANIFEST_DIR, NULL, NULL, 0, NULL },
		{ "a/big", MANIFEST_FILE, &big, NULL, REPO_CHUNK_GENERAL, NULL },
		{ "a/link", MANIFEST_SYMLINK, NULL, "big", 0, NULL },
		{ "a/rows", MANIFEST_FILE, &rows, NULL, REPO_CHUNK_ROWS, "x=1" },
		{ "a-b", MANIFEST_FILE, &small, NULL, REPO_CHUNK_GENERAL, NULL },
		{ "b", MANIFEST_DIR, NULL, NULL, 0, NULL },
		{ "b/empty", MANIFEST_FILE, &empty, NULL, REPO_CHUNK_GENERAL,
		  NULL },
	};
	size_t n = sizeof(e) / sizeof(e[0]);
	struct repo_snapinfo info;
	struct repo_totals t1, t2;
	struct repo *r;
	char id1[65], id2[65], res[65];

	gen(&big, 9u << 20, 1, 0);
	gen(&rows, 700u << 10, 2, 1);
	gen(&small, 1000, 3, 1);
	repo_init(dir, pass != NULL, pass, pass ? strlen(pass) : 0, &err);
	is_int(open_repo(&r, dir, 1, pass), 0, "%s: open for writing", name);
	is_int(snapshot(r, e, n, id1, &t1, "daily"), 0, "%s: snapshot written",
	       name);
	ok(t1.entries == n && t1.bytes_read == big.len + rows.len + small.len,
	   "%s: totals count entries and bytes", name);
	ok(t1.chunks >= 15 && t1.chunks_new == t1.chunks,
	   "%s: big and rows files span many chunks (%llu)", name,
	   (unsigned long long)t1.chunks);
	is_int(verify(r, id1, e, n), 0, "%s: read back identical", name);

	is_int(repo_snapshot_info(r, id1, &info, &err), 0, "%s: info", name);
	ok(info.entries == n && !strcmp(info.hostname, "testhost") &&
	   info.ntags == 1 && !strcmp(info.tags[0], "daily") &&
	   !strcmp(info.meta_json, "{\"k\":1}"), "%s: info fields", name);
	repo_snapinfo_release(&info);

	is_int(snapshot(r, e, n, id2, &t2, NULL), 0, "%s: repeat snapshot",
	       name);
	ok(t2.bytes_added < 4096 && t2.bytes_stored < 4096 &&
	   t2.chunks_new <= 1, "%s: the repeat adds ~nothing (%llu bytes)",
	   name, (unsigned long long)t2.bytes_added);
	ok(strcmp(id1, id2) != 0, "%s: it is a new snapshot", name);
	is_int(verify(r, id2, e, n), 0, "%s: repeat reads back", name);

	is_int(repo_snapshot_resolve(r, "latest", res, &err), 0,
	       "%s: latest resolves", name);
	ok(!strcmp(res, id2), "%s: to the newest", name);
	memcpy(res, id1, 8);
	res[8] = '\0';
	is_int(repo_snapshot_resolve(r, res, res, &err), 0,
	       "%s: a prefix resolves", name);
	ok(!strcmp(res, id1), "%s: to its snapshot", name);
	is_int(repo_snapshot_resolve(r, "0123456789", res, &err), -ENOENT,
	       "%s: unknown prefix: -ENOENT", name);
	repo_free(r);

	/* a reader sees it without the writer lock */
	is_int(open_repo(&r, dir, 0, pass), 0, "%s: open read-only", name);
	is_int(verify(r, id1, e, n), 0, "%s: read-only reader", name);
	repo_free(r);
	buf_release(&big);
	buf_release(&rows);
	buf_release(&small);
}

static int file_has(const char *dir, const char *needle)
{
	char cmd[400];

	snprintf(cmd, sizeof(cmd), "grep -rqa '%s' '%s/packs'", needle, dir);
	return system(cmd) == 0;
}

static void test_encrypted_at_rest(void)
{
	const char *dir = path_of("enc");
	struct buf data = BUF_INIT;
	struct ent e[] = {
		{ "secret", MANIFEST_FILE, &data, NULL, REPO_CHUNK_GENERAL,
		  NULL },
	};
	struct repo *r;
	char id[65];

	buf_addstr(&data, "MARKER-find-me-7d1c in a secret file\n");
	open_repo(&r, dir, 1, "new pass");
	is_int(snapshot(r, e, 1, id, NULL, NULL), 0, "encrypted snapshot");
	repo_free(r);
	ok(!file_has(dir, "MARKER-find-me-7d1c"), "no plaintext in the packs");
	ok(!file_has(dir, "secret"), "not even the path");
	buf_release(&data);
}

/* ---- order, abandon ----------------------------------------------------------- */

static void test_order(void)
{
	const char *dir = path_of("plain");
	struct repo_entry_meta m = { 0755, 0 };
	struct repo_writer *w;
	struct repo *r;

	open_repo(&r, dir, 1, NULL);
	is_int(repo_writer_new(r, &w, &err), 0, "writer");
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
	const char *dir = path_of("small");
	struct buf data = BUF_INIT;
	struct ent e[] = {
		{ "data", MANIFEST_FILE, &data, NULL, REPO_CHUNK_GENERAL,
		  NULL },
	};
	struct repo_totals t;
	struct repo_writer *w;
	struct repo *r;
	char id[65];
	int before;

	repo_init(dir, 0, NULL, 0, &err);
	small_config(dir, 64u << 10);
	gen(&data, 1u << 20, 9, 0);
	open_repo(&r, dir, 1, NULL);
	before = nsnapshots(r);
	repo_writer_new(r, &w, &err);
	is_int(write_ents(w, e, 1), 0, "abandoned writer wrote a file");
	repo_writer_free(w);
	is_int(nsnapshots(r), before, "abandoned: no snapshot appears");
	is_int(count_files(path_of("small/tmp")), 0, "tmp/ is empty again");
	is_int(snapshot(r, e, 1, id, &t, NULL), 0, "the next writer commits");
	ok(t.chunks_new < t.chunks, "and reuses the packs the abandoned one"
	   " finished (%llu of %llu new)", (unsigned long long)t.chunks_new,
	   (unsigned long long)t.chunks);
	is_int(verify(r, id, e, 1), 0, "its snapshot reads back");
	repo_free(r);
	buf_release(&data);
}

/* A file of ~36000 chunks: its chunk list spills to tmp/. */
static void test_many_chunks(void)
{
	const char *dir = path_of("tiny");
	struct buf data = BUF_INIT;
	struct ent e[] = {
		{ "many", MANIFEST_FILE, &data, NULL, REPO_CHUNK_GENERAL,
		  NULL },
	};
	struct repo_totals t;
	struct repo *r;
	char id[65];

	repo_init(dir, 0, NULL, 0, &err);
	general_small = (struct config_chunker){ 64, 256, 1024 };
	small_config(dir, 4u << 20);
	general_small = (struct config_chunker){ 4096, 16384, 65536 };
	gen(&data, 9u << 20, 51, 0);
	open_repo(&r, dir, 1, NULL);
	is_int(snapshot(r, e, 1, id, &t, NULL), 0, "many chunks: snapshot");
	ok(t.chunks > WRITER_REFS_SPILL / 36,
	   "more chunks than the in-memory chunk list holds (%llu)",
	   (unsigned long long)t.chunks);
	is_int(verify(r, id, e, 1), 0, "and reads back in order");
	repo_free(r);
	buf_release(&data);
}

/* ---- detached streams and entries of stored chunks ------------------------ */

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
	const char *dir = path_of("streams");
	struct repo_entry_meta m = { 0640, 1700000000000000000ll };
	struct buf rows = BUF_INIT, bin = BUF_INIT, small = BUF_INIT,
		   empty = BUF_INIT;
	struct ent e[] = {
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

	gen(&rows, 3u << 20, 61, 1);
	gen(&bin, 1u << 20, 62, 0);
	gen(&small, 5000, 63, 1);
	repo_init(dir, 1, "pw", 2, &err);
	small_config(dir, 1u << 20);
	open_repo(&r, dir, 1, "pw");
	repo_writer_new(r, &w, &err);
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
	if (rc == 0)
		rc = write_ents(w, e, 1);	/* "a" while streams are open */
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
	rc = repo_writer_commit(w, NULL, id, &t, &err);
	is_int(rc, 0, "commit %s", (char *)err.data);
	is_int(repo_stream_begin(w, REPO_CHUNK_GENERAL, &sx), -EINVAL,
	       "no stream after the commit");
	repo_writer_free(w);
	is_int(verify(r, id, e, 5), 0, "entries from streams read back");
	ok(t.bytes_read >= rows.len * 2 + bin.len + bin.len / 2 + small.len,
	   "bytes_read counts what the streams were given");
	is_int(count_files(path_of("streams/tmp")), 0, "tmp/ is empty again");
	repo_free(r);
	open_repo(&r, dir, 0, "pw");
	is_int(repo_check(r, &co, &cr, &err), 0, "check --read-data is clean");
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
	const char *dir = path_of("tiny");
	struct buf a = BUF_INIT, b = BUF_INIT, s[300];
	struct ent e[302];
	struct repo_stream *sa = NULL, *sb = NULL, *ss[300];
	struct repo_writer *w;
	struct repo_totals t;
	struct repo *r;
	char id[65], names[300][16];
	size_t half;
	int rc;

	gen(&a, 9u << 20, 71, 0);
	gen(&b, 9u << 20, 72, 0);
	open_repo(&r, dir, 1, NULL);
	repo_writer_new(r, &w, &err);
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
		gen(&s[i], 100 + 37 * (size_t)i, 1000 + (uint64_t)i, 0);
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
	e[0] = (struct ent){ "a", MANIFEST_FILE, &a, NULL, REPO_CHUNK_GENERAL, NULL };
	e[1] = (struct ent){ "b", MANIFEST_FILE, &b, NULL, REPO_CHUNK_GENERAL, NULL };
	if (rc == 0)
		rc = stream_attach(w, "a", sa, NULL);
	if (rc == 0)
		rc = stream_attach(w, "b", sb, NULL);
	for (int i = 0; rc == 0 && i < 300; i++) {
		snprintf(names[i], sizeof(names[i]), "s%03d", i);
		e[2 + i] = (struct ent){ names[i], MANIFEST_FILE, &s[i], NULL,
					 REPO_CHUNK_GENERAL, NULL };
		rc = stream_attach(w, names[i], ss[i], NULL);
	}
	if (rc == 0)
		rc = repo_writer_commit(w, NULL, id, &t, &err);
	is_int(rc, 0, "attached and committed %s", repo_writer_error(w));
	ok(t.chunks > 2 * (WRITER_REFS_SPILL / 36),
	   "both chunk lists spilled (%llu chunks)",
	   (unsigned long long)t.chunks);
	repo_writer_free(w);
	is_int(verify(r, id, e, 302), 0, "every stream reads back in order");
	repo_free(r);
	for (int i = 0; i < 300; i++)
		buf_release(&s[i]);
	buf_release(&a);
	buf_release(&b);
}

static void test_file_chunks(void)
{
	const char *dir = path_of("streams");
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

	open_repo(&r, dir, 1, "pw");
	/* the chunks of b/rows in the latest snapshot */
	repo_snapshot_resolve(r, "latest", id, &err);
	repo_iter_new(r, id, &it, &err);
	while (repo_iter_next(it, &me, &err) == 1 && strcmp(me->path, "b/rows"))
		;
	rc = repo_iter_chunks(it, &mc, &n, &err);
	is_int(rc, 0, "chunk refs of b/rows");
	refs = calloc(n ? n : 1, sizeof(*refs));
	for (size_t i = 0; rc == 0 && i < n; i++) {
		memcpy(refs[i].id, mc[i].id, 32);
		refs[i].len = mc[i].len;
	}
	ok(n > 100, "%zu chunks", n);
	repo_iter_free(it);
	gen(&data, 3u << 20, 61, 1);	/* what test_streams stored there */

	repo_writer_new(r, &w, &err);
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
	rc = repo_writer_commit(w, NULL, id, &t, &err);
	is_int(rc, 0, "commit %s", (char *)err.data);
	/* only the manifest and the record are new */
	ok(t.bytes_read == data.len && t.bytes_added < data.len / 20,
	   "no data stored again (%llu read, %llu added)",
	   (unsigned long long)t.bytes_read, (unsigned long long)t.bytes_added);
	repo_writer_free(w);
	repo_iter_new(r, id, &it, &err);
	rc = repo_iter_next(it, &me, &err);
	ok(rc == 1 && !strcmp(me->path, "a") && me->nattrs == 1 &&
	   me->size == data.len, "entry a: size and attribute (%s, %llu)",
	   rc == 1 ? me->path : "", rc == 1 ? (unsigned long long)me->size : 0);
	buf_reset(&got);
	if (rc == 1)
		repo_iter_read(it, sink_buf, &got, &err);
	ok(got.len == data.len && !memcmp(got.data, data.data, got.len),
	   "reads back the original bytes");
	rc = repo_iter_next(it, &me, &err);
	ok(rc == 1 && !strcmp(me->path, "b") && me->size == 0,
	   "an empty entry of no chunks");
	repo_iter_free(it);
	repo_free(r);
	free(refs);
	buf_release(&got);
	buf_release(&data);
}

/* ---- crash leftovers ---------------------------------------------------- */

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
	const char *dir = path_of("small");
	struct buf data = BUF_INIT;
	struct ent e[] = {
		{ "again", MANIFEST_FILE, &data, NULL, REPO_CHUNK_GENERAL,
		  NULL },
	};
	struct pick k = { 0 };
	struct repo *r;
	char id[65];
	FILE *f;

	gen(&data, 300000, 41, 1);
	open_repo(&r, dir, 1, NULL);
	is_int(snapshot(r, e, 1, id, NULL, NULL), 0, "recovery: snapshot");
	/* as if the process died between renaming a pack and indexing it */
	k.r = r;
	is_int(index_pack_foreach(r->ix, data_pack, &k, NULL), 1,
	       "found a pack of data blobs");
	index_begin(r->ix, NULL);
	index_pack_delete(r->ix, k.p.pid, NULL, NULL);
	index_commit(r->ix, NULL);
	is_int(index_pack_exists(r->ix, k.p.name), 0, "a pack lost its rows");
	repo_free(r);
	f = fopen(path_of("small/tmp/0123.pack"), "w");
	if (f)
		fclose(f);

	is_int(open_repo(&r, dir, 1, NULL), 0, "reopen for writing");
	is_int(count_files(path_of("small/tmp")), 0, "tmp/ leftovers deleted");
	is_int(index_pack_exists(r->ix, k.p.name), 1,
	       "the unindexed pack is imported from its trailer");
	is_int(verify(r, id, e, 1), 0, "the snapshot reads back");
	repo_free(r);
	buf_release(&data);
}

/* ---- forget, prune, repack ---------------------------------------------------- */

struct pr_report {
	int kept, forgotten;
};

static void pr_cb(void *ctx, const struct repo_snapinfo *s, int keep,
		  const char *reason)
{
	struct pr_report *p = ctx;

	if (keep)
		p->kept++;
	else
		p->forgotten++;
}

static void test_prune(void)
{
	const char *dir = path_of("prune");
	struct buf d[20];
	struct ent all[20], some[4];
	char names[20][16], id1[65], id2[65];
	struct policy pol = { .last = 1 };
	struct pr_report rep = { 0, 0 };
	struct repo_prune_report rp = { pr_cb, &rep };
	struct repo_prune_result res;
	struct repo_stats s0, s1;
	struct repo *r;

	for (int i = 0; i < 20; i++) {
		buf_init(&d[i], 0);
		gen(&d[i], 40000, 100 + (uint64_t)i, 0);
		snprintf(names[i], sizeof(names[i]), "f%02d", i);
		all[i] = (struct ent){ names[i], MANIFEST_FILE, &d[i], NULL,
				       REPO_CHUNK_GENERAL, NULL };
		/* the kept ones share packs with dead ones: repack; the
		 * packs of f10..f19 hold nothing live: delete */
		if (i < 10 && i % 3 == 0)
			some[i / 3] = all[i];
	}
	repo_init(dir, 0, NULL, 0, &err);
	small_config(dir, 256u << 10);
	open_repo(&r, dir, 1, NULL);
	is_int(snapshot(r, all, 20, id1, NULL, NULL), 0, "prune: snapshot 1");
	is_int(snapshot(r, all, 10, id2, NULL, NULL), 0, "prune: snapshot 2");
	is_int(snapshot(r, some, 4, id2, NULL, NULL), 0, "prune: snapshot 3");
	repo_stats(r, &s0, &err);

	is_int(repo_prune(r, &pol, 1, &rp, &res, &err), 0, "dry run");
	ok(rep.kept == 1 && rep.forgotten == 2, "policy last 1: one kept,"
	   " two forgotten, all reported");
	ok(res.forgotten == 2 && (res.packs_deleted || res.packs_repacked) &&
	   res.bytes_freed > 0, "dry run reports what it would free");
	repo_stats(r, &s1, &err);
	ok(s1.snapshots == 3 && s1.packs == s0.packs &&
	   s1.stored_bytes == s0.stored_bytes, "dry run changes nothing");

	is_int(repo_prune(r, &pol, 0, NULL, &res, &err), 0, "prune");
	ok(res.forgotten == 2 && res.kept == 1, "two forgotten, one kept");
	ok(res.packs_deleted > 0, "dead packs deleted (%llu)",
	   (unsigned long long)res.packs_deleted);
	ok(res.packs_repacked > 0, "mostly-dead packs repacked (%llu)",
	   (unsigned long long)res.packs_repacked);
	repo_stats(r, &s1, &err);
	ok(s1.snapshots == 1 && s1.stored_bytes < s0.stored_bytes / 2,
	   "space reclaimed (%llu -> %llu bytes)",
	   (unsigned long long)s0.stored_bytes,
	   (unsigned long long)s1.stored_bytes);
	ok(res.bytes_freed > 0 && res.bytes_freed <= s0.stored_bytes,
	   "bytes_freed is plausible (%llu)",
	   (unsigned long long)res.bytes_freed);
	is_int(count_files(path_of("prune/packs")), (int)s1.packs,
	       "pack files on disk match the index");
	is_int(verify(r, id2, some, 4), 0, "the kept snapshot reads back");

	is_int(repo_prune(r, &pol, 0, NULL, &res, &err), 0, "prune again");
	ok(res.packs_deleted == 0 && res.packs_repacked == 0,
	   "nothing left to do (the tombstone went with the snapshot blob"
	   " it cancels): %llu deleted, %llu repacked",
	   (unsigned long long)res.packs_deleted,
	   (unsigned long long)res.packs_repacked);
	repo_free(r);
	open_repo(&r, dir, 0, NULL);
	{
		struct repo_check_result cr;

		is_int(repo_check(r, &(struct repo_check_opts){ 1, 0, NULL,
				  NULL }, &cr, &err), 0,
		       "check --read-data is clean after prune");
	}
	repo_free(r);
	for (int i = 0; i < 20; i++)
		buf_release(&d[i]);
}

/* ---- check --------------------------------------------------------------------- */

struct problems {
	int blob, path_hit, path, snapshot;
	char want[80];
};

static void problem_cb(void *ctx, const char *kind, const char *what,
		       const char *detail)
{
	struct problems *p = ctx;

	if (!strcmp(kind, "blob"))
		p->blob++;
	if (!strcmp(kind, "snapshot"))
		p->snapshot++;
	if (!strcmp(kind, "path")) {
		p->path++;
		if (strstr(what, p->want))
			p->path_hit++;
	}
}

/* Flips one byte in the middle of the first chunk of path. */
static int flip(struct repo *r, const char *id, const char *path)
{
	const struct manifest_entry *me;
	const struct manifest_chunk *c;
	struct index_loc loc;
	struct repo_iter *it;
	struct buf pack = BUF_INIT;
	size_t n;
	uint8_t b;
	int fd, rc = -1;

	if (repo_iter_new(r, id, &it, &err) < 0)
		return -1;
	while (repo_iter_next(it, &me, &err) == 1) {
		if (strcmp(me->path, path))
			continue;
		if (repo_iter_chunks(it, &c, &n, &err) == 0 && n &&
		    index_chunk_get(r->ix, c[0].id, &loc) == 1)
			rc = 0;
		break;
	}
	repo_iter_free(it);
	if (rc < 0 || repo_pack_path(r, loc.pack, &pack, NULL) < 0)
		return -1;
	fd = open((char *)pack.data, O_RDWR);
	buf_release(&pack);
	if (fd < 0)
		return -1;
	if (pread(fd, &b, 1, (off_t)(loc.offset + loc.length / 2)) != 1)
		rc = -1;
	b ^= 0x10;
	if (pwrite(fd, &b, 1, (off_t)(loc.offset + loc.length / 2)) != 1)
		rc = -1;
	close(fd);
	return rc;
}

static int sink_null(void *ctx, const void *p, size_t n)
{
	return 0;
}

static void test_check(void)
{
	const char *dir = path_of("check");
	struct buf a = BUF_INIT, b = BUF_INIT;
	struct ent e[] = {
		{ "docs", MANIFEST_DIR, NULL, NULL, 0, NULL },
		{ "docs/a.txt", MANIFEST_FILE, &a, NULL, REPO_CHUNK_GENERAL,
		  NULL },
		{ "docs/b.txt", MANIFEST_FILE, &b, NULL, REPO_CHUNK_GENERAL,
		  NULL },
	};
	struct problems p = { 0, 0, 0, 0, "" };
	struct repo_check_opts co = { 0, 0, problem_cb, &p };
	struct repo_check_result cr;
	const struct manifest_entry *me;
	struct repo_iter *it;
	struct repo *r;
	char id[65];
	int rc;

	gen(&a, 200000, 21, 1);
	gen(&b, 200000, 22, 1);
	repo_init(dir, 1, "pw", 2, &err);
	small_config(dir, 1u << 20);
	open_repo(&r, dir, 1, "pw");
	snapshot(r, e, 3, id, NULL, NULL);
	repo_free(r);

	open_repo(&r, dir, 0, "pw");
	is_int(repo_check(r, &co, &cr, &err), 0, "check: clean repository");
	ok(cr.packs_checked > 0 && cr.blobs_checked > 3 && cr.problems == 0,
	   "check counted packs and blobs");
	is_int(flip(r, id, "docs/b.txt"), 0, "flipped a byte of docs/b.txt");
	snprintf(p.want, sizeof(p.want), "%s:docs/b.txt", id);
	rc = repo_check(r, &co, &cr, &err);
	is_int(rc, -EBADMSG, "check finds the damage");
	ok(p.blob == 1 && p.snapshot >= 1, "it names the blob and the"
	   " snapshot (%d blob, %d snapshot)", p.blob, p.snapshot);
	ok(p.path_hit == 1 && p.path == 1, "and exactly the damaged path");
	memset(&p, 0, sizeof(p));
	co.read_data = 1;
	is_int(repo_check(r, &co, &cr, &err), -EBADMSG,
	       "check --read-data finds it too");

	repo_iter_new(r, id, &it, &err);
	while (repo_iter_next(it, &me, &err) == 1 && strcmp(me->path,
							     "docs/b.txt"))
		;
	buf_reset(&err);
	is_int(repo_iter_read(it, sink_null, NULL, &err), -EBADMSG,
	       "reading the damaged file fails");
	ok(strstr((char *)err.data, "pack") != NULL,
	   "naming the pack (%s)", (char *)err.data);
	repo_iter_free(it);
	repo_free(r);
	buf_release(&a);
	buf_release(&b);
}

/* ---- rebuild-index ---------------------------------------------------------------- */

struct snaplist {
	char ids[8][65];
	int64_t times[8];
	int n;
};

static int list_cb(const struct repo_snapinfo *s, void *ctx)
{
	struct snaplist *l = ctx;

	if (l->n < 8) {
		memcpy(l->ids[l->n], s->id, 65);
		l->times[l->n++] = s->time;
	}
	return 0;
}

static void test_rebuild(void)
{
	const char *dir = path_of("rebuild");
	struct buf a = BUF_INIT, b = BUF_INIT;
	struct ent ea[] = { { "a", MANIFEST_FILE, &a, NULL,
			      REPO_CHUNK_GENERAL, NULL } };
	struct ent eb[] = { { "a", MANIFEST_FILE, &a, NULL,
			      REPO_CHUNK_GENERAL, NULL },
			    { "b", MANIFEST_FILE, &b, NULL, REPO_CHUNK_ROWS,
			      NULL } };
	struct snaplist before = { .n = 0 }, after = { .n = 0 };
	struct repo_check_result cr;
	struct repo *r;
	char ida[65], idb[65], idc[65];

	gen(&a, 300000, 31, 0);
	gen(&b, 100000, 32, 1);
	repo_init(dir, 1, "pw", 2, &err);
	small_config(dir, 128u << 10);
	open_repo(&r, dir, 1, "pw");
	snapshot(r, ea, 1, ida, NULL, "t1");
	snapshot(r, eb, 2, idb, NULL, NULL);
	snapshot(r, ea, 1, idc, NULL, NULL);
	is_int(repo_snapshot_forget(r, idc, &err), 0, "forget one snapshot");
	is_int(repo_snapshot_info(r, idc, &(struct repo_snapinfo){ 0 }, &err),
	       -ENOENT, "it is gone");
	repo_snapshot_list(r, NULL, list_cb, &before, &err);
	repo_free(r);

	unlink(path_of("rebuild/index.db"));
	unlink(path_of("rebuild/index.db-wal"));
	unlink(path_of("rebuild/index.db-shm"));
	is_int(open_repo(&r, dir, 1, "pw"), -ENOENT,
	       "a missing index.db is refused");
	ok(strstr((char *)err.data, "--rebuild-index") != NULL,
	   "the error points to --rebuild-index: %s", (char *)err.data);
	is_int(open_repo(&r, dir, 1 | 2, "pw"), 0,
	       "open without index.db to rebuild it");
	is_int(nsnapshots(r), 0, "no snapshots before the rebuild");
	is_int(repo_rebuild_index(r, &cr, &err), 0, "rebuild-index");
	ok(cr.packs_checked > 0 && cr.problems == 0, "every pack read");
	repo_snapshot_list(r, NULL, list_cb, &after, &err);
	/* snapshots of the same second may list in another order */
	ok(after.n == 2 && before.n == 2 &&
	   ((!strcmp(after.ids[0], before.ids[0]) &&
	     !strcmp(after.ids[1], before.ids[1])) ||
	    (!strcmp(after.ids[0], before.ids[1]) &&
	     !strcmp(after.ids[1], before.ids[0]))) &&
	   after.times[0] <= after.times[1],
	   "the same snapshots come back; the forgotten one stays forgotten");
	is_int(verify(r, idb, eb, 2), 0, "and read back");
	{
		struct repo_snapinfo info;

		repo_snapshot_info(r, ida, &info, &err);
		ok(info.ntags == 1 && !strcmp(info.tags[0], "t1") &&
		   !strcmp(info.hostname, "testhost"),
		   "with their metadata");
		repo_snapinfo_release(&info);
	}
	repo_free(r);
	open_repo(&r, dir, 0, "pw");
	is_int(repo_check(r, &(struct repo_check_opts){ 1, 0, NULL, NULL },
			  &cr, &err), 0, "check is clean after the rebuild");
	repo_free(r);
	buf_release(&a);
	buf_release(&b);
}

/* ---- lock ------------------------------------------------------------------------- */

static void test_lock(void)
{
	const char *dir = path_of("plain");
	int ready[2], go[2];
	struct repo *r, *rd;
	char c, want[64];
	pid_t pid;
	int st;

	if (pipe(ready) < 0 || pipe(go) < 0)
		return;
	pid = fork();
	if (pid == 0) {
		struct repo_open_opts o = { .write = 1, .command = "holder cmd" };

		if (repo_open(&r, dir, &o, NULL) < 0)
			_exit(1);
		if (write(ready[1], "r", 1) != 1 || read(go[0], &c, 1) < 0)
			_exit(2);
		_exit(0);
	}
	if (read(ready[0], &c, 1) != 1) {
		ok(0, "lock holder started");
		return;
	}
	is_int(open_repo(&r, dir, 1, NULL), -EBUSY, "writer lock busy: -EBUSY");
	snprintf(want, sizeof(want), "pid %d ", (int)pid);
	ok(strstr((char *)err.data, want) && strstr((char *)err.data,
						    "holder cmd") &&
	   strstr((char *)err.data, "since"),
	   "the error names the holder (%s)", (char *)err.data);
	is_int(open_repo(&rd, dir, 0, NULL), 0, "readers are not blocked");
	repo_free(rd);
	if (write(go[1], "g", 1) != 1)
		diag("pipe");
	waitpid(pid, &st, 0);
	is_int(open_repo(&r, dir, 1, NULL), 0, "free after the holder exits");
	repo_free(r);

	/* a holder killed with SIGKILL does not block anyone */
	pid = fork();
	if (pid == 0) {
		struct repo_open_opts o = { .write = 1, .command = "victim" };

		if (repo_open(&r, dir, &o, NULL) < 0)
			_exit(1);
		if (write(ready[1], "r", 1) != 1)
			_exit(2);
		pause();
		_exit(0);
	}
	if (read(ready[0], &c, 1) == 1)
		kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	is_int(open_repo(&r, dir, 1, NULL), 0, "a killed holder's lock is"
	       " taken over");
	repo_free(r);
	close(ready[0]);
	close(ready[1]);
	close(go[0]);
	close(go[1]);
}

/* rebuild-index swaps index.db only once readers are gone */
static void test_readers_lock(void)
{
	const char *dir = path_of("rebuild");
	struct repo_check_result cr;
	struct timespec a, b;
	int ready[2];
	struct repo *r;
	char c;
	pid_t pid;
	int st;

	if (pipe(ready) < 0)
		return;
	pid = fork();
	if (pid == 0) {
		struct repo_open_opts o = { .command = "reader", .pass = pass_cb,
					    .pass_ctx = "pw" };

		if (repo_open(&r, dir, &o, NULL) < 0)
			_exit(1);
		if (write(ready[1], "r", 1) != 1)
			_exit(2);
		usleep(1000 * 1000);
		repo_free(r);
		_exit(0);
	}
	if (read(ready[0], &c, 1) != 1) {
		ok(0, "reader started");
		return;
	}
	open_repo(&r, dir, 1, "pw");
	clock_gettime(CLOCK_MONOTONIC, &a);
	is_int(repo_rebuild_index(r, &cr, &err), 0,
	       "rebuild-index while a reader is open");
	clock_gettime(CLOCK_MONOTONIC, &b);
	ok((b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000
	   >= 500, "it waited for the reader to finish");
	is_int(nsnapshots(r), 2, "and still lists the snapshots");
	repo_free(r);
	waitpid(pid, &st, 0);
	close(ready[0]);
	close(ready[1]);
}

int main(void)
{
	if (!mkdtemp(base)) {
		diag("mkdtemp failed");
		return 1;
	}
	/* the moderate default costs 0.4 s per open; keys are keys */
	repo_kdf_limits(crypto_pwhash_OPSLIMIT_MIN, crypto_pwhash_MEMLIMIT_MIN);
	test_keys();
	test_snapshots("plain", NULL);
	test_snapshots("enc", "new pass");
	test_encrypted_at_rest();
	test_order();
	test_abandon();
	test_recovery();
	test_many_chunks();
	test_streams();
	test_streams_spill();
	test_file_chunks();
	test_prune();
	test_check();
	test_rebuild();
	test_readers_lock();
	test_lock();
	if (!getenv("VAULT_TEST_KEEP") &&
	    nftw(base, rm_one, 16, FTW_DEPTH | FTW_PHYS) < 0)
		diag("cleanup of %s failed", base);
	buf_release(&err);
	return done_testing();
}

/*
 * storefix: the fixture of the store's unit tests (storefix.h).  What
 * every one of them needs to set up repositories, fill them and read
 * them back lives here once; what only one test needs stays in it.
 */
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include <sys/stat.h>

#include "config.h"
#include "repo-internal.h"
#include "storefix.h"
#include "../tap.h"

struct buf storefix_err = BUF_INIT;

static char storefix_base[64];

static const struct config_chunker storefix_general = { 4096, 16384,
							65536 };
static const struct config_chunker storefix_rows = { 1024, 4096, 16384 };
static const struct config_chunker storefix_tiny_chunks = { 64, 256, 1024 };

int storefix_begin(const char *name)
{
	snprintf(storefix_base, sizeof(storefix_base),
		 "/tmp/vault-test-%s-XXXXXX", name);
	if (!mkdtemp(storefix_base)) {
		diag("mkdtemp failed");
		return -1;
	}
	/* the default costs 0.1 s and 64 MiB per open; keys are keys */
	repo_kdf_limits(crypto_pwhash_OPSLIMIT_MIN, crypto_pwhash_MEMLIMIT_MIN);
	return 0;
}

static int storefix_rm_one(const char *path, const struct stat *st,
			   int flag, struct FTW *f)
{
	return remove(path);
}

void storefix_end(void)
{
	if (!getenv("VAULT_TEST_KEEP") &&
	    nftw(storefix_base, storefix_rm_one, 16,
		 FTW_DEPTH | FTW_PHYS) < 0)
		diag("cleanup of %s failed", storefix_base);
	buf_release(&storefix_err);
}

const char *storefix_path(const char *name)
{
	static char p[8][256];
	static int k;

	k = (k + 1) % 8;
	snprintf(p[k], sizeof(p[k]), "%s/%s", storefix_base, name);
	return p[k];
}

int storefix_pass(void *ctx, const char *why, struct buf *pass)
{
	return ctx ? buf_addstr(pass, ctx) : -ENOKEY;
}

int storefix_open(struct repo **r, const char *dir, int write,
		  const char *pass)
{
	struct repo_open_opts o = { .write = write & 1,
				    .command = "test-store",
				    .pass = storefix_pass,
				    .pass_ctx = (void *)pass,
				    .rebuild = !!(write & 2) };

	buf_reset(&storefix_err);
	return repo_open(r, dir, &o, &storefix_err);
}

/* Rewrites dir's config with these chunk sizes and pack target. */
static int storefix_rewrite(const char *dir,
			    const struct config_chunker *general,
			    uint64_t pack_target)
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
		c.general = *general;
		c.rows = storefix_rows;
		c.pack_target = pack_target;
		buf_reset(&text);
		rc = config_encode(&text, &c);
	}
	if (rc == 0)
		rc = repo_write_atomic(path, text.data, text.len, NULL, NULL);
	buf_release(&text);
	return rc;
}

int storefix_config(const char *dir, uint64_t pack_target)
{
	return storefix_rewrite(dir, &storefix_general, pack_target);
}

int storefix_tiny(const char *dir)
{
	int rc = repo_init(dir, 0, NULL, 0, &storefix_err);

	return rc < 0 ? rc
		: storefix_rewrite(dir, &storefix_tiny_chunks, 4u << 20);
}

void storefix_gen(struct buf *b, size_t n, uint64_t seed, int text)
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

/* Writes one file entry in odd, growing pieces: chunk boundaries
 * never align with them. */
static int storefix_write_file(struct repo_writer *w,
			       const struct storefix_ent *e,
			       const struct repo_entry_meta *m)
{
	size_t off = 0, step = 777;
	int rc = repo_writer_file_begin(w, e->path, m, e->how);

	while (rc == 0 && off < e->data->len) {
		size_t k = e->data->len - off < step
			   ? e->data->len - off : step;

		rc = repo_writer_file_write(w, e->data->data + off, k);
		off += k;
		step = step * 3 + 1;
	}
	if (rc == 0 && e->attr)
		rc = repo_writer_file_attr(w, "note", e->attr);
	if (rc == 0)
		rc = repo_writer_file_end(w);
	return rc;
}

int storefix_write_ents(struct repo_writer *w, const struct storefix_ent *e,
			size_t n)
{
	struct repo_entry_meta m = { 0640, 1700000000000000000ll };
	int rc = 0;

	for (size_t i = 0; rc == 0 && i < n; i++) {
		if (e[i].kind == MANIFEST_DIR)
			rc = repo_writer_dir(w, e[i].path, &m);
		else if (e[i].kind == MANIFEST_SYMLINK)
			rc = repo_writer_symlink(w, e[i].path, e[i].target,
						 &m);
		else
			rc = storefix_write_file(w, &e[i], &m);
	}
	return rc;
}

int storefix_snapshot(struct repo *r, const struct storefix_ent *e, size_t n,
		      char id[65], struct repo_totals *t, const char *tag)
{
	const char *tags[1] = { tag };
	struct repo_commit_opts co = { 0, "testhost", "test", tags,
				       tag ? 1 : 0, "{\"k\":1}" };
	struct repo_writer *w;
	int rc;

	buf_reset(&storefix_err);
	rc = repo_writer_new(r, &w, &storefix_err);
	if (rc < 0)
		return rc;
	rc = storefix_write_ents(w, e, n);
	if (rc == 0)
		rc = repo_writer_commit(w, &co, id, t, &storefix_err);
	else
		diag("writer: %s", repo_writer_error(w));
	repo_writer_free(w);
	return rc;
}

int storefix_sink_buf(void *ctx, const void *p, size_t n)
{
	return buf_add(ctx, p, n);
}

/* Mismatches between the file entry me (current in it) and e. */
static int storefix_verify_file(struct repo_iter *it,
				const struct manifest_entry *me,
				const struct storefix_ent *e, struct buf *got)
{
	int bad = 0, rc;

	buf_reset(got);
	rc = repo_iter_read(it, storefix_sink_buf, got, &storefix_err);
	if (rc < 0 || got->len != e->data->len ||
	    memcmp(got->data, e->data->data, got->len))
		bad++;
	if (e->attr && (me->nattrs != 1 ||
			strcmp(me->attrs[0].value, e->attr)))
		bad++;
	return bad;
}

int storefix_verify(struct repo *r, const char *id,
		    const struct storefix_ent *e, size_t n)
{
	const struct manifest_entry *me;
	struct repo_iter *it;
	struct buf got = BUF_INIT;
	size_t i = 0;
	int bad = 0, rc;

	buf_reset(&storefix_err);
	if (repo_iter_new(r, id, &it, &storefix_err) < 0)
		return -1;
	while ((rc = repo_iter_next(it, &me, &storefix_err)) == 1) {
		if (i >= n || strcmp(me->path, e[i].path) ||
		    me->kind != e[i].kind) {
			bad++;
			break;
		}
		if (me->kind == MANIFEST_SYMLINK &&
		    strcmp(me->target, e[i].target))
			bad++;
		if (me->kind == MANIFEST_FILE)
			bad += storefix_verify_file(it, me, &e[i], &got);
		i++;
	}
	if (rc < 0 || i != n)
		bad++;
	repo_iter_free(it);
	buf_release(&got);
	return bad;
}

static int storefix_count_cb(const struct repo_snapinfo *s, void *ctx)
{
	(*(int *)ctx)++;
	return 0;
}

int storefix_nsnapshots(struct repo *r)
{
	int n = 0;

	repo_snapshot_list(r, NULL, storefix_count_cb, &n, NULL);
	return n;
}

int storefix_count_files(const char *dir)
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

/*
 * repo-internal: the helpers every file of the store shares (declared in
 * repo-internal.h): error messages, chunk ids, paths, atomic writes,
 * directory fsync, the scan of packs/ on disk, sorted sets of ids, and
 * the release of a struct repo_snapinfo.
 *
 * They sit below the index, the reader and repo.c, and use nothing of
 * the store but struct repo's fields, so any file may call them without
 * tying itself to opening a repository.  repo_snapinfo_release is here,
 * not in repo.c, because the index fills that struct.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sodium.h>

#include "repo-internal.h"

int repo_errf(struct buf *err, int rc, const char *fmt, ...)
{
	va_list ap;

	if (err) {
		buf_reset(err);
		va_start(ap, fmt);
		buf_vaddf(err, fmt, ap);
		va_end(ap);
	}
	return rc;
}

const uint8_t *repo_enc_key(const struct repo *r)
{
	return r->cfg.encrypted ? r->keys.enc_key : NULL;
}

void repo_chunk_id(const struct repo *r, const void *p, size_t n,
		   uint8_t id[32])
{
	crypto_generichash(id, 32, p, n, r->keys.id_key,
			   sizeof(r->keys.id_key));
}

int repo_join(const struct repo *r, const char *rel, struct buf *out)
{
	buf_reset(out);
	return buf_addf(out, "%s/%s", r->path, rel);
}

int repo_pack_path(const struct repo *r, const uint8_t name[32],
		   struct buf *out, struct buf *dir)
{
	char hex[65];
	int rc;

	hex_encode(hex, name, 32);
	if (dir) {
		buf_reset(dir);
		rc = buf_addf(dir, "%s/packs/%.2s", r->path, hex);
		if (rc < 0)
			return rc;
	}
	buf_reset(out);
	return buf_addf(out, "%s/packs/%.2s/%s.pack", r->path, hex, hex);
}

int repo_fsync_dir(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc = 0;

	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0)
		rc = -errno;
	close(fd);
	return rc;
}

static int repo_internal_write_all(int fd, const void *p, size_t n)
{
	const uint8_t *q = p;
	ssize_t w;

	while (n > 0) {
		w = write(fd, q, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		q += w;
		n -= (size_t)w;
	}
	return 0;
}

int repo_write_atomic(const char *path, const void *p, size_t n,
		      int *replaced, struct buf *err)
{
	struct buf tmp = BUF_INIT;
	char *slash;
	int fd, rc;

	if (replaced)
		*replaced = 0;
	rc = buf_addf(&tmp, "%s.tmp", path);
	if (rc < 0)
		return rc;
	fd = open((char *)tmp.data, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
		  0600);
	if (fd < 0) {
		rc = repo_errf(err, -errno, "cannot create %s: %s",
			       (char *)tmp.data, strerror(errno));
		buf_release(&tmp);
		return rc;
	}
	rc = repo_internal_write_all(fd, p, n);
	if (rc == 0 && fsync(fd) < 0)
		rc = -errno;
	if (close(fd) < 0 && rc == 0)
		rc = -errno;
	if (rc == 0 && rename((char *)tmp.data, path) < 0)
		rc = -errno;
	if (rc < 0) {
		unlink((char *)tmp.data);
		buf_release(&tmp);
		return repo_errf(err, rc, "cannot write %s: %s", path,
				 strerror(-rc));
	}
	/* the directory entry must reach the disk too */
	buf_reset(&tmp);
	rc = buf_addstr(&tmp, path);
	slash = rc == 0 ? strrchr((char *)tmp.data, '/') : NULL;
	if (slash)
		*slash = '\0';
	rc = repo_fsync_dir(slash ? (char *)tmp.data : ".");
	buf_release(&tmp);
	if (rc < 0 && replaced)
		*replaced = 1;
	if (rc < 0)
		return repo_errf(err, rc, "%s was replaced, but its directory"
				 " could not be synced (%s): a crash may still"
				 " bring the old one back", path,
				 strerror(-rc));
	return 0;
}

int repo_need_writer(const struct repo *r, const char *what, struct buf *err)
{
	if (r->wlock)
		return 0;
	return repo_errf(err, -EINVAL, "%s needs the repository opened for"
			 " writing (writer lock)", what);
}

int repo_readers_wait(const struct repo *r)
{
	return r->lock_wait > REPO_READERS_WAIT_MIN ? r->lock_wait
						    : REPO_READERS_WAIT_MIN;
}

/* ---- pack files on disk ------------------------------------------ */

/* The name of "<64 hex>.pack", or -EINVAL. */
static int repo_internal_pack_name(const char *file, uint8_t name[32])
{
	char hex[65];

	if (strlen(file) != 69 || strcmp(file + 64, ".pack"))
		return -EINVAL;
	memcpy(hex, file, 64);
	hex[64] = '\0';
	return hex_decode(name, 32, hex);
}

static int repo_internal_scan_dir(const char *dir,
				  int (*cb)(void *ctx, const uint8_t *name),
				  void *ctx)
{
	struct dirent *de;
	uint8_t name[32];
	DIR *d = opendir(dir);
	int rc = 0;

	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while (rc == 0 && (de = readdir(d)))
		if (repo_internal_pack_name(de->d_name, name) == 0)
			rc = cb(ctx, name);
	closedir(d);
	return rc;
}

int repo_foreach_pack_file(struct repo *r,
			   int (*cb)(void *ctx, const uint8_t *name),
			   void *ctx)
{
	struct buf p = BUF_INIT;
	int rc = 0;

	for (int i = 0; rc == 0 && i < 256; i++) {
		rc = repo_join(r, "packs/", &p);
		if (rc == 0)
			rc = buf_addf(&p, "%02x", i);
		if (rc == 0)
			rc = repo_internal_scan_dir((char *)p.data, cb, ctx);
	}
	buf_release(&p);
	return rc;
}

/* ---- sets of ids --------------------------------------------------- */

static int repo_internal_cmp_id(const void *a, const void *b)
{
	return memcmp(a, b, 32);
}

void repo_ids_sort(struct buf *ids)
{
	size_t n = ids->len / 32, k = 0;

	qsort(ids->data, n, 32, repo_internal_cmp_id);
	for (size_t i = 0; i < n; i++)
		if (!k || memcmp(ids->data + 32 * (k - 1), ids->data + 32 * i,
				 32))
			memmove(ids->data + 32 * k++, ids->data + 32 * i, 32);
	buf_setlen(ids, 32 * k);
}

int repo_ids_has(const struct buf *ids, const uint8_t *id)
{
	return bsearch(id, ids->data, ids->len / 32, 32,
		       repo_internal_cmp_id) != NULL;
}

/* ---- snapshot info ------------------------------------------------ */

void repo_snapinfo_release(struct repo_snapinfo *s)
{
	if (!s)
		return;
	free(s->hostname);
	free(s->source);
	for (size_t i = 0; i < s->ntags; i++)
		free(s->tags[i]);
	free(s->tags);
	free(s->meta_json);
	memset(s, 0, sizeof(*s));
}

int repo_snapinfo_is_safety(const struct repo_snapinfo *s)
{
	for (size_t i = 0; i < s->ntags; i++)
		if (s->tags[i] && !strcmp(s->tags[i], REPO_TAG_SAFETY))
			return 1;
	return 0;
}

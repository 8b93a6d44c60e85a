/*
 * reader: blobs out of packs (verified), pack trailers, snapshot records
 * and manifest streams, through a small cache of open pack descriptors.
 *
 * Everything here works on a given index connection and never resolves
 * snapshot names, so repo.c (opening, crash repair) and check/prune can
 * use it; the repo_iter_* snapshot reader built on it is iter.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "blob.h"
#include "reader.h"
#include "repo-internal.h"

#define READER_FDS		16
#define READER_MAX_STORED	(BLOB_MAX_RAW + (1u << 20))

/* ---- cache of open pack descriptors ------------------------------ */

struct reader_fd {
	uint8_t name[32];
	int fd;
	unsigned refs;
	uint64_t used;
};

struct reader_cache {
	pthread_mutex_t mu;
	struct reader_fd e[READER_FDS];
	uint64_t tick;
};

int reader_cache_new(struct reader_cache **out)
{
	struct reader_cache *c = calloc(1, sizeof(*c));

	*out = NULL;
	if (!c)
		return -ENOMEM;
	pthread_mutex_init(&c->mu, NULL);
	for (int i = 0; i < READER_FDS; i++)
		c->e[i].fd = -1;
	*out = c;
	return 0;
}

void reader_cache_flush(struct reader_cache *c)
{
	if (!c)
		return;
	pthread_mutex_lock(&c->mu);
	for (int i = 0; i < READER_FDS; i++) {
		if (c->e[i].fd >= 0 && !c->e[i].refs) {
			close(c->e[i].fd);
			c->e[i].fd = -1;
		}
	}
	pthread_mutex_unlock(&c->mu);
}

void reader_cache_free(struct reader_cache *c)
{
	if (!c)
		return;
	for (int i = 0; i < READER_FDS; i++)
		if (c->e[i].fd >= 0)
			close(c->e[i].fd);
	pthread_mutex_destroy(&c->mu);
	free(c);
}

/* Keeps fd in a free (or least recently used idle) entry; the slot, or
 * -1 when every entry is busy and fd stays the caller's to close. */
static int reader_cache_put_new(struct reader_cache *c,
				const uint8_t name[32], int fd)
{
	int best = -1;

	for (int i = 0; i < READER_FDS; i++) {
		if (c->e[i].refs)
			continue;
		if (best < 0 || c->e[i].fd < 0 ||
		    (c->e[best].fd >= 0 && c->e[i].used < c->e[best].used))
			best = i;
	}
	if (best < 0)
		return -1;
	if (c->e[best].fd >= 0)
		close(c->e[best].fd);
	memcpy(c->e[best].name, name, 32);
	c->e[best].fd = fd;
	c->e[best].refs = 1;
	c->e[best].used = ++c->tick;
	return best;
}

/* An open descriptor for pack name (>= 0) with *slot to pass back to
 * reader_fd_put, or -errno. */
static int reader_fd_get(struct repo *r, const uint8_t name[32], int *slot,
			 struct buf *err)
{
	struct reader_cache *c = r->cache;
	struct buf path = BUF_INIT;
	int fd, rc;

	pthread_mutex_lock(&c->mu);
	for (int i = 0; i < READER_FDS; i++) {
		if (c->e[i].fd >= 0 && !memcmp(c->e[i].name, name, 32)) {
			c->e[i].refs++;
			c->e[i].used = ++c->tick;
			*slot = i;
			fd = c->e[i].fd;
			pthread_mutex_unlock(&c->mu);
			return fd;
		}
	}
	pthread_mutex_unlock(&c->mu);
	rc = repo_pack_path(r, name, &path, NULL);
	fd = rc < 0 ? rc : open((char *)path.data, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		rc = rc < 0 ? rc : -errno;
		repo_errf(err, rc == -ENOENT ? -EBADMSG : rc,
			  "pack %s: cannot open: %s", (char *)path.data,
			  strerror(-rc));
		buf_release(&path);
		return rc == -ENOENT ? -EBADMSG : rc;
	}
	buf_release(&path);
	pthread_mutex_lock(&c->mu);
	*slot = reader_cache_put_new(c, name, fd);
	pthread_mutex_unlock(&c->mu);
	return fd;
}

static void reader_fd_put(struct repo *r, int slot, int fd)
{
	struct reader_cache *c = r->cache;

	if (slot < 0) {
		close(fd);
		return;
	}
	pthread_mutex_lock(&c->mu);
	c->e[slot].refs--;
	pthread_mutex_unlock(&c->mu);
}

/* ---- blobs ------------------------------------------------------- */

static int reader_pread(int fd, uint8_t *p, size_t n, uint64_t off)
{
	ssize_t got;

	while (n > 0) {
		got = pread(fd, p, n, (off_t)off);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			return -errno;
		if (got == 0)
			return -EBADMSG;	/* truncated pack */
		p += got;
		n -= (size_t)got;
		off += (uint64_t)got;
	}
	return 0;
}

int reader_stored(struct repo *r, const struct index_loc *loc,
		  struct buf *stored, struct buf *err)
{
	char pack[65];
	int fd, slot = -1, rc;

	hex_encode(pack, loc->pack, 32);
	if (loc->length > READER_MAX_STORED)
		return repo_errf(err, -EBADMSG, "pack %s: blob at offset %llu"
				 " has an impossible length %u", pack,
				 (unsigned long long)loc->offset, loc->length);
	buf_reset(stored);
	rc = buf_grow(stored, loc->length);
	if (rc < 0)
		return rc;
	fd = reader_fd_get(r, loc->pack, &slot, err);
	if (fd < 0)
		return fd;
	rc = reader_pread(fd, stored->data, loc->length, loc->offset);
	reader_fd_put(r, slot, fd);
	if (rc < 0)
		return repo_errf(err, rc, "pack %s: cannot read %u bytes at"
				 " offset %llu: %s", pack, loc->length,
				 (unsigned long long)loc->offset,
				 rc == -EBADMSG ? "file is truncated"
				 : strerror(-rc));
	buf_setlen(stored, loc->length);
	return 0;
}

/*
 * In an encrypted repository the AEAD tag covers the id the blob was
 * stored under (formats/blob.md), so a blob that decrypts under id was
 * written as id by a key holder, who names blobs by the keyed hash of
 * their plaintext: hashing it again proves nothing new and was most of
 * a restore's CPU time.  Without encryption nothing but the hash ties
 * content to id, so it is always recomputed there; rehash forces it
 * anyway (check --read-data, as defence in depth).
 */
static int reader_load_opt(struct repo *r, const struct index_loc *loc,
			   const uint8_t id[32], struct buf *stored,
			   struct buf *plain, int rehash, struct buf *err)
{
	char pack[65], blob[65];
	uint8_t got[32];
	int rc;

	hex_encode(pack, loc->pack, 32);
	hex_encode(blob, id, 32);
	if (loc->depth)	/* a caller's mistake: chains are chain.c's */
		return repo_errf(err, -EINVAL, "pack %s: blob %s is a delta:"
				 " read it through its chain", pack, blob);
	rc = reader_stored(r, loc, stored, err);
	if (rc < 0)
		return rc;
	buf_reset(plain);
	rc = blob_decode(plain, NULL, stored->data, stored->len,
			 repo_enc_key(r), id);
	if (rc == -EBADMSG || rc == -EKEYREJECTED || rc == -ENOKEY ||
	    rc == -ENOMSG)
		return repo_errf(err, -EBADMSG, "pack %s: blob %s: %s", pack,
				 blob, rc == -EBADMSG ? "corrupt (checksum or"
				 " framing)" : rc == -ENOMSG ? "a delta, where"
				 " the index records a whole chunk"
				 : "authentication failed");
	if (rc < 0)
		return repo_errf(err, rc, "pack %s: blob %s: %s", pack, blob,
				 strerror(-rc));
	if (plain->len != loc->raw_len)
		return repo_errf(err, -EBADMSG, "pack %s: blob %s: length %zu,"
				 " expected %u", pack, blob, plain->len,
				 loc->raw_len);
	if (!rehash && repo_enc_key(r))
		return 0;
	repo_chunk_id(r, plain->data, plain->len, got);
	if (memcmp(got, id, 32))
		return repo_errf(err, -EBADMSG, "pack %s: blob %s: content"
				 " does not match its id", pack, blob);
	return 0;
}

int reader_load(struct repo *r, const struct index_loc *loc,
		const uint8_t id[32], struct buf *stored, struct buf *plain,
		struct buf *err)
{
	return reader_load_opt(r, loc, id, stored, plain, 0, err);
}

int reader_load_rehash(struct repo *r, const struct index_loc *loc,
		       const uint8_t id[32], struct buf *stored,
		       struct buf *plain, struct buf *err)
{
	return reader_load_opt(r, loc, id, stored, plain, 1, err);
}

int reader_chunk(struct repo *r, struct index *ix, const uint8_t id[32],
		 uint32_t len, struct buf *stored, struct buf *plain,
		 struct buf *err)
{
	struct index_loc loc;
	char blob[65];
	int rc;

	hex_encode(blob, id, 32);
	rc = index_chunk_get(ix, id, &loc);
	if (rc == 0)
		return repo_errf(err, -ENOENT, "chunk %s is not in the index",
				 blob);
	if (rc < 0)
		return repo_errf(err, rc, "index lookup of %s: %s%s", blob,
				 strerror(-rc), index_damage_hint(rc));
	if (len != READER_ANY_LEN && loc.raw_len != len)
		return repo_errf(err, -EBADMSG, "chunk %s: indexed length %u,"
				 " referenced as %u", blob, loc.raw_len, len);
	if (loc.depth)	/* only data chunks are ever deltas */
		return repo_errf(err, -EBADMSG, "chunk %s: indexed as a delta"
				 " where a whole chunk is expected", blob);
	return reader_load(r, &loc, id, stored, plain, err);
}

/* ---- pack trailers ----------------------------------------------- */

static int reader_trailer_fd(struct repo *r, const uint8_t name[32], int fd,
			     uint64_t size, struct pack_entry **e, size_t *n)
{
	uint8_t hdr[PACK_HEADER_SIZE], foot[PACK_FOOTER_SIZE];
	struct buf t = BUF_INIT;
	uint64_t toff;
	uint32_t tlen;
	int rc;

	if (size < PACK_HEADER_SIZE + PACK_FOOTER_SIZE)
		return -EBADMSG;
	rc = reader_pread(fd, hdr, sizeof(hdr), 0);
	if (rc == 0)
		rc = pack_header_decode(hdr, sizeof(hdr));
	if (rc == 0)
		rc = reader_pread(fd, foot, sizeof(foot),
				  size - PACK_FOOTER_SIZE);
	if (rc == 0)
		rc = pack_footer_decode(foot, sizeof(foot), size, &toff, &tlen);
	if (rc == 0)
		rc = buf_grow(&t, tlen);
	if (rc == 0)
		rc = reader_pread(fd, t.data, tlen, toff);
	if (rc == 0)
		rc = pack_trailer_decode(t.data, tlen, toff, repo_enc_key(r),
					 name, e, n);
	buf_release(&t);
	return rc;
}

int reader_pack_open(struct repo *r, const uint8_t name[32],
		     struct buf *path, uint64_t *size, struct buf *err)
{
	struct stat st;
	int fd, rc;

	*size = 0;
	rc = repo_pack_path(r, name, path, NULL);
	if (rc < 0)
		return rc;
	fd = open((char *)path->data, O_RDONLY | O_CLOEXEC);
	if (fd >= 0 && fstat(fd, &st) == 0) {
		*size = (uint64_t)st.st_size;
		return fd;
	}
	rc = repo_errf(err, -errno, "pack %s: cannot open: %s",
		       (char *)path->data, strerror(errno));
	if (fd >= 0)
		close(fd);
	return rc;
}

int reader_pack_trailer(struct repo *r, const uint8_t name[32],
			struct pack_entry **e, size_t *n, uint64_t *size,
			struct buf *err)
{
	struct buf path = BUF_INIT;
	int fd, rc;

	*e = NULL;
	*n = 0;
	fd = reader_pack_open(r, name, &path, size, err);
	if (fd < 0) {
		buf_release(&path);
		return fd;
	}
	rc = reader_trailer_fd(r, name, fd, *size, e, n);
	close(fd);
	if (rc < 0) {
		free(*e);
		*e = NULL;
		*n = 0;
		repo_errf(err, rc == -EKEYREJECTED ? -EBADMSG : rc,
			  "pack %s: bad header, footer or trailer: %s",
			  (char *)path.data, rc == -EKEYREJECTED
			  ? "authentication failed" : strerror(-rc));
		rc = rc == -EKEYREJECTED ? -EBADMSG : rc;
	}
	buf_release(&path);
	return rc;
}

/* ---- snapshot records and manifests ------------------------------ */

int reader_snaprec(struct repo *r, struct index *ix, const uint8_t snap[32],
		   struct snaprec *rec, struct buf *err)
{
	struct buf stored = BUF_INIT, plain = BUF_INIT;
	struct index_loc loc;
	char hex[65];
	int rc;

	memset(rec, 0, sizeof(*rec));
	hex_encode(hex, snap, 32);
	rc = index_chunk_get(ix, snap, &loc);
	/* the snapshot is listed, so a missing record is damage */
	if (rc == 0 || (rc > 0 && loc.type != BLOB_SNAPSHOT))
		return repo_errf(err, -EBADMSG, "snapshot %s: its record %s",
				 hex, rc ? "has the wrong type"
				 : "is in no pack");
	if (rc < 0)
		return repo_errf(err, rc, "index lookup of %s: %s%s", hex,
				 strerror(-rc), index_damage_hint(rc));
	rc = reader_load(r, &loc, snap, &stored, &plain, err);
	if (rc == 0) {
		rc = snaprec_decode(rec, plain.data, plain.len);
		if (rc < 0)
			repo_errf(err, rc, "snapshot %s: record does not"
				  " decode: %s", hex, strerror(-rc));
	}
	buf_release(&stored);
	buf_release(&plain);
	return rc;
}

struct reader_manifest {
	struct repo *r;
	struct index *ix;
	struct snaprec rec;
	char hex[65];
	size_t next;		/* next manifest chunk to load */
	struct buf cur, stored;
	size_t pos;		/* bytes of cur already handed out */
	struct manifest_dec *dec;
	struct buf err;		/* why the read callback failed */
};

static long reader_manifest_read(void *ctx, void *dst, size_t n)
{
	struct reader_manifest *m = ctx;
	const struct snaprec_chunk *c;
	size_t take;
	int rc;

	while (m->pos == m->cur.len) {
		if (m->next == m->rec.nmanifest)
			return 0;
		c = &m->rec.manifest[m->next];
		rc = reader_chunk(m->r, m->ix, c->id, c->len, &m->stored,
				  &m->cur, &m->err);
		if (rc < 0)
			return rc == -ENOENT ? -EBADMSG : rc;
		m->next++;
		m->pos = 0;
	}
	take = m->cur.len - m->pos < n ? m->cur.len - m->pos : n;
	memcpy(dst, m->cur.data + m->pos, take);
	m->pos += take;
	return (long)take;
}

int reader_manifest_open(struct reader_manifest **out, struct repo *r,
			 struct index *ix, const uint8_t snap[32],
			 struct buf *err)
{
	struct reader_manifest *m;
	int rc;

	*out = NULL;
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->r = r;
	m->ix = ix;
	hex_encode(m->hex, snap, 32);
	buf_init(&m->cur, 0);
	buf_init(&m->stored, 0);
	buf_init(&m->err, 0);
	rc = reader_snaprec(r, ix, snap, &m->rec, err);
	if (rc == 0)
		rc = manifest_dec_new(&m->dec, reader_manifest_read, m);
	if (rc < 0) {
		reader_manifest_free(m);
		return rc;
	}
	*out = m;
	return 0;
}

void reader_manifest_free(struct reader_manifest *m)
{
	if (!m)
		return;
	manifest_dec_free(m->dec);
	snaprec_release(&m->rec);
	buf_release(&m->cur);
	buf_release(&m->stored);
	buf_release(&m->err);
	free(m);
}

const struct snaprec *reader_manifest_rec(const struct reader_manifest *m)
{
	return &m->rec;
}

static int reader_manifest_fail(struct reader_manifest *m, int rc,
				struct buf *err)
{
	if (m->err.len)
		return repo_errf(err, rc, "snapshot %s: manifest: %s", m->hex,
				 (char *)m->err.data);
	return repo_errf(err, rc, "snapshot %s: manifest is corrupt: %s",
			 m->hex, strerror(-rc));
}

int reader_manifest_next(struct reader_manifest *m, struct manifest_entry *e,
			 struct buf *err)
{
	int rc = manifest_dec_next(m->dec, e);

	return rc < 0 ? reader_manifest_fail(m, rc, err) : rc;
}

int reader_manifest_chunk(struct reader_manifest *m, struct manifest_chunk *c,
			  struct buf *err)
{
	int rc = manifest_dec_chunk(m->dec, c);

	return rc < 0 ? reader_manifest_fail(m, rc, err) : rc;
}

/*
 * packer: builds one pack file in tmp/ and publishes it (see packer.h).
 *
 * Blobs go straight to the file, so a pack costs memory only for its
 * entry table (49 bytes a blob) and an open-addressing hash of the ids
 * (used by the writer to know what is in flight).  A published pack is
 * never modified again.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sodium.h>
#include <sys/stat.h>

#include "blob.h"
#include "index.h"
#include "packer.h"
#include "repo-internal.h"

/* A delta blob of the pack and the link the index must record for it
 * (read from its header as it is added: the trailer does not hold it). */
struct packer_link {
	size_t entry;
	struct blob_delta d;
};

struct packer {
	struct repo *r;
	uint8_t name[PACK_ID_SIZE];
	struct buf tmp_path;
	int fd;
	uint64_t size;
	int finished;
	struct pack_entry *e;
	size_t n, cap;
	uint32_t *slots;	/* hash of ids: entry index + 1, 0 = empty */
	size_t nslots;		/* a power of two, >= 2 * cap */
	struct packer_link *links;	/* the delta blobs among e */
	size_t nlinks, caplinks;
};

static int packer_fail(struct buf *err, int rc, const char *what,
		       const struct packer *p)
{
	return repo_errf(err, rc, "pack %s: %s: %s", (const char *)
			 p->tmp_path.data, what, strerror(-rc));
}

static int packer_write(struct packer *p, const void *data, size_t len)
{
	const uint8_t *q = data;
	ssize_t w;

	while (len > 0) {
		w = pwrite(p->fd, q, len, (off_t)p->size);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		q += w;
		len -= (size_t)w;
		p->size += (uint64_t)w;
	}
	return 0;
}

int packer_new(struct packer **out, struct repo *r, struct buf *err)
{
	struct buf hdr = BUF_INIT;
	struct packer *p;
	char hex[2 * PACK_ID_SIZE + 1];
	int rc;

	*out = NULL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->r = r;
	p->fd = -1;
	buf_init(&p->tmp_path, 0);
	randombytes_buf(p->name, sizeof(p->name));
	hex_encode(hex, p->name, sizeof(p->name));
	rc = repo_join(r, "tmp/", &p->tmp_path);
	if (rc == 0)
		rc = buf_addf(&p->tmp_path, "%s.pack", hex);
	if (rc == 0)
		rc = pack_header_encode(&hdr);
	if (rc < 0)
		goto fail;
	p->fd = open((char *)p->tmp_path.data, O_WRONLY | O_CREAT | O_EXCL |
		     O_CLOEXEC, 0644);
	if (p->fd < 0) {
		rc = packer_fail(err, -errno, "create", p);
		goto fail;
	}
	rc = packer_write(p, hdr.data, hdr.len);
	if (rc < 0) {
		packer_fail(err, rc, "write", p);
		goto fail;
	}
	buf_release(&hdr);
	*out = p;
	return 0;
fail:
	buf_release(&hdr);
	packer_free(p);
	return rc;
}

void packer_free(struct packer *p)
{
	if (!p)
		return;
	if (p->fd >= 0)
		close(p->fd);
	if (!p->finished && p->tmp_path.len)
		unlink((char *)p->tmp_path.data);
	buf_release(&p->tmp_path);
	free(p->e);
	free(p->slots);
	free(p->links);
	free(p);
}

static size_t packer_hash(const uint8_t id[32], size_t mask)
{
	uint64_t h;

	/* ids are keyed hashes: any 8 bytes are uniformly distributed */
	memcpy(&h, id, sizeof(h));
	return (size_t)h & mask;
}

static int packer_rehash(struct packer *p, size_t nslots)
{
	uint32_t *s = calloc(nslots, sizeof(*s));
	size_t j;

	if (!s)
		return -ENOMEM;
	for (size_t i = 0; i < p->n; i++) {
		j = packer_hash(p->e[i].id, nslots - 1);
		while (s[j])
			j = (j + 1) & (nslots - 1);
		s[j] = (uint32_t)i + 1;
	}
	free(p->slots);
	p->slots = s;
	p->nslots = nslots;
	return 0;
}

static int packer_reserve(struct packer *p)
{
	struct pack_entry *e;
	size_t cap;
	int rc;

	if (p->n < p->cap)
		return 0;
	cap = p->cap ? 2 * p->cap : 256;
	e = realloc(p->e, cap * sizeof(*e));
	if (!e)
		return -ENOMEM;
	p->e = e;
	p->cap = cap;
	rc = packer_rehash(p, 2 * cap);
	return rc;
}

int packer_contains(const struct packer *p, const uint8_t id[32])
{
	size_t j;

	if (!p->nslots)
		return 0;
	for (j = packer_hash(id, p->nslots - 1); p->slots[j];
	     j = (j + 1) & (p->nslots - 1))
		if (!memcmp(p->e[p->slots[j] - 1].id, id, 32))
			return 1;
	return 0;
}

/* Notes entry i's link if its stored blob is a delta. */
static int packer_link(struct packer *p, size_t i, const void *stored,
		       size_t len)
{
	struct packer_link *l;
	struct blob_delta d;

	if (blob_peek_delta(stored, len, &d) != 1)
		return 0;
	if (p->nlinks == p->caplinks) {
		size_t cap = p->caplinks ? 2 * p->caplinks : 64;

		l = realloc(p->links, cap * sizeof(*l));
		if (!l)
			return -ENOMEM;
		p->links = l;
		p->caplinks = cap;
	}
	p->links[p->nlinks].entry = i;
	p->links[p->nlinks++].d = d;
	return 0;
}

int packer_add(struct packer *p, const uint8_t id[32], uint8_t type,
	       uint32_t raw_len, const void *stored, size_t len,
	       struct buf *err)
{
	struct pack_entry *e;
	size_t j;
	int rc;

	if (p->finished || len > UINT32_MAX)
		return -EINVAL;
	rc = packer_reserve(p);
	if (rc == 0)
		rc = packer_link(p, p->n, stored, len);
	if (rc < 0)
		return rc;
	e = &p->e[p->n];
	memcpy(e->id, id, 32);
	e->offset = p->size;
	e->length = (uint32_t)len;
	e->type = type;
	e->raw_len = raw_len;
	rc = packer_write(p, stored, len);
	if (rc < 0) {
		/* the failed blob must not count: later ones overwrite it */
		p->size = e->offset;
		if (p->nlinks && p->links[p->nlinks - 1].entry == p->n)
			p->nlinks--;
		return packer_fail(err, rc, "write", p);
	}
	for (j = packer_hash(id, p->nslots - 1); p->slots[j];
	     j = (j + 1) & (p->nslots - 1))
		;
	p->slots[j] = (uint32_t)++p->n;
	return 0;
}

int packer_full(const struct packer *p)
{
	return p->size >= p->r->cfg.pack_target || p->n >= PACKER_MAX_BLOBS;
}

size_t packer_count(const struct packer *p)
{
	return p->n;
}

uint64_t packer_size(const struct packer *p)
{
	return p->size;
}

const uint8_t *packer_name(const struct packer *p)
{
	return p->name;
}

/* Moves the fsynced temporary file to packs/xx/ and makes that stick. */
static int packer_publish(struct packer *p, struct buf *err)
{
	struct buf path = BUF_INIT, dir = BUF_INIT, packs = BUF_INIT;
	int rc, created = 0;

	rc = repo_pack_path(p->r, p->name, &path, &dir);
	if (rc == 0)
		rc = repo_join(p->r, "packs", &packs);
	if (rc < 0)
		goto out;
	if (mkdir((char *)dir.data, 0755) == 0)
		created = 1;
	else if (errno != EEXIST) {
		rc = packer_fail(err, -errno, "mkdir", p);
		goto out;
	}
	if (created && (rc = repo_fsync_dir((char *)packs.data)) < 0) {
		packer_fail(err, rc, "fsync packs/", p);
		goto out;
	}
	if (rename((char *)p->tmp_path.data, (char *)path.data) < 0) {
		rc = packer_fail(err, -errno, "rename", p);
		goto out;
	}
	p->finished = 1;
	rc = repo_fsync_dir((char *)dir.data);
	if (rc < 0)
		packer_fail(err, rc, "fsync", p);
out:
	buf_release(&path);
	buf_release(&dir);
	buf_release(&packs);
	return rc;
}

int packer_finish(struct packer *p, struct buf *err)
{
	struct buf t = BUF_INIT;
	int rc;

	if (p->finished)
		return 0;
	rc = pack_trailer_encode(&t, p->e, p->n, repo_enc_key(p->r), p->name);
	if (rc < 0) {
		buf_release(&t);
		return packer_fail(err, rc, "trailer", p);
	}
	rc = packer_write(p, t.data, t.len);
	buf_release(&t);
	if (rc < 0)
		return packer_fail(err, rc, "write", p);
	if (fsync(p->fd) < 0)
		return packer_fail(err, -errno, "fsync", p);
	close(p->fd);
	p->fd = -1;
	return packer_publish(p, err);
}

int packer_index(struct packer *p, struct index *ix, unsigned flags,
		 struct buf *err)
{
	int rc;

	if (!p->finished)
		return -EINVAL;
	rc = index_pack_add(ix, p->name, p->size, p->e, p->n, 0, flags, err);
	for (size_t i = 0; rc == 0 && i < p->nlinks; i++)
		rc = index_base_add(ix, p->name, p->e[p->links[i].entry].id,
				    p->links[i].d.base, p->links[i].d.depth,
				    err);
	return rc;
}

int packer_commit(struct packer *p, struct index *ix, unsigned flags,
		  struct buf *err)
{
	int rc = index_begin(ix, err);

	if (rc == 0)
		rc = packer_index(p, ix, flags, err);
	if (rc == 0)
		rc = index_commit(ix, err);
	else
		index_rollback(ix);
	return rc;
}

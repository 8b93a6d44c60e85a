/*
 * manifest: streaming encoder and decoder of a snapshot's entry list
 * (API in manifest.h, byte layout in formats/manifest.md).
 *
 * Records:  'E' entry | 'C' chunk ref | 'Z' end (count + XXH3-64).
 * The decoder pulls bytes through the caller's read callback into a
 * fixed window, so memory stays bounded by the limits of one entry no
 * matter how long the stream is.  Everything it returns before the end
 * record is unverified; only a return of 0 from manifest_dec_next says
 * the whole stream was intact.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "blob.h"
#include "manifest.h"

#define MANIFEST_TAG_ENTRY	'E'
#define MANIFEST_TAG_CHUNK	'C'
#define MANIFEST_TAG_END	'Z'
#define MANIFEST_DEC_WINDOW	(64u << 10)

/* '/' maps below every other byte; the rest keep their relative order. */
static unsigned manifest_path_rank(unsigned char c)
{
	if (c == '/')
		return 0;
	return c < '/' ? (unsigned)c + 1 : c;
}

int manifest_path_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
	size_t n = alen < blen ? alen : blen;

	for (size_t i = 0; i < n; i++) {
		unsigned x = manifest_path_rank((unsigned char)a[i]);
		unsigned y = manifest_path_rank((unsigned char)b[i]);

		if (x != y)
			return x < y ? -1 : 1;
	}
	if (alen == blen)
		return 0;
	return alen < blen ? -1 : 1;
}

void manifest_entry_release(struct manifest_entry *e)
{
	if (!e)
		return;
	free(e->path);
	free(e->target);
	for (size_t i = 0; e->attrs && i < e->nattrs; i++) {
		free(e->attrs[i].key);
		free(e->attrs[i].value);
	}
	free(e->attrs);
	memset(e, 0, sizeof(*e));
}

/* ---- encoder ---------------------------------------------------------- */

int manifest_encode_header(struct buf *out)
{
	return buf_add(out, MANIFEST_MAGIC, 8);
}

static int manifest_entry_ok(const struct manifest_entry *e)
{
	size_t attr_bytes = 0;

	if (e->path_len > MANIFEST_MAX_PATH || (e->path_len && !e->path) ||
	    (e->path_len && memchr(e->path, '\0', e->path_len)))
		return 0;
	if (e->kind < MANIFEST_FILE || e->kind > MANIFEST_SYMLINK ||
	    e->mode > 07777)
		return 0;
	if (e->kind == MANIFEST_SYMLINK) {
		if (!e->target || e->target_len > MANIFEST_MAX_TARGET ||
		    memchr(e->target, '\0', e->target_len))
			return 0;
	} else if (e->target || (e->nchunks && e->kind != MANIFEST_FILE)) {
		return 0;
	}
	if (e->nattrs > MANIFEST_MAX_ATTRS || (e->nattrs && !e->attrs))
		return 0;
	for (size_t i = 0; i < e->nattrs; i++) {
		const struct manifest_attr *a = &e->attrs[i];
		size_t klen;

		if (!a->key || (a->value_len && !a->value))
			return 0;
		klen = strnlen(a->key, MANIFEST_MAX_KEY + 1);
		if (klen > MANIFEST_MAX_KEY || a->value_len > MANIFEST_MAX_VALUE)
			return 0;
		attr_bytes += klen + a->value_len;
	}
	return attr_bytes <= MANIFEST_MAX_ATTR_BYTES;
}

int manifest_encode_entry(struct buf *out, const struct manifest_entry *e)
{
	size_t start = out->len;
	int r;

	if (!manifest_entry_ok(e))
		return -EINVAL;
	r = buf_put_u8(out, MANIFEST_TAG_ENTRY);
	if (r == 0)
		r = buf_put_bytes(out, e->path, e->path_len);
	if (r == 0)
		r = buf_put_u8(out, e->kind);
	if (r == 0)
		r = buf_put_varint(out, e->mode);
	if (r == 0)
		r = buf_put_le64(out, (uint64_t)e->mtime_ns);
	if (r == 0)
		r = buf_put_varint(out, e->size);
	if (r == 0 && e->kind == MANIFEST_SYMLINK)
		r = buf_put_bytes(out, e->target, e->target_len);
	if (r == 0)
		r = buf_put_varint(out, e->nattrs);
	for (size_t i = 0; r == 0 && i < e->nattrs; i++) {
		const struct manifest_attr *a = &e->attrs[i];

		r = buf_put_bytes(out, a->key, strlen(a->key));
		if (r == 0)
			r = buf_put_bytes(out, a->value, a->value_len);
	}
	if (r == 0)
		r = buf_put_varint(out, e->nchunks);
	if (r < 0)
		buf_setlen(out, start);
	return r;
}

int manifest_encode_chunk(struct buf *out, const struct manifest_chunk *c)
{
	size_t start = out->len;
	int r;

	if (c->len == 0 || c->len > BLOB_MAX_RAW)
		return -EINVAL;
	r = buf_put_u8(out, MANIFEST_TAG_CHUNK);
	if (r == 0)
		r = buf_add(out, c->id, MANIFEST_CHUNK_ID_SIZE);
	if (r == 0)
		r = buf_put_le32(out, c->len);
	if (r < 0)
		buf_setlen(out, start);
	return r;
}

struct manifest_hash {
	XXH3_state_t *st;
};

struct manifest_hash *manifest_hash_new(void)
{
	struct manifest_hash *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	h->st = XXH3_createState();
	if (!h->st || XXH3_64bits_reset(h->st) != XXH_OK) {
		manifest_hash_free(h);
		return NULL;
	}
	return h;
}

void manifest_hash_free(struct manifest_hash *h)
{
	if (!h)
		return;
	XXH3_freeState(h->st);
	free(h);
}

void manifest_hash_update(struct manifest_hash *h, const void *p, size_t n)
{
	if (n)
		XXH3_64bits_update(h->st, p, n);
}

/*
 * The hash covers every stream byte before the hash field itself: the
 * bytes already drained (fed by the caller), the bytes still waiting in
 * out, and the end record's tag and count.
 */
int manifest_encode_end(struct buf *out, struct manifest_hash *h,
			uint64_t nentries)
{
	size_t start = out->len;
	int r;

	if (!h)
		return -EINVAL;
	r = buf_put_u8(out, MANIFEST_TAG_END);
	if (r == 0)
		r = buf_put_varint(out, nentries);
	if (r < 0) {
		buf_setlen(out, start);
		return r;
	}
	manifest_hash_update(h, out->data, out->len);
	r = buf_put_le64(out, XXH3_64bits_digest(h->st));
	if (r < 0)
		buf_setlen(out, start);
	return r;
}

/* ---- decoder ---------------------------------------------------------- */

enum manifest_dec_state {
	MANIFEST_DEC_START,	/* header not read yet */
	MANIFEST_DEC_BODY,
	MANIFEST_DEC_DONE,	/* valid end seen */
	MANIFEST_DEC_FAILED,	/* err is sticky */
};

struct manifest_dec {
	manifest_read_fn read;
	void *ctx;
	uint8_t *win;		/* MANIFEST_DEC_WINDOW bytes */
	size_t pos, end;	/* unread bytes are win[pos..end) */
	size_t hpos;		/* win[hpos..pos) consumed but not hashed */
	XXH3_state_t *st;
	enum manifest_dec_state state;
	int err;
	uint64_t nentries;
	uint64_t chunks_left;	/* of the current entry */
	struct buf prev;	/* previous entry's path, for the order check */
};

int manifest_dec_new(struct manifest_dec **dp, manifest_read_fn read,
		     void *ctx)
{
	struct manifest_dec *d;

	*dp = NULL;
	if (!read)
		return -EINVAL;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->read = read;
	d->ctx = ctx;
	buf_init(&d->prev, MANIFEST_MAX_PATH);
	d->win = malloc(MANIFEST_DEC_WINDOW);
	d->st = XXH3_createState();
	if (!d->win || !d->st || XXH3_64bits_reset(d->st) != XXH_OK) {
		manifest_dec_free(d);
		return -ENOMEM;
	}
	*dp = d;
	return 0;
}

void manifest_dec_free(struct manifest_dec *d)
{
	if (!d)
		return;
	free(d->win);
	XXH3_freeState(d->st);
	buf_release(&d->prev);
	free(d);
}

static void manifest_dec_hash(struct manifest_dec *d)
{
	if (d->pos > d->hpos)
		XXH3_64bits_update(d->st, d->win + d->hpos, d->pos - d->hpos);
	d->hpos = d->pos;
}

/*
 * Reads more bytes into the window.  Returns the number read (> 0),
 * 0 at the end of the stream, or a negative errno.
 */
static long manifest_dec_more(struct manifest_dec *d)
{
	long n;

	if (d->pos == d->end || d->end == MANIFEST_DEC_WINDOW) {
		/* consumed bytes leave the window: hash them first */
		manifest_dec_hash(d);
		memmove(d->win, d->win + d->pos, d->end - d->pos);
		d->end -= d->pos;
		d->pos = d->hpos = 0;
	}
	n = d->read(d->ctx, d->win + d->end, MANIFEST_DEC_WINDOW - d->end);
	if (n < 0)
		return n;
	if ((size_t)n > MANIFEST_DEC_WINDOW - d->end)
		return -EIO;	/* a broken callback, not bad data */
	d->end += (size_t)n;
	return n;
}

/* Copies the next n bytes of the stream to dst (may be NULL: skip). */
static int manifest_dec_get(struct manifest_dec *d, void *dst, size_t n)
{
	uint8_t *o = dst;

	while (n) {
		size_t k;

		if (d->pos == d->end) {
			long r = manifest_dec_more(d);

			if (r < 0)
				return (int)r;
			if (r == 0)
				return -EBADMSG;	/* truncated */
		}
		k = d->end - d->pos;
		if (k > n)
			k = n;
		if (o) {
			memcpy(o, d->win + d->pos, k);
			o += k;
		}
		d->pos += k;
		n -= k;
	}
	return 0;
}

static int manifest_dec_u8(struct manifest_dec *d, uint8_t *v)
{
	return manifest_dec_get(d, v, 1);
}

static int manifest_dec_le32(struct manifest_dec *d, uint32_t *v)
{
	uint8_t t[4];
	int r = manifest_dec_get(d, t, 4);

	if (r == 0)
		*v = (uint32_t)t[0] | (uint32_t)t[1] << 8 |
		     (uint32_t)t[2] << 16 | (uint32_t)t[3] << 24;
	return r;
}

static int manifest_dec_le64(struct manifest_dec *d, uint64_t *v)
{
	uint8_t t[8];
	int r = manifest_dec_get(d, t, 8);

	if (r == 0) {
		*v = 0;
		for (int i = 7; i >= 0; i--)
			*v = (*v << 8) | t[i];
	}
	return r;
}

/* Same rules as rd_varint: at most 10 bytes, no overflow. */
static int manifest_dec_varint(struct manifest_dec *d, uint64_t *v)
{
	uint64_t x = 0;

	for (int i = 0; i < 10; i++) {
		uint8_t c;
		int r = manifest_dec_u8(d, &c);

		if (r < 0)
			return r;
		if (i == 9 && (c & 0xfe))
			return -EBADMSG;
		x |= (uint64_t)(c & 0x7f) << (7 * i);
		if (!(c & 0x80)) {
			*v = x;
			return 0;
		}
	}
	return -EBADMSG;
}

/*
 * A varint length <= maxlen, then the bytes into a fresh NUL-terminated
 * allocation.  With nonul, a NUL among the bytes is -EBADMSG.
 */
static int manifest_dec_str(struct manifest_dec *d, char **s, size_t *len,
			    size_t maxlen, int nonul)
{
	uint64_t n;
	char *p;
	int r = manifest_dec_varint(d, &n);

	if (r < 0)
		return r;
	if (n > maxlen)
		return -EBADMSG;
	p = malloc((size_t)n + 1);
	if (!p)
		return -ENOMEM;
	r = manifest_dec_get(d, p, (size_t)n);
	if (r == 0 && nonul && memchr(p, '\0', (size_t)n))
		r = -EBADMSG;
	if (r < 0) {
		free(p);
		return r;
	}
	p[n] = '\0';
	*s = p;
	if (len)
		*len = (size_t)n;
	return 0;
}

static int manifest_dec_fail(struct manifest_dec *d, int err)
{
	d->state = MANIFEST_DEC_FAILED;
	d->err = err;
	return err;
}

static int manifest_dec_header(struct manifest_dec *d)
{
	uint8_t magic[8];
	int r = manifest_dec_get(d, magic, 8);

	if (r < 0)
		return r;
	return memcmp(magic, MANIFEST_MAGIC, 8) ? -EBADMSG : 0;
}

/* The body of a 'C' record (tag already read). */
static int manifest_dec_chunk_body(struct manifest_dec *d,
				   struct manifest_chunk *c)
{
	int r = manifest_dec_get(d, c->id, MANIFEST_CHUNK_ID_SIZE);

	if (r == 0)
		r = manifest_dec_le32(d, &c->len);
	if (r == 0 && (c->len == 0 || c->len > BLOB_MAX_RAW))
		r = -EBADMSG;
	return r;
}

static int manifest_dec_one_chunk(struct manifest_dec *d,
				  struct manifest_chunk *c)
{
	uint8_t tag;
	int r = manifest_dec_u8(d, &tag);

	if (r < 0)
		return r;
	if (tag != MANIFEST_TAG_CHUNK)
		return -EBADMSG;
	r = manifest_dec_chunk_body(d, c);
	if (r == 0)
		d->chunks_left--;
	return r;
}

static int manifest_dec_attrs(struct manifest_dec *d, struct manifest_entry *e)
{
	uint64_t n;
	size_t total = 0;
	int r = manifest_dec_varint(d, &n);

	if (r < 0)
		return r;
	if (n > MANIFEST_MAX_ATTRS)
		return -EBADMSG;
	if (n == 0)
		return 0;
	e->attrs = calloc((size_t)n, sizeof(*e->attrs));
	if (!e->attrs)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		struct manifest_attr *a = &e->attrs[i];
		size_t klen;

		/* count it now so a half-read attr is freed by release */
		e->nattrs = i + 1;
		r = manifest_dec_str(d, &a->key, &klen, MANIFEST_MAX_KEY, 1);
		if (r < 0)
			return r;
		r = manifest_dec_str(d, &a->value, &a->value_len,
				     MANIFEST_MAX_VALUE, 0);
		if (r < 0)
			return r;
		total += klen + a->value_len;
		if (total > MANIFEST_MAX_ATTR_BYTES)
			return -EBADMSG;
	}
	return 0;
}

static int manifest_dec_entry(struct manifest_dec *d, struct manifest_entry *e)
{
	uint64_t v;
	int r;

	r = manifest_dec_str(d, &e->path, &e->path_len, MANIFEST_MAX_PATH, 1);
	if (r < 0)
		return r;
	if (d->nentries > 0 &&
	    manifest_path_cmp((const char *)d->prev.data, d->prev.len,
			      e->path, e->path_len) >= 0)
		return -EBADMSG;
	r = manifest_dec_u8(d, &e->kind);
	if (r < 0)
		return r;
	if (e->kind < MANIFEST_FILE || e->kind > MANIFEST_SYMLINK)
		return -EBADMSG;
	r = manifest_dec_varint(d, &v);
	if (r < 0)
		return r;
	if (v > 07777)
		return -EBADMSG;
	e->mode = (uint32_t)v;
	r = manifest_dec_le64(d, &v);
	if (r < 0)
		return r;
	e->mtime_ns = (int64_t)v;
	r = manifest_dec_varint(d, &e->size);
	if (r < 0)
		return r;
	if (e->kind == MANIFEST_SYMLINK) {
		r = manifest_dec_str(d, &e->target, &e->target_len,
				     MANIFEST_MAX_TARGET, 1);
		if (r < 0)
			return r;
	}
	r = manifest_dec_attrs(d, e);
	if (r < 0)
		return r;
	r = manifest_dec_varint(d, &e->nchunks);
	if (r < 0)
		return r;
	if (e->nchunks && e->kind != MANIFEST_FILE)
		return -EBADMSG;

	buf_reset(&d->prev);
	r = buf_add(&d->prev, e->path, e->path_len);
	if (r < 0)
		return r;
	d->nentries++;
	d->chunks_left = e->nchunks;
	return 0;
}

static int manifest_dec_end(struct manifest_dec *d)
{
	uint64_t count = 0, sum = 0, want;
	long n;
	int r;

	r = manifest_dec_varint(d, &count);
	if (r < 0)
		return r;
	/* digest now: reading the sum may hash window bytes past it */
	manifest_dec_hash(d);
	want = XXH3_64bits_digest(d->st);
	r = manifest_dec_le64(d, &sum);
	if (r < 0)
		return r;
	if (count != d->nentries || sum != want)
		return -EBADMSG;
	/* nothing may follow the end record */
	if (d->pos != d->end)
		return -EBADMSG;
	n = manifest_dec_more(d);
	if (n < 0)
		return (int)n;
	return n == 0 ? 0 : -EBADMSG;
}

int manifest_dec_next(struct manifest_dec *d, struct manifest_entry *e)
{
	struct manifest_chunk c;
	uint8_t tag;
	int r;

	manifest_entry_release(e);
	switch (d->state) {
	case MANIFEST_DEC_FAILED:
		return d->err;
	case MANIFEST_DEC_DONE:
		return 0;
	case MANIFEST_DEC_START:
		r = manifest_dec_header(d);
		if (r < 0)
			return manifest_dec_fail(d, r);
		d->state = MANIFEST_DEC_BODY;
		break;
	case MANIFEST_DEC_BODY:
		break;
	}
	while (d->chunks_left) {
		r = manifest_dec_one_chunk(d, &c);
		if (r < 0)
			return manifest_dec_fail(d, r);
	}
	r = manifest_dec_u8(d, &tag);
	if (r < 0)
		return manifest_dec_fail(d, r);
	switch (tag) {
	case MANIFEST_TAG_ENTRY:
		r = manifest_dec_entry(d, e);
		if (r < 0) {
			manifest_entry_release(e);
			return manifest_dec_fail(d, r);
		}
		return 1;
	case MANIFEST_TAG_END:
		r = manifest_dec_end(d);
		if (r < 0)
			return manifest_dec_fail(d, r);
		d->state = MANIFEST_DEC_DONE;
		return 0;
	default:
		/* includes a 'C' beyond the entry's nchunks */
		return manifest_dec_fail(d, -EBADMSG);
	}
}

int manifest_dec_chunk(struct manifest_dec *d, struct manifest_chunk *c)
{
	int r;

	if (d->state == MANIFEST_DEC_FAILED)
		return d->err;
	if (d->state != MANIFEST_DEC_BODY || d->chunks_left == 0)
		return 0;
	r = manifest_dec_one_chunk(d, c);
	if (r < 0)
		return manifest_dec_fail(d, r);
	return 1;
}

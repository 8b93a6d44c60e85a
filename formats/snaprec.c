/*
 * snaprec: encoder and decoder of the snapshot record and of the
 * tombstone (layout in snaprec.h, full spec in formats/snapshot.md).
 *
 * Both end in an XXH3-64 of every preceding byte.  The blob around them
 * already has a checksum, but the record is also what the snapshot id
 * is computed over and what `check` reasons about, so it verifies on its
 * own: any damaged record is -EBADMSG before a single field is trusted.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "blob.h"
#include "snaprec.h"

#define SNAPREC_MAGIC		"VAULTSN1"
#define TOMBSTONE_MAGIC		"VAULTTB1"
#define SNAPREC_SUM_SIZE	8
#define SNAPREC_CHUNK_SIZE	(32 + 4)

void snaprec_release(struct snaprec *s)
{
	if (!s)
		return;
	free(s->hostname);
	free(s->source);
	for (size_t i = 0; s->tags && i < s->ntags; i++)
		free(s->tags[i]);
	free(s->tags);
	free(s->meta_json);
	free(s->manifest);
	memset(s, 0, sizeof(*s));
}

/* Appends the checksum of out[start..len). */
static int snaprec_put_sum(struct buf *out, size_t start)
{
	return buf_put_le64(out, XXH3_64bits(out->data + start,
					     out->len - start));
}

/* Checks the trailing checksum; on success r covers the bytes before it. */
static int snaprec_check_sum(struct rd *r, const void *p, size_t len,
			     const char *magic)
{
	const uint8_t *m;
	uint64_t want;

	if (len < 8 + SNAPREC_SUM_SIZE)
		return -EBADMSG;
	rd_init(r, (const uint8_t *)p + len - SNAPREC_SUM_SIZE,
		SNAPREC_SUM_SIZE);
	rd_le64(r, &want);
	if (XXH3_64bits(p, len - SNAPREC_SUM_SIZE) != want)
		return -EBADMSG;
	rd_init(r, p, len - SNAPREC_SUM_SIZE);
	rd_raw(r, &m, 8);
	return memcmp(m, magic, 8) ? -EBADMSG : 0;
}

static int snaprec_put_str(struct buf *out, const char *s, size_t max)
{
	size_t n = s ? strnlen(s, max + 1) : 0;

	if (n > max)
		return -EINVAL;
	return buf_put_bytes(out, s, n);
}

int snaprec_encode(struct buf *out, const struct snaprec *s)
{
	size_t start = out->len;
	int r;

	if (s->ntags > SNAPREC_MAX_TAGS || (s->ntags && !s->tags) ||
	    s->nmanifest > SNAPREC_MAX_MANIFEST ||
	    (s->nmanifest && !s->manifest))
		return -EINVAL;
	for (size_t i = 0; i < s->nmanifest; i++)
		if (s->manifest[i].len == 0 ||
		    s->manifest[i].len > BLOB_MAX_RAW)
			return -EINVAL;

	r = buf_add(out, SNAPREC_MAGIC, 8);
	if (r == 0)
		r = buf_put_le64(out, (uint64_t)s->time);
	if (r == 0)
		r = snaprec_put_str(out, s->hostname, SNAPREC_MAX_STR);
	if (r == 0)
		r = snaprec_put_str(out, s->source, SNAPREC_MAX_STR);
	if (r == 0)
		r = buf_put_varint(out, s->ntags);
	for (size_t i = 0; r == 0 && i < s->ntags; i++)
		r = s->tags[i] ? snaprec_put_str(out, s->tags[i],
						 SNAPREC_MAX_STR) : -EINVAL;
	if (r == 0)
		r = buf_put_varint(out, s->entries);
	if (r == 0)
		r = buf_put_varint(out, s->bytes_read);
	if (r == 0)
		r = buf_put_varint(out, s->bytes_added);
	if (r == 0)
		r = buf_put_varint(out, s->bytes_stored);
	if (r == 0)
		r = snaprec_put_str(out, s->meta_json, SNAPREC_MAX_META);
	if (r == 0)
		r = buf_put_varint(out, s->nmanifest);
	for (size_t i = 0; r == 0 && i < s->nmanifest; i++) {
		r = buf_add(out, s->manifest[i].id, 32);
		if (r == 0)
			r = buf_put_le32(out, s->manifest[i].len);
	}
	if (r == 0)
		r = snaprec_put_sum(out, start);
	if (r < 0)
		buf_setlen(out, start);
	return r;
}

/* A length-prefixed string without NUL, copied into a fresh allocation. */
static int snaprec_get_str(struct rd *r, char **s, size_t max)
{
	const uint8_t *p;
	size_t n;

	if (rd_bytes(r, &p, &n, max) < 0 || memchr(p, '\0', n))
		return -EBADMSG;
	*s = malloc(n + 1);
	if (!*s)
		return -ENOMEM;
	memcpy(*s, p, n);
	(*s)[n] = '\0';
	return 0;
}

static int snaprec_parse(struct snaprec *s, struct rd *r)
{
	uint64_t v, n;
	int e;

	if ((e = rd_le64(r, &v)) < 0)
		return e;
	s->time = (int64_t)v;
	if ((e = snaprec_get_str(r, &s->hostname, SNAPREC_MAX_STR)) < 0 ||
	    (e = snaprec_get_str(r, &s->source, SNAPREC_MAX_STR)) < 0 ||
	    (e = rd_varint(r, &n)) < 0)
		return e;
	/* each tag needs at least its length byte */
	if (n > SNAPREC_MAX_TAGS || n > rd_left(r))
		return -EBADMSG;
	if (n) {
		s->tags = calloc((size_t)n, sizeof(*s->tags));
		if (!s->tags)
			return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		s->ntags = i + 1;	/* so release frees a partial list */
		e = snaprec_get_str(r, &s->tags[i], SNAPREC_MAX_STR);
		if (e < 0)
			return e;
	}
	if ((e = rd_varint(r, &s->entries)) < 0 ||
	    (e = rd_varint(r, &s->bytes_read)) < 0 ||
	    (e = rd_varint(r, &s->bytes_added)) < 0 ||
	    (e = rd_varint(r, &s->bytes_stored)) < 0 ||
	    (e = snaprec_get_str(r, &s->meta_json, SNAPREC_MAX_META)) < 0 ||
	    (e = rd_varint(r, &n)) < 0)
		return e;
	if (n > SNAPREC_MAX_MANIFEST || rd_left(r) != n * SNAPREC_CHUNK_SIZE)
		return -EBADMSG;
	if (n) {
		s->manifest = calloc((size_t)n, sizeof(*s->manifest));
		if (!s->manifest)
			return -ENOMEM;
	}
	s->nmanifest = (size_t)n;
	for (size_t i = 0; i < n; i++) {
		const uint8_t *id;

		/* the exact-length check above makes these succeed */
		rd_raw(r, &id, 32);
		memcpy(s->manifest[i].id, id, 32);
		rd_le32(r, &s->manifest[i].len);
		if (s->manifest[i].len == 0 ||
		    s->manifest[i].len > BLOB_MAX_RAW)
			return -EBADMSG;
	}
	return 0;
}

int snaprec_decode(struct snaprec *s, const void *p, size_t len)
{
	struct rd r;
	int e;

	memset(s, 0, sizeof(*s));
	e = snaprec_check_sum(&r, p, len, SNAPREC_MAGIC);
	if (e == 0)
		e = snaprec_parse(s, &r);
	if (e < 0)
		snaprec_release(s);
	return e;
}

int tombstone_encode(struct buf *out, const uint8_t (*ids)[32], size_t n)
{
	size_t start = out->len;
	int r;

	if (n && !ids)
		return -EINVAL;
	r = buf_add(out, TOMBSTONE_MAGIC, 8);
	if (r == 0)
		r = buf_put_varint(out, n);
	if (r == 0 && n)
		r = buf_add(out, ids, n * 32);
	if (r == 0)
		r = snaprec_put_sum(out, start);
	if (r < 0)
		buf_setlen(out, start);
	return r;
}

int tombstone_decode(const void *p, size_t len, uint8_t (**ids)[32],
		     size_t *n)
{
	const uint8_t *raw;
	uint64_t count;
	struct rd r;
	int e;

	*ids = NULL;
	*n = 0;
	e = snaprec_check_sum(&r, p, len, TOMBSTONE_MAGIC);
	if (e < 0)
		return e;
	if (rd_varint(&r, &count) < 0 || count > rd_left(&r) / 32 ||
	    rd_left(&r) != count * 32)
		return -EBADMSG;
	if (count == 0)
		return 0;
	rd_raw(&r, &raw, (size_t)count * 32);
	*ids = malloc((size_t)count * 32);
	if (!*ids)
		return -ENOMEM;
	memcpy(*ids, raw, (size_t)count * 32);
	*n = (size_t)count;
	return 0;
}

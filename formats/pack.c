/*
 * pack: header, trailer and footer codecs of a pack file (layout in
 * pack.h, full spec in formats/pack.md).  No I/O here: the packer and
 * the reader in store/ move the bytes.
 *
 * The trailer is a normal blob, so it inherits the blob's checksum and
 * (in encrypted repositories) its authentication; the footer is only
 * 12 bytes and is checked by its magic and by the trailer blob that it
 * must point at exactly.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "blob.h"
#include "pack.h"

int pack_header_encode(struct buf *out)
{
	int r = buf_add(out, PACK_MAGIC, 8);

	if (r == 0)
		r = buf_put_le32(out, PACK_VERSION);
	if (r == 0)
		r = buf_put_le32(out, 0);
	return r;
}

int pack_header_decode(const void *p, size_t len)
{
	struct rd r;
	const uint8_t *magic;
	uint32_t version, reserved;

	rd_init(&r, p, len);
	if (rd_raw(&r, &magic, 8) < 0 || memcmp(magic, PACK_MAGIC, 8) != 0 ||
	    rd_le32(&r, &version) < 0 || version != PACK_VERSION ||
	    rd_le32(&r, &reserved) < 0 || reserved != 0)
		return -EBADMSG;
	return 0;
}

int pack_trailer_encode(struct buf *out, const struct pack_entry *entries,
			size_t n, const uint8_t *enc_key, const uint8_t *name)
{
	struct buf plain = BUF_INIT;
	size_t start = out->len, tlen;
	int r;

	if (n > PACK_MAX_ENTRIES || (n && !entries))
		return -EINVAL;
	r = buf_grow(&plain, 4 + n * PACK_ENTRY_SIZE);
	if (r < 0)
		return r;
	r = buf_put_le32(&plain, (uint32_t)n);
	for (size_t i = 0; r == 0 && i < n; i++) {
		const struct pack_entry *e = &entries[i];

		r = buf_add(&plain, e->id, PACK_ID_SIZE);
		if (r == 0)
			r = buf_put_le64(&plain, e->offset);
		if (r == 0)
			r = buf_put_le32(&plain, e->length);
		if (r == 0)
			r = buf_put_u8(&plain, e->type);
		if (r == 0)
			r = buf_put_le32(&plain, e->raw_len);
	}
	if (r == 0)
		r = blob_encode(out, BLOB_TRAILER, plain.data, plain.len,
				enc_key, name);
	buf_release(&plain);
	if (r < 0)
		return r;

	tlen = out->len - start;
	if (tlen > UINT32_MAX) {
		buf_setlen(out, start);
		return -EINVAL;
	}
	r = buf_put_le32(out, (uint32_t)tlen);
	if (r == 0)
		r = buf_add(out, PACK_END_MAGIC, 8);
	if (r < 0)
		buf_setlen(out, start);
	return r;
}

int pack_footer_decode(const void *footer, size_t len, uint64_t file_size,
		       uint64_t *trailer_off, uint32_t *trailer_len)
{
	struct rd r;
	const uint8_t *magic;
	uint32_t tlen;

	rd_init(&r, footer, len);
	if (len != PACK_FOOTER_SIZE || rd_le32(&r, &tlen) < 0 ||
	    rd_raw(&r, &magic, 8) < 0 || memcmp(magic, PACK_END_MAGIC, 8) != 0)
		return -EBADMSG;
	/* the trailer is a blob, so it is at least header + checksum long */
	if (tlen < BLOB_HEADER_SIZE + BLOB_SUM_SIZE ||
	    file_size < PACK_HEADER_SIZE + PACK_FOOTER_SIZE ||
	    tlen > file_size - PACK_HEADER_SIZE - PACK_FOOTER_SIZE)
		return -EBADMSG;
	*trailer_off = file_size - PACK_FOOTER_SIZE - tlen;
	*trailer_len = tlen;
	return 0;
}

static int pack_type_ok(uint8_t type)
{
	/* a trailer never describes another trailer */
	return type >= BLOB_DATA && type <= BLOB_TOMBSTONE &&
	       type != BLOB_TRAILER;
}

int pack_trailer_decode(const void *trailer, size_t len, uint64_t trailer_off,
			const uint8_t *enc_key, const uint8_t *name,
			struct pack_entry **entries, size_t *n)
{
	struct buf plain = BUF_INIT;
	struct pack_entry *v = NULL;
	uint64_t next = PACK_HEADER_SIZE;
	uint32_t count;
	uint8_t type;
	struct rd r;
	int e;

	*entries = NULL;
	*n = 0;
	e = blob_decode(&plain, &type, trailer, len, enc_key, name);
	if (e == -ENOMSG)	/* a delta blob: only ever a data chunk */
		e = -EBADMSG;
	if (e < 0)
		goto out;
	e = -EBADMSG;
	if (type != BLOB_TRAILER)
		goto out;
	rd_init(&r, plain.data, plain.len);
	if (rd_le32(&r, &count) < 0 || count > PACK_MAX_ENTRIES ||
	    rd_left(&r) != (size_t)count * PACK_ENTRY_SIZE)
		goto out;
	if (count) {
		v = calloc(count, sizeof(*v));
		if (!v) {
			e = -ENOMEM;
			goto out;
		}
	}
	for (uint32_t i = 0; i < count; i++) {
		struct pack_entry *pe = &v[i];
		const uint8_t *id;

		/* lengths were checked against count above: cannot fail */
		rd_raw(&r, &id, PACK_ID_SIZE);
		memcpy(pe->id, id, PACK_ID_SIZE);
		rd_le64(&r, &pe->offset);
		rd_le32(&r, &pe->length);
		rd_u8(&r, &pe->type);
		rd_le32(&r, &pe->raw_len);
		if (pe->offset < next || pe->offset > trailer_off ||
		    pe->length < BLOB_HEADER_SIZE + BLOB_SUM_SIZE ||
		    pe->length > trailer_off - pe->offset ||
		    !pack_type_ok(pe->type) || pe->raw_len > BLOB_MAX_RAW)
			goto out;
		next = pe->offset + pe->length;
	}
	*entries = v;
	*n = count;
	v = NULL;
	e = 0;
out:
	free(v);
	buf_wipe(&plain);
	return e;
}

/*
 * delta: encoder and decoder of delta payloads (layout in delta.h, spec
 * in formats/blob.md).
 *
 * Each block of the new chunk is compressed by lz4 with a window of the
 * base as its dictionary: unchanged rows become matches into the base,
 * changed bytes literals.  The window is centred on where the block's
 * bytes are expected in the base, so a match may be found up to 16 KiB
 * before or after that place (lz4 cannot reach further than 64 KiB back
 * from the byte it encodes, counting through the dictionary).
 */
#include <errno.h>
#include <string.h>
#include <lz4.h>
#include <lz4hc.h>

#include "delta.h"

#define DELTA_LZ4_MAX_RATIO 255

static void delta_put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/*
 * The base window [*lo, *lo + *n) for the block [s, s + b) of a chunk
 * whose first byte is expected at base offset align.  lz4 reaches back
 * at most 65535 bytes, counting from the byte it encodes through the
 * block's start into the end of the dictionary: so the window must not
 * end more than that after the block's expected place, or the bytes
 * the block repeats fall out of reach.  Clipped at the base's start it
 * just gets shorter; clipped at its end it may reach further back.
 */
static void delta_window(size_t blen, int64_t align, size_t s, size_t b,
			 size_t *lo, size_t *n)
{
	int64_t margin = (int64_t)(DELTA_WINDOW - b) / 2;
	int64_t a = align + (int64_t)s - margin;
	int64_t z = align + (int64_t)(s + b) + margin;

	if (z > (int64_t)blen) {
		a -= z - (int64_t)blen;
		z = (int64_t)blen;
	}
	if (a < 0)
		a = 0;
	if (z < a)
		z = a;
	*lo = (size_t)a;
	*n = (size_t)(z - a);
}

/* One block of plain against its window of the base: its compressed
 * length (> 0) written at dst, 0 when lz4 fails (it cannot with cap =
 * compressBound). */
static int delta_block(LZ4_stream_t *fast, LZ4_streamHC_t *hc, int level,
		       const char *dict, size_t n, const char *src, size_t blk,
		       char *dst, size_t cap)
{
	if (!hc) {
		LZ4_initStream(fast, sizeof(*fast));
		if (n)
			LZ4_loadDict(fast, dict, (int)n);
		return LZ4_compress_fast_continue(fast, src, dst, (int)blk,
						  (int)cap, 1);
	}
	LZ4_resetStreamHC_fast(hc, level);
	if (n)
		LZ4_loadDictHC(hc, dict, (int)n);
	return LZ4_compress_HC_continue(hc, src, dst, (int)blk, (int)cap);
}

int delta_encode_level(struct buf *out, const void *base, size_t blen,
		       const void *plain, size_t len, int64_t align, int level)
{
	const uint8_t *b = base, *p = plain;
	size_t start = out->len, lo, n, blk, cap;
	LZ4_stream_t st;
	LZ4_streamHC_t *hc = NULL;
	int clen, r = 0;

	if (len == 0 || len > UINT32_MAX || blen > UINT32_MAX ||
	    (blen && !base) || level < 0 || level > LZ4HC_CLEVEL_MAX)
		return -EINVAL;
	/* LZ4 HC's state is 256 KiB: on the heap, once per chunk */
	if (level > 0 && !(hc = LZ4_createStreamHC()))
		return -ENOMEM;
	for (size_t s = 0; s < len && r == 0; s += blk) {
		blk = len - s < DELTA_BLOCK ? len - s : DELTA_BLOCK;
		delta_window(blen, align, s, blk, &lo, &n);
		cap = (size_t)LZ4_compressBound((int)blk);
		r = buf_grow(out, DELTA_BLOCK_HEAD + cap);
		if (r < 0)
			break;
		/* no base (blen 0): b is NULL, and so must the window be */
		clen = delta_block(&st, hc, level,
				   n ? (const char *)b + lo : NULL, n,
				   (const char *)p + s, blk,
				   (char *)out->data + out->len + DELTA_BLOCK_HEAD,
				   cap);
		if (clen <= 0) {	/* cannot happen with compressBound */
			r = -EINVAL;
			break;
		}
		/* the head goes in front of the block already written (a
		 * buf_put_* would terminate the buffer over its first byte) */
		delta_put_le32(out->data + out->len, (uint32_t)lo);
		delta_put_le32(out->data + out->len + 4, (uint32_t)n);
		delta_put_le32(out->data + out->len + 8, (uint32_t)clen);
		buf_setlen(out, out->len + DELTA_BLOCK_HEAD + (size_t)clen);
	}
	LZ4_freeStreamHC(hc);
	if (r < 0)
		buf_setlen(out, start);
	return r;
}

int delta_encode(struct buf *out, const void *base, size_t blen,
		 const void *plain, size_t len, int64_t align)
{
	return delta_encode_level(out, base, blen, plain, len, align, 0);
}

int delta_apply(struct buf *out, const void *base, size_t blen,
		const void *payload, size_t plen, uint32_t raw_len)
{
	const uint8_t *b = base, *comp;
	size_t start = out->len, done = 0, blk;
	uint32_t off, n, clen;
	struct rd rd;
	int got, r;

	/* lz4 expands at most 255 times, with a dictionary too: a raw_len
	 * beyond that is a lie, and must not make us allocate it */
	if (raw_len == 0 || (blen && !base) ||
	    raw_len > (uint64_t)plen * DELTA_LZ4_MAX_RATIO + 64)
		return -EBADMSG;
	r = buf_grow(out, raw_len);
	if (r < 0)
		return r;
	rd_init(&rd, payload, plen);
	while (done < raw_len) {
		blk = raw_len - done < DELTA_BLOCK ? raw_len - done
						  : DELTA_BLOCK;
		if (rd_le32(&rd, &off) < 0 || rd_le32(&rd, &n) < 0 ||
		    rd_le32(&rd, &clen) < 0 || clen == 0 ||
		    rd_raw(&rd, &comp, clen) < 0 || n > DELTA_WINDOW ||
		    off > blen || n > blen - off || clen > INT32_MAX)
			goto bad;
		got = LZ4_decompress_safe_usingDict((const char *)comp,
				(char *)out->data + start + done, (int)clen,
				(int)blk, n ? (const char *)b + off : NULL,
				(int)n);
		if (got < 0 || (size_t)got != blk)
			goto bad;
		done += blk;
	}
	if (rd_left(&rd))
		goto bad;
	buf_setlen(out, start + raw_len);
	return 0;
bad:
	buf_setlen(out, start);
	return -EBADMSG;
}

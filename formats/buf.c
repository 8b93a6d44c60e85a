/*
 * buf: growable byte buffer, little-endian/varint writers and the
 * bounds-checked reader used by every decoder.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "buf.h"

uint8_t buf_empty_[1];

void buf_init(struct buf *b, size_t max)
{
	b->data = buf_empty_;
	b->len = 0;
	b->cap = 0;
	b->max = max;
}

void buf_release(struct buf *b)
{
	if (b->cap)
		free(b->data);
	buf_init(b, b->max);
}

void buf_wipe(struct buf *b)
{
	if (b->cap)
		sodium_memzero(b->data, b->cap);
	buf_release(b);
}

void buf_reset(struct buf *b)
{
	b->len = 0;
	/* never write to the shared empty string: other threads read it */
	if (b->cap)
		b->data[0] = '\0';
}

int buf_grow(struct buf *b, size_t extra)
{
	size_t need, ncap;
	uint8_t *p;

	if (extra > SIZE_MAX - b->len - 1)
		return -E2BIG;
	need = b->len + extra + 1;
	if (b->max && need - 1 > b->max)
		return -E2BIG;
	if (need <= b->cap)
		return 0;
	ncap = b->cap ? b->cap : 64;
	while (ncap < need)
		ncap = ncap > SIZE_MAX / 2 ? need : ncap * 2;
	if (b->cap) {
		p = realloc(b->data, ncap);
	} else {
		p = malloc(ncap);
		if (p)
			p[0] = '\0';
	}
	if (!p)
		return -ENOMEM;
	b->data = p;
	b->cap = ncap;
	return 0;
}

int buf_add(struct buf *b, const void *p, size_t n)
{
	int r;

	if (n == 0)
		return 0;
	r = buf_grow(b, n);
	if (r < 0)
		return r;
	memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

int buf_addstr(struct buf *b, const char *s)
{
	return buf_add(b, s, strlen(s));
}

int buf_addch(struct buf *b, int c)
{
	uint8_t ch = (uint8_t)c;

	return buf_add(b, &ch, 1);
}

int buf_vaddf(struct buf *b, const char *fmt, va_list ap)
{
	va_list cp;
	int n, r;

	va_copy(cp, ap);
	n = vsnprintf(NULL, 0, fmt, cp);
	va_end(cp);
	if (n < 0)
		return -EINVAL;
	r = buf_grow(b, (size_t)n);
	if (r < 0)
		return r;
	n = vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
	if (n < 0)
		return -EINVAL;
	b->len += (size_t)n;
	return 0;
}

void buf_seterr(struct buf *err, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return;
	buf_reset(err);
	va_start(ap, fmt);
	buf_vaddf(err, fmt, ap);
	va_end(ap);
}

int buf_addf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = buf_vaddf(b, fmt, ap);
	va_end(ap);
	return r;
}

void buf_setlen(struct buf *b, size_t len)
{
	if (!b->cap)
		return;
	if (len >= b->cap)
		len = b->cap - 1;
	b->len = len;
	b->data[len] = '\0';
}

char *buf_detach(struct buf *b, size_t *len)
{
	char *p;

	/* still the shared empty string: hand out a real allocation */
	if (!b->cap && buf_grow(b, 0) < 0)
		return NULL;
	p = (char *)b->data;
	if (len)
		*len = b->len;
	buf_init(b, b->max);
	return p;
}

int buf_put_u8(struct buf *b, uint8_t v)
{
	return buf_add(b, &v, 1);
}

int buf_put_le16(struct buf *b, uint16_t v)
{
	uint8_t t[2] = { (uint8_t)v, (uint8_t)(v >> 8) };

	return buf_add(b, t, 2);
}

int buf_put_le32(struct buf *b, uint32_t v)
{
	uint8_t t[4];

	for (int i = 0; i < 4; i++)
		t[i] = (uint8_t)(v >> (8 * i));
	return buf_add(b, t, 4);
}

int buf_put_le64(struct buf *b, uint64_t v)
{
	uint8_t t[8];

	for (int i = 0; i < 8; i++)
		t[i] = (uint8_t)(v >> (8 * i));
	return buf_add(b, t, 8);
}

int buf_put_varint(struct buf *b, uint64_t v)
{
	uint8_t t[10];
	size_t n = 0;

	do {
		t[n] = (uint8_t)(v & 0x7f);
		v >>= 7;
		if (v)
			t[n] |= 0x80;
		n++;
	} while (v);
	return buf_add(b, t, n);
}

int buf_put_bytes(struct buf *b, const void *p, size_t n)
{
	int r = buf_put_varint(b, n);

	return r < 0 ? r : buf_add(b, p, n);
}

void rd_init(struct rd *r, const void *p, size_t len)
{
	r->p = p;
	r->len = len;
	r->off = 0;
}

size_t rd_left(const struct rd *r)
{
	return r->len - r->off;
}

int rd_raw(struct rd *r, const uint8_t **p, size_t n)
{
	if (n > rd_left(r))
		return -EBADMSG;
	*p = r->p + r->off;
	r->off += n;
	return 0;
}

int rd_u8(struct rd *r, uint8_t *v)
{
	const uint8_t *p;
	int e = rd_raw(r, &p, 1);

	if (e == 0)
		*v = p[0];
	return e;
}

static uint64_t rd_le(const uint8_t *p, int n)
{
	uint64_t v = 0;

	for (int i = n - 1; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

int rd_le16(struct rd *r, uint16_t *v)
{
	const uint8_t *p;
	int e = rd_raw(r, &p, 2);

	if (e == 0)
		*v = (uint16_t)rd_le(p, 2);
	return e;
}

int rd_le32(struct rd *r, uint32_t *v)
{
	const uint8_t *p;
	int e = rd_raw(r, &p, 4);

	if (e == 0)
		*v = (uint32_t)rd_le(p, 4);
	return e;
}

int rd_le64(struct rd *r, uint64_t *v)
{
	const uint8_t *p;
	int e = rd_raw(r, &p, 8);

	if (e == 0)
		*v = rd_le(p, 8);
	return e;
}

int rd_varint(struct rd *r, uint64_t *v)
{
	uint64_t x = 0;

	for (int i = 0; i < 10; i++) {
		uint8_t c;

		if (rd_u8(r, &c) < 0)
			return -EBADMSG;
		/* the 10th byte may only carry the top bit of 64 */
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

int rd_bytes(struct rd *r, const uint8_t **p, size_t *n, size_t maxlen)
{
	uint64_t len;
	int e = rd_varint(r, &len);

	if (e < 0)
		return e;
	if (len > maxlen || len > rd_left(r))
		return -EBADMSG;
	*n = (size_t)len;
	return rd_raw(r, p, (size_t)len);
}

size_t utf8_seq(const uint8_t *p, size_t n, uint32_t *cp)
{
	uint32_t c;
	size_t len, i;

	if (p[0] < 0x80) {
		len = 1;
		c = p[0];
		goto done;
	}
	if (p[0] >= 0xc2 && p[0] <= 0xdf) {
		len = 2;
		c = p[0] & 0x1f;
	} else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		len = 3;
		c = p[0] & 0x0f;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		len = 4;
		c = p[0] & 0x07;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (p[i] & 0x3f);
	}
	if ((len == 3 && c < 0x800) || (len == 4 && c < 0x10000) ||
	    c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
done:
	if (cp)
		*cp = c;
	return len;
}

void hex_encode(char *out, const uint8_t *in, size_t n)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = '\0';
}

int hex_digit(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int hex_decode(uint8_t *out, size_t n, const char *in)
{
	for (size_t i = 0; i < n; i++) {
		int hi = hex_digit((unsigned char)in[2 * i]), lo;

		if (hi < 0)
			return -EINVAL;
		lo = hex_digit((unsigned char)in[2 * i + 1]);
		if (lo < 0)
			return -EINVAL;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return in[2 * n] == '\0' ? 0 : -EINVAL;
}

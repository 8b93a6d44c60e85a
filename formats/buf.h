/*
 * buf: the one growable byte buffer used everywhere in vault.
 *
 * Invariants (after buf_init or BUF_INIT): data is never NULL, data[len]
 * is always '\0', and the buffer grows geometrically.  An optional cap
 * (max, 0 = none) bounds growth so decoders of hostile input cannot be
 * made to allocate without limit; growth past it fails with -E2BIG.
 */
#ifndef VAULT_BUF_H
#define VAULT_BUF_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

struct buf {
	uint8_t *data;
	size_t len;
	size_t cap;	/* 0 while data points at the shared empty string */
	size_t max;	/* 0 = unbounded */
};

extern uint8_t buf_empty_[1];
#define BUF_INIT { buf_empty_, 0, 0, 0 }

void buf_init(struct buf *b, size_t max);
/* Frees the storage and re-inits (keeps max). Safe on an inited buf. */
void buf_release(struct buf *b);
/* Like buf_release but zeroes the bytes first (secrets). */
void buf_wipe(struct buf *b);
/* len = 0, keeps the storage. */
void buf_reset(struct buf *b);
/* Ensures room for extra more bytes: 0, -ENOMEM or -E2BIG. */
int buf_grow(struct buf *b, size_t extra);
int buf_add(struct buf *b, const void *p, size_t n);
int buf_addstr(struct buf *b, const char *s);
int buf_addch(struct buf *b, int c);
int buf_addf(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int buf_vaddf(struct buf *b, const char *fmt, va_list ap);
/* Replaces an error buffer's text (err may be NULL: the caller did not
 * want the detail), the way library code reports what went wrong. */
void buf_seterr(struct buf *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Sets len (must be <= cap, or 0); keeps the NUL terminator. */
void buf_setlen(struct buf *b, size_t len);
/* Hands the bytes (always malloc'ed, NUL-terminated) to the caller and
 * re-inits b.  *len may be NULL.  Returns NULL only on ENOMEM. */
char *buf_detach(struct buf *b, size_t *len);

/* Little-endian and varint (LEB128, unsigned, at most 10 bytes) writers. */
int buf_put_u8(struct buf *b, uint8_t v);
int buf_put_le16(struct buf *b, uint16_t v);
int buf_put_le32(struct buf *b, uint32_t v);
int buf_put_le64(struct buf *b, uint64_t v);
int buf_put_varint(struct buf *b, uint64_t v);
/* varint length followed by the bytes */
int buf_put_bytes(struct buf *b, const void *p, size_t n);

/*
 * rd: a bounds-checked cursor over untrusted bytes.  Every getter returns
 * 0 or -EBADMSG when the input is too short or malformed (a varint longer
 * than 10 bytes or overflowing 64 bits); it never reads past p + len.
 */
struct rd {
	const uint8_t *p;
	size_t len;
	size_t off;
};

void rd_init(struct rd *r, const void *p, size_t len);
size_t rd_left(const struct rd *r);
int rd_u8(struct rd *r, uint8_t *v);
int rd_le16(struct rd *r, uint16_t *v);
int rd_le32(struct rd *r, uint32_t *v);
int rd_le64(struct rd *r, uint64_t *v);
int rd_varint(struct rd *r, uint64_t *v);
/* Points *p at the next n bytes (no copy). */
int rd_raw(struct rd *r, const uint8_t **p, size_t n);
/* A varint length (must be <= maxlen, else -EBADMSG) then the bytes. */
int rd_bytes(struct rd *r, const uint8_t **p, size_t *n, size_t maxlen);

/*
 * Length of the well-formed UTF-8 sequence at p (1..4; n >= 1 bytes are
 * readable), or 0 when the bytes there are not one: overlong forms,
 * surrogates and code points past U+10FFFF are rejected, as RFC 3629
 * requires.  On success *cp (if cp is not NULL) gets the code point.
 */
size_t utf8_seq(const uint8_t *p, size_t n, uint32_t *cp);

/* Lowercase hex of n bytes into out (2n+1 bytes incl. NUL). */
void hex_encode(char *out, const uint8_t *in, size_t n);
/* Value of one hex digit (either case), or -1 if c is not one. */
int hex_digit(int c);
/* Parses exactly 2n hex digits; 0 or -EINVAL. */
int hex_decode(uint8_t *out, size_t n, const char *in);

#endif

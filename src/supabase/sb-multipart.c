/*
 * sb-multipart: a bounded multipart/form-data parser and builder.  See
 * sb-multipart.h.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sodium.h>

#include "sb-multipart.h"

struct sb_multipart_parser {
	const uint8_t *p;
	size_t n;
	struct buf *err;
};

static int sb_multipart_fail(struct sb_multipart_parser *m, size_t off, const char *what)
{
	if (m->err) {
		buf_reset(m->err);
		buf_addf(m->err, "malformed multipart body at byte %zu: %s", off, what);
	}
	return -EBADMSG;
}

static int sb_multipart_bchar(unsigned char c)
{
	/* RFC 2046 bcharsnospace plus space */
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	       (c >= 'A' && c <= 'Z') || strchr("'()+_,-./:=? ", c) != NULL;
}

static int sb_multipart_boundary_ok(const char *b, size_t n)
{
	size_t i;

	if (n < 1 || n > SB_MULTIPART_MAX_BOUNDARY || b[n - 1] == ' ')
		return 0;
	for (i = 0; i < n; i++)
		if (!b[i] || !sb_multipart_bchar((unsigned char)b[i]))
			return 0;
	return 1;
}

/*
 * Parameters of a header value: "type; key=value; key="quoted"".  Calls
 * back with each key and its unquoted value.  -EBADMSG when malformed.
 */
typedef int (*sb_multipart_param_fn)(void *ctx, const char *key, size_t klen,
			      const char *val, size_t vlen);

static int sb_multipart_params(const char *s, size_t n, sb_multipart_param_fn cb, void *ctx)
{
	struct buf v = BUF_INIT;
	size_t i = 0, ks, kl;
	int r = 0;

	while (i < n && s[i] != ';')
		i++;
	while (r == 0 && i < n) {
		i++;	/* the ';' */
		while (i < n && (s[i] == ' ' || s[i] == '\t'))
			i++;
		if (i >= n)
			break;
		ks = i;
		while (i < n && s[i] != '=' && s[i] != ';' && s[i] != ' ' && s[i] != '\t')
			i++;
		kl = i - ks;
		while (i < n && (s[i] == ' ' || s[i] == '\t'))
			i++;
		if (kl == 0 || i >= n || s[i] != '=') {
			r = -EBADMSG;
			break;
		}
		i++;
		while (i < n && (s[i] == ' ' || s[i] == '\t'))
			i++;
		buf_reset(&v);
		if (i < n && s[i] == '"') {
			for (i++; i < n && s[i] != '"'; i++) {
				if (s[i] == '\\' && i + 1 < n)
					i++;
				r = buf_addch(&v, s[i]);
				if (r < 0)
					break;
			}
			if (r == 0 && i >= n)
				r = -EBADMSG;	/* unterminated quoted string */
			i++;
		} else {
			size_t vs = i;

			while (i < n && s[i] != ';')
				i++;
			while (i > vs && (s[i - 1] == ' ' || s[i - 1] == '\t'))
				i--;
			r = buf_add(&v, s + vs, i - vs);
			while (i < n && s[i] != ';')
				i++;
		}
		if (r == 0)
			r = cb(ctx, s + ks, kl, (const char *)v.data, v.len);
		while (r == 0 && i < n && s[i] != ';') {
			if (s[i] != ' ' && s[i] != '\t')
				r = -EBADMSG;
			i++;
		}
	}
	buf_release(&v);
	return r;
}

struct sb_multipart_bctx {
	struct buf *out;
	int found;
};

static int sb_multipart_boundary_cb(void *ctx, const char *k, size_t kl,
			     const char *v, size_t vl)
{
	struct sb_multipart_bctx *c = ctx;

	if (kl == 8 && strncasecmp(k, "boundary", 8) == 0) {
		if (c->found || !sb_multipart_boundary_ok(v, vl) || strlen(v) != vl)
			return -EINVAL;
		c->found = 1;
		buf_reset(c->out);
		return buf_add(c->out, v, vl);
	}
	return 0;
}

int sb_multipart_boundary(const char *content_type, struct buf *boundary)
{
	struct sb_multipart_bctx c = { boundary, 0 };
	size_t n;
	int r;

	if (!content_type || strncasecmp(content_type, "multipart/", 10) != 0)
		return -EINVAL;
	n = strlen(content_type);
	r = sb_multipart_params(content_type, n, sb_multipart_boundary_cb, &c);
	if (r < 0)
		return -EINVAL;
	return c.found ? 0 : -EINVAL;
}

/* ---- parsing ------------------------------------------------------------- */

struct sb_multipart_partctx {
	struct buf name, filename, filename_ext, ctype;
	int has_name, has_filename, has_filename_ext;
};

static int sb_multipart_disp_cb(void *ctx, const char *k, size_t kl, const char *v,
			 size_t vl)
{
	struct sb_multipart_partctx *pc = ctx;
	size_t i;
	int hi, lo, r = 0;

	if (kl == 4 && strncasecmp(k, "name", 4) == 0) {
		pc->has_name = 1;
		buf_reset(&pc->name);
		return buf_add(&pc->name, v, vl);
	}
	if (kl == 8 && strncasecmp(k, "filename", 8) == 0) {
		pc->has_filename = 1;
		buf_reset(&pc->filename);
		return buf_add(&pc->filename, v, vl);
	}
	if (kl == 9 && strncasecmp(k, "filename*", 9) == 0) {
		/* RFC 8187: charset'language'percent-encoded */
		const char *q1 = memchr(v, '\'', vl), *q2;

		if (!q1)
			return -EBADMSG;
		q2 = memchr(q1 + 1, '\'', vl - (size_t)(q1 + 1 - v));
		if (!q2)
			return -EBADMSG;
		if (!((q1 - v == 5 && strncasecmp(v, "utf-8", 5) == 0) ||
		      (q1 - v == 8 && strncasecmp(v, "us-ascii", 8) == 0)))
			return -EBADMSG;
		buf_reset(&pc->filename_ext);
		for (i = (size_t)(q2 + 1 - v); r == 0 && i < vl; i++) {
			if (v[i] == '%') {
				if (vl - i < 3)
					return -EBADMSG;
				hi = hex_digit((unsigned char)v[i + 1]);
				lo = hex_digit((unsigned char)v[i + 2]);
				if (hi < 0 || lo < 0)
					return -EBADMSG;
				r = buf_addch(&pc->filename_ext, hi * 16 + lo);
				i += 2;
			} else {
				r = buf_addch(&pc->filename_ext, v[i]);
			}
		}
		pc->has_filename_ext = 1;
		return r;
	}
	return 0;
}

/* Next line of [*off, end): sets its length without the line end, moves
 * *off past it.  0 if there is no complete line. */
static int sb_multipart_line(const uint8_t *p, size_t end, size_t *off, size_t *len)
{
	const uint8_t *nl = memchr(p + *off, '\n', end - *off);
	size_t l;

	if (!nl)
		return 0;
	l = (size_t)(nl - (p + *off));
	*len = l && p[*off + l - 1] == '\r' ? l - 1 : l;
	*off += l + 1;
	return 1;
}

/* Offset of the next delimiter line ("--boundary" at a line start,
 * followed by "--", blanks or a line end) at or after from; n if none. */
static size_t sb_multipart_find(const struct sb_multipart_parser *m,
				size_t from, const char *delim,
				size_t dl)
{
	const uint8_t *hit;
	size_t at, after;

	while (from + dl <= m->n) {
		hit = memmem(m->p + from, m->n - from, delim, dl);
		if (!hit)
			return m->n;
		at = (size_t)(hit - m->p);
		after = at + dl;
		if ((at == 0 || m->p[at - 1] == '\n') &&
		    (after == m->n || m->p[after] == '-' || m->p[after] == ' ' ||
		     m->p[after] == '\t' || m->p[after] == '\r' || m->p[after] == '\n'))
			return at;
		from = at + 1;
	}
	return m->n;
}

static void sb_multipart_part_release(struct sb_multipart_partctx *pc)
{
	buf_release(&pc->name);
	buf_release(&pc->filename);
	buf_release(&pc->filename_ext);
	buf_release(&pc->ctype);
}

/* One header line of a part (at offset ls, ll bytes, no line end). */
static int sb_multipart_header(struct sb_multipart_parser *m, size_t ls,
			       size_t ll, struct sb_multipart_partctx *pc)
{
	const uint8_t *line = m->p + ls, *colon;
	const char *v;
	size_t i, nl, vs;
	int r = 0;

	for (i = 0; i < ll; i++)
		if ((line[i] < 0x20 && line[i] != '\t') || line[i] == 0x7f)
			return sb_multipart_fail(m, ls + i, "control character in a part header");
	if (line[0] == ' ' || line[0] == '\t')
		return sb_multipart_fail(m, ls, "folded part header");
	colon = memchr(line, ':', ll);
	if (!colon)
		return sb_multipart_fail(m, ls, "part header without ':'");
	nl = (size_t)(colon - line);
	for (vs = nl + 1; vs < ll && (line[vs] == ' ' || line[vs] == '\t'); vs++)
		;
	v = (const char *)line + vs;
	if (nl == 19 && strncasecmp((const char *)line, "content-disposition", 19) == 0) {
		if (ll - vs < 9 || strncasecmp(v, "form-data", 9) != 0)
			return sb_multipart_fail(m, ls, "not a form-data part");
		r = sb_multipart_params(v, ll - vs, sb_multipart_disp_cb, pc);
		if (r == -EBADMSG)
			return sb_multipart_fail(m, ls, "bad Content-Disposition");
	} else if (nl == 12 && strncasecmp((const char *)line, "content-type", 12) == 0) {
		buf_reset(&pc->ctype);
		r = buf_add(&pc->ctype, v, ll - vs);
	}
	if (r == -E2BIG)
		return sb_multipart_fail(m, ls, "header value too long");
	return r;
}

int sb_multipart_parse(const void *body, size_t n, const char *boundary,
		       size_t max_parts, sb_multipart_fn cb, void *ctx,
		       struct buf *err)
{
	struct sb_multipart_parser m = { body, n, err };
	struct sb_multipart_partctx pc;
	struct sb_multipart_part part;
	char delim[SB_MULTIPART_MAX_BOUNDARY + 3];
	size_t dl, at, off, hs, lim, ll, ls, next, dend, parts = 0;
	int r = 0;

	dl = strlen(boundary);
	if (!sb_multipart_boundary_ok(boundary, dl)) {
		if (err) {
			buf_reset(err);
			buf_addstr(err, "invalid multipart boundary");
		}
		return -EINVAL;
	}
	delim[0] = delim[1] = '-';
	memcpy(delim + 2, boundary, dl);
	dl += 2;
	delim[dl] = '\0';
	memset(&pc, 0, sizeof(pc));
	buf_init(&pc.name, 4096);
	buf_init(&pc.filename, 4096);
	buf_init(&pc.filename_ext, 4096);
	buf_init(&pc.ctype, 1024);

	at = sb_multipart_find(&m, 0, delim, dl);
	if (at == n) {
		r = sb_multipart_fail(&m, 0, "no boundary");
		goto out;
	}
	for (;;) {
		off = at + dl;
		if (n - off >= 2 && m.p[off] == '-' && m.p[off + 1] == '-')
			break;	/* the close delimiter; the epilogue is ignored */
		while (off < n && (m.p[off] == ' ' || m.p[off] == '\t'))
			off++;
		if (off < n && m.p[off] == '\r')
			off++;
		if (off >= n || m.p[off] != '\n') {
			r = sb_multipart_fail(&m, off, off >= n ? "truncated after a boundary"
					      : "text after a boundary");
			goto out;
		}
		off++;
		if (++parts > max_parts) {
			r = sb_multipart_fail(&m, at, "too many parts");
			r = -E2BIG;
			goto out;
		}
		/* the part's headers, up to an empty line */
		pc.has_name = pc.has_filename = pc.has_filename_ext = 0;
		buf_reset(&pc.ctype);
		hs = off;
		lim = n - hs > SB_MULTIPART_MAX_HEADERS ? hs + SB_MULTIPART_MAX_HEADERS : n;
		for (;;) {
			ls = off;
			if (!sb_multipart_line(m.p, lim, &off, &ll)) {
				r = sb_multipart_fail(&m, off, lim < n ? "part headers too long" :
						      "truncated part headers");
				goto out;
			}
			if (ll == 0)
				break;
			r = sb_multipart_header(&m, ls, ll, &pc);
			if (r < 0)
				goto out;
		}
		/* the content, up to the line end before the next delimiter */
		next = sb_multipart_find(&m, off, delim, dl);
		if (next == n) {
			r = sb_multipart_fail(&m, off, "truncated: no closing boundary");
			goto out;
		}
		dend = next;
		if (dend > off && m.p[dend - 1] == '\n')
			dend--;
		if (dend > off && m.p[dend - 1] == '\r')
			dend--;
		if (dend < off)
			dend = off;
		memset(&part, 0, sizeof(part));
		part.name = pc.has_name ? (const char *)pc.name.data : NULL;
		part.filename = pc.has_filename_ext ? (const char *)pc.filename_ext.data :
				pc.has_filename ? (const char *)pc.filename.data : NULL;
		part.content_type = pc.ctype.len ? (const char *)pc.ctype.data : NULL;
		part.data = m.p + off;
		part.len = dend - off;
		r = cb(ctx, &part);
		if (r)
			goto out;
		at = next;
	}
out:
	sb_multipart_part_release(&pc);
	return r;
}

/* ---- building --------------------------------------------------------------- */

void sb_multipart_new_boundary(char out[SB_MULTIPART_MAX_BOUNDARY + 1])
{
	unsigned char rnd[16];
	size_t i;

	randombytes_buf(rnd, sizeof(rnd));
	memcpy(out, "vault-", 6);
	for (i = 0; i < sizeof(rnd); i++)
		snprintf(out + 6 + 2 * i, 3, "%02x", rnd[i]);
}

static int sb_multipart_quoted(struct buf *out, const char *s)
{
	int r = buf_addch(out, '"');

	for (; r == 0 && *s; s++) {
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return -EINVAL;
		if (*s == '"' || *s == '\\')
			r = buf_addch(out, '\\');
		if (r == 0)
			r = buf_addch(out, *s);
	}
	if (r == 0)
		r = buf_addch(out, '"');
	return r;
}

int sb_multipart_add(struct buf *out, const char *boundary, const char *name,
		     const char *filename, const char *content_type,
		     const void *data, size_t n)
{
	int r;

	r = buf_addf(out, "--%s\r\nContent-Disposition: form-data; name=", boundary);
	if (r == 0)
		r = sb_multipart_quoted(out, name);
	if (r == 0 && filename) {
		r = buf_addstr(out, "; filename=");
		if (r == 0)
			r = sb_multipart_quoted(out, filename);
	}
	if (r == 0 && content_type) {
		const char *c;

		for (c = content_type; *c; c++)
			if ((unsigned char)*c < 0x20 || *c == 0x7f)
				return -EINVAL;
		r = buf_addf(out, "\r\nContent-Type: %s", content_type);
	}
	if (r == 0)
		r = buf_addstr(out, "\r\n\r\n");
	if (r == 0)
		r = buf_add(out, data, n);
	if (r == 0)
		r = buf_addstr(out, "\r\n");
	return r;
}

int sb_multipart_finish(struct buf *out, const char *boundary)
{
	return buf_addf(out, "--%s--\r\n", boundary);
}

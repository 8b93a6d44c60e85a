/*
 * pg-names: percent-encoding of identifiers into snapshot path segments,
 * and quoting of identifiers and literals for the SQL files vault writes.
 */
#include <errno.h>
#include <string.h>

#include "pg-names.h"

static int pg_names_needs_escape(unsigned char c)
{
	return c == '%' || c == '/' || c < 0x20 || c == 0x7f;
}

static int pg_names_add_escape(struct buf *out, unsigned char c)
{
	static const char hex[] = "0123456789ABCDEF";
	char e[3] = { '%', hex[c >> 4], hex[c & 15] };

	return buf_add(out, e, 3);
}

int pg_names_encode(struct buf *out, const char *ident, size_t len,
		    unsigned flags)
{
	int dots, r = 0;

	if (len == 0)
		return -EINVAL;
	/* "." and ".." would name the directory itself or its parent */
	dots = (len == 1 && ident[0] == '.') ||
	       (len == 2 && ident[0] == '.' && ident[1] == '.');
	for (size_t i = 0; i < len && r == 0; i++) {
		unsigned char c = (unsigned char)ident[i];

		if (dots || pg_names_needs_escape(c) ||
		    (i == 0 && (flags & PG_NAMES_ESCAPE_FIRST)))
			r = pg_names_add_escape(out, c);
		else
			r = buf_addch(out, c);
	}
	return r;
}

int pg_names_decode(struct buf *out, const char *seg, size_t len)
{
	int r = 0;

	/* the encoder never leaves these raw: they are not names */
	if (len == 0 || (len == 1 && seg[0] == '.') ||
	    (len == 2 && seg[0] == '.' && seg[1] == '.'))
		return -EINVAL;
	for (size_t i = 0; i < len && r == 0; i++) {
		int hi, lo;

		if (seg[i] == '/' || seg[i] == '\0')
			return -EINVAL;
		if (seg[i] != '%') {
			r = buf_addch(out, seg[i]);
			continue;
		}
		if (len - i < 3)
			return -EINVAL;
		hi = hex_digit((unsigned char)seg[i + 1]);
		lo = hex_digit((unsigned char)seg[i + 2]);
		/* identifiers never hold NUL; an encoded one is corruption */
		if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
			return -EINVAL;
		r = buf_addch(out, hi << 4 | lo);
		i += 2;
	}
	return r;
}

int pg_names_quote_ident(struct buf *out, const char *ident)
{
	int r = buf_addch(out, '"');

	for (const char *p = ident; *p && r == 0; p++) {
		if (*p == '"')
			r = buf_addch(out, '"');
		if (r == 0)
			r = buf_addch(out, *p);
	}
	return r ? r : buf_addch(out, '"');
}

int pg_names_quote_ident_line(struct buf *out, const char *ident)
{
	const unsigned char *p;
	int r;

	for (p = (const unsigned char *)ident; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			break;
	if (!*p)
		return pg_names_quote_ident(out, ident);
	/* U&"...": \XXXX is the code point (below 0x80, so valid in every
	 * server encoding); '\' itself doubles, '"' too */
	r = buf_addstr(out, "U&\"");
	for (p = (const unsigned char *)ident; *p && r == 0; p++) {
		if (*p == '"' || *p == '\\')
			r = buf_addch(out, *p);
		if (r == 0 && (*p < 0x20 || *p == 0x7f))
			r = buf_addf(out, "\\%04x", *p);
		else if (r == 0)
			r = buf_addch(out, *p);
	}
	return r ? r : buf_addch(out, '"');
}

int pg_names_quote_qualified(struct buf *out, const char *schema,
			     const char *name)
{
	int r = pg_names_quote_ident(out, schema);

	if (r == 0)
		r = buf_addch(out, '.');
	return r ? r : pg_names_quote_ident(out, name);
}

int pg_names_quote_literal(struct buf *out, const char *s)
{
	int esc = strchr(s, '\\') != NULL;
	int r = buf_addstr(out, esc ? "E'" : "'");

	for (const char *p = s; *p && r == 0; p++) {
		if (*p == '\'' || (esc && *p == '\\'))
			r = buf_addch(out, *p);
		if (r == 0)
			r = buf_addch(out, *p);
	}
	return r ? r : buf_addch(out, '\'');
}

int pg_names_quote_json(struct buf *out, const char *s)
{
	int r = buf_addch(out, '"');

	for (const unsigned char *p = (const unsigned char *)s; *p && r == 0; p++) {
		if (*p == '"' || *p == '\\')
			r = buf_addf(out, "\\%c", *p);
		else if (*p == '\n')
			r = buf_addstr(out, "\\n");
		else if (*p == '\t')
			r = buf_addstr(out, "\\t");
		else if (*p < 0x20 || *p == 0x7f)
			r = buf_addf(out, "\\u%04x", *p);
		else
			r = buf_addch(out, *p);
	}
	return r ? r : buf_addch(out, '"');
}

int pg_names_quote_json_array(struct buf *out, char *const *v, size_t n)
{
	int r = buf_addch(out, '[');

	for (size_t i = 0; i < n && r == 0; i++) {
		r = buf_addstr(out, i ? ", " : "");
		if (r == 0)
			r = pg_names_quote_json(out, v[i]);
	}
	return r ? r : buf_addch(out, ']');
}

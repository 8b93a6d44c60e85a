/*
 * json: a recursive-descent JSON reader with a depth limit, strict
 * UTF-8 validation, and the matching writer.  See json.h.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

struct json {
	enum json_type type;
	char *s;		/* string value, or a number's text */
	size_t slen;
	struct json **items;	/* array elements / object values */
	char **keys;		/* object member names */
	size_t *keylens;
	size_t n, cap;
};

struct json_parser {
	const unsigned char *p;
	size_t n, off;
	struct buf *err;
};

static int json_fail(struct json_parser *ps, const char *what)
{
	if (ps->err) {
		buf_reset(ps->err);
		buf_addf(ps->err, "malformed JSON at byte %zu: %s", ps->off, what);
	}
	return -EBADMSG;
}

void json_free(struct json *j)
{
	size_t i;

	if (!j)
		return;
	for (i = 0; i < j->n; i++) {
		json_free(j->items[i]);
		if (j->keys)
			free(j->keys[i]);
	}
	free(j->items);
	free(j->keys);
	free(j->keylens);
	free(j->s);
	free(j);
}

static void json_ws(struct json_parser *ps)
{
	while (ps->off < ps->n && (ps->p[ps->off] == ' ' || ps->p[ps->off] == '\t' ||
				   ps->p[ps->off] == '\n' || ps->p[ps->off] == '\r'))
		ps->off++;
}

static int json_put_utf8(struct buf *b, uint32_t cp)
{
	unsigned char u[4];
	size_t n;

	if (cp < 0x80) {
		u[0] = (unsigned char)cp;
		n = 1;
	} else if (cp < 0x800) {
		u[0] = (unsigned char)(0xc0 | (cp >> 6));
		u[1] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		u[0] = (unsigned char)(0xe0 | (cp >> 12));
		u[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		u[2] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		u[0] = (unsigned char)(0xf0 | (cp >> 18));
		u[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
		u[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		u[3] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	return buf_add(b, u, n);
}

static int json_hex4(struct json_parser *ps, uint32_t *v)
{
	size_t i;
	int d;

	if (ps->n - ps->off < 4)
		return json_fail(ps, "short \\u escape");
	*v = 0;
	for (i = 0; i < 4; i++) {
		d = hex_digit(ps->p[ps->off + i]);
		if (d < 0)
			return json_fail(ps, "bad \\u escape");
		*v = *v << 4 | (uint32_t)d;
	}
	ps->off += 4;
	return 0;
}

/* Parses a string literal (ps at the opening quote) into out. */
static int json_string(struct json_parser *ps, struct buf *out)
{
	uint32_t cp, lo;
	size_t len;
	unsigned c;
	int r;

	ps->off++;
	for (;;) {
		if (ps->off >= ps->n)
			return json_fail(ps, "unterminated string");
		c = ps->p[ps->off];
		if (c == '"') {
			ps->off++;
			return 0;
		}
		if (c < 0x20)
			return json_fail(ps, "control character in string");
		if (c != '\\') {
			len = utf8_seq(ps->p + ps->off, ps->n - ps->off, NULL);
			if (!len)
				return json_fail(ps, "invalid UTF-8");
			r = buf_add(out, ps->p + ps->off, len);
			if (r < 0)
				return r;
			ps->off += len;
			continue;
		}
		if (++ps->off >= ps->n)
			return json_fail(ps, "unterminated escape");
		c = ps->p[ps->off++];
		switch (c) {
		case '"': case '\\': case '/':
			r = buf_addch(out, (int)c);
			break;
		case 'b': r = buf_addch(out, '\b'); break;
		case 'f': r = buf_addch(out, '\f'); break;
		case 'n': r = buf_addch(out, '\n'); break;
		case 'r': r = buf_addch(out, '\r'); break;
		case 't': r = buf_addch(out, '\t'); break;
		case 'u':
			r = json_hex4(ps, &cp);
			if (r < 0)
				return r;
			if (cp >= 0xdc00 && cp <= 0xdfff)
				return json_fail(ps, "lone low surrogate");
			if (cp >= 0xd800 && cp <= 0xdbff) {
				if (ps->n - ps->off < 2 || ps->p[ps->off] != '\\' ||
				    ps->p[ps->off + 1] != 'u')
					return json_fail(ps, "lone high surrogate");
				ps->off += 2;
				r = json_hex4(ps, &lo);
				if (r < 0)
					return r;
				if (lo < 0xdc00 || lo > 0xdfff)
					return json_fail(ps, "bad surrogate pair");
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
			}
			r = json_put_utf8(out, cp);
			break;
		default:
			return json_fail(ps, "bad escape");
		}
		if (r < 0)
			return r;
	}
}

static int json_number(struct json_parser *ps, struct json *j)
{
	size_t start = ps->off;
	const unsigned char *p = ps->p;

#define SB_DIGIT(i) ((i) < ps->n && p[i] >= '0' && p[i] <= '9')
	if (ps->off < ps->n && p[ps->off] == '-')
		ps->off++;
	if (!SB_DIGIT(ps->off))
		return json_fail(ps, "bad number");
	if (p[ps->off] == '0')
		ps->off++;
	else
		while (SB_DIGIT(ps->off))
			ps->off++;
	if (ps->off < ps->n && p[ps->off] == '.') {
		ps->off++;
		if (!SB_DIGIT(ps->off))
			return json_fail(ps, "bad fraction");
		while (SB_DIGIT(ps->off))
			ps->off++;
	}
	if (ps->off < ps->n && (p[ps->off] == 'e' || p[ps->off] == 'E')) {
		ps->off++;
		if (ps->off < ps->n && (p[ps->off] == '+' || p[ps->off] == '-'))
			ps->off++;
		if (!SB_DIGIT(ps->off))
			return json_fail(ps, "bad exponent");
		while (SB_DIGIT(ps->off))
			ps->off++;
	}
#undef SB_DIGIT
	j->slen = ps->off - start;
	j->s = malloc(j->slen + 1);
	if (!j->s)
		return -ENOMEM;
	memcpy(j->s, p + start, j->slen);
	j->s[j->slen] = '\0';
	return 0;
}

static int json_push(struct json *j, struct json *v, char *key,
			size_t keylen)
{
	size_t ncap;
	void *t;

	if (j->n == j->cap) {
		ncap = j->cap ? j->cap * 2 : 4;
		t = realloc(j->items, ncap * sizeof(*j->items));
		if (!t)
			return -ENOMEM;
		j->items = t;
		if (j->type == JSON_OBJECT) {
			t = realloc(j->keys, ncap * sizeof(*j->keys));
			if (!t)
				return -ENOMEM;
			j->keys = t;
			t = realloc(j->keylens, ncap * sizeof(*j->keylens));
			if (!t)
				return -ENOMEM;
			j->keylens = t;
		}
		j->cap = ncap;
	}
	j->items[j->n] = v;
	if (j->type == JSON_OBJECT) {
		j->keys[j->n] = key;
		j->keylens[j->n] = keylen;
	}
	j->n++;
	return 0;
}

static int json_value(struct json_parser *ps, struct json **out,
			 int depth);

static int json_container(struct json_parser *ps, struct json *j,
			     int depth)
{
	int obj = j->type == JSON_OBJECT;
	char close = obj ? '}' : ']';
	struct buf key = BUF_INIT;
	struct json *v;
	char *k;
	size_t klen;
	int r;

	ps->off++;
	json_ws(ps);
	if (ps->off < ps->n && ps->p[ps->off] == (unsigned char)close) {
		ps->off++;
		return 0;
	}
	for (;;) {
		k = NULL;
		klen = 0;
		if (obj) {
			json_ws(ps);
			if (ps->off >= ps->n || ps->p[ps->off] != '"') {
				r = json_fail(ps, "expected member name");
				goto out;
			}
			buf_reset(&key);
			r = json_string(ps, &key);
			if (r < 0)
				goto out;
			json_ws(ps);
			if (ps->off >= ps->n || ps->p[ps->off] != ':') {
				r = json_fail(ps, "expected ':'");
				goto out;
			}
			ps->off++;
			klen = key.len;
			k = buf_detach(&key, NULL);
			if (!k) {
				r = -ENOMEM;
				goto out;
			}
		}
		r = json_value(ps, &v, depth + 1);
		if (r < 0) {
			free(k);
			goto out;
		}
		r = json_push(j, v, k, klen);
		if (r < 0) {
			json_free(v);
			free(k);
			goto out;
		}
		json_ws(ps);
		if (ps->off >= ps->n) {
			r = json_fail(ps, "unterminated container");
			goto out;
		}
		if (ps->p[ps->off] == ',') {
			ps->off++;
			continue;
		}
		if (ps->p[ps->off] == (unsigned char)close) {
			ps->off++;
			r = 0;
			goto out;
		}
		r = json_fail(ps, "expected ',' or end of container");
		goto out;
	}
out:
	buf_release(&key);
	return r;
}

static int json_lit(struct json_parser *ps, const char *lit)
{
	size_t n = strlen(lit);

	if (ps->n - ps->off < n || memcmp(ps->p + ps->off, lit, n) != 0)
		return json_fail(ps, "unexpected token");
	ps->off += n;
	return 0;
}

static int json_value(struct json_parser *ps, struct json **out,
			 int depth)
{
	struct json *j;
	struct buf s = BUF_INIT;
	int r;

	*out = NULL;
	if (depth > JSON_MAX_DEPTH)
		return json_fail(ps, "nested too deeply");
	json_ws(ps);
	if (ps->off >= ps->n)
		return json_fail(ps, "unexpected end of input");
	j = calloc(1, sizeof(*j));
	if (!j)
		return -ENOMEM;
	switch (ps->p[ps->off]) {
	case '{':
		j->type = JSON_OBJECT;
		r = json_container(ps, j, depth);
		break;
	case '[':
		j->type = JSON_ARRAY;
		r = json_container(ps, j, depth);
		break;
	case '"':
		j->type = JSON_STRING;
		r = json_string(ps, &s);
		if (r == 0) {
			j->slen = s.len;
			j->s = buf_detach(&s, NULL);
			if (!j->s)
				r = -ENOMEM;
		}
		buf_release(&s);
		break;
	case 't':
		j->type = JSON_TRUE;
		r = json_lit(ps, "true");
		break;
	case 'f':
		j->type = JSON_FALSE;
		r = json_lit(ps, "false");
		break;
	case 'n':
		j->type = JSON_NULL;
		r = json_lit(ps, "null");
		break;
	default:
		j->type = JSON_NUMBER;
		r = json_number(ps, j);
		break;
	}
	if (r < 0) {
		json_free(j);
		return r;
	}
	*out = j;
	return 0;
}

int json_parse(struct json **out, const void *p, size_t n,
		  struct buf *err)
{
	struct json_parser ps = { p, n, 0, err };
	struct json *j;
	int r;

	*out = NULL;
	r = json_value(&ps, &j, 0);
	if (r < 0) {
		if (r == -ENOMEM && err) {
			buf_reset(err);
			buf_addstr(err, "out of memory parsing JSON");
		}
		return r;
	}
	json_ws(&ps);
	if (ps.off != ps.n) {
		json_free(j);
		return json_fail(&ps, "trailing data");
	}
	*out = j;
	return 0;
}

enum json_type json_type(const struct json *j)
{
	return j ? j->type : JSON_NULL;
}

size_t json_len(const struct json *j)
{
	if (!j || (j->type != JSON_ARRAY && j->type != JSON_OBJECT))
		return 0;
	return j->n;
}

const struct json *json_at(const struct json *j, size_t i)
{
	if (!j || (j->type != JSON_ARRAY && j->type != JSON_OBJECT) ||
	    i >= j->n)
		return NULL;
	return j->items[i];
}

const char *json_key_at(const struct json *j, size_t i, size_t *len)
{
	if (!j || j->type != JSON_OBJECT || i >= j->n)
		return NULL;
	if (len)
		*len = j->keylens[i];
	return j->keys[i];
}

const struct json *json_get(const struct json *j, const char *key)
{
	size_t i, kl;

	if (!j || j->type != JSON_OBJECT)
		return NULL;
	kl = strlen(key);
	for (i = 0; i < j->n; i++)
		if (j->keylens[i] == kl && memcmp(j->keys[i], key, kl) == 0)
			return j->items[i];
	return NULL;
}

const char *json_str(const struct json *j, size_t *len)
{
	if (!j || j->type != JSON_STRING)
		return NULL;
	if (len)
		*len = j->slen;
	return j->s;
}

const char *json_get_str(const struct json *j, const char *key)
{
	return json_str(json_get(j, key), NULL);
}

char *json_get_strdup(const struct json *j, const char *key, int *err)
{
	const char *s = json_get_str(j, key);
	char *d;

	if (!s)
		return NULL;
	d = strdup(s);
	if (!d)
		*err = -ENOMEM;
	return d;
}

int json_int(const struct json *j, int64_t *v)
{
	const char *s;
	char *end;
	long long x;

	if (!j || (j->type != JSON_NUMBER && j->type != JSON_STRING))
		return -EINVAL;
	s = j->s;
	if (!s || !*s || strlen(s) != j->slen)
		return -EINVAL;
	if (!((s[0] >= '0' && s[0] <= '9') || s[0] == '-'))
		return -EINVAL;
	errno = 0;
	x = strtoll(s, &end, 10);
	if (errno || *end)
		return -EINVAL;
	*v = x;
	return 0;
}

int json_bool(const struct json *j)
{
	if (j && j->type == JSON_TRUE)
		return 1;
	if (j && j->type == JSON_FALSE)
		return 0;
	return -EINVAL;
}

int json_is_null(const struct json *j)
{
	return j && j->type == JSON_NULL;
}

int json_quote(struct buf *out, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, len;
	int r;

	r = buf_addch(out, '"');
	while (r == 0 && i < n) {
		unsigned c = p[i];

		if (c == '"' || c == '\\') {
			r = buf_addch(out, '\\');
			if (r == 0)
				r = buf_addch(out, (int)c);
			i++;
		} else if (c < 0x20 || c == 0x7f) {
			r = buf_addf(out, "\\u%04x", c);
			i++;
		} else {
			len = utf8_seq(p + i, n - i, NULL);
			if (!len)
				return -EILSEQ;
			r = buf_add(out, p + i, len);
			i += len;
		}
	}
	if (r == 0)
		r = buf_addch(out, '"');
	return r;
}

int json_write(struct buf *out, const struct json *j)
{
	size_t i;
	int r = 0;

	if (!j)
		return buf_addstr(out, "null");
	switch (j->type) {
	case JSON_NULL:
		return buf_addstr(out, "null");
	case JSON_TRUE:
		return buf_addstr(out, "true");
	case JSON_FALSE:
		return buf_addstr(out, "false");
	case JSON_NUMBER:
		return buf_add(out, j->s, j->slen);
	case JSON_STRING:
		return json_quote(out, j->s, j->slen);
	case JSON_ARRAY:
	case JSON_OBJECT:
		r = buf_addch(out, j->type == JSON_ARRAY ? '[' : '{');
		for (i = 0; r == 0 && i < j->n; i++) {
			if (i)
				r = buf_addch(out, ',');
			if (r == 0 && j->type == JSON_OBJECT) {
				r = json_quote(out, j->keys[i], j->keylens[i]);
				if (r == 0)
					r = buf_addch(out, ':');
			}
			if (r == 0)
				r = json_write(out, j->items[i]);
		}
		if (r == 0)
			r = buf_addch(out, j->type == JSON_ARRAY ? ']' : '}');
		return r;
	}
	return -EINVAL;
}

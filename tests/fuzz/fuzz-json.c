/*
 * fuzz-json: json_parse (formats/json.h), the bounded reader of the
 * answers of Supabase's APIs, on text from outside; and json_quote on
 * the same bytes taken as a name.
 *
 * Invariants: the codes are the documented ones, and a malformation says
 * where (a non-empty message in err); every lookup on a parsed tree
 * agrees with its shape (json_len and json_at, json_key_at and json_get
 * finding the first member of a name, strings terminated at their
 * length, numbers as written); parse -> write -> parse -> write gives
 * the same text twice; and json_quote accepts exactly the valid UTF-8
 * strings, whose quoted form parses back to the same bytes.
 */
#include <errno.h>

#include "json.h"
#include "fuzz.h"

const char fuzz_name[] = "json";

/* Walks the tree, checking every accessor against the others. */
static void walk(const struct json *j, int depth)
{
	enum json_type t = json_type(j);
	size_t n = json_len(j), len = 0;
	const char *s = json_str(j, &len);
	int64_t v;
	int b;

	FUZZ_CHECK(depth <= JSON_MAX_DEPTH);
	FUZZ_CHECK(t >= JSON_NULL && t <= JSON_OBJECT);
	FUZZ_CHECK((s != NULL) == (t == JSON_STRING));
	if (s)
		FUZZ_CHECK(s[len] == '\0');
	b = json_bool(j);
	FUZZ_CHECK(b == (t == JSON_TRUE ? 1 : t == JSON_FALSE ? 0 : -EINVAL));
	FUZZ_CHECK(json_is_null(j) == (t == JSON_NULL));
	if (json_int(j, &v) == 0)
		FUZZ_CHECK(t == JSON_NUMBER || t == JSON_STRING);
	if (t != JSON_ARRAY && t != JSON_OBJECT) {
		FUZZ_CHECK(n == 0 && json_at(j, 0) == NULL);
		return;
	}
	FUZZ_CHECK(json_at(j, n) == NULL);
	FUZZ_CHECK(json_get(j, "") == NULL || t == JSON_OBJECT);
	for (size_t i = 0; i < n; i++) {
		const struct json *c = json_at(j, i);
		size_t klen = 7;
		const char *k = json_key_at(j, i, &klen);

		FUZZ_CHECK(c != NULL);
		if (t == JSON_ARRAY) {
			FUZZ_CHECK(k == NULL);
		} else {
			FUZZ_CHECK(k != NULL && k[klen] == '\0');
			/* json_get finds the first member of the name */
			if (strlen(k) == klen) {
				size_t first = 0, flen = 0;
				const char *f;

				for (;; first++) {
					f = json_key_at(j, first, &flen);
					if (flen == klen &&
					    memcmp(f, k, klen) == 0)
						break;
				}
				FUZZ_CHECK(first <= i &&
					   json_get(j, k) == json_at(j, first));
			}
		}
		walk(c, depth + 1);
	}
}

/* A reference UTF-8 check (RFC 3629, table 3-7 of Unicode), kept apart
 * from utf8_seq so the two can disagree. */
static int utf8_valid(const uint8_t *p, size_t n)
{
	size_t i = 0;

	while (i < n) {
		uint8_t c = p[i];
		uint8_t lo = 0x80, hi = 0xbf;
		size_t k;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			k = 1;
		else if (c >= 0xe0 && c <= 0xef)
			k = 2;
		else if (c >= 0xf0 && c <= 0xf4)
			k = 3;
		else
			return 0;
		if (c == 0xe0)
			lo = 0xa0;
		else if (c == 0xed)
			hi = 0x9f;
		else if (c == 0xf0)
			lo = 0x90;
		else if (c == 0xf4)
			hi = 0x8f;
		if (n - i <= k)
			return 0;
		if (p[i + 1] < lo || p[i + 1] > hi)
			return 0;
		for (size_t m = 2; m <= k; m++)
			if (p[i + m] < 0x80 || p[i + m] > 0xbf)
				return 0;
		i += k + 1;
	}
	return 1;
}

static void check_quote(const uint8_t *p, size_t n)
{
	struct buf q = BUF_INIT, err = BUF_INIT;
	struct json *j;
	const char *s;
	size_t len;
	int r = json_quote(&q, (const char *)p, n);

	FUZZ_CHECK(r == 0 || r == -EILSEQ || r == -ENOMEM);
	if (r != -ENOMEM)
		FUZZ_CHECK((r == 0) == utf8_valid(p, n));
	if (r == 0) {
		FUZZ_CHECK(json_parse(&j, q.data, q.len, &err) == 0);
		s = json_str(j, &len);
		FUZZ_CHECK(s && len == n && memcmp(s, p, n) == 0);
		json_free(j);
	}
	buf_release(&q);
	buf_release(&err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf err = BUF_INIT, w1 = BUF_INIT, w2 = BUF_INIT;
	struct json *j = (struct json *)1, *j2;
	int r = json_parse(&j, data, size, &err);

	FUZZ_CHECK(r == 0 || r == -EBADMSG || r == -ENOMEM);
	if (r < 0) {
		FUZZ_CHECK(j == NULL);
		FUZZ_CHECK(err.len > 0 && strlen((char *)err.data) == err.len);
	} else {
		walk(j, 0);
		FUZZ_CHECK(json_write(&w1, j) == 0);
		FUZZ_CHECK(json_parse(&j2, w1.data, w1.len, &err) == 0);
		walk(j2, 0);
		FUZZ_CHECK(json_write(&w2, j2) == 0);
		FUZZ_CHECK(w1.len == w2.len &&
			   memcmp(w1.data, w2.data, w1.len) == 0);
		json_free(j2);
	}
	json_free(j);
	check_quote(data, size);
	buf_release(&err);
	buf_release(&w1);
	buf_release(&w2);
	return 0;
}

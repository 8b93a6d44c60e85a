/*
 * test-json: the bounded JSON reader (formats/json.c): valid documents,
 * every truncation of one, bad UTF-8 and surrogates, the depth limit,
 * quoting.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "json.h"
#include "../tap.h"

/* ---- json ------------------------------------------------------------- */

static int parses(const char *s)
{
	struct json *j = NULL;
	int r = json_parse(&j, s, strlen(s), NULL);

	json_free(j);
	return r == 0;
}

static void test_json(void)
{
	static const char doc[] =
		"{\"name\":\"a\\u00e9\\ud83d\\ude00\\n\",\"id\":null,\"n\":-12,"
		"\"f\":1.5e3,\"t\":true,\"arr\":[1,[2,{}],\"x\"],\"s\":\"404\","
		"\"nul\":\"a\\u0000b\"}";
	struct json *j = NULL;
	struct buf out = BUF_INIT, err = BUF_INIT;
	const char *s;
	size_t len, i, bad = 0;
	int64_t v;
	char deep[200];

	ok(json_parse(&j, doc, strlen(doc), &err) == 0, "json: a document parses");
	s = json_get_str(j, "name");
	ok(s && strcmp(s, "a\xc3\xa9\xf0\x9f\x98\x80\n") == 0,
	   "json: escapes and a surrogate pair decode to UTF-8");
	ok(json_is_null(json_get(j, "id")), "json: null");
	ok(json_int(json_get(j, "n"), &v) == 0 && v == -12, "json: integer");
	ok(json_int(json_get(j, "f"), &v) < 0, "json: a fraction is not an integer");
	ok(json_int(json_get(j, "s"), &v) == 0 && v == 404,
	   "json: a digit string reads as an integer (Storage's statusCode)");
	ok(json_bool(json_get(j, "t")) == 1, "json: true");
	is_int(json_len(json_get(j, "arr")), 3, "json: array length");
	s = json_str(json_get(j, "nul"), &len);
	ok(s && len == 3 && s[1] == '\0', "json: \\u0000 is kept with its length");
	ok(json_get(j, "missing") == NULL && json_get_str(j, "n") == NULL,
	   "json: missing member and wrong type give NULL");
	ok(json_write(&out, j) == 0 && parses((const char *)out.data),
	   "json: re-encoding gives valid JSON");
	json_free(j);

	/* every strict prefix of the document is rejected */
	for (i = 0; i < strlen(doc); i++) {
		j = NULL;
		if (json_parse(&j, doc, i, NULL) != -EBADMSG)
			bad++;
		json_free(j);
	}
	is_int(bad, 0, "json: all %zu truncations are -EBADMSG", strlen(doc));

	ok(!parses("\"\xc3\x28\""), "json: invalid UTF-8 rejected");
	ok(!parses("\"\xed\xa0\x80\""), "json: encoded surrogate rejected");
	ok(!parses("\"\\ud800\""), "json: lone high surrogate rejected");
	ok(!parses("\"\\udc00\""), "json: lone low surrogate rejected");
	ok(!parses("\"a\x01\""), "json: raw control character rejected");
	ok(!parses("[1,]") && !parses("{\"a\" 1}") && !parses("01") && !parses("1 2"),
	   "json: syntax errors rejected");
	memset(deep, '[', sizeof(deep));
	deep[sizeof(deep) - 1] = '\0';
	buf_reset(&err);
	ok(json_parse(&j, deep, strlen(deep), &err) == -EBADMSG &&
	   strstr((const char *)err.data, "deeply"), "json: nesting limit");

	buf_reset(&out);
	ok(json_quote(&out, "a\"\\\n\x01\x7f", 6) == 0 &&
	   strcmp((const char *)out.data, "\"a\\\"\\\\\\u000a\\u0001\\u007f\"") == 0,
	   "json: quoting escapes quotes, backslashes and controls");
	buf_reset(&out);
	ok(json_quote(&out, "\xff", 1) == -EILSEQ, "json: quoting refuses invalid UTF-8");
	buf_release(&out);
	buf_release(&err);
}

int main(void)
{
	test_json();
	return done_testing();
}

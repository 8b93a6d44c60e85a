/*
 * test-pg-names: identifiers to path segments and back, and the quoting
 * of identifiers and literals in the SQL files vault writes.
 */
#include <errno.h>
#include <string.h>

#include "../tap.h"
#include "pg-names.h"

static int enc_is(const char *ident, size_t len, unsigned flags,
		  const char *want)
{
	struct buf b = BUF_INIT;
	int r = pg_names_encode(&b, ident, len, flags);
	int good = r == 0 && b.len == strlen(want) && !memcmp(b.data, want, b.len);

	if (!good)
		diag("encode gave %d \"%s\", want \"%s\"", r, (char *)b.data, want);
	buf_release(&b);
	return good;
}

static int roundtrip(const char *ident, size_t len, unsigned flags)
{
	struct buf e = BUF_INIT, d = BUF_INIT;
	int good = pg_names_encode(&e, ident, len, flags) == 0 &&
		   !memchr(e.data, '/', e.len) &&
		   pg_names_decode(&d, (char *)e.data, e.len) == 0 &&
		   d.len == len && !memcmp(d.data, ident, len);

	for (size_t i = 0; good && i < e.len; i++)
		if (e.data[i] < 0x20 || e.data[i] == 0x7f)
			good = 0;
	buf_release(&e);
	buf_release(&d);
	return good;
}

static int dec_fails(const char *seg)
{
	struct buf b = BUF_INIT;
	int r = pg_names_decode(&b, seg, strlen(seg));

	buf_release(&b);
	return r == -EINVAL;
}

static void test_encode(void)
{
	ok(enc_is("users", 5, 0, "users"), "plain name unchanged");
	ok(enc_is("Sales & Ops", 11, 0, "Sales & Ops"), "spaces and & stay raw");
	ok(enc_is("Mixed Case/Name", 15, 0, "Mixed Case%2FName"), "slash encoded");
	ok(enc_is("100%", 4, 0, "100%25"), "percent encoded");
	ok(enc_is("tab\tnl\n", 7, 0, "tab%09nl%0A"), "control characters encoded");
	ok(enc_is("del\x7f", 4, 0, "del%7F"), "DEL encoded");
	ok(enc_is("ünïcode ☃", strlen("ünïcode ☃"), 0, "ünïcode ☃"),
	   "unicode stays raw");
	ok(enc_is("\"quoted\"", 8, 0, "\"quoted\""), "double quotes stay raw");
	ok(enc_is(".", 1, 0, "%2E"), "\".\" fully encoded");
	ok(enc_is("..", 2, 0, "%2E%2E"), "\"..\" fully encoded");
	ok(enc_is("...", 3, 0, "..."), "\"...\" is an ordinary name");
	ok(enc_is("meta.json", 9, PG_NAMES_ESCAPE_FIRST, "%6Deta.json"),
	   "ESCAPE_FIRST encodes the first byte");
	ok(enc_is("ü", 2, PG_NAMES_ESCAPE_FIRST, "%C3\xbc"),
	   "ESCAPE_FIRST on a multibyte character encodes one byte");
	{
		struct buf b = BUF_INIT;

		is_int(pg_names_encode(&b, "", 0, 0), -EINVAL, "empty identifier");
		buf_release(&b);
	}
}

static void test_roundtrip(void)
{
	static const char *const names[] = {
		"users", "Mixed Case/Name", "100%", "%41", "a/b/c", "..", ".",
		"select", "\"", "a\"\"b", "tab\there", "new\nline", "\x01\x1f",
		"☃/%/☃", "%", "%%", "%2F", "x.", "-", " ", "meta.json",
	};
	size_t bad = 0;
	char all[255];

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		for (unsigned f = 0; f < 2; f++)
			if (!roundtrip(names[i], strlen(names[i]), f)) {
				diag("round trip failed: %s", names[i]);
				bad++;
			}
	is_int(bad, 0, "all sample names round-trip with and without ESCAPE_FIRST");
	/* every byte value except NUL */
	for (int i = 0; i < 255; i++)
		all[i] = (char)(i + 1);
	ok(roundtrip(all, sizeof(all), 0), "all 255 non-NUL bytes round-trip");
}

static void test_decode(void)
{
	struct buf b = BUF_INIT;

	ok(pg_names_decode(&b, "a%2fb", 5) == 0 && !strcmp((char *)b.data, "a/b"),
	   "lowercase hex accepted");
	buf_release(&b);
	ok(dec_fails(""), "empty segment rejected");
	ok(dec_fails("a/b"), "raw slash rejected");
	ok(dec_fails("%"), "lone percent rejected");
	ok(dec_fails("%4"), "short escape rejected");
	ok(dec_fails("%zz"), "non-hex escape rejected");
	ok(dec_fails("a%00b"), "encoded NUL rejected");
	ok(dec_fails("."), "raw . rejected");
	ok(dec_fails(".."), "raw .. rejected");
	ok(pg_names_decode(&b, "a\0b", 3) == -EINVAL, "raw NUL rejected");
	buf_release(&b);
}

static int quote_is(int (*fn)(struct buf *, const char *), const char *in,
		    const char *want)
{
	struct buf b = BUF_INIT;
	int good = fn(&b, in) == 0 && !strcmp((char *)b.data, want);

	if (!good)
		diag("quote gave [%s], want [%s]", (char *)b.data, want);
	buf_release(&b);
	return good;
}

static void test_quote(void)
{
	struct buf b = BUF_INIT;

	ok(quote_is(pg_names_quote_ident, "users", "\"users\""), "ident always quoted");
	ok(quote_is(pg_names_quote_ident, "a\"b", "\"a\"\"b\""), "ident quote doubled");
	ok(quote_is(pg_names_quote_ident, "", "\"\""), "empty ident");
	ok(pg_names_quote_qualified(&b, "Sales & Ops", "Or\"ders") == 0 &&
	   !strcmp((char *)b.data, "\"Sales & Ops\".\"Or\"\"ders\""), "qualified");
	buf_release(&b);
	ok(quote_is(pg_names_quote_literal, "it's", "'it''s'"), "literal quote doubled");
	ok(quote_is(pg_names_quote_literal, "a\\b'c", "E'a\\\\b''c'"),
	   "backslash makes an E'' literal");
	ok(quote_is(pg_names_quote_literal, "", "''"), "empty literal");
	ok(quote_is(pg_names_quote_json, "a\"b\\c\nd\te\x01\x7f☃",
		    "\"a\\\"b\\\\c\\nd\\te\\u0001\\u007f☃\""),
	   "JSON string escapes");
	ok(quote_is(pg_names_quote_json, "", "\"\""), "empty JSON string");
	/* data.sql's COPY line: one line whatever the name holds */
	ok(quote_is(pg_names_quote_ident_line, "Or\"ders", "\"Or\"\"ders\""),
	   "line ident: a plain name is quoted as always");
	ok(quote_is(pg_names_quote_ident_line, "a\nb", "U&\"a\\000ab\""),
	   "line ident: a newline becomes U&\"a\\000ab\"");
	ok(quote_is(pg_names_quote_ident_line, "t\\\"\r\x7f",
		    "U&\"t\\\\\"\"\\000d\\007f\""),
	   "line ident: backslash and quote doubled, CR and DEL escaped");
	ok(quote_is(pg_names_quote_ident_line, "☃\n", "U&\"☃\\000a\""),
	   "line ident: other bytes as they are");
}

int main(void)
{
	test_encode();
	test_roundtrip();
	test_decode();
	test_quote();
	return done_testing();
}

/*
 * test-config: defaults, round trips, the tolerated syntax (comments,
 * blank lines, tabs, no final newline) and every rejection with the
 * line number in the message.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "../tap.h"

#define ID "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"

static const char good[] =
	"vault-repository 1\n"
	"id " ID "\n"
	"encryption repokey\n"
	"chunker.general 262144 1048576 4194304\n"
	"chunker.rows 8192 32768 131072\n"
	"pack.target 33554432\n";

static int same_config(const struct config *a, const struct config *b)
{
	return a->version == b->version && !memcmp(a->id, b->id, 32) &&
	       a->encrypted == b->encrypted &&
	       a->general.min == b->general.min &&
	       a->general.avg == b->general.avg &&
	       a->general.max == b->general.max &&
	       a->rows.min == b->rows.min && a->rows.avg == b->rows.avg &&
	       a->rows.max == b->rows.max && a->pack_target == b->pack_target &&
	       a->compression == b->compression;
}

static void test_defaults(void)
{
	struct config c, d, got;
	struct buf b = BUF_INIT;

	config_default(&c, 1);
	config_default(&d, 0);
	ok(c.version == 2 && c.encrypted == 1 && d.encrypted == 0,
	   "version and encryption");
	ok(c.compression == CONFIG_COMPRESSION_DEFAULT, "compression default");
	ok(c.general.min == 256 * 1024 && c.general.avg == 1024 * 1024 &&
	   c.general.max == 4 * 1024 * 1024, "general chunker defaults");
	ok(c.rows.min == 8 * 1024 && c.rows.avg == 32 * 1024 &&
	   c.rows.max == 128 * 1024, "rows chunker defaults");
	ok(c.pack_target == 32u * 1024 * 1024, "pack target default");
	ok(memcmp(c.id, d.id, 32) != 0, "random ids");

	for (int enc = 0; enc < 2; enc++) {
		struct config *x = enc ? &c : &d;

		buf_reset(&b);
		is_int(config_encode(&b, x), 0, "encode (encrypted=%d)", enc);
		memset(&got, 0xaa, sizeof(got));
		is_int(config_decode(&got, (char *)b.data, b.len, NULL), 0,
		       "decode (encrypted=%d)", enc);
		ok(same_config(x, &got), "round trip (encrypted=%d)", enc);
	}
	ok(!strncmp((char *)b.data, "vault-repository 2\nid ", 22),
	   "the file starts with the version line");
	ok(strstr((char *)b.data, "\ncompression ") != NULL,
	   "version 2 records the compression");

	/* limits round trip too */
	c.general.min = 64;
	c.general.avg = 64;
	c.general.max = 32u << 20;
	c.pack_target = CONFIG_PACK_MIN;
	buf_reset(&b);
	ok(config_encode(&b, &c) == 0 &&
	   config_decode(&got, (char *)b.data, b.len, NULL) == 0 &&
	   same_config(&c, &got), "extreme but valid sizes round trip");
	c.pack_target = CONFIG_PACK_MAX;
	buf_reset(&b);
	ok(config_encode(&b, &c) == 0 &&
	   config_decode(&got, (char *)b.data, b.len, NULL) == 0 &&
	   same_config(&c, &got), "largest pack target round trips");

	/* encode refuses what decode would refuse */
	c.general.avg = 100;
	buf_reset(&b);
	is_int(config_encode(&b, &c), -EINVAL, "encode: avg not a power of 2");
	c.general.avg = 64;
	c.pack_target = CONFIG_PACK_MAX + 1ull;
	is_int(config_encode(&b, &c), -EINVAL, "encode: pack target too big");
	c.pack_target = CONFIG_PACK_MIN;
	c.version = 3;
	is_int(config_encode(&b, &c), -EINVAL, "encode: version 3");
	c.version = 1;
	c.compression = CONFIG_COMPRESSION_MAX;
	is_int(config_encode(&b, &c), -EINVAL,
	       "encode: version 1 cannot say max");
	c.version = 2;
	c.compression = (enum config_compression)7;
	is_int(config_encode(&b, &c), -EINVAL, "encode: unknown compression");
	is_int(b.len, 0, "nothing written");
	buf_release(&b);
}

/* Version 1 (no compression key, meaning fast) and version 2 (the key
 * required) read and written side by side. */
static void test_compression(void)
{
	static const char v2max[] =
		"vault-repository 2\n"
		"id " ID "\n"
		"encryption none\n"
		"chunker.general 262144 1048576 4194304\n"
		"chunker.rows 8192 32768 131072\n"
		"pack.target 33554432\n"
		"compression max\n";
	struct config c, got;
	struct buf b = BUF_INIT;
	enum config_compression k = CONFIG_COMPRESSION_MAX;

	memset(&c, 0x5a, sizeof(c));
	ok(config_decode(&c, good, strlen(good), NULL) == 0 &&
	   c.version == 1 && c.compression == CONFIG_COMPRESSION_FAST,
	   "version 1 without the key means fast");
	ok(config_encode(&b, &c) == 0 && b.len == strlen(good) &&
	   !memcmp(b.data, good, b.len), "version 1 is written back unchanged");
	ok(config_decode(&c, v2max, strlen(v2max), NULL) == 0 &&
	   c.version == 2 && c.compression == CONFIG_COMPRESSION_MAX,
	   "version 2 with compression max");
	buf_reset(&b);
	ok(config_encode(&b, &c) == 0 &&
	   config_decode(&got, (char *)b.data, b.len, NULL) == 0 &&
	   same_config(&c, &got), "version 2 round trips");
	/* upgrading: a version 1 config raised to 2 */
	ok(config_decode(&c, good, strlen(good), NULL) == 0, "version 1 again");
	c.version = 2;
	buf_reset(&b);
	ok(config_encode(&b, &c) == 0 &&
	   strstr((char *)b.data, "compression fast\n") != NULL,
	   "a version 1 config raised to 2 records fast");
	/* version 2 without the key: missing */
	buf_reset(&b);
	buf_addf(&b, "vault-repository 2\n%s", strchr(good, '\n') + 1);
	memset(&got, 0x5a, sizeof(got));
	ok(config_decode(&got, (char *)b.data, b.len, NULL) == -EBADMSG &&
	   got.general.min == 0x5a5a5a5a,
	   "version 2 without compression is refused");
	ok(config_compression_parse("max", &k) == 0 &&
	   k == CONFIG_COMPRESSION_MAX && config_compression_parse("fast", &k) == 0 &&
	   k == CONFIG_COMPRESSION_FAST, "names parse");
	ok(config_compression_parse("MAX", &k) == -EINVAL &&
	   config_compression_parse("", &k) == -EINVAL &&
	   k == CONFIG_COMPRESSION_FAST, "bad names refused, value untouched");
	ok(config_compression_name(CONFIG_COMPRESSION_MAX) &&
	   !strcmp(config_compression_name(CONFIG_COMPRESSION_MAX), "max") &&
	   !config_compression_name((enum config_compression)9),
	   "names of values");
	buf_release(&b);
}

static void test_syntax(void)
{
	static const char messy[] =
		"# written by hand\n"
		"\n"
		"  vault-repository\t1  \n"
		"\t# indented comment\n"
		"pack.target 65536\n"
		"encryption   none\n"
		"chunker.rows\t64 64 64\n"
		"id " ID "\n"
		"chunker.general 1024 2048 4096";	/* no final newline */
	struct config c;
	struct buf err = BUF_INIT;

	ok(config_decode(&c, good, strlen(good), &err) == 0 && err.len == 0,
	   "the canonical file parses");
	ok(c.encrypted == 1 && c.id[0] == 0x00 && c.id[1] == 0x11 &&
	   c.id[31] == 0xff, "fields of the canonical file");
	ok(config_decode(&c, messy, strlen(messy), &err) == 0,
	   "comments, blank lines, tabs, any key order, no final newline");
	ok(c.encrypted == 0 && c.pack_target == 65536 && c.rows.min == 64 &&
	   c.general.min == 1024 && c.general.avg == 2048 &&
	   c.general.max == 4096, "fields of the messy file");
	buf_release(&err);
}

struct bad_case {
	const char *text;
	int line;		/* expected in the message; 0 = none */
	const char *what;
};

static void test_errors(void)
{
	static const struct bad_case cases[] = {
		{ "", 0, "empty file" },
		{ "# only a comment\n", 0, "only comments" },
		{ "id " ID "\n", 1, "version line missing" },
		{ "vault-repository 2\n", 0, "version 2 alone: missing keys" },
		{ "vault-repository\n", 1, "version without a number" },
		{ "vault-repository 1 x\n", 1, "version line with extra field" },
		{ "vault-repository 1\nid " ID "\n", 0, "missing keys" },
		{ "vault-repository 1\nfoo bar\n", 2, "unknown key" },
		{ "vault-repository 1\nid " ID "\nid " ID "\n", 3,
		  "duplicate key" },
		{ "vault-repository 1\nid 0011\n", 2, "short id" },
		{ "vault-repository 1\nid " ID "0\n", 2, "long id" },
		{ "vault-repository 1\nid "
		  "g0112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
		  "\n", 2, "non-hex id" },
		{ "vault-repository 1\nencryption yes\n", 2, "bad encryption" },
		{ "vault-repository 1\nencryption\n", 2, "missing value" },
		{ "vault-repository 1\npack.target 1 2\n", 2, "extra value" },
		{ "vault-repository 1\nchunker.rows 64 64\n", 2,
		  "two chunker values" },
		{ "vault-repository 1\nchunker.rows 64 64 64 64\n", 2,
		  "four chunker values" },
		{ "vault-repository 1\nchunker.rows 128 64 256\n", 2,
		  "min > avg" },
		{ "vault-repository 1\nchunker.rows 64 512 256\n", 2,
		  "avg > max" },
		{ "vault-repository 1\nchunker.rows 64 96 256\n", 2,
		  "avg not a power of two" },
		{ "vault-repository 1\nchunker.rows 32 64 256\n", 2,
		  "min below 64" },
		{ "vault-repository 1\nchunker.rows 64 64 33554433\n", 2,
		  "max above 32 MiB" },
		{ "vault-repository 1\nchunker.rows 64 64 4294967296\n", 2,
		  "value over 32 bits" },
		{ "vault-repository 1\nchunker.rows +64 64 64\n", 2,
		  "plus sign" },
		{ "vault-repository 1\nchunker.rows -64 64 64\n", 2,
		  "minus sign" },
		{ "vault-repository 1\nchunker.rows 0x40 64 64\n", 2, "hex" },
		{ "vault-repository 1\npack.target 4095\n", 2,
		  "pack target too small" },
		{ "vault-repository 1\npack.target 1073741825\n", 2,
		  "pack target too big" },
		{ "vault-repository 1\npack.target 99999999999999999999999\n", 2,
		  "overflowing number" },
		{ "vault-repository 1\npack.target 18446744073709551616\n", 2,
		  "2^64" },
		{ "vault-repository 1\npack.target 65536\r\n", 2,
		  "CR line ending" },
		{ "vault-repository 1\ncompression max\n", 2,
		  "compression in version 1" },
		{ "vault-repository 2\ncompression best\n", 2,
		  "unknown compression" },
		{ "vault-repository 2\ncompression\n", 2,
		  "compression without a value" },
		{ "vault-repository 2\ncompression max\ncompression max\n", 3,
		  "duplicate compression" },
		{ "vault-repository 3\n", 1, "version 3" },
		{ "vault-repository 0\n", 1, "version 0" },
	};
	struct config c;
	struct buf err = BUF_INIT;
	char want[32];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		buf_reset(&err);
		memset(&c, 0x5a, sizeof(c));
		is_int(config_decode(&c, cases[i].text, strlen(cases[i].text),
				     &err), -EBADMSG, "%s: -EBADMSG",
		       cases[i].what);
		ok(c.general.min == 0x5a5a5a5a, "%s: output untouched",
		   cases[i].what);
		if (cases[i].line) {
			snprintf(want, sizeof(want), "config line %d: ",
				 cases[i].line);
			ok(strstr((char *)err.data, want) != NULL,
			   "%s: message names line %d: %s", cases[i].what,
			   cases[i].line, (char *)err.data);
		} else {
			ok(err.len > 0, "%s: message: %s", cases[i].what,
			   (char *)err.data);
		}
	}

	/* a NUL byte anywhere */
	{
		char t[sizeof(good)];

		memcpy(t, good, sizeof(good));
		t[5] = '\0';
		buf_reset(&err);
		is_int(config_decode(&c, t, sizeof(good) - 1, &err), -EBADMSG,
		       "NUL byte: -EBADMSG (%s)", (char *)err.data);
	}
	/* each line of the good file removed in turn */
	{
		size_t bad = 0;

		for (int skip = 1; skip < 6; skip++) {
			struct buf t = BUF_INIT;
			const char *p = good;
			int line = 0;

			while (*p) {
				const char *nl = strchr(p, '\n');

				if (line++ != skip)
					buf_add(&t, p, (size_t)(nl - p + 1));
				p = nl + 1;
			}
			buf_reset(&err);
			if (config_decode(&c, (char *)t.data, t.len, &err) !=
			    -EBADMSG || !strstr((char *)err.data, "missing"))
				bad++;
			buf_release(&t);
		}
		is_int(bad, 0, "each missing key is reported as missing");
	}
	is_int(config_decode(&c, "x", 1, NULL), -EBADMSG, "err may be NULL");
	buf_release(&err);
}

int main(void)
{
	test_defaults();
	test_syntax();
	test_errors();
	test_compression();
	return done_testing();
}

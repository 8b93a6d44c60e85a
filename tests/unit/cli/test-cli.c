/*
 * test-cli: the front end's text helpers (src/cli/cli-text.c, src/cli/cli-json.c):
 * JSON string escaping of hostile bytes, terminal quoting, ISO 8601
 * parsing and formatting in UTC, number and duration parsing with range
 * checks, human sizes, snapshot path normalisation, and the JSON writer.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "manifest.h"
#include "../tap.h"

static void test_json_escape(void)
{
	static const struct {
		const char *in;
		size_t n;
		const char *want;
	} cases[] = {
		{ "plain", 5, "\"plain\"" },
		{ "a\"b\\c", 5, "\"a\\\"b\\\\c\"" },
		{ "t\tn\nr\r", 6, "\"t\\tn\\nr\\r\"" },
		{ "\x01\x1f\x7f", 3, "\"\\u0001\\u001f\\u007f\"" },
		{ "caf\xc3\xa9 \xe2\x98\x83", 9, "\"caf\xc3\xa9 \xe2\x98\x83\"" },
		{ "\xff", 1, "\"\\ufffd\"" },
		{ "a\xc3", 2, "\"a\\ufffd\"" },			/* truncated */
		{ "\xc0\xaf", 2, "\"\\ufffd\\ufffd\"" },		/* overlong '/' */
		{ "\xed\xa0\x80", 3, "\"\\ufffd\\ufffd\\ufffd\"" },	/* surrogate */
		{ "\xf4\x90\x80\x80", 4,
		  "\"\\ufffd\\ufffd\\ufffd\\ufffd\"" },		/* > U+10FFFF */
		{ "\xf0\x9f\x98\x80", 4, "\"\xf0\x9f\x98\x80\"" },	/* emoji */
		{ "\xe2\x80\xa8", 3, "\"\\u2028\"" },
		{ "", 0, "\"\"" },
	};
	struct buf b = BUF_INIT;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		buf_reset(&b);
		ok(cli_json_escape(&b, cases[i].in, cases[i].n) == 0 &&
		   !strcmp((char *)b.data, cases[i].want),
		   "json escape case %zu: %s", i, (char *)b.data);
	}
	buf_release(&b);
}

static void test_quote(void)
{
	struct buf b = BUF_INIT;

	cli_quote(&b, "a\nb\\c\x1b[2J\xff\xc2\x9b" "d", 13);
	ok(!strcmp((char *)b.data, "a\\nb\\\\c\\x1b[2J\\xff\\xc2\\x9bd"),
	   "terminal quoting: %s", (char *)b.data);
	buf_reset(&b);
	cli_quote(&b, "ünïcödé ☃", strlen("ünïcödé ☃"));
	ok(!strcmp((char *)b.data, "ünïcödé ☃"), "UTF-8 is kept");
	buf_release(&b);
}

static void test_time(void)
{
	static const struct {
		const char *in;
		int64_t want;
	} good[] = {
		{ "1970-01-01", 0 },
		{ "2024-03-01T10:00:00Z", 1709287200 },
		{ "2024-03-01T10:00:00", 1709287200 },
		{ "2024-03-01 10:00", 1709287200 },
		{ "2024-03-01T12:00:00+02:00", 1709287200 },
		{ "2024-03-01T05:30:00-0430", 1709287200 },
		{ "2024-03-01T10:00:00.999Z", 1709287200 },
		{ "2024-02-29T00:00:00Z", 1709164800 },
		{ "2000-02-29", 951782400 },
		{ "1969-12-31T23:59:59Z", -1 },
		{ "@1700000000", 1700000000 },
		{ "@-5", -5 },
	};
	static const char *const bad[] = {
		"", "2024", "2024-3-1", "2024-13-01", "2024-00-10", "2023-02-29",
		"1900-02-29", "2024-04-31", "2024-03-01T24:00", "2024-03-01T10:60",
		"2024-03-01T10", "2024-03-01T10:00:00Q", "2024-03-01T10:00:00+25:00",
		"2024-03-01x", "not-a-time", "@", "@12x", "2024-03-01T10:00:00.",
	};
	char s[40];
	int64_t t;

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		t = 12345;
		ok(cli_time_parse(good[i].in, &t) == 0 && t == good[i].want,
		   "parse %s -> %lld", good[i].in, (long long)t);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ok(cli_time_parse(bad[i], &t) == -EINVAL, "reject '%s'", bad[i]);

	cli_time_format(1709287200, s, sizeof(s));
	ok(!strcmp(s, "2024-03-01T10:00:00Z"), "format %s", s);
	cli_time_format(-1, s, sizeof(s));
	ok(!strcmp(s, "1969-12-31T23:59:59Z"), "format before 1970: %s", s);
	cli_time_format(951868800, s, sizeof(s));
	ok(!strcmp(s, "2000-03-01T00:00:00Z"), "format after a leap day: %s", s);
	/* every day of four years round-trips */
	for (t = 1700000000; t < 1700000000 + 4 * 366 * 86400; t += 86400 + 3601) {
		int64_t back;

		cli_time_format(t, s, sizeof(s));
		if (cli_time_parse(s, &back) < 0 || back != t)
			break;
	}
	ok(t >= 1700000000 + 4 * 366 * 86400, "format/parse round trip");

	is_int(cli_ns_to_sec(1999999999), 1, "ns to s");
	is_int(cli_ns_to_sec(-1), -1, "ns to s, negative: floor");
	is_int(cli_ns_to_sec(-1000000000), -1, "ns to s, exact negative");
	is_int(cli_ns_to_sec(-1000000001), -2, "ns to s, just below");
}

static void test_numbers(void)
{
	uint64_t u;
	int i;

	ok(cli_parse_u64("42", 0, 100, &u) == 0 && u == 42, "u64 42");
	ok(cli_parse_u64("18446744073709551615", 0, UINT64_MAX, &u) == 0 &&
	   u == UINT64_MAX, "u64 max");
	ok(cli_parse_u64("18446744073709551616", 0, UINT64_MAX, &u) < 0,
	   "u64 overflow");
	ok(cli_parse_u64("-1", 0, UINT64_MAX, &u) < 0, "u64 negative");
	ok(cli_parse_u64(" 1", 0, 10, &u) < 0, "u64 leading space");
	ok(cli_parse_u64("1x", 0, 10, &u) < 0, "u64 trailing junk");
	ok(cli_parse_u64("", 0, 10, &u) < 0, "u64 empty");
	ok(cli_parse_u64("11", 0, 10, &u) < 0, "u64 above max");
	ok(cli_parse_int("-3", -5, 5, &i) == 0 && i == -3, "int -3");
	ok(cli_parse_int("-3", 1, 5, &i) < 0, "int below min");
	ok(cli_parse_int("99999999999", 0, 2147483647, &i) < 0, "int overflow");
	ok(cli_parse_int("-", -5, 5, &i) < 0, "int lone sign");
}

static void test_durations(void)
{
	static const struct {
		const char *in;
		int64_t want;	/* -1: refused */
	} cases[] = {
		{ "30m", 1800 }, { "26h", 93600 }, { "2d", 172800 },
		{ "1w", 604800 }, { "90s", 90 }, { "1d12h", 129600 },
		{ "1h30m15s", 5415 }, { "0h5m", 300 },
		{ "26", -1 }, { "", -1 }, { "h", -1 }, { "-1h", -1 },
		{ "+1h", -1 }, { " 1h", -1 }, { "1h ", -1 }, { "1y", -1 },
		{ "1H", -1 }, { "0s", -1 }, { "0h0m", -1 }, { "1.5h", -1 },
		{ "5300w", -1 }, { "99999999999999999999s", -1 },
		{ "5200w", (int64_t)5200 * 7 * 86400 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int64_t got = -1;
		int e = cli_parse_duration(cases[i].in, &got);

		if (cases[i].want < 0)
			ok(e == -EINVAL && got == -1, "duration '%s' refused",
			   cases[i].in);
		else
			ok(e == 0 && got == cases[i].want,
			   "duration '%s' is %lld s (got %lld)", cases[i].in,
			   (long long)cases[i].want, (long long)got);
	}
}

static void test_sizes_and_paths(void)
{
	char s[32], *p;

	cli_human_size(0, s, sizeof(s));
	ok(!strcmp(s, "0 B"), "size %s", s);
	cli_human_size(1023, s, sizeof(s));
	ok(!strcmp(s, "1023 B"), "size %s", s);
	cli_human_size(1536, s, sizeof(s));
	ok(!strcmp(s, "1.50 KiB"), "size %s", s);
	cli_human_size(100ull << 20, s, sizeof(s));
	ok(!strcmp(s, "100 MiB"), "size %s", s);
	cli_human_size(UINT64_MAX, s, sizeof(s));
	ok(!strcmp(s, "16.0 EiB"), "size %s", s);
	cli_ratio(10, 4, s, sizeof(s));
	ok(!strcmp(s, "2.50x"), "ratio %s", s);
	cli_ratio(10, 0, s, sizeof(s));
	ok(!strcmp(s, "-"), "ratio of nothing %s", s);

	p = cli_path_normalize("/data//sub/./x/");
	ok(p && !strcmp(p, "data/sub/x"), "normalize %s", p);
	free(p);
	p = cli_path_normalize("./");
	ok(p && !strcmp(p, ""), "normalize to everything");
	free(p);
	ok(cli_path_within("data/sub", 8, "data"), "within: child");
	ok(cli_path_within("data", 4, "data"), "within: itself");
	ok(!cli_path_within("data-x", 6, "data"), "within: sibling prefix");
	ok(!cli_path_within("dat", 3, "data"), "within: shorter");
	ok(cli_path_within("anything", 8, ""), "within: everything");

	cli_mode_string(MANIFEST_DIR, 0755, s, sizeof(s));
	ok(!strcmp(s, "drwxr-xr-x"), "mode %s", s);
	cli_mode_string(MANIFEST_FILE, 04755, s, sizeof(s));
	ok(!strcmp(s, "-rwsr-xr-x"), "mode %s", s);
	cli_mode_string(MANIFEST_FILE, 01644, s, sizeof(s));
	ok(!strcmp(s, "-rw-r--r-T"), "mode %s", s);
}

/* The writer goes to fd 1: point it at a file and read that back. */
static void test_json_writer(void)
{
	char path[] = "/tmp/test-cli.XXXXXX", got[512];
	struct cli_json j;
	int fd = mkstemp(path), saved = dup(1);
	ssize_t n;

	fflush(stdout);
	if (fd < 0 || saved < 0 || dup2(fd, 1) < 0) {
		printf("Bail out! cannot redirect stdout\n");
		exit(1);
	}
	cli_json_init(&j);
	cli_json_begin_array(&j, NULL);
	cli_json_begin_object(&j, NULL);
	cli_json_str(&j, "path", "a\"b");
	cli_json_u64(&j, "size", 18446744073709551615ull);
	cli_json_i64(&j, "t", -5);
	cli_json_begin_array(&j, "tags");
	cli_json_str(&j, NULL, "x");
	cli_json_str(&j, NULL, "y");
	cli_json_end_array(&j);
	cli_json_double(&j, "r", 1.0 / 0.0);
	cli_json_bool(&j, "ok", 1);
	cli_json_null(&j, "none");
	cli_json_end_object(&j);
	cli_json_begin_object(&j, NULL);
	cli_json_end_object(&j);
	cli_json_end_array(&j);
	cli_json_finish(&j);
	dup2(saved, 1);
	close(saved);
	n = pread(fd, got, sizeof(got) - 1, 0);
	close(fd);
	unlink(path);
	got[n > 0 ? n : 0] = '\0';
	ok(!strcmp(got, "[\n{\"path\":\"a\\\"b\",\"size\":18446744073709551615,"
		   "\"t\":-5,\"tags\":[\"x\",\"y\"],\"r\":null,\"ok\":true,"
		   "\"none\":null},\n{}\n]\n"),
	   "JSON writer output");
	if (strcmp(got, "[\n{\"path\":\"a\\\"b\",\"size\":18446744073709551615,"
		   "\"t\":-5,\"tags\":[\"x\",\"y\"],\"r\":null,\"ok\":true,"
		   "\"none\":null},\n{}\n]\n"))
		diag("got: %s", got);
}

int main(void)
{
	test_json_escape();
	test_quote();
	test_time();
	test_numbers();
	test_durations();
	test_sizes_and_paths();
	test_json_writer();
	return done_testing();
}

/*
 * test-cli-progress: the progress line as src/cli/cli-progress.c renders
 * it: percent, sizes, counts, rate and ETA from the counters; a total
 * that is not firm gives no ETA; the line never passes the terminal's
 * width, the item is cut from the left and quoted; wide characters are
 * counted conservatively.  And the phases: a phase call on NULL (no
 * progress shown) does nothing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli-progress.h"
#include "../tap.h"

static struct cli_progress_view view(void)
{
	struct cli_progress_view v;

	memset(&v, 0, sizeof(v));
	v.phase = "files";
	v.unit = "files";
	v.bytes = 100u << 20;
	v.bytes_total = 400u << 20;
	v.items = 25;
	v.items_total = 100;
	v.firm = 1;
	v.elapsed = 12;
	v.active = 10;
	v.item = "photos/img.jpg";
	v.item_len = strlen(v.item);
	return v;
}

/* Columns the way a terminal shows them (non-ASCII may be wide). */
static size_t cols(const struct buf *b)
{
	size_t n = 0;

	for (size_t i = 0; i < b->len; i++)
		if ((b->data[i] & 0xc0) != 0x80)
			n += b->data[i] < 0x80 ? 1 : 2;
	return n;
}

static void test_line(void)
{
	struct cli_progress_view v = view();
	struct buf b = BUF_INIT;

	ok(cli_progress_render(&v, 200, &b) == 0, "render");
	ok(!strcmp((char *)b.data, "[0:12] files 25.0% 100 MiB / 400 MiB, "
		   "25/100 files, 10.0 MiB/s, ETA 0:30  photos/img.jpg"),
	   "the whole line: %s", (char *)b.data);
	ok(cli_progress_percent(&v) == 25.0, "percent from the bytes");
	ok(cli_progress_eta(&v) == 30.0, "ETA from the rate so far");

	v.firm = 0;
	cli_progress_render(&v, 200, &b);
	ok(!strstr((char *)b.data, "ETA"), "no ETA while the total grows");
	ok(cli_progress_eta(&v) < 0, "eta -1 when not firm");

	v = view();
	v.bytes_total = 0;
	ok(cli_progress_percent(&v) == 25.0, "percent from the items");
	v.items_total = 0;
	ok(cli_progress_percent(&v) < 0, "no total, no percent");
	cli_progress_render(&v, 200, &b);
	ok(!strcmp((char *)b.data, "[0:12] files 100 MiB, 25 files, "
		   "10.0 MiB/s  photos/img.jpg"), "without totals: %s",
	   (char *)b.data);

	v = view();
	v.active = 0.5;
	cli_progress_render(&v, 200, &b);
	ok(!strstr((char *)b.data, "/s") && !strstr((char *)b.data, "ETA"),
	   "no rate before a second of work");
	v = view();
	v.elapsed = 3725;
	cli_progress_render(&v, 200, &b);
	ok(!strncmp((char *)b.data, "[1:02:05] ", 10), "hours in the clock");
	buf_release(&b);
}

static void test_width(void)
{
	static const char wide[] = "\xe2\x98\x83\xe2\x98\x83\xe2\x98\x83"
		"\xe2\x98\x83\xe2\x98\x83\xe2\x98\x83/\xe2\x98\x83.txt";
	struct cli_progress_view v = view();
	struct buf b = BUF_INIT;
	int bad = 0;

	v.item = "a/very/long/directory/name/that/goes/on/and/on/file.bin";
	v.item_len = strlen(v.item);
	for (int w = 20; w <= 160; w++) {
		cli_progress_render(&v, w, &b);
		if (cols(&b) > (size_t)w - 1)
			bad++;
	}
	is_int(bad, 0, "never wider than the terminal (20 to 160 columns)");
	cli_progress_render(&v, 90, &b);
	ok(strstr((char *)b.data, "  ...") &&
	   !strcmp((char *)b.data + b.len - 8, "file.bin"),
	   "the item is cut from the left: %s", (char *)b.data);
	cli_progress_render(&v, 30, &b);
	ok(!strstr((char *)b.data, "file.bin"), "no room, no item: %s",
	   (char *)b.data);

	v.item = wide;
	v.item_len = strlen(wide);
	bad = 0;
	for (int w = 60; w <= 100; w++) {
		cli_progress_render(&v, w, &b);
		if (cols(&b) > (size_t)w - 1)
			bad++;
		/* never half a character */
		for (size_t i = 0; i + 1 < b.len; i++)
			if (!strncmp((char *)b.data + i, "...", 3) &&
			    (b.data[i + 3] & 0xc0) == 0x80)
				bad++;
	}
	is_int(bad, 0, "wide characters fit and are never cut in two");
	buf_release(&b);
}

static void test_quoting(void)
{
	struct cli_progress_view v = view();
	struct buf b = BUF_INIT;
	int ctl = 0;

	v.item = "evil\033[2J\r\nname";
	v.item_len = strlen(v.item);
	cli_progress_render(&v, 200, &b);
	for (size_t i = 0; i < b.len; i++)
		ctl += b.data[i] < 0x20 || b.data[i] == 0x7f;
	is_int(ctl, 0, "no control character reaches the terminal");
	ok(strstr((char *)b.data, "evil\\x1b[2J\\x0d\\nname") != NULL,
	   "the item is quoted: %s", (char *)b.data);
	buf_release(&b);
}

static void test_off(void)
{
	struct cli_progress *p = cli_progress_new(CLI_PROGRESS_OFF, "test", 0);
	struct cli_phase *ph = cli_progress_phase(p, "files", "files");

	ok(p && !cli_progress_on(p), "off");
	ok(ph == NULL, "no phase when off");
	cli_phase_start(ph);
	cli_phase_total(ph, 1, 1, 1);
	cli_phase_at(ph, 1, 1, "x", 1);
	cli_phase_add(ph, 1, 1);
	cli_phase_stop(ph);
	ok(1, "every phase call takes NULL");
	cli_progress_free(p);
	cli_progress_free(NULL);
}

int main(void)
{
	test_line();
	test_width();
	test_quoting();
	test_off();
	return done_testing();
}

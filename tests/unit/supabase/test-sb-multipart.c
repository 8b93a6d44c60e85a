/*
 * test-sb-multipart: the multipart/form-data parser and builder
 * (sb-multipart) on well-formed, truncated, malformed and randomly
 * mutated input; no server needed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "buf.h"
#include "sb-multipart.h"
#include "../tap.h"

/* ---- multipart ---------------------------------------------------------------- */

struct mpc {
	int n;
	char names[8][64];
	char files[8][64];
	size_t lens[8];
	char data0[64];
};

static int mp_cb(void *ctx, const struct sb_multipart_part *p)
{
	struct mpc *c = ctx;

	if (c->n < 8) {
		snprintf(c->names[c->n], 64, "%s", p->name ? p->name : "(null)");
		snprintf(c->files[c->n], 64, "%s", p->filename ? p->filename : "(null)");
		c->lens[c->n] = p->len;
		if (c->n == 0)
			snprintf(c->data0, sizeof(c->data0), "%.*s", (int)p->len, p->data);
	}
	c->n++;
	return 0;
}

/* a string literal body */
#define MPL(lit, bnd, maxp, c) mp(lit, sizeof(lit) - 1, bnd, maxp, c)

static int mp(const char *body, size_t n, const char *bnd, size_t maxp, struct mpc *c)
{
	memset(c, 0, sizeof(*c));
	return sb_multipart_parse(body, n, bnd, maxp, mp_cb, c, NULL);
}

static void test_multipart(void)
{
	static const char good[] =
		"preamble to ignore\r\n"
		"--XyZ\r\n"
		"Content-Disposition: form-data; name=\"metadata\"\r\n"
		"Content-Type: application/json\r\n"
		"\r\n"
		"{\"a\":1}\r\n"
		"--XyZ  \r\n"
		"content-disposition: form-data; name=file; filename=\"dir/a \\\"b\\\".ts\"\r\n"
		"\r\n"
		"line1\r\n--XyZnot-a-delimiter\r\nline3\r\n"
		"--XyZ\r\n"
		"Content-Disposition: form-data; name=\"file\"; filename*=UTF-8''%C3%A9t%C3%A9.ts\r\n"
		"\r\n"
		"\r\n"
		"--XyZ--\r\n"
		"epilogue";
	struct buf b = BUF_INIT, built = BUF_INIT;
	char bnd[SB_MULTIPART_MAX_BOUNDARY + 1], *mut;
	struct mpc c;
	size_t i, fails;
	int r, crashes = 0;

	r = mp(good, strlen(good), "XyZ", 10, &c);
	ok(r == 0 && c.n == 3, "multipart: 3 parts (%d)", c.n);
	ok(!strcmp(c.names[0], "metadata") && !strcmp(c.data0, "{\"a\":1}") &&
	   !strcmp(c.files[0], "(null)"), "multipart: the metadata part");
	ok(!strcmp(c.names[1], "file") && !strcmp(c.files[1], "dir/a \"b\".ts") &&
	   c.lens[1] == strlen("line1\r\n--XyZnot-a-delimiter\r\nline3"),
	   "multipart: quoted filename; a boundary-like line inside data is data");
	ok(!strcmp(c.files[2], "\xc3\xa9t\xc3\xa9.ts") && c.lens[2] == 0,
	   "multipart: filename* decoded; an empty part");

	fails = 0;
	for (i = 0; i < strlen(good) - strlen("--\r\nepilogue"); i++)
		if (mp(good, i, "XyZ", 10, &c) != -EBADMSG)
			fails++;
	is_int(fails, 0, "multipart: every truncation before the close delimiter is -EBADMSG");

	r = mp(good, strlen(good), "XyZ", 2, &c);
	is_int(r, -E2BIG, "multipart: the part limit holds");
	r = MPL("--b\nContent-Disposition: form-data; name=\"x\"\n\nv\n--b--\n", "b", 4, &c);
	ok(r == 0 && c.n == 1 && !strcmp(c.data0, "v"), "multipart: bare LF line ends");
	ok(MPL("no boundary at all", "b", 4, &c) == -EBADMSG, "multipart: no boundary");
	ok(MPL("--b junk\r\n\r\nx\r\n--b--", "b", 4, &c) == -EBADMSG,
	   "multipart: text after a boundary");
	r = MPL("--bjunk\r\n\r\nx\r\n--b--", "b", 4, &c);
	ok(r == 0 && c.n == 0,
	   "multipart: a line that only starts like the boundary is preamble");
	ok(MPL("--b\r\nNoColonHere\r\n\r\nx\r\n--b--", "b", 4, &c) == -EBADMSG,
	   "multipart: a header without ':'");
	ok(MPL("--b\r\nA: 1\r\n folded\r\n\r\nx\r\n--b--", "b", 4, &c) == -EBADMSG,
	   "multipart: a folded header");
	ok(MPL("--b\r\nA: \x01\r\n\r\nx\r\n--b--", "b", 4, &c) == -EBADMSG,
	   "multipart: a control character in a header");
	ok(MPL("--b\r\nContent-Disposition: form-data; name=\"x\r\n\r\nx\r\n--b--", "b", 4, &c) == -EBADMSG, "multipart: an unterminated quoted string");
	ok(MPL("--b\r\nContent-Disposition: attachment; name=x\r\n\r\nx\r\n--b--", "b", 4, &c) == -EBADMSG, "multipart: not form-data");
	buf_reset(&b);
	buf_addstr(&b, "--b\r\nX: ");
	for (i = 0; i < 9000; i++)
		buf_addch(&b, 'a');
	buf_addstr(&b, "\r\n\r\nx\r\n--b--");
	ok(mp((const char *)b.data, b.len, "b", 4, &c) == -EBADMSG,
	   "multipart: part headers over the limit");
	ok(mp(good, strlen(good), "", 4, &c) == -EINVAL &&
	   mp(good, strlen(good), "bad\"boundary", 4, &c) == -EINVAL,
	   "multipart: invalid boundaries refused");

	ok(sb_multipart_boundary("multipart/form-data; boundary=\"a b:c\"", &b) == 0 &&
	   !strcmp((const char *)b.data, "a b:c") &&
	   sb_multipart_boundary("Multipart/Form-Data;charset=x;BOUNDARY=zz", &b) == 0 &&
	   !strcmp((const char *)b.data, "zz"), "multipart: boundary parameter, quoted or not");
	buf_reset(&b);
	for (i = 0; i < 71; i++)
		buf_addch(&b, 'x');
	{
		struct buf ct = BUF_INIT, o = BUF_INIT;

		buf_addf(&ct, "multipart/form-data; boundary=%s", (const char *)b.data);
		ok(sb_multipart_boundary((const char *)ct.data, &o) == -EINVAL &&
		   sb_multipart_boundary("application/json", &o) == -EINVAL &&
		   sb_multipart_boundary("multipart/form-data", &o) == -EINVAL,
		   "multipart: a missing or over-long boundary, or another type");
		buf_release(&ct);
		buf_release(&o);
	}

	/* build, then parse back */
	sb_multipart_new_boundary(bnd);
	r = sb_multipart_add(&built, bnd, "metadata", NULL, "application/json", "{}", 2);
	if (r == 0)
		r = sb_multipart_add(&built, bnd, "file", "a/\"q\"\\.ts", NULL, "x\r\n--y", 7);
	if (r == 0)
		r = sb_multipart_finish(&built, bnd);
	ok(r == 0 && mp((const char *)built.data, built.len, bnd, 4, &c) == 0 && c.n == 2 &&
	   !strcmp(c.files[1], "a/\"q\"\\.ts") && c.lens[1] == 7,
	   "multipart: what we build parses back");
	ok(sb_multipart_add(&built, bnd, "file", "bad\r\nname", NULL, "", 0) == -EINVAL,
	   "multipart: a file name with CR/LF cannot be sent");

	/* random mutations: never a crash, always a clean answer */
	mut = malloc(built.len);
	for (i = 0; i < 3000; i++) {
		size_t k, flips = 1 + randombytes_uniform(4);

		memcpy(mut, built.data, built.len);
		for (k = 0; k < flips; k++)
			mut[randombytes_uniform((uint32_t)built.len)] =
				(char)randombytes_uniform(256);
		r = mp(mut, built.len - randombytes_uniform(8), bnd, 4, &c);
		if (r != 0 && r != -EBADMSG && r != -E2BIG)
			crashes++;
	}
	is_int(crashes, 0, "multipart: 3000 mutated bodies give 0 or -EBADMSG");
	free(mut);
	buf_release(&b);
	buf_release(&built);
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	test_multipart();
	return done_testing();
}

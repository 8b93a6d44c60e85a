/*
 * fuzz-config: config_decode (formats/config.h) on a repository config
 * file from outside.
 *
 * Invariants: the codes are the documented ones, and an error always
 * says what is wrong (a non-empty message in err, a decode with err NULL
 * failing the same way); an accepted config keeps the rules the decoder
 * enforces (chunker bounds, min <= avg <= max, avg a power of two, pack
 * target bounds, a version it knows, a named compression that version
 * 1 can only have as fast), survives config_decode -> config_encode ->
 * config_decode unchanged, and re-encodes to the same text.
 */
#include <errno.h>

#include "config.h"
#include "fuzz.h"

const char fuzz_name[] = "config";

static void check_chunker(const struct config_chunker *k)
{
	FUZZ_CHECK(k->min >= CONFIG_CHUNK_MIN && k->max <= CONFIG_CHUNK_MAX);
	FUZZ_CHECK(k->min <= k->avg && k->avg <= k->max);
	FUZZ_CHECK((k->avg & (k->avg - 1)) == 0);
}

static int config_eq(const struct config *a, const struct config *b)
{
	return a->version == b->version &&
	       memcmp(a->id, b->id, sizeof(a->id)) == 0 &&
	       a->encrypted == b->encrypted &&
	       a->general.min == b->general.min &&
	       a->general.avg == b->general.avg &&
	       a->general.max == b->general.max &&
	       a->rows.min == b->rows.min && a->rows.avg == b->rows.avg &&
	       a->rows.max == b->rows.max && a->pack_target == b->pack_target &&
	       a->compression == b->compression;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf err = BUF_INIT, t1 = BUF_INIT, t2 = BUF_INIT;
	struct config c, c2, c3;
	int r;

	r = config_decode(&c, (const char *)data, size, &err);
	FUZZ_CHECK(r == 0 || r == -EBADMSG || r == -ENOMEM);
	FUZZ_CHECK(config_decode(&c3, (const char *)data, size, NULL) == r);
	if (r < 0) {
		/* the message is one terminated line of text */
		if (r == -EBADMSG)
			FUZZ_CHECK(err.len > 0 &&
				   strlen((char *)err.data) == err.len &&
				   !memchr(err.data, '\n', err.len));
		buf_release(&err);
		return 0;
	}
	FUZZ_CHECK(err.len == 0);
	FUZZ_CHECK(c.version >= CONFIG_VERSION_MIN &&
		   c.version <= CONFIG_VERSION);
	FUZZ_CHECK(config_compression_name(c.compression) != NULL);
	FUZZ_CHECK(c.version >= 2 || c.compression == CONFIG_COMPRESSION_FAST);
	FUZZ_CHECK(c.encrypted == 0 || c.encrypted == 1);
	check_chunker(&c.general);
	check_chunker(&c.rows);
	FUZZ_CHECK(c.pack_target >= CONFIG_PACK_MIN &&
		   c.pack_target <= CONFIG_PACK_MAX);
	FUZZ_CHECK(config_eq(&c, &c3));

	FUZZ_CHECK(config_encode(&t1, &c) == 0);
	FUZZ_CHECK(config_decode(&c2, (const char *)t1.data, t1.len, &err) ==
		   0);
	FUZZ_CHECK(config_eq(&c, &c2));
	FUZZ_CHECK(config_encode(&t2, &c2) == 0);
	FUZZ_CHECK(t1.len == t2.len && memcmp(t1.data, t2.data, t1.len) == 0);
	buf_release(&err);
	buf_release(&t1);
	buf_release(&t2);
	return 0;
}

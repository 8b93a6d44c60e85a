/*
 * config: the repository's small text `config` file (spec:
 * formats/config.md).  Lines of `key value`, '#' comments:
 *
 *   vault-repository 1
 *   id <64 hex>
 *   encryption repokey|none
 *   chunker.general <min> <avg> <max>
 *   chunker.rows <min> <avg> <max>
 *   pack.target <bytes>
 *   compression fast|max        (version 2)
 *
 * Unknown keys are an error for version 1 (a newer writer must bump the
 * version), so a mistaken edit is caught.
 */
#ifndef VAULT_CONFIG_H
#define VAULT_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include "buf.h"

/* The version config_default writes; config_decode reads 1 and 2.
 * Version 2 adds the `compression` key (version 1 files have none and
 * mean "fast", what they were written with). */
#define CONFIG_VERSION		2
#define CONFIG_VERSION_MIN	1

/* How hard new chunks are compressed (formats/config.md). */
enum config_compression {
	CONFIG_COMPRESSION_FAST = 0,	/* lz4's default compressor */
	CONFIG_COMPRESSION_MAX = 1,	/* LZ4 HC */
};
/* What `vault init` records unless told otherwise. */
#define CONFIG_COMPRESSION_DEFAULT	CONFIG_COMPRESSION_FAST

/* Bounds config_decode enforces (and config_encode refuses to write
 * beyond); the chunker ones match store/chunker.c, avg a power of two. */
#define CONFIG_CHUNK_MIN	64u
#define CONFIG_CHUNK_MAX	(32u << 20)
#define CONFIG_PACK_MIN		(4u << 10)
#define CONFIG_PACK_MAX		(1u << 30)

struct config_chunker {
	uint32_t min, avg, max;
};

struct config {
	uint32_t version;
	uint8_t id[32];
	int encrypted;			/* repokey = 1, none = 0 */
	struct config_chunker general;	/* ~1 MiB average */
	struct config_chunker rows;	/* row-aligned, ~32 KiB average */
	uint64_t pack_target;		/* bytes, e.g. 32 MiB */
	enum config_compression compression;	/* FAST in version 1 */
};

/* "fast" or "max" (NULL for a value outside the enum). */
const char *config_compression_name(enum config_compression c);
/* The value named s ("fast" or "max"): 0, or -EINVAL (*c untouched). */
int config_compression_parse(const char *s, enum config_compression *c);

/* Defaults (version CONFIG_VERSION) with a random id. */
void config_default(struct config *c, int encrypted);
/* Writes c->version's keys: a version 1 config has no compression, so
 * c->compression must then be FAST.  -EINVAL for a struct config_decode
 * would reject, -ENOMEM. */
int config_encode(struct buf *out, const struct config *c);
/* 0, or -EBADMSG with a message in err (line number and what is wrong;
 * err may be NULL).  Validates min <= avg <= max and sane bounds. */
int config_decode(struct config *c, const char *text, size_t len,
		  struct buf *err);

#endif

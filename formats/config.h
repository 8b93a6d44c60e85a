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
 *
 * Unknown keys are an error for version 1 (a newer writer must bump the
 * version), so a mistaken edit is caught.
 */
#ifndef VAULT_CONFIG_H
#define VAULT_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include "buf.h"

#define CONFIG_VERSION 1

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
};

/* Defaults with a random id. */
void config_default(struct config *c, int encrypted);
int config_encode(struct buf *out, const struct config *c);
/* 0, or -EBADMSG with a message in err (line number and what is wrong;
 * err may be NULL).  Validates min <= avg <= max and sane bounds. */
int config_decode(struct config *c, const char *text, size_t len,
		  struct buf *err);

#endif

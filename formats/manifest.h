/*
 * manifest: the encoding of a snapshot's tree of entries
 * (spec: formats/manifest.md).
 *
 * A manifest is one byte stream: a header, then for every entry an entry
 * record followed by its chunk references, then an end record carrying
 * the entry count and an XXH3-64 of all preceding stream bytes (so a
 * truncated or spliced stream is detected).  The stream is stored like
 * any other stream (chunked, BLOB_MANIFEST blobs), so a million entries
 * never need to be in memory at once: the encoder appends to a buf that
 * the caller drains, and the decoder pulls bytes through a callback.
 *
 * Paths are relative, '/'-separated byte strings as the source gave them.
 * They are NOT trusted by the decoder's callers: anything but NUL may
 * appear, including "..", leading '/', empty segments.  mount validates.
 */
#ifndef VAULT_MANIFEST_H
#define VAULT_MANIFEST_H

#include <stddef.h>
#include <stdint.h>
#include "buf.h"

#define MANIFEST_MAGIC		"VAULTMF1"
#define MANIFEST_MAX_PATH	65536
#define MANIFEST_MAX_TARGET	65536
#define MANIFEST_MAX_ATTRS	1024
#define MANIFEST_MAX_KEY	256
#define MANIFEST_MAX_VALUE	(1u << 20)
/* keys + values of one entry, so one entry's memory stays bounded */
#define MANIFEST_MAX_ATTR_BYTES	(16u << 20)
#define MANIFEST_CHUNK_ID_SIZE	32

enum manifest_kind {
	MANIFEST_FILE = 1,
	MANIFEST_DIR = 2,
	MANIFEST_SYMLINK = 3,
};

struct manifest_attr {
	char *key;	/* NUL-terminated, no embedded NUL */
	char *value;	/* NUL-terminated; value_len excludes the NUL */
	size_t value_len;
};

struct manifest_entry {
	char *path;		/* NUL-terminated; path_len excludes the NUL */
	size_t path_len;
	uint8_t kind;		/* enum manifest_kind */
	uint32_t mode;		/* permission bits (07777) */
	int64_t mtime_ns;	/* since the epoch, UTC */
	uint64_t size;		/* bytes of content (files) */
	char *target;		/* symlink target or NULL */
	size_t target_len;
	struct manifest_attr *attrs;
	size_t nattrs;
	uint64_t nchunks;	/* chunk refs that follow this entry */
};

struct manifest_chunk {
	uint8_t id[MANIFEST_CHUNK_ID_SIZE];
	uint32_t len;		/* plaintext length */
};

/*
 * Entries in a manifest are in strictly increasing manifest_path_cmp
 * order: bytewise, except that '/' sorts before every other byte, so a
 * directory's subtree is contiguous and directly follows the directory
 * ("a", "a/b", "a-b").  Returns <0, 0, >0.
 */
int manifest_path_cmp(const char *a, size_t alen, const char *b, size_t blen);

/* Frees the entry's members (not e itself) and zeroes it.  NULL-safe. */
void manifest_entry_release(struct manifest_entry *e);

/* ---- encoder: appends to out; the caller drains out whenever it likes. */
int manifest_encode_header(struct buf *out);
/* e->nchunks must equal the number of manifest_encode_chunk calls that
 * follow.  -EINVAL for limits exceeded or a NUL in path/key. */
int manifest_encode_entry(struct buf *out, const struct manifest_entry *e);
int manifest_encode_chunk(struct buf *out, const struct manifest_chunk *c);

/*
 * The end record needs the hash of the whole stream, so the encoder
 * state tracks it: feed every byte you drained from `out` to
 * manifest_hash_update (the writer does this), then call
 * manifest_encode_end with the entry count.
 * (manifest_encode_end itself hashes the bytes still waiting in `out`,
 * so `out` need not be drained first; h is spent afterwards.)
 */
struct manifest_hash;
struct manifest_hash *manifest_hash_new(void);
void manifest_hash_free(struct manifest_hash *h);
void manifest_hash_update(struct manifest_hash *h, const void *p, size_t n);
int manifest_encode_end(struct buf *out, struct manifest_hash *h,
			uint64_t nentries);

/* ---- decoder ---------------------------------------------------------
 * read() fills up to n bytes into dst and returns the count, 0 at the end
 * of the stream, or a negative errno. */
typedef long (*manifest_read_fn)(void *ctx, void *dst, size_t n);

struct manifest_dec;
int manifest_dec_new(struct manifest_dec **d, manifest_read_fn read,
		     void *ctx);
void manifest_dec_free(struct manifest_dec *d);
/*
 * Decodes the next entry into *e (released first by the decoder; the
 * caller releases the last one).  Any chunk refs of the previous entry
 * not yet read are skipped.  Returns 1 for an entry, 0 at a valid end
 * record (count and hash verified; no bytes may follow), -EBADMSG for any
 * malformed/truncated stream, or the read callback's error.
 */
int manifest_dec_next(struct manifest_dec *d, struct manifest_entry *e);
/* Reads the next chunk ref of the current entry: 1, 0 when none are
 * left, or a negative errno. */
int manifest_dec_chunk(struct manifest_dec *d, struct manifest_chunk *c);

#endif

/*
 * fcache: the files cache's byte layout (spec: formats/files-cache.md).
 * One cache file holds, for each regular file a snapshot stored under
 * one PATH, the metadata that says it is unchanged (size, mtime, ctime,
 * inode) and the chunk list that holds its content, keyed by a 32-byte
 * key the caller derives from the file's path.  Pure: no I/O.
 */
#ifndef VAULT_FCACHE_H
#define VAULT_FCACHE_H

#include <stddef.h>
#include <stdint.h>
#include "buf.h"
#include "manifest.h"

#define FCACHE_MAGIC "VAULTFC1"
#define FCACHE_KEY_SIZE 32
/* Bytes of one stored chunk reference: id, then u32 length. */
#define FCACHE_CHUNK_SIZE (MANIFEST_CHUNK_ID_SIZE + 4)

struct fcache_ent {
	uint8_t key[FCACHE_KEY_SIZE];
	uint64_t size;		/* st_size */
	uint64_t ino;		/* st_ino */
	int64_t mtime_ns, ctime_ns;
	size_t nchunks;
	/* fcache_encode: the chunk list; fcache_find: NULL */
	const struct manifest_chunk *chunks;
	/* fcache_find: the stored list (read with fcache_chunk) */
	const uint8_t *raw;
};

/*
 * Encodes n entries, which must come in strictly increasing key order
 * (memcmp), each with its chunk list (chunk lengths 1..32 MiB adding up
 * to size; no chunks for an empty file).  0; -EINVAL (nothing useful in
 * out) when they break a rule; -ENOMEM.  out is reset first.
 */
int fcache_encode(struct buf *out, const struct fcache_ent *v, size_t n);

/* A decoded cache: points into the bytes given to fcache_decode, which
 * must outlive it. */
struct fcache {
	const uint8_t *data;
	size_t len;		/* of data, without the checksum */
	size_t n;		/* entries */
	size_t *off;		/* offset of each entry in data */
};
#define FCACHE_INIT { NULL, 0, 0, NULL }

/*
 * Checks and indexes the cache bytes p[0..len).  0; -EBADMSG when they
 * break any rule of the spec (err, may be NULL, says which); -ENOMEM.
 * On error c is empty (fcache_find finds nothing).
 */
int fcache_decode(struct fcache *c, const void *p, size_t len,
		  struct buf *err);
/* NULL-safe; leaves c empty. */
void fcache_release(struct fcache *c);
/* 1 with *e filled when key is cached (chunks via fcache_chunk), else 0. */
int fcache_find(const struct fcache *c, const uint8_t key[FCACHE_KEY_SIZE],
		struct fcache_ent *e);
/* The i-th chunk (i < e->nchunks) of an entry fcache_find filled. */
void fcache_chunk(const struct fcache_ent *e, size_t i,
		  struct manifest_chunk *out);

#endif

/*
 * writer: the snapshot writer pipeline behind repo_writer_* (declared in
 * repo.h; design in doc/design.md).  This header only holds its tunables
 * so they are documented in one place.
 */
#ifndef VAULT_WRITER_H
#define VAULT_WRITER_H

/* Worker threads: one per online CPU, at most this many. */
#define WRITER_MAX_WORKERS	4
/* Bytes of chunk buffers in flight (plain + stored per slot); bounds the
 * number of slots so a repository with 32 MiB chunks stays in budget. */
#define WRITER_SLOT_BUDGET	(32u << 20)
/* Consecutive chunks are handed to a worker in batches of about this
 * many bytes (at most WRITER_BATCH_CHUNKS chunks). */
#define WRITER_BATCH		(1u << 20)
#define WRITER_BATCH_CHUNKS	256
/* A stream's chunk list is kept in memory up to this size, then spilled
 * to segments of one unlinked file in tmp/, so a huge file does not grow
 * memory. */
#define WRITER_REFS_SPILL	(1u << 20)
/* An ended detached stream waiting for its entry keeps at most this much
 * of its chunk list in memory (the rest goes to the spill file), so many
 * parked streams stay cheap. */
#define WRITER_STREAM_KEEP	(4u << 10)
/* The manifest encoder's output is moved to the chunking window (and
 * hashed) whenever it grows past this. */
#define WRITER_MANIFEST_DRAIN	(64u << 10)

#endif

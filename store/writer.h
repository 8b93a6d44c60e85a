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
/* The LZ4 HC level of REPO_COMPRESSION_MAX: 9 (lz4hc's default) has
 * nearly all of 12's gain at a third of its time (doc/design.md). */
#define WRITER_LZ4_HC		9
/* Delta chunks (writer-delta.c): only chunks and bases up to this size
 * are stored as deltas (row chunks are ~32 KiB; the chain cache keeps
 * bases up to the same size). */
#define WRITER_DELTA_MAX	(1u << 20)
/* The bytes of a row start probed for in the base, and how far from the
 * expected place they are looked for before the whole base is. */
#define WRITER_DELTA_PROBE	48
#define WRITER_DELTA_NEAR	(4u << 10)
/* A delta payload at most 1/WRITER_DELTA_SMALL of the plaintext is kept
 * without computing the chunk's own lz4 form (lz4 alone would have to
 * compress WRITER_DELTA_SMALL / 2 times to beat it). */
#define WRITER_DELTA_SMALL	32

#endif

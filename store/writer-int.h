/*
 * writer-int: the snapshot writer's state and the calls its files make
 * to one another.  Only the writer's files include it; everyone else
 * uses repo_writer_* and repo_stream_* from repo.h.
 *
 * The files, from the bottom up (each calls only those before it):
 *   writer-refs.c      chunk lists, in memory then in the spill file
 *   writer-delta.c     delta chunks: a stream's base candidates, picking
 *                      a base, encoding a chunk against it
 *   writer-pool.c      the sticky error, the workers and the ring of
 *                      slots: hash, dedup, encode, pack, publish
 *   writer-manifest.c  the manifest stream, chunked and stored
 *   writer-stream.c    chunking windows and detached streams
 *   writer-entry.c     entries: dirs, symlinks, files of any source
 *   writer.c           new, free, commit
 */
#ifndef VAULT_WRITER_INT_H
#define VAULT_WRITER_INT_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include "buf.h"
#include "chunker.h"
#include "manifest.h"
#include "repo.h"
#include "writer.h"

struct packer;
struct chain_cache;
struct writer_bases;
struct writer_dx;

#define WRITER_REF_SIZE		36	/* id + le32 length */

/* A slot's state; FREE slots belong to the calling thread. */
enum { WRITER_FREE, WRITER_READY, WRITER_BUSY, WRITER_DONE };

/* One chunk of a slot's batch: its length and stream offset in, its id
 * out. */
struct writer_sub {
	uint8_t id[32];
	uint32_t len;
	uint64_t off;
};

/*
 * A slot carries a batch of consecutive chunks (one ~1 MiB chunk, or
 * dozens of small row chunks), so thread hand-offs do not dominate when
 * chunks are small.
 */
struct writer_slot {
	int state;
	struct buf plain;	/* the batch's chunks back to back */
	struct writer_sub *sub;
	size_t nsub, capsub;
	struct buf stored;	/* the chunk being encoded */
	uint8_t id[32];		/* its id ... */
	int claimed;		/* ... is new and being stored by this slot */
	int rc;
	struct writer_refs *dest;	/* whose chunk list the batch extends */
	struct writer_bases *bases;	/* that stream's base candidates */
	struct writer_dx *dx;		/* delta scratch, made on first use */
};

/* A piece of a chunk list in the shared spill file. */
struct writer_seg {
	uint64_t off, len;
};

/* A stream's chunk list: segments of the spill file, then memory. */
struct writer_refs {
	struct buf mem;
	struct writer_seg *seg;
	size_t nseg, capseg;
	uint64_t spilled;	/* bytes in the segments */
	uint64_t n;
};

/* Bytes being chunked (window from the next cut on) and their chunks. */
struct repo_stream {
	struct repo_writer *w;
	enum repo_chunking how;
	struct buf win;
	size_t woff, wcap;
	struct writer_refs refs;
	uint64_t size;
	uint64_t cut;		/* stream offset of the next chunk */
	struct writer_bases *bases;	/* repo_stream_set_base, or NULL */
	int detached, ended;
	struct repo_stream *prev, *next;	/* w->streams (detached) */
};

struct repo_writer {
	struct repo *r;
	struct chunker *ck[2];	/* by enum repo_chunking */

	pthread_mutex_t mu;	/* everything below that workers touch */
	pthread_cond_t work, done;
	pthread_t th[WRITER_MAX_WORKERS];
	int nth, quit;
	struct writer_slot *slots;
	size_t nslots;
	uint64_t submitted, taken, drained;
	int filling;		/* slot[submitted % nslots] is being filled */
	size_t batch;		/* a batch never grows past this */
	struct writer_slot own;	/* the calling thread's (manifest, record) */
	struct packer *pk;
	struct chain_cache *chains;	/* bases read for deltas */
	struct packer *finishing[2 * WRITER_MAX_WORKERS + 2];
	size_t nfinishing;
	int error;		/* first fatal error; sticky */
	struct buf errmsg;
	struct repo_totals tot;
	int lz4_level;		/* blob_encode_level's: the compression */

	struct buf last;	/* path of the previous entry */
	int have_last;

	int in_file;
	int fixed;		/* the open entry's content is given: no writes */
	struct manifest_entry fe;
	struct repo_stream file;	/* for repo_writer_file_begin entries */
	struct repo_stream *cur;	/* the open entry's stream */
	struct repo_stream *streams;	/* detached, not yet attached */

	int spill_fd;		/* the shared spill file, or -1 */
	uint64_t spill_end;	/* where the next segment goes */
	uint64_t spill_live;	/* bytes of segments still in use */

	struct buf mout, mwin;	/* manifest encoder output, chunk window */
	size_t moff;
	struct manifest_hash *mh;
	struct buf mchunks;	/* struct snaprec_chunk[] */
	int committed;

	repo_writer_progress_fn progress;	/* optional, see repo.h */
	void *progress_arg;
};

/* ---- writer-refs.c: chunk lists ------------------------------------ */

/* Appends a finished chunk to a chunk list, spilling the memory part
 * once it reaches WRITER_REFS_SPILL (calling thread, mu held). */
int writer_refs_add(struct repo_writer *w, struct writer_refs *f,
		    const uint8_t id[32], uint32_t len);
/* Moves the in-memory part of a chunk list to a new spill segment. */
int writer_refs_spill(struct repo_writer *w, struct writer_refs *f);
/* Empties a chunk list, giving its spill segments back. */
void writer_refs_reset(struct repo_writer *w, struct writer_refs *f);
/* Frees a chunk list's memory (after writer_refs_reset). */
void writer_refs_release(struct writer_refs *f);

/* ---- writer-delta.c: delta chunks ---------------------------------- */

/* A stream's base candidates: the chunk list c[0..n) of the same file in
 * an earlier snapshot (copied).  0 or -ENOMEM. */
int writer_bases_new(struct writer_bases **b, const struct repo_chunkref *c,
		     size_t n);
void writer_bases_free(struct writer_bases *b);	/* NULL-safe */
/* A chunk at stream offset off deduplicated as id: if id is a candidate,
 * it tells where the stream stands against the old one.  mu held. */
void writer_delta_seen(struct writer_bases *b, uint64_t off,
		       const uint8_t id[32]);
/*
 * Encodes the new data chunk p[0..n) (id, at stream offset off of a
 * stream with candidates s->bases) for storing: 1 with s->stored holding
 * a delta blob, 2 with s->stored holding the full blob (computed to
 * compare), 0 when the caller should encode the full blob.  Any trouble
 * with the base (not indexed, damaged, a chain already at full depth)
 * is a 0, never an error: only -ENOMEM is.  mu not held; takes it.
 */
int writer_delta_encode(struct repo_writer *w, struct writer_slot *s,
			uint64_t off, const uint8_t *p, size_t n,
			const uint8_t id[32]);
/* Frees a slot's delta scratch (NULL-safe). */
void writer_dx_free(struct writer_dx *dx);

/* ---- writer-pool.c: errors, workers, the ring ---------------------- */

/* Records a fatal error (the first one wins; why may be NULL for
 * strerror's text) and returns the sticky one; _locked with mu held. */
int writer_fail_locked(struct repo_writer *w, int rc, const struct buf *why);
int writer_fail(struct repo_writer *w, int rc, const struct buf *why);
/* A non-fatal refusal (bad argument): the message is "path: why" (path
 * may be NULL), the writer stays usable; returns -EINVAL. */
int writer_refuse(struct repo_writer *w, const char *path, const char *why);
/* The writer takes more (entries, streams): the sticky error, a
 * refusal once the snapshot is committed, else 0. */
int writer_live(struct repo_writer *w);
/* 1 when id is in the index, claimed by a slot, or in a pack not yet
 * indexed; 0 when not; <0 on error.  Called with mu held. */
int writer_known(struct repo_writer *w, const uint8_t id[32]);
/* Adds a chunk of st to the batch being filled, handing full batches
 * to the workers; waits for a free slot when all are in flight. */
int writer_submit(struct repo_writer *w, struct repo_stream *st,
		  const uint8_t *p, size_t n);
/* Hands the batch being filled (if any) to the workers. */
void writer_dispatch(struct repo_writer *w);
/* Waits until fewer than limit slots are in flight, collecting finished
 * ones into their chunk lists in order; returns the sticky error. */
int writer_wait(struct repo_writer *w, uint64_t limit);
/* Waits until every slot handed out has been collected, whatever the
 * sticky error: afterwards no slot points at any chunk list. */
void writer_settle(struct repo_writer *w);
/* Stores one blob on the calling thread (manifest chunks, the record);
 * id gets its chunk id. */
int writer_store_own(struct repo_writer *w, uint8_t type, const void *p,
		     size_t n, uint8_t id[32]);
/* Starts the workers (one per CPU, at most WRITER_MAX_WORKERS):
 * 0, or -EAGAIN when none could start. */
int writer_pool_start(struct repo_writer *w);
/* Stops and joins the workers. */
void writer_pool_stop(struct repo_writer *w);
/* Finishes the open pack and waits for the packs other threads are
 * finishing; returns the sticky error. */
int writer_pool_flush(struct repo_writer *w);
/* At most this many workers for this machine. */
int writer_pool_ncpu(void);

/* ---- writer-manifest.c: the manifest stream ------------------------ */

/* Encodes an entry into the manifest stream; a refused entry (-EINVAL,
 * over the manifest limits) leaves nothing behind. */
int writer_manifest_entry(struct repo_writer *w,
			  const struct manifest_entry *e);
/* Encodes a chunk list (spill segments in order, then memory). */
int writer_manifest_refs(struct repo_writer *w, struct writer_refs *f);
/* Hashes and moves the encoder output into the window and stores the
 * chunks it can cut (all of them at eof). */
int writer_manifest_drain(struct repo_writer *w, int eof);
/* Ends the manifest stream and stores its last chunks. */
int writer_manifest_end(struct repo_writer *w);

/* ---- writer-stream.c: chunking windows, detached streams ------------ */

/* writer-stream.c: the chunks c[0..n) (in the index: referenced, not
 * stored again) as the start of st's chunk list; earlier slots may still
 * be draining into other lists, so the index is used under w->mu.  0 or
 * a negative errno (the writer has failed). */
int writer_stream_prefix(struct repo_writer *w, struct repo_stream *st,
			 const struct repo_chunkref *c, size_t n);
/* Submits every chunk st's window can decide on (all of it at eof). */
int writer_stream_cut(struct repo_writer *w, struct repo_stream *st,
		      int eof);
/* Free room at the window's end, compacting when it is full. */
size_t writer_stream_room(struct repo_stream *st);
/* Counts n bytes read into st. */
void writer_stream_count(struct repo_writer *w, struct repo_stream *st,
			 size_t n);
/* Copies p[0..n) into st's window, cutting as it fills. */
int writer_stream_feed(struct repo_writer *w, struct repo_stream *st,
		       const void *p, size_t n);
/* Every chunk c[0..n) is a data chunk of that length the repository
 * holds or this writer is storing: 0, or a refusal (-ENOENT, -EINVAL)
 * with the message naming path and the chunk; other -errno. */
int writer_stream_chunks_known(struct repo_writer *w, const char *path,
			       const struct repo_chunkref *c, size_t n);
/* Unlinks and frees a detached stream; its chunks must have drained. */
void writer_stream_destroy(struct repo_stream *st);

/* ---- writer-entry.c: entries ---------------------------------------- */

/* The writer can take an entry: not failed, not committed, and inside
 * a file entry exactly when want_file. */
int writer_entry_usable(struct repo_writer *w, int want_file);

#endif

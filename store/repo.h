/*
 * repo: the public face of the repository engine.  The front end (src/)
 * uses only this header (plus formats/buf.h and formats/manifest.h for
 * entry structs).  Nothing here prints or exits: every function returns 0
 * (or a count) or a negative errno, and fills `err` (may be NULL) with a
 * human-readable message naming what is wrong (path, pack, snapshot...).
 *
 * Error codes the front end relies on:
 *   -ENOENT       repository / snapshot / path not found
 *   -EKEYREJECTED wrong passphrase
 *   -ENOKEY       a passphrase is needed but none was provided
 *   -EBUSY        the lock is held by a live process (err names host, pid,
 *                 command and since when)
 *   -ENOTUNIQ     ambiguous snapshot prefix
 *   -EBADMSG      corrupt data (err names pack/blob)
 *   -EEXIST       init into a non-empty directory
 *   -EINVAL       bad argument
 *   -EUCLEAN      prune or forget refused: the index and packs/ disagree
 *                 (err names a pack and `vault check --rebuild-index`)
 *   -EROFS        opening for writing a repository this process cannot
 *                 write (a read-only mount, permissions): err is
 *                 "repository <dir> cannot be written (<part>: <cause>)"
 *   -ENOSPC       opening for writing a repository whose disk is full:
 *                 err is "repository <dir> cannot be written: its disk
 *                 is full..."
 *
 * Reading needs no write access: a repository opened without `write`
 * works on a read-only mount, in a write-protected directory and on a
 * full disk (locks and the index are opened read-only, see
 * store/index-ro.c).
 */
#ifndef VAULT_REPO_H
#define VAULT_REPO_H

#include <stddef.h>
#include <stdint.h>
#include "buf.h"
#include "manifest.h"

struct repo;

/* Called when the repository needs a passphrase; fills pass (wiped by
 * the caller afterwards).  `why` is "open" or "new".  0 or -errno
 * (-ENOKEY when none can be had). */
typedef int (*repo_pass_fn)(void *ctx, const char *why, struct buf *pass);

struct repo_open_opts {
	int write;		/* take the exclusive writer lock */
	int lock_wait;		/* seconds to wait for the lock (0 = fail) */
	const char *command;	/* recorded in the lock (e.g. "vault snapshot") */
	repo_pass_fn pass;
	void *pass_ctx;
	int rebuild;		/* the caller rebuilds the index next: a missing
				 * or damaged index.db is not an error (an empty
				 * in-memory index stands in for it; nothing is
				 * created in its place) */
};

/*
 * Argon2id limits (crypto_pwhash opslimit/memlimit) used by repo_init and
 * repo_key_passwd in this process when they wrap keys.  The default is
 * the key file's (KEYFILE_DEFAULT_*: 3 passes, 64 MiB); test suites
 * lower it to the minimum.  Opening a repository always uses the limits
 * recorded in its key file.
 */
void repo_kdf_limits(uint64_t opslimit, uint64_t memlimit);
/* The limits keys are wrapped with now (as set by repo_kdf_limits). */
void repo_kdf_current(uint64_t *opslimit, uint64_t *memlimit);

/*
 * Creates a repository in dir (created if missing; must be empty).
 * encrypted: 1 = repokey (pass must be non-NULL), 0 = none.
 */
int repo_init(const char *dir, int encrypted, const char *pass,
	      size_t passlen, struct buf *err);
/*
 * How hard new chunks are compressed: the config's "compression"
 * (formats/config.md).  Both write lz4 blocks, so reading is the same.
 */
enum repo_compression {
	REPO_COMPRESSION_FAST = 0,	/* lz4's default compressor */
	REPO_COMPRESSION_MAX = 1,	/* LZ4 HC (level WRITER_LZ4_HC) */
};
/* What repo_init records (doc/design.md gives the figures behind it). */
#define REPO_COMPRESSION_DEFAULT REPO_COMPRESSION_FAST
/* "fast" -> FAST, "max" -> MAX: 0, or -EINVAL (*c untouched). */
int repo_compression_parse(const char *s, enum repo_compression *c);
/* "fast" / "max" ("?" for a value outside the enum). */
const char *repo_compression_name(enum repo_compression c);
/* repo_init, recording compression c instead of the default. */
int repo_init_compression(const char *dir, int encrypted, const char *pass,
			  size_t passlen, enum repo_compression c,
			  struct buf *err);
int repo_open(struct repo **r, const char *dir,
	      const struct repo_open_opts *o, struct buf *err);
/* The repository's recorded compression (FAST for a config written
 * before the setting existed). */
enum repo_compression repo_compression(const struct repo *r);
/* Records c in the config, for every later snapshot that does not say
 * otherwise (a version 1 config is raised to version 2).  The writer
 * lock is needed (-EINVAL without).  The config is replaced atomically:
 * on error it is as it was, unless err says the new one is in place
 * (only its directory could not be synced).  0, -EINVAL or a write
 * error. */
int repo_set_compression(struct repo *r, enum repo_compression c,
			 struct buf *err);
/* Releases the lock, closes everything, wipes keys.  NULL-safe. */
void repo_free(struct repo *r);
const char *repo_path(const struct repo *r);
int repo_encrypted(const struct repo *r);
/* The repository's id (config's "id"), 64 hex digits and a NUL: it
 * names caches kept outside the repository (formats/files-cache.md). */
void repo_id(const struct repo *r, char hex[65]);
/* Keyed BLAKE2b-256 of p[0..n) with the repository's id key (the chunk
 * id function): a name for p that only holders of the keys can compute
 * or confirm.  Callers prefix p with a string of their own, so their
 * hashes never meet chunk ids by accident. */
void repo_keyed_hash(const struct repo *r, const void *p, size_t n,
		     uint8_t out[32]);
/* 1 when r was opened for writing (it holds the writer lock). */
int repo_writable(const struct repo *r);
/* Re-wraps the keys under a new passphrase (writer lock needed).  On an
 * error the old passphrase still opens the repository, unless err says
 * the new one is in effect (the key file was replaced, only the fsync
 * of its directory failed). */
int repo_key_passwd(struct repo *r, const char *pass, size_t passlen,
		    struct buf *err);

/* ---- snapshots ------------------------------------------------------ */

struct repo_snapinfo {
	char id[65];		/* 64 hex + NUL */
	int64_t time;		/* unix seconds, UTC */
	char *hostname;
	char *source;
	char **tags;
	size_t ntags;
	uint64_t entries, bytes_read, bytes_added, bytes_stored;
	char *meta_json;
};
void repo_snapinfo_release(struct repo_snapinfo *s);

/*
 * Safety snapshots hold what a restore was about to replace (taken by
 * `vault restore` before a destructive step, for `vault rollback`).
 * They carry this tag (and "restore:<restore id>"), and that tag is all
 * that makes one: "latest", --at and retention treat them apart, as they
 * are no backup of the user's data.
 */
#define REPO_TAG_SAFETY "safety"
/* 1 when s is a safety snapshot (tagged REPO_TAG_SAFETY), else 0. */
int repo_snapinfo_is_safety(const struct repo_snapinfo *s);

/* spec: a full id, a unique prefix (>= 4 hex digits), "latest" (the
 * newest snapshot that is not a safety snapshot) or "latest-safety"
 * (the newest safety snapshot).  An id or prefix names any snapshot.
 * -ENOENT / -ENOTUNIQ (err lists the candidates). */
int repo_snapshot_resolve(struct repo *r, const char *spec, char id[65],
			  struct buf *err);
/* Newest snapshot with time <= t that is not a safety snapshot.
 * -ENOENT if none; err ("... by then") says whether only safety
 * snapshots were, and is meant to follow the time the caller names. */
int repo_snapshot_at(struct repo *r, int64_t t, char id[65],
		     struct buf *err);
int repo_snapshot_info(struct repo *r, const char *id,
		       struct repo_snapinfo *out, struct buf *err);
/* Calls cb for every snapshot, oldest first; tag == NULL for all.
 * A non-zero return from cb stops and is returned. */
int repo_snapshot_list(struct repo *r, const char *tag,
		       int (*cb)(const struct repo_snapinfo *, void *),
		       void *ctx, struct buf *err);
/* Forgets one snapshot (index + a tombstone blob); space is reclaimed by
 * prune.  Writer lock needed.  Refused (-EUCLEAN, nothing changed) while
 * the index and packs/ disagree, as repo_prune is. */
int repo_snapshot_forget(struct repo *r, const char *id, struct buf *err);

/* ---- writing a snapshot ---------------------------------------------
 * Entries must come in strictly increasing manifest_path_cmp order
 * (a directory before its contents); anything else is -EINVAL, so
 * readers can merge and stop early.  Nothing is visible until repo_writer_commit returns 0;
 * repo_writer_free without commit abandons the snapshot (blobs already
 * packed stay in the repository unreferenced and are reused by the next
 * snapshot or reclaimed by prune).
 */
enum repo_chunking {
	REPO_CHUNK_GENERAL = 0,	/* files, objects: ~1 MiB */
	REPO_CHUNK_ROWS = 1,	/* COPY text: cuts only after '\n' */
};

struct repo_writer;
int repo_writer_new(struct repo *r, struct repo_writer **w,
		    struct buf *err);
void repo_writer_free(struct repo_writer *w);
/* The repository w writes to (for a source that reads earlier
 * snapshots: through a repo_view, since w's workers use r's index). */
struct repo *repo_writer_repo(struct repo_writer *w);

struct repo_entry_meta {
	uint32_t mode;
	int64_t mtime_ns;
};
int repo_writer_dir(struct repo_writer *w, const char *path,
		    const struct repo_entry_meta *m);
int repo_writer_symlink(struct repo_writer *w, const char *path,
			const char *target, const struct repo_entry_meta *m);
/* A file entry is streamed: begin, any number of write calls, any number
 * of attr calls, end. */
int repo_writer_file_begin(struct repo_writer *w, const char *path,
			   const struct repo_entry_meta *m,
			   enum repo_chunking how);
int repo_writer_file_write(struct repo_writer *w, const void *p, size_t n);
int repo_writer_file_attr(struct repo_writer *w, const char *key,
			  const char *value);
int repo_writer_file_end(struct repo_writer *w);
/*
 * Reads fd to its end into the open entry (one begun with
 * repo_writer_file_begin), as repo_writer_file_write would; *nread (may
 * be NULL) gets the bytes read by this call.  A read error is the
 * source's: it returns -errno with err naming the entry, and leaves the
 * entry open and the writer usable (end or abandon the entry).  Any
 * other error is the writer's own, sticky as always.
 */
int repo_writer_file_read_fd(struct repo_writer *w, int fd, uint64_t *nread,
			     struct buf *err);
/*
 * Drops the open entry (of any kind) and everything written to it: it
 * never reaches the manifest, and the next entry may have the same path
 * (with new meta), so a file that changed while it was read can be read
 * again, or one that failed can be left out.  Chunks already stored for
 * it stay in the repository, referenced by this snapshot (deduplicated
 * like any others; most are the same content read again).  0, or the
 * writer's sticky error.
 */
int repo_writer_file_abandon(struct repo_writer *w);
/* Convenience: chunk everything read from fd as one file entry; a read
 * error fails the writer (nothing can be committed). */
int repo_writer_file_fd(struct repo_writer *w, const char *path,
			const struct repo_entry_meta *m,
			enum repo_chunking how, int fd, struct buf *err);
/* Optional: fn(arg) is called from the calling thread after each read
 * inside repo_writer_file_fd, so a caller can show progress while one
 * large file is stored.  fn must be cheap (throttle it yourself) and must
 * not call back into w except repo_writer_totals.  NULL fn turns it off. */
typedef void (*repo_writer_progress_fn)(void *arg);
void repo_writer_set_progress(struct repo_writer *w,
			      repo_writer_progress_fn fn, void *arg);
/* This snapshot's new chunks compressed as c instead of the
 * repository's setting (call before the first entry). */
void repo_writer_set_compression(struct repo_writer *w,
				 enum repo_compression c);

/*
 * Detached streams: a file's content chunked now, its entry emitted
 * later, so a source may produce data in any order (and fill several
 * streams at once) while entries still come in sorted order.
 *   repo_stream_begin     a new stream of w (how: its chunking)
 *   repo_stream_write     appends bytes (chunked and stored as they come)
 *   repo_stream_end       no more bytes; waits until every chunk is
 *                         stored, so the stream is ready to attach
 *   repo_writer_file_stream
 *                         opens the file entry `path` whose content is
 *                         the ended stream; then repo_writer_file_attr*
 *                         and repo_writer_file_end as for file_begin
 *                         (repo_writer_file_write is refused)
 * Entries and streams may interleave freely (a stream may be written
 * while a file entry is open).  Memory stays bounded: chunk lists spill
 * to a temporary file, and an ended stream keeps only a few KiB in
 * memory.  All calls on the writer's calling thread.
 *
 * Ownership: the writer owns every stream.  repo_writer_file_stream
 * consumes the stream whatever it returns; repo_stream_free drops a
 * stream that will not be attached (its chunks stay referenced by this
 * snapshot's index rows, and are reused or pruned like any others);
 * repo_writer_free drops all that are left.  Errors are as for the
 * other repo_writer_* calls (message in repo_writer_error).
 */
/* A chunk a file is made of (repo_writer_file_chunks, base candidates). */
struct repo_chunkref {
	uint8_t id[32];		/* chunk id (keyed BLAKE2b-256) */
	uint32_t len;		/* plaintext length */
};
struct repo_stream;
int repo_stream_begin(struct repo_writer *w, enum repo_chunking how,
		      struct repo_stream **s);
int repo_stream_write(struct repo_stream *s, const void *p, size_t n);
int repo_stream_end(struct repo_stream *s);
/* Bytes written so far. */
uint64_t repo_stream_size(const struct repo_stream *s);
/*
 * Base candidates for delta chunks (formats/blob.md, "Delta blobs"): the
 * chunk list c[0..n) of the same file in an earlier snapshot (vault
 * snapshot --db gives each table's rows the previous snapshot's).  A new
 * data chunk of the stream may then be stored as a delta against the
 * candidate that held the same bytes; its id, and what readers see, do
 * not change.  Candidates that are not in the repository are skipped.
 * Call before the first repo_stream_write; c is copied (40 bytes a
 * chunk, freed with the stream).  0, or -EINVAL after a write (a
 * refusal, the writer stays usable), -ENOMEM.
 */
int repo_stream_set_base(struct repo_stream *s, const struct repo_chunkref *c,
			 size_t n);
/*
 * A stream that continues a file of an earlier snapshot whose chunk
 * list is c[0..n) (n >= 1): its chunk list starts with c[0..n-1) as
 * they are, and its bytes go on with the plaintext of c[n-1] (read from
 * the repository and verified) without its last ndrop bytes, which must
 * equal drop; repo_stream_write then appends.  Since the chunker starts
 * afresh at every cut, the chunks are those of the whole content
 * written anew.  c[0..n) are the stream's base candidates
 * (repo_stream_set_base).  0 with *s, or a refusal, the writer staying
 * usable (repo_writer_error says why): -ENOENT (a chunk not in the
 * repository), -EINVAL (another length or kind, the last chunk
 * unreadable or not ending with drop); -ENOMEM and the sticky error.
 */
int repo_stream_begin_after(struct repo_writer *w, enum repo_chunking how,
			    const struct repo_chunkref *c, size_t n,
			    const void *drop, size_t ndrop,
			    struct repo_stream **s);
/* NULL-safe; a no-op for a stream already attached to the open entry. */
void repo_stream_free(struct repo_stream *s);
int repo_writer_file_stream(struct repo_writer *w, const char *path,
			    const struct repo_entry_meta *m,
			    struct repo_stream *s);

/*
 * A file entry made of chunks already in the repository (incremental
 * capture: content known unchanged since an earlier snapshot).  Each
 * chunk must be a data chunk of exactly that plaintext length, indexed
 * or being stored by this writer; otherwise -ENOENT / -EINVAL, nothing
 * is emitted and the writer stays usable (repo_writer_error names the
 * chunk).  On success the entry is open: repo_writer_file_attr*, then
 * repo_writer_file_end.  n = 0 makes an empty file.
 */
int repo_writer_file_chunks(struct repo_writer *w, const char *path,
			    const struct repo_entry_meta *m,
			    const struct repo_chunkref *chunks, size_t n);

/* Progress since repo_writer_new (safe to call from the same thread
 * between writes). */
struct repo_totals {
	uint64_t entries;
	uint64_t bytes_read;	/* plaintext bytes seen: every entry's */
	uint64_t bytes_reused;	/* of those, in entries made of stored
				 * chunks (repo_writer_file_chunks): not
				 * read from the source */
	uint64_t bytes_added;	/* plaintext bytes of new chunks */
	uint64_t bytes_stored;	/* stored (compressed/encrypted) bytes added */
	uint64_t chunks, chunks_new;
	uint64_t chunks_delta;	/* new chunks stored as deltas */
};
void repo_writer_totals(struct repo_writer *w, struct repo_totals *t);
/* The message of the last error a repo_writer_* call returned ("" when
 * none), for the calls that take no err argument.  Valid until the next
 * call on w. */
const char *repo_writer_error(struct repo_writer *w);

struct repo_commit_opts {
	int64_t time;		/* unix seconds; 0 = now */
	const char *hostname;	/* NULL = gethostname() */
	const char *source;	/* already masked */
	const char *const *tags;
	size_t ntags;
	const char *meta_json;	/* NULL = "{}" */
};
/* Flushes and fsyncs packs, stores the manifest and the snapshot record,
 * then commits the index.  id receives the new snapshot id. */
int repo_writer_commit(struct repo_writer *w, const struct repo_commit_opts *o,
		       char id[65], struct repo_totals *t, struct buf *err);

/* ---- reading a snapshot ---------------------------------------------- */
struct repo_iter;
int repo_iter_new(struct repo *r, const char *id, struct repo_iter **it,
		  struct buf *err);
void repo_iter_free(struct repo_iter *it);
/* 1 with *e pointing at the next entry (valid until the next call),
 * 0 at the end, <0 on error. */
int repo_iter_next(struct repo_iter *it, const struct manifest_entry **e,
		   struct buf *err);
/* Streams the current file entry's content to sink, verifying every
 * chunk (hash and length).  A sink error is returned as is.  May be
 * called once per entry. */
typedef int (*repo_sink_fn)(void *ctx, const void *p, size_t n);
int repo_iter_read(struct repo_iter *it, repo_sink_fn sink, void *ctx,
		   struct buf *err);
/* The current file entry's chunk references, in order, without reading
 * any data (diff compares contents by chunk ids).  *c points at n =
 * e->nchunks refs owned by the iterator, valid until the next
 * repo_iter_next.  Use either this or repo_iter_read for an entry, not
 * both.  0 or -errno (-EBADMSG for a corrupt manifest). */
int repo_iter_chunks(struct repo_iter *it, const struct manifest_chunk **c,
		     size_t *n, struct buf *err);

/*
 * A view reads a snapshot on another thread.  The repository's own
 * index connection serves one thread only; a view has a connection of
 * its own and shares the keys and the open packs, which are safe to read
 * from many threads.  Open it on the repository's thread, then use it
 * (and the iterators it makes) on one other thread; free it before the
 * repository.  id must be a full 64-digit snapshot id.  A view's
 * iterators decode on the calling thread (no read-ahead pool): the
 * threads using views are the parallelism.
 */
struct repo_view;
int repo_view_open(struct repo *r, struct repo_view **v, struct buf *err);
void repo_view_free(struct repo_view *v);
int repo_view_iter(struct repo_view *v, const char *id, struct repo_iter **it,
		   struct buf *err);

/* ---- maintenance ----------------------------------------------------- */
struct repo_stats {
	uint64_t snapshots, packs, chunks;
	uint64_t stored_bytes;		/* sum of pack file sizes */
	uint64_t raw_bytes;		/* plaintext bytes of unique chunks */
	uint64_t referenced_raw;	/* plaintext bytes summed over snapshots */
};
int repo_stats(struct repo *r, struct repo_stats *s, struct buf *err);

/*
 * Progress of the maintenance operations (repo_check, repo_prune), pack
 * by pack, on the calling thread, to the callback set with
 * repo_set_progress: each pack is reported when its work begins (done
 * 0) and when it ends (done 1).  bytes and items are what is finished
 * so far in the phase, against totals known when the phase begins.  In
 * a dry run of repo_prune each planned pack is reported once, done 1.
 * The callback must be cheap (the caller throttles what it shows).
 */
struct repo_progress {
	const char *phase;	/* "check", "repack", "delete" */
	const char *pack;	/* the pack's id, hex */
	uint64_t pack_size;	/* its stored bytes */
	int done;
	uint64_t bytes, bytes_total;	/* stored bytes of the packs */
	uint64_t items, items_total;	/* packs */
};
typedef void (*repo_progress_fn)(void *ctx, const struct repo_progress *p);
/* fn NULL turns it off. */
void repo_set_progress(struct repo *r, repo_progress_fn fn, void *ctx);

/* check: one callback per problem found.  kind is "pack", "blob",
 * "index" or "snapshot"; what names it; paths affected are reported via
 * separate calls with kind "path" (snapshot id + path in `what`).
 * rebuild-index also tells what it repaired with kind "info" (a
 * snapshot found intact, a damaged index.db set aside); "path" and
 * "info" calls are not counted as problems. */
typedef void (*repo_problem_fn)(void *ctx, const char *kind,
				const char *what, const char *detail);
struct repo_check_opts {
	int read_data;		/* decrypt and hash-verify every blob */
	double subset;		/* 0 < subset <= 100: percent of packs read */
	repo_problem_fn problem;
	void *ctx;
};
struct repo_check_result {
	uint64_t packs_checked, blobs_checked, problems;
};
/* Returns 0 when clean, -EBADMSG when damage was found (all reported),
 * other negative errno when the check itself could not run. */
int repo_check(struct repo *r, const struct repo_check_opts *o,
	       struct repo_check_result *res, struct buf *err);
/*
 * Rebuilds index.db from the packs alone (writer lock): their trailers,
 * or, for a pack whose trailer is lost, every intact blob found by
 * scanning it; tombstones; snapshot records and their manifests.  The new
 * index is built in tmp/ and replaces index.db only when complete, so an
 * interruption changes nothing; a damaged index.db is kept as
 * index.db.corrupt-<time>.  Snapshots whose record can be read are kept,
 * also when data they reference is lost.  Damage is reported through
 * o->problem (o may be NULL; read_data and subset are ignored), counts
 * go to res.  Returns 0 when everything was intact, -EBADMSG when damage
 * was found (the rebuilt index is in place and lists what is intact),
 * other negative errno when it could not rebuild (index.db unchanged).
 */
int repo_rebuild_index(struct repo *r, const struct repo_check_opts *o,
		       struct repo_check_result *res, struct buf *err);

/* prune: policy in store/policy.h */
struct policy;
/* A group of snapshots the policy decided on together (policy.h). */
struct repo_prune_group {
	int safety;		/* a group of safety snapshots */
	const char *hostname;	/* the key's parts; NULL when the policy */
	const char *source;	/* does not group by it */
	size_t kept, forgotten;
};
/* Decisions are reported group by group (regular groups first), each
 * group once before its snapshots, which come oldest first.  Both
 * callbacks may be NULL. */
struct repo_prune_report {
	void (*group)(void *ctx, const struct repo_prune_group *g);
	void (*snapshot)(void *ctx, const struct repo_snapinfo *s, int keep,
			 const char *reason);
	void *ctx;
};
struct repo_prune_result {
	uint64_t forgotten, kept;
	uint64_t packs_deleted, packs_repacked;
	uint64_t bytes_freed;	/* stored bytes */
	uint64_t blobs_removed;
};
/* Applies p (NULL keeps every snapshot), then reclaims space (writer
 * lock).  First compares packs/ with the index (no pack read): when they
 * disagree, -EUCLEAN and nothing is changed, dry run or not. */
int repo_prune(struct repo *r, const struct policy *p, int dry_run,
	       const struct repo_prune_report *rep,
	       struct repo_prune_result *res, struct buf *err);

#endif

/*
 * snap-cache: the files cache of `vault snapshot PATH...` (format and
 * rules: formats/files-cache.md).  A regular file whose size, mtime,
 * ctime and inode match the cache's record of the last snapshot of the
 * same PATH is stored from the chunks recorded there instead of being
 * read; the repository still has the last word (the writer refuses a
 * chunk its index lacks, and the file is then read).
 *
 * The cache is a hint: it cannot be read, is damaged or cannot be
 * written, and the snapshot goes on (with a warning), reading every
 * file.  It is replaced only after a snapshot is committed.
 */
#ifndef VAULT_SNAP_CACHE_H
#define VAULT_SNAP_CACHE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

struct cli;
struct repo;
struct repo_chunkref;
struct snap_cache;

/* Files changed this close to the snapshot's start (ns) are read again
 * next time: see "How it is used" in formats/files-cache.md. */
#define SNAP_CACHE_RACY_NS (2 * 1000000000LL)

/*
 * A cache for a snapshot into r started at start_ns (CLOCK_REALTIME,
 * taken before any file is read).  use_old: look files up (0: read
 * every file); keep_new: record what is stored, for snap_cache_save
 * (0 for a dry run).  NULL only when out of memory.  The cache is off
 * (every lookup misses, save does nothing) when no cache directory can
 * be named ($VAULT_CACHE_DIR, $XDG_CACHE_HOME, $HOME all unset).
 */
struct snap_cache *snap_cache_new(struct cli *c, struct repo *r,
				  int64_t start_ns, int use_old, int keep_new);
/* NULL-safe. */
void snap_cache_free(struct snap_cache *sc);

/* The walk enters the PATH parent/base (stored as base): its cache file
 * is loaded (a missing one is empty; an unreadable or damaged one is
 * empty after a warning).  0 or -ENOMEM. */
int snap_cache_root(struct snap_cache *sc, const char *parent,
		    const char *base);
/*
 * 1 when the current PATH's cache says the regular file at path (its
 * path in the snapshot, len bytes) with lstat st is unchanged: *c gets
 * its *n chunks (owned by sc, valid until the next call).  0 when it
 * must be read.
 */
int snap_cache_lookup(struct snap_cache *sc, const char *path, size_t len,
		      const struct stat *st, const struct repo_chunkref **c,
		      size_t *n);
/* The file at path was stored whole, as it was when st was taken: it is
 * recorded for the next snapshot (unless it changed too recently).
 * 0 or -ENOMEM. */
int snap_cache_note(struct snap_cache *sc, const char *path, size_t len,
		    const struct stat *st);
/*
 * After snapshot id (64 hex) is committed: reads its manifest for the
 * chunk lists of the files noted, and replaces each PATH's cache file.
 * Warns (and returns) on failure: the snapshot is committed either way.
 */
void snap_cache_save(struct snap_cache *sc, const char *id);

#endif

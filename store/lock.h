/*
 * lock: the repository's locks, both flock(2) based so a crashed holder
 * releases them automatically.
 *
 *   lock       the writer lock (LOCK_EX): snapshot, forget, prune,
 *              rebuild-index, key passwd.  Its content names the holder
 *              (host, pid, command, since) for the -EBUSY message.
 *   lock.read  readers (iterators, check) hold it shared while they may
 *              open packs; prune takes it exclusively around the index
 *              commit and the deletion of packs, so a reader never looks
 *              a pack up in the index and then finds it gone.
 *
 * Readers never write either file: flock needs only a descriptor opened
 * for reading, so both work on a read-only repository.
 */
#ifndef VAULT_LOCK_H
#define VAULT_LOCK_H

#include "buf.h"

struct lock;

/*
 * Takes the writer lock on path.  Busy: polls for up to wait_s seconds,
 * then -EBUSY with err naming the holder.  A lock file naming a dead pid
 * on this host is stale and taken over.  command is recorded.
 */
int lock_writer(struct lock **l, const char *path, const char *command,
		int wait_s, struct buf *err);

/*
 * Takes the readers lock on path, shared or exclusive.  wait_s < 0 waits
 * as long as it takes; otherwise -EBUSY after wait_s seconds.
 *
 * Neither side needs write access: the file is opened read-only, and
 * created only when it is missing.  When it is missing and cannot be
 * created (a read-only or full repository), shared (readers) succeeds
 * without locking anything, since what it guards against (prune,
 * rebuild-index) cannot run there either; exclusive fails.
 */
int lock_readers(struct lock **l, const char *path, int exclusive,
		 int wait_s, struct buf *err);

/*
 * Holds the writer lock at path shared: no writer (snapshot, forget,
 * prune, rebuild-index, key passwd) can start while it is held, and it
 * waits for one that runs, up to wait_s seconds (wait_s < 0: as long as
 * it takes), then -EBUSY naming the holder.  For a reader that reads
 * index.db as an immutable file because it cannot write the repository
 * (index_open_immutable): nothing else keeps writers from changing the
 * file under it then.  Needs only read access; no lock file at all
 * succeeds without locking.
 */
int lock_writer_shared(struct lock **l, const char *path, int wait_s,
		       struct buf *err);

/* Releases and frees; NULL-safe. */
void lock_release(struct lock *l);

#endif

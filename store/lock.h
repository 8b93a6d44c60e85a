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
 * as long as it takes; otherwise -EBUSY after wait_s seconds.  On a
 * read-only repository (the file cannot be created) it succeeds without
 * locking anything.
 */
int lock_readers(struct lock **l, const char *path, int exclusive,
		 int wait_s, struct buf *err);

/* Releases and frees; NULL-safe. */
void lock_release(struct lock *l);

#endif

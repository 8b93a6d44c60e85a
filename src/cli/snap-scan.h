/*
 * snap-scan: the totals of `vault snapshot`'s PATHs for its progress
 * line: a stat walk (no file is opened) on a thread of its own, started
 * as the snapshot begins, so reading never waits for it.  It adds up
 * the entries and the sizes of the regular files, and hands them to
 * the "files" phase as it goes (not firm: the total grows) and once at
 * the end (firm: the ETA can be shown).  Run only when progress is
 * shown.
 *
 * Bounded: nftw with a few descriptors at a time, symlinks never
 * followed, no list kept; it stops early when asked to.  The totals are
 * an estimate: the walk that stores the files may find the tree changed,
 * and the progress line raises a total that is passed.
 */
#ifndef VAULT_SNAP_SCAN_H
#define VAULT_SNAP_SCAN_H

#include <stddef.h>
#include <sys/stat.h>

struct cli_phase;
struct snap_scan;

/*
 * What the walk that stores the files leaves out (--exclude), so the
 * totals match: 1 to leave path (under paths[i], absolute, as the file
 * system spells it; st: its lstat) out, and its subtree with it; 0 to
 * count it.  Called on the scan's thread.
 */
typedef int (*snap_scan_skip_fn)(void *ctx, size_t i, const char *path,
				 const struct stat *st);

/*
 * Starts scanning paths[0..n) (absolute; they must outlive the scan)
 * into ph.  skip may be NULL; the directory (dev, ino) of the
 * repository is never counted (skip_dev 0: none); one_fs: nothing on
 * another file system than its PATH (--one-file-system).  NULL when ph
 * is NULL, when out of memory or when no thread can be had: the
 * snapshot then shows no total.
 */
struct snap_scan *snap_scan_start(const char *const *paths, size_t n,
				  struct cli_phase *ph, dev_t skip_dev,
				  ino_t skip_ino, int one_fs,
				  snap_scan_skip_fn skip, void *ctx);
/* Stops the scan (if still running) and frees it.  NULL-safe. */
void snap_scan_stop(struct snap_scan *s);

#endif

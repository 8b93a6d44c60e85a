/*
 * extract: writing snapshot entries into a directory without ever
 * writing outside it, whatever the (untrusted) manifest contains.
 *
 * Entry paths are split on '/' and every segment that could escape or
 * confuse (empty, ".", "..", or containing a control character or a
 * backslash) is percent-encoded (see extract_encode_segment).  All
 * creation is relative to directory fds opened component by component
 * with O_NOFOLLOW|O_DIRECTORY, so a symlink (from the snapshot or planted
 * by someone else) is never followed; files are created with
 * O_CREAT|O_EXCL|O_NOFOLLOW.  Nothing that exists is replaced unless
 * the caller asked for it (extract_set_overwrite); existing directories
 * are merged into.  Directory modes and mtimes are applied
 * when the directory is left (entries arrive in manifest order, where a
 * subtree is contiguous), after its contents were written.
 *
 * Functions return 0 or a negative errno with a message in err (which
 * names the offending component); a failed entry leaves the extraction
 * usable for the next one.
 */
#ifndef VAULT_EXTRACT_H
#define VAULT_EXTRACT_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "manifest.h"

struct extract;

/* Creates dir (and missing parents) if needed and opens it. */
int extract_new(struct extract **x, const char *dir, struct buf *err);
/* on: an entry replaces a file, symlink or (for a non-directory) an
 * empty directory that is in its way; off (the default): such entries
 * fail with -EEXIST and leave what is there alone. */
void extract_set_overwrite(struct extract *x, int on);
/* 1 when extracting e would meet something in its way (anything where a
 * non-directory goes, a non-directory where a directory goes or along
 * its path), with its on-disk path (relative to the directory) appended
 * to where; 0 when not; <0 on error.  Changes nothing. */
int extract_conflict(struct extract *x, const struct manifest_entry *e,
		     struct buf *where, struct buf *err);
/* Closes what is open without applying pending directory metadata
 * (use extract_finish first).  NULL-safe. */
void extract_free(struct extract *x);

int extract_dir(struct extract *x, const struct manifest_entry *e,
		struct buf *err);
int extract_symlink(struct extract *x, const struct manifest_entry *e,
		    struct buf *err);
/* Creates (or truncates) the file and returns a writable fd for its
 * content; then call extract_file_close (applies mode and mtime) or
 * extract_file_abort (removes the partial file). */
int extract_file_open(struct extract *x, const struct manifest_entry *e,
		      int *fd, struct buf *err);
int extract_file_close(struct extract *x, const struct manifest_entry *e,
		       int fd, struct buf *err);
void extract_file_abort(struct extract *x, int fd);
/* Applies the metadata of all directories still open. */
int extract_finish(struct extract *x, struct buf *err);

/* Appends the on-disk name of one path segment: unchanged when safe;
 * otherwise '%', control characters, '\\' and the dots of "." / ".."
 * become %XX (upper-case hex), and an empty segment becomes "%00". */
int extract_encode_segment(struct buf *out, const char *seg, size_t n);
/* The whole path, segment by segment, joined with '/'. */
int extract_encode_path(struct buf *out, const char *path, size_t n);

#endif

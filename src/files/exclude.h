/*
 * exclude: the patterns of `vault snapshot --exclude PATTERN` and
 * `--exclude-file FILE`, matched against the paths a snapshot stores.
 *
 * A path is the entry's path in the snapshot: the PATH's base name, then
 * the names below it, '/'-separated ("src/lib/a.o" for the file
 * /home/me/src/lib/a.o of `vault snapshot /home/me/src`).  Names are
 * bytes, compared exactly (no case folding, no locale).
 *
 * Pattern syntax, per name component:
 *   *       any run of bytes (also none, also a leading '.'), not '/'
 *   ?       any one byte but '/'
 *   [abc] [a-z] [!a-z] [^a-z]
 *           one byte of (or, with ! or ^, not of) the set; ']' first in
 *           the set stands for itself; never matches '/'
 *   \x      the byte x itself (\*, \?, \[, \\, \!, \#)
 *   **      as a whole component: any number of components, also none
 *           (the components a, ** and b joined by '/' match a/b and
 *           a/x/y/b); elsewhere it is '*'
 * A pattern without '/' matches any single name: "*.o" leaves out every
 * entry named *.o at any depth.  A pattern with a '/' matches the whole
 * path from the snapshot's top ("src/build" is that one directory; a
 * leading '/' changes nothing: "/src/build" is the same).  A trailing
 * '/' matches directories only ("cache/").  An entry that matches is
 * left out, and a directory that matches is left out with all it holds
 * (it is not even listed).  A pattern starting with '!' (a negation in
 * other tools) is refused: write "\!" for a name that starts with '!'.
 *
 * No I/O but exclude_add_file; nothing prints.
 */
#ifndef VAULT_EXCLUDE_H
#define VAULT_EXCLUDE_H

#include <stddef.h>
#include "buf.h"

struct exclude;

/* NULL only when out of memory. */
struct exclude *exclude_new(void);
/* NULL-safe. */
void exclude_free(struct exclude *x);

/*
 * Adds the pattern pat (copied).  0; -EINVAL when it is not a pattern
 * (empty, only slashes, a negation, an unterminated '[', a trailing
 * '\'), err saying why; -ENOMEM.
 */
int exclude_add(struct exclude *x, const char *pat, struct buf *err);

/*
 * Adds the patterns of the text file path: one per line, leading and
 * trailing blanks (space, tab, CR) trimmed, blank lines and lines whose
 * first non-blank is '#' ignored.  0, or -errno with err naming the file
 * (and the line, for a bad pattern); patterns before the bad line stay
 * added.
 */
int exclude_add_file(struct exclude *x, const char *path, struct buf *err);

/* Patterns added so far. */
size_t exclude_count(const struct exclude *x);

/* 1 when the entry at path (len bytes, as described above) is excluded,
 * 0 when not, -ENOMEM; is_dir: the entry is a directory.  x may be NULL
 * (nothing is excluded). */
int exclude_match(const struct exclude *x, const char *path, size_t len,
		  int is_dir);

#endif

/*
 * snap-files: the PATHs of `vault snapshot` (and '-', standard input):
 * resolving them, walking them into the repository writer, the progress
 * line, and the warnings for what is left out.  Split out of
 * cmd-snapshot.c, which decides where the project's roots go among the
 * PATHs and commits.
 *
 * A file or directory that cannot be read (it vanished after its
 * directory was listed, permission denied, a read error, a directory
 * that cannot be listed) is skipped with a warning naming it, and the
 * snapshot becomes partial: snap_files_skipped() counts them and
 * snap_files_listed() names the first SNAP_FILES_LISTED.  A file that
 * changes while it is read is read again, up to SNAP_FILES_ATTEMPTS
 * times; one that keeps changing is stored as last read, with a warning
 * (the snapshot stays complete, as restic's does).  Only failures of
 * the process or of the repository abort the walk.
 */
#ifndef VAULT_SNAP_FILES_H
#define VAULT_SNAP_FILES_H

#include <stddef.h>
#include "cli.h"

struct exclude;
struct repo;
struct repo_writer;

/* Reads of a file that keeps changing, before it is stored as read. */
#define SNAP_FILES_ATTEMPTS	3
/* Skipped paths named in the snapshot record (all are counted). */
#define SNAP_FILES_LISTED	1000

struct snap_item {
	const char *arg;	/* as given */
	char *parent;		/* absolute, symlinks resolved */
	char *base;		/* name at the snapshot's top level */
};

/* How the walk goes (vault snapshot's options). */
struct snap_files_opts {
	struct exclude *exclude;	/* NULL: nothing; the caller's */
	int one_file_system;	/* a directory on another device than its
				 * PATH is stored empty, any other such
				 * entry left out (both count as excluded) */
	int no_cache;		/* read every file (the files cache is
				 * still written for the next snapshot) */
};

/* What the walk stored (or, in a dry run, would store). */
struct snap_files_stats {
	uint64_t files, dirs, symlinks;
	uint64_t bytes;			/* of the files */
	uint64_t files_unchanged;	/* taken from the files cache */
	uint64_t bytes_unchanged;
	uint64_t excluded;	/* entries left out; a directory once */
};

/* Splits the PATH it->arg into it->parent (resolved) and it->base
 * (snap-item.c): 0, or -EINVAL (a usage error), -ENOMEM or another
 * -errno, message printed (but for -ENOMEM). */
int snap_item_resolve(struct cli *c, struct snap_item *it);

struct snap_files;

/* NULL only when out of memory. */
struct snap_files *snap_files_new(struct cli *c);
/* NULL-safe. */
void snap_files_free(struct snap_files *f);

/*
 * Resolves paths[0..n) (they must outlive f) into items sorted by base
 * name, before the repository is opened: a PATH that does not exist is
 * an error, one with no base name ('/') or two with the same base name
 * a usage error.  CLI_EXIT_OK or an exit code (message printed).
 */
int snap_files_resolve(struct snap_files *f, char **paths, size_t n);
size_t snap_files_count(const struct snap_files *f);
const struct snap_item *snap_files_item(const struct snap_files *f,
					size_t i);

/* Before snap_files_start; o is copied (o->exclude is not). */
void snap_files_configure(struct snap_files *f,
			  const struct snap_files_opts *o);

/* Before walking: entries go to w, or with w NULL nowhere (a dry run:
 * the walk lists directories and opens files but reads no content and
 * touches nothing in r); the repository r is never walked into; the
 * progress line (when stderr is a terminal) counts from start
 * (cli_now()).  0, or CLI_EXIT_ERROR (out of memory, message
 * printed). */
int snap_files_start(struct snap_files *f, struct repo *r,
		     struct repo_writer *w, double start);
/* Stores items [from, to).  0, or < 0 when nothing may be committed
 * (message printed). */
int snap_files_walk(struct snap_files *f, size_t from, size_t to);
/* Stores standard input as the file name; any read error aborts.  0 or
 * < 0 (message printed). */
int snap_files_stdin(struct snap_files *f, const char *name);
/* Clears the progress line (before other output). */
void snap_files_progress_clear(struct snap_files *f);

/* After the commit of snapshot id: the files cache for the next one
 * (warns when it cannot be written). */
void snap_files_cache_save(struct snap_files *f, const char *id);
void snap_files_stats(const struct snap_files *f, struct snap_files_stats *s);
/* The first SNAP_FILES_LISTED entries excluded, as paths in the
 * snapshot; *n gets their number. */
char *const *snap_files_excluded(const struct snap_files *f, size_t *n);

/* Paths skipped so far. */
size_t snap_files_skipped(const struct snap_files *f);
/* The first SNAP_FILES_LISTED of them, absolute, as the file system
 * spells them (any bytes but NUL); *n gets their number. */
char *const *snap_files_listed(const struct snap_files *f, size_t *n);

#endif

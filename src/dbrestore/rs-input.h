/*
 * rs-input: where restore reads a snapshot's database tree from.
 *
 * The engine never knows about the repository: it asks an rs_input to
 * open a file of the tree by its path ("db/meta.json",
 * "db/public/tables/todos/data.sql", exactly the paths pg-snap wrote)
 * and streams its bytes (pulled with read, or pushed to a sink with
 * stream).  The front end plugs the repository reader in;
 * tests and a restore from an extracted tree use rs_input_dir.
 */
#ifndef VAULT_RS_INPUT_H
#define VAULT_RS_INPUT_H

#include <stddef.h>
#include <sys/types.h>
#include "buf.h"

/* Takes the next n bytes of a file; 0 or a negative errno to stop. */
typedef int (*rs_input_sink_fn)(void *ctx, const void *p, size_t n);

struct rs_input {
	void *ctx;
	/* Opens path; 0, -ENOENT when the snapshot has no such file, or
	 * another negative errno (err says why). */
	int (*open)(void *ctx, const char *path, void **h, struct buf *err);
	/* Up to n bytes: the count, 0 at the end, or a negative errno. */
	ssize_t (*read)(void *ctx, void *h, void *p, size_t n,
			struct buf *err);
	/* NULL-safe on h. */
	void (*close)(void *ctx, void *h);
	/* Optional (NULL: rs_input_stream reads through open/read).  Pushes
	 * the file at path to sink piece by piece, so an input whose reader
	 * is push-based (the repository's) serves a file of any size with
	 * bounded memory.  Returns as open does; a sink error as is. */
	int (*stream)(void *ctx, const char *path, rs_input_sink_fn sink,
		      void *sink_ctx, struct buf *err);
	/* Optional (NULL: the input serves one thread only, and the data
	 * loads over one connection).  Fills out with an input over the
	 * same tree that one other thread may use while this one is in use
	 * (the parallel load); called on this input's thread.  out is
	 * released with out->release.  0 or a negative errno (err says
	 * why). */
	int (*fork)(void *ctx, struct rs_input *out, struct buf *err);
	/* Set by fork: releases a forked input (NULL-safe on in). */
	void (*release)(struct rs_input *in);
	/* Optional (NULL: the input cannot list; callers must cope).
	 * Calls cb with the name of each entry directly under dir
	 * ("db/large_objects"), in no particular order, stopping at cb's
	 * first error (returned as is).  0, -ENOENT when there is no such
	 * directory, or another negative errno (err says why). */
	int (*list)(void *ctx, const char *dir,
		    int (*cb)(void *cbctx, const char *name), void *cbctx,
		    struct buf *err);
};

/* Releases a forked input (in->release); NULL-safe. */
void rs_input_release(struct rs_input *in);

/* Streams the file at path to sink (in->stream, or open/read in pieces
 * of at most 64 KiB).  0, -ENOENT (err names the path), a sink error as
 * is, or another negative errno. */
int rs_input_stream(const struct rs_input *in, const char *path,
		    rs_input_sink_fn sink, void *sink_ctx, struct buf *err);

/* Reads a whole file into out (appending), refusing more than max bytes
 * (0 = unbounded) with -E2BIG.  Errors name the path. */
int rs_input_slurp(const struct rs_input *in, const char *path,
		   struct buf *out, size_t max, struct buf *err);

/* An input over a directory that holds the tree (root/db/...). */
int rs_input_dir_init(struct rs_input *in, const char *root);
void rs_input_dir_release(struct rs_input *in);

#endif

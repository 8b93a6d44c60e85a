/*
 * rs-input: where restore reads a snapshot's database tree from.
 *
 * The engine never knows about the repository: it asks an rs_input to
 * open a file of the tree by its path ("db/meta.json",
 * "db/public/tables/todos/data.sql", exactly the paths pg-snap wrote)
 * and streams its bytes.  The front end plugs the repository reader in;
 * tests and a restore from an extracted tree use rs_input_dir.
 */
#ifndef VAULT_RS_INPUT_H
#define VAULT_RS_INPUT_H

#include <stddef.h>
#include <sys/types.h>
#include "buf.h"

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
};

/* Reads a whole file into out (appending), refusing more than max bytes
 * (0 = unbounded) with -E2BIG.  Errors name the path. */
int rs_input_slurp(const struct rs_input *in, const char *path,
		   struct buf *out, size_t max, struct buf *err);

/* An input over a directory that holds the tree (root/db/...). */
int rs_input_dir_init(struct rs_input *in, const char *root);
void rs_input_dir_release(struct rs_input *in);

#endif

/*
 * rs-input: reading a snapshot's tree through the rs_input callbacks,
 * and the plain-directory implementation of them.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rs-input.h"

int rs_input_slurp(const struct rs_input *in, const char *path,
		   struct buf *out, size_t max, struct buf *err)
{
	void *h = NULL;
	size_t start = out->len;
	int r = in->open(in->ctx, path, &h, err);

	if (r == -ENOENT && err)
		buf_addf(err, "the snapshot has no %s", path);
	if (r < 0)
		return r;
	for (;;) {
		ssize_t n;

		r = buf_grow(out, 65536);
		if (r < 0)
			break;
		n = in->read(in->ctx, h, out->data + out->len,
			     out->cap - out->len - 1, err);
		if (n < 0) {
			r = (int)n;
			break;
		}
		if (n == 0)
			break;
		buf_setlen(out, out->len + (size_t)n);
		if (max && out->len - start > max) {
			r = -E2BIG;
			if (err)
				buf_addf(err, "%s: larger than %zu bytes", path, max);
			break;
		}
	}
	in->close(in->ctx, h);
	return r;
}

int rs_input_stream(const struct rs_input *in, const char *path,
		    rs_input_sink_fn sink, void *sink_ctx, struct buf *err)
{
	enum { RS_INPUT_PIECE = 65536 };
	void *h = NULL;
	char *piece;
	int r;

	if (in->stream) {
		r = in->stream(in->ctx, path, sink, sink_ctx, err);
		if (r == -ENOENT && err && !err->len)
			buf_addf(err, "the snapshot has no %s", path);
		return r;
	}
	piece = malloc(RS_INPUT_PIECE);
	if (!piece)
		return -ENOMEM;
	r = in->open(in->ctx, path, &h, err);
	if (r == -ENOENT && err)
		buf_addf(err, "the snapshot has no %s", path);
	while (r == 0) {
		ssize_t n = in->read(in->ctx, h, piece, RS_INPUT_PIECE, err);

		if (n <= 0) {
			r = (int)n;
			break;
		}
		r = sink(sink_ctx, piece, (size_t)n);
	}
	if (h)
		in->close(in->ctx, h);
	free(piece);
	return r;
}

struct rs_input_dir {
	char *root;
};

static int rs_input_dir_open(void *ctx, const char *path, void **h,
			     struct buf *err)
{
	struct rs_input_dir *d = ctx;
	struct buf full = BUF_INIT;
	int *fd, r;

	*h = NULL;
	/* the tree's own paths never climb: refuse any that would */
	if (path[0] == '/' || strstr(path, "../") || !strcmp(path, "..")) {
		if (err)
			buf_addf(err, "%s: not a path inside the snapshot", path);
		return -EINVAL;
	}
	r = buf_addf(&full, "%s/%s", d->root, path);
	fd = malloc(sizeof(*fd));
	if (r < 0 || !fd) {
		free(fd);
		buf_release(&full);
		return -ENOMEM;
	}
	*fd = open((char *)full.data, O_RDONLY | O_CLOEXEC);
	if (*fd < 0) {
		r = -errno;
		if (err && r != -ENOENT)
			buf_addf(err, "%s: %s", path, strerror(errno));
		free(fd);
		buf_release(&full);
		return r;
	}
	buf_release(&full);
	*h = fd;
	return 0;
}

static ssize_t rs_input_dir_read(void *ctx, void *h, void *p, size_t n,
				 struct buf *err)
{
	ssize_t got;

	do
		got = read(*(int *)h, p, n);
	while (got < 0 && errno == EINTR);
	if (got < 0) {
		if (err)
			buf_addf(err, "read: %s", strerror(errno));
		return -errno;
	}
	return got;
}

static void rs_input_dir_close(void *ctx, void *h)
{
	if (!h)
		return;
	close(*(int *)h);
	free(h);
}

static int rs_input_dir_list(void *ctx, const char *dir,
			     int (*cb)(void *cbctx, const char *name),
			     void *cbctx, struct buf *err)
{
	struct rs_input_dir *d = ctx;
	struct buf full = BUF_INIT;
	struct dirent *de;
	DIR *dh;
	int r;

	if (dir[0] == '/' || strstr(dir, "../") || !strcmp(dir, "..")) {
		if (err)
			buf_addf(err, "%s: not a path inside the snapshot", dir);
		return -EINVAL;
	}
	r = buf_addf(&full, "%s/%s", d->root, dir);
	if (r < 0)
		return r;
	dh = opendir((char *)full.data);
	buf_release(&full);
	if (!dh) {
		r = -errno;
		if (err && r != -ENOENT)
			buf_addf(err, "%s: %s", dir, strerror(errno));
		return r;
	}
	for (;;) {
		errno = 0;
		de = readdir(dh);
		if (!de) {
			if (errno) {
				r = -errno;
				if (err)
					buf_addf(err, "%s: %s", dir, strerror(errno));
			}
			break;
		}
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		r = cb(cbctx, de->d_name);
		if (r < 0)
			break;
	}
	closedir(dh);
	return r;
}

static int rs_input_dir_fork(void *ctx, struct rs_input *out, struct buf *err)
{
	struct rs_input_dir *d = ctx;
	int r = rs_input_dir_init(out, d->root);

	if (r == 0)
		out->release = rs_input_dir_release;
	else if (err)
		buf_addstr(err, "out of memory");
	return r;
}

void rs_input_release(struct rs_input *in)
{
	if (in && in->release)
		in->release(in);
}

int rs_input_dir_init(struct rs_input *in, const char *root)
{
	struct rs_input_dir *d = calloc(1, sizeof(*d));

	memset(in, 0, sizeof(*in));
	if (!d || !(d->root = strdup(root))) {
		free(d);
		return -ENOMEM;
	}
	in->ctx = d;
	in->open = rs_input_dir_open;
	in->read = rs_input_dir_read;
	in->close = rs_input_dir_close;
	in->fork = rs_input_dir_fork;
	in->list = rs_input_dir_list;
	return 0;
}

void rs_input_dir_release(struct rs_input *in)
{
	struct rs_input_dir *d;

	if (!in || !in->ctx)
		return;
	d = in->ctx;
	free(d->root);
	free(d);
	in->ctx = NULL;
}

/*
 * writer-refs: chunk lists, the (id, length) records of a stream's
 * chunks in stream order.  A list is kept in memory up to
 * WRITER_REFS_SPILL, then moved to segments of one unlinked spill file
 * in tmp/ shared by every stream of the writer, so a file of any size,
 * or thousands of parked streams, cost bounded memory.
 *
 * The bottom of the writer: it knows the spill file and nothing of the
 * workers, the manifest or entries (writer-manifest.c reads the lists
 * back when it encodes an entry).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "repo-internal.h"
#include "writer-int.h"

static int writer_refs_tmpfile(struct buf *dir)
{
	int fd;

	if (buf_addstr(dir, "/refs-XXXXXX") < 0) {
		errno = ENOMEM;
		return -1;
	}
	fd = mkostemp((char *)dir->data, O_CLOEXEC);
	if (fd >= 0)
		unlink((char *)dir->data);
	return fd;
}

/* Opens the shared spill file on first use (calling thread). */
static int writer_refs_spill_open(struct repo_writer *w)
{
	struct buf dir = BUF_INIT;
	int rc;

	if (w->spill_fd >= 0)
		return 0;
	rc = repo_join(w->r, "tmp", &dir);
	if (rc == 0) {
		w->spill_fd = open((char *)dir.data, O_TMPFILE | O_RDWR |
				   O_CLOEXEC, 0600);
		if (w->spill_fd < 0)	/* no O_TMPFILE here: name, unlink */
			w->spill_fd = writer_refs_tmpfile(&dir);
		rc = w->spill_fd < 0 ? -errno : 0;
	}
	buf_release(&dir);
	return rc;
}

/* Moves the in-memory part of a chunk list to a new spill segment. */
int writer_refs_spill(struct repo_writer *w, struct writer_refs *f)
{
	struct writer_seg *seg;
	ssize_t n;
	int rc;

	if (!f->mem.len)
		return 0;
	rc = writer_refs_spill_open(w);
	if (rc < 0)
		return rc;
	n = pwrite(w->spill_fd, f->mem.data, f->mem.len, (off_t)w->spill_end);
	if (n < 0 || (size_t)n != f->mem.len)
		return n < 0 ? -errno : -EIO;
	if (f->nseg && f->seg[f->nseg - 1].off + f->seg[f->nseg - 1].len ==
	    w->spill_end) {
		f->seg[f->nseg - 1].len += f->mem.len;	/* contiguous */
	} else {
		if (f->nseg == f->capseg) {
			size_t cap = f->capseg ? 2 * f->capseg : 4;

			seg = realloc(f->seg, cap * sizeof(*seg));
			if (!seg)
				return -ENOMEM;
			f->seg = seg;
			f->capseg = cap;
		}
		f->seg[f->nseg].off = w->spill_end;
		f->seg[f->nseg].len = f->mem.len;
		f->nseg++;
	}
	w->spill_end += f->mem.len;
	w->spill_live += f->mem.len;
	f->spilled += f->mem.len;
	buf_reset(&f->mem);
	return 0;
}

/* Appends a finished chunk to a chunk list (calling thread, mu held). */
int writer_refs_add(struct repo_writer *w, struct writer_refs *f,
		    const uint8_t id[32], uint32_t len)
{
	int rc = buf_add(&f->mem, id, 32);

	if (rc == 0)
		rc = buf_put_le32(&f->mem, len);
	if (rc == 0 && f->mem.len >= WRITER_REFS_SPILL)
		rc = writer_refs_spill(w, f);
	if (rc == 0)
		f->n++;
	return rc;
}

/* Empties a chunk list, giving its segments back: space at the end of
 * the spill file is reused at once, the whole file once nothing in it
 * is live. */
void writer_refs_reset(struct repo_writer *w, struct writer_refs *f)
{
	for (size_t i = f->nseg; i-- > 0;)
		if (f->seg[i].off + f->seg[i].len == w->spill_end)
			w->spill_end = f->seg[i].off;
	w->spill_live -= f->spilled;
	if (!w->spill_live && w->spill_end) {
		w->spill_end = 0;
		if (ftruncate(w->spill_fd, 0) < 0) {
			close(w->spill_fd);	/* a fresh file next time */
			w->spill_fd = -1;
		}
	}
	buf_reset(&f->mem);
	f->nseg = 0;
	f->spilled = 0;
	f->n = 0;
}

void writer_refs_release(struct writer_refs *f)
{
	buf_release(&f->mem);
	free(f->seg);
	f->seg = NULL;
	f->nseg = f->capseg = 0;
}

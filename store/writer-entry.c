/*
 * writer-entry: the entries of a snapshot, repo_writer_dir, _symlink and
 * the file entries, whatever their content comes from: bytes written
 * or read from a descriptor (repo_writer_file_begin/_write/_read_fd/_end,
 * repo_writer_file_fd), a detached stream (repo_writer_file_stream) or
 * chunks the repository already holds (repo_writer_file_chunks).  An
 * open file entry can be abandoned (repo_writer_file_abandon), so a
 * source that changed while it was read can be read again.
 *
 * Entries must come in strictly increasing manifest_path_cmp order; a
 * bad argument is refused with -EINVAL and a message, and the writer
 * stays usable.  Each accepted entry is encoded into the manifest stream
 * (writer-manifest.c) once its chunk list is complete.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "blob.h"
#include "index.h"
#include "repo-internal.h"
#include "writer-int.h"

/* ---- entries ----------------------------------------------------- */

/* The writer can take an entry: not failed, committed or inside a file. */
int writer_entry_usable(struct repo_writer *w, int want_file)
{
	int rc = writer_live(w);

	if (rc < 0)
		return rc;
	if (w->in_file != want_file)
		return writer_refuse(w, want_file ? NULL : (char *)w->fe.path,
				     want_file ? "no file entry is open"
				     : "file entry still open (call"
				     " repo_writer_file_end)");
	return 0;
}

/* Entries must come in strictly increasing manifest_path_cmp order, and
 * fit the manifest's limits. */
static int writer_entry_order(struct repo_writer *w, const char *path)
{
	size_t len = path ? strlen(path) : 0;

	if (!len || len > MANIFEST_MAX_PATH)
		return writer_refuse(w, path, "empty or too long entry path");
	if (w->have_last && manifest_path_cmp((char *)w->last.data,
					      w->last.len, path, len) >= 0) {
		pthread_mutex_lock(&w->mu);
		buf_reset(&w->errmsg);
		buf_addf(&w->errmsg, "%s: entry out of order: entries must be"
			 " strictly sorted (manifest_path_cmp), and it comes"
			 " after %s", path, (char *)w->last.data);
		pthread_mutex_unlock(&w->mu);
		return -EINVAL;
	}
	return 0;
}

/* The entry was accepted: later ones must sort after it. */
static int writer_entry_order_set(struct repo_writer *w, const char *path)
{
	int rc;

	buf_reset(&w->last);
	rc = buf_add(&w->last, path, strlen(path));
	if (rc < 0)
		return writer_fail(w, rc, NULL);
	w->have_last = 1;
	return 0;
}

static int writer_entry_simple(struct repo_writer *w, const char *path,
			       uint8_t kind, const char *target,
			 const struct repo_entry_meta *m)
{
	struct manifest_entry e;
	int rc = writer_entry_usable(w, 0);

	if (rc == 0)
		rc = writer_entry_order(w, path);
	if (rc < 0)
		return rc;
	memset(&e, 0, sizeof(e));
	e.path = (char *)path;
	e.path_len = strlen(path);
	e.kind = kind;
	e.mode = m ? m->mode & 07777 : 0;
	e.mtime_ns = m ? m->mtime_ns : 0;
	e.target = (char *)target;
	e.target_len = target ? strlen(target) : 0;
	if (e.target_len > MANIFEST_MAX_TARGET)
		return writer_refuse(w, path, "symlink target too long");
	rc = writer_manifest_entry(w, &e);
	return rc < 0 ? rc : writer_entry_order_set(w, path);
}

int repo_writer_dir(struct repo_writer *w, const char *path,
		    const struct repo_entry_meta *m)
{
	return writer_entry_simple(w, path, MANIFEST_DIR, NULL, m);
}

int repo_writer_symlink(struct repo_writer *w, const char *path,
			const char *target, const struct repo_entry_meta *m)
{
	if (!target)
		return writer_refuse(w, path, "symlink without a target");
	return writer_entry_simple(w, path, MANIFEST_SYMLINK, target, m);
}

/* ---- file entries ------------------------------------------------ */

/* Opens the file entry (path, meta) whose content st will hold.  Its
 * path becomes the last one only when the entry ends (no other entry can
 * come while it is open), so an abandoned entry leaves no trace. */
static int writer_entry_open(struct repo_writer *w, const char *path,
			     const struct repo_entry_meta *m,
			     struct repo_stream *st, int fixed)
{
	memset(&w->fe, 0, sizeof(w->fe));
	w->fe.path = strdup(path);
	if (!w->fe.path)
		return writer_fail(w, -ENOMEM, NULL);
	w->fe.path_len = strlen(path);
	w->fe.kind = MANIFEST_FILE;
	w->fe.mode = m ? m->mode & 07777 : 0;
	w->fe.mtime_ns = m ? m->mtime_ns : 0;
	w->cur = st;
	w->fixed = fixed;
	w->in_file = 1;
	return 0;
}

int repo_writer_file_begin(struct repo_writer *w, const char *path,
			   const struct repo_entry_meta *m,
			   enum repo_chunking how)
{
	int rc = writer_entry_usable(w, 0);

	if (rc == 0 && how != REPO_CHUNK_GENERAL && how != REPO_CHUNK_ROWS)
		rc = writer_refuse(w, path, "unknown chunking");
	if (rc == 0)
		rc = writer_entry_order(w, path);
	if (rc < 0)
		return rc;
	w->file.how = how;
	buf_reset(&w->file.win);
	w->file.woff = 0;
	w->file.size = 0;
	w->file.cut = 0;
	writer_refs_reset(w, &w->file.refs);
	return writer_entry_open(w, path, m, &w->file, 0);
}

int repo_writer_file_write(struct repo_writer *w, const void *p, size_t n)
{
	int rc = writer_entry_usable(w, 1);

	if (rc == 0 && w->fixed)
		return writer_refuse(w, w->fe.path, "this entry's content was"
				     " given whole (stream or chunks): no"
				     " writes");
	return rc < 0 ? rc : writer_stream_feed(w, w->cur, p, n);
}

int repo_writer_file_attr(struct repo_writer *w, const char *key,
			  const char *value)
{
	struct manifest_attr *a;
	int rc = writer_entry_usable(w, 1);

	if (rc < 0)
		return rc;
	if (!key || !value || !*key || strlen(key) > MANIFEST_MAX_KEY ||
	    strlen(value) > MANIFEST_MAX_VALUE ||
	    w->fe.nattrs >= MANIFEST_MAX_ATTRS)
		return writer_refuse(w, w->fe.path, "bad attribute (empty or"
				     " too long key or value, or too many)");
	a = realloc(w->fe.attrs, (w->fe.nattrs + 1) * sizeof(*a));
	if (!a)
		return writer_fail(w, -ENOMEM, NULL);
	w->fe.attrs = a;
	a += w->fe.nattrs;
	a->key = strdup(key);
	a->value = strdup(value);
	a->value_len = strlen(value);
	if (!a->key || !a->value) {
		free(a->key);
		free(a->value);
		return writer_fail(w, -ENOMEM, NULL);
	}
	w->fe.nattrs++;
	return 0;
}

int repo_writer_file_end(struct repo_writer *w)
{
	struct repo_stream *st = w->cur;
	int rc = writer_entry_usable(w, 1);

	if (rc == 0 && !w->fixed)
		rc = writer_stream_cut(w, st, 1);
	writer_dispatch(w);
	if (rc == 0)
		rc = writer_wait(w, 1);	/* every chunk of this file */
	if (rc < 0)
		return rc;
	w->fe.nchunks = st->refs.n;
	w->fe.size = st->size;
	rc = writer_manifest_entry(w, &w->fe);
	if (rc == 0)
		rc = writer_manifest_refs(w, &st->refs);
	if (rc == 0)
		rc = writer_entry_order_set(w, w->fe.path);
	if (rc == 0 && w->mout.len >= WRITER_MANIFEST_DRAIN)
		rc = writer_manifest_drain(w, 0);
	manifest_entry_release(&w->fe);
	if (st->detached) {
		writer_stream_destroy(st);
	} else {
		writer_refs_reset(w, &st->refs);
		buf_reset(&st->win);
		st->woff = 0;
	}
	w->cur = NULL;
	w->fixed = 0;
	w->in_file = 0;
	if (rc == -EINVAL)	/* a refused entry poisons the manifest */
		rc = writer_fail(w, rc, &w->errmsg);
	return rc;
}

int repo_writer_file_read_fd(struct repo_writer *w, int fd, uint64_t *nread,
			     struct buf *err)
{
	struct repo_stream *st = w->cur;
	uint64_t got = 0;
	size_t room;
	ssize_t n;
	int rc = writer_entry_usable(w, 1);

	if (rc == 0 && w->fixed)
		rc = writer_refuse(w, w->fe.path, "this entry's content was"
				   " given whole (stream or chunks): no"
				   " writes");
	while (rc == 0) {
		room = writer_stream_room(st);
		if (!room) {	/* the chunker must cut by max: a bug */
			rc = writer_fail(w, -EIO, NULL);
			break;
		}
		n = read(fd, st->win.data + st->win.len, room);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			/* the source's fault: the entry stays open and
			 * the writer usable, the caller decides */
			rc = -errno;
			repo_errf(err, rc, "%s: read: %s", w->fe.path,
				  strerror(-rc));
			if (nread)
				*nread = got;
			return rc;
		}
		if (n == 0)
			break;
		got += (uint64_t)n;
		buf_setlen(&st->win, st->win.len + (size_t)n);
		writer_stream_count(w, st, (size_t)n);
		rc = writer_stream_cut(w, st, 0);
		if (rc == 0 && w->progress)
			w->progress(w->progress_arg);
	}
	if (nread)
		*nread = got;
	if (rc < 0)
		repo_errf(err, rc, "%s", repo_writer_error(w));
	return rc;
}

int repo_writer_file_abandon(struct repo_writer *w)
{
	struct repo_stream *st = w->cur;
	int rc = writer_entry_usable(w, 1);

	if (rc < 0)
		return rc;
	/* slots in flight may still point at the entry's chunk list */
	writer_dispatch(w);
	writer_settle(w);
	manifest_entry_release(&w->fe);
	if (st->detached) {
		writer_stream_destroy(st);
	} else {
		writer_refs_reset(w, &st->refs);
		buf_reset(&st->win);
		st->woff = 0;
		st->size = 0;
		st->cut = 0;
	}
	w->cur = NULL;
	w->fixed = 0;
	w->in_file = 0;
	return writer_live(w);
}

int repo_writer_file_fd(struct repo_writer *w, const char *path,
			const struct repo_entry_meta *m,
			enum repo_chunking how, int fd, struct buf *err)
{
	int rc = repo_writer_file_begin(w, path, m, how);

	if (rc == 0) {
		rc = repo_writer_file_read_fd(w, fd, NULL, err);
		/* a read error: this entry cannot be completed, and a
		 * caller of this call has no way to abandon it */
		if (rc < 0 && writer_live(w) == 0) {
			writer_fail(w, rc, err);
			return rc;
		}
	}
	if (rc == 0)
		rc = repo_writer_file_end(w);
	if (rc < 0)
		repo_errf(err, rc, "%s", repo_writer_error(w));
	return rc;
}

/* ---- entries made of a stream or of stored chunks ---------------- */

int repo_writer_file_stream(struct repo_writer *w, const char *path,
			    const struct repo_entry_meta *m,
			    struct repo_stream *st)
{
	int rc;

	if (!st || st->w != w)
		return writer_refuse(w, path, "not a stream of this writer");
	rc = writer_entry_usable(w, 0);
	if (rc == 0 && !st->ended)
		rc = writer_refuse(w, path, "the stream has not ended"
				   " (call repo_stream_end first)");
	if (rc == 0)
		rc = writer_entry_order(w, path);
	if (rc == 0)
		rc = writer_entry_open(w, path, m, st, 1);
	if (rc < 0 || w->cur != st)
		repo_stream_free(st);
	return rc;
}

int repo_writer_file_chunks(struct repo_writer *w, const char *path,
			    const struct repo_entry_meta *m,
			    const struct repo_chunkref *c, size_t n)
{
	struct repo_stream *st = &w->file;
	int rc = writer_entry_usable(w, 0);

	if (rc == 0 && n && !c)
		rc = writer_refuse(w, path, "no chunks given");
	if (rc == 0)
		rc = writer_entry_order(w, path);
	if (rc == 0)
		rc = writer_stream_chunks_known(w, path, c, n);
	if (rc < 0)	/* a refusal: the writer stays usable */
		return rc == -ENOENT || rc == -EINVAL ? rc
			: writer_fail(w, rc, &w->errmsg);
	st->how = REPO_CHUNK_GENERAL;
	buf_reset(&st->win);
	st->woff = 0;
	st->size = 0;
	st->cut = 0;
	writer_refs_reset(w, &st->refs);
	rc = writer_stream_prefix(w, st, c, n);
	if (rc < 0)
		return rc;
	return writer_entry_open(w, path, m, st, 1);
}

/*
 * writer-manifest: the snapshot's manifest as a stream.  Entries and
 * their chunk lists are encoded (manifest_encode_*) into an output
 * buffer; whenever it grows past WRITER_MANIFEST_DRAIN it is hashed and
 * moved to a chunking window, cut with the general chunker and stored
 * as BLOB_MANIFEST blobs on the calling thread, their ids collected for
 * the snapshot record.  So a manifest of any length costs bounded
 * memory.
 *
 * Between the pool (which stores the chunks) and the entries (which are
 * what gets encoded); writer.c ends the stream at commit.
 */
#include <endian.h>
#include <string.h>
#include <unistd.h>
#include <errno.h>

#include "blob.h"
#include "snaprec.h"
#include "writer-int.h"

static int writer_manifest_cut(struct repo_writer *w, int eof)
{
	const struct chunker *ck = w->ck[REPO_CHUNK_GENERAL];
	size_t max = chunker_params(ck)->max, avail, n;
	struct snaprec_chunk c;
	int rc;

	while ((avail = w->mwin.len - w->moff) > 0) {
		if (!eof && avail < max)
			break;
		n = chunker_next(ck, w->mwin.data + w->moff, avail, eof);
		if (n == 0)
			break;
		rc = writer_store_own(w, BLOB_MANIFEST, w->mwin.data + w->moff,
				      n, c.id);
		if (rc < 0)
			return rc;
		c.len = (uint32_t)n;
		rc = buf_add(&w->mchunks, &c, sizeof(c));
		if (rc < 0)
			return writer_fail(w, rc, NULL);
		w->moff += n;
	}
	if (w->moff) {
		memmove(w->mwin.data, w->mwin.data + w->moff,
			w->mwin.len - w->moff);
		buf_setlen(&w->mwin, w->mwin.len - w->moff);
		w->moff = 0;
	}
	return 0;
}

/* Hashes and moves the encoder output into the window, cuts chunks. */
int writer_manifest_drain(struct repo_writer *w, int eof)
{
	int rc;

	manifest_hash_update(w->mh, w->mout.data, w->mout.len);
	rc = buf_add(&w->mwin, w->mout.data, w->mout.len);
	buf_reset(&w->mout);
	if (rc < 0)
		return writer_fail(w, rc, NULL);
	return writer_manifest_cut(w, eof);
}

int writer_manifest_entry(struct repo_writer *w, const struct manifest_entry *e)
{
	size_t mark = w->mout.len;
	int rc = manifest_encode_entry(&w->mout, e);

	if (rc < 0)	/* nothing of a refused entry may stay */
		buf_setlen(&w->mout, mark);
	if (rc == -EINVAL)
		return writer_refuse(w, e->path, "entry exceeds the manifest"
				     " limits (path, target or attributes)");
	if (rc < 0)
		return writer_fail(w, rc, NULL);
	pthread_mutex_lock(&w->mu);
	w->tot.entries++;
	pthread_mutex_unlock(&w->mu);
	return w->mout.len >= WRITER_MANIFEST_DRAIN
		? writer_manifest_drain(w, 0) : 0;
}

/* Encodes n bytes of packed (id, le32 length) records. */
static int writer_manifest_ref_block(struct repo_writer *w, const uint8_t *p,
				     size_t n)
{
	struct manifest_chunk c;
	int rc = 0;

	for (size_t i = 0; rc == 0 && i + WRITER_REF_SIZE <= n;
	     i += WRITER_REF_SIZE) {
		memcpy(c.id, p + i, 32);
		memcpy(&c.len, p + i + 32, 4);
		c.len = le32toh(c.len);
		rc = manifest_encode_chunk(&w->mout, &c);
		if (rc == 0 && w->mout.len >= WRITER_MANIFEST_DRAIN)
			rc = writer_manifest_drain(w, 0);
	}
	return rc;
}

/* Encodes a chunk list: its spill segments in order, then memory. */
int writer_manifest_refs(struct repo_writer *w, struct writer_refs *f)
{
	uint8_t rec[WRITER_REF_SIZE * 1024];
	ssize_t got;
	int rc = 0;

	for (size_t i = 0; rc == 0 && i < f->nseg; i++) {
		uint64_t off = f->seg[i].off, end = off + f->seg[i].len;

		while (rc == 0 && off < end) {
			size_t want = end - off < sizeof(rec)
				? (size_t)(end - off) : sizeof(rec);

			got = pread(w->spill_fd, rec, want, (off_t)off);
			if (got <= 0 || got % WRITER_REF_SIZE)
				return writer_fail(w, got < 0 ? -errno : -EIO,
						   NULL);
			rc = writer_manifest_ref_block(w, rec, (size_t)got);
			off += (uint64_t)got;
		}
	}
	if (rc == 0)
		rc = writer_manifest_ref_block(w, f->mem.data, f->mem.len);
	return rc < 0 ? writer_fail(w, rc, NULL) : 0;
}

/* Ends the manifest stream and stores its last chunks. */
int writer_manifest_end(struct repo_writer *w)
{
	int rc = writer_manifest_drain(w, 0);

	if (rc == 0)
		rc = manifest_encode_end(&w->mout, w->mh, w->tot.entries);
	if (rc < 0)
		return writer_fail(w, rc, NULL);
	return writer_manifest_drain(w, 1);
}

/*
 * snap-storage-prev: what the previous snapshot of the same project
 * already holds, so that unchanged objects are not downloaded again.
 *
 * The previous snapshot is the newest one whose record names the same
 * Storage ("storage"."project" of its meta_json).  Every object entry of
 * its storage/ is read with its chunk list, keyed by bucket and exact
 * name; an object of the listing whose eTag and size match is then
 * reused (repo_writer_file_chunks) instead of downloaded.  The eTag is
 * the MD5 of the bytes (as S3's), so it and the size say the bytes are
 * the same whatever the last-modified time: a restore puts the same
 * bytes back with new times.  Only the user metadata may have changed
 * with the time (the same bytes uploaded again with other metadata), so
 * such an object's metadata is asked again, without its bytes.
 * Kept apart from the listing (snap-storage.c) because it reads the
 * repository, not Storage.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "manifest.h"
#include "repo.h"
#include "sb-env.h"
#include "snap-storage-int.h"

struct snap_storage_prev_find {
	const char *project;
	char id[65];
	int found;
};

static int snap_storage_prev_find_cb(const struct repo_snapinfo *si,
				     void *ctx)
{
	struct snap_storage_prev_find *f = ctx;
	struct json *j = NULL;
	const char *p;

	if (!si->meta_json ||
	    json_parse(&j, si->meta_json, strlen(si->meta_json), NULL) < 0)
		return 0;
	p = json_get_str(json_get(j, "storage"), "project");
	if (p && strcmp(p, f->project) == 0) {
		/* oldest first: the last match is the newest */
		memcpy(f->id, si->id, sizeof(f->id));
		f->found = 1;
	}
	json_free(j);
	return 0;
}

static const char *snap_storage_prev_attr(const struct manifest_entry *e,
					  const char *key, size_t *len)
{
	for (size_t i = 0; i < e->nattrs; i++)
		if (strcmp(e->attrs[i].key, key) == 0) {
			if (len)
				*len = e->attrs[i].value_len;
			return e->attrs[i].value;
		}
	return NULL;
}

char *snap_storage_key(const char *bucket, size_t blen, const char *name,
		       size_t nlen, size_t *keylen)
{
	char *k = malloc(blen + 1 + nlen + 1);

	if (!k)
		return NULL;
	memcpy(k, bucket, blen);
	k[blen] = '\0';
	memcpy(k + blen + 1, name, nlen);
	k[blen + 1 + nlen] = '\0';
	*keylen = blen + 1 + nlen;
	return k;
}

int snap_storage_key_cmp(const char *a, size_t alen, const char *b,
			 size_t blen)
{
	int c = memcmp(a, b, alen < blen ? alen : blen);

	return c ? c : (alen > blen) - (alen < blen);
}

static int snap_storage_prev_cmp(const void *a, const void *b)
{
	const struct snap_storage_prev *x = a, *y = b;

	return snap_storage_key_cmp(x->key, x->keylen, y->key, y->keylen);
}

int snap_storage_prev_load(struct snap_storage *s, struct repo *r,
			   struct buf *err)
{
	struct snap_storage_prev_find f = { s->env->storage_url, "", 0 };
	struct repo_iter *it = NULL;
	const struct manifest_entry *e;
	size_t cap = 0;
	int rc;

	rc = repo_snapshot_list(r, NULL, snap_storage_prev_find_cb, &f, err);
	if (rc < 0 || !f.found)
		return rc < 0 ? rc : 0;
	memcpy(s->prev_id, f.id, sizeof(f.id));
	rc = repo_iter_new(r, f.id, &it, err);
	while (rc >= 0 && (rc = repo_iter_next(it, &e, err)) == 1) {
		const char *bucket, *name, *etag, *mod, *md, *size;
		const struct manifest_chunk *ch;
		struct snap_storage_prev *p;
		size_t nlen = 0, nch, blen = 0;

		if (e->kind != MANIFEST_FILE ||
		    strncmp(e->path, SNAP_STORAGE_ROOT "/", 8) != 0)
			continue;
		bucket = snap_storage_prev_attr(e, SNAP_STORAGE_ATTR_BUCKET,
						&blen);
		name = snap_storage_prev_attr(e, SNAP_STORAGE_ATTR_NAME, &nlen);
		etag = snap_storage_prev_attr(e, SNAP_STORAGE_ATTR_ETAG, NULL);
		mod = snap_storage_prev_attr(e, SNAP_STORAGE_ATTR_MODIFIED,
					     NULL);
		size = snap_storage_prev_attr(e, SNAP_STORAGE_ATTR_SIZE, NULL);
		md = snap_storage_prev_attr(e, SNAP_STORAGE_ATTR_METADATA,
					    NULL);
		if (!bucket || !name || !etag || !mod || !size)
			continue;
		rc = repo_iter_chunks(it, &ch, &nch, err);
		if (rc < 0)
			break;
		if (s->nprev == cap) {
			void *q;

			cap = cap ? cap * 2 : 256;
			q = realloc(s->prev, cap * sizeof(*s->prev));
			if (!q) {
				rc = -ENOMEM;
				break;
			}
			s->prev = q;
		}
		p = &s->prev[s->nprev];
		memset(p, 0, sizeof(*p));
		p->key = snap_storage_key(bucket, blen, name, nlen, &p->keylen);
		p->etag = strdup(etag);
		p->modified = strdup(mod);
		p->metadata = md ? strdup(md) : NULL;
		p->chunks = nch ? malloc(nch * sizeof(*p->chunks)) : NULL;
		s->nprev++;
		if (!p->key || !p->etag || !p->modified || (md && !p->metadata) ||
		    (nch && !p->chunks)) {
			rc = -ENOMEM;
			break;
		}
		p->size = e->size;
		for (size_t i = 0; i < nch; i++) {
			memcpy(p->chunks[i].id, ch[i].id, sizeof(p->chunks[i].id));
			p->chunks[i].len = ch[i].len;
		}
		p->nchunks = nch;
	}
	repo_iter_free(it);
	if (rc < 0)
		return rc;
	qsort(s->prev, s->nprev, sizeof(*s->prev), snap_storage_prev_cmp);
	return 0;
}

void snap_storage_prev_match(struct snap_storage *s)
{
	for (size_t i = 0; i < s->nents && s->nprev; i++) {
		struct snap_storage_ent *e = &s->ents[i];
		struct snap_storage_prev key, *p;

		if (e->kind != SS_OBJECT || !e->etag)
			continue;
		key.key = snap_storage_key(e->bucket, strlen(e->bucket), e->name,
					   e->name_len, &key.keylen);
		if (!key.key)
			return;	/* out of memory: download everything */
		p = bsearch(&key, s->prev, s->nprev, sizeof(*s->prev),
			    snap_storage_prev_cmp);
		free(key.key);
		if (p && p->size == e->size && strcmp(p->etag, e->etag) == 0) {
			e->prev = p;
			e->refresh = strcmp(p->modified, e->modified) != 0;
		}
	}
}

void snap_storage_prev_free(struct snap_storage *s)
{
	for (size_t i = 0; i < s->nprev; i++) {
		free(s->prev[i].key);
		free(s->prev[i].etag);
		free(s->prev[i].modified);
		free(s->prev[i].metadata);
		free(s->prev[i].chunks);
	}
	free(s->prev);
	s->prev = NULL;
	s->nprev = 0;
}

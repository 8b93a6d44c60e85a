/*
 * snap-storage-drift: the project's database and its Storage, captured
 * in one snapshot, are read at different times: the database at one
 * instant (the exported snapshot of src/pg/pg-snap.c), each object when
 * it is downloaded, seconds or hours later.  Storage keeps an object's
 * row in storage.objects (bucket_id, name, metadata: eTag, size,
 * lastModified), so the rows as of the database's instant say which
 * version of each object the database knew.  Here they are compared with
 * what storage/ holds:
 *
 *   changed   a row, but the captured bytes differ (eTag or size), or
 *             the row has no completed upload
 *   vanished  a row, but no object captured (deleted in between)
 *   added     an object captured, but no row (created in between)
 *
 * An object left out because it could not be read is no drift: the
 * snapshot lists it as missing.  The result is storage/.vault-drift.json
 * (formats/storage-layout.md), the attribute storage.drift on the
 * changed and added objects, and the drift counters.  The rows come from
 * the front end (snap_storage_db_object), which reads them under the
 * database capture's own snapshot.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "snap-storage-int.h"

int snap_storage_db_object(struct snap_storage *s, const char *bucket,
			   const char *name, size_t name_len,
			   const char *etag, int64_t size,
			   const char *modified)
{
	struct snap_storage_row *w;

	if (s->nrows == s->caprows) {
		size_t cap = s->caprows ? s->caprows * 2 : 256;
		void *p = realloc(s->rows, cap * sizeof(*s->rows));

		if (!p)
			return -ENOMEM;
		s->rows = p;
		s->caprows = cap;
	}
	w = &s->rows[s->nrows];
	memset(w, 0, sizeof(*w));
	w->key = snap_storage_key(bucket, strlen(bucket), name, name_len,
				  &w->keylen);
	w->etag = snap_storage_strdup(etag);
	w->modified = snap_storage_strdup(modified);
	w->size = size;
	s->nrows++;
	if (!w->key || (etag && !w->etag) || (modified && !w->modified))
		return -ENOMEM;
	return 0;
}

void snap_storage_db_done(struct snap_storage *s, int complete)
{
	s->judge = complete;
	if (!complete)
		snap_storage_rows_free(s);
}

static int snap_storage_drift_cmp(const void *a, const void *b)
{
	const struct snap_storage_row *x = a, *y = b;

	return snap_storage_key_cmp(x->key, x->keylen, y->key, y->keylen);
}

/* ---- judging --------------------------------------------------------------- */

/* The rows of object e (several only if the table holds versions):
 * [*lo, *hi). */
static int snap_storage_drift_find(struct snap_storage *s,
				   const struct snap_storage_ent *e,
				   size_t *lo, size_t *hi)
{
	struct snap_storage_row key, *p;

	*lo = *hi = 0;
	key.key = snap_storage_key(e->bucket, strlen(e->bucket), e->name,
				   e->name_len, &key.keylen);
	if (!key.key)
		return -ENOMEM;
	p = bsearch(&key, s->rows, s->nrows, sizeof(*s->rows),
		    snap_storage_drift_cmp);
	if (p) {
		*lo = *hi = (size_t)(p - s->rows);
		while (*lo > 0 && !snap_storage_drift_cmp(&key, &s->rows[*lo - 1]))
			(*lo)--;
		while (*hi < s->nrows && !snap_storage_drift_cmp(&key, &s->rows[*hi]))
			(*hi)++;
	}
	free(key.key);
	return 0;
}

/* The row says the bytes e holds. */
static int snap_storage_drift_same(const struct snap_storage_row *w,
				   const struct snap_storage_ent *e)
{
	return w->etag && e->etag && !strcmp(w->etag, e->etag) &&
	       w->size >= 0 && (uint64_t)w->size == e->size;
}

static int snap_storage_drift_compare(struct snap_storage *s)
{
	for (size_t i = 0; i < s->nents; i++) {
		struct snap_storage_ent *e = &s->ents[i];
		size_t lo, hi;

		/* deleted since the listing: its row, if any, vanished */
		if (e->kind != SS_OBJECT || e->missing == -1)
			continue;
		if (snap_storage_drift_find(s, e, &lo, &hi) < 0)
			return -ENOMEM;
		for (size_t j = lo; j < hi; j++) {
			s->rows[j].seen = 1;
			if (!e->row || snap_storage_drift_same(&s->rows[j], e))
				e->row = &s->rows[j];
		}
		if (e->missing)
			continue;	/* left out: reported as missing */
		if (!e->row) {
			e->drift = "added";
			s->stats.drift_added++;
		} else if (!snap_storage_drift_same(e->row, e)) {
			e->drift = "changed";
			s->stats.drift_changed++;
		}
	}
	for (size_t j = 0; j < s->nrows; j++)
		s->stats.drift_vanished += !s->rows[j].seen;
	return 0;
}

/* ---- the report ------------------------------------------------------------ */

/* A name as a JSON string: as it is when it is UTF-8, else made
 * printable (\xHH) so the report stays valid JSON. */
static int snap_storage_drift_str(struct buf *out, const char *p, size_t n)
{
	struct buf q = BUF_INIT;
	size_t len = out->len;
	int r = json_quote(out, p, n);

	if (r != -EILSEQ)
		return r;
	buf_setlen(out, len);
	r = sb_http_quote_name(&q, p, n);
	if (r == 0)
		r = json_quote(out, (const char *)q.data, q.len);
	buf_release(&q);
	return r;
}

static int snap_storage_drift_version(struct buf *out, const char *label,
				      const char *etag, int64_t size,
				      const char *modified)
{
	int r = buf_addf(out, ", \"%s\": {\"etag\": ", label);

	if (r == 0)
		r = etag ? snap_storage_drift_str(out, etag, strlen(etag))
			: buf_addstr(out, "null");
	if (r == 0)
		r = size >= 0 ? buf_addf(out, ", \"size\": %lld", (long long)size)
			: buf_addstr(out, ", \"size\": null");
	if (r == 0)
		r = buf_addstr(out, ", \"last_modified\": ");
	if (r == 0)
		r = modified ? snap_storage_drift_str(out, modified, strlen(modified))
			: buf_addstr(out, "null");
	if (r == 0)
		r = buf_addch(out, '}');
	return r;
}

/* {"bucket", "name", "path"?, "database"?, "snapshot"?} */
static int snap_storage_drift_item(struct buf *out, int *first,
				   const char *bucket, const char *name,
				   size_t name_len,
				   const struct snap_storage_ent *e,
				   const struct snap_storage_row *w)
{
	int r = buf_addstr(out, *first ? "\n  {\"bucket\": " : ",\n  {\"bucket\": ");

	*first = 0;
	if (r == 0)
		r = snap_storage_drift_str(out, bucket, strlen(bucket));
	if (r == 0)
		r = buf_addstr(out, ", \"name\": ");
	if (r == 0)
		r = snap_storage_drift_str(out, name, name_len);
	if (r == 0 && e) {
		r = buf_addstr(out, ", \"path\": ");
		if (r == 0)
			r = snap_storage_drift_str(out, e->path, e->path_len);
	}
	if (r == 0 && w)
		r = snap_storage_drift_version(out, "database", w->etag, w->size,
					       w->modified);
	if (r == 0 && e)
		r = snap_storage_drift_version(out, "snapshot", e->etag,
					       (int64_t)e->size, e->modified);
	if (r == 0)
		r = buf_addch(out, '}');
	return r;
}

static int snap_storage_drift_objects(struct snap_storage *s, struct buf *out,
				      const char *drift)
{
	int r = buf_addf(out, ",\n\"%s\": [", drift), first = 1;

	for (size_t i = 0; r == 0 && i < s->nents; i++) {
		const struct snap_storage_ent *e = &s->ents[i];

		if (e->kind == SS_OBJECT && e->drift && !strcmp(e->drift, drift))
			r = snap_storage_drift_item(out, &first, e->bucket, e->name,
						    e->name_len, e, e->row);
	}
	return r ? r : buf_addstr(out, first ? "]" : "\n]");
}

static int snap_storage_drift_doc(struct snap_storage *s, struct buf *out)
{
	int r = buf_addf(out, "{\"format\": \"vault-storage-drift-1\",\n"
			 "\"rows\": %zu, \"changed_count\": %zu, "
			 "\"vanished_count\": %zu, \"added_count\": %zu",
			 s->nrows, s->stats.drift_changed,
			 s->stats.drift_vanished, s->stats.drift_added);
	int first = 1;

	if (r == 0)
		r = snap_storage_drift_objects(s, out, "changed");
	if (r == 0)
		r = buf_addstr(out, ",\n\"vanished\": [");
	for (size_t j = 0; r == 0 && j < s->nrows; j++) {
		const struct snap_storage_row *w = &s->rows[j];
		size_t blen = strlen(w->key);

		if (!w->seen)
			r = snap_storage_drift_item(out, &first, w->key,
						    w->key + blen + 1,
						    w->keylen - blen - 1, NULL, w);
	}
	if (r == 0)
		r = buf_addstr(out, first ? "]" : "\n]");
	if (r == 0)
		r = snap_storage_drift_objects(s, out, "added");
	if (r == 0)
		r = buf_addstr(out, "}\n");
	return r;
}

int snap_storage_drift_judge(struct snap_storage *s)
{
	struct snap_storage_ent *e;
	struct buf doc = BUF_INIT, p = BUF_INIT;
	int r;

	if (!s->judge)
		return 0;
	if (s->nrows)
		qsort(s->rows, s->nrows, sizeof(*s->rows), snap_storage_drift_cmp);
	s->stats.drift_judged = 1;
	s->stats.drift_rows = s->nrows;
	r = snap_storage_drift_compare(s);
	if (r == 0)
		r = snap_storage_drift_doc(s, &doc);
	if (r == 0)
		r = buf_addstr(&p, SNAP_STORAGE_ROOT "/" SNAP_STORAGE_DRIFT_NAME);
	if (r == 0 && !(e = snap_storage_add(s)))
		r = -ENOMEM;
	if (r == 0) {
		e->kind = SS_DRIFT;
		e->path = buf_detach(&p, &e->path_len);
		e->json = buf_detach(&doc, NULL);
		if (!e->path || !e->json)
			r = -ENOMEM;
		/* in its sorted place; no bucket is named like it */
		qsort(s->ents, s->nents, sizeof(*s->ents), snap_storage_ent_cmp);
	}
	buf_release(&doc);
	buf_release(&p);
	return r;
}

/*
 * storage-exec: carrying out a Storage restore plan (storage-exec.h).
 * Separate from storage-plan.c because this is the part that changes
 * the project: everything before it (reading, planning, the safety
 * snapshot) can stop with nothing changed, and a dry run never gets
 * here.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "manifest.h"
#include "repo.h"
#include "storage-exec.h"
#include "storage-plan-int.h"

/* Objects up to this size are uploaded from memory, bigger ones from an
 * unlinked temporary file. */
#define STORAGE_EXEC_MEM_MAX (8u << 20)

void storage_exec_result_init(struct storage_exec_result *res)
{
	memset(res, 0, sizeof(*res));
	buf_init(&res->bad, 0);
}

void storage_exec_result_release(struct storage_exec_result *res)
{
	buf_release(&res->bad);
}

/* ---- 1. buckets ------------------------------------------------------------- */

static int storage_exec_buckets(struct storage_plan *p, struct buf *err)
{
	struct storage_plan_bucket *b = p->bk.v;

	for (size_t i = 0; i < p->bk.n; i++) {
		int r;

		if (!b[i].create && !b[i].update)
			continue;
		if (!b[i].have_cfg) {
			sb_storage_bucket_release(&b[i].cfg);
			if (!(b[i].cfg.id = strdup(b[i].id)))
				return -ENOMEM;
			b[i].cfg.file_size_limit = -1;
		}
		r = b[i].create ? sb_storage_bucket_create(p->st, &b[i].cfg, err)
			: sb_storage_bucket_update(p->st, &b[i].cfg, err);
		if (r < 0)
			return r;
	}
	return 0;
}

/* ---- 2. uploads ------------------------------------------------------------- */

struct storage_exec_spool {
	struct buf mem;
	FILE *f;
	uint64_t n;
};

static int storage_exec_spool_sink(void *ctx, const void *p, size_t n)
{
	struct storage_exec_spool *sp = ctx;

	sp->n += n;
	if (sp->f)
		return fwrite(p, 1, n, sp->f) == n ? 0 : -EIO;
	return buf_add(&sp->mem, p, n);
}

static ssize_t storage_exec_spool_read(void *ctx, uint64_t off, void *p,
				       size_t n)
{
	struct storage_exec_spool *sp = ctx;
	ssize_t got = pread(fileno(sp->f), p, n, (off_t)off);

	return got < 0 ? -errno : got;
}

/* Uploads object o, whose data the iterator is at. */
static int storage_exec_upload(struct storage_plan *p, struct repo_iter *it,
			       const struct storage_plan_obj *o,
			       struct buf *err)
{
	struct storage_exec_spool sp = { BUF_INIT, NULL, 0 };
	struct sb_storage_upload_req u;
	int r;

	if (o->size > STORAGE_EXEC_MEM_MAX && !(sp.f = tmpfile())) {
		r = -errno;
		buf_addf(err, "cannot make a temporary file: %s", strerror(errno));
		return r;
	}
	r = repo_iter_read(it, storage_exec_spool_sink, &sp, err);
	if (r == 0 && sp.f && fflush(sp.f))
		r = -EIO;
	memset(&u, 0, sizeof(u));
	u.content_type = o->ctype;
	u.cache_control = o->cache;
	u.metadata_json = o->meta;
	u.size = sp.n;
	if (sp.f) {
		u.read = storage_exec_spool_read;
		u.read_ctx = &sp;
	} else {
		u.data = sp.mem.data;
	}
	if (r == 0)
		r = sb_storage_upload(p->st, o->bucket, o->name, &u, err);
	if (sp.f)
		fclose(sp.f);
	buf_release(&sp.mem);
	return r;
}

static int storage_exec_upload_all(struct storage_plan *p, size_t *done,
				   struct buf *err)
{
	struct repo_iter *it = NULL;
	const struct manifest_entry *e;
	struct storage_plan_obj *o = p->obj.v;
	struct storage_plan_progress pr;
	size_t k = 0;
	int r = repo_iter_new(p->r, p->o.snap_id, &it, err);

	if (r < 0)
		return r;
	memset(&pr, 0, sizeof(pr));
	for (size_t i = 0; i < p->obj.n; i++) {
		if (o[i].act == STORAGE_PLAN_SKIP)
			continue;
		pr.total++;
		pr.bytes_total += o[i].size;
	}
	while (k < p->obj.n && (r = repo_iter_next(it, &e, err)) == 1) {
		while (k < p->obj.n && o[k].act == STORAGE_PLAN_SKIP)
			k++;
		if (k == p->obj.n || strcmp(e->path, o[k].path))
			continue;
		pr.bucket = o[k].bucket;
		pr.name = o[k].name;
		if (p->o.progress)
			p->o.progress(p->o.progress_ctx, &pr);
		r = storage_exec_upload(p, it, &o[k], err);
		if (r < 0)
			break;
		(*done)++;
		pr.done++;
		pr.bytes += o[k].size;
		k++;
	}
	repo_iter_free(it);
	if (r >= 0 && p->o.progress) {
		pr.bucket = pr.name = NULL;
		p->o.progress(p->o.progress_ctx, &pr);
	}
	return r < 0 ? r : 0;
}

/* ---- 3. deletes ------------------------------------------------------------- */

/* Deletes v[0..n) grouped by bucket (sb_storage_delete cuts 1000). */
static int storage_exec_delete(struct storage_plan *p,
			       const struct sb_storage_ref *v, size_t n,
			       size_t *deleted, struct buf *err)
{
	const char **names = calloc(n ? n : 1, sizeof(*names));
	int r = 0;

	if (!names)
		return -ENOMEM;
	for (size_t i = 0; i < n && r == 0;) {
		size_t j = i, got = 0;

		while (j < n && !strcmp(v[j].bucket, v[i].bucket)) {
			names[j - i] = v[j].name;
			j++;
		}
		r = sb_storage_delete(p->st, v[i].bucket, names, j - i, &got, err);
		*deleted += got;
		i = j;
	}
	free(names);
	return r;
}

/* The mirror's deletes, then the rollback's. */
static int storage_exec_delete_all(struct storage_plan *p, size_t *deleted,
				   struct buf *err)
{
	struct storage_plan_remote *m = p->rem.v;
	const size_t *d = p->del.v;
	size_t ndel = p->del.n + p->o.nextra;
	struct sb_storage_ref *dv = calloc(ndel ? ndel : 1, sizeof(*dv));
	int r;

	if (!dv)
		return -ENOMEM;
	for (size_t i = 0; i < p->del.n; i++) {
		dv[i].bucket = m[d[i]].bucket;
		dv[i].name = m[d[i]].name;
	}
	for (size_t i = 0; i < p->o.nextra; i++)
		dv[p->del.n + i] = p->o.extra_del[i];
	r = storage_exec_delete(p, dv, ndel, deleted, err);
	free(dv);
	return r;
}

/* ---- 4. verification -------------------------------------------------------- */

static void storage_exec_mismatch(struct storage_exec_result *res,
				  struct buf *q, const char *bucket,
				  const char *name, const char *why)
{
	storage_plan_quote(q, bucket, name);
	if (res->nbad++ < STORAGE_EXEC_BAD_MAX)
		buf_addf(&res->bad, "%s%s: %s", res->nbad > 1 ? "; " : "",
			 (const char *)q->data, why);
}

static int storage_exec_verify(struct storage_plan *p,
			       struct storage_exec_result *res, struct buf *err)
{
	struct storage_plan_obj *o = p->obj.v;
	struct storage_plan_bucket *b = p->bk.v;
	struct storage_plan_remote *m;
	struct buf q = BUF_INIT;
	int r;

	for (size_t i = 0; i < p->bk.n; i++)
		b[i].exists = 1;
	r = storage_plan_list_remote(p, err);
	if (r < 0)
		return r;
	for (size_t i = 0; i < p->obj.n; i++) {
		const char *why = NULL;

		m = storage_plan_remote_find(p, o[i].bucket, o[i].name);
		if (!m)
			why = "missing";
		else if (m->size != o[i].size)
			why = "size differs";
		else if (o[i].etag && (!m->etag || strcmp(m->etag, o[i].etag)))
			why = "eTag differs";
		if (m)
			m->keep = 1;
		if (why)
			storage_exec_mismatch(res, &q, o[i].bucket, o[i].name, why);
	}
	m = p->rem.v;
	if (p->o.mode == STORAGE_PLAN_MIRROR)
		for (size_t i = 0; i < p->rem.n; i++) {
			if (m[i].keep || !storage_plan_path_selected(p, m[i].name))
				continue;
			storage_exec_mismatch(res, &q, m[i].bucket, m[i].name,
					      "not in the snapshot");
		}
	buf_release(&q);
	return 0;
}

int storage_exec_run(struct storage_plan *p, struct storage_exec_result *res,
		     struct buf *err)
{
	int r;

	res->stage = "update the buckets";
	r = storage_exec_buckets(p, err);
	if (r < 0)
		return r;
	res->stage = "upload";
	r = storage_exec_upload_all(p, &res->uploaded, err);
	if (r < 0)
		return r;
	res->stage = "delete";
	r = storage_exec_delete_all(p, &res->deleted, err);
	if (r < 0)
		return r;
	res->stage = "verify";
	buf_reset(err);
	return storage_exec_verify(p, res, err);
}

/*
 * restore-functions: deploys the functions/<slug>/ trees of a snapshot
 * again (see restore-functions.h).  Function sources are small (the API
 * caps a body at SB_FUNCTIONS_MAX_BODY), so the selected functions'
 * files are read into memory first, which also lets the front end show
 * the plan before anything is sent.
 *
 * A deploy replaces what the project ran before, so before the first
 * deploy the current source of every function about to be overwritten
 * goes into a safety snapshot (tags "safety", "restore:<id>", the same
 * functions/<slug>/ layout as a capture), and the slugs the restore
 * creates are logged: a rollback redeploys the safety snapshot through
 * this same code and deletes the created functions.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "json.h"
#include "manifest.h"
#include "repo.h"
#include "restore-functions.h"
#include "sb-env.h"
#include "sb-functions.h"
#include "sb-http.h"
#include "snap-functions.h"

struct rfn_fn {
	char *slug;
	struct buf meta;		/* .function.json */
	struct buf names;		/* NUL-separated relative names */
	struct buf *data;		/* one per file */
	size_t nfiles;
};

static void rfn_fn_release(struct rfn_fn *f)
{
	free(f->slug);
	buf_release(&f->meta);
	buf_release(&f->names);
	for (size_t i = 0; i < f->nfiles; i++)
		buf_release(&f->data[i]);
	free(f->data);
	memset(f, 0, sizeof(*f));
}

static int rfn_sink(void *ctx, const void *p, size_t n)
{
	return buf_add(ctx, p, n);
}

static int rfn_selected(const char *slug, const char *const *slugs, size_t n)
{
	if (!n)
		return 1;
	for (size_t i = 0; i < n; i++)
		if (!strcmp(slugs[i], slug))
			return 1;
	return 0;
}

/* Reads every selected function of the snapshot; *out has *n. */
static int rfn_read(struct repo *r, const char *id, const char *const *slugs,
		    size_t nslugs, struct rfn_fn **out, size_t *n,
		    struct buf *err)
{
	static const char root[] = SNAP_FUNCTIONS_ROOT "/";
	struct repo_iter *it = NULL;
	const struct manifest_entry *e;
	struct rfn_fn *v = NULL, *cur = NULL;
	size_t nv = 0;
	int rc = repo_iter_new(r, id, &it, err);

	while (rc == 0 && (rc = repo_iter_next(it, &e, err)) == 1) {
		const char *rest, *slash;
		struct buf *b;

		rc = 0;
		if (strncmp(e->path, root, sizeof(root) - 1))
			continue;
		rest = e->path + sizeof(root) - 1;
		slash = strchr(rest, '/');
		if (!slash || e->kind != MANIFEST_FILE)
			continue;
		if (!cur || strlen(cur->slug) != (size_t)(slash - rest) ||
		    strncmp(cur->slug, rest, (size_t)(slash - rest))) {
			struct rfn_fn *nvv;
			char *slug = strndup(rest, (size_t)(slash - rest));

			if (!slug) {
				rc = -ENOMEM;
				break;
			}
			if (!rfn_selected(slug, slugs, nslugs)) {
				free(slug);
				cur = NULL;
				continue;
			}
			nvv = realloc(v, (nv + 1) * sizeof(*v));
			if (!nvv) {
				free(slug);
				rc = -ENOMEM;
				break;
			}
			v = nvv;
			cur = &v[nv++];
			memset(cur, 0, sizeof(*cur));
			cur->slug = slug;
			buf_init(&cur->meta, 0);
			buf_init(&cur->names, 0);
		}
		if (!strcmp(slash + 1, ".function.json")) {
			rc = repo_iter_read(it, rfn_sink, &cur->meta, err);
			continue;
		}
		b = realloc(cur->data, (cur->nfiles + 1) * sizeof(*b));
		if (!b) {
			rc = -ENOMEM;
			break;
		}
		cur->data = b;
		buf_init(&b[cur->nfiles], SB_FUNCTIONS_MAX_BODY);
		cur->nfiles++;
		rc = buf_add(&cur->names, slash + 1, strlen(slash + 1) + 1);
		if (rc == 0)
			rc = repo_iter_read(it, rfn_sink, &b[cur->nfiles - 1], err);
	}
	repo_iter_free(it);
	*out = v;
	*n = nv;
	return rc < 0 ? rc : 0;
}

/* ---- the safety snapshot ------------------------------------------------ */

struct rfn_ent {
	char *path;
	struct buf data;
	int dir;
};

struct rfn_ents {
	struct rfn_ent *v;
	size_t n;
};

static int rfn_ent_cmp(const void *a, const void *b)
{
	const struct rfn_ent *x = a, *y = b;

	return manifest_path_cmp(x->path, strlen(x->path), y->path,
				 strlen(y->path));
}

static void rfn_ents_release(struct rfn_ents *es)
{
	for (size_t i = 0; i < es->n; i++) {
		free(es->v[i].path);
		buf_release(&es->v[i].data);
	}
	free(es->v);
	memset(es, 0, sizeof(*es));
}

/* Adds a file (or directory, data NULL) and every directory above it. */
static int rfn_ents_add(struct rfn_ents *es, const char *path,
			const void *data, size_t n)
{
	size_t len = strlen(path);

	for (size_t i = 0; i <= len; i++) {
		struct rfn_ent *nv, *e;
		int last = i == len;

		if (!last && path[i] != '/')
			continue;
		if (!last || !data) {
			int dup = 0;

			/* directories are few per function: a scan is fine */
			for (size_t k = 0; k < es->n && !dup; k++)
				dup = es->v[k].dir && strlen(es->v[k].path) == i &&
					!strncmp(es->v[k].path, path, i);
			if (dup)
				continue;
		}
		nv = realloc(es->v, (es->n + 1) * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		es->v = nv;
		e = &nv[es->n];
		memset(e, 0, sizeof(*e));
		buf_init(&e->data, 0);
		if (!(e->path = strndup(path, i)))
			return -ENOMEM;
		es->n++;
		e->dir = !last || !data;
		if (!e->dir && buf_add(&e->data, data, n) < 0)
			return -ENOMEM;
	}
	return 0;
}

struct rfn_cap {
	struct rfn_ents *es;
	const char *slug;
	struct buf path;
};

static int rfn_cap_file(void *ctx, const char *name, const void *data,
			size_t n)
{
	struct rfn_cap *cp = ctx;
	struct buf rel = BUF_INIT;
	int r = sb_functions_relname(name, &rel);

	buf_reset(&cp->path);
	if (r == 0)
		r = buf_addf(&cp->path, SNAP_FUNCTIONS_ROOT "/%s/%s", cp->slug,
			     (const char *)rel.data);
	if (r == 0)
		r = rfn_ents_add(cp->es, (const char *)cp->path.data, data, n);
	buf_release(&rel);
	return r;
}

/* .function.json as snap-functions writes it */
static int rfn_cap_meta(struct rfn_ents *es, const struct sb_functions_item *it)
{
	struct buf j = BUF_INIT, p = BUF_INIT;
	int r = sb_functions_item_json(it, &j);

	if (r == 0)
		r = buf_addf(&p, SNAP_FUNCTIONS_ROOT "/%s/.function.json", it->slug);
	if (r == 0)
		r = rfn_ents_add(es, (const char *)p.data, j.data, j.len);
	buf_release(&j);
	buf_release(&p);
	return r;
}

/*
 * Captures the current source of over[0..nover) into a safety snapshot;
 * its id goes to id.
 */
static int rfn_safety(struct repo *r, struct sb_functions *api,
		      const struct sb_functions_item *const *over, size_t nover,
		      const char *rid, const char *source, char id[65],
		      struct buf *err)
{
	struct rfn_ents es = { 0 };
	struct repo_writer *w = NULL;
	struct buf tag = BUF_INIT;
	int64_t now = (int64_t)time(NULL) * 1000000000;
	int rc = 0;

	for (size_t i = 0; i < nover && rc == 0; i++) {
		struct rfn_cap cp = { &es, over[i]->slug, BUF_INIT };

		rc = sb_functions_body(api, over[i]->slug, rfn_cap_file, &cp,
				       NULL, err);
		if (rc == 0)
			rc = rfn_cap_meta(&es, over[i]);
		buf_release(&cp.path);
	}
	if (rc < 0)
		goto out;
	qsort(es.v, es.n, sizeof(*es.v), rfn_ent_cmp);
	rc = repo_writer_new(r, &w, err);
	for (size_t i = 0; i < es.n && rc == 0; i++) {
		struct repo_entry_meta em = { es.v[i].dir ? 0755 : 0644, now };

		if (es.v[i].dir) {
			rc = repo_writer_dir(w, es.v[i].path, &em);
		} else {
			rc = repo_writer_file_begin(w, es.v[i].path, &em,
						    REPO_CHUNK_GENERAL);
			if (rc == 0)
				rc = repo_writer_file_write(w, es.v[i].data.data,
							    es.v[i].data.len);
			if (rc == 0)
				rc = repo_writer_file_end(w);
		}
		if (rc < 0) {
			buf_reset(err);
			buf_addstr(err, repo_writer_error(w));
		}
	}
	if (rc == 0) {
		const char *tags[2] = { REPO_TAG_SAFETY, NULL };
		struct repo_commit_opts co;

		if (buf_addf(&tag, "restore:%s", rid) < 0) {
			rc = -ENOMEM;
			goto out;
		}
		tags[1] = (const char *)tag.data;
		memset(&co, 0, sizeof(co));
		co.source = source;
		co.tags = tags;
		co.ntags = 2;
		co.meta_json = "{\"safety\": \"functions\"}";
		rc = repo_writer_commit(w, &co, id, NULL, err);
	}
out:
	repo_writer_free(w);
	rfn_ents_release(&es);
	buf_release(&tag);
	return rc;
}

static int rfn_json_list(struct buf *logj, const char *key,
			 const char *const *v, size_t n)
{
	int r = buf_addf(logj, ", \"%s\": [", key);

	for (size_t i = 0; i < n && r == 0; i++) {
		if (i)
			r = buf_addstr(logj, ", ");
		if (r == 0)
			r = json_quote(logj, v[i], strlen(v[i]));
	}
	if (r == 0)
		r = buf_addch(logj, ']');
	return r;
}

/* ---- the run -------------------------------------------------------------- */

struct restore_functions {
	struct repo *r;
	struct restore_functions_opts o;
	struct rfn_fn *fns;		/* read from the snapshot */
	size_t nf;
	struct sb_http *h;
	struct sb_functions *api;
	struct sb_functions_item *rem;	/* on the server */
	size_t nrem;
	const struct sb_functions_item **over;	/* the deploys that overwrite */
	const char **created;			/* ... and create */
	const char **deleted;			/* the drops done */
};

int restore_functions_read(struct restore_functions **out, struct repo *r,
			   const char *snap_id,
			   const struct restore_functions_opts *o,
			   struct buf *err)
{
	struct restore_functions *f = calloc(1, sizeof(*f));

	*out = f;
	if (!f)
		return -ENOMEM;
	f->r = r;
	f->o = *o;
	if (!snap_id)
		return 0;
	return rfn_read(r, snap_id, o->slugs, o->nslugs, &f->fns, &f->nf, err);
}

void restore_functions_free(struct restore_functions *f)
{
	if (!f)
		return;
	free(f->over);
	free(f->created);
	free(f->deleted);
	sb_functions_items_free(f->rem, f->nrem);
	for (size_t i = 0; i < f->nf; i++)
		rfn_fn_release(&f->fns[i]);
	free(f->fns);
	sb_functions_free(f->api);
	sb_http_free(f->h);
	free(f);
}

const char *restore_functions_missing(const struct restore_functions *f)
{
	for (size_t i = 0; i < f->o.nslugs; i++) {
		size_t k = 0;

		while (k < f->nf && strcmp(f->fns[k].slug, f->o.slugs[i]))
			k++;
		if (k == f->nf)
			return f->o.slugs[i];
	}
	return NULL;
}

size_t restore_functions_count(const struct restore_functions *f)
{
	return f->nf;
}

const char *restore_functions_slug(const struct restore_functions *f, size_t i)
{
	return f->fns[i].slug;
}

size_t restore_functions_nfiles(const struct restore_functions *f, size_t i)
{
	return f->fns[i].nfiles;
}

int restore_functions_prepare(struct restore_functions *f,
			      const struct sb_env *env,
			      struct restore_functions_result *res,
			      struct buf *err)
{
	struct sb_http_opts ho;
	int rc;

	memset(&ho, 0, sizeof(ho));
	res->step = RESTORE_FUNCTIONS_CONNECT;
	rc = sb_http_new(&f->h, &ho, err);
	if (rc == 0)
		rc = sb_functions_new(&f->api, f->h, env->api_url,
				      env->access_token, env->project_ref, err);
	/* which deploys overwrite a function and which create one */
	if (rc == 0 && !f->o.rollback && f->nf)
		rc = sb_functions_list(f->api, &f->rem, &f->nrem, err);
	if (rc < 0)
		return rc;
	res->step = RESTORE_FUNCTIONS_MEMORY;
	if (!(f->over = calloc(f->nf + 1, sizeof(*f->over))) ||
	    !(f->created = calloc(f->nf + 1, sizeof(*f->created))) ||
	    !(f->deleted = calloc(f->o.ndrop + 1, sizeof(*f->deleted))))
		return -ENOMEM;
	for (size_t i = 0; i < f->nf && !f->o.rollback; i++) {
		size_t k = 0;

		while (k < f->nrem && strcmp(f->rem[k].slug, f->fns[i].slug))
			k++;
		if (k < f->nrem)
			f->over[res->overwritten++] = &f->rem[k];
		else
			f->created[res->created++] = f->fns[i].slug;
	}
	if (f->o.safety && res->overwritten) {
		res->step = RESTORE_FUNCTIONS_SAFETY;
		rc = rfn_safety(f->r, f->api, f->over, res->overwritten,
				f->o.rid, f->o.source, res->safety_id, err);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* Deploys function fn (files: room for its files). */
static int rfn_deploy_one(struct restore_functions *f, const struct rfn_fn *fn,
			  struct sb_functions_file *files,
			  struct restore_functions_result *res,
			  struct buf *logj, struct buf *err)
{
	struct sb_functions_deploy_req d;
	struct json *m = NULL;
	const char *nm = (const char *)fn->names.data;
	int rc;

	for (size_t k = 0; k < fn->nfiles; k++) {
		files[k].name = nm;
		files[k].data = fn->data[k].data;
		files[k].len = fn->data[k].len;
		nm += strlen(nm) + 1;
	}
	res->slug = fn->slug;
	if (!fn->meta.len ||
	    json_parse(&m, fn->meta.data, fn->meta.len, err) < 0) {
		res->step = RESTORE_FUNCTIONS_META;
		buf_addstr(logj, "], \"error\": \"unreadable .function.json\"}");
		return -EBADMSG;
	}
	memset(&d, 0, sizeof(d));
	d.slug = fn->slug;
	d.name = json_get_str(m, "name");
	d.verify_jwt = json_bool(json_get(m, "verify_jwt")) != 0;
	d.entrypoint_path = json_get_str(m, "entrypoint_path");
	d.import_map_path = json_get_str(m, "import_map_path");
	d.files = files;
	d.nfiles = fn->nfiles;
	buf_reset(err);
	rc = sb_functions_deploy(f->api, &d, NULL, err);
	json_free(m);
	if (rc < 0) {
		res->step = RESTORE_FUNCTIONS_DEPLOY;
		buf_addstr(logj, "], \"error\": ");
		json_quote(logj, fn->slug, strlen(fn->slug));
		buf_addch(logj, '}');
	}
	return rc;
}

/* A rollback: what the restore created goes. */
static int rfn_drop(struct restore_functions *f,
		    struct restore_functions_result *res, struct buf *logj,
		    struct buf *err)
{
	for (size_t i = 0; i < f->o.ndrop; i++) {
		int rc;

		buf_reset(err);
		rc = sb_functions_delete(f->api, f->o.drop[i], err);
		if (rc == -ENOENT)
			continue;	/* already gone: the goal holds */
		if (rc < 0) {
			res->step = RESTORE_FUNCTIONS_DELETE;
			res->slug = f->o.drop[i];
			rfn_json_list(logj, "deleted", f->deleted, res->deleted);
			buf_addstr(logj, ", \"error\": ");
			json_quote(logj, f->o.drop[i], strlen(f->o.drop[i]));
			buf_addch(logj, '}');
			return rc;
		}
		f->deleted[res->deleted++] = f->o.drop[i];
	}
	return 0;
}

int restore_functions_deploy(struct restore_functions *f,
			     struct restore_functions_result *res,
			     struct buf *logj, struct buf *err)
{
	struct sb_functions_file *files = NULL;
	const char *sid = res->safety_id;
	int rc = -ENOMEM;

	res->step = RESTORE_FUNCTIONS_MEMORY;
	if (buf_addstr(logj, "  \"functions\": {\"safety_snapshot\": ") < 0 ||
	    (sid[0] ? json_quote(logj, sid, strlen(sid))
	     : buf_addstr(logj, "null")) < 0 ||
	    (!f->o.rollback && rfn_json_list(logj, "created", f->created,
					     res->created) < 0) ||
	    buf_addstr(logj, ", \"deployed\": [") < 0)
		goto out;
	for (size_t i = 0; i < f->nf; i++) {
		const char *slug = f->fns[i].slug;

		free(files);
		files = calloc(f->fns[i].nfiles ? f->fns[i].nfiles : 1,
			       sizeof(*files));
		if (!files) {
			res->step = RESTORE_FUNCTIONS_MEMORY;
			rc = -ENOMEM;
			goto out;
		}
		rc = rfn_deploy_one(f, &f->fns[i], files, res, logj, err);
		if (rc < 0)
			goto out;
		res->step = RESTORE_FUNCTIONS_MEMORY;
		rc = -ENOMEM;
		if ((i && buf_addstr(logj, ", ") < 0) ||
		    json_quote(logj, slug, strlen(slug)) < 0)
			goto out;
		res->deployed++;
	}
	rc = -ENOMEM;
	if (buf_addch(logj, ']') < 0)
		goto out;
	rc = rfn_drop(f, res, logj, err);
	if (rc < 0)
		goto out;
	res->step = RESTORE_FUNCTIONS_MEMORY;
	rc = -ENOMEM;
	if ((f->o.rollback && rfn_json_list(logj, "deleted", f->deleted,
					    res->deleted) < 0) ||
	    buf_addch(logj, '}') < 0)
		goto out;
	rc = 0;
out:
	free(files);
	return rc;
}

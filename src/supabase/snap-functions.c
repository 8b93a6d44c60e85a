/*
 * snap-functions: Edge Functions into a snapshot (see snap-functions.h).
 * Files are collected in memory per function, then every entry is
 * sorted by manifest path and written.  The summary and the snapshot
 * record's "functions" member are the front end's (src/cli/snap-sb.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "extract.h"
#include "repo.h"
#include "sb-env.h"
#include "sb-functions.h"
#include "sb-http.h"
#include "json.h"
#include "snap-functions.h"

struct snap_functions_ent {
	int dir;
	char *path;
	size_t path_len;
	char *data;
	size_t len;
};

struct snap_functions {
	const struct sb_env *env;
	struct sb_http *http;
	struct sb_functions *fn;
	struct snap_functions_ent *ents;
	size_t nents, cap;
	struct snap_functions_stats stats;
	struct buf slug;	/* the function being fetched: encoded slug */
};

struct snap_functions *snap_functions_new(const struct sb_env *env)
{
	struct snap_functions *f = calloc(1, sizeof(*f));

	if (!f)
		return NULL;
	f->env = env;
	buf_init(&f->slug, 0);
	return f;
}

void snap_functions_free(struct snap_functions *f)
{
	if (!f)
		return;
	for (size_t i = 0; i < f->nents; i++) {
		free(f->ents[i].path);
		free(f->ents[i].data);
	}
	free(f->ents);
	sb_functions_free(f->fn);
	sb_http_free(f->http);
	buf_release(&f->slug);
	free(f);
}

/* Takes path (encoded) and a copy of data. */
static int snap_functions_add(struct snap_functions *f, int dir,
			      struct buf *path, const void *data, size_t len)
{
	struct snap_functions_ent *e;

	if (f->nents == f->cap) {
		size_t cap = f->cap ? f->cap * 2 : 32;
		void *p = realloc(f->ents, cap * sizeof(*f->ents));

		if (!p)
			return -ENOMEM;
		f->ents = p;
		f->cap = cap;
	}
	e = &f->ents[f->nents];
	memset(e, 0, sizeof(*e));
	e->dir = dir;
	e->len = len;
	if (!dir) {
		e->data = malloc(len + 1);
		if (!e->data)
			return -ENOMEM;
		memcpy(e->data, data, len);
	}
	e->path = buf_detach(path, &e->path_len);
	if (!e->path) {
		free(e->data);
		return -ENOMEM;
	}
	f->nents++;
	return 0;
}

static int snap_functions_file(void *ctx, const char *name, const void *data,
			       size_t n)
{
	struct snap_functions *f = ctx;
	struct buf p = BUF_INIT;
	int r;

	/* a file named like our own record would shadow it */
	if (strcmp(name, ".function.json") == 0)
		return -EBADMSG;
	r = buf_add(&p, f->slug.data, f->slug.len);
	if (r == 0)
		r = buf_addch(&p, '/');
	if (r == 0)
		r = extract_encode_path(&p, name, strlen(name));
	/* the folders of nested files */
	for (size_t k = f->slug.len + 1; r == 0 && k < p.len; k++) {
		struct buf d = BUF_INIT;

		if (p.data[k] != '/')
			continue;
		r = buf_add(&d, p.data, k);
		for (size_t i = 0; r == 0 && i < f->nents; i++)
			if (f->ents[i].dir && f->ents[i].path_len == k &&
			    !memcmp(f->ents[i].path, d.data, k)) {
				buf_release(&d);
				break;
			}
		if (r == 0 && d.len)
			r = snap_functions_add(f, 1, &d, NULL, 0);
		buf_release(&d);
	}
	if (r == 0)
		r = snap_functions_add(f, 0, &p, data, n);
	buf_release(&p);
	if (r == 0) {
		f->stats.files++;
		f->stats.bytes += n;
	}
	return r;
}

static int snap_functions_record(struct snap_functions *f,
				 const struct sb_functions_item *it)
{
	struct buf j = BUF_INIT, p = BUF_INIT;
	int r = sb_functions_item_json(it, &j);

	if (r == 0)
		r = buf_add(&p, f->slug.data, f->slug.len);
	if (r == 0)
		r = buf_addstr(&p, "/.function.json");
	if (r == 0)
		r = snap_functions_add(f, 0, &p, j.data, j.len);
	buf_release(&j);
	buf_release(&p);
	return r;
}

static int snap_functions_cmp(const void *a, const void *b)
{
	const struct snap_functions_ent *x = a, *y = b;

	return manifest_path_cmp(x->path, x->path_len, y->path, y->path_len);
}

int snap_functions_open(struct snap_functions *f, struct buf *err)
{
	struct sb_http_opts ho;
	struct sb_functions_item *items = NULL;
	struct buf p = BUF_INIT;
	size_t n = 0;
	int r;

	buf_reset(err);
	memset(&ho, 0, sizeof(ho));
	ho.jobs = 1;
	r = sb_http_new(&f->http, &ho, err);
	if (r == 0)
		r = sb_functions_new(&f->fn, f->http, f->env->api_url,
				     f->env->access_token, f->env->project_ref,
				     err);
	if (r == 0)
		r = sb_functions_list(f->fn, &items, &n, err);
	if (r == 0) {
		buf_addstr(&p, SNAP_FUNCTIONS_ROOT);
		r = snap_functions_add(f, 1, &p, NULL, 0);
	}
	for (size_t i = 0; r == 0 && i < n; i++) {
		buf_reset(&f->slug);
		buf_addstr(&f->slug, SNAP_FUNCTIONS_ROOT "/");
		r = extract_encode_segment(&f->slug, items[i].slug,
					   strlen(items[i].slug));
		buf_reset(&p);
		if (r == 0)
			r = buf_add(&p, f->slug.data, f->slug.len);
		if (r == 0)
			r = snap_functions_add(f, 1, &p, NULL, 0);
		if (r == 0)
			r = sb_functions_body(f->fn, items[i].slug,
					      snap_functions_file, f, NULL, err);
		if (r == 0)
			r = snap_functions_record(f, &items[i]);
		if (r < 0 && !err->len)
			buf_addf(err, "function %s: %s", items[i].slug,
				 strerror(-r));
		f->stats.functions++;
	}
	sb_functions_items_free(items, n);
	buf_release(&p);
	if (r < 0) {
		if (!err->len)
			buf_addstr(err, strerror(-r));
		return r;
	}
	qsort(f->ents, f->nents, sizeof(*f->ents), snap_functions_cmp);
	return 0;
}

int snap_functions_emit(struct snap_functions *f, struct repo_writer *w,
			int64_t mtime_ns, struct buf *err)
{
	struct repo_entry_meta m;
	int r = 0;

	m.mtime_ns = mtime_ns;
	for (size_t i = 0; i < f->nents && r == 0; i++) {
		const struct snap_functions_ent *e = &f->ents[i];

		m.mode = e->dir ? 0755 : 0644;
		if (e->dir) {
			r = repo_writer_dir(w, e->path, &m);
			continue;
		}
		r = repo_writer_file_begin(w, e->path, &m, REPO_CHUNK_GENERAL);
		if (r == 0 && e->len)
			r = repo_writer_file_write(w, e->data, e->len);
		if (r == 0)
			r = repo_writer_file_end(w);
	}
	if (r < 0) {
		buf_reset(err);
		buf_addstr(err, repo_writer_error(w));
	}
	return r;
}

const struct snap_functions_stats *
snap_functions_get_stats(const struct snap_functions *f)
{
	return &f->stats;
}

/*
 * restore-functions: deploys the functions/<slug>/ trees of a snapshot
 * again (see restore-functions.h).  Function sources are small (the API
 * caps a body at SB_FUNCTIONS_MAX_BODY), so each function's files are
 * read into memory, one function at a time.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "manifest.h"
#include "repo.h"
#include "restore-functions.h"
#include "sb-env.h"
#include "sb-functions.h"
#include "sb-http.h"
#include "sb-json.h"
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

int restore_functions_run(struct cli *c, struct repo *r, const char *snap_id,
			  const struct sb_env *env, const char *const *slugs,
			  size_t nslugs, int dry_run, struct buf *logj)
{
	struct rfn_fn *fns = NULL;
	size_t nf = 0, deployed = 0;
	struct sb_http *h = NULL;
	struct sb_functions *api = NULL;
	struct sb_http_opts ho;
	struct buf err = BUF_INIT;
	struct sb_functions_file *files = NULL;
	int rc, ret = CLI_EXIT_ERROR;

	rc = rfn_read(r, snap_id, slugs, nslugs, &fns, &nf, &err);
	if (rc < 0) {
		cli_fail(c, rc, &err, "cannot read the functions of snapshot %.8s", snap_id);
		goto out;
	}
	for (size_t i = 0; i < nslugs; i++) {
		size_t k = 0;

		while (k < nf && strcmp(fns[k].slug, slugs[i]))
			k++;
		if (k == nf) {
			ret = cli_usage_error(c, "--function %s: snapshot %.8s holds no such function",
					      slugs[i], snap_id);
			goto out;
		}
	}
	printf("functions: %zu to deploy\n", nf);
	for (size_t i = 0; i < nf; i++)
		printf("  deploy %s (%zu file%s)\n", fns[i].slug, fns[i].nfiles,
		       fns[i].nfiles == 1 ? "" : "s");
	if (dry_run) {
		ret = CLI_EXIT_OK;
		goto out;
	}
	memset(&ho, 0, sizeof(ho));
	rc = sb_http_new(&h, &ho, &err);
	if (rc == 0)
		rc = sb_functions_new(&api, h, env->api_url, env->access_token,
				      env->project_ref, &err);
	if (rc < 0)
		goto fail;
	if (buf_addstr(logj, "  \"functions\": {\"deployed\": [") < 0)
		goto oom;
	for (size_t i = 0; i < nf; i++) {
		struct sb_functions_deploy_req d;
		struct sb_json *m = NULL;
		const char *nm = (const char *)fns[i].names.data;

		free(files);
		files = calloc(fns[i].nfiles ? fns[i].nfiles : 1, sizeof(*files));
		if (!files)
			goto oom;
		for (size_t k = 0; k < fns[i].nfiles; k++) {
			files[k].name = nm;
			files[k].data = fns[i].data[k].data;
			files[k].len = fns[i].data[k].len;
			nm += strlen(nm) + 1;
		}
		if (!fns[i].meta.len ||
		    sb_json_parse(&m, fns[i].meta.data, fns[i].meta.len, &err) < 0) {
			cli_error(c, "function %s: snapshot %.8s holds no readable .function.json",
				  fns[i].slug, snap_id);
			goto out;
		}
		memset(&d, 0, sizeof(d));
		d.slug = fns[i].slug;
		d.name = sb_json_get_str(m, "name");
		d.verify_jwt = sb_json_bool(sb_json_get(m, "verify_jwt")) != 0;
		d.entrypoint_path = sb_json_get_str(m, "entrypoint_path");
		d.import_map_path = sb_json_get_str(m, "import_map_path");
		d.files = files;
		d.nfiles = fns[i].nfiles;
		buf_reset(&err);
		rc = sb_functions_deploy(api, &d, NULL, &err);
		sb_json_free(m);
		if (rc < 0) {
			cli_fail(c, rc, &err, "cannot deploy function %s", fns[i].slug);
			buf_addstr(logj, "], \"error\": ");
			sb_json_quote(logj, fns[i].slug, strlen(fns[i].slug));
			buf_addch(logj, '}');
			goto out;
		}
		if ((i && buf_addstr(logj, ", ") < 0) ||
		    sb_json_quote(logj, fns[i].slug, strlen(fns[i].slug)) < 0)
			goto oom;
		deployed++;
	}
	if (buf_addstr(logj, "]}") < 0)
		goto oom;
	printf("functions: %zu deployed\n", deployed);
	ret = CLI_EXIT_OK;
	goto out;
fail:
	cli_fail(c, rc, &err, "functions");
	goto out;
oom:
	cli_error(c, "out of memory");
out:
	free(files);
	for (size_t i = 0; i < nf; i++)
		rfn_fn_release(&fns[i]);
	free(fns);
	sb_functions_free(api);
	sb_http_free(h);
	buf_release(&err);
	return ret;
}

/*
 * restore-sb-run: one Storage part and one Functions part of a restore
 * or rollback, with everything they print (restore-sb-run.h).  Apart
 * from restore-sb.c (the verbs: options, settings, which parts run,
 * the restore log) because the restore and the rollback run the parts
 * the same way.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli-progress.h"
#include "restore-sb-run.h"
#include "sb-env.h"
#include "storage-exec.h"
#include "storage-log.h"
#include "storage-safety.h"

void restore_sb_run_init(struct restore_sb_run *run)
{
	memset(run, 0, sizeof(*run));
	buf_init(&run->storage, 0);
	buf_init(&run->functions, 0);
}

void restore_sb_run_release(struct restore_sb_run *run)
{
	buf_release(&run->storage);
	buf_release(&run->functions);
}

/* ---- Storage ---------------------------------------------------------------- */

static int restore_sb_run_item(void *ctx, const struct storage_plan_item *it)
{
	struct buf *q = ctx;

	switch (it->what) {
	case STORAGE_PLAN_CREATE_BUCKET:
	case STORAGE_PLAN_UPDATE_BUCKET:
		printf("  %s bucket %s\n", it->what == STORAGE_PLAN_CREATE_BUCKET ?
		       "create" : "update", it->bucket);
		break;
	case STORAGE_PLAN_UPLOAD:
	case STORAGE_PLAN_DELETE:
		storage_plan_quote(q, it->bucket, it->name);
		printf("  %s %s\n", it->what == STORAGE_PLAN_UPLOAD ?
		       "upload" : "delete", (const char *)q->data);
		break;
	}
	return 0;
}

static void restore_sb_run_plan_print(const struct restore_sb_run *run,
				      const struct storage_plan *p,
				      enum storage_plan_mode mode)
{
	struct storage_plan_counts n;
	struct buf q = BUF_INIT;
	size_t up;

	storage_plan_counts(p, &n);
	up = n.upload_new + n.upload_changed;
	printf("storage %s (%s): %zu bucket%s to create, %zu to update; %zu object%s to upload (%zu new, %zu changed), %zu unchanged, %zu to delete\n",
	       run->rollback_of ? "rollback" : "restore",
	       storage_plan_mode_name(mode), n.create, n.create == 1 ? "" : "s",
	       n.update, up, up == 1 ? "" : "s", n.upload_new,
	       n.upload_changed, n.unchanged, n.del + n.extra);
	storage_plan_each(p, restore_sb_run_item, &q);
	buf_release(&q);
}

/* The uploads as the "upload" phase; -v: each object uploaded. */
struct restore_sb_run_progress {
	struct cli *c;
	struct cli_phase *ph;
	struct buf q;
};

static void restore_sb_run_progress(void *ctx,
				    const struct storage_plan_progress *pr)
{
	struct restore_sb_run_progress *k = ctx;

	buf_reset(&k->q);
	if (pr->bucket)
		buf_addf(&k->q, "%s/%s", pr->bucket, pr->name);
	cli_phase_total(k->ph, pr->bytes_total, pr->total, 1);
	cli_phase_at(k->ph, pr->bytes, pr->done, pr->bucket ?
		     (const char *)k->q.data : NULL, k->q.len);
	if (pr->bucket && cli_verbose(k->c, 1))
		cli_progress_detail(cli_progress_of(k->c), "upload",
				    (const char *)k->q.data, k->q.len, NULL);
}

int restore_sb_run_storage(struct restore_sb_run *run,
			   const struct storage_plan_opts *o)
{
	struct cli *c = run->c;
	struct restore_sb_run_progress k = { c, NULL, BUF_INIT };
	struct storage_plan_opts so = *o;
	struct storage_plan *p = NULL;
	struct storage_exec_result res;
	struct storage_plan_counts n;
	struct buf err = BUF_INIT;
	const char *stage = "read the snapshot", *missing;
	int r, ret = CLI_EXIT_ERROR;

	storage_exec_result_init(&res);
	k.ph = cli_progress_phase(cli_progress_of(c), "upload", "objects");
	so.progress = restore_sb_run_progress;
	so.progress_ctx = &k;
	r = storage_plan_new(&p, run->r, run->env, &so);
	if (r == 0)
		r = storage_plan_read(p, &err);
	if (r < 0)
		goto fail;
	if ((missing = storage_plan_missing_bucket(p))) {
		ret = cli_usage_error(c, "--bucket %s: snapshot %.8s holds no such bucket",
				      missing, o->snap_id);
		goto out;
	}
	stage = "plan";
	r = storage_plan_make(p, &err);
	if (r == -EEXIST) {
		cli_error(c, "storage restore refused, nothing was changed: %s",
			  (const char *)err.data);
		goto out;
	}
	if (r < 0)
		goto fail;
	/* -q: the plan is printed only when it is what was asked for */
	if (run->dry_run || !cli_quiet(c))
		restore_sb_run_plan_print(run, p, o->mode);
	if (run->dry_run) {
		ret = CLI_EXIT_OK;
		goto out;
	}
	storage_plan_counts(p, &n);
	if ((n.upload_changed || n.del + n.extra) && !run->yes) {
		cli_error(c, "this storage %s overwrites or deletes objects in %s: pass --yes to confirm (nothing was changed)",
			  run->rollback_of ? "rollback" : "restore",
			  run->env->storage_url);
		ret = CLI_EXIT_USAGE;
		goto out;
	}
	stage = "take the safety snapshot";
	r = storage_safety_take(p, run->rid, run->safety_id, &err);
	if (r < 0)
		goto fail;
	if (run->safety_id[0] && !cli_quiet(c))
		printf("safety snapshot %.8s holds the %zu object%s this restore deletes or overwrites\n",
		       run->safety_id, n.upload_changed + n.del,
		       n.upload_changed + n.del == 1 ? "" : "s");
	run->changed = 1;
	cli_phase_start(k.ph);
	r = storage_exec_run(p, &res, &err);
	cli_phase_stop(k.ph);
	stage = res.stage;
	if (r == 0)
		r = storage_log_storage(&run->storage, p, &res);
	if (r < 0)
		goto fail;
	if (!cli_quiet(c))
		printf("storage: %zu object%s uploaded, %zu unchanged, %zu deleted, %zu bucket%s created, %zu updated; verification %s\n",
		       res.uploaded, res.uploaded == 1 ? "" : "s", n.unchanged,
		       res.deleted, n.create, n.create == 1 ? "" : "s",
		       n.update, res.nbad ? "FAILED" : "ok");
	if (res.nbad) {
		cli_error(c, "storage verification failed (%zu mismatch%s): %s",
			  res.nbad, res.nbad == 1 ? "" : "es",
			  (const char *)res.bad.data);
		goto out;
	}
	ret = CLI_EXIT_OK;
	goto out;
fail:
	cli_fail(c, r, &err, "storage: cannot %s", stage);
	storage_log_error(&run->storage, stage, r, &err);
out:
	storage_plan_free(p);
	storage_exec_result_release(&res);
	buf_release(&err);
	buf_release(&k.q);
	return ret;
}

/* ---- Edge Functions ------------------------------------------------------------ */

static void restore_sb_run_functions_fail(struct cli *c, int rc,
					  const struct restore_functions_result *res,
					  const struct buf *err,
					  const char *snap_id)
{
	switch (res->step) {
	case RESTORE_FUNCTIONS_CONNECT:
		cli_fail(c, rc, err, "functions");
		break;
	case RESTORE_FUNCTIONS_MEMORY:
		cli_error(c, "out of memory");
		break;
	case RESTORE_FUNCTIONS_SAFETY:
		cli_fail(c, rc, err, "functions: cannot take the safety snapshot (nothing was deployed)");
		break;
	case RESTORE_FUNCTIONS_META:
		cli_error(c, "function %s: snapshot %.8s holds no readable .function.json",
			  res->slug, snap_id);
		break;
	case RESTORE_FUNCTIONS_DEPLOY:
		cli_fail(c, rc, err, "cannot deploy function %s", res->slug);
		break;
	case RESTORE_FUNCTIONS_DELETE:
		cli_fail(c, rc, err, "cannot delete function %s", res->slug);
		break;
	}
}

int restore_sb_run_functions(struct restore_sb_run *run, const char *snap_id,
			     const struct restore_functions_opts *o)
{
	struct cli *c = run->c;
	struct restore_functions *f = NULL;
	struct restore_functions_result res;
	struct buf err = BUF_INIT;
	const char *missing;
	size_t n;
	int rc, ret = CLI_EXIT_ERROR;

	memset(&res, 0, sizeof(res));
	rc = restore_functions_read(&f, run->r, snap_id, o, &err);
	if (rc < 0) {
		cli_fail(c, rc, &err, "cannot read the functions of snapshot %.8s", snap_id);
		goto out;
	}
	if ((missing = restore_functions_missing(f))) {
		ret = cli_usage_error(c, "--function %s: snapshot %.8s holds no such function",
				      missing, snap_id);
		goto out;
	}
	n = restore_functions_count(f);
	/* -q: the plan is printed only when it is what was asked for */
	if (!run->dry_run && cli_quiet(c))
		goto deploy;
	printf("functions: %zu to deploy%s\n", n, o->rollback ? " again" : "");
	for (size_t i = 0; i < n; i++) {
		size_t nfiles = restore_functions_nfiles(f, i);

		printf("  deploy %s (%zu file%s)\n", restore_functions_slug(f, i),
		       nfiles, nfiles == 1 ? "" : "s");
	}
	for (size_t i = 0; i < o->ndrop; i++)
		printf("  delete %s (created by the restore)\n", o->drop[i]);
deploy:
	if (run->dry_run) {
		ret = CLI_EXIT_OK;
		goto out;
	}
	rc = restore_functions_prepare(f, run->env, &res, &err);
	if (rc == 0 && res.safety_id[0] && !cli_quiet(c))
		printf("safety snapshot %.8s holds the %zu function%s this restore overwrites\n",
		       res.safety_id, res.overwritten,
		       res.overwritten == 1 ? "" : "s");
	if (rc == 0)
		rc = restore_functions_deploy(f, &res, &run->functions, &err);
	if (rc < 0) {
		restore_sb_run_functions_fail(c, rc, &res, &err, snap_id);
		goto out;
	}
	if (cli_quiet(c))
		;
	else if (o->rollback)
		printf("functions: %zu deployed again, %zu deleted\n",
		       res.deployed, res.deleted);
	else
		printf("functions: %zu deployed (%zu new)\n", res.deployed,
		       res.created);
	ret = CLI_EXIT_OK;
out:
	restore_functions_free(f);
	buf_release(&err);
	return ret;
}

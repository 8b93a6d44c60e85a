/*
 * cmd-restore: `vault restore SNAP --db URL [options]` brings the
 * database part of a snapshot (or a selection of it) back into a live
 * database with the restore engine (rs-*), and restore_run(), which
 * `vault rollback` shares: plan, confirmation, safety snapshot, the
 * one-transaction run, the restore log.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pg-conn.h"
#include "repo.h"
#include "restore-progress.h"
#include "restore-repo.h"
#include "restore-sb.h"
#include "restores.h"
#include "rs-exec.h"

const char cmd_restore_usage[] =
	"usage: vault restore SNAP [--db URL] [options]\n"
	"\n"
	"Restores the database part (db/) of snapshot SNAP (an id, a unique\n"
	"prefix or 'latest') into a live PostgreSQL database, in one\n"
	"transaction, verifying every restored table against the snapshot.\n"
	"'latest' and --at skip safety snapshots (what a restore replaced):\n"
	"give one of those by its id, or as 'latest-safety'.  From a\n"
	"repository this process cannot write (read-only, or its disk full)\n"
	"an empty-mode restore, or one with --no-safety-snapshot, runs\n"
	"without keeping its log; clean and merge need to write their safety\n"
	"snapshot there.\n"
	"\n"
	"      --db URL            the target (else --env-file, $VAULT_DB_URL,\n"
	"                          $SUPABASE_DB_URL, or ./.env, as for snapshot)\n"
	"      --env-file FILE     read VAULT_DB_URL / SUPABASE_DB_URL from FILE\n"
	"      --at TIME           the newest snapshot at or before TIME (no SNAP;\n"
	"                          not a safety snapshot)\n"
	"      --only LIST         roles,schema,data,auth,storage-meta,migrations\n"
	"                          (storage,functions: see below)\n"
	"      --schema GLOB       only these schemas (repeatable)\n"
	"      --table S.T         only these tables (repeatable, globs allowed)\n"
	"      --mode MODE         empty (default): refuse if anything exists;\n"
	"                          clean: make the selection equal to the snapshot;\n"
	"                          merge: add missing objects and rows\n"
	"      --on-conflict update  merge: overwrite rows whose key exists\n"
	"      --dry-run           print the plan, change nothing\n"
	"      --yes               confirm a clean or merge restore (without it,\n"
	"                          vault asks on a terminal and refuses otherwise)\n"
	"      --no-safety-snapshot  do not capture the affected objects first\n"
	"      --drop-dependent-views  clean: drop the views on a table that drifted\n"
	"                          that the snapshot does not hold (else refused)\n"
	"      --jobs N            connections for the data load (default 1: one\n"
	"                          transaction).  N > 1, empty mode: the new tables\n"
	"                          load in parallel, undone if the restore fails\n"
	"      --verify full       also read every restored table back from the\n"
	"                          target and check it before the commit (default\n"
	"                          streamed: rows checked against the snapshot's\n"
	"                          XXH3-128 and row count as they load)\n"
	"      --json              print the restore log (or plan) as JSON, and\n"
	"                          progress as JSON lines on stderr\n"
	"  -h, --help              show this help\n"
	"\n"
	"Storage and Edge Functions (a separate run, not combined with db/):\n"
	"vault restore SNAP --only storage[,functions] [--bucket B]...\n"
	"      [--path GLOB]... [--function SLUG]... [--mode merge|mirror|empty]\n"
	"      [--dry-run] [--yes] [--json]\n"
	"      --only storage      the snapshot's storage/ buckets and objects\n"
	"      --only functions    the snapshot's functions/ (redeployed)\n"
	"      --bucket B          only this bucket (repeatable)\n"
	"      --path GLOB         only objects whose name (within the bucket)\n"
	"                          matches the glob (repeatable)\n"
	"      --function SLUG     only this function (repeatable)\n"
	"      --mode MODE         merge (default): upload missing and changed\n"
	"                          objects, delete nothing; mirror: also delete\n"
	"                          objects the snapshot lacks; empty: refuse if the\n"
	"                          selected buckets hold objects\n"
	"      --storage-url URL   Storage API (default $SUPABASE_URL/storage/v1)\n"
	"      --env-file FILE     read SUPABASE_URL, SUPABASE_SERVICE_ROLE_KEY,\n"
	"                          SUPABASE_ACCESS_TOKEN, SUPABASE_PROJECT_REF\n"
	"      --no-safety-snapshot  mirror: do not capture what it replaces first\n"
	"      --json              progress, -v lines and a summary as JSON lines\n"
	"                          on stderr (standard output stays text)\n"
	"\n"
	"Exit status: 0 restored (or planned), 1 failed or refused by the plan\n"
	"(nothing changed), 2 usage error or not confirmed (--yes missing).\n";

enum {
	RESTORE_OPT_DB = CLI_OPT_FIRST_VERB,
	RESTORE_OPT_ENV_FILE,
	RESTORE_OPT_AT,
	RESTORE_OPT_ONLY,
	RESTORE_OPT_SCHEMA,
	RESTORE_OPT_TABLE,
	RESTORE_OPT_MODE,
	RESTORE_OPT_ON_CONFLICT,
	RESTORE_OPT_DRY_RUN,
	RESTORE_OPT_YES,
	RESTORE_OPT_NO_SAFETY,
	RESTORE_OPT_DROP_VIEWS,
	RESTORE_OPT_JOBS,
	RESTORE_OPT_JSON,
	RESTORE_OPT_VERIFY,
};

/* The log document with the restore's id as its first member. */
static int restore_log_doc(const struct rs_log *l, const char *id, struct buf *out)
{
	struct buf tmp = BUF_INIT;
	int r = rs_log_json(l, &tmp);

	if (r == 0 && (tmp.len < 2 || memcmp(tmp.data, "{\n", 2)))
		r = -EINVAL;
	if (r == 0)
		r = buf_addf(out, "{\n  \"id\": \"%s\",\n", id);
	if (r == 0)
		r = buf_add(out, tmp.data + 2, tmp.len - 2);
	buf_release(&tmp);
	return r;
}

int restore_log_keep(struct cli *c, struct repo *r, const struct rs_log *l,
		     const char *id, struct buf *out)
{
	struct buf err = BUF_INIT;
	int e = restore_log_doc(l, id, out);

	/* read-only: cmd_restore said so before the restore began */
	if (e == 0 && repo_writable(r)) {
		e = repo_restore_put(r, id, out->data, out->len, &err);
		if (e < 0)
			cli_fail(c, e, &err, "cannot keep the log %s", id);
	}
	buf_release(&err);
	return e;
}

/* A growing NULL-terminated vector of option arguments. */
/* SIGINT/SIGTERM set a flag the executor polls between statements and
 * between pieces of a table's rows: the restore then rolls back (or,
 * past a parallel load's first commit, runs its undo) and keeps its log,
 * instead of dying with committed tables left behind. */
static volatile sig_atomic_t restore_interrupted;

static void restore_on_signal(int sig)
{
	restore_interrupted = 1;
}

static int restore_push(struct buf *v, const char *s)
{
	const char *end = NULL;

	if (v->len)
		buf_setlen(v, v->len - sizeof(end));
	if (buf_add(v, &s, sizeof(s)) < 0)
		return -ENOMEM;
	return buf_add(v, &end, sizeof(end));
}

/*
 * The plan on stdout (-q: only when it is what was asked for), then a
 * plan that cannot start refused: 0, or the exit code (said why).
 */
static int restore_plan_show(struct cli *c, const struct restore_req *q,
			     const struct rs_plan *plan, const struct rs_plan_source *src,
			     const struct rs_select *sel)
{
	struct buf out = BUF_INIT, err = BUF_INIT;
	int e = 0, ret = CLI_EXIT_ERROR;

	if (q->json && q->dry_run)
		e = rs_plan_json(plan, src, sel, &out);
	else if (!q->json)
		e = buf_addf(&out, "Snapshot %s%s%s%s\n", q->snap_id,
			     q->snap_how ? " (" : "",
			     q->snap_how ? q->snap_how : "",
			     q->snap_how ? ")" : "");
	if (e == 0 && !q->json)
		e = rs_plan_text(plan, src, &out);
	for (size_t i = 0; e == 0 && !q->json && q->drop_tables &&
	     q->drop_tables[i] && q->drop_tables[i + 1]; i += 2)
		e = buf_addf(&out, "  drop %s.%s (the restore created it)\n",
			     q->drop_tables[i], q->drop_tables[i + 1]);
	for (size_t i = 0; e == 0 && !q->json && i < q->nunlink_los; i++)
		e = buf_addf(&out, "  unlink large object %u (the restore created it)\n",
			     q->unlink_los[i]);
	if (e < 0) {
		cli_error(c, "out of memory");
		goto out;
	}
	if (out.len && (q->json || q->dry_run || !cli_quiet(c)))
		cli_write_all(1, out.data, out.len);
	if (rs_plan_blocked(plan, &err)) {
		cli_error(c, "the %s cannot start, nothing was changed:\n%s",
			  q->what, (const char *)err.data);
		goto out;
	}
	ret = 0;
out:
	buf_release(&out);
	buf_release(&err);
	return ret;
}

/* rs_exec_opts.on_plan: the plan the restore's transaction built */
struct restore_shown {
	struct cli *c;
	const struct restore_req *q;
	const struct rs_plan_source *src;
	const struct rs_select *sel;
	int ret;		/* the exit code of a refused plan */
	int shown;		/* the plan was built */
};

static int restore_on_plan(void *ctx, const struct rs_plan *plan)
{
	struct restore_shown *sp = ctx;

	sp->shown = 1;
	sp->ret = restore_plan_show(sp->c, sp->q, plan, sp->src, sp->sel);
	return sp->ret ? -ECANCELED : 0;
}

int restore_run(struct cli *c, const struct restore_req *q)
{
	struct rs_input in = { 0 };
	struct rs_plan_source src;
	struct rs_select sel;
	struct rs_select_opts so;
	struct buf names = BUF_INIT;
	struct rs_plan *plan = NULL;
	struct rs_plan_opts po;
	struct rs_exec_opts eo;
	struct restore_progress rp;
	struct sigaction sigs[2];
	struct pg_conn_info *ci = NULL;
	struct pg_conn_retry rt = { 2, 500 };
	struct rs_log log;
	struct buf err = BUF_INIT, out = BUF_INIT;
	char rid[REPO_RESTORE_ID_SIZE], safety[65] = "";
	struct restore_shown sp = { 0 };
	PGconn *pc = NULL;
	int e, ret = CLI_EXIT_ERROR, destructive, sel_ok = 0, src_ok = 0, planned;

	memset(&src, 0, sizeof(src));
	restore_progress_init(&rp);
	rs_log_init(&log);
	e = repo_restore_new_id(q->r, (int64_t)time(NULL), rid, &err);
	if (e < 0) {
		cli_fail(c, e, &err, "cannot pick a restore id");
		goto out;
	}
	if (restore_input_init(&in, q->r, q->snap_id) < 0)
		goto oom;
	e = rs_plan_source_load(&src, &in, NULL, &err);
	src_ok = 1;
	if (e < 0) {
		if (e == -ENOENT)
			cli_error(c, "snapshot %.8s holds no database (db/meta.json): %s",
				  q->snap_id, (const char *)err.data);
		else
			cli_fail(c, e, &err, "cannot read the database of snapshot %.8s",
				 q->snap_id);
		goto out;
	}
	so = q->sel;
	if (q->every_table) {
		/* exact names: a table of the snapshot, nothing around it */
		for (size_t i = 0; i < src.meta->ntables; i++) {
			struct buf p = BUF_INIT;
			char *s;

			if (restore_glob_escape(&p, src.meta->tables[i].schema) < 0 ||
			    buf_addch(&p, '.') < 0 ||
			    restore_glob_escape(&p, src.meta->tables[i].name) < 0 ||
			    !(s = buf_detach(&p, NULL)) ||
			    restore_push(&names, s) < 0) {
				buf_release(&p);
				goto oom;
			}
		}
		so.tables = names.len ? (const char *const *)names.data : NULL;
	}
	e = rs_select_build(&sel, src.meta, &so, &err);
	sel_ok = e == 0;
	if (e < 0) {
		ret = e == -ENOENT || e == -EINVAL ? CLI_EXIT_USAGE : CLI_EXIT_ERROR;
		cli_error(c, "%s", err.len ? (const char *)err.data : strerror(-e));
		goto out;
	}
	e = pg_conn_info_parse(&ci, q->url, &err);
	if (e == 0)
		e = pg_conn_open(&pc, ci, &rt, &err);
	if (e < 0) {
		cli_fail(c, e, &err, "cannot connect to the target");
		goto out;
	}
	memset(&po, 0, sizeof(po));
	po.mode = q->mode;
	po.on_conflict = q->on_conflict;
	po.jobs = q->jobs;
	po.managed = -1;
	po.verify = q->verify;
	po.drop_views = q->drop_views;
	po.ci = ci;
	/* an empty-mode restore (no confirmation, no safety snapshot
	 * first) shows the plan its transaction builds: one build */
	planned = q->dry_run || q->mode != RS_MODE_EMPTY;
	if (planned) {
		e = rs_plan_build(&plan, pc, &src, &sel, &po, &err);
		if (e < 0) {
			cli_fail(c, e, &err, "cannot plan the %s", q->what);
			goto out;
		}
		ret = restore_plan_show(c, q, plan, &src, &sel);
		if (ret)
			goto out;
		ret = CLI_EXIT_ERROR;
	}
	if (q->dry_run) {
		if (!q->json)
			printf("dry run: nothing was changed\n");
		ret = CLI_EXIT_OK;
		goto out;
	}
	destructive = q->mode != RS_MODE_EMPTY;
	if (destructive) {
		ret = restore_confirm(c, q->yes, q->rollback_of ? "rollback" :
				      q->mode == RS_MODE_CLEAN ?
				      "clean restore" : "merge restore",
				      PQdb(pc));
		if (ret)
			goto out;
		ret = CLI_EXIT_ERROR;
		if (q->safety) {
			ret = restore_safety_snapshot(c, q->r, q->url, plan,
						      rid, safety);
			if (ret)
				goto out;
			ret = CLI_EXIT_ERROR;
		} else if (!q->rollback_of) {
			cli_warn(c, "no safety snapshot (--no-safety-snapshot): `vault rollback` cannot undo this restore");
		}
	}
	rs_plan_free(plan);
	plan = NULL;
	if (rs_log_set(&log.snapshot, q->snap_id) < 0 ||
	    rs_log_target(&log, q->url, &err) < 0 ||
	    rs_log_set(&log.safety_snapshot, safety[0] ? safety : NULL) < 0 ||
	    rs_log_set(&log.rollback_of, q->rollback_of) < 0)
		goto oom;
	memset(&eo, 0, sizeof(eo));
	eo.mode = q->mode;
	eo.on_conflict = q->on_conflict;
	eo.jobs = q->jobs;
	eo.managed = -1;
	eo.verify = q->verify;
	eo.drop_views = q->drop_views;
	eo.drop_tables = q->drop_tables;
	eo.unlink_los = q->unlink_los;
	eo.nunlink_los = q->nunlink_los;
	eo.ci = ci;
	if (!planned) {
		sp.c = c;
		sp.q = q;
		sp.src = &src;
		sp.sel = &sel;
		eo.on_plan = restore_on_plan;
		eo.plan_ctx = &sp;
	}
	restore_progress_start(&rp, c, src.meta, &sel);
	restore_input_count(&in, restore_progress_load(&rp));
	eo.progress = restore_progress_step;
	eo.progress_ctx = &rp;
	buf_reset(&err);
	eo.interrupt = &restore_interrupted;
	restore_interrupted = 0;
	cli_signals_catch(sigs, restore_on_signal);
	e = rs_exec_run(pc, &in, &src, &sel, &eo, &log, NULL, &err);
	cli_signals_restore(sigs);
	restore_progress_end(&rp);
	if (e == -ECANCELED && sp.ret) {
		/* the plan shown was refused (restore_on_plan said why):
		 * nothing was changed, no log, as when it is built first */
		ret = sp.ret;
		goto out;
	}
	if (e < 0 && !planned && !sp.shown) {
		cli_fail(c, e, &err, "cannot plan the %s", q->what);
		goto out;
	}
	if (!log.status)
		rs_log_finish(&log, e < 0 ? "failed" : "ok",
			      e < 0 ? (const char *)err.data : NULL);
	/* the log is kept whatever happened: a failed restore says why */
	{
		int pe = restore_log_keep(c, q->r, &log, rid, &out);

		if (pe == -ENOMEM)
			goto oom;
		if (pe < 0 && e == 0) {
			/* the target was changed: "failed" would be a lie */
			cli_error(c, "%s %s completed (%zu table%s into %s, verification %s), but its log could not be kept (see above): `vault restores` and `vault rollback` do not know it",
				  q->what, rid, log.ntables, log.ntables == 1 ? "" : "s",
				  log.target, log.verification ? log.verification : "not run");
			goto out;
		}
	}
	if (q->json)
		cli_write_all(1, out.data, out.len);
	if (e < 0 && log.undo && !strncmp(log.undo, "failed", 6)) {
		/* a parallel load committed, and dropping it again failed */
		cli_error(c, "%s failed, and so did its undo: the target still holds objects the restore created (the restore log %s lists them under \"strategy\" and \"undo\"): %s",
			  q->what, rid, err.len ? (const char *)err.data : strerror(-e));
		goto out;
	}
	if (e < 0) {
		cli_error(c, "%s failed, the target was left unchanged%s: %s",
			  q->what, log.undo ? " (the rows loaded in parallel were dropped again)" : "",
			  err.len ? (const char *)err.data : strerror(-e));
		goto out;
	}
	/* what the plan printed before could not know: the undo's proof */
	if (!q->json && q->jobs > 1 && log.strategy &&
	    !strncmp(log.strategy, "one transaction over one connection (", 37))
		cli_warn(c, "--jobs %d: %s", q->jobs, log.strategy);
	if (!q->json && log.rb_impossible)
		cli_warn(c, "%s %s cannot be rolled back: %s", q->what, rid, log.rb_impossible);
	if (!q->json && !cli_quiet(c)) {
		printf("%s %s%s: %zu table%s into %s", q->what, rid,
		       repo_writable(q->r) ? "" : " (log not kept)", log.ntables,
		       log.ntables == 1 ? "" : "s", log.target);
		if (safety[0])
			printf(", safety snapshot %.8s", safety);
		printf(", verification %s", log.verification ?
		       log.verification : "not run");
		if (log.verification && log.verify)
			printf(" (%s)", log.verify);
		printf("\n");
	}
	ret = CLI_EXIT_OK;
	goto out;
oom:
	cli_error(c, "out of memory");
	ret = CLI_EXIT_ERROR;
out:
	rs_plan_free(plan);
	if (pc)
		PQfinish(pc);
	pg_conn_info_free(ci);
	if (sel_ok)
		rs_select_release(&sel);
	if (src_ok)
		rs_plan_source_release(&src);
	restore_input_release(&in);
	restore_progress_release(&rp);
	rs_log_release(&log);
	if (names.len)
		for (char **v = (char **)names.data; *v; v++)
			free(*v);
	buf_release(&names);
	buf_release(&err);
	buf_release(&out);
	return ret;
}

int cmd_restore(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "db", required_argument, NULL, RESTORE_OPT_DB },
		{ "env-file", required_argument, NULL, RESTORE_OPT_ENV_FILE },
		{ "at", required_argument, NULL, RESTORE_OPT_AT },
		{ "only", required_argument, NULL, RESTORE_OPT_ONLY },
		{ "schema", required_argument, NULL, RESTORE_OPT_SCHEMA },
		{ "table", required_argument, NULL, RESTORE_OPT_TABLE },
		{ "mode", required_argument, NULL, RESTORE_OPT_MODE },
		{ "on-conflict", required_argument, NULL, RESTORE_OPT_ON_CONFLICT },
		{ "dry-run", no_argument, NULL, RESTORE_OPT_DRY_RUN },
		{ "yes", no_argument, NULL, RESTORE_OPT_YES },
		{ "no-safety-snapshot", no_argument, NULL, RESTORE_OPT_NO_SAFETY },
		{ "drop-dependent-views", no_argument, NULL, RESTORE_OPT_DROP_VIEWS },
		{ "jobs", required_argument, NULL, RESTORE_OPT_JOBS },
		{ "json", no_argument, NULL, RESTORE_OPT_JSON },
		{ "verify", required_argument, NULL, RESTORE_OPT_VERIFY },
		CLI_GLOBAL_OPTIONS
	};
	struct restore_req q;
	struct buf schemas = BUF_INIT, tables = BUF_INIT, url = BUF_INIT,
		   err = BUF_INIT;
	struct repo *r = NULL;
	const char *env_file = NULL, *at = NULL;
	char *db = NULL, id[65];
	int64_t when = 0;
	int o, ret = CLI_EXIT_ERROR, on_conflict_set = 0;

	/* --only storage / functions: restore-sb.c */
	if (restore_sb_wanted(argc, argv))
		return restore_sb_cmd(c, argc, argv);

	memset(&q, 0, sizeof(q));
	q.mode = RS_MODE_EMPTY;
	q.on_conflict = RS_ON_CONFLICT_NOTHING;
	q.jobs = 1;
	q.safety = 1;
	q.what = "restore";
	while ((o = cli_getopt(c, argc, argv, "", opts)) != CLI_OPT_END) {
		switch (o) {
		case RESTORE_OPT_DB:
			db = optarg;
			break;
		case RESTORE_OPT_ENV_FILE:
			env_file = optarg;
			c->env_file = optarg;
			break;
		case RESTORE_OPT_AT:
			at = optarg;
			if (cli_time_parse(at, &when) < 0 || when <= 0) {
				ret = cli_usage_error(c, "--at: cannot read time '%s'", at);
				goto out;
			}
			break;
		case RESTORE_OPT_ONLY:
			if (rs_select_parse_only(optarg, &q.sel.only, &err) < 0) {
				ret = cli_usage_error(c, "--only: %s", (const char *)err.data);
				goto out;
			}
			break;
		case RESTORE_OPT_SCHEMA:
		case RESTORE_OPT_TABLE:
			if (!*optarg) {
				ret = cli_usage_error(c, "%s needs a non-empty pattern",
						      o == RESTORE_OPT_SCHEMA ? "--schema" : "--table");
				goto out;
			}
			if (restore_push(o == RESTORE_OPT_SCHEMA ? &schemas : &tables,
					 optarg) < 0)
				goto oom;
			break;
		case RESTORE_OPT_MODE:
			if (rs_plan_mode_parse(optarg, &q.mode) < 0) {
				ret = cli_usage_error(c, "--mode: '%s' is not empty, clean or merge", optarg);
				goto out;
			}
			break;
		case RESTORE_OPT_ON_CONFLICT:
			if (strcmp(optarg, "update") && strcmp(optarg, "nothing")) {
				ret = cli_usage_error(c, "--on-conflict: '%s' is not update (or nothing)", optarg);
				goto out;
			}
			q.on_conflict = strcmp(optarg, "update") ?
				RS_ON_CONFLICT_NOTHING : RS_ON_CONFLICT_UPDATE;
			on_conflict_set = 1;
			break;
		case RESTORE_OPT_DRY_RUN:
			q.dry_run = 1;
			break;
		case RESTORE_OPT_YES:
			q.yes = 1;
			break;
		case RESTORE_OPT_NO_SAFETY:
			q.safety = 0;
			break;
		case RESTORE_OPT_DROP_VIEWS:
			q.drop_views = 1;
			break;
		case RESTORE_OPT_JOBS:
			if (cli_parse_int(optarg, 1, 64, &q.jobs) < 0) {
				ret = cli_usage_error(c, "--jobs: '%s' is not a number from 1 to 64", optarg);
				goto out;
			}
			break;
		case RESTORE_OPT_JSON:
			q.json = 1;
			cli_json_stream(c);
			break;
		case RESTORE_OPT_VERIFY:
			if (rs_plan_verify_parse(optarg, &q.verify) < 0) {
				ret = cli_usage_error(c, "--verify: '%s' is not full (or streamed)", optarg);
				goto out;
			}
			break;
		case CLI_OPT_HELP:
			ret = CLI_EXIT_OK;
			goto out;
		default:
			ret = CLI_EXIT_USAGE;
			goto out;
		}
	}
	if (argc - optind != (at ? 0 : 1)) {
		ret = cli_usage_error(c, at ? "--at replaces SNAP: give one or the other" :
				      argc - optind < 1 ? "need a snapshot (an id, a prefix or 'latest')" :
				      "too many arguments");
		goto out;
	}
	if (on_conflict_set && q.mode != RS_MODE_MERGE) {
		ret = cli_usage_error(c, "--on-conflict only applies to --mode merge");
		goto out;
	}
	if (q.drop_views && q.mode != RS_MODE_CLEAN) {
		ret = cli_usage_error(c, "--drop-dependent-views only applies to --mode clean");
		goto out;
	}
	q.sel.schemas = schemas.len ? (const char *const *)schemas.data : NULL;
	q.sel.tables = tables.len ? (const char *const *)tables.data : NULL;
	ret = restore_db_url(c, db, env_file, &url);
	if (ret)
		goto out;
	ret = CLI_EXIT_ERROR;
	if (cli_open(c, &r, q.dry_run ? 0 : CLI_OPEN_WRITE | CLI_OPEN_READONLY_OK))
		goto out;
	/* A repository this process cannot write (a write-protected backup
	 * disk, a full one) is still a source: what needs writing into it
	 * is the safety snapshot, refused here before anything starts, and
	 * the restore log, which is then not kept. */
	if (c->readonly.len && q.safety && q.mode != RS_MODE_EMPTY) {
		cli_error(c, "%s: a %s restore first takes a safety snapshot into it; restore from a copy of the repository that can be written, or pass --no-safety-snapshot to go ahead without one (`vault rollback` cannot undo the restore then)",
			  (const char *)c->readonly.data,
			  q.mode == RS_MODE_CLEAN ? "clean" : "merge");
		goto out;
	}
	if (c->readonly.len)
		cli_warn(c, "%s: the log of this restore is not kept (`vault restores` will not list it)",
			 (const char *)c->readonly.data);
	if (restore_pick(c, r, at ? NULL : argv[optind], at, when, id))
		goto out;
	q.r = r;
	q.snap_id = id;
	if (at)
		q.snap_how = "the newest at or before --at, safety snapshots skipped";
	else if (!strcmp(argv[optind], "latest"))
		q.snap_how = "latest, safety snapshots skipped";
	q.url = (const char *)url.data;
	ret = restore_run(c, &q);
	goto out;
oom:
	cli_error(c, "out of memory");
	ret = CLI_EXIT_ERROR;
out:
	repo_free(r);
	buf_wipe(&url);
	buf_release(&url);
	buf_release(&schemas);
	buf_release(&tables);
	buf_release(&err);
	return ret;
}

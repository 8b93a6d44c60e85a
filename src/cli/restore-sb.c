/*
 * restore-sb: the verbs of the Storage and Edge Functions restore and
 * rollback (restore-sb.h): options, the project's settings, opening the
 * repository, which parts run, and keeping the restore log.  Running a
 * part and printing it is restore-sb-run.c's.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "repo.h"
#include "restore-sb-run.h"
#include "restore-sb.h"
#include "restores.h"
#include "sb-env.h"
#include "storage-log.h"
#include "strv.h"

int restore_sb_wanted(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		const char *v = NULL;

		if (!strcmp(argv[i], "--"))
			break;
		if (!strcmp(argv[i], "--only") && i + 1 < argc)
			v = argv[i + 1];
		else if (!strncmp(argv[i], "--only=", 7))
			v = argv[i] + 7;
		while (v && *v) {
			size_t n = strcspn(v, ",");

			if ((n == 7 && !strncmp(v, "storage", 7)) ||
			    (n == 9 && !strncmp(v, "functions", 9)))
				return 1;
			v += n + (v[n] == ',');
		}
	}
	return 0;
}

/* ---- options and settings ---------------------------------------------------- */

enum {
	RESTORE_SB_OPT_ONLY = CLI_OPT_FIRST_VERB + 0x40,
	RESTORE_SB_OPT_BUCKET,
	RESTORE_SB_OPT_PATH,
	RESTORE_SB_OPT_FUNCTION,
	RESTORE_SB_OPT_MODE,
	RESTORE_SB_OPT_DRY_RUN,
	RESTORE_SB_OPT_YES,
	RESTORE_SB_OPT_ENV_FILE,
	RESTORE_SB_OPT_STORAGE_URL,
	RESTORE_SB_OPT_NO_SAFETY,
	RESTORE_SB_OPT_RESTORE,
	RESTORE_SB_OPT_JSON,
	/* a database restore's: refused by name, not as unknown */
	RESTORE_SB_OPT_DB,
	RESTORE_SB_OPT_SCHEMA,
	RESTORE_SB_OPT_TABLE,
	RESTORE_SB_OPT_ON_CONFLICT,
	RESTORE_SB_OPT_JOBS,
};

struct restore_sb_args {
	int storage, functions, dry_run, yes, safety;
	enum storage_plan_mode mode;
	char **buckets, **paths, **fns;	/* strv */
	size_t nbuckets, npaths, nfns;
	const char *env_file, *storage_url, *restore;
};

/* --only's list into a. */
static int restore_sb_only(struct cli *c, const char *p,
			   struct restore_sb_args *a, int rollback)
{
	while (*p) {
		size_t n = strcspn(p, ",");

		if (n == 7 && !strncmp(p, "storage", 7))
			a->storage = 1;
		else if (n == 9 && !strncmp(p, "functions", 9))
			a->functions = 1;
		else
			return cli_usage_error(c, "--only: '%.*s' cannot be combined with %s (the database restore is a separate run)",
					       (int)n, p, rollback ? "a storage or functions rollback" : "storage or functions");
		p += n + (p[n] == ',');
	}
	return 0;
}

/* 0, -1 after --help, or an exit code (printed). */
static int restore_sb_parse(struct cli *c, int argc, char **argv,
			    struct restore_sb_args *a, int rollback)
{
	static const struct option opts[] = {
		{ "only", required_argument, NULL, RESTORE_SB_OPT_ONLY },
		{ "bucket", required_argument, NULL, RESTORE_SB_OPT_BUCKET },
		{ "path", required_argument, NULL, RESTORE_SB_OPT_PATH },
		{ "function", required_argument, NULL, RESTORE_SB_OPT_FUNCTION },
		{ "mode", required_argument, NULL, RESTORE_SB_OPT_MODE },
		{ "dry-run", no_argument, NULL, RESTORE_SB_OPT_DRY_RUN },
		{ "yes", no_argument, NULL, RESTORE_SB_OPT_YES },
		{ "env-file", required_argument, NULL, RESTORE_SB_OPT_ENV_FILE },
		{ "storage-url", required_argument, NULL, RESTORE_SB_OPT_STORAGE_URL },
		{ "no-safety-snapshot", no_argument, NULL, RESTORE_SB_OPT_NO_SAFETY },
		{ "restore", required_argument, NULL, RESTORE_SB_OPT_RESTORE },
		{ "json", no_argument, NULL, RESTORE_SB_OPT_JSON },
		{ "db", required_argument, NULL, RESTORE_SB_OPT_DB },
		{ "schema", required_argument, NULL, RESTORE_SB_OPT_SCHEMA },
		{ "table", required_argument, NULL, RESTORE_SB_OPT_TABLE },
		{ "on-conflict", required_argument, NULL, RESTORE_SB_OPT_ON_CONFLICT },
		{ "jobs", required_argument, NULL, RESTORE_SB_OPT_JOBS },
		CLI_GLOBAL_OPTIONS
	};
	static const char *const db_only[] = {
		"--db", "--schema", "--table", "--on-conflict", "--jobs",
	};
	int o, e;

	a->safety = 1;
	while ((o = cli_getopt(c, argc, argv, "", opts)) != CLI_OPT_END) {
		switch (o) {
		case RESTORE_SB_OPT_ONLY:
			if ((e = restore_sb_only(c, optarg, a, rollback)))
				return e;
			break;
		case RESTORE_SB_OPT_BUCKET:
		case RESTORE_SB_OPT_PATH:
		case RESTORE_SB_OPT_FUNCTION:
			if (!*optarg)
				return cli_usage_error(c, "an empty --bucket, --path or --function");
			if ((o == RESTORE_SB_OPT_BUCKET ?
			     strv_push(&a->buckets, &a->nbuckets, optarg) :
			     o == RESTORE_SB_OPT_PATH ?
			     strv_push(&a->paths, &a->npaths, optarg) :
			     strv_push(&a->fns, &a->nfns, optarg)) < 0) {
				cli_error(c, "out of memory");
				return CLI_EXIT_ERROR;
			}
			break;
		case RESTORE_SB_OPT_MODE:
			if (!strcmp(optarg, "merge"))
				a->mode = STORAGE_PLAN_MERGE;
			else if (!strcmp(optarg, "mirror"))
				a->mode = STORAGE_PLAN_MIRROR;
			else if (!strcmp(optarg, "empty"))
				a->mode = STORAGE_PLAN_EMPTY;
			else
				return cli_usage_error(c, "--mode: '%s' is not merge, mirror or empty (storage)", optarg);
			break;
		case RESTORE_SB_OPT_DRY_RUN:
			a->dry_run = 1;
			break;
		case RESTORE_SB_OPT_YES:
			a->yes = 1;
			break;
		case RESTORE_SB_OPT_ENV_FILE:
			a->env_file = optarg;
			c->env_file = optarg;
			break;
		case RESTORE_SB_OPT_STORAGE_URL:
			a->storage_url = optarg;
			break;
		case RESTORE_SB_OPT_NO_SAFETY:
			a->safety = 0;
			break;
		case RESTORE_SB_OPT_RESTORE:
			a->restore = optarg;
			break;
		case RESTORE_SB_OPT_JSON:
			/* the stream only: what these print stays text */
			cli_json_stream(c);
			break;
		case RESTORE_SB_OPT_DB:
		case RESTORE_SB_OPT_SCHEMA:
		case RESTORE_SB_OPT_TABLE:
		case RESTORE_SB_OPT_ON_CONFLICT:
		case RESTORE_SB_OPT_JOBS:
			return cli_usage_error(c, "%s is for a database %s; --only storage and functions select with --bucket, --path and --function (the database is restored by a separate `vault %s` without --only storage or functions)",
					       db_only[o - RESTORE_SB_OPT_DB],
					       rollback ? "rollback" : "restore",
					       rollback ? "rollback" : "restore");
		case CLI_OPT_HELP:
			return -1;
		default:
			return CLI_EXIT_USAGE;
		}
	}
	if (rollback && (a->nbuckets || a->npaths || a->nfns))
		return cli_usage_error(c, "a storage rollback takes no --bucket, --path or --function");
	if ((a->nbuckets || a->npaths) && !a->storage)
		return cli_usage_error(c, "--bucket and --path need --only storage");
	if (a->nfns && !a->functions)
		return cli_usage_error(c, "--function needs --only functions");
	return 0;
}

static void restore_sb_args_release(struct restore_sb_args *a)
{
	strv_free(a->buckets, a->nbuckets);
	strv_free(a->paths, a->npaths);
	strv_free(a->fns, a->nfns);
}

static int restore_sb_env(struct cli *c, const struct restore_sb_args *a,
			  struct sb_env *env)
{
	struct sb_env_opts eo = { a->env_file, a->storage_url, 0 };
	struct buf err = BUF_INIT;
	int e = sb_env_load(env, &eo, &err);

	if (e < 0) {
		cli_error(c, "%s", err.len ? (const char *)err.data : strerror(-e));
		buf_release(&err);
		return CLI_EXIT_ERROR;
	}
	buf_release(&err);
	if (a->storage && !sb_env_has_storage(env)) {
		sb_env_release(env);
		return cli_usage_error(c, "a storage restore needs SUPABASE_URL (or --storage-url) and SUPABASE_SERVICE_ROLE_KEY (environment, .env or --env-file)");
	}
	if (a->functions && !sb_env_has_functions(env)) {
		sb_env_release(env);
		return cli_usage_error(c, "a functions restore needs SUPABASE_ACCESS_TOKEN and SUPABASE_PROJECT_REF (environment, .env or --env-file)");
	}
	/* the same warning as vault snapshot: the keys write the project */
	if (env->env_file && env->env_file_exposed)
		cli_warn(c, "%s holds Supabase keys but is readable by group or others (chmod 600 %s)",
			 env->env_file, env->env_file);
	return 0;
}

/* The Storage plan's options for the Storage part of a. */
static void restore_sb_plan_opts(struct storage_plan_opts *so,
				 const struct restore_sb_args *a)
{
	const char *v = getenv("VAULT_HTTP_BACKOFF_MS");
	int ms;

	memset(so, 0, sizeof(*so));
	so->mode = a->mode;
	so->buckets = (const char *const *)a->buckets;
	so->nbuckets = a->nbuckets;
	so->paths = (const char *const *)a->paths;
	so->npaths = a->npaths;
	/* the tests' knob for quick retries */
	if (v && *v && cli_parse_int(v, 1, 60000, &ms) == 0)
		so->backoff_ms = (unsigned)ms;
}

/* ---- the restore log ----------------------------------------------------------- */

/* A new restore id (store/restores.c keeps them in creation order);
 * 0, or -1 after saying why. */
static int restore_sb_new_id(struct cli *c, struct repo *r, char *rid)
{
	struct buf err = BUF_INIT;
	int e = repo_restore_new_id(r, (int64_t)time(NULL), rid, &err);

	if (e < 0)
		cli_fail(c, e, &err, "cannot pick a restore id");
	buf_release(&err);
	return e < 0 ? -1 : 0;
}

/* Keeps the log of run (status from ret, started at t0), printing a
 * failure to; the exit code. */
static int restore_sb_keep_log(struct restore_sb_run *run, const char *what,
			       const char *snap_id, enum storage_plan_mode mode,
			       int ret, int64_t t0)
{
	struct storage_log l = {
		run->rid, what, t0, snap_id, run->env->storage_url, mode,
		run->safety_id[0] ? run->safety_id : NULL, run->rollback_of,
		&run->storage, &run->functions, ret == CLI_EXIT_OK
	};
	struct buf doc = BUF_INIT, err = BUF_INIT;
	int r = storage_log_doc(&doc, &l);

	if (r == 0)
		r = repo_restore_put(run->r, run->rid, doc.data, doc.len, &err);
	if (r < 0)
		cli_fail(run->c, r, &err, "cannot keep the restore log");
	else if (!cli_quiet(run->c))
		printf("%s %s into %s\n", what, run->rid, run->env->storage_url);
	buf_release(&doc);
	buf_release(&err);
	return r < 0 ? CLI_EXIT_ERROR : ret;
}

/* ---- restore ---------------------------------------------------------------- */

int restore_sb_cmd(struct cli *c, int argc, char **argv)
{
	struct restore_sb_args a;
	struct restore_sb_run run;
	struct sb_env env;
	struct repo *r = NULL;
	char id[65], rid[REPO_RESTORE_ID_SIZE];
	int64_t t0 = (int64_t)time(NULL);
	int ret, changed = 0, have_env = 0;

	memset(&a, 0, sizeof(a));
	restore_sb_run_init(&run);
	ret = restore_sb_parse(c, argc, argv, &a, 0);
	if (ret) {
		ret = ret < 0 ? CLI_EXIT_OK : ret;
		goto out;
	}
	if (argc - optind != 1) {
		ret = cli_usage_error(c, argc - optind < 1 ?
				      "need a snapshot (an id, a prefix or 'latest')" :
				      "too many arguments");
		goto out;
	}
	ret = restore_sb_env(c, &a, &env);
	if (ret)
		goto out;
	have_env = 1;
	ret = CLI_EXIT_ERROR;
	if (cli_open(c, &r, a.dry_run ? 0 : CLI_OPEN_WRITE) ||
	    cli_resolve(c, r, argv[optind], id))
		goto out;
	if (restore_sb_new_id(c, r, rid))
		goto out;
	run.c = c;
	run.r = r;
	run.env = &env;
	run.rid = rid;
	run.dry_run = a.dry_run;
	run.yes = a.yes;
	ret = CLI_EXIT_OK;
	if (a.storage) {
		struct storage_plan_opts so;

		restore_sb_plan_opts(&so, &a);
		so.snap_id = id;
		so.safety = a.safety;
		ret = restore_sb_run_storage(&run, &so);
		changed = run.changed;
	}
	if (ret == CLI_EXIT_OK && a.functions) {
		struct restore_functions_opts fo;

		changed |= !a.dry_run;
		memset(&fo, 0, sizeof(fo));
		fo.slugs = (const char *const *)a.fns;
		fo.nslugs = a.nfns;
		fo.safety = a.safety;
		fo.rid = rid;
		fo.source = env.api_url;
		ret = restore_sb_run_functions(&run, id, &fo);
	}
	if (a.dry_run && ret == CLI_EXIT_OK)
		printf("dry run: nothing was changed\n");
	if (!a.dry_run && (changed || run.storage.len))
		ret = restore_sb_keep_log(&run, "restore", id, a.mode, ret, t0);
out:
	restore_sb_run_release(&run);
	repo_free(r);
	if (have_env)
		sb_env_release(&env);
	restore_sb_args_release(&a);
	return ret;
}

/* ---- rollback ------------------------------------------------------------------ */

/* Says why restore log id could not be read (e from storage-log). */
static int restore_sb_undo_error(struct cli *c, int e, const char *id)
{
	if (e == -EBADMSG)
		cli_error(c, "restore log %s is damaged", id);
	else
		cli_error(c, "out of memory");
	return CLI_EXIT_ERROR;
}

/* Finds and reads the restore to undo into u: 0 or an exit code
 * (printed). */
static int restore_sb_undo(struct cli *c, struct repo *r,
			   const struct restore_sb_args *a,
			   const struct sb_env *env, struct storage_log_undo *u)
{
	struct buf err = BUF_INIT;
	int e = storage_log_find(r, env->storage_url, a->restore, a->storage,
				 a->functions, u, &err);

	if (e < 0) {
		cli_fail(c, e, &err, "cannot read the restore logs");
		buf_release(&err);
		return CLI_EXIT_ERROR;
	}
	buf_release(&err);
	if (!u->id[0]) {
		cli_error(c, a->restore ? "restore %s is not a storage or functions restore into %s" :
			  "no storage or functions restore into %s to roll back%s",
			  a->restore ? a->restore : env->storage_url,
			  a->restore ? env->storage_url : "");
		return CLI_EXIT_ERROR;
	}
	e = storage_log_undo_read(u, a->storage, a->functions,
				  sb_env_has_functions(env));
	return e < 0 ? restore_sb_undo_error(c, e, u->id) : 0;
}

int restore_sb_rollback(struct cli *c, int argc, char **argv)
{
	static const char *const none[] = { "", NULL };
	struct restore_sb_args a;
	struct restore_sb_run run;
	struct storage_log_undo u;
	struct sb_env env;
	struct repo *r = NULL;
	char rid[REPO_RESTORE_ID_SIZE];
	const char *snap_id, **drop = NULL;
	int64_t t0 = (int64_t)time(NULL);
	int ret, changed = 0, have_env = 0;

	memset(&a, 0, sizeof(a));
	memset(&u, 0, sizeof(u));
	restore_sb_run_init(&run);
	ret = restore_sb_parse(c, argc, argv, &a, 1);
	if (ret) {
		ret = ret < 0 ? CLI_EXIT_OK : ret;
		goto out;
	}
	if (argc != optind) {
		ret = cli_usage_error(c, "too many arguments");
		goto out;
	}
	ret = restore_sb_env(c, &a, &env);
	if (ret)
		goto out;
	have_env = 1;
	ret = CLI_EXIT_ERROR;
	if (cli_open(c, &r, a.dry_run ? 0 : CLI_OPEN_WRITE) ||
	    restore_sb_undo(c, r, &a, &env, &u) ||
	    restore_sb_new_id(c, r, rid))
		goto out;
	run.c = c;
	run.r = r;
	run.env = &env;
	run.rid = rid;
	run.rollback_of = u.id;
	run.dry_run = a.dry_run;
	run.yes = a.yes;
	snap_id = u.snapshot;
	if (!u.safety && !u.nadded && (!u.functions || (!u.fn_safety &&
							!u.fn_created))) {
		if (!cli_quiet(c))
			printf("restore %s changed nothing that a rollback could undo\n", u.id);
		ret = CLI_EXIT_OK;
		goto out;
	}
	ret = CLI_EXIT_OK;
	if (u.safety || u.nadded) {
		struct storage_plan_opts so;

		/* the safety snapshot's objects come back and the additions
		 * go; when nothing was overwritten, only the additions go */
		restore_sb_plan_opts(&so, &a);
		so.mode = STORAGE_PLAN_MERGE;
		if (u.safety) {
			snap_id = u.safety;
		} else {
			so.paths = none;	/* matches no object name */
			so.npaths = 1;
		}
		so.snap_id = snap_id;
		so.extra_del = u.added;
		so.nextra = u.nadded;
		ret = restore_sb_run_storage(&run, &so);
		changed = run.changed;
	}
	/* functions: the overwritten ones come back, the created ones go */
	if (ret == CLI_EXIT_OK && u.functions) {
		struct restore_functions_opts fo;
		int e = storage_log_undo_created(&u, &drop);

		if (e < 0) {
			ret = restore_sb_undo_error(c, e, u.id);
			goto out;
		}
		memset(&fo, 0, sizeof(fo));
		fo.rollback = 1;
		fo.drop = drop;
		fo.ndrop = u.fn_created;
		changed |= !a.dry_run;
		ret = restore_sb_run_functions(&run, u.fn_safety, &fo);
	}
	if (a.dry_run && ret == CLI_EXIT_OK)
		printf("dry run: nothing was changed\n");
	if (!a.dry_run && (changed || run.storage.len || run.functions.len))
		ret = restore_sb_keep_log(&run, "rollback", snap_id,
					  STORAGE_PLAN_MERGE, ret, t0);
out:
	free(drop);
	restore_sb_run_release(&run);
	storage_log_undo_release(&u);
	repo_free(r);
	if (have_env)
		sb_env_release(&env);
	restore_sb_args_release(&a);
	return ret;
}

/*
 * cmd-rollback: `vault rollback [--db URL] [--restore ID] [--yes]`
 * makes the objects a restore changed equal to its safety snapshot
 * again: a clean-mode restore, by name, of exactly the tables that
 * snapshot captured.  Without --restore it undoes the most recent
 * restore into the same database (same masked target) that has a
 * safety snapshot.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg-conn.h"
#include "repo.h"
#include "restore-repo.h"
#include "restore-storage.h"
#include "restores.h"
#include "sb-json.h"

const char cmd_rollback_usage[] =
	"usage: vault rollback [--db URL] [--restore ID] [--yes] [--dry-run]\n"
	"\n"
	"Undoes a clean or merge restore: the tables it changed are made equal\n"
	"to the safety snapshot taken just before it (a clean restore of those\n"
	"tables, in one transaction), the tables it created are dropped\n"
	"(publication memberships are kept) and the large objects it created\n"
	"are unlinked.  Without --restore, the most recent restore into that\n"
	"database is undone (see `vault restores`).\n"
	"\n"
	"      --db URL            the database (else --env-file, $VAULT_DB_URL,\n"
	"                          $SUPABASE_DB_URL or ./.env)\n"
	"      --env-file FILE     read VAULT_DB_URL / SUPABASE_DB_URL from FILE\n"
	"      --restore ID        the restore to undo\n"
	"      --yes               do not ask (required when not on a terminal)\n"
	"      --dry-run           print the plan, change nothing\n"
	"      --json              print the rollback's log as JSON\n"
	"  -h, --help              show this help\n";

enum {
	ROLLBACK_OPT_DB = CLI_OPT_FIRST_VERB,
	ROLLBACK_OPT_ENV_FILE,
	ROLLBACK_OPT_RESTORE,
	ROLLBACK_OPT_YES,
	ROLLBACK_OPT_DRY_RUN,
	ROLLBACK_OPT_JSON,
};

struct rollback_find {
	const char *target;		/* masked description */
	const char *want;		/* --restore, or NULL */
	char id[REPO_RESTORE_ID_SIZE];
	char safety[65];
	char other[128];		/* --restore: its target, if different */
	int found_no_safety;
	struct buf created;		/* its created tables: schema NUL
					 * name NUL ... */
	uint32_t *los;			/* its created large objects */
	size_t nlos;
	int oom;
};

/* Notes the tables restore log j says the restore created. */
static int rollback_created(struct rollback_find *f, const struct sb_json *j)
{
	const struct sb_json *ts = sb_json_get(j, "tables");
	const struct sb_json *los = sb_json_get(j, "large_objects_created");

	buf_reset(&f->created);
	for (size_t i = 0; ts && i < sb_json_len(ts); i++) {
		const struct sb_json *t = sb_json_at(ts, i);
		const char *sch = sb_json_get_str(t, "schema");
		const char *nm = sb_json_get_str(t, "name");

		if (!sch || !nm || sb_json_bool(sb_json_get(t, "created")) != 1)
			continue;
		if (buf_add(&f->created, sch, strlen(sch) + 1) < 0 ||
		    buf_add(&f->created, nm, strlen(nm) + 1) < 0)
			return -ENOMEM;
	}
	/* and the large objects it created (rs-lo), unlinked too */
	free(f->los);
	f->los = NULL;
	f->nlos = 0;
	if (sb_json_len(los)) {
		f->los = calloc(sb_json_len(los), sizeof(*f->los));
		if (!f->los)
			return -ENOMEM;
	}
	for (size_t i = 0; i < sb_json_len(los); i++) {
		int64_t v;

		if (sb_json_int(sb_json_at(los, i), &v) == 0 && v > 0 &&
		    v <= (int64_t)UINT32_MAX)
			f->los[f->nlos++] = (uint32_t)v;
	}
	return 0;
}

static int rollback_scan(void *ctx, const char *id, const char *doc,
			 size_t n)
{
	struct rollback_find *f = ctx;
	struct sb_json *j = NULL;
	const char *s, *t, *st;

	if (f->want && strcmp(f->want, id))
		return 0;
	if (sb_json_parse(&j, doc, n, NULL) < 0)
		return 0;
	s = sb_json_get_str(j, "safety_snapshot");
	t = sb_json_get_str(j, "target");
	st = sb_json_get_str(j, "status");
	if (f->want || (t && !strcmp(t, f->target))) {
		if (f->want && t && strcmp(t, f->target))
			snprintf(f->other, sizeof(f->other), "%s", t);
		if (s && strlen(s) == 64 && st && !strcmp(st, "ok")) {
			snprintf(f->id, sizeof(f->id), "%s", id);
			snprintf(f->safety, sizeof(f->safety), "%s", s);
			f->found_no_safety = 0;
			if (rollback_created(f, j) < 0)
				f->oom = 1;
		} else if (f->want) {
			f->found_no_safety = 1;
		}
	}
	sb_json_free(j);
	return 0;
}

int cmd_rollback(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "db", required_argument, NULL, ROLLBACK_OPT_DB },
		{ "env-file", required_argument, NULL, ROLLBACK_OPT_ENV_FILE },
		{ "restore", required_argument, NULL, ROLLBACK_OPT_RESTORE },
		{ "yes", no_argument, NULL, ROLLBACK_OPT_YES },
		{ "dry-run", no_argument, NULL, ROLLBACK_OPT_DRY_RUN },
		{ "json", no_argument, NULL, ROLLBACK_OPT_JSON },
		CLI_GLOBAL_OPTIONS
	};
	struct restore_req q;
	struct rollback_find f;
	struct pg_conn_info *ci = NULL;
	struct buf url = BUF_INIT, err = BUF_INIT;
	struct repo *r = NULL;
	const char *env_file = NULL;
	const char **drops = NULL;
	char *db = NULL;
	int o, e, ret = CLI_EXIT_ERROR;

	/* --only storage / functions: src/restore-storage.c (hook) */
	if (restore_storage_wanted(argc, argv))
		return restore_storage_rollback(c, argc, argv);

	memset(&q, 0, sizeof(q));
	memset(&f, 0, sizeof(f));
	buf_init(&f.created, 0);
	while ((o = cli_getopt(c, argc, argv, "", opts)) != CLI_OPT_END) {
		switch (o) {
		case ROLLBACK_OPT_DB:
			db = optarg;
			break;
		case ROLLBACK_OPT_ENV_FILE:
			env_file = optarg;
			break;
		case ROLLBACK_OPT_RESTORE:
			f.want = optarg;
			break;
		case ROLLBACK_OPT_YES:
			q.yes = 1;
			break;
		case ROLLBACK_OPT_DRY_RUN:
			q.dry_run = 1;
			break;
		case ROLLBACK_OPT_JSON:
			q.json = 1;
			break;
		case CLI_OPT_HELP:
			ret = CLI_EXIT_OK;
			goto out;
		default:
			ret = CLI_EXIT_USAGE;
			goto out;
		}
	}
	if (optind != argc) {
		ret = cli_usage_error(c, "too many arguments");
		goto out;
	}
	ret = restore_db_url(c, db, env_file, &url);
	if (ret)
		goto out;
	ret = CLI_EXIT_ERROR;
	e = pg_conn_info_parse(&ci, (const char *)url.data, &err);
	if (e < 0) {
		cli_fail(c, e, &err, "bad database URL");
		goto out;
	}
	f.target = pg_conn_info_describe(ci);
	if (cli_open(c, &r, q.dry_run ? 0 : CLI_OPEN_WRITE))
		goto out;
	e = repo_restore_list(r, rollback_scan, &f, &err);
	if (e < 0) {
		cli_fail(c, e, &err, "cannot read the restore logs");
		goto out;
	}
	if (!f.id[0]) {
		if (f.want && f.found_no_safety)
			cli_error(c, "restore %s has no safety snapshot (or did not succeed): nothing to roll back to",
				  f.want);
		else if (f.want)
			cli_error(c, "no restore '%s' (see `vault restores`)", f.want);
		else
			cli_error(c, "no restore into %s with a safety snapshot to roll back to (see `vault restores`)",
				  f.target);
		goto out;
	}
	if (f.oom)
		goto oom;
	if (f.created.len) {
		/* the created tables, as a NULL-terminated vector of
		 * schema, name pairs pointing into f.created */
		size_t n = 0, k = 0;

		for (size_t i = 0; i < f.created.len; i++)
			n += !f.created.data[i];
		drops = calloc(n + 1, sizeof(*drops));
		if (!drops)
			goto oom;
		for (size_t i = 0; i < f.created.len;
		     i += strlen((char *)f.created.data + i) + 1)
			drops[k++] = (const char *)f.created.data + i;
		q.drop_tables = drops;
	}
	q.unlink_los = f.los;
	q.nunlink_los = f.nlos;
	if (f.other[0])
		cli_warn(c, "restore %s went into %s, rolling back %s", f.id,
			 f.other, f.target);
	q.r = r;
	q.snap_id = f.safety;
	q.url = (const char *)url.data;
	q.mode = RS_MODE_CLEAN;
	q.on_conflict = RS_ON_CONFLICT_NOTHING;
	q.jobs = 1;
	q.safety = 0;
	q.what = "rollback";
	q.rollback_of = f.id;
	q.every_table = 1;
	ret = restore_run(c, &q);
	goto out;
oom:
	cli_error(c, "out of memory");
	ret = CLI_EXIT_ERROR;
out:
	free(drops);
	free(f.los);
	buf_release(&f.created);
	pg_conn_info_free(ci);
	repo_free(r);
	buf_wipe(&url);
	buf_release(&err);
	return ret;
}

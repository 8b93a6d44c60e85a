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
#include <time.h>

#include "cli-progress.h"
#include "pg-conn.h"
#include "repo.h"
#include "restore-repo.h"
#include "restore-sb.h"
#include "restores.h"
#include "rs-lo.h"
#include "rs-undo.h"
#include "json.h"

const char cmd_rollback_usage[] =
	"usage: vault rollback [--db URL] [--restore ID] [--yes] [--dry-run]\n"
	"       vault rollback --only storage[,functions] [--restore ID] [--yes] [--dry-run]\n"
	"                      [--json]\n"
	"\n"
	"Undoes a restore.  A clean or merge restore: the tables it changed are\n"
	"made equal to the safety snapshot taken just before it (a clean restore\n"
	"of those tables, in one transaction), the tables it created are dropped\n"
	"(publication memberships are kept) and the large objects it created\n"
	"are unlinked.  An empty restore: everything it created is dropped and\n"
	"what it changed in objects that existed (grants and comments on schema\n"
	"public, default privileges...) is put back, in one transaction, unless\n"
	"something it did not create depends on it (a view on a restored table)\n"
	"or was changed since.  Without --restore, the most recent\n"
	"successful restore into that database is undone (see `vault restores`),\n"
	"once.\n"
	"\n"
	"      --db URL            the database (else --env-file, $VAULT_DB_URL,\n"
	"                          $SUPABASE_DB_URL or ./.env)\n"
	"      --env-file FILE     read VAULT_DB_URL / SUPABASE_DB_URL from FILE\n"
	"      --restore ID        the restore to undo\n"
	"      --yes               do not ask (required when not on a terminal)\n"
	"      --dry-run           print the plan, change nothing\n"
	"      --json              print the rollback's log as JSON, and progress\n"
	"                          as JSON lines on stderr\n"
	"      --only storage[,functions]\n"
	"                          undo a Storage (and Edge Functions) restore\n"
	"                          instead, from its safety snapshot (see\n"
	"                          `vault rollback --only storage --help`)\n"
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
	char id[REPO_RESTORE_ID_SIZE];	/* the restore to undo */
	char safety[65];		/* its safety snapshot */
	struct buf doc;			/* its log */
	char other[128];		/* --restore: its target, if different */
	struct buf undone;		/* "<restore id> <rollback id>\n" for
					 * each successful rollback seen */
	struct buf created;		/* its created tables: schema NUL
					 * name NUL ... */
	uint32_t *los;			/* its created large objects */
	size_t nlos;
	int oom;
};

/* Notes the tables restore log j says the restore created. */
static int rollback_created(struct rollback_find *f, const struct json *j)
{
	const struct json *ts = json_get(j, "tables");
	const struct json *los = json_get(j, "large_objects_created");

	buf_reset(&f->created);
	for (size_t i = 0; ts && i < json_len(ts); i++) {
		const struct json *t = json_at(ts, i);
		const char *sch = json_get_str(t, "schema");
		const char *nm = json_get_str(t, "name");

		if (!sch || !nm || json_bool(json_get(t, "created")) != 1)
			continue;
		if (buf_add(&f->created, sch, strlen(sch) + 1) < 0 ||
		    buf_add(&f->created, nm, strlen(nm) + 1) < 0)
			return -ENOMEM;
	}
	/* and the large objects it created (rs-lo), unlinked too */
	free(f->los);
	f->los = NULL;
	f->nlos = 0;
	if (json_len(los)) {
		f->los = calloc(json_len(los), sizeof(*f->los));
		if (!f->los)
			return -ENOMEM;
	}
	for (size_t i = 0; i < json_len(los); i++) {
		int64_t v;

		if (json_int(json_at(los, i), &v) == 0 && v > 0 &&
		    v <= (int64_t)UINT32_MAX)
			f->los[f->nlos++] = (uint32_t)v;
	}
	return 0;
}

/*
 * Logs come oldest first.  Remembers the newest successful database
 * restore into the target (or the one --restore names) that is not
 * itself a rollback, and which restores successful rollbacks undid.
 */
static int rollback_scan(void *ctx, const char *id, const char *doc,
			 size_t n)
{
	struct rollback_find *f = ctx;
	struct json *j = NULL;
	const char *t, *st, *of, *kind;

	if (json_parse(&j, doc, n, NULL) < 0)
		return 0;
	t = json_get_str(j, "target");
	st = json_get_str(j, "status");
	of = json_get_str(j, "rollback_of");
	kind = json_get_str(j, "kind");
	if (of && st && !strcmp(st, "ok")) {
		if (buf_addf(&f->undone, "%s %s\n", of, id) < 0)
			f->oom = 1;
	} else if (f->want ? !strcmp(f->want, id) :
		   (t && !strcmp(t, f->target) && st && !strcmp(st, "ok") &&
		    !of && !kind)) {
		snprintf(f->id, sizeof(f->id), "%s", id);
		f->other[0] = 0;
		if (f->want && t && strcmp(t, f->target))
			snprintf(f->other, sizeof(f->other), "%s", t);
		buf_reset(&f->doc);
		if (buf_add(&f->doc, doc, n) < 0)
			f->oom = 1;
	}
	json_free(j);
	return 0;
}

/* The id of the rollback that undid restore id, or NULL. */
static const char *rollback_undone_by(const struct rollback_find *f, const char *id,
				      char out[REPO_RESTORE_ID_SIZE])
{
	const char *p = (const char *)f->undone.data;
	size_t len = strlen(id);

	for (const char *nl; p && (nl = strchr(p, '\n')); p = nl + 1)
		if (!strncmp(p, id, len) && p[len] == ' ') {
			snprintf(out, REPO_RESTORE_ID_SIZE, "%.*s", (int)(nl - p - len - 1),
				 p + len + 1);
			return out;
		}
	return NULL;
}

/* A string array of the log as a NULL-terminated vector pointing into
 * the document (n gets its length); NULL when absent or not strings. */
static const char **rollback_strv(const struct json *a, size_t *n)
{
	const char **v;

	*n = json_len(a);
	v = calloc(*n + 1, sizeof(*v));
	for (size_t i = 0; v && i < *n; i++)
		if (!(v[i] = json_str(json_at(a, i), NULL))) {
			free(v);
			return NULL;
		}
	return v;
}

/*
 * Undoes an empty-mode restore: the large objects it created unlinked,
 * then the statements its log holds (reverts and drops), in one
 * transaction, refused when anything the restore did not create would go
 * with them or was changed since (rs_undo_rollback).  Logged like a
 * restore.
 */
static int rollback_empty(struct cli *c, struct repo *r, const struct rollback_find *f,
			  const struct json *j, const struct pg_conn_info *ci,
			  const char *url, int yes, int dry_run, int json)
{
	const struct json *rb = json_get(j, "rollback");
	const char **stmts = NULL, **created = NULL, **changed = NULL;
	size_t nstmts = 0, ncreated = 0, nchanged = 0;
	struct buf err = BUF_INIT, why = BUF_INIT, out = BUF_INIT;
	struct cli_phase *ph;
	struct rs_log log;
	char rid[REPO_RESTORE_ID_SIZE];
	PGconn *pc = NULL;
	int e, ret = CLI_EXIT_ERROR;

	rs_log_init(&log);
	stmts = rollback_strv(json_get(rb, "statements"), &nstmts);
	created = rollback_strv(json_get(rb, "created"), &ncreated);
	/* what it changed in objects that existed: older logs have none */
	changed = rollback_strv(json_get(rb, "changed"), &nchanged);
	if (!stmts || !created || !changed || !nstmts) {
		cli_error(c, "restore %s: its log's rollback statements are unreadable", f->id);
		goto out;
	}
	/* -q: the plan is printed only when it is what was asked for */
	if (!json && (dry_run || !cli_quiet(c))) {
		printf("Rollback of restore %s (mode empty): drop what it created\n", f->id);
		for (size_t i = 0; i < nstmts; i++)
			printf("  %s\n", stmts[i]);
		for (size_t i = 0; i < f->nlos; i++)
			printf("  unlink large object %u\n", f->los[i]);
	}
	if (dry_run) {
		if (!json)
			printf("dry run: nothing was changed\n");
		ret = CLI_EXIT_OK;
		goto out;
	}
	e = pg_conn_open(&pc, ci, NULL, &err);
	if (e < 0) {
		cli_fail(c, e, &err, "cannot connect to the target");
		goto out;
	}
	ret = restore_confirm(c, yes, "rollback", PQdb(pc));
	if (ret)
		goto out;
	ret = CLI_EXIT_ERROR;
	e = repo_restore_new_id(r, (int64_t)time(NULL), rid, &err);
	if (e == 0)
		e = rs_log_target(&log, url, &err);
	if (e == 0)
		e = rs_log_set(&log.mode, "rollback");
	if (e == 0)
		e = rs_log_set(&log.rollback_of, f->id);
	if (e == 0)
		e = rs_log_set(&log.strategy, "one transaction: the DROP statements the restore's log holds, refused if anything it did not create would go with them");
	if (e < 0) {
		cli_fail(c, e, &err, "cannot start the rollback");
		goto out;
	}
	/* one call does it all: the phase shows that it runs, and how long */
	ph = cli_progress_phase(cli_progress_of(c), "rollback", "statements");
	cli_phase_total(ph, 0, nstmts, 1);
	cli_phase_start(ph);
	/* search_path '': the objects named in a refusal come qualified */
	e = pg_conn_exec(pc, "SET client_min_messages = warning", "session setup", &err);
	if (e == 0)
		e = pg_conn_exec(pc, "SET search_path = ''", "session setup", &err);
	if (e == 0)
		e = pg_conn_exec(pc, "BEGIN", "starting the rollback", &err);
	/* the large objects it created first, as the restore rehearsed it:
	 * with them go their comments, and what their owners would keep */
	if (e == 0 && f->nlos) {
		size_t gone = 0;

		e = rs_lo_unlink(pc, f->los, f->nlos, &gone, &err);
		log.lo = 1;
		log.lo_unlinked = gone;
	}
	if (e == 0)
		e = rs_undo_rollback(pc, stmts, nstmts, created, ncreated, changed, nchanged,
				     &why, &err);
	if (e == 1) {
		buf_reset(&err);
		buf_add(&err, why.data, why.len);
		e = -EEXIST;
	}
	if (e == 0)
		e = pg_conn_exec(pc, "COMMIT", "committing the rollback", &err);
	if (e == 0)
		cli_phase_set(ph, 0, nstmts);
	cli_phase_stop(ph);
	if (e < 0 && PQstatus(pc) == CONNECTION_OK &&
	    PQtransactionStatus(pc) != PQTRANS_IDLE)
		PQclear(PQexec(pc, "ROLLBACK"));
	rs_log_finish(&log, e < 0 ? (e == -EEXIST ? "refused" : "failed") : "ok",
		      e < 0 ? (char *)err.data : NULL);
	{
		int pe = restore_log_keep(c, r, &log, rid, &out);

		if (pe == -ENOMEM) {
			cli_error(c, "out of memory");
			goto out;
		}
		if (pe < 0 && e == 0)
			e = pe;
	}
	if (json)
		cli_write_all(1, out.data, out.len);
	if (e < 0) {
		cli_error(c, "rollback of restore %s failed, the target was left unchanged: %s",
			  f->id, err.len ? (char *)err.data : strerror(-e));
		goto out;
	}
	if (!json && !cli_quiet(c))
		printf("rollback %s: restore %s undone, %zu statement%s\n", rid, f->id,
		       nstmts, nstmts == 1 ? "" : "s");
	ret = CLI_EXIT_OK;
out:
	if (pc)
		PQfinish(pc);
	free(stmts);
	free(created);
	free(changed);
	rs_log_release(&log);
	buf_release(&err);
	buf_release(&why);
	buf_release(&out);
	return ret;
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
	struct json *j = NULL;
	char by[REPO_RESTORE_ID_SIZE];
	char *db = NULL;
	int o, e, ret = CLI_EXIT_ERROR;

	/* --only storage / functions: restore-sb.c */
	if (restore_sb_wanted(argc, argv))
		return restore_sb_rollback(c, argc, argv);

	memset(&q, 0, sizeof(q));
	memset(&f, 0, sizeof(f));
	buf_init(&f.created, 0);
	buf_init(&f.doc, 0);
	buf_init(&f.undone, 0);
	while ((o = cli_getopt(c, argc, argv, "", opts)) != CLI_OPT_END) {
		switch (o) {
		case ROLLBACK_OPT_DB:
			db = optarg;
			break;
		case ROLLBACK_OPT_ENV_FILE:
			env_file = optarg;
			c->env_file = optarg;
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
			cli_json_stream(c);
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
	if (f.oom)
		goto oom;
	if (!f.id[0]) {
		if (f.want)
			cli_error(c, "no restore '%s' (see `vault restores`)", f.want);
		else
			cli_error(c, "no successful restore into %s to roll back (see `vault restores`)",
				  f.target);
		goto out;
	}
	if (rollback_undone_by(&f, f.id, by)) {
		cli_error(c, "restore %s was rolled back already (by %s)%s", f.id, by,
			  f.want ? "" : "; name an earlier one with --restore ID");
		goto out;
	}
	if (json_parse(&j, f.doc.data, f.doc.len, &err) < 0) {
		cli_error(c, "the log of restore %s cannot be read: %s", f.id, (char *)err.data);
		goto out;
	}
	{
		const char *st = json_get_str(j, "status");
		const char *safety = json_get_str(j, "safety_snapshot");
		const char *mode = json_get_str(j, "mode");
		const struct json *rb = json_get(j, "rollback");

		if (!st || strcmp(st, "ok")) {
			cli_error(c, "restore %s did not succeed (%s): it changed nothing to roll back",
				  f.id, st ? st : "no status");
			goto out;
		}
		if (json_get(rb, "statements")) {
			if (rollback_created(&f, j) < 0)
				goto oom;
			if (f.other[0])
				cli_warn(c, "restore %s went into %s, rolling back %s", f.id,
					 f.other, f.target);
			ret = rollback_empty(c, r, &f, j, ci, (const char *)url.data, q.yes,
					     q.dry_run, q.json);
			goto out;
		}
		if (!safety || strlen(safety) != 64) {
			const char *imp = json_get_str(rb, "impossible");

			if (imp)
				cli_error(c, "restore %s (mode %s) cannot be rolled back: %s",
					  f.id, mode ? mode : "?", imp);
			else
				cli_error(c, "restore %s (mode %s) has no safety snapshot%s: nothing to roll back to",
					  f.id, mode ? mode : "?",
					  mode && strcmp(mode, "empty") ? " (--no-safety-snapshot)" : "");
			goto out;
		}
		snprintf(f.safety, sizeof(f.safety), "%s", safety);
		if (rollback_created(&f, j) < 0)
			goto oom;
	}
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
	buf_release(&f.doc);
	buf_release(&f.undone);
	json_free(j);
	pg_conn_info_free(ci);
	repo_free(r);
	buf_wipe(&url);
	buf_release(&err);
	return ret;
}

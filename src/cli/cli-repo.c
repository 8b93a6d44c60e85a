/*
 * cli-repo: opening the repository for a verb (with the passphrase from
 * cli-pass) and resolving a snapshot spec, each error turned into one
 * `vault: <verb>: ...` line.  Apart from cli.c so that the messages and
 * options stay below the passphrase code, which needs the repository's
 * path for its prompt.  Also what the verbs read alike from a
 * snapshot's record (whether it is partial).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "json.h"
#include "repo.h"

/* 1 when dir is no repository at all (no such directory, or no config
 * file in it), as opposed to one with a part missing or damaged. */
static int cli_repo_missing(const char *dir)
{
	struct buf p = BUF_INIT;
	struct stat st;
	int missing = 0;

	if (buf_addf(&p, "%s/config", dir) == 0)
		missing = stat((char *)p.data, &st) < 0 && errno == ENOENT;
	buf_release(&p);
	return missing;
}

int cli_open(struct cli *c, struct repo **r, int how)
{
	struct buf err = BUF_INIT;
	struct repo_open_opts o;
	const char *dir = cli_repo_dir(c);
	char command[64];
	int e, ret = 0;

	*r = NULL;
	if (!dir)
		return CLI_EXIT_ERROR;
	/* only the verb goes into the lock: argv may hold things (paths,
	 * commands) that are nobody else's business */
	snprintf(command, sizeof(command), "vault %s", c->verb);
	memset(&o, 0, sizeof(o));
	o.write = !!(how & CLI_OPEN_WRITE);
	o.rebuild = !!(how & CLI_OPEN_REBUILD);
	o.lock_wait = c->lock_wait;
	o.command = command;
	o.pass = cli_pass_cb;
	o.pass_ctx = c;
	buf_reset(&c->pass_err);
	buf_reset(&c->readonly);
	e = repo_open(r, dir, &o, &err);
	if ((e == -EROFS || e == -ENOSPC) && o.write &&
	    (how & CLI_OPEN_READONLY_OK)) {
		buf_add(&c->readonly, err.data, err.len);
		o.write = 0;
		e = repo_open(r, dir, &o, &err);
	}
	if (e < 0) {
		*r = NULL;
		if (e == -ENOENT && !c->pass_err.len && cli_repo_missing(dir))
			c->exit_code = CLI_EXIT_NO_REPO;
		if (e == -ENOENT && !err.len && !c->pass_err.len) {
			cli_error(c, "no repository at %s (create one with 'vault init')",
				  dir);
		} else if ((e == -EROFS || e == -ENOSPC) && o.write) {
			cli_error(c, "%s, and `vault %s` writes to it (reading"
				  " needs no write access: list, ls, cat, mount,"
				  " diff, check, stats and restore work)",
				  (const char *)err.data, o.rebuild ?
				  "check --rebuild-index" : c->verb);
		} else {
			cli_fail(c, e, &err, "cannot open repository %s", dir);
		}
		ret = CLI_EXIT_ERROR;
	}
	buf_release(&err);
	return ret;
}

int cli_resolve(struct cli *c, struct repo *r, const char *spec, char id[65])
{
	struct buf err = BUF_INIT;
	int e = repo_snapshot_resolve(r, spec, id, &err);

	if (e < 0) {
		if (e == -ENOENT && !err.len)
			cli_error(c, "no snapshot '%s' in repository %s", spec,
				  repo_path(r));
		else if (e == -ENOTUNIQ && !err.len)
			cli_error(c, "snapshot prefix '%s' is ambiguous", spec);
		else
			cli_fail(c, e, &err, "snapshot '%s'", spec);
	}
	buf_release(&err);
	return e < 0 ? CLI_EXIT_ERROR : 0;
}

/*
 * The "partial" member (formats/snapshot.md); a Storage snapshot written
 * before that member existed says it in "storage" ("partial",
 * "missing").  Metadata that does not parse counts as whole: it is
 * free-form, and a snapshot is no less complete for it.
 */
uint64_t cli_snap_skipped(const struct repo_snapinfo *s)
{
	const struct json *p, *st;
	struct json *j = NULL;
	int64_t n = 0;

	if (!s->meta_json ||
	    json_parse(&j, s->meta_json, strlen(s->meta_json), NULL) < 0)
		return 0;
	p = json_get(j, "partial");
	st = json_get(j, "storage");
	if (p) {
		if (json_int(json_get(p, "skipped"), &n) < 0 || n < 1)
			n = 1;
	} else if (json_bool(json_get(st, "partial")) == 1) {
		n = (int64_t)json_len(json_get(st, "missing"));
		if (n < 1)
			n = 1;
	}
	json_free(j);
	return (uint64_t)n;
}

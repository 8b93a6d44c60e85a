/*
 * cmd-restores: `vault restores [--json] [ID...]` lists the restore logs
 * kept in the repository (restores/<id>.json), oldest first, or shows
 * the ones named.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "repo.h"
#include "restores.h"
#include "json.h"

const char cmd_restores_usage[] =
	"usage: vault restores [--json] [ID...]\n"
	"\n"
	"Lists past restores and rollbacks, oldest first: id, kind (what was\n"
	"restored: db, storage; and whether it was a restore or a rollback),\n"
	"start time, status, mode, snapshot, safety snapshot, tables and\n"
	"target (password masked).  With IDs (or unique prefixes of them),\n"
	"shows those restores' logs whole.  `vault rollback --restore ID`\n"
	"undoes one.\n"
	"\n"
	"      --json       print the restore logs, as a JSON array\n"
	"  -h, --help       show this help\n";

enum { RESTORES_OPT_JSON = CLI_OPT_FIRST_VERB };

struct restores_ls {
	struct cli *c;
	int json;
	size_t n;
	char **want;		/* IDs or prefixes asked for; NULL: all */
	int nwant;
	int *found;		/* per want: logs matched */
};

/* The index of the first want that id starts with, or -1. */
static int restores_wanted(const struct restores_ls *ls, const char *id)
{
	for (int i = 0; i < ls->nwant; i++)
		if (!strncmp(id, ls->want[i], strlen(ls->want[i])))
			return i;
	return -1;
}

/* "db-restore", "storage-rollback", ...: what a log was about and
 * whether it undid another (database logs carry no "kind"). */
static void restores_kind(const struct json *j, char *out, size_t n)
{
	const char *kind = json_get_str(j, "kind");
	const char *of = json_get_str(j, "rollback_of");

	snprintf(out, n, "%s-%s", kind && *kind ? kind : "db",
		 of && *of ? "rollback" : "restore");
}

static const char *restores_str(const struct json *j, const char *key)
{
	const char *s = json_get_str(j, key);

	return s ? s : "-";
}

static int restores_one(void *ctx, const char *id, const char *doc, size_t n)
{
	struct restores_ls *ls = ctx;
	struct json *j = NULL;
	struct buf err = BUF_INIT, line = BUF_INIT;
	const struct json *t;
	char kind[40];
	int r, w = -1;

	if (ls->want) {
		w = restores_wanted(ls, id);
		if (w < 0)
			return 0;
		ls->found[w]++;
	}
	if (ls->json || (ls->want && !ls->json)) {
		if (!ls->json) {
			/* one log whole, as kept */
			r = cli_write_all(1, ls->n ? "\n" : "", ls->n ? 1 : 0);
			if (r == 0)
				r = cli_write_all(1, doc, n);
			ls->n++;
			return r;
		}
		r = cli_write_all(1, ls->n ? ",\n" : "", ls->n ? 2 : 0);
		if (r == 0)
			r = cli_write_all(1, doc, n && doc[n - 1] == '\n' ? n - 1 : n);
		ls->n++;
		return r;
	}
	r = json_parse(&j, doc, n, &err);
	if (r < 0) {
		cli_warn(ls->c, "restore log %s cannot be read: %s", id,
			 (const char *)err.data);
		buf_release(&err);
		return 0;
	}
	t = json_get(j, "tables");
	restores_kind(j, kind, sizeof(kind));
	buf_addf(&line, "%-25s  %-16s  %-20s  %-8s  %-5s  %.8s  %-8.8s  %3zu  ",
		 id, kind, restores_str(j, "started"), restores_str(j, "status"),
		 restores_str(j, "mode"), restores_str(j, "snapshot"),
		 restores_str(j, "safety_snapshot"), t ? json_len(t) : 0);
	cli_quote(&line, restores_str(j, "target"), strlen(restores_str(j, "target")));
	buf_addch(&line, '\n');
	r = cli_write_all(1, line.data, line.len);
	ls->n++;
	json_free(j);
	buf_release(&err);
	buf_release(&line);
	return r;
}

int cmd_restores(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, RESTORES_OPT_JSON },
		CLI_GLOBAL_OPTIONS
	};
	struct restores_ls ls = { c, 0, 0, NULL, 0, NULL };
	struct buf err = BUF_INIT;
	struct repo *r = NULL;
	int o, e, ret = CLI_EXIT_ERROR;

	while ((o = cli_getopt(c, argc, argv, "", opts)) != CLI_OPT_END) {
		switch (o) {
		case RESTORES_OPT_JSON:
			ls.json = 1;
			break;
		case CLI_OPT_HELP:
			return CLI_EXIT_OK;
		default:
			return CLI_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		ls.want = argv + optind;
		ls.nwant = argc - optind;
		ls.found = calloc((size_t)ls.nwant, sizeof(*ls.found));
		if (!ls.found) {
			cli_error(c, "out of memory");
			return CLI_EXIT_ERROR;
		}
		for (int i = 0; i < ls.nwant; i++)
			if (!*ls.want[i] || strspn(ls.want[i],
				"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-_:.") !=
			    strlen(ls.want[i])) {
				ret = cli_usage_error(c, "'%s' is not a restore id",
						      ls.want[i]);
				goto out;
			}
	}
	if (cli_open(c, &r, 0))
		goto out;
	if (ls.json)
		cli_write_all(1, "[\n", 2);
	else if (!ls.want)
		printf("%-25s  %-16s  %-20s  %-8s  %-5s  %-8s  %-8s  %3s  %s\n",
		       "ID", "KIND", "STARTED", "STATUS", "MODE", "SNAPSHOT",
		       "SAFETY", "TBL", "TARGET");
	fflush(stdout);
	e = repo_restore_list(r, restores_one, &ls, &err);
	if (e < 0) {
		cli_fail(c, e, &err, "cannot list the restores");
		goto out;
	}
	if (ls.json)
		cli_write_all(1, "\n]\n", 3);
	ret = CLI_EXIT_OK;
	for (int i = 0; i < ls.nwant; i++) {
		if (ls.found[i] == 1)
			continue;
		if (ls.found[i] == 0)
			cli_error(c, "no restore '%s' (see `vault restores`)",
				  ls.want[i]);
		else
			cli_error(c, "restore id prefix '%s' is ambiguous: it matches %d restores",
				  ls.want[i], ls.found[i]);
		ret = CLI_EXIT_ERROR;
	}
out:
	free(ls.found);
	repo_free(r);
	buf_release(&err);
	return ret;
}

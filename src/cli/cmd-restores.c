/*
 * cmd-restores: `vault restores [--json]` lists the restore logs kept in
 * the repository (restores/<id>.json), oldest first.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "repo.h"
#include "restores.h"
#include "json.h"

const char cmd_restores_usage[] =
	"usage: vault restores [--json]\n"
	"\n"
	"Lists past restores and rollbacks into databases, oldest first: id,\n"
	"start time, status, mode, snapshot, safety snapshot, tables and\n"
	"target (password masked).  `vault rollback --restore ID` undoes one.\n"
	"\n"
	"      --json       print the restore logs, as a JSON array\n"
	"  -h, --help       show this help\n";

enum { RESTORES_OPT_JSON = CLI_OPT_FIRST_VERB };

struct restores_ls {
	struct cli *c;
	int json;
	size_t n;
};

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
	int r;

	if (ls->json) {
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
	buf_addf(&line, "%-25s  %-20s  %-8s  %-5s  %.8s  %-8.8s  %3zu  ", id,
		 restores_str(j, "started"), restores_str(j, "status"),
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
	struct restores_ls ls = { c, 0, 0 };
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
	if (optind != argc)
		return cli_usage_error(c, "too many arguments");
	if (cli_open(c, &r, 0))
		goto out;
	if (ls.json)
		cli_write_all(1, "[\n", 2);
	else
		printf("%-25s  %-20s  %-8s  %-5s  %-8s  %-8s  %3s  %s\n", "ID",
		       "STARTED", "STATUS", "MODE", "SNAPSHOT", "SAFETY",
		       "TBL", "TARGET");
	fflush(stdout);
	e = repo_restore_list(r, restores_one, &ls, &err);
	if (e < 0) {
		cli_fail(c, e, &err, "cannot list the restores");
		goto out;
	}
	if (ls.json)
		cli_write_all(1, "\n]\n", 3);
	ret = CLI_EXIT_OK;
out:
	repo_free(r);
	buf_release(&err);
	return ret;
}

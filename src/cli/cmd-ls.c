/*
 * cmd-ls: `vault ls SNAP [PATH]` lists a snapshot's entries (or PATH and
 * its subtree): kind and mode, size, mtime (UTC) and path.  Entries come
 * in manifest order, in which a subtree is contiguous, so the listing
 * stops as soon as the iterator has passed PATH's subtree.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "repo.h"

const char cmd_ls_usage[] =
	"usage: vault ls [--json] SNAP [PATH]\n"
	"\n"
	"Lists the entries of snapshot SNAP (a full id, a unique prefix of at\n"
	"least 4 hex digits, or 'latest'), or only PATH and what lies below it.\n"
	"\n"
	"      --json       print a JSON array\n"
	"  -h, --help       show this help\n";

static void ls_json_entry(struct cli_json *j, const struct manifest_entry *e)
{
	char mode[8];

	snprintf(mode, sizeof(mode), "%04o", (unsigned)(e->mode & 07777));
	cli_json_begin_object(j, NULL);
	cli_json_strn(j, "path", e->path, e->path_len);
	cli_json_str(j, "kind", cli_kind_name(e->kind));
	cli_json_str(j, "mode", mode);
	cli_json_u64(j, "size", e->size);
	cli_json_time(j, "mtime", cli_ns_to_sec(e->mtime_ns));
	cli_json_i64(j, "mtime_ns", e->mtime_ns);
	if (e->kind == MANIFEST_SYMLINK && e->target)
		cli_json_strn(j, "target", e->target, e->target_len);
	if (e->nattrs) {
		cli_json_begin_object(j, "attrs");
		for (size_t i = 0; i < e->nattrs; i++)
			cli_json_strn(j, e->attrs[i].key, e->attrs[i].value,
				      e->attrs[i].value_len);
		cli_json_end_object(j);
	}
	cli_json_end_object(j);
}

static void ls_text_entry(struct buf *line, const struct manifest_entry *e)
{
	char mode[16], when[40];

	cli_mode_string(e->kind, e->mode, mode, sizeof(mode));
	cli_time_format(cli_ns_to_sec(e->mtime_ns), when, sizeof(when));
	buf_reset(line);
	buf_addf(line, "%s %12llu %s ", mode, (unsigned long long)e->size,
		 when);
	cli_quote(line, e->path, e->path_len);
	if (e->kind == MANIFEST_SYMLINK && e->target) {
		buf_addstr(line, " -> ");
		cli_quote(line, e->target, e->target_len);
	}
	buf_addch(line, '\n');
	fwrite(line->data, 1, line->len, stdout);
}

int cmd_ls(struct cli *c, int argc, char **argv)
{
	struct buf err = BUF_INIT, line = BUF_INIT;
	const struct manifest_entry *e;
	struct repo_iter *it = NULL;
	struct repo *r = NULL;
	struct cli_json j;
	char *sel = NULL, id[65];
	size_t shown = 0;
	int o, n, json = 0, ret = CLI_EXIT_ERROR;

	o = cli_getopt_json(c, argc, argv, &json);
	if (o != CLI_OPT_END)
		return o;
	if (argc - optind < 1)
		return cli_usage_error(c, "which snapshot? (give an id, a prefix or 'latest')");
	if (argc - optind > 2)
		return cli_usage_error(c, "unexpected argument '%s'", argv[optind + 2]);
	sel = cli_path_normalize(argc - optind == 2 ? argv[optind + 1] : "");
	if (!sel) {
		cli_error(c, "out of memory");
		return CLI_EXIT_ERROR;
	}
	cli_json_init(&j);
	if (cli_open(c, &r, 0) || cli_resolve(c, r, argv[optind], id))
		goto out;
	n = repo_iter_new(r, id, &it, &err);
	if (n < 0) {
		cli_fail(c, n, &err, "cannot read snapshot %.8s", id);
		goto out;
	}
	if (json)
		cli_json_begin_array(&j, NULL);
	while ((n = repo_iter_next(it, &e, &err)) > 0) {
		if (!cli_path_within(e->path, e->path_len, sel)) {
			/* sorted: once past sel, nothing of it follows */
			if (manifest_path_cmp(e->path, e->path_len, sel,
					      strlen(sel)) > 0)
				break;
			continue;
		}
		shown++;
		if (json) {
			ls_json_entry(&j, e);
			if (j.err)
				break;
		} else {
			ls_text_entry(&line, e);
		}
	}
	if (n < 0) {
		cli_fail(c, n, &err, "cannot read snapshot %.8s", id);
		goto out;
	}
	if (*sel && !shown) {
		buf_reset(&line);
		cli_quote(&line, sel, strlen(sel));
		cli_error(c, "no path '%s' in snapshot %.8s",
			  (const char *)line.data, id);
		goto out;
	}
	if (json) {
		cli_json_end_array(&j);
		if (cli_json_finish(&j) < 0) {
			cli_error(c, "cannot write to standard output");
			goto out;
		}
	}
	if (fflush(stdout) != 0) {
		cli_error(c, "cannot write to standard output");
		goto out;
	}
	ret = CLI_EXIT_OK;
out:
	cli_json_release(&j);
	repo_iter_free(it);
	repo_free(r);
	free(sel);
	buf_release(&err);
	buf_release(&line);
	return ret;
}

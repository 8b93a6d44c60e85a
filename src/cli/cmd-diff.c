/*
 * cmd-diff: `vault diff SNAP1 SNAP2` lists what was added (+), removed
 * (-) and changed (M) from SNAP1 to SNAP2.  Both manifests are sorted by
 * manifest_path_cmp, so one streaming merge of two iterators does it in
 * constant memory.  File contents are compared by their chunk ids (no
 * data is read): equal ids mean equal content.  When both snapshots hold
 * a database, its db/ entries go to diff-db instead, which reports
 * tables (rows added, removed, changed) and schema objects.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "diff-db.h"
#include "repo.h"

const char cmd_diff_usage[] =
	"usage: vault diff [--json] SNAP1 SNAP2\n"
	"\n"
	"Shows the entries added (+), removed (-) and changed (M: kind, size,\n"
	"mode, content or symlink target) from SNAP1 to SNAP2.  Contents are\n"
	"compared by chunk ids, without reading data.  When both hold a\n"
	"database, it shows instead of its files the schema objects added,\n"
	"dropped or changed, and per table the rows added, removed and changed\n"
	"(matched by primary key; reading the rows of the tables whose\n"
	"checksums differ).\n"
	"\n"
	"      --json       print JSON\n"
	"  -h, --help       show this help\n";

enum {
	DIFF_KIND = 1,
	DIFF_SIZE = 2,
	DIFF_CONTENT = 4,
	DIFF_MODE = 8,
	DIFF_TARGET = 16,
};

struct diff {
	struct cli *c;
	struct repo_iter *it1, *it2;
	struct diff_db *db;		/* both hold a database */
	struct cli_json *json;
	struct buf line, err;
	uint64_t added, removed, changed;
	uint64_t bytes_added, bytes_removed;
};

/* Which aspects differ; <0 when the chunk lists cannot be read. */
static int diff_compare(struct diff *d, const struct manifest_entry *a,
			const struct manifest_entry *b)
{
	const struct manifest_chunk *ca, *cb;
	size_t na, nb;
	int what = 0, r;

	if (a->kind != b->kind)
		return DIFF_KIND;
	if ((a->mode & 07777) != (b->mode & 07777))
		what |= DIFF_MODE;
	if (a->kind == MANIFEST_SYMLINK &&
	    (a->target_len != b->target_len ||
	     (a->target_len && memcmp(a->target, b->target, a->target_len))))
		what |= DIFF_TARGET;
	if (a->kind != MANIFEST_FILE)
		return what;
	if (a->size != b->size)
		return what | DIFF_SIZE;
	if (a->nchunks != b->nchunks)
		return what | DIFF_CONTENT;
	r = repo_iter_chunks(d->it1, &ca, &na, &d->err);
	if (r == 0)
		r = repo_iter_chunks(d->it2, &cb, &nb, &d->err);
	if (r < 0)
		return r;
	if (na != nb)
		return what | DIFF_CONTENT;
	for (size_t i = 0; i < na; i++)
		if (ca[i].len != cb[i].len ||
		    memcmp(ca[i].id, cb[i].id, sizeof(ca[i].id)))
			return what | DIFF_CONTENT;
	return what;
}

static void diff_path(struct buf *b, const struct manifest_entry *e)
{
	cli_quote(b, e->path, e->path_len);
	if (e->kind == MANIFEST_DIR)
		buf_addch(b, '/');
}

static void diff_emit(struct diff *d)
{
	buf_addch(&d->line, '\n');
	fwrite(d->line.data, 1, d->line.len, stdout);
	buf_reset(&d->line);
}

static void diff_one_side(struct diff *d, const struct manifest_entry *e,
			  int added)
{
	if (added) {
		d->added++;
		d->bytes_added += e->size;
	} else {
		d->removed++;
		d->bytes_removed += e->size;
	}
	if (d->json) {
		cli_json_begin_object(d->json, NULL);
		cli_json_str(d->json, "change", added ? "added" : "removed");
		cli_json_strn(d->json, "path", e->path, e->path_len);
		cli_json_str(d->json, "kind", cli_kind_name(e->kind));
		cli_json_u64(d->json, "size", e->size);
		cli_json_end_object(d->json);
		return;
	}
	buf_addstr(&d->line, added ? "+ " : "- ");
	diff_path(&d->line, e);
	if (e->kind == MANIFEST_FILE)
		buf_addf(&d->line, " (%llu bytes)", (unsigned long long)e->size);
	diff_emit(d);
}

static void diff_changed(struct diff *d, const struct manifest_entry *a,
			 const struct manifest_entry *b, int what)
{
	static const struct {
		int bit;
		const char *name;
	} names[] = {
		{ DIFF_KIND, "kind" }, { DIFF_SIZE, "size" },
		{ DIFF_CONTENT, "content" }, { DIFF_MODE, "mode" },
		{ DIFF_TARGET, "target" },
	};
	const char *sep = " (";

	d->changed++;
	if (d->json) {
		char m1[8], m2[8];

		snprintf(m1, sizeof(m1), "%04o", (unsigned)(a->mode & 07777));
		snprintf(m2, sizeof(m2), "%04o", (unsigned)(b->mode & 07777));
		cli_json_begin_object(d->json, NULL);
		cli_json_str(d->json, "change", "changed");
		cli_json_strn(d->json, "path", b->path, b->path_len);
		cli_json_begin_array(d->json, "what");
		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
			if (what & names[i].bit)
				cli_json_str(d->json, NULL, names[i].name);
		cli_json_end_array(d->json);
		cli_json_str(d->json, "old_kind", cli_kind_name(a->kind));
		cli_json_str(d->json, "new_kind", cli_kind_name(b->kind));
		cli_json_u64(d->json, "old_size", a->size);
		cli_json_u64(d->json, "new_size", b->size);
		cli_json_str(d->json, "old_mode", m1);
		cli_json_str(d->json, "new_mode", m2);
		cli_json_end_object(d->json);
		return;
	}
	buf_addstr(&d->line, "M ");
	diff_path(&d->line, b);
	if (what & DIFF_KIND) {
		buf_addf(&d->line, "%skind: %s -> %s", sep,
			 cli_kind_name(a->kind), cli_kind_name(b->kind));
		sep = ", ";
	}
	if (what & DIFF_SIZE) {
		/* exact bytes: a human size hides small changes */
		buf_addf(&d->line, "%ssize: %llu -> %llu bytes", sep,
			 (unsigned long long)a->size,
			 (unsigned long long)b->size);
		sep = ", ";
	}
	if (what & DIFF_CONTENT) {
		buf_addf(&d->line, "%scontent", sep);
		sep = ", ";
	}
	if (what & DIFF_MODE) {
		buf_addf(&d->line, "%smode: %04o -> %04o", sep,
			 (unsigned)(a->mode & 07777),
			 (unsigned)(b->mode & 07777));
		sep = ", ";
	}
	if (what & DIFF_TARGET) {
		buf_addf(&d->line, "%starget: ", sep);
		cli_quote(&d->line, a->target, a->target_len);
		buf_addstr(&d->line, " -> ");
		cli_quote(&d->line, b->target, b->target_len);
	}
	buf_addch(&d->line, ')');
	diff_emit(d);
}

/* An entry the database diff accounts for: 1 (not listed), 0, <0. */
static int diff_owned_by_db(struct diff *d, const struct manifest_entry *a,
			const struct manifest_entry *b, int what)
{
	const struct manifest_entry *e = a ? a : b;

	if (!d->db || e->path_len < 2 || memcmp(e->path, "db", 2) ||
	    (e->path_len > 2 && e->path[2] != '/'))
		return 0;
	return diff_db_entry(d->db, a, b, what != 0);
}

static int diff_run(struct diff *d, const char *id1, const char *id2)
{
	const struct manifest_entry *a = NULL, *b = NULL;
	int n1, n2, what;

	n1 = repo_iter_next(d->it1, &a, &d->err);
	n2 = n1 < 0 ? 0 : repo_iter_next(d->it2, &b, &d->err);
	while (n1 > 0 || n2 > 0) {
		int cmp;

		if (n1 > 0 && n2 > 0)
			cmp = manifest_path_cmp(a->path, a->path_len, b->path,
						b->path_len);
		else
			cmp = n1 > 0 ? -1 : 1;
		if (cmp < 0) {
			n1 = diff_owned_by_db(d, a, NULL, 0);
			if (n1 == 0)
				diff_one_side(d, a, 0);
			if (n1 >= 0)
				n1 = repo_iter_next(d->it1, &a, &d->err);
		} else if (cmp > 0) {
			n2 = diff_owned_by_db(d, NULL, b, 0);
			if (n2 == 0)
				diff_one_side(d, b, 1);
			if (n2 >= 0)
				n2 = repo_iter_next(d->it2, &b, &d->err);
		} else {
			what = diff_compare(d, a, b);
			if (what >= 0) {
				int own = diff_owned_by_db(d, a, b, what);

				what = own < 0 ? own : own ? 0 : what;
			}
			if (what < 0) {
				n1 = what;
				break;
			}
			if (what)
				diff_changed(d, a, b, what);
			n1 = repo_iter_next(d->it1, &a, &d->err);
			if (n1 >= 0)
				n2 = repo_iter_next(d->it2, &b, &d->err);
		}
		if (n1 < 0 || n2 < 0)
			break;
		if (d->json && d->json->err)
			return cli_fail(d->c, d->json->err, NULL, "cannot write to standard output");
	}
	if (n1 < 0 || n2 < 0)
		return cli_fail(d->c, n1 < 0 ? n1 : n2, &d->err,
				"cannot read snapshot %.8s",
				n1 < 0 ? id1 : id2);
	return 0;
}

int cmd_diff(struct cli *c, int argc, char **argv)
{
	struct diff d;
	struct cli_json j;
	struct repo *r = NULL;
	char id1[65], id2[65];
	int o, e, json = 0, ret = CLI_EXIT_ERROR;

	/* a damaged snapshot exits 3 */
	c->ebadmsg_is_damage = 1;
	o = cli_getopt_json(c, argc, argv, &json);
	if (o != CLI_OPT_END)
		return o;
	if (argc - optind != 2)
		return cli_usage_error(c, "need two snapshots to compare");
	memset(&d, 0, sizeof(d));
	d.c = c;
	buf_init(&d.line, 0);
	buf_init(&d.err, 0);
	cli_json_init(&j);
	if (cli_open(c, &r, 0) || cli_resolve(c, r, argv[optind], id1) ||
	    cli_resolve(c, r, argv[optind + 1], id2) ||
	    diff_db_open(c, r, id1, id2, &d.db))
		goto out;
	e = repo_iter_new(r, id1, &d.it1, &d.err);
	if (e == 0)
		e = repo_iter_new(r, id2, &d.it2, &d.err);
	if (e < 0) {
		cli_fail(c, e, &d.err, "cannot read snapshot %.8s",
			 d.it1 ? id2 : id1);
		goto out;
	}
	if (json) {
		d.json = &j;
		cli_json_begin_object(&j, NULL);
		cli_json_str(&j, "from", id1);
		cli_json_str(&j, "to", id2);
		cli_json_begin_array(&j, "changes");
	}
	if (diff_run(&d, id1, id2))
		goto out;
	if (json) {
		cli_json_end_array(&j);
		if (!d.db)
			cli_json_null(&j, "database");
		else if (diff_db_run(d.db, &j))
			goto out;
		cli_json_u64(&j, "added", d.added);
		cli_json_u64(&j, "removed", d.removed);
		cli_json_u64(&j, "changed", d.changed);
		cli_json_u64(&j, "bytes_added", d.bytes_added);
		cli_json_u64(&j, "bytes_removed", d.bytes_removed);
		cli_json_end_object(&j);
		if (cli_json_finish(&j) < 0) {
			cli_error(c, "cannot write to standard output");
			goto out;
		}
	} else {
		if (d.db && diff_db_run(d.db, NULL))
			goto out;
		printf("%llu added, %llu removed, %llu changed\n",
		       (unsigned long long)d.added,
		       (unsigned long long)d.removed,
		       (unsigned long long)d.changed);
		if (fflush(stdout) != 0) {
			cli_error(c, "cannot write to standard output");
			goto out;
		}
	}
	ret = CLI_EXIT_OK;
out:
	cli_json_release(&j);
	repo_iter_free(d.it1);
	repo_iter_free(d.it2);
	diff_db_free(d.db);
	repo_free(r);
	buf_release(&d.line);
	buf_release(&d.err);
	return ret;
}

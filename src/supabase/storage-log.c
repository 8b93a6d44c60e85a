/*
 * storage-log: the restore log of a Storage / Functions restore
 * (storage-log.h), written and read back.  Kept apart from the restore
 * itself because the same document is written by restores and
 * rollbacks and read by the next rollback: its layout lives in one
 * place.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "json.h"
#include "repo.h"
#include "storage-exec.h"
#include "storage-log.h"

/* s as a JSON string, or null. */
static int storage_log_str(struct buf *out, const char *s)
{
	if (!s)
		return buf_addstr(out, "null");
	return json_quote(out, s, strlen(s));
}

/* ---- writing ------------------------------------------------------------------ */

struct storage_log_added {
	struct buf *logj;
	int first;
};

static int storage_log_added_cb(void *ctx, const struct storage_plan_item *it)
{
	struct storage_log_added *a = ctx;
	int r;

	if (it->what != STORAGE_PLAN_UPLOAD || !it->is_new)
		return 0;
	r = buf_addf(a->logj, "%s\n      {\"bucket\": ", a->first ? "" : ",");
	a->first = 0;
	if (r == 0)
		r = storage_log_str(a->logj, it->bucket);
	if (r == 0)
		r = buf_addstr(a->logj, ", \"name\": ");
	if (r == 0)
		r = storage_log_str(a->logj, it->name);
	if (r == 0)
		r = buf_addch(a->logj, '}');
	return r;
}

int storage_log_storage(struct buf *logj, const struct storage_plan *p,
			const struct storage_exec_result *res)
{
	/* the log lists what was added, so a rollback can remove it */
	struct storage_log_added a = { logj, 1 };
	struct storage_plan_counts n;
	int r = buf_addf(logj, "  \"storage\": {\n    \"added\": [");

	storage_plan_counts(p, &n);
	if (r == 0)
		r = storage_plan_each(p, storage_log_added_cb, &a);
	if (r == 0)
		r = buf_addf(logj, "],\n    \"buckets_created\": %zu,\n    \"buckets_updated\": %zu,\n    \"objects\": %zu,\n    \"uploaded\": %zu,\n    \"skipped\": %zu,\n    \"deleted\": %zu,\n",
			     n.create, n.update, n.objects, res->uploaded,
			     n.unchanged, res->deleted);
	if (r == 0)
		r = buf_addf(logj, "    \"verification\": \"%s\",\n    \"mismatches\": %zu,\n    \"mismatch\": ",
			     res->nbad ? "failed" : "ok", res->nbad);
	if (r == 0)
		r = storage_log_str(logj, res->nbad ?
				    (const char *)res->bad.data : NULL);
	if (r == 0)
		r = buf_addstr(logj, "\n  }");
	return r < 0 ? -ENOMEM : 0;
}

void storage_log_error(struct buf *logj, const char *stage, int r,
		       const struct buf *err)
{
	struct buf bad = BUF_INIT;

	buf_addf(&bad, "cannot %s: %s", stage, err->len ?
		 (const char *)err->data : strerror(-r));
	buf_reset(logj);
	if (buf_addstr(logj, "  \"storage\": {\"error\": ") == 0 &&
	    storage_log_str(logj, (const char *)bad.data) == 0)
		buf_addch(logj, '}');
	buf_release(&bad);
}

int storage_log_doc(struct buf *doc, const struct storage_log *l)
{
	char started[32];
	time_t t = (time_t)l->started;
	struct tm tm;
	int r;

	gmtime_r(&t, &tm);
	strftime(started, sizeof(started), "%Y-%m-%dT%H:%M:%SZ", &tm);
	r = buf_addf(doc, "{\n  \"id\": \"%s\",\n  \"kind\": \"storage\",\n  \"what\": \"%s\",\n  \"started\": \"%s\",\n  \"snapshot\": \"%s\",\n  \"target\": ",
		     l->id, l->what, started, l->snapshot);
	if (r == 0)
		r = storage_log_str(doc, l->target);
	if (r == 0)
		r = buf_addf(doc, ",\n  \"mode\": \"%s\",\n  \"safety_snapshot\": ",
			     storage_plan_mode_name(l->mode));
	if (r == 0)
		r = storage_log_str(doc, l->safety_snapshot);
	if (r == 0)
		r = buf_addstr(doc, ",\n  \"rollback_of\": ");
	if (r == 0)
		r = storage_log_str(doc, l->rollback_of);
	if (r == 0 && l->storage->len)
		r = buf_addf(doc, ",\n%s", (const char *)l->storage->data);
	if (r == 0 && l->functions->len)
		r = buf_addf(doc, ",\n%s", (const char *)l->functions->data);
	if (r == 0)
		r = buf_addf(doc, ",\n  \"status\": \"%s\",\n  \"duration_ms\": %lld\n}\n",
			     l->ok ? "ok" : "failed",
			     (long long)((int64_t)time(NULL) - l->started) * 1000);
	return r < 0 ? -ENOMEM : 0;
}

/* ---- reading back ---------------------------------------------------------- */

struct storage_log_find {
	const char *target, *want;
	int storage, functions;		/* which parts the rollback undoes */
	struct storage_log_undo *u;
};

static int storage_log_find_cb(void *ctx, const char *id, const char *doc,
			       size_t n)
{
	struct storage_log_find *f = ctx;
	struct json *j = NULL;
	const char *k, *t, *st;
	const struct json *fn;
	int use;

	if (f->want && strcmp(f->want, id))
		return 0;
	if (json_parse(&j, doc, n, NULL) < 0)
		return 0;
	k = json_get_str(j, "kind");
	t = json_get_str(j, "target");
	st = json_get_str(j, "status");
	fn = json_get(j, "functions");
	/* only restores carry "added" / "created": rollbacks are skipped */
	use = k && !strcmp(k, "storage") &&
		(t ? f->target && !strcmp(t, f->target) : !f->target) &&
		((f->storage && json_get(json_get(j, "storage"), "added")) ||
		 (f->functions && json_get(fn, "created"))) &&
		(f->want || (st && strcmp(st, "failed")));
	if (!use) {
		json_free(j);
		return 0;
	}
	json_free(f->u->doc);
	f->u->doc = j;
	snprintf(f->u->id, sizeof(f->u->id), "%s", id);
	return 0;
}

int storage_log_find(struct repo *r, const char *target, const char *want,
		     int storage, int functions, struct storage_log_undo *u,
		     struct buf *err)
{
	struct storage_log_find f = { target, want, storage, functions, u };

	memset(u, 0, sizeof(*u));
	return repo_restore_list(r, storage_log_find_cb, &f, err);
}

int storage_log_undo_read(struct storage_log_undo *u, int storage,
			  int functions, int fn_env)
{
	const struct json *added = json_get(json_get(u->doc, "storage"), "added");
	const struct json *fn = json_get(u->doc, "functions");
	const struct json *created = json_get(fn, "created");

	u->snapshot = json_get_str(u->doc, "snapshot");
	u->safety = added && storage ?
		json_get_str(u->doc, "safety_snapshot") : NULL;
	u->functions = created && (functions || fn_env);
	u->fn_safety = json_get_str(fn, "safety_snapshot");
	u->fn_created = json_len(created);
	if (!storage)
		added = NULL;
	/* the objects the restore added go; the safety snapshot's come back */
	u->nadded = json_len(added);
	if (u->nadded && !(u->added = calloc(u->nadded, sizeof(*u->added))))
		return -ENOMEM;
	for (size_t i = 0; i < u->nadded; i++) {
		const struct json *x = json_at(added, i);

		u->added[i].bucket = json_get_str(x, "bucket");
		u->added[i].name = json_get_str(x, "name");
		if (!u->added[i].bucket || !u->added[i].name)
			return -EBADMSG;
	}
	return 0;
}

int storage_log_undo_created(const struct storage_log_undo *u,
			     const char ***out)
{
	const struct json *created = json_get(json_get(u->doc, "functions"),
					      "created");
	const char **v = calloc(u->fn_created + 1, sizeof(*v));

	*out = v;
	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < u->fn_created; i++)
		if (!(v[i] = json_str(json_at(created, i), NULL)))
			return -EBADMSG;
	return 0;
}

void storage_log_undo_release(struct storage_log_undo *u)
{
	free(u->added);
	json_free(u->doc);
	memset(u, 0, sizeof(*u));
}

/*
 * rs-undo: proving, then running, the undo of a restore (see rs-undo.h):
 * the rehearsal that proves it, the check `vault rollback` runs with it
 * later, and the run after a failed parallel load.  The statements come
 * from rs-undo-revert and rs-undo-drop, the fingerprints from rs-undo-fp.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg-conn.h"
#include "rs-undo.h"
#include "rs-pipe.h"
#include "rs-undo-int.h"
#include "strv.h"

struct rs_undo {
	struct rs_undo_fp before;
	struct rs_undo_fp vals;		/* what reverts put back */
	char **stmts;
	size_t nstmts;
	struct rs_undo_fp created;	/* "cat\tkey" of what is new */
	struct rs_undo_fp changed;	/* "cat\tkey\tbefore\tafter" */
	uint32_t *los;			/* large objects to unlink first */
	size_t nlos;
	char **run;			/* the proven statements (rs_undo_run) */
	size_t nrun;
};

int rs_undo_begin(struct rs_undo **out, PGconn *c, struct buf *err)
{
	struct rs_undo *u = calloc(1, sizeof(*u));
	int r;

	*out = NULL;
	if (!u)
		return -ENOMEM;
	r = rs_undo_fp_take(&u->before, c, err);
	if (r == 0)
		r = rs_undo_fp_values(&u->vals, c, err);
	if (r < 0) {
		rs_undo_free(u);
		return r;
	}
	*out = u;
	return 0;
}

int rs_undo_unlinks(struct rs_undo *u, const uint32_t *oids, size_t n)
{
	uint32_t *v = n ? malloc(n * sizeof(*v)) : NULL;

	if (n && !v)
		return -ENOMEM;
	if (n)
		memcpy(v, oids, n * sizeof(*v));
	free(u->los);
	u->los = v;
	u->nlos = n;
	return 0;
}

/*
 * The statements of the undo of everything between before and after,
 * in the order they run: what existed put back first (a schema given
 * back to its owner before a new role's DROP OWNED could take it), then
 * the drops; the new roles are dropped by rs_undo_prepare once these
 * have run.
 */
static int rs_undo_statements(struct rs_undo *u, PGconn *c,
			      const struct rs_undo_fp *after,
			      const struct rs_undo_new *n, struct buf *err)
{
	int r = rs_undo_revert_build(c, &u->before, after, &u->vals, n, &u->stmts,
				     &u->nstmts, err);

	return r ? r : rs_undo_drop_build(c, &u->before, after, n, &u->stmts, &u->nstmts, err);
}

/* An entry that differs after the rehearsal. */
struct rs_undo_odd {
	char cat[32], key[64];
	const char *verb;
};

/* Notes entry x (of before or after) as odd with verb. */
static void rs_undo_note(struct rs_undo_odd *o, const char *x, const char *verb)
{
	const char *tab = strchr(x, '\t');
	size_t kl = rs_undo_keylen(x);

	o->verb = verb;
	snprintf(o->cat, sizeof(o->cat), "%.*s", tab ? (int)(tab - x) : 0, x);
	snprintf(o->key, sizeof(o->key), "%.*s",
		 tab ? (int)(kl - (size_t)(tab + 1 - x)) : 0, tab ? tab + 1 : "");
}

/* Up to max entries where b differs from a, by key. */
static size_t rs_undo_diff(const struct rs_undo_fp *a, const struct rs_undo_fp *b,
			   struct rs_undo_odd *o, size_t max)
{
	size_t i = 0, j = 0, n = 0;

	while ((i < a->n || j < b->n) && n < max) {
		int d = i >= a->n ? 1 : j >= b->n ? -1 : rs_undo_keycmp(a->v[i], b->v[j]);
		const char *x = d <= 0 ? a->v[i] : b->v[j];

		if (d == 0 && !strcmp(a->v[i], b->v[j])) {
			i++;
			j++;
			continue;
		}
		rs_undo_note(&o[n++], x, d < 0 ? "would not come back" : d > 0 ? "would stay" :
			     "was changed, and the undo cannot put it back");
		i += d <= 0;
		j += d >= 0;
	}
	return n;
}

/* entries kept for the message; the first three (by rs_undo_rank_cat)
 * are named */
#define RS_UNDO_ODD 32

/* Objects first, their parts (columns, rules, row types, comments)
 * last: "view mine" says more than "column id of view mine". */
static int rs_undo_rank_cat(const char *cat)
{
	static const char *const ranks[][8] = {
		{ "pg_class", "pg_namespace", "pg_extension", "pg_authid", NULL },
		{ "pg_constraint", "pg_trigger", "pg_policy", "pg_proc", "pg_publication",
		  "pg_event_trigger", "pg_default_acl", NULL },
		{ "pg_type", "pg_rewrite", "pg_attrdef", "pg_attribute", "pg_description",
		  "pg_shdescription", NULL },
	};

	for (int r = 0; r < 3; r++)
		for (int i = 0; ranks[r][i]; i++)
			if (!strcmp(cat, ranks[r][i]))
				return r == 2 ? 3 : r;
	return 2;
}

/* "the comment on schema public was changed, ...", for the first three
 * entries by rank, then how many more. */
static void rs_undo_describe(PGconn *c, struct rs_undo_odd *o, size_t n,
			     struct buf *why)
{
	size_t shown = 0;

	/* stable insertion sort by rank: n is at most RS_UNDO_ODD */
	for (size_t i = 1; i < n; i++) {
		struct rs_undo_odd k = o[i];
		size_t j = i;

		while (j > 0 && rs_undo_rank_cat(o[j - 1].cat) > rs_undo_rank_cat(k.cat)) {
			o[j] = o[j - 1];
			j--;
		}
		o[j] = k;
	}
	if (n > 3) {
		shown = n;
		n = 3;
	}
	static const char sql[] =
		"SELECT CASE $1"
		" WHEN 'pg_description' THEN 'the comment on ' || pg_catalog.pg_describe_object("
		"  pg_catalog.split_part($2, ':', 1)::oid, pg_catalog.split_part($2, ':', 2)::oid,"
		"  pg_catalog.split_part($2, ':', 3)::int)"
		" WHEN 'pg_shdescription' THEN 'the comment on ' || pg_catalog.pg_describe_object("
		"  pg_catalog.split_part($2, ':', 1)::oid, pg_catalog.split_part($2, ':', 2)::oid, 0)"
		" WHEN 'pg_attribute' THEN pg_catalog.pg_describe_object('pg_catalog.pg_class'::pg_catalog.regclass,"
		"  pg_catalog.split_part($2, ':', 1)::oid, pg_catalog.split_part($2, ':', 2)::int)"
		" WHEN 'pg_auth_members' THEN 'the membership of role '"
		"  || pg_catalog.pg_get_userbyid(pg_catalog.split_part($2, ':', 2)::oid) || ' in '"
		"  || pg_catalog.pg_get_userbyid(pg_catalog.split_part($2, ':', 1)::oid)"
		" WHEN 'pg_db_role_setting' THEN 'the settings of role '"
		"  || pg_catalog.pg_get_userbyid(pg_catalog.split_part($2, ':', 2)::oid)"
		" ELSE pg_catalog.pg_describe_object(('pg_catalog.' || $1)::pg_catalog.regclass,"
		"  pg_catalog.split_part($2, ':', 1)::oid, 0) END";

	for (size_t i = 0; i < n; i++) {
		const char *params[2] = { o[i].cat, o[i].key };
		PGresult *res = PQexecParams(c, sql, 2, NULL, params, NULL, NULL, 0);
		int named = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1 &&
			    !PQgetisnull(res, 0, 0);

		if (named)
			buf_addf(why, "%s%s %s", i ? "; " : "", PQgetvalue(res, 0, 0), o[i].verb);
		else
			buf_addf(why, "%s%s entry %s %s", i ? "; " : "", o[i].cat, o[i].key, o[i].verb);
		PQclear(res);
	}
	if (shown)
		buf_addf(why, "; and %s%zu more catalog entries", shown == RS_UNDO_ODD ? "at least " : "",
			 shown - n);
}

static int rs_undo_exec(PGconn *c, const char *sql, struct buf *err)
{
	return pg_conn_exec(c, sql, sql, err);
}

/* the created and changed entries: what a later rollback may drop and
 * must put back */
struct rs_undo_news {
	struct rs_undo_fp *created, *changed;
};

static int rs_undo_new_key(void *ctx, const char *line, const char *old)
{
	struct rs_undo_news *x = ctx;
	size_t kl = rs_undo_keylen(line);

	if (!old)
		return strv_take(&x->created->v, &x->created->n, strndup(line, kl));
	return strv_pushf(&x->changed->v, &x->changed->n, "%.*s\t%s\t%s", (int)kl, line,
			  rs_undo_rest(old), rs_undo_rest(line));
}

/* SELECT lo_unlink of u->los that exist (in the rehearsal's savepoint) */
static int rs_undo_unlink(const struct rs_undo *u, PGconn *c, struct buf *err)
{
	struct buf a = BUF_INIT;
	const char *params[1];
	PGresult *res = NULL;
	int r = buf_addch(&a, '{');

	for (size_t i = 0; i < u->nlos && r == 0; i++)
		r = buf_addf(&a, "%s%u", i ? "," : "", u->los[i]);
	if (r == 0)
		r = buf_addch(&a, '}');
	params[0] = (char *)a.data;
	if (r == 0 && u->nlos)
		r = pg_conn_query(c, &res, PGRES_TUPLES_OK,
				  "SELECT pg_catalog.lo_unlink(m.oid) FROM pg_catalog.pg_largeobject_metadata m"
				  " WHERE m.oid = ANY ($1::pg_catalog.oid[])", 1, params,
				  "unlinking the large objects the restore created (restore undo)", err);
	PQclear(res);
	buf_release(&a);
	return r;
}

/* Runs u->stmts from i on, inside the rehearsal, through a pipe (a
 * thousand drops are a thousand round trips otherwise): 1 (why says
 * which and why) when the server refuses one. */
static int rs_undo_rehearse(struct rs_undo *u, PGconn *c, size_t i, struct buf *why,
			    struct buf *err)
{
	struct rs_pipe pipe;
	struct buf e = BUF_INIT;
	int r = 0;

	rs_pipe_init(&pipe, c);
	for (; r == 0 && i < u->nstmts; i++)
		r = rs_pipe_send(&pipe, u->stmts[i], i, "restore undo", err);
	if (r == 0)
		r = rs_pipe_sync(&pipe, "restore undo", err);
	if (r == 1) {
		r = pg_conn_error(c, pipe.fail, u->stmts[pipe.fail_tag], &e);
		if (r == -EIO || r == -EACCES) {
			/* the server refused it: not provable, not fatal */
			buf_addf(why, "the undo statement failed: %s", (char *)e.data);
			r = 1;
		} else if (err) {
			buf_add(err, e.data, e.len);
		}
	}
	rs_pipe_release(&pipe);
	buf_release(&e);
	return r;
}

/*
 * The undo's statements (less the new roles' drops) and the created and
 * changed entries, from the catalogs as they are now against u->before,
 * the large objects unlinked first (the caller is inside a savepoint
 * when there are any); after and n are filled for the caller.
 */
static int rs_undo_lists(struct rs_undo *u, PGconn *c, struct rs_undo_fp *after,
			 struct rs_undo_new *n, struct buf *err)
{
	struct rs_undo_news news = { &u->created, &u->changed };
	int r;

	strv_free(u->stmts, u->nstmts);
	u->stmts = NULL;
	u->nstmts = 0;
	rs_undo_fp_release(&u->created);
	rs_undo_fp_release(&u->changed);
	/* the large objects first, as the rollback unlinks them: their
	 * comments, and what their owners hold, then go with them */
	r = rs_undo_unlink(u, c, err);
	if (r == 0)
		r = rs_undo_fp_since(after, c, &u->before, err);
	if (r == 0)
		r = rs_undo_new_list(n, &u->before, after);
	if (r == 0)
		r = rs_undo_statements(u, c, after, n, err);
	if (r == 0)
		r = rs_undo_fp_walk(&u->before, after, rs_undo_new_key, &news);
	return r;
}

int rs_undo_prepare(struct rs_undo *u, PGconn *c, struct buf *why,
		    struct buf *err)
{
	struct rs_undo_fp after, undone;
	struct rs_undo_new n;
	struct rs_undo_odd odd[RS_UNDO_ODD];
	size_t nodd = 0, ran;
	int r, proven = 0, rehearsing;

	memset(&n, 0, sizeof(n));
	memset(&after, 0, sizeof(after));
	memset(&undone, 0, sizeof(undone));
	r = rs_undo_exec(c, "SAVEPOINT vault_undo", err);
	rehearsing = r == 0;
	if (r == 0)
		r = rs_undo_lists(u, c, &after, &n, err);
	if (r == 0)
		r = rs_undo_rehearse(u, c, 0, why, err);
	/* the new roles last, once what they held elsewhere is gone */
	ran = u->nstmts;
	if (r == 0)
		r = rs_undo_drop_roles(c, &n, &u->stmts, &u->nstmts, err);
	if (r == 0)
		r = rs_undo_rehearse(u, c, ran, why, err);
	if (r == 0)
		r = rs_undo_fp_since(&undone, c, &u->before, err);
	if (r == 0) {
		proven = undone.n == u->before.n;
		for (size_t i = 0; proven && i < undone.n; i++)
			proven = !strcmp(undone.v[i], u->before.v[i]);
		if (!proven) {
			nodd = rs_undo_diff(&u->before, &undone, odd, RS_UNDO_ODD);
			r = 1;
		}
	}
	if (rehearsing && PQstatus(c) == CONNECTION_OK) {
		int r2 = rs_undo_exec(c, "ROLLBACK TO SAVEPOINT vault_undo", err);

		if (r2 == 0)
			r2 = rs_undo_exec(c, "RELEASE SAVEPOINT vault_undo", err);
		if (r2 < 0 && r >= 0)
			r = r2;
	}
	/* named as the restore left them (before the rehearsal) */
	if (r == 1 && !proven && nodd) {
		buf_addstr(why, "dropping what the restore created would not give the catalogs back exactly: ");
		rs_undo_describe(c, odd, nodd, why);
	}
	/* proven: what rs_undo_run runs */
	if (r == 0) {
		strv_free(u->run, u->nrun);
		u->run = NULL;
		u->nrun = 0;
		for (size_t i = 0; r == 0 && i < u->nstmts; i++)
			r = strv_push(&u->run, &u->nrun, u->stmts[i]);
	}
	rs_undo_new_release(&n);
	rs_undo_fp_release(&after);
	rs_undo_fp_release(&undone);
	return r;
}

/* 1 when an entry of before is missing from after (both sorted: one
 * walk). */
static int rs_undo_gone(const struct rs_undo_fp *before, const struct rs_undo_fp *after)
{
	size_t j = 0;

	for (size_t i = 0; i < before->n; i++) {
		int d = -1;

		while (j < after->n && (d = rs_undo_keycmp(after->v[j], before->v[i])) < 0)
			j++;
		if (d)
			return 1;
	}
	return 0;
}

int rs_undo_list(struct rs_undo *u, PGconn *c, struct buf *err)
{
	struct rs_undo_fp after;
	struct rs_undo_new n;
	int r = 0, sp = u->nlos > 0;

	memset(&n, 0, sizeof(n));
	memset(&after, 0, sizeof(after));
	/* unlinked in a savepoint, taken back: the rollback unlinks them */
	if (sp)
		r = rs_undo_exec(c, "SAVEPOINT vault_undo", err);
	if (r == 0)
		r = rs_undo_lists(u, c, &after, &n, err);
	if (r == 0)
		r = rs_undo_drop_roles(c, &n, &u->stmts, &u->nstmts, err);
	/* an entry the restore took away: no statement of the undo
	 * brings it back, only a rehearsal can say what happens */
	if (r == 0 && rs_undo_gone(&u->before, &after))
		r = 1;
	if (sp && r >= 0 && PQstatus(c) == CONNECTION_OK) {
		int r2 = rs_undo_exec(c, "ROLLBACK TO SAVEPOINT vault_undo", err);

		if (r2 == 0)
			r2 = rs_undo_exec(c, "RELEASE SAVEPOINT vault_undo", err);
		if (r2 < 0)
			r = r2;
	}
	rs_undo_new_release(&n);
	rs_undo_fp_release(&after);
	return r;
}

size_t rs_undo_created_count(const struct rs_undo *u)
{
	return u ? u->created.n : 0;
}

const char *rs_undo_created_key(const struct rs_undo *u, size_t i)
{
	return u && i < u->created.n ? u->created.v[i] : NULL;
}

size_t rs_undo_changed_count(const struct rs_undo *u)
{
	return u ? u->changed.n : 0;
}

const char *rs_undo_changed_entry(const struct rs_undo *u, size_t i)
{
	return u && i < u->changed.n ? u->changed.v[i] : NULL;
}

/* set (n sorted lines) as a fingerprint, to search */
static struct rs_undo_fp rs_undo_as_fp(const char *const *set, size_t n)
{
	struct rs_undo_fp f;

	memset(&f, 0, sizeof(f));
	f.v = (char **)set;
	f.n = n;

	return f;
}

/* Sorted by key, each key once, every line "cat\tkey..."? */
static int rs_undo_sorted(const char *const *v, size_t n)
{
	for (size_t k = 0; k < n; k++)
		if (!strchr(v[k], '\t') || (k && rs_undo_keycmp(v[k - 1], v[k]) >= 0))
			return 0;
	return 1;
}

/* the verbs of what the restore changed and cannot be put back, or
 * created and cannot be dropped */
static const char rs_undo_since[] = "was changed since the restore";
static const char rs_undo_not_back[] = "would not be put back as it was";
static const char rs_undo_stays[] = "would stay";

/* Runs stmts (the restore's undo) one by one: 1 (why names the
 * statement and the server's message; the caller rolls its savepoint
 * back) when the server refuses one. */
static int rs_undo_rollback_run(PGconn *c, const char *const *stmts, size_t nstmts,
				struct buf *why, struct buf *err)
{
	struct buf e = BUF_INIT;
	int r = 0;

	for (size_t k = 0; r == 0 && k < nstmts; k++)
		r = pg_conn_exec(c, stmts[k], stmts[k], &e);
	if (r == -EIO || r == -EACCES) {
		buf_addf(why, "the restore's undo statement failed: %s", (char *)e.data);
		r = 1;
	} else if (r < 0 && err) {
		buf_add(err, e.data, e.len);
	}
	buf_release(&e);
	return r;
}

/* A changed entry "cat\tkey\tbefore\tafter": its fingerprint before
 * the restore (which) 0, or after it 1, into fp. */
static void rs_undo_changed_fp(const char *entry, int which, char *fp, size_t n)
{
	const char *b = rs_undo_rest(entry), *t = strchr(b, '\t');

	if (!t)
		snprintf(fp, n, "%s", which ? "" : b);
	else if (which)
		snprintf(fp, n, "%s", t + 1);
	else
		snprintf(fp, n, "%.*s", (int)(t - b), b);
}

/* 1 when line (of a fingerprint) has the fingerprint fp */
static int rs_undo_fp_is(const char *line, const char *fp)
{
	return line && !strcmp(rs_undo_rest(line), fp);
}

int rs_undo_rollback(PGconn *c, const char *const *stmts, size_t nstmts,
		     const char *const *created, size_t ncreated,
		     const char *const *changed, size_t nchanged,
		     struct buf *why, struct buf *err)
{
	struct rs_undo_fp before, after;
	const struct rs_undo_fp cr = rs_undo_as_fp(created, ncreated);
	const struct rs_undo_fp ch = rs_undo_as_fp(changed, nchanged);
	struct rs_undo_odd odd[RS_UNDO_ODD];
	size_t nodd = 0, i = 0, j = 0;
	int r;

	memset(&before, 0, sizeof(before));
	memset(&after, 0, sizeof(after));
	/* the keys must be sorted as the fingerprints are */
	if (!rs_undo_sorted(created, ncreated) || !rs_undo_sorted(changed, nchanged)) {
		if (err)
			buf_addstr(err, "the restore log's lists of created and changed objects are not sorted: damaged log");
		return -EBADMSG;
	}
	r = rs_undo_fp_take(&before, c, err);
	if (r == 0)
		r = rs_undo_exec(c, "SAVEPOINT vault_rollback", err);
	if (r == 0)
		r = rs_undo_rollback_run(c, stmts, nstmts, why, err);
	if (r == 0)
		r = rs_undo_fp_since(&after, c, &before, err);
	/* what the drops removed must be the restore's own, and what they
	 * changed must have held what the restore left in it */
	while (r == 0 && (i < before.n || j < after.n) && nodd < RS_UNDO_ODD) {
		int d = i >= before.n ? 1 : j >= after.n ? -1 :
			rs_undo_keycmp(before.v[i], after.v[j]);
		const char *x = d <= 0 ? before.v[i] : after.v[j];
		const char *e = d == 0 ? rs_undo_fp_find(&ch, x) : NULL;

		if (d == 0 && !strcmp(before.v[i], after.v[j])) {
			i++;
			j++;
			continue;
		}
		if (e) {
			char was[64], left[64];

			/* changed by someone since (and not back to what it
			 * held before the restore): that would be lost */
			rs_undo_changed_fp(e, 0, was, sizeof(was));
			rs_undo_changed_fp(e, 1, left, sizeof(left));
			if (!rs_undo_fp_is(before.v[i], left) && !rs_undo_fp_is(before.v[i], was))
				rs_undo_note(&odd[nodd++], x, rs_undo_since);
		} else if (d <= 0 && !rs_undo_fp_find(&cr, x)) {
			rs_undo_note(&odd[nodd++], x, d < 0 ? "would be dropped too" : "would be changed");
		}
		i += d <= 0;
		j += d >= 0;
	}
	/* and every entry it changed holds again what it held before */
	for (size_t k = 0; r == 0 && k < nchanged && nodd < RS_UNDO_ODD; k++) {
		const char *now = rs_undo_fp_find(&after, changed[k]);
		char was[64];

		rs_undo_changed_fp(changed[k], 0, was, sizeof(was));
		if (now && !rs_undo_fp_is(now, was))
			rs_undo_note(&odd[nodd++], now, rs_undo_not_back);
	}
	/* and nothing it created is left: the restore's log offers an
	 * undo it did not rehearse, this is its proof */
	for (size_t k = 0; r == 0 && k < ncreated && nodd < RS_UNDO_ODD; k++) {
		const char *left = rs_undo_fp_find(&after, created[k]);

		if (left)
			rs_undo_note(&odd[nodd++], left, rs_undo_stays);
	}
	if (r == 1) {
		/* a statement the server refused */
		r = rs_undo_exec(c, "ROLLBACK TO SAVEPOINT vault_rollback", err);
		if (r == 0)
			r = 1;
	} else if (r == 0 && nodd) {
		size_t since = 0, stays = 0;

		for (size_t k = 0; k < nodd; k++) {
			stays += odd[k].verb == rs_undo_stays;
			since += odd[k].verb == rs_undo_since || odd[k].verb == rs_undo_not_back ||
				 odd[k].verb == rs_undo_stays;
		}
		r = rs_undo_exec(c, "ROLLBACK TO SAVEPOINT vault_rollback", err);
		if (r == 0) {
			buf_addstr(why, since == nodd && stays ? "the restore's undo is not exact (what it created cannot all be dropped, or what it changed put back): " :
				   since == nodd ? "what the restore changed cannot be put back: " :
				   since ? "objects the restore did not create depend on what it created, or what it changed cannot be put back: " :
				   "objects the restore did not create depend on what it created: ");
			rs_undo_describe(c, odd, nodd, why);
			r = 1;
		}
	} else if (r == 0) {
		r = rs_undo_exec(c, "RELEASE SAVEPOINT vault_rollback", err);
	}
	rs_undo_fp_release(&before);
	rs_undo_fp_release(&after);
	return r;
}

size_t rs_undo_count(const struct rs_undo *u)
{
	return u ? u->nstmts : 0;
}

const char *rs_undo_stmt(const struct rs_undo *u, size_t i)
{
	return u && i < u->nstmts ? u->stmts[i] : NULL;
}

int rs_undo_run(const struct rs_undo *u, PGconn *c, struct buf *err)
{
	/* "does not exist, skipping" is expected: keep it off stderr */
	int r = rs_undo_exec(c, "SET client_min_messages = warning", err);

	if (r == 0)
		r = rs_undo_exec(c, "BEGIN", err);

	for (size_t i = 0; r == 0 && i < u->nrun; i++)
		r = rs_undo_exec(c, u->run[i], err);
	if (r == 0)
		r = rs_undo_exec(c, "COMMIT", err);
	else if (PQstatus(c) == CONNECTION_OK)
		PQclear(PQexec(c, "ROLLBACK"));
	return r;
}

void rs_undo_free(struct rs_undo *u)
{
	if (!u)
		return;
	rs_undo_fp_release(&u->before);
	rs_undo_fp_release(&u->vals);
	rs_undo_fp_release(&u->created);
	rs_undo_fp_release(&u->changed);
	free(u->los);
	strv_free(u->stmts, u->nstmts);
	strv_free(u->run, u->nrun);
	free(u);
}

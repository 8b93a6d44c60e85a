/*
 * rs-exec-stmt: running the restore's statements, the floor every other
 * part of the executor stands on.
 *
 * One command (rs_exec_cmd) and its error, which names what failed and
 * carries the server's message and context; progress and interrupts;
 * the statements of schema.sql and roles.sql, run section by section as
 * the plan's action says (RS_ACT_TRY inside a savepoint, RS_ACT_REPLACE
 * as CREATE OR REPLACE), and the skipped ones logged; the capture's
 * session settings.  Nothing here knows the order of a restore:
 * rs-exec-steps does.
 */
#include <errno.h>
#include <string.h>

#include "pg-conn.h"
#include "pg-names.h"
#include "rs-exec-int.h"
#include "rs-pipe.h"
#include "rs-sql.h"

void rs_exec_step(struct rs_exec *x, const char *step,
		  const struct rs_meta_table *t)
{
	if (!x->o->progress)
		return;
	if (x->mu)
		pthread_mutex_lock(x->mu);
	x->o->progress(x->o->progress_ctx, step, t);
	if (x->mu)
		pthread_mutex_unlock(x->mu);
}

int rs_exec_interrupted(struct rs_exec *x)
{
	if (x->stop && *x->stop)
		return -EINTR;
	if (x->o->interrupt && *x->o->interrupt) {
		if (x->err)
			buf_addstr(x->err, "interrupted");
		return -EINTR;
	}
	return 0;
}

/* A failed result as an errno, with what, the server's message and its
 * context (for COPY: the line) in err. */
int rs_exec_stmt_fail(struct rs_exec *x, const PGresult *res, const char *what)
{
	int r = pg_conn_error(x->c, res, what, x->err);
	const char *ctx = res ? PQresultErrorField(res, PG_DIAG_CONTEXT) : NULL;

	if (ctx && x->err) {
		/* the first line is the useful one ("COPY t, line 3: ...") */
		const char *nl = strchr(ctx, '\n');

		buf_addf(x->err, " [%.*s]", nl ? (int)(nl - ctx) : (int)strlen(ctx), ctx);
	}
	return r;
}

int rs_exec_cmd(struct rs_exec *x, const char *sql, const char *what)
{
	PGresult *res;
	int r = rs_exec_interrupted(x);

	if (r < 0)
		return r;
	res = PQexec(x->c, sql);
	if (res && (PQresultStatus(res) == PGRES_COMMAND_OK ||
		    PQresultStatus(res) == PGRES_TUPLES_OK)) {
		PQclear(res);
		return 0;
	}
	r = rs_exec_stmt_fail(x, res, what);
	PQclear(res);
	return r;
}

/* "section \"users; TABLE\" of schema.sql, statement \"CREATE TABLE ...\"" */
static int rs_exec_stmt_where(struct buf *w, const char *file,
			      const struct pg_ddl_section *s, const char *sql,
			      size_t len)
{
	const char *nl = memchr(sql, '\n', len);
	size_t n = nl ? (size_t)(nl - sql) : len;
	int r;

	buf_reset(w);
	if (s)
		r = buf_addf(w, "%s, section \"%s; %s\", statement \"", file, s->name, s->type);
	else
		r = buf_addf(w, "%s, statement \"", file);
	if (r == 0)
		r = buf_add(w, sql, n > 160 ? 160 : n);
	if (r == 0)
		r = buf_addstr(w, n > 160 || nl ? " ...\"" : "\"");
	return r;
}

/* ---- statements ------------------------------------------------------------ */

/* SQLSTATEs meaning "it is already there" (tolerated for RS_ACT_TRY) */
static int rs_exec_stmt_duplicate(const PGresult *res)
{
	static const char *const dup[] = {
		"42710", "42P07", "42723", "42P06", "42P04", "42701", "42P16", NULL,
	};
	const char *st = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;

	for (int i = 0; st && dup[i]; i++)
		if (!strcmp(st, dup[i]))
			return 1;
	return 0;
}

/*
 * ALTER ROLE r IN DATABASE d SET ...: d is the database the snapshot was
 * taken from; the setting belongs to the database restored, whatever it
 * is called in the target (and a database of d's name, if the cluster
 * has one, is not this restore's to change).
 */
static int rs_exec_stmt_role_database(struct buf *sql, const char *database)
{
	struct rs_sql_tok db;
	struct buf out = BUF_INIT;
	size_t at;
	int r;

	if (!rs_sql_role_database((char *)sql->data, sql->len, &db))
		return 0;
	at = (size_t)(db.p - (char *)sql->data);
	r = buf_add(&out, sql->data, at);
	if (r == 0)
		r = pg_names_quote_ident(&out, database);
	if (r == 0)
		r = buf_add(&out, db.p + db.len, sql->len - at - db.len);
	if (r == 0) {
		buf_release(sql);
		*sql = out;
		return 0;
	}
	buf_release(&out);
	return r;
}

/* sql = statement st of d as the section's action says to run it */
static int rs_exec_stmt_text(struct rs_exec *x, const struct pg_ddl *d,
			     const struct rs_sanitized_stmt *st, enum rs_plan_act act,
			     struct buf *sql)
{
	const struct pg_ddl_section *s = st->section < pg_ddl_count(d) ?
					 pg_ddl_get(d, st->section) : NULL;
	int r = buf_add(sql, pg_ddl_text(d) + st->off, st->len);

	if (r == 0 && act == RS_ACT_REPLACE)
		r = rs_sql_or_replace(sql);
	if (r == 0 && s && !strcmp(s->type, "ROLE SETTINGS") && x->p->database)
		r = rs_exec_stmt_role_database(sql, x->p->database);
	return r;
}

/* The failed result res of statement st of d (file): its error. */
static int rs_exec_stmt_failed(struct rs_exec *x, const char *file,
			       const struct pg_ddl *d, const struct rs_sanitized_stmt *st,
			       const PGresult *res)
{
	const struct pg_ddl_section *s = st->section < pg_ddl_count(d) ?
					 pg_ddl_get(d, st->section) : NULL;
	struct buf what = BUF_INIT;
	int r = rs_exec_stmt_where(&what, file, s, pg_ddl_text(d) + st->off, st->len);

	if (r == 0)
		r = rs_exec_stmt_fail(x, res, (char *)what.data);
	buf_release(&what);
	return r;
}

/* One statement of a dump, run alone as the section's action says. */
static int rs_exec_stmt(struct rs_exec *x, const char *file,
			const struct pg_ddl *d, const struct rs_sanitized_stmt *st,
			enum rs_plan_act act)
{
	struct buf sql = BUF_INIT;
	PGresult *res = NULL;
	int r = rs_exec_interrupted(x);

	if (r == 0)
		r = rs_exec_stmt_text(x, d, st, act, &sql);
	if (r == 0 && act == RS_ACT_TRY)
		r = rs_exec_cmd(x, "SAVEPOINT vault_try", "savepoint");
	if (r < 0)
		goto out;
	res = PQexec(x->c, (char *)sql.data);
	if (res && (PQresultStatus(res) == PGRES_COMMAND_OK ||
		    PQresultStatus(res) == PGRES_TUPLES_OK)) {
		if (act == RS_ACT_TRY)
			r = rs_exec_cmd(x, "RELEASE SAVEPOINT vault_try", "savepoint");
	} else if (act == RS_ACT_TRY && rs_exec_stmt_duplicate(res)) {
		r = rs_exec_cmd(x, "ROLLBACK TO SAVEPOINT vault_try", "savepoint");
		if (r == 0)
			r = rs_exec_cmd(x, "RELEASE SAVEPOINT vault_try", "savepoint");
	} else {
		r = rs_exec_stmt_failed(x, file, d, st, res);
	}
out:
	PQclear(res);
	buf_release(&sql);
	return r;
}

/*
 * The statements of one file (d, as san cut it) go through a pipe
 * (rs-pipe): sent without waiting, their results read at each sync.  A
 * statement that fails is named as rs_exec_stmt names it; one tried
 * (RS_ACT_TRY), whose failure decides what comes next, runs alone.
 */
struct rs_exec_batch {
	struct rs_pipe pipe;
	const char *file;
	const struct pg_ddl *d;
	const struct rs_sanitized *san;
};

/* tags of statements of the executor's own, not of the file */
#define RS_EXEC_TAG_WORK_MEM ((size_t)-2)
#define RS_EXEC_TAG_COMMIT ((size_t)-3)
#define RS_EXEC_TAG_SETTING ((size_t)-4)

static void rs_exec_batch_init(struct rs_exec *x, struct rs_exec_batch *b,
			       const char *file, const struct pg_ddl *d,
			       const struct rs_sanitized *san)
{
	rs_pipe_init(&b->pipe, x->c);
	b->file = file;
	b->d = d;
	b->san = san;
}

/* The pipe's result r (rs_pipe_send or rs_pipe_sync) as the executor's. */
static int rs_exec_batch_result(struct rs_exec *x, struct rs_exec_batch *b, int r)
{
	if (r != 1)
		return r;
	if (b->pipe.fail_tag >= rs_sanitized_count(b->san))
		return rs_exec_stmt_fail(x, b->pipe.fail,
					 b->pipe.fail_tag == RS_EXEC_TAG_WORK_MEM ?
					 "raising maintenance_work_mem" :
					 b->pipe.fail_tag == RS_EXEC_TAG_COMMIT ?
					 "committing a table's rows" :
					 b->pipe.fail_tag == RS_EXEC_TAG_SETTING ?
					 "setting the access method or tablespace "
					 "pg_dump chose for the next object" : b->file);
	return rs_exec_stmt_failed(x, b->file, b->d,
				   rs_sanitized_get(b->san, b->pipe.fail_tag), b->pipe.fail);
}

/* Every statement sent has run (or the error names the one that
 * failed); the connection takes single commands again. */
static int rs_exec_batch_sync(struct rs_exec *x, struct rs_exec_batch *b)
{
	return rs_exec_batch_result(x, b, rs_pipe_sync(&b->pipe, b->file, x->err));
}

/* Statement i of b->san, as act says. */
static int rs_exec_batch_add(struct rs_exec *x, struct rs_exec_batch *b, size_t i,
			     enum rs_plan_act act)
{
	const struct rs_sanitized_stmt *st = rs_sanitized_get(b->san, i);
	struct buf sql = BUF_INIT;
	int r = rs_exec_interrupted(x);

	if (r == 0 && act == RS_ACT_TRY) {
		r = rs_exec_batch_sync(x, b);
		return r ? r : rs_exec_stmt(x, b->file, b->d, st, act);
	}
	if (r == 0)
		r = rs_exec_stmt_text(x, b->d, st, act, &sql);
	if (r == 0)
		r = rs_exec_batch_result(x, b, rs_pipe_send(&b->pipe, (char *)sql.data, i,
							    b->file, x->err));
	buf_release(&sql);
	return r;
}

/* The end of a batch: r so far, else the pipe's last results. */
static int rs_exec_batch_end(struct rs_exec *x, struct rs_exec_batch *b, int r)
{
	if (r == 0)
		r = rs_exec_batch_sync(x, b);
	rs_pipe_release(&b->pipe);
	return r;
}

/*
 * Before the statements of DDL section sec: the table access method and
 * tablespace pg_dump's SET lines left for it (pg-ddl.h), when this
 * session may have others.  pg_dump writes such a line only when the
 * value changes, so a section run without the ones before it (a
 * --table restore, a table clean mode recreates) would otherwise get
 * the server's default: a table of a custom access method restored as
 * heap.  Only what differs from the session's known value is sent.
 */
static int rs_exec_batch_settings(struct rs_exec *x, struct rs_exec_batch *b,
				  size_t sec)
{
	const struct pg_ddl_section *s = pg_ddl_get(b->d, sec);
	static const char *const name[2] = {
		"default_table_access_method", "default_tablespace",
	};
	const char *want[2], **have[2] = { &x->ddl_am, &x->ddl_tablespace };
	int r = 0;

	if (!s)
		return 0;
	want[0] = s->table_am;
	want[1] = s->tablespace;
	for (int k = 0; k < 2 && r == 0; k++) {
		struct buf sql = BUF_INIT;

		if (!want[k] || (*have[k] && !strcmp(*have[k], want[k])))
			continue;
		r = buf_addf(&sql, "SET %s = %s", name[k], want[k]);
		if (r == 0)
			r = rs_exec_batch_result(x, b, rs_pipe_send(&b->pipe,
					(char *)sql.data, RS_EXEC_TAG_SETTING,
					b->file, x->err));
		buf_release(&sql);
		if (r == 0)
			*have[k] = want[k];
	}
	return r;
}

static int rs_exec_stmt_runs(enum rs_plan_act a)
{
	return a == RS_ACT_RUN || a == RS_ACT_RECREATE || a == RS_ACT_REPLACE ||
	       a == RS_ACT_TRY;
}

/* Sections [from, to) of schema.sql (and, with from == 0, its
 * preamble): those the plan runs late, or the others (and the
 * preamble). */
static int rs_exec_stmt_run(struct rs_exec *x, size_t from, size_t to, unsigned char late)
{
	const struct rs_sanitized *san = x->p->san;
	struct rs_exec_batch b;
	size_t last = (size_t)-1;
	int r = 0;

	rs_exec_batch_init(x, &b, "schema.sql", x->src->ddl, san);
	for (size_t i = 0; i < rs_sanitized_count(san) && r == 0; i++) {
		const struct rs_sanitized_stmt *st = rs_sanitized_get(san, i);
		enum rs_plan_act act;

		if (st->skip)
			continue;
		if (st->section == RS_SANITIZE_PREAMBLE) {
			if (from == 0 && !late)
				r = rs_exec_batch_add(x, &b, i, RS_ACT_RUN);
			continue;
		}
		if (st->section >= x->p->nsec || st->section < from || st->section >= to ||
		    (x->sec_done && x->sec_done[st->section]) ||
		    (x->p->sec_late && x->p->sec_late[st->section] != late))
			continue;
		act = x->p->sec[st->section];
		if (!rs_exec_stmt_runs(act))
			continue;
		if (st->section != last)
			r = rs_exec_batch_settings(x, &b, st->section);
		last = st->section;
		if (r == 0)
			r = rs_exec_batch_add(x, &b, i, act);
	}
	return rs_exec_batch_end(x, &b, r);
}

int rs_exec_stmt_sections(struct rs_exec *x, size_t from, size_t to)
{
	return rs_exec_stmt_run(x, from, to, 0);
}

int rs_exec_stmt_late(struct rs_exec *x)
{
	return x->p->sec_late ? rs_exec_stmt_run(x, 0, x->p->nsec, 1) : 0;
}

int rs_exec_preamble(struct rs_exec *x)
{
	const struct rs_sanitized *san = x->p->san;
	int r = 0;

	for (size_t i = 0; i < rs_sanitized_count(san) && r == 0; i++) {
		const struct rs_sanitized_stmt *st = rs_sanitized_get(san, i);

		if (!st->skip && st->section == RS_SANITIZE_PREAMBLE)
			r = rs_exec_stmt(x, "schema.sql", x->src->ddl, st, RS_ACT_RUN);
	}
	return r ? r : rs_exec_session(x);
}

/* indexes are built once over the loaded rows: with the default 64MB a
 * build sorts on disk and gets at most one parallel worker (each needs
 * 32MB); never lowered, reset at the commit */
#define RS_EXEC_WORK_MEM_SQL \
	"SELECT pg_catalog.set_config('maintenance_work_mem', '256MB', true)" \
	" WHERE pg_catalog.pg_size_bytes(pg_catalog.current_setting('maintenance_work_mem'))" \
	" < 256 * 1024 * 1024"

int rs_exec_stmt_work_mem(struct rs_exec *x)
{
	return rs_exec_cmd(x, RS_EXEC_WORK_MEM_SQL, "raising maintenance_work_mem");
}

/*
 * A parallel worker, once table ti is loaded and verified: its indexes
 * and its primary key, unique and exclusion constraints (post-data that
 * concerns the table alone), so they build while other tables load, as
 * pg_restore -j does.  Foreign keys and the rest wait for the last
 * transaction.  The statements, and the COMMIT, go through one pipe: a
 * round trip for the lot, which counts when the tables are small.
 */
int rs_exec_table_post(struct rs_exec *x, size_t ti)
{
	const struct rs_meta_table *t = x->p->tables[ti].t;
	const struct pg_ddl *d = x->src->ddl;
	const struct rs_sanitized *san = x->p->san;
	struct rs_exec_batch b;
	int r = 0, any = 0;

	rs_exec_batch_init(x, &b, "schema.sql", d, san);

	for (size_t i = 0; i < rs_sanitized_count(san) && r == 0; i++) {
		const struct rs_sanitized_stmt *st = rs_sanitized_get(san, i);
		const struct pg_ddl_section *s;

		if (st->skip || st->section >= x->p->nsec || st->section < x->p->post_data ||
		    x->p->sec[st->section] != RS_ACT_RUN)
			continue;
		s = pg_ddl_get(d, st->section);
		if ((strcmp(s->type, "INDEX") && strcmp(s->type, "CONSTRAINT")) ||
		    !s->rel_schema || !s->rel_name || strcmp(s->rel_schema, t->schema) ||
		    strcmp(s->rel_name, t->name))
			continue;
		if (!any++)
			r = rs_exec_batch_result(x, &b, rs_pipe_send(&b.pipe, RS_EXEC_WORK_MEM_SQL,
								      RS_EXEC_TAG_WORK_MEM,
								      "schema.sql", x->err));
		if (r == 0)
			r = rs_exec_batch_add(x, &b, i, RS_ACT_RUN);
		if (r == 0)
			x->sec_done[st->section] = 1;
	}
	if (r == 0)
		r = rs_exec_batch_result(x, &b, rs_pipe_send(&b.pipe, "COMMIT", RS_EXEC_TAG_COMMIT,
							      "schema.sql", x->err));
	return rs_exec_batch_end(x, &b, r);
}

/* One statement the plan leaves out, into the log: "users; TABLE
 * (schema.sql)", the statement, the reason. */
static int rs_exec_stmt_log_one(void *arg, const struct rs_plan_skip *k)
{
	struct rs_exec *x = arg;
	struct buf label = BUF_INIT;
	int r = buf_addf(&label, "%s (%s)", k->where, k->file);

	if (r == 0)
		r = rs_log_skip(x->log, (char *)label.data, k->sql, k->len, k->reason);
	buf_release(&label);
	return r;
}

/* Skipped statements of what the restore would otherwise run: the log
 * (the same list the plan names, rs_plan_skipped). */
int rs_exec_stmt_log_skipped(struct rs_exec *x)
{
	return rs_plan_skipped(x->p, x->src, rs_exec_stmt_log_one, x);
}

int rs_exec_stmt_roles(struct rs_exec *x)
{
	struct rs_exec_batch b;
	int r = 0;

	rs_exec_batch_init(x, &b, "roles.sql", x->src->roles, x->p->san_roles);
	for (size_t i = 0; i < rs_sanitized_count(x->p->san_roles) && r == 0; i++) {
		const struct rs_sanitized_stmt *st = rs_sanitized_get(x->p->san_roles, i);

		if (!st->skip && i < x->p->nrole_stmt && x->p->role_stmt[i] == RS_ACT_RUN)
			r = rs_exec_batch_add(x, &b, i, RS_ACT_RUN);
	}
	return rs_exec_batch_end(x, &b, r);
}

/* ---- session ---------------------------------------------------------------- */

/* The capture's session settings (meta.json copy_settings), so COPY
 * text comes out byte for byte as it was captured. */
int rs_exec_session(struct rs_exec *x)
{
	const struct rs_meta *m = x->src->meta;
	int r = 0;

	for (size_t i = 0; i < m->nsettings && r == 0; i++) {
		const char *params[2] = { m->settings[2 * i], m->settings[2 * i + 1] };
		PGresult *res;

		if (!strcmp(params[0], "client_encoding"))
			continue;
		r = pg_conn_query(x->c, &res, PGRES_TUPLES_OK,
				  "SELECT pg_catalog.set_config($1, $2, false)", 2, params,
				  "session setup", x->err);
		PQclear(res);
	}
	if (r == 0)
		r = rs_exec_cmd(x, "SET client_min_messages = warning", "session setup");
	if (r == 0 && PQsetClientEncoding(x->c, m->encoding) != 0) {
		if (x->err)
			buf_addf(x->err, "cannot set client_encoding to %s: %s", m->encoding,
				 PQerrorMessage(x->c));
		r = -EIO;
	}
	return r;
}

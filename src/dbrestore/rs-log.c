/*
 * rs-log: building and writing the restore log document.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pg-conn.h"
#include "pg-names.h"
#include "rs-log.h"
#include "strv.h"

/* statements longer than this are cut in the log (the section name
 * still finds them in schema.sql) */
#define RS_LOG_SQL_MAX 400

static int64_t rs_log_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void rs_log_init(struct rs_log *l)
{
	time_t now;
	struct tm tm;

	memset(l, 0, sizeof(*l));
	l->started_ms = rs_log_now_ms();
	now = (time_t)(l->started_ms / 1000);
	gmtime_r(&now, &tm);
	strftime(l->started, sizeof(l->started), "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void rs_log_release(struct rs_log *l)
{
	if (!l)
		return;
	free(l->snapshot);
	free(l->target);
	free(l->safety_snapshot);
	free(l->mode);
	free(l->on_conflict);
	free(l->selection);
	for (size_t i = 0; i < l->ntables; i++) {
		free(l->tables[i].schema);
		free(l->tables[i].name);
		free(l->tables[i].load);
		free(l->tables[i].skip_reason);
	}
	free(l->tables);
	for (size_t i = 0; i < l->nskipped; i++) {
		free(l->skipped[i].where);
		free(l->skipped[i].sql);
		free(l->skipped[i].reason);
	}
	free(l->skipped);
	free(l->lo_created);
	strv_free(l->rb_stmts, l->nrb_stmts);
	strv_free(l->rb_created, l->nrb_created);
	strv_free(l->rb_changed, l->nrb_changed);
	free(l->rb_impossible);
	free(l->rollback_of);
	free(l->verification);
	free(l->verify);
	free(l->strategy);
	free(l->undo);
	free(l->status);
	free(l->error);
	memset(l, 0, sizeof(*l));
}

int rs_log_set(char **field, const char *value)
{
	char *v = NULL;

	if (value && !(v = strdup(value)))
		return -ENOMEM;
	free(*field);
	*field = v;
	return 0;
}

int rs_log_target(struct rs_log *l, const char *conninfo, struct buf *err)
{
	struct pg_conn_info *ci = NULL;
	int r = pg_conn_info_parse(&ci, conninfo, err);

	if (r == 0)
		r = rs_log_set(&l->target, pg_conn_info_describe(ci));
	pg_conn_info_free(ci);
	return r;
}

int rs_log_finish(struct rs_log *l, const char *status, const char *error)
{
	int64_t d = rs_log_now_ms() - l->started_ms;
	int r;

	l->duration_ms = d > 0 ? (uint64_t)d : 0;
	/* a restore that did not commit rolled its large objects back:
	 * none stayed for a rollback to unlink */
	if (!status || strcmp(status, "ok")) {
		free(l->lo_created);
		l->lo_created = NULL;
		l->nlo_created = 0;
		l->lo_verified = 0;
		l->lo_unlinked = 0;
		strv_free(l->rb_stmts, l->nrb_stmts);
		l->rb_stmts = NULL;
		l->nrb_stmts = 0;
		strv_free(l->rb_created, l->nrb_created);
		l->rb_created = NULL;
		l->nrb_created = 0;
		strv_free(l->rb_changed, l->nrb_changed);
		l->rb_changed = NULL;
		l->nrb_changed = 0;
	}
	r = rs_log_set(&l->status, status);
	return r ? r : rs_log_set(&l->error, error && *error ? error : NULL);
}

struct rs_log_table *rs_log_table(struct rs_log *l, const char *schema,
				  const char *name)
{
	struct rs_log_table *v = realloc(l->tables, (l->ntables + 1) * sizeof(*v));

	if (!v)
		return NULL;
	l->tables = v;
	v = &v[l->ntables];
	memset(v, 0, sizeof(*v));
	v->before = v->after = -1;
	v->verified = -1;
	v->schema = strdup(schema);
	v->name = strdup(name);
	if (!v->schema || !v->name) {
		free(v->schema);
		free(v->name);
		return NULL;
	}
	l->ntables++;
	return v;
}

int rs_log_skip(struct rs_log *l, const char *where, const char *sql,
		size_t len, const char *reason)
{
	struct rs_log_stmt *v = realloc(l->skipped, (l->nskipped + 1) * sizeof(*v));
	struct buf b = BUF_INIT;
	int r;

	if (!v)
		return -ENOMEM;
	l->skipped = v;
	v = &v[l->nskipped];
	r = buf_add(&b, sql, len > RS_LOG_SQL_MAX ? RS_LOG_SQL_MAX : len);
	if (r == 0 && len > RS_LOG_SQL_MAX)
		r = buf_addstr(&b, " ...");
	v->sql = buf_detach(&b, NULL);
	v->where = strdup(where ? where : "");
	v->reason = strdup(reason);
	buf_release(&b);
	if (r < 0 || !v->sql || !v->where || !v->reason) {
		free(v->sql);
		free(v->where);
		free(v->reason);
		return -ENOMEM;
	}
	l->nskipped++;
	return 0;
}

int rs_log_lo_created(struct rs_log *l, uint32_t oid)
{
	uint32_t *v = realloc(l->lo_created, (l->nlo_created + 1) * sizeof(*v));

	if (!v)
		return -ENOMEM;
	l->lo_created = v;
	v[l->nlo_created++] = oid;
	return 0;
}

/* "key": ["a", "b"] */
static int rs_log_strv(struct buf *out, const char *key, char *const *v, size_t n)
{
	int r = buf_addf(out, "\"%s\": ", key);

	return r ? r : pg_names_quote_json_array(out, v, n);
}

static int rs_log_kv(struct buf *out, const char *indent, const char *key,
		     const char *val, int last)
{
	int r = buf_addf(out, "%s\"%s\": ", indent, key);

	if (r == 0)
		r = val ? pg_names_quote_json(out, val) : buf_addstr(out, "null");
	return r ? r : buf_addstr(out, last ? "\n" : ",\n");
}

static int rs_log_num(struct buf *out, int64_t v)
{
	return v < 0 ? buf_addstr(out, "null") : buf_addf(out, "%lld", (long long)v);
}

static int rs_log_json_table(const struct rs_log_table *t, struct buf *out)
{
	int r = buf_addstr(out, "    {\"schema\": ");

	if (r == 0)
		r = pg_names_quote_json(out, t->schema);
	if (r == 0)
		r = buf_addstr(out, ", \"name\": ");
	if (r == 0)
		r = pg_names_quote_json(out, t->name);
	if (r == 0)
		r = buf_addstr(out, ", \"load\": ");
	if (r == 0)
		r = t->load ? pg_names_quote_json(out, t->load) : buf_addstr(out, "null");
	if (r == 0)
		r = buf_addf(out, ", \"created\": %s", t->created ? "true" : "false");
	if (r == 0)
		r = buf_addstr(out, ", \"rows_before\": ");
	if (r == 0)
		r = rs_log_num(out, t->before);
	if (r == 0)
		r = buf_addstr(out, ", \"rows_after\": ");
	if (r == 0)
		r = rs_log_num(out, t->after);
	if (r == 0)
		r = buf_addf(out, ", \"inserted\": %llu, \"updated\": %llu, \"skipped\": %llu, \"skip_reason\": ",
			     (unsigned long long)t->inserted, (unsigned long long)t->updated,
			     (unsigned long long)t->skipped);
	if (r == 0)
		r = t->skip_reason ? pg_names_quote_json(out, t->skip_reason) :
		    buf_addstr(out, "null");
	if (r == 0)
		r = buf_addf(out, ", \"verified\": %s",
			     t->verified < 0 ? "null" : t->verified ? "true" : "false");
	if (r == 0 && t->verified >= 0)
		r = buf_addf(out, ", \"expected\": {\"rows\": %llu, \"xxh3_128\": \"%s\"}, \"got\": {\"rows\": %llu, \"xxh3_128\": \"%s\"}",
			     (unsigned long long)t->expected_rows, t->expected,
			     (unsigned long long)t->got_rows, t->got);
	return r ? r : buf_addch(out, '}');
}

int rs_log_json(const struct rs_log *l, struct buf *out)
{
	int r = buf_addstr(out, "{\n  \"format\": \"vault-restore-log-1\",\n");

	if (r == 0)
		r = rs_log_kv(out, "  ", "started", l->started, 0);
	if (r == 0)
		r = rs_log_kv(out, "  ", "snapshot", l->snapshot, 0);
	if (r == 0)
		r = rs_log_kv(out, "  ", "target", l->target, 0);
	if (r == 0)
		r = rs_log_kv(out, "  ", "mode", l->mode, 0);
	if (r == 0)
		r = rs_log_kv(out, "  ", "on_conflict", l->on_conflict, 0);
	if (r == 0)
		r = buf_addf(out, "  \"selection\": %s,\n", l->selection ? l->selection : "null");
	if (r == 0)
		r = buf_addf(out, "  \"managed_target\": %s,\n", l->managed ? "true" : "false");
	if (r == 0)
		r = rs_log_kv(out, "  ", "safety_snapshot", l->safety_snapshot, 0);
	if (r == 0)
		r = buf_addstr(out, "  \"tables\": [");
	for (size_t i = 0; i < l->ntables && r == 0; i++) {
		r = buf_addstr(out, i ? ",\n" : "\n");
		if (r == 0)
			r = rs_log_json_table(&l->tables[i], out);
	}
	if (r == 0)
		r = buf_addstr(out, l->ntables ? "\n  ],\n  \"skipped_statements\": [" :
			       "],\n  \"skipped_statements\": [");
	for (size_t i = 0; i < l->nskipped && r == 0; i++) {
		r = buf_addstr(out, i ? ",\n    {\"where\": " : "\n    {\"where\": ");
		if (r == 0)
			r = pg_names_quote_json(out, l->skipped[i].where);
		if (r == 0)
			r = buf_addstr(out, ", \"statement\": ");
		if (r == 0)
			r = pg_names_quote_json(out, l->skipped[i].sql);
		if (r == 0)
			r = buf_addstr(out, ", \"reason\": ");
		if (r == 0)
			r = pg_names_quote_json(out, l->skipped[i].reason);
		if (r == 0)
			r = buf_addch(out, '}');
	}
	if (r == 0)
		r = buf_addstr(out, l->nskipped ? "\n  ],\n" : "],\n");
	if (r == 0 && l->lo) {
		r = buf_addf(out, "  \"large_objects\": {\"created\": %zu, \"kept\": %llu, \"verified\": %llu",
			     l->nlo_created, (unsigned long long)l->lo_kept,
			     (unsigned long long)l->lo_verified);
		if (r == 0 && l->lo_unlinked)
			r = buf_addf(out, ", \"unlinked\": %llu",
				     (unsigned long long)l->lo_unlinked);
		if (r == 0)
			r = buf_addstr(out, "},\n");
	} else if (r == 0) {
		r = buf_addstr(out, "  \"large_objects\": null,\n");
	}
	if (r == 0)
		r = buf_addstr(out, "  \"large_objects_created\": [");
	for (size_t i = 0; i < l->nlo_created && r == 0; i++)
		r = buf_addf(out, i ? ", %u" : "%u", l->lo_created[i]);
	if (r == 0)
		r = buf_addstr(out, "],\n");
	if (r == 0)
		r = rs_log_kv(out, "  ", "strategy", l->strategy, 0);
	if (r == 0)
		r = rs_log_kv(out, "  ", "undo", l->undo, 0);
	if (r == 0)
		r = rs_log_kv(out, "  ", "rollback_of", l->rollback_of, 0);
	/* how `vault rollback` drops what an empty-mode restore created */
	if (r == 0 && l->nrb_stmts) {
		r = buf_addstr(out, "  \"rollback\": {");
		if (r == 0)
			r = rs_log_strv(out, "statements", l->rb_stmts, l->nrb_stmts);
		if (r == 0)
			r = buf_addstr(out, ", ");
		if (r == 0)
			r = rs_log_strv(out, "created", l->rb_created, l->nrb_created);
		if (r == 0)
			r = buf_addstr(out, ", ");
		if (r == 0)
			r = rs_log_strv(out, "changed", l->rb_changed, l->nrb_changed);
		if (r == 0)
			r = buf_addstr(out, "},\n");
	} else if (r == 0 && l->rb_impossible) {
		r = buf_addstr(out, "  \"rollback\": {\"impossible\": ");
		if (r == 0)
			r = pg_names_quote_json(out, l->rb_impossible);
		if (r == 0)
			r = buf_addstr(out, "},\n");
	} else if (r == 0) {
		r = buf_addstr(out, "  \"rollback\": null,\n");
	}
	if (r == 0)
		r = rs_log_kv(out, "  ", "verification", l->verification ? l->verification : "not run", 0);
	if (r == 0)
		r = rs_log_kv(out, "  ", "verify", l->verify, 0);
	if (r == 0)
		r = buf_addf(out, "  \"duration_ms\": %llu,\n", (unsigned long long)l->duration_ms);
	if (r == 0)
		r = rs_log_kv(out, "  ", "status", l->status, 0);
	if (r == 0)
		r = rs_log_kv(out, "  ", "error", l->error, 1);
	return r ? r : buf_addstr(out, "}\n");
}

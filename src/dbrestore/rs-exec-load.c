/*
 * rs-exec-load: the rows, streamed from the snapshot into the target.
 *
 * Each table's data.sql goes through COPY ... FROM STDIN in pieces of at
 * most RS_EXEC_LOAD_CHUNK bytes, whatever the input pushes, so memory
 * stays bounded; the bytes are counted and hashed (XXH3-128) on the way
 * and must match meta.json, or the snapshot is damaged and the restore
 * rolls back.  Merge mode copies into a temporary table and inserts from
 * it with ON CONFLICT (primary key) DO NOTHING or DO UPDATE, counting
 * the rows inserted, updated and kept.  Both strategies load through
 * here: the one transaction table after table (rs_exec_load), the
 * parallel workers one table each (rs_exec_copy_in).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "pg-copyrow.h"
#include "pg-names.h"
#include "rs-exec-int.h"

#define RS_EXEC_LOAD_CHUNK	(256u << 10)

/* ---- rows ------------------------------------------------------------------ */

struct rs_exec_load_stream {
	XXH3_state_t *h;
	char *joined;		/* hold + one chunk */
	uint64_t rows, bytes;
	int header_done;
	char hold[3];		/* the last bytes: "\\.\n" is not data */
	size_t nhold;
	/* head_on: the file may start with the header an older capture
	 * wrote for a name holding a newline (raw, over several lines),
	 * head; head_pos of its bytes matched so far */
	struct buf head;
	size_t head_pos;
	int head_on;
};

/*
 * The COPY line as captures before U&"..." headers wrote it, when one of
 * t's names holds a newline: that line spans lines, so it is skipped by
 * its length when the file starts with it (s->head_on).
 */
static int rs_exec_load_old_head(struct rs_exec_load_stream *s,
				 const struct rs_meta_table *t)
{
	struct pg_copyrow_table ct = { t->schema, t->name, t->cols, t->ncols };
	int r = pg_copyrow_old_head(&s->head, &ct);

	s->head_on = r > 0;
	return r < 0 ? r : 0;
}

/* Feeds buf[0..n) of data.sql: skips the COPY line, holds back the
 * last three bytes; hands the rest to the server. */
static int rs_exec_load_feed(struct rs_exec *x, struct rs_exec_load_stream *s,
			     const char *p, size_t n)
{
	char *joined = s->joined;
	size_t len, keep;

	/* an older header over several lines: as long as it matches (a
	 * header of today differs before the name's newline, at its U&) */
	while (s->head_on && n && !s->header_done) {
		if ((uint8_t)*p != s->head.data[s->head_pos]) {
			s->head_on = 0;
			break;
		}
		p++;
		n--;
		s->header_done = ++s->head_pos == s->head.len;
	}
	if (!n)
		return 0;
	if (!s->header_done) {
		const char *nl = memchr(p, '\n', n);

		if (!nl)
			return 0;	/* header longer than a chunk: keep skipping */
		s->header_done = 1;
		n -= (size_t)(nl + 1 - p);
		p = nl + 1;
	}
	memcpy(joined, s->hold, s->nhold);
	memcpy(joined + s->nhold, p, n);
	len = s->nhold + n;
	keep = len < 3 ? len : 3;
	memcpy(s->hold, joined + len - keep, keep);
	s->nhold = keep;
	len -= keep;
	if (!len)
		return 0;
	XXH3_128bits_update(s->h, joined, len);
	s->bytes += len;
	/* memchr scans a word at a time: a byte loop cost a tenth of the
	 * client's time on bench/run-restore */
	for (const char *q = joined, *end = joined + len;
	     (q = memchr(q, '\n', (size_t)(end - q))); q++)
		s->rows++;
	if (PQputCopyData(x->c, joined, (int)len) != 1)
		return -ECONNRESET;
	return 0;
}

struct rs_exec_load_sink {
	struct rs_exec *x;
	struct rs_exec_load_stream *s;
	const char *label;
};

/* The rs_input sink for data.sql: hands the server pieces of at most
 * RS_EXEC_LOAD_CHUNK bytes, whatever size the input pushes. */
static int rs_exec_load_sink(void *ctx, const void *p, size_t n)
{
	struct rs_exec_load_sink *k = ctx;
	const char *c = p;
	int r = 0;

	while (n && r == 0) {
		size_t take = n < RS_EXEC_LOAD_CHUNK ? n : RS_EXEC_LOAD_CHUNK;

		r = rs_exec_interrupted(k->x);
		if (r == 0)
			r = rs_exec_load_feed(k->x, k->s, c, take);
		if (r == -ECONNRESET) {
			struct buf what = BUF_INIT;

			buf_addf(&what, "table %s: COPY", k->label);
			r = rs_exec_stmt_fail(k->x, NULL, (char *)what.data);
			buf_release(&what);
		}
		c += take;
		n -= take;
	}
	return r;
}

/* Streams table t's data.sql into a running COPY ... FROM STDIN and
 * checks what was read against meta.json.  The file is pushed through
 * (rs_input_stream): memory stays bounded whatever the table's size. */
static int rs_exec_load_stream_rows(struct rs_exec *x, const struct rs_meta_table *t,
				    const char *label)
{
	struct rs_exec_load_stream s;
	struct rs_exec_load_sink k = { x, &s, label };
	struct buf path = BUF_INIT;
	int r;

	memset(&s, 0, sizeof(s));
	buf_init(&s.head, 0);
	s.h = XXH3_createState();
	s.joined = malloc(RS_EXEC_LOAD_CHUNK + 3);
	if (!s.h || !s.joined || rs_exec_load_old_head(&s, t) < 0) {
		free(s.joined);
		XXH3_freeState(s.h);
		buf_release(&s.head);
		PQputCopyEnd(x->c, "out of memory");
		return -ENOMEM;
	}
	XXH3_128bits_reset(s.h);
	r = buf_addf(&path, "%s/data.sql", t->path);
	if (r == 0)
		r = rs_input_stream(x->in, (char *)path.data, rs_exec_load_sink, &k,
				    x->err);
	if (r == 0) {
		XXH128_hash_t d = XXH3_128bits_digest(s.h);
		XXH128_canonical_t cn;
		char hex[33];

		XXH128_canonicalFromHash(&cn, d);
		hex_encode(hex, cn.digest, sizeof(cn.digest));
		if (s.nhold != 3 || memcmp(s.hold, "\\.\n", 3) || !s.header_done ||
		    s.rows != t->rows || strcmp(hex, t->xxh3)) {
			if (x->err)
				buf_addf(x->err, "table %s: the snapshot's rows (%llu, xxh3 %s) do not match its meta.json (%llu, %s): damaged snapshot",
					 label, (unsigned long long)s.rows, hex,
					 (unsigned long long)t->rows, t->xxh3);
			r = -EBADMSG;
		}
	}
	PQputCopyEnd(x->c, r == 0 ? NULL : "vault: restore aborted");
	free(s.joined);
	XXH3_freeState(s.h);
	buf_release(&s.head);
	buf_release(&path);
	return r;
}

/* COPY target (cols) FROM STDIN from the snapshot; rows loaded in *n. */
int rs_exec_copy_in(struct rs_exec *x, const struct rs_meta_table *t,
		    const char *target, uint64_t *n)
{
	struct buf sql = BUF_INIT, label = BUF_INIT;
	PGresult *res;
	int r, r2;

	r = buf_addf(&sql, "COPY %s", target);
	for (size_t c = 0; c < t->ncols && r == 0; c++) {
		r = buf_addstr(&sql, c ? ", " : " (");
		if (r == 0)
			r = pg_names_quote_ident(&sql, t->cols[c]);
	}
	if (r == 0)
		r = buf_addstr(&sql, t->ncols ? ") FROM STDIN" : " FROM STDIN");
	if (r == 0 && x->copy_freeze)
		r = buf_addstr(&sql, " WITH (FREEZE)");
	if (r == 0)
		r = buf_addf(&label, "%s.%s", t->schema, t->name);
	if (r < 0)
		goto out;
	res = PQexec(x->c, (char *)sql.data);
	if (!res || PQresultStatus(res) != PGRES_COPY_IN) {
		struct buf what = BUF_INIT;

		buf_addf(&what, "table %s: COPY", (char *)label.data);
		r = rs_exec_stmt_fail(x, res, (char *)what.data);
		buf_release(&what);
		PQclear(res);
		goto out;
	}
	PQclear(res);
	r = rs_exec_load_stream_rows(x, t, (char *)label.data);
	/* the COPY's own result, also after an abort */
	r2 = 0;
	while ((res = PQgetResult(x->c))) {
		if (PQresultStatus(res) != PGRES_COMMAND_OK && r == 0) {
			struct buf what = BUF_INIT;

			buf_addf(&what, "table %s: COPY", (char *)label.data);
			r2 = rs_exec_stmt_fail(x, res, (char *)what.data);
			buf_release(&what);
		} else if (PQresultStatus(res) == PGRES_COMMAND_OK && n) {
			*n = strtoull(PQcmdTuples(res), NULL, 10);
		}
		PQclear(res);
	}
	if (r == 0)
		r = r2;
	if (r == 0 && PQstatus(x->c) == CONNECTION_BAD)
		r = rs_exec_stmt_fail(x, NULL, "COPY");
out:
	buf_release(&sql);
	buf_release(&label);
	return r;
}

/* ---- merge ------------------------------------------------------------------ */

int rs_exec_load_pk_list(struct buf *b, const struct rs_meta_table *t,
			 const char *prefix)
{
	int r = buf_addch(b, '(');

	for (size_t c = 0; c < t->npk && r == 0; c++) {
		r = buf_addf(b, "%s%s", c ? ", " : "", prefix);
		if (r == 0)
			r = pg_names_quote_ident(b, t->pk[c]);
	}
	return r ? r : buf_addch(b, ')');
}

static int rs_exec_load_is_pk(const struct rs_meta_table *t, const char *col)
{
	for (size_t i = 0; i < t->npk; i++)
		if (!strcmp(t->pk[i], col))
			return 1;
	return 0;
}

int rs_exec_load_tmp_name(struct buf *b, size_t i)
{
	buf_reset(b);
	return buf_addf(b, "pg_temp.vault_restore_%zu", i);
}

/* merge: COPY into a temporary table, then INSERT ... ON CONFLICT */
static int rs_exec_load_merge(struct rs_exec *x, size_t i, struct rs_log_table *lt)
{
	const struct rs_meta_table *t = x->p->tables[i].t;
	struct buf sql = BUF_INIT, tmp = BUF_INIT, cols = BUF_INIT, what = BUF_INIT;
	PGresult *res = NULL;
	uint64_t loaded = 0;
	int r, update = x->p->on_conflict == RS_ON_CONFLICT_UPDATE, nonkey = 0;

	r = rs_exec_load_tmp_name(&tmp, i);
	for (size_t c = 0; c < t->ncols && r == 0; c++) {
		if (c)
			r = buf_addstr(&cols, ", ");
		if (r == 0)
			r = pg_names_quote_ident(&cols, t->cols[c]);
		nonkey += !rs_exec_load_is_pk(t, t->cols[c]);
	}
	/* the target's own column types, no constraints, no defaults */
	if (r == 0)
		r = buf_addf(&sql, "CREATE TEMPORARY TABLE %s ON COMMIT DROP AS SELECT %s FROM ONLY ",
			     (char *)tmp.data, (char *)cols.data);
	if (r == 0)
		r = pg_names_quote_qualified(&sql, t->schema, t->name);
	if (r == 0)
		r = buf_addstr(&sql, " WITH NO DATA");
	if (r == 0)
		r = buf_addf(&what, "table %s.%s: temporary table", t->schema, t->name);
	if (r == 0)
		r = rs_exec_cmd(x, (char *)sql.data, (char *)what.data);
	if (r == 0)
		r = rs_exec_copy_in(x, t, (char *)tmp.data, &loaded);
	if (r < 0)
		goto out;
	buf_reset(&sql);
	r = buf_addstr(&sql, "WITH ins AS (INSERT INTO ");
	if (r == 0)
		r = pg_names_quote_qualified(&sql, t->schema, t->name);
	if (r == 0)
		r = buf_addf(&sql, " AS t (%s) OVERRIDING SYSTEM VALUE SELECT %s FROM %s ON CONFLICT ",
			     (char *)cols.data, (char *)cols.data, (char *)tmp.data);
	if (r == 0)
		r = rs_exec_load_pk_list(&sql, t, "");
	if (r == 0 && (!update || !nonkey)) {
		r = buf_addstr(&sql, " DO NOTHING");
	} else if (r == 0) {
		int first = 1;

		r = buf_addstr(&sql, " DO UPDATE SET ");
		for (size_t c = 0; c < t->ncols && r == 0; c++) {
			if (rs_exec_load_is_pk(t, t->cols[c]))
				continue;
			r = buf_addstr(&sql, first ? "" : ", ");
			if (r == 0)
				r = pg_names_quote_ident(&sql, t->cols[c]);
			if (r == 0)
				r = buf_addstr(&sql, " = EXCLUDED.");
			if (r == 0)
				r = pg_names_quote_ident(&sql, t->cols[c]);
			first = 0;
		}
	}
	/* xmax is 0 on a row the INSERT created, set on one it updated */
	if (r == 0)
		r = buf_addstr(&sql, " RETURNING (t.xmax = 0) AS fresh)"
			       " SELECT pg_catalog.count(*) FILTER (WHERE fresh),"
			       " pg_catalog.count(*) FILTER (WHERE NOT fresh) FROM ins");
	buf_reset(&what);
	if (r == 0)
		r = buf_addf(&what, "table %s.%s: merge", t->schema, t->name);
	if (r == 0) {
		res = PQexec(x->c, (char *)sql.data);
		if (!res || PQresultStatus(res) != PGRES_TUPLES_OK) {
			r = rs_exec_stmt_fail(x, res, (char *)what.data);
		} else {
			lt->inserted = strtoull(PQgetvalue(res, 0, 0), NULL, 10);
			lt->updated = strtoull(PQgetvalue(res, 0, 1), NULL, 10);
			lt->skipped = loaded - lt->inserted - lt->updated;
		}
	}
out:
	PQclear(res);
	buf_release(&sql);
	buf_release(&tmp);
	buf_release(&cols);
	buf_release(&what);
	return r;
}

int rs_exec_load(struct rs_exec *x)
{
	struct rs_plan *p = x->p;
	struct buf q = BUF_INIT;
	int r = rs_exec_cmd(x, "SET CONSTRAINTS ALL DEFERRED", "deferring constraints");

	if (r == 0 && p->replica)
		r = rs_exec_cmd(x, "SET session_replication_role = replica",
				"loading a foreign-key cycle");
	for (size_t i = 0; i < p->ntables && r == 0; i++) {
		const struct rs_plan_table *t = &p->tables[i];
		struct rs_log_table *lt = x->lt[i];
		uint64_t n = 0;

		if (t->load == RS_LOAD_NONE || (x->done && x->done[i]))
			continue;
		rs_exec_step(x, "load", t->t);
		if (t->load == RS_LOAD_MERGE) {
			r = rs_exec_load_merge(x, i, lt);
			continue;
		}
		buf_reset(&q);
		r = pg_names_quote_qualified(&q, t->t->schema, t->t->name);
		if (r == 0)
			r = rs_exec_copy_in(x, t->t, (char *)q.data, &n);
		lt->inserted = n;
	}
	buf_release(&q);
	return r;
}

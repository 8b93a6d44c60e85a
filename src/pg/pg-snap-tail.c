/*
 * pg-snap-tail: a table that only received inserts since the previous
 * snapshot, every new row above the old last key, is read from its tail
 * only (doc/design.md, "Tables that only grew"; the fields are in
 * formats/db-layout.md, "Appended tables").
 *
 * Every capture records, per table read in primary-key order, the key
 * of its last row (the text of each key column) and the state of its
 * rows' checksum after that row (pg-hashstate.h).  The next capture,
 * when the table's statistics record differs from the previous one only
 * by a larger insert counter (pg-snap-proof.c holds the rest of the
 * rule: a quiet capture in the same era), reads
 *   COPY (SELECT cols FROM ONLY t WHERE (pk...) > (key...) ORDER BY pk...)
 * and keeps it only when it holds exactly as many rows as inserts were
 * counted: the counters count every inserted tuple, aborted ones too, so
 * inserts >= new visible rows >= rows above the old key, and equality
 * means every insert is a visible row above the old key; with the
 * update and delete counters unchanged no old row changed.  data.sql is
 * then the previous one without its "\." line, then the tail (the sink
 * continues the stored chunks), and the checksum continues the saved
 * state.  Anything else reads the whole table; the condition is tried
 * under a savepoint first, so a refused literal costs a whole read, not
 * the snapshot transaction.
 *
 * Only key columns whose text form reads back as the same value are
 * trusted with a literal: the types of pg_snap_tail_types.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <libpq-fe.h>

#include "pg-copyrow.h"
#include "pg-names.h"
#include "pg-snap-int.h"
#include "strv.h"

/* Key column types read back exactly from their text: oid and cast. */
static const struct {
	unsigned oid;
	const char *cast;
} pg_snap_tail_types[] = {
	{ 21, "pg_catalog.int2" },
	{ 23, "pg_catalog.int4" },
	{ 20, "pg_catalog.int8" },
	{ 25, "pg_catalog.text" },
	{ 1043, "pg_catalog.varchar" },
	{ 2950, "pg_catalog.uuid" },
};

static const char pg_snap_tail_cols_sql[] =
	"SELECT a.attname, a.atttypid::pg_catalog.int8"
	" FROM pg_catalog.pg_attribute a"
	" WHERE a.attrelid = $1::pg_catalog.oid AND a.attnum > 0"
	" AND NOT a.attisdropped";

/* A key value fit for meta.json and a literal: printable ASCII (any
 * other byte would depend on the JSON and client encodings). */
static int pg_snap_tail_key_ok(const char *v, size_t n)
{
	if (strlen(v) != n)
		return 0;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)v[i] < 0x20 || (unsigned char)v[i] > 0x7e)
			return 0;
	return 1;
}

int pg_snap_tail_parse(const struct json *pt, size_t npk, char ***key,
		       struct pg_hashstate *st)
{
	const struct json *k = json_get(pt, "last_key");
	const char *state = json_get_str(pt, "xxh3_state");
	char **v = NULL;
	size_t nv = 0;
	int r = 0;

	*key = NULL;
	if (!npk || !k || json_len(k) != npk || !state ||
	    pg_hashstate_decode(st, state) < 0)
		return 0;
	for (size_t i = 0; i < npk && r == 0; i++) {
		size_t len = 0;
		const char *s = json_str(json_at(k, i), &len);

		if (!s || !pg_snap_tail_key_ok(s, len))
			r = 1;	/* not a key we wrote */
		else
			r = strv_push(&v, &nv, s);
	}
	if (r == 0) {
		*key = v;
		return 1;
	}
	strv_free(v, nv);
	return r < 0 ? r : 0;
}

/* The table's statistics record ("oid/relfilenode/ins/upd/del/hash")
 * split at '/': 1, or 0 when it is not one. */
static int pg_snap_tail_split(const char *rec, const char *f[6], size_t n[6])
{
	for (size_t i = 0; i < 6; i++) {
		const char *e = strchr(rec, '/');

		if ((i < 5) != (e != NULL))
			return 0;
		f[i] = rec;
		n[i] = e ? (size_t)(e - rec) : strlen(rec);
		rec = e ? e + 1 : rec;
	}
	return 1;
}

static int pg_snap_tail_count(const char *f, size_t n, uint64_t *v)
{
	char num[24], *end;

	if (!n || n >= sizeof(num) || f[0] < '0' || f[0] > '9')
		return 0;
	memcpy(num, f, n);
	num[n] = 0;
	errno = 0;
	*v = strtoull(num, &end, 10);
	return !*end && !errno;
}

/* Inserts counted since the previous record, when nothing else moved:
 * 1 with *delta > 0, or 0. */
static int pg_snap_tail_delta(const char *then, const char *now,
			      uint64_t *delta)
{
	const char *a[6], *b[6];
	size_t an[6], bn[6];
	uint64_t x, y;

	if (!then || !now || !pg_snap_tail_split(then, a, an) ||
	    !pg_snap_tail_split(now, b, bn))
		return 0;
	for (size_t i = 0; i < 6; i++)
		if (i != 2 && (an[i] != bn[i] || memcmp(a[i], b[i], an[i])))
			return 0;
	if (!pg_snap_tail_count(a[2], an[2], &x) ||
	    !pg_snap_tail_count(b[2], bn[2], &y) || y <= x)
		return 0;
	*delta = y - x;
	return 1;
}

/* " WHERE (pk1, pk2) > ('v1'::type1, 'v2'::type2)" for table i, when
 * every key column has a type of pg_snap_tail_types: 1, 0 when one has
 * not, or -errno. */
static int pg_snap_tail_where(struct pg_snap *s, size_t i, char **key,
			      struct buf *b)
{
	const struct pg_catalog_table *t = &s->cat.tables[i];
	char oid[16];
	const char *param[1] = { oid };
	PGresult *res;
	int r, found = 0;

	snprintf(oid, sizeof(oid), "%u", t->oid);
	r = pg_conn_query(s->main, &res, PGRES_TUPLES_OK, pg_snap_tail_cols_sql,
			  1, param, "key columns", NULL);
	if (r < 0)
		return r;
	r = buf_addstr(b, " WHERE (");
	for (size_t c = 0; c < t->npk && r == 0; c++) {
		r = c ? buf_addstr(b, ", ") : 0;
		if (r == 0)
			r = pg_names_quote_ident(b, t->pk[c]);
	}
	if (r == 0)
		r = buf_addstr(b, ") > (");
	for (size_t c = 0; c < t->npk && r == 0; c++) {
		const char *cast = NULL;
		char *lit;

		for (int k = 0; k < PQntuples(res) && !cast; k++) {
			unsigned long ty = strtoul(PQgetvalue(res, k, 1), NULL, 10);

			if (strcmp(PQgetvalue(res, k, 0), t->pk[c]))
				continue;
			for (size_t w = 0; w < sizeof(pg_snap_tail_types) /
			     sizeof(pg_snap_tail_types[0]); w++)
				if (pg_snap_tail_types[w].oid == ty)
					cast = pg_snap_tail_types[w].cast;
			break;
		}
		if (!cast)
			break;
		lit = PQescapeLiteral(s->main, key[c], strlen(key[c]));
		if (!lit) {
			r = -ENOMEM;
			break;
		}
		r = buf_addf(b, "%s%s::%s", c ? ", " : "", lit, cast);
		PQfreemem(lit);
		found = r == 0 && c + 1 == t->npk;
	}
	PQclear(res);
	if (r == 0 && found)
		r = buf_addch(b, ')');
	return r < 0 ? r : found;
}

/* The tail's condition where, tried on the main connection under the
 * snapshot (the workers will run it there too): 1 when it runs, else
 * pg_conn_query's -errno (-EIO: the server refused it). */
static int pg_snap_tail_probe(struct pg_snap *s, size_t i, const char *where)
{
	const struct pg_catalog_table *t = &s->cat.tables[i];
	struct buf q = BUF_INIT;
	PGresult *res;
	int r = buf_addstr(&q, "SELECT 1 FROM ONLY ");

	if (r == 0)
		r = pg_names_quote_qualified(&q, t->schema, t->name);
	if (r == 0)
		r = buf_addf(&q, "%s LIMIT 1", where);
	if (r == 0)
		r = pg_conn_query(s->main, &res, PGRES_TUPLES_OK,
				  (const char *)q.data, 0, NULL, "tail", NULL);
	if (r == 0)
		PQclear(res);
	buf_release(&q);
	return r == 0 ? 1 : r;
}

/* The tail's condition for table i into *where (NULL: none), inside a
 * savepoint: a refused query must not end the snapshot transaction,
 * and any doubt means reading the table whole.  0 or -errno (a lost
 * connection, memory). */
static int pg_snap_tail_condition(struct pg_snap *s, size_t i, char **key,
				  char **where)
{
	struct buf b = BUF_INIT;
	int r = pg_conn_exec(s->main, "SAVEPOINT vault_tail", "tail", NULL);

	*where = NULL;
	if (r < 0)
		return r;
	/* 0: a key type we do not trust */
	r = pg_snap_tail_where(s, i, key, &b);
	if (r == 1)
		r = pg_snap_tail_probe(s, i, (const char *)b.data);
	if (r == 1 && !(*where = buf_detach(&b, NULL)))
		r = -ENOMEM;
	buf_release(&b);
	if (r == -ENOMEM || r == -ECONNRESET)
		return r;
	return pg_conn_exec(s->main, r < 0 ? "ROLLBACK TO SAVEPOINT vault_tail"
			    : "RELEASE SAVEPOINT vault_tail", "tail", NULL);
}

/* A reused table keeps the previous snapshot's key and state. */
static int pg_snap_tail_keep(struct pg_snap_tail *x, char **key, size_t npk)
{
	struct buf b = BUF_INIT;
	int r = pg_names_quote_json_array(&b, key, npk);

	if (r == 0)
		x->last_key = buf_detach(&b, NULL);
	buf_reset(&b);
	if (r == 0 && !x->last_key)
		r = -ENOMEM;
	if (r == 0)
		r = pg_hashstate_encode(&b, &x->resume);
	if (r == 0 && !(x->state = buf_detach(&b, NULL)))
		r = -ENOMEM;
	buf_release(&b);
	return r;
}

/* Table i becomes a tail candidate when its record moved by inserts
 * only and the previous snapshot's rows, key and state are usable. */
static int pg_snap_tail_plan(struct pg_snap *s, size_t i,
			     const struct json *pt, char **key)
{
	struct pg_snap_tail *x = &s->tail[i];
	int64_t rows, bytes;
	const char *xx = json_get_str(pt, "xxh3_128");
	int r;

	if (!pg_snap_tail_delta(json_get_str(pt, "unchanged_proof"),
				s->tables[i].proof, &x->delta) ||
	    !xx || strlen(xx) != 32 ||
	    json_int(json_get(pt, "rows"), &rows) < 0 || rows <= 0 ||
	    json_int(json_get(pt, "bytes"), &bytes) < 0 || bytes <= 0)
		return 0;
	r = pg_snap_tail_condition(s, i, key, &x->where);
	if (r == 0 && x->where) {
		x->candidate = 1;
		x->prev_rows = (uint64_t)rows;
		x->prev_bytes = (uint64_t)bytes;
	}
	return r;
}

int pg_snap_tail_decide(struct pg_snap *s, size_t i, const struct json *pt)
{
	const struct pg_catalog_table *t = &s->cat.tables[i];
	struct pg_snap_tail *x = &s->tail[i];
	char **key = NULL;
	int r;

	if (!pt || !t->npk || t->extension)
		return 0;
	r = pg_snap_tail_parse(pt, t->npk, &key, &x->resume);
	if (r <= 0)
		return r;
	r = s->tables[i].reused ? pg_snap_tail_keep(x, key, t->npk)
		: pg_snap_tail_plan(s, i, pt, key);
	strv_free(key, t->npk);
	return r;
}

int pg_snap_tail_rows(struct pg_snap_tail *x, const void *p, size_t n)
{
	const char *q = p;
	size_t end = n, at;

	if (!n)
		return 0;
	/* p holds whole rows: the last one is after the one-but-last \n */
	if (q[end - 1] == '\n')
		end--;
	for (at = end; at > 0 && q[at - 1] != '\n'; at--)
		;
	buf_reset(&x->last_row);
	return buf_add(&x->last_row, q + at, end - at);
}

/* The key of the last row read, as a JSON array, or NULL (no key, a
 * column not captured, a value we would not trust to read back). */
static int pg_snap_tail_last_key(const struct pg_catalog_table *t,
				 const struct buf *row, char **out)
{
	char **v = NULL;
	size_t nv = 0;
	struct buf b = BUF_INIT;
	int r = 0;

	*out = NULL;
	for (size_t c = 0; c < t->npk && r == 0; c++) {
		const char *f = (const char *)row->data, *e;
		size_t col = 0;

		while (col < t->ncols && strcmp(t->cols[col], t->pk[c]))
			col++;
		if (col == t->ncols)
			r = 1;
		for (size_t k = 0; r == 0 && k < col; k++) {
			f = memchr(f, '\t', row->len - (size_t)(f - (const char *)row->data));
			r = f ? 0 : 1;
			f = f ? f + 1 : f;
		}
		if (r)
			break;
		e = memchr(f, '\t', row->len - (size_t)(f - (const char *)row->data));
		if (!e)
			e = (const char *)row->data + row->len;
		buf_reset(&b);
		r = pg_copyrow_unescape(f, (size_t)(e - f), &b);
		if (r == 0 && !pg_snap_tail_key_ok((char *)b.data, b.len))
			r = 1;
		if (r == 0)
			r = strv_push(&v, &nv, (char *)b.data);
	}
	buf_reset(&b);
	if (r == 0 && nv)
		r = pg_names_quote_json_array(&b, v, nv);
	if (r == 0 && nv && !(*out = buf_detach(&b, NULL)))
		r = -ENOMEM;
	buf_release(&b);
	strv_free(v, nv);
	return r < 0 ? r : 0;
}

int pg_snap_tail_end(struct pg_snap *s, size_t i,
		     const struct pg_copy_result *res)
{
	const struct pg_catalog_table *t = &s->cat.tables[i];
	struct pg_snap_tail *x = &s->tail[i];
	struct buf b = BUF_INIT;
	int r = 0;

	free(x->last_key);
	free(x->state);
	x->last_key = x->state = NULL;
	/* rows in key order, and only when the whole table is in them */
	if (!t->npk || t->extension || !res->state_ok || !res->rows)
		return 0;
	r = pg_snap_tail_last_key(t, &x->last_row, &x->last_key);
	if (r == 0 && x->last_key)
		r = pg_hashstate_encode(&b, &res->state);
	if (r == 0 && x->last_key && !(x->state = buf_detach(&b, NULL)))
		r = -ENOMEM;
	buf_release(&b);
	if (r == 0 && !x->state) {
		free(x->last_key);
		x->last_key = NULL;
	}
	return r;
}

int pg_snap_tail_meta(const struct pg_snap *s, size_t i, struct buf *b)
{
	const struct pg_snap_table *t = &s->tables[i];
	const struct pg_snap_tail *x = &s->tail[i];
	int r = buf_addf(b, ", \"captured\": \"%s\"", t->reused ? "reused" :
			 t->appended ? "appended" : "read");

	if (r == 0 && t->appended)
		r = buf_addf(b, ", \"appended_rows\": %llu",
			     (unsigned long long)t->appended_rows);
	if (r == 0)
		r = buf_addf(b, ", \"last_key\": %s", x->last_key ? x->last_key
			     : "null");
	if (r == 0)
		r = buf_addstr(b, ", \"xxh3_state\": ");
	if (r == 0)
		r = x->state ? pg_names_quote_json(b, x->state)
		    : buf_addstr(b, "null");
	return r;
}

int pg_snap_tail_new(struct pg_snap *s)
{
	s->tail = calloc(s->cat.ntables ? s->cat.ntables : 1, sizeof(*s->tail));
	for (size_t i = 0; s->tail && i < s->cat.ntables; i++)
		buf_init(&s->tail[i].last_row, 0);
	return s->tail ? 0 : -ENOMEM;
}

void pg_snap_tail_release(struct pg_snap *s)
{
	for (size_t i = 0; s->tail && i < s->cat.ntables; i++) {
		free(s->tail[i].where);
		free(s->tail[i].sql);
		free(s->tail[i].last_key);
		free(s->tail[i].state);
		buf_release(&s->tail[i].last_row);
	}
	free(s->tail);
	s->tail = NULL;
}

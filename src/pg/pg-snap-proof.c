/*
 * pg-snap-proof: what proves a table unchanged since the previous
 * snapshot of the same database, so its rows are not read again
 * (doc/design.md, "Tables that did not change"; the record is in
 * formats/db-layout.md, "unchanged_proof").
 *
 * The proof rests on the server's cumulative statistics, which count
 * every row a transaction inserts, updates or deletes (rolled back ones
 * too) and are kept in shared memory from PostgreSQL 15 on (older
 * servers send them over UDP, where a message may be lost: no proof
 * there).  A table's record is its oid, relfilenode (TRUNCATE, VACUUM
 * FULL, CLUSTER and rewriting ALTERs give a new one), its n_tup_ins,
 * n_tup_upd and n_tup_del, and a hash of the COPY that reads it; the
 * capture's record holds what makes those counters comparable: the
 * cluster (system identifier), the database oid, the server's start
 * time (a restart after a crash discards statistics), the database's
 * stats_reset (pg_stat_reset and pg_stat_reset_single_table_counters
 * both set it), and a hash of schema.sql, the extensions and the COPY
 * settings (a renamed enum value or an upgraded extension changes rows'
 * text without touching a row).
 *
 * Timing.  The counters are read twice: before the snapshot is taken
 * (a change counted then is visible to the snapshot) and after it; a
 * table whose counters moved in between gets no proof.  A backend
 * flushes its counts after its transaction ends, at most once a second,
 * and an idle one at the latest 10 s after it went idle; so the later
 * reading only counts every change the snapshot sees when no other
 * backend of the database is busy or was busy in the last 12 s
 * ("quiet"), known extension workers apart, whose schema's tables are
 * then read.  Only a quiet capture reuses tables; any capture records
 * its proofs, which are sound whatever the activity (a change counted
 * after the snapshot is counted before it too, or the table has none).
 * Anything unreadable or unexpected means no proof: the table is read.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>
#include <libpq-fe.h>

#include "json.h"
#include "pg-snap-int.h"
#include "strv.h"

/* PGSTAT_IDLE_INTERVAL (10 s) and a margin */
#define PG_SNAP_PROOF_QUIET	"12 seconds"

static const char pg_snap_proof_ident_sql[] =
	"SELECT d.oid::text || '/' || pg_catalog.current_setting('server_version_num')"
	" || '/' || coalesce(pg_catalog.pg_postmaster_start_time()::text, '')"
	" || '/' || coalesce(s.stats_reset::text, 'never'),"
	" pg_catalog.current_setting('track_counts') = 'on'"
	" AND NOT pg_catalog.pg_is_in_recovery()"
	" AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_db_role_setting r"
	"   WHERE pg_catalog.array_to_string(r.setconfig, ' ') LIKE '%track\\_counts%')"
	" FROM pg_catalog.pg_database d"
	" LEFT JOIN pg_catalog.pg_stat_database s ON s.datid = d.oid"
	" WHERE d.datname = pg_catalog.current_database()";

static const char pg_snap_proof_stats_sql[] =
	"SELECT s.relid, pg_catalog.pg_relation_filenode(s.relid)::text || '/'"
	" || s.n_tup_ins || '/' || s.n_tup_upd || '/' || s.n_tup_del"
	" FROM pg_catalog.pg_stat_all_tables s"
	" JOIN pg_catalog.pg_class c ON c.oid = s.relid"
	" WHERE c.relkind = 'r' AND c.relpersistence = 'p'"
	" ORDER BY s.relid";

/*
 * Backends of this database, ours and autovacuum's apart, that may hold
 * counts not yet flushed: one row per such backend, with the schema of
 * the known worker it is (NULL: not one).  A known worker is a
 * background worker of an extension that runs only the extension's own
 * statements, on the extension's own tables in that schema: pg_net's
 * worker (backend_type "pg_net <version> worker", or "pg_net worker":
 * the % may be empty; http_request_queue and _http_response in schema
 * net) and pg_cron's launcher
 * (job_run_details in schema cron; the jobs themselves run in other
 * backends, which are not known workers).  On a hosted Supabase project
 * both are always there and never idle for long (the launcher's state
 * is not even reported), so without them no capture would be quiet.
 * Their counts can only be missing in their own schema, whose tables
 * are then read (doc/design.md, "Tables that did not change").
 */
static const char pg_snap_proof_busy_sql[] =
	"SELECT w.schema FROM pg_catalog.pg_stat_activity a"
	" LEFT JOIN (VALUES ('pg\\_net %worker', 'net'),"
	"                   ('pg\\_cron launcher', 'cron'))"
	"   AS w(pattern, schema)"
	"   ON a.backend_type LIKE w.pattern"
	" WHERE a.datid = (SELECT oid FROM pg_catalog.pg_database"
	"                  WHERE datname = pg_catalog.current_database())"
	" AND a.pid <> pg_catalog.pg_backend_pid()"
	" AND a.backend_type IS DISTINCT FROM 'autovacuum worker'"
	" AND NOT (a.state IS NOT DISTINCT FROM 'idle' AND"
	"          a.state_change < pg_catalog.clock_timestamp() - interval '"
	PG_SNAP_PROOF_QUIET "')";

static int pg_snap_proof_stat_cmp(const void *a, const void *b)
{
	const struct pg_snap_stat *x = a, *y = b;

	return x->oid < y->oid ? -1 : x->oid > y->oid;
}

static void pg_snap_proof_stats_free(struct pg_snap_stat *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		free(v[i].text);
	free(v);
}

/* The identity row: *ident and *usable, or -errno. */
static int pg_snap_proof_ident(PGconn *c, char **ident, int *usable)
{
	PGresult *res;
	int r = pg_conn_query(c, &res, PGRES_TUPLES_OK, pg_snap_proof_ident_sql,
			      0, NULL, "statistics", NULL);

	*ident = NULL;
	if (r < 0)
		return r;
	if (PQntuples(res) != 1 || PQgetisnull(res, 0, 0)) {
		PQclear(res);
		return -EPROTO;
	}
	*ident = strdup(PQgetvalue(res, 0, 0));
	*usable = !strcmp(PQgetvalue(res, 0, 1), "t");
	PQclear(res);
	return *ident ? 0 : -ENOMEM;
}

/* Every permanent table's "relfilenode/ins/upd/del", sorted by oid. */
static int pg_snap_proof_stats(PGconn *c, struct pg_snap_stat **out,
			       size_t *n)
{
	PGresult *res;
	struct pg_snap_stat *v;
	int r = pg_conn_query(c, &res, PGRES_TUPLES_OK, pg_snap_proof_stats_sql,
			      0, NULL, "statistics", NULL);
	size_t nt;

	*out = NULL;
	*n = 0;
	if (r < 0)
		return r;
	nt = (size_t)PQntuples(res);
	v = calloc(nt ? nt : 1, sizeof(*v));
	for (size_t i = 0; v && i < nt; i++) {
		char *end;
		unsigned long oid = strtoul(PQgetvalue(res, (int)i, 0), &end, 10);

		if (*end || PQgetisnull(res, (int)i, 1)) {
			v[i].text = NULL;	/* no proof for it */
		} else {
			v[i].text = strdup(PQgetvalue(res, (int)i, 1));
			if (!v[i].text) {
				pg_snap_proof_stats_free(v, i);
				v = NULL;
				break;
			}
		}
		v[i].oid = (unsigned)oid;
	}
	PQclear(res);
	if (!v)
		return -ENOMEM;
	qsort(v, nt, sizeof(*v), pg_snap_proof_stat_cmp);
	*out = v;
	*n = nt;
	return 0;
}

static const char *pg_snap_proof_find(const struct pg_snap_stat *v, size_t n,
				      unsigned oid)
{
	struct pg_snap_stat key = { oid, NULL };
	const struct pg_snap_stat *f = bsearch(&key, v, n, sizeof(*v),
					       pg_snap_proof_stat_cmp);

	return f ? f->text : NULL;
}

void pg_snap_proof_before(struct pg_snap *s)
{
	PGresult *res;
	int usable = 0;

	if (s->cat.server_num < 150000)
		return;
	/* pg_control_system may be refused to this role: the database
	 * oid and the start time still tell clusters apart */
	if (pg_conn_query(s->main, &res, PGRES_TUPLES_OK,
			  "SELECT system_identifier::text FROM pg_catalog.pg_control_system()",
			  0, NULL, "statistics", NULL) == 0) {
		if (PQntuples(res) == 1)
			s->proof_sysid = strdup(PQgetvalue(res, 0, 0));
		PQclear(res);
	}
	if (pg_snap_proof_ident(s->main, &s->proof_ident, &usable) < 0 ||
	    !usable ||
	    pg_snap_proof_stats(s->main, &s->stats_before, &s->nstats_before) < 0) {
		free(s->proof_ident);
		s->proof_ident = NULL;
	}
}

static int pg_snap_proof_fresh(PGconn *c)
{
	PGresult *res;
	int r = pg_conn_query(c, &res, PGRES_TUPLES_OK,
			      "SELECT pg_catalog.pg_stat_clear_snapshot()", 0,
			      NULL, "statistics", NULL);

	if (r == 0)
		PQclear(res);
	return r;
}

/* The quiet check's rows: quiet when every busy backend is a known
 * worker, whose schema then goes to s->busy_schemas (once each). */
static int pg_snap_proof_busy(struct pg_snap *s, PGresult *res)
{
	int n = PQntuples(res);

	s->quiet = 1;
	for (int i = 0; i < n && s->quiet; i++) {
		const char *schema = PQgetvalue(res, i, 0);
		size_t j;

		if (PQgetisnull(res, i, 0)) {
			s->quiet = 0;
			break;
		}
		for (j = 0; j < s->nbusy_schemas; j++)
			if (!strcmp(s->busy_schemas[j], schema))
				break;
		if (j == s->nbusy_schemas &&
		    strv_push(&s->busy_schemas, &s->nbusy_schemas, schema) < 0)
			return -ENOMEM;
	}
	return 0;
}

/* Inside the snapshot transaction: the quiet check, then the second
 * reading, each table's record when both readings agree. */
static int pg_snap_proof_after_steps(struct pg_snap *s)
{
	struct pg_snap_stat *after = NULL;
	size_t nafter = 0;
	PGresult *res;
	char *ident = NULL;
	int usable = 0, r;

	/* statistics and activity read earlier in this transaction are
	 * cached: each reading starts afresh */
	r = pg_snap_proof_fresh(s->main);
	if (r == 0)
		r = pg_conn_query(s->main, &res, PGRES_TUPLES_OK,
				  pg_snap_proof_busy_sql, 0, NULL, "statistics",
				  NULL);
	if (r < 0)
		return r;
	r = pg_snap_proof_busy(s, res);
	PQclear(res);
	if (r < 0)
		return r;
	r = pg_snap_proof_fresh(s->main);
	if (r == 0)
		r = pg_snap_proof_ident(s->main, &ident, &usable);
	if (r == 0 && (!usable || strcmp(ident, s->proof_ident)))
		r = -ESTALE;	/* reset or restarted meanwhile */
	if (r == 0)
		r = pg_snap_proof_stats(s->main, &after, &nafter);
	for (size_t i = 0; r == 0 && i < s->cat.ntables; i++) {
		unsigned oid = s->cat.tables[i].oid;
		const char *b = pg_snap_proof_find(s->stats_before,
						   s->nstats_before, oid);
		const char *a = pg_snap_proof_find(after, nafter, oid);

		if (a && b && !strcmp(a, b) && !(s->stats[i] = strdup(a)))
			r = -ENOMEM;
	}
	free(ident);
	pg_snap_proof_stats_free(after, nafter);
	return r;
}

int pg_snap_proof_after(struct pg_snap *s, struct buf *err)
{
	int r;

	s->stats = calloc(s->cat.ntables ? s->cat.ntables : 1, sizeof(char *));
	if (!s->stats)
		return -ENOMEM;
	if (!s->proof_ident)
		return 0;
	/* a refused query must not end the snapshot transaction */
	r = pg_conn_exec(s->main, "SAVEPOINT vault_proof", "statistics", err);
	if (r < 0)
		return r;
	r = pg_snap_proof_after_steps(s);
	if (r == -ENOMEM || r == -ECONNRESET)
		return r;
	if (r < 0) {
		free(s->proof_ident);
		s->proof_ident = NULL;
		for (size_t i = 0; i < s->cat.ntables; i++) {
			free(s->stats[i]);
			s->stats[i] = NULL;
		}
		return pg_conn_exec(s->main, "ROLLBACK TO SAVEPOINT vault_proof",
				    "statistics", err);
	}
	return pg_conn_exec(s->main, "RELEASE SAVEPOINT vault_proof",
			    "statistics", err);
}

/* ---- the records and the decision ----------------------------------- */

static int pg_snap_proof_hash(struct buf *b, const char *const *part,
			      const size_t *len, size_t n)
{
	XXH3_state_t *h = XXH3_createState();
	XXH128_canonical_t c;
	char hex[33];

	if (!h)
		return -ENOMEM;
	XXH3_128bits_reset(h);
	for (size_t i = 0; i < n; i++) {
		XXH3_128bits_update(h, part[i], len[i]);
		XXH3_128bits_update(h, "", 1);	/* parts stay apart */
	}
	XXH128_canonicalFromHash(&c, XXH3_128bits_digest(h));
	XXH3_freeState(h);
	hex_encode(hex, c.digest, sizeof(c.digest));
	return buf_addstr(b, hex);
}

/* "vault-1/<sysid>/<dboid>/<version>/<start>/<stats_reset>/<hash>" */
static int pg_snap_proof_capture(struct pg_snap *s)
{
	struct buf b = BUF_INIT;
	const char *part[4];
	size_t len[4];
	int r;

	r = buf_addf(&b, "vault-1/%s/%s/", s->proof_sysid ? s->proof_sysid : "",
		     s->proof_ident);
	part[0] = (const char *)s->ddl_text.data;
	len[0] = s->ddl_text.len;
	part[1] = (const char *)s->cat.extensions.data;
	len[1] = s->cat.extensions.len;
	part[2] = (const char *)s->settings_text.data;
	len[2] = s->settings_text.len;
	part[3] = s->cat.encoding;
	len[3] = strlen(s->cat.encoding);
	if (r == 0)
		r = pg_snap_proof_hash(&b, part, len, 4);
	if (r == 0 && !(s->proof = strdup((char *)b.data)))
		r = -ENOMEM;
	buf_release(&b);
	return r;
}

/* "<oid>/<relfilenode>/<ins>/<upd>/<del>/<hash of the COPY>" */
static int pg_snap_proof_table(struct pg_snap *s, size_t i)
{
	struct buf b = BUF_INIT;
	const char *part[2] = { s->copy_sql[i], s->copy_head[i] };
	size_t len[2] = { strlen(part[0]), strlen(part[1]) };
	int r = buf_addf(&b, "%u/%s/", s->cat.tables[i].oid, s->stats[i]);

	if (r == 0)
		r = pg_snap_proof_hash(&b, part, len, 2);
	if (r == 0 && !(s->tables[i].proof = strdup((char *)b.data)))
		r = -ENOMEM;
	buf_release(&b);
	return r;
}

int pg_snap_set_previous(struct pg_snap *s, const char *id,
			 const char *meta_json, size_t len)
{
	json_free(s->prev);
	s->prev = NULL;
	snprintf(s->prev_id, sizeof(s->prev_id), "%s", id ? id : "");
	if (!meta_json)
		return 0;
	/* an unreadable previous meta.json only means reading every table */
	if (json_parse(&s->prev, meta_json, len, NULL) < 0)
		s->prev = NULL;
	return 0;
}

/* The previous snapshot's element of "tables" or "extension_tables"
 * with this path, or NULL. */
static const struct json *pg_snap_proof_prev_table(const struct json *prev,
						   const char *path)
{
	static const char *const lists[] = { "tables", "extension_tables" };

	for (size_t l = 0; l < 2; l++) {
		const struct json *a = json_get(prev, lists[l]);

		for (size_t i = 0; a && i < json_len(a); i++) {
			const char *p = json_get_str(json_at(a, i), "path");

			if (p && !strcmp(p, path))
				return json_at(a, i);
		}
	}
	return NULL;
}

/* Takes the previous snapshot's rows, bytes and checksum for table i
 * (pt its element there) when its record holds the same proof.  1
 * reused, 0 not. */
static int pg_snap_proof_reuse(struct pg_snap *s, size_t i,
			       const struct json *pt)
{
	struct pg_snap_table *t = &s->tables[i];
	const char *proof = json_get_str(pt, "unchanged_proof");
	const char *x = json_get_str(pt, "xxh3_128");
	int64_t rows, bytes;

	if (!proof || strcmp(proof, t->proof) || !x || strlen(x) != 32 ||
	    json_int(json_get(pt, "rows"), &rows) < 0 || rows < 0 ||
	    json_int(json_get(pt, "bytes"), &bytes) < 0 || bytes < 0)
		return 0;
	memcpy(t->xxh3, x, 33);
	t->rows = (uint64_t)rows;
	t->bytes = (uint64_t)bytes;
	t->reused = 1;
	t->done = 1;
	return 1;
}

/* Whether a known worker was busy in this schema (its tables are read). */
static int pg_snap_proof_worker_schema(const struct pg_snap *s,
				       const char *schema)
{
	for (size_t i = 0; i < s->nbusy_schemas; i++)
		if (!strcmp(s->busy_schemas[i], schema))
			return 1;
	return 0;
}

int pg_snap_proof_decide(struct pg_snap *s, int can_reuse)
{
	const char *prev;
	int r = 0;

	if (!s->proof_ident)
		return 0;
	r = pg_snap_proof_capture(s);
	for (size_t i = 0; i < s->cat.ntables && r == 0; i++)
		if (s->tables[i].has_data && s->stats[i])
			r = pg_snap_proof_table(s, i);
	if (r < 0 || !can_reuse || !s->quiet || !s->prev)
		return r;
	prev = json_get_str(s->prev, "unchanged_proof");
	if (!prev || strcmp(prev, s->proof))
		return 0;
	for (size_t i = 0; i < s->cat.ntables && r >= 0; i++)
		if (s->tables[i].proof &&
		    !pg_snap_proof_worker_schema(s, s->tables[i].schema)) {
			const struct json *pt =
				pg_snap_proof_prev_table(s->prev, s->tables[i].path);

			s->nreused += pg_snap_proof_reuse(s, i, pt);
			/* or only inserted since: pg-snap-tail.c */
			r = pg_snap_tail_decide(s, i, pt);
		}
	return r < 0 ? r : 0;
}

void pg_snap_proof_release(struct pg_snap *s)
{
	free(s->proof_sysid);
	free(s->proof_ident);
	free(s->proof);
	pg_snap_proof_stats_free(s->stats_before, s->nstats_before);
	strv_free(s->busy_schemas, s->nbusy_schemas);
	for (size_t i = 0; s->stats && i < s->cat.ntables; i++)
		free(s->stats[i]);
	free(s->stats);
	for (size_t i = 0; s->tables && i < s->cat.ntables; i++)
		free(s->tables[i].proof);
	json_free(s->prev);
}

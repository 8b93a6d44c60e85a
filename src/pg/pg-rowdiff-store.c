/*
 * pg-rowdiff-store: the rows waiting for their partner (see
 * pg-rowdiff-store.h).  Memory first: an open-addressing table (linear
 * probing, deletion by backward shift, so a table that only ever holds
 * a few entries at a time stays small and fast however many pass
 * through); past the budget, new entries go to a temporary SQLite
 * database, and a lookup that misses in memory asks it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sqlite3.h>
#include <xxhash.h>

#include "pg-rowdiff-store.h"

#define PG_ROWDIFF_STORE_MEM		(24u << 20)
#define PG_ROWDIFF_STORE_CACHE_KIB	(16u << 10)

struct pg_rowdiff_entry {
	uint64_t hash;
	int64_t n;
	uint8_t h[16];
	size_t klen;
	uint8_t key[];
};

struct pg_rowdiff_store {
	struct pg_rowdiff_entry **slot;
	size_t cap, used;		/* cap: a power of two */
	size_t mem, budget;		/* bytes held in memory, allowed */
	size_t cache_kib;
	sqlite3 *db;			/* NULL until the budget is passed */
	sqlite3_stmt *sel, *ins, *upd, *del, *tot;
};

int pg_rowdiff_store_new(struct pg_rowdiff_store **out, size_t mem,
			 size_t cache_kib)
{
	struct pg_rowdiff_store *s = calloc(1, sizeof(*s));

	*out = NULL;
	if (!s)
		return -ENOMEM;
	s->cap = 64;
	s->slot = calloc(s->cap, sizeof(*s->slot));
	if (!s->slot) {
		free(s);
		return -ENOMEM;
	}
	s->budget = mem ? mem : PG_ROWDIFF_STORE_MEM;
	s->cache_kib = cache_kib ? cache_kib : PG_ROWDIFF_STORE_CACHE_KIB;
	s->mem = s->cap * sizeof(*s->slot);
	*out = s;
	return 0;
}

void pg_rowdiff_store_free(struct pg_rowdiff_store *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->cap; i++)
		free(s->slot[i]);
	free(s->slot);
	sqlite3_finalize(s->sel);
	sqlite3_finalize(s->ins);
	sqlite3_finalize(s->upd);
	sqlite3_finalize(s->del);
	sqlite3_finalize(s->tot);
	sqlite3_close(s->db);
	free(s);
}

int pg_rowdiff_store_spilled(const struct pg_rowdiff_store *s)
{
	return s->db != NULL;
}

/* ---- memory -------------------------------------------------------------- */

/* The slot holding key, or (not found) the empty slot ending its probe. */
static size_t pg_rowdiff_store_find(const struct pg_rowdiff_store *s,
				    uint64_t hash, const void *key, size_t klen)
{
	size_t mask = s->cap - 1, i = hash & mask;

	while (s->slot[i]) {
		const struct pg_rowdiff_entry *e = s->slot[i];

		if (e->hash == hash && e->klen == klen &&
		    !memcmp(e->key, key, klen))
			break;
		i = (i + 1) & mask;
	}
	return i;
}

static int pg_rowdiff_store_grow(struct pg_rowdiff_store *s)
{
	struct pg_rowdiff_entry **old = s->slot;
	size_t ocap = s->cap;

	s->slot = calloc(ocap * 2, sizeof(*s->slot));
	if (!s->slot) {
		s->slot = old;
		return -ENOMEM;
	}
	s->cap = ocap * 2;
	s->mem += ocap * sizeof(*s->slot);
	for (size_t i = 0; i < ocap; i++) {
		size_t mask = s->cap - 1, k;

		if (!old[i])
			continue;
		for (k = old[i]->hash & mask; s->slot[k]; k = (k + 1) & mask)
			;
		s->slot[k] = old[i];
	}
	free(old);
	return 0;
}

/* Empties slot i and moves later entries of its probe run back, so
 * every run stays unbroken (no tombstones). */
static void pg_rowdiff_store_remove(struct pg_rowdiff_store *s, size_t i)
{
	size_t mask = s->cap - 1, j = i;

	s->mem -= sizeof(*s->slot[i]) + s->slot[i]->klen;
	free(s->slot[i]);
	s->slot[i] = NULL;
	s->used--;
	for (;;) {
		size_t home;

		j = (j + 1) & mask;
		if (!s->slot[j])
			return;
		home = s->slot[j]->hash & mask;
		/* stays when its home lies cyclically in (i, j] */
		if (i <= j ? (home > i && home <= j) : (home > i || home <= j))
			continue;
		s->slot[i] = s->slot[j];
		s->slot[j] = NULL;
		i = j;
	}
}

/* ---- the temporary database ---------------------------------------------- */

static int pg_rowdiff_store_sqlerr(struct pg_rowdiff_store *s, int rc,
				   struct buf *err)
{
	buf_seterr(err, "temporary database of the row diff: %s",
		   s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
	if (rc == SQLITE_FULL)
		return -ENOSPC;
	return rc == SQLITE_NOMEM ? -ENOMEM : -EIO;
}

static int pg_rowdiff_store_open(struct pg_rowdiff_store *s, struct buf *err)
{
	static const char *const setup[] = {
		"PRAGMA journal_mode = OFF",
		"PRAGMA synchronous = OFF",
		"CREATE TABLE w (k BLOB PRIMARY KEY, n INTEGER NOT NULL, h BLOB) "
		"WITHOUT ROWID",
		"BEGIN",
	};
	const struct {
		const char *sql;
		sqlite3_stmt **st;
	} stmts[] = {
		{ "SELECT n, h FROM w WHERE k = ?1", &s->sel },
		{ "INSERT INTO w (k, n, h) VALUES (?1, ?2, ?3)", &s->ins },
		{ "UPDATE w SET n = ?2 WHERE k = ?1", &s->upd },
		{ "DELETE FROM w WHERE k = ?1", &s->del },
		{ "SELECT coalesce(sum(CASE WHEN n > 0 THEN n END), 0), "
		  "coalesce(sum(CASE WHEN n < 0 THEN -n END), 0) FROM w", &s->tot },
	};
	char pragma[64];
	int rc;

	/* "": a private database on disk, deleted when closed, written only
	 * as its cache fills */
	rc = sqlite3_open_v2("", &s->db, SQLITE_OPEN_READWRITE |
			     SQLITE_OPEN_CREATE, NULL);
	snprintf(pragma, sizeof(pragma), "PRAGMA cache_size = -%zu",
		 s->cache_kib);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(s->db, pragma, NULL, NULL, NULL);
	for (size_t i = 0; i < sizeof(setup) / sizeof(*setup) && rc == SQLITE_OK; i++)
		rc = sqlite3_exec(s->db, setup[i], NULL, NULL, NULL);
	for (size_t i = 0; i < sizeof(stmts) / sizeof(*stmts) && rc == SQLITE_OK; i++)
		rc = sqlite3_prepare_v2(s->db, stmts[i].sql, -1, stmts[i].st, NULL);
	return rc == SQLITE_OK ? 0 : pg_rowdiff_store_sqlerr(s, rc, err);
}

/* Runs st (bound) to its end; with row, stops at the first row: 1. */
static int pg_rowdiff_store_step(struct pg_rowdiff_store *s, sqlite3_stmt *st,
				 int row, struct buf *err)
{
	int rc = sqlite3_step(st);

	if (rc == SQLITE_ROW && row)
		return 1;
	sqlite3_reset(st);
	if (rc == SQLITE_DONE)
		return 0;
	return pg_rowdiff_store_sqlerr(s, rc, err);
}

static int pg_rowdiff_store_exec(struct pg_rowdiff_store *s, sqlite3_stmt *st,
				 const void *key, size_t klen, int64_t n,
				 const uint8_t *h, struct buf *err)
{
	sqlite3_bind_blob(st, 1, key, (int)klen, SQLITE_STATIC);
	if (st != s->del)
		sqlite3_bind_int64(st, 2, n);
	if (st == s->ins)
		sqlite3_bind_blob(st, 3, h ? (const void *)h : "", h ? 16 : 0,
				  SQLITE_STATIC);
	return pg_rowdiff_store_step(s, st, 0, err);
}

/* 1 with *n and h filled when key is on disk, 0 when not. */
static int pg_rowdiff_store_get(struct pg_rowdiff_store *s, const void *key,
				size_t klen, int64_t *n, uint8_t h[16],
				struct buf *err)
{
	int r;

	sqlite3_bind_blob(s->sel, 1, key, (int)klen, SQLITE_STATIC);
	r = pg_rowdiff_store_step(s, s->sel, 1, err);
	if (r <= 0)
		return r;
	*n = sqlite3_column_int64(s->sel, 0);
	memset(h, 0, 16);
	if (sqlite3_column_bytes(s->sel, 1) == 16)
		memcpy(h, sqlite3_column_blob(s->sel, 1), 16);
	sqlite3_reset(s->sel);
	return 1;
}

/* ---- the operations ------------------------------------------------------ */

/* A new entry, in memory while it fits the budget. */
static int pg_rowdiff_store_put(struct pg_rowdiff_store *s, uint64_t hash,
				size_t i, const void *key, size_t klen,
				int64_t n, const uint8_t *h, struct buf *err)
{
	struct pg_rowdiff_entry *e;
	size_t need = sizeof(*e) + klen;
	int r;

	if (klen > INT32_MAX)
		return -E2BIG;
	if (s->mem + need > s->budget || s->db) {
		r = s->db ? 0 : pg_rowdiff_store_open(s, err);
		return r ? r : pg_rowdiff_store_exec(s, s->ins, key, klen, n, h, err);
	}
	e = malloc(need);
	if (!e)
		return -ENOMEM;
	e->hash = hash;
	e->n = n;
	memset(e->h, 0, sizeof(e->h));
	if (h)
		memcpy(e->h, h, sizeof(e->h));
	e->klen = klen;
	memcpy(e->key, key, klen);
	s->slot[i] = e;
	s->used++;
	s->mem += need;
	return 2 * s->used >= s->cap ? pg_rowdiff_store_grow(s) : 0;
}

/* The heart of both uses: pair says how a key met again is handled. */
static int pg_rowdiff_store_add(struct pg_rowdiff_store *s, const void *key,
				size_t klen, int delta, const uint8_t *h,
				int pair, struct buf *err)
{
	uint64_t hash = XXH3_64bits(key, klen);
	size_t i = pg_rowdiff_store_find(s, hash, key, klen);
	uint8_t oh[16];
	int64_t n;
	int r = 0;

	if (s->slot[i]) {
		n = s->slot[i]->n;
		memcpy(oh, s->slot[i]->h, sizeof(oh));
	} else if (s->db) {
		r = pg_rowdiff_store_get(s, key, klen, &n, oh, err);
		if (r < 0)
			return r;
		if (r == 0)
			return pg_rowdiff_store_put(s, hash, i, key, klen, delta, h, err);
	} else {
		return pg_rowdiff_store_put(s, hash, i, key, klen, delta, h, err);
	}
	if (pair && (n > 0) == (delta > 0))
		return -EEXIST;
	n = pair ? 0 : n + delta;
	if (s->slot[i]) {
		if (n)
			s->slot[i]->n = n;
		else
			pg_rowdiff_store_remove(s, i);
	} else {
		r = pg_rowdiff_store_exec(s, n ? s->upd : s->del, key, klen, n,
					  NULL, err);
		if (r < 0)
			return r;
	}
	if (!pair)
		return 0;
	return memcmp(oh, h, sizeof(oh)) ? 2 : 1;
}

int pg_rowdiff_store_pair(struct pg_rowdiff_store *s, const void *key,
			  size_t klen, int delta, const uint8_t h[16],
			  struct buf *err)
{
	return pg_rowdiff_store_add(s, key, klen, delta, h, 1, err);
}

int pg_rowdiff_store_count(struct pg_rowdiff_store *s, const void *key,
			   size_t klen, int delta, struct buf *err)
{
	return pg_rowdiff_store_add(s, key, klen, delta, NULL, 0, err);
}

int pg_rowdiff_store_totals(struct pg_rowdiff_store *s, uint64_t *pos,
			    uint64_t *neg, struct buf *err)
{
	int r;

	*pos = *neg = 0;
	for (size_t i = 0; i < s->cap; i++) {
		const struct pg_rowdiff_entry *e = s->slot[i];

		if (e && e->n > 0)
			*pos += (uint64_t)e->n;
		else if (e)
			*neg += (uint64_t)-e->n;
	}
	if (!s->db)
		return 0;
	r = pg_rowdiff_store_step(s, s->tot, 1, err);
	if (r == 1) {
		*pos += (uint64_t)sqlite3_column_int64(s->tot, 0);
		*neg += (uint64_t)sqlite3_column_int64(s->tot, 1);
		sqlite3_reset(s->tot);
		r = 0;
	}
	return r;
}

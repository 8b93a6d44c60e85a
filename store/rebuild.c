/*
 * rebuild: repo_rebuild_index (declared in repo.h), a fresh index.db
 * from the packs alone.  Design notes in doc/design.md, "Check and
 * rebuild-index".
 *
 * Trailers give packs and chunks, and the headers of their data blobs
 * the links of delta chunks (chain.c); a pack whose trailer cannot be read is
 * salvaged blob by blob (salvage.c); tombstone blobs give forgotten
 * snapshots; snapshot blobs not tombstoned, oldest first, give snapshots
 * whose manifests are walked for their references.  Intact blobs of a
 * damaged pack whose ids nothing gave are named on the way, by the ids
 * the manifests reference.  Putting the new index in place is
 * rebuild-swap.c.
 *
 * A recovery tool must never make things worse:
 *   - the new database is built in tmp/ and renamed over index.db only
 *     when complete, with no reader around (exclusive lock.read): a kill
 *     leaves the old index.db, or none, exactly as it was (repo.c never
 *     creates an empty one for a rebuild), and tmp/ is cleaned by the
 *     next writer;
 *   - a damaged index.db is kept beside the new one, as
 *     index.db.corrupt-<UTC time>;
 *   - a snapshot whose record can be read is kept even when data it
 *     references is lost, so what is left stays referenced (prune keeps
 *     it) and check names the damage; only a snapshot whose record is
 *     gone is lost;
 *   - every damaged pack, affected snapshot and lost snapshot is
 *     reported, and the result is then -EBADMSG (the new index is in
 *     place all the same: it says what the packs hold).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "blob.h"
#include "chain.h"
#include "index.h"
#include "reader.h"
#include "rebuild-int.h"
#include "repo-internal.h"
#include "salvage.h"
#include "snaprec.h"

/* A snapshot blob found in the packs, with its time for ordering. */
struct rebuild_snap {
	uint8_t id[32];
	int64_t time;
};

struct rebuild {
	struct repo *r;
	struct index *nx;	/* the new index, in tmp/ */
	const struct repo_check_opts *o;
	struct repo_check_result *res;
	int old_ok;		/* r->ix is a sound index.db: its rows help
				 * salvage and name snapshots that are lost */
	struct buf stored, plain, msg;
	struct buf snaps;	/* struct rebuild_snap[] */
	struct buf damaged;	/* names of salvaged packs, 32 bytes each */
	struct buf lost;	/* snapshot ids that may be lost */
	struct buf told;	/* snapshot ids already reported lost */
	struct salvage_pool *pool;	/* their unnamed blobs (or NULL) */
	struct buf claimed;	/* struct rebuild_claim[]: named while the
				 * snapshot being added is walked */
};

/* An unnamed blob named by a snapshot's reference (a delta: with its
 * link, depth > 0). */
struct rebuild_claim {
	int64_t pid;
	uint8_t pack[32];
	struct pack_entry e;
	struct blob_delta d;
};

/* Kind "info" tells what was repaired and is not counted as a problem. */
static void rebuild_report(struct rebuild *rb, const char *kind,
			   const char *what, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void rebuild_report(struct rebuild *rb, const char *kind,
			   const char *what, const char *fmt, ...)
{
	struct buf d = BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	buf_vaddf(&d, fmt, ap);
	va_end(ap);
	if (strcmp(kind, "info"))
		rb->res->problems++;
	if (rb->o->problem)
		rb->o->problem(rb->o->ctx, kind, what, (char *)d.data);
	buf_release(&d);
}

static int rebuild_add_id(void *ctx, const uint8_t *id)
{
	return buf_add(ctx, id, 32);
}

/* ---- packs ------------------------------------------------------- */

static int rebuild_index_pack(struct rebuild *rb, const uint8_t *name,
			      uint64_t size, const struct pack_entry *e,
			      size_t n)
{
	int rc = index_begin(rb->nx, &rb->msg);

	if (rc == 0)
		rc = index_pack_add(rb->nx, name, size, e, n, 0, 0, &rb->msg);
	if (rc == 0)
		rc = chain_links_scan(rb->r, rb->nx, name, e, n, &rb->msg);
	if (rc == 0)
		rc = index_commit(rb->nx, &rb->msg);
	else
		index_rollback(rb->nx);
	return rc;
}

struct rebuild_hints {
	const uint8_t *name;
	int64_t pid;
	struct buf rows;	/* struct pack_entry[] */
};

static int rebuild_hint_pack(void *ctx, const struct index_pack *p)
{
	struct rebuild_hints *h = ctx;

	if (memcmp(p->name, h->name, 32))
		return 0;
	h->pid = p->pid;
	return 1;
}

static int rebuild_hint_row(void *ctx, const uint8_t *id,
			    const struct index_loc *loc)
{
	struct rebuild_hints *h = ctx;
	struct pack_entry e;

	memcpy(e.id, id, 32);
	e.offset = loc->offset;
	e.length = loc->length;
	e.type = loc->type;
	e.raw_len = loc->raw_len;
	return buf_add(&h->rows, &e, sizeof(e));
}

/* What the old index knew of pack name: a help for salvage only, so
 * anything but running out of memory is no error. */
static int rebuild_hints(struct rebuild *rb, struct rebuild_hints *h)
{
	int rc;

	if (!rb->old_ok)
		return 0;
	rc = index_pack_foreach(rb->r->ix, rebuild_hint_pack, h, NULL);
	if (rc == 1)
		rc = index_pack_chunks(rb->r->ix, h->pid, rebuild_hint_row, h,
				       NULL);
	return rc == -ENOMEM ? rc : 0;
}

/* A pack whose trailer did not decode (why): index what is intact. */
static int rebuild_salvage(struct rebuild *rb, const uint8_t *name,
			   const char *why)
{
	struct rebuild_hints h = { name, 0, BUF_INIT };
	struct buf d = BUF_INIT;
	struct salvage s;
	char hex[65];
	int rc = rebuild_hints(rb, &h);

	hex_encode(hex, name, 32);
	if (rc == 0)
		rc = salvage_pack(rb->r, name, (struct pack_entry *)h.rows.data,
				  h.rows.len / sizeof(struct pack_entry), &s,
				  &rb->msg);
	buf_release(&h.rows);
	if (rc == -ENOMEM)
		return rc;
	if (rc < 0) {	/* left out: prune refuses until it is dealt with */
		rebuild_report(rb, "pack", hex, "%s; %s", why,
			       (char *)rb->msg.data);
		return 0;
	}
	rc = rebuild_index_pack(rb, name, s.size, s.e, s.n);
	if (rc == 0)
		rc = buf_add(&rb->damaged, name, 32);
	if (rc == 0 && s.nunnamed) {
		h.pid = 0;
		rc = index_pack_foreach(rb->nx, rebuild_hint_pack, &h,
					&rb->msg);
		rc = rc < 0 ? rc : salvage_pool_add(&rb->pool, name, h.pid,
						     s.unnamed, s.nunnamed);
	}
	for (size_t i = 0; rc == 0 && i < s.nlost; i++)
		if (s.lost[i].type == BLOB_SNAPSHOT)
			rc = buf_add(&rb->lost, s.lost[i].id, 32);
	buf_addf(&d, "%zu intact blobs salvaged by scanning the file", s.n);
	if (s.nlost)
		buf_addf(&d, "; %zu blobs its %s lists are lost", s.nlost,
			 s.trailer ? "trailer" : "old index");
	if (s.nunnamed)
		buf_addf(&d, "; %zu intact blobs wait for the snapshots that"
			 " reference them to name them (no trailer gives their"
			 " ids)", s.nunnamed);
	if (rc == 0)
		rebuild_report(rb, "pack", hex, "%s; %s", why, (char *)d.data);
	rb->res->packs_checked++;
	rb->res->blobs_checked += s.n;
	salvage_release(&s);
	buf_release(&d);
	return rc;
}

static int rebuild_pack(void *ctx, const uint8_t *name)
{
	struct rebuild *rb = ctx;
	struct pack_entry *e = NULL;
	struct buf why = BUF_INIT;
	uint64_t size;
	size_t n;
	int rc = reader_pack_trailer(rb->r, name, &e, &n, &size, &rb->msg);

	if (rc < 0 && rc != -ENOMEM) {
		rc = buf_addstr(&why, (char *)rb->msg.data);
		if (rc == 0)
			rc = rebuild_salvage(rb, name, (char *)why.data);
		buf_release(&why);
		return rc;
	}
	if (rc < 0)
		return rc;
	rb->res->packs_checked++;
	rb->res->blobs_checked += n;
	rc = rebuild_index_pack(rb, name, size, e, n);
	free(e);
	return rc;
}

/* ---- tombstones and snapshots ------------------------------------ */

static int rebuild_tomb(void *ctx, const uint8_t *id,
			const struct index_loc *loc)
{
	struct rebuild *rb = ctx;
	uint8_t (*ids)[32] = NULL;
	size_t n = 0;
	char hex[65];
	int rc = reader_load(rb->r, loc, id, &rb->stored, &rb->plain,
			     &rb->msg);

	if (rc == 0)
		rc = tombstone_decode(rb->plain.data, rb->plain.len, &ids, &n);
	if (rc < 0) {
		free(ids);
		if (rc == -ENOMEM)
			return rc;
		hex_encode(hex, id, 32);
		rebuild_report(rb, "blob", hex, "tombstone: %s; snapshots it"
			       " forgot come back", rc == -EBADMSG &&
			       rb->msg.len ? (char *)rb->msg.data
					   : strerror(-rc));
		return 0;
	}
	for (size_t i = 0; rc == 0 && i < n; i++)
		rc = index_tomb_add(rb->nx, ids[i], id, &rb->msg);
	free(ids);
	return rc;
}

static int rebuild_collect_snap(void *ctx, const uint8_t *id,
				const struct index_loc *loc)
{
	struct rebuild *rb = ctx;
	struct rebuild_snap s;
	struct snaprec rec;
	char hex[65];
	int rc = reader_snaprec(rb->r, rb->nx, id, &rec, &rb->msg);

	if (rc < 0) {	/* unreadable record: the snapshot is lost */
		if (rc == -ENOMEM)
			return rc;
		hex_encode(hex, id, 32);
		rebuild_report(rb, "snapshot", hex, "lost: %s",
			       (char *)rb->msg.data);
		return buf_add(&rb->told, id, 32);
	}
	memcpy(s.id, id, 32);
	s.time = rec.time;
	snaprec_release(&rec);
	return buf_add(&rb->snaps, &s, sizeof(s));
}

/* Oldest first, so snapshots of the same second keep a stable order. */
static int rebuild_cmp_snap(const void *a, const void *b)
{
	const struct rebuild_snap *x = a, *y = b;

	if (x->time != y->time)
		return x->time < y->time ? -1 : 1;
	return memcmp(x->id, y->id, 32);
}

/*
 * A chunk a snapshot references that no pack lists may be one of the
 * unnamed blobs of a damaged pack: the one that decodes under its id.
 * now: index it at once (a manifest chunk, read next), else it is
 * indexed together with the snapshot.  A delta's chain is followed
 * (left links at most), indexed or not: an intact delta's base may be
 * one of them too, which only a later snapshot references.
 */
static int rebuild_want_chain(struct rebuild *rb, const uint8_t *id,
			      uint8_t type, uint32_t len, int now, int left)
{
	struct rebuild_claim c;
	struct index_loc loc;
	int rc;

	if (!rb->pool || left < 0)
		return 0;
	rc = index_chunk_get(rb->nx, id, &loc);
	if (rc < 0)
		return rc;
	if (rc == 1)	/* indexed already: its base may not be */
		return loc.depth && !now ?
		       rebuild_want_chain(rb, loc.base, BLOB_DATA,
					  READER_ANY_LEN, 0, left - 1) : 0;
	rc = salvage_pool_claim(rb->pool, rb->r, rb->nx, id, type, len,
				&c.pid, c.pack, &c.e, &c.d);
	if (rc <= 0)
		return rc;
	if (!now) {
		rc = buf_add(&rb->claimed, &c, sizeof(c));
		/* a delta needs its base, which may be unnamed too */
		if (rc == 0 && c.d.depth)
			rc = rebuild_want_chain(rb, c.d.base, BLOB_DATA,
						READER_ANY_LEN, 0, left - 1);
		return rc;
	}
	rc = index_begin(rb->nx, &rb->msg);
	if (rc == 0)
		rc = index_chunk_add(rb->nx, c.pid, &c.e, &rb->msg);
	if (rc == 0)
		rc = index_commit(rb->nx, &rb->msg);
	else
		index_rollback(rb->nx);
	return rc;
}

static int rebuild_want(struct rebuild *rb, const uint8_t *id, uint8_t type,
			uint32_t len, int now)
{
	return rebuild_want_chain(rb, id, type, len, now, INDEX_MAX_DEPTH);
}

/* The snapshot's manifest chunks, named before the manifest is read. */
static int rebuild_want_manifest(struct rebuild *rb, const uint8_t *snap)
{
	struct snaprec rec;
	int rc;

	if (!rb->pool)
		return 0;
	rc = reader_snaprec(rb->r, rb->nx, snap, &rec, &rb->msg);
	if (rc < 0)	/* reported when the manifest is opened */
		return rc == -ENOMEM ? rc : 0;
	for (size_t i = 0; rc == 0 && i < rec.nmanifest; i++)
		rc = rebuild_want(rb, rec.manifest[i].id, BLOB_MANIFEST,
				  rec.manifest[i].len, 1);
	snaprec_release(&rec);
	return rc;
}

/*
 * Every chunk the snapshot references goes to the TEMP refs table, as
 * far as the manifest can be read.  A damaged manifest is -EBADMSG with
 * what was read recorded; index errors set *fatal.
 */
static int rebuild_refs(struct rebuild *rb, struct reader_manifest *m,
			const uint8_t *snap, int *fatal)
{
	const struct snaprec *rec = reader_manifest_rec(m);
	struct manifest_entry e = { 0 };
	struct manifest_chunk ch;
	int rc = index_refs_reset(rb->nx, &rb->msg);

	if (rc == 0)
		rc = index_ref_add(rb->nx, snap, &rb->msg);
	for (size_t i = 0; rc == 0 && i < rec->nmanifest; i++)
		rc = index_ref_add(rb->nx, rec->manifest[i].id, &rb->msg);
	*fatal = rc < 0;
	while (rc == 0 && (rc = reader_manifest_next(m, &e, &rb->msg)) == 1)
		while ((rc = reader_manifest_chunk(m, &ch, &rb->msg)) == 1) {
			rc = index_ref_add(rb->nx, ch.id, &rb->msg);
			if (rc == 0)
				rc = rebuild_want(rb, ch.id, BLOB_DATA, ch.len,
						  0);
			if (rc < 0) {
				*fatal = 1;
				break;
			}
		}
	manifest_entry_release(&e);
	if (rc == -ENOMEM)
		*fatal = 1;
	return rc;
}

static int rebuild_snapshot(struct rebuild *rb, const uint8_t *snap)
{
	const struct rebuild_claim *c;
	struct reader_manifest *m = NULL;
	const struct snaprec *rec;
	struct index_snap s;
	char hex[65];
	int fatal = 0, rc = index_tomb_has(rb->nx, snap);

	if (rc != 0)
		return rc < 0 ? rc : 0;	/* forgotten */
	hex_encode(hex, snap, 32);
	buf_reset(&rb->claimed);
	rc = rebuild_want_manifest(rb, snap);
	if (rc < 0)
		return rc;
	rc = reader_manifest_open(&m, rb->r, rb->nx, snap, &rb->msg);
	if (rc < 0) {
		if (rc == -ENOMEM)
			return rc;
		rebuild_report(rb, "snapshot", hex, "lost: %s",
			       (char *)rb->msg.data);
		return buf_add(&rb->told, snap, 32);
	}
	rc = rebuild_refs(rb, m, snap, &fatal);
	if (rc < 0 && fatal) {
		reader_manifest_free(m);
		return rc;
	}
	if (rc < 0)	/* what it still references must stay */
		rebuild_report(rb, "snapshot", hex, "damaged, kept: %s",
			       (char *)rb->msg.data);
	rec = reader_manifest_rec(m);
	memset(&s, 0, sizeof(s));
	memcpy(s.id, snap, 32);
	s.time = rec->time;
	s.hostname = rec->hostname;
	s.source = rec->source;
	s.tags = (const char *const *)rec->tags;
	s.ntags = rec->ntags;
	s.entries = rec->entries;
	s.bytes_read = rec->bytes_read;
	s.bytes_added = rec->bytes_added;
	s.bytes_stored = rec->bytes_stored;
	s.meta_json = rec->meta_json;
	c = (const struct rebuild_claim *)rb->claimed.data;
	rc = index_begin(rb->nx, &rb->msg);
	for (size_t i = 0; rc == 0 && i < rb->claimed.len / sizeof(*c); i++)
		rc = index_chunk_add(rb->nx, c[i].pid, &c[i].e, &rb->msg);
	for (size_t i = 0; rc == 0 && i < rb->claimed.len / sizeof(*c); i++)
		if (c[i].d.depth)
			rc = index_base_add(rb->nx, c[i].pack, c[i].e.id,
					    c[i].d.base, c[i].d.depth,
					    &rb->msg);
	if (rc == 0)
		rc = index_snap_add(rb->nx, &s, &rb->msg);
	if (rc == 0)
		rc = index_commit(rb->nx, &rb->msg);
	else
		index_rollback(rb->nx);
	reader_manifest_free(m);
	return rc;
}

/* Drops deltas whose chain lost a link (index-bases.c says why); the
 * snapshots that need them are then reported damaged. */
static int rebuild_sweep(struct rebuild *rb)
{
	int rc = index_begin(rb->nx, &rb->msg);

	if (rc == 0)
		rc = index_bases_sweep(rb->nx, NULL, &rb->msg);
	if (rc == 0)
		rc = index_commit(rb->nx, &rb->msg);
	else
		index_rollback(rb->nx);
	return rc;
}

static int rebuild_fill(struct rebuild *rb)
{
	struct rebuild_snap *s;
	size_t n;
	int rc = repo_foreach_pack_file(rb->r, rebuild_pack, rb);

	/* with unnamed blobs, a chain's missing link may be one of them:
	 * the sweep waits until the snapshots have named them */
	if (rc == 0 && !rb->pool)
		rc = rebuild_sweep(rb);
	if (rc == 0)
		rc = index_begin(rb->nx, &rb->msg);
	if (rc == 0) {
		rc = index_chunks_of_type(rb->nx, BLOB_TOMBSTONE, rebuild_tomb,
					  rb, &rb->msg);
		if (rc == 0)
			rc = index_commit(rb->nx, &rb->msg);
		else
			index_rollback(rb->nx);
	}
	if (rc == 0)
		rc = index_chunks_of_type(rb->nx, BLOB_SNAPSHOT,
					  rebuild_collect_snap, rb, &rb->msg);
	n = rb->snaps.len / sizeof(*s);
	s = (struct rebuild_snap *)rb->snaps.data;
	if (rc == 0)
		qsort(s, n, sizeof(*s), rebuild_cmp_snap);
	for (size_t i = 0; rc == 0 && i < n; i++)
		rc = rebuild_snapshot(rb, s[i].id);
	if (rc == 0 && rb->pool)	/* deltas the snapshots named */
		rc = rebuild_sweep(rb);
	return rc;
}

/* ---- what the damage affects ------------------------------------- */

static int rebuild_missing_ref(void *ctx, const uint8_t *snap,
			       const uint8_t *chunk)
{
	(void)chunk;
	return buf_add(ctx, snap, 32);
}

struct rebuild_users {
	struct rebuild *rb;
	struct buf pids;	/* int64_t[]: the damaged packs in nx */
	struct buf snaps;	/* ids of snapshots using them */
};

/* Notes a damaged pack's row, and tells how many of its unnamed blobs
 * the snapshots named. */
static int rebuild_damaged_pid(void *ctx, const struct index_pack *p)
{
	struct rebuild_users *u = ctx;
	size_t added, named, records;
	char hex[65];

	if (!repo_ids_has(&u->rb->damaged, p->name))
		return 0;
	salvage_pool_counts(u->rb->pool, p->pid, &added, &named, &records);
	hex_encode(hex, p->name, 32);
	if (added)
		rebuild_report(u->rb, "info", hex, "%zu of its %zu unnamed"
			       " intact blobs were named by the snapshots that"
			       " reference them", named, added);
	if (records)	/* nothing names a snapshot record but itself */
		rebuild_report(u->rb, "pack", hex, "%zu snapshot records in"
			       " it cannot be identified without its trailer:"
			       " those snapshots are lost", records);
	return buf_add(&u->pids, &p->pid, sizeof(p->pid));
}

static int rebuild_chunk_users(void *ctx, const uint8_t *id,
			       const struct index_loc *loc)
{
	struct rebuild_users *u = ctx;

	(void)loc;
	return index_chunk_snaps(u->rb->nx, id, rebuild_add_id, &u->snaps,
				 &u->rb->msg);
}

/* Reports the snapshots that reference data no intact pack holds, and
 * those that use a damaged pack but lost nothing. */
static int rebuild_affected(struct rebuild *rb)
{
	struct rebuild_users u = { rb, BUF_INIT, BUF_INIT };
	struct buf miss = BUF_INIT;
	const int64_t *pid;
	size_t n, k;
	char hex[65];
	int rc = index_missing_refs(rb->nx, rebuild_missing_ref, &miss,
				    &rb->msg);

	/* the rows come grouped by snapshot */
	n = miss.len / 32;
	for (size_t i = 0; rc == 0 && i < n; i = k) {
		for (k = i + 1; k < n && !memcmp(miss.data + 32 * k,
						 miss.data + 32 * i, 32); k++)
			;
		hex_encode(hex, miss.data + 32 * i, 32);
		rebuild_report(rb, "snapshot", hex, "damaged, kept: %zu blobs"
			       " it references are in no intact pack", k - i);
	}
	repo_ids_sort(&miss);
	repo_ids_sort(&rb->damaged);
	if (rc == 0 && rb->damaged.len)
		rc = index_pack_foreach(rb->nx, rebuild_damaged_pid, &u,
					&rb->msg);
	pid = (const int64_t *)u.pids.data;
	for (size_t i = 0; rc == 0 && i < u.pids.len / sizeof(*pid); i++)
		rc = index_pack_chunks(rb->nx, pid[i], rebuild_chunk_users, &u,
				       &rb->msg);
	repo_ids_sort(&u.snaps);
	for (size_t i = 0; rc == 0 && i < u.snaps.len / 32; i++) {
		if (repo_ids_has(&miss, u.snaps.data + 32 * i))
			continue;
		hex_encode(hex, u.snaps.data + 32 * i, 32);
		rebuild_report(rb, "info", hex, "intact: every blob it needs"
			       " from a damaged pack was salvaged");
	}
	buf_release(&miss);
	buf_release(&u.pids);
	buf_release(&u.snaps);
	return rc;
}

static int rebuild_old_snap(const struct repo_snapinfo *s, void *ctx)
{
	uint8_t id[32];

	if (hex_decode(id, 32, s->id) < 0)
		return 0;
	return buf_add(ctx, id, 32);
}

/* Reports the snapshots the old index listed, or whose record a damaged
 * pack's trailer names, that are in neither the new index nor a
 * tombstone (and were not reported lost already). */
static int rebuild_lost(struct rebuild *rb)
{
	struct repo_snapinfo info;
	const uint8_t *id;
	char hex[65];
	int rc = 0;

	if (rb->old_ok)
		rc = index_snap_list(rb->r->ix, NULL, rebuild_old_snap,
				     &rb->lost, &rb->msg);
	repo_ids_sort(&rb->lost);
	repo_ids_sort(&rb->told);
	for (size_t i = 0; rc == 0 && i < rb->lost.len / 32; i++) {
		id = rb->lost.data + 32 * i;
		if (repo_ids_has(&rb->told, id))
			continue;
		rc = index_snap_get(rb->nx, id, &info);
		repo_snapinfo_release(&info);
		if (rc == 0)
			rc = index_tomb_has(rb->nx, id);
		if (rc != 0) {	/* still there, or forgotten */
			rc = rc < 0 ? rc : 0;
			continue;
		}
		hex_encode(hex, id, 32);
		rebuild_report(rb, "snapshot", hex, "lost: no intact pack holds"
			       " its record");
	}
	return rc;
}

int repo_rebuild_index(struct repo *r, const struct repo_check_opts *o,
		       struct repo_check_result *res, struct buf *err)
{
	static const struct repo_check_opts none;
	struct rebuild rb = { r, NULL, o ? o : &none, res, 0, BUF_INIT,
			      BUF_INIT, BUF_INIT, BUF_INIT, BUF_INIT,
			      BUF_INIT, BUF_INIT, NULL, BUF_INIT };
	struct buf tmp = BUF_INIT, path = BUF_INIT, why = BUF_INIT;
	struct buf aside = BUF_INIT;
	int damaged = 0, rc;

	memset(res, 0, sizeof(*res));
	rc = repo_need_writer(r, "rebuild-index", err);
	if (rc == 0)
		rc = repo_join(r, REBUILD_DB, &tmp);
	if (rc == 0)
		rc = repo_join(r, "index.db", &path);
	if (rc == 0)
		damaged = rebuild_old_state(r, (char *)path.data, &rb.old_ok,
					    &why);
	if (damaged < 0)
		rc = repo_errf(err, damaged, "rebuild-index: cannot check %s:"
			       " %s", (char *)path.data, (char *)why.data);
	if (rc == 0) {
		rebuild_unlink_db((char *)tmp.data, 1);
		rc = index_open(&rb.nx, (char *)tmp.data, err);
	}
	if (rc == 0) {
		rc = rebuild_fill(&rb);
		if (rc == 0)
			rc = rebuild_affected(&rb);
		if (rc == 0)
			rc = rebuild_lost(&rb);
		if (rc < 0)
			repo_errf(err, rc, "rebuild-index: %s", rb.msg.len
				  ? (char *)rb.msg.data : strerror(-rc));
	}
	if (rc == 0)
		rc = index_seal(rb.nx, err);
	index_free(rb.nx);
	if (rc == 0)
		rc = rebuild_swap(r, (char *)tmp.data, damaged, &aside, err);
	else if (tmp.len)
		rebuild_unlink_db((char *)tmp.data, 1);
	if (rc == 0 && damaged)
		rebuild_report(&rb, "info", "index.db", "damaged (%s): rebuilt"
			       " from the packs; the damaged file is kept as"
			       " %s", (char *)why.data, (char *)aside.data);
	buf_release(&tmp);
	buf_release(&path);
	buf_release(&why);
	buf_release(&aside);
	buf_release(&rb.stored);
	buf_release(&rb.plain);
	buf_release(&rb.msg);
	buf_release(&rb.snaps);
	buf_release(&rb.damaged);
	buf_release(&rb.lost);
	buf_release(&rb.told);
	buf_release(&rb.claimed);
	salvage_pool_free(rb.pool);
	if (rc == 0 && res->problems)
		return repo_errf(err, -EBADMSG, "%llu problems found; the"
				 " rebuilt index lists what is intact",
				 (unsigned long long)res->problems);
	return rc;
}

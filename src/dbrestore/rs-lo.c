/*
 * rs-lo: listing, planning, restoring and unlinking the large objects
 * of a snapshot (see rs-lo.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <libpq/libpq-fs.h>
#include <xxhash.h>

#include "pg-conn.h"
#include "rs-lo.h"
#include "rs-pipe.h"
#include "strv.h"

/* lo_write/lo_read move at most this much per call: bounded memory, and
 * far below the protocol's int-sized lengths */
#define RS_LO_PIECE (256u * 1024u)
/* empty mode names this many existing large objects, then counts */
#define RS_LO_NAMED 10

int rs_lo_selected(const struct rs_select *sel)
{
	return sel && (sel->only & RS_ONLY_DATA) && !sel->nopt_schemas &&
	       !sel->nopt_tables;
}

/* ---- listing ------------------------------------------------------------- */

struct rs_lo_lister {
	uint32_t *oids;
	size_t n, cap;
	const char *dir;
	struct buf *err;
};

/* A file name as an oid: canonical decimal (how pg-snap writes it, so
 * no sign, no leading zero), 1..4294967295.  0 or -EBADMSG. */
static int rs_lo_parse(const char *name, uint32_t *oid)
{
	uint64_t v = 0;
	size_t i;

	if (!name[0] || name[0] == '0')
		return -EBADMSG;
	for (i = 0; name[i]; i++) {
		if (name[i] < '0' || name[i] > '9' || i >= 10)
			return -EBADMSG;
		v = v * 10 + (uint64_t)(name[i] - '0');
	}
	if (v > UINT32_MAX)
		return -EBADMSG;
	*oid = (uint32_t)v;
	return 0;
}

static int rs_lo_list_cb(void *ctx, const char *name)
{
	struct rs_lo_lister *l = ctx;
	uint32_t oid;

	if (rs_lo_parse(name, &oid) < 0) {
		buf_seterr(l->err, "damaged snapshot: %s/%s is not named by a large object's oid",
			   l->dir, name);
		return -EBADMSG;
	}
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		uint32_t *v = realloc(l->oids, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		l->oids = v;
		l->cap = cap;
	}
	l->oids[l->n++] = oid;
	return 0;
}

static int rs_lo_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

int rs_lo_list(const struct rs_input *in, const char *root, size_t expect,
	       uint32_t **oids, size_t *n, int *unlisted, struct buf *err)
{
	struct rs_lo_lister l = { NULL, 0, 0, NULL, err };
	struct buf dir = BUF_INIT;
	int r;

	*oids = NULL;
	*n = 0;
	*unlisted = 0;
	if (!in->list) {
		*unlisted = expect != 0;
		return 0;
	}
	r = buf_addf(&dir, "%s/large_objects", root ? root : "db");
	l.dir = (char *)dir.data;
	if (r == 0)
		r = in->list(in->ctx, (char *)dir.data, rs_lo_list_cb, &l, err);
	/* no directory: no large objects (the count below decides) */
	if (r == -ENOENT)
		r = 0;
	if (r == 0 && l.n != expect) {
		buf_seterr(err, "damaged snapshot: %s holds %zu large objects, meta.json says %zu",
			   (char *)dir.data, l.n, expect);
		r = -EBADMSG;
	}
	buf_release(&dir);
	if (r < 0) {
		free(l.oids);
		return r;
	}
	if (l.n)
		qsort(l.oids, l.n, sizeof(*l.oids), rs_lo_cmp);
	*oids = l.oids;
	*n = l.n;
	return 0;
}

/* ---- the plan -------------------------------------------------------------- */

/* "{1,2,3}": the oids as one oid[] parameter. */
static int rs_lo_array(struct buf *out, const uint32_t *oids, size_t n)
{
	int r = buf_addch(out, '{');

	for (size_t i = 0; i < n && r == 0; i++)
		r = buf_addf(out, i ? ",%u" : "%u", oids[i]);
	return r ? r : buf_addch(out, '}');
}

/* The existing ones among exists[] as "1, 2, 3" (at most RS_LO_NAMED,
 * then how many more). */
static int rs_lo_names(struct buf *out, const struct rs_plan *p,
		       const struct rs_plan_source *src)
{
	size_t shown = 0;
	int r = 0;

	for (size_t i = 0; i < src->nlo && r == 0; i++) {
		if (!p->lo_exists[i])
			continue;
		if (shown == RS_LO_NAMED) {
			r = buf_addf(out, " and %zu more", p->nlo_keep - shown);
			break;
		}
		r = buf_addf(out, shown ? ", %u" : "%u", src->lo_oids[i]);
		shown++;
	}
	return r;
}

int rs_lo_plan(struct rs_plan *p, PGconn *c, const struct rs_plan_source *src,
	       const struct rs_select *sel, struct buf *err)
{
	struct buf arr = BUF_INIT, b = BUF_INIT;
	PGresult *res = NULL;
	const char *params[1];
	int r = 0;

	p->lo_selected = rs_lo_selected(sel) && (src->nlo || src->lo_unlisted);
	if (!p->lo_selected)
		return 0;
	if (src->lo_unlisted) {
		r = buf_addf(&b, "the snapshot holds %zu large objects, which this input cannot list: they are not restored",
			     src->meta->large_objects);
		return r ? r : strv_take(&p->warnings, &p->nwarnings, buf_detach(&b, NULL));
	}
	p->lo_exists = calloc(src->nlo, 1);
	if (!p->lo_exists)
		return -ENOMEM;
	r = rs_lo_array(&arr, src->lo_oids, src->nlo);
	params[0] = (char *)arr.data;
	if (r == 0)
		r = pg_conn_query(c, &res, PGRES_TUPLES_OK,
				  "SELECT m.oid FROM pg_catalog.pg_largeobject_metadata m"
				  " WHERE m.oid = ANY ($1::pg_catalog.oid[]) ORDER BY m.oid",
				  1, params, "probing the target's large objects", err);
	for (int i = 0; r == 0 && i < PQntuples(res); i++) {
		uint32_t oid;
		uint32_t *at;

		if (rs_lo_parse(PQgetvalue(res, i, 0), &oid) < 0)
			continue;
		at = bsearch(&oid, src->lo_oids, src->nlo, sizeof(oid), rs_lo_cmp);
		if (at)
			p->lo_exists[at - src->lo_oids] = 1;
	}
	PQclear(res);
	buf_release(&arr);
	for (size_t i = 0; i < src->nlo; i++)
		p->nlo_keep += p->lo_exists[i];
	p->nlo_create = src->nlo - p->nlo_keep;
	if (r < 0)
		return r;
	if (!p->nlo_keep)
		return rs_lo_meta_plan(p, src);
	if (p->mode == RS_MODE_EMPTY) {
		size_t shown = 0;

		/* one conflict per object, like the other objects, up to a
		 * readable number */
		for (size_t i = 0; i < src->nlo && r == 0; i++) {
			if (!p->lo_exists[i] || shown++ >= RS_LO_NAMED)
				continue;
			r = strv_pushf(&p->conflicts, &p->nconflicts,
				       "large object %u already exists", src->lo_oids[i]);
		}
		if (r == 0 && shown > RS_LO_NAMED) {
			r = strv_pushf(&p->conflicts, &p->nconflicts,
				       "%zu more large objects already exist", shown - RS_LO_NAMED);
		}
	} else if (p->mode == RS_MODE_CLEAN) {
		r = buf_addf(&b, "clean mode keeps the %zu large objects that already exist in the target (",
			     p->nlo_keep);
		if (r == 0)
			r = rs_lo_names(&b, p, src);
		if (r == 0)
			r = buf_addstr(&b, "): the safety snapshot does not capture large objects, so replacing them could not be rolled back");
		if (r == 0)
			r = strv_take(&p->warnings, &p->nwarnings, buf_detach(&b, NULL));
	}
	buf_release(&b);
	return r ? r : rs_lo_meta_plan(p, src);
}

int rs_lo_plan_text(const struct rs_plan *p, const struct rs_plan_source *src,
		    struct buf *out)
{
	size_t n = src->meta ? src->meta->large_objects : 0;

	if (!n)
		return 0;
	if (!p->lo_selected)
		return buf_addf(out, "Large objects: %zu in the snapshot, not selected (they come with the data part of a restore not narrowed by --schema or --table)\n",
				n);
	if (src->lo_unlisted)
		return buf_addf(out, "Large objects: %zu in the snapshot, not restored (this input cannot list them)\n",
				n);
	if (p->nlo_skipped)
		return buf_addf(out, "Large objects: %zu to create, %zu kept; %zu statements about their owners, grants or comments skipped on this target (listed in the restore log)\n",
				p->nlo_create, p->nlo_keep, p->nlo_skipped);
	return buf_addf(out, "Large objects: %zu to create, %zu kept\n",
			p->nlo_create, p->nlo_keep);
}

int rs_lo_plan_json(const struct rs_plan *p, const struct rs_plan_source *src,
		    struct buf *out)
{
	return buf_addf(out, "{\"snapshot\": %zu, \"selected\": %s, \"create\": %zu, \"keep\": %zu, \"skipped_statements\": %zu}",
			src->meta ? src->meta->large_objects : 0,
			p->lo_selected && !src->lo_unlisted ? "true" : "false",
			p->nlo_create, p->nlo_keep, p->nlo_skipped);
}

/* ---- restoring ------------------------------------------------------------- */

/* a large object up to this size is written and read back whole, in
 * one statement each (lo_from_bytea, lo_get), instead of the six or
 * more round trips of lo_create/lo_open/lo_write/lo_read/lo_close */
#define RS_LO_SMALL (256u * 1024u)

struct rs_lo_batch;

struct rs_lo_writer {
	struct rs_lo_batch *batch;	/* the small ones waiting */
	PGconn *c;
	int fd;			/* -1 while the bytes are still held */
	uint32_t oid;
	uint64_t len;
	XXH3_state_t *h;
	volatile sig_atomic_t *interrupt;
	struct buf *err;
	int failed;		/* err already says why */
	struct buf held;	/* the first RS_LO_SMALL bytes */
};

static int rs_lo_fail(PGconn *c, uint32_t oid, const char *what, struct buf *err)
{
	char w[96];

	snprintf(w, sizeof(w), "large object %u: %s", oid, what);
	return pg_conn_error(c, NULL, w, err);
}

static int rs_lo_interrupted(volatile sig_atomic_t *interrupt, struct buf *err)
{
	if (!interrupt || !*interrupt)
		return 0;
	buf_seterr(err, "interrupted");
	return -EINTR;
}

/* Writes p through w->fd in pieces. */
static int rs_lo_put(struct rs_lo_writer *w, const char *s, size_t n)
{
	while (n) {
		size_t k = n > RS_LO_PIECE ? RS_LO_PIECE : n;
		int got = lo_write(w->c, w->fd, s, k);

		if (got < 0 || (size_t)got != k) {
			w->failed = 1;
			return rs_lo_fail(w->c, w->oid, "lo_write", w->err);
		}
		s += k;
		n -= k;
	}
	return 0;
}

static int rs_lo_batch_sync(struct rs_lo_batch *b);

/* Past RS_LO_SMALL: the large object is created and opened, and what
 * was held goes in first. */
static int rs_lo_open_write(struct rs_lo_writer *w)
{
	char oid[16];
	const char *params[1] = { oid };
	PGresult *res = NULL;
	struct buf what = BUF_INIT;
	/* the small ones before it first: lo_open and lo_write cannot go
	 * through a pipe */
	int r = rs_lo_batch_sync(w->batch);

	if (r < 0) {
		w->failed = 1;
		return r;
	}
	snprintf(oid, sizeof(oid), "%u", w->oid);
	r = buf_addf(&what, "large object %u: lo_create", w->oid);
	if (r == 0)
		r = pg_conn_query(w->c, &res, PGRES_TUPLES_OK,
				  "SELECT pg_catalog.lo_create($1::pg_catalog.oid)",
				  1, params, (char *)what.data, w->err);
	PQclear(res);
	buf_release(&what);
	if (r < 0) {
		w->failed = 1;
		return r;
	}
	w->fd = lo_open(w->c, w->oid, INV_WRITE | INV_READ);
	if (w->fd < 0) {
		w->failed = 1;
		return rs_lo_fail(w->c, w->oid, "lo_open", w->err);
	}
	r = rs_lo_put(w, (char *)w->held.data, w->held.len);
	buf_reset(&w->held);
	return r;
}

static int rs_lo_sink(void *ctx, const void *p, size_t n)
{
	struct rs_lo_writer *w = ctx;
	int r = rs_lo_interrupted(w->interrupt, w->err);

	if (r < 0) {
		w->failed = 1;
		return r;
	}
	XXH3_128bits_update(w->h, p, n);
	w->len += n;
	if (w->fd < 0 && w->len <= RS_LO_SMALL)
		return buf_add(&w->held, p, n);
	if (w->fd < 0)
		r = rs_lo_open_write(w);
	return r ? r : rs_lo_put(w, p, n);
}

/*
 * Small large objects go through a pipe (rs-pipe), two statements each:
 * lo_from_bytea, then lo_get to compare with the snapshot's bytes.  A
 * restore of thousands of them was thousands of round trips.  The pipe
 * syncs every RS_LO_BATCH of them, or once RS_LO_BATCH_BYTES wait:
 * what lo_get sends back waits in memory until then.
 */
#define RS_LO_BATCH 60
#define RS_LO_BATCH_BYTES (4u << 20)

struct rs_lo_batch {
	struct rs_pipe pipe;
	struct buf *err;
	struct rs_log *log;
	size_t n;
	uint64_t bytes;
	struct {
		uint32_t oid;
		uint64_t len;
		XXH128_hash_t want;
	} e[RS_LO_BATCH];
};

/* lo_get's result (odd tags): the bytes written must come back. */
static int rs_lo_batch_result(void *ctx, size_t tag, const PGresult *res)
{
	struct rs_lo_batch *b = ctx;
	size_t k = tag / 2;
	int r = 0;

	if (!(tag & 1) || k >= b->n)
		return 0;
	if (PQntuples(res) != 1 || (uint64_t)PQgetlength(res, 0, 0) != b->e[k].len ||
	    !XXH128_isEqual(b->e[k].want, XXH3_128bits(PQgetvalue(res, 0, 0),
							(size_t)PQgetlength(res, 0, 0)))) {
		buf_seterr(b->err, "large object %u: read back %d bytes that differ from the %llu bytes of the snapshot",
			   b->e[k].oid, PQntuples(res) == 1 ? PQgetlength(res, 0, 0) : 0,
			   (unsigned long long)b->e[k].len);
		return -EBADMSG;
	}
	if (b->log) {
		r = rs_log_lo_created(b->log, b->e[k].oid);
		if (r == 0)
			b->log->lo_verified++;
	}
	return r;
}

static void rs_lo_batch_init(struct rs_lo_batch *b, PGconn *c, struct rs_log *log,
			     struct buf *err)
{
	rs_pipe_init(&b->pipe, c);
	b->pipe.on_result = rs_lo_batch_result;
	b->pipe.ctx = b;
	b->err = err;
	b->log = log;
	b->n = 0;
	b->bytes = 0;
}

/* Every large object sent is written and compared (or err says which
 * one failed); the connection takes single commands again. */
static int rs_lo_batch_sync(struct rs_lo_batch *b)
{
	int r = rs_pipe_sync(&b->pipe, "large objects", b->err);

	if (r == 1) {
		size_t k = b->pipe.fail_tag / 2;
		char what[96];

		snprintf(what, sizeof(what), "large object %u: %s", k < b->n ? b->e[k].oid : 0,
			 b->pipe.fail_tag & 1 ? "lo_get" : "lo_from_bytea");
		r = pg_conn_error(b->pipe.c, b->pipe.fail, what, b->err);
	}
	rs_pipe_release(&b->pipe);
	b->pipe.on_result = rs_lo_batch_result;
	b->pipe.ctx = b;
	b->n = 0;
	b->bytes = 0;
	return r;
}

/* A small one whole, into the batch. */
static int rs_lo_small(struct rs_lo_writer *w, struct rs_lo_batch *b)
{
	uint32_t be = htonl(w->oid);
	const char *values[2] = { (const char *)&be, (const char *)w->held.data };
	int lengths[2] = { 4, (int)w->held.len }, formats[2] = { 1, 1 };
	size_t k = b->n;
	int r;

	b->e[k].oid = w->oid;
	b->e[k].len = w->len;
	b->e[k].want = XXH3_128bits_digest(w->h);
	b->n++;
	b->bytes += w->len;
	r = rs_pipe_send_params(&b->pipe, "SELECT pg_catalog.lo_from_bytea($1::pg_catalog.oid, $2::pg_catalog.bytea)",
				2, values, lengths, formats, 1, 2 * k, "large objects", w->err);
	if (r == 0)
		r = rs_pipe_send_params(&b->pipe, "SELECT pg_catalog.lo_get($1::pg_catalog.oid)",
					1, values, lengths, formats, 1, 2 * k + 1,
					"large objects", w->err);
	if (r == 0 && (b->n == RS_LO_BATCH || b->bytes >= RS_LO_BATCH_BYTES))
		return rs_lo_batch_sync(b);
	if (r == 1)
		return rs_lo_batch_sync(b);
	return r;
}

/* Reads oid back through fd and compares with what was written. */
static int rs_lo_verify(struct rs_lo_writer *w, char *piece)
{
	XXH3_state_t *h = XXH3_createState();
	XXH128_hash_t want, got;
	uint64_t len = 0;
	int n, r = 0;

	if (!h)
		return -ENOMEM;
	XXH3_128bits_reset(h);
	if (lo_lseek64(w->c, w->fd, 0, SEEK_SET) < 0)
		r = rs_lo_fail(w->c, w->oid, "lo_lseek64", w->err);
	while (r == 0 && (n = lo_read(w->c, w->fd, piece, RS_LO_PIECE)) != 0) {
		if (n < 0) {
			r = rs_lo_fail(w->c, w->oid, "lo_read", w->err);
			break;
		}
		XXH3_128bits_update(h, piece, (size_t)n);
		len += (uint64_t)n;
		r = rs_lo_interrupted(w->interrupt, w->err);
	}
	if (r == 0) {
		want = XXH3_128bits_digest(w->h);
		got = XXH3_128bits_digest(h);
		if (len != w->len || !XXH128_isEqual(want, got)) {
			buf_seterr(w->err, "large object %u: read back %llu bytes that differ from the %llu bytes of the snapshot",
				   w->oid, (unsigned long long)len, (unsigned long long)w->len);
			r = -EBADMSG;
		}
	}
	XXH3_freeState(h);
	return r;
}

static int rs_lo_one(struct rs_lo_writer *w, struct rs_lo_batch *b,
		     const struct rs_input *in, const char *root, char *piece)
{
	char path[64];
	int r;

	snprintf(path, sizeof(path), "%s/large_objects/%u", root, w->oid);
	w->fd = -1;
	w->len = 0;
	w->failed = 0;
	buf_reset(&w->held);
	XXH3_128bits_reset(w->h);
	r = rs_input_stream(in, path, rs_lo_sink, w, w->err);
	if (r < 0 && !w->failed && w->err) {
		/* the input's error: say which large object it was */
		struct buf m = BUF_INIT;

		buf_addf(&m, "large object %u: %s", w->oid, (char *)w->err->data);
		buf_seterr(w->err, "%s", (char *)m.data);
		buf_release(&m);
	}
	if (r == 0 && w->fd < 0)
		return rs_lo_small(w, b);
	if (r == 0)
		r = rs_lo_verify(w, piece);
	if (w->fd >= 0 && lo_close(w->c, w->fd) < 0 && r == 0)
		r = rs_lo_fail(w->c, w->oid, "lo_close", w->err);
	w->fd = -1;
	return r;
}

struct rs_lo_by_name {
	uint32_t oid;
	size_t i;		/* in src->lo_oids */
};

/* "10" before "9": the order of the names in the snapshot */
static int rs_lo_cmp_name(const void *a, const void *b)
{
	char x[16], y[16];

	snprintf(x, sizeof(x), "%u", ((const struct rs_lo_by_name *)a)->oid);
	snprintf(y, sizeof(y), "%u", ((const struct rs_lo_by_name *)b)->oid);
	return strcmp(x, y);
}

int rs_lo_restore(PGconn *c, const struct rs_input *in,
		  const struct rs_plan_source *src, const struct rs_plan *p,
		  struct rs_log *log, const struct rs_exec_opts *o,
		  struct buf *err)
{
	volatile sig_atomic_t *interrupt = o->interrupt;
	struct rs_lo_by_name *order = NULL;
	struct rs_lo_writer w;
	struct rs_lo_batch *b = NULL;
	size_t gone = 0;
	char *piece;
	int r;

	r = rs_lo_unlink(c, o->unlink_los, o->nunlink_los, &gone, err);
	if (r == 0 && log && o->nunlink_los) {
		log->lo = 1;
		log->lo_unlinked = gone;
	}
	if (r < 0 || !p->lo_selected || src->lo_unlisted || !src->nlo)
		return r;
	if (log) {
		log->lo = 1;
		log->lo_kept = p->nlo_keep;
	}
	if (!p->nlo_create)
		return 0;
	memset(&w, 0, sizeof(w));
	buf_init(&w.held, 0);
	w.c = c;
	w.fd = -1;
	w.interrupt = interrupt;
	w.err = err;
	w.h = XXH3_createState();
	piece = malloc(RS_LO_PIECE);
	b = malloc(sizeof(*b));
	if (!w.h || !piece || !b) {
		XXH3_freeState(w.h);
		free(piece);
		free(b);
		return -ENOMEM;
	}
	rs_lo_batch_init(b, c, log, err);
	w.batch = b;
	/* in the snapshot's (name) order: the repository input then reads
	 * its manifest once, forward, instead of from the start each time */
	order = calloc(src->nlo + 1, sizeof(*order));
	if (!order)
		r = -ENOMEM;
	for (size_t i = 0; order && i < src->nlo; i++) {
		order[i].oid = src->lo_oids[i];
		order[i].i = i;
	}
	if (order)
		qsort(order, src->nlo, sizeof(*order), rs_lo_cmp_name);
	for (size_t k = 0; order && k < src->nlo && r == 0; k++) {
		size_t i = order[k].i;

		if (p->lo_exists[i])
			continue;
		w.oid = src->lo_oids[i];
		r = rs_lo_interrupted(interrupt, err);
		if (r == 0)
			r = rs_lo_one(&w, b, in, src->root ? src->root : "db", piece);
		/* a small one is logged once compared, at its batch's sync */
		if (r == 0 && log && w.len > RS_LO_SMALL) {
			r = rs_log_lo_created(log, w.oid);
			if (r == 0)
				log->lo_verified++;
		}
	}
	if (r == 0)
		r = rs_lo_batch_sync(b);
	rs_pipe_release(&b->pipe);
	free(b);
	XXH3_freeState(w.h);
	buf_release(&w.held);
	free(piece);
	free(order);
	/* their owners, grants and comments, once they all exist */
	return r ? r : rs_lo_meta_apply(c, src, p, log, err);
}

/* ---- rollback ---------------------------------------------------------------- */

int rs_lo_unlink(PGconn *c, const uint32_t *oids, size_t n, size_t *done,
		 struct buf *err)
{
	struct buf arr = BUF_INIT;
	const char *params[1];
	PGresult *res = NULL;
	int r;

	if (done)
		*done = 0;
	if (!n)
		return 0;
	r = rs_lo_array(&arr, oids, n);
	params[0] = (char *)arr.data;
	/* only the ones still there: one unlinked since is no error */
	if (r == 0)
		r = pg_conn_query(c, &res, PGRES_TUPLES_OK,
				  "SELECT pg_catalog.lo_unlink(m.oid) FROM pg_catalog.pg_largeobject_metadata m"
				  " WHERE m.oid = ANY ($1::pg_catalog.oid[])",
				  1, params, "unlinking the large objects the restore created", err);
	if (r == 0 && done)
		*done = (size_t)PQntuples(res);
	PQclear(res);
	buf_release(&arr);
	return r;
}

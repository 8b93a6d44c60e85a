/*
 * pg-copy: the COPY TO STDOUT pipeline: one worker thread per connection
 * prefetching tables into bounded per-table queues, consumed in order
 * (pg_copy_take) or interleaved (pg_copy_next).
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <xxhash.h>

#include "pg-copy.h"
#include "pg-conn.h"

/* rows are batched into blocks of about this size before handing over */
#define PG_COPY_BATCH	(256u << 10)

struct pg_copy_blk {
	struct pg_copy_blk *next;
	char *data;
	size_t len;
};

struct pg_copy_slot {
	struct pg_copy_blk *head, *tail;
	size_t queued;
	int done;
	int ended;		/* pg_copy_next reported its end */
	struct pg_copy_result res;
};

struct pg_copy {
	const struct pg_copy_job *jobs;
	size_t njobs;
	struct pg_copy_opts o;
	struct pg_copy_slot *slots;
	pthread_t *threads;
	PGcancel **cancels;	/* made before the threads start */
	size_t nthreads;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	size_t next;		/* next job a worker starts */
	size_t consumed;	/* jobs the consumer finished */
	size_t lowest;		/* pg_copy_next: the first job not ended */
	struct pg_copy_blk *held;	/* pg_copy_next's last block */
	int stop;
	int error;		/* first error (0 none) */
	struct buf errmsg;
};

/* How a running COPY hands over a batch: to the queue or straight to
 * the consumer's callback. */
typedef int (*pg_copy_flush_fn)(void *ctx, struct buf *batch);

static int pg_copy_interrupted(const struct pg_copy *cp)
{
	return cp->o.interrupt && *cp->o.interrupt;
}

/*
 * Runs job i on c, batching rows into flush.  Fills res.  Errors are
 * described in err ("table <label>: ...").
 */
static int pg_copy_run(struct pg_copy *cp, PGconn *c, size_t i,
		       pg_copy_flush_fn flush, void *fctx,
		       struct pg_copy_result *res, struct buf *err)
{
	const struct pg_copy_job *j = &cp->jobs[i];
	struct buf batch = BUF_INIT, what = BUF_INIT;
	XXH3_state_t *h = XXH3_createState();
	PGresult *q;
	int r = 0;

	memset(res, 0, sizeof(*res));
	if (!h || buf_addf(&what, "table %s", j->label) < 0) {
		XXH3_freeState(h);
		buf_release(&what);
		return -ENOMEM;
	}
	XXH3_128bits_reset(h);
	if (cp->o.resume && cp->o.resume[i] &&
	    pg_hashstate_restore(h, cp->o.resume[i]) < 0) {
		if (err)
			buf_addf(err, "%s: the saved checksum state is not usable",
				 (char *)what.data);
		r = -EINVAL;
		goto out;
	}
	q = PQexec(c, j->sql);
	if (!q || PQresultStatus(q) != PGRES_COPY_OUT) {
		r = pg_conn_error(c, q, (char *)what.data, err);
		PQclear(q);
		goto out;
	}
	PQclear(q);
	for (;;) {
		char *row = NULL;
		int n = PQgetCopyData(c, &row, 0);

		if (n == -1)
			break;
		if (n < 0) {
			r = pg_conn_error(c, NULL, (char *)what.data, err);
			goto out;
		}
		XXH3_128bits_update(h, row, (size_t)n);
		res->rows++;
		res->bytes += (size_t)n;
		/* no flush: counted and hashed only (a verification) */
		r = flush ? buf_add(&batch, row, (size_t)n) : 0;
		PQfreemem(row);
		if (r == 0 && flush && batch.len >= PG_COPY_BATCH)
			r = flush(fctx, &batch);
		if (r == 0 && pg_copy_interrupted(cp))
			r = -EINTR;
		if (r < 0) {
			/* the connection is mid-COPY: the caller closes it */
			if (r == -EINTR && err)
				buf_addf(err, "%s: interrupted", (char *)what.data);
			goto out;
		}
	}
	/* the COPY's own result: an error can arrive after the data */
	while ((q = PQgetResult(c))) {
		if (PQresultStatus(q) != PGRES_COMMAND_OK && r == 0)
			r = pg_conn_error(c, q, (char *)what.data, err);
		PQclear(q);
	}
	if (r == 0 && flush && batch.len)
		r = flush(fctx, &batch);
	if (r == 0) {
		XXH128_canonical_t canon;

		XXH128_canonicalFromHash(&canon, XXH3_128bits_digest(h));
		memcpy(res->xxh128, canon.digest, sizeof(res->xxh128));
		res->state_ok = pg_hashstate_save(&res->state, h) == 0;
	}
out:
	XXH3_freeState(h);
	buf_release(&batch);
	buf_release(&what);
	return r;
}

/* ---- worker side ------------------------------------------------------ */

struct pg_copy_worker_ctx {
	struct pg_copy *cp;
	size_t job;
};

static void pg_copy_fail(struct pg_copy *cp, int r, const struct buf *msg)
{
	/* under cp->mu */
	if (!cp->error) {
		cp->error = r;
		buf_add(&cp->errmsg, msg->data, msg->len);
	}
	cp->stop = 1;
	pthread_cond_broadcast(&cp->cv);
}

static int pg_copy_enqueue(void *ctx, struct buf *batch)
{
	struct pg_copy_worker_ctx *w = ctx;
	struct pg_copy *cp = w->cp;
	struct pg_copy_slot *s = &cp->slots[w->job];
	struct pg_copy_blk *b = malloc(sizeof(*b));
	int r = 0;

	if (!b)
		return -ENOMEM;
	b->next = NULL;
	b->data = buf_detach(batch, &b->len);
	if (!b->data) {
		free(b);
		return -ENOMEM;
	}
	pthread_mutex_lock(&cp->mu);
	/* bounded: wait for the consumer to drain this table */
	while (!cp->stop && s->queued >= cp->o.buffer)
		pthread_cond_wait(&cp->cv, &cp->mu);
	if (cp->stop) {
		r = -ECANCELED;
		free(b->data);
		free(b);
	} else {
		if (s->tail)
			s->tail->next = b;
		else
			s->head = b;
		s->tail = b;
		s->queued += b->len;
		pthread_cond_broadcast(&cp->cv);
	}
	pthread_mutex_unlock(&cp->mu);
	return r;
}

struct pg_copy_thread {
	struct pg_copy *cp;
	PGconn *conn;
};

static void *pg_copy_worker(void *arg)
{
	struct pg_copy_thread *t = arg;
	struct pg_copy *cp = t->cp;
	struct buf msg = BUF_INIT;

	pthread_mutex_lock(&cp->mu);
	for (;;) {
		struct pg_copy_worker_ctx w = { cp, 0 };
		struct pg_copy_result res;
		int r;

		while (!cp->stop && cp->next < cp->njobs &&
		       cp->next >= cp->consumed + cp->o.window)
			pthread_cond_wait(&cp->cv, &cp->mu);
		if (cp->stop || cp->next >= cp->njobs)
			break;
		w.job = cp->next++;
		pthread_mutex_unlock(&cp->mu);

		/* buf_reset would write to the shared empty string of an
		 * unallocated buf, a race between workers: start afresh */
		buf_release(&msg);
		r = pg_copy_run(cp, t->conn, w.job, pg_copy_enqueue, &w, &res, &msg);

		pthread_mutex_lock(&cp->mu);
		if (r < 0) {
			if (r != -ECANCELED)
				pg_copy_fail(cp, r, &msg);
			break;
		}
		cp->slots[w.job].res = res;
		cp->slots[w.job].done = 1;
		pthread_cond_broadcast(&cp->cv);
	}
	pthread_mutex_unlock(&cp->mu);
	buf_release(&msg);
	free(t);
	return NULL;
}

/* ---- consumer side ----------------------------------------------------- */

/* Under cp->mu: the consumer saw the interrupt while waiting for job
 * i; the workers stop, err says which table.  Returns -EINTR. */
static int pg_copy_stop_interrupted(struct pg_copy *cp, size_t i,
				    struct buf *err)
{
	struct buf m = BUF_INIT;

	buf_addf(&m, "table %s: interrupted", cp->jobs[i].label);
	pg_copy_fail(cp, -EINTR, &m);
	if (err)
		buf_add(err, m.data, m.len);
	buf_release(&m);
	return -EINTR;
}

/* Under cp->mu: waits for a worker's news, waking now and then to
 * notice an interrupt. */
static void pg_copy_wait(struct pg_copy *cp)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_nsec += 200 * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_cond_timedwait(&cp->cv, &cp->mu, &ts);
}

void pg_copy_free(struct pg_copy *cp);

struct pg_copy_direct {
	pg_copy_data_fn fn;
	void *ctx;
};

static int pg_copy_direct_flush(void *ctx, struct buf *batch)
{
	struct pg_copy_direct *d = ctx;
	int r = d->fn(d->ctx, batch->data, batch->len);

	buf_reset(batch);
	return r;
}

int pg_copy_start(struct pg_copy **out, const struct pg_copy_job *jobs,
		  size_t njobs, const struct pg_copy_opts *o, struct buf *err)
{
	struct pg_copy *cp;
	int r = 0;

	*out = NULL;
	if (!o->nconns)
		return -EINVAL;
	cp = calloc(1, sizeof(*cp));
	if (!cp)
		return -ENOMEM;
	cp->jobs = jobs;
	cp->njobs = njobs;
	cp->o = *o;
	if (!cp->o.window)
		cp->o.window = 2 * o->nconns;
	if (!cp->o.buffer)
		cp->o.buffer = 4u << 20;
	buf_init(&cp->errmsg, 0);
	pthread_mutex_init(&cp->mu, NULL);
	pthread_cond_init(&cp->cv, NULL);
	*out = cp;
	if (o->nconns == 1)
		return 0;
	cp->slots = calloc(njobs ? njobs : 1, sizeof(*cp->slots));
	cp->threads = calloc(o->nconns, sizeof(*cp->threads));
	cp->cancels = calloc(o->nconns, sizeof(*cp->cancels));
	if (!cp->slots || !cp->threads || !cp->cancels)
		return -ENOMEM;
	for (size_t i = 0; i < o->nconns; i++)
		cp->cancels[i] = PQgetCancel(o->conns[i]);
	for (size_t i = 0; i < o->nconns; i++) {
		struct pg_copy_thread *t = malloc(sizeof(*t));

		if (!t) {
			r = -ENOMEM;
			break;
		}
		t->cp = cp;
		t->conn = o->conns[i];
		r = -pthread_create(&cp->threads[i], NULL, pg_copy_worker, t);
		if (r < 0) {
			free(t);
			if (err)
				buf_addf(err, "cannot start a COPY worker: %s", strerror(-r));
			break;
		}
		cp->nthreads++;
	}
	if (r < 0) {
		pg_copy_free(cp);
		*out = NULL;
	}
	return r;
}

int pg_copy_take(struct pg_copy *cp, size_t i, pg_copy_data_fn fn, void *ctx,
		 struct pg_copy_result *res, struct buf *err)
{
	struct pg_copy_slot *s;
	int r = 0;

	if (i != cp->consumed || i >= cp->njobs || (!fn && cp->o.nconns != 1))
		return -EINVAL;
	if (cp->o.nconns == 1) {
		struct pg_copy_direct d = { fn, ctx };

		if (cp->error)
			return cp->error;
		r = pg_copy_run(cp, cp->o.conns[0], i, fn ? pg_copy_direct_flush : NULL,
				&d, res, err);
		if (r < 0)
			cp->error = r;
		else
			cp->consumed++;
		return r;
	}
	s = &cp->slots[i];
	pthread_mutex_lock(&cp->mu);
	for (;;) {
		struct pg_copy_blk *b;

		if (cp->error) {
			r = cp->error;
			if (err && cp->errmsg.len)
				buf_add(err, cp->errmsg.data, cp->errmsg.len);
			break;
		}
		if (s->head) {
			b = s->head;
			s->head = b->next;
			if (!s->head)
				s->tail = NULL;
			s->queued -= b->len;
			pthread_cond_broadcast(&cp->cv);
			pthread_mutex_unlock(&cp->mu);
			r = fn(ctx, b->data, b->len);
			free(b->data);
			free(b);
			pthread_mutex_lock(&cp->mu);
			if (r < 0) {
				/* the sink's own error: its message is the caller's */
				struct buf none = BUF_INIT;

				pg_copy_fail(cp, r, &none);
				break;
			}
			continue;
		}
		if (s->done) {
			*res = s->res;
			cp->consumed++;
			pthread_cond_broadcast(&cp->cv);
			break;
		}
		if (pg_copy_interrupted(cp)) {
			r = pg_copy_stop_interrupted(cp, i, err);
			break;
		}
		pg_copy_wait(cp);
	}
	pthread_mutex_unlock(&cp->mu);
	return r;
}

/* Under cp->mu: job i's next event, if it has one (1), else 0. */
static int pg_copy_event_of(struct pg_copy *cp, size_t i,
			    struct pg_copy_event *ev)
{
	struct pg_copy_slot *s = &cp->slots[i];
	struct pg_copy_blk *b = s->head;

	if (s->ended)
		return 0;
	memset(ev, 0, sizeof(*ev));
	ev->job = i;
	if (b) {
		s->head = b->next;
		if (!s->head)
			s->tail = NULL;
		s->queued -= b->len;
		cp->held = b;
		ev->data = b->data;
		ev->len = b->len;
	} else if (s->done) {
		s->ended = 1;
		ev->end = 1;
		ev->res = s->res;
		cp->consumed++;
		while (cp->lowest < cp->njobs && cp->slots[cp->lowest].ended)
			cp->lowest++;
	} else {
		return 0;
	}
	/* room in a queue, or room in the window: wake the workers */
	pthread_cond_broadcast(&cp->cv);
	return 1;
}

int pg_copy_next(struct pg_copy *cp, struct pg_copy_event *ev,
		 struct buf *err)
{
	int r = 0;

	if (cp->o.nconns == 1)
		return -EINVAL;
	pthread_mutex_lock(&cp->mu);
	if (cp->held) {
		free(cp->held->data);
		free(cp->held);
		cp->held = NULL;
	}
	for (;;) {
		if (cp->error) {
			r = cp->error;
			if (err && cp->errmsg.len)
				buf_add(err, cp->errmsg.data, cp->errmsg.len);
			break;
		}
		if (cp->consumed == cp->njobs)
			break;
		/* the oldest first: it frees its window place soonest */
		for (size_t i = cp->lowest; i < cp->next && !r; i++)
			r = pg_copy_event_of(cp, i, ev);
		if (r)
			break;
		if (pg_copy_interrupted(cp)) {
			r = pg_copy_stop_interrupted(cp, cp->lowest, err);
			break;
		}
		pg_copy_wait(cp);
	}
	pthread_mutex_unlock(&cp->mu);
	return r;
}

void pg_copy_free(struct pg_copy *cp)
{
	if (!cp)
		return;
	pthread_mutex_lock(&cp->mu);
	if (cp->consumed < cp->njobs) {
		cp->stop = 1;
		pthread_cond_broadcast(&cp->cv);
	}
	pthread_mutex_unlock(&cp->mu);
	/* a worker may sit in PQgetCopyData waiting for a slow query:
	 * cancel it server-side so it returns */
	for (size_t i = 0; cp->stop && i < cp->nthreads; i++) {
		char msg[256];

		if (cp->cancels && cp->cancels[i])
			PQcancel(cp->cancels[i], msg, sizeof(msg));
	}
	for (size_t i = 0; i < cp->nthreads; i++)
		pthread_join(cp->threads[i], NULL);
	for (size_t i = 0; cp->cancels && i < cp->o.nconns; i++)
		if (cp->cancels[i])
			PQfreeCancel(cp->cancels[i]);
	for (size_t i = 0; cp->slots && i < cp->njobs; i++) {
		struct pg_copy_blk *b = cp->slots[i].head;

		while (b) {
			struct pg_copy_blk *n = b->next;

			free(b->data);
			free(b);
			b = n;
		}
	}
	if (cp->held) {
		free(cp->held->data);
		free(cp->held);
	}
	free(cp->cancels);
	free(cp->slots);
	free(cp->threads);
	buf_release(&cp->errmsg);
	pthread_mutex_destroy(&cp->mu);
	pthread_cond_destroy(&cp->cv);
	free(cp);
}

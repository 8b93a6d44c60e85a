/*
 * rs-pipe: statements sent without waiting for each answer, read back at
 * a sync (see rs-pipe.h).
 */
#include <errno.h>
#include <string.h>

#include "pg-conn.h"
#include "rs-pipe.h"

void rs_pipe_init(struct rs_pipe *p, PGconn *c)
{
	memset(p, 0, sizeof(*p));
	p->c = c;
}

static int rs_pipe_ok(ExecStatusType st)
{
	return st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK || st == PGRES_EMPTY_QUERY;
}

int rs_pipe_sync(struct rs_pipe *p, const char *what, struct buf *err)
{
	size_t i = 0, nulls = 0;
	int r = 0, cb = 0;

	if (!p->on)
		return p->fail ? 1 : 0;
	if (PQpipelineSync(p->c) != 1)
		r = pg_conn_error(p->c, NULL, what, err);
	/* per statement a result, then NULL; the sync's result last */
	while (r == 0) {
		PGresult *res = PQgetResult(p->c);
		ExecStatusType st;

		if (!res) {
			/* a lost connection never sends the sync */
			if (PQstatus(p->c) == CONNECTION_BAD || ++nulls > p->queued + 1)
				r = pg_conn_error(p->c, NULL, what, err);
			continue;
		}
		st = PQresultStatus(res);
		if (st == PGRES_PIPELINE_SYNC) {
			PQclear(res);
			break;
		}
		/* after a failure the server skips the rest: ABORTED */
		if (!rs_pipe_ok(st) && st != PGRES_PIPELINE_ABORTED && !p->fail) {
			p->fail = res;
			p->fail_tag = i < p->queued ? p->tags[i] : (size_t)-1;
			res = NULL;
		} else if (rs_pipe_ok(st) && p->on_result && cb == 0 && i < p->queued) {
			/* the rest is still read, to leave the pipe clean */
			cb = p->on_result(p->ctx, p->tags[i], res);
		}
		PQclear(res);
		i++;
	}
	if (PQexitPipelineMode(p->c) != 1 && r == 0)
		r = pg_conn_error(p->c, NULL, what, err);
	p->on = 0;
	p->queued = 0;
	return r < 0 ? r : cb < 0 ? cb : p->fail ? 1 : 0;
}

int rs_pipe_send(struct rs_pipe *p, const char *sql, size_t tag,
		 const char *what, struct buf *err)
{
	return rs_pipe_send_params(p, sql, 0, NULL, NULL, NULL, 0, tag, what, err);
}

int rs_pipe_send_params(struct rs_pipe *p, const char *sql, int nparams,
			const char *const *values, const int *lengths,
			const int *formats, int result_format, size_t tag,
			const char *what, struct buf *err)
{
	if (p->fail)
		return 1;
	if (!p->on) {
		if (PQenterPipelineMode(p->c) != 1)
			return pg_conn_error(p->c, NULL, what, err);
		p->on = 1;
	}
	if (PQsendQueryParams(p->c, sql, nparams, NULL, values, lengths, formats,
			      result_format) != 1) {
		int r = pg_conn_error(p->c, NULL, what, err);

		rs_pipe_release(p);
		return r;
	}
	p->tags[p->queued++] = tag;
	return p->queued == RS_PIPE_BATCH ? rs_pipe_sync(p, what, err) : 0;
}

void rs_pipe_release(struct rs_pipe *p)
{
	if (p->on) {
		struct buf e = BUF_INIT;

		rs_pipe_sync(p, "pipeline", &e);
		buf_release(&e);
		if (PQpipelineStatus(p->c) != PQ_PIPELINE_OFF)
			PQexitPipelineMode(p->c);
		p->on = 0;
	}
	PQclear(p->fail);
	p->fail = NULL;
	p->queued = 0;
}

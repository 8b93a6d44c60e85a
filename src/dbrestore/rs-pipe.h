/*
 * rs-pipe: many statements over one round trip (libpq's pipeline mode).
 *
 * A restore of a database of many small objects runs thousands of
 * statements (the dump's DDL, the undo's rehearsal), and waiting for
 * each answer before sending the next was most of its time.  A pipe
 * sends the statements as they come and reads their results at a sync:
 * every RS_PIPE_BATCH statements, or when the caller asks.  Inside a
 * transaction an error aborts it anyway, so sending on costs nothing:
 * the server skips what follows a failed statement until the sync, and
 * the pipe keeps the failed statement's result with the caller's tag
 * for it, so the error names that statement as running them one at a
 * time would.
 *
 * Each statement goes over the extended protocol, so it must be one
 * statement (as rs-sql cuts a dump), and nothing in the pipe may depend
 * on another's result (a savepoint tried, a COPY): the caller syncs and
 * runs such a statement alone.  Results are small (DDL), and a sync
 * every RS_PIPE_BATCH statements bounds what waits in the socket, so a
 * blocking connection cannot deadlock.
 */
#ifndef VAULT_RS_PIPE_H
#define VAULT_RS_PIPE_H

#include <stddef.h>
#include <libpq-fe.h>
#include "buf.h"

#define RS_PIPE_BATCH 128

struct rs_pipe {
	PGconn *c;
	int on;				/* in pipeline mode */
	size_t queued;			/* statements since the last sync */
	size_t tags[RS_PIPE_BATCH];	/* theirs, in order */
	PGresult *fail;			/* the first statement that failed */
	size_t fail_tag;
	/* when set (by the caller, after rs_pipe_init): each statement's
	 * successful result, at the sync, in the order sent; a negative
	 * errno stops the pipe (the sync returns it, err filled by it) */
	int (*on_result)(void *ctx, size_t tag, const PGresult *res);
	void *ctx;
};

/* An idle pipe over c (c idle or in a transaction, not in pipeline
 * mode). */
void rs_pipe_init(struct rs_pipe *p, PGconn *c);

/*
 * Sends one statement, tagged (the caller's number for it, handed back
 * when it fails), entering pipeline mode first when needed; syncs once
 * RS_PIPE_BATCH statements wait.  Returns 0; 1 when a statement sent
 * failed (p->fail, p->fail_tag; nothing more is sent, the connection is
 * out of pipeline mode); or a pg-conn errno (-ECONNRESET, -EIO) with
 * what and the connection's message in err.
 */
int rs_pipe_send(struct rs_pipe *p, const char *sql, size_t tag,
		 const char *what, struct buf *err);

/* rs_pipe_send with parameters, as PQsendQueryParams takes them (types
 * NULL: the server infers them); results in result_format. */
int rs_pipe_send_params(struct rs_pipe *p, const char *sql, int nparams,
			const char *const *values, const int *lengths,
			const int *formats, int result_format, size_t tag,
			const char *what, struct buf *err);

/*
 * Reads the results of every statement sent and leaves pipeline mode,
 * so the connection takes PQexec again.  Returns as rs_pipe_send.
 */
int rs_pipe_sync(struct rs_pipe *p, const char *what, struct buf *err);

/* Leaves pipeline mode (results not read are discarded) and frees the
 * failed result.  The pipe can be used again after rs_pipe_init. */
void rs_pipe_release(struct rs_pipe *p);

#endif

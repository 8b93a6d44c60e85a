/*
 * pg-conn: connecting to PostgreSQL the way vault needs it.
 *
 *  - A connection string (key=value or postgres:// URL) is parsed and
 *    checked up front with libpq's own parser, so a typo is reported
 *    before anything else happens.  libpq's environment (PGHOST,
 *    PGPASSWORD, .pgpass, sslmode...) keeps working.
 *  - The source is described with the password masked
 *    ("postgres://user:***@host:5432/db"); that string is what goes into
 *    logs and snapshot metadata.  Error texts are scrubbed of the
 *    password too.
 *  - Transient failures (refused, timed out, server starting up, too many
 *    clients) are retried with exponential backoff; authentication and
 *    "does not exist" failures are not.
 *  - Once connected, the info can be pinned to the server actually
 *    reached, so worker connections and the pg_dump child talk to the
 *    same server even when the string listed several hosts.
 *
 * Nothing here prints.  Errors are negative errno values with a message
 * in `err` that names host and port:
 *   -EINVAL       the string cannot be parsed or holds a bad value
 *   -EACCES       authentication failed / password needed / not allowed
 *   -ENOENT       the database or role does not exist
 *   -ECONNREFUSED the server could not be reached (after the retries)
 *   -EIO          a query failed (err has the server's message)
 *   -ECONNRESET   the connection was lost during a query
 */
#ifndef VAULT_PG_CONN_H
#define VAULT_PG_CONN_H

#include <libpq-fe.h>
#include "buf.h"

struct pg_conn_info;

/* Parses and validates conninfo.  The password it may hold is kept in
 * memory wiped on free. */
int pg_conn_info_parse(struct pg_conn_info **ci, const char *conninfo,
		       struct buf *err);
void pg_conn_info_free(struct pg_conn_info *ci);

/* "postgres://user:***@host:port/db" ("***" only when the string held a
 * password; libpq defaults filled in).  Owned by ci. */
const char *pg_conn_info_describe(const struct pg_conn_info *ci);
/* "host:port" of the target, for error messages.  Owned by ci. */
const char *pg_conn_info_target(const struct pg_conn_info *ci);

struct pg_conn_retry {
	int retries;		/* extra attempts after the first */
	unsigned delay_ms;	/* first backoff; doubles, capped at 30 s */
};

/*
 * Where the server's notices (NOTICE, WARNING... that are no error) go
 * on every connection opened from now on: fn(ctx, text), the text as
 * libpq gives it ("WARNING:  ..." and a newline), on the thread using
 * the connection.  fn NULL (the start) leaves libpq's default, which
 * prints them on standard error.  Set it once, before connecting.
 */
void pg_conn_set_notices(void (*fn)(void *ctx, const char *text),
			 void *ctx);

/*
 * Opens a connection (application_name "vault" unless given).  With
 * rt == NULL there is a single attempt.  On failure *c is NULL.
 */
int pg_conn_open(PGconn **c, const struct pg_conn_info *ci,
		 const struct pg_conn_retry *rt, struct buf *err);

/* A copy of ci bound to the host, port, database and user that c
 * reached. */
int pg_conn_info_pin(struct pg_conn_info **out, const struct pg_conn_info *ci,
		     PGconn *c);

/*
 * For a child program (pg_dump): a key=value connection string without
 * the password (nor sslpassword, which a child cannot get any other
 * safe way), and the password separately (empty when the string held
 * none: libpq's PGPASSWORD / .pgpass then still apply in the child).
 * The caller wipes `password`.
 */
int pg_conn_info_child(const struct pg_conn_info *ci, struct buf *conninfo,
		       struct buf *password);

/*
 * Overwrites, in place, every password spelled in the connection string
 * s with '*' (same length, so it works on a string in argv: /proc/PID/
 * cmdline, and so ps, show the masked text from then on).  Returns the
 * number of bytes masked.  Best-effort, like the scrubbing of messages.
 */
size_t pg_conn_mask_arg(char *s);

/*
 * Query helpers: run sql with text parameters and require the given
 * result status (PGRES_TUPLES_OK / PGRES_COMMAND_OK).  On failure err
 * gets "<what>: <server message>" and the result is freed; returns
 * -EACCES for insufficient privilege, -ECONNRESET for a lost connection,
 * -EINTR for a cancelled query, -EIO otherwise.
 */
int pg_conn_query(PGconn *c, PGresult **res, ExecStatusType want,
		  const char *sql, int nparams, const char *const *params,
		  const char *what, struct buf *err);
int pg_conn_exec(PGconn *c, const char *sql, const char *what,
		 struct buf *err);
/* Maps a failed result (or the connection's state when res is NULL) to
 * an errno and appends "<what>: <message>" to err. */
int pg_conn_error(PGconn *c, const PGresult *res, const char *what,
		  struct buf *err);

#endif

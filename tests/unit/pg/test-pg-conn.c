/*
 * test-pg-conn: connection strings (pg-conn): URLs and key=value strings
 * described with the password masked, the child's conninfo without the
 * password (which goes separately), errors that never show it, and
 * retried connection attempts that name host and port.  No server is
 * needed; tests/cli/t1090-db-unit.sh runs it with the capture tests.
 */
#include <errno.h>
#include <string.h>
#include <libpq-fe.h>

#include "../tap.h"
#include "pg-conn.h"

static void test_conninfo(void)
{
	struct pg_conn_info *ci = NULL;
	struct buf err = BUF_INIT, child = BUF_INIT, pw = BUF_INIT;
	struct pg_conn_retry rt = { 2, 10 };
	PGconn *c = NULL;
	int r;

	r = pg_conn_info_parse(&ci, "postgres://alice:s3cr%40t@db.example.com:6543/app?sslmode=disable", &err);
	ok(r == 0 && !strcmp(pg_conn_info_describe(ci),
			     "postgres://alice:***@db.example.com:6543/app") &&
	   !strcmp(pg_conn_info_target(ci), "db.example.com:6543"),
	   "URL described with the password masked: %s", ci ? pg_conn_info_describe(ci) : "");
	if (r == 0) {
		r = pg_conn_info_child(ci, &child, &pw);
		ok(r == 0 && !strcmp((char *)pw.data, "s3cr@t") &&
		   !strstr((char *)child.data, "s3cr") &&
		   strstr((char *)child.data, "host='db.example.com'") &&
		   strstr((char *)child.data, "sslmode='disable'"),
		   "child conninfo without the password: %s", (char *)child.data);
	}
	pg_conn_info_free(ci);
	ci = NULL;
	r = pg_conn_info_parse(&ci, "host=h port=5 user=u dbname='my db' password='it\\'s'", &err);
	ok(r == 0 && !strcmp(pg_conn_info_describe(ci), "postgres://u:***@h:5/my%20db"),
	   "key=value described: %s", ci ? pg_conn_info_describe(ci) : "");
	buf_reset(&child);
	buf_reset(&pw);
	if (r == 0) {
		pg_conn_info_child(ci, &child, &pw);
		ok(strstr((char *)child.data, "dbname='my db'") && !strcmp((char *)pw.data, "it's"),
		   "quoted values survive: %s", (char *)child.data);
	}
	pg_conn_info_free(ci);
	ci = NULL;
	r = pg_conn_info_parse(&ci, "host=h port=5 user=u dbname=d", &err);
	ok(r == 0 && !strcmp(pg_conn_info_describe(ci), "postgres://u@h:5/d"),
	   "no password, no mask");
	pg_conn_info_free(ci);
	ci = NULL;
	buf_reset(&err);
	r = pg_conn_info_parse(&ci, "host=h password=topsecret junk", &err);
	ok(r == -EINVAL && ci == NULL && err.len && !strstr((char *)err.data, "topsecret"),
	   "bad key=value string: %s", (char *)err.data);
	buf_reset(&err);
	r = pg_conn_info_parse(&ci, "postgres://u:topsecret@[::1/db", &err);
	ok(r == -EINVAL && err.len && !strstr((char *)err.data, "topsecret"),
	   "bad URL, password scrubbed: %s", (char *)err.data);
	buf_reset(&err);
	r = pg_conn_info_parse(&ci, "nonsense_key=1", &err);
	ok(r == -EINVAL && strstr((char *)err.data, "nonsense_key"),
	   "unknown keyword: %s", (char *)err.data);
	buf_reset(&err);
	r = pg_conn_info_parse(&ci, "host=127.0.0.1 port=1 connect_timeout=2", &err);
	if (r == 0)
		r = pg_conn_open(&c, ci, &rt, &err);
	ok(r == -ECONNREFUSED && c == NULL &&
	   strstr((char *)err.data, "127.0.0.1:1") &&
	   strstr((char *)err.data, "after 3 attempts"),
	   "unreachable: retried, names host and port: %s", (char *)err.data);
	pg_conn_info_free(ci);
	buf_release(&err);
	buf_release(&child);
	buf_wipe(&pw);
}

int main(void)
{
	test_conninfo();
	return done_testing();
}

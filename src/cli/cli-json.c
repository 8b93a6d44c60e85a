/*
 * cli-json: a small streaming JSON writer for --json output.  It only
 * tracks nesting and commas; strings go through cli_json_escape so any
 * file name, tag or host name yields valid JSON.  Output is flushed to
 * stdout in pieces, so listing a large snapshot stays in bounded memory.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

#define CLI_JSON_FLUSH_AT (64u << 10)

void cli_json_init(struct cli_json *j)
{
	memset(j, 0, sizeof(*j));
	buf_init(&j->out, 0);
	j->fd = 1;
	j->first[0] = 1;
}

void cli_json_release(struct cli_json *j)
{
	if (j)
		buf_release(&j->out);
}

static void cli_json_check(struct cli_json *j, int r)
{
	if (r < 0 && !j->err)
		j->err = r;
}

/* Comma, newline at the top levels (one array element per line keeps
 * big outputs greppable), and the key. */
static void cli_json_prefix(struct cli_json *j, const char *key)
{
	if (!j->first[j->depth])
		cli_json_check(j, buf_addch(&j->out, ','));
	if (j->depth == 1 && !key)
		cli_json_check(j, buf_addch(&j->out, '\n'));
	j->first[j->depth] = 0;
	if (key) {
		cli_json_check(j, cli_json_escape(&j->out, key, strlen(key)));
		cli_json_check(j, buf_addch(&j->out, ':'));
	}
}

static void cli_json_maybe_flush(struct cli_json *j)
{
	if (j->out.len >= CLI_JSON_FLUSH_AT)
		cli_json_check(j, cli_json_flush(j));
}

static void cli_json_open(struct cli_json *j, const char *key, int ch)
{
	cli_json_prefix(j, key);
	cli_json_check(j, buf_addch(&j->out, ch));
	if (j->depth + 1 >= (int)sizeof(j->first)) {
		cli_json_check(j, -E2BIG);
		return;
	}
	j->first[++j->depth] = 1;
}

static void cli_json_close(struct cli_json *j, int ch)
{
	if (j->depth == 1 && !j->first[1] && ch == ']')
		cli_json_check(j, buf_addch(&j->out, '\n'));
	if (j->depth > 0)
		j->depth--;
	cli_json_check(j, buf_addch(&j->out, ch));
	cli_json_maybe_flush(j);
}

void cli_json_begin_object(struct cli_json *j, const char *key)
{
	cli_json_open(j, key, '{');
}

void cli_json_end_object(struct cli_json *j)
{
	cli_json_close(j, '}');
}

void cli_json_begin_array(struct cli_json *j, const char *key)
{
	cli_json_open(j, key, '[');
}

void cli_json_end_array(struct cli_json *j)
{
	cli_json_close(j, ']');
}

void cli_json_strn(struct cli_json *j, const char *key, const char *s,
		   size_t n)
{
	cli_json_prefix(j, key);
	cli_json_check(j, cli_json_escape(&j->out, s, n));
}

void cli_json_str(struct cli_json *j, const char *key, const char *s)
{
	if (!s)
		cli_json_null(j, key);
	else
		cli_json_strn(j, key, s, strlen(s));
}

void cli_json_u64(struct cli_json *j, const char *key, uint64_t v)
{
	cli_json_prefix(j, key);
	cli_json_check(j, buf_addf(&j->out, "%" PRIu64, v));
}

void cli_json_i64(struct cli_json *j, const char *key, int64_t v)
{
	cli_json_prefix(j, key);
	cli_json_check(j, buf_addf(&j->out, "%" PRId64, v));
}

void cli_json_double(struct cli_json *j, const char *key, double v)
{
	cli_json_prefix(j, key);
	if (!isfinite(v))
		cli_json_check(j, buf_addstr(&j->out, "null"));
	else
		cli_json_check(j, buf_addf(&j->out, "%.6g", v));
}

void cli_json_bool(struct cli_json *j, const char *key, int v)
{
	cli_json_prefix(j, key);
	cli_json_check(j, buf_addstr(&j->out, v ? "true" : "false"));
}

void cli_json_null(struct cli_json *j, const char *key)
{
	cli_json_prefix(j, key);
	cli_json_check(j, buf_addstr(&j->out, "null"));
}

void cli_json_time(struct cli_json *j, const char *key, int64_t t)
{
	char s[40];

	cli_time_format(t, s, sizeof(s));
	cli_json_str(j, key, s);
}

int cli_json_flush(struct cli_json *j)
{
	int r;

	if (j->err)
		return j->err;
	fflush(stdout);	/* keep order with anything printed via stdio */
	r = cli_write_all(j->fd, j->out.data, j->out.len);
	buf_reset(&j->out);
	if (r < 0)
		j->err = r;
	return r;
}

int cli_json_finish(struct cli_json *j)
{
	int r;

	cli_json_check(j, buf_addch(&j->out, '\n'));
	r = cli_json_flush(j);
	buf_release(&j->out);
	return r;
}

/*
 * pg-conn: parsing, describing (password masked), opening with retries,
 * and pinning PostgreSQL connections; plus the query helpers that turn
 * libpq failures into errno values and messages.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <sodium.h>

#include "pg-conn.h"

struct pg_conn_info {
	char **kw;		/* keywords with a value, NULL-terminated */
	char **val;
	size_t n;
	char *describe;
	char *target;
};

/* Debian's libpq default when neither host nor PGHOST is set */
#define PG_CONN_DEFAULT_SOCKET	"/var/run/postgresql"

static void (*pg_conn_notice_fn)(void *ctx, const char *text);
static void *pg_conn_notice_ctx;

void pg_conn_set_notices(void (*fn)(void *ctx, const char *text),
			 void *ctx)
{
	pg_conn_notice_fn = fn;
	pg_conn_notice_ctx = ctx;
}

static void pg_conn_notice(void *arg, const char *text)
{
	(void)arg;
	pg_conn_notice_fn(pg_conn_notice_ctx, text);
}

static void pg_conn_msg_clean(struct buf *b)
{
	/* libpq messages end in "\n" and may span lines; keep one line */
	size_t o = 0;

	for (size_t i = 0; i < b->len; i++) {
		uint8_t c = b->data[i];

		if (c == '\n' || c == '\t' || c == '\r')
			c = ' ';
		if (c == ' ' && (o == 0 || b->data[o - 1] == ' '))
			continue;
		b->data[o++] = c;
	}
	while (o && b->data[o - 1] == ' ')
		o--;
	if (b->cap)
		buf_setlen(b, o);
}

/* Replaces every occurrence of secret in b with "***". */
static void pg_conn_scrub(struct buf *b, const char *secret, size_t n)
{
	struct buf o = BUF_INIT;
	size_t i = 0;

	if (n == 0 || b->len < n)
		return;
	while (i < b->len) {
		if (i + n <= b->len && !memcmp(b->data + i, secret, n)) {
			if (buf_addstr(&o, "***") < 0)
				goto fail;
			i += n;
		} else if (buf_addch(&o, b->data[i++]) < 0) {
			goto fail;
		}
	}
	buf_wipe(b);
	*b = o;
	return;
fail:
	/* out of memory: drop the message rather than risk leaking */
	buf_wipe(&o);
	buf_reset(b);
	buf_addstr(b, "(message withheld)");
}

/*
 * Best-effort: the raw password spellings in a connection string, even
 * one libpq could not parse (its error texts can quote the whole URI):
 * URI userinfo "user:secret@", a "password=secret" query parameter, or a
 * key=value password (quoted or not).  fn gets each span.
 */
static void pg_conn_password_spans(const char *ci,
				   void (*fn)(void *ctx, const char *p,
					      size_t n),
				   void *ctx)
{
	const char *p, *e;

	p = strstr(ci, "://");
	if (p) {
		const char *auth = p + 3, *end = auth, *at = NULL, *colon;

		while (*end && *end != '/' && *end != '?')
			end++;
		for (const char *q = auth; q < end; q++)
			if (*q == '@')
				at = q;
		colon = at ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
		if (colon)
			fn(ctx, colon + 1, (size_t)(at - colon - 1));
	}
	for (p = ci; (p = strstr(p, "password")); p += 8) {
		const char *v = p + 8;

		while (*v == ' ' || *v == '\t')
			v++;
		if (*v != '=')
			continue;
		v++;
		while (*v == ' ' || *v == '\t')
			v++;
		if (*v == '\'') {
			v++;
			for (e = v; *e && *e != '\''; e++)
				if (*e == '\\' && e[1])
					e++;
		} else {
			for (e = v; *e && *e != ' ' && *e != '&' && *e != '\t'; e++)
				;
		}
		fn(ctx, v, (size_t)(e - v));
	}
}

static void pg_conn_scrub_span(void *ctx, const char *p, size_t n)
{
	pg_conn_scrub(ctx, p, n);
}

static void pg_conn_scrub_raw(struct buf *msg, const char *ci)
{
	pg_conn_password_spans(ci, pg_conn_scrub_span, msg);
}

struct pg_conn_mask {
	char *s;
	size_t n;
};

static void pg_conn_mask_span(void *ctx, const char *p, size_t n)
{
	struct pg_conn_mask *m = ctx;

	/* p points into m->s (the spans are found in it) */
	memset(m->s + (p - m->s), '*', n);
	m->n += n;
}

size_t pg_conn_mask_arg(char *s)
{
	struct pg_conn_mask m = { s, 0 };

	pg_conn_password_spans(s, pg_conn_mask_span, &m);
	return m.n;
}

static const char *pg_conn_get(const struct pg_conn_info *ci, const char *kw)
{
	for (size_t i = 0; i < ci->n; i++)
		if (!strcmp(ci->kw[i], kw))
			return ci->val[i];
	return NULL;
}

static int pg_conn_set(struct pg_conn_info *ci, const char *kw,
		       const char *val)
{
	char **k, **v, *s;

	for (size_t i = 0; i < ci->n; i++) {
		if (strcmp(ci->kw[i], kw))
			continue;
		if (!val) {
			/* remove: keep the arrays NULL-terminated */
			sodium_memzero(ci->val[i], strlen(ci->val[i]));
			free(ci->kw[i]);
			free(ci->val[i]);
			memmove(&ci->kw[i], &ci->kw[i + 1], (ci->n - i) * sizeof(char *));
			memmove(&ci->val[i], &ci->val[i + 1], (ci->n - i) * sizeof(char *));
			ci->n--;
			return 0;
		}
		s = strdup(val);
		if (!s)
			return -ENOMEM;
		sodium_memzero(ci->val[i], strlen(ci->val[i]));
		free(ci->val[i]);
		ci->val[i] = s;
		return 0;
	}
	if (!val)
		return 0;
	k = realloc(ci->kw, (ci->n + 2) * sizeof(char *));
	if (!k)
		return -ENOMEM;
	ci->kw = k;
	v = realloc(ci->val, (ci->n + 2) * sizeof(char *));
	if (!v)
		return -ENOMEM;
	ci->val = v;
	ci->kw[ci->n] = strdup(kw);
	ci->val[ci->n] = strdup(val);
	if (!ci->kw[ci->n] || !ci->val[ci->n]) {
		free(ci->kw[ci->n]);
		free(ci->val[ci->n]);
		ci->kw[ci->n] = ci->val[ci->n] = NULL;
		return -ENOMEM;
	}
	ci->n++;
	ci->kw[ci->n] = ci->val[ci->n] = NULL;
	return 0;
}

void pg_conn_info_free(struct pg_conn_info *ci)
{
	if (!ci)
		return;
	for (size_t i = 0; i < ci->n; i++) {
		sodium_memzero(ci->val[i], strlen(ci->val[i]));
		free(ci->kw[i]);
		free(ci->val[i]);
	}
	free(ci->kw);
	free(ci->val);
	free(ci->describe);
	free(ci->target);
	free(ci);
}

static struct pg_conn_info *pg_conn_info_alloc(void)
{
	struct pg_conn_info *ci = calloc(1, sizeof(*ci));

	if (!ci)
		return NULL;
	ci->kw = calloc(1, sizeof(char *));
	ci->val = calloc(1, sizeof(char *));
	if (!ci->kw || !ci->val) {
		pg_conn_info_free(ci);
		return NULL;
	}
	return ci;
}

/* percent-encodes what a URL component cannot hold raw */
static int pg_conn_url_part(struct buf *b, const char *s, int keep_commas)
{
	static const char hex[] = "0123456789ABCDEF";
	int r = 0;

	for (; *s && r == 0; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
		    c == '~' || (keep_commas && c == ',')) {
			r = buf_addch(b, c);
		} else {
			char e[3] = { '%', hex[c >> 4], hex[c & 15] };

			r = buf_add(b, e, 3);
		}
	}
	return r;
}

/* Builds the masked description and host:port from the parsed values
 * with libpq's defaults (environment, .pg_service) filled in. */
static int pg_conn_info_names(struct pg_conn_info *ci)
{
	PQconninfoOption *defs = PQconndefaults(), *o;
	const char *user = pg_conn_get(ci, "user"), *host = pg_conn_get(ci, "host");
	const char *port = pg_conn_get(ci, "port"), *db = pg_conn_get(ci, "dbname");
	const char *addr = pg_conn_get(ci, "hostaddr");
	struct buf d = BUF_INIT, t = BUF_INIT;
	int r;

	for (o = defs; o && o->keyword; o++) {
		if (!o->val || !*o->val)
			continue;
		if (!user && !strcmp(o->keyword, "user"))
			user = o->val;
		else if (!host && !strcmp(o->keyword, "host"))
			host = o->val;
		else if (!port && !strcmp(o->keyword, "port"))
			port = o->val;
		else if (!db && !strcmp(o->keyword, "dbname"))
			db = o->val;
		else if (!addr && !strcmp(o->keyword, "hostaddr"))
			addr = o->val;
	}
	if (!host || !*host)
		host = addr && *addr ? addr : PG_CONN_DEFAULT_SOCKET;
	if (!port || !*port)
		port = "5432";
	if (!user)
		user = "";
	if (!db || !*db)
		db = user;
	r = buf_addstr(&d, "postgres://");
	if (r == 0 && *user)
		r = pg_conn_url_part(&d, user, 0);
	if (r == 0 && pg_conn_get(ci, "password"))
		r = buf_addstr(&d, ":***");
	if (r == 0 && (*user || pg_conn_get(ci, "password")))
		r = buf_addch(&d, '@');
	if (r == 0)
		r = pg_conn_url_part(&d, host, 1);
	if (r == 0)
		r = buf_addf(&d, ":%s/", port);
	if (r == 0)
		r = pg_conn_url_part(&d, db, 0);
	if (r == 0)
		r = buf_addf(&t, "%s:%s", host, port);
	if (defs)
		PQconninfoFree(defs);
	if (r < 0) {
		buf_release(&d);
		buf_release(&t);
		return r;
	}
	free(ci->describe);
	free(ci->target);
	ci->describe = buf_detach(&d, NULL);
	ci->target = buf_detach(&t, NULL);
	return ci->describe && ci->target ? 0 : -ENOMEM;
}

static int pg_conn_check_ports(const char *ports, struct buf *err)
{
	const char *p = ports;

	while (p && *p) {
		char *end;
		long v;

		errno = 0;
		v = strtol(p, &end, 10);
		if (end == p || errno || v < 1 || v > 65535 ||
		    (*end && *end != ',')) {
			if (err)
				buf_addf(err, "invalid port \"%s\" in the connection string",
					 ports);
			return -EINVAL;
		}
		p = *end ? end + 1 : end;
	}
	return 0;
}

int pg_conn_info_parse(struct pg_conn_info **out, const char *conninfo,
		       struct buf *err)
{
	PQconninfoOption *opts, *o;
	struct pg_conn_info *ci;
	char *msg = NULL;
	int r = 0;

	*out = NULL;
	opts = PQconninfoParse(conninfo ? conninfo : "", &msg);
	if (!opts) {
		struct buf m = BUF_INIT;

		if (!msg)
			return -ENOMEM;
		buf_addstr(&m, msg);
		PQfreemem(msg);
		pg_conn_msg_clean(&m);
		pg_conn_scrub_raw(&m, conninfo);
		if (err)
			buf_addf(err, "cannot parse the connection string: %s",
				 (char *)m.data);
		buf_wipe(&m);
		return -EINVAL;
	}
	ci = pg_conn_info_alloc();
	if (!ci) {
		PQconninfoFree(opts);
		return -ENOMEM;
	}
	for (o = opts; o->keyword && r == 0; o++)
		if (o->val)
			r = pg_conn_set(ci, o->keyword, o->val);
	/* PQconninfoFree does not wipe; clear the password copy first */
	for (o = opts; o->keyword; o++)
		if (o->val && !strcmp(o->keyword, "password"))
			sodium_memzero(o->val, strlen(o->val));
	PQconninfoFree(opts);
	if (r == 0)
		r = pg_conn_check_ports(pg_conn_get(ci, "port"), err);
	if (r == 0)
		r = pg_conn_info_names(ci);
	if (r < 0) {
		pg_conn_info_free(ci);
		return r;
	}
	*out = ci;
	return 0;
}

const char *pg_conn_info_describe(const struct pg_conn_info *ci)
{
	return ci->describe;
}

const char *pg_conn_info_target(const struct pg_conn_info *ci)
{
	return ci->target;
}

static int pg_conn_contains(const char *hay, const char *needle)
{
	return strcasestr(hay, needle) != NULL;
}

/* Failure of PQconnectdbParams: permanent ones are not retried. */
static int pg_conn_classify(PGconn *c, const char *msg)
{
	if (PQconnectionNeedsPassword(c))
		return -EACCES;
	if (pg_conn_contains(msg, "authentication failed") ||
	    pg_conn_contains(msg, "pg_hba.conf") ||
	    pg_conn_contains(msg, "permission denied") ||
	    pg_conn_contains(msg, "not permitted to log in") ||
	    pg_conn_contains(msg, "password"))
		return -EACCES;
	if (pg_conn_contains(msg, "does not exist"))
		return -ENOENT;
	if (pg_conn_contains(msg, "invalid"))
		return -EINVAL;
	return -ECONNREFUSED;
}

static void pg_conn_sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

int pg_conn_open(PGconn **out, const struct pg_conn_info *ci,
		 const struct pg_conn_retry *rt, struct buf *err)
{
	const char **kw, **val;
	int attempts = rt && rt->retries > 0 ? rt->retries + 1 : 1;
	unsigned delay = rt && rt->delay_ms ? rt->delay_ms : 500;
	struct buf m = BUF_INIT;
	int r = -ECONNREFUSED;
	PGconn *c = NULL;

	*out = NULL;
	kw = calloc(ci->n + 2, sizeof(*kw));
	val = calloc(ci->n + 2, sizeof(*val));
	if (!kw || !val) {
		free(kw);
		free(val);
		return -ENOMEM;
	}
	for (size_t i = 0; i < ci->n; i++) {
		kw[i] = ci->kw[i];
		val[i] = ci->val[i];
	}
	kw[ci->n] = "fallback_application_name";
	val[ci->n] = "vault";
	for (int a = 0; a < attempts; a++) {
		if (a) {
			pg_conn_sleep_ms(delay);
			delay = delay > 15000 ? 30000 : delay * 2;
		}
		c = PQconnectdbParams(kw, val, 0);
		if (!c) {
			r = -ENOMEM;
			break;
		}
		if (PQstatus(c) == CONNECTION_OK) {
			if (pg_conn_notice_fn)
				PQsetNoticeProcessor(c, pg_conn_notice, NULL);
			r = 0;
			break;
		}
		buf_reset(&m);
		buf_addstr(&m, PQerrorMessage(c));
		pg_conn_msg_clean(&m);
		r = pg_conn_classify(c, (char *)m.data);
		PQfinish(c);
		c = NULL;
		if (r != -ECONNREFUSED)
			break;
	}
	free(kw);
	free(val);
	if (r == 0) {
		*out = c;
	} else if (err) {
		const char *pw = pg_conn_get(ci, "password");

		if (pw)
			pg_conn_scrub(&m, pw, strlen(pw));
		buf_addf(err, "cannot connect to %s (%s)", ci->target,
			 ci->describe);
		if (r == -ECONNREFUSED && attempts > 1)
			buf_addf(err, " after %d attempts", attempts);
		if (r == -EACCES && !pw && strstr((char *)m.data, "no password"))
			buf_addstr(err, ": a password is needed (give it in the URL, PGPASSWORD or ~/.pgpass)");
		else if (m.len)
			buf_addf(err, ": %s", (char *)m.data);
	}
	buf_wipe(&m);
	return r;
}

int pg_conn_info_pin(struct pg_conn_info **out, const struct pg_conn_info *ci,
		     PGconn *c)
{
	struct pg_conn_info *p = pg_conn_info_alloc();
	int r = 0;

	*out = NULL;
	if (!p)
		return -ENOMEM;
	for (size_t i = 0; i < ci->n && r == 0; i++)
		r = pg_conn_set(p, ci->kw[i], ci->val[i]);
	/* one server: whatever list of hosts led to it */
	if (r == 0)
		r = pg_conn_set(p, "host", PQhost(c));
	if (r == 0)
		r = pg_conn_set(p, "port", PQport(c));
	if (r == 0 && pg_conn_get(ci, "hostaddr"))
		r = pg_conn_set(p, "hostaddr", PQhostaddr(c));
	if (r == 0)
		r = pg_conn_set(p, "dbname", PQdb(c));
	if (r == 0)
		r = pg_conn_set(p, "user", PQuser(c));
	if (r == 0)
		r = pg_conn_set(p, "target_session_attrs", NULL);
	if (r == 0)
		r = pg_conn_set(p, "load_balance_hosts", NULL);
	if (r == 0)
		r = pg_conn_info_names(p);
	if (r < 0) {
		pg_conn_info_free(p);
		return r;
	}
	*out = p;
	return 0;
}

int pg_conn_info_child(const struct pg_conn_info *ci, struct buf *conninfo,
		       struct buf *password)
{
	int r = 0;

	for (size_t i = 0; i < ci->n && r == 0; i++) {
		const char *v = ci->val[i];

		if (!strcmp(ci->kw[i], "password")) {
			r = buf_addstr(password, v);
			continue;
		}
		/* a key passphrase is a secret too, and pg_dump has no other
		 * way to receive it: leave it out rather than expose it */
		if (!strcmp(ci->kw[i], "sslpassword"))
			continue;
		if (conninfo->len)
			r = buf_addch(conninfo, ' ');
		if (r == 0)
			r = buf_addf(conninfo, "%s='", ci->kw[i]);
		for (; *v && r == 0; v++) {
			if (*v == '\'' || *v == '\\')
				r = buf_addch(conninfo, '\\');
			if (r == 0)
				r = buf_addch(conninfo, *v);
		}
		if (r == 0)
			r = buf_addch(conninfo, '\'');
	}
	return r;
}

int pg_conn_error(PGconn *c, const PGresult *res, const char *what,
		  struct buf *err)
{
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	const char *prim = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	const char *detail = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL) : NULL;
	int r = -EIO;

	if (state && !strcmp(state, "42501"))
		r = -EACCES;
	else if (state && !strcmp(state, "57014"))
		r = -EINTR;
	/* 08: connection exceptions; 57P01-03: the server shut us down */
	else if ((state && (!strncmp(state, "08", 2) || !strncmp(state, "57P0", 4))) ||
		 PQstatus(c) == CONNECTION_BAD)
		r = -ECONNRESET;
	if (err) {
		struct buf m = BUF_INIT;

		if (prim) {
			buf_addstr(&m, prim);
			if (detail)
				buf_addf(&m, " (%s)", detail);
		} else {
			buf_addstr(&m, PQerrorMessage(c));
		}
		pg_conn_msg_clean(&m);
		if (!m.len)
			buf_addstr(&m, r == -ECONNRESET ? "connection lost" :
				   "unexpected reply from the server");
		buf_addf(err, "%s: %s", what, (char *)m.data);
		buf_release(&m);
	}
	return r;
}

int pg_conn_query(PGconn *c, PGresult **res, ExecStatusType want,
		  const char *sql, int nparams, const char *const *params,
		  const char *what, struct buf *err)
{
	PGresult *q = PQexecParams(c, sql, nparams, NULL, params, NULL, NULL, 0);
	int r;

	*res = NULL;
	if (q && PQresultStatus(q) == want) {
		*res = q;
		return 0;
	}
	r = pg_conn_error(c, q, what, err);
	PQclear(q);
	return r;
}

int pg_conn_exec(PGconn *c, const char *sql, const char *what,
		 struct buf *err)
{
	PGresult *q;
	int r = pg_conn_query(c, &q, PGRES_COMMAND_OK, sql, 0, NULL, what, err);

	PQclear(q);
	return r;
}

/*
 * fakesb.c: the fixture of the Supabase client tests (see fakesb.h):
 * tests/fake-supabase.py as a child process and its control calls
 * (faults, state, counters), a test http client, a listing collector and
 * a small MD5.  Linked into each test program that talks to the fake
 * server, so none of them carries its own copy.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>
#include <curl/curl.h>

#include "fakesb.h"

/* ---- the server ------------------------------------------------------- */

static const char *fakesb_script(void)
{
	static char path[4096];
	static const char *const rel[] = {
		"tests/fake-supabase.py", "../tests/fake-supabase.py",
		"../../tests/fake-supabase.py",
	};
	const char *src = getenv("VAULT_SRCDIR");
	size_t i;

	if (src && *src) {
		snprintf(path, sizeof(path), "%s/tests/fake-supabase.py", src);
		if (access(path, R_OK) == 0)
			return path;
	}
	for (i = 0; i < sizeof(rel) / sizeof(rel[0]); i++)
		if (access(rel[i], R_OK) == 0)
			return rel[i];
	return NULL;
}

static int fakesb_python_present(void)
{
	const char *path = getenv("PATH");
	char cand[4096];
	const char *p, *e;

	for (p = path ? path : "/usr/bin:/bin"; *p; p = *e ? e + 1 : e) {
		e = strchr(p, ':');
		if (!e)
			e = p + strlen(p);
		snprintf(cand, sizeof(cand), "%.*s/python3", (int)(e - p), p);
		if (access(cand, X_OK) == 0)
			return 1;
	}
	return 0;
}

int fakesb_start(struct fakesb *s, const char *const *args)
{
	const char *script = fakesb_script();
	const char *argv[32];
	struct pollfd pfd;
	char line[64];
	size_t n = 0, got = 0;
	int fds[2], i;
	ssize_t k;

	memset(s, 0, sizeof(*s));
	if (!fakesb_python_present())
		return FAKESB_NO_PYTHON;
	if (!script)
		return -1;
	if (pipe(fds) < 0)
		return -1;
	argv[n++] = "python3";
	argv[n++] = script;
	for (i = 0; args && args[i] && n < 30; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	fflush(stdout);
	s->pid = fork();
	if (s->pid < 0)
		return -1;
	if (s->pid == 0) {
		dup2(fds[1], 1);
		close(fds[0]);
		close(fds[1]);
		execvp("python3", (char *const *)argv);
		_exit(127);
	}
	close(fds[1]);
	pfd.fd = fds[0];
	pfd.events = POLLIN;
	while (got < sizeof(line) - 1 && !memchr(line, '\n', got)) {
		if (poll(&pfd, 1, 15000) <= 0)
			break;
		k = read(fds[0], line + got, sizeof(line) - 1 - got);
		if (k <= 0)
			break;
		got += (size_t)k;
	}
	close(fds[0]);
	line[got] = '\0';
	s->port = atoi(line);
	if (s->port <= 0) {
		kill(s->pid, SIGKILL);
		waitpid(s->pid, NULL, 0);
		s->pid = 0;
		return -1;
	}
	snprintf(s->base, sizeof(s->base), "http://127.0.0.1:%d", s->port);
	snprintf(s->storage, sizeof(s->storage), "%s/storage/v1", s->base);
	return 0;
}

void fakesb_stop(struct fakesb *s)
{
	if (s->pid > 0) {
		kill(s->pid, SIGTERM);
		waitpid(s->pid, NULL, 0);
		s->pid = 0;
	}
}

static size_t fakesb_collect(char *p, size_t sz, size_t nm, void *ud)
{
	return buf_add(ud, p, sz * nm) == 0 ? sz * nm : 0;
}

long fakesb_control(struct fakesb *s, const char *json, struct buf *out)
{
	struct buf tmp = BUF_INIT, url = BUF_INIT;
	CURL *c = curl_easy_init();
	long code = -1;

	if (!c)
		return -1;
	buf_addf(&url, "%s/__control", s->base);
	curl_easy_setopt(c, CURLOPT_URL, (const char *)url.data);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, json);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, fakesb_collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, out ? out : &tmp);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
	if (out)
		buf_reset(out);
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_cleanup(c);
	buf_release(&tmp);
	buf_release(&url);
	return code;
}

long fakesb_route(struct fakesb *s, const char *route)
{
	struct buf out = BUF_INIT;
	struct json *j = NULL;
	int64_t v = 0;
	long r = -1;

	if (fakesb_control(s, "{\"op\":\"stats\"}", &out) == 200 &&
	    json_parse(&j, out.data, out.len, NULL) == 0) {
		const struct json *n = json_get(json_get(j, "routes"), route);

		r = n && json_int(n, &v) == 0 ? (long)v : 0;
	}
	json_free(j);
	buf_release(&out);
	return r;
}

/* ---- faults and state -------------------------------------------------- */

void fakesb_fault(struct fakesb *s, const char *path, const char *kind,
		  int count, const char *extra)
{
	struct buf j = BUF_INIT;

	buf_addstr(&j, "{\"op\":\"fault\",\"path\":");
	json_quote(&j, path, strlen(path));
	buf_addf(&j, ",\"kind\":\"%s\",\"count\":%d,%s}", kind, count,
		 extra ? extra : "\"retry_after\":0");
	if (fakesb_control(s, (const char *)j.data, NULL) != 200)
		diag("fault %s failed", kind);
	buf_release(&j);
}

void fakesb_clear_faults(struct fakesb *s)
{
	fakesb_control(s, "{\"op\":\"clear_faults\"}", NULL);
}

struct json *fakesb_state(struct fakesb *s)
{
	struct buf out = BUF_INIT;
	struct json *state = NULL;

	if (fakesb_control(s, "{\"op\":\"state\"}", &out) != 200 ||
	    json_parse(&state, out.data, out.len, NULL) < 0) {
		json_free(state);
		state = NULL;
	}
	buf_release(&out);
	return state;
}

const struct json *fakesb_state_obj(const struct json *state,
				    const char *bucket, const char *name)
{
	return json_get(json_get(json_get(json_get(state, "buckets"),
					   bucket), "objects"), name);
}

/* ---- clients and collectors ---------------------------------------------- */

struct sb_http *fakesb_http_new(unsigned jobs, int retries,
				unsigned connect_timeout_ms)
{
	struct sb_http_opts o = { 0 };
	struct sb_http *h = NULL;

	o.jobs = jobs;
	o.retries = retries;
	o.backoff_ms = 20;
	o.backoff_max_ms = 200;
	o.stall_timeout_s = 2;
	o.connect_timeout_ms = connect_timeout_ms;
	if (sb_http_new(&h, &o, NULL) < 0)
		return NULL;
	return h;
}

uint64_t fakesb_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

int fakesb_listed_cb(void *ctx, const char *bucket,
		     const struct sb_storage_object *o)
{
	struct fakesb_listed *l = ctx;

	if (!o->etag || o->etag[0] != '"' || !o->last_modified || !o->id)
		l->bad++;
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 256;
		l->names = realloc(l->names, l->cap * sizeof(*l->names));
		if (!l->names)
			return -ENOMEM;
	}
	l->names[l->n++] = strdup(o->name);
	return 0;
}

void fakesb_listed_free(struct fakesb_listed *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->names[i]);
	free(l->names);
	memset(l, 0, sizeof(*l));
}

int fakesb_cmpstr(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* ---- MD5 ------------------------------------------------------------------ */

static uint32_t fakesb_md5_rol(uint32_t x, int c)
{
	return (x << c) | (x >> (32 - c));
}

static void fakesb_md5_block(struct fakesb_md5 *m, const unsigned char *p)
{
	static const uint32_t K[64] = {
		0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a,
		0xa8304613, 0xfd469501, 0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be,
		0x6b901122, 0xfd987193, 0xa679438e, 0x49b40821, 0xf61e2562, 0xc040b340,
		0x265e5a51, 0xe9b6c7aa, 0xd62f105d, 0x02441453, 0xd8a1e681, 0xe7d3fbc8,
		0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed, 0xa9e3e905, 0xfcefa3f8,
		0x676f02d9, 0x8d2a4c8a, 0xfffa3942, 0x8771f681, 0x6d9d6122, 0xfde5380c,
		0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70, 0x289b7ec6, 0xeaa127fa,
		0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665,
		0xf4292244, 0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92,
		0xffeff47d, 0x85845dd1, 0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1,
		0xf7537e82, 0xbd3af235, 0x2ad7d2bb, 0xeb86d391 };
	static const int S[16] = { 7, 12, 17, 22, 5, 9, 14, 20, 4, 11, 16, 23,
				   6, 10, 15, 21 };
	uint32_t w[16], a = m->s[0], b = m->s[1], c = m->s[2], d = m->s[3], f, t;
	int i, g;

	for (i = 0; i < 16; i++)
		w[i] = (uint32_t)p[i * 4] | (uint32_t)p[i * 4 + 1] << 8 |
		       (uint32_t)p[i * 4 + 2] << 16 | (uint32_t)p[i * 4 + 3] << 24;
	for (i = 0; i < 64; i++) {
		if (i < 16) {
			f = (b & c) | (~b & d);
			g = i;
		} else if (i < 32) {
			f = (d & b) | (~d & c);
			g = (5 * i + 1) % 16;
		} else if (i < 48) {
			f = b ^ c ^ d;
			g = (3 * i + 5) % 16;
		} else {
			f = c ^ (b | ~d);
			g = (7 * i) % 16;
		}
		t = d;
		d = c;
		c = b;
		b = b + fakesb_md5_rol(a + f + K[i] + w[g], S[(i / 16) * 4 + i % 4]);
		a = t;
	}
	m->s[0] += a;
	m->s[1] += b;
	m->s[2] += c;
	m->s[3] += d;
}

void fakesb_md5_init(struct fakesb_md5 *m)
{
	memset(m, 0, sizeof(*m));
	m->s[0] = 0x67452301;
	m->s[1] = 0xefcdab89;
	m->s[2] = 0x98badcfe;
	m->s[3] = 0x10325476;
}

void fakesb_md5_add(struct fakesb_md5 *m, const void *data, size_t n)
{
	const unsigned char *p = data;

	m->len += n;
	while (n) {
		size_t k = 64 - m->have < n ? 64 - m->have : n;

		memcpy(m->buf + m->have, p, k);
		m->have += k;
		p += k;
		n -= k;
		if (m->have == 64) {
			fakesb_md5_block(m, m->buf);
			m->have = 0;
		}
	}
}

void fakesb_md5_hex(struct fakesb_md5 *m, char out[33])
{
	uint64_t bits = m->len * 8;
	unsigned char pad = 0x80, z = 0, l[8];
	int i;

	fakesb_md5_add(m, &pad, 1);
	while (m->have != 56)
		fakesb_md5_add(m, &z, 1);
	for (i = 0; i < 8; i++)
		l[i] = (unsigned char)(bits >> (8 * i));
	fakesb_md5_add(m, l, 8);
	for (i = 0; i < 16; i++)
		snprintf(out + 2 * i, 3, "%02x",
			 (unsigned)(m->s[i / 4] >> (8 * (i % 4))) & 0xff);
}

void fakesb_md5_of(const void *p, size_t n, char out[33])
{
	struct fakesb_md5 m;

	fakesb_md5_init(&m);
	fakesb_md5_add(&m, p, n);
	fakesb_md5_hex(&m, out);
}

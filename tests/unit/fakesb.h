/*
 * fakesb.h: runs tests/fake-supabase.py as a child of a unit test
 * (header-only; used by test-sb-http.c and test-sb-storage.c).
 *
 *   fakesb_start(&s, args)   0, FAKESB_NO_PYTHON (skip) or -1
 *   fakesb_control(&s, json, &answer)   POST /__control
 *   fakesb_route(&s, "storage.object.get")   requests counted so far
 *   fakesb_stop(&s)
 *
 * The control calls use plain libcurl, not the code under test.  The
 * script is found through $VAULT_SRCDIR (set by `make check`), else
 * relative to the current directory.
 */
#ifndef VAULT_FAKESB_H
#define VAULT_FAKESB_H

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>
#include <curl/curl.h>

#include "buf.h"
#include "json.h"

#define FAKESB_NO_PYTHON 1

struct fakesb {
	pid_t pid;
	int port;
	char base[64];		/* http://127.0.0.1:PORT */
	char storage[96];	/* base + /storage/v1 */
};

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

/* args: extra command-line arguments, NULL-terminated (or NULL). */
static int fakesb_start(struct fakesb *s, const char *const *args)
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

static void fakesb_stop(struct fakesb *s)
{
	if (s->pid > 0) {
		kill(s->pid, SIGTERM);
		waitpid(s->pid, NULL, 0);
		s->pid = 0;
	}
}

static size_t fakesb_collect_(char *p, size_t sz, size_t nm, void *ud)
{
	return buf_add(ud, p, sz * nm) == 0 ? sz * nm : 0;
}

/* POSTs json to /__control; the answer goes to out (may be NULL).
 * Returns the HTTP status, or -1. */
static long fakesb_control(struct fakesb *s, const char *json, struct buf *out)
{
	struct buf tmp = BUF_INIT, url = BUF_INIT;
	CURL *c = curl_easy_init();
	long code = -1;

	if (!c)
		return -1;
	buf_addf(&url, "%s/__control", s->base);
	curl_easy_setopt(c, CURLOPT_URL, (const char *)url.data);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, json);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, fakesb_collect_);
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

/* How many requests the server counted for a route (-1 on failure). */
static long fakesb_route(struct fakesb *s, const char *route)
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

#endif

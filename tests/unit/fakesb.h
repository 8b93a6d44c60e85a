/*
 * fakesb.h: what the Supabase client tests share (tests/unit/fakesb.c):
 * tests/fake-supabase.py run as a child, its control calls, and the
 * helpers every test program against it would otherwise write again.
 *
 *   fakesb_begin(&s, args, "Storage")   start it, or print why not (TAP)
 *   fakesb_control(&s, json, &answer)   POST /__control
 *   fakesb_route(&s, "storage.object.get")   requests counted so far
 *   fakesb_fault(&s, path, kind, count, extra)   inject a fault
 *   fakesb_state(&s), fakesb_state_obj()   the server's objects (md5...)
 *   fakesb_stop(&s)
 *
 * The control calls use plain libcurl, not the code under test.  The
 * script is found through $VAULT_SRCDIR (set by `make check`), else
 * relative to the current directory.
 */
#ifndef VAULT_FAKESB_H
#define VAULT_FAKESB_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "buf.h"
#include "json.h"
#include "sb-http.h"
#include "sb-storage.h"
#include "tap.h"

#define FAKESB_NO_PYTHON 1

struct fakesb {
	pid_t pid;
	int port;
	char base[64];		/* http://127.0.0.1:PORT */
	char storage[96];	/* base + /storage/v1 */
};

/* ---- the server ------------------------------------------------------- */

/* args: extra command-line arguments, NULL-terminated (or NULL).
 * 0, FAKESB_NO_PYTHON (the caller skips) or -1. */
int fakesb_start(struct fakesb *s, const char *const *args);
void fakesb_stop(struct fakesb *s);
/* POSTs json to /__control; the answer goes to out (may be NULL).
 * Returns the HTTP status, or -1. */
long fakesb_control(struct fakesb *s, const char *json, struct buf *out);
/* How many requests the server counted for a route (-1 on failure). */
long fakesb_route(struct fakesb *s, const char *route);

/*
 * Starts the server for a test program and reports it in TAP: a skip
 * naming `what` tests when python3 is missing, else whether it started.
 * 0 when it runs; otherwise the caller returns done_testing().  (Inline:
 * the TAP counter lives in each test program.)
 */
static inline int fakesb_begin(struct fakesb *s, const char *const *args,
			       const char *what)
{
	char why[128];
	int r = fakesb_start(s, args);

	if (r == FAKESB_NO_PYTHON) {
		snprintf(why, sizeof(why), "python3 is not installed: the %s tests "
			 "need tests/fake-supabase.py", what);
		skip(why);
		return -1;
	}
	return ok(r == 0, "fake-supabase started on port %d", s->port) ? 0 : -1;
}

/* ---- faults and state -------------------------------------------------- */

/* Makes the next `count` requests (-1 = all) whose path matches the
 * regular expression `path` fail as `kind` ("503", "reset", "short",
 * "slow", ...).  extra: more JSON members, NULL = "retry_after":0 (keeps
 * the tests quick where Retry-After is not the subject). */
void fakesb_fault(struct fakesb *s, const char *path, const char *kind,
		  int count, const char *extra);
void fakesb_clear_faults(struct fakesb *s);
/* The server's state dump (the caller frees it), or NULL. */
struct json *fakesb_state(struct fakesb *s);
/* An object's record in a state dump ({"md5",...}), or NULL. */
const struct json *fakesb_state_obj(const struct json *state,
				    const char *bucket, const char *name);

/* ---- clients and collectors ---------------------------------------------- */

/* An http client with quick backoffs (20 ms, at most 200 ms) and a 2 s
 * stall timeout; connect_timeout_ms 0 = sb-http's default.  NULL on
 * failure. */
struct sb_http *fakesb_http_new(unsigned jobs, int retries,
				unsigned connect_timeout_ms);
/* CLOCK_MONOTONIC in milliseconds, for timing assertions. */
uint64_t fakesb_now_ms(void);

/* Object names collected by sb_storage_list (ctx = struct fakesb_listed);
 * `bad` counts objects without an id, a quoted eTag or lastModified. */
struct fakesb_listed {
	char **names;
	size_t n, cap;
	int bad;
};
int fakesb_listed_cb(void *ctx, const char *bucket,
		     const struct sb_storage_object *o);
void fakesb_listed_free(struct fakesb_listed *l);
/* qsort/bsearch comparison of two char * */
int fakesb_cmpstr(const void *a, const void *b);

/* ---- MD5 (RFC 1321), to compare bytes with the server's eTags ------------ */

struct fakesb_md5 {
	uint32_t s[4];
	uint64_t len;
	unsigned char buf[64];
	size_t have;
};
void fakesb_md5_init(struct fakesb_md5 *m);
void fakesb_md5_add(struct fakesb_md5 *m, const void *data, size_t n);
/* Finishes m and writes the lowercase hex digest. */
void fakesb_md5_hex(struct fakesb_md5 *m, char out[33]);
void fakesb_md5_of(const void *p, size_t n, char out[33]);

#endif

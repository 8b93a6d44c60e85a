/*
 * tap.h: a tiny TAP producer for the C unit tests (header-only).
 *
 *   plan_lazy();  ok(cond, "name %d", i);  is_int(got, want, "name");
 *   return done_testing();
 */
#ifndef VAULT_TAP_H
#define VAULT_TAP_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

static int tap_n_, tap_failed_;

static inline void tap_vok_(int cond, const char *fmt, va_list ap)
{
	tap_n_++;
	if (!cond)
		tap_failed_++;
	printf("%sok %d - ", cond ? "" : "not ", tap_n_);
	vprintf(fmt, ap);
	printf("\n");
	fflush(stdout);
}

static inline int ok(int cond, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static inline int ok(int cond, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	tap_vok_(cond, fmt, ap);
	va_end(ap);
	return cond;
}

#define is_int(got, want, ...) do { \
	long long g_ = (long long)(got), w_ = (long long)(want); \
	if (!ok(g_ == w_, __VA_ARGS__)) \
		printf("#   got %lld, want %lld\n", g_, w_); \
} while (0)

static inline void diag(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));
static inline void diag(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	printf("# ");
	vprintf(fmt, ap);
	printf("\n");
	va_end(ap);
}

static inline void skip(const char *why)
{
	tap_n_++;
	printf("ok %d # SKIP %s\n", tap_n_, why);
}

static inline int done_testing(void)
{
	printf("1..%d\n", tap_n_);
	return tap_failed_ ? 1 : 0;
}

#endif

/*
 * strv: a growable vector of strings, (char **v, size_t n), kept
 * NULL-terminated so it can be walked without its count.  The one
 * helper behind the many lists of names the catalog readers and the
 * restore engine build.
 */
#ifndef VAULT_STRV_H
#define VAULT_STRV_H

#include <stdarg.h>
#include <stddef.h>

/* Appends a copy of s.  0 or -ENOMEM (the vector is unchanged). */
int strv_push(char ***v, size_t *n, const char *s);
/* Appends s itself, which the vector then owns; s NULL (a failed
 * allocation upstream) or no room frees it and gives -ENOMEM. */
int strv_take(char ***v, size_t *n, char *s);
/* Appends the formatted string.  0 or -ENOMEM. */
int strv_pushf(char ***v, size_t *n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int strv_vpushf(char ***v, size_t *n, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));
/* Frees the n strings and the vector; NULL-safe. */
void strv_free(char **v, size_t n);

#endif

/*
 * strv: growable NULL-terminated string vectors (see strv.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "strv.h"

int strv_take(char ***v, size_t *n, char *s)
{
	char **nv;

	if (!s)
		return -ENOMEM;
	nv = realloc(*v, (*n + 2) * sizeof(**v));
	if (!nv) {
		free(s);
		return -ENOMEM;
	}
	*v = nv;
	nv[(*n)++] = s;
	nv[*n] = NULL;
	return 0;
}

int strv_push(char ***v, size_t *n, const char *s)
{
	return strv_take(v, n, strdup(s));
}

int strv_vpushf(char ***v, size_t *n, const char *fmt, va_list ap)
{
	struct buf b = BUF_INIT;

	if (buf_vaddf(&b, fmt, ap) < 0) {
		buf_release(&b);
		return -ENOMEM;
	}
	return strv_take(v, n, buf_detach(&b, NULL));
}

int strv_pushf(char ***v, size_t *n, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = strv_vpushf(v, n, fmt, ap);
	va_end(ap);
	return r;
}

void strv_free(char **v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		free(v[i]);
	free(v);
}

/*
 * strv: growable NULL-terminated string vectors (see strv.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

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

void strv_free(char **v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		free(v[i]);
	free(v);
}

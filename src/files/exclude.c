/*
 * exclude: glob patterns over snapshot paths (the syntax is in
 * exclude.h).
 *
 * Each pattern is kept as its components (split at '/', empty ones
 * dropped), checked once when added, so matching never meets a bad
 * pattern.  A component is matched with the usual star backtracking
 * (linear in practice); "**" components are matched by trying every
 * number of path components, so a pattern with k of them costs at most
 * O(depth^k) component matches: fine for the few a person writes.
 * Our own matcher rather than fnmatch(3): names are bytes, whatever the
 * locale or their encoding.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exclude.h"

/* Components of one pattern, and of the path being matched. */
#define EXCLUDE_MAX_COMPONENTS 4096

struct exclude_comp {
	const char *p;
	size_t len;
	int globstar;		/* the component is exactly "**" */
};

struct exclude_pat {
	char *text;		/* owns the bytes the components point into */
	struct exclude_comp *comp;
	size_t ncomp;
	int anchored;		/* had a '/': matches the whole path */
	int dir_only;		/* had a trailing '/' */
};

struct exclude {
	struct exclude_pat *v;
	size_t n, cap;
};

struct exclude *exclude_new(void)
{
	return calloc(1, sizeof(struct exclude));
}

void exclude_free(struct exclude *x)
{
	if (!x)
		return;
	for (size_t i = 0; i < x->n; i++) {
		free(x->v[i].text);
		free(x->v[i].comp);
	}
	free(x->v);
	free(x);
}

size_t exclude_count(const struct exclude *x)
{
	return x ? x->n : 0;
}

/* ---- one component -------------------------------------------------- */

/*
 * Matches the set starting at p[0] == '[' against byte c; *end gets the
 * byte after its ']'.  -1 when the set never ends (a bad pattern).
 */
static int exclude_set(const char *p, const char *pe, unsigned char c,
		       const char **end)
{
	const char *q = p + 1;
	int neg = 0, hit = 0;

	if (q < pe && (*q == '!' || *q == '^')) {
		neg = 1;
		q++;
	}
	for (int first = 1; q < pe && (*q != ']' || first); first = 0) {
		unsigned char lo = (unsigned char)*q, hi;

		if (lo == '\\') {
			if (++q == pe)
				return -1;
			lo = (unsigned char)*q;
		}
		q++;
		hi = lo;
		if (q + 1 < pe && *q == '-' && q[1] != ']') {
			q++;
			if (*q == '\\' && ++q == pe)
				return -1;
			hi = (unsigned char)*q++;
		}
		if (lo <= c && c <= hi)
			hit = 1;
	}
	if (q >= pe)
		return -1;
	*end = q + 1;
	return hit != neg;
}

/* One pattern token (not '*') at *pp against byte c: 1 and *pp moved past
 * the token when it matches, 0 when not, -1 for a bad token. */
static int exclude_token(const char **pp, const char *pe, unsigned char c)
{
	const char *p = *pp, *end = p + 1;
	int m;

	switch (*p) {
	case '?':
		m = 1;
		break;
	case '[':
		m = exclude_set(p, pe, c, &end);
		break;
	case '\\':
		if (p + 1 == pe)
			return -1;
		end = p + 2;
		m = (unsigned char)p[1] == c;
		break;
	default:
		m = (unsigned char)*p == c;
		break;
	}
	if (m == 1)
		*pp = end;
	return m;
}

/* The component pattern [p, pe) against the name [s, se): 1, 0, or -1
 * for a bad pattern (found only when reached). */
static int exclude_glob(const char *p, const char *pe, const char *s,
			const char *se)
{
	const char *star_p = NULL, *star_s = NULL;

	while (s < se) {
		int m;

		if (p < pe && *p == '*') {
			while (p < pe && *p == '*')
				p++;
			star_p = p;
			star_s = s;
			continue;
		}
		m = p < pe ? exclude_token(&p, pe, (unsigned char)*s) : 0;
		if (m < 0)
			return -1;
		if (m) {
			s++;
			continue;
		}
		if (!star_p)
			return 0;
		/* let the last '*' take one more byte */
		p = star_p;
		s = ++star_s;
	}
	while (p < pe && *p == '*')
		p++;
	return p == pe;
}

/* A component is well formed: every set ends, no dangling '\'. */
static int exclude_comp_ok(const char *p, size_t len)
{
	const char *pe = p + len, *end;

	while (p < pe) {
		if (*p == '[') {
			if (exclude_set(p, pe, 0, &end) < 0)
				return 0;
			p = end;
		} else if (*p == '\\') {
			if (p + 1 == pe)
				return 0;
			p += 2;
		} else {
			p++;
		}
	}
	return 1;
}

/* ---- adding patterns -------------------------------------------------- */

static int exclude_bad(struct buf *err, const char *pat, const char *why)
{
	if (err) {
		buf_reset(err);
		buf_addf(err, "bad exclude pattern '%s': %s", pat, why);
	}
	return -EINVAL;
}

/* Drops the pattern being built; returns r. */
static int exclude_drop(struct exclude_pat *e, int r)
{
	free(e->comp);
	free(e->text);
	return r;
}

/* Appends the component [s, q) to e. */
static int exclude_push(struct exclude_pat *e, size_t *cap, const char *s,
			const char *q)
{
	if (e->ncomp == *cap) {
		void *v;

		if (*cap * 2 > EXCLUDE_MAX_COMPONENTS)
			return -E2BIG;
		*cap = *cap ? *cap * 2 : 4;
		v = realloc(e->comp, *cap * sizeof(*e->comp));
		if (!v)
			return -ENOMEM;
		e->comp = v;
	}
	e->comp[e->ncomp].p = s;
	e->comp[e->ncomp].len = (size_t)(q - s);
	e->comp[e->ncomp].globstar = q - s == 2 && s[0] == '*' && s[1] == '*';
	e->ncomp++;
	return exclude_comp_ok(s, (size_t)(q - s)) ? 0 : -EINVAL;
}

int exclude_add(struct exclude *x, const char *pat, struct buf *err)
{
	struct exclude_pat e;
	size_t len = strlen(pat), cap = 0;
	char *s, *q;
	int r;

	memset(&e, 0, sizeof(e));
	if (!len)
		return exclude_bad(err, pat, "it is empty");
	if (pat[0] == '!')
		return exclude_bad(err, pat, "negated patterns ('!') are not supported; write '\\!' for a name that starts with '!'");
	e.text = strdup(pat);
	if (!e.text)
		return -ENOMEM;
	/* trailing slashes: directories only, and they do not anchor */
	while (len && e.text[len - 1] == '/') {
		e.text[--len] = '\0';
		e.dir_only = 1;
	}
	e.anchored = memchr(e.text, '/', len) != NULL;
	for (s = e.text; *s; s = q) {
		while (*s == '/')
			s++;
		if (!*s)
			break;
		for (q = s; *q && *q != '/'; q++)
			if (*q == '\\' && q[1])
				q++;
		r = exclude_push(&e, &cap, s, q);
		if (r == -ENOMEM)
			return exclude_drop(&e, r);
		if (r < 0)
			return exclude_drop(&e, exclude_bad(err, pat,
				r == -E2BIG ? "too many components"
				: "an unterminated '[' or a trailing '\\'"));
	}
	if (!e.ncomp)
		return exclude_drop(&e, exclude_bad(err, pat,
				    "it names nothing (only slashes)"));
	if (x->n == x->cap) {
		size_t ncap = x->cap ? x->cap * 2 : 8;
		void *v = realloc(x->v, ncap * sizeof(*x->v));

		if (!v)
			return exclude_drop(&e, -ENOMEM);
		x->v = v;
		x->cap = ncap;
	}
	x->v[x->n++] = e;
	return 0;
}

static int exclude_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

int exclude_add_file(struct exclude *x, const char *path, struct buf *err)
{
	FILE *fp = fopen(path, "re");
	char *line = NULL;
	size_t cap = 0, lineno = 0;
	ssize_t n;
	int r = 0;

	if (!fp) {
		r = -errno;
		if (err) {
			buf_reset(err);
			buf_addf(err, "cannot open exclude file %s: %s", path,
				 strerror(-r));
		}
		return r;
	}
	while ((n = getline(&line, &cap, fp)) >= 0) {
		char *s = line, *e = line + n;

		lineno++;
		if (e > s && e[-1] == '\n')
			e--;
		while (s < e && exclude_blank(*s))
			s++;
		while (e > s && exclude_blank(e[-1]))
			e--;
		*e = '\0';
		if (s == e || *s == '#')
			continue;
		if (strlen(s) != (size_t)(e - s)) {
			r = -EINVAL;
			if (err) {
				buf_reset(err);
				buf_addf(err, "a NUL byte in line %zu", lineno);
			}
		} else {
			r = exclude_add(x, s, err);
		}
		if (r < 0) {
			if (err && r == -EINVAL) {
				char *m = buf_detach(err, NULL);

				buf_addf(err, "%s, line %zu: %s", path, lineno,
					 m ? m : "bad pattern");
				free(m);
			}
			break;
		}
	}
	if (r == 0 && ferror(fp)) {
		r = -EIO;
		if (err) {
			buf_reset(err);
			buf_addf(err, "cannot read exclude file %s", path);
		}
	}
	free(line);
	fclose(fp);
	return r;
}

/* ---- matching ----------------------------------------------------------- */

struct exclude_name {
	const char *s;
	size_t len;
};

/* Pattern components [i, np) against path components [j, ns). */
static int exclude_comps(const struct exclude_pat *e, size_t i,
			 const struct exclude_name *nm, size_t j, size_t ns)
{
	while (i < e->ncomp) {
		const struct exclude_comp *c = &e->comp[i];

		if (c->globstar) {
			while (i < e->ncomp && e->comp[i].globstar)
				i++;
			if (i == e->ncomp)
				return 1;
			for (size_t k = j; k <= ns; k++)
				if (exclude_comps(e, i, nm, k, ns))
					return 1;
			return 0;
		}
		if (j == ns || exclude_glob(c->p, c->p + c->len, nm[j].s,
					    nm[j].s + nm[j].len) != 1)
			return 0;
		i++;
		j++;
	}
	return j == ns;
}

int exclude_match(const struct exclude *x, const char *path, size_t len,
		  int is_dir)
{
	struct exclude_name stackv[64], *nm = stackv;
	const char *p = path, *pe = path + len;
	size_t ns = 0, cap = 1;
	int hit = 0;

	if (!x || !x->n)
		return 0;
	for (size_t i = 0; i < len; i++)
		cap += path[i] == '/';
	if (cap > sizeof(stackv) / sizeof(stackv[0])) {
		nm = malloc(cap * sizeof(*nm));
		if (!nm)
			return -ENOMEM;
	}
	while (p < pe) {
		const char *q = memchr(p, '/', (size_t)(pe - p));

		if (!q)
			q = pe;
		if (q > p) {
			nm[ns].s = p;
			nm[ns].len = (size_t)(q - p);
			ns++;
		}
		p = q + 1;
	}
	for (size_t i = 0; ns && i < x->n && !hit; i++) {
		const struct exclude_pat *e = &x->v[i];
		const struct exclude_name *last = &nm[ns - 1];

		if (e->dir_only && !is_dir)
			continue;
		if (e->anchored)
			hit = exclude_comps(e, 0, nm, 0, ns);
		else
			hit = exclude_glob(e->comp[0].p,
					   e->comp[0].p + e->comp[0].len,
					   last->s, last->s + last->len) == 1;
	}
	if (nm != stackv)
		free(nm);
	return hit;
}

/*
 * config: encoder and strict parser of the repository's text `config`
 * file (format in config.h, full spec in formats/config.md).
 *
 * The parser is deliberately unforgiving: every key exactly once, no
 * unknown keys, numbers as plain decimal within bounds, so that a typo
 * made by hand is reported with its line number instead of silently
 * changing how the repository chunks data.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "config.h"

#define CONFIG_MAX_FIELDS	4	/* key + up to three values */

enum config_key {
	CONFIG_K_ID,
	CONFIG_K_ENCRYPTION,
	CONFIG_K_GENERAL,
	CONFIG_K_ROWS,
	CONFIG_K_PACK,
	CONFIG_K_COMPRESSION,
	CONFIG_K_COUNT,
};

/* since: the first version with the key (every later one requires it,
 * earlier ones do not know it). */
static const struct {
	const char *name;
	int nvalues;
	uint32_t since;
} config_keys[CONFIG_K_COUNT] = {
	[CONFIG_K_ID] = { "id", 1, 1 },
	[CONFIG_K_ENCRYPTION] = { "encryption", 1, 1 },
	[CONFIG_K_GENERAL] = { "chunker.general", 3, 1 },
	[CONFIG_K_ROWS] = { "chunker.rows", 3, 1 },
	[CONFIG_K_PACK] = { "pack.target", 1, 1 },
	[CONFIG_K_COMPRESSION] = { "compression", 1, 2 },
};

static const char *const config_compression_names[] = {
	[CONFIG_COMPRESSION_FAST] = "fast",
	[CONFIG_COMPRESSION_MAX] = "max",
};
#define CONFIG_NCOMPRESSION \
	(sizeof(config_compression_names) / sizeof(config_compression_names[0]))

const char *config_compression_name(enum config_compression c)
{
	return (unsigned)c < CONFIG_NCOMPRESSION
	       ? config_compression_names[c] : NULL;
}

int config_compression_parse(const char *s, enum config_compression *c)
{
	for (size_t i = 0; i < CONFIG_NCOMPRESSION; i++) {
		if (!strcmp(s, config_compression_names[i])) {
			*c = (enum config_compression)i;
			return 0;
		}
	}
	return -EINVAL;
}

void config_default(struct config *c, int encrypted)
{
	memset(c, 0, sizeof(*c));
	c->version = CONFIG_VERSION;
	/* without an entropy source randombytes_buf aborts by itself */
	if (sodium_init() < 0) {
		/* see above */
	}
	randombytes_buf(c->id, sizeof(c->id));
	c->encrypted = encrypted ? 1 : 0;
	c->general.min = 256u << 10;
	c->general.avg = 1u << 20;
	c->general.max = 4u << 20;
	c->rows.min = 8u << 10;
	c->rows.avg = 32u << 10;
	c->rows.max = 128u << 10;
	c->pack_target = 32u << 20;
	c->compression = CONFIG_COMPRESSION_DEFAULT;
}

/* NULL when fine, else what is wrong (for the error message). */
static const char *config_chunker_problem(const struct config_chunker *k)
{
	if (k->min < CONFIG_CHUNK_MIN)
		return "min is below 64";
	if (k->max > CONFIG_CHUNK_MAX)
		return "max is above 33554432";
	if (k->min > k->avg || k->avg > k->max)
		return "need min <= avg <= max";
	if (k->avg & (k->avg - 1))
		return "avg must be a power of two";
	return NULL;
}

static int config_pack_ok(uint64_t v)
{
	return v >= CONFIG_PACK_MIN && v <= CONFIG_PACK_MAX;
}

int config_encode(struct buf *out, const struct config *c)
{
	char hex[65];
	size_t start = out->len;
	int r;

	if (c->version < CONFIG_VERSION_MIN || c->version > CONFIG_VERSION ||
	    config_chunker_problem(&c->general) ||
	    config_chunker_problem(&c->rows) || !config_pack_ok(c->pack_target) ||
	    !config_compression_name(c->compression) ||
	    (c->version < config_keys[CONFIG_K_COMPRESSION].since &&
	     c->compression != CONFIG_COMPRESSION_FAST))
		return -EINVAL;
	hex_encode(hex, c->id, sizeof(c->id));
	r = buf_addf(out,
		     "vault-repository %u\n"
		     "id %s\n"
		     "encryption %s\n"
		     "chunker.general %u %u %u\n"
		     "chunker.rows %u %u %u\n"
		     "pack.target %llu\n",
		     (unsigned)c->version, hex,
		     c->encrypted ? "repokey" : "none",
		     (unsigned)c->general.min, (unsigned)c->general.avg,
		     (unsigned)c->general.max,
		     (unsigned)c->rows.min, (unsigned)c->rows.avg,
		     (unsigned)c->rows.max,
		     (unsigned long long)c->pack_target);
	if (r == 0 && c->version >= config_keys[CONFIG_K_COMPRESSION].since)
		r = buf_addf(out, "compression %s\n",
			     config_compression_name(c->compression));
	if (r < 0)
		buf_setlen(out, start);
	return r;
}

/* A field of a line: a pointer into the text and its length. */
struct config_field {
	const char *p;
	size_t n;
};

static int config_field_is(const struct config_field *f, const char *s)
{
	return f->n == strlen(s) && memcmp(f->p, s, f->n) == 0;
}

/* Plain decimal digits, no sign, value <= max. */
static int config_number(const struct config_field *f, uint64_t max,
			 uint64_t *v)
{
	uint64_t x = 0;

	if (f->n == 0 || f->n > 20)
		return -1;
	for (size_t i = 0; i < f->n; i++) {
		unsigned d;

		if (f->p[i] < '0' || f->p[i] > '9')
			return -1;
		d = (unsigned)(f->p[i] - '0');
		if (x > (max - d) / 10)
			return -1;
		x = x * 10 + d;
	}
	*v = x;
	return 0;
}

static int config_fail(struct buf *err, size_t line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int config_fail(struct buf *err, size_t line, const char *fmt, ...)
{
	va_list ap;

	if (err) {
		if (line)
			buf_addf(err, "config line %zu: ", line);
		else
			buf_addstr(err, "config: ");
		va_start(ap, fmt);
		buf_vaddf(err, fmt, ap);
		va_end(ap);
	}
	return -EBADMSG;
}

/* Splits a line at runs of blanks; returns the field count or -1. */
static int config_split(const char *p, size_t n, struct config_field *f)
{
	int nf = 0;
	size_t i = 0;

	while (i < n) {
		size_t j;

		while (i < n && (p[i] == ' ' || p[i] == '\t'))
			i++;
		if (i == n)
			break;
		if (nf == CONFIG_MAX_FIELDS)
			return -1;
		for (j = i; j < n && p[j] != ' ' && p[j] != '\t'; j++)
			;
		f[nf].p = p + i;
		f[nf].n = j - i;
		nf++;
		i = j;
	}
	return nf;
}

static int config_line(struct config *c, int *seen, size_t line,
		       const struct config_field *f, int nf, struct buf *err)
{
	uint64_t v[3];
	int k;

	for (k = 0; k < CONFIG_K_COUNT; k++)
		if (config_field_is(&f[0], config_keys[k].name) &&
		    c->version >= config_keys[k].since)
			break;
	if (k == CONFIG_K_COUNT)
		return config_fail(err, line, "unknown key '%s'",
				   f[0].n > 64 ? "(too long to show)" : f[0].p);
	if (seen[k])
		return config_fail(err, line, "duplicate key '%s'",
				   config_keys[k].name);
	seen[k] = 1;
	if (nf - 1 != config_keys[k].nvalues)
		return config_fail(err, line, "wrong number of values for '%s'",
				   config_keys[k].name);

	switch (k) {
	case CONFIG_K_ID:
		/* fields are NUL-terminated here, as hex_decode wants */
		if (f[1].n != 64 || hex_decode(c->id, 32, f[1].p) < 0)
			return config_fail(err, line, "%s",
					   "id must be 64 hex digits");
		return 0;
	case CONFIG_K_ENCRYPTION:
		if (config_field_is(&f[1], "repokey"))
			c->encrypted = 1;
		else if (config_field_is(&f[1], "none"))
			c->encrypted = 0;
		else
			return config_fail(err, line, "%s",
				"encryption must be 'repokey' or 'none'");
		return 0;
	case CONFIG_K_GENERAL:
	case CONFIG_K_ROWS: {
		struct config_chunker *ck = k == CONFIG_K_GENERAL ?
					    &c->general : &c->rows;
		const char *why;

		for (int i = 0; i < 3; i++)
			if (config_number(&f[1 + i], UINT32_MAX, &v[i]) < 0)
				return config_fail(err, line,
					"%s: values must be decimal numbers",
					config_keys[k].name);
		ck->min = (uint32_t)v[0];
		ck->avg = (uint32_t)v[1];
		ck->max = (uint32_t)v[2];
		why = config_chunker_problem(ck);
		if (why)
			return config_fail(err, line, "bad chunker sizes: %s",
					   why);
		return 0;
	}
	case CONFIG_K_PACK:
		if (config_number(&f[1], UINT64_MAX, &v[0]) < 0 ||
		    !config_pack_ok(v[0]))
			return config_fail(err, line, "%s",
				"pack.target must be 4096..1073741824");
		c->pack_target = v[0];
		return 0;
	case CONFIG_K_COMPRESSION:
		/* fields are NUL-terminated here */
		if (config_compression_parse(f[1].p, &c->compression) < 0)
			return config_fail(err, line, "%s",
				"compression must be 'fast' or 'max'");
		return 0;
	}
	return -EBADMSG;
}

int config_decode(struct config *out, const char *text, size_t len,
		  struct buf *err)
{
	struct config c;
	int seen[CONFIG_K_COUNT] = { 0 };
	int have_version = 0;
	size_t pos = 0, line = 0;
	char *copy;
	int r = 0;

	if (memchr(text, '\0', len))
		return config_fail(err, 0, "%s", "contains a NUL byte");
	/* a NUL-terminated copy lets messages quote fields safely */
	copy = malloc(len + 1);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, text, len);
	copy[len] = '\0';
	memset(&c, 0, sizeof(c));

	while (pos < len && r == 0) {
		struct config_field f[CONFIG_MAX_FIELDS];
		const char *p = copy + pos, *nl = memchr(p, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - p) : len - pos, b;
		int nf;

		pos += n + (nl ? 1 : 0);
		line++;
		/* blank lines and comments (first non-blank '#') */
		for (b = 0; b < n && (p[b] == ' ' || p[b] == '\t'); b++)
			;
		if (b == n || p[b] == '#')
			continue;
		nf = config_split(p, n, f);
		if (nf < 0) {
			r = config_fail(err, line, "%s", "too many fields");
			break;
		}
		/* NUL-terminate fields in the copy: messages print them */
		for (int i = 0; i < nf; i++)
			((char *)f[i].p)[f[i].n] = '\0';
		if (!have_version) {
			uint64_t v = 0;

			if (!config_field_is(&f[0], "vault-repository") ||
			    nf != 2 ||
			    config_number(&f[1], UINT32_MAX, &v) < 0) {
				r = config_fail(err, line, "%s",
					"expected 'vault-repository <version>' first");
			} else if (v < CONFIG_VERSION_MIN ||
				   v > CONFIG_VERSION) {
				r = config_fail(err, line, "%s",
					"unsupported repository version");
			}
			c.version = (uint32_t)v;
			have_version = 1;
			continue;
		}
		r = config_line(&c, seen, line, f, nf, err);
	}
	free(copy);
	if (r < 0)
		return r;
	if (!have_version)
		return config_fail(err, 0, "%s", "empty (no vault-repository line)");
	for (int k = 0; k < CONFIG_K_COUNT; k++)
		if (!seen[k] && c.version >= config_keys[k].since)
			return config_fail(err, 0, "missing key '%s'",
					   config_keys[k].name);
	*out = c;
	return 0;
}

/*
 * cli-text: turning values into text and back for the front end: safe
 * quoting of untrusted names for terminals and JSON, numbers parsed with
 * range checks, human-readable sizes, ratios and durations, ISO 8601
 * times in UTC (computed without touching TZ or the C library's
 * locale-dependent functions), the ls-style rendering of entry kinds and
 * modes, and the paths a user gives to select entries of a snapshot.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "manifest.h"

int cli_write_all(int fd, const void *p, size_t n)
{
	const uint8_t *q = p;

	while (n) {
		ssize_t w = write(fd, q, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		q += w;
		n -= (size_t)w;
	}
	return 0;
}

int cli_json_escape(struct buf *b, const char *s, size_t n)
{
	const uint8_t *p = (const uint8_t *)s;
	size_t i = 0;
	int r = buf_addch(b, '"');

	while (r == 0 && i < n) {
		uint32_t cp;
		size_t len = utf8_seq(p + i, n - i, &cp);

		if (len == 0) {
			r = buf_addstr(b, "\\ufffd");
			i++;
			continue;
		}
		switch (cp) {
		case '"':
			r = buf_addstr(b, "\\\"");
			break;
		case '\\':
			r = buf_addstr(b, "\\\\");
			break;
		case '\n':
			r = buf_addstr(b, "\\n");
			break;
		case '\r':
			r = buf_addstr(b, "\\r");
			break;
		case '\t':
			r = buf_addstr(b, "\\t");
			break;
		default:
			/* U+2028/2029 are valid JSON but break JavaScript
			 * consumers that eval lines; escaping costs nothing */
			if (cp < 0x20 || cp == 0x7f || cp == 0x2028 ||
			    cp == 0x2029)
				r = buf_addf(b, "\\u%04x", (unsigned)cp);
			else
				r = buf_add(b, p + i, len);
			break;
		}
		i += len;
	}
	return r < 0 ? r : buf_addch(b, '"');
}

int cli_quote(struct buf *b, const char *s, size_t n)
{
	const uint8_t *p = (const uint8_t *)s;
	size_t i = 0;
	int r = 0;

	while (r == 0 && i < n) {
		uint32_t cp;
		size_t len = utf8_seq(p + i, n - i, &cp);

		if (len == 0) {
			r = buf_addf(b, "\\x%02x", p[i]);
			i++;
			continue;
		}
		if (cp == '\\')
			r = buf_addstr(b, "\\\\");
		else if (cp == '\n')
			r = buf_addstr(b, "\\n");
		else if (cp == '\t')
			r = buf_addstr(b, "\\t");
		else if (cp < 0x20 || cp == 0x7f)
			r = buf_addf(b, "\\x%02x", (unsigned)cp);
		else if (cp >= 0x80 && cp < 0xa0)	/* C1 controls */
			for (size_t k = 0; r == 0 && k < len; k++)
				r = buf_addf(b, "\\x%02x", p[i + k]);
		else
			r = buf_add(b, p + i, len);
		i += len;
	}
	return r;
}

void cli_human_size(uint64_t n, char *out, size_t outsz)
{
	static const char *const units[] = {
		"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"
	};
	double v = (double)n;
	int u = -1;

	if (n < 1024) {
		snprintf(out, outsz, "%llu B", (unsigned long long)n);
		return;
	}
	while (v >= 1024.0 && u < 5) {
		v /= 1024.0;
		u++;
	}
	snprintf(out, outsz, v < 10.0 ? "%.2f %s" : v < 100.0 ? "%.1f %s" :
		 "%.0f %s", v, units[u]);
}

void cli_ratio(uint64_t a, uint64_t b, char *out, size_t outsz)
{
	if (!b)
		snprintf(out, outsz, "-");
	else
		snprintf(out, outsz, "%.2fx", (double)a / (double)b);
}

void cli_human_duration(double secs, char *out, size_t outsz)
{
	unsigned long long s;

	if (secs < 0)
		secs = 0;
	if (secs < 60) {
		snprintf(out, outsz, "%.3fs", secs);
		return;
	}
	s = (unsigned long long)(secs + 0.5);
	if (s < 3600)
		snprintf(out, outsz, "%llum%02llus", s / 60, s % 60);
	else
		snprintf(out, outsz, "%lluh%02llum", s / 3600, s % 3600 / 60);
}

double cli_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- numbers ---------------------------------------------------------- */

int cli_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	unsigned long long v;
	char *end;

	/* strtoull happily accepts " -1" as a huge value: insist on a digit */
	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

int cli_parse_duration(const char *s, int64_t *secs)
{
	/* 100 years: far beyond any schedule, far below overflow */
	const int64_t limit = (int64_t)100 * 366 * 86400;
	int64_t total = 0;

	if (!s || !*s)
		return -EINVAL;
	while (*s) {
		int64_t n = 0, unit;

		if (*s < '0' || *s > '9')
			return -EINVAL;	/* a unit without a number, a sign */
		for (; *s >= '0' && *s <= '9'; s++) {
			n = n * 10 + (*s - '0');
			if (n > limit)
				return -EINVAL;
		}
		switch (*s++) {
		case 's': unit = 1; break;
		case 'm': unit = 60; break;
		case 'h': unit = 3600; break;
		case 'd': unit = 86400; break;
		case 'w': unit = 7 * 86400; break;
		default: return -EINVAL;	/* no unit, or an unknown one */
		}
		if (n > (limit - total) / unit)
			return -EINVAL;
		total += n * unit;
	}
	if (total == 0)
		return -EINVAL;
	*secs = total;
	return 0;
}

int cli_parse_int(const char *s, int min, int max, int *out)
{
	long v;
	char *end;

	if (!s || !*s || (*s != '-' && (*s < '0' || *s > '9')))
		return -EINVAL;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || end == s || v < min || v > max)
		return -EINVAL;
	*out = (int)v;
	return 0;
}

/* ---- time -------------------------------------------------------------- */

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
 * days_from_civil), valid far beyond any time_t we will meet. */
static int64_t cli_days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static void cli_civil_from_days(int64_t z, int64_t *y, unsigned *m,
				unsigned *d)
{
	int64_t era;
	unsigned doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = (unsigned)(z - era * 146097);
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int64_t)yoe + era * 400 + (*m <= 2);
}

void cli_time_format(int64_t t, char *out, size_t outsz)
{
	int64_t days = t >= 0 ? t / 86400 : -((-t + 86399) / 86400);
	int64_t rem = t - days * 86400, y;
	unsigned m, d;

	cli_civil_from_days(days, &y, &m, &d);
	snprintf(out, outsz, "%04lld-%02u-%02uT%02d:%02d:%02dZ", (long long)y,
		 m, d, (int)(rem / 3600), (int)(rem % 3600 / 60),
		 (int)(rem % 60));
}

int64_t cli_ns_to_sec(int64_t ns)
{
	return ns >= 0 ? ns / 1000000000 : -((-(ns + 1)) / 1000000000) - 1;
}

/* Exactly n digits at *s, advancing it. */
static int cli_digits(const char **s, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if ((*s)[i] < '0' || (*s)[i] > '9')
			return -EINVAL;
		v = v * 10 + ((*s)[i] - '0');
	}
	*s += n;
	*out = v;
	return 0;
}

int cli_time_parse(const char *s, int64_t *t)
{
	static const unsigned mdays[] = {
		31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31
	};
	int y, mo, d, h = 0, mi = 0, sec = 0, oh = 0, om = 0, sign = 0;
	int64_t v;

	if (*s == '@') {
		int neg = s[1] == '-';
		uint64_t u;

		if (cli_parse_u64(s + 1 + neg, 0, (uint64_t)1 << 40, &u) < 0)
			return -EINVAL;
		*t = neg ? -(int64_t)u : (int64_t)u;
		return 0;
	}
	if (cli_digits(&s, 4, &y) || *s++ != '-' || cli_digits(&s, 2, &mo) ||
	    *s++ != '-' || cli_digits(&s, 2, &d))
		return -EINVAL;
	if (mo < 1 || mo > 12 || d < 1 || (unsigned)d > mdays[mo - 1])
		return -EINVAL;
	if (mo == 2 && d == 29 && !(y % 4 == 0 && (y % 100 || y % 400 == 0)))
		return -EINVAL;
	if (*s == 'T' || *s == 't' || *s == ' ') {
		s++;
		if (cli_digits(&s, 2, &h) || *s++ != ':' ||
		    cli_digits(&s, 2, &mi))
			return -EINVAL;
		if (*s == ':') {
			s++;
			if (cli_digits(&s, 2, &sec))
				return -EINVAL;
			/* fractions are accepted and dropped: snapshots
			 * carry whole seconds */
			if (*s == '.' || *s == ',') {
				s++;
				if (*s < '0' || *s > '9')
					return -EINVAL;
				while (*s >= '0' && *s <= '9')
					s++;
			}
		}
		if (h > 23 || mi > 59 || sec > 60)
			return -EINVAL;
		if (*s == 'Z' || *s == 'z') {
			s++;
		} else if (*s == '+' || *s == '-') {
			sign = *s++ == '-' ? -1 : 1;
			if (cli_digits(&s, 2, &oh))
				return -EINVAL;
			if (*s == ':')
				s++;
			if (*s && cli_digits(&s, 2, &om))
				return -EINVAL;
			if (oh > 23 || om > 59)
				return -EINVAL;
		}
	}
	if (*s)
		return -EINVAL;
	v = cli_days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 +
	    h * 3600 + mi * 60 + sec;
	/* 12:00+02:00 is 10:00Z */
	v -= (int64_t)sign * (oh * 3600 + om * 60);
	*t = v;
	return 0;
}

/* ---- entries -------------------------------------------------------------- */

const char *cli_kind_name(uint8_t kind)
{
	switch (kind) {
	case MANIFEST_FILE:
		return "file";
	case MANIFEST_DIR:
		return "dir";
	case MANIFEST_SYMLINK:
		return "symlink";
	}
	return "unknown";
}

void cli_mode_string(uint8_t kind, uint32_t mode, char *out, size_t outsz)
{
	char s[11];

	s[0] = kind == MANIFEST_DIR ? 'd' : kind == MANIFEST_SYMLINK ? 'l' :
	       kind == MANIFEST_FILE ? '-' : '?';
	for (int i = 0; i < 9; i++)
		s[1 + i] = mode & (0400u >> i) ? "rwxrwxrwx"[i] : '-';
	if (mode & 04000)
		s[3] = s[3] == 'x' ? 's' : 'S';
	if (mode & 02000)
		s[6] = s[6] == 'x' ? 's' : 'S';
	if (mode & 01000)
		s[9] = s[9] == 'x' ? 't' : 'T';
	s[10] = '\0';
	snprintf(out, outsz, "%s", s);
}

/* ---- snapshot paths ---------------------------------------------------------- */

char *cli_path_normalize(const char *s)
{
	struct buf b = BUF_INIT;

	while (*s) {
		size_t n = strcspn(s, "/");

		/* "." segments only come from the user's typing; real ones
		 * in a manifest are unusual enough not to be selectable */
		if (n && !(n == 1 && s[0] == '.')) {
			if (b.len && buf_addch(&b, '/') < 0)
				goto oom;
			if (buf_add(&b, s, n) < 0)
				goto oom;
		}
		s += n;
		while (*s == '/')
			s++;
	}
	return buf_detach(&b, NULL);
oom:
	buf_release(&b);
	return NULL;
}

int cli_path_within(const char *path, size_t len, const char *sel)
{
	size_t n = strlen(sel);

	if (!n)
		return 1;
	if (len < n || memcmp(path, sel, n))
		return 0;
	return len == n || path[n] == '/';
}

/*
 * report-html: a struct report as one self-contained HTML page (see
 * report-html.h): summary figures, two time charts in inline SVG (the
 * repository's stored size, and the bytes each snapshot added), the last
 * good snapshot of each group, the tables that changed in each database
 * and the list of snapshots.
 *
 * Nothing is fetched: no external font, image, style or script, and a
 * Content-Security-Policy of default-src 'none' makes any attempt fail.
 * The one inline script draws nothing; it counts what the page shows
 * (points, bars, axis labels, rows, and any mark drawn outside its plot)
 * and any script error or blocked load into <pre id="report-check">, so
 * a headless browser's DOM dump proves the page renders as meant
 * (tests/cli/t0120-report.sh).  The charts work without it.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "report-html.h"

/* Chart geometry, in SVG user units (the viewBox; it scales to fit). */
#define RH_W 760
#define RH_H 250
#define RH_ML 80	/* room for the byte labels */
#define RH_MR 20
#define RH_MT 16
#define RH_MB 44	/* room for the time labels and the axis title */

struct rh {
	struct buf *b;
	int err;		/* the first error, sticky */
};

__attribute__((format(printf, 2, 3)))
static void rh_f(struct rh *h, const char *fmt, ...)
{
	va_list ap;
	int r;

	if (h->err)
		return;
	va_start(ap, fmt);
	r = buf_vaddf(h->b, fmt, ap);
	va_end(ap);
	if (r < 0)
		h->err = r;
}

static void rh_s(struct rh *h, const char *s)
{
	if (!h->err && buf_addstr(h->b, s) < 0)
		h->err = -ENOMEM;
}

/* Text from the repository: shown as `vault list` shows it (cli_quote:
 * control bytes and invalid UTF-8 as \xHH), then escaped for HTML text
 * and attribute values alike. */
static void rh_esc(struct rh *h, const char *s)
{
	struct buf q = BUF_INIT;

	if (!s)
		s = "";
	if (cli_quote(&q, s, strlen(s)) < 0)
		h->err = -ENOMEM;
	for (size_t i = 0; !h->err && i < q.len; i++) {
		switch (q.data[i]) {
		case '&': rh_s(h, "&amp;"); break;
		case '<': rh_s(h, "&lt;"); break;
		case '>': rh_s(h, "&gt;"); break;
		case '"': rh_s(h, "&quot;"); break;
		case '\'': rh_s(h, "&#39;"); break;
		default:
			if (buf_addch(h->b, q.data[i]) < 0)
				h->err = -ENOMEM;
		}
	}
	buf_release(&q);
}

static void rh_size(struct rh *h, uint64_t n)
{
	char s[32];

	cli_human_size(n, s, sizeof(s));
	rh_s(h, s);
}

static void rh_time(struct rh *h, int64_t t)
{
	char s[40];

	cli_time_format(t, s, sizeof(s));
	rh_s(h, s);
}

size_t report_last_good(const struct report *rp)
{
	size_t best = SIZE_MAX;

	for (size_t i = 0; i < rp->ngroups; i++) {
		size_t g = rp->groups[i].last_good;

		if (g != SIZE_MAX && (best == SIZE_MAX || g > best))
			best = g;	/* snaps are oldest first */
	}
	return best;
}

void report_age(int64_t secs, char *out, size_t outsz)
{
	if (secs < 0)
		snprintf(out, outsz, "in the future");
	else if (secs < 60)
		snprintf(out, outsz, "%llds", (long long)secs);
	else if (secs < 3600)
		snprintf(out, outsz, "%lldm", (long long)(secs / 60));
	else if (secs < 86400)
		snprintf(out, outsz, "%lldh %02lldm", (long long)(secs / 3600),
			 (long long)(secs % 3600 / 60));
	else
		snprintf(out, outsz, "%lldd %02lldh", (long long)(secs / 86400),
			 (long long)(secs % 86400 / 3600));
}

/* ---- axes ----------------------------------------------------------------- */

/* A byte axis from 0 to top: ticks every step (in units of unit),
 * a step of 1, 2, 2.5 or 5 times a power of ten, 2 to 8 of them. */
struct rh_yaxis {
	double top, step, unit;
	const char *uname;
	int n;
};

static void rh_yaxis(uint64_t max, struct rh_yaxis *a)
{
	static const char *const units[] = {
		"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"
	};
	double v, raw, p = 1.0;
	int u = 0;

	a->unit = 1.0;
	v = max ? (double)max : 1.0;
	while (v / a->unit >= 1024.0 && u < 6) {
		a->unit *= 1024.0;
		u++;
	}
	a->uname = units[u];
	v /= a->unit;
	raw = v / 4.0;
	while (p * 10.0 <= raw)
		p *= 10.0;
	while (p > raw && p > 1e-3)
		p /= 10.0;
	a->step = raw / p <= 1.0 ? p : raw / p <= 2.0 ? 2 * p :
		  raw / p <= 2.5 ? 2.5 * p : raw / p <= 5.0 ? 5 * p : 10 * p;
	if (u == 0 && a->step < 1.0)
		a->step = 1.0;	/* no half bytes */
	a->n = (int)(v / a->step);
	if ((double)a->n * a->step < v)
		a->n++;
	if (a->n < 1)
		a->n = 1;
	a->top = (double)a->n * a->step * a->unit;
}

/* A time axis over [lo, hi] with its ticks and their labels. */
#define RH_MAX_XTICKS 12
struct rh_xaxis {
	double lo, hi;
	size_t n;
	int64_t tick[RH_MAX_XTICKS];
	char label[RH_MAX_XTICKS][24];
};

static void rh_xtick(struct rh_xaxis *a, int64_t t, const char *label,
		     size_t len)
{
	if (a->n < RH_MAX_XTICKS && (double)t >= a->lo && (double)t <= a->hi) {
		a->tick[a->n] = t;
		snprintf(a->label[a->n], sizeof(a->label[0]), "%.*s", (int)len,
			 label);
		a->n++;
	}
}

/* Ticks on the first day of every `months` months ("2024-05", or
 * "2024" when they are years), as a calendar has them. */
static void rh_xticks_months(struct rh_xaxis *a, int months)
{
	char s[40];
	long idx;

	cli_time_format((int64_t)a->lo, s, sizeof(s));
	idx = strtol(s, NULL, 10) * 12 + strtol(s + 5, NULL, 10) - 1;
	idx -= (idx % months + months) % months;
	for (int k = 0; k < 4 * RH_MAX_XTICKS; k++, idx += months) {
		char d[32];
		int64_t t;

		snprintf(d, sizeof(d), "%04ld-%02ld-01", idx / 12, idx % 12 + 1);
		if (cli_time_parse(d, &t) < 0 || (double)t > a->hi)
			break;
		rh_xtick(a, t, d, months % 12 ? 7 : 4);
	}
}

/* Ticks every step seconds (weeks start on Monday), labelled with the
 * day, the time of day, or both. */
static void rh_xticks_fixed(struct rh_xaxis *a, int64_t step)
{
	int64_t base = step >= 7 * 86400 ? 4 * 86400 : 0; /* 1970-01-05 */
	int64_t k = (int64_t)((a->lo - (double)base) / (double)step);
	char lo[40], hi[40];
	int same_day;

	cli_time_format((int64_t)a->lo, lo, sizeof(lo));
	cli_time_format((int64_t)a->hi, hi, sizeof(hi));
	same_day = !memcmp(lo, hi, 10);
	for (int64_t t = base + (k - 1) * step; (double)t <= a->hi; t += step) {
		char s[40];

		/* "2024-05-01T12:00:00Z" */
		cli_time_format(t, s, sizeof(s));
		if (step >= 86400) {
			rh_xtick(a, t, s, 10);
		} else if (same_day) {
			rh_xtick(a, t, s + 11, 5);
		} else {
			s[10] = ' ';
			rh_xtick(a, t, s + 5, 11);
		}
	}
}

static void rh_xaxis(const struct report *rp, struct rh_xaxis *a)
{
	static const int64_t steps[] = {
		60, 120, 300, 600, 900, 1800, 3600, 2 * 3600, 3 * 3600,
		6 * 3600, 12 * 3600, 86400, 2 * 86400, 7 * 86400, 14 * 86400,
	};
	static const int months[] = { 1, 2, 3, 6, 12 };
	const double month = 30.44 * 86400;
	double span;

	memset(a, 0, sizeof(*a));
	a->lo = (double)rp->snaps[0].time;
	a->hi = (double)rp->snaps[rp->nsnaps - 1].time;
	if (a->hi - a->lo < 60) {
		/* one instant: put it in the middle of a day */
		a->lo -= 43200;
		a->hi += 43200;
	} else {
		span = a->hi - a->lo;
		a->lo -= span * 0.04;
		a->hi += span * 0.04;
	}
	span = a->hi - a->lo;
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++)
		if (span / (double)steps[i] <= 6.0) {
			rh_xticks_fixed(a, steps[i]);
			return;
		}
	for (size_t i = 0; i < sizeof(months) / sizeof(months[0]); i++)
		if (span / (months[i] * month) <= 6.0) {
			rh_xticks_months(a, months[i]);
			return;
		}
	rh_xticks_months(a, 12 * (int)(span / (6 * 12 * month) + 1));
}

static double rh_px(const struct rh_xaxis *a, int64_t t)
{
	return RH_ML + ((double)t - a->lo) / (a->hi - a->lo) *
		       (RH_W - RH_ML - RH_MR);
}

static double rh_py(const struct rh_yaxis *a, uint64_t v)
{
	return (RH_H - RH_MB) - (double)v / a->top * (RH_H - RH_MT - RH_MB);
}

/* The frame, grid, tick labels and axis titles of a chart. */
static void rh_chart_begin(struct rh *h, const char *cls, const char *label,
			   const struct rh_xaxis *x, const struct rh_yaxis *y,
			   const char *ytitle)
{
	rh_f(h, "<svg class=\"chart %s\" viewBox=\"0 0 %d %d\" role=\"img\" "
	     "aria-label=\"%s\" data-plot=\"%d %d %d %d\">\n", cls, RH_W, RH_H,
	     label, RH_ML, RH_MT, RH_W - RH_MR, RH_H - RH_MB);
	for (int i = 0; i <= y->n; i++) {
		double v = i * y->step, py = rh_py(y, (uint64_t)(v * y->unit));

		rh_f(h, "<line class=\"grid\" x1=\"%d\" x2=\"%d\" y1=\"%.1f\" "
		     "y2=\"%.1f\"/><text class=\"ytick\" x=\"%d\" y=\"%.1f\">"
		     "%g %s</text>\n", RH_ML, RH_W - RH_MR, py, py, RH_ML - 6,
		     py + 4, v, y->uname);
	}
	for (size_t i = 0; i < x->n; i++) {
		double px = rh_px(x, x->tick[i]);

		rh_f(h, "<line class=\"tick\" x1=\"%.1f\" x2=\"%.1f\" y1=\"%d\" "
		     "y2=\"%d\"/><text class=\"xtick\" x=\"%.1f\" y=\"%d\">%s"
		     "</text>\n", px, px, RH_H - RH_MB, RH_H - RH_MB + 5, px,
		     RH_H - RH_MB + 18, x->label[i]);
	}
	rh_f(h, "<line class=\"axis\" x1=\"%d\" x2=\"%d\" y1=\"%d\" y2=\"%d\"/>"
	     "<line class=\"axis\" x1=\"%d\" x2=\"%d\" y1=\"%d\" y2=\"%d\"/>\n",
	     RH_ML, RH_W - RH_MR, RH_H - RH_MB, RH_H - RH_MB, RH_ML, RH_ML,
	     RH_MT, RH_H - RH_MB);
	rh_f(h, "<text class=\"axis-title\" x=\"%d\" y=\"%d\">time (UTC)</text>"
	     "<text class=\"axis-title\" transform=\"rotate(-90)\" x=\"%d\" "
	     "y=\"14\">%s</text>\n", (RH_ML + RH_W - RH_MR) / 2, RH_H - 6,
	     -(RH_MT + RH_H - RH_MB) / 2, ytitle);
}

/* What a snapshot is shown as (its colour, class "k-<kind>", and
 * badge): "safety", "partial", "db" (holds a database) or "files". */
static const char *rh_kind(const struct report_snap *s)
{
	return s->safety ? "safety" : s->skipped ? "partial" :
	       s->db_source ? "db" : "files";
}

/* The tooltip of a point or bar. */
static void rh_snap_title(struct rh *h, const struct report_snap *s)
{
	rh_f(h, "<title>%.8s ", s->id);
	rh_time(h, s->time);
	rh_s(h, " (");
	rh_s(h, rh_kind(s));
	rh_s(h, "): added ");
	rh_size(h, s->bytes_added);
	rh_s(h, ", stored ");
	rh_size(h, s->bytes_stored);
	rh_s(h, ", total ");
	rh_size(h, s->stored_total);
	rh_s(h, "</title>");
}

/* Cumulative stored size: an area, its line and one point per snapshot,
 * and the repository's size now (after prune it differs). */
static void rh_chart_size(struct rh *h, const struct report *rp,
			  const struct rh_xaxis *x)
{
	const struct report_snap *last = &rp->snaps[rp->nsnaps - 1];
	uint64_t max = last->stored_total;
	struct rh_yaxis y;
	double base;

	if (rp->stats.stored_bytes > max)
		max = rp->stats.stored_bytes;
	rh_yaxis(max, &y);
	base = rh_py(&y, 0);
	rh_chart_begin(h, "size", "stored size over time", x, &y,
		       "stored (cumulative)");
	rh_f(h, "<path class=\"area\" d=\"M%.1f %.1f", rh_px(x, rp->snaps[0].time),
	     base);
	for (size_t i = 0; i < rp->nsnaps; i++)
		rh_f(h, " L%.1f %.1f", rh_px(x, rp->snaps[i].time),
		     rh_py(&y, rp->snaps[i].stored_total));
	rh_f(h, " L%.1f %.1f Z\"/>\n<polyline class=\"line\" points=\"",
	     rh_px(x, last->time), base);
	for (size_t i = 0; i < rp->nsnaps; i++)
		rh_f(h, "%s%.1f,%.1f", i ? " " : "", rh_px(x, rp->snaps[i].time),
		     rh_py(&y, rp->snaps[i].stored_total));
	rh_s(h, "\"/>\n");
	{
		double py = rh_py(&y, rp->stats.stored_bytes);

		rh_f(h, "<line class=\"now\" x1=\"%d\" x2=\"%d\" y1=\"%.1f\" "
		     "y2=\"%.1f\"/><text class=\"note\" x=\"%d\" y=\"%.1f\">"
		     "repository now: ", RH_ML, RH_W - RH_MR, py, py, RH_ML + 6,
		     py - 4 < RH_MT + 10 ? py + 13 : py - 4);
		rh_size(h, rp->stats.stored_bytes);
		rh_s(h, "</text>\n");
	}
	for (size_t i = 0; i < rp->nsnaps; i++) {
		const struct report_snap *s = &rp->snaps[i];

		rh_f(h, "<circle class=\"pt k-%s\" cx=\"%.1f\" cy=\"%.1f\" r=\"4\">",
		     rh_kind(s), rh_px(x, s->time), rh_py(&y, s->stored_total));
		rh_snap_title(h, s);
		rh_s(h, "</circle>\n");
	}
	rh_s(h, "</svg>\n");
}

/* Bytes added by each snapshot: one bar each, centred on its time. */
static void rh_chart_added(struct rh *h, const struct report *rp,
			   const struct rh_xaxis *x)
{
	double w = 28, plot_h = RH_H - RH_MT - RH_MB;
	uint64_t max = 0;
	struct rh_yaxis y;

	for (size_t i = 0; i < rp->nsnaps; i++) {
		double gap;

		if (rp->snaps[i].bytes_added > max)
			max = rp->snaps[i].bytes_added;
		if (i == 0 || rp->snaps[i].time == rp->snaps[i - 1].time)
			continue;
		gap = rh_px(x, rp->snaps[i].time) - rh_px(x, rp->snaps[i - 1].time);
		if (gap * 0.7 < w)
			w = gap * 0.7;
	}
	if (w < 3)
		w = 3;
	rh_yaxis(max, &y);
	rh_chart_begin(h, "added", "bytes added per snapshot", x, &y,
		       "added by the snapshot");
	for (size_t i = 0; i < rp->nsnaps; i++) {
		const struct report_snap *s = &rp->snaps[i];
		double bh = (double)s->bytes_added / y.top * plot_h;

		if (s->bytes_added && bh < 1)
			bh = 1;	/* something was added: let it show */
		rh_f(h, "<rect class=\"bar k-%s\" x=\"%.1f\" y=\"%.1f\" "
		     "width=\"%.1f\" height=\"%.1f\">", rh_kind(s),
		     rh_px(x, s->time) - w / 2, (RH_H - RH_MB) - bh, w, bh);
		rh_snap_title(h, s);
		rh_s(h, "</rect>\n");
	}
	rh_s(h, "</svg>\n");
}

static void rh_legend(struct rh *h)
{
	rh_s(h, "<p class=\"legend\"><span class=\"key k-files\"></span>files"
	     " <span class=\"key k-db\"></span>database"
	     " <span class=\"key k-partial\"></span>partial"
	     " <span class=\"key k-safety\"></span>safety (what a restore"
	     " replaced)</p>\n");
}

/* ---- tables ------------------------------------------------------------------ */

static void rh_ratio(struct rh *h, uint64_t a, uint64_t b)
{
	char s[32];

	cli_ratio(a, b, s, sizeof(s));
	rh_s(h, s);
}

static void rh_cards(struct rh *h, const struct report *rp)
{
	size_t g = report_last_good(rp);
	char age[48];

	rh_s(h, "<div class=\"cards\">\n<div class=\"card\"><b>");
	rh_size(h, rp->stats.stored_bytes);
	rh_f(h, "</b>stored in %llu packs</div>\n<div class=\"card\"><b>%zu</b>"
	     "snapshots</div>\n<div class=\"card\"><b>",
	     (unsigned long long)rp->stats.packs, rp->nsnaps);
	rh_ratio(h, rp->stats.referenced_raw, rp->stats.raw_bytes);
	rh_s(h, "</b>deduplication (");
	rh_size(h, rp->stats.referenced_raw);
	rh_s(h, " referenced, ");
	rh_size(h, rp->stats.raw_bytes);
	rh_s(h, " unique)</div>\n<div class=\"card\"><b>");
	rh_ratio(h, rp->stats.raw_bytes, rp->stats.stored_bytes);
	rh_s(h, "</b>compression</div>\n");
	if (g == SIZE_MAX) {
		rh_s(h, "<div class=\"card stale\" id=\"last-good\"><b>none</b>"
		     "no whole backup yet</div>\n");
	} else {
		report_age(rp->now - rp->snaps[g].time, age, sizeof(age));
		rh_f(h, "<div class=\"card\" id=\"last-good\"><b>%s ago</b>last "
		     "good snapshot: %.8s, ", age, rp->snaps[g].id);
		rh_time(h, rp->snaps[g].time);
		rh_s(h, "</div>\n");
	}
	rh_s(h, "</div>\n");
}

static void rh_groups(struct rh *h, const struct report *rp)
{
	char age[48];

	rh_s(h, "<h2>Last good snapshot</h2>\n<p class=\"note\">Per host and "
	     "source, as <code>vault prune</code> groups them; a good snapshot "
	     "is whole (not partial) and no safety snapshot.</p>\n");
	if (!rp->ngroups) {
		rh_s(h, "<p>No backups yet.</p>\n");
		return;
	}
	rh_s(h, "<table class=\"groups\"><thead><tr><th>host</th><th>source</th>"
	     "<th>snapshots</th><th>newest</th><th>last good</th><th>age</th>"
	     "</tr></thead><tbody>\n");
	for (size_t i = 0; i < rp->ngroups; i++) {
		const struct report_group *g = &rp->groups[i];
		const struct report_snap *n = &rp->snaps[g->newest];

		rh_f(h, "<tr%s><td>", g->last_good != g->newest ?
		     " class=\"stale\"" : "");
		rh_esc(h, g->hostname);
		rh_s(h, "</td><td>");
		rh_esc(h, g->source);
		rh_f(h, "</td><td class=\"num\">%zu</td><td>%.8s ", g->count, n->id);
		rh_time(h, n->time);
		if (n->skipped)
			rh_f(h, " <span class=\"badge k-partial\">partial: %llu "
			     "left out</span>", (unsigned long long)n->skipped);
		rh_s(h, "</td>");
		if (g->last_good == SIZE_MAX) {
			rh_s(h, "<td>none</td><td>-</td></tr>\n");
			continue;
		}
		report_age(rp->now - rp->snaps[g->last_good].time, age, sizeof(age));
		rh_f(h, "<td>%.8s ", rp->snaps[g->last_good].id);
		rh_time(h, rp->snaps[g->last_good].time);
		rh_f(h, "</td><td class=\"num age\">%s</td></tr>\n", age);
	}
	rh_s(h, "</tbody></table>\n");
}

static void rh_delta(struct rh *h, uint64_t a, uint64_t b, int bytes)
{
	uint64_t d = b >= a ? b - a : a - b;

	if (a == b) {
		rh_s(h, "±0");
		return;
	}
	rh_s(h, b > a ? "+" : "−");
	if (bytes)
		rh_size(h, d);
	else
		rh_f(h, "%llu", (unsigned long long)d);
}

static void rh_db_table(struct rh *h, const struct report_table *t,
			uint64_t biggest)
{
	static const char *const changes[] = { "changed", "added", "dropped" };
	uint64_t d = t->bytes_new >= t->bytes_old ? t->bytes_new - t->bytes_old :
		     t->bytes_old - t->bytes_new;
	double pct = biggest ? 100.0 * (double)d / (double)biggest : 0;

	rh_f(h, "<tr class=\"%s\"><td>", changes[t->change]);
	rh_esc(h, t->schema);
	rh_s(h, ".");
	rh_esc(h, t->name);
	rh_f(h, "</td><td>%s</td><td class=\"num\">%llu → %llu (",
	     changes[t->change], (unsigned long long)t->rows_old,
	     (unsigned long long)t->rows_new);
	rh_delta(h, t->rows_old, t->rows_new, 0);
	rh_s(h, ")</td><td class=\"num\">");
	rh_size(h, t->bytes_old);
	rh_s(h, " → ");
	rh_size(h, t->bytes_new);
	rh_s(h, " (");
	rh_delta(h, t->bytes_old, t->bytes_new, 1);
	rh_f(h, ")</td><td>%s</td><td class=\"barcell\"><span class=\"hbar%s\" "
	     "style=\"width:%.1f%%\"></span></td></tr>\n",
	     t->checksum_changed ? "changed" : "same",
	     t->bytes_new < t->bytes_old ? " shrink" : "", pct);
}

static void rh_dbs(struct rh *h, const struct report *rp)
{
	rh_s(h, "<h2>Database tables that changed most</h2>\n");
	if (!rp->ndbs) {
		rh_s(h, "<p>No database snapshots.</p>\n");
		return;
	}
	for (size_t i = 0; i < rp->ndbs; i++) {
		const struct report_db *d = &rp->dbs[i];
		const struct report_snap *n = &rp->snaps[d->newest];
		size_t shown = d->ntables;
		uint64_t biggest = 1;

		rh_s(h, "<section class=\"db\"><h3>");
		rh_esc(h, d->database ? d->database : "database");
		rh_s(h, " <small>");
		rh_esc(h, d->source);
		rh_s(h, " from ");
		rh_esc(h, d->hostname);
		rh_f(h, "</small></h3>\n<p>Snapshot %.8s (", n->id);
		rh_time(h, n->time);
		if (d->previous == SIZE_MAX) {
			rh_s(h, "), the first of this database: its largest "
			     "tables.");
		} else {
			rh_f(h, ") against %.8s (", rp->snaps[d->previous].id);
			rh_time(h, rp->snaps[d->previous].time);
			rh_f(h, "): %zu of %zu tables changed.", d->changed,
			     d->compared);
		}
		rh_s(h, "</p>\n");
		if (d->error) {
			rh_s(h, "<p class=\"stale\">Cannot read its tables: ");
			rh_esc(h, d->error);
			rh_s(h, "</p></section>\n");
			continue;
		}
		if (rp->top && shown > rp->top)
			shown = rp->top;
		if (!shown) {
			rh_s(h, "<p>No table changed.</p></section>\n");
			continue;
		}
		for (size_t k = 0; k < shown; k++) {
			const struct report_table *t = &d->tables[k];
			uint64_t dd = t->bytes_new >= t->bytes_old ?
				      t->bytes_new - t->bytes_old :
				      t->bytes_old - t->bytes_new;

			if (dd > biggest)
				biggest = dd;
		}
		rh_s(h, "<table class=\"dbtables\"><thead><tr><th>table</th>"
		     "<th>change</th><th>rows</th><th>bytes</th><th>checksum</th>"
		     "<th>growth</th></tr></thead><tbody>\n");
		for (size_t k = 0; k < shown; k++)
			rh_db_table(h, &d->tables[k], biggest);
		rh_s(h, "</tbody></table>\n");
		if (shown < d->ntables)
			rh_f(h, "<p class=\"note\">and %zu more (--top).</p>\n",
			     d->ntables - shown);
		rh_s(h, "</section>\n");
	}
}

static void rh_snapshots(struct rh *h, const struct report *rp)
{
	rh_s(h, "<h2>Snapshots</h2>\n<table class=\"snapshots\"><thead><tr>"
	     "<th>id</th><th>time</th><th>kind</th><th>host</th><th>source</th>"
	     "<th>read</th><th>added</th><th>stored</th><th>dedup</th></tr>"
	     "</thead><tbody>\n");
	for (size_t i = rp->nsnaps; i-- > 0;) {
		const struct report_snap *s = &rp->snaps[i];

		rh_f(h, "<tr><td class=\"nowrap\"><code>%.8s</code></td>"
		     "<td class=\"nowrap\">", s->id);
		rh_time(h, s->time);
		rh_f(h, "</td><td><span class=\"badge k-%s\">%s</span></td><td>",
		     rh_kind(s), rh_kind(s));
		rh_esc(h, s->hostname);
		rh_s(h, "</td><td>");
		rh_esc(h, s->source);
		rh_s(h, "</td><td class=\"num\">");
		rh_size(h, s->bytes_read);
		rh_s(h, "</td><td class=\"num\">");
		rh_size(h, s->bytes_added);
		rh_s(h, "</td><td class=\"num\">");
		rh_size(h, s->bytes_stored);
		rh_s(h, "</td><td class=\"num\">");
		rh_ratio(h, s->bytes_read, s->bytes_added);
		rh_s(h, "</td></tr>\n");
	}
	rh_s(h, "</tbody></table>\n");
}

/* ---- the page ------------------------------------------------------------------ */

static const char rh_style[] =
	"<style>\n"
	"body{font:14px/1.45 system-ui,-apple-system,\"Segoe UI\",sans-serif;"
	"margin:24px auto;max-width:1000px;padding:0 16px;color:#1d2330;"
	"background:#fff}\n"
	"h1{font-size:22px;margin:0}h2{font-size:17px;margin:28px 0 8px}"
	"h3{font-size:15px;margin:16px 0 4px}h3 small{font-weight:normal;"
	"color:#5a6270}\n"
	".sub,.note{color:#5a6270}.note{font-size:12px}\n"
	".cards{display:flex;flex-wrap:wrap;gap:10px;margin:16px 0}"
	".card{border:1px solid #d8dde6;border-radius:6px;padding:8px 12px;"
	"min-width:140px;color:#5a6270;font-size:12px}.card b{display:block;"
	"font-size:20px;color:#1d2330}\n"
	".card.stale b,tr.stale td,p.stale{color:#b3261e}\n"
	"svg.chart{width:100%;height:auto;display:block}\n"
	".grid{stroke:#e6e9ef}.axis{stroke:#6b7280}.tick{stroke:#6b7280}"
	".ytick{font-size:11px;text-anchor:end;fill:#4b5563}"
	".xtick{font-size:11px;text-anchor:middle;fill:#4b5563}"
	".axis-title{font-size:11px;text-anchor:middle;fill:#6b7280}"
	"text.note{font-size:11px;fill:#6b7280}\n"
	".area{fill:#2563eb22}.line{fill:none;stroke:#2563eb;stroke-width:2}"
	".now{stroke:#6b7280;stroke-dasharray:4 3}\n"
	".pt{fill:#2563eb;stroke:#fff;stroke-width:1.5}"
	".bar{fill:#2563eb}\n"
	".k-db{fill:#0d9488;background:#0d9488}.k-files{fill:#2563eb;"
	"background:#2563eb}.k-partial{fill:#d97706;background:#d97706}"
	".k-safety{fill:#9ca3af;background:#9ca3af}\n"
	".legend{font-size:12px;color:#5a6270}.key{display:inline-block;"
	"width:10px;height:10px;border-radius:2px;margin:0 4px 0 10px}\n"
	"table{border-collapse:collapse;width:100%;font-size:13px}"
	"th,td{text-align:left;padding:4px 8px;border-bottom:1px solid #e6e9ef;"
	"vertical-align:top}th{color:#5a6270;font-weight:600}"
	"td.num{text-align:right}td.num,.nowrap{white-space:nowrap}"
	"td{word-break:break-word}\n"
	".badge{color:#fff;border-radius:3px;padding:0 5px;font-size:11px;"
	"white-space:nowrap}\n"
	".barcell{width:22%}.hbar{display:block;height:10px;background:#0d9488;"
	"border-radius:2px;min-width:1px}.hbar.shrink{background:#b3261e}\n"
	"</style>\n";

/* Set before anything else runs, so every error and blocked load is
 * caught; read by the check at the end of the page. */
static const char rh_script_head[] =
	"<script>window.reportErrors=[];"
	"window.onerror=function(m,s,l){window.reportErrors.push(String(m)+"
	"' (line '+l+')');};"
	"document.addEventListener('securitypolicyviolation',function(e){"
	"window.reportErrors.push('blocked: '+e.violatedDirective+' '+"
	"e.blockedURI);});</script>\n";

/* Runs when the page is parsed, and again once it loaded (a load the
 * policy blocked is reported by then): "stage" says which ran last. */
static const char rh_script_check[] =
	"<script>(function(){\n"
	"function check(stage){\n"
	"var out={stage:stage,errors:window.reportErrors||[]},q=function(s){"
	"return document.querySelectorAll(s).length;};\n"
	"try{\n"
	"out.snapshots=+document.body.getAttribute('data-snapshots');\n"
	"out.points=q('svg.size circle.pt');out.bars=q('svg.added rect.bar');\n"
	"out.xlabels=q('svg text.xtick');out.ylabels=q('svg text.ytick');\n"
	"out.axis_titles=q('svg text.axis-title');\n"
	"out.snapshot_rows=q('table.snapshots tbody tr');\n"
	"out.group_rows=q('table.groups tbody tr');\n"
	"out.db_rows=q('table.dbtables tbody tr');\n"
	"out.foreign=q('img,link,iframe,object,embed,script[src],a[href],"
	"image,use,style[src]');\n"
	"out.outside=0;out.ordered=true;\n"
	"document.querySelectorAll('svg.chart').forEach(function(svg){\n"
	" var b=svg.getAttribute('data-plot').split(' ').map(Number),last=-1;\n"
	" var inside=function(x0,y0,x1,y1){return x0>=b[0]-0.5&&x1<=b[2]+0.5"
	"&&y0>=b[1]-0.5&&y1<=b[3]+0.5;};\n"
	" svg.querySelectorAll('circle.pt,rect.bar').forEach(function(e){\n"
	"  var r=e.getBBox(),cx=r.x+r.width/2,cy=r.y+r.height/2;\n"
	"  if(e.tagName=='circle'?!inside(cx,cy,cx,cy):"
	"!inside(r.x,r.y,r.x+r.width,r.y+r.height))out.outside++;\n"
	"  if(cx<last-0.01)out.ordered=false;last=cx;});\n"
	"});\n"
	"}catch(e){out.errors.push(String(e));}\n"
	"document.getElementById('report-check').textContent="
	"JSON.stringify(out);}\n"
	"check('parsed');\n"
	"window.addEventListener('load',function(){"
	"setTimeout(function(){check('loaded');},0);});\n"
	"})();</script>\n";

int report_html_write(const struct report *rp, struct buf *out)
{
	struct rh h = { out, 0 };

	rh_s(&h, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
	     "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src "
	     "'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'\">\n"
	     "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\n"
	     "<title>vault report: ");
	rh_esc(&h, rp->repo_path);
	rh_s(&h, "</title>\n");
	rh_s(&h, rh_style);
	rh_s(&h, rh_script_head);
	rh_f(&h, "</head>\n<body data-snapshots=\"%zu\">\n<h1>vault report</h1>\n"
	     "<p class=\"sub\">Repository <code>", rp->nsnaps);
	rh_esc(&h, rp->repo_path);
	rh_f(&h, "</code> (%s), made ", rp->encrypted ? "encrypted" :
	     "not encrypted");
	rh_time(&h, rp->now);
	rh_s(&h, ".</p>\n");
	rh_cards(&h, rp);
	if (rp->nsnaps) {
		struct rh_xaxis x;

		rh_xaxis(rp, &x);
		rh_s(&h, "<h2>Repository size</h2>\n<p class=\"note\">Stored "
		     "bytes each snapshot added, summed over the snapshots still "
		     "in the repository; the dashed line is the size of its packs "
		     "now.</p>\n");
		rh_chart_size(&h, rp, &x);
		rh_s(&h, "<h2>Bytes added per snapshot</h2>\n<p class=\"note\">New "
		     "data (before compression) each snapshot brought; the rest "
		     "was already in the repository.</p>\n");
		rh_chart_added(&h, rp, &x);
		rh_legend(&h);
	} else {
		rh_s(&h, "<p>No snapshots yet.</p>\n");
	}
	rh_groups(&h, rp);
	rh_dbs(&h, rp);
	if (rp->nsnaps)
		rh_snapshots(&h, rp);
	rh_s(&h, "<pre id=\"report-check\" hidden></pre>\n");
	rh_s(&h, rh_script_check);
	rh_s(&h, "</body></html>\n");
	return h.err;
}

/*
 * cli-progress: the progress line, the --json stream and the
 * -v detail lines of every verb (see cli-progress.h).
 *
 * Verbs only move counters (cheap, under one mutex); a ticker thread,
 * started with the first phase, draws the phase being shown at a fixed
 * rate.  So the rate of updates is bounded whatever the callbacks do,
 * and the line keeps moving (elapsed time, rate, ETA) while a verb is
 * blocked in one long call: pg_dump, a COPY, an fsync.  The ticker
 * blocks every signal, so SIGINT still reaches the thread that polls
 * for it.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "cli-progress.h"

/* Items are kept up to this many bytes (their tail is what is shown). */
#define CLI_PROGRESS_ITEM_MAX 4096

struct cli_phase {
	struct cli_progress *p;
	const char *name, *unit;
	uint64_t bytes, bytes_total, items, items_total;
	int firm;
	int running;
	int ran;		/* started at least once */
	double started;		/* when the clock last started */
	double active;		/* running time before that */
	struct buf item;
};

struct cli_progress {
	enum cli_progress_mode mode;
	const char *verb;
	double start;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t ticker;
	int have_ticker, stop;
	int held;		/* a verb is writing: do not draw */
	int drawn;		/* the terminal shows a progress line */
	double last_draw;	/* cli_now() of the last draw, or 0 */
	struct cli_phase phases[CLI_PROGRESS_PHASES];
	size_t nphases;
	struct cli_phase *cur;	/* the phase shown, or NULL */
};

/* ---- rendering ---------------------------------------------------------- */

double cli_progress_percent(const struct cli_progress_view *v)
{
	if (v->bytes_total)
		return v->bytes >= v->bytes_total ? 100.0 :
		       100.0 * (double)v->bytes / (double)v->bytes_total;
	if (v->items_total)
		return v->items >= v->items_total ? 100.0 :
		       100.0 * (double)v->items / (double)v->items_total;
	return -1;
}

double cli_progress_eta(const struct cli_progress_view *v)
{
	double done, total;

	if (!v->firm || v->active < 1.0)
		return -1;
	if (v->bytes_total) {
		done = (double)v->bytes;
		total = (double)v->bytes_total;
	} else if (v->items_total) {
		done = (double)v->items;
		total = (double)v->items_total;
	} else {
		return -1;
	}
	if (done <= 0)
		return -1;
	if (done >= total)
		return 0;
	return (total - done) * v->active / done;
}

/* "m:ss" or "h:mm:ss". */
static void cli_progress_clock(double secs, char *out, size_t outsz)
{
	unsigned long long s = secs > 0 ? (unsigned long long)(secs + 0.5) : 0;

	if (s < 3600)
		snprintf(out, outsz, "%llu:%02llu", s / 60, s % 60);
	else
		snprintf(out, outsz, "%llu:%02llu:%02llu", s / 3600,
			 s / 60 % 60, s % 60);
}

/* Columns of s[0..n): a conservative count (any non-ASCII character
 * may be wide), so the line never wraps and "\r" returns to its start. */
static size_t cli_progress_cols(const char *s, size_t n)
{
	size_t cols = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch < 0x80)
			cols++;
		else if ((ch & 0xc0) != 0xc0 && (ch & 0xc0) == 0x80)
			continue;	/* a continuation byte */
		else
			cols += 2;
	}
	return cols;
}

/* The longest tail of q (quoted text) that fits in cols columns,
 * starting on a character boundary. */
static size_t cli_progress_tail(const char *q, size_t n, size_t cols)
{
	size_t i = n, used = 0;

	while (i > 0) {
		size_t j = i - 1, w;

		while (j > 0 && ((unsigned char)q[j] & 0xc0) == 0x80)
			j--;
		w = cli_progress_cols(q + j, i - j);
		if (used + w > cols)
			break;
		used += w;
		i = j;
	}
	return i;
}

/* Cuts b to at most cols columns (character boundary). */
static void cli_progress_cut(struct buf *b, size_t cols)
{
	size_t i = 0, used = 0;

	while (i < b->len) {
		size_t j = i + 1, w;

		while (j < b->len && (b->data[j] & 0xc0) == 0x80)
			j++;
		w = cli_progress_cols((const char *)b->data + i, j - i);
		if (used + w > cols)
			break;
		used += w;
		i = j;
	}
	buf_setlen(b, i);
}

int cli_progress_render(const struct cli_progress_view *v, int width,
			struct buf *out)
{
	double pct = cli_progress_percent(v), eta = cli_progress_eta(v);
	struct buf q = BUF_INIT;
	char t[32], a[32], b[32];
	size_t cols, room, from;
	int r;

	if (width < 20)
		width = 20;
	buf_reset(out);
	cli_progress_clock(v->elapsed, t, sizeof(t));
	r = buf_addf(out, "[%s] %s", t, v->phase);
	if (r == 0 && pct >= 0)
		r = buf_addf(out, " %.1f%%", pct);
	if (r == 0 && (v->bytes || v->bytes_total)) {
		cli_human_size(v->bytes, a, sizeof(a));
		cli_human_size(v->bytes_total, b, sizeof(b));
		r = v->bytes_total ? buf_addf(out, " %s / %s", a, b)
				   : buf_addf(out, " %s", a);
	}
	if (r == 0 && v->items_total)
		r = buf_addf(out, "%s %llu/%llu %s", v->bytes || v->bytes_total
			     ? "," : "", (unsigned long long)v->items,
			     (unsigned long long)v->items_total, v->unit);
	else if (r == 0 && v->items)
		r = buf_addf(out, "%s %llu %s", v->bytes || v->bytes_total
			     ? "," : "", (unsigned long long)v->items, v->unit);
	if (r == 0 && v->active >= 1.0 && v->bytes) {
		cli_human_size((uint64_t)((double)v->bytes / v->active), a,
			       sizeof(a));
		r = buf_addf(out, ", %s/s", a);
	} else if (r == 0 && v->active >= 1.0 && v->items) {
		r = buf_addf(out, ", %.1f %s/s", (double)v->items / v->active,
			     v->unit);
	}
	if (r == 0 && eta >= 0) {
		cli_progress_clock(eta, t, sizeof(t));
		r = buf_addf(out, ", ETA %s", t);
	}
	if (r < 0)
		return r;
	cols = cli_progress_cols((const char *)out->data, out->len);
	if (cols >= (size_t)width - 1) {
		cli_progress_cut(out, (size_t)width - 1);
		return 0;
	}
	/* the item in what is left: "  " and its tail, "..." in front
	 * when it is cut */
	room = (size_t)width - 1 - cols;
	if (!v->item || !v->item_len || room < 16)
		return 0;
	r = cli_quote(&q, v->item, v->item_len);
	if (r == 0 && cli_progress_cols((const char *)q.data, q.len) + 2 <= room) {
		r = buf_addstr(out, "  ");
		if (r == 0)
			r = buf_add(out, q.data, q.len);
	} else if (r == 0) {
		from = cli_progress_tail((const char *)q.data, q.len, room - 5);
		r = buf_addstr(out, "  ...");
		if (r == 0)
			r = buf_add(out, q.data + from, q.len - from);
	}
	buf_release(&q);
	return r;
}

/* ---- state ------------------------------------------------------------- */

static double cli_phase_active(const struct cli_phase *ph, double now)
{
	return ph->active + (ph->running ? now - ph->started : 0);
}

static void cli_phase_view(const struct cli_phase *ph, double now,
			   struct cli_progress_view *v)
{
	memset(v, 0, sizeof(*v));
	v->phase = ph->name;
	v->unit = ph->unit;
	v->bytes = ph->bytes;
	v->bytes_total = ph->bytes_total;
	v->items = ph->items;
	v->items_total = ph->items_total;
	v->firm = ph->firm;
	v->elapsed = now - ph->p->start;
	v->active = cli_phase_active(ph, now);
	if (ph->item.len) {
		v->item = (const char *)ph->item.data;
		v->item_len = ph->item.len;
	}
}

/* The terminal's width (stderr is one: nothing is drawn otherwise). */
static int cli_progress_width(void)
{
	struct winsize ws;

	if (ioctl(2, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		return ws.ws_col;
	return 80;
}

/* Under the lock: erase the line the terminal shows. */
static void cli_progress_erase(struct cli_progress *p)
{
	if (p->drawn)
		cli_write_all(2, "\r\033[K", 4);
	p->drawn = 0;
}

/* Under the lock: one JSON status line for ph. */
static void cli_progress_json_status(struct cli_progress *p,
				     const struct cli_phase *ph, int finished)
{
	struct cli_progress_view v;
	struct cli_json j;
	double pct, eta;

	cli_phase_view(ph, cli_now(), &v);
	pct = cli_progress_percent(&v);
	eta = cli_progress_eta(&v);
	cli_json_init(&j);
	j.fd = 2;
	cli_json_begin_object(&j, NULL);
	cli_json_str(&j, "message_type", "status");
	cli_json_str(&j, "verb", p->verb);
	cli_json_str(&j, "phase", ph->name);
	cli_json_double(&j, "seconds_elapsed", v.elapsed);
	if (pct >= 0)
		cli_json_double(&j, "percent_done", pct / 100.0);
	if (eta >= 0)
		cli_json_double(&j, "seconds_remaining", eta);
	cli_json_u64(&j, "bytes_done", ph->bytes);
	if (ph->bytes_total)
		cli_json_u64(&j, "total_bytes", ph->bytes_total);
	cli_json_u64(&j, "items_done", ph->items);
	if (ph->items_total)
		cli_json_u64(&j, "total_items", ph->items_total);
	cli_json_str(&j, "unit", ph->unit);
	if (ph->item.len)
		cli_json_strn(&j, "current", (const char *)ph->item.data,
			      ph->item.len);
	if (finished)
		cli_json_bool(&j, "finished", 1);
	cli_json_end_object(&j);
	cli_json_finish(&j);
}

/* Under the lock: shows the current phase once. */
static void cli_progress_draw(struct cli_progress *p)
{
	struct cli_progress_view v;
	struct buf line = BUF_INIT;

	if (!p->cur || p->held)
		return;
	p->last_draw = cli_now();
	if (p->mode == CLI_PROGRESS_JSON) {
		cli_progress_json_status(p, p->cur, 0);
		return;
	}
	cli_phase_view(p->cur, cli_now(), &v);
	if (buf_addch(&line, '\r') == 0) {
		struct buf text = BUF_INIT;

		if (cli_progress_render(&v, cli_progress_width(), &text) == 0 &&
		    buf_add(&line, text.data, text.len) == 0 &&
		    buf_addstr(&line, "\033[K") == 0) {
			cli_write_all(2, line.data, line.len);
			p->drawn = 1;
		}
		buf_release(&text);
	}
	buf_release(&line);
}

/* Seconds between two draws. */
static double cli_progress_period(const struct cli_progress *p)
{
	return 1.0 / (p->mode == CLI_PROGRESS_JSON ? CLI_PROGRESS_JSON_HZ
						   : CLI_PROGRESS_TTY_HZ);
}

static void *cli_progress_tick(void *arg)
{
	struct cli_progress *p = arg;
	double period = cli_progress_period(p);
	long step = (long)(period * 1e9);
	struct timespec at;

	pthread_mutex_lock(&p->mu);
	clock_gettime(CLOCK_MONOTONIC, &at);
	while (!p->stop) {
		at.tv_nsec += step;
		while (at.tv_nsec >= 1000000000L) {
			at.tv_nsec -= 1000000000L;
			at.tv_sec++;
		}
		while (!p->stop &&
		       pthread_cond_timedwait(&p->cv, &p->mu, &at) != ETIMEDOUT)
			;
		/* not again soon after cli_phase_start drew */
		if (!p->stop && cli_now() - p->last_draw >= period / 2)
			cli_progress_draw(p);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

int cli_progress_thread(pthread_t *t, void *(*fn)(void *), void *arg)
{
	sigset_t all, old;
	int r;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	r = pthread_create(t, NULL, fn, arg);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return -r;
}

/* Under the lock: the ticker runs from the first phase on. */
static void cli_progress_ticker(struct cli_progress *p)
{
	if (!p->have_ticker)
		p->have_ticker = cli_progress_thread(&p->ticker,
						     cli_progress_tick, p) == 0;
}

struct cli_progress *cli_progress_new(enum cli_progress_mode mode,
				      const char *verb, double start)
{
	struct cli_progress *p = calloc(1, sizeof(*p));
	pthread_condattr_t ca;

	if (!p)
		return NULL;
	p->mode = mode;
	p->verb = verb ? verb : "";
	p->start = start;
	pthread_mutex_init(&p->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&p->cv, &ca);
	pthread_condattr_destroy(&ca);
	return p;
}

void cli_progress_free(struct cli_progress *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->mu);
	p->stop = 1;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
	if (p->have_ticker)
		pthread_join(p->ticker, NULL);
	cli_progress_erase(p);
	for (size_t i = 0; i < p->nphases; i++)
		buf_release(&p->phases[i].item);
	pthread_cond_destroy(&p->cv);
	pthread_mutex_destroy(&p->mu);
	free(p);
}

int cli_progress_on(const struct cli_progress *p)
{
	return p && p->mode != CLI_PROGRESS_OFF;
}

struct cli_phase *cli_progress_phase(struct cli_progress *p,
				     const char *name, const char *unit)
{
	struct cli_phase *ph = NULL;

	if (!cli_progress_on(p))
		return NULL;
	pthread_mutex_lock(&p->mu);
	for (size_t i = 0; i < p->nphases && !ph; i++)
		if (!strcmp(p->phases[i].name, name))
			ph = &p->phases[i];
	if (!ph && p->nphases < CLI_PROGRESS_PHASES) {
		ph = &p->phases[p->nphases++];
		ph->p = p;
		ph->name = name;
		ph->unit = unit ? unit : "items";
		buf_init(&ph->item, 0);
	}
	pthread_mutex_unlock(&p->mu);
	return ph;
}

/* Under the lock: ph's clock stops. */
static void cli_phase_pause(struct cli_phase *ph, double now)
{
	if (!ph->running)
		return;
	ph->active += now - ph->started;
	ph->running = 0;
}

void cli_phase_start(struct cli_phase *ph)
{
	struct cli_progress *p;
	double now = cli_now();

	if (!ph)
		return;
	p = ph->p;
	pthread_mutex_lock(&p->mu);
	if (p->cur && p->cur != ph)
		cli_phase_pause(p->cur, now);
	if (!ph->running) {
		ph->running = 1;
		ph->ran = 1;
		ph->started = now;
	}
	p->cur = ph;
	/* shown at once, not a tick later (a phase may begin with one
	 * long call), unless a line was drawn less than a period ago */
	if (now - p->last_draw >= cli_progress_period(p))
		cli_progress_draw(p);
	cli_progress_ticker(p);
	pthread_mutex_unlock(&p->mu);
}

static void cli_phase_end(struct cli_phase *ph, int finished)
{
	struct cli_progress *p;

	if (!ph)
		return;
	p = ph->p;
	pthread_mutex_lock(&p->mu);
	cli_phase_pause(ph, cli_now());
	if (p->cur == ph) {
		if (p->mode == CLI_PROGRESS_JSON && finished)
			cli_progress_json_status(p, ph, 1);
		cli_progress_erase(p);
		p->cur = NULL;
	}
	pthread_mutex_unlock(&p->mu);
}

void cli_phase_stop(struct cli_phase *ph)
{
	cli_phase_end(ph, 1);
}

void cli_phase_hold(struct cli_phase *ph)
{
	cli_phase_end(ph, 0);
}

/* Under the lock: a done count past its total raises the total. */
static void cli_phase_clamp(struct cli_phase *ph)
{
	if (ph->bytes_total && ph->bytes > ph->bytes_total)
		ph->bytes_total = ph->bytes;
	if (ph->items_total && ph->items > ph->items_total)
		ph->items_total = ph->items;
}

void cli_phase_total(struct cli_phase *ph, uint64_t bytes, uint64_t items,
		     int firm)
{
	if (!ph)
		return;
	pthread_mutex_lock(&ph->p->mu);
	ph->bytes_total = bytes;
	ph->items_total = items;
	ph->firm = firm;
	cli_phase_clamp(ph);
	pthread_mutex_unlock(&ph->p->mu);
}

/* Under the lock. */
static void cli_phase_set_item(struct cli_phase *ph, const char *item,
			       size_t n)
{
	buf_reset(&ph->item);
	if (!item)
		return;
	/* the tail is what is shown */
	if (n > CLI_PROGRESS_ITEM_MAX) {
		item += n - CLI_PROGRESS_ITEM_MAX;
		n = CLI_PROGRESS_ITEM_MAX;
	}
	buf_add(&ph->item, item, n);
}

/* The counters set (add 0) or moved on (add 1), and with with_item the
 * item too, under the lock. */
static void cli_phase_count(struct cli_phase *ph, uint64_t bytes,
			    uint64_t items, int add, int with_item,
			    const char *item, size_t n)
{
	if (!ph)
		return;
	pthread_mutex_lock(&ph->p->mu);
	ph->bytes = (add ? ph->bytes : 0) + bytes;
	ph->items = (add ? ph->items : 0) + items;
	cli_phase_clamp(ph);
	if (with_item)
		cli_phase_set_item(ph, item, n);
	pthread_mutex_unlock(&ph->p->mu);
}

void cli_phase_set(struct cli_phase *ph, uint64_t bytes, uint64_t items)
{
	cli_phase_count(ph, bytes, items, 0, 0, NULL, 0);
}

void cli_phase_add(struct cli_phase *ph, uint64_t bytes, uint64_t items)
{
	cli_phase_count(ph, bytes, items, 1, 0, NULL, 0);
}

void cli_phase_item(struct cli_phase *ph, const char *item, size_t n)
{
	if (!ph)
		return;
	pthread_mutex_lock(&ph->p->mu);
	cli_phase_set_item(ph, item, n);
	pthread_mutex_unlock(&ph->p->mu);
}

void cli_phase_at(struct cli_phase *ph, uint64_t bytes, uint64_t items,
		  const char *item, size_t n)
{
	cli_phase_count(ph, bytes, items, 0, 1, item, n);
}

/* ---- other lines on standard error -------------------------------------- */

void cli_progress_hold(struct cli_progress *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->mu);
	cli_progress_erase(p);
	p->held++;
	pthread_mutex_unlock(&p->mu);
}

void cli_progress_release(struct cli_progress *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->mu);
	if (p->held)
		p->held--;
	pthread_mutex_unlock(&p->mu);
}

/* A JSON line {"message_type": type, "verb", key: text, ...}: text is
 * raw (escaped here). */
static void cli_progress_json_line(const char *verb, const char *type,
				   const char *k1, const char *v1, size_t n1,
				   const char *k2, const char *v2,
				   const char *k3, const char *v3)
{
	struct cli_json j;

	cli_json_init(&j);
	j.fd = 2;
	cli_json_begin_object(&j, NULL);
	cli_json_str(&j, "message_type", type);
	cli_json_str(&j, "verb", verb ? verb : "");
	cli_json_strn(&j, k1, v1, n1);
	if (k2 && v2)
		cli_json_str(&j, k2, v2);
	if (k3 && v3)
		cli_json_str(&j, k3, v3);
	cli_json_end_object(&j);
	cli_json_finish(&j);
}

void cli_progress_detail(struct cli_progress *p, const char *action,
			 const char *item, size_t n, const char *detail)
{
	struct buf line = BUF_INIT;

	if (p && p->mode == CLI_PROGRESS_JSON) {
		pthread_mutex_lock(&p->mu);
		cli_progress_json_line(p->verb, "verbose_status", "item", item,
				       n, "action", action, "detail", detail);
		pthread_mutex_unlock(&p->mu);
		return;
	}
	buf_addf(&line, "%-10s ", action);
	cli_quote(&line, item, n);
	if (detail && *detail)
		buf_addf(&line, " (%s)", detail);
	buf_addch(&line, '\n');
	fflush(stdout);
	if (p) {
		pthread_mutex_lock(&p->mu);
		cli_progress_erase(p);
	}
	cli_write_all(2, line.data, line.len);
	if (p)
		pthread_mutex_unlock(&p->mu);
	buf_release(&line);
}

void cli_progress_json_message(const char *verb, const char *kind,
			       const char *line, size_t n)
{
	cli_progress_json_line(verb, kind, "message", line, n, NULL, NULL,
			       NULL, NULL);
}

int cli_progress_message(struct cli_progress *p, const char *kind,
			 const char *line, size_t n)
{
	if (!p)
		return 0;
	pthread_mutex_lock(&p->mu);
	if (p->mode == CLI_PROGRESS_JSON) {
		cli_progress_json_message(p->verb, kind, line, n);
		pthread_mutex_unlock(&p->mu);
		return 1;
	}
	cli_progress_erase(p);
	p->held++;
	pthread_mutex_unlock(&p->mu);
	return 0;
}

void cli_progress_summary(struct cli_progress *p, int exit_code)
{
	struct cli_json j;
	double now = cli_now();

	if (!p || p->mode != CLI_PROGRESS_JSON)
		return;
	pthread_mutex_lock(&p->mu);
	cli_json_init(&j);
	j.fd = 2;
	cli_json_begin_object(&j, NULL);
	cli_json_str(&j, "message_type", "summary");
	cli_json_str(&j, "verb", p->verb);
	cli_json_i64(&j, "exit_code", exit_code);
	cli_json_double(&j, "seconds_elapsed", now - p->start);
	cli_json_begin_array(&j, "phases");
	for (size_t i = 0; i < p->nphases; i++) {
		const struct cli_phase *ph = &p->phases[i];

		if (!ph->ran)
			continue;	/* made, but it had no work */
		cli_json_begin_object(&j, NULL);
		cli_json_str(&j, "phase", ph->name);
		cli_json_str(&j, "unit", ph->unit);
		cli_json_u64(&j, "bytes_done", ph->bytes);
		cli_json_u64(&j, "items_done", ph->items);
		cli_json_double(&j, "seconds", cli_phase_active(ph, now));
		cli_json_end_object(&j);
	}
	cli_json_end_array(&j);
	cli_json_end_object(&j);
	cli_json_finish(&j);
	pthread_mutex_unlock(&p->mu);
}

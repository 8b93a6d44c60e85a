/*
 * cli-progress: the one progress display of every long verb (snapshot,
 * mount, cat, check, prune, restore, rollback).
 *
 * The engine never prints: it reports through callbacks, and the verbs
 * turn those into calls here.  A verb's work is one or more phases
 * ("files", "db", "storage", "check", "repack", "load"...), each with
 * its own counters: bytes and items done, their totals when known (from
 * the catalogs, a pre-scan, the manifest or the index), and the item
 * being worked on.  One phase is shown at a time, the one started last;
 * a phase may be stopped and started again (a snapshot's files come
 * before and after its db/ root) and keeps its counters.
 *
 * Where it goes (cli_progress_new's mode):
 *   CLI_PROGRESS_OFF   nothing (-q, or standard error is no terminal);
 *                      cli_progress_phase returns NULL and every phase
 *                      call is a no-op on NULL, so verbs call them
 *                      unconditionally and skip only costly pre-scans
 *   CLI_PROGRESS_TTY   one line on standard error, redrawn in place at
 *                      most CLI_PROGRESS_TTY_HZ times a second by a
 *                      ticker thread (so elapsed time, rate and ETA move
 *                      while the verb is blocked in a long call): "[0:12]
 *                      files 45.2% 153 MiB / 338 MiB, 1204/5000 files,
 *                      12.7 MiB/s, ETA 0:15 photos/img.jpg", cut to the
 *                      terminal's width, the item quoted (cli_quote:
 *                      names are untrusted) and shortened from the left;
 *                      erased when a phase stops, before any message,
 *                      and at the end
 *   CLI_PROGRESS_JSON  --json: JSON lines on standard error, at
 *                      most CLI_PROGRESS_JSON_HZ a second per phase plus
 *                      one when a phase stops; errors, warnings and -v
 *                      detail become JSON lines too, and main ends the
 *                      stream with a summary line (doc/vault.1, PROGRESS
 *                      AND VERBOSITY, lists the members)
 * Standard output is never written here: a verb's --json document and
 * its summary stay whole.
 *
 * Thread-safe: the counters may move on any thread (the parallel
 * restore's workers); drawing and the messages of cli.c share one lock,
 * so a line is never drawn through an error message.
 */
#ifndef VAULT_CLI_PROGRESS_H
#define VAULT_CLI_PROGRESS_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define CLI_PROGRESS_TTY_HZ	4
#define CLI_PROGRESS_JSON_HZ	1

enum cli_progress_mode {
	CLI_PROGRESS_OFF = 0,
	CLI_PROGRESS_TTY,
	CLI_PROGRESS_JSON,
};

struct cli_progress;
struct cli_phase;

/* verb names the JSON lines ("snapshot"); static.  start (cli_now())
 * is when the verb began: the elapsed time counts from it.  NULL only
 * when out of memory (the verb then runs without progress). */
struct cli_progress *cli_progress_new(enum cli_progress_mode mode,
				      const char *verb, double start);
/* Stops the ticker and erases the line.  NULL-safe. */
void cli_progress_free(struct cli_progress *p);
/* 1 when something is shown: a verb computes totals only then. */
int cli_progress_on(const struct cli_progress *p);

/*
 * The phase called name (static string), created on first use; unit
 * is the noun of its items ("files", "tables", "packs").  NULL when p
 * is NULL or off, or past CLI_PROGRESS_PHASES phases.
 */
#define CLI_PROGRESS_PHASES 16
struct cli_phase *cli_progress_phase(struct cli_progress *p,
				     const char *name, const char *unit);
/* Shows ph from now on; its clock runs until cli_phase_stop. */
void cli_phase_start(struct cli_phase *ph);
/* Its clock stops and the line is erased (JSON: a last status line). */
void cli_phase_stop(struct cli_phase *ph);
/* The same for a phase that will start again (the rest of its work
 * comes after another step): no "finished" status line yet. */
void cli_phase_hold(struct cli_phase *ph);
/*
 * Totals (0: unknown).  firm: they will not grow any more (a pre-scan
 * that finished, a count from the index); the ETA is shown only then.
 * A done count past its total raises the total.
 */
void cli_phase_total(struct cli_phase *ph, uint64_t bytes, uint64_t items,
		     int firm);
/* Sets the done counters, or adds to them. */
void cli_phase_set(struct cli_phase *ph, uint64_t bytes, uint64_t items);
void cli_phase_add(struct cli_phase *ph, uint64_t bytes, uint64_t items);
/* The item being worked on: raw bytes (a path, a table), quoted when
 * shown; NULL clears it. */
void cli_phase_item(struct cli_phase *ph, const char *item, size_t n);
/* Both: the item of the next unit of work, and the counters so far. */
void cli_phase_at(struct cli_phase *ph, uint64_t bytes, uint64_t items,
		  const char *item, size_t n);

/*
 * Writes one -v line on standard error: "<action> <item>[ (<detail>)]"
 * with item quoted (JSON mode: {"message_type":"verbose_status",
 * "action", "item", "detail"}).  detail may be NULL.  Works in every
 * mode (the verb decides whether its verbosity asks for it).
 */
void cli_progress_detail(struct cli_progress *p, const char *action,
			 const char *item, size_t n, const char *detail);

/*
 * Around text a verb writes to the terminal while a phase runs (a
 * problem found by check, a plan): hold erases the line and keeps the
 * ticker from drawing until release.  Flush stdio before release.
 */
void cli_progress_hold(struct cli_progress *p);
void cli_progress_release(struct cli_progress *p);

/* cli.c's messages: kind "error" or "warning", line the text without
 * "vault: " and newline.  Returns 1 when written as a JSON line, 0 when
 * the caller is to print its text line (the progress line was erased;
 * call cli_progress_release after it). */
int cli_progress_message(struct cli_progress *p, const char *kind,
			 const char *line, size_t n);
/* The JSON line of a message before the verb's progress exists (the
 * verb's options are parsed, or it shows none). */
void cli_progress_json_message(const char *verb, const char *kind,
			       const char *line, size_t n);
/* The last JSON line: {"message_type":"summary", "verb", "exit_code",
 * "seconds_elapsed", "phases": [...]}.  JSON mode only. */
void cli_progress_summary(struct cli_progress *p, int exit_code);

/* Starts fn(arg) on a new thread that blocks every signal, so SIGINT
 * and SIGTERM still reach the thread that polls for them (the ticker,
 * the snapshot's pre-scan).  0 or -errno. */
int cli_progress_thread(pthread_t *t, void *(*fn)(void *), void *arg);

/* ---- rendering (for the unit tests) ------------------------------------ */
struct cli_progress_view {
	const char *phase, *unit;
	uint64_t bytes, bytes_total;
	uint64_t items, items_total;
	int firm;
	double elapsed;		/* since the verb began */
	double active;		/* the phase's running time */
	const char *item;	/* raw, may be NULL */
	size_t item_len;
};
/* The terminal line for v in at most width columns (no "\r", no escape
 * sequences).  0 or -ENOMEM. */
int cli_progress_render(const struct cli_progress_view *v, int width,
			struct buf *out);
/* Percent done of v (0..100), or -1 when no total is known. */
double cli_progress_percent(const struct cli_progress_view *v);
/* Seconds left, or -1 when unknown (totals not firm, no rate yet). */
double cli_progress_eta(const struct cli_progress_view *v);

#endif

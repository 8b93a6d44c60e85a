/*
 * cli: what every verb of the front end shares.  The engine (store/)
 * never prints; here is where its negative errno values and error
 * buffers become `vault: <verb>: <message>` lines and exit codes, where
 * passphrases are obtained, options are parsed with range checks, and
 * JSON / human-readable output is produced.
 */
#ifndef VAULT_CLI_H
#define VAULT_CLI_H

#include <getopt.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

struct cli_progress;
struct repo;
struct repo_snapinfo;

/* Exit codes (documented in vault(1)). */
enum {
	CLI_EXIT_OK = 0,
	CLI_EXIT_ERROR = 1,
	CLI_EXIT_USAGE = 2,
	CLI_EXIT_DAMAGE = 3,		/* damage found, or an incomplete snapshot */
	CLI_EXIT_STALE = 4,		/* vault status: a group's newest snapshot
					 * is older than --max-age, or there is
					 * none at all */
	CLI_EXIT_NO_REPO = 10,		/* no repository at the path */
	CLI_EXIT_LOCKED = 11,		/* the lock is held by another process */
	CLI_EXIT_PASSPHRASE = 12,	/* wrong passphrase */
};

/* State shared by main and the verb being run. */
struct cli {
	const char *verb;		/* "snapshot", ... (NULL before dispatch) */
	const char *usage;		/* the verb's --help text */
	const char *repo_opt;		/* --repo */
	char *repo_default;		/* resolved default (owned) */
	int lock_wait;			/* --lock-wait seconds */
	const char *pass_cmd;		/* --passphrase-command */
	struct buf pass_err;		/* why no passphrase could be had */
	struct buf readonly;		/* why cli_open opened read-only what
					 * was asked for writing ("" if not) */
	char optstr[64];		/* getopt short options incl. ":h" */
	/* Set by cli_open / cli_fail when the error has an exit code of its
	 * own (CLI_EXIT_NO_REPO, _LOCKED, _PASSPHRASE): main returns it in
	 * place of a verb's CLI_EXIT_ERROR, so scripts can tell them apart
	 * whichever path the verb took. */
	int exit_code;
	/* Set by the verbs that only read snapshots (mount, cat, diff):
	 * -EBADMSG there means a chunk or a file of the snapshot is damaged,
	 * which exits CLI_EXIT_DAMAGE as check does.  Elsewhere it can be a
	 * server's malformed answer, an ordinary error. */
	int ebadmsg_is_damage;
	/* --env-file of the verbs that take one, for the settings vault
	 * itself may read from it (VAULT_REPO, VAULT_PASSPHRASE_FILE) */
	const char *env_file;
	int helped;			/* the verb printed its --help */
	/* The run's line in the log file (--log-file / $VAULT_LOG_FILE,
	 * cli-log.c): opened before the verb runs, written when it ends. */
	int log_fd;			/* -1: no log file */
	char *log_path;			/* owned */
	int64_t log_start;		/* wall clock, unix seconds */
	double log_start_mono;		/* cli_now() */
	const char *log_result;		/* set by a verb whose exit code
					 * says less (e.g. "partial"), or NULL */
	char log_snapshot[65];		/* the snapshot written, or "" */
	uint64_t log_bytes_added;	/* its bytes_added */
	/* -q: -1; default 0; -v: 1, -vv: 2... (see cli_verbose) */
	int verbosity;
	int json_stream;	/* a long verb's --json: cli_json_stream */
	/* made by cli_progress_of once the verb's options are parsed */
	struct cli_progress *progress;
	int progress_made;
	double start;			/* cli_now() at cli_init */
};

void cli_init(struct cli *c);
void cli_release(struct cli *c);

/* ---- options ----------------------------------------------------------
 * Every verb accepts the global options too (so they may come before or
 * after the verb): end a verb's option table with CLI_GLOBAL_OPTIONS.
 */
enum {
	CLI_OPT_REPO = 0x1000,
	CLI_OPT_LOCK_WAIT,
	CLI_OPT_PASS_CMD,
	CLI_OPT_VERSION,
	CLI_OPT_LOG_FILE,
	CLI_OPT_FIRST_VERB = 0x1100,	/* verbs number their long-only options from here */
};
#define CLI_GLOBAL_OPTIONS \
	{ "repo", required_argument, NULL, CLI_OPT_REPO }, \
	{ "lock-wait", required_argument, NULL, CLI_OPT_LOCK_WAIT }, \
	{ "passphrase-command", required_argument, NULL, CLI_OPT_PASS_CMD }, \
	{ "log-file", required_argument, NULL, CLI_OPT_LOG_FILE }, \
	{ "quiet", no_argument, NULL, 'q' }, \
	{ "verbose", no_argument, NULL, 'v' }, \
	{ "help", no_argument, NULL, 'h' }, \
	{ NULL, 0, NULL, 0 }

/* Returned by cli_getopt besides the verb's own option values. */
enum {
	CLI_OPT_END = -1,	/* no more options; optind is the first operand */
	CLI_OPT_HELP = -2,	/* --help was printed: exit 0 */
	CLI_OPT_BAD = -3,	/* a usage error was printed: exit 2 */
};

/* getopt_long over a verb's argv (argv[0] is the verb), handling the
 * global options (-q and -v among them) and --help itself.  shortopts
 * lists the verb's own short options (may be ""; never q or v). */
int cli_getopt(struct cli *c, int argc, char **argv, const char *shortopts,
	       const struct option *longopts);
/* The whole option loop of a verb whose only own option is --json
 * (sets *json).  Returns CLI_OPT_END when the operands from optind are
 * to be handled, else the exit code to return at once: CLI_EXIT_OK after
 * --help, CLI_EXIT_USAGE after a usage error. */
int cli_getopt_json(struct cli *c, int argc, char **argv, int *json);
/* Applies one global option; 0 or -EINVAL (message printed). */
int cli_global_option(struct cli *c, int opt, const char *arg);

/*
 * -q and -v, the same on every verb (doc/vault.1, PROGRESS AND
 * VERBOSITY): -q shows no progress and no report of what was done, only
 * errors, warnings and what the verb was asked for (a listing, a diff,
 * a plan of --dry-run, a --json document); -v adds a line per unit of
 * work on standard error (a file stored or extracted, a table, a pack),
 * -vv more.  cli_quiet: -q was given; cli_verbose(c, n): at least n
 * -v were.
 */
int cli_quiet(const struct cli *c);
int cli_verbose(const struct cli *c, int n);
/*
 * --json on a long verb (snapshot, mount, cat, check, prune, restore,
 * rollback; doc/vault.1, PROGRESS AND VERBOSITY): besides the verb's
 * document on standard output, standard error becomes a stream of JSON
 * lines: status lines (not with -q), -v lines, errors, warnings, and a
 * summary line that main writes last.  Call it when the option is
 * parsed, before cli_progress_of.
 */
void cli_json_stream(struct cli *c);
/*
 * The verb's progress (cli-progress.h), made on first use from -q,
 * cli_json_stream and whether standard error is a terminal: call it
 * after the options are parsed.  NULL only when out of memory (every
 * cli_progress and cli_phase call takes NULL).
 */
struct cli_progress *cli_progress_of(struct cli *c);
/* The same, for a verb whose standard output may be the terminal the
 * line would go to (cat): no line then, only the --json stream. */
struct cli_progress *cli_progress_of_data(struct cli *c);

/* Range-checked number parsing: 0 or -EINVAL (no message). */
int cli_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);
int cli_parse_int(const char *s, int min, int max, int *out);
/* A duration as numbers each followed by a unit, s, m, h, d or w
 * ("30m", "26h", "1d12h"), into seconds (> 0, at most 100 years).
 * 0 or -EINVAL (no message). */
int cli_parse_duration(const char *s, int64_t *secs);

/* ---- messages and errors ---------------------------------------------- */
void cli_error(const struct cli *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void cli_warn(const struct cli *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* "vault: <verb>: note: ...": something the user should know that is
 * not a problem (where a setting came from). */
void cli_note(const struct cli *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Prints a usage error plus a hint to --help; returns CLI_EXIT_USAGE. */
int cli_usage_error(const struct cli *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/*
 * Reports an engine failure r (negative errno) and returns
 * CLI_EXIT_ERROR.  The engine's own message in err is preferred; the
 * context (printf-style, may be NULL) is used when err is empty, as
 * "<context>: <strerror>".  A wrong passphrase, a missing passphrase and
 * a busy lock get their dedicated wording.
 */
int cli_fail(struct cli *c, int r, const struct buf *err,
	     const char *context, ...)
	__attribute__((format(printf, 4, 5)));

/* ---- the log file (cli-log.c) ----------------------------------------------
 * One line per run of a verb, appended to the file named by --log-file or
 * $VAULT_LOG_FILE, for scheduled runs (doc/vault.1, LOG FILE):
 *   start=... end=... secs=... verb=... result=... exit=N
 *   [snapshot=ID bytes_added=N] [repo=DIR]
 * These never print: they return 0 or -errno and the caller says why.
 */
/* Opens path for appending (created 0600), replacing the file c had
 * open.  0 or -errno (c unchanged). */
int cli_log_open(struct cli *c, const char *path);
/* Appends the line of this run, which exits with ret, if a log file is
 * open and the verb did more than print its --help.  0 or -errno. */
int cli_log_finish(struct cli *c, int ret);

/* ---- the repository ------------------------------------------------------ */
/* --repo, else $VAULT_REPO, else $XDG_DATA_HOME/vault/repo, else
 * ~/.local/share/vault/repo.  NULL (message printed) if none can be
 * derived. */
const char *cli_repo_dir(struct cli *c);
/*
 * key (VAULT_REPO, VAULT_PASSPHRASE_FILE) from the env file: --env-file
 * when the verb was given one, else ./.env (saying so in a note).
 * Appends the value to out: 1 found, 0 not, <0 an error (printed).
 */
int cli_env_setting(struct cli *c, const char *key, struct buf *out);
/* How cli_open opens: 0 = read only, or these flags. */
#define CLI_OPEN_WRITE		1	/* take the writer lock */
#define CLI_OPEN_REBUILD	2	/* index.db may be missing (rebuild) */
#define CLI_OPEN_READONLY_OK	4	/* with WRITE: a repository this process
					 * cannot write (read-only, or its disk
					 * full) is opened read-only instead,
					 * nothing printed, c->readonly says why */
/* Opens the repository, printing any error.  0 or CLI_EXIT_ERROR. */
int cli_open(struct cli *c, struct repo **r, int how);
/* Resolves a snapshot spec (id, prefix, "latest"), printing any error.
 * 0 or CLI_EXIT_ERROR. */
int cli_resolve(struct cli *c, struct repo *r, const char *spec,
		char id[65]);
/* How many paths and objects snapshot s left out (the "partial" member
 * of its metadata, formats/snapshot.md): 0 for a whole snapshot. */
uint64_t cli_snap_skipped(const struct repo_snapinfo *s);

/* ---- passphrases -----------------------------------------------------------
 * Sources, in order: $VAULT_PASSPHRASE, the first line of
 * $VAULT_PASSPHRASE_FILE, the stdout of --passphrase-command, a prompt on
 * /dev/tty.  A new passphrase read from the terminal is asked twice.
 * The result is appended to pass (wipe it with buf_wipe).  0, or -ENOKEY
 * / -EINVAL / -EIO with the reason in c->pass_err.
 */
int cli_passphrase(struct cli *c, int is_new, struct buf *pass);
/* repo_pass_fn adapter; ctx is the struct cli. */
int cli_pass_cb(void *ctx, const char *why, struct buf *pass);
/* First line of a file (trailing "\n" / "\r\n" stripped). */
int cli_pass_from_file(struct cli *c, const char *path, struct buf *pass);
/* Prompts on /dev/tty without echo; twice (must match) when confirm. */
int cli_pass_prompt(struct cli *c, const char *prompt, int confirm,
		    struct buf *pass);

/* ---- output ------------------------------------------------------------- */
/* Writes all of p to fd, retrying on EINTR / short writes: 0 or -errno. */
int cli_write_all(int fd, const void *p, size_t n);

/* SIGINT and SIGTERM call handler (which sets a flag the library polls)
 * until cli_signals_restore(old); old[2] keeps the previous actions. */
void cli_signals_catch(struct sigaction old[2], void (*handler)(int));
void cli_signals_restore(const struct sigaction old[2]);
/* Appends s[0..n) to b as a JSON string (quotes included); control
 * characters are escaped and bytes that are not valid UTF-8 become
 * U+FFFD, so the output is always valid JSON. */
int cli_json_escape(struct buf *b, const char *s, size_t n);
/* Appends s[0..n) for a terminal: control characters, backslashes and
 * invalid UTF-8 are shown as C-style escapes (\n, \\, \xHH), so a
 * hostile file name cannot move the cursor or fake output lines. */
int cli_quote(struct buf *b, const char *s, size_t n);
/* "0 B", "999 B", "1.5 KiB", ... into out (>= 16 bytes). */
void cli_human_size(uint64_t n, char *out, size_t outsz);
/* Dedup-style ratio "a/b" as "12.34x", or "-" when b is 0. */
void cli_ratio(uint64_t a, uint64_t b, char *out, size_t outsz);
/* Seconds as "1.234s" / "2m03s" / "1h02m". */
void cli_human_duration(double secs, char *out, size_t outsz);
/* Monotonic clock in seconds. */
double cli_now(void);

/* ISO 8601 in UTC, "2024-05-01T12:00:00Z" (out >= 32 bytes). */
void cli_time_format(int64_t t, char *out, size_t outsz);
/* Accepts YYYY-MM-DD[(T| )HH:MM[:SS[.fff]]][Z|(+|-)HH[:]MM] or
 * @UNIXSECONDS; no zone means UTC.  0 or -EINVAL. */
int cli_time_parse(const char *s, int64_t *t);
/* Floor division of nanoseconds to seconds (correct before 1970). */
int64_t cli_ns_to_sec(int64_t ns);

/*
 * A minimal streaming JSON writer: values are appended to an internal
 * buffer which is flushed to stdout when it grows (so listing a million
 * entries does not hold them all).  key is NULL inside arrays and at the
 * top level.  Errors are sticky and reported by cli_json_finish.
 */
struct cli_json {
	struct buf out;
	int fd;				/* where it is flushed: 1 (stdout) */
	int depth;
	int err;
	unsigned char first[32];	/* per depth: no value written yet */
};
void cli_json_init(struct cli_json *j);
void cli_json_begin_object(struct cli_json *j, const char *key);
void cli_json_end_object(struct cli_json *j);
void cli_json_begin_array(struct cli_json *j, const char *key);
void cli_json_end_array(struct cli_json *j);
void cli_json_str(struct cli_json *j, const char *key, const char *s);
void cli_json_strn(struct cli_json *j, const char *key, const char *s,
		   size_t n);
void cli_json_u64(struct cli_json *j, const char *key, uint64_t v);
void cli_json_i64(struct cli_json *j, const char *key, int64_t v);
/* Non-finite values are written as null. */
void cli_json_double(struct cli_json *j, const char *key, double v);
void cli_json_bool(struct cli_json *j, const char *key, int v);
void cli_json_null(struct cli_json *j, const char *key);
/* A timestamp as its ISO 8601 string. */
void cli_json_time(struct cli_json *j, const char *key, int64_t t);
/* Writes what is buffered; 0 or -errno. */
int cli_json_flush(struct cli_json *j);
/* Adds a final newline, flushes, releases: 0 or -errno. */
int cli_json_finish(struct cli_json *j);
void cli_json_release(struct cli_json *j);

/* ---- snapshot entries --------------------------------------------------- */
/* "file", "dir", "symlink" ("unknown" otherwise). */
const char *cli_kind_name(uint8_t kind);
/* ls -l style "drwxr-xr-x" (out >= 11 bytes). */
void cli_mode_string(uint8_t kind, uint32_t mode, char *out, size_t outsz);
/* A path inside a snapshot as the user typed it: leading "/" and "./",
 * trailing "/" and repeated "/" are dropped ("" is the whole snapshot).
 * Returns a malloc'ed string or NULL (ENOMEM). */
char *cli_path_normalize(const char *s);
/* 1 when path is sel or lies in its subtree (sel "" selects all). */
int cli_path_within(const char *path, size_t len, const char *sel);

/* ---- verbs ------------------------------------------------------------- */
int cmd_init(struct cli *c, int argc, char **argv);
int cmd_snapshot(struct cli *c, int argc, char **argv);
int cmd_list(struct cli *c, int argc, char **argv);
int cmd_ls(struct cli *c, int argc, char **argv);
int cmd_cat(struct cli *c, int argc, char **argv);
int cmd_mount(struct cli *c, int argc, char **argv);
int cmd_diff(struct cli *c, int argc, char **argv);
int cmd_forget(struct cli *c, int argc, char **argv);
int cmd_prune(struct cli *c, int argc, char **argv);
int cmd_check(struct cli *c, int argc, char **argv);
int cmd_stats(struct cli *c, int argc, char **argv);
int cmd_key(struct cli *c, int argc, char **argv);
int cmd_config(struct cli *c, int argc, char **argv);
int cmd_restore(struct cli *c, int argc, char **argv);
int cmd_rollback(struct cli *c, int argc, char **argv);
int cmd_restores(struct cli *c, int argc, char **argv);
int cmd_report(struct cli *c, int argc, char **argv);
int cmd_status(struct cli *c, int argc, char **argv);

/* Usage texts, printed by --help and `vault help VERB`. */
extern const char cmd_init_usage[], cmd_snapshot_usage[], cmd_list_usage[],
	cmd_ls_usage[], cmd_cat_usage[], cmd_mount_usage[], cmd_diff_usage[],
	cmd_forget_usage[], cmd_prune_usage[], cmd_check_usage[],
	cmd_stats_usage[], cmd_key_usage[];
extern const char cmd_restore_usage[], cmd_rollback_usage[],
	cmd_restores_usage[], cmd_report_usage[], cmd_status_usage[],
	cmd_config_usage[];

#endif

/*
 * storefix: the fixture the store's unit tests share (test-repo,
 * test-writer, test-writer-stream, test-prune, test-check): one
 * temporary directory per test program holding its repositories,
 * deterministic content, writing a snapshot from a table of entries and
 * reading it back to compare.
 *
 * Every call fills storefix_err on failure (tests print or match it).
 * The fixture never reports test points itself: tap.h's counters are
 * the test program's.
 */
#ifndef VAULT_STOREFIX_H
#define VAULT_STOREFIX_H

#include <stddef.h>
#include <stdint.h>
#include "buf.h"
#include "manifest.h"
#include "repo.h"

/* The error buffer of the last call (the fixture's and the tests'). */
extern struct buf storefix_err;

/* Makes /tmp/vault-test-<name>-XXXXXX and cheap key derivation: 0, or
 * -1 with a diagnostic. */
int storefix_begin(const char *name);
/* Removes the directory (unless VAULT_TEST_KEEP is set) and frees
 * storefix_err.  The caller then returns done_testing(). */
void storefix_end(void);

/* "<directory>/<name>", in one of 8 rotating static buffers. */
const char *storefix_path(const char *name);
/* Passphrase callback: ctx is the passphrase, NULL for none. */
int storefix_pass(void *ctx, const char *why, struct buf *pass);
/* repo_open as "test-store": write bit 1 opens for writing, bit 2 to
 * rebuild the index; pass may be NULL. */
int storefix_open(struct repo **r, const char *dir, int write,
		  const char *pass);
/* Shrinks chunk sizes (general 4/16/64 KiB, rows 1/4/16 KiB) and the
 * pack target, so small data spans many chunks and packs. */
int storefix_config(const char *dir, uint64_t pack_target);
/* An unencrypted repository of tiny chunks (64/256/1024 bytes) and
 * 4 MiB packs, so a few MiB make tens of thousands of chunks. */
int storefix_tiny(const char *dir);

/* Deterministic content: n random bytes, or text lines when text. */
void storefix_gen(struct buf *b, size_t n, uint64_t seed, int text);

/* An entry to write and to expect back. */
struct storefix_ent {
	const char *path;
	int kind;
	struct buf *data;	/* files */
	const char *target;	/* symlinks */
	enum repo_chunking how;
	const char *attr;	/* "key=value" or NULL */
};

/* Writes e[0..n) (files in odd, growing pieces). */
int storefix_write_ents(struct repo_writer *w, const struct storefix_ent *e,
			size_t n);
/* A snapshot of e[0..n) by host "testhost", source "test", meta
 * {"k":1} and tag (may be NULL); t (may be NULL) gets its totals. */
int storefix_snapshot(struct repo *r, const struct storefix_ent *e, size_t n,
		      char id[65], struct repo_totals *t, const char *tag);
/* A repo_sink_fn appending to the struct buf ctx. */
int storefix_sink_buf(void *ctx, const void *p, size_t n);
/* Reads snapshot id back and compares it with e[0..n): the number of
 * mismatches, -1 when it cannot be opened. */
int storefix_verify(struct repo *r, const char *id,
		    const struct storefix_ent *e, size_t n);
/* Snapshots listed by the index. */
int storefix_nsnapshots(struct repo *r);
/* Regular files under dir, -1 on error. */
int storefix_count_files(const char *dir);

#endif

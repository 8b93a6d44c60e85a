/*
 * pg-dump: finding a pg_dump that can read the server, and running it
 * under an exported snapshot.
 *
 * pg_dump refuses servers newer than itself, so vault picks a pg_dump
 * whose major version is at least the server's: the one given
 * explicitly, or the newest among those on PATH and under
 * /usr/lib/postgresql/NN/bin (Debian's layout; the real binaries there
 * are preferred over Debian's pg_wrapper at equal versions, because the
 * wrapper may pick a different version at run time).
 *
 * The password never goes into argv nor into the child's environment
 * (/proc/PID/environ): it is written to a private passfile (mode 0600)
 * that PGPASSFILE names, removed as soon as pg_dump has connected (its
 * first output) and in any case when it ends.  A password from vault's
 * own PGPASSWORD goes the same way; without any, the user's ~/.pgpass or
 * PGPASSFILE keep working.
 * Called before worker threads start (it forks).
 */
#ifndef VAULT_PG_DUMP_H
#define VAULT_PG_DUMP_H

#include <stddef.h>
#include "buf.h"

struct pg_dump_tool {
	char *path;
	int version_num;	/* like server_version_num: 150020 */
	char version[32];	/* "15.20" */
};

void pg_dump_tool_release(struct pg_dump_tool *t);

/*
 * Picks the pg_dump to use for a server of version server_num (e.g.
 * 150004).  explicit (may be NULL) is the only candidate when given.
 * -ENOPKG when none is new enough: err names the server version, every
 * pg_dump found with its version, and the Debian package that provides
 * a matching one.
 */
int pg_dump_find(struct pg_dump_tool *t, const char *explicit, int server_num,
		 struct buf *err);

/* Reads `path --version`: 0 with *num and ver filled, -ENOEXEC when the
 * output is not pg_dump's, or a spawn error. */
int pg_dump_version(const char *path, int *num, char ver[32]);

typedef int (*pg_dump_out_fn)(void *ctx, const void *p, size_t n);

/*
 * Runs `pg_dump --schema-only --no-password --snapshot=SNAP [extra...]
 * --dbname=CONNINFO`, handing its standard output to out as it arrives.
 * conninfo must not contain the password (see pg_conn_info_child);
 * password ("" or NULL for none) reaches the child through a private
 * passfile only (see above).
 * An error from out stops pg_dump and is returned.  A failing pg_dump
 * gives -EIO with its exit status and the end of its stderr in err.
 */
int pg_dump_run(const struct pg_dump_tool *t, const char *conninfo,
		const char *password, const char *snapshot,
		const char *const *extra, size_t nextra,
		pg_dump_out_fn out, void *ctx, struct buf *err);

#endif

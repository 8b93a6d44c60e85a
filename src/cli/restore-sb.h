/*
 * restore-sb: `vault restore SNAP --only storage[,functions]` brings the
 * Storage and Edge Functions parts of a snapshot back into a Supabase
 * project, and `vault rollback --only storage[,functions]` undoes such a
 * restore from its safety snapshots and its restore log (the objects
 * and functions it created go).  cmd-restore.c and cmd-rollback.c hand
 * their argv over when --only names storage or functions; the engine is
 * src/supabase (storage-plan.h, restore-functions.h).
 *
 * The entry points parse their own options and print; they return a
 * CLI exit code.
 */
#ifndef VAULT_RESTORE_SB_H
#define VAULT_RESTORE_SB_H

#include "cli.h"

/* 1 when argv holds --only naming storage or functions (only those: the
 * database restore keeps everything else). */
int restore_sb_wanted(int argc, char **argv);

/* `vault restore SNAP --only storage[,functions] ...` */
int restore_sb_cmd(struct cli *c, int argc, char **argv);
/* `vault rollback --only storage[,functions] [--restore ID] [--yes]
 * [--dry-run]` */
int restore_sb_rollback(struct cli *c, int argc, char **argv);

#endif

/*
 * restore-storage: `vault restore SNAP --only storage[,functions]` brings
 * the Storage part of a snapshot (storage/, formats/storage-layout.md)
 * back into a Supabase project, and `vault rollback --only storage`
 * undoes such a restore from its safety snapshot.
 *
 *   merge   uploads missing and changed objects, deletes nothing;
 *   mirror  also deletes the remote objects the snapshot does not hold
 *           (within the selected buckets and paths), after capturing
 *           everything it deletes or overwrites into a safety snapshot;
 *   empty   refuses when a selected bucket already holds objects.
 *
 * Objects whose eTag and size already match are skipped; afterwards the
 * buckets are listed again and compared with the snapshot.  The restore
 * log (store/restores.h) is a document of kind "storage".  Functions
 * (functions/) are deployed by restore-functions.c.
 *
 * The entry points parse their own options and print; they return a
 * CLI exit code.
 */
#ifndef VAULT_RESTORE_STORAGE_H
#define VAULT_RESTORE_STORAGE_H

#include "cli.h"

/* 1 when argv holds --only naming storage or functions (only those: the
 * database restore keeps everything else). */
int restore_storage_wanted(int argc, char **argv);

/* `vault restore SNAP --only storage[,functions] ...` */
int restore_storage_cmd(struct cli *c, int argc, char **argv);
/* `vault rollback --only storage[,functions] [--restore ID] [--yes]
 * [--dry-run]`: functions via restore-functions.c */
int restore_storage_rollback(struct cli *c, int argc, char **argv);

#endif

/*
 * restores: the restore logs kept in a repository (restores/<id>.json),
 * one JSON document per `vault restore`, so `vault restores` can list
 * them and `vault rollback` can find the safety snapshot of the last
 * restore into a database.
 *
 * A log is stored as one blob (formats/blob.h, type BLOB_DATA) written
 * atomically: in an encrypted repository it is sealed with the data key
 * and bound to its file name (the AEAD additional data is the keyed
 * hash of "vault-restore-log\0" + id), so a log cannot be read without
 * the key nor renamed to pass for another one.  Layout:
 * formats/repository.md.  Nothing here prints.
 */
#ifndef VAULT_RESTORES_H
#define VAULT_RESTORES_H

#include <stddef.h>
#include <stdint.h>
#include "buf.h"

struct repo;

/*
 * A new id "YYYYMMDDTHHMMSSZ-NNNN" (UTC time now, then a decimal
 * sequence within that second) that sorts strictly after every log
 * already kept, so `vault restores` and `vault rollback` see restores in
 * creation order even when several start within one second or the clock
 * steps back (the id then keeps the newest log's second and bumps the
 * sequence).  The caller holds the writer lock, which makes the sequence
 * per repository.  id must hold REPO_RESTORE_ID_SIZE bytes.  0, or
 * -ERANGE when an existing (foreign) name sorts after any id this can
 * make, or an error from listing restores/, with err set.
 */
#define REPO_RESTORE_ID_SIZE 32
int repo_restore_new_id(struct repo *r, int64_t now, char *id,
			struct buf *err);

/* 1 when id is well formed ([0-9A-Za-z-], 1..31 bytes). */
int repo_restore_id_ok(const char *id);

/* Stores json[0..n) as restores/<id>.json (write, fsync, rename).
 * 0, -EINVAL (bad id), -ENOMEM or -errno with err set. */
int repo_restore_put(struct repo *r, const char *id, const void *json,
		     size_t n, struct buf *err);

/* Appends the document of restore id to out.  -ENOENT when there is no
 * such log, -EBADMSG / -EKEYREJECTED when it is damaged or tampered. */
int repo_restore_get(struct repo *r, const char *id, struct buf *out,
		     struct buf *err);

/* Calls cb for every log, oldest id first.  A non-zero cb return stops
 * and is returned; a log that cannot be read fails the listing. */
typedef int (*repo_restore_fn)(void *ctx, const char *id, const char *json,
			       size_t n);
int repo_restore_list(struct repo *r, repo_restore_fn cb, void *ctx,
		      struct buf *err);

#endif

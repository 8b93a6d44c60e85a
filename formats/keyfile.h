/*
 * keyfile: the key material of a repository, as stored in keys/
 * (spec: formats/keyfile.md).
 *
 *   "VAULTKEY" | le32 version (1) | u8 kdf | u8 reserved[3]
 *   le64 opslimit | le64 memlimit | 16-byte salt | 24-byte nonce
 *   sealed key material (96 bytes + 16-byte tag for kdf 1,
 *                        96 plain bytes for kdf 0)
 *   le64 XXH3-64 of every preceding byte
 *
 * kdf 0 = none (repository created with --encryption none: the id key and
 * chunker seed still need to be kept, they are simply not wrapped);
 * kdf 1 = Argon2id13 (crypto_pwhash) -> XChaCha20-Poly1305 wrap key, the
 * header bytes before the nonce are the AEAD additional data.
 */
#ifndef VAULT_KEYFILE_H
#define VAULT_KEYFILE_H

#include <stddef.h>
#include <stdint.h>
#include "buf.h"

#define KEYFILE_KDF_NONE	0
#define KEYFILE_KDF_ARGON2ID	1

/*
 * The encoder's Argon2id cost when the caller passes 0: borg 2's
 * parameters (3 passes over 64 MiB, RFC 9106's second recommended
 * choice; libsodium computes one lane where borg asks for four).  Key
 * files written before carry libsodium's "moderate" pair (3 passes,
 * 256 MiB) and keep it: the decoder uses the limits stored in the file.
 */
#define KEYFILE_DEFAULT_OPSLIMIT	3
#define KEYFILE_DEFAULT_MEMLIMIT	(64ull << 20)

/* Decoders refuse larger KDF limits (a hostile file must not be able to
 * ask for hours of CPU or unbounded memory); encoders refuse them too. */
#define KEYFILE_MAX_OPSLIMIT	32
#define KEYFILE_MAX_MEMLIMIT	(4ull << 30)

struct keyfile_keys {
	uint8_t enc_key[32];	/* blob encryption (XChaCha20-Poly1305) */
	uint8_t id_key[32];	/* keyed BLAKE2b-256 chunk ids */
	uint8_t gear_seed[32];	/* derives the FastCDC gear table */
};

/* Fills k with fresh random keys. */
void keyfile_generate(struct keyfile_keys *k);

/*
 * Appends the key file to out.  pass == NULL -> kdf none.  opslimit and
 * memlimit are crypto_pwhash limits (0 = KEYFILE_DEFAULT_*).
 * Returns 0, -ENOMEM, or -EIO if the KDF fails (out of memory in argon2).
 * -EINVAL when a limit is outside [crypto_pwhash_*_MIN, KEYFILE_MAX_*].
 */
int keyfile_encode(struct buf *out, const struct keyfile_keys *k,
		   const char *pass, size_t passlen,
		   uint64_t opslimit, uint64_t memlimit);

/* The kdf byte of an encoded file, or -EBADMSG. */
int keyfile_kdf(const void *p, size_t len);

/*
 * Unwraps.  Returns 0; -EBADMSG malformed/truncated/checksum; -ENOKEY
 * the file needs a passphrase and pass is NULL; -EKEYREJECTED wrong
 * passphrase (or tampered sealed bytes); -EIO kdf failure.
 */
int keyfile_decode(struct keyfile_keys *k, const void *p, size_t len,
		   const char *pass, size_t passlen);

#endif

/*
 * keyfile: encoder and decoder of a repository key file (layout in
 * keyfile.h, full spec in formats/keyfile.md).
 *
 * The XXH3 trailer is checked before anything else, so a damaged file
 * (including damaged KDF limits) is rejected as -EBADMSG without ever
 * running Argon2 on attacker-chosen parameters; the limits are further
 * capped so even a well-formed hostile file cannot ask for hours of CPU
 * or more than KEYFILE_MAX_MEMLIMIT of memory.
 */
#include <errno.h>
#include <string.h>
#include <sodium.h>
#include <xxhash.h>

#include "keyfile.h"

#define KEYFILE_MAGIC		"VAULTKEY"
#define KEYFILE_VERSION		1
#define KEYFILE_AD_SIZE		48	/* magic .. salt: the AEAD's AD */
#define KEYFILE_SALT_SIZE	16
#define KEYFILE_NONCE_SIZE	24
#define KEYFILE_KEYS_SIZE	96
#define KEYFILE_TAG_SIZE	16
#define KEYFILE_SUM_SIZE	8
#define KEYFILE_PLAIN_SIZE	(KEYFILE_AD_SIZE + KEYFILE_NONCE_SIZE + \
				 KEYFILE_KEYS_SIZE + KEYFILE_SUM_SIZE)
#define KEYFILE_SEALED_SIZE	(KEYFILE_PLAIN_SIZE + KEYFILE_TAG_SIZE)

/* The fields of a key file whose framing and checksum are good. */
struct keyfile_hdr {
	uint8_t kdf;
	uint64_t opslimit, memlimit;
	const uint8_t *ad;	/* KEYFILE_AD_SIZE bytes */
	const uint8_t *salt, *nonce, *sealed;
	size_t sealed_len;
};

static int keyfile_limits_ok(uint64_t ops, uint64_t mem)
{
	return ops >= crypto_pwhash_OPSLIMIT_MIN &&
	       ops <= KEYFILE_MAX_OPSLIMIT &&
	       mem >= crypto_pwhash_MEMLIMIT_MIN &&
	       mem <= KEYFILE_MAX_MEMLIMIT && mem <= SIZE_MAX;
}

static int keyfile_parse(struct keyfile_hdr *h, const void *p, size_t len)
{
	static const uint8_t zero[KEYFILE_NONCE_SIZE];
	const uint8_t *magic, *res;
	uint32_t version;
	uint64_t want;
	struct rd r;

	if (len != KEYFILE_PLAIN_SIZE && len != KEYFILE_SEALED_SIZE)
		return -EBADMSG;
	rd_init(&r, (const uint8_t *)p + len - KEYFILE_SUM_SIZE,
		KEYFILE_SUM_SIZE);
	rd_le64(&r, &want);
	if (XXH3_64bits(p, len - KEYFILE_SUM_SIZE) != want)
		return -EBADMSG;

	rd_init(&r, p, len - KEYFILE_SUM_SIZE);
	h->ad = p;
	/* the length check above makes every read below succeed */
	rd_raw(&r, &magic, 8);
	rd_le32(&r, &version);
	rd_u8(&r, &h->kdf);
	rd_raw(&r, &res, 3);
	rd_le64(&r, &h->opslimit);
	rd_le64(&r, &h->memlimit);
	rd_raw(&r, &h->salt, KEYFILE_SALT_SIZE);
	rd_raw(&r, &h->nonce, KEYFILE_NONCE_SIZE);
	h->sealed_len = rd_left(&r);
	rd_raw(&r, &h->sealed, h->sealed_len);

	if (memcmp(magic, KEYFILE_MAGIC, 8) != 0 ||
	    version != KEYFILE_VERSION || memcmp(res, zero, 3) != 0)
		return -EBADMSG;
	switch (h->kdf) {
	case KEYFILE_KDF_NONE:
		/* nothing to derive: every KDF field must be zero */
		if (len != KEYFILE_PLAIN_SIZE || h->opslimit || h->memlimit ||
		    memcmp(h->salt, zero, KEYFILE_SALT_SIZE) != 0 ||
		    memcmp(h->nonce, zero, KEYFILE_NONCE_SIZE) != 0)
			return -EBADMSG;
		return 0;
	case KEYFILE_KDF_ARGON2ID:
		if (len != KEYFILE_SEALED_SIZE ||
		    !keyfile_limits_ok(h->opslimit, h->memlimit))
			return -EBADMSG;
		return 0;
	default:
		return -EBADMSG;
	}
}

void keyfile_generate(struct keyfile_keys *k)
{
	/*
	 * sodium_init only fails without an entropy source, and then
	 * randombytes_buf aborts by itself rather than return weak bytes.
	 */
	if (sodium_init() < 0) {
		/* nothing useful to do: see above */
	}
	randombytes_buf(k->enc_key, sizeof(k->enc_key));
	randombytes_buf(k->id_key, sizeof(k->id_key));
	randombytes_buf(k->gear_seed, sizeof(k->gear_seed));
}

static void keyfile_pack_keys(uint8_t out[KEYFILE_KEYS_SIZE],
			      const struct keyfile_keys *k)
{
	memcpy(out, k->enc_key, 32);
	memcpy(out + 32, k->id_key, 32);
	memcpy(out + 64, k->gear_seed, 32);
}

static void keyfile_unpack_keys(struct keyfile_keys *k,
				const uint8_t in[KEYFILE_KEYS_SIZE])
{
	memcpy(k->enc_key, in, 32);
	memcpy(k->id_key, in + 32, 32);
	memcpy(k->gear_seed, in + 64, 32);
}

static int keyfile_derive(uint8_t key[32], const char *pass, size_t passlen,
			  const uint8_t *salt, uint64_t ops, uint64_t mem)
{
	if (crypto_pwhash(key, 32, pass, passlen, salt, ops, (size_t)mem,
			  crypto_pwhash_ALG_ARGON2ID13) != 0)
		return -EIO;
	return 0;
}

int keyfile_encode(struct buf *out, const struct keyfile_keys *k,
		   const char *pass, size_t passlen,
		   uint64_t opslimit, uint64_t memlimit)
{
	uint8_t plain[KEYFILE_KEYS_SIZE], wrap[32], *f;
	size_t start = out->len, total;
	int r;

	if (sodium_init() < 0)
		return -ENOMEM;
	if (pass) {
		if (!opslimit)
			opslimit = KEYFILE_DEFAULT_OPSLIMIT;
		if (!memlimit)
			memlimit = KEYFILE_DEFAULT_MEMLIMIT;
		if (!keyfile_limits_ok(opslimit, memlimit))
			return -EINVAL;
		total = KEYFILE_SEALED_SIZE;
	} else {
		opslimit = memlimit = 0;
		total = KEYFILE_PLAIN_SIZE;
	}
	r = buf_grow(out, total);
	if (r < 0)
		return r;
	f = out->data + start;
	memset(f, 0, total);
	memcpy(f, KEYFILE_MAGIC, 8);
	f[8] = KEYFILE_VERSION;
	f[12] = pass ? KEYFILE_KDF_ARGON2ID : KEYFILE_KDF_NONE;
	for (int i = 0; i < 8; i++) {
		f[16 + i] = (uint8_t)(opslimit >> (8 * i));
		f[24 + i] = (uint8_t)(memlimit >> (8 * i));
	}
	keyfile_pack_keys(plain, k);
	if (pass) {
		randombytes_buf(f + 32, KEYFILE_SALT_SIZE);
		randombytes_buf(f + KEYFILE_AD_SIZE, KEYFILE_NONCE_SIZE);
		r = keyfile_derive(wrap, pass, passlen, f + 32, opslimit,
				   memlimit);
		if (r == 0)
			crypto_aead_xchacha20poly1305_ietf_encrypt(
				f + KEYFILE_AD_SIZE + KEYFILE_NONCE_SIZE, NULL,
				plain, sizeof(plain), f, KEYFILE_AD_SIZE, NULL,
				f + KEYFILE_AD_SIZE, wrap);
		sodium_memzero(wrap, sizeof(wrap));
	} else {
		memcpy(f + KEYFILE_AD_SIZE + KEYFILE_NONCE_SIZE, plain,
		       sizeof(plain));
		r = 0;
	}
	sodium_memzero(plain, sizeof(plain));
	if (r < 0) {
		sodium_memzero(f, total);
		buf_setlen(out, start);
		return r;
	}
	{
		uint64_t sum = XXH3_64bits(f, total - KEYFILE_SUM_SIZE);

		for (int i = 0; i < 8; i++)
			f[total - KEYFILE_SUM_SIZE + i] =
				(uint8_t)(sum >> (8 * i));
	}
	buf_setlen(out, start + total);
	return 0;
}

int keyfile_kdf(const void *p, size_t len)
{
	struct keyfile_hdr h;
	int r = keyfile_parse(&h, p, len);

	return r < 0 ? r : h.kdf;
}

int keyfile_decode(struct keyfile_keys *k, const void *p, size_t len,
		   const char *pass, size_t passlen)
{
	uint8_t plain[KEYFILE_KEYS_SIZE], wrap[32];
	struct keyfile_hdr h;
	int r = keyfile_parse(&h, p, len);

	if (r < 0)
		return r;
	if (h.kdf == KEYFILE_KDF_NONE) {
		keyfile_unpack_keys(k, h.sealed);
		return 0;
	}
	if (!pass)
		return -ENOKEY;
	if (sodium_init() < 0)
		return -ENOMEM;
	r = keyfile_derive(wrap, pass, passlen, h.salt, h.opslimit,
			   h.memlimit);
	if (r == 0 && crypto_aead_xchacha20poly1305_ietf_decrypt(plain, NULL,
			NULL, h.sealed, h.sealed_len, h.ad, KEYFILE_AD_SIZE,
			h.nonce, wrap) != 0)
		r = -EKEYREJECTED;
	sodium_memzero(wrap, sizeof(wrap));
	if (r == 0)
		keyfile_unpack_keys(k, plain);
	sodium_memzero(plain, sizeof(plain));
	return r;
}

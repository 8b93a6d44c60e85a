/*
 * test-keyfile: key files with and without a passphrase.  Argon2 runs
 * with libsodium's MIN limits to stay fast (the default, 64 MiB, is
 * exercised once, encode only).  Every truncation and every bit flip
 * must be rejected by the checksum, before Argon2 runs; with a forged
 * checksum the AEAD or the limit bounds must still reject them.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sodium.h>
#include <xxhash.h>

#include "keyfile.h"
#include "../tap.h"

#define OPS_MIN crypto_pwhash_OPSLIMIT_MIN
#define MEM_MIN crypto_pwhash_MEMLIMIT_MIN

static const char pass[] = "correct horse battery staple";

static int same_keys(const struct keyfile_keys *a,
		     const struct keyfile_keys *b)
{
	return memcmp(a, b, sizeof(*a)) == 0;
}

static uint64_t le64_at(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

static void set_le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void fix_sum(uint8_t *p, size_t len)
{
	set_le64(p + len - 8, XXH3_64bits(p, len - 8));
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void test_round_trips(const struct keyfile_keys *k)
{
	struct buf f = BUF_INIT;
	struct keyfile_keys got;
	int r;

	/* no passphrase */
	is_int(keyfile_encode(&f, k, NULL, 0, 0, 0), 0, "encode, kdf none");
	is_int(f.len, 176, "kdf none file is 176 bytes");
	ok(!memcmp(f.data, "VAULTKEY", 8), "magic");
	is_int(keyfile_kdf(f.data, f.len), KEYFILE_KDF_NONE, "keyfile_kdf: 0");
	memset(&got, 0, sizeof(got));
	ok(keyfile_decode(&got, f.data, f.len, NULL, 0) == 0 &&
	   same_keys(k, &got), "decode, kdf none");
	memset(&got, 0, sizeof(got));
	ok(keyfile_decode(&got, f.data, f.len, "ignored", 7) == 0 &&
	   same_keys(k, &got), "a passphrase is ignored for kdf none");

	/* with a passphrase, the limits are stored and used */
	buf_reset(&f);
	r = keyfile_encode(&f, k, pass, strlen(pass), OPS_MIN, MEM_MIN);
	is_int(r, 0, "encode, argon2id with MIN limits");
	is_int(f.len, 192, "argon2id file is 192 bytes");
	is_int(keyfile_kdf(f.data, f.len), KEYFILE_KDF_ARGON2ID,
	       "keyfile_kdf: 1");
	ok(le64_at(f.data + 16) == OPS_MIN && le64_at(f.data + 24) == MEM_MIN,
	   "limits stored at offsets 16 and 24");
	memset(&got, 0, sizeof(got));
	ok(keyfile_decode(&got, f.data, f.len, pass, strlen(pass)) == 0 &&
	   same_keys(k, &got), "decode with the passphrase");
	is_int(keyfile_decode(&got, f.data, f.len, "wrong", 5), -EKEYREJECTED,
	       "wrong passphrase: -EKEYREJECTED");
	is_int(keyfile_decode(&got, f.data, f.len, pass, strlen(pass) - 1),
	       -EKEYREJECTED, "passphrase missing its last byte");
	is_int(keyfile_decode(&got, f.data, f.len, NULL, 0), -ENOKEY,
	       "no passphrase: -ENOKEY");

	buf_reset(&f);
	r = keyfile_encode(&f, k, pass, strlen(pass), OPS_MIN + 1, MEM_MIN * 4);
	ok(r == 0 && le64_at(f.data + 16) == OPS_MIN + 1 &&
	   le64_at(f.data + 24) == MEM_MIN * 4, "other limits stored");
	memset(&got, 0, sizeof(got));
	ok(keyfile_decode(&got, f.data, f.len, pass, strlen(pass)) == 0 &&
	   same_keys(k, &got), "decode uses the stored limits");

	buf_reset(&f);
	r = keyfile_encode(&f, k, "", 0, OPS_MIN, MEM_MIN);
	memset(&got, 0, sizeof(got));
	ok(r == 0 && keyfile_decode(&got, f.data, f.len, "", 0) == 0 &&
	   same_keys(k, &got), "an empty passphrase is still a passphrase");
	is_int(keyfile_decode(&got, f.data, f.len, NULL, 0), -ENOKEY,
	       "... and NULL is not the empty passphrase");

	/* two encodings differ (salt, nonce) */
	{
		uint8_t first[192];

		buf_reset(&f);
		keyfile_encode(&f, k, pass, strlen(pass), OPS_MIN, MEM_MIN);
		memcpy(first, f.data, sizeof(first));
		buf_reset(&f);
		keyfile_encode(&f, k, pass, strlen(pass), OPS_MIN, MEM_MIN);
		ok(memcmp(first + 32, f.data + 32, 40) != 0,
		   "fresh salt and nonce each time");
	}

	/* appending to a non-empty buffer */
	buf_reset(&f);
	buf_addstr(&f, "xy");
	r = keyfile_encode(&f, k, NULL, 0, 0, 0);
	ok(r == 0 && f.len == 178 && keyfile_kdf(f.data + 2, 176) == 0,
	   "encode appends");
	buf_release(&f);
}

static void test_limits(const struct keyfile_keys *k)
{
	struct buf f = BUF_INIT;
	struct keyfile_keys got;
	double t;
	int r;

	is_int(keyfile_encode(&f, k, pass, 1, KEYFILE_MAX_OPSLIMIT + 1,
			      MEM_MIN), -EINVAL, "opslimit over the max");
	is_int(keyfile_encode(&f, k, pass, 1, OPS_MIN, MEM_MIN - 1), -EINVAL,
	       "memlimit under the min");
	is_int(keyfile_encode(&f, k, pass, 1, OPS_MIN,
			      KEYFILE_MAX_MEMLIMIT + 1), -EINVAL,
	       "memlimit over the max");
	is_int(f.len, 0, "nothing written");

	/* a hostile file with a valid checksum but huge limits */
	keyfile_encode(&f, k, pass, strlen(pass), OPS_MIN, MEM_MIN);
	set_le64(f.data + 16, KEYFILE_MAX_OPSLIMIT + 1);
	fix_sum(f.data, f.len);
	is_int(keyfile_decode(&got, f.data, f.len, pass, strlen(pass)),
	       -EBADMSG, "stored opslimit over the max: -EBADMSG");
	set_le64(f.data + 16, OPS_MIN);
	set_le64(f.data + 24, KEYFILE_MAX_MEMLIMIT + 1);
	fix_sum(f.data, f.len);
	is_int(keyfile_decode(&got, f.data, f.len, pass, strlen(pass)),
	       -EBADMSG, "stored memlimit over the max: -EBADMSG");
	set_le64(f.data + 24, UINT64_MAX);
	fix_sum(f.data, f.len);
	is_int(keyfile_kdf(f.data, f.len), -EBADMSG,
	       "keyfile_kdf checks the limits too");
	set_le64(f.data + 24, 0);
	fix_sum(f.data, f.len);
	is_int(keyfile_decode(&got, f.data, f.len, pass, strlen(pass)),
	       -EBADMSG, "stored memlimit 0: -EBADMSG");
	/* a changed (but sane) limit derives another key */
	set_le64(f.data + 16, OPS_MIN + 1);
	set_le64(f.data + 24, MEM_MIN);
	fix_sum(f.data, f.len);
	is_int(keyfile_decode(&got, f.data, f.len, pass, strlen(pass)),
	       -EKEYREJECTED, "altered limits: -EKEYREJECTED");

	/* the default (0, 0) is borg 2's 3 passes over 64 MiB: encode
	 * once, time it */
	ok(KEYFILE_DEFAULT_OPSLIMIT == 3 &&
	   KEYFILE_DEFAULT_MEMLIMIT == 67108864, "defaults: 3 passes, 64 MiB");
	buf_reset(&f);
	t = now();
	r = keyfile_encode(&f, k, pass, strlen(pass), 0, 0);
	ok(r == 0 && le64_at(f.data + 16) == KEYFILE_DEFAULT_OPSLIMIT &&
	   le64_at(f.data + 24) == KEYFILE_DEFAULT_MEMLIMIT,
	   "0, 0 stores the default limits (%.2fs)", now() - t);
	buf_release(&f);
}

/* kdf none: the KDF fields must be zero */
static void test_kdf_none_fields(const struct keyfile_keys *k)
{
	static const size_t offs[] = { 13, 16, 24, 32, 48, 71 };
	struct buf f = BUF_INIT;
	struct keyfile_keys got;
	uint8_t p[176];

	keyfile_encode(&f, k, NULL, 0, 0, 0);
	for (size_t i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) {
		memcpy(p, f.data, sizeof(p));
		p[offs[i]] = 1;
		fix_sum(p, sizeof(p));
		is_int(keyfile_decode(&got, p, sizeof(p), NULL, 0), -EBADMSG,
		       "kdf none with byte %zu set: -EBADMSG", offs[i]);
	}
	memcpy(p, f.data, sizeof(p));
	p[12] = 2;
	fix_sum(p, sizeof(p));
	is_int(keyfile_decode(&got, p, sizeof(p), NULL, 0), -EBADMSG,
	       "unknown kdf 2: -EBADMSG");
	p[12] = 1;
	fix_sum(p, sizeof(p));
	is_int(keyfile_decode(&got, p, sizeof(p), pass, 1), -EBADMSG,
	       "kdf 1 with the kdf-none length: -EBADMSG");
	memcpy(p, f.data, sizeof(p));
	p[8] = 2;
	fix_sum(p, sizeof(p));
	is_int(keyfile_decode(&got, p, sizeof(p), NULL, 0), -EBADMSG,
	       "version 2: -EBADMSG");
	buf_release(&f);
}

static void damage(const char *what, const struct keyfile_keys *k,
		   const char *pw)
{
	struct buf f = BUF_INIT;
	struct keyfile_keys got;
	size_t pwlen = pw ? strlen(pw) : 0, bad = 0, forged_bad = 0;
	uint8_t *p, *q;
	double t;

	keyfile_encode(&f, k, pw, pwlen, OPS_MIN, MEM_MIN);
	p = malloc(f.len + 1);
	q = malloc(f.len);
	memcpy(p, f.data, f.len);

	for (size_t n = 0; n < f.len; n++)
		if (keyfile_decode(&got, p, n, pw, pwlen) != -EBADMSG ||
		    keyfile_kdf(p, n) != -EBADMSG)
			bad++;
	p[f.len] = 0;
	if (keyfile_decode(&got, p, f.len + 1, pw, pwlen) != -EBADMSG)
		bad++;
	is_int(bad, 0, "%s: all %zu truncations (and one extension) rejected",
	       what, f.len);

	/* plain flips: the checksum must reject them all, quickly */
	bad = 0;
	t = now();
	for (size_t bit = 0; bit < f.len * 8; bit++) {
		p[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		if (keyfile_decode(&got, p, f.len, pw, pwlen) != -EBADMSG)
			bad++;
		p[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	is_int(bad, 0, "%s: all %zu bit flips rejected by the checksum", what,
	       f.len * 8);
	ok(now() - t < 0.5, "%s: ... without running argon2 (%.3fs)", what,
	   now() - t);

	/*
	 * Forged checksum: every flip outside the limit fields (which would
	 * make argon2 ask for gigabytes; covered in test_limits) must still
	 * be rejected by the framing rules or the AEAD (kdf none: the
	 * header fields only).
	 */
	for (size_t bit = 0; bit < (f.len - 8) * 8; bit++) {
		int r;

		if (bit >= 16 * 8 && bit < 32 * 8)
			continue;
		/* kdf none keys are not sealed: nothing can vouch for them */
		if (!pw && bit >= 72 * 8)
			continue;
		memcpy(q, f.data, f.len);
		q[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		fix_sum(q, f.len);
		r = keyfile_decode(&got, q, f.len, pw, pwlen);
		if (r >= 0 || (r != -EBADMSG && r != -EKEYREJECTED))
			forged_bad++;
	}
	is_int(forged_bad, 0, "%s: every flip rejected with a forged checksum",
	       what);
	memset(&got, 0, sizeof(got));
	ok(keyfile_decode(&got, p, f.len, pw, pwlen) == 0 &&
	   same_keys(k, &got), "%s: undamaged sample still decodes", what);
	free(p);
	free(q);
	buf_release(&f);
}

int main(void)
{
	struct keyfile_keys k, k2;

	keyfile_generate(&k);
	keyfile_generate(&k2);
	ok(!same_keys(&k, &k2), "generate gives fresh keys");
	ok(memcmp(k.enc_key, k.id_key, 32) && memcmp(k.id_key, k.gear_seed, 32),
	   "the three keys differ");
	test_round_trips(&k);
	test_limits(&k);
	test_kdf_none_fields(&k);
	damage("kdf none", &k, NULL);
	damage("argon2id", &k, pass);
	return done_testing();
}

/*
 * fuzz-keyfile: keyfile_kdf and keyfile_decode (formats/keyfile.h) on a
 * key file from outside, as it is and with its XXH3 trailer made right.
 *
 * Argon2 runs only on files that ask for (nearly) the least work, so an
 * input cannot make one run take seconds and gigabytes; the decoder's
 * own caps (KEYFILE_MAX_*) are checked by reading the limits back.
 *
 * Invariants: keyfile_kdf and keyfile_decode agree (the same error, or
 * kdf none decodes without a passphrase, kdf argon2id asks for one);
 * an accepted file has limits within the caps; a kdf-none file
 * re-encodes to exactly its own bytes; a sealed one opens with the
 * harness passphrase only, and its keys survive encode -> decode under
 * the same passphrase and limits.
 */
#include <errno.h>
#include <sodium.h>

#include "keyfile.h"
#include "fuzz.h"

const char fuzz_name[] = "keyfile";

/* Field offsets of formats/keyfile.md. */
#define KF_OPSLIMIT	16
#define KF_MEMLIMIT	24
/* Above these the harness does not run Argon2 (the least is 1, 8 KiB). */
#define KF_CHEAP_OPS	2
#define KF_CHEAP_MEM	(64u << 10)

static uint64_t le64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static int keys_eq(const struct keyfile_keys *a, const struct keyfile_keys *b)
{
	return memcmp(a, b, sizeof(*a)) == 0;
}

static void check(const uint8_t *p, size_t n)
{
	struct keyfile_keys k, k2;
	struct buf re = BUF_INIT;
	uint64_t ops, mem;
	int kdf, r;

	kdf = keyfile_kdf(p, n);
	FUZZ_CHECK(kdf == KEYFILE_KDF_NONE || kdf == KEYFILE_KDF_ARGON2ID ||
		   kdf == -EBADMSG);
	r = keyfile_decode(&k, p, n, NULL, 0);
	if (kdf < 0) {
		FUZZ_CHECK(r == kdf);
		FUZZ_CHECK(keyfile_decode(&k, p, n, FUZZ_PASS,
					  strlen(FUZZ_PASS)) == kdf);
		return;
	}
	if (kdf == KEYFILE_KDF_NONE) {
		FUZZ_CHECK(r == 0);
		/* a passphrase changes nothing for an unwrapped file */
		FUZZ_CHECK(keyfile_decode(&k2, p, n, FUZZ_PASS,
					  strlen(FUZZ_PASS)) == 0);
		FUZZ_CHECK(keys_eq(&k, &k2));
		/* every other field is fixed: the same bytes again */
		FUZZ_CHECK(keyfile_encode(&re, &k, NULL, 0, 0, 0) == 0);
		FUZZ_CHECK(re.len == n && memcmp(re.data, p, n) == 0);
		buf_release(&re);
		return;
	}

	FUZZ_CHECK(r == -ENOKEY);
	ops = le64(p + KF_OPSLIMIT);
	mem = le64(p + KF_MEMLIMIT);
	FUZZ_CHECK(ops >= crypto_pwhash_OPSLIMIT_MIN &&
		   ops <= KEYFILE_MAX_OPSLIMIT &&
		   mem >= crypto_pwhash_MEMLIMIT_MIN &&
		   mem <= KEYFILE_MAX_MEMLIMIT);
	if (ops > KF_CHEAP_OPS || mem > KF_CHEAP_MEM)
		return;
	r = keyfile_decode(&k, p, n, FUZZ_PASS, strlen(FUZZ_PASS));
	FUZZ_CHECK(r == 0 || r == -EKEYREJECTED || r == -EIO);
	if (r != 0)
		return;
	FUZZ_CHECK(keyfile_decode(&k2, p, n, "wrong", 5) == -EKEYREJECTED);
	FUZZ_CHECK(keyfile_encode(&re, &k, FUZZ_PASS, strlen(FUZZ_PASS), ops,
				  mem) == 0);
	FUZZ_CHECK(re.len == n);
	FUZZ_CHECK(keyfile_kdf(re.data, re.len) == KEYFILE_KDF_ARGON2ID);
	FUZZ_CHECK(keyfile_decode(&k2, re.data, re.len, FUZZ_PASS,
				  strlen(FUZZ_PASS)) == 0);
	FUZZ_CHECK(keys_eq(&k, &k2));
	buf_release(&re);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *fixed;

	check(data, size);
	if (!fuzz_sum_ok(data, size) && (fixed = fuzz_with_sum(data, size))) {
		check(fixed, size);
		free(fixed);
	}
	return 0;
}

/*
 * xxh128sum: prints the XXH3-128 of standard input as canonical
 * (big-endian) lowercase hex, the form db/meta.json and the pg.xxh3
 * attributes use, for tests/cli/t10NN-db-*.sh (a helper, not a test;
 * Debian's xxhash package is not needed).
 */
#include <stdio.h>
#include <unistd.h>
#include <xxhash.h>

int main(void)
{
	XXH3_state_t *st = XXH3_createState();
	XXH128_canonical_t c;
	char chunk[65536];
	ssize_t n;

	if (!st || XXH3_128bits_reset(st) != XXH_OK)
		return 1;
	while ((n = read(0, chunk, sizeof(chunk))) > 0)
		XXH3_128bits_update(st, chunk, (size_t)n);
	if (n < 0)
		return 1;
	XXH128_canonicalFromHash(&c, XXH3_128bits_digest(st));
	XXH3_freeState(st);
	for (size_t i = 0; i < sizeof(c.digest); i++)
		printf("%02x", c.digest[i]);
	printf("  -\n");
	return 0;
}

/* keys.c — random block keys and constant-time comparison of secrets. */
#include "keys.h"

#include <errno.h>
#include <sys/random.h>

int smm_keys_next(struct smm_keys *k, uint64_t *key)
{
	if (k->left == 0) {
		size_t want = sizeof k->pool, got = 0;
		while (got < want) {
			ssize_t n = getrandom((char *)k->pool + got, want - got, 0);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				return -1;
			got += (size_t)n;
		}
		k->left = sizeof k->pool / sizeof k->pool[0];
	}
	*key = k->pool[--k->left];
	k->pool[k->left] = 0; /* a handed-out key is not kept twice */
	return 0;
}

int smm_keys_equal(uint64_t a, uint64_t b)
{
	volatile uint64_t diff = a ^ b;

	return diff == 0;
}

int smm_secret_equal(const char *a, size_t alen, const char *b, size_t blen)
{
	volatile unsigned char diff = alen != blen;

	/* Walk the expected secret's length whatever the guess's, so timing
	 * says nothing about how much of a guess was right. */
	for (size_t i = 0; i < blen; i++)
		diff |= (unsigned char)(b[i] ^ (i < alen ? a[i] : 0));
	return diff == 0;
}

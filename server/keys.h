/* keys.h — block keys: 64-bit secrets drawn from the OS's random source. */
#ifndef SMM_KEYS_H
#define SMM_KEYS_H

#include <stddef.h>
#include <stdint.h>

/* Keys come from getrandom(2) in batches, so a grant costs no syscall;
 * every bit of every key is still the kernel's. Zero-initialise. */
struct smm_keys {
	uint64_t pool[512];
	size_t left; /* unused keys at the end of pool */
};

/* smm_keys_next sets *key to a fresh key. Returns 0, or -1 when the OS
 * gave no randomness (nothing set). One owner thread. */
int smm_keys_next(struct smm_keys *k, uint64_t *key);

/* smm_keys_equal compares two keys in time independent of where they
 * differ. Returns 1 when equal. */
int smm_keys_equal(uint64_t a, uint64_t b);

/* smm_secret_equal compares a[0..alen) with b[0..blen) in time that
 * depends only on the lengths. Returns 1 when equal. */
int smm_secret_equal(const char *a, size_t alen, const char *b, size_t blen);

#endif

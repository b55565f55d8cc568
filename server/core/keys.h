/* keys.h — block keys: 64-bit secrets from a ChaCha20 generator seeded and
 * reseeded from the OS's random source. */
#ifndef SMM_KEYS_H
#define SMM_KEYS_H

#include <stddef.h>
#include <stdint.h>

/* Keys are ChaCha20 output in batches, so a grant costs neither a syscall
 * nor the kernel's copy: each batch of 8 blocks is made under a 256-bit
 * key whose first use came from getrandom(2); the batch's first 32 bytes
 * become the next key and the old one is erased (fast key erasure, as in
 * OpenBSD's arc4random), so a stolen state reveals no earlier key, and
 * every SMM_KEYS_RESEED batches the key is drawn from the kernel again.
 * Zero-initialise. */
#define SMM_KEYS_BLOCKS 8     /* ChaCha20 blocks per batch */
#define SMM_KEYS_BATCH 60     /* keys per batch: 512 bytes less the next key */
#define SMM_KEYS_RESEED 2048  /* batches (about 960 KiB of keys) per reseed */
struct smm_keys {
	uint32_t key[8];
	uint64_t pool[SMM_KEYS_BATCH];
	size_t left;      /* unused keys at pool[0..left) */
	unsigned batches; /* batches left before the next reseed; 0: seed now */
};

/* smm_keys_next sets *key to a fresh key. Returns 0, or -1 when the OS
 * gave no randomness (nothing set). One owner thread. */
int smm_keys_next(struct smm_keys *k, uint64_t *key);

/* smm_keys_chacha20 writes the SMM_KEYS_BLOCKS ChaCha20 blocks (RFC 8439)
 * for key, counters counter, counter+1, ... and nonce to out. Exposed for
 * its known-answer test. */
void smm_keys_chacha20(const uint32_t key[8], uint32_t counter, const uint32_t nonce[3],
		       uint8_t out[SMM_KEYS_BLOCKS * 64]);

/* smm_keys_equal compares two keys in time independent of where they
 * differ. Returns 1 when equal. */
int smm_keys_equal(uint64_t a, uint64_t b);

/* smm_secret_equal compares a[0..alen) with b[0..blen) in time that
 * depends only on the lengths. Returns 1 when equal. */
int smm_secret_equal(const char *a, size_t alen, const char *b, size_t blen);

#endif

/* keys.c — block keys from ChaCha20 with fast key erasure, and
 * constant-time comparison of secrets. */
#include "keys.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>

/* Eight lanes, one per block: the compiler uses the CPU's vector unit,
 * AVX2 where the CPU has it (checked on each call) and else two SSE2
 * halves. */
typedef uint32_t lanes __attribute__((vector_size(32)));

#define ROTL(v, n) (((v) << (n)) | ((v) >> (32 - (n))))
#define QUARTER(a, b, c, d)                     \
	do {                                    \
		a += b, d ^= a, d = ROTL(d, 16); \
		c += d, b ^= c, b = ROTL(b, 12); \
		a += b, d ^= a, d = ROTL(d, 8);  \
		c += d, b ^= c, b = ROTL(b, 7);  \
	} while (0)

static void store_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

/* chacha_body is smm_keys_chacha20, inlined into one copy per
 * instruction set. */
static inline __attribute__((always_inline)) void
chacha_body(const uint32_t key[8], uint32_t counter, const uint32_t nonce[3], uint8_t *out)
{
	const uint32_t in[16] = { 0x61707865, 0x3320646e, 0x79622d32, 0x6b206574,
				  key[0],     key[1],     key[2],     key[3],
				  key[4],     key[5],     key[6],     key[7],
				  counter,    nonce[0],   nonce[1],   nonce[2] };
	const lanes block = { 0, 1, 2, 3, 4, 5, 6, 7 };
	lanes s[16], x[16];
	uint32_t w[16][SMM_KEYS_BLOCKS];

	for (int i = 0; i < 16; i++)
		s[i] = x[i] = (lanes){ 0 } + in[i];
	s[12] = x[12] += block;
	for (int r = 0; r < 10; r++) {
		QUARTER(x[0], x[4], x[8], x[12]);
		QUARTER(x[1], x[5], x[9], x[13]);
		QUARTER(x[2], x[6], x[10], x[14]);
		QUARTER(x[3], x[7], x[11], x[15]);
		QUARTER(x[0], x[5], x[10], x[15]);
		QUARTER(x[1], x[6], x[11], x[12]);
		QUARTER(x[2], x[7], x[8], x[13]);
		QUARTER(x[3], x[4], x[9], x[14]);
	}
	for (int i = 0; i < 16; i++) {
		x[i] += s[i];
		memcpy(w[i], &x[i], sizeof w[i]);
	}
	for (int j = 0; j < SMM_KEYS_BLOCKS; j++)
		for (int i = 0; i < 16; i++)
			store_le32(out + 64 * j + 4 * i, w[i][j]);
	explicit_bzero(w, sizeof w);
}

#if defined(__x86_64__) || defined(__i386__)
__attribute__((target("avx2"))) static void
chacha_avx2(const uint32_t key[8], uint32_t counter, const uint32_t nonce[3], uint8_t *out)
{
	chacha_body(key, counter, nonce, out);
}
#endif

static void chacha_plain(const uint32_t key[8], uint32_t counter, const uint32_t nonce[3],
			 uint8_t *out)
{
	chacha_body(key, counter, nonce, out);
}

void smm_keys_chacha20(const uint32_t key[8], uint32_t counter, const uint32_t nonce[3],
		       uint8_t out[SMM_KEYS_BLOCKS * 64])
{
#if defined(__x86_64__) || defined(__i386__)
	if (__builtin_cpu_supports("avx2")) {
		chacha_avx2(key, counter, nonce, out);
		return;
	}
#endif
	chacha_plain(key, counter, nonce, out);
}

static int reseed(struct smm_keys *k)
{
	size_t want = sizeof k->key, got = 0;

	while (got < want) {
		ssize_t n = getrandom((char *)k->key + got, want - got, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		got += (size_t)n;
	}
	k->batches = SMM_KEYS_RESEED;
	return 0;
}

/* refill makes a batch: the next key, then SMM_KEYS_BATCH keys. */
static void refill(struct smm_keys *k)
{
	static const uint32_t nonce[3] = { 0, 0, 0 };
	uint8_t out[SMM_KEYS_BLOCKS * 64];

	smm_keys_chacha20(k->key, 0, nonce, out);
	memcpy(k->key, out, sizeof k->key);
	memcpy(k->pool, out + sizeof k->key, sizeof k->pool);
	explicit_bzero(out, sizeof out);
	k->left = SMM_KEYS_BATCH;
	k->batches--;
}

int smm_keys_next(struct smm_keys *k, uint64_t *key)
{
	if (k->left == 0) {
		if (k->batches == 0 && reseed(k) < 0)
			return -1;
		refill(k);
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

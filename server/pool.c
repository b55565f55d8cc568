/* pool.c — size classes of powers of two, one free list per class, per
 * thread. The cache must be thread-local rather than passed in: the
 * allocation hooks of libevent take no context argument. */
#include "pool.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MIN_SHIFT 5                 /* smallest class: 32 bytes */
#define CLASSES 12                  /* 32 B .. 64 KiB */
#define BIG CLASSES                 /* class of blocks that are not cached */
#define CACHE_BYTES (1u << 20)      /* most bytes one class keeps */

/* Precedes each block; 16 bytes, so what follows keeps malloc's alignment. */
struct hdr {
	uint32_t cls;
	size_t cap; /* bytes usable after the header */
} __attribute__((aligned(16)));

struct cache {
	struct hdr *free[CLASSES]; /* a cached block's first word links the next */
	size_t count[CLASSES];
};

static __thread struct cache cache;

static unsigned class_of(size_t total)
{
	unsigned cls = 0;

	while (cls < CLASSES && ((size_t)1 << (cls + MIN_SHIFT)) < total)
		cls++;
	return cls;
}

static struct hdr **link_of(struct hdr *h)
{
	return (struct hdr **)(h + 1);
}

void *smm_pool_malloc(size_t n)
{
	size_t total = sizeof(struct hdr) + (n ? n : 1);
	unsigned cls = total < n ? BIG : class_of(total);
	struct hdr *h;

	if (total < n)
		return NULL;
	if (cls < CLASSES && (h = cache.free[cls])) {
		cache.free[cls] = *link_of(h);
		cache.count[cls]--;
		return h + 1;
	}
	if (cls < CLASSES)
		total = (size_t)1 << (cls + MIN_SHIFT);
	h = malloc(total);
	if (!h)
		return NULL;
	h->cls = cls;
	h->cap = total - sizeof *h;
	return h + 1;
}

void smm_pool_free(void *p)
{
	struct hdr *h;
	unsigned cls;

	if (!p)
		return;
	h = (struct hdr *)p - 1;
	cls = h->cls;
	if (cls >= CLASSES || (cache.count[cls] + 1) << (cls + MIN_SHIFT) > CACHE_BYTES) {
		free(h);
		return;
	}
	*link_of(h) = cache.free[cls];
	cache.free[cls] = h;
	cache.count[cls]++;
}

void *smm_pool_realloc(void *p, size_t n)
{
	struct hdr *h;
	void *q;

	if (!p)
		return smm_pool_malloc(n);
	h = (struct hdr *)p - 1;
	if (n <= h->cap)
		return p;
	q = smm_pool_malloc(n);
	if (!q)
		return NULL;
	memcpy(q, p, h->cap);
	smm_pool_free(p);
	return q;
}

void smm_pool_drain(void)
{
	for (unsigned cls = 0; cls < CLASSES; cls++) {
		while (cache.free[cls]) {
			struct hdr *h = cache.free[cls];
			cache.free[cls] = *link_of(h);
			free(h);
		}
		cache.count[cls] = 0;
	}
}

/* bigmem.h — heap memory for the allocator core's large tables, backed by
 * transparent huge pages where the kernel allows: a table of millions of
 * entries probed at random then costs a cache miss per probe, not a cache
 * miss and a page-table walk. */
#ifndef SMM_BIGMEM_H
#define SMM_BIGMEM_H

#include <stddef.h>

/* Tables this big or bigger ask for huge pages. */
#define SMM_BIGMEM_HUGE ((size_t)2 << 20)

/* smm_bigmem_alloc returns n bytes (n >= 1), zeroed when zero is nonzero,
 * or NULL when memory ran out. From SMM_BIGMEM_HUGE up the block starts on
 * a huge-page boundary and is advised for huge pages. The caller owns it
 * and releases it with free(). Any thread. */
void *smm_bigmem_alloc(size_t n, int zero);

/* A list of equal pages that grows a page at a time, pages never moving:
 * the first 8 MiB of pages are malloc'd one by one (a small table stays
 * small, and a slab's unused tail is small beside the rest), the rest
 * carved from huge-page slabs. Zero-initialise and set size (bytes per
 * page, at most SMM_BIGMEM_HUGE) before the first add. One owner thread. */
struct smm_bigmem_pages {
	char **page; /* page[0..n) */
	size_t n;
	size_t size;
};

/* smm_bigmem_pages_add appends page n. Returns 0, or -1 when memory ran
 * out (pages unchanged). */
int smm_bigmem_pages_add(struct smm_bigmem_pages *p);

/* smm_bigmem_pages_free releases every page; p is empty, size kept. */
void smm_bigmem_pages_free(struct smm_bigmem_pages *p);

/* smm_bigmem_pages_bytes returns the heap p holds, slabs counted whole. */
size_t smm_bigmem_pages_bytes(const struct smm_bigmem_pages *p);

#endif

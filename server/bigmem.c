/* bigmem.c — large tables on transparent huge pages. */
#include "bigmem.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

void *smm_bigmem_alloc(size_t n, int zero)
{
	size_t whole = (n + SMM_BIGMEM_HUGE - 1) & ~(SMM_BIGMEM_HUGE - 1);
	void *m;

	if (n < SMM_BIGMEM_HUGE)
		return zero ? calloc(1, n) : malloc(n);
	m = aligned_alloc(SMM_BIGMEM_HUGE, whole);
	if (!m)
		return NULL;
	/* Advice only: without it the pages are ordinary ones. */
	madvise(m, whole, MADV_HUGEPAGE);
	if (zero)
		memset(m, 0, n);
	return m;
}

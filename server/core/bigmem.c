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

/* Pages below solo_of are malloc'd alone; from there on, slabs of
 * per_slab. A slab is counted whole once it is used, so slabs start only
 * when the last one's unused tail costs at most a quarter of the pages. */
#define SOLO_BYTES (4 * SMM_BIGMEM_HUGE)

static size_t per_slab(const struct smm_bigmem_pages *p)
{
	return SMM_BIGMEM_HUGE / p->size;
}

static size_t solo_of(const struct smm_bigmem_pages *p)
{
	return SOLO_BYTES / p->size;
}

int smm_bigmem_pages_add(struct smm_bigmem_pages *p)
{
	size_t solo = solo_of(p), k = p->n;
	char **page = realloc(p->page, (k + 1) * sizeof *page);

	if (!page)
		return -1;
	p->page = page;
	if (k < solo)
		page[k] = malloc(p->size);
	else if ((k - solo) % per_slab(p) == 0)
		page[k] = smm_bigmem_alloc(SMM_BIGMEM_HUGE, 0);
	else
		page[k] = page[k - 1] + p->size;
	if (!page[k])
		return -1;
	p->n++;
	return 0;
}

void smm_bigmem_pages_free(struct smm_bigmem_pages *p)
{
	size_t solo = solo_of(p);

	for (size_t i = 0; i < p->n && i < solo; i++)
		free(p->page[i]);
	for (size_t i = solo; i < p->n; i += per_slab(p))
		free(p->page[i]);
	free(p->page);
	p->page = NULL;
	p->n = 0;
}

size_t smm_bigmem_pages_bytes(const struct smm_bigmem_pages *p)
{
	size_t solo = solo_of(p), each = per_slab(p);
	size_t slabs = p->n > solo ? (p->n - solo + each - 1) / each : 0;

	return (p->n < solo ? p->n : solo) * p->size + slabs * SMM_BIGMEM_HUGE +
	       p->n * sizeof *p->page;
}

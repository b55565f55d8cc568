/* policy_first_fit.c — the lowest-addressed free extent that fits.
 *
 * Free extents sit in an address-ordered treap whose nodes know their
 * subtree's largest usable extent, so the search skips every subtree that
 * cannot fit: O(log n) in the free extents, like Linux vmalloc. */
#include "policy.h"

#include <stdlib.h>

#include "extents.h"

struct smm_policy {
	struct smm_extents *free;
};

static struct smm_policy *first_fit_create(uint64_t size, uint64_t align)
{
	struct smm_policy *p = calloc(1, sizeof *p);

	if (p && !(p->free = smm_extents_new(size, align, 0))) {
		free(p);
		p = NULL;
	}
	return p;
}

static void first_fit_destroy(struct smm_policy *p)
{
	if (p)
		smm_extents_destroy(p->free);
	free(p);
}

static int first_fit_alloc(struct smm_policy *p, uint64_t size, uint64_t *addr, uint64_t *granted)
{
	if (smm_extents_take(p->free, size, size, 0, addr) < 0)
		return -1;
	*granted = size;
	return 0;
}

static void first_fit_release(struct smm_policy *p, uint64_t addr, uint64_t granted)
{
	smm_extents_give(p->free, addr, granted);
}

static void first_fit_reset(struct smm_policy *p)
{
	smm_extents_reset(p->free);
}

static uint64_t first_fit_largest_free(const struct smm_policy *p)
{
	return smm_extents_largest(p->free);
}

static uint64_t first_fit_free_extents(const struct smm_policy *p)
{
	return smm_extents_count(p->free);
}

static size_t first_fit_metadata_bytes(const struct smm_policy *p)
{
	return sizeof *p + smm_extents_bytes(p->free);
}

const struct smm_policy_ops smm_policy_first_fit = {
	.name = "first-fit",
	.create = first_fit_create,
	.destroy = first_fit_destroy,
	.alloc = first_fit_alloc,
	.release = first_fit_release,
	.reset = first_fit_reset,
	.largest_free = first_fit_largest_free,
	.free_extents = first_fit_free_extents,
	.metadata_bytes = first_fit_metadata_bytes,
};

/* policy_worst_fit.c — the largest free extent, the lowest address
 * among equals.
 *
 * The address-ordered treap's root knows the largest usable extent; a
 * first-fit descent for exactly that size finds the lowest one: O(log n). */
#include "policy.h"

#include <stdlib.h>

#include "extents.h"

struct smm_policy {
	struct smm_extents *free;
};

static struct smm_policy *worst_fit_create(uint64_t size, uint64_t align)
{
	struct smm_policy *p = calloc(1, sizeof *p);

	if (p && !(p->free = smm_extents_new(size, align, 0))) {
		free(p);
		p = NULL;
	}
	return p;
}

static void worst_fit_destroy(struct smm_policy *p)
{
	if (p)
		smm_extents_destroy(p->free);
	free(p);
}

static int worst_fit_alloc(struct smm_policy *p, uint64_t size, uint64_t *addr, uint64_t *granted)
{
	uint64_t largest = smm_extents_largest(p->free);

	if (largest < size || smm_extents_take(p->free, largest, size, 0, addr) < 0)
		return -1;
	*granted = size;
	return 0;
}

static void worst_fit_release(struct smm_policy *p, uint64_t addr, uint64_t granted)
{
	smm_extents_give(p->free, addr, granted);
}

static void worst_fit_reset(struct smm_policy *p)
{
	smm_extents_reset(p->free);
}

static uint64_t worst_fit_largest_free(const struct smm_policy *p)
{
	return smm_extents_largest(p->free);
}

static uint64_t worst_fit_free_extents(const struct smm_policy *p)
{
	return smm_extents_count(p->free);
}

static size_t worst_fit_metadata_bytes(const struct smm_policy *p)
{
	return sizeof *p + smm_extents_bytes(p->free);
}

const struct smm_policy_ops smm_policy_worst_fit = {
	.name = "worst-fit",
	.create = worst_fit_create,
	.destroy = worst_fit_destroy,
	.alloc = worst_fit_alloc,
	.release = worst_fit_release,
	.reset = worst_fit_reset,
	.largest_free = worst_fit_largest_free,
	.free_extents = worst_fit_free_extents,
	.metadata_bytes = worst_fit_metadata_bytes,
};

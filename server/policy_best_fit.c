/* policy_best_fit.c — the smallest free extent that fits, the lowest
 * address among equals.
 *
 * Free extents are indexed twice, by address (to merge a freed block with
 * its neighbours) and by (usable size, address) (to find the best fit in
 * one descent), like OpenZFS metaslab's two trees: O(log n). */
#include "policy.h"

#include <stdlib.h>

#include "extents.h"

struct smm_policy {
	struct smm_extents *free;
};

static struct smm_policy *best_fit_create(uint64_t size, uint64_t align)
{
	struct smm_policy *p = calloc(1, sizeof *p);

	if (p && !(p->free = smm_extents_new(size, align, 1))) {
		free(p);
		p = NULL;
	}
	return p;
}

static void best_fit_destroy(struct smm_policy *p)
{
	if (p)
		smm_extents_destroy(p->free);
	free(p);
}

static int best_fit_alloc(struct smm_policy *p, uint64_t size, uint64_t *addr, uint64_t *granted)
{
	uint64_t start, fit;

	if (smm_extents_best(p->free, size, &start, &fit) < 0 ||
	    smm_extents_take(p->free, fit, size, start, addr) < 0)
		return -1;
	*granted = size;
	return 0;
}

static void best_fit_release(struct smm_policy *p, uint64_t addr, uint64_t granted)
{
	smm_extents_give(p->free, addr, granted);
}

static void best_fit_reset(struct smm_policy *p)
{
	smm_extents_reset(p->free);
}

static uint64_t best_fit_largest_free(const struct smm_policy *p)
{
	return smm_extents_largest(p->free);
}

static uint64_t best_fit_free_extents(const struct smm_policy *p)
{
	return smm_extents_count(p->free);
}

static size_t best_fit_metadata_bytes(const struct smm_policy *p)
{
	return sizeof *p + smm_extents_bytes(p->free);
}

const struct smm_policy_ops smm_policy_best_fit = {
	.name = "best-fit",
	.create = best_fit_create,
	.destroy = best_fit_destroy,
	.alloc = best_fit_alloc,
	.release = best_fit_release,
	.reset = best_fit_reset,
	.largest_free = best_fit_largest_free,
	.free_extents = best_fit_free_extents,
	.metadata_bytes = best_fit_metadata_bytes,
};

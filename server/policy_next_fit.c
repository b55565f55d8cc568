/* policy_next_fit.c — first fit from a rotor: the search starts at the
 * end of the last grant, takes the lowest-addressed extent starting there
 * or later that fits, and wraps to the arena's start when none does.
 *
 * The rotor is an address, not a position in a list: the search is a
 * first-fit descent bounded below by it, O(log n), never a walk. A free
 * extent that begins before the rotor (it grew downwards when a block
 * below it was freed) is reached only after the wrap. */
#include "policy.h"

#include <stdlib.h>

#include "extents.h"

struct smm_policy {
	struct smm_extents *free;
	uint64_t rotor; /* where the next search starts */
};

static struct smm_policy *next_fit_create(uint64_t size, uint64_t align)
{
	struct smm_policy *p = calloc(1, sizeof *p);

	if (p && !(p->free = smm_extents_new(size, align, 0))) {
		free(p);
		p = NULL;
	}
	return p;
}

static void next_fit_destroy(struct smm_policy *p)
{
	if (p)
		smm_extents_destroy(p->free);
	free(p);
}

static int next_fit_alloc(struct smm_policy *p, uint64_t size, uint64_t *addr, uint64_t *granted)
{
	if (smm_extents_take(p->free, size, size, p->rotor, addr) < 0 &&
	    smm_extents_take(p->free, size, size, 0, addr) < 0)
		return -1;
	*granted = size;
	p->rotor = *addr + size;
	return 0;
}

static void next_fit_release(struct smm_policy *p, uint64_t addr, uint64_t granted)
{
	smm_extents_give(p->free, addr, granted);
}

static void next_fit_reset(struct smm_policy *p)
{
	smm_extents_reset(p->free);
	p->rotor = 0;
}

static uint64_t next_fit_largest_free(const struct smm_policy *p)
{
	return smm_extents_largest(p->free);
}

static uint64_t next_fit_free_extents(const struct smm_policy *p)
{
	return smm_extents_count(p->free);
}

static size_t next_fit_metadata_bytes(const struct smm_policy *p)
{
	return sizeof *p + smm_extents_bytes(p->free);
}

const struct smm_policy_ops smm_policy_next_fit = {
	.name = "next-fit",
	.create = next_fit_create,
	.destroy = next_fit_destroy,
	.alloc = next_fit_alloc,
	.release = next_fit_release,
	.reset = next_fit_reset,
	.largest_free = next_fit_largest_free,
	.free_extents = next_fit_free_extents,
	.metadata_bytes = next_fit_metadata_bytes,
};

/* policy_fit.c — the four exact-fit policies: first-fit, next-fit,
 * best-fit and worst-fit. They share one set of free extents (extents.h:
 * split exactly, merged with free neighbours at once) and differ only in
 * where malloc looks:
 *
 * - first-fit: the lowest-addressed extent that fits. The address-ordered
 *   treap's nodes know their subtree's largest usable extent, so the
 *   search skips every subtree that cannot fit: O(log n), like Linux
 *   vmalloc.
 * - next-fit: first fit from a rotor (the end of the last grant), wrapping
 *   to the arena's start when nothing at or after it fits. The rotor is an
 *   address, not a position in a list: a bounded first-fit descent, never
 *   a walk. An extent that begins before the rotor (it grew downwards when
 *   a block below it was freed) is reached only after the wrap.
 * - best-fit: the smallest extent that fits, lowest address among equals,
 *   from a second index by (usable size, address) beside the address tree,
 *   as OpenZFS metaslab keeps two trees (extents.c splits it into small
 *   trees per size class): O(log n).
 * - worst-fit: the largest extent, lowest address among equals: the root
 *   knows the largest size, and a first-fit descent for exactly that size
 *   finds the lowest one: O(log n). */
#include "policy.h"

#include <stdlib.h>

#include "extents.h"

struct smm_policy {
	struct smm_extents *free;
	uint64_t rotor; /* next-fit: where the next search starts */
};

static struct smm_policy *fit_create(uint64_t size, uint64_t align, int by_size)
{
	struct smm_policy *p = calloc(1, sizeof *p);

	if (p && !(p->free = smm_extents_new(size, align, by_size))) {
		free(p);
		p = NULL;
	}
	return p;
}

static struct smm_policy *address_create(uint64_t size, uint64_t align)
{
	return fit_create(size, align, 0);
}

static struct smm_policy *best_fit_create(uint64_t size, uint64_t align)
{
	return fit_create(size, align, 1);
}

static void fit_destroy(struct smm_policy *p)
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

static int next_fit_alloc(struct smm_policy *p, uint64_t size, uint64_t *addr, uint64_t *granted)
{
	if (smm_extents_take(p->free, size, size, p->rotor, addr) < 0 &&
	    smm_extents_take(p->free, size, size, 0, addr) < 0)
		return -1;
	*granted = size;
	p->rotor = *addr + size;
	return 0;
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

static int worst_fit_alloc(struct smm_policy *p, uint64_t size, uint64_t *addr, uint64_t *granted)
{
	uint64_t largest = smm_extents_largest(p->free);

	if (largest < size || smm_extents_take(p->free, largest, size, 0, addr) < 0)
		return -1;
	*granted = size;
	return 0;
}

/* fit_claim carves the block at addr, and moves next-fit's rotor past it
 * as its alloc does, so that next-fit goes on from the claimed grant. */
static int fit_claim(struct smm_policy *p, uint64_t addr, uint64_t size, uint64_t hole,
		     uint64_t *granted)
{
	(void)hole;
	if (smm_extents_claim(p->free, addr, size) < 0)
		return -1;
	p->rotor = addr + size;
	*granted = size;
	return 0;
}

static void fit_release(struct smm_policy *p, uint64_t addr, uint64_t granted)
{
	smm_extents_give(p->free, addr, granted);
}

static void fit_reset(struct smm_policy *p)
{
	smm_extents_reset(p->free);
	p->rotor = 0;
}

static uint64_t fit_largest_free(const struct smm_policy *p)
{
	return smm_extents_largest(p->free);
}

static uint64_t fit_free_extents(const struct smm_policy *p)
{
	return smm_extents_count(p->free);
}

static size_t fit_metadata_bytes(const struct smm_policy *p)
{
	return sizeof *p + smm_extents_bytes(p->free);
}

#define FIT_POLICY(var, policy_name, create_fn, alloc_fn)                        \
	const struct smm_policy_ops var = {                                      \
		.name = policy_name, .create = create_fn, .destroy = fit_destroy, \
		.alloc = alloc_fn, .claim = fit_claim, .release = fit_release,   \
		.reset = fit_reset,                                               \
		.largest_free = fit_largest_free,                                 \
		.free_extents = fit_free_extents,                                 \
		.metadata_bytes = fit_metadata_bytes,                             \
	}

FIT_POLICY(smm_policy_first_fit, "first-fit", address_create, first_fit_alloc);
FIT_POLICY(smm_policy_next_fit, "next-fit", address_create, next_fit_alloc);
FIT_POLICY(smm_policy_best_fit, "best-fit", best_fit_create, best_fit_alloc);
FIT_POLICY(smm_policy_worst_fit, "worst-fit", address_create, worst_fit_alloc);

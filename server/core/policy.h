/* policy.h — the placement-policy interface: where in the arena a request
 * of n bytes goes. A policy manages address space only; the arena keeps the
 * bytes, the block table and the keys. Policies are plain data structures:
 * no threads, no I/O, and their metadata lives outside the arena. */
#ifndef SMM_POLICY_H
#define SMM_POLICY_H

#include <stddef.h>
#include <stdint.h>

struct smm_policy; /* one policy's state, opaque */

struct smm_policy_ops {
	const char *name; /* as given to --policy and shown by stats */

	/* create returns state managing [0, size) with every grant starting
	 * at a multiple of align (a power of two, >= 1), or NULL when memory
	 * ran out. The caller owns the state; destroy releases it. */
	struct smm_policy *(*create)(uint64_t size, uint64_t align);
	void (*destroy)(struct smm_policy *p);

	/* alloc finds room for size (>= 1) bytes. Returns 0 and sets *addr and
	 * *granted (the bytes now owned by the block, >= size: buddy rounds
	 * up), or -1 when no room is left; the state is unchanged on -1. */
	int (*alloc)(struct smm_policy *p, uint64_t size, uint64_t *addr, uint64_t *granted);

	/* claim grants the block alloc would grant for size bytes, but at
	 * addr: it carves exactly that block out of the free space holding it,
	 * whatever the policy's own order would choose, so that replay
	 * (aofrec.h) rebuilds blocks at their logged addresses. hole is where
	 * the run of free bytes holding addr ends (the start of the live block
	 * above, or the arena's size): the arena knows it from its block table,
	 * and a policy whose free extents are maximal finds its extent by it. Returns 0
	 * and sets *granted, or -1 when that block is not free or memory ran
	 * out; the state is unchanged on -1. */
	int (*claim)(struct smm_policy *p, uint64_t addr, uint64_t size, uint64_t hole,
		     uint64_t *granted);

	/* release gives back a block that alloc granted as (addr, granted). */
	void (*release)(struct smm_policy *p, uint64_t addr, uint64_t granted);

	/* reset forgets every block: the whole arena is free again. */
	void (*reset)(struct smm_policy *p);

	/* largest_free is the largest size a request may have and still be
	 * granted right now: with --align, an extent's room counts from its
	 * first aligned address; under buddy, before rounding up. free_extents
	 * is the number of maximal runs of free bytes. */
	uint64_t (*largest_free)(const struct smm_policy *p);
	uint64_t (*free_extents)(const struct smm_policy *p);

	/* metadata_bytes is the heap the state uses now, for the benchmark. */
	size_t (*metadata_bytes)(const struct smm_policy *p);
};

/* smm_policy_find returns the policy named name, or NULL. */
const struct smm_policy_ops *smm_policy_find(const char *name);

/* smm_policy_names returns the policy names joined by ", " (static storage),
 * for --help and error messages. */
const char *smm_policy_names(void);

/* smm_policy_count returns the number of policies; smm_policy_at the
 * i-th (0 is bump, the default), or NULL past the end. For the benchmark
 * and tests, which run every policy. */
size_t smm_policy_count(void);
const struct smm_policy_ops *smm_policy_at(size_t i);

#endif

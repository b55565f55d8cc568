/* run.h — running a trace through the allocator core (block table plus a
 * policy, as smm_arena does) or through glibc malloc/free, in process. */
#ifndef SMM_RUN_H
#define SMM_RUN_H

#include <stddef.h>
#include <stdint.h>

#include "policy.h"
#include "trace.h"

/* What one timed run of a trace measured. */
struct smm_run_time {
	double ns[16];          /* ns per malloc+free pair, one per chunk */
	int chunks;
	double meta_per_block;  /* (block table + policy) heap / live blocks */
	uint64_t failed;        /* requests denied (the arena was too small) */
};

/* smm_run_floor is a stand-in policy that grants fresh addresses forever
 * (it never reuses, never fails, keeps one counter): timed through the
 * core it shows what keys and the block table cost with no placement at
 * all, the floor under every real policy's row. */
extern const struct smm_policy_ops smm_run_floor;

/* smm_run_time times ops[warm..nops) of t in chunks (1..16) equal parts,
 * through policy ops in an arena of arena bytes, or through glibc when ops
 * is NULL. Returns 0, or -1 when memory ran out (*out unspecified). */
int smm_run_time(const struct smm_policy_ops *ops, const struct smm_trace *t, uint64_t arena,
		 int chunks, struct smm_run_time *out);

/* smm_run_utilisation runs all of t through ops in an arena of arena bytes
 * and then keeps allocating sizes of t's distribution (seeded by seed) with
 * no frees; at the first denied request it sets *util to the requested
 * bytes then live over the arena size. Returns 0, or -1 when memory ran
 * out. */
int smm_run_utilisation(const struct smm_policy_ops *ops, const struct smm_trace *t,
			uint64_t arena, uint64_t seed, double *util);

#endif

/* trace.h — seeded allocation traces for the benchmark: the same list of
 * operations runs through every policy and through glibc malloc/free. */
#ifndef SMM_TRACE_H
#define SMM_TRACE_H

#include <stddef.h>
#include <stdint.h>

enum smm_trace_kind {
	SMM_TRACE_UNIFORM,  /* churn, sizes uniform in 1..1024 */
	SMM_TRACE_POWERLAW, /* churn, sizes Pareto (alpha 1.2) from 8, capped at 64 KiB */
	SMM_TRACE_PHASED,   /* program-like: ramps of similar sizes, bulk frees */
};

/* One operation: allocate size bytes into slot, or free slot (size 0). */
struct smm_trace_op {
	uint32_t slot;
	uint32_t size;
};

struct smm_trace {
	enum smm_trace_kind kind;
	struct smm_trace_op *ops;
	size_t nops, warm; /* ops[0..warm) reach the live target untimed */
	size_t nslots;
	size_t warm_live;    /* blocks live after ops[0..warm) */
	uint64_t warm_bytes; /* bytes requested and live after ops[0..warm) */
	uint64_t peak_bytes; /* the most bytes requested and live at once */
};

/* smm_trace_make fills *t with a trace that reaches live blocks and then
 * runs pairs malloc/free pairs (churn keeps live blocks; phased swings
 * between about live/2 and live). Returns 0, or -1 when memory ran out
 * (nothing to free). Release with smm_trace_free. */
int smm_trace_make(struct smm_trace *t, enum smm_trace_kind kind, size_t live, size_t pairs,
		   uint64_t seed);
void smm_trace_free(struct smm_trace *t);

/* smm_trace_size draws one request size of the trace's distribution from
 * *rng (a nonzero xorshift state), for filling an arena after the trace. */
uint32_t smm_trace_size(enum smm_trace_kind kind, uint64_t *rng);

/* smm_trace_name returns the kind's name; smm_trace_parse the kind named
 * name, or -1. */
const char *smm_trace_name(enum smm_trace_kind kind);
int smm_trace_parse(const char *name);

#endif

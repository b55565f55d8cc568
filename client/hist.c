/* hist.c — slot i < 2*SUB holds the value i; above, a value v with top
 * bit b lands in slot (b - SUB_BITS) * SUB + (v >> (b - SUB_BITS)): the
 * exponent picks the range, the SUB_BITS+1 leading bits the slot in it. */
#include "hist.h"

#include <math.h>
#include <string.h>

static unsigned slot_of(uint64_t v)
{
	unsigned shift;

	if (v < 2 * SMM_HIST_SUB)
		return (unsigned)v;
	shift = (unsigned)(63 - __builtin_clzll(v)) - SMM_HIST_SUB_BITS;
	return shift * SMM_HIST_SUB + (unsigned)(v >> shift);
}

/* slot_top returns the largest value that lands in slot i. */
static uint64_t slot_top(unsigned i)
{
	unsigned shift;
	uint64_t m;

	if (i < 2 * SMM_HIST_SUB)
		return i;
	shift = i / SMM_HIST_SUB - 1;
	m = i - shift * SMM_HIST_SUB;
	return ((m + 1) << shift) - 1;
}

void smm_hist_init(struct smm_hist *h)
{
	memset(h, 0, sizeof *h);
}

void smm_hist_record(struct smm_hist *h, uint64_t v)
{
	h->counts[slot_of(v)]++;
	h->total++;
	if (v > h->max)
		h->max = v;
}

void smm_hist_merge(struct smm_hist *dst, const struct smm_hist *src)
{
	for (unsigned i = 0; i < SMM_HIST_SLOTS; i++)
		dst->counts[i] += src->counts[i];
	dst->total += src->total;
	if (src->max > dst->max)
		dst->max = src->max;
}

uint64_t smm_hist_quantile(const struct smm_hist *h, double q)
{
	uint64_t rank, seen = 0;

	if (h->total == 0)
		return 0;
	rank = (uint64_t)ceil(q * (double)h->total);
	if (rank < 1)
		rank = 1;
	for (unsigned i = 0; i < SMM_HIST_SLOTS; i++) {
		seen += h->counts[i];
		if (seen >= rank) {
			uint64_t top = slot_top(i);
			return top < h->max ? top : h->max;
		}
	}
	return h->max;
}

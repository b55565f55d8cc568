/* hist.h — a log-bucketed histogram in the manner of HdrHistogram: fixed
 * memory, no per-sample storage, every value recorded within 1/32 (about
 * 3%) of its true size, values below 64 exactly. Pure; one owner at a
 * time (merge per-thread histograms after the threads are joined). */
#ifndef SMM_HIST_H
#define SMM_HIST_H

#include <stdint.h>

/* Each power-of-two range is cut into 2^SMM_HIST_SUB_BITS linear slots. */
#define SMM_HIST_SUB_BITS 5
#define SMM_HIST_SUB (1u << SMM_HIST_SUB_BITS)
/* Enough slots for every uint64_t value. */
#define SMM_HIST_SLOTS ((65 - SMM_HIST_SUB_BITS) * SMM_HIST_SUB)

struct smm_hist {
	uint64_t counts[SMM_HIST_SLOTS];
	uint64_t total, max;
};

/* smm_hist_init empties h. */
void smm_hist_init(struct smm_hist *h);

/* smm_hist_record counts one value v. */
void smm_hist_record(struct smm_hist *h, uint64_t v);

/* smm_hist_merge adds every count of src to dst. */
void smm_hist_merge(struct smm_hist *dst, const struct smm_hist *src);

/* smm_hist_quantile returns the value at quantile q (0..1): the largest
 * value of the slot holding the ceil(q*total)-th smallest sample, but
 * never more than the largest recorded. 0 when h is empty. */
uint64_t smm_hist_quantile(const struct smm_hist *h, double q);

#endif

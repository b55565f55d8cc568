/* metrics.h — the event loop's request metrics: requests per op, error
 * replies per code, and per op a histogram of the time from a request's
 * line being read to its reply being queued for writing; and their
 * Prometheus text exposition, with the stats counters beside them.
 * Each event loop keeps its own and alone writes it (with smm_counter_add);
 * any thread may read them (smm_metrics_add) while they change. No
 * allocation but the output buffer's. */
#ifndef SMM_METRICS_H
#define SMM_METRICS_H

#include <stdint.h>

#include "buf.h"
#include "proto.h"

/* The histogram's label for a line that named no valid op. */
#define SMM_METRICS_INVALID SMM_PROTO_WIRE_OPS
#define SMM_METRICS_OPS (SMM_PROTO_WIRE_OPS + 1)
/* Upper bounds (le) of the finite buckets: 10 us to 2.5 s. */
#define SMM_METRICS_BUCKETS 17

struct smm_metrics {
	uint64_t by_op[SMM_PROTO_WIRE_OPS]; /* requests parsed, per op */
	uint64_t by_err[SMM_ERR_COUNT];     /* error replies, per code */
	uint64_t count[SMM_METRICS_OPS][SMM_METRICS_BUCKETS + 1]; /* last: +Inf only */
	uint64_t sum_ns[SMM_METRICS_OPS];
};

/* smm_counter_add adds d to *c, a counter only the calling thread writes,
 * as an atomic store: other threads read it with __atomic_load_n, without
 * a race and without the cost of a locked add on the writer. */
static inline void smm_counter_add(uint64_t *c, uint64_t d)
{
	__atomic_store_n(c, *c + d, __ATOMIC_RELAXED);
}

/* smm_metrics_add adds every count of src, read atomically (another
 * loop's thread may be writing it), to dst, which is the caller's own. */
void smm_metrics_add(struct smm_metrics *dst, const struct smm_metrics *src);

/* smm_metrics_now_ns returns CLOCK_MONOTONIC in nanoseconds. */
uint64_t smm_metrics_now_ns(void);

/* smm_metrics_reply counts a reply to a request of op (SMM_METRICS_INVALID
 * when the line named none) that took ns nanoseconds, ending in err. */
void smm_metrics_reply(struct smm_metrics *m, int op, enum smm_err err, uint64_t ns);

/* smm_metrics_stats adds the per-op and per-code counts, read atomically,
 * to st's. */
void smm_metrics_stats(const struct smm_metrics *m, struct smm_stats *st);

/* smm_metrics_format appends the Prometheus text exposition (format 0.0.4)
 * of st (a whole stats reply: the allocator's and the loop's parts) and of
 * m's histograms to out, labelled with version. On allocation failure
 * out->oom is set. */
void smm_metrics_format(const struct smm_metrics *m, const struct smm_stats *st,
			const char *version, struct smm_buf *out);

#endif

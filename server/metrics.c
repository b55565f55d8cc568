/* metrics.c — request counters and latency histograms, and /metrics'
 * text: every number there is one stats reports, or a histogram. */
#include "metrics.h"

#include <time.h>

#include "reply.h"

/* Bucket bounds in nanoseconds and as Prometheus writes them. */
static const uint64_t bounds_ns[SMM_METRICS_BUCKETS] = {
	10000, 25000, 50000, 100000, 250000, 500000, 1000000, 2500000, 5000000,
	10000000, 25000000, 50000000, 100000000, 250000000, 500000000, 1000000000,
	2500000000u,
};
static const char *const bounds_text[SMM_METRICS_BUCKETS] = {
	"1e-05", "2.5e-05", "5e-05", "0.0001", "0.00025", "0.0005", "0.001", "0.0025",
	"0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5",
};

uint64_t smm_metrics_now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

void smm_metrics_reply(struct smm_metrics *m, int op, enum smm_err err, uint64_t ns)
{
	int b = 0;

	if ((unsigned)err < SMM_ERR_COUNT && err != SMM_ERR_NONE)
		smm_counter_add(&m->by_err[err], 1);
	if (op < 0 || op >= SMM_METRICS_OPS)
		return;
	while (b < SMM_METRICS_BUCKETS && ns > bounds_ns[b])
		b++;
	smm_counter_add(&m->count[op][b], 1); /* cumulated when written out */
	smm_counter_add(&m->sum_ns[op], ns);
}

static uint64_t load(const uint64_t *c)
{
	return __atomic_load_n(c, __ATOMIC_RELAXED);
}

void smm_metrics_add(struct smm_metrics *dst, const struct smm_metrics *src)
{
	for (int op = 0; op < SMM_PROTO_WIRE_OPS; op++)
		dst->by_op[op] += load(&src->by_op[op]);
	for (int e = 0; e < SMM_ERR_COUNT; e++)
		dst->by_err[e] += load(&src->by_err[e]);
	for (int op = 0; op < SMM_METRICS_OPS; op++) {
		for (int b = 0; b <= SMM_METRICS_BUCKETS; b++)
			dst->count[op][b] += load(&src->count[op][b]);
		dst->sum_ns[op] += load(&src->sum_ns[op]);
	}
}

void smm_metrics_stats(const struct smm_metrics *m, struct smm_stats *st)
{
	for (int op = 0; op < SMM_PROTO_WIRE_OPS; op++)
		st->by_op[op] += load(&m->by_op[op]);
	for (int e = 0; e < SMM_ERR_COUNT; e++)
		st->by_err[e] += load(&m->by_err[e]);
}

static const char *op_label(int op)
{
	return op == SMM_METRICS_INVALID ? "invalid" : smm_op_name((enum smm_op)op);
}

static void head(struct smm_buf *out, const char *name, const char *type, const char *help)
{
	smm_buf_addf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void one(struct smm_buf *out, const char *name, const char *type, const char *help,
		uint64_t v)
{
	head(out, name, type, help);
	smm_buf_addf(out, "%s %llu\n", name, (unsigned long long)v);
}

static void format_gauges(const struct smm_stats *s, struct smm_buf *out)
{
	one(out, "smm_memory_bytes", "gauge", "Arena size in bytes.", s->memory_size);
	one(out, "smm_used_bytes", "gauge", "Bytes in live blocks.", s->used);
	one(out, "smm_free_bytes", "gauge", "Bytes not in any block.", s->free);
	one(out, "smm_largest_free_bytes", "gauge", "Largest malloc that would be granted now.",
	    s->largest_free);
	one(out, "smm_blocks", "gauge", "Live blocks.", s->blocks);
	one(out, "smm_free_extents", "gauge", "Maximal runs of free bytes.", s->free_extents);
	head(out, "smm_fragmentation_ratio", "gauge", "1 - largest_free/free.");
	smm_buf_addf(out, "smm_fragmentation_ratio %.6g\n", smm_stats_fragmentation(s));
	one(out, "smm_leases", "gauge", "Live blocks with a lease.", s->leases);
	one(out, "smm_connections", "gauge", "Open client connections.", s->connections);
	one(out, "smm_queue_depth", "gauge", "Requests in flight to the allocator thread.",
	    s->queue_depth);
	head(out, "smm_uptime_seconds", "gauge", "Seconds since the server started.");
	smm_buf_addf(out, "smm_uptime_seconds %.3f\n", (double)s->uptime_ms / 1000.0);
}

/* format_counters writes the counters stats reports: the limits' and the
 * blocks' (each a _total), then requests per op and errors per code. A
 * line that named no op is counted under op="invalid", so the ops add up
 * to stats' requests. */
static void format_counters(const struct smm_stats *s, struct smm_buf *out)
{
	const struct { const char *name, *help; uint64_t v; } rows[] = {
		{ "smm_granted_total", "Mallocs granted.", s->granted },
		{ "smm_denied_total", "Mallocs denied for lack of memory.", s->denied },
		{ "smm_expired_total", "Blocks freed when their lease ended.", s->expired },
		{ "smm_released_on_close_total", "Connection-scoped blocks freed on close.",
		  s->released_on_close },
		{ "smm_bad_requests_total", "Lines that were not a valid request.", s->bad_requests },
		{ "smm_too_large_total", "Lines over --max-line.", s->too_large },
		{ "smm_rejected_connections_total", "Connections turned away at --max-conns.",
		  s->rejected_connections },
		{ "smm_output_paused_total", "Times reading paused at --max-output.",
		  s->output_paused },
		{ "smm_idle_closed_total", "Connections closed by --idle-timeout.", s->idle_closed },
		{ "smm_accept_paused_total", "Times accepting paused (out of descriptors).",
		  s->accept_paused },
		{ "smm_allocator_moves_total",
		  "Times the allocator thread moved to the event loop's CPU (--allocator-cpu).",
		  s->allocator_moves },
	};
	uint64_t valid = 0;

	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
		one(out, rows[i].name, "counter", rows[i].help, rows[i].v);
	head(out, "smm_requests_total", "counter", "Request lines read, by op.");
	for (int op = 0; op < SMM_PROTO_WIRE_OPS; op++) {
		smm_buf_addf(out, "smm_requests_total{op=\"%s\"} %llu\n", op_label(op),
			     (unsigned long long)s->by_op[op]);
		valid += s->by_op[op];
	}
	smm_buf_addf(out, "smm_requests_total{op=\"invalid\"} %llu\n",
		     (unsigned long long)(s->requests - valid));
	head(out, "smm_errors_total", "counter", "Error replies, by code.");
	for (int e = 1; e < SMM_ERR_COUNT; e++)
		smm_buf_addf(out, "smm_errors_total{code=\"%s\"} %llu\n",
			     smm_err_name((enum smm_err)e), (unsigned long long)s->by_err[e]);
}

static void format_histograms(const struct smm_metrics *m, struct smm_buf *out)
{
	head(out, "smm_request_duration_seconds", "histogram",
	     "Time from a request line being read to its reply being queued.");
	for (int op = 0; op < SMM_METRICS_OPS; op++) {
		uint64_t n = 0;
		for (int b = 0; b < SMM_METRICS_BUCKETS; b++) {
			n += m->count[op][b];
			smm_buf_addf(out, "smm_request_duration_seconds_bucket{op=\"%s\",le=\"%s\"} %llu\n",
				     op_label(op), bounds_text[b], (unsigned long long)n);
		}
		n += m->count[op][SMM_METRICS_BUCKETS];
		smm_buf_addf(out,
			     "smm_request_duration_seconds_bucket{op=\"%s\",le=\"+Inf\"} %llu\n"
			     "smm_request_duration_seconds_sum{op=\"%s\"} %.9f\n"
			     "smm_request_duration_seconds_count{op=\"%s\"} %llu\n",
			     op_label(op), (unsigned long long)n, op_label(op),
			     (double)m->sum_ns[op] / 1e9, op_label(op), (unsigned long long)n);
	}
}

void smm_metrics_format(const struct smm_metrics *m, const struct smm_stats *st,
			const char *version, struct smm_buf *out)
{
	format_gauges(st, out);
	format_counters(st, out);
	format_histograms(m, out);
	head(out, "smm_build_info", "gauge", "The server's version and placement policy.");
	smm_buf_addf(out, "smm_build_info{version=\"%s\",policy=\"%s\"} 1\n", version,
		     st->policy ? st->policy : "");
}

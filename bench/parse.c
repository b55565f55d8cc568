/* parse.c — smm-parse-bench: what smm_request_parse costs per line, the
 * scanner (proto/request.c) against the cJSON parser it replaced (the
 * reference kept in tests/fuzz/request_ref.c), in one process, on the
 * lines a load run sends (issue 12; bench/README.md records a run). The
 * reference is timed twice: with glibc malloc under cJSON, and with the
 * per-thread block cache the server installed as cJSON's allocator.
 * A program, not a test: it measures and asserts nothing.
 *
 *   smm-parse-bench [PARSES_PER_RUN [RUNS]]   (defaults 200000 and 9) */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pool.h"
#include "request.h"
#include "request_ref.h"

/* The lines, as smm-client formats them. */
static const struct { const char *name, *line; } lines[] = {
	{ "malloc", "{\"op\":\"malloc\",\"id\":3,\"size\":100}" },
	{ "free", "{\"op\":\"free\",\"addr\":1024,\"key\":\"0123456789abcdef\"}" },
	{ "ping", "{\"op\":\"ping\"}" },
	{ "fill", "{\"op\":\"fill\",\"addr\":1024,\"key\":\"0123456789abcdef\",\"char\":\"#\"}" },
	{ "tagged malloc", "{\"op\":\"malloc\",\"id\":3,\"size\":100,\"tag\":{\"client\":\"bench\",\"seq\":[1,2,3]}}" },
};

typedef int (*parse_fn)(const char *, size_t, struct smm_request *, struct smm_reply *);

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int by_value(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* median_ns returns the median over runs of the ns per parse of line. */
static double median_ns(parse_fn parse, const char *line, long parses, int runs)
{
	double ns[64];
	size_t len = strlen(line);
	struct smm_request req;
	struct smm_reply err;

	for (int r = 0; r < runs; r++) {
		double t0 = now_ns();
		for (long i = 0; i < parses; i++)
			if (parse(line, len, &req, &err) < 0)
				return -1;
		ns[r] = (now_ns() - t0) / (double)parses;
	}
	qsort(ns, (size_t)runs, sizeof ns[0], by_value);
	return ns[runs / 2];
}

int main(int argc, char **argv)
{
	long parses = argc > 1 ? atol(argv[1]) : 200000;
	int runs = argc > 2 ? atoi(argv[2]) : 9;
	enum { n = sizeof lines / sizeof lines[0] };
	double ref[n], pooled[n], scan[n];

	if (parses < 1 || runs < 1 || runs > 64) {
		fprintf(stderr, "usage: smm-parse-bench [PARSES_PER_RUN [RUNS (1..64)]]\n");
		return 2;
	}
	for (size_t i = 0; i < n; i++) {
		ref[i] = median_ns(smm_request_ref_parse, lines[i].line, parses, runs);
		scan[i] = median_ns(smm_request_parse, lines[i].line, parses, runs);
	}
	cJSON_InitHooks(&(cJSON_Hooks){ smm_pool_malloc, smm_pool_free });
	for (size_t i = 0; i < n; i++)
		pooled[i] = median_ns(smm_request_ref_parse, lines[i].line, parses, runs);
	cJSON_InitHooks(NULL);
	smm_pool_drain();
	printf("ns per line, median of %d runs of %ld parses\n", runs, parses);
	printf("%-14s %10s %12s %10s %8s\n", "line", "cJSON", "cJSON+pool", "scanner", "speedup");
	for (size_t i = 0; i < n; i++)
		printf("%-14s %10.1f %12.1f %10.1f %7.1fx\n", lines[i].name, ref[i], pooled[i], scan[i],
		       ref[i] / scan[i]);
	return 0;
}

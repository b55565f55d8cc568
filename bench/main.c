/* main.c — smm-bench: every placement policy against glibc malloc/free on
 * the same seeded traces, in process. Prints a table, or JSON with --json.
 * Not a test: it asserts nothing and CTest does not run it. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"
#include "run.h"
#include "trace.h"
#include "window.h"

#define MAX_ITEMS 16
#define WINDOW_QUERIES 100000 /* dumps timed per arena in a window row */

struct options {
	size_t live[MAX_ITEMS];
	int nlive;
	int traces[MAX_ITEMS];
	int ntraces;
	const struct smm_policy_ops *policies[MAX_ITEMS];
	int npolicies;
	size_t pairs;
	int runs;
	uint64_t seed;
	int json;
	int no_window; /* --no-window: skip the dump window rows */
};

/* One line of output. ops NULL is glibc. */
struct row {
	const char *policy, *trace;
	size_t live;
	double ns, ratio, meta, util;
	uint64_t failed;
};

static const char usage[] =
	"usage: smm-bench [--live N,N,...] [--traces uniform,powerlaw,phased]\n"
	"                 [--policies NAME,...] [--pairs N] [--runs R] [--seed S] [--json]\n"
	"                 [--no-window]\n"
	"defaults: --live 1000,100000,1000000 --pairs 500000 --runs 5, every policy but bump\n";

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof *v, cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* parse_list splits a comma list, calling item for each; -1 on a bad one. */
static int parse_list(char *s, struct options *o, int (*item)(struct options *, const char *))
{
	for (char *tok = strtok(s, ","); tok; tok = strtok(NULL, ","))
		if (item(o, tok) < 0)
			return -1;
	return 0;
}

static int add_live(struct options *o, const char *s)
{
	char *end;
	double v = strtod(s, &end);

	if (*end || v < 16 || v > 4e9 || o->nlive == MAX_ITEMS)
		return -1;
	o->live[o->nlive++] = (size_t)v;
	return 0;
}

static int add_trace(struct options *o, const char *s)
{
	int k = smm_trace_parse(s);

	if (k < 0 || o->ntraces == MAX_ITEMS)
		return -1;
	o->traces[o->ntraces++] = k;
	return 0;
}

static int add_policy(struct options *o, const char *s)
{
	const struct smm_policy_ops *p = smm_policy_find(s);

	if (!p || o->npolicies == MAX_ITEMS)
		return -1;
	o->policies[o->npolicies++] = p;
	return 0;
}

static int parse(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "live", required_argument, NULL, 'l' },   { "traces", required_argument, NULL, 't' },
		{ "policies", required_argument, NULL, 'p' }, { "pairs", required_argument, NULL, 'n' },
		{ "runs", required_argument, NULL, 'r' },   { "seed", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },         { "help", no_argument, NULL, 'h' },
		{ "no-window", no_argument, NULL, 'w' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	*o = (struct options){ .pairs = 500000, .runs = 5, .seed = 20261128 };
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		int bad = 0;
		switch (c) {
		case 'l': bad = parse_list(optarg, o, add_live); break;
		case 't': bad = parse_list(optarg, o, add_trace); break;
		case 'p': bad = parse_list(optarg, o, add_policy); break;
		case 'n': o->pairs = strtoull(optarg, NULL, 10); bad = o->pairs < 64; break;
		case 'r': o->runs = atoi(optarg); bad = o->runs < 1 || o->runs > 16; break;
		case 's': o->seed = strtoull(optarg, NULL, 10); break;
		case 'j': o->json = 1; break;
		case 'w': o->no_window = 1; break;
		default: return -1;
		}
		if (bad)
			return -1;
	}
	if (optind != argc)
		return -1;
	if (o->nlive == 0)
		o->nlive = 3, o->live[0] = 1000, o->live[1] = 100000, o->live[2] = 1000000;
	if (o->ntraces == 0)
		for (o->ntraces = 0; o->ntraces < 3; o->ntraces++)
			o->traces[o->ntraces] = o->ntraces;
	for (size_t i = 1; o->npolicies == 0 && i < smm_policy_count(); i++)
		for (; i < smm_policy_count(); i++)
			o->policies[o->npolicies++] = smm_policy_at(i);
	return 0;
}

static void print_row(const struct options *o, const struct row *r, int first)
{
	if (o->json) {
		printf("%s    {\"trace\": \"%s\", \"live\": %zu, \"policy\": \"%s\", "
		       "\"ns_per_pair\": %.1f, \"vs_glibc\": %.2f, ",
		       first ? "" : ",\n", r->trace, r->live, r->policy, r->ns, r->ratio);
		if (r->meta >= 0)
			printf("\"metadata_bytes_per_block\": %.1f, \"utilisation_at_failure\": %.3f, "
			       "\"denied\": %llu}",
			       r->meta, r->util, (unsigned long long)r->failed);
		else
			printf("\"metadata_bytes_per_block\": null, \"utilisation_at_failure\": null, "
			       "\"denied\": 0}");
		return;
	}
	printf("| %-8s | %7zu | %-9s | %8.1f | %5.2fx |", r->trace, r->live, r->policy, r->ns,
	       r->ratio);
	if (r->meta >= 0)
		printf(" %6.1f | %5.1f%% | %6llu |\n", r->meta, 100 * r->util,
		       (unsigned long long)r->failed);
	else
		printf("      - |      - |      - |\n");
}

/* glibc_reference times glibc on t twice, before and after the rows it
 * anchors (one run each call, *n chunks kept in ns so far): the reference
 * is the median of both runs' chunks, so a change in the machine's load
 * while a trace runs moves it as it moves the rows. */
static int glibc_reference(const struct options *o, const struct smm_trace *t, double *ns, int *n)
{
	struct smm_run_time rt;

	if (smm_run_time(NULL, t, 0, o->runs, &rt) < 0)
		return -1;
	for (int k = 0; k < rt.chunks; k++)
		ns[(*n)++] = rt.ns[k];
	return 0;
}

/* time_row times one row (ops NULL: the floor) into r, ratio unset. */
static int time_row(const struct options *o, const struct smm_trace *t,
		    const struct smm_policy_ops *ops, struct row *r)
{
	/* Timing arenas have room to spare; utilisation arenas a quarter. */
	uint64_t roomy = 4 * t->peak_bytes + (1u << 20), tight = t->warm_bytes + t->warm_bytes / 4;
	struct smm_run_time rt;

	if (!ops) {
		if (smm_run_time(&smm_run_floor, t, 0, o->runs, &rt) < 0)
			return -1;
		r->policy = smm_run_floor.name;
		r->meta = -1;
	} else {
		if (smm_run_time(ops, t, roomy, o->runs, &rt) < 0 ||
		    smm_run_utilisation(ops, t, tight, o->seed + 1, &r->util) < 0)
			return -1;
		r->policy = ops->name;
		r->meta = rt.meta_per_block;
		r->failed = rt.failed;
	}
	r->ns = median(rt.ns, rt.chunks);
	return 0;
}

/* bench_one measures one trace: glibc, the core's floor (keys and block
 * table, no placement), every policy, glibc again; then prints the rows,
 * each against the glibc reference. */
static int bench_one(const struct options *o, const struct smm_trace *t, size_t live, int *first)
{
	struct row rows[MAX_ITEMS + 2] = { 0 };
	double ns[32];
	int n = 0, nrows = o->npolicies + 2;

	if (glibc_reference(o, t, ns, &n) < 0)
		return -1;
	for (int i = 1; i < nrows; i++)
		if (time_row(o, t, i == 1 ? NULL : o->policies[i - 2], &rows[i]) < 0)
			return -1;
	if (glibc_reference(o, t, ns, &n) < 0)
		return -1;
	rows[0] = (struct row){ .policy = "glibc", .ns = median(ns, n), .meta = -1 };
	for (int i = 0; i < nrows; i++) {
		rows[i].trace = smm_trace_name(t->kind);
		rows[i].live = live;
		rows[i].ratio = rows[i].ns / rows[0].ns;
		print_row(o, &rows[i], *first && i == 0);
	}
	*first = 0;
	fflush(stdout);
	return 0;
}

/* bench_window times 64-byte dump windows on an arena holding live
 * blocks against the same windows on an empty one. */
static int bench_window(const struct options *o, size_t live, int first)
{
	struct smm_window_time w;

	if (smm_window_time(live, WINDOW_QUERIES, o->seed, &w) < 0)
		return -1;
	if (o->json)
		printf("%s    {\"window_bytes\": %d, \"live\": %zu, \"empty_ns\": %.1f, "
		       "\"full_ns\": %.1f, \"ratio\": %.2f, \"blocks_per_dump\": %.2f}",
		       first ? "" : ",\n", SMM_WINDOW_BYTES, live, w.empty_ns, w.full_ns,
		       w.full_ns / w.empty_ns, (double)w.blocks_seen / WINDOW_QUERIES);
	else
		printf("| window %2d B | %7zu | %8.1f | %8.1f | %5.2fx | %6.2f |\n", SMM_WINDOW_BYTES,
		       live, w.empty_ns, w.full_ns, w.full_ns / w.empty_ns,
		       (double)w.blocks_seen / WINDOW_QUERIES);
	return 0;
}

/* bench_windows prints the window rows, one per --live value. */
static int bench_windows(const struct options *o)
{
	if (o->json)
		printf("\n], \"windows\": [\n");
	else
		printf("\n| dump        |    live | empty ns | full ns  | ratio  | blocks |\n"
		       "|-------------|---------|----------|----------|--------|--------|\n");
	for (int l = 0; l < o->nlive; l++)
		if (bench_window(o, o->live[l], l == 0) < 0)
			return -1;
	return 0;
}

int main(int argc, char **argv)
{
	struct options o;
	int first = 1;

	if (parse(argc, argv, &o) < 0) {
		fputs(usage, stderr);
		return 2;
	}
	if (o.json)
		printf("{\"pairs\": %zu, \"runs\": %d, \"seed\": %llu, \"rows\": [\n", o.pairs, o.runs,
		       (unsigned long long)o.seed);
	else
		printf("| trace    |    live | policy    | ns/pair  | glibc  | meta B | util   | denied |\n"
		       "|----------|---------|-----------|----------|--------|--------|--------|--------|\n");
	for (int l = 0; l < o.nlive; l++) {
		for (int k = 0; k < o.ntraces; k++) {
			struct smm_trace t;
			int rc;
			if (smm_trace_make(&t, o.traces[k], o.live[l], o.pairs, o.seed) < 0) {
				fputs("smm-bench: out of memory\n", stderr);
				return 1;
			}
			rc = bench_one(&o, &t, o.live[l], &first);
			smm_trace_free(&t);
			if (rc < 0) {
				fputs("smm-bench: out of memory\n", stderr);
				return 1;
			}
		}
	}
	if (!o.no_window && bench_windows(&o) < 0) {
		fputs("smm-bench: out of memory\n", stderr);
		return 1;
	}
	if (o.json)
		printf("\n]}\n");
	return 0;
}

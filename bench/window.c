/* window.c — timing dump windows through exec, as the server answers them.
 * Both arenas answer the same windows in the same order; each is timed in
 * five chunks (thread CPU time) and the median kept, as the pair rows are. */
#include "window.h"

#include <stdlib.h>
#include <time.h>

#include "arena.h"
#include "exec.h"

#define CHUNKS 5

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static uint64_t next_rand(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* time_dumps returns the median ns per dump of the windows at offs[0..n)
 * and adds the blocks listed to *seen. */
static double time_dumps(struct smm_arena *a, const uint64_t *offs, size_t n, size_t *seen)
{
	struct smm_request req = { .op = SMM_OP_DUMP, .has_length = true,
				   .length = SMM_WINDOW_BYTES, .blocks = true };
	struct smm_reply rep;
	double ns[CHUNKS];
	size_t per = n / CHUNKS;

	for (int c = 0; c < CHUNKS; c++) {
		double t0 = now_ns();
		for (size_t i = (size_t)c * per; i < (size_t)(c + 1) * per; i++) {
			req.offset = offs[i];
			smm_exec_run(a, &req, 0, &rep);
			*seen += rep.nblocks;
			smm_reply_clear(&rep);
		}
		ns[c] = (now_ns() - t0) / (double)per;
	}
	qsort(ns, CHUNKS, sizeof *ns, cmp_double);
	return ns[CHUNKS / 2];
}

/* fill allocates live blocks in a; returns the end of the last, or 0 when
 * the arena ran out. */
static uint64_t fill(struct smm_arena *a, size_t live, uint64_t *rng)
{
	struct smm_block_info b;
	uint64_t key, top = 0;

	for (size_t i = 0; i < live; i++) {
		if (smm_arena_alloc(a, (int64_t)(i % 62), next_rand(rng) % 1024 + 1, &b, &key) !=
		    SMM_ERR_NONE)
			return 0;
		if (b.addr + b.size > top)
			top = b.addr + b.size;
	}
	return top;
}

int smm_window_time(size_t live, size_t queries, uint64_t seed, struct smm_window_time *out)
{
	struct smm_arena_config cfg = { (uint64_t)live * 1024 + 4096, 1, '.',
					smm_policy_find("tlsf") };
	struct smm_arena *full = NULL, *empty = NULL;
	uint64_t *offs = malloc(queries * sizeof *offs), rng = seed | 1, top;
	char err[128];
	int rc = -1;

	*out = (struct smm_window_time){ 0 };
	full = smm_arena_new(&cfg, err, sizeof err);
	empty = smm_arena_new(&cfg, err, sizeof err);
	if (!offs || !full || !empty || (top = fill(full, live, &rng)) < SMM_WINDOW_BYTES)
		goto out;
	for (size_t i = 0; i < queries; i++)
		offs[i] = next_rand(&rng) % (top - SMM_WINDOW_BYTES);
	out->empty_ns = time_dumps(empty, offs, queries, &out->blocks_seen);
	out->blocks_seen = 0;
	out->full_ns = time_dumps(full, offs, queries, &out->blocks_seen);
	rc = 0;
out:
	smm_arena_destroy(full);
	smm_arena_destroy(empty);
	free(offs);
	return rc;
}

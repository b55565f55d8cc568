/* run.c — the benchmark's inner loops. The core mirrors smm_arena_alloc
 * and smm_arena_release (key, policy, block table) without the arena's
 * bytes: scrubbing a freed block costs the same under every policy and
 * would hide what the policies cost. */
#include "run.h"

#include <stdlib.h>
#include <time.h>

#include "blocks.h"
#include "keys.h"

#define NO_ADDR UINT64_MAX

struct smm_policy {
	uint64_t next; /* the floor's next address */
};

static struct smm_policy *floor_create(uint64_t size, uint64_t align)
{
	(void)size;
	(void)align;
	return calloc(1, sizeof(struct smm_policy));
}

static void floor_destroy(struct smm_policy *p)
{
	free(p);
}

static int floor_alloc(struct smm_policy *p, uint64_t size, uint64_t *addr, uint64_t *granted)
{
	*addr = p->next;
	*granted = size;
	p->next += size;
	return 0;
}

static void floor_release(struct smm_policy *p, uint64_t addr, uint64_t granted)
{
	(void)p;
	(void)addr;
	(void)granted;
}

static void floor_reset(struct smm_policy *p)
{
	p->next = 0;
}

static uint64_t floor_zero(const struct smm_policy *p)
{
	(void)p;
	return 0;
}

static size_t floor_bytes(const struct smm_policy *p)
{
	return sizeof *p;
}

const struct smm_policy_ops smm_run_floor = {
	.name = "(floor)",
	.create = floor_create,
	.destroy = floor_destroy,
	.alloc = floor_alloc,
	.release = floor_release,
	.reset = floor_reset,
	.largest_free = floor_zero,
	.free_extents = floor_zero,
	.metadata_bytes = floor_bytes,
};

struct core {
	const struct smm_policy_ops *ops;
	struct smm_policy *policy;
	struct smm_blocks *blocks;
	struct smm_keys keys;
	uint64_t *addr;  /* per slot, NO_ADDR when empty */
	uint32_t *asked; /* per slot, requested bytes; utilisation runs only,
			    so timed runs pay no bookkeeping glibc's row lacks */
	uint64_t asked_live;
};

static void core_close(struct core *c)
{
	if (c->policy)
		c->ops->destroy(c->policy);
	smm_blocks_destroy(c->blocks);
	free(c->addr);
	free(c->asked);
	free(c);
}

/* core_open opens a core for slots slots; asked says whether to count the
 * bytes requested (for utilisation). */
static struct core *core_open(const struct smm_policy_ops *ops, uint64_t arena, size_t slots,
			      int asked)
{
	struct core *c = calloc(1, sizeof *c);

	if (!c)
		return NULL;
	c->ops = ops;
	c->policy = ops->create(arena, 1);
	c->blocks = smm_blocks_new();
	c->addr = malloc(slots * sizeof *c->addr);
	c->asked = asked ? calloc(slots, sizeof *c->asked) : NULL;
	if (!c->policy || !c->blocks || !c->addr || (asked && !c->asked)) {
		core_close(c);
		return NULL;
	}
	for (size_t i = 0; i < slots; i++)
		c->addr[i] = NO_ADDR;
	return c;
}

static int core_alloc(struct core *c, uint32_t slot, uint32_t size)
{
	struct smm_block b = { .id = 1 };

	if (smm_keys_next(&c->keys, &b.key) < 0 || c->ops->alloc(c->policy, size, &b.addr, &b.size) < 0)
		return -1;
	if (smm_blocks_insert(c->blocks, &b) < 0) {
		c->ops->release(c->policy, b.addr, b.size);
		return -1;
	}
	c->addr[slot] = b.addr;
	if (c->asked) {
		c->asked[slot] = size;
		c->asked_live += size;
	}
	return 0;
}

static void core_free(struct core *c, uint32_t slot)
{
	struct smm_block b;

	if (c->addr[slot] == NO_ADDR)
		return;
	if (smm_blocks_find(c->blocks, c->addr[slot], &b) == 0) {
		c->ops->release(c->policy, b.addr, b.size);
		smm_blocks_remove(c->blocks, c->addr[slot]);
	}
	c->addr[slot] = NO_ADDR;
	if (c->asked)
		c->asked_live -= c->asked[slot];
}

/* core_run performs ops[from..to); returns the number of denials. */
static uint64_t core_run(struct core *c, const struct smm_trace_op *ops, size_t from, size_t to)
{
	uint64_t failed = 0;

	for (size_t i = from; i < to; i++) {
		if (ops[i].size == 0)
			core_free(c, ops[i].slot);
		else if (core_alloc(c, ops[i].slot, ops[i].size) < 0)
			failed++;
	}
	return failed;
}

static void glibc_run(void **ptr, const struct smm_trace_op *ops, size_t from, size_t to)
{
	for (size_t i = from; i < to; i++) {
		if (ops[i].size == 0) {
			free(ptr[ops[i].slot]);
			ptr[ops[i].slot] = NULL;
		} else {
			ptr[ops[i].slot] = malloc(ops[i].size);
		}
	}
}

/* now_ns reads this thread's CPU time: other processes on a busy machine
 * then slow a run down only through the caches they share. */
static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int time_glibc(const struct smm_trace *t, int chunks, struct smm_run_time *out)
{
	void **ptr = calloc(t->nslots, sizeof *ptr);
	size_t span = (t->nops - t->warm) / (size_t)chunks;

	if (!ptr)
		return -1;
	glibc_run(ptr, t->ops, 0, t->warm);
	for (int k = 0; k < chunks; k++) {
		size_t from = t->warm + (size_t)k * span;
		double t0 = now_ns();
		glibc_run(ptr, t->ops, from, from + span);
		out->ns[k] = (now_ns() - t0) / ((double)span / 2);
	}
	for (size_t i = 0; i < t->nslots; i++)
		free(ptr[i]);
	free(ptr);
	return 0;
}

/* meta updates out->meta_per_block with the metadata per live block now,
 * when about as many blocks are live as after the warm-up (the phased
 * trace swings down to half, and per-block costs of storage sized for the
 * peak would look doubled there). */
static void meta(const struct core *c, const struct smm_trace *t, struct smm_run_time *out)
{
	size_t live = smm_blocks_count(c->blocks), target = t->warm_live;
	double per;

	if (live == 0 || live * 10 < target * 9)
		return;
	per = (double)(smm_blocks_bytes(c->blocks) + c->ops->metadata_bytes(c->policy)) / (double)live;
	if (per > out->meta_per_block)
		out->meta_per_block = per;
}

int smm_run_time(const struct smm_policy_ops *ops, const struct smm_trace *t, uint64_t arena,
		 int chunks, struct smm_run_time *out)
{
	struct core *c;
	size_t span;

	if (chunks < 1 || chunks > 16 || t->nops - t->warm < 2 * (size_t)chunks)
		return -1;
	span = (t->nops - t->warm) / (size_t)chunks;
	*out = (struct smm_run_time){ .chunks = chunks };
	if (!ops)
		return time_glibc(t, chunks, out);
	c = core_open(ops, arena, t->nslots, 0);
	if (!c)
		return -1;
	out->failed = core_run(c, t->ops, 0, t->warm);
	meta(c, t, out);
	for (int k = 0; k < chunks; k++) {
		size_t from = t->warm + (size_t)k * span;
		double t0 = now_ns();
		out->failed += core_run(c, t->ops, from, from + span);
		out->ns[k] = (now_ns() - t0) / ((double)span / 2);
		meta(c, t, out);
	}
	core_close(c);
	return 0;
}

int smm_run_utilisation(const struct smm_policy_ops *ops, const struct smm_trace *t,
			uint64_t arena, uint64_t seed, double *util)
{
	struct core *c = core_open(ops, arena, t->nslots + 1, 1);
	uint64_t rng = seed ? seed : 1;
	size_t i;

	if (!c)
		return -1;
	for (i = 0; i < t->nops; i++) {
		const struct smm_trace_op *op = &t->ops[i];
		if (op->size == 0)
			core_free(c, op->slot);
		else if (core_alloc(c, op->slot, op->size) < 0)
			break;
	}
	/* Then fill with no frees; slot nslots is a scratch slot. */
	while (i == t->nops && core_alloc(c, (uint32_t)t->nslots, smm_trace_size(t->kind, &rng)) == 0)
		c->addr[t->nslots] = NO_ADDR;
	*util = (double)c->asked_live / (double)arena;
	core_close(c);
	return 0;
}

/* trace.c — generating the benchmark's traces from a seed. */
#include "trace.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define UNIFORM_MAX 1024
#define PARETO_MIN 8.0
#define PARETO_ALPHA 1.2
#define PARETO_CAP 65536

static const char *const names[] = { "uniform", "powerlaw", "phased" };

static uint64_t next(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static double unit(uint64_t *s)
{
	return ((double)(next(s) >> 11) + 0.5) / 9007199254740992.0;
}

uint32_t smm_trace_size(enum smm_trace_kind kind, uint64_t *rng)
{
	double x;

	if (kind == SMM_TRACE_UNIFORM)
		return (uint32_t)(1 + next(rng) % UNIFORM_MAX);
	x = PARETO_MIN / pow(unit(rng), 1.0 / PARETO_ALPHA);
	return x >= PARETO_CAP ? PARETO_CAP : (uint32_t)x;
}

struct builder {
	struct smm_trace *t;
	size_t cap;
	int oom;
	uint32_t *sizes; /* per slot, to follow the live bytes */
	size_t nsizes;
	uint64_t live_bytes;
};

/* track follows the bytes live after op (slot, size); -1 when memory ran
 * out. */
static int track(struct builder *b, uint32_t slot, uint32_t size)
{
	if (slot >= b->nsizes) {
		size_t n = b->nsizes ? b->nsizes * 2 : 1024;
		uint32_t *s;
		while (n <= slot)
			n *= 2;
		s = realloc(b->sizes, n * sizeof *s);
		if (!s)
			return -1;
		for (size_t i = b->nsizes; i < n; i++)
			s[i] = 0;
		b->sizes = s;
		b->nsizes = n;
	}
	b->live_bytes = b->live_bytes - b->sizes[slot] + size;
	b->sizes[slot] = size;
	if (b->live_bytes > b->t->peak_bytes)
		b->t->peak_bytes = b->live_bytes;
	return 0;
}

static void emit(struct builder *b, uint32_t slot, uint32_t size)
{
	if (b->oom || track(b, slot, size) < 0) {
		b->oom = 1;
		return;
	}
	if (b->t->nops == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 1024;
		struct smm_trace_op *ops = realloc(b->t->ops, cap * sizeof *ops);
		if (!ops) {
			b->oom = 1;
			return;
		}
		b->t->ops = ops;
		b->cap = cap;
	}
	b->t->ops[b->t->nops++] = (struct smm_trace_op){ slot, size };
}

/* churn: live allocations, then pairs of (free a random slot, refill it). */
static void churn(struct builder *b, size_t live, size_t pairs, uint64_t *rng)
{
	for (size_t i = 0; i < live; i++) {
		uint32_t size = smm_trace_size(b->t->kind, rng);
		b->t->warm_bytes += size;
		emit(b, (uint32_t)i, size);
	}
	b->t->warm = b->t->nops;
	b->t->warm_live = live;
	b->t->nslots = live;
	for (size_t i = 0; i < pairs; i++) {
		uint32_t slot = (uint32_t)(next(rng) % live);
		emit(b, slot, 0);
		emit(b, slot, smm_trace_size(b->t->kind, rng));
	}
}

/* phased: each phase allocates a run of blocks within 10% of one size;
 * when live reaches the target, whole phases (the oldest half of the
 * time, else a random one) are freed until about half remain. Every
 * allocation gets a fresh slot. */
struct phase {
	size_t start, len;
};

static void free_phase(struct builder *b, struct phase *p)
{
	for (size_t i = 0; i < p->len; i++)
		emit(b, (uint32_t)(p->start + i), 0);
}

static void phased(struct builder *b, size_t live, size_t pairs, uint64_t *rng)
{
	struct phase *ph = NULL;
	size_t nphases = 0, cap = 0, first = 0, now = 0, frees = 0, slot = 0;

	while (!b->oom && frees < pairs) {
		uint32_t base = smm_trace_size(SMM_TRACE_POWERLAW, rng);
		size_t n = 1 + next(rng) % (live / 16 + 1);
		if (nphases == cap) {
			struct phase *p = realloc(ph, (cap ? cap * 2 : 64) * sizeof *p);
			if (!p) {
				b->oom = 1;
				break;
			}
			ph = p;
			cap = cap ? cap * 2 : 64;
		}
		ph[nphases++] = (struct phase){ slot, n };
		for (size_t i = 0; i < n; i++) {
			uint32_t size = (uint32_t)(base * (0.9 + 0.2 * unit(rng))) + 1;
			if (b->t->warm == 0)
				b->t->warm_bytes += size;
			emit(b, (uint32_t)slot++, size);
		}
		now += n;
		if (b->t->warm == 0 && now >= live) {
			b->t->warm = b->t->nops;
			b->t->warm_live = now;
		}
		if (b->t->warm == 0 || now < live)
			continue;
		while (now >= live / 2 && first < nphases) {
			struct phase *p = &ph[next(rng) % 2 ? first : first + next(rng) % (nphases - first)];
			free_phase(b, p);
			frees += p->len;
			now -= p->len;
			p->len = 0;
			while (first < nphases && ph[first].len == 0)
				first++;
		}
	}
	b->t->nslots = slot;
	free(ph);
}

int smm_trace_make(struct smm_trace *t, enum smm_trace_kind kind, size_t live, size_t pairs,
		   uint64_t seed)
{
	struct builder b = { .t = t };
	uint64_t rng = seed ? seed : 1;

	memset(t, 0, sizeof *t);
	t->kind = kind;
	if (kind == SMM_TRACE_PHASED) {
		phased(&b, live, pairs, &rng);
	} else {
		churn(&b, live, pairs, &rng);
	}
	free(b.sizes);
	if (b.oom) {
		smm_trace_free(t);
		return -1;
	}
	return 0;
}

void smm_trace_free(struct smm_trace *t)
{
	free(t->ops);
	memset(t, 0, sizeof *t);
}

const char *smm_trace_name(enum smm_trace_kind kind)
{
	return names[kind];
}

int smm_trace_parse(const char *name)
{
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (strcmp(names[i], name) == 0)
			return (int)i;
	return -1;
}

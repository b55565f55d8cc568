/* blocks.c — address-keyed hash table of live blocks.
 *
 * Linear probing with backward-shift deletion (no tombstones, so lookups
 * stay short after long churn). A slot is empty when its size is 0: live
 * blocks are never empty. */
#include "blocks.h"

#include <stdlib.h>
#include <string.h>

struct smm_blocks {
	struct smm_block *slots;
	size_t mask; /* capacity - 1; capacity is a power of two */
	size_t count;
};

#define MIN_CAPACITY 16

static size_t slot_of(const struct smm_blocks *t, uint64_t addr)
{
	/* Fibonacci hashing: addresses are often multiples of a stride. */
	return (size_t)((addr * 0x9E3779B97F4A7C15ULL) >> 32) & t->mask;
}

struct smm_blocks *smm_blocks_new(void)
{
	struct smm_blocks *t = calloc(1, sizeof *t);

	if (!t)
		return NULL;
	t->slots = calloc(MIN_CAPACITY, sizeof *t->slots);
	if (!t->slots) {
		free(t);
		return NULL;
	}
	t->mask = MIN_CAPACITY - 1;
	return t;
}

void smm_blocks_destroy(struct smm_blocks *t)
{
	if (t)
		free(t->slots);
	free(t);
}

static void place(struct smm_blocks *t, const struct smm_block *b)
{
	size_t i = slot_of(t, b->addr);

	while (t->slots[i].size != 0)
		i = (i + 1) & t->mask;
	t->slots[i] = *b;
}

static int grow(struct smm_blocks *t)
{
	size_t old_cap = t->mask + 1;
	struct smm_block *old = t->slots;
	struct smm_block *slots = calloc(old_cap * 2, sizeof *slots);

	if (!slots)
		return -1;
	t->slots = slots;
	t->mask = old_cap * 2 - 1;
	for (size_t i = 0; i < old_cap; i++)
		if (old[i].size != 0)
			place(t, &old[i]);
	free(old);
	return 0;
}

int smm_blocks_insert(struct smm_blocks *t, const struct smm_block *b)
{
	/* Keep the load at most 3/4 so probe runs stay short. */
	if ((t->count + 1) * 4 > (t->mask + 1) * 3 && grow(t) < 0)
		return -1;
	place(t, b);
	t->count++;
	return 0;
}

struct smm_block *smm_blocks_find(struct smm_blocks *t, uint64_t addr)
{
	for (size_t i = slot_of(t, addr); t->slots[i].size != 0; i = (i + 1) & t->mask)
		if (t->slots[i].addr == addr)
			return &t->slots[i];
	return NULL;
}

void smm_blocks_remove(struct smm_blocks *t, uint64_t addr)
{
	struct smm_block *b = smm_blocks_find(t, addr);
	size_t hole, i;

	if (!b)
		return;
	hole = (size_t)(b - t->slots);
	/* Shift later members of the probe run back over the hole when their
	 * home slot does not lie cyclically in (hole, i]. */
	for (i = (hole + 1) & t->mask; t->slots[i].size != 0; i = (i + 1) & t->mask) {
		size_t home = slot_of(t, t->slots[i].addr);
		if (((i - home) & t->mask) >= ((i - hole) & t->mask)) {
			t->slots[hole] = t->slots[i];
			hole = i;
		}
	}
	memset(&t->slots[hole], 0, sizeof t->slots[hole]);
	t->count--;
}

void smm_blocks_clear(struct smm_blocks *t)
{
	memset(t->slots, 0, (t->mask + 1) * sizeof *t->slots);
	t->count = 0;
}

size_t smm_blocks_count(const struct smm_blocks *t)
{
	return t->count;
}

size_t smm_blocks_bytes(const struct smm_blocks *t)
{
	return sizeof *t + (t->mask + 1) * sizeof *t->slots;
}

void smm_blocks_each(const struct smm_blocks *t,
		     void (*fn)(void *arg, const struct smm_block *b), void *arg)
{
	for (size_t i = 0; i <= t->mask; i++)
		if (t->slots[i].size != 0)
			fn(arg, &t->slots[i]);
}

/* map.c — the scaled memory map. Blocks come from the table in address
 * order and never overlap, so the cells fill in order: only one cell is
 * open at a time, and a block that covers whole cells settles them at
 * once. The open cell's bytes per owner sit in a small hash table whose
 * entries are stamped with the cell, so moving on clears nothing; the
 * owner is chosen when a cell closes. Every block costs O(1) expected
 * plus the cells it covers: O(k + cells) after the descent. */
#include "map.h"

#include <stdlib.h>

#define MIN_SLOTS 16u

struct entry {
	int64_t id;
	uint64_t bytes;
	size_t stamp; /* the cell this entry counts for, + 1; 0: never used */
};

struct tally {
	uint64_t offset, length, cells;
	struct smm_map_cell *out;
	size_t open;        /* the open cell, or SIZE_MAX */
	struct entry *slot; /* mask + 1 slots */
	size_t *live;       /* the open cell's slots, n of them */
	size_t mask, n;
	int oom;
	int (*unfilled)(const void *arg, const struct smm_block *b);
	const void *arg;
};

/* bound returns where cell i starts. */
static uint64_t bound(const struct tally *t, uint64_t i)
{
	return t->offset + (uint64_t)((unsigned __int128)t->length * i / t->cells);
}

/* cell_of returns the cell holding offset + r (r < length): the largest i
 * with length*i/cells <= r. */
static uint64_t cell_of(const struct tally *t, uint64_t r)
{
	return (uint64_t)(((unsigned __int128)(r + 1) * t->cells - 1) / t->length);
}

static void close_cell(struct tally *t)
{
	struct smm_map_cell *c;
	uint64_t best = 0;

	if (t->open == SIZE_MAX)
		return;
	c = &t->out[t->open];
	for (size_t i = 0; i < t->n; i++) {
		const struct entry *e = &t->slot[t->live[i]];
		if (e->bytes > best || (e->bytes == best && e->id < c->owner)) {
			best = e->bytes;
			c->owner = e->id;
		}
	}
	t->n = 0;
	t->open = SIZE_MAX;
}

static size_t home(const struct tally *t, int64_t id)
{
	return (size_t)(((uint64_t)id * 0x9E3779B97F4A7C15ULL) >> 32) & t->mask;
}

/* find_slot returns the open cell's slot for id, a free slot if none. */
static size_t find_slot(const struct tally *t, int64_t id)
{
	size_t s = home(t, id);

	while (t->slot[s].stamp == t->open + 1 && t->slot[s].id != id)
		s = (s + 1) & t->mask;
	return s;
}

/* grow doubles the table, keeping the open cell's entries. */
static int grow(struct tally *t)
{
	size_t cap = (t->mask + 1) * 2;
	struct entry *old = t->slot;
	struct entry *slot = calloc(cap, sizeof *slot);
	size_t *live = realloc(t->live, cap / 2 * sizeof *live);

	if (live)
		t->live = live;
	if (!slot || !live) {
		free(slot);
		return -1;
	}
	t->slot = slot;
	t->mask = cap - 1;
	for (size_t i = 0; i < t->n; i++) {
		struct entry e = old[t->live[i]];
		size_t s = find_slot(t, e.id);
		t->slot[s] = e;
		t->live[i] = s;
	}
	free(old);
	return 0;
}

/* add counts bytes of owner id in cell c (>= the open one). */
static int add(struct tally *t, size_t c, int64_t id, uint64_t bytes)
{
	size_t s;

	if (c != t->open) {
		close_cell(t);
		t->open = c;
	}
	t->out[c].used += bytes;
	s = find_slot(t, id);
	if (t->slot[s].stamp != c + 1) {
		if ((t->n + 1) * 2 > t->mask + 1) {
			if (grow(t) < 0)
				return -1;
			s = find_slot(t, id);
		}
		t->slot[s] = (struct entry){ .id = id, .stamp = c + 1 };
		t->live[t->n++] = s;
	}
	t->slot[s].bytes += bytes;
	return 0;
}

/* block_cb adds the part of block b inside the window to its cells. */
static int block_cb(void *arg, const struct smm_block *b)
{
	struct tally *t = arg;
	uint64_t end = t->offset + t->length;
	uint64_t s = b->addr > t->offset ? b->addr : t->offset;
	uint64_t e = b->addr + b->size < end ? b->addr + b->size : end;
	uint64_t first = cell_of(t, s - t->offset), last = cell_of(t, e - 1 - t->offset);
	int unfilled = t->unfilled && t->unfilled(t->arg, b);

	for (uint64_t c = first; c <= last; c++) {
		uint64_t lo = c == first ? s : bound(t, c);
		uint64_t hi = c == last ? e : bound(t, c + 1);
		if (unfilled)
			t->out[c].unfilled += hi - lo;
		if (add(t, (size_t)c, b->id, hi - lo) < 0) {
			t->oom = 1;
			return 1;
		}
	}
	return 0;
}

int smm_map_cells(const struct smm_blocks *blocks, uint64_t offset, uint64_t length,
		  size_t cells, struct smm_map_cell *out)
{
	return smm_map_cells_marked(blocks, offset, length, cells, NULL, NULL, out);
}

int smm_map_cells_marked(const struct smm_blocks *blocks, uint64_t offset, uint64_t length,
			 size_t cells, int (*unfilled)(const void *arg, const struct smm_block *b),
			 const void *arg, struct smm_map_cell *out)
{
	struct tally t = { .offset = offset, .length = length, .cells = cells, .out = out,
			   .open = SIZE_MAX, .mask = MIN_SLOTS - 1, .unfilled = unfilled,
			   .arg = arg };
	int rc = -1;

	if (cells == 0 || offset + length < offset)
		return -1;
	for (size_t i = 0; i < cells; i++)
		out[i] = (struct smm_map_cell){ .used = 0, .unfilled = 0, .owner = SMM_MAP_NO_OWNER };
	if (length == 0)
		return 0;
	t.slot = calloc(MIN_SLOTS, sizeof *t.slot);
	t.live = malloc(MIN_SLOTS / 2 * sizeof *t.live);
	if (!t.slot || !t.live)
		goto out;
	smm_blocks_range(blocks, offset, offset + length, block_cb, &t);
	if (t.oom)
		goto out;
	close_cell(&t);
	rc = 0;
out:
	free(t.slot);
	free(t.live);
	return rc;
}

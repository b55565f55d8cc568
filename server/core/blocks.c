/* blocks.c — address-keyed table of live blocks, compact for millions.
 *
 * Records sit in fixed pages, 24 bytes each: the key, then the address
 * (48 bits), the size (48 bits) and the owner id (32 bits) packed into two
 * words. A removed record (size 0) goes on a list of spares threaded
 * through its key, and the next insert reuses it, so the pages hold the
 * most blocks ever live at once. An open-addressing index finds them by
 * address: linear probing with backward-shift deletion, no tombstones. A
 * slot is 8 bytes, the address's 32-bit hash above the record number + 1
 * (0 is empty): a probe reads a record only when the hashes match, and
 * deletion finds each entry's home slot from its hash without reading
 * records, so a lookup or a removal costs about one record read. A block
 * costs 24 bytes of record and 11 to 22 of index (the load stays between
 * 3/8 and 3/4). */
#include "blocks.h"

#include <stdlib.h>
#include <string.h>

#include "bigmem.h"

#define PAGE_SHIFT 8 /* 256 records, 6 KiB, per page */
#define PAGE_RECORDS (1u << PAGE_SHIFT)
#define MIN_SLOTS 16u

#define LOW48 ((1ull << 48) - 1)

/* One block, packed: lo = addr | size << 48, hi = size >> 16 | id << 32. */
struct record {
	uint64_t key;
	uint64_t lo, hi;
};

struct smm_blocks {
	struct smm_bigmem_pages pages;
	uint64_t *slots;
	size_t mask;  /* slots - 1; a power of two */
	size_t hint;  /* the slot the last find returned, to remove without a probe */
	size_t count; /* live records */
	size_t used;  /* records 0 .. used-1 were ever handed out */
	size_t spare; /* first spare record, or SIZE_MAX */
};

static struct record *record(const struct smm_blocks *t, size_t i)
{
	return (struct record *)(void *)t->pages.page[i >> PAGE_SHIFT] + (i & (PAGE_RECORDS - 1));
}

static uint64_t addr_of(const struct record *r)
{
	return r->lo & LOW48;
}

static uint64_t size_of(const struct record *r)
{
	return r->lo >> 48 | (r->hi & 0xFFFFFFFFull) << 16;
}

static void unpack(const struct record *r, struct smm_block *b)
{
	b->addr = addr_of(r);
	b->size = size_of(r);
	b->key = r->key;
	b->id = (int32_t)(uint32_t)(r->hi >> 32);
}

static uint32_t hash_of(uint64_t addr)
{
	/* Fibonacci hashing: addresses are often multiples of a stride. */
	return (uint32_t)((addr * 0x9E3779B97F4A7C15ULL) >> 32);
}

static size_t index_of(uint64_t slot)
{
	return (size_t)(uint32_t)slot - 1;
}

struct smm_blocks *smm_blocks_new(void)
{
	struct smm_blocks *t = calloc(1, sizeof *t);

	if (!t)
		return NULL;
	t->slots = calloc(MIN_SLOTS, sizeof *t->slots);
	if (!t->slots) {
		free(t);
		return NULL;
	}
	t->mask = MIN_SLOTS - 1;
	t->spare = SIZE_MAX;
	t->pages.size = PAGE_RECORDS * sizeof(struct record);
	return t;
}

void smm_blocks_destroy(struct smm_blocks *t)
{
	if (!t)
		return;
	smm_bigmem_pages_free(&t->pages);
	free(t->slots);
	free(t);
}

static void place(struct smm_blocks *t, uint64_t addr, size_t i)
{
	uint32_t h = hash_of(addr);
	size_t s = h & t->mask;

	while (t->slots[s] != 0)
		s = (s + 1) & t->mask;
	t->slots[s] = (uint64_t)h << 32 | (uint64_t)(i + 1);
}

static int grow_slots(struct smm_blocks *t)
{
	size_t cap = (t->mask + 1) * 2;
	uint64_t *slots = smm_bigmem_alloc(cap * sizeof *slots, 1);

	if (!slots)
		return -1;
	free(t->slots);
	t->slots = slots;
	t->mask = cap - 1;
	for (size_t i = 0; i < t->used; i++)
		if (size_of(record(t, i)) != 0)
			place(t, addr_of(record(t, i)), i);
	return 0;
}

int smm_blocks_insert(struct smm_blocks *t, const struct smm_block *b)
{
	size_t i = t->spare;
	struct record *r;

	if (b->addr > LOW48 || b->size == 0 || b->size > LOW48 || b->id < INT32_MIN ||
	    b->id > INT32_MAX)
		return -1;
	if (i == SIZE_MAX) {
		if (t->used >= UINT32_MAX - 1)
			return -1;
		if (t->used == t->pages.n * PAGE_RECORDS && smm_bigmem_pages_add(&t->pages) < 0)
			return -1;
		i = t->used;
	}
	/* Keep the load at most 3/4 so probe runs stay short. */
	if ((t->count + 1) * 4 > (t->mask + 1) * 3 && grow_slots(t) < 0)
		return -1;
	r = record(t, i);
	if (i == t->spare)
		t->spare = (size_t)r->key;
	else
		t->used++;
	r->key = b->key;
	r->lo = b->addr | b->size << 48;
	r->hi = b->size >> 16 | (uint64_t)(uint32_t)b->id << 32;
	place(t, b->addr, i);
	t->count++;
	return 0;
}

/* slot_of returns the index slot of the block at addr, or SIZE_MAX. */
static size_t slot_of(const struct smm_blocks *t, uint64_t addr)
{
	uint32_t h = hash_of(addr);

	for (size_t s = h & t->mask; t->slots[s] != 0; s = (s + 1) & t->mask)
		if ((uint32_t)(t->slots[s] >> 32) == h && addr_of(record(t, index_of(t->slots[s]))) == addr)
			return s;
	return SIZE_MAX;
}

int smm_blocks_find(struct smm_blocks *t, uint64_t addr, struct smm_block *out)
{
	size_t s = slot_of(t, addr);

	if (s == SIZE_MAX)
		return -1;
	t->hint = s;
	unpack(record(t, index_of(t->slots[s])), out);
	return 0;
}

/* unindex empties slot hole, shifting later members of its probe run back
 * over it when their home slot does not lie cyclically in (hole, i]. */
static void unindex(struct smm_blocks *t, size_t hole)
{
	for (size_t i = (hole + 1) & t->mask; t->slots[i] != 0; i = (i + 1) & t->mask) {
		size_t home = (size_t)(t->slots[i] >> 32) & t->mask;
		if (((i - home) & t->mask) >= ((i - hole) & t->mask)) {
			t->slots[hole] = t->slots[i];
			hole = i;
		}
	}
	t->slots[hole] = 0;
}

void smm_blocks_remove(struct smm_blocks *t, uint64_t addr)
{
	size_t s = t->hint, i;

	/* Freeing finds the block first: then its slot is known. */
	if (t->slots[s] == 0 || addr_of(record(t, index_of(t->slots[s]))) != addr)
		s = slot_of(t, addr);
	if (s == SIZE_MAX)
		return;
	i = index_of(t->slots[s]);
	unindex(t, s);
	*record(t, i) = (struct record){ .key = t->spare };
	t->spare = i;
	t->count--;
}

void smm_blocks_clear(struct smm_blocks *t)
{
	memset(t->slots, 0, (t->mask + 1) * sizeof *t->slots);
	t->count = 0;
	t->used = 0;
	t->spare = SIZE_MAX;
}

size_t smm_blocks_count(const struct smm_blocks *t)
{
	return t->count;
}

size_t smm_blocks_bytes(const struct smm_blocks *t)
{
	return sizeof *t + smm_bigmem_pages_bytes(&t->pages) +
	       (t->mask + 1) * sizeof *t->slots;
}

void smm_blocks_each(const struct smm_blocks *t,
		     void (*fn)(void *arg, const struct smm_block *b), void *arg)
{
	struct smm_block b;

	for (size_t i = 0; i < t->used; i++) {
		if (size_of(record(t, i)) == 0)
			continue;
		unpack(record(t, i), &b);
		fn(arg, &b);
	}
}

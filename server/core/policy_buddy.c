/* policy_buddy.c — the binary buddy system (Knowlton, 1965).
 *
 * A request is rounded up to a power of two, and to at least --align, and
 * granted from a block of that size: a larger free block is halved until
 * one half fits; a freed block merges with its buddy (its other half)
 * while the buddy is wholly free. Blocks of size 2^k start at multiples of
 * 2^k, so every grant is naturally aligned.
 *
 * An arena whose size is not a power of two is covered by maximal
 * power-of-two top-level blocks, largest first: its binary expansion
 * (150 = 128 + 16 + 4 + 2 at 0, 128, 144, 148). Each starts at a multiple
 * of its size, and a block at addr of size 2^k has a buddy exactly when
 * the enclosing 2^(k+1) block, at addr & ~(2^(k+1) - 1), ends inside the
 * arena. So no byte is wasted, but the largest grant is the largest
 * top-level block, and those never merge with each other.
 *
 * Free blocks are out-of-band records on one list per order, with a bitmap
 * of non-empty orders; a hash by start finds a buddy, a hash by end finds
 * free neighbours to count maximal free runs. malloc and free are
 * O(log size) at worst (one step per order split or merged), O(1) in the
 * number of blocks. */
#include "policy.h"

#include <stdlib.h>

#include "spans.h"

#define ORDERS 64
#define NIL SMM_NODES_NONE

struct smm_policy {
	uint64_t size, align;
	uint64_t orders;       /* bit k: heads[k] is a list */
	uint32_t heads[ORDERS];
	uint64_t runs;         /* maximal runs of free bytes */
	struct smm_spans free;
};

static struct smm_span *at(const struct smm_policy *p, uint32_t id)
{
	return smm_spans_at(&p->free, id);
}

static unsigned order_of(uint64_t size)
{
	return 63u - (unsigned)__builtin_clzll(size);
}

/* push files free block x (order k) on its list and in both maps. */
static void push(struct smm_policy *p, uint32_t x, uint64_t addr, unsigned k)
{
	at(p, x)->addr = addr;
	at(p, x)->size = 1ull << k;
	smm_spans_push(&p->free, &p->heads[k], x);
	p->orders |= 1ull << k;
	smm_spans_index(&p->free, x);
}

/* pull takes free block x off its list and out of both maps. */
static void pull(struct smm_policy *p, uint32_t x)
{
	unsigned k = order_of(at(p, x)->size);

	smm_spans_unindex(&p->free, x);
	if (smm_spans_unlink(&p->free, &p->heads[k], x))
		p->orders &= ~(1ull << k);
}

static void buddy_reset(struct smm_policy *p)
{
	uint64_t addr = 0;

	p->orders = 0;
	for (unsigned k = 0; k < ORDERS; k++)
		p->heads[k] = NIL;
	smm_spans_clear(&p->free);
	/* Room for the top-level blocks was reserved by create. */
	for (unsigned k = ORDERS; k-- > 0;) {
		if (!(p->size & (1ull << k)))
			continue;
		push(p, smm_spans_get(&p->free), addr, k);
		addr += 1ull << k;
	}
	p->runs = 1;
}

static void buddy_destroy(struct smm_policy *p)
{
	if (p)
		smm_spans_free(&p->free);
	free(p);
}

static struct smm_policy *buddy_create(uint64_t size, uint64_t align)
{
	struct smm_policy *p = calloc(1, sizeof *p);
	unsigned tops = (unsigned)__builtin_popcountll(size);

	if (!p)
		return NULL;
	p->size = size;
	p->align = align;
	/* One page of records holds every top-level block (at most 64). */
	if (smm_spans_init(&p->free, tops) < 0 || smm_spans_get(&p->free) == NIL) {
		buddy_destroy(p);
		return NULL;
	}
	buddy_reset(p);
	return p;
}

/* take_spares takes n fresh records (with map room) into spare[] for the
 * halves a split leaves, all before anything moves; or none, returning -1,
 * when memory ran out. */
static int take_spares(struct smm_policy *p, unsigned n, uint32_t *spare)
{
	if (smm_spans_room(&p->free, n) < 0)
		return -1;
	for (unsigned i = 0; i < n; i++) {
		spare[i] = smm_spans_get(&p->free);
		if (spare[i] == NIL) {
			while (i-- > 0)
				smm_spans_put(&p->free, spare[i]);
			return -1;
		}
	}
	return 0;
}

/* grant_order returns the order of the block granted for size, or ORDERS
 * when no power of two can hold it. */
static unsigned grant_order(const struct smm_policy *p, uint64_t size)
{
	unsigned k = size <= 1 ? 0 : order_of(size - 1) + 1;
	unsigned a = order_of(p->align);

	return k > a ? k : a;
}

static int buddy_alloc(struct smm_policy *p, uint64_t size, uint64_t *addr, uint64_t *granted)
{
	unsigned k = grant_order(p, size), j;
	uint64_t fits, a;
	uint32_t x, spare[ORDERS];
	int left, right;

	fits = k < ORDERS ? p->orders & (~0ull << k) : 0;
	if (fits == 0)
		return -1;
	j = (unsigned)__builtin_ctzll(fits);
	if (take_spares(p, j - k, spare) < 0)
		return -1;
	x = p->heads[j];
	a = at(p, x)->addr;
	left = smm_spans_ending(&p->free, a) != NIL;
	pull(p, x);
	smm_spans_put(&p->free, x);
	for (unsigned i = j; i > k; i--)
		push(p, spare[j - i], a + (1ull << (i - 1)), i - 1);
	right = j > k || smm_spans_starting(&p->free, a + (1ull << k)) != NIL;
	p->runs = p->runs + (uint64_t)left + (uint64_t)right - 1;
	*addr = a;
	*granted = 1ull << k;
	return 0;
}

/* holder returns the free block holding the order-k block at addr (a
 * multiple of 2^k), setting *order to its order, or NIL. */
static uint32_t holder(const struct smm_policy *p, uint64_t addr, unsigned k, unsigned *order)
{
	for (unsigned j = k; j < ORDERS; j++) {
		uint32_t x = smm_spans_starting(&p->free, addr & ~((1ull << j) - 1));
		if (x != NIL && at(p, x)->size == 1ull << j) {
			*order = j;
			return x;
		}
	}
	return NIL;
}

/* buddy_claim halves the free block holding addr down to the order of
 * size, freeing at each step the half that does not hold addr. */
static int buddy_claim(struct smm_policy *p, uint64_t addr, uint64_t size, uint64_t hole,
		       uint64_t *granted)
{
	unsigned k = grant_order(p, size), j = 0;
	uint32_t x, spare[ORDERS];
	uint64_t b;
	int left, right;

	(void)hole;
	if (k >= ORDERS || (addr & ((1ull << k) - 1)) || (x = holder(p, addr, k, &j)) == NIL ||
	    take_spares(p, j - k, spare) < 0)
		return -1;
	b = at(p, x)->addr;
	pull(p, x);
	smm_spans_put(&p->free, x);
	for (unsigned i = j; i > k; i--) {
		uint64_t half = 1ull << (i - 1);
		push(p, spare[j - i], addr & half ? b : b + half, i - 1);
		b += addr & half;
	}
	left = smm_spans_ending(&p->free, addr) != NIL;
	right = smm_spans_starting(&p->free, addr + (1ull << k)) != NIL;
	p->runs = p->runs + (uint64_t)left + (uint64_t)right - 1;
	*granted = 1ull << k;
	return 0;
}

/* buddy_of returns the free record that is the buddy of the order-k block
 * at addr, or NIL. */
static uint32_t buddy_of(const struct smm_policy *p, uint64_t addr, unsigned k)
{
	uint64_t pair = 2ull << k;
	uint32_t b;

	if (k + 1 >= ORDERS || (addr & ~(pair - 1)) + pair > p->size)
		return NIL;
	b = smm_spans_starting(&p->free, addr ^ (1ull << k));
	return b != NIL && at(p, b)->size == 1ull << k ? b : NIL;
}

static void buddy_release(struct smm_policy *p, uint64_t addr, uint64_t granted)
{
	unsigned k = order_of(granted);
	int left = smm_spans_ending(&p->free, addr) != NIL;
	int right = smm_spans_starting(&p->free, addr + granted) != NIL;
	uint32_t x = NIL, b;

	while ((b = buddy_of(p, addr, k)) != NIL) {
		pull(p, b);
		if (x != NIL)
			smm_spans_put(&p->free, x);
		x = b;
		addr &= ~(1ull << k);
		k++;
	}
	if (x == NIL &&
	    ((x = smm_spans_get(&p->free)) == NIL || smm_spans_room(&p->free, 1) < 0)) {
		if (x != NIL)
			smm_spans_put(&p->free, x);
		return; /* out of memory: the block stays unusable until reset */
	}
	push(p, x, addr, k);
	p->runs = p->runs + 1 - (uint64_t)left - (uint64_t)right;
}

static uint64_t buddy_largest_free(const struct smm_policy *p)
{
	return p->orders ? 1ull << order_of(p->orders) : 0;
}

static uint64_t buddy_free_extents(const struct smm_policy *p)
{
	return p->runs;
}

static size_t buddy_metadata_bytes(const struct smm_policy *p)
{
	return sizeof *p + smm_spans_bytes(&p->free);
}

const struct smm_policy_ops smm_policy_buddy = {
	.name = "buddy",
	.create = buddy_create,
	.destroy = buddy_destroy,
	.alloc = buddy_alloc,
	.claim = buddy_claim,
	.release = buddy_release,
	.reset = buddy_reset,
	.largest_free = buddy_largest_free,
	.free_extents = buddy_free_extents,
	.metadata_bytes = buddy_metadata_bytes,
};

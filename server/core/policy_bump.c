/* policy_bump.c — the seed's placement: grants laid end to end from 0.
 *
 * Freed space is reused only from the top: live blocks sit on a stack in
 * address order (bump grants only ever grow), a free in the middle marks
 * its entry dead, and freeing the top pops every dead entry beneath it.
 * Free is O(log n) (binary search), alloc O(1) amortised. */
#include "policy.h"

#include <stdlib.h>

struct entry {
	uint64_t addr, end;
	int live;
};

struct smm_policy {
	uint64_t size, align, top;
	struct entry *stack;
	size_t n, cap;
	uint64_t dead_runs; /* maximal runs of dead entries below the top */
};

static struct smm_policy *bump_create(uint64_t size, uint64_t align)
{
	struct smm_policy *p = calloc(1, sizeof *p);

	if (p) {
		p->size = size;
		p->align = align;
	}
	return p;
}

static void bump_destroy(struct smm_policy *p)
{
	if (p)
		free(p->stack);
	free(p);
}

static uint64_t align_up(uint64_t x, uint64_t align)
{
	return (x + align - 1) & ~(align - 1);
}

/* reserve makes room for n more entries. Returns -1 when memory ran out. */
static int reserve(struct smm_policy *p, size_t n)
{
	size_t cap = p->cap ? p->cap : 64;
	struct entry *s;

	while (cap - p->n < n)
		cap *= 2;
	if (cap == p->cap)
		return 0;
	if (!(s = realloc(p->stack, cap * sizeof *s)))
		return -1;
	p->stack = s;
	p->cap = cap;
	return 0;
}

static int bump_alloc(struct smm_policy *p, uint64_t size, uint64_t *addr, uint64_t *granted)
{
	uint64_t start = align_up(p->top, p->align);

	if (start < p->top || start > p->size || size > p->size - start)
		return -1;
	if (reserve(p, 1) < 0)
		return -1;
	p->stack[p->n++] = (struct entry){ start, start + size, 1 };
	p->top = start + size;
	*addr = start;
	*granted = size;
	return 0;
}

/* bump_claim raises the top to the end of the block at addr. Space
 * skipped between the top and addr (more than alignment padding) becomes
 * a dead entry: what freed blocks there would have left. */
static int bump_claim(struct smm_policy *p, uint64_t addr, uint64_t size, uint64_t hole,
		      uint64_t *granted)
{
	uint64_t start = align_up(p->top, p->align);

	(void)hole;
	if (addr < p->top || (addr & (p->align - 1)) || addr > p->size ||
	    size > p->size - addr || reserve(p, 2) < 0)
		return -1;
	if (addr > start) {
		/* The entry below is live (a dead top is always popped). */
		p->stack[p->n++] = (struct entry){ p->top, addr, 0 };
		p->dead_runs++;
	}
	p->stack[p->n++] = (struct entry){ addr, addr + size, 1 };
	p->top = addr + size;
	*granted = size;
	return 0;
}

static size_t find(const struct smm_policy *p, uint64_t addr)
{
	size_t lo = 0, hi = p->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (p->stack[mid].addr < addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static void bump_release(struct smm_policy *p, uint64_t addr, uint64_t granted)
{
	size_t i = find(p, addr);
	int left, right;

	(void)granted;
	if (i >= p->n || p->stack[i].addr != addr || !p->stack[i].live)
		return;
	p->stack[i].live = 0;
	left = i > 0 && !p->stack[i - 1].live;
	right = i + 1 < p->n && !p->stack[i + 1].live;
	if (!left && !right)
		p->dead_runs++;
	else if (left && right)
		p->dead_runs--;
	if (p->stack[p->n - 1].live)
		return;
	/* The top is dead: pop its whole run, which was one counted run. */
	while (p->n > 0 && !p->stack[p->n - 1].live)
		p->n--;
	p->dead_runs--;
	p->top = p->n ? p->stack[p->n - 1].end : 0;
}

static void bump_reset(struct smm_policy *p)
{
	p->n = 0;
	p->top = 0;
	p->dead_runs = 0;
}

static uint64_t bump_largest_free(const struct smm_policy *p)
{
	uint64_t start = align_up(p->top, p->align);

	return start >= p->size ? 0 : p->size - start;
}

static uint64_t bump_free_extents(const struct smm_policy *p)
{
	return p->dead_runs + (p->top < p->size);
}

static size_t bump_metadata_bytes(const struct smm_policy *p)
{
	return sizeof *p + p->cap * sizeof *p->stack;
}

const struct smm_policy_ops smm_policy_bump = {
	.name = "bump",
	.create = bump_create,
	.destroy = bump_destroy,
	.alloc = bump_alloc,
	.claim = bump_claim,
	.release = bump_release,
	.reset = bump_reset,
	.largest_free = bump_largest_free,
	.free_extents = bump_free_extents,
	.metadata_bytes = bump_metadata_bytes,
};

/* policy_tlsf.c — Two-Level Segregated Fit (Masmano et al., 2004).
 *
 * Free extents sit on LIFO lists by size class: the first level is the
 * power of two of the usable size, the second splits each power of two
 * into 32 steps (sizes below 32 get a class each). Two bitmaps say which
 * lists are non-empty, so a search is two find-first-set operations: a
 * request is rounded up to the next class boundary and any extent there
 * fits. Extents are out-of-band records; the hash maps by start and by end
 * address are the boundary tags that let a free merge with its neighbours
 * in O(1). malloc and free are O(1) (expected, for the hashes).
 *
 * As in TLSF, a request just below an extent's size can miss it (good fit,
 * not best fit): when the rounded search fails, the head of the request's
 * own class is tried too, so a lone extent can always be granted whole. */
#include "policy.h"

#include <stdlib.h>

#include "spans.h"

#define SL_BITS 5                   /* 32 second-level classes */
#define SL_COUNT (1u << SL_BITS)
#define FL_COUNT (64 - SL_BITS + 1) /* first levels for 64-bit sizes */
#define NIL SMM_NODES_NONE

struct smm_policy {
	uint64_t size, align;
	uint64_t fl_map;              /* bit f: sl_map[f] != 0 */
	uint32_t sl_map[FL_COUNT];    /* bit s: heads[f][s] is a list */
	uint32_t heads[FL_COUNT][SL_COUNT];
	struct smm_spans free;
};

struct cls {
	unsigned fl, sl;
};

static unsigned log2_floor(uint64_t x)
{
	return 63u - (unsigned)__builtin_clzll(x);
}

/* class_of returns the class whose range holds size (>= 1). */
static struct cls class_of(uint64_t size)
{
	unsigned f;

	if (size < SL_COUNT)
		return (struct cls){ 0, (unsigned)size };
	f = log2_floor(size);
	return (struct cls){ f - SL_BITS + 1, (unsigned)(size >> (f - SL_BITS)) ^ SL_COUNT };
}

/* class_low returns the smallest size in class c. */
static uint64_t class_low(struct cls c)
{
	if (c.fl == 0)
		return c.sl;
	return (uint64_t)(SL_COUNT | c.sl) << (c.fl - 1);
}

static struct smm_span *at(const struct smm_policy *p, uint32_t id)
{
	return smm_spans_at(&p->free, id);
}

static uint64_t usable(const struct smm_policy *p, const struct smm_span *n)
{
	return smm_span_usable(n->addr, n->size, p->align);
}

/* list_of sets *c to span x's class and returns its list, or NULL for a
 * span too small to grant anything: those are kept only in the maps. */
static uint32_t *list_of(struct smm_policy *p, uint32_t x, struct cls *c)
{
	uint64_t u = usable(p, at(p, x));

	if (u == 0)
		return NULL;
	*c = class_of(u);
	return &p->heads[c->fl][c->sl];
}

/* list_add files span x on its class list. */
static void list_add(struct smm_policy *p, uint32_t x)
{
	struct cls c;
	uint32_t *head = list_of(p, x, &c);

	if (!head)
		return;
	smm_spans_push(&p->free, head, x);
	p->sl_map[c.fl] |= 1u << c.sl;
	p->fl_map |= 1ull << c.fl;
}

/* list_del takes span x off its class list (its range unchanged since
 * list_add). */
static void list_del(struct smm_policy *p, uint32_t x)
{
	struct cls c;
	uint32_t *head = list_of(p, x, &c);

	if (head && smm_spans_unlink(&p->free, head, x)) {
		p->sl_map[c.fl] &= ~(1u << c.sl);
		if (p->sl_map[c.fl] == 0)
			p->fl_map &= ~(1ull << c.fl);
	}
}

/* file indexes a new span x everywhere (map room reserved). */
static void file(struct smm_policy *p, uint32_t x, uint64_t addr, uint64_t size)
{
	at(p, x)->addr = addr;
	at(p, x)->size = size;
	smm_spans_index(&p->free, x);
	list_add(p, x);
}

/* search returns a free record that can grant size bytes, or NIL. */
static uint32_t search(const struct smm_policy *p, uint64_t size)
{
	struct cls want = class_of(size), c = want;
	uint64_t step = c.fl == 0 ? 0 : (1ull << (c.fl - 1)) - 1;
	uint32_t sl_map;
	uint64_t fl_map;

	if (size + step >= size) { /* round up to the next class boundary */
		c = class_of(size + step);
		sl_map = p->sl_map[c.fl] & (~0u << c.sl);
		if (sl_map == 0) {
			fl_map = c.fl + 1 < 64 ? p->fl_map & (~0ull << (c.fl + 1)) : 0;
			if (fl_map != 0) {
				c.fl = (unsigned)__builtin_ctzll(fl_map);
				sl_map = p->sl_map[c.fl];
			}
		}
		if (sl_map != 0)
			return p->heads[c.fl][__builtin_ctz(sl_map)];
	}
	uint32_t head = p->heads[want.fl][want.sl];
	return head != NIL && usable(p, at(p, head)) >= size ? head : NIL;
}

static void clear_lists(struct smm_policy *p)
{
	p->fl_map = 0;
	for (unsigned f = 0; f < FL_COUNT; f++) {
		p->sl_map[f] = 0;
		for (unsigned s = 0; s < SL_COUNT; s++)
			p->heads[f][s] = NIL;
	}
}

static void tlsf_reset(struct smm_policy *p)
{
	clear_lists(p);
	smm_spans_clear(&p->free);
	/* After a clear this reuses a page; create reserved map room. */
	file(p, smm_spans_get(&p->free), 0, p->size);
}

static void tlsf_destroy(struct smm_policy *p)
{
	if (p)
		smm_spans_free(&p->free);
	free(p);
}

static struct smm_policy *tlsf_create(uint64_t size, uint64_t align)
{
	struct smm_policy *p = calloc(1, sizeof *p);

	if (!p)
		return NULL;
	p->size = size;
	p->align = align;
	if (smm_spans_init(&p->free, 1) < 0 || smm_spans_get(&p->free) == NIL) {
		tlsf_destroy(p);
		return NULL;
	}
	tlsf_reset(p);
	return p;
}

/* split_record returns a fresh span with map room for it, for a carve
 * that leaves free space on both sides, or NIL (nothing taken) when memory
 * ran out. */
static uint32_t split_record(struct smm_policy *p)
{
	uint32_t y = smm_spans_get(&p->free);

	if (y != NIL && smm_spans_room(&p->free, 1) < 0) {
		smm_spans_put(&p->free, y);
		y = NIL;
	}
	return y;
}

/* carve takes [a, a+size) out of free span x (off its list), keeping x
 * for the padding below a or else the rest above, and y (a fresh span
 * with map room, or NIL when not both remain) for the rest. */
static void carve(struct smm_policy *p, uint32_t x, uint32_t y, uint64_t a, uint64_t size)
{
	struct smm_span *n = at(p, x);
	uint64_t start = n->addr, end = n->addr + n->size;

	if (a == start && a + size == end) {
		smm_spans_unindex(&p->free, x);
		smm_spans_put(&p->free, x);
		return;
	}
	if (a == start) {
		smm_spans_move_start(&p->free, x, a + size);
	} else if (a + size == end) {
		smm_spans_move_end(&p->free, x, a);
	} else {
		smm_spans_split(&p->free, x, y, a, a + size);
		list_add(p, y);
	}
	list_add(p, x);
}

static int tlsf_alloc(struct smm_policy *p, uint64_t size, uint64_t *addr, uint64_t *granted)
{
	uint32_t x = search(p, size), y = NIL;
	struct smm_span *n;
	uint64_t a;

	if (x == NIL)
		return -1;
	n = at(p, x);
	a = (n->addr + p->align - 1) & ~(p->align - 1);
	if (a > n->addr && a + size < n->addr + n->size && (y = split_record(p)) == NIL)
		return -1;
	list_del(p, x);
	carve(p, x, y, a, size);
	*addr = a;
	*granted = size;
	return 0;
}

/* tlsf_claim carves the block at addr out of the free span holding it:
 * free spans are maximal, so the one holding addr ends at hole. */
static int tlsf_claim(struct smm_policy *p, uint64_t addr, uint64_t size, uint64_t hole,
		      uint64_t *granted)
{
	uint32_t x = smm_spans_ending(&p->free, hole), y = NIL;
	uint64_t start, end;

	if (x == NIL || (addr & (p->align - 1)))
		return -1;
	start = at(p, x)->addr;
	end = start + at(p, x)->size;
	if (addr < start || addr >= end || size > end - addr)
		return -1;
	if (addr > start && addr + size < end && (y = split_record(p)) == NIL)
		return -1;
	list_del(p, x);
	carve(p, x, y, addr, size);
	*granted = size;
	return 0;
}

static void tlsf_release(struct smm_policy *p, uint64_t addr, uint64_t granted)
{
	uint32_t lo = smm_spans_ending(&p->free, addr);
	uint32_t hi = smm_spans_starting(&p->free, addr + granted);
	uint32_t x;

	if (lo != NIL && hi != NIL) {
		list_del(p, lo);
		list_del(p, hi);
		smm_spans_join(&p->free, lo, hi);
		list_add(p, lo);
	} else if (lo != NIL) {
		list_del(p, lo);
		smm_spans_move_end(&p->free, lo, addr + granted);
		list_add(p, lo);
	} else if (hi != NIL) {
		list_del(p, hi);
		smm_spans_move_start(&p->free, hi, addr);
		list_add(p, hi);
	} else if ((x = smm_spans_get(&p->free)) != NIL) {
		if (smm_spans_room(&p->free, 1) < 0)
			smm_spans_put(&p->free, x);
		else
			file(p, x, addr, granted);
	}
	/* else out of memory: the range stays unusable until reset */
}

static uint64_t tlsf_largest_free(const struct smm_policy *p)
{
	struct cls c;
	uint64_t low, head;

	if (p->fl_map == 0)
		return 0;
	c.fl = log2_floor(p->fl_map);
	c.sl = log2_floor(p->sl_map[c.fl]);
	low = class_low(c);
	head = usable(p, at(p, p->heads[c.fl][c.sl]));
	return head > low ? head : low;
}

static uint64_t tlsf_free_extents(const struct smm_policy *p)
{
	return smm_spans_count(&p->free);
}

static size_t tlsf_metadata_bytes(const struct smm_policy *p)
{
	return sizeof *p + smm_spans_bytes(&p->free);
}

const struct smm_policy_ops smm_policy_tlsf = {
	.name = "tlsf",
	.create = tlsf_create,
	.destroy = tlsf_destroy,
	.alloc = tlsf_alloc,
	.claim = tlsf_claim,
	.release = tlsf_release,
	.reset = tlsf_reset,
	.largest_free = tlsf_largest_free,
	.free_extents = tlsf_free_extents,
	.metadata_bytes = tlsf_metadata_bytes,
};

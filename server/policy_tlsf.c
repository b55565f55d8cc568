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

#include "nodemap.h"
#include "nodes.h"

#define SL_BITS 5                   /* 32 second-level classes */
#define SL_COUNT (1u << SL_BITS)
#define FL_COUNT (64 - SL_BITS + 1) /* first levels for 64-bit sizes */
#define NIL SMM_NODES_NONE
#define PREV 0
#define NEXT 1

struct smm_policy {
	uint64_t size, align;
	uint64_t fl_map;              /* bit f: sl_map[f] != 0 */
	uint32_t sl_map[FL_COUNT];    /* bit s: heads[f][s] is a list */
	uint32_t heads[FL_COUNT][SL_COUNT];
	struct smm_nodes pool;
	struct smm_nodemap starts, ends;
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

static struct smm_node *at(const struct smm_policy *p, uint32_t id)
{
	return smm_nodes_at(&p->pool, id);
}

static uint64_t usable(const struct smm_policy *p, const struct smm_node *n)
{
	uint64_t start = (n->addr + p->align - 1) & ~(p->align - 1);
	uint64_t end = n->addr + n->size;

	return start < n->addr || start >= end ? 0 : end - start;
}

/* push files record x on its class list and in both maps (room reserved).
 * An extent too small to grant anything is kept only in the maps. */
static void push(struct smm_policy *p, uint32_t x)
{
	struct smm_node *n = at(p, x);
	uint64_t u = usable(p, n);

	smm_nodemap_add(&p->starts, &p->pool, x);
	smm_nodemap_add(&p->ends, &p->pool, x);
	if (u == 0)
		return;
	struct cls c = class_of(u);
	uint32_t *head = &p->heads[c.fl][c.sl];
	n->link[PREV] = NIL;
	n->link[NEXT] = *head;
	if (*head != NIL)
		at(p, *head)->link[PREV] = x;
	*head = x;
	p->sl_map[c.fl] |= 1u << c.sl;
	p->fl_map |= 1ull << c.fl;
}

/* pull takes record x off its list and out of both maps. */
static void pull(struct smm_policy *p, uint32_t x)
{
	struct smm_node *n = at(p, x);
	uint64_t u = usable(p, n);

	smm_nodemap_remove(&p->starts, &p->pool, x);
	smm_nodemap_remove(&p->ends, &p->pool, x);
	if (u == 0)
		return;
	struct cls c = class_of(u);
	if (n->link[PREV] != NIL)
		at(p, n->link[PREV])->link[NEXT] = n->link[NEXT];
	else
		p->heads[c.fl][c.sl] = n->link[NEXT];
	if (n->link[NEXT] != NIL)
		at(p, n->link[NEXT])->link[PREV] = n->link[PREV];
	if (p->heads[c.fl][c.sl] == NIL) {
		p->sl_map[c.fl] &= ~(1u << c.sl);
		if (p->sl_map[c.fl] == 0)
			p->fl_map &= ~(1ull << c.fl);
	}
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
	uint32_t x;

	clear_lists(p);
	smm_nodes_clear(&p->pool);
	smm_nodemap_clear(&p->starts);
	smm_nodemap_clear(&p->ends);
	x = smm_nodes_get(&p->pool); /* after a clear this reuses a page */
	at(p, x)->addr = 0;
	at(p, x)->size = p->size;
	push(p, x);
}

static void tlsf_destroy(struct smm_policy *p)
{
	if (!p)
		return;
	smm_nodes_free(&p->pool);
	smm_nodemap_free(&p->starts);
	smm_nodemap_free(&p->ends);
	free(p);
}

static struct smm_policy *tlsf_create(uint64_t size, uint64_t align)
{
	struct smm_policy *p = calloc(1, sizeof *p);

	if (!p)
		return NULL;
	p->size = size;
	p->align = align;
	p->ends.by_end = 1;
	if (smm_nodemap_reserve(&p->starts, 1) < 0 || smm_nodemap_reserve(&p->ends, 1) < 0 ||
	    smm_nodes_get(&p->pool) == NIL) {
		tlsf_destroy(p);
		return NULL;
	}
	tlsf_reset(p);
	return p;
}

/* room makes sure n more extents can be filed without allocating. */
static int room(struct smm_policy *p, size_t n)
{
	return smm_nodemap_reserve(&p->starts, n) < 0 || smm_nodemap_reserve(&p->ends, n) < 0
		       ? -1 : 0;
}

static int tlsf_alloc(struct smm_policy *p, uint64_t size, uint64_t *addr, uint64_t *granted)
{
	uint32_t x = search(p, size), y;
	struct smm_node *n;
	uint64_t a, end;

	if (x == NIL)
		return -1;
	n = at(p, x);
	a = (n->addr + p->align - 1) & ~(p->align - 1);
	end = n->addr + n->size;
	y = NIL;
	if (a > n->addr && a + size < end && (y = smm_nodes_get(&p->pool)) == NIL)
		return -1;
	if (room(p, 1) < 0) {
		if (y != NIL)
			smm_nodes_put(&p->pool, y);
		return -1;
	}
	pull(p, x);
	if (a > n->addr) { /* x keeps the padding below a */
		n->size = a - n->addr;
		push(p, x);
		x = y;
	}
	if (a + size < end) { /* x (or y) takes the rest above */
		at(p, x)->addr = a + size;
		at(p, x)->size = end - a - size;
		push(p, x);
	} else if (x != NIL) {
		smm_nodes_put(&p->pool, x);
	}
	*addr = a;
	*granted = size;
	return 0;
}

static void tlsf_release(struct smm_policy *p, uint64_t addr, uint64_t granted)
{
	uint32_t lo = smm_nodemap_find(&p->ends, &p->pool, addr);
	uint32_t hi = smm_nodemap_find(&p->starts, &p->pool, addr + granted);
	uint32_t x = lo != NIL ? lo : hi;
	uint64_t end = addr + granted;

	if (x == NIL && ((x = smm_nodes_get(&p->pool)) == NIL || room(p, 1) < 0)) {
		if (x != NIL)
			smm_nodes_put(&p->pool, x);
		return; /* out of memory: the range stays unusable until reset */
	}
	if (hi != NIL) {
		end += at(p, hi)->size;
		pull(p, hi);
		if (hi != x)
			smm_nodes_put(&p->pool, hi);
	}
	if (lo != NIL) {
		pull(p, lo);
		addr = at(p, lo)->addr;
	}
	at(p, x)->addr = addr;
	at(p, x)->size = end - addr;
	push(p, x);
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
	return p->pool.live;
}

static size_t tlsf_metadata_bytes(const struct smm_policy *p)
{
	return sizeof *p + smm_nodes_bytes(&p->pool) + smm_nodemap_bytes(&p->starts) +
	       smm_nodemap_bytes(&p->ends);
}

const struct smm_policy_ops smm_policy_tlsf = {
	.name = "tlsf",
	.create = tlsf_create,
	.destroy = tlsf_destroy,
	.alloc = tlsf_alloc,
	.release = tlsf_release,
	.reset = tlsf_reset,
	.largest_free = tlsf_largest_free,
	.free_extents = tlsf_free_extents,
	.metadata_bytes = tlsf_metadata_bytes,
};

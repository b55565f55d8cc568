/* extents.c — free extents in two treaps over one record pool.
 *
 * Tree A (links 0, 1) orders by address; each node's aux is the largest
 * usable size in its subtree. Tree S (links 2, 3) orders by (usable size,
 * address) and exists only for best fit. A treap's priorities are a hash of
 * the record id, so records carry no priority field. Recursion depth is
 * the tree height, O(log n) expected. */
#include "extents.h"

#include <stdlib.h>

#include "nodes.h"

#define NIL SMM_NODES_NONE
#define TREE_A 0
#define TREE_S 2

struct smm_extents {
	uint64_t size, align;
	int by_size;
	uint32_t root[4]; /* root[TREE_A], root[TREE_S] */
	uint64_t count;
	struct smm_nodes pool;
};

static struct smm_node *at(const struct smm_extents *e, uint32_t id)
{
	return smm_nodes_at(&e->pool, id);
}

static uint32_t prio(uint32_t id)
{
	uint32_t h = id * 0x9E3779B1u;

	h ^= h >> 15;
	h *= 0x2C1B3C6Du;
	return h ^ (h >> 12);
}

static uint64_t usable(const struct smm_extents *e, const struct smm_node *n)
{
	uint64_t start = (n->addr + e->align - 1) & ~(e->align - 1);
	uint64_t end = n->addr + n->size;

	return start < n->addr || start >= end ? 0 : end - start;
}

static uint64_t subtree_max(const struct smm_extents *e, uint32_t t)
{
	return t == NIL ? 0 : at(e, t)->aux;
}

/* pull recomputes t's subtree maximum after its children changed. */
static void pull(const struct smm_extents *e, int k, uint32_t t)
{
	struct smm_node *n = at(e, t);
	uint64_t m, l, r;

	if (k != TREE_A)
		return;
	m = usable(e, n);
	l = subtree_max(e, n->link[0]);
	r = subtree_max(e, n->link[1]);
	m = l > m ? l : m;
	n->aux = r > m ? r : m;
}

/* less orders records in tree k. */
static int less(const struct smm_extents *e, int k, const struct smm_node *x,
		const struct smm_node *y)
{
	uint64_t ux, uy;

	if (k == TREE_A)
		return x->addr < y->addr;
	ux = usable(e, x);
	uy = usable(e, y);
	return ux < uy || (ux == uy && x->addr < y->addr);
}

/* split cuts tree t into *l (records less than x) and *r (the rest). */
static void split(struct smm_extents *e, int k, uint32_t t, const struct smm_node *x,
		  uint32_t *l, uint32_t *r)
{
	struct smm_node *n;

	if (t == NIL) {
		*l = *r = NIL;
		return;
	}
	n = at(e, t);
	if (less(e, k, n, x)) {
		split(e, k, n->link[k + 1], x, &n->link[k + 1], r);
		*l = t;
	} else {
		split(e, k, n->link[k], x, l, &n->link[k]);
		*r = t;
	}
	pull(e, k, t);
}

/* merge joins trees a and b, every record of a less than every one of b. */
static uint32_t merge(struct smm_extents *e, int k, uint32_t a, uint32_t b)
{
	if (a == NIL)
		return b;
	if (b == NIL)
		return a;
	if (prio(a) > prio(b)) {
		at(e, a)->link[k + 1] = merge(e, k, at(e, a)->link[k + 1], b);
		pull(e, k, a);
		return a;
	}
	at(e, b)->link[k] = merge(e, k, a, at(e, b)->link[k]);
	pull(e, k, b);
	return b;
}

static uint32_t insert(struct smm_extents *e, int k, uint32_t t, uint32_t x)
{
	struct smm_node *n, *nx = at(e, x);

	if (t == NIL || prio(x) > prio(t)) {
		split(e, k, t, nx, &nx->link[k], &nx->link[k + 1]);
		pull(e, k, x);
		return x;
	}
	n = at(e, t);
	if (less(e, k, nx, n))
		n->link[k] = insert(e, k, n->link[k], x);
	else
		n->link[k + 1] = insert(e, k, n->link[k + 1], x);
	pull(e, k, t);
	return t;
}

/* cut removes record x (present in tree k) from the tree rooted at t. */
static uint32_t cut(struct smm_extents *e, int k, uint32_t t, uint32_t x)
{
	struct smm_node *n = at(e, t);

	if (t == x)
		return merge(e, k, n->link[k], n->link[k + 1]);
	if (less(e, k, at(e, x), n))
		n->link[k] = cut(e, k, n->link[k], x);
	else
		n->link[k + 1] = cut(e, k, n->link[k + 1], x);
	pull(e, k, t);
	return t;
}

/* refresh recomputes the maxima on tree A's path from t down to x. */
static void refresh(struct smm_extents *e, uint32_t t, uint32_t x)
{
	struct smm_node *n = at(e, t);

	if (t != x)
		refresh(e, less(e, TREE_A, at(e, x), n) ? n->link[0] : n->link[1], x);
	pull(e, TREE_A, t);
}

/* find returns the record starting at addr in tree A, or the one with the
 * greatest start below addr when before is set (NIL if none). */
static uint32_t find(const struct smm_extents *e, uint64_t addr, int before)
{
	uint32_t t = e->root[TREE_A], best = NIL;

	while (t != NIL) {
		const struct smm_node *n = at(e, t);
		if (n->addr == addr && !before)
			return t;
		if (n->addr < addr) {
			best = t;
			t = n->link[1];
		} else {
			t = n->link[0];
		}
	}
	return before ? best : NIL;
}

static void add(struct smm_extents *e, uint32_t x)
{
	e->root[TREE_A] = insert(e, TREE_A, e->root[TREE_A], x);
	if (e->by_size)
		e->root[TREE_S] = insert(e, TREE_S, e->root[TREE_S], x);
	e->count++;
}

static void drop(struct smm_extents *e, uint32_t x)
{
	e->root[TREE_A] = cut(e, TREE_A, e->root[TREE_A], x);
	if (e->by_size)
		e->root[TREE_S] = cut(e, TREE_S, e->root[TREE_S], x);
	e->count--;
	smm_nodes_put(&e->pool, x);
}

/* resize gives record x a new range that keeps its place in address
 * order, and re-sorts it by size. */
static void resize(struct smm_extents *e, uint32_t x, uint64_t addr, uint64_t size)
{
	struct smm_node *n = at(e, x);

	if (e->by_size)
		e->root[TREE_S] = cut(e, TREE_S, e->root[TREE_S], x);
	n->addr = addr;
	n->size = size;
	refresh(e, e->root[TREE_A], x);
	if (e->by_size)
		e->root[TREE_S] = insert(e, TREE_S, e->root[TREE_S], x);
}

struct smm_extents *smm_extents_new(uint64_t size, uint64_t align, int by_size)
{
	struct smm_extents *e = calloc(1, sizeof *e);

	if (!e)
		return NULL;
	e->size = size;
	e->align = align;
	e->by_size = by_size;
	smm_extents_reset(e);
	if (e->count == 0) {
		smm_extents_destroy(e);
		return NULL;
	}
	return e;
}

void smm_extents_destroy(struct smm_extents *e)
{
	if (e)
		smm_nodes_free(&e->pool);
	free(e);
}

void smm_extents_reset(struct smm_extents *e)
{
	uint32_t x;

	smm_nodes_clear(&e->pool);
	e->root[TREE_A] = e->root[TREE_S] = NIL;
	e->count = 0;
	x = smm_nodes_get(&e->pool); /* after a clear this reuses a page */
	if (x == NIL)
		return;
	at(e, x)->addr = 0;
	at(e, x)->size = e->size;
	add(e, x);
}

static uint32_t first(const struct smm_extents *e, uint32_t t, uint64_t n, uint64_t from)
{
	const struct smm_node *nd;
	uint32_t r;

	if (t == NIL || at(e, t)->aux < n)
		return NIL;
	nd = at(e, t);
	if (nd->addr >= from) {
		r = first(e, nd->link[0], n, from);
		if (r != NIL)
			return r;
		if (usable(e, nd) >= n)
			return t;
	}
	return first(e, nd->link[1], n, from);
}

int smm_extents_first(const struct smm_extents *e, uint64_t n, uint64_t from, uint64_t *start)
{
	uint32_t x = first(e, e->root[TREE_A], n, from);

	if (x == NIL)
		return -1;
	*start = at(e, x)->addr;
	return 0;
}

int smm_extents_best(const struct smm_extents *e, uint64_t n, uint64_t *start)
{
	uint32_t t = e->root[TREE_S], best = NIL;

	while (t != NIL) {
		const struct smm_node *nd = at(e, t);
		if (usable(e, nd) >= n) {
			best = t;
			t = nd->link[TREE_S];
		} else {
			t = nd->link[TREE_S + 1];
		}
	}
	if (best == NIL)
		return -1;
	*start = at(e, best)->addr;
	return 0;
}

uint64_t smm_extents_largest(const struct smm_extents *e)
{
	return subtree_max(e, e->root[TREE_A]);
}

int smm_extents_take(struct smm_extents *e, uint64_t start, uint64_t n, uint64_t *addr)
{
	uint32_t x = find(e, start, 0), y = NIL;
	struct smm_node *nd = at(e, x);
	uint64_t a = (start + e->align - 1) & ~(e->align - 1);
	uint64_t end = nd->addr + nd->size;

	if (a > start && a + n < end) {
		y = smm_nodes_get(&e->pool);
		if (y == NIL)
			return -1;
	}
	*addr = a;
	if (a == start && a + n == end) {
		drop(e, x);
	} else if (a == start) {
		resize(e, x, a + n, end - a - n);
	} else {
		resize(e, x, start, a - start);
		if (y != NIL) {
			at(e, y)->addr = a + n;
			at(e, y)->size = end - a - n;
			add(e, y);
		}
	}
	return 0;
}

void smm_extents_give(struct smm_extents *e, uint64_t addr, uint64_t size)
{
	uint32_t p = find(e, addr, 1), s = find(e, addr + size, 0), x;

	if (p != NIL && at(e, p)->addr + at(e, p)->size != addr)
		p = NIL;
	if (p != NIL && s != NIL) {
		uint64_t total = at(e, p)->size + size + at(e, s)->size;
		drop(e, s);
		resize(e, p, at(e, p)->addr, total);
	} else if (p != NIL) {
		resize(e, p, at(e, p)->addr, at(e, p)->size + size);
	} else if (s != NIL) {
		resize(e, s, addr, at(e, s)->size + size);
	} else {
		x = smm_nodes_get(&e->pool);
		if (x == NIL)
			return;
		at(e, x)->addr = addr;
		at(e, x)->size = size;
		add(e, x);
	}
}

uint64_t smm_extents_count(const struct smm_extents *e)
{
	return e->count;
}

size_t smm_extents_bytes(const struct smm_extents *e)
{
	return sizeof *e + smm_nodes_bytes(&e->pool);
}

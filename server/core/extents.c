/* extents.c — free extents in treaps over one record pool.
 *
 * Tree A (links 0, 1) orders by address; each node's aux[0] and aux[1]
 * are the largest usable sizes in its left and right subtrees, so a search
 * decides where to go, and a change is propagated upwards, without reading
 * the sibling subtree's root (a cache miss each, at a million extents).
 * For best fit, links 2 and 3 file each extent in one of many small treaps
 * ordered by (usable size, address): one per size class, the classes of
 * TLSF (16 steps per power of two), with a bitmap of the non-empty ones.
 * A search looks in the request's own class and else takes the smallest
 * extent of the next non-empty class; an update touches one small treap,
 * not a tree of every extent. A treap's priorities are a hash of the
 * record id, so records carry no priority field. Recursion depth is the
 * tree height, O(log n) expected. */
#include "extents.h"

#include <stdlib.h>
#include <string.h>

#include "nodes.h"
#include "spans.h"

#define NIL SMM_NODES_NONE
#define TREE_A 0
#define TREE_S 2
#define SL_BITS 4                        /* 16 size classes per power of two */
#define SL_COUNT (1u << SL_BITS)
#define CLASSES (64u * SL_COUNT)         /* more than 64-bit sizes need */

/* One free extent [addr, addr+size): tree A's links 0 and 1 with the
 * maxima of the subtrees below them in aux, the size-class treap's links
 * 2 and 3. */
struct ext {
	uint64_t addr, size;
	uint32_t link[4];
	uint64_t aux[2];
};

struct smm_extents {
	uint64_t size, align;
	uint32_t root;      /* tree A */
	uint32_t *by_class; /* best fit: CLASSES treap roots, else NULL */
	uint64_t nonempty[CLASSES / 64]; /* bit c: by_class[c] != NIL */
	uint64_t count;
	struct smm_nodes pool;
};

static struct ext *at(const struct smm_extents *e, uint32_t id)
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

static uint64_t usable(const struct smm_extents *e, const struct ext *n)
{
	return smm_span_usable(n->addr, n->size, e->align);
}

/* subtree_max returns the largest usable size in the subtree at t. */
static uint64_t subtree_max(const struct smm_extents *e, uint32_t t)
{
	const struct ext *n;
	uint64_t m;

	if (t == NIL)
		return 0;
	n = at(e, t);
	m = usable(e, n);
	m = n->aux[0] > m ? n->aux[0] : m;
	return n->aux[1] > m ? n->aux[1] : m;
}

/* pull recomputes t's subtree maxima after its children changed; pull_side
 * recomputes record n's after only the child on one side (0 left, 1
 * right) did. */
static void pull_side(const struct smm_extents *e, struct ext *n, int side)
{
	n->aux[side] = subtree_max(e, n->link[side]);
}

static void pull(const struct smm_extents *e, int k, uint32_t t)
{
	if (k != TREE_A)
		return;
	pull_side(e, at(e, t), 0);
	pull_side(e, at(e, t), 1);
}

/* less orders records in tree k. */
static int less(const struct smm_extents *e, int k, const struct ext *x,
		const struct ext *y)
{
	uint64_t ux, uy;

	if (k == TREE_A)
		return x->addr < y->addr;
	ux = usable(e, x);
	uy = usable(e, y);
	return ux < uy || (ux == uy && x->addr < y->addr);
}

/* split cuts tree t into *l (records less than x) and *r (the rest). */
static void split(struct smm_extents *e, int k, uint32_t t, const struct ext *x,
		  uint32_t *l, uint32_t *r)
{
	struct ext *n;

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
	struct ext *n, *nx = at(e, x);

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
	struct ext *n = at(e, t);

	if (t == x)
		return merge(e, k, n->link[k], n->link[k + 1]);
	if (less(e, k, at(e, x), n))
		n->link[k] = cut(e, k, n->link[k], x);
	else
		n->link[k + 1] = cut(e, k, n->link[k + 1], x);
	pull(e, k, t);
	return t;
}

/* class_of returns the size class of usable size u: classes order sizes,
 * and equal sizes share one. */
static unsigned class_of(uint64_t u)
{
	unsigned f;

	if (u < SL_COUNT)
		return (unsigned)u;
	f = 63u - (unsigned)__builtin_clzll(u);
	return (f - SL_BITS + 1) * SL_COUNT + ((unsigned)(u >> (f - SL_BITS)) ^ SL_COUNT);
}

/* by_size takes record x out of its size class's treap (in 0) before its
 * range changes, or puts it back (in 1) after. */
static void by_size(struct smm_extents *e, uint32_t x, int in)
{
	unsigned c;
	uint64_t bit;

	if (!e->by_class)
		return;
	c = class_of(usable(e, at(e, x)));
	bit = 1ull << (c % 64);
	if (in) {
		e->by_class[c] = insert(e, TREE_S, e->by_class[c], x);
		e->nonempty[c / 64] |= bit;
	} else if ((e->by_class[c] = cut(e, TREE_S, e->by_class[c], x)) == NIL) {
		e->nonempty[c / 64] &= ~bit;
	}
}

static void add(struct smm_extents *e, uint32_t x)
{
	e->root = insert(e, TREE_A, e->root, x);
	by_size(e, x, 1);
	e->count++;
}

struct smm_extents *smm_extents_new(uint64_t size, uint64_t align, int by_size)
{
	struct smm_extents *e = calloc(1, sizeof *e);

	if (!e)
		return NULL;
	e->size = size;
	e->align = align;
	e->pool.bytes = sizeof(struct ext);
	if (by_size && !(e->by_class = malloc(CLASSES * sizeof *e->by_class))) {
		free(e);
		return NULL;
	}
	smm_extents_reset(e);
	if (e->count == 0) {
		smm_extents_destroy(e);
		return NULL;
	}
	return e;
}

void smm_extents_destroy(struct smm_extents *e)
{
	if (e) {
		smm_nodes_free(&e->pool);
		free(e->by_class);
	}
	free(e);
}

void smm_extents_reset(struct smm_extents *e)
{
	uint32_t x;

	smm_nodes_clear(&e->pool);
	e->root = NIL;
	for (unsigned c = 0; e->by_class && c < CLASSES; c++)
		e->by_class[c] = NIL;
	memset(e->nonempty, 0, sizeof e->nonempty);
	e->count = 0;
	x = smm_nodes_get(&e->pool); /* after a clear this reuses a page */
	if (x == NIL)
		return;
	at(e, x)->addr = 0;
	at(e, x)->size = e->size;
	add(e, x);
}

/* What a take is looking for, and what it found. */
struct take {
	uint64_t fit, n, from; /* query: start >= from, usable >= fit; carve n */
	uint64_t addr;         /* result: the grant */
	uint64_t rest;         /* bytes left above the grant when the record
				  kept the padding below it; they need a record */
};

/* carve grants c->n bytes from record x, whose link is *t. Tree A stays
 * ordered: the record shrinks in place or leaves. */
static void carve(struct smm_extents *e, uint32_t *t, uint32_t x, struct take *c)
{
	struct ext *n = at(e, x);
	uint64_t start = n->addr, end = n->addr + n->size;
	uint64_t a = (start + e->align - 1) & ~(e->align - 1);

	c->addr = a;
	by_size(e, x, 0);
	if (a == start && a + c->n == end) {
		*t = merge(e, TREE_A, n->link[0], n->link[1]);
		smm_nodes_put(&e->pool, x);
		e->count--;
		return;
	}
	if (a == start) {
		n->addr = a + c->n;
		n->size = end - n->addr;
	} else {
		n->size = a - start;
		c->rest = end - a - c->n;
	}
	by_size(e, x, 1); /* x's subtrees are unchanged: its parent pulls */
}

/* take_in searches the subtree *t (which holds a fit) in address order,
 * carves the first fit and recomputes the maxima on the way back up.
 * Returns 1 when it carved. */
static int take_in(struct smm_extents *e, uint32_t *t, struct take *c)
{
	uint32_t x = *t;
	struct ext *n = at(e, x);

	if (n->addr >= c->from) {
		if (n->aux[0] >= c->fit && take_in(e, &n->link[0], c)) {
			pull_side(e, n, 0);
			return 1;
		}
		if (usable(e, n) >= c->fit) {
			carve(e, t, x, c);
			return 1;
		}
	}
	if (n->aux[1] >= c->fit && take_in(e, &n->link[1], c)) {
		pull_side(e, n, 1);
		return 1;
	}
	return 0;
}

int smm_extents_take(struct smm_extents *e, uint64_t fit, uint64_t n, uint64_t from,
		     uint64_t *addr)
{
	struct take c = { .fit = fit, .n = n, .from = from };
	uint32_t spare = NIL;

	/* Only alignment padding can split an extent in two. */
	if (e->align > 1 && (spare = smm_nodes_get(&e->pool)) == NIL)
		return -1;
	if (subtree_max(e, e->root) < fit || !take_in(e, &e->root, &c)) {
		if (spare != NIL)
			smm_nodes_put(&e->pool, spare);
		return -1;
	}
	if (c.rest > 0) {
		at(e, spare)->addr = c.addr + n;
		at(e, spare)->size = c.rest;
		add(e, spare);
	} else if (spare != NIL) {
		smm_nodes_put(&e->pool, spare);
	}
	*addr = c.addr;
	return 0;
}

/* holding returns the record with the highest start <= addr, or NIL. */
static uint32_t holding(const struct smm_extents *e, uint64_t addr)
{
	uint32_t t = e->root, x = NIL;

	while (t != NIL) {
		const struct ext *n = at(e, t);
		if (n->addr <= addr) {
			x = t;
			t = n->link[1];
		} else {
			t = n->link[0];
		}
	}
	return x;
}

/* refile gives record x the range [addr, end) and files it again. */
static void refile(struct smm_extents *e, uint32_t x, uint64_t addr, uint64_t end)
{
	at(e, x)->addr = addr;
	at(e, x)->size = end - addr;
	add(e, x);
}

int smm_extents_claim(struct smm_extents *e, uint64_t addr, uint64_t size)
{
	uint32_t x = holding(e, addr), spare;
	uint64_t start, end;

	if (x == NIL || size == 0 || (addr & (e->align - 1)))
		return -1;
	start = at(e, x)->addr;
	end = start + at(e, x)->size;
	if (addr >= end || size > end - addr || (spare = smm_nodes_get(&e->pool)) == NIL)
		return -1;
	/* Taken out and filed again whole: a claim is rare (replay), so it
	 * reuses insert rather than adding a path that shrinks in place. */
	by_size(e, x, 0);
	e->root = cut(e, TREE_A, e->root, x);
	e->count--;
	if (addr > start) {
		refile(e, x, start, addr);
		x = spare;
		spare = NIL;
	}
	if (addr + size < end) {
		refile(e, x, addr + size, end);
		x = spare;
		spare = NIL;
	}
	if (x != NIL)
		smm_nodes_put(&e->pool, x);
	if (spare != NIL)
		smm_nodes_put(&e->pool, spare);
	return 0;
}

/* next_class returns the first non-empty class above c, or CLASSES. */
static unsigned next_class(const struct smm_extents *e, unsigned c)
{
	for (unsigned w = (c + 1) / 64, lo = (c + 1) % 64; w < CLASSES / 64; w++, lo = 0) {
		uint64_t bits = e->nonempty[w] & (~0ull << lo);
		if (bits)
			return w * 64 + (unsigned)__builtin_ctzll(bits);
	}
	return CLASSES;
}

int smm_extents_best(const struct smm_extents *e, uint64_t n, uint64_t *start, uint64_t *fit)
{
	unsigned c = class_of(n);
	uint32_t t = e->by_class[c], best = NIL;

	/* In n's class: the smallest usable size >= n, lowest address first. */
	while (t != NIL) {
		const struct ext *nd = at(e, t);
		if (usable(e, nd) >= n) {
			best = t;
			t = nd->link[TREE_S];
		} else {
			t = nd->link[TREE_S + 1];
		}
	}
	/* Else every extent of a higher class fits: the least of the next. */
	if (best == NIL && (c = next_class(e, c)) < CLASSES)
		for (best = e->by_class[c]; at(e, best)->link[TREE_S] != NIL;)
			best = at(e, best)->link[TREE_S];
	if (best == NIL)
		return -1;
	*start = at(e, best)->addr;
	*fit = usable(e, at(e, best));
	return 0;
}

uint64_t smm_extents_largest(const struct smm_extents *e)
{
	return subtree_max(e, e->root);
}

/* A give's range, its neighbours on the search path, and the outcome. */
struct give {
	uint64_t addr, size;
	uint32_t pred, succ; /* nearest records below and above addr */
	uint32_t drop;       /* a record swallowed by its neighbour */
	uint32_t placed;     /* a new record for a range touching no extent */
};

/* join merges the range with the free neighbours found; when there are
 * none it files a new record at *t, a leaf, for the caller to rotate up. */
static void join(struct smm_extents *e, uint32_t *t, struct give *g)
{
	struct ext *p = g->pred != NIL ? at(e, g->pred) : NULL;
	struct ext *s = g->succ != NIL ? at(e, g->succ) : NULL;

	if (p && p->addr + p->size != g->addr)
		p = NULL;
	if (s && s->addr != g->addr + g->size)
		s = NULL;
	if (p) {
		by_size(e, g->pred, 0);
		p->size += g->size;
		if (s) {
			by_size(e, g->succ, 0);
			p->size += s->size;
			g->drop = g->succ;
		}
		by_size(e, g->pred, 1);
	} else if (s) {
		by_size(e, g->succ, 0);
		s->addr = g->addr;
		s->size += g->size;
		by_size(e, g->succ, 1);
	} else if ((g->placed = smm_nodes_get(&e->pool)) != NIL) {
		struct ext *n = at(e, g->placed);
		n->addr = g->addr;
		n->size = g->size;
		n->aux[0] = n->aux[1] = 0;
		*t = g->placed;
		by_size(e, g->placed, 1);
		e->count++;
	}
	/* else out of memory: the range stays out of use until reset */
}

/* rise rotates the new record y, x's child on side, above x when its
 * priority says so, keeping the treap a heap. Returns 1 if it rotated. */
static int rise(struct smm_extents *e, uint32_t *t, uint32_t x, uint32_t y, int side)
{
	struct ext *n = at(e, x), *m = at(e, y);

	if (n->link[side] != y || prio(y) < prio(x))
		return 0;
	n->link[side] = m->link[!side];
	m->link[!side] = x;
	pull(e, TREE_A, x);
	pull_side(e, m, !side);
	*t = y;
	return 1;
}

/* give_in descends to where g's range belongs, joins it there and, on the
 * way up, drops a swallowed record, raises a new one and recomputes the
 * maxima. One descent in all cases. */
static void give_in(struct smm_extents *e, uint32_t *t, struct give *g)
{
	uint32_t x = *t;
	struct ext *n;
	int side;

	if (x == NIL) {
		join(e, t, g);
		return;
	}
	n = at(e, x);
	side = n->addr < g->addr;
	if (side)
		g->pred = x;
	else
		g->succ = x;
	give_in(e, &n->link[side], g);
	if (g->drop == x) {
		*t = merge(e, TREE_A, n->link[0], n->link[1]);
		smm_nodes_put(&e->pool, x);
		e->count--;
		return;
	}
	if (g->placed == NIL || !rise(e, t, x, g->placed, side))
		pull_side(e, n, side);
}

void smm_extents_give(struct smm_extents *e, uint64_t addr, uint64_t size)
{
	struct give g = { addr, size, NIL, NIL, NIL, NIL };

	give_in(e, &e->root, &g);
}

uint64_t smm_extents_count(const struct smm_extents *e)
{
	return e->count;
}

size_t smm_extents_bytes(const struct smm_extents *e)
{
	return sizeof *e + (e->by_class ? CLASSES * sizeof *e->by_class : 0) +
	       smm_nodes_bytes(&e->pool);
}

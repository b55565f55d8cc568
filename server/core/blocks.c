/* blocks.c — the table of live blocks: a B+tree ordered by address.
 *
 * A block is a 24-byte record: the key, then the address (48 bits), the
 * size (48 bits) and the owner id (32 bits) packed into two words. Records
 * sit inside the leaves, in address order, so a lookup is one descent (at
 * a million blocks the upper levels stay in the caches, and a lookup
 * meets about one cold inner node and one cold leaf) and the blocks
 * overlapping a window are a descent and a walk along the doubly linked
 * leaves: O(log n + k). An insert above every address goes straight to
 * the last leaf, which the table keeps. A leaf keeps the words
 * that order its records (address and the size's low bits) in an array of
 * their own, so a search touches only those; the rest of a record follows
 * in one line.
 *
 * Leaves and inner nodes hold LEAF_MAX records or INNER_MAX children. A
 * full node splits in half, except that a full leaf taking a record at its
 * end keeps everything and starts a new leaf, so addresses that only grow
 * (the bump policy) fill leaves completely; inner nodes always split in
 * half, so every one but the root has a sibling. A node that a removal
 * leaves below half full borrows from or merges with a sibling. A block
 * costs 24 bytes of record plus the leaves' slack: about 35 under random
 * churn. */
#include "blocks.h"

#include <stdlib.h>
#include <string.h>

#define LEAF_MAX 32
#define INNER_MAX 32 /* children; one separator fewer */
#define LEAF_MIN (LEAF_MAX / 2)
#define INNER_MIN (INNER_MAX / 2)
#define DEPTH_MAX 16 /* 32^16 blocks is far beyond 48-bit addresses */

#define LOW48 ((1ull << 48) - 1)

/* Records [0, n): lo = addr << 16 | size's low 16 bits, hi = size >> 16 |
 * id << 32, so lo alone orders records by address. */
struct rest {
	uint64_t hi, key;
};

struct leaf {
	uint64_t lo[LEAF_MAX];
	struct rest rec[LEAF_MAX]; /* read once the search has found lo */
	struct leaf *prev, *next;
	unsigned n;
};

/* Children [0, n); every address under child[i + 1] is >= sep[i], every
 * address under child[i] below it. */
struct inner {
	uint64_t sep[INNER_MAX - 1];
	void *child[INNER_MAX];
	unsigned n;
};

/* A descent: the inner nodes from the root down and the child taken. */
struct path {
	struct inner *node[DEPTH_MAX];
	unsigned at[DEPTH_MAX];
	struct leaf *leaf;
	unsigned pos;
};

struct smm_blocks {
	void *root;        /* a leaf when height is 0 */
	struct leaf *tail; /* the last leaf: where addresses that only grow go */
	unsigned height;   /* inner levels above the leaves */
	size_t count, leaves, inners;
	struct path last;  /* the last find's way down, for the remove after it */
	int last_ok;       /* last is still true: nothing changed since */
	int path_ok;       /* last's nodes are still the way to its leaf: no
			      node has split, merged or moved children since */
};

static uint64_t addr_at(const struct leaf *l, unsigned i)
{
	return l->lo[i] >> 16;
}

static void unpack(const struct leaf *l, unsigned i, struct smm_block *b)
{
	b->addr = addr_at(l, i);
	b->size = (l->lo[i] & 0xFFFF) | (l->rec[i].hi & 0xFFFFFFFFull) << 16;
	b->key = l->rec[i].key;
	b->id = (int32_t)(uint32_t)(l->rec[i].hi >> 32);
}

/* lower returns the number of records in l whose address is below addr.
 * Branch-free (the halving step compiles to a conditional move): the
 * comparisons of a search are unpredictable, and mispredicted branches
 * were most of a lookup's time. */
static unsigned lower(const struct leaf *l, uint64_t addr)
{
	const uint64_t *base = l->lo;
	unsigned n = l->n;

	if (n == 0)
		return 0;
	while (n > 1) {
		unsigned half = n / 2;
		base = (base[half] >> 16) < addr ? base + half : base;
		n -= half;
	}
	return (unsigned)(base - l->lo) + ((*base >> 16) < addr);
}

/* child_for returns the child of in whose range holds addr: the number of
 * separators at or below it. Branch-free as lower. */
static unsigned child_for(const struct inner *in, uint64_t addr)
{
	const uint64_t *base = in->sep;
	unsigned n = in->n - 1;

	while (n > 1) {
		unsigned half = n / 2;
		base = base[half] <= addr ? base + half : base;
		n -= half;
	}
	return (unsigned)(base - in->sep) + (*base <= addr);
}

/* fetch4 asks for the four cache lines from v at once: a search's probes
 * depend on each other, so without this each cold line of a node's keys
 * would be a miss of its own, one after another. Written out, not looped:
 * on a warm tree the loop cost a third of the descent. */
static void fetch4(const void *v)
{
	const char *c = v;

	__builtin_prefetch(c);
	__builtin_prefetch(c + 64);
	__builtin_prefetch(c + 128);
	__builtin_prefetch(c + 192);
}

/* descend fills p with the way to addr: the leaf where it is or belongs,
 * and its position there. */
static void descend(const struct smm_blocks *t, uint64_t addr, struct path *p)
{
	void *n = t->root;

	for (unsigned d = 0; d < t->height; d++) {
		struct inner *in = n;
		fetch4(in->sep);
		p->node[d] = in;
		p->at[d] = child_for(in, addr);
		n = in->child[p->at[d]];
	}
	p->leaf = n;
	fetch4(p->leaf->lo);
	/* The record found is in a line only the search's result names: asked
	 * for now, its miss overlaps the search words' instead of following. */
	fetch4(p->leaf->rec);
	fetch4(p->leaf->rec + 16);
	p->pos = lower(p->leaf, addr);
}

static int found(const struct path *p, uint64_t addr)
{
	return p->pos < p->leaf->n && addr_at(p->leaf, p->pos) == addr;
}

struct smm_blocks *smm_blocks_new(void)
{
	struct smm_blocks *t = calloc(1, sizeof *t);

	if (!t)
		return NULL;
	t->root = calloc(1, sizeof(struct leaf));
	if (!t->root) {
		free(t);
		return NULL;
	}
	t->tail = t->root;
	t->leaves = 1;
	return t;
}

/* free_below releases the subtree at n (height h above its leaves) except
 * the leaf keep. */
static void free_below(void *n, unsigned h, const struct leaf *keep)
{
	if (h > 0) {
		struct inner *in = n;
		for (unsigned i = 0; i < in->n; i++)
			free_below(in->child[i], h - 1, keep);
	}
	if (n != keep)
		free(n);
}

void smm_blocks_destroy(struct smm_blocks *t)
{
	if (!t)
		return;
	free_below(t->root, t->height, NULL);
	free(t);
}

static void move_records(struct leaf *dst, unsigned d, const struct leaf *src, unsigned s,
			 unsigned n)
{
	memmove(dst->lo + d, src->lo + s, n * sizeof *dst->lo);
	memmove(dst->rec + d, src->rec + s, n * sizeof *dst->rec);
}

static void move_children(struct inner *dst, unsigned d, const struct inner *src, unsigned s,
			  unsigned n)
{
	memmove(dst->child + d, src->child + s, n * sizeof *dst->child);
}

static void move_seps(struct inner *dst, unsigned d, const struct inner *src, unsigned s,
		      unsigned n)
{
	memmove(dst->sep + d, src->sep + s, n * sizeof *dst->sep);
}

/* split_leaf moves the records of l from position at on into the empty
 * leaf r, linked after l. */
static void split_leaf(struct smm_blocks *t, struct leaf *l, struct leaf *r, unsigned at)
{
	move_records(r, 0, l, at, l->n - at);
	r->n = l->n - at;
	l->n = at;
	r->prev = l;
	r->next = l->next;
	if (l->next)
		l->next->prev = r;
	else
		t->tail = r;
	l->next = r;
	t->leaves++;
}

/* put_child files child c with separator sep at position at (>= 1) of in,
 * which has room. */
static void put_child(struct inner *in, unsigned at, uint64_t sep, void *c)
{
	move_children(in, at + 1, in, at, in->n - at);
	move_seps(in, at, in, at - 1, in->n - at);
	in->child[at] = c;
	in->sep[at - 1] = sep;
	in->n++;
}

/* split_inner files (sep, c) at child position at of the full node in,
 * moving the upper children to the empty node r; returns the separator
 * that goes up between them. */
static uint64_t split_inner(struct inner *in, struct inner *r, unsigned at, uint64_t sep,
			    void *c)
{
	uint64_t seps[INNER_MAX];
	void *kids[INNER_MAX + 1];
	unsigned cut = (INNER_MAX + 1) / 2;

	memcpy(kids, in->child, at * sizeof *kids);
	kids[at] = c;
	memcpy(kids + at + 1, in->child + at, (INNER_MAX - at) * sizeof *kids);
	memcpy(seps, in->sep, (at - 1) * sizeof *seps);
	seps[at - 1] = sep;
	memcpy(seps + at, in->sep + (at - 1), (INNER_MAX - at) * sizeof *seps);
	memcpy(in->child, kids, cut * sizeof *kids);
	memcpy(in->sep, seps, (cut - 1) * sizeof *seps);
	in->n = cut;
	memcpy(r->child, kids + cut, (INNER_MAX + 1 - cut) * sizeof *kids);
	memcpy(r->sep, seps + cut, (INNER_MAX - cut) * sizeof *seps);
	r->n = INNER_MAX + 1 - cut;
	return seps[cut - 1];
}

/* grow files (sep, c) after child p->at[d] of level d's node, splitting
 * full nodes upward with the spare nodes in spare[]. */
static void grow(struct smm_blocks *t, const struct path *p, int d, uint64_t sep, void *c,
		 void **spare)
{
	struct inner *root;

	for (; d >= 0; d--) {
		struct inner *in = p->node[d], *r;
		if (in->n < INNER_MAX) {
			put_child(in, p->at[d] + 1, sep, c);
			return;
		}
		r = *spare++;
		sep = split_inner(in, r, p->at[d] + 1, sep, c);
		c = r;
		t->inners++;
	}
	root = *spare;
	root->child[0] = t->root;
	root->child[1] = c;
	root->sep[0] = sep;
	root->n = 2;
	t->root = root;
	t->height++;
	t->inners++;
}

/* spares_needed returns how many nodes an insert at p may create. */
static unsigned spares_needed(const struct smm_blocks *t, const struct path *p)
{
	unsigned need = 1;

	if (p->leaf->n < LEAF_MAX)
		return 0;
	for (unsigned d = t->height; d-- > 0;) {
		if (p->node[d]->n < INNER_MAX)
			return need;
		need++;
	}
	return need + 1;
}

static int take_spares(void **spare, unsigned need)
{
	for (unsigned i = 0; i < need; i++) {
		spare[i] = calloc(1, i == 0 ? sizeof(struct leaf) : sizeof(struct inner));
		if (!spare[i]) {
			while (i-- > 0)
				free(spare[i]);
			return -1;
		}
	}
	return 0;
}

static void put_record(struct leaf *l, unsigned at, const struct smm_block *b)
{
	move_records(l, at + 1, l, at, l->n - at);
	l->lo[at] = b->addr << 16 | (b->size & 0xFFFF);
	l->rec[at].hi = b->size >> 16 | (uint64_t)(uint32_t)b->id << 32;
	l->rec[at].key = b->key;
	l->n++;
}

/* appends says whether addr goes at the end of the last leaf, which has
 * room: addresses that only grow (the bump policy, a run of requests on a
 * fresh arena) then need no descent, as nothing to the right can order
 * them elsewhere. */
static int appends(const struct smm_blocks *t, uint64_t addr)
{
	const struct leaf *l = t->tail;

	return l->n < LEAF_MAX && (l->n == 0 ? t->count == 0 : addr > addr_at(l, l->n - 1));
}

int smm_blocks_insert(struct smm_blocks *t, const struct smm_block *b)
{
	struct path p;
	void *spare[DEPTH_MAX + 2];
	unsigned need;

	if (b->addr > LOW48 || b->size == 0 || b->size > LOW48 || b->id < INT32_MIN ||
	    b->id > INT32_MAX)
		return -1;
	t->last_ok = 0;
	if (appends(t, b->addr)) {
		put_record(t->tail, t->tail->n, b);
		t->count++;
		return 0;
	}
	descend(t, b->addr, &p);
	need = spares_needed(t, &p);
	if (need > DEPTH_MAX + 1 || take_spares(spare, need) < 0)
		return -1;
	if (need > 0) {
		struct leaf *l = p.leaf, *r = spare[0];
		unsigned cut = p.pos == LEAF_MAX ? LEAF_MAX : LEAF_MAX / 2; /* an append fills */
		t->path_ok = 0;
		split_leaf(t, l, r, cut);
		if (p.pos >= cut)
			put_record(r, p.pos - cut, b);
		else
			put_record(l, p.pos, b);
		grow(t, &p, (int)t->height - 1, addr_at(r, 0), r, spare + 1);
	} else {
		put_record(p.leaf, p.pos, b);
	}
	t->count++;
	return 0;
}

/* near says whether addr lies between the first and last records of the
 * last find's leaf, whose way down is still good: then it belongs in that
 * leaf and a lookup needs no descent. Frees in address order (a phase of
 * a program ending, a connection's blocks released) find one leaf after
 * another this way. */
static int near(const struct smm_blocks *t, uint64_t addr)
{
	const struct leaf *l = t->last.leaf;

	return t->path_ok && l->n > 0 && addr_at(l, 0) <= addr && addr <= addr_at(l, l->n - 1);
}

int smm_blocks_find(struct smm_blocks *t, uint64_t addr, struct smm_block *out)
{
	if (near(t, addr)) {
		t->last.pos = lower(t->last.leaf, addr);
	} else {
		descend(t, addr, &t->last);
		t->path_ok = 1;
	}
	t->last_ok = found(&t->last, addr);
	if (!t->last_ok)
		return -1;
	unpack(t->last.leaf, t->last.pos, out);
	return 0;
}

/* unlink_leaf takes the emptied leaf r out of the leaf list and frees it. */
static void unlink_leaf(struct smm_blocks *t, struct leaf *r)
{
	if (r->prev)
		r->prev->next = r->next;
	if (r->next)
		r->next->prev = r->prev;
	else
		t->tail = r->prev;
	free(r);
	t->leaves--;
}

/* drop_child removes child at (>= 1) and its separator from in. */
static void drop_child(struct inner *in, unsigned at)
{
	move_children(in, at, in, at + 1, in->n - at - 1);
	move_seps(in, at - 1, in, at, in->n - at - 1);
	in->n--;
}

/* fix_leaf restores leaf l (child i of in) to at least half full by
 * borrowing from a sibling or merging with it. Returns 1 if in lost a
 * child. */
static int fix_leaf(struct smm_blocks *t, struct inner *in, unsigned i)
{
	unsigned li = i > 0 ? i - 1 : i;
	struct leaf *l = in->child[li], *r = in->child[li + 1];

	if (l->n + r->n <= LEAF_MAX) {
		move_records(l, l->n, r, 0, r->n);
		l->n += r->n;
		unlink_leaf(t, r);
		drop_child(in, li + 1);
		return 1;
	}
	/* Even the two out: taking one record left a leaf that frees in
	 * address order (a program's phase ending) short again at the next
	 * free, shifting its sibling every time. */
	if (l->n < r->n) { /* the left one is short: take r's first k */
		unsigned k = (r->n - l->n) / 2;
		move_records(l, l->n, r, 0, k);
		l->n += k;
		r->n -= k;
		move_records(r, 0, r, k, r->n);
	} else {
		unsigned k = (l->n - r->n) / 2;
		move_records(r, k, r, 0, r->n);
		r->n += k;
		l->n -= k;
		move_records(r, 0, l, l->n, k);
	}
	in->sep[li] = addr_at(r, 0);
	return 0;
}

/* fix_inner does the same for inner node child i of in. */
static int fix_inner(struct smm_blocks *t, struct inner *in, unsigned i)
{
	unsigned li = i > 0 ? i - 1 : i;
	struct inner *l = in->child[li], *r = in->child[li + 1];

	if (l->n + r->n <= INNER_MAX) {
		l->sep[l->n - 1] = in->sep[li];
		move_seps(l, l->n, r, 0, r->n - 1);
		move_children(l, l->n, r, 0, r->n);
		l->n += r->n;
		free(r);
		t->inners--;
		drop_child(in, li + 1);
		return 1;
	}
	if (l->n < r->n) {
		l->sep[l->n - 1] = in->sep[li];
		l->child[l->n++] = r->child[0];
		in->sep[li] = r->sep[0];
		move_seps(r, 0, r, 1, r->n - 2);
		move_children(r, 0, r, 1, --r->n);
	} else {
		move_seps(r, 1, r, 0, r->n - 1);
		move_children(r, 1, r, 0, r->n++);
		r->sep[0] = in->sep[li];
		r->child[0] = l->child[--l->n];
		in->sep[li] = l->sep[l->n - 1];
	}
	return 0;
}

/* shrink rebalances upward from the leaf of p after it lost a record. */
static void shrink(struct smm_blocks *t, const struct path *p)
{
	int d = (int)t->height - 1;

	if (d < 0 || p->leaf->n >= LEAF_MIN || !fix_leaf(t, p->node[d], p->at[d]))
		goto root;
	t->path_ok = 0; /* a merge: children moved, and a node is gone */
	for (d--; d >= 0; d--)
		if (p->node[d + 1]->n >= INNER_MIN || !fix_inner(t, p->node[d], p->at[d]))
			break;
root:
	if (t->height > 0 && ((struct inner *)t->root)->n == 1) {
		struct inner *old = t->root;
		t->root = old->child[0];
		t->height--;
		t->inners--;
		free(old);
	}
}

void smm_blocks_remove(struct smm_blocks *t, uint64_t addr)
{
	struct path own, *p = &t->last;

	/* Freeing finds the block first: then its way down is known, and is
	 * used where it lies (copying it was a sixth of a remove's
	 * instructions). */
	if (!t->last_ok || !found(p, addr)) {
		p = &own;
		descend(t, addr, p);
	}
	t->last_ok = 0;
	if (!found(p, addr))
		return;
	move_records(p->leaf, p->pos, p->leaf, p->pos + 1, p->leaf->n - p->pos - 1);
	p->leaf->n--;
	t->count--;
	shrink(t, p);
}

void smm_blocks_clear(struct smm_blocks *t)
{
	struct leaf *first;
	void *n = t->root;

	for (unsigned d = 0; d < t->height; d++)
		n = ((struct inner *)n)->child[0];
	first = n;
	t->last_ok = 0;
	t->path_ok = 0;
	free_below(t->root, t->height, first);
	*first = (struct leaf){ .n = 0 };
	t->root = first;
	t->tail = first;
	t->height = 0;
	t->count = 0;
	t->leaves = 1;
	t->inners = 0;
}

size_t smm_blocks_count(const struct smm_blocks *t)
{
	return t->count;
}

size_t smm_blocks_bytes(const struct smm_blocks *t)
{
	return sizeof *t + t->leaves * sizeof(struct leaf) + t->inners * sizeof(struct inner);
}

size_t smm_blocks_range(const struct smm_blocks *t, uint64_t lo, uint64_t hi,
			int (*fn)(void *arg, const struct smm_block *b), void *arg)
{
	struct path p;
	const struct leaf *l;
	unsigned i;
	size_t n = 0;
	struct smm_block b;

	if (lo >= hi)
		return 0;
	descend(t, lo, &p);
	l = p.leaf;
	i = p.pos;
	/* Only the block just below lo can reach into the window. */
	if (!found(&p, lo)) {
		if (i > 0)
			i--;
		else if (l->prev)
			l = l->prev, i = l->n - 1;
	}
	for (; l; l = l->next, i = 0) {
		for (; i < l->n; i++) {
			unpack(l, i, &b);
			if (b.addr >= hi)
				return n;
			if (b.addr + b.size <= lo)
				continue;
			n++;
			if (fn(arg, &b))
				return n;
		}
	}
	return n;
}

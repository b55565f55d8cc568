/* leases.c — block terms in an smm_nodes pool, indexed by address with an
 * smm_nodemap, deadlines in a binary min-heap of record ids.
 *
 * A block's record holds its address (the index key), its deadline,
 * link[0] its heap position (NONE without a lease), link[1]/link[2]
 * next/previous on its connection's ring (NONE when server-scoped) and its
 * connection. Each connection that owns blocks has a head record of its
 * own, its connection id in addr, indexed by it in a second map, closing
 * the ring. */
#include "leases.h"

#include <stdlib.h>

#include "nodemap.h"
#include "nodes.h"

#define NONE SMM_NODES_NONE
#define HEAP_POS 0
#define NEXT 1
#define PREV 2

struct term {
	uint64_t addr, deadline;
	uint32_t link[3];
	uint64_t conn;
};

struct smm_leases {
	struct smm_nodes pool;
	struct smm_nodemap blocks; /* block records by address */
	struct smm_nodemap heads;  /* connection head records by connection id */
	uint32_t *heap;            /* record ids, earliest deadline first */
	size_t n, cap;
};

static uint64_t addr_key(const struct smm_nodes *pool, uint32_t id)
{
	const struct term *r = smm_nodes_at(pool, id);

	return r->addr;
}

struct smm_leases *smm_leases_new(void)
{
	struct smm_leases *l = calloc(1, sizeof *l);

	if (l) {
		l->pool.bytes = sizeof(struct term);
		l->blocks.key = addr_key;
		l->heads.key = addr_key;
	}
	return l;
}

void smm_leases_destroy(struct smm_leases *l)
{
	if (!l)
		return;
	smm_nodes_free(&l->pool);
	smm_nodemap_free(&l->blocks);
	smm_nodemap_free(&l->heads);
	free(l->heap);
	free(l);
}

static struct term *rec(const struct smm_leases *l, uint32_t id)
{
	return smm_nodes_at(&l->pool, id);
}

static uint64_t deadline_at(const struct smm_leases *l, size_t pos)
{
	return rec(l, l->heap[pos])->deadline;
}

static void heap_set(struct smm_leases *l, size_t pos, uint32_t id)
{
	l->heap[pos] = id;
	rec(l, id)->link[HEAP_POS] = (uint32_t)pos;
}

static void sift_up(struct smm_leases *l, size_t pos)
{
	uint32_t id = l->heap[pos];
	uint64_t d = rec(l, id)->deadline;

	while (pos > 0 && deadline_at(l, (pos - 1) / 2) > d) {
		heap_set(l, pos, l->heap[(pos - 1) / 2]);
		pos = (pos - 1) / 2;
	}
	heap_set(l, pos, id);
}

static void sift_down(struct smm_leases *l, size_t pos)
{
	uint32_t id = l->heap[pos];
	uint64_t d = rec(l, id)->deadline;

	for (;;) {
		size_t c = 2 * pos + 1;
		if (c >= l->n)
			break;
		if (c + 1 < l->n && deadline_at(l, c + 1) < deadline_at(l, c))
			c++;
		if (deadline_at(l, c) >= d)
			break;
		heap_set(l, pos, l->heap[c]);
		pos = c;
	}
	heap_set(l, pos, id);
}

/* heap_reserve makes room for one more entry. */
static int heap_reserve(struct smm_leases *l)
{
	size_t cap = l->cap ? l->cap * 2 : 64;
	uint32_t *heap;

	if (l->n < l->cap)
		return 0;
	heap = realloc(l->heap, cap * sizeof *heap);
	if (!heap)
		return -1;
	l->heap = heap;
	l->cap = cap;
	return 0;
}

static void heap_push(struct smm_leases *l, uint32_t id)
{
	l->heap[l->n++] = id;
	sift_up(l, l->n - 1);
}

static void heap_remove(struct smm_leases *l, uint32_t id)
{
	size_t pos = rec(l, id)->link[HEAP_POS];
	uint32_t last = l->heap[--l->n];

	rec(l, id)->link[HEAP_POS] = NONE;
	if (pos == l->n)
		return;
	heap_set(l, pos, last);
	sift_up(l, pos);
	sift_down(l, rec(l, last)->link[HEAP_POS]);
}

/* set_deadline moves record id to deadline, in or out of the heap; room
 * for one more heap entry must be reserved. */
static void set_deadline(struct smm_leases *l, uint32_t id, uint64_t deadline)
{
	struct term *r = rec(l, id);
	int had = r->link[HEAP_POS] != NONE;

	r->deadline = deadline;
	if (had && deadline == SMM_LEASES_NEVER)
		heap_remove(l, id);
	else if (had) {
		sift_up(l, r->link[HEAP_POS]);
		sift_down(l, r->link[HEAP_POS]);
	} else if (deadline != SMM_LEASES_NEVER)
		heap_push(l, id);
}

/* ring_join puts record id on connection conn's ring, making its head. */
static int ring_join(struct smm_leases *l, uint32_t id, uint64_t conn)
{
	uint32_t head = smm_nodemap_find(&l->heads, &l->pool, conn);
	struct term *h;

	if (head == NONE) {
		if (smm_nodemap_reserve(&l->heads, 1) < 0 ||
		    (head = smm_nodes_get(&l->pool)) == NONE)
			return -1;
		h = rec(l, head);
		h->addr = conn;
		h->link[NEXT] = h->link[PREV] = head;
		smm_nodemap_add(&l->heads, &l->pool, head);
	}
	h = rec(l, head);
	rec(l, id)->link[NEXT] = h->link[NEXT];
	rec(l, id)->link[PREV] = head;
	rec(l, h->link[NEXT])->link[PREV] = id;
	h->link[NEXT] = id;
	return 0;
}

/* ring_leave takes record id off its ring, dropping a head left alone. */
static void ring_leave(struct smm_leases *l, uint32_t id)
{
	struct term *r = rec(l, id);
	uint32_t next = r->link[NEXT], prev = r->link[PREV];

	rec(l, prev)->link[NEXT] = next;
	rec(l, next)->link[PREV] = prev;
	if (next == prev) { /* only the head is left */
		smm_nodemap_remove(&l->heads, &l->pool, next);
		smm_nodes_put(&l->pool, next);
	}
}

/* forget removes record id from everything and frees it. */
static void forget(struct smm_leases *l, uint32_t id)
{
	struct term *r = rec(l, id);

	if (r->link[HEAP_POS] != NONE)
		heap_remove(l, id);
	if (r->link[NEXT] != NONE)
		ring_leave(l, id);
	smm_nodemap_remove(&l->blocks, &l->pool, id);
	smm_nodes_put(&l->pool, id);
}

int smm_leases_add(struct smm_leases *l, uint64_t addr, uint64_t deadline, uint64_t conn)
{
	uint32_t id;
	struct term *r;

	if (deadline == SMM_LEASES_NEVER && conn == 0)
		return 0;
	if (smm_nodemap_reserve(&l->blocks, 1) < 0 || heap_reserve(l) < 0 ||
	    (id = smm_nodes_get(&l->pool)) == NONE)
		return -1;
	r = rec(l, id);
	r->addr = addr;
	r->deadline = SMM_LEASES_NEVER;
	r->conn = conn;
	if (conn && ring_join(l, id, conn) < 0) {
		smm_nodes_put(&l->pool, id);
		return -1;
	}
	smm_nodemap_add(&l->blocks, &l->pool, id);
	set_deadline(l, id, deadline);
	return 0;
}

int smm_leases_renew(struct smm_leases *l, uint64_t addr, uint64_t deadline)
{
	uint32_t id = smm_nodemap_find(&l->blocks, &l->pool, addr);

	if (id == NONE)
		return smm_leases_add(l, addr, deadline, 0);
	if (deadline == SMM_LEASES_NEVER && rec(l, id)->conn == 0) {
		forget(l, id);
		return 0;
	}
	if (heap_reserve(l) < 0)
		return -1;
	set_deadline(l, id, deadline);
	return 0;
}

int smm_leases_get(const struct smm_leases *l, uint64_t addr, uint64_t *deadline,
		   uint64_t *conn)
{
	uint32_t id;

	if (l->blocks.count == 0 ||
	    (id = smm_nodemap_find(&l->blocks, &l->pool, addr)) == NONE)
		return -1;
	*deadline = rec(l, id)->deadline;
	*conn = rec(l, id)->conn;
	return 0;
}

void smm_leases_drop(struct smm_leases *l, uint64_t addr)
{
	uint32_t id;

	/* Servers that use no terms pay one comparison per free. */
	if (l->blocks.count == 0)
		return;
	id = smm_nodemap_find(&l->blocks, &l->pool, addr);
	if (id != NONE)
		forget(l, id);
}

uint64_t smm_leases_next(const struct smm_leases *l)
{
	return l->n ? deadline_at(l, 0) : SMM_LEASES_NEVER;
}

int smm_leases_pop_due(struct smm_leases *l, uint64_t now, uint64_t *addr)
{
	if (l->n == 0 || deadline_at(l, 0) > now)
		return 0;
	*addr = rec(l, l->heap[0])->addr;
	forget(l, l->heap[0]);
	return 1;
}

int smm_leases_pop_conn(struct smm_leases *l, uint64_t conn, uint64_t *addr)
{
	uint32_t head;

	if (l->heads.count == 0 || (head = smm_nodemap_find(&l->heads, &l->pool, conn)) == NONE)
		return 0;
	*addr = rec(l, rec(l, head)->link[NEXT])->addr;
	forget(l, rec(l, head)->link[NEXT]);
	return 1;
}

size_t smm_leases_count(const struct smm_leases *l)
{
	return l->n;
}

void smm_leases_clear(struct smm_leases *l)
{
	smm_nodes_clear(&l->pool);
	smm_nodemap_clear(&l->blocks);
	smm_nodemap_clear(&l->heads);
	l->n = 0;
}

size_t smm_leases_bytes(const struct smm_leases *l)
{
	return sizeof *l + smm_nodes_bytes(&l->pool) + smm_nodemap_bytes(&l->blocks) +
	       smm_nodemap_bytes(&l->heads) + l->cap * sizeof *l->heap;
}

/* spans.c — free span records with start and end maps and list links. */
#include "spans.h"

#define NIL SMM_NODES_NONE

static uint64_t start_key(const struct smm_nodes *pool, uint32_t id)
{
	const struct smm_span *n = smm_nodes_at(pool, id);

	return n->addr;
}

static uint64_t end_key(const struct smm_nodes *pool, uint32_t id)
{
	const struct smm_span *n = smm_nodes_at(pool, id);

	return n->addr + n->size;
}

int smm_spans_init(struct smm_spans *s, size_t n)
{
	s->pool.bytes = sizeof(struct smm_span);
	s->starts.key = start_key;
	s->ends.key = end_key;
	return smm_spans_room(s, n);
}

void smm_spans_free(struct smm_spans *s)
{
	smm_nodes_free(&s->pool);
	smm_nodemap_free(&s->starts);
	smm_nodemap_free(&s->ends);
}

void smm_spans_clear(struct smm_spans *s)
{
	smm_nodes_clear(&s->pool);
	smm_nodemap_clear(&s->starts);
	smm_nodemap_clear(&s->ends);
}

uint32_t smm_spans_get(struct smm_spans *s)
{
	return smm_nodes_get(&s->pool);
}

void smm_spans_put(struct smm_spans *s, uint32_t id)
{
	smm_nodes_put(&s->pool, id);
}

void smm_spans_index(struct smm_spans *s, uint32_t id)
{
	smm_nodemap_add(&s->starts, &s->pool, id);
	smm_nodemap_add(&s->ends, &s->pool, id);
}

void smm_spans_unindex(struct smm_spans *s, uint32_t id)
{
	smm_nodemap_remove(&s->starts, &s->pool, id);
	smm_nodemap_remove(&s->ends, &s->pool, id);
}

void smm_spans_move_start(struct smm_spans *s, uint32_t id, uint64_t addr)
{
	struct smm_span *n = smm_spans_at(s, id);

	smm_nodemap_remove(&s->starts, &s->pool, id);
	n->size = n->addr + n->size - addr;
	n->addr = addr;
	smm_nodemap_add(&s->starts, &s->pool, id);
}

void smm_spans_move_end(struct smm_spans *s, uint32_t id, uint64_t end)
{
	struct smm_span *n = smm_spans_at(s, id);

	smm_nodemap_remove(&s->ends, &s->pool, id);
	n->size = end - n->addr;
	smm_nodemap_add(&s->ends, &s->pool, id);
}

void smm_spans_split(struct smm_spans *s, uint32_t x, uint32_t y, uint64_t lo, uint64_t hi)
{
	struct smm_span *n = smm_spans_at(s, x), *m = smm_spans_at(s, y);
	uint64_t end = n->addr + n->size;

	smm_nodemap_retarget(&s->ends, &s->pool, end, y);
	m->addr = hi;
	m->size = end - hi;
	smm_nodemap_add(&s->starts, &s->pool, y);
	n->size = lo - n->addr;
	smm_nodemap_add(&s->ends, &s->pool, x);
}

void smm_spans_join(struct smm_spans *s, uint32_t lo, uint32_t hi)
{
	struct smm_span *n = smm_spans_at(s, lo);
	uint64_t end = smm_spans_at(s, hi)->addr + smm_spans_at(s, hi)->size;

	smm_nodemap_remove(&s->starts, &s->pool, hi);
	smm_nodemap_remove(&s->ends, &s->pool, lo);
	smm_nodemap_retarget(&s->ends, &s->pool, end, lo);
	smm_nodes_put(&s->pool, hi);
	n->size = end - n->addr;
}

uint32_t smm_spans_starting(const struct smm_spans *s, uint64_t addr)
{
	return smm_nodemap_find(&s->starts, &s->pool, addr);
}

uint32_t smm_spans_ending(const struct smm_spans *s, uint64_t addr)
{
	return smm_nodemap_find(&s->ends, &s->pool, addr);
}

void smm_spans_push(struct smm_spans *s, uint32_t *head, uint32_t id)
{
	struct smm_span *n = smm_spans_at(s, id);

	n->prev = NIL;
	n->next = *head;
	if (*head != NIL)
		smm_spans_at(s, *head)->prev = id;
	*head = id;
}

int smm_spans_unlink(struct smm_spans *s, uint32_t *head, uint32_t id)
{
	struct smm_span *n = smm_spans_at(s, id);

	if (n->prev != NIL)
		smm_spans_at(s, n->prev)->next = n->next;
	else
		*head = n->next;
	if (n->next != NIL)
		smm_spans_at(s, n->next)->prev = n->prev;
	return *head == NIL;
}

uint64_t smm_spans_count(const struct smm_spans *s)
{
	return s->pool.live;
}

size_t smm_spans_bytes(const struct smm_spans *s)
{
	return smm_nodes_bytes(&s->pool) + smm_nodemap_bytes(&s->starts) +
	       smm_nodemap_bytes(&s->ends);
}

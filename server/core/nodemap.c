/* nodemap.c — open-addressing index of record ids by address. A slot holds
 * (hash tag << 32 | id + 1); 0 is empty. The tag's low bits are the home
 * slot, so deletion can shift entries without reading their records. */
#include "nodemap.h"

#include <stdlib.h>
#include <string.h>

#include "bigmem.h"

#define MIN_SLOTS 64u

static uint32_t tag_of(uint64_t key)
{
	return (uint32_t)((key * 0x9E3779B97F4A7C15ULL) >> 32);
}

static uint64_t key_of(const struct smm_nodemap *m, const struct smm_nodes *pool, uint32_t id)
{
	return m->key(pool, id);
}

static void place(struct smm_nodemap *m, uint64_t slot)
{
	size_t i = (uint32_t)(slot >> 32) & m->mask;

	while (m->slots[i] != 0)
		i = (i + 1) & m->mask;
	m->slots[i] = slot;
}

int smm_nodemap_grow(struct smm_nodemap *m, size_t n)
{
	size_t cap = m->slots ? m->mask + 1 : 0, old = cap;
	uint64_t *slots, *prev = m->slots;

	/* As smm_nodemap_reserve: the load at most 3/4. */
	while ((m->count + n) * 4 > cap * 3)
		cap = cap ? cap * 2 : MIN_SLOTS;
	if (cap == old)
		return 0;
	slots = smm_bigmem_alloc(cap * sizeof *slots, 1);
	if (!slots)
		return -1;
	m->slots = slots;
	m->mask = cap - 1;
	for (size_t i = 0; i < old; i++)
		if (prev[i] != 0)
			place(m, prev[i]);
	free(prev);
	return 0;
}

void smm_nodemap_add(struct smm_nodemap *m, const struct smm_nodes *pool, uint32_t id)
{
	place(m, (uint64_t)tag_of(key_of(m, pool, id)) << 32 | (uint64_t)(id + 1u));
	m->count++;
}

static size_t slot_of(const struct smm_nodemap *m, const struct smm_nodes *pool, uint64_t key)
{
	uint32_t tag = tag_of(key);

	if (!m->slots)
		return SIZE_MAX;
	for (size_t i = tag & m->mask; m->slots[i] != 0; i = (i + 1) & m->mask) {
		uint64_t s = m->slots[i];
		if ((uint32_t)(s >> 32) == tag && key_of(m, pool, (uint32_t)s - 1u) == key)
			return i;
	}
	return SIZE_MAX;
}

uint32_t smm_nodemap_find(const struct smm_nodemap *m, const struct smm_nodes *pool, uint64_t key)
{
	size_t i = slot_of(m, pool, key);

	return i == SIZE_MAX ? SMM_NODES_NONE : (uint32_t)m->slots[i] - 1u;
}

void smm_nodemap_retarget(struct smm_nodemap *m, const struct smm_nodes *pool, uint64_t key,
			  uint32_t id)
{
	size_t i = slot_of(m, pool, key);

	if (i != SIZE_MAX)
		m->slots[i] = (m->slots[i] & ~0xFFFFFFFFull) | (uint64_t)(id + 1u);
}

void smm_nodemap_remove(struct smm_nodemap *m, const struct smm_nodes *pool, uint32_t id)
{
	/* Look for the exact slot value: no probe reads another record. */
	uint64_t want = (uint64_t)tag_of(key_of(m, pool, id)) << 32 | (uint64_t)(id + 1u);
	size_t hole, i;

	for (hole = (uint32_t)(want >> 32) & m->mask; m->slots[hole] != want;
	     hole = (hole + 1) & m->mask)
		if (m->slots[hole] == 0)
			return;
	/* Shift later members of the probe run back over the hole when their
	 * home slot does not lie cyclically in (hole, i]. */
	for (i = (hole + 1) & m->mask; m->slots[i] != 0; i = (i + 1) & m->mask) {
		size_t home = (uint32_t)(m->slots[i] >> 32) & m->mask;
		if (((i - home) & m->mask) >= ((i - hole) & m->mask)) {
			m->slots[hole] = m->slots[i];
			hole = i;
		}
	}
	m->slots[hole] = 0;
	m->count--;
}

void smm_nodemap_clear(struct smm_nodemap *m)
{
	if (m->slots)
		memset(m->slots, 0, (m->mask + 1) * sizeof *m->slots);
	m->count = 0;
}

void smm_nodemap_free(struct smm_nodemap *m)
{
	free(m->slots);
	m->slots = NULL;
	m->mask = 0;
	m->count = 0;
}

size_t smm_nodemap_bytes(const struct smm_nodemap *m)
{
	return m->slots ? (m->mask + 1) * sizeof *m->slots : 0;
}

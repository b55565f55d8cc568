/* nodemap.h — the core's one hash table: an index of smm_nodes records
 * by a 64-bit key their owner computes (a free span's start or end, the
 * out-of-band form of a boundary tag; a lease's block address or
 * connection id). O(1) expected lookup, insert and removal.
 *
 * A slot is 8 bytes (a record id and 32 bits of the key's hash), so most
 * probes never touch a record. Linear probing, backward-shift deletion. */
#ifndef SMM_NODEMAP_H
#define SMM_NODEMAP_H

#include <stddef.h>
#include <stdint.h>

#include "nodes.h"

/* A record's key; it must not change while the record is in the map. */
typedef uint64_t (*smm_nodemap_key_fn)(const struct smm_nodes *pool, uint32_t id);

/* Zero-initialise, then set key. One owner thread. */
struct smm_nodemap {
	uint64_t *slots;
	size_t mask, count;
	smm_nodemap_key_fn key;
};

/* smm_nodemap_grow makes room for n more records, growing the slots.
 * Returns 0, or -1 when memory ran out (map unchanged). */
int smm_nodemap_grow(struct smm_nodemap *m, size_t n);

/* smm_nodemap_reserve makes room for n more records without growing.
 * Returns 0, or -1 when memory ran out (map unchanged). Inline: policies
 * call it on every request, and it nearly always has room already. */
static inline int smm_nodemap_reserve(struct smm_nodemap *m, size_t n)
{
	/* The load stays at most 3/4 so probe runs stay short. */
	if (m->slots && (m->count + n) * 4 <= (m->mask + 1) * 3)
		return 0;
	return smm_nodemap_grow(m, n);
}

/* smm_nodemap_add indexes record id; room must have been reserved. */
void smm_nodemap_add(struct smm_nodemap *m, const struct smm_nodes *pool, uint32_t id);

/* smm_nodemap_find returns the record with key key, or SMM_NODES_NONE. */
uint32_t smm_nodemap_find(const struct smm_nodemap *m, const struct smm_nodes *pool, uint64_t key);

/* smm_nodemap_retarget makes the entry for key (present) index record id
 * instead, in O(1) without moving entries; id's key must become key before
 * the next lookup. */
void smm_nodemap_retarget(struct smm_nodemap *m, const struct smm_nodes *pool, uint64_t key,
			  uint32_t id);

/* smm_nodemap_remove drops record id (which must be in the map). */
void smm_nodemap_remove(struct smm_nodemap *m, const struct smm_nodes *pool, uint32_t id);

/* smm_nodemap_clear empties the map, keeping its slots. */
void smm_nodemap_clear(struct smm_nodemap *m);

/* smm_nodemap_free releases the slots; the map is empty and reusable. */
void smm_nodemap_free(struct smm_nodemap *m);

/* smm_nodemap_bytes returns the heap the map uses. */
size_t smm_nodemap_bytes(const struct smm_nodemap *m);

#endif

/* nodes.h — a pool of small records that index free extents, for the
 * placement policies. Records are addressed by 32-bit ids (half a pointer)
 * and live in fixed pages, so a pointer to one stays valid until it is put
 * back, and growing the pool never moves a record. */
#ifndef SMM_NODES_H
#define SMM_NODES_H

#include <stddef.h>
#include <stdint.h>

#include "bigmem.h"

/* No record: an empty link. */
#define SMM_NODES_NONE UINT32_MAX

/* One record: a free range [addr, addr+size), four links and two 64-bit
 * words the owner uses as it likes (its subtrees' maxima, say). */
struct smm_node {
	uint64_t addr, size;
	uint32_t link[4];
	uint64_t aux[2];
};

/* A small pool's records hold only addr, size, link[0] and link[1]. */
#define SMM_NODES_SMALL (2 * sizeof(uint64_t) + 2 * sizeof(uint32_t))

/* Zero-initialise, and set small to 1 before the first get for a pool of
 * small records; release with smm_nodes_free. */
struct smm_nodes {
	struct smm_bigmem_pages pages;
	uint32_t used;   /* ids below this were handed out at least once */
	uint32_t spare;  /* a list of put-back ids through link[0] */
	uint32_t live;   /* ids handed out and not put back */
	int small;       /* records of SMM_NODES_SMALL bytes */
};

/* smm_nodes_get returns a fresh id with its record's links set to
 * SMM_NODES_NONE (the two a small record has), or SMM_NODES_NONE when memory ran out (pool unchanged). */
uint32_t smm_nodes_get(struct smm_nodes *p);

/* smm_nodes_put gives id back to the pool. */
void smm_nodes_put(struct smm_nodes *p, uint32_t id);

/* smm_nodes_at returns the record of a handed-out id. */
static inline struct smm_node *smm_nodes_at(const struct smm_nodes *p, uint32_t id)
{
	size_t bytes = p->small ? SMM_NODES_SMALL : sizeof(struct smm_node);

	return (struct smm_node *)(void *)(p->pages.page[id >> 8] + (size_t)(id & 255) * bytes);
}

/* smm_nodes_clear puts back every id, keeping the pages. */
void smm_nodes_clear(struct smm_nodes *p);

/* smm_nodes_free releases the pages; the pool is empty and reusable. */
void smm_nodes_free(struct smm_nodes *p);

/* smm_nodes_bytes returns the heap the pool uses. */
size_t smm_nodes_bytes(const struct smm_nodes *p);

#endif

/* nodes.h — a pool of small records that index free extents, for the
 * placement policies. Records are addressed by 32-bit ids (half a pointer)
 * and live in fixed pages, so a pointer to one stays valid until it is put
 * back, and growing the pool never moves a record. */
#ifndef SMM_NODES_H
#define SMM_NODES_H

#include <stddef.h>
#include <stdint.h>

/* No record: an empty link. */
#define SMM_NODES_NONE UINT32_MAX

/* One record: a free range [addr, addr+size), two 64-bit words the owner
 * uses as it likes (its subtrees' maxima, say) and four links. */
struct smm_node {
	uint64_t addr, size, aux[2];
	uint32_t link[4];
};

/* Zero-initialise; release with smm_nodes_free. */
struct smm_nodes {
	struct smm_node **pages;
	size_t npages;   /* pages allocated */
	uint32_t used;   /* ids below this were handed out at least once */
	uint32_t spare;  /* a list of put-back ids through link[0] */
	uint32_t live;   /* ids handed out and not put back */
};

/* smm_nodes_get returns a fresh id with its record's links set to
 * SMM_NODES_NONE, or SMM_NODES_NONE when memory ran out (pool unchanged). */
uint32_t smm_nodes_get(struct smm_nodes *p);

/* smm_nodes_put gives id back to the pool. */
void smm_nodes_put(struct smm_nodes *p, uint32_t id);

/* smm_nodes_at returns the record of a handed-out id. */
static inline struct smm_node *smm_nodes_at(const struct smm_nodes *p, uint32_t id)
{
	return &p->pages[id >> 8][id & 255];
}

/* smm_nodes_clear puts back every id, keeping the pages. */
void smm_nodes_clear(struct smm_nodes *p);

/* smm_nodes_free releases the pages; the pool is empty and reusable. */
void smm_nodes_free(struct smm_nodes *p);

/* smm_nodes_bytes returns the heap the pool uses. */
size_t smm_nodes_bytes(const struct smm_nodes *p);

#endif

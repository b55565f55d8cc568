/* nodes.h — a pool of small fixed-size records outside the arena, for the
 * placement policies and the lease table. Records are addressed by 32-bit
 * ids (half a pointer) and live in fixed pages, so a pointer to one stays
 * valid until it is put back, and growing the pool never moves a record.
 * The pool knows only each record's size: every user declares its own
 * record type and reads records through that type alone. */
#ifndef SMM_NODES_H
#define SMM_NODES_H

#include <stddef.h>
#include <stdint.h>

#include "bigmem.h"

/* No record: an empty link. */
#define SMM_NODES_NONE UINT32_MAX

/* Zero-initialise, and set bytes (the record size, >= 4) before the first
 * get; release with smm_nodes_free. One owner thread. */
struct smm_nodes {
	struct smm_bigmem_pages pages;
	uint32_t used;   /* ids below this were handed out at least once */
	uint32_t spare;  /* a list of put-back ids through their records */
	uint32_t live;   /* ids handed out and not put back */
	size_t bytes;    /* bytes per record */
};

/* smm_nodes_get returns a fresh id whose record's bytes are all 0xFF (so
 * its uint32_t links read SMM_NODES_NONE), or SMM_NODES_NONE when memory
 * ran out (pool unchanged). */
uint32_t smm_nodes_get(struct smm_nodes *p);

/* smm_nodes_put gives id back to the pool. */
void smm_nodes_put(struct smm_nodes *p, uint32_t id);

/* smm_nodes_at returns the record of a handed-out id, for the caller to
 * convert to its record type. */
static inline void *smm_nodes_at(const struct smm_nodes *p, uint32_t id)
{
	return p->pages.page[id >> 8] + (size_t)(id & 255) * p->bytes;
}

/* smm_nodes_clear puts back every id, keeping the pages. */
void smm_nodes_clear(struct smm_nodes *p);

/* smm_nodes_free releases the pages; the pool is empty and reusable. */
void smm_nodes_free(struct smm_nodes *p);

/* smm_nodes_bytes returns the heap the pool uses. */
size_t smm_nodes_bytes(const struct smm_nodes *p);

#endif

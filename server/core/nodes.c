/* nodes.c — paged pool of records with a list of put-back ids. A put-back
 * record is dead storage: the list's link is copied into its first four
 * bytes with memcpy, which is valid whatever type the record had. */
#include "nodes.h"

#include <string.h>

/* Records per page: 6-12 KiB pages keep the unused tail of the last page
 * small even next to a thousand records. Must match smm_nodes_at. */
#define PAGE_NODES 256u

uint32_t smm_nodes_get(struct smm_nodes *p)
{
	uint32_t id;

	if (p->used == 0) /* a zeroed pool: its spare list is empty */
		p->spare = SMM_NODES_NONE;
	id = p->spare;
	if (id != SMM_NODES_NONE) {
		memcpy(&p->spare, smm_nodes_at(p, id), sizeof p->spare);
	} else {
		if (p->used == SMM_NODES_NONE)
			return SMM_NODES_NONE;
		p->pages.size = PAGE_NODES * p->bytes;
		if (p->used == p->pages.n * PAGE_NODES && smm_bigmem_pages_add(&p->pages) < 0)
			return SMM_NODES_NONE;
		id = p->used++;
	}
	p->live++;
	memset(smm_nodes_at(p, id), 0xFF, p->bytes);
	return id;
}

void smm_nodes_put(struct smm_nodes *p, uint32_t id)
{
	memcpy(smm_nodes_at(p, id), &p->spare, sizeof p->spare);
	p->spare = id;
	p->live--;
}

void smm_nodes_clear(struct smm_nodes *p)
{
	p->used = 0;
	p->live = 0;
	p->spare = SMM_NODES_NONE;
}

void smm_nodes_free(struct smm_nodes *p)
{
	if (p->pages.size)
		smm_bigmem_pages_free(&p->pages);
	*p = (struct smm_nodes){ .bytes = p->bytes };
}

size_t smm_nodes_bytes(const struct smm_nodes *p)
{
	return p->pages.size ? smm_bigmem_pages_bytes(&p->pages) : 0;
}

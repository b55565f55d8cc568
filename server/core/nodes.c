/* nodes.c — paged pool of extent records with a list of put-back ids. */
#include "nodes.h"

/* Records per page: 12 KiB pages (6 KiB small) keep the unused tail of
 * the last page small even next to a thousand records. Must match
 * smm_nodes_at. */
#define PAGE_NODES 256u

static size_t record_bytes(const struct smm_nodes *p)
{
	return p->small ? SMM_NODES_SMALL : sizeof(struct smm_node);
}

uint32_t smm_nodes_get(struct smm_nodes *p)
{
	uint32_t id;
	struct smm_node *n;

	if (p->used == 0) /* a zeroed pool: its spare list is empty */
		p->spare = SMM_NODES_NONE;
	id = p->spare;
	if (id != SMM_NODES_NONE) {
		p->spare = smm_nodes_at(p, id)->link[0];
	} else {
		if (p->used == SMM_NODES_NONE)
			return SMM_NODES_NONE;
		p->pages.size = PAGE_NODES * record_bytes(p);
		if (p->used == p->pages.n * PAGE_NODES && smm_bigmem_pages_add(&p->pages) < 0)
			return SMM_NODES_NONE;
		id = p->used++;
	}
	p->live++;
	n = smm_nodes_at(p, id);
	n->link[0] = n->link[1] = SMM_NODES_NONE;
	if (!p->small)
		n->link[2] = n->link[3] = SMM_NODES_NONE;
	return id;
}

void smm_nodes_put(struct smm_nodes *p, uint32_t id)
{
	smm_nodes_at(p, id)->link[0] = p->spare;
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
	*p = (struct smm_nodes){ .small = p->small };
}

size_t smm_nodes_bytes(const struct smm_nodes *p)
{
	return p->pages.size ? smm_bigmem_pages_bytes(&p->pages) : 0;
}

/* map.h — a scaled memory map: a window of the address space cut into
 * equal cells, each with the bytes in use and the owner holding most of
 * them, computed from the block table alone (never the arena's bytes).
 * Called by the table's owner thread only, as every core module. */
#ifndef SMM_MAP_H
#define SMM_MAP_H

#include <stddef.h>
#include <stdint.h>

#include "blocks.h"

/* The owner of a cell with no live byte. */
#define SMM_MAP_NO_OWNER (-1)

struct smm_map_cell {
	uint64_t used; /* bytes of live blocks inside the cell */
	uint64_t unfilled; /* bytes of those in blocks marked unfilled (smm_map_cells_marked) */
	int64_t owner; /* id owning the most of them, the lowest among equals */
};

/* smm_map_cells cuts [offset, offset+length) into cells ranges, cell i
 * being [offset + length*i/cells, offset + length*(i+1)/cells) (integer
 * division; some are empty when cells > length), and fills out[0..cells)
 * from the blocks of t. Returns 0, or -1 when cells is 0, offset+length
 * overflows or memory for the tally ran out (out then unspecified). Costs
 * O(log n + k + cells) for k blocks overlapping the window. out is the
 * caller's; t is only read. */
int smm_map_cells(const struct smm_blocks *t, uint64_t offset, uint64_t length, size_t cells,
		  struct smm_map_cell *out);

/* smm_map_cells_marked is smm_map_cells that also counts in each cell's
 * unfilled the bytes of the blocks b for which unfilled(arg, b) is
 * nonzero; unfilled NULL marks none. Same costs, plus one call per block. */
int smm_map_cells_marked(const struct smm_blocks *t, uint64_t offset, uint64_t length,
			 size_t cells, int (*unfilled)(const void *arg, const struct smm_block *b),
			 const void *arg, struct smm_map_cell *out);

#endif

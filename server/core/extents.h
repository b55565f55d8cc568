/* extents.h — the free space of an arena as a set of maximal free extents
 * in address order, for the policies that split exactly and merge at once
 * (first-fit, next-fit, best-fit, worst-fit).
 *
 * Extents are records outside the arena (smm_nodes) indexed by treaps:
 * one by address whose nodes keep their subtree's largest usable size
 * (Linux vmalloc's idea), and optionally a second by (usable size, address)
 * (OpenZFS metaslab's). An extent's usable size is what it can grant with
 * the arena's alignment: end - align_up(start). Every operation is
 * O(log n) expected in the number of free extents. */
#ifndef SMM_EXTENTS_H
#define SMM_EXTENTS_H

#include <stddef.h>
#include <stdint.h>

struct smm_extents; /* opaque */

/* smm_extents_new returns the set for an arena [0, size) whose grants
 * start at multiples of align (a power of two), all free, indexed by size
 * too when by_size is nonzero; or NULL when memory ran out. The caller owns
 * it and releases it with smm_extents_destroy. */
struct smm_extents *smm_extents_new(uint64_t size, uint64_t align, int by_size);
void smm_extents_destroy(struct smm_extents *e);

/* smm_extents_reset makes the whole arena one free extent again. */
void smm_extents_reset(struct smm_extents *e);

/* smm_extents_take carves n bytes, at its first aligned address, from
 * the lowest-addressed extent that starts at or after from and whose
 * usable size is >= fit (>= n), in one descent. Returns 0 and sets *addr,
 * or -1 when no extent qualifies or memory for a record ran out (set
 * unchanged). */
int smm_extents_take(struct smm_extents *e, uint64_t fit, uint64_t n, uint64_t from,
		     uint64_t *addr);

/* smm_extents_claim carves exactly [addr, addr+size) out of the free
 * extent holding it, for replay (arena.h's smm_arena_claim). Returns 0, or
 * -1 when no free extent holds the whole range or memory for a record ran
 * out (set unchanged). O(log n). */
int smm_extents_claim(struct smm_extents *e, uint64_t addr, uint64_t size);

/* smm_extents_best sets *start and *fit to the extent with the smallest
 * usable size >= n, the lowest-addressed among equals, and returns 0; -1
 * if none. Only for a set made with by_size. */
int smm_extents_best(const struct smm_extents *e, uint64_t n, uint64_t *start, uint64_t *fit);

/* smm_extents_largest returns the largest usable size of any extent. */
uint64_t smm_extents_largest(const struct smm_extents *e);

/* smm_extents_give returns [addr, addr+size) (not free now) to the set,
 * merging it with free neighbours in one descent. Needs a new record only
 * when it touches none; if memory for it ran out the range stays out of
 * use until reset. */
void smm_extents_give(struct smm_extents *e, uint64_t addr, uint64_t size);

/* smm_extents_count returns the number of free extents. */
uint64_t smm_extents_count(const struct smm_extents *e);

/* smm_extents_bytes returns the heap the set uses. */
size_t smm_extents_bytes(const struct smm_extents *e);

#endif

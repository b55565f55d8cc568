/* spans.h — free spans of address space as out-of-band records, found by
 * start and by end address (the boundary tags that cannot live in the
 * arena, whose bytes are the clients'), each on one doubly linked list.
 * What buddy and tlsf have in common: records, the two maps, the room
 * they reserve before a change, the lists, and tear-down. Also the one
 * definition of a span's usable size under an alignment, which the
 * address-ordered extents share. One owner thread; no locks. */
#ifndef SMM_SPANS_H
#define SMM_SPANS_H

#include <stddef.h>
#include <stdint.h>

#include "nodemap.h"
#include "nodes.h"

/* One free span [addr, addr+size) and its list links. */
struct smm_span {
	uint64_t addr, size;
	uint32_t prev, next;
};

/* Zero-initialise, then smm_spans_init. */
struct smm_spans {
	struct smm_nodes pool;
	struct smm_nodemap starts, ends;
};

/* smm_span_usable returns what [addr, addr+size) can grant when grants
 * start at multiples of align (a power of two): end - align_up(addr), or
 * 0 when no aligned address lies inside. */
static inline uint64_t smm_span_usable(uint64_t addr, uint64_t size, uint64_t align)
{
	uint64_t start;

	if (align == 1) /* the common case: every byte is usable */
		return size;
	start = (addr + align - 1) & ~(align - 1);
	return start < addr || start >= addr + size ? 0 : addr + size - start;
}

/* smm_spans_init prepares s with room for n spans. Returns 0, or -1 when
 * memory ran out (release with smm_spans_free either way). */
int smm_spans_init(struct smm_spans *s, size_t n);

/* smm_spans_free releases everything s holds. */
void smm_spans_free(struct smm_spans *s);

/* smm_spans_clear forgets every span, keeping the storage. */
void smm_spans_clear(struct smm_spans *s);

/* smm_spans_room makes sure n more spans can be indexed without
 * allocating. Returns 0, or -1 when memory ran out (s unchanged). */
static inline int smm_spans_room(struct smm_spans *s, size_t n)
{
	return smm_nodemap_reserve(&s->starts, n) < 0 || smm_nodemap_reserve(&s->ends, n) < 0
		       ? -1 : 0;
}

/* smm_spans_at returns the record of span id. */
static inline struct smm_span *smm_spans_at(const struct smm_spans *s, uint32_t id)
{
	return smm_nodes_at(&s->pool, id);
}

/* smm_spans_get returns a new record id (links SMM_NODES_NONE), or
 * SMM_NODES_NONE when memory ran out; smm_spans_put gives one back. */
uint32_t smm_spans_get(struct smm_spans *s);
void smm_spans_put(struct smm_spans *s, uint32_t id);

/* smm_spans_index files span id, its range set, in both maps (room
 * reserved); smm_spans_unindex takes it out of both. A span's range may
 * change only while it is out of the maps (or out of the map whose key
 * changes: see smm_spans_move_start and smm_spans_move_end). */
void smm_spans_index(struct smm_spans *s, uint32_t id);
void smm_spans_unindex(struct smm_spans *s, uint32_t id);

/* smm_spans_move_start gives indexed span id the start addr, keeping its
 * end; smm_spans_move_end the end end, keeping its start. */
void smm_spans_move_start(struct smm_spans *s, uint32_t id, uint64_t addr);
void smm_spans_move_end(struct smm_spans *s, uint32_t id, uint64_t end);

/* smm_spans_split cuts indexed span x around [lo, hi) (inside it, lo
 * above its start, hi below its end): x keeps [start, lo) and the new
 * span y (fresh from smm_spans_get, room reserved) gets [hi, end), both
 * indexed. In O(1): y takes over x's end entry. */
void smm_spans_split(struct smm_spans *s, uint32_t x, uint32_t y, uint64_t lo, uint64_t hi);

/* smm_spans_join makes indexed span lo cover up to the end of indexed
 * span hi, which it reaches across a gap, and puts hi back: lo takes
 * over hi's end entry. */
void smm_spans_join(struct smm_spans *s, uint32_t lo, uint32_t hi);

/* smm_spans_starting and smm_spans_ending return the span that starts or
 * ends at addr, or SMM_NODES_NONE. */
uint32_t smm_spans_starting(const struct smm_spans *s, uint64_t addr);
uint32_t smm_spans_ending(const struct smm_spans *s, uint64_t addr);

/* smm_spans_push puts span id at the front of the list at *head;
 * smm_spans_unlink takes it off again. Return whether the list is empty
 * afterwards (push: never). */
void smm_spans_push(struct smm_spans *s, uint32_t *head, uint32_t id);
int smm_spans_unlink(struct smm_spans *s, uint32_t *head, uint32_t id);

/* smm_spans_count returns the number of spans; smm_spans_bytes the heap
 * s uses. */
uint64_t smm_spans_count(const struct smm_spans *s);
size_t smm_spans_bytes(const struct smm_spans *s);

#endif

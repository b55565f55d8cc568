/* arena.h — the allocator core: the arena's bytes, the block table and a
 * placement policy, as one plain data structure. No threads, no I/O: in the
 * server only the allocator thread touches an arena, so it has no locks. */
#ifndef SMM_ARENA_H
#define SMM_ARENA_H

#include <stddef.h>
#include <stdint.h>

#include "leases.h"
#include "map.h"
#include "policy.h"
#include "proto.h"

struct smm_arena_config {
	uint64_t size;                        /* bytes, >= 1 */
	uint64_t align;                       /* grant alignment, power of two, >= 1 */
	char filler;                          /* shown for free bytes; printable, not space */
	const struct smm_policy_ops *policy;  /* static storage */
};

struct smm_arena; /* opaque */

/* smm_arena_new returns an empty arena, or NULL with a reason in
 * err[0..errlen) when the config is invalid or memory ran out. The caller
 * owns the arena and releases it with smm_arena_destroy. The bytes are
 * reserved lazily: a 5 GiB arena costs no RAM until it is written. */
struct smm_arena *smm_arena_new(const struct smm_arena_config *cfg, char *err, size_t errlen);
void smm_arena_destroy(struct smm_arena *a);

/* smm_arena_alloc grants size bytes to owner id. On SMM_ERR_NONE *out
 * describes the block (size is the granted size) and *key is its new key.
 * Returns SMM_ERR_NO_MEMORY when there is no room (arena unchanged). */
enum smm_err smm_arena_alloc(struct smm_arena *a, int64_t id, uint64_t size,
			     struct smm_block_info *out, uint64_t *key);

/* smm_arena_claim makes a block of size bytes (as the policy grants it:
 * buddy rounds up) at addr, owned by id, with key key: replay (aofrec.h)
 * puts each logged block back where it was, whatever the order the policy
 * would choose now. Returns 0 with *out set, or -1 when the block is not
 * wholly free, not where the policy can grant it, or memory ran out
 * (arena unchanged). */
int smm_arena_claim(struct smm_arena *a, uint64_t addr, uint64_t size, int64_t id,
		    uint64_t key, struct smm_block_info *out);

/* One live block as the log's rewrite copies it: fill is the character
 * its bytes hold, 0 when never filled; deadline and conn its terms
 * (SMM_LEASES_NEVER and 0 when none). */
struct smm_arena_entry {
	uint64_t addr, size, key, deadline, conn;
	int64_t id;
	char fill;
};

/* smm_arena_snapshot stores the first max live blocks, in address order,
 * in out[0..max) and returns how many it stored. A flat copy of the block
 * table (the terms looked up only when some block has any), so that the
 * rewrite can write them from another thread. out is the caller's. */
size_t smm_arena_snapshot(const struct smm_arena *a, size_t max, struct smm_arena_entry *out);

/* smm_arena_fill sets every byte of the block at addr to c, or to its
 * owner's id character when c is 0. Returns SMM_ERR_BAD_ADDR when no block
 * starts at addr, SMM_ERR_FORBIDDEN when key is not its key (arena
 * unchanged in both cases). *out describes the block on success. */
enum smm_err smm_arena_fill(struct smm_arena *a, uint64_t addr, uint64_t key, char c,
			    struct smm_block_info *out);

/* smm_arena_release frees the block at addr and scrubs its bytes back to
 * the filler, ending its terms. Errors as smm_arena_fill. */
enum smm_err smm_arena_release(struct smm_arena *a, uint64_t addr, uint64_t key,
			       struct smm_block_info *out);

/* smm_arena_evict frees the block at addr whatever its key: the
 * operator's free, authorised by the caller. Returns SMM_ERR_BAD_ADDR when
 * no block starts at addr (arena unchanged). */
enum smm_err smm_arena_evict(struct smm_arena *a, uint64_t addr, struct smm_block_info *out);

/* Terms (see leases.h): deadlines are milliseconds on the caller's
 * monotonic clock, SMM_LEASES_NEVER for none; conn is the owner
 * connection's id, 0 for none. The arena keeps no clock: every call that
 * depends on time takes now from its caller, so tests can feed a fake one. */

/* smm_arena_set_terms gives the block just granted at addr a lease ending
 * at deadline and/or the owner connection conn. Returns 0, or -1 when
 * memory ran out (arena unchanged; the caller should free the block). */
int smm_arena_set_terms(struct smm_arena *a, uint64_t addr, uint64_t deadline, uint64_t conn);

/* smm_arena_renew moves the lease of the block at addr to deadline
 * (SMM_LEASES_NEVER: no lease). Errors as smm_arena_fill, and
 * SMM_ERR_BUSY when memory ran out (arena unchanged in every case). */
enum smm_err smm_arena_renew(struct smm_arena *a, uint64_t addr, uint64_t key,
			     uint64_t deadline, struct smm_block_info *out);

/* smm_arena_terms sets the terms of the live block at addr and returns 0,
 * or returns -1 when it has none. */
int smm_arena_terms(const struct smm_arena *a, uint64_t addr, uint64_t *deadline,
		    uint64_t *conn);

/* smm_arena_next_deadline returns the earliest lease's deadline, or
 * SMM_LEASES_NEVER. */
uint64_t smm_arena_next_deadline(const struct smm_arena *a);

/* smm_arena_expire frees, as free does, at most max blocks whose lease
 * ended at or before now, earliest first, and returns how many. Bounded so
 * that the caller can serve other requests between slices. */
size_t smm_arena_expire(struct smm_arena *a, uint64_t now, size_t max);

/* smm_arena_release_conn frees every block owned by connection conn and
 * returns how many. */
uint64_t smm_arena_release_conn(struct smm_arena *a, uint64_t conn);

/* smm_arena_reset frees every block and scrubs the arena. Returns the
 * number of blocks freed. */
uint64_t smm_arena_reset(struct smm_arena *a);

/* smm_arena_stats fills the arena's part of *st (memory_size, used, free,
 * largest_free, blocks, free_extents, granted, denied, leases, expired,
 * released_on_close, policy). */
void smm_arena_stats(const struct smm_arena *a, struct smm_stats *st);

/* smm_arena_size returns the arena's size in bytes. */
uint64_t smm_arena_size(const struct smm_arena *a);

/* smm_arena_read copies the bytes [offset, offset+len) into dst, free bytes
 * as the filler. The range must lie inside the arena. */
void smm_arena_read(const struct smm_arena *a, uint64_t offset, uint64_t len, char *dst);

/* smm_arena_blocks returns the live blocks that overlap [offset,
 * offset+len), sorted by address, in a malloc'd array the caller frees,
 * with their number in *n. Returns NULL with *n = 0 when there are none,
 * and NULL with *n = SIZE_MAX when memory ran out. Costs O(log n + k) for
 * k blocks returned, as smm_arena_blocks_in. */
struct smm_block_info *smm_arena_blocks(const struct smm_arena *a, uint64_t offset,
					uint64_t len, size_t *n);

/* smm_arena_blocks_in stores in out[0..max) the first max live blocks, in
 * address order, that overlap [offset, offset+length) (the first may start
 * before offset, the last end after it), and returns how many it stored:
 * fewer than max means the window holds no more. To go on past a full
 * out, call again with offset = the last block's addr + size. The window
 * may reach past the arena's end; length 0 gives 0. Costs O(log n + k)
 * for n live blocks and k stored: it visits no block outside the window
 * and none after the max-th, allocates nothing and reads no arena byte,
 * so it cannot fail. out is the caller's; a is only read. */
size_t smm_arena_blocks_in(const struct smm_arena *a, uint64_t offset, uint64_t length,
			   size_t max, struct smm_block_info *out);

/* smm_arena_map cuts [offset, offset+length) into cells equal ranges,
 * cell i being [offset + length*i/cells, offset + length*(i+1)/cells)
 * (integer division: with cells > length some are empty), and sets out[i]
 * to the bytes of live blocks inside cell i, those of them in blocks never
 * filled, and the id owning the most of them (the lowest among equals;
 * SMM_MAP_NO_OWNER when none). Works from the block table, reading only
 * each block's first byte (never filled: still 0): O(log n + k + cells) for
 * k blocks overlapping the window. Returns 0, or -1 with out unspecified
 * when cells is 0, the window does not lie inside the arena, or memory ran
 * out. out[0..cells) is the caller's; a is only read. */
int smm_arena_map(const struct smm_arena *a, uint64_t offset, uint64_t length, size_t cells,
		  struct smm_map_cell *out);

/* smm_arena_metadata_bytes returns the heap used by the block table and
 * the policy, for the benchmark. */
size_t smm_arena_metadata_bytes(const struct smm_arena *a);

#endif
